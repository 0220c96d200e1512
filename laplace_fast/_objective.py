"""Turning what the caller passed into a compiled objective, and checking arguments.

Every user error is raised here, before any work starts, naming the argument."""

import math
import numbers
import os

import numpy as np
import scipy

from . import _core

__all__ = ["make_objective", "as_points", "check_options", "memory_limit", "real_array",
           "HESSIAN_METHODS"]

HESSIAN_METHODS = tuple(_core.METHODS)

def make_objective(log_post, args=(), grad=None, hess=None, kind="scalar", name="log_post"):
    """Wrap ``log_post`` (and optional ``grad``/``hess``) for the compiled core.

    kind: "scalar" (f((d,)) -> float), "vectorized" (f((m, d)) -> (m,)) or
    "batch" (f((B, d)) -> (B,)); name: the argument as the caller wrote it, for
    messages."""
    if isinstance(log_post, scipy.LowLevelCallable):
        if grad is not None or hess is not None:
            raise TypeError("grad and hess must be None when log_post is a LowLevelCallable")
        if kind == "batch":
            raise TypeError(f"{name}: laplace_batch needs a Python callable, "
                            "not a LowLevelCallable")
        if args:
            raise TypeError("args must be empty for a LowLevelCallable "
                            "(pass data through its user_data)")
        return _core.LowLevelObjective(log_post)
    if not callable(log_post):
        raise TypeError(f"{name} must be callable or a scipy.LowLevelCallable, "
                        f"got {type(log_post).__name__}")
    for what, fn in (("grad", grad), ("hess", hess)):
        if fn is not None and not callable(fn):
            raise TypeError(f"{what} must be callable or None, got {type(fn).__name__}")
    if not isinstance(args, tuple):
        args = (args,)
    code = {"scalar": 0, "vectorized": 1, "batch": 2}[kind]
    return _core.PyCallback(log_post, args, grad, hess, code, name)


def reject_dask(x, name):
    """TypeError naming ``name`` when ``x`` is a Dask collection, which converting to a
    numpy array would compute whole into memory without a word."""
    if callable(getattr(type(x), "__dask_graph__", None)):
        raise TypeError(f"{name} is a Dask collection ({type(x).__name__}); laplace_fast "
                        "does not compute it into memory silently: fit a Dask DataFrame "
                        "with laplace_fast.dask.glm_laplace(ddf, formula, groups=..., "
                        f"family=...), or pass {name}.compute() to fit it in memory")


def real_array(x, name, order=None):
    """``x`` as a float64 array (bool, int and float32 upcast, never downcast);
    TypeError for complex, object, str or Dask input, ValueError for ragged input."""
    reject_dask(x, name)
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be real numbers, got {type(x).__name__}")
    try:
        a = np.asarray(x)
    except Exception as exc:  # ragged lists and the like
        raise ValueError(f"{name} could not be converted to an array: {exc}") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be real numbers, got dtype {a.dtype}")
    if a.dtype.kind == "f" and a.dtype.itemsize > 8:
        raise TypeError(f"{name} has dtype {a.dtype}, but laplace_fast computes in "
                        f"float64; convert it explicitly ({name}.astype(np.float64)) "
                        "if the rounding is acceptable")
    return np.asarray(a, dtype=np.float64, order=order)


def as_points(x, name, batch=False):
    """``x`` as a C-contiguous float64 array: (1, d) for one problem, (B, d) for a batch."""
    a = real_array(x, name, order="C")
    if batch:
        if a.ndim != 2:
            raise ValueError(f"{name} must have shape (B, d), got shape {a.shape}")
    else:
        if a.ndim > 1:
            raise ValueError(f"{name} must be a scalar or 1-D, got shape {a.shape}")
        a = a.reshape(1, -1)
    if a.shape[1] == 0:
        raise ValueError(f"{name} must have at least one parameter (d >= 1)")
    if not np.all(np.isfinite(a)):
        bad = np.argwhere(~np.isfinite(a))[0]
        where = f" (problem {bad[0]})" if batch else ""
        raise ValueError(f"{name} must be finite; found {a[tuple(bad)]} at index "
                         f"{tuple(int(v) for v in bad) if batch else int(bad[1])}{where}")
    return a


_UNSET = object()

# iteration counts are C longs; beyond this no fit would end in a lifetime anyway
MAXITER_LIMIT = 2**31 - 1


def check_options(*, d, tol=_UNSET, maxiter=_UNSET, step=None, hessian_method=_UNSET,
                  method_name="hessian_method"):
    """Validate the options given (the others are left out); return the step array
    (d,) or None."""
    if tol is not _UNSET:
        if isinstance(tol, bool) or not isinstance(tol, numbers.Real):
            raise TypeError(f"tol must be a real number, got {type(tol).__name__}")
        try:
            ftol = float(tol)
        except OverflowError:
            ftol = math.inf
        if not math.isfinite(ftol) or ftol <= 0:
            raise ValueError(f"tol must be a positive finite number, got {tol!r}")
    if maxiter is not _UNSET:
        if isinstance(maxiter, bool) or not isinstance(maxiter, numbers.Integral):
            raise TypeError(f"maxiter must be an integer, got {type(maxiter).__name__}")
        if not 1 <= maxiter <= MAXITER_LIMIT:
            raise ValueError(f"maxiter must be between 1 and {MAXITER_LIMIT:,}, "
                             f"got {maxiter}")
    if hessian_method is not _UNSET and (not isinstance(hessian_method, str)
                                         or hessian_method not in HESSIAN_METHODS):
        raise ValueError(f"{method_name} must be one of {HESSIAN_METHODS}, "
                         f"got {hessian_method!r}")
    if step is None:
        return None
    s = real_array(step, "step")
    if s.ndim > 1 or (s.ndim == 1 and s.shape != (d,)):
        raise ValueError(f"step must be a scalar or have shape ({d},), got shape {s.shape}")
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"step must be positive and finite, got {step!r}")
    return np.array(np.broadcast_to(s, (d,)), dtype=np.float64)


def memory_limit():
    """Physical memory in bytes: a batch whose working set exceeds it is refused
    before any work, with the bytes it would need."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):  # pragma: no cover
        return 16 * 2**30
