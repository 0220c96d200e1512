/* The data check that runs on every problem of a batch before any is fitted. */
#ifndef GLM_CHECK_H
#define GLM_CHECK_H

#include <math.h>
#include <stdint.h>
#include "lf_sums.h"
#include "lf_status.h"
#include "glm_problem.h"

/* Data checks (before any work): bit flags, 0 = fine.  Compiled per instruction set:
 * the loops vectorise with AVX2 and AVX-512; y's finiteness and support are tested in
 * one pass, one or-reduction per test rather than a compare per element
 * (bench/RESULTS.md, "data check").
 * The bits are the LF_CHECK_ constants of lf_status.h. */
LF_CLONES __attribute__((noinline)) static int
lf_glm_check(int family, int n, int d, const double *X, const double *y, const double *off,
             const double *wt, const double *tr)
{
    int flags = lf_nonfinite_bits(X, (size_t)n * d) ? LF_CHECK_X_NONFINITE : 0, bad = 0;
    uint64_t ynf = 0;
    switch (family) {
    case LF_LOGISTIC: case LF_PROBIT:
        for (int i = 0; i < n; i++) {
            double v = y[i];
            ynf |= lf_asu64(v - v);
            bad |= (v != 0.0) & (v != 1.0);
        }
        break;
    case LF_POISSON: case LF_NEGBIN:
        for (int i = 0; i < n; i++) {
            double v = y[i];
            ynf |= lf_asu64(v - v);
            bad |= !(v >= 0.0) | (v != floor(v));
        }
        break;
    default:
        ynf = lf_nonfinite_bits(y, (size_t)n);
    }
    if (ynf)   /* the support is not judged on non-finite counts */
        return flags | LF_CHECK_Y_NONFINITE;
    if (family == LF_BINOMIAL)
        for (int i = 0; i < n; i++) {
            double t = tr[i], v = y[i];
            if (!(isfinite(t) && t >= 0.0 && t == floor(t)))
                flags |= LF_CHECK_TRIALS_INVALID;
            else if (!(v >= 0.0 && v == floor(v) && v <= t)) bad = 1;
        }
    if (bad) flags |= LF_CHECK_Y_SUPPORT;
    if (off && lf_nonfinite_bits(off, (size_t)n)) flags |= LF_CHECK_OFFSET_NONFINITE;
    bad = 0;
    if (wt) for (int i = 0; i < n; i++) bad |= !((wt[i] - wt[i]) == 0.0 && wt[i] >= 0.0);
    if (bad) flags |= LF_CHECK_WEIGHTS_INVALID;
    return flags;
}

#endif
