"""Formulas (formulaic): the numbers of a formula are those of the arrays built by hand,
bit for bit; the names come from the formula; bad formulas, columns and data are a
ValueError naming them; without formulaic an ImportError naming the extra."""

import sys

import numpy as np
import pytest

import laplace_fast as lf

pd = pytest.importorskip("pandas")
pytest.importorskip("formulaic")


def _frame(seed=0, n=240, groups=12):
    rng = np.random.default_rng(seed)
    x1, x2 = rng.standard_normal(n), rng.standard_normal(n)
    c = rng.choice(["lo", "mid", "hi"], n)
    user = rng.choice([f"u{k:03d}" for k in range(groups)], n)
    eta = 0.3 + 0.8 * x1 - 0.5 * x2 + 0.4 * (c == "hi")
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    t = rng.integers(1, 8, n)
    succ = rng.binomial(t, 1 / (1 + np.exp(-eta)))
    expo = rng.uniform(0.5, 2.0, n)
    count = rng.poisson(expo * np.exp(0.2 + 0.3 * x1))
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2, "c": c, "user": user,
                         "succ": succ, "fail": t - succ, "count": count,
                         "log_expo": np.log(expo), "z": eta + rng.standard_normal(n)})


def _same(a, b):
    """Bit-for-bit equal fits (the Gaussian and the evidence)."""
    for field in ("mode", "cov", "log_evidence", "status"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_glm_formula_is_the_arrays():
    df = _frame()
    res = lf.glm_laplace("y ~ x1 + x2", data=df, family="logistic")
    X = np.column_stack([np.ones(len(df)), df.x1, df.x2])
    _same(res, lf.glm_laplace(X, df.y.to_numpy(), family="logistic"))
    assert res.param_names == ("Intercept", "x1", "x2")
    assert res.summary().index.tolist() == ["Intercept", "x1", "x2"]


def test_data_may_be_positional():
    df = _frame()
    _same(lf.glm_laplace("y ~ x1", df), lf.glm_laplace("y ~ x1", data=df))


def test_grouped_formula_is_the_arrays():
    df = _frame()
    res = lf.glm_laplace("y ~ x1", data=df, groups="user", prior_precision=0.5)
    X = np.column_stack([np.ones(len(df)), df.x1])
    ref = lf.glm_laplace(X, df.y.to_numpy(), groups=df.user.to_numpy(), prior_precision=0.5)
    _same(res, ref)
    assert res.labels.tolist() == sorted(set(df.user)) == ref.labels.tolist()
    assert res.by_label("u003").param_names == ("Intercept", "x1")
    frame = res.to_dataframe()
    assert frame.term.tolist()[:2] == ["Intercept", "x1"] and frame.group.iloc[0] == "u000"


@pytest.mark.parametrize("formula", ["y ~ x1 - 1", "y ~ 0 + x1", "y ~ -1 + x1"])
def test_no_intercept(formula):
    df = _frame()
    res = lf.glm_laplace(formula, data=df)
    _same(res, lf.glm_laplace(df[["x1"]].to_numpy(), df.y.to_numpy()))
    assert res.param_names == ("x1",)


def test_categorical_and_interaction_columns():
    df = _frame()
    res = lf.glm_laplace("y ~ x1 * x2 + c", data=df)
    # treatment coding against the first level in sorted order (hi), as R and formulaic
    X = np.column_stack([np.ones(len(df)), df.x1, df.x2, df.c == "lo", df.c == "mid",
                         df.x1 * df.x2]).astype(float)
    assert res.param_names == ("Intercept", "x1", "x2", "c[T.lo]", "c[T.mid]", "x1:x2")
    _same(res, lf.glm_laplace(X, df.y.to_numpy()))
    full = lf.glm_laplace("y ~ 0 + c", data=df)       # no intercept: every level
    assert full.param_names == ("c[hi]", "c[lo]", "c[mid]")
    Xc = np.column_stack([df.c == v for v in ("hi", "lo", "mid")]).astype(float)
    _same(full, lf.glm_laplace(Xc, df.y.to_numpy()))


def test_transforms_and_the_response():
    df = _frame()
    res = lf.glm_laplace("z ~ np.exp(x1) + I(x2 ** 2)", data=df, family="gaussian",
                         scale=1.0)
    X = np.column_stack([np.ones(len(df)), np.exp(df.x1), df.x2 ** 2])
    _same(res, lf.glm_laplace(X, df.z.to_numpy(), family="gaussian", scale=1.0))


def test_binomial_cbind_and_column_keywords():
    df = _frame()
    X = np.column_stack([np.ones(len(df)), df.x1])
    ref = lf.glm_laplace(X, df.succ.to_numpy(), family="binomial",
                         trials=(df.succ + df.fail).to_numpy())
    _same(lf.glm_laplace("cbind(succ, fail) ~ x1", data=df, family="binomial"), ref)
    df["n"] = df.succ + df.fail
    _same(lf.glm_laplace("succ ~ x1", data=df, family="binomial", trials="n"), ref)
    pois = lf.glm_laplace("count ~ x1", data=df, family="poisson", offset="log_expo",
                          weights=np.full(len(df), 2.0))
    _same(pois, lf.glm_laplace(X, df["count"].to_numpy(), family="poisson",
                               offset=df.log_expo.to_numpy(), weights=np.full(len(df), 2.0)))


def test_evidence_prior_through_a_formula():
    df = _frame()
    res = lf.glm_laplace("z ~ x1 + x2", data=df, family="gaussian",
                         prior_precision="evidence", scale="evidence")
    X = np.column_stack([np.ones(len(df)), df.x1, df.x2])
    ref = lf.glm_laplace(X, df.z.to_numpy(), family="gaussian", prior_precision="evidence",
                         scale="evidence")
    _same(res, ref)
    assert res.scale == ref.scale and res.param_names == ("Intercept", "x1", "x2")


def test_pyarrow_table_through_narwhals():
    pa = pytest.importorskip("pyarrow")
    pytest.importorskip("narwhals")
    df = _frame()
    table = pa.Table.from_pandas(df, preserve_index=False)
    _same(lf.glm_laplace("y ~ x1 + c", data=table, groups="user"),
          lf.glm_laplace("y ~ x1 + c", data=df, groups="user"))


# --------------------------------------------------------------------------- GLMMs

def _glmm_frame(seed=3, groups=25, per=16):
    rng = np.random.default_rng(seed)
    g = np.repeat([f"s{k:02d}" for k in range(groups)], per)
    x = rng.standard_normal(g.size)
    b0 = rng.normal(0, 0.7, groups)[np.repeat(np.arange(groups), per)]
    b1 = rng.normal(0, 0.4, groups)[np.repeat(np.arange(groups), per)]
    eta = -0.3 + (0.9 + b1) * x + b0
    y = (rng.random(g.size) < 1 / (1 + np.exp(-eta))).astype(float)
    return pd.DataFrame({"y": y, "x": x, "g": g,
                         "w": eta + 0.5 * rng.standard_normal(g.size)})


def _same_glmm(a, b):
    for field in ("fixef", "fixef_cov", "re_cov", "log_likelihood", "theta"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    np.testing.assert_array_equal(a.random_effects.mode, b.random_effects.mode)
    assert a.labels.tolist() == b.labels.tolist()


@pytest.mark.parametrize("formula, Z_cols, re_cov, re_names", [
    ("y ~ x + (1 + x | g)", ["one", "x"], "full", ("Intercept", "x")),
    ("y ~ x + (x | g)", ["one", "x"], "full", ("Intercept", "x")),
    ("y ~ x + (1 + x || g)", ["one", "x"], "diag", ("Intercept", "x")),
    ("y ~ x + (1 | g)", ["one"], "full", ("Intercept",)),
    ("y ~ (0 + x | g) + x", ["x"], "full", ("x",)),
])
def test_glmm_formula_is_the_arrays(formula, Z_cols, re_cov, re_names):
    df = _glmm_frame()
    cols = {"one": np.ones(len(df)), "x": df.x.to_numpy()}
    X = np.column_stack([cols["one"], cols["x"]])
    Z = np.column_stack([cols[c] for c in Z_cols])
    fit = lf.glmm_laplace(formula, data=df)
    _same_glmm(fit, lf.glmm_laplace(X, df.y.to_numpy(), df.g.to_numpy(), Z=Z,
                                    re_cov=re_cov))
    assert fit.param_names == ("Intercept", "x") and fit.re_names == re_names
    assert fit.re_structure == re_cov and fit.group_name == "g"
    assert fit.random_effects.param_names == re_names


def test_glmm_gaussian_summary_names_everything():
    df = _glmm_frame()
    fit = lf.glmm_laplace("w ~ x + (1 + x | g)", data=df, family="gaussian")
    text = fit.summary()
    assert "Formula: w ~ x + (1 + x | g)" in text
    assert f"Number of obs: {len(df)}, groups: g, 25" in text
    rows = {line.split()[0]: line.split() for line in text.splitlines() if line.strip()}
    est, se, z = (float(v) for v in rows["x"][1:4])
    assert (est, se) == (round(fit.fixef[1], 5), round(fit.fixef_se[1], 5))
    assert abs(z - fit.fixef[1] / fit.fixef_se[1]) < 1e-3
    assert float(rows["Residual"][1]) == round(fit.scale ** 2, 5)
    assert rows["g"][1] == "Intercept"
    assert float(rows["g"][3]) == round(np.sqrt(fit.re_cov[0, 0]), 5)


# --------------------------------------------------------------------------- errors

@pytest.mark.parametrize("call, exc, fragments", [
    (lambda df: lf.glm_laplace("y ~ x1 + nope", data=df), ValueError,
     ["names columns that data lacks: nope"]),
    (lambda df: lf.glm_laplace("yy ~ x1", data=df), ValueError, ["yy"]),
    (lambda df: lf.glm_laplace("y ~ x1 +* x2", data=df), ValueError, ["y ~ x1 +* x2"]),
    (lambda df: lf.glm_laplace("y ~ (x1 + x2", data=df), ValueError,
     ["unbalanced parentheses"]),
    (lambda df: lf.glm_laplace("x1 + x2", data=df), ValueError, ["response ~ terms"]),
    (lambda df: lf.glm_laplace("y ~ x1", data=df, groups="who"), ValueError,
     ["groups='who' is not a column"]),
    (lambda df: lf.glm_laplace("y ~ x1 + (1 | user)", data=df), ValueError,
     ["random-effect term", "glmm_laplace"]),
    (lambda df: lf.glm_laplace("y ~ x1 | x2", data=df), ValueError, ["'|' belongs"]),
    (lambda df: lf.glm_laplace("y ~ c", data=df), None, []),
    (lambda df: lf.glm_laplace("c ~ x1", data=df), ValueError,
     ["response 'c' must be one numeric column"]),
    (lambda df: lf.glm_laplace("y ~ x1", data=df.to_numpy()), TypeError,
     ["is read as a formula, whose data must be a DataFrame", "got ndarray"]),
    (lambda df: lf.glm_laplace("y ~ x1"), TypeError, ["data is required"]),
    (lambda df: lf.glm_laplace("y ~ x1", df.y, data=df), TypeError, ["not y"]),
    (lambda df: lf.glm_laplace("cbind(succ, fail) ~ x1", data=df), ValueError,
     ["binomial response"]),
    (lambda df: lf.glm_laplace(df[["x1"]].to_numpy()), TypeError, ["(X, y) arrays"]),
    (lambda df: lf.glmm_laplace("y ~ x1", data=df), ValueError,
     ["exactly one random-effect term", "it has 0"]),
    (lambda df: lf.glmm_laplace("y ~ x1 + (1 | user) + (0 + x1 | user)", data=df),
     ValueError, ["it has 2", "(terms || group)"]),
    (lambda df: lf.glmm_laplace("y ~ x1 + (1 | user:c)", data=df), ValueError,
     ["grouping factor 'user:c' must be one column"]),
    (lambda df: lf.glmm_laplace("y ~ x1 + (1 | )", data=df), ValueError,
     ["'(terms | group)'"]),
    (lambda df: lf.glmm_laplace("y ~ x1 - (1 | user)", data=df), ValueError,
     ["cannot be removed"]),
    (lambda df: lf.glmm_laplace("y ~ x1 + (1 + q | user)", data=df), ValueError,
     ["lacks: q"]),
    (lambda df: lf.glmm_laplace("y ~ x1 + (1 | user)", data=df, groups=df.user),
     TypeError, ["do not pass groups"]),
])
def test_bad_formulas_are_named(call, exc, fragments):
    df = _frame()
    if exc is None:     # a string column on the right is categorical, and fits
        assert call(df).param_names == ("Intercept", "c[T.lo]", "c[T.mid]")
        return
    with pytest.raises(exc) as info:
        call(df)
    for fragment in fragments:
        assert fragment in str(info.value)


def test_a_bad_value_names_its_string_group():
    # pandas' string columns come out as object arrays, whose labels the message names
    df = _frame()
    df.loc[df.user == "u004", "y"] = 2.0
    with pytest.raises(ValueError, match=r"y must be 0 or 1 .* in group 'u004' \(problem 4\)"):
        lf.glm_laplace("y ~ x1", data=df, groups="user")
    X = np.ones((4, 1))
    with pytest.raises(ValueError, match=r"in group 'b' \(problem 1\)"):
        lf.glm_laplace(X, [0.0, 1.0, 0.0, 3.0], groups=np.array(["a", "a", "b", "b"],
                                                                 dtype=object))


def test_missing_values_name_the_columns():
    df = _frame()
    df.loc[3, "x2"] = np.nan
    df.loc[5, "user"] = None
    with pytest.raises(ValueError, match=r"missing values \(NaN/None\) in columns x2;"):
        lf.glm_laplace("y ~ x1 + x2", data=df)
    with pytest.raises(ValueError, match="missing values .* in columns user;"):
        lf.glm_laplace("y ~ x1", data=df, groups="user")
    lf.glm_laplace("y ~ x1", data=df)       # the formula does not use x2: no error


def test_without_formulaic_the_extra_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, "formulaic", None)     # import formulaic fails
    with pytest.raises(ImportError, match=r"pip install laplace-fast\[formula\]"):
        lf.glm_laplace("y ~ x1", data=_frame())
