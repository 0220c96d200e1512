"""Mid-sized GLMs (d from 9 to 64): the transposed layout's register-tiled Hessian
(lf_hess_block), whose tail tiles handle d not a multiple of four, against a plain numpy
damped Newton (test_glm.reference_fit); and its bits for any n_threads and for a problem
alone or inside a batch."""

import os
import sys
import warnings

import numpy as np
import pytest

import laplace_fast as lf

sys.path.insert(0, os.path.dirname(__file__))
from test_glm import make_data, reference_fit  # noqa: E402  (the numpy reference)


def _fit(X, y, family, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", lf.LaplaceWarning)
        return lf.glm_laplace(X, y, family=family, **kw)


# every tail of the 4 x 2 tiles: d mod 4 in 0..3, with small n (fewer rows than pairs
# of features) and more than one block of rows (n > 256)
@pytest.mark.parametrize("family,n,d", [("logistic", 50, 9), ("poisson", 20, 10),
                                        ("logistic", 60, 11), ("poisson", 300, 13),
                                        ("logistic", 400, 32), ("poisson", 120, 23)])
def test_midsize_against_numpy_reference(family, n, d):
    X, y, _ = make_data(family, n=n, d=d, seed=100 + d)
    X[:, 1:] /= np.sqrt(d)
    res = _fit(X, y, family)
    assert res.status == 0
    w, cov, L, ev = reference_fit(X, y, family)
    np.testing.assert_allclose(res.mode, w, rtol=0, atol=1e-9)
    np.testing.assert_allclose(res.cov, cov, rtol=1e-8, atol=1e-12)
    assert abs(res.log_evidence - ev) <= 1e-10 * abs(ev)


def test_midsize_bits_threads_and_batch():
    X, y, _ = make_data("logistic", n=70, d=13, seed=5, batch=(7,))
    X[..., 1:] /= np.sqrt(13)
    one = _fit(X, y, "logistic", n_threads=1)
    two = _fit(X, y, "logistic", n_threads=2)
    alone = _fit(X[3], y[3], "logistic", n_threads=2)
    for f in ("mode", "cov", "logp", "log_evidence"):
        assert np.array_equal(getattr(one, f), getattr(two, f))
        assert np.array_equal(getattr(one, f)[3], getattr(alone, f))
