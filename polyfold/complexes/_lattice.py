"""The face lattice of a polyhedral complex and its splitting by one hyperplane (private).

Every cell of every dimension ``k = 1..d`` is a row of a ragged table listing its
facets (cells of dimension ``k - 1``); vertices are plain ids.  Row ids are stable:
when a cell is split, its part on the positive side keeps the id, the negative part
and the new cell in the hyperplane are appended.  A split is decided from the signs
of the vertices alone (``-1``, ``0``, ``+1``: computed by the engine, certified or
exact), by the classical rules of incremental arrangement construction:

* a cell is *crossed* when it has vertices strictly on both sides;
* a crossed ``k``-cell ``F`` becomes ``F+``, ``F-`` and ``F0 = F ∩ h`` (dimension
  ``k - 1``); the facets of ``F0`` are the ``G0`` of its crossed facets ``G`` and its
  ``(k - 2)``-faces whose vertices all lie on ``h``; the facets of ``F+`` are ``G+``
  of its crossed facets, its facets with vertices ``>= 0`` (not crossed), and ``F0``;
  likewise ``F-``;
* no facet of a crossed cell lies in ``h`` (its affine hull would be a supporting
  hyperplane), so the rules need no general-position assumption: hyperplanes
  through vertices, containing edges or whole faces are handled as they come.

The rules hold for cells whose boundary is subdivided (a regular CW complex whose
closed cells are convex polytopes), which happens when a split is restricted to some
cells (``eligible``): a facet shared with a cell that is not split is split anyway,
and that cell's boundary lists both pieces.

The loops over the tables (side codes, gathers, the new rows of a split) run in the
optional extension :mod:`polyfold.complexes._clattice` where it is built, in numpy
otherwise; both give the same tables.
"""

import numpy as np

try:  # compiled loops (optional: the numpy code below gives the same tables)
    from . import _clattice
except ImportError:  # pragma: no cover - depends on the build
    _clattice = None


def _ranges(starts, counts):
    """Flat indices ``starts[i] + arange(counts[i])`` for all ``i``."""
    counts = np.asarray(counts, np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, np.int64)
    rep = np.repeat(np.asarray(starts, np.int64) - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
    return rep + np.arange(total, dtype=np.int64)


def _offsets(counts):
    """Start of every list in the concatenation of lists of ``counts`` items."""
    out = np.zeros(len(counts), np.int64)
    if len(counts) > 1:
        np.cumsum(counts[:-1], out=out[1:])
    return out


def _grown(a, n, cap):
    """``a[:n]`` in a new buffer of ``cap`` items."""
    out = np.empty(cap, a.dtype)
    out[:n] = a[:n]
    return out


class Rows:
    """A ragged table of int64 lists with stable row ids (a pool with garbage).

    Entries live in a pool ``_data``; ``start``/``cnt`` locate every row's list, so
    the pool's layout is not part of the table (every query reads the rows in row
    order).  All buffers keep spare capacity.  The numpy code also keeps ``_owner``
    (the row of every entry, -1 for garbage) for its whole-pool queries; the
    compiled loops read rows through ``start``/``cnt`` only, rewrite a row in place
    when its new list fits, and drop ``_owner`` (None), which a numpy query rebuilds
    by compacting.
    """

    def __init__(self, values=None, counts=None):
        values = np.zeros(0, np.int64) if values is None else np.asarray(values, np.int64)
        counts = np.zeros(0, np.int64) if counts is None else np.asarray(counts, np.int64)
        n = len(counts)
        cap = max(16, 2 * len(values))
        self._data = np.empty(cap, np.int64)
        self._owner = np.empty(cap, np.int64)
        self.used = len(values)
        self._data[: self.used] = values
        self._owner[: self.used] = np.repeat(np.arange(n, dtype=np.int64), counts)
        rcap = max(16, 2 * n)
        self._n = n
        self._start = np.zeros(rcap, np.int64)
        self._cnt = np.zeros(rcap, np.int64)
        self._start[:n] = _offsets(counts)
        self._cnt[:n] = counts
        self.n_garbage = 0

    @property
    def data(self):
        return self._data[: self.used]

    @property
    def start(self):
        return self._start[: self._n]

    @property
    def cnt(self):
        return self._cnt[: self._n]

    @property
    def n(self):
        return self._n

    def copy(self):
        c = Rows.__new__(Rows)
        c._data, c.used = self._data.copy(), self.used
        c._owner = None if self._owner is None else self._owner.copy()
        c._start, c._cnt, c._n = self._start.copy(), self._cnt.copy(), self._n
        c.n_garbage = self.n_garbage
        return c

    def _live(self):
        """``(owner, values)`` of the live entries of the pool (numpy queries)."""
        if self._owner is None:
            self.compact(owner=True)
        own, dat = self._owner[: self.used], self.data
        if self.n_garbage:
            live = own >= 0
            own, dat = own[live], dat[live]
        return own, dat

    def gather(self, rows):
        """``(seg, values)``: the entries of ``rows``; ``seg`` = position in ``rows``."""
        rows = np.ascontiguousarray(rows, np.int64)
        c = self._cnt[rows]
        if _clattice is not None:
            total = int(c.sum())
            seg = np.empty(total, np.int64)
            vals = np.empty(total, np.int64)
            _clattice.gather(self._start, self._cnt, self._data, rows, seg, vals)
            return seg, vals
        idx = _ranges(self._start[rows], c)
        return np.repeat(np.arange(len(rows), dtype=np.int64), c), self._data[idx]

    def csr(self):
        """``(offsets (n + 1,), values)`` in row order (a compact copy)."""
        off = np.zeros(self.n + 1, np.int64)
        np.cumsum(self.cnt, out=off[1:])
        if _clattice is not None:
            seg = np.empty(int(off[-1]), np.int64)
            vals = np.empty(int(off[-1]), np.int64)
            _clattice.gather(self._start, self._cnt, self._data, np.arange(self.n, dtype=np.int64), seg, vals)
            return off, vals
        return off, self.data[_ranges(self.start, self.cnt)]

    def any_of(self, flags):
        """Per row: does some entry ``e`` have ``flags[e]``?"""
        return self.sides(np.asarray(flags, bool).view(np.uint8)) > 0

    def count_of(self, weights):
        """Per row: sum of ``weights[e]`` over its entries (float)."""
        own, dat = self._live()
        return np.bincount(own, weights=weights[dat], minlength=self.n)

    def sides(self, code):
        """Per row: OR of the uint8 ``code[e]`` over its entries (uint8)."""
        out = np.empty(self.n, np.uint8)
        if _clattice is not None:
            _clattice.sides(self._start, self._cnt, self._data, np.ascontiguousarray(code, np.uint8), out)
            return out
        own, dat = self._live()
        out[:] = 0
        np.bitwise_or.at(out, own, code[dat])
        return out

    def _reserve(self, extra):
        """Room for ``extra`` more entries after ``used`` (compacts or grows the pool)."""
        need = self.used + extra
        if need <= len(self._data):
            return
        if self.n_garbage and need - self.n_garbage <= len(self._data) // 2:
            self.compact()
            return
        cap = max(need, 2 * len(self._data))
        self._data = _grown(self._data, self.used, cap)
        if self._owner is not None:
            self._owner = _grown(self._owner, self.used, cap)

    def _reserve_rows(self, extra):
        need = self._n + extra
        if need > len(self._start):
            cap = max(need, 2 * len(self._start))
            self._start = _grown(self._start, self._n, cap)
            self._cnt = _grown(self._cnt, self._n, cap)

    def add_rows(self, values, counts):
        """Append rows; returns their ids."""
        values = np.ascontiguousarray(values, np.int64)
        counts = np.ascontiguousarray(counts, np.int64)
        m = len(counts)
        ids = np.arange(self._n, self._n + m, dtype=np.int64)
        if _clattice is None and self._owner is None:
            self.compact()
        self._reserve(len(values))
        self._reserve_rows(m)
        if _clattice is not None:
            self.used = _clattice.append(self._data, self._start, self._cnt, self.used, self._n, values, counts)
            self._owner = None
            self._n += m
            return ids
        base, need = self.used, self.used + len(values)
        self._data[base:need] = values
        self._owner[base:need] = np.repeat(ids, counts)
        self.used = need
        self._start[self._n : self._n + m] = base + _offsets(counts)
        self._cnt[self._n : self._n + m] = counts
        self._n += m
        return ids

    def set_rows(self, rows, values, counts):
        """Replace the lists of existing ``rows`` (distinct)."""
        rows = np.ascontiguousarray(rows, np.int64)
        if len(rows) == 0:
            return
        values = np.ascontiguousarray(values, np.int64)
        counts = np.ascontiguousarray(counts, np.int64)
        if _clattice is None and self._owner is None:
            self.compact()
        self._reserve(len(values))
        if _clattice is not None:
            self.used, g = _clattice.set_rows(self._data, self._start, self._cnt, self.used, rows, values, counts)
            self._owner = None
            self.n_garbage += g
        else:
            # the old lists become garbage, the new ones are appended
            self._owner[_ranges(self._start[rows], self._cnt[rows])] = -1
            self.n_garbage += int(self._cnt[rows].sum())
            base, need = self.used, self.used + len(values)
            self._data[base:need] = values
            self._owner[base:need] = np.repeat(rows, counts)
            self.used = need
            self._start[rows] = base + _offsets(counts)
            self._cnt[rows] = counts
        if self.n_garbage > self.used // 2:
            self.compact()

    def compact(self, owner=False):
        """Rewrite the pool without garbage, rows in order; rebuild ``_owner`` if asked
        for, kept up or the compiled loops are off."""
        off, vals = self.csr()
        self.used = len(vals)
        self._data[: self.used] = vals
        self._start[: self._n] = off[:-1]
        self.n_garbage = 0
        if owner or _clattice is None or self._owner is not None:
            if self._owner is None:
                self._owner = np.empty(len(self._data), np.int64)
            self._owner[: self.used] = np.repeat(np.arange(self.n, dtype=np.int64), self.cnt)

    def take(self, keep_rows, value_map):
        """A new table of the rows ``keep_rows`` with entries renumbered by
        ``value_map`` (entries mapped to -1 are dropped)."""
        seg, vals = self.gather(keep_rows)
        new = value_map[vals]
        ok = new >= 0
        counts = np.bincount(seg[ok], minlength=len(keep_rows))
        return Rows(new[ok], counts)


def _sorted_groups(seg, vals, n):
    """Lists grouped by ``seg`` (stable): ``(values, counts)``."""
    o = np.argsort(seg, kind="stable")
    return vals[o], np.bincount(seg, minlength=n)


class Lattice:
    """Face lattice of a complex in R^d: ``rows[k]`` lists the facets of the k-cells.

    Attributes
    ----------
    d : int
    nv : int
        Number of vertices.
    rows : list of Rows
        ``rows[k]`` for ``k = 1..d`` (``rows[0]`` is None).
    label : (f_{d-1},) int64
        What each (d-1)-cell lies in: ``-1 - f`` for facet ``f`` of the domain,
        ``>= 0`` for a split (the engine's numbering).
    """

    def __init__(self, d, nv, rows, label, onb=None):
        self.d = d
        self.nv = nv
        self.rows = rows
        self.label = np.asarray(label, np.int64)
        # onb[k] (f_k,) bool: the k-cell lies in the boundary of the domain
        self.onb = onb if onb is not None else [np.zeros(self.f(k), bool) for k in range(d + 1)]

    def f(self, k):
        return self.nv if k == 0 else self.rows[k].n

    def f_vector(self):
        return tuple(self.f(k) for k in range(self.d + 1))

    def copy(self):
        out = Lattice(self.d, self.nv, [None], self.label.copy(), [o.copy() for o in self.onb])
        for k in range(1, self.d + 1):
            out.rows.append(self.rows[k].copy())
        return out

    # ------------------------------------------------------------------ split
    def split(self, s, label, eligible=None):
        """Split every crossed cell by the hyperplane whose vertex signs are ``s``.

        Parameters
        ----------
        s : (nv,) int8
            Sign of every vertex (-1, 0, +1).
        label : int
            Label of the new (d-1)-cells (cells of crossed d-cells in ``h``).
        eligible : (f_d,) bool, optional
            Split only these d-cells (and the faces in their closures).

        Returns
        -------
        dict
            ``edges`` (c, 2) int64: ``(positive end, negative end)`` of every crossed
            edge, in the order of the new vertices ``nv_old + arange(c)``;
            ``cells`` the crossed d-cells (their ``+`` part keeps the id), ``minus``
            the ids of their ``-`` parts; ``pos``/``neg`` (f_d,) bool: which old
            d-cells have vertices on the positive / negative side.
        """
        d = self.d
        P = [s > 0]
        N = [s < 0]
        if (P[0].all() or N[0].all()) and len(s):
            # every vertex strictly on one side: nothing to split
            fd = self.f(d)
            return {"edges": np.zeros((0, 2), np.int64), "cells": np.zeros(0, np.int64),
                    "minus": np.zeros(0, np.int64), "pos": np.full(fd, bool(P[0][0])),
                    "neg": np.full(fd, bool(N[0][0])), "nv_old": self.nv}
        # side codes, dimension by dimension: 1 = a vertex > 0, 2 = a vertex < 0
        codes = [P[0].view(np.uint8) | (N[0].view(np.uint8) << 1)]
        for k in range(1, d + 1):
            code = self.rows[k].sides(codes[-1])
            codes.append(code)
            P.append((code & 1).view(bool))
            N.append((code >> 1).view(bool))
        cross = [None] + [P[k] & N[k] for k in range(1, d + 1)]
        restricted = eligible is not None
        if restricted:
            cross[d] = cross[d] & eligible
            for k in range(d - 1, 0, -1):
                up = np.zeros(self.f(k), bool)
                _, g = self.rows[k + 1].gather(np.flatnonzero(cross[k + 1]))
                up[g] = True
                cross[k] &= up
        nv0 = self.nv
        minus_id = [None] * (d + 1)
        zero_id = [None] * (d + 1)  # zero_id[k][rank]: id (dim k-1) of F0 of the crossed k-cells
        rank = [None] * (d + 1)
        crossed = [None] * (d + 1)
        edges_out = np.zeros((0, 2), np.int64)
        # zero (k-2)-faces of the crossed k-cells, from the lattice before any change
        zpairs = [None] * (d + 1)
        facets_of = [None] * (d + 1)  # (seg, G) of the crossed k-cells, before any change
        # a zero face has all its vertices on h: none without a vertex of sign 0
        has_zero = bool((s == 0).any())
        for k in range(1, d + 1):
            C = crossed[k] = np.flatnonzero(cross[k])
            facets_of[k] = self.rows[k].gather(C)
            if k == 1 or not has_zero:
                continue
            seg, G = facets_of[k]
            sub_seg, K = self.rows[k - 1].gather(G)
            Kzero = ~P[k - 2][K] & ~N[k - 2][K]
            if Kzero.any():
                nK = np.int64(self.f(k - 2) + 1)
                key = np.unique(seg[sub_seg[Kzero]] * nK + K[Kzero])
                zpairs[k] = (key // nK, key % nK)
        for k in range(1, d + 1):
            C = crossed[k]
            if k < d:  # rank[k]: position of the crossed k-cells, read in dimension k + 1
                # (the compiled loop reads crossed cells only; numpy reads all, -1 elsewhere)
                rk = np.empty(self.f(k), np.int64) if _clattice is not None else np.full(self.f(k), -1, np.int64)
                rk[C] = np.arange(len(C))
                rank[k] = rk
            nc = len(C)
            if nc == 0:
                minus_id[k] = np.zeros(0, np.int64)
                zero_id[k] = np.zeros(0, np.int64)
                continue
            seg, G = facets_of[k]
            if k == 1:
                sg = s[G]
                # each crossed edge: one positive, one negative end
                pos_end = np.zeros(nc, np.int64)
                neg_end = np.zeros(nc, np.int64)
                pos_end[seg[sg > 0]] = G[sg > 0]
                neg_end[seg[sg < 0]] = G[sg < 0]
                w = nv0 + np.arange(nc, dtype=np.int64)
                zero_id[1] = w
                self.onb[0] = np.concatenate([self.onb[0], self.onb[1][C]])
                self.nv = nv0 + nc
                edges_out = np.stack([pos_end, neg_end], axis=1)
                plus_vals = np.stack([pos_end, w], axis=1).ravel()
                minus_vals = np.stack([neg_end, w], axis=1).ravel()
                two = np.full(nc, 2, np.int64)
                self.rows[1].set_rows(C, plus_vals, two)
                minus_id[1] = self.rows[1].add_rows(minus_vals, two)
                self.onb[1] = np.concatenate([self.onb[1], self.onb[1][C]])
                if d == 1:
                    self.label = np.concatenate([self.label, np.full(nc, label, np.int64)])
                elif d == 2:
                    self.label = np.concatenate([self.label, self.label[C]])
                continue
            if _clattice is not None:
                f0, minus_id[k] = self._split_rows_c(k, C, seg, G, codes[k - 1], cross[k - 1], rank[k - 1],
                                                     zero_id[k - 1], minus_id[k - 1], zpairs[k])
            else:
                f0, minus_id[k] = self._split_rows(k, C, seg, G, P[k - 1], N[k - 1], cross[k - 1], rank[k - 1],
                                                   zero_id[k - 1], minus_id[k - 1], zpairs[k])
            zero_id[k] = f0
            self.onb[k - 1] = np.concatenate([self.onb[k - 1], self.onb[k][C]])
            if k == d:  # the new (d-1)-cells lie in the splitting hyperplane
                self.label = np.concatenate([self.label, np.full(nc, label, np.int64)])
            self.onb[k] = np.concatenate([self.onb[k], self.onb[k][C]])
            if k == d - 1:
                self.label = np.concatenate([self.label, self.label[C]])
        if restricted:
            self._attach_minus(cross, crossed, minus_id)
        return {
            "edges": edges_out,
            "cells": crossed[d] if crossed[d] is not None else np.zeros(0, np.int64),
            "minus": minus_id[d] if minus_id[d] is not None else np.zeros(0, np.int64),
            "pos": P[d],
            "neg": N[d],
            "nv_old": nv0,
        }

    def _split_rows(self, k, C, seg, G, P, N, cross, rank, zero_id, minus_id, zpairs):
        """New rows of a split in dimension ``k >= 2``: the ``F0`` of the crossed k-cells
        ``C`` (appended to ``rows[k - 1]``), their ``F+`` (in place of ``C``) and
        ``F-`` (appended).  ``(seg, G)`` lists the facets of ``C``; ``P``, ``N``,
        ``cross``, ``rank``, ``zero_id``, ``minus_id`` are those of the (k-1)-cells.
        Returns the ids of the ``F0`` and of the ``F-``."""
        nc = len(C)
        Gc = cross[G]
        Gp = P[G] & ~Gc
        Gn = N[G] & ~Gc
        # facets of F0: G0 of crossed facets, and zero (k-2)-faces
        z_seg = seg[Gc]
        z_vals = zero_id[rank[G[Gc]]]
        if zpairs is not None:
            z_seg = np.concatenate([z_seg, zpairs[0]])
            z_vals = np.concatenate([z_vals, zpairs[1]])
        vals0, cnt0 = _sorted_groups(z_seg, z_vals, nc)
        f0 = self.rows[k - 1].add_rows(vals0, cnt0)
        # F+ and F-
        keep_p = Gc | Gp
        ps = np.concatenate([seg[keep_p], np.arange(nc)])
        pv = np.concatenate([G[keep_p], f0])
        pvals, pcnt = _sorted_groups(ps, pv, nc)
        if len(minus_id):
            ms_vals = np.where(Gc, minus_id[np.maximum(rank[G], 0)], G)
        else:
            ms_vals = G
        keep_m = Gc | Gn
        ms = np.concatenate([seg[keep_m], np.arange(nc)])
        mv = np.concatenate([ms_vals[keep_m], f0])
        mvals, mcnt = _sorted_groups(ms, mv, nc)
        self.rows[k].set_rows(C, pvals, pcnt)
        return f0, self.rows[k].add_rows(mvals, mcnt)

    def _split_rows_c(self, k, C, seg, G, code, cross, rank, zero_id, minus_id, zpairs):
        """:meth:`_split_rows` by the compiled loop (``code``: side codes of the
        (k-1)-cells)."""
        nc = len(C)
        m = len(G)
        gcode = code | (cross.view(np.uint8) << 2)
        if zpairs is None:
            zseg = zval = np.zeros(0, np.int64)
        else:
            zseg, zval = (np.ascontiguousarray(z, np.int64) for z in zpairs)
        vals0 = np.empty(m + len(zseg), np.int64)
        pvals = np.empty(m + nc, np.int64)
        mvals = np.empty(m + nc, np.int64)
        cnt0, pcnt, mcnt = (np.empty(nc, np.int64) for _ in range(3))
        r0 = self.rows[k - 1]
        n0, n_p, n_m = _clattice.split_rows(seg, G, gcode, rank, np.ascontiguousarray(zero_id, np.int64),
                                            np.ascontiguousarray(minus_id, np.int64), zseg, zval, r0.n, nc,
                                            vals0, cnt0, pvals, pcnt, mvals, mcnt)
        f0 = r0.add_rows(vals0[:n0], cnt0)
        self.rows[k].set_rows(C, pvals[:n_p], pcnt)
        return f0, self.rows[k].add_rows(mvals[:n_m], mcnt)

    def _attach_minus(self, cross, crossed, minus_id):
        """Restricted splits: cells not split whose facets were split list both parts."""
        for k in range(2, self.d + 1):
            if crossed[k - 1] is None or len(crossed[k - 1]) == 0:
                continue
            n_old = len(cross[k])
            flags = np.zeros(self.f(k - 1), bool)
            flags[crossed[k - 1]] = True
            has = self.rows[k].any_of(flags)[:n_old] & ~cross[k]
            H = np.flatnonzero(has)
            if len(H) == 0:
                continue
            seg, G = self.rows[k].gather(H)
            rk = np.full(self.f(k - 1), -1, np.int64)
            rk[crossed[k - 1]] = np.arange(len(crossed[k - 1]))
            hit = rk[G] >= 0
            extra_seg = seg[hit]
            extra = minus_id[k - 1][rk[G[hit]]]
            vals, cnt = _sorted_groups(np.concatenate([seg, extra_seg]), np.concatenate([G, extra]), len(H))
            self.rows[k].set_rows(H, vals, cnt)

    # ------------------------------------------------------------------ queries
    def closure_vertices(self, k):
        """CSR ``(offsets, vertex ids)`` of the vertices of every k-cell (sorted)."""
        import scipy.sparse as sp

        off, idx = self.rows[1].csr()
        M = sp.csr_matrix((np.ones(len(idx), np.int8), idx, off), shape=(self.f(1), self.nv))
        for j in range(2, k + 1):
            o, i = self.rows[j].csr()
            B = sp.csr_matrix((np.ones(len(i), np.int8), i, o), shape=(self.f(j), self.f(j - 1)))
            M = B @ M
            M.data[:] = 1
        if k == 0:
            n = self.nv
            return np.arange(n + 1, dtype=np.int64), np.arange(n, dtype=np.int64)
        M = M.tocsr()
        M.sort_indices()
        return M.indptr.astype(np.int64), M.indices.astype(np.int64)

    def incidence(self, k):
        """scipy CSR (f_k, f_{k-1}) 0/1 matrix of the facets of the k-cells."""
        import scipy.sparse as sp

        o, i = self.rows[k].csr()
        return sp.csr_matrix((np.ones(len(i), np.int8), i, o), shape=(self.f(k), self.f(k - 1)))

    def representative_cell(self):
        """For every vertex, one d-cell containing it."""
        rep = None
        for k in range(self.d, 0, -1):
            seg, g = self.rows[k].gather(np.arange(self.f(k)))
            r = np.full(self.f(k - 1), -1, np.int64)
            owner = np.arange(self.f(k), dtype=np.int64) if rep is None else rep
            r[g] = owner[seg]
            rep = r
        return rep

    def facet_cofaces(self):
        """``(facet ids, cell a, cell b)``: the (d-1)-cells with two d-cells, and
        ``(facet ids, cell)`` of those with one (on the domain boundary)."""
        if _clattice is not None:
            r = self.rows[self.d]
            nf = self.f(self.d - 1)
            cnt, a, b = np.zeros(nf, np.int64), np.empty(nf, np.int64), np.empty(nf, np.int64)
            _clattice.cofaces(r.start, r.cnt, r._data, cnt, a, b)
            two = np.flatnonzero(cnt == 2)
            one = np.flatnonzero(cnt == 1)
            return (two, a[two], b[two]), (one, a[one])
        seg, g = self.rows[self.d].gather(np.arange(self.f(self.d)))
        o = np.argsort(g, kind="stable")
        g, cell = g[o], seg[o]
        cnt = np.bincount(g, minlength=self.f(self.d - 1))
        first = np.concatenate([[0], np.cumsum(cnt)[:-1]])
        two = np.flatnonzero(cnt == 2)
        one = np.flatnonzero(cnt == 1)
        return (two, cell[first[two]], cell[first[two] + 1]), (one, cell[first[one]])

    def boundary_from_facets(self):
        """Recompute ``onb``: the closure of the (d-1)-cells with one d-cell."""
        d = self.d
        cnt = np.bincount(self.rows[d].gather(np.arange(self.f(d)))[1], minlength=self.f(d - 1))
        onb = [None] * (d + 1)
        onb[d] = np.zeros(self.f(d), bool)
        onb[d - 1] = cnt == 1
        for k in range(d - 1, 0, -1):
            flags = np.zeros(self.f(k - 1), bool)
            _, g = self.rows[k].gather(np.flatnonzero(onb[k]))
            flags[g] = True
            onb[k - 1] = flags
        self.onb = onb

    def keep(self, cells_keep):
        """Restrict to the closure of some d-cells (renumbered).

        Returns ``(vertex_map, cell_map)``: new id of every old vertex / d-cell (or -1).
        """
        d = self.d
        keep = [None] * (d + 1)
        keep[d] = np.asarray(cells_keep, bool)
        for k in range(d, 0, -1):
            flags = np.zeros(self.f(k - 1), bool)
            _, g = self.rows[k].gather(np.flatnonzero(keep[k]))
            flags[g] = True
            keep[k - 1] = flags
        maps = []
        for k in range(d + 1):
            m = np.full(self.f(k), -1, np.int64)
            m[keep[k]] = np.arange(int(keep[k].sum()))
            maps.append(m)
        new_rows = [None]
        for k in range(1, d + 1):
            new_rows.append(self.rows[k].take(np.flatnonzero(keep[k]), maps[k - 1]))
        self.label = self.label[keep[d - 1]]
        self.onb = [o[keep[k]] for k, o in enumerate(self.onb)]
        self.rows = new_rows
        self.nv = int(keep[0].sum())
        return maps[0], maps[d], keep


_BOX = {}  # d -> (lattice, corners) of the cube, copied out by box_lattice


def box_lattice(d):
    """Face lattice of the cube ``[-1, 1]^d`` (a new copy at every call).

    Returns ``(lattice, corners)`` with ``corners`` (2^d, d) in {-1, 1}: vertex ``i``
    is ``corners[i]``.  A face is a vector in {-1, 0, 1}^d (0: free coordinate); the
    (d-1)-cell with ``x_i = -1`` has label ``-1 - 2 i``, with ``x_i = +1`` label
    ``-2 - 2 i``.
    """
    if d not in _BOX:
        _BOX[d] = _build_box_lattice(d)
    lat, corners = _BOX[d]
    return lat.copy(), corners.copy()


def _build_box_lattice(d):
    import itertools

    allv = np.array(list(itertools.product((-1, 0, 1), repeat=d)), dtype=np.int64).reshape(-1, d)
    dim = (allv == 0).sum(axis=1)
    ids = np.full(len(allv), -1, np.int64)
    for k in range(d + 1):
        sel = np.flatnonzero(dim == k)
        ids[sel] = np.arange(len(sel))
    code3 = (allv + 1) @ (3 ** np.arange(d)[::-1])
    lookup = np.empty(3**d, np.int64)
    lookup[code3] = np.arange(len(allv))
    corners = allv[dim == 0]
    rows = [None]
    for k in range(1, d + 1):
        faces = allv[dim == k]
        vals = []
        for f in faces:
            out = []
            for i in np.flatnonzero(f == 0):
                for sgn in (-1, 1):
                    g = f.copy()
                    g[i] = sgn
                    out.append(ids[lookup[(g + 1) @ (3 ** np.arange(d)[::-1])]])
            vals.append(out)
        counts = np.array([len(v) for v in vals], np.int64)
        rows.append(Rows(np.array([x for v in vals for x in v], np.int64), counts))
    facets = allv[dim == d - 1]
    nz = np.argmax(facets != 0, axis=1)
    sgn = facets[np.arange(len(facets)), nz]
    label = np.where(sgn < 0, -1 - 2 * nz, -2 - 2 * nz)
    if d == 1:
        label = np.where(corners[:, 0] < 0, -1, -2)
    lat = Lattice(d, len(corners), rows, label)
    lat.onb = [np.ones(lat.f(k), bool) for k in range(d)] + [np.zeros(1, bool)]
    return lat, corners.astype(np.float64)

    
