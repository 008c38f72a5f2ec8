"""Public constructors: :func:`box_complex`, :func:`polytope_complex`, :func:`space_complex`."""

import contextlib

import numpy as np

from .._progress import progress_enabled
from .._validation import as_float_array, check_mode
from ..exceptions import DomainError, ShapeError, ValidationError
from ..network import check_net
from ..tolerance import get_tol
from ._engine import Engine
from .result import CellComplex

MAX_DIM = 8


def _check_dim(net, max_dim, name, lowest=1):
    d = net.input_dim
    if d > max_dim:
        raise ValidationError(
            f"{name} handles input dimension <= max_dim={max_dim}, got input_dim={d}; "
            "the number of regions explodes with d: use "
            "polyfold.slice_complex(net, origin, e1, e2, bounds=...) for a 2D slice, or "
            "raise max_dim if you accept the cost."
        )
    if d < lowest:
        raise ValidationError(f"{name} needs input_dim >= {lowest}, got {d}.")
    return d


def _regions(eng):
    """Cell -> region map (cells with equal codes form one region) and region codes."""
    codes = eng.codes
    if len(codes) == 0:
        return np.zeros(0, np.int64), codes
    if codes.shape[1] == 0:  # no hidden unit: one region
        return np.zeros(len(codes), np.int64), codes[:1]
    rows = np.ascontiguousarray(codes).view(np.dtype((np.void, codes.shape[1])))[:, 0]
    _, first, inv = np.unique(rows, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    # regions numbered in the order of their first cell
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    cell_region = rank[inv].astype(np.int64)
    return cell_region, codes[np.sort(first)]


class _OverflowSeen:
    """``np.errstate(call=...)`` handler: remembers that a float64 overflow happened."""

    def __init__(self):
        self.seen = False

    def __call__(self, kind, flag):
        self.seen = True


@contextlib.contextmanager
def _float_range(mode, what):
    """The engine's work on a domain, in float64 range or a :class:`DomainError`.

    Float mode has no fallback: an overflow (values of the network beyond 1.8e308 at
    the domain's vertices) would give a wrong complex, so it raises.  Certified mode
    recomputes non-finite values exactly and raises only when an exact value has no
    float64 neighbour.  Exact mode has no range limit."""
    if mode == "exact":
        yield
        return
    flag = _OverflowSeen()
    msg = (
        f"the {what} is too large for float64 in mode={mode!r}: values of the network on "
        "it exceed 1.8e308; use mode='exact' (rationals have no range limit), "
        "space_complex(net) for the whole input space, or a domain within about 1e300."
    )
    try:
        with np.errstate(over="call", invalid="call", call=flag):
            yield
    except OverflowError as err:  # an exact value beyond float64 (certified recomputation)
        raise DomainError(msg) from err
    if flag.seen and mode == "float":
        raise DomainError(msg)


def box_complex(net, lower, upper, *, mode="certified", max_dim=MAX_DIM, tol=None, progress=None):
    """The polyhedral complex of ``net`` inside the box ``lower <= x <= upper``.

    Parameters
    ----------
    net : PLNet or PLGraph
        Input dimension 2..``max_dim``.
    lower, upper : float or (d,) float
    mode : {"certified", "float", "exact"}
        ``"certified"`` (default) and ``"exact"`` are complete: every region,
        however thin, is found (see :mod:`polyfold.complexes`).
    max_dim : int
        Largest input dimension accepted (default 8).
    tol : Tolerance, optional
    progress : bool or None
        A progress bar of the units done on standard error; ``None``: when attached to
        a terminal and the net has 64 units or more.

    Returns
    -------
    CellComplex
        ``kind="box"`` for d >= 3.  Two-dimensional boxes go through the polygon
        engine of :func:`~polyfold.slice_complex` and return a slice
        :class:`~polyfold.slices.RegionComplex` (``kind="slice"``).

    Raises
    ------
    DomainError
        If the box is empty or inverted.
    ValidationError
        If ``net.input_dim > max_dim`` (use :func:`slice_complex` instead) or < 2,
        or ``mode`` is unknown.

    Examples
    --------
    >>> from polyfold import zoo
    >>> net = zoo.arrangement(5, 3, seed=0)
    >>> cx = box_complex(net, -100.0, 100.0)
    >>> cx.n_regions                # 1 + 5 + C(5, 2) + C(5, 3) planes in general position
    26
    >>> sum((-1) ** k * f for k, f in enumerate(cx.f_vector))   # a closed ball
    1
    """
    from .. import _lp

    net = check_net(net)
    tol = get_tol(tol)
    mode = check_mode(mode)
    progress_enabled(progress)  # checks the keyword, whatever the path
    d = _check_dim(net, max_dim, "box_complex", lowest=2)
    A, c = _lp.box_rows(lower, upper, d, name="box (lower, upper)")
    lo, hi = -c[:d], c[d:]
    if np.any(lo >= hi):
        k = int(np.argmax(lo >= hi))
        raise DomainError(
            f"the box is empty: lower[{k}] = {lo[k]!r} >= upper[{k}] = {hi[k]!r}; pass "
            "lower < upper in every coordinate."
        )
    if d == 2:
        from ..slices._domain import _domain_polygon
        from ..slices.planes import _build_slice

        return _build_slice(net, np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0]),
                            _domain_polygon((lo[0], hi[0], lo[1], hi[1]), None, tol), mode, tol)
    with _float_range(mode, "box"):
        eng = Engine(net, mode, tol)
        eng.init_box(lo, hi)
        eng.run(progress=progress)
    return CellComplex(net, "box", mode, eng, tol, (A, c), regions=_regions(eng))


def polytope_complex(net, A, c, *, mode="certified", max_dim=MAX_DIM, tol=None, progress=None):
    """The polyhedral complex of ``net`` inside the polytope ``{x : A x + c >= 0}``.

    Parameters
    ----------
    net : PLNet or PLGraph
    A : (m, d) float
    c : (m,) float
        A bounded polytope with non-empty interior (redundant rows are allowed).
    mode : {"certified", "float", "exact"}
    max_dim : int
    tol : Tolerance, optional
    progress : bool or None
        A progress bar of the units done on standard error; ``None``: when attached to
        a terminal and the net has 64 units or more.

    Returns
    -------
    CellComplex (``kind="polytope"``)

    Raises
    ------
    DomainError
        If the polytope is empty, has no interior, or is unbounded.
    ShapeError
        If ``A`` is not ``(m, input_dim)`` or ``c`` not ``(m,)``.

    Notes
    -----
    The polytope's own face lattice is built by splitting a bounding box by every
    row (in the same arithmetic) and keeping the inside; a bounding box is found
    with LPs and enlarged until none of its facets survives.

    Examples
    --------
    >>> import numpy as np
    >>> from polyfold import zoo
    >>> net = zoo.arrangement(3, 3, seed=1)
    >>> A = np.vstack([np.eye(3), -np.ones((1, 3))]); c = np.array([50.0, 50, 50, 50])
    >>> cx = polytope_complex(net, A, c)
    >>> cx.f_vector[0] >= 4 and sum((-1) ** k * f for k, f in enumerate(cx.f_vector))
    1
    """
    from .. import _lp

    net = check_net(net)
    tol = get_tol(tol)
    mode = check_mode(mode)
    progress_enabled(progress)  # checks the keyword, whatever the path
    A = as_float_array(A, "A", ndim=2)
    c = as_float_array(c, "c", ndim=1)
    d = net.input_dim
    if A.shape[1] != d or c.shape[0] != A.shape[0]:
        raise ShapeError(
            f"A must have shape (m, {d}) and c shape (m,) for input_dim={d}, got "
            f"{A.shape} and {c.shape}."
        )
    _check_dim(net, max_dim, "polytope_complex", lowest=2)
    ball = _lp.chebyshev_ball(A, c, tol=tol)  # raises DomainError if empty or unbounded
    scale = 1.0 + float(np.abs(ball.centre).max()) + ball.radius
    if ball.radius <= tol.lp * scale:
        raise DomainError(
            "the polytope {x : A x + c >= 0} has no interior (Chebyshev radius "
            f"{ball.radius:.3g}); pass a full-dimensional domain."
        )
    lo, hi = _bounding_box(A, c, tol)
    labels = -1 - (2 * d + np.arange(len(c)))
    with _float_range(mode, "polytope"):
        for _ in range(8):
            eng = Engine(net, mode, tol)
            eng.init_polytope(lo, hi, A, c)
            eng.clip_all(labels)
            if not np.any(eng.lat.label >= -2 * d) or np.all(eng.lat.label < -2 * d):
                break
            # a facet of the bounding box survived: it was not strictly outside
            span = hi - lo
            lo, hi = lo - span, hi + span
        else:  # pragma: no cover - the LP bounds are off by far more than rounding
            raise DomainError("could not find a box containing the polytope; check A and c.")
        eng.run(progress=progress)
    return CellComplex(net, "polytope", mode, eng, tol, (A, c), regions=_regions(eng))


def _bounding_box(A, c, tol):
    from .. import _lp

    d = A.shape[1]
    # unit rows and offsets brought near 1 by a power of two (exact): HiGHS reads
    # bounds beyond 1e20 as infinite, so a polytope of half-width 1e21 would look
    # unbounded; the box is scaled back
    An, cn, zero = _lp.normalize_rows(A, c, tol=tol)
    An, cn = An[~zero], cn[~zero]
    shift = _lp.offset_shift(cn, 2.0**10)
    cn = np.ldexp(cn, -shift)
    lo = np.empty(d)
    hi = np.empty(d)
    for k in range(d):
        for sgn, out in ((1.0, lo), (-1.0, hi)):
            cost = np.zeros(d)
            cost[k] = sgn
            r = _lp._linprog(cost, -An, cn, [(None, None)] * d, tol, "bounding box")
            if r.status != 0:
                raise DomainError(
                    "the polytope {x : A x + c >= 0} is unbounded or empty (LP status "
                    f"{r.status}); pass a bounded polytope with non-empty interior."
                )
            out[k] = r.x[k]
    span = np.maximum(hi - lo, 2.0**-shift)
    with np.errstate(over="ignore"):  # (beyond float64: refused below)
        lo, hi = np.ldexp(lo - 0.01 * span, shift) - 1.0, np.ldexp(hi + 0.01 * span, shift) + 1.0
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise DomainError(
            "the polytope {x : A x + c >= 0} reaches beyond float64 range (about 1.8e308): "
            "no box around it can be represented; pass a polytope within about 1e300."
        )
    return lo, hi


def space_complex(net, *, mode="certified", max_dim=MAX_DIM, tol=None, progress=None):
    """The polyhedral complex of ``net`` on the whole input space ``R^d``.

    Parameters
    ----------
    net : PLNet or PLGraph
        Input dimension 1..``max_dim``.
    mode : {"certified", "float", "exact"}
    max_dim : int
    tol : Tolerance, optional
    progress : bool or None
        A progress bar of the units done on standard error; ``None``: when attached to
        a terminal and the net has 64 units or more.

    Returns
    -------
    CellComplex (``kind="space"``)
        Every region of ``R^d``, bounded or not (:attr:`CellComplex.is_bounded`);
        :attr:`CellComplex.f_vector` counts the cells of ``R^d``;
        :attr:`CellComplex.enclosing_box` gives a box with the same complex.

    Notes
    -----
    The complex is computed on the box ``[-M, M]^d`` for a formal, infinitely
    large ``M`` (see :mod:`polyfold.complexes`): exact, not a heuristic large box.

    Examples
    --------
    >>> from polyfold import zoo
    >>> net = zoo.arrangement(4, 2, seed=0)          # 4 lines in general position
    >>> cx = space_complex(net)
    >>> cx.n_regions, int(cx.is_bounded.sum())       # 1 + 4 + 6 regions, C(3, 2) bounded
    (11, 3)
    """
    net = check_net(net)
    tol = get_tol(tol)
    mode = check_mode(mode)
    progress_enabled(progress)  # checks the keyword, whatever the path
    _check_dim(net, max_dim, "space_complex")
    eng = Engine(net, mode, tol)
    eng.init_space()
    eng.run(progress=progress)
    return CellComplex(net, "space", mode, eng, tol, None, regions=_regions(eng))
