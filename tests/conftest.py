"""Session-wide test settings."""

import pytest

from laplace_fast import _glm_testing


@pytest.fixture(autouse=True, scope="session")
def threads_inside_small_problems():
    """A problem fitted alone uses threads inside it only from a size up (a speed
    threshold, no effect on results); the tests lower it to 0 so that their small
    problems reach that threaded path, and its bits are checked against one thread."""
    old = _glm_testing.set_inner_min(0)
    yield
    _glm_testing.set_inner_min(old)
