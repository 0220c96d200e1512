# The summary of a Hessian: its classification by the eigenvalues of -H relative to the
# largest, and cov, log det cov and the condition number by Cholesky.

from libc.math cimport INFINITY, NAN

from objective cimport (LF_OK, LF_ILL_CONDITIONED, LF_NOT_NEGDEF, LF_SINGULAR,
                        LF_HESSIAN_NONFINITE)
from eigen cimport all_finite, neg_eig, lf_ldl, lf_ldl_inverse, lf_ldl_logdet


cdef inline void blank_summary(double *cov, Py_ssize_t d, double *logdet,
                              double *cond) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(d * d):
        cov[i] = NAN
    logdet[0] = NAN
    cond[0] = INFINITY


cdef inline void summarize_one(const double *H, Py_ssize_t d, double rtol, double *cov,
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
    if status[0] == LF_OK and cond[0] > 1e12:
        status[0] = LF_ILL_CONDITIONED
