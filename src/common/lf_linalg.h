/* Small dense linear algebra for laplace_fast: row-major d x d matrices, d up to a few
 * dozen, written so that the compiler can unroll and vectorise the inner loops.  No BLAS,
 * no allocation, no global state: safe inside OpenMP parallel regions.
 *
 * Positive definiteness is judged relative to scale, never as > 0: a pivot of
 * the Cholesky factorisation of A must exceed rtol * max_i A_ii, never merely 0. */
#ifndef LF_LINALG_H
#define LF_LINALG_H

#include <math.h>
#include <string.h>

#include "lf_portable.h"
#include "lf_simd.h"

/* the largest d whose loops are unrolled in registers when d is a compile-time constant
 * (LF_INLINE: the callers' d is often one, in the GLM solver's specialisations) */
#define LF_LA_SMALL 8
/* Where d is known at run time only, the loops that sum over k for several entries at
 * once keep four of those sums in the lanes of a vector (lf_simd.h, unless it is the
 * scalar fallback): each lane takes the same operations in the same order as the scalar
 * loops, so the bits are the same. */
#if !defined(LF_V4_SCALAR)
#define LF_LA_VECTORS 1
#endif

/* Root-free Cholesky A + shift I = L D L^T, L unit lower triangular (Golub & Van Loan,
 * Matrix Computations, 4th ed., sec. 4.1.2), stored row-major in F: L's strict lower
 * triangle below the diagonal, D on the diagonal, and T = L D (T_ij = L_ij D_j, i > j) in
 * the upper triangle at F[j d + i].  Reciprocal pivots dinv[j] = 1 / D_j, so that solves
 * multiply.  No square roots: each column's critical path is one division (the GLM
 * solver factors its d x d Hessian once per Newton step, on its critical path).
 * A pivot D_j must exceed rtol * max_i (A_ii + shift) (a relative test); *minpiv
 * receives the smallest pivot / that maximum.  Returns 0, or j + 1 when pivot j fails
 * or is not finite.  A is only read. */
LF_INLINE int lf_ldl(const double *A, int d, double shift, double rtol, double *F,
                        double *dinv, double *minpiv)
{
    double scale = 0.0;
    #pragma GCC unroll 8
    for (int i = 0; i < d; i++) {
        double a = A[i * d + i] + shift;
        if (!(a - a == 0.0)) return i + 1;
        scale = a > scale ? a : scale;
    }
    double mp = HUGE_VAL, fl = rtol * scale;
    #pragma GCC unroll 8
    for (int j = 0; j < d; j++) {
        const double *Lj = F + j * d;
        /* D_j = a_jj - sum_k T_jk L_jk */
        double dj = A[j * d + j] + shift;
        #pragma GCC unroll 8
        for (int k = 0; k < j; k++) dj -= F[k * d + j] * Lj[k];
        if (!(dj > fl) || !(dj - dj == 0.0)) return j + 1;
        mp = dj < mp ? dj : mp;
        double ij = 1.0 / dj;
        F[j * d + j] = dj;
        dinv[j] = ij;
        /* T_ij = a_ij - sum_k T_ik L_jk, L_ij = T_ij / D_j */
        int i = j + 1;
#if defined(LF_LA_VECTORS)
        /* d known at run time only: four T_ij at a time, their sums in the lanes of a
         * vector (the same subtractions in the same order as the loop below, which
         * forms them one at a time, each sum's chain of dependent subtractions exposed;
         * bench/RESULTS.md, "LDL^T four sums at a time") */
        if (!(LF_CONSTANT(d) && d <= LF_LA_SMALL))
            for (; i + 4 <= d; i += 4) {
                lf_v4 t = lf_v4_set(A[i * d + j], A[(i + 1) * d + j], A[(i + 2) * d + j],
                                    A[(i + 3) * d + j]);
                for (int k = 0; k < j; k++)
                    t = lf_v4_sub(t, lf_v4_mul(lf_v4_load(F + k * d + i),
                                               lf_v4_set1(Lj[k])));
                lf_v4_store(F + j * d + i, t);
                for (int u = 0; u < 4; u++) F[(i + u) * d + j] = F[j * d + i + u] * ij;
            }
#endif
        #pragma GCC unroll 8
        for (; i < d; i++) {
            double t = A[i * d + j];
            #pragma GCC unroll 8
            for (int k = 0; k < j; k++) t -= F[k * d + i] * Lj[k];
            F[j * d + i] = t;
            F[i * d + j] = t * ij;
        }
    }
    *minpiv = scale > 0.0 ? mp / scale : 0.0;
    return 0;
}

/* Solve L D L^T x = b in place (F, dinv from lf_ldl). */
LF_INLINE void lf_ldl_solve(const double *F, const double *dinv, int d, double *b)
{
    #pragma GCC unroll 8
    for (int i = 0; i < d; i++) {
        double t = b[i];
        #pragma GCC unroll 8
        for (int k = 0; k < i; k++) t -= F[i * d + k] * b[k];
        b[i] = t;
    }
    #pragma GCC unroll 8
    for (int i = 0; i < d; i++) b[i] *= dinv[i];
    #pragma GCC unroll 8
    for (int i = d - 1; i >= 0; i--) {
        double t = b[i];
        #pragma GCC unroll 8
        for (int k = i + 1; k < d; k++) t -= F[k * d + i] * b[k];
        b[i] = t;
    }
}

/* Factor A + shift I (lf_ldl) and, when every pivot passes, solve for b in place;
 * returns lf_ldl's code, and leaves b alone when it is not 0.  When d is a compile-time
 * constant up to LF_LA_SMALL (the GLM solver's copies per d), the factor and the
 * solution live in local arrays, which the unrolled loops keep in registers: the same
 * operations in the same order, but the chain of dependent divisions and subtractions
 * no longer waits for a store and a load through F and b at each step
 * (bench/RESULTS.md, "LDL^T in registers"); F and dinv are copied out at the end. */
LF_INLINE int lf_ldl_factor_solve(const double *A, const int d, double shift,
                                     double rtol, double *F, double *dinv, double *minpiv,
                                     double *b)
{
    if (LF_CONSTANT(d) && d <= LF_LA_SMALL) {
        double Fl[LF_LA_SMALL * LF_LA_SMALL], dl[LF_LA_SMALL], x[LF_LA_SMALL];
        int rc = lf_ldl(A, d, shift, rtol, Fl, dl, minpiv);
        if (rc) return rc;
        #pragma GCC unroll 8
        for (int i = 0; i < d; i++) x[i] = b[i];
        lf_ldl_solve(Fl, dl, d, x);
        #pragma GCC unroll 8
        for (int i = 0; i < d; i++) {
            b[i] = x[i];
            dinv[i] = dl[i];
        }
        #pragma GCC unroll 64
        for (int i = 0; i < d * d; i++) F[i] = Fl[i];
        return 0;
    }
    int rc = lf_ldl(A, d, shift, rtol, F, dinv, minpiv);
    if (rc == 0) lf_ldl_solve(F, dinv, d, b);
    return rc;
}

/* log det(L D L^T) = sum_j log D_j */
LF_INLINE double lf_ldl_logdet(const double *F, int d)
{
    double s = 0.0;
    for (int i = 0; i < d; i++) s += log(F[i * d + i]);
    return s;
}

/* (L D L^T)^-1 = L^-T D^-1 L^-1 into out (full symmetric); W holds d*d doubles (L^-1,
 * unit lower triangular).  When d is a compile-time constant up to LF_LA_SMALL, L^-1
 * lives in a local array instead, which the unrolled loops keep in registers: the same
 * operations in the same order, without a store and a load per step
 * (bench/RESULTS.md, "LDL^T in registers"). */
LF_INLINE void lf_ldl_inverse(const double *F, const double *dinv, int d, double *out,
                                 double *W)
{
    double Wl[LF_LA_SMALL * LF_LA_SMALL];
    if (LF_CONSTANT(d) && d <= LF_LA_SMALL) W = Wl;
    #pragma GCC unroll 8
    for (int j = 0; j < d; j++) {
        #pragma GCC unroll 8
        for (int i = 0; i < j; i++) W[i * d + j] = 0.0;
        W[j * d + j] = 1.0;
        #pragma GCC unroll 8
        for (int i = j + 1; i < d; i++) {
            double t = -F[i * d + j];
            #pragma GCC unroll 8
            for (int k = j + 1; k < i; k++) t -= F[i * d + k] * W[k * d + j];
            W[i * d + j] = t;
        }
    }
    #pragma GCC unroll 8
    for (int i = 0; i < d; i++) {
        int j = 0;
#if defined(LF_LA_VECTORS)
        /* d known at run time only: four columns j at a time, each lane as in the loop
         * below (bench/RESULTS.md, "LDL^T four sums at a time") */
        if (!(LF_CONSTANT(d) && d <= LF_LA_SMALL))
            for (; j + 4 <= i + 1; j += 4) {
                lf_v4 t = lf_v4_zero();
                for (int k = i; k < d; k++)
                    t = lf_v4_madd(t, lf_v4_set1(W[k * d + i] * dinv[k]),
                                   lf_v4_load(W + k * d + j));
                double tv[4];
                lf_v4_store(tv, t);
                for (int u = 0; u < 4; u++) out[i * d + j + u] = out[(j + u) * d + i] = tv[u];
            }
#endif
        #pragma GCC unroll 8
        for (; j <= i; j++) {
            double t = 0.0;
            #pragma GCC unroll 8
            for (int k = i; k < d; k++) t += (W[k * d + i] * dinv[k]) * W[k * d + j];
            out[i * d + j] = t;
            out[j * d + i] = t;
        }
    }
}

/* Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations
 * (Golub & Van Loan, Matrix Computations, 4th ed., sec. 8.5).  A is destroyed;
 * w receives the eigenvalues, V (row-major) the eigenvectors as columns.
 * Returns 0 when the off-diagonal mass fell below 1e-15 of the total, 1 otherwise. */
static inline int lf_sym_eig(double *A, int d, double *w, double *V)
{
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) V[i * d + j] = (i == j) ? 1.0 : 0.0;
    int ok = 1;
    for (int sweep = 0; sweep < 60; sweep++) {
        double off = 0.0, tot = 0.0;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) {
                double a = A[i * d + j] * A[i * d + j];
                tot += a;
                if (i != j) off += a;
            }
        if (off <= 1e-30 * tot || off == 0.0) { ok = 0; break; }
        for (int p = 0; p < d - 1; p++) {
            for (int q = p + 1; q < d; q++) {
                double apq = A[p * d + q];
                if (apq == 0.0) continue;
                double theta = (A[q * d + q] - A[p * d + p]) / (2.0 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1.0));
                double c = 1.0 / sqrt(t * t + 1.0), s = t * c;
                for (int k = 0; k < d; k++) {       /* columns p, q */
                    double akp = A[k * d + p], akq = A[k * d + q];
                    A[k * d + p] = c * akp - s * akq;
                    A[k * d + q] = s * akp + c * akq;
                }
                for (int k = 0; k < d; k++) {       /* rows p, q */
                    double apk = A[p * d + k], aqk = A[q * d + k];
                    A[p * d + k] = c * apk - s * aqk;
                    A[q * d + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < d; k++) {
                    double vkp = V[k * d + p], vkq = V[k * d + q];
                    V[k * d + p] = c * vkp - s * vkq;
                    V[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    for (int i = 0; i < d; i++) w[i] = A[i * d + i];
    return ok;
}

#endif
