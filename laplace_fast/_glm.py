"""Bayesian generalised linear models, one or tens of thousands at once:
:func:`glm_laplace` and its result types.

The compiled kernel (``_glm_kernels``) fits every problem by damped Newton with analytic
derivatives.  A call is two halves: :func:`prepare_glm` (``_glm_prepare``) validates and
lays out the data once, and :func:`fit_glm` fits that data under a prior (the prior's
checks, the memory estimate, the kernel call, the results), so that the same data can be
fitted under many priors.
"""

import math
import numbers
import os

import numpy as np

from . import _glm_kernels
from ._families import FAMILIES, lookup
from ._glm_prepare import GLMData, prepare_glm, where_text
from ._glm_results import (_IMPROPER_NOTE, MODEL_PARAMETERS, BatchGLMLaplaceResult,
                           GLMLaplaceResult)
from ._importance import GLMPrior
from ._objective import check_options, memory_limit, real_array, reject_dask
from ._status import STATUS_MESSAGES, Status, warn_statuses

__all__ = ["glm_laplace", "prepare_glm", "fit_glm", "GLMData", "GLMLaplaceResult",
           "BatchGLMLaplaceResult", "FAMILIES"]

# --------------------------------------------------------------------------- input

def _prior_index(prior_batch, batch_shape, name):
    """For each problem (flattened batch), the index of the prior it uses among the
    prior_batch distinct ones, by broadcasting; ValueError naming ``name`` otherwise."""
    if prior_batch == ():     # one prior for every problem (the common case)
        return np.zeros(math.prod(batch_shape), dtype=np.int64)
    try:
        if np.broadcast_shapes(prior_batch, batch_shape) != tuple(batch_shape):
            raise ValueError
    except ValueError:
        raise ValueError(f"{name} batch dimensions {prior_batch} do not broadcast "
                         f"against the batch shape {tuple(batch_shape)}") from None
    n = math.prod(prior_batch)
    return np.ascontiguousarray(np.broadcast_to(
        np.arange(n, dtype=np.int64).reshape(prior_batch), batch_shape).reshape(-1))


def _prior(prior_precision, prior_mean, d, batch_shape, labels, single):
    """Distinct prior matrices/means and, per problem, which one it uses."""
    B = math.prod(batch_shape)
    if (isinstance(prior_precision, float) and isinstance(prior_mean, float)
            and math.isfinite(prior_precision) and prior_precision > 0
            and math.isfinite(prior_mean)):
        # a scalar precision and mean, such as the defaults: the arrays below, in three
        # numpy calls (each is costly on the caches that a large batch leaves)
        zeros = np.zeros(B, dtype=np.int64)
        return (np.eye(d).reshape(1, d, d) * prior_precision, zeros,
                np.full((1, d), prior_mean), zeros, None, None)
    P = real_array(prior_precision, "prior_precision")
    if P.ndim and P.shape == tuple(batch_shape) and P.shape[-1] not in (d, 1):
        P = P[..., None]    # one scalar per problem: unambiguous, the last axis is not d
    if P.ndim == 0:
        kind, pbatch = "scalar", ()
    elif P.ndim >= 2 and P.shape[-2:] == (d, d):
        kind, pbatch = "matrix", P.shape[:-2]
    elif P.shape[-1] in (d, 1):
        kind, pbatch = "diagonal", P.shape[:-1]
    else:
        raise ValueError(f"prior_precision must be a scalar, (d,) = ({d},) or (d, d) = "
                         f"({d}, {d}), with optional leading batch dimensions, or one "
                         f"scalar per problem of shape {tuple(batch_shape) + (1,)}; got "
                         f"shape {P.shape}")
    pidx = _prior_index(pbatch, batch_shape, "prior_precision")

    def first_problem(ok):
        """where the first problem is whose prior fails ok (per element of a row)"""
        bad_prior = ~np.all(ok, axis=1)
        hit = np.flatnonzero(bad_prior[pidx]) if B else []
        return where_text(None if single or len(hit) == 0 else int(hit[0]), batch_shape, labels)

    npri = math.prod(pbatch)
    rows = P.reshape(npri, P.size // npri if npri else 0)     # one row per distinct prior
    # each check over the whole array first; per prior only to name a failure
    ok = np.isfinite(rows)
    if not ok.all():
        raise ValueError("prior_precision contains NaN or inf" + first_problem(ok))
    if kind == "matrix":
        Pu = np.ascontiguousarray(P.reshape(-1, d, d), dtype=np.float64)
        ev = np.zeros((Pu.shape[0], d))
        if d:
            scale = np.max(np.abs(Pu), axis=(1, 2))
            ok = np.max(np.abs(Pu - np.swapaxes(Pu, 1, 2)), axis=(1, 2)) <= 1e-12 * scale
            if not ok.all():
                raise ValueError("prior_precision must be symmetric" + first_problem(ok[:, None]))
            Pu = 0.5 * (Pu + np.swapaxes(Pu, 1, 2))    # exactly symmetric: the kernel relies on it
            ev = np.linalg.eigvalsh(Pu)
        # eigenvalues within rounding of zero are flat directions (a difference penalty's
        # null space computes to ~1e-16 of its largest eigenvalue, of either sign)
        floor = 8 * d * np.finfo(float).eps * np.max(np.abs(ev), axis=1, initial=0.0)
        ok = ev >= -floor[:, None]
        proper = ev > floor[:, None]
    else:   # scalar or diagonal: a diagonal matrix, symmetric as built
        ev = rows if rows.shape[1] == d else np.repeat(rows, d, axis=1)
        proper, ok = ev > 0, ev >= 0
        Pu = np.ascontiguousarray(rows[:, :, None] * np.eye(d))
    if d and not ok.all():
        raise ValueError("prior_precision must be positive semi-definite (zero for a flat "
                         "prior, positive otherwise)" + first_problem(ok))
    pconst = None
    if d and not proper.all():
        # flat in some directions: the improper prior's density is 1 along them, and its
        # normalising constant is that of the Gaussian on the others (pseudo-determinant)
        pconst = np.ascontiguousarray(
            0.5 * np.sum(np.log(np.where(proper, ev, 1.0)), axis=1)
            - 0.5 * np.sum(proper, axis=1) * math.log(2 * math.pi))
    M = real_array(prior_mean, "prior_mean")
    if M.ndim == 0:
        mbatch = ()
        Mu = np.full((1, d), float(M))
    elif M.shape[-1] in (d, 1):
        mbatch = M.shape[:-1]
        Mu = np.broadcast_to(M, mbatch + (d,)).reshape(-1, d)
    else:
        raise ValueError(f"prior_mean must be a scalar or have last dimension d = {d}, "
                         f"got shape {M.shape}")
    midx = _prior_index(mbatch, batch_shape, "prior_mean")
    Mu = np.ascontiguousarray(Mu, dtype=np.float64)
    if not np.isfinite(Mu).all():
        hit = np.flatnonzero(~np.all(np.isfinite(Mu), axis=1)[midx]) if B else []
        idx = None if single or len(hit) == 0 else int(hit[0])
        raise ValueError("prior_mean contains NaN or inf" + where_text(idx, batch_shape, labels))
    return Pu, pidx, Mu, midx, pconst, (None if pconst is None else ~proper.all(axis=1))


def _n_threads(n_threads):
    if n_threads is None:
        try:
            return max(1, len(os.sched_getaffinity(0)))
        except AttributeError:  # pragma: no cover - not Linux
            return max(1, os.cpu_count() or 1)
    if isinstance(n_threads, bool) or not isinstance(n_threads, numbers.Integral):
        raise TypeError(f"n_threads must be a positive integer or None, got {n_threads!r}")
    if n_threads < 1:
        raise ValueError(f"n_threads must be a positive integer or None, got {n_threads}")
    # more threads than cores only adds scratch (counted per thread in the memory
    # estimate) and never speed; the results are bit for bit independent of the count
    return int(min(n_threads, max(1, os.cpu_count() or 1)))


# the compiled data check's bits (lf_status.h's LF_CHECK_*), by name, and what each says
_CHECK_MESSAGES = tuple((_glm_kernels.CHECK_BITS[key], name, text) for key, name, text in (
    ("X_NONFINITE", "X", "contains NaN or inf"), ("Y_NONFINITE", "y", "contains NaN or inf"),
    ("Y_SUPPORT", "y", None), ("OFFSET_NONFINITE", "offset", "contains NaN or inf"),
    ("WEIGHTS_INVALID", "weights", "must be finite and non-negative"),
    ("TRIALS_INVALID", "trials", "must be non-negative integers")))


# --------------------------------------------------------------------------- the function

def glm_laplace(X, y=None, *, family="logistic", prior_precision=1.0, prior_mean=0.0,
                offset=None, weights=None, trials=None, scale=None, dispersion=None,
                groups=None, tol=1e-10, maxiter=100, n_threads=None, data=None):
    r"""Laplace approximation of Bayesian GLM posteriors, one or a batch at once.

    The posterior of ``theta`` under ``y_i ~ family(eta_i)``, ``eta = X theta + offset``,
    and the prior ``theta ~ N(prior_mean, prior_precision^-1)`` is replaced by the
    Gaussian ``N(mode, cov)`` at its mode (damped Newton with analytic derivatives,
    compiled, in parallel over problems).

    Parameters
    ----------
    X : array_like, shape (n, d), (..., n, d), or (N, d) with ``groups``; or str
        Design matrix (include a column of ones for an intercept).  With leading batch
        dimensions, one problem per batch index.  Dense only: a scipy sparse matrix
        raises TypeError (pass ``X.toarray()``).  A pandas DataFrame's column names are
        the result's ``param_names``.  A string is a formula over the columns of
        ``data`` (formulaic's Wilkinson notation, the ``formula`` extra), e.g.
        ``"y ~ x1 + x2"``: see Notes.
    y : array_like, shape X.shape[:-1]
        Responses: 0/1 (``logistic``, ``probit``), non-negative integer counts
        (``poisson``, ``negative_binomial``), success counts in ``[0, trials]``
        (``binomial``), real numbers (``gaussian``).  A column ``X.shape[:-1] + (1,)``
        (what patsy or a one-column DataFrame gives) reads as ``X.shape[:-1]``.  Not
        given with a formula (which names the response); there the second positional
        argument may be ``data``.
    family : {"logistic", "probit", "poisson", "binomial", "negative_binomial", "gaussian"}
        Likelihood and link: logit, probit, log (poisson, negative binomial), logit
        (binomial), identity (gaussian).  Matched case-insensitively, with the aliases
        ``"logit"`` and ``"bernoulli"`` (logistic), ``"normal"`` (gaussian), ``"negbin"``,
        ``"negative-binomial"``, ``"nb"`` and ``"nb2"`` (negative_binomial); the
        result's ``family`` is the canonical name.
    prior_precision : float, array_like or "evidence"
        Prior precision: a scalar (``alpha I``), a ``(d,)`` diagonal or a ``(d, d)``
        symmetric positive semi-definite matrix, each with optional leading batch
        dimensions that broadcast against the batch (``(d, d)`` always reads as a
        matrix).  One scalar per problem is the batch shape plus ``(1,)``, or just the
        batch shape when its last dimension is not ``d`` (else that reads as a
        diagonal).  A zero (a zero eigenvalue, or one within rounding of zero: below
        ``8 d eps`` times the largest) is a flat, improper prior in that direction,
        e.g. ``[0, 1, 1]`` leaves an intercept unpenalised as scikit-learn's
        ``LogisticRegression`` does; see Notes for what ``log_evidence`` then means.
        ``"evidence"``: per problem, the scalar ``alpha`` (prior ``N(prior_mean,
        I / alpha)``) that maximises its Laplace evidence (see Notes); the chosen values
        are the result's ``prior_precision``.
    prior_mean : float or array_like
        Prior mean: a scalar or ``(d,)``, with optional leading batch dimensions.
    offset : array_like, optional
        Added to the linear predictor, shape of ``y`` (or broadcasting to it; a column
        ``y.shape + (1,)`` reads as ``y.shape``, as do ``weights`` and ``trials``).
    weights : array_like, optional
        Non-negative observation weights multiplying each log-likelihood term
        (frequency weights: weight 2 is the row seen twice).  A problem whose weights
        are all zero has the prior as its exact posterior.
    trials : array_like, optional
        Number of trials per row, ``binomial`` only (required there).
    scale : float, array_like or "evidence", optional
        Known noise standard deviation, ``gaussian`` only (required there); may vary per
        problem (broadcast against the batch shape).  ``"evidence"``: per problem, the
        one that maximises the evidence (the result's ``scale``).
    dispersion : float, array_like or "evidence", optional
        Known negative binomial dispersion ``alpha`` (``Var y = mu + alpha mu^2``, as
        statsmodels), ``negative_binomial`` only (required there).  ``"evidence"``: per
        problem, the one that maximises the evidence (the result's ``dispersion``).
    groups : array_like, shape (N,), optional
        Problem labels (integers or strings, any order): one problem per distinct label,
        in sorted label order; ``X`` must then be ``(N, d)``.  A missing label (NaN,
        NaT, None, pandas' NA) raises ValueError.
    tol : float
        Convergence when every Newton step component satisfies
        ``|step_j| <= tol (1 + |theta_j|)``.
    maxiter : int
        Maximum Newton iterations per problem.
    n_threads : int or None
        Threads (None = all cores available).  A batch runs one problem per thread; a
        batch of fewer problems than threads runs them one at a time, each on all the
        threads when it has at least 250,000 rows x d (its blocks of rows), else on one.
        Results do not depend on it.  A count above the machine's cores
        (``os.cpu_count()``) runs on that many.
    data : DataFrame, optional
        With a formula: the pandas DataFrame (or a polars or pyarrow table, read
        through narwhals) whose columns the formula names.  ``groups``, ``offset``,
        ``weights`` and ``trials`` may then be column names.

    Returns
    -------
    GLMLaplaceResult or BatchGLMLaplaceResult
        One result for ``X`` of shape (n, d); otherwise a batch result with batch shape
        ``X.shape[:-2]``, or ``(number of groups,)`` with ``labels``.  ``logp`` is the
        log joint at the mode with every normalising constant, so ``log_evidence`` is the
        Laplace estimate of the log marginal likelihood (exact for ``gaussian``).

    Raises
    ------
    ValueError
        Shapes that do not match; NaN or inf in X, y, offset, weights, trials or the
        prior; ``y`` outside the family's support; a prior precision that is not
        symmetric positive semi-definite; an unknown family; ``tol <= 0``, ``maxiter`` not
        between 1 and 2,147,483,647, ``n_threads < 1``; a missing or misplaced
        ``trials``/``scale``/``dispersion``; a string other than ``"evidence"`` for
        ``prior_precision``, ``scale`` or ``dispersion``, or ``"evidence"`` for a
        parameter the family does not have.  In a batch the message names the first
        offending problem.
        With a formula: a formula that does not parse, a column that ``data`` lacks
        or that has missing values (named: drop or fill those rows first), a response
        that is not one numeric column, a random-effect term ``(... | g)``.
    TypeError
        Complex, string or object input; a scipy sparse ``X``; a ``tol`` that is not a
        real number (``True``); a non-integer ``maxiter`` or ``n_threads``; arrays
        without ``y``, or a formula without a DataFrame ``data``.
    ImportError
        A formula without formulaic installed (``pip install laplace-fast[formula]``).
    MemoryError
        The batch's outputs would not fit in memory (raised before any work, with the
        bytes needed).

    Warns
    -----
    LaplaceWarning
        Once per call when any problem has a non-zero status: 1 (precision ill-
        conditioned), 3 (separation-like data or an extreme linear predictor, and a
        posterior skewness bound above 2: see Notes), -1 (iteration limit), -3 (log
        joint not finite at the start: at the data's start and then at the prior mean, e.g. ``exp`` overflow from an offset
        of 1e308), -4/-7 (non-finite gradient/Hessian), -6 (Hessian singular relative to
        its scale, e.g. a prior precision of 1e-20 in a direction the data do not
        inform; with a flat prior, an improper posterior: see Notes), -8 (diverged: the iterates run off to infinity, e.g. separation under
        a near-flat prior).  -2 (line search made no progress) is a safeguard only:
        every family here is log-concave, so a Newton step always has an acceptable
        length.  With a failure status ``mode`` is the last iterate, ``hessian`` the
        Hessian there, and ``cov`` is given only when that Hessian is negative definite
        (all NaN otherwise).

    Notes
    -----
    Per problem, ``log p(theta | y) = sum_i w_i log p(y_i | eta_i) + log N(theta; m, P^-1)``
    is maximised by Newton's method with Armijo step halving; the Hessian
    ``-(X^T diag(w h) X + P)`` is analytic.  Newton starts from one iteratively
    reweighted least squares step from means made of the data (``y + 0.1`` for the log
    link, ``(y + 1/2) / 2`` for logistic and probit, ``t (y + 1/2) / (t + 1)`` for the
    binomial, ``y`` for the gaussian: the usual GLM starting values), which saves a
    quarter to a third of the iterations and nearly all step halvings on heavy counts; it
    starts from ``prior_mean`` when no observation has weight or the log joint is not
    finite at that start.  ``niter`` counts the Newton iterations after the start.
    The likelihood terms are computed in numerically stable forms: softplus as
    ``max(eta, 0) + log1p(exp(-|eta|))``; for probit, ``log Phi``, the inverse Mills
    ratio ``lambda`` and ``lambda + z`` (which cancels in the lower tail) from one
    polynomial for Mills' ratio, to ~1e-15 relative everywhere.
    Status 3 (EXTREME_PREDICTOR): a converged fit that is separation-like (every
    weighted row classified with a margin; for counts every weighted count 0) or has an
    extreme linear predictor (binary/binomial ``|eta| > 36``, counts ``eta < -36``), and
    whose skewness bound ``kappa = sum_i w_i |l_i'''(eta_i)| s_i^3`` (``s_i^2 =
    x_i' cov x_i``; it bounds the log likelihood's third derivative along any direction
    of one posterior standard deviation) exceeds 2.  Calibrated against importance
    sampling from the Gaussian (``bench/calibrate_extreme.py``: 162 cases of 5 to 100
    rows, all-zero, rare and separated outcomes, logistic, probit, poisson and binomial,
    prior precisions 0.01 to 10): Pareto k-hat of the weights 0.56 to 0.92 where
    kappa > 2, at most 0.67 where kappa <= 2.
    Flat directions (zero prior precision): the posterior is proper when the data
    identify those directions, and the mode is then the penalised maximum likelihood
    estimate with no penalty there (``prior_precision=0`` gives the maximum likelihood
    fit).  The prior has no normalising constant, so ``log_evidence`` is computed with
    the prior's density equal to one along the flat directions (per unit of those
    coordinates) and the usual Gaussian normalisation on the others (the
    pseudo-determinant of ``prior_precision``): it is finite and compares models with
    the same flat coordinates in the same units (e.g. to choose the other precisions),
    not models that differ in them.  ``improper_prior`` on the result says which
    problems have such a prior.  Where the data do not identify a flat direction (a
    column of ``X`` that is zero, or collinear with others, along it; a group with too
    few rows; separation along it) the posterior is improper: that problem's status
    is -6 (SINGULAR, or -8) with no covariance, and its message says why.
    The covariance is the inverse of the observed information at the mode (the Laplace
    approximation), not the expected information; they coincide for the canonical links
    (logistic, poisson, binomial, gaussian) and differ for probit and the negative
    binomial, where statsmodels' default ``GLM.cov_params()`` (expected information)
    differs from ours by about 2 % and 1 % on typical fits.
    ``"evidence"`` (type-II maximum likelihood, MacKay's evidence framework): per
    problem, the hyperparameters given as ``"evidence"`` maximise its Laplace evidence
    ``log_evidence`` (``alpha`` with ``prior_mean`` as given; any of the three together).
    For the gaussian with ``prior_precision`` and ``scale`` this is scikit-learn's
    ``BayesianRidge(fit_intercept=False)`` with flat hyperpriors; for logistic, the
    Gaussian process classifier with the kernel ``X X' / alpha``.  Every running problem
    is fitted in one call of the kernel per outer iteration, warm-started from its last
    mode, and the log hyperparameters then move on the exact derivative of the evidence
    (with the change of the likelihood's curvature as the mode moves): for the gaussian
    with an ``"evidence"`` precision the search starts at the closed-form maximum; the
    precision alone first steps to the evidence maximum of the likelihood's quadratic
    expansion at the first mode; then secant (Broyden's) steps, inside the bracket of
    the derivative's signs, a step that lowers the evidence halved back, until the next
    step is below 1e-8 in each log hyperparameter; at most 100 outer iterations (then
    status -1).  ``niter``
    and ``nfev`` count the Newton iterations of all the fits.  Where the evidence still
    increases at a bound of the search (``alpha`` 1e6 times the data's curvature or
    1e-10 of it; a scale or dispersion 1e10 times or 1e-10 of its reference; e.g. data
    that the prior mean fits, separable data, counts that are not overdispersed), the
    maximiser is infinite or zero: the fit at that bound is returned with status 5
    (BOUNDARY) and ``evidence_at_bound`` true, and its message says so.
    Each problem runs on one thread with its own scratch memory, so a problem's result
    is bit for bit the same alone, inside any batch, and for any ``n_threads``.  (CPUs
    with FMA fuse the hot loops' multiply-adds, so their last bits differ from those of
    an x86-64 without it.)
    A formula (``X`` a string, ``data`` a DataFrame) is turned into the arrays by
    formulaic and those are fitted, so it gives the numbers of the same arrays built by
    hand, bit for bit: an intercept column ``Intercept`` unless ``- 1`` or ``0 +``
    removes it; a string, boolean or categorical column in treatment coding against
    its first level (``c[T.b]``), every level without an intercept; interactions
    (``x1:x2``, ``x1 * x2``), ``I(...)``, ``C(...)`` and numpy (``np.log(x)``) as
    formulaic reads them.  ``param_names`` are the design's column names.  The response
    is one numeric column, or for ``binomial`` ``cbind(successes, failures)`` (then
    ``trials`` is their sum).  Rows with a missing value in a column that the formula
    or a column keyword uses raise ValueError naming the columns (no row is dropped
    silently).

    Examples
    --------
    >>> import numpy as np, laplace_fast as lf
    >>> rng = np.random.default_rng(0)
    >>> X = np.column_stack([np.ones(100), rng.standard_normal(100)])
    >>> y = (rng.random(100) < 1 / (1 + np.exp(-(0.5 + X[:, 1])))).astype(float)
    >>> res = lf.glm_laplace(X, y, family="logistic", prior_precision=1.0)
    >>> res.mode.shape, res.cov.shape, res.status.name
    ((2,), (2, 2), 'OK')

    A batch of 1,000 problems of 50 rows each, stacked:

    >>> Xb = np.concatenate([np.ones((1000, 50, 1)), rng.standard_normal((1000, 50, 2))], -1)
    >>> yb = rng.poisson(np.exp(Xb @ [0.3, 0.2, -0.1]))
    >>> batch = lf.glm_laplace(Xb, yb, family="poisson")
    >>> batch.mode.shape, batch.log_evidence.shape, bool(batch.converged.all())
    ((1000, 3), (1000,), True)

    Grouped (ragged) rows, one problem per label:

    >>> g = np.array(["b", "a", "b", "a", "a", "b"])
    >>> Xg = np.column_stack([np.ones(6), [0.1, -0.2, 0.3, 0.4, -0.5, 0.6]])
    >>> res = lf.glm_laplace(Xg, [1.0, 0.5, 2.0, 1.5, 0.0, 2.5], family="gaussian",
    ...                      scale=1.0, groups=g)
    >>> res.labels.tolist(), res.mode.shape
    (['a', 'b'], (2, 2))

    A column ``y`` and a family alias, as a formula library hands them over:

    >>> res = lf.glm_laplace(X, y[:, None], family="Logit")
    >>> res.family, res.mode.shape
    ('logistic', (2,))

    A flat prior on the intercept, with ``prior_precision=0`` the maximum likelihood
    fit:

    >>> res = lf.glm_laplace(X, y, family="logistic", prior_precision=[0.0, 1.0])
    >>> res.improper_prior, res.status.name
    (True, 'OK')
    >>> mle = lf.glm_laplace(X, y, family="logistic", prior_precision=0.0)
    >>> np.round(mle.mode, 3).tolist()
    [0.562, 1.386]

    The prior precision and the noise scale that maximise the evidence, per problem
    (scikit-learn's ``BayesianRidge`` for one):

    >>> Xr = rng.standard_normal((3, 40, 2))
    >>> yr = Xr @ [1.0, -0.5] + 0.3 * rng.standard_normal((3, 40))
    >>> ev = lf.glm_laplace(Xr, yr, family="gaussian", prior_precision="evidence",
    ...                     scale="evidence")
    >>> ev.prior_precision.shape, bool(np.all(np.abs(ev.scale - 0.3) < 0.1))
    ((3,), True)

    A formula over a DataFrame's columns, one problem per user (the numbers of the
    arrays above, with the formula's names):

    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": y, "x1": X[:, 1], "user": np.tile(["u1", "u2"], 50)})
    >>> res = lf.glm_laplace("y ~ x1", data=df, family="logistic", groups="user")
    >>> res.labels.tolist(), res.param_names
    (['u1', 'u2'], ('Intercept', 'x1'))
    >>> one = lf.glm_laplace("y ~ x1", data=df, family="logistic")
    >>> bool(np.array_equal(one.mode, lf.glm_laplace(X, y, family="logistic").mode))
    True
    >>> one.summary().index.tolist()
    ['Intercept', 'x1']
    """
    if isinstance(X, str):      # a formula: its arrays, fitted below as arrays
        from ._formula import glm_formula
        reject_dask(y if data is None else data, "data")
        return glm_formula(X, data, y=y, family=family, prior_precision=prior_precision,
                           prior_mean=prior_mean, offset=offset, weights=weights,
                           trials=trials, scale=scale, dispersion=dispersion,
                           groups=groups, tol=tol, maxiter=maxiter, n_threads=n_threads)
    if y is None or data is not None:
        raise TypeError("glm_laplace takes (X, y) arrays, or a formula string and "
                        "data=DataFrame")
    fam = lookup(family)
    check_options(d=0, tol=tol, maxiter=maxiter)
    nthreads = _n_threads(n_threads)
    from . import _glm_evidence     # (it imports this module)
    wanted, scale, dispersion = _glm_evidence.evidence_options(fam, prior_precision, scale,
                                                               dispersion)
    data = prepare_glm(X, y, family=fam, offset=offset, weights=weights, trials=trials,
                       scale=scale, dispersion=dispersion, groups=groups)
    if wanted:
        return _glm_evidence.fit_evidence(data, wanted, prior_precision, prior_mean, tol,
                                          maxiter, nthreads)
    return _fit(data, prior_precision, prior_mean, tol, maxiter, nthreads)


def fit_glm(data, *, prior_precision=1.0, prior_mean=0.0, start=None, tol=1e-10,
            maxiter=100, n_threads=None):
    """Fit data laid out by :func:`prepare_glm` under a prior: the second half of
    :func:`glm_laplace`.

    Parameters
    ----------
    data : GLMData
        From :func:`prepare_glm`; it is not modified, so it can be fitted again.
    prior_precision, prior_mean, tol, maxiter, n_threads
        As for :func:`glm_laplace`.
    start : array_like, shape (d,) or batch_shape + (d,), optional
        Each problem's first iterate (a warm start, such as the modes of an earlier fit
        under a nearby prior), broadcast over the problems.  By default each problem
        starts from one iteratively reweighted least-squares step from its data.  A
        start where the log posterior or its derivatives are not finite is replaced by
        the prior mean.  The mode reached is the same to within ``tol``; its last bits
        may differ from a fit from the default start.

    Returns
    -------
    GLMLaplaceResult or BatchGLMLaplaceResult
        What :func:`glm_laplace` returns for the same arguments, bit for bit.

    Raises
    ------
    ValueError, TypeError
        A prior, a start or an option as :func:`glm_laplace` rejects it (a start must
        be finite and broadcast to the problems' coefficients); a value of the data
        that is NaN or outside the family's support (checked by the kernel, at every
        fit), naming the first offending problem.
    MemoryError
        The outputs would not fit in memory (before any work).

    Warns
    -----
    LaplaceWarning
        As :func:`glm_laplace`.

    Examples
    --------
    >>> import numpy as np
    >>> import laplace_fast as lf
    >>> X = np.column_stack([np.ones(4), [-1.0, 0.0, 1.0, 2.0]])
    >>> data = lf.prepare_glm(X, [0.5, 1.0, 1.2, 2.1], family="gaussian", scale=0.5)
    >>> [np.round(lf.fit_glm(data, prior_precision=a).mode, 3).tolist()
    ...  for a in (1e-6, 10.0)]
    [[0.95, 0.5], [0.605, 0.434]]

    A warm start from the first fit's mode reaches the second fit's mode:

    >>> first = lf.fit_glm(data, prior_precision=1e-6)
    >>> warm = lf.fit_glm(data, prior_precision=10.0, start=first.mode)
    >>> np.round(warm.mode, 3).tolist()
    [0.605, 0.434]
    """
    check_options(d=0, tol=tol, maxiter=maxiter)
    return _fit(data, prior_precision, prior_mean, tol, maxiter, _n_threads(n_threads),
                start)


def _start(start, d, batch_shape):
    """``start`` as the kernel's (B, d) array of first iterates ((0, d) for none)."""
    if start is None:
        return np.empty((0, d))
    s = real_array(start, "start")
    shape = tuple(batch_shape) + (d,)
    try:
        s = np.broadcast_to(s, shape)
    except ValueError:
        raise ValueError(f"start has shape {s.shape}; it must broadcast to the problems' "
                         f"coefficients, shape {shape}") from None
    if not np.all(np.isfinite(s)):
        raise ValueError("start must be finite (NaN or inf found)")
    return np.ascontiguousarray(s.reshape(-1, d), dtype=np.float64)


def _fit(data, prior_precision, prior_mean, tol, maxiter, nthreads, start=None):
    """fit_glm with its options checked (``nthreads`` a count)."""
    fam, d, B, batch_shape, single = (data.family, data.d, data.n_problems,
                                      data.batch_shape, data.single)
    labels = data.labels
    # the prior before the kernel's pass over the data, whose cold caches make its small
    # numpy operations slow
    P, pidx, M, midx, pconst, flat = _prior(prior_precision, prior_mean, d, batch_shape,
                                            labels, single)
    W0 = _start(start, d, batch_shape)
    out, nonzero = _run_kernel(data, P, pidx, M, midx, pconst, W0, tol, maxiter, nthreads)
    mode, hess, cov, log_det_cov, logp, status, niter, nfev, cond = (
        out[k] for k in ("mode", "hess", "cov", "log_det_cov", "logp", "status", "niter",
                         "nfev", "cond"))
    improper = np.zeros(B, dtype=bool) if flat is None else flat[pidx]
    model = {"family": fam.name, "param_names": data.param_names,
             **{p: (data.param if p == fam.parameter else None) for p in MODEL_PARAMETERS},
             "data": data, "prior": GLMPrior(P, pidx, M, midx, pconst)}
    if single:
        st = Status(int(status[0]))
        res = GLMLaplaceResult(mode[0], hess[0], cov[0], log_det_cov[0], logp[0], st,
                               niter[0], nfev[0], STATUS_MESSAGES[st], cond=cond[0],
                               improper_prior=improper[0], **model)
        warn_statuses(status[0], note=_IMPROPER_NOTE if res.message.endswith(_IMPROPER_NOTE)
                      else "")
        return res
    shp = tuple(batch_shape)
    for k in MODEL_PARAMETERS:
        if model[k] is not None:
            model[k] = np.array(model[k], dtype=np.float64)
    res = BatchGLMLaplaceResult(mode.reshape(shp + (d,)), hess.reshape(shp + (d, d)),
                                cov.reshape(shp + (d, d)), log_det_cov.reshape(shp),
                                logp.reshape(shp), status.reshape(shp), niter.reshape(shp),
                                nfev.reshape(shp), cond.reshape(shp), labels=labels,
                                improper_prior=improper.reshape(shp), **model)
    failed_flat = flat is not None and bool(np.any(improper & (status < 0)))
    warn_statuses(res.status, nonzero=nonzero,
                  note=_IMPROPER_NOTE if failed_flat else "")
    return res


def _run_kernel(data, P, pidx, M, midx, pconst, W0, tol, maxiter, nthreads, ev_u=None):
    """The compiled data check and fits of ``data`` under the prior arrays of
    :func:`_prior` from the first iterates ``W0`` (:func:`_start`): a dict of the
    per-problem outputs (``mode``, ``hess``, ``cov``, ``log_det_cov``, ``logp``,
    ``status``, ``niter``, ``nfev``, ``cond``) and the indices of the problems whose
    status is not 0.  With ``ev_u`` (B,), each problem's prior is ``N(M, I / alpha)``
    with alpha chosen by its evidence from ``exp(ev_u)`` (``ev_u`` receives the chosen
    log alpha, and the dict ``at_bound``).  ValueError naming the array for data outside
    the family's support or not finite; MemoryError when the scratch cannot be had."""
    fam, d, B, batch_shape, single = (data.family, data.d, data.n_problems,
                                      data.batch_shape, data.single)
    labels, nmax = data.labels, data.nmax
    # --- memory, before any work: a problem's outputs (2 d^2 + d + 3 doubles, four int32
    # with the check's flags, its place in the list of non-zero statuses) and its share
    # of starts, the prior indices and param
    need = 8 * (B * (2 * d * d + d + 6) + 4 * B)
    need += 8 * nthreads * _glm_kernels.scratch_doubles(nmax, d)
    if need > memory_limit():
        raise MemoryError(f"glm_laplace needs about {need} bytes ({need / 2**30:.1f} GiB) "
                          f"for {B} problems with d = {d}, more than this machine has; "
                          "split the batch")
    flags = np.zeros(B, dtype=np.intc)
    mode = np.empty((B, d))
    hess = np.empty((B, d, d))
    cov = np.empty((B, d, d))
    log_det_cov = np.empty(B)
    logp = np.empty(B)
    status = np.zeros(B, dtype=np.intc)
    niter = np.zeros(B, dtype=np.intc)
    nfev = np.zeros(B, dtype=np.intc)
    cond = np.empty(B)
    nonzero = np.empty(B, dtype=np.int64)
    chunk = 1 if nmax * max(d, 1) > 20000 else max(1, min(16, B // (8 * nthreads)))
    empty = np.empty(0)
    opt = (lambda a: empty if a is None else a)
    param = np.ascontiguousarray(data.param, dtype=np.float64).reshape(-1)
    # the data checks (compiled, parallel), then the fits: none when a problem is flagged
    at_bound = np.zeros(B if ev_u is not None else 0, dtype=np.intc)
    code, nnonzero = _glm_kernels.fit(fam.code, data.X, data.y, opt(data.offset),
                                      opt(data.weights), opt(data.trials), data.starts,
                                      P, pidx, M, midx, opt(pconst), param, W0, float(tol),
                                      int(maxiter), nthreads, chunk, opt(ev_u), at_bound,
                                      flags, mode, hess, cov, log_det_cov, logp, status,
                                      niter, nfev, cond, nonzero)
    if code == _glm_kernels.FIT_BAD_DATA:
        first = int(np.flatnonzero(flags)[0])
        where = where_text(None if single else first, batch_shape, labels)
        for bit, name, text in _CHECK_MESSAGES:
            if flags[first] & bit:
                if text is None:
                    text = f"must be {fam.support} for family={fam.name!r}"
                raise ValueError(f"{name} {text}{where}")
    if code == _glm_kernels.FIT_NO_SCRATCH:
        raise MemoryError(f"glm_laplace could not allocate "
                          f"{8 * _glm_kernels.scratch_doubles(nmax, d)} bytes of scratch "
                          "per thread")
    out = {"mode": mode, "hess": hess, "cov": cov, "log_det_cov": log_det_cov,
           "logp": logp, "status": status, "niter": niter, "nfev": nfev, "cond": cond}
    if ev_u is not None:
        out["at_bound"] = at_bound.astype(bool)
    return out, nonzero[:nnonzero]
