"""glm_laplace's ``"evidence"`` hyperparameters: per problem, the prior precision, the
gaussian scale and the negative binomial dispersion that maximise the problem's Laplace
evidence (type-II maximum likelihood, MacKay's evidence framework).

The data are prepared once; every outer iteration fits all the running problems in one
call of the kernel, each warm-started from its previous mode, and then moves each
problem's log hyperparameters by a quasi-Newton step on the exact derivative of its
Laplace evidence.  For the prior precision ``alpha`` (prior ``N(m0, alpha^-1 I)``), with
``A = -hessian``, ``C = A^-1`` and ``r = mode - m0``, that derivative is

    d log Z / d log alpha = (d - alpha tr C - alpha |r|^2) / 2
                            + alpha / 2 sum_i w_i' s_i^2 x_i' C r,

``s_i^2 = x_i' C x_i`` and ``w_i' = -weight_i l_i'''(eta_i)``: MacKay's terms plus the
change of the likelihood's curvature as the mode moves with ``alpha`` (zero for the
gaussian, whose curvature does not depend on the mode).  The scale and the dispersion
have the same two parts (the explicit derivative of the log joint, by the envelope
theorem, and the derivative of the log-determinant through the mode).
"""

import warnings

import numpy as np

from . import _glm
from ._glm_prepare import _USERS, GLMData
from ._glm_results import (_IMPROPER_NOTE, BOUND_NOTE, MODEL_PARAMETERS,
                           BatchGLMLaplaceResult, GLMLaplaceResult)
from ._lazy import LazyModule
from ._status import STATUS_MESSAGES, LaplaceWarning, Status, warn_statuses

special = LazyModule("scipy.special")

__all__ = ["EVIDENCE", "evidence_options", "fit_evidence"]

EVIDENCE = "evidence"
# convergence: the next quasi-Newton step of every log hyperparameter is below TOL
TOL = 1e-8
MAX_OUTER = 100
# the largest move of a log hyperparameter in one outer iteration (a factor e^4 ~ 55)
MAX_STEP = 4.0
# the search bounds: e^23 (1e10) either side of a reference value of the problem's data,
# and for the prior precision 1e6 times the data's curvature above (the data then
# determine a millionth of a parameter: beyond it the evidence is flat to rounding)
SPAN = 23.0
SPAN_UP = 13.8
# below this share of the parameters determined by the data (gamma / d) the log evidence
# approaches its limit as alpha grows like K / alpha, with no root ahead: a full step
FADING = 1e-2
# rows per block where the rows of a grouped batch are multiplied by their problem's matrix
_BLOCK = 16384

def evidence_options(fam, prior_precision, scale, dispersion):
    """Which hyperparameters are ``"evidence"`` (in the order prior_precision, then the
    family's scale or dispersion), and the scale and dispersion to prepare the data with
    (1.0 in place of ``"evidence"``).  ValueError naming the argument for any other
    string, or for ``"evidence"`` where the family has no such parameter."""
    wanted = []
    for name, value in (("prior_precision", prior_precision), ("scale", scale),
                        ("dispersion", dispersion)):
        if not isinstance(value, str):
            continue
        if value != EVIDENCE:
            raise ValueError(f"{name} must be a number, an array or {EVIDENCE!r} (lower "
                             f"case), got {value!r}")
        if name != "prior_precision" and fam.parameter != name:
            users = " or ".join(repr(n) for n in _USERS[name])
            raise ValueError(f"{name}={EVIDENCE!r} is only for family={users}, not "
                             f"{fam.name!r}")
        wanted.append(name)
    return (tuple(wanted), 1.0 if "scale" in wanted else scale,
            1.0 if "dispersion" in wanted else dispersion)


# --------------------------------------------------------------------------- the rows

class _Rows:
    """A working set's rows and the per-problem products the derivatives need.  Stacked
    input (every problem ``n`` rows) uses batched matmul; grouped input multiplies each
    row by its problem's matrix in blocks.  Each problem's numbers depend on its rows
    alone, so a problem gives the same bits alone and inside a batch of the same layout."""

    def __init__(self, data):
        lens = np.diff(data.starts)
        self.B, self.X = lens.size, data.X
        self.n = data.nmax if data.labels is None else None
        self.heads = data.starts[:-1]
        self.prob = None if self.n is not None else np.repeat(np.arange(self.B), lens)
        self.w = 1.0 if data.weights is None else data.weights

    def times(self, M):
        """Row i times its problem's ``M`` (B, d, k): shape (N, k)."""
        k = M.shape[-1]
        if self.n is not None:
            return np.matmul(self.X.reshape(self.B, self.n, -1), M).reshape(-1, k)
        out = np.empty((self.X.shape[0], k))
        for a in range(0, self.X.shape[0], _BLOCK):
            b = a + _BLOCK
            out[a:b] = np.sum(self.X[a:b, :, None] * M[self.prob[a:b]], axis=1)
        return out

    def vec(self, v):
        """Row i dotted with its problem's vector ``v`` (B, d): shape (N,)."""
        return self.times(v[:, :, None])[:, 0]

    def sum(self, v):
        """Per problem, the sum of the per-row ``v`` (N,) or (N, k) over its rows."""
        if self.n is not None:
            return v.reshape((self.B, self.n) + v.shape[1:]).sum(axis=1)
        return np.add.reduceat(v, self.heads, axis=0)

    def gram(self, w=None):
        """Per problem, ``X' diag(w) X`` (w per row, the weights by default): shape
        (B, d, d)."""
        d = self.X.shape[1]
        wX = self.X * np.reshape(self.w if w is None else w, (-1, 1))
        if self.n is not None:
            X3 = self.X.reshape(self.B, self.n, d)
            return np.matmul(np.swapaxes(X3, 1, 2), wX.reshape(self.B, self.n, d))
        return np.stack([self.sum(wX * self.X[:, j, None]) for j in range(d)], axis=1)


def _subset(data, idx):
    """The problems ``idx`` of ``data`` as a GLMData of their own (their rows copied)."""
    lens = np.diff(data.starts)[idx]
    starts = np.zeros(idx.size + 1, dtype=np.int64)
    np.cumsum(lens, out=starts[1:])
    rows = np.repeat(data.starts[idx] - starts[:-1], lens) + np.arange(starts[-1])
    pick = (lambda a: None if a is None else a[rows])
    return GLMData(family=data.family, X=data.X[rows], y=data.y[rows],
                   offset=pick(data.offset), weights=pick(data.weights),
                   trials=pick(data.trials), starts=starts,
                   nmax=int(lens.max()) if lens.size else 0, d=data.d,
                   batch_shape=(idx.size,), single=False,
                   labels=None if data.labels is None else data.labels[idx],
                   param=data.param[idx], param_names=data.param_names)


def _with(data, **fields):
    """``data`` with some fields replaced (the arrays shared, not copied)."""
    return GLMData(**{f: fields.get(f, getattr(data, f)) for f in GLMData.__slots__})


# --------------------------------------------------------------------------- derivatives

# a derivative within this many roundings of its terms' size is zero
_NOISE = 64 * np.finfo(float).eps


def _derivatives(wanted, rows, data, theta, C, m0, alpha, G, first):
    """Per problem of the working set: the derivative ``g`` (B, k) of the log evidence in
    each wanted log hyperparameter, a negative curvature ``c`` (B, k) for a first
    quasi-Newton step (the exact second derivative where the likelihood's curvature is
    fixed and it is negative, else a negative model of it), and the rounding level of
    ``g`` (B, k), below which it is zero.

    ``gamma = d - alpha tr C`` (MacKay's number of well-determined parameters) is
    computed as ``tr(C H)``, H the likelihood's curvature, which does not cancel as
    alpha grows.

    Also whether each log hyperparameter's evidence is fading (see FADING), and for the
    precision alone at the ``first`` iteration (not gaussian) the model of
    :func:`_model_root`: the eigenvalues of H, the coordinates of ``(H + alpha I) r`` in
    its eigenvectors, and the curvature change's term of ``g`` (None otherwise)."""
    fam = data.family
    B, d = theta.shape
    k = len(wanted)
    g, c, noise = np.zeros((B, k)), np.zeros((B, k)), np.zeros((B, k))
    r = theta - m0
    off = 0.0 if data.offset is None else data.offset
    eta = rows.vec(theta) + off
    per_row = rows.prob if rows.prob is not None else np.repeat(np.arange(B), rows.n)
    param = np.reshape(data.param, -1)
    # per row the likelihood's curvature w (minus its second derivative) and its slope
    # in eta, from the family's record; the gaussian's, 1 / scale^2, is constant
    curv = fam.parameter != "scale"
    if not curv:
        s = param ** 2
        gamma = np.sum(C * G, axis=(1, 2)) / s
    else:
        _, w, slope = fam.derivatives(eta, data.y, data.trials, param[per_row])
        w, slope = rows.w * w, rows.w * slope
        s2 = np.sum(rows.times(C) * rows.X, axis=1)
        gamma = rows.sum(w * s2)
    col = 0
    if wanted[0] == "prior_precision":
        Cr = np.matmul(C, r[:, :, None])[:, :, 0]
        arr = alpha * np.sum(r * r, axis=1)
        g[:, 0] = 0.5 * (gamma - arr)
        noise[:, 0] = 0.5 * (gamma + arr)
        if curv:
            corr = 0.5 * alpha * rows.sum(slope * s2 * rows.vec(Cr))
            g[:, 0] += corr
            noise[:, 0] += np.abs(corr)
        model = -0.5 * (gamma * (d - gamma) / max(d, 1) + arr)
        exact = -0.5 * (alpha * np.trace(C, axis1=1, axis2=2)
                        - alpha ** 2 * np.sum(C * C, axis=(1, 2))
                        + arr - 2 * alpha ** 2 * np.sum(r * Cr, axis=1))
        c[:, 0] = np.where((exact < 0) & (gamma > 1e-3 * d), exact, model - 1e-300)
        col = 1
    if col < k and not curv:    # gaussian, v = log scale^2
        e = data.y - eta
        rss = rows.sum(rows.w * e * e) / s
        nw = rows.sum(np.broadcast_to(rows.w, e.shape))
        CH = np.matmul(C, G) / s[:, None, None]
        g[:, col] = 0.5 * (rss + gamma - nw)
        noise[:, col] = 0.5 * (rss + gamma + nw)
        c[:, col] = -0.5 * rss - 0.5 * (gamma - np.sum(CH * np.swapaxes(CH, 1, 2),
                                                       axis=(1, 2)))
    elif col < k:       # negative binomial, v = log kappa (r = 1 / kappa)
        kappa, y, wt = param[per_row], data.y, rows.w
        nw_ = rows.sum(np.broadcast_to(wt, y.shape))
        mu = np.exp(eta)
        a = 1.0 + kappa * mu
        rr = 1.0 / kappa
        dl_dr = (special.digamma(y + rr) - special.digamma(rr) - np.log1p(kappa * mu)
                 + kappa * (mu - y) / a)
        dl_dv = -rr * dl_dr
        b_v = rows.sum((wt * (-kappa * mu * (y - mu) / (a * a)))[:, None] * rows.X)
        dtheta = np.matmul(C, b_v[:, :, None])[:, :, 0]
        dw_dv = wt * kappa * mu * (y - 2.0 * mu - kappa * mu * y) / a ** 3
        explicit = rows.sum(wt * dl_dv)
        through = -0.5 * rows.sum(s2 * (dw_dv + slope * rows.vec(dtheta)))
        g[:, col] = explicit + through
        noise[:, col] = rows.sum(np.abs(wt * dl_dv)) + np.abs(through)
        outer_product = -rows.sum(wt * dl_dv * dl_dv) - 1e-300
        if first:       # (the trigamma function is costly: the first model only)
            d2l_dr2 = (special.polygamma(1, y + rr) - special.polygamma(1, rr) + kappa
                       - 1.0 / (rr + mu) - (mu - y) / (rr + mu) ** 2)
            exact = rows.sum(wt * (rr * dl_dr + rr * rr * d2l_dr2))
            c[:, col] = np.where(exact < 0, exact, outer_product)
        else:
            c[:, col] = outer_product
    fading = np.zeros((B, k), dtype=bool)
    model = None
    if wanted[0] == "prior_precision":
        fading[:, 0] = (gamma < FADING * d) & (g[:, 0] > 0)
        if k == 1 and first and curv:    # (the gaussian starts exactly)
            H = rows.gram(w)
            lam, Q = np.linalg.eigh(H)
            z = np.matmul(np.swapaxes(Q, 1, 2), (np.matmul(H, r[:, :, None])[:, :, 0]
                                                 + alpha[:, None] * r)[:, :, None])[:, :, 0]
            model = (lam, z, corr)
    if col < k and curv:    # the Poisson limit, kappa mu -> 0
        fading[:, col] = (rows.sum(wt * kappa * mu) < FADING * nw_) & (g[:, col] < 0)
    return g, c, _NOISE * noise, fading, model


def _model_terms(lam, z, u):
    """The derivative in u = log alpha of the evidence of the likelihood's quadratic
    expansion (see :func:`_model_root`), and its derivative in u."""
    a = np.exp(u)[:, None]
    t = lam + a
    zt = z * z / (t * t)
    return (0.5 * np.sum(lam / t - a * zt, axis=1),
            0.5 * np.sum(-a * lam / (t * t) - a * zt + 2 * a * a * zt / t, axis=1))


def _model_root(lam, z, corr, u0):
    """Per problem, the root in u = log alpha of the model of the evidence's derivative

        m(u) = 1/2 sum_j (lam_j / (lam_j + alpha) - alpha z_j^2 / (lam_j + alpha)^2)
               + corr,

    the exact derivative of the evidence of the likelihood's quadratic expansion at the
    mode of u0 (H = Q diag(lam) Q', the mode's (H + alpha I) r = Q z) plus the curvature
    change's term, constant at ``corr``: the first root uphill
    on the evidence (where m falls through zero) within MAX_STEP of u0, else that
    window's end.  Newton inside a bracket that m's signs narrow (bisection when Newton
    leaves it), each problem frozen once its step is below 1e-13, so that its root does
    not depend on the other problems."""
    def fun(idx, u):
        m, dm = _model_terms(lam[idx], z[idx], u)
        return m + corr[idx], dm

    return _root(fun, u0, u0 - MAX_STEP, u0 + MAX_STEP)


def _root(fun, u0, lo, hi):
    """Per problem, the first root uphill (where ``m`` falls through zero) of ``m, dm =
    fun(idx, u)`` (the problems ``idx`` at ``u``) in ``[lo, hi]``, else that window's
    end: Newton from ``u0`` inside a bracket that m's signs narrow (bisection when
    Newton leaves it), each problem frozen once its step is below 1e-13, so that its
    root does not depend on the other problems."""
    u, lo, hi = u0.copy(), lo.copy(), hi.copy()
    idx = np.arange(u.size)         # the problems still running
    for _ in range(60):
        if idx.size == 0:
            break
        ui = u[idx]
        m, dm = fun(idx, ui)
        lo[idx] = np.where(m > 0, ui, lo[idx])
        hi[idx] = np.where(m < 0, ui, hi[idx])
        new = ui - m / np.where(dm < 0, dm, -1.0)
        new = np.where((dm < 0) & (new > lo[idx]) & (new < hi[idx]), new,
                       0.5 * (lo[idx] + hi[idx]))
        new = np.where(m == 0, ui, new)
        u[idx] = new
        idx = idx[(np.abs(new - ui) > 1e-13) & (hi[idx] - lo[idx] > 1e-13)]
    return u


def _gaussian_start(rows, data, G, m0, two):
    """The exact evidence maximum of the gaussian under the prior N(m0, I / alpha), in
    closed form from the eigenvalues ``lam`` of ``G = X' W X``: log alpha (B, 1) at the
    given scale, or with ``two`` log alpha and log scale^2 (B, 2), by the profile over
    the scale of ``l = alpha scale^2``: ``-N/2 log Q(l) + d/2 log l - 1/2 sum log(lam +
    l)``, ``Q(l) = e'We - sum z^2 / (lam + l)``, at ``scale^2 = Q / N``; ``e`` the
    residuals at m0, ``Q z`` the eigen-coordinates of ``X' W e``.  Where the residuals
    vanish, log alpha 0 (the iteration decides)."""
    e = data.y - rows.vec(m0) - (0.0 if data.offset is None else data.offset)
    we = rows.w * e
    lam, Q = np.linalg.eigh(G)
    z = np.matmul(np.swapaxes(Q, 1, 2), rows.sum(we[:, None] * rows.X)[:, :, None])[:, :, 0]
    yy = rows.sum(we * e)
    nw = rows.sum(np.broadcast_to(rows.w, e.shape))
    ref = np.log(np.maximum(np.mean(lam, axis=1), 1e-300))
    if not two:
        s = np.reshape(data.param, -1)[:, None] ** 2
        u0 = ref - np.log(s[:, 0])

        def fun(idx, u):
            return _model_terms(lam[idx] / s[idx], z[idx] / s[idx], u)

        return _root(fun, u0, u0 - SPAN, u0 + SPAN_UP)[:, None]

    def profile(idx, v):
        ell = np.exp(v)[:, None]
        t = lam[idx] + ell
        z2 = z[idx] ** 2
        q = yy[idx] - np.sum(z2 / t, axis=1)
        s2, s3 = np.sum(z2 / t ** 2, axis=1), np.sum(z2 / t ** 3, axis=1)
        ell = ell[:, 0]
        m = -nw[idx] * ell * s2 / (2 * q) + 0.5 * np.sum(lam[idx] / t, axis=1)
        dm = (-0.5 * nw[idx] * (ell * s2 / q - 2 * ell ** 2 * s3 / q - (ell * s2 / q) ** 2)
              - 0.5 * np.sum(lam[idx] * ell[:, None] / t ** 2, axis=1))
        return np.where(q > 0, m, 0.0), dm

    v = _root(profile, ref, ref - SPAN, ref + SPAN)
    ell = np.exp(v)
    q = yy - np.sum(z * z / (lam + ell[:, None]), axis=1)
    ok = (q > 0) & (nw > 0)
    s = np.where(ok, q, 1.0) / np.where(ok, nw, 1.0)
    return np.column_stack([np.where(ok, np.log(ell / s), 0.0), np.log(s)])


def _step(g, J, c, h, lo, hi):
    """The quasi-Newton step (B, k) of the log hyperparameters uphill on the evidence.
    ``J`` (B, k, k) is the current model of the derivative's Jacobian; where it is not
    negative definite on the coordinates free to move (not at a bound with the
    derivative pointing out of it), the diagonal ``c`` replaces it (J's rows are
    replaced in place)."""
    B, k = g.shape
    free = ~(((h <= lo) & (g < 0)) | ((h >= hi) & (g > 0)))
    eye = np.eye(k)
    both = free[:, :, None] & free[:, None, :]
    Jm = np.where(both, J, -eye)
    Js = 0.5 * (Jm + np.swapaxes(Jm, 1, 2))
    negdef = Js[:, 0, 0] < 0
    if k == 2:
        negdef &= Js[:, 0, 0] * Js[:, 1, 1] - Js[:, 0, 1] ** 2 > 0
    reset = ~negdef
    if np.any(reset):
        J[reset] = c[reset][:, :, None] * eye
        Jm[reset] = np.where(both[reset], J[reset], -eye)
    gm = np.where(free, g, 0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        step = -np.linalg.solve(Jm, gm[:, :, None])[:, :, 0]
        uphill = np.all(np.isfinite(step), axis=1) & (np.sum(step * gm, axis=1) >= 0)
        step = np.where(uphill[:, None], step, -gm / c)
    step = np.where(np.isfinite(step), step, np.sign(gm) * MAX_STEP)
    return np.clip(step, -MAX_STEP, MAX_STEP)


# --------------------------------------------------------------------------- the fit

def fit_evidence(data, wanted, prior_precision, prior_mean, tol, maxiter, nthreads):
    """glm_laplace with the hyperparameters ``wanted`` chosen per problem by maximising
    its Laplace evidence (the options checked, ``nthreads`` a count)."""
    B, d, fam = data.n_problems, data.d, data.family
    k = len(wanted)
    by_evidence = wanted[0] == "prior_precision"
    # the prior as given (its checks, and the per-problem prior mean); with an
    # "evidence" precision the mean's checks alone, under a stand-in precision
    Pu, pidx, Mu, midx, _, flat = _glm._prior(1.0 if by_evidence else prior_precision,
                                              prior_mean, d, data.batch_shape,
                                              data.labels, data.single)
    M = Mu[midx]
    improper = np.zeros(B, dtype=bool) if flat is None or by_evidence else flat[pidx]
    if wanted == ("prior_precision",):
        # the precision alone: the whole iteration per problem in the kernel
        # (glm_evidence.h), from alpha = 1
        u = np.zeros(B)
        out, _ = _glm._run_kernel(data, Pu, pidx, Mu, midx, None, np.empty((0, d)), tol,
                                  maxiter, nthreads, ev_u=u)
        return _result(data, wanted, u[:, None], out, improper, out["at_bound"])
    shared_P = Pu.shape[0] == 1
    # the problems as a flat batch, so that every fit returns a batch result
    flat_data = _with(data, batch_shape=(B,), single=False, param=np.ascontiguousarray(
        np.reshape(data.param, -1), dtype=np.float64))
    rows_all = _Rows(flat_data)
    G = rows_all.gram() if fam.parameter == "scale" else None

    h = np.zeros((B, k))
    lo, hi = np.full((B, k), -SPAN), np.full((B, k), SPAN)
    if not by_evidence or k == 2:
        j = k - 1
        if fam.parameter == "scale":      # v = log scale^2, from the residuals at m0
            e = data.y - rows_all.vec(M) - (0.0 if data.offset is None else data.offset)
            nw = rows_all.sum(np.broadcast_to(rows_all.w, e.shape))
            var0 = rows_all.sum(rows_all.w * e * e)
            ok = (nw > 0) & (var0 > 0)
            h[:, j] = np.log(np.where(ok, var0, 1.0) / np.where(ok, nw, 1.0))
            lo[:, j] += h[:, j]
            hi[:, j] += h[:, j]
    if fam.parameter == "scale" and by_evidence:
        with np.errstate(all="ignore"):
            start_h = _gaussian_start(rows_all, flat_data, G, M, k == 2)
        h = np.where(np.isfinite(start_h), start_h, h)
        # the precision's bounds from the data's curvature, exact for the gaussian
        s2 = np.exp(h[:, 1]) if k == 2 else np.reshape(flat_data.param, -1) ** 2
        HL = np.trace(G, axis1=1, axis2=2) / s2
        ref = np.log(np.where(HL > 0, HL / max(d, 1), 1.0))
        lo[:, 0], hi[:, 0] = ref - SPAN, ref + SPAN_UP
        h[:, 0] = np.clip(h[:, 0], lo[:, 0], hi[:, 0])

    out = {"mode": np.zeros((B, d)), "hess": np.zeros((B, d, d)),
           "cov": np.zeros((B, d, d)),
           "log_det_cov": np.zeros(B), "logp": np.zeros(B), "status": np.zeros(B, np.intc),
           "niter": np.zeros(B, np.intc), "nfev": np.zeros(B, np.intc), "cond": np.zeros(B)}
    at_bound = np.zeros(B, dtype=bool)
    active = np.ones(B, dtype=bool)
    J = np.zeros((B, k, k))
    fresh = np.ones(B, dtype=bool)      # no secant information yet
    prev_h, prev_g, prev_ev = np.zeros((B, k)), np.zeros((B, k)), np.full(B, -np.inf)
    floor, ceil = np.full((B, k), -np.inf), np.full((B, k), np.inf)
    start = np.zeros((B, d))
    backtracks = np.zeros(B, dtype=np.int64)
    work, wdata, rows = np.arange(B), flat_data, rows_all
    last = None

    def finish(pos, res):
        ids = work[pos]
        for key, val in (("mode", res.mode), ("hess", res.hessian), ("cov", res.cov),
                         ("log_det_cov", res.log_det_cov), ("logp", res.logp),
                         ("status", res.status), ("cond", res.cond)):
            out[key][ids] = val[pos]
        active[ids] = False

    for outer in range(MAX_OUTER):
        # the working set, gathered again when a quarter of it has stopped
        if np.count_nonzero(active) <= 0.75 * work.size:
            sel = np.flatnonzero(active[work])
            work = work[sel]
            wdata = _subset(wdata, sel)
            rows = _Rows(wdata)
        if work.size == 0:
            break
        hw = h[work]
        if by_evidence:
            P = np.exp(hw[:, :1])
        else:
            P = Pu[0] if shared_P else Pu[pidx[work]]
        if k > by_evidence:
            v = np.exp(hw[:, -1])
            wdata = _with(wdata, param=np.sqrt(v) if fam.parameter == "scale" else v)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LaplaceWarning)
            # (a few problems on one thread: the results do not depend on the count)
            res = _glm._fit(wdata, P, M[work], tol, maxiter,
                            min(nthreads, max(1, work.size // 64)),
                            None if outer == 0 else start[work])
        last = res
        pos = np.flatnonzero(active[work])
        ids = work[pos]
        out["niter"][ids] += res.niter[pos]
        out["nfev"][ids] += res.nfev[pos]
        failed = res.status[pos] < 0
        with np.errstate(all="ignore"):
            g, c, noise, fading, model = _derivatives(
                wanted, rows, wdata, res.mode, res.cov, M[work],
                np.exp(hw[:, 0]) if by_evidence else None, None if G is None else G[work],
                outer == 0)
        g, c, noise, fading = g[pos], c[pos], noise[pos], fading[pos]
        if model is not None:
            model = tuple(a[pos] for a in model)
        if outer == 0 and by_evidence and G is None:    # the precision's bounds, from
            # the data's curvature
            HL = -np.trace(res.hessian, axis1=1, axis2=2)[pos] - d * np.exp(hw[pos, 0])
            ref = np.log(np.where(HL > 0, HL / max(d, 1), 1.0))
            lo[ids, 0], hi[ids, 0] = ref - SPAN, ref + SPAN_UP
        bad = ~failed & ~np.all(np.isfinite(g) & np.isfinite(c), axis=1)
        ev = res.log_evidence[pos]
        hp = h[ids]
        # a step that lowered the evidence is halved back towards the previous point
        worse = ~failed & ~bad & (ev < prev_ev[ids] - 1e-10 * (1 + np.abs(prev_ev[ids])))
        worse &= backtracks[ids] < 30
        # the secant update of the Jacobian model (Broyden's, the secant itself for k = 1)
        upd = ~fresh[ids] & ~worse
        if np.any(upd):
            dh = (hp - prev_h[ids])[upd]
            dg = (g - prev_g[ids])[upd]
            Ju = J[ids[upd]]
            nrm = np.sum(dh * dh, axis=1)
            ok = nrm > 0
            miss = dg - np.matmul(Ju, dh[:, :, None])[:, :, 0]
            corr = miss[:, :, None] * dh[:, None, :]
            Ju[ok] += corr[ok] / nrm[ok, None, None]
            J[ids[upd]] = Ju
        fr = fresh[ids] & ~worse
        J[ids[fr]] = c[fr][:, :, None] * np.eye(k)
        fresh[ids[fr]] = False
        Jw = J[ids]
        lw, hw_ = lo[ids], hi[ids]
        zero = np.abs(g) <= noise
        step = _step(np.where(zero, 0.0, g), Jw, c, hp, lw, hw_)
        J[ids] = Jw
        if model is not None:
            # the first step of the precision alone (not gaussian): to the root of the
            # exact derivative of the evidence of the likelihood's quadratic expansion,
            # which also has the evidence's shape far from the current point; then the
            # secant steps of _step
            root = _model_root(model[0], model[1], model[2], hp[:, 0])
            step = np.where(zero, 0.0, (root - hp[:, 0])[:, None])
        # no root ahead yet (the derivative's sign unchanged, and it or the step not
        # shrinking by half): at least twice the last move, which reaches a bound in a
        # few iterations
        last_move = hp - prev_h[ids]
        grow = (~fr[:, None] & ~worse[:, None] & (step * last_move > 0)
                & (g * prev_g[ids] > 0) & ((np.abs(step) >= 0.5 * np.abs(last_move))
                                           | (np.abs(g) >= 0.5 * np.abs(prev_g[ids]))))
        step = np.where(grow, np.sign(step) * np.minimum(
            np.maximum(np.abs(step), 2 * np.abs(last_move)), MAX_STEP), step)
        # the asymptote of a fading evidence, unless a root is near (a small step)
        step = np.where(fading & (np.abs(step) > 0.3), np.sign(g) * MAX_STEP, step)
        target = np.clip(hp + step, lw, hw_)
        if k == 1:
            # the root is bracketed by the points where the derivative had each sign: a
            # step that leaves the bracket is replaced by its midpoint
            sgn = np.where(zero, 0.0, np.sign(g))
            floor[ids] = np.where(sgn > 0, np.maximum(floor[ids], hp), floor[ids])
            ceil[ids] = np.where(sgn < 0, np.minimum(ceil[ids], hp), ceil[ids])
            fl, ce = floor[ids], ceil[ids]
            both = np.isfinite(fl) & np.isfinite(ce)
            mid = 0.5 * (np.where(both, fl, 0.0) + np.where(both, ce, 0.0))
            target = np.where(both & ((target <= fl) | (target >= ce)) & (sgn != 0), mid,
                              target)
        done_ok = ~failed & ~bad & ~worse & np.all(np.abs(target - hp) <= TOL, axis=1)
        at_b = done_ok & np.any((hp <= lw + TOL) | (hp >= hw_ - TOL), axis=1)
        stop = failed | bad | done_ok
        stop_pos = pos[stop]
        finish(stop_pos, res)
        out["status"][work[pos[bad]]] = Status.NONFINITE_FIT
        at_bound[ids[at_b]] = True
        go = ~stop
        gi = ids[go]
        newh = np.where(worse[go, None], 0.5 * (hp[go] + prev_h[gi]), target[go])
        backtracks[gi] = np.where(worse[go], backtracks[gi] + 1, 0)
        keep = ~worse[go]
        prev_h[gi[keep]], prev_g[gi[keep]] = hp[go][keep], g[go][keep]
        prev_ev[gi[keep]] = ev[go][keep]
        h[gi] = newh
        start[gi] = res.mode[pos[go]]
    if np.any(active):      # the outer iteration limit: the last fits, status MAXITER
        pos = np.flatnonzero(active[work])
        finish(pos, last)
        out["status"][work[pos]] = np.where(last.status[pos] < 0, last.status[pos],
                                            Status.MAXITER)
    status = out["status"]
    status[at_bound & (status == 0)] = Status.BOUNDARY
    return _result(data, wanted, h, out, improper, at_bound)


def _result(data, wanted, h, out, improper, at_bound):
    """The result of glm_laplace from the per-problem arrays of the final fits."""
    fam, shp, d = data.family, tuple(data.batch_shape), data.d
    status = out["status"]
    fields = {p: None for p in MODEL_PARAMETERS}
    if fam.parameter in MODEL_PARAMETERS:
        param = np.reshape(np.array(data.param, dtype=np.float64), -1)
        if fam.parameter in wanted:
            v = np.exp(h[:, -1])
            param = np.sqrt(v) if fam.parameter == "scale" else v
        fields[fam.parameter] = param
    fields["prior_precision"] = np.exp(h[:, 0]) if wanted[0] == "prior_precision" else None
    fields["improper_prior"], fields["evidence_at_bound"] = improper, at_bound
    note = ""
    if data.single:
        st = Status(int(status[0]))
        res = GLMLaplaceResult(out["mode"][0], out["hess"][0], out["cov"][0],
                               out["log_det_cov"][0], out["logp"][0], st, out["niter"][0],
                               out["nfev"][0], STATUS_MESSAGES[st], cond=out["cond"][0],
                               family=fam.name, param_names=data.param_names,
                               **{f: None if v is None else v[0]
                                  for f, v in fields.items()})
        if res.evidence_at_bound:
            note = "; " + BOUND_NOTE
        if res.improper_prior and st < 0:
            note += _IMPROPER_NOTE
        warn_statuses(int(status[0]), note=note, stacklevel=4)
        return res
    fields = {f: None if v is None else v.reshape(shp) for f, v in fields.items()}
    res = BatchGLMLaplaceResult(out["mode"].reshape(shp + (d,)),
                                out["hess"].reshape(shp + (d, d)),
                                out["cov"].reshape(shp + (d, d)),
                                out["log_det_cov"].reshape(shp), out["logp"].reshape(shp),
                                status.reshape(shp), out["niter"].reshape(shp),
                                out["nfev"].reshape(shp), out["cond"].reshape(shp),
                                labels=data.labels, family=fam.name,
                                param_names=data.param_names, **fields)
    warn_statuses(res.status, note=res._message_note(), stacklevel=4)
    return res
