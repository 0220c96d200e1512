"""Pareto-smoothed importance sampling (laplace_fast._psis) against ArviZ's psislw, the
reference implementation of Vehtari et al. (2024), on log ratios with tails of several
shapes; the batch against its rows; the degenerate tails."""

import math
import warnings

import numpy as np
import pytest

from laplace_fast._psis import MIN_DRAWS, khat_threshold, psis, tail_length


@pytest.fixture(scope="module")
def az():
    with warnings.catch_warnings():     # its import announces a refactor
        warnings.simplefilter("ignore")
        return pytest.importorskip("arviz")


def _arviz(az, lw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        smoothed, k = az.psislw(np.array(lw, dtype=float))
    return np.asarray(smoothed), float(k)


def _tails(n, seed):
    """Log ratios whose weights have tails of known Pareto shape (0.2, 0.5, 0.8, 1.2 for
    the Pareto draws), a bounded one (k < 0) and a log-normal and Student-t one."""
    rng = np.random.default_rng(seed)
    out = {f"pareto k={k}": np.log(rng.pareto(1.0 / k, n) + 1.0)
           for k in (0.2, 0.5, 0.8, 1.2)}
    out["bounded"] = np.log(rng.random(n))
    out["lognormal"] = 1.5 * rng.standard_normal(n)
    out["student-t"] = rng.standard_t(3, n)
    return out


@pytest.mark.parametrize("n", [100, 1000, 4000])
def test_khat_and_weights_match_arviz(az, n):
    for name, lw in _tails(n, seed=n).items():
        ref, kref = _arviz(az, lw)
        smoothed, khat = psis(lw[None])
        assert khat.shape == (1,)
        assert abs(khat[0] - kref) < 1e-10, (name, khat[0], kref)
        # arviz normalises the smoothed log weights; ours are unnormalised
        lws = smoothed[0] - np.logaddexp.reduce(smoothed[0])
        np.testing.assert_allclose(lws, ref, rtol=0, atol=1e-10, err_msg=name)


def test_khat_estimates_the_pareto_shape():
    # on 40,000 exact Pareto ratios the estimate is close to the shape (the prior's pull
    # to 0.5 weighs 10 of the 600 tail points)
    rng = np.random.default_rng(7)
    for k in (0.3, 0.7, 1.0):
        lw = np.log(rng.pareto(1.0 / k, 40000) + 1.0)
        assert abs(psis(lw)[1] - k) < 0.1


def test_a_batch_is_its_rows_bit_for_bit():
    rng = np.random.default_rng(1)
    lw = rng.standard_t(4, (3, 5, 500))
    smoothed, khat = psis(lw)
    assert smoothed.shape == lw.shape and khat.shape == (3, 5)
    for i in range(3):
        for j in range(5):
            s1, k1 = psis(lw[i, j][None])
            assert np.array_equal(s1[0], smoothed[i, j]) and k1[0] == khat[i, j]


def test_only_the_tail_is_changed_and_capped_at_the_largest_ratio():
    rng = np.random.default_rng(2)
    lw = np.log(rng.pareto(1.0, 1000) + 1.0)        # k = 1: a tail worth smoothing
    smoothed, _ = psis(lw)
    M = tail_length(1000)
    order = np.argsort(lw)
    assert np.array_equal(smoothed[order[:-M]], lw[order[:-M]])
    assert np.max(smoothed) <= np.max(lw)
    assert np.all(np.diff(smoothed[order[-M:]]) >= 0)      # the quantiles, in order


def test_degenerate_tails():
    # constant ratios (the target is the proposal): no spread, khat -inf, unchanged
    smoothed, khat = psis(np.full((2, 200), 3.0))
    assert np.all(khat == -np.inf) and np.all(smoothed == 3.0)
    # every ratio -inf, or fewer than M + 1 finite: nothing to fit, khat inf
    lw = np.full((2, 200), -np.inf)
    lw[1, :10] = np.arange(10.0)
    smoothed, khat = psis(lw)
    assert np.all(khat == np.inf)
    assert np.array_equal(smoothed, lw)
    # ratios of zero target density among finite ones do not disturb the fit
    rng = np.random.default_rng(3)
    lw = rng.standard_normal(1000)
    lw_dead = lw.copy()
    lw_dead[:100] = -np.inf
    k_dead = psis(lw_dead)[1]
    assert np.isfinite(k_dead) and abs(k_dead - psis(lw)[1]) < 0.2


def test_tail_length_and_threshold():
    # M = ceil(min(n / 5, 3 sqrt(n))), threshold min(1 - 1 / log10(n), 0.7)
    assert [tail_length(n) for n in (50, 100, 225, 1000)] == [10, 20, 45, 95]
    assert khat_threshold(100) == 0.5
    assert khat_threshold(1000) == pytest.approx(2 / 3, abs=1e-15)
    assert khat_threshold(10**6) == 0.7
    assert MIN_DRAWS >= 21 and tail_length(MIN_DRAWS) >= 5      # the fit's minimum
    assert khat_threshold(MIN_DRAWS) == pytest.approx(1 - 1 / math.log10(MIN_DRAWS))
