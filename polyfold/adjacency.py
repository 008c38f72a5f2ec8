"""Adjacency (dual) graphs of region complexes, decision boundaries, export.

Two regions of a :class:`polyfold.slices.RegionComplex` are adjacent when they
share a facet of dimension ``dim - 1`` (an edge of positive length in a slice).
The graph has one node per region and one edge per adjacent pair, labelled with
the *switching* neurons: the units whose codes differ between the two regions.
Regions meeting only at a point (several lines through one point) are not
adjacent.

For slices adjacency is read off the splitting history: every polygon edge
carries the chord (one neuron's line inside one parent polygon) it lies on, and
two regions are adjacent iff their sub-edges on opposite sides of one chord
overlap with positive length (decided exactly in ``mode="exact"``).
"""

import json

import numpy as np

from . import arith
from .exceptions import DependencyError, ValidationError

__all__ = [
    "adjacency_pairs",
    "switching_units",
    "clip_polygon",
    "complex_to_json",
    "decision_boundary",
    "graph_to_graphml",
    "region_graph",
]


# ---------------------------------------------------------------------------
# adjacency
# ---------------------------------------------------------------------------
def switching_units(codes, pairs, block=1 << 16):
    """Units whose codes differ across each pair, as flat arrays (vectorised).

    Parameters
    ----------
    codes : (R, n_hidden) int8
    pairs : (E, 2) int

    Returns
    -------
    offsets : (E + 1,) int64
    units : (total,) int64
        The switching units of pair ``k`` are ``units[offsets[k]:offsets[k + 1]]``
        (pattern positions, increasing).
    """
    pairs = np.asarray(pairs, np.int64).reshape(-1, 2)
    counts = np.zeros(len(pairs), np.int64)
    parts = []
    for s in range(0, len(pairs), block):
        pr = pairs[s : s + block]
        rows, cols = np.nonzero(codes[pr[:, 0]] != codes[pr[:, 1]])
        counts[s : s + len(pr)] = np.bincount(rows, minlength=len(pr))
        parts.append(cols.astype(np.int64))
    off = np.zeros(len(pairs) + 1, np.int64)
    np.cumsum(counts, out=off[1:])
    return off, (np.concatenate(parts) if parts else np.zeros(0, np.int64))


def _switching_lists(cx, pairs):
    """Per pair, the (layer, neuron) units whose codes differ."""
    if len(pairs) == 0:
        return []
    off, units = switching_units(cx.codes, pairs)
    names = [cx.net.unit_of(i) for i in range(cx.net.n_hidden)]
    flat = [names[i] for i in units.tolist()]
    o = off.tolist()
    return [flat[o[k] : o[k + 1]] for k in range(len(pairs))]


def _pair_chord(plus, minus, eps):
    """Overlapping intervals of two tilings: list of (cell+, cell-, length)."""
    plus.sort(key=lambda r: r[0])
    minus.sort(key=lambda r: r[0])
    i = j = 0
    out = []
    while i < len(plus) and j < len(minus):
        lo = max(plus[i][0], minus[j][0])
        hi = min(plus[i][1], minus[j][1])
        if hi - lo > eps:
            out.append((plus[i][2], minus[j][2], hi - lo))
        if plus[i][1] < minus[j][1]:
            i += 1
        else:
            j += 1
    return out


def _slice_edges(cx):
    """Chord sub-edges of a slice complex: vertex index, cell, chord, side (sorted by chord)."""
    off = cx.vertex_offsets
    lab = cx._labels
    counts = np.diff(off)
    cell = np.repeat(np.arange(len(counts)), counts)
    nxt = np.arange(1, off[-1] + 1)
    nxt[off[1:] - 1] = off[:-1]
    sel = np.flatnonzero(lab >= 0)
    chord = lab[sel] >> 1
    order = np.argsort(chord, kind="stable")
    sel = sel[order]
    return sel, nxt[sel], cell[sel], lab[sel] >> 1, lab[sel] & 1


def _slice_pairs_exact(cx):
    P = cx.exact_vertices
    sel, nx_, cell, chord, side = _slice_edges(cx)
    bounds = np.flatnonzero(np.diff(chord)) + 1
    pairs = {}
    for g in np.split(np.arange(len(sel)), bounds):
        if len(g) == 0:
            continue
        p, q = P[sel[g[0]]], P[nx_[g[0]]]
        du, dv = q[0] - p[0], q[1] - p[1]
        plus, minus = [], []
        for gi in g:
            a, b = P[sel[gi]], P[nx_[gi]]
            ta = a[0] * du + a[1] * dv
            tb = b[0] * du + b[1] * dv
            rec = (ta, tb, int(cell[gi])) if ta <= tb else (tb, ta, int(cell[gi]))
            (plus if side[gi] else minus).append(rec)
        nrm = (du * du + dv * dv)
        for a, b, length in _pair_chord(plus, minus, 0):
            key = (a, b) if a < b else (b, a)
            pairs[key] = pairs.get(key, 0) + float(length) / float(nrm) ** 0.5
    keys = sorted(pairs)
    return np.array(keys, dtype=np.int64).reshape(len(keys), 2), np.array([pairs[k] for k in keys])


def _slice_pairs_float(cx):
    """Vectorised: elementary pieces of every chord mapped to one sub-edge per side."""
    P = cx.vertices
    sel, nx_, cell, chord, side = _slice_edges(cx)
    if len(sel) == 0:
        return np.zeros((0, 2), np.int64), np.zeros(0)
    first = np.r_[True, chord[1:] != chord[:-1]]
    gid = np.cumsum(first) - 1
    f_idx = np.flatnonzero(first)
    D = P[nx_[f_idx]] - P[sel[f_idx]]
    D /= np.linalg.norm(D, axis=1)[:, None]
    Dg = D[gid]
    ta = np.einsum("ij,ij->i", P[sel], Dg)
    tb = np.einsum("ij,ij->i", P[nx_], Dg)
    lo, hi = np.minimum(ta, tb), np.maximum(ta, tb)
    scale = float(np.abs(P).max()) if len(P) else 1.0
    eps = cx.tol.zero * max(scale, 1.0)
    # elementary pieces: all end points per chord, sorted
    bg = np.concatenate([gid, gid])
    bt = np.concatenate([lo, hi])
    o = np.lexsort((bt, bg))
    bg, bt = bg[o], bt[o]
    same = bg[1:] == bg[:-1]
    seg_len = bt[1:] - bt[:-1]
    keep = same & (seg_len > eps)
    mg = bg[:-1][keep]
    mt = (bt[:-1][keep] + bt[1:][keep]) / 2
    ml = seg_len[keep]
    owners = []
    for sd in (1, 0):
        ids = np.flatnonzero(side == sd)
        # events: interval starts (type 0) and midpoints (type 1), by (group, t, type)
        eg = np.concatenate([gid[ids], mg])
        et = np.concatenate([lo[ids], mt])
        ty = np.concatenate([np.zeros(len(ids), np.int8), np.ones(len(mg), np.int8)])
        who = np.concatenate([ids, np.full(len(mg), -1)])
        o = np.lexsort((ty, et, eg))
        pos = np.where(ty[o] == 0, np.arange(len(o)), -1)
        last = np.maximum.accumulate(pos)
        mid_rows = np.flatnonzero(ty[o] == 1)
        src = last[mid_rows]
        owner = np.full(len(mid_rows), -1, np.int64)
        okk = src >= 0
        owner[okk] = who[o][src[okk]]
        # order back to the midpoints' order
        mid_order = o[mid_rows] - len(ids)
        out = np.full(len(mg), -1, np.int64)
        out[mid_order] = owner
        valid = out >= 0
        valid[valid] &= (gid[out[valid]] == mg[valid]) & (hi[out[valid]] > mt[valid])
        out[~valid] = -1
        owners.append(out)
    ok = (owners[0] >= 0) & (owners[1] >= 0)
    a = cell[owners[0][ok]]
    b = cell[owners[1][ok]]
    lo_c, hi_c = np.minimum(a, b), np.maximum(a, b)
    keys = lo_c * np.int64(cx.n_regions) + hi_c
    uk, inv = np.unique(keys, return_inverse=True)
    lengths = np.bincount(inv, weights=ml[ok], minlength=len(uk))
    pairs = np.stack([uk // cx.n_regions, uk % cx.n_regions], axis=1).astype(np.int64)
    return pairs, lengths


def _slice_pairs(cx):
    if cx.exact_vertices is not None:
        return _slice_pairs_exact(cx)
    return _slice_pairs_float(cx)


def adjacency_pairs(cx):
    """Adjacent region pairs of a complex and their switching neurons.

    Parameters
    ----------
    cx : RegionComplex

    Returns
    -------
    pairs : (E, 2) int64
        Index pairs ``(a, b)`` with ``a < b``.
    switching : list of list of (layer, neuron)
        Units whose codes differ between the two regions.
    measures : (E,) float
        Length (slices, in (u, v) units) of the shared edge; NaN for boxes.

    Notes
    -----
    Slices: from the chord labels of the polygon edges, exact in ``mode="exact"``,
    float otherwise (overlaps shorter than ``tol.zero`` times the coordinate scale
    are ignored).  Boxes: computed by the box engine with LPs.
    """
    if cx.kind == "slice":
        pairs, measures = _slice_pairs(cx)
    else:
        pairs, measures = cx._labels
    return pairs, _switching_lists(cx, pairs), np.asarray(measures, dtype=np.float64)


def region_graph(cx):
    """The adjacency graph of a complex as a :class:`networkx.Graph`.

    Parameters
    ----------
    cx : RegionComplex

    Returns
    -------
    networkx.Graph
        Nodes ``0..n_regions-1`` with attributes ``pattern`` (string of 0/1),
        ``codes`` (tuple), ``key`` (packed codes as hex, unique per region),
        ``measure``, ``predicted_class``, ``interior_point`` (tuple); edges with
        ``switching`` (list of ``(layer, neuron)``) and ``measure`` (length of the
        shared edge for slices).

    Examples
    --------
    >>> from polyfold import zoo, slice_complex
    >>> net = zoo.arrangement(3, 2, seed=0)
    >>> G = slice_complex(net, [0, 0], [1, 0], [0, 1], bounds=(-50, 50, -50, 50)).graph
    >>> G.number_of_nodes(), G.number_of_edges()     # 7 regions, 9 bounded or not edges
    (7, 9)
    """
    import networkx as nx

    pairs, switching = cx.adjacency
    measures = cx.facet_measures
    pats = cx.patterns
    n_bits = pats.shape[1]
    text = (pats.astype(np.uint8) + ord("0")).tobytes().decode("ascii")
    codes_list = cx.codes.tolist()
    keys = [row.tobytes().hex() for row in cx.codes]
    preds = cx.predicted_classes.tolist()
    meas = np.asarray(cx.measures, dtype=np.float64).tolist()
    pts = np.asarray(cx.interior_points, dtype=np.float64).tolist()
    nodes = {
        i: {
            "pattern": text[i * n_bits : (i + 1) * n_bits],
            "codes": tuple(codes_list[i]),
            "key": keys[i],
            "measure": meas[i],
            "predicted_class": preds[i],
            "interior_point": tuple(pts[i]),
        }
        for i in range(cx.n_regions)
    }
    G = nx.Graph()
    if type(G._node) is dict and type(G._adj) is dict:
        # bulk construction of networkx's own dict-of-dicts (one shared attribute
        # dict per edge, as add_edge makes it)
        adj = {i: {} for i in range(cx.n_regions)}
        for (a, b), sw, m in zip(pairs.tolist(), switching, measures.tolist()):
            d = {"switching": sw, "measure": m}
            adj[a][b] = d
            adj[b][a] = d
        G._node.update(nodes)
        G._adj.update(adj)
        return G
    G.add_nodes_from(nodes.items())  # pragma: no cover - a networkx with other dict types
    G.add_edges_from(  # pragma: no cover
        (a, b, {"switching": sw, "measure": m})
        for (a, b), sw, m in zip(pairs.tolist(), switching, measures.tolist())
    )
    return G  # pragma: no cover


# ---------------------------------------------------------------------------
# polygon clipping (float or exact)
# ---------------------------------------------------------------------------
def clip_polygon(vertices, labels, a, b, c, new_label, *, eps=0):
    """Keep the part of a convex polygon where ``a u + b v + c >= 0``.

    Parameters
    ----------
    vertices : list of (u, v)
        Counter-clockwise, floats or exact rationals.
    labels : list
        Label of the edge from each vertex to the next.
    a, b, c : numbers
    new_label
        Label of the new edge along the line.
    eps : float
        Values within ``eps`` count as on the line (0 for exact input).

    Returns
    -------
    (vertices, labels) of the clipped polygon (possibly empty lists).

    Examples
    --------
    >>> sq = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    >>> clip_polygon(sq, [0, 1, 2, 3], -1.0, 0.0, 0.5, 9)[0]   # u <= 1/2
    [(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)]
    """
    k = len(vertices)
    if k == 0:
        return [], []
    vals = [a * p[0] + b * p[1] + c for p in vertices]
    s = [1 if v > eps else (-1 if v < -eps else 0) for v in vals]
    if all(x >= 0 for x in s):
        return list(vertices), list(labels)
    if all(x <= 0 for x in s):
        return [], []
    out_v, out_l = [], []
    for i in range(k):
        n = (i + 1) % k
        if s[i] >= 0:
            out_v.append(vertices[i])
            out_l.append(new_label if (s[i] == 0 and s[n] < 0) else labels[i])
        if s[i] * s[n] < 0:
            t = vals[i] / (vals[i] - vals[n])
            p, q = vertices[i], vertices[n]
            out_v.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
            out_l.append(new_label if s[i] > 0 else labels[i])
    return out_v, out_l


# ---------------------------------------------------------------------------
# decision boundary
# ---------------------------------------------------------------------------
def _exact_uv_logits(cx, i):
    from .regions import region_rows

    _, _, _, V, u = region_rows(cx.net, cx.codes[i], exact=True)
    E = arith.fmpq_array(np.stack([cx.e1, cx.e2], axis=1))
    return V @ E, V @ arith.fmpq_array(cx.origin) + u


def decision_boundary(cx):
    """Pieces of the decision boundary of a slice complex.

    The predicted class is ``argmax`` of the logits (``logit > 0`` for one
    output).  Inside a region the logits are affine in (u, v), so the boundary
    there consists of segments of the lines ``f_c = f_k`` between the argmax cells.

    Parameters
    ----------
    cx : RegionComplex (slice)

    Returns
    -------
    DecisionBoundary
        Segments in (u, v) (exact in ``mode="exact"``, then rounded to float),
        their region and the two classes.

    Notes
    -----
    A region is examined only if two classes can both be maximal in it (checked
    at its vertices: the differences of affine functions attain their maxima at
    vertices); for it, each candidate class's cell is clipped out of the polygon.
    """
    from .slices import DecisionBoundary

    if cx.kind != "slice":
        raise ValidationError("decision_boundary is defined for slice complexes only.")
    exact = cx.exact_vertices is not None
    Vuv, uuv = cx.uv_maps
    off = cx.vertex_offsets
    C = Vuv.shape[1]
    segs, regs, cls = [], [], []
    scale = float(np.abs(cx.vertices).max()) if len(cx.vertices) else 1.0
    for i in range(cx.n_regions):
        Pf = cx.vertices[off[i] : off[i + 1]]
        F = Pf @ Vuv[i].T + uuv[i]
        fscale = float(np.abs(F).max()) if F.size else 0.0
        band = cx.tol.zero * max(fscale, 1.0) * 16
        if C == 1:
            if F[:, 0].max() <= -band or F[:, 0].min() > band:
                continue
        else:
            diff = F[:, :, None] - F[:, None, :]
            mx = diff.max(axis=0)
            np.fill_diagonal(mx, np.inf)
            cand = np.flatnonzero(np.all(mx > -band, axis=1))
            if len(cand) < 2:
                continue
        if exact:
            Vq, uq = _exact_uv_logits(cx, i)
            poly = [tuple(r) for r in cx.exact_vertices[off[i] : off[i + 1]]]
            eps = 0
        else:
            Vq, uq = Vuv[i], uuv[i]
            poly = [tuple(r) for r in Pf.tolist()]
            eps = cx.tol.zero * max(scale, 1.0)
        labels0 = [-1] * len(poly)
        if C == 1:
            v, lb = clip_polygon(poly, labels0, Vq[0, 0], Vq[0, 1], uq[0], 1, eps=eps)
            pieces = [(v, lb, 0)] if v else []
        else:
            pieces = []
            for c in cand:
                v, lb = poly, labels0
                for k in range(C):
                    if k == c:
                        continue
                    v, lb = clip_polygon(v, lb, Vq[c, 0] - Vq[k, 0], Vq[c, 1] - Vq[k, 1],
                                         uq[c] - uq[k], int(k), eps=eps)
                    if not v:
                        break
                if v:
                    pieces.append((v, lb, int(c)))
        for v, lb, c in pieces:
            for j in range(len(v)):
                k = lb[j]
                if k < 0 or (C > 1 and k < c):
                    continue
                p, q = v[j], v[(j + 1) % len(v)]
                if p == q:
                    continue
                segs.append([[float(p[0]), float(p[1])], [float(q[0]), float(q[1])]])
                regs.append(i)
                cls.append((c, k) if C > 1 else (0, 1))
    return DecisionBoundary(
        segments=np.array(segs, dtype=np.float64).reshape(len(segs), 2, 2),
        region=np.array(regs, dtype=np.int64),
        classes=np.array(cls, dtype=np.int64).reshape(len(cls), 2),
    )


# ---------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------
def complex_to_json(cx, path=None):
    """JSON text of a complex: regions (codes, vertices or interior points,
    measure, class) and adjacency (pairs with switching neurons).

    Parameters
    ----------
    cx : RegionComplex
    path : str or Path, optional
        Also write the text there.

    Returns
    -------
    str
    """
    pairs, switching = cx.adjacency
    preds = cx.predicted_classes
    regions = []
    for i in range(cx.n_regions):
        rec = {
            "index": i,
            "codes": [int(v) for v in cx.codes[i]],
            "measure": float(cx.measures[i]),
            "interior_point": [float(v) for v in cx.interior_points[i]],
            "predicted_class": int(preds[i]),
        }
        if cx.kind == "slice":
            rec["vertices"] = cx.polygon(i).tolist()
            if cx.exact_vertices is not None:
                rec["vertices_exact"] = [[str(arith.to_fraction(a)), str(arith.to_fraction(b))]
                                         for a, b in cx.exact_polygon(i)]
        regions.append(rec)
    doc = {
        "format": "polyfold.RegionComplex/1",
        "kind": cx.kind,
        "mode": cx.mode,
        "n_regions": cx.n_regions,
        "n_recomputed": cx.n_recomputed,
        "regions": regions,
        "edges": [
            {"regions": [int(a), int(b)], "switching": [list(s) for s in sw]}
            for (a, b), sw in zip(pairs.tolist(), switching)
        ],
    }
    if cx.kind == "slice":
        doc["origin"] = cx.origin.tolist()
        doc["e1"] = cx.e1.tolist()
        doc["e2"] = cx.e2.tolist()
        doc["domain"] = cx.domain.tolist()
    text = json.dumps(doc)
    if path is not None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return text


def graph_to_graphml(G, path):
    """Write a region graph to GraphML (tuples and lists become strings).

    Parameters
    ----------
    G : networkx.Graph
    path : str or Path

    Returns
    -------
    path
    """
    try:
        import networkx as nx
    except ImportError as err:  # pragma: no cover - networkx is a hard dependency
        raise DependencyError("GraphML export needs networkx: pip install networkx") from err
    H = nx.Graph()
    for n, data in G.nodes(data=True):
        H.add_node(n, **{k: _scalar(v) for k, v in data.items()})
    for a, b, data in G.edges(data=True):
        H.add_edge(a, b, **{k: _scalar(v) for k, v in data.items()})
    nx.write_graphml(H, path)
    return path


def _scalar(v):
    if isinstance(v, (list, tuple)):
        if v and isinstance(v[0], (list, tuple)):
            return ";".join(":".join(str(x) for x in item) for item in v)
        return ",".join(str(x) for x in v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v
