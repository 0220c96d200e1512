"""Importance sampling from a Laplace approximation, Pareto-smoothed (:mod:`._psis`):
how far the Gaussian is from the posterior, and the corrected evidence and moments.

:class:`ImportanceResult` is what ``result.importance(...)`` returns;
:func:`_importance_from_draws` turns draws of any proposal (with their log densities
under it and under the target) into one, so that any approximation (a single Gaussian,
a mixture) is diagnosed the same way.  The work is compiled (``_importance_kernels``):
the draws, the smoothing and the moments; for the GLM results also their own log joint
(:func:`_glm_log_joint`), in one pass per problem, every problem in parallel.
"""

import math
import numbers

import numpy as np

from . import _arviz, _importance_kernels, _tables
from ._lazy import LazyModule
from ._psis import MIN_DRAWS, khat_threshold, n_threads

special = LazyModule("scipy.special")

__all__ = ["ImportanceResult", "GLMPrior", "importance", "_importance_from_draws",
           "_glm_log_joint"]

_LOG_2PI = math.log(2 * math.pi)


class ImportanceResult:
    """Pareto-smoothed importance sampling from an approximation of a posterior.

    What :meth:`LaplaceResult.importance` (and the batch and GLM results' method)
    returns.  For a batch every field has the batch shape in front.

    Attributes
    ----------
    khat : float or ndarray, shape batch
        The Pareto shape estimate of the importance weights' tail (Vehtari et al.
        2024): below ``threshold`` the approximation is close enough for the
        importance-corrected estimates to be trusted; above 0.7 it is not, whatever n.
        ``-inf`` when the weights' tail is flat (the target is the approximation, up
        to a constant), ``inf`` when too few weights are positive to fit a tail.
    threshold : float
        ``min(1 - 1 / log10(n), 0.7)``, the sample-size-dependent threshold.
    reliable : bool or ndarray of bool, shape batch
        ``khat < threshold``.
    ess : float or ndarray, shape batch
        The effective sample size of the smoothed weights, ``1 / sum w_s^2`` (weights
        normalised to sum to one).
    log_evidence : float or ndarray, shape batch
        The importance-sampling estimate of the log marginal likelihood log p(D) (the
        log normalising constant of ``exp(log_post)``): ``log mean_s w_s`` of the
        smoothed, unnormalised weights.
    mean : ndarray, shape (*batch, d)
        The posterior mean, weighted by the smoothed weights.
    cov : ndarray, shape (*batch, d, d)
        The posterior covariance, weighted by the smoothed weights.
    log_weights : ndarray, shape (*batch, n)
        The raw log ratios ``log p - log q`` of the draws (before smoothing).
    samples : ndarray, shape (*batch, n, d)
        The draws from the approximation.
    n : int
        Draws per problem.
    batch_shape : tuple
        ``()`` for one problem.
    d : int
        The number of parameters.
    param_names, labels : tuple of str, ndarray or None
        The names of the parameters and the group labels of the result it came from
        (None when that has none), which :meth:`to_arviz` labels the draws with.

    Notes
    -----
    ``log_evidence``, ``mean`` and ``cov`` are consistent estimates whatever
    ``khat``, but with a variance that is finite only for ``khat < 0.5`` and a
    convergence that is practically useless above 0.7: read them when ``reliable``.
    When no draw of a problem has a positive target density (``log_post`` is ``-inf``
    at every draw), its ``khat`` is ``inf``, ``ess`` 0, ``log_evidence`` ``-inf`` and
    ``mean`` and ``cov`` NaN.

    Examples
    --------
    >>> import laplace_fast as lf
    >>> r = lf.laplace(lambda t: -0.5 * t[0] ** 2 - 0.1 * t[0] ** 4, [0.5])
    >>> imp = r.importance(lambda t: -0.5 * t[0] ** 2 - 0.1 * t[0] ** 4, n=2000, rng=0)
    >>> imp.reliable, imp.samples.shape, imp.log_weights.shape
    (True, (2000, 1), (2000,))
    >>> print(f"{r.log_evidence:.3f} {imp.log_evidence:.3f}")
    0.919 0.775
    """

    param_names = None
    labels = None

    def __init__(self, *, khat, ess, log_evidence, mean, cov, log_weights, samples):
        self.samples = samples
        self.log_weights = log_weights
        self.mean = mean
        self.cov = cov
        self.n = log_weights.shape[-1]
        self.threshold = khat_threshold(self.n)
        self.batch_shape = log_weights.shape[:-1]
        reliable = khat < self.threshold
        if self.batch_shape:
            self.khat, self.ess, self.log_evidence, self.reliable = (
                khat, ess, log_evidence, reliable)
        else:
            self.khat, self.ess, self.log_evidence = float(khat), float(ess), \
                float(log_evidence)
            self.reliable = bool(reliable)

    @property
    def d(self):
        """The number of parameters."""
        return self.samples.shape[-1]

    def summary(self):
        """A table of the importance-weighted marginals: mean, sd and the 95 %
        interval of every parameter.

        Returns
        -------
        pandas.DataFrame
            Columns ``mean`` and ``sd`` (of :attr:`mean` and :attr:`cov`), ``lower``
            and ``upper`` (the 2.5 % and 97.5 % quantiles of the draws weighted by
            their Pareto-smoothed weights).  Indexed by ``term`` for one problem, by
            (``group``, ``term``) for a batch, named as in
            :meth:`laplace_fast.LaplaceResult.summary`.

        Raises
        ------
        ImportError
            When pandas is not installed (``pip install laplace_fast[data]``).

        Notes
        -----
        The numbers correct the approximation's as far as ``reliable`` says; a
        problem without a draw of positive target density has NaN rows.

        Examples
        --------
        >>> import numpy as np, laplace_fast as lf
        >>> def log_post(t):
        ...     return -0.5 * t[0] ** 2 - 0.1 * t[0] ** 4
        >>> imp = lf.laplace(log_post, [0.5]).importance(log_post, n=4000, rng=0)
        >>> s = imp.summary()
        >>> s.index.tolist(), s.columns.tolist()
        (['x0'], ['mean', 'sd', 'lower', 'upper'])
        >>> bool(s.loc["x0", "lower"] < 0 < s.loc["x0", "upper"])
        True
        """
        return _tables.summary(self, _tables.importance_content)

    def to_dataframe(self):
        """The importance-weighted marginals as a tidy long frame, one row per
        (problem, term).

        Returns
        -------
        pandas.DataFrame
            Columns ``group`` (batches only), ``term``, ``mean``, ``sd``, ``lower``,
            ``upper`` (as :meth:`summary`), and the problem's ``khat``, ``reliable``,
            ``ess`` and ``log_evidence`` on each of its rows.

        Raises
        ------
        ImportError
            Without pandas, as :meth:`summary`.

        Examples
        --------
        >>> import numpy as np, laplace_fast as lf
        >>> X = np.column_stack([np.ones(8), np.linspace(-1.0, 1.0, 8)])
        >>> res = lf.glm_laplace(X, [0, 0, 1, 0, 1, 1, 0, 1],
        ...                      groups=["b", "a", "b", "a", "b", "a", "b", "a"],
        ...                      family="logistic")
        >>> df = res.importance(n=1000, rng=0).to_dataframe()
        >>> df.columns.tolist()
        ['group', 'term', 'mean', 'sd', 'lower', 'upper', 'khat', 'reliable', 'ess', \
'log_evidence']
        >>> df["group"].tolist(), df["term"].tolist()
        (['a', 'a', 'b', 'b'], ['x0', 'x1', 'x0', 'x1'])
        """
        return _tables.to_dataframe(self, _tables.importance_content)

    @_arviz.documented
    def to_arviz(self, n=1000, rng=None, *, chains=1):
        """The importance-resampled draws as ArviZ data: draws of the posterior itself.

        Parameters
        ----------
        {parameters}

        Returns
        -------
        arviz.InferenceData
            As :meth:`laplace_fast.LaplaceResult.to_arviz` returns it (``theta`` with
            dimensions ``chain``, ``draw``, the batch's and ``term``), the draws
            taken with replacement from ``samples``, each with probability its
            Pareto-smoothed weight (sampling-importance-resampling).

        Raises
        ------
        {raises}
        LaplaceError
            When a problem has no draw of positive target density.

        Notes
        -----
        The resampled draws follow the posterior as far as the weights correct the
        approximation: trust them when ``reliable``.  They repeat draws of
        ``samples`` (about ``ess`` distinct ones carry the weight), so ask for no more
        than ``self.n`` in all.

        Examples
        --------
        >>> import numpy as np, laplace_fast as lf
        >>> def log_post(t):
        ...     return -0.5 * t[0] ** 2 - 0.1 * t[0] ** 4
        >>> imp = lf.laplace(log_post, [0.5]).importance(log_post, n=4000, rng=0)
        >>> draws = imp.to_arviz(n=1000, rng=1).posterior["theta"]
        >>> dict(draws.sizes)
        {'chain': 1, 'draw': 1000, 'term': 1}
        >>> bool(np.isin(draws.values.ravel(), imp.samples.ravel()).all())
        True
        """
        return _arviz.importance(self, n, rng, chains)

    def __repr__(self):
        if self.batch_shape:
            n_ok = int(np.count_nonzero(self.reliable))
            return (f"ImportanceResult(batch_shape={self.batch_shape}, n={self.n}, "
                    f"{n_ok} of {math.prod(self.batch_shape)} reliable "
                    f"(khat < {self.threshold:.3f}))")
        return (f"ImportanceResult(khat={self.khat:.3f}, reliable={self.reliable}, "
                f"ess={self.ess:.1f}, log_evidence={self.log_evidence!r}, n={self.n})")


def _importance_from_draws(samples, log_q, log_p):
    """Pareto-smoothed importance sampling of draws from any proposal.

    Parameters
    ----------
    samples : ndarray, shape (..., n, d)
        Draws of the proposal, n per problem, the leading axes the batch.
    log_q : ndarray, shape (..., n)
        The proposal's normalised log density at the draws (finite).
    log_p : ndarray, shape (..., n)
        The target's unnormalised log density at the draws (finite or ``-inf``).

    Returns
    -------
    ImportanceResult
        With ``log_weights = log_p - log_q``; a single problem (no leading axes) has
        scalar fields.

    Raises
    ------
    ValueError
        Shapes that do not match, fewer than ``MIN_DRAWS`` (50) draws, a ``log_q``
        that is not finite, a ``log_p`` that is NaN or ``+inf``.

    Notes
    -----
    Each problem's numbers depend on its own draws only and are computed in the same
    order whatever the batch (every reduction runs along the draws of one problem), so
    a problem gives the same bits alone as inside a batch, when its draws are the same.

    Examples
    --------
    >>> import numpy as np
    >>> from laplace_fast._importance import _importance_from_draws
    >>> x = np.random.default_rng(0).standard_normal((4000, 1))
    >>> log_q = -0.5 * x[:, 0] ** 2 - 0.5 * np.log(2 * np.pi)
    >>> imp = _importance_from_draws(x, log_q, -0.5 * x[:, 0] ** 2)   # Z = sqrt(2 pi)
    >>> print(f"{imp.log_evidence:.12f} {0.5 * np.log(2 * np.pi):.12f} {imp.ess:.6f}")
    0.918938533205 0.918938533205 4000.000000
    """
    samples = np.asarray(samples, dtype=np.float64)
    log_q = np.asarray(log_q, dtype=np.float64)
    log_p = np.asarray(log_p, dtype=np.float64)
    if samples.ndim < 2 or log_q.shape != samples.shape[:-1] or log_p.shape != log_q.shape:
        raise ValueError(f"samples must have shape (..., n, d) and log_q, log_p shape "
                         f"(..., n); got {samples.shape}, {log_q.shape}, {log_p.shape}")
    if samples.shape[-2] < MIN_DRAWS:
        raise ValueError(f"n must be at least {MIN_DRAWS} draws per problem for the "
                         f"Pareto fit, got {samples.shape[-2]}")
    if not np.all(np.isfinite(log_q)):
        raise ValueError("log_q must be finite at every draw")
    bad = np.isnan(log_p) | (log_p == np.inf)
    if np.any(bad):
        raise ValueError(f"log_p is NaN or +inf at {int(np.count_nonzero(bad))} draws: "
                         "the log posterior must be finite, or -inf where it is zero")
    batch, (n, d) = samples.shape[:-2], samples.shape[-2:]
    theta = np.ascontiguousarray(samples.reshape(-1, n, d))
    lw = np.ascontiguousarray((log_p - log_q).reshape(-1, n))
    est = _estimates(len(lw), d)
    _importance_kernels.psis_moments(theta, lw, *est, n_threads())
    return _result(batch, theta, lw, est)


def _estimates(C, d):
    """The compiled estimates' outputs for C problems: khat, ess, log evidence, mean,
    cov."""
    return (np.empty(C), np.empty(C), np.empty(C), np.empty((C, d)), np.empty((C, d, d)))


def _result(batch, theta, lw, est):
    """The ImportanceResult of the flat (C, ...) arrays, batch shape in front."""
    n, d = theta.shape[1:]
    khat, ess, log_z, mean, cov = est
    return ImportanceResult(khat=khat.reshape(batch), ess=ess.reshape(batch),
                            log_evidence=log_z.reshape(batch),
                            mean=mean.reshape(batch + (d,)), cov=cov.reshape(batch + (d, d)),
                            log_weights=lw.reshape(batch + (n,)),
                            samples=theta.reshape(batch + (n, d)))


# --------------------------------------------------------------------------- the draws

def _root_seed(rng):
    """The SeedSequence every problem's stream is spawned from: ``rng`` itself (an int
    or a SeedSequence), fresh entropy (None), or 128 bits drawn from a Generator."""
    if rng is None:
        return np.random.SeedSequence()
    if isinstance(rng, np.random.SeedSequence):
        return rng
    if isinstance(rng, np.random.Generator):
        return np.random.SeedSequence([int(v) for v in rng.integers(0, 2**32, size=4,
                                                                     dtype=np.uint64)])
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool) and rng >= 0:
        return np.random.SeedSequence(int(rng))
    raise TypeError(f"rng must be None, a non-negative int, a numpy.random.SeedSequence, "
                    f"a numpy.random.Generator or a list of them (one per problem), got "
                    f"{rng!r}")


def _bit_generators(rng, problems):
    """Each problem's bit generator (PCG64): from a list, its own entry's (a Generator's
    own bit generator, else ``PCG64(entry)``, that of ``default_rng(entry)``); else the
    one of the child of the root seed keyed by its problem index,
    ``SeedSequence(root.entropy, spawn_key=root.spawn_key + (k,))``."""
    if isinstance(rng, (list, tuple)):
        if len(rng) != len(problems):
            raise ValueError(f"rng as a list must hold one entry per problem, "
                             f"{len(problems)}, got {len(rng)}")
        for entry in rng:
            if not (isinstance(entry, (np.random.Generator, np.random.SeedSequence))
                    or (isinstance(entry, numbers.Integral) and not isinstance(entry, bool)
                        and entry >= 0)):
                raise TypeError(f"each entry of rng must be a non-negative int, a "
                                f"SeedSequence or a Generator, got {entry!r}")
        return [e.bit_generator if isinstance(e, np.random.Generator)
                else np.random.PCG64(e) for e in rng]
    root = _root_seed(rng)
    return [np.random.PCG64(np.random.SeedSequence(root.entropy, spawn_key=root.spawn_key
                                                   + (int(k),))) for k in problems]


def _streams(rng, problems):
    """Each problem's generator, on its bit generator (:func:`_bit_generators`)."""
    return [np.random.Generator(g) for g in _bit_generators(rng, problems)]


def _draw_args(gens, result):
    """The compiled draws' arguments for result's Gaussians and the bit generators gens:
    (gens as a list, mode, L (the Cholesky factors of cov), log det cov, threads).  The
    draws of problem c are ``mode + L z``, z the (n, d) standard normals of
    ``Generator(gens[c]).standard_normal``; one thread when two problems share a
    generator (its normals then go to the problems in order)."""
    d = result.d
    mode = np.ascontiguousarray(np.reshape(result.mode, (-1, d)), dtype=np.float64)
    L = np.ascontiguousarray(np.linalg.cholesky(np.reshape(result.cov, (-1, d, d))))
    ldc = np.ascontiguousarray(np.reshape(result.log_det_cov, -1), dtype=np.float64)
    nt = n_threads() if len({id(g) for g in gens}) == len(gens) else 1
    return list(gens), mode, L, ldc, nt


def _check_n(n):
    if isinstance(n, bool) or not isinstance(n, numbers.Integral):
        raise TypeError(f"n must be an int (the draws per problem), got {n!r}")
    if n < MIN_DRAWS:
        raise ValueError(f"n must be at least {MIN_DRAWS} draws per problem (the Pareto "
                         f"fit needs a tail of {MIN_DRAWS // 5}), got {n}")
    return int(n)


def _values(v, want, vectorized):
    """One callback's return value as floats of shape ``want``; ValueError naming
    log_post otherwise."""
    v = np.asarray(v, dtype=np.float64)
    if v.shape != want:
        raise ValueError(f"log_post must return shape {want}, got {v.shape}"
                         + ("" if vectorized else " (with vectorized=True it takes "
                            "every draw at once)"))
    return v


def _callback_log_p(log_post, samples, args, vectorized, batch_shape):
    """log_post at every draw (*batch, n), called as ``importance`` documents."""
    if not callable(log_post):
        raise TypeError(f"log_post must be callable, got {type(log_post).__name__}; "
                        "results of laplace and laplace_batch need the log posterior "
                        "they were fitted to")
    if not isinstance(args, tuple):
        raise TypeError(f"args must be a tuple, got {type(args).__name__}")
    n = samples.shape[-2]
    if vectorized:
        x = np.moveaxis(samples, -2, 0) if batch_shape else samples
        out = _values(log_post(x, *args), (n,) + batch_shape, True)
        out = np.moveaxis(out, 0, -1) if batch_shape else out
    elif not batch_shape:
        out = np.array([_values(log_post(x, *args), (), False) for x in samples])
    else:
        out = np.stack([_values(log_post(samples[..., s, :], *args), batch_shape, False)
                        for s in range(n)], axis=-1)
    bad = np.isnan(out) | (out == np.inf)
    if np.any(bad):
        raise ValueError(f"log_post returned NaN or +inf at {int(np.count_nonzero(bad))} "
                         "draws: it must be finite, or -inf where the posterior is zero")
    return out


def importance(result, log_post=None, n=1000, *, args=(), vectorized=False, rng=None):
    """``result.importance(...)``, for every Gaussian result: see
    :meth:`laplace_fast.LaplaceResult.importance`."""
    n = _check_n(n)
    if not isinstance(vectorized, bool):
        raise TypeError(f"vectorized must be True or False, got {vectorized!r}")
    data = getattr(result, "data", None)
    if log_post is None and data is None:
        raise TypeError("log_post is required: pass the log posterior the result was "
                        "fitted to (GLM results evaluate their own)")
    if log_post is None and args != ():
        raise TypeError("args are log_post's extra arguments: without log_post the GLM "
                        "result evaluates its own log joint, which takes none")
    batch = result.batch_shape
    d = result.d
    problems = np.ascontiguousarray(np.reshape(result.problem_index, -1), dtype=np.int64)
    gens = _bit_generators(rng, problems)
    result._require("importance")
    gens, mode, L, ldc, nt = _draw_args(gens, result)
    C = len(problems)
    theta = np.empty((C, n, d))
    if log_post is None:
        lw = np.empty((C, n))
        est = _estimates(C, d)
        bad = _importance_kernels.glm_importance(*_glm_arrays(data, result.prior), problems,
                                                 gens, mode, L, ldc, theta, lw, *est, nt)
        if bad:
            raise ValueError(f"the log joint is NaN or +inf at {bad} draws")
        return _result(batch, theta, lw, est)
    log_q = np.empty((C, n))
    _importance_kernels.draws(gens, mode, L, ldc, theta, log_q, nt)
    samples = theta.reshape(batch + (n, d))
    log_p = _callback_log_p(log_post, samples, args, vectorized, batch)
    return _importance_from_draws(samples, log_q.reshape(batch + (n,)), log_p)


# --------------------------------------------------------------------------- GLMs

class GLMPrior:
    """The Gaussian prior of a :func:`laplace_fast.glm_laplace` call, as the kernel got
    it: the distinct precisions ``P`` (k, d, d) and means ``M`` (l, d), per problem
    (flat) the one it uses (``pidx``, ``midx``), and ``pconst``, the log normalising
    constants of the distinct precisions when some is flat in a direction (None when
    every one is proper: the constant is then ``1/2 log det P - d/2 log 2 pi``)."""

    __slots__ = ("P", "pidx", "M", "midx", "pconst")

    def __init__(self, P, pidx, M, midx, pconst):
        self.P, self.pidx, self.M, self.midx, self.pconst = P, pidx, M, midx, pconst

    def of(self, problems):
        """The precision (C, d, d), mean (C, d) and log normalising constant (C,) of
        each problem of ``problems`` (flat indices)."""
        d = self.P.shape[-1]
        if self.pconst is None:
            const = 0.5 * np.linalg.slogdet(self.P)[1] - 0.5 * d * _LOG_2PI
        else:
            const = self.pconst
        pi = self.pidx[problems]
        return self.P[pi], self.M[self.midx[problems]], const[pi]


def _glm_log_joint(data, prior, draws, problems=None):
    """The log joint (log prior + log likelihood, every normalising constant kept, as
    the kernel's ``logp``) of GLM problems at draws of their coefficients.

    Parameters
    ----------
    data : GLMData
        The prepared data of the fit (:func:`laplace_fast._glm.prepare_glm`).
    prior : GLMPrior
        Its prior.
    draws : ndarray, shape (C, n, d)
        n points of each problem of ``problems``.
    problems : ndarray of int, shape (C,), optional
        Flat indices of the problems (every problem of ``data`` when omitted).

    Returns
    -------
    ndarray, shape (C, n)
        ``-inf`` where a term overflows (a Poisson rate past e^709).

    Notes
    -----
    Compiled (``_importance_kernels.log_joint``, ``src/glm/glm_draws.h``): every problem in
    parallel, each draw's value the solver's log post at that point, its sums in an
    order fixed by the problem's rows and d.  So a problem's values do not depend on
    the thread count or on the other problems, and at the mode they equal ``logp`` to
    rounding.

    Examples
    --------
    >>> import numpy as np, laplace_fast as lf
    >>> from laplace_fast._importance import _glm_log_joint
    >>> X = np.column_stack([np.ones(5), [-1.0, -0.5, 0.0, 0.5, 1.0]])
    >>> r = lf.glm_laplace(X, [0, 1, 0, 1, 1], family="logistic")
    >>> v = _glm_log_joint(r.data, r.prior, r.mode[None, None, :])
    >>> bool(abs(v[0, 0] - r.logp) < 1e-12)
    True
    """
    draws = np.ascontiguousarray(draws, dtype=np.float64)
    problems = np.ascontiguousarray(np.arange(data.n_problems) if problems is None
                                    else problems, dtype=np.int64)
    out = np.empty(draws.shape[:2])
    _importance_kernels.log_joint(*_glm_arrays(data, prior), problems, draws, out,
                                  n_threads())
    return out


def _glm_arrays(data, prior):
    """The compiled kernels' arguments for the data and prior of a GLM fit: family code,
    X, y, offset, weights, trials, starts, P, pidx, M, midx, the priors' constants, the
    parameters."""
    d = data.X.shape[1]
    const = (0.5 * np.linalg.slogdet(prior.P)[1] - 0.5 * d * _LOG_2PI
             if prior.pconst is None else prior.pconst)
    empty = np.empty(0)
    opt = (lambda a: empty if a is None else a)
    return (data.family.code, data.X, data.y, opt(data.offset), opt(data.weights),
            opt(data.trials), data.starts, prior.P, prior.pidx, prior.M, prior.midx,
            np.ascontiguousarray(const, dtype=np.float64),
            np.ascontiguousarray(data.param, dtype=np.float64).reshape(-1))
