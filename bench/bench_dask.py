"""laplace_fast.dask.glm_laplace on a LocalCluster: two worker processes against one
(the speed-up), and the overhead against the in-memory call on the same frame.

Workload: a 2,000,000-row pandas frame (``--rows``), 100,000 groups of about 20 rows
(``--groups``), ``y ~ x1 + x2 + x3 + x4`` logistic (d = 5), seed 0, in 8 partitions
(``--partitions``) of a Dask DataFrame built from it (``dd.from_pandas``).

    python bench/bench_dask.py
    python bench/bench_dask.py --rows 200000 --groups 10000       # quick

Timed (wall clock, the median of ``--repeats``): the in-memory
``lf.glm_laplace(formula, data=df, groups="g", n_threads=1)`` and with every core;
``laplace_fast.dask.glm_laplace(...).compute()`` on a ``distributed.LocalCluster`` of one
and of two worker processes (one thread each; each partition fitted with
``n_threads=1``), the frame scattered to the cluster before the clock starts.  The
cluster's times include the shuffle, the formula on each partition and gathering the
result frame to the client.
"""

import argparse
import statistics
import time

import numpy as np
import pandas as pd

import laplace_fast as lf
import laplace_fast.dask as lfd

FORMULA = "y ~ x1 + x2 + x3 + x4"


def frame(rows, groups, seed=0):
    rng = np.random.default_rng(seed)
    g = rng.integers(0, groups, rows)
    X = rng.standard_normal((rows, 4))
    eta = 0.3 + X @ np.array([0.5, -0.4, 0.3, 0.2])
    y = (rng.random(rows) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame({"g": g, "x1": X[:, 0], "x2": X[:, 1], "x3": X[:, 2],
                         "x4": X[:, 3], "y": y})


def timed(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), min(times), max(times)


def main():
    import dask.dataframe as dd
    import distributed
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--groups", type=int, default=100_000)
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    df = frame(a.rows, a.groups)
    print(f"{a.rows} rows, {a.groups} groups, d = 5, {a.partitions} partitions")
    for threads in (1, None):
        med, lo, hi = timed(lambda: lf.glm_laplace(FORMULA, data=df, groups="g",
                                                   family="logistic",
                                                   n_threads=threads).to_dataframe(),
                            a.repeats)
        print(f"in memory, n_threads={threads}: {med:.2f} s ({lo:.2f}-{hi:.2f})")
    ref = None
    for workers in (1, 2):
        with distributed.LocalCluster(n_workers=workers, processes=True,
                                      threads_per_worker=1,
                                      dashboard_address=None) as cluster, \
                distributed.Client(cluster) as client:
            ddf = dd.from_pandas(df, npartitions=a.partitions).persist()
            distributed.wait(ddf)
            fits = lfd.glm_laplace(ddf, FORMULA, groups="g", family="logistic")
            med, lo, hi = timed(lambda: fits.compute(), a.repeats)
            out = fits.compute().sort_values(["group", "term"]).reset_index(drop=True)
            if ref is None:
                ref = out
            same = bool(np.array_equal(out["mean"], ref["mean"]))
            print(f"dask, {workers} worker(s): {med:.2f} s ({lo:.2f}-{hi:.2f}); "
                  f"{len(out)} rows, equal to the 1-worker run: {same}")
            client.close()


if __name__ == "__main__":
    main()
