/* The one SIMD shim of laplace_fast: a vector of four doubles and its element-wise
 * operations.  With GCC or clang it is a vector extension type (AVX2 registers where the
 * dispatched copy has them, two SSE2 halves otherwise); elsewhere, or with
 * LF_NO_VECTOR_EXT, a struct of four doubles (LF_V4_SCALAR) with the same element-wise
 * IEEE arithmetic.  Nothing here fuses a multiply and an add: where that happens is
 * decided by the caller (LF_CONTRACT, lf_portable.h).  Used by the fixed-order sums,
 * the linear algebra and the GLM kernels alike. */
#ifndef LF_SIMD_H
#define LF_SIMD_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#include "lf_portable.h"

/* every function here is inlined (LF_INLINE), so the ABI note GCC gives for a vector
 * returned without AVX concerns no call that exists */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

/* four-double vectors (GCC/Clang vector extensions: AVX2 registers when the clone has
 * them, two SSE2 halves otherwise; element-wise IEEE arithmetic either way) */
#if defined(__GNUC__) && !defined(LF_NO_VECTOR_EXT)
typedef double lf_v4 __attribute__((vector_size(32)));
LF_INLINE lf_v4 lf_v4_load(const double *p) { lf_v4 v; memcpy(&v, p, sizeof v); return v; }
LF_INLINE void lf_v4_store(double *p, lf_v4 v) { memcpy(p, &v, sizeof v); }
LF_INLINE lf_v4 lf_v4_zero(void) { lf_v4 v = {0.0, 0.0, 0.0, 0.0}; return v; }
LF_INLINE lf_v4 lf_v4_set(double a, double b, double c, double d)
{
    lf_v4 v = {a, b, c, d};
    return v;
}
LF_INLINE lf_v4 lf_v4_set1(double a) { return lf_v4_set(a, a, a, a); }
#else   /* portable fallback: a struct of four doubles, the same element-wise arithmetic */
typedef struct { double v[4]; } lf_v4;
#define LF_V4_SCALAR 1
LF_INLINE lf_v4 lf_v4_load(const double *p) { lf_v4 r; memcpy(r.v, p, sizeof r.v); return r; }
LF_INLINE void lf_v4_store(double *p, lf_v4 a) { memcpy(p, a.v, sizeof a.v); }
LF_INLINE lf_v4 lf_v4_zero(void) { lf_v4 r = {{0.0, 0.0, 0.0, 0.0}}; return r; }
LF_INLINE lf_v4 lf_v4_set(double a, double b, double c, double d)
{
    lf_v4 r = {{a, b, c, d}};
    return r;
}
LF_INLINE lf_v4 lf_v4_set1(double a) { return lf_v4_set(a, a, a, a); }
#endif
/* a + b * c, element-wise (never fused) */
LF_INLINE lf_v4 lf_v4_madd(lf_v4 a, lf_v4 b, lf_v4 c)
{
#ifdef LF_V4_SCALAR
    for (int k = 0; k < 4; k++) a.v[k] += b.v[k] * c.v[k];
    return a;
#else
    return a + b * c;
#endif
}
LF_INLINE lf_v4 lf_v4_add(lf_v4 a, lf_v4 b)
{
#ifdef LF_V4_SCALAR
    for (int k = 0; k < 4; k++) a.v[k] += b.v[k];
    return a;
#else
    return a + b;
#endif
}
LF_INLINE lf_v4 lf_v4_mul(lf_v4 a, lf_v4 b)
{
#ifdef LF_V4_SCALAR
    for (int k = 0; k < 4; k++) a.v[k] *= b.v[k];
    return a;
#else
    return a * b;
#endif
}
/* the sums (a0 + a2) + (a1 + a3) of four vectors a, b, c, e, as one vector */
LF_INLINE lf_v4 lf_v4_hsum4(lf_v4 a, lf_v4 b, lf_v4 c, lf_v4 e)
{
#ifdef LF_V4_SCALAR
    lf_v4 r, in[4] = {a, b, c, e};
    for (int k = 0; k < 4; k++)
        r.v[k] = (in[k].v[0] + in[k].v[2]) + (in[k].v[1] + in[k].v[3]);
    return r;
#else
#if defined(__clang__)   /* GCC has __builtin_shufflevector only from version 12 */
#define LF_SHUF(u, v, i, j, k, l) __builtin_shufflevector(u, v, i, j, k, l)
#else
    typedef long long lf_i4 __attribute__((vector_size(32)));
#define LF_SHUF(u, v, i, j, k, l) __builtin_shuffle(u, v, (lf_i4){i, j, k, l})
#endif
    /* p = (a0 + a2, a1 + a3, b0 + b2, b1 + b3), q the same of c and e */
    lf_v4 p = LF_SHUF(a, b, 0, 1, 4, 5) + LF_SHUF(a, b, 2, 3, 6, 7);
    lf_v4 q = LF_SHUF(c, e, 0, 1, 4, 5) + LF_SHUF(c, e, 2, 3, 6, 7);
    return LF_SHUF(p, q, 0, 2, 4, 6) + LF_SHUF(p, q, 1, 3, 5, 7);
#undef LF_SHUF
#endif
}
LF_INLINE lf_v4 lf_v4_sub(lf_v4 a, lf_v4 b)
{
#ifdef LF_V4_SCALAR
    for (int k = 0; k < 4; k++) a.v[k] -= b.v[k];
    return a;
#else
    return a - b;
#endif
}
/* a > 0 ? a : 0, element-wise (0 for NaN) */
LF_INLINE lf_v4 lf_v4_pos(lf_v4 a)
{
#ifdef LF_V4_SCALAR
    for (int k = 0; k < 4; k++) a.v[k] = a.v[k] > 0.0 ? a.v[k] : 0.0;
    return a;
#else
    typedef long long lf_s4 __attribute__((vector_size(32)));
    lf_s4 m = a > lf_v4_zero(), u;      /* all ones where a > 0 */
    memcpy(&u, &a, sizeof u);
    u &= m;
    memcpy(&a, &u, sizeof a);
    return a;
#endif
}
/* |a|, element-wise (the sign bit cleared) */
LF_INLINE lf_v4 lf_v4_abs(lf_v4 a)
{
#ifdef LF_V4_SCALAR
    for (int k = 0; k < 4; k++) a.v[k] = fabs(a.v[k]);
    return a;
#else
    typedef uint64_t lf_u4 __attribute__((vector_size(32)));
    lf_u4 u;
    memcpy(&u, &a, sizeof u);
    u &= (lf_u4){~(1ull << 63), ~(1ull << 63), ~(1ull << 63), ~(1ull << 63)};
    memcpy(&a, &u, sizeof a);
    return a;
#endif
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

#endif
