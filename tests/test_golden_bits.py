"""Golden bits: SHA-256 of mode, cov and logp of fixed GLM batches, committed per copy of
the kernels the CPU runs, and of fixed callback fits, so that a change meant to move code
leaves the arithmetic unchanged.  A change that means to alter the arithmetic updates the table on purpose:
``python tests/test_golden_bits.py`` prints the current hashes.

The kernels are compiled for x86-64-v4, v3 and the baseline and picked at run time; v4
and v3 fuse the same multiply-adds, so their bits are one set ("fma"), the baseline's
another.  The data are made of integer arithmetic and exact double operations only, so
they are the same bits on every platform and numpy version."""

import hashlib
import platform

import numpy as np
import pytest

import laplace_fast as lf


def _uniforms(seed, size):
    """uniforms in [0, 1) from a counter hashed by SplitMix64: integer arithmetic, exact"""
    z = np.arange(size, dtype=np.uint64) + np.uint64(seed << 32)
    with np.errstate(over="ignore"):
        z = z * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / 2.0**53


def _normals(seed, shape):
    """approximately standard normal: the sum of 4 uniforms, centred and scaled (exact)"""
    u = _uniforms(seed, 4 * int(np.prod(shape))).reshape(4, -1)
    return ((u[0] + u[1] + u[2] + u[3] - 2.0) * np.sqrt(3.0)).reshape(shape)


def _design(seed, B, n, d):
    X = np.empty((B, n, d))
    X[..., 0] = 1.0
    X[..., 1:] = _normals(seed, (B, n, d - 1))
    return X


def _cases():
    X1 = _design(1, 300, 50, 5)                          # W1-shaped: logistic
    u1 = _uniforms(2, 300 * 50).reshape(300, 50)
    y1 = (u1 < 0.5 + 0.15 * np.clip(X1[..., 1] - X1[..., 2], -3, 3)).astype(float)
    X2 = _design(3, 300, 100, 4)                         # W2-shaped: Poisson
    y2 = np.floor(_uniforms(4, 300 * 100).reshape(300, 100) * (3.0 + X2[..., 1] ** 2))
    X3 = _design(5, 200, 40, 3)                          # probit
    y3 = (_uniforms(6, 200 * 40).reshape(200, 40) < 0.5 + 0.2 * np.tanh(X3[..., 1])
          ).astype(float)
    t4 = 1.0 + np.floor(_uniforms(8, 100 * 30) * 6).reshape(100, 30)
    y4 = np.floor(_uniforms(9, 100 * 30).reshape(100, 30) * (t4 + 1))
    X5 = _design(10, 2, 400, 12)                         # beyond the pair layout
    y5 = (_uniforms(11, 800).reshape(2, 400) < 0.5 + 0.1 * X5[..., 3]).astype(float)
    X4 = _design(7, 100, 30, 3)
    X7 = _design(12, 1, 100_000, 3)[0]                   # one problem on all the threads
    y7 = (_uniforms(13, 100_000) < 0.5 + 0.2 * np.tanh(X7[:, 1])).astype(float)
    g8 = np.floor(_uniforms(14, 3000) * 97)              # ragged groups
    X8 = _design(15, 1, 3000, 3)[0]
    y8 = np.floor(_uniforms(16, 3000) * (2.0 + X8[:, 1] ** 2))
    y6 = X3[..., 1] - 0.5 * X3[..., 2] + y3
    return {   # each: the arguments of glm_laplace
        "W1 logistic": ((X1, y1), dict(family="logistic")),
        "W2 poisson": ((X2, y2), dict(family="poisson")),
        "probit": ((X3, y3), dict(family="probit", prior_precision=0.5)),
        "binomial": ((X4, y4), dict(family="binomial", trials=t4)),
        "negative_binomial": ((X2[:100], y2[:100]),
                              dict(family="negative_binomial", dispersion=0.5)),
        "gaussian": ((X3, y6), dict(family="gaussian", scale=0.8)),
        "logistic d=12": ((X5, y5), dict(family="logistic")),
        "W4-like alone": ((X7, y7), dict(family="logistic")),
        "poisson groups": ((X8, y8), dict(family="poisson", groups=g8)),
    }


def _hash(res):
    h = hashlib.sha256()
    for a in (res.mode, res.cov, res.logp):
        h.update(np.ascontiguousarray(a, dtype=np.float64).tobytes())
    return h.hexdigest()[:32]


GOLDEN = {
    "fma": {
        "W1 logistic": "1adb3379afd0d579e13ee12532c28d11",
        "W2 poisson": "d328060f7829ba6c04e01548b97bc5f3",
        "probit": "7df738815563d1132adba8c7006e3aff",
        "binomial": "792790ea0766e31ca4ef22bab072f80e",
        "negative_binomial": "902b3349597ae561a0efdab36a292028",
        "gaussian": "06c23f0c924bae34abb90a320791392f",
        "logistic d=12": "437f6c7b3422d3dfca4bb45f2968d00d",
        "W4-like alone": "6dc05f830c2d68b0418229cd93c5cb00",
        "poisson groups": "2abf59255e01e22fcc64bb09c8a5ea54",
    },
}


def _kernel_set():
    """the set of bits this CPU's copy of the kernels gives, or None if not known here"""
    if platform.machine() not in ("x86_64", "AMD64"):
        return None
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f
                          if line.startswith("flags")), [])
    except OSError:
        return None
    return "fma" if {"avx2", "fma", "bmi2"} <= set(flags) else "baseline"


CASES = _cases()


@pytest.mark.parametrize("n_threads", [1, 2])
@pytest.mark.parametrize("name", list(CASES))
def test_golden_bits(name, n_threads):
    kind = _kernel_set()
    if kind not in GOLDEN:
        pytest.skip(f"no golden bits recorded for this CPU's kernels ({kind})")
    args, kwargs = CASES[name]
    res = lf.glm_laplace(*args, **kwargs, n_threads=n_threads)
    assert np.all(res.converged)
    assert _hash(res) == GOLDEN[kind][name]


def _skewed(t):
    """a correlated, skewed log density (a Gamma-like and a logistic-like factor)"""
    a, b = t[..., 0], t[..., 1]
    return 3.0 * a - 2.0 * np.exp(a) - 0.5 * (b - 0.3 * a) ** 2 - np.log1p(np.exp(-b))


CALLBACK_CASES = {   # each: a callable giving a result
    "central": lambda: lf.laplace(_skewed, [0.5, 0.5]),
    "forward": lambda: lf.laplace(_skewed, [0.5, 0.5], hessian_method="forward"),
    "richardson": lambda: lf.laplace(_skewed, [0.5, 0.5], hessian_method="richardson"),
    "bfgs": lambda: lf.laplace(_skewed, [0.5, 0.5], method="BFGS"),
    "batch": lambda: lf.laplace_batch(_skewed, np.array([[0.5, 0.5], [-1.0, 2.0]])),
}

# the callback core is compiled for one instruction set: its bits depend on the compiler
# and the libm of the build, so these are checked on the x86-64 Linux build they were
# recorded on
CALLBACK_GOLDEN = {
    "central": "2e92fb0a370afb95e8766865586c71d1",
    "forward": "5405928cf7cbf976a07fcaf82aabf425",
    "richardson": "0af567aaf8ac54948edc5389af3f80a3",
    "bfgs": "469d55d21507b4c62f7a709281a69f64",
    "batch": "f101b131d87d7d4542f3658d9dfcc244",
}


@pytest.mark.parametrize("name", list(CALLBACK_CASES))
def test_callback_golden_bits(name):
    if platform.machine() != "x86_64" or platform.system() != "Linux":
        pytest.skip("callback golden bits are recorded for x86-64 Linux")
    res = CALLBACK_CASES[name]()
    assert np.all(res.converged)
    assert _hash(res) == CALLBACK_GOLDEN[name]


if __name__ == "__main__":
    print(_kernel_set())
    for name, (args, kwargs) in CASES.items():
        print(f"        {name!r}: {_hash(lf.glm_laplace(*args, **kwargs))!r},")
    for name, run in CALLBACK_CASES.items():
        print(f"    {name!r}: {_hash(run())!r},")
