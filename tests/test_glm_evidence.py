"""glm_laplace's "evidence" hyperparameters against independent references:
scikit-learn's BayesianRidge (gaussian, precision and scale), the conjugate marginal
likelihood maximised by scipy (gaussian, precision), scikit-learn's Gaussian process
classifier with a dot-product kernel and a numpy Laplace evidence of our own (logistic),
and a numpy/scipy negative binomial Laplace evidence (dispersion)."""

import warnings

import numpy as np
import pytest
from scipy import optimize, special, stats

import laplace_fast as lf


def _design(rng, n, d):
    return np.column_stack([np.ones(n), rng.standard_normal((n, d - 1))])


def _gaussian(seed, n=60, d=4, sigma=0.5):
    rng = np.random.default_rng(seed)
    X = _design(rng, n, d)
    return X, X @ rng.standard_normal(d) + sigma * rng.standard_normal(n)


def _logistic(seed, n=60, d=3):
    rng = np.random.default_rng(seed)
    X = _design(rng, n, d)
    p = special.expit(X @ np.array([0.4, 1.0, -0.8, 0.5][:d]))
    return X, (rng.random(n) < p).astype(float)


def _negbin(seed, n=80, d=3, kappa=0.6):
    rng = np.random.default_rng(seed)
    X = _design(rng, n, d)
    mu = np.exp(X @ np.array([0.8, 0.5, -0.4, 0.3][:d]))
    return X, rng.poisson(mu * rng.gamma(1 / kappa, kappa, n)).astype(float)


# ----------------------------------------------------------------------------- gaussian

@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gaussian_both_is_bayesian_ridge(seed):
    from sklearn.linear_model import BayesianRidge
    X, y = _gaussian(seed)
    res = lf.glm_laplace(X, y, family="gaussian", prior_precision="evidence",
                         scale="evidence")
    br = BayesianRidge(fit_intercept=False, alpha_1=1e-14, alpha_2=1e-14, lambda_1=1e-14,
                       lambda_2=1e-14, tol=1e-15, max_iter=100000).fit(X, y)
    assert res.status == lf.Status.OK and not res.evidence_at_bound
    np.testing.assert_allclose(res.mode, br.coef_, rtol=1e-6)
    np.testing.assert_allclose(res.prior_precision, br.lambda_, rtol=1e-6)
    np.testing.assert_allclose(1 / res.scale ** 2, br.alpha_, rtol=1e-6)


def _conjugate_alpha(X, y, sigma, m0, offset):
    """argmax over alpha of log N(y; X m0 + offset, sigma^2 I + X X' / alpha)."""
    r = y - X @ m0 - offset
    n = len(y)

    def nll(u):
        K = sigma ** 2 * np.eye(n) + X @ X.T / np.exp(u)
        return -stats.multivariate_normal(np.zeros(n), K).logpdf(r)

    u = optimize.minimize_scalar(nll, bracket=(-3.0, 3.0), tol=1e-12).x
    return np.exp(u)


@pytest.mark.parametrize("seed", [3, 4])
def test_gaussian_precision_is_conjugate_marginal_likelihood(seed):
    X, y = _gaussian(seed, n=40, d=3)
    m0 = np.array([0.2, -0.1, 0.3])
    offset = np.linspace(-0.5, 0.5, len(y))
    res = lf.glm_laplace(X, y, family="gaussian", scale=0.7, prior_mean=m0, offset=offset,
                         prior_precision="evidence")
    ref = _conjugate_alpha(X, y, 0.7, m0, offset)
    np.testing.assert_allclose(res.prior_precision, ref, rtol=1e-6)
    assert res.scale == 0.7 and res.status == lf.Status.OK


def test_gaussian_scale_alone_is_its_stationary_point():
    """With the prior fixed, the evidence-optimal scale is where the conjugate marginal
    likelihood's derivative in sigma vanishes (scipy's maximiser)."""
    X, y = _gaussian(5, n=30, d=3, sigma=0.8)
    res = lf.glm_laplace(X, y, family="gaussian", prior_precision=2.0, scale="evidence")

    def nll(logs):
        K = np.exp(2 * logs) * np.eye(len(y)) + X @ X.T / 2.0
        return -stats.multivariate_normal(np.zeros(len(y)), K).logpdf(y)

    ref = np.exp(optimize.minimize_scalar(nll, bracket=(-2.0, 1.0), tol=1e-12).x)
    np.testing.assert_allclose(res.scale, ref, rtol=1e-6)
    assert res.prior_precision is None


# ----------------------------------------------------------------------------- logistic

def test_logistic_is_gaussian_process_classifier():
    from sklearn.gaussian_process import GaussianProcessClassifier
    from sklearn.gaussian_process.kernels import ConstantKernel, DotProduct
    X, y = _logistic(3, d=3)
    res = lf.glm_laplace(X, y, family="logistic", prior_precision="evidence")

    def tight(obj, theta0, bounds):
        o = optimize.minimize(obj, theta0, method="L-BFGS-B", jac=True, bounds=bounds,
                              options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 1000})
        return o.x, o.fun

    kernel = ConstantKernel(1.0, (1e-6, 1e6)) * DotProduct(sigma_0=0.0,
                                                           sigma_0_bounds="fixed")
    gpc = GaussianProcessClassifier(kernel=kernel, optimizer=tight,
                                    max_iter_predict=1000).fit(X, y)
    np.testing.assert_allclose(res.prior_precision, 1 / gpc.kernel_.k1.constant_value,
                               rtol=1e-6)
    np.testing.assert_allclose(res.log_evidence, gpc.log_marginal_likelihood_value_,
                               rtol=1e-9)


def _logistic_evidence(X, y, alpha):
    """The Laplace evidence of logistic regression under N(0, I / alpha), by a plain
    numpy Newton and slogdet."""
    d = X.shape[1]
    w = np.zeros(d)
    for _ in range(100):
        p = special.expit(X @ w)
        A = X.T @ (X * (p * (1 - p))[:, None]) + alpha * np.eye(d)
        step = np.linalg.solve(A, X.T @ (y - p) - alpha * w)
        w += step
        if np.max(np.abs(step)) < 1e-14:
            break
    eta = X @ w
    p = special.expit(eta)
    A = X.T @ (X * (p * (1 - p))[:, None]) + alpha * np.eye(d)
    loglik = np.sum(y * eta - np.logaddexp(0, eta))
    return (loglik - 0.5 * alpha * w @ w + 0.5 * d * np.log(alpha)
            - 0.5 * np.linalg.slogdet(A)[1])


@pytest.mark.parametrize("seed", [1, 2, 7])
def test_logistic_is_numpy_laplace_evidence_maximum(seed):
    X, y = _logistic(seed, n=50, d=4)
    res = lf.glm_laplace(X, y, family="logistic", prior_precision="evidence")
    u = optimize.minimize_scalar(lambda u: -_logistic_evidence(X, y, np.exp(u)),
                                 bracket=(-2.0, 2.0), tol=1e-12).x
    np.testing.assert_allclose(res.prior_precision, np.exp(u), rtol=1e-6)
    np.testing.assert_allclose(res.log_evidence, _logistic_evidence(X, y, np.exp(u)),
                               rtol=1e-10)


# ----------------------------------------------------------------------------- NB

def _negbin_evidence(X, y, alpha, kappa):
    """The Laplace evidence of the NB2 regression (Var = mu + kappa mu^2) under
    N(0, I / alpha), by numpy Newton, scipy's nbinom and slogdet."""
    d = X.shape[1]
    w = np.zeros(d)
    for _ in range(200):
        mu = np.exp(X @ w)
        grad = X.T @ ((y - mu) / (1 + kappa * mu)) - alpha * w
        h = mu * (1 + kappa * y) / (1 + kappa * mu) ** 2
        A = X.T @ (X * h[:, None]) + alpha * np.eye(d)
        step = np.linalg.solve(A, grad)
        w += step
        if np.max(np.abs(step)) < 1e-14:
            break
    mu = np.exp(X @ w)
    h = mu * (1 + kappa * y) / (1 + kappa * mu) ** 2
    A = X.T @ (X * h[:, None]) + alpha * np.eye(d)
    r = 1 / kappa
    loglik = np.sum(stats.nbinom.logpmf(y, r, r / (r + mu)))
    return (loglik - 0.5 * alpha * w @ w + 0.5 * d * np.log(alpha)
            - 0.5 * np.linalg.slogdet(A)[1])


def test_negbin_dispersion_is_numpy_laplace_evidence_maximum():
    X, y = _negbin(0)
    res = lf.glm_laplace(X, y, family="negative_binomial", prior_precision=1.0,
                         dispersion="evidence")
    v = optimize.minimize_scalar(lambda v: -_negbin_evidence(X, y, 1.0, np.exp(v)),
                                 bracket=(-2.0, 0.0), tol=1e-12).x
    np.testing.assert_allclose(res.dispersion, np.exp(v), rtol=1e-6)
    assert res.prior_precision is None and res.status == lf.Status.OK


def test_negbin_both_is_numpy_laplace_evidence_maximum():
    X, y = _negbin(1)
    res = lf.glm_laplace(X, y, family="negative_binomial", prior_precision="evidence",
                         dispersion="evidence")
    o = optimize.minimize(lambda t: -_negbin_evidence(X, y, *np.exp(t)), [0.0, -0.5],
                          method="Nelder-Mead",
                          options={"xatol": 1e-11, "fatol": 1e-14, "maxiter": 5000})
    np.testing.assert_allclose([res.prior_precision, res.dispersion], np.exp(o.x),
                               rtol=1e-6)


@pytest.mark.parametrize("family,kw", [("probit", {}), ("poisson", {}),
                                       ("binomial", {"trials": 4.0})])
def test_other_families_stationary_in_the_kernels_evidence(family, kw):
    """The chosen precision is where the kernel's own log_evidence is largest: fits at
    alpha e^{+-1e-3} give no larger evidence, and their central difference vanishes."""
    rng = np.random.default_rng(11)
    X = _design(rng, 60, 3)
    eta = X @ np.array([0.3, 0.6, -0.4])
    y = (rng.binomial(4, special.expit(eta)) if family == "binomial" else
         rng.poisson(np.exp(eta)) if family == "poisson" else
         (rng.random(60) < special.ndtr(eta))).astype(float)
    res = lf.glm_laplace(X, y, family=family, prior_precision="evidence", **kw)
    ev = [lf.glm_laplace(X, y, family=family, prior_precision=res.prior_precision
                         * np.exp(s), tol=1e-14, **kw).log_evidence for s in (-1e-3, 1e-3)]
    assert max(ev) <= res.log_evidence + 1e-12
    assert abs(ev[1] - ev[0]) / 2e-3 < 1e-6


# ----------------------------------------------------------------------------- batches

def _stack(make, seeds):
    pairs = [make(s) for s in seeds]
    return np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs])


CASES = [("logistic", {"prior_precision": "evidence"}, _logistic),
         ("gaussian", {"prior_precision": "evidence", "scale": "evidence"}, _gaussian),
         ("negative_binomial", {"prior_precision": "evidence", "dispersion": "evidence"},
          _negbin)]


@pytest.mark.parametrize("family,kw,make", CASES)
def test_batch_equals_each_problem_alone(family, kw, make):
    X, y = _stack(make, range(6))
    batch = lf.glm_laplace(X, y, family=family, **kw)
    assert batch.batch_shape == (6,) and bool(batch.converged.all())
    for i in range(6):
        one = lf.glm_laplace(X[i], y[i], family=family, **kw)
        assert np.array_equal(one.mode, batch.mode[i])
        assert np.array_equal(one.cov, batch.cov[i])
        assert one.prior_precision == batch.prior_precision[i]
        assert one.log_evidence == batch.log_evidence[i]
        assert batch[i].prior_precision == one.prior_precision


def test_grouped_batch_equals_each_group_alone():
    X, y = _stack(_logistic, range(4))
    lengths = [60, 45, 50, 30]
    Xg = np.concatenate([X[i, :m] for i, m in enumerate(lengths)])
    yg = np.concatenate([y[i, :m] for i, m in enumerate(lengths)])
    g = np.repeat(list("dcba"), lengths)
    batch = lf.glm_laplace(Xg, yg, groups=g, prior_precision="evidence")
    assert batch.labels.tolist() == ["a", "b", "c", "d"]
    for k, lab in enumerate(batch.labels):
        rows = g == lab
        one = lf.glm_laplace(Xg[rows], yg[rows], groups=g[rows], prior_precision="evidence")
        assert np.array_equal(one.mode[0], batch.mode[k])
        assert one.prior_precision[0] == batch.prior_precision[k]
        ref = optimize.minimize_scalar(
            lambda u: -_logistic_evidence(Xg[rows], yg[rows], np.exp(u)),
            bracket=(-2.0, 2.0), tol=1e-12).x
        np.testing.assert_allclose(batch.prior_precision[k], np.exp(ref), rtol=1e-6)


@pytest.mark.parametrize("family,kw,make", CASES)
def test_threads_do_not_change_the_bits(family, kw, make):
    X, y = _stack(make, range(40))
    one = lf.glm_laplace(X, y, family=family, n_threads=1, **kw)
    two = lf.glm_laplace(X, y, family=family, n_threads=2, **kw)
    for f in ("mode", "cov", "prior_precision", "scale", "dispersion", "niter"):
        assert np.array_equal(getattr(one, f), getattr(two, f)), f


# ----------------------------------------------------------------------------- bounds

def test_data_the_prior_mean_fits_stop_at_the_bound():
    """y symmetric about the prior mean's prediction: the likelihood's gradient there is
    zero, the evidence increases with alpha without bound."""
    X = np.column_stack([np.ones(8), np.repeat([-1.0, 1.0], 4)])
    y = np.array([0, 1, 0, 1, 0, 1, 0, 1.0])
    with pytest.warns(lf.LaplaceWarning, match="search bound"):
        res = lf.glm_laplace(X, y, prior_precision="evidence")
    assert res.status == lf.Status.BOUNDARY and res.evidence_at_bound
    assert res.converged and "search bound" in res.message
    assert res.prior_precision > 1e5


def test_bound_in_a_batch_is_counted_and_indexed():
    X = np.column_stack([np.ones(16), np.tile(np.repeat([-1.0, 1.0], 4), 2)])
    y0 = np.tile([0, 1, 0, 1, 0, 1, 0, 1.0], 2)
    y1 = np.tile([0, 0, 1, 0, 1, 1, 0, 1.0], 2)     # a slope of about 1.1
    with pytest.warns(lf.LaplaceWarning, match="search bound"):
        res = lf.glm_laplace(np.stack([X, X]), np.stack([y0, y1]),
                             prior_precision="evidence")
    assert res.evidence_at_bound.tolist() == [True, False]
    assert "1 where" in res.message and res[0].evidence_at_bound
    assert "search bound" in res[0].message and "search bound" not in res[1].message


# ----------------------------------------------------------------------------- input

@pytest.mark.parametrize("name", ["prior_precision", "scale", "dispersion"])
@pytest.mark.parametrize("bad", ["Evidence", "ml"])
def test_other_strings_raise_naming_the_argument(name, bad):
    X, y = _gaussian(0)
    family = "negative_binomial" if name == "dispersion" else "gaussian"
    kw = {"scale": 1.0} if family == "gaussian" else {"dispersion": 1.0}
    kw[name] = bad
    with pytest.raises(ValueError, match=f"{name} must be .*'evidence'"):
        lf.glm_laplace(X, np.abs(np.round(y)), family=family, **kw)


@pytest.mark.parametrize("family,name", [("logistic", "scale"), ("poisson", "dispersion"),
                                         ("gaussian", "dispersion"),
                                         ("negative_binomial", "scale")])
def test_evidence_for_another_familys_parameter_raises(family, name):
    X, y = _logistic(0)
    with pytest.raises(ValueError, match=f"{name}='evidence' is only for family="):
        lf.glm_laplace(X, y, family=family, **{name: "evidence"})


def test_fixed_priors_leave_the_new_fields_unset():
    X, y = _logistic(0)
    res = lf.glm_laplace(X, y)
    assert res.prior_precision is None and res.evidence_at_bound is None
    batch = lf.glm_laplace(np.stack([X, X]), np.stack([y, y]))
    assert batch.prior_precision is None and batch[0].prior_precision is None


def test_chosen_values_refit_to_the_same_posterior():
    X, y = _gaussian(8)
    res = lf.glm_laplace(X, y, family="gaussian", prior_precision="evidence",
                         scale="evidence")
    again = lf.glm_laplace(X, y, family="gaussian", prior_precision=res.prior_precision,
                           scale=res.scale)
    np.testing.assert_allclose(again.mode, res.mode, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(again.log_evidence, res.log_evidence, rtol=1e-13)
    assert isinstance(res.prior_precision, float) and isinstance(res.scale, float)


def test_no_warning_leaks_from_the_inner_fits():
    X, y = _stack(_logistic, range(5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lf.glm_laplace(X, y, prior_precision="evidence")


def test_per_problem_scale_with_an_evidence_precision():
    X, y = _stack(lambda s: _gaussian(s, n=40, d=3), range(3))
    scale = np.array([0.4, 0.7, 1.1])
    batch = lf.glm_laplace(X, y, family="gaussian", scale=scale,
                           prior_precision="evidence")
    assert batch.scale.tolist() == scale.tolist()
    for i in range(3):
        np.testing.assert_allclose(batch.prior_precision[i],
                                   _conjugate_alpha(X[i], y[i], scale[i], np.zeros(3), 0.0),
                                   rtol=1e-6)


@pytest.mark.parametrize("kw", [{"scale": "evidence"}, {"scale": 0.5}])
def test_gaussian_response_orthogonal_to_x_stops_at_the_bound(kw):
    """X'y = 0: no coefficient is supported, the evidence increases with alpha to the
    end (precision alone, and with the scale, which then has its own maximum)."""
    rng = np.random.default_rng(9)
    X = _design(rng, 30, 3)
    y = rng.standard_normal(30)
    y -= X @ np.linalg.lstsq(X, y, rcond=None)[0]
    with pytest.warns(lf.LaplaceWarning, match="search bound"):
        res = lf.glm_laplace(X, y, family="gaussian", prior_precision="evidence", **kw)
    assert res.status == lf.Status.BOUNDARY and res.evidence_at_bound
    assert res.prior_precision > 1e6
    if kw["scale"] == "evidence":       # the residual variance with no coefficients
        np.testing.assert_allclose(res.scale ** 2, np.mean(y ** 2), rtol=1e-6)
