"""Run the generated bank of issue 20 and count silent wrong answers.

A silent wrong answer is a fit with status >= 0 whose mode, cov or log evidence
misses the reference beyond ``bank.tolerances``, except status 2
(HESSIAN_INACCURATE), which flags its own inaccuracy (counted as loud); or a status
>= 0 where no Gaussian approximation exists.  A status < 0 on a valid case is a loud
failure: printed and counted, and asserted absent for ``must_converge`` cases.  A
numpy RuntimeWarning escaping a fit is counted as a leak and asserted absent.

``LAPLACE_FAST_BANK=5000 python -m pytest -s tests/test_bank.py`` runs 5000
generated cases; the default is a few hundred.
"""

import collections
import os
import sys
import warnings

import numpy as np

import laplace_fast as lf

sys.path.insert(0, os.path.dirname(__file__))
from bank import make_bank, tolerances  # noqa: E402

N_CASES = int(os.environ.get("LAPLACE_FAST_BANK", "300"))


def _run(case, api):
    """One fit; returns (status, mode, cov, log_evidence, leaked warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", lf.LaplaceWarning)
        if api == "batch":
            r = lf.laplace_batch(case.batch_log_post, case.x0[None, :],
                                 hessian_method=case.hessian_method)[0]
        elif api == "find_map":
            r = lf.find_map(case.log_post, case.x0, method=case.method,
                            hessian_method=case.hessian_method)
        else:
            r = lf.laplace(case.log_post, case.x0, method=case.method,
                           hessian_method=case.hessian_method)
    leaks = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    if api == "find_map":
        return int(r.status), np.asarray(r.x), None, None, leaks
    return int(r.status), np.asarray(r.mode), np.asarray(r.cov), float(r.log_evidence), leaks


def _errors(case, mode, cov, ev):
    """(mode error in sd, relative cov error, evidence error) against the reference."""
    sd = np.sqrt(np.diag(case.cov))
    with np.errstate(all="ignore"):
        em = float(np.max(np.abs(mode - case.mode) / sd)) if np.all(np.isfinite(mode)) \
            else np.inf
        if cov is None:
            return em, 0.0, 0.0
        ec = float(np.linalg.norm(cov - case.cov) / np.linalg.norm(case.cov)) \
            if np.all(np.isfinite(cov)) else np.inf
        ee = abs(ev - case.log_evidence) if np.isfinite(ev) else np.inf
    return em, ec, ee


def _api(i, case):
    if case.batch_log_post is not None and case.method == "newton" and i % 3 == 0:
        return "batch"
    return "find_map" if i % 5 == 4 else "laplace"


def evaluate(cases):
    """Classify every fit; returns a dict category -> list of description lines."""
    out = collections.defaultdict(list)
    for i, case in enumerate(cases):
        api = _api(i, case)
        try:
            st, mode, cov, ev, leaks = _run(case, api)
        except Exception as exc:          # an exception on a valid input is a defect
            out["exception"].append(f"{case.name} [{case.family}] {api}: {exc!r}")
            continue
        where = (f"{case.name} [{case.family}] {api} {case.method}/{case.hessian_method} "
                 f"x0={case.x0.tolist()} f={case.formula}")
        if leaks:
            out["leaked RuntimeWarning"].append(f"{where}: {leaks[0]}")
        if not case.gaussian:
            if st >= 0:
                out["silent"].append(f"{where}: status {st} where no Gaussian exists, "
                                     f"mode {mode.tolist()}")
                out["silent:" + case.family].append(case.name)
            continue
        if st < 0:
            # the compiled Newton must converge there; a scipy method asked for by
            # name may give up (loudly), which is scipy's answer, reported as such
            key = ("loud must_converge" if case.must_converge and case.method == "newton"
                   else "loud")
            out[key].append(f"{where}: status {st}")
            continue
        cond = float(np.linalg.cond(case.cov))
        tm, tc, te = tolerances(case.hessian_method, cond, len(case.mode))
        em, ec, ee = _errors(case, mode, cov, ev)
        if em <= tm and ec <= tc and ee <= te:
            continue
        text = (f"{where}: status {st}; mode err {em:.3g} sd (tol {tm:g}), cov rel err "
                f"{ec:.3g} (tol {tc:.3g}), evidence err {ee:.3g} (tol {te:.3g}); got mode "
                f"{mode.tolist()} ev {ev} vs ref {case.mode.tolist()} ev {case.log_evidence}")
        if st == lf.Status.HESSIAN_INACCURATE:
            out["loud flagged"].append(text)
        else:
            out["silent"].append(text)
            out["silent:" + case.family].append(case.name)
    return out


def test_bank_has_no_silent_wrong_answers():
    cases = make_bank(N_CASES)
    out = evaluate(cases)
    counts = {k: len(v) for k, v in sorted(out.items())}
    print(f"\nbank: {len(cases)} cases; counts {counts}")
    for key in ("silent", "loud must_converge", "loud", "loud flagged", "exception",
                "leaked RuntimeWarning"):
        for line in out.get(key, []):
            print(f"  {key}: {line}")
    bad = {k: counts.get(k, 0) for k in ("silent", "leaked RuntimeWarning",
                                          "loud must_converge", "exception")}
    assert not any(bad.values()), f"{len(cases)} cases: {counts}"


def test_bank_references_are_stationary():
    # the references themselves: a zero gradient and the stated Hessian at the mode
    # (central differences of the case's own log_post at steps of 1e-3 sd)
    for case in make_bank(40):
        if not case.gaussian or case.family == "issue":
            continue
        sd = np.sqrt(np.diag(case.cov))
        h = 1e-3 * sd
        f0 = case.log_post(case.mode)
        for j in range(len(case.mode)):
            e = np.zeros(len(case.mode))
            e[j] = h[j]
            fp, fm = case.log_post(case.mode + e), case.log_post(case.mode - e)
            assert abs(fp - fm) / (2 * h[j]) * sd[j] < 1e-4 + 1e-9 * abs(f0), case.name
            prec = np.linalg.inv(case.cov)[j, j]
            assert abs(-(fp - 2 * f0 + fm) / h[j] ** 2 / prec - 1) < 1e-3 + 1e-6 * abs(f0) \
                / prec / h[j] ** 2, case.name
