/* Elementary functions of the GLM kernels of laplace_fast (exp, log, softplus, the
 * normal log-cdf and Mills ratio, lgamma, log y!), in branch-free forms that vectorise.
 *
 * lf_exp and lf_log1p_unit are branch-free (selects only), so that gcc
 * vectorises loops that call them over the observations with whatever SIMD
 * width the target offers (SSE2 on a portable build, AVX2 / AVX-512 in the
 * run-time dispatched clones (LF_CLONES)).  The arithmetic is the same in every
 * lane width.  ISO C mode (-ffp-contract=off) contracts nothing into FMAs, except in
 * the family kernels (glm/glm_families.h, LF_CONTRACT) where the CPU has FMA: there each
 * multiply-add rounds once; the errors below hold for both forms (tested).
 *
 * - lf_exp: Cody & Waite range reduction x = k ln2 + r, |r| <= ln2/2, with ln2
 *   split in a 32-bit-exact high part (the fdlibm constants), a degree-11
 *   polynomial for exp(r) on |r| <= ln2/2 (a Chebyshev fit, mpmath.chebyfit: relative
 *   error 4e-18, 1.7e-17 with its coefficients rounded to double; evaluated by Estrin's
 *   scheme for a short dependency chain), and 2^k applied as two factors built from
 *   exponent bits so that subnormal results are right.  Overflow gives +inf,
 *   underflow 0, NaN propagates.  At most ~2 ulp, 0.47 ulp on average (60,000
 *   arguments against mpmath; the rounding of the evaluation, not the fit, sets it).
 *   lf_exp_neg is the cheaper form for x <= 0 that the sigmoid families use;
 *   lf_exp_normal the cheaper form, with lf_exp's bits, where e^x is a normal number
 *   (the Poisson terms).
 *   (Cody & Waite, Software Manual for the Elementary Functions, 1980, ch. 6;
 *   Muller, Elementary Functions, 3rd ed., ch. 11.)
 * - lf_log1p_unit(e), 0 <= e <= 1: log1p(e) = 2 atanh(s), s = e / (2 + e),
 *   or ln2 + 2 atanh((e - 1) / (e + 3)) for e > sqrt(2) - 1, so |s| <= 0.1716 and
 *   the atanh series to s^19 is exact to 2e-17 (no cancellation for small e).
 *   lf_log_pos(x) = k ln2 + lf_log1p_unit(m - 1), x = 2^k m, for positive normal x.
 * - Standard normal log-cdf and inverse Mills ratio from one polynomial for
 *   tau(x) = 1/R(x) - x (R Mills' ratio) in t = (x - K)/(x + K), which gives
 *   lambda(z) + z without cancellation in the lower tail; branch-free, with the log1p
 *   core (2 atanh) above.
 * - lf_lgamma (finite x > 6e-315, where x 9! is normal): shifted by 8 or 10 below
 *   x = 10 (the recurrence's product of that many factors), then Stirling's series to
 *   x^-13 (A&S 6.1.40); branch-free, absolute error < 1.5e-14 * max(1, |lgamma|).
 *   lf_lgamma_shift(r, y) = lgamma(r + y) - lgamma(r) for r >= 10 from the same series
 *   with the leading terms combined, so that it stays accurate as r grows (the
 *   difference of two lgammas loses r log(r) eps).
 * - log(y!) for integer y: a table of glibc lgamma for y < LF_LOGFACT_N,
 *   Stirling's series beyond (error < 1e-25 relative there); likewise a table of
 *   lf_log_pos(y + 0.1), for the solver's start.
 */
#ifndef LF_ELEMENTARY_H
#define LF_ELEMENTARY_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "lf_portable.h"

#define LF_LN2 0.69314718055994530942
#define LF_LN2_HI 6.93147180369123816490e-01 /* 0x3fe62e42fee00000 */
#define LF_LN2_LO 1.90821492927058770002e-10 /* 0x3dea39ef35793c76 */
#define LF_LOG2E 1.4426950408889634074
#define LF_SHIFT 6755399441055744.0           /* 1.5 * 2^52 */
#define LF_HALF_LOG_2PI 0.91893853320467274178
#define LF_INV_SQRT_2PI 0.39894228040143267794

LF_INLINE uint64_t lf_asu64(double x) { uint64_t u; memcpy(&u, &x, 8); return u; }
LF_INLINE double lf_asf64(uint64_t u) { double x; memcpy(&x, &u, 8); return x; }

/* exp(r) 2^-k for xc = k ln2 + r, |r| <= ln2/2 (xc finite and in range); *kd = k */
LF_INLINE double lf_exp_reduced(double xc, double *kd)
{
    double k = (xc * LF_LOG2E + LF_SHIFT) - LF_SHIFT;      /* round to nearest */
    double r = (xc - k * LF_LN2_HI) - k * LF_LN2_LO;
    /* degree-11 polynomial (mpmath.chebyfit(exp, [-ln2/2, ln2/2], 12) at 50 digits,
     * rounded to double) by Estrin's scheme: a short dependency chain (Knuth, TAOCP
     * vol. 2, 4.6.4) so that several vectors are in flight at once */
    double r2 = r * r, r4 = r2 * r2, r8 = r4 * r4;
    double a0 = 1.0 + r, a1 = 0.5000000000000019 + r * 0.1666666666666668;
    double a2 = 0.0416666666664881 + r * 0.008333333333319601;
    double a3 = 0.0013888888952314775 + r * 0.00019841269890047113;
    double a4 = 2.4801485482328494e-05 + r * 2.755724091857897e-06;
    double a5 = 2.763263963904103e-07 + r * 2.5110037605963777e-08;
    double b0 = a0 + a1 * r2, b1 = a2 + a3 * r2, b2 = a4 + a5 * r2;
    *kd = k;
    return (b0 + b1 * r4) + b2 * r8;
}

/* 2^k for an integer-valued k with -1022 <= k <= 1023, from exponent bits */
LF_INLINE double lf_pow2(double k) { return lf_asf64(lf_asu64(k + (LF_SHIFT + 1023.0)) << 52); }

LF_INLINE double lf_exp(double x)
{
    const double hi = 709.782712893384, lo = -745.1332191019412;
    double xc = x > hi ? hi : x;
    xc = xc < lo ? lo : xc;
    double kd, p = lf_exp_reduced(xc, &kd);
    /* k = k1 + k2, both in the normal exponent range for k in [-1075, 1024] */
    double k1 = (kd * 0.5 + LF_SHIFT) - LF_SHIFT;
    double res = (p * lf_pow2(k1)) * lf_pow2(kd - k1);
    res = x > hi ? HUGE_VAL : res;
    res = x < lo ? 0.0 : res;
    return res;
}

/* exp(x) with one scale factor 2^k: lf_exp's bits wherever -1022 <= k <= 1023 (there
 * its two factors multiply exactly), which holds for -708.39 <= x <= 709.43, at less
 * cost (no clamps, no k/2, no selects).  Outside, the result means nothing: callers
 * test the range first (lf_exp_neg) or after (lf_glm_family: [LO, HI], with a margin). */
#define LF_EXP_NORMAL_LO (-708.0)
#define LF_EXP_NORMAL_HI 709.0
LF_INLINE double lf_exp_normal(double x)
{
    double kd, p = lf_exp_reduced(x, &kd);
    return p * lf_pow2(kd);
}

/* exp(x) for x <= 0, as the sigmoid families need it: no overflow test and one scale
 * factor, so results below 2^-1022 (x < -708.39) are flushed to 0; above that, the bits
 * of lf_exp.  NaN propagates. */
#define LF_EXP_NEG_MIN (-708.39)
LF_INLINE double lf_exp_neg(double x)
{
    double p = lf_exp_normal(x < LF_EXP_NEG_MIN ? LF_EXP_NEG_MIN : x);
    return x < LF_EXP_NEG_MIN ? 0.0 : p;
}

/* 2 atanh(s) = log((1 + s) / (1 - s)) for |s| <= 0.1716 (NaN propagates) */
LF_INLINE double lf_2atanh(double s)
{
    double s2 = s * s;
    /* P(z) = sum_k z^k / (2k + 3), k = 0..8, by Estrin's scheme */
    double z2 = s2 * s2, z4 = z2 * z2, z8 = z4 * z4;
    double e0 = 1.0 / 3.0 + s2 * (1.0 / 5.0), e1 = 1.0 / 7.0 + s2 * (1.0 / 9.0);
    double e2 = 1.0 / 11.0 + s2 * (1.0 / 13.0), e3 = 1.0 / 15.0 + s2 * (1.0 / 17.0);
    double p = ((e0 + e1 * z2) + (e2 + e3 * z2) * z4) + (1.0 / 19.0) * z8;
    return 2.0 * s + 2.0 * s * (s2 * p);
}

/* log1p(e) for 0 <= e <= 1 (NaN propagates) */
LF_INLINE double lf_log1p_unit(double e)
{
    int big = e > 0.41421356237309503;
    double num = big ? e - 1.0 : e;
    double den = big ? e + 3.0 : e + 2.0;
    double t = lf_2atanh(num / den);
    return big ? LF_LN2 + t : t;
}

/* log(1 - q) for 0 <= q <= 1/2 (NaN propagates): 2 atanh(-q / (2 - q)), or for
 * q > 1 - 1/sqrt(2), -ln2 + log1p(u) with u = 1 - 2q (exact: Sterbenz) in [0, 0.4143] */
LF_INLINE double lf_log1m_half(double q)
{
    int big = q > 0.29289321881345248;
    double num = big ? 1.0 - 2.0 * q : -q;
    double den = big ? 3.0 - 2.0 * q : 2.0 - q;
    double t = lf_2atanh(num / den);
    return big ? t - LF_LN2 : t;
}

/* log x for a positive, normal, finite x (the working predictor of the solver's start):
 * x = 2^k m with 1 <= m < 2 from the bits, log x = k ln2 + log1p(m - 1); branch-free.
 * k is converted from its exponent bits through 2^52 (exact), k ln2_hi is exact. */
LF_INLINE double lf_log_pos(double x)
{
    uint64_t u = lf_asu64(x);
    double m = lf_asf64((u & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
    double k = lf_asf64((u >> 52) | 0x4330000000000000ull) - (4503599627370496.0 + 1023.0);
    return (k * LF_LN2_HI + lf_log1p_unit(m - 1.0)) + k * LF_LN2_LO;
}

/* softplus(x) = log(1 + e^x), given e = exp(-|x|) (the sigmoid families have it) */
LF_INLINE double lf_softplus_e(double x, double e)
{
    return (x > 0.0 ? x : 0.0) + lf_log1p_unit(e);
}

LF_INLINE double lf_softplus(double x) { return lf_softplus_e(x, lf_exp_neg(-fabs(x))); }

/* tau(x) = 1/R(x) - x for x >= 0, R(x) = Phi(-x) / phi(x) (Mills' ratio): tau is
 * lambda(-x) - x, the probit Hessian's factor, without cancellation.  tau(x) (x + K) is
 * a smooth function of t = (x - K) / (x + K) on [-1, 1] (also at x = +inf, t = 1),
 * K = 7/2: P below, degree 24, is its Chebyshev interpolant (tau from mpmath's erfc
 * at 60 digits; its Chebyshev coefficients fall to 3e-16 of P by degree 24) in monomials
 * (their magnitudes sum to 3.3, so rounding does not grow), by Estrin's scheme.
 * Relative error < 8e-16 on [0, 1e150] in double.  Branch-free; NaN propagates. */
LF_INLINE double lf_mills_tail(double x)
{
    double inv = 1.0 / (x + 3.5), t = 1.0 - 7.0 * inv;
    double t2 = t * t, t4 = t2 * t2, t8 = t4 * t4, t16 = t8 * t8;
    double c0 = 1.7597388540038985 + t * -1.0299783886096383;
    double c1 = 0.2106962463446275 + t * 0.15371368344032244;
    double c2 = -0.10078958422195869 + t * -0.022180098761475267;
    double c3 = 0.035587516161854925 + t * 0.0020298814180186426;
    double c4 = -0.01186264295934581 + t * 0.0002721706886635439;
    double c5 = 0.0038677981312048183 + t * -0.00020438995789887694;
    double c6 = -0.0012315975639602139 + t * 5.557911525009608e-05;
    double c7 = 0.0003761649589763652 + t * -4.407588148197393e-06;
    double c8 = -0.00010702603855924166 + t * -3.504963053939132e-06;
    double c9 = 2.7205582095375212e-05 + t * 1.925004398393984e-06;
    double c10 = -5.781331376564621e-06 + t * -4.855515189017926e-07;
    double c11 = 9.049905055026609e-07 + t * 5.436006651299006e-08;
    double d0 = c0 + c1 * t2, d1 = c2 + c3 * t2, d2 = c4 + c5 * t2, d3 = c6 + c7 * t2;
    double d4 = c8 + c9 * t2, d5 = c10 + c11 * t2;
    double f0 = d0 + d1 * t4, f1 = d2 + d3 * t4, f2 = d4 + d5 * t4;
    double p = (f0 + f1 * t8) + (f2 + -7.66529483210621e-08 * t8) * t16;
    return p * inv;
}

/* log Phi(z), lambda(z) = phi(z) / Phi(z) and *tail = lambda(z) + z (>= 0), branch-free
 * (both sides computed, one selected) so that loops over observations vectorise.
 * With r = |z| + tau(|z|) = 1 / R(|z|):
 * - z <= 0: lambda = r, tail = tau, log Phi = -z^2/2 - log sqrt(2 pi) - log r;
 * - z > 0: q = Phi(-z) = phi(z) / r, lambda = phi / (1 - q) = phi r / (r - phi),
 *   tail = lambda + z, log Phi = log(1 - q).
 * phi is flushed to 0 for z > 37.6 (lf_exp_neg), where q < 1e-309.  Relative error
 * against mpmath (6,500 arguments, |z| from 1e-300 to 1e150): log Phi 1.0e-15, lambda
 * 8e-16, tail 8e-16. */
LF_INLINE double lf_log_ndtr(double z, double *lam, double *tail)
{
    double x = fabs(z), tau = lf_mills_tail(x), r = x + tau;
    /* phi(z) with z^2 = zh^2 + zl (z + zh) exactly (zh: z's 26 leading bits, its square
     * exact) and exp(b), |b| <= 2e-5, by four terms of its series */
    double zc = z > 40.0 ? 40.0 : z;                   /* phi = 0 beyond, inf too */
    double zh = lf_asf64(lf_asu64(zc) & 0xfffffffff8000000ull), zl = zc - zh;
    double b = -0.5 * (zl * (zc + zh));
    double eb = 1.0 + b * (1.0 + b * (0.5 + b * (1.0 / 6.0)));
    double phi = LF_INV_SQRT_2PI * (lf_exp_neg(-0.5 * (zh * zh)) * eb);
    double lam_up = phi > 0.0 ? phi * r / (r - phi) : 0.0;
    int up = z > 0.0;
    *lam = up ? lam_up : r;
    *tail = up ? lam_up + z : tau;
    double lp_up = lf_log1m_half(up ? phi / r : 0.0);
    double lp_low = (-0.5 * (x * x) - LF_HALF_LOG_2PI) - lf_log_pos(r);
    return up ? lp_up : lp_low;
}

/* Stirling's series past its leading terms, lgamma(x) - ((x - 1/2) log x - x + log
 * sqrt(2 pi)), to x^-13 (A&S 6.1.40), for x >= 10: error < 3e-17 */
LF_INLINE double lf_stirling_tail(double x)
{
    double z = 1.0 / x, z2 = z * z;
    double s = 1.0 / 156.0;
    s = s * z2 - 691.0 / 360360.0;
    s = s * z2 + 1.0 / 1188.0;
    s = s * z2 - 1.0 / 1680.0;
    s = s * z2 + 1.0 / 1260.0;
    s = s * z2 - 1.0 / 360.0;
    s = s * z2 + 1.0 / 12.0;
    return s * z;
}

LF_INLINE double lf_lgamma(double x)
{
    /* below 10, lgamma(x) = lgamma(x + k) - log(x (x + 1) ... (x + k - 1)), k = 8 from
     * x = 2 (10 below): branch-free (all formed, one selected), so that loops of it
     * vectorise; the smaller shift where lgamma is small keeps the cancellation low */
    int small = x < 10.0, tiny = x < 2.0;
    double p8 = ((x * (x + 1.0)) * ((x + 2.0) * (x + 3.0))) *
                (((x + 4.0) * (x + 5.0)) * ((x + 6.0) * (x + 7.0)));
    double p = tiny ? p8 * ((x + 8.0) * (x + 9.0)) : p8;
    double shift = small ? lf_log_pos(p) : 0.0;
    x = small ? x + (tiny ? 10.0 : 8.0) : x;
    return (x - 0.5) * lf_log_pos(x) - x + LF_HALF_LOG_2PI + lf_stirling_tail(x) - shift;
}

/* lgamma(r + y) - lgamma(r) for r >= 10 and y >= 0:
 *   y log r + (r + y - 1/2) log1p(y / r) - y + S(r + y) - S(r)
 * (S = lf_stirling_tail; the leading terms of Stirling's series for both, with
 * log(r + y) = log r + log1p(y / r)), given log r and S(r).  Its rounding error is a few
 * ulps of y (log r + log1p(y / r) + 1), where lgamma(r + y) - lgamma(r) loses a few ulps
 * of r log r: 118 nats at r = 1e16.  Exactly 0 for y = 0.  Branch-free. */
LF_INLINE double lf_lgamma_shift(double r, double y, double log_r, double s_r)
{
    double t = y / r;
    double l1p = t > 1.0 ? lf_log_pos(1.0 + t) : lf_log1p_unit(t > 1.0 ? 1.0 : t);
    return y * log_r + ((((r + y) - 0.5) * l1p - y) + (lf_stirling_tail(r + y) - s_r));
}

#define LF_LOGFACT_N 1024
static double lf_logfact_table[LF_LOGFACT_N];
/* lf_log_pos(y + 0.1) for counts y < LF_LOGFACT_N (the Poisson and negative binomial
 * start), with that function's bits */
static double lf_logy01_table[LF_LOGFACT_N];

LF_INLINE void lf_tables_init(void)
{
    for (int i = 0; i < LF_LOGFACT_N; i++) {
        lf_logfact_table[i] = lgamma(i + 1.0);
        lf_logy01_table[i] = lf_log_pos(i + 0.1);
    }
}

/* log(y!) for y a non-negative integer (as a double) */
LF_INLINE double lf_logfact(double y)
{
    if (y < LF_LOGFACT_N) return lf_logfact_table[(int)y];
    double x = y + 1.0, z = 1.0 / x, z2 = z * z;
    double s = -1.0 / 1680.0;
    s = s * z2 + 1.0 / 1260.0;
    s = s * z2 - 1.0 / 360.0;
    s = s * z2 + 1.0 / 12.0;
    return (x - 0.5) * log(x) - x + LF_HALF_LOG_2PI + s * z;
}

#endif
