"""Exact rational arithmetic (python-flint ``fmpq``) next to the float64 kernels.

The float64 values of weights and points are exact binary rationals, so every
question polyfold answers has a well-defined exact answer.  This module turns
floats into ``fmpq`` without rounding and back, and holds small exact helpers
(object arrays of ``fmpq`` work with numpy's elementwise operators and
``@``).
"""

from fractions import Fraction

import numpy as np

try:  # python-flint is a hard dependency; the guard gives a clear message
    import flint
except ImportError as err:  # pragma: no cover - exercised only without flint
    from .exceptions import DependencyError

    raise DependencyError(
        "polyfold needs python-flint for exact arithmetic: pip install python-flint"
    ) from err

fmpq = flint.fmpq
fmpz = flint.fmpz

__all__ = [
    "fmpq",
    "to_fmpq",
    "fmpq_array",
    "to_fraction",
    "exact_and_float",
    "to_float_array",
    "exact_rank",
    "fmpq_matrix",
    "affine_exact",
]

ZERO = fmpq(0)
ONE = fmpq(1)


def to_fmpq(x):
    """Exact rational value of a float, int, Fraction or fmpq."""
    if isinstance(x, type(ZERO)):
        return x
    if isinstance(x, Fraction):
        return fmpq(x.numerator, x.denominator)
    if isinstance(x, (int, np.integer)):
        return fmpq(int(x))
    p, q = float(x).as_integer_ratio()
    return fmpq(p, q)


def fmpq_array(a):
    """Object array of ``fmpq`` holding the exact values of ``a``."""
    a = np.asarray(a)
    if a.dtype == object:
        flat = [to_fmpq(v) for v in a.ravel()]
    else:
        flat = [to_fmpq(v) for v in a.astype(np.float64).ravel().tolist()]
    out = np.empty(len(flat), dtype=object)
    out[:] = flat
    return out.reshape(a.shape)


def to_fraction(q):
    """``fractions.Fraction`` equal to an ``fmpq`` (or any rational)."""
    if isinstance(q, Fraction):
        return q
    if isinstance(q, type(ZERO)):
        return Fraction(int(q.p), int(q.q))
    return Fraction(q)


def exact_and_float(values):
    """``(tuple of Fraction, float64 array)`` of a sequence of rationals.

    The form in which exact results report parameters such as breakpoints: exact
    fractions for the user, nearest floats for plotting and bulk work.
    """
    exact = tuple(to_fraction(v) for v in values)
    return exact, np.array([float(v) for v in exact], dtype=np.float64)


def to_float_array(a):
    """Nearest float64 values of an object array of rationals."""
    a = np.asarray(a, dtype=object)
    return np.array([float(v) for v in a.ravel()], dtype=np.float64).reshape(a.shape)


def exact_rank(M):
    """Exact rank of a rational (or float, read exactly) matrix."""
    M = np.asarray(M)
    if M.size == 0:
        return 0
    Q = fmpq_array(M)
    mat = flint.fmpq_mat(Q.shape[0], Q.shape[1], [v for v in Q.ravel()])
    return int(mat.rref()[1])


def fmpq_matrix(a):
    """``flint.fmpq_mat`` holding the exact values of a 2D float or rational array."""
    q = fmpq_array(a)
    return flint.fmpq_mat(q.shape[0], q.shape[1], list(q.ravel()))


def affine_exact(H, Wt, b):
    """``H @ W.T + b`` in exact rationals.

    Parameters
    ----------
    H : (n, k) object array of fmpq
    Wt : fmpq_mat of shape (k, m)
        The transposed weights (see :func:`fmpq_matrix`).
    b : (m,) object array of fmpq

    Returns
    -------
    (n, m) object array of fmpq

    Notes
    -----
    The product runs in FLINT (C), an order of magnitude faster than numpy's
    object-dtype ``@`` with Python-level multiplications.
    """
    n = H.shape[0]
    m = Wt.ncols()
    if n == 0:
        return np.empty((0, m), dtype=object)
    prod = flint.fmpq_mat(n, H.shape[1], list(H.ravel())) * Wt
    out = np.empty(n * m, dtype=object)
    out[:] = prod.entries()
    return out.reshape(n, m) + b
