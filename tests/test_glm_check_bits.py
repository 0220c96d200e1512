"""What the GLM kernel module exports from its C headers (the data check's bits, the
out-of-memory status, the family codes) agrees with them and with the Python layer; the
test hooks live outside the production extension."""

import re
from pathlib import Path

import numpy as np
import pytest

import laplace_fast as lf
from laplace_fast import _glm, _glm_kernels, _glm_testing

HEADER = Path(__file__).resolve().parents[1] / "src" / "common" / "lf_status.h"


def test_check_bits_are_the_headers():
    header = {k: int(v) for k, v in
              re.findall(r"#define LF_CHECK_(\w+)\s+(\d+)", HEADER.read_text())}
    assert _glm_kernels.CHECK_BITS == header
    bits = sorted(header.values())
    assert bits == [1 << k for k in range(len(bits))]       # distinct single bits


def test_python_messages_cover_every_check_bit():
    assert sorted(bit for bit, _, _ in _glm._CHECK_MESSAGES) == sorted(
        _glm_kernels.CHECK_BITS.values())


def test_no_memory_is_the_headers():
    no_memory, = re.findall(r"#define LF_NO_MEMORY\s+(-?\d+)", HEADER.read_text())
    assert _glm_kernels.NO_MEMORY == int(no_memory) == -99


@pytest.mark.parametrize("name, bad", [
    ("X_NONFINITE", dict(X=np.nan)), ("Y_NONFINITE", dict(y=np.inf)),
    ("Y_SUPPORT", dict(y=2.0)), ("OFFSET_NONFINITE", dict(offset=np.nan)),
    ("WEIGHTS_INVALID", dict(weights=-1.0)), ("TRIALS_INVALID", dict(trials=1.5))])
def test_each_bad_input_sets_its_bit(name, bad):
    # the compiled check on one binomial problem with one bad entry: exactly its bit
    n, d = 6, 2
    X = np.ones((n, d))
    cols = dict(y=np.zeros(n), offset=np.zeros(n), weights=np.ones(n), trials=np.ones(n))
    (key, value), = bad.items()
    if key == "X":
        X[2, 1] = value
    else:
        cols[key][2] = value
    flags = np.zeros(1, dtype=np.intc)
    B = 1
    code, _ = _glm_kernels.fit(
        _glm_kernels.FAMILIES["binomial"], X, cols["y"], cols["offset"], cols["weights"],
        cols["trials"], np.array([0, n], dtype=np.int64), np.eye(d)[None],
        np.zeros(B, dtype=np.int64), np.zeros((1, d)), np.zeros(B, dtype=np.int64),
        np.empty(0), np.ones(B), np.empty((0, d)), 1e-10, 100, 1, 1, np.empty(0),
        np.empty(0, dtype=np.intc), flags, np.empty((B, d)),
        np.empty((B, d, d)), np.empty((B, d, d)), np.empty(B), np.empty(B),
        np.empty(B, dtype=np.intc), np.empty(B, dtype=np.intc), np.empty(B, dtype=np.intc),
        np.empty(B), np.empty(B, dtype=np.int64))
    assert code == _glm_kernels.FIT_BAD_DATA
    assert int(flags[0]) == _glm_kernels.CHECK_BITS[name]


def test_family_codes_come_from_the_one_c_list():
    header = (HEADER.parents[1] / "glm" / "glm_families.h").read_text()
    rows = re.findall(r'X\((\w+), \w+, "(\w+)"\)', header)
    assert _glm_kernels.FAMILIES == {name: code for code, (_, name) in enumerate(rows)}
    assert tuple(_glm_kernels.FAMILIES) == lf.FAMILIES        # the Python layer's names


def test_hooks_are_not_in_the_production_extension():
    for hook in ("elementary", "segment_curvature", "armijo_from_curvature", "ELEMENTARY"):
        assert not hasattr(_glm_kernels, hook)
        assert hasattr(_glm_testing, hook)
