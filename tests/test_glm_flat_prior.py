"""glm_laplace with a flat prior (zero precision) on some or all directions: the fits
against maximum likelihood (statsmodels, numpy's least squares) and scikit-learn's
unpenalised intercept, the evidence against the closed form of the gaussian integral
under the improper prior, and improper posteriors reported as failures that say why."""

import warnings

import numpy as np
import pytest

import laplace_fast as lf

sm = pytest.importorskip("statsmodels.api")


def _logistic_data(n=200, seed=0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.standard_normal((n, 2))])
    p = 1 / (1 + np.exp(-(X @ [0.5, 1.0, -0.7])))
    return X, (rng.random(n) < p).astype(float)


def test_zero_precision_is_least_squares_on_diabetes():
    datasets = pytest.importorskip("sklearn.datasets")
    data = datasets.load_diabetes()
    X = np.column_stack([np.ones(len(data.target)), data.data])   # unit-norm columns
    y = data.target
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    sigma = 50.0
    res = lf.glm_laplace(X, y, family="gaussian", scale=sigma, prior_precision=0.0)
    assert res.status == lf.Status.OK and res.improper_prior
    np.testing.assert_allclose(res.mode, beta, rtol=1e-9, atol=1e-9 * np.abs(beta).max())
    cov = sigma**2 * np.linalg.inv(X.T @ X)
    sd = np.sqrt(np.diag(cov))
    np.testing.assert_allclose(res.cov / np.outer(sd, sd), cov / np.outer(sd, sd),
                               rtol=0, atol=1e-9)     # as correlations: entries near 0


def test_zero_precision_is_the_logistic_mle():
    X, y = _logistic_data()
    ref = sm.Logit(y, X).fit(method="newton", tol=1e-14, maxiter=100, disp=0)
    res = lf.glm_laplace(X, y, family="logistic", prior_precision=0.0)
    assert res.status == lf.Status.OK
    np.testing.assert_allclose(res.mode, ref.params, rtol=1e-8)
    np.testing.assert_allclose(res.cov, ref.cov_params(), rtol=1e-7)   # canonical link


def test_zero_precision_is_the_poisson_mle_in_a_batch():
    rng = np.random.default_rng(4)
    X = np.concatenate([np.ones((3, 60, 1)), rng.standard_normal((3, 60, 2))], axis=-1)
    y = rng.poisson(np.exp(X @ [0.2, 0.4, -0.3]))
    res = lf.glm_laplace(X, y, family="poisson", prior_precision=0.0)
    assert res.improper_prior.tolist() == [True] * 3
    for b in range(3):
        ref = sm.GLM(y[b], X[b], family=sm.families.Poisson()).fit(tol=1e-14)
        np.testing.assert_allclose(res.mode[b], ref.params, rtol=1e-8)


def test_flat_intercept_matches_scikit_learn():
    linear_model = pytest.importorskip("sklearn.linear_model")
    X, y = _logistic_data()
    C = 0.5       # scikit-learn: log likelihood - |w|^2 / (2 C), the intercept unpenalised
    ref = linear_model.LogisticRegression(C=C, tol=1e-12, max_iter=10000).fit(X[:, 1:], y)
    res = lf.glm_laplace(X, y, family="logistic", prior_precision=[0.0, 1 / C, 1 / C])
    assert res.status == lf.Status.OK and res.improper_prior
    np.testing.assert_allclose(res.mode, np.r_[ref.intercept_, ref.coef_[0]], rtol=1e-6)


def _gaussian_log_evidence(X, y, sigma, P):
    """log of the integral of N(y; X theta, sigma^2 I) times the improper prior density
    (2 pi)^(-r/2) pdet(P)^(1/2) exp(-theta' P theta / 2), r the rank of P: a Gaussian
    integral in closed form"""
    n, d = X.shape
    lam = np.linalg.eigvalsh(P)
    pos = lam > 1e-12 * max(lam.max(), 1.0)
    A = X.T @ X / sigma**2 + P
    b = X.T @ y / sigma**2
    return (-0.5 * n * np.log(2 * np.pi * sigma**2) - 0.5 * y @ y / sigma**2
            - 0.5 * pos.sum() * np.log(2 * np.pi) + 0.5 * np.log(lam[pos]).sum()
            + 0.5 * d * np.log(2 * np.pi) - 0.5 * np.linalg.slogdet(A)[1]
            + 0.5 * b @ np.linalg.solve(A, b))


@pytest.mark.parametrize("P", [
    np.diag([0.0, 2.0, 0.5]),                                     # a flat intercept
    np.zeros((3, 3)),                                             # flat everywhere
    np.diff(np.eye(3), axis=0).T @ np.diff(np.eye(3), axis=0),   # a difference penalty
], ids=["diagonal", "zero", "difference"])
def test_gaussian_evidence_under_a_flat_prior_is_the_closed_form(P):
    rng = np.random.default_rng(1)
    X = np.column_stack([np.ones(40), rng.standard_normal((40, 2))])
    y = X @ [1.0, 0.5, -0.5] + 0.7 * rng.standard_normal(40)
    res = lf.glm_laplace(X, y, family="gaussian", scale=0.7, prior_precision=P)
    assert res.status == lf.Status.OK and res.improper_prior
    assert res.log_evidence == pytest.approx(_gaussian_log_evidence(X, y, 0.7, P),
                                             rel=1e-11)


def test_proper_prior_is_not_flagged():
    X, y = _logistic_data()
    assert lf.glm_laplace(X, y).improper_prior is False
    batch = lf.glm_laplace(np.stack([X, X]), np.stack([y, y]), prior_precision=[1e-300, 1, 1])
    assert batch.improper_prior.tolist() == [False, False]


def test_unidentified_flat_direction_fails_and_says_why():
    X, y = _logistic_data()
    Xz = X.copy()
    Xz[:, 2] = 0.0               # the data say nothing about the third coefficient
    with pytest.warns(lf.LaplaceWarning, match="positive prior_precision"):
        res = lf.glm_laplace(Xz, y, prior_precision=[1.0, 1.0, 0.0])
    assert res.status == lf.Status.SINGULAR and "flat" in res.message
    assert np.isnan(res.cov).all()
    # in a batch, the improper problem fails alone; its neighbour is the same bits
    with pytest.warns(lf.LaplaceWarning, match=r"at \[1\].*positive prior_precision"):
        batch = lf.glm_laplace(np.stack([X, Xz]), np.stack([y, y]),
                               prior_precision=[1.0, 1.0, 0.0])
    alone = lf.glm_laplace(X, y, prior_precision=[1.0, 1.0, 0.0])
    assert batch.status.tolist() == [0, lf.Status.SINGULAR]
    assert batch.mode[0].tobytes() == alone.mode.tobytes()
    assert "flat" in batch.message and "flat" in batch[1].message
    assert "flat" not in batch[0].message


def test_separation_under_a_flat_intercept_fails():
    X, _ = _logistic_data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lf.LaplaceWarning)
        res = lf.glm_laplace(X, np.ones(len(X)), prior_precision=[0.0, 1.0, 1.0])
    assert res.status < 0 and np.isnan(res.cov).all() and "flat" in res.message


def test_too_few_rows_for_a_flat_prior_fails():
    X, y = _logistic_data()
    with pytest.warns(lf.LaplaceWarning, match="SINGULAR"):
        res = lf.glm_laplace(X[:2], y[:2], family="poisson", prior_precision=0.0)
    assert res.status == lf.Status.SINGULAR


def test_column_offset_weights_trials():
    rng = np.random.default_rng(2)
    X = np.column_stack([np.ones(30), rng.standard_normal(30)])
    t = rng.integers(1, 6, 30).astype(float)
    y = rng.binomial(t.astype(int), 0.4).astype(float)
    off, w = 0.1 * rng.standard_normal(30), rng.uniform(0.5, 2, 30)
    flat = lf.glm_laplace(X, y, family="binomial", trials=t, offset=off, weights=w)
    col = lf.glm_laplace(X, y[:, None], family="binomial", trials=t[:, None],
                         offset=off[:, None], weights=w[:, None])
    assert col.mode.tobytes() == flat.mode.tobytes()
    assert col.log_evidence == flat.log_evidence
    with pytest.raises(ValueError, match="offset with shape"):
        lf.glm_laplace(X, y, offset=np.zeros((30, 2)))
