"""The GLM family table: one record per kernel family, names resolved through it, and
each record's predictive mean and variance against Gauss-Hermite quadrature over
eta ~ N(m, v) (an independent reference)."""

import numpy as np
import pytest
from scipy import special, stats

from laplace_fast import _glm_kernels
from laplace_fast._families import FAMILIES, FAMILY_TABLE, lookup

M = np.array([-2.0, -0.3, 0.0, 0.7, 1.5])
V = np.array([0.01, 0.2, 1.0, 0.5, 2.0])
LINKS = {"logistic": special.expit, "probit": special.ndtr, "poisson": np.exp,
         "binomial": special.expit, "negative_binomial": np.exp, "gaussian": lambda e: e}
PARAM = {"negative_binomial": 0.4, "gaussian": 1.3}


def _expect(f):
    """E f(eta), eta ~ N(M, V), by 80-point Gauss-Hermite quadrature."""
    x, w = np.polynomial.hermite_e.hermegauss(80)
    eta = M[:, None] + np.sqrt(V)[:, None] * x
    return f(eta) @ w / np.sqrt(2 * np.pi)


def test_one_record_per_kernel_family():
    assert {f.name: f.code for f in FAMILY_TABLE} == _glm_kernels.FAMILIES
    assert FAMILIES == tuple(f.name for f in FAMILY_TABLE)
    names = [n for f in FAMILY_TABLE for n in (f.name,) + f.aliases]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("spelling, name", [("Logit", "logistic"), ("BERNOULLI", "logistic"),
                                            ("nb2", "negative_binomial"), ("normal", "gaussian"),
                                            ("probit", "probit")])
def test_lookup(spelling, name):
    assert lookup(spelling).name == name


@pytest.mark.parametrize("bad", ["gamma", None, 3])
def test_lookup_unknown(bad):
    with pytest.raises(ValueError, match="family must be one of"):
        lookup(bad)


@pytest.mark.parametrize("fam", FAMILY_TABLE, ids=lambda f: f.name)
def test_predictive_mean_and_var_against_quadrature(fam):
    link = LINKS[fam.name]
    np.testing.assert_allclose(fam.inverse_link(M), link(M), rtol=1e-15)
    mean = fam.predictive_mean(M, V)
    ref = _expect(link)
    if fam.exact_method == "exact":
        np.testing.assert_allclose(mean, ref, rtol=1e-12, atol=1e-15)
    else:        # MacKay's approximation of the logistic-normal integral
        np.testing.assert_allclose(mean, ref, atol=0.02)
    a = PARAM.get(fam.name)
    var = fam.predictive_var(mean, M, V, a)
    if fam.name in ("poisson", "negative_binomial"):
        # Var y = E Var(y | mu) + Var E(y | mu), Var(y | mu) = mu (+ a mu^2)
        ev = _expect(lambda e: np.exp(e) + (a or 0.0) * np.exp(2 * e))
        ref_var = ev + _expect(lambda e: np.exp(2 * e)) - ref ** 2
    elif fam.name == "gaussian":
        ref_var = V + a ** 2
    else:       # one Bernoulli trial of the predictive probability
        ref_var = mean * (1 - mean)
    np.testing.assert_allclose(var, ref_var, rtol=1e-11)


def _reference_logpdf(name, eta, y, t, param):
    """Each family's log density from scipy.stats, at the linear predictor eta."""
    if name == "logistic":
        return stats.bernoulli.logpmf(y, special.expit(eta))
    if name == "probit":
        return stats.bernoulli.logpmf(y, special.ndtr(eta))
    if name == "poisson":
        return stats.poisson.logpmf(y, np.exp(eta))
    if name == "binomial":
        return stats.binom.logpmf(y, t, special.expit(eta))
    if name == "negative_binomial":     # Var = mu + alpha mu^2: n = 1 / alpha
        mu = np.exp(eta)
        return stats.nbinom.logpmf(y, 1 / param, 1 / (1 + param * mu))
    return stats.norm.logpdf(y, eta, param)


@pytest.mark.parametrize("fam", FAMILY_TABLE, ids=lambda f: f.name)
def test_log_likelihood_and_derivatives_against_scipy(fam):
    y = {"logistic": 1.0, "probit": 0.0, "poisson": 3.0, "binomial": 2.0,
         "negative_binomial": 4.0, "gaussian": 0.3}[fam.name]
    t, param = 5.0, (0.7 if fam.parameter in ("scale", "dispersion") else None)
    eta = np.array([-1.3, -0.2, 0.4, 1.1])
    ref = _reference_logpdf(fam.name, eta, y, t, param)
    got = fam.log_likelihood(eta, y, t, param)
    # up to the data-only constant, the same function of eta
    np.testing.assert_allclose(got - got[0], ref - ref[0], rtol=1e-12, atol=1e-12)
    # derivatives by central differences of scipy's log density (Richardson)
    def d(f, k, h=1e-3):
        return (8 * (f(eta + k * h) - f(eta - k * h))
                - (f(eta + 2 * k * h) - f(eta - 2 * k * h))) / (12 * h)
    lp = lambda e: _reference_logpdf(fam.name, e, y, t, param)
    g, h, h3 = fam.derivatives(eta, y, t, param)
    first = d(lp, 1.0)
    second = d(lambda e: (lp(e + 1e-4) - lp(e - 1e-4)) / 2e-4, 1.0)
    np.testing.assert_allclose(g, first, rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(h, -second, rtol=1e-5, atol=1e-7)
    # h3 = dh/deta by central differences of the record's own h, checked above
    hh = lambda e: np.broadcast_to(fam.derivatives(e, y, t, param)[1], e.shape)
    np.testing.assert_allclose(h3, d(hh, 1.0), rtol=1e-6, atol=1e-9)
