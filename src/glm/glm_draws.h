/* The log joint of one problem at many points: what importance sampling from its
 * Laplace approximation needs (laplace_fast._importance), every problem in parallel.
 *
 * Each point's value is the solver's log post (glm_solver.h) at that point: the data's
 * constant and the prior's once per problem, then per point the blocks' log-likelihood
 * sums (lf_glm_eval_block from X transposed, lf_glm_value_block) added in block order and
 * the prior's quadratic term.  The order of every sum is fixed by (n, d), so a problem's
 * values do not depend on the thread count or on the other problems; they equal the
 * solver's logp at its mode to rounding (its small problems form eta from the pair
 * layout, another order of the same products). */
#ifndef GLM_DRAWS_H
#define GLM_DRAWS_H

#include "glm_eval.h"
#include "glm_scratch.h"

/* out[s] = log post at the point W + s d, for s < S.  scratch: lf_glm_plan_of(n,
 * d).total doubles. */
LF_CLONES static void lf_glm_log_joint(const lf_glm_problem *pb, const double *W, int S,
                                       double *out, double *scratch)
{
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
