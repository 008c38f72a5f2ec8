"""Figures of 2D slice complexes: the partition, its colourings, the region graph."""

import numpy as np

from ..exceptions import ValidationError
from .style import PALETTE, _get_ax, _mpl

def _check_slice(cx):
    if getattr(cx, "kind", None) != "slice":
        raise ValidationError(
            f"expected a slice RegionComplex (from polyfold.slice_complex or "
            f"slice_through), got {type(cx).__name__}"
            + (f" of kind {cx.kind!r}" if hasattr(cx, "kind") else "") + "."
        )


def slice_colouring(cx, *, strategy="largest_first"):
    """Colour index per region so that adjacent regions differ (greedy, networkx).

    Parameters
    ----------
    cx : RegionComplex
        Any complex with a ``graph`` (node = region index).
    strategy : str
        A :func:`networkx.greedy_color` strategy.

    Returns
    -------
    (R,) int64
        Colour of every region; planar complexes need few colours (at most 6 with
        ``"smallest_last"``).
    """
    import networkx as nx

    col = nx.greedy_color(cx.graph, strategy=strategy)
    return np.array([col.get(i, 0) for i in range(cx.n_regions)], dtype=np.int64)


def last_split_layer(cx):
    """Hidden layer whose neurons last split each region (its "birth" layer).

    Region ``r`` is born in layer ``l`` when its codes up to layer ``l`` are shared
    by no other region of the complex, while those up to layer ``l - 1`` are
    (layer 0 when the first layer alone separates it).  Since codes up to a layer
    define a convex set, this is the layer that cut ``r``'s parent into pieces last.

    Returns
    -------
    (R,) int64
    """
    codes = np.asarray(cx.codes)
    off = list(cx.net.layer_offsets) if hasattr(cx.net, "layer_offsets") else None
    widths = list(cx.net.widths)
    if off is None or len(off) != len(widths) + 1:
        off = np.concatenate([[0], np.cumsum(widths)]).tolist()
    R = len(codes)
    born = np.full(R, len(widths) - 1, dtype=np.int64)
    undecided = np.ones(R, bool)
    for layer in range(len(widths)):
        prefix = codes[:, : off[layer + 1]]
        _, inv, counts = np.unique(prefix, axis=0, return_inverse=True, return_counts=True)
        unique = counts[inv.ravel()] == 1
        newly = unique & undecided
        born[newly] = layer
        undecided &= ~unique
    return born


def plot_slice(cx, *, ax=None, color_by="graph", points=None, point_labels=None, edges=True,
               boundary=True, alpha=0.75, cmap=None):
    """Draw the region partition of a 2D slice.

    Parameters
    ----------
    cx : RegionComplex
        A slice complex (:func:`polyfold.slice_complex`, :func:`polyfold.slice_through`).
    color_by : {"graph", "layer", "class"}
        ``"graph"``: colours from a greedy colouring of the adjacency graph
        (neighbours always differ; colour-blind-safe palette); ``"layer"``: the layer
        whose neurons last split the region (:func:`last_split_layer`); ``"class"``:
        the predicted class.
    points : (n, 2) float, optional
        Data points in slice coordinates (u, v) to mark; for ``slice_through`` the
        three points are ``(0, 0), (1, 0), (0, 1)``.
    point_labels : sequence of str, optional
        Text next to each point.
    edges : bool
        Draw region edges.
    boundary : bool
        Draw the decision boundary in bold.
    alpha : float
        Opacity of the region fills.

    Returns
    -------
    dict
        ``"regions"`` (PolyCollection, one polygon per region), ``"boundary"``
        (LineCollection or None), ``"points"`` (PathCollection or None),
        ``"texts"`` (list), ``"colors"`` ((R,) int colour index or layer / class).

    Examples
    --------
    >>> import numpy as np, polyfold
    >>> from polyfold.plotting import plot_slice
    >>> net = polyfold.zoo.arrangement(4, 2, seed=0)
    >>> cx = polyfold.slice_complex(net, [0, 0], [1, 0], [0, 1], bounds=(-2, 2, -2, 2))
    >>> art = plot_slice(cx)
    >>> len(art["regions"].get_paths()) == cx.n_regions
    True
    """
    from matplotlib.collections import LineCollection, PolyCollection

    _check_slice(cx)
    if color_by not in ("graph", "layer", "class"):
        raise ValidationError(f"color_by must be 'graph', 'layer' or 'class', got {color_by!r}.")
    ax = _get_ax(ax)
    polys = [np.asarray(cx.polygon(i), dtype=np.float64) for i in range(cx.n_regions)]
    mpl = _mpl()
    if color_by == "graph":
        idx = slice_colouring(cx)
        pal = list(PALETTE[:7])  # no black fill
        if idx.max(initial=0) >= len(pal):
            extra = mpl.colormaps["tab20"].colors
            pal += [mpl.colors.to_hex(c) for c in extra]
        face = [pal[i % len(pal)] for i in idx]
    else:
        idx = last_split_layer(cx) if color_by == "layer" else np.asarray(cx.predicted_classes)
        n = max(int(idx.max(initial=0)) + 1, 2)
        cm = mpl.colormaps[cmap or ("viridis" if color_by == "layer" else "tab10")]
        face = [cm(i / (n - 1) if color_by == "layer" else i % cm.N) for i in idx]
    coll = PolyCollection(polys, facecolors=face, alpha=alpha,
                          edgecolors="0.2" if edges else "none",
                          linewidths=0.3 if edges else 0.0)
    ax.add_collection(coll)
    bcoll = None
    if boundary:
        db = cx.decision_boundary
        segs = np.asarray(db.segments, dtype=np.float64).reshape(-1, 2, 2)
        if len(segs):
            bcoll = LineCollection(segs, colors="black", linewidths=1.8, capstyle="round",
                                   label="decision boundary", zorder=3)
            ax.add_collection(bcoll)
    pts_art, texts = None, []
    if points is not None:
        P = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        pts_art = ax.scatter(P[:, 0], P[:, 1], s=28, marker="o", facecolor="white",
                             edgecolor="black", linewidths=1.0, zorder=4, label="data")
        if point_labels is not None:
            for (u, v), s in zip(P, point_labels):
                texts.append(ax.annotate(str(s), (u, v), xytext=(4, 4),
                                         textcoords="offset points", fontsize="small", zorder=7,
                                         bbox=dict(boxstyle="round,pad=0.15", fc="white",
                                                   ec="none", alpha=0.8)))
    allv = np.concatenate(polys) if polys else np.zeros((1, 2))
    ax.set_xlim(allv[:, 0].min(), allv[:, 0].max())
    ax.set_ylim(allv[:, 1].min(), allv[:, 1].max())
    ax.set_aspect("equal")
    ax.set_xlabel("u")
    ax.set_ylabel("v")
    if color_by == "layer":
        sm = mpl.cm.ScalarMappable(cmap=cm, norm=mpl.colors.Normalize(0, n - 1))
        cb = ax.figure.colorbar(sm, ax=ax, fraction=0.046, pad=0.04)
        cb.set_label("layer of last split")
    return {"regions": coll, "boundary": bcoll, "points": pts_art, "texts": texts, "colors": idx}


def plot_region_graph(cx, *, ax=None, node_size=6, color="black"):
    """Draw the adjacency (dual) graph of a slice: a node in every region, an edge per
    shared edge.

    Returns
    -------
    dict
        ``"nodes"`` (PathCollection), ``"edges"`` (LineCollection).
    """
    from matplotlib.collections import LineCollection

    _check_slice(cx)
    ax = _get_ax(ax)
    P = np.asarray(cx.interior_points, dtype=np.float64)
    G = cx.graph
    segs = [(P[a], P[b]) for a, b in G.edges()]
    ecoll = LineCollection(segs, colors=color, linewidths=0.5, alpha=0.7, zorder=5)
    ax.add_collection(ecoll)
    nodes = ax.scatter(P[:, 0], P[:, 1], s=node_size, color=color, zorder=6, linewidths=0)
    ax.set_aspect("equal")
    return {"nodes": nodes, "edges": ecoll}
