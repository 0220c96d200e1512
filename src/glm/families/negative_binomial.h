/* negative binomial (NB2): y a non-negative integer count, mean mu = e^eta, variance
 * mu + alpha mu^2; the parameter is the dispersion alpha (pb->param), r = 1 / alpha.
 * With u = eta - log r and t = y + r:
 *   l = y u - t sp(u)     g = y - t s(u)     h = t s (1 - s)     l''' = -h (1 - 2 s)
 * (sp = softplus, s = sigmoid); data-only constant log Gamma(y + r) - log Gamma(r) -
 * log y!.  A sigmoid family (family_loops.h); the kernels read lr = r and pb->param =
 * log r (lf_negative_binomial_param). */
#ifndef GLM_FAMILY_NEGATIVE_BINOMIAL_H
#define GLM_FAMILY_NEGATIVE_BINOMIAL_H

#include "family_loops.h"

LF_SIGMOID_TERMS(negative_binomial, yi + lr, eta[i] - pb->param)
LF_SIGMOID_VALUES(negative_binomial, yi + lr, eta[i] - pb->param)
LF_NO_BLOCK_VALUE(negative_binomial)

/* mu0 = y + 0.1: eta0 = log mu0, h0 = r mu0 / (r + mu0), R0 = r (y - mu0) / (r + mu0) */
LF_INLINE int lf_negative_binomial_start(LF_START_ARGS)
{
    LF_FAMILY_LOCALS(pb);
    int any = 0;
    lf_count_start_eta(n, y, g);
    LF_WEIGHTED_ARGS(LF_START_TERMS, g[i], lr * (yi + 0.1) / (lr + (yi + 0.1)),
                     -0.1 * lr / (lr + (yi + 0.1)));
    return any;
}

LF_SIGMOID_VALUE_BOUND(negative_binomial, yi + lr, eta[i] - pb->param)
LF_SIGMOID_CURVATURE(negative_binomial, yi + lr, pb->param)

/* Once per problem: lgamma(y + r) first, in chunks that vectorise (lf_lgamma is
 * branch-free), then the terms summed in order (bench/RESULTS.md, "negative binomial
 * constant").  For r >= LF_NB_SHIFT_R, lgamma(y + r) - lgamma(r) comes from one series
 * (lf_lgamma_shift), which stays accurate as r grows (the Poisson limit). */
#define LF_CONST_CHUNK 64
#define LF_NB_SHIFT_R 10.0
LF_INLINE double lf_negative_binomial_constant(LF_CONSTANT_ARGS)
{
    const int n = pb->n;
    double c = 0.0;
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

LF_COUNTS_SUPPORT(negative_binomial)
LF_COUNTS_EXTREME(negative_binomial)
LF_SIGMOID_THIRD(negative_binomial, yi + lr, eta[i] - pb->param)

/* lr = r = 1 / alpha, and the kernels' pb->param = log r */
LF_INLINE double lf_negative_binomial_param(LF_PARAM_ARGS)
{
    double r = 1.0 / param;
    *kparam = log(r);
    return r;
}

#endif
