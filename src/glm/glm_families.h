/* The GLM families, observation by observation: terms, derivatives, values, the
 * solver's start, the bounds of the line search and the data-only constants.
 *
 * log post(w) = sum_i wt_i l_i(eta_i) + C + log N(w; m, P^-1),  eta = X w + offset
 *
 * Per observation (stable forms; sp = softplus, s = sigmoid):
 *   logistic   l = y eta - sp(eta)                 g = y - s        h = s (1 - s)
 *   probit     l = log Phi(q eta), q = 2y - 1      g = q lam        h = lam (lam + q eta)
 *   poisson    l = y eta - e^eta                   g = y - mu       h = mu
 *   binomial   l = y eta - t sp(eta)               g = y - t s      h = t s (1 - s)
 *   negbin     l = y u - (y + r) sp(u), u = eta - log r, r = 1 / dispersion
 *                                                  g = y - (y+r) s(u)  h = (y+r) s(1-s)
 *   gaussian   l = -(y - eta)^2 / (2 sigma^2)      g = (y-eta)/s^2  h = 1/s^2
 * C holds the data-only constants (-log y!, log binom(t, y), the negative binomial's
 * log Gamma(y + r) - log Gamma(r) - log y!, the Gaussian's -1/2 log 2 pi sigma^2), so
 * the log joint is the exact one and the Laplace evidence a proper marginal likelihood.
 */
#ifndef GLM_FAMILIES_H
#define GLM_FAMILIES_H

#include <math.h>
#include "lf_elementary.h"
#include "lf_sums.h"
#include "glm_problem.h"

/* The family's terms.  lf_glm_family gives g = dl/deta and h = -d2l/deta2 (weighted);
 * where the values cost a transcendental per observation (the sigmoid families'
 * softplus, probit's log Phi) they are left to lf_glm_values, so that a trial point
 * whose step the derivative test accepts (lf_glm_fit_d) costs none; where they are
 * nearly free (poisson, gaussian: LF_VALUES_FUSED) lv is written in the same loop.
 * The expressions are those of one fused loop, so are the bits.  Both are out of line
 * (one copy per instruction set, not one per specialisation of the solver): the call
 * costs nothing next to a block of observations.
 * Sigmoid families: l = y x - t sp(x), g = y - t s(x), h = t s(x) (1 - s(x)), from
 * aux = e = exp(-|x|), computed in a loop of its own: each loop body is then short
 * enough for the out-of-order window to hold several vectors' dependency chains. */
#define LF_VALUES_FUSED(family) ((family) == LF_POISSON || (family) == LF_GAUSSIAN)
#define LF_SIGMOID_DERIV(TEXPR, XEXPR, WEXPR)                                \
    for (int i = 0; i < n; i++) {                                            \
        double x = (XEXPR);                                                  \
        aux[i] = lf_exp_neg(-fabs(x));                                       \
    }                                                                        \
    for (int i = 0; i < n; i++) {                                            \
        double yi = y[i];                                                    \
        double t = (TEXPR), x = (XEXPR);                                     \
        double e = aux[i];                                                   \
        double inv = 1.0 / (1.0 + e);                                        \
        double s = (x >= 0.0 ? 1.0 : e) * inv;                               \
        double v = e * inv * inv;                                            \
        double w = (WEXPR);                                                  \
        g[i] = w != 0.0 ? w * (yi - t * s) : 0.0;                            \
        h[i] = w != 0.0 ? w * t * v : 0.0;                                   \
    }
#define LF_SIGMOID_VALUE(TEXPR, XEXPR, WEXPR)                                \
    for (int i = 0; i < n; i++) {                                            \
        double yi = y[i];                                                    \
        double t = (TEXPR), x = (XEXPR);                                     \
        double w = (WEXPR);                                                  \
        double l = yi * x - t * lf_softplus_e(x, aux[i]);                    \
        lv[i] = w != 0.0 ? w * l : 0.0;                                      \
    }
#define LF_POISSON_TERMS(EXPF, WEXPR, CHECK)                                 \
    for (int i = 0; i < n; i++) {                                            \
        double x = eta[i], yi = y[i];                                        \
        double mu = EXPF(x);                                                 \
        CHECK;                                                               \
        double w = (WEXPR);                                                  \
        double l = (yi != 0.0 ? yi * x : 0.0) - mu;                          \
        lv[i] = w != 0.0 ? w * l : 0.0;                                      \
        g[i] = w != 0.0 ? w * (yi - mu) : 0.0;                               \
        h[i] = w != 0.0 ? w * mu : 0.0;                                      \
    }
#define LF_POISSON_NORMAL(WEXPR)                                             \
    LF_POISSON_TERMS(lf_exp_normal, WEXPR,                                   \
                     outside |= x >= LF_EXP_NORMAL_LO && x <= LF_EXP_NORMAL_HI ? 0 : 1)
#define LF_POISSON_GENERAL(WEXPR) LF_POISSON_TERMS(lf_exp, WEXPR, (void)0)
#define LF_GAUSSIAN_BODY(WEXPR)                                              \
    for (int i = 0; i < n; i++) {                                            \
        double r = y[i] - eta[i];                                            \
        double w = (WEXPR);                                                  \
        lv[i] = w != 0.0 ? -0.5 * w * (r * r) * is2 : 0.0;                   \
        g[i] = w != 0.0 ? w * r * is2 : 0.0;                                 \
        h[i] = w != 0.0 ? w * is2 : 0.0;                                     \
    }
/* probit: l = log Phi(q x), g = q lambda(q x), h = lambda (lambda + q x), q = 2y - 1;
 * aux = h unweighted, for the line search's curvature bound */
#define LF_PROBIT_DERIV(WEXPR)                                               \
    for (int i = 0; i < n; i++) {                                            \
        double q = y[i] != 0.0 ? 1.0 : -1.0, lam, tail;                      \
        lf_log_ndtr(q * eta[i], &lam, &tail);                                \
        double c = lam * tail, w = (WEXPR);                                  \
        aux[i] = c;                                                          \
        g[i] = w != 0.0 ? w * q * lam : 0.0;                                 \
        h[i] = w != 0.0 ? w * c : 0.0;                                       \
    }
#define LF_PROBIT_VALUE(WEXPR)                                               \
    for (int i = 0; i < n; i++) {                                            \
        double lam, tail;                                                    \
        double z = (y[i] != 0.0 ? 1.0 : -1.0) * eta[i];                      \
        double l = lf_log_ndtr(z, &lam, &tail);                              \
        double w = (WEXPR);                                                  \
        lv[i] = w != 0.0 ? w * l : 0.0;                                      \
    }
/* separate loops with and without weights: a conditional load blocks vectorisation */
#define LF_WEIGHTED(BODY)                                                    \
    if (wt) { BODY(wt[i]) } else { BODY(1.0) }
#define LF_WEIGHTED_ARGS(BODY, ...)                                          \
    if (wt) { BODY(__VA_ARGS__, wt[i]) } else { BODY(__VA_ARGS__, 1.0) }

/* g and h at eta, with aux (sigmoid families) or lv (LF_VALUES_FUSED); pb->param is
 * log r for the negative binomial, lr = r */
LF_CLONES LF_CONTRACT __attribute__((noinline)) static void
lf_glm_family(const lf_glm_problem *pb, double lr, const double *restrict eta,
              double *restrict aux, double *restrict lv, double *restrict g,
              double *restrict h)
{
    const int n = pb->n;
    const double *restrict y = pb->y, *restrict wt = pb->wt, *restrict tr = pb->trials;
    switch (pb->family) {
    case LF_LOGISTIC: LF_WEIGHTED_ARGS(LF_SIGMOID_DERIV, 1.0, eta[i]); break;
    case LF_BINOMIAL: LF_WEIGHTED_ARGS(LF_SIGMOID_DERIV, tr[i], eta[i]); break;
    case LF_NEGBIN: LF_WEIGHTED_ARGS(LF_SIGMOID_DERIV, yi + lr, eta[i] - pb->param); break;
    case LF_POISSON: {
        /* lf_exp_normal first: lf_exp's bits where every e^eta is a normal number; the
         * terms are computed again with lf_exp when one is not (or eta is not finite) */
        long long outside = 0;
        LF_WEIGHTED(LF_POISSON_NORMAL);
        if (outside) { LF_WEIGHTED(LF_POISSON_GENERAL) }
        break;
    }
    case LF_GAUSSIAN: {
        double is2 = 1.0 / (pb->param * pb->param);
        LF_WEIGHTED(LF_GAUSSIAN_BODY);
        break;
    }
    case LF_PROBIT: LF_WEIGHTED(LF_PROBIT_DERIV); break;
    }
}

/* the weighted log-likelihood terms lv at eta of the families that lf_glm_family leaves
 * them to (not LF_VALUES_FUSED), from the aux it left; not unweighted logistic, whose
 * block sums lf_logistic_block_value forms without the terms */
LF_CLONES LF_CONTRACT __attribute__((noinline)) static void
lf_glm_values(const lf_glm_problem *pb, double lr, const double *restrict eta,
              const double *restrict aux, double *restrict lv)
{
    const int n = pb->n;
    const double *restrict y = pb->y, *restrict wt = pb->wt, *restrict tr = pb->trials;
    switch (pb->family) {
    case LF_LOGISTIC: LF_SIGMOID_VALUE(1.0, eta[i], wt[i]); break;     /* weighted */
    case LF_BINOMIAL: LF_WEIGHTED_ARGS(LF_SIGMOID_VALUE, tr[i], eta[i]); break;
    case LF_NEGBIN: LF_WEIGHTED_ARGS(LF_SIGMOID_VALUE, yi + lr, eta[i] - pb->param); break;
    case LF_PROBIT: LF_WEIGHTED(LF_PROBIT_VALUE); break;
    default: break;
    }
}

/* The unweighted logistic log-likelihood of one block of len <= LF_GLM_BLOCK rows, from
 * eta and aux = e = exp(-|eta|): the sum of (y x - max(x, 0)) - log1p(e), with the
 * log1p terms summed as one log of their product, log prod (1 + e_i): each factor is in
 * [1, 2], so the eight partial products stay below 2^32 and their product below 2^256.
 * *abs_sum bounds the magnitudes of the terms, plus len / 16 for the product's rounding
 * (the solver's noise, 4e-15 *abs_sum, then allows 2.5e-16 a row: above the 2^-52 a row,
 * one rounding of 1 + e and one of the product, that it can cost).  Lane k of the
 * partial sums takes the rows k mod 8, as in lf_sum8: the same bits for every SIMD
 * width.  NaN in eta gives NaN. */
LF_CLONES __attribute__((noinline)) static double
lf_logistic_block_value(const double *restrict y, const double *restrict eta,
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

/* lf_log_pos out of line: a call that a loop branches around rather than computes */
__attribute__((noinline)) static double lf_log_pos_call(double x) { return lf_log_pos(x); }

/* The solver's start: one iteratively reweighted least squares step from fitted means
 * made of the data (McCullagh & Nelder, Generalized Linear Models, 2nd ed., sec. 2.5;
 * the means of R's glm families): mu0 = y + 0.1 (poisson, negative binomial),
 * (y + 1/2) / 2 (logistic, probit), t (y + 1/2) / (t + 1) (binomial), y (gaussian).
 * With eta0 = link(mu0), IRLS weight h0 and working response z0 = eta0 + (y - mu0)
 * deta/dmu, this writes h = wt h0 and g = wt h0 z0 - h offset; the start is then
 * (X^T H X + P)^-1 (X^T g + P m).  Elementwise and branch-free (vectorises), but for
 * the count families' table lookups.
 * Returns 1 when some h > 0 (the data say something), else 0. */
#define LF_START_LN3 1.0986122886681098      /* logit(3/4) */
#define LF_START_Q 0.6744897501960817        /* probit(3/4) */
#define LF_START_PHIQ 0.317776572684107      /* standard normal density at Q */
#define LF_START_TERMS(E0, H0, R0, WEXPR)                                    \
    for (int i = 0; i < n; i++) {                                            \
        double yi = y[i], w = (WEXPR);                                       \
        double e0 = (E0), h0 = (H0);                                         \
        double hi = w * h0;                                                  \
        h[i] = hi;                                                           \
        g[i] = w * (R0) + hi * e0;                                           \
        any |= hi > 0.0;                                                     \
    }
LF_CLONES __attribute__((noinline)) static int
lf_glm_start_terms(const lf_glm_problem *pb, double lr, double *restrict g,
                   double *restrict h)
{
    const int n = pb->n;
    const double *restrict y = pb->y, *restrict wt = pb->wt, *restrict tr = pb->trials;
    const double *restrict off = pb->off;
    int any = 0;
    switch (pb->family) {
    case LF_LOGISTIC:       /* mu0 = 1/4, 3/4; h0 = mu0 (1 - mu0); R0 = y - mu0 */
        LF_WEIGHTED_ARGS(LF_START_TERMS, yi != 0.0 ? LF_START_LN3 : -LF_START_LN3, 0.1875,
                         yi - (0.25 + 0.5 * yi));
        break;
    case LF_PROBIT:         /* h0 = phi^2 / v, R0 = (y - mu0) phi / v, v = mu0 (1 - mu0) */
        LF_WEIGHTED_ARGS(LF_START_TERMS, yi != 0.0 ? LF_START_Q : -LF_START_Q,
                         (LF_START_PHIQ * LF_START_PHIQ) / 0.1875,
                         (yi - (0.25 + 0.5 * yi)) * (LF_START_PHIQ / 0.1875));
        break;
    case LF_BINOMIAL: {     /* p0 = (y + 1/2) / (t + 1); h0 = t p0 (1 - p0); R0 = y - t p0 */
#define LF_P0 ((yi + 0.5) / (tr[i] + 1.0))
        LF_WEIGHTED_ARGS(LF_START_TERMS,
                         lf_log_pos(yi + 0.5) - lf_log_pos((tr[i] - yi) + 0.5),
                         tr[i] * LF_P0 * (1.0 - LF_P0), yi - tr[i] * LF_P0);
#undef LF_P0
        break;
    }
    case LF_POISSON: case LF_NEGBIN: {
        /* eta0 = log(y + 0.1), first into g: from a table for counts below
         * LF_LOGFACT_N (a lookup, not a series a row), lf_log_pos for the others */
        for (int i = 0; i < n; i++) {
            double yi = y[i];
            g[i] = yi < LF_LOGFACT_N ? lf_logy01_table[(int)yi] : lf_log_pos_call(yi + 0.1);
        }
        if (pb->family == LF_POISSON) {     /* h0 = mu0; R0 = y - mu0 */
            LF_WEIGHTED_ARGS(LF_START_TERMS, g[i], yi + 0.1, -0.1);
        } else {    /* h0 = r mu0 / (r + mu0); R0 = r (y - mu0) / (r + mu0) */
            LF_WEIGHTED_ARGS(LF_START_TERMS, g[i], lr * (yi + 0.1) / (lr + (yi + 0.1)),
                             -0.1 * lr / (lr + (yi + 0.1)));
        }
        break;
    }
    case LF_GAUSSIAN: {     /* mu0 = y: h0 = 1 / sigma^2, R0 = 0 */
        double is2 = 1.0 / (pb->param * pb->param);
        LF_WEIGHTED_ARGS(LF_START_TERMS, yi, is2, 0.0);
        break;
    }
    }
    /* the offsets in a loop of their own: a conditional load in the loop above makes
     * gcc run it scalar */
    if (off)
        for (int i = 0; i < n; i++) g[i] -= h[i] * off[i];
    return any;
}

/* 1 when the weighted log-likelihood terms of a sigmoid family or probit at eta are
 * certainly finite and so is every partial sum of them: |y x - t sp(x)| <= (|y| + t)
 * (|x| + 1) (sp(x) <= |x| + log 2); -log Phi(z) <= z^2/2 + |z| + 1 (below log 2 for
 * z > 0; for z = -x <= 0 it is x^2/2 + log sqrt(2 pi) + log(x + tau(x)), tau <= 0.8,
 * and log u <= u - 1); and the sum of these bounds, plus cq, is finite and at most
 * 1e300.  0 when it is not, and for the other families.  Eight partial sums, so that the
 * additions do not wait for each other; the order does not matter (a bound).  Lets the
 * solver leave the value at the start until it is needed (lf_glm_fit_d). */
#define LF_SIGMOID_BOUND_TERM(TEXPR, XEXPR, WEXPR, K)                        \
    {                                                                        \
        double yi = y[i];                                                    \
        double t = (TEXPR), x = (XEXPR), w = (WEXPR);                        \
        s[K] += w * ((fabs(yi) + t) * (fabs(x) + 1.0));                      \
    }
/* TERM(..., k) for i < n into the partial sums s[k], k = i mod 8 (the last n mod 8 into
 * s[0]) */
#define LF_EIGHT_SUMS(TERM, A, B, C)                                         \
    for (int i8 = 0; i8 < (n & ~7); i8 += 8)                                 \
        for (int k = 0; k < 8; k++) {                                        \
            int i = i8 + k;                                                  \
            TERM(A, B, C, k)                                                 \
        }                                                                    \
    for (int i = n & ~7; i < n; i++) TERM(A, B, C, 0)
#define LF_SIGMOID_BOUND(TEXPR, XEXPR, WEXPR)                                \
    LF_EIGHT_SUMS(LF_SIGMOID_BOUND_TERM, TEXPR, XEXPR, WEXPR)
#define LF_PROBIT_BOUND_TERM(UNUSED1, UNUSED2, WEXPR, K)                    \
    {                                                                        \
        double x = eta[i], w = (WEXPR);                                      \
        s[K] += w * ((0.5 * (x * x) + fabs(x)) + 1.0);                       \
    }
#define LF_PROBIT_BOUND(WEXPR) LF_EIGHT_SUMS(LF_PROBIT_BOUND_TERM, 0, 0, WEXPR)
LF_CLONES __attribute__((noinline)) static int
lf_glm_value_bounded(const lf_glm_problem *pb, double lr, const double *restrict eta,
                     double cq)
{
    const int n = pb->n;
    const double *restrict y = pb->y, *restrict wt = pb->wt, *restrict tr = pb->trials;
    double s[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    switch (pb->family) {
    case LF_LOGISTIC: LF_WEIGHTED_ARGS(LF_SIGMOID_BOUND, 1.0, eta[i]); break;
    case LF_BINOMIAL: LF_WEIGHTED_ARGS(LF_SIGMOID_BOUND, tr[i], eta[i]); break;
    case LF_NEGBIN: LF_WEIGHTED_ARGS(LF_SIGMOID_BOUND, yi + lr, eta[i] - pb->param); break;
    case LF_PROBIT: LF_WEIGHTED(LF_PROBIT_BOUND); break;
    default: return 0;
    }
    double b = LF_RED8(s) + fabs(cq);
    return b <= 1e300;   /* false for NaN */
}

/* A bound of the curvature of the log-likelihood on the segment from the point with
 * eta0 (aux0) to the one with eta1 (aux1): sum_i hmax_i (eta1_i - eta0_i)^2 >= -phi''
 * of the likelihood part of phi(u) = log post at eta0 + u (eta1 - eta0), hmax_i the
 * largest h_i on the segment.  Sigmoid families: h = wt t e / (1 + e)^2 with
 * e = exp(-|x|) (aux), increasing in e, and e / (1 + e)^2 <= min(e, 1/4); e is largest
 * at an end of the segment unless x changes sign on it (then 1, at x = 0).  Probit:
 * h = wt c(q eta), c(z) = lam(z) (lam(z) + z) (aux), which falls as z grows (lam is
 * convex: Sampford, Ann. Math. Statist. 24, 1953), so is largest at an end; the sum is
 * scaled by 1 + 1e-12 for the rounding of c (~1e-15 relative) and of the sum.  Eight
 * partial sums (a bound: their order does not matter).  HUGE_VAL for the other
 * families. */
#define LF_SIGMOID_CURV_TERM(TEXPR, SHIFT, WEXPR, K)                         \
    {                                                                        \
        double yi = y[i], e0 = aux0[i], e1 = aux1[i];                        \
        double x0 = eta0[i] - (SHIFT), x1 = eta1[i] - (SHIFT);               \
        double e = x0 * x1 > 0.0 ? (e0 > e1 ? e0 : e1) : 1.0;                \
        double dx = eta1[i] - eta0[i], w = (WEXPR);                          \
        (void)yi;                                                            \
        s[K] += w * ((TEXPR) * (e < 0.25 ? e : 0.25)) * (dx * dx);           \
    }
#define LF_SIGMOID_CURV(TEXPR, SHIFT, WEXPR)                                 \
    LF_EIGHT_SUMS(LF_SIGMOID_CURV_TERM, TEXPR, SHIFT, WEXPR)
LF_CLONES __attribute__((noinline)) static double
lf_glm_segment_curvature(const lf_glm_problem *pb, double lr, const double *restrict eta0,
                         const double *restrict aux0, const double *restrict eta1,
                         const double *restrict aux1)
{
    const int n = pb->n;
    const double *restrict y = pb->y, *restrict wt = pb->wt, *restrict tr = pb->trials;
    double s[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    switch (pb->family) {
    case LF_LOGISTIC: LF_WEIGHTED_ARGS(LF_SIGMOID_CURV, 1.0, 0.0); break;
    case LF_BINOMIAL: LF_WEIGHTED_ARGS(LF_SIGMOID_CURV, tr[i], 0.0); break;
    case LF_NEGBIN: LF_WEIGHTED_ARGS(LF_SIGMOID_CURV, yi + lr, pb->param); break;
    case LF_PROBIT:
        for (int i = 0; i < n; i++) {
            double dx = eta1[i] - eta0[i], c = aux0[i] > aux1[i] ? aux0[i] : aux1[i];
            s[i & 7] += (wt ? wt[i] : 1.0) * c * (dx * dx);
        }
        return LF_RED8(s) * (1.0 + 1e-12);
    default: return HUGE_VAL;
    }
    return LF_RED8(s);
}

/* the data-only part of the log-likelihood (once per problem: out of line).  The
 * negative binomial's lgamma(y + r) first, in chunks that vectorise (lf_lgamma is
 * branch-free), then the terms summed in order (bench/RESULTS.md, "negative binomial
 * constant"). */
#define LF_CONST_CHUNK 64
#define LF_NB_SHIFT_R 10.0     /* r from which lgamma(y + r) - lgamma(r) is one series */
LF_CLONES __attribute__((noinline)) static double lf_glm_constant(const lf_glm_problem *pb)
{
    const int n = pb->n;
    double c = 0.0;
    if (pb->family == LF_LOGISTIC || pb->family == LF_PROBIT) return c;   /* none */
    if (pb->family == LF_NEGBIN) {
        /* lgamma(y + r) - lgamma(r): for r >= LF_NB_SHIFT_R from one series
         * (lf_lgamma_shift), which stays accurate as r grows (the Poisson limit) */
        const double r = 1.0 / pb->param;
        const int big = r >= LF_NB_SHIFT_R;
        const double lgr = big ? 0.0 : lf_lgamma(r);
        const double log_r = big ? log(r) : 0.0, s_r = big ? lf_stirling_tail(r) : 0.0;
        double lg[LF_CONST_CHUNK];
        for (int i0 = 0; i0 < n; i0 += LF_CONST_CHUNK) {
            const int len = n - i0 < LF_CONST_CHUNK ? n - i0 : LF_CONST_CHUNK;
            const double *restrict y = pb->y + i0;
            if (big)
                for (int k = 0; k < len; k++) lg[k] = lf_lgamma_shift(r, y[k], log_r, s_r);
            else
                for (int k = 0; k < len; k++) lg[k] = lf_lgamma(y[k] + r);
            for (int k = 0; k < len; k++) {
                double w = pb->wt ? pb->wt[i0 + k] : 1.0;
                if (w != 0.0) c += w * ((lg[k] - lgr) - lf_logfact(y[k]));
            }
        }
        return c;
    }
    if (pb->family == LF_GAUSSIAN) {
        const double t = LF_HALF_LOG_2PI + log(pb->param);
        for (int i = 0; i < n; i++) {
            double w = pb->wt ? pb->wt[i] : 1.0;
            if (w != 0.0) c -= w * t;
        }
        return c;
    }
    if (pb->family == LF_POISSON && !pb->wt) {  /* the common case: four partial sums */
        const double *y = pb->y;
        double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
        int i = 0;
        for (; i + 4 <= n; i += 4) {
            s0 += lf_logfact(y[i]);
            s1 += lf_logfact(y[i + 1]);
            s2 += lf_logfact(y[i + 2]);
            s3 += lf_logfact(y[i + 3]);
        }
        for (; i < n; i++) s0 += lf_logfact(y[i]);
        return -((s0 + s2) + (s1 + s3));
    }
    for (int i = 0; i < n; i++) {
        double w = pb->wt ? pb->wt[i] : 1.0, y = pb->y[i], t;
        if (w == 0.0) continue;
        switch (pb->family) {
        case LF_POISSON: c -= w * lf_logfact(y); break;
        case LF_BINOMIAL:
            t = pb->trials[i];
            c += w * ((lf_logfact(t) - lf_logfact(y)) - lf_logfact(t - y));
            break;
        default: break;
        }
    }
    return c;
}

#endif
