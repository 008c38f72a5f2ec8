"""Exact region complexes of 2D slices and small boxes.

A *slice* is the plane ``x(u, v) = x0 + u e1 + v e2`` through input space (of any
dimension) restricted to a convex polygon in ``(u, v)``.  :func:`slice_complex`
partitions it into the network's linear regions by splitting convex polygons
layer by layer: on every polygon of the current partition each preactivation of
the next layer is affine, so its threshold lines split the polygon into convex
pieces (the SplineCam setting, Humayun et al. 2023).  Only the preactivations at
the polygons' vertices are carried: the network is continuous, so a value at a
new vertex on an edge is the linear interpolation of the edge's end values (the
same idea as :func:`polyfold.segment_crossings`).  All polygons of a layer are
split together, one vectorised pass per neuron and threshold, on flat vertex
arrays with offsets.

:func:`box_complex` does the same for boxes (and :func:`polytope_complex` for
polytopes) of dimension 2..6 in H-representation with HiGHS LPs.

Arithmetic modes (one keyword, as in :func:`polyfold.segment_crossings`):

``"float"``
    float64; vertex values within ``tol.zero`` times the neuron's largest value
    count as on the line.  Fast, no guarantee.
``"certified"``
    float64 with a first-order rounding-error bound carried for every vertex
    value; every sign decision must clear ``tol.safety`` times its bound.  A
    polygon with a decision the bound cannot make (a vertex on or near a line,
    several lines through one point, a neuron constant on a polygon) is
    recomputed in exact rationals from the start of the layer: its vertices are
    rebuilt exactly as intersections of its (exactly known) edge lines.  The
    combinatorics (regions, codes, adjacency) are then exact; vertex coordinates
    are float64 approximations.  :attr:`RegionComplex.n_recomputed` says how many
    polygons were recomputed.
``"exact"``
    python-flint rationals throughout; vertices, areas and interior points are
    exact.

Degenerate cases (all modes, exactly in ``"exact"``):

* a line through a vertex does not create a vertex; it splits the polygon only
  when vertices lie strictly on both sides;
* several lines through one point, and a line along an existing edge, create no
  zero-area regions;
* a neuron constant on a polygon does not split it; if the constant equals a
  threshold, the neuron takes the code of ``z == threshold`` (below it, i.e.
  inactive for ReLU) and the region is counted in ``n_degenerate``.
"""

from dataclasses import dataclass, field, replace
from functools import cached_property

import numpy as np

from .network import check_net as _check_net
from . import arith
from ._validation import as_float_array, check_mode
from .exceptions import DegenerateInputError, DomainError, ShapeError, ValidationError
from .network import PLNet, bits_from_codes
from .tolerance import UNIT_ROUNDOFF, get_tol, sign3

__all__ = [
    "RegionComplex",
    "box_complex",
    "polytope_complex",
    "slice_complex",
    "slice_through",
]


# ---------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------
def _check_plane(net, origin, e1, e2, tol):
    d = net.input_dim
    out = []
    for name, v in (("origin", origin), ("e1", e1), ("e2", e2)):
        a = as_float_array(v, name)
        if a.shape != (d,):
            raise ShapeError(
                f"{name} must have shape ({d},) to match the network's input_dim={d}, "
                f"got {a.shape}; flatten images with x.ravel()."
            )
        out.append(a)
    x0, a, b = out
    na, nb = float(a @ a), float(b @ b)
    if na == 0.0 or nb == 0.0:
        which = "e1" if na == 0.0 else "e2"
        raise DegenerateInputError(
            f"{which} is the zero vector; the slice needs two independent directions "
            "(e.g. e1 = x2 - x1, e2 = x3 - x1 for three distinct data points)."
        )
    gram = na * nb - float(a @ b) ** 2
    if gram <= tol.rank * na * nb:
        raise DegenerateInputError(
            "e1 and e2 are parallel (|cos| = 1 within Tolerance.rank); the slice needs two "
            "independent directions: pick a third point off the line, or use "
            "polyfold.segment_crossings for a one-dimensional path."
        )
    return x0, a, b


def _domain_polygon(bounds, polygon, tol):
    if (bounds is None) == (polygon is None):
        raise ValidationError(
            "pass exactly one of bounds=(umin, umax, vmin, vmax) or polygon=(k, 2) array "
            "for the slice's domain in (u, v) coordinates"
            + ("" if bounds is None else f"; got both bounds={bounds!r} and a polygon")
            + "."
        )
    if bounds is not None:
        b = as_float_array(bounds, "bounds")
        if b.shape != (4,):
            raise ShapeError(
                f"bounds must be (umin, umax, vmin, vmax), got shape {b.shape}; "
                "for a general convex domain pass polygon=."
            )
        umin, umax, vmin, vmax = b.tolist()
        if not (umin < umax and vmin < vmax):
            raise DomainError(
                f"bounds must satisfy umin < umax and vmin < vmax, got {tuple(b.tolist())}; "
                "an empty or inverted rectangle has no regions."
            )
        return np.array([[umin, vmin], [umax, vmin], [umax, vmax], [umin, vmax]])
    P = as_float_array(polygon, "polygon")
    if P.ndim != 2 or P.shape[1] != 2 or P.shape[0] < 3:
        raise ShapeError(
            f"polygon must have shape (k, 2) with k >= 3 vertices in (u, v), got {P.shape}."
        )
    Q = arith.fmpq_array(P)
    k = len(P)
    cross = []
    for i in range(k):
        a, b, c = Q[i], Q[(i + 1) % k], Q[(i + 2) % k]
        cross.append((b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]))
    if all(x <= 0 for x in cross):  # clockwise: reverse
        P = P[::-1].copy()
        cross = [-x for x in cross[::-1]]
    if not all(x > 0 for x in cross):
        raise DomainError(
            "polygon must be strictly convex with distinct vertices in order (no three "
            "consecutive vertices collinear, no repeated vertex); pass its convex hull "
            "(scipy.spatial.ConvexHull(points).vertices) or split it into convex parts."
        )
    return np.ascontiguousarray(P)


# ---------------------------------------------------------------------------
# flat polygon state
# ---------------------------------------------------------------------------
def _gamma(n):
    nu = n * UNIT_ROUNDOFF
    return nu / (1.0 - nu)


def _cell_index(off):
    return np.repeat(np.arange(len(off) - 1), np.diff(off))


def _next_index(off):
    nxt = np.arange(1, off[-1] + 1)
    nxt[off[1:] - 1] = off[:-1]
    return nxt


class _Pool:
    """Growable store of vertices: coordinates, current-layer values, error bounds.

    Cells reference pool rows; a crossing point is stored once and shared by the
    two children of the split that created it.
    """

    def __init__(self, P, Z, E):
        self.n = len(P)
        cap = max(16, self.n + self.n // 2)
        self.P = self._alloc(P, cap)
        self.Z = self._alloc(Z, cap)
        self.E = None if E is None else self._alloc(E, cap)

    @staticmethod
    def _alloc(a, cap):
        out = np.empty((cap,) + a.shape[1:], dtype=a.dtype)
        out[: len(a)] = a
        return out

    def _grow(self, need):
        cap = max(need, 2 * len(self.P))
        self.P = self._alloc(self.P[: self.n], cap)
        self.Z = self._alloc(self.Z[: self.n], cap)
        if self.E is not None:
            self.E = self._alloc(self.E[: self.n], cap)

    def append(self, P, Z, E):
        k = len(P)
        if self.n + k > len(self.P):
            self._grow(self.n + k)
        self.P[self.n : self.n + k] = P
        self.Z[self.n : self.n + k] = Z
        if self.E is not None:
            self.E[self.n : self.n + k] = E
        ids = np.arange(self.n, self.n + k)
        self.n += k
        return ids


@dataclass
class _State:
    """Polygons of the current partition, as flat arrays (internal, mutable)."""

    pool: _Pool  # vertex store
    vid: np.ndarray  # (V,) int64 pool row of every cell vertex (cells one after another, CCW)
    lab: np.ndarray  # (V,) int64 label of the edge from vertex k to the next one
    off: np.ndarray  # (C + 1,) int64 vertex offsets of the cells
    codes: np.ndarray  # (C, n_hidden) int8
    anc: np.ndarray  # (C,) int64 index of the cell's ancestor at the start of the layer
    amb: np.ndarray  # (C,) bool: some decision inside was ambiguous (certified)
    deg: np.ndarray  # (C,) bool: a neuron was constant at a threshold on the cell

    @property
    def n_cells(self):
        return len(self.off) - 1


class _Chords:
    """Table of chords: the segment created when a cell is split by a neuron's line.

    Edge labels encode ``2 * chord + side`` (side 1: the ``z > theta`` child) for
    chords and ``-(k + 1)`` for edge ``k`` of the domain polygon.
    """

    def __init__(self):
        self.parts = []
        self.n = 0

    def add(self, layer, neuron, theta_index, anc):
        k = len(anc)
        rec = np.empty((k, 4), np.int64)
        rec[:, 0], rec[:, 1], rec[:, 2], rec[:, 3] = layer, neuron, theta_index, anc
        self.parts.append(rec)
        first = self.n
        self.n += k
        return first

    def table(self):
        """(n, 4) int64 rows ``(layer, neuron, threshold index, layer-start cell)``."""
        return np.concatenate(self.parts) if self.parts else np.zeros((0, 4), np.int64)


def _split_pass(st, j, theta, theta_index, layer, unit, chords, ctx):
    """Split every cell of ``st`` by the line ``z_j = theta`` (one vectorised pass)."""
    exact, certified = ctx["exact"], ctx["certified"]
    pool = st.pool
    dv = pool.Z[: pool.n, j] - theta  # per pool vertex
    if exact:
        sv = np.asarray(dv > 0, np.int8) - np.asarray(dv < 0, np.int8)
    elif certified:
        sv = np.sign(dv).astype(np.int8)
        ambv = np.abs(dv) <= ctx["safety"] * pool.E[: pool.n, j]
        sv[ambv] = 0
    else:
        sv = sign3(dv, ctx["band"][j])
    s = sv[st.vid]
    C = st.n_cells
    cell = _cell_index(st.off)
    pos = np.bincount(cell, weights=s > 0, minlength=C) > 0
    neg = np.bincount(cell, weights=s < 0, minlength=C) > 0
    if certified:
        st.amb |= np.bincount(cell, weights=ambv[st.vid], minlength=C) > 0
    st.deg |= ~pos & ~neg
    split = pos & neg
    split_ids = np.flatnonzero(split)
    if len(split_ids) == 0:
        st.codes[pos, unit] += 1
        return st
    keep_ids = np.flatnonzero(~split)
    counts = np.diff(st.off)
    # --- vertices of the cells that split
    sc = split[cell]
    idx = np.flatnonzero(sc)
    nxt = _next_index(st.off)[idx]
    sk = s[idx]
    sn = s[nxt]
    cross = (sk.astype(np.int16) * sn) < 0
    gk, gn = st.vid[idx[cross]], st.vid[nxt[cross]]  # pool rows of the crossed edges
    dk, dn = dv[gk], dv[gn]
    t = dk / (dk - dn)
    Pk, Pn = pool.P[gk], pool.P[gn]
    Zk, Zn = pool.Z[gk], pool.Z[gn]
    Pc = Pk + t[:, None] * (Pn - Pk)
    Zc = Zk + t[:, None] * (Zn - Zk)
    Ec = None
    if certified:
        # first-order bound: interpolation weights, error of t, rounding
        Ek, En = pool.E[gk], pool.E[gn]
        dt = (Ek[:, j] + En[:, j]) / (np.abs(dk) + np.abs(dn)) + 4 * UNIT_ROUNDOFF
        Ec = (1 - t)[:, None] * Ek + t[:, None] * En + dt[:, None] * np.abs(Zn - Zk)
        Ec += 4 * UNIT_ROUNDOFF * (np.abs(Zk) + np.abs(Zn))
    new_ids = pool.append(Pc, Zc, Ec)
    first = chords.add(layer, unit - ctx["offsets"][layer], theta_index, st.anc[split_ids])
    chord_of_cell = np.full(C, -1, np.int64)
    chord_of_cell[split_ids] = first + np.arange(len(split_ids))
    ch = chord_of_cell[cell[idx]]
    labk = st.lab[idx]
    nv = len(idx)
    # candidates: vertex k, then the crossing on edge (k, k + 1)
    cand_vid = np.empty(2 * nv, np.int64)
    cand_vid[0::2] = st.vid[idx]
    cv = np.zeros(nv, np.int64)
    cv[cross] = new_ids
    cand_vid[1::2] = cv
    m_plus = np.empty(2 * nv, bool)
    m_plus[0::2] = sk >= 0
    m_plus[1::2] = cross
    m_minus = np.empty(2 * nv, bool)
    m_minus[0::2] = sk <= 0
    m_minus[1::2] = cross
    lab_plus = np.empty(2 * nv, np.int64)
    lab_plus[0::2] = np.where((sk == 0) & (sn < 0), 2 * ch + 1, labk)
    lab_plus[1::2] = np.where(sk > 0, 2 * ch + 1, labk)
    lab_minus = np.empty(2 * nv, np.int64)
    lab_minus[0::2] = np.where((sk == 0) & (sn > 0), 2 * ch, labk)
    lab_minus[1::2] = np.where(sk < 0, 2 * ch, labk)
    cand_cell = np.repeat(cell[idx], 2)
    vkeep = ~sc
    cnt_plus = np.bincount(cand_cell[m_plus], minlength=C)[split_ids]
    cnt_minus = np.bincount(cand_cell[m_minus], minlength=C)[split_ids]
    cnt = np.concatenate([counts[keep_ids], cnt_plus, cnt_minus])
    parent = np.concatenate([keep_ids, split_ids, split_ids])
    codes = st.codes[parent]
    ns = len(split_ids)
    inc = np.concatenate([pos[keep_ids], np.ones(ns, bool), np.zeros(ns, bool)])
    codes[inc, unit] += 1
    off = np.zeros(len(cnt) + 1, np.int64)
    np.cumsum(cnt, out=off[1:])
    return _State(
        pool=pool,
        vid=np.concatenate([st.vid[vkeep], cand_vid[m_plus], cand_vid[m_minus]]),
        lab=np.concatenate([st.lab[vkeep], lab_plus[m_plus], lab_minus[m_minus]]),
        off=off,
        codes=codes,
        anc=st.anc[parent],
        amb=st.amb[parent],
        deg=st.deg[parent],
    )


def _piece_tables(net, l, exact):
    act = net.activations[l]
    pcs = act.pieces()
    c2p = act.code_to_piece()
    if exact:
        slope = np.array([arith.to_fmpq(pcs[p][0]) for p in c2p], dtype=object)
        offset = np.array([arith.to_fmpq(pcs[p][1]) for p in c2p], dtype=object)
    else:
        slope = np.array([pcs[p][0] for p in c2p], dtype=np.float64)
        offset = np.array([pcs[p][1] for p in c2p], dtype=np.float64)
    return slope, offset


def _compact(st):
    """Drop pool rows no cell references (returns a state with a fresh pool)."""
    used, inv = np.unique(st.vid, return_inverse=True)
    pool = st.pool
    E = None if pool.E is None else pool.E[used]
    new = _Pool(pool.P[used], pool.Z[used], E)
    return replace(st, pool=new, vid=inv.astype(np.int64).reshape(-1))


def _next_layer(st, net, l, ctx):
    """Vertex values of layer ``l + 1`` from those of layer ``l``.

    The activation is continuous, so a vertex on a boundary gets the same value
    from either side; it is applied to the vertex values directly.
    """
    exact, certified = ctx["exact"], ctx["certified"]
    st = _compact(st)
    pool = st.pool
    Z = pool.Z[: pool.n]
    act = net.activations[l]
    H = act.apply(Z)
    W, b = (net.exact_layers() if exact else net.layers)[l + 1]
    Znew = H @ W.T + b
    E = None
    if certified:
        Ez = pool.E[: pool.n]
        slopes = np.array([abs(p[0]) for p in act.pieces()])
        knots = np.array(act.knots, dtype=np.float64)
        lo_piece = np.zeros(Z.shape, np.int64)
        hi_piece = np.zeros(Z.shape, np.int64)
        for kn in knots:  # piece index = number of knots strictly below
            lo_piece += (Z - Ez) > kn
            hi_piece += (Z + Ez) > kn
        # the piece is certain when Z +- E stays between two knots; otherwise the
        # largest slope bounds the error
        slope_bound = np.where(lo_piece == hi_piece, slopes[lo_piece], slopes.max())
        EH = slope_bound * Ez + UNIT_ROUNDOFF * np.abs(H)
        g = _gamma(W.shape[1] + 2)
        absW = np.abs(W)
        E = EH @ absW.T + g * (np.abs(H) @ absW.T + np.abs(b))
    st.pool = _Pool(pool.P[: pool.n], Znew, E)
    return st


def _first_layer_map(net, x0, e1, e2, exact):
    """``(G (w, 2), g (w,))`` with ``z_1(u, v) = G (u, v) + g`` (float or exact)."""
    if exact:
        W, b = net.exact_layers()[0]
        Eq = arith.fmpq_array(np.stack([e1, e2], axis=1))
        return W @ Eq, W @ arith.fmpq_array(x0) + b
    W, b = net.layers[0]
    return W @ np.stack([e1, e2], axis=1), W @ x0 + b


def _initial_state(net, P0, G, g, ctx):
    exact, certified = ctx["exact"], ctx["certified"]
    k = len(P0)
    P = arith.fmpq_array(P0) if exact else np.array(P0, dtype=np.float64)
    Z = P @ G.T + g
    E = None
    if certified:
        W, b = net.layers[0]
        x0, e1, e2 = ctx["plane"]
        absW = np.abs(W)
        Gabs = absW @ np.abs(np.stack([e1, e2], axis=1))
        gabs = absW @ np.abs(x0) + np.abs(b)
        E = _gamma(W.shape[1] + 4) * (np.abs(P) @ Gabs.T + gabs)
    return _State(
        pool=_Pool(P, Z, E),
        vid=np.arange(k, dtype=np.int64),
        lab=-(np.arange(k, dtype=np.int64) + 1),
        off=np.array([0, k], np.int64),
        codes=np.zeros((1, net.n_hidden), np.int8),
        anc=np.zeros(1, np.int64),
        amb=np.zeros(1, bool),
        deg=np.zeros(1, bool),
    )


def _take_cells(st, cells):
    """``(vertex rows, offsets)`` selecting some cells (in the given order)."""
    cells = np.asarray(cells, np.int64)
    counts = np.diff(st.off)[cells]
    starts = st.off[:-1][cells]
    idx = np.repeat(starts - np.cumsum(np.r_[0, counts[:-1]]), counts) + np.arange(counts.sum())
    off = np.zeros(len(cells) + 1, np.int64)
    np.cumsum(counts, out=off[1:])
    return idx, off


def _subset(st, cells):
    """State restricted to some cells (same pool)."""
    cells = np.asarray(cells, np.int64)
    idx, off = _take_cells(st, cells)
    return _State(
        pool=st.pool, vid=st.vid[idx], lab=st.lab[idx], off=off,
        codes=st.codes[cells].copy(), anc=st.anc[cells], amb=st.amb[cells], deg=st.deg[cells],
    )


@dataclass
class _Flat:
    """Final cells with their own vertex coordinates (no pool)."""

    P: np.ndarray
    lab: np.ndarray
    off: np.ndarray
    codes: np.ndarray
    deg: np.ndarray

    @property
    def n_cells(self):
        return len(self.off) - 1


def _flatten(st, to_float=False):
    P = st.pool.P[st.vid]
    if to_float and P.dtype == object:
        P = arith.to_float_array(P)
    return _Flat(P=P, lab=st.lab, off=st.off, codes=st.codes, deg=st.deg)


def _concat_flat(parts):
    parts = [p for p in parts if p.n_cells > 0]
    if len(parts) == 1:
        return parts[0]
    offs, base = [], 0
    for p in parts:
        offs.append(p.off[:-1] + base)
        base += p.off[-1]
    offs.append(np.array([base], np.int64))
    cat = lambda name: np.concatenate([getattr(p, name) for p in parts])
    return _Flat(P=cat("P"), lab=cat("lab"), off=np.concatenate(offs), codes=cat("codes"),
                 deg=cat("deg"))


def _run(net, st, l_start, chords, starts, ctx, recompute=None):
    """Split ``st`` (cells at the start of layer ``l_start``) through all hidden layers.

    ``starts[l]`` collects the codes of the cells at the start of layer ``l`` (the
    chords refer to them).  ``recompute(st_start, cells, l)`` (certified mode) is
    called at the end of every layer with the layer-start state and the indices of
    its cells whose descendants met an ambiguous decision; it returns the exact
    final cells (a :class:`_Flat`).  Returns ``(final state, [exact parts])``.
    """
    tabs = net._code_tables()
    offsets = net.layer_offsets
    extra = []
    for l in range(l_start, net.depth):
        base = sum(len(c) for c in starts[l])
        st.anc = base + np.arange(st.n_cells, dtype=np.int64)
        starts[l].append(st.codes.copy())
        st.amb = np.zeros(st.n_cells, bool)
        st_start = replace(st, codes=st.codes.copy(), deg=st.deg.copy(), amb=st.amb.copy())
        n_start = st.pool.n
        thresholds = tabs[l][0]
        if not ctx["exact"] and not ctx["certified"]:
            Zs = np.abs(st.pool.Z[: st.pool.n])
            ctx["band"] = ctx["tol"].zero * (Zs.max(axis=0) if len(Zs) else 0.0)
        for j in range(net.widths[l]):
            unit = int(offsets[l] + j)
            for ti, theta in enumerate(thresholds):
                th = arith.to_fmpq(theta) if ctx["exact"] else float(theta)
                st = _split_pass(st, j, th, ti, l, unit, chords, ctx)
        if ctx["certified"] and st.amb.any():
            bad_anc = np.unique(st.anc[st.amb]) - base
            keep = ~np.isin(st.anc - base, bad_anc)
            st_start.pool = _Pool(st.pool.P[:n_start], st.pool.Z[:n_start], st.pool.E[:n_start])
            extra.append(recompute(st_start, bad_anc, l))
            st = _subset(st, np.flatnonzero(keep))
        if st.n_cells == 0:  # everything went to the exact fallback
            break
        st = _next_layer(st, net, l, ctx)
    return st, extra


# ---------------------------------------------------------------------------
# exact reconstruction (certified mode)
# ---------------------------------------------------------------------------
def _exact_uv_map(net, G1, g1, codes, l):
    """Exact ``(G, g)`` of layer ``l``'s preactivations in (u, v) for a cell's codes."""
    G, g = G1, g1
    off = net.layer_offsets
    layers = net.exact_layers()
    for k in range(l):
        slope_t, offset_t = _piece_tables(net, k, True)
        cl = codes[off[k] : off[k + 1]].astype(np.int64)
        slope, offset = slope_t[cl], offset_t[cl]
        W, b = layers[k + 1]
        G = W @ (G * slope[:, None])
        g = W @ (g * slope + offset) + b
    return G, g


def _make_recompute(net, P0, chords, starts, ctx_exact, first_exact, counter):
    """Build the certified-mode fallback: rebuild cells exactly, rerun exactly.

    ``first_exact()`` returns the exact first-layer map in (u, v); it is only
    computed when some polygon needs the fallback.
    """
    P0q = arith.fmpq_array(P0)
    k0 = len(P0)
    cache = {}
    first = []

    def first_map():
        if not first:
            first.extend(first_exact())
        return first[0], first[1]

    def line_of(label, table, start_codes):
        if label < 0:  # domain edge -(k + 1)
            k = -label - 1
            a, b = P0q[k], P0q[(k + 1) % k0]
            nu, nv = -(b[1] - a[1]), b[0] - a[0]
            return nu, nv, -(nu * a[0] + nv * a[1])
        L, N, T, A = (int(v) for v in table[label >> 1])
        key = (L, A)
        if key not in cache:
            cache[key] = _exact_uv_map(net, *first_map(), start_codes[L][A], L)
        G, g = cache[key]
        theta = arith.to_fmpq(net._code_tables()[L][0][T])
        return G[N, 0], G[N, 1], g[N] - theta

    def recompute(st_start, cells, l):
        sub = _subset(st_start, cells)
        counter[0] += len(cells)
        table = chords.table()
        start_codes = [np.concatenate(s) if s else None for s in starts]
        nxt = _next_index(sub.off)
        prev = np.empty_like(nxt)
        prev[nxt] = np.arange(len(nxt))
        lines = [line_of(int(lb), table, start_codes) for lb in sub.lab]
        P = np.empty((len(lines), 2), dtype=object)
        for i in range(len(lines)):
            a1, b1, c1 = lines[prev[i]]
            a2, b2, c2 = lines[i]
            det = a1 * b2 - a2 * b1
            if det == 0:
                raise _NeedExact()
            P[i, 0] = (-c1 * b2 + c2 * b1) / det
            P[i, 1] = (-a1 * c2 + a2 * c1) / det
        cell = _cell_index(sub.off)
        Z = np.empty((len(P), net.widths[l]), dtype=object)
        for ci in range(sub.n_cells):
            G, g = _exact_uv_map(net, *first_map(), sub.codes[ci], l)
            rows = np.flatnonzero(cell == ci)
            Z[rows] = P[rows] @ G.T + g
        ex = _State(pool=_Pool(P, Z, None), vid=np.arange(len(P), dtype=np.int64), lab=sub.lab,
                    off=sub.off, codes=sub.codes, anc=sub.anc,
                    amb=np.zeros(sub.n_cells, bool), deg=sub.deg)
        final, _ = _run(net, ex, l, chords, starts, ctx_exact)
        return _flatten(final, to_float=True)

    return recompute


class _NeedExact(Exception):
    """Internal: the certified reconstruction met parallel consecutive edges."""


# ---------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ComplexRegion:
    """One region of a :class:`RegionComplex` (a light record).

    Attributes
    ----------
    index : int
    codes : (n_hidden,) int8
    pattern : (n_hidden,) bool
    vertices : (k, 2) float or None
        Polygon vertices in (u, v), counter-clockwise (slices).
    vertices_input : (k, d) float or None
        The same vertices in input space (slices), or the region's vertices
        (boxes, d <= 4).
    A, c : arrays or None
        H-representation ``{x : A x + c >= 0}`` (boxes).
    measure : float
        Area in (u, v) (slices) or volume (boxes).
    interior_point : (2,) or (d,) float
    V : (output_dim, d) float
    u : (output_dim,) float
        Logits ``V x + u`` in input space.
    predicted_class : int
    """

    index: int
    codes: np.ndarray
    pattern: np.ndarray
    vertices: object
    vertices_input: object
    A: object
    c: object
    measure: float
    interior_point: np.ndarray
    V: np.ndarray
    u: np.ndarray
    predicted_class: int


@dataclass(frozen=True)
class DecisionBoundary:
    """Pieces of the decision boundary inside a slice.

    Attributes
    ----------
    segments : (k, 2, 2) float
        Segment end points in (u, v).
    region : (k,) int64
        The region containing each piece.
    classes : (k, 2) int64
        The two classes tied on the piece (``(0, 1)`` for a single-output net:
        ``logit = 0``).
    """

    segments: np.ndarray
    region: np.ndarray
    classes: np.ndarray

    def __len__(self):
        return len(self.region)


@dataclass(frozen=True, eq=False)
class RegionComplex:
    """The linear regions of a network on a 2D slice or a small box or polytope.

    Attributes
    ----------
    net : PLNet
    kind : str
        ``"slice"`` or ``"box"`` (boxes and polytopes).
    mode : str
    n_regions : int
    codes : (R, n_hidden) int8
        Codes of every region (unique per region).
    vertices : (total, 2) float
        Slices: all polygon vertices in (u, v), region after region
        (counter-clockwise); ``vertex_offsets`` (R + 1) says where each starts.
    vertex_offsets : (R + 1,) int64
    measures : (R,) float
        Areas in (u, v) units (slices) or volumes (boxes).
    interior_points : (R, 2) or (R, d) float
        A point strictly inside each region ((u, v) for slices).
    origin, e1, e2 : (d,) float
        The slice plane ``x = origin + u e1 + v e2`` (slices).
    domain : (k, 2) float or (A, c)
        The slice's polygon in (u, v), or the box/polytope rows.
    n_recomputed : int
        Certified mode: polygons recomputed exactly.
    n_degenerate : int
        Regions on which some neuron is constant at a threshold.
    touches_boundary : (R,) bool
        Whether the region has a facet (an edge of positive length for slices)
        on the domain's boundary.  When the domain contains every vertex of the
        partition in its interior, these are exactly the unbounded regions of the
        whole input space (plane).
    """

    net: PLNet = field(repr=False)
    kind: str
    mode: str
    n_regions: int
    codes: np.ndarray = field(repr=False)
    measures: np.ndarray = field(repr=False)
    interior_points: np.ndarray = field(repr=False)
    vertices: object = field(default=None, repr=False)
    vertex_offsets: object = field(default=None, repr=False)
    origin: object = field(default=None, repr=False)
    e1: object = field(default=None, repr=False)
    e2: object = field(default=None, repr=False)
    domain: object = field(default=None, repr=False)
    n_recomputed: int = 0
    n_degenerate: int = 0
    touches_boundary: object = field(default=None, repr=False)
    tol: object = field(default=None, repr=False)
    exact_vertices: object = field(default=None, repr=False)
    exact_areas: object = field(default=None, repr=False)
    _labels: object = field(default=None, repr=False)
    _hrep: object = field(default=None, repr=False)
    _adjacency: object = field(default=None, repr=False)

    def __len__(self):
        return self.n_regions

    # -- per-region data ----------------------------------------------------------
    @property
    def patterns(self):
        """(R, n_hidden) bool: bits ``z > 0`` of every region."""
        return bits_from_codes(self.net, self.codes)

    @property
    def dim(self):
        """Dimension of the complex (2 for slices)."""
        return 2 if self.kind == "slice" else self.net.input_dim

    def to_input(self, uv):
        """Map (n, 2) slice coordinates to input space ``origin + u e1 + v e2``."""
        if self.kind != "slice":
            raise ValidationError("to_input applies to slice complexes only.")
        uv = np.asarray(uv, dtype=np.float64)
        return self.origin + uv[..., :1] * self.e1 + uv[..., 1:2] * self.e2

    def polygon(self, i):
        """(k, 2) vertices of region ``i`` in (u, v) (slices)."""
        self._check_index(i)
        if self.kind != "slice":
            raise ValidationError("polygon() applies to slice complexes; use hrep(i) for boxes.")
        return self.vertices[self.vertex_offsets[i] : self.vertex_offsets[i + 1]]

    def exact_polygon(self, i):
        """Exact vertices of region ``i`` as a list of ``(Fraction, Fraction)`` (exact mode)."""
        self._check_index(i)
        if self.exact_vertices is None:
            raise ValidationError(
                "exact vertices exist only for mode='exact' slices; recompute with mode='exact'."
            )
        rows = self.exact_vertices[self.vertex_offsets[i] : self.vertex_offsets[i + 1]]
        return [(arith.to_fraction(a), arith.to_fraction(b)) for a, b in rows]

    def hrep(self, i):
        """``(A, c)`` of region ``i``: ``{x : A x + c >= 0}`` in input space (boxes) or
        in (u, v) (slices, computed from the codes)."""
        self._check_index(i)
        if self._hrep is not None:
            return self._hrep[i]
        from .regions import region_rows

        A, c, _, _, _ = region_rows(self.net, self.codes[i])
        E = np.stack([self.e1, self.e2], axis=1)
        return A @ E, A @ self.origin + c

    def _check_index(self, i):
        if not (0 <= int(i) < self.n_regions):
            raise ValidationError(
                f"region index must be in 0..{self.n_regions - 1}, got {i}."
            )

    @cached_property
    def affine_maps(self):
        """``(V (R, output_dim, d), u (R, output_dim))``: logits ``V x + u`` per region
        in input space."""
        return self.net.affine_map(codes=self.codes)

    @cached_property
    def uv_maps(self):
        """``(V (R, output_dim, 2), u (R, output_dim))``: logits in slice coordinates."""
        if self.kind != "slice":
            raise ValidationError("uv_maps applies to slice complexes only.")
        V, u = self.affine_maps
        E = np.stack([self.e1, self.e2], axis=1)
        return V @ E, V @ self.origin + u

    @cached_property
    def predicted_classes(self):
        """(R,) int64: class predicted at each region's interior point."""
        pts = self.interior_points if self.kind != "slice" else self.to_input(self.interior_points)
        # interior points lie strictly inside their regions: a forward pass gives
        # each region's logits there
        f = np.atleast_2d(self.net.forward(pts)).reshape(len(pts), -1)
        if f.shape[1] == 1:
            return (f[:, 0] > 0).astype(np.int64)
        return np.argmax(f, axis=1).astype(np.int64)

    def region(self, i):
        """A :class:`ComplexRegion` record for region ``i``."""
        self._check_index(i)
        V, u = self.affine_maps
        if self.kind == "slice":
            poly = self.polygon(i)
            verts, vin, A, c = poly, self.to_input(poly), None, None
        else:
            A, c = self.hrep(i)
            verts = None
            vin = self.region_vertices(i) if self.net.input_dim <= 4 else None
        return ComplexRegion(
            index=int(i),
            codes=self.codes[i],
            pattern=bits_from_codes(self.net, self.codes[i]),
            vertices=verts,
            vertices_input=vin,
            A=A,
            c=c,
            measure=float(self.measures[i]),
            interior_point=self.interior_points[i],
            V=V[i],
            u=u[i],
            predicted_class=int(self.predicted_classes[i]),
        )

    @property
    def regions(self):
        """List of :class:`ComplexRegion`, one per region."""
        return [self.region(i) for i in range(self.n_regions)]

    def region_vertices(self, i):
        """Vertices of box region ``i`` (Qhull half-space intersection)."""
        from scipy.spatial import HalfspaceIntersection

        A, c = self.hrep(i)
        hs = np.hstack([-A, -c[:, None]])  # Qhull: A' x + b' <= 0
        return HalfspaceIntersection(hs, self.interior_points[i]).intersections

    def locate(self, points):
        """Index of the region containing each point, or -1 (by codes).

        Parameters
        ----------
        points : (n, 2) float for slices ((u, v)), (n, d) for boxes

        Returns
        -------
        (n,) int64
        """
        pts = as_float_array(points, "points")
        if pts.ndim == 1:
            pts = pts[None, :]
        x = self.to_input(pts) if self.kind == "slice" else pts
        codes = self.net.codes(x)
        key = {c.tobytes(): i for i, c in enumerate(self.codes)}
        return np.array([key.get(c.tobytes(), -1) for c in codes], dtype=np.int64)

    # -- adjacency --------------------------------------------------------------------
    @property
    def adjacency(self):
        """``(pairs (E, 2) int64, switching list of lists of (layer, neuron))``.

        One pair per two regions sharing a facet of dimension ``dim - 1``; the
        switching neurons are the units whose codes differ between the two.
        """
        return self._adjacency_all[:2]

    @property
    def facet_measures(self):
        """(E,) float: length of each shared edge (slices, (u, v) units); NaN for boxes."""
        return self._adjacency_all[2]

    @property
    def _adjacency_all(self):
        from .adjacency import adjacency_pairs

        if self._adjacency is None:
            object.__setattr__(self, "_adjacency", adjacency_pairs(self))
        return self._adjacency

    @cached_property
    def graph(self):
        """networkx Graph: node per region (index; attributes ``pattern``, ``codes``,
        ``measure``, ``predicted_class``), edge per shared facet (attribute
        ``switching``: list of ``(layer, neuron)``)."""
        from .adjacency import region_graph

        return region_graph(self)

    @cached_property
    def decision_boundary(self):
        """:class:`DecisionBoundary`: where the predicted class changes (slices)."""
        from .adjacency import decision_boundary

        return decision_boundary(self)

    def to_json(self, path=None):
        """JSON text (written to ``path`` when given) of the regions and the graph."""
        from .adjacency import complex_to_json

        return complex_to_json(self, path)

    def to_graphml(self, path):
        """Write the adjacency graph as GraphML (list attributes as strings)."""
        from .adjacency import graph_to_graphml

        return graph_to_graphml(self.graph, path)

    def __repr__(self):
        return (
            f"RegionComplex(kind={self.kind!r}, mode={self.mode!r}, n_regions={self.n_regions}, "
            f"n_recomputed={self.n_recomputed}, n_degenerate={self.n_degenerate})"
        )


# ---------------------------------------------------------------------------
# slices
# ---------------------------------------------------------------------------
def _shoelace(P, off, exact):
    cell = _cell_index(off)
    nxt = _next_index(off)
    cr = P[:, 0] * P[nxt, 1] - P[nxt, 0] * P[:, 1]
    if exact:
        out = np.empty(len(off) - 1, dtype=object)
        for i in range(len(off) - 1):
            s = arith.ZERO
            for v in cr[off[i] : off[i + 1]]:
                s += v
            out[i] = s / 2
        return out
    return np.bincount(cell, weights=cr, minlength=len(off) - 1) / 2


def _centroids(P, off, exact):
    counts = np.diff(off)
    if exact:
        out = np.empty((len(counts), 2), dtype=object)
        for i in range(len(counts)):
            rows = P[off[i] : off[i + 1]]
            out[i, 0] = sum(rows[:, 0], arith.ZERO) / int(counts[i])
            out[i, 1] = sum(rows[:, 1], arith.ZERO) / int(counts[i])
        return out
    cell = _cell_index(off)
    cu = np.bincount(cell, weights=P[:, 0], minlength=len(counts))
    cv = np.bincount(cell, weights=P[:, 1], minlength=len(counts))
    return np.stack([cu, cv], axis=1) / counts[:, None]


def _slice_states(net, x0, e1, e2, P0, mode, tol):
    """Run the engine; returns (final state, recomputed count)."""
    exact = mode == "exact"
    certified = mode == "certified"
    ctx = {
        "exact": exact, "certified": certified, "tol": tol, "safety": tol.safety,
        "offsets": net.layer_offsets, "plane": (x0, e1, e2),
    }
    G1, g1 = _first_layer_map(net, x0, e1, e2, exact)
    chords = _Chords()
    starts = [[] for _ in range(net.depth + 1)]
    st = _initial_state(net, P0, G1, g1, ctx)
    counter = [0]
    recompute = None
    if certified:
        ctx_exact = dict(ctx, exact=True, certified=False)
        first_exact = lambda: _first_layer_map(net, x0, e1, e2, True)
        recompute = _make_recompute(net, P0, chords, starts, ctx_exact, first_exact, counter)
    final, extra = _run(net, st, 0, chords, starts, ctx, recompute)
    return final, extra, counter[0]


def slice_complex(net, origin, e1, e2, *, bounds=None, polygon=None, mode="certified", tol=None):
    """The linear regions of ``net`` on a 2D slice of its input space.

    Parameters
    ----------
    net : PLNet
        Input dimension ``d`` (any).
    origin : (d,) float
    e1, e2 : (d,) float
        The slice is ``x(u, v) = origin + u e1 + v e2`` (``e1, e2`` need not be
        orthonormal; areas are measured in (u, v)).
    bounds : (umin, umax, vmin, vmax), optional
        A rectangle in (u, v).
    polygon : (k, 2) float, optional
        A strictly convex polygon in (u, v) (either orientation).  Pass exactly one
        of ``bounds`` and ``polygon``.
    mode : {"certified", "float", "exact"}
    tol : Tolerance, optional

    Returns
    -------
    RegionComplex
        ``kind="slice"``: one convex polygon per linear region (counter-clockwise
        vertices in (u, v)), codes, areas, interior points (vertex averages), the
        affine maps, predicted classes, ``graph``, ``decision_boundary``.

    Raises
    ------
    DegenerateInputError
        If ``e1`` or ``e2`` is zero or they are parallel.
    DomainError
        If ``bounds`` is empty or inverted, or ``polygon`` is not strictly convex.
    ShapeError
        If ``origin``, ``e1``, ``e2`` do not match ``net.input_dim``.

    Notes
    -----
    Layer-by-layer polygon splitting: each polygon of the current partition is a
    set on which all preactivations of the next layer are affine; each neuron's
    threshold lines split it (one vectorised pass per neuron over all polygons).
    Cost: ``O(n_hidden * V)`` array operations for ``V`` polygon vertices alive,
    plus one ``O(width)`` forward step per vertex and layer.  Every region is a
    convex polygon with distinct codes; regions of zero area never occur.  See the
    module docstring for the three modes and the degenerate cases.

    References
    ----------
    A. I. Humayun, R. Balestriero, G. Balakrishnan, R. Baraniuk, "SplineCam: Exact
    Visualization and Characterization of Deep Network Geometry and Decision
    Boundaries", CVPR 2023.

    Examples
    --------
    >>> from polyfold import zoo
    >>> net = zoo.arrangement(4, 2, seed=0)
    >>> cx = slice_complex(net, [0.0, 0.0], [1.0, 0.0], [0.0, 1.0],
    ...                    bounds=(-100, 100, -100, 100), mode="exact")
    >>> cx.n_regions                 # 1 + 4 + C(4, 2) lines in general position
    11
    >>> float(cx.measures.sum())
    40000.0
    """
    net = _check_net(net)
    tol = get_tol(tol)
    mode = check_mode(mode)
    x0, a, b = _check_plane(net, origin, e1, e2, tol)
    P0 = _domain_polygon(bounds, polygon, tol)
    return _build_slice(net, x0, a, b, P0, mode, tol)


def _build_slice(net, x0, a, b, P0, mode, tol):
    try:
        final, extra, n_rec = _slice_states(net, x0, a, b, P0, mode, tol)
    except _NeedExact:
        final, extra, n_rec = _slice_states(net, x0, a, b, P0, "exact", tol)
        n_rec = final.n_cells
    exact = mode == "exact"
    final = _concat_flat([_flatten(final, to_float=not exact)] + extra)
    areas = _shoelace(final.P, final.off, exact)
    cent = _centroids(final.P, final.off, exact)
    exact_vertices = exact_areas = None
    P = final.P
    if exact:
        exact_vertices, exact_areas = final.P, areas
        P = arith.to_float_array(final.P)
        areas = arith.to_float_array(areas)
        cent = arith.to_float_array(cent)
    for arr in (P, areas, cent, final.codes, final.off):
        arr.setflags(write=False)
    return RegionComplex(
        net=net,
        kind="slice",
        mode=mode,
        n_regions=final.n_cells,
        codes=final.codes,
        measures=areas,
        interior_points=cent,
        vertices=P,
        vertex_offsets=final.off,
        origin=x0,
        e1=a,
        e2=b,
        domain=P0,
        n_recomputed=int(n_rec),
        n_degenerate=int(final.deg.sum()),
        touches_boundary=np.bincount(_cell_index(final.off), weights=final.lab < 0,
                                     minlength=final.n_cells) > 0,
        tol=tol,
        exact_vertices=exact_vertices,
        exact_areas=exact_areas,
        _labels=final.lab,
    )


def slice_through(net, x1, x2, x3, *, margin=0.25, mode="certified", tol=None):
    """The region complex of the plane through three data points.

    The slice is ``x(u, v) = x1 + u (x2 - x1) + v (x3 - x1)``, so the three points
    sit at ``(0, 0)``, ``(1, 0)`` and ``(0, 1)``; the domain is the rectangle
    ``[-margin, 1 + margin]^2`` covering them.

    Parameters
    ----------
    net : PLNet
    x1, x2, x3 : (d,) float
    margin : float
        Extra room around the unit square in (u, v) units (>= 0).
    mode : {"certified", "float", "exact"}
    tol : Tolerance, optional

    Returns
    -------
    RegionComplex

    Raises
    ------
    DegenerateInputError
        If the three points are (nearly) collinear or two coincide.
    ValidationError
        If ``margin`` is negative or not finite.

    Examples
    --------
    >>> import numpy as np
    >>> from polyfold import zoo
    >>> net = zoo.random_mlp([8, 8], 5, 3, seed=0)
    >>> X = np.random.default_rng(0).random((3, 5))
    >>> cx = slice_through(net, *X, mode="float")
    >>> bool(cx.locate([[0, 0], [1, 0], [0, 1]]).min() >= 0)   # each point in a region
    True
    """
    net = _check_net(net)
    tol = get_tol(tol)
    m = as_float_array(margin, "margin")
    if m.size != 1 or m.ravel()[0] < 0:
        raise ValidationError(
            f"margin must be one number >= 0 (room around the three points in (u, v) "
            f"units), got {margin!r}."
        )
    pts = []
    for name, x in (("x1", x1), ("x2", x2), ("x3", x3)):
        p = as_float_array(x, name)
        if p.shape != (net.input_dim,):
            raise ShapeError(
                f"{name} must have shape ({net.input_dim},) to match the network's "
                f"input_dim={net.input_dim}, got {p.shape}; flatten images with x.ravel()."
            )
        pts.append(p)
    try:
        x0, a, b = _check_plane(net, pts[0], pts[1] - pts[0], pts[2] - pts[0], tol)
    except DegenerateInputError as err:
        raise DegenerateInputError(
            "x1, x2, x3 must be three distinct, non-collinear points to span a plane "
            f"({err})"
        ) from err
    m = float(m.ravel()[0])
    return _build_slice(net, x0, a, b, _domain_polygon((-m, 1 + m, -m, 1 + m), None, tol), check_mode(mode), tol)


# ---------------------------------------------------------------------------
# boxes and polytopes
# ---------------------------------------------------------------------------
def box_complex(net, lower, upper, *, mode="certified", max_dim=6, tol=None):
    """The linear regions of ``net`` inside the box ``lower <= x <= upper``.

    Parameters
    ----------
    net : PLNet
        Input dimension 2..``max_dim``.
    lower, upper : float or (d,) float
    mode : {"certified", "float"}
        Two-dimensional boxes also accept ``"exact"``; they are computed with the
        polygon engine of :func:`slice_complex`.
    max_dim : int
        Largest input dimension accepted (the number of regions and the LP work
        grow quickly with it).
    tol : Tolerance, optional

    Returns
    -------
    RegionComplex
        ``kind="box"`` (``kind="slice"`` with the identity plane for d = 2): per
        region the H-representation (:meth:`RegionComplex.hrep`), vertices via
        Qhull (:meth:`RegionComplex.region_vertices`, d <= 4), volume, interior
        point (Chebyshev centre), affine map; ``graph``.

    Raises
    ------
    DomainError
        If the box is empty or inverted.
    ValidationError
        If ``net.input_dim > max_dim`` (use :func:`slice_complex` instead) or < 2.

    Examples
    --------
    >>> from polyfold import zoo
    >>> net = zoo.arrangement(5, 3, seed=0)
    >>> cx = box_complex(net, -100.0, 100.0, mode="float")
    >>> cx.n_regions                # 1 + 5 + C(5, 2) + C(5, 3) planes in general position
    26
    """
    from . import _lp

    net = _check_net(net)
    tol = get_tol(tol)
    d = net.input_dim
    if d > max_dim:
        raise ValidationError(
            f"box_complex handles input dimension <= max_dim={max_dim}, got input_dim={d}; "
            "the number of regions and LPs explodes with d: use "
            "polyfold.slice_complex(net, origin, e1, e2, bounds=...) for a 2D slice, or "
            "raise max_dim if you accept the cost."
        )
    A, c = _lp.box_rows(lower, upper, d, name="box (lower, upper)")
    lo, hi = -c[:d], c[d:]
    if np.any(lo >= hi):
        k = int(np.argmax(lo >= hi))
        raise DomainError(
            f"the box is empty: lower[{k}] = {lo[k]!r} >= upper[{k}] = {hi[k]!r}; pass "
            "lower < upper in every coordinate."
        )
    if d == 2:
        mode = check_mode(mode)
        return _build_slice(net, np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0]),
                            _domain_polygon((lo[0], hi[0], lo[1], hi[1]), None, tol), mode, tol)
    return polytope_complex(net, A, c, mode=mode, max_dim=max_dim, tol=tol)


def polytope_complex(net, A, c, *, mode="certified", max_dim=6, tol=None):
    """The linear regions of ``net`` inside the polytope ``{x : A x + c >= 0}``.

    Parameters
    ----------
    net : PLNet
    A : (m, d) float
    c : (m,) float
        A bounded polytope with non-empty interior.
    mode : {"certified", "float"}
        ``"certified"`` checks every region in exact rationals: its interior point
        (Chebyshev centre) has exactly the region's codes.  A failed check raises
        :class:`SolverError`.  This certifies that every reported region exists
        with its codes; regions thinner than the LP tolerance could still be
        missed (use :func:`slice_complex` with ``mode="exact"`` for exact 2D
        complexes).
    max_dim : int
    tol : Tolerance, optional

    Returns
    -------
    RegionComplex (``kind="box"``)

    Raises
    ------
    DomainError
        If the polytope is empty, has no interior, or is unbounded.
    SolverError
        If an LP or Qhull fails (``status`` holds HiGHS's code, or ``"qhull"``), or
        the certification fails (``status="certification"``).

    Notes
    -----
    Layer-by-layer splitting in H-representation: every cell carries its rows and
    its vertices (Qhull half-space intersection around its Chebyshev centre).  A
    neuron splits a cell when its preactivation (affine on the cell) takes both
    signs at the vertices (beyond ``tol.zero`` times its scale); each child gets a
    Chebyshev centre (one LP) and its vertices; children thinner than the LP
    tolerance are not created.  Adjacency: two cells on opposite sides of one splitting
    hyperplane are adjacent iff their common face on it has dimension ``d - 1``
    (one LP per candidate pair).

    Examples
    --------
    >>> import numpy as np
    >>> from polyfold import zoo
    >>> net = zoo.arrangement(3, 3, seed=1)
    >>> A = np.vstack([np.eye(3), -np.ones((1, 3))]); c = np.array([50.0, 50, 50, 50])
    >>> polytope_complex(net, A, c, mode="float").n_regions >= 1
    True
    """
    from .regions import _box_engine

    net = _check_net(net)
    tol = get_tol(tol)
    mode = check_mode(mode, ("float", "certified"))
    A = as_float_array(A, "A", ndim=2)
    c = as_float_array(c, "c", ndim=1)
    d = net.input_dim
    if A.shape[1] != d or c.shape[0] != A.shape[0]:
        raise ShapeError(
            f"A must have shape (m, {d}) and c shape (m,) for input_dim={d}, got "
            f"{A.shape} and {c.shape}."
        )
    if d > max_dim:
        raise ValidationError(
            f"polytope_complex handles input dimension <= max_dim={max_dim}, got {d}; "
            "use polyfold.slice_complex for a 2D slice."
        )
    res = _box_engine(net, A, c, mode=mode, tol=tol)
    return RegionComplex(
        net=net,
        kind="box",
        mode=mode,
        n_regions=len(res["codes"]),
        codes=res["codes"],
        measures=res["volumes"],
        interior_points=res["points"],
        domain=(A, c),
        n_recomputed=res["n_recomputed"],
        n_degenerate=res["n_degenerate"],
        touches_boundary=res["boundary"],
        tol=tol,
        _hrep=res["hrep"],
        _labels=res["facet_labels"],
    )
