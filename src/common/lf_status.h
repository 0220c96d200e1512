/* Status codes shared by every kernel of laplace_fast and mirrored by the Python
 * IntEnum laplace_fast.Status (tests/test_status.py checks that the two agree).
 * 0 = success, > 0 = success with a caveat, < 0 = failure (the README's status table). */
#ifndef LF_STATUS_H
#define LF_STATUS_H

#define LF_OK                   0
#define LF_ILL_CONDITIONED      1   /* condition number of the precision > 1e12     */
#define LF_HESSIAN_INACCURATE   2   /* finite-difference error estimate too large    */
#define LF_EXTREME_PREDICTOR    3   /* GLM: |eta| extreme (separation-like)          */
#define LF_REGULARISED          4   /* covariance regularised on request             */
#define LF_BOUNDARY             5   /* a learned hyperparameter on its boundary      */
#define LF_MAXITER             -1   /* iteration limit reached                       */
#define LF_NO_PROGRESS         -2   /* line search made no progress                  */
#define LF_NONFINITE_X0        -3   /* log_post not finite at x0                     */
#define LF_NONFINITE_FIT       -4   /* non-finite values during the fit              */
#define LF_NOT_NEGDEF          -5   /* Hessian not negative definite (saddle, min)   */
#define LF_SINGULAR            -6   /* Hessian singular (a flat direction)           */
#define LF_HESSIAN_NONFINITE   -7   /* Hessian not finite                            */
#define LF_DIVERGED            -8   /* diverged (improper posterior)                 */

/* Not problem statuses: a kernel could not allocate its scratch (MemoryError), or a
 * user callback raised (the Python exception is re-raised). */
#define LF_NO_MEMORY          -99
#define LF_CALLBACK_ERROR    -100

/* The bits of the GLM data check (lf_glm_check), 0 = fine; exported to Python as
 * laplace_fast._glm_kernels.CHECK_BITS (name without LF_CHECK_ -> bit). */
#define LF_CHECK_X_NONFINITE       1   /* X has NaN or inf                          */
#define LF_CHECK_Y_NONFINITE       2   /* y has NaN or inf                          */
#define LF_CHECK_Y_SUPPORT         4   /* y outside the family's support            */
#define LF_CHECK_OFFSET_NONFINITE  8   /* offset has NaN or inf                     */
#define LF_CHECK_WEIGHTS_INVALID  16   /* weights not finite or negative            */
#define LF_CHECK_TRIALS_INVALID   32   /* trials not non-negative integers          */

#endif
