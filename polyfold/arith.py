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
    "compare_exact",
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


#: unit roundoff of float64
_U = 2.0**-53


def float_values(Z):
    """Float64 values of an object array of rationals (for :func:`compare_exact`),
    or None when some value does not convert."""
    try:
        return np.asarray(Z).astype(np.float64)
    except (OverflowError, TypeError, ValueError):
        return None


def compare_exact(Z, q=ZERO, *, F=None):
    """``(Z > q, Z < q)`` as bool arrays, exactly, for an array of rationals.

    Parameters
    ----------
    Z : array
        Object array of exact rationals (``fmpq``, ``int`` or ``Fraction``), or a
        float array (then compared directly).
    q : rational
        An exact scalar (a threshold).
    F : float array, optional
        ``float_values(Z)``, when several thresholds are compared with one ``Z``.

    Returns
    -------
    (gt, lt) : two bool arrays of ``Z``'s shape

    Notes
    -----
    A float filter decides most elements without a rational comparison: with
    ``F`` the float values of ``Z`` (any conversion within a few units of
    roundoff of the exact value) and ``f`` that of ``q``, ``Z > q`` is certain
    when ``F - f > 16 u (|F| + |f|) + 1e-290`` and ``Z < q`` when
    ``F - f < -(...)``; only the elements in that band (exact ties among them)
    and values that do not convert (``inf``/``nan``) are compared as rationals.
    The result equals ``(Z > q, Z < q)`` elementwise.

    Examples
    --------
    >>> import numpy as np
    >>> Z = np.array([fmpq(1, 3), fmpq(0), fmpq(-1, 10**30), fmpq(1)], dtype=object)
    >>> [m.tolist() for m in compare_exact(Z)]
    [[True, False, False, True], [False, False, True, False]]
    >>> [m.tolist() for m in compare_exact(Z, fmpq(1))]
    [[False, False, False, False], [True, True, True, False]]
    """
    Z = np.asarray(Z)
    if Z.dtype != object:
        return Z > q, Z < q
    gt = np.zeros(Z.shape, bool)
    lt = np.zeros(Z.shape, bool)
    if Z.size == 0:
        return gt, lt
    if F is None:
        F = float_values(Z)
    try:
        f = float(q)
    except (OverflowError, TypeError, ValueError):
        F = None
    if F is None:  # values beyond float64: compare all
        return np.asarray(Z > q, bool), np.asarray(Z < q, bool)
    with np.errstate(invalid="ignore", over="ignore"):
        D = F - f
        slack = 16.0 * _U * (np.abs(F) + abs(f)) + 1e-290
        np.greater(D, slack, out=gt)
        np.less(D, -slack, out=lt)
    und = ~(gt | lt)
    if und.any():
        Zu = Z[und]
        gt[und] = np.asarray(Zu > q, bool)
        lt[und] = np.asarray(Zu < q, bool)
    return gt, lt


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


def exact_classes(logits):
    """Predicted classes of exact logit rows ``(n, C)``: the argmax, lowest index on
    ties; for one output, ``logit > 0``."""
    if logits.shape[1] == 1:
        return [int(v > 0) for v in logits[:, 0]]
    return [max(range(len(row)), key=lambda k, r=row: (r[k], -k)) for row in logits]
