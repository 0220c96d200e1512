"""Bayesian GLMs of a Dask DataFrame, one per group, fitted where the rows are.

:func:`glm_laplace` shuffles the rows so that every group sits in one partition and fits
each partition with the compiled batch (:func:`laplace_fast.glm_laplace` with a formula
and ``groups=``), lazily: the result is a Dask DataFrame of ``to_dataframe()`` rows.
The ``dask`` extra (``pip install laplace_fast[dask]``: dask[dataframe] and distributed)
is imported at the first call.  The computation runs on whatever scheduler is active, a
local one or a cluster's::

    from distributed import Client
    client = Client("tcp://scheduler-host:8786")     # an existing scheduler
    fits = laplace_fast.dask.glm_laplace(ddf, "y ~ x1 + x2", groups="user",
                                         family="logistic")
    fits.to_parquet("fits/")                          # or fits.compute()
"""

import importlib

import numpy as np

from ._lazy import optional_module

__all__ = ["glm_laplace"]

# the column that keeps every row's place in the input while the rows are shuffled
_ROW = "__laplace_fast_row__"
_FLOATS = ("mean", "sd", "lower", "upper")


def _dask_dataframe():
    return optional_module("dask.dataframe", "laplace_fast.dask needs dask", "dask")


def _meta(pd, group_dtype):
    """The empty frame of the result's columns and dtypes."""
    cols = {"group": pd.Series([], dtype=group_dtype),
            "term": pd.Series([], dtype=pd.Index(["term"]).dtype)}
    cols.update({k: pd.Series([], dtype=np.float64) for k in _FLOATS})
    cols["status"] = pd.Series([], dtype=np.int64)
    cols["log_evidence"] = pd.Series([], dtype=np.float64)
    return pd.DataFrame(cols)


def _number_rows(pdf, partition_info=None):
    """The partition with each row's place: its partition number, then its position."""
    k = 0 if partition_info is None else partition_info["number"]
    place = (np.int64(k) << 40) + np.arange(len(pdf), dtype=np.int64)
    return pdf.assign(**{_ROW: place})


def _fit_partition(pdf, formula, groups, options, meta):
    """One partition's groups fitted as one batch, their rows in the input's order."""
    from . import _glm
    if not len(pdf):
        return meta
    pdf = pdf.sort_values(_ROW, kind="stable").drop(columns=_ROW).reset_index(drop=True)
    res = _glm.glm_laplace(formula, data=pdf, groups=groups, **options)
    return res.to_dataframe().astype(meta.dtypes.to_dict())


def glm_laplace(ddf, formula, *, groups, family="logistic", npartitions=None,
                n_threads=1, **options):
    """One Bayesian GLM per group of a Dask DataFrame, lazily, as a Dask DataFrame.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        The rows, in any partitions.
    formula : str
        The model, as for :func:`laplace_fast.glm_laplace` with ``data=`` (formulaic's
        notation over the columns of ``ddf``, the ``formula`` extra).
    groups : str
        The column whose labels group the rows: one GLM per label.
    family : str
        As for :func:`laplace_fast.glm_laplace`.
    npartitions : int, optional
        The partitions after the shuffle (by default those of ``ddf``).
    n_threads : int
        Threads of each partition's fit (default 1: the parallelism is the workers').
    **options
        Any other keyword of :func:`laplace_fast.glm_laplace` (``prior_precision``,
        ``scale``, ``trials``, ``offset``, ...), shared by every partition.

    Returns
    -------
    dask.dataframe.DataFrame
        Lazy: the rows of the in-memory fit's ``to_dataframe()`` (columns ``group``,
        ``term``, ``mean``, ``sd``, ``lower``, ``upper``, ``status``,
        ``log_evidence``), each group's rows in one partition, the partitions in the
        shuffle's order (sorted by group within each).  Nothing is computed until it
        is (``.compute()``, ``.to_parquet(...)``).

    Raises
    ------
    ImportError
        Without dask (``pip install laplace_fast[dask]``).
    TypeError
        ``ddf`` not a Dask DataFrame, ``formula`` not a string.
    ValueError
        ``groups`` not a column of ``ddf``.  A bad formula or column raises, as
        :func:`laplace_fast.glm_laplace` does, when the partitions are computed.

    Notes
    -----
    Each group's result is that of the in-memory ``lf.glm_laplace(formula,
    data=ddf.compute(), groups=groups, ...)`` bit for bit: the shuffle keeps each
    row's place in the input, each partition sorts its rows back into it, and a
    problem's fit depends on its own rows alone.  A partition's LaplaceWarnings (a
    group that failed) are emitted on the worker; the ``status`` column carries them.

    Examples
    --------
    >>> import numpy as np, pandas as pd, dask.dataframe as dd
    >>> import laplace_fast as lf, laplace_fast.dask
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"user": rng.integers(0, 6, 300), "x": rng.standard_normal(300)})
    >>> df["y"] = (rng.random(300) < 1 / (1 + np.exp(-df["x"]))).astype(float)
    >>> ddf = dd.from_pandas(df, npartitions=3)
    >>> fits = laplace_fast.dask.glm_laplace(ddf, "y ~ x", groups="user",
    ...                                      family="logistic")
    >>> fits.columns.tolist()
    ['group', 'term', 'mean', 'sd', 'lower', 'upper', 'status', 'log_evidence']
    >>> got = fits.compute().sort_values(["group", "term"]).reset_index(drop=True)
    >>> ref = lf.glm_laplace("y ~ x", data=df, groups="user").to_dataframe()
    >>> ref = ref.sort_values(["group", "term"]).reset_index(drop=True)
    >>> bool(np.array_equal(got["mean"], ref["mean"])), len(got)
    (True, 12)
    """
    dd = _dask_dataframe()
    pd = importlib.import_module("pandas")
    if not isinstance(ddf, dd.DataFrame):
        raise TypeError(f"ddf must be a dask DataFrame, got {type(ddf).__name__}; for a "
                        "pandas DataFrame use laplace_fast.glm_laplace(formula, data=df)")
    if not isinstance(formula, str):
        raise TypeError(f"formula must be a string such as 'y ~ x1 + x2', got "
                        f"{type(formula).__name__}")
    if not isinstance(groups, str) or groups not in ddf.columns:
        raise ValueError(f"groups={groups!r} is not a column of ddf (it has "
                         f"{', '.join(map(str, ddf.columns))})")
    meta = _meta(pd, ddf[groups].dtype)
    numbered = ddf.map_partitions(_number_rows, meta=ddf._meta.assign(
        **{_ROW: np.array([], dtype=np.int64)}))
    shuffled = numbered.shuffle(on=groups, npartitions=npartitions)
    options = dict(options, family=family, n_threads=n_threads)
    return shuffled.map_partitions(_fit_partition, formula, groups, options, meta,
                                   meta=meta, align_dataframes=False)
