/* One Bayesian GLM posterior, fitted by damped Newton (IRLS with step halving),
 * and its Laplace approximation.  Pure C, no allocation, no global state other
 * than the read-only log-factorial table: safe inside OpenMP parallel regions.
 *
 * log post(w) = sum_i wt_i l_i(eta_i) + C + log N(w; m, P^-1),  eta = X w + offset
 *
 * Per observation (stable forms; sp = softplus, s = sigmoid):
 *   logistic   l = y eta - sp(eta)                 g = y - s        h = s (1 - s)
 *   probit     l = log Phi(q eta), q = 2y - 1      g = q lam        h = lam (lam + q eta)
 *   poisson    l = y eta - e^eta                   g = y - mu       h = mu
 *   binomial   l = y eta - t sp(eta)               g = y - t s      h = t s (1 - s)
 *   negbin     l = y u - (y + r) sp(u), u = eta - log r, r = 1 / dispersion
 *                                                  g = y - (y+r) s(u)  h = (y+r) s(1-s)
 *   gaussian   l = -(y - eta)^2 / (2 sigma^2)      g = (y-eta)/s^2  h = 1/s^2
 * C holds the data-only constants (-log y!, log binom(t, y), the negative binomial's
 * log Gamma(y + r) - log Gamma(r) - log y!, the Gaussian's -1/2 log 2 pi sigma^2), so
 * the log joint is the exact one and the Laplace evidence a proper marginal likelihood.
 *
 * Layout and sums.  X is rearranged once per problem in scratch (observations padded to
 * a multiple of 8 rows), so every pass over the observations is unit-stride and
 * vectorises (the elementary functions are branch-free, lf_glm_math.h).
 * - log-likelihood: per block of LF_GLM_BLOCK rows, eight interleaved partial sums in
 *   a fixed tree (lf_sum8); block sums added in block order.
 * - d <= 8: the rows and the products x_ij x_ik of each row are formed once per
 *   problem (Z, blocks of four rows; in a batch, a small problem's while the one before
 *   it is fitted: lf_zjob); each gradient + Hessian is one pass Z^T [h | g]
 *   with a four-wide vector accumulator per column, its lanes added in a fixed tree at
 *   the end; eta is computed four rows at a time from Z's rows.
 * - d > 8 (or n > LF_PAIRS_MAXN): X transposed (feature-major); per block, the
 *   gradient as dot products of 8 interleaved partial sums, the Hessian in register
 *   tiles of four interleaved partial sums (lf_hess_tiles); block sums added in block
 *   order within superblocks of LF_GLM_SUPER rows, the superblock sums added in order.
 *   Each evaluation of the solver's loop is one pass over X (lf_glm_eval_derivs): a
 *   block's eta and terms, then at once its gradient and Hessian sums.
 * - a serial problem with d <= 8 runs a copy of the solver compiled for its d (every
 *   d-sized loop unrolled); the operations and their order are those of the generic
 *   copy, so the bits are too.
 * Every order above is fixed by (n, d) alone: the bits do not depend on the SIMD width,
 * on the thread count (pb->nt > 1 runs the blocks and superblocks of one large problem
 * on several threads, same sums), or on the batch a problem sits in.  The solver is
 * compiled for x86-64-v4/v3 and baseline and picked at run time (target_clones), so the
 * build stays portable.  ISO C mode contracts nothing into FMAs, except in the hot
 * kernels marked LF_CONTRACT, each a single out-of-line copy that every path calls: so
 * the bits of v4 and v3 (which have FMA) are one set, and the baseline's another.
 *
 * Start: one IRLS step from means made of the data (lf_glm_start_terms; 27 % (W1) and
 * 33 % (W2) fewer Newton iterations, and no step halvings on W2's heavy counts), or the
 * prior mean when the data carry no weight or the log joint is not finite there.
 * Newton: direction from the Cholesky factor of A = X^T diag(wt h) X + P (positive
 * definite for every family here; if it fails the relative pivot test a Levenberg-
 * Marquardt shift is added for the step only, never to the reported Hessian); Armijo step
 * halving (Nocedal & Wright, Numerical Optimization, 2nd ed., alg. 3.1, c1 = 1e-4)
 * with a tolerance of the rounding error of the two values, non-finite trial points
 * rejected.  Every family is log-concave, so phi(t) = log post(w + t step) is concave
 * and phi'(t) >= c1 phi'(0) implies Armijo's condition: the sigmoid families and probit
 * test that first, then (on an overshoot) Armijo from phi'(t) and a bound of the
 * curvature on the step (lf_armijo_from_curvature), and compute a value (a softplus or
 * log Phi per observation) only when both fail, and once at the point returned; at the
 * start, only when a cheap bound (lf_glm_value_bounded) cannot show the value finite.
 * Convergence is tested at each iterate before the iteration cap: the step satisfies
 * |step_j| <= tol (1 + |w_j|), or after a full Newton step it stopped shrinking below
 * 1e-6 (the rounding floor of the gradient: heavy counts).  The reported Hessian is the
 * unmodified one at the returned point.
 */
#ifndef LF_GLM_H
#define LF_GLM_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include "lf_status.h"
#include "lf_linalg.h"
#include "lf_glm_math.h"

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF   /* gcc: off already in ISO C mode (-std=c11) */
#endif

enum { LF_LOGISTIC = 0, LF_PROBIT = 1, LF_POISSON = 2, LF_BINOMIAL = 3,
       LF_NEGBIN = 4, LF_GAUSSIAN = 5 };

#define LF_GLM_BLOCK 256
#define LF_GLM_SUPER (16 * LF_GLM_BLOCK)   /* rows per partial sum of the Hessian */
#define LF_GLM_RTOL 1e-13          /* relative pivot test of the reported Hessian */
#define LF_GLM_COND_MAX 1e12       /* status 1 above this 1-norm condition number */
#define LF_GLM_EXTREME 36.0        /* |eta| beyond which a probability is 1 to eps */

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(LF_NO_CLONES)
#define LF_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LF_CLONES
#endif

/* FMA contraction (GCC) in the out-of-line kernels that dominate small problems: the
 * pair layout's eta and derivative passes and the family's terms (C driver, W1, one
 * thread: 1.59 -> 1.40 us a problem; W2 2.06 -> 1.87).  Each is one function per
 * instruction set, called by every copy of the solver and by every thread count, so
 * contraction cannot make two paths differ; contracted, each multiply-add rounds once,
 * and the accuracy tests run the elementary functions so compiled too
 * (lf_elementary_contracted).
 * Not in line elsewhere: there GCC contracts by context, and the solver's copies per d
 * would no longer match the generic one. */
#if defined(__GNUC__) && !defined(__clang__)
#define LF_CONTRACT __attribute__((optimize("fp-contract=fast")))
#else
#define LF_CONTRACT
#endif

typedef struct {
    int family;
    int n, d;
    const double *X;        /* n x d, row-major */
    const double *y;
    const double *off;      /* NULL: no offset */
    const double *wt;       /* NULL: unit weights */
    const double *trials;   /* binomial only */
    double param;           /* gaussian: sigma; negative binomial: dispersion */
    const double *P;        /* d x d prior precision, exactly symmetric (the caller's job) */
    const double *m;        /* d prior mean */
    double prior_const;     /* lf_glm_prior_const(P, d): once per distinct prior */
    double tol;
    int maxiter;
    int nt;                 /* threads inside this problem (1: serial); no effect on bits */
    /* the batch loop's pipeline (lf_zjob); all zero for a problem fitted on its own */
    double *Z;              /* its pair layout's buffer (NULL: in scratch) */
    int zready;             /* Z already holds its pair layout, built by the previous fit */
    struct lf_zjob *zjob;   /* the next problem's pair layout to build (NULL: none) */
} lf_glm_problem;

/* The next problem's pair layout (Z), built two groups of four rows at a time after
 * each of the solver's d x d factorisations, whose chain of dependent divisions and
 * subtractions leaves the core idle (~85 TSC ticks for factor and solve at d = 5): the
 * out-of-order core runs the independent build in those stalls.  Same products, so
 * the same bits as a build of its own (lf_glm_fit_d).  The rest of the job is done
 * when the fit ends, on every path.  Only for layouts up to LF_ZJOB_MAX doubles, so
 * that two of them and the fit's other arrays stay in a 32 KiB L1.  C driver, one
 * thread, interleaved runs: W1 (9 KiB layouts) 1.59-1.64 -> 1.52-1.54 us a problem;
 * W2 (12.5 KiB) 1-2 % slower pipelined, so not. */
typedef struct lf_zjob {
    const double *X;        /* the next problem's rows */
    int n, groups, done;    /* its rows, its groups of four rows (lf_pad8(n) / 4), built */
    double *Z;              /* where its layout goes */
} lf_zjob;
#define LF_ZJOB_GROUPS 2
#define LF_ZJOB_MAX 1280    /* doubles: the largest layout built so (10 KiB) */

typedef struct {
    double *mode, *hess, *cov;
    double log_det_cov, logp, cond;
    int niter, nfev;
} lf_glm_out;

/* observations are padded to a multiple of 8 in scratch (zero rows, zero weight) */
LF_INLINE int lf_pad8(int n) { return (n + 7) & ~7; }
LF_INLINE size_t lf_round8(size_t k) { return (k + 7) & ~(size_t)7; }

/* M dot products sum_i h_i b_qi over n = 8 m terms, b_q = b + q ldb, q < M, sharing
 * the loads of h.  Each uses eight interleaved partial sums added in the fixed tree
 * LF_RED8, so the bits do not depend on how the products are grouped. */
#define LF_RED8(s) (((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7])))
#define LF_DOTS_FN(M)                                                                  \
LF_INLINE void lf_dots##M(const double *restrict hh, const double *restrict b,         \
                          size_t ldb, int n, double *out)                              \
{                                                                                      \
    double s[M][8];                                                                    \
    for (int q = 0; q < M; q++)                                                        \
        for (int k = 0; k < 8; k++) s[q][k] = 0.0;                                     \
    for (int i = 0; i < n; i += 8)                                                     \
        for (int k = 0; k < 8; k++) {                                                  \
            double a = hh[i + k];                                                      \
            for (int q = 0; q < M; q++) s[q][k] += a * b[q * ldb + i + k];             \
        }                                                                              \
    for (int q = 0; q < M; q++) out[q] = LF_RED8(s[q]);                                \
}
LF_DOTS_FN(1)
LF_DOTS_FN(2)
LF_DOTS_FN(3)
LF_DOTS_FN(4)

/* out[q] = sum_i h_i b_qi for q < m, any m, in groups of four */
LF_INLINE void lf_dots(const double *hh, const double *b, size_t ldb, int m, int n,
                       double *out)
{
    int q = 0;
    for (; q + 4 <= m; q += 4) lf_dots4(hh, b + q * ldb, ldb, n, out + q);
    switch (m - q) {
    case 3: lf_dots3(hh, b + q * ldb, ldb, n, out + q); break;
    case 2: lf_dots2(hh, b + q * ldb, ldb, n, out + q); break;
    case 1: lf_dots1(hh, b + q * ldb, ldb, n, out + q); break;
    default: break;
    }
}

/* four-double vectors (GCC/Clang vector extensions: AVX2 registers when the clone has
 * them, two SSE2 halves otherwise; element-wise IEEE arithmetic either way) */
#if defined(__GNUC__) && !defined(LF_NO_VECTOR_EXT)
typedef double lf_v4 __attribute__((vector_size(32)));
LF_INLINE lf_v4 lf_v4_load(const double *p) { lf_v4 v; memcpy(&v, p, sizeof v); return v; }
LF_INLINE void lf_v4_store(double *p, lf_v4 v) { memcpy(p, &v, sizeof v); }
LF_INLINE lf_v4 lf_v4_zero(void) { lf_v4 v = {0.0, 0.0, 0.0, 0.0}; return v; }
LF_INLINE lf_v4 lf_v4_set(double a, double b, double c, double d)
{
    lf_v4 v = {a, b, c, d};
    return v;
}
#else   /* portable fallback: a struct of four doubles, the same element-wise arithmetic */
typedef struct { double v[4]; } lf_v4;
#define LF_V4_SCALAR 1
LF_INLINE lf_v4 lf_v4_load(const double *p) { lf_v4 r; memcpy(r.v, p, sizeof r.v); return r; }
LF_INLINE void lf_v4_store(double *p, lf_v4 a) { memcpy(p, a.v, sizeof a.v); }
LF_INLINE lf_v4 lf_v4_zero(void) { lf_v4 r = {{0.0, 0.0, 0.0, 0.0}}; return r; }
LF_INLINE lf_v4 lf_v4_set(double a, double b, double c, double d)
{
    lf_v4 r = {{a, b, c, d}};
    return r;
}
#endif
/* a + b * c, element-wise (never fused) */
LF_INLINE lf_v4 lf_v4_madd(lf_v4 a, lf_v4 b, lf_v4 c)
{
#ifdef LF_V4_SCALAR
    for (int k = 0; k < 4; k++) a.v[k] += b.v[k] * c.v[k];
    return a;
#else
    return a + b * c;
#endif
}
LF_INLINE lf_v4 lf_v4_add(lf_v4 a, lf_v4 b)
{
#ifdef LF_V4_SCALAR
    for (int k = 0; k < 4; k++) a.v[k] += b.v[k];
    return a;
#else
    return a + b;
#endif
}
LF_INLINE lf_v4 lf_v4_mul(lf_v4 a, lf_v4 b)
{
#ifdef LF_V4_SCALAR
    for (int k = 0; k < 4; k++) a.v[k] *= b.v[k];
    return a;
#else
    return a * b;
#endif
}
/* the sums (a0 + a2) + (a1 + a3) of four vectors a, b, c, e, as one vector */
LF_INLINE lf_v4 lf_v4_hsum4(lf_v4 a, lf_v4 b, lf_v4 c, lf_v4 e)
{
#ifdef LF_V4_SCALAR
    lf_v4 r, in[4] = {a, b, c, e};
    for (int k = 0; k < 4; k++)
        r.v[k] = (in[k].v[0] + in[k].v[2]) + (in[k].v[1] + in[k].v[3]);
    return r;
#else
#if defined(__clang__)   /* GCC has __builtin_shufflevector only from version 12 */
#define LF_SHUF(u, v, i, j, k, l) __builtin_shufflevector(u, v, i, j, k, l)
#else
    typedef long long lf_i4 __attribute__((vector_size(32)));
#define LF_SHUF(u, v, i, j, k, l) __builtin_shuffle(u, v, (lf_i4){i, j, k, l})
#endif
    /* p = (a0 + a2, a1 + a3, b0 + b2, b1 + b3), q the same of c and e */
    lf_v4 p = LF_SHUF(a, b, 0, 1, 4, 5) + LF_SHUF(a, b, 2, 3, 6, 7);
    lf_v4 q = LF_SHUF(c, e, 0, 1, 4, 5) + LF_SHUF(c, e, 2, 3, 6, 7);
    return LF_SHUF(p, q, 0, 2, 4, 6) + LF_SHUF(p, q, 1, 3, 5, 7);
#undef LF_SHUF
#endif
}
LF_INLINE lf_v4 lf_v4_sub(lf_v4 a, lf_v4 b)
{
#ifdef LF_V4_SCALAR
    for (int k = 0; k < 4; k++) a.v[k] -= b.v[k];
    return a;
#else
    return a - b;
#endif
}
/* a > 0 ? a : 0, element-wise (0 for NaN) */
LF_INLINE lf_v4 lf_v4_pos(lf_v4 a)
{
#ifdef LF_V4_SCALAR
    for (int k = 0; k < 4; k++) a.v[k] = a.v[k] > 0.0 ? a.v[k] : 0.0;
    return a;
#else
    typedef long long lf_s4 __attribute__((vector_size(32)));
    lf_s4 m = a > lf_v4_zero(), u;      /* all ones where a > 0 */
    memcpy(&u, &a, sizeof u);
    u &= m;
    memcpy(&a, &u, sizeof a);
    return a;
#endif
}
/* |a|, element-wise (the sign bit cleared) */
LF_INLINE lf_v4 lf_v4_abs(lf_v4 a)
{
#ifdef LF_V4_SCALAR
    for (int k = 0; k < 4; k++) a.v[k] = fabs(a.v[k]);
    return a;
#else
    typedef uint64_t lf_u4 __attribute__((vector_size(32)));
    lf_u4 u;
    memcpy(&u, &a, sizeof u);
    u &= (lf_u4){~(1ull << 63), ~(1ull << 63), ~(1ull << 63), ~(1ull << 63)};
    memcpy(&a, &u, sizeof a);
    return a;
#endif
}

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
 * tiles form the products again (C driver, one thread, interleaved runs, us a problem:
 * n = 100, d = 20 58 -> 52; n = 1,000, d = 20 272 -> 184; n = 200, d = 12 27 -> 23;
 * n = 50, d = 24 42 -> 43). */
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
 * Inlined, one of a group's LF_ZGROUP accumulators was kept in memory (the solver's own
 * live values take registers), a store and load on the loop's critical path, 5 % of
 * W1's time; out of line it also contracts (LF_CONTRACT: W1 6 %, and at d = 2, n = 10,
 * 0.60 -> 0.47 us a problem, at d = 4 (W2) 5 %, with the call). */
LF_CLONES LF_CONTRACT __attribute__((noinline)) static void
lf_zderivs_call(const double *Z, const double *g, const double *h, int ld, double *G,
                double *A, int d)
{
    LF_PAIRS_SWITCH(d, lf_zderivs, Z, g, h, ld, G, A);
}

/* doubles of scratch needed for a problem of n observations and d parameters */
LF_INLINE size_t lf_glm_scratch_size(size_t n, size_t d)
{
    /* pair layout space for the largest problem that may use it (n <= LF_PAIRS_MAXN) */
    size_t maxn = LF_PAIRS_MAXN, nz = n < maxn ? n : maxn;
    size_t zs = lf_use_pairs(1, (int)d) ? (nz + 8) * (size_t)lf_zcols((int)d) : 0;
    size_t nb = n / LF_GLM_BLOCK + 2, nsb = n / LF_GLM_SUPER + 2;
    return (d + 8) * (n + 8) + 6 * d * d + 12 * d + 64 + zs + 2 * nb + nsb * (d * d + 2 * d) +
           8;   /* Z's alignment */
}

/* sum of a and sum of |a| over n = 8 m terms: eight interleaved partial sums (lanes
 * 0-3 and 4-7 of two vectors), added in a fixed tree */
LF_INLINE double lf_sum8(const double *restrict a, int n, double *abs_sum)
{
    lf_v4 s0 = lf_v4_zero(), s1 = lf_v4_zero(), t0 = lf_v4_zero(), t1 = lf_v4_zero();
    for (int i = 0; i < n; i += 8) {
        lf_v4 u = lf_v4_load(a + i), v = lf_v4_load(a + i + 4);
        s0 = lf_v4_add(s0, u);
        s1 = lf_v4_add(s1, v);
        t0 = lf_v4_add(t0, lf_v4_abs(u));
        t1 = lf_v4_add(t1, lf_v4_abs(v));
    }
    double s[8], t[8];
    lf_v4_store(s, s0); lf_v4_store(s + 4, s1);
    lf_v4_store(t, t0); lf_v4_store(t + 4, t1);
    *abs_sum = LF_RED8(t);
    return LF_RED8(s);
}

/* The family's terms.  lf_glm_family gives g = dl/deta and h = -d2l/deta2 (weighted);
 * where the values cost a transcendental per observation (the sigmoid families'
 * softplus, probit's log Phi) they are left to lf_glm_values, so that a trial point
 * whose step the derivative test accepts (lf_glm_fit_d) costs none; where they are
 * nearly free (poisson, gaussian: LF_VALUES_FUSED) lv is written in the same loop.
 * The expressions are those of one fused loop, so are the bits.  Both are out of line
 * (one copy per instruction set, not one per specialisation of the solver): the call
 * costs nothing next to a block of observations.
 * Sigmoid families: l = y x - t sp(x), g = y - t s(x), h = t s(x) (1 - s(x)), from
 * aux = e = exp(-|x|), computed in a loop of its own: each loop body is then short
 * enough for the out-of-order window to hold several vectors' dependency chains. */
#define LF_VALUES_FUSED(family) ((family) == LF_POISSON || (family) == LF_GAUSSIAN)
#define LF_SIGMOID_DERIV(TEXPR, XEXPR, WEXPR)                                \
    for (int i = 0; i < n; i++) {                                            \
        double x = (XEXPR);                                                  \
        aux[i] = lf_exp_neg(-fabs(x));                                       \
    }                                                                        \
    for (int i = 0; i < n; i++) {                                            \
        double yi = y[i];                                                    \
        double t = (TEXPR), x = (XEXPR);                                     \
        double e = aux[i];                                                   \
        double inv = 1.0 / (1.0 + e);                                        \
        double s = (x >= 0.0 ? 1.0 : e) * inv;                               \
        double v = e * inv * inv;                                            \
        double w = (WEXPR);                                                  \
        g[i] = w != 0.0 ? w * (yi - t * s) : 0.0;                            \
        h[i] = w != 0.0 ? w * t * v : 0.0;                                   \
    }
#define LF_SIGMOID_VALUE(TEXPR, XEXPR, WEXPR)                                \
    for (int i = 0; i < n; i++) {                                            \
        double yi = y[i];                                                    \
        double t = (TEXPR), x = (XEXPR);                                     \
        double w = (WEXPR);                                                  \
        double l = yi * x - t * lf_softplus_e(x, aux[i]);                    \
        lv[i] = w != 0.0 ? w * l : 0.0;                                      \
    }
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
#define LF_GAUSSIAN_BODY(WEXPR)                                              \
    for (int i = 0; i < n; i++) {                                            \
        double r = y[i] - eta[i];                                            \
        double w = (WEXPR);                                                  \
        lv[i] = w != 0.0 ? -0.5 * w * (r * r) * is2 : 0.0;                   \
        g[i] = w != 0.0 ? w * r * is2 : 0.0;                                 \
        h[i] = w != 0.0 ? w * is2 : 0.0;                                     \
    }
/* probit: l = log Phi(q x), g = q lambda(q x), h = lambda (lambda + q x), q = 2y - 1;
 * aux = h unweighted, for the line search's curvature bound */
#define LF_PROBIT_DERIV(WEXPR)                                               \
    for (int i = 0; i < n; i++) {                                            \
        double q = y[i] != 0.0 ? 1.0 : -1.0, lam, tail;                      \
        lf_log_ndtr(q * eta[i], &lam, &tail);                                \
        double c = lam * tail, w = (WEXPR);                                  \
        aux[i] = c;                                                          \
        g[i] = w != 0.0 ? w * q * lam : 0.0;                                 \
        h[i] = w != 0.0 ? w * c : 0.0;                                       \
    }
#define LF_PROBIT_VALUE(WEXPR)                                               \
    for (int i = 0; i < n; i++) {                                            \
        double lam, tail;                                                    \
        double z = (y[i] != 0.0 ? 1.0 : -1.0) * eta[i];                      \
        double l = lf_log_ndtr(z, &lam, &tail);                              \
        double w = (WEXPR);                                                  \
        lv[i] = w != 0.0 ? w * l : 0.0;                                      \
    }
/* separate loops with and without weights: a conditional load blocks vectorisation */
#define LF_WEIGHTED(BODY)                                                    \
    if (wt) { BODY(wt[i]) } else { BODY(1.0) }
#define LF_WEIGHTED_ARGS(BODY, ...)                                          \
    if (wt) { BODY(__VA_ARGS__, wt[i]) } else { BODY(__VA_ARGS__, 1.0) }

/* g and h at eta, with aux (sigmoid families) or lv (LF_VALUES_FUSED); pb->param is
 * log r for the negative binomial, lr = r */
LF_CLONES LF_CONTRACT __attribute__((noinline)) static void
lf_glm_family(const lf_glm_problem *pb, double lr, const double *restrict eta,
              double *restrict aux, double *restrict lv, double *restrict g,
              double *restrict h)
{
    const int n = pb->n;
    const double *restrict y = pb->y, *restrict wt = pb->wt, *restrict tr = pb->trials;
    switch (pb->family) {
    case LF_LOGISTIC: LF_WEIGHTED_ARGS(LF_SIGMOID_DERIV, 1.0, eta[i]); break;
    case LF_BINOMIAL: LF_WEIGHTED_ARGS(LF_SIGMOID_DERIV, tr[i], eta[i]); break;
    case LF_NEGBIN: LF_WEIGHTED_ARGS(LF_SIGMOID_DERIV, yi + lr, eta[i] - pb->param); break;
    case LF_POISSON: {
        /* lf_exp_normal first: lf_exp's bits where every e^eta is a normal number; the
         * terms are computed again with lf_exp when one is not (or eta is not finite) */
        long long outside = 0;
        LF_WEIGHTED(LF_POISSON_NORMAL);
        if (outside) { LF_WEIGHTED(LF_POISSON_GENERAL) }
        break;
    }
    case LF_GAUSSIAN: {
        double is2 = 1.0 / (pb->param * pb->param);
        LF_WEIGHTED(LF_GAUSSIAN_BODY);
        break;
    }
    case LF_PROBIT: LF_WEIGHTED(LF_PROBIT_DERIV); break;
    }
}

/* the weighted log-likelihood terms lv at eta of the families that lf_glm_family leaves
 * them to (not LF_VALUES_FUSED), from the aux it left; not unweighted logistic, whose
 * block sums lf_logistic_block_value forms without the terms */
LF_CLONES LF_CONTRACT __attribute__((noinline)) static void
lf_glm_values(const lf_glm_problem *pb, double lr, const double *restrict eta,
              const double *restrict aux, double *restrict lv)
{
    const int n = pb->n;
    const double *restrict y = pb->y, *restrict wt = pb->wt, *restrict tr = pb->trials;
    switch (pb->family) {
    case LF_LOGISTIC: LF_SIGMOID_VALUE(1.0, eta[i], wt[i]); break;     /* weighted */
    case LF_BINOMIAL: LF_WEIGHTED_ARGS(LF_SIGMOID_VALUE, tr[i], eta[i]); break;
    case LF_NEGBIN: LF_WEIGHTED_ARGS(LF_SIGMOID_VALUE, yi + lr, eta[i] - pb->param); break;
    case LF_PROBIT: LF_WEIGHTED(LF_PROBIT_VALUE); break;
    default: break;
    }
}

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

/* The unweighted logistic log-likelihood of one block of len <= LF_GLM_BLOCK rows, from
 * eta and aux = e = exp(-|eta|): the sum of (y x - max(x, 0)) - log1p(e), with the
 * log1p terms summed as one log of their product, log prod (1 + e_i): each factor is in
 * [1, 2], so the eight partial products stay below 2^32 and their product below 2^256.
 * *abs_sum bounds the magnitudes of the terms, plus len / 16 for the product's rounding
 * (the solver's noise, 4e-15 *abs_sum, then allows 2.5e-16 a row: above the 2^-52 a row,
 * one rounding of 1 + e and one of the product, that it can cost).  Lane k of the
 * partial sums takes the rows k mod 8, as in lf_sum8: the same bits for every SIMD
 * width.  NaN in eta gives NaN. */
LF_CLONES __attribute__((noinline)) static double
lf_logistic_block_value(const double *restrict y, const double *restrict eta,
                        const double *restrict e, int len, double *abs_sum)
{
    const lf_v4 one = lf_v4_set(1.0, 1.0, 1.0, 1.0);
    lf_v4 s[2] = {lf_v4_zero(), lf_v4_zero()}, a[2] = {lf_v4_zero(), lf_v4_zero()};
    lf_v4 p[2] = {one, one};
    double yt[8], xt[8], et[8];         /* the last rows, padded with neutral ones */
    const int full = len & ~7;
    for (int k = 0; k < 8; k++) {
        int in = full + k < len;
        yt[k] = in ? y[full + k] : 0.0;
        xt[k] = in ? eta[full + k] : 0.0;
        et[k] = in ? e[full + k] : 0.0;
    }
    for (int i = 0; i < len; i += 8) {
        const int tail = i == full;
        for (int hf = 0; hf < 2; hf++) {
            lf_v4 x = lf_v4_load(tail ? xt + 4 * hf : eta + i + 4 * hf);
            lf_v4 yv = lf_v4_load(tail ? yt + 4 * hf : y + i + 4 * hf);
            lf_v4 ev = lf_v4_load(tail ? et + 4 * hf : e + i + 4 * hf);
            lf_v4 u = lf_v4_sub(lf_v4_mul(yv, x), lf_v4_pos(x));
            s[hf] = lf_v4_add(s[hf], u);
            a[hf] = lf_v4_add(a[hf], lf_v4_abs(u));
            p[hf] = lf_v4_mul(p[hf], lf_v4_add(one, ev));
        }
    }
    double ss[8], aa[8], pp[8];
    lf_v4_store(ss, s[0]); lf_v4_store(ss + 4, s[1]);
    lf_v4_store(aa, a[0]); lf_v4_store(aa + 4, a[1]);
    lf_v4_store(pp, p[0]); lf_v4_store(pp + 4, p[1]);
    double prod = ((pp[0] * pp[4]) * (pp[2] * pp[6])) * ((pp[1] * pp[5]) * (pp[3] * pp[7]));
    double lg = prod == prod ? lf_log_pos(prod) : prod;     /* prod >= 1, or NaN */
    *abs_sum = (LF_RED8(aa) + lg) + len * (1.0 / 16.0);
    return LF_RED8(ss) - lg;
}

/* lf_log_pos out of line: a call that a loop branches around rather than computes */
__attribute__((noinline)) static double lf_log_pos_call(double x) { return lf_log_pos(x); }

/* The solver's start: one iteratively reweighted least squares step from fitted means
 * made of the data (McCullagh & Nelder, Generalized Linear Models, 2nd ed., sec. 2.5;
 * the means of R's glm families): mu0 = y + 0.1 (poisson, negative binomial),
 * (y + 1/2) / 2 (logistic, probit), t (y + 1/2) / (t + 1) (binomial), y (gaussian).
 * With eta0 = link(mu0), IRLS weight h0 and working response z0 = eta0 + (y - mu0)
 * deta/dmu, this writes h = wt h0 and g = wt h0 z0 - h offset; the start is then
 * (X^T H X + P)^-1 (X^T g + P m).  Elementwise and branch-free (vectorises), but for
 * the count families' table lookups.
 * Returns 1 when some h > 0 (the data say something), else 0. */
#define LF_START_LN3 1.0986122886681098      /* logit(3/4) */
#define LF_START_Q 0.6744897501960817        /* probit(3/4) */
#define LF_START_PHIQ 0.317776572684107      /* standard normal density at Q */
#define LF_START_TERMS(E0, H0, R0, WEXPR)                                    \
    for (int i = 0; i < n; i++) {                                            \
        double yi = y[i], w = (WEXPR);                                       \
        double e0 = (E0), h0 = (H0);                                         \
        double hi = w * h0;                                                  \
        h[i] = hi;                                                           \
        g[i] = w * (R0) + hi * e0;                                           \
        any |= hi > 0.0;                                                     \
    }
LF_CLONES __attribute__((noinline)) static int
lf_glm_start_terms(const lf_glm_problem *pb, double lr, double *restrict g,
                   double *restrict h)
{
    const int n = pb->n;
    const double *restrict y = pb->y, *restrict wt = pb->wt, *restrict tr = pb->trials;
    const double *restrict off = pb->off;
    int any = 0;
    switch (pb->family) {
    case LF_LOGISTIC:       /* mu0 = 1/4, 3/4; h0 = mu0 (1 - mu0); R0 = y - mu0 */
        LF_WEIGHTED_ARGS(LF_START_TERMS, yi != 0.0 ? LF_START_LN3 : -LF_START_LN3, 0.1875,
                         yi - (0.25 + 0.5 * yi));
        break;
    case LF_PROBIT:         /* h0 = phi^2 / v, R0 = (y - mu0) phi / v, v = mu0 (1 - mu0) */
        LF_WEIGHTED_ARGS(LF_START_TERMS, yi != 0.0 ? LF_START_Q : -LF_START_Q,
                         (LF_START_PHIQ * LF_START_PHIQ) / 0.1875,
                         (yi - (0.25 + 0.5 * yi)) * (LF_START_PHIQ / 0.1875));
        break;
    case LF_BINOMIAL: {     /* p0 = (y + 1/2) / (t + 1); h0 = t p0 (1 - p0); R0 = y - t p0 */
#define LF_P0 ((yi + 0.5) / (tr[i] + 1.0))
        LF_WEIGHTED_ARGS(LF_START_TERMS,
                         lf_log_pos(yi + 0.5) - lf_log_pos((tr[i] - yi) + 0.5),
                         tr[i] * LF_P0 * (1.0 - LF_P0), yi - tr[i] * LF_P0);
#undef LF_P0
        break;
    }
    case LF_POISSON: case LF_NEGBIN: {
        /* eta0 = log(y + 0.1), first into g: from a table for counts below
         * LF_LOGFACT_N (a lookup, not a series a row), lf_log_pos for the others */
        for (int i = 0; i < n; i++) {
            double yi = y[i];
            g[i] = yi < LF_LOGFACT_N ? lf_logy01_table[(int)yi] : lf_log_pos_call(yi + 0.1);
        }
        if (pb->family == LF_POISSON) {     /* h0 = mu0; R0 = y - mu0 */
            LF_WEIGHTED_ARGS(LF_START_TERMS, g[i], yi + 0.1, -0.1);
        } else {    /* h0 = r mu0 / (r + mu0); R0 = r (y - mu0) / (r + mu0) */
            LF_WEIGHTED_ARGS(LF_START_TERMS, g[i], lr * (yi + 0.1) / (lr + (yi + 0.1)),
                             -0.1 * lr / (lr + (yi + 0.1)));
        }
        break;
    }
    case LF_GAUSSIAN: {     /* mu0 = y: h0 = 1 / sigma^2, R0 = 0 */
        double is2 = 1.0 / (pb->param * pb->param);
        LF_WEIGHTED_ARGS(LF_START_TERMS, yi, is2, 0.0);
        break;
    }
    }
    /* the offsets in a loop of their own: a conditional load in the loop above made gcc
     * run it scalar, 8x slower */
    if (off)
        for (int i = 0; i < n; i++) g[i] -= h[i] * off[i];
    return any;
}

/* 1 when the weighted log-likelihood terms of a sigmoid family or probit at eta are
 * certainly finite and so is every partial sum of them: |y x - t sp(x)| <= (|y| + t)
 * (|x| + 1) (sp(x) <= |x| + log 2); -log Phi(z) <= z^2/2 + |z| + 1 (below log 2 for
 * z > 0; for z = -x <= 0 it is x^2/2 + log sqrt(2 pi) + log(x + tau(x)), tau <= 0.8,
 * and log u <= u - 1); and the sum of these bounds, plus cq, is finite and at most
 * 1e300.  0 when it is not, and for the other families.  Eight partial sums, so that the
 * additions do not wait for each other; the order does not matter (a bound).  Lets the
 * solver leave the value at the start until it is needed (lf_glm_fit_d). */
#define LF_SIGMOID_BOUND_TERM(TEXPR, XEXPR, WEXPR, K)                        \
    {                                                                        \
        double yi = y[i];                                                    \
        double t = (TEXPR), x = (XEXPR), w = (WEXPR);                        \
        s[K] += w * ((fabs(yi) + t) * (fabs(x) + 1.0));                      \
    }
/* TERM(..., k) for i < n into the partial sums s[k], k = i mod 8 (the last n mod 8 into
 * s[0]) */
#define LF_EIGHT_SUMS(TERM, A, B, C)                                         \
    for (int i8 = 0; i8 < (n & ~7); i8 += 8)                                 \
        for (int k = 0; k < 8; k++) {                                        \
            int i = i8 + k;                                                  \
            TERM(A, B, C, k)                                                 \
        }                                                                    \
    for (int i = n & ~7; i < n; i++) TERM(A, B, C, 0)
#define LF_SIGMOID_BOUND(TEXPR, XEXPR, WEXPR)                                \
    LF_EIGHT_SUMS(LF_SIGMOID_BOUND_TERM, TEXPR, XEXPR, WEXPR)
#define LF_PROBIT_BOUND_TERM(UNUSED1, UNUSED2, WEXPR, K)                    \
    {                                                                        \
        double x = eta[i], w = (WEXPR);                                      \
        s[K] += w * ((0.5 * (x * x) + fabs(x)) + 1.0);                       \
    }
#define LF_PROBIT_BOUND(WEXPR) LF_EIGHT_SUMS(LF_PROBIT_BOUND_TERM, 0, 0, WEXPR)
LF_CLONES __attribute__((noinline)) static int
lf_glm_value_bounded(const lf_glm_problem *pb, double lr, const double *restrict eta,
                     double cq)
{
    const int n = pb->n;
    const double *restrict y = pb->y, *restrict wt = pb->wt, *restrict tr = pb->trials;
    double s[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    switch (pb->family) {
    case LF_LOGISTIC: LF_WEIGHTED_ARGS(LF_SIGMOID_BOUND, 1.0, eta[i]); break;
    case LF_BINOMIAL: LF_WEIGHTED_ARGS(LF_SIGMOID_BOUND, tr[i], eta[i]); break;
    case LF_NEGBIN: LF_WEIGHTED_ARGS(LF_SIGMOID_BOUND, yi + lr, eta[i] - pb->param); break;
    case LF_PROBIT: LF_WEIGHTED(LF_PROBIT_BOUND); break;
    default: return 0;
    }
    double b = LF_RED8(s) + fabs(cq);
    return b <= 1e300;   /* false for NaN */
}

/* A bound of the curvature of the log-likelihood on the segment from the point with
 * eta0 (aux0) to the one with eta1 (aux1): sum_i hmax_i (eta1_i - eta0_i)^2 >= -phi''
 * of the likelihood part of phi(u) = log post at eta0 + u (eta1 - eta0), hmax_i the
 * largest h_i on the segment.  Sigmoid families: h = wt t e / (1 + e)^2 with
 * e = exp(-|x|) (aux), increasing in e, and e / (1 + e)^2 <= min(e, 1/4); e is largest
 * at an end of the segment unless x changes sign on it (then 1, at x = 0).  Probit:
 * h = wt c(q eta), c(z) = lam(z) (lam(z) + z) (aux), which falls as z grows (lam is
 * convex: Sampford, Ann. Math. Statist. 24, 1953), so is largest at an end; the sum is
 * scaled by 1 + 1e-12 for the rounding of c (~1e-15 relative) and of the sum.  Eight
 * partial sums (a bound: their order does not matter).  HUGE_VAL for the other
 * families. */
#define LF_SIGMOID_CURV_TERM(TEXPR, SHIFT, WEXPR, K)                         \
    {                                                                        \
        double yi = y[i], e0 = aux0[i], e1 = aux1[i];                        \
        double x0 = eta0[i] - (SHIFT), x1 = eta1[i] - (SHIFT);               \
        double e = x0 * x1 > 0.0 ? (e0 > e1 ? e0 : e1) : 1.0;                \
        double dx = eta1[i] - eta0[i], w = (WEXPR);                          \
        (void)yi;                                                            \
        s[K] += w * ((TEXPR) * (e < 0.25 ? e : 0.25)) * (dx * dx);           \
    }
#define LF_SIGMOID_CURV(TEXPR, SHIFT, WEXPR)                                 \
    LF_EIGHT_SUMS(LF_SIGMOID_CURV_TERM, TEXPR, SHIFT, WEXPR)
LF_CLONES __attribute__((noinline)) static double
lf_glm_segment_curvature(const lf_glm_problem *pb, double lr, const double *restrict eta0,
                         const double *restrict aux0, const double *restrict eta1,
                         const double *restrict aux1)
{
    const int n = pb->n;
    const double *restrict y = pb->y, *restrict wt = pb->wt, *restrict tr = pb->trials;
    double s[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    switch (pb->family) {
    case LF_LOGISTIC: LF_WEIGHTED_ARGS(LF_SIGMOID_CURV, 1.0, 0.0); break;
    case LF_BINOMIAL: LF_WEIGHTED_ARGS(LF_SIGMOID_CURV, tr[i], 0.0); break;
    case LF_NEGBIN: LF_WEIGHTED_ARGS(LF_SIGMOID_CURV, yi + lr, pb->param); break;
    case LF_PROBIT:
        for (int i = 0; i < n; i++) {
            double dx = eta1[i] - eta0[i], c = aux0[i] > aux1[i] ? aux0[i] : aux1[i];
            s[i & 7] += (wt ? wt[i] : 1.0) * c * (dx * dx);
        }
        return LF_RED8(s) * (1.0 + 1e-12);
    default: return HUGE_VAL;
    }
    return LF_RED8(s);
}

/* Armijo's condition phi(1) >= phi(0) + c1 phi'(0) for a concave phi on [0, 1] from
 * a = phi'(0), b = phi'(1) and a bound K >= -phi'' (all finite), without the values:
 * phi' is nonincreasing and falls at most K per unit, so phi'(u) >= max(a - K u, b), and
 * phi(1) - phi(0) is at least the integral of that maximum (exact when phi' is that
 * maximum).  slack: as the derivative test's, the values' rounding level. */
LF_INLINE int lf_armijo_from_curvature(double a, double b, double K, double c1,
                                       double slack)
{
    if (!(K > 0.0 && K < HUGE_VAL)) return 0;
    double u = (a - b) / K;         /* where a - K u meets b */
    double low = u >= 1.0 ? a - 0.5 * K : 0.5 * u * (a + b) + (1.0 - u) * b;
    return low >= c1 * a - slack;
}

/* the data-only part of the log-likelihood (once per problem: out of line).  The
 * negative binomial's lgamma(y + r) first, in chunks that vectorise (lf_lgamma is
 * branch-free), then the terms summed in order (C driver, one thread, W2 data with
 * dispersion 0.5: 6.3 -> 2.5 us a problem, two thirds of it in glibc log before). */
#define LF_CONST_CHUNK 64
#define LF_NB_SHIFT_R 10.0     /* r from which lgamma(y + r) - lgamma(r) is one series */
LF_CLONES __attribute__((noinline)) static double lf_glm_constant(const lf_glm_problem *pb)
{
    const int n = pb->n;
    double c = 0.0;
    if (pb->family == LF_LOGISTIC || pb->family == LF_PROBIT) return c;   /* none */
    if (pb->family == LF_NEGBIN) {
        /* lgamma(y + r) - lgamma(r): for r >= LF_NB_SHIFT_R from one series
         * (lf_lgamma_shift), which stays accurate as r grows (the Poisson limit) */
        const double r = 1.0 / pb->param;
        const int big = r >= LF_NB_SHIFT_R;
        const double lgr = big ? 0.0 : lf_lgamma(r);
        const double log_r = big ? log(r) : 0.0, s_r = big ? lf_stirling_tail(r) : 0.0;
        double lg[LF_CONST_CHUNK];
        for (int i0 = 0; i0 < n; i0 += LF_CONST_CHUNK) {
            const int len = n - i0 < LF_CONST_CHUNK ? n - i0 : LF_CONST_CHUNK;
            const double *restrict y = pb->y + i0;
            if (big)
                for (int k = 0; k < len; k++) lg[k] = lf_lgamma_shift(r, y[k], log_r, s_r);
            else
                for (int k = 0; k < len; k++) lg[k] = lf_lgamma(y[k] + r);
            for (int k = 0; k < len; k++) {
                double w = pb->wt ? pb->wt[i0 + k] : 1.0;
                if (w != 0.0) c += w * ((lg[k] - lgr) - lf_logfact(y[k]));
            }
        }
        return c;
    }
    if (pb->family == LF_GAUSSIAN) {
        const double t = LF_HALF_LOG_2PI + log(pb->param);
        for (int i = 0; i < n; i++) {
            double w = pb->wt ? pb->wt[i] : 1.0;
            if (w != 0.0) c -= w * t;
        }
        return c;
    }
    if (pb->family == LF_POISSON && !pb->wt) {  /* the common case: four partial sums */
        const double *y = pb->y;
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
    for (int i = 0; i < n; i++) {
        double w = pb->wt ? pb->wt[i] : 1.0, y = pb->y[i], t;
        if (w == 0.0) continue;
        switch (pb->family) {
        case LF_POISSON: c -= w * lf_logfact(y); break;
        case LF_BINOMIAL:
            t = pb->trials[i];
            c += w * ((lf_logfact(t) - lf_logfact(y)) - lf_logfact(t - y));
            break;
        default: break;
        }
    }
    return c;
}

/* the observations c0 <= i < c0 + len of a problem, as a problem of their own */
LF_INLINE lf_glm_problem lf_glm_rows(const lf_glm_problem *pb, int c0, int len)
{
    lf_glm_problem sub = *pb;
    sub.n = len;
    sub.y = pb->y + c0;
    sub.wt = pb->wt ? pb->wt + c0 : NULL;
    sub.trials = pb->trials ? pb->trials + c0 : NULL;
    return sub;
}

/* eta = offset + X w for the rows c0 <= i < c0 + len (c0 a multiple of four) from Z's x
 * columns, four rows at a time; each lane is the row's sum off_i + x_i0 w_0 + x_i1 w_1
 * + ...  The last group may write up to three rows of padding (within ld, never read). */
LF_INLINE void lf_zeta(const double *restrict Z, const double *restrict w,
                       const double *restrict off, int c0, int len, double *restrict e,
                       const int d)
{
    const int NC = lf_zcols(d), NP = NC - d;
    const double *zx = Z + ((size_t)c0 / 4 * NC + NP) * 4;
    lf_v4 wv[LF_PAIRS_MAXD];
    for (int j = 0; j < d; j++) wv[j] = lf_v4_set(w[j], w[j], w[j], w[j]);
#define LF_ETA_GROUPS(START)                                                     \
    for (int i = 0; i < len; i += 4, zx += 4 * NC) {                             \
        lf_v4 t = (START);                                                       \
        for (int j = 0; j < d; j++)                                              \
            t = lf_v4_madd(t, lf_v4_load(zx + 4 * j), wv[j]);                    \
        lf_v4_store(e + i, t);                                                   \
    }
    if (!off) { LF_ETA_GROUPS(lf_v4_zero()) }
    else if (len % 4 == 0) { LF_ETA_GROUPS(lf_v4_load(off + i)) }
    else {
        LF_ETA_GROUPS(i + 4 <= len ? lf_v4_load(off + i) :
                      lf_v4_set(off[i], i + 1 < len ? off[i + 1] : 0.0,
                                i + 2 < len ? off[i + 2] : 0.0, 0.0))
    }
#undef LF_ETA_GROUPS
}

/* lf_zeta out of line and contracted (LF_CONTRACT), with d a compile-time constant */
LF_CLONES LF_CONTRACT __attribute__((noinline)) static void
lf_zeta_call(const double *Z, const double *w, const double *off, int c0, int len,
             double *e, int d)
{
    LF_PAIRS_SWITCH(d, lf_zeta, Z, w, off, c0, len, e);
}

/* one block of observations: eta = offset + X w and the family's aux, g and h; X is read
 * from Z's x columns in the pair layout (Z not NULL), else from Xt */
LF_INLINE void lf_glm_eval_block(const lf_glm_problem *pb, const double *Xt,
                                  const double *Z, double lr, const double *w, double *eta,
                                  double *aux, double *lv, double *g, double *h, int bk,
                                  const int d)
{
    const int n = pb->n, ld = lf_pad8(n), c0 = bk * LF_GLM_BLOCK;
    const int len = n - c0 < LF_GLM_BLOCK ? n - c0 : LF_GLM_BLOCK;
    double *restrict e = eta + c0;
    const double *restrict off = pb->off ? pb->off + c0 : NULL;
    if (Z) {
        lf_zeta_call(Z, w, off, c0, len, e, d);
    } else if (d <= LF_SPECIAL_MAXD) {
        /* one pass, each row's sum in a register (d is a compile-time constant in the
         * solver's specialisations, and the loop over j unrolls) */
#define LF_ETA_ROWS(START)                                                   \
        for (int i = 0; i < len; i++) {                                          \
            double t = (START);                                                  \
            for (int j = 0; j < d; j++) t += Xt[(size_t)j * ld + c0 + i] * w[j]; \
            e[i] = t;                                                            \
        }
        if (off) { LF_ETA_ROWS(off[i]) } else { LF_ETA_ROWS(0.0) }
#undef LF_ETA_ROWS
    } else {
        /* the same sums in the same order, a column at a time */
        if (off) for (int i = 0; i < len; i++) e[i] = off[i];
        else for (int i = 0; i < len; i++) e[i] = 0.0;
        for (int j = 0; j < d; j++) {
            const double *restrict xj = Xt + (size_t)j * ld + c0;
            double wj = w[j];
            for (int i = 0; i < len; i++) e[i] += xj[i] * wj;
        }
    }
    lf_glm_problem sub = lf_glm_rows(pb, c0, len);
    lf_glm_family(&sub, lr, e, aux + c0, lv + c0, g + c0, h + c0);
}

/* one block's log-likelihood sum and sum of magnitudes (the terms into lv, except for
 * unweighted logistic) */
LF_INLINE void lf_glm_value_block(const lf_glm_problem *pb, double lr, const double *eta,
                                   const double *aux, double *lv, int bk, double *bsum,
                                   double *babs)
{
    const int n = pb->n, ld = lf_pad8(n), c0 = bk * LF_GLM_BLOCK;
    const int len = n - c0 < LF_GLM_BLOCK ? n - c0 : LF_GLM_BLOCK;
    const int lenp = ld - c0 < LF_GLM_BLOCK ? ld - c0 : LF_GLM_BLOCK;
    if (pb->family == LF_LOGISTIC && !pb->wt) {
        bsum[bk] = lf_logistic_block_value(pb->y + c0, eta + c0, aux + c0, len, babs + bk);
        return;
    }
    lf_glm_problem sub = lf_glm_rows(pb, c0, len);
    if (!LF_VALUES_FUSED(pb->family)) lf_glm_values(&sub, lr, eta + c0, aux + c0, lv + c0);
    bsum[bk] = lf_sum8(lv + c0, lenp, babs + bk);
}

/* Out-of-line copies, compiled per instruction set, of the work that one large problem
 * shares among threads (pb->nt > 1): GCC outlines the body of an OpenMP region into a
 * function of its own, compiled for the baseline instruction set even inside a
 * target_clones function, so a region's body calls these (which run the clone of the
 * CPU: W4's fit was no faster on two threads than on one, until they did).  The one
 * region left in line, lf_glm_fit_d's transpose of X, is bound by memory. */
LF_CLONES __attribute__((noinline)) static void
lf_glm_eval_block_mt(const lf_glm_problem *pb, const double *Z, double lr, const double *w,
                     double *eta, double *aux, double *lv, double *g, double *h, int bk,
                     int d)
{
    lf_glm_eval_block(pb, NULL, Z, lr, w, eta, aux, lv, g, h, bk, d);   /* pair layout */
}

LF_CLONES __attribute__((noinline)) static void
lf_glm_value_block_mt(const lf_glm_problem *pb, double lr, const double *eta,
                      const double *aux, double *lv, int bk, double *bsum, double *babs)
{
    lf_glm_value_block(pb, lr, eta, aux, lv, bk, bsum, babs);
}

/* r = w - m and pr = P r; returns q = r . pr */
LF_INLINE double lf_glm_prior_terms(const lf_glm_problem *pb, const double *w,
                                    double *restrict r, double *restrict pr, const int d)
{
    double q = 0.0;
    for (int j = 0; j < d; j++) r[j] = w[j] - pb->m[j];
    for (int j = 0; j < d; j++) {
        double t = 0.0;
        for (int k = 0; k < d; k++) t += pb->P[j * d + k] * r[k];
        pr[j] = t;
        q += r[j] * t;
    }
    return q;
}

/* The derivative terms at w in the pair layout (Z): eta, aux, g and h into scratch,
 * r = w - m and pr = P r; returns q = r . pr.  The observations are taken in blocks of
 * LF_GLM_BLOCK (in parallel when pb->nt > 1).  With X transposed the solver evaluates
 * through lf_glm_eval_derivs instead. */
LF_INLINE double lf_glm_eval(const lf_glm_problem *pb, const double *Z, double lr,
                             const double *w, double *eta, double *aux, double *lv,
                             double *g, double *h, double *restrict r, double *restrict pr,
                             const int d, const int small)
{
    const int nb = (lf_pad8(pb->n) + LF_GLM_BLOCK - 1) / LF_GLM_BLOCK;
    if (!small && pb->nt > 1) {
        #pragma omp parallel for num_threads(pb->nt) schedule(static)
        for (int bk = 0; bk < nb; bk++)
            lf_glm_eval_block_mt(pb, Z, lr, w, eta, aux, lv, g, h, bk, d);
    } else {
        for (int bk = 0; bk < nb; bk++)
            lf_glm_eval_block(pb, NULL, Z, lr, w, eta, aux, lv, g, h, bk, d);
    }
    return lf_glm_prior_terms(pb, w, r, pr, d);
}

/* log post at the point whose eta and aux lf_glm_eval left (q: what it returned); lv is
 * scratch, except for the LF_VALUES_FUSED families, whose lv the latest lf_glm_eval
 * wrote: for them the point must be that one's.  *noise bounds the rounding error of
 * the value (a few ulps of the sum of the magnitudes of its terms).  Block sums are
 * added in block order, whatever the thread count. */
LF_INLINE double lf_glm_value(const lf_glm_problem *pb, double lr, double cconst, double q,
                              const double *eta, const double *aux, double *lv,
                              double *bsum, double *noise, const int small)
{
    const int nb = (lf_pad8(pb->n) + LF_GLM_BLOCK - 1) / LF_GLM_BLOCK;
    double *babs = bsum + nb;
    if (!small && pb->nt > 1) {
        #pragma omp parallel for num_threads(pb->nt) schedule(static)
        for (int bk = 0; bk < nb; bk++)
            lf_glm_value_block_mt(pb, lr, eta, aux, lv, bk, bsum, babs);
    } else {
        for (int bk = 0; bk < nb; bk++)
            lf_glm_value_block(pb, lr, eta, aux, lv, bk, bsum, babs);
    }
    double ll = 0.0, labs = 0.0;
    for (int bk = 0; bk < nb; bk++) { ll += bsum[bk]; labs += babs[bk]; }
    *noise = 4e-15 * (labs + fabs(cconst) + 0.5 * fabs(q));
    return (ll + cconst) - 0.5 * q;
}

/* S[j d + k] += sum_i v_i x_ij x_ik (k <= j) over the rows c0 <= i < c0 + len (a
 * multiple of four) of X transposed (Xt, d rows of ld): 4 x 2 register tiles (the four
 * products v x_j of a tile's rows serve two columns k), one vector accumulator per sum
 * with a lane per row mod 4, its lanes added (l0 + l2) + (l1 + l3).  Each column of X
 * is loaded once per tile, not once per sum: 1.7x the throughput of dot products at
 * d = 50 (the block's X sits in L2, whose bandwidth bounded them). */
LF_INLINE void lf_hess_tiles(const double *restrict Xt, size_t ld, const double *restrict v,
                             int c0, int len, int d, double *restrict S)
{
    for (int j0 = 0; j0 < d; j0 += 4) {
        /* rows past d repeat row j0; their sums are not kept */
        const double *p0 = Xt + (size_t)j0 * ld + c0;
        const double *p1 = j0 + 1 < d ? p0 + ld : p0, *p2 = j0 + 2 < d ? p0 + 2 * ld : p0;
        const double *p3 = j0 + 3 < d ? p0 + 3 * ld : p0;
        for (int k0 = 0; k0 < j0 + 4 && k0 < d; k0 += 2) {
            const double *q0 = Xt + (size_t)k0 * ld + c0, *q1 = k0 + 1 < d ? q0 + ld : q0;
            lf_v4 a0 = lf_v4_zero(), a1 = a0, a2 = a0, a3 = a0;
            lf_v4 b0 = a0, b1 = a0, b2 = a0, b3 = a0;
            for (int i = 0; i < len; i += 4) {
                lf_v4 h = lf_v4_load(v + c0 + i);
                lf_v4 x = lf_v4_load(q0 + i), y = lf_v4_load(q1 + i);
                lf_v4 u0 = lf_v4_mul(h, lf_v4_load(p0 + i));
                lf_v4 u1 = lf_v4_mul(h, lf_v4_load(p1 + i));
                lf_v4 u2 = lf_v4_mul(h, lf_v4_load(p2 + i));
                lf_v4 u3 = lf_v4_mul(h, lf_v4_load(p3 + i));
                a0 = lf_v4_madd(a0, u0, x);
                b0 = lf_v4_madd(b0, u0, y);
                a1 = lf_v4_madd(a1, u1, x);
                b1 = lf_v4_madd(b1, u1, y);
                a2 = lf_v4_madd(a2, u2, x);
                b2 = lf_v4_madd(b2, u2, y);
                a3 = lf_v4_madd(a3, u3, x);
                b3 = lf_v4_madd(b3, u3, y);
            }
            double t[8];
            lf_v4_store(t, lf_v4_hsum4(a0, a1, a2, a3));
            lf_v4_store(t + 4, lf_v4_hsum4(b0, b1, b2, b3));
            for (int u = 0; u < 4; u++)
                for (int c = 0; c < 2; c++) {
                    int j = j0 + u, k = k0 + c;
                    if (j < d && k <= j) S[j * d + k] += t[4 * c + u];
                }
        }
    }
}

/* One superblock's sums, blocks of LF_GLM_BLOCK added in order: the lower triangle of
 * the Hessian sums h x_j x_k (d x d, row-major) in S, the gradient sums g x_k in
 * S + d d, then d of scratch.  With w given, each block's eta and terms (g, h) are
 * formed first (lf_glm_eval_block), so that one pass over X serves the evaluation and
 * its derivatives while the block's rows are in cache; with w NULL, g and h are those
 * already in scratch (the solver's start). */
LF_INLINE void lf_glm_super(const lf_glm_problem *pb, const double *Xt, double lr,
                            const double *w, double *eta, double *aux, double *lv,
                            double *g, double *h, int sb, double *S, const int d)
{
    const int ld = lf_pad8(pb->n);
    double *Sg = S + d * d, *o = Sg + d;
    for (int j = 0; j < d * d + d; j++) S[j] = 0.0;
    const int end = (sb + 1) * LF_GLM_SUPER < ld ? (sb + 1) * LF_GLM_SUPER : ld;
    for (int c0 = sb * LF_GLM_SUPER; c0 < end; c0 += LF_GLM_BLOCK) {
        int len = ld - c0 < LF_GLM_BLOCK ? ld - c0 : LF_GLM_BLOCK;
        if (w)
            lf_glm_eval_block(pb, Xt, NULL, lr, w, eta, aux, lv, g, h, c0 / LF_GLM_BLOCK, d);
        lf_hess_tiles(Xt, (size_t)ld, h, c0, len, d, S);
        lf_dots(g + c0, Xt + c0, (size_t)ld, d, len, o);
        for (int k = 0; k < d; k++) Sg[k] += o[k];
    }
}

/* lf_glm_super out of line, for lf_glm_super_all's threads (see lf_glm_eval_block_mt)
 * and its serial loop alike: in line in the solver, the superblock's loops competed for
 * registers with the solver's own (C driver, one thread: n = 100, d = 12 14.6 -> 12.4
 * us a problem; n = 200, d = 20 44.4 -> 41.3) */
LF_CLONES __attribute__((noinline)) static void
lf_glm_super_call(const lf_glm_problem *pb, const double *Xt, double lr, const double *w,
                  double *eta, double *aux, double *lv, double *g, double *h, int sb,
                  double *S, int d)
{
    lf_glm_super(pb, Xt, lr, w, eta, aux, lv, g, h, sb, S, d);
}

/* lf_glm_super over all superblocks (in parallel when pb->nt > 1); their sums added in
 * order into G and A's lower half */
LF_INLINE void lf_glm_super_all(const lf_glm_problem *pb, const double *Xt, double lr,
                                const double *w, double *eta, double *aux, double *lv,
                                double *g, double *h, double *sbuf, double *G, double *A,
                                const int d)
{
    const int ld = lf_pad8(pb->n), nsb = (ld + LF_GLM_SUPER - 1) / LF_GLM_SUPER;
    const int ss = d * d + 2 * d;
    if (pb->nt > 1) {
        #pragma omp parallel for num_threads(pb->nt) schedule(dynamic, 1)
        for (int sb = 0; sb < nsb; sb++)
            lf_glm_super_call(pb, Xt, lr, w, eta, aux, lv, g, h, sb, sbuf + (size_t)sb * ss,
                              d);
    } else {
        for (int sb = 0; sb < nsb; sb++)
            lf_glm_super_call(pb, Xt, lr, w, eta, aux, lv, g, h, sb, sbuf + (size_t)sb * ss,
                              d);
    }
    for (int j = 0; j < d * d; j++) A[j] = 0.0;
    for (int j = 0; j < d; j++) G[j] = 0.0;
    for (int sb = 0; sb < nsb; sb++) {
        const double *S = sbuf + (size_t)sb * ss;
        for (int j = 0; j < d * d; j++) A[j] += S[j];
        for (int j = 0; j < d; j++) G[j] += S[d * d + j];
    }
}

/* the prior's part of the gradient and negative Hessian: G -= pr, A's lower half += P,
 * and A made full symmetric */
LF_INLINE void lf_glm_add_prior(const double *pr, const double *restrict P, double *G,
                                double *A, const int d)
{
    for (int j = 0; j < d; j++) {
        G[j] -= pr[j];
        for (int k = 0; k <= j; k++) {
            double a = A[j * d + k] + P[j * d + k];
            A[j * d + k] = a;
            A[k * d + j] = a;
        }
    }
}

/* gradient G and negative Hessian A (full symmetric) of log post, from the g, h and
 * pr = P (w - m) that lf_glm_eval left, and the prior precision P (symmetric) */
LF_INLINE void lf_glm_derivs(const lf_glm_problem *pb, const double *Xt, const double *Z,
                             double *g, double *h, const double *pr,
                             const double *restrict P, double *sbuf, double *G, double *A,
                             const int d, const int small)
{
    if (small || Z) {
        lf_zderivs_call(Z, g, h, lf_pad8(pb->n), G, A, d);    /* G and A's lower half */
    } else {
        lf_glm_super_all(pb, Xt, 0.0, NULL, NULL, NULL, NULL, g, h, sbuf, G, A, d);
    }
    lf_glm_add_prior(pr, P, G, A, d);
}

/* lf_glm_eval followed by lf_glm_derivs at the same point, for the layout with X
 * transposed (no pairs): one pass over X (lf_glm_super with w) instead of three (the
 * eval and the gradient passes are bound by memory on large problems: W4's Newton
 * iteration took 28 ms on two threads, 16 of them the Hessian).  The sums, and their
 * order, are those of the two calls, so are the bits. */
LF_INLINE double lf_glm_eval_derivs(const lf_glm_problem *pb, const double *Xt, double lr,
                                    const double *w, double *eta, double *aux, double *lv,
                                    double *g, double *h, double *restrict r,
                                    double *restrict pr, double *sbuf, double *G, double *A,
                                    const int d)
{
    lf_glm_super_all(pb, Xt, lr, w, eta, aux, lv, g, h, sbuf, G, A, d);
    double q = lf_glm_prior_terms(pb, w, r, pr, d);
    lf_glm_add_prior(pr, pb->P, G, A, d);
    return q;
}

/* Bits that are all zero when every a[i] is finite: x - x is +0 for a finite x and NaN
 * for inf and NaN; OR-ing the differences' bits vectorises to a subtract and an or. */
LF_INLINE uint64_t lf_nonfinite_bits(const double *restrict a, size_t n)
{
    uint64_t u = 0;
    for (size_t i = 0; i < n; i++) u |= lf_asu64(a[i] - a[i]);
    return u;
}

LF_INLINE int lf_all_finite(const double *a, int n)
{
    return lf_nonfinite_bits(a, (size_t)n) == 0;
}

/* The screen of status 3 and the divergence test for the final eta: 1 when
 * separation-like (every weighted row classified with a margin; for counts, every
 * weighted count 0) or a linear predictor is extreme; *witness: separation-like (once
 * per problem: out of line) */
LF_CLONES __attribute__((noinline)) static int
lf_glm_extreme(const lf_glm_problem *pb, const double *eta, int *witness)
{
    int extreme = 0, sep = 1, any = 0;
    const int n = pb->n;
    switch (pb->family) {
    case LF_LOGISTIC: case LF_PROBIT: case LF_BINOMIAL:
        if (!pb->wt && !pb->off && pb->family != LF_BINOMIAL) {   /* the common case */
            const double *restrict y = pb->y;
            any = n > 0;
            for (int i = 0; i < n; i++) {   /* & not &&: no branches, it vectorises */
                double e = eta[i];
                extreme |= fabs(e) > LF_GLM_EXTREME;
                sep &= ((y[i] == 0.0) & (e < 0.0)) | ((y[i] == 1.0) & (e > 0.0));
            }
            break;
        }
        for (int i = 0; i < n; i++) {
            double w = pb->wt ? pb->wt[i] : 1.0;
            double e = eta[i], y = pb->y[i];
            double xw = pb->off ? e - pb->off[i] : e;   /* the part the parameters set */
            double t = pb->family == LF_BINOMIAL ? pb->trials[i] : 1.0;
            int on = w != 0.0;
            any |= on;
            extreme |= on & (fabs(e) > LF_GLM_EXTREME);
            sep &= !on | (y == 0.0 && xw < 0.0) | (y == t && xw > 0.0);
        }
        break;
    case LF_POISSON: case LF_NEGBIN:    /* all counts 0: the likelihood's mode is at -inf */
        for (int i = 0; i < n; i++) {
            double w = pb->wt ? pb->wt[i] : 1.0;
            int on = w != 0.0;
            any |= on;
            extreme |= on & (eta[i] < -LF_GLM_EXTREME);
            sep &= !on | (pb->y[i] == 0.0);
        }
        break;
    default:
        sep = 0;
    }
    *witness = any && sep;
    return extreme || (any && sep);
}

/* The skewness bound of status 3 at the mode:
 *   kappa = sum_i wt_i |l_i'''(eta_i)| s_i^3,   s_i^2 = x_i' cov x_i,
 * s_i the posterior standard deviation of x_i . w.  In the coordinates z in which the
 * Laplace Gaussian is standard, the third derivative of the log likelihood along a unit
 * direction u is sum_i wt_i l_i''' (c_i . u)^3 with |c_i . u| <= |c_i| = s_i, so kappa
 * bounds it: the log posterior's departure from the Gaussian's quadratic over one
 * standard deviation.  |l'''|: t s (1 - s) |1 - 2 s| = t e (1 - e) / (1 + e)^3, e =
 * exp(-|x|), for the sigmoid families (t: 1, trials, y + r; x = eta, or eta - log r);
 * mu for poisson; |lambda - h (lambda + tail)| for probit (h = lambda tail, the
 * derivative of h in z = q eta); 0 for gaussian.  Calibrated against importance
 * sampling from the Gaussian (bench/calibrate_extreme.py): Pareto k-hat of the weights
 * up to 0.67 where kappa <= LF_GLM_SKEW_MAX, 0.56 to 0.92 above it.  pb->param is log r
 * for the negative binomial, lr = r.  Once per screened problem: out of line. */
#define LF_GLM_SKEW_MAX 2.0
LF_CLONES __attribute__((noinline)) static double
lf_glm_skew(const lf_glm_problem *pb, double lr, const double *eta, const double *cov)
{
    const int n = pb->n, d = pb->d;
    double kappa = 0.0;
    for (int i = 0; i < n; i++) {
        double w = pb->wt ? pb->wt[i] : 1.0, t3;
        if (w == 0.0) continue;
        const double *x = pb->X + (size_t)i * d;
        double s2 = 0.0;
        for (int j = 0; j < d; j++) {
            double t = 0.0;
            for (int k = 0; k < d; k++) t += cov[j * d + k] * x[k];
            s2 += x[j] * t;
        }
        switch (pb->family) {
        case LF_PROBIT: {
            double lam, tail;
            lf_log_ndtr((pb->y[i] != 0.0 ? 1.0 : -1.0) * eta[i], &lam, &tail);
            t3 = fabs(lam - (lam * tail) * (lam + tail));
            break;
        }
        case LF_POISSON: t3 = lf_exp(eta[i]); break;
        case LF_GAUSSIAN: t3 = 0.0; break;
        default: {
            double t = pb->family == LF_LOGISTIC ? 1.0 :
                       pb->family == LF_BINOMIAL ? pb->trials[i] : pb->y[i] + lr;
            double u = pb->family == LF_NEGBIN ? eta[i] - pb->param : eta[i];
            double e = lf_exp_neg(-fabs(u)), p = 1.0 + e;
            t3 = t * (e * (1.0 - e)) / (p * p * p);
        }
        }
        kappa += s2 > 0.0 ? w * t3 * (s2 * sqrt(s2)) : 0.0;
    }
    return kappa;
}

/* The prior's normalising constant -d/2 log 2 pi + 1/2 log det P (NaN when P fails the
 * factorisation), for lf_glm_problem.prior_const: the caller computes it once per
 * distinct prior.  W: d^2 + d doubles. */
static double lf_glm_prior_const(const double *P, int d, double *W)
{
    double minpiv, lpc = NAN;
    if (lf_ldl(P, d, 0.0, 0.0, W, W + d * d, &minpiv) == 0) lpc = 0.5 * lf_ldl_logdet(W, d);
    return lpc - d * LF_HALF_LOG_2PI;
}

/* Fit one problem of d = pb->d parameters.  In the specialisations of lf_glm_fit_one,
 * d is a compile-time constant and small = 1: the problem uses the pair layout and one
 * thread, so only that path is compiled.  Returns the status. */
LF_INLINE int lf_glm_fit_d(const lf_glm_problem *pb, lf_glm_out *out, double *scratch,
                           const int d, const int small)
{
    const int n = pb->n, ld = lf_pad8(n);
    double *Xt = scratch;           /* X transposed; not used in the pair layout (Z) */
    /* eta and aux of the current point (index cur) and of the trial point (1 - cur) */
    double *eta_[2] = {Xt + (size_t)d * ld, Xt + (size_t)(d + 1) * ld};
    double *aux_[2] = {eta_[1] + ld, eta_[1] + 2 * ld};
    double *lv = aux_[1] + ld, *g = lv + ld, *h = g + ld;
    /* A: the current point's negative Hessian; At: the trial point's */
    double *A = h + ld, *Lf = A + d * d, *Wk = Lf + d * d, *At = Wk + d * d + d;
    double *G = At + d * d, *Gt = G + d, *delta = Gt + d, *w = delta + d, *wt = w + d;
    double *r = wt + d;
    double *pr = r + d, *bsum = pr + d;                    /* block sums, 2 per block */
    double *sbuf = bsum + 2 * (n / LF_GLM_BLOCK + 2);      /* superblock partials */
    /* Z at a multiple of eight doubles: on a cache line when scratch is (lf_scratch.h) */
    const size_t zoff = (size_t)(sbuf - scratch) +
                        (size_t)(n / LF_GLM_SUPER + 2) * (d * d + 2 * d);
    double *Z = !lf_use_pairs(n, d) ? NULL : pb->Z ? pb->Z : scratch + lf_round8(zoff);
    const double nan_ = NAN;
    int status = LF_OK, it = 0, nfev = 0, full_prev = 0;
    double step_shift = 1.0;
    double rel_prev = HUGE_VAL;

    if (Z) {
        if (!pb->zready) lf_zbuild_rows(pb->X, n, 0, ld / 4, Z, d);   /* pairs and rows */
    } else {
        if (pb->nt > 1) {
            #pragma omp parallel for num_threads(pb->nt) schedule(static)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < d; j++) Xt[(size_t)j * ld + i] = pb->X[(size_t)i * d + j];
        } else {
            for (int i = 0; i < n; i++)
                for (int j = 0; j < d; j++) Xt[(size_t)j * ld + i] = pb->X[(size_t)i * d + j];
        }
        for (int j = 0; j < d; j++)
            for (int i = n; i < ld; i++) Xt[(size_t)j * ld + i] = 0.0;
    }
    for (int i = n; i < ld; i++) lv[i] = g[i] = h[i] = 0.0;

    /* normalising constants: data part and the prior's -d/2 log 2 pi + 1/2 log det P */
    double minpiv = 0.0;
    double cconst = lf_glm_constant(pb) + pb->prior_const;
    double lr = pb->family == LF_NEGBIN ? 1.0 / pb->param : 0.0;
    lf_glm_problem q = *pb;
    if (pb->family == LF_NEGBIN) q.param = log(lr);    /* the kernel wants log r */

    /* The start: one IRLS step from the data's means (lf_glm_start_terms), which saves
     * Newton iterations and most step halvings; the prior mean when the data say nothing
     * (all weights 0), when that step's matrix fails the pivot test or the step is not
     * finite, or (below) when the log joint or its derivatives are not finite there. */
    int from_data = lf_glm_start_terms(&q, lr, g, h);
    if (from_data) {
        for (int j = 0; j < d; j++) {
            double t = 0.0;
            for (int k = 0; k < d; k++) t += pb->P[j * d + k] * pb->m[k];
            pr[j] = -t;                 /* so that G = X^T g + P m */
        }
        lf_glm_derivs(&q, Xt, Z, g, h, pr, pb->P, sbuf, G, A, d, small);
        for (int j = 0; j < d; j++) w[j] = G[j];
        from_data = lf_ldl_factor_solve(A, d, 0.0, 1e-15, Lf, Wk, &minpiv, w) == 0 &&
                    lf_all_finite(w, d);
        lf_zjob_step(pb->zjob, LF_ZJOB_GROUPS, d);     /* in the factorisation's stalls */
    }
    if (!from_data)
        for (int j = 0; j < d; j++) w[j] = pb->m[j];
    int cur = 0, known;               /* known: L and Lnoise are those of the current w */
    /* trial steps are tested on phi' first where the values cost a transcendental per
     * observation (softplus, log Phi), on the values first where they are nearly free */
    const int deriv_first = !LF_VALUES_FUSED(pb->family);
    double qc, qt, L = 0.0, Lnoise = 0.0, Ltnoise = 0.0;
    /* with X transposed, each evaluation is one pass over X that gives the derivatives
     * too (the values-first families use them when the step is accepted, almost always) */
    const int fused = !small && !Z;
    for (;;) {
        if (fused)
            qc = lf_glm_eval_derivs(&q, Xt, lr, w, eta_[0], aux_[0], lv, g, h, r, pr, sbuf,
                                    G, A, d);
        else
            qc = lf_glm_eval(&q, Z, lr, w, eta_[0], aux_[0], lv, g, h, r, pr, d, small);
        nfev++;
        /* The value at the start: the sigmoid families and probit leave it until a line
         * search or the end needs it, when a bound shows it is finite; otherwise it is
         * computed now.  If it is not finite at the prior mean the fit stops (status -3). */
        known = !lf_glm_value_bounded(&q, lr, eta_[0], fabs(cconst) + 0.5 * fabs(qc));
        if (known)
            L = lf_glm_value(&q, lr, cconst, qc, eta_[0], aux_[0], lv, bsum, &Lnoise, small);
        int fine = !known || isfinite(L);
        if (fine) {
            if (!fused) lf_glm_derivs(&q, Xt, Z, g, h, pr, pb->P, sbuf, G, A, d, small);
            fine = lf_all_finite(G, d) && lf_all_finite(A, d * d);
        }
        if (fine || !from_data) break;
        from_data = 0;                  /* start again at the prior mean */
        for (int j = 0; j < d; j++) w[j] = pb->m[j];
    }
    if (known && !isfinite(L)) {
        for (int j = 0; j < d; j++) out->mode[j] = w[j];
        for (int j = 0; j < d * d; j++) out->hess[j] = out->cov[j] = nan_;
        out->log_det_cov = nan_;
        out->logp = L;
        out->cond = nan_;
        out->niter = 0;
        out->nfev = nfev;
        return LF_NONFINITE_X0;
    }
    for (;;) {
        if (!lf_all_finite(G, d)) { status = LF_NONFINITE_FIT; break; }
        /* Newton direction; Levenberg-Marquardt shift if A fails the pivot test */
        double dmax = 0.0;
        for (int j = 0; j < d; j++) dmax = A[j * d + j] > dmax ? A[j * d + j] : dmax;
        double shift = 0.0;
        int rc = 1;
        for (int j = 0; j < d; j++) delta[j] = G[j];
        for (int tries = 0; tries < 60 && rc; tries++) {
            rc = lf_ldl_factor_solve(A, d, shift, 1e-15, Lf, Wk, &minpiv, delta);
            if (tries == 0) lf_zjob_step(pb->zjob, LF_ZJOB_GROUPS, d);
            step_shift = shift;
            shift = shift == 0.0 ? 1e-12 * (dmax > 0 ? dmax : 1.0) : 4.0 * shift;
        }
        if (rc) {   /* a non-finite A fails every pivot test (NaN and inf propagate) */
            status = lf_all_finite(A, d * d) ? LF_SINGULAR : LF_HESSIAN_NONFINITE;
            break;
        }
        /* converged: the step is below tol, or (after a full Newton step) it stopped
         * shrinking at a small size - the rounding floor of the gradient, where a
         * quadratically convergent iteration cannot make further progress */
        double rel = 0.0;
        for (int j = 0; j < d; j++) {
            double e = fabs(delta[j]) / (1.0 + fabs(w[j]));
            rel = e > rel ? e : rel;
        }
        if (rel <= pb->tol || (full_prev && rel <= 1e-6 && rel > 0.25 * rel_prev)) {
            status = LF_OK;
            break;
        }
        rel_prev = rel;
        if (it >= pb->maxiter) { status = LF_MAXITER; break; }
        double dec = 0.0;
        for (int j = 0; j < d; j++) dec += G[j] * delta[j];
        double step = 1.0, Lt = 0.0;
        int accepted = 0;
        for (int ls = 0; ls < 60; ls++) {
            for (int j = 0; j < d; j++) wt[j] = w[j] + step * delta[j];
            if (fused)
                qt = lf_glm_eval_derivs(&q, Xt, lr, wt, eta_[1 - cur], aux_[1 - cur], lv, g, h,
                                        r, pr, sbuf, Gt, At, d);
            else
                qt = lf_glm_eval(&q, Z, lr, wt, eta_[1 - cur], aux_[1 - cur], lv, g, h, r, pr,
                                 d, small);
            nfev++;
            if (deriv_first) {
                /* phi(t) = log post(w + t delta) is concave (every family here is log-
                 * concave), so phi'(t) >= c1 phi'(0) implies Armijo's phi(t) >= phi(0)
                 * + c1 t phi'(0) without the value phi(t); tau is a lower bound of the
                 * value test's rounding slack.  The trial's Hessian comes in the same
                 * pass over Z (or X, fused): the next step needs it when this one is
                 * accepted. */
                if (!fused) lf_glm_derivs(&q, Xt, Z, g, h, pr, pb->P, sbuf, Gt, At, d, small);
                double dphi = 0.0;
                for (int j = 0; j < d; j++) dphi += Gt[j] * delta[j];
                double tau = 4e-15 * (2.0 * fabs(cconst) + 0.5 * (fabs(qc) + fabs(qt)));
                if (dphi - dphi == 0.0) {       /* finite: else the values decide */
                    if (dphi >= 1e-4 * dec - tau) { accepted = 1; break; }
                    /* It fails on an overshoot (phi'(t) < 0; once in about half of W1's
                     * problems).  Armijo then follows, almost always, from phi'(t) and a
                     * bound of the curvature between the two points (in u = s / t: the
                     * likelihood's, and t^2 delta' P delta from the prior), still without
                     * the values.  It accepts only steps that satisfy Armijo, which the
                     * value test accepts too, so the iterates are those of the value test
                     * (W1's bits unchanged).  Value passes a problem on W1: 1.8 -> 1.0;
                     * one thread, through the API: W1 1.72 -> 1.70 us, probit on W1's
                     * data 9.4 -> 8.75 us. */
                    double K = lf_glm_segment_curvature(&q, lr, eta_[cur], aux_[cur],
                                                        eta_[1 - cur], aux_[1 - cur]);
                    double qd = 0.0;
                    for (int j = 0; j < d; j++) {
                        double t = 0.0;
                        for (int k = 0; k < d; k++) t += pb->P[j * d + k] * delta[k];
                        qd += delta[j] * t;
                    }
                    if (lf_armijo_from_curvature(step * dec, step * dphi,
                                                 K + step * step * qd, 1e-4, tau)) {
                        accepted = 1;
                        break;
                    }
                }
            }
            /* Armijo on the values, up to the rounding error of the two */
            if (!known) {
                L = lf_glm_value(&q, lr, cconst, qc, eta_[cur], aux_[cur], lv, bsum, &Lnoise,
                                 small);
                known = 1;
            }
            Lt = lf_glm_value(&q, lr, cconst, qt, eta_[1 - cur], aux_[1 - cur], lv, bsum,
                              &Ltnoise, small);
            if (isfinite(Lt) && Lt >= L + 1e-4 * step * dec - (Lnoise + Ltnoise)) {
                accepted = 2;
                break;
            }
            step *= 0.5;
        }
        it++;
        if (!accepted) {
            status = LF_NO_PROGRESS;
            break;
        }
        if (!deriv_first && !fused)
            lf_glm_derivs(&q, Xt, Z, g, h, pr, pb->P, sbuf, Gt, At, d, small);
        for (int j = 0; j < d; j++) { w[j] = wt[j]; G[j] = Gt[j]; }
        double *swap = A;
        A = At;
        At = swap;
        cur = 1 - cur;
        qc = qt;
        known = accepted == 2;
        if (known) { L = Lt; Lnoise = Ltnoise; }
        full_prev = step == 1.0;
    }
    if (!known)   /* the value at the point returned */
        L = lf_glm_value(&q, lr, cconst, qc, eta_[cur], aux_[cur], lv, bsum, &Lnoise, small);
    if (!isfinite(L) && status >= 0) status = LF_NONFINITE_FIT;
    const double *eta = eta_[cur];

    for (int j = 0; j < d; j++) out->mode[j] = w[j];
    for (int j = 0; j < d * d; j++) out->hess[j] = -A[j];
    out->logp = L;
    out->niter = it;
    out->nfev = nfev;
    out->log_det_cov = nan_;
    out->cond = HUGE_VAL;
    if (status == LF_OK || status == LF_MAXITER || status == LF_NO_PROGRESS) {
        /* the reported factor: the step's when it was unshifted and passes the test */
        int rc = 0;
        if (!(step_shift == 0.0 && minpiv > LF_GLM_RTOL))
            rc = lf_ldl(A, d, 0.0, LF_GLM_RTOL, Lf, Wk, &minpiv);
        if (rc == 0) {
            lf_ldl_inverse(Lf, Wk, d, out->cov, Wk + d);
            out->log_det_cov = -lf_ldl_logdet(Lf, d);
            double na = 0.0, nc = 0.0;
            for (int k = 0; k < d; k++) {
                double sa = 0.0, sc = 0.0;
                for (int j = 0; j < d; j++) { sa += fabs(A[j * d + k]); sc += fabs(out->cov[j * d + k]); }
                na = sa > na ? sa : na;
                nc = sc > nc ? sc : nc;
            }
            out->cond = na * nc;
            if (status == LF_OK) {
                int witness;
                if (lf_glm_extreme(pb, eta, &witness) &&
                    lf_glm_skew(&q, lr, eta, out->cov) > LF_GLM_SKEW_MAX)
                    status = LF_EXTREME_PREDICTOR;
                else if (!(out->cond <= LF_GLM_COND_MAX)) status = LF_ILL_CONDITIONED;
            } else if (status == LF_MAXITER) {
                int witness;
                lf_glm_extreme(pb, eta, &witness);
                if (witness) status = LF_DIVERGED;
            }
        } else {
            for (int j = 0; j < d * d; j++) out->cov[j] = nan_;
            if (status == LF_OK) status = LF_SINGULAR;
        }
    } else {
        for (int j = 0; j < d * d; j++) out->cov[j] = nan_;
    }
    return status;
}

/* Ask for up to cap bytes from p ahead of use: the batch loop prefetches the next
 * problem's rows while it fits the current one, so they arrive during that fit.  Into
 * L2, not L1 (locality 2: prefetcht1 on x86): brought into L1 they evicted the current
 * fit's working set or were evicted before use (C driver, one thread, min of 5 rounds:
 * W1 1.70 -> 1.63 us, W2 2.34 -> 2.16 us; the pair layout's build of the next problem,
 * the first reader of its rows, 1,000 -> 510 ticks on W2). */
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
 * code: a Cython helper of these five calls compiled to nothing, and the batch ran
 * without its prefetch (W1 through the API: 1.75 against 1.60 us a problem on one
 * thread, the C driver's speed, whose loop holds the calls; the same instructions
 * else).  Not for problems whose rows of X take under LF_PREFETCH_MIN bytes (rows
 * that mostly share cache lines with the current problem's): there the calls cost more
 * than they save (n = 10, d = 2, one thread: 0.56 us a problem without, 0.62 with). */
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

/* Fit one problem.  scratch: lf_glm_scratch_size(n, d) doubles.  Returns the status.
 * A serial problem of d <= 8 in the pair layout runs a copy of the solver compiled for
 * its d, so every d-sized loop (linear predictor, prior, Cholesky, solves) unrolls; the
 * arithmetic and its order are those of the generic copy, so the bits are the same. */
LF_INLINE int lf_glm_fit_job(const lf_glm_problem *pb, lf_glm_out *out, double *scratch,
                             const int d, const int small)
{
    int status = lf_glm_fit_d(pb, out, scratch, d, small);
    lf_zjob_step(pb->zjob, LF_PAIRS_MAXN, d);      /* the rest of the next one's layout */
    return status;
}

LF_CLONES static int lf_glm_fit_one(const lf_glm_problem *pb, lf_glm_out *out, double *scratch)
{
    if (pb->nt == 1 && pb->d <= LF_SPECIAL_MAXD && lf_use_pairs(pb->n, pb->d)) {
        int status = LF_OK;
#define LF_FIT_SMALL(P, D) status = lf_glm_fit_job(P, out, scratch, D, 1)
        LF_PAIRS_SWITCH(pb->d, LF_FIT_SMALL, pb);     /* d: 1 to 8 (lf_use_pairs) */
#undef LF_FIT_SMALL
        return status;
    }
    return lf_glm_fit_job(pb, out, scratch, pb->d, 0);
}

/* whether the batch loop builds the layout of a problem of n rows while it fits the
 * one before it (lf_zjob): in the pair layout, of at most LF_ZJOB_MAX doubles */
LF_INLINE int lf_zjob_fits(int n, int d)
{
    return lf_use_pairs(n, d) && (size_t)lf_pad8(n) * (size_t)lf_zcols(d) <= LF_ZJOB_MAX;
}

/* Data checks (before any work): bit flags, 0 = fine.  Compiled per instruction set:
 * the loops vectorise with AVX2 and AVX-512; y's finiteness and support are tested in
 * one pass.  On W1's data in cache, 90 ticks a problem (x86-64-v4; 110 with a compare
 * per element and a pass of its own for each test of y).  Through the API the check
 * reads the batch from memory: ~0.06 us a problem on two threads for W1, ~6 % of it.
 * 1 X not finite, 2 y not finite, 4 y outside the support, 8 offset not finite,
 * 16 weights not finite or negative, 32 trials not a non-negative integer. */
LF_CLONES __attribute__((noinline)) static int
lf_glm_check(int family, int n, int d, const double *X, const double *y, const double *off,
             const double *wt, const double *tr)
{
    int flags = lf_nonfinite_bits(X, (size_t)n * d) ? 1 : 0, bad = 0;
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
    if (ynf) return flags | 2;   /* the support is not judged on non-finite counts */
    if (family == LF_BINOMIAL)
        for (int i = 0; i < n; i++) {
            double t = tr[i], v = y[i];
            if (!(isfinite(t) && t >= 0.0 && t == floor(t))) flags |= 32;
            else if (!(v >= 0.0 && v == floor(v) && v <= t)) bad = 1;
        }
    if (bad) flags |= 4;
    if (off && lf_nonfinite_bits(off, (size_t)n)) flags |= 8;
    bad = 0;
    if (wt) for (int i = 0; i < n; i++) bad |= !((wt[i] - wt[i]) == 0.0 && wt[i] >= 0.0);
    if (bad) flags |= 16;
    return flags;
}

#endif
