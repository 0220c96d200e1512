"""scipy's submodules, imported at their first use; the optional extras' modules.

``import laplace_fast`` needs numpy, ``scipy`` itself (cheap; it brings
``scipy.LowLevelCallable``) and the compiled core.  ``scipy.optimize``, ``scipy.special``
and ``scipy.stats`` take 0.2-0.7 s each to import and serve only some calls, so a module
that uses one binds a :class:`LazyModule` to the usual name (``special =
LazyModule("scipy.special")``) and the import happens at the first attribute looked up.
"""

import importlib

__all__ = ["LazyModule", "optional_module"]


def optional_module(name, need, extra):
    """The module ``name`` of an optional extra, imported now, or an ImportError saying
    ``need`` (what needs it) and which extra installs it."""
    try:
        return importlib.import_module(name)
    except ImportError:
        raise ImportError(f"{need}: pip install laplace_fast[{extra}]") from None


class LazyModule:
    """Stands for the module ``name``; imports it when an attribute is first looked up."""

    __slots__ = ("_name", "_module")

    def __init__(self, name):
        self._name = name
        self._module = None

    def __getattr__(self, attr):
        # only called for names the proxy lacks, i.e. the module's own
        if self._module is None:
            self._module = importlib.import_module(self._name)
        return getattr(self._module, attr)

    def __repr__(self):
        return f"<lazily imported module {self._name!r}>"
