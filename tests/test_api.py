"""Tests of the tests: the public API resolves, is documented, and errors are well-formed."""

import importlib
import inspect

import numpy as np
import pytest

import polyfold
from polyfold import exceptions
from polyfold.tolerance import DEFAULT_TOL, Tolerance, get_tol, sign3


@pytest.mark.parametrize("name", sorted(polyfold._EXPORTS))
def test_public_name_resolves_and_is_documented(name):
    obj = getattr(polyfold, name)
    if inspect.isclass(obj) or inspect.isfunction(obj):
        doc = inspect.getdoc(obj)
        assert doc and len(doc) > 20, f"{name} needs a docstring"


@pytest.mark.parametrize("module", sorted(polyfold._SUBMODULES))
def test_submodules_import_without_heavy_side_effects(module):
    try:
        mod = importlib.import_module(f"polyfold.{module}")
    except ImportError as err:  # optional modules must say what to install
        assert isinstance(err, exceptions.DependencyError), err
        return
    assert mod.__doc__, f"polyfold.{module} needs a module docstring"
    for name in getattr(mod, "__all__", []):
        assert hasattr(mod, name), f"polyfold.{module}.__all__ lists missing {name}"


def test_public_functions_have_numpydoc_sections():
    for name in ("segment_crossings", "space_folding", "slice_complex", "maximal_bias",
                 "region_statistics", "insphere", "region_of"):
        doc = inspect.getdoc(getattr(polyfold, name))
        assert "Parameters" in doc and "Returns" in doc, name


def test_every_exception_is_a_polyfold_error_and_a_builtin():
    builtins = (ValueError, TypeError, RuntimeError, ImportError)
    for name in exceptions.__all__:
        cls = getattr(exceptions, name)
        if issubclass(cls, Warning):  # warnings: PolyfoldWarning and its subclasses
            assert issubclass(cls, exceptions.PolyfoldWarning) and issubclass(cls, UserWarning)
            continue
        assert issubclass(cls, exceptions.PolyfoldError)
        if cls is not exceptions.PolyfoldError:
            assert issubclass(cls, builtins), name


def test_solver_error_carries_status():
    err = exceptions.SolverError("LP failed", status=2)
    assert err.status == 2 and isinstance(err, RuntimeError)
    assert exceptions.ChunkError("x", chunk_id=7).chunk_id == 7


def test_dir_lists_public_names():
    assert "segment_crossings" in dir(polyfold)
    with pytest.raises(AttributeError):
        polyfold.no_such_name


def test_tolerance_object():
    assert get_tol(None) is DEFAULT_TOL
    t = Tolerance(zero=1e-6)
    assert get_tol(t) is t and t.replace(merge=0.0).merge == 0.0
    with pytest.raises(exceptions.ValidationError, match="Tolerance.zero"):
        Tolerance(zero=-1.0)
    with pytest.raises(exceptions.ValidationError, match="polyfold.Tolerance"):
        get_tol(1e-9)
    assert sign3(np.array([-1.0, -1e-12, 0.0, 1e-12, 2.0]), 1e-9).tolist() == [-1, 0, 0, 0, 1]


def test_exact_rank_and_fractions():
    from fractions import Fraction

    from polyfold import arith

    # rows of a 3x3 matrix with an exact dependency that float rank tests can miss
    M = np.array([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6], [0.7, 0.8, 0.9]])
    # exact values of these binary floats are NOT dependent (0.1 etc. are not tenths)
    assert arith.exact_rank(M) == 3
    assert arith.exact_rank([[1.0, 2.0], [2.0, 4.0]]) == 1
    assert arith.to_fraction(arith.to_fmpq(0.5)) == Fraction(1, 2)
    assert arith.to_fraction(arith.to_fmpq(0.1)) == Fraction(0.1)
