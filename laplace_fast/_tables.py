"""Results as pandas tables: a summary per term and the tidy long frame.

pandas is an optional extra (``pip install laplace_fast[data]``), imported at the first
table asked for, so ``import laplace_fast`` never loads it.
"""

import importlib

import numpy as np

from ._lazy import LazyModule

special = LazyModule("scipy.special")

__all__ = ["summary", "to_dataframe", "by_label", "glmm_frame"]

LEVEL = 0.95    # the level of the tables' intervals
_STATS = ("mean", "sd", "lower", "upper")


def _pandas():
    """The pandas module, or an ImportError saying which extra installs it."""
    try:
        return importlib.import_module("pandas")
    except ImportError:
        raise ImportError("result tables need pandas: pip install laplace_fast[data]"
                          ) from None


def _terms(result):
    """The parameters' names: ``param_names`` when the result has them, else x0, x1, ..."""
    names = getattr(result, "param_names", None)
    return list(names) if names is not None else [f"x{j}" for j in range(result.d)]


def _groups(result):
    """One key per problem, in C order: the label of a grouped batch, else the problem's
    position (an int for a 1-D batch, the index tuple for more dimensions)."""
    if result.labels is not None:
        return np.asarray(result.labels).tolist()
    if len(result.batch_shape) == 1:
        return list(range(result.batch_shape[0]))
    return list(np.ndindex(result.batch_shape))


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


def _long(pd, result):
    """The table's columns, one row per (problem, term), problems in C order."""
    d, terms = result.d, _terms(result)
    n = int(np.prod(result.batch_shape))
    cols = {}
    if result.batch_shape:
        # tupleize_cols=False keeps a multi-dimensional batch's index tuples whole
        cols["group"] = pd.Index(_groups(result),
                                 tupleize_cols=False).repeat(d)
    cols["term"] = pd.Index(terms * n)
    cols.update({k: np.reshape(v, -1) for k, v in _stats(result).items()})
    cols["status"] = np.repeat(np.reshape(np.asarray(result.status, dtype=int), -1), d)
    cols["log_evidence"] = np.repeat(np.reshape(result.log_evidence, -1), d)
    return cols


def summary(result):
    """The summary frame of :meth:`laplace_fast.LaplaceResult.summary`."""
    pd = _pandas()
    cols = _long(pd, result)
    if result.batch_shape:
        index = pd.MultiIndex.from_arrays([cols["group"], cols["term"]],
                                          names=["group", "term"])
    else:
        index = cols["term"].rename("term")
    return pd.DataFrame({k: cols[k] for k in _STATS}, index=index)


def to_dataframe(result):
    """The long frame of :meth:`laplace_fast.LaplaceResult.to_dataframe`."""
    pd = _pandas()
    return pd.DataFrame({k: np.asarray(v) for k, v in _long(pd, result).items()})


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
