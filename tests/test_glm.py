"""glm_laplace against independent references: a plain numpy damped Newton with
scipy.stats log-likelihoods, statsmodels (its GLMs and its own Laplace approximation),
scikit-learn, the conjugate Gaussian closed form and numdifftools; plus the elementary
functions of the kernel against numpy/scipy."""

import functools
import inspect
import warnings

import numpy as np
import pytest
from scipy import special, stats

import laplace_fast as lf
from laplace_fast import _glm_kernels as K
from laplace_fast import _glm_testing as T

FAMS = ["logistic", "probit", "poisson", "binomial", "negative_binomial", "gaussian"]


# ----------------------------------------------------------------- independent reference

def loglik(family, eta, y, *, trials=None, scale=None, dispersion=None, weights=None):
    """Per-row log-likelihoods from scipy.stats (every constant kept)."""
    if family == "logistic":
        ll = stats.bernoulli.logpmf(y, special.expit(eta))
        ll = np.where(y == 1, special.log_expit(eta), special.log_expit(-eta))
    elif family == "probit":
        ll = np.where(y == 1, special.log_ndtr(eta), special.log_ndtr(-eta))
    elif family == "poisson":
        ll = stats.poisson.logpmf(y, np.exp(eta))
    elif family == "binomial":
        ll = stats.binom.logpmf(y, trials, special.expit(eta))
    elif family == "negative_binomial":
        r = 1.0 / dispersion
        mu = np.exp(eta)
        ll = stats.nbinom.logpmf(y, r, r / (r + mu))
    else:
        ll = stats.norm.logpdf(y, eta, scale)
    if weights is not None:
        ll = np.where(weights == 0, 0.0, weights * ll)
    return ll


def mills_tail_cf(x):
    """lambda(-x) - x = 1/R(x) - x for x >= 5 (R Mills' ratio) by Laplace's continued
    fraction (A&S 26.2.14), 1 / (x + 2 / (x + 3 / (x + ...))): converged to rounding
    there at 100 terms."""
    t = 0.0
    for k in range(100, 1, -1):
        t = k / (x + t)
    return 1 / (x + t)


def eta_derivs(family, eta, y, *, trials=None, scale=None, dispersion=None):
    """First derivative and minus the second derivative of the log-likelihood in eta."""
    if family == "logistic":
        p = special.expit(eta)
        return y - p, p * (1 - p)
    if family == "binomial":
        p = special.expit(eta)
        return y - trials * p, trials * p * (1 - p)
    if family == "poisson":
        mu = np.exp(eta)
        return y - mu, mu
    if family == "negative_binomial":
        r = 1.0 / dispersion
        mu = np.exp(eta)
        return r * (y - mu) / (r + mu), (y + r) * r * mu / (r + mu) ** 2
    if family == "probit":
        q = 2 * y - 1
        z = q * eta
        lam = np.exp(-0.5 * z * z - 0.5 * np.log(2 * np.pi) - special.log_ndtr(z))
        # below z = -5 lam + z cancels: the continued fraction for it there
        far, x = z < -5, np.maximum(-z, 5.0)
        tail = np.where(far, mills_tail_cf(x), lam + z)
        lam = np.where(far, x + tail, lam)
        return q * lam, lam * tail
    return (y - eta) / scale**2, np.full_like(eta, 1.0 / scale**2)


def irls_start(X, y, family, P, m, off, wts, *, trials=None, scale=None, dispersion=None):
    """One penalised IRLS step from the starting means of R's glm families (McCullagh &
    Nelder, sec. 2.5): mu0 = y + 0.1 (log link), (y + 1/2) / 2 (logistic, probit),
    t (y + 1/2) / (t + 1) (binomial), y (gaussian); working weights and response at
    eta0 = link(mu0) by the textbook formulas, with scipy's logit, ndtri and norm.pdf."""
    if family in ("poisson", "negative_binomial"):
        mu = y + 0.1
        eta0 = np.log(mu)
        var = mu if family == "poisson" else mu + dispersion * mu**2
        dmu = mu                                        # dmu/deta
    elif family in ("logistic", "binomial"):
        t = np.ones_like(y) if trials is None else trials
        p = (y + 0.5) / (t + 1)
        mu, eta0 = t * p, special.logit(p)
        var = dmu = t * p * (1 - p)
    elif family == "probit":
        mu = (y + 0.5) / 2
        eta0 = special.ndtri(mu)
        var, dmu = mu * (1 - mu), stats.norm.pdf(eta0)
    else:
        mu = eta0 = y
        var, dmu = np.full_like(y, scale**2), np.ones_like(y)
    W = wts * dmu**2 / var
    z = eta0 - off + (y - mu) / dmu
    return np.linalg.solve(X.T @ (W[:, None] * X) + P, X.T @ (W * z) + P @ m)


def reference_fit(X, y, family="logistic", P=None, m=None, offset=None, weights=None,
                  halvings=None, start="prior mean", maxiter=200, **kw):
    """Plain numpy damped Newton from the prior mean or (start="irls") from irls_start;
    returns mode, cov, log joint, log evidence.  The number of halved trial steps is
    appended to the list ``halvings`` when one is given."""
    n, d = X.shape
    P = np.eye(d) if P is None else np.asarray(P, float)
    m = np.zeros(d) if m is None else np.asarray(m, float)
    off = np.zeros(n) if offset is None else offset
    wts = np.ones(n) if weights is None else weights

    def logjoint(w):
        return (np.sum(loglik(family, X @ w + off, y, weights=wts, **kw))
                + stats.multivariate_normal.logpdf(w, m, np.linalg.inv(P)))

    w = m.copy() if start == "prior mean" else irls_start(X, y, family, P, m, off, wts, **kw)
    L = logjoint(w)
    halved = 0
    for _ in range(maxiter):
        g, h = eta_derivs(family, X @ w + off, y, **kw)
        G = X.T @ (wts * g) - P @ (w - m)
        A = X.T @ ((wts * h)[:, None] * X) + P
        step = np.linalg.solve(A, G)
        if np.max(np.abs(step) / (1 + np.abs(w))) < 1e-13:
            break
        t = 1.0
        while True:
            with np.errstate(over="ignore", invalid="ignore"):  # overflow: halve
                Lt = logjoint(w + t * step)
            if np.isfinite(Lt) and Lt >= L + 1e-4 * t * (G @ step) - 1e-12 * abs(L):
                break
            t /= 2
            halved += 1
        w, L = w + t * step, Lt
    if halvings is not None:
        halvings.append(halved)
    g, h = eta_derivs(family, X @ w + off, y, **kw)
    A = X.T @ ((wts * h)[:, None] * X) + P
    cov = np.linalg.inv(A)
    ev = L + 0.5 * d * np.log(2 * np.pi) - 0.5 * np.linalg.slogdet(A)[1]
    return w, cov, L, ev


def make_data(family, n=60, d=3, seed=0, batch=()):
    rng = np.random.default_rng(seed)
    X = np.concatenate([np.ones(batch + (n, 1)), rng.standard_normal(batch + (n, d - 1))], -1)
    w = 0.5 * rng.standard_normal(batch + (d,))
    eta = np.einsum("...nd,...d->...n", X, w)
    kw = {}
    if family == "logistic":
        y = (rng.random(eta.shape) < special.expit(eta)).astype(float)
    elif family == "probit":
        y = (rng.random(eta.shape) < special.ndtr(eta)).astype(float)
    elif family == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    elif family == "binomial":
        t = rng.integers(1, 8, eta.shape).astype(float)
        y = rng.binomial(t.astype(int), special.expit(eta)).astype(float)
        kw["trials"] = t
    elif family == "negative_binomial":
        kw["dispersion"] = 0.7
        r = 1 / 0.7
        y = rng.negative_binomial(r, r / (r + np.exp(eta))).astype(float)
    else:
        kw["scale"] = 0.8
        y = eta + 0.8 * rng.standard_normal(eta.shape)
    return X, y, kw


# ----------------------------------------------------------------- elementary functions

@pytest.fixture(params=[True, False], ids=["contracted", "plain"])
def elementary(request):
    """The kernels' elementary functions as the family kernels compile them (multiply-adds
    fused where the CPU has FMA) and as the rest of the solver does."""
    return functools.partial(T.elementary, contracted=request.param)


def test_exp_matches_numpy(elementary):
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.uniform(-708, 709.7, 200_000), rng.uniform(-1, 1, 50_000),
                        rng.uniform(-1e-8, 1e-8, 1000), [0.0, -0.0, 709.78, -708.3]])
    ref = np.exp(x)
    assert np.max(np.abs(elementary("exp", x) / ref - 1)) < 1e-15
    sub = np.linspace(-745.1, -708.5, 5000)          # subnormal results
    assert np.max(np.abs(elementary("exp", sub) - np.exp(sub))) <= 2 * 5e-324
    special_x = [np.nan, np.inf, -np.inf, 710.0, -746.0, 1e308, -1e308]
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(elementary("exp", special_x),
                                      np.exp(special_x))


def test_exp_of_non_positive_arguments_matches_numpy(elementary):
    # the sigmoid families' exp: the bits of the general one down to 2^-1022, 0 below
    rng = np.random.default_rng(11)
    x = np.concatenate([rng.uniform(-708.39, 0, 200_000), rng.uniform(-1e-8, 0, 1000),
                        [0.0, -0.0, -708.39, -708.3]])
    got = elementary("exp_neg", x)
    assert np.max(np.abs(got / np.exp(x) - 1)) < 1e-15
    np.testing.assert_array_equal(got, elementary("exp", x))
    np.testing.assert_array_equal(elementary("exp_neg", [-708.4, -745.2, -1e308, -np.inf]),
                                  0.0)
    assert np.isnan(elementary("exp_neg", [np.nan])[0])


def test_exp_in_the_normal_range_has_the_bits_of_the_general_one(elementary):
    # the Poisson terms' exp where e^x is a normal number, -708 <= x <= 709
    rng = np.random.default_rng(13)
    x = np.concatenate([rng.uniform(-708, 709, 200_000), rng.uniform(-1e-8, 1e-8, 1000),
                        [-708.0, 709.0, 0.0, -0.0]])
    got = elementary("exp_normal", x)
    assert np.max(np.abs(got / np.exp(x) - 1)) < 1e-15
    np.testing.assert_array_equal(got, elementary("exp", x))


def test_log_of_positive_numbers_matches_numpy(elementary):
    # the start's working predictor: log(y + 0.1), log(y + 1/2) and the like
    rng = np.random.default_rng(23)
    x = np.concatenate([10 ** rng.uniform(-300, 300, 100_000), rng.uniform(0.1, 1e4, 100_000),
                        np.arange(0, 2000) + 0.1, [2.2250738585072014e-308, 1.0, 2.0, 0.5,
                                                   1.7976931348623157e308]])
    got = elementary("log_pos", x)
    want = np.log(x)
    assert np.max(np.abs(got - want) / np.maximum(1.0, np.abs(want))) < 4e-16
    assert got[-4] == 0.0


def test_log1p_and_softplus_match_numpy(elementary):
    rng = np.random.default_rng(2)
    u = np.concatenate([rng.uniform(0, 1, 100_000), 10 ** rng.uniform(-300, 0, 100_000),
                        [1e-320, 0.41421356237309503, 0.4142135623730951, 1.0]])
    assert np.max(np.abs(elementary("log1p_unit", u) / np.log1p(u) - 1)) < 1e-15
    assert elementary("log1p_unit", [0.0])[0] == 0.0
    assert np.isnan(elementary("log1p_unit", [np.nan])[0])
    x = np.concatenate([rng.uniform(-50, 50, 100_000), [-800, 800, 0]])
    ref = np.logaddexp(0, x)
    got = elementary("softplus", x)
    assert np.max(np.abs(got - ref) / np.maximum(ref, 1e-300)) < 2e-15


def test_normal_tail_functions_match_scipy(elementary):
    z = np.concatenate([np.linspace(-1e4, -30, 500), np.linspace(-30, 37, 6000)])
    ref = special.log_ndtr(z)
    got = elementary("log_ndtr", z)
    # scipy's upper tail rounds z^2 in exp(-z^2 / 2): its error grows as z^2 eps there
    tol = np.where(z > 0, np.maximum(1e-14, 4e-16 * z**2), 2e-15)
    assert np.all(np.abs(got - ref) <= tol * np.abs(ref))
    zl = np.linspace(-35, 8, 2000)
    lam = np.exp(-0.5 * zl**2 - 0.5 * np.log(2 * np.pi) - special.log_ndtr(zl))
    assert np.max(np.abs(elementary("mills", zl) / lam - 1)) < 1e-12
    # lambda + z without cancellation: against its own series far in the tail
    x = np.array([40.0, 100.0, 1000.0])
    series = 1 / x - 2 / x**3 + 10 / x**5 - 74 / x**7
    assert np.allclose(elementary("mills_tail", -x), series, rtol=1e-9)
    # the lower tail against Laplace's continued fraction
    x = 10 ** np.linspace(np.log10(5), 8, 2000)
    tail = mills_tail_cf(x)
    assert np.max(np.abs(elementary("mills_tail", -x) / tail - 1)) < 2e-15
    assert np.max(np.abs(elementary("mills", -x) / (x + tail) - 1)) < 1e-15
    log_phi = -0.5 * x**2 - 0.5 * np.log(2 * np.pi) - np.log(x + tail)
    assert np.max(np.abs(elementary("log_ndtr", -x) / log_phi - 1)) < 1e-15
    # the ends: Phi(0) = 1/2, lambda(0) = sqrt(2 / pi); +inf, -inf and NaN
    assert elementary("log_ndtr", [0.0])[0] == pytest.approx(-np.log(2), rel=1e-16)
    assert elementary("mills", [0.0])[0] == pytest.approx(np.sqrt(2 / np.pi), rel=1e-16)
    assert list(elementary("log_ndtr", [np.inf, -np.inf])) == [0.0, -np.inf]
    assert list(elementary("mills", [np.inf, -np.inf])) == [0.0, np.inf]
    assert list(elementary("mills_tail", [np.inf, -np.inf])) == [np.inf, 0.0]
    for name in ("log_ndtr", "mills", "mills_tail"):
        assert np.isnan(elementary(name, [np.nan])[0])


def test_lgamma_and_logfactorial_match_scipy(elementary):
    rng = np.random.default_rng(3)
    x = np.concatenate([10 ** rng.uniform(-300, 7, 20_000), rng.uniform(0, 12, 20_000),
                        [1e-300, 0.5, 1, 2, 3, 9.99, 10.0, 10.01, 1e300]])
    ref = special.gammaln(x)
    got = elementary("lgamma", x)
    # below 10 lgamma(x + 8 or 10) - log(product) cancels: 1.1e-14 at worst (x ~ 1.4)
    assert np.max(np.abs(got - ref) / np.maximum(1, np.abs(ref))) < 1.5e-14
    y = np.concatenate([np.arange(0, 3000.0), rng.integers(0, 2**45, 5000).astype(float)])
    ref = special.gammaln(y + 1)
    assert np.max(np.abs(elementary("logfact", y) - ref) / np.maximum(1, ref)) < 1e-15


# ----------------------------------------------------------------- numbers

@pytest.mark.parametrize("family", FAMS)
def test_single_problem_matches_numpy_reference(family):
    X, y, kw = make_data(family, n=80, d=3, seed=4)
    rng = np.random.default_rng(5)
    P = np.array([[2.0, 0.3, 0.0], [0.3, 1.0, 0.2], [0.0, 0.2, 0.5]])
    m = np.array([0.1, -0.2, 0.3])
    off = 0.1 * rng.standard_normal(80)
    wts = rng.uniform(0, 2, 80)
    wts[:5] = 0
    res = lf.glm_laplace(X, y, family=family, prior_precision=P, prior_mean=m, offset=off,
                         weights=wts, **kw)
    w, cov, L, ev = reference_fit(X, y, family, P, m, off, wts, **kw)
    assert res.status == 0 and res.converged
    np.testing.assert_allclose(res.mode, w, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.cov, cov, rtol=1e-8)
    np.testing.assert_allclose(res.hessian, -np.linalg.inv(cov), rtol=1e-8)
    assert res.logp == pytest.approx(L, rel=1e-11, abs=1e-10)
    assert res.log_evidence == pytest.approx(ev, rel=1e-11, abs=1e-10)


@pytest.mark.parametrize("n", [1, 7, 8, 9, 255, 256, 257, 1000, 5000])
def test_unweighted_logistic_value_at_the_mode_matches_scipy(n):
    # the kernel sums log1p(exp(-|eta|)) over a block as the log of a product; the value
    # at the returned mode must be scipy's to rounding, for every tail and block count,
    # and with |eta| above 15 (factors 1 + e that round to 1)
    rng = np.random.default_rng(n)
    X = np.column_stack([np.ones(n), rng.uniform(-16, 16, n)])
    y = (rng.random(n) < special.expit(X @ [0.3, 1.5])).astype(float)
    P = np.diag([1.0, 0.2])
    with warnings.catch_warnings():     # small n: separable, status 3 (EXTREME_PREDICTOR)
        warnings.simplefilter("ignore", lf.LaplaceWarning)
        res = lf.glm_laplace(X, y, prior_precision=P)
    assert res.status in (0, 3) and res.converged
    eta = X @ res.mode
    assert n < 255 or np.abs(eta).max() > 15
    L = (np.sum(loglik("logistic", eta, y))
         + stats.multivariate_normal.logpdf(res.mode, np.zeros(2), np.linalg.inv(P)))
    assert res.logp == pytest.approx(L, rel=1e-13, abs=1e-13)


def test_gaussian_equals_conjugate_closed_form():
    rng = np.random.default_rng(6)
    n, d, s = 40, 4, 0.7
    X = rng.standard_normal((n, d))
    y = rng.standard_normal(n)
    Q = rng.standard_normal((d, d))
    P = Q @ Q.T + d * np.eye(d)
    m = rng.standard_normal(d)
    res = lf.glm_laplace(X, y, family="gaussian", scale=s, prior_precision=P, prior_mean=m)
    A = X.T @ X / s**2 + P
    cov = np.linalg.inv(A)
    mode = cov @ (X.T @ y / s**2 + P @ m)
    # marginal likelihood: y ~ N(X m, s^2 I + X P^-1 X^T)
    ev = stats.multivariate_normal.logpdf(y, X @ m, s**2 * np.eye(n) + X @ np.linalg.inv(P) @ X.T)
    np.testing.assert_allclose(res.mode, mode, rtol=1e-12)
    np.testing.assert_allclose(res.cov, cov, rtol=1e-12)
    assert res.log_evidence == pytest.approx(ev, rel=1e-13)
    assert res.niter == 0       # the start, an IRLS step from mu = y, is the exact mode


def test_weights_are_frequency_weights():
    X, y, kw = make_data("poisson", n=30, seed=7)
    w = np.arange(30) % 3
    a = lf.glm_laplace(X, y, family="poisson", weights=w)
    rows = np.repeat(np.arange(30), w)
    b = lf.glm_laplace(X[rows], y[rows], family="poisson")
    np.testing.assert_allclose(a.mode, b.mode, rtol=1e-12)
    assert a.log_evidence == pytest.approx(b.log_evidence, rel=1e-12)


def test_probit_far_in_both_tails_matches_the_reference():
    # Offsets put eta at -40..40, where log Phi, lambda and lambda + z come from the
    # polynomial's far end and phi(z) is ~1e-300: the mode, covariance and evidence
    # against the plain numpy Newton (scipy's log_ndtr; lambda + z from Laplace's
    # continued fraction below z = -5), for y on either side of its tail.
    rng = np.random.default_rng(29)
    n = 80
    X = np.column_stack([np.ones(n), rng.standard_normal(n)])
    off = rng.uniform(-40, 40, n)
    y = (rng.random(n) < 0.5).astype(float)      # many rows far in the wrong tail
    # |eta| > 36 screens the fit for status 3, but the rows in the wrong tail are nearly
    # quadratic (log Phi(z) ~ -z^2/2) and make the posterior narrow: its skewness bound
    # is 0.004, far below 2, so the Gaussian is good and the status 0
    res = lf.glm_laplace(X, y, family="probit", offset=off, prior_precision=4.0)
    w, cov, L, ev = reference_fit(X, y, "probit", P=4.0 * np.eye(2), offset=off)
    assert res.status == lf.Status.OK
    np.testing.assert_allclose(res.mode, w, rtol=1e-12)
    np.testing.assert_allclose(res.cov, cov, rtol=1e-12)
    assert res.log_evidence == pytest.approx(ev, rel=1e-14)


@pytest.mark.parametrize("family", FAMS)
def test_matches_statsmodels_mle_and_loglike(family):
    sm = pytest.importorskip("statsmodels.api")
    X, y, kw = make_data(family, n=300, d=3, seed=8)
    alpha = 1e-10                     # flat prior: the mode is the MLE
    res = lf.glm_laplace(X, y, family=family, prior_precision=alpha, **kw)
    if family == "logistic":
        model = sm.GLM(y, X, family=sm.families.Binomial())
    elif family == "probit":
        model = sm.GLM(y, X, family=sm.families.Binomial(link=sm.families.links.Probit()))
    elif family == "poisson":
        model = sm.GLM(y, X, family=sm.families.Poisson())
    elif family == "binomial":
        t = kw["trials"]
        model = sm.GLM(np.column_stack([y, t - y]), X, family=sm.families.Binomial())
    elif family == "negative_binomial":
        model = sm.GLM(y, X, family=sm.families.NegativeBinomial(alpha=kw["dispersion"]))
    else:
        model = sm.GLM(y, X, family=sm.families.Gaussian())
    fit = model.fit(tol=1e-14, maxiter=200)
    np.testing.assert_allclose(res.mode, fit.params, rtol=1e-7, atol=1e-8)
    if family != "gaussian":  # statsmodels estimates the gaussian scale
        # the observed information (the expected one differs for non-canonical links)
        H = model.hessian(res.mode, observed=True)
        np.testing.assert_allclose(res.hessian, H - alpha * np.eye(3), rtol=1e-9)
    # the normalising constants: the log-likelihood part of logp at our mode
    logprior = stats.multivariate_normal.logpdf(res.mode, np.zeros(3), np.eye(3) / alpha)
    sm_ll = (model.loglike(res.mode, scale=kw["scale"] ** 2) if family == "gaussian"
             else model.loglike(res.mode))
    assert res.logp - logprior == pytest.approx(sm_ll, rel=1e-11)


def test_matches_sklearn_penalised_logistic_and_poisson():
    sklm = pytest.importorskip("sklearn.linear_model")
    X, y, _ = make_data("logistic", n=200, d=4, seed=9)
    alpha = 2.0
    res = lf.glm_laplace(X, y, prior_precision=alpha)
    sk = sklm.LogisticRegression(C=1 / alpha, fit_intercept=False, tol=1e-12,
                                 solver="newton-cholesky", max_iter=500).fit(X, y)
    np.testing.assert_allclose(res.mode, sk.coef_[0], rtol=1e-7, atol=1e-9)
    X, y, _ = make_data("poisson", n=200, d=4, seed=10)
    a_sk = 0.01    # sklearn: mean deviance / 2 + a/2 |w|^2  ->  precision n * a
    res = lf.glm_laplace(X, y, family="poisson", prior_precision=200 * a_sk)
    sk = sklm.PoissonRegressor(alpha=a_sk, fit_intercept=False, tol=1e-12,
                               solver="newton-cholesky", max_iter=500).fit(X, y)
    np.testing.assert_allclose(res.mode, sk.coef_, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("family", ["logistic", "poisson"])
def test_matches_statsmodels_laplace_approximation(family):
    """statsmodels' Bayesian mixed GLMs build a Laplace approximation of their own
    (fit_map: BFGS to the mode, then a finite-difference Hessian of the analytic
    gradient).  With a random-effect column of zeros, the fixed effects' block of that
    posterior is exactly ours under the prior N(0, fe_p^2 I): the variance parameters
    and random effects decouple (the Hessian is block diagonal at the mode)."""
    bmg = pytest.importorskip("statsmodels.genmod.bayes_mixed_glm")
    from statsmodels.tools.sm_exceptions import ConvergenceWarning
    X, y, _ = make_data(family, n=200, d=3, seed=21)
    fe_p = 1.5
    res = lf.glm_laplace(X, y, family=family, prior_precision=1 / fe_p**2)
    cls = bmg.BinomialBayesMixedGLM if family == "logistic" else bmg.PoissonBayesMixedGLM
    model = cls(y, X, np.zeros((y.size, 1)), np.array([0]), vcp_p=1.0, fe_p=fe_p)
    with warnings.catch_warnings():
        # BFGS reports a loss of precision once the gradient is at rounding level
        warnings.simplefilter("ignore", ConvergenceWarning)
        seed = {"rng": 0} if "rng" in inspect.signature(model.fit_map).parameters else {}
        fit = model.fit_map(minim_opts={"gtol": 1e-8}, **seed)   # seeds the start (0.15+)
    cov = fit.cov_params()
    assert np.all(cov[:3, 3:] == 0)                      # the blocks decouple
    np.testing.assert_allclose(res.mode, fit.params[:3], rtol=0, atol=1e-8)
    # statsmodels' Hessian is a forward difference (about 1e-8 relative)
    np.testing.assert_allclose(res.cov, cov[:3, :3], rtol=0,
                               atol=1e-6 * np.max(np.abs(res.cov)))


def test_hessian_matches_numdifftools():
    nd = pytest.importorskip("numdifftools")
    X, y, kw = make_data("negative_binomial", n=50, d=3, seed=11)
    res = lf.glm_laplace(X, y, family="negative_binomial", **kw)

    def logjoint(w):
        return (np.sum(loglik("negative_binomial", X @ w, y, **kw))
                + stats.multivariate_normal.logpdf(w, np.zeros(3), np.eye(3)))

    H = nd.Hessian(logjoint)(res.mode)
    np.testing.assert_allclose(res.hessian, H, rtol=1e-7)
    assert np.max(np.abs(nd.Gradient(logjoint)(res.mode))) < 1e-8


def test_heavy_tailed_counts_need_and_get_damping():
    # W2-like: counts up to ~1e6; plain Newton from 0 overshoots
    rng = np.random.default_rng(12)
    B, n, d = 200, 100, 4
    X = np.concatenate([np.ones((B, n, 1)), rng.standard_normal((B, n, d - 1))], -1)
    w = rng.standard_normal((B, d))
    y = rng.poisson(np.exp(np.einsum("bnd,bd->bn", X, w))).astype(float)
    res = lf.glm_laplace(X, y, family="poisson")
    assert np.all(res.status == 0)
    for b in range(0, B, 40):
        ref = reference_fit(X[b], y[b], "poisson")
        np.testing.assert_allclose(res.mode[b], ref[0], rtol=1e-9, atol=1e-10)
        assert res.log_evidence[b] == pytest.approx(ref[3], rel=1e-11)


def test_poisson_terms_outside_the_normal_range_of_exp():
    # Offsets of -720 give e^eta below 2^-1022 (subnormal) on those rows at every point
    # (they screen the fit for status 3, but add nothing to the posterior, which the
    # Gaussian fits: status 0), and counts near 4e5 make the first full
    # Newton step overshoot to eta ~ 1e5: the Poisson terms' exp falls back to the
    # general one for both, and the fit must still agree with the reference.  The
    # problem inside a batch with a normal-range one gives the same bits as alone.
    rng = np.random.default_rng(14)
    n = 40
    X = np.column_stack([np.ones(n), rng.standard_normal(n)])
    off = np.where(np.arange(n) % 4 == 0, -720.0, 0.0)
    y = np.where(off < 0, 0.0, rng.poisson(np.exp(13 + 0.1 * X[:, 1]))).astype(float)
    halved = []
    with np.errstate(over="ignore", invalid="ignore"):   # overshooting trials (inf - inf)
        ref = reference_fit(X, y, "poisson", offset=off, halvings=halved)
    assert halved[0] > 0                     # the line search did reject steps
    res = lf.glm_laplace(X, y, family="poisson", offset=off)
    assert res.status == lf.Status.OK
    np.testing.assert_allclose(res.mode, ref[0], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(res.cov, ref[1], rtol=1e-7)
    # terms y eta and log y! of ~1e8 in all cancel to a few hundred: rounding ~1e-8
    assert res.log_evidence == pytest.approx(ref[3], rel=0, abs=1e-7)
    Xb = np.stack([X, X])
    yb = np.stack([y, rng.poisson(np.exp(0.5 + 0.1 * X[:, 1])).astype(float)])
    ob = np.stack([off, np.zeros(n)])
    both = lf.glm_laplace(Xb, yb, family="poisson", offset=ob)
    assert np.all(both.status == 0)
    _same(both[0], res)


@pytest.mark.parametrize("family", FAMS)
def test_the_start_is_one_irls_step_from_the_data_means(family):
    # One Newton step from the start (maxiter=1) against the same from the test's own
    # textbook IRLS start, with offsets, weights and a correlated prior (and, for counts,
    # some past the kernel's table of log(y + 0.1)).
    X, y, kw = make_data(family, n=40, d=3, seed=21)
    if family in ("poisson", "negative_binomial"):     # counts on both sides of the table
        y[:4] = [1022.0, 1023.0, 1024.0, 2.5e6]
    rng = np.random.default_rng(21)
    off, wts = 0.3 * rng.standard_normal(40), rng.uniform(0.5, 2.0, 40)
    P, m = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 1.5]]), np.array([0.2, -0.4, 0.1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lf.LaplaceWarning)
        res = lf.glm_laplace(X, y, family=family, offset=off, weights=wts, prior_precision=P,
                             prior_mean=m, maxiter=1, **kw)
    w = reference_fit(X, y, family, P, m, offset=off, weights=wts, start="irls", maxiter=1,
                      **kw)[0]
    np.testing.assert_allclose(res.mode, w, rtol=1e-11, atol=1e-13)
    assert res.niter == (0 if family == "gaussian" else 1)   # gaussian: the start is exact


def test_a_start_from_the_data_fits_what_the_prior_mean_cannot():
    # exp(800) overflows at the prior mean; the start from the data's means is near the
    # mode (every eta about log(y + 0.1)), where every term is finite.
    X, y, _ = make_data("poisson", n=30, d=3, seed=22)
    off = np.full(30, 800.0)
    res = lf.glm_laplace(X, y, family="poisson", offset=off)
    assert res.status == 0
    w, cov, L, ev = reference_fit(X, y, "poisson", offset=off, start="irls")
    np.testing.assert_allclose(res.mode, w, rtol=1e-9)
    np.testing.assert_allclose(res.cov, cov, rtol=1e-8)
    assert res.log_evidence == pytest.approx(ev, rel=1e-11)


def test_a_start_whose_matrix_fails_the_pivot_test_falls_back_to_the_prior_mean():
    # Two identical columns under a flat prior: X^T H X + P fails the relative pivot test
    # at the data's start (checked with an instrumented build), so the fit starts at the
    # prior mean; the Hessian is singular along w1 - w2 and the two coefficients share
    # the one column's effect.
    rng = np.random.default_rng(3)
    x = rng.standard_normal(40)
    X = np.column_stack([np.ones(40), x, x])
    y = (rng.random(40) < special.expit(0.3 + x)).astype(float)
    with pytest.warns(lf.LaplaceWarning, match="SINGULAR"):
        res = lf.glm_laplace(X, y, prior_precision=1e-300)
    assert res.status == lf.Status.SINGULAR and np.all(np.isfinite(res.mode))
    w = reference_fit(X[:, :2], y, "logistic", P=1e-300 * np.eye(2))[0]
    np.testing.assert_allclose([res.mode[0], res.mode[1] + res.mode[2]], w, rtol=1e-8)


@pytest.mark.parametrize("family", ["logistic", "binomial", "negative_binomial"])
def test_halved_steps_of_the_families_tested_on_derivatives(family):
    # These families accept a trial step on phi'(t) >= c1 phi'(0) without its value.
    # A row with offset -1e308 (y = 0, a zero term at every finite w) makes the data's
    # start overflow, so the solver starts at the prior mean; far from the mode under a
    # weak prior, the full Newton steps from there overshoot, so that test fails, and so
    # does the one from a bound of the curvature on the step, and the line search falls
    # back to the values (computing the current point's value first when it was not
    # needed before).  Every step halved is one the reference's value test rejects.
    X, y, kw = make_data(family, n=60, d=3, seed=1, batch=(6,))
    y[:, 0] = 0.0
    off = np.zeros((6, 60))
    off[:, 0] = -1e308
    P, m = 1e-2 * np.eye(3), np.full(3, 3.0)
    # (that row's eta screens the fits for status 3; it adds nothing to the posterior)
    res = lf.glm_laplace(X, y, family=family, offset=off, prior_precision=P, prior_mean=m,
                         **kw)
    assert np.all(res.status == lf.Status.OK)
    halved = res.nfev - res.niter - 2                # trial steps rejected (2: the starts)
    assert np.all(halved > 0)
    for b in range(6):
        kb = {k: (v[b] if np.ndim(v) else v) for k, v in kw.items()}
        count = []
        w, cov, L, ev = reference_fit(X[b], y[b], family, P, m, offset=off[b], halvings=count,
                                      **kb)
        assert halved[b] == count[0]                 # Armijo on the values rejects the same
        np.testing.assert_allclose(res.mode[b], w, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(res.cov[b], cov, rtol=1e-8)
        assert res.logp[b] == pytest.approx(L, rel=1e-11, abs=1e-10)
        assert res.log_evidence[b] == pytest.approx(ev, rel=1e-11, abs=1e-10)


@pytest.mark.parametrize("family", ["logistic", "binomial", "negative_binomial", "probit"])
def test_line_search_curvature_bound_holds_on_the_segment(family):
    # The bound of -phi'' that lets the line search accept an overshooting step without
    # its value: at least the largest curvature of each term on the segment (sampled
    # with the reference's h, plus the point where x = 0), and for the sigmoid families
    # within 1.5625x of it (min(e, 1/4) against e / (1 + e)^2); for probit that largest
    # curvature itself, an end's.
    rng = np.random.default_rng(7)
    n = 37
    y = (rng.random(n) < 0.5).astype(float)
    kw, shift = {}, 0.0
    if family == "binomial":
        kw["trials"] = rng.integers(1, 9, n).astype(float)
        y = np.floor(rng.random(n) * (kw["trials"] + 1))
    if family == "negative_binomial":
        kw["dispersion"] = 0.7
        y = rng.poisson(3.0, n).astype(float)
        shift = np.log(1 / 0.7)
    weights = rng.random(n) * 2
    weights[:3] = 0.0
    code = K.FAMILIES[family]
    for eta0, eta1 in [(rng.normal(0, 3, n), rng.normal(0, 3, n)),      # many cross x = 0
                       (shift + rng.uniform(0.1, 5, n), shift + rng.uniform(0.1, 5, n)),
                       (np.full(n, shift - 40.0), shift + rng.normal(0, 1, n))]:
        u = np.linspace(0.0, 1.0, 4001)[:, None]
        path = eta0 + u * (eta1 - eta0)
        with np.errstate(divide="ignore", invalid="ignore"):
            cross = np.clip((shift - eta0) / (eta1 - eta0), 0, 1)
        path = np.vstack([path, eta0 + cross * (eta1 - eta0)])
        h = eta_derivs(family, path, y, **kw)[1]
        top = np.sum(weights * h.max(axis=0) * (eta1 - eta0) ** 2)
        got = T.segment_curvature(code, y, eta0, eta1, weights=weights, **kw)
        assert got >= top * (1 - 1e-12)
        if family == "probit":      # h is monotone in eta: its largest is at an end
            assert got <= top * (1 + 1e-11)
        else:
            assert got <= 1.5625 * top * (1 + 1e-12)
        assert T.segment_curvature(code, y, eta0, eta1, **kw) >= np.sum(
            h.max(axis=0) * (eta1 - eta0) ** 2) * (1 - 1e-12)
    assert T.segment_curvature(K.FAMILIES["poisson"], y, eta0, eta1) == np.inf


def test_line_search_armijo_from_curvature():
    # phi'(u) = max(a - K u, b) is the concave phi with the least increase for given
    # phi'(0) = a, phi'(1) = b and curvature <= K: the test's lower bound is exact for it,
    # so the decision is Armijo's, phi(1) - phi(0) >= c1 a, on either side of the kink.
    rng = np.random.default_rng(3)
    c1 = 1e-4
    checked = 0
    for _ in range(2000):
        a = rng.uniform(0.01, 2.0)
        b = a - rng.uniform(0.0, 3.0) * a
        Kc = rng.uniform(0.05, 5.0) * (a - b) + 1e-12
        u = np.linspace(0.0, 1.0, 200001)
        exact = np.trapezoid(np.maximum(a - Kc * u, b), u)
        if abs(exact - c1 * a) < 1e-6:
            continue
        assert T.armijo_from_curvature(a, b, Kc, c1) == (exact >= c1 * a)
        checked += 1
    assert checked > 1900
    # exact numbers: a = 1, b = -1, K = 2 -> phi(1) - phi(0) >= 0 (kink at u = 1)
    assert T.armijo_from_curvature(1.0, -1.0, 2.0, 0.0)
    assert not T.armijo_from_curvature(1.0, -1.0, 2.0, 1e-4)
    # kink at u = 1/2: a = 1, b = -0.2, K = 2.4 -> 0.2 - 0.1 = 0.1; a = 1, b = -0.5, K = 3
    # -> 0.125 - 0.25 = -0.125, accepted only with a slack above 0.125
    assert T.armijo_from_curvature(1.0, -0.2, 2.4, 1e-4)
    assert not T.armijo_from_curvature(1.0, -0.2, 2.4, 0.11)
    assert not T.armijo_from_curvature(1.0, -0.5, 3.0, 1e-4)
    assert T.armijo_from_curvature(1.0, -0.5, 3.0, 1e-4, slack=0.13)
    # no bound, or not a finite one: never accepted
    for bad in (0.0, -1.0, np.inf, np.nan):
        assert not T.armijo_from_curvature(1.0, 0.5, bad, 1e-4)


# ----------------------------------------------------------------- layout and bits

def _fields(r):
    return [r.mode, r.hessian, r.cov, r.log_det_cov, r.logp, r.status, r.niter, r.nfev,
            r.cond]


def _same(a, b):
    for u, v in zip(_fields(a), _fields(b)):
        assert np.array_equal(np.asarray(u), np.asarray(v), equal_nan=True)


@pytest.mark.parametrize("family", FAMS)
def test_batch_equals_single_and_threads_bitwise(family):
    X, y, kw = make_data(family, n=37, d=4, seed=13, batch=(6, 5))
    kw_b = dict(kw)
    res1 = lf.glm_laplace(X, y, family=family, n_threads=1, **kw_b)
    res2 = lf.glm_laplace(X, y, family=family, n_threads=2, **kw_b)
    _same(res1, res2)
    assert res1.batch_shape == (6, 5) and res1.mode.shape == (6, 5, 4)
    for i, j in [(0, 0), (3, 2), (5, 4)]:
        kw1 = {k: (v[i, j] if isinstance(v, np.ndarray) else v) for k, v in kw.items()}
        single = lf.glm_laplace(X[i, j], y[i, j], family=family, **kw1)
        _same(single, res1[i, j])
        assert isinstance(res1[i, j], lf._glm.GLMLaplaceResult)
        assert res1[i, j].family == family


@pytest.mark.parametrize("d", [*range(1, 10), 12, 24, 25])
def test_solver_copy_for_each_d_gives_the_generic_bits(d):
    # alone with one thread, a problem of d <= 8 runs the solver compiled for its d;
    # alone with two threads it runs the generic copy: the bits must agree, and both
    # must match the reference fit.  d >= 9 uses X transposed (blocked dot products and
    # Hessian tiles) with either thread count.
    rng = np.random.default_rng(100 + d)
    n = 45
    X = np.concatenate([np.ones((n, 1)), rng.standard_normal((n, d - 1))], 1)
    P = np.diag(rng.uniform(0.5, 2.0, d)) + 0.1      # dense, positive definite
    m = 0.1 * rng.standard_normal(d)
    for family, y in [("logistic", (rng.random(n) < 0.4).astype(float)),
                      ("poisson", rng.poisson(2.0, n).astype(float))]:
        kw = dict(family=family, prior_precision=P, prior_mean=m)
        one = lf.glm_laplace(X, y, n_threads=1, **kw)
        two = lf.glm_laplace(X, y, n_threads=2, **kw)
        _same(one, two)
        ref = reference_fit(X, y, family, P=P, m=m)
        np.testing.assert_allclose(one.mode, ref[0], rtol=1e-9, atol=1e-11)
        assert one.log_evidence == pytest.approx(ref[3], rel=1e-11)


def test_ragged_groups_equal_stacked_and_single():
    X, y, _ = make_data("logistic", n=30, d=3, seed=14, batch=(4,))
    sizes = [30, 14, 25, 12]
    labels = np.array(["delta", "alpha", "charlie", "bravo"])
    rows, ys, gs = [], [], []
    for b, s in enumerate(sizes):
        rows.append(X[b, :s])
        ys.append(y[b, :s])
        gs += [labels[b]] * s
    rng = np.random.default_rng(15)
    perm = rng.permutation(sum(sizes))
    Xg = np.concatenate(rows)[perm]
    yg = np.concatenate(ys)[perm]
    g = np.array(gs)[perm]
    res = lf.glm_laplace(Xg, yg, groups=g)
    assert res.labels.tolist() == ["alpha", "bravo", "charlie", "delta"]
    order = np.argsort(labels)
    for k, b in enumerate(order):
        single = lf.glm_laplace(rows[b], ys[b])
        # rows of a group keep their input order; the kernel sums in that order
        mask = g == labels[b]
        single_perm = lf.glm_laplace(Xg[mask], yg[mask])
        _same(single_perm, res[k])
        np.testing.assert_allclose(single.mode, res.mode[k], rtol=1e-12)
    stacked = lf.glm_laplace(X, y)
    grouped = lf.glm_laplace(X.reshape(-1, 3), y.reshape(-1), groups=np.repeat([7, 3, 5, 1], 30))
    for k, b in enumerate([3, 1, 2, 0]):
        _same(stacked[b], grouped[k])
    assert grouped.labels.tolist() == [1, 3, 5, 7]


def test_read_only_and_non_contiguous_inputs_bitwise():
    X, y, _ = make_data("poisson", n=40, d=3, seed=16, batch=(3,))
    ref = lf.glm_laplace(X, y, family="poisson")
    Xf = np.asfortranarray(X)
    Xr = X.copy()
    Xr.setflags(write=False)
    yr = y.copy()
    yr.setflags(write=False)
    big = np.zeros((3, 40, 6))
    big[..., ::2] = X
    Xs = big[..., ::2]
    Xn = np.ascontiguousarray(X[:, ::-1])[:, ::-1]
    for Xv, yv in [(Xf, y), (Xr, yr), (Xs, y), (Xn, y), (X.astype(np.float64, order="F"), y)]:
        _same(lf.glm_laplace(Xv, yv, family="poisson"), ref)
    assert not Xr.flags.writeable
    Xi = np.round(X * 4).astype(np.int64)
    a = lf.glm_laplace(Xi, y.astype(np.int32), family="poisson")
    b = lf.glm_laplace(Xi.astype(float), y, family="poisson")
    _same(a, b)


def test_prior_broadcasting():
    X, y, _ = make_data("logistic", n=25, d=3, seed=17, batch=(4,))
    prec = np.array([0.5, 1.0, 2.0, 4.0])
    res = lf.glm_laplace(X, y, prior_precision=prec[:, None])           # (4, 1): per problem
    res_diag = lf.glm_laplace(X, y, prior_precision=np.array([1.0, 2.0, 3.0]))   # (d,)
    Pm = np.stack([np.diag([p, p, p]) for p in prec])
    res_full = lf.glm_laplace(X, y, prior_precision=Pm)                  # (4, d, d)
    means = np.arange(12.0).reshape(4, 3) / 10
    res_mean = lf.glm_laplace(X, y, prior_mean=means)
    for b in range(4):
        _same(res_full[b], lf.glm_laplace(X[b], y[b], prior_precision=Pm[b]))
        np.testing.assert_allclose(res[b].mode, res_full[b].mode, rtol=1e-14)
        ref = reference_fit(X[b], y[b], "logistic", P=np.diag([1.0, 2, 3]))
        np.testing.assert_allclose(res_diag.mode[b], ref[0], rtol=1e-9)
        ref = reference_fit(X[b], y[b], "logistic", m=means[b])
        np.testing.assert_allclose(res_mean.mode[b], ref[0], rtol=1e-9)
        assert res_mean.log_evidence[b] == pytest.approx(ref[3], rel=1e-11)


def test_scalar_prior_gives_the_bits_of_the_same_prior_as_arrays():
    # a scalar or (d,) precision is checked as the diagonal it is (no symmetry check or
    # symmetrising), a (d, d) one as a matrix: the same prior given either way, with a
    # scalar or a (d,) mean, gives the same bits, and a bad scalar names the first problem
    # (Python floats take a shorter path than 0-d arrays)
    X, y, _ = make_data("logistic", n=25, d=3, seed=18, batch=(4,))
    a = lf.glm_laplace(X, y, prior_precision=2.5, prior_mean=-0.3)
    _same(a, lf.glm_laplace(X, y, prior_precision=np.array(2.5), prior_mean=np.array(-0.3)))
    m = np.full(3, -0.3)
    _same(a, lf.glm_laplace(X, y, prior_precision=np.full(3, 2.5), prior_mean=m))
    _same(a, lf.glm_laplace(X, y, prior_precision=2.5 * np.eye(3), prior_mean=m))
    with pytest.raises(ValueError, match=r"prior_precision contains NaN or inf in problem 0"):
        lf.glm_laplace(X, y, prior_precision=np.nan)
    with pytest.raises(ValueError, match=r"positive semi-definite .* in problem 0"):
        lf.glm_laplace(X, y, prior_precision=-1.0)
    with pytest.raises(ValueError, match=r"prior_mean contains NaN or inf in problem 0"):
        lf.glm_laplace(X, y, prior_mean=np.inf)


def test_no_observations_gives_the_prior_exactly():
    X, y, _ = make_data("poisson", n=10, d=3, seed=18, batch=(2,))
    P = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 3.0]])
    m = np.array([0.3, -1.0, 2.0])
    w = np.ones((2, 10))
    w[1] = 0
    res = lf.glm_laplace(X, y, family="poisson", weights=w, prior_precision=P, prior_mean=m)
    assert res.status[1] == 0 and res.niter[1] == 0
    np.testing.assert_array_equal(res.mode[1], m)
    np.testing.assert_array_equal(res.hessian[1], -P)
    np.testing.assert_allclose(res.cov[1], np.linalg.inv(P), rtol=1e-14)
    assert abs(res.log_evidence[1]) < 1e-14
    single = lf.glm_laplace(np.zeros((0, 3)), np.zeros(0), family="poisson",
                            prior_precision=P, prior_mean=m)
    np.testing.assert_array_equal(single.mode, m)
    assert abs(single.log_evidence) < 1e-14


def test_empty_batch_and_d_zero():
    res = lf.glm_laplace(np.zeros((0, 5, 2)), np.zeros((0, 5)))
    assert res.mode.shape == (0, 2) and res.status.shape == (0,)
    res = lf.glm_laplace(np.zeros((0, 2)), np.zeros(0), groups=np.zeros(0, int))
    assert res.mode.shape == (0, 2)
    # d = 0: the evidence is the likelihood at eta = offset
    y = np.array([1.0, 0.0, 1.0])
    off = np.array([0.3, -0.2, 1.0])
    res = lf.glm_laplace(np.zeros((3, 0)), y, offset=off)
    assert res.mode.shape == (0,) and res.status == 0
    assert res.log_evidence == pytest.approx(np.sum(loglik("logistic", off, y)), rel=1e-14)


def test_poisoned_problems_do_not_touch_the_others():
    X, y, _ = make_data("poisson", n=20, d=3, seed=19, batch=(50,))
    off = np.zeros((50, 20))
    clean = lf.glm_laplace(X, y, family="poisson", offset=off)
    off[[3, 17, 40], 0] = 1e308          # exp overflows at either start
    with pytest.warns(lf.LaplaceWarning, match="3 of 50") as rec:
        res = lf.glm_laplace(X, y, family="poisson", offset=off)
    assert len(rec) == 1
    assert set(np.flatnonzero(res.status)) == {3, 17, 40}
    assert np.all(res.status[[3, 17, 40]] == lf.Status.NONFINITE_X0)
    keep = np.setdiff1d(np.arange(50), [3, 17, 40])
    for u, v in zip(_fields(clean), _fields(res)):
        assert np.array_equal(np.asarray(u)[keep], np.asarray(v)[keep])
    assert np.all(np.isnan(res.cov[3]))


def test_warning_of_a_batch_names_its_problems_in_order():
    # The batch loop lists the problems whose status is not 0 as the threads finish
    # them (in any order); the warning names the first five in index order.
    X, y, _ = make_data("poisson", n=20, d=3, seed=19, batch=(6, 10))
    off = np.zeros((6, 10, 20))
    bad = [58, 44, 2, 30, 17, 9, 41]
    off.reshape(60, 20)[bad, 0] = 1e308          # exp overflows at either start
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        res = lf.glm_laplace(X, y, family="poisson", offset=off, n_threads=2)
    assert [str(w.message) for w in rec] == [
        "7 of 60 problems: 7 with status -3 (NONFINITE_X0) at [(0, 2), (0, 9), (1, 7), "
        "(3, 0), (4, 1), ...]"]
    assert sorted(np.flatnonzero(res.status)) == sorted(bad)


def test_concurrent_calls_from_threads():
    from concurrent.futures import ThreadPoolExecutor
    X, y, _ = make_data("logistic", n=30, d=3, seed=20, batch=(64,))
    X.setflags(write=False)
    ref = lf.glm_laplace(X, y)
    with ThreadPoolExecutor(8) as ex:
        outs = list(ex.map(lambda _: lf.glm_laplace(X, y, n_threads=2), range(24)))
    for o in outs:
        _same(o, ref)


# ----------------------------------------------------------------- predictions

def test_linear_predictor_and_predict():
    X, y, _ = make_data("logistic", n=100, d=3, seed=21)
    res = lf.glm_laplace(X, y)
    Xn = np.random.default_rng(22).standard_normal((7, 3))
    m, v = res.linear_predictor(Xn)
    np.testing.assert_allclose(m, Xn @ res.mode, rtol=1e-13)
    np.testing.assert_allclose(v, np.einsum("ij,jk,ik->i", Xn, res.cov, Xn), rtol=1e-12)
    # MacKay's probit approximation vs numerical integration of E sigmoid(eta)
    p = res.predict(Xn)
    z, wq = np.polynomial.hermite_e.hermegauss(80)
    exact = special.expit(m[:, None] + np.sqrt(v)[:, None] * z) @ wq / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(p, exact, atol=5e-3)    # an approximation
    mc = res.predict(Xn, method="mc", n_samples=200_000, rng=0)
    np.testing.assert_allclose(mc, exact, atol=2e-3)
    np.testing.assert_allclose(res.predict(Xn, method="plugin"), special.expit(m))
    # probit link: exact expectation
    Xp, yp, _ = make_data("probit", n=100, d=3, seed=23)
    rp = lf.glm_laplace(Xp, yp, family="probit")
    m, v = rp.linear_predictor(Xn)
    exact = special.ndtr(m[:, None] + np.sqrt(v)[:, None] * z) @ wq / np.sqrt(2 * np.pi)
    np.testing.assert_allclose(rp.predict(Xn), exact, rtol=1e-10)
    # gaussian: mean and variance v + scale^2
    Xg, yg, kw = make_data("gaussian", n=100, d=3, seed=24)
    rg = lf.glm_laplace(Xg, yg, family="gaussian", **kw)
    m, v = rg.linear_predictor(Xn)
    mean, var = rg.predict(Xn, return_var=True)
    np.testing.assert_allclose(mean, m)
    np.testing.assert_allclose(var, v + 0.8**2)
    # poisson: lognormal mean, and the batch version broadcasts rows over problems
    Xb, yb, _ = make_data("poisson", n=50, d=3, seed=25, batch=(4,))
    rb = lf.glm_laplace(Xb, yb, family="poisson")
    mb, vb = rb.linear_predictor(Xn)
    assert mb.shape == (4, 7)
    np.testing.assert_allclose(rb.predict(Xn), np.exp(mb + vb / 2))
    np.testing.assert_allclose(rb[2].predict(Xn), np.exp(mb[2] + vb[2] / 2))
    mean, var = rb[1].predict(Xn, return_var=True, method="mc", n_samples=400_000, rng=1)
    draws = np.exp(mb[1][:, None] + np.sqrt(vb[1])[:, None]
                   * np.random.default_rng(2).standard_normal(400_000))
    np.testing.assert_allclose(var, draws.mean(1) + draws.var(1), rtol=2e-2)
    with pytest.raises(ValueError, match="method"):
        res.predict(Xn, method="exact")
    with pytest.raises(ValueError, match="X_new"):
        res.predict(np.ones((2, 4)))


@pytest.mark.parametrize("d", [1, 2, 7, 8, 9, 12, 25, 26, 27, 28])
def test_every_d_and_both_layouts_match_reference(d):
    # d <= 8 uses the pair layout (and a solver copy of its own); larger d the blocked
    # sums, whose Hessian tiles of 4 x 2 meet every remainder of d mod 4 here; n > 256
    # spans blocks
    for family in ("logistic", "poisson"):
        X, y, kw = make_data(family, n=300, d=d, seed=30 + d)
        X[:, 1:] *= 0.5
        res = lf.glm_laplace(X, y, family=family, **kw)
        w, cov, L, ev = reference_fit(X, y, family, **kw)
        np.testing.assert_allclose(res.mode, w, rtol=1e-9, atol=1e-10)
        np.testing.assert_allclose(res.cov, cov, rtol=1e-8, atol=1e-9 * np.abs(cov).max())
        assert res.log_evidence == pytest.approx(ev, rel=1e-11)


def test_ragged_batch_across_the_layout_threshold():
    # one group above the pair-layout limit (65,536 rows) next to small ones: the
    # per-thread scratch must hold both layouts; each equals its single fit bitwise
    rng = np.random.default_rng(31)
    sizes = [70_000, 40, 5]
    N = sum(sizes)
    X = np.column_stack([np.ones(N), rng.standard_normal(N)])
    y = (rng.random(N) < special.expit(0.3 + 0.5 * X[:, 1])).astype(float)
    g = np.repeat([0, 1, 2], sizes)
    y[-5:] = [0, 1, 0, 1, 1]
    res = lf.glm_laplace(X, y, groups=g, n_threads=2)
    start = 0
    for k, s in enumerate(sizes):
        single = lf.glm_laplace(X[start:start + s], y[start:start + s])
        _same(single, res[k])
        start += s
    ref = reference_fit(X[:70_000], y[:70_000], "logistic")
    np.testing.assert_allclose(res.mode[0], ref[0], rtol=1e-9)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_ragged_batch_across_the_pipeline_limit(n_threads):
    # While the batch loop fits a problem it builds the next one's pair layout when that
    # takes at most LF_ZJOB_MAX = 1,280 doubles (d = 5: 20 columns, up to 64 padded rows,
    # n <= 64); groups on both sides of that limit, in runs and alternating, and each
    # equals its single fit bitwise (a layout left half built would not)
    rng = np.random.default_rng(33)
    sizes = [64, 65, 64, 57, 200, 3, 64, 71, 72, 9, 64, 64, 300, 1, 60, 33, 65, 64] * 3
    N, d = sum(sizes), 5
    X = np.column_stack([np.ones(N), rng.standard_normal((N, d - 1))])
    y = (rng.random(N) < special.expit(X @ [0.2, 0.5, -0.3, 0.1, 0.0])).astype(float)
    g = np.repeat(np.arange(len(sizes)), sizes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lf.LaplaceWarning)    # the one-row group
        res = lf.glm_laplace(X, y, groups=g, n_threads=n_threads)
        start = 0
        for k, s in enumerate(sizes):
            _same(lf.glm_laplace(X[start:start + s], y[start:start + s]), res[k])
            start += s


def test_transposed_layout_with_halved_steps_matches_reference():
    # d > 8: each evaluation also forms the derivatives in the same pass over X; a
    # values-first family (poisson) discards them when its step is halved.  Heavy
    # counts make the first steps overshoot here (more evaluations than iterations + 1)
    rng = np.random.default_rng(4)
    n, d = 400, 26
    X = np.column_stack([np.ones(n), 0.5 * rng.standard_normal((n, d - 1))])
    w = 0.6 * rng.standard_normal(d)
    y = rng.poisson(np.exp(np.clip(X @ w, -30, 14))).astype(float)
    y[rng.choice(n, 3)] = [2e6, 5e5, 3e4]
    with pytest.warns(lf.LaplaceWarning, match="EXTREME_PREDICTOR"):   # eta down to -73
        a = lf.glm_laplace(X, y, family="poisson", n_threads=1)
    with pytest.warns(lf.LaplaceWarning, match="EXTREME_PREDICTOR"):
        b = lf.glm_laplace(X, y, family="poisson", n_threads=2)
    _same(a, b)
    assert a.nfev > a.niter + 1
    ref = reference_fit(X, y, "poisson")
    np.testing.assert_allclose(a.mode, ref[0], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(a.cov, ref[1], rtol=1e-8, atol=1e-9 * np.abs(ref[1]).max())
    assert a.log_evidence == pytest.approx(ref[3], rel=1e-11)


def test_problem_alone_below_and_above_the_threads_inside_size_same_bits():
    # at the default size threshold (rows x d), a problem alone just below it runs on one
    # thread and one just above it on both (blocks of rows): the bits must be n_threads=1's
    old = T.set_inner_min(K.INNER_MIN)
    try:
        rng = np.random.default_rng(41)
        d = 5
        for n in (K.INNER_MIN // d - 8, K.INNER_MIN // d + 8):
            X = np.concatenate([np.ones((n, 1)), rng.standard_normal((n, d - 1))], 1)
            y = (rng.random(n) < special.expit(X @ rng.standard_normal(d))).astype(float)
            _same(lf.glm_laplace(X, y, n_threads=1), lf.glm_laplace(X, y, n_threads=2))
    finally:
        T.set_inner_min(old)


def test_one_large_problem_uses_threads_inside_bitwise():
    # a single problem spans blocks and superblocks (4096 rows); with 2 threads the
    # blocks run in parallel, with the same sums in the same order
    rng = np.random.default_rng(40)
    n, d = 9000, 12
    X = np.concatenate([np.ones((n, 1)), rng.standard_normal((n, d - 1))], 1)
    y = (rng.random(n) < special.expit(X @ (0.2 * rng.standard_normal(d)))).astype(float)
    off = 0.1 * rng.standard_normal(n)
    wts = rng.uniform(0.5, 1.5, n)
    a = lf.glm_laplace(X, y, offset=off, weights=wts, n_threads=1)
    b = lf.glm_laplace(X, y, offset=off, weights=wts, n_threads=2)
    _same(a, b)
    batch = lf.glm_laplace(np.stack([X, X[::-1]]), np.stack([y, y[::-1]]),
                           offset=np.stack([off, off[::-1]]), weights=np.stack([wts, wts[::-1]]),
                           n_threads=2)
    _same(a, batch[0])
    ref = reference_fit(X, y, "logistic", offset=off, weights=wts)
    np.testing.assert_allclose(a.mode, ref[0], rtol=1e-9, atol=1e-11)
    assert a.log_evidence == pytest.approx(ref[3], rel=1e-11)
