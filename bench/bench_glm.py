"""Batched Bayesian GLMs: laplace_fast.glm_laplace against the peers a user would pick
instead, side by side in one process (absolute times drift between runs on shared
machines; the printed ratios are what to read).  Workloads: W1, 10,000 logistic fits (n = 50,
d = 5); W2, 10,000 Poisson fits (n = 100, d = 4); W4, one logistic fit (n = 200,000,
d = 50); other shapes and ragged groups.

    python bench/bench_glm.py                 # W1, W2, W4 and the other shapes
    python bench/bench_glm.py --quick         # smaller batches, fewer repeats
    python bench/bench_glm.py --only W1 W2    # a subset
    python bench/bench_glm.py --midsize       # the mid-size sweep, d from 9 to 64

Peers: an expert numpy damped Newton over the whole stack (batched matmul and solve, a
working set of the running problems), the same split over two threads, JAX
jit(vmap(newton)) when jax is installed, and loops over statsmodels, scikit-learn and
scipy.optimize (on a subset of the problems, reported per problem).  The batched peers
run in interleaved rounds (each once per round, in turn); a ratio is the median over
rounds of that round's ratio, so a burst of load from another tenant of the machine hits
both sides of it.

JAX runs last, in a phase of its own (laplace_fast and JAX interleaved, every workload),
after every other peer: once JAX has run in a process, the numpy peers in it run slower
for the rest of its life, which would inflate laplace_fast's ratios against numpy
(bench/RESULTS.md, "the benchmark's own rules").
"""

import argparse
import os
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import optimize, special

import laplace_fast as lf

LOG2PI = np.log(2 * np.pi)


# ----------------------------------------------------------------------------- data

def make(workload, B, n, d, seed=0, scale=1.0):
    """B problems of n rows and d columns (an intercept and standard normal features),
    true coefficients standard normal times scale"""
    rng = np.random.default_rng(seed)
    X = np.concatenate([np.ones((B, n, 1)), rng.standard_normal((B, n, d - 1))], -1)
    w = rng.standard_normal((B, d)) * scale
    eta = np.einsum("bnd,bd->bn", X, w)
    if workload == "logistic":
        y = (rng.random((B, n)) < special.expit(eta)).astype(float)
    elif workload == "probit":
        y = (rng.random((B, n)) < special.ndtr(eta)).astype(float)
    else:
        y = rng.poisson(np.exp(eta)).astype(float)
    return X, y


# ----------------------------------------------------------------------------- peers

def numpy_newton(X, y, family, alpha=1.0, tol=1e-10, maxiter=100):
    """Expert numpy: damped Newton over the whole stack.  Batched matmul (BLAS) for the
    products, batched solve; the linear predictor of the accepted point is kept for the
    next iteration; softplus as max(eta, 0) + log1p(exp(-|eta|)) (cheaper than
    logaddexp); converged problems are dropped from a working set that is gathered again
    only when fewer than half of its problems are still running."""
    B, n, d = X.shape
    P = alpha * np.eye(d)
    const = -special.gammaln(y + 1).sum(1) if family == "poisson" else np.zeros(B)

    def lin(Xa, w):
        return np.matmul(Xa, w[..., None])[..., 0]

    def hess(Xa, h):
        if Xa.shape[0] == 1:            # one big problem: one BLAS gemm
            return (Xa[0].T @ (Xa[0] * h[0][:, None]))[None]
        return np.matmul(Xa.transpose(0, 2, 1), Xa * h[..., None])

    def loglik(ya, eta):
        if family == "logistic":
            sp = np.log1p(np.exp(-np.abs(eta)))
            sp += np.maximum(eta, 0)
            return np.sum(ya * eta - sp, 1)
        if family == "probit":
            return np.sum(special.log_ndtr((2 * ya - 1) * eta), 1)
        with np.errstate(over="ignore"):
            return np.sum(ya * eta - np.exp(eta), 1)

    w = np.zeros((B, d))
    eta = np.zeros((B, n))
    L = loglik(y, eta)
    A_out = np.empty((B, d, d))
    work = np.arange(B)             # the working set: problem of each working row
    Xw, yw = X, y
    running = np.ones(B, bool)      # per working row
    for _ in range(maxiter):
        idx = np.flatnonzero(running)
        if idx.size == 0:
            break
        if idx.size < running.size // 2:
            work, Xw, yw, eta = work[idx], X[work[idx]], y[work[idx]], eta[idx]
            running = np.ones(idx.size, bool)
            idx = np.arange(idx.size)
        wa = w[work]
        if family == "logistic":
            p = special.expit(eta)
            g, h = yw - p, p * (1 - p)
        elif family == "probit":     # lam = phi(z) / Phi(z), z = q eta, by log_ndtr
            q = 2 * yw - 1
            z = q * eta
            lam = np.exp(-0.5 * z * z - 0.5 * LOG2PI - special.log_ndtr(z))
            g, h = q * lam, lam * (lam + z)
        else:
            mu = np.exp(eta)
            g, h = yw - mu, mu
        G = np.matmul(g[:, None, :], Xw)[:, 0] - alpha * wa
        A = hess(Xw, h) + P
        A_out[work[idx]] = A[idx]
        step = np.linalg.solve(A, G[..., None])[..., 0]
        running &= ~np.all(np.abs(step) <= tol * (1 + np.abs(wa)), 1)
        todo = np.flatnonzero(running)
        La = L[work]
        dec = np.sum(G * step, 1)
        t = np.ones(running.size)
        for _ls in range(60):       # step halving (Armijo) for the problems not yet done
            if todo.size == 0:
                break
            full = todo.size == running.size
            wt = wa[todo] + t[todo, None] * step[todo]
            et = lin(Xw if full else Xw[todo], wt)
            Lt = loglik(yw if full else yw[todo], et) - 0.5 * alpha * np.sum(wt * wt, 1)
            ok = np.isfinite(Lt) & (Lt >= La[todo] + 1e-4 * t[todo] * dec[todo]
                                    - 1e-13 * (1 + np.abs(La[todo])))
            acc = todo[ok]
            w[work[acc]] = wt[ok]
            L[work[acc]] = Lt[ok]
            eta[acc] = et[ok]
            t[todo[~ok]] /= 2
            todo = todo[~ok]
    sign, logdet = np.linalg.slogdet(A_out)
    cov = np.linalg.inv(A_out)
    logp = L + const - 0.5 * d * LOG2PI + 0.5 * d * np.log(alpha)
    return w, cov, logp + 0.5 * d * LOG2PI - 0.5 * logdet


def numpy_newton_2threads(X, y, family):
    h = X.shape[0] // 2
    with ThreadPoolExecutor(2) as ex:
        a, b = ex.map(lambda s: numpy_newton(X[s], y[s], family), [slice(0, h), slice(h, None)])
    return tuple(np.concatenate([u, v]) for u, v in zip(a, b))


def make_jax(family, d):
    try:
        import jax
        import jax.numpy as jnp
        import jax.scipy.special
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)

    def logpost(w, X, y):
        eta = X @ w
        if family == "logistic":
            ll = jnp.sum(y * eta - jnp.logaddexp(0.0, eta))
        elif family == "probit":
            ll = jnp.sum(jax.scipy.special.log_ndtr((2 * y - 1) * eta))
        else:
            ll = jnp.sum(y * eta - jnp.exp(eta))
        return ll - 0.5 * jnp.sum(w * w)

    def newton(X, y):
        def derivs(w):
            eta = X @ w
            if family == "logistic":
                p = jax.nn.sigmoid(eta)
                g, h = y - p, p * (1 - p)
            elif family == "probit":
                q = 2 * y - 1
                z = q * eta
                lam = jnp.exp(-0.5 * z * z - 0.5 * LOG2PI - jax.scipy.special.log_ndtr(z))
                g, h = q * lam, lam * (lam + z)
            else:
                mu = jnp.exp(eta)
                g, h = y - mu, mu
            return X.T @ g - w, (X * h[:, None]).T @ X + jnp.eye(d)

        def cond(s):
            return (s[2] < 100) & (~s[3])

        def body(s):
            w, L, it, _ = s
            G, A = derivs(w)
            step = jnp.linalg.solve(A, G)
            conv = jnp.all(jnp.abs(step) <= 1e-10 * (1 + jnp.abs(w)))
            dec = G @ step

            def lcond(ls):
                t, Lt, k = ls
                return (~(jnp.isfinite(Lt) & (Lt >= L + 1e-4 * t * dec - 1e-13 * (1 + jnp.abs(L))))) & (k < 60)

            def lbody(ls):
                t, _, k = ls
                t = t / 2
                return t, logpost(w + t * step, X, y), k + 1

            t, Lt, _ = jax.lax.while_loop(lcond, lbody, (1.0, logpost(w + step, X, y), 0))
            wn = jnp.where(conv, w, w + t * step)
            Ln = jnp.where(conv, L, Lt)
            return wn, Ln, it + 1, conv

        w0 = jnp.zeros(d)
        w, L, it, _ = jax.lax.while_loop(cond, body, (w0, logpost(w0, X, y), 0, False))
        _, A = derivs(w)
        cov = jnp.linalg.inv(A)
        return w, cov, L - 0.5 * jnp.linalg.slogdet(A)[1]

    f = jax.jit(jax.vmap(newton))

    def run(X, y):
        out = f(X, y)
        return tuple(np.asarray(o) for o in jax.block_until_ready(out))
    return run


def statsmodels_loop(X, y, family, m):
    import statsmodels.api as sm
    fam = sm.families.Binomial() if family == "logistic" else sm.families.Poisson()
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for b in range(m):
            out.append(sm.GLM(y[b], X[b], family=fam).fit().params)
    return np.array(out)


def sklearn_loop(X, y, family, m):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return _sklearn_loop(X, y, family, m)


def _sklearn_loop(X, y, family, m):
    from sklearn.linear_model import LogisticRegression, PoissonRegressor
    out = []
    n = X.shape[1]
    for b in range(m):
        if family == "logistic":
            est = LogisticRegression(C=1.0, fit_intercept=False, solver="newton-cholesky",
                                     tol=1e-10, max_iter=200).fit(X[b], y[b])
            w = est.coef_[0]
            p = special.expit(X[b] @ w)
            h = p * (1 - p)
        else:
            est = PoissonRegressor(alpha=1.0 / n, fit_intercept=False, solver="newton-cholesky",
                                   tol=1e-10, max_iter=200).fit(X[b], y[b])
            w = est.coef_
            h = np.exp(X[b] @ w)
        A = X[b].T @ (h[:, None] * X[b]) + np.eye(X.shape[2])
        np.linalg.inv(A)
        out.append(w)
    return np.array(out)


def scipy_loop(X, y, family, m):
    out = []
    d = X.shape[2]
    for b in range(m):
        Xb, yb = X[b], y[b]

        def f(w):
            eta = Xb @ w
            if family == "logistic":
                return -(yb @ eta - np.logaddexp(0, eta).sum()) + 0.5 * w @ w
            return -(yb @ eta - np.exp(eta).sum()) + 0.5 * w @ w

        def g(w):
            eta = Xb @ w
            mu = special.expit(eta) if family == "logistic" else np.exp(eta)
            return -(Xb.T @ (yb - mu)) + w

        def H(w):
            eta = Xb @ w
            if family == "logistic":
                p = special.expit(eta)
                h = p * (1 - p)
            else:
                h = np.exp(eta)
            return Xb.T @ (h[:, None] * Xb) + np.eye(d)

        with warnings.catch_warnings(), np.errstate(over="ignore"):
            warnings.simplefilter("ignore")
            r = optimize.minimize(f, np.zeros(d), jac=g, hess=H, method="trust-exact",
                                  options={"gtol": 1e-9})
        np.linalg.inv(H(r.x))
        out.append(r.x)
    return np.array(out)


# ----------------------------------------------------------------------------- timing

def timeit(fn, repeats):
    ts = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return float(np.median(ts)), out


def lf_fit(X, y, family, n_threads=None, groups=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lf.LaplaceWarning)
        return lf.glm_laplace(X, y, family=family, n_threads=n_threads, groups=groups)


def row(name, t, B, ref_t, extra=""):
    print(f"  {name:<42s} {t / B * 1e6:12.2f} µs/problem   {t / ref_t:8.1f}× laplace_fast"
          f"{extra}")


# interleaved rounds per batched workload: the per-round ratios spread widely on a shared
# machine (bench/RESULTS.md, "the benchmark's own rules"), so the median of nine is read
ROUNDS, ROUNDS_QUICK = 9, 2


def settle(seconds=0.005):
    """Wait, busy, before a timed call.  JAX's thread pool spins for about a millisecond
    after a call returns, and a laplace_fast call on two threads made at once runs several
    times slower (bench/RESULTS.md, "the benchmark's own rules").
    Busy, not time.sleep: on this VM an idle virtual CPU is slow to wake, and a sleep of
    0.2 s made the next two-thread call up to 3x slower in turn."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        pass


def interleaved(fns, rounds, wait=0.005):
    """Run every function once per round, in turn, so that they share the machine's
    drift, each after a busy wait of ``wait`` seconds (settle); returns each one's times
    (one per round) and its last output."""
    times = {k: [] for k in fns}
    outs = {}
    for _ in range(rounds):
        for k, fn in fns.items():
            settle(wait)
            t0 = time.perf_counter()
            outs[k] = fn()
            times[k].append(time.perf_counter() - t0)
    return times, outs


def bench_batch(label, family, B, n, d, args, loops=True):
    """The batched peers in interleaved rounds; the ratios printed are the medians of
    the per-round ratios (robust to the other tenant of this shared machine)."""
    X, y = make(family, B, n, d)
    print(f"\n{label}: {family}, B = {B}, n = {n}, d = {d}")
    fns = {"lf": lambda: lf_fit(X, y, family),
           "lf1": lambda: lf_fit(X, y, family, n_threads=1),
           "np": lambda: numpy_newton(X, y, family),
           "np2": lambda: numpy_newton_2threads(X, y, family)}
    times, outs = interleaved(fns, ROUNDS_QUICK if args.quick else ROUNDS)
    tl = float(np.median(times["lf"]))

    def ratio(k):   # median over rounds of t_k / t_lf: how many times faster lf is
        return float(np.median(np.array(times[k]) / np.array(times["lf"])))

    def show(name, k, extra=""):
        t = float(np.median(times[k]))
        r = np.array(times[k]) / np.array(times["lf"])
        print(f"  {name:<42s} {t / B * 1e6:12.2f} µs/problem   {ratio(k):8.1f}× laplace_fast"
              f" (rounds {r.min():.1f}-{r.max():.1f}×){extra}")

    res, r1 = outs["lf"], outs["lf1"]
    ok = np.count_nonzero(res.status >= 0)
    print(f"  {'laplace_fast glm_laplace, all cores':<42s} {tl / B * 1e6:12.2f} µs/problem"
          f"   (converged {ok}/{B}, mean Newton iterations {res.niter.mean():.1f})")
    show("laplace_fast, 1 thread", "lf1")
    assert all(np.array_equal(getattr(r1, f), getattr(res, f)) for f in
               ("mode", "cov", "log_det_cov", "logp", "status"))
    wn, cn, en = outs["np"]
    show("expert numpy (stacked damped Newton)", "np",
         f"   max|Δmode| {np.max(np.abs(wn - res.mode)):.1e}, "
         f"max|Δlog evidence| {np.max(np.abs(en - res.log_evidence)):.1e}")
    show("expert numpy, batch split over 2 threads", "np2")
    if loops and not args.no_loops:
        m = 100 if args.quick else 300
        for name, fn in (("statsmodels GLM loop (MLE, no prior)", statsmodels_loop),
                         ("scikit-learn newton-cholesky loop + Hessian", sklearn_loop),
                         ("scipy trust-exact loop", scipy_loop)):
            t, _ = timeit(lambda: fn(X, y, family, m), 1)
            row(name, t * B / m, B, tl, f"   (on {m} problems)")
    return tl / B, ratio("np2"), (f"{label} (n = {n}, d = {d})", family, X, y, res.mode)


# the wait before each call in JAX's rounds: after a JAX call its thread pool keeps the
# two virtual CPUs busy for a while, long enough to slow the next laplace_fast call on
# two threads (bench/RESULTS.md, "the benchmark's own rules")
JAX_WAIT = 0.03


def bench_jax_batch(name, family, X, y, mode, args):
    """The JAX peer against laplace_fast, interleaved; returns the median per-round ratio
    (None when jax is not installed)."""
    B = X.shape[0]
    jx = make_jax(family, X.shape[2])
    if jx is None:
        return None
    t0 = time.perf_counter()
    jx(X, y)
    comp = time.perf_counter() - t0
    times, outs = interleaved({"lf": lambda: lf_fit(X, y, family), "jax": lambda: jx(X, y)},
                              ROUNDS_QUICK if args.quick else ROUNDS, wait=JAX_WAIT)
    r = float(np.median(np.array(times["jax"]) / np.array(times["lf"])))
    print(f"  {name:<42s} {np.median(times['jax']) / B * 1e6:12.2f} µs/problem   {r:8.1f}× "
          f"laplace_fast ({np.median(times['lf']) / B * 1e6:.2f} µs/problem here)   "
          f"(compile {comp:.1f} s) max|Δmode| {np.max(np.abs(outs['jax'][0] - mode)):.1e}")
    return r


def bench_w4(args):
    n, d = (50_000, 50) if args.quick else (200_000, 50)
    X, y = make("logistic", 1, n, d)
    print(f"\nW4: one large logistic GLM, n = {n}, d = {d}")
    reps = 2 if args.quick else 3
    tl, res = timeit(lambda: lf_fit(X[0], y[0], "logistic"), reps)
    print(f"  {'laplace_fast glm_laplace':<42s} {tl:10.3f} s   (status {int(res.status)}, "
          f"{res.niter} iterations)")
    tn, (wn, _, _) = timeit(lambda: numpy_newton(X, y, "logistic"), reps)
    print(f"  {'expert numpy (BLAS)':<42s} {tn:10.3f} s   {tn / tl:6.2f}× laplace_fast   "
          f"max|Δmode| {np.max(np.abs(wn[0] - res.mode)):.1e}")
    from sklearn.linear_model import LogisticRegression
    t, _ = timeit(lambda: sklearn_loop(X, y, "logistic", 1), 1)
    print(f"  {'scikit-learn newton-cholesky + Hessian':<42s} {t:10.3f} s   {t / tl:6.2f}× laplace_fast")
    t, _ = timeit(lambda: statsmodels_loop(X, y, "logistic", 1), 1)
    print(f"  {'statsmodels GLM':<42s} {t:10.3f} s   {t / tl:6.2f}× laplace_fast")
    del LogisticRegression
    return X, y, res.mode


def bench_jax_w4(X, y, mode):
    """W4's JAX peer against laplace_fast, interleaved (two rounds)."""
    jx = make_jax("logistic", X.shape[2])
    if jx is None:
        return
    jx(X, y)
    times, outs = interleaved({"lf": lambda: lf_fit(X[0], y[0], "logistic"),
                               "jax": lambda: jx(X, y)}, 2, wait=JAX_WAIT)
    t, tl = np.median(times["jax"]), np.median(times["lf"])
    print(f"  {'W4: JAX jit(vmap(newton))':<42s} {t:10.3f} s   {t / tl:6.2f}× laplace_fast "
          f"({tl:.3f} s here)   max|Δmode| {np.max(np.abs(outs['jax'][0][0] - mode)):.1e}")


def bench_alone(args):
    """One problem per call (a library calling glm_laplace in its own loop): all cores
    against one thread.  A problem alone uses the threads inside it (its blocks of rows),
    which pays off only for large n."""
    print("\none problem per call (logistic), all cores against one thread")
    for n, d in ((50, 5), (1000, 5), (100_000, 5)):
        X, y = make("logistic", 1, n, d)
        reps = max(3, int(2e6 // (n * d)) // (20 if args.quick else 1))
        t = {}
        for nt in (None, 1):
            t[nt], _ = timeit(lambda: [lf_fit(X[0], y[0], "logistic", n_threads=nt)
                                       for _ in range(reps)], 5 if not args.quick else 2)
        print(f"  n = {n:>7,}, d = {d}: all cores {t[None] / reps * 1e6:10.1f} µs a call, "
              f"one thread {t[1] / reps * 1e6:10.1f} µs ({t[1] / t[None]:.2f}×)")


def bench_groups(args):
    rng = np.random.default_rng(1)
    G = 2000 if args.quick else 10_000
    sizes = rng.integers(10, 400, G)
    N, d = int(sizes.sum()), 6
    X = np.concatenate([np.ones((N, 1)), rng.standard_normal((N, d - 1))], 1)
    g = np.repeat(rng.permutation(G), sizes)
    w = rng.standard_normal((G, d)) * 0.5
    y = (rng.random(N) < special.expit(np.einsum("nd,nd->n", X, w[g]))).astype(float)
    print(f"\nragged groups: logistic, {G} groups of 10..400 rows (N = {N}), d = {d}")
    t, res = timeit(lambda: lf_fit(X, y, "logistic", groups=g), 2 if args.quick else 5)
    print(f"  laplace_fast glm_laplace(groups=...)   {t / G * 1e6:10.2f} µs/problem"
          f"   ({t / N * 1e9:.1f} ns per row)")

# ----------------------------------------------------------------------------- mid-size

# the mid-size sweep (issue 25): n from 20 to 500, d from 9 to 64, d not a multiple of 4
# or 8 included; the small-n regime (fewer rows than pairs of features) on its own
MIDSIZE = ((50, 9), (50, 12), (100, 13), (100, 16), (200, 24), (400, 32), (300, 45),
           (500, 64))
MIDSIZE_SMALL_N = ((20, 10), (20, 14))
MIDSIZE_GOAL, LIMIT_GOAL = 8.0, 3.0      # x expert numpy on 2 threads; x the limit


def fma_peak():
    """(multiply-adds per second of the two cores at their FMA peak, a description).
    The kernels are compiled for x86-64-v4, v3 and the baseline and picked at run time
    (LF_CLONES, src/common/lf_portable.h): with avx512f the v4 copy runs (8 doubles a
    vector), with avx2 and fma the v3 copy (4 doubles), else SSE2 (2 doubles, multiply
    and add apart); two FMA pipes a core (AMD Zen 4, Intel since Haswell); the clock is
    /proc/cpuinfo's."""
    flags, mhz, model = set(), None, "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                key = key.strip()
                if key == "flags" and not flags:
                    flags = set(val.split())
                elif key == "cpu MHz" and mhz is None:
                    mhz = float(val)
                elif key == "model name" and model == "?":
                    model = val.strip()
    except OSError:
        pass
    if "avx512f" in flags:
        lanes, isa = 8, "AVX-512 (x86-64-v4 copy)"
    elif {"avx2", "fma"} <= flags:
        lanes, isa = 4, "AVX2 + FMA (x86-64-v3 copy)"
    else:
        lanes, isa = 2, "SSE2 (baseline copy)"
    ghz = (mhz or 2000.0) / 1000.0
    cores = 2
    rate = lanes * 2 * ghz * 1e9 * cores
    return rate, (f"{model}: {isa}, {lanes} doubles x 2 FMA pipes x {ghz:.2f} GHz x "
                  f"{cores} cores = {rate / 1e9:.1f} G multiply-adds/s")


def newton_madds(n, d):
    """multiply-adds of one Newton iteration: X^T W X's symmetric half, X w, the
    gradient X^T g, the Cholesky factor and its two triangular solves"""
    return n * d * (d + 1) / 2 + 2 * n * d + d ** 3 / 6 + d * d


def bench_midsize(args):
    """laplace_fast against expert numpy on two threads over the mid-size sweep, in
    interleaved rounds, with the hardware limit of each shape: the multiply-adds of its
    Newton iterations (mean over the batch) at the FMA peak of both cores."""
    rate, desc = fma_peak()
    rounds = 2 if args.quick else 5
    print(f"\nmid-size sweep (issue 25): {rounds} interleaved rounds a shape; limit: "
          f"Newton multiply-adds x iterations at the FMA peak\n  {desc}")
    print(f"  {'shape':<28s} {'lf µs':>8s} {'np2 µs':>8s} {'ratio':>6s} {'rounds':>11s} "
          f"{'iters':>5s} {'limit µs':>8s} {'x limit':>7s}")
    rows = []
    for regime, shapes in (("mid-size", MIDSIZE), ("small n", MIDSIZE_SMALL_N)):
        for fam in ("logistic", "poisson"):
            for n, d in shapes:
                B = max(100, min(4000, int(2.5e8 / (n * d * d))))
                if args.quick:
                    B = max(50, B // 4)
                X, y = make(fam, B, n, d, seed=n * 100 + d, scale=1.0 / np.sqrt(d))
                fns = {"lf": lambda: lf_fit(X, y, fam),
                       "np2": lambda: numpy_newton_2threads(X, y, fam)}
                lf_fit(X, y, fam)
                times, outs = interleaved(fns, rounds)
                r = np.array(times["np2"]) / np.array(times["lf"])
                res = outs["lf"]
                tl = float(np.median(times["lf"])) / B
                tn = float(np.median(times["np2"])) / B
                iters = float(res.niter.mean())
                limit = newton_madds(n, d) * iters / rate
                ratio = float(np.median(r))
                wn = outs["np2"][0]
                if not np.max(np.abs(wn - res.mode)) < 1e-6:
                    print(f"  (max|Δmode| against numpy {np.max(np.abs(wn - res.mode)):.1e})")
                name = f"{regime} {fam} n={n} d={d}"
                print(f"  {name:<28s} {tl * 1e6:8.2f} {tn * 1e6:8.1f} {ratio:5.1f}x "
                      f"{r.min():5.1f}-{r.max():4.1f}x {iters:5.1f} {limit * 1e6:8.2f} "
                      f"{tl / limit:6.1f}x")
                rows.append((name, ratio, tl / limit))
    miss = [nm for nm, ratio, lim in rows if ratio < MIDSIZE_GOAL or lim > LIMIT_GOAL]
    print(f"\nmid-size goals ({MIDSIZE_GOAL:.0f}x numpy on 2 threads, within "
          f"{LIMIT_GOAL:.0f}x of the limit): "
          f"{'PASS' if not miss else 'MISS on ' + ', '.join(miss)}")
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--no-loops", action="store_true", help="skip the slow per-problem loops")
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--midsize", action="store_true",
                    help="the mid-size sweep alone (d from 9 to 64, issue 25)")
    args = ap.parse_args(argv)
    print(f"laplace_fast {lf.__version__}, numpy {np.__version__}, {os.cpu_count()} cores, "
          f"python {sys.version.split()[0]}")
    if args.midsize:
        bench_midsize(args)
        return
    B = 2000 if args.quick else 10_000
    todo = args.only or ["W1", "W2", "W4", "shapes", "groups", "alone"]
    summary, jobs, w4 = {}, [], None
    if "W1" in todo:
        summary["W1"] = bench_batch("W1", "logistic", B, 50, 5, args)
        jobs.append(summary["W1"][2])
    if "W2" in todo:
        summary["W2"] = bench_batch("W2", "poisson", B, 100, 4, args)
        jobs.append(summary["W2"][2])
    if "W4" in todo:
        w4 = bench_w4(args)
    if "shapes" in todo:
        for fam, n, d in (("logistic", 10, 2), ("logistic", 200, 10), ("poisson", 1000, 3),
                          ("logistic", 100, 20), ("probit", 50, 5)):
            bb = max(200, int(B * 50 / n * (5 / d) ** 2 / 4)) if not args.quick else 500
            jobs.append(bench_batch("shape", fam, min(bb, B), n, d, args, loops=False)[2])
    if "groups" in todo:
        bench_groups(args)
    if "alone" in todo:
        bench_alone(args)
    # the JAX phase, last (see the module's docstring)
    print("\nJAX jit(vmap(newton)), float64, interleaved with laplace_fast (all cores)")
    rjax = {}
    for job in jobs:
        rjax[job[0]] = bench_jax_batch(*job, args)
        if rjax[job[0]] is None:
            print("  JAX not installed: skipped (pip install jax)")
            break
    if w4 is not None:
        bench_jax_w4(*w4)
    goals = {"np2": 8.0, "jax": 10.0}       # issue 3: W1 and W2 against each peer
    for k, (tl, rn2, job) in summary.items():
        rj = rjax.get(job[0])
        line = (f"\n{k}: laplace_fast {tl * 1e6:.2f} µs/problem; {rn2:.1f}× faster than "
                f"expert numpy on 2 threads (goal {goals['np2']:.0f}×: "
                f"{'PASS' if rn2 >= goals['np2'] else 'MISS'})")
        if rj is not None:
            line += (f"; {rj:.1f}× faster than JAX (goal {goals['jax']:.0f}×: "
                     f"{'PASS' if rj >= goals['jax'] else 'MISS'})")
        print(line)


if __name__ == "__main__":
    main()
