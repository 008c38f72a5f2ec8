"""Run the docstring examples of every polyfold module (also other engineers' ones).

A module that does not import (not written yet, or an optional dependency missing)
is skipped with the reason; every other module must pass all its examples.
"""

import doctest
import importlib
import pkgutil

import matplotlib
import pytest

import polyfold

matplotlib.use("Agg")

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(polyfold.__path__, "polyfold.", onerror=lambda n: None)
    if not m.name.endswith("__main__")
)
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def test_module_list_is_complete():
    # every module the package advertises is checked (and the package itself)
    for name in polyfold._SUBMODULES:
        path = f"polyfold.{name}"
        if importlib.util.find_spec(path) is not None:
            assert path in MODULES


@pytest.mark.parametrize("name", ["polyfold"] + MODULES)
def test_docstring_examples(name):
    try:
        module = importlib.import_module(name)
    except ImportError as err:
        pytest.skip(f"{name} does not import: {err}")
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    tests = [t for t in finder.find(module, name) if t.examples]  # globs: the module
    # only the module's own objects (re-exported ones are tested in their module)
    tests = [t for t in tests if _defined_here(t, module)]
    if not tests:
        return  # nothing to run (not a failure: private helpers need no examples)
    failures = []
    for t in sorted(tests, key=lambda t: t.name):
        res = runner.run(t, out=lambda s: failures.append(s))
        assert res.attempted > 0
    assert runner.failures == 0, "".join(failures)


def _defined_here(test, module):
    obj_name = test.name.rsplit(".", 1)[-1]
    if test.name == module.__name__:
        return True
    obj = module
    for part in test.name[len(module.__name__) + 1:].split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return True
    owner = getattr(obj, "__module__", None)
    if owner is None and hasattr(obj, "fget"):  # properties
        owner = getattr(obj.fget, "__module__", None)
    return owner is None or owner == module.__name__ or obj_name.startswith("_")
