/* Test hooks, compiled only into laplace_fast._glm_testing: the elementary functions
 * elementwise, compiled as the kernels compile them. */
#ifndef GLM_TESTING_H
#define GLM_TESTING_H

#include <stddef.h>
#include "lf_elementary.h"

/* The elementary functions elementwise, for the accuracy tests: which is the index in
 * _glm_kernels.ELEMENTARY.  Compiled per instruction set as the kernels are, contracted
 * (LF_CONTRACT: as lf_glm_family and lf_glm_values run them) or not (the other
 * kernels: the start, the constants, the bounds). */
LF_INLINE void lf_elementary_loop(int which, const double *restrict x, double *restrict o,
                                  size_t n)
{
    double lam, tail;
    switch (which) {
    case 0: for (size_t i = 0; i < n; i++) o[i] = lf_exp(x[i]); break;
    case 1: for (size_t i = 0; i < n; i++) o[i] = lf_log1p_unit(x[i]); break;
    case 2: for (size_t i = 0; i < n; i++) o[i] = lf_softplus(x[i]); break;
    case 3: for (size_t i = 0; i < n; i++) o[i] = lf_log_ndtr(x[i], &lam, &tail); break;
    case 4: for (size_t i = 0; i < n; i++) { lf_log_ndtr(x[i], &lam, &tail); o[i] = lam; } break;
    case 5: for (size_t i = 0; i < n; i++) { lf_log_ndtr(x[i], &lam, &tail); o[i] = tail; } break;
    case 6: for (size_t i = 0; i < n; i++) o[i] = lf_lgamma(x[i]); break;
    case 7: for (size_t i = 0; i < n; i++) o[i] = lf_logfact(x[i]); break;
    case 8: for (size_t i = 0; i < n; i++) o[i] = lf_exp_neg(x[i]); break;
    case 9: for (size_t i = 0; i < n; i++) o[i] = lf_exp_normal(x[i]); break;
    default: for (size_t i = 0; i < n; i++) o[i] = lf_log_pos(x[i]);
    }
}

LF_CLONES LF_CONTRACT __attribute__((noinline)) static void
lf_elementary_contracted(int which, const double *x, double *o, size_t n)
{
    lf_elementary_loop(which, x, o, n);
}

LF_CLONES __attribute__((noinline)) static void
lf_elementary(int which, const double *x, double *o, size_t n)
{
    lf_elementary_loop(which, x, o, n);
}

#endif
