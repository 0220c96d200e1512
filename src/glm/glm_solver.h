/* The solver: damped Newton for one problem and its Laplace summary.
 *
 * Start: the caller's warm start when given, else one IRLS step from means made of the
 * data (lf_glm_start_terms: fewer Newton iterations than from the prior mean, and no
 * step halvings on W2's heavy counts; bench/RESULTS.md, "start from the data"), or the
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
#ifndef GLM_SOLVER_H
#define GLM_SOLVER_H

#include <math.h>
#include "lf_status.h"
#include "lf_linalg.h"
#include "glm_eval.h"
#include "glm_scratch.h"

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

/* The screen of status 3 and the divergence test for the final eta: 1 when
 * separation-like (every weighted row classified with a margin; for counts, every
 * weighted count 0) or a linear predictor is extreme; *witness: separation-like
 * (lf_<id>_extreme; once per problem: out of line) */
#define LF_CASE_EXTREME(code, id, name)                                      \
    case LF_##code: return lf_##id##_extreme(pb, eta, witness);
LF_CLONES __attribute__((noinline)) static int
lf_glm_extreme(const lf_glm_problem *pb, const double *eta, int *witness)
{
    switch (pb->family) { LF_GLM_FAMILIES(LF_CASE_EXTREME) }
    *witness = 0;
    return 0;
}
#undef LF_CASE_EXTREME

/* The skewness bound of status 3 at the mode:
 *   kappa = sum_i wt_i |l_i'''(eta_i)| s_i^3,   s_i^2 = x_i' cov x_i,
 * s_i the posterior standard deviation of x_i . w.  In the coordinates z in which the
 * Laplace Gaussian is standard, the third derivative of the log likelihood along a unit
 * direction u is sum_i wt_i l_i''' (c_i . u)^3 with |c_i . u| <= |c_i| = s_i, so kappa
 * bounds it: the log posterior's departure from the Gaussian's quadratic over one
 * standard deviation.  l''' is the family's (lf_<id>_third, with the kernels'
 * parameter: lf_glm_kernel_param).  Calibrated against importance sampling from the
 * Gaussian (bench/calibrate_extreme.py): Pareto k-hat of the weights up to 0.67 where
 * kappa <= LF_GLM_SKEW_MAX, 0.56 to 0.92 above it.  Once per screened problem: out of
 * line. */
#define LF_GLM_SKEW_MAX 2.0
#define LF_CASE_THIRD(code, id, name)                                        \
    case LF_##code: t3 = lf_##id##_third(pb, lr, eta, i); break;
LF_CLONES __attribute__((noinline)) static double
lf_glm_skew(const lf_glm_problem *pb, double lr, const double *eta, const double *cov)
{
    const int n = pb->n, d = pb->d;
    double kappa = 0.0;
    for (int i = 0; i < n; i++) {
        double w = pb->wt ? pb->wt[i] : 1.0, t3 = 0.0;
        if (w == 0.0) continue;
        const double *x = pb->X + (size_t)i * d;
        double s2 = 0.0;
        for (int j = 0; j < d; j++) {
            double t = 0.0;
            for (int k = 0; k < d; k++) t += cov[j * d + k] * x[k];
            s2 += x[j] * t;
        }
        switch (pb->family) { LF_GLM_FAMILIES(LF_CASE_THIRD) }
        kappa += s2 > 0.0 ? w * fabs(t3) * (s2 * sqrt(s2)) : 0.0;
    }
    return kappa;
}
#undef LF_CASE_THIRD

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
    const lf_glm_plan sp = lf_glm_plan_of((size_t)n, (size_t)d);   /* glm_scratch.h */
    double *Xt = scratch + sp.xt;
    /* eta and aux of the current point (index cur) and of the trial point (1 - cur) */
    double *eta_[2] = {scratch + sp.eta0, scratch + sp.eta1};
    double *aux_[2] = {scratch + sp.aux0, scratch + sp.aux1};
    double *lv = scratch + sp.lv, *g = scratch + sp.g, *h = scratch + sp.h;
    /* A: the current point's negative Hessian; At: the trial point's */
    double *A = scratch + sp.A, *Lf = scratch + sp.Lf, *Wk = scratch + sp.Wk;
    double *At = scratch + sp.At, *G = scratch + sp.G, *Gt = scratch + sp.Gt;
    double *delta = scratch + sp.delta, *w = scratch + sp.w, *wt = scratch + sp.wt;
    double *r = scratch + sp.r, *pr = scratch + sp.pr;
    double *bsum = scratch + sp.bsum, *sbuf = scratch + sp.sbuf;
    double *Z = !lf_use_pairs(n, d) ? NULL : pb->Z ? pb->Z : scratch + sp.z;
    const double nan_ = NAN;
    int status = LF_OK, it = 0, nfev = 0, full_prev = 0;
    double step_shift = 1.0;
    double rel_prev = HUGE_VAL;

    if (Z) {
        if (!pb->zready) lf_zbuild_rows(pb->X, n, 0, ld / 4, Z, d);   /* pairs and rows */
    } else {
        lf_glm_transpose(pb->X, n, d, pb->nt, Xt);
    }
    for (int i = n; i < ld; i++) lv[i] = g[i] = h[i] = 0.0;

    /* normalising constants: data part and the prior's -d/2 log 2 pi + 1/2 log det P */
    double minpiv = 0.0;
    double cconst = lf_glm_constant(pb) + pb->prior_const;
    lf_glm_problem q;                   /* pb with the kernels' parameter */
    double lr = lf_glm_kernel_param(pb, &q);

    /* The start: the caller's (a warm start), else one IRLS step from the data's means
     * (lf_glm_start_terms), which saves Newton iterations and most step halvings; the
     * prior mean when the data say nothing (all weights 0), when that step's matrix
     * fails the pivot test or the step is not finite, or (below) when the log joint or
     * its derivatives are not finite at either start. */
    /* own_start: w holds a start other than the prior mean, to fall back from */
    int own_start = !pb->start && lf_glm_start_terms(&q, lr, g, h);
    if (pb->start) {
        for (int j = 0; j < d; j++) w[j] = pb->start[j];
        own_start = lf_all_finite(w, d);
    } else if (own_start) {
        for (int j = 0; j < d; j++) {
            double t = 0.0;
            for (int k = 0; k < d; k++) t += pb->P[j * d + k] * pb->m[k];
            pr[j] = -t;                 /* so that G = X^T g + P m */
        }
        lf_glm_derivs(&q, Xt, Z, g, h, pr, pb->P, sbuf, G, A, d, small);
        for (int j = 0; j < d; j++) w[j] = G[j];
        own_start = lf_ldl_factor_solve(A, d, 0.0, 1e-15, Lf, Wk, &minpiv, w) == 0 &&
                    lf_all_finite(w, d);
        lf_zjob_step(pb->zjob, LF_ZJOB_GROUPS, d);     /* in the factorisation's stalls */
    }
    if (!own_start)
        for (int j = 0; j < d; j++) w[j] = pb->m[j];
    int cur = 0, known;               /* known: L and Lnoise are those of the current w */
    /* trial steps are tested on phi' first where the values cost a transcendental per
     * observation (softplus, log Phi), on the values first where they are nearly free */
    const int deriv_first = !lf_glm_fused(pb->family);
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
        if (fine || !own_start) break;
        own_start = 0;                  /* start again at the prior mean */
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
                     * (bench/RESULTS.md, "Armijo from the curvature bound"). */
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

/* Fit one problem.  scratch: lf_glm_plan_of(n, d).total doubles (glm_scratch.h).  Returns the status.
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

#endif
