# cython: language_level=3
"""The per-group sums of the mixed models' exact gradient (laplace_fast._glmm_objective).

Group g holds rows starts[g]:starts[g + 1] of Z (N, q); its mode is b[g] and its Laplace
covariance C[g] (q, q).  Two passes, each group independent of the others (prange over
groups; every sum runs over the group's rows in order, so the bits do not depend on the
thread count):

- linear_predictor: eta_i = base_i + z_i^T b_g;
- gradient_terms: from the family's g, h, h3 at eta (computed in numpy between the two),
  c_i = z_i^T C_g z_i, v_g = sum_i h3_i c_i z_i, u_g = C_g v_g and the row weights
  a_i = g_i - c_i h3_i / 2 + h_i z_i^T u_g / 2, whose sum X^T a is the fixed effects'
  gradient; u also gives the covariance's (see _glmm_objective).
"""

from cython.parallel cimport parallel, prange, threadid
from libc.stdint cimport int64_t

import numpy as np


def linear_predictor(const double[:, ::1] Z, const int64_t[::1] starts,
                     const double[:, ::1] b, const double[::1] base, double[::1] eta,
                     int n_threads):
    """eta_i = base_i + z_i^T b_g(i), into eta."""
    cdef Py_ssize_t B = starts.shape[0] - 1, q = Z.shape[1], gi, i, j
    cdef double s
    with nogil:
        for gi in prange(B, schedule="static", num_threads=n_threads):
            for i in range(starts[gi], starts[gi + 1]):
                s = base[i]
                for j in range(q):
                    s = s + Z[i, j] * b[gi, j]
                eta[i] = s


def gradient_terms(const double[:, ::1] Z, const int64_t[::1] starts,
                   const double[:, :, ::1] C, const double[::1] g, const double[::1] h,
                   const double[::1] h3, double[::1] a, double[:, ::1] u, int n_threads):
    """The row weights a (N,) and u (B, q) of the module's docstring."""
    cdef Py_ssize_t B = starts.shape[0] - 1, q = Z.shape[1], gi, i, j, k
    cdef double c, t, zu
    cdef double *v
    cdef double[:, ::1] scratch = np.empty((max(n_threads, 1), max(q, 1)))
    with nogil, parallel(num_threads=n_threads):
        v = &scratch[threadid(), 0]         # each thread's v_g
        for gi in prange(B, schedule="static"):
            for j in range(q):
                v[j] = 0.0
            for i in range(starts[gi], starts[gi + 1]):
                c = 0.0
                for j in range(q):
                    t = 0.0
                    for k in range(q):
                        t = t + C[gi, j, k] * Z[i, k]
                    c = c + Z[i, j] * t
                a[i] = c            # c_i until the second pass
                for j in range(q):
                    v[j] = v[j] + (h3[i] * c) * Z[i, j]
            for j in range(q):
                t = 0.0
                for k in range(q):
                    t = t + C[gi, j, k] * v[k]
                u[gi, j] = t
            for i in range(starts[gi], starts[gi + 1]):
                zu = 0.0
                for j in range(q):
                    zu = zu + Z[i, j] * u[gi, j]
                a[i] = g[i] - 0.5 * h3[i] * a[i] + 0.5 * h[i] * zu
