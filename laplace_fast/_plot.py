"""Figures of Laplace approximations (public API: :func:`plot`), with matplotlib, the
optional ``plot`` extra, imported at the first call."""

import numbers

import numpy as np

from ._lazy import LazyModule
from ._mixture import MixtureResult
from ._objective import real_array
from ._result import BatchLaplaceResult, _GaussianResult, _check_level

special = LazyModule("scipy.special")

__all__ = ["plot"]

_MASSES = (0.5, 0.9, 0.99)


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("laplace_fast.plot needs matplotlib: pip install "
                          "laplace_fast[plot] (or pip install matplotlib)") from None
    return plt


def _check_positive_int(value, name, least):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
    return int(value)


def _evaluate(log_post, pts, args, vectorized):
    """log_post at the points (m, d), finite or -inf; ValueError at a NaN or +inf."""
    if not callable(log_post):
        raise TypeError(f"log_post must be callable or None, got {type(log_post).__name__}")
    if vectorized:
        lp = np.asarray(log_post(pts, *args), dtype=float).reshape(-1)
        if lp.shape != (len(pts),):
            raise ValueError(f"log_post with vectorized=True must return one value per "
                             f"point, shape ({len(pts)},); got {lp.size} values")
    else:
        lp = np.array([float(log_post(p, *args)) for p in pts])
    bad = np.isnan(lp) | (lp == np.inf)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise ValueError(f"log_post is {lp[i]} at theta = {pts[i].tolist()}: the true "
                         "posterior cannot be drawn there; narrow the plot with bounds=")
    return lp


def _normalised(lp, cell):
    """exp(lp) normalised so that its trapezoid rule over the grid is one; ``cell`` the
    trapezoid weights of the grid's points."""
    top = np.max(lp)
    if not np.isfinite(top):
        raise ValueError("log_post is -inf at every point of the grid: the true posterior "
                         "has no mass there; widen the plot with bounds=")
    p = np.exp(lp - top)
    return p / np.sum(p * cell)


def _trapezoid_weights(t):
    """The weights w with sum(w * f(t)) the trapezoid rule of f over the grid t."""
    w = np.zeros_like(t)
    h = np.diff(t)
    w[:-1] += h / 2
    w[1:] += h / 2
    return w


def _hpd_levels(density, masses):
    """The density thresholds whose superlevel sets hold the given masses of the grid's
    density (uniform cells), increasing."""
    p = np.sort(density.reshape(-1))[::-1]
    cum = np.cumsum(p) / np.sum(p)
    levels = [p[min(np.searchsorted(cum, m), p.size - 1)] for m in masses]
    return np.sort(levels)


def _modes_and_stds(result):
    if isinstance(result, MixtureResult):
        result._require("plot")
        return result.components.mode, result.components.std
    result._require("plot")
    return result.mode[None, :], result.std[None, :]


def _bounds(result, bounds, width, j):
    """(lo, hi) of coordinate j: ``bounds`` as given, else every mode ± width sd."""
    if bounds is not None:
        return bounds[j]
    modes, stds = _modes_and_stds(result)
    return (float(np.min(modes[:, j] - width * stds[:, j])),
            float(np.max(modes[:, j] + width * stds[:, j])))


def _check_bounds(bounds, d):
    if bounds is None:
        return None
    b = real_array(bounds, "bounds")
    if b.size != 2 * d or not np.all(np.isfinite(b)) or np.any(b.reshape(d, 2)[:, 0] >=
                                                              b.reshape(d, 2)[:, 1]):
        shape = "(lo, hi)" if d == 1 else "((lo0, hi0), (lo1, hi1))"
        raise ValueError(f"bounds must be {shape} with lo < hi, finite; got {bounds!r}")
    return [tuple(row) for row in b.reshape(d, 2).tolist()]


def _approximation(result):
    """The approximation's log density at points (..., d) and its label."""
    if isinstance(result, MixtureResult):
        return result.logpdf, f"Laplace mixture ({len(result)} components)"
    return result.logpdf, "Laplace Gaussian"


def _density_1d(ax, result, log_post, args, vectorized, bounds, width, n):
    lo, hi = _bounds(result, bounds, width, 0)
    t = np.linspace(lo, hi, n)
    if log_post is not None:
        true = _normalised(_evaluate(log_post, t[:, None], args, vectorized),
                           _trapezoid_weights(t))
        ax.plot(t, true, label="true posterior (normalised)")
    logq, label = _approximation(result)
    ax.plot(t, np.exp(logq(t[:, None])), "--", label=label)
    modes, _ = _modes_and_stds(result)
    where = ", ".join(f"{m:.3g}" for m in modes[:5, 0]) + (", ..." if len(modes) > 5 else "")
    for k, m in enumerate(modes[:, 0]):
        ax.axvline(m, color="k", lw=0.8,
                   label=(f"mode{'s' if len(modes) > 1 else ''} = {where}" if k == 0
                          else None))
    ax.set_xlabel("theta")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)


def _contours_2d(ax, result, log_post, args, vectorized, bounds, width, n):
    t0 = np.linspace(*_bounds(result, bounds, width, 0), n)
    t1 = np.linspace(*_bounds(result, bounds, width, 1), n)
    X, Y = np.meshgrid(t0, t1)
    pts = np.column_stack([X.reshape(-1), Y.reshape(-1)])
    handles = []
    if log_post is not None:
        cell = np.outer(_trapezoid_weights(t1), _trapezoid_weights(t0)).reshape(-1)
        true = _normalised(_evaluate(log_post, pts, args, vectorized), cell).reshape(X.shape)
        cs = ax.contour(X, Y, true, levels=_hpd_levels(true, _MASSES), colors="C0")
        handles.append((cs, "true posterior (normalised)"))
    logq, label = _approximation(result)
    q = np.exp(logq(pts)).reshape(X.shape)
    if isinstance(result, MixtureResult):
        levels = _hpd_levels(q, _MASSES)
    else:
        # a 2-D Gaussian's density ellipse holding mass m is at (1 - m) times its peak
        peak = np.exp(result.logpdf(result.mode))
        levels = np.sort(peak * (1 - np.asarray(_MASSES)))
    cs = ax.contour(X, Y, q, levels=levels, colors="C1", linestyles="dashed")
    handles.append((cs, label))
    modes, _ = _modes_and_stds(result)
    ax.plot(modes[:, 0], modes[:, 1], "k+", ms=10, label="mode")
    ax.legend([h.legend_elements()[0][0] for h, _ in handles] + ax.get_lines()[-1:],
              [lab for _, lab in handles] + ["mode"], fontsize=8)
    ax.set_xlabel("theta[0]")
    ax.set_ylabel("theta[1]")
    ax.set_title(f"contours holding {', '.join(f'{m:g}' for m in _MASSES)} of the mass",
                 fontsize=9)


def _forest(ax, centre, lo, hi, names, level, note=""):
    """One horizontal interval per row, bottom to top, with its centre marked."""
    y = np.arange(len(centre))
    ax.hlines(y, lo, hi, color="C0")
    ax.plot(centre, y, "o", color="C0", ms=4)
    if len(y) <= 40:
        ax.set_yticks(y)
        ax.set_yticklabels(names)
    ax.set_title(f"{level:.0%} intervals{note}", fontsize=9)


def _param_index(result, param):
    names = getattr(result, "param_names", None)
    if isinstance(param, str):
        if names is None or param not in names:
            raise ValueError(f"param {param!r} is not a parameter name of this result "
                             f"(its names: {names}); pass an index")
        return list(names).index(param)
    if isinstance(param, bool) or not isinstance(param, numbers.Integral) \
            or not -result.d <= param < result.d:
        raise ValueError(f"param must be a parameter index in [0, {result.d}) or a name, "
                         f"got {param!r}")
    return int(param) % result.d


def _batch_forest(ax, result, level, select, sort, param):
    j = _param_index(result, param)
    mode = result.mode.reshape(-1, result.d)[:, j]
    std = result.std.reshape(-1, result.d)[:, j]
    index = np.arange(mode.size)
    if select is not None:
        try:
            index = index[select]
        except (IndexError, TypeError, ValueError):
            raise ValueError(f"select must index the {mode.size} problems (indices, a "
                             f"slice or a boolean mask), got {select!r}") from None
        index = np.atleast_1d(index)
    finite = np.isfinite(mode[index]) & np.isfinite(std[index])
    note = "" if np.all(finite) else f" ({np.count_nonzero(~finite)} failed problems not shown)"
    index = index[finite]
    if sort:
        index = index[np.argsort(mode[index], kind="stable")]
    z = special.ndtri(0.5 + level / 2)
    labels = result.labels
    names = [str(np.asarray(labels).reshape(-1)[i]) if labels is not None else str(i)
             for i in index]
    _forest(ax, mode[index], mode[index] - z * std[index], mode[index] + z * std[index],
            names, level, note)
    pname = getattr(result, "param_names", None)
    ax.set_xlabel(pname[j] if pname is not None else f"theta[{j}]")
    ax.set_ylabel("problem")


def plot(result, log_post=None, *, ax=None, args=(), vectorized=False, bounds=None,
         width=4.0, n=None, level=0.95, select=None, sort=True, param=0):
    """Draw a Laplace approximation, against the true posterior when ``log_post`` is
    given.

    - d = 1: the true posterior (``exp(log_post)`` on a grid, normalised by the
      trapezoid rule on that grid) against the Laplace Gaussian or the mixture's
      density, each mode marked by a vertical line;
    - d = 2: the contours of both that hold 0.5, 0.9 and 0.99 of the mass (for the
      Gaussian its ellipses, for the others the highest-density regions of the grid),
      the modes marked;
    - d >= 3: a forest plot of the marginal intervals of the d parameters;
    - a batch (:class:`BatchLaplaceResult`, a batch GLM result): a forest plot of one
      parameter's interval per problem.

    Parameters
    ----------
    result : LaplaceResult, BatchLaplaceResult, GLM result or MixtureResult
        The approximation to draw.
    log_post : callable, optional
        The log posterior, ``log_post(theta, *args) -> float`` with ``theta`` of shape
        (d,) (with ``vectorized=True``: ``(m, d) -> (m,)``), for d = 1 and 2.  For a
        :class:`MixtureResult` the one it was fitted with by default.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure's axes by default.
    args : tuple
        Extra arguments for ``log_post``.
    vectorized : bool
        ``log_post`` evaluates many points per call (the whole grid in one).
    bounds : (lo, hi), or ((lo0, hi0), (lo1, hi1)) for d = 2, optional
        The grid's range; by default every mode ± ``width`` standard deviations.
    width : float
        See ``bounds``.
    n : int, optional
        Grid points per axis (default 401 for d = 1, 101 for d = 2).
    level : float in (0, 1)
        The forest plots' interval probability (the equal-tailed Gaussian interval
        ``mode ± z std``, the mixture's marginal quantiles for a mixture).
    select : indices, slice or boolean mask, optional
        A batch's problems to draw (into the flattened batch); all by default.
        Problems without a Gaussian (failed fits) are left out, and the title says how
        many.
    sort : bool
        Order a batch's problems by their mode (bottom to top); else by index.
    param : int or str
        The parameter of a batch's forest plot: an index, or a GLM parameter name.

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on; ``plt.show()`` (or ``fig.savefig``) is the caller's.

    Raises
    ------
    ImportError
        When matplotlib is not installed (``pip install laplace_fast[plot]``).
    TypeError
        ``result`` not a result of laplace_fast, ``log_post`` not callable.
    ValueError
        Options out of range; ``log_post`` NaN or +inf on the grid, or -inf on all of
        it.
    LaplaceError
        When the result (or a mixture) has no Gaussian to draw.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> import laplace_fast as lf
    >>> def log_post(t):
    ...     return -0.5 * (t[0] - 0.8) ** 2 - 0.05 * (t[0] - 0.8) ** 4
    >>> r = lf.laplace(log_post, 0.0)
    >>> ax = lf.plot(r, log_post)
    >>> [line.get_label() for line in ax.get_lines()[:2]]
    ['true posterior (normalised)', 'Laplace Gaussian']

    A mixture draws its own log posterior:

    >>> mix = lf.laplace_mixture(lambda t: -t[0] ** 4 + 2 * t[0] ** 2, [[-1.0], [1.0]])
    >>> ax = lf.plot(mix)
    >>> len(ax.get_lines())    # true, mixture, two modes
    4

    A batch, as a forest plot of parameter 0:

    >>> mu = np.array([[2.0], [0.0], [1.0]])
    >>> res = lf.laplace_batch(lambda t: -0.5 * np.sum((t - mu) ** 2, axis=1),
    ...                        np.zeros((3, 1)))
    >>> ax = lf.plot(res)
    >>> [t.get_text() for t in ax.get_yticklabels()]
    ['1', '2', '0']
    >>> import matplotlib.pyplot as plt
    >>> plt.close("all")
    """
    if not isinstance(result, (_GaussianResult, MixtureResult)):
        raise TypeError(f"result must be a result of laplace_fast (LaplaceResult, "
                        f"BatchLaplaceResult, a GLM result or MixtureResult), got "
                        f"{type(result).__name__}")
    _check_level(level)
    if isinstance(width, bool) or not isinstance(width, numbers.Real) or not width > 0:
        raise ValueError(f"width must be a positive number, got {width!r}")
    if not isinstance(args, tuple):
        args = (args,)
    is_batch = isinstance(result, BatchLaplaceResult) and result.batch_shape != ()
    d = result.d
    if isinstance(result, MixtureResult) and log_post is None:
        log_post, args, vectorized = result._source
    if log_post is not None and not callable(log_post):
        raise TypeError(f"log_post must be callable or None, got {type(log_post).__name__}")
    bounds = None if is_batch or d > 2 else _check_bounds(bounds, d)
    n = _check_positive_int(n if n is not None else (401 if d == 1 else 101), "n", 3)
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots()
    if is_batch:
        _batch_forest(ax, result, level, select, sort, param)
    elif d == 1:
        _density_1d(ax, result, log_post, args, vectorized, bounds, width, n)
    elif d == 2:
        _contours_2d(ax, result, log_post, args, vectorized, bounds, width, n)
    else:
        if isinstance(result, MixtureResult):
            centre, (lo, hi) = result.mean, result.interval(level)
        else:
            centre, (lo, hi) = result.mode, result.interval(level)
        names = getattr(result, "param_names", None) or [f"theta[{j}]" for j in range(d)]
        rows = np.arange(d)[::-1]          # parameter 0 on top
        _forest(ax, centre[rows], lo[rows], hi[rows], [names[j] for j in rows], level)
    return ax
