"""Exact lines and polygons of a finished slice complex (private).

Certified-mode consumers of a :class:`~polyfold.slices.RegionComplex` (adjacency,
decision boundary) send the decisions their float error bounds cannot make to
exact arithmetic.  :class:`ExactPlane` supplies what they need: the exact affine
maps in (u, v) of every layer's preactivations and of the logits for a region's
codes (cached per code prefix), the exact line of any polygon edge from its
label, and a region's exact polygon as the intersections of consecutive edge
lines.

Edge labels (see :mod:`._engine`): ``-(k + 1)`` is edge ``k`` of the domain
polygon; ``2 * chord + side`` lies on the threshold line of the chord's
``(layer, neuron, threshold)`` inside one layer-start cell, and every final cell
on that chord has the codes of that cell on the earlier layers.
"""

import numpy as np

from .. import arith
from ._engine import _first_layer_map
from ._exact import _neuron_line, _uv_step


class ExactPlane:
    """Exact (u, v) maps of one slice complex's network, cached per code prefix.

    Parameters
    ----------
    cx : RegionComplex
        A slice complex (``kind="slice"``).
    """

    def __init__(self, cx):
        self.cx = cx
        self.net = net = cx.net
        self.off = net.layer_offsets
        self.table = cx._chords
        self.domain = arith.fmpq_array(cx.domain)
        self._maps = {}
        self._first = None

    def layer_map(self, codes, l):
        """Exact ``(G (w_l, 2), g (w_l,))``: layer ``l``'s preactivations (``l = depth``:
        the logits; graph nets: the state before group ``l``, whose first columns are
        the group's inputs) in (u, v) on the region with these codes."""
        codes = np.asarray(codes)
        key = (l, codes[: self.off[l]].tobytes())
        hit = self._maps.get(key)
        if hit is not None:
            return hit
        if l == 0:
            if self._first is None:
                self._first = _first_layer_map(self.net, self.cx.origin, self.cx.e1,
                                               self.cx.e2, True)
            out = self._first
        else:
            G, g = self.layer_map(codes, l - 1)
            out = _uv_step(self.net, G, g, codes, l - 1)
        self._maps[key] = out
        return out

    def logits(self, codes):
        """Exact ``(V (output_dim, 2), u (output_dim,))`` of the logits in (u, v)."""
        return self.layer_map(codes, self.net.depth)

    def line(self, label, codes):
        """Exact ``(a, b, c)`` with ``a u + b v + c = 0`` on the edge with this label, for
        a cell with these codes."""
        label = int(label)
        if label < 0:
            k = -label - 1
            P = self.domain
            p, q = P[k], P[(k + 1) % len(P)]
            a, b = -(q[1] - p[1]), q[0] - p[0]
            return a, b, -(a * p[0] + b * p[1])
        L, N, T, _ = (int(v) for v in self.table[label >> 1])
        G, g = self.layer_map(codes, L)
        return _neuron_line(self.net, G, g, L, N, T)

    def vertex(self, label1, label2, codes):
        """Exact intersection ``(u, v)`` of two edge lines of one cell (not parallel)."""
        a1, b1, c1 = self.line(label1, codes)
        a2, b2, c2 = self.line(label2, codes)
        det = a1 * b2 - a2 * b1
        return (-c1 * b2 + c2 * b1) / det, (-a1 * c2 + a2 * c1) / det

    def polygon(self, i):
        """Exact vertices ``(k, 2)`` (object array of ``fmpq``) of region ``i``."""
        cx = self.cx
        lo, hi = int(cx.vertex_offsets[i]), int(cx.vertex_offsets[i + 1])
        lab = cx._labels[lo:hi]
        k = hi - lo
        out = np.empty((k, 2), dtype=object)
        for m in range(k):
            out[m] = self.vertex(lab[m - 1], lab[m], cx.codes[i])
        return out


def float_max_pairs(cx):
    """Adjacent pairs ``(pairs, lengths)`` of a float-mode slice of a net with max units.

    The float pairing by chords (:func:`polyfold.adjacency._slice_pairs_float`) misses
    neighbours across a line whose two sides carry different chords (max-unit
    candidates that coincide on the plane, e.g. three candidates tied along one line).
    Such a miss is detected: the chord edges of a region (never on the domain's
    boundary) are covered by the edges it shares with its neighbours, so a region whose
    chord perimeter exceeds the sum of its shared lengths lost a neighbour.  Those
    regions' polygons are rebuilt exactly (:class:`ExactPlane`, counted in
    ``cx.n_recomputed``) and paired by the lines their edges lie on, as certified mode
    does for all regions.
    """
    import warnings

    from ..adjacency import _count_recomputed, _slice_pairs_float, _slice_pairs_geometric

    pairs, lengths = _slice_pairs_float(cx)
    R = cx.n_regions
    P, off, lab = cx.vertices, np.asarray(cx.vertex_offsets, np.int64), cx._labels
    if R == 0 or len(P) == 0:
        return pairs, lengths
    cell = np.repeat(np.arange(R), np.diff(off))
    nxt = np.arange(1, off[-1] + 1)
    nxt[off[1:] - 1] = off[:-1]
    edge = np.hypot(*(P[nxt] - P).T)
    inner = lab >= 0
    perim = np.bincount(cell[inner], weights=edge[inner], minlength=R)
    n_inner = np.bincount(cell[inner], minlength=R)
    covered = (np.bincount(pairs[:, 0], weights=lengths, minlength=R)
               + np.bincount(pairs[:, 1], weights=lengths, minlength=R))
    scale = max(float(np.abs(P).max()), 1.0)
    lost = np.flatnonzero(perim - covered > cx.tol.zero * scale * np.maximum(n_inner, 1))
    if len(lost) == 0:
        return pairs, lengths
    plane = ExactPlane(cx)
    try:
        polys = [plane.polygon(int(r)) for r in lost]
    except ZeroDivisionError:  # the float complex has no exact meaning here
        warnings.warn(
            f"slice adjacency (mode='float'): {len(lost)} regions lost neighbours across "
            "tied max-unit candidates and their polygons could not be rebuilt exactly; "
            "some adjacent pairs may be missing: use mode='certified'.",
            RuntimeWarning, stacklevel=4)
        return pairs, lengths
    _count_recomputed(cx, len(lost))
    sub_off = np.zeros(len(lost) + 1, np.int64)  # the rebuilt regions' vertex rows
    np.cumsum([len(p) for p in polys], out=sub_off[1:])
    sp, sl = _slice_pairs_geometric(sub_off, np.concatenate(polys))
    out = {(int(a), int(b)): float(w) for (a, b), w in zip(pairs.tolist(), lengths)}
    for (i, j), w in zip(sp.tolist(), sl):
        out[(int(lost[i]), int(lost[j]))] = float(w)  # the whole shared length
    keys = sorted(out)
    return (np.array(keys, dtype=np.int64).reshape(len(keys), 2),
            np.array([out[k] for k in keys], dtype=np.float64))
