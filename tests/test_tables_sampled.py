"""summary() and to_dataframe() of the mixture and importance results: the numbers
against the closed form and quadrature of the target, the weighted quantiles against
numpy's, the layout and names of the frames."""

import numpy as np
import pytest
from scipy import integrate, optimize, stats

import laplace_fast as lf
from laplace_fast._weights import weighted_quantiles

pd = pytest.importorskip("pandas")

W, MU, SD = np.array([0.3, 0.7]), np.array([-3.0, 3.0]), np.array([1.0, 0.5])


def _two_bumps(t):
    """0.3 N(-3, 1) + 0.7 N(3, 0.5^2), normalised (evidence 1); each bump is one
    Laplace component to below e^-18."""
    return np.logaddexp(np.log(W[0]) + stats.norm.logpdf(t[0], MU[0], SD[0]),
                        np.log(W[1]) + stats.norm.logpdf(t[0], MU[1], SD[1]))


def _mixture_quantile(p):
    cdf = lambda t: W @ stats.norm.cdf(t, MU, SD) - p    # noqa: E731
    return optimize.brentq(cdf, -20, 20, xtol=1e-13)


def test_mixture_summary_is_the_target_mixture():
    mix = lf.laplace_mixture(_two_bumps, [[-3.5], [2.5]])
    s = mix.summary()
    assert s.index.name == "term" and s.index.tolist() == ["x0"]
    assert s.columns.tolist() == ["mean", "sd", "lower", "upper"]
    mean = W @ MU
    sd = np.sqrt(W @ (SD ** 2 + MU ** 2) - mean ** 2)
    row = s.loc["x0"]
    np.testing.assert_allclose([row["mean"], row["sd"]], [mean, sd], rtol=1e-6)
    np.testing.assert_allclose([row["lower"], row["upper"]],
                               [_mixture_quantile(0.025), _mixture_quantile(0.975)],
                               rtol=1e-6)
    df = mix.to_dataframe()
    assert df.columns.tolist() == ["term", "mean", "sd", "lower", "upper", "status",
                                   "log_evidence"]
    assert df["status"].tolist() == [0]
    np.testing.assert_allclose(df["log_evidence"], 0.0, atol=1e-6)   # normalised target


def test_mixture_without_components_has_nan_rows():
    with pytest.warns(lf.LaplaceWarning, match="none gave a mode"):
        mix = lf.laplace_mixture(lambda t: t[0] ** 2 + t[1] ** 2, [[0.5, 0.1], [1.0, 0.2]])
    df = mix.to_dataframe()
    assert df["term"].tolist() == ["x0", "x1"]
    assert df[["mean", "sd", "lower", "upper", "log_evidence"]].isna().all().all()
    assert (df["status"] == int(mix.status)).all() and int(mix.status) < 0


def _quartic(t):
    return -0.5 * t[0] ** 2 - 0.1 * t[0] ** 4


def test_importance_summary_against_quadrature():
    imp = lf.laplace(_quartic, [0.5]).importance(_quartic, n=20_000, rng=0)
    s = imp.summary()
    assert s.index.tolist() == ["x0"]
    dens = lambda t: np.exp(_quartic([t]))      # noqa: E731
    Z = integrate.quad(dens, -np.inf, np.inf)[0]
    var = integrate.quad(lambda t: t * t * dens(t), -np.inf, np.inf)[0] / Z
    q975 = optimize.brentq(lambda u: integrate.quad(dens, -np.inf, u)[0] / Z - 0.975,
                           0.0, 5.0)
    row = s.loc["x0"]
    assert abs(row["mean"]) < 0.05
    assert abs(row["sd"] - np.sqrt(var)) < 0.02
    # the Gaussian's 97.5 % point is 1.96; the target's, lighter-tailed, is below it
    assert q975 < 1.8
    assert abs(row["upper"] - q975) < 0.05 and abs(row["lower"] + q975) < 0.05


def test_importance_batch_frame():
    X = pd.DataFrame({"a": np.ones(8), "b": np.linspace(-1.0, 1.0, 8)})
    res = lf.glm_laplace(X, [0, 0, 1, 0, 1, 1, 0, 1], groups=list("babababa"),
                         family="logistic")
    imp = res.importance(n=1000, rng=0)
    df = imp.to_dataframe()
    assert df.columns.tolist() == ["group", "term", "mean", "sd", "lower", "upper",
                                   "khat", "reliable", "ess", "log_evidence"]
    assert df["group"].tolist() == ["a", "a", "b", "b"]
    assert df["term"].tolist() == ["a", "b", "a", "b"]
    np.testing.assert_array_equal(df["khat"], np.repeat(imp.khat, 2))
    np.testing.assert_array_equal(df["mean"], imp.mean.reshape(-1))
    np.testing.assert_allclose(df["sd"] ** 2,
                               np.diagonal(imp.cov, axis1=1, axis2=2).reshape(-1),
                               rtol=1e-13)
    s = imp.summary()
    assert list(s.index.names) == ["group", "term"] and len(s) == 4
    assert (s["lower"] < s["mean"]).all() and (s["mean"] < s["upper"]).all()


def test_weighted_quantiles_are_numpys_inverted_cdf_for_equal_weights():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 101))
    w = np.full(x.shape, 1 / 101)
    probs = (0.025, 0.5, 0.975)
    got = weighted_quantiles(x, w, probs)
    ref = np.quantile(x, probs, axis=-1, method="inverted_cdf").T
    np.testing.assert_array_equal(got, ref)
    # a weight of one on a single draw: every quantile is that draw
    w1 = np.zeros(x.shape)
    w1[:, 17] = 1.0
    np.testing.assert_array_equal(weighted_quantiles(x, w1, probs),
                                  np.repeat(x[:, 17:18], 3, axis=1))
