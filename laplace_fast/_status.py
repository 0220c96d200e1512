"""Status codes, the warning and the error of laplace_fast.

The numbers mirror ``src/common/lf_status.h`` (a test checks that they agree)."""

import enum
import warnings

import numpy as np

__all__ = ["Status", "LaplaceWarning", "LaplaceError"]


class Status(enum.IntEnum):
    """Outcome of one Laplace approximation.

    ``0`` is success, a positive code is success with a caveat (every field is
    valid), a negative code is a failure (see the table in the README for which
    fields are still meaningful).  An ``IntEnum``: a result's ``status`` compares equal
    to its code, and a batch's ``status`` array holds the codes.

    Attributes
    ----------
    OK : 0
        Converged; the Hessian at the mode is negative definite.
    ILL_CONDITIONED : 1
        Converged; the precision's condition number exceeds 1e12.
    HESSIAN_INACCURATE : 2
        Converged; Richardson's error estimate of the Hessian is large.
    EXTREME_PREDICTOR : 3
        Converged (GLMs); some linear predictors are extreme (separation-like data).
    REGULARISED : 4
        Converged; the covariance was regularised on request (``regularize=``).
    BOUNDARY : 5
        Converged; a hyperparameter learned from the data is on its boundary: a
        random-effect variance at zero (``glmm_laplace``, lme4's "boundary (singular)
        fit"), or an ``"evidence"`` prior precision, scale or dispersion of
        ``glm_laplace`` at zero or infinity.
    MAXITER : -1
        Iteration limit reached.
    NO_PROGRESS : -2
        The line search made no progress.
    NONFINITE_X0 : -3
        log_post is not finite at the start.
    NONFINITE_FIT : -4
        Non-finite values during the fit.
    NOT_NEGDEF : -5
        The Hessian at the final point is not negative definite (a saddle or a minimum).
    SINGULAR : -6
        The Hessian at the final point is singular (a flat direction).
    HESSIAN_NONFINITE : -7
        The Hessian at the final point is not finite.
    DIVERGED : -8
        The iteration diverged (an improper posterior?).

    Examples
    --------
    >>> import numpy as np
    >>> import laplace_fast as lf
    >>> lf.Status(-6).name, int(lf.Status.MAXITER)
    ('SINGULAR', -1)
    >>> res = lf.laplace_batch(lambda t: -np.sum(t ** 2, axis=1), np.ones((3, 2)))
    >>> bool(np.all(res.status == lf.Status.OK))
    True
    """

    OK = 0
    ILL_CONDITIONED = 1
    HESSIAN_INACCURATE = 2
    EXTREME_PREDICTOR = 3
    REGULARISED = 4
    BOUNDARY = 5
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
                              "(separation-like data; the posterior is skewed): "
                              "result.importance() says whether the Gaussian still "
                              "holds (its khat)",
    Status.REGULARISED: "converged; the covariance was regularised on request",
    Status.BOUNDARY: "converged to the boundary: a hyperparameter learned from the "
                     "data is at zero or infinity, where the data do not identify it "
                     "(a random-effect variance at zero: no variation between groups "
                     "there, a singular fit; or an \"evidence\" hyperparameter at its "
                     "search bound); every field is valid",
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


def describe(code):
    """``"status <code> (<NAME>): <message>"``, how every message of laplace_fast names
    one problem's status."""
    code = Status(int(code))
    return f"status {int(code)} ({code.name}): {STATUS_MESSAGES[code]}"


def counted(n, code):
    """``"<n> with status <code> (<NAME>)"``, how the batch messages count a status."""
    return f"{n} with status {int(code)} ({Status(int(code)).name})"


class LaplaceWarning(UserWarning):
    """A Laplace approximation was formed with a caveat, or could not be formed.

    Issued once per call; the per-problem detail is in ``result.status``.

    Notes
    -----
    The message gives the status code and its meaning; for a batch, the count of
    problems per non-zero status and the first of their indices.  Turn it into an
    error with ``warnings.simplefilter("error", lf.LaplaceWarning)``, or silence it
    when the statuses are checked anyway.

    Examples
    --------
    >>> import warnings
    >>> import laplace_fast as lf
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     r = lf.laplace(lambda t: -(t[0] - 5.0) ** 4, 0.0, maxiter=2)
    >>> r.status.name, caught[0].category.__name__
    ('MAXITER', 'LaplaceWarning')
    >>> str(caught[0].message)
    'status -1 (MAXITER): iteration limit reached before convergence'
    """


class LaplaceError(RuntimeError):
    """An operation needs a valid Gaussian approximation and the result has none.

    Raised by ``sample``, ``logpdf``, ``interval``, ``to_scipy`` and the GLM
    predictions of a result whose ``cov`` is NaN (a failed fit); the message names the
    status.  A ``RuntimeError``.

    Examples
    --------
    >>> import warnings
    >>> import laplace_fast as lf
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", lf.LaplaceWarning)
    ...     r = lf.laplace(lambda t: -t[0] ** 2 + 0.0 * t[1], [1.0, 1.0])
    >>> r.status.name
    'SINGULAR'
    >>> try:
    ...     r.sample(10)
    ... except lf.LaplaceError as exc:
    ...     print(str(exc)[:74])
    sample needs a Gaussian approximation, but this result has none: status -6
    """


def _index_text(i, shape):
    """The flat index i into an array of ``shape`` as text: ``i`` or ``(i0, i1, ...)``."""
    if len(shape) == 1:
        return str(i)
    idx = []
    for n in reversed(shape):
        i, r = divmod(i, n)
        idx.append(r)
    return str(tuple(reversed(idx)))


def warn_statuses(status, *, nonzero=None, note="", stacklevel=3):
    """Issue one LaplaceWarning summarising every non-zero status in ``status``, with
    ``note`` (a clause starting with "; ") appended.

    ``nonzero``: the flat indices of the non-zero entries, in any order, when the caller
    knows them (the compiled batch loop lists them as its threads finish); else one pass
    over ``status`` finds them.  The rest works on those alone: after a large batch this
    runs on cold caches, where each numpy call is costly."""
    if isinstance(status, (int, np.integer)) and status == 0:
        return      # one problem's 0, the common case: no numpy calls
    status = np.asarray(status)
    bad = np.flatnonzero(status) if nonzero is None else np.sort(nonzero)
    if bad.size == 0:
        return
    if status.ndim == 0:
        msg = describe(status)
    else:
        codes = status.reshape(-1)[bad]
        parts = []
        for code in sorted(set(codes.tolist())):
            idx = bad[codes == code]
            where = ", ".join(_index_text(i, status.shape) for i in idx[:5].tolist())
            more = ", ..." if idx.size > 5 else ""
            parts.append(f"{counted(idx.size, code)} at [{where}{more}]")
        msg = f"{bad.size} of {status.size} problems: " + "; ".join(parts)
    warnings.warn(msg + note, LaplaceWarning, stacklevel=stacklevel)
