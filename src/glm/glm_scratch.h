/* The scratch plan: where each of the solver's arrays lives in a thread's scratch, in
 * doubles from its start.  One function (lf_glm_plan_of) computes it; the solver carves
 * its scratch by it, the size of a problem's scratch is its total, and the batch loop
 * puts its two pipeline buffers past that total, so the three cannot disagree.
 * Offsets grow with n, and the pair layout's room is that of the largest problem that
 * may use it, so a plan made for the batch's largest problem holds every smaller one. */
#ifndef GLM_SCRATCH_H
#define GLM_SCRATCH_H

#include <stddef.h>
#include "glm_problem.h"
#include "glm_pairs.h"

typedef struct {
    /* lf_pad8(n) doubles each (xt: d columns of them): X transposed (not used in the
     * pair layout), eta and aux of the current point and of the trial point, the
     * weighted log-likelihood terms, g and h */
    size_t xt, eta0, eta1, aux0, aux1, lv, g, h;
    /* d x d: the current negative Hessian, its factor, the factor's work (d^2 + d),
     * the trial point's negative Hessian */
    size_t A, Lf, Wk, At;
    /* d each: gradients, step, iterate, trial point, w - m and P (w - m) */
    size_t G, Gt, delta, w, wt, r, pr;
    size_t bsum;            /* block sums, 2 per block of LF_GLM_BLOCK rows */
    size_t sbuf;            /* superblock partials, d^2 + 2d per superblock */
    size_t z;               /* the pair layout, at a multiple of eight doubles */
    size_t total;           /* doubles of one problem's scratch, a multiple of eight */
} lf_glm_plan;

LF_INLINE lf_glm_plan lf_glm_plan_of(size_t n, size_t d)
{
    lf_glm_plan p;
    const size_t ld = (size_t)lf_pad8((int)n), dd = d * d;
    size_t at = 0;          /* the next free double */
#define LF_TAKE(field, count) (p.field = at, at += (count))
    LF_TAKE(xt, d * ld); LF_TAKE(eta0, ld); LF_TAKE(eta1, ld); LF_TAKE(aux0, ld);
    LF_TAKE(aux1, ld); LF_TAKE(lv, ld); LF_TAKE(g, ld); LF_TAKE(h, ld);
    LF_TAKE(A, dd); LF_TAKE(Lf, dd); LF_TAKE(Wk, dd + d); LF_TAKE(At, dd);
    LF_TAKE(G, d); LF_TAKE(Gt, d); LF_TAKE(delta, d); LF_TAKE(w, d); LF_TAKE(wt, d);
    LF_TAKE(r, d); LF_TAKE(pr, d);
    LF_TAKE(bsum, 2 * (n / LF_GLM_BLOCK + 2));
    LF_TAKE(sbuf, (n / LF_GLM_SUPER + 2) * (dd + 2 * d));
#undef LF_TAKE
    /* Z on a cache line when scratch is on one (lf_scratch.h) */
    p.z = lf_round8(at);
    /* room for the pair layout of the largest problem that may use it */
    size_t maxn = LF_PAIRS_MAXN, nz = n < maxn ? n : maxn;
    size_t zs = lf_use_pairs(1, (int)d) ? (nz + 8) * (size_t)lf_zcols((int)d) : 0;
    p.total = lf_round8(p.z + zs);
    return p;
}

#endif
