"""Benchmark W3: the Laplace approximation of one posterior given only as a callback.

Workload (W3 of the project's benchmarks): a Bayesian logistic regression with n = 2,000 observations and
d = 10 or 50 weights, drawn from ``numpy.random.default_rng(0)`` in this order: the
design X (first column 1, the others standard normal), the true weights N(0, 1), then
the labels y ~ Bernoulli(sigmoid(X w)).  The prior is N(0, I).  The posterior reaches
every method only as a numpy callback ``log_post(theta) -> float`` (every constant
kept); row 3 gets the same function vectorized, ``log_post_vec((m, d)) -> (m,)``.

Rows, all run side by side in this one process from theta = 0:

1. ``lf.laplace(log_post, 0)``: compiled damped Newton, central-difference Hessian;
2. the same with ``hessian_method="richardson"``;
3. the same as 1 with the vectorized callback (``vectorized=True``);
4. the article's recipe: ``scipy.optimize.minimize(method="BFGS")`` with its numerical
   gradient, then ``numdifftools.Hessian`` at BFGS's optimum;
5. BFGS, then ``statsmodels.tools.numdiff.approx_hess``;
6. BFGS, then ``scipy.differentiate.hessian`` (scipy >= 1.15) through a wrapper that
   loops the scalar callback over the batch of points scipy asks for;
7. BFGS alone, its ``hess_inv`` used as the covariance.

The reference is computed independently: a plain numpy Newton with the analytic
gradient X^T (y - p) - theta and Hessian -X^T W X - I, iterated to the exact mode.

Reading the output (one table per d):
- ``time`` is the median wall time over ``runs`` repeats of the whole job (mode and
  Hessian).  laplace_fast rows repeat ``--repeats`` times; the slow peers at most 3
  times and stop early once they have spent a few seconds, since on this shared,
  noisy 2-core machine only ratios taken within one process are meaningful.
- ``t/t1`` is the row's time over row 1's: above 1 means slower than ``lf.laplace``.
- ``evals``: points at which log_post was evaluated (counted by a wrapper that every
  method, and the bare loop, calls through).
- ``H err``: max |H - H_exact| / max |H_exact| against the exact Hessian at the exact
  mode, so a method that stops short of the mode (BFGS, gtol 1e-5) also pays for that;
  ``FD err`` compares with the exact Hessian at the method's own mode instead (the
  finite-difference error alone); ``cov err`` is max |cov - cov_exact| / max |cov_exact|
  and ``mode err`` max |mode - exact mode|.
- The "Python loop" line calls log_post at as many points as row 1 evaluated, timed
  alternately with row 1; the core overhead is the median over those pairs of
  (row 1 time - loop time) / loop time.  As a cross-check immune to drift, one more
  run times the callback from inside and reports the time spent outside it.
- The notes give iteration counts, statuses, and the sizes of the vectorized calls
  (a "Hessian-sized" call carries at least d(d+1)/2 points, enough for a whole stencil).
- The goals of the issue end each table, each marked PASS or MISS.

Usage: ``python bench/bench_callback.py [--quick] [--repeats N]``; ``--quick`` runs
d = 10 only with 3 repeats (well under a minute).  A full run takes several minutes:
scipy.differentiate needs ~700 d^2 evaluations (about 1.8 million at d = 50).
"""

import argparse
import collections
import time

import numpy as np
import scipy
from scipy import optimize

import laplace_fast as lf

try:
    import numdifftools
except ImportError:
    numdifftools = None
try:
    from statsmodels.tools.numdiff import approx_hess
except ImportError:
    approx_hess = None
try:
    from scipy import differentiate
except ImportError:
    differentiate = None

N_OBS = 2000
DIMS = (10, 50)
SEED = 0
LF_BUDGET = 20.0      # seconds a laplace_fast row may spend on its repeats
PEER_RUNS = 3         # at most this many repeats for the slow peers
PEER_BUDGET = 5.0     # and they stop repeating once they have spent this long

GOAL_SPEEDUP = {10: 20.0, 50: 100.0}
GOAL_CENTRAL_ERR = 1e-6
GOAL_RICHARDSON_ERR = 1e-9
GOAL_OVERHEAD = 0.20


# ---------------------------------------------------------------------------- problem

def make_data(d, n=N_OBS, seed=SEED):
    """Design (intercept + standard normal), labels from weights drawn N(0, 1)."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.standard_normal((n, d - 1))])
    w_true = rng.standard_normal(d)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-X @ w_true))).astype(float)
    return X, y


def make_log_posts(X, y):
    """The scalar callback log_post((d,)) -> float and its vectorized twin
    log_post_vec((m, d)) -> (m,): Bernoulli-logit likelihood + N(0, I) prior."""
    d = X.shape[1]
    const = -0.5 * d * np.log(2.0 * np.pi)

    def log_post(theta):
        eta = X @ theta
        return float(y @ eta - np.logaddexp(0.0, eta).sum() - 0.5 * (theta @ theta)
                     + const)

    def log_post_vec(thetas):
        eta = thetas @ X.T
        return (eta @ y - np.logaddexp(0.0, eta).sum(axis=1)
                - 0.5 * np.einsum("ij,ij->i", thetas, thetas) + const)

    return log_post, log_post_vec


def exact_hessian(X, theta):
    """The closed-form Hessian -X^T W X - I of the log posterior at theta."""
    p = 1.0 / (1.0 + np.exp(-(X @ theta)))
    return -(X.T * (p * (1.0 - p))) @ X - np.eye(X.shape[1])


def exact_reference(X, y, tol=1e-14, maxiter=50):
    """Mode, Hessian and covariance by plain Newton with the analytic derivatives."""
    theta = np.zeros(X.shape[1])
    for _ in range(maxiter):
        grad = X.T @ (y - 1.0 / (1.0 + np.exp(-(X @ theta)))) - theta
        step = np.linalg.solve(exact_hessian(X, theta), grad)
        theta = theta - step
        if np.max(np.abs(step)) <= tol * max(1.0, np.max(np.abs(theta))):
            break
    hess = exact_hessian(X, theta)
    return theta, hess, np.linalg.inv(-hess)


class Counted:
    """A callback wrapper counting Python calls and the points they evaluate."""

    def __init__(self, fn, vectorized=False):
        self.fn = fn
        self.vectorized = vectorized
        self.sizes = []

    def __call__(self, x):
        self.sizes.append(len(x) if self.vectorized else 1)
        return self.fn(x)

    @property
    def calls(self):
        return len(self.sizes)

    @property
    def points(self):
        return sum(self.sizes)


Outcome = collections.namedtuple("Outcome", "mode hessian cov evals note call_sizes",
                                 defaults=(None,))


# ------------------------------------------------------------------------------- rows

def run_lf(log_post, d, **options):
    """lf.laplace from zeros; counts through the wrapper and checks lf's own nfev."""
    cb = Counted(log_post, vectorized=options.get("vectorized", False))
    r = lf.laplace(cb, np.zeros(d), **options)
    note = f"niter {r.niter}, nfev {r.nfev}, status {r.status.name}"
    if r.nfev != cb.points:
        note += f" (but the callback saw {cb.points} points)"
    if cb.vectorized:
        sizes = collections.Counter(cb.sizes)
        note += "; Python calls: " + " + ".join(
            f"{k} x {m} pts" for m, k in sorted(sizes.items(), reverse=True))
    return Outcome(r.mode, r.hessian, r.cov, cb.points, note,
                   cb.sizes if cb.vectorized else None)


def bfgs(cb, d):
    """The article's optimiser: BFGS on -log_post with scipy's numerical gradient."""
    return optimize.minimize(lambda t: -cb(t), np.zeros(d), method="BFGS")


def bfgs_then(hessian_of):
    """A peer: BFGS to the optimum, then hessian_of(cb, x) for the Hessian there."""
    def run(log_post, d):
        cb = Counted(log_post)
        res = bfgs(cb, d)
        n_bfgs = cb.points
        H = hessian_of(cb, res.x)
        return Outcome(res.x, H, np.linalg.inv(-H), cb.points,
                       f"BFGS: {res.nit} iterations, {n_bfgs} evaluations, "
                       f"success {res.success}")
    return run


def hessian_numdifftools(f, x):
    return numdifftools.Hessian(f)(x)


def hessian_statsmodels(f, x):
    return approx_hess(x, f)


def hessian_scipy_differentiate(f, x):
    """scipy.differentiate passes x of shape (d, ...): loop f over the trailing axes."""
    def batched(xs):
        flat = xs.reshape(xs.shape[0], -1)
        out = np.array([f(flat[:, k]) for k in range(flat.shape[1])])
        return out.reshape(xs.shape[1:])
    return differentiate.hessian(batched, x).ddf


def run_bfgs_hess_inv(log_post, d):
    cb = Counted(log_post)
    res = bfgs(cb, d)
    return Outcome(res.x, None, res.hess_inv, cb.points,
                   f"BFGS: {res.nit} iterations, success {res.success}")


# -------------------------------------------------------------------------- measuring

def measure(run, max_runs, budget):
    """Median wall time of run() over up to max_runs calls (fewer once `budget`
    seconds are spent); returns (median, number of runs, last outcome)."""
    times = []
    while True:
        t0 = time.perf_counter()
        outcome = run()
        times.append(time.perf_counter() - t0)
        if len(times) >= max_runs or sum(times) >= budget:
            return float(np.median(times)), len(times), outcome


def measure_with_bare_loop(log_post, d, repeats):
    """Row 1 and a plain Python loop calling log_post at as many points as row 1
    evaluates, timed alternately (after one untimed lf.laplace that also fixes the
    number of points) so that the machine's drift hits both alike.  Returns (median lf
    time, median loop time, runs, median of the paired (lf - loop) / loop, outcome)."""
    outcome = run_lf(log_post, d)
    points = outcome.mode + 1e-3 * np.random.default_rng(2).standard_normal(
        (outcome.evals, d))
    cb = Counted(log_post)
    lf_times, loop_times = [], []
    while len(lf_times) < repeats and sum(lf_times) + sum(loop_times) < LF_BUDGET:
        t0 = time.perf_counter()
        outcome = run_lf(log_post, d)
        t1 = time.perf_counter()
        for p in points:
            cb(p)
        lf_times.append(t1 - t0)
        loop_times.append(time.perf_counter() - t1)
    overhead = np.median(np.divide(lf_times, loop_times)) - 1.0
    return (float(np.median(lf_times)), float(np.median(loop_times)), len(lf_times),
            float(overhead), outcome)


def time_outside_callback(log_post, d):
    """A cross-check of the core overhead that machine drift cannot touch: one
    lf.laplace whose callback times itself; returns (seconds outside the callback,
    seconds inside)."""
    inside = 0.0

    def timed(theta):
        nonlocal inside
        t0 = time.perf_counter()
        value = log_post(theta)
        inside += time.perf_counter() - t0
        return value
    t0 = time.perf_counter()
    lf.laplace(timed, np.zeros(d))
    return time.perf_counter() - t0 - inside, inside


def rel_err(a, ref):
    return float(np.max(np.abs(a - ref)) / np.max(np.abs(ref)))


def fmt_err(value):
    return f"{'-':>9}" if value is None else f"{value:9.1e}"


def vectorized_calls_per_hessian(log_post_vec, x):
    """Python calls lf.hessian makes for one vectorized Hessian, by method:
    {method: (calls, points)}."""
    calls = {}
    for method in ("central", "richardson"):
        cb = Counted(log_post_vec, vectorized=True)
        lf.hessian(cb, x, method=method, vectorized=True)
        calls[method] = (cb.calls, cb.points)
    return calls


def classify_vectorized_calls(call_sizes, d):
    """Sort lf.laplace's vectorized calls by size: (Hessian-sized calls, of at least
    d(d+1)/2 points, as many as a Hessian has distinct entries; value or gradient calls,
    of at most 2d + 1; calls in between, which can only be part of a Hessian stencil)."""
    hessian = sum(m >= d * (d + 1) // 2 for m in call_sizes)
    small = sum(m <= 2 * d + 1 for m in call_sizes)
    return hessian, small, len(call_sizes) - hessian - small


def verdict(ok):
    return "PASS" if ok else "MISS"


# ------------------------------------------------------------------------------ table

HEADER = (f"{'#':>2} {'method':<42}{'time [s]':>9}{'t/t1':>7}{'runs':>5}{'evals':>9}"
          f"{'H err':>9}{'FD err':>9}{'cov err':>9}{'mode err':>9}")


def print_row(label, name, seconds, t1, runs, outcome, X, ref):
    """One table row; returns the Hessian error (None for a row without a Hessian)."""
    mode_ref, H_ref, cov_ref = ref
    h_err = fd_err = None
    if outcome.hessian is not None:
        h_err = rel_err(outcome.hessian, H_ref)
        fd_err = rel_err(outcome.hessian, exact_hessian(X, outcome.mode))
    mode_err = float(np.max(np.abs(outcome.mode - mode_ref)))
    print(f"{label:>2} {name:<42}{seconds:9.4f}{seconds / t1:7.2f}{runs:5d}"
          f"{outcome.evals:9d}{fmt_err(h_err)}{fmt_err(fd_err)}"
          f"{fmt_err(rel_err(outcome.cov, cov_ref))}{fmt_err(mode_err)}", flush=True)
    return h_err


def print_goals(d, t1, t3, t_numdifftools, err_central, err_richardson, overhead,
                outside, in_laplace, per_hessian):
    """The issue's goals next to the measured values."""
    print(f"\nGoals (d = {d})")
    if t_numdifftools is None:
        print("  speed-up over BFGS + numdifftools: numdifftools not installed")
    else:
        speedup, goal = t_numdifftools / t1, GOAL_SPEEDUP[d]
        print(f"  BFGS + numdifftools / lf.laplace:  {speedup:7.1f}x  (goal >= {goal:.0f}x)"
              f"  {verdict(speedup >= goal)}")
        print(f"  ... / lf.laplace(vectorized=True): {t_numdifftools / t3:7.1f}x  "
              f"(for information)")
    print(f"  central Hessian error:            {err_central:8.1e}  "
          f"(goal <= {GOAL_CENTRAL_ERR:.0e})  {verdict(err_central <= GOAL_CENTRAL_ERR)}")
    print(f"  richardson Hessian error:         {err_richardson:8.1e}  "
          f"(goal <= {GOAL_RICHARDSON_ERR:.0e})  "
          f"{verdict(err_richardson <= GOAL_RICHARDSON_ERR)}")
    print(f"  core overhead:                    {100 * overhead:6.1f} %  "
          f"(goal < {100 * GOAL_OVERHEAD:.0f} %)  {verdict(overhead < GOAL_OVERHEAD)}")
    print(f"    (cross-check, time outside the callback: {1e3 * outside[0]:.1f} ms = "
          f"{100 * outside[0] / outside[1]:.1f} % of the time inside it)")
    hessian, small, split = in_laplace
    print(f"  vectorized lf.laplace: {hessian} Hessian-sized calls, {small} value/gradient "
          f"calls, {split} partial-stencil calls  (goal 0 partial)  {verdict(split == 0)}")
    for method, (calls, points) in per_hessian.items():
        print(f"  vectorized lf.hessian({method}): {calls} calls for {points} points  "
              f"(goal 1)  {verdict(calls == 1)}")


def bench_dimension(d, repeats):
    """Run every row at dimension d, print the table, notes and goals."""
    X, y = make_data(d)
    log_post, log_post_vec = make_log_posts(X, y)
    ref = exact_reference(X, y)
    probe = ref[0] + 0.1 * np.random.default_rng(1).standard_normal((3, d))
    assert np.allclose(log_post_vec(probe), [log_post(p) for p in probe], rtol=1e-12)

    print(f"\nW3, d = {d}, n = {N_OBS}: logistic posterior as a numpy callback")
    print(HEADER)
    print("-" * len(HEADER))
    notes = []

    def measure_lf(fn, **options):
        return measure(lambda: run_lf(fn, d, **options), repeats, LF_BUDGET)

    t1, t_loop, runs, overhead, out1 = measure_with_bare_loop(log_post, d, repeats)
    err_central = print_row(1, "lf.laplace (central Hessian)", t1, t1, runs, out1, X, ref)
    notes.append(f"1: {out1.note}")
    loop_name = "Python loop over row 1's points"
    print(f"{'':>2} {loop_name:<42}{t_loop:9.4f}{t_loop / t1:7.2f}{runs:5d}"
          f"{out1.evals:9d}   ({1e6 * t_loop / out1.evals:.1f} us per evaluation)",
          flush=True)

    t2, runs, out2 = measure_lf(log_post, hessian_method="richardson")
    err_richardson = print_row(2, 'lf.laplace(hessian_method="richardson")', t2, t1, runs,
                               out2, X, ref)
    notes.append(f"2: {out2.note}")

    t3, runs, out3 = measure_lf(log_post_vec, vectorized=True)
    print_row(3, "lf.laplace(vectorized=True)", t3, t1, runs, out3, X, ref)
    notes.append(f"3: {out3.note}")

    peers = [
        (4, "BFGS + numdifftools.Hessian", numdifftools,
         bfgs_then(hessian_numdifftools)),
        (5, "BFGS + statsmodels approx_hess", approx_hess,
         bfgs_then(hessian_statsmodels)),
        (6, "BFGS + scipy.differentiate.hessian", differentiate,
         bfgs_then(hessian_scipy_differentiate)),
        (7, "BFGS hess_inv as covariance", optimize, run_bfgs_hess_inv),
    ]
    t_numdifftools = None
    for label, name, module, run in peers:
        if module is None:
            print(f"{label:>2} {name:<42}  not installed", flush=True)
            continue
        seconds, runs, out = measure(lambda: run(log_post, d), min(PEER_RUNS, repeats),
                                     PEER_BUDGET)
        print_row(label, name, seconds, t1, runs, out, X, ref)
        notes.append(f"{label}: {out.note}")
        if label == 4:
            t_numdifftools = seconds

    print("\nNotes")
    for note in notes:
        print(f"  {note}")

    print_goals(d, t1, t3, t_numdifftools, err_central, err_richardson, overhead,
                time_outside_callback(log_post, d),
                classify_vectorized_calls(out3.call_sizes, d),
                vectorized_calls_per_hessian(log_post_vec, ref[0]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="d = 10 only, 3 repeats (under a minute)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="repeats of the laplace_fast rows (default 7, quick 3)")
    args = parser.parse_args()
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 7)
    if repeats < 1:
        parser.error("--repeats must be at least 1")
    dims = DIMS[:1] if args.quick else DIMS
    print(f"laplace_fast {lf.__version__}, numpy {np.__version__}, "
          f"scipy {scipy.__version__}, "
          f"numdifftools {getattr(numdifftools, '__version__', 'not installed')}; "
          f"repeats {repeats} (peers at most {min(PEER_RUNS, repeats)})")
    for d in dims:
        bench_dimension(d, repeats)


if __name__ == "__main__":
    main()
