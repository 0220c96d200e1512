# Finite-difference stencils of the callback engine.
#
# Stencils generate all their points first and ask for them in one ``values`` call, so a
# vectorized Python callback costs one Python call per Hessian.  Steps are c * u_i,
# rounded so that x_i + h_i is exact (Press et al., Numerical Recipes, 3rd ed., sec.
# 5.7): u_i = max(1, |x_i|) until a negative definite Hessian gives the problem's
# conditional sd's 1 / sqrt(-H_ii), the stencil's units from then on (the public
# ``hessian``/``gradient`` keep max(1, |x_i|)).  The rounding error of a difference of
# values of size |f| is about eps |f|, so c grows with |f| by the power that balances it
# against the truncation (block_rule, rounding_factor).  Central second differences:
# c = 2.5e-4 (about 2 eps**(1/4)) in max(1, |x|) units, 1e-3 in sd units; first
# differences eps**(1/3); forward second differences eps**(1/3) and 1e-5; Richardson:
# c = 3e-2 (0.2 in sd units) at h, h/2 and h/4, extrapolated twice to O(h^6), error
# estimate |R - R(h/2, h/4)| plus its finest level's rounding (Nocedal & Wright,
# Numerical Optimization, 2nd ed., sec. 8.1; Press et al. sec. 5.7).  Mixed second
# differences use the 2-point symmetric form
# [f(x+u) + f(x-u) - f(x±h_i e_i) - f(x±h_j e_j) + 2 f(x)] / (2 h_i h_j),
# u = h_i e_i + h_j e_j: d(d+1) evaluations for a central Hessian, not 2 d^2 (plus 2d for
# the gradient on its own shorter steps).  Central and forward Hessians carry a rounding
# bound per entry (rounding_error, plus forward_truncation), and a second difference
# along each principal axis of -H (principal_check) measures what the axis stencil's
# truncation leaves along it; steps_consistent tells whether a stencil worked in the
# posterior's own scale.

from libc.float cimport DBL_EPSILON
from libc.math cimport fabs, sqrt, isfinite, nextafter, INFINITY, NAN
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy

from objective cimport (lf_objective, counted_values, FD_CENTRAL, FD_FORWARD,
                        FD_RICHARDSON, LF_NO_MEMORY)
from eigen cimport all_finite, neg_eig

DEF C_HESS_CENTRAL = 2.5e-04           # about 2 eps**(1/4)
DEF C_HESS_FORWARD = 6.0554544523933e-06  # eps**(1/3)
DEF C_GRAD_CENTRAL = 6.0554544523933e-06  # eps**(1/3)
DEF C_GRAD_FORWARD = 1.4901161193847656e-08  # eps**(1/2)
DEF C_GRAD_RICHARDSON = 7.4009597974140505e-04  # eps**(1/5)
DEF C_HESS_RICHARDSON = 3e-2
DEF C_HESS_CENTRAL_SD = 1e-3     # second differences in sd units (block_rule)
DEF C_HESS_FORWARD_SD = 1e-5
DEF C_HESS_RICHARDSON_SD = 0.2
DEF STEP_SLACK = 2.0            # steps_consistent: steps within this factor of the sd's
DEF ROUNDING_UNITS = 4.0       # rounding_error: ulps of max|f| in a second difference, x2


cdef inline void make_steps(const double *x, Py_ssize_t d, const double *hstep, double c,
                            double scale, const double *u, double *h) noexcept nogil:
    """Steps hstep_i * scale (the caller's), else c * scale * u_i (u: the problem's own
    length scale per coordinate, its conditional posterior sd; NULL or u_i = 0: the
    default max(1, |x_i|)), rounded so that x_i + h_i is exact."""
    cdef Py_ssize_t i
    cdef double hi, t
    for i in range(d):
        if hstep != NULL:
            hi = hstep[i] * scale
        elif u != NULL and u[i] > 0.0:
            hi = c * scale * u[i]
        else:
            hi = c * scale * (fabs(x[i]) if fabs(x[i]) > 1.0 else 1.0)
        t = x[i] + hi
        hi = t - x[i]
        if hi == 0.0:
            hi = nextafter(x[i], INFINITY) - x[i]
        h[i] = hi


cdef inline double rounding_factor(double f, double power, double c,
                                   double cmax) noexcept nogil:
    """The step factor c * max(1, |f|)**power, at most cmax.  The rounding error of a
    difference of values of size |f| is about eps |f|; a k-th difference of order-m
    accuracy balances it against the truncation error when h grows as
    (eps |f|)**(1 / (k + m)), so the steps grow with |f| by that power (an additive
    constant in log_post keeps the stencil's error the same fraction of the rounding)."""
    cdef double a = fabs(f)
    if not (a > 1.0) or not isfinite(a):
        return c
    a = c * a ** power
    return a if a < cmax else cmax


cdef inline Py_ssize_t hess_points(int forward, Py_ssize_t d) noexcept nogil:
    if forward:
        return 2 * d + d * (d - 1) // 2
    return d * (d + 1)


cdef inline void fill_hess_points(int forward, const double *x, const double *h,
                                  Py_ssize_t d,
                                  Py_ssize_t B, Py_ssize_t b, double *pts) noexcept nogil:
    """Write the points of problem b's second-difference stencil (f(x) excluded) into
    rows b of the (P, B, d) block pts."""
    cdef Py_ssize_t i, j, p = 0, q
    cdef Py_ssize_t P = hess_points(forward, d)
    for q in range(P):
        memcpy(pts + (q * B + b) * d, x, d * sizeof(double))
    for i in range(d):
        if forward:
            pts[(p * B + b) * d + i] += h[i]
            pts[((p + 1) * B + b) * d + i] += 2.0 * h[i]
        else:
            pts[(p * B + b) * d + i] += h[i]
            pts[((p + 1) * B + b) * d + i] -= h[i]
        p += 2
    for i in range(d):
        for j in range(i + 1, d):
            pts[(p * B + b) * d + i] += h[i]
            pts[(p * B + b) * d + j] += h[j]
            if not forward:
                pts[((p + 1) * B + b) * d + i] -= h[i]
                pts[((p + 1) * B + b) * d + j] -= h[j]
                p += 2
            else:
                p += 1


cdef inline void combine_hess(int forward, double f0, const double *F, const double *h,
                              Py_ssize_t d, Py_ssize_t B, Py_ssize_t b, double *g,
                              double *H) noexcept nogil:
    """Gradient (central only; g may be NULL) and Hessian of problem b from values F
    (P, B) of the stencil written by fill_hess_points."""
    cdef Py_ssize_t i, j, p
    cdef double fp, fm, v
    for i in range(d):
        fp = F[(2 * i) * B + b]
        fm = F[(2 * i + 1) * B + b]
        if forward:
            H[i * d + i] = ((fm - f0) - 2.0 * (fp - f0)) / (h[i] * h[i])
        else:
            H[i * d + i] = ((fp - f0) + (fm - f0)) / (h[i] * h[i])
            if g != NULL:
                g[i] = (fp - fm) / (2.0 * h[i])
    p = 2 * d
    for i in range(d):
        for j in range(i + 1, d):
            if forward:
                v = ((F[p * B + b] - F[(2 * i) * B + b]) - (F[(2 * j) * B + b] - f0)) \
                    / (h[i] * h[j])
                p += 1
            else:
                v = ((F[p * B + b] - F[(2 * i) * B + b] - F[(2 * j) * B + b] + f0)
                     + (F[(p + 1) * B + b] - F[(2 * i + 1) * B + b]
                        - F[(2 * j + 1) * B + b] + f0)) / (2.0 * h[i] * h[j])
                p += 2
            H[i * d + j] = v
            H[j * d + i] = v


cdef inline void fill_grad_points(int forward, const double *x, const double *h,
                                  Py_ssize_t d,
                                  Py_ssize_t B, Py_ssize_t b, double *pts) noexcept nogil:
    """Rows b of a first-difference block: x + h_i e_i (and x - h_i e_i when central)."""
    cdef Py_ssize_t i, q, P = d if forward else 2 * d
    for q in range(P):
        memcpy(pts + (q * B + b) * d, x, d * sizeof(double))
    for i in range(d):
        if forward:
            pts[(i * B + b) * d + i] += h[i]
        else:
            pts[((2 * i) * B + b) * d + i] += h[i]
            pts[((2 * i + 1) * B + b) * d + i] -= h[i]


cdef inline void combine_grad(int forward, double f0, const double *F, const double *h,
                              Py_ssize_t d, Py_ssize_t B, Py_ssize_t b,
                              double *g) noexcept nogil:
    cdef Py_ssize_t i
    for i in range(d):
        if forward:
            g[i] = (F[i * B + b] - f0) / h[i]
        else:
            g[i] = (F[(2 * i) * B + b] - F[(2 * i + 1) * B + b]) / (2.0 * h[i])


cdef inline void richardson3(double *a1, const double *a2, const double *a4, Py_ssize_t n,
                             double *err) noexcept nogil:
    """Two rounds of Richardson extrapolation of central differences at h, h/2, h/4
    (errors in even powers of h): a1 <- the O(h^6) value; err <- |it - the O(h^4)
    value from h/2 and h/4|, an estimate of the remaining error."""
    cdef Py_ssize_t i
    cdef double r12, r24, r
    for i in range(n):
        r12 = (4.0 * a2[i] - a1[i]) / 3.0
        r24 = (4.0 * a4[i] - a2[i]) / 3.0
        r = (16.0 * r24 - r12) / 15.0
        if err != NULL:
            err[i] = fabs(r - r24)
        a1[i] = r


# block kinds of a value stencil
DEF BLOCK_HESS_CENTRAL = 0
DEF BLOCK_HESS_FORWARD = 1
DEF BLOCK_GRAD_CENTRAL = 2
DEF BLOCK_GRAD_FORWARD = 3


cdef inline Py_ssize_t block_points(int kind, Py_ssize_t d) noexcept nogil:
    if kind == BLOCK_HESS_CENTRAL:
        return hess_points(0, d)
    if kind == BLOCK_HESS_FORWARD:
        return hess_points(1, d)
    if kind == BLOCK_GRAD_CENTRAL:
        return 2 * d
    return d


cdef inline void block_rule(int kind, int richardson, int sd_units, double *c,
                            double *power, double *cmax) noexcept nogil:
    """The step constant of a block, and how it grows with |log_post| (rounding_factor):
    central second differences c = 2.5e-4 (about 2 eps**(1/4)), |f|**(1/4); forward
    second differences and central gradients eps**(1/3), |f|**(1/3); forward gradients
    eps**(1/2), |f|**(1/2); Richardson's levels (truncation O(h^6)) c = 3e-2 and
    eps**(1/5), |f|**(1/8) and |f|**(1/7).  In sd units (sd_units) a posterior's
    higher derivatives are small, so second differences step further: central 1e-3
    (truncation c^2/12 of the fourth derivative, ~1e-7), forward 1e-5, Richardson's
    coarsest level 0.2 (what is left after two extrapolations is O(c^6))."""
    if sd_units and richardson and kind == BLOCK_HESS_CENTRAL:
        c[0] = C_HESS_RICHARDSON_SD
        power[0] = 0.125
        cmax[0] = 0.3
        return
    if sd_units and not richardson and kind <= BLOCK_HESS_FORWARD:
        c[0] = C_HESS_CENTRAL_SD if kind == BLOCK_HESS_CENTRAL else C_HESS_FORWARD_SD
        power[0] = 0.25 if kind == BLOCK_HESS_CENTRAL else 1.0 / 3.0
        cmax[0] = 0.1 if kind == BLOCK_HESS_CENTRAL else 0.05
        return
    if richardson:
        if kind == BLOCK_HESS_CENTRAL:
            c[0] = C_HESS_RICHARDSON
            power[0] = 0.125
        else:
            c[0] = C_GRAD_RICHARDSON
            power[0] = 1.0 / 7.0
        cmax[0] = 0.25
    elif kind == BLOCK_HESS_CENTRAL:
        c[0] = C_HESS_CENTRAL
        power[0] = 0.25
        cmax[0] = 0.1
    elif kind == BLOCK_HESS_FORWARD:
        c[0] = C_HESS_FORWARD
        power[0] = 1.0 / 3.0
        cmax[0] = 0.05
    elif kind == BLOCK_GRAD_CENTRAL:
        c[0] = C_GRAD_CENTRAL
        power[0] = 1.0 / 3.0
        cmax[0] = 0.05
    else:
        c[0] = C_GRAD_FORWARD
        power[0] = 0.5
        cmax[0] = 0.05


cdef inline void rounding_error(const double *F, Py_ssize_t P, Py_ssize_t B, Py_ssize_t b,
                                double f0, const double *h, Py_ssize_t d,
                                double *err) noexcept nogil:
    """err_ij = ROUNDING_UNITS eps max|f| / (h_i h_j): a bound on the rounding error of
    a second difference with steps h_i, h_j from P values of size up to max|f| (each
    rounded to about eps |f|, a handful of them combined)."""
    cdef Py_ssize_t q, i, j
    cdef double m = fabs(f0), v
    for q in range(P):
        v = fabs(F[q * B + b])
        if v > m:
            m = v
    for i in range(d):
        for j in range(d):
            err[i * d + j] = ROUNDING_UNITS * DBL_EPSILON * m / (h[i] * h[j])


cdef inline void forward_truncation(const double *F, Py_ssize_t B, Py_ssize_t b, double f0,
                                    const double *g, const double *h, Py_ssize_t d,
                                    const double *H, double *err) noexcept nogil:
    """Add to err the truncation error of forward second differences, O(h) times the
    third derivative T: with the central gradient g, 2 (f(x + h e_i) - f0 - g_i h) / h^2
    is H_ii + T h / 3 while the forward value is H_ii + T h, so 3/2 of their difference
    estimates it; a mixed entry takes the geometric mean of its two diagonal ones."""
    cdef Py_ssize_t i, j
    cdef double t
    for i in range(d):
        t = (F[(2 * i) * B + b] - f0 - g[i] * h[i]) * 2.0 / (h[i] * h[i])
        err[i * d + i] += 1.5 * fabs(H[i * d + i] - t)
    for i in range(d):
        for j in range(i + 1, d):
            t = sqrt(err[i * d + i] * err[j * d + j])
            err[i * d + j] = t
            err[j * d + i] = t


cdef inline int value_stencil(lf_objective *obj, Py_ssize_t B, Py_ssize_t d,
                              const double *x,
                              double *f0, int with_center, const char *active, int method,
                              int want_hess, const double *hstep, const double *u,
                              double *g,
                              double *H, double *herr, long *nfev) noexcept nogil:
    """Every finite difference of one request from values, in ONE values call.

    want_hess: central -> second differences + central gradient (on its own, shorter
    steps); forward -> forward second differences + central gradient; richardson ->
    central second differences at h, h/2, h/4, H and g extrapolated (richardson3).
    Gradient only: central 2d points, forward d points, richardson 6d points.
    Steps follow block_rule, in units of u (B, d; NULL: max(1, |x_i|)), grown with
    |f0| when f0 is known.  herr (want_hess) receives an error estimate of each entry:
    rounding_error (+ forward_truncation) for central and forward, Richardson's own
    otherwise.  with_center: f(x) is one more point, written to f0 (else f0 is read)."""
    cdef int kinds[3]
    cdef double cs[3]
    cdef double pw[3]
    cdef double cm[3]
    cdef double scales[3]
    cdef int nb = 1, k, rc, level, rich = method == FD_RICHARDSON
    cdef Py_ssize_t offs[4]
    cdef Py_ssize_t P, b, q, dd = d * d
    cdef double *pts
    cdef double *F
    cdef double *h
    cdef double *g2
    cdef double *g4
    cdef double *H2
    cdef double *H4
    cdef double *gk
    cdef double *Hk
    cdef const double *ub
    cdef double c
    if want_hess:
        kinds[0] = BLOCK_HESS_FORWARD if method == FD_FORWARD else BLOCK_HESS_CENTRAL
        if not rich:
            nb = 2                       # the gradient from its own, shorter steps
            kinds[1] = BLOCK_GRAD_CENTRAL
    else:
        kinds[0] = BLOCK_GRAD_FORWARD if method == FD_FORWARD else BLOCK_GRAD_CENTRAL
    scales[0] = 1.0
    scales[1] = 1.0
    if rich:
        nb = 3
        for k in range(1, 3):
            kinds[k] = kinds[0]
        scales[1] = 0.5
        scales[2] = 0.25
    offs[0] = 0
    for k in range(nb):
        offs[k + 1] = offs[k] + block_points(kinds[k], d)
    P = offs[nb] + (1 if with_center else 0)
    pts = <double *> malloc((P * B * d + P * B + 3 * d + 2 * dd + 1) * sizeof(double))
    if pts == NULL:
        return LF_NO_MEMORY
    F = pts + P * B * d
    h = F + P * B
    g2 = h + d                   # Richardson's finer levels: g2, H2 (h/2), g4, H4 (h/4)
    g4 = g2 + d
    H2 = g4 + d
    H4 = H2 + dd
    for b in range(B):
        if not active[b]:
            for q in range(P):
                memcpy(pts + (q * B + b) * d, x + b * d, d * sizeof(double))
            continue
        ub = u + b * d if u != NULL and u[b * d] > 0.0 else NULL
        for k in range(nb):
            block_rule(kinds[k], rich, ub != NULL, &cs[k], &pw[k], &cm[k])
            c = cs[k] if with_center else rounding_factor(f0[b], pw[k], cs[k], cm[k])
            make_steps(x + b * d, d, hstep, c, scales[k], ub, h)
            if kinds[k] <= BLOCK_HESS_FORWARD:
                fill_hess_points(kinds[k] == BLOCK_HESS_FORWARD, x + b * d, h, d, B, b,
                                 pts + offs[k] * B * d)
            else:
                fill_grad_points(kinds[k] == BLOCK_GRAD_FORWARD, x + b * d, h, d, B, b,
                                 pts + offs[k] * B * d)
        if with_center:
            memcpy(pts + (offs[nb] * B + b) * d, x + b * d, d * sizeof(double))
    rc = counted_values(obj, P, B, d, pts, F, active, nfev)
    if rc == 0:
        for b in range(B):
            if not active[b]:
                continue
            if with_center:
                f0[b] = F[offs[nb] * B + b]
            ub = u + b * d if u != NULL and u[b * d] > 0.0 else NULL
            # the gradient block first: forward_truncation needs its g
            for k in range(nb - 1, -1, -1):
                block_rule(kinds[k], rich, ub != NULL, &cs[k], &pw[k], &cm[k])
                c = cs[k] if with_center else rounding_factor(f0[b], pw[k], cs[k], cm[k])
                make_steps(x + b * d, d, hstep, c, scales[k], ub, h)
                level = k if rich else 0   # Richardson: h, h/2, h/4
                gk = g + b * d if level == 0 else (g2 if level == 1 else g4)
                Hk = H + b * dd if level == 0 else (H2 if level == 1 else H4)
                if kinds[k] <= BLOCK_HESS_FORWARD:
                    # Richardson extrapolates the long steps' gradient; the others have
                    # a gradient block of their own
                    combine_hess(kinds[k] == BLOCK_HESS_FORWARD, f0[b], F + offs[k] * B, h,
                                 d, B, b, gk if rich else NULL, Hk)
                    if not rich:
                        rounding_error(F + offs[k] * B, offs[k + 1] - offs[k], B, b, f0[b],
                                       h, d, herr + b * dd)
                        if kinds[k] == BLOCK_HESS_FORWARD:
                            forward_truncation(F + offs[k] * B, B, b, f0[b], g + b * d, h,
                                               d, Hk, herr + b * dd)
                else:
                    combine_grad(kinds[k] == BLOCK_GRAD_FORWARD, f0[b], F + offs[k] * B,
                                 h, d, B, b, gk)
            if rich:
                richardson3(g + b * d, g2, g4, d, NULL)
                if want_hess:
                    richardson3(H + b * dd, H2, H4, dd, herr + b * dd)
                    # the extrapolation weighs the h/4 level's rounding (16 times the
                    # h level's) about twice: add that bound (h holds level h's steps)
                    rounding_error(F, offs[nb], B, b, f0[b], h, d, H2)
                    for q in range(dd):
                        herr[b * dd + q] += 32.0 * H2[q]
    free(pts)
    return rc


cdef inline int grad_difference_hessian(lf_objective *obj, Py_ssize_t B, Py_ssize_t d,
                                        const double *x, const char *active, int forward,
                                        const double *hstep, const double *u, double c,
                                        double scale, const double *g0,
                                        double *H) noexcept nogil:
    """Hessian by differencing the user's gradient, symmetrised: column j is
    (g(x + h_j e_j) - g(x - h_j e_j)) / (2 h_j), or forward against g0."""
    cdef Py_ssize_t P = d if forward else 2 * d, b, q, i, j
    cdef double *pts = <double *> malloc((P * B * d + P * B * d + d + 1) * sizeof(double))
    cdef double *G
    cdef double *h
    cdef double *Hb
    cdef double v
    cdef int rc
    if pts == NULL:
        return LF_NO_MEMORY
    G = pts + P * B * d
    h = G + P * B * d
    for b in range(B):
        if active[b]:
            make_steps(x + b * d, d, hstep, c, scale, u + b * d if u != NULL else NULL, h)
            fill_grad_points(forward, x + b * d, h, d, B, b, pts)
        else:
            for q in range(P):
                memcpy(pts + (q * B + b) * d, x + b * d, d * sizeof(double))
    rc = obj.grad(obj.ctx, P, B, d, pts, G)
    if rc == 0:
        for b in range(B):
            if active[b]:
                make_steps(x + b * d, d, hstep, c, scale, u + b * d if u != NULL else NULL, h)
                Hb = H + b * d * d
                for j in range(d):
                    for i in range(d):
                        if forward:
                            Hb[i * d + j] = (G[(j * B + b) * d + i] - g0[b * d + i]) / h[j]
                        else:
                            Hb[i * d + j] = (G[((2 * j) * B + b) * d + i]
                                             - G[((2 * j + 1) * B + b) * d + i]) / (2.0 * h[j])
                for i in range(d):
                    for j in range(i + 1, d):
                        v = 0.5 * (Hb[i * d + j] + Hb[j * d + i])
                        Hb[i * d + j] = v
                        Hb[j * d + i] = v
    free(pts)
    return rc


cdef inline int richardson_combine(Py_ssize_t n, double *coarse, const double *fine,
                                   double *err) noexcept nogil:
    """coarse <- (4 fine - coarse) / 3; err <- |result - fine| (n entries)."""
    cdef Py_ssize_t i
    cdef double r
    for i in range(n):
        r = (4.0 * fine[i] - coarse[i]) / 3.0
        if err != NULL:
            err[i] = fabs(r - fine[i])
        coarse[i] = r
    return 0


cdef inline int derivatives(lf_objective *obj, Py_ssize_t B, Py_ssize_t d, const double *x,
                            double *f0, const char *active, int method, const double *hstep,
                            const double *u, double *g, double *H, double *herr,
                            long *nfev) noexcept nogil:
    """Gradient and Hessian of every active problem by the best means available:
    analytic hess/grad when the objective has them, else finite differences of the
    gradient, else of values (one values call), with steps in units of u (see
    value_stencil).  herr (B, d, d) receives the error estimate of the active problems'
    Hessians (value stencils: rounding and truncation; a differenced gradient:
    Richardson's estimate, zero for one level; an analytic Hessian: zero)."""
    cdef Py_ssize_t nn = B * d * d, i, b
    cdef int rc = 0, fwd = method == FD_FORWARD
    cdef double *tmp = NULL
    for b in range(B):
        if active[b]:
            for i in range(d * d):
                herr[b * d * d + i] = 0.0
    if obj.hess == NULL and obj.grad == NULL:
        return value_stencil(obj, B, d, x, f0, 0, active, method, 1, hstep, u, g, H, herr,
                             nfev)
    if obj.grad != NULL:
        rc = obj.grad(obj.ctx, 1, B, d, x, g)
    else:
        rc = value_stencil(obj, B, d, x, f0, 0, active, FD_CENTRAL, 0, hstep, u, g, NULL,
                           NULL, nfev)
    if rc != 0:
        return rc
    if obj.hess != NULL:
        return obj.hess(obj.ctx, B, d, x, H)
    if method == FD_RICHARDSON:
        tmp = <double *> malloc((nn + 1) * sizeof(double))
        if tmp == NULL:
            return LF_NO_MEMORY
    rc = grad_difference_hessian(obj, B, d, x, active, fwd, hstep, u,
                                 C_GRAD_FORWARD if fwd else (
                                     C_GRAD_RICHARDSON if tmp != NULL else C_GRAD_CENTRAL),
                                 1.0, g, H)
    if rc == 0 and tmp != NULL:
        rc = grad_difference_hessian(obj, B, d, x, active, 0, hstep, u, C_GRAD_RICHARDSON,
                                     0.5, g, tmp)
        if rc == 0:
            for b in range(B):
                if active[b]:
                    richardson_combine(d * d, H + b * d * d, tmp + b * d * d,
                                       herr + b * d * d)
    free(tmp)
    return rc



cdef inline int steps_consistent(const double *H, Py_ssize_t d, const double *u,
                                 double *s) noexcept nogil:
    """s <- the conditional posterior sd's 1 / sqrt(-H_ii) of a negative definite H;
    1 when the steps u the Hessian was computed with were within a factor of
    STEP_SLACK of them (so its stencil worked in the posterior's own scale), else 0."""
    cdef Py_ssize_t i
    cdef int ok = 1
    for i in range(d):
        s[i] = 1.0 / sqrt(-H[i * d + i])
        if not (u[i] > 0.0 and s[i] <= STEP_SLACK * u[i] and u[i] <= STEP_SLACK * s[i]):
            ok = 0
    return ok



cdef inline int principal_check(lf_objective *obj, Py_ssize_t B, Py_ssize_t d,
                                const double *x,
                                const double *f, const double *H, double *herr, char *mask,
                                double *axis_err, long *nfev) noexcept nogil:
    """The error of a finite-difference Hessian along its own principal axes, measured.
    For each masked problem whose -H is positive definite, with eigenpairs
    (lambda_k, v_k): the second difference D_k = -(f(x + t v_k) + f(x - t v_k) - 2 f(x))
    / t^2 at t twice the central stencil's step in that axis' sd units
    (1 / sqrt(lambda_k)).  Truncation grows as t^2, so |D_k - lambda_k| / 3 estimates
    the axis stencil's own truncation along v_k; it is added to herr as
    gap_k |v_ik v_jk|, and axis_err[b] receives max_k (gap_k + r_k) / lambda_k with r_k
    the root-mean-square projection sqrt(sum_ij v_ik^2 v_jk^2 herr_ij^2) of the
    entries' rounding bounds (independent errors).  A curvature the axis stencil cannot
    resolve gives a D_k unlike lambda_k (four times it for -(t0 + t1)^4 along (1, 1),
    none for a flat direction whose lambda_k is noise): mask[b] is cleared when some
    D_k / lambda_k falls outside [1 / STEP_SLACK, STEP_SLACK].  axis_err is
    NaN where nothing was measured.  2d evaluations, one values call."""
    cdef Py_ssize_t P = 2 * d, b, k, i, j, q, dd = d * d
    cdef double *pts = <double *> malloc((P * B * d + P * B + 2 * dd + 2 * d + 1)
                                         * sizeof(double))
    cdef double *F
    cdef double *A
    cdef double *V
    cdef double *w
    cdef double *gap
    cdef double lo, hi, top, t, r, e
    cdef Py_ssize_t ilo
    cdef char *use
    cdef int rc
    if pts == NULL:
        return LF_NO_MEMORY
    use = <char *> malloc(B + 1)
    if use == NULL:
        free(pts)
        return LF_NO_MEMORY
    F = pts + P * B * d
    A = F + P * B
    V = A + dd
    w = V + dd
    gap = w + d
    for b in range(B):
        axis_err[b] = NAN
        for q in range(P):
            memcpy(pts + (q * B + b) * d, x + b * d, d * sizeof(double))
        use[b] = mask[b] and all_finite(H + b * dd, dd)
        if not use[b]:
            continue
        neg_eig(H + b * dd, d, A, V, w, &lo, &hi, &top, &ilo)
        use[b] = lo > 0.0
        if not use[b]:
            continue
        for k in range(d):
            t = 2.0 * rounding_factor(f[b], 0.25, C_HESS_CENTRAL_SD, 0.1) / sqrt(w[k])
            for i in range(d):
                pts[((2 * k) * B + b) * d + i] += t * V[i * d + k]
                pts[((2 * k + 1) * B + b) * d + i] -= t * V[i * d + k]
    rc = counted_values(obj, P, B, d, pts, F, use, nfev)
    if rc == 0:
        for b in range(B):
            if not use[b]:
                continue
            neg_eig(H + b * dd, d, A, V, w, &lo, &hi, &top, &ilo)
            axis_err[b] = 0.0
            for k in range(d):
                t = 0.0                  # the distance stepped, as rounded into the points
                for i in range(d):
                    t += (pts[((2 * k) * B + b) * d + i] - x[b * d + i]) * V[i * d + k]
                e = -(F[(2 * k) * B + b] + F[(2 * k + 1) * B + b] - 2.0 * f[b]) / (t * t)
                if not (w[k] <= STEP_SLACK * e and e <= STEP_SLACK * w[k]):
                    mask[b] = 0
                gap[k] = fabs(e - w[k]) / 3.0
                if not isfinite(gap[k]):
                    gap[k] = INFINITY
                r = 0.0
                for i in range(d):
                    for j in range(d):
                        e = V[i * d + k] * V[j * d + k] * herr[b * dd + i * d + j]
                        r += e * e
                e = (gap[k] + sqrt(r)) / w[k]
                if not (e <= axis_err[b]):
                    axis_err[b] = e
            for k in range(d):
                for i in range(d):
                    for j in range(d):
                        herr[b * dd + i * d + j] += gap[k] * fabs(V[i * d + k] * V[j * d + k])
    free(use)
    free(pts)
    return rc
