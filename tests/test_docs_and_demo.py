"""The docstring examples run, and the demo prints the seed article's numbers."""

import doctest
import importlib
import re
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

MODULES = ["laplace_fast._derivatives", "laplace_fast._laplace", "laplace_fast._glm",
           "laplace_fast._result", "laplace_fast._importance", "laplace_fast._families",
           "laplace_fast._mixture", "laplace_fast._plot"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert failed == 0


def test_demo_prints_the_seed_numbers(tmp_path):
    out = subprocess.run([sys.executable, "-m", "laplace_fast", "demo", "--plot",
                          str(tmp_path / "fig.png")], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout
    uni = out.split("2. Unimodal")[1]
    for line in ("MAP Estimate : 0.8000", "Hessian : -1.0000", "Covariance : 1.0000"):
        assert line in uni.splitlines()
    bi = out.split("2. Unimodal")[0]
    for line in ("MAP Estimate : 1.0000", "Hessian : -8.0000", "Covariance : 0.1250"):
        assert line in bi.splitlines()
    assert "ONE of TWO modes" in bi and "second mode at -1" in bi
    assert "Quadrature log evidence" in uni
    assert "w[2]" in out
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert "pip install" in out
    else:
        assert (tmp_path / "fig.png").stat().st_size > 10_000


def test_demo_without_plot():
    from laplace_fast.__main__ import main
    lines = []
    from laplace_fast._demo import run_demo
    nums = run_demo(make_plot=False, out=lines.append)
    assert "(figure skipped)" in lines
    assert abs(nums["unimodal"][0] - 0.8) < 1e-8
    assert main(["demo", "--no-plot"]) == 0


def test_readme_python_examples_run():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    assert len(blocks) >= 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # the README's data may trigger caveats
        for block in blocks:
            exec(compile(block, "README.md", "exec"), {})
