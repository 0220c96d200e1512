"""lf.plot on the Agg backend: the drawn data against densities, masses and intervals
computed independently (scipy's distributions, quadrature), not just that it ran."""

import math
import sys

import numpy as np
import pytest
from scipy import integrate, stats

import laplace_fast as lf

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection  # noqa: E402
from matplotlib.contour import ContourSet  # noqa: E402

Z95 = stats.norm.ppf(0.975)


@pytest.fixture(autouse=True)
def _close_figures(monkeypatch):
    def no_show(*args, **kwargs):
        raise AssertionError("lf.plot must not call plt.show()")
    monkeypatch.setattr(plt, "show", no_show)
    yield
    plt.close("all")


def unimodal(t):
    u = t[0] - 0.8
    return -0.5 * u ** 2 - 0.05 * u ** 4


def seed(t):
    return -t[0] ** 4 + 2 * t[0] ** 2


def quad_normaliser(f, lo=-12.0, hi=12.0):
    return integrate.quad(lambda v: math.exp(f(np.array([v]))), lo, hi, epsabs=1e-13,
                          limit=200)[0]


def _contours(ax):
    return [c for c in ax.collections if isinstance(c, ContourSet)]


def test_1d_true_posterior_and_gaussian_lines():
    r = lf.laplace(unimodal, 0.0)
    ax = lf.plot(r, unimodal)
    true, gauss, mode = ax.get_lines()
    t = true.get_xdata()
    assert len(t) == 401
    assert t[0] == pytest.approx(0.8 - 4.0, abs=1e-6) and t[-1] == pytest.approx(4.8, abs=1e-6)
    z = quad_normaliser(unimodal)
    ref = np.exp([unimodal(np.array([v])) for v in t]) / z
    np.testing.assert_allclose(true.get_ydata(), ref, rtol=2e-4)
    np.testing.assert_array_equal(gauss.get_xdata(), t)
    np.testing.assert_allclose(gauss.get_ydata(), stats.norm.pdf(t, r.mode[0], r.std[0]),
                               rtol=1e-12)
    np.testing.assert_allclose(gauss.get_ydata(), stats.norm.pdf(t, 0.8, 1.0), rtol=1e-5)
    np.testing.assert_allclose(mode.get_xdata(), [r.mode[0]] * 2)


def test_1d_mixture_lines_against_the_hand_built_mixture():
    mix = lf.laplace_mixture(seed, [[-1.5], [1.5]])
    ax = lf.plot(mix)                       # the mixture's own log_post by default
    true, dens, m1, m2 = ax.get_lines()
    t = true.get_xdata()
    one = lf.laplace(seed, 1.0)
    sd = math.sqrt(one.cov[0, 0])
    ref = 0.5 * stats.norm.pdf(t, -1.0, sd) + 0.5 * stats.norm.pdf(t, 1.0, sd)
    np.testing.assert_allclose(dens.get_ydata(), ref, rtol=1e-6)
    z = quad_normaliser(seed, -4, 4)
    np.testing.assert_allclose(true.get_ydata(),
                               np.exp([seed(np.array([v])) for v in t]) / z, rtol=2e-4)
    np.testing.assert_allclose([m1.get_xdata()[0], m2.get_xdata()[0]], [-1, 1], atol=1e-8)
    assert "2 components" in dens.get_label()


def test_1d_without_log_post_and_vectorized_log_post_and_bounds():
    r = lf.laplace(unimodal, 0.0)
    ax = lf.plot(r)
    assert len(ax.get_lines()) == 2          # the Gaussian and the mode
    fig, ax2 = plt.subplots()
    out = lf.plot(r, lambda t: -0.5 * (t[:, 0] - 0.8) ** 2 - 0.05 * (t[:, 0] - 0.8) ** 4,
                  vectorized=True, ax=ax2, bounds=(-1.0, 2.0), n=101)
    assert out is ax2
    t = ax2.get_lines()[0].get_xdata()
    np.testing.assert_allclose(t, np.linspace(-1.0, 2.0, 101))
    # normalised on the grid (which holds only part of the mass): integrates to one
    assert np.trapezoid(ax2.get_lines()[0].get_ydata(), t) == pytest.approx(1.0, rel=1e-12)


def _mass_above(density_fn, level, lim=8.0, n=801):
    """The mass of {q > level} for a 2-D density, by a fine Riemann sum."""
    g = np.linspace(-lim, lim, n)
    X, Y = np.meshgrid(g, g)
    q = density_fn(np.column_stack([X.ravel(), Y.ravel()]))
    return np.sum(q[q > level]) * (g[1] - g[0]) ** 2


def test_2d_gaussian_contour_levels_hold_their_masses():
    prec = np.array([[2.0, 0.6], [0.6, 1.0]])
    mu = np.array([0.5, -0.3])

    def gauss(t):
        r = t - mu
        return -0.5 * r @ prec @ r
    r = lf.laplace(gauss, [0.0, 0.0])
    ax = lf.plot(r, gauss)
    true_cs, approx_cs = _contours(ax)
    cov = np.linalg.inv(prec)
    peak = 1 / (2 * math.pi * math.sqrt(np.linalg.det(cov)))
    np.testing.assert_allclose(approx_cs.levels, peak * np.array([0.01, 0.1, 0.5]),
                               rtol=1e-7)
    mvn = stats.multivariate_normal(mu, cov)
    for level, mass in zip(approx_cs.levels, (0.99, 0.9, 0.5)):
        assert _mass_above(mvn.pdf, level) == pytest.approx(mass, abs=1e-3)
    # the true posterior is this Gaussian: its grid levels are the same to grid error
    np.testing.assert_allclose(true_cs.levels, approx_cs.levels, rtol=0.03)
    modes = ax.get_lines()[0]
    np.testing.assert_allclose(np.column_stack([modes.get_xdata(), modes.get_ydata()])[0],
                               mu, atol=1e-8)


def test_2d_mixture_contour_levels_hold_their_masses():
    def f(t):
        return -t[0] ** 4 + 2 * t[0] ** 2 - t[1] ** 2
    mix = lf.laplace_mixture(f, [[-1.0, 0.0], [1.0, 0.0]])
    ax = lf.plot(mix, n=151)
    true_cs, mix_cs = _contours(ax)
    one = lf.laplace(f, [1.0, 0.0])

    def hand(x):
        return 0.5 * (stats.multivariate_normal.pdf(x, [1.0, 0.0], one.cov)
                      + stats.multivariate_normal.pdf(x, [-1.0, 0.0], one.cov))
    for level, mass in zip(mix_cs.levels, (0.99, 0.9, 0.5)):
        assert _mass_above(hand, level, lim=4.0, n=801) == pytest.approx(mass, abs=0.01)
    z = quad_normaliser(seed, -4, 4) * math.sqrt(math.pi)      # exp(-y^2) integrates to sqrt(pi)

    def true(x):
        return np.exp(-x[:, 0] ** 4 + 2 * x[:, 0] ** 2 - x[:, 1] ** 2) / z
    for level, mass in zip(true_cs.levels, (0.99, 0.9, 0.5)):
        assert _mass_above(true, level, lim=4.0, n=801) == pytest.approx(mass, abs=0.01)


def _segments(ax):
    lc = [c for c in ax.collections if isinstance(c, LineCollection)
          and not isinstance(c, ContourSet)][0]
    seg = np.array(lc.get_segments())
    return seg[:, 0, 0], seg[:, 1, 0], seg[:, 0, 1]       # lo, hi, y


def test_batch_forest_plot_positions_are_the_intervals_sorted():
    mu = np.array([[2.0, 0.0], [-1.0, 1.0], [0.5, 2.0], [3.0, -1.0]])
    scale = np.array([1.0, 2.0, 0.5, 1.5])

    def lp(t):
        return -0.5 * np.sum((t - mu) ** 2, axis=1) / scale ** 2
    res = lf.laplace_batch(lp, np.zeros((4, 2)))
    ax = lf.plot(res, level=0.9)
    lo, hi, y = _segments(ax)
    order = np.argsort(mu[:, 0])
    z = stats.norm.ppf(0.95)
    np.testing.assert_allclose(lo, mu[order, 0] - z * scale[order], rtol=1e-6)
    np.testing.assert_allclose(hi, mu[order, 0] + z * scale[order], rtol=1e-6)
    np.testing.assert_array_equal(y, np.arange(4))
    assert [t.get_text() for t in ax.get_yticklabels()] == [str(i) for i in order]
    np.testing.assert_allclose(ax.get_lines()[0].get_xdata(), mu[order, 0], atol=1e-8)
    assert "90%" in ax.get_title()
    # a selection, in index order, of parameter 1
    fig, ax = plt.subplots()
    lf.plot(res, ax=ax, select=[3, 0], sort=False, param=1)
    lo, hi, _ = _segments(ax)
    np.testing.assert_allclose(lo, mu[[3, 0], 1] - Z95 * scale[[3, 0]], rtol=1e-6)
    np.testing.assert_allclose(hi, mu[[3, 0], 1] + Z95 * scale[[3, 0]], rtol=1e-6)
    assert ax.get_xlabel() == "theta[1]"


def test_batch_forest_leaves_out_failed_problems_and_says_so():
    def lp(t):       # problem 1 is flat in theta[1]: status -6, no Gaussian
        flat = np.array([1.0, 0.0, 1.0])
        return -0.5 * t[:, 0] ** 2 - 0.5 * flat * t[:, 1] ** 2
    with pytest.warns(lf.LaplaceWarning):
        res = lf.laplace_batch(lp, np.ones((3, 2)))
    ax = lf.plot(res)
    lo, hi, _ = _segments(ax)
    assert len(lo) == 2 and "1 failed problems not shown" in ax.get_title()
    assert sorted(t.get_text() for t in ax.get_yticklabels()) == ["0", "2"]


def test_glm_batch_forest_by_parameter_name_with_labels():
    rng = np.random.default_rng(0)
    X = np.column_stack([np.ones(120), rng.standard_normal(120)])
    groups = np.repeat(["a", "b", "c"], 40)
    y = (rng.random(120) < 0.5).astype(float)
    pd = pytest.importorskip("pandas")
    res = lf.glm_laplace(pd.DataFrame(X, columns=["intercept", "slope"]), y,
                         family="logistic", groups=groups)
    ax = lf.plot(res, param="slope")
    lo, hi, _ = _segments(ax)
    order = np.argsort(res.mode[:, 1])
    np.testing.assert_allclose(lo, res.mode[order, 1] - Z95 * res.std[order, 1], rtol=1e-12)
    assert [t.get_text() for t in ax.get_yticklabels()] == [str(v) for v in
                                                             res.labels[order]]
    assert ax.get_xlabel() == "slope"
    with pytest.raises(ValueError, match="param 'age' is not a parameter name"):
        lf.plot(res, param="age")


def test_single_result_with_three_parameters_is_a_forest_of_its_coordinates():
    rng = np.random.default_rng(1)
    X = np.column_stack([np.ones(80), rng.standard_normal((80, 2))])
    y = (rng.random(80) < 0.4).astype(float)
    pd = pytest.importorskip("pandas")
    r = lf.glm_laplace(pd.DataFrame(X, columns=["b0", "b1", "b2"]), y, family="logistic")
    ax = lf.plot(r)
    lo, hi, y_pos = _segments(ax)
    ref_lo = r.mode - Z95 * np.sqrt(np.diag(r.cov))
    np.testing.assert_allclose(lo, ref_lo[::-1], rtol=1e-12)     # b0 on top
    assert [t.get_text() for t in ax.get_yticklabels()] == ["b2", "b1", "b0"]


def test_mixture_with_three_parameters_forest_of_its_marginal_intervals():
    def f(t):
        return -t[0] ** 4 + 2 * t[0] ** 2 - t[1] ** 2 - 0.5 * (t[2] - 1) ** 2
    mix = lf.laplace_mixture(f, [[-1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    ax = lf.plot(mix)
    lo, hi, _ = _segments(ax)
    # coordinate 2 (bottom row) is N(1, 1) in both components
    assert lo[0] == pytest.approx(1 - Z95, abs=1e-7) and hi[0] == pytest.approx(1 + Z95, abs=1e-7)


def test_errors_name_the_argument(monkeypatch):
    r = lf.laplace(unimodal, 0.0)
    with pytest.raises(TypeError, match="result must be a result of laplace_fast"):
        lf.plot(np.zeros(3))
    with pytest.raises(TypeError, match="log_post must be callable"):
        lf.plot(r, 3.0)
    with pytest.raises(ValueError, match="log_post is nan at theta"):
        lf.plot(r, lambda t: np.nan)
    with pytest.raises(ValueError, match="-inf at every point"):
        lf.plot(r, lambda t: -np.inf)
    with pytest.raises(ValueError, match="bounds must be"):
        lf.plot(r, bounds=(2.0, 1.0))
    with pytest.raises(ValueError, match="n must be an integer"):
        lf.plot(r, n=2)
    with pytest.raises(ValueError, match="width must be"):
        lf.plot(r, width=0)
    with pytest.raises(ValueError, match="level must be"):
        lf.plot(r, level=2)
    res = lf.laplace_batch(lambda t: -np.sum(t ** 2, axis=1), np.ones((3, 1)))
    with pytest.raises(ValueError, match="select must index the 3 problems"):
        lf.plot(res, select=[7])
    with pytest.raises(ValueError, match="param must be a parameter index"):
        lf.plot(res, param=4)


def test_missing_matplotlib_names_the_extra(monkeypatch):
    r = lf.laplace(unimodal, 0.0)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install laplace_fast\[plot\]"):
        lf.plot(r)


def test_import_loads_no_matplotlib(tmp_path):
    import subprocess
    code = "import laplace_fast, sys; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout
    assert out.strip() == "False"
