# cython: language_level=3
"""The generic Laplace core of laplace_fast: objectives, stencils, Newton, summaries.

Design
------
1. One C-level *objective* interface (``lf_objective``): ``values`` evaluates log_post
   at k point sets of B rows each (a (k, B, d) block, row b of every set belonging to
   problem b), optional ``grad`` likewise, optional ``hess`` at one point set.  Three
   implementations: a Python callable (scalar, vectorized or batch; a trampoline that
   takes the GIL, calls, checks the returned shape and stores a raised exception), and a
   ``scipy.LowLevelCallable`` ``double (int, double *, void *)`` that runs without the GIL.
2. Stencils generate all their points first and ask for them in one ``values`` call, so
   a vectorized Python callback costs one Python call per Hessian.  Steps are
   c * u_i, rounded so that x_i + h_i is exact (Press et al., Numerical Recipes, 3rd
   ed., sec. 5.7): u_i = max(1, |x_i|) until a negative definite Hessian gives the
   problem's conditional sd's 1 / sqrt(-H_ii), the stencil's units from then on (the
   public ``hessian``/``gradient`` keep max(1, |x_i|)).  The rounding error of a
   difference of values of size |f| is about eps |f|, so c grows with |f| by the power
   that balances it against the truncation (block_rule, rounding_factor).  Central
   second differences: c = 2.5e-4 (about 2 eps**(1/4)) in max(1, |x|) units, 1e-3 in sd
   units; first differences eps**(1/3); forward second differences eps**(1/3) and
   1e-5; Richardson: c = 3e-2 (0.2 in sd units) at h, h/2 and h/4, extrapolated twice
   to O(h^6), error estimate |R - R(h/2, h/4)| plus its finest level's rounding
   (Nocedal & Wright, Numerical Optimization, 2nd ed., sec. 8.1; Press et al. sec.
   5.7).  Mixed second differences use the 2-point symmetric form
   [f(x+u) + f(x-u) - f(x±h_i e_i) - f(x±h_j e_j) + 2 f(x)] / (2 h_i h_j),
   u = h_i e_i + h_j e_j: d(d+1) evaluations for a central Hessian, not 2 d^2
   (plus 2d for the gradient on its own shorter steps).  Central and forward Hessians
   carry a rounding bound per entry (rounding_error, plus forward_truncation), and a
   second difference along each principal axis of -H (principal_check) measures what
   the axis stencil's truncation leaves along it.
3. Damped Newton for the mode, all B problems in lock step (one ``values`` call per
   stencil or line-search round for the whole batch).  A true Hessian costs d(d+1)
   evaluations and a gradient 2d, so between true Hessians the model of -H is updated
   by BFGS from gradients (Nocedal & Wright ch. 6), refreshed (forward differences) after
   (d+1)/2 model steps, a poor line search or a non-concave region.  Convergence is
   judged in the posterior's own units (newton_loop): a Newton step from the central
   Hessian at the point returned whose decrement g^T (-H)^-1 g is at most tol, with a
   stencil whose steps agree with the sd's that Hessian implies.
   The step Hessian is modified
   only when the Cholesky of -H fails: eigenvalues of -H are replaced by
   max(|lambda|, 1e-8 max|lambda|) (Nocedal & Wright sec. 3.4).  At a stationary point
   that is not a maximum the step follows the eigenvector of largest curvature of H, so
   a start at a saddle or minimum never comes back as a mode.  Backtracking (Armijo,
   c1 = 1e-4) rejects non-finite trial points and trial points equal to x; a step whose
   gain is below the rounding level of log_post is taken unless the values contradict
   it.  The Hessian reported is always the
   unmodified one at the point returned.  Before a final Richardson (or forward)
   Hessian, a converged problem takes one more Newton step from a Richardson gradient,
   so that the mode is accurate well below tol and the ~1e-9 Hessian is not spoiled
   by the mode's error.
4. ``summarize`` classifies each reported Hessian by its eigenvalues (relative to scale;
   -H is scaled by a power of two first, so entries beyond 1e154 do not overflow) and
   forms cov, log det and condition number by Cholesky, in ``prange``.

Kernels never raise: they return an ``LF_*`` status (``lf_status.h``); the def wrappers
re-raise a callback's exception unchanged.
"""

import numpy as np
from cpython.exc cimport PyErr_CheckSignals
from cpython.pycapsule cimport PyCapsule_GetPointer, PyCapsule_GetName, PyCapsule_CheckExact
from libc.math cimport fabs, fmax, sqrt, isfinite, nextafter, frexp, ldexp, INFINITY, NAN
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memcmp
from cython.parallel cimport prange, parallel

cdef extern from "lf_status.h":
    int LF_OK, LF_ILL_CONDITIONED, LF_HESSIAN_INACCURATE, LF_MAXITER, LF_NO_PROGRESS
    int LF_NONFINITE_X0, LF_NONFINITE_FIT, LF_NOT_NEGDEF, LF_SINGULAR
    int LF_HESSIAN_NONFINITE, LF_DIVERGED, LF_CALLBACK_ERROR, LF_NO_MEMORY

cdef extern from "lf_linalg.h":
    int lf_ldl(const double *A, int d, double shift, double rtol, double *F,
               double *dinv, double *minpiv) noexcept nogil
    void lf_ldl_solve(const double *F, const double *dinv, int d, double *b) noexcept nogil
    double lf_ldl_logdet(const double *F, int d) noexcept nogil
    void lf_ldl_inverse(const double *F, const double *dinv, int d, double *out,
                        double *W) noexcept nogil
    int lf_sym_eig(double *A, int d, double *w, double *V) noexcept nogil

STATUS_CODES = dict(OK=LF_OK, ILL_CONDITIONED=LF_ILL_CONDITIONED,
                    HESSIAN_INACCURATE=LF_HESSIAN_INACCURATE, MAXITER=LF_MAXITER,
                    NO_PROGRESS=LF_NO_PROGRESS, NONFINITE_X0=LF_NONFINITE_X0,
                    NONFINITE_FIT=LF_NONFINITE_FIT, NOT_NEGDEF=LF_NOT_NEGDEF,
                    SINGULAR=LF_SINGULAR, HESSIAN_NONFINITE=LF_HESSIAN_NONFINITE,
                    DIVERGED=LF_DIVERGED)

# finite-difference methods
DEF FD_CENTRAL = 0
DEF FD_FORWARD = 1
DEF FD_RICHARDSON = 2
METHODS = {"central": FD_CENTRAL, "forward": FD_FORWARD, "richardson": FD_RICHARDSON}

DEF EPS = 2.220446049250313e-16
DEF C_HESS_CENTRAL = 2.5e-04           # about 2 eps**(1/4)
DEF C_HESS_FORWARD = 6.0554544523933e-06  # eps**(1/3)
DEF C_GRAD_CENTRAL = 6.0554544523933e-06  # eps**(1/3)
DEF C_GRAD_FORWARD = 1.4901161193847656e-08  # eps**(1/2)
DEF C_GRAD_RICHARDSON = 7.4009597974140505e-04  # eps**(1/5)
DEF C_HESS_RICHARDSON = 3e-2
DEF C_HESS_CENTRAL_SD = 1e-3     # second differences in sd units (block_rule)
DEF C_HESS_FORWARD_SD = 1e-5
DEF C_HESS_RICHARDSON_SD = 0.2
DEF ARMIJO_C1 = 1e-4
DEF MAX_HALVINGS = 50
DEF EIG_FLOOR = 1e-8
DEF STEP_SLACK = 2.0            # steps_consistent: steps within this factor of the sd's
DEF MAX_RESTEPS = 3             # stencils recomputed at one point before giving up
DEF ROUNDING_GAIN = 32.0        # gains below this many ulps of |log_post| are unverifiable
DEF ROUNDING_UNITS = 4.0       # rounding_error: ulps of max|f| in a second difference, x2
DEF LLC_SIGNAL_CHECK = 1024     # points between Ctrl-C checks in a LowLevelCallable loop


# ---------------------------------------------------------------- the objective interface
ctypedef int (*values_fn)(void *ctx, Py_ssize_t k, Py_ssize_t B, Py_ssize_t d,
                          const double *X, double *out) noexcept nogil
ctypedef int (*hess_fn)(void *ctx, Py_ssize_t B, Py_ssize_t d,
                        const double *X, double *H) noexcept nogil

cdef struct lf_objective:
    values_fn values        # (k, B, d) -> (k, B)
    values_fn grad          # (k, B, d) -> (k, B, d), or NULL
    hess_fn hess            # (B, d) -> (B, d, d), or NULL
    void *ctx


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


# ---------------------------------------------------------------- stencils
cdef inline void make_steps(const double *x, Py_ssize_t d, const double *hstep, double c,
                            double scale, const double *u, double *h) noexcept nogil:
    """Steps hstep_i * scale (the caller's), else c * scale * u_i (u: the problem's own
    length scale per coordinate, its conditional posterior sd; NULL or u_i = 0: the
    default max(1, |x_i|)), rounded so that x_i + h_i is exact."""
    cdef Py_ssize_t i
    cdef double hi, t
    for i in range(d):
        if hstep != NULL:
            hi = hstep[i] * scale
        elif u != NULL and u[i] > 0.0:
            hi = c * scale * u[i]
        else:
            hi = c * scale * (fabs(x[i]) if fabs(x[i]) > 1.0 else 1.0)
        t = x[i] + hi
        hi = t - x[i]
        if hi == 0.0:
            hi = nextafter(x[i], INFINITY) - x[i]
        h[i] = hi


cdef inline double rounding_factor(double f, double power, double c, double cmax) noexcept nogil:
    """The step factor c * max(1, |f|)**power, at most cmax.  The rounding error of a
    difference of values of size |f| is about eps |f|; a k-th difference of order-m
    accuracy balances it against the truncation error when h grows as
    (eps |f|)**(1 / (k + m)), so the steps grow with |f| by that power (an additive
    constant in log_post keeps the stencil's error the same fraction of the rounding)."""
    cdef double a = fabs(f)
    if not (a > 1.0) or not isfinite(a):
        return c
    a = c * a ** power
    return a if a < cmax else cmax


cdef inline Py_ssize_t hess_points(int forward, Py_ssize_t d) noexcept nogil:
    if forward:
        return 2 * d + d * (d - 1) // 2
    return d * (d + 1)


cdef void fill_hess_points(int forward, const double *x, const double *h, Py_ssize_t d,
                           Py_ssize_t B, Py_ssize_t b, double *pts) noexcept nogil:
    """Write the points of problem b's second-difference stencil (f(x) excluded) into
    rows b of the (P, B, d) block pts."""
    cdef Py_ssize_t i, j, p = 0, q
    cdef Py_ssize_t P = hess_points(forward, d)
    for q in range(P):
        memcpy(pts + (q * B + b) * d, x, d * sizeof(double))
    for i in range(d):
        if forward:
            pts[(p * B + b) * d + i] += h[i]
            pts[((p + 1) * B + b) * d + i] += 2.0 * h[i]
        else:
            pts[(p * B + b) * d + i] += h[i]
            pts[((p + 1) * B + b) * d + i] -= h[i]
        p += 2
    for i in range(d):
        for j in range(i + 1, d):
            pts[(p * B + b) * d + i] += h[i]
            pts[(p * B + b) * d + j] += h[j]
            if not forward:
                pts[((p + 1) * B + b) * d + i] -= h[i]
                pts[((p + 1) * B + b) * d + j] -= h[j]
                p += 2
            else:
                p += 1


cdef void combine_hess(int forward, double f0, const double *F, const double *h,
                       Py_ssize_t d, Py_ssize_t B, Py_ssize_t b, double *g,
                       double *H) noexcept nogil:
    """Gradient (central only; g may be NULL) and Hessian of problem b from values F
    (P, B) of the stencil written by fill_hess_points."""
    cdef Py_ssize_t i, j, p
    cdef double fp, fm, v
    for i in range(d):
        fp = F[(2 * i) * B + b]
        fm = F[(2 * i + 1) * B + b]
        if forward:
            H[i * d + i] = ((fm - f0) - 2.0 * (fp - f0)) / (h[i] * h[i])
        else:
            H[i * d + i] = ((fp - f0) + (fm - f0)) / (h[i] * h[i])
            if g != NULL:
                g[i] = (fp - fm) / (2.0 * h[i])
    p = 2 * d
    for i in range(d):
        for j in range(i + 1, d):
            if forward:
                v = ((F[p * B + b] - F[(2 * i) * B + b]) - (F[(2 * j) * B + b] - f0)) \
                    / (h[i] * h[j])
                p += 1
            else:
                v = ((F[p * B + b] - F[(2 * i) * B + b] - F[(2 * j) * B + b] + f0)
                     + (F[(p + 1) * B + b] - F[(2 * i + 1) * B + b]
                        - F[(2 * j + 1) * B + b] + f0)) / (2.0 * h[i] * h[j])
                p += 2
            H[i * d + j] = v
            H[j * d + i] = v


cdef void fill_grad_points(int forward, const double *x, const double *h, Py_ssize_t d,
                           Py_ssize_t B, Py_ssize_t b, double *pts) noexcept nogil:
    """Rows b of a first-difference block: x + h_i e_i (and x - h_i e_i when central)."""
    cdef Py_ssize_t i, q, P = d if forward else 2 * d
    for q in range(P):
        memcpy(pts + (q * B + b) * d, x, d * sizeof(double))
    for i in range(d):
        if forward:
            pts[(i * B + b) * d + i] += h[i]
        else:
            pts[((2 * i) * B + b) * d + i] += h[i]
            pts[((2 * i + 1) * B + b) * d + i] -= h[i]


cdef void combine_grad(int forward, double f0, const double *F, const double *h,
                       Py_ssize_t d, Py_ssize_t B, Py_ssize_t b, double *g) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(d):
        if forward:
            g[i] = (F[i * B + b] - f0) / h[i]
        else:
            g[i] = (F[(2 * i) * B + b] - F[(2 * i + 1) * B + b]) / (2.0 * h[i])


cdef void richardson3(double *a1, const double *a2, const double *a4, Py_ssize_t n,
                      double *err) noexcept nogil:
    """Two rounds of Richardson extrapolation of central differences at h, h/2, h/4
    (errors in even powers of h): a1 <- the O(h^6) value; err <- |it - the O(h^4)
    value from h/2 and h/4|, an estimate of the remaining error."""
    cdef Py_ssize_t i
    cdef double r12, r24, r
    for i in range(n):
        r12 = (4.0 * a2[i] - a1[i]) / 3.0
        r24 = (4.0 * a4[i] - a2[i]) / 3.0
        r = (16.0 * r24 - r12) / 15.0
        if err != NULL:
            err[i] = fabs(r - r24)
        a1[i] = r


# block kinds of a value stencil
DEF BLOCK_HESS_CENTRAL = 0
DEF BLOCK_HESS_FORWARD = 1
DEF BLOCK_GRAD_CENTRAL = 2
DEF BLOCK_GRAD_FORWARD = 3


cdef inline Py_ssize_t block_points(int kind, Py_ssize_t d) noexcept nogil:
    if kind == BLOCK_HESS_CENTRAL:
        return hess_points(0, d)
    if kind == BLOCK_HESS_FORWARD:
        return hess_points(1, d)
    if kind == BLOCK_GRAD_CENTRAL:
        return 2 * d
    return d


cdef inline void block_rule(int kind, int richardson, int sd_units, double *c,
                            double *power, double *cmax) noexcept nogil:
    """The step constant of a block, and how it grows with |log_post| (rounding_factor):
    central second differences c = 2.5e-4 (about 2 eps**(1/4)), |f|**(1/4); forward
    second differences and central gradients eps**(1/3), |f|**(1/3); forward gradients
    eps**(1/2), |f|**(1/2); Richardson's levels (truncation O(h^6)) c = 3e-2 and
    eps**(1/5), |f|**(1/8) and |f|**(1/7).  In sd units (sd_units) a posterior's
    higher derivatives are small, so second differences step further: central 1e-3
    (truncation c^2/12 of the fourth derivative, ~1e-7), forward 1e-5, Richardson's
    coarsest level 0.2 (what is left after two extrapolations is O(c^6))."""
    if sd_units and richardson and kind == BLOCK_HESS_CENTRAL:
        c[0] = C_HESS_RICHARDSON_SD
        power[0] = 0.125
        cmax[0] = 0.3
        return
    if sd_units and not richardson and kind <= BLOCK_HESS_FORWARD:
        c[0] = C_HESS_CENTRAL_SD if kind == BLOCK_HESS_CENTRAL else C_HESS_FORWARD_SD
        power[0] = 0.25 if kind == BLOCK_HESS_CENTRAL else 1.0 / 3.0
        cmax[0] = 0.1 if kind == BLOCK_HESS_CENTRAL else 0.05
        return
    if richardson:
        if kind == BLOCK_HESS_CENTRAL:
            c[0] = C_HESS_RICHARDSON
            power[0] = 0.125
        else:
            c[0] = C_GRAD_RICHARDSON
            power[0] = 1.0 / 7.0
        cmax[0] = 0.25
    elif kind == BLOCK_HESS_CENTRAL:
        c[0] = C_HESS_CENTRAL
        power[0] = 0.25
        cmax[0] = 0.1
    elif kind == BLOCK_HESS_FORWARD:
        c[0] = C_HESS_FORWARD
        power[0] = 1.0 / 3.0
        cmax[0] = 0.05
    elif kind == BLOCK_GRAD_CENTRAL:
        c[0] = C_GRAD_CENTRAL
        power[0] = 1.0 / 3.0
        cmax[0] = 0.05
    else:
        c[0] = C_GRAD_FORWARD
        power[0] = 0.5
        cmax[0] = 0.05


cdef void rounding_error(const double *F, Py_ssize_t P, Py_ssize_t B, Py_ssize_t b,
                         double f0, const double *h, Py_ssize_t d, double *err) noexcept nogil:
    """err_ij = ROUNDING_UNITS eps max|f| / (h_i h_j): a bound on the rounding error of
    a second difference with steps h_i, h_j from P values of size up to max|f| (each
    rounded to about eps |f|, a handful of them combined)."""
    cdef Py_ssize_t q, i, j
    cdef double m = fabs(f0), v
    for q in range(P):
        v = fabs(F[q * B + b])
        if v > m:
            m = v
    for i in range(d):
        for j in range(d):
            err[i * d + j] = ROUNDING_UNITS * EPS * m / (h[i] * h[j])


cdef void forward_truncation(const double *F, Py_ssize_t B, Py_ssize_t b, double f0,
                             const double *g, const double *h, Py_ssize_t d,
                             const double *H, double *err) noexcept nogil:
    """Add to err the truncation error of forward second differences, O(h) times the
    third derivative T: with the central gradient g, 2 (f(x + h e_i) - f0 - g_i h) / h^2
    is H_ii + T h / 3 while the forward value is H_ii + T h, so 3/2 of their difference
    estimates it; a mixed entry takes the geometric mean of its two diagonal ones."""
    cdef Py_ssize_t i, j
    cdef double t
    for i in range(d):
        t = (F[(2 * i) * B + b] - f0 - g[i] * h[i]) * 2.0 / (h[i] * h[i])
        err[i * d + i] += 1.5 * fabs(H[i * d + i] - t)
    for i in range(d):
        for j in range(i + 1, d):
            t = sqrt(err[i * d + i] * err[j * d + j])
            err[i * d + j] = t
            err[j * d + i] = t


cdef int value_stencil(lf_objective *obj, Py_ssize_t B, Py_ssize_t d, const double *x,
                       double *f0, int with_center, const char *active, int method,
                       int want_hess, const double *hstep, const double *u, double *g,
                       double *H, double *herr, long *nfev) noexcept nogil:
    """Every finite difference of one request from values, in ONE values call.

    want_hess: central -> second differences + central gradient (on its own, shorter
    steps); forward -> forward second differences + central gradient; richardson ->
    central second differences at h, h/2, h/4, H and g extrapolated (richardson3).
    Gradient only: central 2d points, forward d points, richardson 6d points.
    Steps follow block_rule, in units of u (B, d; NULL: max(1, |x_i|)), grown with
    |f0| when f0 is known.  herr (want_hess) receives an error estimate of each entry:
    rounding_error (+ forward_truncation) for central and forward, Richardson's own
    otherwise.  with_center: f(x) is one more point, written to f0 (else f0 is read)."""
    cdef int kinds[3]
    cdef double cs[3]
    cdef double pw[3]
    cdef double cm[3]
    cdef double scales[3]
    cdef int nb = 1, k, rc, level, rich = method == FD_RICHARDSON
    cdef Py_ssize_t offs[4]
    cdef Py_ssize_t P, b, q, dd = d * d
    cdef double *pts
    cdef double *F
    cdef double *h
    cdef double *g2
    cdef double *g4
    cdef double *H2
    cdef double *H4
    cdef double *gk
    cdef double *Hk
    cdef const double *ub
    cdef double c
    if want_hess:
        kinds[0] = BLOCK_HESS_FORWARD if method == FD_FORWARD else BLOCK_HESS_CENTRAL
        if not rich:
            nb = 2                       # the gradient from its own, shorter steps
            kinds[1] = BLOCK_GRAD_CENTRAL
    else:
        kinds[0] = BLOCK_GRAD_FORWARD if method == FD_FORWARD else BLOCK_GRAD_CENTRAL
    scales[0] = 1.0
    scales[1] = 1.0
    if rich:
        nb = 3
        for k in range(1, 3):
            kinds[k] = kinds[0]
        scales[1] = 0.5
        scales[2] = 0.25
    offs[0] = 0
    for k in range(nb):
        offs[k + 1] = offs[k] + block_points(kinds[k], d)
    P = offs[nb] + (1 if with_center else 0)
    pts = <double *> malloc((P * B * d + P * B + 3 * d + 2 * dd + 1) * sizeof(double))
    if pts == NULL:
        return LF_NO_MEMORY
    F = pts + P * B * d
    h = F + P * B
    g2 = h + d                   # Richardson's finer levels: g2, H2 (h/2), g4, H4 (h/4)
    g4 = g2 + d
    H2 = g4 + d
    H4 = H2 + dd
    for b in range(B):
        if not active[b]:
            for q in range(P):
                memcpy(pts + (q * B + b) * d, x + b * d, d * sizeof(double))
            continue
        ub = u + b * d if u != NULL and u[b * d] > 0.0 else NULL
        for k in range(nb):
            block_rule(kinds[k], rich, ub != NULL, &cs[k], &pw[k], &cm[k])
            c = cs[k] if with_center else rounding_factor(f0[b], pw[k], cs[k], cm[k])
            make_steps(x + b * d, d, hstep, c, scales[k], ub, h)
            if kinds[k] <= BLOCK_HESS_FORWARD:
                fill_hess_points(kinds[k] == BLOCK_HESS_FORWARD, x + b * d, h, d, B, b,
                                 pts + offs[k] * B * d)
            else:
                fill_grad_points(kinds[k] == BLOCK_GRAD_FORWARD, x + b * d, h, d, B, b,
                                 pts + offs[k] * B * d)
        if with_center:
            memcpy(pts + (offs[nb] * B + b) * d, x + b * d, d * sizeof(double))
    rc = obj.values(obj.ctx, P, B, d, pts, F)
    if rc == 0:
        for b in range(B):
            if not active[b]:
                continue
            nfev[b] += P
            if with_center:
                f0[b] = F[offs[nb] * B + b]
            ub = u + b * d if u != NULL and u[b * d] > 0.0 else NULL
            # the gradient block first: forward_truncation needs its g
            for k in range(nb - 1, -1, -1):
                block_rule(kinds[k], rich, ub != NULL, &cs[k], &pw[k], &cm[k])
                c = cs[k] if with_center else rounding_factor(f0[b], pw[k], cs[k], cm[k])
                make_steps(x + b * d, d, hstep, c, scales[k], ub, h)
                level = k if rich else 0   # Richardson: h, h/2, h/4
                gk = g + b * d if level == 0 else (g2 if level == 1 else g4)
                Hk = H + b * dd if level == 0 else (H2 if level == 1 else H4)
                if kinds[k] <= BLOCK_HESS_FORWARD:
                    # Richardson extrapolates the long steps' gradient; the others have
                    # a gradient block of their own
                    combine_hess(kinds[k] == BLOCK_HESS_FORWARD, f0[b], F + offs[k] * B, h,
                                 d, B, b, gk if rich else NULL, Hk)
                    if not rich:
                        rounding_error(F + offs[k] * B, offs[k + 1] - offs[k], B, b, f0[b],
                                       h, d, herr + b * dd)
                        if kinds[k] == BLOCK_HESS_FORWARD:
                            forward_truncation(F + offs[k] * B, B, b, f0[b], g + b * d, h,
                                               d, Hk, herr + b * dd)
                else:
                    combine_grad(kinds[k] == BLOCK_GRAD_FORWARD, f0[b], F + offs[k] * B,
                                 h, d, B, b, gk)
            if rich:
                richardson3(g + b * d, g2, g4, d, NULL)
                if want_hess:
                    richardson3(H + b * dd, H2, H4, dd, herr + b * dd)
                    # the extrapolation weighs the h/4 level's rounding (16 times the
                    # h level's) about twice: add that bound (h holds level h's steps)
                    rounding_error(F, offs[nb], B, b, f0[b], h, d, H2)
                    for q in range(dd):
                        herr[b * dd + q] += 32.0 * H2[q]
    free(pts)
    return rc


cdef int grad_difference_hessian(lf_objective *obj, Py_ssize_t B, Py_ssize_t d,
                                 const double *x, const char *active, int forward,
                                 const double *hstep, const double *u, double c,
                                 double scale, const double *g0, double *H) noexcept nogil:
    """Hessian by differencing the user's gradient, symmetrised: column j is
    (g(x + h_j e_j) - g(x - h_j e_j)) / (2 h_j), or forward against g0."""
    cdef Py_ssize_t P = d if forward else 2 * d, b, q, i, j
    cdef double *pts = <double *> malloc((P * B * d + P * B * d + d + 1) * sizeof(double))
    cdef double *G
    cdef double *h
    cdef double *Hb
    cdef double v
    cdef int rc
    if pts == NULL:
        return LF_NO_MEMORY
    G = pts + P * B * d
    h = G + P * B * d
    for b in range(B):
        if active[b]:
            make_steps(x + b * d, d, hstep, c, scale, u + b * d if u != NULL else NULL, h)
            fill_grad_points(forward, x + b * d, h, d, B, b, pts)
        else:
            for q in range(P):
                memcpy(pts + (q * B + b) * d, x + b * d, d * sizeof(double))
    rc = obj.grad(obj.ctx, P, B, d, pts, G)
    if rc == 0:
        for b in range(B):
            if active[b]:
                make_steps(x + b * d, d, hstep, c, scale, u + b * d if u != NULL else NULL, h)
                Hb = H + b * d * d
                for j in range(d):
                    for i in range(d):
                        if forward:
                            Hb[i * d + j] = (G[(j * B + b) * d + i] - g0[b * d + i]) / h[j]
                        else:
                            Hb[i * d + j] = (G[((2 * j) * B + b) * d + i]
                                             - G[((2 * j + 1) * B + b) * d + i]) / (2.0 * h[j])
                for i in range(d):
                    for j in range(i + 1, d):
                        v = 0.5 * (Hb[i * d + j] + Hb[j * d + i])
                        Hb[i * d + j] = v
                        Hb[j * d + i] = v
    free(pts)
    return rc


cdef int richardson_combine(Py_ssize_t n, double *coarse, const double *fine,
                            double *err) noexcept nogil:
    """coarse <- (4 fine - coarse) / 3; err <- |result - fine| (n entries)."""
    cdef Py_ssize_t i
    cdef double r
    for i in range(n):
        r = (4.0 * fine[i] - coarse[i]) / 3.0
        if err != NULL:
            err[i] = fabs(r - fine[i])
        coarse[i] = r
    return 0


cdef int derivatives(lf_objective *obj, Py_ssize_t B, Py_ssize_t d, const double *x,
                     double *f0, const char *active, int method, const double *hstep,
                     const double *u, double *g, double *H, double *herr,
                     long *nfev) noexcept nogil:
    """Gradient and Hessian of every active problem by the best means available:
    analytic hess/grad when the objective has them, else finite differences of the
    gradient, else of values (one values call), with steps in units of u (see
    value_stencil).  herr (B, d, d) receives the error estimate of the active problems'
    Hessians (value stencils: rounding and truncation; a differenced gradient:
    Richardson's estimate, zero for one level; an analytic Hessian: zero)."""
    cdef Py_ssize_t nn = B * d * d, i, b
    cdef int rc = 0, fwd = method == FD_FORWARD
    cdef double *tmp = NULL
    for b in range(B):
        if active[b]:
            for i in range(d * d):
                herr[b * d * d + i] = 0.0
    if obj.hess == NULL and obj.grad == NULL:
        return value_stencil(obj, B, d, x, f0, 0, active, method, 1, hstep, u, g, H, herr,
                             nfev)
    if obj.grad != NULL:
        rc = obj.grad(obj.ctx, 1, B, d, x, g)
    else:
        rc = value_stencil(obj, B, d, x, f0, 0, active, FD_CENTRAL, 0, hstep, u, g, NULL,
                           NULL, nfev)
    if rc != 0:
        return rc
    if obj.hess != NULL:
        return obj.hess(obj.ctx, B, d, x, H)
    if method == FD_RICHARDSON:
        tmp = <double *> malloc((nn + 1) * sizeof(double))
        if tmp == NULL:
            return LF_NO_MEMORY
    rc = grad_difference_hessian(obj, B, d, x, active, fwd, hstep, u,
                                 C_GRAD_FORWARD if fwd else (
                                     C_GRAD_RICHARDSON if tmp != NULL else C_GRAD_CENTRAL),
                                 1.0, g, H)
    if rc == 0 and tmp != NULL:
        rc = grad_difference_hessian(obj, B, d, x, active, 0, hstep, u, C_GRAD_RICHARDSON,
                                     0.5, g, tmp)
        if rc == 0:
            for b in range(B):
                if active[b]:
                    richardson_combine(d * d, H + b * d * d, tmp + b * d * d,
                                       herr + b * d * d)
    free(tmp)
    return rc


# ---------------------------------------------------------------- Newton
cdef inline double scaled_norm(const double *p, const double *x, Py_ssize_t d) noexcept nogil:
    cdef Py_ssize_t i
    cdef double m = 0.0, s, v
    for i in range(d):
        s = fabs(x[i])
        v = fabs(p[i]) / (s if s > 1.0 else 1.0)
        if v > m:
            m = v
    return m


cdef inline int all_finite(const double *a, Py_ssize_t n) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(n):
        if not isfinite(a[i]):
            return 0
    return 1


cdef void neg_eig(const double *H, Py_ssize_t d, double *A, double *V, double *w,
                  double *lo, double *hi, double *absmax, Py_ssize_t *ilo) noexcept nogil:
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
    return lf_ldl(A, <int> d, 0.0, 16 * d * EPS, F, w, &piv) == 0


cdef int newton_direction(const double *g, const double *H, const double *x, Py_ssize_t d,
                          double tol, double *p, double *A, double *V,
                          double *w) noexcept nogil:
    """Ascent direction p for log_post.  Returns 0 for the plain Newton step
    (-H positive definite), 1 for a modified step, 2 when the step is negligible but
    H has positive curvature: p is then the unit eigenvector of largest curvature
    (escape from a stationary point that is not a maximum) -- or H vanishes and the
    gradient does not: p is then the unit gradient (log_post is locally linear), 3 when
    the step is negligible and -H is positive semi-definite (nothing left to do here)."""
    cdef Py_ssize_t i, j, k, imin
    cdef double lam_max, lam_min, lam_top, t
    for i in range(d):
        p[i] = g[i]
    if negdef(H, d, A, V, w):
        lf_ldl_solve(V, w, <int> d, p)
        return 0
    neg_eig(H, d, A, V, w, &lam_min, &lam_top, &lam_max, &imin)
    for i in range(d):
        p[i] = 0.0
    if lam_max > 0.0:
        for k in range(d):
            t = 0.0
            for j in range(d):
                t += V[j * d + k] * g[j]
            t /= fabs(w[k]) if fabs(w[k]) > EIG_FLOOR * lam_max else EIG_FLOOR * lam_max
            for i in range(d):
                p[i] += V[i * d + k] * t
    else:
        t = 0.0
        for i in range(d):
            t += g[i] * g[i]
        if t > 0.0:
            t = sqrt(t)
            for i in range(d):
                p[i] = g[i] / t
            return 2
    if scaled_norm(p, x, d) > tol:
        return 1
    if lam_min < -16 * d * EPS * lam_max:
        for i in range(d):
            p[i] = V[i * d + imin]
        return 2
    return 3


cdef int steps_consistent(const double *H, Py_ssize_t d, const double *u,
                          double *s) noexcept nogil:
    """s <- the conditional posterior sd's 1 / sqrt(-H_ii) of a negative definite H;
    1 when the steps u the Hessian was computed with were within a factor of
    STEP_SLACK of them (so its stencil worked in the posterior's own scale), else 0."""
    cdef Py_ssize_t i
    cdef int ok = 1
    for i in range(d):
        s[i] = 1.0 / sqrt(-H[i * d + i])
        if not (u[i] > 0.0 and s[i] <= STEP_SLACK * u[i] and u[i] <= STEP_SLACK * s[i]):
            ok = 0
    return ok


cdef struct newton_work:
    double *xt          # (B, d) trial points
    double *P           # (B, d) steps
    double *xprev       # (B, d) previous iterate
    double *gprev       # (B, d) gradient there
    double *u           # (B, d) step units: conditional sd's from the last true Hessian
    double *Bk          # (B, d, d) quasi-Newton model of -H
    double *ft          # (B,)
    double *alpha       # (B,)
    double *slope       # (B,) g.p: the Newton decrement when p is a Newton step
    double *sn          # (B,) scaled Newton step
    double *bound       # (B,) divergence bound on |x|
    double *A           # (d, d)
    double *V           # (d, d)
    double *w           # (d,)
    char *active        # (B,) still iterating
    char *in_ls         # (B,) in the line search
    char *escape        # (B,) stepping out of a stationary point
    char *need_full     # (B,) next round: 0 gradient only, 1 forward, 2 central Hessian
    char *used          # (B,) what this round's step was based on (as need_full)
    char *h_current     # (B,) H holds the true Hessian at x
    char *mask          # (B,) scratch
    char *polish        # (B,) converged on a Newton step: may be polished
    char *unverified    # (B,) this step's gain is below the rounding level of log_post
    char *stalled       # (B,) the line search from x found nothing (x unchanged since)
    long *nquasi        # (B,) quasi-Newton steps since the last true Hessian
    long *nrestep       # (B,) stencils recomputed at x for steps in its own scale


cdef int gradient_only(lf_objective *obj, Py_ssize_t B, Py_ssize_t d, const double *x,
                       const double *f0, const char *mask, const double *hstep,
                       const double *u, double *g, long *nfev) noexcept nogil:
    if obj.grad != NULL:
        return obj.grad(obj.ctx, 1, B, d, x, g)
    return value_stencil(obj, B, d, x, <double *> f0, 0, mask, FD_CENTRAL, 0, hstep, u, g,
                         NULL, NULL, nfev)


cdef void bfgs_update(double *Bk, const double *s, const double *y, Py_ssize_t d,
                      double *Bs) noexcept nogil:
    """BFGS update of the model Bk of -H with step s and y = g_old - g_new (Nocedal &
    Wright eq. 6.19); skipped when the curvature condition s.y > 0 fails, so Bk stays
    positive definite."""
    cdef Py_ssize_t i, j
    cdef double sBs = 0.0, sy = 0.0, ss = 0.0, yy = 0.0
    for i in range(d):
        Bs[i] = 0.0
        for j in range(d):
            Bs[i] += Bk[i * d + j] * s[j]
        sBs += s[i] * Bs[i]
        sy += s[i] * y[i]
        ss += s[i] * s[i]
        yy += y[i] * y[i]
    if not (sy > 1e-10 * sqrt(ss * yy)) or not (sBs > 0.0):
        return
    for i in range(d):
        for j in range(d):
            Bk[i * d + j] += y[i] * y[j] / sy - Bs[i] * Bs[j] / sBs


cdef int try_steps(lf_objective *obj, Py_ssize_t B, Py_ssize_t d, const double *x,
                   const char *mask, long *nfev, newton_work *W) noexcept nogil:
    """Trial points W.xt = x + W.alpha W.P for the masked problems (x for the others)
    and their values W.ft, in one values call, counted for the masked ones."""
    cdef Py_ssize_t b, i
    cdef int rc
    for b in range(B):
        for i in range(d):
            W.xt[b * d + i] = x[b * d + i] + (W.alpha[b] * W.P[b * d + i] if mask[b]
                                              else 0.0)
    rc = obj.values(obj.ctx, 1, B, d, W.xt, W.ft)
    if rc == 0:
        for b in range(B):
            nfev[b] += mask[b]
    return rc


cdef int newton_loop(lf_objective *obj, Py_ssize_t B, Py_ssize_t d, double *x, double *f,
                     double *g, double *H, double *herr, int *status, long *niter,
                     long *nfev, double tol, long maxiter, const double *hstep,
                     newton_work *W) noexcept nogil:
    """The lock-step iteration.  A round computes the true (finite-difference or
    analytic) Hessian for the problems that need it -- the first round, a candidate
    convergence, a model that lost definiteness or predicted badly, any non-concave
    region -- and only the gradient for the others, whose model of -H is updated by
    BFGS.  Each negative definite true Hessian sets the problem's step units u to its
    conditional sd's, so later stencils work in the posterior's own scale.

    Convergence is declared only on a Newton step p computed from the central Hessian
    at the current point, whose stencil used steps within STEP_SLACK of the sd's that
    Hessian implies (else it is recomputed, at most MAX_RESTEPS times: a maximum whose
    curvature no stencil resolves, such as -t^4 at 0, is LF_SINGULAR), when the Newton
    decrement g.p -- the squared length of p in the posterior's metric -- is at most
    tol, and p is negligible against tol max(1, |x_i|), or its gain is below the
    rounding level of log_post (no value can verify it), or the line search from x
    found nothing.  A step whose gain is below that rounding level is taken when the
    values do not contradict it; a trial point equal to x is a failed line search."""
    cdef Py_ssize_t b, i, it_ls, nact, nfull, dd = d * d
    cdef int rc, kind, full, consistent
    cdef double s, piv, rnd
    for b in range(B):
        status[b] = LF_OK
        niter[b] = 0
        nfev[b] = 0
        W.active[b] = 1
        W.need_full[b] = 1           # the first model: a forward-difference Hessian
        W.h_current[b] = 0
        W.polish[b] = 0
        W.stalled[b] = 0
        W.nquasi[b] = 0
        W.nrestep[b] = 0
        s = 1.0
        for i in range(d):
            W.u[b * d + i] = 0.0
            if fabs(x[b * d + i]) > s:
                s = fabs(x[b * d + i])
        W.bound[b] = 1e12 * s
    rc = obj.values(obj.ctx, 1, B, d, x, f)
    if rc != 0:
        return rc
    for b in range(B):
        nfev[b] += 1
        if not isfinite(f[b]):
            status[b] = LF_NONFINITE_X0
            W.active[b] = 0
    while True:
        # true Hessians: central where they confirm convergence (and are reported),
        # forward where they only refresh the model; gradients elsewhere
        for full in range(2, -1, -1):
            nfull = 0
            for b in range(B):
                W.mask[b] = W.active[b] and W.need_full[b] == full
                nfull += W.mask[b]
            if nfull == 0:
                continue
            if full == 0:
                rc = gradient_only(obj, B, d, x, f, W.mask, hstep, W.u, g, nfev)
            else:
                rc = derivatives(obj, B, d, x, f, W.mask,
                                 FD_CENTRAL if full == 2 else FD_FORWARD, hstep, W.u, g, H,
                                 herr, nfev)
            if rc != 0:
                return rc
            if full == 2:
                for b in range(B):
                    if W.mask[b]:
                        W.h_current[b] = 1
        nact = 0
        for b in range(B):
            W.in_ls[b] = 0
            if not W.active[b]:
                continue
            W.used[b] = W.need_full[b]
            if not all_finite(g + b * d, d):
                status[b] = LF_NONFINITE_FIT
                W.active[b] = 0
                continue
            consistent = 1
            if W.need_full[b]:
                if not all_finite(H + b * dd, dd):
                    status[b] = LF_HESSIAN_NONFINITE
                    W.active[b] = 0
                    continue
                kind = newton_direction(g + b * d, H + b * dd, x + b * d, d, tol,
                                        W.P + b * d, W.A, W.V, W.w)
                for i in range(dd):
                    W.Bk[b * dd + i] = -H[b * dd + i]
                if kind == 0 and obj.hess == NULL and hstep == NULL:
                    consistent = steps_consistent(H + b * dd, d, W.u + b * d, W.w)
                    memcpy(W.u + b * d, W.w, d * sizeof(double))
            else:
                for i in range(d):
                    W.xt[b * d + i] = W.gprev[b * d + i] - g[b * d + i]
                    W.P[b * d + i] = x[b * d + i] - W.xprev[b * d + i]
                bfgs_update(W.Bk + b * dd, W.P + b * d, W.xt + b * d, d, W.w)
                if lf_ldl(W.Bk + b * dd, <int> d, 0.0, 16 * d * EPS, W.A, W.w,
                          &piv) != 0:
                    W.need_full[b] = 1           # the model lost definiteness
                    continue
                for i in range(d):
                    W.P[b * d + i] = g[b * d + i]
                lf_ldl_solve(W.A, W.w, <int> d, W.P + b * d)
                kind = 0
            W.escape[b] = kind == 2
            W.sn[b] = scaled_norm(W.P + b * d, x + b * d, d)
            W.slope[b] = 0.0
            for i in range(d):
                W.slope[b] += g[b * d + i] * W.P[b * d + i]
            rnd = ROUNDING_GAIN * EPS * (fabs(f[b]) if fabs(f[b]) > 1.0 else 1.0)
            W.unverified[b] = kind == 0 and W.slope[b] <= rnd
            if kind == 3 or (kind == 0 and W.slope[b] <= tol and (
                    W.sn[b] <= tol or W.unverified[b] or W.stalled[b])):
                if W.need_full[b] != 2:
                    W.need_full[b] = 2   # confirm with the central Hessian
                elif not consistent:
                    W.nrestep[b] += 1    # again, with steps in the sd's just found
                    if W.nrestep[b] > MAX_RESTEPS:
                        status[b] = LF_SINGULAR
                        W.active[b] = 0
                else:
                    W.active[b] = 0      # converged, or flat: the summary classifies H
                    W.polish[b] = kind == 0
                continue
            if niter[b] >= maxiter:
                status[b] = LF_MAXITER
                W.active[b] = 0
                continue
            # non-concave regions keep true Hessians; a model older than a true
            # Hessian's worth of gradients ((d + 1) / 2 of them) is refreshed
            if W.need_full[b]:
                W.nquasi[b] = 0
            else:
                W.nquasi[b] += 1
            W.need_full[b] = kind != 0 or 2 * W.nquasi[b] >= d + 1
            W.alpha[b] = 1.0
            if W.escape[b]:
                for i in range(d):
                    if fabs(x[b * d + i]) > W.alpha[b]:
                        W.alpha[b] = fabs(x[b * d + i])
            W.in_ls[b] = 1
            nact += 1
        if nact == 0:
            for b in range(B):
                if W.active[b]:
                    break
            else:
                return 0
            continue                     # only re-evaluations are pending
        # backtracking line search, all problems in one values call per round;
        # W.mask marks a problem whose trial point fell back onto x
        for b in range(B):
            W.mask[b] = 0
        for it_ls in range(MAX_HALVINGS):
            nact = 0
            for b in range(B):
                nact += W.in_ls[b]
            if nact == 0:
                break
            rc = try_steps(obj, B, d, x, W.in_ls, nfev, W)
            if rc != 0:
                return rc
            for b in range(B):
                if not W.in_ls[b]:
                    continue
                rnd = ROUNDING_GAIN * EPS * (fabs(f[b]) if fabs(f[b]) > 1.0 else 1.0)
                if W.ft[b] == INFINITY:
                    status[b] = LF_DIVERGED       # log_post unbounded above
                    W.active[b] = 0
                    W.in_ls[b] = 0
                elif memcmp(W.xt + b * d, x + b * d, d * sizeof(double)) == 0:
                    W.in_ls[b] = 0
                    W.mask[b] = 1
                elif isfinite(W.ft[b]) and (
                        W.ft[b] > f[b] if W.escape[b]
                        else W.ft[b] >= f[b] - rnd if W.unverified[b]
                        else W.ft[b] >= f[b] + ARMIJO_C1 * W.alpha[b] * W.slope[b]):
                    memcpy(W.xprev + b * d, x + b * d, d * sizeof(double))
                    memcpy(W.gprev + b * d, g + b * d, d * sizeof(double))
                    memcpy(x + b * d, W.xt + b * d, d * sizeof(double))
                    f[b] = W.ft[b]
                    niter[b] += 1
                    W.h_current[b] = 0
                    W.stalled[b] = 0
                    W.nrestep[b] = 0
                    if it_ls > 1:
                        W.need_full[b] = 1       # the model predicted badly
                    W.in_ls[b] = 0
                else:
                    W.alpha[b] *= 0.5
        for b in range(B):
            if W.in_ls[b] or W.mask[b]:
                if W.used[b] < 2:
                    W.need_full[b] = W.used[b] + 1   # retry with a truer Hessian
                    continue
                if not W.escape[b] and W.slope[b] <= tol:
                    # nothing verifiable along a Newton step that is already within
                    # sqrt(tol) sd of the mode: the noise floor of log_post
                    W.stalled[b] = 1
                    W.need_full[b] = 2
                    continue
                status[b] = LF_NO_PROGRESS
                W.active[b] = 0
            elif W.active[b]:
                for i in range(d):
                    if fabs(x[b * d + i]) > W.bound[b]:
                        status[b] = LF_DIVERGED
                        W.active[b] = 0
                        break


cdef int polish(lf_objective *obj, Py_ssize_t B, Py_ssize_t d, double *x, double *f,
                const double *H, double tol, const double *hstep, long *nfev,
                newton_work *W) noexcept nogil:
    """Before a final Hessian by another stencil (Richardson): each converged problem
    takes one more Newton step, from a Richardson gradient (6d points, far more
    accurate than the central one the iteration stopped on; the user's gradient when
    there is one) and its central Hessian, so that the mode's own error (~tol) does not
    spoil a ~1e-9 Hessian through the third derivatives.  A step that lowers log_post
    beyond its rounding level is not taken."""
    cdef Py_ssize_t b, i, dd = d * d
    cdef int rc, any_ = 0
    for b in range(B):
        any_ |= W.polish[b]
    if not any_:
        return 0
    if obj.grad != NULL:
        rc = obj.grad(obj.ctx, 1, B, d, x, W.gprev)
    else:
        rc = value_stencil(obj, B, d, x, f, 0, W.polish, FD_RICHARDSON, 0, hstep, W.u,
                           W.gprev, NULL, NULL, nfev)
    if rc != 0:
        return rc
    for b in range(B):
        # only a plain Newton step (-H positive definite) is taken
        if W.polish[b] and newton_direction(W.gprev + b * d, H + b * dd, x + b * d, d, tol,
                                            W.P + b * d, W.A, W.V, W.w) != 0:
            W.polish[b] = 0
        W.alpha[b] = 1.0
    rc = try_steps(obj, B, d, x, W.polish, nfev, W)
    if rc != 0:
        return rc
    for b in range(B):
        if not W.polish[b]:
            continue
        if isfinite(W.ft[b]) and W.ft[b] >= f[b] - 64 * EPS * fmax(1.0, fabs(f[b])):
            memcpy(x + b * d, W.xt + b * d, d * sizeof(double))
            f[b] = W.ft[b]
    return 0


cdef int principal_check(lf_objective *obj, Py_ssize_t B, Py_ssize_t d, const double *x,
                         const double *f, const double *H, double *herr, char *mask,
                         double *axis_err, long *nfev) noexcept nogil:
    """The error of a finite-difference Hessian along its own principal axes, measured.
    For each masked problem whose -H is positive definite, with eigenpairs
    (lambda_k, v_k): the second difference D_k = -(f(x + t v_k) + f(x - t v_k) - 2 f(x))
    / t^2 at t twice the central stencil's step in that axis' sd units
    (1 / sqrt(lambda_k)).  Truncation grows as t^2, so |D_k - lambda_k| / 3 estimates
    the axis stencil's own truncation along v_k; it is added to herr as
    gap_k |v_ik v_jk|, and axis_err[b] receives max_k (gap_k + r_k) / lambda_k with r_k
    the root-mean-square projection sqrt(sum_ij v_ik^2 v_jk^2 herr_ij^2) of the
    entries' rounding bounds (independent errors).  A curvature the axis stencil cannot
    resolve gives a D_k unlike lambda_k (four times it for -(t0 + t1)^4 along (1, 1),
    none for a flat direction whose lambda_k is noise): mask[b] is cleared when some
    D_k / lambda_k falls outside [1 / STEP_SLACK, STEP_SLACK].  axis_err is
    NaN where nothing was measured.  2d evaluations, one values call."""
    cdef Py_ssize_t P = 2 * d, b, k, i, j, q, dd = d * d
    cdef double *pts = <double *> malloc((P * B * d + P * B + 2 * dd + 2 * d + 1)
                                         * sizeof(double))
    cdef double *F
    cdef double *A
    cdef double *V
    cdef double *w
    cdef double *gap
    cdef double lo, hi, top, t, r, e
    cdef Py_ssize_t ilo
    cdef char *use
    cdef int rc
    if pts == NULL:
        return LF_NO_MEMORY
    use = <char *> malloc(B + 1)
    if use == NULL:
        free(pts)
        return LF_NO_MEMORY
    F = pts + P * B * d
    A = F + P * B
    V = A + dd
    w = V + dd
    gap = w + d
    for b in range(B):
        axis_err[b] = NAN
        for q in range(P):
            memcpy(pts + (q * B + b) * d, x + b * d, d * sizeof(double))
        use[b] = mask[b] and all_finite(H + b * dd, dd)
        if not use[b]:
            continue
        neg_eig(H + b * dd, d, A, V, w, &lo, &hi, &top, &ilo)
        use[b] = lo > 0.0
        if not use[b]:
            continue
        for k in range(d):
            t = 2.0 * rounding_factor(f[b], 0.25, C_HESS_CENTRAL_SD, 0.1) / sqrt(w[k])
            for i in range(d):
                pts[((2 * k) * B + b) * d + i] += t * V[i * d + k]
                pts[((2 * k + 1) * B + b) * d + i] -= t * V[i * d + k]
    rc = obj.values(obj.ctx, P, B, d, pts, F)
    if rc == 0:
        for b in range(B):
            if not use[b]:
                continue
            nfev[b] += P
            neg_eig(H + b * dd, d, A, V, w, &lo, &hi, &top, &ilo)
            axis_err[b] = 0.0
            for k in range(d):
                t = 0.0                  # the distance stepped, as rounded into the points
                for i in range(d):
                    t += (pts[((2 * k) * B + b) * d + i] - x[b * d + i]) * V[i * d + k]
                e = -(F[(2 * k) * B + b] + F[(2 * k + 1) * B + b] - 2.0 * f[b]) / (t * t)
                if not (w[k] <= STEP_SLACK * e and e <= STEP_SLACK * w[k]):
                    mask[b] = 0
                gap[k] = fabs(e - w[k]) / 3.0
                if not isfinite(gap[k]):
                    gap[k] = INFINITY
                r = 0.0
                for i in range(d):
                    for j in range(d):
                        e = V[i * d + k] * V[j * d + k] * herr[b * dd + i * d + j]
                        r += e * e
                e = (gap[k] + sqrt(r)) / w[k]
                if not (e <= axis_err[b]):
                    axis_err[b] = e
            for k in range(d):
                for i in range(d):
                    for j in range(d):
                        herr[b * dd + i * d + j] += gap[k] * fabs(V[i * d + k] * V[j * d + k])
    free(use)
    free(pts)
    return rc


cdef int newton_batch(lf_objective *obj, Py_ssize_t B, Py_ssize_t d, double *x, double *f,
                      double *g, double *H, double *herr, int *status, long *niter,
                      long *nfev, double tol, long maxiter, int final_method,
                      const double *hstep, double *axis_err) noexcept nogil:
    """Damped Newton for B problems in lock step (see the module docstring and
    newton_loop).  On return x is each problem's last iterate and f, g, H the values
    there (H by final_method for the problems that converged); status is LF_OK or a
    failure code (``summarize`` then classifies the Hessian of the LF_OK ones)."""
    cdef newton_work W
    cdef Py_ssize_t b, nact = 0
    cdef int rc
    cdef double *buf = <double *> malloc((5 * B * d + B * d * d + 6 * B + 2 * d * d + d + 1)
                                         * sizeof(double))
    cdef char *flags = <char *> malloc(10 * B + 1)
    cdef long *counts = <long *> malloc((2 * B + 1) * sizeof(long))
    if buf == NULL or flags == NULL or counts == NULL:
        free(buf)
        free(flags)
        free(counts)
        return LF_NO_MEMORY
    W.xt = buf
    W.P = W.xt + B * d
    W.xprev = W.P + B * d
    W.gprev = W.xprev + B * d
    W.u = W.gprev + B * d
    W.Bk = W.u + B * d
    W.ft = W.Bk + B * d * d
    W.alpha = W.ft + B
    W.slope = W.alpha + B
    W.sn = W.slope + B
    W.bound = W.sn + B
    W.A = W.bound + B
    W.V = W.A + d * d
    W.w = W.V + d * d
    W.active = flags
    W.in_ls = flags + B
    W.escape = flags + 2 * B
    W.need_full = flags + 3 * B
    W.h_current = flags + 4 * B
    W.mask = flags + 5 * B
    W.used = flags + 6 * B
    W.polish = flags + 7 * B
    W.unverified = flags + 8 * B
    W.stalled = flags + 9 * B
    W.nquasi = counts
    W.nrestep = counts + B
    rc = newton_loop(obj, B, d, x, f, g, H, herr, status, niter, nfev, tol, maxiter,
                     hstep, &W)
    if rc == 0 and final_method != FD_CENTRAL and obj.hess == NULL:
        rc = polish(obj, B, d, x, f, H, tol, hstep, nfev, &W)
    if rc == 0:
        # every reported Hessian (and gradient) is the true one at the point returned,
        # by final_method: the converged problems', and any whose last iterate has none
        for b in range(B):
            W.mask[b] = status[b] != LF_NONFINITE_X0 and (
                not W.h_current[b] or (status[b] == LF_OK and final_method != FD_CENTRAL
                                       and obj.hess == NULL))
            nact += W.mask[b]
        if nact:
            rc = derivatives(obj, B, d, x, f, W.mask, final_method, hstep, W.u, g, H,
                             herr, nfev)
    if rc == 0 and obj.hess == NULL and final_method != FD_RICHARDSON:
        for b in range(B):
            W.mask[b] = status[b] == LF_OK
        rc = principal_check(obj, B, d, x, f, H, herr, W.mask, axis_err, nfev)
        for b in range(B):
            if status[b] == LF_OK and not W.mask[b]:
                status[b] = LF_SINGULAR          # a curvature the stencil cannot resolve
    free(buf)
    free(flags)
    free(counts)
    return rc


# ---------------------------------------------------------------- summaries
cdef inline void blank_summary(double *cov, Py_ssize_t d, double *logdet,
                              double *cond) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(d * d):
        cov[i] = NAN
    logdet[0] = NAN
    cond[0] = INFINITY


cdef void summarize_one(const double *H, Py_ssize_t d, double rtol, double *cov,
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
    f = np.empty(B)
    g = np.empty((B, d))
    H = np.zeros((B, d, d))
    herr = np.zeros((B, d, d))
    nf = np.zeros(B, dtype=np.int_)
    act = np.ones(B, dtype=np.int8)
    cdef double[::1] fv = f
    cdef double[:, ::1] gv = g
    cdef double[:, :, ::1] Hv = H
    cdef double[:, :, ::1] Ev = herr
    cdef long[::1] nv = nf
    cdef char[::1] av = act.view(np.int8)
    cdef const double[::1] hs
    cdef const double *hp = NULL
    cdef bint from_values = objective.obj.grad == NULL and (
        objective.obj.hess == NULL or not want_hessian)
    if step is not None:
        hs = np.ascontiguousarray(step, dtype=np.float64)
        hp = &hs[0]
    with nogil:
        if from_values:
            rc = value_stencil(&objective.obj, B, d, &x[0, 0], &fv[0], 1, &av[0], m,
                               want_hessian, hp, NULL, &gv[0, 0], &Hv[0, 0, 0], &Ev[0, 0, 0],
                               &nv[0])
        else:
            rc = objective.obj.values(objective.obj.ctx, 1, B, d, &x[0, 0], &fv[0])
            if rc == 0:
                nv[0] += 1
                if want_hessian:
                    rc = derivatives(&objective.obj, B, d, &x[0, 0], &fv[0], &av[0], m, hp,
                                     NULL, &gv[0, 0], &Hv[0, 0, 0], &Ev[0, 0, 0], &nv[0])
                else:
                    rc = objective.obj.grad(objective.obj.ctx, 1, B, d, &x[0, 0], &gv[0, 0])
    _objective_check(objective, rc)
    if not want_hessian:
        return f, g, None, None, nf
    return f, g, H, herr, nf


def _outputs(Py_ssize_t B, Py_ssize_t d):
    """The arrays a derivative pass fills: f (B,), g (B, d), H and herr (B, d, d), nfev
    (B,) zeroed, axis_err (B,) NaN."""
    return (np.empty(B), np.zeros((B, d)), np.zeros((B, d, d)), np.zeros((B, d, d)),
            np.zeros(B, dtype=np.int_), np.full(B, np.nan))


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
    f, g, H, herr, nf, axis_err = _outputs(B, d)
    act = np.ones(B, dtype=np.int8)
    resolved = np.zeros(B, dtype=np.int8)
    u = np.zeros((B, d))
    s = np.empty(d)
    cdef double[::1] fv = f
    cdef double[:, ::1] gv = g
    cdef double[:, :, ::1] Hv = H
    cdef double[:, :, ::1] Ev = herr
    cdef long[::1] nv = nf
    cdef char[::1] av = act.view(np.int8)
    cdef char[::1] rv = resolved.view(np.int8)
    cdef double[::1] xv = axis_err
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
        rc = obj.values(obj.ctx, 1, B, d, &x[0, 0], &fv[0])
        for b in range(B):
            nv[b] += 1
            av[b] = isfinite(fv[b])
        it = 0
        while rc == 0 and it <= MAX_RESTEPS:
            rc = derivatives(obj, B, d, &x[0, 0], &fv[0], &av[0], FD_CENTRAL, hp,
                             &uv[0, 0], &gv[0, 0], &Hv[0, 0, 0], &Ev[0, 0, 0], &nv[0])
            again = 0
            for b in range(B):
                if not av[b]:
                    continue
                av[b] = 0
                rv[b] = 1
                if obj.hess == NULL and hp == NULL and all_finite(&Hv[b, 0, 0], d * d) \
                        and negdef(&Hv[b, 0, 0], d, &Av[0, 0], &Vv[0, 0], &sv[0]):
                    rv[b] = steps_consistent(&Hv[b, 0, 0], d, &uv[b, 0], &sv[0])
                    memcpy(&uv[b, 0], &sv[0], d * sizeof(double))
                    av[b] = not rv[b]
                    again |= av[b]
            if not again:
                break
            it += 1
        if rc == 0 and m != FD_CENTRAL and obj.hess == NULL:
            for b in range(B):
                av[b] = rv[b]
            rc = derivatives(obj, B, d, &x[0, 0], &fv[0], &av[0], m, hp, &uv[0, 0],
                             &gv[0, 0], &Hv[0, 0, 0], &Ev[0, 0, 0], &nv[0])
        if rc == 0 and obj.hess == NULL and m != FD_RICHARDSON:
            rc = principal_check(obj, B, d, &x[0, 0], &fv[0], &Hv[0, 0, 0], &Ev[0, 0, 0],
                                 &rv[0], &xv[0], &nv[0])
    _objective_check(objective, rc)
    return f, g, H, herr, nf, resolved.astype(bool), axis_err


def newton(Objective objective, const double[:, ::1] x0, double tol, long maxiter,
           str final_method, step=None):
    """Damped Newton from x0 (B, d).  Returns x, f, g, H, herr, status, niter, nfev and
    axis_err (principal_check's measured relative error, NaN where not measured)."""
    cdef Py_ssize_t B = x0.shape[0], d = x0.shape[1]
    cdef int m = METHODS[final_method], rc
    x = np.array(x0)
    f, g, H, herr, nfev, axis_err = _outputs(B, d)
    status = np.zeros(B, dtype=np.intc)
    niter = np.zeros(B, dtype=np.int_)
    cdef double[:, ::1] xv = x
    cdef double[::1] av = axis_err
    cdef double[::1] fv = f
    cdef double[:, ::1] gv = g
    cdef double[:, :, ::1] Hv = H
    cdef double[:, :, ::1] Ev = herr
    cdef int[::1] sv = status
    cdef long[::1] iv = niter
    cdef long[::1] nv = nfev
    cdef const double[::1] hs
    cdef const double *hp = NULL
    if B == 0:
        return x, f, g, H, herr, status, niter, nfev, axis_err
    if step is not None:
        hs = np.ascontiguousarray(step, dtype=np.float64)
        hp = &hs[0]
    with nogil:
        rc = newton_batch(&objective.obj, B, d, &xv[0, 0], &fv[0], &gv[0, 0],
                          &Hv[0, 0, 0], &Ev[0, 0, 0], &sv[0], &iv[0], &nv[0], tol, maxiter,
                          m, hp, &av[0])
    _objective_check(objective, rc)
    return x, f, g, H, herr, status, niter, nfev, axis_err


def summarize(const double[:, :, ::1] H, double rtol, int[::1] status, int n_threads=1):
    """Classify B Hessians (B, d, d) and form cov, log det cov and condition numbers.
    ``status`` (B,) holds each problem's status so far; a problem with status != 0 keeps
    it, one with status 0 may receive a Hessian failure code or LF_ILL_CONDITIONED.
    Returns cov (B, d, d), logdet (B,), cond (B,)."""
    cdef Py_ssize_t B = H.shape[0], d = H.shape[1], b
    cov = np.empty((B, d, d))
    logdet = np.empty(B)
    cond = np.empty(B)
    cdef double[:, :, ::1] cv = cov
    cdef double[::1] lv = logdet
    cdef double[::1] kv = cond
    cdef double *work
    cdef int st
    if B == 0:
        return cov, logdet, cond
    with nogil, parallel(num_threads=n_threads):
        work = <double *> malloc((3 * d * d + d + 1) * sizeof(double))
        for b in prange(B, schedule='dynamic'):
            st = LF_OK
            summarize_one(&H[b, 0, 0], d, rtol, &cv[b, 0, 0], &lv[b], &kv[b], &st, work)
            if status[b] == LF_OK or (st != LF_OK and st != LF_ILL_CONDITIONED
                                      and status[b] > 0):
                status[b] = st
            elif status[b] == LF_SINGULAR:
                # the iteration found the curvature unresolved: no Gaussian
                blank_summary(&cv[b, 0, 0], d, &lv[b], &kv[b])
        free(work)
    return cov, logdet, cond
