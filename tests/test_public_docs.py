"""Every public name has a docstring whose examples run: a table of how many examples
each one's own docstring has at least, so that an emptied docstring fails."""

import doctest

import pytest

import laplace_fast as lf

MIN_EXAMPLES = {
    "gradient": 4, "hessian": 7, "find_map": 5, "laplace": 5, "laplace_batch": 7,
    "glm_laplace": 17, "LaplaceResult": 8, "BatchLaplaceResult": 7, "MapResult": 3,
    "GLMLaplaceResult": 6, "BatchGLMLaplaceResult": 5, "Status": 5, "LaplaceWarning": 5,
    "LaplaceError": 5, "prepare_glm": 5, "fit_glm": 8, "GLMData": 5,
    "glmm_laplace": 10, "GlmmResult": 8,
    "ImportanceResult": 4, "laplace_mixture": 9, "MixtureResult": 8,
    "plot": 14,
}


def test_table_covers_all():
    assert sorted(MIN_EXAMPLES) == sorted(lf.__all__)


@pytest.mark.parametrize("name", sorted(MIN_EXAMPLES))
def test_public_examples_run(name):
    obj = getattr(lf, name)
    assert obj.__doc__ and "Examples\n" in obj.__doc__
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    own = None
    for test in doctest.DocTestFinder().find(obj, name, globs={}):
        failed, attempted = runner.run(test)
        assert failed == 0, test.name
        if test.name == name:
            own = attempted
    assert own is not None and own >= MIN_EXAMPLES[name]
