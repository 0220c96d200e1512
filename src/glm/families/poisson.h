/* poisson: y a non-negative integer count, mean mu = e^eta, no parameter.
 *   l = y eta - mu     g = y - mu     h = mu     l''' = -mu
 * data-only constant -log y!.  The values cost nothing next to e^eta, so the terms
 * write them (lf_poisson_fused). */
#ifndef GLM_FAMILY_POISSON_H
#define GLM_FAMILY_POISSON_H

#include "family_loops.h"

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
/* lf_exp_normal first: lf_exp's bits where every e^eta is a normal number; the terms
 * are computed again with lf_exp when one is not (or eta is not finite) */
LF_INLINE void lf_poisson_terms(LF_TERMS_ARGS)
{
    LF_FAMILY_LOCALS(pb);
    long long outside = 0;
    (void)lr; (void)aux;
    LF_WEIGHTED(LF_POISSON_NORMAL);
    if (outside) { LF_WEIGHTED(LF_POISSON_GENERAL) }
}

LF_NO_VALUES(poisson)
LF_NO_BLOCK_VALUE(poisson)

/* mu0 = y + 0.1: eta0 = log mu0, h0 = mu0, R0 = y - mu0 */
LF_INLINE int lf_poisson_start(LF_START_ARGS)
{
    LF_FAMILY_LOCALS(pb);
    int any = 0;
    (void)lr;
    lf_count_start_eta(n, y, g);
    LF_WEIGHTED_ARGS(LF_START_TERMS, g[i], yi + 0.1, -0.1);
    return any;
}

LF_NO_VALUE_BOUND(poisson)
LF_NO_CURVATURE(poisson)

/* -sum wt log y!; unweighted (the common case) in four partial sums */
LF_INLINE double lf_poisson_constant(LF_CONSTANT_ARGS)
{
    const int n = pb->n;
    const double *y = pb->y;
    if (!pb->wt) {
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
    double c = 0.0;
    for (int i = 0; i < n; i++) {
        double w = pb->wt[i];
        if (w != 0.0) c -= w * lf_logfact(y[i]);
    }
    return c;
}

LF_COUNTS_SUPPORT(poisson)
LF_COUNTS_EXTREME(poisson)

LF_INLINE double lf_poisson_third(LF_THIRD_ARGS)
{
    (void)pb; (void)lr;
    return -lf_exp(eta[i]);
}

LF_NO_PARAM(poisson)

#endif
