"""glm_laplace at its edges: the status-3 rule against a numpy skewness bound, the
negative binomial at small dispersion against mpmath, Ctrl-C latency of long batches,
and the input friction of issue 20 (shapes, aliases, flat priors, labels, options)."""

import os
import signal
import threading
import time

import mpmath
import numpy as np
import pytest
from scipy import special, stats

import laplace_fast as lf
from laplace_fast import Status


# ----------------------------------------------------------------- status 3 (item 10)

def _kappa(family, X, y, mode, cov, trials=None):
    """The skewness bound sum_i |l_i'''(eta_i)| s_i^3, s_i^2 = x_i' cov x_i, in numpy
    (third derivatives by the textbook formulas, with scipy's expit and log_ndtr)."""
    eta = X @ mode
    s2 = np.einsum("ij,jk,ik->i", X, cov, X)
    if family in ("logistic", "binomial"):
        p = special.expit(eta)
        t3 = (1.0 if trials is None else trials) * np.abs(p * (1 - p) * (1 - 2 * p))
    elif family == "probit":
        z = (2 * y - 1) * eta
        lam = np.exp(stats.norm.logpdf(z) - special.log_ndtr(z))
        h = lam * (lam + z)
        t3 = np.abs(lam - h * (2 * lam + z))
    else:
        t3 = np.exp(eta)
    return np.sum(t3 * s2 ** 1.5)


def test_a_small_all_zero_group_under_a_unit_prior_is_not_flagged():
    # issue 20, item 10: 10 rows, every y 0, prior precision 1: importance sampling from
    # the Laplace Gaussian gives Pareto k-hat 0.32 (bench/calibrate_extreme.py), a good
    # approximation; the fit is separation-like, and was status 3
    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(10), rng.standard_normal(10)])
    res = lf.glm_laplace(X, np.zeros(10), prior_precision=1.0)
    assert res.status == Status.OK
    assert _kappa("logistic", X, np.zeros(10), res.mode, res.cov) < 2.0
    # a batch of 2,000 groups of 10 rows with a rare outcome: none is flagged
    Xb = np.concatenate([np.ones((2000, 10, 1)), rng.standard_normal((2000, 10, 1))], -1)
    yb = (rng.random((2000, 10)) < 0.02).astype(float)
    assert np.all(lf.glm_laplace(Xb, yb).status == Status.OK)


@pytest.mark.parametrize("family", ["logistic", "probit", "poisson", "binomial"])
def test_status_3_is_the_skewness_bound_above_2_on_screened_fits(family):
    # screened fits (every y 0, or separated rows) under priors from weak to strong: the
    # status is 3 exactly where the bound, computed here in numpy, exceeds 2
    rng = np.random.default_rng(11)
    seen = set()
    for n in (5, 10, 30):
        for prec in (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 10.0):
            X = np.column_stack([np.ones(n), rng.standard_normal(n)])
            y = np.zeros(n)
            kw, t = {}, None
            if family == "binomial":
                t = np.full(n, 3.0)
                kw["trials"] = t
            if family in ("logistic", "probit") and n > 5:
                y = (X[:, 1] > 0).astype(float)            # separated
            with _quiet():
                res = lf.glm_laplace(X, y, family=family, prior_precision=prec, **kw)
            assert res.converged
            k = _kappa(family, X, y, res.mode, res.cov, t)
            if abs(k - 2.0) < 0.05:
                continue                                   # too close to call
            assert (res.status == Status.EXTREME_PREDICTOR) == (k > 2.0), (n, prec, k)
            seen.add(int(res.status))
    assert seen == {0, 3}


class _quiet:
    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", lf.LaplaceWarning)

    def __exit__(self, *exc):
        return self._w.__exit__(*exc)


def test_status_3_does_not_depend_on_the_batch_or_threads():
    rng = np.random.default_rng(5)
    B, n = 64, 8
    X = np.concatenate([np.ones((B, n, 1)), rng.standard_normal((B, n, 1))], -1)
    y = (rng.random((B, n)) < 0.1).astype(float)
    prec = np.geomspace(1e-3, 10, B)[:, None]
    with _quiet():
        one = lf.glm_laplace(X, y, prior_precision=prec, n_threads=1)
        two = lf.glm_laplace(X, y, prior_precision=prec, n_threads=2)
        alone = [lf.glm_laplace(X[b], y[b], prior_precision=prec[b, 0]).status
                 for b in range(B)]
    assert np.array_equal(one.status, two.status)
    assert np.array_equal(one.status, alone)
    assert 0 < np.sum(one.status == 3) < B


# --------------------------------------------- negative binomial, small dispersion (19)

mpmath.mp.dps = 50


def _nb_loglik_mp(y, mu, alpha):
    """log NB(y; mean mu, Var mu + alpha mu^2) in mpmath at 50 digits."""
    y, mu, r = mpmath.mpf(y), mpmath.mpf(mu), 1 / mpmath.mpf(alpha)
    return (mpmath.loggamma(y + r) - mpmath.loggamma(r) - mpmath.loggamma(y + 1)
            + y * mpmath.log(mu / (mu + r)) + r * mpmath.log(r / (r + mu)))


ALPHAS = [1e-16, 1e-14, 1e-12, 1e-10, 1e-7, 1e-4, 0.01, 0.09, 0.1, 0.5, 1.0, 7.0, 1e3]
COUNTS = [0, 1, 2, 9, 10, 57, 1000, 12345, 1e6]


def test_negative_binomial_log_likelihood_matches_mpmath_at_every_dispersion():
    # one problem per (alpha, y, mu), X = 0: the posterior is the prior N(0, 1), the
    # mode 0 and logp the row's log likelihood + log N(0; 0, 1) (every term of the
    # kernel's value and of its constant)
    cases = [(a, y, mu) for a in ALPHAS for y in COUNTS for mu in (0.05, 3.0, 2000.0)]
    a, y, mu = (np.array(c, dtype=float) for c in zip(*cases))
    B = a.size
    with _quiet():
        res = lf.glm_laplace(np.zeros((B, 1, 1)), y[:, None], family="negative_binomial",
                             dispersion=a, offset=np.log(mu)[:, None])
    assert np.all(res.mode == 0.0)
    got = res.logp + 0.5 * np.log(2 * np.pi)
    ref = np.array([float(_nb_loglik_mp(*c[1:], c[0])) for c in cases])
    # the rounding level of the terms: ulps of y (|log r| + |log mu| + log y + 1), and of
    # mu (|log r| + 1) (the kernel's terms are in u = eta - log r)
    scale = 1.0 + (y + mu) * (np.abs(np.log(a)) + 1.0) + y * (np.abs(np.log(mu))
                                                           + np.log1p(y))
    err = np.abs(got - ref) / scale
    assert np.max(err) < 2e-14, cases[int(np.argmax(err))]


def test_negative_binomial_evidence_at_small_dispersion_reaches_the_poisson_limit():
    rng = np.random.default_rng(8)
    n = 100
    X = np.column_stack([np.ones(n), rng.standard_normal((n, 2))])
    y = rng.poisson(np.exp(1.0 + X[:, 1:] @ [0.4, -0.3])).astype(float)
    pois = lf.glm_laplace(X, y, family="poisson")
    for alpha in (1e-16, 1e-14, 1e-10, 1e-6, 0.3):
        res = lf.glm_laplace(X, y, family="negative_binomial", dispersion=alpha)
        assert res.status == Status.OK
        # logp against mpmath's log joint at the mode
        mu = np.exp(X @ res.mode)
        ref = mpmath.fsum(_nb_loglik_mp(yi, mi, alpha) for yi, mi in zip(y, mu))
        ref += float(stats.multivariate_normal.logpdf(res.mode, np.zeros(3), np.eye(3)))
        assert res.logp == pytest.approx(float(ref), rel=1e-13, abs=1e-11)
        if alpha <= 1e-10:   # NB -> Poisson: the evidence within O(alpha sum mu^2)
            assert res.log_evidence == pytest.approx(pois.log_evidence, rel=0,
                                                     abs=1e-11 + alpha * np.sum(mu**2))


# ----------------------------------------------------------------- Ctrl-C (item 21)

def _separated_batch(B, n=20):
    x = np.linspace(-2, 2, n)
    X = np.column_stack([np.ones(n), x])
    return (np.ascontiguousarray(np.broadcast_to(X, (B, n, 2))),
            np.ascontiguousarray(np.broadcast_to((x > 0.1).astype(float), (B, n))))


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("maxiter,B", [(20_000, 2_000), (100, 200_000)])
def test_ctrl_c_stops_a_batch_of_long_iterations_within_a_second(maxiter, B, n_threads):
    # separated rows under a near-flat prior: every problem runs to maxiter (status -8);
    # the whole batch takes seconds (maxiter 20,000: ~2 ms a problem), and SIGINT at
    # 0.2 s must raise KeyboardInterrupt within a second
    X, y = _separated_batch(B)
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt), _quiet():
        lf.glm_laplace(X, y, prior_precision=1e-300, maxiter=maxiter, n_threads=n_threads)
        time.sleep(5)                                # not reached if the call stopped
    timer.join()
    assert time.perf_counter() - t0 < 1.2


def test_slices_ended_by_work_give_the_same_bits():
    from laplace_fast import _glm_testing
    X, y = _separated_batch(300)
    X = X + np.random.default_rng(2).normal(0, 0.01, X.shape)   # problems differ
    kw = dict(prior_precision=np.geomspace(1e-6, 1, 300)[:, None], maxiter=500)
    with _quiet():
        ref = lf.glm_laplace(X, y, n_threads=1, **kw)
        old = _glm_testing.set_slice_budget(20_000)   # a few problems a slice
        try:
            outs = [lf.glm_laplace(X, y, n_threads=t, **kw) for t in (1, 2)]
        finally:
            _glm_testing.set_slice_budget(old)
    for o in outs:
        for k in ("mode", "cov", "logp", "status", "nfev"):
            assert np.array_equal(getattr(o, k), getattr(ref, k), equal_nan=True), k


@pytest.mark.parametrize("name", ["X", "y", "offset", "weights"])
def test_longdouble_input_is_refused_naming_it(name):
    rng = np.random.default_rng(3)
    data = dict(X=rng.standard_normal((20, 2)), y=(rng.random(20) < 0.5).astype(float),
                offset=np.zeros(20), weights=np.ones(20))
    data[name] = data[name].astype(np.longdouble)
    X, y = data.pop("X"), data.pop("y")
    with pytest.raises(TypeError, match=f"^{name} has dtype"):
        lf.glm_laplace(X, y, **data)
