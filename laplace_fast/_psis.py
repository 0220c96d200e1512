"""Pareto-smoothed importance sampling (PSIS), vectorised over a batch of problems.

Vehtari, Simpson, Gelman, Yao and Gabry, "Pareto smoothed importance sampling", JMLR 25
(2024): the largest ``M = ceil(min(S / 5, 3 sqrt(S)))`` of the S importance ratios are
fitted by a generalised Pareto distribution (the estimate of Zhang and Stephens 2009,
Technometrics 51(3), with the weakly informative prior on the shape ``k`` that pulls it
towards 0.5 with the weight of 10 observations), replaced by the fitted distribution's
quantiles at ``(z - 1/2) / M``, ``z = 1..M``, and truncated at the largest raw ratio.
The shape estimate ``khat`` is the diagnostic: the estimate is reliable when ``khat <
min(1 - 1 / log10(S), 0.7)``.

Every step works on the last axis of an array of log ratios, for any leading (batch)
axes at once; each problem's numbers depend on its own ratios only (no reduction mixes
problems, and each runs in the same order whatever the batch), so a problem's result is
bit for bit the same alone and inside a batch.
"""

import math

import numpy as np

__all__ = ["psis", "tail_length", "khat_threshold", "MIN_DRAWS"]

# fewest draws: a tail of M = 10 ratios for the Pareto fit, and a threshold above 0.4
MIN_DRAWS = 50

_PRIOR_K = 10.0         # the prior's weight on k, in observations (Vehtari et al. 2024)
_PRIOR_K_MEAN = 0.5     # where it pulls k
_PRIOR_SCALE = 3.0      # the grid's spread in units of the first quartile (Zhang-Stephens)


def tail_length(n):
    """M = ceil(min(n / 5, 3 sqrt(n))), the ratios in the Pareto tail of n draws."""
    return int(math.ceil(min(0.2 * n, 3.0 * math.sqrt(n))))


def khat_threshold(n):
    """min(1 - 1 / log10(n), 0.7): below it the PSIS estimate of n draws is reliable."""
    return min(1.0 - 1.0 / math.log10(n), 0.7)


def _gpd_fit(x):
    """The generalised Pareto fit of Zhang and Stephens (2009) to exceedances ``x``
    (..., M), sorted ascending along the last axis, each row's largest positive.

    Returns ``k`` (the shape, with the weak prior towards 0.5 applied) and ``sigma``
    (the scale), each of the leading shape.  With ``b = -k / sigma`` and ``k(b) = mean
    log(1 - b x)``, the fit is the posterior mean of ``b`` over ``m = 30 + floor(sqrt(M))``
    grid points weighted by the profile likelihood ``M (log(-b / k(b)) - k(b) - 1)``;
    then ``k = k(b)`` and ``sigma = -k / b`` (``k > 0`` is a heavy tail).
    """
    M = x.shape[-1]
    m = 30 + int(math.sqrt(M))
    xmax = x[..., -1:]
    xq = x[..., int(M / 4 + 0.5) - 1:int(M / 4 + 0.5)]
    # a first quartile tied at the cutoff (zero) leaves the grid's scale to the largest
    xq = np.where(xq > 0, xq, xmax)
    j = np.arange(1, m + 1, dtype=float)
    theta = 1.0 / xmax + (1.0 - np.sqrt(m / (j - 0.5))) / (_PRIOR_SCALE * xq)   # (..., m)
    # theta <= 1 / xmax, so 1 - theta x >= 0 (zero only at j = m if the rounding says so)
    with np.errstate(divide="ignore", invalid="ignore"):
        kt = np.mean(np.log1p(-theta[..., :, None] * x[..., None, :]), axis=-1)
        prof = M * (np.log(-theta / kt) - kt - 1.0)
    prof = np.where(np.isfinite(prof), prof, -np.inf)
    # weights 1 / sum_l exp(L_l - L_j), from the largest profile (no overflow)
    top = np.max(prof, axis=-1, keepdims=True)
    e = np.exp(prof - top)
    w = e / np.sum(e, axis=-1, keepdims=True)
    # grid points of negligible weight are dropped, the rest renormalised
    w = np.where(w >= 10 * np.finfo(float).eps, w, 0.0)
    w = w / np.sum(w, axis=-1, keepdims=True)
    th = np.sum(w * theta, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.mean(np.log1p(-th[..., None] * x), axis=-1)
        sigma = -k / th
    k = (M * k + _PRIOR_K * _PRIOR_K_MEAN) / (M + _PRIOR_K)
    return k, sigma


def _gpd_quantile(p, k, sigma):
    """Quantiles at p (M,) of the generalised Pareto (k, sigma) of each problem (...)."""
    k = k[..., None]
    sigma = sigma[..., None]
    lp = np.log1p(-p)
    safe_k = np.where(k == 0, 1.0, k)
    return np.where(k == 0, -sigma * lp, sigma * np.expm1(-safe_k * lp) / safe_k)


def psis(log_ratios):
    """Pareto-smooth the log importance ratios of every problem.

    Parameters
    ----------
    log_ratios : ndarray, shape (..., S)
        ``log p - log q`` of S draws per problem, finite or ``-inf`` (a draw of zero
        target density), ``S >= MIN_DRAWS``.

    Returns
    -------
    log_weights : ndarray, shape (..., S)
        The smoothed log weights, unnormalised (in the units of ``log_ratios``: the
        ratios below the tail are kept as they are), aligned with the draws.
    khat : ndarray, shape (...)
        The fitted Pareto shape.  ``-inf`` when the tail has no spread (every ratio of
        the tail equals the cutoff, such as an exact Gaussian target), ``inf`` when
        every ratio is ``-inf`` or fewer than M + 1 ratios are finite (then nothing is
        smoothed).

    Notes
    -----
    Per problem: the ratios are shifted by their maximum, the M largest exceed the
    (M + 1)-th largest, ``c``, by ``x = exp(r) - exp(c)``, and those exceedances are
    fitted (:func:`_gpd_fit`) and replaced, in their order, by ``log(c' + q_z)`` with
    ``q_z`` the fitted quantiles and ``c' = exp(c)``, each capped at the largest raw
    ratio.
    """
    lr = np.ascontiguousarray(log_ratios, dtype=np.float64)
    S = lr.shape[-1]
    M = tail_length(S)
    order = np.argsort(lr, axis=-1, kind="stable")
    tail_idx = np.ascontiguousarray(order[..., S - M:])
    top = np.take_along_axis(lr, order[..., S - 1:], axis=-1)              # (..., 1)
    cut = np.take_along_axis(lr, order[..., S - M - 1:S - M], axis=-1)     # (..., 1)
    tail = np.take_along_axis(lr, tail_idx, axis=-1)                       # ascending
    usable = np.isfinite(cut[..., 0])       # M + 1 finite ratios: top and cut finite
    shift = np.where(usable[..., None], top, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        ecut = np.exp(cut - shift)
        x = np.exp(tail - shift) - ecut
    spread = usable & (x[..., -1] > 0)
    xs = np.where(spread[..., None], x, 1.0)    # a placeholder fit where nothing is fitted
    k, sigma = _gpd_fit(xs)
    p = (np.arange(M, dtype=float) + 0.5) / M
    smooth = spread & np.isfinite(k) & np.isfinite(sigma) & (sigma > 0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q = _gpd_quantile(p, np.where(smooth, k, 0.0), np.where(smooth, sigma, 1.0))
        new_tail = np.minimum(np.log(ecut + q), 0.0) + shift
    out = lr.copy()
    np.put_along_axis(out, tail_idx, np.where(smooth[..., None], new_tail, tail), axis=-1)
    khat = np.where(spread, k, np.where(usable, -np.inf, np.inf))
    return out, khat
