"""glm_laplace: inputs as other tools hand them over -- a column y, family aliases, NaN
group labels in object arrays, sparse X -- accepted when unambiguous, else an error that
names the argument and the fix."""

import numpy as np
import pytest

import laplace_fast as lf


def _gaussian_posterior(X, y, scale, alpha):
    """closed form: N((X'X/s^2 + alpha I)^-1 X'y/s^2, (X'X/s^2 + alpha I)^-1)"""
    A = X.T @ X / scale**2 + alpha * np.eye(X.shape[1])
    return np.linalg.solve(A, X.T @ y / scale**2), np.linalg.inv(A)


def _data(n=25, seed=3):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.standard_normal(n)])
    return X, X @ [0.5, -1.0] + 0.3 * rng.standard_normal(n)


def test_column_y_single_matches_closed_form():
    X, y = _data()
    res = lf.glm_laplace(X, y[:, None], family="gaussian", scale=0.3, prior_precision=2.0)
    mean, cov = _gaussian_posterior(X, y, 0.3, 2.0)
    np.testing.assert_allclose(res.mode, mean, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(res.cov, cov, rtol=1e-10, atol=1e-14)


def test_column_y_batch():
    X, y = _data()
    Xb, yb = np.stack([X, X[::-1]]), np.stack([y, y[::-1]])[..., None]
    res = lf.glm_laplace(Xb, yb, family="gaussian", scale=0.3, prior_precision=2.0)
    mean, _ = _gaussian_posterior(X, y, 0.3, 2.0)
    np.testing.assert_allclose(res.mode, [mean, mean], rtol=1e-10, atol=1e-12)


def test_column_y_other_shapes_still_rejected():
    X, y = _data()
    with pytest.raises(ValueError, match="y must have shape"):
        lf.glm_laplace(X, np.stack([y, y], -1), family="gaussian", scale=1.0)


@pytest.mark.parametrize("alias, canonical", [
    ("logit", "logistic"), ("Bernoulli", "logistic"), ("Logistic", "logistic"),
    ("NORMAL", "gaussian"), ("negbin", "negative_binomial"),
    ("Negative-Binomial", "negative_binomial"), ("nb", "negative_binomial"),
    ("NB2", "negative_binomial"), ("Poisson", "poisson")])
def test_family_aliases(alias, canonical):
    X, y = _data()
    counts = np.round(np.abs(y) * 3)
    yy = {"logistic": (y > 0).astype(float), "gaussian": y}.get(canonical, counts)
    kw = {"gaussian": {"scale": 0.3}, "negative_binomial": {"dispersion": 2.0}}.get(canonical, {})
    res = lf.glm_laplace(X, yy, family=alias, **kw)
    ref = lf.glm_laplace(X, yy, family=canonical, **kw)
    assert res.family == canonical
    np.testing.assert_array_equal(res.mode, ref.mode)


def test_family_unknown_still_rejected():
    X, y = _data()
    with pytest.raises(ValueError, match="family must be one of"):
        lf.glm_laplace(X, y, family="gamma")


def test_sparse_X_names_the_fix():
    sparse = pytest.importorskip("scipy.sparse")
    X, y = _data()
    with pytest.raises(TypeError, match=r"X: sparse input is not supported; pass X\.toarray"):
        lf.glm_laplace(sparse.csr_matrix(X), (y > 0).astype(float))


def _missing_labels():
    out = [np.array([1.0, np.nan] * 10, dtype=object),
           np.array(["a", None] * 10, dtype=object),
           np.array([np.datetime64("2020-01-01"), np.datetime64("NaT")] * 10),
           np.array([np.timedelta64(1, "s"), np.timedelta64("NaT")] * 10)]
    try:
        import pandas as pd
    except ImportError:
        return out
    return out + [np.array(["a", pd.NA] * 10, dtype=object)]


@pytest.mark.parametrize("groups", _missing_labels(), ids=lambda g: str(g.dtype) + str(g[1]))
def test_missing_group_labels_raise(groups):
    X, y = _data(n=20)
    with pytest.raises(ValueError, match="groups must be integer or string labels"):
        lf.glm_laplace(X, (y > 0).astype(float), groups=groups)


def test_object_labels_without_missing_still_group():
    X, y = _data(n=20)
    res = lf.glm_laplace(X, (y > 0).astype(float),
                         groups=np.array([1.0, 2.0] * 10, dtype=object))
    assert res.labels.tolist() == [1.0, 2.0]


def test_param_names_from_dataframe():
    pd = pytest.importorskip("pandas")
    X, y = _data()
    df = pd.DataFrame(X, columns=["Intercept", 0])
    res = lf.glm_laplace(df, pd.DataFrame({"y": y}), family="gaussian", scale=0.3)
    assert res.param_names == ("Intercept", "0")
    mean, _ = _gaussian_posterior(X, y, 0.3, 1.0)
    np.testing.assert_allclose(res.mode, mean, rtol=1e-10, atol=1e-12)
    grouped = lf.glm_laplace(df, y, family="gaussian", scale=0.3, groups=[0, 1] * 12 + [0])
    assert grouped.param_names == ("Intercept", "0")
    assert grouped[1].param_names == ("Intercept", "0")


def test_param_names_none_for_arrays():
    X, y = _data()
    assert lf.glm_laplace(X, y, family="gaussian", scale=0.3).param_names is None


def test_huge_n_threads_just_works():
    X, y = _data()
    yb = (y > 0).astype(float)
    a = lf.glm_laplace(X, yb, n_threads=10**6)
    b = lf.glm_laplace(X, yb, n_threads=1)
    np.testing.assert_array_equal(a.mode, b.mode)
    np.testing.assert_array_equal(a.cov, b.cov)


def test_maxiter_out_of_range_names_the_range():
    X, y = _data()
    with pytest.raises(ValueError, match="maxiter must be between 1 and 2,147,483,647"):
        lf.glm_laplace(X, (y > 0).astype(float), maxiter=2**63)


@pytest.mark.parametrize("tol", [True, "1e-8"])
def test_tol_not_real_is_type_error(tol):
    X, y = _data()
    with pytest.raises(TypeError, match="tol must be a real number"):
        lf.glm_laplace(X, (y > 0).astype(float), tol=tol)


def test_one_precision_per_problem():
    X, y = _data()
    alphas = np.array([0.5, 2.0, 7.0])
    Xb, yb = np.stack([X] * 3), np.stack([y] * 3)
    res = lf.glm_laplace(Xb, yb, family="gaussian", scale=0.3, prior_precision=alphas)
    for k, a in enumerate(alphas):
        mean, cov = _gaussian_posterior(X, y, 0.3, a)
        np.testing.assert_allclose(res.mode[k], mean, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(res.cov[k], cov, rtol=1e-10, atol=1e-14)
    col = lf.glm_laplace(Xb, yb, family="gaussian", scale=0.3, prior_precision=alphas[:, None])
    np.testing.assert_array_equal(col.mode, res.mode)


def test_per_problem_precision_that_fits_nothing_names_the_fix():
    X, y = _data()
    with pytest.raises(ValueError, match=r"one scalar per problem of shape \(3, 1\)"):
        lf.glm_laplace(np.stack([X] * 3), np.stack([y] * 3), family="gaussian", scale=0.3,
                       prior_precision=np.ones(4))
