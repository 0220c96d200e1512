"""The GLM families: one :class:`Family` record each, in one table.

A record holds what the Python side needs to know about a family: its names, its code
in the compiled kernel (``_glm_kernels.FAMILIES``), what its responses must be, which
extra argument it requires, its inverse link, the posterior predictive mean and
variance that :meth:`GLMLaplaceResult.predict` gives, and its log-likelihood in numpy
(the terms and the data-only constants, as the kernel's), which
:meth:`GLMLaplaceResult.importance` evaluates at every draw.  Everything in
:func:`laplace_fast.glm_laplace` and the GLM results that depends on the family reads
it from the record; no code branches on a family's name.
"""

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from . import _glm_kernels
from ._lazy import LazyModule

special = LazyModule("scipy.special")

__all__ = ["Family", "FAMILY_TABLE", "FAMILIES", "lookup"]


@dataclass(frozen=True)
class Family:
    """One GLM family, as the Python side sees it.

    Attributes
    ----------
    name : str
        The canonical name (the result's ``family``).
    aliases : tuple of str
        Other spellings, lower case (the lookup is case-insensitive).
    code : int
        The family's code in the compiled kernel, ``_glm_kernels.FAMILIES[name]``.
    support : str
        What each response must be, completing "y must be ...".
    parameter : str or None
        The keyword argument the family requires (``"trials"``, ``"scale"``,
        ``"dispersion"``), or None.
    inverse_link : callable
        ``mu = inverse_link(eta)``.
    exact_method : str
        The name of ``predictive_mean`` among ``predict``'s methods (its default).
    predictive_mean : callable
        ``(m, v) -> E[mu]`` for ``eta ~ N(m, v)``, exact or MacKay's approximation.
    predictive_var : callable
        ``(mean, m, v, param) -> Var y_new``: ``mean`` the predictive mean, ``param``
        the family's per-problem parameter (scale, dispersion) broadcast against ``v``.
    derivatives : callable
        ``(eta, y, trials, param) -> (g, h, h3)``, one observation's log-likelihood
        derivatives in eta: ``g`` the first, ``h`` minus the second and ``h3 = dh/deta``
        minus the third (``trials`` is ignored by the families without it, ``param``
        is the scale or the dispersion).  The mixed models' exact gradients need ``h3``.
    log_likelihood : callable
        ``(eta, y, trials, param) -> l``: each observation's log-likelihood at the
        linear predictor ``eta``, without the data-only constant, elementwise (numpy
        broadcasting; ``trials`` per row, ``param`` per problem, None when unused).
    """

    name: str
    aliases: tuple
    code: int
    support: str
    parameter: Optional[str]
    inverse_link: Callable
    exact_method: str
    predictive_mean: Callable
    predictive_var: Callable
    derivatives: Callable
    log_likelihood: Callable

    @property
    def methods(self):
        """The ``method`` values ``predict`` takes, the default first."""
        return (self.exact_method, "mc", "plugin")


def _identity(eta):
    return eta


def _expit(eta):
    return special.expit(eta)


def _ndtr(eta):
    return special.ndtr(eta)


def _expit_mackay(m, v):
    """MacKay's approximation of E sigmoid(eta)."""
    return special.expit(m / np.sqrt(1.0 + np.pi * v / 8.0))


def _probit_mean(m, v):
    """E Phi(eta) = Phi(m / sqrt(1 + v)), exact."""
    return special.ndtr(m / np.sqrt(1.0 + v))


def _lognormal_mean(m, v):
    """E exp(eta) = exp(m + v / 2), exact."""
    return np.exp(m + 0.5 * v)


def _identity_mean(m, v):
    return m


def _bernoulli_var(mean, m, v, param):
    """One Bernoulli trial of success probability ``mean``."""
    return mean * (1.0 - mean)


def _poisson_var(mean, m, v, param):
    """E mu + Var mu, mu lognormal."""
    return np.exp(m + 0.5 * v) + np.expm1(v) * np.exp(2 * m + v)


def _negbin_var(mean, m, v, param):
    """Poisson's plus dispersion * E mu^2."""
    return _poisson_var(mean, m, v, param) + param * np.exp(2 * m + 2 * v)


def _gaussian_var(mean, m, v, param):
    """v + scale^2."""
    return v + param ** 2


def _sigmoid_terms(y, t, x):
    """g, h, h3 of y x - t softplus(x) in x, from e = exp(-|x|) so that neither
    s (1 - s) nor 1 - 2 s cancels in the tails."""
    e = np.exp(-np.abs(x))
    inv = 1.0 / (1.0 + e)
    s = np.where(x >= 0, inv, e * inv)
    v = e * inv * inv
    return y - t * s, t * v, t * v * (np.sign(-x) * (1.0 - e) * inv)


def _logistic_derivs(eta, y, trials, param):
    return _sigmoid_terms(y, 1.0, eta)


def _binomial_derivs(eta, y, trials, param):
    return _sigmoid_terms(y, trials, eta)


def _negbin_derivs(eta, y, trials, param):
    """l = y u - (y + r) softplus(u), u = eta - log r, r = 1 / dispersion."""
    return _sigmoid_terms(y, y + 1.0 / param, eta + np.log(param))


def _probit_derivs(eta, y, trials, param):
    """l = log Phi(z), z = q eta, q = 2 y - 1: g = q lam, h = c = lam (lam + z) with
    lam = phi(z) / Phi(z), and dc/dz = lam - c (2 lam + z) (as lam' = -c)."""
    q = np.where(y != 0.0, 1.0, -1.0)
    z = q * eta
    lam = np.exp(-0.5 * z * z - 0.5 * np.log(2 * np.pi) - special.log_ndtr(z))
    c = lam * (lam + z)
    return q * lam, c, q * (lam - c * (2.0 * lam + z))


def _poisson_derivs(eta, y, trials, param):
    mu = np.exp(eta)
    return y - mu, mu, mu


def _gaussian_derivs(eta, y, trials, param):
    is2 = 1.0 / (param * param)
    h = np.broadcast_to(is2, np.shape(eta))
    return (y - eta) * is2, h, np.zeros(np.shape(eta))


def _stable_softplus(x):
    """log(1 + e^x) = max(x, 0) + log1p(e^-|x|), stable for every x."""
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _logistic_terms(eta, y, trials, param):
    return y * eta - _stable_softplus(eta)


def _probit_terms(eta, y, trials, param):
    return special.log_ndtr((2.0 * y - 1.0) * eta)


def _poisson_terms(eta, y, trials, param):
    return y * eta - np.exp(eta)


def _binomial_terms(eta, y, trials, param):
    return y * eta - trials * _stable_softplus(eta)


def _negbin_terms(eta, y, trials, param):
    """y u - (y + r) softplus(u), u = eta - log r, r = 1 / dispersion."""
    r = 1.0 / param
    u = eta - np.log(r)
    return y * u - (y + r) * _stable_softplus(u)


def _gaussian_terms(eta, y, trials, param):
    r = y - eta
    return -0.5 * (r * r) / (param * param)


_BINARY = "0 or 1"
_COUNTS = "non-negative integer counts"

FAMILY_TABLE = tuple(Family(name, aliases, _glm_kernels.FAMILIES[name], support, parameter,
                            link, method, mean, var, derivs, ll) for (
    name, aliases, support, parameter, link, method, mean, var, derivs, ll) in (
    ("logistic", ("logit", "bernoulli"), _BINARY, None,
     _expit, "probit", _expit_mackay, _bernoulli_var, _logistic_derivs, _logistic_terms),
    ("probit", (), _BINARY, None,
     _ndtr, "exact", _probit_mean, _bernoulli_var, _probit_derivs, _probit_terms),
    ("poisson", (), _COUNTS, None,
     np.exp, "exact", _lognormal_mean, _poisson_var, _poisson_derivs, _poisson_terms),
    ("binomial", (), "integer success counts in [0, trials]", "trials",
     _expit, "probit", _expit_mackay, _bernoulli_var, _binomial_derivs, _binomial_terms),
    ("negative_binomial", ("negbin", "negative-binomial", "nb", "nb2"), _COUNTS,
     "dispersion", np.exp, "exact", _lognormal_mean, _negbin_var, _negbin_derivs,
     _negbin_terms),
    ("gaussian", ("normal",), "finite", "scale",
     _identity, "exact", _identity_mean, _gaussian_var, _gaussian_derivs, _gaussian_terms),
))

FAMILIES = tuple(f.name for f in FAMILY_TABLE)
_BY_NAME = {n: f for f in FAMILY_TABLE for n in (f.name,) + f.aliases}


def lookup(family):
    """The :class:`Family` of a name or alias (case-insensitive); ValueError naming
    ``family`` otherwise."""
    fam = _BY_NAME.get(family.lower()) if isinstance(family, str) else None
    if fam is None:
        raise ValueError(f"family must be one of {FAMILIES} (or an alias such as "
                         f"'logit' or 'normal'), got {family!r}")
    return fam
