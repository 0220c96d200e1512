"""Long-running reliability checks of the failure rules, opt-in: set
``LAPLACE_FAST_STRESS=1`` (they take a few minutes).

- batches of 10,000 with 1, 10 and 1,000 poisoned problems: every healthy problem bitwise
  equal to its clean fit, exactly one warning per call;
- 8 Python threads x 50 calls on shared inputs: no failure, inputs unmodified;
- 10,000 calls in a loop, raising callbacks included: no memory growth beyond noise.
"""

import concurrent.futures
import os
import resource
import warnings

import numpy as np
import pytest

import laplace_fast as lf

pytestmark = pytest.mark.skipif(os.environ.get("LAPLACE_FAST_STRESS") != "1",
                                reason="set LAPLACE_FAST_STRESS=1 for the stress tests")

B, D = 10_000, 3


def problems():
    rng = np.random.default_rng(0)
    return rng.standard_normal((B, D)), rng.uniform(0.5, 2.0, (B, D))


def log_post(theta, mus, scales, poisoned=()):
    r = theta - mus
    v = -0.5 * np.sum(scales * r ** 2, axis=1) - 0.05 * np.sum(r ** 4, axis=1)
    v[list(poisoned)] = np.nan
    return v


@pytest.mark.parametrize("n_bad", [1, 10, 1000])
def test_poisoned_batches(n_bad):
    mus, scales = problems()
    clean = lf.laplace_batch(log_post, np.zeros((B, D)), args=(mus, scales))
    bad = np.random.default_rng(n_bad).choice(B, n_bad, replace=False)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        res = lf.laplace_batch(log_post, np.zeros((B, D)), args=(mus, scales, bad))
    assert len(rec) == 1 and issubclass(rec[0].category, lf.LaplaceWarning)
    good = np.setdiff1d(np.arange(B), bad)
    assert np.all(res.status[bad] == lf.Status.NONFINITE_X0)
    for name in ("mode", "hessian", "cov", "log_det_cov", "logp", "niter"):
        assert np.array_equal(getattr(res, name)[good], getattr(clean, name)[good]), name
    assert np.all(clean.status == 0)


def test_threads_on_shared_inputs():
    mus, scales = problems()
    mus, scales = mus[:200], scales[:200]
    x0 = np.zeros((200, D))
    for a in (mus, scales, x0):
        a.flags.writeable = False
    ref = lf.laplace_batch(log_post, x0, args=(mus, scales))

    def job(i):
        r = lf.laplace_batch(log_post, x0, args=(mus, scales))
        i %= 200
        one = lf.laplace(lambda t: log_post(t[None], mus[i:i + 1], scales[i:i + 1])[0],
                         x0[i])
        return np.array_equal(r.cov, ref.cov) and np.array_equal(one.mode, ref.mode[i])
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        assert all(ex.map(job, range(8 * 50)))
    assert not np.any(x0)


def test_no_memory_growth():
    def raising(t):
        if t[0] > 0.5:
            raise RuntimeError("boom")
        return -np.sum((t - 1) ** 2)

    def run(n):
        for i in range(n):
            lf.laplace(lambda t: -np.sum((t - 1) ** 2), np.zeros(2))
            with pytest.raises(RuntimeError):
                lf.laplace(raising, np.zeros(2))
    run(500)                                          # warm up caches and allocators
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    run(5000)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert after - before < 20_000                    # kB
