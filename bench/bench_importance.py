"""Importance sampling from the Laplace Gaussians of a batch of GLMs: ``importance``
against the peer a user writes today, side by side in one process (absolute times drift
on a shared machine; the printed ratios are what to read).

Workload: W1 of bench/bench_glm.py (10,000 logistic posteriors, n = 50 rows, d = 5, its
generator), ``importance(n=1000)`` on the fitted batch.

    python bench/bench_importance.py                  # W1, three rounds
    python bench/bench_importance.py --quick          # 1,000 problems
    python bench/bench_importance.py --problems 2000 --rounds 5

Peer: numpy, the log-likelihood vectorised over every problem and draw (batched matmul
for the linear predictors, ``logaddexp`` for the softplus, in chunks of problems), then
``arviz.psislw`` per problem and the weighted moments.  Also timed: laplace_fast's own
draws and log joint alone (no smoothing, no moments), the floor of ``importance``.  The
three run in interleaved rounds (each once per round, in turn); a ratio is the median
over rounds of that round's ratio, with the range of the rounds beside it.
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import laplace_fast as lf  # noqa: E402
from laplace_fast import _importance_kernels  # noqa: E402
from laplace_fast._importance import (_bit_generators, _draw_args,  # noqa: E402
                                      _glm_log_joint)
from bench_glm import make  # noqa: E402

LOG2PI = np.log(2 * np.pi)


def laplace_fast_importance(res, n):
    return res.importance(n=n, rng=0)


def draw_and_evaluate(res, n):
    """laplace_fast's draws and log joint, nothing else: the floor of importance (its
    compiled draws, then its compiled log joint at them)."""
    problems = np.reshape(res.problem_index, -1)
    gens, mode, L, ldc, nt = _draw_args(_bit_generators(0, problems), res)
    samples = np.empty((len(problems), n, res.d))
    log_q = np.empty((len(problems), n))
    _importance_kernels.draws(gens, mode, L, ldc, samples, log_q, nt)
    return _glm_log_joint(res.data, res.prior, samples, problems) - log_q


def peer(az, X, y, res, n, alpha=1.0, chunk=200):
    """numpy log-likelihood over every draw + arviz.psislw per problem."""
    B, _, d = X.shape
    rng = np.random.default_rng(0)
    L = np.linalg.cholesky(res.cov)
    z = rng.standard_normal((B, n, d))
    th = res.mode[:, None, :] + z @ np.swapaxes(L, -1, -2)
    log_q = -0.5 * np.sum(z * z, -1) - 0.5 * (d * LOG2PI + res.log_det_cov[:, None])
    log_p = np.empty((B, n))
    for s in range(0, B, chunk):
        # (c, rows, n)
        eta = np.matmul(X[s:s + chunk], np.swapaxes(th[s:s + chunk], -1, -2))
        ll = np.sum(y[s:s + chunk, :, None] * eta - np.logaddexp(0.0, eta), axis=1)
        prior = (-0.5 * alpha * np.sum(th[s:s + chunk] ** 2, -1)
                 + 0.5 * d * np.log(alpha) - 0.5 * d * LOG2PI)
        log_p[s:s + chunk] = ll + prior
    lw = log_p - log_q
    khat = np.empty(B)
    lws = np.empty((B, n))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b in range(B):
            lws[b], khat[b] = az.psislw(lw[b].copy())
    w = np.exp(lws)
    mean = np.einsum("bs,bsd->bd", w, th)
    r = th - mean[:, None, :]
    cov = np.einsum("bs,bsi,bsj->bij", w, r, r)
    ess = 1.0 / np.sum(w * w, -1)
    top = lw.max(-1)
    log_z = np.log(np.mean(np.exp(lw - top[:, None]), -1)) + top
    return khat, ess, log_z, mean, cov


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problems", type=int, default=10000)
    ap.add_argument("--draws", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="1,000 problems")
    args = ap.parse_args(argv)
    B = 1000 if args.quick else args.problems
    n = args.draws
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import arviz as az
    X, y = make("logistic", B, 50, 5)
    with warnings.catch_warnings():     # a few problems of W1 are status 3
        warnings.simplefilter("ignore", lf.LaplaceWarning)
        res = lf.glm_laplace(X, y)
    print(f"W1: {B} logistic posteriors, 50 rows, d = 5; importance(n={n}); "
          f"{args.rounds} interleaved rounds")
    fns = {"lf": lambda: laplace_fast_importance(res, n),
           "draw+eval": lambda: draw_and_evaluate(res, n),
           "peer": lambda: peer(az, X, y, res, n)}
    times = {k: [] for k in fns}
    out = {}
    for _ in range(args.rounds):
        for k, f in fns.items():
            t = time.perf_counter()
            out[k] = f()
            times[k].append(time.perf_counter() - t)
    imp, pk = out["lf"], out["peer"][0]
    print(f"  khat against the peer's (other draws): median {np.median(imp.khat):.3f} vs "
          f"{np.median(pk):.3f}; reliable {np.mean(imp.reliable):.3f} of the problems")
    tl = np.array(times["lf"])
    for k in ("lf", "draw+eval", "peer"):
        t = np.array(times[k])
        med = np.median(t)
        line = f"  {k:<10s} {med:8.2f} s  ({med / B * 1e6:8.1f} µs/problem)"
        if k != "lf":
            r = t / tl
            word = "laplace_fast is" if k == "peer" else "importance costs"
            r = r if k == "peer" else 1.0 / r
            line += (f"   {word} {np.median(r):.2f}× "
                     f"(rounds {r.min():.2f}-{r.max():.2f}×)"
                     + ("" if k == "peer" else " of it"))
        print(line)
    goal = np.median(np.array(times["peer"]) / tl)
    print(f"  goal (issue 23): >= 20× the peer: {'met' if goal >= 20 else 'NOT met'} "
          f"({goal:.1f}×)")


if __name__ == "__main__":
    main()
