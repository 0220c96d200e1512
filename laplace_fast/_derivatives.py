"""Finite-difference gradients and Hessians of a scalar function (public API)."""

import numpy as np

from . import _core
from ._objective import as_points, check_options, make_objective

__all__ = ["gradient", "hessian"]


def gradient(f, x, *, args=(), method="central", step=None, vectorized=False):
    """Gradient of a scalar function by finite differences.

    Parameters
    ----------
    f : callable or scipy.LowLevelCallable
        ``f(x, *args) -> float`` with ``x`` of shape (d,); with ``vectorized=True``
        ``f(X, *args) -> (m,)`` for ``X`` of shape (m, d).  A ``LowLevelCallable`` must
        have the signature ``double (int n, double *x, void *user_data)``.
    x : array_like, shape (d,) or scalar
        The point.
    args : tuple
        Extra arguments passed to ``f``.
    method : {"central", "forward", "richardson"}
        ``central``: 2d evaluations, error O(h^2), about 1e-10 relative;
        ``forward``: d + 1 evaluations, error O(h), about 1e-8;
        ``richardson``: 6d evaluations at h, h/2 and h/4 extrapolated, error O(h^6).
    step : float or array_like of shape (d,), optional
        Absolute step(s).  Default ``c * max(1, |x_i|)`` with c = eps**(1/3) (central),
        eps**(1/2) (forward), eps**(1/5) (Richardson); steps are rounded so that
        ``x_i + h_i`` is exactly representable.
    vectorized : bool
        Evaluate all stencil points in one call of ``f``.

    Returns
    -------
    ndarray, shape (d,)

    Raises
    ------
    ValueError
        Unknown ``method``, non-finite ``x``, bad ``step``, or ``f`` returning the
        wrong shape.
    TypeError
        ``f`` not callable, or returning something that is not a real number.

    Notes
    -----
    All points of the stencil are generated first and requested together, so a
    vectorized callback is called once.  An exception raised by ``f`` propagates
    unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> import laplace_fast as lf
    >>> g = lf.gradient(lambda x: np.sin(x[0]) * x[1] ** 2, [0.5, 2.0])
    >>> np.allclose(g, [4 * np.cos(0.5), 4 * np.sin(0.5)])
    True
    """
    pts = as_points(x, "x")
    steps = check_options(d=pts.shape[1], step=step, hessian_method=method,
                          method_name="method")
    obj = make_objective(f, args, kind="vectorized" if vectorized else "scalar", name="f")
    with np.errstate(all="ignore"):
        _, g, _, _, _ = _core.fd_derivatives(obj, pts, method, steps, want_hessian=False)
    return g[0]


def hessian(f, x, *, args=(), grad=None, method="central", step=None, vectorized=False,
            full_output=False):
    """Hessian of a scalar function by finite differences.

    Parameters
    ----------
    f : callable or scipy.LowLevelCallable
        ``f(x, *args) -> float`` (or vectorized ``(m, d) -> (m,)``, see
        :func:`gradient`).
    x : array_like, shape (d,) or scalar
        The point.
    args : tuple
        Extra arguments passed to ``f`` and ``grad``.
    grad : callable, optional
        ``grad(x, *args) -> (d,)``.  When given, the Hessian is formed by differencing
        the gradient (2d calls for ``central``) and symmetrised, ``(H + H.T) / 2``.
    method : {"central", "forward", "richardson"}
        ``central`` (default): second differences with h = 2.5e-4 max(1, |x_i|),
        d(d+1) + 2d + 1 evaluations (the gradient from its own shorter steps), about
        1e-7 relative error;
        ``forward``: d(d+3)/2 + 2d + 1 evaluations, about 1e-5;
        ``richardson``: central at h = 3e-2 max(1, |x_i|), h/2 and h/4, extrapolated
        twice (error O(h^6)), 3 d(d+1) + 1 evaluations, about 1e-10, with an error
        estimate.
    step : float or array_like of shape (d,), optional
        Absolute step(s), replacing the default rule.
    vectorized : bool
        Evaluate the whole stencil in one call of ``f``.
    full_output : bool
        Also return a dict with ``f`` (the value at x), ``grad`` (the central
        gradient from the same stencil), ``error`` (Richardson's elementwise error
        estimate, zeros for the other methods) and ``nfev``.

    Returns
    -------
    H : ndarray, shape (d, d)
        Symmetric.
    info : dict
        Only with ``full_output=True``.

    Raises
    ------
    ValueError, TypeError
        As :func:`gradient`.

    Notes
    -----
    The mixed second difference uses the symmetric 2-point form
    ``[f(x+u) + f(x-u) - f(x±h_i e_i) - f(x±h_j e_j) + 2 f(x)] / (2 h_i h_j)`` with
    ``u = h_i e_i + h_j e_j``, so a central Hessian costs d(d+1) + 2d + 1
    evaluations (statsmodels' ``approx_hess`` uses about 2d^2), all requested at once.

    Examples
    --------
    >>> import numpy as np
    >>> import laplace_fast as lf
    >>> A = np.array([[2.0, 0.5], [0.5, 1.0]])
    >>> H = lf.hessian(lambda x: -0.5 * x @ A @ x, np.zeros(2))
    >>> np.allclose(H, -A, atol=1e-7)
    True
    >>> H = lf.hessian(lambda x: np.exp(x[0]) * x[1], [0.0, 1.0], method="richardson")
    >>> np.allclose(H, [[1.0, 1.0], [1.0, 0.0]], atol=1e-9)
    True
    """
    pts = as_points(x, "x")
    steps = check_options(d=pts.shape[1], step=step, hessian_method=method,
                          method_name="method")
    obj = make_objective(f, args, grad=grad, kind="vectorized" if vectorized else "scalar",
                         name="f")
    with np.errstate(all="ignore"):
        fx, g, H, herr, nfev = _core.fd_derivatives(obj, pts, method, steps)
    if full_output:
        return H[0], {"f": float(fx[0]), "grad": g[0], "error": herr[0],
                      "nfev": int(nfev[0])}
    return H[0]
