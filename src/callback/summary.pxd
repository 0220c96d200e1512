# The summary of a fitted Hessian, one problem at a time, and the tolerances it judges
# by (defined here only).
#
# summarize_problem classifies -H by its eigenvalues relative to the largest (-H is
# scaled by a power of two first, so entries beyond 1e154 do not overflow) and, when it
# is positive definite, forms cov = (-H)^-1, log det cov and the condition number by
# Cholesky; it flags a Hessian whose error estimate is large against its curvature
# (status 2) and, on request, regularises the precision of a saddle or a flat direction
# (status 4).

from libc.math cimport fabs, isfinite, INFINITY, NAN

from objective cimport (LF_OK, LF_ILL_CONDITIONED, LF_HESSIAN_INACCURATE, LF_REGULARISED,
                        LF_NOT_NEGDEF, LF_SINGULAR, LF_HESSIAN_NONFINITE)
from eigen cimport all_finite, neg_eig, lf_ldl, lf_ldl_inverse, lf_ldl_logdet

# where the Hessian comes from: the finite-difference methods (objective.pxd's FD_*
# codes), differences of the user's gradient, or the user's Hessian
cdef enum:
    SOURCE_CENTRAL = 0
    SOURCE_FORWARD = 1
    SOURCE_RICHARDSON = 2
    SOURCE_GRAD = 3
    SOURCE_ANALYTIC = 4

# Relative eigenvalue tolerance below which -H counts as singular, by source: about the
# relative accuracy each source reaches on a smooth function.  Central and forward
# stencils work in each posterior's own scale and their curvatures are checked along the
# principal axes one by one, so only numerical singularity is judged here.
DEF SINGULAR_RTOL_ANALYTIC = 1e-13
DEF SINGULAR_RTOL_GRAD = 1e-9
DEF SINGULAR_RTOL_CENTRAL = 1e-12
DEF SINGULAR_RTOL_FORWARD = 1e-12
DEF SINGULAR_RTOL_RICHARDSON = 1e-10
# status 2 when the error estimate of a curvature along a principal axis of -H exceeds
# this fraction of it (the posterior's own units): log_post is too noisy, rough or large
# for a trustworthy finite-difference Hessian
DEF HESSIAN_ERROR_RTOL = 1e-4
# status 1 beyond this condition number of the precision
DEF COND_LIMIT = 1e12


cdef inline double singular_rtol(int source) noexcept nogil:
    if source == SOURCE_ANALYTIC:
        return SINGULAR_RTOL_ANALYTIC
    if source == SOURCE_GRAD:
        return SINGULAR_RTOL_GRAD
    if source == SOURCE_RICHARDSON:
        return SINGULAR_RTOL_RICHARDSON
    if source == SOURCE_FORWARD:
        return SINGULAR_RTOL_FORWARD
    return SINGULAR_RTOL_CENTRAL


cdef inline Py_ssize_t summary_work(Py_ssize_t d) noexcept nogil:
    """The doubles of scratch summarize_problem needs."""
    return 4 * d * d + d + 1


cdef inline void blank_summary(double *cov, Py_ssize_t d, double *logdet,
                              double *cond) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(d * d):
        cov[i] = NAN
    logdet[0] = NAN
    cond[0] = INFINITY


cdef inline void gaussian(const double *H, Py_ssize_t d, double rtol, double *cov,
                          double *logdet, double *cond, int *status,
                          double *work) noexcept nogil:
    """Classify -H by its eigenvalues relative to the largest and, when it is
    positive definite, form cov = (-H)^-1 and log det cov by Cholesky."""
    cdef double *A = work
    cdef double *V = work + d * d
    cdef double *w = V + d * d
    cdef Py_ssize_t i
    cdef double lam_max, lam_min, lam_top, piv
    cdef Py_ssize_t imin
    blank_summary(cov, d, logdet, cond)
    if not all_finite(H, d * d):
        status[0] = LF_HESSIAN_NONFINITE
        return
    neg_eig(H, d, A, V, w, &lam_min, &lam_top, &lam_max, &imin)
    if lam_min < -rtol * lam_max:
        status[0] = LF_NOT_NEGDEF
        return
    if lam_max == 0.0 or lam_min <= rtol * lam_max:
        status[0] = LF_SINGULAR
        return
    for i in range(d * d):
        A[i] = -H[i]
    if lf_ldl(A, <int> d, 0.0, 0.0, V, w, &piv) != 0:
        status[0] = LF_SINGULAR
        return
    lf_ldl_inverse(V, w, <int> d, cov, A)
    logdet[0] = -lf_ldl_logdet(V, <int> d)
    cond[0] = lam_top / lam_min
    if status[0] == LF_OK and cond[0] > COND_LIMIT:
        status[0] = LF_ILL_CONDITIONED


cdef inline double relative_error(const double *H, const double *herr, Py_ssize_t d,
                                  double *work) noexcept nogil:
    """max_k |v_k|^T herr |v_k| / lambda_k over the eigenpairs of -H: the error
    estimate of each principal curvature against itself (inf where that is NaN; 0 when
    -H is not positive definite or not finite, or herr has no positive entry: the
    classification says why)."""
    cdef double *A = work
    cdef double *V = work + d * d
    cdef double *w = V + d * d
    cdef Py_ssize_t i, j, k, imin
    cdef double lo, hi, top, proj, r, rel = 0.0
    cdef int positive = 0
    for i in range(d * d):
        positive |= herr[i] > 0.0
    if not positive or not all_finite(H, d * d):
        return 0.0
    neg_eig(H, d, A, V, w, &lo, &hi, &top, &imin)
    if not (lo > 0.0):
        return 0.0
    for k in range(d):
        proj = 0.0
        for i in range(d):
            for j in range(d):
                proj += fabs(V[i * d + k]) * herr[i * d + j] * fabs(V[j * d + k])
        r = proj / w[k]
        if r != r:
            r = INFINITY
        if r > rel:
            rel = r
    return rel


cdef inline double regularisation(const double *H, Py_ssize_t d, double rtol,
                                  double regularize, double *work) noexcept nogil:
    """The smallest tau >= 0 for which the smallest eigenvalue lam_min + tau of the
    shifted precision -H + tau I is rho times its largest lam_max + tau,
    rho = max(regularize, 2 rtol): well clear of the singular test."""
    cdef double *A = work
    cdef double *V = work + d * d
    cdef double *w = V + d * d
    cdef double lo, hi, top, tau
    cdef double rho = regularize if regularize > 2.0 * rtol else 2.0 * rtol
    cdef Py_ssize_t imin
    neg_eig(H, d, A, V, w, &lo, &hi, &top, &imin)
    tau = (rho * (hi if top > 0.0 else 1.0) - lo) / (1.0 - rho)
    return tau if tau > 0.0 else 0.0


cdef inline void summarize_problem(const double *H, const double *herr, double axis_err,
                                   Py_ssize_t d, int source, double regularize,
                                   double *cov, double *logdet, double *cond,
                                   double *shift, int *status,
                                   double *work) noexcept nogil:
    """The whole summary of one fitted problem.  status holds its status so far: a
    failure keeps it, a success may receive a Hessian failure code, status 1 (the
    condition number) or status 2: the error estimate -- axis_err, measured along the
    principal axes by principal_check, where finite, else relative_error of herr --
    exceeds HESSIAN_ERROR_RTOL.  A saddle or flat direction (status -5, -6) with
    regularize > 0 gets the covariance of -H + tau I (regularisation) and status 4,
    unless that fails too; shift receives tau (else 0)."""
    cdef double rtol = singular_rtol(source), rel
    cdef double *Hreg = work + 3 * d * d + d
    cdef Py_ssize_t i
    cdef int st = LF_OK
    shift[0] = 0.0
    gaussian(H, d, rtol, cov, logdet, cond, &st, work)
    if status[0] == LF_OK or (st != LF_OK and st != LF_ILL_CONDITIONED and status[0] > 0):
        status[0] = st
    elif status[0] == LF_SINGULAR:
        # the iteration found the curvature unresolved: no Gaussian
        blank_summary(cov, d, logdet, cond)
    if status[0] == LF_OK or status[0] == LF_ILL_CONDITIONED:
        rel = axis_err if isfinite(axis_err) else relative_error(H, herr, d, work)
        if rel > HESSIAN_ERROR_RTOL:
            status[0] = LF_HESSIAN_INACCURATE
    if regularize > 0.0 and (status[0] == LF_NOT_NEGDEF or status[0] == LF_SINGULAR) \
            and all_finite(H, d * d):
        shift[0] = regularisation(H, d, rtol, regularize, work)
        for i in range(d * d):
            Hreg[i] = H[i]
        for i in range(d):
            Hreg[i * d + i] -= shift[0]
        st = LF_OK
        gaussian(Hreg, d, rtol, cov, logdet, cond, &st, work)
        if st >= 0:
            status[0] = LF_REGULARISED
        else:
            shift[0] = 0.0
