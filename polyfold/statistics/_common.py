"""Helpers shared by :mod:`polyfold.statistics`: domain boxes, read-only arrays and
errors that name the failing item (private; progress bars: :mod:`polyfold._progress`)."""


import numpy as np

from .. import _lp
from ..exceptions import DomainError, SolverError, ValidationError


# ---------------------------------------------------------------------------
# domain handling
# ---------------------------------------------------------------------------
def _domain_rows(domain, d, name="domain"):
    """Rows ``(A_box, c_box)`` of a domain box, or ``None`` for no domain.

    ``domain`` is ``None`` or a pair ``(lower, upper)`` of scalars or ``(d,)``
    arrays.  The first ``d`` rows are ``x_k - lower_k >= 0``, the next ``d``
    ``upper_k - x_k >= 0``.
    """
    if domain is None:
        return None
    if isinstance(domain, (str, bytes)) or not hasattr(domain, "__len__") or len(domain) != 2:
        raise ValidationError(
            f"{name} must be None or a pair (lower, upper) of scalars or ({d},) arrays, "
            f"got {domain!r}; use {name}=(0, 1) for the unit box."
        )
    lower, upper = domain
    for side, v in (("lower", lower), ("upper", upper)):
        if v is None or _is_bool(v):
            raise ValidationError(
                f"{name} {side} must be a number or a ({d},) array of numbers, got {v!r}; "
                f"use {name}=(0, 1) for the unit box."
            )
    return _lp.box_rows(lower, upper, d, name=name)


def _is_bool(v):
    """Whether ``v`` is a bool or an array of bools (False for anything unreadable:
    the box check reports that)."""
    try:
        return np.asarray(v).dtype.kind == "b"
    except Exception:  # ragged lists and the like
        return False


def _domain_bounds(domain, d, name="domain"):
    """``(lower (d,), upper (d,))`` of a validated domain box, or ``None``."""
    rows = _domain_rows(domain, d, name)
    if rows is None:
        return None
    _, cb = rows
    return -cb[:d], cb[d:]



def _readonly(a, dtype=np.float64):
    a = np.array(a, dtype=dtype, copy=True)
    a.setflags(write=False)
    return a



def _reraise_indexed(err, prefix):
    msg = f"{prefix}: {err}"
    if isinstance(err, SolverError):
        return SolverError(msg, status=err.status)
    try:
        return type(err)(msg)
    except Exception:  # pragma: no cover - exotic subclasses
        return DomainError(msg)

