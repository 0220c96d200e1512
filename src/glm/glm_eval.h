/* Evaluation of the log posterior, its gradient and negative Hessian at a point,
 * over the observations in a fixed order.
 *
 * Layout and sums.  X is rearranged once per problem in scratch (observations padded to
 * a multiple of 8 rows), so every pass over the observations is unit-stride and
 * vectorises (the elementary functions are branch-free, lf_elementary.h).
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
 * Every order here is fixed by (n, d) alone (glm.h).
 */
#ifndef GLM_EVAL_H
#define GLM_EVAL_H

#include <math.h>
#include "lf_sums.h"
#include "glm_problem.h"
#include "glm_pairs.h"
#include "glm_families.h"

/* X (n x d, row-major) transposed into Xt: d columns of ld = lf_pad8(n) rows, the
 * padding rows zero; on nt threads (no effect on the values).  The layout of every pass
 * that does not use the pair layout. */
LF_INLINE void lf_glm_transpose(const double *X, int n, int d, int nt, double *Xt)
{
    const int ld = lf_pad8(n);
    if (nt > 1) {
        #pragma omp parallel for num_threads(nt) schedule(static)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) Xt[(size_t)j * ld + i] = X[(size_t)i * d + j];
    } else {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < d; j++) Xt[(size_t)j * ld + i] = X[(size_t)i * d + j];
    }
    for (int j = 0; j < d; j++)
        for (int i = n; i < ld; i++) Xt[(size_t)j * ld + i] = 0.0;
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

/* one block's log-likelihood sum and sum of magnitudes: the family's own block value
 * where it has one for pb (lf_<id>_block_value: unweighted logistic), else the terms
 * into lv (unless the family's terms wrote them: lf_glm_fused) and their sum */
#define LF_CASE_BLOCK_VALUE(code, id, name)                                  \
    case LF_##code:                                                          \
        if (lf_##id##_block_value(pb, eta, aux, c0, len, bsum + bk, babs + bk)) return; \
        break;
LF_INLINE void lf_glm_value_block(const lf_glm_problem *pb, double lr, const double *eta,
                                   const double *aux, double *lv, int bk, double *bsum,
                                   double *babs)
{
    const int n = pb->n, ld = lf_pad8(n), c0 = bk * LF_GLM_BLOCK;
    const int len = n - c0 < LF_GLM_BLOCK ? n - c0 : LF_GLM_BLOCK;
    const int lenp = ld - c0 < LF_GLM_BLOCK ? ld - c0 : LF_GLM_BLOCK;
    switch (pb->family) { LF_GLM_FAMILIES(LF_CASE_BLOCK_VALUE) }
    lf_glm_problem sub = lf_glm_rows(pb, c0, len);
    if (!lf_glm_fused(pb->family)) lf_glm_values(&sub, lr, eta + c0, aux + c0, lv + c0);
    bsum[bk] = lf_sum8(lv + c0, lenp, babs + bk);
}
#undef LF_CASE_BLOCK_VALUE

/* Out-of-line copies, compiled per instruction set, of the work that one large problem
 * shares among threads (pb->nt > 1): GCC outlines the body of an OpenMP region into a
 * function of its own, compiled for the baseline instruction set even inside a
 * target_clones function, so a region's body calls these, which run the clone of the
 * CPU (a baseline body gives away the second thread's gain on W4).  The one
 * region left in line, lf_glm_transpose (the solver's transpose of X), is bound by
 * memory. */
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
 * scratch, except for the families whose terms write it (lf_glm_fused), whose lv the
 * latest lf_glm_eval wrote: for them the point must be that one's.  *noise bounds the
 * rounding error of the value (a few ulps of the sum of the magnitudes of its terms).
 * Block sums are added in block order, whatever the thread count. */
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
 * is loaded once per tile, not once per sum: at d = 50 the block's X sits in L2, whose
 * bandwidth bounds dot products (bench/RESULTS.md, "Hessian register tiles"). */
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
 * and its serial loop alike: in line in the solver, the superblock's loops compete for
 * registers with the solver's own (bench/RESULTS.md, "superblock out of line") */
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

#endif
