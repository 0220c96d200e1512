"""glmm_laplace against independent references: the gaussian mixed model's closed-form
marginal likelihood maximised by scipy, quadrature of each group's integral, central
differences of the objective, glm_laplace of each group alone; failure paths."""

import warnings

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

import laplace_fast as lf
from laplace_fast._families import lookup
from laplace_fast._glm_prepare import prepare_glm
from laplace_fast._glmm_objective import Objective


def _data(G=30, n=10, seed=2, slope=True):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(G), n)
    x = rng.standard_normal(g.size)
    X = np.column_stack([np.ones_like(x), x])
    b = rng.multivariate_normal([0, 0], [[0.6, 0.2], [0.2, 0.3]], G)
    eta = 0.2 + 0.5 * x + b[g, 0] + (b[g, 1] * x if slope else 0.0)
    return rng, g, x, X, eta


def _objective(X, Z, y, g, family, param=None, estimate=False, re_cov="full", nagq=1):
    fam = lookup(family)
    kw = {fam.parameter: param} if param is not None else {}
    both = prepare_glm(np.hstack([Z, X]), y, family=fam, groups=g, **kw)
    return Objective(both, Z.shape[1], X.shape[1], re_cov=re_cov, estimate=estimate,
                     fixed=None if estimate else param, nagq=nagq, nthreads=1)


def test_gaussian_is_exact_maximum_likelihood():
    rng, g, x, X, eta = _data()
    y = eta + 0.4 * rng.standard_normal(g.size)
    fit = lf.glmm_laplace(X, y, g, family="gaussian")
    Xg, yg = X.reshape(30, 10, 2), y.reshape(30, 10)     # the groups, 10 rows each

    def nll(th):    # y_g ~ N(X_g beta, X_g Sigma X_g^T + s^2 I), independently
        L = np.array([[np.exp(th[2]), 0.0], [th[3], np.exp(th[4])]])
        V = Xg @ (L @ L.T) @ Xg.transpose(0, 2, 1) + np.exp(2 * th[5]) * np.eye(10)
        r = yg - Xg @ th[:2]
        quad = np.einsum("gi,gi->", r, np.linalg.solve(V, r[..., None])[..., 0])
        return 0.5 * (quad + np.linalg.slogdet(V)[1].sum() + y.size * np.log(2 * np.pi))

    ref = optimize.minimize(nll, np.array([0.0, 0.0, -0.5, 0.0, -0.5, -0.5]), method="BFGS",
                            options={"gtol": 1e-8})
    ref = optimize.minimize(nll, ref.x, method="Nelder-Mead",
                            options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
    assert fit.status == lf.Status.OK and fit.converged
    assert fit.log_likelihood == pytest.approx(-ref.fun, abs=1e-6)
    assert fit.log_likelihood >= -ref.fun - 1e-9
    np.testing.assert_allclose(fit.theta, ref.x, atol=1e-5)
    L = np.array([[np.exp(ref.x[2]), 0.0], [ref.x[3], np.exp(ref.x[4])]])
    np.testing.assert_allclose(fit.re_cov, L @ L.T, atol=1e-6)
    assert fit.scale == pytest.approx(np.exp(ref.x[5]), rel=1e-6)
    k = 6
    assert fit.aic == pytest.approx(-2 * fit.log_likelihood + 2 * k)
    assert fit.bic == pytest.approx(-2 * fit.log_likelihood + k * np.log(g.size))


@pytest.mark.parametrize("family, param, estimate", [
    ("logistic", None, False), ("probit", None, False), ("poisson", None, False),
    ("gaussian", 0.7, False), ("gaussian", 0.7, True),
    ("negative_binomial", 0.5, False), ("negative_binomial", 0.5, True),
])
@pytest.mark.parametrize("re_cov", ["full", "diag"])
def test_gradient_is_the_objectives_derivative(family, param, estimate, re_cov):
    rng, g, x, X, eta = _data(G=20, n=12, seed=4)
    y = {"logistic": lambda: rng.random(g.size) < special.expit(eta),
         "probit": lambda: rng.random(g.size) < special.ndtr(eta),
         "poisson": lambda: rng.poisson(np.exp(eta)),
         "gaussian": lambda: eta + 0.7 * rng.standard_normal(g.size),
         "negative_binomial": lambda: rng.poisson(np.exp(eta) * rng.gamma(2, 0.5, g.size)),
         }[family]().astype(float)
    obj = _objective(X, X, y, g, family, param, estimate, re_cov)
    theta = obj.start() + 0.2 * rng.standard_normal(obj.k)
    _, grad = obj.value_grad(theta)
    # central differences of F with steps h and h/2, Richardson-extrapolated
    h = 1e-3
    num = np.empty(obj.k)
    for j in range(obj.k):
        e = np.zeros(obj.k)
        e[j] = 1.0
        d1 = (obj.value(theta + h * e)[0] - obj.value(theta - h * e)[0]) / (2 * h)
        d2 = (obj.value(theta + h / 2 * e)[0] - obj.value(theta - h / 2 * e)[0]) / h
        num[j] = (4 * d2 - d1) / 3
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-6)


def test_objective_is_the_sum_of_group_evidences():
    rng, g, x, X, eta = _data(G=8, n=15, seed=5)
    y = (rng.random(g.size) < special.expit(eta)).astype(float)
    obj = _objective(X, X, y, g, "logistic")
    theta = np.array([0.1, 0.4, np.log(0.8), 0.3, np.log(0.5)])
    F, _ = obj.value(theta)
    S = np.array([[0.8, 0.0], [0.3, 0.5]]) @ np.array([[0.8, 0.0], [0.3, 0.5]]).T
    total = 0.0
    for k in range(8):
        m = g == k
        # an independent Laplace approximation: Newton on the group's log joint
        b = np.zeros(2)
        P = np.linalg.inv(S)
        for _ in range(50):
            mu = special.expit(X[m] @ theta[:2] + X[m] @ b)
            grad = X[m].T @ (y[m] - mu) - P @ b
            H = X[m].T @ (X[m] * (mu * (1 - mu))[:, None]) + P
            b = b + np.linalg.solve(H, grad)
        e = X[m] @ theta[:2] + X[m] @ b
        joint = (np.sum(y[m] * e - np.logaddexp(0, e))
                 + stats.multivariate_normal(np.zeros(2), S).logpdf(b))
        mu = special.expit(e)
        H = X[m].T @ (X[m] * (mu * (1 - mu))[:, None]) + P
        total += joint + np.log(2 * np.pi) - 0.5 * np.linalg.slogdet(H)[1]
    assert F == pytest.approx(total, rel=1e-11)


def test_adaptive_quadrature_matches_numerical_integration():
    rng, g, x, X, eta = _data(G=6, n=8, seed=6, slope=False)
    y = (rng.random(g.size) < special.expit(eta)).astype(float)
    Z = np.ones((g.size, 1))
    beta, sd = np.array([0.2, 0.6]), 1.1
    theta = np.array([beta[0], beta[1], np.log(sd)])
    exact = 0.0
    for k in range(6):
        m = g == k

        def integrand(b):
            e = X[m] @ beta + b
            return np.exp(np.sum(y[m] * e - np.logaddexp(0, e))) * stats.norm.pdf(b, 0, sd)
        exact += np.log(integrate.quad(integrand, -12, 12, epsabs=0, epsrel=1e-13)[0])
    laplace = _objective(X, Z, y, g, "logistic").value(theta)[0]
    agq = {K: _objective(X, Z, y, g, "logistic", nagq=K).value(theta)[0] for K in (1, 25)}
    assert agq[1] == pytest.approx(laplace, abs=1e-12)   # one node: the Laplace evidence
    assert agq[25] == pytest.approx(exact, abs=1e-8)
    assert abs(agq[25] - exact) < 0.01 * abs(laplace - exact)


def test_random_effects_are_glm_laplace_of_each_group():
    rng, g, x, X, eta = _data(G=12, n=15, seed=7)
    y = rng.poisson(np.exp(eta)).astype(float)
    fit = lf.glmm_laplace(X, y, g, family="poisson")
    assert fit.converged
    P = np.linalg.inv(fit.re_cov)
    P = 0.5 * (P + P.T)
    for k in (0, 5, 11):
        m = g == k
        one = lf.glm_laplace(X[m], y[m], family="poisson", offset=X[m] @ fit.fixef,
                             prior_precision=P)
        np.testing.assert_allclose(fit.random_effects.mode[k], one.mode, rtol=1e-9)
        np.testing.assert_allclose(fit.random_effects.cov[k], one.cov, rtol=1e-9)
        assert fit.random_effects.labels[k] == k
    # the known groups' predictions, by hand: E exp(eta) = exp(m + v / 2)
    xn = np.array([[1.0, 0.3], [1.0, -1.0]])
    b, C = fit.random_effects.mode[3], fit.random_effects.cov[3]
    m_ = xn @ fit.fixef + xn @ b
    v_ = np.einsum("ij,jk,ik->i", xn, C, xn)
    np.testing.assert_allclose(fit.predict(xn, groups=[3, 3]), np.exp(m_ + v_ / 2),
                               rtol=1e-12)
    # a new group: the population N(0, Sigma)
    v0 = np.einsum("ij,jk,ik->i", xn, fit.re_cov, xn)
    np.testing.assert_allclose(fit.predict(xn, groups=[99, 99]),
                               np.exp(xn @ fit.fixef + v0 / 2), rtol=1e-12)
    np.testing.assert_allclose(fit.predict(xn), fit.predict(xn, groups=[99, 99]))


def test_same_bits_for_any_thread_count():
    rng, g, x, X, eta = _data(G=40, n=10, seed=8)
    y = (rng.random(g.size) < special.expit(eta)).astype(float)
    one = lf.glmm_laplace(X, y, g, n_threads=1)
    two = lf.glmm_laplace(X, y, g, n_threads=2)
    for f in ("fixef", "fixef_cov", "re_cov", "theta"):
        assert np.array_equal(getattr(one, f), getattr(two, f), equal_nan=True), f
    assert one.log_likelihood == two.log_likelihood
    assert np.array_equal(one.random_effects.mode, two.random_effects.mode)


def test_variance_at_zero_is_a_boundary_caveat():
    rng, g, x, X, eta = _data(seed=9)
    y = 1.0 + 0.5 * x + 0.4 * rng.standard_normal(g.size)     # no group effect
    with pytest.warns(lf.LaplaceWarning, match="BOUNDARY"):
        fit = lf.glmm_laplace(X, y, g, Z=np.ones((g.size, 1)), family="gaussian")
    assert fit.status == lf.Status.BOUNDARY and fit.converged
    assert fit.re_cov[0, 0] < 1e-8
    assert "boundary" in fit.message
    # the fixed effects are then those of the linear model, with its standard errors
    ols = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(fit.fixef, ols, atol=1e-5)
    s2 = np.sum((y - X @ ols) ** 2) / g.size
    np.testing.assert_allclose(fit.fixef_cov, s2 * np.linalg.inv(X.T @ X), rtol=1e-3)


def test_summary_and_fields():
    rng, g, x, X, eta = _data(seed=10)
    y = (rng.random(g.size) < special.expit(eta)).astype(float)
    fit = lf.glmm_laplace(X, y, g, re_cov="diag")
    assert fit.re_cov[0, 1] == 0.0 and fit.re_cov.shape == (2, 2)
    assert fit.fixef_cov.shape == (2, 2) and np.all(np.linalg.eigvalsh(fit.fixef_cov) > 0)
    assert fit.scale is None and fit.dispersion is None
    text = fit.summary()
    assert "Generalized linear mixed model" in text and "logistic" in text
    assert f"{fit.log_likelihood:9.3f}" in text
    assert fit.nfev > fit.niter >= 1


@pytest.mark.parametrize("kw, exc, match", [
    ({"groups": np.zeros(5)}, ValueError, "groups must have shape"),
    ({"Z": np.ones((7, 1))}, ValueError, "Z must have shape"),
    ({"Z": np.full((300, 1), np.nan)}, ValueError, "Z must be finite"),
    ({"y": np.full(300, 2.0)}, ValueError, "y must be 0 or 1"),
    ({"re_cov": "unstructured"}, ValueError, "re_cov must be one of"),
    ({"nagq": 5}, ValueError, "nagq > 1 needs a single random effect"),
    ({"nagq": 0}, ValueError, "nagq must be a positive integer"),
    ({"scale": 1.0}, ValueError, "scale is only for family='gaussian'"),
    ({"family": "gaussian", "scale": -1.0}, ValueError, "scale must be a positive number"),
    ({"family": "wald"}, ValueError, "family must be one of"),
])
def test_bad_input_is_named(kw, exc, match):
    rng, g, x, X, eta = _data()
    args = {"X": X, "y": (eta > 0).astype(float), "groups": g}
    args.update({k: v for k, v in kw.items() if k in args})
    with pytest.raises(exc, match=match):
        lf.glmm_laplace(args["X"], args["y"], args["groups"],
                        **{k: v for k, v in kw.items() if k not in args})


def test_more_random_effects_than_rows_in_every_group():
    g = np.repeat(np.arange(10), 2)
    X = np.ones((20, 1))
    Z = np.random.default_rng(0).standard_normal((20, 3))
    with pytest.raises(ValueError, match="every group has fewer rows"):
        lf.glmm_laplace(X, np.zeros(20), g, Z=Z)


def test_no_runtime_warning_leaks():
    rng, g, x, X, eta = _data(seed=11)
    y = rng.poisson(np.exp(eta + 2.0) * rng.gamma(2.0, 0.5, g.size)).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit = lf.glmm_laplace(X, y, g, family="negative_binomial")
    assert fit.converged and 0.2 < fit.dispersion < 1.0     # gamma noise: 0.5


def test_unit_weights_and_offsets_change_nothing_but_what_they_should():
    rng, g, x, X, eta = _data(G=15, n=12, seed=12)
    y = rng.poisson(np.exp(eta)).astype(float)
    Z = np.ones((g.size, 1))
    base = lf.glmm_laplace(X, y, g, Z=Z, family="poisson")
    weighted = lf.glmm_laplace(X, y, g, Z=Z, family="poisson", weights=np.ones(g.size))
    np.testing.assert_allclose(weighted.fixef, base.fixef, rtol=1e-9)
    assert weighted.log_likelihood == pytest.approx(base.log_likelihood, rel=1e-12)
    # an offset of 0.7 moves the intercept by -0.7 and leaves the rest
    shifted = lf.glmm_laplace(X, y, g, Z=Z, family="poisson", offset=np.full(g.size, 0.7))
    np.testing.assert_allclose(shifted.fixef, base.fixef - [0.7, 0.0], atol=1e-6)
    np.testing.assert_allclose(shifted.re_cov, base.re_cov, rtol=1e-5)
    assert shifted.log_likelihood == pytest.approx(base.log_likelihood, abs=1e-7)
    # a weight of 2 on a row counts it twice
    rows = np.concatenate([np.arange(g.size), [0, 1]])
    doubled = lf.glmm_laplace(X[rows], y[rows], g[rows], Z=Z[rows], family="poisson")
    w = np.ones(g.size)
    w[[0, 1]] = 2.0
    weighted = lf.glmm_laplace(X, y, g, Z=Z, family="poisson", weights=w)
    np.testing.assert_allclose(weighted.fixef, doubled.fixef, rtol=1e-6)
    assert weighted.log_likelihood == pytest.approx(doubled.log_likelihood, abs=1e-6)
