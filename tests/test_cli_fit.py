"""``laplace-fast fit`` and ``laplace-fast glmm`` on data files: run as a subprocess on a
CSV and a Parquet file written here, their tables equal the API's on the same frame; a
chunked grouped fit equals one call; the tidy frames round-trip through CSV; every user
error is one line and exit code 2."""

import subprocess
import sys

import numpy as np
import pytest

import laplace_fast as lf
from laplace_fast.__main__ import main

pd = pytest.importorskip("pandas")
pytest.importorskip("formulaic")
pa = pytest.importorskip("pyarrow")


def _cli(cwd, *args):
    return subprocess.run([sys.executable, "-m", "laplace_fast", *args],
                          capture_output=True, text=True, cwd=cwd)


def _frame(seed=0, n=400, groups=23):
    rng = np.random.default_rng(seed)
    user = rng.choice([f"u{k:03d}" for k in range(groups)], n)
    x1, x2 = rng.standard_normal(n), rng.standard_normal(n)
    c = rng.choice(["a", "b"], n)
    eta = 0.2 + 0.7 * x1 - 0.4 * x2 + 0.3 * (c == "b")
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    return pd.DataFrame({"user": user, "x1": x1, "x2": x2, "c": c, "y": y,
                         "z": eta + 0.5 * rng.standard_normal(n)})


def _write(df, path):
    if str(path).endswith(".csv"):
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    return str(path)


def _read(path):
    from laplace_fast._cli_fit import read_table
    return read_table(str(path))


def _equal_frames(got, want):
    """The same table: the columns' values bit for bit (NaN where NaN)."""
    assert got.columns.tolist() == want.columns.tolist()
    assert len(got) == len(want)
    for col in want.columns:
        a, b = got[col].to_numpy(), want[col].to_numpy()
        if b.dtype.kind == "f":
            np.testing.assert_array_equal(a.astype(float), b)
        else:
            assert [None if pd.isna(v) else v for v in a] == \
                [None if pd.isna(v) else v for v in b], col


@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_fit_grouped_subprocess_equals_the_api(tmp_path, ext):
    df = _frame()
    data = _write(df, tmp_path / f"data{ext}")
    out = tmp_path / f"out{ext}"
    p = _cli(tmp_path, "fit", data, "--formula", "y ~ x1 + x2 + c", "--family",
             "logistic", "--groups", "user", "--prior-precision", "0.5", "--out", str(out))
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    want = lf.glm_laplace("y ~ x1 + x2 + c", data=df, groups="user",
                          prior_precision=0.5).to_dataframe()
    _equal_frames(_read(out), want)


def test_chunks_of_groups_equal_one_call(tmp_path, capsys):
    df = _frame(seed=1, groups=31)
    data = _write(df, tmp_path / "data.csv")
    want = lf.glm_laplace("z ~ x1 + c", data=df, groups="user", family="gaussian",
                          scale=0.5).to_dataframe()
    for chunk in ("1", "7", "31", "1000"):
        out = tmp_path / f"out{chunk}.parquet"
        assert main(["fit", data, "--formula", "z ~ x1 + c", "--family", "gaussian",
                     "--scale", "0.5", "--groups", "user", "--chunk-groups", chunk,
                     "--out", str(out)]) == 0
        _equal_frames(_read(out), want)
    assert capsys.readouterr() == ("", "")


def test_fit_single_prints_a_summary(tmp_path):
    df = _frame()
    p = _cli(tmp_path, "fit", _write(df, tmp_path / "d.parquet"), "--formula",
             "y ~ x1 + x2", "--family", "logit")
    assert p.returncode == 0 and p.stderr == ""
    res = lf.glm_laplace("y ~ x1 + x2", data=df)
    lines = p.stdout.splitlines()
    assert "family logistic" in lines[0] and lines[1] == "Formula: y ~ x1 + x2"
    assert f"log evidence {float(res.log_evidence):.4f}" in p.stdout
    rows = {ln.split()[0]: ln.split()[1:] for ln in lines[5:]}
    for j, term in enumerate(("Intercept", "x1", "x2")):
        assert float(rows[term][0]) == float(f"{res.mode[j]:.5g}")
        assert float(rows[term][1]) == float(f"{res.std[j]:.5g}")


def test_fit_grouped_prints_the_table(tmp_path):
    df = _frame()
    p = _cli(tmp_path, "fit", _write(df, tmp_path / "d.csv"), "--formula", "y ~ x1",
             "--groups", "user")
    assert p.returncode == 0 and p.stderr == ""
    assert "groups (user): 23" in p.stdout and "statuses: 0: 23 groups" in p.stdout
    assert "u000" in p.stdout and "Intercept" in p.stdout


def test_evidence_prior_from_the_command_line(tmp_path):
    df = _frame()
    out = tmp_path / "o.csv"
    assert main(["fit", _write(df, tmp_path / "d.csv"), "--formula", "z ~ x1",
                 "--family", "gaussian", "--prior-precision", "evidence", "--scale",
                 "evidence", "--out", str(out)]) == 0
    want = lf.glm_laplace("z ~ x1", data=df, family="gaussian",
                          prior_precision="evidence", scale="evidence").to_dataframe()
    _equal_frames(_read(out), want)


def _glmm_frame(seed=4, groups=20, per=12):
    rng = np.random.default_rng(seed)
    idx = np.repeat(np.arange(groups), per)
    x = rng.standard_normal(idx.size)
    y = 1.0 + (0.5 + rng.normal(0, 0.3, groups)[idx]) * x + rng.normal(0, 0.6, groups)[idx]
    return pd.DataFrame({"g": [f"s{k}" for k in idx], "x": x,
                         "y": y + 0.4 * rng.standard_normal(idx.size)})


@pytest.mark.parametrize("ext", [".csv", ".parquet"])
def test_glmm_subprocess_equals_the_api(tmp_path, ext):
    df = _glmm_frame()
    formula = "y ~ x + (1 + x | g)"
    data = _write(df, tmp_path / f"d{ext}")
    out = tmp_path / f"o{ext}"
    p = _cli(tmp_path, "glmm", data, "--formula", formula, "--family", "gaussian",
             "--out", str(out))
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    fit = lf.glmm_laplace(formula, data=df, family="gaussian")
    got = _read(out)
    _equal_frames(got, fit.to_dataframe())
    assert got.term.tolist() == ["Intercept", "x", "sd__Intercept", "sd__x",
                                 "cor__Intercept.x", "sd__Observation"]
    # the numbers are the fit's own: fixed effects and their standard errors
    np.testing.assert_array_equal(got.estimate[:2], fit.fixef)
    np.testing.assert_array_equal(got.sd[:2], fit.fixef_se)
    np.testing.assert_array_equal(got.estimate[2:4], np.sqrt(np.diag(fit.re_cov)))


def test_glmm_prints_lme4s_layout(tmp_path):
    df = _glmm_frame()
    p = _cli(tmp_path, "glmm", _write(df, tmp_path / "d.csv"), "--formula",
             "y ~ x + (1 + x | g)", "--family", "gaussian")
    assert p.returncode == 0 and p.stderr == ""
    fit = lf.glmm_laplace("y ~ x + (1 + x | g)", data=df, family="gaussian")
    assert p.stdout == fit.summary() + "\n"
    for piece in ("Random effects", "Groups", "Variance", "Std.Dev.", "Corr", "Residual",
                  "Number of obs: 240, groups: g, 20", "Fixed effects:", "z value",
                  "logLik"):
        assert piece in p.stdout


def test_tidy_frames_round_trip_through_csv(tmp_path):
    df = _frame()
    for frame in (lf.glm_laplace("y ~ x1 + c", data=df, groups="user").to_dataframe(),
                  lf.glm_laplace("y ~ x1", data=df).to_dataframe(),
                  lf.glmm_laplace("y ~ x + (1 + x | g)", data=_glmm_frame(),
                                  family="gaussian").to_dataframe()):
        path = tmp_path / "t.csv"
        frame.to_csv(path, index=False)
        _equal_frames(pd.read_csv(path), frame)


def _one_error_line(p, *fragments):
    assert p.returncode == 2, (p.stdout, p.stderr)
    assert p.stdout == ""
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert lines[0].startswith("laplace-fast: error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_user_errors_subprocess(tmp_path):
    data = _write(_frame(), tmp_path / "d.csv")
    _one_error_line(_cli(tmp_path, "fit", str(tmp_path / "none.csv"), "--formula",
                         "y ~ x1"), "none.csv", "no such file")
    _one_error_line(_cli(tmp_path, "fit", data, "--formula", "y ~ x1 + nope"),
                    "nope", "lacks")
    _one_error_line(_cli(tmp_path, "glmm", data, "--formula", "y ~ x1 + (1 | nope)"),
                    "nope")


@pytest.mark.parametrize("args, fragments", [
    (["fit", "{d}", "--formula", "y ~ x1 +* x2"], ["y ~ x1 +* x2"]),
    (["fit", "{d}", "--formula", "y ~ (x1"], ["unbalanced parentheses"]),
    (["fit", "{d}", "--formula", "y ~ x1", "--family", "wald"], ["family", "wald"]),
    (["fit", "{d}", "--formula", "y ~ x1", "--groups", "who"], ["groups='who'"]),
    (["fit", "{d}", "--formula", "y ~ x1", "--prior-precision", "lots"],
     ["--prior-precision must be a number or 'evidence'"]),
    (["fit", "{d}", "--formula", "y ~ x1", "--chunk-groups", "0"], ["--chunk-groups"]),
    (["fit", "{d}", "--formula", "z ~ x1", "--family", "gaussian"], ["scale is required"]),
    (["fit", "{d}", "--formula", "y ~ x1", "--out", "{t}/no/o.csv"], ["does not exist"]),
    (["fit", "{d}", "--formula", "y ~ x1", "--out", "{t}/o.txt"], ["OUT", ".txt"]),
    (["fit", "{t}/d.xlsx", "--formula", "y ~ x1"], ["DATA", ".xlsx", ".csv or .parquet"]),
    (["fit", "{t}/bad.parquet", "--formula", "y ~ x1"], ["bad.parquet", "cannot be read"]),
    (["fit", "{t}/bad.csv", "--formula", "y ~ x1"], ["lacks: x1, y"]),
    (["glmm", "{d}", "--formula", "y ~ x1"], ["exactly one random-effect term"]),
    (["glmm", "{d}", "--formula", "z ~ x1 + (1 | user)", "--family", "poisson"],
     ["y must be"]),
])
def test_user_errors_main(tmp_path, capsys, args, fragments):
    d = _write(_frame(), tmp_path / "d.csv")
    (tmp_path / "bad.parquet").write_text("not parquet")
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    argv = [a.format(d=d, t=tmp_path) for a in args]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("laplace-fast: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_column_options_equal_the_api(tmp_path):
    df = _frame()
    df["n"] = df.y + 2
    df["w"] = np.linspace(0.5, 1.5, len(df))
    data = _write(df, tmp_path / "d.parquet")
    out = tmp_path / "o.csv"
    assert main(["fit", data, "--formula", "y ~ x1", "--family", "binomial", "--trials", "n",
                 "--weights", "w", "--offset", "x2", "--groups", "user", "--out",
                 str(out)]) == 0
    X = np.column_stack([np.ones(len(df)), df.x1])
    want = lf.glm_laplace(X, df.y.to_numpy(), family="binomial", trials=df.n.to_numpy(),
                          weights=df.w.to_numpy(), offset=df.x2.to_numpy(),
                          groups=df.user.to_numpy())
    got = _read(out)
    np.testing.assert_array_equal(got["mean"].to_numpy().reshape(-1, 2), want.mode)
    np.testing.assert_array_equal(got.log_evidence.to_numpy()[::2], want.log_evidence)


class _Terminal:
    """stderr as a terminal, for the progress bar."""

    def __init__(self):
        self.text = []

    def isatty(self):
        return True

    def write(self, s):
        self.text.append(s)

    def flush(self):
        pass


@pytest.mark.parametrize("with_tqdm", [True, False])
def test_progress_bar_on_a_terminal(tmp_path, monkeypatch, with_tqdm):
    from laplace_fast import _cli_fit
    if with_tqdm:
        pytest.importorskip("tqdm")
    else:
        monkeypatch.setitem(sys.modules, "tqdm", None)      # no tqdm: no bar, no error
    df = _frame(groups=9)
    data = _write(df, tmp_path / "d.csv")
    term = _Terminal()
    monkeypatch.setattr(_cli_fit, "_PROGRESS_ROWS", 100)
    monkeypatch.setattr(sys, "stderr", term)
    out = tmp_path / "o.csv"
    assert main(["fit", data, "--formula", "y ~ x1", "--groups", "user",
                 "--chunk-groups", "2", "--out", str(out)]) == 0
    shown = "".join(term.text)
    assert ("9/9" in shown and "group" in shown) if with_tqdm else shown == ""
    want = lf.glm_laplace("y ~ x1", data=df, groups="user").to_dataframe()
    _equal_frames(_read(out), want)


def test_a_closed_pipe_ends_quietly(tmp_path):
    # the reader is gone before the summary is written (``true`` reads nothing)
    data = _write(_frame(), tmp_path / "d.csv")
    cmd = f"{sys.executable} -m laplace_fast fit {data} --formula 'y ~ x1' | true"
    p = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True,
                       text=True, cwd=tmp_path)
    assert (p.returncode, p.stderr) == (0, "")


def test_statuses_are_one_note_on_stderr(tmp_path):
    df = _frame(groups=5)
    df.loc[df.user == "u002", "y"] = 0       # all zero: separation-like, status 3
    data = _write(df, tmp_path / "d.csv")
    with pytest.warns(lf.LaplaceWarning, match="status 3"):
        want = lf.glm_laplace(np.column_stack([np.ones(len(df)), df.x1]), df.y.to_numpy(),
                              groups=df.user.to_numpy(), prior_precision=0.01)
    bad = int(np.count_nonzero(want.status))
    assert bad >= 1
    for chunk in ("1", "5"):
        p = _cli(tmp_path, "fit", data, "--formula", "y ~ x1", "--groups", "user",
                 "--prior-precision", "0.01", "--chunk-groups", chunk, "--out",
                 str(tmp_path / "o.csv"))
        assert p.returncode == 0 and p.stdout == ""
        lines = p.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(
            f"laplace-fast: note: {bad} of 5 problems have a non-zero status: "), p.stderr
    p = _cli(tmp_path, "glmm", data, "--formula", "y ~ x1 + (1 | user)")
    assert p.returncode == 0 and "Random effects" in p.stdout
    assert all(ln.startswith("laplace-fast: note: ") for ln in p.stderr.splitlines())
