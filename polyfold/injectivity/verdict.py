"""The injectivity verdict of one ReLU layer.

:func:`check_injectivity` decides exactly whether ``C_alpha`` is injective on a
box, a polytope, the whole space or a finite data set, and returns an
:class:`InjectivityVerdict` with a witness pair of colliding points when it is
not.  Part of :mod:`polyfold.injectivity`, which re-exports the public names.
"""

from dataclasses import dataclass, field

import numpy as np

from .._validation import check_positive_int
from ..tolerance import get_tol
from .. import arith
from ._exact import (
    _collision_pair,
    _dyadic_pairs,
    _exact_tuple,
    _integer_null_vectors,
    _preact_signs,
    _RankCache,
    _relu_exact,
)
from .cells import _initial_cell, _parse_domain, _refine
from .layers import _check_exact, _power_of_two_rows, _readonly, _resolve
from .._repr import summary_repr


# ---------------------------------------------------------------------------
# the verdict
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class InjectivityVerdict:
    """Result of :func:`check_injectivity`.

    Attributes
    ----------
    is_injective : bool
        The verdict (see :func:`check_injectivity` for its exact meaning per domain).
    domain_kind : str
        ``"space"`` (R^n), ``"box"``, ``"polytope"``, ``"points"``, or for deeper
        layers in :func:`check_network_injectivity` ``"regions"``.
    n_pieces : int
        Number of open cells of the arrangement inside the domain, or of points.
    active_sets : (n_pieces, m) bool
        Active set of each cell / point.
    ranks : (n_pieces,) int
        Rank of the active rows (exact when ``exact``).
    interior_points : (n_pieces, n) float
        A point strictly inside each cell (Chebyshev centre), or the points.
    radii : (n_pieces,) float or None
        Inscribed radius of each cell.
    failing : (n_pieces,) bool
        Cells / points whose active rows do not span.
    witness_index : int or None
        A failing cell / point.
    witness_point, colliding_point : (n,) float or None
        Two distinct points with the same output (when not injective).  When
        ``floats_collide`` they collide exactly as they are (exact binary
        rationals); otherwise ``colliding_point`` is the nearest float of
        ``colliding_exact``.
    collision_verified : bool
        The exact pair ``witness_exact``, ``colliding_exact`` was checked to
        have exactly equal outputs (rational arithmetic) and to lie in the
        domain.
    exact : bool
        Active sets and ranks decided in exact arithmetic.
    notes : str
    witness_exact, colliding_exact : tuple of fractions.Fraction or None
        The exact colliding pair (``len == n``): recompute
        ``ReLU(W x - alpha)`` with ``fractions.Fraction`` to verify the verdict.
    floats_collide : bool
        ``witness_point`` and ``colliding_point`` themselves have exactly equal
        outputs (then they equal ``witness_exact`` and ``colliding_exact``).
        They are chosen as a dyadic step ``2^-k delta`` along a short integer
        vector ``delta`` of the kernel of the active rows (LLL-reduced), from a
        point on the grid ``2^-k``; when every such step is too long for the
        cell or needs more than 53 bits (typically a one-dimensional kernel of
        rows with full-precision weights), no float pair was found and only the
        exact pair collides.

    Notes
    -----
    Verify a verdict without polyfold::

        from fractions import Fraction as F
        out = lambda x: [max(sum(F(w) * xi for w, xi in zip(row, x)) - F(a), 0)
                         for row, a in zip(W.tolist(), alpha.tolist())]
        assert out(v.witness_exact) == out(v.colliding_exact)
    """

    __repr__ = summary_repr

    is_injective: bool
    domain_kind: str
    n_pieces: int
    active_sets: np.ndarray
    ranks: np.ndarray
    interior_points: np.ndarray
    radii: object
    failing: np.ndarray
    witness_index: object = None
    witness_point: object = None
    colliding_point: object = None
    collision_verified: bool = False
    exact: bool = True
    notes: str = ""
    witness_exact: object = field(default=None, repr=False)
    colliding_exact: object = field(default=None, repr=False)
    floats_collide: bool = False

    @property
    def witness_active_set(self):
        """Active set of the witness cell / point, or None."""
        return None if self.witness_index is None else self.active_sets[self.witness_index]

    def to_pandas(self):
        """One row per cell (or data point) checked (needs pandas).

        Columns: ``piece`` (index), ``n_active`` (active rows), ``rank`` (of the
        active rows), ``failing`` (they do not span), ``radius`` (inscribed radius of
        the cell; NaN for data points) and ``interior_point`` (one array per row).

        Examples
        --------
        >>> import numpy as np
        >>> from polyfold.injectivity import check_injectivity
        >>> W = np.array([[1.0], [-1.0]])             # ReLU(x), ReLU(-x - 1)
        >>> df = check_injectivity(W, alpha=[0.0, 1.0], domain=(-2.0, 2.0)).to_pandas()
        >>> df.sort_values("rank")[["n_active", "rank", "failing"]].values.tolist()
        [[0, 0, True], [1, 1, False], [1, 1, False]]
        """
        from .._tables import to_dataframe

        n = int(self.n_pieces)
        radii = np.full(n, np.nan) if self.radii is None else np.asarray(self.radii, np.float64)
        return to_dataframe({
            "piece": np.arange(n, dtype=np.int64),
            "n_active": np.count_nonzero(np.asarray(self.active_sets), axis=1).astype(np.int64),
            "rank": np.asarray(self.ranks, dtype=np.int64),
            "failing": np.asarray(self.failing, dtype=bool),
            "radius": radii,
            "interior_point": [p for p in np.asarray(self.interior_points)],
        }, "InjectivityVerdict")


def check_injectivity(W, *, alpha=None, bias=None, domain=None, exact=True, max_cells=20_000, tol=None):
    """Exact injectivity verdict of a ReLU layer on a box, a polytope, R^n or data.

    Parameters
    ----------
    W : (m, n) float, ``(net, layer)`` or torch ``nn.Linear``
    alpha, bias : (m,) float or scalar
        The bias, exactly one convention (``ReLU(W x - alpha)`` or
        ``ReLU(W x + bias)``); optional for a PLNet layer / torch Linear.
    domain : None, (lower, upper), (A, c), (k, n) ndarray, Box, Polytope or Points
        ``None``: all of R^n.  ``(lower, upper)`` with scalars or (n,) arrays: a box.
        ``(A, c)`` with ``A`` 2-D: the polytope ``{x : A x + c >= 0}``.  An ndarray
        (or :class:`Points`): a finite data set.
    exact : bool
        Decide active sets and ranks in exact rational arithmetic (default).
    max_cells : int
        Give up (ValidationError) when the arrangement has more cells in the domain.
    tol : Tolerance, optional
        ``tol.lp`` (scaled by the problem size) is the smallest inscribed radius of
        a cell that is resolved; ``tol.rank`` for float ranks.

    Returns
    -------
    InjectivityVerdict

    Raises
    ------
    DomainError
        Empty, inverted or lower-dimensional box / polytope.
    ValidationError, ShapeError, NonFiniteError
        Bad arguments (``exact`` not a bool, an empty set of points); more than
        ``max_cells`` cells.
    SolverError
        An LP failed.

    Notes
    -----
    *Boxes, polytopes, R^n (convex, full-dimensional K).*  The hyperplanes
    ``<x, phi_i> = alpha_i`` cut the interior of K into open cells; on an open cell
    every neuron is strictly above or strictly below its threshold, so the active
    set is constant there.  Claim: **C_alpha is injective on K iff every open cell
    has rank W_I = n.**

    * If a cell has rank < n, take ``d != 0`` with ``W_I d = 0`` and ``x`` in the
      (open) cell: for small ``t``, ``x + t d`` stays in the cell, active rows keep
      their values and inactive rows stay below threshold, so ``C(x + t d) = C(x)``.
    * If every cell has rank n, every point ``x`` of K has rank ``W_{I(x)}`` = n:
      ``x`` lies in the closure of some open cell (K is the closure of its
      interior and the hyperplanes have empty interior), and ``I(x)`` contains that
      cell's active set because ``<y, phi_i> >= alpha_i`` on the cell passes to the
      limit (boundary points only *add* active rows, which cannot lower the rank).
      Hence K is alpha-rectifying, and on a convex K that implies injectivity: if
      ``C(x) = C(x')`` with ``d = x' - x != 0``, every point ``z`` strictly inside
      the segment has ``<d, phi_i> = 0`` for all ``i`` in ``I(z)`` (active rows
      agree at both ends, rows at threshold at one end stay at or below it), so
      ``rank W_{I(z)} < n`` at a point ``z`` of K, a contradiction.

    So only the full-dimensional cells need checking; lower-dimensional faces
    cannot fail when all cells pass.  Cells are found by splitting K hyperplane by
    hyperplane with HiGHS LPs that maximise a slack margin (inscribed ball); each
    cell's sign vector is then confirmed at its centre exactly.  Cells thinner than
    ``tol.lp * scale`` are not resolved (a float limitation; a "not injective"
    verdict is always backed by an exactly verified collision).  Cost: about one LP
    per (cell, hyperplane) pair; the number of cells is at most
    ``sum_{i <= n} C(m, i)``.

    *Row scales.*  Rows ``(W_i, alpha_i)`` are scaled by powers of two first
    (exact; no cell, active set or collision changes under positive row
    scaling), so rows of 1e300 and 1e-300 in one layer give the unscaled verdict.

    *Data points.*  At least one point (an empty set would pass vacuously and is
    refused).  For each point ``x`` the verdict is whether ``x`` is the only
    preimage of ``C(x)`` in R^n (so the layer loses no information at the data,
    and in particular distinct data points have distinct outputs).  If the active
    rows ``I(x)`` (paper convention ``>=``) have rank < n, a kernel direction gives
    a second preimage (a collision, exactly verified).  If they span, but the
    strictly positive rows do not (``x`` exactly on a threshold), the point is
    still the unique preimage unless some ``d != 0`` keeps the positive rows and
    moves the threshold rows down; this rare case is decided by one LP.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[1.0], [-1.0]])                  # C(x) = (ReLU(x), ReLU(-x - 1))
    >>> check_injectivity(W, alpha=[0.0, 1.0], domain=(0.0, 2.0)).is_injective
    True
    >>> v = check_injectivity(W, alpha=[0.0, 1.0], domain=(-2.0, 2.0))
    >>> v.is_injective, v.n_pieces, sorted(v.ranks.tolist())
    (False, 3, [0, 1, 1])
    >>> v.witness_point.tolist(), v.colliding_point.tolist(), v.collision_verified
    ([-0.5], [-0.25], True)

    A PLNet layer brings its own bias (``W x + b``):

    >>> from polyfold import zoo
    >>> net = zoo.arrangement(12, 2, seed=0)
    >>> v = check_injectivity((net, 0), domain=([-1, -1], [1, 1]))
    >>> v.is_injective, v.n_pieces                      # 37 cells meet the square
    (True, 37)
    """
    tol = get_tol(tol)
    Wm, a = _resolve(W, alpha, bias)
    # rows scaled by powers of two: the verdict is the same for every positive row
    # scaling, and weights near 1e155 or 1e-160 no longer overflow or underflow
    Wm, a, _ = _power_of_two_rows(Wm, a, with_alpha=True)
    m, n = Wm.shape
    max_cells = check_positive_int(max_cells, "max_cells")
    exact = _check_exact(exact)
    kind, A, c = _parse_domain(domain, n)
    if kind == "points":
        return _check_points(Wm, a, A, exact, tol)
    return _convex_verdict(Wm, a, kind, A, c, exact, max_cells, tol)[0]


def _convex_verdict(Wm, a, kind, A, c, exact, max_cells, tol):
    """Cell test on a convex full-dimensional domain: (verdict, cells, eps, cap)."""
    m, n = Wm.shape
    norms = np.linalg.norm(Wm, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        offs = np.where(norms > 0, np.abs(a) / np.where(norms > 0, norms, 1.0), 0.0)
    scale = max(1.0, float(offs.max(initial=0.0)), float(np.abs(c).max(initial=0.0)))
    cell0, eps, cap = _initial_cell(A, c, scale, tol)
    cells = _refine([cell0], Wm, -a, eps, cap, max_cells)
    centers = np.array([cl.center for cl in cells])
    radii = np.array([cl.radius for cl in cells])
    signs = _preact_signs(Wm, a, centers, exact=exact, tol=tol)
    claimed = np.array([cl.signs for cl in cells], dtype=np.int8).reshape(len(cells), m)
    zero_rows = norms == 0
    mismatch = np.any((signs != claimed) & ~zero_rows[None, :], axis=1)
    active = signs >= 0
    ranks = _RankCache(Wm, exact=exact, tol=tol).ranks(active)
    failing = ranks < n
    notes = (
        f"{len(cells)} open cells of the layer's arrangement in the {kind}; "
        "injective iff every cell's active rows span (boundary points only add rows)."
    )
    if np.any(mismatch):
        notes += (f" {int(mismatch.sum())} cell centres lie within rounding of a hyperplane; "
                  "their active sets were recomputed exactly at the centre.")
    wit = _Witness()
    if np.any(failing):
        cand = np.flatnonzero(failing)
        order = cand[np.argsort(-radii[cand], kind="stable")]
        w = int(order[0])
        wp = centers[w].copy()
        cp_, verified, x2q = _collision_pair(Wm, a, wp, active[w], 0.5 * radii[w])
        wit = _Witness(w, wp, cp_, verified and _in_domain(A, c, x2q), _exact_tuple(wp),
                       _exact_tuple(x2q))
        exact_out = lambda x: _relu_exact(Wm, a, x)  # noqa: E731
        # larger kernels (lower rank) have shorter integer vectors: try them first
        by_rank = cand[np.lexsort((-radii[cand], ranks[cand]))]
        fl = _float_collision(Wm, active, centers, 0.5 * radii / np.sqrt(n), by_rank, exact_out,
                              A, c)
        if fl is not None:
            wit = fl
        notes += " " + wit.note()
    return InjectivityVerdict(
        is_injective=not bool(np.any(failing)),
        domain_kind=kind,
        n_pieces=len(cells),
        active_sets=_readonly(active),
        ranks=_readonly(ranks),
        interior_points=_readonly(centers),
        radii=_readonly(radii),
        failing=_readonly(failing),
        exact=bool(exact),
        notes=notes,
        **wit.fields(),
    ), cells, eps, cap


# ---------------------------------------------------------------------------
# witnesses
# ---------------------------------------------------------------------------
class _Witness:
    """A colliding pair: float points, the exact pair, and what was verified."""

    def __init__(self, index=None, x=None, x2=None, verified=False, xq=None, x2q=None,
                 floats=False):
        self.index, self.x, self.x2 = index, x, x2
        self.verified, self.xq, self.x2q, self.floats = bool(verified), xq, x2q, bool(floats)

    def fields(self):
        return {
            "witness_index": None if self.index is None else int(self.index),
            "witness_point": _readonly(self.x),
            "colliding_point": _readonly(self.x2),
            "collision_verified": self.verified,
            "witness_exact": self.xq,
            "colliding_exact": self.x2q,
            "floats_collide": self.floats,
        }

    def note(self):
        if self.floats:
            return ("The float witnesses collide exactly (exact binary rationals with equal "
                    "exact outputs).")
        if self.verified:
            return ("The exact witnesses (witness_exact, colliding_exact) collide; no pair "
                    "of float64 points was found to collide exactly.")
        return "The collision was not verified exactly."


def _in_domain(A, c, x):
    """Whether the rational point lies in ``{A x + c >= 0}`` (exactly)."""
    if A is None or len(A) == 0:
        return True
    xq = [arith.to_fmpq(v) for v in x]
    for row, ci in zip(A.tolist(), c.tolist()):
        s = arith.to_fmpq(ci)
        for w, v in zip(row, xq):
            if w:
                s += arith.to_fmpq(w) * v
        if s < 0:
            return False
    return True


#: failing cells tried for an exactly colliding float pair
_FLOAT_TRIES = 32


def _float_collision(W, active, points, steps, order, exact_out, A, c, *, fixed=False,
                     rows_of=None):
    """First exactly colliding float pair over the failing cells / points in ``order``.

    ``exact_out(x)`` is the exact output at a rational point (a list); ``steps``
    bounds the step from each point (max norm); ``rows_of(i)`` gives the integer
    rows whose kernel keeps the output (default: the active rows of ``W``).
    """
    from ._exact import _integer_rows

    ints = None
    hopeless = 0
    for i in order[:_FLOAT_TRIES]:
        if hopeless >= 3:  # kernels of these rows have no vector short enough: stop early
            break
        i = int(i)
        if rows_of is None:
            if ints is None:
                ints = _integer_rows(W)
            rows = [ints[k] for k in np.flatnonzero(active[i])]
        else:
            rows = rows_of(i)
        vecs = _integer_null_vectors(rows, W.shape[1])
        if not vecs or max(abs(v) for v in vecs[0]) >= 2 ** 53:
            hopeless += 1
            continue
        for xa, xb in _dyadic_pairs(points[i], vecs, float(steps[i]), fixed=fixed):
            if np.array_equal(xa, xb) or not (_in_domain(A, c, xa) and _in_domain(A, c, xb)):
                continue
            qa = [arith.to_fmpq(v) for v in xa.tolist()]
            qb = [arith.to_fmpq(v) for v in xb.tolist()]
            if exact_out(qa) == exact_out(qb):
                return _Witness(i, xa, xb, True, _exact_tuple(xa), _exact_tuple(xb), True)
    return None


def _fiber_direction(Wpos, Wzero, tol):
    """A direction d != 0 with Wpos d = 0, Wzero d <= 0 (or None): one LP."""
    from scipy.optimize import linprog

    n = Wpos.shape[1] if Wpos.size else Wzero.shape[1]
    # W_zero d <= 0, sum_i <d, phi_i> over zero rows = -1, W_pos d = 0, |d|_inf <= 1
    A_eq = np.vstack([Wpos, Wzero.sum(axis=0, keepdims=True)]) if Wpos.size else Wzero.sum(axis=0, keepdims=True)
    b_eq = np.concatenate([np.zeros(A_eq.shape[0] - 1), [-1.0]])
    res = linprog(np.zeros(n), A_ub=Wzero, b_ub=np.zeros(Wzero.shape[0]), A_eq=A_eq, b_eq=b_eq,
                  bounds=[(None, None)] * n, method="highs")
    if res.status == 0:
        return np.asarray(res.x)
    return None


def _check_points(W, a, X, exact, tol):
    m, n = W.shape
    s = _preact_signs(W, a, X, exact=exact, tol=tol)
    active = s >= 0
    rc = _RankCache(W, exact=exact, tol=tol)
    ranks = rc.ranks(active)
    failing = ranks < n
    # boundary points (some neuron exactly at threshold) whose positive rows do not span
    boundary = np.flatnonzero(~failing & np.any(s == 0, axis=1))
    fiber = {}
    for k in boundary:
        pos = s[k] > 0
        if rc.rank(pos) == n:
            continue
        d = _fiber_direction(W[pos], W[s[k] == 0], tol)
        if d is not None:
            failing[k] = True
            fiber[int(k)] = d
    wit = _Witness()
    steps = np.zeros(len(X))
    if np.any(failing):
        fail = np.flatnonzero(failing)
        # room around each failing point: rows below threshold stay below
        w = int(fail[0])
        plain = [int(k) for k in fail[np.argsort(ranks[fail], kind="stable")][:_FLOAT_TRIES]
                 if int(k) not in fiber]
        Zall = X @ W.T - a
        nrm = np.linalg.norm(W, axis=1)
        for k in set(plain) | {w}:
            # (a zero row below its threshold stays there at any distance: no limit)
            below = (s[k] < 0) & (nrm > 0)
            gap = float(np.min(-Zall[k, below] / nrm[below])) if below.any() else 1.0
            steps[k] = 0.5 * gap / np.sqrt(n)
        wp = X[w].copy()
        if w in fiber:
            wit = _fiber_witness(W, a, wp, s[w], fiber[w], steps[w], tol)
            wit.index = w
        else:
            cp_, verified, x2q = _collision_pair(W, a, wp, active[w], steps[w] * np.sqrt(n))
            wit = _Witness(w, wp, cp_, verified, _exact_tuple(wp), _exact_tuple(x2q))
        exact_out = lambda x: _relu_exact(W, a, x)  # noqa: E731
        fl = _float_collision(W, active, X, steps, plain, exact_out, None, None, fixed=True)
        if fl is not None:
            wit = fl
    notes = (
        f"{len(X)} data points; a point passes when it is the only preimage of its "
        "output in R^n (its active rows span, or, on a threshold, no direction keeps the "
        "positive rows and lowers the threshold rows)."
    )
    return InjectivityVerdict(
        is_injective=not bool(np.any(failing)),
        domain_kind="points",
        n_pieces=len(X),
        active_sets=_readonly(active),
        ranks=_readonly(ranks),
        interior_points=_readonly(X),
        radii=None,
        failing=_readonly(failing),
        exact=bool(exact),
        notes=notes + ("" if wit.index is None else " " + wit.note()),
        **wit.fields(),
    )


def _fiber_witness(W, a, x, signs, d, step, tol):
    """Exact second preimage of a point on a threshold along the LP direction ``d``.

    The exact direction is ``d`` (read as a rational vector) projected onto the
    kernel of the positive rows and of the threshold rows ``d`` keeps at 0;
    it is accepted if it still lowers or keeps every other threshold row.
    """
    import flint

    pos, zero = signs > 0, signs == 0
    Wz = W[zero]
    dz = Wz @ d
    tight = np.abs(dz) <= tol.lp * max(1.0, float(np.abs(dz).max(initial=0.0)))
    keep = np.vstack([W[pos], Wz[tight]])
    n = W.shape[1]
    from ._exact import _integer_rows

    rows = _integer_rows(keep) if len(keep) else []
    basis = _integer_null_vectors(rows, n)
    wit = _Witness(None, x, None, False)
    if not basis:
        return wit
    B = flint.fmpq_mat(n, len(basis), [arith.fmpq(basis[j][i]) for i in range(n)
                                       for j in range(len(basis))])
    dq = flint.fmpq_mat(n, 1, [arith.to_fmpq(v) for v in d.tolist()])
    coef = (B.transpose() * B).solve(B.transpose() * dq)
    de = B * coef
    dv = [de[i, 0] for i in range(n)]
    Wq = [[arith.to_fmpq(w) for w in row] for row in W.tolist()]
    lowers = [sum((w * v for w, v in zip(Wq[i], dv)), arith.ZERO) for i in np.flatnonzero(zero)]
    if any(v > 0 for v in lowers) or all(v == 0 for v in dv):
        return wit
    top = max(abs(float(v)) for v in dv)
    t = arith.to_fmpq(step / top)
    xq = [arith.to_fmpq(v) for v in x.tolist()]
    x2 = [p + t * q for p, q in zip(xq, dv)]
    ok = _relu_exact(W, a, xq) == _relu_exact(W, a, x2)
    return _Witness(None, x, np.array([float(v) for v in x2]), ok, _exact_tuple(xq),
                    _exact_tuple(x2))
