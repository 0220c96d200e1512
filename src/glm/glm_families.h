/* The GLM families: the one list of them, and the dispatchers that run a family's point
 * functions (its terms, values, start, bounds and constant; glm_eval.h, glm_solver.h
 * and glm_check.h dispatch the rest the same way).
 *
 * log post(w) = sum_i wt_i l_i(eta_i) + C + log N(w; m, P^-1),  eta = X w + offset
 *
 * l_i is the family's log-likelihood of observation i, g = dl/deta, h = -d2l/deta2; C
 * holds the data-only constants (-log y!, log binom(t, y), ...), so the log joint is the
 * exact one and the Laplace evidence a proper marginal likelihood.
 *
 * A family is one header, families/<id>.h, that starts with its l, g, h and l'''
 * formulas and its parameter and defines its point functions, lf_<id>_<fn>; the
 * signatures are the LF_<FN>_ARGS of families/family_loops.h, where the loops several
 * families share live:
 *   lf_<id>_terms        g and h (weighted) at eta, with aux (what values and
 *                        curvature reuse, e.g. exp(-|x|)) or, when lf_<id>_fused, lv
 *   lf_<id>_fused        1 when terms writes the weighted values lv too (they cost
 *                        nothing next to the derivatives; the line search then tests
 *                        values first), 0 when values does
 *   lf_<id>_values       the weighted values lv at eta, from the aux terms left
 *   lf_<id>_block_value  a block's value sum without the terms, when the family has a
 *                        faster path for pb: 1 and *bsum, *babs set; else 0
 *   lf_<id>_start        the start's IRLS terms, h = wt h0, g = wt R0 + h eta0
 *                        (lf_glm_start_terms); returns 1 when some h > 0
 *   lf_<id>_value_bound  a bound of sum_i |wt_i l_i| at eta, so that the solver can
 *                        leave the value at the start until it is needed
 *   lf_<id>_curvature    a bound of sum_i wt_i h_i (eta1_i - eta0_i)^2 over the
 *                        segment eta0 -> eta1 (lf_glm_segment_curvature)
 *   lf_<id>_constant     C's part of the data (reads the caller's pb->param)
 *   lf_<id>_support      the LF_CHECK_ bits of y (and trials) (lf_glm_check)
 *   lf_<id>_extreme      the screen of status 3: separation-like data or an extreme
 *                        linear predictor; *witness: separation-like (lf_glm_extreme)
 *   lf_<id>_third        l''' of row i at eta (unweighted): its size bounds the skew
 *                        (lf_glm_skew), its sign moves the evidence (glm_evidence.h)
 *   lf_<id>_param        the kernels' form of the parameter: returns lr and sets the
 *                        kernels' pb->param (the negative binomial's r and log r)
 * terms, start, support and third are required; a family without one of the others
 * says so by its "none" form, LF_NO_<FN>(id) (family_loops.h):
 *   LF_NO_VALUES         the terms write lv (lf_<id>_fused = 1)
 *   LF_NO_BLOCK_VALUE    0: the block's value is the sum of lv (lf_sum8)
 *   LF_NO_VALUE_BOUND    HUGE_VAL: the value at the start is computed at once
 *   LF_NO_CURVATURE      HUGE_VAL: after the derivative test the line search tests values
 *   LF_NO_CONSTANT       0.0
 *   LF_NO_EXTREME        never extreme: 0, *witness = 0
 *   LF_NO_PARAM          lr = 0, pb->param as the caller gave it
 * A point function several families share is written by its shared form, one line
 * (LF_SIGMOID_TERMS(id, t, x), LF_BINARY_SUPPORT(id), LF_COUNTS_EXTREME(id), ...:
 * family_loops.h).  Every point function is LF_INLINE and each dispatcher below (out of line, one copy
 * per instruction set: LF_CLONES) switches over the list, so a family's body is
 * compiled in line into the dispatcher, as one switch arm.
 *
 * A new family (a gamma family, say) touches:
 *   src/glm/families/gamma.h          its header, as above
 *   src/glm/glm_families.h            one row of LF_GLM_FAMILIES and its #include
 *   laplace_fast/_families.py         one Family record in FAMILY_TABLE (support
 *                                     message, parameter keyword, inverse link,
 *                                     predictive mean and variance)
 * and, outside the engine, its tests (against an independent reference), a row of the
 * golden bits and its name in glm_laplace's docstring; a parameter keyword other than
 * trials, scale and dispersion also goes into glm_laplace and prepare_glm
 * (docs/methods.md, "Adding a family"). */
#ifndef GLM_FAMILIES_H
#define GLM_FAMILIES_H

#include <math.h>
#include "lf_elementary.h"
#include "lf_sums.h"
#include "glm_problem.h"
#include "families/family_loops.h"

/* The one list of the families: X(CODE, id, name) in the order of their codes (LF_CODE,
 * 0, 1, ...); id names the point functions (lf_<id>_terms, ...) of families/<id>.h;
 * name is the family as the Python layer spells it.  The enum, the names exported as
 * _glm_kernels.FAMILIES and every switch over the families come from it. */
#include "families/logistic.h"
#include "families/probit.h"
#include "families/poisson.h"
#include "families/binomial.h"
#include "families/negative_binomial.h"
#include "families/gaussian.h"
#define LF_GLM_FAMILIES(X)                                                    \
    X(LOGISTIC, logistic, "logistic")                                         \
    X(PROBIT, probit, "probit")                                               \
    X(POISSON, poisson, "poisson")                                            \
    X(BINOMIAL, binomial, "binomial")                                         \
    X(NEGBIN, negative_binomial, "negative_binomial")                         \
    X(GAUSSIAN, gaussian, "gaussian")

#define LF_FAMILY_CODE(code, id, name) LF_##code,
enum { LF_GLM_FAMILIES(LF_FAMILY_CODE) LF_NFAMILIES };
#undef LF_FAMILY_CODE

/* the name of family code f (NULL outside 0 <= f < LF_NFAMILIES) */
LF_INLINE const char *lf_glm_family_name(int f)
{
#define LF_FAMILY_NAME(code, id, name) if (f == LF_##code) return name;
    LF_GLM_FAMILIES(LF_FAMILY_NAME)
#undef LF_FAMILY_NAME
    return NULL;
}

/* 1 when family f's terms write its values (lf_<id>_fused) */
LF_INLINE int lf_glm_fused(int f)
{
#define LF_FAMILY_FUSED(code, id, name) || (f == LF_##code && lf_##id##_fused)
    return 0 LF_GLM_FAMILIES(LF_FAMILY_FUSED);
#undef LF_FAMILY_FUSED
}

/* The family's terms.  lf_glm_family gives g and h; where the values cost a
 * transcendental per observation (the sigmoid families' softplus, probit's log Phi)
 * they are left to lf_glm_values, so that a trial point whose step the derivative test
 * accepts (lf_glm_fit_d) costs none.  Both are out of line (one copy per instruction
 * set, not one per specialisation of the solver): the call costs nothing next to a
 * block of observations.  pb->param is the kernels' (lf_glm_kernel_param). */
#define LF_CASE_TERMS(code, id, name)                                        \
    case LF_##code: lf_##id##_terms(pb, lr, eta, aux, lv, g, h); break;
LF_CLONES LF_CONTRACT __attribute__((noinline)) static void
lf_glm_family(const lf_glm_problem *pb, double lr, const double *restrict eta,
              double *restrict aux, double *restrict lv, double *restrict g,
              double *restrict h)
{
    switch (pb->family) { LF_GLM_FAMILIES(LF_CASE_TERMS) }
}
#undef LF_CASE_TERMS

/* the weighted log-likelihood terms lv at eta of the families whose terms leave them
 * (not lf_glm_fused), from the aux they left */
#define LF_CASE_VALUES(code, id, name)                                       \
    case LF_##code: lf_##id##_values(pb, lr, eta, aux, lv); break;
LF_CLONES LF_CONTRACT __attribute__((noinline)) static void
lf_glm_values(const lf_glm_problem *pb, double lr, const double *restrict eta,
              const double *restrict aux, double *restrict lv)
{
    switch (pb->family) { LF_GLM_FAMILIES(LF_CASE_VALUES) }
}
#undef LF_CASE_VALUES

/* The solver's start: one iteratively reweighted least squares step from fitted means
 * made of the data (McCullagh & Nelder, Generalized Linear Models, 2nd ed., sec. 2.5;
 * the means of R's glm families).  With eta0 = link(mu0), IRLS weight h0 and working
 * response z0 = eta0 + (y - mu0) deta/dmu, this writes h = wt h0 and g = wt h0 z0 -
 * h offset; the start is then (X^T H X + P)^-1 (X^T g + P m).  Elementwise and
 * branch-free (vectorises), but for the count families' table lookups.
 * Returns 1 when some h > 0 (the data say something), else 0. */
#define LF_CASE_START(code, id, name)                                        \
    case LF_##code: any = lf_##id##_start(pb, lr, g, h); break;
LF_CLONES __attribute__((noinline)) static int
lf_glm_start_terms(const lf_glm_problem *pb, double lr, double *restrict g,
                   double *restrict h)
{
    const int n = pb->n;
    const double *restrict off = pb->off;
    int any = 0;
    switch (pb->family) { LF_GLM_FAMILIES(LF_CASE_START) }
    /* the offsets in a loop of their own: a conditional load in the family's loop
     * makes gcc run it scalar */
    if (off)
        for (int i = 0; i < n; i++) g[i] -= h[i] * off[i];
    return any;
}
#undef LF_CASE_START

/* 1 when the weighted log-likelihood terms at eta are certainly finite and so is every
 * partial sum of them: the family's bound of their magnitudes (lf_<id>_value_bound),
 * plus cq, is finite and at most 1e300.  0 when it is not, and for the families
 * without a bound.  Eight partial sums, so that the additions do not wait for each
 * other; the order does not matter (a bound).  Lets the solver leave the value at the
 * start until it is needed (lf_glm_fit_d). */
#define LF_CASE_VALUE_BOUND(code, id, name)                                  \
    case LF_##code: b = lf_##id##_value_bound(pb, lr, eta); break;
LF_CLONES __attribute__((noinline)) static int
lf_glm_value_bounded(const lf_glm_problem *pb, double lr, const double *restrict eta,
                     double cq)
{
    double b = HUGE_VAL;
    switch (pb->family) { LF_GLM_FAMILIES(LF_CASE_VALUE_BOUND) }
    b += fabs(cq);
    return b <= 1e300;   /* false for NaN */
}
#undef LF_CASE_VALUE_BOUND

/* A bound of the curvature of the log-likelihood on the segment from the point with
 * eta0 (aux0) to the one with eta1 (aux1): sum_i hmax_i (eta1_i - eta0_i)^2 >= -phi''
 * of the likelihood part of phi(u) = log post at eta0 + u (eta1 - eta0), hmax_i the
 * largest h_i on the segment (each family's header says why its bound holds).  Eight
 * partial sums (a bound: their order does not matter).  HUGE_VAL for the families
 * without one. */
#define LF_CASE_CURVATURE(code, id, name)                                    \
    case LF_##code: return lf_##id##_curvature(pb, lr, eta0, aux0, eta1, aux1);
LF_CLONES __attribute__((noinline)) static double
lf_glm_segment_curvature(const lf_glm_problem *pb, double lr, const double *restrict eta0,
                         const double *restrict aux0, const double *restrict eta1,
                         const double *restrict aux1)
{
    switch (pb->family) { LF_GLM_FAMILIES(LF_CASE_CURVATURE) }
    return HUGE_VAL;
}
#undef LF_CASE_CURVATURE

/* the data-only part of the log-likelihood (once per problem: out of line); pb->param
 * is the caller's */
#define LF_CASE_CONSTANT(code, id, name) case LF_##code: return lf_##id##_constant(pb);
LF_CLONES __attribute__((noinline)) static double lf_glm_constant(const lf_glm_problem *pb)
{
    switch (pb->family) { LF_GLM_FAMILIES(LF_CASE_CONSTANT) }
    return 0.0;
}
#undef LF_CASE_CONSTANT

/* *q = *pb with the parameter in the kernels' form (q->param); returns lr, the other
 * number the kernels read (lf_<id>_param) */
#define LF_CASE_PARAM(code, id, name)                                        \
    case LF_##code: lr = lf_##id##_param(pb->param, &q->param); break;
LF_INLINE double lf_glm_kernel_param(const lf_glm_problem *pb, lf_glm_problem *q)
{
    double lr = 0.0;
    *q = *pb;
    switch (pb->family) { LF_GLM_FAMILIES(LF_CASE_PARAM) }
    return lr;
}
#undef LF_CASE_PARAM

#endif
