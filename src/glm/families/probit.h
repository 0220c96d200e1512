/* probit: y in {0, 1}, P(y = 1) = Phi(eta), no parameter.  With q = 2y - 1, z = q eta,
 * lam = lam(z) = phi(z) / Phi(z) (the inverse Mills ratio) and tail = lam + z:
 *   l = log Phi(z)     g = q lam     h = lam tail     l''' = -q (lam - h (lam + tail))
 * (lam - h (lam + tail) is the derivative of h in z); no data-only constant.  aux = h unweighted, for the line
 * search's curvature bound. */
#ifndef GLM_FAMILY_PROBIT_H
#define GLM_FAMILY_PROBIT_H

#include "family_loops.h"

#define LF_PROBIT_DERIV(WEXPR)                                               \
    for (int i = 0; i < n; i++) {                                            \
        double q = y[i] != 0.0 ? 1.0 : -1.0, lam, tail;                      \
        lf_log_ndtr(q * eta[i], &lam, &tail);                                \
        double c = lam * tail, w = (WEXPR);                                  \
        aux[i] = c;                                                          \
        g[i] = w != 0.0 ? w * q * lam : 0.0;                                 \
        h[i] = w != 0.0 ? w * c : 0.0;                                       \
    }
LF_INLINE void lf_probit_terms(LF_TERMS_ARGS)
{
    LF_FAMILY_LOCALS(pb);
    (void)lr; (void)lv;
    LF_WEIGHTED(LF_PROBIT_DERIV);
}

#define LF_PROBIT_VALUE(WEXPR)                                               \
    for (int i = 0; i < n; i++) {                                            \
        double lam, tail;                                                    \
        double z = (y[i] != 0.0 ? 1.0 : -1.0) * eta[i];                      \
        double l = lf_log_ndtr(z, &lam, &tail);                              \
        double w = (WEXPR);                                                  \
        lv[i] = w != 0.0 ? w * l : 0.0;                                      \
    }
enum { lf_probit_fused = 0 };
LF_INLINE void lf_probit_values(LF_VALUES_ARGS)
{
    LF_FAMILY_LOCALS(pb);
    (void)lr; (void)aux;
    LF_WEIGHTED(LF_PROBIT_VALUE);
}

LF_NO_BLOCK_VALUE(probit)

/* mu0 = 1/4, 3/4: h0 = phi^2 / v, R0 = (y - mu0) phi / v, v = mu0 (1 - mu0), phi the
 * standard normal density at probit(mu0) */
#define LF_START_Q 0.6744897501960817        /* probit(3/4) */
#define LF_START_PHIQ 0.317776572684107      /* standard normal density at Q */
LF_INLINE int lf_probit_start(LF_START_ARGS)
{
    LF_FAMILY_LOCALS(pb);
    int any = 0;
    (void)lr;
    LF_WEIGHTED_ARGS(LF_START_TERMS, yi != 0.0 ? LF_START_Q : -LF_START_Q,
                     (LF_START_PHIQ * LF_START_PHIQ) / 0.1875,
                     (yi - (0.25 + 0.5 * yi)) * (LF_START_PHIQ / 0.1875));
    return any;
}

/* -log Phi(z) <= z^2/2 + |z| + 1: below log 2 for z > 0; for z = -x <= 0 it is x^2/2 +
 * log sqrt(2 pi) + log(x + tau(x)), tau <= 0.8, and log u <= u - 1 */
#define LF_PROBIT_BOUND_TERM(UNUSED1, UNUSED2, WEXPR, K)                    \
    {                                                                        \
        double x = eta[i], w = (WEXPR);                                      \
        s[K] += w * ((0.5 * (x * x) + fabs(x)) + 1.0);                       \
    }
#define LF_PROBIT_BOUND(WEXPR) LF_EIGHT_SUMS(LF_PROBIT_BOUND_TERM, 0, 0, WEXPR)
LF_INLINE double lf_probit_value_bound(LF_VALUE_BOUND_ARGS)
{
    LF_FAMILY_LOCALS(pb);
    LF_EIGHT_ZEROS(s);
    (void)lr;
    LF_WEIGHTED(LF_PROBIT_BOUND);
    return LF_RED8(s);
}

/* h = wt c(q eta), c(z) = lam(z) (lam(z) + z) (aux), falls as z grows (lam is convex:
 * Sampford, Ann. Math. Statist. 24, 1953), so is largest at an end of the segment; the
 * sum is scaled by 1 + 1e-12 for the rounding of c (~1e-15 relative) and of the sum */
LF_INLINE double lf_probit_curvature(LF_CURVATURE_ARGS)
{
    LF_FAMILY_LOCALS(pb);
    LF_EIGHT_ZEROS(s);
    (void)lr;
    for (int i = 0; i < n; i++) {
        double dx = eta1[i] - eta0[i], c = aux0[i] > aux1[i] ? aux0[i] : aux1[i];
        s[i & 7] += (wt ? wt[i] : 1.0) * c * (dx * dx);
    }
    return LF_RED8(s) * (1.0 + 1e-12);
}

LF_NO_CONSTANT(probit)
LF_BINARY_SUPPORT(probit)
LF_CLASSES_EXTREME(probit, 0)

LF_INLINE double lf_probit_third(LF_THIRD_ARGS)
{
    double lam, tail;
    (void)lr;
    double q = pb->y[i] != 0.0 ? 1.0 : -1.0;
    lf_log_ndtr(q * eta[i], &lam, &tail);
    return -q * (lam - (lam * tail) * (lam + tail));
}

LF_NO_PARAM(probit)

#endif
