"""The results' one batch-aware base: every field declared on all four result classes
(a single problem the 0-d batch), the methods written once, and a batch's problem equal
to the same problem fitted alone, field by field."""

import doctest

import numpy as np
import pytest

import laplace_fast as lf
from laplace_fast import _glm_results, _result

FIELDS = ("mode", "hessian", "cov", "log_det_cov", "logp", "status", "niter", "nfev",
          "cond", "grad", "hessian_error", "regularization", "labels", "message",
          "converged", "batch_shape", "d", "std", "precision", "log_evidence")
GLM_FIELDS = ("family", "param_names", "scale", "dispersion", "improper_prior",
              "prior_precision", "evidence_at_bound")
METHODS = ("sample", "logpdf", "interval", "to_scipy", "_require", "summary",
           "to_dataframe")


def _gaussian_fits():
    mu = np.array([[0.0, 1.0], [2.0, -1.0]])
    single = lf.laplace(lambda t: -0.5 * np.sum((t - mu[1]) ** 2), np.zeros(2))
    batch = lf.laplace_batch(lambda t: -0.5 * np.sum((t - mu) ** 2, axis=1), np.zeros((2, 2)))
    return single, batch


def _glm_fits():
    rng = np.random.default_rng(4)
    X = np.concatenate([np.ones((3, 30, 1)), rng.standard_normal((3, 30, 1))], axis=-1)
    y = X @ [0.5, -1.0] + rng.standard_normal((3, 30)) * [[0.5], [1.0], [2.0]]
    scale = np.array([0.5, 1.0, 2.0])
    batch = lf.glm_laplace(X, y, family="gaussian", scale=scale)
    single = lf.glm_laplace(X[2], y[2], family="gaussian", scale=2.0)
    return single, batch


def test_every_field_is_declared_on_all_four():
    single, batch = _gaussian_fits()
    gsingle, gbatch = _glm_fits()
    for r in (single, batch, gsingle, gbatch):
        for name in FIELDS:
            getattr(r, name)
    for r in (gsingle, gbatch):
        for name in GLM_FIELDS:
            getattr(r, name)
    # what a GLM fit does not estimate is None, not missing
    assert gsingle.grad is None and gsingle.hessian_error is None
    assert gsingle.dispersion is None and gsingle.labels is None
    assert lf.glm_laplace(gsingle_x(), [0, 1, 1, 0]).scale is None


def gsingle_x():
    return np.column_stack([np.ones(4), [-1.0, 0.0, 1.0, 2.0]])


def test_single_scalars_are_python_scalars():
    single, _ = _gaussian_fits()
    gsingle, _ = _glm_fits()
    for r in (single, gsingle):
        assert type(r.status) is lf.Status
        for name in ("log_det_cov", "logp", "cond", "regularization", "log_evidence"):
            assert type(getattr(r, name)) is float, name
        assert type(r.niter) is int and type(r.nfev) is int
        assert type(r.converged) is bool and r.batch_shape == ()
    assert type(gsingle.scale) is float and type(gsingle.improper_prior) is bool


def test_methods_are_written_once():
    base = _result._GaussianResult
    for name in METHODS + ("std", "log_evidence", "message", "converged", "__repr__"):
        for cls in (lf.LaplaceResult, lf.BatchLaplaceResult, lf.GLMLaplaceResult,
                    lf.BatchGLMLaplaceResult):
            assert getattr(cls, name) is getattr(base, name), (cls.__name__, name)


def test_no_setattr_extras():
    single, batch = _gaussian_fits()
    for r in (single, batch):
        assert not hasattr(r, "_extra")
    with pytest.raises(TypeError):
        lf.LaplaceResult(np.zeros(1), -np.eye(1), np.eye(1), 0.0, 0.0, 0, 1, 1, "m",
                         unknown_field=1.0)


def test_batch_problem_is_the_single_fit():
    gsingle, gbatch = _glm_fits()
    one = gbatch[2]
    assert type(one) is lf.GLMLaplaceResult
    for name in ("mode", "hessian", "cov", "log_det_cov", "logp", "status", "niter",
                 "nfev", "cond", "scale", "family", "improper_prior", "message"):
        assert np.array_equal(getattr(one, name), getattr(gsingle, name)), name
        assert type(getattr(one, name)) is type(getattr(gsingle, name)), name
    sub = gbatch[1:]
    assert type(sub) is lf.BatchGLMLaplaceResult and sub.scale.tolist() == [1.0, 2.0]
    # the gaussian evidence is exact: the marginal of y is N(0, s^2 I + X X' / alpha)
    from scipy import stats
    rng = np.random.default_rng(4)
    X = np.concatenate([np.ones((3, 30, 1)), rng.standard_normal((3, 30, 1))], axis=-1)
    y = X @ [0.5, -1.0] + rng.standard_normal((3, 30)) * [[0.5], [1.0], [2.0]]
    ref = stats.multivariate_normal(np.zeros(30), 4.0 * np.eye(30) + X[2] @ X[2].T).logpdf(y[2])
    assert one.log_evidence == pytest.approx(ref, rel=1e-10)


def test_predict_var_reads_the_per_problem_scale():
    gsingle, gbatch = _glm_fits()
    x = np.array([1.0, 0.3])
    _, var = gbatch.predict(x, return_var=True)
    _, v1 = gsingle.predict(x, return_var=True)
    m, v = gbatch.linear_predictor(x)
    np.testing.assert_allclose(var, v + np.array([0.5, 1.0, 2.0]) ** 2, rtol=1e-15)
    assert float(v1) == pytest.approx(float(var[2]), rel=1e-15)


@pytest.mark.parametrize("owner", [_result._GaussianResult, _glm_results._GLMResult])
def test_base_method_examples_run(owner):
    """The methods' examples live on the bases, which the public-name table does not
    reach: run them here, and require some."""
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    attempted = 0
    for test in doctest.DocTestFinder().find(owner, owner.__name__, globs={}):
        failed, n = runner.run(test)
        assert failed == 0, test.name
        attempted += n
    assert attempted >= (20 if owner is _result._GaussianResult else 8)


def test_flat_prior_failure_messages():
    """A column of zeros under a flat prior: the posterior is improper there, and both
    the problem's message and the batch's count say so."""
    X = np.column_stack([np.ones(6), np.zeros(6)])
    y = [0, 1, 1, 0, 1, 0]
    with pytest.warns(lf.LaplaceWarning, match="may be improper"):
        one = lf.glm_laplace(X, y, prior_precision=[1.0, 0.0])
    assert one.status == lf.Status.SINGULAR and one.improper_prior
    assert one.message.endswith("so the posterior may be improper: give that direction "
                                "a positive prior_precision")
    with pytest.warns(lf.LaplaceWarning):
        batch = lf.glm_laplace(np.stack([X, X]), [y, y], prior_precision=[1.0, 0.0])
    assert batch.message.endswith("; 2 failed where the prior is flat (zero precision) in a "
                                  "direction the data may not identify: give it a positive "
                                  "prior_precision")
    assert batch[1].message == one.message


def test_each_status_message_is_written_once():
    import pathlib
    from laplace_fast._status import STATUS_MESSAGES
    src = "".join(p.read_text() for p in pathlib.Path(lf.__file__).parent.glob("*.py"))
    for code, text in STATUS_MESSAGES.items():
        words = " ".join(text.split()[:5])
        assert src.count(f'"{words}') == 1, code
