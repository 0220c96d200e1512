/* The data check that runs on every problem of a batch before any is fitted. */
#ifndef GLM_CHECK_H
#define GLM_CHECK_H

#include <math.h>
#include <stdint.h>
#include "lf_sums.h"
#include "lf_status.h"
#include "glm_families.h"

/* Data checks (before any work): bit flags, 0 = fine.  Compiled per instruction set:
 * the loops vectorise with AVX2 and AVX-512; y's finiteness and support are the
 * family's (lf_<id>_support), tested in one pass, one or-reduction per test rather
 * than a compare per element (bench/RESULTS.md, "data check").
 * The bits are the LF_CHECK_ constants of lf_status.h. */
#define LF_CASE_SUPPORT(code, id, name)                                      \
    case LF_##code: yf = lf_##id##_support(n, y, tr); break;
LF_CLONES __attribute__((noinline)) static int
lf_glm_check(int family, int n, int d, const double *X, const double *y, const double *off,
             const double *wt, const double *tr)
{
    int flags = lf_nonfinite_bits(X, (size_t)n * d) ? LF_CHECK_X_NONFINITE : 0, yf = 0;
    switch (family) { LF_GLM_FAMILIES(LF_CASE_SUPPORT) }
    if (yf & LF_CHECK_Y_NONFINITE)   /* the rest of y is not judged */
        return flags | LF_CHECK_Y_NONFINITE;
    flags |= yf;
    if (off && lf_nonfinite_bits(off, (size_t)n)) flags |= LF_CHECK_OFFSET_NONFINITE;
    int bad = 0;
    if (wt) for (int i = 0; i < n; i++) bad |= !((wt[i] - wt[i]) == 0.0 && wt[i] >= 0.0);
    if (bad) flags |= LF_CHECK_WEIGHTS_INVALID;
    return flags;
}
#undef LF_CASE_SUPPORT

#endif
