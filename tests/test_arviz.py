"""result.to_arviz: the layout arviz.from_dict builds (dimensions, coordinates), the
draws against closed-form posteriors within Monte-Carlo error, reproducibility, the
importance-resampled and mixture draws, and arviz staying an optional extra."""

import sys
import types

import numpy as np
import pytest
from scipy import integrate, stats

import laplace_fast as lf

az = pytest.importorskip("arviz")
pd = pytest.importorskip("pandas")


def _theta(idata):
    return idata.posterior["theta"]


def _conjugate():
    """A Bayesian linear regression of known noise, whose posterior is Gaussian in
    closed form: N(A^-1 X'y / s^2, A^-1), A = X'X / s^2 + alpha I."""
    rng = np.random.default_rng(5)
    n, s, alpha = 40, 0.7, 2.0
    x = rng.standard_normal(n)
    X = pd.DataFrame({"Intercept": np.ones(n), "x": x, "x2": x ** 2 - 1})
    y = 0.5 + 1.2 * x - 0.3 * (x ** 2 - 1) + s * rng.standard_normal(n)
    A = X.to_numpy().T @ X.to_numpy() / s ** 2 + alpha * np.eye(3)
    cov = np.linalg.inv(A)
    mean = cov @ (X.to_numpy().T @ y) / s ** 2
    res = lf.glm_laplace(X, y, family="gaussian", scale=s, prior_precision=alpha)
    return res, mean, cov


def test_single_layout_and_names():
    res, _, _ = _conjugate()
    th = _theta(res.to_arviz(n=300, rng=0))
    assert th.dims == ("chain", "draw", "term")
    assert th.shape == (1, 300, 3)
    assert th["term"].values.tolist() == ["Intercept", "x", "x2"]
    th4 = _theta(res.to_arviz(n=50, rng=0, chains=4))
    assert th4.shape == (4, 50, 3)
    # unnamed parameters: the tables' x0, x1, ...
    r = lf.laplace(lambda t: -0.5 * np.sum(t ** 2), np.zeros(2))
    assert _theta(r.to_arviz(n=10, rng=0))["term"].values.tolist() == ["x0", "x1"]


def test_draws_match_the_closed_form_posterior():
    res, mean, cov = _conjugate()
    n, chains = 4000, 4
    idata = res.to_arviz(n=n, rng=1, chains=chains)
    s = az.summary(idata, kind="stats", round_to="none")
    assert s.index.tolist() == ["theta[Intercept]", "theta[x]", "theta[x2]"]
    sd = np.sqrt(np.diag(cov))
    N = n * chains
    # the mean within 4 standard errors, the sd within 4 of its standard errors
    np.testing.assert_array_less(np.abs(s["mean"].to_numpy() - mean), 4 * sd / np.sqrt(N))
    np.testing.assert_array_less(np.abs(s["sd"].to_numpy() - sd),
                                 4 * sd / np.sqrt(2 * (N - 1)))
    # the covariance, entry by entry, within 4 standard errors of the sample covariance
    draws = _theta(idata).values.reshape(-1, 3)
    emp = np.cov(draws, rowvar=False)
    se = np.sqrt((cov ** 2 + np.outer(np.diag(cov), np.diag(cov))) / (N - 1))
    np.testing.assert_array_less(np.abs(emp - cov), 4 * se)


def test_reproducible_given_rng():
    res, _, _ = _conjugate()
    a = _theta(res.to_arviz(n=100, rng=7)).values
    b = _theta(res.to_arviz(n=100, rng=np.random.default_rng(7))).values
    c = _theta(res.to_arviz(n=100, rng=8)).values
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # the same draws as sample() with size (chains, n)
    np.testing.assert_array_equal(a[0], res.sample(100, rng=7))


def test_grouped_batch_has_a_group_dimension_labelled():
    rng = np.random.default_rng(2)
    n = 120
    g = np.array(["u007", "u001", "u042"])[rng.integers(0, 3, n)]
    x = rng.standard_normal(n)
    X = pd.DataFrame({"a": np.ones(n), "b": x})
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.8 * x)))).astype(float)
    res = lf.glm_laplace(X, y, groups=g, family="logistic")
    th = _theta(res.to_arviz(n=2000, rng=3))
    assert th.dims == ("chain", "draw", "group", "term")
    assert th["group"].values.tolist() == ["u001", "u007", "u042"]
    assert th["term"].values.tolist() == ["a", "b"]
    # each group's draws are that group's Gaussian (4 standard errors)
    for label in res.labels:
        one = res.by_label(label)
        got = th.sel(group=label).values.reshape(-1, 2).mean(axis=0)
        np.testing.assert_array_less(np.abs(got - one.mode), 4 * one.std / np.sqrt(2000))


def test_ungrouped_batches_have_problem_dimensions():
    mu = np.arange(6.0).reshape(3, 2, 1) * np.ones(2)
    res = lf.laplace_batch(lambda t: -0.5 * np.sum((t - mu.reshape(-1, 2)) ** 2, axis=1),
                           np.zeros((6, 2)))
    th = _theta(res.to_arviz(n=20, rng=0))
    assert th.dims == ("chain", "draw", "problem", "term")
    assert th["problem"].values.tolist() == list(range(6))
    # a batch of two dimensions, through a 2-D GLM batch
    X = np.column_stack([np.ones(6), np.linspace(-1, 1, 6)])
    y = np.array([0, 1, 0, 1, 1, 1.0])
    res2 = lf.glm_laplace(np.broadcast_to(X, (2, 3, 6, 2)), np.broadcast_to(y, (2, 3, 6)),
                          family="logistic")
    th2 = _theta(res2.to_arviz(n=5, rng=0))
    assert th2.dims == ("chain", "draw", "problem_0", "problem_1", "term")
    assert th2.shape == (1, 5, 2, 3, 2)


def test_failed_problem_raises_as_sample_does():
    X = np.column_stack([np.ones(4), [0.0, 0.0, 0.0, 0.0]])
    with pytest.warns(lf.LaplaceWarning, match="SINGULAR"):
        res = lf.glm_laplace(X, [0, 1, 0, 1], family="logistic", prior_precision=0.0)
    assert res.status < 0
    with pytest.raises(lf.LaplaceError, match="sample"):
        res.to_arviz(n=10, rng=0)


@pytest.mark.parametrize("kw, exc", [({"n": 0}, ValueError), ({"n": 2.5}, TypeError),
                                     ({"chains": 0}, ValueError),
                                     ({"chains": True}, TypeError)])
def test_bad_counts_name_the_argument(kw, exc):
    r = lf.laplace(lambda t: -0.5 * np.sum(t ** 2), np.zeros(2))
    name = next(iter(kw))
    with pytest.raises(exc, match=f"^{name} must"):
        r.to_arviz(**kw)


def _quartic(t):
    return -0.5 * t[0] ** 2 - 0.1 * t[0] ** 4


def test_importance_draws_are_resampled_toward_the_posterior():
    imp = lf.laplace(_quartic, [0.5]).importance(_quartic, n=8000, rng=0)
    assert imp.reliable
    th = _theta(imp.to_arviz(n=4000, rng=1))
    assert th.dims == ("chain", "draw", "term") and th.shape == (1, 4000, 1)
    draws = th.values.ravel()
    assert np.isin(draws, imp.samples.ravel()).all()      # draws of the proposal
    # the target's moments by quadrature: the draws' variance is the posterior's
    # (smaller than the Gaussian's, 1), within Monte-Carlo error
    Z = integrate.quad(lambda t: np.exp(_quartic([t])), -np.inf, np.inf)[0]
    var = integrate.quad(lambda t: t * t * np.exp(_quartic([t])), -np.inf, np.inf)[0] / Z
    assert var < 0.8
    se = np.sqrt(2 * var ** 2 / draws.size)
    assert abs(np.var(draws) - var) < 6 * se
    # (resampling repeats draws: its error is about twice that of independent draws)
    assert abs(np.mean(draws)) < 8 * np.sqrt(var / draws.size)


def test_importance_batch_keeps_names_and_labels():
    X = pd.DataFrame({"a": np.ones(8), "b": np.linspace(-1.0, 1.0, 8)})
    res = lf.glm_laplace(X, [0, 0, 1, 0, 1, 1, 0, 1], groups=list("babababa"),
                         family="logistic")
    imp = res.importance(n=1000, rng=0)
    th = _theta(imp.to_arviz(n=300, rng=0, chains=2))
    assert th.dims == ("chain", "draw", "group", "term") and th.shape == (2, 300, 2, 2)
    assert th["group"].values.tolist() == ["a", "b"]
    assert th["term"].values.tolist() == ["a", "b"]
    for k, label in enumerate(res.labels):
        assert np.isin(th.sel(group=label).values[..., 0].ravel(),
                       imp.samples[k, :, 0]).all()
    a = _theta(imp.to_arviz(n=300, rng=5)).values
    np.testing.assert_array_equal(a, _theta(imp.to_arviz(n=300, rng=5)).values)


def test_importance_without_positive_density_raises():
    r = lf.laplace(lambda t: -0.5 * t[0] ** 2, [0.3])
    imp = r.importance(lambda t: -np.inf, n=100, rng=0)
    with pytest.raises(lf.LaplaceError, match="nothing to resample"):
        imp.to_arviz(n=10, rng=0)


def _two_bumps(t):
    """0.3 N(-3, 1) + 0.7 N(3, 0.5^2), separated so that each Laplace component is the
    bump itself (their overlap is below e^-18)."""
    return np.logaddexp(np.log(0.3) + stats.norm.logpdf(t[0], -3, 1),
                        np.log(0.7) + stats.norm.logpdf(t[0], 3, 0.5))


def test_mixture_draws_have_the_component_proportions():
    mix = lf.laplace_mixture(_two_bumps, [[-3.5], [2.5]])
    assert len(mix) == 2
    n = 20_000
    th = _theta(mix.to_arviz(n=n, rng=4))
    assert th.dims == ("chain", "draw", "term") and th.shape == (1, n, 1)
    right = float((th.values > 0).mean())
    assert abs(right - 0.7) < 4 * np.sqrt(0.21 / n)
    x = th.values.ravel()
    assert abs(x[x > 0].std() - 0.5) < 0.02 and abs(x[x < 0].mean() + 3) < 0.05


def _glmm_fit():
    rng = np.random.default_rng(3)
    g = np.repeat(np.array([f"s{k:02d}" for k in range(12)]), 8)
    x = rng.standard_normal(g.size)
    u = rng.normal(0, 0.7, 12)[np.repeat(np.arange(12), 8)]
    y = 1.0 + 0.5 * x + u + rng.normal(0, 0.3, g.size)
    return lf.glmm_laplace(np.column_stack([np.ones_like(x), x]), y, g,
                           Z=np.ones((g.size, 1)), family="gaussian")


def test_glmm_fixed_and_random_effects():
    fit = _glmm_fit()
    n = 4000
    post = fit.to_arviz(n=n, rng=0, chains=2).posterior
    assert post["beta"].dims == ("chain", "draw", "term")
    assert post["b"].dims == ("chain", "draw", "group", "re_term")
    assert post["b"].shape == (2, n, 12, 1)
    assert post["group"].values.tolist() == fit.labels.tolist()
    N = 2 * n
    beta = post["beta"].values.reshape(-1, 2)
    np.testing.assert_array_less(np.abs(beta.mean(axis=0) - fit.fixef),
                                 4 * fit.fixef_se / np.sqrt(N))
    re = fit.random_effects
    b = post["b"].values.reshape(N, 12)
    np.testing.assert_array_less(np.abs(b.mean(axis=0) - re.mode[:, 0]),
                                 4 * re.std[:, 0] / np.sqrt(N))
    np.testing.assert_allclose(b.std(axis=0), re.std[:, 0], rtol=0.1)


@pytest.mark.parametrize("make", ["gaussian", "mixture", "importance", "glmm"])
def test_missing_arviz_names_the_extra(monkeypatch, make):
    r = lf.laplace(_quartic, [0.5])
    obj = {"gaussian": lambda: r,
           "mixture": lambda: lf.laplace_mixture(_quartic, [[0.5]]),
           "importance": lambda: r.importance(_quartic, n=100, rng=0),
           "glmm": _glmm_fit}[make]()
    monkeypatch.setitem(sys.modules, "arviz", None)     # import arviz raises
    with pytest.raises(ImportError, match=r"pip install laplace_fast\[arviz\]"):
        obj.to_arviz(n=10, rng=0)


def test_arviz_1_gets_the_groups_as_one_mapping(monkeypatch):
    """ArviZ 1 takes from_dict({"posterior": ...}); before 1, posterior=...: the call
    follows the installed version."""
    calls = []
    fake = types.SimpleNamespace(
        __version__="1.3.0",
        from_dict=lambda *args, **kw: calls.append((args, kw)) or "tree")
    monkeypatch.setitem(sys.modules, "arviz", fake)
    r = lf.laplace(lambda t: -0.5 * np.sum(t ** 2), np.zeros(2))
    assert r.to_arviz(n=4, rng=0) == "tree"
    (args, kw), = calls
    assert list(args[0]) == ["posterior"] and args[0]["posterior"]["theta"].shape == (1, 4, 2)
    assert kw["dims"] == {"theta": ["term"]} and kw["coords"]["term"].tolist() == ["x0", "x1"]
