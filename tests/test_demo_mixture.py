"""The demo past the seed: k-hat flags the one Gaussian of the bimodal posterior, the
two-mode mixture has weights 0.5 / 0.5, its importance-corrected evidence is within
Monte-Carlo error of quadrature, and the figure draws the mixture."""

import math

import numpy as np
import pytest
from scipy import integrate

from laplace_fast._demo import run_demo


def test_demo_mixture_numbers_and_lines():
    lines = []
    nums = run_demo(make_plot=False, out=lines.append)["mixture"]
    text = "\n".join(lines)
    q = math.log(integrate.quad(lambda t: math.exp(-t ** 4 + 2 * t ** 2), -5, 5,
                                epsabs=1e-13, epsrel=1e-12)[0])
    assert nums["quadrature"] == pytest.approx(q, abs=1e-10)
    assert nums["khat_single"] > 0.7
    assert "unreliable, the Gaussian misses mass" in text
    np.testing.assert_allclose(nums["weights"], [0.5, 0.5], atol=1e-8)
    assert "weights 0.5000 / 0.5000" in text
    assert nums["khat"] < 0.7
    imp = nums["mixture"].importance(n=10_000, rng=0)
    se = math.sqrt((imp.n / imp.ess - 1) / imp.n)
    assert abs(nums["importance"] - q) < 4 * se
    assert abs(nums["importance"] - q) < abs(nums["log_evidence"] - q)
    assert text.index("1b. Both modes") < text.index("2. Unimodal")


def test_demo_figure_draws_the_mixture(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure
    seen = {}
    save = Figure.savefig

    def record(self, *args, **kwargs):
        seen["labels"] = [[ln.get_label() for ln in ax.get_lines()] for ax in self.axes]
        return save(self, *args, **kwargs)
    monkeypatch.setattr(Figure, "savefig", record)
    run_demo(plot_path=str(tmp_path / "fig.png"), out=lambda s: None)
    left, right = seen["labels"]
    assert "Laplace mixture (2 components)" in left and "modes = -1, 1" in left
    assert "Laplace Gaussian" in right
    assert (tmp_path / "fig.png").stat().st_size > 10_000
