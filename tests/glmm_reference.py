"""The committed GLMM reference values of lme4 and glmmTMB (tests/reference/glmm/), for the
tests of glmm_laplace: the data of each named model as numpy arrays and the recorded fits.

A helper module, not a test.  Usage from a test file::

    sys.path.insert(0, os.path.dirname(__file__))
    from glmm_reference import MODELS, load_model

    X, Z, y, groups, trials, ref = load_model("cbpp_binomial")
    fit = ref["fits"]["glmmTMB"]          # fit["logLik"], fit["fixef"], fit["Sigma"], ...

Every recorded fit uses eta = X beta + Z b_g, b_g ~ N(0, Sigma) independent across groups,
Sigma on the scale of b.  In a fit, the vectors and matrices (``fixef``, ``Sigma``,
``vcov``/``vcov_hessian``/``vcov_conditional``, ``theta_lme4``, ``ranef["modes"]`` (G, q),
``ranef["cond_cov"]`` (G, q, q)) are numpy arrays; ``ranef["labels"]`` names the groups in
the order of those rows.  tests/reference/glmm/README.md says what each field is.
"""

import functools
import json
import os

import numpy as np

REF_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference", "glmm")

MODELS = ("cbpp_binomial", "grouseticks_poisson", "grouseticks_nbinom2", "sleepstudy_full",
          "sleepstudy_diag", "simulated_logistic_slope")

_ARRAYS = ("fixef", "Sigma", "vcov", "vcov_hessian", "vcov_conditional", "theta_lme4")


@functools.lru_cache(maxsize=None)
def _reference():
    with open(os.path.join(REF_DIR, "reference.json")) as f:
        return json.load(f)


def versions():
    """The versions of R, lme4, glmmTMB, TMB, Matrix and jsonlite that wrote the values."""
    return dict(_reference()["versions"])


@functools.lru_cache(maxsize=None)
def _read_csv(relpath):
    path = os.path.join(REF_DIR, relpath)
    with open(path) as f:
        header = f.readline().rstrip("\n").split(",")
    cells = np.loadtxt(path, delimiter=",", dtype=str, skiprows=1, ndmin=2)
    return {name: cells[:, j] for j, name in enumerate(header)}


def _fit_arrays(fit):
    out = dict(fit)
    for key in _ARRAYS:
        if key in out:
            out[key] = np.asarray(out[key], dtype=float)
    re = dict(out["ranef"])
    re["modes"] = np.asarray(re["modes"], dtype=float)
    re["cond_cov"] = np.asarray(re["cond_cov"], dtype=float)
    re["labels"] = np.asarray(re["labels"], dtype=str)
    out["ranef"] = re
    return out


def load_model(name):
    """The data and reference fits of one model of MODELS.

    Returns
    -------
    X : ndarray (N, p)
        The fixed-effects design, columns ``ref["data"]["X_columns"]``.
    Z : ndarray (N, q)
        The random-effects design, columns ``ref["data"]["Z_columns"]``.
    y : ndarray (N,)
        The response (binomial: success counts).
    groups : ndarray (N,) of str
        The group label of each row.
    trials : ndarray (N,) or None
        Binomial trials; None for the other families.
    ref : dict
        The model's record: ``family`` (laplace_fast's family name), ``re_cov``
        ("full" or "diag"), ``formula``, ``data`` and ``fits`` (a dict of fits by name, e.g.
        "glmer_nagq1", "glmer_nagq10", "lmer_ml", "glmmTMB").
    """
    if name not in MODELS:
        raise ValueError(f"name must be one of {MODELS}, got {name!r}")
    ref = dict(_reference()["models"][name])
    ref["fits"] = {k: _fit_arrays(v) for k, v in ref["fits"].items()}
    d = ref["data"]
    cols = _read_csv(d["file"])
    X = np.column_stack([cols["X:" + c].astype(float) for c in d["X_columns"]])
    Z = np.column_stack([cols["Z:" + c].astype(float) for c in d["Z_columns"]])
    y = cols["y"].astype(float)
    trials = cols["trials"].astype(float) if d["has_trials"] else None
    return X, Z, y, cols["group"].copy(), trials, ref
