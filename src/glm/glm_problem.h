/* One GLM problem as the solver sees it (lf_glm_problem), what it writes back
 * (lf_glm_out), and the batch loop's pipeline job (lf_zjob): pointers into the caller's
 * arrays, no ownership.  Also the solver's fixed constants (the family codes come from
 * the list of glm_families.h). */
#ifndef GLM_PROBLEM_H
#define GLM_PROBLEM_H

#include <stddef.h>
#include <stdint.h>
#include "lf_portable.h"

#define LF_GLM_BLOCK 256
#define LF_GLM_SUPER (16 * LF_GLM_BLOCK)   /* rows per partial sum of the Hessian */
#define LF_GLM_RTOL 1e-13          /* relative pivot test of the reported Hessian */
#define LF_GLM_COND_MAX 1e12       /* status 1 above this 1-norm condition number */
#define LF_GLM_EXTREME 36.0        /* |eta| beyond which a probability is 1 to eps */

typedef struct {
    int family;
    int n, d;
    const double *X;        /* n x d, row-major */
    const double *y;
    const double *off;      /* NULL: no offset */
    const double *wt;       /* NULL: unit weights */
    const double *trials;   /* binomial only */
    double param;           /* gaussian: sigma; negative binomial: dispersion */
    const double *P;        /* d x d prior precision, exactly symmetric (the caller's job) */
    const double *m;        /* d prior mean */
    const double *start;    /* d: the first iterate (a warm start); NULL: from the data */
    double prior_const;     /* lf_glm_prior_const(P, d): once per distinct prior */
    double tol;
    int maxiter;
    int nt;                 /* threads inside this problem (1: serial); no effect on bits */
    /* the batch loop's pipeline (lf_zjob); all zero for a problem fitted on its own */
    double *Z;              /* its pair layout's buffer (NULL: in scratch) */
    int zready;             /* Z already holds its pair layout, built by the previous fit */
    struct lf_zjob *zjob;   /* the next problem's pair layout to build (NULL: none) */
} lf_glm_problem;

/* The next problem's pair layout (Z), built two groups of four rows at a time after
 * each of the solver's d x d factorisations, whose chain of dependent divisions and
 * subtractions leaves the core idle: the out-of-order core runs the independent build
 * in those stalls.  Same products, so
 * the same bits as a build of its own (lf_glm_fit_d).  The rest of the job is done
 * when the fit ends, on every path.  Only for layouts up to LF_ZJOB_MAX doubles, so
 * that two of them and the fit's other arrays stay in a 32 KiB L1: W1's layouts (9 KiB)
 * gain, W2's (12.5 KiB) do not (bench/RESULTS.md, "pair layout pipeline"). */
typedef struct lf_zjob {
    const double *X;        /* the next problem's rows */
    int n, groups, done;    /* its rows, its groups of four rows (lf_pad8(n) / 4), built */
    double *Z;              /* where its layout goes */
} lf_zjob;
#define LF_ZJOB_GROUPS 2
#define LF_ZJOB_MAX 1280    /* doubles: the largest layout built so (10 KiB) */

typedef struct {
    double *mode, *hess, *cov;
    double log_det_cov, logp, cond;
    int niter, nfev;
} lf_glm_out;

/* observations are padded to a multiple of 8 in scratch (zero rows, zero weight) */
LF_INLINE int lf_pad8(int n) { return (n + 7) & ~7; }
LF_INLINE size_t lf_round8(size_t k) { return (k + 7) & ~(size_t)7; }

#endif
