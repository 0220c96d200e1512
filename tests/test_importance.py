"""result.importance(): Pareto-smoothed importance sampling from the Laplace Gaussian.

The evidence and moments are checked against quadrature (scipy.integrate) for 1-D and
2-D posteriors: within a few Monte Carlo standard errors, and closer than the plain
Laplace values; the GLMs' own log joint against scipy.stats; batches against their
problems bit for bit; bad input."""

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

import laplace_fast as lf
from laplace_fast import LaplaceError, Status
from laplace_fast._importance import _glm_log_joint, _importance_from_draws


def _standard_errors(imp):
    """Monte Carlo standard errors of the log evidence (the delta method on the mean of
    the raw weights) and of the self-normalised mean."""
    w = np.exp(imp.log_weights - np.max(imp.log_weights))
    se_log_z = np.std(w) / (math.sqrt(w.size) * np.mean(w))
    wn = w / np.sum(w)
    se_mean = np.sqrt(np.sum(wn[:, None] ** 2 * (imp.samples - imp.mean) ** 2, axis=0))
    return se_log_z, se_mean


def _check_against(r, imp, log_z, mean, skewed):
    """IS within 4 standard errors of quadrature; closer than Laplace where Laplace is
    off (the ``skewed`` coordinates of the mean)."""
    se_z, se_m = _standard_errors(imp)
    assert abs(imp.log_evidence - log_z) < 4 * se_z
    assert abs(imp.log_evidence - log_z) < abs(r.log_evidence - log_z)
    assert np.all(np.abs(imp.mean - mean) < 4 * se_m)
    for j in skewed:
        assert abs(imp.mean[j] - mean[j]) < abs(r.mode[j] - mean[j])


def _quad1(f, lo=-np.inf, hi=np.inf):
    z = integrate.quad(lambda t: np.exp(f(t)), lo, hi, limit=200)[0]
    m = integrate.quad(lambda t: t * np.exp(f(t)), lo, hi, limit=200)[0] / z
    return math.log(z), np.array([m])


# ----------------------------------------------------------------------- quadrature

def test_bimodal_seed_posterior_is_flagged():
    # the seed's -t^4 + 2 t^2: a Gaussian at the mode t = 1 misses the mode at -1
    def log_post(t):
        return -t[0] ** 4 + 2 * t[0] ** 2
    r = lf.laplace(log_post, [0.8])
    imp = r.importance(log_post, n=4000, rng=0)
    assert imp.khat > 0.7 and not imp.reliable
    # the k-hat of 4000 draws is above 0.7 for most streams (its 10 % quantile is 0.67)
    ks = [r.importance(log_post, n=4000, rng=s).khat for s in range(1, 6)]
    assert np.median(ks) > 0.7
    log_z, _ = _quad1(lambda t: -t ** 4 + 2 * t ** 2)
    # half the mass is missing: the evidence is low by about log 2 (quadrature 1.680)
    assert log_z - imp.log_evidence > 0.4


def test_unimodal_light_tailed_posterior():
    # -t^2/2 - t^4/10: lighter tails than the Gaussian, bounded weights, k-hat < 0
    def f(t):
        return -0.5 * t ** 2 - 0.1 * t ** 4
    r = lf.laplace(lambda t: f(t[0]), [0.5])
    imp = r.importance(lambda t: f(t[:, 0]), n=4000, rng=0, vectorized=True)
    assert imp.khat < 0 and imp.reliable
    log_z, mean = _quad1(f)
    _check_against(r, imp, log_z, mean, skewed=[])


def test_skewed_light_tailed_posterior():
    def f(t):
        return -0.5 * t ** 2 - 0.3 * t ** 3 - 0.5 * t ** 4
    r = lf.laplace(lambda t: f(t[0]), [0.1])
    imp = r.importance(lambda t: f(t[:, 0]), n=4000, rng=0, vectorized=True)
    assert imp.reliable
    log_z, mean = _quad1(f)
    _check_against(r, imp, log_z, mean, skewed=[0])


def test_gamma_shaped_posterior():
    # t^9 e^-t (a gamma(10) kernel): Z = Gamma(10), mean 10, mode 9; its right tail is
    # heavier than the Gaussian's, k-hat near 0.5
    a = 10.0

    def log_post(t):
        return np.where(t[:, 0] > 0, (a - 1) * np.log(np.abs(t[:, 0])) - t[:, 0], -np.inf)
    r = lf.laplace(lambda t: (a - 1) * math.log(t[0]) - t[0], [8.0])
    imp = r.importance(log_post, n=20000, rng=0, vectorized=True)
    assert 0.3 < imp.khat < imp.threshold
    log_z, mean = _quad1(lambda t: (a - 1) * np.log(t) - t, 0.0, np.inf)
    assert abs(log_z - special.gammaln(a)) < 1e-10
    _check_against(r, imp, log_z, mean, skewed=[0])
    # the weighted variance is the gamma's, 10 (Laplace: the curvature's 9)
    assert abs(imp.cov[0, 0] - a) < abs(r.cov[0, 0] - a)


def test_heavy_tailed_student_t():
    nu = 10.0

    def f(t):
        return -(nu + 1) / 2 * np.log1p(t * t / nu)
    r = lf.laplace(lambda t: f(t[0]), [0.3])
    imp = r.importance(lambda t: f(t[:, 0]), n=20000, rng=0, vectorized=True)
    assert imp.khat > 0.3       # heavier than the Gaussian: near the 0.7 limit
    log_z, mean = _quad1(f)
    _check_against(r, imp, log_z, mean, skewed=[])


def test_two_dimensional_banana():
    def g(a, b):
        return -0.5 * a ** 2 - 0.5 * (b - 0.3 * a ** 2) ** 2 - 0.05 * b ** 4
    r = lf.laplace(lambda t: g(t[0], t[1]), [0.1, 0.1])
    imp = r.importance(lambda t: g(t[:, 0], t[:, 1]), n=4000, rng=0, vectorized=True)
    z = integrate.dblquad(lambda b, a: np.exp(g(a, b)), -12, 12, -12, 30)[0]
    mb = integrate.dblquad(lambda b, a: b * np.exp(g(a, b)), -12, 12, -12, 30)[0] / z
    assert imp.reliable and imp.mean.shape == (2,) and imp.cov.shape == (2, 2)
    _check_against(r, imp, math.log(z), np.array([0.0, mb]), skewed=[1])


def test_intercept_only_logistic_with_few_rows():
    # the GLM path: no log_post; 6 rows, prior precision 1
    y = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 0.0])

    def f(t):
        return (np.sum(y) * t - y.size * np.logaddexp(0.0, t)
                - 0.5 * t * t - 0.5 * math.log(2 * math.pi))
    r = lf.glm_laplace(np.ones((6, 1)), y, family="logistic", prior_precision=1.0)
    imp = r.importance(n=4000, rng=0)
    log_z, mean = _quad1(f)
    assert abs(r.log_evidence - log_z) > 1e-3       # Laplace is off
    _check_against(r, imp, log_z, mean, skewed=[0])


def test_gaussian_family_is_exact():
    # the Gaussian linear model's posterior is the Laplace Gaussian: flat weights
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(20), rng.standard_normal(20)])
    r = lf.glm_laplace(X, X @ [1.0, -0.5] + rng.standard_normal(20), family="gaussian",
                       scale=1.0)
    imp = r.importance(n=500, rng=0)
    assert np.ptp(imp.log_weights) < 1e-10
    assert abs(imp.log_evidence - r.log_evidence) < 1e-10
    assert imp.ess == pytest.approx(500, abs=1e-6) and imp.reliable


# ------------------------------------------------------------ status 3 and k-hat

def test_small_all_zero_group_unit_prior_is_reliable_and_not_flagged():
    # issue 23: 10 rows, every y 0, prior precision 1: the Gaussian is adequate
    r = lf.glm_laplace(np.ones((10, 1)), np.zeros(10), family="logistic",
                       prior_precision=1.0)
    assert r.status == Status.OK
    ks = [r.importance(n=4000, rng=s).khat for s in range(3)]
    assert max(ks) < 0.5


def test_status_3_where_khat_agrees():
    # 10 rows, y 0, a slope, prior precision 0.001: status 3 and a heavy-tailed k-hat
    X = np.column_stack([np.ones(10), np.linspace(-1.0, 1.0, 10)])
    with pytest.warns(lf.LaplaceWarning, match="importance"):
        r = lf.glm_laplace(X, np.zeros(10), family="logistic", prior_precision=0.001)
    assert r.status == Status.EXTREME_PREDICTOR
    ks = [r.importance(n=4000, rng=s).khat for s in range(3)]
    assert np.median(ks) > 0.6


# ------------------------------------------------------------ the GLM log joint

def _scipy_log_joint(family, X, y, theta, prec, mean, weights=None, **kw):
    eta = X @ theta
    if family == "logistic":
        ll = stats.bernoulli.logpmf(y, special.expit(eta))
    elif family == "probit":
        ll = stats.bernoulli.logpmf(y, special.ndtr(eta))
    elif family == "poisson":
        ll = stats.poisson.logpmf(y, np.exp(eta))
    elif family == "binomial":
        ll = stats.binom.logpmf(y, kw["trials"], special.expit(eta))
    elif family == "negative_binomial":
        rr = 1.0 / kw["dispersion"]
        ll = stats.nbinom.logpmf(y, rr, rr / (rr + np.exp(eta)))
    else:
        ll = stats.norm.logpdf(y, eta, kw["scale"])
    d = theta.size
    prior = stats.multivariate_normal.logpdf(theta, mean * np.ones(d), np.linalg.inv(prec))
    return np.sum(ll if weights is None else weights * ll) + prior


@pytest.mark.parametrize("family, kw", [
    ("logistic", {}), ("probit", {}), ("poisson", {}),
    ("binomial", {"trials": np.full(25, 4.0)}), ("negative_binomial", {"dispersion": 0.6}),
    ("gaussian", {"scale": 1.7}),
])
@pytest.mark.parametrize("weighted", [False, True])
def test_glm_log_joint_matches_scipy_and_the_kernel(family, kw, weighted):
    rng = np.random.default_rng(5)
    if weighted:
        kw = dict(kw, weights=np.where(np.arange(25) % 5 == 0, 0.0, 0.5 + rng.random(25)))
    X = np.column_stack([np.ones(25), rng.standard_normal((25, 2))])
    eta = X @ [0.3, -0.4, 0.2]
    y = {"logistic": (rng.random(25) < special.expit(eta)) * 1.0,
         "probit": (rng.random(25) < special.ndtr(eta)) * 1.0,
         "poisson": rng.poisson(np.exp(eta)) * 1.0,
         "binomial": rng.binomial(4, special.expit(eta)) * 1.0,
         "negative_binomial": rng.poisson(np.exp(eta)) * 1.0,
         "gaussian": eta + rng.standard_normal(25)}[family]
    prec = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.1], [0.0, 0.1, 0.5]])
    r = lf.glm_laplace(X, y, family=family, prior_precision=prec, prior_mean=0.2, **kw)
    theta = r.mode + 0.3 * rng.standard_normal((4, 3))
    got = _glm_log_joint(r.data, r.prior, theta[None])[0]
    ref = [_scipy_log_joint(family, X, y, t, prec, 0.2, **kw) for t in theta]
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-10)
    # at the mode: the kernel's logp (so the weights are logp - logpdf(mode) there)
    at_mode = _glm_log_joint(r.data, r.prior, r.mode[None, None])[0, 0]
    assert abs(at_mode - r.logp) <= 1e-12 * (1 + abs(r.logp))


def test_glm_log_joint_weights_offset_and_flat_prior():
    rng = np.random.default_rng(6)
    X = np.column_stack([np.ones(30), rng.standard_normal(30)])
    y = rng.poisson(2.0, 30) * 1.0
    w = rng.random(30)
    w[:3] = 0.0
    off = 0.1 * rng.standard_normal(30)
    r = lf.glm_laplace(X, y, family="poisson", weights=w, offset=off,
                       prior_precision=[0.0, 1.0])
    at_mode = _glm_log_joint(r.data, r.prior, r.mode[None, None])[0, 0]
    assert abs(at_mode - r.logp) <= 1e-12 * (1 + abs(r.logp))
    t = r.mode + np.array([0.1, -0.2])
    ref = (np.sum(w * stats.poisson.logpmf(y, np.exp(X @ t + off)))
           + stats.norm.logpdf(t[1], 0.0, 1.0))       # the flat direction has density 1
    assert abs(_glm_log_joint(r.data, r.prior, t[None, None])[0, 0] - ref) < 1e-10
    # a huge draw overflows exp to a -inf log joint, without a warning
    assert _glm_log_joint(r.data, r.prior, np.array([[[800.0, 0.0]]]))[0, 0] == -np.inf


def test_log_weights_at_the_mode_are_logp_minus_logpdf():
    X = np.column_stack([np.ones(8), np.linspace(-1.0, 1.0, 8)])
    r = lf.glm_laplace(X, [0, 1, 0, 0, 1, 1, 1, 1], family="logistic")
    lq = r.logpdf(r.mode)
    lp = _glm_log_joint(r.data, r.prior, r.mode[None, None])[0, 0]
    assert abs((lp - lq) - (r.logp - lq)) <= 1e-12 * (1 + abs(r.logp))
    # and log p - log q at any draw is the log evidence's integrand: mean exp -> Z
    imp = r.importance(n=200, rng=1)
    np.testing.assert_allclose(imp.log_weights,
                               _glm_log_joint(r.data, r.prior, imp.samples[None])[0]
                               - r.logpdf(imp.samples), rtol=0, atol=1e-12)


# ------------------------------------------------------------ batches and streams

def _quartic(u):
    """-u^2/2 - u^4/10 in products (a power's rounding differs between a numpy scalar
    and an array, a product's does not)"""
    u2 = u * u
    return -0.5 * u2 - 0.1 * (u2 * u2)


def test_callback_batch_rows_are_the_single_problems():
    mu = np.array([0.0, 1.0, 3.0, -2.0])

    def batch_lp(t):
        return _quartic(t[:, 0] - mu)

    res = lf.laplace_batch(batch_lp, np.zeros((4, 1)))
    b = res.importance(batch_lp, n=300, rng=11)
    assert b.khat.shape == (4,) and b.samples.shape == (4, 300, 1)
    assert b.log_weights.shape == (4, 300) and b.cov.shape == (4, 1, 1)
    for i in range(4):
        one = res[i].importance(lambda t: _quartic(t[0] - mu[i]), n=300, rng=11)
        for f in ("khat", "ess", "log_evidence", "reliable"):
            assert getattr(one, f) == getattr(b, f)[i], f
        for f in ("mean", "cov", "log_weights", "samples"):
            assert np.array_equal(getattr(one, f), getattr(b, f)[i]), f
    # vectorized: (n, B, d) -> (n, B), the same numbers
    bv = res.importance(lambda t: _quartic(t[..., 0] - mu), n=300, rng=11, vectorized=True)
    assert np.array_equal(bv.log_weights, b.log_weights)
    # a selection keeps its problems' streams
    sel = res[np.array([False, True, False, True])].importance(
        lambda t: _quartic(t[:, 0] - mu[[1, 3]]), n=300, rng=11)
    assert np.array_equal(sel.samples, b.samples[[1, 3]])


def test_streams_are_documented_children_of_the_seed():
    rng = np.random.default_rng(0)
    X = np.concatenate([np.ones((3, 12, 1)), rng.standard_normal((3, 12, 1))], -1)
    res = lf.glm_laplace(X, (rng.random((3, 12)) < 0.5) * 1.0)
    imp = res.importance(n=100, rng=42)
    for i in range(3):
        stream = np.random.default_rng(np.random.SeedSequence(42, spawn_key=(i,)))
        z = stream.standard_normal((100, 2))
        np.testing.assert_allclose(imp.samples[i], res.mode[i] + z @ np.linalg.cholesky(
            res.cov[i]).T, rtol=0, atol=1e-12)
    # a Generator seeds the same way whatever the batch; a list is per problem
    a = res.importance(n=100, rng=np.random.default_rng(5))
    b = res[2].importance(n=100, rng=np.random.default_rng(5))
    assert np.array_equal(a.samples[2], b.samples)
    alone = lf.glm_laplace(X[2], res.data.y[24:36])
    seeds = [7, 8, 9]
    assert np.array_equal(res.importance(n=100, rng=seeds).log_weights[2],
                          alone.importance(n=100, rng=[9]).log_weights)


def test_glm_batches_grouped_and_threads_bit_for_bit():
    rng = np.random.default_rng(4)
    N = 200
    X = np.column_stack([np.ones(N), rng.standard_normal((N, 2))])
    y = (rng.random(N) < special.expit(X @ [0.2, 1.0, -0.5])) * 1.0
    g = rng.integers(0, 9, N)          # ragged groups
    one = lf.glm_laplace(X, y, groups=g, n_threads=1).importance(n=150, rng=3)
    res = lf.glm_laplace(X, y, groups=g, n_threads=2)
    two = res.importance(n=150, rng=3)
    for f in ("khat", "ess", "log_evidence", "mean", "cov", "log_weights", "samples"):
        assert np.array_equal(getattr(one, f), getattr(two, f)), f
    for i in range(len(res)):
        single = res[i].importance(n=150, rng=3)
        assert np.array_equal(single.log_weights, two.log_weights[i])
        assert single.khat == two.khat[i] and np.array_equal(single.cov, two.cov[i])
    # a 2-d batch of stacked problems: per-problem fields with the batch in front
    Xs = np.concatenate([np.ones((2, 3, 15, 1)), rng.standard_normal((2, 3, 15, 1))], -1)
    ys = rng.poisson(1.0, (2, 3, 15)) * 1.0
    rs = lf.glm_laplace(Xs, ys, family="poisson")
    imp = rs.importance(n=100, rng=0)
    assert imp.khat.shape == (2, 3) and imp.samples.shape == (2, 3, 100, 2)
    assert np.array_equal(rs[1, 2].importance(n=100, rng=0).log_weights,
                          imp.log_weights[1, 2])


def test_from_draws_is_the_proposals_entry():
    # any proposal: a wide Student-t for a normal target, Z = sqrt(2 pi)
    rng = np.random.default_rng(8)
    x = stats.t.rvs(4, size=(2, 3000, 1), random_state=rng)
    log_q = stats.t.logpdf(x[..., 0], 4)
    imp = _importance_from_draws(x, log_q, -0.5 * x[..., 0] ** 2)
    assert imp.khat.shape == (2,) and np.all(imp.reliable)
    np.testing.assert_allclose(imp.log_evidence, 0.5 * math.log(2 * math.pi), atol=0.03)
    np.testing.assert_allclose(imp.cov[:, 0, 0], 1.0, atol=0.1)


# ------------------------------------------------------------ bad input

def test_bad_input_names_the_argument():
    def lp(t):
        return -0.5 * t[0] ** 2
    r = lf.laplace(lp, [0.3])
    with pytest.raises(TypeError, match="log_post is required"):
        r.importance()
    with pytest.raises(TypeError, match="log_post must be callable"):
        r.importance(3.0)
    with pytest.raises(ValueError, match="n must be at least 50"):
        r.importance(lp, n=10)
    with pytest.raises(TypeError, match="n must be an int"):
        r.importance(lp, n=100.0)
    with pytest.raises(TypeError, match="args must be a tuple"):
        r.importance(lp, args=[1])
    with pytest.raises(TypeError, match="vectorized"):
        r.importance(lp, vectorized=1)
    with pytest.raises(TypeError, match="rng must be"):
        r.importance(lp, rng="seed")
    with pytest.raises(ValueError, match="rng as a list"):
        r.importance(lp, rng=[1, 2])
    with pytest.raises(ValueError, match=r"log_post must return shape \(100,\)"):
        r.importance(lambda t: t[:, 0][:50], n=100, vectorized=True)
    with pytest.raises(ValueError, match="log_post must return shape"):
        r.importance(lambda t: t, n=100)
    with pytest.raises(ValueError, match="log_post returned NaN"):
        r.importance(lambda t: np.nan, n=100)
    res = lf.laplace_batch(lambda t: -0.5 * np.sum(t ** 2, axis=1), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"log_post must return shape \(3,\)"):
        res.importance(lambda t: np.zeros(2), n=100)
    with pytest.raises(ValueError, match=r"log_post must return shape \(100, 3\)"):
        res.importance(lambda t: np.zeros((3, 100)), n=100, vectorized=True)


def test_a_failed_fit_raises_laplace_error():
    with pytest.warns(lf.LaplaceWarning):
        r = lf.laplace(lambda t: t[0] ** 2, [1.0])      # a minimum, no Gaussian
    with pytest.raises(LaplaceError, match="importance"):
        r.importance(lambda t: t[0] ** 2)


def test_minus_inf_is_a_zero_density():
    # a half-line posterior: draws below zero weigh nothing, the evidence is still right
    r = lf.laplace(lambda t: -0.5 * t[0] ** 2 - 5 * t[0] if t[0] > 0 else -0.5 * t[0] ** 2
                   - 5 * t[0], [-4.0])
    imp = r.importance(lambda t: np.where(t[:, 0] < -3, -0.5 * t[:, 0] ** 2 - 5 * t[:, 0],
                                          -np.inf), n=2000, rng=0, vectorized=True)
    assert np.isfinite(imp.log_evidence) and imp.ess > 0
    assert np.all(imp.samples[:, 0][np.isfinite(imp.log_weights)] < -3)


def test_long_logistic_problems_fold_the_product():
    # over 512 rows the product of (1 + e^-|eta|) is folded into its log: still the
    # log likelihood, and a long group alone is its row of a ragged batch
    rng = np.random.default_rng(9)
    X = np.column_stack([np.ones(1300), 3 * rng.standard_normal(1300)])
    y = (rng.random(1300) < special.expit(X @ [0.5, 1.0])) * 1.0
    r = lf.glm_laplace(X, y, prior_precision=1.0)
    theta = r.mode + 0.05 * rng.standard_normal((3, 2))
    ref = [_scipy_log_joint("logistic", X, y, t, np.eye(2), 0.0) for t in theta]
    np.testing.assert_allclose(_glm_log_joint(r.data, r.prior, theta[None])[0], ref,
                               rtol=1e-12)
    g = np.where(np.arange(1300) < 1250, 0, 1)
    rg = lf.glm_laplace(X, y, groups=g)
    both = _glm_log_joint(rg.data, rg.prior, np.stack([theta, theta]))
    assert np.array_equal(both[0], _glm_log_joint(rg.data, rg.prior, theta[None], [0])[0])
    assert np.array_equal(both[1], _glm_log_joint(rg.data, rg.prior, theta[None], [1])[0])
