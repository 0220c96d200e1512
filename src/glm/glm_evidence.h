/* The evidence-chosen prior precision of one problem, in the kernel: the alpha of the
 * prior N(m, I / alpha) that maximises the problem's Laplace evidence (type-II maximum
 * likelihood), found by a safeguarded secant iteration on u = log alpha whose every
 * point is a fit of lf_glm_fit_one, warm-started at the mode of the likelihood's
 * quadratic expansion under the new prior.  The same rules as the numpy iteration that
 * the scale and the dispersion use (laplace_fast/_glm_evidence.py, whose docstrings
 * derive them), per problem and without Python between the fits.
 *
 * With A = -hessian, C = A^-1, r = mode - m, s_i^2 = x_i' C x_i, h_i the likelihood's
 * curvature of row i (weighted) and l3_i its l''' (weighted),
 *
 *   g(u) = d log Z / du = (gamma - alpha |r|^2) / 2 - alpha / 2 sum_i l3_i s_i^2 x_i' C r,
 *   gamma = sum_i h_i s_i^2 = tr(C H)   (H = A - alpha I, the data's curvature),
 *
 * MacKay's terms plus the change of the curvature as the mode moves with u
 * (d mode / du = -alpha C r).  The first step goes to the root of the exact g of the
 * likelihood's quadratic expansion at the first mode, which has the evidence's shape
 * far from that mode (and is the evidence itself for the gaussian); later steps are
 * secant steps inside the bracket that g's signs give, a step that lowers the evidence
 * is halved back, and a problem whose g has no root ahead runs to a bound (the data's
 * curvature times e^-23 or e^13.8), where it stops with status LF_BOUNDARY.  The order
 * of every sum is fixed by (n, d): the bits do not depend on the batch or the thread
 * count. */
#ifndef GLM_EVIDENCE_H
#define GLM_EVIDENCE_H

#include <math.h>
#include "lf_status.h"
#include "lf_linalg.h"
#include "glm_solver.h"

#define LF_EV_TOL 1e-8          /* converged: the next step of u is below this */
#define LF_EV_MAX_OUTER 100     /* fits per problem at most */
#define LF_EV_MAX_STEP 4.0      /* the largest move of u in one iteration */
#define LF_EV_SPAN 23.0         /* the bounds: e^-23 below the data's curvature ... */
#define LF_EV_SPAN_UP 13.8      /* ... and e^13.8 above it */
#define LF_EV_FADING 1e-2       /* below this share of well-determined parameters, a g
                                 * that is still positive has no root ahead */
#define LF_EV_NOISE (64 * 2.220446049250313e-16)    /* g within this of its terms: 0 */
#define LF_EV_MAX_BACK 30       /* halvings back from a step that lowered the evidence */

/* What the caller gives and gets back besides the fit's own output. */
typedef struct {
    double u;           /* in: the first log alpha; out: the chosen one */
    int at_bound;       /* out: 1 when the chosen u is at a bound */
} lf_glm_evidence;

/* Where each array lives in lf_glm_evidence_fit's working storage: per row (ld =
 * lf_round8(n) doubles each) the transposed rows Xt (d of them), the linear predictor
 * and the family's terms (eta, aux, lv, g, h), l''' (l3), s_i^2 and x_i' C r (xr); the
 * d x d prior P, the likelihood's curvature H, the model's M, a factor F and a square
 * of workspace W; the d-vectors. */
typedef struct {
    double *Xt, *eta, *aux, *lv, *g, *h, *l3, *s2, *xr;
    double *P, *H, *M, *F, *W;
    double *start, *Cr, *r, *b, *v, *dinv;
} lf_ev_work;
LF_INLINE size_t lf_glm_evidence_size(size_t n, size_t d)
{
    return (d + 8) * lf_round8(n) + 5 * d * d + 6 * d;
}
LF_INLINE lf_ev_work lf_ev_work_of(double *p, size_t n, size_t d)
{
    const size_t ld = lf_round8(n), dd = d * d;
    lf_ev_work w;
    w.Xt = p;       p += d * ld;
    w.eta = p;      p += ld;
    w.aux = p;      p += ld;
    w.lv = p;       p += ld;
    w.g = p;        p += ld;
    w.h = p;        p += ld;
    w.l3 = p;       p += ld;
    w.s2 = p;       p += ld;
    w.xr = p;       p += ld;
    w.P = p;        p += dd;
    w.H = p;        p += dd;
    w.M = p;        p += dd;
    w.F = p;        p += dd;
    w.W = p;        p += dd;
    w.start = p;    p += d;
    w.Cr = p;       p += d;
    w.r = p;        p += d;
    w.b = p;        p += d;
    w.v = p;        p += d;
    w.dinv = p;
    return w;
}

/* The rows' part of g at the mode w (a pass like one of the fit's): the weighted
 * curvature h and l''' of each row, s_i^2 = x_i' C x_i and x_i' C r, summed into
 * *gamma = sum_i h_i s_i^2 and *curv_term = sum_i wt_i l3_i s_i^2 x_i' C r.  Every loop
 * runs over the rows of the transposed Xt (ld apart), so it vectorises; each family's
 * l''' is inlined into a loop of its own. */
#define LF_CASE_THIRD_ROWS(code, id, name)                                   \
    case LF_##code:                                                          \
        for (int i = 0; i < n; i++) l3[i] = lf_##id##_third(q, lr, eta, i);  \
        break;
LF_CLONES __attribute__((noinline)) static void
lf_glm_evidence_rows(const lf_glm_problem *q, double lr, int ld, const double *w,
                     const double *C, const lf_ev_work *k, double *gamma,
                     double *curv_term)
{
    const int n = q->n, d = q->d;
    double *restrict eta = k->eta, *restrict s2 = k->s2, *restrict xr = k->xr;
    double *restrict l3 = k->l3;
    for (int i = 0; i < n; i++) {
        eta[i] = q->off ? q->off[i] : 0.0;
        s2[i] = xr[i] = 0.0;
    }
    for (int j = 0; j < d; j++) {
        const double *restrict xj = k->Xt + (size_t)j * ld;
        const double wj = w[j], cr = k->Cr[j], cjj = C[j * d + j];
        for (int i = 0; i < n; i++) {
            eta[i] += xj[i] * wj;
            xr[i] += xj[i] * cr;
            s2[i] += (xj[i] * xj[i]) * cjj;
        }
        for (int m = 0; m < j; m++) {
            const double *restrict xm = k->Xt + (size_t)m * ld;
            const double c2 = 2.0 * C[j * d + m];
            for (int i = 0; i < n; i++) s2[i] += (xj[i] * xm[i]) * c2;
        }
    }
    lf_glm_family(q, lr, eta, k->aux, k->lv, k->g, k->h);
    switch (q->family) { LF_GLM_FAMILIES(LF_CASE_THIRD_ROWS) }
    const double *restrict h = k->h, *restrict wt = q->wt;
    double sg = 0.0, sc = 0.0;
    for (int i = 0; i < n; i++) {
        double wl = wt ? (wt[i] != 0.0 ? wt[i] * l3[i] : 0.0) : l3[i];
        sg += h[i] * s2[i];
        sc += (wl * s2[i]) * xr[i];
    }
    *gamma = sg;
    *curv_term = sc;
}
#undef LF_CASE_THIRD_ROWS

/* The model's g at u: with a = e^u and M = (H + a I)^-1 (so M H = I - a M), the exact
 * g of the likelihood's quadratic expansion at the first mode (curvature H, the prior's
 * pull there b = A r) is (tr(M H) - a |M b|^2) / 2, plus the curvature term held at
 * corr; *dm is its derivative in u, -(a tr(M H M) + a |v|^2 - 2 a^2 v' M v) / 2 with
 * v = M b and tr(M H M) = tr M - a |M|^2.  NaN when H + a I does not factor. */
LF_INLINE double lf_ev_model(const lf_ev_work *k, int d, double corr, double u,
                             double *dm)
{
    const double a = exp(u);
    double minpiv;
    *dm = NAN;
    if (lf_ldl(k->H, d, a, 0.0, k->F, k->dinv, &minpiv)) return NAN;
    lf_ldl_inverse(k->F, k->dinv, d, k->M, k->W);
    double trM = 0.0, MM = 0.0, vv = 0.0, vMv = 0.0;
    for (int i = 0; i < d; i++) {
        double t = 0.0;
        for (int j = 0; j < d; j++) {
            t += k->M[i * d + j] * k->b[j];
            MM += k->M[i * d + j] * k->M[i * d + j];
        }
        k->v[i] = t;
        trM += k->M[i * d + i];
        vv += t * t;
    }
    for (int i = 0; i < d; i++) {
        double t = 0.0;
        for (int j = 0; j < d; j++) t += k->M[i * d + j] * k->v[j];
        vMv += k->v[i] * t;
    }
    *dm = -0.5 * (a * (trM - a * MM) + a * vv - 2.0 * a * a * vMv);
    return 0.5 * ((d - a * trM) - a * vv) + corr;
}

/* The first root uphill (where the model's g falls through zero) within MAX_STEP of u0,
 * else that window's end: Newton inside the bracket that the signs narrow, bisection
 * when Newton leaves it (or the model does not factor), until a step is below 1e-13. */
LF_INLINE double lf_ev_model_root(const lf_ev_work *k, int d, double corr, double u0)
{
    double u = u0, lo = u0 - LF_EV_MAX_STEP, hi = u0 + LF_EV_MAX_STEP;
    for (int it = 0; it < 60; it++) {
        double dm, m = lf_ev_model(k, d, corr, u, &dm);
        if (m > 0) lo = u;
        if (m < 0) hi = u;
        double nu = u - m / (dm < 0 ? dm : -1.0);
        if (!(dm < 0 && nu > lo && nu < hi)) nu = 0.5 * (lo + hi);
        if (m == 0) nu = u;
        double moved = fabs(nu - u);
        u = nu;
        if (!(moved > 1e-13 && hi - lo > 1e-13)) break;
    }
    return u;
}

/* Fit problem pb (its P and prior_const ignored: the prior is N(pb->m, I / alpha)) with
 * alpha chosen by its evidence, from ev->u.  out: the final fit's, with niter and nfev
 * summed over every fit.  scratch: the fit's (lf_glm_plan_of); work:
 * lf_glm_evidence_size(n, d) doubles.  Returns the status: the last fit's when it
 * failed, LF_NONFINITE_FIT when the derivative is not finite, LF_MAXITER after
 * LF_EV_MAX_OUTER fits, LF_BOUNDARY at a bound, else the last fit's. */
static int lf_glm_evidence_fit(const lf_glm_problem *pb, lf_glm_out *out, double *scratch,
                               double *work, lf_glm_evidence *ev)
{
    const int n = pb->n, d = pb->d, ld = (int)lf_round8((size_t)n);
    const lf_ev_work k = lf_ev_work_of(work, (size_t)n, (size_t)d);
    lf_glm_problem p = *pb;
    lf_glm_problem q;
    const double lr = lf_glm_kernel_param(pb, &q);
    double u = ev->u, lo = -LF_EV_SPAN, hi = LF_EV_SPAN;
    double prev_u = 0.0, prev_g = 0.0, prev_ev = -HUGE_VAL, J = 0.0;
    double floor_ = -HUGE_VAL, ceil_ = HUGE_VAL;
    int fresh = 1, backtracks = 0, niter = 0, nfev = 0, status = LF_MAXITER, done = 0;
    ev->at_bound = 0;
    p.P = k.P;
    for (int j = 0; j < d; j++)
        for (int i = 0; i < n; i++) k.Xt[(size_t)j * ld + i] = pb->X[(size_t)i * d + j];
    for (int outer = 0; outer < LF_EV_MAX_OUTER && !done; outer++) {
        const double alpha = exp(u);
        for (int j = 0; j < d * d; j++) k.P[j] = 0.0;
        for (int j = 0; j < d; j++) k.P[j * d + j] = alpha;
        p.prior_const = 0.5 * d * log(alpha) - d * LF_HALF_LOG_2PI;
        if (outer > 0) {
            /* the pair layout built by the first fit (if any) stays in place; its
             * pipeline job (the next problem's layout) is finished */
            p.zready = 1;
            p.zjob = NULL;
            p.start = k.start;
        }
        int st = lf_glm_fit_one(&p, out, scratch);
        niter += out->niter;
        nfev += out->nfev;
        status = st;
        if (st < 0) break;
        /* g, the curvature model c and the rounding level of g at this mode */
        const double *C = out->cov;
        double rr = 0.0, trC = 0.0, CC = 0.0, rCr = 0.0, trH = 0.0;
        for (int j = 0; j < d; j++) k.r[j] = out->mode[j] - pb->m[j];
        for (int j = 0; j < d; j++) {
            double t = 0.0;
            for (int m = 0; m < d; m++) t += C[j * d + m] * k.r[m];
            k.Cr[j] = t;
            rr += k.r[j] * k.r[j];
            rCr += k.r[j] * t;
            trC += C[j * d + j];
            trH += -out->hess[j * d + j];
        }
        for (int j = 0; j < d * d; j++) CC += C[j] * C[j];
        double gamma, curv_term;
        lf_glm_evidence_rows(&q, lr, ld, out->mode, C, &k, &gamma, &curv_term);
        const double arr = alpha * rr, corr = -0.5 * alpha * curv_term;
        const double g = 0.5 * (gamma - arr) + corr;
        const double noise = LF_EV_NOISE * (0.5 * (gamma + arr) + fabs(corr));
        const double exact = -0.5 * (alpha * trC - alpha * alpha * CC + arr
                                     - 2.0 * alpha * alpha * rCr);
        const double model = -0.5 * (gamma * (d - gamma) / (d > 1 ? d : 1) + arr);
        const double c = (exact < 0 && gamma > 1e-3 * d) ? exact : model - 1e-300;
        const int fading = gamma < LF_EV_FADING * d && g > 0;
        if (outer == 0) {   /* the bounds, from the data's curvature */
            double HL = trH - d * alpha;
            double ref = log(HL > 0 ? HL / (d > 1 ? d : 1) : 1.0);
            lo = ref - LF_EV_SPAN;
            hi = ref + LF_EV_SPAN_UP;
        }
        if (!(isfinite(g) && isfinite(c))) { status = LF_NONFINITE_FIT; break; }
        const double L = out->logp + d * LF_HALF_LOG_2PI + 0.5 * out->log_det_cov;
        const int worse = L < prev_ev - 1e-10 * (1.0 + fabs(prev_ev)) &&
                          backtracks < LF_EV_MAX_BACK;
        if (!fresh && !worse && u != prev_u) J = (g - prev_g) / (u - prev_u);
        const int fr = fresh && !worse;
        if (fr) { J = c; fresh = 0; }
        const int zero = fabs(g) <= noise;
        const double gz = zero ? 0.0 : g;
        /* the secant step uphill, within MAX_STEP; not at a bound that g points out of */
        const int free_ = !((u <= lo && gz < 0) || (u >= hi && gz > 0));
        if (free_ && !(J < 0)) J = c;
        const double Jm = free_ ? J : -1.0, gm = free_ ? gz : 0.0;
        double step = -gm / Jm;
        if (!(isfinite(step) && step * gm >= 0)) step = -gm / c;
        if (!isfinite(step)) step = gm > 0 ? LF_EV_MAX_STEP : gm < 0 ? -LF_EV_MAX_STEP : 0.0;
        step = fmin(fmax(step, -LF_EV_MAX_STEP), LF_EV_MAX_STEP);
        if (outer == 0) {
            /* the first step: to the root of the quadratic expansion's g, with
             * H = A - alpha I and the prior's pull b = A r */
            for (int j = 0; j < d; j++) {
                double t = 0.0;
                for (int m = 0; m < d; m++) t -= out->hess[j * d + m] * k.r[m];
                k.b[j] = t;
            }
            for (int j = 0; j < d * d; j++) k.H[j] = -out->hess[j];
            for (int j = 0; j < d; j++) k.H[j * d + j] -= alpha;
            step = zero ? 0.0 : lf_ev_model_root(&k, d, corr, u) - u;
        }
        /* no root ahead yet (g's sign unchanged and it or the step not halving): at
         * least twice the last move */
        const double last_move = u - prev_u;
        if (!fr && !worse && step * last_move > 0 && g * prev_g > 0 &&
            (fabs(step) >= 0.5 * fabs(last_move) || fabs(g) >= 0.5 * fabs(prev_g))) {
            double a = fmin(fmax(fabs(step), 2.0 * fabs(last_move)), LF_EV_MAX_STEP);
            step = step > 0 ? a : -a;
        }
        if (fading && fabs(step) > 0.3) step = g > 0 ? LF_EV_MAX_STEP : -LF_EV_MAX_STEP;
        double target = fmin(fmax(u + step, lo), hi);
        /* the root lies between the points where g had each sign */
        if (gz > 0 && u > floor_) floor_ = u;
        if (gz < 0 && u < ceil_) ceil_ = u;
        if (isfinite(floor_) && isfinite(ceil_) && gz != 0 &&
            (target <= floor_ || target >= ceil_))
            target = 0.5 * (floor_ + ceil_);
        if (!worse && fabs(target - u) <= LF_EV_TOL) {
            done = 1;
            ev->at_bound = u <= lo + LF_EV_TOL || u >= hi - LF_EV_TOL;
            break;
        }
        const double newu = worse ? 0.5 * (u + prev_u) : target;
        backtracks = worse ? backtracks + 1 : 0;
        if (!worse) { prev_u = u; prev_g = g; prev_ev = L; }
        /* the next fit starts at the mode of the likelihood's quadratic expansion under
         * the new prior, m + (A + (alpha' - alpha) I)^-1 A r, where that matrix factors;
         * else at this mode */
        for (int j = 0; j < d * d; j++) k.W[j] = -out->hess[j];
        for (int j = 0; j < d; j++) {
            double t = 0.0;
            for (int m = 0; m < d; m++) t += k.W[j * d + m] * k.r[m];
            k.start[j] = t;
        }
        double minpiv;
        const int ok = lf_ldl_factor_solve(k.W, d, exp(newu) - alpha, 1e-15, k.F, k.dinv,
                                           &minpiv, k.start) == 0;
        for (int j = 0; j < d; j++) k.start[j] += pb->m[j];
        if (!(ok && lf_all_finite(k.start, d)))
            for (int j = 0; j < d; j++) k.start[j] = out->mode[j];
        u = newu;
    }
    ev->u = u;
    out->niter = niter;
    out->nfev = nfev;
    if (done && ev->at_bound && status == LF_OK) status = LF_BOUNDARY;
    if (!done && status >= 0) status = LF_MAXITER;
    return status;
}

#endif
