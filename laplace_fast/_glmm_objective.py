"""The objective of :func:`laplace_fast.glmm_laplace` and its optimisation.

theta = (beta, the entries of L, log scale or log dispersion when estimated), with
Sigma = L L^T, L lower triangular (diagonal for ``re_cov="diag"``) with its diagonal
stored as logs.  F(theta) = sum_g log p_g, each group's Laplace evidence (or adaptive
Gauss-Hermite quadrature for ``nagq > 1``).

The gradient of the Laplace objective is exact.  For group g with mode b, covariance
C = H^-1 (H = Z^T W Z + Omega, Omega = Sigma^-1) and, per row, g_i = l', h_i = -l'' and
h3_i = dh_i/deta at the mode:
- by the envelope theorem the log joint's derivative needs no derivative of the mode;
- d(-1/2 log det H) = -1/2 tr(C dH), dH = sum_i z_i z_i^T h3_i deta_i + dOmega, with
  deta_i = x_i dbeta + z_i^T db and the implicit derivative of the mode
  db = -C (Z^T W X dbeta + dOmega b).
With c_i = z_i^T C z_i, v = sum_i h3_i c_i z_i and u = C v this gives
  dF/dbeta = X^T a,  a_i = g_i - c_i h3_i / 2 + h_i z_i^T u / 2,
  dF/dOmega = 1/2 sum_g (Sigma - b b^T - C + (b u^T + u b^T) / 2),
then dF/dSigma = -Omega (dF/dOmega) Omega and dF/dL = 2 (dF/dSigma) L.  The gaussian
scale's derivative is exact too (h3 = 0); the dispersion's and every derivative of
the quadrature objective are central differences of F.
"""

import warnings

import numpy as np

from . import _glmm_kernels
from ._glm import fit_glm
from ._glm_prepare import GLMData
from ._lazy import LazyModule
from ._status import STATUS_MESSAGES, LaplaceWarning, Status

__all__ = ["Objective"]

optimize = LazyModule("scipy.optimize")


# The outer problem's matrices are small (q x q, k x k) and are handled by hand or by
# numpy: a LAPACK call through scipy costs more than a fit of every group when the
# machine is busy (its thread pool wakes beside the kernel's).
def _lower_inverse(L):
    """L^-1 of a lower-triangular L, by forward substitution."""
    q = L.shape[0]
    inv = np.zeros_like(L)
    for j in range(q):
        inv[j, j] = 1.0 / L[j, j]
        for i in range(j + 1, q):
            inv[i, j] = -(L[i, j:i] @ inv[j:i, j]) / L[i, i]
    return inv


def _cho_solve(R, b):
    """(R R^T)^-1 b for the lower Cholesky factor R."""
    Rinv = _lower_inverse(R)
    return Rinv.T @ (Rinv @ b)

_INNER_TOL = 1e-10      # the groups' fits
_BOUNDARY_SD = 1e-4     # a random-effect standard deviation below this is at zero
_NEAR_ZERO_SD = 1e-2    # ... one below this whose curvature vanishes is put at zero,
_AT_ZERO_SD = 1e-6      # this (relative to the scale for the gaussian family)
_FD_STEP = 1e-4         # central differences of F, in theta
_HESS_STEP = 1e-5       # forward differences of the gradient, in theta
_NEWTON_STEPS = 8       # the Newton polish after BFGS, at most
_BFGS_GTOL = 1e-5       # BFGS stops at this gradient per group, Newton takes over


class Objective:
    """The groups' data laid out once, and F(theta) with its gradient."""

    def __init__(self, both, q, p, *, re_cov, estimate, fixed, nagq, nthreads):
        self.fam = both.family
        self.q, self.p = q, p
        self.Z = np.ascontiguousarray(both.X[:, :q])
        self.X = np.ascontiguousarray(both.X[:, q:])
        self.y, self.w, self.t = both.y, both.weights, both.trials
        self.off = both.offset if both.offset is not None else np.zeros(self.y.size)
        self.starts, self.labels, self.nmax = both.starts, both.labels, both.nmax
        self.B = both.n_problems
        self.gid = np.repeat(np.arange(self.B), np.diff(self.starts))
        self.re_cov, self.estimate, self.fixed = re_cov, estimate, fixed
        self.nagq, self.nthreads = nagq, nthreads
        self.tril = np.tril_indices(q) if re_cov == "full" else (np.arange(q),) * 2
        self.ncov = self.tril[0].size
        self.on_diag = np.flatnonzero(self.tril[0] == self.tril[1])
        self.k = p + self.ncov + int(estimate)
        self.modes = None       # the last inner fit's modes: the next one's warm start
        self._last = None       # (theta's bytes, (F, grad)) of the last value_grad
        self.nfev = 0
        if nagq > 1:
            x, wq = np.polynomial.hermite.hermgauss(nagq)
            self.nodes, self.log_node_weights = x, np.log(wq) + x * x

    # --- parameters ------------------------------------------------------------------
    def unpack(self, theta):
        """beta, L and the family's parameter (or 0 when it has none)."""
        p, q = self.p, self.q
        beta = theta[:p]
        L = np.zeros((q, q))
        entries = theta[p:p + self.ncov].copy()
        entries[self.on_diag] = np.exp(entries[self.on_diag])
        L[self.tril] = entries
        if self.estimate:
            param = float(np.exp(theta[-1]))
        else:
            param = self.fixed if self.fixed is not None else 0.0
        return beta, L, param

    def relative_sd(self, theta):
        """The diagonal of L, relative to the scale for the gaussian family: where
        it is below _BOUNDARY_SD the variance is on its boundary."""
        _, L, param = self.unpack(theta)
        return np.diag(L) / (param if self.fam.parameter == "scale" else 1.0)

    # --- the inner fits ----------------------------------------------------------------
    def data(self, beta, param):
        """The groups' GLM data: design Z, offset X beta + offset."""
        return GLMData(family=self.fam, X=self.Z, y=self.y, offset=self.off + self.X @ beta,
                       weights=self.w, trials=self.t, starts=self.starts, nmax=self.nmax,
                       d=self.q, batch_shape=(self.B,), single=False, labels=self.labels,
                       param=np.full(self.B, param), param_names=None)

    @staticmethod
    def precision(L):
        Linv = _lower_inverse(L)
        Omega = Linv.T @ Linv
        return 0.5 * (Omega + Omega.T)      # exactly symmetric, as the kernel requires

    def inner(self, theta, warm=True):
        """The groups' fits at theta (warnings are the caller's to give)."""
        beta, L, param = self.unpack(theta)
        if not np.all(np.isfinite(L)) or np.any(np.diag(L) <= 0):
            return None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LaplaceWarning)
            res = fit_glm(self.data(beta, param), prior_precision=self.precision(L),
                          prior_mean=0.0, start=self.modes if warm else None,
                          tol=_INNER_TOL, n_threads=self.nthreads)
        self.nfev += 1
        return res

    def check_data(self):
        """The kernel's check of y, offsets, weights and trials (a ValueError naming the
        argument), by one fit at a start."""
        self.inner(np.concatenate([np.zeros(self.p), np.zeros(self.ncov),
                                   np.zeros(int(self.estimate))]), warm=False)
        self.nfev = 0

    # --- F and its gradient ------------------------------------------------------------
    def value(self, theta):
        res = self.inner(theta)
        if res is None or np.any(res.status < 0):
            return -np.inf, res
        self.modes = res.mode
        if self.nagq == 1:
            return float(np.sum(res.log_evidence)), res
        return float(np.sum(self.quadrature(theta, res))), res

    def quadrature(self, theta, res):
        """Each group's log marginal likelihood by adaptive Gauss-Hermite quadrature
        around its mode (q = 1): log of sqrt(2) s sum_k w_k e^(x_k^2) p(y, b + sqrt(2) s
        x_k), s^2 the Laplace variance; at one node it is the Laplace evidence."""
        beta, L, param = self.unpack(theta)
        b, s = res.mode[:, 0], np.sqrt(res.cov[:, 0, 0])
        z, gid = self.Z[:, 0], self.gid
        eta = self.off + self.X @ beta + z * b[gid]
        shift = np.sqrt(2.0) * s[:, None] * self.nodes            # (B, K)
        sd = L[0, 0]
        lik0 = self.fam.log_likelihood(eta, self.y, self.t, param)
        rows = self.fam.log_likelihood(eta[:, None] + z[:, None] * shift[gid], self.y[:, None],
                                None if self.t is None else self.t[:, None], param)
        rows -= lik0[:, None]
        if self.w is not None:
            rows *= self.w[:, None]
        diff = np.add.reduceat(rows, self.starts[:-1], axis=0)
        diff += (-0.5 * ((b[:, None] + shift) ** 2 - b[:, None] ** 2) / sd ** 2)
        terms = diff + self.log_node_weights
        top = terms.max(axis=1)
        return (res.logp + np.log(np.sqrt(2.0) * s) + top
                + np.log(np.sum(np.exp(terms - top[:, None]), axis=1)))

    def value_grad(self, theta):
        key = theta.tobytes()
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        out = self._value_grad(theta)
        self._last = (key, out)
        return out

    def _value_grad(self, theta):
        F, res = self.value(theta)
        if not np.isfinite(F):
            return F, np.full(self.k, np.nan)
        if self.nagq > 1:
            return F, self.central(theta, range(self.k))
        grad = self.exact_grad(theta, res)
        if self.estimate and self.fam.parameter != "scale":
            grad[-1] = self.central(theta, [self.k - 1])[0]
        return F, grad

    def central(self, theta, coords):
        """Central differences of F in the coordinates given, every evaluation
        warm-started from the modes at theta."""
        modes = self.modes
        out = []
        for j in coords:
            e = np.zeros(self.k)
            e[j] = _FD_STEP
            hi = self.value(theta + e)[0]
            self.modes = modes
            lo = self.value(theta - e)[0]
            self.modes = modes
            out.append((hi - lo) / (2 * _FD_STEP))
        return np.array(out)

    def exact_grad(self, theta, res):
        beta, L, param = self.unpack(theta)
        Z, p = self.Z, self.p
        b, C = res.mode, res.cov
        eta = np.empty(self.y.size)
        _glmm_kernels.linear_predictor(Z, self.starts, b, self.off + self.X @ beta, eta,
                                       self.nthreads)
        g, h, h3 = self.fam.derivatives(eta, self.y, self.t, param)
        if self.w is not None:
            g, h, h3 = g * self.w, h * self.w, h3 * self.w
        a, u = np.empty(self.y.size), np.empty((self.B, self.q))
        _glmm_kernels.gradient_terms(Z, self.starts, C, g, np.ascontiguousarray(h, float),
                                     h3, a, u, self.nthreads)
        grad = np.empty(self.k)
        grad[:p] = self.X.T @ a
        Sigma = L @ L.T
        Omega = self.precision(L)
        bu = b.T @ u
        G_omega = 0.5 * (self.B * Sigma - b.T @ b - C.sum(axis=0) + 0.5 * (bu + bu.T))
        dL = 2.0 * (-Omega @ G_omega @ Omega) @ L
        entries = dL[self.tril]
        entries[self.on_diag] *= L[self.tril][self.on_diag]
        grad[p:p + self.ncov] = entries
        if self.estimate and self.fam.parameter == "scale":
            # d/dlog sigma: sum_i w_i (r_i^2 / sigma^2 - 1) + sum_g (q - tr(C_g Omega))
            r2 = (self.y - eta) ** 2 / param ** 2 - 1.0
            grad[-1] = (np.sum(r2 if self.w is None else self.w * r2)
                        + self.B * self.q - np.einsum("bij,ji->", C, Omega))
        return grad

    def hessian(self, theta, coords):
        """The Hessian of F in the coordinates given: forward differences of the exact
        gradient (step _HESS_STEP; its error, about that step relative, is far below
        the standard errors' own), symmetrised."""
        modes, g0 = self.modes, self.value_grad(theta)[1][coords]
        H = np.empty((len(coords), len(coords)))
        for a, j in enumerate(coords):
            e = np.zeros(self.k)
            e[j] = _HESS_STEP
            H[a] = (self.value_grad(theta + e)[1][coords] - g0) / _HESS_STEP
            self.modes = modes
        return 0.5 * (H + H.T)

    # --- the optimisation ------------------------------------------------------------
    def start(self):
        """theta0: beta from one GLM of all rows (a weak prior), Sigma = I (the
        scale^2 I for the gaussian family, as lmer's relative factor 1), the
        dispersion 1."""
        param = self.fixed if self.fixed is not None else 1.0
        if self.fam.parameter not in ("scale", "dispersion"):
            param = 0.0
        one = GLMData(family=self.fam, X=self.X, y=self.y, offset=self.off, weights=self.w,
                      trials=self.t, starts=self.starts[[0, -1]], nmax=self.y.size,
                      d=self.p, batch_shape=(1,), single=False, labels=None,
                      param=np.full(1, param), param_names=None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", LaplaceWarning)
            beta = fit_glm(one, prior_precision=1e-4, n_threads=self.nthreads).mode[0]
        theta = np.zeros(self.k)
        theta[:self.p] = np.where(np.isfinite(beta), beta, 0.0)
        if self.fam.parameter == "scale":
            resid = self.y - self.off - self.X @ theta[:self.p]
            sigma = float(np.sqrt(np.mean(resid ** 2))) or 1.0
            if self.estimate:
                theta[-1] = np.log(sigma)
            theta[self.p + self.on_diag] = np.log(self.fixed or sigma)
        return theta

    def fit(self, *, tol, maxiter):
        theta = self.start()
        scale = max(1.0, float(self.B))

        def fun(th):
            F, grad = self.value_grad(th)
            if not np.isfinite(F):
                return np.inf, np.zeros(self.k)
            return -F / scale, -grad / scale

        # BFGS to the neighbourhood of the optimum, Newton the rest of the way; where
        # Newton cannot start (-H not positive definite: an optimum on the boundary
        # not yet reached, whose variance's curvature vanishes), BFGS on to tol first
        self.niter = 0
        for gtol in (_BFGS_GTOL, tol):
            opt = optimize.minimize(fun, theta, jac=True, method="BFGS",
                                    options={"maxiter": maxiter, "gtol": gtol})
            self.niter += int(opt.nit)
            self.theta = opt.x
            self.polish(tol)
            if self.converged:
                break
            theta = self.theta
        return self

    def interior(self, theta):
        """The coordinates of theta off the boundary (the log-diagonals of L whose
        standard deviation is at zero excluded)."""
        at_zero = self.relative_sd(theta) < _BOUNDARY_SD
        skip = {self.p + int(self.on_diag[j]) for j in np.flatnonzero(at_zero)}
        return [j for j in range(self.k) if j not in skip], bool(at_zero.any())

    def polish(self, tol):
        """Newton steps on the interior coordinates, halved until F does not decrease,
        until the step is below tol (relative).  The Hessian is computed once and
        reused (a chord method: near the optimum its change is below its own error),
        again only where a step fails; the last one gives fixef_cov."""
        theta = self.theta
        F, grad = self.value_grad(theta)
        self.converged = False
        H = None
        for _ in range(_NEWTON_STEPS):
            coords, _ = self.interior(theta)
            if H is None or coords != self.coords:
                H = self.hessian(theta, coords)
                self.H, self.coords = H, coords
            try:
                R = np.linalg.cholesky(-H)
            except np.linalg.LinAlgError:
                # -H is not negative definite: a standard deviation near zero whose
                # curvature vanishes is an optimum on the boundary that BFGS approaches
                # only asymptotically (F is flat in its log); put it there, Newton on
                sd = self.relative_sd(theta)
                near = np.flatnonzero((sd < _NEAR_ZERO_SD) & (sd >= _BOUNDARY_SD))
                if near.size == 0:
                    break
                theta = theta.copy()
                theta[self.p + self.on_diag[near]] += np.log(_AT_ZERO_SD / sd[near])
                F, grad = self.value_grad(theta)
                H = None
                continue
            step = _cho_solve(R, grad[coords])
            if np.all(np.abs(step) <= tol * (1.0 + np.abs(theta[coords]))):
                self.converged = bool(np.isfinite(F))
                break
            for _ in range(30):
                trial = theta.copy()
                trial[coords] += step
                Ft, gt = self.value_grad(trial)
                if Ft >= F - 1e-12 * abs(F):
                    theta, F, grad = trial, Ft, gt
                    break
                step = 0.5 * step
            else:
                H = None        # no ascent along this step: the Hessian again, here
            self.niter += 1
        self.theta, self.F = theta, F

    # --- the result ------------------------------------------------------------------
    def result(self, cls):
        """The GlmmResult at the optimum; the groups refitted from their own starts, so
        that random_effects[k] is glm_laplace of group k alone, bit for bit."""
        theta = self.theta
        beta, L, param = self.unpack(theta)
        self.modes = None
        F, res = self.value(theta)
        coords, boundary = self.interior(theta)
        full_cov = np.full((self.k, self.k), np.nan)
        H = getattr(self, "H", None)
        if H is not None and list(self.coords) == coords:
            try:
                inv = _cho_solve(np.linalg.cholesky(-H), np.eye(len(coords)))
                full_cov[np.ix_(coords, coords)] = inv
            except np.linalg.LinAlgError:
                pass
        failed = np.flatnonzero(res.status < 0) if res is not None else np.arange(self.B)
        if failed.size:
            status = Status.NONFINITE_FIT
            where = ", ".join(repr(x) for x in self.labels[failed[:5]].tolist())
            message = (f"the inner fits of {failed.size} groups failed (labels {where}"
                       f"{', ...' if failed.size > 5 else ''}): see random_effects.status")
        elif not self.converged:
            status = Status.MAXITER
            message = "the outer optimisation stopped before convergence (maxiter)"
        elif boundary:
            status = Status.BOUNDARY
            message = STATUS_MESSAGES[Status.BOUNDARY]
        else:
            status = Status.OK
            message = "converged"
        k = self.k
        n = int(self.y.size if self.w is None else np.count_nonzero(self.w))
        return cls(fixef=beta.copy(), fixef_cov=full_cov[:self.p, :self.p].copy(),
                   re_cov=L @ L.T, scale=param if self.fam.parameter == "scale" else None,
                   dispersion=param if self.fam.parameter == "dispersion" else None,
                   log_likelihood=F, aic=-2 * F + 2 * k, bic=-2 * F + k * np.log(n),
                   random_effects=res, labels=self.labels, status=status,
                   niter=self.niter, nfev=self.nfev, message=message,
                   family=self.fam, nagq=self.nagq, theta=theta, theta_cov=full_cov,
                   n_obs=n, re_structure=self.re_cov, parameter_estimated=self.estimate)
