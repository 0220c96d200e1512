/* Per-thread scratch memory of the GLM kernels.
 *
 * One large problem's scratch (X transposed and the terms of every observation: 93 MB
 * for W4, n = 200,000 and d = 50) is fresh memory on every call, and with 4 KiB pages
 * the kernel's page faults on first touch are a visible part of W4's fit
 * (bench/RESULTS.md, "huge pages for large scratch").  Buffers of 4 MiB and
 * more are therefore aligned to 2 MiB and marked for transparent huge pages (Linux,
 * where the system allows them; NumPy does the same for its large arrays), so that a
 * fault maps 2 MiB.  Smaller buffers are aligned to a cache line (64 bytes, with C11's
 * aligned_alloc; malloc gives 16, and serves compilers without it): the kernels'
 * four-double loads and stores then never straddle two lines, which slows the pair
 * layout's build (bench/RESULTS.md, "cache-line aligned scratch").
 * Either is released with free.  The contents are not read before they are written, and
 * alignment changes no operation: no effect on results. */
#ifndef LF_SCRATCH_H
#define LF_SCRATCH_H

#include <stdlib.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define LF_HUGE_PAGE ((size_t)1 << 21)
#define LF_LINE ((size_t)64)

/* n doubles, or NULL */
static inline double *lf_scratch_alloc(size_t n)
{
    size_t bytes = n * sizeof(double);
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= 2 * LF_HUGE_PAGE) {
        size_t whole = (bytes + LF_HUGE_PAGE - 1) & ~(LF_HUGE_PAGE - 1);
        void *p = aligned_alloc(LF_HUGE_PAGE, whole);
        if (p) madvise(p, whole, MADV_HUGEPAGE);   /* advice only: failure is harmless */
        return (double *)p;
    }
#endif
#if defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L && !defined(_MSC_VER)
    return (double *)aligned_alloc(LF_LINE, (bytes + LF_LINE - 1) & ~(LF_LINE - 1));
#else
    return (double *)malloc(bytes);
#endif
}

#endif
