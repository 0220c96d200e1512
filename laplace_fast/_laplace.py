"""The Laplace approximation of posteriors given as callbacks (public API):
``find_map``, ``laplace`` and ``laplace_batch``."""

import numbers
import re
import textwrap

import numpy as np

from . import _core
from ._lazy import LazyModule
from ._objective import as_points, check_options, make_objective, memory_limit
from ._result import BatchLaplaceResult, LaplaceResult, MapResult
from ._status import STATUS_MESSAGES, Status, warn_statuses

optimize = LazyModule("scipy.optimize")

__all__ = ["find_map", "laplace", "laplace_batch"]

def _hessian_source(grad, hess, hessian_method):
    if hess is not None:
        return "analytic"
    if grad is not None:
        return "grad"
    return hessian_method


def _check_regularize(regularize):
    if regularize is None or regularize is False:
        return 0.0
    if regularize is True:
        return 1e-8
    if not isinstance(regularize, numbers.Real) or not 0 < regularize < 1:
        raise ValueError(f"regularize must be None, True or a number in (0, 1), "
                         f"got {regularize!r}")
    return float(regularize)


def _scipy_map(obj_fun, x0, args, grad, method, tol, maxiter):
    """Maximise log_post with scipy.optimize.minimize(method); returns (x, nit, nfev,
    status, message)."""
    def neg(x):
        return -_core.scalar_value(obj_fun(x, *args), "log_post")
    jac = None
    if grad is not None:
        def jac(x):
            return -np.asarray(_core._as_real_array(grad(x, *args), x.shape, "grad"),
                               dtype=float)
    with np.errstate(all="ignore"):
        res = optimize.minimize(neg, x0, jac=jac, method=method, tol=tol,
                                options={"maxiter": maxiter})
    if res.success:
        status = Status.OK
    elif getattr(res, "nit", 0) >= maxiter:
        status = Status.MAXITER
    else:
        status = Status.NO_PROGRESS
    return (np.ascontiguousarray(np.atleast_1d(res.x), dtype=float), int(getattr(res, "nit", 0)),
            int(res.nfev), status, f"scipy.optimize.minimize(method={method!r}): {res.message}")


def _newton_decrement(g, H):
    """g^T (-H)^-1 g, the squared length of the Newton step in the posterior's metric
    (twice the gain it predicts); inf where -H is not positive definite."""
    try:
        L = np.linalg.cholesky(-H)
    except np.linalg.LinAlgError:
        return np.inf
    z = np.linalg.solve(L, g)
    return float(z @ z)


def _scipy_status(st, f, g, H, resolved, tol):
    """The status of a scipy optimum, judged at the point returned: a stationary point
    is one whose Newton decrement is at most tol (the Newton iteration's own test), so
    a scipy success elsewhere is no mode (-2), a stop at a stationary point for lack of
    progress (BFGS's "precision loss") is one, and an iteration limit stays one."""
    if not np.isfinite(f):
        return Status.NONFINITE_FIT, ""
    if st == Status.MAXITER:
        return st, ""
    if not resolved:
        return (Status.SINGULAR, "the curvature at this point is not resolved by finite "
                "differences")
    dec = _newton_decrement(g, H)
    if dec <= tol or np.isinf(dec):   # inf: not negative definite, the summary says so
        return Status.OK, ""
    return (Status.NO_PROGRESS, f"the Newton decrement at this point is {dec:.3g} > tol: "
            "not a stationary point")


def _fit(log_post, x0, args, grad, hess, method, hessian_method, vectorized, tol, maxiter,
         step, regularize=None):
    """Shared by find_map and laplace: the mode, the Hessian there and its summary.
    Returns the arrays of the compiled fit for one problem (x, f, g, H, herr, cov,
    logdet, cond, status, shift; batch dimension 1), niter, nfev and the message."""
    regularize = _check_regularize(regularize)
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, got {type(method).__name__}")
    pts = as_points(x0, "x0")
    d = pts.shape[1]
    steps = check_options(d=d, tol=tol, maxiter=maxiter, step=step,
                          hessian_method=hessian_method)
    obj = make_objective(log_post, args, grad, hess,
                         kind="vectorized" if vectorized else "scalar")
    niter = nfev = 0
    source = _hessian_source(grad, hess, hessian_method)
    note = ""
    if callable(log_post) and not vectorized:
        scalar_fun = log_post
    else:
        def scalar_fun(x, *_):
            return _core.values(obj, np.ascontiguousarray(x, dtype=float)[None, :])[0]
    if method.lower() == "newton":
        with np.errstate(all="ignore"):
            x, f, g, H, herr, cov, logdet, cond, status, shift, nit, nfe = _core.fit(
                obj, pts, tol, maxiter, hessian_method, steps, source, regularize)
        niter, nfev = int(nit[0]), int(nfe[0])
        if status[0] != Status.NO_PROGRESS:
            return ((x, f, g, H, herr, cov, logdet, cond, status, shift), niter, nfev,
                    _message(Status(int(status[0])), note))
        pts = x
        method = "BFGS"
        note = "the compiled Newton made no progress; fell back to "
    try:
        xs, nit2, nfev2, st, msg = _scipy_map(scalar_fun, pts[0], args, grad, method, tol,
                                              maxiter)
    except ValueError as exc:
        if "Unknown solver" in str(exc):
            raise ValueError(f"method must be 'newton' or a scipy.optimize.minimize "
                             f"method, got {method!r}") from None
        raise
    with np.errstate(all="ignore"):
        f, g, H, herr, nf3, resolved, axis_err = _core.scaled_derivatives(
            obj, xs[None, :], hessian_method, steps)
    niter, nfev = niter + nit2, nfev + nfev2 + int(nf3[0])
    st, why = _scipy_status(st, f[0], g[0], H[0], resolved[0], tol)
    note += msg + (f"; {why}" if why else "")
    status = np.array([st], dtype=np.intc)
    cov, logdet, cond, shift = _core.summarize(H, herr, axis_err, status, source,
                                               regularize)
    return ((xs[None, :], f, g, H, herr, cov, logdet, cond, status, shift), niter, nfev,
            _message(Status(int(status[0])), note))


def _message(status, note):
    text = STATUS_MESSAGES[status]
    return f"{text} ({note})" if note else text


def _doc_blocks(**blocks):
    """Decorator: each line of the docstring that holds only ``{name}`` becomes
    ``blocks[name]``, indented as that line was, so that the text several functions
    share is written once (a docstring must be a plain literal: ``"..." + text`` is an
    expression, which Python discards)."""
    def fill(match):
        return textwrap.indent(textwrap.dedent(blocks[match.group(2)]).strip("\n") + "\n",
                               match.group(1))

    def decorate(fn):
        if fn.__doc__:       # None under python -OO
            fn.__doc__ = re.sub(r"^( *)\{(\w+)\}\n", fill, fn.__doc__, flags=re.M)
        return fn
    return decorate


_REGULARIZE_DOC = """    regularize : None, True or float in (0, 1)
        Opt-in: when the Hessian at the final point is not negative definite or is
        singular (status -5 or -6), use the precision ``-H + tau I`` for the
        covariance, with the smallest tau that makes its smallest eigenvalue
        ``rho = regularize`` (True: 1e-8; at least twice the singular test's tolerance)
        times its largest: ``tau = max(0, (rho lambda_max - lambda_min) / (1 - rho))``,
        lambda the eigenvalues of ``-H``.  The result then has status 4 (``REGULARISED``), ``regularization``
        = tau, the unmodified ``hessian``, and ``log_evidence`` NaN: a regularised
        covariance never enters the evidence.
"""

_COMMON_DOC = """
    log_post : callable or scipy.LowLevelCallable
        ``log_post(theta, *args) -> float`` with ``theta`` of shape (d,): the log
        posterior up to a constant (keep the constants for a meaningful
        ``log_evidence``).  With ``vectorized=True``: ``(m, d) -> (m,)``.  A
        ``LowLevelCallable`` must have the signature
        ``double (int n, double *x, void *user_data)``; the whole Newton iteration
        then runs without the GIL.
    x0 : array_like, shape (d,) or scalar
        Starting point (finite).
    args : tuple
        Extra arguments for ``log_post``, ``grad`` and ``hess``.
    grad : callable, optional
        ``grad(theta, *args) -> (d,)``, the gradient of log_post.
    hess : callable, optional
        ``hess(theta, *args) -> (d, d)``, the Hessian of log_post.
    method : str
        ``"newton"`` (default): the compiled damped Newton iteration.  Any other name
        runs ``scipy.optimize.minimize(method=...)`` on ``-log_post``.
    hessian_method : {"central", "forward", "richardson"}
        Finite differences for the reported Hessian when ``hess`` is not given (see
        :func:`hessian`); Newton's own steps always use central differences.  With
        ``"richardson"`` the converged mode first takes one more Newton step from a
        Richardson gradient (6d evaluations), so that the Hessian at the mode is
        accurate to ~1e-9 rather than limited by the mode's own error (~tol).
    vectorized : bool
        ``log_post`` evaluates many points per call.
    tol : float
        Convergence when the Newton decrement ``g^T (-H)^-1 g`` (the squared Newton
        step in posterior sd's) is at most ``tol`` and the step is below
        ``tol * max(1, |theta_i|)`` in every coordinate or its gain is below the
        rounding level of ``log_post``; also passed to scipy for other methods, whose
        point is then judged by the same decrement.
    maxiter : int
        Iteration limit.
    step : float or array_like, optional
        Absolute finite-difference step(s), see :func:`hessian`.
"""

_RAISES_DOC = """
    TypeError
        ``log_post`` not callable (nor a ``LowLevelCallable``), ``grad`` or ``hess``
        not callable, ``method`` not a string, ``maxiter`` not an integer, complex or
        string input.
    ValueError
        ``x0`` not a scalar or 1-D, empty or not finite; ``tol``, ``maxiter`` or
        ``step`` out of range; an unknown ``hessian_method`` or ``method``.
"""


@_doc_blocks(common=_COMMON_DOC, raises=_RAISES_DOC)
def find_map(log_post, x0, *, args=(), grad=None, hess=None, method="newton",
             hessian_method="central", vectorized=False, tol=1e-8, maxiter=100, step=None):
    """The maximum a posteriori point of ``log_post``.

    Parameters
    ----------
    {common}

    Returns
    -------
    MapResult
        ``x``, ``logp``, ``grad``, ``hessian``, ``niter``, ``nfev``, ``converged``,
        ``status``, ``message``.  ``converged`` is True only when the Hessian at ``x``
        is negative definite: a saddle point or a minimum is never reported as a mode.

    Raises
    ------
    {raises}

    Warns
    -----
    LaplaceWarning
        When the status is not 0.

    See Also
    --------
    laplace : the mode together with the Gaussian approximation there.

    Notes
    -----
    An exception raised inside ``log_post``, ``grad`` or ``hess`` propagates unchanged.
    When the compiled Newton makes no progress (status -2), ``find_map`` retries from
    its last iterate with ``scipy.optimize.minimize(method="BFGS")`` and says so in
    ``message``.

    Examples
    --------
    >>> import laplace_fast as lf
    >>> r = lf.find_map(lambda t: -(t[0] - 3.0) ** 2, x0=0.0)
    >>> round(float(r.x[0]), 6), r.converged
    (3.0, True)

    Any ``scipy.optimize.minimize`` method, here with an analytic gradient:

    >>> import numpy as np
    >>> r = lf.find_map(lambda t: -np.sum((t - [1.0, 2.0]) ** 2), [0.0, 0.0],
    ...                 grad=lambda t: -2 * (t - [1.0, 2.0]), method="L-BFGS-B")
    >>> np.round(r.x, 5).tolist(), r.status.name
    ([1.0, 2.0], 'OK')
    """
    (x, f, g, H, _, _, _, _, status, _), niter, nfev, message = _fit(
        log_post, x0, args, grad, hess, method, hessian_method, vectorized, tol, maxiter,
        step)
    status = Status(int(status[0]))
    warn_statuses(status)
    return MapResult(x[0], float(f[0]), g[0], H[0], niter, nfev, status, message)


@_doc_blocks(common=_COMMON_DOC, regularize=_REGULARIZE_DOC, raises=_RAISES_DOC)
def laplace(log_post, x0, *, args=(), grad=None, hess=None, method="newton",
            hessian_method="central", vectorized=False, tol=1e-8, maxiter=100, step=None,
            regularize=None):
    """The Laplace approximation N(mode, (-H)^-1) of one posterior.

    Parameters
    ----------
    {common}
    {regularize}

    Returns
    -------
    LaplaceResult
        ``mode``, ``hessian``, ``precision``, ``cov``, ``std``, ``log_det_cov``,
        ``log_evidence``, ``logp``, ``converged``, ``status``, ``niter``, ``nfev``,
        ``message``, ``cond``, ``grad`` (at the mode), ``hessian_error`` (Richardson's
        elementwise estimate, zeros otherwise), ``regularization`` (the shift added to
        the precision, 0 unless status 4); methods ``sample``, ``logpdf``,
        ``interval``, ``to_scipy``.

    Raises
    ------
    {raises}
        Also a ``regularize`` that is not None, True or a number in (0, 1).

    Warns
    -----
    LaplaceWarning
        Once, when the status is not 0 (see :class:`Status`).

    Notes
    -----
    The Hessian reported is the unmodified Hessian at the point returned; status 0
    means it passed an eigenvalue test of negative definiteness relative to its
    scale.  The Laplace evidence is
    ``log p(D) ≈ logp + d/2 log(2 pi) + 1/2 log det cov``.  When the compiled Newton
    makes no progress (status -2), ``laplace`` retries from its last iterate with
    ``scipy.optimize.minimize(method="BFGS")`` and says so in ``message``.

    References
    ----------
    .. [1] Tierney, L. & Kadane, J. B. (1986), Accurate approximations for posterior
       moments and marginal densities, JASA 81, 82-86.
    .. [2] MacKay, D. J. C. (2003), Information Theory, Inference, and Learning
       Algorithms, ch. 27.

    Examples
    --------
    >>> import numpy as np
    >>> import laplace_fast as lf
    >>> r = lf.laplace(lambda t: -0.5 * (t[0] - 0.8) ** 2 - 0.05 * (t[0] - 0.8) ** 4, 0.0)
    >>> print(f"{r.mode[0]:.4f} {r.hessian[0, 0]:.4f} {r.cov[0, 0]:.4f}")
    0.8000 -1.0000 1.0000
    >>> lo, hi = r.interval(0.95)
    >>> print(f"{lo[0]:.3f} {hi[0]:.3f}")
    -1.160 2.760
    """
    (x, f, g, H, herr, cov, logdet, cond, status, shift), niter, nfev, message = _fit(
        log_post, x0, args, grad, hess, method, hessian_method, vectorized, tol, maxiter,
        step, regularize)
    status = Status(int(status[0]))
    warn_statuses(status)
    return LaplaceResult(x[0], H[0], cov[0], float(logdet[0]), float(f[0]), status, niter,
                         nfev, message, cond=float(cond[0]), grad=g[0],
                         hessian_error=herr[0], regularization=float(shift[0]))


def laplace_batch(log_post, x0, *, args=(), grad=None, hess=None, hessian_method="central",
                  tol=1e-8, maxiter=100, step=None, regularize=None):
    """Laplace approximations of B posteriors advanced together.

    Parameters
    ----------
    log_post : callable
        ``log_post(theta, *args) -> (B,)`` with ``theta`` of shape (B, d): row i is a
        point of problem i, and entry i of the result must depend on row i only.  Every
        call evaluates one point per problem, so a Hessian costs d(d+3) calls whatever B.
    x0 : array_like, shape (B, d)
        Starting points (finite).
    args : tuple
        Extra arguments for the callables.
    grad : callable, optional
        ``grad(theta, *args) -> (B, d)``.
    hess : callable, optional
        ``hess(theta, *args) -> (B, d, d)``.
    hessian_method : {"central", "forward", "richardson"}
        As in :func:`laplace`.
    tol, maxiter, step, regularize
        As in :func:`laplace`.

    Returns
    -------
    BatchLaplaceResult
        Arrays with the batch dimension first, ``len()`` and ``result[i]``.  Per-problem
        ``status``: one problem's failure never changes another's result, and each
        problem's numbers are bit for bit those it gets alone.

    Raises
    ------
    TypeError
        ``log_post`` not a Python callable, ``grad`` or ``hess`` not callable, complex
        or string input.
    ValueError
        ``x0`` not of shape (B, d) with d >= 1, or not finite; ``tol``, ``maxiter``,
        ``step``, ``hessian_method`` or ``regularize`` out of range.
    MemoryError
        The batch's working set would not fit in memory (raised before any work,
        with the bytes needed).

    Warns
    -----
    LaplaceWarning
        Once per call when any status is not 0: counts per status and the first
        indices.

    Notes
    -----
    The compiled damped Newton iteration of :func:`laplace` runs on every problem at
    once; a problem that has converged, or failed, stops taking steps while the others
    go on.  There is no scipy fallback: a problem whose line search makes no progress
    keeps status -2.

    Examples
    --------
    >>> import numpy as np
    >>> import laplace_fast as lf
    >>> centres = np.array([[0.0, 1.0], [2.0, -1.0], [5.0, 5.0]])
    >>> def log_post(theta):
    ...     return -0.5 * np.sum((theta - centres) ** 2, axis=1)
    >>> res = lf.laplace_batch(log_post, np.zeros((3, 2)))
    >>> np.allclose(res.mode, centres), res.status.tolist()
    (True, [0, 0, 0])
    >>> float(res[1].cov[0, 0]).__round__(6)
    1.0
    """
    regularize = _check_regularize(regularize)
    shape = np.shape(x0)
    if len(shape) == 2:
        B, d = shape
        need = 8 * B * (d * (d + 1) * (d + 4) + 2 * d * d + 16 * d + 16)
        if need > memory_limit():
            raise MemoryError(f"laplace_batch needs about {need:,} bytes for {B} problems "
                              f"of dimension {d}, more than this machine has; split the "
                              "batch")
    pts = as_points(x0, "x0", batch=True)
    B, d = pts.shape
    steps = check_options(d=d, tol=tol, maxiter=maxiter, step=step,
                          hessian_method=hessian_method)
    obj = make_objective(log_post, args, grad, hess, kind="batch")
    with np.errstate(all="ignore"):
        x, f, g, H, herr, cov, logdet, cond, status, shift, niter, nfev = _core.fit(
            obj, pts, tol, maxiter, hessian_method, steps,
            _hessian_source(grad, hess, hessian_method), regularize)
    warn_statuses(status)
    return BatchLaplaceResult(x, H, cov, logdet, f, status, niter, nfev, cond, grad=g,
                              hessian_error=herr, regularization=shift)
