"""Inspheres (Chebyshev balls) of polytopes ``{x : A x + c >= 0}``.

* :func:`insphere` -- the largest ball inside one polytope (optionally clipped
  to a domain box): centre, radius and the slack of every constraint;
* :func:`inspheres` -- the same for many polytopes at once (a batch in, flat
  arrays plus offsets out).
"""

from dataclasses import dataclass

import numpy as np

from .. import _lp
from .._validation import as_float_array, check_choice
from ..exceptions import DomainError, NonFiniteError, ShapeError, SolverError, ValidationError
from ..tolerance import get_tol
from .._progress import progress_bar
from ._common import _domain_rows, _readonly, _reraise_indexed
from .._repr import summary_repr

__all__ = [
    "Insphere",
    "InsphereBatch",
    "insphere",
    "inspheres",
]

_STATUS_OPTIMAL = "optimal"
_STATUS_FLAT = "flat"


# ---------------------------------------------------------------------------
# insphere of one polytope
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Insphere:
    """Largest ball inside a polytope (result of :func:`insphere`).

    Attributes
    ----------
    centre : (d,) float
        Centre of a largest inscribed ball (not unique in general).
    radius : float
        Its radius (0 for a polytope without interior).
    slack : (m,) float
        ``A @ centre + c`` for every row of ``A`` (not normalised): every row has
        ``slack[i] >= radius * |A_i|`` up to the LP tolerance.
    domain_slack : (2 d,) float
        Slack of the domain rows ``centre - lower`` then ``upper - centre``
        (empty when no domain was given).
    status : str
        ``"optimal"`` when ``radius > tol.lp``; ``"flat"`` when the polytope is
        non-empty but has no interior (radius within ``tol.lp`` of 0).
    solver_status : int
        HiGHS status code (0 = optimal).
    """

    __repr__ = summary_repr

    centre: np.ndarray
    radius: float
    slack: np.ndarray
    domain_slack: np.ndarray
    status: str
    solver_status: int = 0

    @property
    def dim(self):
        """Dimension ``d`` of the ambient space."""
        return int(self.centre.shape[0])



def _check_rows(A, c, name_A="A", name_c="c"):
    A = as_float_array(A, name_A)
    c = as_float_array(c, name_c)
    if A.ndim != 2:
        raise ShapeError(
            f"{name_A} must be a 2-D array (m, d) of constraint normals, got shape {A.shape}; "
            f"use {name_A}.reshape(1, -1) for a single constraint."
        )
    if A.shape[1] == 0:
        raise ShapeError(f"{name_A} must have at least one column (d >= 1), got shape {A.shape}.")
    if c.ndim != 1 or c.shape[0] != A.shape[0]:
        raise ShapeError(
            f"{name_c} must have shape ({A.shape[0]},) to match {name_A} of shape {A.shape}, "
            f"got {c.shape}."
        )
    return A, c


def _row_exponents(A, c):
    """``e`` with ``(A_i, c_i) 2^-e_i`` the same constraint (any positive scaling is),
    its largest normal entry in [1/2, 1); a zero row is scaled by ``|c_i|`` instead,
    so that only the sign of its constant survives (``0 >= -c_i`` holds or not)."""
    zero = ~A.any(axis=1) if A.size else np.ones(A.shape[0], bool)
    return _lp.row_exponents(A, np.where(zero, c, 0.0))


def _ball(A, c, box, tol, e=None):
    """Chebyshev ball of ``A x + c >= 0`` intersected with box rows (or None).

    Each row ``(A_i, c_i)`` is first scaled by the power of two ``2^-e_i`` (exact;
    the polytope and its balls do not change), so rows near 1e300 or 1e-300 give
    the same ball as unscaled ones instead of overflowing, underflowing or counting
    as zero next to larger rows.
    """
    dead = ~np.any(A != 0, axis=1) & (c < 0)
    if np.any(dead):
        i = int(np.argmax(dead))
        raise _lp.EmptyPolytopeError(
            f"the polytope {{x : A x + c >= 0}} is empty: row {i} has a zero normal and "
            f"c[{i}]={float(c[i])!r} < 0 (a constant constraint that never holds)."
        )
    if e is None:
        e = _row_exponents(A, c)
    A = np.ldexp(A, -e[:, None])
    with np.errstate(over="ignore"):
        c = np.ldexp(c, -e)
    _lp.check_in_range(c)
    # a hyperplane beyond float64 range with the origin on its inner side holds at every
    # representable point: dropped
    far = c == np.inf
    if np.any(far):
        A, c = A[~far], c[~far]
    if box is not None:
        A = np.vstack([A, box[0]])
        c = np.concatenate([c, box[1]])
    try:
        return _lp.chebyshev_ball(A, c, tol=tol)
    except _lp.UnboundedRadiusError as err:
        if box is not None:  # a finite box bounds every ball: only float64 range fails
            raise DomainError(
                "the domain box is too wide for float64: its faces lie near the largest "
                f"float ({float(np.abs(box[1]).max()):.3g} from the origin), where the "
                "ball's constraints overflow; pass a domain with bounds within about 1e300."
            ) from err
        raise _lp.UnboundedRadiusError(
            "the insphere radius is unbounded: {x : A x + c >= 0} contains arbitrarily "
            "large balls (the region is unbounded); pass domain=(lower, upper), e.g. "
            "domain=(0, 1) for inputs in the unit box."
        ) from err


def _make_insphere(A, c, box, ball, tol, e=None):
    centre = np.asarray(ball.centre, dtype=np.float64)
    if e is None:
        e = _row_exponents(A, c)
    # slack row by row on the scaled rows (no overflow in the products), scaled back
    with np.errstate(over="ignore", invalid="ignore"):
        slack = np.ldexp(np.ldexp(A, -e[:, None]) @ centre + np.ldexp(c, -e), e)
        bad = ~np.isfinite(slack)
        if np.any(bad):  # a scaled offset overflowed (a far hyperplane): unscaled rows
            slack[bad] = A[bad] @ centre + c[bad]
    if not np.all(np.isfinite(slack)):
        i = int(np.argmax(~np.isfinite(slack)))
        raise NonFiniteError(
            f"the slack A[{i}] @ centre + c[{i}] of row {i} exceeds float64 (about "
            f"{float(np.ldexp(np.abs(A[i]).max(), -e[i])):.3g} * 2^{int(e[i])} times the "
            f"centre); the ball is unchanged by scaling a row and its offset, so scale "
            f"row {i} of A and c[{i}] down."
        )
    dslack = box[0] @ centre + box[1] if box is not None else np.zeros(0)
    status = _STATUS_OPTIMAL if ball.radius > tol.lp else _STATUS_FLAT
    return Insphere(
        centre=_readonly(centre),
        radius=float(ball.radius),
        slack=_readonly(slack),
        domain_slack=_readonly(dslack),
        status=status,
        solver_status=int(ball.status),
    )


def insphere(A, c, *, domain=None, tol=None):
    """Largest ball inside the polytope ``{x : A x + c >= 0}`` (Chebyshev ball).

    Parameters
    ----------
    A : (m, d) float
        Constraint normals (``m`` may be 0 when a domain is given).
    c : (m,) float
        Offsets.
    domain : (lower, upper), optional
        Box the ball must also lie in: scalars or ``(d,)`` arrays, e.g.
        ``(0, 1)`` for images scaled to the unit box.  Needed when the polytope
        is unbounded.
    tol : Tolerance, optional
        ``tol.lp`` is the LP feasibility tolerance and the radius below which the
        polytope counts as flat.

    Returns
    -------
    Insphere
        ``centre (d,)``, ``radius``, ``slack (m,) = A @ centre + c``,
        ``domain_slack (2 d,)``, ``status`` (``"optimal"`` or ``"flat"``).

    Raises
    ------
    ShapeError, NonFiniteError
        If ``A``, ``c`` or the domain have the wrong shape or hold NaN/inf, or if a
        slack exceeds float64 (scale that row and its offset down).
    DomainError
        If the polytope (intersected with the domain) is empty, if the radius
        is unbounded and no domain was given (the message suggests
        ``domain=``), or if the domain box is inverted.
    SolverError
        If HiGHS fails (iteration limit, numerical trouble); ``status`` holds
        scipy's ``linprog`` code.

    Notes
    -----
    One linear program in ``(x, r)``: maximise ``r`` subject to
    ``A_i x + c_i >= r |A_i|`` for every row (and every domain face) and
    ``r >= 0``; solved by HiGHS through :func:`polyfold._lp.chebyshev_ball`
    with rows normalised to unit length.  Scaling a row ``(A_i, c_i)`` by any
    ``s > 0`` changes neither the polytope nor its balls, so every row is first
    scaled by a power of two (exact) that brings its largest entry into [1/2, 1):
    rows of magnitude 1e300 and 1e-300 side by side give the unscaled answer,
    and every nonzero row counts, however small next to the others.  A row with
    a zero normal (a dead or constant unit) is a constant constraint
    ``c_i >= 0``: dropped if it holds, and the polytope is empty otherwise
    (``c_i < 0``, however small).  A hyperplane farther than float64 range from
    the origin is dropped when the origin is on its inner side, and raises
    DomainError otherwise.  The radius is the optimal
    value of the LP and is unique; the centre is one optimal point and need not
    be unique (a rectangle has a segment of centres).

    References
    ----------
    S. Boyd and L. Vandenberghe, *Convex Optimization*, Sec. 8.5.1 (2004).

    X. Zhang and D. Wu, "Empirical Studies on the Properties of Linear Regions
    in Deep Neural Networks", ICLR 2020, arXiv:2001.01072.

    Examples
    --------
    The triangle ``x >= 0, y >= 0, x + y <= 1`` has radius ``(2 - sqrt 2) / 2``:

    >>> import numpy as np
    >>> from polyfold import insphere
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    >>> c = np.array([0.0, 0.0, 1.0])
    >>> ball = insphere(A, c)
    >>> round(ball.radius, 6), np.round(ball.centre, 6).tolist(), ball.status
    (0.292893, [0.292893, 0.292893], 'optimal')

    The half-plane ``x >= 0`` clipped to the unit square:

    >>> round(insphere([[1.0, 0.0]], [0.0], domain=(0, 1)).radius, 6)
    0.5
    """
    tol = get_tol(tol)
    A, c = _check_rows(A, c)
    box = _domain_rows(domain, A.shape[1])
    ball = _ball(A, c, box, tol)
    return _make_insphere(A, c, box, ball, tol)


# ---------------------------------------------------------------------------
# batched
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class InsphereBatch:
    """Inspheres of many polytopes (result of :func:`inspheres`).

    Attributes
    ----------
    centres : (n, d) float
        One centre per polytope (NaN rows for failures with ``on_error="nan"``).
    radii : (n,) float
        Radii (NaN for failures with ``on_error="nan"``).
    slack : (sum m_i,) float
        Slacks of all polytopes' rows, concatenated.
    slack_offsets : (n + 1,) int64
        ``slack[slack_offsets[i]:slack_offsets[i + 1]]`` belongs to polytope ``i``.
    domain_slack : (n, 2 d) float
        Slacks of the domain rows (``(n, 0)`` without a domain).
    status : (n,) str
        ``"optimal"``, ``"flat"``, or for failures with ``on_error="nan"``
        ``"empty"``, ``"unbounded"``, ``"solver"``.
    solver_status : (n,) int
        HiGHS status codes (-1 where no LP result is available).
    """

    __repr__ = summary_repr

    centres: np.ndarray
    radii: np.ndarray
    slack: np.ndarray
    slack_offsets: np.ndarray
    domain_slack: np.ndarray
    status: np.ndarray
    solver_status: np.ndarray

    def __len__(self):
        return int(self.radii.shape[0])

    def to_pandas(self):
        """One row per polytope (needs pandas).

        Columns: ``polytope`` (index), ``radius``, ``status``, ``solver_status``,
        ``n_rows`` (constraint rows of the polytope, domain rows aside) and
        ``centre`` (the centre, one array per row).

        Examples
        --------
        >>> import numpy as np
        >>> from polyfold import inspheres
        >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
        >>> df = inspheres([A, A[:2]], [[0.0, 0.0, 1.0], [0.0, 0.0]], domain=(0, 1)).to_pandas()
        >>> df["radius"].round(6).tolist(), df["n_rows"].tolist()   # triangle, unit square
        ([0.292893, 0.5], [3, 2])
        """
        from .._tables import to_dataframe

        return to_dataframe({
            "polytope": np.arange(len(self), dtype=np.int64),
            "radius": np.asarray(self.radii, dtype=np.float64),
            "status": [str(s) for s in self.status],
            "solver_status": np.asarray(self.solver_status, dtype=np.int64),
            "n_rows": np.diff(self.slack_offsets).astype(np.int64),
            "centre": [c for c in np.asarray(self.centres)],
        }, "InsphereBatch")

    def __getitem__(self, i):
        """The :class:`Insphere` of polytope ``i``."""
        n = len(self)
        if n == 0:
            raise ValidationError(f"the batch is empty (no polytopes); there is no index {i!r}.")
        if (isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer))
                or not -n <= i < n):
            raise ValidationError(f"index must be an integer in [-{n}, {n}), got {i!r}.")
        i = int(i) % n
        lo, hi = self.slack_offsets[i], self.slack_offsets[i + 1]
        return Insphere(
            centre=self.centres[i],
            radius=float(self.radii[i]),
            slack=self.slack[lo:hi],
            domain_slack=self.domain_slack[i],
            status=str(self.status[i]),
            solver_status=int(self.solver_status[i]),
        )



def _as_list(seq, name, what, ndim):
    """``seq`` as a list of per-polytope arrays (a clear error for anything else)."""
    if isinstance(seq, np.ndarray) and seq.ndim != ndim:
        raise ShapeError(
            f"{name} must be a sequence of {what}, got an array of shape {seq.shape}; "
            "for one polytope call insphere(A, c)."
        )
    if isinstance(seq, (str, bytes)) or not hasattr(seq, "__iter__"):
        raise ValidationError(
            f"{name} must be a sequence of {what}, got {type(seq).__name__}; "
            "for one polytope call insphere(A, c)."
        )
    return list(seq)


def inspheres(As, cs, *, domain=None, on_error="raise", tol=None, progress=False):
    """Inspheres of many polytopes ``{x : A_i x + c_i >= 0}`` (one LP each).

    Parameters
    ----------
    As : sequence of (m_i, d) float
        Constraint normals of each polytope (same ``d`` for all).
    cs : sequence of (m_i,) float
        Offsets of each polytope.
    domain : (lower, upper), optional
        Box intersected with every polytope (see :func:`insphere`).
    on_error : {"raise", "nan"}
        ``"raise"`` re-raises the first failure with the polytope's index in the
        message; ``"nan"`` records it (radius NaN, ``status`` ``"empty"``,
        ``"unbounded"`` or ``"solver"``) and goes on.
    tol : Tolerance, optional
    progress : bool or None
        Show a tqdm progress bar (None: only when stderr is a terminal).

    Returns
    -------
    InsphereBatch
        Flat arrays; ``batch[i]`` gives the :class:`Insphere` of polytope ``i``.

    Raises
    ------
    ValidationError, ShapeError
        If ``As`` and ``cs`` differ in length or the dimensions differ.
    DomainError, SolverError
        As :func:`insphere`, with ``on_error="raise"``.

    Examples
    --------
    >>> import numpy as np
    >>> from polyfold.statistics import inspheres
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    >>> batch = inspheres([A, 2 * A], [np.array([0, 0, 1.0]), np.array([0, 0, 4.0])])
    >>> np.round(batch.radii, 6).tolist()
    [0.292893, 0.585786]
    >>> batch[1].slack.shape
    (3,)
    """
    tol = get_tol(tol)
    check_choice("on_error", on_error, ("raise", "nan"))
    As = _as_list(As, "As", "(m_i, d) arrays (or an (n, m, d) array)", 3)
    cs = _as_list(cs, "cs", "(m_i,) arrays (or an (n, m) array)", 2)
    if len(As) != len(cs):
        raise ValidationError(
            f"As and cs must have the same length (one offset vector per polytope), "
            f"got {len(As)} and {len(cs)}."
        )
    checked = [_check_rows(A, c, f"As[{i}]", f"cs[{i}]") for i, (A, c) in enumerate(zip(As, cs))]
    dims = {A.shape[1] for A, _ in checked}
    if len(dims) > 1:
        raise ShapeError(
            f"all polytopes must live in the same dimension, got d in {sorted(dims)}; "
            "batch polytopes of one dimension together."
        )
    n = len(checked)
    d = dims.pop() if dims else 0
    box = _domain_rows(domain, d) if n else None
    centres = np.full((n, d), np.nan)
    radii = np.full(n, np.nan)
    offsets = np.zeros(n + 1, np.int64)
    offsets[1:] = np.cumsum([len(c) for _, c in checked])
    slack = np.full(int(offsets[-1]), np.nan)
    dslack = np.full((n, 0 if box is None else 2 * d), np.nan)
    status = np.empty(n, dtype=object)
    sstatus = np.full(n, -1, np.int64)
    for i in progress_bar(range(n), total=n, progress=progress, desc="inspheres"):
        A, c = checked[i]
        try:
            ball = _ball(A, c, box, tol)
        except (DomainError, SolverError) as err:
            if on_error == "raise":
                raise _reraise_indexed(err, f"polytope {i}") from err
            if isinstance(err, _lp.UnboundedRadiusError):
                status[i] = "unbounded"
            elif isinstance(err, SolverError):
                status[i] = "solver"
                sstatus[i] = -1 if err.status is None else int(err.status)
            else:
                status[i] = "empty"
            continue
        try:
            one = _make_insphere(A, c, box, ball, tol)
        except NonFiniteError as err:
            raise _reraise_indexed(err, f"polytope {i}") from err
        centres[i] = one.centre
        radii[i] = one.radius
        slack[offsets[i] : offsets[i + 1]] = one.slack
        if box is not None:
            dslack[i] = one.domain_slack
        status[i] = one.status
        sstatus[i] = one.solver_status
    return InsphereBatch(
        centres=_readonly(centres),
        radii=_readonly(radii),
        slack=_readonly(slack),
        slack_offsets=_readonly(offsets, np.int64),
        domain_slack=_readonly(dslack),
        status=_readonly(status.astype(str) if n else np.zeros(0, str), None),
        solver_status=_readonly(sstatus, np.int64),
    )
