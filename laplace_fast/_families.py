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
    log_likelihood : callable
        ``(eta, y, trials, param) -> l``: each observation's log-likelihood at the
        linear predictor ``eta``, without the data-only constant, elementwise (numpy
        broadcasting; ``trials`` per row, ``param`` per problem, None when unused).
    log_constant : callable
        ``(y, trials, param) -> c``: each observation's data-only constant (``-log
        y!``, ``log binom(t, y)``, ...), so that ``l + c`` is the exact log density.
    unit_softplus : bool
        Whether ``l = y eta - softplus(eta)`` with no constant (logistic): a sum over
        unweighted rows then takes one log of the product of the ``1 + e^-|eta|``.
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
    log_likelihood: Callable
    log_constant: Callable
    unit_softplus: bool

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


def _no_constant(y, trials, param):
    return np.zeros_like(y)


def _poisson_constant(y, trials, param):
    return -special.gammaln(y + 1.0)


def _binomial_constant(y, trials, param):
    return (special.gammaln(trials + 1.0) - special.gammaln(y + 1.0)
            - special.gammaln(trials - y + 1.0))


def _negbin_constant(y, trials, param):
    r = 1.0 / param
    return special.gammaln(y + r) - special.gammaln(r) - special.gammaln(y + 1.0)


def _gaussian_constant(y, trials, param):
    return -(0.5 * np.log(2 * np.pi) + np.log(param)) + np.zeros_like(y)


_BINARY = "0 or 1"
_COUNTS = "non-negative integer counts"

FAMILY_TABLE = tuple(Family(name, aliases, _glm_kernels.FAMILIES[name], support, parameter,
                            link, method, mean, var, ll, const, unit) for (
    name, aliases, support, parameter, link, method, mean, var, ll, const, unit) in (
    ("logistic", ("logit", "bernoulli"), _BINARY, None,
     _expit, "probit", _expit_mackay, _bernoulli_var, _logistic_terms, _no_constant, True),
    ("probit", (), _BINARY, None,
     _ndtr, "exact", _probit_mean, _bernoulli_var, _probit_terms, _no_constant, False),
    ("poisson", (), _COUNTS, None,
     np.exp, "exact", _lognormal_mean, _poisson_var, _poisson_terms, _poisson_constant,
     False),
    ("binomial", (), "integer success counts in [0, trials]", "trials",
     _expit, "probit", _expit_mackay, _bernoulli_var, _binomial_terms, _binomial_constant,
     False),
    ("negative_binomial", ("negbin", "negative-binomial", "nb", "nb2"), _COUNTS,
     "dispersion", np.exp, "exact", _lognormal_mean, _negbin_var, _negbin_terms,
     _negbin_constant, False),
    ("gaussian", ("normal",), "finite", "scale",
     _identity, "exact", _identity_mean, _gaussian_var, _gaussian_terms, _gaussian_constant,
     False),
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
