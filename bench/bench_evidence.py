"""glm_laplace's "evidence" hyperparameters against a fit under a fixed prior, on W1's
shapes (10,000 problems of n = 50 rows, d = 5, the generator of bench_glm.py), in one
process; the printed ratios (evidence / fixed, median over interleaved rounds) are what
to read.  Logistic: prior_precision="evidence"; gaussian: prior_precision, scale and
both; negative binomial: prior_precision, dispersion and both.

    python bench/bench_evidence.py            # 10,000 problems, 5 rounds
    python bench/bench_evidence.py --quick    # 2,000 problems, 3 rounds
    python bench/bench_evidence.py --rounds 2
"""

import argparse
import os
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_glm import make  # noqa: E402

import laplace_fast as lf  # noqa: E402


def data(family, B, n, d):
    """W1's problems (bench_glm's generator) for logistic; for the others W1's design
    with responses of the family: gaussian, a linear predictor with N(0, 1)
    coefficients plus unit noise; negative binomial, gamma-Poisson counts of dispersion
    0.5 around a log mean with N(0, 0.3^2) coefficients."""
    if family == "logistic":
        return make("logistic", B, n, d), {}
    X, _ = make("logistic", B, n, d)
    rng = np.random.default_rng(1)
    if family == "negative_binomial":
        mu = np.exp(np.einsum("bnd,bd->bn", X, 0.3 * rng.standard_normal((B, d))))
        return (X, rng.poisson(mu * rng.gamma(2.0, 0.5, (B, n))).astype(float)), \
            {"dispersion": 0.5}
    y = (np.einsum("bnd,bd->bn", X, rng.standard_normal((B, d)))
         + rng.standard_normal((B, n)))
    return (X, y), {"scale": 1.0}


CASES = (("logistic", ("prior_precision",)),
         ("gaussian", ("prior_precision",)), ("gaussian", ("scale",)),
         ("gaussian", ("prior_precision", "scale")),
         ("negative_binomial", ("prior_precision",)),
         ("negative_binomial", ("dispersion",)),
         ("negative_binomial", ("prior_precision", "dispersion")))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=None)
    args = ap.parse_args(argv)
    B, rounds = (2000, 3) if args.quick else (10000, 5)
    rounds = args.rounds or rounds
    n, d = 50, 5
    print(f"{B} problems, n = {n}, d = {d}, {rounds} rounds, "
          f"{len(os.sched_getaffinity(0))} cores")
    for family, wanted in CASES:
        (X, y), fixed = data(family, B, n, d)
        kw = {**fixed, **{name: "evidence" for name in wanted}}
        times = {"fixed": [], "evidence": []}
        ratios = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", lf.LaplaceWarning)
            for _ in range(rounds):
                t0 = time.perf_counter()
                lf.glm_laplace(X, y, family=family, **fixed)
                t1 = time.perf_counter()
                res = lf.glm_laplace(X, y, family=family, **kw)
                t2 = time.perf_counter()
                times["fixed"].append(t1 - t0)
                times["evidence"].append(t2 - t1)
                ratios.append((t2 - t1) / (t1 - t0))
        bound = int(np.count_nonzero(res.evidence_at_bound))
        print(f"{family:18s} {'+'.join(wanted):26s} fixed {np.median(times['fixed']):.3f} s"
              f"  evidence {np.median(times['evidence']):.3f} s  ratio "
              f"{np.median(ratios):5.2f}  (goal 3)  mean niter {res.niter.mean():5.1f}"
              f"  at bound {bound}  failed {int(np.count_nonzero(res.status < 0))}")


if __name__ == "__main__":
    main()
