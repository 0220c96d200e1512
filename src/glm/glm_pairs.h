/* The pair layout of a small problem (d <= 8): each row of X with the products
 * x_ij x_ik of its entries, formed once per problem, so that every gradient and Hessian
 * is one unit-stride pass of four-wide multiply-adds.  The transposed layout of larger
 * problems is in glm_eval.h. */
#ifndef GLM_PAIRS_H
#define GLM_PAIRS_H

#include "lf_simd.h"
#include "glm_problem.h"

/* Small d (1..8): the products x_ij x_ik (k <= j) of every row are formed once per
 * problem, with the row itself: Z holds NC = d(d+1)/2 + d columns in blocks of four
 * rows, column-major inside a block (Z[(r NC + q) 4 + l] is column q of row 4r + l), so
 * each gradient and Hessian is one pass of four-wide multiply-adds, h (pair columns)
 * or g (the x columns) times a column, with no broadcasts.  Accumulators: one vector
 * per column, in groups of LF_ZGROUP so that they stay in registers; each column's
 * four lanes are added (l0 + l2) + (l1 + l3) at the end.  A fixed order, independent
 * of the SIMD width.  D is a compile-time constant in the solver's copies (every loop
 * unrolls); the generic copy, which takes a problem that shares threads, runs the same
 * code with D known at run time.
 * Above d = 8 the transposed layout is as fast or faster: Z has d(d+1)/2 + d columns,
 * which at d = 20 no longer fit in L1 and L2 (n = 100: 191 KB; n = 1,000: 1.9 MB) and
 * are read once per derivative pass, while X transposed stays in cache and the Hessian
 * tiles form the products again (bench/RESULTS.md, "pair layout up to d = 8"). */
#define LF_ZGROUP 12                /* a multiple of four (lf_v4_hsum4) */
#define LF_SPECIAL_MAXD 8          /* d with a copy of the solver of their own */
#define LF_PAIRS_MAXD LF_SPECIAL_MAXD
#define LF_ZMAXNC (LF_PAIRS_MAXD * (LF_PAIRS_MAXD + 1) / 2 + LF_PAIRS_MAXD)
/* the largest n that uses the pair layout: Z stays within 23 MB of scratch per thread */
#define LF_PAIRS_MAXN 65536

LF_INLINE int lf_zcols(int d) { return d * (d + 1) / 2 + d; }
/* F(args..., d) with d a compile-time constant, for each d of the pair layout */
#define LF_PAIRS_SWITCH(d, F, ...)                                           \
    switch (d) {                                                             \
    case 1: F(__VA_ARGS__, 1); break;                                        \
    case 2: F(__VA_ARGS__, 2); break;                                        \
    case 3: F(__VA_ARGS__, 3); break;                                        \
    case 4: F(__VA_ARGS__, 4); break;                                        \
    case 5: F(__VA_ARGS__, 5); break;                                        \
    case 6: F(__VA_ARGS__, 6); break;                                        \
    case 7: F(__VA_ARGS__, 7); break;                                        \
    case 8: F(__VA_ARGS__, 8); break;   /* LF_PAIRS_MAXD */                  \
    }
/* whether a problem uses the pair layout: a function of its own n and d only */
LF_INLINE int lf_use_pairs(int n, int d)
{
    return d >= 1 && d <= LF_PAIRS_MAXD && n <= LF_PAIRS_MAXN;
}

/* Z's groups of four rows r0 <= r < r1 from the rows of X (n x D, row-major; the
 * padding rows n <= i < lf_pad8(n) are zero) */
LF_INLINE void lf_zbuild_rows(const double *restrict X, int n, int r0, int r1,
                              double *restrict Z, const int D)
{
    static const double zero_row[LF_PAIRS_MAXD];
    const int NC = lf_zcols(D);
    for (int r = r0; r < r1; r++) {
        double *restrict zr = Z + (size_t)r * NC * 4;
        const double *p[4];
        for (int l = 0; l < 4; l++)
            p[l] = 4 * r + l < n ? X + (size_t)(4 * r + l) * D : zero_row;
        lf_v4 x[LF_PAIRS_MAXD];
        #pragma GCC unroll 8
        for (int j = 0; j < D; j++) x[j] = lf_v4_set(p[0][j], p[1][j], p[2][j], p[3][j]);
        int q = 0;
        #pragma GCC unroll 8
        for (int j = 0; j < D; j++) {
            #pragma GCC unroll 8
            for (int k = 0; k <= j; k++) lf_v4_store(zr + 4 * q++, lf_v4_mul(x[j], x[k]));
        }
        #pragma GCC unroll 8
        for (int j = 0; j < D; j++) lf_v4_store(zr + 4 * q++, x[j]);
    }
}

/* up to k more groups of the job's layout (none when job is NULL) */
LF_INLINE void lf_zjob_step(lf_zjob *job, int k, const int D)
{
    if (!job || job->done >= job->groups) return;
    int r1 = job->groups - job->done < k ? job->groups : job->done + k;
    lf_zbuild_rows(job->X, job->n, job->done, r1, job->Z, D);
    job->done = r1;
}

/* o[c] = sum_i v_i Z_ic for the M columns c0 <= c < c0 + M (M <= LF_ZGROUP), where v is
 * va for the first S of them and vb for the rest; a vector accumulator per column */
LF_INLINE void lf_zgroup(const double *restrict Z, const double *restrict va,
                         const double *restrict vb, int ld, int NC, int c0, const int M,
                         const int S, double *restrict o)
{
    lf_v4 acc[LF_ZGROUP];
    #pragma GCC unroll 12
    for (int k = 0; k < LF_ZGROUP; k++) acc[k] = lf_v4_zero();
    for (int r = 0; r < ld / 4; r++) {
        const double *zr = Z + ((size_t)r * NC + c0) * 4;
        lf_v4 a = lf_v4_load(va + 4 * r), b = lf_v4_load(vb + 4 * r);
        #pragma GCC unroll 12
        for (int k = 0; k < LF_ZGROUP; k++)
            if (k < M) acc[k] = lf_v4_madd(acc[k], k < S ? a : b, lf_v4_load(zr + 4 * k));
    }
    /* each column's lanes added (l0 + l2) + (l1 + l3), four columns at a time (the
     * accumulators past M are zero, and their sums are not kept) */
    #pragma GCC unroll 3
    for (int k = 0; k < LF_ZGROUP; k += 4)
        if (k < M) {
            double t[4];
            lf_v4_store(t, lf_v4_hsum4(acc[k], acc[k + 1], acc[k + 2], acc[k + 3]));
            #pragma GCC unroll 4
            for (int u = 0; u < 4; u++)
                if (k + u < M) o[c0 + k + u] = t[u];
        }
}

/* The gradient sums G (the x columns times g) and the lower half of A (the pair columns
 * times h), in one pass over Z: the pair columns in groups of LF_ZGROUP; the remaining
 * pairs and the x columns side by side in one group when they fit in LF_ZMIXED (the
 * accumulators and both multipliers stay in the sixteen AVX registers), else each in
 * groups of their own.  The groups' sizes are compile-time constants in the solver's
 * copies for d <= 8.  A column's sum does not depend on its group. */
#define LF_ZMIXED 10
LF_INLINE void lf_zdgroups(const double *Z, const double *v, int ld, int NC, int cb,
                           int ce, double *o)
{
    #pragma GCC unroll 4
    for (int c0 = cb; c0 < ce; c0 += LF_ZGROUP) {
        if (ce - c0 >= LF_ZGROUP) lf_zgroup(Z, v, v, ld, NC, c0, LF_ZGROUP, LF_ZGROUP, o);
        else lf_zgroup(Z, v, v, ld, NC, c0, ce - c0, LF_ZGROUP, o);
    }
}

LF_INLINE void lf_zderivs(const double *restrict Z, const double *restrict g,
                          const double *restrict h, int ld, double *restrict G,
                          double *restrict A, const int D)
{
    const int NP = D * (D + 1) / 2, NC = NP + D;
    const int nfull = NP / LF_ZGROUP * LF_ZGROUP, rem = NP - nfull;
    double o[LF_ZMAXNC];
    if (rem + D <= LF_ZMIXED) {
        lf_zdgroups(Z, h, ld, NC, 0, nfull, o);
        lf_zgroup(Z, h, g, ld, NC, nfull, rem + D, rem, o);
    } else {
        lf_zdgroups(Z, h, ld, NC, 0, NP, o);
        lf_zdgroups(Z, g, ld, NC, NP, NC, o);
    }
    int q = 0;
    #pragma GCC unroll 8
    for (int j = 0; j < D; j++) {
        #pragma GCC unroll 8
        for (int k = 0; k <= j; k++) A[j * D + k] = o[q++];
    }
    #pragma GCC unroll 8
    for (int j = 0; j < D; j++) G[j] = o[NP + j];
}

/* lf_zderivs out of line (the solver's only way to it), with D a compile-time constant.
 * Inlined, one of a group's LF_ZGROUP accumulators is kept in memory (the solver's own
 * live values take registers), a store and load on the loop's critical path; out of
 * line it also contracts (LF_CONTRACT; bench/RESULTS.md, "derivative pass out of
 * line"). */
LF_CLONES LF_CONTRACT __attribute__((noinline)) static void
lf_zderivs_call(const double *Z, const double *g, const double *h, int ld, double *G,
                double *A, int d)
{
    LF_PAIRS_SWITCH(d, lf_zderivs, Z, g, h, ld, G, A);
}

#endif
