"""find_map / laplace / laplace_batch against closed forms, the seed's numbers and
every status code."""

import concurrent.futures
import ctypes

import numpy as np
import pytest
import scipy
from scipy import integrate, stats

import laplace_fast as lf
from laplace_fast import Status


def gaussian_logpdf(x, mu, cov):
    """A normalised Gaussian log density: Laplace is exact, log evidence 0."""
    return stats.multivariate_normal(mu, cov).logpdf(x)


def random_gaussian(d, seed):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((d, d))
    cov = A @ A.T / d + 0.5 * np.eye(d)
    return rng.standard_normal(d) * 2, cov


@pytest.mark.parametrize("d,seed", [(1, 0), (3, 1), (6, 2)])
def test_gaussian_is_exact(d, seed):
    mu, cov = random_gaussian(d, seed)
    r = lf.laplace(gaussian_logpdf, np.zeros(d), args=(mu, cov))
    assert r.status == Status.OK and r.converged
    # the mode to within the last Newton step (tol max(1, |theta|)) and its Hessian's error
    np.testing.assert_allclose(r.mode, mu, rtol=0, atol=2e-8)
    np.testing.assert_allclose(r.cov, cov, rtol=2e-6, atol=1e-8)
    assert abs(r.log_evidence) < 1e-6


def test_gaussian_with_analytic_derivatives_is_exact_to_rounding():
    mu, cov = random_gaussian(4, 7)
    P = np.linalg.inv(cov)
    r = lf.laplace(gaussian_logpdf, np.zeros(4), args=(mu, cov),
                   grad=lambda x, mu, cov: -P @ (x - mu), hess=lambda x, mu, cov: -P)
    np.testing.assert_allclose(r.mode, mu, atol=1e-12)
    np.testing.assert_allclose(r.cov, cov, rtol=1e-12)
    assert abs(r.log_evidence) < 1e-12


def test_richardson_gaussian_evidence():
    mu, cov = random_gaussian(3, 4)
    r = lf.laplace(gaussian_logpdf, np.zeros(3), args=(mu, cov), hessian_method="richardson")
    assert r.status == Status.OK
    assert abs(r.log_evidence) < 1e-9


def _logistic_posterior(n=400, d=4, seed=7):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.standard_normal((n, d - 1))])
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ rng.standard_normal(d)))).astype(float)

    def log_post(t):
        eta = X @ t
        return float(y @ eta - np.logaddexp(0, eta).sum() - 0.5 * t @ t)

    def exact_grad(t):
        return X.T @ (y - 1 / (1 + np.exp(-X @ t))) - t

    def exact_hessian(t):
        p = 1 / (1 + np.exp(-X @ t))
        return -(X.T * (p * (1 - p))) @ X - np.eye(d)

    t = np.zeros(d)                      # the exact mode: Newton on analytic derivatives
    for _ in range(50):
        t = t - np.linalg.solve(exact_hessian(t), exact_grad(t))
    return log_post, exact_grad, exact_hessian, t


def test_richardson_hessian_at_the_exact_mode():
    # the 1e-9 is against the exact Hessian at the exact mode: the mode's own
    # error (tol = 1e-8) would spoil it through the third derivatives, so the mode is
    # polished from a Richardson gradient before the final stencil
    log_post, exact_grad, exact_hessian, mode = _logistic_posterior()
    H = exact_hessian(mode)
    for grad in (None, exact_grad):          # values only; the user's gradient
        r = lf.laplace(log_post, np.zeros(4), grad=grad, hessian_method="richardson")
        assert r.status == Status.OK
        assert np.max(np.abs(r.mode - mode)) <= 5e-11      # tol alone gives ~1e-10 here
        assert np.max(np.abs(r.hessian - H)) <= 1e-9 * np.max(np.abs(H))
        assert np.max(np.abs(r.grad)) <= 1e-7       # the gradient at the point returned
    c = lf.laplace(log_post, np.zeros(4))          # central: the mode to about tol
    assert np.max(np.abs(c.hessian - H)) <= 1e-6 * np.max(np.abs(H))


def seed_bimodal(t):
    return -t[0] ** 4 + 2 * t[0] ** 2


def seed_unimodal(t):
    return -0.5 * (t[0] - 0.8) ** 2 - 0.05 * (t[0] - 0.8) ** 4


def test_seed_bimodal_from_one():
    r = lf.laplace(seed_bimodal, 1.0)
    assert r.status == Status.OK
    assert abs(r.mode[0] - 1) < 1e-9
    assert abs(r.hessian[0, 0] + 8) < 1e-6
    assert abs(r.cov[0, 0] - 0.125) < 1e-7


def test_seed_unimodal():
    r = lf.laplace(seed_unimodal, 0.0)
    assert f"{r.mode[0]:.4f} {r.hessian[0, 0]:.4f} {r.cov[0, 0]:.4f}" == "0.8000 -1.0000 1.0000"
    # Laplace evidence: log_post(mode) + 1/2 log(2 pi / 1), independently; the central
    # Hessian's error (~1e-7 of the curvature, here the quartic's truncation) halves into it
    assert abs(r.log_evidence - 0.5 * np.log(2 * np.pi)) < 1e-7
    q = np.log(integrate.quad(lambda t: np.exp(seed_unimodal([t])), -20, 20)[0])
    assert 0.05 < r.log_evidence - q < 0.15   # quartic tails are lighter than Gaussian


@pytest.mark.parametrize("method", ["newton", "BFGS", "Nelder-Mead"])
def test_stationary_point_that_is_not_a_maximum_is_never_a_mode(method):
    # the gradient is zero at 0, a local minimum of the bimodal posterior
    with np.errstate(all="ignore"):
        try:
            r = lf.laplace(seed_bimodal, 0.0, method=method)
        except lf.LaplaceError:
            pytest.fail("laplace should return, not raise")
        except Warning:
            return                                  # flagged: good
    if r.converged:
        assert abs(abs(r.mode[0]) - 1) < 1e-5       # it climbed to a real mode
        assert r.hessian[0, 0] < 0
    else:
        assert not np.all(np.isfinite(r.cov)) or r.hessian[0, 0] < 0


def test_newton_escapes_a_minimum_start():
    r = lf.laplace(seed_bimodal, 0.0)
    assert r.converged and abs(abs(r.mode[0]) - 1) < 1e-9
    assert abs(r.cov[0, 0] - 0.125) < 1e-7


def test_saddle_reports_not_negative_definite():
    # BFGS with the exact gradient stops at once where it vanishes: here at the saddle
    # of a bounded posterior whose modes are (+-1, 0)
    def f(t):
        return -t[0] ** 4 + 2 * t[0] ** 2 - t[1] ** 2

    def g(t):
        return np.array([-4 * t[0] ** 3 + 4 * t[0], -2 * t[1]])
    with pytest.warns(lf.LaplaceWarning, match="NOT_NEGDEF"):
        r = lf.laplace(f, [0.0, 0.0], grad=g, method="BFGS")
    assert r.status == Status.NOT_NEGDEF and not r.converged
    assert np.all(np.isnan(r.cov)) and np.isnan(r.log_evidence)
    with pytest.raises(lf.LaplaceError, match="NOT_NEGDEF"):
        r.sample(3)
    # Newton from the same point climbs to one of the modes
    r = lf.laplace(f, [0.0, 0.0])
    assert r.converged and np.allclose(np.abs(r.mode), [1, 0], atol=1e-8)


def test_flat_direction_is_singular():
    with pytest.warns(lf.LaplaceWarning, match="SINGULAR"):
        r = lf.laplace(lambda t: -(t[0] - 1) ** 2, [0.0, 3.0])
    assert r.status == Status.SINGULAR
    assert np.all(np.isnan(r.cov))
    assert abs(r.mode[0] - 1) < 1e-8


def test_regularised_on_request():
    with pytest.warns(lf.LaplaceWarning, match="REGULARISED"):
        r = lf.laplace(lambda t: -(t[0] - 1) ** 2, [0.0, 3.0], regularize=1e-6)
    assert r.status == Status.REGULARISED and r.converged
    # -H = diag(2, 0): the flat direction gets tau = 1e-6 * 2 (to FD accuracy)
    assert r.regularization == pytest.approx(2e-6, rel=1e-3)
    np.testing.assert_allclose(r.cov, np.diag([1 / (2 + r.regularization),
                                               1 / r.regularization]), rtol=1e-6)
    assert np.isnan(r.log_evidence)
    assert np.array_equal(r.precision, -r.hessian)       # the Hessian is unmodified
    assert r.sample(2, rng=0).shape == (2, 2)
    with pytest.warns(lf.LaplaceWarning, match="REGULARISED"):
        r = lf.laplace(lambda t: -t[0] ** 4 + 2 * t[0] ** 2 - t[1] ** 2, [0.0, 0.0],
                       grad=lambda t: np.array([4 * t[0] - 4 * t[0] ** 3, -2 * t[1]]),
                       method="BFGS", regularize=True)
    # -H = diag(-4, 2) at the saddle: tau = 4 + 1e-8 * 4
    assert r.regularization == pytest.approx(4.0, rel=1e-6)
    r = lf.laplace(seed_unimodal, 0.0, regularize=1e-3)      # healthy: untouched
    assert r.status == Status.OK and r.regularization == 0.0
    with pytest.warns(lf.LaplaceWarning):
        res = lf.laplace_batch(lambda t: -(t[:, 0] - 1) ** 2 - t[:, 1] ** 2 * [1, 0],
                               np.zeros((2, 2)), regularize=1e-6)
    assert res.status.tolist() == [Status.OK, Status.REGULARISED]
    assert np.isnan(res.log_evidence[1]) and np.isfinite(res.log_evidence[0])
    for bad in (0.0, 1.5, -1e-3, "yes"):
        with pytest.raises(ValueError, match="regularize"):
            lf.laplace(seed_unimodal, 0.0, regularize=bad)


@pytest.mark.parametrize("bad", [np.nan, -np.inf, np.inf])
def test_nonfinite_at_x0(bad):
    with pytest.warns(lf.LaplaceWarning, match="NONFINITE_X0"):
        r = lf.laplace(lambda t: bad, [1.0])
    assert r.status == Status.NONFINITE_X0
    assert r.nfev == 1


def test_iteration_limit():
    with pytest.warns(lf.LaplaceWarning, match="MAXITER"):
        r = lf.laplace(lambda t: -np.cosh(t[0] - 30.0), [0.0], maxiter=2)
    assert r.status == Status.MAXITER and r.niter == 2
    r = lf.laplace(lambda t: -np.cosh(t[0] - 30.0), [0.0])
    assert r.converged and abs(r.mode[0] - 30) < 30 * 1e-8


def test_no_progress_falls_back_to_scipy():
    # a gradient of the wrong sign: Newton's direction goes downhill, so its line
    # search fails; laplace says so and tries scipy's BFGS with the same gradient
    with pytest.warns(lf.LaplaceWarning):
        r = lf.laplace(lambda t: -(t[0] - 1) ** 2, [0.0], grad=lambda t: 2 * (t - 1))
    assert "fell back" in r.message and "BFGS" in r.message
    assert r.status < 0


def test_nonfinite_gradient_and_hessian():
    with pytest.warns(lf.LaplaceWarning, match="NONFINITE_FIT"):
        r = lf.laplace(lambda t: -t @ t, [1.0, 1.0], grad=lambda t: np.full(2, np.nan))
    assert r.status == Status.NONFINITE_FIT
    with pytest.warns(lf.LaplaceWarning, match="HESSIAN_NONFINITE"):
        r = lf.laplace(lambda t: -t @ t, [1.0, 1.0], hess=lambda t: np.full((2, 2), np.inf))
    assert r.status == Status.HESSIAN_NONFINITE


def test_unbounded_above_diverges():
    with pytest.warns(lf.LaplaceWarning, match="DIVERGED"):
        r = lf.laplace(lambda t: t @ t, [1.0, -0.5])
    assert r.status == Status.DIVERGED
    with pytest.warns(lf.LaplaceWarning, match="DIVERGED"):
        r = lf.laplace(lambda t: np.inf if t[0] > 2 else -(t[0] - 3) ** 2, [0.0])
    assert r.status == Status.DIVERGED


def test_ill_conditioned():
    cov = np.diag([1.0, 3e-13])
    P = np.linalg.inv(cov)
    with pytest.warns(lf.LaplaceWarning, match="ILL_CONDITIONED"):
        r = lf.laplace(lambda t: -0.5 * t @ P @ t, [0.0, 0.0], hess=lambda t: -P,
                       grad=lambda t: -P @ t)
    assert r.status == Status.ILL_CONDITIONED and r.converged
    assert r.cond == pytest.approx(1 / 3e-13)
    np.testing.assert_allclose(r.cov, cov)


def test_inaccurate_hessian_flagged():
    # a kink just outside the central stencil but inside Richardson's
    def f(t):
        return -0.5 * t[0] ** 2 - 1e-3 * max(0.0, abs(t[0]) - 3e-3)
    with pytest.warns(lf.LaplaceWarning, match="HESSIAN_INACCURATE"):
        r = lf.laplace(f, [0.5], hessian_method="richardson")
    assert r.status == Status.HESSIAN_INACCURATE and r.converged
    assert np.max(r.hessian_error) > 1e-4


def test_nan_trial_points_are_rejected_near_a_domain_boundary():
    # Gamma(2, 1) log density: log t - t, mode 1, curvature -1; undefined for t <= 0
    def f(t):
        with np.errstate(invalid="ignore"):
            return np.log(t[0]) - t[0]
    r = lf.laplace(f, [5.0])
    assert r.converged
    assert abs(r.mode[0] - 1) < 1e-8 and abs(r.cov[0, 0] - 1) < 1e-6


def test_callback_exception_propagates():
    class Boom(Exception):
        pass
    err = Boom()

    def f(t):
        if t[0] > 0.5:
            raise err
        return -(t[0] - 1) ** 2
    with pytest.raises(Boom) as info:
        lf.laplace(f, [0.0])
    assert info.value is err


def test_low_level_callable_laplace():
    proto = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_int,
                             ctypes.POINTER(ctypes.c_double), ctypes.c_void_p)
    cb = proto(lambda n, x, _: -0.5 * ((x[0] - 1) ** 2 / 4 + (x[1] + 2) ** 2))
    r = lf.laplace(scipy.LowLevelCallable(cb), [0.0, 0.0])
    np.testing.assert_allclose(r.mode, [1, -2], atol=1e-8)
    np.testing.assert_allclose(r.cov, np.diag([4.0, 1.0]), rtol=1e-6, atol=1e-12)


def test_scipy_methods_agree_with_newton():
    mu, cov = random_gaussian(3, 9)
    ref = lf.laplace(gaussian_logpdf, np.zeros(3), args=(mu, cov))
    for method in ("BFGS", "L-BFGS-B", "Powell"):
        r = lf.laplace(gaussian_logpdf, np.zeros(3), args=(mu, cov), method=method,
                       tol=1e-12)
        np.testing.assert_allclose(r.mode, ref.mode, atol=1e-4)
        np.testing.assert_allclose(r.cov, ref.cov, rtol=1e-4, atol=1e-6)


def test_scipy_methods_with_vectorized_and_low_level_callbacks():
    proto = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_int,
                             ctypes.POINTER(ctypes.c_double), ctypes.c_void_p)
    cb = proto(lambda n, x, _: -0.5 * ((x[0] - 1) ** 2 / 4 + (x[1] + 2) ** 2))
    r = lf.laplace(scipy.LowLevelCallable(cb), [0.0, 0.0], method="BFGS")
    np.testing.assert_allclose(r.mode, [1, -2], atol=1e-5)
    calls = []

    def vec(X):
        calls.append(len(X))
        return -0.5 * ((X[:, 0] - 1) ** 2 / 4 + (X[:, 1] + 2) ** 2)
    r2 = lf.laplace(vec, [0.0, 0.0], vectorized=True, method="BFGS")
    np.testing.assert_allclose(r2.cov, r.cov, rtol=1e-6)
    assert 2 * 3 + 2 * 2 in calls        # the Hessian stencil in one call (its centre before)


def test_find_map():
    r = lf.find_map(lambda t: -(t[0] - 3) ** 2 - (t[1] + 1) ** 4 - (t[1] + 1) ** 2, [0, 0])
    assert r.converged and np.allclose(r.x, [3, -1], atol=1e-8)
    assert np.allclose(r.hessian, [[-2, 0], [0, -2]], atol=1e-6)
    with pytest.warns(lf.LaplaceWarning):
        r = lf.find_map(lambda t: -t[0] ** 4 + 2 * t[0] ** 2 - t[1] ** 2, [0, 0],
                        grad=lambda t: np.array([4 * t[0] - 4 * t[0] ** 3, -2 * t[1]]),
                        method="BFGS")
    assert not r.converged


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(method="nonsense"), ValueError, "method"),
    (dict(method=3), TypeError, "method"),
    (dict(hessian_method="exact"), ValueError, "hessian_method"),
    (dict(tol=0.0), ValueError, "tol"),
    (dict(tol=-1.0), ValueError, "tol"),
    (dict(maxiter=0), ValueError, "maxiter"),
    (dict(maxiter=2.5), TypeError, "maxiter"),
    (dict(step=-1.0), ValueError, "step"),
    (dict(x0=[np.nan]), ValueError, "x0"),
    (dict(x0=[]), ValueError, "x0"),
    (dict(x0="a"), TypeError, "x0"),
    (dict(x0=[1j]), TypeError, "x0"),
])
def test_bad_arguments(kwargs, exc, match):
    kw = dict(x0=[0.5])
    kw.update(kwargs)
    with pytest.raises(exc, match=match):
        lf.laplace(seed_unimodal, **kw)


def test_result_methods_match_scipy():
    mu, cov = random_gaussian(3, 5)
    r = lf.laplace(gaussian_logpdf, np.zeros(3), args=(mu, cov))
    ref = stats.multivariate_normal(r.mode, r.cov)
    x = np.array([[0.1, 0.2, 0.3], [1.0, -1.0, 0.5]])
    np.testing.assert_allclose(r.logpdf(x), ref.logpdf(x), rtol=1e-10)
    lo, hi = r.interval(0.9)
    np.testing.assert_allclose(hi - r.mode, stats.norm.ppf(0.95) * np.sqrt(np.diag(r.cov)))
    s = r.sample(20000, rng=1)
    assert s.shape == (20000, 3)
    np.testing.assert_allclose(np.cov(s.T), r.cov, atol=0.1)
    assert np.array_equal(r.sample(5, rng=2), r.sample(5, rng=2))
    np.testing.assert_allclose(r.to_scipy().cov, r.cov)
    np.testing.assert_allclose(r.precision @ r.cov, np.eye(3), atol=1e-8)
    assert np.array_equal(r.mean, r.mode)
    with pytest.raises(ValueError, match="level"):
        r.interval(1.5)


# ---------------------------------------------------------------- batches
def batch_gauss(theta, mus, precs):
    r = theta - mus
    return -0.5 * np.einsum("bi,bij,bj->b", r, precs, r)


def make_batch(B, d, seed=0):
    rng = np.random.default_rng(seed)
    mus = rng.standard_normal((B, d))
    A = rng.standard_normal((B, d, d))
    precs = A @ A.transpose(0, 2, 1) + d * np.eye(d)
    return mus, precs


def test_batch_equals_single_bitwise():
    mus, precs = make_batch(20, 3)

    def quartic(theta, mus, precs):
        return batch_gauss(theta, mus, precs) - 0.1 * np.sum((theta - mus) ** 4, axis=1)
    res = lf.laplace_batch(quartic, np.zeros((20, 3)), args=(mus, precs))
    assert res.status.tolist() == [0] * 20
    for i in range(20):
        one = lf.laplace_batch(quartic, np.zeros((1, 3)), args=(mus[i:i + 1], precs[i:i + 1]))
        for name in ("mode", "hessian", "cov", "log_det_cov", "logp", "niter", "nfev"):
            assert np.array_equal(getattr(res, name)[i], getattr(one, name)[0]), name
        single = lf.laplace(lambda t: quartic(t[None, :], mus[i:i + 1], precs[i:i + 1])[0],
                            np.zeros(3))
        assert np.array_equal(single.mode, res.mode[i])
        assert np.array_equal(single.hessian, res.hessian[i])
    np.testing.assert_allclose(res.mode, mus, atol=1e-8)
    np.testing.assert_allclose(res.precision, precs, rtol=1e-6)


def test_batch_calls_once_per_stencil_point():
    mus, precs = make_batch(50, 4)
    shapes = []

    def f(theta):
        shapes.append(theta.shape)
        return batch_gauss(theta, mus, precs)
    res = lf.laplace_batch(f, np.zeros((50, 4)))
    assert set(shapes) == {(50, 4)}
    per_hessian = 4 * 5
    assert len(shapes) < 4 * (per_hessian + 10)
    assert len(res) == 50 and isinstance(res[3], lf.LaplaceResult)


def test_poisoned_problems_do_not_change_the_others():
    B = 200
    mus, precs = make_batch(B, 2, seed=3)
    clean = lf.laplace_batch(batch_gauss, np.zeros((B, 2)), args=(mus, precs))
    bad = [3, 50, 51, 199]

    def poisoned(theta, mus, precs):
        v = batch_gauss(theta, mus, precs)
        v[bad] = np.nan
        return v
    with pytest.warns(lf.LaplaceWarning) as rec:
        res = lf.laplace_batch(poisoned, np.zeros((B, 2)), args=(mus, precs))
    assert len(rec) == 1 and "4 of 200" in str(rec[0].message)
    assert np.all(res.status[bad] == Status.NONFINITE_X0)
    good = np.setdiff1d(np.arange(B), bad)
    for name in ("mode", "hessian", "cov", "log_det_cov", "niter"):
        assert np.array_equal(getattr(res, name)[good], getattr(clean, name)[good])


def test_batch_all_failing_still_returns():
    with pytest.warns(lf.LaplaceWarning, match="3 of 3"):
        res = lf.laplace_batch(lambda t: np.full(len(t), np.nan), np.zeros((3, 2)))
    assert np.all(res.status == Status.NONFINITE_X0)
    assert res.converged.tolist() == [False] * 3
    with pytest.raises(lf.LaplaceError):
        res.interval()


def test_batch_mixed_statuses():
    def f(theta):
        out = -np.sum(theta ** 2, axis=1)
        out[1] = -(theta[1, 0] - 1) ** 2            # flat in the second coordinate
        out[2] = np.sum(theta[2] ** 2)              # unbounded above
        return out
    with pytest.warns(lf.LaplaceWarning):
        res = lf.laplace_batch(f, np.ones((3, 2)))
    assert res.status.tolist() == [Status.OK, Status.SINGULAR, Status.DIVERGED]
    assert "1 of 3 problems converged" in res.message


def test_batch_no_progress_without_fallback():
    # a gradient of the wrong sign for problem 1 only: its line search fails
    def grad(theta):
        g = -2 * (theta - 1)
        g[1] *= -1
        return g
    with pytest.warns(lf.LaplaceWarning, match="NO_PROGRESS"):
        res = lf.laplace_batch(lambda t: -np.sum((t - 1) ** 2, axis=1), np.zeros((3, 2)),
                               grad=grad)
    assert res.status.tolist() == [Status.OK, Status.NO_PROGRESS, Status.OK]
    np.testing.assert_allclose(res.mode[[0, 2]], 1, atol=1e-10)


def test_batch_too_large_for_memory_fails_before_work():
    calls = []
    huge = np.broadcast_to(0.0, (10**6, 500))             # no memory behind it
    with pytest.raises(MemoryError, match="bytes"):
        lf.laplace_batch(lambda t: calls.append(1), huge)
    assert not calls


def test_empty_batch():
    res = lf.laplace_batch(lambda t: -np.sum(t ** 2, axis=1), np.zeros((0, 3)))
    assert len(res) == 0 and res.mode.shape == (0, 3)


def test_batch_callback_wrong_shape_and_exception():
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        lf.laplace_batch(lambda t: np.zeros(3), np.zeros((4, 2)))
    with pytest.raises(KeyError):
        lf.laplace_batch(lambda t: {}["x"], np.zeros((4, 2)))
    with pytest.raises(ValueError, match="x0"):
        lf.laplace_batch(lambda t: t[:, 0], np.zeros(4))


def test_keyboard_interrupt_in_a_callback_stops_the_batch():
    calls = []

    def f(theta):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return -np.sum(theta ** 2, axis=1)
    with pytest.raises(KeyboardInterrupt):
        lf.laplace_batch(f, np.ones((100, 3)))
    assert len(calls) == 5                       # nothing scheduled after the interrupt
    res = lf.laplace_batch(lambda t: -np.sum(t ** 2, axis=1), np.ones((100, 3)))
    assert np.all(res.status == 0)               # and the next call is unaffected


def test_batch_methods():
    mus, precs = make_batch(5, 2)
    res = lf.laplace_batch(batch_gauss, np.zeros((5, 2)), args=(mus, precs))
    lo, hi = res.interval()
    assert lo.shape == (5, 2)
    s = res.sample(7, rng=0)
    assert s.shape == (5, 7, 2)
    lp = res.logpdf(mus)
    np.testing.assert_allclose(lp, [stats.multivariate_normal(res.mode[i], res.cov[i]).logpdf(mus[i])
                                    for i in range(5)])
    assert res.to_scipy().shape == (5,)
    assert res[2].log_evidence == pytest.approx(res.log_evidence[2])
    assert [r.status for r in res] == [0] * 5


def test_batch_input_layouts_give_identical_bits():
    mus, precs = make_batch(6, 3, seed=5)
    x0 = np.random.default_rng(1).standard_normal((6, 3))
    ref = lf.laplace_batch(batch_gauss, x0, args=(mus, precs))
    ro = x0.copy()
    ro.flags.writeable = False
    wide = np.zeros((6, 6))
    wide[:, ::2] = x0
    for layout in (np.asfortranarray(x0), ro, wide[:, ::2], x0[::-1][::-1]):
        r = lf.laplace_batch(batch_gauss, layout, args=(mus, precs))
        assert np.array_equal(r.mode, ref.mode) and np.array_equal(r.cov, ref.cov)
    r = lf.laplace(gaussian_logpdf, np.array([0, 1], dtype=np.int64),
                   args=([1.0, 2.0], np.eye(2)))
    assert r.mode.dtype == np.float64 and r.converged


def test_eight_threads_at_once():
    mu, cov = random_gaussian(3, 11)
    x0 = np.zeros(3)
    x0.flags.writeable = False
    ref = lf.laplace(gaussian_logpdf, x0, args=(mu, cov))

    def job(_):
        r = lf.laplace(gaussian_logpdf, x0, args=(mu, cov))
        return np.array_equal(r.cov, ref.cov) and np.array_equal(r.mode, ref.mode)
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        assert all(ex.map(job, range(64)))
    assert np.array_equal(x0, np.zeros(3))
