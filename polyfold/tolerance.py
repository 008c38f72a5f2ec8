"""The one tolerance object that every floating-point decision consults.

polyfold never compares floats against inline literals such as ``1e-9``.
Every function that makes a float decision takes ``tol=None`` (meaning
:data:`DEFAULT_TOL`) or a :class:`Tolerance`.

Exact mode ignores tolerances: every decision there is made in rationals.
"""

from dataclasses import dataclass, replace

import numpy as np

__all__ = ["Tolerance", "DEFAULT_TOL", "get_tol", "sign3"]

#: unit roundoff of float64
UNIT_ROUNDOFF = np.finfo(np.float64).eps / 2


@dataclass(frozen=True)
class Tolerance:
    """Tolerances for float-mode decisions.

    Parameters
    ----------
    zero : float
        Relative band for three-valued signs in ``mode="float"``: a
        preactivation ``z`` counts as equal to a threshold when
        ``|z - theta| <= zero * scale`` where ``scale`` is the largest
        magnitude of that neuron's preactivations in the batch (the chunk of
        ``chunk_size`` segments computed together).  So a value within
        ``zero * scale`` of a threshold can be decided differently with another
        ``chunk_size`` or other segments in the same call; certified mode does
        not depend on either.
    merge : float
        Two breakpoints of one segment closer than ``merge`` (in the segment
        parameter ``t`` in [0, 1]) are one breakpoint in ``mode="float"``.
    safety : float
        Factor applied to the rounding-error bounds of ``mode="certified"``.
    lp : float
        Feasibility / optimality tolerance used when interpreting LP results
        (redundancy of a facet, emptiness of a region).
    rank : float
        Relative singular-value cutoff for float rank tests.
    """

    zero: float = 1e-9
    merge: float = 1e-12
    safety: float = 8.0
    lp: float = 1e-9
    rank: float = 1e-10

    def __post_init__(self):
        for name in ("zero", "merge", "safety", "lp", "rank"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and np.isfinite(v) and v >= 0):
                from .exceptions import ValidationError

                raise ValidationError(
                    f"Tolerance.{name} must be a finite number >= 0, got {v!r}; "
                    f"use Tolerance({name}=1e-9) or leave the default."
                )

    def replace(self, **changes):
        """Return a copy with some fields changed."""
        return replace(self, **changes)


DEFAULT_TOL = Tolerance()


def get_tol(tol=None):
    """Return ``tol`` itself, or :data:`DEFAULT_TOL` when it is None."""
    if tol is None:
        return DEFAULT_TOL
    if not isinstance(tol, Tolerance):
        from .exceptions import ValidationError

        raise ValidationError(
            f"tol must be a polyfold.Tolerance or None, got {type(tol).__name__}; "
            "use polyfold.Tolerance(zero=1e-9)."
        )
    return tol


def sign3(z, band):
    """Three-valued sign: -1, 0 or +1 with values inside ``[-band, band]`` as 0.

    Parameters
    ----------
    z : ndarray
    band : float or ndarray broadcastable to ``z``

    Returns
    -------
    ndarray of int8
    """
    z = np.asarray(z)
    s = np.zeros(z.shape, np.int8)
    s[z > band] = 1
    s[z < -np.asarray(band)] = -1
    return s
