"""The compiled summary of fitted Hessians (laplace_fast._core.summarize), against numpy's
own linear algebra: cov, log det, condition number, the classification, the error flag
(status 2) and the regularisation (status 4)."""

import numpy as np
import pytest

from laplace_fast import Status, _core


def _summarize(H, herr=None, axis_err=np.nan, status=0, source="central", regularize=0.0):
    H = np.ascontiguousarray(np.asarray(H, dtype=float)[None])
    herr = np.zeros_like(H) if herr is None else np.ascontiguousarray(
        np.asarray(herr, dtype=float)[None])
    st = np.array([status], dtype=np.intc)
    cov, logdet, cond, shift = _core.summarize(H, herr, np.array([axis_err]), st, source,
                                               regularize)
    return cov[0], logdet[0], cond[0], shift[0], Status(int(st[0]))


def test_a_negative_definite_hessian_gives_its_gaussian():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((4, 4))
    P = A @ A.T + 4 * np.eye(4)
    cov, logdet, cond, shift, st = _summarize(-P)
    lam = np.linalg.eigvalsh(P)
    assert st == Status.OK and shift == 0.0
    np.testing.assert_allclose(cov, np.linalg.inv(P), rtol=1e-12)
    assert logdet == pytest.approx(-np.linalg.slogdet(P)[1], rel=1e-13)
    assert cond == pytest.approx(lam[-1] / lam[0], rel=1e-12)


@pytest.mark.parametrize("H, expected", [
    (np.diag([-1.0, 2.0]), Status.NOT_NEGDEF),          # a saddle
    (np.diag([-1.0, 0.0]), Status.SINGULAR),            # a flat direction
    (np.array([[-1.0, np.nan], [np.nan, -1.0]]), Status.HESSIAN_NONFINITE),
    # a condition number beyond 1e12 but a smallest eigenvalue above the analytic
    # source's singular tolerance (1e-13)
    (np.diag([-1.0, -5e-13]), Status.ILL_CONDITIONED),
])
def test_classification(H, expected):
    cov, logdet, cond, shift, st = _summarize(H, source="analytic")
    assert st == expected
    if expected != Status.ILL_CONDITIONED:
        assert np.all(np.isnan(cov)) and np.isnan(logdet) and cond == np.inf
    else:
        assert cond == pytest.approx(2e12, rel=1e-12)
    # the same -H from a central stencil (tolerance 1e-12) is singular
    if expected == Status.ILL_CONDITIONED:
        assert _summarize(H)[4] == Status.SINGULAR


def test_a_failure_so_far_is_kept():
    cov, logdet, cond, shift, st = _summarize(-np.eye(2), status=Status.MAXITER)
    assert st == Status.MAXITER
    np.testing.assert_array_equal(cov, np.eye(2))     # its Gaussian is still formed
    cov, logdet, cond, shift, st = _summarize(-np.eye(2), status=Status.SINGULAR)
    assert st == Status.SINGULAR and np.all(np.isnan(cov))


@pytest.mark.parametrize("err, expected", [(0.9e-4, Status.OK),
                                           (1.1e-4, Status.HESSIAN_INACCURATE)])
def test_the_error_estimate_flags_status_2(err, expected):
    # diagonal -H = diag(2, 5): the principal axes are the coordinates, so the relative
    # error of the second curvature is herr_11 / 5
    H = -np.diag([2.0, 5.0])
    herr = np.diag([0.0, 5.0 * err])
    assert _summarize(H, herr, source="richardson")[4] == expected
    # a measured axis error takes precedence over the entries' estimate
    assert _summarize(H, herr, axis_err=0.0)[4] == Status.OK
    assert _summarize(H, np.zeros((2, 2)), axis_err=err)[4] == expected


def test_regularisation_of_a_saddle_is_the_closed_form_shift():
    H = np.array([[-2.0, 0.5], [0.5, 1.0]])
    lam = np.linalg.eigvalsh(-H)
    rho = 1e-3
    tau = (rho * lam[-1] - lam[0]) / (1 - rho)
    cov, logdet, cond, shift, st = _summarize(H, regularize=rho)
    assert st == Status.REGULARISED
    assert shift == pytest.approx(tau, rel=1e-12)
    P = -H + tau * np.eye(2)
    np.testing.assert_allclose(cov, np.linalg.inv(P), rtol=1e-9)
    assert cond == pytest.approx(1 / rho, rel=1e-9)
    # without regularize the saddle stays a failure with no shift
    assert _summarize(H)[3:] == (0.0, Status.NOT_NEGDEF)


def test_an_unknown_source_is_a_key_error():
    with pytest.raises(KeyError):
        _summarize(-np.eye(2), source="magic")
