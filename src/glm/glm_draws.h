/* The log joint of one problem at many points: what importance sampling from its
 * Laplace approximation needs (laplace_fast._importance), every problem in parallel.
 *
 * Each point's value is the log post of the solver (glm_solver.h): the data's constant
 * and the prior's once per problem, then per point the log-likelihood sum and the
 * prior's quadratic term.
 * - logistic: values only, eight points at a time (a tile), the points across the
 *   SIMD lanes: per row, eta = offset + x . w of the eight points (x broadcast, the
 *   points' coordinates in registers), then y eta - max(eta, 0) into one sum per point
 *   and, unweighted, 1 + exp(-|eta|) into one product per point, folded into a log
 *   every LF_DRAW_FOLD rows (each factor is in [1, 2]); weighted rows add w l with
 *   l's log1p term.  No derivatives.  A point's lane does the same operations
 *   whatever the other points of its tile (the last tile repeats its last point).
 * - the other families: per point the blocks' log-likelihood sums (lf_glm_eval_block
 *   from X transposed, lf_glm_value_block) added in block order.
 * The order of every sum is fixed by (n, d), so a problem's values do not depend on
 * the thread count or on the other problems; they equal the solver's logp at its mode
 * to rounding (the solver sums in another order). */
#ifndef GLM_DRAWS_H
#define GLM_DRAWS_H

#include <string.h>
#include "glm_eval.h"
#include "glm_scratch.h"

#define LF_DRAW_TILE 8
#define LF_DRAW_FOLD 512    /* rows per product of factors in [1, 2]: below 2^512 */

/* the rows' terms at the tile's linear predictors E (len rows x T, row major):
 * unweighted (wt NULL), s += y eta - max(eta, 0) and p *= 1 + exp(-|eta|); weighted,
 * s += w (y eta - softplus(eta)) (0 where w = 0).  Out of line, so that gcc vectorises
 * the loop over the tile's points (in line in the tile's loops it does not). */
LF_CLONES __attribute__((noinline)) static void
lf_draw_logistic_rows(const double *restrict E, const double *restrict y,
                      const double *restrict wt, int len, double *restrict s,
                      double *restrict p)
{
    enum { T = LF_DRAW_TILE };
    double ss[T], pp[T];
    for (int t = 0; t < T; t++) { ss[t] = s[t]; pp[t] = p[t]; }
    if (wt) {
        for (int i = 0; i < len; i++) {
            const double *restrict eta = E + (size_t)i * T;
            const double yi = y[i], w = wt[i];
            for (int t = 0; t < T; t++) {
                double e = lf_exp_neg(-fabs(eta[t]));
                double l = (yi * eta[t] - (eta[t] > 0.0 ? eta[t] : 0.0)) - lf_log1p_unit(e);
                ss[t] += w != 0.0 ? w * l : 0.0;
            }
        }
    } else {
        for (int i = 0; i < len; i++) {
            const double *restrict eta = E + (size_t)i * T;
            const double yi = y[i];
            for (int t = 0; t < T; t++) {
                ss[t] += yi * eta[t] - (eta[t] > 0.0 ? eta[t] : 0.0);
                pp[t] *= 1.0 + lf_exp_neg(-fabs(eta[t]));
            }
        }
    }
    for (int t = 0; t < T; t++) { s[t] = ss[t]; p[t] = pp[t]; }
}

/* E = offset + X th for the rows i0 <= i < i1 and the tile's T points th (d x T,
 * coordinate major): row i - i0 of E holds the T linear predictors of row i */
LF_INLINE void lf_draw_eta(const lf_glm_problem *pb, int i0, int i1,
                           const double *restrict th, double *restrict E, const int d)
{
    enum { T = LF_DRAW_TILE };
    const double *restrict X = pb->X, *restrict off = pb->off;
    for (int i = i0; i < i1; i++) {
        const double *restrict x = X + (size_t)i * d;
        double *restrict eta = E + (size_t)(i - i0) * T;
        const double o = off ? off[i] : 0.0;
        for (int t = 0; t < T; t++) eta[t] = o;
        for (int j = 0; j < d; j++) {
            const double xj = x[j];
            for (int t = 0; t < T; t++) eta[t] += xj * th[j * T + t];
        }
    }
}

/* the logistic log-likelihood of the T = LF_DRAW_TILE points th (d x T, coordinate
 * major) into ll (T); E: LF_DRAW_FOLD T doubles of scratch */
LF_INLINE void lf_glm_logistic_tile(const lf_glm_problem *pb, const double *restrict th,
                                    double *restrict ll, double *restrict E, const int d)
{
    enum { T = LF_DRAW_TILE };
    const int n = pb->n;
    double s[T], p[T], lg[T];
    for (int t = 0; t < T; t++) { s[t] = 0.0; p[t] = 1.0; lg[t] = 0.0; }
    for (int i0 = 0; i0 < n; i0 += LF_DRAW_FOLD) {
        const int i1 = n - i0 < LF_DRAW_FOLD ? n : i0 + LF_DRAW_FOLD;
        lf_draw_eta(pb, i0, i1, th, E, d);
        lf_draw_logistic_rows(E, pb->y + i0, pb->wt ? pb->wt + i0 : NULL, i1 - i0, s, p);
        for (int t = 0; t < T; t++) { lg[t] += lf_log_pos(p[t]); p[t] = 1.0; }
    }
    for (int t = 0; t < T; t++) ll[t] = s[t] - lg[t];
}

/* lf_glm_logistic_tile with d a compile-time constant (d <= 8), else generic */
LF_CLONES __attribute__((noinline)) static void
lf_glm_logistic_tile_call(const lf_glm_problem *pb, const double *th, double *ll, double *E,
                          int d)
{
    switch (d) {
    case 1: lf_glm_logistic_tile(pb, th, ll, E, 1); break;
    case 2: lf_glm_logistic_tile(pb, th, ll, E, 2); break;
    case 3: lf_glm_logistic_tile(pb, th, ll, E, 3); break;
    case 4: lf_glm_logistic_tile(pb, th, ll, E, 4); break;
    case 5: lf_glm_logistic_tile(pb, th, ll, E, 5); break;
    case 6: lf_glm_logistic_tile(pb, th, ll, E, 6); break;
    case 7: lf_glm_logistic_tile(pb, th, ll, E, 7); break;
    case 8: lf_glm_logistic_tile(pb, th, ll, E, 8); break;
    default: lf_glm_logistic_tile(pb, th, ll, E, d);
    }
}

/* the logistic log joint at the S points W (S x d): tiles of LF_DRAW_TILE points */
static void lf_glm_logistic_joint(const lf_glm_problem *pb, const double *W, int S,
                                  double *out, double *scratch)
{
    enum { T = LF_DRAW_TILE };
    const int d = pb->d;
    double *th = scratch, *r = th + (size_t)d * T, *pr = r + d, *E = pr + d, ll[T];
    const double cconst = lf_glm_constant(pb) + pb->prior_const;
    for (int s0 = 0; s0 < S; s0 += T) {
        for (int t = 0; t < T; t++) {
            const double *w = W + (size_t)(s0 + t < S ? s0 + t : S - 1) * d;
            for (int j = 0; j < d; j++) th[j * T + t] = w[j];
        }
        lf_glm_logistic_tile_call(pb, th, ll, E, d);
        for (int t = 0; t < T && s0 + t < S; t++) {
            const double *w = W + (size_t)(s0 + t) * d;
            out[s0 + t] = (ll[t] + cconst) - 0.5 * lf_glm_prior_terms(pb, w, r, pr, d);
        }
    }
}

/* 1 for the family the tile kernel serves, the logistic (by its name in the list of
 * glm_families.h: no family's code is named outside its header and the list) */
LF_INLINE int lf_glm_draws_tiled(int f)
{
    const char *name = lf_glm_family_name(f);
    return name && strcmp(name, "logistic") == 0;
}

/* doubles of scratch lf_glm_log_joint needs for a problem of n rows and d parameters */
LF_INLINE size_t lf_glm_draws_scratch(size_t n, size_t d)
{
    size_t rows = n < LF_DRAW_FOLD ? n : LF_DRAW_FOLD;
    size_t tile = (LF_DRAW_TILE + 2) * d + LF_DRAW_TILE * rows, plan = lf_glm_plan_of(n, d).total;
    return tile > plan ? tile : plan;
}

/* out[s] = log post at the point W + s d, for s < S.  scratch: lf_glm_draws_scratch(n,
 * d) doubles. */
LF_CLONES static void lf_glm_log_joint(const lf_glm_problem *pb, const double *W, int S,
                                       double *out, double *scratch)
{
    if (lf_glm_draws_tiled(pb->family)) {
        lf_glm_logistic_joint(pb, W, S, out, scratch);
        return;
    }
    const int n = pb->n, d = pb->d, ld = lf_pad8(n);
    const lf_glm_plan sp = lf_glm_plan_of((size_t)n, (size_t)d);
    double *Xt = scratch + sp.xt, *eta = scratch + sp.eta0, *aux = scratch + sp.aux0;
    double *lv = scratch + sp.lv, *g = scratch + sp.g, *h = scratch + sp.h;
    double *r = scratch + sp.r, *pr = scratch + sp.pr, *bsum = scratch + sp.bsum;
    const int nb = (ld + LF_GLM_BLOCK - 1) / LF_GLM_BLOCK;
    lf_glm_transpose(pb->X, n, d, 1, Xt);
    for (int i = n; i < ld; i++) lv[i] = g[i] = h[i] = 0.0;
    const double cconst = lf_glm_constant(pb) + pb->prior_const;
    lf_glm_problem q;
    const double lr = lf_glm_kernel_param(pb, &q);     /* the parameter as the terms want it */
    for (int s = 0; s < S; s++) {
        const double *w = W + (size_t)s * d;
        for (int bk = 0; bk < nb; bk++) {
            lf_glm_eval_block(&q, Xt, NULL, lr, w, eta, aux, lv, g, h, bk, d);
            lf_glm_value_block(&q, lr, eta, aux, lv, bk, bsum, bsum + nb);
        }
        double ll = 0.0;
        for (int bk = 0; bk < nb; bk++) ll += bsum[bk];
        out[s] = (ll + cconst) - 0.5 * lf_glm_prior_terms(&q, w, r, pr, d);
    }
}

#endif
