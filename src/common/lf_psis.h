/* Pareto-smoothed importance sampling (PSIS) of one problem's draws, and the moments
 * of the smoothed weights: what laplace_fast._psis and laplace_fast._importance run for
 * every problem of a batch, one problem per thread.
 *
 * Vehtari, Simpson, Gelman, Yao and Gabry, "Pareto smoothed importance sampling", JMLR
 * 25 (2024): the largest M = ceil(min(S / 5, 3 sqrt(S))) of the S log ratios exceed the
 * (M + 1)-th largest, c, by x = exp(r) - exp(c) (after a shift by the largest); x is
 * fitted by a generalised Pareto distribution (Zhang and Stephens, Technometrics 51(3),
 * 2009, with the weak prior that pulls the shape k towards 0.5 with the weight of 10
 * observations) and replaced, in its order, by log(exp(c) + q_z), q_z the fitted
 * quantiles at (z - 1/2) / M, capped at the largest ratio.
 *
 * Only the tail is ordered: a selection (quickselect, median-of-three pivots) puts the
 * M + 1 largest ratios last, and an insertion sort orders those.  Ratios are ordered by
 * (value, draw index), the order of a stable sort, so ties (-inf, or a flat tail) are
 * broken by the draw's index.  Each problem's numbers come from its own ratios by fixed
 * sequential sums: the same bits alone and inside a batch, whatever the thread count.
 * libm's exp, log, log1p and expm1 throughout (the fit's accuracy is arviz's). */
#ifndef LF_PSIS_H
#define LF_PSIS_H

#include <float.h>
#include <math.h>
#include <stddef.h>

#include "lf_portable.h"

#define LF_PSIS_PRIOR_K 10.0       /* the prior's weight on k, in observations */
#define LF_PSIS_PRIOR_K_MEAN 0.5   /* where it pulls k */
#define LF_PSIS_PRIOR_SCALE 3.0    /* the grid's spread in first quartiles (Zhang-Stephens) */

/* ceil(min(S / 5, 3 sqrt(S))) */
LF_INLINE int lf_psis_tail(int S)
{
    double a = 0.2 * S, b = 3.0 * sqrt((double)S);
    return (int)ceil(a < b ? a : b);
}

/* doubles of scratch lf_psis_one needs for S draws (the index array counted as doubles) */
LF_INLINE size_t lf_psis_scratch(int S)
{
    int M = lf_psis_tail(S);
    return (size_t)S + 2 * (size_t)M + 64 + (size_t)sqrt((double)M);
}

/* draw a before draw b in the order (value, index) */
LF_INLINE int lf_psis_less(const double *lw, int a, int b)
{
    return lw[a] < lw[b] || (lw[a] == lw[b] && a < b);
}

/* idx (a permutation of 0..S-1) rearranged so that its last k entries are the k largest
 * draws, in ascending order */
static void lf_psis_top(const double *lw, int *idx, int S, int k)
{
    int lo = 0, hi = S - 1;
    const int want = S - k;         /* idx[want..] are the k largest */
    while (hi - lo > 16) {
        int mid = lo + (hi - lo) / 2, t;
        /* median of three into idx[mid], then swapped to hi - 1 as the pivot */
        if (lf_psis_less(lw, idx[mid], idx[lo])) { t = idx[mid]; idx[mid] = idx[lo]; idx[lo] = t; }
        if (lf_psis_less(lw, idx[hi], idx[lo])) { t = idx[hi]; idx[hi] = idx[lo]; idx[lo] = t; }
        if (lf_psis_less(lw, idx[hi], idx[mid])) { t = idx[hi]; idx[hi] = idx[mid]; idx[mid] = t; }
        int piv = idx[mid];
        idx[mid] = idx[hi - 1];
        idx[hi - 1] = piv;
        int i = lo, j = hi - 1;
        for (;;) {
            while (lf_psis_less(lw, idx[++i], piv)) {}
            while (lf_psis_less(lw, piv, idx[--j])) {}
            if (i >= j) break;
            t = idx[i]; idx[i] = idx[j]; idx[j] = t;
        }
        idx[hi - 1] = idx[i];
        idx[i] = piv;
        if (i == want) { lo = want + 1; break; }
        if (i < want) lo = i + 1; else hi = i - 1;
    }
    /* every draw from the range up in order (insertion sort): the draws below lo are
     * smaller than all of them, so the last k are the k largest */
    int from = lo < want ? lo : want;
    for (int a = from + 1; a < S; a++) {
        int v = idx[a], b = a - 1;
        while (b >= from && lf_psis_less(lw, v, idx[b])) { idx[b + 1] = idx[b]; b--; }
        idx[b + 1] = v;
    }
}

/* The generalised Pareto fit of Zhang and Stephens to the M exceedances x (ascending,
 * the largest positive): the shape k (with the weak prior applied) and *sigma.  With
 * b = -k / sigma and k(b) = mean log(1 - b x), the fit is the posterior mean of b over
 * m = 30 + floor(sqrt(M)) grid points weighted by the profile likelihood
 * M (log(-b / k(b)) - k(b) - 1); grid points of weight below 10 eps are dropped. */
static double lf_gpd_fit(const double *x, int M, double *theta, double *prof,
                         double *sigma)
{
    const int m = 30 + (int)sqrt((double)M);
    const double xmax = x[M - 1];
    double xq = x[(int)(M / 4.0 + 0.5) - 1];
    xq = xq > 0 ? xq : xmax;    /* a quartile tied at the cutoff: the largest sets the scale */
    double top = -HUGE_VAL;
    for (int j = 0; j < m; j++) {
        double th = 1.0 / xmax + (1.0 - sqrt(m / (j + 0.5))) / (LF_PSIS_PRIOR_SCALE * xq);
        double kt = 0.0;
        for (int i = 0; i < M; i++) kt += log1p(-th * x[i]);
        kt /= M;
        double p = M * (log(-th / kt) - kt - 1.0);
        p = isfinite(p) ? p : -HUGE_VAL;
        theta[j] = th;
        prof[j] = p;
        top = p > top ? p : top;
    }
    double tot = 0.0;
    for (int j = 0; j < m; j++) { prof[j] = exp(prof[j] - top); tot += prof[j]; }
    double kept = 0.0;
    for (int j = 0; j < m; j++) {
        double w = prof[j] / tot;
        prof[j] = w >= 10 * DBL_EPSILON ? w : 0.0;
        kept += prof[j];
    }
    double b = 0.0;
    for (int j = 0; j < m; j++) b += (prof[j] / kept) * theta[j];
    double k = 0.0;
    for (int i = 0; i < M; i++) k += log1p(-b * x[i]);
    k /= M;
    *sigma = -k / b;
    return (M * k + LF_PSIS_PRIOR_K * LF_PSIS_PRIOR_K_MEAN) / (M + LF_PSIS_PRIOR_K);
}

/* Smooth the S log ratios lw into out (unnormalised, the draws' order); returns khat:
 * -inf when the tail has no spread, +inf when fewer than M + 1 ratios are finite (then
 * out = lw).  scratch: lf_psis_scratch(S) doubles. */
static double lf_psis_one(const double *lw, int S, double *out, double *scratch)
{
    const int M = lf_psis_tail(S);
    int *idx = (int *)scratch;      /* S ints in the room of S doubles */
    double *x = scratch + S, *theta = x + M, *prof = theta + M + 32;
    for (int s = 0; s < S; s++) { idx[s] = s; out[s] = lw[s]; }
    lf_psis_top(lw, idx, S, M + 1);
    const int *tail = idx + (S - M);
    const double cut = lw[idx[S - M - 1]];
    if (!isfinite(cut)) return HUGE_VAL;
    const double shift = lw[idx[S - 1]];
    const double ecut = exp(cut - shift);
    for (int z = 0; z < M; z++) x[z] = exp(lw[tail[z]] - shift) - ecut;
    if (!(x[M - 1] > 0)) return -HUGE_VAL;
    double sigma, k = lf_gpd_fit(x, M, theta, prof, &sigma);
    if (!(isfinite(k) && isfinite(sigma) && sigma > 0)) return k;
    for (int z = 0; z < M; z++) {
        double lp = log1p(-(z + 0.5) / M);
        double q = k == 0 ? -sigma * lp : sigma * expm1(-k * lp) / k;
        double v = log(ecut + q);
        out[tail[z]] = (v < 0.0 ? v : 0.0) + shift;
    }
    return k;
}

/* The estimates from the smoothed log weights sm of S draws th (S x d): *log_z = log
 * mean exp(sm), *ess = 1 / sum w^2, mean (d) and cov (d x d) weighted by w = exp(sm) /
 * sum exp(sm).  When every sm is -inf: -inf, 0 and NaN.  scratch: S doubles. */
static void lf_psis_moments(const double *sm, const double *th, int S, int d,
                            double *log_z, double *ess, double *mean, double *cov,
                            double *scratch)
{
    double top = -HUGE_VAL;
    for (int s = 0; s < S; s++) top = sm[s] > top ? sm[s] : top;
    if (!isfinite(top)) {
        *log_z = -HUGE_VAL;
        *ess = 0.0;
        for (int j = 0; j < d; j++) mean[j] = NAN;
        for (int j = 0; j < d * d; j++) cov[j] = NAN;
        return;
    }
    double *w = scratch, tot = 0.0, ss = 0.0;
    for (int s = 0; s < S; s++) { w[s] = exp(sm[s] - top); tot += w[s]; }
    *log_z = (log(tot) + top) - log((double)S);
    for (int j = 0; j < d; j++) mean[j] = 0.0;
    for (int j = 0; j < d * d; j++) cov[j] = 0.0;
    for (int s = 0; s < S; s++) {
        double ws = w[s] / tot;
        w[s] = ws;
        ss += ws * ws;
        for (int j = 0; j < d; j++) mean[j] += ws * th[(size_t)s * d + j];
    }
    *ess = 1.0 / ss;
    for (int s = 0; s < S; s++) {
        const double *t = th + (size_t)s * d;
        for (int j = 0; j < d; j++) {
            double rj = w[s] * (t[j] - mean[j]);
            for (int k = 0; k <= j; k++) cov[j * d + k] += rj * (t[k] - mean[k]);
        }
    }
    for (int j = 0; j < d; j++)
        for (int k = 0; k < j; k++) cov[k * d + j] = cov[j * d + k];
}

#endif
