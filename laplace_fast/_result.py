"""Result objects: the Gaussian N(mode, cov) of a Laplace approximation.

``LaplaceResult`` holds one problem, ``BatchLaplaceResult`` many with the batch
dimensions in front; ``MapResult`` is what :func:`laplace_fast.find_map` returns.
"""

import math
import numbers

import numpy as np

from ._importance import importance as _importance_of
from . import _arviz, _tables
from ._lazy import LazyModule
from ._status import STATUS_MESSAGES, LaplaceError, Status, counted, describe

special = LazyModule("scipy.special")
stats = LazyModule("scipy.stats")

__all__ = ["MapResult", "LaplaceResult", "BatchLaplaceResult"]


class MapResult:
    """The maximiser of a log posterior found by :func:`laplace_fast.find_map`.

    Attributes
    ----------
    x : ndarray, shape (d,)
        The last iterate (the MAP when ``converged``).
    logp : float
        log_post at ``x``.
    grad : ndarray, shape (d,)
        Gradient of log_post at ``x`` (finite differences unless ``grad=`` given).
    hessian : ndarray, shape (d, d) or None
        Hessian at ``x`` when the method computed one (``"newton"``).
    niter, nfev : int
        Iterations taken and log_post evaluations made.
    converged : bool
        True when ``status >= 0``.
    status : Status
        See :class:`laplace_fast.Status`.
    message : str
        A sentence on what happened.

    See Also
    --------
    LaplaceResult : what :func:`laplace_fast.laplace` returns, with the Gaussian.

    Examples
    --------
    >>> import laplace_fast as lf
    >>> m = lf.find_map(lambda t: -(t[0] - 3.0) ** 2 - (t[1] + 1.0) ** 2, [0.0, 0.0])
    >>> [round(float(v), 6) for v in m.x], m.converged, m.status.name
    ([3.0, -1.0], True, 'OK')
    >>> [round(float(h), 4) for h in m.hessian.diagonal()]
    [-2.0, -2.0]
    """

    def __init__(self, x, logp, grad, hessian, niter, nfev, status, message):
        self.x = x
        self.logp = float(logp)
        self.grad = grad
        self.hessian = hessian
        self.niter = int(niter)
        self.nfev = int(nfev)
        self.status = Status(int(status))
        self.converged = bool(self.status >= 0)
        self.message = message

    def __repr__(self):
        return (f"MapResult(x={self.x!r}, logp={self.logp!r}, converged={self.converged}, "
                f"status={self.status.name}, niter={self.niter}, nfev={self.nfev})")


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _sample_shape(size):
    """``size`` as the tuple of draws it asks for: an int n -> (n,), a tuple (or list) of
    ints as it is, as numpy's generators take it."""
    if _is_int(size):
        shape = (int(size),)
    elif isinstance(size, (tuple, list)) and all(_is_int(s) for s in size):
        shape = tuple(int(s) for s in size)
    else:
        raise TypeError(f"size must be an int or a tuple of ints, got {size!r}")
    if any(s < 0 for s in shape):
        raise ValueError(f"size must not be negative, got {size!r}")
    return shape


def _check_level(level):
    if not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise ValueError(f"level must be a number in (0, 1), got {level!r}")


def _points(x, d):
    """``x`` as float points along a last axis of length d; ValueError naming ``x``
    otherwise.  A scalar is one point when d = 1."""
    x = np.asarray(x, dtype=float)
    if d == 1 and x.ndim == 0:
        return x[None]
    if x.shape[-1:] != (d,):
        raise ValueError(f"x must have shape (..., {d}), the points along the last axis"
                         f"{' (or be a scalar, as d = 1)' if d == 1 else ''}; got shape "
                         f"{x.shape}")
    return x


def _take(value, index, nbatch):
    """One field of a batch at ``index``: an array whose leading axes are the batch is
    indexed, anything else (None, a default shared by every problem) is kept."""
    if isinstance(value, np.ndarray) and value.ndim >= nbatch:
        return value[index]
    return value


def _one(value, kind):
    """A single problem's value of a per-problem scalar field as the Python ``kind``
    (float, int, bool or Status), or None when the field is absent."""
    return None if value is None else kind(value)


def _as_given(value, kind):
    """A batch's field, as the caller gave it."""
    return value


def _code(value):
    return Status(int(value))


class _GaussianResult:
    """The Gaussian N(mode, cov) of one posterior or of a batch of them, batch first.

    The fields are declared in ``__init__`` (keyword-only) and documented once, in
    :class:`LaplaceResult`; a single problem is the 0-d batch (``batch_shape == ()``),
    whose scalar fields are Python floats, ints and a :class:`Status`.  The methods are
    written once for every batch shape.  ``_PER_PROBLEM`` names the fields that hold one
    value per problem (batch axes first), which indexing takes apart.
    """

    _PER_PROBLEM = ("mode", "hessian", "cov", "log_det_cov", "logp", "status", "niter",
                    "nfev", "cond", "grad", "hessian_error", "regularization",
                    "problem_index")

    def __init__(self, *, mode, hessian, cov, log_det_cov, logp, status, niter, nfev,
                 cond=np.nan, grad=None, hessian_error=None, regularization=0.0,
                 message=None, labels=None, problem_index=None):
        self.mode = mode
        self.hessian = hessian
        self.cov = cov
        self.grad = grad
        self.hessian_error = hessian_error
        self.labels = labels
        self._message = message
        # (np.shape of a Status, an IntEnum, costs microseconds: one problem's is ())
        self.batch_shape = status.shape if isinstance(status, np.ndarray) else ()
        # one problem (the 0-d batch): its scalars as Python scalars
        held = _as_given if self.batch_shape else _one
        self.log_det_cov = held(log_det_cov, float)
        self.logp = held(logp, float)
        self.status = held(status, _code)
        self.niter = held(niter, int)
        self.nfev = held(nfev, int)
        self.cond = held(cond, float)
        self.regularization = held(regularization, float)
        if problem_index is None:   # the problems are those of the fit, in C order
            problem_index = np.arange(math.prod(self.batch_shape)).reshape(self.batch_shape)
        self.problem_index = held(problem_index, int)

    @property
    def d(self):
        return self.mode.shape[-1]

    @property
    def mean(self):
        return self.mode

    @property
    def precision(self):
        return -self.hessian

    @property
    def std(self):
        return np.sqrt(np.diagonal(self.cov, axis1=-2, axis2=-1))

    @property
    def converged(self):
        ok = self.status >= 0
        return bool(ok) if not self.batch_shape else ok

    @property
    def log_evidence(self):
        ev = self.logp + 0.5 * self.d * np.log(2 * np.pi) + 0.5 * self.log_det_cov
        # a regularised covariance never enters the evidence
        ev = np.where(self.status == Status.REGULARISED, np.nan, ev)
        return float(ev) if not self.batch_shape else ev

    @property
    def message(self):
        if self._message is not None:
            return self._message
        flat = np.reshape(self.status, -1)
        n_ok = int(np.count_nonzero(flat >= 0))
        text = f"{n_ok} of {flat.size} problems converged"
        codes, counts = np.unique(flat[flat != 0], return_counts=True)
        if codes.size:
            text += "; " + ", ".join(counted(c, k) for k, c in zip(codes, counts))
        return text + self._message_note()

    def _message_note(self):
        """A clause ("; ...") a subclass adds to a batch's message."""
        return ""

    def _require(self, what):
        """LaplaceError naming the status when a problem has no Gaussian (NaN cov)."""
        finite = np.all(np.isfinite(self.cov), axis=(-2, -1))
        if np.all(finite):
            return
        if not self.batch_shape:
            raise LaplaceError(f"{what} needs a Gaussian approximation, but this result "
                               f"has none: {describe(self.status)}")
        bad = np.argwhere(~finite)
        raise LaplaceError(f"{what} needs a Gaussian approximation for every problem, "
                           f"but {len(bad)} have none (first at index "
                           f"{tuple(int(v) for v in bad[0])}, status "
                           f"{int(self.status[tuple(bad[0])])}); select the healthy "
                           "ones with result.converged")

    def sample(self, size=1, rng=None):
        """Draw from N(mode, cov), for every problem of a batch.

        Parameters
        ----------
        size : int or tuple of ints
            Draws per problem, or their shape (as numpy takes it).
        rng : numpy.random.Generator, int or None
            Random source (``numpy.random.default_rng(rng)``).

        Returns
        -------
        ndarray, shape (*batch, size, d) or (*batch, *size, d)
            The draws after the batch axes (none for one problem), the d coordinates
            last.

        Raises
        ------
        TypeError, ValueError
            When ``size`` is not a non-negative int or a tuple of them.
        LaplaceError
            When a problem has no valid covariance.

        Examples
        --------
        >>> import numpy as np, laplace_fast as lf
        >>> r = lf.laplace(lambda t: -0.5 * (t[0] ** 2 + t[1] ** 2), [1.0, 1.0])
        >>> r.sample(5, rng=0).shape, r.sample((2, 3), rng=0).shape
        ((5, 2), (2, 3, 2))
        >>> res = lf.laplace_batch(lambda t: -0.5 * np.sum(t ** 2, axis=1), np.ones((4, 2)))
        >>> res.sample(5, rng=0).shape, res.sample((2, 3), rng=0).shape
        ((4, 5, 2), (4, 2, 3, 2))
        """
        shape = _sample_shape(size)
        self._require("sample")
        L = np.linalg.cholesky(self.cov)
        z = np.random.default_rng(rng).standard_normal(
            self.batch_shape + (math.prod(shape), self.d))
        draws = self.mode[..., None, :] + z @ np.swapaxes(L, -1, -2)
        return draws.reshape(self.batch_shape + shape + (self.d,))

    def logpdf(self, x):
        """Log density of N(mode, cov), for every problem of a batch.

        Parameters
        ----------
        x : array_like, shape (..., d)
            Points along the last axis, broadcast against ``(*batch, d)``: for a batch,
            shape ``(*batch, d)`` gives one point per problem, ``(d,)`` the same point
            to every problem, ``(m, *batch, d)`` m points per problem.  When d = 1 also
            a scalar (one point); for one problem with d = 1 also a 1-D array of points
            (a grid over the one parameter).

        Returns
        -------
        float or ndarray
            The broadcast shape of ``x.shape[:-1]`` and ``batch``; a float for one
            problem and one point, shape ``(n,)`` for a grid of ``n`` points.

        Raises
        ------
        ValueError
            When ``x`` does not have the shape of points or does not broadcast
            against the batch.
        LaplaceError
            When a problem has no valid covariance.

        Examples
        --------
        >>> import numpy as np
        >>> import laplace_fast as lf
        >>> r = lf.laplace(lambda t: -0.5 * (t[0] - 1.0) ** 2, 0.0)
        >>> print(f"{r.logpdf(1.0):.6f}")
        -0.918939
        >>> np.round(r.logpdf(np.linspace(-1.0, 3.0, 3)), 6).tolist()
        [-2.918939, -0.918939, -2.918939]
        >>> mu = np.array([[0.0], [1.0], [2.0]])
        >>> res = lf.laplace_batch(lambda t: -0.5 * np.sum((t - mu) ** 2, axis=1),
        ...                        np.zeros((3, 1)))
        >>> np.round(res.logpdf(1.0), 6).tolist()
        [-1.418939, -0.918939, -1.418939]
        >>> res.logpdf(np.linspace(0.0, 2.0, 5)[:, None, None]).shape
        (5, 3)
        """
        self._require("logpdf")
        x = np.asarray(x, dtype=float)
        if self.d == 1 and x.ndim <= 1 and not self.batch_shape:
            x = x[..., None]            # scalar points (a grid of the one parameter)
        else:
            x = _points(x, self.d)
        try:
            np.broadcast_shapes(x.shape[:-1], self.batch_shape)
        except ValueError:
            raise ValueError(f"x with shape {x.shape} does not broadcast against the "
                             f"problems' points, shape {self.batch_shape + (self.d,)}") from None
        r = x - self.mode
        quad = np.einsum("...i,...ij,...j->...", r, self.precision, r)
        lp = -0.5 * (quad + self.d * np.log(2 * np.pi) + self.log_det_cov)
        return float(lp) if np.ndim(lp) == 0 else lp

    def interval(self, level=0.95):
        """Equal-tailed marginal intervals ``mode ± z * std``, for every problem.

        Parameters
        ----------
        level : float in (0, 1)
            Probability each interval holds under the approximation.

        Returns
        -------
        lower, upper : ndarray, shape (*batch, d)

        Raises
        ------
        ValueError
            When ``level`` is not a number in (0, 1).
        LaplaceError
            When a problem has no valid covariance.

        Examples
        --------
        >>> import numpy as np, laplace_fast as lf
        >>> r = lf.laplace(lambda t: -0.5 * t[0] ** 2 / 4.0, 1.0)
        >>> lo, hi = r.interval(0.95)
        >>> print(f"{lo[0]:.4f} {hi[0]:.4f}")
        -3.9199 3.9199
        >>> res = lf.laplace_batch(lambda t: -0.5 * np.sum(t ** 2, axis=1), np.ones((4, 2)))
        >>> lo, hi = res.interval(0.95)
        >>> lo.shape, float(np.round(hi[0, 0], 4))
        ((4, 2), 1.96)
        """
        _check_level(level)
        self._require("interval")
        z = special.ndtri(0.5 + level / 2)
        return self.mode - z * self.std, self.mode + z * self.std

    def importance(self, log_post=None, n=1000, *, args=(), vectorized=False, rng=None):
        """Pareto-smoothed importance sampling from the Gaussian: how wrong it is for
        this posterior (every posterior of a batch), and the corrected evidence and
        moments.

        Parameters
        ----------
        log_post : callable or None
            The log posterior the result approximates (any additive constant is the
            evidence's).  Required for :func:`laplace_fast.laplace` and
            :func:`laplace_fast.laplace_batch` results; the GLM results evaluate their
            own log joint (prior and likelihood with every constant) when it is None.
            One problem: ``log_post(theta, *args) -> float``, ``theta`` of shape (d,),
            called once per draw; with ``vectorized=True``, ``log_post(thetas, *args)
            -> (n,)`` once, ``thetas`` of shape (n, d).  A batch (as
            :func:`laplace_fast.laplace_batch` calls it): ``log_post(theta, *args) ->
            batch``, ``theta`` of shape ``(*batch, d)`` holding one draw of every
            problem, called n times; with ``vectorized=True``, ``log_post(thetas,
            *args) -> (n, *batch)`` once, ``thetas`` of shape ``(n, *batch, d)``.  The
            batch is this result's: for a selection ``result[mask]`` the callback sees
            the selected problems only.
        n : int
            Draws per problem, at least 50.
        args : tuple
            Extra arguments for ``log_post``.
        vectorized : bool
            Whether ``log_post`` takes every draw at once (above).
        rng : None, int, numpy.random.SeedSequence, numpy.random.Generator, or a list
            The random streams.  Every problem draws from a stream of its own,
            ``numpy.random.default_rng(SeedSequence(root.entropy,
            spawn_key=root.spawn_key + (problem_index,)))``, with ``root`` the
            SeedSequence of an int (``SeedSequence(rng)``), the SeedSequence itself,
            one made of 128 bits drawn from a Generator, or fresh entropy (None): so
            ``result[i].importance(rng=s)`` is row i of ``result.importance(rng=s)``
            bit for bit, whatever the batch and ``n_threads``.  A list gives every
            problem its stream itself, one entry per problem (an int or SeedSequence
            for ``default_rng``, or a Generator): ``result.importance(rng=seeds)`` row
            i is then what the problem fitted alone gives with ``rng=[seeds[i]]``.

        Returns
        -------
        ImportanceResult
            ``khat``, ``reliable``, ``ess``, ``log_evidence``, ``mean``, ``cov``,
            ``log_weights``, ``samples``; with the batch shape in front for a batch.

        Raises
        ------
        TypeError
            ``log_post`` missing (callback results) or not callable, ``n`` not an
            int, ``args`` not a tuple (or given without ``log_post``), ``vectorized``
            not a bool, an ``rng`` of another type.
        ValueError
            ``n < 50``; ``log_post`` returning another shape than described, or NaN
            or ``+inf`` (``-inf`` is a zero density); a list ``rng`` of another length
            than the problems.
        LaplaceError
            When a problem has no Gaussian (a failed fit: select the healthy ones).

        Notes
        -----
        ``khat`` is the Pareto shape of the importance weights' tail (Vehtari et al.,
        JMLR 25, 2024): below ``min(1 - 1/log10(n), 0.7)`` (``reliable``) the
        Gaussian is close enough for the smoothed estimates to be trusted, and
        ``log_evidence``, ``mean`` and ``cov`` correct the Laplace ones; above it the
        Gaussian misses mass (another mode, a heavy or skewed tail).  For the GLMs it
        is the arbiter over the status 3 (EXTREME_PREDICTOR) heuristic.

        Examples
        --------
        >>> import numpy as np, laplace_fast as lf
        >>> def log_post(t):
        ...     return -t[0] ** 4 + 2 * t[0] ** 2
        >>> r = lf.laplace(log_post, [0.8])
        >>> imp = r.importance(log_post, n=2000, rng=0)
        >>> imp.reliable, bool(imp.khat > 0.7)
        (False, True)
        >>> X = np.column_stack([np.ones(10), np.linspace(-1.0, 1.0, 10)])
        >>> g = lf.glm_laplace(X, [0, 0, 1, 0, 1, 1, 0, 1, 1, 1], family="logistic")
        >>> gi = g.importance(n=2000, rng=0)
        >>> gi.reliable, gi.mean.shape
        (True, (2,))
        """
        imp = _importance_of(self, log_post, n, args=args, vectorized=vectorized, rng=rng)
        imp.param_names, imp.labels = getattr(self, "param_names", None), self.labels
        return imp

    def summary(self):
        """A table of the marginals: mean, sd and the 95 % interval of every parameter.

        Returns
        -------
        pandas.DataFrame
            Columns ``mean`` (the mode), ``sd`` (``std``), ``lower`` and ``upper``
            (``interval(0.95)``).  One problem: indexed by ``term``.  A batch: one row
            per (problem, term), in C order, under a MultiIndex (``group``, ``term``).
            The terms are ``param_names`` when the result has them (a GLM fitted on a
            DataFrame ``X``), else ``x0, x1, ...``; the groups are ``labels`` when the
            batch was grouped, else the problem's position (an int for a 1-D batch, the
            index tuple for more dimensions).

        Raises
        ------
        ImportError
            When pandas is not installed (``pip install laplace_fast[data]``).

        Notes
        -----
        A failed problem (status < 0, or no Gaussian: NaN ``cov``) does not raise as
        :meth:`interval` does: its rows hold its ``mean`` and NaN ``sd``, ``lower`` and
        ``upper``.  :meth:`to_dataframe` gives the same numbers as a long frame with
        each problem's status and evidence.

        Examples
        --------
        >>> import numpy as np, laplace_fast as lf
        >>> r = lf.laplace(lambda t: -0.5 * ((t[0] - 1) ** 2 / 4 + t[1] ** 2), [0.0, 0.0])
        >>> s = r.summary()
        >>> s.index.tolist(), s.columns.tolist()
        (['x0', 'x1'], ['mean', 'sd', 'lower', 'upper'])
        >>> np.round(s.loc["x0"].to_numpy(), 3).tolist()
        [1.0, 2.0, -2.92, 4.92]
        >>> mu = np.array([[0.0, 1.0], [2.0, -1.0], [5.0, 5.0]])
        >>> res = lf.laplace_batch(lambda t: -0.5 * np.sum((t - mu) ** 2, axis=1),
        ...                        np.zeros((3, 2)))
        >>> sb = res.summary()
        >>> list(sb.index.names), len(sb)
        (['group', 'term'], 6)
        >>> float(np.round(sb.loc[(1, "x1"), "mean"], 6))
        -1.0
        """
        return _tables.summary(self)

    def to_dataframe(self):
        """The result as a tidy long frame, one row per (problem, term).

        Returns
        -------
        pandas.DataFrame
            Columns ``group`` (batches only; as in :meth:`summary`), ``term``,
            ``mean``, ``sd``, ``lower``, ``upper`` (the 95 % interval), ``status``
            (the problem's int code) and ``log_evidence`` (the problem's, on each of
            its rows), with a default RangeIndex.

        Raises
        ------
        ImportError
            Without pandas, as :meth:`summary`.

        Notes
        -----
        A failed problem's rows hold NaN ``sd``, ``lower`` and ``upper`` (see
        :meth:`summary`) and its negative ``status``.

        Examples
        --------
        >>> import numpy as np, laplace_fast as lf
        >>> X = np.column_stack([np.ones(8), np.linspace(-1.0, 1.0, 8)])
        >>> res = lf.glm_laplace(X, [0, 0, 1, 0, 1, 1, 0, 1],
        ...                      groups=[0, 0, 0, 0, 1, 1, 1, 1], family="logistic")
        >>> df = res.to_dataframe()
        >>> df.columns.tolist()
        ['group', 'term', 'mean', 'sd', 'lower', 'upper', 'status', 'log_evidence']
        >>> df["group"].tolist(), df["term"].tolist(), df["status"].tolist()
        ([0, 0, 1, 1], ['x0', 'x1', 'x0', 'x1'], [0, 0, 0, 0])
        """
        return _tables.to_dataframe(self)

    @_arviz.documented
    def to_arviz(self, n=1000, rng=None, *, chains=1):
        """Draws of the Gaussian as ArviZ data, for ArviZ's summaries and plots.

        Parameters
        ----------
        {parameters}

        Returns
        -------
        arviz.InferenceData
            What ``arviz.from_dict`` builds (a ``DataTree`` with ArviZ 1 and later):
            a ``posterior`` group holding ``theta`` with dimensions ``chain``,
            ``draw``, the batch's and ``term``.  ``term`` is labelled by
            ``param_names`` when the result has them, else ``x0, x1, ...``, as in
            :meth:`summary`; a grouped batch's dimension is ``group``, labelled by
            ``labels``; another 1-D batch's is ``problem`` (the positions), and a
            batch of more dimensions has ``problem_0``, ``problem_1``, ...

        Raises
        ------
        {raises}
        LaplaceError
            When a problem has no Gaussian (a failed fit), as for :meth:`sample`:
            select the healthy ones (``result[result.converged]``).

        Notes
        -----
        The draws are those of :meth:`sample` with size ``(chains, n)``, independent
        draws from N(mode, cov): the approximation, not the posterior.  Draws from the
        posterior itself are :meth:`importance`'s, whose result has ``to_arviz`` too.

        Examples
        --------
        >>> import numpy as np, laplace_fast as lf
        >>> r = lf.laplace(lambda t: -0.5 * ((t[0] - 1) ** 2 / 4 + t[1] ** 2), [0.0, 0.0])
        >>> idata = r.to_arviz(n=500, rng=0)
        >>> dict(idata.posterior["theta"].sizes)
        {'chain': 1, 'draw': 500, 'term': 2}
        >>> idata.posterior["term"].values.tolist()
        ['x0', 'x1']
        >>> X = np.column_stack([np.ones(8), np.linspace(-1.0, 1.0, 8)])
        >>> res = lf.glm_laplace(X, [0, 0, 1, 0, 1, 1, 0, 1],
        ...                      groups=["b", "a", "b", "a", "b", "a", "b", "a"],
        ...                      family="logistic")
        >>> th = res.to_arviz(n=200, rng=0, chains=2).posterior["theta"]
        >>> th.dims, th.sel(group="b").shape
        (('chain', 'draw', 'group', 'term'), (2, 200, 2))
        """
        return _arviz.gaussian(self, n, rng, chains)

    def to_scipy(self):
        """The approximation as a frozen ``scipy.stats.multivariate_normal``: one for a
        single problem, an object array of them (batch shape) for a batch."""
        self._require("to_scipy")
        if not self.batch_shape:
            return stats.multivariate_normal(mean=self.mode, cov=self.cov)
        out = np.empty(self.batch_shape, dtype=object)
        for idx in np.ndindex(self.batch_shape):
            out[idx] = stats.multivariate_normal(mean=self.mode[idx], cov=self.cov[idx])
        return out

    def __repr__(self):
        if self.batch_shape:
            return (f"{type(self).__name__}(batch_shape={self.batch_shape}, d={self.d}, "
                    f"{self.message})")
        return (f"{type(self).__name__}(mode={self.mode!r}, std={self.std!r}, "
                f"log_evidence={self.log_evidence!r}, status={self.status.name})")


class LaplaceResult(_GaussianResult):
    """A Laplace approximation N(mode, cov) of one posterior.

    The attributes below are those of :class:`BatchLaplaceResult` too, where each has
    the batch shape in front; here the batch shape is ``()``.

    Attributes
    ----------
    mode : ndarray, shape (d,)
        The MAP (alias ``mean``).
    hessian : ndarray, shape (d, d)
        Hessian of log_post at ``mode`` (never modified or regularised).
    precision : ndarray, shape (d, d)
        ``-hessian``.
    cov : ndarray, shape (d, d)
        ``inv(precision)``; all NaN when the Hessian is not negative definite
        (then ``status`` says why).
    std : ndarray, shape (d,)
        Marginal standard deviations, ``sqrt(diag(cov))``.
    log_det_cov : float
        ``log det cov``.
    log_evidence : float
        Laplace estimate of the log marginal likelihood,
        ``logp + d/2 log(2 pi) + 1/2 log_det_cov`` (NaN when regularised, status 4).
    logp : float
        log_post at ``mode``.
    converged : bool
        ``status >= 0``.
    status : Status
        0 success, > 0 success with a caveat, < 0 failure.
    niter, nfev : int
        Newton iterations and log_post evaluations.
    message : str
        What happened, in words.
    cond : float
        Condition number of ``precision`` (inf when it is not positive definite).
    grad : ndarray, shape (d,) or None
        Gradient of log_post at ``mode`` (None from :func:`laplace_fast.glm_laplace`,
        whose mode is where the analytic gradient vanishes).
    hessian_error : ndarray, shape (d, d) or None
        Richardson's elementwise error estimate of ``hessian`` (zeros for other
        finite differences or an analytic ``hess``; None from
        :func:`laplace_fast.glm_laplace`).
    regularization : float
        The shift added to the precision (0 unless status 4, ``REGULARISED``).
    batch_shape : tuple
        ``()`` for one problem.
    d : int
        The number of parameters.
    labels : None
        The group labels of a batch; None for one problem.
    problem_index : int
        The problem's flat (C order) index in the batch it was fitted in (0 for a
        problem fitted alone); :meth:`importance` draws from a random stream of its own
        for each index.

    See Also
    --------
    BatchLaplaceResult : many of them, as arrays.

    Notes
    -----
    :meth:`sample`, :meth:`logpdf`, :meth:`interval` and :meth:`to_scipy` need the
    Gaussian: when ``cov`` is NaN (a failed fit) they raise :class:`LaplaceError`
    naming the status.  :meth:`summary` and :meth:`to_dataframe` give the marginals as
    pandas tables (the ``data`` extra), with NaN spreads for a failed fit instead.

    Examples
    --------
    >>> import numpy as np
    >>> import laplace_fast as lf
    >>> r = lf.laplace(lambda t: -0.5 * ((t[0] - 1) ** 2 / 4 + t[1] ** 2), [0.0, 0.0])
    >>> np.round(r.std, 6).tolist(), r.status.name
    ([2.0, 1.0], 'OK')
    >>> lo, hi = r.interval(0.95)
    >>> np.round(hi - r.mode, 3).tolist()
    [3.92, 1.96]
    >>> r.sample(1000, rng=0).shape, float(np.round(r.logpdf(r.mode), 4))
    ((1000, 2), -2.531)
    >>> r.to_scipy().cov.shape
    (2, 2)
    """

    def __init__(self, mode, hessian, cov, log_det_cov, logp, status, niter, nfev,
                 message, cond=np.nan, *, grad=None, hessian_error=None,
                 regularization=0.0, problem_index=0):
        super().__init__(mode=mode, hessian=hessian, cov=cov, log_det_cov=log_det_cov,
                         logp=logp, status=status, niter=niter, nfev=nfev, cond=cond,
                         grad=grad, hessian_error=hessian_error,
                         regularization=regularization, message=message,
                         problem_index=problem_index)


class BatchLaplaceResult(_GaussianResult):
    """Laplace approximations of a batch of posteriors, batch dimensions first.

    Every attribute of :class:`LaplaceResult` is here as an array with the batch
    shape in front (``mode`` is ``(*batch, d)``, ``status`` is ``batch``);
    ``message`` summarises the batch.  ``len(result)`` is the size of the first
    batch dimension and ``result[i]`` is a :class:`LaplaceResult` (or a smaller
    batch, for a multi-dimensional batch).  A grouped batch (``labels`` set) gives a
    group's result by its label too: ``result.by_label("u007")``.

    Attributes
    ----------
    status : ndarray of int, shape batch
        Per-problem :class:`Status` codes; ``converged`` is ``status >= 0``.
    batch_shape : tuple
        The batch dimensions.
    labels : ndarray or None
        The group label of each problem (grouped GLM input), else None.
    message : str
        How many problems converged, and the counts of each non-zero status.

    Notes
    -----
    The methods :meth:`sample`, :meth:`logpdf`, :meth:`interval` and :meth:`to_scipy`
    work on every problem at once and raise :class:`LaplaceError` when any problem has
    no Gaussian; select the healthy ones first (``result[result.converged]``).

    Examples
    --------
    >>> import numpy as np
    >>> import laplace_fast as lf
    >>> mu = np.array([[0.0, 1.0], [2.0, -1.0], [5.0, 5.0]])
    >>> res = lf.laplace_batch(lambda t: -0.5 * np.sum((t - mu) ** 2, axis=1),
    ...                        np.zeros((3, 2)))
    >>> len(res), res.batch_shape, res.mode.shape, res.cov.shape
    (3, (3,), (3, 2), (3, 2, 2))
    >>> res.message
    '3 of 3 problems converged'
    >>> one = res[1]
    >>> type(one).__name__, np.round(one.mode, 6).tolist()
    ('LaplaceResult', [2.0, -1.0])
    >>> res[res.converged].batch_shape
    (3,)
    """

    _single = LaplaceResult

    def __init__(self, mode, hessian, cov, log_det_cov, logp, status, niter, nfev,
                 cond, labels=None, *, grad=None, hessian_error=None,
                 regularization=0.0, problem_index=None):
        super().__init__(mode=mode, hessian=hessian, cov=cov, log_det_cov=log_det_cov,
                         logp=logp, status=status, niter=niter, nfev=nfev, cond=cond,
                         grad=grad, hessian_error=hessian_error,
                         regularization=regularization, labels=labels,
                         problem_index=problem_index)

    def _fields_at(self, index):
        """Every per-problem field at ``index`` (the shared ones as they are)."""
        nb = len(self.batch_shape)
        return {f: _take(getattr(self, f), index, nb) for f in self._PER_PROBLEM}

    def _shared(self):
        """The fields every problem shares (none here; the GLM results add theirs)."""
        return {}

    def __len__(self):
        if not self.batch_shape:
            raise TypeError("len() of a 0-d batch")
        return self.batch_shape[0]

    def __getitem__(self, index):
        if not isinstance(index, tuple):
            index = (index,)
        probe = np.empty(self.batch_shape, dtype=np.int8)[index]  # validates the index
        fields = self._fields_at(index)
        if probe.ndim:
            labels = None if self.labels is None else np.asarray(self.labels)[index]
            return type(self)(**fields, labels=labels, **self._shared())
        return self._single(message=STATUS_MESSAGES[Status(int(fields["status"]))],
                            **fields, **self._shared())

    def by_label(self, label):
        """The single result of the group labelled ``label`` (grouped input).

        Parameters
        ----------
        label : int or str
            One of ``labels``.

        Returns
        -------
        LaplaceResult
            ``result[i]`` for the ``i`` with ``labels[i] == label`` (a
            :class:`laplace_fast.GLMLaplaceResult` from a GLM batch).

        Raises
        ------
        KeyError
            When no group has that label (the message names it).
        TypeError
            When the batch was not grouped (``labels`` is None): index it by position.

        Examples
        --------
        >>> import numpy as np, laplace_fast as lf
        >>> X = np.column_stack([np.ones(8), np.linspace(-1.0, 1.0, 8)])
        >>> g = ["u007", "u001", "u007", "u001", "u007", "u001", "u007", "u001"]
        >>> res = lf.glm_laplace(X, [0, 0, 1, 0, 1, 1, 0, 1], groups=g, family="logistic")
        >>> res.labels.tolist()
        ['u001', 'u007']
        >>> one = res.by_label("u007")
        >>> type(one).__name__, bool(np.array_equal(one.mode, res[1].mode))
        ('GLMLaplaceResult', True)
        >>> res.by_label("u999")
        Traceback (most recent call last):
        ...
        KeyError: "no group labelled 'u999' in this result (it has 2 groups)"
        """
        return _tables.by_label(self, label)

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]
