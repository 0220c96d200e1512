"""The normalised Pareto-smoothed weights of an :class:`ImportanceResult`, and what is
read from them: weighted quantiles (the tables' intervals) and resampled draws
(``to_arviz``)."""

import numpy as np

from ._psis import psis
from ._status import LaplaceError

__all__ = ["smoothed_weights", "weighted_quantiles", "resample"]


def smoothed_weights(imp):
    """The smoothed weights of every draw, normalised to sum to one per problem, shape
    ``(*batch, n)``; NaN for a problem without a draw of positive target density."""
    smoothed, _ = psis(np.ascontiguousarray(imp.log_weights))
    top = np.max(smoothed, axis=-1, keepdims=True)
    alive = np.isfinite(top)
    e = np.exp(smoothed - np.where(alive, top, 0.0))
    tot = np.sum(e, axis=-1, keepdims=True)
    return np.where(alive, e / np.where(alive, tot, 1.0), np.nan)


def weighted_quantiles(x, w, probs):
    """Quantiles ``probs`` of the draws ``x`` (..., n) weighted by ``w`` (..., n, summing
    to one): the smallest draw whose cumulative weight reaches each probability (the
    inverse of the weighted empirical CDF).  Shape ``(..., len(probs))``; NaN where the
    weights are NaN."""
    order = np.argsort(x, axis=-1, kind="stable")
    xs = np.take_along_axis(x, order, axis=-1)
    cw = np.cumsum(np.take_along_axis(w, order, axis=-1), axis=-1)
    out = np.empty(x.shape[:-1] + (len(probs),))
    for k, p in enumerate(probs):
        # the first position whose cumulative weight reaches p (the last one when
        # rounding leaves the total a hair under p)
        at = np.minimum(np.sum(cw < p, axis=-1), x.shape[-1] - 1)
        out[..., k] = np.take_along_axis(xs, at[..., None], axis=-1)[..., 0]
    return np.where(np.isnan(w[..., :1]), np.nan, out)


def resample(imp, size, rng):
    """``size`` draws of every problem, drawn with replacement from its importance
    draws with the smoothed weights as probabilities: shape ``(*batch, size, d)``.
    LaplaceError when a problem has no draw of positive target density."""
    w = smoothed_weights(imp)
    dead = np.isnan(w[..., 0])
    if np.any(dead):
        at = tuple(int(v) for v in np.argwhere(dead)[0]) if imp.batch_shape else ()
        raise LaplaceError(f"no draw has a positive target density (log_post is -inf at "
                           f"every one), at problem {at}: there is nothing to resample")
    gen = np.random.default_rng(rng)
    n, d = imp.samples.shape[-2:]
    flat_w = w.reshape(-1, n)
    flat_x = imp.samples.reshape(-1, n, d)
    out = np.stack([x[gen.choice(n, size=size, p=p)] for x, p in zip(flat_x, flat_w)])
    return out.reshape(imp.batch_shape + (size, d))
