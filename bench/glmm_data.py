"""Simulated data for the GLMM speed benchmark (bench/bench_glmm.py): G groups with a random
intercept and a random slope on one covariate, logistic or Poisson, from known parameters.

    python bench/glmm_data.py --family logistic --groups 10000 --out logistic.csv

The model, for row i of group g:

    eta_i = (beta_0 + b_g0) + (beta_1 + b_g1) x_i,   b_g ~ N(0, Sigma) independent,
    y_i ~ Bernoulli(expit(eta_i))  or  Poisson(exp(eta_i)),

with x_i ~ N(0, 1), group sizes drawn uniformly from 15..25 (mean 20 rows) and the true
(beta, Sigma) of TRUTH.  Everything is drawn from one numpy Generator seeded by ``seed``, in a
fixed order (sizes, x, b, y), so a seed and G determine the data.  The CSV has a header
``g,x,y``; x is written with 17 significant digits, so that it reads back as the same double.
"""

import argparse

import numpy as np
from scipy import special

TRUTH = {
    "logistic": (np.array([-0.5, 1.0]), np.array([[1.0, 0.3], [0.3, 0.5]])),
    "poisson": (np.array([0.5, 0.3]), np.array([[0.5, 0.1], [0.1, 0.25]])),
}
SIZES = (15, 25)


def make_glmm(family, G, seed=0):
    """Draw one data set.

    Returns a dict with ``g`` (N,) integer group labels 0..G-1 in row order (groups are
    contiguous), ``x`` (N,), ``y`` (N,) float, ``X`` (N, 2) = [1, x] (also the random-effects
    design Z), the true ``beta`` (2,), ``Sigma`` (2, 2) and the drawn ``b`` (G, 2).
    """
    if family not in TRUTH:
        raise ValueError(f"family must be one of {sorted(TRUTH)}, got {family!r}")
    beta, Sigma = TRUTH[family]
    rng = np.random.default_rng(seed)
    sizes = rng.integers(SIZES[0], SIZES[1] + 1, size=G)
    g = np.repeat(np.arange(G), sizes)
    x = rng.standard_normal(g.size)
    b = rng.standard_normal((G, 2)) @ np.linalg.cholesky(Sigma).T
    eta = beta[0] + b[g, 0] + (beta[1] + b[g, 1]) * x
    if family == "logistic":
        y = (rng.random(g.size) < special.expit(eta)).astype(float)
    else:
        y = rng.poisson(np.exp(eta)).astype(float)
    X = np.column_stack([np.ones_like(x), x])
    return {"g": g, "x": x, "y": y, "X": X, "beta": beta, "Sigma": Sigma, "b": b}


def write_csv(data, path):
    """Write ``g,x,y`` with x at 17 significant digits (a lossless round trip)."""
    table = np.column_stack([data["g"], data["x"], data["y"]])
    np.savetxt(path, table, fmt=["%d", "%.17g", "%d"], delimiter=",", header="g,x,y",
               comments="")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", choices=sorted(TRUTH), default="logistic")
    ap.add_argument("--groups", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    data = make_glmm(args.family, args.groups, args.seed)
    write_csv(data, args.out)
    print(f"{args.out}: {args.family}, {args.groups} groups, {data['y'].size} rows")


if __name__ == "__main__":
    main()
