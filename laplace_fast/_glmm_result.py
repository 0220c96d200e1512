"""What :func:`laplace_fast.glmm_laplace` returns: :class:`GlmmResult`."""

import numpy as np

from . import _arviz
from ._objective import real_array
from ._status import Status

__all__ = ["GlmmResult"]


class GlmmResult:
    """A generalised linear mixed model fitted by :func:`laplace_fast.glmm_laplace`.

    Attributes
    ----------
    fixef : ndarray, shape (p,)
        The fixed effects beta.
    fixef_cov : ndarray, shape (p, p)
        Their covariance: the fixed-effect block of the inverse negative Hessian of the
        objective over every parameter (as glmmTMB's ``vcov``); NaN when that Hessian is
        not negative definite.
    re_cov : ndarray, shape (q, q)
        The random-effect covariance Sigma.
    scale, dispersion : float or None
        The gaussian noise standard deviation, the negative binomial dispersion
        (estimated or as given; None for the other families).
    log_likelihood : float
        The maximised objective: the Laplace (or, for ``nagq > 1``, adaptive
        Gauss-Hermite) approximation of the marginal log-likelihood, every constant
        kept (lme4's and glmmTMB's ``logLik`` scale).
    aic, bic : float
        -2 log_likelihood + 2 k, and + k log n (k parameters, n observations of
        non-zero weight).
    random_effects : BatchGLMLaplaceResult
        The groups' conditional posteriors of b_g under the fitted prior N(0, Sigma)
        (modes ``mode``, covariances ``cov``, per-group ``status``), with ``labels``.
    labels : ndarray
        The group labels, sorted (the order of ``random_effects``).
    family : str
        The family's canonical name.
    nagq : int
        The quadrature nodes per group.
    converged : bool
        ``status >= 0``.
    status : Status
        0 (OK); 5 (BOUNDARY): a random-effect variance is at zero (converged, a
        caveat); -1 (MAXITER); -4 (NONFINITE_FIT): some group's inner fit failed.
    niter, nfev : int
        Outer iterations; evaluations of the objective (each one fit of every group).
    message : str
        What happened.
    theta, theta_cov : ndarray
        The optimiser's parameters (beta, the Cholesky factor of Sigma with a log
        diagonal, the log scale or log dispersion when estimated) and their covariance
        (NaN rows and columns for coordinates on the boundary).
    n_obs : int
        The observations of non-zero weight (BIC's n).
    re_structure : str
        ``"full"`` or ``"diag"``, as ``re_cov`` was given to :func:`glmm_laplace`.
    param_names, re_names : tuple of str or None
        The names of the fixed effects (the columns of ``X``) and of the random effects
        (the columns of ``Z``), from a formula; None for arrays.
    group_name : str or None
        The grouping column of a formula's ``(terms | group)``; None for arrays.
    formula : str or None
        The formula fitted; None for arrays.

    Examples
    --------
    >>> import numpy as np, laplace_fast as lf
    >>> rng = np.random.default_rng(3)
    >>> g = np.repeat(np.arange(12), 8)
    >>> x = rng.standard_normal(g.size)
    >>> y = 1.0 + 0.5 * x + rng.normal(0, 0.7, 12)[g] + rng.normal(0, 0.3, g.size)
    >>> fit = lf.glmm_laplace(np.column_stack([np.ones_like(x), x]), y, g,
    ...                       Z=np.ones((g.size, 1)), family="gaussian")
    >>> fit.status.name, fit.random_effects.mode.shape
    ('OK', (12, 1))
    >>> bool(0.2 < fit.scale < 0.4), bool(0.1 < np.sqrt(fit.re_cov[0, 0]) < 1.5)
    (True, True)
    >>> fit.predict([[1.0, 0.0]], Z_new=[[1.0]], groups=[0]).shape
    (1,)
    >>> print(fit.summary().splitlines()[0])
    Linear mixed model fit by maximum likelihood (laplace_fast, nagq = 1)
    """

    def __init__(self, *, fixef, fixef_cov, re_cov, scale, dispersion, log_likelihood,
                 aic, bic, random_effects, labels, status, niter, nfev, message, family,
                 nagq, theta, theta_cov, n_obs, re_structure, parameter_estimated,
                 param_names=None, re_names=None, group_name=None, formula=None):
        self.fixef = fixef
        self.fixef_cov = fixef_cov
        self.re_cov = re_cov
        self.scale = scale
        self.dispersion = dispersion
        self.log_likelihood = float(log_likelihood)
        self.aic = float(aic)
        self.bic = float(bic)
        self.random_effects = random_effects
        self.labels = labels
        self.status = Status(int(status))
        self.niter = int(niter)
        self.nfev = int(nfev)
        self.message = message
        self._family = family
        self.family = family.name
        self.nagq = int(nagq)
        self.theta = theta
        self.theta_cov = theta_cov
        self.n_obs = int(n_obs)
        self.re_structure = re_structure
        self._parameter_estimated = parameter_estimated
        self.param_names = param_names
        self.re_names = re_names
        self.group_name = group_name
        self.formula = formula

    @property
    def converged(self):
        return bool(self.status >= 0)

    @property
    def fixef_se(self):
        """The fixed effects' standard errors, sqrt(diag(fixef_cov))."""
        with np.errstate(invalid="ignore"):
            return np.sqrt(np.diag(self.fixef_cov))

    def _param(self):
        return self.scale if self.scale is not None else (
            self.dispersion if self.dispersion is not None else 0.0)

    def predict(self, X_new, Z_new=None, groups=None):
        """The mean of the response at new rows.

        Parameters
        ----------
        X_new : array_like, shape (m, p) or (p,)
            Fixed-effect covariates.
        Z_new : array_like, shape (m, q) or (q,), optional
            Random-effect covariates; by default ``X_new`` (for a model fitted with
            ``Z = X``; required otherwise when q differs from p).
        groups : array_like, shape (m,), optional
            The group of each row: a label seen in the fit uses that group's random
            effect (its conditional posterior N(mode, cov)); a new label, or no
            ``groups``, the population's N(0, Sigma).

        Returns
        -------
        ndarray, shape (m,)
            E[y] with the random effect's uncertainty integrated out (exactly, or by
            MacKay's approximation for the sigmoid families, as
            :meth:`GLMLaplaceResult.predict`); the fixed effects at their estimate.

        Raises
        ------
        ValueError
            Shapes that do not match the fit.
        """
        X = real_array(X_new, "X_new")
        X = X[None] if X.ndim == 1 else X
        p, q = self.fixef.size, self.re_cov.shape[0]
        if X.ndim != 2 or X.shape[1] != p:
            raise ValueError(f"X_new must have shape (m, {p}), got {np.shape(X_new)}")
        if Z_new is None:
            if q != p:
                raise ValueError(f"Z_new is required: the random effects have q = {q} "
                                 f"columns, X_new has {p}")
            Z = X
        else:
            Z = real_array(Z_new, "Z_new")
            Z = Z[None] if Z.ndim == 1 else Z
            if Z.shape != (X.shape[0], q):
                raise ValueError(f"Z_new must have shape ({X.shape[0]}, {q}), got "
                                 f"{np.shape(Z_new)}")
        m = X @ self.fixef
        v = np.einsum("ij,jk,ik->i", Z, self.re_cov, Z)
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != (X.shape[0],):
                raise ValueError(f"groups must have shape ({X.shape[0]},), got "
                                 f"{groups.shape}")
            pos = np.clip(np.searchsorted(self.labels, groups), 0, self.labels.size - 1)
            known = self.labels[pos] == groups
            b = self.random_effects.mode[pos]
            C = self.random_effects.cov[pos]
            m = np.where(known, m + np.einsum("ij,ij->i", Z, b), m)
            v = np.where(known, np.einsum("ij,ijk,ik->i", Z, C, Z), v)
        return self._family.predictive_mean(m, v)

    @_arviz.documented
    def to_arviz(self, n=1000, rng=None, *, chains=1):
        """Draws of the fixed and random effects as ArviZ data.

        Parameters
        ----------
        {parameters}

        Returns
        -------
        arviz.InferenceData
            What ``arviz.from_dict`` builds (a ``DataTree`` with ArviZ 1 and later):
            a ``posterior`` group holding ``beta``, dimensions ``chain``, ``draw``,
            ``term`` (``param_names`` when the fit has them, else ``beta[0]``, ...),
            and ``b``, dimensions ``chain``, ``draw``, ``group`` (labelled by
            ``labels``) and ``re_term`` (``re_names``, else ``b[0]``, ...).

        Raises
        ------
        {raises}
        LaplaceError
            When ``fixef_cov`` is NaN, or a group has no conditional posterior.

        Notes
        -----
        ``beta`` is drawn from N(fixef, fixef_cov), the Gaussian of the maximum
        likelihood estimate (the posterior under a flat prior); each group's ``b`` from
        its conditional posterior N(mode, cov) given the fitted beta and Sigma
        (``random_effects``), independently of ``beta``: the draws carry neither
        the uncertainty of Sigma nor the correlation of b with beta.

        Examples
        --------
        >>> import numpy as np, laplace_fast as lf
        >>> rng = np.random.default_rng(3)
        >>> g = np.repeat(np.arange(12), 8)
        >>> x = rng.standard_normal(g.size)
        >>> y = 1.0 + 0.5 * x + rng.normal(0, 0.7, 12)[g] + rng.normal(0, 0.3, g.size)
        >>> fit = lf.glmm_laplace(np.column_stack([np.ones_like(x), x]), y, g,
        ...                       Z=np.ones((g.size, 1)), family="gaussian")
        >>> post = fit.to_arviz(n=500, rng=0).posterior
        >>> post["beta"].dims, post["b"].dims
        (('chain', 'draw', 'term'), ('chain', 'draw', 'group', 're_term'))
        >>> dict(post["b"].sizes)
        {'chain': 1, 'draw': 500, 'group': 12, 're_term': 1}
        """
        return _arviz.glmm(self, n, rng, chains)

    def summary(self):
        """A printable summary, in the layout of lme4's: the fit's criteria, the
        random effects' variances, standard deviations and correlations, the number of
        observations and groups, the fixed effects with their standard errors and z
        values.  The effects are named by ``param_names`` and ``re_names`` (a formula's
        columns), else ``beta[j]`` and ``b[j]``.

        Returns
        -------
        str
        """
        kind = ("Linear mixed model fit by maximum likelihood" if self.family == "gaussian"
                else "Generalized linear mixed model fit by "
                + ("Laplace approximation" if self.nagq == 1 else "adaptive quadrature"))
        lines = [f"{kind} (laplace_fast, nagq = {self.nagq})",
                 f" Family: {self.family}"]
        if self.formula is not None:
            lines.append(f"Formula: {self.formula}")
        lines += [f"      AIC       BIC    logLik",
                  f"{self.aic:9.2f} {self.bic:9.2f} {self.log_likelihood:9.3f}",
                  f"status {int(self.status)} ({self.status.name}): {self.message}",
                  "",
                  f"Random effects (covariance {self.re_structure}):"]
        q, p = self.re_cov.shape[0], self.fixef.size
        re_names = list(self.re_names or [f"b[{j}]" for j in range(q)])
        group = self.group_name or "group"
        width = max([len(n) for n in re_names] + [8])
        gw = max(len(group), len("Residual"), 6)
        sd = np.sqrt(np.diag(self.re_cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = self.re_cov / np.outer(sd, sd)
        lines.append(f" {'Groups':<{gw}} {'Name':<{width}} {'Variance':>10} "
                     f"{'Std.Dev.':>10}" + (" Corr" if q > 1 else ""))
        for j in range(q):
            cells = " ".join(f"{corr[j, k]:6.3f}" for k in range(j))
            lines.append(f" {group if j == 0 else '':<{gw}} {re_names[j]:<{width}} "
                         f"{sd[j] ** 2:10.5f} {sd[j]:10.5f} {cells}".rstrip())
        if self.scale is not None:
            lines.append(f" {'Residual':<{gw}} {'':<{width}} {self.scale ** 2:10.5f} "
                         f"{self.scale:10.5f}")
        if self.dispersion is not None:
            lines.append(f" Dispersion {self.dispersion:.5f} (theta = "
                         f"{1 / self.dispersion:.5f})")
        lines.append(f"Number of obs: {self.n_obs}, groups: {group}, {self.labels.size}")
        names = list(self.param_names or [f"beta[{j}]" for j in range(p)])
        width = max([len(n) for n in names] + [8])
        lines += ["", "Fixed effects:",
                  f"{'':<{width}} {'Estimate':>10} {'Std. Error':>10} {'z value':>9}"]
        se = self.fixef_se
        with np.errstate(invalid="ignore", divide="ignore"):
            z = self.fixef / se
        for j in range(p):
            lines.append(f"{names[j]:<{width}} {self.fixef[j]:10.5f} {se[j]:10.5f} "
                         f"{z[j]:9.3f}")
        return "\n".join(lines)

    def to_dataframe(self):
        """The fit as a tidy long frame (pandas, the ``data`` extra), in the layout of
        broom.mixed's ``tidy``.

        Returns
        -------
        pandas.DataFrame
            Columns ``effect`` (``"fixed"`` or ``"ran_pars"``), ``group`` (the grouping
            column for the random effects' ``sd__NAME`` and ``cor__A.B`` rows;
            ``"Residual"`` for the gaussian ``sd__Observation``, ``"Dispersion"`` for
            the negative binomial's; missing for the fixed effects), ``term``,
            ``estimate``, ``sd`` (the fixed effects' standard errors), ``lower`` and
            ``upper`` (95 % Wald intervals of the fixed effects; NaN for the variance
            parameters), ``status`` and ``log_likelihood``.

        Raises
        ------
        ImportError
            Without pandas.

        Examples
        --------
        >>> import numpy as np, laplace_fast as lf
        >>> rng = np.random.default_rng(3)
        >>> g = np.repeat(np.arange(12), 8)
        >>> x = rng.standard_normal(g.size)
        >>> y = 1.0 + 0.5 * x + rng.normal(0, 0.7, 12)[g] + rng.normal(0, 0.3, g.size)
        >>> fit = lf.glmm_laplace(np.column_stack([np.ones_like(x), x]), y, g,
        ...                       Z=np.ones((g.size, 1)), family="gaussian")
        >>> table = fit.to_dataframe()
        >>> table.effect.tolist(), table.term.tolist()
        (['fixed', 'fixed', 'ran_pars', 'ran_pars'], ['beta[0]', 'beta[1]', 'sd__b[0]', \
'sd__Observation'])
        >>> bool(table.estimate[3] == fit.scale), bool(table.sd[1] == fit.fixef_se[1])
        (True, True)
        """
        from ._tables import glmm_frame
        return glmm_frame(self)

    def __repr__(self):
        return (f"GlmmResult(family={self.family!r}, groups={self.labels.size}, "
                f"logLik={self.log_likelihood:.4f}, status={self.status.name})")
