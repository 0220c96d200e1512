"""Results as pandas tables: a summary per term and the tidy long frame.

pandas is an optional extra (``pip install laplace_fast[data]``), imported at the first
table asked for, so ``import laplace_fast`` never loads it.
"""

import numpy as np

from ._lazy import LazyModule, optional_module
from ._weights import smoothed_weights, weighted_quantiles

special = LazyModule("scipy.special")

__all__ = ["summary", "to_dataframe", "by_label", "glmm_frame"]

LEVEL = 0.95    # the level of the tables' intervals
_STATS = ("mean", "sd", "lower", "upper")


def _pandas():
    """The pandas module, or an ImportError saying which extra installs it."""
    return optional_module("pandas", "result tables need pandas", "data")


def _terms(result):
    """The parameters' names: ``param_names`` when the result has them, else x0, x1, ..."""
    names = getattr(result, "param_names", None)
    return list(names) if names is not None else [f"x{j}" for j in range(result.d)]


def _groups(batch_shape, labels):
    """One key per problem, in C order: the label of a grouped batch, else the problem's
    position (an int for a 1-D batch, the index tuple for more dimensions)."""
    if labels is not None:
        return np.asarray(labels).tolist()
    if len(batch_shape) == 1:
        return list(range(batch_shape[0]))
    return list(np.ndindex(batch_shape))


def _stats(result):
    """mean, sd, lower, upper, each of shape (number of problems, d), problems in C
    order; NaN sd and bounds for a problem that failed (status < 0) or has no Gaussian
    (NaN cov), whose interval the result would refuse."""
    d = result.d
    mean = np.reshape(result.mode, (-1, d))
    healthy = np.reshape(np.all(np.isfinite(result.cov), axis=(-2, -1))
                         & (np.asarray(result.status) >= 0), -1)
    sd, lower, upper = (np.full(mean.shape, np.nan) for _ in range(3))
    if healthy.any():
        part = result if healthy.all() else result[np.reshape(healthy, result.batch_shape)]
        lo, hi = part.interval(LEVEL)
        sd[healthy] = np.reshape(part.std, (-1, d))
        lower[healthy] = np.reshape(lo, (-1, d))
        upper[healthy] = np.reshape(hi, (-1, d))
    return dict(zip(_STATS, (mean, sd, lower, upper)))


def gaussian_content(result):
    """A Gaussian result's table: its batch, its marginals (:func:`_stats`) and per
    problem its status and evidence."""
    per_problem = {"status": np.asarray(result.status, dtype=int),
                   "log_evidence": result.log_evidence}
    return result.batch_shape, result.labels, _stats(result), per_problem


def mixture_content(result):
    """A :class:`MixtureResult`'s table: the mixture's mean, sd and equal-tailed
    interval (NaN without a component), its status and evidence."""
    d = result.d
    if len(result):
        lo, hi = result.interval(LEVEL)
        stats = (result.mean, np.sqrt(np.diag(result.cov)), lo, hi)
    else:
        stats = tuple(np.full(d, np.nan) for _ in _STATS)
    per_problem = {"status": int(result.status), "log_evidence": result.log_evidence}
    return (), None, {k: v[None] for k, v in zip(_STATS, stats)}, per_problem


def importance_content(result):
    """An :class:`ImportanceResult`'s table: the weighted mean and sd, the weighted
    quantiles of the smoothed weights as the interval, per problem the diagnostics
    and the evidence."""
    d = result.d
    w = smoothed_weights(result)[..., None, :]
    x = np.swapaxes(result.samples, -1, -2)      # (*batch, d, n)
    q = weighted_quantiles(x, np.broadcast_to(w, x.shape), ((1 - LEVEL) / 2,
                                                            (1 + LEVEL) / 2))
    sd = np.sqrt(np.diagonal(result.cov, axis1=-2, axis2=-1))
    stats = (result.mean, sd, q[..., 0], q[..., 1])
    per_problem = {"khat": result.khat, "reliable": result.reliable, "ess": result.ess,
                   "log_evidence": result.log_evidence}
    return (result.batch_shape, result.labels,
            {k: np.reshape(v, (-1, d)) for k, v in zip(_STATS, stats)}, per_problem)


def _long(pd, result, content):
    """The table's columns, one row per (problem, term), problems in C order."""
    batch_shape, labels, stats, per_problem = content(result)
    d, terms = result.d, _terms(result)
    n = int(np.prod(batch_shape))
    cols = {}
    if batch_shape:
        # tupleize_cols=False keeps a multi-dimensional batch's index tuples whole
        cols["group"] = pd.Index(_groups(batch_shape, labels),
                                 tupleize_cols=False).repeat(d)
    cols["term"] = pd.Index(terms * n)
    cols.update({k: np.reshape(v, -1) for k, v in stats.items()})
    cols.update({k: np.repeat(np.reshape(v, -1), d) for k, v in per_problem.items()})
    return cols, bool(batch_shape)


def summary(result, content=gaussian_content):
    """The summary frame of :meth:`laplace_fast.LaplaceResult.summary` (and of the
    mixture and importance results, with their ``content``)."""
    pd = _pandas()
    cols, batch = _long(pd, result, content)
    if batch:
        index = pd.MultiIndex.from_arrays([cols["group"], cols["term"]],
                                          names=["group", "term"])
    else:
        index = cols["term"].rename("term")
    return pd.DataFrame({k: cols[k] for k in _STATS}, index=index)


def to_dataframe(result, content=gaussian_content):
    """The long frame of :meth:`laplace_fast.LaplaceResult.to_dataframe` (and of the
    mixture and importance results, with their ``content``)."""
    pd = _pandas()
    cols, _ = _long(pd, result, content)
    return pd.DataFrame({k: np.asarray(v) for k, v in cols.items()})


def by_label(result, label):
    """The problem of a grouped batch whose label is ``label``."""
    if result.labels is None:
        raise TypeError("by_label needs a grouped result (fitted with groups=...); "
                        "this batch has no labels: index it by position instead")
    labels = np.asarray(result.labels).tolist()
    try:
        where = labels.index(label)
    except ValueError:
        raise KeyError(f"no group labelled {label!r} in this result (it has "
                       f"{len(labels)} groups)") from None
    return result[where]


def glmm_frame(result):
    """The long frame of :meth:`laplace_fast.GlmmResult.to_dataframe`."""
    pd = _pandas()
    p, q = result.fixef.size, result.re_cov.shape[0]
    names = list(result.param_names or [f"beta[{j}]" for j in range(p)])
    re_names = list(result.re_names or [f"b[{j}]" for j in range(q)])
    group = result.group_name or "group"
    se = result.fixef_se
    z = special.ndtri(0.5 + LEVEL / 2)
    rows = [("fixed", None, names[j], result.fixef[j], se[j], result.fixef[j] - z * se[j],
             result.fixef[j] + z * se[j]) for j in range(p)]
    sd = np.sqrt(np.diag(result.re_cov))
    rows += [("ran_pars", group, f"sd__{re_names[j]}", sd[j]) for j in range(q)]
    if result.re_structure == "full":
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = result.re_cov / np.outer(sd, sd)
        rows += [("ran_pars", group, f"cor__{re_names[k]}.{re_names[j]}", corr[j, k])
                 for k in range(q) for j in range(k + 1, q)]
    if result.scale is not None:
        rows.append(("ran_pars", "Residual", "sd__Observation", result.scale))
    if result.dispersion is not None:
        rows.append(("ran_pars", "Dispersion", "dispersion", result.dispersion))
    nan = float("nan")
    rows = [tuple(r) + (nan,) * (7 - len(r)) for r in rows]
    frame = pd.DataFrame(rows, columns=["effect", "group", "term", "estimate", "sd",
                                        "lower", "upper"])
    frame["status"] = int(result.status)
    frame["log_likelihood"] = result.log_likelihood
    return frame
