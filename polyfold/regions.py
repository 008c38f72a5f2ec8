"""The linear region of a point, in any input dimension.

For a point ``x*`` with codes ``s`` the region ``R(x*)`` is the closed polytope of
all inputs with the same codes, cut out layer by layer ("depth-wise exclusion",
Zhang & Wu 2020).  With ``W^_1 = W_1``, ``b^_1 = b_1`` the preactivations of layer
``l`` are ``z_l = W^_l x + b^_l`` on ``R``; the code of each neuron fixes an
interval of ``z`` and gives one or two half-spaces, and the activation's linear
piece on that interval gives the next layer's map
``W^_{l+1} = W_{l+1} diag(slope_l) W^_l``,
``b^_{l+1} = W_{l+1} (slope_l * b^_l + offset_l) + b_{l+1}``.  Inside ``R`` the
logits are affine, ``f(x) = V x + u``.

:func:`region_of` returns a :class:`Region` holding this H-representation
``{x : A x + c >= 0}``, the unit of every row, the affine map, and (lazily) the
facet-defining rows, a Chebyshev ball and an interior point.
"""

from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import numpy as np

from .network import check_net as _check_net
from . import _lp
from ._validation import check_points, check_positive_int, net_points
from .exceptions import DomainError, ShapeError, UnboundedRadiusError, ValidationError
from .network import PLNet, bits_from_codes
from .tolerance import get_tol

__all__ = ["Region", "domain_rows", "region_of", "region_rows", "iter_region_rows"]

#: half-width (relative to 1 + |point|_inf) of the box used to find an interior
#: point of a region that is unbounded and has no domain
_FAR_BOX = 1e3


def _graph_row_count(net, codes):
    """Rows :func:`iter_region_rows` writes for ``codes``, without building them."""
    n, off = 0, net.layer_offsets
    for g, u in enumerate(net.group_units):
        cg = np.asarray(codes[off[g] : off[g + 1]])
        if u.kind == "threshold":
            T = len(u.thresholds)
            n += int(np.sum((cg > 0).astype(int) + (cg < T).astype(int)))
        else:
            n += int(u.valid.sum() - u.n_units)
    return n


def domain_rows(domain, d):
    """Rows ``(A, c)`` and units of a box domain ``(lower, upper)`` in R^d.

    Parameters
    ----------
    domain : (lower, upper)
        Scalars or ``(d,)`` arrays.
    d : int

    Returns
    -------
    A : (2 d, d) float
    c : (2 d,) float
    units : list of ("domain", k)
        ``k < d``: the row ``x_k >= lower_k``; ``k >= d``: ``x_{k-d} <= upper_{k-d}``.

    Raises
    ------
    DomainError
        For an inverted box (some ``lower_k > upper_k``).
    """
    try:
        lower, upper = domain
    except (TypeError, ValueError) as err:
        raise ValidationError(
            f"domain must be a pair (lower, upper) of scalars or ({d},) arrays, e.g. "
            f"domain=(0.0, 1.0) for the unit cube; got {type(domain).__name__}."
        ) from err
    A, c = _lp.box_rows(lower, upper, d, name="domain")
    return A, c, [("domain", k) for k in range(2 * d)]


def region_rows(net, codes, *, exact=False):
    """H-representation rows of the closed region with the given codes.

    Parameters
    ----------
    net : PLNet
    codes : (n_hidden,) int
        Codes of every hidden neuron (see :mod:`polyfold.network`).
    exact : bool
        Compute in exact rationals (object arrays of ``fmpq``).

    Returns
    -------
    A : (m, d) float or object
    c : (m,) float or object
        The region is ``{x : A x + c >= 0}``; code ``k`` of a neuron with
        thresholds ``t_0 < ... < t_{T-1}`` gives ``z - t_{k-1} >= 0`` (if ``k > 0``)
        and ``t_k - z >= 0`` (if ``k < T``).
    units : list of (layer, neuron)
        The neuron of each row.
    V : (output_dim, d)
    u : (output_dim,)
        The logits' affine map on the region.
    """
    from . import arith

    codes = np.asarray(codes).astype(np.int64)
    if codes.shape != (net.n_hidden,):
        raise ShapeError(
            f"codes must have shape ({net.n_hidden},) (one code per hidden neuron), "
            f"got {codes.shape}."
        )
    if not net.is_dense:
        blocks = list(iter_region_rows(net, codes, exact=exact))
        A = _stack([b[0] for b in blocks], net.input_dim, exact)
        c = _stack([b[1] for b in blocks], None, exact)
        units = [u for b in blocks for u in b[2]]
        V, u = _graph_logit_map(net, codes, exact)
        return A, c, units, V, u
    if not exact:
        return _dense_rows_float(net, codes)
    # exact rationals (the float path is _dense_rows_float)
    off = net.layer_offsets
    d = net.input_dim
    Wh = np.empty((d, d), dtype=object)
    Wh[:, :] = arith.ZERO
    for k in range(d):
        Wh[k, k] = arith.ONE
    bh = np.array([arith.ZERO] * d, dtype=object)
    rowsA, rowsc, units = [], [], []
    for l, (W, b) in enumerate(net.exact_layers()):
        Wh = W @ Wh
        bh = W @ bh + b
        if l == net.depth:
            break
        act = net.activations[l]
        th = act.thresholds
        cl = codes[off[l] : off[l + 1]]
        if np.any(cl < 0) or np.any(cl > len(th)):
            raise ValidationError(
                f"codes of layer {l} must lie in 0..{len(th)} for {act.name}, got "
                f"{cl.min()}..{cl.max()}."
            )
        for j in range(Wh.shape[0]):
            k = int(cl[j])
            if k > 0:
                rowsA.append(Wh[j][None, :])
                rowsc.append(np.array([bh[j] - arith.to_fmpq(th[k - 1])], dtype=object))
                units.append((l, j))
            if k < len(th):
                rowsA.append(-Wh[j][None, :])
                rowsc.append(np.array([arith.to_fmpq(th[k]) - bh[j]], dtype=object))
                units.append((l, j))
        pcs = act.pieces()
        piece = act.code_to_piece()[cl]
        slope = np.array([arith.to_fmpq(pcs[p][0]) for p in piece], dtype=object)
        offset = np.array([arith.to_fmpq(pcs[p][1]) for p in piece], dtype=object)
        Wh = Wh * slope[:, None]
        bh = bh * slope + offset
    return _stack(rowsA, d, True), _stack(rowsc, None, True), units, Wh, bh


@lru_cache(maxsize=256)
def _activation_row_tables(act):
    """Per code ``k`` of an activation: lower threshold ``t_{k-1}`` and whether it
    bounds (``k > 0``), upper ``t_k`` and whether it bounds (``k < T``), slope and
    offset of the piece."""
    th = np.asarray(act.thresholds, dtype=np.float64)
    T = len(th)
    pad = np.concatenate([[0.0], th, [0.0]])  # unused entries (k = 0 low, k = T high) are 0
    lo, hi = pad[: T + 1].copy(), pad[1:].copy()
    pcs = act.pieces()
    piece = act.code_to_piece()
    slope = np.array([pcs[p][0] for p in piece], dtype=np.float64)
    offset = np.array([pcs[p][1] for p in piece], dtype=np.float64)
    for a in (lo, hi, slope, offset):
        a.setflags(write=False)
    return lo, hi, slope, offset, T


def _dense_rows_float(net, codes):
    """``region_rows`` of a dense network in float64, one vectorised step per layer."""
    widths = net.widths
    d = net.input_dim
    W0, b0 = net.layers[0]
    Wh, bh = W0.copy(), b0.copy()
    rowsA, rowsc, units = [], [], []
    start = 0
    for l, (W, b) in enumerate(net.layers):
        if l:
            Wh, bh = W @ Wh, W @ bh + b
        if l == net.depth:
            break
        act = net.activations[l]
        lo, hi, slope, offset, T = _activation_row_tables(act)
        cl = codes[start : start + widths[l]]
        start += widths[l]
        if cl.size and (cl.min() < 0 or cl.max() > T):
            raise ValidationError(
                f"codes of layer {l} must lie in 0..{T} for {act.name}, got "
                f"{cl.min()}..{cl.max()}."
            )
        # per neuron: the row z - t_{k-1} >= 0 (if k > 0) before t_k - z >= 0 (if k < T)
        flat = np.empty(2 * len(cl), bool)
        flat[0::2] = cl > 0
        flat[1::2] = cl < T
        both_A = np.empty((len(cl), 2, d))
        both_A[:, 0] = Wh
        np.negative(Wh, out=both_A[:, 1])
        both_c = np.empty((len(cl), 2))
        both_c[:, 0] = bh - lo[cl]
        both_c[:, 1] = hi[cl] - bh
        rowsA.append(both_A.reshape(-1, d)[flat])
        rowsc.append(both_c.reshape(-1)[flat])
        units.extend((l, j) for j in (np.flatnonzero(flat) >> 1).tolist())
        sl = slope[cl]
        Wh = Wh * sl[:, None]
        bh = bh * sl + offset[cl]
    return _stack(rowsA, d, False), _stack(rowsc, None, False), units, Wh, bh


def _stack(parts, d, exact):
    parts = [p for p in parts if len(p)]
    if not parts:
        shape = (0, d) if d is not None else (0,)
        return np.zeros(shape, dtype=object if exact else np.float64)
    return np.concatenate(parts, axis=0)


def _graph_logit_map(net, codes, exact):
    """Logits ``V x + u`` of a graph net on the region of ``codes``."""
    if not exact:
        V, u = net.affine_map(codes=codes[None])
        return V[0], u[0]
    st, D, m = _graph_basis(net, exact=True)
    off = net.layer_offsets
    for g in range(st.n_groups):
        c = codes[off[g] : off[g + 1]][None]
        D = st.advance_fixed(g, D, np.repeat(c, len(D), axis=0), exact=True, linear=True)
        m = st.advance_fixed(g, m, c, exact=True)
    return D.T, m[0]


def _graph_basis(net, *, exact):
    from . import arith

    st = net.stages()
    d = net.input_dim
    if exact:
        I = np.empty((d, d), dtype=object)
        I[...] = arith.ZERO
        for k in range(d):
            I[k, k] = arith.ONE
        zero = np.empty((1, d), dtype=object)
        zero[...] = arith.ZERO
        return st, st.start_linear(I, exact=True), st.start(zero, exact=True)
    return st, st.start_linear(np.eye(d)), st.start(np.zeros((1, d)))


def iter_region_rows(net, codes, *, exact=False):
    """The H-representation rows of a region, one unit group at a time (graph nets).

    The lazy form of :func:`region_rows` for networks whose full representation is
    large (73,728 rows x 3,072 inputs for the zoo's CIFAR ResNet): each step pushes
    the ``d`` basis directions through one more group with the region's codes, so
    memory is ``d x state width``, never the whole matrix.

    Yields
    ------
    A_g : (m_g, d) float (object in exact mode)
    c_g : (m_g,)
    units : list
        ``(group name, unit index)`` for rows of elementwise units; ``(group name,
        unit index, j)`` for the row "selected candidate >= candidate ``j``" of a max
        unit.
    """
    from . import arith

    codes = np.asarray(codes).astype(np.int64)
    st, D, m = _graph_basis(net, exact=exact)
    off = net.layer_offsets
    names = net.group_names
    for g in range(st.n_groups):
        u = st.units[g]
        zw = st.z_width(g)
        M = D[:, :zw].T  # (zw, d): the group's input is M x + z0
        z0 = m[0, :zw]
        cg = codes[off[g] : off[g + 1]]
        shape = u.out_shape
        rows_A, rows_c, units = [], [], []
        if u.kind == "threshold":
            th = [arith.to_fmpq(v) for v in u.thresholds] if exact else list(u.thresholds)
            T = len(th)
            for k in range(T + 1):
                sel = np.flatnonzero(cg == k)
                if not len(sel):
                    continue
                if k > 0:  # z - t_{k-1} >= 0
                    rows_A.append((sel, M[sel], z0[sel] - th[k - 1], 1))
                if k < T:  # t_k - z >= 0
                    rows_A.append((sel, -M[sel], th[k] - z0[sel], 2))
            # order rows unit by unit, lower bound first (as region_rows writes them)
            order = []
            for sel, A_, c_, which in rows_A:
                for r, j in enumerate(sel):
                    order.append((j, which, A_[r], c_[r]))
            order.sort(key=lambda t: (t[0], t[1]))
            A_g = np.array([o[2] for o in order], dtype=object if exact else np.float64).reshape(len(order), -1)
            c_g = np.array([o[3] for o in order], dtype=object if exact else np.float64)
            units = [(names[g], tuple(int(v) for v in np.unravel_index(o[0], shape))) for o in order]
        else:
            ii, jj, A_l, c_l = [], [], [], []
            for unit in range(u.n_units):
                i = int(cg[unit])
                ci = u.cand[unit, i]
                for j in range(u.k):
                    cj = u.cand[unit, j]
                    if j == i or cj < 0:
                        continue
                    A_l.append(M[ci] - M[cj])
                    c_l.append(z0[ci] - z0[cj])
                    units.append((names[g], tuple(int(v) for v in np.unravel_index(unit, shape)), j))
            A_g = np.array(A_l, dtype=object if exact else np.float64).reshape(len(A_l), -1)
            c_g = np.array(c_l, dtype=object if exact else np.float64)
        yield A_g, c_g, units
        if g < st.n_groups - 1:
            D = st.advance_fixed(g, D, np.repeat(cg[None], len(D), axis=0), exact=exact, linear=True)
            m = st.advance_fixed(g, m, cg[None], exact=exact)


@dataclass(frozen=True, eq=False)
class Region:
    """A linear region ``{x : A x + c >= 0}`` of a network (closed polytope).

    Attributes
    ----------
    net : PLNet
    point : (d,) float
        The point the region was computed for.
    codes : (n_hidden,) int8
        Codes of every hidden neuron on the region's interior.
    pattern : (n_hidden,) bool
        Bits ``z > 0`` of every hidden neuron.
    A : (m, d) float
    c : (m,) float
        H-representation, rows in network order (layer by layer, then the domain).
    units : tuple
        Per row, ``(layer, neuron)`` or ``("domain", k)``.
    V : (output_dim, d) float
    u : (output_dim,) float
        Logits ``f(x) = V x + u`` on the region.
    domain : (lower (d,), upper (d,)) or None
    tol : Tolerance

    Lazily computed (LPs): :attr:`facets` (indices of facet-defining rows),
    :attr:`chebyshev` (centre, radius), :attr:`interior_point`.
    """

    net: PLNet = field(repr=False)
    point: np.ndarray = field(repr=False)
    codes: np.ndarray = field(repr=False)
    pattern: np.ndarray = field(repr=False)
    A: np.ndarray = field(repr=False)
    c: np.ndarray = field(repr=False)
    units: tuple = field(repr=False)
    V: np.ndarray = field(repr=False)
    u: np.ndarray = field(repr=False)
    domain: tuple = field(default=None, repr=False)
    tol: object = field(default=None, repr=False)

    @property
    def dim(self):
        """Input dimension ``d``."""
        return self.A.shape[1]

    @property
    def n_rows(self):
        """Number of half-spaces in the (unreduced) H-representation."""
        return self.A.shape[0]

    @property
    def predicted_class(self):
        """Class the network predicts at :attr:`point` (``argmax f``; ``f > 0`` for one output)."""
        f = self.V @ self.point + self.u
        if f.shape[0] == 1:
            return int(f[0] > 0)
        return int(np.argmax(f))

    def _bounded_rows(self):
        """Rows, plus a large box around the point when there is no domain."""
        if self.domain is not None:
            return self.A, self.c
        r = _FAR_BOX * (1.0 + np.abs(self.point).max())
        Ab, cb = _lp.box_rows(self.point - r, self.point + r, self.dim)
        return np.vstack([self.A, Ab]), np.concatenate([self.c, cb])

    @cached_property
    def chebyshev(self):
        """:class:`polyfold._lp.ChebyshevBall` of the region.

        Raises
        ------
        UnboundedRadiusError
            The region contains arbitrarily large balls (it is unbounded and the
            region was computed without a domain): compute it with a bounded domain,
            ``region_of(net, x, domain=(lower, upper))``.
        """
        try:
            return _lp.chebyshev_ball(self.A, self.c, tol=self.tol)
        except UnboundedRadiusError as err:
            raise UnboundedRadiusError(
                "the Chebyshev radius of this region is unbounded: the region contains "
                "arbitrarily large balls and was computed without a domain; compute it "
                "inside a box, region_of(net, x, domain=(lower, upper)), e.g. "
                "domain=(0, 1) for inputs in the unit cube."
            ) from err

    @cached_property
    def interior_point(self):
        """A point strictly inside the region (a Chebyshev centre; for a region
        without domain that is unbounded, of its intersection with a large box around
        :attr:`point`), or ``None`` when the region has no interior."""
        if self.domain is not None:
            # the same LP as the insphere's: reuse its centre
            try:
                ball = self.chebyshev
            except _lp.EmptyPolytopeError:
                return None
            return ball.centre if ball.radius > self.tol.lp else None
        A, c = self._bounded_rows()
        return _lp.feasible_interior_point(A, c, tol=self.tol)

    @cached_property
    def facets(self):
        """Indices (int64, increasing) of the facet-defining rows.

        Rows with a zero normal (dead or constant units) are never facets; of
        duplicate hyperplanes only the first is; see :func:`polyfold._lp.redundant_rows`.
        """
        if self.A.shape[0] == 0:
            return np.zeros(0, np.int64)
        red = _lp.redundant_rows(self.A, self.c, interior_point=self.interior_point,
                                 boundary_point=self.point, tol=self.tol)
        return np.flatnonzero(~red).astype(np.int64)

    @property
    def facet_units(self):
        """Unit of each facet-defining row."""
        return [self.units[i] for i in self.facets]

    def contains(self, points, *, tol=None):
        """Whether points lie in the closed region (within ``tol.lp`` distance).

        Parameters
        ----------
        points : (n, d) or (d,) float

        Returns
        -------
        (n,) bool, or bool for one point
        """
        tol = get_tol(tol if tol is not None else self.tol)
        pts, single = check_points(points, self.dim)
        norms = np.linalg.norm(self.A, axis=1)
        slack = pts @ self.A.T + self.c
        ok = np.all(slack >= -tol.lp * np.maximum(norms, 1.0), axis=1)
        return bool(ok[0]) if single else ok

    def __repr__(self):
        return (
            f"Region(dim={self.dim}, n_rows={self.n_rows}, "
            f"n_active={int(self.pattern.sum())}/{self.pattern.size}, "
            f"domain={'box' if self.domain is not None else None})"
        )


#: largest H-representation region_of builds for a graph net without being asked
MAX_REGION_BYTES = 256 * 2**20


def region_of(net, x, *, domain=None, tol=None, max_bytes=MAX_REGION_BYTES):
    """The linear region of a point: H-representation, affine map, facets.

    Parameters
    ----------
    net : PLNet
    x : (d,) float
        The point (``d = net.input_dim``, any size: 784 works).
    domain : (lower, upper), optional
        Box intersected with the region, scalars or ``(d,)`` arrays, e.g.
        ``(0.0, 1.0)`` for images; ``x`` must lie in it.
    tol : Tolerance, optional
        Used by the lazily computed LPs (facets, Chebyshev ball).

    Returns
    -------
    Region
        The closed region of the codes of ``x`` (``z == threshold`` counts as
        below the threshold, so for ReLU a neuron with ``z == 0`` is inactive).

    Raises
    ------
    ShapeError
        If ``x`` is not a single point of the network's input dimension.
    DomainError
        If ``domain`` is inverted, has zero width in some coordinate, or does not
        contain ``x``.
    ValidationError
        If ``max_bytes`` is not an integer >= 1.

    Notes
    -----
    Rows: one per threshold bounding the neuron's code interval (ReLU: one row
    ``s (W^ x + b^) >= 0`` per neuron, with ``s = +1`` if active and ``-1``
    otherwise; HardTanh: up to two), then ``2 d`` domain rows.  Rows are kept
    as computed; :attr:`Region.facets` removes redundant ones with one LP per row
    that ray shooting cannot certify.  A dead or constant unit gives a row
    with ``A_i = 0``: never a facet (it holds at ``x``).  Duplicate
    hyperplanes are reported once among the facets.

    Cost: ``O(n_hidden * d * width)`` for the rows and map; the facets cost up to
    one LP per row (in ``d`` variables).

    References
    ----------
    X. Zhang and D. Wu, "Empirical Studies on the Properties of Linear Regions in
    Deep Neural Networks", ICLR 2020, arXiv:2001.01072.

    Examples
    --------
    >>> import numpy as np
    >>> from polyfold import PLNet
    >>> net = PLNet.from_arrays([(np.array([[1.0, 0], [0, 1], [1, 1]]), np.array([0, 0, -1.0])),
    ...                          (np.ones((1, 3)), np.zeros(1))])
    >>> R = region_of(net, [0.25, 0.25])
    >>> R.pattern.tolist()
    [True, True, False]
    >>> round(R.chebyshev.radius, 6)        # the triangle x, y >= 0, x + y <= 1
    0.292893
    >>> R.facets.tolist()
    [0, 1, 2]
    """
    net = _check_net(net)
    tol = get_tol(tol)
    pts, single = net_points(net, x, "x")
    if not single and pts.shape[0] != 1:
        raise ShapeError(
            f"region_of takes one point x of shape ({net.input_dim},), got {np.shape(x)}; "
            "loop over the points for several regions."
        )
    max_bytes = check_positive_int(max_bytes, "max_bytes")
    point = pts[0].copy()
    codes = net.codes(point[None, :])[0]
    if not net.is_dense:
        n_rows = _graph_row_count(net, codes)
        size = n_rows * net.input_dim * 8
        if size > max_bytes:
            raise ValidationError(
                f"the region's H-representation has {n_rows} rows x {net.input_dim} inputs "
                f"({size / 2**20:.0f} MiB as float64), more than max_bytes={max_bytes}; pass a "
                "larger max_bytes to build it, or stream its rows one unit group at a time with "
                "polyfold.regions.iter_region_rows(net, net.codes(x)[0])."
            )
    A, c, units, V, u = region_rows(net, codes)
    dom = None
    if domain is not None:
        Ad, cd, ud = domain_rows(domain, net.input_dim)
        d = net.input_dim
        flat = np.flatnonzero(cd[d:] <= -cd[:d])  # upper_k <= lower_k (c = (-lower, upper))
        if flat.size:
            raise DomainError(
                f"domain has zero width in coordinate {int(flat[0])} (lower == upper): a "
                "region is full-dimensional; pass lower < upper in every coordinate, or "
                "restrict the net to the slice first (polyfold.slice_complex for 2D slices)."
            )
        # (compared, not subtracted: x - lower may overflow near the float64 limit)
        outside = (point < -cd[:d]) | (point > cd[d:])
        if np.any(outside):
            k = int(np.argmax(outside))
            raise DomainError(
                f"x lies outside the domain: coordinate {k} = {float(point[k])!r} is outside "
                f"[{float(-cd[k])!r}, {float(cd[d + k])!r}]; pass a domain containing x (or "
                "clip x into it)."
            )
        A = np.vstack([A, Ad])
        c = np.concatenate([c, cd])
        units = list(units) + ud
        d = net.input_dim
        dom = (-cd[:d].copy(), cd[d:].copy())
    pattern = bits_from_codes(net, codes)
    for arr in (A, c, V, u, codes, pattern, point):
        arr.setflags(write=False)
    return Region(
        net=net,
        point=point,
        codes=codes,
        pattern=pattern,
        A=A,
        c=c,
        units=tuple(units),
        V=V,
        u=u,
        domain=dom,
        tol=tol,
    )


# ---------------------------------------------------------------------------
# box / polytope complexes (H-representation splitting; used by polyfold.slices)
# ---------------------------------------------------------------------------
def _halfspace_vertices(A, c, point):
    """Vertices of ``{x : A x + c >= 0}`` around an interior point (Qhull)."""
    from scipy.spatial import HalfspaceIntersection, QhullError

    from .exceptions import SolverError

    hs = np.hstack([-A, -c[:, None]])  # Qhull convention: a x + b <= 0
    try:
        return HalfspaceIntersection(hs, point).intersections
    except (QhullError, ValueError) as err:
        raise SolverError(
            f"Qhull failed to enumerate the vertices of a cell ({str(err).splitlines()[0]}); "
            "the cell is too thin for float arithmetic: coarsen Tolerance(zero=...) or use "
            "slice_complex(..., mode='exact') on a 2D slice.",
            status="qhull",
        ) from err


def _facet_mask(A, c, verts, eps):
    """Rows containing ``d`` affinely independent vertices (facet-defining rows)."""
    d = A.shape[1]
    slack = verts @ A.T + c
    out = np.zeros(len(c), bool)
    for i in range(len(c)):
        on = verts[np.abs(slack[:, i]) <= eps[i]]
        if len(on) >= d:
            D = on[1:] - on[0]
            out[i] = np.linalg.matrix_rank(D, tol=None) >= d - 1
    return out


def _box_engine(net, A0, c0, *, mode, tol):
    """Regions of ``net`` in ``{x : A0 x + c0 >= 0}`` by layer-by-layer splitting.

    Returns a dict with codes, H-representations (facet rows), Chebyshev centres,
    volumes, adjacency pairs and counters (see :func:`polyfold.slices.polytope_complex`).
    """
    from scipy.spatial import ConvexHull

    d = net.input_dim
    ball = _lp.chebyshev_ball(A0, c0, tol=tol)  # raises DomainError if empty/unbounded
    scale = 1.0 + float(np.abs(ball.centre).max()) + ball.radius
    if ball.radius <= tol.lp * scale:
        raise DomainError(
            "the polytope {x : A x + c >= 0} has no interior (Chebyshev radius "
            f"{ball.radius:.3g}); pass a full-dimensional domain."
        )
    An, cn, zero = _lp.normalize_rows(A0, c0, tol=tol)
    An, cn = An[~zero], cn[~zero]
    verts = _halfspace_vertices(An, cn, ball.centre)
    scale = 1.0 + float(np.abs(verts).max())
    W0, b0 = net.layers[0]
    cells = [
        {
            "A": An, "c": cn, "lab": -(np.arange(len(cn)) + 1), "codes": np.zeros(net.n_hidden, np.int8),
            "G": W0.copy(), "g": b0.copy(), "verts": verts, "centre": ball.centre, "deg": False,
        }
    ]
    chord_side = []  # chord id -> (unit normal, offset) of its hyperplane
    tabs = net._code_tables()
    off = net.layer_offsets
    for l in range(net.depth):
        thresholds = tabs[l][0]
        for j in range(net.widths[l]):
            unit = int(off[l] + j)
            for theta in thresholds:
                new_cells = []
                for cell in cells:
                    Gj = cell["G"][j]
                    gj = cell["g"][j] - theta
                    nG = float(np.linalg.norm(Gj))
                    zv = cell["verts"] @ Gj + gj
                    eps = tol.zero * (nG * scale + abs(gj)) + tol.lp * nG
                    hi_, lo_ = zv.max(), zv.min()
                    if hi_ > eps and lo_ < -eps:
                        kids = _split_cell(cell, Gj / nG, gj / nG, len(chord_side), tol, scale)
                        if kids is not None:
                            chord_side.append((Gj / nG, gj / nG))
                            plus, minus = kids
                            plus["codes"][unit] += 1
                            new_cells.extend([plus, minus])
                            continue
                        # one side is a sliver below tolerance: no split
                        if hi_ >= -lo_:
                            cell["codes"][unit] += 1
                    elif hi_ > eps:
                        cell["codes"][unit] += 1
                    elif lo_ >= -eps:
                        cell["deg"] = True
                    new_cells.append(cell)
                cells = new_cells
        # next layer's affine maps on every cell
        W, b = net.layers[l + 1]
        slope_t = np.array([p[0] for p in net.activations[l].pieces()])
        offset_t = np.array([p[1] for p in net.activations[l].pieces()])
        c2p = net.activations[l].code_to_piece()
        for cell in cells:
            piece = c2p[cell["codes"][off[l] : off[l + 1]].astype(np.int64)]
            sl, of = slope_t[piece], offset_t[piece]
            cell["G"] = W @ (cell["G"] * sl[:, None])
            cell["g"] = W @ (cell["g"] * sl + of) + b
    # facets, volumes, adjacency
    codes = np.array([c["codes"] for c in cells], dtype=np.int8).reshape(len(cells), net.n_hidden)
    points = np.array([c["centre"] for c in cells], dtype=np.float64).reshape(len(cells), d)
    volumes = np.array([ConvexHull(c["verts"]).volume for c in cells])
    hrep, facet_labels = [], []
    for cell in cells:
        eps = tol.zero * scale * 16 + tol.lp
        fm = _facet_mask(cell["A"], cell["c"], cell["verts"], np.full(len(cell["c"]), eps))
        hrep.append((cell["A"][fm], cell["c"][fm]))
        facet_labels.append(cell["lab"][fm])
    pairs, measures = _box_adjacency(cells, facet_labels, chord_side, tol, scale)
    n_rec = 0
    if mode == "certified":
        n_rec = _certify_cells(net, codes, points)
    return {
        "codes": codes,
        "points": points,
        "volumes": volumes,
        "hrep": hrep,
        "facet_labels": (pairs, measures),
        "n_recomputed": n_rec,
        "n_degenerate": int(sum(c["deg"] for c in cells)),
        "boundary": np.array([bool(np.any(fl < 0)) for fl in facet_labels], dtype=bool),
    }


def _split_cell(cell, a, c, chord, tol, scale):
    """Children ``(plus, minus)`` of a cell cut by ``a x + c = 0`` (unit ``a``), or None
    when one child has no interior above the tolerance."""
    kids = []
    for side, sgn in ((1, 1.0), (0, -1.0)):
        A = np.vstack([cell["A"], sgn * a])
        cc = np.concatenate([cell["c"], [sgn * c]])
        lab = np.concatenate([cell["lab"], [2 * chord + side]])
        ball = _lp.chebyshev_ball(A, cc, tol=tol)
        if ball.radius <= tol.lp * scale * 16:
            return None
        verts = _halfspace_vertices(A, cc, ball.centre)
        # drop rows touching no vertex (redundant), keep the rest
        slack = verts @ A.T + cc
        keep = slack.min(axis=0) <= tol.zero * scale * 16 + tol.lp
        keep[-1] = True
        kids.append({
            "A": A[keep], "c": cc[keep], "lab": lab[keep], "codes": cell["codes"].copy(),
            "G": cell["G"], "g": cell["g"], "verts": verts, "centre": ball.centre,
            "deg": cell["deg"],
        })
    return kids[0], kids[1]


def _box_adjacency(cells, facet_labels, chord_side, tol, scale):
    """Pairs of cells sharing a (d-1)-face on one chord hyperplane (LP per candidate)."""
    by_chord = {}
    for i, labs in enumerate(facet_labels):
        for lb in labs:
            if lb >= 0:
                by_chord.setdefault(int(lb) >> 1, ([], []))[int(lb) & 1].append(i)
    pairs = []
    for ch, (plus, minus) in by_chord.items():
        a, c = chord_side[ch]
        d = len(a)
        # orthonormal basis of the hyperplane a x + c = 0
        Q, _ = np.linalg.qr(np.column_stack([a, np.eye(d)]))
        N = Q[:, 1:d]
        p0 = -c * a
        boxes = {}
        for i in plus + minus:
            v = cells[i]["verts"]
            on = v[np.abs(v @ a + c) <= tol.zero * scale * 16 + tol.lp]
            boxes[i] = (on.min(axis=0), on.max(axis=0)) if len(on) else None
        eps = tol.zero * scale * 16 + tol.lp
        for i in plus:
            for k in minus:
                bi, bk = boxes[i], boxes[k]
                if bi is None or bk is None:
                    continue
                if np.any(bi[0] > bk[1] - eps) or np.any(bk[0] > bi[1] - eps):
                    continue
                # separating-axis test with the cells' own rows: a row of one cell
                # with every on-chord vertex of the other on or outside it separates
                # the two faces (no (d-1)-dimensional overlap)
                sep = False
                for one, other in ((i, k), (k, i)):
                    cell = cells[one]
                    par = np.abs(cell["A"] @ a) >= 1 - tol.rank
                    v = cells[other]["verts"]
                    on = v[np.abs(v @ a + c) <= eps]
                    sl = on @ cell["A"][~par].T + cell["c"][~par]
                    if np.any(sl.max(axis=0) <= eps):
                        sep = True
                        break
                if sep:
                    continue
                if d == 3:  # faces are convex polygons: the SAT above is complete
                    pairs.append((min(i, k), max(i, k)))
                    continue
                rows, offs = [], []
                for cell in (cells[i], cells[k]):
                    par = np.abs(cell["A"] @ a) >= 1 - tol.rank  # the chord rows themselves
                    rows.append(cell["A"][~par] @ N)
                    offs.append(cell["A"][~par] @ p0 + cell["c"][~par])
                Ar, cr = np.vstack(rows), np.concatenate(offs)
                try:
                    r = _lp.chebyshev_ball(Ar, cr, tol=tol).radius
                except DomainError:
                    continue
                if r > eps:
                    pairs.append((min(i, k), max(i, k)))
    pairs = sorted(set(pairs))
    arr = np.array(pairs, dtype=np.int64).reshape(len(pairs), 2)
    return arr, np.full(len(pairs), np.nan)


def _certify_cells(net, codes, points):
    """Check every region exactly: its interior point has exactly its codes."""
    from .exceptions import SolverError

    if net.n_hidden == 0:
        return 0
    exact_codes = net.codes_exact(points)
    bad = np.flatnonzero(np.any(exact_codes != codes, axis=1))
    if len(bad):
        raise SolverError(
            f"certification failed for {len(bad)} region(s) (first: {int(bad[0])}): the "
            "interior point found by the LP does not have the region's codes in exact "
            "arithmetic; the complex is too close to degenerate for float LPs: use "
            "mode='float' to inspect it, or slice_complex(..., mode='exact') on a 2D slice.",
            status="certification",
        )
    return 0
