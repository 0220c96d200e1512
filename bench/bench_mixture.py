"""Benchmark: ``laplace_mixture`` with a vectorized callback against one ``laplace_batch``.

Issue 23's goal: a mixture from K starts costs at most 1.5 times one ``laplace_batch``
of the same K problems, when the callback is vectorized (the starts then advance
together, one call per step for all of them, and the mixture adds only the dropping,
merging and weighting).

Workloads, all from ``numpy.random.default_rng(0)``:

- ``seed``: the seed article's -theta^4 + 2 theta^2 (d = 1), K = 5 starts on [-2, 2];
- ``quartic``: sum_j -(theta_j^2 - 1)^2 - 0.1 theta_j (d = 4, 16 modes), K starts
  uniform on [-2, 2]^4, K = 64 and 512;
- ``logistic``: a Bayesian logistic regression (n = 500, d = 5, prior N(0, I)) as a
  vectorized numpy callback, K = 64 starts N(0, 1) (one mode: every start merges).

Each row times ``lf.laplace_mixture(f, starts, vectorized=True)`` and
``lf.laplace_batch(f, starts)`` alternately, ``--repeats`` times, and prints the
medians and their ratio (the machine is shared and noisy: only ratios taken within one
process mean anything), the components found, and PASS or MISS against 1.5.

Usage: ``python bench/bench_mixture.py [--repeats N]`` (default 7; about 20 s).
"""

import argparse
import time
import warnings

import numpy as np

import laplace_fast as lf


def seed_vec(t):
    return -t[:, 0] ** 4 + 2 * t[:, 0] ** 2


def quartic_vec(t):
    return np.sum(-(t ** 2 - 1) ** 2 - 0.1 * t, axis=1)


def logistic_problem(rng, n=500, d=5):
    X = np.column_stack([np.ones(n), rng.standard_normal((n, d - 1))])
    w = rng.standard_normal(d)
    y = (rng.random(n) < 1 / (1 + np.exp(-X @ w))).astype(float)

    def log_post(t):
        eta = t @ X.T
        return (np.sum(y * eta - np.logaddexp(0.0, eta), axis=1)
                - 0.5 * np.sum(t ** 2, axis=1))
    return log_post, d


def _time(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def run(name, f, starts, repeats):
    t_mix, t_batch = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lf.LaplaceWarning)
        for _ in range(repeats):
            dt, mix = _time(lambda: lf.laplace_mixture(f, starts, vectorized=True))
            t_mix.append(dt)
            dt, batch = _time(lambda: lf.laplace_batch(f, starts))
            t_batch.append(dt)
    m, b = np.median(t_mix), np.median(t_batch)
    ratio = m / b
    print(f"{name:<10} K={len(starts):<4} d={starts.shape[1]}  mixture {m * 1e3:8.2f} ms  "
          f"laplace_batch {b * 1e3:8.2f} ms  ratio {ratio:5.2f}  "
          f"{len(mix)} components, {int(np.count_nonzero(batch.status >= 0))} of "
          f"{len(starts)} converged  {'PASS' if ratio <= 1.5 else 'MISS'} (<= 1.5)")
    return ratio


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    print(f"laplace_fast {lf.__version__}: median of {args.repeats} alternating runs")
    run("seed", seed_vec, np.linspace(-2.0, 2.0, 5)[:, None], args.repeats)
    for K in (64, 512):
        run("quartic", quartic_vec, rng.uniform(-2.0, 2.0, (K, 4)), args.repeats)
    log_post, d = logistic_problem(rng)
    run("logistic", log_post, rng.standard_normal((64, d)), args.repeats)


if __name__ == "__main__":
    main()
