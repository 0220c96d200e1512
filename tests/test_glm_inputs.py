"""glm_laplace: every status it can return, and every bad input of the failure rules that
applies, raised before any work with the argument (and the problem) named."""

import subprocess
import sys

import numpy as np
import pytest

import laplace_fast as lf
from laplace_fast import Status


def _data(n=30, d=3, seed=0, batch=()):
    rng = np.random.default_rng(seed)
    X = np.concatenate([np.ones(batch + (n, 1)), rng.standard_normal(batch + (n, d - 1))], -1)
    y = (rng.random(batch + (n,)) < 0.5).astype(float)
    return X, y


def _separable(n=20):
    x = np.linspace(-2, 2, n)
    X = np.column_stack([np.ones(n), x])
    return X, (x > 0.1).astype(float)


# ----------------------------------------------------------------- statuses

def test_status_ok():
    X, y = _data()
    res = lf.glm_laplace(X, y)
    assert res.status == Status.OK and res.converged and res.message
    assert np.all(np.isfinite(res.cov)) and res.cond < 1e3


def test_status_ill_conditioned():
    P = np.diag([1.0, 10**-12.5])
    with pytest.warns(lf.LaplaceWarning, match="ILL_CONDITIONED"):
        res = lf.glm_laplace(np.ones((3, 2)), np.ones(3), family="poisson",
                             weights=np.zeros(3), prior_precision=P)
    assert res.status == Status.ILL_CONDITIONED and res.converged
    assert res.cond > 1e12 and np.all(np.isfinite(res.cov))


def test_status_separation_with_proper_prior_converges_flagged():
    # separated rows under a weak proper prior: a skewed posterior (skewness bound 2.5,
    # importance-sampling k-hat 0.55, bench/calibrate_extreme.py), flagged; under a
    # prior of precision 1 the same rows give a posterior that the Gaussian fits (bound
    # 0.77, k-hat 0.39): status 0
    X, y = _separable()
    with pytest.warns(lf.LaplaceWarning, match="EXTREME_PREDICTOR"):
        res = lf.glm_laplace(X, y, prior_precision=0.01)
    assert res.status == Status.EXTREME_PREDICTOR and res.converged
    assert lf.glm_laplace(X, y, prior_precision=1.0).status == Status.OK
    assert np.all(np.isfinite(res.cov)) and np.isfinite(res.log_evidence)
    # the same rows without separation are fine
    y2 = y.copy()
    y2[[0, -1]] = 1 - y2[[0, -1]]
    assert lf.glm_laplace(X, y2).status == Status.OK


def test_status_diverged_without_an_effective_prior():
    X, y = _separable()
    with pytest.warns(lf.LaplaceWarning, match="DIVERGED"):
        res = lf.glm_laplace(X, y, prior_precision=1e-300, maxiter=40)
    assert res.status == Status.DIVERGED and not res.converged
    assert np.all(np.isfinite(res.mode))


def test_status_maxiter():
    X, y = _data()
    with pytest.warns(lf.LaplaceWarning, match="MAXITER"):
        res = lf.glm_laplace(X, y, maxiter=1)
    assert res.status == Status.MAXITER and res.niter == 1
    assert np.all(np.isfinite(res.cov))          # negative definite there: cov given


def test_status_nonfinite_at_start():
    X, y = _data()
    with pytest.warns(lf.LaplaceWarning, match="NONFINITE_X0"):
        res = lf.glm_laplace(X, np.round(y * 3), family="poisson", offset=np.full(30, 1e308))
    assert res.status == Status.NONFINITE_X0
    assert np.all(np.isnan(res.cov)) and np.isnan(res.log_det_cov)


_SIGMOID_KW = {"logistic": {}, "binomial": {"trials": np.ones(2)},
               "negative_binomial": {"dispersion": 1.0}}


@pytest.mark.parametrize("family", sorted(_SIGMOID_KW))
def test_status_nonfinite_at_start_sigmoid_families(family):
    # The sigmoid families compute the value at the prior mean only when a bound does
    # not show it finite.  Here each term y eta - t sp(eta) is about -1e308 (eta = -1e308,
    # y = 1, t = 1; negative binomial: r = 1), finite, but their sum overflows to -inf.
    X = np.zeros((2, 1))
    with pytest.warns(lf.LaplaceWarning, match="NONFINITE_X0"):
        res = lf.glm_laplace(X, np.ones(2), family=family, offset=np.full(2, -1e308),
                             **_SIGMOID_KW[family])
    assert res.status == Status.NONFINITE_X0
    assert np.all(np.isnan(res.cov)) and np.isnan(res.log_det_cov)


def test_status_nonfinite_at_start_probit():
    # Probit too leaves the value at the prior mean to a bound.  Here each term
    # log Phi(-1.2e154) is about -7.2e307, finite, but the sum of three overflows.
    X = np.zeros((3, 1))
    with pytest.warns(lf.LaplaceWarning, match="NONFINITE_X0"):
        res = lf.glm_laplace(X, np.ones(3), family="probit", offset=np.full(3, -1.2e154))
    assert res.status == Status.NONFINITE_X0
    assert np.all(np.isnan(res.cov)) and np.isnan(res.log_det_cov)


@pytest.mark.parametrize("family", sorted(_SIGMOID_KW) + ["probit"])
def test_huge_but_finite_value_at_start_is_not_a_failure(family):
    # eta = +-1e300: the bound of the value fails, so the value is computed, and it is
    # finite: logistic, binomial and probit terms are 0 (y = 1 at +1e300, y = 0 at
    # -1e300); the negative binomial's are -1e300 and 0.  X = 0: the posterior is the
    # prior, N(0, 1), which the Gaussian is exactly: status 0, though |eta| is extreme.
    X = np.zeros((2, 1))
    res = lf.glm_laplace(X, np.array([1.0, 0.0]), family=family,
                         offset=np.array([1e300, -1e300]), **_SIGMOID_KW.get(family, {}))
    assert res.status == Status.OK
    assert np.array_equal(res.mode, [0.0]) and np.array_equal(res.cov, [[1.0]])
    loglik = -1e300 if family == "negative_binomial" else 0.0
    assert res.log_evidence == pytest.approx(loglik, abs=1e-12)

def test_status_nonfinite_gradient_and_hessian():
    X = np.array([[1.5e308], [1.5e308], [1.5e308]])
    with pytest.warns(lf.LaplaceWarning, match="NONFINITE_FIT"):
        res = lf.glm_laplace(X, np.ones(3))
    assert res.status == Status.NONFINITE_FIT
    with pytest.warns(lf.LaplaceWarning, match="HESSIAN_NONFINITE"):
        res = lf.glm_laplace(np.array([[1e160]]), np.ones(1))
    assert res.status == Status.HESSIAN_NONFINITE and np.all(np.isnan(res.cov))


def test_status_singular():
    with pytest.warns(lf.LaplaceWarning, match="SINGULAR"):
        res = lf.glm_laplace(np.ones((4, 2)), np.ones(4), family="gaussian", scale=1.0,
                             weights=np.zeros(4), prior_precision=np.array([1.0, 1e-20]))
    assert res.status == Status.SINGULAR and np.all(np.isnan(res.cov))
    np.testing.assert_array_equal(res.hessian, -np.diag([1.0, 1e-20]))


def test_one_warning_per_batch_call_with_counts():
    X, y = _separable()
    Xb = np.stack([X] * 5)
    yb = np.stack([y, 1 - y[::-1] * 0 + 0, y, y, y])
    yb[1] = np.r_[1.0, y[1:-1], 0.0]
    with pytest.warns(lf.LaplaceWarning) as rec:
        res = lf.glm_laplace(Xb, yb, maxiter=3)
    assert len(rec) == 1
    assert "of 5 problems" in str(rec[0].message)
    assert res.converged.shape == (5,)


# ----------------------------------------------------------------- bad input

@pytest.mark.parametrize("family", ["logistic", "probit", "poisson", "binomial",
                                    "negative_binomial", "gaussian"])
@pytest.mark.parametrize("arg", ["X", "y", "offset", "weights"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nonfinite_data_named_with_problem_index(family, arg, bad):
    X, y = _data(batch=(4,))
    kw = {"binomial": {"trials": np.ones((4, 30))}, "negative_binomial": {"dispersion": 1.0},
          "gaussian": {"scale": 1.0}}.get(family, {})
    arrays = {"X": X.copy(), "y": y.copy(), "offset": np.zeros((4, 30)),
              "weights": np.ones((4, 30))}
    target = arrays[arg]
    target[2, 5] = bad
    target[3, 1] = bad
    Xa, ya = arrays.pop("X"), arrays.pop("y")
    text = "must be finite and non-negative" if arg == "weights" else "contains NaN or inf"
    with pytest.raises(ValueError, match=rf"^{arg} {text} in problem 2\b"):
        lf.glm_laplace(Xa, ya, family=family, **arrays, **kw)


@pytest.mark.parametrize("family,yval", [("logistic", 2.0), ("logistic", 0.5),
                                         ("probit", -1.0), ("poisson", -1.0),
                                         ("poisson", 1.5), ("negative_binomial", 0.25),
                                         ("binomial", 4.0), ("binomial", -1.0),
                                         ("binomial", 0.5)])
def test_y_outside_support(family, yval):
    X, y = _data(batch=(3,))
    kw = {"binomial": {"trials": np.full((3, 30), 3.0)},
          "negative_binomial": {"dispersion": 1.0}}.get(family, {})
    y[1, 7] = yval
    with pytest.raises(ValueError, match=r"y must be .* in problem 1\b"):
        lf.glm_laplace(X, y, family=family, **kw)
    with pytest.raises(ValueError, match=r"y must be"):
        lf.glm_laplace(X[1], y[1], family=family,
                       **{k: (v[1] if isinstance(v, np.ndarray) else v) for k, v in kw.items()})


def test_bad_trials_and_group_index_in_message():
    X, y = _data(batch=(2,))
    t = np.ones((2, 30))
    t[1, 3] = 1.5
    with pytest.raises(ValueError, match=r"trials .* in problem 1"):
        lf.glm_laplace(X, y, family="binomial", trials=t)
    Xg, yg = X.reshape(60, 3), y.reshape(60)
    g = np.repeat(["x", "w"], 30)
    yg = yg.copy()
    yg[2] = np.nan                        # a row of group "x", sorted second
    with pytest.raises(ValueError, match=r"y contains NaN or inf in group 'x' \(problem 1\)"):
        lf.glm_laplace(Xg, yg, groups=g)


@pytest.mark.parametrize("P,match", [
    (-1.0, "positive semi-definite"), (-1e-300, "positive semi-definite"),
    (np.array([1.0, -2.0, 1.0]), "positive semi-definite"),
    (np.array([[1.0, 2.0, 0], [2.0, 1.0, 0], [0, 0, 1]]), "positive semi-definite"),
    (np.array([[1.0, 0.5, 0], [0.0, 1.0, 0], [0, 0, 1]]), "symmetric"),
    (np.array([[1.0, 0, 0], [0, 1.0, 0], [0, 0, -1e-6]]), "positive semi-definite"),
    (np.nan, "NaN"), (np.array([1.0, np.inf, 1.0]), "NaN"),
    (np.ones(4), "prior_precision must be"), (np.ones((2, 2)), "prior_precision must be"),
])
def test_bad_prior_precision(P, match):
    X, y = _data()
    with pytest.raises(ValueError, match=match) as info:
        lf.glm_laplace(X, y, prior_precision=P)
    assert "prior_precision" in str(info.value)


def test_bad_prior_in_a_batch_names_the_problem():
    X, y = _data(batch=(5,))
    P = np.ones((5, 3))
    P[3, 1] = -1
    with pytest.raises(ValueError, match=r"prior_precision must be positive semi-definite .* in problem 3"):
        lf.glm_laplace(X, y, prior_precision=P)
    with pytest.raises(ValueError, match="do not broadcast"):
        lf.glm_laplace(X, y, prior_precision=np.ones((4, 3)))
    m = np.zeros((5, 3))
    m[4, 0] = np.nan
    with pytest.raises(ValueError, match=r"prior_mean contains NaN or inf in problem 4"):
        lf.glm_laplace(X, y, prior_mean=m)
    with pytest.raises(ValueError, match="prior_mean"):
        lf.glm_laplace(X, y, prior_mean=np.zeros(4))


def test_bad_shapes_types_and_options():
    X, y = _data()
    cases = [
        (dict(X=X[0], y=y), ValueError, "X must have shape"),
        (dict(X=X, y=y[:-1]), ValueError, "y must have shape"),
        (dict(X=X, y=y, offset=np.zeros(29)), ValueError, "offset"),
        (dict(X=X, y=y, weights=np.ones((2, 30))), ValueError, "weights"),
        (dict(X=X, y=y, family="gamma"), ValueError, "family must be one of"),
        (dict(X=X, y=y, family=None), ValueError, "family must be one of"),
        (dict(X=X, y=y, tol=0.0), ValueError, "tol"),
        (dict(X=X, y=y, tol=-1.0), ValueError, "tol"),
        (dict(X=X, y=y, tol=np.nan), ValueError, "tol"),
        (dict(X=X, y=y, tol=10**400), ValueError, "tol"),
        (dict(X=X, y=y, tol="1e-8"), TypeError, "tol must be a real number"),
        (dict(X=X, y=y, maxiter=0), ValueError, "maxiter"),
        (dict(X=X, y=y, maxiter=2.5), TypeError, "maxiter"),
        (dict(X=X, y=y, n_threads=0), ValueError, "n_threads"),
        (dict(X=X, y=y, n_threads=1.5), TypeError, "n_threads"),
        (dict(X=X.astype(complex), y=y), TypeError, "X must be real"),
        (dict(X=X, y=y.astype(str)), TypeError, "y must be real"),
        (dict(X=X.astype(object), y=y), TypeError, "X must be real"),
        (dict(X="abc", y=y), TypeError, "X='abc' is read as a formula"),
        (dict(X=X, y=y, family="binomial"), ValueError, "trials is required"),
        (dict(X=X, y=y, family="gaussian"), ValueError, "scale is required"),
        (dict(X=X, y=y, family="negative_binomial"), ValueError, "dispersion is required"),
        (dict(X=X, y=y, scale=1.0), ValueError, "scale is only used"),
        (dict(X=X, y=y, family="gaussian", scale=-1.0), ValueError, "scale must be"),
        (dict(X=X, y=y, family="negative_binomial", dispersion=0.0), ValueError, "dispersion"),
        (dict(X=X, y=y, groups=np.zeros(29)), ValueError, "groups must have shape"),
        (dict(X=X[None], y=y[None], groups=np.zeros(30)), ValueError, "with groups"),
        (dict(X=X, y=y, groups=np.r_[np.nan, np.zeros(29)]), ValueError, "groups"),
    ]
    for kw, exc, match in cases:
        with pytest.raises(exc, match=match):
            lf.glm_laplace(**kw)


def test_upcasts_bool_int_float32():
    X, y = _data()
    a = lf.glm_laplace(X.astype(np.float32), y.astype(bool))
    b = lf.glm_laplace(X.astype(np.float32).astype(np.float64), y)
    np.testing.assert_array_equal(a.mode, b.mode)


def test_too_large_for_memory_raises_before_work(monkeypatch):
    from laplace_fast import _glm
    monkeypatch.setattr(_glm, "memory_limit", lambda: 10_000)
    X, y = _data(batch=(50,))
    with pytest.raises(MemoryError, match=r"needs about \d+ bytes"):
        lf.glm_laplace(X, y)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS on Linux")
def test_scratch_that_cannot_be_allocated_raises_memory_error(tmp_path):
    # the per-thread scratch is allocated inside the kernel (huge pages for a large
    # problem's); when that fails the call raises MemoryError, not a silent result.
    # A child process caps its address space just above what it uses before the fit.
    code = """if True:
        import resource, numpy as np, laplace_fast as lf
        rng = np.random.default_rng(0)
        n = 1_000_000
        X = np.column_stack([np.ones(n), rng.standard_normal(n)])
        y = (rng.random(n) < 0.5).astype(float)
        lf.glm_laplace(X[:100], y[:100], n_threads=1)
        vm = [line for line in open("/proc/self/status") if line.startswith("VmSize")]
        vm = int(vm[0].split()[1]) * 1024
        resource.setrlimit(resource.RLIMIT_AS, (vm + 40 * 2**20, resource.RLIM_INFINITY))
        try:
            lf.glm_laplace(X, y, n_threads=1)
        except MemoryError as exc:
            print(exc)
    """
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=300, cwd=tmp_path)   # the installed package, not ./laplace_fast
    assert out.returncode == 0, out.stderr
    assert "could not allocate" in out.stdout and "bytes of scratch per thread" in out.stdout


def test_predict_on_a_failed_fit_raises():
    X, y = _data()
    with pytest.warns(lf.LaplaceWarning):
        res = lf.glm_laplace(X, np.round(y * 3), family="poisson", offset=np.full(30, 1e308))
    with pytest.raises(lf.LaplaceError):
        res.predict(X[:2])


def test_ctrl_c_interrupts_a_long_batch():
    import _thread
    import threading
    import time

    from laplace_fast import _glm_testing
    rng = np.random.default_rng(3)
    B, n = 100, 20_000
    X = np.concatenate([np.ones((B, n, 1)), rng.standard_normal((B, n, 1))], -1)
    y = (rng.random((B, n)) < 0.5).astype(float)
    old = _glm_testing.set_slice_budget(n)          # about one problem per slice
    try:
        full = np.inf
        for _ in range(2):
            t0 = time.perf_counter()
            lf.glm_laplace(X, y, n_threads=1)
            full = min(full, time.perf_counter() - t0)
        timer = threading.Timer(0.4 * full, _thread.interrupt_main)
        t0 = time.perf_counter()
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            lf.glm_laplace(X, y, n_threads=1)
            time.sleep(10 * full)                     # not reached if the call stopped
        timer.join()
        assert time.perf_counter() - t0 < 0.8 * full     # stopped inside the call
    finally:
        _glm_testing.set_slice_budget(old)
    res = lf.glm_laplace(X[:3, :50], y[:3, :50])   # the next call is unaffected
    assert np.all(res.status == 0)


@pytest.mark.parametrize("n_bad", [1, 10, 1000])
def test_poisoned_problems_in_a_batch_of_10000(n_bad):
    rng = np.random.default_rng(n_bad)
    B, n = 10_000, 12
    X = np.concatenate([np.ones((B, n, 1)), rng.standard_normal((B, n, 1))], -1)
    y = rng.poisson(1.0, (B, n)).astype(float)
    clean = lf.glm_laplace(X, y, family="poisson", n_threads=2)
    bad = rng.choice(B, n_bad, replace=False)
    off = np.zeros((B, n))
    off[bad, 3] = 1000.0                       # exp overflows: not finite at the start
    with pytest.warns(lf.LaplaceWarning, match=f"{n_bad} of {B} problems") as rec:
        res = lf.glm_laplace(X, y, family="poisson", offset=off, n_threads=2)
    assert len(rec) == 1
    assert set(np.flatnonzero(res.status != 0)) == set(bad.tolist())
    keep = np.ones(B, bool)
    keep[bad] = False
    for f in ("mode", "hessian", "cov", "log_det_cov", "logp", "status", "niter", "nfev"):
        assert np.array_equal(getattr(res, f)[keep], getattr(clean, f)[keep])
