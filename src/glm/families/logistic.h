/* logistic: y in {0, 1}, P(y = 1) = s(eta), no parameter.
 *   l = y eta - sp(eta)     g = y - s     h = s (1 - s)     l''' = -h (1 - 2 s)
 * (sp = softplus, s = sigmoid); no data-only constant.  A sigmoid family (t = 1,
 * x = eta: family_loops.h), with a block value of its own for unweighted rows. */
#ifndef GLM_FAMILY_LOGISTIC_H
#define GLM_FAMILY_LOGISTIC_H

#include "family_loops.h"
#include "lf_simd.h"

LF_SIGMOID_TERMS(logistic, 1.0, eta[i])

/* weighted rows only: lf_logistic_block_value sums unweighted blocks without the terms */
enum { lf_logistic_fused = 0 };
LF_INLINE void lf_logistic_values(LF_VALUES_ARGS)
{
    LF_FAMILY_LOCALS(pb);
    (void)lr;
    LF_SIGMOID_VALUE(1.0, eta[i], wt[i]);
}

/* The unweighted log-likelihood of one block of len <= LF_GLM_BLOCK rows, from eta and
 * aux = e = exp(-|eta|): the sum of (y x - max(x, 0)) - log1p(e), with the log1p terms
 * summed as one log of their product, log prod (1 + e_i): each factor is in [1, 2], so
 * the eight partial products stay below 2^32 and their product below 2^256.  *abs_sum
 * bounds the magnitudes of the terms, plus len / 16 for the product's rounding (the
 * solver's noise, 4e-15 *abs_sum, then allows 2.5e-16 a row: above the 2^-52 a row, one
 * rounding of 1 + e and one of the product, that it can cost).  Lane k of the partial
 * sums takes the rows k mod 8, as in lf_sum8: the same bits for every SIMD width.  NaN
 * in eta gives NaN. */
LF_CLONES __attribute__((noinline)) static double
lf_logistic_block_sum(const double *restrict y, const double *restrict eta,
                      const double *restrict e, int len, double *abs_sum)
{
    const lf_v4 one = lf_v4_set(1.0, 1.0, 1.0, 1.0);
    lf_v4 s[2] = {lf_v4_zero(), lf_v4_zero()}, a[2] = {lf_v4_zero(), lf_v4_zero()};
    lf_v4 p[2] = {one, one};
    double yt[8], xt[8], et[8];         /* the last rows, padded with neutral ones */
    const int full = len & ~7;
    for (int k = 0; k < 8; k++) {
        int in = full + k < len;
        yt[k] = in ? y[full + k] : 0.0;
        xt[k] = in ? eta[full + k] : 0.0;
        et[k] = in ? e[full + k] : 0.0;
    }
    for (int i = 0; i < len; i += 8) {
        const int tail = i == full;
        for (int hf = 0; hf < 2; hf++) {
            lf_v4 x = lf_v4_load(tail ? xt + 4 * hf : eta + i + 4 * hf);
            lf_v4 yv = lf_v4_load(tail ? yt + 4 * hf : y + i + 4 * hf);
            lf_v4 ev = lf_v4_load(tail ? et + 4 * hf : e + i + 4 * hf);
            lf_v4 u = lf_v4_sub(lf_v4_mul(yv, x), lf_v4_pos(x));
            s[hf] = lf_v4_add(s[hf], u);
            a[hf] = lf_v4_add(a[hf], lf_v4_abs(u));
            p[hf] = lf_v4_mul(p[hf], lf_v4_add(one, ev));
        }
    }
    double ss[8], aa[8], pp[8];
    lf_v4_store(ss, s[0]); lf_v4_store(ss + 4, s[1]);
    lf_v4_store(aa, a[0]); lf_v4_store(aa + 4, a[1]);
    lf_v4_store(pp, p[0]); lf_v4_store(pp + 4, p[1]);
    double prod = ((pp[0] * pp[4]) * (pp[2] * pp[6])) * ((pp[1] * pp[5]) * (pp[3] * pp[7]));
    double lg = prod == prod ? lf_log_pos(prod) : prod;     /* prod >= 1, or NaN */
    *abs_sum = (LF_RED8(aa) + lg) + len * (1.0 / 16.0);
    return LF_RED8(ss) - lg;
}

LF_INLINE int lf_logistic_block_value(LF_BLOCK_VALUE_ARGS)
{
    if (pb->wt) return 0;
    *bsum = lf_logistic_block_sum(pb->y + c0, eta + c0, aux + c0, len, babs);
    return 1;
}

/* mu0 = 1/4, 3/4; h0 = mu0 (1 - mu0); R0 = y - mu0 */
#define LF_START_LN3 1.0986122886681098      /* logit(3/4) */
LF_INLINE int lf_logistic_start(LF_START_ARGS)
{
    LF_FAMILY_LOCALS(pb);
    int any = 0;
    (void)lr;
    LF_WEIGHTED_ARGS(LF_START_TERMS, yi != 0.0 ? LF_START_LN3 : -LF_START_LN3, 0.1875,
                     yi - (0.25 + 0.5 * yi));
    return any;
}

LF_SIGMOID_VALUE_BOUND(logistic, 1.0, eta[i])
LF_SIGMOID_CURVATURE(logistic, 1.0, 0.0)
LF_NO_CONSTANT(logistic)
LF_BINARY_SUPPORT(logistic)
LF_CLASSES_EXTREME(logistic, 0)
LF_SIGMOID_THIRD(logistic, 1.0, eta[i])
LF_NO_PARAM(logistic)

#endif
