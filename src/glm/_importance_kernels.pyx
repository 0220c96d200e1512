# cython: language_level=3
"""Importance sampling from Gaussian approximations, compiled: the draws, the GLM log
joint at them, Pareto smoothing and the smoothed moments, every problem in parallel.

Design
------
1. One problem is one thread's work from its normals to its estimates: ``glm_importance``
   draws z (its own numpy bit generator, ``random_standard_normal_fill``: the normals of
   ``Generator.standard_normal``), forms theta = mode + L z and log q, the log joint
   (``lf_glm_log_joint``, glm_draws.h), and smooths the log ratios and takes the
   weighted moments (``lf_psis.h``), in the thread's scratch; only the samples, the log
   ratios and the per-problem estimates reach memory the caller sees.  ``draws`` and
   ``psis_moments`` are the two halves, for targets that are Python callbacks; ``psis``
   smooths alone.
2. Problems are handed out dynamically (``prange``); every number of a problem comes
   from its own stream and data by fixed sequential loops, so results are bit for bit
   independent of the thread count and of the batch.  The caller passes ``n_threads =
   1`` when two problems share a bit generator (their draws are then taken in problem
   order, as one stream).
3. The GIL is released throughout; the bit generators' locks are not taken (the
   generators are the call's own, or the caller's for the call's duration).
"""

from cython.parallel cimport parallel, prange, threadid
from libc.stdint cimport int64_t, uintptr_t
from libc.stdlib cimport free
from libc.math cimport isnan, INFINITY
from cpython.pycapsule cimport PyCapsule_GetPointer

import numpy as np


cdef extern from "numpy/random/bitgen.h" nogil:
    ctypedef struct bitgen_t:
        pass

cdef extern from "numpy/random/distributions.h" nogil:
    void random_standard_normal_fill(bitgen_t *bitgen_state, Py_ssize_t cnt, double *out)

cdef extern from "lf_scratch.h" nogil:
    double *lf_scratch_alloc(size_t n)

cdef extern from "lf_psis.h" nogil:
    int lf_psis_tail(int S)
    size_t lf_psis_scratch(int S)
    double lf_psis_one(const double *lw, int S, double *out, double *scratch)
    void lf_psis_moments(const double *sm, const double *th, int S, int d, double *log_z,
                         double *ess, double *mean, double *cov, double *scratch)

from _glm_c cimport lf_glm_problem

cdef extern from "glm_draws.h" nogil:
    size_t lf_glm_draws_scratch(size_t n, size_t d)
    void lf_glm_log_joint(const lf_glm_problem *pb, const double *W, int S, double *out,
                          double *scratch)
    void lf_tables_init()

lf_tables_init()

cdef double _HALF_LOG_2PI = 0.91893853320467274178


cdef uintptr_t[::1] _pointers(bit_generators, Py_ssize_t C):
    """The bitgen_t addresses of C numpy BitGenerators; valid while the caller holds
    the list."""
    if len(bit_generators) != C:
        raise ValueError(f"one bit generator per problem: {C}, got {len(bit_generators)}")
    cdef uintptr_t[::1] out = np.empty(C, dtype=np.uintp)
    for c, bg in enumerate(bit_generators):
        out[c] = <uintptr_t>PyCapsule_GetPointer(bg.capsule, b"BitGenerator")
    return out


cdef struct _Glm:
    # one call's GLM arrays (problem b: rows starts[b]:starts[b + 1]) and priors
    int family, d
    const int64_t *starts
    const double *X, *y, *off, *wt, *trials, *param, *P, *pconst, *M
    const int64_t *pidx, *midx
    size_t scratch      # doubles of lf_glm_log_joint's scratch for the largest problem


cdef inline const double *_opt(const double[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] > 0 else NULL


cdef void _problem(const _Glm *g, int64_t b, lf_glm_problem *pb) noexcept nogil:
    """pb = problem b of g, as lf_glm_log_joint reads it."""
    cdef int64_t s0 = g.starts[b]
    cdef int d = g.d
    pb.family = g.family
    pb.n = <int>(g.starts[b + 1] - s0)
    pb.d = d
    pb.X = g.X + s0 * d if g.X != NULL else NULL
    pb.y = g.y + s0
    pb.off = g.off + s0 if g.off != NULL else NULL
    pb.wt = g.wt + s0 if g.wt != NULL else NULL
    pb.trials = g.trials + s0 if g.trials != NULL else NULL
    pb.param = g.param[b]
    pb.P = g.P + g.pidx[b] * d * d if g.P != NULL else NULL
    pb.m = g.M + g.midx[b] * d if g.M != NULL else NULL
    pb.prior_const = g.pconst[g.pidx[b]]
    pb.start = NULL
    pb.nt = 1
    pb.Z = NULL
    pb.zready = 0
    pb.zjob = NULL


cdef void _log_joint_one(const _Glm *g, int64_t b, const double *W, int S, double *out,
                         double *scratch) noexcept nogil:
    """lf_glm_log_joint of problem b of g at the S points W (pb is this call's own: a
    local of a prange body whose address is taken would be shared by the threads)."""
    cdef lf_glm_problem pb
    _problem(g, b, &pb)
    lf_glm_log_joint(&pb, W, S, out, scratch)


cdef _Glm _glm(int family, const double[:, ::1] X, const double[::1] y,
               const double[::1] off, const double[::1] wt, const double[::1] trials,
               const int64_t[::1] starts, const double[:, :, ::1] P,
               const int64_t[::1] pidx, const double[:, ::1] M, const int64_t[::1] midx,
               const double[::1] prior_const, const double[::1] param,
               const int64_t[::1] problems):
    """The GLM arrays of a call, for its problems (ValueError when one is out of
    range)."""
    cdef _Glm g
    cdef int d = <int>X.shape[1]
    g.scratch = lf_glm_draws_scratch(<size_t>_largest(starts, problems), <size_t>d)
    g.family, g.d = family, d
    g.starts = &starts[0]
    g.X = &X[0, 0] if X.shape[0] * X.shape[1] > 0 else NULL
    g.y, g.off, g.wt, g.trials = _opt(y), _opt(off), _opt(wt), _opt(trials)
    g.param, g.pconst, g.pidx, g.midx = &param[0], &prior_const[0], &pidx[0], &midx[0]
    g.P = &P[0, 0, 0] if P.shape[0] * d > 0 else NULL
    g.M = &M[0, 0] if M.shape[0] * d > 0 else NULL
    return g


cdef double *_alloc(size_t n, int *failed) noexcept nogil:
    """n doubles of a thread's scratch, or NULL with failed[thread] set."""
    cdef double *p = lf_scratch_alloc(n)
    if p == NULL:
        failed[threadid()] = 1
    return p


cdef int64_t _largest(const int64_t[::1] starts, const int64_t[::1] problems) except -1:
    """The most rows of any problem of problems; ValueError when one is out of range."""
    cdef int64_t nmax = 0
    cdef Py_ssize_t c
    for c in range(problems.shape[0]):
        if not 0 <= problems[c] < starts.shape[0] - 1:
            raise ValueError(f"problem {problems[c]} out of range")
        nmax = max(nmax, starts[problems[c] + 1] - starts[problems[c]])
    return nmax


cdef void _draw(bitgen_t *gen, const double *mode, const double *L, double log_det_cov,
                int S, int d, double *z, double *theta, double *log_q) noexcept nogil:
    """S draws of N(mode, L L^T) into theta (S x d) and their log density into log_q,
    from S d standard normals of gen (z: S d doubles of scratch)."""
    cdef int s, j, k
    cdef double t, q, c = 0.5 * d * (2.0 * _HALF_LOG_2PI)
    random_standard_normal_fill(gen, <Py_ssize_t>S * d, z)
    for s in range(S):
        q = 0.0
        for j in range(d):
            t = 0.0
            for k in range(j + 1):
                t = t + z[s * d + k] * L[j * d + k]
            theta[s * d + j] = mode[j] + t
            q = q + z[s * d + j] * z[s * d + j]
        log_q[s] = (-0.5 * q - c) - 0.5 * log_det_cov


cdef int _estimate(const double *theta, const double *lw, int S, int d, double *scratch,
                   double *khat, double *ess, double *log_z, double *mean,
                   double *cov) noexcept nogil:
    """PSIS of the log ratios lw and the smoothed moments (scratch: S +
    lf_psis_scratch(S) doubles); returns the count of NaN or +inf ratios (then nothing
    is estimated)."""
    cdef int s, bad = 0
    for s in range(S):
        bad += isnan(lw[s]) or lw[s] == INFINITY
    if bad:
        return bad
    khat[0] = lf_psis_one(lw, S, scratch, scratch + S)
    lf_psis_moments(scratch, theta, S, d, log_z, ess, mean, cov, scratch + S)
    return 0


def log_joint(int family, const double[:, ::1] X, const double[::1] y, const double[::1] off,
              const double[::1] wt, const double[::1] trials, const int64_t[::1] starts,
              const double[:, :, ::1] P, const int64_t[::1] pidx, const double[:, ::1] M,
              const int64_t[::1] midx, const double[::1] prior_const,
              const double[::1] param, const int64_t[::1] problems,
              const double[:, :, ::1] draws, double[:, ::1] out, int n_threads):
    """out[c, s] = the log joint (every constant kept) of problem problems[c] at
    draws[c, s] (lf_glm_log_joint, glm_draws.h), the problems in parallel.  The data and
    prior arrays are those of _glm_kernels.fit; prior_const holds each distinct prior's
    constant.  Raises MemoryError when a thread cannot allocate its scratch."""
    cdef Py_ssize_t C = problems.shape[0], c
    cdef int d = <int>X.shape[1], S = <int>draws.shape[1]
    cdef int[::1] failed = np.zeros(max(n_threads, 1), dtype=np.intc)   # per thread
    cdef double *scratch
    if draws.shape[0] != C or draws.shape[2] != d or out.shape[0] != C or out.shape[1] != S:
        raise ValueError("log_joint: draws must be (C, S, d) and out (C, S) for C problems")
    if C == 0 or S == 0:
        return
    cdef _Glm g = _glm(family, X, y, off, wt, trials, starts, P, pidx, M, midx,
                       prior_const, param, problems)
    with nogil, parallel(num_threads=n_threads):
        scratch = _alloc(g.scratch, &failed[0])
        for c in prange(C, schedule="dynamic"):
            if scratch != NULL:
                _log_joint_one(&g, problems[c], &draws[c, 0, 0], S, &out[c, 0], scratch)
        free(scratch)
    if np.any(failed):
        raise MemoryError("log_joint: a thread could not allocate its scratch")


def draws(list bit_generators, const double[:, ::1] mode, const double[:, :, ::1] L,
          const double[::1] log_det_cov, double[:, :, ::1] theta, double[:, ::1] log_q,
          int n_threads):
    """theta[c] = S draws of N(mode[c], L[c] L[c]^T) from bit_generators[c] (its
    standard normals, S x d, in order), log_q[c] their log densities."""
    cdef Py_ssize_t C = mode.shape[0], c
    cdef const uintptr_t[::1] gens = _pointers(bit_generators, C)
    cdef int d = <int>mode.shape[1], S = <int>theta.shape[1]
    cdef int[::1] failed = np.zeros(max(n_threads, 1), dtype=np.intc)
    cdef double *z
    if C == 0 or S == 0:
        return
    with nogil, parallel(num_threads=n_threads):
        z = _alloc(<size_t>S * d, &failed[0])
        for c in prange(C, schedule="dynamic"):
            if z != NULL:
                _draw(<bitgen_t *>gens[c], &mode[c, 0], &L[c, 0, 0], log_det_cov[c], S, d,
                      z, &theta[c, 0, 0], &log_q[c, 0])
        free(z)
    if np.any(failed):
        raise MemoryError("draws: a thread could not allocate its scratch")


def psis(const double[:, ::1] lw, double[:, ::1] out, double[::1] khat, int n_threads):
    """out[c] = the Pareto-smoothed lw[c] (lf_psis_one), khat[c] its shape."""
    cdef Py_ssize_t C = lw.shape[0], c
    cdef int S = <int>lw.shape[1]
    cdef int[::1] failed = np.zeros(max(n_threads, 1), dtype=np.intc)
    cdef double *scratch
    if C == 0:
        return
    with nogil, parallel(num_threads=n_threads):
        scratch = _alloc(lf_psis_scratch(S), &failed[0])
        for c in prange(C, schedule="dynamic"):
            if scratch != NULL:
                khat[c] = lf_psis_one(&lw[c, 0], S, &out[c, 0], scratch)
        free(scratch)
    if np.any(failed):
        raise MemoryError("psis: a thread could not allocate its scratch")


def psis_moments(const double[:, :, ::1] theta, const double[:, ::1] lw, double[::1] khat,
                 double[::1] ess, double[::1] log_z, double[:, ::1] mean,
                 double[:, :, ::1] cov, int n_threads):
    """PSIS of lw[c] and the moments of theta[c] under the smoothed weights, per problem
    (lf_psis_one, lf_psis_moments).  Returns the count of NaN or +inf log ratios (when
    not 0, the outputs mean nothing)."""
    cdef Py_ssize_t C = lw.shape[0], c
    cdef int S = <int>lw.shape[1], d = <int>theta.shape[2]
    cdef int[::1] failed = np.zeros(max(n_threads, 1), dtype=np.intc)
    cdef int64_t bad = 0
    cdef double *scratch
    if C == 0:
        return 0
    with nogil, parallel(num_threads=n_threads):
        scratch = _alloc(S + lf_psis_scratch(S), &failed[0])
        for c in prange(C, schedule="dynamic"):
            if scratch != NULL:
                bad += _estimate(&theta[c, 0, 0], &lw[c, 0], S, d, scratch, &khat[c],
                                 &ess[c], &log_z[c], &mean[c, 0], &cov[c, 0, 0])
        free(scratch)
    if np.any(failed):
        raise MemoryError("psis_moments: a thread could not allocate its scratch")
    return bad


def glm_importance(int family, const double[:, ::1] X, const double[::1] y,
                   const double[::1] off, const double[::1] wt, const double[::1] trials,
                   const int64_t[::1] starts, const double[:, :, ::1] P,
                   const int64_t[::1] pidx, const double[:, ::1] M,
                   const int64_t[::1] midx, const double[::1] prior_const,
                   const double[::1] param, const int64_t[::1] problems,
                   list bit_generators, const double[:, ::1] mode,
                   const double[:, :, ::1] L, const double[::1] log_det_cov,
                   double[:, :, ::1] theta, double[:, ::1] lw, double[::1] khat,
                   double[::1] ess, double[::1] log_z, double[:, ::1] mean,
                   double[:, :, ::1] cov, int n_threads):
    """Importance sampling of GLM problem problems[c] from N(mode[c], L[c] L[c]^T): the
    draws (as ``draws``) into theta[c], the log ratios log p - log q into lw[c], and
    the estimates (as ``psis_moments``).  Returns the count of NaN or +inf log ratios."""
    cdef Py_ssize_t C = problems.shape[0], c
    cdef const uintptr_t[::1] gens = _pointers(bit_generators, C)
    cdef int d = <int>X.shape[1], S = <int>theta.shape[1], s
    cdef int[::1] failed = np.zeros(max(n_threads, 1), dtype=np.intc)
    cdef int64_t bad = 0
    cdef double *scratch
    cdef double *lq
    cdef double *lp
    if C == 0 or S == 0:
        return 0
    cdef _Glm g = _glm(family, X, y, off, wt, trials, starts, P, pidx, M, midx,
                       prior_const, param, problems)
    cdef size_t ps = <size_t>S + lf_psis_scratch(S)
    cdef size_t ssize = 2 * <size_t>S + max(<size_t>S * d, max(g.scratch, ps))
    with nogil, parallel(num_threads=n_threads):
        scratch = _alloc(ssize, &failed[0])
        for c in prange(C, schedule="dynamic"):
            if scratch != NULL:
                # scratch: log q (S), log p (S), then z, then the log joint's, then PSIS's
                lq = scratch
                lp = scratch + S
                _draw(<bitgen_t *>gens[c], &mode[c, 0], &L[c, 0, 0], log_det_cov[c], S,
                      d, scratch + 2 * S, &theta[c, 0, 0], lq)
                _log_joint_one(&g, problems[c], &theta[c, 0, 0], S, lp, scratch + 2 * S)
                for s in range(S):
                    lw[c, s] = lp[s] - lq[s]
                bad += _estimate(&theta[c, 0, 0], &lw[c, 0], S, d, scratch + 2 * S,
                                 &khat[c], &ess[c], &log_z[c], &mean[c, 0], &cov[c, 0, 0])
        free(scratch)
    if np.any(failed):
        raise MemoryError("glm_importance: a thread could not allocate its scratch")
    return bad
