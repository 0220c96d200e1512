/* Portability macros of the compiled kernels: forced inlining, the run-time dispatched
 * copies per instruction set, and where FMA contraction is allowed.  Every kernel header
 * includes this first. */
#ifndef LF_PORTABLE_H
#define LF_PORTABLE_H


/* helpers are forced inline so that each run-time dispatched clone of a kernel compiles
 * them for its own instruction set, and so that a d known at compile time in the
 * caller (the GLM solver's copies per d) unrolls their loops */
#if defined(__GNUC__)
#define LF_INLINE static inline __attribute__((always_inline))
#else
#define LF_INLINE static inline
#endif

/* whether x is known at compile time (after inlining) */
#if defined(__GNUC__)
#define LF_CONSTANT(x) __builtin_constant_p(x)
#else
#define LF_CONSTANT(x) 0
#endif

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF   /* gcc: off already in ISO C mode (-std=c11) */
#endif

/* a function compiled for x86-64-v4, x86-64-v3 and baseline, picked at run time
 * (GCC's target_clones), so that the build stays portable */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(LF_NO_CLONES)
#define LF_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LF_CLONES
#endif

/* FMA contraction (GCC) in the out-of-line kernels that dominate small problems: the
 * GLM pair layout's eta and derivative passes and the family's terms
 * (bench/RESULTS.md, "FMA contraction of the hot kernels").  Each is one function per
 * instruction set, called by every copy of the solver and by every thread count, so
 * contraction cannot make two paths differ; contracted, each multiply-add rounds once,
 * and the accuracy tests run the elementary functions so compiled too
 * (lf_elementary_contracted, glm/glm_testing.h).
 * Not in line elsewhere: there GCC contracts by context, and the solver's copies per d
 * would no longer match the generic one. */
#if defined(__GNUC__) && !defined(__clang__)
#define LF_CONTRACT __attribute__((optimize("fp-contract=fast")))
#else
#define LF_CONTRACT
#endif

#endif
