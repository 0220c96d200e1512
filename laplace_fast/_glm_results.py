"""The results of :func:`laplace_fast.glm_laplace`: the Gaussian results with the GLM's
fields (family, parameter names, scale, dispersion, a flat prior) and its predictions."""

import numbers

import numpy as np

from ._families import lookup
from ._objective import real_array
from ._result import BatchLaplaceResult, LaplaceResult, _as_given, _one
from ._status import Status

__all__ = ["GLMLaplaceResult", "BatchGLMLaplaceResult", "MODEL_PARAMETERS", "BOUND_NOTE",
           "BOUND_MESSAGE"]

# the per-problem model parameters a family may require, each a field of the result
MODEL_PARAMETERS = ("scale", "dispersion")

# what a failure under a flat prior may mean: one problem's note, and a batch's count
_FLAT = "the prior is flat (zero precision) in a direction the data may not identify"
_IMPROPER_NOTE = (f"; {_FLAT}, so the posterior may be improper: give that direction a "
                  "positive prior_precision")
# what glm_laplace's "evidence" hyperparameters at a bound of their search mean
# (status 5, BOUNDARY)
BOUND_NOTE = ("an \"evidence\" hyperparameter stopped at its search bound (1e10 times or "
              "1e-10 of its reference value), where the evidence still increases: its "
              "maximiser is 0 or infinite (e.g. separable data, or data that the prior "
              "mean fits), so the data do not identify it (evidence_at_bound)")
BOUND_MESSAGE = "converged, but " + BOUND_NOTE


class _GLMResult:
    """The GLM fields and predictions, shared by the single and batch GLM results (put
    before the Gaussian result class in the bases).  The fields are documented once, in
    :class:`GLMLaplaceResult`."""

    _PER_PROBLEM = BatchLaplaceResult._PER_PROBLEM + (
        "scale", "dispersion", "improper_prior", "prior_precision", "evidence_at_bound")

    def __init__(self, *args, family, param_names=None, scale=None, dispersion=None,
                 improper_prior=False, data=None, prior=None, prior_precision=None,
                 evidence_at_bound=None, **fields):
        super().__init__(*args, **fields)
        self.family = family
        self.param_names = param_names
        self.data = data
        self.prior = prior
        held = _as_given if self.batch_shape else _one
        self.scale = held(scale, float)
        self.dispersion = held(dispersion, float)
        self.improper_prior = held(improper_prior, bool)
        self.prior_precision = held(prior_precision, float)
        self.evidence_at_bound = held(evidence_at_bound, bool)
        if not self.batch_shape and self.evidence_at_bound:
            if self.status == Status.BOUNDARY:
                self._message = BOUND_MESSAGE
            else:
                self._message += "; " + BOUND_NOTE
        if not self.batch_shape and self.improper_prior and self.status < 0:
            self._message += _IMPROPER_NOTE

    def _shared(self):
        return {"family": self.family, "param_names": self.param_names,
                "data": self.data, "prior": self.prior}

    def _message_note(self):
        note = ""
        if self.evidence_at_bound is not None:
            n = int(np.count_nonzero(self.evidence_at_bound))
            if n:
                note += f"; {n} where {BOUND_NOTE}"
        n = int(np.count_nonzero(self.improper_prior & (self.status < 0)))
        if n:
            note += f"; {n} failed where {_FLAT}: give it a positive prior_precision"
        return note

    def _rows(self, X_new, offset):
        X_new = real_array(X_new, "X_new")
        if X_new.ndim == 0 or X_new.shape[-1] != self.d:
            raise ValueError(f"X_new must have last dimension d = {self.d}, "
                             f"got shape {X_new.shape}")
        if not np.all(np.isfinite(X_new)):
            raise ValueError("X_new contains NaN or inf")
        if offset is not None:
            offset = real_array(offset, "offset")
            if not np.all(np.isfinite(offset)):
                raise ValueError("offset contains NaN or inf")
        return X_new, offset

    def linear_predictor(self, X_new, offset=None):
        """Posterior mean and variance of the linear predictor ``x . theta (+ offset)``.

        Parameters
        ----------
        X_new : array_like, shape (m, d) or (d,)
            New rows; for a batch result also ``(*batch, m, d)`` (one set of rows per
            problem), any shape broadcasting against the batch.
        offset : array_like, optional
            Added to the mean (broadcast against it).

        Returns
        -------
        mean, var : ndarray
            Shape ``(m,)`` for one problem, ``(*batch, m)`` for a batch
            (``(m,)`` dropped when ``X_new`` is one row ``(d,)``).

        Raises
        ------
        LaplaceError
            When a problem has no valid covariance (failed fit).

        Examples
        --------
        >>> import numpy as np, laplace_fast as lf
        >>> X = np.column_stack([np.ones(4), [-1.0, 0.0, 1.0, 2.0]])
        >>> res = lf.glm_laplace(X, [0, 1, 0, 1], family="logistic")
        >>> m, v = res.linear_predictor([[1.0, 0.5]])
        >>> bool(np.allclose(m, res.mode @ [1.0, 0.5])), bool(v[0] > 0)
        (True, True)
        """
        X_new, offset = self._rows(X_new, offset)
        self._require("linear_predictor")
        mean = np.matmul(X_new, self.mode[..., None])[..., 0]
        var = np.sum(np.matmul(X_new, self.cov) * X_new, axis=-1)
        var = np.maximum(var, 0.0)
        if offset is not None:
            mean = mean + offset
        return mean, var

    def predict(self, X_new, method=None, *, offset=None, return_var=False, n_samples=4000,
                rng=None):
        """Posterior predictive mean of the response at new rows.

        Parameters
        ----------
        X_new : array_like, shape (m, d) or (d,)
            New rows (see :meth:`linear_predictor` for batch shapes).
        method : str, optional
            ``"probit"`` (logistic and binomial; MacKay's approximation, the default),
            ``"exact"`` (probit: ``Phi(m / sqrt(1 + v))``; poisson, negative binomial:
            the lognormal mean ``exp(m + v/2)``; gaussian: ``m``; the default for these),
            ``"mc"`` (Monte Carlo over the Gaussian of the linear predictor, ``n_samples``
            draws) or ``"plugin"`` (the inverse link at the posterior mean ``m``).
        offset : array_like, optional
            Added to the linear predictor.
        return_var : bool
            Also return the predictive variance of a new observation: ``v + scale**2``
            for gaussian; ``E mu + Var mu`` for poisson (``+ dispersion E mu^2`` for the
            negative binomial); ``p (1 - p)`` for one Bernoulli trial otherwise.
        n_samples : int
            Monte Carlo draws for ``method="mc"``.
        rng : numpy.random.Generator, int or None
            Random source for ``method="mc"``.

        Returns
        -------
        mean : ndarray
            For the binary families and binomial the success probability, for counts the
            expected count (per unit exposure if ``offset`` is omitted), for gaussian the
            expected response.  Shape as the mean of :meth:`linear_predictor`.
        var : ndarray
            Only with ``return_var=True``.

        Notes
        -----
        With ``eta ~ N(m, v)`` under the Laplace posterior: MacKay's approximation
        ``E sigmoid(eta) ~ sigmoid(m / sqrt(1 + pi v / 8))`` (MacKay 1992, Neural
        Computation 4(5)); for the probit link the expectation is exact,
        ``E Phi(eta) = Phi(m / sqrt(1 + v))``; for the log link ``E exp(eta) =
        exp(m + v/2)``.

        Examples
        --------
        >>> import numpy as np, laplace_fast as lf
        >>> rng = np.random.default_rng(0)
        >>> X = np.column_stack([np.ones(200), rng.standard_normal(200)])
        >>> y = rng.poisson(np.exp(0.5 + 0.3 * X[:, 1]))
        >>> res = lf.glm_laplace(X, y, family="poisson")
        >>> m, v = res.linear_predictor(X[:3])
        >>> bool(np.allclose(res.predict(X[:3]), np.exp(m + v / 2)))
        True
        >>> p = res.predict(X[:3], method="mc", rng=1)
        >>> bool(np.allclose(p, np.exp(m + v / 2), rtol=1e-2))
        True
        """
        fam = lookup(self.family)
        if method is None:
            method = fam.exact_method
        if method not in fam.methods:
            raise ValueError(f"method must be one of {fam.methods} for family="
                             f"{fam.name!r}, got {method!r}")
        m, v = self.linear_predictor(X_new, offset)
        with np.errstate(over="ignore", under="ignore"):
            if method == "plugin":
                mean = fam.inverse_link(m)
            elif method == "mc":
                if not (isinstance(n_samples, numbers.Integral) and n_samples >= 1):
                    raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
                z = np.random.default_rng(rng).standard_normal(int(n_samples))
                sd = np.sqrt(v)
                mean = np.zeros_like(m)
                for s in range(0, z.size, 256):
                    zz = z[s:s + 256]
                    mean = mean + np.sum(fam.inverse_link(m[..., None] + sd[..., None] * zz),
                                         axis=-1)
                mean = mean / z.size
            else:
                mean = fam.predictive_mean(m, v)
            if not return_var:
                return mean
            param = None if fam.parameter not in MODEL_PARAMETERS else \
                np.asarray(getattr(self, fam.parameter))
            if param is not None:       # one per problem, against v's rows
                param = np.reshape(param, param.shape + (1,) * (v.ndim - param.ndim))
            var = fam.predictive_var(mean, m, v, param)
        return mean, var


class GLMLaplaceResult(_GLMResult, LaplaceResult):
    """The Laplace approximation of one Bayesian GLM posterior.

    Everything of :class:`laplace_fast.LaplaceResult`, plus :meth:`linear_predictor`,
    :meth:`predict` and the model.  ``logp`` is the log joint at the mode with every
    normalising constant kept, so ``log_evidence`` is a proper log marginal likelihood.
    The attributes below are those of :class:`BatchGLMLaplaceResult` too, where the
    per-problem ones have the batch shape in front.

    Attributes
    ----------
    family : str
        The likelihood, by its canonical name in :data:`laplace_fast.FAMILIES`.
    param_names : tuple of str or None
        The column names of ``X`` when it is a pandas DataFrame, else None.
    scale : float or None
        The gaussian noise standard deviation (None for the other families).
    dispersion : float or None
        The negative binomial dispersion (None for the other families).
    improper_prior : bool
        Whether the prior is flat (zero precision) in some direction: ``log_evidence``
        is then relative to a density of one along those directions (see
        :func:`laplace_fast.glm_laplace`), and a failure status means the posterior is
        improper (the message says so).
    data : GLMData
        The prepared data of the fit, shared by every problem of a batch (and by its
        selections, whose ``problem_index`` says which problems of it they are).
    prior : GLMPrior
        The fit's prior, shared likewise.  With ``data``, what :meth:`importance`
        evaluates the log joint from (``log_post`` not needed).
    prior_precision : float or None
        With ``prior_precision="evidence"``, the chosen ``alpha`` (the prior is
        ``N(prior_mean, I / alpha)``); None when the prior was given.
    evidence_at_bound : bool or None
        With an ``"evidence"`` hyperparameter, whether its search stopped at a bound
        where the evidence still increases (status 5, BOUNDARY; the maximiser is 0 or
        infinite); None otherwise.

    Examples
    --------
    >>> import numpy as np, laplace_fast as lf
    >>> X = np.column_stack([np.ones(4), [-1.0, 0.0, 1.0, 2.0]])
    >>> y = [0.5, 1.0, 1.2, 2.1]
    >>> res = lf.glm_laplace(X, y, family="gaussian", scale=0.5, prior_precision=1e-6)
    >>> type(res).__name__, res.family, res.scale
    ('GLMLaplaceResult', 'gaussian', 0.5)
    >>> np.round(res.mode, 4).tolist()
    [0.95, 0.5]
    >>> float(np.round(res.predict([1.0, 0.5]), 4))
    1.2
    """


class BatchGLMLaplaceResult(_GLMResult, BatchLaplaceResult):
    """Laplace approximations of a batch of Bayesian GLM posteriors.

    Everything of :class:`laplace_fast.BatchLaplaceResult` (batch dimensions first,
    ``labels`` for grouped input) and the fields of
    :class:`laplace_fast.GLMLaplaceResult` (``family`` and ``param_names`` shared,
    ``scale``, ``dispersion`` and ``improper_prior`` per problem), with
    :meth:`linear_predictor` and :meth:`predict` evaluated for every problem;
    ``result[i]`` is a :class:`GLMLaplaceResult`.

    Attributes
    ----------
    improper_prior : ndarray of bool, shape batch
        Per problem, whether its prior is flat in some direction.
    message : str
        As for :class:`laplace_fast.BatchLaplaceResult`, with the count of failures
        where the prior is flat.

    Examples
    --------
    >>> import numpy as np, laplace_fast as lf
    >>> X = np.column_stack([np.ones(4), [-1.0, 0.0, 1.0, 2.0]])
    >>> yb = [[0, 1, 0, 1], [1, 0, 1, 0], [1, 1, 0, 1]]
    >>> res = lf.glm_laplace(np.stack([X, X, X]), yb, family="logistic")
    >>> type(res).__name__, res.batch_shape, type(res[0]).__name__
    ('BatchGLMLaplaceResult', (3,), 'GLMLaplaceResult')
    >>> res.predict([1.0, 0.5]).shape
    (3,)
    """

    _single = GLMLaplaceResult
