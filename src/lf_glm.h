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
 * All sums over observations use eight interleaved partial sums combined in a fixed
 * tree (lf_dot8): the compiler vectorises them, and the bits do not depend on the
 * SIMD width.  X is transposed once per problem into scratch (feature-major), so every
 * pass over the observations is unit-stride.  Gradient and Hessian sums are taken over
 * blocks of LF_GLM_BLOCK observations (cache-resident), added in block order.
 *
 * Newton: direction from the Cholesky factor of A = X^T diag(wt h) X + P (positive
 * definite for every family here; if it fails the relative pivot test a Levenberg-
 * Marquardt shift is added for the step only, RELIABILITY.md rule 2); Armijo step
 * halving (Nocedal & Wright, Numerical Optimization, 2nd ed., alg. 3.1, c1 = 1e-4),
 * non-finite trial points rejected.  Convergence (|step_j| <= tol (1 + |w_j|)) is
 * tested at each iterate before the iteration cap, and the reported Hessian is the
 * unmodified one at the returned point.
 */
#ifndef LF_GLM_H
#define LF_GLM_H

#include <math.h>
#include <stddef.h>
#include "lf_status.h"
#include "lf_linalg.h"
#include "lf_glm_math.h"

enum { LF_LOGISTIC = 0, LF_PROBIT = 1, LF_POISSON = 2, LF_BINOMIAL = 3,
       LF_NEGBIN = 4, LF_GAUSSIAN = 5 };

#define LF_GLM_BLOCK 256
#define LF_GLM_RTOL 1e-13          /* relative pivot test of the reported Hessian */
#define LF_GLM_COND_MAX 1e12       /* status 1 above this 1-norm condition number */
#define LF_GLM_EXTREME 36.0        /* |eta| beyond which a probability is 1 to eps */

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__) \
    && !defined(LF_NO_CLONES)
#define LF_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define LF_CLONES
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
    const double *P;        /* d x d prior precision */
    const double *m;        /* d prior mean */
    double tol;
    int maxiter;
} lf_glm_problem;

typedef struct {
    double *mode, *hess, *cov;
    double log_det_cov, logp, cond;
    int niter, nfev;
} lf_glm_out;

/* doubles of scratch needed for a problem of n observations and d parameters */
LF_INLINE size_t lf_glm_scratch_size(size_t n, size_t d)
{
    return (d + 5) * (n + 8) + LF_GLM_BLOCK * d + 6 * d * d + 8 * d + 64;
}

/* observations are padded to a multiple of 8 in scratch (zero rows, zero weight) */
LF_INLINE int lf_pad8(int n) { return (n + 7) & ~7; }

/* sum_i a_i b_i over n = 8 m terms: eight interleaved partial sums, a fixed tree */
LF_INLINE double lf_dot8(const double *restrict a, const double *restrict b, int n)
{
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < n; i += 8)
        for (int k = 0; k < 8; k++) s[k] += a[i + k] * b[i + k];
    return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}

/* four dot products a . b_q (b_q = b + q ldb) sharing the loads of a; same summation
 * order as lf_dot8, so the bits do not depend on how the products are grouped */
LF_INLINE void lf_dot8x4(const double *restrict a, const double *restrict b, size_t ldb,
                         int n, double *out)
{
    double s0[8] = {0, 0, 0, 0, 0, 0, 0, 0}, s1[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    double s2[8] = {0, 0, 0, 0, 0, 0, 0, 0}, s3[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    const double *restrict b0 = b, *restrict b1 = b + ldb, *restrict b2 = b + 2 * ldb,
                 *restrict b3 = b + 3 * ldb;
    for (int i = 0; i < n; i += 8)
        for (int k = 0; k < 8; k++) {
            double x = a[i + k];
            s0[k] += x * b0[i + k];
            s1[k] += x * b1[i + k];
            s2[k] += x * b2[i + k];
            s3[k] += x * b3[i + k];
        }
    out[0] = ((s0[0] + s0[4]) + (s0[2] + s0[6])) + ((s0[1] + s0[5]) + (s0[3] + s0[7]));
    out[1] = ((s1[0] + s1[4]) + (s1[2] + s1[6])) + ((s1[1] + s1[5]) + (s1[3] + s1[7]));
    out[2] = ((s2[0] + s2[4]) + (s2[2] + s2[6])) + ((s2[1] + s2[5]) + (s2[3] + s2[7]));
    out[3] = ((s3[0] + s3[4]) + (s3[2] + s3[6])) + ((s3[1] + s3[5]) + (s3[3] + s3[7]));
}

/* sum of a and sum of |a| over n = 8 m terms, in the same fixed order */
LF_INLINE double lf_sum8(const double *restrict a, int n, double *abs_sum)
{
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0}, t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < n; i += 8)
        for (int k = 0; k < 8; k++) { s[k] += a[i + k]; t[k] += fabs(a[i + k]); }
    *abs_sum = ((t[0] + t[4]) + (t[2] + t[6])) + ((t[1] + t[5]) + (t[3] + t[7]));
    return ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
}

/* the sigmoid-type families: l = y x - t sp(x), g = y - t s(x), h = t s(x) (1 - s(x)) */
#define LF_SIGMOID_BODY(TEXPR, XEXPR, WEXPR)                                 \
    for (int i = 0; i < n; i++) {                                            \
        double yi = y[i];                                                    \
        double t = (TEXPR), x = (XEXPR);                                     \
        double e = lf_exp(-fabs(x));                                         \
        double sp = (x > 0.0 ? x : 0.0) + lf_log1p_unit(e);                  \
        double inv = 1.0 / (1.0 + e);                                        \
        double s = (x >= 0.0 ? 1.0 : e) * inv;                               \
        double v = e * inv * inv;                                            \
        double w = (WEXPR);                                                  \
        double l = yi * x - t * sp;                                          \
        lv[i] = w != 0.0 ? w * l : 0.0;                                      \
        g[i] = w != 0.0 ? w * (yi - t * s) : 0.0;                            \
        h[i] = w != 0.0 ? w * t * v : 0.0;                                   \
    }
/* separate loops with and without weights: a conditional load blocks vectorisation */
#define LF_SIGMOID_LOOP(TEXPR, XEXPR)                                        \
    if (wt) { LF_SIGMOID_BODY(TEXPR, XEXPR, wt[i]) }                         \
    else { LF_SIGMOID_BODY(TEXPR, XEXPR, 1.0) }

/* per-observation log-likelihood terms lv, and g = dl/deta, h = -d2l/deta2, weighted */
LF_INLINE void lf_glm_family(const lf_glm_problem *pb, double lr, const double *restrict eta,
                                 double *restrict lv, double *restrict g, double *restrict h)
{
    const int n = pb->n;
    const double *restrict y = pb->y, *restrict wt = pb->wt, *restrict tr = pb->trials;
    switch (pb->family) {
    case LF_LOGISTIC:
        LF_SIGMOID_LOOP(1.0, eta[i]);
        break;
    case LF_BINOMIAL:
        LF_SIGMOID_LOOP(tr[i], eta[i]);
        break;
    case LF_NEGBIN:
        LF_SIGMOID_LOOP(yi + lr, eta[i] - pb->param);
        break;
    case LF_POISSON:
#define LF_POISSON_BODY(WEXPR)                                               \
        for (int i = 0; i < n; i++) {                                        \
            double x = eta[i], yi = y[i];                                    \
            double mu = lf_exp(x);                                           \
            double w = (WEXPR);                                              \
            double l = (yi != 0.0 ? yi * x : 0.0) - mu;                      \
            lv[i] = w != 0.0 ? w * l : 0.0;                                  \
            g[i] = w != 0.0 ? w * (yi - mu) : 0.0;                           \
            h[i] = w != 0.0 ? w * mu : 0.0;                                  \
        }
        if (wt) { LF_POISSON_BODY(wt[i]) } else { LF_POISSON_BODY(1.0) }
        break;
    case LF_GAUSSIAN: {
        double is2 = 1.0 / (pb->param * pb->param);
#define LF_GAUSSIAN_BODY(WEXPR)                                              \
        for (int i = 0; i < n; i++) {                                        \
            double r = y[i] - eta[i];                                        \
            double w = (WEXPR);                                              \
            lv[i] = w != 0.0 ? -0.5 * w * (r * r) * is2 : 0.0;               \
            g[i] = w != 0.0 ? w * r * is2 : 0.0;                             \
            h[i] = w != 0.0 ? w * is2 : 0.0;                                 \
        }
        if (wt) { LF_GAUSSIAN_BODY(wt[i]) } else { LF_GAUSSIAN_BODY(1.0) }
        break;
    }
    case LF_PROBIT:
        for (int i = 0; i < n; i++) {
            double w = wt ? wt[i] : 1.0;
            if (w == 0.0) { lv[i] = g[i] = h[i] = 0.0; continue; }
            double q = y[i] != 0.0 ? 1.0 : -1.0, lam, tail;
            double lp = lf_log_ndtr(q * eta[i], &lam, &tail);
            lv[i] = w * lp;
            g[i] = w * q * lam;
            h[i] = w * lam * tail;
        }
        break;
    }
}

/* the data-only part of the log-likelihood */
LF_INLINE double lf_glm_constant(const lf_glm_problem *pb)
{
    const int n = pb->n;
    double c = 0.0;
    for (int i = 0; i < n; i++) {
        double w = pb->wt ? pb->wt[i] : 1.0, y = pb->y[i], t;
        if (w == 0.0) continue;
        switch (pb->family) {
        case LF_POISSON: c -= w * lf_logfact(y); break;
        case LF_BINOMIAL:
            t = pb->trials[i];
            c += w * ((lf_logfact(t) - lf_logfact(y)) - lf_logfact(t - y));
            break;
        case LF_NEGBIN: {
            double r = 1.0 / pb->param;
            c += w * ((lf_lgamma(y + r) - lf_lgamma(r)) - lf_logfact(y));
            break;
        }
        case LF_GAUSSIAN:
            c -= w * (LF_HALF_LOG_2PI + log(pb->param));
            break;
        default: break;
        }
    }
    return c;
}

/* log post at w; leaves eta, lv, g, h for w in scratch.  *noise bounds the rounding
 * error of the value (a few ulps of the sum of the magnitudes of its terms). */
LF_INLINE double lf_glm_eval(const lf_glm_problem *pb, const double *Xt, double lr,
                             double cconst, const double *w, double *restrict eta,
                             double *lv, double *g, double *h, double *r, double *noise)
{
    const int n = pb->n, d = pb->d, ld = lf_pad8(n);
    if (pb->off) for (int i = 0; i < n; i++) eta[i] = pb->off[i];
    else for (int i = 0; i < n; i++) eta[i] = 0.0;
    for (int j = 0; j < d; j++) {
        const double *restrict xj = Xt + (size_t)j * ld;
        double wj = w[j];
        for (int i = 0; i < n; i++) eta[i] += xj[i] * wj;
    }
    lf_glm_family(pb, lr, eta, lv, g, h);
    double labs;
    double ll = lf_sum8(lv, ld, &labs);
    double q = 0.0;
    for (int j = 0; j < d; j++) r[j] = w[j] - pb->m[j];
    for (int j = 0; j < d; j++) {
        double t = 0.0;
        for (int k = 0; k < d; k++) t += pb->P[j * d + k] * r[k];
        q += r[j] * t;
    }
    *noise = 4e-15 * (labs + fabs(cconst) + 0.5 * fabs(q));
    return (ll + cconst) - 0.5 * q;
}

/* gradient G and negative Hessian A (full symmetric) of log post, from g, h at w */
LF_INLINE void lf_glm_derivs(const lf_glm_problem *pb, const double *Xt, const double *g,
                             const double *h, const double *r, double *u, double *G,
                             double *A)
{
    const int n = pb->n, d = pb->d, ld = lf_pad8(n);
    for (int j = 0; j < d; j++) G[j] = 0.0;
    for (int j = 0; j < d * d; j++) A[j] = 0.0;
    for (int c0 = 0; c0 < ld; c0 += LF_GLM_BLOCK) {
        int len = ld - c0 < LF_GLM_BLOCK ? ld - c0 : LF_GLM_BLOCK;
        for (int j = 0; j < d; j++) {
            const double *restrict xj = Xt + (size_t)j * ld + c0;
            double *restrict uj = u + (size_t)j * LF_GLM_BLOCK;
            const double *restrict hb = h + c0;
            for (int i = 0; i < len; i++) uj[i] = xj[i] * hb[i];
        }
        for (int j = 0; j < d; j++) {
            const double *xj = Xt + (size_t)j * ld + c0;
            G[j] += lf_dot8(xj, g + c0, len);
            const double *uj = u + (size_t)j * LF_GLM_BLOCK;
            int k = 0;
            double o[4];
            for (; k + 4 <= j + 1; k += 4) {
                lf_dot8x4(uj, Xt + (size_t)k * ld + c0, (size_t)ld, len, o);
                A[j * d + k] += o[0];
                A[j * d + k + 1] += o[1];
                A[j * d + k + 2] += o[2];
                A[j * d + k + 3] += o[3];
            }
            for (; k <= j; k++)
                A[j * d + k] += lf_dot8(uj, Xt + (size_t)k * ld + c0, len);
        }
    }
    for (int j = 0; j < d; j++) {
        double t = 0.0;
        for (int k = 0; k < d; k++) t += pb->P[j * d + k] * r[k];
        G[j] -= t;
        for (int k = 0; k <= j; k++) {
            double a = A[j * d + k] + 0.5 * (pb->P[j * d + k] + pb->P[k * d + j]);
            A[j * d + k] = a;
            A[k * d + j] = a;
        }
    }
}

LF_INLINE int lf_all_finite(const double *a, int n)
{
    int ok = 1;
    for (int i = 0; i < n; i++) ok &= isfinite(a[i]) ? 1 : 0;
    return ok;
}

/* caveat / divergence test for the final eta: 1 when separation-like */
LF_INLINE int lf_glm_extreme(const lf_glm_problem *pb, const double *eta, int *witness)
{
    int extreme = 0, sep = 1, any = 0;
    for (int i = 0; i < pb->n; i++) {
        double w = pb->wt ? pb->wt[i] : 1.0;
        if (w == 0.0) continue;
        double e = eta[i], y = pb->y[i];
        double xw = pb->off ? e - pb->off[i] : e;     /* the part the parameters set */
        any = 1;
        switch (pb->family) {
        case LF_LOGISTIC: case LF_PROBIT: case LF_BINOMIAL: {
            double t = pb->family == LF_BINOMIAL ? pb->trials[i] : 1.0;
            if (fabs(e) > LF_GLM_EXTREME) extreme = 1;
            if (!((y == 0.0 && xw < 0.0) || (y == t && xw > 0.0))) sep = 0;
            break;
        }
        case LF_POISSON: case LF_NEGBIN:
            if (e < -LF_GLM_EXTREME) extreme = 1;
            sep = 0;
            break;
        default:
            sep = 0;
        }
    }
    *witness = any && sep;
    return extreme || (any && sep);
}

/* Fit one problem.  scratch: lf_glm_scratch_size(n, d) doubles.  Returns the status. */
LF_CLONES static int lf_glm_fit_one(const lf_glm_problem *pb, lf_glm_out *out, double *scratch)
{
    const int n = pb->n, d = pb->d, ld = lf_pad8(n);
    double *Xt = scratch;
    double *eta = Xt + (size_t)d * ld, *lv = eta + ld, *g = lv + ld, *h = g + ld;
    double *u = h + ld;
    double *A = u + (size_t)LF_GLM_BLOCK * d, *Lf = A + d * d, *Wk = Lf + d * d;
    double *G = Wk + d * d, *delta = G + d, *w = delta + d, *wt = w + d, *r = wt + d;
    const double nan_ = NAN;
    int status = LF_OK, it = 0, nfev = 0, full_prev = 0;
    double rel_prev = HUGE_VAL;

    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++) Xt[(size_t)j * ld + i] = pb->X[(size_t)i * d + j];
    for (int j = 0; j < d; j++)
        for (int i = n; i < ld; i++) Xt[(size_t)j * ld + i] = 0.0;
    for (int i = n; i < ld; i++) lv[i] = g[i] = h[i] = 0.0;

    /* normalising constants: data part and the prior's -d/2 log 2 pi + 1/2 log det P */
    for (int j = 0; j < d * d; j++) Lf[j] = pb->P[j];
    double lpc = (lf_cholesky(Lf, d, 0.0) == 0) ? 0.5 * lf_chol_logdet(Lf, d) : nan_;
    lpc -= d * LF_HALF_LOG_2PI;
    double cconst = lf_glm_constant(pb) + lpc;
    double lr = pb->family == LF_NEGBIN ? 1.0 / pb->param : 0.0;
    lf_glm_problem q = *pb;
    if (pb->family == LF_NEGBIN) q.param = log(lr);    /* the kernel wants log r */

    for (int j = 0; j < d; j++) w[j] = pb->m[j];
    double Lnoise, Ltnoise = 0.0;
    double L = lf_glm_eval(&q, Xt, lr, cconst, w, eta, lv, g, h, r, &Lnoise);
    nfev++;
    if (!isfinite(L)) {
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
        lf_glm_derivs(&q, Xt, g, h, r, u, G, A);
        if (!lf_all_finite(G, d)) { status = LF_NONFINITE_FIT; break; }
        if (!lf_all_finite(A, d * d)) { status = LF_HESSIAN_NONFINITE; break; }
        /* Newton direction; Levenberg-Marquardt shift if A fails the pivot test */
        double dmax = 0.0;
        for (int j = 0; j < d; j++) dmax = A[j * d + j] > dmax ? A[j * d + j] : dmax;
        double shift = 0.0;
        int rc = 1;
        for (int tries = 0; tries < 60 && rc; tries++) {
            for (int j = 0; j < d * d; j++) Lf[j] = A[j];
            for (int j = 0; j < d; j++) Lf[j * d + j] += shift;
            rc = lf_cholesky(Lf, d, 1e-15);
            shift = shift == 0.0 ? 1e-12 * (dmax > 0 ? dmax : 1.0) : 4.0 * shift;
        }
        if (rc) { status = LF_SINGULAR; break; }
        for (int j = 0; j < d; j++) delta[j] = G[j];
        lf_chol_solve(Lf, d, delta);
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
        double slack;
        for (int ls = 0; ls < 60; ls++) {
            for (int j = 0; j < d; j++) wt[j] = w[j] + step * delta[j];
            Lt = lf_glm_eval(&q, Xt, lr, cconst, wt, eta, lv, g, h, r, &Ltnoise);
            nfev++;
            /* Armijo, up to the rounding error of the two values */
            slack = Lnoise + Ltnoise;
            if (isfinite(Lt) && Lt >= L + 1e-4 * step * dec - slack) { accepted = 1; break; }
            step *= 0.5;
        }
        it++;
        if (!accepted) {
            status = LF_NO_PROGRESS;
            for (int j = 0; j < d; j++) r[j] = w[j] - pb->m[j];
            break;
        }
        for (int j = 0; j < d; j++) w[j] = wt[j];
        L = Lt;
        Lnoise = Ltnoise;
        full_prev = step == 1.0;
    }

    for (int j = 0; j < d; j++) out->mode[j] = w[j];
    for (int j = 0; j < d * d; j++) out->hess[j] = -A[j];
    out->logp = L;
    out->niter = it;
    out->nfev = nfev;
    out->log_det_cov = nan_;
    out->cond = HUGE_VAL;
    if (status == LF_OK || status == LF_MAXITER || status == LF_NO_PROGRESS) {
        for (int j = 0; j < d * d; j++) Lf[j] = A[j];
        if (lf_cholesky(Lf, d, LF_GLM_RTOL) == 0) {
            lf_chol_inverse(Lf, d, out->cov, Wk);
            out->log_det_cov = -lf_chol_logdet(Lf, d);
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
                if (lf_glm_extreme(pb, eta, &witness)) status = LF_EXTREME_PREDICTOR;
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

/* Data checks (before any work): bit flags, 0 = fine.
 * 1 X not finite, 2 y not finite, 4 y outside the support, 8 offset not finite,
 * 16 weights not finite or negative, 32 trials not a non-negative integer. */
LF_INLINE int lf_glm_check(int family, int n, int d, const double *X, const double *y,
                               const double *off, const double *wt, const double *tr)
{
    int flags = 0;
    double sx = 0.0;
    for (size_t i = 0; i < (size_t)n * d; i++) sx += X[i] * 0.0;
    if (sx != 0.0) flags |= 1;              /* inf * 0 and NaN * 0 are NaN */
    for (int i = 0; i < n; i++) {
        double v = y[i];
        if (!isfinite(v)) { flags |= 2; continue; }
        switch (family) {
        case LF_LOGISTIC: case LF_PROBIT:
            if (!(v == 0.0 || v == 1.0)) flags |= 4;
            break;
        case LF_POISSON: case LF_NEGBIN:
            if (!(v >= 0.0 && v == floor(v))) flags |= 4;
            break;
        case LF_BINOMIAL: {
            double t = tr[i];
            if (!(isfinite(t) && t >= 0.0 && t == floor(t))) flags |= 32;
            else if (!(v >= 0.0 && v == floor(v) && v <= t)) flags |= 4;
            break;
        }
        default: break;
        }
    }
    if (off) for (int i = 0; i < n; i++) if (!isfinite(off[i])) flags |= 8;
    if (wt) for (int i = 0; i < n; i++) if (!(isfinite(wt[i]) && wt[i] >= 0.0)) flags |= 16;
    return flags;
}

#endif
