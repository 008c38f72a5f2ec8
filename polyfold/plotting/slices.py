"""Figures of 2D slice complexes: the partition, its colourings, the region graph.

:func:`plot_slice` draws one panel; :func:`slice_figure` composes the three
panels of the demo (regions, predicted class, layer of the last split) with the
data points labelled in each and one legend.
"""

import numpy as np

from .._validation import as_float_array
from ..exceptions import ShapeError, ValidationError
from .style import PALETTE, _check_flag, _closing_on_error, _colormap, _get_ax, _mpl, _new_figure

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
    from networkx.algorithms.coloring.greedy_coloring import STRATEGIES

    from ..adjacency import _check_complex

    _check_complex(cx, "slice_colouring")
    if not callable(strategy) and strategy not in STRATEGIES:
        raise ValidationError(
            f"strategy must be a networkx.greedy_color strategy, one of "
            f"{', '.join(repr(k) for k in STRATEGIES)}, got {strategy!r}."
        )
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
    from ..adjacency import _check_complex

    _check_complex(cx, "last_split_layer")
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
               boundary=True, alpha=0.75, cmap=None, colorbar=True, legend=True):
    """Draw the region partition of a 2D slice.

    Parameters
    ----------
    cx : RegionComplex
        A slice complex (:func:`polyfold.slice_complex`, :func:`polyfold.slice_through`).
    color_by : {"graph", "layer", "class"}
        ``"graph"``: colours from a greedy colouring of the adjacency graph
        (neighbours always differ; colour-blind-safe palette); ``"layer"``: the
        hidden layer whose neurons last split the region (:func:`last_split_layer`,
        0 = first hidden layer; a discrete colour bar); ``"class"``: the predicted
        class (a legend entry per class present).
    points : (n, 2) float, optional
        Data points in slice coordinates (u, v) to mark; for ``slice_through`` the
        three points are ``(0, 0), (1, 0), (0, 1)``.
    point_labels : sequence of str, optional
        Text next to each point (e.g. its class).
    edges : bool
        Draw region edges.
    boundary : bool
        Draw the decision boundary in bold.
    alpha : float
        Opacity of the region fills.
    cmap : str, optional
        Colour map for ``"layer"`` (default ``"viridis"``) and ``"class"``
        (default ``"tab10"``).
    colorbar : bool
        ``"layer"``: draw the discrete colour bar.
    legend : bool
        ``"class"``: draw the legend of the classes.

    Returns
    -------
    dict
        ``"regions"`` (PolyCollection, one polygon per region), ``"boundary"``
        (LineCollection or None), ``"points"`` (PathCollection or None),
        ``"texts"`` (list), ``"colors"`` ((R,) int colour index or layer / class),
        ``"colorbar"`` (or None), ``"class_handles"`` (legend patches for
        ``"class"``, else empty).

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
    from matplotlib.patches import Patch

    import numbers

    _check_slice(cx)
    if color_by not in ("graph", "layer", "class"):
        raise ValidationError(f"color_by must be 'graph', 'layer' or 'class', got {color_by!r}.")
    for name, flag in (("edges", edges), ("boundary", boundary), ("colorbar", colorbar),
                       ("legend", legend)):
        _check_flag(flag, name)
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, numbers.Real) or not (
            0 <= alpha <= 1):
        raise ValidationError(f"alpha must be a number in [0, 1] (opacity), got {alpha!r}.")
    if color_by != "graph":
        _colormap(cmap, "viridis" if color_by == "layer" else "tab10")
    P = None
    if points is not None:
        P = as_float_array(points, "points")
        if P.ndim == 1 and P.shape == (2,):
            P = P.reshape(1, 2)
        if P.ndim != 2 or P.shape[1] != 2:
            raise ShapeError(
                f"points must be (n, 2) slice coordinates (u, v), got shape {np.shape(points)}; "
                "map input points with the slice's e1, e2 first."
            )
        if point_labels is not None and (isinstance(point_labels, (str, bytes)) or not hasattr(
                point_labels, "__len__") or len(point_labels) != len(P)):
            raise ValidationError(
                f"point_labels must be a sequence with one label per point ({len(P)}), got "
                f"{point_labels!r}."
            )
    ax = _get_ax(ax)
    polys = [np.asarray(cx.polygon(i), dtype=np.float64) for i in range(cx.n_regions)]
    mpl = _mpl()
    handles = []
    if color_by == "graph":
        idx = slice_colouring(cx)
        pal = list(PALETTE[:7])  # no black fill
        if idx.max(initial=0) >= len(pal):
            extra = mpl.colormaps["tab20"].colors
            pal += [mpl.colors.to_hex(c) for c in extra]
        face = [pal[i % len(pal)] for i in idx]
    elif color_by == "layer":
        idx = last_split_layer(cx)
        n_layers = max(len(cx.net.widths), 1)
        cm = _colormap(cmap, "viridis").resampled(n_layers)
        norm = mpl.colors.BoundaryNorm(np.arange(-0.5, n_layers + 0.5), n_layers)
        face = [cm(norm(i)) for i in idx]
    else:
        idx = np.asarray(cx.predicted_classes)
        cm = _colormap(cmap, "tab10")
        face = [cm(i % cm.N) for i in idx]
        for k in np.unique(idx):
            handles.append(Patch(facecolor=cm(int(k) % cm.N), alpha=alpha, edgecolor="0.2",
                                 linewidth=0.3, label=f"class {int(k)}"))
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
    if P is not None:
        pts_art = ax.scatter(P[:, 0], P[:, 1], s=28, marker="o", facecolor="white",
                             edgecolor="black", linewidths=1.0, zorder=4, label="data point")
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
    cb = None
    if color_by == "layer" and colorbar:
        sm = mpl.cm.ScalarMappable(cmap=cm, norm=norm)
        cb = ax.figure.colorbar(sm, ax=ax, fraction=0.046, pad=0.04,
                                ticks=np.arange(n_layers), boundaries=np.arange(-0.5, n_layers + 0.5))
        cb.set_label("hidden layer (0 = first)")
        cb.ax.minorticks_off()
    if color_by == "class" and legend and handles:
        ax.legend(handles=handles, loc="upper right", fontsize="x-small", framealpha=0.8,
                  frameon=True, handlelength=1.0, borderpad=0.3)
    return {"regions": coll, "boundary": bcoll, "points": pts_art, "texts": texts, "colors": idx,
            "colorbar": cb, "class_handles": handles}


def slice_figure(cx, *, points=None, point_labels=None, figsize=(7.2, 2.8)):
    """The three-panel slice figure: regions, predicted class, layer of the last split.

    Every panel marks the data points with their labels and the decision
    boundary; one legend below the panels explains the symbols (and the
    classes of the middle panel).

    Parameters
    ----------
    cx : RegionComplex
        A slice complex.
    points : (n, 2) float, optional
        Data points in (u, v); default: ``(0, 0), (1, 0), (0, 1)`` (the points of
        :func:`polyfold.slice_through`).
    point_labels : sequence, optional
        A label per point (e.g. the classes of the three images).
    figsize : (float, float)

    Returns
    -------
    fig : matplotlib Figure
    axes : list of 3 Axes
    """
    _check_slice(cx)
    if points is None:
        points = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    fig = _new_figure(figsize)
    with _closing_on_error(fig):
        axes = fig.subplots(1, 3)
        arts = []
        for ax, how, title in zip(axes, ("graph", "class", "layer"),
                                  (f"{cx.n_regions} linear regions", "predicted class",
                                   "layer of last split")):
            arts.append(plot_slice(cx, ax=ax, color_by=how, points=points,
                                   point_labels=point_labels, legend=False))
            ax.set_title(title)
        for ax in axes[1:]:
            ax.set_ylabel("")
        handles = []
        if arts[0]["boundary"] is not None:
            handles.append(arts[0]["boundary"])
        if arts[0]["points"] is not None:
            arts[0]["points"].set_label("data point (label: class)" if point_labels is not None
                                        else "data point")
            handles.append(arts[0]["points"])
        handles += arts[1]["class_handles"]
        rows = 1 if len(handles) <= 8 else 2
        fig.legend(handles=handles, loc="lower center", ncol=-(-len(handles) // rows),
                   fontsize="x-small", bbox_to_anchor=(0.5, 0.0), handlelength=1.2,
                   columnspacing=1.0)
        fig.tight_layout(rect=(0, 0.07 * rows, 1, 1))
    return fig, list(axes)


def plot_region_graph(cx, *, ax=None, node_size=6, color="black"):
    """Draw the adjacency (dual) graph of a slice: a node in every region, an edge per
    shared edge.

    Returns
    -------
    dict
        ``"nodes"`` (PathCollection), ``"edges"`` (LineCollection).
    """
    from matplotlib.collections import LineCollection

    import numbers

    _check_slice(cx)
    if isinstance(node_size, (bool, np.bool_)) or not isinstance(node_size, numbers.Real) or not (
            np.isfinite(node_size) and node_size >= 0):
        raise ValidationError(f"node_size must be a number >= 0 (points^2), got {node_size!r}.")
    if not _mpl().colors.is_color_like(color):
        raise ValidationError(f"color must be a matplotlib colour such as 'black', got {color!r}.")
    ax = _get_ax(ax)
    P = np.asarray(cx.interior_points, dtype=np.float64)
    G = cx.graph
    segs = [(P[a], P[b]) for a, b in G.edges()]
    ecoll = LineCollection(segs, colors=color, linewidths=0.5, alpha=0.7, zorder=5)
    ax.add_collection(ecoll)
    nodes = ax.scatter(P[:, 0], P[:, 1], s=node_size, color=color, zorder=6, linewidths=0)
    ax.set_aspect("equal")
    return {"nodes": nodes, "edges": ecoll}
