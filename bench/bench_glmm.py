"""GLMMs by Laplace: laplace_fast.glmm_laplace against glmer (lme4, nAGQ = 1) and glmmTMB on
the same data in the same run.  Workload: G groups of 15..25 rows (mean 20), a random
intercept and slope, y ~ x + (x | g), logistic and Poisson, simulated by bench/glmm_data.py
from known parameters.

    python bench/bench_glmm.py                          # 10,000 groups, logistic and Poisson
    python bench/bench_glmm.py --groups 1000 --families poisson
    python bench/bench_glmm.py --no-r                   # laplace_fast alone
    python bench/bench_glmm.py --r-peers glmmTMB        # skip glmer (the slow one)

The R peers run in a subprocess (`Rscript bench/glmm_peers.R`), only when Rscript is on PATH;
their times are the fits alone (R's start-up and the CSV reading excluded).  laplace_fast's
time is the median of --repeats calls.  Printed per family: seconds, the ratio peer /
laplace_fast, the log-likelihood of each fit and its difference from laplace_fast's (positive:
laplace_fast found the higher maximum), fixef and Sigma.  Issue 22's targets on 10,000
groups: at least 30x glmmTMB and 90x glmer, with a log-likelihood no worse than glmmTMB's.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

import laplace_fast as lf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from glmm_data import make_glmm, write_csv  # noqa: E402

PEERS_R = os.path.join(os.path.dirname(os.path.abspath(__file__)), "glmm_peers.R")


def run_r_peers(data, family, peers, workdir):
    """Fit with the R peers; returns their JSON record, or None (with a message) without R."""
    rscript = shutil.which("Rscript")
    if rscript is None:
        print("  Rscript is not on PATH: the R peers (glmer, glmmTMB) are skipped")
        return None
    path = os.path.join(workdir, f"{family}.csv")
    write_csv(data, path)
    proc = subprocess.run([rscript, PEERS_R, path, family, ",".join(peers)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"  the R peers failed (exit {proc.returncode}):\n{proc.stderr}")
        return None
    return json.loads(proc.stdout)


def run_laplace_fast(data, family, repeats):
    """Time lf.glmm_laplace when this laplace_fast has it; returns a record or None."""
    if not hasattr(lf, "glmm_laplace"):
        print("  laplace_fast has no glmm_laplace yet: only the peers are timed")
        return None
    # ---------------------------------------------------------- laplace_fast is timed here
    X, y, g = data["X"], data["y"], data["g"]
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = lf.glmm_laplace(X, y, g, Z=X, family=family)
        seconds.append(time.perf_counter() - t0)
    return {"seconds": float(np.median(seconds)), "logLik": float(res.log_likelihood),
            "fixef": np.asarray(res.fixef).tolist(),
            "Sigma": np.asarray(res.re_cov).tolist(),
            "conv_messages": [str(res.message)], "warnings": []}


def report(family, data, r_out, lf_out):
    fits = {}
    if lf_out is not None:
        fits["laplace_fast"] = lf_out
    if r_out is not None:
        fits.update(r_out["peers"])
    print(f"  truth: beta {data['beta'].tolist()}, Sigma {data['Sigma'].tolist()}")
    ref = lf_out["logLik"] if lf_out is not None else None
    for name, f in fits.items():
        ratio = (f"{f['seconds'] / lf_out['seconds']:7.1f}x" if lf_out is not None
                 and name != "laplace_fast" else "        ")
        diff = (f"  lf - this {ref - f['logLik']:+.6f}" if ref is not None
                and name != "laplace_fast" else "")
        sig = np.asarray(f["Sigma"])
        print(f"  {name:13s} {f['seconds']:9.3f} s {ratio}  logLik {f['logLik']:.6f}{diff}")
        print(f"  {'':13s} fixef {np.round(f['fixef'], 5).tolist()}  "
              f"Sigma {np.round(sig, 5).tolist()}")
        notes = [" ".join(m.split()) for m in dict.fromkeys(
            list(f.get("conv_messages", [])) + list(f.get("warnings", []))) if m]
        if notes:
            print(f"  {'':13s} messages: {' | '.join(notes)}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--groups", type=int, default=10_000)
    ap.add_argument("--families", nargs="+", default=["logistic", "poisson"],
                    choices=["logistic", "poisson"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-r", action="store_true", help="skip the R peers")
    ap.add_argument("--r-peers", default="glmer,glmmTMB",
                    help="comma-separated subset of glmer,glmmTMB")
    ap.add_argument("--json", help="also write every record to this JSON file")
    args = ap.parse_args(argv)
    peers = [p for p in args.r_peers.split(",") if p]
    records = {}
    with tempfile.TemporaryDirectory() as workdir:
        for family in args.families:
            data = make_glmm(family, args.groups, args.seed)
            print(f"{family}: {args.groups} groups, {data['y'].size} rows, seed {args.seed}")
            r_out = None if args.no_r else run_r_peers(data, family, peers, workdir)
            lf_out = run_laplace_fast(data, family, args.repeats)
            report(family, data, r_out, lf_out)
            records[family] = {"r": r_out, "laplace_fast": lf_out}
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
