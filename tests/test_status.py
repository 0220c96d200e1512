"""The status codes of the C header, the compiled core and the Python enum agree, and
the warning that summarises them."""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

import laplace_fast as lf
from laplace_fast import _core
from laplace_fast._status import STATUS_MESSAGES, warn_statuses

HEADER = Path(__file__).resolve().parents[1] / "src" / "common" / "lf_status.h"


def test_header_matches_enum():
    codes = dict(re.findall(r"#define LF_(\w+)\s+(-?\d+)", HEADER.read_text()))
    assert int(codes.pop("CALLBACK_ERROR")) == -100 and int(codes.pop("NO_MEMORY")) == -99
    codes.pop("STATUS_H", None)
    codes = {k: v for k, v in codes.items() if not k.startswith("CHECK_")}   # data-check bits
    assert {k: int(v) for k, v in codes.items()} == {s.name: int(s) for s in lf.Status}


def test_core_matches_enum():
    assert _core.STATUS_CODES == {s.name: int(s) for s in lf.Status if s.name in
                                  _core.STATUS_CODES}
    assert set(_core.STATUS_CODES) <= {s.name for s in lf.Status}


def test_every_status_has_a_message():
    assert set(STATUS_MESSAGES) == set(lf.Status)


def _warning_text(status, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warn_statuses(status, **kw)
    assert [w.category for w in caught] == [lf.LaplaceWarning]
    return str(caught[0].message)


def test_warning_counts_each_status_and_names_the_first_five_problems():
    status = np.zeros((3, 4), dtype=np.intc)
    status[0, 1] = status[2, 3] = -2
    status.reshape(-1)[[2, 4, 5, 6, 7, 9]] = 3
    assert _warning_text(status) == (
        "8 of 12 problems: 2 with status -2 (NO_PROGRESS) at [(0, 1), (2, 3)]; "
        "6 with status 3 (EXTREME_PREDICTOR) at [(0, 2), (1, 0), (1, 1), (1, 2), (1, 3), "
        "...]")
    assert _warning_text(status.reshape(-1)) == (
        "8 of 12 problems: 2 with status -2 (NO_PROGRESS) at [1, 11]; "
        "6 with status 3 (EXTREME_PREDICTOR) at [2, 4, 5, 6, 7, ...]")
    # the indices of the non-zero entries given, in any order (the batch loop's list)
    shuffled = np.array([9, 11, 2, 7, 1, 6, 4, 5])
    assert _warning_text(status.reshape(-1), nonzero=shuffled) == (
        "8 of 12 problems: 2 with status -2 (NO_PROGRESS) at [1, 11]; "
        "6 with status 3 (EXTREME_PREDICTOR) at [2, 4, 5, 6, 7, ...]")
    assert _warning_text(status, nonzero=shuffled) == (
        "8 of 12 problems: 2 with status -2 (NO_PROGRESS) at [(0, 1), (2, 3)]; "
        "6 with status 3 (EXTREME_PREDICTOR) at [(0, 2), (1, 0), (1, 1), (1, 2), (1, 3), "
        "...]")
    assert _warning_text(np.array(-6)) == (
        f"status -6 (SINGULAR): {STATUS_MESSAGES[lf.Status.SINGULAR]}")


@pytest.mark.parametrize("status", [np.zeros(5, dtype=np.intc), np.array(0)])
def test_no_warning_when_every_problem_succeeded(status):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_statuses(status)
        warn_statuses(np.zeros(5, dtype=np.intc), nonzero=np.empty(0, dtype=np.int64))
