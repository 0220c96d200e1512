/* gaussian: y finite, y ~ N(eta, sigma^2), the parameter sigma (pb->param, the scale).
 *   l = -(y - eta)^2 / (2 sigma^2)     g = (y - eta) / sigma^2     h = 1 / sigma^2
 *   l''' = 0
 * data-only constant -1/2 log 2 pi sigma^2.  The values cost nothing, so the terms
 * write them (lf_gaussian_fused); no separation, no extreme predictor. */
#ifndef GLM_FAMILY_GAUSSIAN_H
#define GLM_FAMILY_GAUSSIAN_H

#include "family_loops.h"

#define LF_GAUSSIAN_BODY(WEXPR)                                              \
    for (int i = 0; i < n; i++) {                                            \
        double r = y[i] - eta[i];                                            \
        double w = (WEXPR);                                                  \
        lv[i] = w != 0.0 ? -0.5 * w * (r * r) * is2 : 0.0;                   \
        g[i] = w != 0.0 ? w * r * is2 : 0.0;                                 \
        h[i] = w != 0.0 ? w * is2 : 0.0;                                     \
    }
LF_INLINE void lf_gaussian_terms(LF_TERMS_ARGS)
{
    LF_FAMILY_LOCALS(pb);
    double is2 = 1.0 / (pb->param * pb->param);
    (void)lr; (void)aux;
    LF_WEIGHTED(LF_GAUSSIAN_BODY);
}

LF_NO_VALUES(gaussian)
LF_NO_BLOCK_VALUE(gaussian)

/* mu0 = y: h0 = 1 / sigma^2, R0 = 0 */
LF_INLINE int lf_gaussian_start(LF_START_ARGS)
{
    LF_FAMILY_LOCALS(pb);
    int any = 0;
    double is2 = 1.0 / (pb->param * pb->param);
    (void)lr;
    LF_WEIGHTED_ARGS(LF_START_TERMS, yi, is2, 0.0);
    return any;
}

LF_NO_VALUE_BOUND(gaussian)
LF_NO_CURVATURE(gaussian)

/* -sum wt (1/2 log 2 pi + log sigma) */
LF_INLINE double lf_gaussian_constant(LF_CONSTANT_ARGS)
{
    const int n = pb->n;
    const double t = LF_HALF_LOG_2PI + log(pb->param);
    double c = 0.0;
    for (int i = 0; i < n; i++) {
        double w = pb->wt ? pb->wt[i] : 1.0;
        if (w != 0.0) c -= w * t;
    }
    return c;
}

LF_INLINE int lf_gaussian_support(LF_SUPPORT_ARGS)
{
    (void)tr;
    return lf_nonfinite_bits(y, (size_t)n) ? LF_CHECK_Y_NONFINITE : 0;
}

LF_NO_EXTREME(gaussian)

LF_INLINE double lf_gaussian_third(LF_THIRD_ARGS)
{
    (void)pb; (void)lr; (void)eta; (void)i;
    return 0.0;
}

LF_NO_PARAM(gaussian)

#endif
