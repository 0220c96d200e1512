"""The status codes of the C header, the compiled core and the Python enum agree."""

import re
from pathlib import Path

import laplace_fast as lf
from laplace_fast import _core
from laplace_fast._status import STATUS_MESSAGES

HEADER = Path(__file__).resolve().parents[1] / "src" / "lf_status.h"


def test_header_matches_enum():
    codes = dict(re.findall(r"#define LF_(\w+)\s+(-?\d+)", HEADER.read_text()))
    codes.pop("CALLBACK_ERROR")
    codes.pop("STATUS_H", None)
    assert {k: int(v) for k, v in codes.items()} == {s.name: int(s) for s in lf.Status}


def test_core_matches_enum():
    assert _core.STATUS_CODES == {s.name: int(s) for s in lf.Status if s.name in
                                  _core.STATUS_CODES}
    assert set(_core.STATUS_CODES) <= {s.name for s in lf.Status}


def test_every_status_has_a_message():
    assert set(STATUS_MESSAGES) == set(lf.Status)
