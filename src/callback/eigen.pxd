# The eigen and Cholesky tests of -H shared by Newton, the principal-axis check of the
# stencils and the summary.  -H is scaled by a power of two before the Jacobi rotations,
# so entries beyond 1e154 neither overflow nor underflow.

from libc.float cimport DBL_EPSILON
from libc.math cimport fabs, isfinite, frexp, ldexp

cdef extern from "lf_linalg.h":
    int lf_ldl(const double *A, int d, double shift, double rtol, double *F,
               double *dinv, double *minpiv) noexcept nogil
    void lf_ldl_solve(const double *F, const double *dinv, int d, double *b) noexcept nogil
    double lf_ldl_logdet(const double *F, int d) noexcept nogil
    void lf_ldl_inverse(const double *F, const double *dinv, int d, double *out,
                        double *W) noexcept nogil
    int lf_sym_eig(double *A, int d, double *w, double *V) noexcept nogil


cdef inline int all_finite(const double *a, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if not isfinite(a[i]):
            return 0
    return 1


cdef inline void neg_eig(const double *H, Py_ssize_t d, double *A, double *V, double *w,
                         double *lo, double *hi, double *absmax,
                         Py_ssize_t *ilo) noexcept nogil:
    """Eigen-decomposition of -H (A is scratch, V the vectors, w the values) and its
    smallest, largest and largest-magnitude eigenvalues.  -H is scaled by a power of
    two that brings its largest entry near 1 (exact), so that the rotations' sums of
    squares neither overflow (entries above ~1e154) nor underflow."""
    cdef Py_ssize_t i
    cdef int e = 0
    cdef double m = 0.0
    for i in range(d * d):
        if fabs(H[i]) > m:
            m = fabs(H[i])
    if m > 0.0 and isfinite(m):
        frexp(m, &e)
    for i in range(d * d):
        A[i] = ldexp(-H[i], -e)
    lf_sym_eig(A, <int> d, w, V)
    for i in range(d):
        w[i] = ldexp(w[i], e)
    lo[0] = w[0]
    hi[0] = w[0]
    absmax[0] = 0.0
    ilo[0] = 0
    for i in range(d):
        if fabs(w[i]) > absmax[0]:
            absmax[0] = fabs(w[i])
        if w[i] < lo[0]:
            lo[0] = w[i]
            ilo[0] = i
        if w[i] > hi[0]:
            hi[0] = w[i]


cdef inline int negdef(const double *H, Py_ssize_t d, double *A, double *F,
                       double *w) noexcept nogil:
    """1 when -H passes the Newton step's Cholesky test (A, F, w scratch)."""
    cdef Py_ssize_t i
    cdef double piv
    for i in range(d * d):
        A[i] = -H[i]
    return lf_ldl(A, <int> d, 0.0, 16 * d * DBL_EPSILON, F, w, &piv) == 0

