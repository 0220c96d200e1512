# cython: language_level=3
"""Test hooks of the GLM engine: its elementary functions, its line search's curvature
bound and Armijo decision, called on arrays from Python.

Built from the same headers as ``_glm_kernels`` (``src/glm/glm.h``) and with the same
compiler flags, so each hook runs the code the solver runs; the production extension
holds none of them.  The batch loop's two tuning knobs, which the tests lower, are its
module state and stay there: ``set_slice_budget`` and ``set_inner_min`` here call
``_glm_kernels._set_slice_budget`` and ``_glm_kernels._set_inner_min``.
"""

import numpy as np

from laplace_fast import _glm_kernels

from _glm_c cimport (lf_glm_problem, lf_glm_segment_curvature, lf_armijo_from_curvature,
                    lf_tables_init, LF_PROBIT, LF_NEGBIN)

cdef extern from "glm_testing.h" nogil:
    void lf_elementary(int which, const double *x, double *o, size_t n)
    void lf_elementary_contracted(int which, const double *x, double *o, size_t n)

lf_tables_init()      # this extension's own copy of the tables (lf_elementary.h)


def set_slice_budget(work):
    """Work per slice of ``_glm_kernels.fit`` between Ctrl-C checks, in evaluations x
    (rows + 8) x (d^2 + 8); returns the old one."""
    return _glm_kernels._set_slice_budget(work)


def set_inner_min(work):
    """Rows x d from which a problem alone runs on several threads in
    ``_glm_kernels.fit`` (0: every problem); returns the old one."""
    return _glm_kernels._set_inner_min(work)


cdef inline const double *_opt(const double[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] > 0 else NULL


# --- the elementary functions, exposed for the accuracy tests -------------------------

ELEMENTARY = ("exp", "log1p_unit", "softplus", "log_ndtr", "mills", "mills_tail", "lgamma",
              "logfact", "exp_neg", "exp_normal", "log_pos")


def elementary(str name, x, bint contracted=True):
    """The kernels' scalar function ``name`` (one of ELEMENTARY) applied elementwise;
    for the accuracy tests against numpy and scipy.  ``contracted``: compiled as the
    family kernels run it (multiply-adds fused where the CPU has FMA), else as the
    start, the constants and the bounds do (LF_CONTRACT, lf_portable.h)."""
    cdef int which = ELEMENTARY.index(name)
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    cdef const double[::1] xv = x.reshape(-1)
    cdef double[::1] ov = out.reshape(-1)
    cdef size_t n = <size_t>xv.shape[0]
    if n == 0:
        return out
    if contracted:
        lf_elementary_contracted(which, &xv[0], &ov[0], n)
    else:
        lf_elementary(which, &xv[0], &ov[0], n)
    return out


# --- the line search's curvature bound, exposed for its tests -------------------------

def segment_curvature(int family, y, eta0, eta1, weights=None, trials=None,
                      double dispersion=1.0):
    """The solver's bound of -phi'' on the segment eta0 -> eta1 (lf_glm_segment_curvature),
    the aux arrays formed as the solver forms them; for the tests."""
    y = np.ascontiguousarray(y, dtype=np.float64)
    e0 = np.ascontiguousarray(eta0, dtype=np.float64)
    e1 = np.ascontiguousarray(eta1, dtype=np.float64)
    if not (y.ndim == 1 and e0.shape == y.shape and e1.shape == y.shape):
        raise ValueError("y, eta0 and eta1 must be 1-d arrays of one length")
    cdef double lr = 1.0 / dispersion
    cdef double shift = np.log(lr) if family == LF_NEGBIN else 0.0
    if family == LF_PROBIT:        # lam (lam + z) at z = q eta, q = 2y - 1
        q = np.where(y != 0, 1.0, -1.0)
        a0 = elementary("mills", q * e0) * elementary("mills_tail", q * e0)
        a1 = elementary("mills", q * e1) * elementary("mills_tail", q * e1)
    else:
        a0 = elementary("exp_neg", -np.abs(e0 - shift))
        a1 = elementary("exp_neg", -np.abs(e1 - shift))
    wt = None if weights is None else np.ascontiguousarray(weights, dtype=np.float64)
    tr = None if trials is None else np.ascontiguousarray(trials, dtype=np.float64)
    cdef const double[::1] yv = y, e0v = e0, e1v = e1, a0v = a0, a1v = a1
    cdef const double[::1] wv = wt if wt is not None else np.empty(0)
    cdef const double[::1] tv = tr if tr is not None else np.empty(0)
    cdef lf_glm_problem pb
    pb.family = family
    pb.n = <int>y.shape[0]
    pb.d = 0
    pb.X = pb.off = pb.P = pb.m = NULL
    pb.nt = 1
    pb.y = _opt(yv)
    pb.wt = _opt(wv)
    pb.trials = _opt(tv)
    pb.param = shift
    return lf_glm_segment_curvature(&pb, lr, _opt(e0v), _opt(a0v), _opt(e1v), _opt(a1v))


def armijo_from_curvature(double a, double b, double K, double c1=1e-4, double slack=0.0):
    """The solver's Armijo decision from phi'(0) = a, phi'(1) = b and a bound K of
    -phi'' on [0, 1] (lf_armijo_from_curvature); for the tests."""
    return bool(lf_armijo_from_curvature(a, b, K, c1, slack))
