# cython: language_level=3
"""Batched Bayesian GLM kernels: one damped-Newton Laplace fit per problem.

Design
------
1. Problems are stored ragged: rows ``starts[b]:starts[b+1]`` of X (N, d), y, offset,
   weights, trials belong to problem b.  A stacked (..., n, d) batch is the special
   case of equal lengths, so one kernel serves stacked and grouped input.
2. Priors are stored once per distinct prior, ``P (np_, d, d)`` and ``M (nm, d)``;
   ``pidx[b]``, ``midx[b]`` say which one problem b uses (broadcasting without copies).
   Each P must be exactly symmetric (the Python layer symmetrises it).  Each distinct
   precision's normalising constant (its log det) is computed once, here, unless the
   caller passes it: a precision with zeros (flat directions) has no log det, and the
   Python layer gives its pseudo-determinant instead.
3. ``fit`` hands out runs of ``chunk`` consecutive problems to the threads of a
   parallel block, in order (an atomic counter), each thread owning one scratch buffer
   allocated inside the block (``lf_scratch.h``: on huge pages for a large problem).  Within a run
   (``_fit_run``) the next problem's pair layout is built while the current one is
   fitted, in its solver's stalls (``lf_zjob``, ``glm_problem.h``); one thread fits the
   whole batch as one run.  Each problem is computed by the same code on its own
   data with no reduction across problems, so results are bit for bit independent of
   the thread count and of the batch a problem sits in.  Fewer problems than threads
   run one after another, each with every thread inside it (its blocks of rows) when it
   has at least ``_inner_min`` rows x d, from outside any parallel region: the solver's
   regions nested in a team of one cost more than a small problem's fit.
   A long batch runs in slices with a Ctrl-C check between them, each ended by the
   work done (evaluations x rows x d^2, counted as problems finish), so that problems
   that iterate long make short slices.  While a problem is
   fitted, the next problem's rows are prefetched (they arrive during the fit; from
   1 KiB of X, ``lf_glm_prefetch_rows``).
4. The per-problem maths is C in ``glm.h`` (its headers in ``src/glm/``, on
   ``src/common/``); this module only
   unpacks pointers.  ``fit`` first checks every problem's data (NaN/inf, support; in
   parallel) and fits nothing when one is flagged: the Python layer turns the flags into
   errors.  One call for both, so that the fit's threads start while the check's are
   still awake, with no Python in between.
5. Problems whose status is not 0 append their index to a list (an atomic counter), so
   that the warning after a large batch needs no pass over the statuses, which the
   threads have just written and which would be read from cold caches.
"""

from cython.parallel cimport parallel, prange, threadid
from libc.stdint cimport int64_t
from libc.stdlib cimport free
from cpython.exc cimport PyErr_CheckSignals

import numpy as np


cdef extern from "lf_status.h" nogil:
    int LF_NO_MEMORY
    int LF_CHECK_X_NONFINITE, LF_CHECK_Y_NONFINITE, LF_CHECK_Y_SUPPORT
    int LF_CHECK_OFFSET_NONFINITE, LF_CHECK_WEIGHTS_INVALID, LF_CHECK_TRIALS_INVALID

cdef extern from "lf_scratch.h" nogil:
    double *lf_scratch_alloc(size_t n)

from _glm_c cimport (lf_zjob, lf_glm_problem, lf_glm_out, lf_glm_evidence,
                    lf_glm_evidence_size, lf_glm_evidence_fit, lf_glm_batch_zjob_offset,
                    lf_glm_batch_scratch_size, lf_pad8, lf_zjob_fits, LF_ZJOB_MAX,
                    lf_glm_prior_const, lf_glm_fit_one, lf_glm_check,
                    lf_glm_prefetch_rows,
                    lf_fetch_inc, lf_atomic_add, lf_atomic_read, lf_tables_init,
                    lf_glm_family_name, LF_NFAMILIES)

lf_tables_init()

# the data check's bits (lf_glm_check; LF_CHECK_* in lf_status.h), name -> bit
CHECK_BITS = {"X_NONFINITE": LF_CHECK_X_NONFINITE, "Y_NONFINITE": LF_CHECK_Y_NONFINITE,
              "Y_SUPPORT": LF_CHECK_Y_SUPPORT, "OFFSET_NONFINITE": LF_CHECK_OFFSET_NONFINITE,
              "WEIGHTS_INVALID": LF_CHECK_WEIGHTS_INVALID,
              "TRIALS_INVALID": LF_CHECK_TRIALS_INVALID}
# the status of a problem whose thread could not allocate its scratch
NO_MEMORY = LF_NO_MEMORY

# name -> code of every family, from the C list (LF_GLM_FAMILIES, glm_families.h)
FAMILIES = {lf_glm_family_name(f).decode(): f for f in range(LF_NFAMILIES)}
# the work of a slice between two Ctrl-C checks: evaluations x (rows + 8) x (d^2 + 8),
# summed over its problems as they finish (W1's 10,000 problems are 1.3e8 units: one
# slice)
cdef int64_t _slice_budget = 500_000_000
# rows x d from which a problem fitted alone uses threads inside it: below it the regions'
# fork and join cost more than they save (bench/RESULTS.md, "threads inside one
# problem").  No effect on results.
INNER_MIN = 250_000
cdef int64_t _inner_min = INNER_MIN


# The two knobs above are this module's state, so their setters live here; the tests
# reach them through laplace_fast._glm_testing (set_slice_budget, set_inner_min).

def _set_slice_budget(int64_t work):
    """Work per slice between Ctrl-C checks, in evaluations x (rows + 8) x (d^2 + 8)
    (the tests make it small); returns the old one."""
    global _slice_budget
    old = _slice_budget
    _slice_budget = max(1, work)
    return old


def _set_inner_min(int64_t work):
    """Rows x d from which a problem alone runs on several threads (the tests make it 0,
    to reach the solver's threaded path with small problems); returns the old one."""
    global _inner_min
    old = _inner_min
    _inner_min = max(0, work)
    return old


cdef inline const double *_opt(const double[::1] a) noexcept nogil:
    return &a[0] if a.shape[0] > 0 else NULL


def scratch_doubles(Py_ssize_t n, Py_ssize_t d):
    """Doubles of per-thread scratch for problems of up to n rows and d parameters."""
    return lf_glm_batch_scratch_size(n, d)


# what fit returns first
FIT_DONE, FIT_BAD_DATA, FIT_NO_SCRATCH = 0, 1, 2


cdef struct _Batch:
    # one call's arrays (problem b: rows starts[b]:starts[b + 1]) and outputs
    Py_ssize_t nprob
    size_t zoff         # lf_glm_batch_zjob_offset of the batch's largest problem
    size_t eoff         # where the evidence's working storage starts in scratch
    int family, d, maxiter
    double tol
    const int64_t *starts
    const double *X, *y, *off, *wt, *trials, *param, *P, *pconst, *M, *start
    const int64_t *pidx, *midx
    double *mode, *hess, *cov, *log_det_cov, *logp, *cond
    int *niter, *nfev, *status
    double *ev_u        # NULL: the prior as given; else each problem's log precision
    int *ev_bound       # (first and chosen, lf_glm_evidence_fit) and its at_bound
    int *failed         # shared: a thread whose scratch allocation failed writes 1
    int64_t *work       # shared: the work done in the current slice (an atomic counter)
    int64_t work_max    # the slice ends when work reaches it
    int64_t *nonzero    # shared: the problems whose status is not 0, in any order
    int64_t *nnonzero   # shared: how many (an atomic counter)


cdef void _fit_problem(const _Batch *jb, Py_ssize_t b, double *scratch, int nt,
                       double *Z, int zready, lf_zjob *zjob) noexcept nogil:
    """Fit problem b with nt threads inside it; status LF_NO_MEMORY when scratch is NULL.  Z,
    zready, zjob: the pipeline of _fit_run (NULL, 0, NULL: none)."""
    cdef lf_glm_problem pb
    cdef lf_glm_out out
    cdef lf_glm_evidence ev
    cdef int64_t s0 = jb.starts[b], n = jb.starts[b + 1] - jb.starts[b]
    cdef int d = jb.d
    cdef int st
    if scratch == NULL:
        jb.status[b] = LF_NO_MEMORY
        jb.failed[0] = 1
        jb.nonzero[lf_fetch_inc(jb.nnonzero)] = b
        return
    pb.family = jb.family
    pb.n = <int>n
    pb.d = d
    pb.X = jb.X + s0 * d if jb.X != NULL else NULL
    pb.y = jb.y + s0 if jb.y != NULL else NULL
    pb.off = jb.off + s0 if jb.off != NULL else NULL
    pb.wt = jb.wt + s0 if jb.wt != NULL else NULL
    pb.trials = jb.trials + s0 if jb.trials != NULL else NULL
    pb.param = jb.param[b]
    pb.P = jb.P + jb.pidx[b] * d * d if jb.P != NULL else NULL
    pb.prior_const = jb.pconst[jb.pidx[b]]
    pb.m = jb.M + jb.midx[b] * d if jb.M != NULL else NULL
    pb.start = jb.start + b * d if jb.start != NULL else NULL
    pb.tol = jb.tol
    pb.maxiter = jb.maxiter
    pb.nt = nt
    pb.Z = Z
    pb.zready = zready
    pb.zjob = zjob
    if b + 1 < jb.nprob:   # the next problem's rows arrive while this one is fitted
        lf_glm_prefetch_rows(jb.X, jb.y, jb.off, jb.wt, jb.trials, jb.starts[b + 1],
                             jb.starts[b + 2] - jb.starts[b + 1], d)
    out.mode = jb.mode + b * d if jb.mode != NULL else NULL
    out.hess = jb.hess + b * d * d if jb.hess != NULL else NULL
    out.cov = jb.cov + b * d * d if jb.cov != NULL else NULL
    if jb.ev_u != NULL:
        ev.u = jb.ev_u[b]
        st = lf_glm_evidence_fit(&pb, &out, scratch, scratch + jb.eoff, &ev)
        jb.ev_u[b] = ev.u
        jb.ev_bound[b] = ev.at_bound
    else:
        st = lf_glm_fit_one(&pb, &out, scratch)
    jb.status[b] = st
    if st != 0:
        jb.nonzero[lf_fetch_inc(jb.nnonzero)] = b
    lf_atomic_add(jb.work, <int64_t>(out.nfev + 1) * (n + 8) * (d * d + 8))
    jb.log_det_cov[b] = out.log_det_cov
    jb.logp[b] = out.logp
    jb.cond[b] = out.cond
    jb.niter[b] = out.niter
    jb.nfev[b] = out.nfev


cdef Py_ssize_t _fit_run(const _Batch *jb, Py_ssize_t b0, Py_ssize_t b1,
                         double *scratch, bint stoppable) noexcept nogil:
    """Fit problems b0 <= b < b1 one after another, each serially; while one is fitted,
    the next one's pair layout is built in its solver's stalls (lf_zjob, glm_problem.h),
    into the two buffers past the problem's scratch, in turn.  stoppable: stop before a
    problem (not the first) once the slice's work reaches jb.work_max.  Returns the
    first problem not fitted."""
    cdef lf_zjob job
    cdef double *zbuf[2]
    cdef int cur = 0, ready = 0
    cdef int64_t n1
    cdef Py_ssize_t b
    if scratch == NULL:
        for b in range(b0, b1):
            _fit_problem(jb, b, NULL, 1, NULL, 0, NULL)
        return b1
    zbuf[0] = scratch + jb.zoff
    zbuf[1] = zbuf[0] + LF_ZJOB_MAX
    for b in range(b0, b1):
        if stoppable and b > b0 and lf_atomic_read(jb.work) >= jb.work_max:
            return b
        job.X = NULL
        if b + 1 < b1:
            n1 = jb.starts[b + 2] - jb.starts[b + 1]
            if lf_zjob_fits(<int>n1, jb.d):
                job.X = jb.X + jb.starts[b + 1] * jb.d
                job.n = <int>n1
                job.groups = lf_pad8(<int>n1) // 4
                job.done = 0
                job.Z = zbuf[1 - cur]
        _fit_problem(jb, b, scratch, 1, zbuf[cur] if ready else NULL, ready,
                     &job if job.X != NULL else NULL)
        ready = job.X != NULL
        cur = 1 - cur
    return b1


cdef void _fit_runs(const _Batch *jb, Py_ssize_t b0, Py_ssize_t b1, Py_ssize_t chunk,
                    int64_t *next_run, double *scratch) noexcept nogil:
    """One thread's share of a slice: runs of chunk problems from b0, taken in order
    (next_run, an atomic counter), each fitted whole, until none is left or the slice's
    work reaches jb.work_max.  The runs taken are then the first ones, every one done."""
    cdef int64_t c, nruns = (b1 - b0 + chunk - 1) // chunk
    while lf_atomic_read(jb.work) < jb.work_max:
        c = lf_fetch_inc(next_run)
        if c >= nruns:
            return
        _fit_run(jb, b0 + c * chunk, min(b0 + (c + 1) * chunk, b1), scratch, False)


def fit(int family, const double[:, ::1] X, const double[::1] y, const double[::1] off,
        const double[::1] wt, const double[::1] trials, const int64_t[::1] starts,
        const double[:, :, ::1] P, const int64_t[::1] pidx,
        const double[:, ::1] M, const int64_t[::1] midx, const double[::1] prior_const,
        const double[::1] param, const double[:, ::1] start, double tol, int maxiter,
        int n_threads, int chunk, double[::1] ev_u, int[::1] ev_bound,
        int[::1] flags, double[:, ::1] mode, double[:, :, ::1] hess,
        double[:, :, ::1] cov, double[::1] log_det_cov, double[::1] logp, int[::1] status,
        int[::1] niter, int[::1] nfev, double[::1] cond, int64_t[::1] nonzero):
    """Check every problem's data into flags (lf_glm_check's bits, 0 = fine, zeros on
    entry) and, only when no problem is flagged, fit every problem, writing the outputs
    into the arrays given and the indices of the problems whose status is not 0 into
    nonzero (length B; in no particular order).  Returns (code, k): FIT_BAD_DATA when a
    problem is flagged (nothing fitted; k = 0); else FIT_NO_SCRATCH when a thread could
    not allocate its scratch (its problems have status LF_NO_MEMORY), or FIT_DONE; k entries of
    nonzero written.  prior_const: each distinct prior's normalising constant
    (lf_glm_prior_const's), or empty to have them computed here.  start: (B, d) first
    iterates (warm starts), or (0, d) to start each problem from its data.  ev_u: empty
    for the prior as given; else (B,) each problem's first log prior precision, and the
    problems are fitted with theirs chosen by the evidence (lf_glm_evidence_fit: the
    prior N(M, I / alpha), P and prior_const unused), written back into ev_u, with
    ev_bound (B,) 1 where it is at a bound."""
    cdef Py_ssize_t B = starts.shape[0] - 1, b
    cdef int d = <int>X.shape[1]
    cdef const double *Xb = &X[0, 0] if X.shape[0] * X.shape[1] > 0 else NULL
    cdef const double *yb = _opt(y)
    cdef const double *ob = _opt(off)
    cdef const double *wb = _opt(wt)
    cdef const double *tb = _opt(trials)
    cdef int64_t s0, n, nflagged = 0, nnonzero = 0
    if B == 0:
        return FIT_DONE, 0
    # the data checks (NaN/inf, support), every problem before any is fitted
    with nogil:
        for b in prange(B, schedule='static', num_threads=n_threads):
            s0 = starts[b]
            n = starts[b + 1] - s0
            if n == 0:
                continue
            flags[b] = lf_glm_check(family, <int>n, d, Xb + s0 * d if Xb != NULL else NULL,
                                    yb + s0, ob + s0 if ob != NULL else NULL,
                                    wb + s0 if wb != NULL else NULL,
                                    tb + s0 if tb != NULL else NULL)
            nflagged += flags[b] != 0
    if nflagged:
        return FIT_BAD_DATA, 0
    cdef int64_t nmax = 0
    for b in range(B):
        if starts[b + 1] - starts[b] > nmax:
            nmax = starts[b + 1] - starts[b]
    cdef size_t ssize = lf_glm_batch_scratch_size(<size_t>nmax, <size_t>d)
    cdef size_t eoff = ssize
    cdef bint by_evidence = ev_u.shape[0] > 0
    if by_evidence:
        if ev_u.shape[0] != B or ev_bound.shape[0] != B:
            raise ValueError("fit: ev_u and ev_bound must have one entry per problem")
        ssize += lf_glm_evidence_size(<size_t>nmax, <size_t>d)
    cdef double *scratch
    cdef Py_ssize_t b0 = 0, b1
    cdef int outer, inner
    cdef int64_t work, budget = _slice_budget, work_done = 0, next_run = 0
    cdef int failed = 0
    # each distinct prior's normalising constant (log det P), once, unless given
    cdef const double[::1] pconst = prior_const
    cdef double[::1] computed, pwork
    cdef Py_ssize_t k
    if prior_const.shape[0] != P.shape[0]:
        computed = np.empty(P.shape[0])
        pwork = np.empty(d * d + d + 1)
        for k in range(P.shape[0]):
            computed[k] = lf_glm_prior_const(&P[k, 0, 0] if d > 0 else NULL, d, &pwork[0])
        pconst = computed
    cdef _Batch jb
    jb.nprob, jb.family, jb.d, jb.maxiter, jb.tol = B, family, d, maxiter, tol
    jb.zoff = lf_glm_batch_zjob_offset(<size_t>nmax, <size_t>d)
    jb.eoff = eoff
    jb.ev_u = &ev_u[0] if by_evidence else NULL
    jb.ev_bound = &ev_bound[0] if by_evidence else NULL
    jb.starts = &starts[0]
    jb.X, jb.y, jb.off, jb.wt, jb.trials = Xb, yb, ob, wb, tb
    jb.param, jb.pconst, jb.pidx, jb.midx = &param[0], &pconst[0], &pidx[0], &midx[0]
    jb.P = &P[0, 0, 0] if P.shape[0] * d > 0 else NULL
    jb.M = &M[0, 0] if M.shape[0] * d > 0 else NULL
    jb.start = &start[0, 0] if start.shape[0] * d > 0 else NULL
    jb.mode = &mode[0, 0] if B * d > 0 else NULL
    jb.hess = &hess[0, 0, 0] if B * d > 0 else NULL
    jb.cov = &cov[0, 0, 0] if B * d > 0 else NULL
    jb.log_det_cov, jb.logp, jb.cond = &log_det_cov[0], &logp[0], &cond[0]
    jb.niter, jb.nfev, jb.status, jb.failed = &niter[0], &nfev[0], &status[0], &failed
    jb.nonzero, jb.nnonzero = &nonzero[0], &nnonzero
    jb.work, jb.work_max = &work_done, budget
    # the batch runs in slices, with a check for Ctrl-C (KeyboardInterrupt) in between;
    # problems are independent, so slicing does not change any result.  A slice is
    # planned as the problems whose rows (one evaluation each) make the budget, and it
    # ends earlier when the work done (every evaluation) reaches the budget.
    while b0 < B:
        work = 0
        b1 = b0
        while b1 < B and (b1 == b0 or work < budget):
            work += (starts[b1 + 1] - starts[b1] + 8) * (d * d + 8)
            b1 += 1
        work_done = 0
        # fewer problems than threads: one at a time, each using every thread inside
        # when it is large enough (blocks of observations; the same sums in the same
        # order); else one problem per thread
        outer = 1 if b1 - b0 < n_threads else n_threads
        inner = n_threads if outer == 1 else 1
        if outer == 1:
            # serially, outside any parallel region: the solver's own regions (inner
            # threads) are then top-level ones, whose threads OpenMP keeps; nested in a
            # team of one, they cost more than the fit of a small problem
            with nogil:
                scratch = lf_scratch_alloc(ssize)
                if inner == 1:      # one thread: the whole slice as one run
                    b1 = _fit_run(&jb, b0, b1, scratch, True)
                else:
                    b = b0
                    while b < b1 and (b == b0 or work_done < budget):
                        _fit_problem(&jb, b, scratch, inner if (starts[b + 1] - starts[b])
                                     * d >= _inner_min else 1, NULL, 0, NULL)
                        b += 1
                    b1 = b
                free(scratch)
        else:
            # runs of chunk problems, handed out one at a time, in order
            next_run = 0
            with nogil, parallel(num_threads=outer):
                scratch = lf_scratch_alloc(ssize)
                _fit_runs(&jb, b0, b1, chunk, &next_run, scratch)
                free(scratch)
            b1 = min(b0 + min(next_run, (b1 - b0 + chunk - 1) // chunk) * chunk, b1)
        b0 = b1
        PyErr_CheckSignals()
    return (FIT_NO_SCRATCH if failed else FIT_DONE), nnonzero

