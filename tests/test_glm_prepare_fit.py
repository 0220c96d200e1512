"""glm_laplace as its two halves: prepare_glm (shapes, labels, layout, once) and
fit_glm (a prior, the memory check, the kernel); the same prepared data refitted under
many priors, checked against the gaussian model's closed-form posterior."""

import numpy as np
import pytest
from scipy import stats

import laplace_fast as lf
from laplace_fast._glm import GLMData, fit_glm, prepare_glm

FIELDS = ("mode", "hessian", "cov", "log_det_cov", "logp", "status", "niter", "nfev", "cond")


def _data(B=4, n=25, s=0.7, seed=2):
    rng = np.random.default_rng(seed)
    X = np.concatenate([np.ones((B, n, 1)), rng.standard_normal((B, n, 2))], axis=-1)
    y = X @ [0.3, -0.8, 1.1] + s * rng.standard_normal((B, n))
    return X, y, s


@pytest.mark.parametrize("alpha", [0.01, 1.0, 30.0])
def test_refit_under_many_priors_matches_closed_form(alpha):
    X, y, s = _data()
    data = prepare_glm(X, y, family="gaussian", scale=s)
    res = fit_glm(data, prior_precision=alpha)
    for b in range(X.shape[0]):
        P = X[b].T @ X[b] / s ** 2 + alpha * np.eye(3)
        np.testing.assert_allclose(res.cov[b], np.linalg.inv(P), rtol=1e-10)
        np.testing.assert_allclose(res.mode[b], np.linalg.solve(P, X[b].T @ y[b]) / s ** 2,
                                   rtol=1e-9)
        marginal = stats.multivariate_normal(np.zeros(X.shape[1]), s ** 2 * np.eye(X.shape[1])
                                             + X[b] @ X[b].T / alpha)
        assert res.log_evidence[b] == pytest.approx(marginal.logpdf(y[b]), rel=1e-10)
    # the halves are glm_laplace, bit for bit
    whole = lf.glm_laplace(X, y, family="gaussian", scale=s, prior_precision=alpha)
    for f in FIELDS:
        assert np.array_equal(getattr(res, f), getattr(whole, f), equal_nan=True), f


def test_prepared_layout():
    X = np.column_stack([np.ones(6), [0.1, -0.2, 0.3, 0.4, -0.5, 0.6]])
    data = prepare_glm(X, [1, 0, 1, 1, 0, 1], groups=["b", "a", "b", "a", "a", "c"])
    assert isinstance(data, GLMData) and data.family.name == "logistic"
    assert data.labels.tolist() == ["a", "b", "c"] and data.batch_shape == (3,)
    assert data.starts.tolist() == [0, 3, 5, 6] and data.nmax == 3 and not data.single
    np.testing.assert_array_equal(data.X[:, 1], [-0.2, 0.4, -0.5, 0.1, 0.3, 0.6])
    one = prepare_glm(X, np.ones(6), family="Normal", scale=2.0)
    assert one.single and one.batch_shape == () and float(one.param) == 2.0


def test_prepare_errors_are_glm_laplaces():
    X, y, _ = _data(B=2)
    for kw, msg in ((dict(family="binomial"), "trials is required for family='binomial'"),
                    (dict(family="poisson", scale=1.0),
                     "scale is only used by family='gaussian', not 'poisson'"),
                    (dict(family="gaussian", scale=[1.0, 2.0, 3.0]), "scale with shape")):
        with pytest.raises(ValueError, match=msg):
            prepare_glm(X, y, **kw)
        with pytest.raises(ValueError, match=msg):
            lf.glm_laplace(X, y, **kw)


def test_values_are_checked_when_fitted():
    """prepare settles shapes; the kernel checks the values, at every fit."""
    X, y, _ = _data(B=2)
    data = prepare_glm(X, np.where(y > 0, 1.0, 2.0), family="logistic")
    with pytest.raises(ValueError, match=r"y must be 0 or 1 for family='logistic' in problem 0"):
        fit_glm(data)


@pytest.mark.parametrize("kw, exc, msg", [(dict(tol=0.0), ValueError, "tol"),
                                          (dict(maxiter=1.5), TypeError, "maxiter"),
                                          (dict(n_threads=0), ValueError, "n_threads"),
                                          (dict(prior_precision=-1.0), ValueError,
                                           "prior_precision")])
def test_fit_checks_its_options(kw, exc, msg):
    X, y, s = _data(B=2)
    with pytest.raises(exc, match=msg):
        fit_glm(prepare_glm(X, y, family="gaussian", scale=s), **kw)


@pytest.mark.parametrize("fn", [prepare_glm, fit_glm], ids=lambda f: f.__name__)
def test_halves_examples_run(fn):
    import doctest
    runner = doctest.DocTestRunner()
    (test,) = doctest.DocTestFinder().find(fn, fn.__name__, globs={})
    failed, attempted = runner.run(test)
    assert failed == 0 and attempted >= 4


def _logistic(B=6, n=40, seed=5):
    rng = np.random.default_rng(seed)
    X = np.concatenate([np.ones((B, n, 1)), rng.standard_normal((B, n, 2))], axis=-1)
    y = (rng.random((B, n)) < 1 / (1 + np.exp(-X @ [0.2, 1.0, -0.7]))).astype(float)
    return X, y


def test_warm_start_reaches_the_closed_form():
    X, y, s = _data()
    data = prepare_glm(X, y, family="gaussian", scale=s)
    far = fit_glm(data, prior_precision=2.0, start=[40.0, -30.0, 25.0])
    for b in range(X.shape[0]):
        P = X[b].T @ X[b] / s ** 2 + 2.0 * np.eye(3)
        np.testing.assert_allclose(far.mode[b], np.linalg.solve(P, X[b].T @ y[b]) / s ** 2,
                                   rtol=1e-9)


def test_warm_start_from_a_nearby_prior_saves_iterations():
    X, y = _logistic()
    data = prepare_glm(X, y, family="logistic")
    first = fit_glm(data, prior_precision=1.0)
    cold = fit_glm(data, prior_precision=1.01)
    warm = fit_glm(data, prior_precision=1.01, start=first.mode)
    np.testing.assert_allclose(warm.mode, cold.mode, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(warm.log_evidence, cold.log_evidence, rtol=1e-12)
    assert np.all(warm.niter < cold.niter)
    # at the mode itself: one Newton step shows it converged
    again = fit_glm(data, prior_precision=1.01, start=cold.mode)
    assert np.all(again.niter <= 1)
    # per problem: row b of a batch's start is problem b's, whatever the thread count
    rows = [fit_glm(prepare_glm(X[b], y[b], family="logistic"), prior_precision=1.01,
                    start=first.mode[b]) for b in range(X.shape[0])]
    two = fit_glm(data, prior_precision=1.01, start=first.mode, n_threads=2)
    for f in FIELDS:
        assert np.array_equal(getattr(two, f), getattr(warm, f)), f
        assert np.array_equal(np.array([getattr(r, f) for r in rows]), getattr(warm, f)), f


def test_warm_start_not_finite_there_falls_back():
    # exp(800) overflows: the Poisson log joint is not finite at this start
    rng = np.random.default_rng(1)
    X = np.column_stack([np.ones(30), rng.standard_normal(30)])
    y = rng.poisson(np.exp(0.5 + 0.3 * X[:, 1])).astype(float)
    data = prepare_glm(X, y, family="poisson")
    res = fit_glm(data, start=[800.0, 0.0])
    ref = fit_glm(data)
    assert res.status == 0
    np.testing.assert_allclose(res.mode, ref.mode, rtol=1e-9)


@pytest.mark.parametrize("start, msg", [
    ([0.0, 1.0], "start has shape"),
    (np.zeros((3, 3)), "start has shape"),
    ([0.0, np.nan, 0.0], "start must be finite"),
    ("abc", "start"),
])
def test_bad_start_is_named(start, msg):
    X, y, s = _data()
    data = prepare_glm(X, y, family="gaussian", scale=s)
    with pytest.raises((ValueError, TypeError), match=msg):
        fit_glm(data, start=start)
