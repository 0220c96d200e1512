/* What the batch loop (_glm_kernels.pyx) needs beyond the solver: the prefetch of the
 * next problem's rows, the atomic counters shared by its threads, and whether it builds
 * the next problem's pair layout during the current fit. */
#ifndef GLM_BATCH_H
#define GLM_BATCH_H

#include <stddef.h>
#include <stdint.h>
#include "glm_pairs.h"
#include "glm_scratch.h"

/* Ask for up to cap bytes from p ahead of use: the batch loop prefetches the next
 * problem's rows while it fits the current one, so they arrive during that fit.  Into
 * L2, not L1 (locality 2: prefetcht1 on x86): brought into L1 they evict the current
 * fit's working set or are evicted before use (bench/RESULTS.md, "prefetch of the
 * next problem"). */
LF_INLINE void lf_prefetch(const void *p, size_t bytes, size_t cap)
{
#if defined(__GNUC__)
    const char *c = (const char *)p;
    if (!c) return;
    bytes = bytes < cap ? bytes : cap;
    for (size_t o = 0; o < bytes; o += 64) __builtin_prefetch(c + o, 0, 2);
#else
    (void)p; (void)bytes; (void)cap;
#endif
}

/* Prefetch rows s0 <= i < s0 + n of a batch's arrays (NULL: not given), up to 64 KiB of
 * each: the batch loop's call for the next problem.  Always inlined, so the prefetches
 * land in the caller, which has side effects.  GCC counts a prefetch as free of side
 * effects, so a function of prefetches alone is "const" to it and a call of it dead
 * code: a Cython helper of these five calls compiles to nothing, and the batch runs
 * without its prefetch (tests/test_build.py checks that it is kept).  Not for problems
 * whose rows of X take under LF_PREFETCH_MIN bytes (rows that mostly share cache lines
 * with the current problem's): there the calls cost more than they save
 * (bench/RESULTS.md, "prefetch of the next problem"). */
#define LF_PREFETCH_MIN 1024
LF_INLINE void lf_glm_prefetch_rows(const double *X, const double *y, const double *off,
                                    const double *wt, const double *tr, size_t s0,
                                    size_t n, int d)
{
    const size_t cap = 65536, row = n * sizeof(double);
    if (row * (size_t)d < LF_PREFETCH_MIN) return;
    lf_prefetch(X ? X + s0 * (size_t)d : NULL, row * (size_t)d, cap);
    lf_prefetch(y ? y + s0 : NULL, row, cap);
    lf_prefetch(off ? off + s0 : NULL, row, cap);
    lf_prefetch(wt ? wt + s0 : NULL, row, cap);
    lf_prefetch(tr ? tr + s0 : NULL, row, cap);
}

/* *p += 1, atomically (the batch loop's list of problems whose status is not 0, its
 * next run of problems); returns the old value */
static inline int64_t lf_fetch_inc(int64_t *p)
{
    int64_t old;
    #pragma omp atomic capture
    old = (*p)++;
    return old;
}

/* *p += v, atomically (the batch loop's count of the work done in a slice) */
static inline void lf_atomic_add(int64_t *p, int64_t v)
{
    #pragma omp atomic update
    *p += v;
}

/* *p, read atomically */
static inline int64_t lf_atomic_read(const int64_t *p)
{
    int64_t v;
    #pragma omp atomic read
    v = *p;
    return v;
}

/* whether the batch loop builds the layout of a problem of n rows while it fits the
 * one before it (lf_zjob): in the pair layout, of at most LF_ZJOB_MAX doubles */
LF_INLINE int lf_zjob_fits(int n, int d)
{
    return lf_use_pairs(n, d) && (size_t)lf_pad8(n) * (size_t)lf_zcols(d) <= LF_ZJOB_MAX;
}

/* A thread's scratch in the batch loop, for problems of up to n rows: a problem's
 * (lf_glm_plan_of), then the two pair layouts of the pipeline (lf_zjob), from
 * lf_glm_batch_zjob_offset on, LF_ZJOB_MAX doubles each. */
LF_INLINE size_t lf_glm_batch_zjob_offset(size_t n, size_t d)
{
    return lf_glm_plan_of(n, d).total;
}
LF_INLINE size_t lf_glm_batch_scratch_size(size_t n, size_t d)
{
    return lf_glm_batch_zjob_offset(n, d) + 2 * (size_t)LF_ZJOB_MAX;
}

#endif
