"""laplace_fast: fast, trustworthy Laplace approximations.

A posterior p(theta | data) ∝ exp(log_post(theta)) is replaced by the Gaussian
N(theta*, (-H)^-1) at its mode theta*, with H the Hessian of log_post there.

Functions
---------
gradient, hessian
    Finite-difference derivatives of a scalar function (central, forward,
    Richardson-extrapolated), compiled stencils, one batch of points per call.
find_map
    The mode of a log posterior (damped Newton, or any scipy.optimize method).
laplace, laplace_batch
    The Laplace approximation of one posterior, or of a batch of posteriors
    advanced together.
laplace_mixture
    A mixture of Laplace approximations, one Gaussian per distinct mode found from
    several starts, weighted by their evidence.
glm_laplace
    Bayesian GLMs (logistic, probit, poisson, binomial, negative binomial,
    gaussian), one or tens of thousands at once, in parallel.
glmm_laplace
    Generalised linear mixed models: the random-effect covariance learned from the
    groups by the Laplace approximation of the marginal likelihood (lme4, glmmTMB).
prepare_glm, fit_glm
    glm_laplace's two halves: the data validated and laid out once (a ``GLMData``),
    then fitted under as many priors and from as many warm starts as needed.
plot
    The approximation against the true posterior (d = 1, 2), or a forest plot of
    intervals (matplotlib, the optional ``plot`` extra).

Results
-------
MapResult, LaplaceResult, BatchLaplaceResult, GLMLaplaceResult, BatchGLMLaplaceResult,
GLMData, GlmmResult, MixtureResult
    What those functions return; ``Status``, ``LaplaceWarning`` and ``LaplaceError``
    report what went wrong.
ImportanceResult
    What ``result.importance()`` returns: Pareto-smoothed importance sampling from the
    Gaussian (k-hat, the corrected evidence and moments), for every problem of a batch.

Data
----
FAMILIES
    The canonical names of the GLM families, a tuple of str.
"""

from ._status import LaplaceError, LaplaceWarning, Status
from ._result import BatchLaplaceResult, LaplaceResult, MapResult
from ._derivatives import gradient, hessian
from ._laplace import find_map, laplace, laplace_batch
from ._glm import BatchGLMLaplaceResult, GLMLaplaceResult, fit_glm, glm_laplace
from ._glm_prepare import GLMData, prepare_glm
from ._glmm import glmm_laplace
from ._glmm_result import GlmmResult
from ._importance import ImportanceResult
from ._families import FAMILIES
from ._mixture import MixtureResult, laplace_mixture
from ._plot import plot

__version__ = "0.1.0"

__all__ = [
    "gradient", "hessian", "find_map", "laplace", "laplace_batch", "glm_laplace",
    "prepare_glm", "fit_glm", "GLMData", "glmm_laplace", "GlmmResult",
    "laplace_mixture", "plot",
    "LaplaceResult", "BatchLaplaceResult", "MapResult", "MixtureResult",
    "GLMLaplaceResult", "BatchGLMLaplaceResult", "ImportanceResult",
    "Status", "LaplaceWarning", "LaplaceError",
]
