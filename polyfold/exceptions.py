"""Exceptions raised by polyfold.

Every error polyfold raises is a :class:`PolyfoldError`.  Each subclass also
inherits the matching built-in exception (``ValueError``, ``TypeError``,
``RuntimeError``, ``ImportError``), so ``except ValueError`` keeps working for
callers that do not know polyfold (the scikit-learn convention).

Messages name the argument, what was expected, what arrived and how to fix it.
"""

__all__ = [
    "PolyfoldError",
    "ValidationError",
    "ShapeError",
    "NonFiniteError",
    "DegenerateInputError",
    "DomainError",
    "UnsupportedLayerError",
    "SolverError",
    "NotInjectiveError",
    "DependencyError",
    "ChunkError",
    "EmptyPolytopeError",
    "UnboundedRadiusError",
    "MainGuardError",
    "PolyfoldWarning",
]


class PolyfoldError(Exception):
    """Base class of every error raised by polyfold."""


class ValidationError(PolyfoldError, ValueError):
    """An argument has the wrong value, type or dtype."""


class ShapeError(ValidationError):
    """An array argument has the wrong shape (the message gives the expected one)."""


class NonFiniteError(ValidationError):
    """An array argument contains NaN or infinity."""


class DegenerateInputError(ValidationError):
    """The input defines a degenerate object (parallel slice directions, ...)."""


class DomainError(ValidationError):
    """A domain is empty, inverted, unbounded where a bounded one is needed, or
    a point lies outside it."""


class UnsupportedLayerError(PolyfoldError, TypeError):
    """A layer, module or activation that polyfold cannot represent exactly."""


class SolverError(PolyfoldError, RuntimeError):
    """A linear or conic program failed; ``status`` holds the solver's status."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class NotInjectiveError(PolyfoldError, ValueError):
    """A reconstruction was asked for where the active rows do not span."""


class DependencyError(PolyfoldError, ImportError):
    """An optional dependency is missing; the message says what to install."""


class ChunkError(PolyfoldError, RuntimeError):
    """A chunk of a sweep failed twice; ``chunk_id`` names it."""

    def __init__(self, message, chunk_id=None):
        super().__init__(message)
        self.chunk_id = chunk_id


class EmptyPolytopeError(DomainError):
    """The polytope ``{x : A x + c >= 0}`` is empty (a :class:`DomainError`)."""


class UnboundedRadiusError(DomainError):
    """A Chebyshev (insphere) radius is unbounded: the region or polytope contains
    arbitrarily large balls.  The fix is a bounded domain (``domain=(lower, upper)``
    for regions and statistics, ``bounds=`` for raw polytopes)."""


class MainGuardError(PolyfoldError, RuntimeError):
    """Worker processes were asked for while a spawned child re-imports the main
    script: the script starts parallel work at module level, without
    ``if __name__ == "__main__":``.  The message shows the fix."""


class PolyfoldWarning(UserWarning):
    """Base class of the warnings polyfold issues (e.g. a poorly trained zoo network)."""
