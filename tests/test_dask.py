"""laplace_fast.dask.glm_laplace on a two-process LocalCluster: the rows shuffled across
four partitions give the in-memory fit's numbers bit for bit, lazily; a Dask collection
handed to the in-memory API is refused, not computed; dask stays an optional extra."""

import sys

import numpy as np
import pytest

import laplace_fast as lf

pd = pytest.importorskip("pandas")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")
pytest.importorskip("formulaic")

import laplace_fast.dask as lfd    # noqa: E402


def _frame(n=3000, groups=40, seed=0):
    rng = np.random.default_rng(seed)
    g = np.array([f"u{k:03d}" for k in range(groups)])[rng.integers(0, groups, n)]
    x1, x2 = rng.standard_normal(n), rng.standard_normal(n)
    eta = 0.2 + 0.7 * x1 - 0.4 * x2
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame({"user": g, "x1": x1, "x2": x2, "y": y})


def _sorted(frame):
    return frame.sort_values(["group", "term"], kind="stable").reset_index(drop=True)


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


def test_cluster_fit_equals_in_memory(client):
    df = _frame()
    # the rows in a random order, across four partitions: every group split up
    shuffled = df.sample(frac=1.0, random_state=3).reset_index(drop=True)
    ddf = dd.from_pandas(shuffled, npartitions=4)
    assert ddf.npartitions == 4
    fits = lfd.glm_laplace(ddf, "y ~ x1 + x2", groups="user", family="logistic",
                           prior_precision=0.5)
    assert isinstance(fits, dd.DataFrame)
    got = fits.compute()
    ref = lf.glm_laplace("y ~ x1 + x2", data=shuffled, groups="user", family="logistic",
                         prior_precision=0.5).to_dataframe()
    assert got.columns.tolist() == ref.columns.tolist()
    got, ref = _sorted(got), _sorted(ref)
    assert got["group"].tolist() == ref["group"].tolist()
    assert got["term"].tolist() == ref["term"].tolist()
    for col in ("mean", "sd", "lower", "upper", "status", "log_evidence"):
        np.testing.assert_array_equal(got[col].to_numpy(), ref[col].to_numpy())
    # each group is in one partition, fitted there
    per_part = fits.map_partitions(lambda p: p[["group"]].drop_duplicates()).compute()
    assert per_part["group"].is_unique and len(per_part) == 40


def test_lazy_with_meta(client):
    df = _frame(n=400, groups=5)
    ddf = dd.from_pandas(df, npartitions=4)
    fits = lfd.glm_laplace(ddf, "y ~ x1", groups="user", family="logistic")
    # nothing computed: the columns and dtypes come from meta
    assert fits.columns.tolist() == ["group", "term", "mean", "sd", "lower", "upper",
                                     "status", "log_evidence"]
    assert fits.dtypes["status"] == np.int64 and fits.dtypes["mean"] == np.float64
    out = fits.compute()
    assert out.dtypes.to_dict() == fits.dtypes.to_dict()
    assert len(out) == 10


def test_bad_arguments_name_them():
    ddf = dd.from_pandas(_frame(n=100, groups=3), npartitions=2)
    with pytest.raises(ValueError, match="groups='usr' is not a column of ddf"):
        lfd.glm_laplace(ddf, "y ~ x1", groups="usr")
    with pytest.raises(TypeError, match="ddf must be a dask DataFrame"):
        lfd.glm_laplace(_frame(n=100), "y ~ x1", groups="user")
    with pytest.raises(TypeError, match="formula must be a string"):
        lfd.glm_laplace(ddf, None, groups="user")


def test_in_memory_api_refuses_dask_collections():
    df = _frame(n=100, groups=3)
    ddf = dd.from_pandas(df, npartitions=2)
    X = df[["x1", "x2"]]
    cases = [(lambda: lf.glm_laplace(ddf[["x1", "x2"]], df["y"]), "X"),
             (lambda: lf.glm_laplace(X, ddf["y"]), "y"),
             (lambda: lf.glm_laplace(X, df["y"], groups=ddf["user"]), "groups"),
             (lambda: lf.glm_laplace("y ~ x1", data=ddf), "data"),
             (lambda: lf.glm_laplace("y ~ x1", ddf), "data"),
             (lambda: lf.glmm_laplace("y ~ x1 + (1 | user)", data=ddf), "data"),
             (lambda: lf.laplace(lambda t: -t @ t, ddf[["x1"]].to_dask_array()), "x0")]
    for call, name in cases:
        with pytest.raises(TypeError, match=rf"^{name} is a Dask collection.*"
                                            r"laplace_fast\.dask\.glm_laplace"):
            call()


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "dask.dataframe", None)
    with pytest.raises(ImportError, match=r"pip install laplace_fast\[dask\]"):
        lfd.glm_laplace(object(), "y ~ x", groups="g")
