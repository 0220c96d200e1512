"""laplace_mixture: the modes, weights, density and intervals against a mixture built by
hand from single ``laplace`` fits and scipy's distributions, and against closed forms."""

import math
import warnings

import numpy as np
import pytest
from scipy import integrate, optimize, special, stats

import laplace_fast as lf
from laplace_fast._mixture import _assign
from laplace_fast._result import BatchLaplaceResult

# three well separated Gaussian bumps (12+ sd apart): the posterior's mass near mode k
# is A[k] to within exp(-70), so the Laplace evidence there is log A[k] up to the
# finite-difference error of the Hessian
A = np.array([0.2, 0.5, 0.3])
M = np.array([[-8.0, 0.0], [0.0, 6.0], [7.0, -5.0]])
S = np.array([[[1.0, 0.3], [0.3, 0.5]], [[0.4, 0.0], [0.0, 0.9]],
              [[0.7, -0.2], [-0.2, 0.3]]])
STARTS = np.array([[-7.5, 0.5], [0.5, 5.5], [6.5, -4.5]])


def bumps(t):
    return special.logsumexp([np.log(a) + stats.multivariate_normal.logpdf(t, m, s)
                              for a, m, s in zip(A, M, S)], axis=0)


def bumps_vec(t):
    return bumps(t)          # multivariate_normal.logpdf takes (m, d) too


def seed(t):
    return -t[0] ** 4 + 2 * t[0] ** 2


def hand_mixture(log_post, starts):
    """The mixture of single lf.laplace fits, weighted by their evidence."""
    fits = [lf.laplace(log_post, s) for s in starts]
    ev = np.array([f.log_evidence for f in fits])
    w = np.exp(ev - special.logsumexp(ev))

    def logpdf(x):
        return special.logsumexp([np.log(wk) + stats.multivariate_normal.logpdf(x, f.mode, f.cov)
                                  for wk, f in zip(w, fits)], axis=0)
    return fits, w, logpdf


def test_modes_weights_logpdf_against_hand_built():
    mix = lf.laplace_mixture(bumps, STARTS)
    fits, w, logpdf = hand_mixture(bumps, STARTS)
    assert mix.status == lf.Status.OK and len(mix) == 3
    for k, f in enumerate(fits):
        assert np.array_equal(mix.components.mode[k], f.mode)
        assert np.array_equal(mix.components.cov[k], f.cov)
    np.testing.assert_allclose(mix.weights, w, rtol=1e-12)
    np.testing.assert_allclose(mix.components.mode, M, atol=1e-7)
    np.testing.assert_allclose(mix.weights, A, rtol=1e-6)      # the true masses
    assert mix.log_evidence == pytest.approx(0.0, abs=1e-6)   # A sums to one
    x = np.random.default_rng(3).normal(scale=6.0, size=(50, 2))
    np.testing.assert_allclose(mix.logpdf(x), logpdf(x), rtol=1e-10)
    assert mix.logpdf(x).shape == (50,) and isinstance(mix.logpdf(x[0]), float)
    assert mix.logpdf(x.reshape(5, 10, 2)).shape == (5, 10)
    # the mixture's mean and covariance, from the hand-built components
    mean = sum(wk * f.mode for wk, f in zip(w, fits))
    second = sum(wk * (f.cov + np.outer(f.mode, f.mode)) for wk, f in zip(w, fits))
    np.testing.assert_allclose(mix.mean, mean, rtol=1e-12)
    np.testing.assert_allclose(mix.cov, second - np.outer(mean, mean), rtol=1e-12)


def test_vectorized_starts_advance_together_with_the_same_result():
    calls = []

    def counted(t):
        calls.append(t.shape)
        return bumps_vec(t)
    vec = lf.laplace_mixture(counted, STARTS, vectorized=True)
    one = lf.laplace_mixture(bumps, STARTS)
    assert all(shape == (3, 2) for shape in calls)   # every call: one point per start
    np.testing.assert_allclose(vec.components.mode, one.components.mode, rtol=0, atol=1e-12)
    np.testing.assert_allclose(vec.weights, one.weights, rtol=1e-10)
    assert vec.assignment.tolist() == one.assignment.tolist() == [0, 1, 2]


def test_vectorized_with_one_point_grad_and_hess():
    def lp(t):
        return -t[:, 0] ** 4 + 2 * t[:, 0] ** 2

    def g(t):
        return np.array([-4 * t[0] ** 3 + 4 * t[0]])

    def h(t):
        return np.array([[-12 * t[0] ** 2 + 4]])
    mix = lf.laplace_mixture(lp, [[-2.0], [2.0]], grad=g, hess=h, vectorized=True)
    np.testing.assert_allclose(mix.components.mode[:, 0], [-1, 1], atol=1e-10)
    np.testing.assert_allclose(mix.components.hessian[:, 0, 0], [-8, -8], rtol=1e-9)


def test_symmetric_seed_weights_half_and_closed_form_evidence():
    mix = lf.laplace_mixture(seed, np.linspace(-2.0, 2.0, 7)[:, None])
    assert len(mix) == 2
    np.testing.assert_allclose(mix.weights, [0.5, 0.5], atol=1e-8)
    np.testing.assert_allclose(mix.components.mode[:, 0], [-1.0, 1.0], atol=1e-9)
    # logp 1 at each mode, curvature -8: two Gaussians of mass e sqrt(2 pi / 8)
    assert mix.log_evidence == pytest.approx(1 + 0.5 * math.log(2 * math.pi / 8)
                                             + math.log(2), rel=1e-8)


def test_start_at_a_saddle_contributes_no_component():
    # BFGS with the exact gradient stops at once at the saddle (0, 0): status -5
    def f(t):
        return -t[0] ** 4 + 2 * t[0] ** 2 - t[1] ** 2

    def g(t):
        return np.array([-4 * t[0] ** 3 + 4 * t[0], -2 * t[1]])
    starts = [[0.0, 0.0], [-1.2, 0.3], [0.9, -0.2]]
    mix = lf.laplace_mixture(f, starts, grad=g, method="BFGS")
    assert mix.fits.status[0] == lf.Status.NOT_NEGDEF
    assert mix.assignment.tolist() == [-1, 0, 1] and len(mix) == 2
    assert "1 start dropped (1 with status -5 (NOT_NEGDEF))" in mix.message
    assert mix.status == lf.Status.OK
    np.testing.assert_allclose(mix.weights, [0.5, 0.5], atol=1e-6)
    np.testing.assert_allclose(mix.components.mode, [[-1, 0], [1, 0]], atol=1e-6)


def test_start_at_a_minimum_gives_no_extra_component():
    # Newton leaves the minimum at 0 for a mode, which merges with the other starts'
    mix = lf.laplace_mixture(seed, [[0.0], [-1.1], [0.9]])
    assert len(mix) == 2 and np.all(mix.assignment >= 0)
    np.testing.assert_allclose(np.sort(mix.components.mode[:, 0]), [-1, 1], atol=1e-9)
    np.testing.assert_allclose(mix.weights, [0.5, 0.5], atol=1e-8)


def test_duplicates_merged_and_not_with_merge_tol_zero():
    starts = np.array([[0.7], [0.9], [1.3], [1.8], [-1.4]])
    mix = lf.laplace_mixture(seed, starts)
    assert len(mix) == 2
    assert mix.assignment.tolist() == [0, 0, 0, 0, 1]
    assert "3 duplicates merged" in mix.message
    np.testing.assert_allclose(mix.weights, [0.5, 0.5], atol=1e-8)
    # unmerged, the one mode's four fits would count its mass four times
    raw = lf.laplace_mixture(seed, starts, merge_tol=0.0)
    assert len(raw) == 5
    np.testing.assert_allclose(raw.weights, [0.2] * 5, atol=1e-7)


def _two_fits(grad_norms):
    """Two synthetic fits at (almost) one mode with the given gradients there."""
    mode = np.array([[1.0], [1.0 + 1e-6]])
    cov = np.full((2, 1, 1), 0.125)
    return BatchLaplaceResult(mode, -1 / cov, cov, np.log(cov[:, 0, 0]), np.ones(2),
                              np.zeros(2, dtype=np.intc), np.ones(2), np.ones(2),
                              np.ones(2), grad=np.array(grad_norms)[:, None])


@pytest.mark.parametrize("grads, kept", [([1e-3, 1e-6], 1), ([1e-6, 1e-3], 0),
                                         ([0.0, 0.0], 0)])
def test_duplicates_keep_the_best_converged(grads, kept):
    fits = _two_fits(grads)
    assignment, chosen = _assign(fits, np.array([True, True]), 0.05)
    assert assignment.tolist() == [0, 0] and chosen.tolist() == [kept]


def test_interval_against_quadrature_of_the_hand_built_cdf():
    fits, w, _ = hand_mixture(bumps, STARTS)
    mix = lf.laplace_mixture(bumps, STARTS)
    for j in range(2):
        mu = np.array([f.mode[j] for f in fits])
        sd = np.array([math.sqrt(f.cov[j, j]) for f in fits])

        def pdf(t):
            return float(np.sum(w * np.exp(-0.5 * ((t - mu) / sd) ** 2) / sd)
                         / math.sqrt(2 * math.pi))

        def cdf(t):      # by quadrature from far in the left tail
            return integrate.quad(pdf, -40.0, t, limit=200, epsabs=1e-13,
                                  points=mu[mu < t].tolist() or None)[0]
        for level in (0.5, 0.95):
            lo, hi = mix.interval(level)
            for value, p in ((lo[j], (1 - level) / 2), (hi[j], (1 + level) / 2)):
                ref = optimize.brentq(lambda t: cdf(t) - p, -40.0, 40.0, xtol=1e-12)
                assert value == pytest.approx(ref, abs=1e-8)


def test_interval_of_one_component_is_the_gaussians():
    mix = lf.laplace_mixture(lambda t: -0.5 * (t[0] - 2) ** 2 / 9, [[0.0], [4.0]])
    assert len(mix) == 1 and mix.weights.tolist() == [1.0]
    lo, hi = mix.interval(0.95)
    assert lo[0] == pytest.approx(2 - 3 * 1.959963984540054, abs=1e-8)
    assert hi[0] == pytest.approx(2 + 3 * 1.959963984540054, abs=1e-8)


def test_sample_follows_the_weights_and_components():
    mix = lf.laplace_mixture(bumps, STARTS)
    x = mix.sample(40_000, rng=7)
    assert x.shape == (40_000, 2)
    nearest = np.argmin(((x[:, None, :] - M) ** 2).sum(-1), axis=1)
    frac = np.bincount(nearest, minlength=3) / len(x)
    np.testing.assert_allclose(frac, A, atol=4 * np.sqrt(0.25 / len(x)))
    for k in range(3):
        mine = x[nearest == k]
        np.testing.assert_allclose(mine.mean(0), M[k], atol=0.03)
        np.testing.assert_allclose(np.cov(mine.T), S[k], atol=0.03)
    assert np.array_equal(mix.sample(10, rng=1), mix.sample(10, rng=1))
    assert mix.sample((2, 3), rng=1).shape == (2, 3, 2)
    # the draws are shuffled, not grouped by component
    assert len(set(nearest[:20].tolist())) > 1


def test_no_start_survives():
    with pytest.warns(lf.LaplaceWarning, match="none gave a mode"):
        mix = lf.laplace_mixture(lambda t: -(t[0] - 1) ** 2, [[0.0, 0.0], [2.0, 1.0]])
    assert mix.status == lf.Status.SINGULAR and not mix.converged
    assert "2 with status -6 (SINGULAR)" in mix.message
    assert len(mix) == 0 and mix.weights.shape == (0,) and math.isnan(mix.log_evidence)
    assert mix.assignment.tolist() == [-1, -1]
    for call in (lambda: mix.sample(3), lambda: mix.logpdf([0.0, 0.0]),
                 lambda: mix.interval(0.9), lambda: mix.mean):
        with pytest.raises(lf.LaplaceError, match="no.*component|none"):
            call()


def test_no_warning_when_some_starts_fail():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mix = lf.laplace_mixture(seed, [[1.0], [-1.0], [50.0]], maxiter=3)
    assert len(mix) == 2 and mix.assignment[2] == -1
    assert "with status -1 (MAXITER)" in mix.message


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(starts=[1.0, 2.0]), ValueError, r"starts must have shape \(K, d\).*reshape"),
    (dict(starts=np.zeros((2, 2, 1))), ValueError, r"starts must have shape \(K, d\)"),
    (dict(starts=np.zeros((0, 1))), ValueError, "starts must hold at least one start"),
    (dict(starts=[[np.nan]]), ValueError, "starts must be finite"),
    (dict(starts=[["a"]]), TypeError, "starts must be real"),
    (dict(log_post=3.0), TypeError, "log_post must be callable"),
    (dict(grad="no"), TypeError, "grad must be callable"),
    (dict(merge_tol=-1.0), ValueError, "merge_tol must be"),
    (dict(tol=0.0), ValueError, "tol must be"),
    (dict(hessian_method="spline"), ValueError, "hessian_method must be"),
    (dict(vectorized=True, method="BFGS"), ValueError, "method must be 'newton'"),
    (dict(method=3), TypeError, "method must be a string"),
])
def test_bad_input_names_the_argument(kwargs, exc, match):
    call = dict(log_post=seed, starts=[[1.0]])
    call.update(kwargs)
    with pytest.raises(exc, match=match):
        lf.laplace_mixture(call.pop("log_post"), call.pop("starts"), **call)


def test_logpdf_bad_points_name_x():
    mix = lf.laplace_mixture(bumps, STARTS)
    with pytest.raises(ValueError, match=r"x must have shape \(\.\.\., 2\)"):
        mix.logpdf([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="level must be"):
        mix.interval(1.5)


def _quadrature_moments(f, lo=-4.0, hi=4.0):
    """log Z, the mean and the variance of exp(f) on a line, by quadrature."""
    def moment(k):
        return integrate.quad(lambda v: v ** k * math.exp(f(np.array([v]))), lo, hi,
                              epsabs=1e-13, epsrel=1e-12, limit=200)[0]
    z = moment(0)
    mean = moment(1) / z
    return math.log(z), mean, moment(2) / z - mean ** 2


def test_importance_corrects_the_evidence_towards_quadrature():
    log_z, mean, var = _quadrature_moments(seed)
    mix = lf.laplace_mixture(seed, [[-1.0], [1.0]])
    imp = mix.importance(n=4000, rng=11)
    assert imp.reliable and imp.samples.shape == (4000, 1)
    # the Monte-Carlo standard error of log mean(w), from the effective sample size
    se = math.sqrt((imp.n / imp.ess - 1) / imp.n)
    assert abs(imp.log_evidence - log_z) < 4 * se
    assert abs(imp.log_evidence - log_z) < abs(mix.log_evidence - log_z)
    assert abs(imp.mean[0] - mean) < 4 * math.sqrt(var / imp.ess)
    assert imp.cov[0, 0] == pytest.approx(var, rel=0.05)
    # the proposal density is the mixture's, at its own draws
    q = stats.norm.logpdf(imp.samples[:, 0, None], mix.components.mode[:, 0],
                          mix.components.std[:, 0])
    np.testing.assert_allclose(imp.log_weights, [seed(x) for x in imp.samples]
                               - special.logsumexp(q + np.log(0.5), axis=1), atol=1e-9)


def test_importance_flags_a_mixture_that_missed_a_mode():
    one = lf.laplace_mixture(seed, [[0.8], [1.3]])        # both starts reach +1
    assert len(one) == 1
    assert not one.importance(n=4000, rng=0).reliable


def test_importance_default_log_post_is_the_fitted_one():
    def vec(t, c):
        return -t[:, 0] ** 4 + 2 * t[:, 0] ** 2 + c
    mix = lf.laplace_mixture(vec, [[-1.5], [1.5]], args=(0.5,), vectorized=True)
    a = mix.importance(n=500, rng=3)
    b = mix.importance(lambda t: seed(t) + 0.5, n=500, rng=3)
    np.testing.assert_allclose(a.log_weights, b.log_weights, rtol=1e-14)
    assert np.array_equal(a.samples, mix.importance(n=500, rng=3).samples)
    with pytest.raises(TypeError, match="args and vectorized go with a log_post"):
        mix.importance(args=(1.0,))
    with pytest.raises(ValueError, match="n must be at least 50"):
        mix.importance(n=10)
    with pytest.warns(lf.LaplaceWarning):
        empty = lf.laplace_mixture(lambda t: -(t[0] - 1) ** 2, [[0.0, 0.0]])
    with pytest.raises(lf.LaplaceError, match="none"):
        empty.importance(n=100)


def test_a_component_caveat_is_the_mixtures_status_with_one_warning():
    # log_post ~ 1e10: rounding limits the differences, Richardson says so (status 2)
    def big(t):
        return 1e10 - 0.5 * t[0] ** 2
    with pytest.warns(lf.LaplaceWarning, match="HESSIAN_INACCURATE") as caught:
        mix = lf.laplace_mixture(big, [[0.3], [1.0]], hessian_method="richardson")
    assert len(caught) == 1
    assert mix.status == lf.Status.HESSIAN_INACCURATE and mix.converged and len(mix) == 1
    assert "a component has status 2" in mix.message


def test_merging_all_pairs_at_once_is_the_step_by_step_merge(monkeypatch):
    # few usable fits form every pair's distance at once, many take one mode's
    # distances a step: the same components and assignment either way (16 modes)
    from laplace_fast import _mixture

    def quartic(t):
        return np.sum(-(t ** 2 - 1) ** 2 - 0.1 * t, axis=1)
    fits = lf.laplace_batch(quartic, np.random.default_rng(0).uniform(-2, 2, (64, 4)))
    usable = _mixture._usable(fits)
    assert usable.sum() > _mixture._PAIRS_AT_ONCE
    steps = _assign(fits, usable, 0.05)
    monkeypatch.setattr(_mixture, "_PAIRS_AT_ONCE", 10 ** 6)
    pairs = _assign(fits, usable, 0.05)
    assert len(steps[1]) > 10
    assert np.array_equal(steps[0], pairs[0]) and np.array_equal(steps[1], pairs[1])
