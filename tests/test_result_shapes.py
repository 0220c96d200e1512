"""The shapes LaplaceResult's and BatchLaplaceResult's methods take and return:
logpdf of a scalar and of a 1-D grid when d = 1, sample with an int or a tuple size,
checked against scipy.stats (an independent reference) and statistically."""

import numpy as np
import pytest
from scipy import stats

import laplace_fast as lf

MU1, SD1 = 0.7, 1.5
MU3 = np.array([1.0, -2.0, 0.5])
COV3 = np.array([[2.0, 0.3, -0.4], [0.3, 1.0, 0.2], [-0.4, 0.2, 0.5]])
P3 = np.linalg.inv(COV3)


def gauss1():
    """A 1-D Gaussian posterior, analytic derivatives: the Laplace fit is exact."""
    return lf.laplace(lambda t: -0.5 * ((t[0] - MU1) / SD1) ** 2, 0.0,
                      grad=lambda t: np.array([-(t[0] - MU1) / SD1 ** 2]),
                      hess=lambda t: np.array([[-1.0 / SD1 ** 2]]))


def gauss3():
    return lf.laplace(lambda t: -0.5 * (t - MU3) @ P3 @ (t - MU3), np.zeros(3),
                      grad=lambda t: -P3 @ (t - MU3), hess=lambda t: -P3)


def batch1():
    """Three 1-D Gaussians N(mu_i, sd_i^2) as one batch."""
    mu = np.array([-1.0, 0.0, 2.0])
    sd = np.array([0.5, 1.0, 2.0])
    res = lf.laplace_batch(lambda t: -0.5 * ((t[:, 0] - mu) / sd) ** 2, np.zeros((3, 1)),
                           grad=lambda t: -((t - mu[:, None]) / sd[:, None] ** 2),
                           hess=lambda t: (-1.0 / sd ** 2)[:, None, None] * np.ones((3, 1, 1)))
    return res, mu, sd


def test_logpdf_scalar_when_d_is_1():
    r = gauss1()
    v = r.logpdf(1.0)
    assert type(v) is float
    assert v == pytest.approx(stats.norm.logpdf(1.0, MU1, SD1), rel=1e-13)


def test_logpdf_grid_when_d_is_1():
    r = gauss1()
    grid = np.linspace(-2, 2, 5)
    lp = r.logpdf(grid)
    assert lp.shape == (5,)
    np.testing.assert_allclose(lp, stats.norm.logpdf(grid, MU1, SD1), rtol=1e-13)
    np.testing.assert_allclose(r.logpdf(list(grid)), lp, rtol=0)
    # points along a last axis of length 1 keep the general (..., d) meaning
    col = r.logpdf(grid.reshape(5, 1))
    assert col.shape == (5,)
    np.testing.assert_allclose(col, lp, rtol=0)
    assert r.logpdf(grid.reshape(5, 1, 1)).shape == (5, 1)


def test_logpdf_general_d():
    r = gauss3()
    x = np.random.default_rng(3).standard_normal((4, 2, 3))
    lp = r.logpdf(x)
    assert lp.shape == (4, 2)
    np.testing.assert_allclose(lp, stats.multivariate_normal(MU3, COV3).logpdf(x),
                               rtol=1e-12)
    assert r.logpdf(MU3) == pytest.approx(stats.multivariate_normal(MU3, COV3).logpdf(MU3),
                                          rel=1e-13)
    for bad in (1.0, np.zeros(2), np.zeros((4, 2))):
        with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 3\)"):
            r.logpdf(bad)


@pytest.mark.parametrize("size, shape", [(5, (5, 3)), ((2, 3), (2, 3, 3)), ([4], (4, 3)),
                                         (np.int64(2), (2, 3)), ((), (3,)), (0, (0, 3))])
def test_sample_shapes(size, shape):
    assert gauss3().sample(size, rng=0).shape == shape


def test_sample_tuple_is_the_int_draws_reshaped():
    r = gauss3()
    np.testing.assert_array_equal(r.sample((2, 3), rng=7), r.sample(6, rng=7).reshape(2, 3, 3))


def test_sample_moments():
    r = gauss3()
    s = r.sample((200, 100), rng=11).reshape(-1, 3)
    n = s.shape[0]
    se = np.sqrt(np.diag(COV3) / n)
    assert np.all(np.abs(s.mean(axis=0) - MU3) < 5 * se)
    # var of a sample covariance entry: (C_ij^2 + C_ii C_jj) / n
    se_cov = np.sqrt((COV3 ** 2 + np.outer(np.diag(COV3), np.diag(COV3))) / n)
    assert np.all(np.abs(np.cov(s.T) - COV3) < 5 * se_cov)


@pytest.mark.parametrize("size, exc", [(2.5, TypeError), ("3", TypeError), (None, TypeError),
                                       ((2, 1.5), TypeError), (True, TypeError),
                                       (-1, ValueError), ((2, -3), ValueError)])
def test_sample_bad_size(size, exc):
    with pytest.raises(exc, match="size"):
        gauss3().sample(size)
    res, _, _ = batch1()
    with pytest.raises(exc, match="size"):
        res.sample(size)


@pytest.mark.parametrize("level", [0.0, 1.0, 1.5, "0.9", None])
def test_interval_bad_level(level):
    with pytest.raises(ValueError, match="level"):
        gauss3().interval(level)
    res, _, _ = batch1()
    with pytest.raises(ValueError, match="level"):
        res.interval(level)


def test_batch_logpdf_scalar_and_grid_when_d_is_1():
    res, mu, sd = batch1()
    lp = res.logpdf(0.5)
    assert lp.shape == (3,)
    np.testing.assert_allclose(lp, stats.norm.logpdf(0.5, mu, sd), rtol=1e-13)
    grid = np.linspace(-2, 2, 5)
    lp = res.logpdf(grid[:, None, None])
    assert lp.shape == (5, 3)
    np.testing.assert_allclose(lp, stats.norm.logpdf(grid[:, None], mu, sd), rtol=1e-13)
    # one point per problem
    np.testing.assert_allclose(res.logpdf(mu[:, None]), stats.norm.logpdf(0.0, 0.0, sd),
                               rtol=1e-13)
    with pytest.raises(ValueError, match="x with shape"):
        res.logpdf(np.zeros((4, 1)))
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 1\)"):
        res.logpdf(np.zeros(3))


def test_batch_sample_shapes_and_moments():
    res, mu, sd = batch1()
    assert res.sample(4, rng=0).shape == (3, 4, 1)
    s = res.sample((100, 200), rng=5)
    assert s.shape == (3, 100, 200, 1)
    np.testing.assert_array_equal(res.sample((2, 3), rng=2),
                                  res.sample(6, rng=2).reshape(3, 2, 3, 1))
    flat = s.reshape(3, -1)
    n = flat.shape[1]
    assert np.all(np.abs(flat.mean(axis=1) - mu) < 5 * sd / np.sqrt(n))
    assert np.all(np.abs(flat.std(axis=1) / sd - 1) < 5 / np.sqrt(2 * n))


def test_batch_problem_alone_agrees():
    res, mu, sd = batch1()
    grid = np.linspace(-2, 2, 5)
    for i in range(3):
        np.testing.assert_allclose(res[i].logpdf(grid), res.logpdf(grid[:, None, None])[:, i],
                                   rtol=1e-15)
        lo, hi = res[i].interval(0.9)
        blo, bhi = res.interval(0.9)
        assert (lo[0], hi[0]) == (blo[i, 0], bhi[i, 0])
        assert hi[0] == pytest.approx(stats.norm.ppf(0.95, mu[i], sd[i]), rel=1e-13)
