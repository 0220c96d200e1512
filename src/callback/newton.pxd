# Damped Newton for the mode of the callback engine, all B problems in lock step (one
# ``values`` call per stencil or line-search round for the whole batch).
#
# A true Hessian costs d(d+1) evaluations and a gradient 2d, so between true Hessians the
# model of -H is updated by BFGS from gradients (Nocedal & Wright ch. 6), refreshed
# (forward differences) after (d+1)/2 model steps, a poor line search or a non-concave
# region.  Convergence is judged in the posterior's own units (newton_loop): a Newton
# step from the central Hessian at the point returned whose decrement g^T (-H)^-1 g is at
# most tol, with a stencil whose steps agree with the sd's that Hessian implies.  The
# step Hessian is modified only when the Cholesky of -H fails: eigenvalues of -H are
# replaced by max(|lambda|, 1e-8 max|lambda|) (Nocedal & Wright sec. 3.4).  At a
# stationary point that is not a maximum the step follows the eigenvector of largest
# curvature of H, so a start at a saddle or minimum never comes back as a mode.
# Backtracking (Armijo, c1 = 1e-4) rejects non-finite trial points and trial points equal
# to x; a step whose gain is below the rounding level of log_post is taken unless the
# values contradict it.  The Hessian reported is always the unmodified one at the point
# returned.  Before a final Richardson (or forward) Hessian, a converged problem takes one
# more Newton step from a Richardson gradient, so that the mode is accurate well below tol
# and the ~1e-9 Hessian is not spoiled by the mode's error.

from libc.float cimport DBL_EPSILON
from libc.math cimport fabs, fmax, sqrt, isfinite, INFINITY
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memcmp

from objective cimport (lf_objective, counted_values, FD_CENTRAL, FD_FORWARD,
                        FD_RICHARDSON, LF_OK, LF_MAXITER, LF_NO_PROGRESS, LF_NONFINITE_X0,
                        LF_NONFINITE_FIT, LF_SINGULAR, LF_HESSIAN_NONFINITE, LF_DIVERGED,
                        LF_NO_MEMORY)
from eigen cimport all_finite, neg_eig, negdef, lf_ldl, lf_ldl_solve
from stencils cimport value_stencil, derivatives, steps_consistent, principal_check

cdef enum:
    MAX_RESTEPS = 3             # stencils recomputed at one point before giving up
    MAX_HALVINGS = 50

DEF ARMIJO_C1 = 1e-4
DEF EIG_FLOOR = 1e-8
DEF ROUNDING_GAIN = 32.0        # gains below this many ulps of |log_post| are unverifiable


cdef inline double scaled_norm(const double *p, const double *x,
                               Py_ssize_t d) noexcept nogil:
    cdef Py_ssize_t i
    cdef double m = 0.0, s, v
    for i in range(d):
        s = fabs(x[i])
        v = fabs(p[i]) / (s if s > 1.0 else 1.0)
        if v > m:
            m = v
    return m



cdef inline int newton_direction(const double *g, const double *H, const double *x,
                                 Py_ssize_t d,
                                 double tol, double *p, double *A, double *V,
                                 double *w) noexcept nogil:
    """Ascent direction p for log_post.  Returns 0 for the plain Newton step
    (-H positive definite), 1 for a modified step, 2 when the step is negligible but
    H has positive curvature: p is then the unit eigenvector of largest curvature
    (escape from a stationary point that is not a maximum) -- or H vanishes and the
    gradient does not: p is then the unit gradient (log_post is locally linear), 3 when
    the step is negligible and -H is positive semi-definite (nothing left to do here)."""
    cdef Py_ssize_t i, j, k, imin
    cdef double lam_max, lam_min, lam_top, t
    for i in range(d):
        p[i] = g[i]
    if negdef(H, d, A, V, w):
        lf_ldl_solve(V, w, <int> d, p)
        return 0
    neg_eig(H, d, A, V, w, &lam_min, &lam_top, &lam_max, &imin)
    for i in range(d):
        p[i] = 0.0
    if lam_max > 0.0:
        for k in range(d):
            t = 0.0
            for j in range(d):
                t += V[j * d + k] * g[j]
            t /= fabs(w[k]) if fabs(w[k]) > EIG_FLOOR * lam_max else EIG_FLOOR * lam_max
            for i in range(d):
                p[i] += V[i * d + k] * t
    else:
        t = 0.0
        for i in range(d):
            t += g[i] * g[i]
        if t > 0.0:
            t = sqrt(t)
            for i in range(d):
                p[i] = g[i] / t
            return 2
    if scaled_norm(p, x, d) > tol:
        return 1
    if lam_min < -16 * d * DBL_EPSILON * lam_max:
        for i in range(d):
            p[i] = V[i * d + imin]
        return 2
    return 3



cdef struct newton_work:
    double *xt          # (B, d) trial points
    double *P           # (B, d) steps
    double *xprev       # (B, d) previous iterate
    double *gprev       # (B, d) gradient there
    double *u           # (B, d) step units: conditional sd's from the last true Hessian
    double *Bk          # (B, d, d) quasi-Newton model of -H
    double *ft          # (B,)
    double *alpha       # (B,)
    double *slope       # (B,) g.p: the Newton decrement when p is a Newton step
    double *sn          # (B,) scaled Newton step
    double *bound       # (B,) divergence bound on |x|
    double *A           # (d, d)
    double *V           # (d, d)
    double *w           # (d,)
    char *active        # (B,) still iterating
    char *in_ls         # (B,) in the line search
    char *escape        # (B,) stepping out of a stationary point
    char *need_full     # (B,) next round: 0 gradient only, 1 forward, 2 central Hessian
    char *used          # (B,) what this round's step was based on (as need_full)
    char *h_current     # (B,) H holds the true Hessian at x
    char *mask          # (B,) scratch
    char *polish        # (B,) converged on a Newton step: may be polished
    char *unverified    # (B,) this step's gain is below the rounding level of log_post
    char *stalled       # (B,) the line search from x found nothing (x unchanged since)
    long *nquasi        # (B,) quasi-Newton steps since the last true Hessian
    long *nrestep       # (B,) stencils recomputed at x for steps in its own scale


cdef inline int gradient_only(lf_objective *obj, Py_ssize_t B, Py_ssize_t d,
                              const double *x,
                              const double *f0, const char *mask, const double *hstep,
                              const double *u, double *g, long *nfev) noexcept nogil:
    if obj.grad != NULL:
        return obj.grad(obj.ctx, 1, B, d, x, g)
    return value_stencil(obj, B, d, x, <double *> f0, 0, mask, FD_CENTRAL, 0, hstep, u, g,
                         NULL, NULL, nfev)


cdef inline void bfgs_update(double *Bk, const double *s, const double *y, Py_ssize_t d,
                             double *Bs) noexcept nogil:
    """BFGS update of the model Bk of -H with step s and y = g_old - g_new (Nocedal &
    Wright eq. 6.19); skipped when the curvature condition s.y > 0 fails, so Bk stays
    positive definite."""
    cdef Py_ssize_t i, j
    cdef double sBs = 0.0, sy = 0.0, ss = 0.0, yy = 0.0
    for i in range(d):
        Bs[i] = 0.0
        for j in range(d):
            Bs[i] += Bk[i * d + j] * s[j]
        sBs += s[i] * Bs[i]
        sy += s[i] * y[i]
        ss += s[i] * s[i]
        yy += y[i] * y[i]
    if not (sy > 1e-10 * sqrt(ss * yy)) or not (sBs > 0.0):
        return
    for i in range(d):
        for j in range(d):
            Bk[i * d + j] += y[i] * y[j] / sy - Bs[i] * Bs[j] / sBs


cdef inline int try_steps(lf_objective *obj, Py_ssize_t B, Py_ssize_t d, const double *x,
                          const char *mask, long *nfev, newton_work *W) noexcept nogil:
    """Trial points W.xt = x + W.alpha W.P for the masked problems (x for the others)
    and their values W.ft, in one values call, counted for the masked ones."""
    cdef Py_ssize_t b, i
    for b in range(B):
        for i in range(d):
            W.xt[b * d + i] = x[b * d + i] + (W.alpha[b] * W.P[b * d + i] if mask[b]
                                              else 0.0)
    return counted_values(obj, 1, B, d, W.xt, W.ft, mask, nfev)


cdef inline int newton_loop(lf_objective *obj, Py_ssize_t B, Py_ssize_t d, double *x,
                            double *f,
                            double *g, double *H, double *herr, int *status, long *niter,
                            long *nfev, double tol, long maxiter, const double *hstep,
                            newton_work *W) noexcept nogil:
    """The lock-step iteration.  A round computes the true (finite-difference or
    analytic) Hessian for the problems that need it -- the first round, a candidate
    convergence, a model that lost definiteness or predicted badly, any non-concave
    region -- and only the gradient for the others, whose model of -H is updated by
    BFGS.  Each negative definite true Hessian sets the problem's step units u to its
    conditional sd's, so later stencils work in the posterior's own scale.

    Convergence is declared only on a Newton step p computed from the central Hessian
    at the current point, whose stencil used steps within STEP_SLACK of the sd's that
    Hessian implies (else it is recomputed, at most MAX_RESTEPS times: a maximum whose
    curvature no stencil resolves, such as -t^4 at 0, is LF_SINGULAR), when the Newton
    decrement g.p -- the squared length of p in the posterior's metric -- is at most
    tol, and p is negligible against tol max(1, |x_i|), or its gain is below the
    rounding level of log_post (no value can verify it), or the line search from x
    found nothing.  A step whose gain is below that rounding level is taken when the
    values do not contradict it; a trial point equal to x is a failed line search."""
    cdef Py_ssize_t b, i, it_ls, nact, nfull, dd = d * d
    cdef int rc, kind, full, consistent
    cdef double s, piv, rnd
    for b in range(B):
        status[b] = LF_OK
        niter[b] = 0
        nfev[b] = 0
        W.active[b] = 1
        W.need_full[b] = 1           # the first model: a forward-difference Hessian
        W.h_current[b] = 0
        W.polish[b] = 0
        W.stalled[b] = 0
        W.nquasi[b] = 0
        W.nrestep[b] = 0
        s = 1.0
        for i in range(d):
            W.u[b * d + i] = 0.0
            if fabs(x[b * d + i]) > s:
                s = fabs(x[b * d + i])
        W.bound[b] = 1e12 * s
    rc = obj.values(obj.ctx, 1, B, d, x, f)
    if rc != 0:
        return rc
    for b in range(B):
        nfev[b] += 1
        if not isfinite(f[b]):
            status[b] = LF_NONFINITE_X0
            W.active[b] = 0
    while True:
        # true Hessians: central where they confirm convergence (and are reported),
        # forward where they only refresh the model; gradients elsewhere
        for full in range(2, -1, -1):
            nfull = 0
            for b in range(B):
                W.mask[b] = W.active[b] and W.need_full[b] == full
                nfull += W.mask[b]
            if nfull == 0:
                continue
            if full == 0:
                rc = gradient_only(obj, B, d, x, f, W.mask, hstep, W.u, g, nfev)
            else:
                rc = derivatives(obj, B, d, x, f, W.mask,
                                 FD_CENTRAL if full == 2 else FD_FORWARD, hstep, W.u, g, H,
                                 herr, nfev)
            if rc != 0:
                return rc
            if full == 2:
                for b in range(B):
                    if W.mask[b]:
                        W.h_current[b] = 1
        nact = 0
        for b in range(B):
            W.in_ls[b] = 0
            if not W.active[b]:
                continue
            W.used[b] = W.need_full[b]
            if not all_finite(g + b * d, d):
                status[b] = LF_NONFINITE_FIT
                W.active[b] = 0
                continue
            consistent = 1
            if W.need_full[b]:
                if not all_finite(H + b * dd, dd):
                    status[b] = LF_HESSIAN_NONFINITE
                    W.active[b] = 0
                    continue
                kind = newton_direction(g + b * d, H + b * dd, x + b * d, d, tol,
                                        W.P + b * d, W.A, W.V, W.w)
                for i in range(dd):
                    W.Bk[b * dd + i] = -H[b * dd + i]
                if kind == 0 and obj.hess == NULL and hstep == NULL:
                    consistent = steps_consistent(H + b * dd, d, W.u + b * d, W.w)
                    memcpy(W.u + b * d, W.w, d * sizeof(double))
            else:
                for i in range(d):
                    W.xt[b * d + i] = W.gprev[b * d + i] - g[b * d + i]
                    W.P[b * d + i] = x[b * d + i] - W.xprev[b * d + i]
                bfgs_update(W.Bk + b * dd, W.P + b * d, W.xt + b * d, d, W.w)
                if lf_ldl(W.Bk + b * dd, <int> d, 0.0, 16 * d * DBL_EPSILON, W.A, W.w,
                          &piv) != 0:
                    W.need_full[b] = 1           # the model lost definiteness
                    continue
                for i in range(d):
                    W.P[b * d + i] = g[b * d + i]
                lf_ldl_solve(W.A, W.w, <int> d, W.P + b * d)
                kind = 0
            W.escape[b] = kind == 2
            W.sn[b] = scaled_norm(W.P + b * d, x + b * d, d)
            W.slope[b] = 0.0
            for i in range(d):
                W.slope[b] += g[b * d + i] * W.P[b * d + i]
            rnd = ROUNDING_GAIN * DBL_EPSILON * (fabs(f[b]) if fabs(f[b]) > 1.0 else 1.0)
            W.unverified[b] = kind == 0 and W.slope[b] <= rnd
            if kind == 3 or (kind == 0 and W.slope[b] <= tol and (
                    W.sn[b] <= tol or W.unverified[b] or W.stalled[b])):
                if W.need_full[b] != 2:
                    W.need_full[b] = 2   # confirm with the central Hessian
                elif not consistent:
                    W.nrestep[b] += 1    # again, with steps in the sd's just found
                    if W.nrestep[b] > MAX_RESTEPS:
                        status[b] = LF_SINGULAR
                        W.active[b] = 0
                else:
                    W.active[b] = 0      # converged, or flat: the summary classifies H
                    W.polish[b] = kind == 0
                continue
            if niter[b] >= maxiter:
                status[b] = LF_MAXITER
                W.active[b] = 0
                continue
            # non-concave regions keep true Hessians; a model older than a true
            # Hessian's worth of gradients ((d + 1) / 2 of them) is refreshed
            if W.need_full[b]:
                W.nquasi[b] = 0
            else:
                W.nquasi[b] += 1
            W.need_full[b] = kind != 0 or 2 * W.nquasi[b] >= d + 1
            W.alpha[b] = 1.0
            if W.escape[b]:
                for i in range(d):
                    if fabs(x[b * d + i]) > W.alpha[b]:
                        W.alpha[b] = fabs(x[b * d + i])
            W.in_ls[b] = 1
            nact += 1
        if nact == 0:
            for b in range(B):
                if W.active[b]:
                    break
            else:
                return 0
            continue                     # only re-evaluations are pending
        # backtracking line search, all problems in one values call per round;
        # W.mask marks a problem whose trial point fell back onto x
        for b in range(B):
            W.mask[b] = 0
        for it_ls in range(MAX_HALVINGS):
            nact = 0
            for b in range(B):
                nact += W.in_ls[b]
            if nact == 0:
                break
            rc = try_steps(obj, B, d, x, W.in_ls, nfev, W)
            if rc != 0:
                return rc
            for b in range(B):
                if not W.in_ls[b]:
                    continue
                rnd = ROUNDING_GAIN * DBL_EPSILON * (fabs(f[b]) if fabs(f[b]) > 1.0
                                                     else 1.0)
                if W.ft[b] == INFINITY:
                    status[b] = LF_DIVERGED       # log_post unbounded above
                    W.active[b] = 0
                    W.in_ls[b] = 0
                elif memcmp(W.xt + b * d, x + b * d, d * sizeof(double)) == 0:
                    W.in_ls[b] = 0
                    W.mask[b] = 1
                elif isfinite(W.ft[b]) and (
                        W.ft[b] > f[b] if W.escape[b]
                        else W.ft[b] >= f[b] - rnd if W.unverified[b]
                        else W.ft[b] >= f[b] + ARMIJO_C1 * W.alpha[b] * W.slope[b]):
                    memcpy(W.xprev + b * d, x + b * d, d * sizeof(double))
                    memcpy(W.gprev + b * d, g + b * d, d * sizeof(double))
                    memcpy(x + b * d, W.xt + b * d, d * sizeof(double))
                    f[b] = W.ft[b]
                    niter[b] += 1
                    W.h_current[b] = 0
                    W.stalled[b] = 0
                    W.nrestep[b] = 0
                    if it_ls > 1:
                        W.need_full[b] = 1       # the model predicted badly
                    W.in_ls[b] = 0
                else:
                    W.alpha[b] *= 0.5
        for b in range(B):
            if W.in_ls[b] or W.mask[b]:
                if W.used[b] < 2:
                    W.need_full[b] = W.used[b] + 1   # retry with a truer Hessian
                    continue
                if not W.escape[b] and W.slope[b] <= tol:
                    # nothing verifiable along a Newton step that is already within
                    # sqrt(tol) sd of the mode: the noise floor of log_post
                    W.stalled[b] = 1
                    W.need_full[b] = 2
                    continue
                status[b] = LF_NO_PROGRESS
                W.active[b] = 0
            elif W.active[b]:
                for i in range(d):
                    if fabs(x[b * d + i]) > W.bound[b]:
                        status[b] = LF_DIVERGED
                        W.active[b] = 0
                        break


cdef inline int polish(lf_objective *obj, Py_ssize_t B, Py_ssize_t d, double *x, double *f,
                       const double *H, double tol, const double *hstep, long *nfev,
                       newton_work *W) noexcept nogil:
    """Before a final Hessian by another stencil (Richardson): each converged problem
    takes one more Newton step, from a Richardson gradient (6d points, far more
    accurate than the central one the iteration stopped on; the user's gradient when
    there is one) and its central Hessian, so that the mode's own error (~tol) does not
    spoil a ~1e-9 Hessian through the third derivatives.  A step that lowers log_post
    beyond its rounding level is not taken."""
    cdef Py_ssize_t b, i, dd = d * d
    cdef int rc, any_ = 0
    for b in range(B):
        any_ |= W.polish[b]
    if not any_:
        return 0
    if obj.grad != NULL:
        rc = obj.grad(obj.ctx, 1, B, d, x, W.gprev)
    else:
        rc = value_stencil(obj, B, d, x, f, 0, W.polish, FD_RICHARDSON, 0, hstep, W.u,
                           W.gprev, NULL, NULL, nfev)
    if rc != 0:
        return rc
    for b in range(B):
        # only a plain Newton step (-H positive definite) is taken
        if W.polish[b] and newton_direction(W.gprev + b * d, H + b * dd, x + b * d, d, tol,
                                            W.P + b * d, W.A, W.V, W.w) != 0:
            W.polish[b] = 0
        W.alpha[b] = 1.0
    rc = try_steps(obj, B, d, x, W.polish, nfev, W)
    for b in range(B if rc == 0 else 0):
        if W.polish[b] and isfinite(W.ft[b]) and \
                W.ft[b] >= f[b] - 64 * DBL_EPSILON * fmax(1.0, fabs(f[b])):
            memcpy(x + b * d, W.xt + b * d, d * sizeof(double))
            f[b] = W.ft[b]
    return rc



cdef inline int newton_batch(lf_objective *obj, Py_ssize_t B, Py_ssize_t d, double *x,
                             double *f,
                             double *g, double *H, double *herr, int *status, long *niter,
                             long *nfev, double tol, long maxiter, int final_method,
                             const double *hstep, double *axis_err) noexcept nogil:
    """Damped Newton for B problems in lock step (see the comment at the top and
    newton_loop).  On return x is each problem's last iterate and f, g, H the values
    there (H by final_method for the problems that converged); status is LF_OK or a
    failure code (summarize_problem then classifies the Hessian of the LF_OK ones)."""
    cdef newton_work W
    cdef Py_ssize_t b, nact = 0
    cdef int rc
    cdef double *buf = <double *> malloc((5 * B * d + B * d * d + 6 * B + 2 * d * d + d + 1)
                                         * sizeof(double))
    cdef char *flags = <char *> malloc(10 * B + 1)
    cdef long *counts = <long *> malloc((2 * B + 1) * sizeof(long))
    if buf == NULL or flags == NULL or counts == NULL:
        free(buf)
        free(flags)
        free(counts)
        return LF_NO_MEMORY
    W.xt = buf
    W.P = W.xt + B * d
    W.xprev = W.P + B * d
    W.gprev = W.xprev + B * d
    W.u = W.gprev + B * d
    W.Bk = W.u + B * d
    W.ft = W.Bk + B * d * d
    W.alpha = W.ft + B
    W.slope = W.alpha + B
    W.sn = W.slope + B
    W.bound = W.sn + B
    W.A = W.bound + B
    W.V = W.A + d * d
    W.w = W.V + d * d
    W.active = flags
    W.in_ls = flags + B
    W.escape = flags + 2 * B
    W.need_full = flags + 3 * B
    W.h_current = flags + 4 * B
    W.mask = flags + 5 * B
    W.used = flags + 6 * B
    W.polish = flags + 7 * B
    W.unverified = flags + 8 * B
    W.stalled = flags + 9 * B
    W.nquasi = counts
    W.nrestep = counts + B
    rc = newton_loop(obj, B, d, x, f, g, H, herr, status, niter, nfev, tol, maxiter,
                     hstep, &W)
    if rc == 0 and final_method != FD_CENTRAL and obj.hess == NULL:
        rc = polish(obj, B, d, x, f, H, tol, hstep, nfev, &W)
    if rc == 0:
        # every reported Hessian (and gradient) is the true one at the point returned,
        # by final_method: the converged problems', and any whose last iterate has none
        for b in range(B):
            W.mask[b] = status[b] != LF_NONFINITE_X0 and (
                not W.h_current[b] or (status[b] == LF_OK and final_method != FD_CENTRAL
                                       and obj.hess == NULL))
            nact += W.mask[b]
        if nact:
            rc = derivatives(obj, B, d, x, f, W.mask, final_method, hstep, W.u, g, H,
                             herr, nfev)
    if rc == 0 and obj.hess == NULL and final_method != FD_RICHARDSON:
        for b in range(B):
            W.mask[b] = status[b] == LF_OK
        rc = principal_check(obj, B, d, x, f, H, herr, W.mask, axis_err, nfev)
        for b in range(B):
            if status[b] == LF_OK and not W.mask[b]:
                status[b] = LF_SINGULAR          # a curvature the stencil cannot resolve
    free(buf)
    free(flags)
    free(counts)
    return rc
