"""The GLM family table: one record per kernel family, names resolved through it, and
each record's predictive mean and variance against Gauss-Hermite quadrature over
eta ~ N(m, v) (an independent reference)."""

import numpy as np
import pytest
from scipy import special

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
