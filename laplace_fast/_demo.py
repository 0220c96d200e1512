"""The demo: the seed article's Laplace approximations, reproduced with laplace_fast.

``python -m laplace_fast demo`` (or ``laplace-fast demo``) prints

1. the bimodal log posterior -theta^4 + 2 theta^2 from x0 = 1: one mode of two, which
   importance sampling's k-hat flags; the two-mode Laplace mixture, and its
   importance-corrected evidence against quadrature's;
2. the unimodal -1/2 (theta - 0.8)^2 - 0.05 (theta - 0.8)^4 with its Laplace log
   evidence against numerical quadrature;
3. a Bayesian logistic regression written as a plain numpy callback, with intervals;

and, when matplotlib is installed, saves the figure of the true normalised posteriors
against the Laplace mixture (bimodal) and the Laplace Gaussian (unimodal).
"""

import os

import numpy as np

from ._laplace import laplace
from ._lazy import LazyModule
from ._mixture import laplace_mixture

integrate = LazyModule("scipy.integrate")
stats = LazyModule("scipy.stats")


def bimodal(theta):
    """-theta^4 + 2 theta^2: modes at -1 and 1, a minimum at 0."""
    return -theta[0] ** 4 + 2.0 * theta[0] ** 2


def unimodal(theta):
    """-1/2 (theta - 0.8)^2 - 0.05 (theta - 0.8)^4: one mode at 0.8, curvature -1."""
    u = theta[0] - 0.8
    return -0.5 * u ** 2 - 0.05 * u ** 4


def log_quadrature_evidence(log_post, lo=-10.0, hi=10.0):
    """log of the integral of exp(log_post) over [lo, hi] by adaptive quadrature."""
    val, _ = integrate.quad(lambda t: np.exp(log_post(np.array([t]))), lo, hi,
                            epsabs=1e-13, epsrel=1e-12, limit=200)
    return float(np.log(val))


def logistic_data(n=200, d=3, seed=0):
    """A synthetic Bayesian logistic regression: intercept + standard normal features."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.standard_normal((n, d - 1))])
    w_true = np.array([-0.5, 1.0, -2.0, 0.5][:d])
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-X @ w_true))).astype(float)
    return X, y, w_true


def logistic_log_post(w, X, y, alpha=1.0):
    """log p(y | X, w) + log N(w | 0, I/alpha), every constant kept."""
    eta = X @ w
    loglik = np.sum(y * eta - np.logaddexp(0.0, eta))
    d = w.shape[0]
    return loglik - 0.5 * alpha * (w @ w) + 0.5 * d * np.log(alpha / (2 * np.pi))


def _section(title, out):
    out(f"\n{title}\n{'-' * len(title)}")


def figure_path(plot_path):
    """The absolute path the figure is saved to, once checked that a file can be
    written there (the folder exists and is writable, the path is not a folder, and the
    extension is a format matplotlib writes, when matplotlib is installed).

    Raises
    ------
    OSError
        Naming ``plot_path`` and what to do, when the figure cannot be saved there.
    """
    path = os.path.abspath(plot_path)
    folder = os.path.dirname(path)
    if os.path.isdir(path):
        problem = "it is a folder"
    elif not os.path.isdir(folder):
        problem = f"the folder {folder} does not exist"
    elif not os.access(folder, os.W_OK) or (os.path.exists(path)
                                            and not os.access(path, os.W_OK)):
        problem = "permission denied"
    else:
        problem = _unsupported_format(path)
    if problem:
        raise OSError(f"cannot save the figure to {plot_path}: {problem}; pass another "
                      "--plot PATH, or --no-plot")
    return path


def _unsupported_format(path):
    """Why matplotlib cannot write ``path``'s extension, or "" (also without matplotlib,
    where the demo saves no figure)."""
    ext = os.path.splitext(path)[1].lstrip(".").lower()
    try:
        from matplotlib.backend_bases import FigureCanvasBase
    except ImportError:
        return ""
    formats = FigureCanvasBase.get_supported_filetypes()
    if ext and ext not in formats:
        return f"matplotlib cannot write .{ext} files (it writes {', '.join(sorted(formats))})"
    return ""


def _mixture_section(single, q, out):
    """The bimodal posterior's two modes: k-hat of the one Gaussian, the mixture, its
    importance-corrected evidence against quadrature's ``q``."""
    imp1 = single.importance(bimodal, n=10_000, rng=0)
    out(f"k-hat of that one Gaussian (importance sampling, 10000 draws) : "
        f"{imp1.khat:.2f}  (threshold {imp1.threshold:.2f}: "
        f"{'unreliable, the Gaussian misses mass' if not imp1.reliable else 'reliable'})")
    _section("1b. Both modes: a Laplace mixture from the starts -2, -1, 0, 1, 2", out)
    mix = laplace_mixture(bimodal, np.linspace(-2.0, 2.0, 5)[:, None])
    modes = ", ".join(f"{m:.4f}" for m in mix.components.mode[:, 0])
    out(f"{len(mix)} components at {modes}, weights "
        f"{' / '.join(f'{w:.4f}' for w in mix.weights)}  ({mix.message})")
    imp = mix.importance(n=10_000, rng=0)
    se = np.sqrt((imp.n / imp.ess - 1) / imp.n)
    out(f"Mixture log evidence (Laplace)          : {mix.log_evidence:.4f}")
    out(f"Importance-corrected (10000 draws)      : {imp.log_evidence:.4f} +- {se:.4f}  "
        f"(k-hat {imp.khat:.2f}, {'reliable' if imp.reliable else 'unreliable'})")
    out(f"log evidence by quadrature              : {q:.4f}")
    return {"single": single, "khat_single": imp1.khat, "mixture": mix,
            "weights": mix.weights, "log_evidence": mix.log_evidence,
            "importance": imp.log_evidence, "khat": imp.khat, "quadrature": q}


def run_demo(plot_path="laplace_demo.png", make_plot=True, out=print):
    """Run the demo, printing to ``out``; returns a dict of the key numbers.

    With ``make_plot``, ``plot_path`` is checked before anything is printed.

    Raises
    ------
    OSError
        When the figure cannot be saved to ``plot_path`` (see :func:`figure_path`).
    """
    path = figure_path(plot_path) if make_plot else None
    numbers = {}

    _section("1. Bimodal log posterior  -theta^4 + 2 theta^2, started at x0 = 1", out)
    r = laplace(bimodal, 1.0)
    out(f"MAP Estimate : {r.mode[0]:.4f}")
    out(f"Hessian : {r.hessian[0, 0]:.4f}")
    out(f"Covariance : {r.cov[0, 0]:.4f}")
    other = laplace(bimodal, -1.0)
    q = log_quadrature_evidence(bimodal, -4, 4)
    out(f"The Gaussian N({r.mode[0]:.0f}, {r.cov[0, 0]:.3f}) covers ONE of TWO modes: "
        f"the posterior is symmetric and has a second mode at {other.mode[0]:.0f} "
        f"(started from x0 = -1, laplace finds it with the same curvature "
        f"{other.hessian[0, 0]:.1f}).")
    out(f"Laplace log evidence at one mode : {r.log_evidence:.4f}")
    out(f"log evidence by quadrature        : {q:.4f}")
    out(f"Laplace at both modes (+ log 2)   : {r.log_evidence + np.log(2):.4f}  "
        f"(log 2 is the other mode's mass, which a single Gaussian cannot see)")
    numbers["bimodal"] = (r.mode[0], r.hessian[0, 0], r.cov[0, 0], r.log_evidence, q)
    numbers["mixture"] = _mixture_section(r, q, out)
    mix = numbers["mixture"]["mixture"]

    _section("2. Unimodal log posterior  -1/2 (theta - 0.8)^2 - 0.05 (theta - 0.8)^4", out)
    r = laplace(unimodal, 0.0)
    q = log_quadrature_evidence(unimodal)
    out(f"MAP Estimate : {r.mode[0]:.4f}")
    out(f"Hessian : {r.hessian[0, 0]:.4f}")
    out(f"Covariance : {r.cov[0, 0]:.4f}")
    out(f"Laplace log evidence : {r.log_evidence:.4f}")
    out(f"Quadrature log evidence : {q:.4f}  (difference {r.log_evidence - q:+.4f}: the "
        f"quartic term makes the true posterior lighter-tailed than the Gaussian)")
    lo, hi = r.interval(0.95)
    out(f"95% interval : [{lo[0]:.4f}, {hi[0]:.4f}]   ({r.nfev} evaluations, "
        f"{r.niter} Newton steps)")
    numbers["unimodal"] = (r.mode[0], r.hessian[0, 0], r.cov[0, 0], r.log_evidence, q)
    uni = r

    _section("3. Bayesian logistic regression (n = 200, d = 3, prior N(0, I))", out)
    X, y, w_true = logistic_data()
    r = laplace(logistic_log_post, np.zeros(3), args=(X, y), hessian_method="richardson")
    lo, hi = r.interval(0.95)
    out("coef      true      MAP      std     95% interval")
    for j in range(3):
        out(f"w[{j}]  {w_true[j]:8.3f} {r.mode[j]:8.4f} {r.std[j]:8.4f}   "
            f"[{lo[j]:7.4f}, {hi[j]:7.4f}]")
    out(f"Laplace log evidence : {r.log_evidence:.4f}   status {r.status.name}, "
        f"{r.niter} Newton steps, {r.nfev} evaluations")
    numbers["logistic"] = (r.mode, r.std)

    _section("4. Figure", out)
    if not make_plot:
        out("(figure skipped)")
        return numbers
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        out("matplotlib is not installed: for the figure of the true posterior against "
            "the Laplace Gaussian, run  pip install matplotlib  (from the source folder: "
            "pip install '.[plot]') and run the demo again.")
        return numbers
    from ._plot import plot
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    plot(mix, ax=axes[0], n=801)
    single = numbers["mixture"]["single"]
    grid = axes[0].get_lines()[0].get_xdata()
    axes[0].plot(grid, stats.norm.pdf(grid, single.mode[0], single.std[0]), ":",
                 label="one Laplace Gaussian (from x0 = 1)")
    axes[0].legend(fontsize=8)
    axes[0].set_title("bimodal: the two-mode Laplace mixture")
    plot(uni, unimodal, ax=axes[1], n=801)
    axes[1].set_title("unimodal")
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=100)
    except OSError as exc:
        raise OSError(f"could not save the figure to {plot_path}: "
                      f"{exc.strerror or exc}") from None
    finally:
        plt.close(fig)
    out(f"figure saved to {path}")
    numbers["figure"] = path
    return numbers
