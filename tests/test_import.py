"""``import laplace_fast`` stays light: scipy's heavy submodules load at first use."""

import subprocess
import sys

import numpy as np
import pytest

HEAVY = ("scipy.optimize", "scipy.special", "scipy.stats", "scipy.integrate")


def _modules_after(code, tmp_path):
    """The heavy scipy modules loaded after ``code`` in a fresh interpreter, run from a
    folder other than the source checkout (whose package has no compiled core)."""
    probe = (f"{code}\nimport sys\n"
             f"print(' '.join(m for m in {HEAVY!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout
    return out.split()


def test_import_loads_no_heavy_scipy_module(tmp_path):
    assert _modules_after("import laplace_fast", tmp_path) == []


def test_newton_laplace_loads_no_heavy_scipy_module(tmp_path):
    code = ("import laplace_fast as lf\n"
            "r = lf.laplace(lambda t: -0.5 * t[0] ** 2, 1.0)\n"
            "assert r.status == 0")
    assert _modules_after(code, tmp_path) == []


@pytest.mark.parametrize("code, needed", [
    ("lf.laplace(lambda t: -0.5 * t[0] ** 2, 1.0).interval(0.9)", "scipy.special"),
    ("lf.laplace(lambda t: -0.5 * t[0] ** 2, 1.0).to_scipy()", "scipy.stats"),
    ("lf.find_map(lambda t: -0.5 * t[0] ** 2, 1.0, method='BFGS')", "scipy.optimize"),
])
def test_heavy_module_loads_when_used(code, needed, tmp_path):
    assert needed in _modules_after("import laplace_fast as lf\n" + code, tmp_path)


def test_lazy_module_is_the_module():
    import scipy.special
    from laplace_fast._lazy import LazyModule
    lazy = LazyModule("scipy.special")
    assert "scipy.special" in repr(lazy)
    assert lazy.ndtri is scipy.special.ndtri
    assert float(lazy.ndtri(0.975)) == pytest.approx(1.959963984540054, rel=1e-15)
    with pytest.raises(AttributeError):
        lazy.no_such_function
    assert np.isclose(lazy.expit(0.0), 0.5)
