# The C-level objective interface of the callback engine.
#
# An objective (lf_objective) evaluates log_post at k point sets of B rows each: a
# (k, B, d) block, row b of every set belonging to problem b; ``grad`` (optional) does the
# same for gradients, ``hess`` (optional) gives the Hessians at one point set.  The
# implementations (a Python callable: scalar, vectorized or batch; a
# scipy.LowLevelCallable run without the GIL) live in _core.pyx.  Kernels never raise:
# they return an LF_* status (lf_status.h) and the def wrappers re-raise a callback's
# exception unchanged.

cdef extern from "lf_status.h":
    int LF_OK, LF_ILL_CONDITIONED, LF_HESSIAN_INACCURATE, LF_REGULARISED, LF_MAXITER
    int LF_NO_PROGRESS, LF_NONFINITE_X0, LF_NONFINITE_FIT, LF_NOT_NEGDEF, LF_SINGULAR
    int LF_HESSIAN_NONFINITE, LF_DIVERGED, LF_CALLBACK_ERROR, LF_NO_MEMORY

# finite-difference methods
cdef enum:
    FD_CENTRAL = 0
    FD_FORWARD = 1
    FD_RICHARDSON = 2

ctypedef int (*values_fn)(void *ctx, Py_ssize_t k, Py_ssize_t B, Py_ssize_t d,
                          const double *X, double *out) noexcept nogil
ctypedef int (*hess_fn)(void *ctx, Py_ssize_t B, Py_ssize_t d,
                        const double *X, double *H) noexcept nogil

cdef struct lf_objective:
    values_fn values        # (k, B, d) -> (k, B)
    values_fn grad          # (k, B, d) -> (k, B, d), or NULL
    hess_fn hess            # (B, d) -> (B, d, d), or NULL
    void *ctx


cdef inline int counted_values(lf_objective *obj, Py_ssize_t k, Py_ssize_t B, Py_ssize_t d,
                               const double *X, double *out, const char *mask,
                               long *nfev) noexcept nogil:
    """obj.values at the k point sets X (k, B, d); each masked problem's nfev grows by
    k (the rows of the others are placeholders, not evaluations it asked for)."""
    cdef Py_ssize_t b
    cdef int rc = obj.values(obj.ctx, k, B, d, X, out)
    if rc == 0:
        for b in range(B):
            if mask[b]:
                nfev[b] += k
    return rc
