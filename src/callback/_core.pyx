# cython: language_level=3
"""The callback engine of laplace_fast: the Python-facing objectives and the def
wrappers of the compiled finite differences, Newton iteration and summary.

The engine is one extension module built from this file; the kernels are ``cdef
inline`` functions of the .pxd files beside it, so no module imports another at run time:

- objective.pxd: the C objective interface (``lf_objective``), the method codes and the
  evaluate-and-count helper; its implementations are the classes here (a Python
  callable, scalar, vectorized or batch, through a trampoline that takes the GIL, calls,
  checks the returned shape and stores a raised exception; a ``scipy.LowLevelCallable``
  ``double (int, double *, void *)`` that runs without the GIL);
- stencils.pxd: finite-difference stencils, their error estimates and the principal-axis
  check;
- newton.pxd: the damped Newton iteration, all problems in lock step;
- eigen.pxd: the eigen and Cholesky tests of -H;
- summary.pxd: the summary of a fitted Hessian (its classification, cov, log det,
  condition number, error flag and regularisation) and the tolerances it judges by.

Kernels never raise: they return an ``LF_*`` status (``lf_status.h``); the def wrappers
re-raise a callback's exception unchanged.
"""

import numpy as np
from cpython.exc cimport PyErr_CheckSignals
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_GetName, PyCapsule_CheckExact
from libc.math cimport isfinite
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy
from cython.parallel cimport prange, parallel

from objective cimport (lf_objective, FD_CENTRAL, FD_FORWARD, FD_RICHARDSON, LF_OK,
                        LF_ILL_CONDITIONED, LF_HESSIAN_INACCURATE, LF_MAXITER,
                        LF_NO_PROGRESS, LF_NONFINITE_X0, LF_NONFINITE_FIT, LF_NOT_NEGDEF,
                        LF_SINGULAR, LF_HESSIAN_NONFINITE, LF_DIVERGED, LF_CALLBACK_ERROR,
                        LF_NO_MEMORY)
from eigen cimport all_finite, negdef
from stencils cimport value_stencil, derivatives, steps_consistent, principal_check
from newton cimport newton_batch, MAX_RESTEPS
from summary cimport (summarize_problem, summary_work, SOURCE_CENTRAL,
                      SOURCE_FORWARD, SOURCE_RICHARDSON, SOURCE_GRAD,
                      SOURCE_ANALYTIC)

STATUS_CODES = dict(OK=LF_OK, ILL_CONDITIONED=LF_ILL_CONDITIONED,
                    HESSIAN_INACCURATE=LF_HESSIAN_INACCURATE, MAXITER=LF_MAXITER,
                    NO_PROGRESS=LF_NO_PROGRESS, NONFINITE_X0=LF_NONFINITE_X0,
                    NONFINITE_FIT=LF_NONFINITE_FIT, NOT_NEGDEF=LF_NOT_NEGDEF,
                    SINGULAR=LF_SINGULAR, HESSIAN_NONFINITE=LF_HESSIAN_NONFINITE,
                    DIVERGED=LF_DIVERGED)

METHODS = {"central": FD_CENTRAL, "forward": FD_FORWARD, "richardson": FD_RICHARDSON}
# where a Hessian comes from, for the summary's tolerances (summary.pxd)
SOURCES = {"central": SOURCE_CENTRAL, "forward": SOURCE_FORWARD,
           "richardson": SOURCE_RICHARDSON, "grad": SOURCE_GRAD,
           "analytic": SOURCE_ANALYTIC}

DEF LLC_SIGNAL_CHECK = 1024     # points between Ctrl-C checks in a LowLevelCallable loop


# ---------------------------------------------------------------- objectives
cdef class Objective:
    """Base of the objectives handed to the kernels (built by laplace_fast._objective)."""
    cdef lf_objective obj
    cdef public object exc

    cdef int check(self, int rc) except -1:
        """Re-raise a stored callback exception; return rc otherwise."""
        if rc == LF_CALLBACK_ERROR:
            exc = self.exc
            self.exc = None
            raise exc
        return rc


def _as_real_array(r, shape, what):
    a = np.asarray(r)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{what} must return real numbers, got {type(r).__name__}"
                        + (f" of dtype {a.dtype}" if isinstance(r, np.ndarray) else ""))
    if a.shape != shape:
        if shape == () and a.size == 1:
            return a.reshape(())     # any size-1 array, as scipy.optimize accepts
        hint = (" (a function of many points at once needs vectorized=True)"
                if shape == () else "")
        raise ValueError(f"{what} must return an array of shape {shape}, "
                         f"got shape {a.shape}{hint}")
    return a


def scalar_value(r, what):
    """The float a scalar callback returned: a float, a 0-d or any size-1 array."""
    if type(r) is float:
        return r
    return float(_as_real_array(r, (), what))


cdef class PyCallback(Objective):
    """A Python log_post (and optional grad / hess).

    kind 0: scalar, f((d,)) -> float; kind 1: vectorized, f((m, d)) -> (m,);
    kind 2: batch, f((B, d)) -> (B,).  grad and hess take one point (set) per call.
    """
    cdef object f, grad, hess, args, name
    cdef int kind

    def __init__(self, f, args=(), grad=None, hess=None, int kind=0, name="log_post"):
        self.f = f
        self.name = name
        self.args = tuple(args)
        self.grad = grad
        self.hess = hess
        self.kind = kind
        self.exc = None
        self.obj.ctx = <void *> self
        self.obj.values = _py_values
        self.obj.grad = NULL
        self.obj.hess = NULL
        if grad is not None:
            self.obj.grad = _py_grad
        if hess is not None:
            self.obj.hess = _py_hess

    cdef object _points(self, Py_ssize_t k, Py_ssize_t B, Py_ssize_t d, const double *X):
        if self.kind == 2:
            pts = np.empty((k, B, d))
        else:
            pts = np.empty((k * B, d))
        cdef double[::1] flat = pts.reshape(-1)
        if k * B * d:
            memcpy(&flat[0], X, k * B * d * sizeof(double))
        return pts

    cdef int values(self, Py_ssize_t k, Py_ssize_t B, Py_ssize_t d, const double *X,
                    double *out) noexcept:
        cdef Py_ssize_t j
        cdef double[::1] res
        try:
            pts = self._points(k, B, d, X)
            if self.kind == 0:
                for j in range(k):
                    out[j] = scalar_value(self.f(pts[j], *self.args), self.name)
            elif self.kind == 1:
                r = _as_real_array(self.f(pts, *self.args), (k,), self.name)
                res = np.ascontiguousarray(r, dtype=np.float64)
                if k:
                    memcpy(out, &res[0], k * sizeof(double))
            else:
                for j in range(k):
                    r = _as_real_array(self.f(pts[j], *self.args), (B,), self.name)
                    res = np.ascontiguousarray(r, dtype=np.float64)
                    memcpy(out + j * B, &res[0], B * sizeof(double))
        except BaseException as e:
            self.exc = e
            return LF_CALLBACK_ERROR
        return 0

    cdef int grads(self, Py_ssize_t k, Py_ssize_t B, Py_ssize_t d, const double *X,
                   double *out) noexcept:
        cdef Py_ssize_t j
        cdef double[::1] res
        try:
            pts = self._points(k, B, d, X).reshape(k, B, d)
            shape = (d,)
            if self.kind == 2:
                shape = (B, d)
            for j in range(k):
                p = pts[j] if self.kind == 2 else pts[j, 0]
                r = _as_real_array(self.grad(p, *self.args), shape, "grad")
                res = np.ascontiguousarray(r, dtype=np.float64).reshape(-1)
                memcpy(out + j * B * d, &res[0], B * d * sizeof(double))
        except BaseException as e:
            self.exc = e
            return LF_CALLBACK_ERROR
        return 0

    cdef int hessians(self, Py_ssize_t B, Py_ssize_t d, const double *X,
                      double *out) noexcept:
        cdef double[::1] res
        try:
            pts = self._points(1, B, d, X).reshape(B, d)
            shape = (d, d)
            if self.kind == 2:
                shape = (B, d, d)
            r = _as_real_array(self.hess(pts if self.kind == 2 else pts[0], *self.args),
                               shape, "hess")
            res = symmetric_hessian(np.asarray(r, dtype=np.float64)).reshape(-1)
            memcpy(out, &res[0], B * d * d * sizeof(double))
        except BaseException as e:
            self.exc = e
            return LF_CALLBACK_ERROR
        return 0


def symmetric_hessian(H):
    """(H + H^T) / 2 of a Hessian (..., d, d) that is symmetric up to rounding; a
    ValueError naming ``hess`` when it is not (its lower and upper triangles would give
    two different Gaussians)."""
    Ht = np.swapaxes(H, -1, -2)
    gap = np.max(np.abs(H - Ht), initial=0.0)
    if gap > 1e-10 * np.max(np.abs(H), initial=0.0) or not np.isfinite(gap):
        if np.all(np.isfinite(H)):
            raise ValueError(f"hess must return a symmetric matrix; |H - H.T| reaches "
                             f"{gap:.3g}: check the mixed derivatives (or return "
                             f"(H + H.T) / 2)")
        return np.ascontiguousarray(H)
    return np.ascontiguousarray(0.5 * (H + Ht))


cdef int _py_values(void *ctx, Py_ssize_t k, Py_ssize_t B, Py_ssize_t d,
                    const double *X, double *out) noexcept nogil:
    with gil:
        return (<PyCallback> ctx).values(k, B, d, X, out)

cdef int _py_grad(void *ctx, Py_ssize_t k, Py_ssize_t B, Py_ssize_t d,
                  const double *X, double *out) noexcept nogil:
    with gil:
        return (<PyCallback> ctx).grads(k, B, d, X, out)

cdef int _py_hess(void *ctx, Py_ssize_t B, Py_ssize_t d,
                  const double *X, double *out) noexcept nogil:
    with gil:
        return (<PyCallback> ctx).hessians(B, d, X, out)


ctypedef double (*llc_fn)(int n, double *x, void *user_data) noexcept nogil

cdef struct llc_ctx:
    llc_fn fn
    void *user_data
    void *owner             # the LowLevelObjective, to store a KeyboardInterrupt

LLC_SIGNATURE = "double (int, double *, void *)"

cdef class LowLevelObjective(Objective):
    """A scipy.LowLevelCallable ``double (int n, double *x, void *user_data)``.

    The whole stencil or line search runs without the GIL; each point is copied into
    scratch before the call, so a callable that writes into x harms nothing."""
    cdef llc_ctx c
    cdef object keep     # the LowLevelCallable, kept alive with its user data

    def __init__(self, llc):
        capsule = tuple.__getitem__(llc, 0)
        user_data = tuple.__getitem__(llc, 2)
        if not PyCapsule_CheckExact(capsule):
            raise TypeError("log_post: a LowLevelCallable must wrap a PyCapsule")
        name = PyCapsule_GetName(capsule)
        sig = name.decode() if name != NULL else ""
        if sig != LLC_SIGNATURE:
            raise ValueError(f"log_post: a LowLevelCallable must have the signature "
                             f"'{LLC_SIGNATURE}', got '{sig}'")
        self.c.fn = <llc_fn> PyCapsule_GetPointer(capsule, name)
        self.c.user_data = NULL
        if user_data is not None:
            if PyCapsule_CheckExact(user_data):
                self.c.user_data = PyCapsule_GetPointer(user_data,
                                                        PyCapsule_GetName(user_data))
            else:
                import ctypes
                self.c.user_data = <void *> <size_t> ctypes.cast(
                    user_data, ctypes.c_void_p).value
        self.keep = llc
        self.exc = None
        self.c.owner = <void *> self
        self.obj.ctx = <void *> &self.c
        self.obj.values = _llc_values
        self.obj.grad = NULL
        self.obj.hess = NULL


cdef int _llc_values(void *ctx, Py_ssize_t k, Py_ssize_t B, Py_ssize_t d,
                     const double *X, double *out) noexcept nogil:
    cdef llc_ctx *c = <llc_ctx *> ctx
    cdef Py_ssize_t j, n = k * B
    cdef double *x = <double *> malloc((d + 1) * sizeof(double))
    if x == NULL:
        return LF_NO_MEMORY
    for j in range(n):
        if (j & (LLC_SIGNAL_CHECK - 1)) == LLC_SIGNAL_CHECK - 1 and _interrupted(c):
            free(x)
            return LF_CALLBACK_ERROR
        memcpy(x, X + j * d, d * sizeof(double))
        out[j] = c.fn(<int> d, x, c.user_data)
    free(x)
    return 0


cdef int _interrupted(llc_ctx *c) noexcept nogil:
    """Run Python's signal handlers (Ctrl-C) from inside a long GIL-free loop; a raised
    exception is stored on the objective and re-raised by the def wrapper."""
    with gil:
        try:
            PyErr_CheckSignals()
        except BaseException as e:
            (<LowLevelObjective> c.owner).exc = e
            return 1
    return 0



# ---------------------------------------------------------------- def wrappers
def _objective_check(Objective objective, int rc):
    if rc == LF_NO_MEMORY:
        raise MemoryError("laplace_fast: out of memory for the stencil points")
    objective.check(rc)


def values(Objective objective, const double[:, ::1] x):
    """log_post at the B points x (B, d) of a single problem (B rows, one value each)."""
    cdef Py_ssize_t m = x.shape[0], d = x.shape[1]
    cdef int rc
    out = np.empty(m)
    cdef double[::1] ov = out
    if m == 0:
        return out
    with nogil:
        rc = objective.obj.values(objective.obj.ctx, m, 1, d, &x[0, 0], &ov[0])
    _objective_check(objective, rc)
    return out


def _outputs(Py_ssize_t B, Py_ssize_t d):
    """The arrays a derivative pass fills: f (B,), g (B, d), H and herr (B, d, d), nfev
    (B,) zeroed, axis_err (B,) NaN."""
    return (np.empty(B), np.zeros((B, d)), np.zeros((B, d, d)), np.zeros((B, d, d)),
            np.zeros(B, dtype=np.int_), np.full(B, np.nan))


cdef struct outputs_t:
    double *f
    double *g
    double *H
    double *herr
    long *nfev
    double *axis_err


cdef outputs_t _pointers(tuple arrays):
    """Pointers to the data of the arrays of _outputs (B, d >= 1; the caller keeps the
    arrays alive)."""
    cdef double[::1] f = arrays[0]
    cdef double[:, ::1] g = arrays[1]
    cdef double[:, :, ::1] H = arrays[2]
    cdef double[:, :, ::1] herr = arrays[3]
    cdef long[::1] nfev = arrays[4]
    cdef double[::1] axis_err = arrays[5]
    cdef outputs_t o
    o.f = &f[0]
    o.g = &g[0, 0]
    o.H = &H[0, 0, 0]
    o.herr = &herr[0, 0, 0]
    o.nfev = &nfev[0]
    o.axis_err = &axis_err[0]
    return o


def fd_derivatives(Objective objective, const double[:, ::1] x, str method, step=None,
                   bint want_hessian=True):
    """Value, gradient and (optionally) Hessian of B problems at x (B, d) by the
    objective's derivatives or finite differences; from values alone, everything comes
    from ONE values call.  Returns f (B,), g (B, d), H (B, d, d) or None,
    herr (B, d, d) or None, nfev (B,)."""
    cdef Py_ssize_t B = x.shape[0], d = x.shape[1]
    cdef int m = METHODS[method], rc = 0
    if B == 0 or d == 0:
        raise ValueError("x must have at least one parameter")
    arrays = _outputs(B, d)
    f, g, H, herr, nf, _ = arrays
    cdef outputs_t o = _pointers(arrays)
    cdef char[::1] av = np.ones(B, dtype=np.int8)
    cdef const double[::1] hs
    cdef const double *hp = NULL
    cdef bint from_values = objective.obj.grad == NULL and (
        objective.obj.hess == NULL or not want_hessian)
    if step is not None:
        hs = np.ascontiguousarray(step, dtype=np.float64)
        hp = &hs[0]
    with nogil:
        if from_values:
            rc = value_stencil(&objective.obj, B, d, &x[0, 0], o.f, 1, &av[0], m,
                               want_hessian, hp, NULL, o.g, o.H, o.herr, o.nfev)
        else:
            rc = objective.obj.values(objective.obj.ctx, 1, B, d, &x[0, 0], o.f)
            if rc == 0:
                o.nfev[0] += 1
                if want_hessian:
                    rc = derivatives(&objective.obj, B, d, &x[0, 0], o.f, &av[0], m, hp,
                                     NULL, o.g, o.H, o.herr, o.nfev)
                else:
                    rc = objective.obj.grad(objective.obj.ctx, 1, B, d, &x[0, 0], o.g)
    _objective_check(objective, rc)
    if not want_hessian:
        return f, g, None, None, nf
    return f, g, H, herr, nf


def scaled_derivatives(Objective objective, const double[:, ::1] x, str method, step=None):
    """Value, gradient and Hessian at x (B, d) of a point found elsewhere (a scipy
    method), with the stencil in the posterior's own scale: central differences at the
    default steps give the conditional sd's, and the stencil is recomputed with steps
    in those units until they agree with the sd's its Hessian implies (at most
    MAX_RESTEPS times; steps_consistent), then by ``method``.  Returns f, g, H, herr,
    nfev, ``resolved`` (B,): False where the steps never agreed or principal_check
    found a curvature unresolved (a negative definite -H is not needed: the summary
    classifies the others), and principal_check's ``axis_err`` (NaN if not measured)."""
    cdef Py_ssize_t B = x.shape[0], d = x.shape[1], b, it
    cdef int m = METHODS[method], rc = 0, again
    arrays = _outputs(B, d)
    f, g, H, herr, nf, axis_err = arrays
    resolved = np.zeros(B, dtype=np.int8)
    u = np.zeros((B, d))
    s = np.empty(d)
    cdef outputs_t o = _pointers(arrays)
    cdef char[::1] av = np.ones(B, dtype=np.int8)
    cdef char[::1] rv = resolved
    cdef double[:, ::1] uv = u
    cdef double[::1] sv = s
    cdef double[:, ::1] Av = np.empty((d, d))
    cdef double[:, ::1] Vv = np.empty((d, d))
    cdef const double[::1] hs
    cdef const double *hp = NULL
    cdef lf_objective *obj = &objective.obj
    if step is not None:
        hs = np.ascontiguousarray(step, dtype=np.float64)
        hp = &hs[0]
    with nogil:
        rc = obj.values(obj.ctx, 1, B, d, &x[0, 0], o.f)
        for b in range(B):
            o.nfev[b] += 1
            av[b] = isfinite(o.f[b])
        it = 0
        while rc == 0 and it <= MAX_RESTEPS:
            rc = derivatives(obj, B, d, &x[0, 0], o.f, &av[0], FD_CENTRAL, hp,
                             &uv[0, 0], o.g, o.H, o.herr, o.nfev)
            again = 0
            for b in range(B):
                if not av[b]:
                    continue
                av[b] = 0
                rv[b] = 1
                if obj.hess == NULL and hp == NULL and all_finite(o.H + b * d * d, d * d) \
                        and negdef(o.H + b * d * d, d, &Av[0, 0], &Vv[0, 0], &sv[0]):
                    rv[b] = steps_consistent(o.H + b * d * d, d, &uv[b, 0], &sv[0])
                    memcpy(&uv[b, 0], &sv[0], d * sizeof(double))
                    av[b] = not rv[b]
                    again |= av[b]
            if not again:
                break
            it += 1
        if rc == 0 and m != FD_CENTRAL and obj.hess == NULL:
            for b in range(B):
                av[b] = rv[b]
            rc = derivatives(obj, B, d, &x[0, 0], o.f, &av[0], m, hp, &uv[0, 0],
                             o.g, o.H, o.herr, o.nfev)
        if rc == 0 and obj.hess == NULL and m != FD_RICHARDSON:
            rc = principal_check(obj, B, d, &x[0, 0], o.f, o.H, o.herr, &rv[0],
                                 o.axis_err, o.nfev)
    _objective_check(objective, rc)
    return f, g, H, herr, nf, resolved.astype(bool), axis_err


cdef void summarize_batch(Py_ssize_t B, Py_ssize_t d, const double *H, const double *herr,
                          const double *axis_err, int source, double regularize,
                          double *cov, double *logdet, double *cond, double *shift,
                          int *status, int n_threads) noexcept nogil:
    """summarize_problem for each of B problems, in prange."""
    cdef Py_ssize_t b, dd = d * d
    cdef double *work
    with parallel(num_threads=n_threads):
        work = <double *> malloc(summary_work(d) * sizeof(double))
        for b in prange(B, schedule='dynamic'):
            summarize_problem(H + b * dd, herr + b * dd, axis_err[b], d, source,
                              regularize, cov + b * dd, &logdet[b], &cond[b], &shift[b],
                              &status[b], work)
        free(work)


def _summaries(Py_ssize_t B, Py_ssize_t d):
    """The arrays a summary fills: cov (B, d, d), logdet, cond and shift (B,)."""
    return np.empty((B, d, d)), np.empty(B), np.empty(B), np.zeros(B)


def summarize(const double[:, :, ::1] H, const double[:, :, ::1] herr,
              const double[::1] axis_err, int[::1] status, str source, double regularize,
              int n_threads=1):
    """The summary of B fitted Hessians H (B, d, d) with their error estimates herr and
    principal_check's axis_err (B,; NaN where not measured), from ``source`` (a key of
    SOURCES) and, for regularize > 0, the regularisation of saddles and flat directions
    (summarize_problem).  ``status`` (B,) holds each problem's status so far and
    receives its final one.  Returns cov (B, d, d), logdet, cond and shift (B,)."""
    cdef Py_ssize_t B = H.shape[0], d = H.shape[1]
    cdef int src = SOURCES[source]
    cov, logdet, cond, shift = _summaries(B, d)
    cdef double[:, :, ::1] cv = cov
    cdef double[::1] lv = logdet
    cdef double[::1] kv = cond
    cdef double[::1] tv = shift
    if B == 0:
        return cov, logdet, cond, shift
    with nogil:
        summarize_batch(B, d, &H[0, 0, 0], &herr[0, 0, 0], &axis_err[0], src, regularize,
                        &cv[0, 0, 0], &lv[0], &kv[0], &tv[0], &status[0], 1 if n_threads < 1
                        else n_threads)
    return cov, logdet, cond, shift


def fit(Objective objective, const double[:, ::1] x0, double tol, long maxiter,
        str final_method, step, str source, double regularize):
    """Damped Newton from x0 (B, d) and the summary of its Hessians, in one pass
    without the GIL (newton_batch, then summarize_problem per problem).  Returns x, f,
    g, H, herr, cov, logdet, cond, status, shift, niter, nfev."""
    cdef Py_ssize_t B = x0.shape[0], d = x0.shape[1]
    cdef int m = METHODS[final_method], src = SOURCES[source], rc
    x = np.array(x0)
    arrays = _outputs(B, d)
    f, g, H, herr, nfev, axis_err = arrays
    cov, logdet, cond, shift = _summaries(B, d)
    status = np.zeros(B, dtype=np.intc)
    niter = np.zeros(B, dtype=np.int_)
    cdef outputs_t o
    cdef double[:, ::1] xv = x
    cdef double[:, :, ::1] cv = cov
    cdef double[::1] lv = logdet
    cdef double[::1] kv = cond
    cdef double[::1] tv = shift
    cdef int[::1] sv = status
    cdef long[::1] iv = niter
    cdef const double[::1] hs
    cdef const double *hp = NULL
    if B == 0:
        return x, f, g, H, herr, cov, logdet, cond, status, shift, niter, nfev
    o = _pointers(arrays)
    if step is not None:
        hs = np.ascontiguousarray(step, dtype=np.float64)
        hp = &hs[0]
    with nogil:
        rc = newton_batch(&objective.obj, B, d, &xv[0, 0], o.f, o.g, o.H, o.herr, &sv[0],
                          &iv[0], o.nfev, tol, maxiter, m, hp, o.axis_err)
        if rc == 0:
            summarize_batch(B, d, o.H, o.herr, o.axis_err, src, regularize,
                            &cv[0, 0, 0], &lv[0], &kv[0], &tv[0], &sv[0], 1)
    _objective_check(objective, rc)
    return x, f, g, H, herr, cov, logdet, cond, status, shift, niter, nfev
