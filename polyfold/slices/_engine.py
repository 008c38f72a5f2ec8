"""The polygon-splitting engine of :func:`polyfold.slice_complex` (private).

The polygons of the current partition are stored flat: a growable vertex pool
(:class:`_Pool`: coordinates, current-layer preactivations and, in certified mode,
their error bounds) and per cell its vertex rows, edge labels and codes
(:class:`_State`).  :func:`_split_pass` splits every cell by one neuron's
threshold line in one vectorised pass; :func:`_next_layer` carries the vertex
values to the next layer; :func:`_run` drives all hidden layers and hands the
cells with an ambiguous decision to the exact fallback (:mod:`._exact`).
"""

from dataclasses import dataclass, replace

import numpy as np

from .. import arith
from ..tolerance import UNIT_ROUNDOFF, sign3


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
    two children of the split that created it.  In certified mode ``E`` bounds
    the error of every value ``Z`` and ``EP`` the error of the coordinates ``P``
    (max norm), both with respect to the exact vertex.
    """

    def __init__(self, P, Z, E, EP=None):
        self.n = len(P)
        cap = max(16, self.n + self.n // 2)
        self.P = self._alloc(P, cap)
        self.Z = self._alloc(Z, cap)
        self.E = None if E is None else self._alloc(E, cap)
        if E is not None and EP is None:
            EP = np.zeros(self.n)
        self.EP = None if E is None else self._alloc(np.asarray(EP, np.float64), cap)

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
            self.EP = self._alloc(self.EP[: self.n], cap)

    def append(self, P, Z, E, EP=None):
        k = len(P)
        if self.n + k > len(self.P):
            self._grow(self.n + k)
        self.P[self.n : self.n + k] = P
        self.Z[self.n : self.n + k] = Z
        if self.E is not None:
            self.E[self.n : self.n + k] = E
            self.EP[self.n : self.n + k] = EP
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


def _crossing_bounds(pool, gk, gn, ek, en, dk, dn, t, Pk, Pn, Zk, Zn):
    """Error bounds of new crossing vertices (certified mode).

    The exact crossing is ``P* = Pk* + t* (Pn* - Pk*)`` with
    ``t* = dk* / (dk* - dn*)``; ``ek``, ``en`` bound the errors of the line's values
    ``dk``, ``dn`` at the edge's ends, whose signs are certified
    (``|d| > safety * e`` with ``safety >= 1``), so ``|dk| + |dn| > ek + en`` and
    ``|t - t*| <= (ek + en) / (|dk| + |dn| - ek - en)`` plus the rounding of the
    division.  Returns ``(E (k, width), EP (k,))``.
    """
    Ek, En = pool.E[gk], pool.E[gn]
    den = np.abs(dk) + np.abs(dn)
    dt = (ek + en) / np.maximum(den - ek - en, np.finfo(np.float64).tiny)
    dt = dt * (1 + 4 * UNIT_ROUNDOFF) + 4 * UNIT_ROUNDOFF
    s, r = (1 - t)[:, None], t[:, None]
    dZ = np.abs(Zn - Zk) + Ek + En
    Ec = s * Ek + r * En + dt[:, None] * dZ + 4 * UNIT_ROUNDOFF * (np.abs(Zk) + np.abs(Zn))
    EPk, EPn = pool.EP[gk], pool.EP[gn]
    dP = np.abs(Pn - Pk).max(axis=1) + EPk + EPn
    EPc = (1 - t) * EPk + t * EPn + dt * dP
    EPc += 4 * UNIT_ROUNDOFF * np.maximum(np.abs(Pk), np.abs(Pn)).max(axis=1)
    return Ec * (1 + 8 * UNIT_ROUNDOFF), EPc * (1 + 8 * UNIT_ROUNDOFF)


def _cut(st, s, dcv, ecv, split, lab_pos, lab_neg, certified, on_line=None):
    """Cut the cells marked in ``split`` by a line (private geometry of a split pass).

    ``s`` (sign), ``dcv`` (value) and, in certified mode, ``ecv`` (error bound) are
    given per cell vertex, so the line may differ from cell to cell; ``lab_pos`` and
    ``lab_neg`` (per cell) label the new edge on the ``s > 0`` and the ``s < 0``
    child.  Vertices with ``s == 0`` go to both children; a crossing point is
    stored once in the pool and shared by both.  ``on_line=(j, theta)``: the line
    is ``z_j = theta``, so the crossings' ``z_j`` is exactly ``theta`` (error 0),
    which keeps a unit's exact zeros exact on its boundary.  Returns ``(plus, minus, sc)``:
    ``(vid, lab, counts)`` of the children of the split cells (in cell order) and
    the cell-vertex mask of the split cells.
    """
    pool = st.pool
    C = st.n_cells
    cell = _cell_index(st.off)
    sc = split[cell]
    idx = np.flatnonzero(sc)
    nxt = _next_index(st.off)[idx]
    sk = s[idx]
    sn = s[nxt]
    cross = (sk.astype(np.int16) * sn) < 0
    ik, jn = idx[cross], nxt[cross]
    gk, gn = st.vid[ik], st.vid[jn]  # pool rows of the crossed edges
    dk, dn = dcv[ik], dcv[jn]
    t = dk / (dk - dn)
    Pk, Pn = pool.P[gk], pool.P[gn]
    Zk, Zn = pool.Z[gk], pool.Z[gn]
    Pc = Pk + t[:, None] * (Pn - Pk)
    Zc = Zk + t[:, None] * (Zn - Zk)
    Ec = EPc = None
    if certified:
        Ec, EPc = _crossing_bounds(pool, gk, gn, ecv[ik], ecv[jn], dk, dn, t, Pk, Pn, Zk, Zn)
    if on_line is not None:
        Zc[:, on_line[0]] = on_line[1]
        if certified:
            Ec[:, on_line[0]] = 0.0
    new_ids = pool.append(Pc, Zc, Ec, EPc)
    ci = cell[idx]
    lp, ln = lab_pos[ci], lab_neg[ci]
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
    lab_plus[0::2] = np.where((sk == 0) & (sn < 0), lp, labk)
    lab_plus[1::2] = np.where(sk > 0, lp, labk)
    lab_minus = np.empty(2 * nv, np.int64)
    lab_minus[0::2] = np.where((sk == 0) & (sn > 0), ln, labk)
    lab_minus[1::2] = np.where(sk < 0, ln, labk)
    cand_cell = np.repeat(ci, 2)
    split_ids = np.flatnonzero(split)
    cnt_plus = np.bincount(cand_cell[m_plus], minlength=C)[split_ids]
    cnt_minus = np.bincount(cand_cell[m_minus], minlength=C)[split_ids]
    plus = (cand_vid[m_plus], lab_plus[m_plus], cnt_plus)
    minus = (cand_vid[m_minus], lab_minus[m_minus], cnt_minus)
    return plus, minus, sc


def _assemble(st, parent, vid, lab, cnt, codes):
    """A state over the same pool from per-cell parents, vertex rows and counts."""
    off = np.zeros(len(cnt) + 1, np.int64)
    np.cumsum(cnt, out=off[1:])
    return _State(pool=st.pool, vid=vid, lab=lab, off=off, codes=codes, anc=st.anc[parent],
                  amb=st.amb[parent], deg=st.deg[parent])


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
        ambv = (sv == 0) & (dv != 0)  # a doubt: decided exactly (see _run)
    s = sv[st.vid]
    C = st.n_cells
    cell = _cell_index(st.off)
    pos = np.bincount(cell, weights=s > 0, minlength=C) > 0
    neg = np.bincount(cell, weights=s < 0, minlength=C) > 0
    if not exact:
        st.amb |= np.bincount(cell, weights=ambv[st.vid], minlength=C) > 0
    st.deg |= ~pos & ~neg
    split = pos & neg
    split_ids = np.flatnonzero(split)
    if len(split_ids) == 0:
        st.codes[pos, unit] += 1
        return st
    keep_ids = np.flatnonzero(~split)
    first = chords.add(layer, unit - ctx["offsets"][layer], theta_index, st.anc[split_ids])
    chord_of_cell = np.full(C, -1, np.int64)
    chord_of_cell[split_ids] = first + np.arange(len(split_ids))
    ecv = pool.E[st.vid, j] if certified else None
    plus, minus, sc = _cut(st, s, dv[st.vid], ecv, split, 2 * chord_of_cell + 1, 2 * chord_of_cell,
                           certified, on_line=(j, theta))
    cnt = np.concatenate([np.diff(st.off)[keep_ids], plus[2], minus[2]])
    parent = np.concatenate([keep_ids, split_ids, split_ids])
    codes = st.codes[parent]
    ns = len(split_ids)
    inc = np.concatenate([pos[keep_ids], np.ones(ns, bool), np.zeros(ns, bool)])
    codes[inc, unit] += 1
    return _assemble(st, parent, np.concatenate([st.vid[~sc], plus[0], minus[0]]),
                     np.concatenate([st.lab[~sc], plus[1], minus[1]]), cnt, codes)


def _pair_code(a, b, k):
    """Threshold slot of the chord where max-unit candidates ``a < b`` are equal
    (negative, so it never collides with a threshold index)."""
    return -(1 + a * k + b)


def _pair_of_code(T, k):
    """Inverse of :func:`_pair_code`: the candidate positions ``(a, b)``, ``a < b``."""
    c = -T - 1
    return c // k, c % k


def _winners(valid, V, EV, safety, band=None):
    """Selected candidates ``(n, n_units)`` from candidate values ``V`` (``(n, n_units,
    k)``, missing ones duplicated from the first valid one, see ``MaxUnits._take``) and,
    with error bounds ``EV`` (or None), whether each choice is certain; ``valid``
    marks the candidates that exist (broadcast against ``V``).

    The lowest valid position wins ties; missing candidates never win.  The choice is
    certain when the winner exceeds every other valid candidate by more than
    ``safety`` times their error bounds, or both values are exact and equal.  Float
    mode (``band``, broadcast against ``V``, and no ``EV``): certain when the winner
    exceeds the others by more than the band or equals them as floats.
    """
    w = _argmax_valid(V, valid)
    if EV is None and band is not None:
        diff = np.take_along_axis(V, w[..., None], axis=-1) - V
        others = valid & (np.arange(V.shape[-1]) != w[..., None])
        return w, np.all((diff > band) | (diff == 0) | ~others, axis=-1)
    if EV is None:
        return w, None
    win = np.take_along_axis(V, w[..., None], axis=-1)
    ew = np.take_along_axis(EV, w[..., None], axis=-1)
    diff = win - V
    need = safety * ((ew + EV) * (1 + 4 * UNIT_ROUNDOFF) + 2 * UNIT_ROUNDOFF * np.abs(diff))
    others = valid & (np.arange(V.shape[-1]) != w[..., None])
    return w, np.all((diff > need) | (need == 0) | ~others, axis=-1)


def _argmax_valid(V, valid):
    """Position of the largest valid value along the last axis (lowest on ties); works
    on float and on exact (object) arrays."""
    valid = np.broadcast_to(valid, V.shape)
    first = np.argmax(valid, axis=-1)
    w = first.copy()
    best = np.take_along_axis(V, first[..., None], axis=-1)[..., 0]
    for i in range(V.shape[-1]):
        better = valid[..., i] & np.asarray(V[..., i] > best, bool)
        if better.any():
            w[better] = i
            best = np.where(better, V[..., i], best)
    return w


def _max_winners(st, units, u, ctx):
    """Selected candidate of unit ``u`` at every pool vertex, and whether it is certain
    (certified mode; see :func:`_winners`)."""
    pool = st.pool
    take = units._take[u]
    V = pool.Z[: pool.n][:, take]
    EV = pool.E[: pool.n][:, take] if ctx["certified"] else None
    band = None
    if not ctx["exact"] and not ctx["certified"]:  # float: the candidates' largest band
        band = ctx["band"][take].max(axis=-1, keepdims=True)
    return _winners(units.valid[u], V, EV, ctx["safety"], band)


def _max_pass(st, units, u, layer, unit, chords, ctx):
    """Partition every cell of ``st`` by max unit ``u`` (codes: the selected candidate).

    A cell whose vertices all select candidate ``j`` lies inside the convex set
    where ``j`` is selected and gets code ``j`` whole.  Any other cell is copied
    once per valid candidate ``j`` and each copy is clipped to the half-planes where
    ``j`` beats each other candidate ``i`` (strictly for ``i < j``): the non-empty
    copies are the pieces of the cell where ``j`` is selected, so no edge is
    created where two candidates that are not selected swap order.  Both pieces
    along the line ``z_a = z_b`` of candidates ``a < b`` carry one chord per cell
    and pair (side 1: ``a`` is selected).
    """
    certified = ctx["certified"]
    k = units.k
    w, sure = _max_winners(st, units, u, ctx)
    C = st.n_cells
    cell = _cell_index(st.off)
    wc = w[st.vid]
    lo = np.full(C, k, np.int64)
    hi = np.full(C, -1, np.int64)
    np.minimum.at(lo, cell, wc)
    np.maximum.at(hi, cell, wc)
    const = lo == hi
    if sure is not None:
        const &= np.bincount(cell, weights=~sure[st.vid], minlength=C) == 0
    st.codes[const, unit] = lo[const]
    var_ids = np.flatnonzero(~const)
    if len(var_ids) == 0:
        return st
    valid = np.flatnonzero(units.valid[u])
    nv = len(valid)
    kk = k * k
    # one chord per varying cell and candidate pair; the threshold slot holds the pair
    pa, pb = np.divmod(np.arange(kk), k)
    first = chords.add(layer, unit - ctx["offsets"][layer],
                       np.tile(np.where(pa < pb, _pair_code(pa, pb, k), 0), len(var_ids)),
                       np.repeat(st.anc[var_ids], kk))
    # copies: (cell, candidate) for every varying cell and valid candidate
    cp_cell = np.repeat(var_ids, nv)
    cs = _subset(st, cp_cell)
    jpos = np.tile(valid, len(var_ids))
    base = first + kk * np.repeat(np.arange(len(var_ids)), nv)
    cs.codes[:, unit] = jpos
    for m in range(nv - 1):
        rank = np.searchsorted(valid, jpos)
        ipos = valid[np.where(m < rank, m, m + 1)]  # the m-th other valid candidate
        cs, parent = _clip_pass(cs, units.cand[u], jpos, ipos, base, k, ctx)
        jpos, base = jpos[parent], base[parent]
        if cs.n_cells == 0:
            break
    rest = _subset(st, np.flatnonzero(const))
    return _concat_states(rest, cs)


def _clip_pass(cs, cand, jpos, ipos, base, k, ctx):
    """Clip every cell (a copy selecting candidate ``jpos``) to the half-plane where
    candidate ``jpos`` beats ``ipos``; returns the state and the kept cells' parents.

    A cell on which the two candidates are equal keeps (drops) the whole cell when
    ``jpos < ipos`` (``>``): the lowest position wins ties.
    """
    exact, certified = ctx["exact"], ctx["certified"]
    pool = cs.pool
    C = cs.n_cells
    cell = _cell_index(cs.off)
    cj, ci = cand[jpos][cell], cand[ipos][cell]
    d = pool.Z[cs.vid, cj] - pool.Z[cs.vid, ci]  # two values per vertex, not whole rows
    ecv = None
    if exact:
        s = np.asarray(d > 0, np.int8) - np.asarray(d < 0, np.int8)
    elif certified:
        ecv = (pool.E[cs.vid, cj] + pool.E[cs.vid, ci]) * (1 + 4 * UNIT_ROUNDOFF) + 2 * UNIT_ROUNDOFF * np.abs(d)
        s = np.sign(d).astype(np.int8)
        amb = (np.abs(d) <= ctx["safety"] * ecv) & (ecv > 0)  # ecv == 0: d is exact
        s[amb] = 0
        cs.amb |= np.bincount(cell, weights=amb, minlength=C) > 0
    else:
        band = ctx["band"]
        s = sign3(d, np.maximum(band[cj], band[ci]))
        cs.amb |= np.bincount(cell, weights=(s == 0) & (d != 0), minlength=C) > 0
    pos = np.bincount(cell, weights=s > 0, minlength=C) > 0
    neg = np.bincount(cell, weights=s < 0, minlength=C) > 0
    zero = ~pos & ~neg
    cs.deg |= zero
    whole = (pos & ~neg) | (zero & (jpos < ipos))
    split = pos & neg
    whole_ids, split_ids = np.flatnonzero(whole), np.flatnonzero(split)
    a, b = np.minimum(jpos, ipos), np.maximum(jpos, ipos)
    lab_pos = 2 * (base + a * k + b) + (jpos < ipos)
    parent = np.concatenate([whole_ids, split_ids])
    if len(split_ids) == 0:
        return _subset(cs, whole_ids), whole_ids
    plus, _, _ = _cut(cs, s, d, ecv, split, lab_pos, lab_pos, certified)
    wmask = whole[cell]
    cnt = np.concatenate([np.diff(cs.off)[whole_ids], plus[2]])
    out = _assemble(cs, parent, np.concatenate([cs.vid[wmask], plus[0]]),
                    np.concatenate([cs.lab[wmask], plus[1]]), cnt, cs.codes[parent])
    return out, parent


def _concat_states(a, b):
    """Cells of two states over the same pool, ``a``'s first."""
    off = np.concatenate([a.off[:-1], b.off + a.off[-1]])
    return _State(pool=a.pool, vid=np.concatenate([a.vid, b.vid]), lab=np.concatenate([a.lab, b.lab]),
                  off=off, codes=np.concatenate([a.codes, b.codes]), anc=np.concatenate([a.anc, b.anc]),
                  amb=np.concatenate([a.amb, b.amb]), deg=np.concatenate([a.deg, b.deg]))


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
    EP = None if pool.E is None else pool.EP[used]
    new = _Pool(pool.P[used], pool.Z[used], E, EP)
    return replace(st, pool=new, vid=inv.astype(np.int64).reshape(-1))


#: pool rows a max-unit group may add beyond twice the live ones before it compacts
COMPACT_SLACK = 4096


def _compact_tail(st, n_keep):
    """Drop the pool rows after the first ``n_keep`` that no cell references (the first
    rows, the layer-start vertices, keep their indices)."""
    pool = st.pool
    tail = np.zeros(pool.n, bool)
    tail[st.vid] = True
    tail[:n_keep] = True
    keep = np.flatnonzero(tail)
    remap = np.full(pool.n, -1, np.int64)
    remap[keep] = np.arange(len(keep))
    E = None if pool.E is None else pool.E[keep]
    EP = None if pool.E is None else pool.EP[keep]
    new = _Pool(pool.P[keep], pool.Z[keep], E, EP)
    return replace(st, pool=new, vid=remap[st.vid])


def _next_layer(st, net, l, ctx):
    """Vertex values of layer ``l + 1`` from those of layer ``l``.

    The activation is continuous, so a vertex on a boundary gets the same value
    from either side; it is applied to the vertex values directly.
    """
    exact, certified = ctx["exact"], ctx["certified"]
    st = _compact(st)
    pool = st.pool
    if not net.is_dense:
        # graph nets: the whole state moves on to the next unit group at every vertex
        # (in blocks of vertices, so that the operators' intermediates stay bounded)
        from ..graph.crossings import STATE_BUDGET

        stg = net.stages()
        per_value = 100 if exact else (16 if certified else 8)
        wide = max(stg.width(l), stg.width(l + 1) if l + 1 < stg.n_groups else 1)
        step = max(1, STATE_BUDGET // (4 * per_value * wide))
        Zs, Es = [], []
        for a in range(0, max(pool.n, 1), step):
            b = min(pool.n, a + step)
            if certified:
                Zb, Eb = stg.advance_bound(l, pool.Z[a:b], pool.E[a:b], safety=1.0)
                Es.append(Eb)
            else:
                Zb = stg.advance(l, pool.Z[a:b], exact=exact)
            Zs.append(Zb)
        Znew = np.concatenate(Zs) if len(Zs) != 1 else Zs[0]
        E = (np.concatenate(Es) if len(Es) != 1 else Es[0]) if certified else None
        st.pool = _Pool(pool.P[: pool.n], Znew, E, None if E is None else pool.EP[: pool.n])
        return st
    Z = pool.Z[: pool.n]
    act = net.activations[l]
    H = act.apply(Z)
    W, b = (net.exact_layers() if exact else net.layers)[l + 1]
    Znew = H @ W.T + b
    E = None
    if certified:
        E = _next_bounds(act, W, b, Z, pool.E[: pool.n], H)
    st.pool = _Pool(pool.P[: pool.n], Znew, E, None if E is None else pool.EP[: pool.n])
    return st


def _next_bounds(act, W, b, Z, Ez, H):
    """Error bound of ``act(Z) @ W.T + b`` (float) given ``|Z - Z*| <= Ez``."""
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
    return EH @ absW.T + g * (np.abs(H) @ absW.T + np.abs(b))


def _plane_codes(net, x0, e1, e2, uv, mode, safety):
    """Codes of the points ``x0 + u e1 + v e2`` for (u, v) rows read as exact numbers.

    ``mode="float"``: a float forward pass of ``x``; ``"exact"``: rationals;
    ``"certified"``: float64 with the error bounds of the slice engine, and the
    points with a value the bounds do not place strictly on one side of a
    threshold recomputed in rationals.  Returns ``(codes (n, n_hidden) int8,
    number of points recomputed exactly)``.
    """
    uv = np.asarray(uv, dtype=np.float64)
    n = len(uv)
    if mode == "float":
        return net.codes(x0 + uv[:, :1] * e1 + uv[:, 1:2] * e2), 0

    def exact(rows):
        q = arith.fmpq_array(uv[rows])
        x = arith.fmpq_array(x0) + q[:, :1] * arith.fmpq_array(e1) + q[:, 1:2] * arith.fmpq_array(e2)
        return net.codes_exact(x)

    if mode == "exact" or n == 0:
        return (exact(np.arange(n)) if n else np.zeros((0, net.n_hidden), np.int8)), 0
    bounded = _dense_codes_bounded if net.is_dense else _graph_codes_bounded
    out, amb = bounded(net, x0, e1, e2, uv, safety)
    rows = np.flatnonzero(amb)
    if len(rows):
        out[rows] = exact(rows)
    return out, len(rows)


def _codes_bounded(z, ez, thresholds, safety, amb):
    """Codes of values ``z`` (error ``ez``); marks in ``amb`` the rows with a value
    within ``safety * ez`` of a threshold."""
    c = np.zeros(z.shape, np.int8)
    for th in thresholds:
        d = z - th
        amb |= np.any(np.abs(d) <= safety * ez, axis=1)
        c += d > 0
    return c


def _dense_codes_bounded(net, x0, e1, e2, uv, safety):
    """Codes of plane points of a dense net in float64 with the slice engine's bounds,
    and the rows the bounds do not decide."""
    W, b = net.layers[0]
    Ed = np.stack([e1, e2], axis=1)
    absW = np.abs(W)
    Z = uv @ (W @ Ed).T + (W @ x0 + b)
    E = _gamma(W.shape[1] + 4) * (np.abs(uv) @ (absW @ np.abs(Ed)).T + absW @ np.abs(x0) + np.abs(b))
    tabs = net._code_tables()
    codes, amb = [], np.zeros(len(uv), bool)
    for l in range(net.depth):
        codes.append(_codes_bounded(Z, E, tabs[l][0], safety, amb))
        act = net.activations[l]
        H = act.apply(Z)
        W, b = net.layers[l + 1]
        E = _next_bounds(act, W, b, Z, E, H)
        Z = H @ W.T + b
    out = np.concatenate(codes, axis=1) if codes else np.zeros((len(uv), 0), np.int8)
    return out, amb


def _graph_codes_bounded(net, x0, e1, e2, uv, safety):
    """Codes of plane points of a graph net in float64 with error bounds (through the
    stages), and the rows the bounds do not decide."""
    stg = net.stages()
    X = x0 + uv[:, :1] * e1 + uv[:, 1:2] * e2
    EX = 4 * UNIT_ROUNDOFF * (np.abs(x0) + np.abs(uv[:, :1] * e1) + np.abs(uv[:, 1:2] * e2))
    S, E = stg.start_bound(X, EX, safety=1.0)
    tabs = net._code_tables()
    codes, amb = [], np.zeros(len(uv), bool)
    for g in range(stg.n_groups):
        units = net.group_units[g]
        if units.kind == "max":
            w, sure = _winners(units.valid, S[:, units._take], E[:, units._take], safety)
            amb |= ~np.all(sure, axis=1)
            codes.append(w.astype(np.int8))
        else:
            zw = stg.z_width(g)
            codes.append(_codes_bounded(S[:, :zw], E[:, :zw], tabs[g][0], safety, amb))
        S, E = stg.advance_bound(g, S, E, safety=1.0)
    out = np.concatenate(codes, axis=1) if codes else np.zeros((len(uv), 0), np.int8)
    return out, amb


def _first_layer_map(net, x0, e1, e2, exact):
    """``(G (w, 2), g (w,))`` with ``z_1(u, v) = G (u, v) + g`` (float or exact); for
    graph nets the map of the state before the first unit group."""
    if not net.is_dense:
        stg = net.stages()
        if exact:
            g = stg.start(arith.fmpq_array(x0)[None], exact=True)[0]
            G = stg.start_linear(arith.fmpq_array(np.stack([e1, e2])), exact=True).T
            return G, g
        return stg.start_linear(np.stack([e1, e2])).T, stg.start(np.asarray(x0)[None])[0]
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
    if certified and not net.is_dense:
        # the polygon's vertices in input space, with their rounding, through the stages
        x0, e1, e2 = ctx["plane"]
        X = x0 + P[:, :1] * e1 + P[:, 1:2] * e2
        EX = 4 * UNIT_ROUNDOFF * (np.abs(x0) + np.abs(P[:, :1] * e1) + np.abs(P[:, 1:2] * e2))
        Z, E = net.stages().start_bound(X, EX, safety=1.0)
    elif certified:
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
    EP: object = None  # (V,) float: error bound of the coordinates (certified) or None

    @property
    def n_cells(self):
        return len(self.off) - 1


def _flatten(st, to_float=False):
    """Final cells; ``EP`` is the coordinates' error bound when they are approximations.

    Exact coordinates rounded to float64 are within ``2 u |x|`` (u the unit
    roundoff; conversions of rationals round once or twice).
    """
    P = st.pool.P[st.vid]
    EP = None if st.pool.E is None else st.pool.EP[st.vid]
    if to_float and P.dtype == object:
        P = arith.to_float_array(P)
        EP = 2 * UNIT_ROUNDOFF * np.abs(P).max(axis=1) if len(P) else np.zeros(0)
    return _Flat(P=P, lab=st.lab, off=st.off, codes=st.codes, deg=st.deg, EP=EP)


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
    EP = None
    if all(p.EP is not None for p in parts):
        EP = cat("EP")
    return _Flat(P=cat("P"), lab=cat("lab"), off=np.concatenate(offs), codes=cat("codes"),
                 deg=cat("deg"), EP=EP)


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
    kinds = [u.kind for u in net.group_units] if not net.is_dense else ["threshold"] * net.depth
    for l in range(l_start, net.depth):
        base = sum(len(c) for c in starts[l])
        st.anc = base + np.arange(st.n_cells, dtype=np.int64)
        starts[l].append(st.codes.copy())
        st.amb = np.zeros(st.n_cells, bool)
        st_start = replace(st, codes=st.codes.copy(), deg=st.deg.copy(), amb=st.amb.copy())
        n_start = st.pool.n
        thresholds = tabs[l][0]
        if not ctx["exact"] and not ctx["certified"]:
            Zs = st.pool.Z[: st.pool.n]
            scale = np.maximum(Zs.max(axis=0), -Zs.min(axis=0)) if len(Zs) else 0.0
            ctx["band"] = ctx["tol"].zero * scale
        if kinds[l] == "max":
            units = net.group_units[l]
            live = st.pool.n
            for j in range(net.widths[l]):
                st = _max_pass(st, units, j, l, int(offsets[l] + j), chords, ctx)
                if st.pool.n > 2 * live + COMPACT_SLACK:  # dropped copies leave unused rows
                    st = _compact_tail(st, n_start)
                    live = st.pool.n
        else:
            for j in range(net.widths[l]):
                unit = int(offsets[l] + j)
                for ti, theta in enumerate(thresholds):
                    th = arith.to_fmpq(theta) if ctx["exact"] else float(theta)
                    st = _split_pass(st, j, th, ti, l, unit, chords, ctx)
        if recompute is not None and st.amb.any():
            bad_anc = np.unique(st.anc[st.amb]) - base
            keep = ~np.isin(st.anc - base, bad_anc)
            E = st.pool.E
            st_start.pool = _Pool(st.pool.P[:n_start], st.pool.Z[:n_start],
                                  None if E is None else E[:n_start],
                                  None if E is None else st.pool.EP[:n_start])
            extra.append(recompute(st_start, bad_anc, l))
            st = _subset(st, np.flatnonzero(keep))
        if st.n_cells == 0:  # everything went to the exact fallback
            break
        st = _next_layer(st, net, l, ctx)
    return st, extra
