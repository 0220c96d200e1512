"""The callback core at the edges where it used to give silent wrong answers: posteriors
narrower than the step tolerance, far from the origin or very wide, large additive
constants, zero curvature at the maximum, null line-search steps, huge Hessians; and the
scipy path, regularisation, callbacks' return values and argument errors.

Every expected value is a closed form: a Gaussian log density's mode, covariance and
(normalised) log evidence 0."""

import warnings

import numpy as np
import pytest

import laplace_fast as lf
from laplace_fast import Status


def quiet(fn, *args, **kw):
    """Call fn with LaplaceWarning silenced (statuses are asserted instead); any other
    warning, a numpy RuntimeWarning above all, still fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lf.LaplaceWarning)
        return fn(*args, **kw)


def normal_1d(mu, sd, const=0.0):
    """log N(t; mu, sd^2) + const: the Laplace approximation is exact, log evidence const."""
    def f(t):
        return -0.5 * ((t[0] - mu) / sd) ** 2 - 0.5 * np.log(2 * np.pi) - np.log(sd) + const
    return f


# ------------------------------------------------------------------ convergence (12)
@pytest.mark.parametrize("mu,sd,x0", [(3e-10, 1e-10, 0.0), (1e8, 0.05, 1e8 + 1.0),
                                      (-2e8, 0.5, -2e8 + 30.0), (5e-6, 1e-7, 0.0)])
@pytest.mark.parametrize("method", ["central", "forward", "richardson"])
def test_narrow_posterior_mode_in_its_own_units(mu, sd, x0, method):
    # the step tolerance tol max(1, |x|) is wider than the posterior here: convergence
    # must be judged in the posterior's sd's (the Newton decrement), not by that step
    r = quiet(lf.laplace, normal_1d(mu, sd), x0, hessian_method=method)
    assert r.converged
    assert abs(r.mode[0] - mu) <= 1e-3 * sd
    assert r.std[0] == pytest.approx(sd, rel=1e-3)
    assert abs(r.log_evidence) <= 1e-5


def test_mode_three_sd_off_is_not_converged_any_more():
    # the example: before, status OK at 0 and log evidence -4.5
    r = lf.laplace(normal_1d(3e-10, 1e-10), 0.0)
    assert r.status == Status.OK
    assert r.mode[0] == pytest.approx(3e-10, rel=1e-6)
    assert abs(r.log_evidence) < 1e-8


# ------------------------------------------------------------------ step scale (13)
@pytest.mark.parametrize("sd,x0", [(1e3, 300.0), (1e4, 300.0), (1e6, -2e5)])
@pytest.mark.parametrize("method", ["central", "forward"])
def test_wide_posteriors(sd, x0, method):
    r = quiet(lf.laplace, normal_1d(0.0, sd), x0, hessian_method=method)
    assert r.converged
    assert r.std[0] == pytest.approx(sd, rel=1e-4)
    assert abs(r.mode[0]) <= 1e-4 * sd


def test_large_constant_is_flagged_or_accurate():
    # -1e9 + a unit Gaussian: the values' rounding (1e-7) limits every finite difference;
    # the result must be accurate to its own error estimate and flagged when that is large
    for method in ("central", "forward"):
        r = quiet(lf.laplace, lambda t: -1e9 - 0.5 * np.sum((t - 1.0) ** 2), np.zeros(2),
                  hessian_method=method)
        assert r.converged
        err = np.max(np.abs(r.cov - np.eye(2)))
        est = np.max(r.hessian_error)
        assert err <= 10 * est + 1e-12
        if r.status == Status.OK:
            assert err <= 1e-4
        else:
            assert r.status == Status.HESSIAN_INACCURATE
        assert np.max(np.abs(r.mode - 1.0)) <= 1e-3


@pytest.mark.parametrize("const", [0.0, 1e5, -1e7])
def test_additive_constant_never_changes_the_status(const):
    f = lambda t: const - 0.5 * (t[0] - 2.0) ** 2 - 0.125 * (t[0] - 2.0) ** 4 / 10
    r = quiet(lf.laplace, f, 0.0)
    assert r.converged
    assert r.mode[0] == pytest.approx(2.0, abs=1e-4)
    assert r.hessian[0, 0] == pytest.approx(-1.0, rel=1e-3)


def test_forward_hessian_at_unit_scale():
    A = np.array([[2.0, 0.3], [0.3, 1.0]])
    r = quiet(lf.laplace, lambda t: -0.5 * t @ A @ t, np.ones(2),
              hessian_method="forward")
    assert r.status == Status.OK
    np.testing.assert_allclose(r.precision, A, rtol=1e-4)


def test_hessian_error_is_reported_for_central_and_forward():
    for method in ("central", "forward"):
        r = lf.laplace(lambda t: -0.5 * np.sum(t ** 2), np.ones(3), hessian_method=method)
        assert r.status == Status.OK
        assert np.all(r.hessian_error > 0) and np.max(r.hessian_error) < 1e-4


# ------------------------------------------------------------------ zero curvature (14)
@pytest.mark.parametrize("x0", [1.0, 0.0, -0.3])
@pytest.mark.parametrize("method", ["central", "forward", "richardson"])
def test_zero_curvature_maximum_is_no_gaussian(x0, method):
    r = quiet(lf.laplace, lambda t: -t[0] ** 4, x0, hessian_method=method)
    assert not r.converged
    assert r.status == Status.SINGULAR
    assert np.all(np.isnan(r.cov)) and np.isnan(r.log_evidence)


def test_zero_curvature_in_one_direction_of_two():
    r = quiet(lf.laplace, lambda t: -(t[0] + t[1]) ** 4 - (t[0] - t[1]) ** 2, [0.7, 0.1])
    assert not r.converged


# ------------------------------------------------------------------ scipy path (15)
def test_scipy_path_never_upgrades_maxiter_whatever_the_constant():
    for const in (0.0, -1e5, 1e5):
        r = quiet(lf.laplace, lambda t: const - 0.5 * np.sum((t - 3.0) ** 2), np.zeros(2),
                  method="BFGS", maxiter=1)
        assert r.status == Status.MAXITER, const


@pytest.mark.parametrize("method", ["SLSQP", "L-BFGS-B", "COBYLA"])
def test_scipy_success_off_the_mode_is_no_progress(method):
    # a constant of -1e9 stops scipy's relative tests far from the mode at 3: the
    # decrement at the point returned says it is no stationary point
    r = quiet(lf.laplace, lambda t: -1e9 - 0.5 * np.sum((t - 3.0) ** 2), np.zeros(2),
              method=method)
    assert r.status in (Status.OK, Status.NO_PROGRESS)
    if r.status == Status.OK:
        assert np.max(np.abs(r.mode - 3.0)) <= 1e-3
    else:
        assert "not a stationary point" in r.message
    if np.max(np.abs(r.mode - 3.0)) > 1e-3:
        assert r.status == Status.NO_PROGRESS


def test_scipy_point_with_unresolved_curvature_is_singular():
    r = quiet(lf.laplace, lambda t: -t[0] ** 4, 1.0, method="BFGS")
    assert r.status == Status.SINGULAR and "not resolved" in r.message


def test_scipy_success_is_judged_at_the_point_returned():
    r = lf.laplace(normal_1d(3e-10, 1e-10), 1e-9, method="Nelder-Mead")
    # Nelder-Mead's absolute tolerances cannot locate this mode: never OK off it
    if r.status == Status.OK:
        assert abs(r.mode[0] - 3e-10) < 1e-3 * 1e-10
    r = lf.laplace(normal_1d(1.0, 2.0), 0.0, method="BFGS")
    assert r.status == Status.OK and r.mode[0] == pytest.approx(1.0, abs=1e-6)


# ------------------------------------------------------------------ null steps (16)
def test_exact_mode_with_a_large_constant_converges():
    f = lambda t: 1e5 - 0.4217058376790693 * np.cosh(t[0] - 1.1495759888533879)
    r = lf.laplace(f, 1.3309479466692329)
    assert r.status == Status.OK
    assert r.nfev < 60
    assert r.mode[0] == pytest.approx(1.1495759888533879, abs=1e-4)
    assert r.precision[0, 0] == pytest.approx(0.4217058376790693, rel=1e-4)


# ------------------------------------------------------------------ huge Hessians (17)
def test_huge_singular_hessian_is_singular():
    Hs = -1e160 * np.array([[1.0, 1 - 1e-13], [1 - 1e-13, 1.0]])
    r = quiet(lf.laplace, lambda t: 0.5 * t @ Hs @ t, np.zeros(2), hess=lambda t: Hs)
    assert r.status == Status.SINGULAR
    # the same matrix scaled to 1 is singular too: scale never changes the verdict
    r1 = quiet(lf.laplace, lambda t: 0.5e-160 * t @ Hs @ t, np.zeros(2),
               hess=lambda t: Hs * 1e-160)
    assert r1.status == Status.SINGULAR


def test_huge_and_tiny_regular_hessians():
    for scale in (1e200, 1e-200):
        A = scale * np.array([[2.0, 0.5], [0.5, 1.0]])
        r = lf.laplace(lambda t: -0.5 * t @ A @ t, np.zeros(2), hess=lambda t: -A)
        assert r.status == Status.OK
        np.testing.assert_allclose(r.precision, A, rtol=1e-15)


# ------------------------------------------------------------------ regularize, hess (18)
def test_regularize_shifts_a_saddle():
    H = np.diag([2.0, -2.0])                         # x^2 - y^2 at 0: a saddle
    r = quiet(lf.laplace, lambda t: t[0] ** 2 - t[1] ** 2, np.zeros(2),
              hess=lambda t: H, method="BFGS", regularize=True)
    assert r.status == Status.REGULARISED
    lam = np.linalg.eigvalsh(np.linalg.inv(r.cov))
    assert lam.min() > 0 and lam.min() == pytest.approx(1e-8 * lam.max(), rel=1e-3)
    np.testing.assert_allclose(np.linalg.inv(r.cov), -H + r.regularization * np.eye(2))
    assert np.isnan(r.log_evidence)
    np.testing.assert_array_equal(r.hessian, H)


def test_asymmetric_hess_raises_naming_it():
    with pytest.raises(ValueError, match="hess must return a symmetric"):
        lf.laplace(lambda t: -0.5 * t @ t, np.zeros(2),
                   hess=lambda t: np.array([[-1.0, 0.3], [0.0, -1.0]]))


def test_hess_symmetric_to_rounding_is_accepted_and_symmetrised():
    H = np.array([[-2.0, 0.3 + 1e-17], [0.3, -1.0]])
    r = lf.laplace(lambda t: 0.5 * t @ H @ t, np.zeros(2), hess=lambda t: H)
    assert r.status == Status.OK
    np.testing.assert_array_equal(r.hessian, r.hessian.T)


# ------------------------------------------------------------------ the seed's code (1)
def seed_log_posterior(theta):
    return -(theta ** 4) + 2 * (theta ** 2)          # an array of shape (1,) for theta (1,)


def test_seed_article_code_runs():
    r = lf.laplace(seed_log_posterior, x0=1.0)
    assert r.status == Status.OK
    assert r.mode[0] == pytest.approx(1.0, abs=1e-8)
    assert r.hessian[0, 0] == pytest.approx(-8.0, rel=1e-6)
    assert lf.find_map(seed_log_posterior, 1.0).converged
    assert lf.gradient(seed_log_posterior, [0.5])[0] == pytest.approx(-4 * 0.125 + 4 * 0.5)
    assert lf.hessian(seed_log_posterior, [1.0])[0, 0] == pytest.approx(-8.0, rel=1e-6)


@pytest.mark.parametrize("ret", [np.array([[1.5]]), [1.5], np.float32(1.5), 1, True])
def test_size_one_returns_are_accepted(ret):
    assert lf.hessian(lambda x: ret, [1.0, 2.0]).shape == (2, 2)


def test_messages_name_the_argument_as_written():
    with pytest.raises(ValueError, match=r"^f must return .*vectorized=True"):
        lf.gradient(lambda x: x, [1.0, 2.0])
    with pytest.raises(ValueError, match=r"^log_post must return"):
        lf.laplace(lambda x: x, [1.0, 2.0])
    with pytest.raises(TypeError, match=r"^f must be callable"):
        lf.hessian(3.0, [1.0])


# ------------------------------------------------------------------ statuses say why (6)
def test_negative_log_posterior_gets_a_hint():
    with pytest.warns(lf.LaplaceWarning, match="pass the log posterior, not its negative"):
        r = lf.laplace(lambda t: 0.5 * np.sum((t - 1.0) ** 2), np.zeros(2))
    assert not r.converged


def test_unbounded_linear_function_is_not_called_flat():
    with pytest.warns(lf.LaplaceWarning, match="DIVERGED"):
        r = lf.laplace(lambda t: t[0], 0.3)
    assert r.status == Status.DIVERGED
    # unbounded along a flat direction of a curved function: never a flat "mode"
    r = quiet(lf.laplace, lambda t: 2.0 * t[0] - t[1] ** 2, [0.0, 0.0])
    assert r.status in (Status.DIVERGED, Status.MAXITER)


# ------------------------------------------------------------------ warnings (7)
def test_no_runtime_warning_from_rejected_trial_points():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = lf.laplace(lambda t: 0.5 * np.log(t[0]) - 3 * t[0], x0=5.0)
    assert r.status == Status.OK
    assert r.mode[0] == pytest.approx(0.5 / 3, rel=1e-6)       # the closed-form mode
    assert r.hessian[0, 0] == pytest.approx(-0.5 / (0.5 / 3) ** 2, rel=1e-5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lf.hessian(lambda t: np.log(t[0] - 1.0), [1.0 + 1e-9])
        quiet(lf.laplace, lambda t: 0.5 * np.log(t[0]) - 3 * t[0], 5.0, method="BFGS")


# ------------------------------------------------------------------ argument errors (22)
@pytest.mark.parametrize("kw,exc,match", [
    (dict(maxiter=2**63), ValueError, "maxiter must be between"),
    (dict(maxiter=0), ValueError, "maxiter must be between"),
    (dict(tol=10**400), ValueError, "tol must be a positive finite"),
    (dict(tol=True), TypeError, "tol must be a real number"),
    (dict(tol="1e-8"), TypeError, "tol must be a real number"),
])
def test_option_errors_name_the_argument(kw, exc, match):
    for fn in (lf.laplace, lf.find_map):
        with pytest.raises(exc, match=match):
            fn(lambda t: -t @ t, np.zeros(2), **kw)
    with pytest.raises(exc, match=match):
        lf.laplace_batch(lambda t: -np.sum(t * t, axis=1), np.zeros((2, 2)), **kw)


@pytest.mark.parametrize("ret", [[1.0, 2.0], None, "a", 1j])
@pytest.mark.parametrize("method", ["BFGS", "Nelder-Mead"])
def test_scipy_methods_name_a_bad_callback(ret, method):
    with pytest.raises((TypeError, ValueError), match="^log_post must return"):
        lf.laplace(lambda t: ret, np.zeros(2), method=method)


def test_longdouble_is_refused():
    with pytest.raises(TypeError, match="x0 has dtype float128|x0 has dtype longdouble"):
        lf.laplace(lambda t: -t @ t, np.zeros(2, dtype=np.longdouble))
