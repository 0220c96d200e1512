/* What the family headers share: the signatures of the point functions, their "none"
 * forms, the loops over the observations that several families run with other
 * expressions (the sigmoid families', the start's, the eight partial sums of the
 * bounds) and the shared support, start and screen loops.  The convention itself is
 * written once, atop glm_families.h.
 *
 * The loop macros read the locals of LF_FAMILY_LOCALS (n, y, wt, tr) and the point
 * function's own arguments by name (eta, aux, lv, g, h, s, ...); WEXPR is the weight of
 * row i (wt[i], or 1.0 in the unweighted copy of the loop: LF_WEIGHTED). */
#ifndef GLM_FAMILY_LOOPS_H
#define GLM_FAMILY_LOOPS_H

#include <math.h>
#include <stdint.h>
#include "lf_portable.h"
#include "lf_status.h"
#include "lf_elementary.h"
#include "lf_sums.h"
#include "glm_problem.h"

/* --- the signatures of the point functions (glm_families.h) --------------------- */
#define LF_TERMS_ARGS                                                        \
    const lf_glm_problem *pb, double lr, const double *restrict eta,         \
    double *restrict aux, double *restrict lv, double *restrict g,           \
    double *restrict h
#define LF_VALUES_ARGS                                                       \
    const lf_glm_problem *pb, double lr, const double *restrict eta,         \
    const double *restrict aux, double *restrict lv
#define LF_BLOCK_VALUE_ARGS                                                  \
    const lf_glm_problem *pb, const double *eta, const double *aux, int c0,  \
    int len, double *bsum, double *babs
#define LF_START_ARGS                                                        \
    const lf_glm_problem *pb, double lr, double *restrict g, double *restrict h
#define LF_VALUE_BOUND_ARGS                                                  \
    const lf_glm_problem *pb, double lr, const double *restrict eta
#define LF_CURVATURE_ARGS                                                    \
    const lf_glm_problem *pb, double lr, const double *restrict eta0,        \
    const double *restrict aux0, const double *restrict eta1,                \
    const double *restrict aux1
#define LF_CONSTANT_ARGS const lf_glm_problem *pb
#define LF_SUPPORT_ARGS int n, const double *y, const double *tr
#define LF_EXTREME_ARGS const lf_glm_problem *pb, const double *eta, int *witness
#define LF_THIRD_ARGS const lf_glm_problem *pb, double lr, const double *eta, int i
#define LF_PARAM_ARGS double param, double *kparam

/* the problem's rows, as the loop macros name them */
#define LF_FAMILY_LOCALS(pb)                                                 \
    const int n = (pb)->n;                                                   \
    const double *restrict y = (pb)->y, *restrict wt = (pb)->wt;             \
    const double *restrict tr = (pb)->trials;                                \
    (void)n; (void)y; (void)wt; (void)tr

/* --- the "none" forms (what each one means: glm_families.h) --------------------- */
#define LF_NO_VALUES(id)                                                     \
    enum { lf_##id##_fused = 1 };                                            \
    LF_INLINE void lf_##id##_values(LF_VALUES_ARGS)                          \
    { (void)pb; (void)lr; (void)eta; (void)aux; (void)lv; }
#define LF_NO_BLOCK_VALUE(id)                                                \
    LF_INLINE int lf_##id##_block_value(LF_BLOCK_VALUE_ARGS)                 \
    {                                                                        \
        (void)pb; (void)eta; (void)aux; (void)c0; (void)len; (void)bsum;     \
        (void)babs;                                                          \
        return 0;                                                            \
    }
#define LF_NO_VALUE_BOUND(id)                                                \
    LF_INLINE double lf_##id##_value_bound(LF_VALUE_BOUND_ARGS)              \
    { (void)pb; (void)lr; (void)eta; return HUGE_VAL; }
#define LF_NO_CURVATURE(id)                                                  \
    LF_INLINE double lf_##id##_curvature(LF_CURVATURE_ARGS)                  \
    {                                                                        \
        (void)pb; (void)lr; (void)eta0; (void)aux0; (void)eta1; (void)aux1;  \
        return HUGE_VAL;                                                     \
    }
#define LF_NO_CONSTANT(id)                                                   \
    LF_INLINE double lf_##id##_constant(LF_CONSTANT_ARGS) { (void)pb; return 0.0; }
#define LF_NO_EXTREME(id)                                                    \
    LF_INLINE int lf_##id##_extreme(LF_EXTREME_ARGS)                         \
    { (void)pb; (void)eta; *witness = 0; return 0; }
#define LF_NO_PARAM(id)                                                      \
    LF_INLINE double lf_##id##_param(LF_PARAM_ARGS)                          \
    { (void)param; (void)kparam; return 0.0; }

/* --- loops ---------------------------------------------------------------------- */
/* separate loops with and without weights: a conditional load blocks vectorisation */
#define LF_WEIGHTED(BODY)                                                    \
    if (wt) { BODY(wt[i]) } else { BODY(1.0) }
#define LF_WEIGHTED_ARGS(BODY, ...)                                          \
    if (wt) { BODY(__VA_ARGS__, wt[i]) } else { BODY(__VA_ARGS__, 1.0) }

/* the eight partial sums s[0..7] of a bound, zeroed by a loop: zeroed by an
 * initialiser, gcc 12 at x86-64-v3 drops a lane of the sigmoid curvature's sums once
 * the point function is inlined (test_line_search_curvature_bound_holds_on_the_segment) */
#define LF_EIGHT_ZEROS(s)                                                    \
    double s[8];                                                             \
    for (int k = 0; k < 8; k++) s[k] = 0.0
/* TERM(..., k) for i < n into the partial sums s[k], k = i mod 8 (the last n mod 8 into
 * s[0]) */
#define LF_EIGHT_SUMS(TERM, A, B, C)                                         \
    for (int i8 = 0; i8 < (n & ~7); i8 += 8)                                 \
        for (int k = 0; k < 8; k++) {                                        \
            int i = i8 + k;                                                  \
            TERM(A, B, C, k)                                                 \
        }                                                                    \
    for (int i = n & ~7; i < n; i++) TERM(A, B, C, 0)

/* The sigmoid families (logistic, binomial, negative binomial): l = y x - t sp(x),
 * g = y - t s(x), h = t s(x) (1 - s(x)), with t (TEXPR) and x (XEXPR, or eta - SHIFT)
 * per row; aux = e = exp(-|x|), computed in a loop of its own: each loop body is then
 * short enough for the out-of-order window to hold several vectors' dependency chains. */
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
/* |y x - t sp(x)| <= (|y| + t) (|x| + 1), as sp(x) <= |x| + log 2 */
#define LF_SIGMOID_BOUND_TERM(TEXPR, XEXPR, WEXPR, K)                        \
    {                                                                        \
        double yi = y[i];                                                    \
        double t = (TEXPR), x = (XEXPR), w = (WEXPR);                        \
        s[K] += w * ((fabs(yi) + t) * (fabs(x) + 1.0));                      \
    }
#define LF_SIGMOID_BOUND(TEXPR, XEXPR, WEXPR)                                \
    LF_EIGHT_SUMS(LF_SIGMOID_BOUND_TERM, TEXPR, XEXPR, WEXPR)
/* h = wt t e / (1 + e)^2 <= wt t min(e, 1/4), e largest at an end of the segment unless
 * x changes sign on it (then 1, at x = 0) */
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

/* A sigmoid family's point functions, one line each in its header: TEXPR and XEXPR
 * (SHIFT) as above, in the names of LF_FAMILY_LOCALS, yi = y[i] and lr */
#define LF_SIGMOID_TERMS(id, TEXPR, XEXPR)                                   \
    LF_INLINE void lf_##id##_terms(LF_TERMS_ARGS)                            \
    {                                                                        \
        LF_FAMILY_LOCALS(pb);                                                \
        (void)lr; (void)lv;                                                  \
        LF_WEIGHTED_ARGS(LF_SIGMOID_DERIV, TEXPR, XEXPR);                    \
    }
#define LF_SIGMOID_VALUES(id, TEXPR, XEXPR)                                  \
    enum { lf_##id##_fused = 0 };                                            \
    LF_INLINE void lf_##id##_values(LF_VALUES_ARGS)                          \
    {                                                                        \
        LF_FAMILY_LOCALS(pb);                                                \
        (void)lr;                                                            \
        LF_WEIGHTED_ARGS(LF_SIGMOID_VALUE, TEXPR, XEXPR);                    \
    }
#define LF_SIGMOID_EIGHT_SUMS(id, fn, ARGS, LOOP, TEXPR, X)                  \
    LF_INLINE double lf_##id##_##fn(ARGS)                                    \
    {                                                                        \
        LF_FAMILY_LOCALS(pb);                                                \
        LF_EIGHT_ZEROS(s);                                                   \
        (void)lr;                                                            \
        LF_WEIGHTED_ARGS(LOOP, TEXPR, X);                                    \
        return LF_RED8(s);                                                   \
    }
#define LF_SIGMOID_VALUE_BOUND(id, TEXPR, XEXPR)                             \
    LF_SIGMOID_EIGHT_SUMS(id, value_bound, LF_VALUE_BOUND_ARGS, LF_SIGMOID_BOUND, \
                          TEXPR, XEXPR)
#define LF_SIGMOID_CURVATURE(id, TEXPR, SHIFT)                               \
    LF_SIGMOID_EIGHT_SUMS(id, curvature, LF_CURVATURE_ARGS, LF_SIGMOID_CURV, TEXPR, SHIFT)
/* l''' = -t s (1 - s) (1 - 2 s) = sign(x) t e (1 - e) / (1 + e)^3 */
#define LF_SIGMOID_THIRD(id, TEXPR, XEXPR)                                   \
    LF_INLINE double lf_##id##_third(LF_THIRD_ARGS)                          \
    {                                                                        \
        LF_FAMILY_LOCALS(pb);                                                \
        double yi = y[i];                                                    \
        double t = (TEXPR), u = (XEXPR);                                     \
        double e = lf_exp_neg(-fabs(u)), p = 1.0 + e;                        \
        (void)yi; (void)lr;                                                  \
        double a = t * (e * (1.0 - e)) / (p * p * p);                        \
        return u >= 0.0 ? a : -a;                                            \
    }

/* The start's terms (lf_glm_start_terms) from the link of the first mean E0 = eta0,
 * the IRLS weight H0 = h0 and R0 = (y - mu0) h0 deta/dmu: h = wt h0, g = wt R0 + h e0
 * (the offsets are the caller's); any: some h > 0 */
#define LF_START_TERMS(E0, H0, R0, WEXPR)                                    \
    for (int i = 0; i < n; i++) {                                            \
        double yi = y[i], w = (WEXPR);                                       \
        double e0 = (E0), h0 = (H0);                                         \
        double hi = w * h0;                                                  \
        h[i] = hi;                                                           \
        g[i] = w * (R0) + hi * e0;                                           \
        any |= hi > 0.0;                                                     \
    }

/* lf_log_pos out of line: a call that a loop branches around rather than computes */
__attribute__((noinline)) static double lf_log_pos_call(double x) { return lf_log_pos(x); }

/* the count families' eta0 = log(y + 0.1) into g: from a table for counts below
 * LF_LOGFACT_N (a lookup, not a series a row), lf_log_pos for the others */
LF_INLINE void lf_count_start_eta(int n, const double *restrict y, double *restrict g)
{
    for (int i = 0; i < n; i++) {
        double yi = y[i];
        g[i] = yi < LF_LOGFACT_N ? lf_logy01_table[(int)yi] : lf_log_pos_call(yi + 0.1);
    }
}

/* --- support checks: the LF_CHECK_ bits of y (lf_glm_check) ---------------------- */
/* y's finiteness and support in one pass, one or-reduction per test rather than a
 * compare per element; the support is not judged on non-finite values */
#define LF_SUPPORT_PASS(BAD)                                                 \
    uint64_t ynf = 0;                                                        \
    int bad = 0;                                                             \
    for (int i = 0; i < n; i++) {                                            \
        double v = y[i];                                                     \
        ynf |= lf_asu64(v - v);                                              \
        bad |= (BAD);                                                        \
    }                                                                        \
    return ynf ? LF_CHECK_Y_NONFINITE : bad ? LF_CHECK_Y_SUPPORT : 0;
LF_INLINE int lf_support_binary(int n, const double *y)
{
    LF_SUPPORT_PASS((v != 0.0) & (v != 1.0))
}
LF_INLINE int lf_support_counts(int n, const double *y)
{
    LF_SUPPORT_PASS(!(v >= 0.0) | (v != floor(v)))
}
/* lf_<id>_support of a family whose y is 0 or 1 (BINARY) or a count (COUNTS) */
#define LF_BINARY_SUPPORT(id)                                                \
    LF_INLINE int lf_##id##_support(LF_SUPPORT_ARGS)                         \
    { (void)tr; return lf_support_binary(n, y); }
#define LF_COUNTS_SUPPORT(id)                                                \
    LF_INLINE int lf_##id##_support(LF_SUPPORT_ARGS)                         \
    { (void)tr; return lf_support_counts(n, y); }

/* --- the screen of status 3 (lf_glm_extreme) ------------------------------------- */
/* Binary and binomial: separation-like when every weighted row is classified with a
 * margin (y = 0 with x w < 0, y = t with x w > 0, t = 1 or the trials); extreme when
 * some |eta| > LF_GLM_EXTREME */
LF_INLINE int lf_extreme_classes(const lf_glm_problem *pb, const double *eta, int *witness,
                                 const int binomial)
{
    int extreme = 0, sep = 1, any = 0;
    const int n = pb->n;
    if (!pb->wt && !pb->off && !binomial) {     /* the common case */
        const double *restrict y = pb->y;
        any = n > 0;
        for (int i = 0; i < n; i++) {   /* & not &&: no branches, it vectorises */
            double e = eta[i];
            extreme |= fabs(e) > LF_GLM_EXTREME;
            sep &= ((y[i] == 0.0) & (e < 0.0)) | ((y[i] == 1.0) & (e > 0.0));
        }
    } else {
        for (int i = 0; i < n; i++) {
            double w = pb->wt ? pb->wt[i] : 1.0;
            double e = eta[i], y = pb->y[i];
            double xw = pb->off ? e - pb->off[i] : e;   /* the part the parameters set */
            double t = binomial ? pb->trials[i] : 1.0;
            int on = w != 0.0;
            any |= on;
            extreme |= on & (fabs(e) > LF_GLM_EXTREME);
            sep &= !on | (y == 0.0 && xw < 0.0) | (y == t && xw > 0.0);
        }
    }
    *witness = any && sep;
    return extreme || (any && sep);
}

/* Counts: all weighted counts 0 (the likelihood's mode is at -inf); extreme when some
 * eta < -LF_GLM_EXTREME */
LF_INLINE int lf_extreme_counts(const lf_glm_problem *pb, const double *eta, int *witness)
{
    int extreme = 0, sep = 1, any = 0;
    const int n = pb->n;
    for (int i = 0; i < n; i++) {
        double w = pb->wt ? pb->wt[i] : 1.0;
        int on = w != 0.0;
        any |= on;
        extreme |= on & (eta[i] < -LF_GLM_EXTREME);
        sep &= !on | (pb->y[i] == 0.0);
    }
    *witness = any && sep;
    return extreme || (any && sep);
}

/* lf_<id>_extreme of a family of classes (BINOMIAL: 1 with trials, 0 without) or of
 * counts */
#define LF_CLASSES_EXTREME(id, BINOMIAL)                                     \
    LF_INLINE int lf_##id##_extreme(LF_EXTREME_ARGS)                         \
    { return lf_extreme_classes(pb, eta, witness, BINOMIAL); }
#define LF_COUNTS_EXTREME(id)                                                \
    LF_INLINE int lf_##id##_extreme(LF_EXTREME_ARGS)                         \
    { return lf_extreme_counts(pb, eta, witness); }

#endif
