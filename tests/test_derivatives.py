"""Finite-difference gradients and Hessians against analytic derivatives,
numdifftools and closed forms."""

import ctypes

import numpy as np
import pytest
import scipy

import laplace_fast as lf


# ---- a bank of test functions with analytic gradients and Hessians
def f_trig(x):
    return np.exp(0.3 * x[0]) * np.sin(x[1]) + x[0] ** 2 * x[2] - np.log1p(x[2] ** 2)


def g_trig(x):
    e, s, c = np.exp(0.3 * x[0]), np.sin(x[1]), np.cos(x[1])
    return np.array([0.3 * e * s + 2 * x[0] * x[2], e * c,
                     x[0] ** 2 - 2 * x[2] / (1 + x[2] ** 2)])


def h_trig(x):
    e, s, c = np.exp(0.3 * x[0]), np.sin(x[1]), np.cos(x[1])
    q = 1 + x[2] ** 2
    return np.array([[0.09 * e * s + 2 * x[2], 0.3 * e * c, 2 * x[0]],
                     [0.3 * e * c, -e * s, 0.0],
                     [2 * x[0], 0.0, -(2 * q - 4 * x[2] ** 2) / q ** 2]])


def f_rosen(x):
    return -np.sum(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)


def f_gauss(x, mu, P):
    r = x - mu
    return -0.5 * r @ P @ r


BANK = [
    (f_trig, h_trig, np.array([0.4, 1.1, -0.7])),
    (f_trig, h_trig, np.array([-1.3, 0.2, 2.5])),
    (f_rosen, lambda x: -scipy.optimize.rosen_hess(x), np.array([0.3, -0.8, 1.2, 0.5])),
]


def relerr(A, B):
    return np.max(np.abs(A - B)) / np.max(np.abs(B))


@pytest.mark.parametrize("f,h,x", BANK)
@pytest.mark.parametrize("method,tol", [("central", 1e-6), ("richardson", 1e-9),
                                        ("forward", 1e-3)])
def test_hessian_accuracy(f, h, x, method, tol):
    H = lf.hessian(f, x, method=method)
    assert relerr(H, h(x)) <= tol
    assert np.array_equal(H, H.T)


@pytest.mark.parametrize("method,tol", [("central", 1e-8), ("richardson", 1e-11),
                                        ("forward", 1e-6)])
def test_gradient_accuracy(method, tol):
    x = np.array([0.4, 1.1, -0.7])
    assert relerr(lf.gradient(f_trig, x, method=method), g_trig(x)) <= tol


def test_hessian_from_gradient_is_symmetric_and_accurate():
    x = np.array([0.4, 1.1, -0.7])
    H = lf.hessian(f_trig, x, grad=g_trig)
    assert np.array_equal(H, H.T)
    assert relerr(H, h_trig(x)) <= 1e-8
    assert relerr(lf.hessian(f_trig, x, grad=g_trig, method="richardson"), h_trig(x)) <= 1e-10


def test_hessian_matches_numdifftools_on_logistic_posterior():
    nd = pytest.importorskip("numdifftools")
    rng = np.random.default_rng(3)
    X = np.column_stack([np.ones(300), rng.standard_normal((300, 3))])
    y = (rng.random(300) < 0.4).astype(float)

    def lp(w):
        eta = X @ w
        return np.sum(y * eta - np.logaddexp(0, eta)) - 0.5 * w @ w

    w = np.array([0.1, -0.3, 0.5, 0.2])
    p = 1 / (1 + np.exp(-X @ w))
    exact = -(X.T * (p * (1 - p))) @ X - np.eye(4)     # closed form
    ref = nd.Hessian(lp)(w)
    assert relerr(ref, exact) < 1e-9                    # the reference itself is sound
    assert relerr(lf.hessian(lp, w, method="richardson"), exact) < 1e-9
    assert relerr(lf.hessian(lp, w), exact) < 1e-6


def test_gaussian_quadratic_exact():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((5, 5))
    P = A @ A.T + 5 * np.eye(5)
    mu = rng.standard_normal(5)
    H = lf.hessian(f_gauss, mu + 0.1, args=(mu, P))
    assert relerr(H, -P) < 1e-7


def test_vectorized_costs_one_call_per_hessian():
    calls = []

    def f(X):
        calls.append(X.shape)
        return np.array([f_trig(x) for x in X])

    x = np.array([0.4, 1.1, -0.7])
    H = lf.hessian(f, x, vectorized=True)
    assert calls == [(3 * 4 + 2 * 3 + 1, 3)]    # the whole stencil and f(x): one call
    lf.hessian(f, x, vectorized=True, method="richardson")
    assert calls[1:] == [(3 * 3 * 4 + 1, 3)]
    lf.gradient(f, x, vectorized=True, method="forward")
    assert calls[2:] == [(3 + 1, 3)]
    assert np.array_equal(H, lf.hessian(f_trig, x))


def test_scalar_callback_evaluation_count():
    n = [0]

    def f(x):
        n[0] += 1
        return f_trig(x)

    d = 3
    _, info = lf.hessian(f, np.zeros(d), full_output=True)
    assert n[0] == d * (d + 1) + 2 * d + 1 == info["nfev"]


def test_steps_scale_with_large_and_tiny_x():
    for x0 in (1e8, 1e-10):
        x = np.array([x0, -2.0 * x0])
        c = np.array([[3.0, 1.0], [1.0, 2.0]])

        def f(x):
            r = (x - np.array([x0, -2.0 * x0])) / max(1.0, abs(x0))
            return -0.5 * r @ c @ r
        H = lf.hessian(f, x) * max(1.0, abs(x0)) ** 2
        assert relerr(H, -c) < 1e-5


def _ctypes_llc(scale):
    proto = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_int,
                             ctypes.POINTER(ctypes.c_double), ctypes.c_void_p)

    def quad(n, x, user_data):
        s = ctypes.cast(user_data, ctypes.POINTER(ctypes.c_double))[0]
        return -0.5 * s * sum((i + 1) * x[i] * x[i] for i in range(n))

    cb = proto(quad)
    data = ctypes.c_double(scale)
    llc = scipy.LowLevelCallable(cb, ctypes.cast(ctypes.pointer(data), ctypes.c_void_p))
    return llc, (cb, data)


def test_low_level_callable():
    llc, keep = _ctypes_llc(2.0)
    H = lf.hessian(llc, np.array([0.3, -0.2, 0.1]))
    assert relerr(H, -2.0 * np.diag([1.0, 2.0, 3.0])) < 1e-7
    g = lf.gradient(llc, np.array([0.3, -0.2, 0.1]))
    assert relerr(g, -2.0 * np.array([1, 2, 3]) * np.array([0.3, -0.2, 0.1])) < 1e-8


def test_low_level_callable_wrong_signature():
    proto = ctypes.CFUNCTYPE(ctypes.c_double, ctypes.c_double)
    cb = proto(lambda x: x)
    llc = scipy.LowLevelCallable(cb, signature="double (double)")
    with pytest.raises(ValueError, match="signature"):
        lf.hessian(llc, [0.0])


C_SOURCE = """
#include <signal.h>
static long calls = 0;
long n_calls(void) { return calls; }
double neg_sq(int n, double *x, void *user_data) {
    if (++calls == 50) raise(SIGINT);            /* Ctrl-C from inside the loop */
    double s = 0.0;
    for (int i = 0; i < n; i++) s -= x[i] * x[i];
    return s;
}
"""


def test_ctrl_c_interrupts_a_compiled_low_level_callable(tmp_path):
    import shutil
    import subprocess
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    (tmp_path / "f.c").write_text(C_SOURCE)
    subprocess.run([cc, "-shared", "-fPIC", "-O1", "-o", str(tmp_path / "f.so"),
                    str(tmp_path / "f.c")], check=True)
    lib = ctypes.CDLL(str(tmp_path / "f.so"))
    lib.neg_sq.restype = ctypes.c_double
    lib.neg_sq.argtypes = (ctypes.c_int, ctypes.POINTER(ctypes.c_double), ctypes.c_void_p)
    lib.n_calls.restype = ctypes.c_long
    llc = scipy.LowLevelCallable(lib.neg_sq)
    d = 100                                       # 10,301 stencil points
    with pytest.raises(KeyboardInterrupt):
        lf.hessian(llc, np.zeros(d))
    assert lib.n_calls() < 2 * 1024               # stopped at the next check
    H = lf.hessian(llc, np.zeros(3))              # and it still works afterwards
    np.testing.assert_allclose(H, -2 * np.eye(3), atol=1e-6)


def test_callback_exception_propagates_unchanged():
    err = ZeroDivisionError("boom")

    def f(x):
        raise err
    with pytest.raises(ZeroDivisionError) as info:
        lf.hessian(f, [1.0, 2.0])
    assert info.value is err


@pytest.mark.parametrize("ret,exc", [(np.ones(2), ValueError), ("a", TypeError),
                                     (1j, TypeError), (None, TypeError)])
def test_callback_returning_garbage(ret, exc):
    # the message names the argument as the caller wrote it: f, not log_post
    with pytest.raises(exc, match=r"^f must return"):
        lf.hessian(lambda x: ret, [1.0, 2.0])


def test_vectorized_wrong_shape():
    with pytest.raises(ValueError, match=r"shape \(11,\)"):
        lf.hessian(lambda X: X, [1.0, 2.0], vectorized=True)
    with pytest.raises(ValueError, match="shape"):
        lf.hessian(lambda X: np.zeros((len(X), 1)), [1.0, 2.0], vectorized=True)


def test_callback_writing_into_its_input_changes_nothing():
    def f(x):
        v = f_trig(x)
        x[:] = 1e9
        return v
    x = np.array([0.4, 1.1, -0.7])
    assert np.array_equal(lf.hessian(f, x), lf.hessian(f_trig, x))
    assert np.array_equal(x, [0.4, 1.1, -0.7])


def test_input_layouts_give_identical_bits():
    base = np.array([0.4, 1.1, -0.7])
    ref = lf.hessian(f_trig, base)
    ro = base.copy()
    ro.flags.writeable = False
    strided = np.zeros(6)
    strided[::2] = base
    rev = base[::-1].copy()[::-1]
    for x in (ro, strided[::2], rev, list(base)):
        assert np.array_equal(lf.hessian(f_trig, x), ref)
    assert np.array_equal(lf.hessian(lambda x: -x @ x, np.array([1, 2], dtype=np.int32)),
                          lf.hessian(lambda x: -x @ x, np.array([1.0, 2.0])))


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(method="centered"), ValueError, "method"),
    (dict(step=0.0), ValueError, "step"),
    (dict(step=-1e-3), ValueError, "step"),
    (dict(step=[1e-3, 1e-3, 1e-3]), ValueError, "step"),
])
def test_bad_options(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        lf.hessian(f_trig, [0.1, 0.2], **kwargs) if "step" not in kwargs or \
            np.ndim(kwargs["step"]) == 0 else lf.hessian(lambda x: -x @ x, [0.1, 0.2],
                                                         **kwargs)


@pytest.mark.parametrize("x,exc", [([np.nan, 1.0], ValueError), ([1.0, np.inf], ValueError),
                                   ([1 + 1j, 0], TypeError), ("ab", TypeError),
                                   ([], ValueError), (np.zeros((2, 2)), ValueError),
                                   (np.array([None, 1.0]), TypeError)])
def test_bad_x(x, exc):
    with pytest.raises(exc, match="x"):
        lf.hessian(lambda x: -x @ x, x)


def test_not_callable():
    with pytest.raises(TypeError, match="callable"):
        lf.hessian(3.0, [1.0])


def test_explicit_step_is_used():
    x = np.array([0.5])
    H1 = lf.hessian(lambda x: np.sin(x[0]), x, step=1e-2)
    H2 = lf.hessian(lambda x: np.sin(x[0]), x, step=1e-4)
    assert abs(H1[0, 0] + np.sin(0.5)) > abs(H2[0, 0] + np.sin(0.5))
    assert abs(H1[0, 0] + np.sin(0.5)) < 1e-4
    x = np.array([0.4, 1.1, -0.7])
    assert np.array_equal(lf.hessian(f_trig, x, step=1e-3),
                          lf.hessian(f_trig, x, step=[1e-3, 1e-3, 1e-3]))
