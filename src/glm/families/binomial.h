/* binomial: y successes in t trials (per row, pb->trials), P(success) = s(eta).
 *   l = y eta - t sp(eta)     g = y - t s     h = t s (1 - s)     l''' = -h (1 - 2 s)
 * (sp = softplus, s = sigmoid); data-only constant log binom(t, y).  A sigmoid family
 * (t = trials, x = eta: family_loops.h). */
#ifndef GLM_FAMILY_BINOMIAL_H
#define GLM_FAMILY_BINOMIAL_H

#include "family_loops.h"

LF_SIGMOID_TERMS(binomial, tr[i], eta[i])
LF_SIGMOID_VALUES(binomial, tr[i], eta[i])
LF_NO_BLOCK_VALUE(binomial)

/* p0 = (y + 1/2) / (t + 1); h0 = t p0 (1 - p0); R0 = y - t p0 */
#define LF_P0 ((yi + 0.5) / (tr[i] + 1.0))
LF_INLINE int lf_binomial_start(LF_START_ARGS)
{
    LF_FAMILY_LOCALS(pb);
    int any = 0;
    (void)lr;
    LF_WEIGHTED_ARGS(LF_START_TERMS, lf_log_pos(yi + 0.5) - lf_log_pos((tr[i] - yi) + 0.5),
                     tr[i] * LF_P0 * (1.0 - LF_P0), yi - tr[i] * LF_P0);
    return any;
}
#undef LF_P0

LF_SIGMOID_VALUE_BOUND(binomial, tr[i], eta[i])
LF_SIGMOID_CURVATURE(binomial, tr[i], 0.0)

/* sum wt log binom(t, y) */
LF_INLINE double lf_binomial_constant(LF_CONSTANT_ARGS)
{
    const int n = pb->n;
    double c = 0.0;
    for (int i = 0; i < n; i++) {
        double w = pb->wt ? pb->wt[i] : 1.0, y = pb->y[i], t = pb->trials[i];
        if (w != 0.0) c += w * ((lf_logfact(t) - lf_logfact(y)) - lf_logfact(t - y));
    }
    return c;
}

/* y finite first (else nothing more is judged), then per row: trials non-negative
 * integers, y an integer in [0, trials] */
LF_INLINE int lf_binomial_support(LF_SUPPORT_ARGS)
{
    if (lf_nonfinite_bits(y, (size_t)n)) return LF_CHECK_Y_NONFINITE;
    int flags = 0, bad = 0;
    for (int i = 0; i < n; i++) {
        double t = tr[i], v = y[i];
        if (!(isfinite(t) && t >= 0.0 && t == floor(t)))
            flags |= LF_CHECK_TRIALS_INVALID;
        else if (!(v >= 0.0 && v == floor(v) && v <= t)) bad = 1;
    }
    return flags | (bad ? LF_CHECK_Y_SUPPORT : 0);
}

LF_CLASSES_EXTREME(binomial, 1)
LF_SIGMOID_THIRD(binomial, tr[i], eta[i])
LF_NO_PARAM(binomial)

#endif
