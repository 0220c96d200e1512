# The C declarations of the GLM engine (glm.h) that its two extensions use:
# _glm_kernels (the batch loop) and _glm_testing (the test hooks).  Declarations only,
# so cimporting it imports nothing at run time.
from libc.stdint cimport int64_t

cdef extern from "glm.h" nogil:
    ctypedef struct lf_zjob:
        const double *X
        int n, groups, done
        double *Z
    ctypedef struct lf_glm_problem:
        int family
        int n, d
        const double *X
        const double *y
        const double *off
        const double *wt
        const double *trials
        double param
        const double *P
        const double *m
        const double *start
        double prior_const
        double tol
        int maxiter
        int nt
        double *Z
        int zready
        lf_zjob *zjob
    ctypedef struct lf_glm_out:
        double *mode
        double *hess
        double *cov
        double log_det_cov, logp, cond
        int niter, nfev
    ctypedef struct lf_glm_evidence:
        double u
        int at_bound
    size_t lf_glm_evidence_size(size_t n, size_t d)
    int lf_glm_evidence_fit(const lf_glm_problem *pb, lf_glm_out *out, double *scratch,
                            double *work, lf_glm_evidence *ev)
    size_t lf_glm_batch_zjob_offset(size_t n, size_t d)
    size_t lf_glm_batch_scratch_size(size_t n, size_t d)
    int lf_pad8(int n)
    int lf_zjob_fits(int n, int d)
    int LF_ZJOB_MAX
    double lf_glm_prior_const(const double *P, int d, double *W)
    int lf_glm_fit_one(const lf_glm_problem *pb, lf_glm_out *out, double *scratch)
    int lf_glm_check(int family, int n, int d, const double *X, const double *y,
                     const double *off, const double *wt, const double *tr)
    void lf_glm_prefetch_rows(const double *X, const double *y, const double *off,
                              const double *wt, const double *tr, size_t s0, size_t n,
                              int d)
    int64_t lf_fetch_inc(int64_t *p)
    void lf_atomic_add(int64_t *p, int64_t v)
    int64_t lf_atomic_read(const int64_t *p)
    void lf_tables_init()
    int LF_GLM_BLOCK
    int LF_NFAMILIES
    const char *lf_glm_family_name(int f)
    int LF_PROBIT, LF_NEGBIN
    double lf_glm_segment_curvature(const lf_glm_problem *pb, double lr, const double *eta0,
                                    const double *aux0, const double *eta1,
                                    const double *aux1)
    int lf_armijo_from_curvature(double a, double b, double K, double c1, double slack)
