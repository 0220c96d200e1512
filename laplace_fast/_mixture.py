"""Laplace mixtures (public API): one Laplace fit per start, the distinct modes kept,
each weighted by its Laplace evidence; :func:`laplace_mixture` and :class:`MixtureResult`.
"""

import math
import numbers
import warnings

import numpy as np

from . import _arviz, _tables
from ._importance import _callback_log_p, _check_n, _importance_from_draws, _streams
from ._laplace import laplace, laplace_batch
from ._lazy import LazyModule
from ._objective import as_points, check_options, make_objective, real_array
from ._result import BatchLaplaceResult, _check_level, _points, _sample_shape
from ._status import LaplaceError, LaplaceWarning, Status, counted, describe

optimize = LazyModule("scipy.optimize")
special = LazyModule("scipy.special")

__all__ = ["laplace_mixture", "MixtureResult"]


class MixtureResult:
    """A mixture of Laplace approximations, one Gaussian per distinct mode.

    What :func:`laplace_fast.laplace_mixture` returns: the density
    ``q(theta) = sum_k weights[k] N(theta | components.mode[k], components.cov[k])``.

    Attributes
    ----------
    components : BatchLaplaceResult, batch shape (K,)
        The Laplace approximations at the distinct modes found, in the order of the
        starts that found them; K = 0 when no start gave a mode.
    weights : ndarray, shape (K,)
        ``exp(components.log_evidence)`` normalised to sum to one.
    log_evidence : float
        ``log sum_k exp(components.log_evidence[k])``, the mixture's estimate of the
        log marginal likelihood (NaN when K = 0).
    mean : ndarray, shape (d,)
        The mixture's mean, ``sum_k w_k mode_k``.
    cov : ndarray, shape (d, d)
        The mixture's covariance, ``sum_k w_k (cov_k + mode_k mode_k^T) - mean mean^T``.
    fits : BatchLaplaceResult, batch shape (n_starts,)
        The Laplace fit from every start, the dropped ones included.
    assignment : ndarray of int, shape (n_starts,)
        The component each start's fit became or merged into; -1 for a dropped start
        (a failed fit, a saddle point or a minimum).
    status : Status
        0 when at least one component was formed and every component has status 0;
        the largest caveat code of the components (> 0) when some have one; when no
        start gave a mode, the failure most starts ended with (< 0).
    converged : bool
        ``status >= 0``.
    message : str
        How many starts gave how many components, and why the others were dropped.
    d : int
        The number of parameters.

    See Also
    --------
    laplace_mixture : what makes one.

    Notes
    -----
    :meth:`sample`, :meth:`logpdf`, :meth:`interval` and :meth:`importance` raise
    :class:`LaplaceError` when the mixture has no component.

    Examples
    --------
    >>> import numpy as np
    >>> import laplace_fast as lf

    BFGS with the exact gradient stops where the gradient vanishes: the start at the
    saddle point (0, 0) gives no component, two starts find the same mode.

    >>> def log_post(t):
    ...     return -t[0] ** 4 + 2 * t[0] ** 2 - t[1] ** 2
    >>> def grad(t):
    ...     return np.array([-4 * t[0] ** 3 + 4 * t[0], -2 * t[1]])
    >>> mix = lf.laplace_mixture(log_post, [[0.0, 0.0], [-1.2, 0.3], [0.9, -0.2],
    ...                                     [1.1, 0.1]], grad=grad, method="BFGS")
    >>> np.round(mix.components.mode, 6).tolist(), np.round(mix.weights, 6).tolist()
    ([[-1.0, -0.0], [1.0, 0.0]], [0.5, 0.5])
    >>> mix.assignment.tolist(), mix.status.name
    ([-1, 0, 1, 1], 'OK')
    >>> mix.message
    '4 starts: 2 components; 1 start dropped (1 with status -5 (NOT_NEGDEF)); 1 duplicate merged'
    >>> mix.sample(4, rng=0).shape, np.round(mix.cov, 6).tolist()
    ((4, 2), [[1.125, 0.0], [0.0, 0.5]])
    """

    def __init__(self, *, components, fits, assignment, status, message, source):
        self.components = components
        self.fits = fits
        self.assignment = assignment
        self.status = Status(int(status))
        self.message = message
        # (log_post, args, vectorized) as fitted: the default target of importance
        self._source = source
        if len(components):
            ev = components.log_evidence
            top = float(np.max(ev))
            self.log_evidence = top + math.log(float(np.sum(np.exp(ev - top))))
            self.weights = np.exp(ev - self.log_evidence)
        else:
            self.log_evidence = math.nan
            self.weights = np.empty(0)

    @property
    def d(self):
        return self.fits.d

    @property
    def converged(self):
        return bool(self.status >= 0)

    @property
    def mean(self):
        self._require("mean")
        return self.weights @ self.components.mode

    @property
    def cov(self):
        self._require("cov")
        m = self.components.mode
        second = np.einsum("k,kij->ij", self.weights,
                           self.components.cov + m[:, :, None] * m[:, None, :])
        mean = self.weights @ m
        return second - np.outer(mean, mean)

    def __len__(self):
        return len(self.components)

    def _require(self, what):
        if not len(self.components):
            raise LaplaceError(f"{what} needs at least one component, but this mixture "
                               f"has none: {self.message}")

    def sample(self, size=1, rng=None):
        """Draw from the mixture.

        Each draw picks component k with probability ``weights[k]``, then draws from
        its Gaussian; the draws come in random order, not grouped by component.

        Parameters
        ----------
        size : int or tuple of ints
            The number of draws, or their shape.
        rng : numpy.random.Generator, int or None
            Random source (``numpy.random.default_rng(rng)``).

        Returns
        -------
        ndarray, shape (size, d) or (*size, d)

        Raises
        ------
        TypeError, ValueError
            When ``size`` is not a non-negative int or a tuple of them.
        LaplaceError
            When the mixture has no component.

        Examples
        --------
        Two modes, at -2 and 2, of equal mass:

        >>> import numpy as np, laplace_fast as lf
        >>> two = lf.laplace_mixture(lambda t: -(t[0] ** 2 - 4) ** 2, [[-3.0], [3.0]])
        >>> x = two.sample(10_000, rng=1)
        >>> x.shape, round(float(np.mean(x[:, 0] > 0)), 2)
        ((10000, 1), 0.5)
        >>> two.sample((2, 3), rng=1).shape
        (2, 3, 1)
        """
        shape = _sample_shape(size)
        self._require("sample")
        n = math.prod(shape)
        gen = np.random.default_rng(rng)
        which = gen.choice(len(self.components), size=n, p=self.weights)
        z = gen.standard_normal((n, self.d))
        L = np.linalg.cholesky(self.components.cov)
        draws = self.components.mode[which] + np.einsum("nij,nj->ni", L[which], z)
        return draws.reshape(shape + (self.d,))

    def logpdf(self, x):
        """Log density of the mixture.

        Parameters
        ----------
        x : array_like, shape (..., d)
            Points along the last axis; when d = 1 also a scalar (one point) or a
            1-D array (a grid over the one parameter).

        Returns
        -------
        float or ndarray, shape x.shape[:-1]
            A float for one point.

        Raises
        ------
        ValueError
            When ``x`` does not have the shape of points.
        LaplaceError
            When the mixture has no component.

        Examples
        --------
        >>> import numpy as np
        >>> import laplace_fast as lf
        >>> mix = lf.laplace_mixture(lambda t: -t[0] ** 4 + 2 * t[0] ** 2, [[-1.0], [1.0]])
        >>> one = lf.laplace(lambda t: -t[0] ** 4 + 2 * t[0] ** 2, 1.0)
        >>> grid = np.array([-1.0, 0.0, 1.0])
        >>> bool(np.allclose(np.exp(mix.logpdf(grid)),
        ...                  0.5 * np.exp(one.logpdf(grid)) + 0.5 * np.exp(one.logpdf(-grid))))
        True
        >>> print(f"{mix.logpdf(1.0):.4f}")
        -0.5724
        """
        self._require("logpdf")
        x = real_array(x, "x")
        if self.d == 1 and x.ndim <= 1:
            x = x[..., None]
        else:
            x = _points(x, self.d)
        lp = self.components.logpdf(x[..., None, :]) + np.log(self.weights)
        out = _logsumexp(lp)
        return float(out) if np.ndim(out) == 0 else out

    def cdf_marginal(self, t, j=0):
        """The mixture's marginal CDF of coordinate ``j`` at ``t``,
        ``sum_k w_k Phi((t - mode_kj) / std_kj)``.

        Parameters
        ----------
        t : array_like
            Values of coordinate ``j``.
        j : int
            The coordinate.

        Returns
        -------
        float or ndarray, the shape of ``t``

        Raises
        ------
        LaplaceError
            When the mixture has no component.

        Examples
        --------
        Half the mass on either side of 0, a quarter below each mode:

        >>> import laplace_fast as lf
        >>> two = lf.laplace_mixture(lambda t: -(t[0] ** 2 - 4) ** 2, [[-3.0], [3.0]])
        >>> [round(float(p), 6) for p in two.cdf_marginal([-2.0, 0.0, 2.0])]
        [0.25, 0.5, 0.75]
        """
        self._require("cdf_marginal")
        t = np.asarray(t, dtype=float)
        z = (t[..., None] - self.components.mode[:, j]) / self.components.std[:, j]
        out = special.ndtr(z) @ self.weights
        return float(out) if np.ndim(out) == 0 else out

    def interval(self, level=0.95):
        """Equal-tailed intervals of the mixture's marginals.

        Coordinate j's interval runs from the ``(1 - level) / 2`` to the
        ``(1 + level) / 2`` quantile of its marginal CDF (:meth:`cdf_marginal`),
        each found by Brent's method to within ``1e-12`` of the coordinate's scale.

        Parameters
        ----------
        level : float in (0, 1)
            Probability each interval holds under the mixture.

        Returns
        -------
        lower, upper : ndarray, shape (d,)

        Raises
        ------
        ValueError
            When ``level`` is not a number in (0, 1).
        LaplaceError
            When the mixture has no component.

        Examples
        --------
        >>> import laplace_fast as lf
        >>> mix = lf.laplace_mixture(lambda t: -t[0] ** 4 + 2 * t[0] ** 2, [[-1.0], [1.0]])
        >>> lo, hi = mix.interval(0.95)
        >>> print(f"{lo[0]:.4f} {hi[0]:.4f}")
        -1.5815 1.5815
        """
        _check_level(level)
        self._require("interval")
        mode, std = self.components.mode, self.components.std
        lower, upper = np.empty(self.d), np.empty(self.d)
        for j in range(self.d):
            # every component's CDF is below 1e-40 at a and above 1 - 1e-40 at b
            a = float(np.min(mode[:, j] - 14 * std[:, j]))
            b = float(np.max(mode[:, j] + 14 * std[:, j]))
            xtol = 1e-12 * max(b - a, 1e-300)
            for out, p in ((lower, (1 - level) / 2), (upper, (1 + level) / 2)):
                out[j] = optimize.brentq(lambda t: self.cdf_marginal(t, j) - p, a, b,
                                         xtol=xtol, maxiter=200)
        return lower, upper

    def importance(self, log_post=None, n=1000, *, args=(), vectorized=False, rng=None):
        """Pareto-smoothed importance sampling from the mixture: how wrong it is for the
        posterior, and the corrected evidence and moments.

        Parameters
        ----------
        log_post : callable or None
            The log posterior: by default the one the mixture was fitted with, with
            its ``args`` and ``vectorized``.  Otherwise ``log_post(theta, *args) ->
            float``, ``theta`` of shape (d,), called once per draw; with
            ``vectorized=True``, ``log_post(thetas, *args) -> (n,)`` once, ``thetas``
            of shape (n, d).
        n : int
            Draws, at least 50.
        args : tuple
            Extra arguments for a ``log_post`` given here.
        vectorized : bool
            Whether a ``log_post`` given here takes every draw at once.
        rng : None, int, numpy.random.SeedSequence or numpy.random.Generator
            The random stream, derived as for a single problem's
            :meth:`LaplaceResult.importance` (problem index 0).

        Returns
        -------
        ImportanceResult
            ``khat``, ``reliable``, ``ess``, ``log_evidence``, ``mean``, ``cov``,
            ``log_weights``, ``samples`` (the draws of :meth:`sample`, with the
            mixture's :meth:`logpdf` as the proposal density).

        Raises
        ------
        TypeError
            ``log_post`` not callable (a ``LowLevelCallable`` the mixture was fitted
            with cannot be called from Python: pass a Python one), ``args`` or
            ``vectorized`` given without ``log_post``, ``n`` not an int, an ``rng``
            of another type.
        ValueError
            ``n < 50``; ``log_post`` returning another shape, NaN or ``+inf``.
        LaplaceError
            When the mixture has no component.

        Notes
        -----
        The mixture's weights are the components' Laplace evidences normalised,
        right when the modes are well separated and each is close to Gaussian;
        the importance-sampling ``log_evidence``, ``mean`` and ``cov`` correct them,
        and ``khat`` says whether they can be trusted (``reliable``).  A mode the
        starts missed shows as a large ``khat`` only when some draws reach it.

        Examples
        --------
        >>> import laplace_fast as lf
        >>> mix = lf.laplace_mixture(lambda t: -t[0] ** 4 + 2 * t[0] ** 2, [[-1.0], [1.0]])
        >>> imp = mix.importance(n=4000, rng=0)
        >>> imp.reliable, imp.samples.shape
        (True, (4000, 1))
        >>> print(f"{mix.log_evidence:.3f} {imp.log_evidence:.3f}")   # quadrature: 1.680
        1.572 1.658
        """
        if log_post is None:
            if args != () or vectorized:
                raise TypeError("args and vectorized go with a log_post given here; "
                                "without one, the mixture's own log_post is called as "
                                "it was fitted")
            log_post, args, vectorized = self._source
        n = _check_n(n)
        if not isinstance(vectorized, bool):
            raise TypeError(f"vectorized must be True or False, got {vectorized!r}")
        self._require("importance")
        draws = self.sample(n, rng=_streams(rng, [0])[0])
        log_p = _callback_log_p(log_post, draws, args, vectorized, ())
        return _importance_from_draws(draws, self.logpdf(draws), log_p)

    def summary(self):
        """A table of the mixture's marginals: mean, sd and the 95 % interval of every
        parameter.

        Returns
        -------
        pandas.DataFrame
            Indexed by ``term`` (``x0, x1, ...``), columns ``mean`` and ``sd`` (of
            :attr:`mean` and :attr:`cov`), ``lower`` and ``upper``
            (:meth:`interval` (0.95), the mixture's equal-tailed interval).

        Raises
        ------
        ImportError
            When pandas is not installed (``pip install laplace_fast[data]``).

        Notes
        -----
        A mixture without a component has NaN rows (its ``status`` says why), where
        :meth:`interval` raises.

        Examples
        --------
        >>> import laplace_fast as lf
        >>> two = lf.laplace_mixture(lambda t: -(t[0] ** 2 - 4) ** 2, [[-3.0], [3.0]])
        >>> s = two.summary()
        >>> s.index.tolist(), s.columns.tolist()
        (['x0'], ['mean', 'sd', 'lower', 'upper'])
        >>> print(f"{s.loc['x0', 'lower']:.4f} {s.loc['x0', 'upper']:.4f}")
        -2.2908 2.2908
        """
        return _tables.summary(self, _tables.mixture_content)

    def to_dataframe(self):
        """The mixture's marginals as a tidy long frame, one row per term.

        Returns
        -------
        pandas.DataFrame
            Columns ``term``, ``mean``, ``sd``, ``lower``, ``upper`` (as
            :meth:`summary`), ``status`` (the int code) and ``log_evidence``.

        Raises
        ------
        ImportError
            Without pandas, as :meth:`summary`.

        Examples
        --------
        >>> import laplace_fast as lf
        >>> two = lf.laplace_mixture(lambda t: -(t[0] ** 2 - 4) ** 2, [[-3.0], [3.0]])
        >>> df = two.to_dataframe()
        >>> df.columns.tolist()
        ['term', 'mean', 'sd', 'lower', 'upper', 'status', 'log_evidence']
        >>> df["status"].tolist()
        [0]
        """
        return _tables.to_dataframe(self, _tables.mixture_content)

    @_arviz.documented
    def to_arviz(self, n=1000, rng=None, *, chains=1):
        """Draws of the mixture as ArviZ data.

        Parameters
        ----------
        {parameters}

        Returns
        -------
        arviz.InferenceData
            What ``arviz.from_dict`` builds (a ``DataTree`` with ArviZ 1 and later):
            ``theta`` with dimensions ``chain``, ``draw`` and ``term`` (``x0, x1,
            ...``), the draws of :meth:`sample` with size ``(chains, n)``.

        Raises
        ------
        {raises}
        LaplaceError
            When the mixture has no component.

        Examples
        --------
        >>> import numpy as np, laplace_fast as lf
        >>> two = lf.laplace_mixture(lambda t: -(t[0] ** 2 - 4) ** 2, [[-3.0], [3.0]])
        >>> th = two.to_arviz(n=4000, rng=0, chains=2).posterior["theta"]
        >>> th.dims, round(float((th > 0).mean()), 1)
        (('chain', 'draw', 'term'), 0.5)
        """
        return _arviz.mixture(self, n, rng, chains)

    def __repr__(self):
        return (f"MixtureResult(K={len(self)}, d={self.d}, weights={self.weights!r}, "
                f"log_evidence={self.log_evidence!r}, status={self.status.name})")


def _logsumexp(a, axis=-1):
    """log sum exp(a) along ``axis``, its largest term factored out (numpy alone: scipy's
    costs more than a small mixture's whole fit); -inf when every term is -inf."""
    top = np.max(a, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.squeeze(top, axis) + np.log(np.sum(np.exp(a - top), axis=axis))


def _check_starts(starts):
    a = real_array(starts, "starts")
    if a.ndim != 2:
        hint = " (for one parameter, a column: np.reshape(starts, (-1, 1)))" \
            if a.ndim == 1 else ""
        raise ValueError(f"starts must have shape (K, d), one start per row; got shape "
                         f"{a.shape}{hint}")
    if a.shape[0] == 0:
        raise ValueError("starts must hold at least one start (K >= 1 rows), got none")
    return as_points(a, "starts", batch=True)


def _check_merge_tol(merge_tol):
    if (isinstance(merge_tol, bool) or not isinstance(merge_tol, numbers.Real)
            or not 0 <= merge_tol < math.inf):
        raise ValueError(f"merge_tol must be a non-negative finite number, got "
                         f"{merge_tol!r}")
    return float(merge_tol)


def _per_point(fn):
    """A callable of one point as one of a batch of points, row by row (for
    laplace_batch, whose grad and hess take every problem's point at once)."""
    if fn is None:
        return None

    def batched(theta, *args):
        return np.stack([np.asarray(fn(t, *args), dtype=float) for t in theta])
    return batched


def _fit_all(log_post, pts, args, grad, hess, vectorized, hessian_method, tol, maxiter,
             method):
    """The Laplace fit from every start, as one BatchLaplaceResult, without warnings
    (the mixture's own status reports what matters)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LaplaceWarning)
        if vectorized:
            return laplace_batch(log_post, pts, args=args, grad=_per_point(grad),
                                 hess=_per_point(hess), hessian_method=hessian_method,
                                 tol=tol, maxiter=maxiter)
        fits = [laplace(log_post, p, args=args, grad=grad, hess=hess, method=method,
                        hessian_method=hessian_method, tol=tol, maxiter=maxiter)
                for p in pts]
    fields = {f: np.stack([np.asarray(getattr(r, f)) for r in fits])
              for f in BatchLaplaceResult._PER_PROBLEM}
    fields["status"] = fields["status"].astype(np.intc)
    return BatchLaplaceResult(**fields)


def _usable(fits):
    """Which fits are modes with a Gaussian: a non-negative status (a saddle point or a
    minimum has status -5, a flat direction -6), a finite covariance and evidence (a
    finite logp and log det cov, and not regularised)."""
    return ((fits.status >= 0) & (fits.status != Status.REGULARISED)
            & np.isfinite(fits.logp) & np.isfinite(fits.log_det_cov)
            & np.isfinite(fits.cov).reshape(len(fits), -1).all(axis=1))


# usable fits up to which _assign forms every pair's distance at once
_PAIRS_AT_ONCE = 32


def _near_pairs(mode, prec, tol2):
    """near[a, b]: modes a and b within Mahalanobis distance sqrt(tol2) of each other
    under a's or b's covariance, for every pair of the K modes (K, d)."""
    delta = mode[None, :, :] - mode[:, None, :]
    under_a = np.einsum("abi,aij,abj->ab", delta, prec, delta)
    under_b = np.einsum("abi,bij,abj->ab", delta, prec, delta)
    return (under_a < tol2) | (under_b < tol2)


def _assign(fits, usable, merge_tol):
    """Each start's component index (-1 when dropped), the kept start per component.

    The usable fits are taken best-converged first (the smallest Newton decrement
    ``g^T cov g`` at the mode, then the highest logp, then the earliest start); each
    becomes a new component unless its mode is within Mahalanobis distance
    ``merge_tol`` of a kept one under either's covariance, where it merges into the
    first such (the best converged)."""
    g, mode, prec = fits.grad, fits.mode, fits.precision
    dec = np.einsum("ki,kij,kj->k", g, fits.cov, g)
    order = np.lexsort((np.arange(len(fits)), -fits.logp, dec))
    remaining = order[usable[order]]
    kept, owner = [], np.full(len(fits), -1)
    tol2 = merge_tol ** 2
    # the best remaining fit is kept (no kept mode is near it, or it would be gone) and
    # takes every remaining fit near it: the greedy pass in order, one step per mode.
    # Few fits: every pair's nearness at once (a step is then a row of it); many: each
    # step's distances from its mode alone (K per step, not K^2).
    if remaining.size <= _PAIRS_AT_ONCE:
        near = _near_pairs(mode[remaining], prec[remaining], tol2)
        free = np.ones(remaining.size, dtype=bool)
        for a in range(remaining.size):
            if free[a]:
                take = near[a] & free
                take[a] = True
                owner[remaining[take]] = len(kept)
                free &= ~take
                kept.append(int(remaining[a]))
        remaining = remaining[:0]
    while remaining.size:
        i = remaining[0]
        delta = mode[remaining] - mode[i]
        under_i = np.sum((delta @ prec[i]) * delta, axis=1)
        under_r = np.sum(np.matmul(prec[remaining], delta[:, :, None])[:, :, 0] * delta,
                         axis=1)
        near = (under_i < tol2) | (under_r < tol2)
        near[0] = True
        owner[remaining[near]] = len(kept)
        kept.append(int(i))
        remaining = remaining[~near]
    # components in the order of the starts that found them
    kept = np.array(kept, dtype=int)
    position = np.argsort(np.argsort(kept))        # kept[c] is the position[c]-th start
    assignment = np.full(len(fits), -1)
    assignment[owner >= 0] = position[owner[owner >= 0]]
    return assignment, np.sort(kept)


def _summary(fits, usable, kept):
    """The mixture's status and message."""
    n, K = len(fits), len(kept)
    dropped = fits.status[~usable]
    why = ""
    if dropped.size:
        codes, counts = np.unique(dropped, return_counts=True)
        why = ", ".join(counted(c, k) for k, c in zip(codes, counts))
    starts = f"{n} start{'s' if n != 1 else ''}"
    if not K:
        status = Status(int(codes[np.argmax(counts)]))
        return status, (f"{starts}, none gave a mode with a Gaussian ({why}): start "
                        "nearer the modes, or check log_post")
    text = f"{starts}: {K} component{'s' if K != 1 else ''}"
    if dropped.size:
        text += (f"; {dropped.size} start{'s' if dropped.size != 1 else ''} dropped "
                 f"({why})")
    merged = int(np.count_nonzero(usable)) - K
    if merged:
        text += f"; {merged} duplicate{'s' if merged != 1 else ''} merged"
    status = Status(int(np.max(fits.status[kept])))
    if status != Status.OK:
        text += f"; a component has {describe(status)}"
    return status, text


def laplace_mixture(log_post, starts, *, args=(), grad=None, hess=None, vectorized=False,
                    hessian_method="central", tol=1e-8, maxiter=100, merge_tol=0.05,
                    method="newton"):
    """A mixture of Laplace approximations, one per distinct mode found from ``starts``.

    Parameters
    ----------
    log_post : callable or scipy.LowLevelCallable
        ``log_post(theta, *args) -> float`` with ``theta`` of shape (d,): the log
        posterior up to a constant (keep the constants for a meaningful
        ``log_evidence``).  With ``vectorized=True``: ``(m, d) -> (m,)``, and entry i
        must depend on row i only.
    starts : array_like, shape (K, d)
        One starting point per row (finite); for one parameter, a column.
    args : tuple
        Extra arguments for ``log_post``, ``grad`` and ``hess``.
    grad : callable, optional
        ``grad(theta, *args) -> (d,)``, the gradient of log_post at one point (also
        with ``vectorized=True``).
    hess : callable, optional
        ``hess(theta, *args) -> (d, d)``, the Hessian of log_post at one point.
    vectorized : bool
        ``log_post`` evaluates many points per call: the K starts then advance
        together, as in :func:`laplace_batch`, one call per step for all of them.
        Otherwise each start is fitted by :func:`laplace`.
    hessian_method : {"central", "forward", "richardson"}
        As in :func:`laplace`.
    tol, maxiter
        As in :func:`laplace`, for every start.
    merge_tol : float >= 0
        Two modes are one when the Mahalanobis distance between them, under either
        one's covariance, is below ``merge_tol`` (in posterior standard deviations;
        default 0.05): the best-converged fit of the two is kept.  Fits of one mode
        agree to about ``sqrt(tol)`` standard deviations, while two distinct modes
        a twentieth of a standard deviation apart would need a saddle between them
        that the curvature at either does not show.
    method : str
        ``"newton"`` (default) or, without ``vectorized``, any
        ``scipy.optimize.minimize`` method, as in :func:`laplace`.

    Returns
    -------
    MixtureResult
        ``components`` (a :class:`BatchLaplaceResult`), ``weights``,
        ``log_evidence``, ``mean``, ``cov``, ``fits``, ``assignment``, ``status``,
        ``message``; methods ``sample``, ``logpdf``, ``cdf_marginal``, ``interval``,
        ``importance``.

    Raises
    ------
    TypeError
        ``log_post`` not callable, ``grad`` or ``hess`` not callable, complex or string
        ``starts``, ``maxiter`` not an integer, ``method`` not a string.
    ValueError
        ``starts`` not of shape (K, d) with K >= 1 and d >= 1, or not finite; ``tol``,
        ``maxiter``, ``hessian_method`` or ``merge_tol`` out of range; a ``method``
        other than ``"newton"`` with ``vectorized=True``, or an unknown one.

    Warns
    -----
    LaplaceWarning
        Once, when the mixture's status is not 0 (no start gave a mode, or a component
        has a caveat).  The starts dropped as saddle points, minima or failed fits are
        only counted in ``message``: they are expected when starts are spread out.

    See Also
    --------
    laplace : one Gaussian at one mode.

    Notes
    -----
    A start is dropped when its fit fails (status < 0: no convergence, or a Hessian at
    the final point that is not negative definite, as at a saddle point or a minimum);
    the others are merged into distinct modes (see ``merge_tol``).  Component k's
    weight is its Laplace evidence ``exp(log_evidence_k)`` normalised: the Gaussian's
    share of the posterior's mass.  This is right when the modes are well separated,
    each holding the mass near it; when modes overlap, or a mode is far from Gaussian,
    the weights and ``log_evidence`` are off, and importance sampling from the
    mixture, ``MixtureResult.importance``, corrects them (and says by its k-hat when
    it cannot).  Modes no start reaches are missing from the mixture: spread the
    starts over the region where the posterior has mass.

    Examples
    --------
    The seed article's bimodal posterior, whose two modes a single Gaussian cannot
    cover.  The mixture's log evidence is the single Gaussian's plus log 2 (the other
    mode's mass); by quadrature it is 1.6799, the quartic tails being heavier than
    the Gaussians' (``MixtureResult.importance`` corrects it).

    >>> import numpy as np
    >>> import laplace_fast as lf
    >>> def log_post(t):
    ...     return -t[0] ** 4 + 2 * t[0] ** 2
    >>> mix = lf.laplace_mixture(log_post, np.linspace(-2, 2, 5)[:, None])
    >>> np.round(mix.components.mode[:, 0], 6).tolist(), np.round(mix.weights, 6).tolist()
    ([-1.0, 1.0], [0.5, 0.5])
    >>> print(f"{mix.log_evidence:.4f} {mix.components.log_evidence[0]:.4f}")
    1.5724 0.8792

    The start at the minimum, 0, climbs to a mode (Newton escapes minima and saddle
    points along a direction of ascent) and merges with the others there:

    >>> mix.assignment.tolist(), mix.message
    ([0, 0, 1, 1, 1], '5 starts: 2 components; 3 duplicates merged')

    With a vectorized callback the starts advance together:

    >>> mix = lf.laplace_mixture(lambda t: -t[:, 0] ** 4 + 2 * t[:, 0] ** 2,
    ...                          [[-2.0], [2.0]], vectorized=True)
    >>> len(mix), mix.status.name
    (2, 'OK')
    """
    make_objective(log_post, args, grad, hess)      # raises naming a bad callable
    pts = _check_starts(starts)
    check_options(d=pts.shape[1], tol=tol, maxiter=maxiter, hessian_method=hessian_method)
    merge_tol = _check_merge_tol(merge_tol)
    if not isinstance(method, str):
        raise TypeError(f"method must be a string, got {type(method).__name__}")
    if vectorized and method.lower() != "newton":
        raise ValueError(f"method must be 'newton' with vectorized=True (the starts "
                         f"advance together in the compiled Newton), got {method!r}")
    if not isinstance(args, tuple):
        args = (args,)
    fits = _fit_all(log_post, pts, args, grad, hess, vectorized, hessian_method, tol,
                    maxiter, method)
    usable = _usable(fits)
    assignment, kept = _assign(fits, usable, merge_tol)
    status, message = _summary(fits, usable, kept)
    if status != Status.OK:
        warnings.warn(f"laplace_mixture: {message}", LaplaceWarning, stacklevel=2)
    return MixtureResult(components=fits[kept], fits=fits, assignment=assignment,
                         status=status, message=message,
                         source=(log_post, args, vectorized))
