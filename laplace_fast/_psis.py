"""Pareto-smoothed importance sampling (PSIS), vectorised over a batch of problems.

Vehtari, Simpson, Gelman, Yao and Gabry, "Pareto smoothed importance sampling", JMLR 25
(2024): the largest ``M = ceil(min(S / 5, 3 sqrt(S)))`` of the S importance ratios are
fitted by a generalised Pareto distribution (the estimate of Zhang and Stephens 2009,
Technometrics 51(3), with the weakly informative prior on the shape ``k`` that pulls it
towards 0.5 with the weight of 10 observations), replaced by the fitted distribution's
quantiles at ``(z - 1/2) / M``, ``z = 1..M``, and truncated at the largest raw ratio.
The shape estimate ``khat`` is the diagnostic: the estimate is reliable when ``khat <
min(1 - 1 / log10(S), 0.7)``.

The work is compiled (``src/common/lf_psis.h``, through ``_importance_kernels``): per
problem, a selection of the M + 1 largest ratios (no full sort), the fit and the
smoothing, the problems of a batch in parallel.  Each problem's numbers depend on its own
ratios only, by sums in a fixed order, so a problem's result is bit for bit the same
alone and inside a batch, whatever the thread count.
"""

import math

import numpy as np

from . import _importance_kernels

__all__ = ["psis", "tail_length", "khat_threshold", "MIN_DRAWS", "n_threads"]

# fewest draws: a tail of M = 10 ratios for the Pareto fit, and a threshold above 0.4
MIN_DRAWS = 50


def tail_length(n):
    """M = ceil(min(n / 5, 3 sqrt(n))), the ratios in the Pareto tail of n draws."""
    return int(math.ceil(min(0.2 * n, 3.0 * math.sqrt(n))))


def khat_threshold(n):
    """min(1 - 1 / log10(n), 0.7): below it the PSIS estimate of n draws is reliable."""
    return min(1.0 - 1.0 / math.log10(n), 0.7)


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
    fitted by a generalised Pareto distribution and replaced, in their order, by
    ``log(c' + q_z)`` with ``q_z`` the fitted quantiles and ``c' = exp(c)``, each capped
    at the largest raw ratio.
    """
    lr = np.ascontiguousarray(log_ratios, dtype=np.float64)
    flat = lr.reshape(-1, lr.shape[-1])
    out = np.empty_like(flat)
    khat = np.empty(flat.shape[0])
    _importance_kernels.psis(flat, out, khat, n_threads())
    return out.reshape(lr.shape), khat.reshape(lr.shape[:-1])


def n_threads():
    """The threads of the compiled loops: every core this process may use (no effect
    on any result)."""
    from ._glm import _n_threads     # (_glm imports the results, which import this)
    return _n_threads(None)
