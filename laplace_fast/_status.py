"""Status codes, the warning and the error of laplace_fast.

The numbers mirror ``src/lf_status.h`` (a test checks that they agree)."""

import enum
import warnings

import numpy as np

__all__ = ["Status", "LaplaceWarning", "LaplaceError"]


class Status(enum.IntEnum):
    """Outcome of one Laplace approximation.

    ``0`` is success, a positive code is success with a caveat (every field is
    valid), a negative code is a failure (see the table in the README for which
    fields are still meaningful).
    """

    OK = 0
    ILL_CONDITIONED = 1
    HESSIAN_INACCURATE = 2
    EXTREME_PREDICTOR = 3
    REGULARISED = 4
    MAXITER = -1
    NO_PROGRESS = -2
    NONFINITE_X0 = -3
    NONFINITE_FIT = -4
    NOT_NEGDEF = -5
    SINGULAR = -6
    HESSIAN_NONFINITE = -7
    DIVERGED = -8


STATUS_MESSAGES = {
    Status.OK: "converged; the Hessian at the mode is negative definite",
    Status.ILL_CONDITIONED: "converged, but the precision matrix is ill-conditioned "
                            "(condition number above 1e12)",
    Status.HESSIAN_INACCURATE: "converged, but the finite-difference Hessian's error "
                               "estimate (hessian_error) exceeds 1e-4 of the curvature: "
                               "log_post is noisy, rough, or so large that rounding "
                               "limits the differences",
    Status.EXTREME_PREDICTOR: "converged, but some linear predictors are extreme "
                              "(separation-like data; the posterior is skewed)",
    Status.REGULARISED: "converged; the covariance was regularised on request",
    Status.MAXITER: "iteration limit reached before convergence",
    Status.NO_PROGRESS: "the line search made no progress",
    Status.NONFINITE_X0: "log_post is not finite at x0",
    Status.NONFINITE_FIT: "non-finite values during the fit",
    Status.NOT_NEGDEF: "the Hessian is not negative definite at the final point "
                       "(a saddle point or a minimum, not a mode; laplace maximises "
                       "log_post: pass the log posterior, not its negative)",
    Status.SINGULAR: "the Hessian is singular at the final point (a flat direction, "
                     "or a maximum whose curvature vanishes or cannot be resolved by "
                     "finite differences): no Gaussian approximation exists there",
    Status.HESSIAN_NONFINITE: "the Hessian is not finite at the final point",
    Status.DIVERGED: "the iteration diverged: log_post keeps increasing without "
                     "bound (an improper posterior, or a function that is not a log "
                     "posterior: laplace maximises log_post, so pass the log "
                     "posterior, not its negative)",
}


class LaplaceWarning(UserWarning):
    """A Laplace approximation was formed with a caveat, or could not be formed.

    Issued once per call; the per-problem detail is in ``result.status``."""


class LaplaceError(RuntimeError):
    """An operation needs a valid Gaussian approximation and the result has none."""


def _index_text(i, shape):
    """The flat index i into an array of ``shape`` as text: ``i`` or ``(i0, i1, ...)``."""
    if len(shape) == 1:
        return str(i)
    idx = []
    for n in reversed(shape):
        i, r = divmod(i, n)
        idx.append(r)
    return str(tuple(reversed(idx)))


def warn_statuses(status, *, nonzero=None, stacklevel=3):
    """Issue one LaplaceWarning summarising every non-zero status in ``status``.

    ``nonzero``: the flat indices of the non-zero entries, in any order, when the caller
    knows them (the compiled batch loop lists them as its threads finish); else one pass
    over ``status`` finds them.  The rest works on those alone: after a large batch this
    runs on cold caches, where each numpy call is costly (W1's warning, seven problems
    named: 175 -> 115-125 us with the list and the codes grouped in Python)."""
    if isinstance(status, (int, np.integer)) and status == 0:
        return      # one problem's 0, the common case: no numpy calls (~2 us a call)
    status = np.asarray(status)
    bad = np.flatnonzero(status) if nonzero is None else np.sort(nonzero)
    if bad.size == 0:
        return
    if status.ndim == 0:
        code = Status(int(status))
        msg = f"status {int(code)} ({code.name}): {STATUS_MESSAGES[code]}"
    else:
        codes = status.reshape(-1)[bad]
        parts = []
        for code in sorted(set(codes.tolist())):
            idx = bad[codes == code]
            where = ", ".join(_index_text(i, status.shape) for i in idx[:5].tolist())
            more = ", ..." if idx.size > 5 else ""
            parts.append(f"{idx.size} with status {code} "
                         f"({Status(code).name}) at [{where}{more}]")
        msg = f"{bad.size} of {status.size} problems: " + "; ".join(parts)
    warnings.warn(msg, LaplaceWarning, stacklevel=stacklevel)
