"""Independent checks of the committed lme4/glmmTMB reference values (tests/reference/glmm/):
the data and the recorded fits are what the GLMM tests will compare glmm_laplace against, so
their log-likelihoods are recomputed here from the reported parameters, by closed forms
(gaussian) and by a Laplace approximation and adaptive Gauss-Hermite quadrature written
below in numpy (the other families), with every constant of the likelihood kept.

These checks pin the scale of the references: lme4's and glmmTMB's logLik at nAGQ = 1 keep
every constant, while lme4 1.1-31's nAGQ > 1 logLik drops the saturated log-likelihood
(lme4 issue 161); the offset is recomputed here.
"""

import os
import sys

import numpy as np
import pytest
from scipy import integrate, special

sys.path.insert(0, os.path.dirname(__file__))
from glmm_reference import MODELS, load_model, versions  # noqa: E402

LOG2PI = np.log(2 * np.pi)

GAUSSIAN = ("sleepstudy_full", "sleepstudy_diag")
NONGAUSSIAN_NAGQ1 = [(m, f) for m in ("cbpp_binomial", "grouseticks_poisson",
                                      "grouseticks_nbinom2", "simulated_logistic_slope")
                     for f in ("glmer_nagq1", "glmer_nagq1_tight", "glmmTMB")
                     if not (m == "grouseticks_nbinom2" and f != "glmmTMB")]


# ------------------------------------------------------------------ the model, from scratch

def row_loglik(family, eta, y, trials=None, theta=None):
    """Log-likelihood of each row with all constants, and its first two derivatives in eta
    (the observed ones)."""
    if family in ("binomial", "logistic"):
        m = np.ones_like(y) if trials is None else trials
        p = special.expit(eta)
        const = special.gammaln(m + 1) - special.gammaln(y + 1) - special.gammaln(m - y + 1)
        ll = const + y * eta - m * np.logaddexp(0, eta)
        return ll, y - m * p, -m * p * (1 - p)
    mu = np.exp(eta)
    if family == "poisson":
        return y * eta - mu - special.gammaln(y + 1), y - mu, -mu
    if family == "negative_binomial":
        ll = (special.gammaln(y + theta) - special.gammaln(theta) - special.gammaln(y + 1)
              + theta * (np.log(theta) - np.logaddexp(np.log(theta), eta))
              + y * (eta - np.logaddexp(np.log(theta), eta)))
        return ll, theta * (y - mu) / (theta + mu), -theta * mu * (y + theta) / (theta + mu) ** 2
    raise ValueError(family)


def saturated_loglik(family, y, trials=None):
    """The log-likelihood of the saturated model (mu_i = y_i), constants included."""
    m = np.ones_like(y) if trials is None else trials
    if family in ("binomial", "logistic"):
        const = special.gammaln(m + 1) - special.gammaln(y + 1) - special.gammaln(m - y + 1)
        return np.sum(const + special.xlogy(y, y / m) + special.xlogy(m - y, 1 - y / m))
    if family == "poisson":
        return np.sum(special.xlogy(y, y) - y - special.gammaln(y + 1))
    raise ValueError(family)


def group_rows(groups, labels):
    """The row indices of each group, in the order of labels; every row in one group."""
    idx = [np.flatnonzero(groups == lab) for lab in labels]
    assert sum(len(i) for i in idx) == len(groups)
    return idx


class Group:
    """One group's log joint h(b) = sum_i loglik_i(off_i + z_i b) + log N(b; 0, Sigma)."""

    def __init__(self, family, off, Z, y, trials, theta, Sigma):
        self.family, self.off, self.Z, self.y = family, off, Z, y
        self.trials, self.theta = trials, theta
        self.P = np.linalg.inv(Sigma)
        self.prior_const = -0.5 * (len(Sigma) * LOG2PI + np.linalg.slogdet(Sigma)[1])

    def terms(self, b):
        ll, d1, d2 = row_loglik(self.family, self.off + self.Z @ b, self.y, self.trials,
                                self.theta)
        h = ll.sum() - 0.5 * b @ self.P @ b + self.prior_const
        grad = self.Z.T @ d1 - self.P @ b
        H = self.Z.T @ (-d2[:, None] * self.Z) + self.P
        return h, grad, H

    def mode(self):
        """Damped Newton from b = 0 to a gradient of 1e-12 (h is strictly concave)."""
        b = np.zeros(self.Z.shape[1])
        h, grad, H = self.terms(b)
        for _ in range(200):
            step = np.linalg.solve(H, grad)
            t = 1.0
            while True:
                h_new, grad_new, H_new = self.terms(b + t * step)
                if h_new >= h - 1e-14 * abs(h) or t < 1e-10:
                    break
                t /= 2
            b, h, grad, H = b + t * step, h_new, grad_new, H_new
            if np.max(np.abs(grad)) < 1e-12 * max(1.0, abs(h)):
                break
        return b, h, H


def fit_groups(model, fit_name):
    """The Group of each label of a fit, in its ranef order, at its beta and Sigma."""
    X, Z, y, groups, trials, ref = load_model(model)
    fit = ref["fits"][fit_name]
    off = X @ fit["fixef"]
    out = []
    for r in group_rows(groups, fit["ranef"]["labels"]):
        out.append(Group(ref["family"], off[r], Z[r], y[r],
                         None if trials is None else trials[r], fit.get("theta"),
                         fit["Sigma"]))
    return out


def laplace(model, fit_name):
    """Laplace approximation of the marginal log-likelihood at the fit's parameters: the sum
    over groups of h(b_hat) + q/2 log(2 pi) - 1/2 log det H; also the modes and H^-1."""
    total, modes, covs = 0.0, [], []
    for grp in fit_groups(model, fit_name):
        b, h, H = grp.mode()
        total += h + 0.5 * len(b) * LOG2PI - 0.5 * np.linalg.slogdet(H)[1]
        modes.append(b)
        covs.append(np.linalg.inv(H))
    return total, np.array(modes), np.array(covs)


def aghq(model, fit_name, nagq):
    """Adaptive Gauss-Hermite quadrature (one scalar random effect) around each group's
    mode with its Laplace scale, fully normalised; nagq = 1 is the Laplace approximation."""
    x, w = np.polynomial.hermite_e.hermegauss(nagq)
    total = 0.0
    for grp in fit_groups(model, fit_name):
        b, h, H = grp.mode()
        s = 1.0 / np.sqrt(H[0, 0])
        vals = np.array([grp.terms(b + s * xk)[0] for xk in x]) - h
        total += h + np.log(s) + np.log(np.sum(w * np.exp(vals + 0.5 * x**2)))
    return total


def exact_q1(model, fit_name):
    """The marginal log-likelihood (one scalar random effect) by adaptive scipy quadrature,
    each group's integrand scaled by its value at the mode."""
    total = 0.0
    for grp in fit_groups(model, fit_name):
        b, h, H = grp.mode()
        s = 1.0 / np.sqrt(H[0, 0])
        val, _ = integrate.quad(lambda u: np.exp(grp.terms(b + s * np.array([u]))[0] - h),
                                -np.inf, np.inf, epsabs=0, epsrel=1e-13, limit=200)
        total += h + np.log(s) + np.log(val)
    return total


# ---------------------------------------------------------------------- the data themselves

@pytest.mark.parametrize("model", MODELS)
def test_data_shapes_and_groups_agree_with_the_fits(model):
    X, Z, y, groups, trials, ref = load_model(model)
    d = ref["data"]
    assert X.shape == (d["n_rows"], len(d["X_columns"]))
    assert Z.shape == (d["n_rows"], len(d["Z_columns"]))
    assert y.shape == groups.shape == (d["n_rows"],)
    assert (trials is None) == (ref["family"] != "binomial")
    for name, fit in ref["fits"].items():
        q = Z.shape[1]
        assert fit["nobs"] == len(y), name
        assert fit["fixef"].shape == (X.shape[1],), name
        assert fit["fixef_names"] == d["X_columns"], name
        assert fit["Sigma"].shape == (q, q), name
        np.testing.assert_array_equal(fit["Sigma"], fit["Sigma"].T)
        assert np.all(np.linalg.eigvalsh(fit["Sigma"]) > 0), name
        re = fit["ranef"]
        assert fit["n_groups"] == len(re["labels"]) == len(np.unique(groups)), name
        assert sorted(re["labels"]) == sorted(np.unique(groups)), name
        assert list(re["columns"]) == d["Z_columns"], name
        assert re["modes"].shape == (fit["n_groups"], q), name
        assert re["cond_cov"].shape == (fit["n_groups"], q, q), name
        if ref["re_cov"] == "diag":
            assert fit["Sigma"][0, 1] == 0.0, name


def test_versions_recorded():
    v = versions()
    assert v["lme4"] == "1.1.31" and v["glmmTMB"] == "1.1.5"
    assert v["R"].startswith("R version 4.")


def test_nbinom2_alpha_is_one_over_theta():
    fit = load_model("grouseticks_nbinom2")[-1]["fits"]["glmmTMB"]
    assert fit["alpha"] == pytest.approx(1 / fit["theta"], rel=1e-15)
    assert 0 < fit["theta"] < 100


def test_grouseticks_height_is_standardised():
    X = load_model("grouseticks_poisson")[0]
    h = X[:, 3]
    assert abs(h.mean()) < 1e-14 and h.std(ddof=1) == pytest.approx(1, rel=1e-14)
    np.testing.assert_array_equal(X[:, 0], 1.0)
    assert set(np.unique(X[:, 1:3].sum(1))) == {0.0, 1.0}


# ------------------------------------------------------------------ gaussian: closed forms

@pytest.mark.parametrize("fit_name", ["lmer_ml", "glmmTMB"])
@pytest.mark.parametrize("model", GAUSSIAN)
def test_lmm_loglik_is_the_closed_form_marginal(model, fit_name):
    """y_g ~ N(X_g beta, Z_g Sigma Z_g' + sigma^2 I) at the reported parameters."""
    X, Z, y, groups, _, ref = load_model(model)
    fit = ref["fits"][fit_name]
    total = 0.0
    for r in group_rows(groups, fit["ranef"]["labels"]):
        V = Z[r] @ fit["Sigma"] @ Z[r].T + fit["sigma"] ** 2 * np.eye(len(r))
        e = y[r] - X[r] @ fit["fixef"]
        total -= 0.5 * (len(r) * LOG2PI + np.linalg.slogdet(V)[1] + e @ np.linalg.solve(V, e))
    assert total == pytest.approx(fit["logLik"], abs=1e-6)


@pytest.mark.parametrize("model", GAUSSIAN)
def test_lmer_ranef_are_the_closed_form_conditionals(model):
    """lmer's conditional modes and variances are those of b_g | y_g at the estimates:
    covariance (Z'Z / sigma^2 + Sigma^-1)^-1 and mean that times Z'(y - X beta) / sigma^2.
    For (Days || Subject) lme4 gives each term's variance but no covariance between the
    terms: those entries are NaN."""
    X, Z, y, groups, _, ref = load_model(model)
    fit = ref["fits"]["lmer_ml"]
    s2 = fit["sigma"] ** 2
    known = np.isfinite(fit["ranef"]["cond_cov"][0])
    assert known.all() == (ref["re_cov"] == "full")
    np.testing.assert_array_equal(known.diagonal(), True)
    for k, r in enumerate(group_rows(groups, fit["ranef"]["labels"])):
        C = np.linalg.inv(Z[r].T @ Z[r] / s2 + np.linalg.inv(fit["Sigma"]))
        mean = C @ Z[r].T @ (y[r] - X[r] @ fit["fixef"]) / s2
        np.testing.assert_allclose(fit["ranef"]["modes"][k], mean, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(fit["ranef"]["cond_cov"][k][known], C[known], rtol=1e-9)


@pytest.mark.parametrize("model", GAUSSIAN)
def test_lmer_and_glmmtmb_agree_on_the_maximum(model):
    fits = load_model(model)[-1]["fits"]
    a, b = fits["lmer_ml"], fits["glmmTMB"]
    assert a["logLik"] == pytest.approx(b["logLik"], abs=1e-7)
    np.testing.assert_allclose(a["fixef"], b["fixef"], rtol=1e-5)
    np.testing.assert_allclose(a["Sigma"], b["Sigma"], rtol=1e-4, atol=1e-6)
    assert a["sigma"] == pytest.approx(b["sigma"], rel=1e-5)


# ---------------------------------------------------------- other families: Laplace, AGHQ

# How closely each package's logLik is the Laplace approximation at its own estimates.
# glmmTMB: to its inner Newton's accuracy.  glmer at its default tolPwrss = 1e-7 stops its
# inner iterations early (cbpp: 2.8e-4 below); at 1e-12 its modes agree with the ones here to
# 1e-12, but its stored log-determinant ldL2 is that of weights one step off its final fitted
# mu (grouseticks: 1.1e-5 on the deviance, 5.7e-6 on logLik).
LOGLIK_ACCURACY = {"glmmTMB": 1e-6, "glmer_nagq1_tight": 1e-5, "glmer_nagq1": 1e-3}


@pytest.mark.parametrize("model,fit_name", NONGAUSSIAN_NAGQ1)
def test_laplace_loglik_keeps_every_constant(model, fit_name):
    """The reported logLik is the fully-normalised Laplace approximation at the reported
    parameters (binomial coefficients, log y!, the NB gamma terms, the prior's 2 pi)."""
    fit = load_model(model)[-1]["fits"][fit_name]
    total, _, _ = laplace(model, fit_name)
    assert total == pytest.approx(fit["logLik"], abs=LOGLIK_ACCURACY[fit_name])


@pytest.mark.parametrize("model,fit_name", NONGAUSSIAN_NAGQ1)
def test_ranef_are_the_laplace_modes(model, fit_name):
    """The reported modes are the modes of each group's log joint; lme4's conditional
    variances are the inverse of its negative Hessian there, glmmTMB's are larger (they add
    the uncertainty of the outer parameters)."""
    fit = load_model(model)[-1]["fits"][fit_name]
    _, modes, covs = laplace(model, fit_name)
    np.testing.assert_allclose(fit["ranef"]["modes"], modes, rtol=1e-5, atol=1e-6)
    if fit["package"] == "lme4":
        rtol = 1e-4 if fit_name == "glmer_nagq1" else 1e-5
        np.testing.assert_allclose(fit["ranef"]["cond_cov"], covs, rtol=rtol, atol=1e-8)
    else:
        extra = fit["ranef"]["cond_cov"] - covs
        assert np.all(np.diagonal(extra, axis1=1, axis2=2) > 1e-4)


def test_cbpp_nagq10_logLik_drops_the_saturated_loglik():
    """lme4 1.1-31 at nAGQ = 10 reports the quadrature of the deviance residuals: its logLik
    is the fully-normalised 10-point AGHQ minus the saturated log-likelihood."""
    X, Z, y, groups, trials, ref = load_model("cbpp_binomial")
    fit = ref["fits"]["glmer_nagq10"]
    full = aghq("cbpp_binomial", "glmer_nagq10", 10)
    sat = saturated_loglik("binomial", y, trials)
    assert fit["logLik"] - full == pytest.approx(-sat, abs=1e-6)
    assert fit["logLik"] - full == pytest.approx(41.978354, abs=1e-6)


def test_cbpp_nagq10_fully_normalised_is_near_the_laplace_scale():
    """On the fully-normalised scale, the nAGQ = 10 fit's log-likelihood is the exact
    marginal likelihood to quadrature accuracy, and close to the Laplace fits' (the same
    model, a better approximation of the same integral)."""
    fits = load_model("cbpp_binomial")[-1]["fits"]
    full = aghq("cbpp_binomial", "glmer_nagq10", 10)
    assert full == pytest.approx(exact_q1("cbpp_binomial", "glmer_nagq10"), abs=1e-6)
    assert abs(full - fits["glmer_nagq1"]["logLik"]) < 0.1


@pytest.mark.parametrize("model,fit_name", [("cbpp_binomial", "glmer_nagq1"),
                                            ("grouseticks_poisson", "glmmTMB")])
def test_aghq_one_point_is_laplace(model, fit_name):
    """The quadrature above reduces to the Laplace approximation at one node."""
    assert aghq(model, fit_name, 1) == pytest.approx(laplace(model, fit_name)[0], abs=1e-10)


def test_simulated_glmer_stops_short_of_glmmtmb():
    """glmer (default control) stops below glmmTMB's maximum on the simulated q = 2 data,
    with a convergence warning; at tolPwrss = 1e-12 it reaches the same maximum (the Laplace
    approximation here at both sets of estimates agrees to 3e-8)."""
    fits = load_model("simulated_logistic_slope")[-1]["fits"]
    gap = fits["glmmTMB"]["logLik"] - fits["glmer_nagq1"]["logLik"]
    assert 1e-3 < gap < 1e-2
    tight = laplace("simulated_logistic_slope", "glmer_nagq1_tight")[0]
    assert tight == pytest.approx(fits["glmmTMB"]["logLik"], abs=1e-7)
    assert any("failed to converge" in m for m in fits["glmer_nagq1"]["warnings"])
    assert fits["glmmTMB"]["pdHess"] and fits["glmmTMB"]["conv_code"] == 0
