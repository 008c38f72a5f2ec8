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
    "region_graph",
    "decision_boundary",
    "complex_to_json",
    "graph_to_graphml",
    "clip_polygon",
]


# ---------------------------------------------------------------------------
# adjacency
# ---------------------------------------------------------------------------
def _switching(cx, a, b):
    diff = np.flatnonzero(cx.codes[a] != cx.codes[b])
    return [cx.net.unit_of(int(i)) for i in diff]


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


def _slice_pairs(cx):
    exact = cx.exact_vertices is not None
    P = cx.exact_vertices if exact else cx.vertices
    off = cx.vertex_offsets
    lab = cx._labels
    counts = np.diff(off)
    cell = np.repeat(np.arange(len(counts)), counts)
    nxt = np.arange(1, off[-1] + 1)
    nxt[off[1:] - 1] = off[:-1]
    sel = np.flatnonzero(lab >= 0)
    chord = lab[sel] >> 1
    side = lab[sel] & 1
    order = np.argsort(chord, kind="stable")
    sel, chord, side = sel[order], chord[order], side[order]
    bounds = np.flatnonzero(np.diff(chord)) + 1
    groups = np.split(np.arange(len(sel)), bounds)
    scale = float(np.abs(cx.vertices).max()) if len(cx.vertices) else 1.0
    eps = 0 if exact else cx.tol.zero * max(scale, 1.0)
    pairs = {}
    Pl = P.tolist() if not exact else P
    for g in groups:
        if len(g) == 0:
            continue
        k0 = sel[g[0]]
        p, q = Pl[k0], Pl[nxt[k0]]
        du, dv = q[0] - p[0], q[1] - p[1]
        if not exact:
            n = (du * du + dv * dv) ** 0.5
            du, dv = du / n, dv / n
        plus, minus = [], []
        for gi in g:
            k = sel[gi]
            a, b = Pl[k], Pl[nxt[k]]
            ta = a[0] * du + a[1] * dv
            tb = b[0] * du + b[1] * dv
            rec = (ta, tb, int(cell[k])) if ta <= tb else (tb, ta, int(cell[k]))
            (plus if side[gi] else minus).append(rec)
        for a, b, length in _pair_chord(plus, minus, eps):
            key = (a, b) if a < b else (b, a)
            pairs[key] = pairs.get(key, 0) + length
    keys = sorted(pairs)
    arr = np.array(keys, dtype=np.int64).reshape(len(keys), 2)
    lengths = [pairs[k] for k in keys]
    if exact:
        lengths = [float(v) for v in lengths]
    else:  # from unit-direction parameters: lengths in (u, v) units
        lengths = [float(v) for v in lengths]
    return arr, lengths


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

    Notes
    -----
    Slices: from the chord labels of the polygon edges, exact in ``mode="exact"``,
    float otherwise (overlaps shorter than ``tol.zero`` times the coordinate scale
    are ignored).  Boxes: computed by the box engine with LPs.
    """
    if cx.kind == "slice":
        pairs, _ = _slice_pairs(cx)
    else:
        pairs = cx._labels
    switching = [_switching(cx, int(a), int(b)) for a, b in pairs]
    return pairs, switching


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
        ``switching`` (list of ``(layer, neuron)``).

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
    G = nx.Graph()
    pats = cx.patterns
    preds = cx.predicted_classes
    for i in range(cx.n_regions):
        G.add_node(
            i,
            pattern="".join("1" if b else "0" for b in pats[i]),
            codes=tuple(int(v) for v in cx.codes[i]),
            key=cx.codes[i].tobytes().hex(),
            measure=float(cx.measures[i]),
            predicted_class=int(preds[i]),
            interior_point=tuple(float(v) for v in cx.interior_points[i]),
        )
    for (a, b), sw in zip(pairs.tolist(), switching):
        G.add_edge(a, b, switching=sw)
    return G


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
