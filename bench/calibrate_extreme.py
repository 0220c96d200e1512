"""Calibration of status 3 (EXTREME_PREDICTOR) against importance sampling.

For each generated case the script fits the posterior with ``glm_laplace``, draws from
the Laplace Gaussian N(mode, cov), weighs the draws by log joint - log q (the log joint
from scipy.stats, every constant kept) and estimates the Pareto shape k-hat of the
weights' upper tail (Pareto-smoothed importance sampling: Vehtari, Simpson, Gelman, Yao
and Gabry, JMLR 25, 2024; the generalised Pareto fit of Zhang and Stephens,
Technometrics 51, 2009).  k-hat below 0.5 means the Gaussian is a good proposal for
the posterior, above 0.7 that it is a poor one (its tails too light somewhere).

Beside k-hat it prints the skewness bound that the solver uses to classify a
separation-like fit (src/glm/glm_solver.h, lf_glm_skew), computed here in numpy:

    kappa = sum_i w_i |l_i'''(eta_i)| s_i^3,   s_i^2 = x_i' cov x_i,

the largest third derivative of the log likelihood along any direction of one posterior
standard deviation (an upper bound of it), and the status the solver gives.

    python bench/calibrate_extreme.py            # the table
    python bench/calibrate_extreme.py --draws 20000
"""

import argparse
import warnings

import numpy as np
from scipy import special, stats

import laplace_fast as lf


# ----------------------------------------------------------------------------- k-hat

def gpd_shape(x):
    """Shape k of a generalised Pareto distribution fitted to the exceedances x > 0
    (sorted ascending) by the profile-posterior average of Zhang and Stephens (2009),
    with their weakly informative prior on b and the shrinkage of k towards 0.5 by ten
    pseudo-observations that PSIS uses."""
    n = x.size
    m = 30 + int(np.sqrt(n))
    quartile = x[max(int(n / 4 + 0.5) - 1, 0)]
    theta = 1.0 / x[-1] + (1.0 - np.sqrt(m / (np.arange(1, m + 1) - 0.5))) / (3.0 * quartile)
    k = np.mean(np.log1p(-theta[:, None] * x[None, :]), axis=1)    # shape at each theta
    prof = n * (np.log(-theta / k) - k - 1.0)                        # profile log lik
    wts = np.exp(prof - prof.max())
    wts /= wts.sum()
    theta_hat = np.sum(wts * theta)
    k_hat = np.mean(np.log1p(-theta_hat * x))
    return (n * k_hat + 10 * 0.5) / (n + 10)


def pareto_khat(log_w):
    """PSIS's k-hat of the importance ratios exp(log_w): the GPD shape of the largest
    M = min(S / 5, 3 sqrt(S)) ratios above the next one."""
    S = log_w.size
    if np.ptp(log_w) < 1e-6:     # the Gaussian is the posterior to rounding: no tail
        return -np.inf
    M = int(min(S / 5, 3 * np.sqrt(S)))
    lw = np.sort(log_w - log_w.max())
    tail, cut = lw[-M:], lw[-M - 1]
    x = np.exp(tail) - np.exp(cut)
    x = x[x > 0]
    if x.size < 5:
        return np.nan
    return gpd_shape(np.sort(x))


# ----------------------------------------------------------------------------- models

def loglik(family, eta, y, trials=None):
    if family == "logistic":
        return np.where(y == 1, special.log_expit(eta), special.log_expit(-eta))
    if family == "probit":
        return np.where(y == 1, special.log_ndtr(eta), special.log_ndtr(-eta))
    if family == "binomial":
        return stats.binom.logpmf(y, trials, special.expit(eta))
    return stats.poisson.logpmf(y, np.exp(eta))


def third_derivative(family, eta, y, trials=None):
    """|d^3 l / d eta^3| per row."""
    if family in ("logistic", "binomial"):
        p = special.expit(eta)
        t = 1.0 if trials is None else trials
        return t * np.abs(p * (1 - p) * (1 - 2 * p))
    if family == "probit":
        q = 2 * y - 1
        z = q * eta
        lam = np.exp(stats.norm.logpdf(z) - special.log_ndtr(z))
        h = lam * (lam + z)
        return np.abs(lam - h * (2 * lam + z))
    return np.exp(eta)


def kappa(family, X, y, res, offset, trials=None):
    eta = X @ res.mode + offset
    s2 = np.einsum("ij,jk,ik->i", X, res.cov, X)
    return float(np.sum(third_derivative(family, eta, y, trials) * s2 ** 1.5))


def case_khat(family, X, y, prec, offset, draws, rng, trials=None):
    n, d = X.shape
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lf.LaplaceWarning)
        kw = {"trials": trials} if family == "binomial" else {}
        res = lf.glm_laplace(X, y, family=family, prior_precision=prec, offset=offset,
                             maxiter=1000, **kw)
    if res.status < 0:
        return res, np.nan, np.nan
    th = res.sample(draws, rng=rng)
    eta = th @ X.T + offset
    lj = loglik(family, eta, y, trials).sum(axis=1) + stats.multivariate_normal.logpdf(
        th, np.zeros(d), np.eye(d) / prec)
    lq = res.logpdf(th)
    return res, pareto_khat(lj - lq), kappa(family, X, y, res, offset, trials)


def cases(rng):
    """(label, family, X, y, prior precision, offset[, trials])"""
    out = []
    for family in ("logistic", "probit"):
        for n in (5, 10, 30, 100):
            for prec in (0.01, 0.1, 1.0, 10.0):
                X1 = np.ones((n, 1))
                out.append((f"{family} n={n} all y=0, intercept", family, X1, np.zeros(n),
                            prec, np.zeros(n)))
                X2 = np.column_stack([np.ones(n), rng.standard_normal(n)])
                y = (rng.random(n) < 0.05).astype(float)
                out.append((f"{family} n={n} rare y (5%), d=2", family, X2, y, prec,
                            np.zeros(n)))
                ys = (X2[:, 1] > 0).astype(float)
                out.append((f"{family} n={n} separated, d=2", family, X2, ys, prec,
                            np.zeros(n)))
    for n in (5, 10, 30, 100):
        for prec in (0.01, 0.1, 1.0, 10.0):
            X1 = np.ones((n, 1))
            out.append((f"poisson n={n} all y=0, intercept", "poisson", X1, np.zeros(n),
                        prec, np.zeros(n)))
            X2 = np.column_stack([np.ones(n), rng.standard_normal(n)])
            out.append((f"poisson n={n} all y=0, offset -40, d=2", "poisson", X2,
                        np.zeros(n), prec, np.full(n, -40.0)))
            t = np.full(n, 3.0)
            out.append((f"binomial n={n} t=3 all y=0, intercept", "binomial", X1,
                        np.zeros(n), prec, np.zeros(n), t))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--draws", type=int, default=8000)
    args = ap.parse_args(argv)
    rng = np.random.default_rng(20261207)
    print(f"{'case':<44s} {'prec':>6s} {'k-hat':>6s} {'kappa':>9s} status")
    rows = []
    for c in cases(rng):
        label, family, X, y, prec, off = c[:6]
        trials = c[6] if len(c) > 6 else None
        res, k, kap = case_khat(family, X, y, prec, off, args.draws,
                                np.random.default_rng(1), trials)
        rows.append((k, kap, int(res.status)))
        print(f"{label:<44s} {prec:6g} {k:6.2f} {kap:9.3g} {int(res.status)}")
    return rows


if __name__ == "__main__":
    main()
