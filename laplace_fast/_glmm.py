"""Generalised linear mixed models by Laplace: :func:`glmm_laplace`.

The model: eta_i = x_i^T beta + z_i^T b_g(i) + offset_i, b_g ~ N(0, Sigma) independent
across the groups.  The marginal log-likelihood sum_g log int p(y_g | b) N(b; 0, Sigma) db
is replaced by the sum of the groups' Laplace evidences (lme4's glmer with nAGQ = 1,
glmmTMB, TMB) and maximised over the fixed effects beta, the random-effect covariance
Sigma and the gaussian scale or the negative binomial dispersion.

Inner problem: for given (beta, Sigma), every group's posterior of b_g is a GLM
posterior with offset X_g beta and prior N(0, Sigma), fitted by the compiled batch
kernel (:func:`fit_glm`, warm-started from the previous modes), all groups in parallel.

Outer problem: BFGS over theta = (beta, the Cholesky factor L of Sigma = L L^T with a
log diagonal, log scale or log dispersion), polished by Newton steps on the Hessian
(finite differences of the exact gradient).  The gradient is exact (``_glmm_objective``):
the envelope theorem for the log joint, and for the log-determinant the third
derivative of the log-likelihood with the implicit derivative of the modes.
"""

import math
import numbers
import warnings

import numpy as np

from ._families import lookup
from ._glm import _n_threads
from ._glm_prepare import prepare_glm
from ._glmm_objective import Objective
from ._glmm_result import GlmmResult
from ._objective import real_array, reject_dask
from ._status import LaplaceWarning

__all__ = ["glmm_laplace"]

_RE_COV = ("full", "diag")


def _matrix(a, name, N):
    a = real_array(a, name)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[0] != N:
        raise ValueError(f"{name} must have shape (N, k) with N = {N} rows (those of y), "
                         f"got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite (NaN or inf found)")
    return a


def _fixed_param(value, name):
    """A fixed scale or dispersion: a finite positive number."""
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number (or None to estimate it), "
                         f"got {value!r}")
    return float(value)


def glmm_laplace(X, y=None, groups=None, *, Z=None, family="logistic", trials=None,
                 offset=None, weights=None, scale=None, dispersion=None, re_cov="full",
                 nagq=1, tol=1e-8, maxiter=1000, n_threads=None, data=None):
    """Fit a generalised linear mixed model by the Laplace approximation.

    eta_i = x_i^T beta + z_i^T b_g + offset_i for row i of group g, with the random
    effects b_g ~ N(0, Sigma) independent across groups; beta, Sigma (and the gaussian
    scale or the negative binomial dispersion) maximise the Laplace approximation of
    the marginal log-likelihood, every constant kept: the objective of lme4's ``glmer``
    (``nAGQ = 1``), glmmTMB and TMB, on the same scale as their ``logLik``.

    Parameters
    ----------
    X : array_like, shape (N, p), or str
        Fixed-effect covariates, the user's columns (an intercept column included if
        wanted).  A string is a formula in lme4's syntax over the columns of ``data``
        (the ``formula`` extra), e.g. ``"y ~ x + (1 + x | g)"``: see Notes.
    y : array_like, shape (N,)
        Responses, in the family's support (as for :func:`glm_laplace`).  Not given
        with a formula; there the second positional argument may be ``data``.
    groups : array_like, shape (N,)
        Group labels (integers or strings), as for :func:`glm_laplace`.  Not given with
        a formula (its ``(terms | g)`` names the column).
    Z : array_like, shape (N, q), optional
        Random-effect covariates; by default ``X`` (every coefficient varies by group).
        Not given with a formula.
    family : str
        One of :data:`laplace_fast.FAMILIES` (or an alias).
    trials : array_like, shape (N,), optional
        Binomial trials (required for ``family="binomial"``).
    offset, weights : array_like, shape (N,), optional
        Known part of the linear predictor; observation weights.
    scale : float, optional
        Gaussian noise standard deviation: fixed when given, estimated when None (the
        fit is then exact maximum likelihood, lme4's ``lmer(REML = FALSE)``).
    dispersion : float, optional
        Negative binomial dispersion alpha (Var = mu + alpha mu^2; glmmTMB's
        ``nbinom2`` with alpha = 1 / theta): fixed when given, estimated when None.
    re_cov : {"full", "diag"}
        The covariance of the random effects: unstructured (lme4's ``(1 + x | g)``)
        or diagonal (``(1 + x || g)``).
    nagq : int
        Quadrature nodes per group: 1 is the Laplace approximation; more (a single
        random effect, ``q = 1``, only) is adaptive Gauss-Hermite quadrature around
        each group's mode, on the same scale (every constant kept).
    tol : float
        Convergence tolerance of the outer optimisation: the gradient of the
        objective, relative to the number of groups.
    maxiter : int
        Outer iterations at most.
    n_threads : int, optional
        Threads for the groups' fits (default: all cores); no effect on the result.
    data : DataFrame, optional
        With a formula: the pandas DataFrame (or polars or pyarrow table, through
        narwhals) whose columns it names; ``offset``, ``weights`` and ``trials`` may then
        be column names.

    Returns
    -------
    GlmmResult
        ``fixef``, ``fixef_cov``, ``re_cov``, ``scale``, ``dispersion``,
        ``log_likelihood``, ``aic``, ``bic``, ``random_effects`` (the conditional
        posteriors of the b_g under the fitted prior, a
        :class:`BatchGLMLaplaceResult` with ``labels``), ``labels``, ``converged``,
        ``status``, ``niter``, ``nfev``, ``message``; :meth:`GlmmResult.predict` and
        :meth:`GlmmResult.summary`.

    Raises
    ------
    ValueError, TypeError
        Before any work: shapes (``groups``, ``Z``, ``X``), values outside the
        family's support, non-finite values, ``re_cov`` or ``nagq`` not one of those
        above, ``nagq > 1`` with more than one random effect, fewer rows than random
        effects in every group, a fixed ``scale`` or ``dispersion`` that is not a
        positive number, or one given for a family without it.  With a formula: one
        that does not parse, a column ``data`` lacks or with missing values (named), a
        number of random-effect terms other than one, a grouping factor that is not
        one column.
    ImportError
        A formula without formulaic (``pip install laplace-fast[formula]``).

    Warns
    -----
    LaplaceWarning
        When the fit did not converge, or converged to a boundary (status 5,
        ``BOUNDARY``: a random-effect variance at zero, lme4's "boundary (singular)
        fit"), or when some group's inner fit failed (``random_effects.status``).

    See Also
    --------
    glm_laplace : one GLM posterior per group under a prior that is given.

    Notes
    -----
    ``fixef_cov`` is the fixed-effect block of the inverse of the negative Hessian of
    the objective over all parameters (glmmTMB's ``vcov``), not lme4's approximation
    conditional on Sigma.  ``random_effects[k]`` is :func:`glm_laplace` of group k
    alone, with offset ``X beta`` and prior N(0, Sigma) at the fitted values.  A
    variance whose optimum is zero converges to it (the fitted standard deviation is
    then below 1e-4, relative to the scale for the gaussian family).
    A formula gives the arrays that :func:`glm_laplace`'s formulas give (formulaic:
    intercept, treatment coding, names) for its fixed part, and for its one random-
    effect term ``(terms | g)`` the design ``Z`` of ``terms`` (an intercept unless
    ``0 +`` removes it: ``(x | g)`` is ``(1 + x | g)``, as in lme4) within the groups
    of column ``g``; ``(terms || g)`` gives ``re_cov="diag"`` (uncorrelated effects),
    ``|`` keeps ``re_cov`` as given.  The numbers are those of the arrays, bit for
    bit; the result's ``param_names``, ``re_names`` and ``group_name`` name them (in
    ``summary()`` and ``to_dataframe()``).  One grouping factor only (no
    ``(1 | a) + (1 | b)``, no ``a:b`` or ``a/b``).

    Examples
    --------
    A random intercept for each of 30 groups, logistic:

    >>> import numpy as np, laplace_fast as lf
    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(30), 20)
    >>> x = rng.standard_normal(g.size)
    >>> eta = -0.5 + 1.0 * x + rng.normal(0, 0.8, 30)[g]
    >>> y = (rng.random(g.size) < 1 / (1 + np.exp(-eta))).astype(float)
    >>> X = np.column_stack([np.ones_like(x), x])
    >>> fit = lf.glmm_laplace(X, y, g, Z=np.ones((g.size, 1)))
    >>> fit.converged, fit.fixef.shape, fit.re_cov.shape
    (True, (2,), (1, 1))
    >>> bool(abs(fit.fixef[1] - 1.0) < 0.3)
    True
    >>> fit.random_effects.mode.shape, len(fit.labels)
    ((30, 1), 30)

    The same model as a formula over a DataFrame, bit for bit:

    >>> import pandas as pd
    >>> df = pd.DataFrame({"y": y, "x": x, "g": g})
    >>> ff = lf.glmm_laplace("y ~ x + (1 | g)", data=df)
    >>> bool(np.array_equal(ff.fixef, fit.fixef)), ff.param_names, ff.re_names
    (True, ('Intercept', 'x'), ('Intercept',))
    >>> print(ff.summary().splitlines()[2])
    Formula: y ~ x + (1 | g)
    """
    if isinstance(X, str):      # a formula: its arrays, fitted below as arrays
        from ._formula import glmm_formula
        reject_dask(y if data is None else data, "data")
        return glmm_formula(X, data, y=y, groups=groups, Z=Z, family=family,
                            trials=trials, offset=offset, weights=weights, scale=scale,
                            dispersion=dispersion, re_cov=re_cov, nagq=nagq, tol=tol,
                            maxiter=maxiter, n_threads=n_threads)
    if y is None or groups is None or data is not None:
        raise TypeError("glmm_laplace takes (X, y, groups) arrays, or a formula string "
                        "and data=DataFrame")
    fam = lookup(family)
    y_arr = real_array(y, "y")
    if y_arr.ndim == 2 and y_arr.shape[1] == 1:
        y_arr = y_arr[:, 0]
    if y_arr.ndim != 1:
        raise ValueError(f"y must have shape (N,), got shape {y_arr.shape}")
    N = y_arr.size
    Xa = _matrix(X, "X", N)
    Za = Xa if Z is None else _matrix(Z, "Z", N)
    p, q = Xa.shape[1], Za.shape[1]
    if q == 0:
        raise ValueError("Z must have at least one column (a random effect)")
    if re_cov not in _RE_COV:
        raise ValueError(f"re_cov must be one of {_RE_COV}, got {re_cov!r}")
    if not (isinstance(nagq, numbers.Integral) and not isinstance(nagq, bool) and nagq >= 1):
        raise ValueError(f"nagq must be a positive integer, got {nagq!r}")
    if nagq > 1 and q > 1:
        raise ValueError(f"nagq > 1 needs a single random effect (Z with one column), "
                         f"got q = {q}; use nagq=1")
    if not (isinstance(tol, numbers.Real) and tol > 0):
        raise ValueError(f"tol must be a positive number, got {tol!r}")
    if not (isinstance(maxiter, numbers.Integral) and maxiter >= 1):
        raise ValueError(f"maxiter must be a positive integer, got {maxiter!r}")
    if fam.parameter != "scale" and scale is not None:
        raise ValueError(f"scale is only for family='gaussian', not {fam.name!r}")
    if fam.parameter != "dispersion" and dispersion is not None:
        raise ValueError(f"dispersion is only for family='negative_binomial', "
                         f"not {fam.name!r}")
    fixed = {"scale": scale, "dispersion": dispersion}.get(fam.parameter)
    estimate = fam.parameter in ("scale", "dispersion") and fixed is None
    if fixed is not None:
        fixed = _fixed_param(fixed, fam.parameter)
    nthreads = _n_threads(n_threads)
    # one layout for both designs: [Z | X] grouped by label; the values are checked by
    # the kernel at the first inner fit, before the optimisation
    kw = {fam.parameter: 1.0 if fixed is None else fixed} if fam.parameter in (
        "scale", "dispersion") else {}
    both = prepare_glm(np.hstack([Za, Xa]), y_arr, family=fam, offset=offset,
                       weights=weights, trials=trials, groups=groups, **kw)
    counts = np.diff(both.starts)
    if counts.max() < q:
        raise ValueError(f"Z has q = {q} random effects but every group has fewer rows "
                         f"(at most {int(counts.max())}); use fewer columns in Z")
    obj = Objective(both, q, p, re_cov=re_cov, estimate=estimate, fixed=fixed,
                    nagq=int(nagq), nthreads=nthreads)
    obj.check_data()
    res = obj.fit(tol=float(tol), maxiter=int(maxiter)).result(GlmmResult)
    if res.status != 0:
        warnings.warn(f"glmm_laplace: status {int(res.status)} ({res.status.name}): "
                      f"{res.message}", LaplaceWarning, stacklevel=2)
    return res
