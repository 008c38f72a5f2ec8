"""Thin, tested wrappers over scipy's HiGHS linear programs.

Every polytope in polyfold is written ``P = {x : A x + c >= 0}`` with ``A`` of
shape ``(m, d)`` and ``c`` of shape ``(m,)``.  This module answers the three
linear-programming questions the rest of the package asks about such a set:

* :func:`chebyshev_ball` -- the largest ball inside ``P`` (centre, radius);
* :func:`feasible_interior_point` -- a point strictly inside ``P`` or ``None``;
* :func:`redundant_rows` -- which rows are not facet-defining.

Conventions shared by all three
-------------------------------
* Rows are normalised to unit Euclidean norm before any LP, so every
  tolerance is a distance in input space.
* A row whose normal is (numerically) zero, ``|A_i| <= tol.rank * max_j |A_j|``,
  is a constant constraint ``c_i >= 0``: it is dropped when it holds
  (``c_i >= -tol.lp``) and makes ``P`` empty otherwise (dead or constant units of
  a network produce such rows).
* LP failures (iteration limit, numerical trouble) raise
  :class:`polyfold.exceptions.SolverError` carrying the solver's ``status``
  (scipy's ``linprog`` codes: 1 iteration limit, 2 infeasible, 3 unbounded,
  4 numerical difficulties).  An empty polytope raises
  :class:`~polyfold.exceptions.DomainError`; so does an unbounded Chebyshev
  radius (the message suggests a domain box).
"""

import threading
from typing import NamedTuple

import numpy as np

from ._validation import as_float_array
from . import exceptions as _exceptions
from .exceptions import DomainError, ShapeError, SolverError  # noqa: F401
from .tolerance import get_tol

__all__ = [
    "ChebyshevBall",
    "EmptyPolytopeError",
    "UnboundedRadiusError",
    "box_rows",
    "chebyshev_ball",
    "feasible_interior_point",
    "normalize_rows",
    "redundant_rows",
]

_STATUS_TEXT = {
    0: "optimal",
    1: "iteration limit reached",
    2: "infeasible",
    3: "unbounded",
    4: "numerical difficulties",
}


class ChebyshevBall(NamedTuple):
    """Result of :func:`chebyshev_ball` (unpacks as ``centre, radius, status``).

    Attributes
    ----------
    centre : (d,) float
        Centre of a largest inscribed ball.
    radius : float
        Its radius (0 for a polytope without interior).
    status : int
        The solver status (0 = optimal).
    """

    centre: np.ndarray
    radius: float
    status: int

    def __repr__(self):
        from ._repr import summary_repr

        return summary_repr(self)


# defined in polyfold.exceptions (public there and as polyfold.UnboundedRadiusError)
EmptyPolytopeError = _exceptions.EmptyPolytopeError
UnboundedRadiusError = _exceptions.UnboundedRadiusError


# ---------------------------------------------------------------------------
# input handling
# ---------------------------------------------------------------------------
def _check_Ac(A, c):
    A = as_float_array(A, "A")
    c = as_float_array(c, "c")
    if A.ndim != 2:
        raise ShapeError(
            f"A must be a 2-D array (m, d) of constraint normals, got shape {A.shape}; "
            "use A.reshape(1, -1) for a single constraint."
        )
    if c.ndim != 1 or c.shape[0] != A.shape[0]:
        raise ShapeError(
            f"c must have shape ({A.shape[0]},) to match A of shape {A.shape}, got {c.shape}."
        )
    if A.shape[1] == 0:
        raise ShapeError("A must have at least one column (the dimension d >= 1).")
    return A, c


def box_rows(lower, upper, d, name="bounds"):
    """Rows ``(A, c)`` of the box ``lower <= x <= upper`` in R^d.

    ``lower`` and ``upper`` are scalars or ``(d,)`` arrays.  The first ``d`` rows
    are ``x_k - lower_k >= 0``, the next ``d`` are ``upper_k - x_k >= 0``.

    Raises
    ------
    DomainError
        If some ``lower_k > upper_k`` (an inverted box).
    """
    lo = as_float_array(lower, f"{name} lower")
    hi = as_float_array(upper, f"{name} upper")
    try:
        lo = np.broadcast_to(lo, (d,)).astype(np.float64)
        hi = np.broadcast_to(hi, (d,)).astype(np.float64)
    except ValueError as err:
        raise ShapeError(
            f"{name}: lower and upper must be scalars or arrays of shape ({d},), got "
            f"{np.shape(lower)} and {np.shape(upper)}."
        ) from err
    if np.any(lo > hi):
        k = int(np.argmax(lo > hi))
        raise DomainError(
            f"{name} is inverted: lower[{k}]={lo[k]!r} > upper[{k}]={hi[k]!r}; "
            "pass (lower, upper) with lower <= upper."
        )
    eye = np.eye(d)
    A = np.vstack([eye, -eye])
    c = np.concatenate([-lo, hi])
    return A, c


def row_exponents(A, extra=None):
    """(m,) int64 ``e`` with ``max(|A_i|, |extra_i|) 2^-e_i`` in [1/2, 1) (``e_i = 0``
    where both are zero): the power of two that scales row ``i`` exactly (any positive
    scaling leaves a constraint, a cell or a rank unchanged) near 1."""
    big = np.abs(A).max(axis=1) if A.size else np.zeros(A.shape[0])
    if extra is not None:
        big = np.maximum(big, np.abs(extra))
    return np.frexp(big)[1].astype(np.int64)


def _scaled_rows(A):
    """``(As, ns, e)``: each row of ``A`` times the power of two ``2^-e_i`` that brings
    its largest entry into [1/2, 1) (exact; ``e_i = 0`` for a zero row), and the norms
    ``ns`` of the scaled rows, so ``|A_i| = ns_i 2^e_i`` without overflow (entries
    above ~1e154) or underflow (below ~1e-154) in the squares; wherever
    ``np.linalg.norm`` neither overflows nor underflows, ``ns * 2^e`` equals it."""
    if A.size == 0:
        return A.copy(), np.zeros(A.shape[0]), np.zeros(A.shape[0], np.int64)
    e = row_exponents(A)
    As = np.ldexp(A, -e[:, None])
    return As, np.linalg.norm(As, axis=1), e


def normalize_rows(A, c, *, tol=None):
    """Scale rows to unit norm and classify (numerically) zero rows.

    Parameters
    ----------
    A : (m, d) float
    c : (m,) float
    tol : Tolerance, optional

    Returns
    -------
    An : (m, d) float
        Unit rows (zero rows left at zero).
    cn : (m,) float
        Offsets scaled with their rows (``c_i / |A_i|``; ``+-inf`` only when that
        distance exceeds the float64 range).  Rows of any magnitude are normalised
        without overflow or underflow (each is first scaled by a power of two).
    zero : (m,) bool
        Rows whose normal is numerically zero (``|A_i| <= tol.rank * max |A_j|``).

    Raises
    ------
    DomainError
        If a zero row has ``c_i < -tol.lp`` (the polytope is empty).
    """
    tol = get_tol(tol)
    A, c = _check_Ac(A, c)
    # |A_i| = ns_i 2^e_i (no overflow for rows near 1e300, no underflow near 1e-300);
    # the zero test compares them relative to the largest, 2^emax
    As, ns, e = _scaled_rows(A)
    emax = int(e[ns > 0].max()) if np.any(ns > 0) else 0
    rel = np.ldexp(ns, e - emax)
    scale = float(rel.max()) if rel.size else 0.0
    zero = rel <= tol.rank * scale if scale > 0 else np.ones(len(rel), bool)
    bad = zero & (c < -tol.lp)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise EmptyPolytopeError(
            f"the polytope {{x : A x + c >= 0}} is empty: row {i} has a zero normal and "
            f"c[{i}]={c[i]!r} < 0 (a constant constraint that never holds)."
        )
    safe = np.where(zero, 1.0, ns)
    An = np.where(zero[:, None], 0.0, As / safe[:, None])
    # c_i / |A_i| = (m_i / ns_i) 2^(ec_i - e_i) with c_i = m_i 2^ec_i, m_i in [1/2, 1):
    # the quotient of mantissas cannot overflow (ns_i >= 1/2; dividing c_i itself
    # by ns_i first overflowed for offsets near 1.8e308), and ldexp rounds once;
    # +-inf only when the distance itself exceeds the float64 range
    mc, ec = np.frexp(c)
    with np.errstate(over="ignore"):
        cn = np.where(zero, 0.0, np.ldexp(mc / safe, ec - e))
    return An, cn, zero


class _LPResult(NamedTuple):
    status: int  # scipy linprog codes: 0 optimal, 1 iteration limit, 2 infeasible, 3 unbounded, 4 other
    x: object
    fun: object
    message: str


_THREAD = threading.local()


def silent_highs():
    """A new ``highspy`` solver that prints nothing, not even its banner.

    ``highspy.Highs()`` prints "Running HiGHS ..." on the process's standard output
    (file descriptor 1, from C++) once per process, before any option can be set;
    that breaks ``--json`` output and pollutes logs.  The core class ``highspy._Highs``
    (which ``Highs`` extends with Python callbacks that polyfold does not use) does
    not print it, so it is used with ``output_flag`` off.  Every HiGHS instance in
    polyfold comes from here.

    Raises
    ------
    ImportError
        highspy is not installed (callers fall back to ``scipy.optimize.linprog``,
        which prints nothing with its default ``disp=False``).
    """
    import highspy

    core = getattr(highspy, "_Highs", None)
    if core is not None:
        h = core()
    else:  # pragma: no cover - highspy without the core class: silence file descriptor 1
        with _stdout_silenced():
            h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    return h


class _stdout_silenced:
    """Redirect file descriptor 1 (C-level stdout) to /dev/null inside the block."""

    def __enter__(self):
        import os
        import sys

        sys.stdout.flush()
        self._saved = os.dup(1)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
        return self

    def __exit__(self, *exc):
        import ctypes
        import os

        try:
            ctypes.CDLL(None).fflush(None)  # C buffers go to /dev/null, not later to fd 1
        except (OSError, AttributeError):
            pass
        os.dup2(self._saved, 1)
        os.close(self._saved)
        return False


def _highs_instance(tol):
    """One reusable ``highspy.Highs`` per thread (or None without highspy)."""
    h = getattr(_THREAD, "highs", None)
    if h is None:
        try:
            import highspy
        except ImportError:  # pragma: no cover - highspy comes with cvxpy
            _THREAD.highs = False
            return None
        h = silent_highs()
        h.setOptionValue("presolve", "off")
        _THREAD.highs = h
        _THREAD.tol = None
    if h is False:
        return None
    if _THREAD.tol != tol.lp:
        v = max(tol.lp, 1e-10)
        h.setOptionValue("primal_feasibility_tolerance", v)
        h.setOptionValue("dual_feasibility_tolerance", v)
        _THREAD.tol = tol.lp
    return h


def _dense_lp(cost, A_ub, b_ub, lower, upper):
    """``highspy.HighsLp`` of min cost x s.t. A_ub x <= b_ub, lower <= x <= upper
    (dense rows; infinite bounds become HiGHS's infinity)."""
    import highspy

    inf = highspy.kHighsInf
    m, n = A_ub.shape
    lp = highspy.HighsLp()
    lp.num_col_ = n
    lp.num_row_ = m
    lp.col_cost_ = np.ascontiguousarray(cost, dtype=np.float64)
    lp.col_lower_ = np.where(np.isfinite(lower), lower, -inf).astype(np.float64)
    lp.col_upper_ = np.where(np.isfinite(upper), upper, inf).astype(np.float64)
    lp.row_lower_ = np.full(m, -inf)
    lp.row_upper_ = np.ascontiguousarray(b_ub, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.arange(0, m * n + 1, n, dtype=np.int32)
    lp.a_matrix_.index_ = np.tile(np.arange(n, dtype=np.int32), m)
    lp.a_matrix_.value_ = np.ascontiguousarray(A_ub, dtype=np.float64).ravel()
    return lp


def _run_highs(cost, A_ub, b_ub, lower, upper, tol):
    """Solve min cost x s.t. A_ub x <= b_ub, lower <= x <= upper with HiGHS.

    Uses highspy directly (about 5x less overhead per small LP than
    ``scipy.optimize.linprog``); falls back to linprog without highspy.
    """
    h = _highs_instance(tol)
    n = A_ub.shape[1]
    if h is None:  # pragma: no cover - exercised only without highspy
        from scipy.optimize import linprog

        opts = {
            "presolve": False,
            "primal_feasibility_tolerance": max(tol.lp, 1e-10),
            "dual_feasibility_tolerance": max(tol.lp, 1e-10),
        }
        bounds = [(None if not np.isfinite(a) else a, None if not np.isfinite(b) else b)
                  for a, b in zip(lower, upper)]
        res = linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs", options=opts)
        return _LPResult(int(res.status), res.x, res.fun, str(res.message))
    import highspy

    lp = _dense_lp(cost, A_ub, b_ub, lower, upper)
    h.passModel(lp)
    h.run()
    st = h.getModelStatus()
    S = highspy.HighsModelStatus
    if st == S.kOptimal:
        x = np.array(h.getSolution().col_value, dtype=np.float64)
        return _LPResult(0, x, float(h.getInfo().objective_function_value), "optimal")
    if st == S.kInfeasible:
        return _LPResult(2, None, None, "infeasible")
    if st == S.kUnbounded:
        return _LPResult(3, None, None, "unbounded")
    if st == S.kUnboundedOrInfeasible:
        # decide with a feasibility problem (zero cost)
        lp.col_cost_ = np.zeros(n)
        h.passModel(lp)
        h.run()
        if h.getModelStatus() == S.kInfeasible:
            return _LPResult(2, None, None, "infeasible")
        if h.getModelStatus() == S.kOptimal:
            return _LPResult(3, None, None, "unbounded")
    code = 1 if st in (S.kIterationLimit, S.kTimeLimit) else 4
    return _LPResult(code, None, None, h.modelStatusToString(st))


def _linprog(cost, A_ub, b_ub, bounds, tol, what, *, wide=False):
    """``_run_highs`` with a SolverError for failures; ``wide``: HiGHS's infinite bound
    (bounds at or beyond it count as infinite, 1e20 by default) raised to 1e300 for
    this LP and restored after it."""
    d = A_ub.shape[1]
    lower = np.full(d, -np.inf)
    upper = np.full(d, np.inf)
    for k, (a, b) in enumerate(bounds):
        if a is not None:
            lower[k] = a
        if b is not None:
            upper[k] = b
    h = _highs_instance(tol) if wide else None
    if h is not None:
        usual = h.getOptionValue("infinite_bound")
        usual = usual[1] if isinstance(usual, tuple) else usual  # ((status, value) in highspy 1.16)
        h.setOptionValue("infinite_bound", 1e300)
    try:
        res = _run_highs(np.asarray(cost, dtype=np.float64), A_ub, b_ub, lower, upper, tol)
    finally:
        if h is not None:
            h.setOptionValue("infinite_bound", usual)
    if res.status not in (0, 2, 3):
        raise SolverError(
            f"HiGHS failed on the {what} LP: status {res.status} "
            f"({_STATUS_TEXT.get(res.status, 'unknown')}): {res.message}; "
            "rescale the input or loosen Tolerance(lp=...).",
            status=int(res.status),
        )
    return res


def _linprog_costs(costs, A_ub, b_ub, bounds, tol, what):
    """``_linprog`` for several cost vectors over one polytope, warm-started.

    The model (rows ``A_ub x <= b_ub``, column ``bounds``) is passed to HiGHS
    once; each cost after the first restarts from the previous optimal basis,
    which stays primal feasible, so an LP costs a few simplex iterations instead
    of a cold solve.  A solve that ends in any state but optimal, infeasible or
    unbounded is retried cold and then as a separate ``_linprog``.  Returns a
    list of results, one per row of ``costs``, as ``_linprog`` would.
    """
    costs = np.asarray(costs, dtype=np.float64)
    h = _highs_instance(tol)
    if h is None or len(costs) < 2:  # pragma: no cover - highspy comes with cvxpy
        return [_linprog(cst, A_ub, b_ub, bounds, tol, what) for cst in costs]
    import highspy

    n = A_ub.shape[1]
    lower = np.array([-np.inf if a is None else a for a, _ in bounds], dtype=np.float64)
    upper = np.array([np.inf if b is None else b for _, b in bounds], dtype=np.float64)
    lp = _dense_lp(np.zeros(n), A_ub, b_ub, lower, upper)
    h.passModel(lp)
    S = highspy.HighsModelStatus
    cols = np.arange(n, dtype=np.int32)
    out = []
    for cst in costs:
        h.changeColsCost(n, cols, np.ascontiguousarray(cst))
        h.run()
        st = h.getModelStatus()
        if st not in (S.kOptimal, S.kInfeasible, S.kUnbounded):
            h.clearSolver()
            h.run()
            st = h.getModelStatus()
        if st == S.kOptimal:
            x = np.array(h.getSolution().col_value, dtype=np.float64)
            out.append(_LPResult(0, x, float(h.getInfo().objective_function_value), "optimal"))
        elif st == S.kInfeasible:
            out.append(_LPResult(2, None, None, "infeasible"))
        elif st == S.kUnbounded:
            out.append(_LPResult(3, None, None, "unbounded"))
        else:  # a state the warm model could not resolve: the LP on its own
            out.append(_linprog(cst, A_ub, b_ub, bounds, tol, what))
            h.passModel(lp)
    return out


# ---------------------------------------------------------------------------
# Chebyshev ball
# ---------------------------------------------------------------------------
def offset_shift(c, high, low=0.0):
    """The exponent ``e`` that brings the largest finite ``|c_i|`` into [1/2, 1) by
    ``c * 2**-e`` (exact) when it lies above ``high`` or below ``low`` (and is not 0);
    otherwise 0.  HiGHS's tolerances are absolute and it reads bounds beyond 1e20 as
    infinite, so LPs over offsets far from 1 are solved scaled."""
    c = np.abs(np.asarray(c, dtype=np.float64))
    top = float(c[np.isfinite(c)].max(initial=0.0))
    if top == 0.0 or low <= top <= high:
        return 0
    return int(np.frexp(top)[1])


def check_in_range(c):
    """Raise :class:`DomainError` if a scaled offset ``c_i`` is ``-inf``: the
    hyperplane of row ``i`` lies beyond float64 range on the far side of the origin,
    so no representable point satisfies the row."""
    if np.any(c == -np.inf):
        i = int(np.argmax(c == -np.inf))
        raise DomainError(
            f"row {i} puts the polytope {{x : A x + c >= 0}} beyond float64 range: "
            f"-c[{i}] / |A[{i}]| exceeds 1.8e308, so no representable point satisfies it; "
            "check the offsets (or rescale the problem)."
        )


def chebyshev_ball(A, c, *, bounds=None, tol=None):
    """Largest ball inside ``P = {x : A x + c >= 0}`` (one HiGHS LP).

    Parameters
    ----------
    A : (m, d) float
        Constraint normals.
    c : (m,) float
        Offsets.
    bounds : (lower, upper), optional
        A box the ball must also lie in (scalars or ``(d,)`` arrays); its
        ``2 d`` rows are appended to ``A, c``.  Pass one when ``P`` may be
        unbounded.
    tol : Tolerance, optional

    Returns
    -------
    ChebyshevBall
        ``(centre (d,), radius, status)``: maximises ``r`` subject to
        ``A_i x + c_i >= r |A_i|`` for all rows and ``r >= 0``.  A polytope
        without interior gives radius 0 (and a point of ``P``).

    Raises
    ------
    DomainError
        If ``P`` is empty, if the radius is unbounded (``P`` contains balls of
        every size: pass ``bounds=(lower, upper)``), or if ``bounds`` is inverted.
    SolverError
        If HiGHS fails otherwise (``status`` holds its code).

    Notes
    -----
    LP in ``(x, r)`` with ``d + 1`` variables and ``m`` rows, rows normalised to
    unit norm.  The centre is not unique in general (e.g. for a rectangle);
    HiGHS returns one optimal vertex of the LP.  Offsets far from 1 are scaled by a
    power of two (HiGHS's tolerances are absolute); a ball found tiny next to the
    largest offset (a small region inside a domain box of half-width 1e15 to 1e30)
    is solved again unscaled, with HiGHS's infinite bound raised beyond the offsets.

    References
    ----------
    S. Boyd and L. Vandenberghe, *Convex Optimization*, Sec. 8.5.1 (2004).

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    >>> c = np.array([0.0, 0.0, 1.0])          # x >= 0, y >= 0, x + y <= 1
    >>> ball = chebyshev_ball(A, c)
    >>> round(ball.radius, 6), np.round(ball.centre, 6).tolist()
    (0.292893, [0.292893, 0.292893])
    """
    tol = get_tol(tol)
    A, c = _check_Ac(A, c)
    d = A.shape[1]
    if bounds is not None:
        Ab, cb = _bounds_rows(bounds, d)
        A = np.vstack([A, Ab])
        c = np.concatenate([c, cb])
    An, cn, zero = normalize_rows(A, c, tol=tol)
    check_in_range(cn)
    # a hyperplane beyond float64 range with the origin on its inner side holds at
    # every representable point: drop it like a zero row that holds
    keep = ~zero & (cn != np.inf)
    An, cn = An[keep], cn[keep]
    m = An.shape[0]
    # the ball is scale-equivariant: offsets far from 1 (a box of half-width 1e-20 or
    # 1e20) are brought near it by a power of two (exact), as HiGHS's tolerances are
    # absolute; the centre and radius are scaled back
    top = float(np.abs(cn).max(initial=0.0))
    shift = offset_shift(cn, 2.0**10, 2.0**-10)
    cn = np.ldexp(cn, -shift)
    if m == 0:
        raise UnboundedRadiusError(
            "the Chebyshev radius is unbounded: no constraint bounds the polytope "
            "(all rows are zero or there are none); pass bounds=(lower, upper) "
            "to intersect with a domain box."
        )
    # variables (x, r); maximise r  <=>  minimise -r
    cost = np.zeros(d + 1)
    cost[-1] = -1.0
    A_ub = np.hstack([-An, np.ones((m, 1))])  # -a x + r <= c
    res = _linprog(cost, A_ub, cn, [(None, None)] * d + [(0, None)], tol, "Chebyshev ball")
    if res.status == 2:
        raise EmptyPolytopeError(
            "the polytope {x : A x + c >= 0} is empty (the Chebyshev LP is infeasible); "
            "check the constraints or enlarge the domain."
        )
    if res.status == 3:
        raise UnboundedRadiusError(
            "the Chebyshev radius is unbounded: the polytope {x : A x + c >= 0} "
            "contains arbitrarily large balls; pass bounds=(lower, upper) to intersect "
            "it with a domain box."
        )
    if shift > 0 and res.x[d] < _TINY_BALL and top <= _WIDE_LP_LIMIT:
        # a ball tiny next to the largest offset (a small region in a huge domain box):
        # scaled down, HiGHS's absolute tolerances cannot see it.  Solve unscaled, with
        # HiGHS's infinite bound (1e20 by default) beyond every offset
        try:
            wide = _linprog(cost, A_ub, np.ldexp(cn, shift), [(None, None)] * d + [(0, None)], tol,
                            "Chebyshev ball", wide=True)
        except SolverError:  # numerical trouble at this range: keep the scaled answer
            wide = None
        if wide is not None and wide.status == 0 and wide.x[d] > np.ldexp(max(res.x[d], 0.0), shift):
            return ChebyshevBall(np.asarray(wide.x[:d], dtype=np.float64) + 0.0,
                                 float(wide.x[d]) + 0.0, 0)
    # (+ 0.0: the LP may return -0.0, for a radius as for a centre coordinate)
    x = np.ldexp(np.asarray(res.x[:d], dtype=np.float64), shift) + 0.0
    r = float(np.ldexp(max(res.x[d], 0.0), shift)) + 0.0
    return ChebyshevBall(x, r, int(res.status))


#: a Chebyshev radius below this, relative to the largest offset, is solved again
#: unscaled (chebyshev_ball)
_TINY_BALL = 2.0**-20
#: offsets up to this size can be passed to HiGHS unscaled (with its infinite bound
#: raised beyond them)
_WIDE_LP_LIMIT = 2.0**100


def _bounds_rows(bounds, d):
    try:
        lower, upper = bounds
    except (TypeError, ValueError) as err:
        from .exceptions import ValidationError

        raise ValidationError(
            f"bounds must be a pair (lower, upper) of scalars or ({d},) arrays, "
            f"got {type(bounds).__name__}."
        ) from err
    return box_rows(lower, upper, d)


def feasible_interior_point(A, c, *, bounds=None, tol=None):
    """A point strictly inside ``P = {x : A x + c >= 0}``, or ``None``.

    Parameters
    ----------
    A : (m, d) float
    c : (m,) float
    bounds : (lower, upper), optional
        Box intersected with ``P`` (needed when ``P`` may be unbounded in every
        direction).
    tol : Tolerance, optional

    Returns
    -------
    (d,) float or None
        The Chebyshev centre when the inscribed radius exceeds ``tol.lp``;
        ``None`` when ``P`` is empty or has no interior (radius <= ``tol.lp``).

    Raises
    ------
    DomainError
        If the radius is unbounded (pass ``bounds``).
    SolverError
        If HiGHS fails.

    Examples
    --------
    >>> import numpy as np
    >>> feasible_interior_point(np.array([[1.0], [-1.0]]), np.array([0.0, 1.0])).tolist()
    [0.5]
    >>> feasible_interior_point(np.array([[1.0], [-1.0]]), np.array([-1.0, 0.0])) is None
    True
    """
    tol = get_tol(tol)
    try:
        ball = chebyshev_ball(A, c, bounds=bounds, tol=tol)
    except EmptyPolytopeError:
        return None
    if ball.radius <= tol.lp:
        return None
    return ball.centre


# ---------------------------------------------------------------------------
# redundancy
# ---------------------------------------------------------------------------
def _duplicate_mask(An, cn, zero, tol):
    """True for rows that repeat an earlier row (same unit normal and offset)."""
    m = An.shape[0]
    dup = np.zeros(m, bool)
    key = np.hstack([An, cn[:, None]])
    # sort-free O(m^2 d) comparison in blocks would be overkill; round and hash
    scale = max(tol.lp, 1e-300)
    # (compared without dividing: key / scale overflows for offsets near 1e300)
    rounded = np.round(key / scale).astype(np.int64) if np.all(np.abs(key) < 2.0**62 * scale) else None
    if rounded is not None:
        seen = {}
        for i in range(m):
            if zero[i]:
                continue
            k = rounded[i].tobytes()
            if k in seen:
                dup[i] = True
            else:
                seen[k] = i
        return dup
    for i in range(m):  # pragma: no cover - only for astronomically large offsets
        if zero[i] or dup[i]:
            continue
        with np.errstate(over="ignore"):  # offsets of both signs near 1.8e308: inf, not equal
            same = np.all(np.abs(key[i + 1 :] - key[i]) <= tol.lp, axis=1)
        dup[i + 1 :] |= same & ~zero[i + 1 :]
    return dup


def _ray_certificates(An, cn, x0, active, tol, *, targets=None, n_random=256, rng=None):
    """Rows certified facet-defining by shooting rays from the interior point x0.

    A row ``i`` is facet-defining when some point ``y`` has ``a_i y + c_i = 0``
    and ``a_j y + c_j > 0`` for every other (distinct, active) row ``j``.  We try
    the foot of the perpendicular from ``x0`` for every target row and the first
    hits of random rays.
    """
    idx = np.flatnonzero(active)
    out = np.zeros(An.shape[0], bool)
    if len(idx) == 0:
        return out
    tgt = idx if targets is None else np.flatnonzero(targets & active)
    a = An[idx]
    s = a @ x0 + cn[idx]  # slacks > 0 at the interior point
    if np.any(s <= 0):
        return out
    pos_in_idx = np.full(An.shape[0], -1)
    pos_in_idx[idx] = np.arange(len(idx))
    margin = tol.lp * (1.0 + np.abs(s).max())
    # 1. perpendicular feet: y_i = x0 - s_i a_i ; slack_j(y_i) = s_j - s_i G_ji
    block = 2048
    for start in range(0, len(tgt), block):
        tb = tgt[start : start + block]
        G = a @ An[tb].T  # (k, b)
        st = s[pos_in_idx[tb]]
        sl = s[:, None] - G * st[None, :]
        sl[pos_in_idx[tb], np.arange(len(tb))] = np.inf
        out[tb[np.all(sl > margin, axis=0)]] = True
    # 2. random rays: first hit, unique by a margin
    if n_random:
        rng = np.random.default_rng(0) if rng is None else rng
        D = rng.standard_normal((An.shape[1], n_random))
        AD = a @ D  # (k, n)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(AD < 0, s[:, None] / -AD, np.inf)
        cols = np.arange(n_random)
        if len(idx) > 1:
            two = np.argpartition(t, 1, axis=0)[:2]
            swap = t[two[0], cols] > t[two[1], cols]
            first = np.where(swap, two[1], two[0])
            second = np.where(swap, two[0], two[1])
            t1, t2 = t[first, cols], t[second, cols]
            # slack of the runner-up at the hit point: -a_j.D (t2 - t1) > 0
            gap = np.where(np.isfinite(t2), (t2 - t1) * -AD[second, cols], np.inf)
            ok = np.isfinite(t1) & (gap > margin)
        else:
            first = np.zeros(n_random, np.int64)
            ok = np.isfinite(t[0])
        out[idx[first[ok]]] = True
    return out


#: iterations of the projection search for facet witnesses (_projection_certificates)
_PROJECTION_ITERATIONS = 50
#: over-relaxation of its projection steps (1 = plain projection; < 2 converges)
_PROJECTION_RELAXATION = 1.9
#: slack it aims for on the other rows, as a fraction of the interior point's depth
_PROJECTION_DEPTH = 1e-2


def _projection_certificates(An, cn, x0, active, targets, tol):
    """Rows certified facet-defining by a point found in their hyperplane.

    For every target row ``i`` the search starts at the foot of the perpendicular
    from the interior point ``x0`` on ``a_i x + c_i = 0`` and, staying in that
    hyperplane, projects (over-relaxed, Motzkin's most-violated-row rule) onto
    the most violated other row ``a_j x + c_j >= mu``, for at most
    ``_PROJECTION_ITERATIONS`` steps; all targets are iterated together as one
    matrix.  A row is certified exactly as by :func:`_ray_certificates`: the point,
    projected once more onto the row's hyperplane, has slack above the margin on
    every other active row.  Rows it does not certify (redundant ones, and thin
    facets) are left to the LPs.
    """
    out = np.zeros(An.shape[0], bool)
    idx = np.flatnonzero(active)
    if len(idx) < 2:
        return out
    pos = np.full(An.shape[0], -1)
    pos[idx] = np.arange(len(idx))
    T = pos[np.flatnonzero(targets & active)]
    if len(T) == 0:
        return out
    A, c = An[idx], cn[idx]
    s = A @ x0 + c
    if np.any(s <= 0):
        return out
    margin = tol.lp * (1.0 + np.abs(s).max())
    mu = max(4.0 * margin, _PROJECTION_DEPTH * float(s.min()))
    AT = A[T]
    G = A @ AT.T  # (active rows, targets): cosines between unit normals
    Y = x0[None, :] - s[T][:, None] * AT  # perpendicular feet
    live = np.arange(len(T))
    for _ in range(_PROJECTION_ITERATIONS):
        S = Y[live] @ A.T + c
        rows = np.arange(len(live))
        S[rows, T[live]] = np.inf  # the target's own row
        j = np.argmin(S, axis=1)
        v = mu - S[rows, j]
        g = G[j, live]
        den = 1.0 - g * g  # squared length of row j's normal within the hyperplane
        go = (v > 0) & (den >= 1e-9)  # parallel rows cannot be fixed in the hyperplane
        live, j, v, g, den = live[go], j[go], v[go], g[go], den[go]
        if not len(live):
            break
        Y[live] += (_PROJECTION_RELAXATION * v / den)[:, None] * (A[j] - g[:, None] * AT[live])
    Y -= (np.einsum("ij,ij->i", Y, AT) + c[T])[:, None] * AT  # back onto the hyperplane
    S = Y @ A.T + c
    S[np.arange(len(T)), T] = np.inf
    ok = np.all(S > margin, axis=1)
    out[idx[T[ok]]] = True
    return out


def _point_certificates(An, cn, p, active, axis, axis_k, axis_pos, tol):
    """Axis rows certified facet-defining from a point ``p`` of the closed polytope.

    A point on several faces of a box (a data sample with many coordinates at a
    bound, such as the zero pixels of an image) lies on each of those axis rows.
    Row ``i`` (``x_k >= lo`` or ``x_k <= hi``, tight at ``p``) is facet-defining if
    ``y = p + eps v_i``, ``v_i`` the inward step along every other tight axis row
    (``a_i v_i = 0``), keeps every other row strictly positive: one vectorised check
    for all tight axis rows.  Nothing is certified when a general row is tight at
    ``p``.
    """
    out = np.zeros(An.shape[0], bool)
    idx = np.flatnonzero(active)
    s = An[idx] @ p + cn[idx]
    scale = 1.0 + np.abs(cn[idx]).max(initial=0.0)
    margin = tol.lp * scale
    tight = s <= margin
    if np.any(s < -margin) or not tight.any() or np.any(tight & ~axis[idx]):
        return out
    T = idx[tight]  # tight axis rows: one inward unit step each
    sig = np.where(axis_pos[T], 1.0, -1.0)
    V = np.zeros(An.shape[1])
    np.add.at(V, axis_k[T], sig)
    if np.any(np.abs(V[axis_k[T]]) != 1.0):  # both faces of one coordinate tight
        return out
    a = An[idx]
    aV = a @ V  # slope of every active row along V
    # v_i = V - sig_i e_k(i): a_j v_i = aV_j - sig_i a_j,k(i)
    Ak = a[:, axis_k[T]] * sig[None, :]
    AV = aV[:, None] - Ak  # (active rows, tight rows)
    free = ~tight
    with np.errstate(divide="ignore", invalid="ignore"):
        room = np.where(free[:, None] & (AV < 0), s[:, None] / -AV, np.inf)
    eps = 0.5 * np.minimum(room.min(axis=0), 1.0)
    slack = s[:, None] + eps[None, :] * AV  # slack of every row at y_i
    self_row = np.searchsorted(idx, T)
    slack[self_row, np.arange(len(T))] = np.inf
    ok = np.all(slack > margin, axis=0) & (eps > 0)
    out[T[ok]] = True
    return out


#: the redundancy LPs generate their rows (start with the certified facets) when
#: there are more general rows than this many per dimension (e.g. convolutional nets)
_ROW_GENERATION_ROWS_PER_DIM = 4


def _redundancy_warm(An, cn, active, todo, red, axis, axis_k, axis_pos, tol):
    """Redundancy LPs for the rows in ``todo`` on one warm-started HiGHS model.

    Axis rows are column bounds (the tightest per coordinate and direction;
    looser ones are redundant at once).  With more than
    ``_ROW_GENERATION_ROWS_PER_DIM * d`` general rows they enter the model by row
    generation: at first the rows not under test, then each row when it is
    tested, and every row that an optimum violates (the LP is then solved
    again, so its final optimum satisfies every active row and equals the
    optimum over all of them); with fewer, all are in the model from the start.  Testing row ``i`` relaxes it to
    ``a_i x + c_i >= -1`` and minimises ``a_i x``; HiGHS restarts from the
    previous basis, so each LP costs a few simplex iterations.  Redundant rows
    are freed for the following LPs.  Updates ``red`` and ``active`` in place.
    """
    import highspy

    m, d = An.shape
    inf = highspy.kHighsInf
    # tightest axis row per (coordinate, direction)
    lo = np.full(d, -inf)
    hi = np.full(d, inf)
    lo_row = np.full(d, -1)
    hi_row = np.full(d, -1)
    for i in np.flatnonzero(active & axis):
        k = axis_k[i]
        if axis_pos[i]:  # x_k >= -c_i
            if lo_row[k] < 0 or -cn[i] > lo[k]:
                if lo_row[k] >= 0:
                    red[lo_row[k]] = True
                    active[lo_row[k]] = False
                lo[k], lo_row[k] = -cn[i], i
            else:
                red[i] = True
                active[i] = False
        else:  # x_k <= c_i
            if hi_row[k] < 0 or cn[i] < hi[k]:
                if hi_row[k] >= 0:
                    red[hi_row[k]] = True
                    active[hi_row[k]] = False
                hi[k], hi_row[k] = cn[i], i
            else:
                red[i] = True
                active[i] = False
    # the model starts with the general rows not under test (facets certified by a
    # witness point); a row under test, and every row an optimum violates, is added
    # when needed: each LP then has about as many rows as the polytope has facets
    row_of = np.full(m, -1)
    h = silent_highs()
    h.setOptionValue("presolve", "off")
    v = max(tol.lp, 1e-10)
    h.setOptionValue("primal_feasibility_tolerance", v)
    h.setOptionValue("dual_feasibility_tolerance", v)
    lp = highspy.HighsLp()
    lp.num_col_ = d
    lp.num_row_ = 0
    lp.col_cost_ = np.zeros(d)
    lp.col_lower_ = lo.astype(np.float64)
    lp.col_upper_ = hi.astype(np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.zeros(1, dtype=np.int32)
    h.passModel(lp)
    n_rows = [0]
    all_cols = np.arange(d, dtype=np.int32)

    def add_rows(rows, relax=0.0):
        rows = np.asarray(rows, np.int64)
        k = len(rows)
        h.addRows(k, -cn[rows] - relax, np.full(k, inf), k * d,
                  np.arange(0, k * d, d, dtype=np.int32), np.tile(all_cols, k),
                  np.ascontiguousarray(An[rows]).ravel())
        row_of[rows] = n_rows[0] + np.arange(k)
        n_rows[0] += k

    gen = active & ~axis
    generate = gen.sum() > _ROW_GENERATION_ROWS_PER_DIM * d
    # few rows: all of them at once (re-solves would cost more than they save)
    start = np.flatnonzero(gen & ~todo if generate else gen)
    if len(start):
        add_rows(start)
    S = highspy.HighsModelStatus
    for i in np.flatnonzero(todo & active):
        h.changeColsCost(d, all_cols, np.ascontiguousarray(An[i]))
        if axis[i]:
            k = int(axis_k[i])
            if axis_pos[i]:
                h.changeColBounds(k, lo[k] - 1.0, hi[k])
            else:
                h.changeColBounds(k, lo[k], hi[k] + 1.0)
        elif row_of[i] < 0:
            add_rows([i], relax=1.0)
        else:
            h.changeRowBounds(int(row_of[i]), -cn[i] - 1.0, inf)
        while True:
            h.run()
            st = h.getModelStatus()
            if st not in (S.kOptimal, S.kInfeasible):
                # a warm start can leave the simplex in a bad basis: retry cold
                h.clearSolver()
                h.run()
                st = h.getModelStatus()
            if st != S.kOptimal or not generate:
                break
            # rows left out of the model that the optimum violates join it, and the
            # LP is solved again: the last optimum satisfies every row, so it is the
            # optimum over all of them
            out = np.flatnonzero(active & ~axis & (row_of < 0))
            out = out[out != i]
            if not len(out):
                break
            x = np.asarray(h.getSolution().col_value, dtype=np.float64)
            viol = out[An[out] @ x + cn[out] < 0]
            if not len(viol):
                break
            add_rows(viol)
        if st == S.kInfeasible:
            raise EmptyPolytopeError(
                "the polytope {x : A x + c >= 0} is empty (a redundancy LP is "
                "infeasible); redundancy is undefined for an empty set."
            )
        if st == S.kOptimal:
            is_red = h.getInfo().objective_function_value + cn[i] >= -tol.lp
        else:
            # still no answer: the LP of this row alone, on a fresh solver (with presolve)
            is_red = _row_is_redundant(An, cn, active, i, axis, axis_k, axis_pos, tol)
        if axis[i]:
            k = int(axis_k[i])
            if is_red:  # looser rows in the same direction were dropped already
                if axis_pos[i]:
                    lo[k] = -inf
                else:
                    hi[k] = inf
            h.changeColBounds(k, lo[k], hi[k])
        else:
            h.changeRowBounds(int(row_of[i]), -inf if is_red else -cn[i], inf)
        if is_red:
            red[i] = True
            active[i] = False


#: redundant_rows scales offsets above this size to about 1 (HiGHS: bounds beyond 1e20
#: are infinite)
_REDUNDANCY_SCALE = 2.0**60


def redundant_rows(A, c, *, interior_point=None, boundary_point=None, tol=None):
    """Rows of ``{x : A x + c >= 0}`` that are not facet-defining.

    Parameters
    ----------
    A : (m, d) float
    c : (m,) float
    interior_point : (d,) float, optional
        A point strictly inside the polytope; used to certify facet rows by
        ray shooting without an LP.  Computed (Chebyshev centre) when omitted.
    boundary_point : (d,) float, optional
        A point of the closed polytope lying on some axis-aligned rows (a sample
        on faces of a domain box); certifies those rows without an LP.
    tol : Tolerance, optional

    Returns
    -------
    (m,) bool
        True for redundant rows.  The rows with False are exactly the
        facet-defining ones, and they alone define the same polytope.

    Raises
    ------
    DomainError
        If the polytope is empty.
    SolverError
        If an LP fails (``status`` holds HiGHS's code).

    Notes
    -----
    Definition: row ``i`` is redundant iff ``min (A_i x + c_i) >= 0`` over the
    polytope of the other rows.  Treatment of special rows:

    * zero rows (``A_i ~ 0``, e.g. dead or constant units): redundant when
      ``c_i >= 0`` (within ``tol.lp``); otherwise the set is empty and
      :class:`DomainError` is raised;
    * duplicate hyperplanes (same unit normal and offset within ``tol.lp``):
      the first occurrence is kept, later copies are redundant;
    * rows are processed in order and a row found redundant is removed from
      later LPs (sequential elimination, which keeps the polytope unchanged, so
      near-duplicates are never both discarded).

    Cost: rows certified facet-defining by a witness point need no LP: ray
    shooting from an interior point (perpendicular feet and 256 random rays),
    then a projection search within each remaining row's hyperplane
    (vectorised over rows; it finds most facets the rays miss).  Every other
    row costs one HiGHS LP in ``d`` variables, bounded below by adding
    ``A_i x + c_i >= -1``.  For a polytope without interior (radius 0) every
    row goes through the LP.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [-1.0, -1.0], [1.0, 1.0]])
    >>> c = np.array([0.0, 0.0, 1.0, 1.0, 5.0])
    >>> redundant_rows(A, c).tolist()      # duplicate and slack rows
    [False, False, False, True, True]
    """
    tol = get_tol(tol)
    A, c = _check_Ac(A, c)
    m, d = A.shape
    An, cn, zero = normalize_rows(A, c, tol=tol)
    # redundancy is scale-invariant: large offsets are brought near 1 by a power of
    # two (exact), so that ``An x + cn`` at points of the polytope cannot overflow near
    # the float64 limit (a domain box of half-width 1.7e308) and HiGHS, which reads
    # bounds beyond 1e20 as infinite, sees the box's faces (a box of half-width 1e21
    # made every face a facet); the hints scale along
    shift = offset_shift(cn, _REDUNDANCY_SCALE)
    if shift:
        cn = np.ldexp(cn, -shift)
    red = zero.copy()
    red |= _duplicate_mask(An, cn, zero, tol)
    active = ~red
    if not np.any(active):
        return red
    if interior_point is None:
        try:
            ball = chebyshev_ball(An[active], cn[active], tol=tol)
            x0 = ball.centre if ball.radius > tol.lp else None
        except UnboundedRadiusError:
            x0 = None  # unbounded radius: no certificates, LPs only
    else:
        x0 = as_float_array(interior_point, "interior_point", ndim=1)
        if x0.shape[0] != d:
            raise ShapeError(
                f"interior_point must have shape ({d},) to match A of shape {A.shape}, "
                f"got {x0.shape}."
            )
        x0 = np.ldexp(x0, -shift)
        if np.any(An[active] @ x0 + cn[active] <= 0):
            x0 = None  # not strictly inside: ignore the hint
    certified = np.zeros(m, bool)
    if x0 is not None:
        rng = np.random.default_rng(0)
        certified = _ray_certificates(An, cn, x0, active, tol, rng=rng)
    # axis-aligned rows (one non-zero entry) become variable bounds: HiGHS treats
    # bounds natively, which keeps LPs over a domain box cheap in high dimension
    nnz = np.count_nonzero(An, axis=1)
    axis = (nnz == 1) & ~zero
    axis_k = np.argmax(An != 0, axis=1)
    axis_pos = An[np.arange(m), axis_k] > 0
    if boundary_point is not None:
        bp = np.ldexp(as_float_array(boundary_point, "boundary_point", ndim=1), -shift)
        if bp.shape[0] == d:
            certified |= _point_certificates(An, cn, bp, active, axis, axis_k, axis_pos, tol)
            if x0 is not None:
                # rays from points between the centre and the boundary point reach other
                # faces (those near the point) unobstructed
                for w in (0.5, 0.9):
                    xw = x0 + w * (bp - x0)
                    certified |= _ray_certificates(An, cn, xw, active, tol, targets=active & ~certified,
                                                   n_random=64, rng=np.random.default_rng(1))
    todo = active & ~certified
    if x0 is not None and todo.any():
        certified |= _projection_certificates(An, cn, x0, active, todo, tol)
        todo = active & ~certified
    if not todo.any():
        return red
    if _highs_instance(tol) is not None and todo.sum() > 1:
        _redundancy_warm(An, cn, active, todo, red, axis, axis_k, axis_pos, tol)
        return red
    for i in np.flatnonzero(todo):
        if _row_is_redundant(An, cn, active, i, axis, axis_k, axis_pos, tol):
            red[i] = True
            active[i] = False
    return red


def _row_is_redundant(An, cn, active, i, axis, axis_k, axis_pos, tol):
    """One redundancy LP on its own: is row ``i`` implied by the other active rows?"""
    d = An.shape[1]
    others = active.copy()
    others[i] = False
    gen = others & ~axis
    lo = np.full(d, -np.inf)
    hi = np.full(d, np.inf)
    ax = np.flatnonzero(others & axis)
    low_rows = ax[axis_pos[ax]]  # x_k >= -c
    up_rows = ax[~axis_pos[ax]]  # x_k <= c
    np.maximum.at(lo, axis_k[low_rows], -cn[low_rows])
    np.minimum.at(hi, axis_k[up_rows], cn[up_rows])
    bounds = [(None if not np.isfinite(a) else a, None if not np.isfinite(b) else b) for a, b in zip(lo, hi)]
    # minimise a_i x + c_i  s.t.  a_j x + c_j >= 0 (j in others), a_i x + c_i >= -1
    rows = np.vstack([An[gen], An[i : i + 1]])
    offs = np.concatenate([cn[gen], [cn[i] + 1.0]])
    res = _linprog(An[i], -rows, offs, bounds, tol, f"redundancy (row {i})")
    if res.status == 2:
        raise EmptyPolytopeError(
            "the polytope {x : A x + c >= 0} is empty (a redundancy LP is "
            "infeasible); redundancy is undefined for an empty set."
        )
    if res.status == 3:  # cannot happen with the -1 floor; treat as a facet
        return False
    return bool(res.fun + cn[i] >= -tol.lp)
