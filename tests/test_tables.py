"""Results as pandas tables (summary, to_dataframe) and grouped results by label: the
numbers against numpy and scipy's normal quantile, the index layout, names, failed
problems, and pandas staying an optional, lazily imported extra."""

import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

import laplace_fast as lf

pd = pytest.importorskip("pandas")

Z = stats.norm.ppf(0.975)


def _reference(mode, cov):
    """mean, sd, lower, upper from the mode and covariance, by numpy and scipy."""
    sd = np.sqrt(np.diagonal(cov, axis1=-2, axis2=-1))
    return mode, sd, mode - Z * sd, mode + Z * sd


def _grouped_logistic(labels=("u007", "u001", "u042")):
    rng = np.random.default_rng(11)
    n = 90
    g = np.array(labels)[rng.integers(0, len(labels), n)]
    x = rng.standard_normal(n)
    X = pd.DataFrame({"a": np.ones(n), "b": x})
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.8 * x)))).astype(float)
    return X, y, g


def test_single_summary_is_the_gaussian_closed_form():
    mu = np.array([1.0, -2.0, 0.5])
    S = np.array([[4.0, 1.0, 0.0], [1.0, 2.0, 0.3], [0.0, 0.3, 0.5]])
    P = np.linalg.inv(S)
    r = lf.laplace(lambda t: -0.5 * (t - mu) @ P @ (t - mu), np.zeros(3))
    s = r.summary()
    assert s.index.name == "term" and s.index.tolist() == ["x0", "x1", "x2"]
    assert s.columns.tolist() == ["mean", "sd", "lower", "upper"]
    # the exact posterior (finite-difference Hessian: close, not bit-equal)
    for col, ref in zip(s.columns, _reference(mu, S)):
        np.testing.assert_allclose(s[col].to_numpy(), ref, rtol=1e-6, atol=1e-8)
    # the result's own covariance, through numpy
    for col, ref in zip(s.columns, _reference(r.mode, r.cov)):
        np.testing.assert_allclose(s[col].to_numpy(), ref, rtol=1e-14)


def test_single_to_dataframe():
    r = lf.laplace(lambda t: -0.5 * ((t[0] - 1) ** 2 / 4 + t[1] ** 2), [0.0, 0.0])
    df = r.to_dataframe()
    assert df.columns.tolist() == ["term", "mean", "sd", "lower", "upper", "status",
                                   "log_evidence"]
    assert df["term"].tolist() == ["x0", "x1"]
    assert df["status"].dtype.kind == "i" and df["status"].tolist() == [0, 0]
    # the evidence of an unnormalised Gaussian: log(2 pi sqrt(det S)) with det S = 4
    np.testing.assert_allclose(df["log_evidence"], np.log(2 * np.pi * 2.0), rtol=1e-8)
    np.testing.assert_allclose(df["upper"], [1 + 2 * Z, Z], rtol=1e-7)


def test_batch_summary_one_row_per_problem_and_term():
    mu = np.array([[0.0, 1.0], [2.0, -1.0], [5.0, 5.0]])
    w = np.array([[1.0, 4.0], [0.25, 1.0], [9.0, 2.0]])      # the precisions
    res = lf.laplace_batch(lambda t: -0.5 * np.sum(w * (t - mu) ** 2, axis=1),
                           np.zeros((3, 2)))
    s = res.summary()
    assert isinstance(s.index, pd.MultiIndex) and s.index.names == ["group", "term"]
    assert s.index.tolist() == [(0, "x0"), (0, "x1"), (1, "x0"), (1, "x1"),
                                (2, "x0"), (2, "x1")]
    ref = _reference(mu, np.apply_along_axis(np.diag, 1, 1 / w))
    for col, v in zip(s.columns, ref):
        np.testing.assert_allclose(s[col].to_numpy(), v.reshape(-1), rtol=1e-6, atol=1e-8)
    assert s.loc[(2, "x1"), "sd"] == pytest.approx(1 / np.sqrt(2.0), rel=1e-6)
    df = res.to_dataframe()
    assert df["group"].tolist() == [0, 0, 1, 1, 2, 2]
    np.testing.assert_array_equal(df[["mean", "sd", "lower", "upper"]].to_numpy(),
                                  s.to_numpy())
    np.testing.assert_array_equal(df["log_evidence"], np.repeat(res.log_evidence, 2))


def test_multidimensional_batch_groups_are_index_tuples():
    rng = np.random.default_rng(5)
    X = np.concatenate([np.ones((2, 3, 20, 1)), rng.standard_normal((2, 3, 20, 1))], -1)
    y = X @ [0.5, -1.0] + rng.standard_normal((2, 3, 20))
    res = lf.glm_laplace(X, y, family="gaussian", scale=1.0)
    s = res.summary()
    assert s.index.get_level_values("group").tolist() == [
        (0, 0), (0, 0), (0, 1), (0, 1), (0, 2), (0, 2),
        (1, 0), (1, 0), (1, 1), (1, 1), (1, 2), (1, 2)]
    np.testing.assert_array_equal(s.loc[((1, 2), "x1"), "mean"], res.mode[1, 2, 1])
    for col, ref in zip(s.columns, _reference(res.mode[0, 1], res.cov[0, 1])):
        np.testing.assert_allclose(s.loc[(0, 1), col].to_numpy(), ref, rtol=1e-14)
    assert res.to_dataframe()["group"].tolist()[8] == (1, 1)


def test_grouped_glm_rows_carry_labels_and_param_names():
    X, y, g = _grouped_logistic()
    res = lf.glm_laplace(X[["a", "b"]], y, groups=g, family="logistic")
    assert res.param_names == ("a", "b")
    s = res.summary()
    assert s.index.tolist() == [(lab, t) for lab in ("u001", "u007", "u042")
                                for t in ("a", "b")]
    for i, lab in enumerate(res.labels.tolist()):
        mean, sd, lo, hi = _reference(res.mode[i], res.cov[i])
        np.testing.assert_allclose(s.loc[lab].to_numpy(),
                                   np.column_stack([mean, sd, lo, hi]), rtol=1e-14)
    df = res.to_dataframe()
    assert df["group"].tolist()[:2] == ["u001", "u001"]
    assert df["term"].tolist() == ["a", "b"] * 3
    # one group fitted alone gives the same rows, indexed by its terms
    one = res.by_label("u007").summary()
    assert one.index.tolist() == ["a", "b"]
    np.testing.assert_array_equal(one.to_numpy(), s.loc["u007"].to_numpy())


def test_single_glm_from_a_dataframe_names_its_terms():
    X, y, _ = _grouped_logistic()
    r = lf.glm_laplace(X[["a", "b"]], y)
    s = r.summary()
    assert s.index.tolist() == ["a", "b"]
    for col, ref in zip(s.columns, _reference(r.mode, r.cov)):
        np.testing.assert_allclose(s[col].to_numpy(), ref, rtol=1e-14)
    assert lf.glm_laplace(X.to_numpy(), y).summary().index.tolist() == ["x0", "x1"]


def test_failed_problems_get_nan_spread_not_an_error():
    """A zero column under a flat prior has no Gaussian (status SINGULAR): its rows
    keep the mean and status, NaN elsewhere; the healthy problem's rows are its own."""
    good = np.column_stack([np.ones(6), np.linspace(-1.0, 1.0, 6)])
    bad = np.column_stack([np.ones(6), np.zeros(6)])
    y = [0, 1, 1, 0, 1, 0]
    with pytest.warns(lf.LaplaceWarning):
        res = lf.glm_laplace(np.stack([good, bad]), [y, y], prior_precision=[1.0, 0.0])
    assert res.status.tolist()[1] < 0 and res.status.tolist()[0] >= 0
    with pytest.raises(lf.LaplaceError):
        res.interval(0.95)
    s = res.summary()
    assert np.isnan(s.loc[1, ["sd", "lower", "upper"]].to_numpy()).all()
    np.testing.assert_array_equal(s.loc[1, "mean"].to_numpy(), res.mode[1])
    for col, ref in zip(s.columns, _reference(res.mode[0], res.cov[0])):
        np.testing.assert_allclose(s.loc[0, col].to_numpy(), ref, rtol=1e-14)
    df = res.to_dataframe()
    assert df["status"].tolist() == [int(res.status[0])] * 2 + [int(lf.Status.SINGULAR)] * 2
    with pytest.warns(lf.LaplaceWarning):
        one = lf.glm_laplace(bad, y, prior_precision=[1.0, 0.0])
    assert np.isnan(one.summary()[["sd", "lower", "upper"]].to_numpy()).all()


def test_by_label():
    X, y, g = _grouped_logistic()
    res = lf.glm_laplace(X.to_numpy(), y, groups=g, family="logistic")
    one = res.by_label("u042")
    assert type(one) is lf.GLMLaplaceResult
    np.testing.assert_array_equal(one.mode, res.mode[2])
    assert one.problem_index == 2
    with pytest.raises(KeyError, match="'u999'"):
        res.by_label("u999")
    ints = lf.glm_laplace(X.to_numpy(), y, groups=np.where(g == "u001", 10, 20))
    np.testing.assert_array_equal(ints.by_label(20).mode, ints.mode[1])
    with pytest.raises(KeyError, match="'20'"):
        ints.by_label("20")
    ungrouped = lf.glm_laplace(np.stack([X.to_numpy()] * 2), [y, y])
    with pytest.raises(TypeError, match="groups="):
        ungrouped.by_label(0)


def test_missing_pandas_names_the_extra(monkeypatch):
    r = lf.laplace(lambda t: -0.5 * t[0] ** 2, 1.0)
    monkeypatch.setitem(sys.modules, "pandas", None)    # makes `import pandas` fail
    for method in (r.summary, r.to_dataframe):
        with pytest.raises(ImportError, match=r"pip install laplace_fast\[data\]"):
            method()


def test_import_does_not_load_pandas(tmp_path):
    code = ("import sys, laplace_fast as lf\n"
            "r = lf.laplace(lambda t: -0.5 * t[0] ** 2, 1.0)\n"
            "print('pandas' in sys.modules)\n"
            "r.summary()\n"
            "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout
    assert out.split() == ["False", "True"]


def test_to_dataframe_round_trips_through_csv(tmp_path):
    X, y, g = _grouped_logistic()
    df = lf.glm_laplace(X[["a", "b"]], y, groups=g).to_dataframe()
    df.to_csv(tmp_path / "fit.csv", index=False)
    back = pd.read_csv(tmp_path / "fit.csv")
    pd.testing.assert_frame_equal(back, df, check_exact=False, rtol=1e-15)


def test_a_failed_problem_with_a_finite_cov_still_gets_nan_spread():
    """MAXITER stops at a point that is not the mode, where the Hessian may still be
    negative definite (interval() would answer): a status < 0 alone blanks the rows."""
    shift = np.array([0.0, 3.0])
    with pytest.warns(lf.LaplaceWarning):
        res = lf.laplace_batch(lambda t: -np.cosh(t[:, 0] - shift) - 0.5 * t[:, 1] ** 2,
                               np.zeros((2, 2)), maxiter=1)
    assert res.status.tolist() == [0, int(lf.Status.MAXITER)]
    assert np.isfinite(res.cov[1]).all()
    s = res.summary()
    assert np.isnan(s.loc[1, ["sd", "lower", "upper"]].to_numpy()).all()
    # the healthy problem: cosh's curvature at its minimum is 1, so sd 1 for both
    np.testing.assert_allclose(s.loc[0, "sd"].to_numpy(), [1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(s.loc[0, "upper"].to_numpy(), [Z, Z], rtol=1e-6, atol=1e-7)


def test_an_empty_selection_gives_empty_tables_with_the_columns():
    X, y, g = _grouped_logistic()
    res = lf.glm_laplace(X[["a", "b"]], y, groups=g)
    none = res[res.status < -100]
    assert none.batch_shape == (0,)
    assert none.summary().columns.tolist() == ["mean", "sd", "lower", "upper"]
    assert len(none.summary()) == 0
    assert none.to_dataframe().columns.tolist() == ["group", "term", "mean", "sd", "lower",
                                                    "upper", "status", "log_evidence"]
