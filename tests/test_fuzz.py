"""Property-based fuzzing of the public API (callbacks and GLMs) with Hypothesis:
whatever the input, the result is a documented exception type or a result whose status
explains it -- never a crash, never a NaN covariance with status OK, never a covariance
inconsistent with the Hessian.  ``LAPLACE_FAST_FUZZ=N`` raises the example count
(default 60)."""

import os
import warnings

import numpy as np
import pytest

import laplace_fast as lf

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies
EXAMPLES = int(os.environ.get("LAPLACE_FAST_FUZZ", "60"))
settings = hypothesis.settings(max_examples=EXAMPLES, deadline=None, derandomize=True)

finite = st.floats(-1e3, 1e3, allow_nan=False)
anyfloat = st.one_of(finite, st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1e300, -1e-300]))


def check_result(r):
    if r.status >= 0:
        assert np.all(np.isfinite(r.cov))
        assert np.all(np.isfinite(r.mode))
        np.testing.assert_allclose(r.cov @ r.precision, np.eye(r.d), atol=1e-6 * r.cond)
    else:
        assert r.status in set(lf.Status)


@settings
@hypothesis.given(st.lists(anyfloat, min_size=1, max_size=4),
                  st.lists(st.floats(0.01, 100), min_size=1, max_size=4),
                  st.sampled_from(["central", "forward", "richardson"]),
                  st.integers(1, 50))
def test_quartic_family(x0, scales, method, maxiter):
    d = min(len(x0), len(scales))
    x0, scales = np.array(x0[:d]), np.array(scales[:d])

    def f(t):
        return -np.sum(scales * t ** 2) - 0.01 * np.sum(t ** 4) + np.sin(t[0])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", lf.LaplaceWarning)
        try:
            r = lf.laplace(f, x0, hessian_method=method, maxiter=maxiter)
        except ValueError as exc:
            assert "x0" in str(exc) and not np.all(np.isfinite(x0))
            return
    check_result(r)


@settings
@hypothesis.given(st.lists(finite, min_size=1, max_size=3),
                  st.sampled_from(["ok", "nan", "inf", "-inf", "big", "flat", "convex"]))
def test_misbehaving_log_posts(x0, kind):
    x0 = np.array(x0)

    def f(t):
        base = -np.sum((t - 1) ** 2)
        if kind == "nan":
            return np.nan if t[0] > 1.5 else base
        if kind == "inf":
            return np.inf if t[0] > 5 else base
        if kind == "-inf":
            return -np.inf if abs(t[0]) > 10 else base
        if kind == "big":
            return 1e300 * base
        if kind == "flat":
            return -(t[0] - 1) ** 2
        if kind == "convex":
            return np.sum(t ** 2)
        return base
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lf.LaplaceWarning)
        with np.errstate(all="ignore"):
            r = lf.laplace(f, x0, maxiter=30)
    check_result(r)
    if kind == "convex" or (kind == "flat" and len(x0) > 1):
        assert not r.converged


@settings
@hypothesis.given(st.one_of(st.none(), st.integers(-3, 3), st.floats(allow_nan=True),
                            st.text(max_size=3), st.lists(st.integers(), max_size=3)),
                  st.sampled_from(["tol", "maxiter", "step", "hessian_method", "method",
                                   "x0"]))
def test_bad_options_raise_documented_errors(value, name):
    kwargs = {name: value}
    x0 = kwargs.pop("x0", [0.5])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", lf.LaplaceWarning)
        try:
            r = lf.laplace(lambda t: -np.sum(t ** 2), x0, **kwargs)
        except (ValueError, TypeError):
            return
    check_result(r)


families = st.sampled_from(["logistic", "probit", "poisson", "binomial",
                            "negative_binomial", "gaussian"])


@settings
@hypothesis.given(families, st.integers(0, 3), st.integers(1, 4), st.integers(0, 12),
                  st.integers(0, 2**31 - 1), st.sampled_from(["ok", "nan_x", "bad_y",
                                                               "big_x", "neg_prior"]),
                  st.floats(1e-6, 1e3))
def test_glm_inputs(family, batch, d, n, seed, corrupt, alpha):
    rng = np.random.default_rng(seed)
    shape = (batch,) if batch else ()
    X = rng.standard_normal(shape + (n, d))
    eta = X @ rng.standard_normal(d)
    y = {"logistic": (eta > 0).astype(float), "probit": (eta < 0.3).astype(float),
         "poisson": np.floor(np.exp(np.clip(eta, -5, 5))),
         "binomial": np.floor(3 / (1 + np.exp(-eta))),
         "negative_binomial": np.floor(np.exp(np.clip(eta, -5, 5))),
         "gaussian": eta}[family]
    kwargs = dict(trials=3.0 if family == "binomial" else None,
                  dispersion=0.5 if family == "negative_binomial" else None,
                  scale=1.3 if family == "gaussian" else None)
    if corrupt == "nan_x" and X.size:
        X.flat[0] = np.nan
    if corrupt == "bad_y" and y.size:
        y.flat[-1] = -1.5
    if corrupt == "big_x":
        X *= 1e150
    prior = -alpha if corrupt == "neg_prior" else alpha
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lf.LaplaceWarning)
        try:
            r = lf.glm_laplace(X, y, family=family, prior_precision=prior, **kwargs)
        except ValueError as exc:
            assert corrupt in ("nan_x", "bad_y", "neg_prior", "big_x"), exc
            return
    status = np.atleast_1d(r.status)
    cov = r.cov.reshape(-1, d, d)
    prec = r.precision.reshape(-1, d, d)
    for s, c, p in zip(status, cov, prec):
        assert s in set(lf.Status)
        if s >= 0:
            assert np.all(np.isfinite(c))
            np.testing.assert_allclose(c @ p, np.eye(d), atol=1e-6)
    if corrupt == "ok" and n == 0:      # no observations: the prior, exactly
        np.testing.assert_allclose(cov, np.broadcast_to(np.eye(d) / alpha, cov.shape),
                                   rtol=1e-12)
