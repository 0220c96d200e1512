/* Sums in a fixed order: dot products and plain sums over a multiple of eight terms as
 * eight interleaved partial sums added in one fixed tree (LF_RED8), and the finiteness
 * screens.  The order depends on the length alone, never on the SIMD width or on how
 * the terms are grouped, so the bits do not either. */
#ifndef LF_SUMS_H
#define LF_SUMS_H

#include <stddef.h>
#include <stdint.h>
#include "lf_simd.h"
#include "lf_elementary.h"

/* M dot products sum_i h_i b_qi over n = 8 m terms, b_q = b + q ldb, q < M, sharing
 * the loads of h.  Each uses eight interleaved partial sums added in the fixed tree
 * LF_RED8, so the bits do not depend on how the products are grouped. */
#define LF_RED8(s) (((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7])))
#define LF_DOTS_FN(M)                                                                  \
LF_INLINE void lf_dots##M(const double *restrict hh, const double *restrict b,         \
                          size_t ldb, int n, double *out)                              \
{                                                                                      \
    double s[M][8];                                                                    \
    for (int q = 0; q < M; q++)                                                        \
        for (int k = 0; k < 8; k++) s[q][k] = 0.0;                                     \
    for (int i = 0; i < n; i += 8)                                                     \
        for (int k = 0; k < 8; k++) {                                                  \
            double a = hh[i + k];                                                      \
            for (int q = 0; q < M; q++) s[q][k] += a * b[q * ldb + i + k];             \
        }                                                                              \
    for (int q = 0; q < M; q++) out[q] = LF_RED8(s[q]);                                \
}
LF_DOTS_FN(1)
LF_DOTS_FN(2)
LF_DOTS_FN(3)
LF_DOTS_FN(4)

/* out[q] = sum_i h_i b_qi for q < m, any m, in groups of four */
LF_INLINE void lf_dots(const double *hh, const double *b, size_t ldb, int m, int n,
                       double *out)
{
    int q = 0;
    for (; q + 4 <= m; q += 4) lf_dots4(hh, b + q * ldb, ldb, n, out + q);
    switch (m - q) {
    case 3: lf_dots3(hh, b + q * ldb, ldb, n, out + q); break;
    case 2: lf_dots2(hh, b + q * ldb, ldb, n, out + q); break;
    case 1: lf_dots1(hh, b + q * ldb, ldb, n, out + q); break;
    default: break;
    }
}

/* sum of a and sum of |a| over n = 8 m terms: eight interleaved partial sums (lanes
 * 0-3 and 4-7 of two vectors), added in a fixed tree */
LF_INLINE double lf_sum8(const double *restrict a, int n, double *abs_sum)
{
    lf_v4 s0 = lf_v4_zero(), s1 = lf_v4_zero(), t0 = lf_v4_zero(), t1 = lf_v4_zero();
    for (int i = 0; i < n; i += 8) {
        lf_v4 u = lf_v4_load(a + i), v = lf_v4_load(a + i + 4);
        s0 = lf_v4_add(s0, u);
        s1 = lf_v4_add(s1, v);
        t0 = lf_v4_add(t0, lf_v4_abs(u));
        t1 = lf_v4_add(t1, lf_v4_abs(v));
    }
    double s[8], t[8];
    lf_v4_store(s, s0); lf_v4_store(s + 4, s1);
    lf_v4_store(t, t0); lf_v4_store(t + 4, t1);
    *abs_sum = LF_RED8(t);
    return LF_RED8(s);
}

/* Bits that are all zero when every a[i] is finite: x - x is +0 for a finite x and NaN
 * for inf and NaN; OR-ing the differences' bits vectorises to a subtract and an or. */
LF_INLINE uint64_t lf_nonfinite_bits(const double *restrict a, size_t n)
{
    uint64_t u = 0;
    for (size_t i = 0; i < n; i++) u |= lf_asu64(a[i] - a[i]);
    return u;
}

LF_INLINE int lf_all_finite(const double *a, int n)
{
    return lf_nonfinite_bits(a, (size_t)n) == 0;
}

#endif
