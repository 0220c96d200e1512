"""The command line: ``--version``, and user errors as one line and exit code 2."""

import errno
import re
import subprocess
import sys
from pathlib import Path

import pytest

import laplace_fast as lf
from laplace_fast.__main__ import main
from laplace_fast._demo import run_demo

ROOT = Path(__file__).resolve().parents[1]


def _cli(tmp_path, *args):
    """``python -m laplace_fast args`` from a folder other than the source checkout."""
    return subprocess.run([sys.executable, "-m", "laplace_fast", *args],
                          capture_output=True, text=True, cwd=tmp_path)


def _one_error_line(text, *fragments):
    lines = text.splitlines()
    assert len(lines) == 1, text
    assert lines[0].startswith("laplace-fast: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_version_is_pyprojects_and_mesons():
    pyproject = (ROOT / "pyproject.toml").read_text()
    meson = (ROOT / "meson.build").read_text()
    assert re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1) == lf.__version__
    assert re.search(r"version: '([^']+)'", meson).group(1) == lf.__version__


def test_version_subprocess(tmp_path):
    p = _cli(tmp_path, "--version")
    assert (p.returncode, p.stdout, p.stderr) == (0, f"laplace-fast {lf.__version__}\n", "")


def test_version_main(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out == f"laplace-fast {lf.__version__}\n"


def test_missing_folder_subprocess(tmp_path):
    bad = str(tmp_path / "nonexistent" / "x.png")
    p = _cli(tmp_path, "demo", "--plot", bad)
    assert p.returncode == 2
    assert p.stdout == ""                  # checked before the demo prints anything
    _one_error_line(p.stderr, bad, "does not exist", "--no-plot")


@pytest.mark.parametrize("make_path, why", [
    (lambda tmp: tmp / "nonexistent" / "x.png", "does not exist"),
    (lambda tmp: tmp, "it is a folder"),
])
def test_bad_plot_path_main(tmp_path, capsys, make_path, why):
    path = str(make_path(tmp_path))
    assert main(["demo", "--plot", path]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    _one_error_line(err, path, why)


def test_unsupported_extension_main(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = str(tmp_path / "fig.xyz")
    assert main(["demo", "--plot", path]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    _one_error_line(err, path, "cannot write .xyz", "png")


def test_error_while_saving_main(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    def full_disk(self, *args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Figure, "savefig", full_disk)
    path = str(tmp_path / "fig.png")
    assert main(["demo", "--plot", path]) == 2
    out, err = capsys.readouterr()
    assert "MAP Estimate" in out
    _one_error_line(err, path, "No space left on device")


def test_run_demo_checks_the_path_first(tmp_path):
    lines = []
    with pytest.raises(OSError, match="does not exist"):
        run_demo(plot_path=str(tmp_path / "no" / "x.png"), out=lines.append)
    assert lines == []


def test_no_plot_ignores_the_path(capsys):
    assert main(["demo", "--no-plot", "--plot", "/nonexistent/x.png"]) == 0
    assert "(figure skipped)" in capsys.readouterr().out
