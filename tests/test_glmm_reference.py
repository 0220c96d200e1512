"""glmm_laplace against lme4 and glmmTMB on their own data (cbpp, grouseticks, sleepstudy)
and a simulated random slope; the values are committed (tests/reference/glmm/, written by
tests/reference/glmm/glmm_reference.R), so no R is needed."""

import os
import sys

import numpy as np
import pytest

import laplace_fast as lf

sys.path.insert(0, os.path.dirname(__file__))
from glmm_reference import load_model  # noqa: E402

# glmmTMB's optimum is the target: lme4's default tolerances stop a little short of it
# (on the simulated slope 2.4e-3 log-likelihood units; glmer_nagq1_tight is lme4 with
# tolPwrss = 1e-12)
CASES = [
    ("cbpp_binomial", "glmmTMB", {}),
    ("grouseticks_poisson", "glmmTMB", {}),
    ("grouseticks_nbinom2", "glmmTMB", {}),
    ("sleepstudy_full", "glmmTMB", {}),
    ("sleepstudy_diag", "glmmTMB", {}),
    ("simulated_logistic_slope", "glmmTMB", {}),
]


def _fit(name, **kw):
    X, Z, y, groups, trials, ref = load_model(name)
    fit = lf.glmm_laplace(X, y, groups, Z=Z, family=ref["family"], trials=trials,
                          re_cov=ref["re_cov"], **kw)
    return fit, ref


@pytest.fixture(scope="module")
def fits():
    return {name: _fit(name) for name, _, _ in CASES}


@pytest.mark.parametrize("name, target, _", CASES)
def test_log_likelihood_at_least_glmmtmbs(fits, name, target, _):
    fit, ref = fits[name]
    tmb = ref["fits"][target]
    assert fit.status == lf.Status.OK
    assert fit.log_likelihood >= tmb["logLik"] - 1e-4
    # and not above it by more than glmmTMB's own convergence can explain
    assert fit.log_likelihood <= tmb["logLik"] + 1e-4
    for other in ref["fits"].values():      # lme4 stops short, never beyond
        if other.get("nAGQ", 1) == 1:
            assert fit.log_likelihood >= other["logLik"] - 1e-6


@pytest.mark.parametrize("name, target, _", CASES)
def test_estimates_and_standard_errors(fits, name, target, _):
    fit, ref = fits[name]
    tmb = ref["fits"][target]
    scale = np.abs(tmb["fixef"]) + np.sqrt(np.diag(tmb["vcov"]))
    np.testing.assert_allclose(fit.fixef, tmb["fixef"], atol=1e-3 * scale.max())
    np.testing.assert_allclose(fit.re_cov, tmb["Sigma"], rtol=2e-3,
                               atol=2e-3 * np.abs(tmb["Sigma"]).max())
    np.testing.assert_allclose(np.sqrt(np.diag(fit.fixef_cov)), np.sqrt(np.diag(tmb["vcov"])),
                               rtol=2e-3)
    np.testing.assert_allclose(fit.fixef_cov, tmb["vcov"], rtol=5e-3,
                               atol=5e-3 * np.abs(tmb["vcov"]).max())
    if "sigma" in tmb:
        assert fit.scale == pytest.approx(tmb["sigma"], rel=1e-3)
    if "alpha" in tmb:
        assert fit.dispersion == pytest.approx(tmb["alpha"], rel=2e-3)
    assert list(fit.labels) == sorted(tmb["ranef"]["labels"].tolist())


def test_gaussian_exact_against_lmer_ml(fits):
    for name in ("sleepstudy_full", "sleepstudy_diag"):
        fit, ref = fits[name]
        lmer = ref["fits"]["lmer_ml"]
        assert fit.log_likelihood == pytest.approx(lmer["logLik"], abs=1e-6)
        assert fit.log_likelihood >= lmer["logLik"] - 1e-9
        np.testing.assert_allclose(fit.fixef, lmer["fixef"], rtol=1e-6)


def test_conditional_modes_are_lme4s(fits):
    # lme4's conditional modes and covariances are the groups' Laplace posteriors at its
    # estimates; at ours (the same to the tolerance of lme4's optimiser) they agree
    fit, ref = fits["cbpp_binomial"]
    lme4 = ref["fits"]["glmer_nagq1_tight"]
    order = np.argsort(lme4["ranef"]["labels"])
    np.testing.assert_allclose(fit.random_effects.mode, lme4["ranef"]["modes"][order],
                               atol=2e-4)
    np.testing.assert_allclose(fit.random_effects.cov, lme4["ranef"]["cond_cov"][order],
                               rtol=2e-3)


def test_adaptive_quadrature_cbpp():
    fit, ref = _fit("cbpp_binomial", nagq=10)
    lme4 = ref["fits"]["glmer_nagq10"]
    assert fit.status == lf.Status.OK
    np.testing.assert_allclose(fit.fixef, lme4["fixef"], atol=1e-4)
    np.testing.assert_allclose(fit.re_cov, lme4["Sigma"], rtol=1e-3)
    # on the Laplace fit's scale (every constant kept), not lme4's nAGQ > 1 one
    laplace = ref["fits"]["glmmTMB"]["logLik"]
    assert abs(fit.log_likelihood - laplace) < 0.1
    assert fit.log_likelihood != pytest.approx(lme4["logLik"], abs=1.0)
