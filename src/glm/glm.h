/* The GLM engine of laplace_fast: one Bayesian GLM posterior per problem, fitted by
 * damped Newton, and its Laplace approximation; pure C, no allocation, no global state
 * other than the read-only tables of lf_elementary.h, so safe inside OpenMP parallel
 * regions.  _glm_kernels.pyx includes this one header and so compiles the engine as one
 * translation unit (every helper inlines into the dispatched copies of the solver).
 *
 *   glm_problem.h    the problem, its output, fixed constants
 *   glm_pairs.h      the pair layout of small problems (d <= 8)
 *   glm_scratch.h    the scratch plan: where each array lives in a thread's scratch
 *   glm_families.h   the list of the families, their codes, and the dispatchers of
 *                    their point functions
 *   families/        one header per family (<id>.h: all its point functions) and
 *                    family_loops.h, the loops they share
 *   glm_eval.h       value, gradient and Hessian passes over the observations
 *   glm_solver.h     damped Newton and the Laplace summary of one problem
 *   glm_batch.h      the batch loop's helpers (prefetch, atomics, pipeline)
 *   glm_check.h      the data check of every problem before any fit
 *   glm_evidence.h   one problem with its prior precision chosen by its evidence
 * (glm_draws.h, the log joint of one problem at many points, is _importance_kernels.pyx's.)
 *
 * Bits.  Every order of summation is fixed by (n, d) alone: the bits do not depend on
 * the SIMD width, on the thread count (pb->nt > 1 runs the blocks and superblocks of one
 * large problem on several threads, same sums), or on the batch a problem sits in.  The
 * solver is compiled for x86-64-v4/v3 and baseline and picked at run time (LF_CLONES).
 * ISO C mode contracts nothing into FMAs, except in the hot kernels marked LF_CONTRACT,
 * each a single out-of-line copy that every path calls: so the bits of v4 and v3 (which
 * have FMA) are one set, and the baseline's another. */
#ifndef GLM_H
#define GLM_H

#include "lf_portable.h"
#include "lf_status.h"
#include "lf_simd.h"
#include "lf_elementary.h"
#include "lf_sums.h"
#include "lf_linalg.h"
#include "glm_problem.h"
#include "glm_pairs.h"
#include "glm_scratch.h"
#include "glm_families.h"
#include "glm_eval.h"
#include "glm_solver.h"
#include "glm_batch.h"
#include "glm_check.h"
#include "glm_evidence.h"

#endif
