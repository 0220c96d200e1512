"""Results as ArviZ data: draws of the approximation laid out as ``arviz.from_dict``
builds them (an ``InferenceData``; the ``DataTree`` of ArviZ 1 and later).

arviz is an optional extra (``pip install laplace_fast[arviz]``), imported at the first
call, so ``import laplace_fast`` never loads it.  Every function here returns what
``result.to_arviz(n, rng, chains=...)`` documents; the draws are independent, so the
chains are an arbitrary split of ``chains * n`` of them.
"""

import numbers
import textwrap

import numpy as np

from ._lazy import optional_module
from ._status import LaplaceError
from ._tables import _terms
from ._weights import resample

__all__ = ["gaussian", "mixture", "importance", "glmm", "documented"]

# the parameters and errors every result's to_arviz shares, put into its docstring
_SHARED = {
    "parameters": """n : int
    Draws per chain.
rng : numpy.random.Generator, int or None
    Random source (``numpy.random.default_rng(rng)``): the same seed gives the same
    draws.
chains : int
    Chains, each of ``n`` independent draws (so that diagnostics that compare
    chains, such as R-hat, have more than one).""",
    "raises": """ImportError
    When arviz is not installed (``pip install laplace_fast[arviz]``).
TypeError, ValueError
    When ``n`` or ``chains`` is not a positive int."""}


def documented(method):
    """``method`` (a result's ``to_arviz``) with the shared parameters and errors in
    its docstring, each at its placeholder line (``{parameters}``, ``{raises}``) and
    indented as that line is (whether or not the interpreter strips docstrings'
    indentation)."""
    lines = []
    for line in method.__doc__.split("\n"):
        key = line.strip()
        if key in ("{parameters}", "{raises}"):
            indent = line[:len(line) - len(line.lstrip())]
            lines.append(textwrap.indent(_SHARED[key[1:-1]], indent))
        else:
            lines.append(line)
    method.__doc__ = "\n".join(lines)
    return method


def _arviz():
    return optional_module("arviz", "to_arviz needs arviz", "arviz")


def _count(value, name):
    """``value`` as a positive int; TypeError or ValueError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value!r}")
    return int(value)


def _batch_axes(batch_shape, labels):
    """The dimensions and coordinates of a batch: ``group`` with the labels for a
    grouped batch, ``problem`` with the positions for a 1-D one, ``problem_0``,
    ``problem_1``, ... for more dimensions."""
    if labels is not None:
        return ["group"], {"group": np.asarray(labels)}
    if len(batch_shape) == 1:
        return ["problem"], {"problem": np.arange(batch_shape[0])}
    dims = [f"problem_{k}" for k in range(len(batch_shape))]
    return dims, {dim: np.arange(size) for dim, size in zip(dims, batch_shape)}


def _inference_data(variables, dims, coords):
    """``arviz.from_dict`` of the posterior draws, in the call of the installed ArviZ:
    the groups as keywords before 1.0, as one mapping of groups from 1.0 on."""
    az = _arviz()
    if int(az.__version__.split(".")[0]) >= 1:
        return az.from_dict({"posterior": variables}, dims=dims, coords=coords)
    return az.from_dict(posterior=variables, dims=dims, coords=coords)


def _chains_first(draws, nbatch):
    """Draws of shape (*batch, chains, n, d) as (chains, n, *batch, d)."""
    return np.moveaxis(draws, (nbatch, nbatch + 1), (0, 1))


def _theta(draws, result, batch_shape, labels):
    """The posterior ``theta`` (draws with the batch axes in front of the chains), its
    batch dimensions and ``term`` (the tables' names of the parameters)."""
    bdims, coords = _batch_axes(batch_shape, labels) if batch_shape else ([], {})
    coords["term"] = np.asarray(_terms(result))
    return _inference_data({"theta": _chains_first(draws, len(batch_shape))},
                           {"theta": bdims + ["term"]}, coords)


def gaussian(result, n, rng, chains):
    """``to_arviz`` of a Gaussian (Laplace or GLM) result: draws of :meth:`sample`."""
    n, chains = _count(n, "n"), _count(chains, "chains")
    _arviz()
    draws = result.sample((chains, n), rng=rng)
    return _theta(draws, result, result.batch_shape, result.labels)


def mixture(result, n, rng, chains):
    """``to_arviz`` of a :class:`MixtureResult`: draws of its :meth:`sample`."""
    n, chains = _count(n, "n"), _count(chains, "chains")
    _arviz()
    return _theta(result.sample((chains, n), rng=rng), result, (), None)


def importance(result, n, rng, chains):
    """``to_arviz`` of an :class:`ImportanceResult`: its draws resampled with their
    Pareto-smoothed weights."""
    n, chains = _count(n, "n"), _count(chains, "chains")
    _arviz()
    draws = resample(result, chains * n, rng)
    draws = draws.reshape(result.batch_shape + (chains, n, draws.shape[-1]))
    return _theta(draws, result, result.batch_shape, getattr(result, "labels", None))


def _names(given, count, prefix):
    return np.asarray(list(given) if given is not None
                      else [f"{prefix}[{j}]" for j in range(count)])


def glmm(result, n, rng, chains):
    """``to_arviz`` of a :class:`GlmmResult`: ``beta`` from N(fixef, fixef_cov) and
    ``b``, each group's random effect from its conditional posterior, independently."""
    n, chains = _count(n, "n"), _count(chains, "chains")
    _arviz()
    if not np.all(np.isfinite(result.fixef_cov)):
        raise LaplaceError("to_arviz needs the fixed effects' covariance, but it is NaN: "
                           "the objective's Hessian is not negative definite "
                           f"({result.message})")
    gen = np.random.default_rng(rng)
    p, q = result.fixef.size, result.re_cov.shape[0]
    L = np.linalg.cholesky(result.fixef_cov)
    beta = result.fixef + gen.standard_normal((chains, n, p)) @ L.T
    b = _chains_first(result.random_effects.sample((chains, n), rng=gen), 1)
    coords = {"term": _names(getattr(result, "param_names", None), p, "beta"),
              "group": np.asarray(result.labels),
              "re_term": _names(getattr(result, "re_names", None), q, "b")}
    return _inference_data({"beta": beta, "b": b},
                           {"beta": ["term"], "b": ["group", "re_term"]}, coords)
