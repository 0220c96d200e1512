"""The GLM families as units of the C engine: one header per row of the family list,
every point function defined there (or by its "none" form), no family named outside its
header and the list, and the sigmoid families' curvature bound against its closed form for
every row count (each remainder of the eight partial sums)."""

import re
from pathlib import Path

import numpy as np
import pytest

from laplace_fast import _glm_kernels as K
from laplace_fast import _glm_testing as T

GLM = Path(__file__).resolve().parents[1] / "src" / "glm"
POINT_FUNCTIONS = ("terms", "values", "block_value", "start", "value_bound", "curvature",
                   "constant", "support", "extreme", "third", "param")
REQUIRED = ("terms", "start", "support", "third")
NONE_FORM = {"values": "LF_NO_VALUES", "block_value": "LF_NO_BLOCK_VALUE",
             "value_bound": "LF_NO_VALUE_BOUND", "curvature": "LF_NO_CURVATURE",
             "constant": "LF_NO_CONSTANT", "extreme": "LF_NO_EXTREME", "param": "LF_NO_PARAM"}


def _rows():
    text = (GLM / "glm_families.h").read_text()
    return text, re.findall(r'X\((\w+), (\w+), "(\w+)"\)', text)


def test_every_row_has_its_header_with_all_its_point_functions():
    text, rows = _rows()
    assert [name for _, _, name in rows] == list(K.FAMILIES)
    for code, fid, _ in rows:
        header = GLM / "families" / f"{fid}.h"
        assert f'#include "families/{fid}.h"' in text
        src = header.read_text()
        assert src.startswith("/* ") and " l = " in src.split("*/")[0]    # its formulas
        for fn in POINT_FUNCTIONS:
            defined = (re.search(rf"\blf_{fid}_{fn}\(", src)        # or by a shared form
                       or re.search(rf"\bLF_\w+_{fn.upper()}S?\({fid}\b", src))
            none = fn in NONE_FORM and f"{NONE_FORM[fn]}({fid})" in src
            assert defined or none, f"{header.name}: lf_{fid}_{fn}"
            if fn in REQUIRED:
                assert not none


def test_no_family_is_named_outside_its_header_and_the_list():
    _, rows = _rows()
    codes = "|".join(f"LF_{code}" for code, _, _ in rows)
    for path in GLM.glob("*.h"):
        hits = re.findall(rf"\b({codes})\b", path.read_text())
        assert not hits, f"{path.name} names {sorted(set(hits))}"


@pytest.mark.parametrize("family", ["logistic", "binomial", "negative_binomial"])
def test_sigmoid_curvature_bound_is_its_closed_form_at_every_row_count(family):
    # sum_i wt_i t_i min(e_i, 1/4) (eta1_i - eta0_i)^2, e_i the larger exp(-|x|) of the
    # two ends, 1 where x changes sign: every row of every partial sum counted once
    rng = np.random.default_rng(21)
    alpha = 0.7
    shift = np.log(1 / alpha) if family == "negative_binomial" else 0.0
    for n in range(1, 41):
        eta0, eta1 = rng.normal(0, 2, n), rng.normal(0, 2, n)
        y = rng.integers(0, 4, n).astype(float)
        trials = y + rng.integers(0, 3, n)
        t = {"logistic": np.ones(n), "binomial": trials,
             "negative_binomial": y + 1 / alpha}[family]
        if family == "logistic":
            y = np.minimum(y, 1.0)
        weights = rng.random(n) * 2
        e0, e1 = np.exp(-np.abs(eta0 - shift)), np.exp(-np.abs(eta1 - shift))
        e = np.where((eta0 - shift) * (eta1 - shift) > 0, np.maximum(e0, e1), 1.0)
        ref = np.sum(weights * t * np.minimum(e, 0.25) * (eta1 - eta0) ** 2)
        got = T.segment_curvature(K.FAMILIES[family], y, eta0, eta1, weights=weights,
                                  trials=trials, dispersion=alpha)
        assert got == pytest.approx(ref, rel=1e-13), n
