"""The first half of :func:`laplace_fast.glm_laplace`: its data validated and laid out,
once, as a :class:`GLMData` that the second half (``fit_glm``) fits under a prior.

The shapes, the group labels, the family's required argument and the layout the
compiled kernel reads (every problem's rows contiguous, ``starts`` giving where each
begins) are settled here; the values themselves (finite, in the family's support) are
checked by the kernel as it fits, in parallel.
"""

import math

import numpy as np

from ._families import FAMILY_TABLE, Family, lookup
from ._glm_results import MODEL_PARAMETERS
from ._objective import real_array, reject_dask

__all__ = ["GLMData", "prepare_glm", "where_text"]

# each keyword a family may require, and the families that use it
_USERS = {p: tuple(f.name for f in FAMILY_TABLE if f.parameter == p)
          for p in {f.parameter for f in FAMILY_TABLE} - {None}}


class GLMData:
    """The data of one call of :func:`laplace_fast.glm_laplace`, laid out for the kernel.

    Attributes
    ----------
    family : Family
        The likelihood's record.
    X : ndarray, shape (N, d)
        Every problem's rows, C-contiguous, problem after problem.
    y, offset, weights, trials : ndarray, shape (N,), or None
        The per-row values in the same order (None when not given).
    starts : ndarray of int64, shape (B + 1,)
        Problem ``b`` is rows ``starts[b]:starts[b + 1]``.
    nmax : int
        The most rows of any problem.
    d : int
        The number of coefficients.
    batch_shape : tuple
        The problems' shape (``()`` for one problem).
    single : bool
        Whether the call is one problem (``X`` of shape (n, d)).
    labels : ndarray or None
        The sorted group labels (grouped input), else None.
    param : ndarray, shape batch_shape
        The family's per-problem parameter (scale, dispersion), zeros when it has none.
    param_names : tuple of str or None
        The column names of a DataFrame ``X``.

    See Also
    --------
    prepare_glm : what builds it.
    fit_glm : what fits it, as often as needed.

    Examples
    --------
    >>> import numpy as np
    >>> import laplace_fast as lf
    >>> X = np.column_stack([np.ones(5), [0.0, 1.0, 2.0, 3.0, 4.0]])
    >>> data = lf.prepare_glm(X, [0, 0, 1, 0, 1], groups=[1, 1, 2, 2, 2])
    >>> data.n_problems, data.nmax, data.d, data.starts.tolist()
    (2, 3, 2, [0, 2, 5])
    >>> data.X[:, 1].tolist()       # problem after problem
    [0.0, 1.0, 2.0, 3.0, 4.0]
    """

    __slots__ = ("family", "X", "y", "offset", "weights", "trials", "starts", "nmax", "d",
                 "batch_shape", "single", "labels", "param", "param_names")

    def __init__(self, *, family, X, y, offset, weights, trials, starts, nmax, d,
                 batch_shape, single, labels, param, param_names):
        self.family = family
        self.X = X
        self.y = y
        self.offset = offset
        self.weights = weights
        self.trials = trials
        self.starts = starts
        self.nmax = nmax
        self.d = d
        self.batch_shape = batch_shape
        self.single = single
        self.labels = labels
        self.param = param
        self.param_names = param_names

    @property
    def n_problems(self):
        """The number of problems (``starts.size - 1``)."""
        return self.starts.size - 1


def where_text(index, batch_shape, labels):
    """' in problem ...' for error messages (empty for a single problem)."""
    if index is None:
        return ""
    if labels is not None:
        label = labels[index]     # a numpy scalar, or the object of an object array
        return f" in group {getattr(label, 'tolist', lambda: label)()!r} (problem {index})"
    idx = np.unravel_index(index, batch_shape)
    idx = int(idx[0]) if len(idx) == 1 else tuple(int(i) for i in idx)
    return f" in problem {idx}"


def _positive_param(value, name, batch_shape):
    a = real_array(value, name)
    if not np.all(np.isfinite(a) & (a > 0)):
        raise ValueError(f"{name} must be finite and positive, got {value!r}")
    try:
        return np.broadcast_to(a, batch_shape)
    except ValueError:
        raise ValueError(f"{name} with shape {a.shape} does not broadcast against the "
                         f"batch shape {batch_shape}") from None


def _per_row(value, name, shape):
    if value is None:
        return None
    a = real_array(value, name)
    if a.ndim and a.shape == tuple(shape) + (1,):
        a = a[..., 0]       # a column, as for y
    try:
        return np.broadcast_to(a, shape)
    except ValueError:
        raise ValueError(f"{name} with shape {a.shape} does not broadcast against y with "
                         f"shape {shape}") from None


def _missing_label(v):
    """whether a group label is missing: None, NaN, NaT or pandas' NA (a label that is
    not equal to itself would otherwise start a group of its own at every row)"""
    if v is None:
        return True
    try:
        return bool(v != v)
    except TypeError:       # pandas' NA: its comparisons are NA, which has no truth value
        return True


def family_arguments(fam, trials, scale, dispersion):
    """ValueError when an argument the family does not use is given, or the one it
    requires is not; else the required one's value (None when it needs none)."""
    given = {"trials": trials, "scale": scale, "dispersion": dispersion}
    for name, value in given.items():
        if value is not None and name != fam.parameter:
            users = " or ".join(repr(n) for n in _USERS[name])
            raise ValueError(f"{name} is only used by family={users}, not {fam.name!r}")
        if value is None and name == fam.parameter:
            raise ValueError(f"{name} is required for family={fam.name!r}")
    return None if fam.parameter is None else given[fam.parameter]


def _grouped(groups, shape):
    """The stable order that groups the rows by label, the sorted labels and each
    group's row count; ValueError or TypeError naming ``groups`` otherwise."""
    reject_dask(groups, "groups")
    groups = np.asarray(groups)
    if groups.shape != shape:
        raise ValueError(f"groups must have shape (N,) = {shape}, got {groups.shape}")
    kind = groups.dtype.kind
    if (kind == "c" or (kind == "f" and not np.all(np.isfinite(groups)))
            or (kind in "mM" and np.any(np.isnat(groups)))
            or (kind == "O" and any(map(_missing_label, groups.tolist())))):
        raise ValueError("groups must be integer or string labels (no NaN, NaT, None "
                         "or complex)")
    try:   # one stable sort: rows grouped by label, in their input order within
        order = np.argsort(groups, kind="stable")
    except TypeError as exc:
        raise TypeError(f"groups labels must be mutually comparable ({exc})") from None
    sg = groups[order]
    first = np.ones(sg.size, dtype=bool)
    first[1:] = sg[1:] != sg[:-1]
    heads = np.flatnonzero(first)
    return order, sg[heads], np.diff(np.append(heads, sg.size))


def prepare_glm(X, y, *, family="logistic", offset=None, weights=None, trials=None,
                scale=None, dispersion=None, groups=None):
    """Validate and lay out the data of :func:`laplace_fast.glm_laplace`, once.

    Parameters
    ----------
    X, y, family, offset, weights, trials, scale, dispersion, groups
        As for :func:`laplace_fast.glm_laplace`, with the same meaning; ``family`` may
        also be a :class:`Family` record.

    Returns
    -------
    GLMData
        The layout the kernel reads, for ``fit_glm`` under any prior.

    Raises
    ------
    ValueError, TypeError
        As :func:`laplace_fast.glm_laplace` raises them for these arguments (shapes,
        labels, the family and its required argument).  The values themselves (NaN,
        the family's support) are checked by the kernel at each fit.

    Examples
    --------
    >>> import numpy as np
    >>> import laplace_fast as lf
    >>> X = np.column_stack([np.ones(6), [0.1, -0.2, 0.3, 0.4, -0.5, 0.6]])
    >>> data = lf.prepare_glm(X, [1, 0, 1, 1, 0, 1], groups=["b", "a", "b", "a", "a", "b"])
    >>> data.family.name, data.batch_shape, data.labels.tolist(), data.starts.tolist()
    ('logistic', (2,), ['a', 'b'], [0, 3, 6])
    """
    fam = family if isinstance(family, Family) else lookup(family)
    required = family_arguments(fam, trials, scale, dispersion)
    if hasattr(X, "tocsr"):     # a scipy.sparse matrix or array
        raise TypeError("X: sparse input is not supported; pass X.toarray()")
    # a pandas DataFrame's column names label the parameters; any other X has none
    param_names = (tuple(str(c) for c in X.columns)
                   if type(X).__name__ == "DataFrame" and hasattr(X, "columns") else None)
    X = real_array(X, "X")
    y = real_array(y, "y")
    if y.ndim == X.ndim and y.shape[-1:] == (1,):   # a column, as patsy or a DataFrame gives
        y = y[..., 0]
    if X.ndim < 2:
        raise ValueError(f"X must have shape (n, d) or (..., n, d), got shape {X.shape}")
    d = X.shape[-1]
    if y.shape != X.shape[:-1]:
        raise ValueError(f"y must have shape X.shape[:-1] = {X.shape[:-1]}, got {y.shape}")
    rows = [y, _per_row(offset, "offset", y.shape), _per_row(weights, "weights", y.shape),
            _per_row(trials, "trials", y.shape)]
    labels = None
    if groups is not None:
        if X.ndim != 2:
            raise ValueError(f"with groups, X must have shape (N, d), got shape {X.shape}")
        order, labels, counts = _grouped(groups, y.shape)
        X = np.ascontiguousarray(X[order])
        rows = [None if a is None else np.ascontiguousarray(a[order]) for a in rows]
        starts = np.zeros(labels.size + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        nmax = int(counts.max()) if counts.size else 0
        batch_shape = (labels.size,)
        single = False
    else:
        batch_shape = X.shape[:-2]
        single = X.ndim == 2
        n = X.shape[-2]
        B = math.prod(batch_shape)
        X = np.ascontiguousarray(X).reshape(B * n, d)
        rows = [None if a is None else np.ascontiguousarray(a).reshape(B * n) for a in rows]
        starts = np.arange(B + 1, dtype=np.int64) * n
        nmax = n if B else 0
    if fam.parameter in MODEL_PARAMETERS:
        param = _positive_param(required, fam.parameter, batch_shape)
    else:
        param = np.zeros(batch_shape)
    return GLMData(family=fam, X=X, y=rows[0], offset=rows[1], weights=rows[2],
                   trials=rows[3], starts=starts, nmax=nmax, d=d, batch_shape=batch_shape,
                   single=single, labels=labels, param=param, param_names=param_names)
