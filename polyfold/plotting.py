"""Paper-ready figures of polyfold results (matplotlib).

Every plot function takes ``ax=None`` (a new figure is made when omitted), draws
on that axes only, returns the artists it drew and never calls ``plt.show()``.
Wrap figure code in :func:`paper_style` to get the paper look (font sizes, a
colour-blind-safe palette, vector-friendly output) without changing matplotlib's
global settings.

Figures
-------
* :func:`plot_sampling_comparison` -- regions missed by grid sampling vs exact crossings.
* :func:`plot_folding_walk` -- Hamming distance to the start along a segment, breakpoints,
  the prefix curve of chi, exact vs sampled overlay.
* :func:`plot_slice` -- a 2D slice partition: regions coloured so that neighbours
  differ, region edges, decision boundary in bold, data points marked.
* :func:`plot_class_pair_heatmap`, :func:`plot_folding_vs_depth`.
* :func:`plot_maximal_bias` (circle / sphere), :func:`plot_redundancy`.
* :func:`plot_histograms` -- insphere radii and orthogonality per setting.
"""

import contextlib
from pathlib import Path

import numpy as np

from .exceptions import DependencyError, ValidationError

__all__ = [
    "PALETTE",
    "paper_style",
    "save_figure",
    "sample_walk",
    "plot_sampling_comparison",
    "plot_folding_walk",
    "plot_prefix_curve",
    "plot_class_pair_heatmap",
    "plot_folding_vs_depth",
    "plot_slice",
    "plot_region_graph",
    "slice_colouring",
    "last_split_layer",
    "plot_maximal_bias",
    "plot_redundancy",
    "plot_histograms",
]

#: Okabe & Ito's colour-blind-safe palette (black first, then the eight hues).
PALETTE = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
    "#56B4E9",  # sky blue
    "#F0E442",  # yellow
    "#000000",  # black
)


def _mpl():
    try:
        import matplotlib
    except ImportError as err:  # pragma: no cover - matplotlib is a hard dependency
        raise DependencyError(
            "polyfold.plotting requires matplotlib: pip install matplotlib."
        ) from err
    return matplotlib


def _pyplot():
    _mpl()
    import matplotlib.pyplot as plt

    return plt


def _paper_rc(font_size):
    from cycler import cycler

    return {
        "font.size": font_size,
        "axes.titlesize": font_size + 1,
        "axes.labelsize": font_size,
        "xtick.labelsize": font_size - 1,
        "ytick.labelsize": font_size - 1,
        "legend.fontsize": font_size - 1,
        "legend.frameon": False,
        "axes.prop_cycle": cycler(color=list(PALETTE)),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.linewidth": 0.6,
        "lines.linewidth": 1.2,
        "lines.markersize": 3.5,
        "xtick.major.width": 0.6,
        "ytick.major.width": 0.6,
        "grid.linewidth": 0.4,
        "image.cmap": "cividis",
        "figure.figsize": (3.4, 2.5),
        "figure.dpi": 150,
        "savefig.dpi": 300,
        "savefig.bbox": "tight",
        "savefig.pad_inches": 0.02,
        "pdf.fonttype": 42,  # TrueType in PDF: editable text, accepted by publishers
        "ps.fonttype": 42,
        "svg.fonttype": "none",
    }


@contextlib.contextmanager
def paper_style(*, font_size=8):
    """Context manager applying the paper style to the figures made inside it.

    The settings are restored on exit (an ``rc_context``): nothing global changes.

    Parameters
    ----------
    font_size : float
        Base font size in points (8 suits a single column of a two-column paper).

    Examples
    --------
    >>> import matplotlib
    >>> from polyfold.plotting import paper_style
    >>> before = matplotlib.rcParams["font.size"]
    >>> with paper_style(font_size=7):
    ...     matplotlib.rcParams["font.size"]
    7.0
    >>> matplotlib.rcParams["font.size"] == before
    True
    """
    if not (isinstance(font_size, (int, float)) and np.isfinite(font_size) and font_size > 1):
        raise ValidationError(f"font_size must be a number > 1 (points), got {font_size!r}.")
    mpl = _mpl()
    with mpl.rc_context(_paper_rc(float(font_size))):
        yield


def save_figure(fig, directory, name, *, formats=("png", "pdf")):
    """Save ``fig`` as ``directory/name.<fmt>`` for each format; return the paths.

    PNG for reports and web pages, PDF (vector) for papers.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        p = directory / f"{name}.{fmt}"
        fig.savefig(p, format=fmt)
        paths.append(p)
    return paths


def _get_ax(ax, figsize=None, projection=None):
    if ax is not None:
        return ax
    plt = _pyplot()
    fig = plt.figure(figsize=figsize)
    return fig.add_subplot(projection=projection)


# ---------------------------------------------------------------------------
# exact crossings vs sampling
# ---------------------------------------------------------------------------
def plot_sampling_comparison(rows, *, ax=None, quantity="fraction_missed"):
    """Regions missed by grid sampling (or its cost) against the number of points.

    Parameters
    ----------
    rows : sequence of dict
        One per network, as written by ``polyfold demo`` / ``polyfold crossings``:
        ``{"net": name, "sampling": [{"n_points": n, "fraction_missed": f,
        "ratio": r, ...}, ...]}``.
    ax : matplotlib Axes, optional
    quantity : {"fraction_missed", "ratio"}
        ``"fraction_missed"``: share of the exact regions that sampling did not see;
        ``"ratio"``: time of grid sampling divided by the time of exact crossings.

    Returns
    -------
    dict
        ``{"lines": [Line2D, ...]}``, one line per network.
    """
    if quantity not in ("fraction_missed", "ratio"):
        raise ValidationError(
            f"quantity must be 'fraction_missed' or 'ratio', got {quantity!r}."
        )
    rows = list(rows)
    if not rows:
        raise ValidationError("rows is empty; pass at least one network's comparison.")
    ax = _get_ax(ax)
    markers = "osD^vP*X"
    lines = []
    for k, row in enumerate(rows):
        samp = row.get("sampling") or []
        n = [s["n_points"] for s in samp]
        v = [s[quantity] for s in samp]
        if quantity == "fraction_missed":
            v = [100.0 * x for x in v]
        (line,) = ax.plot(n, v, marker=markers[k % len(markers)], label=str(row.get("net", k)))
        lines.append(line)
    ax.set_xscale("log")
    ax.set_xlabel("grid points per path")
    if quantity == "fraction_missed":
        ax.set_ylabel("regions missed by sampling (%)")
        ax.set_ylim(bottom=0)
    else:
        ax.set_yscale("log")
        ax.axhline(1.0, color="0.6", linewidth=0.6, linestyle=":")
        ax.set_ylabel("time(grid) / time(exact)")
    ax.legend(ncol=2 if len(rows) > 3 else 1)
    return {"lines": lines}


# ---------------------------------------------------------------------------
# folding
# ---------------------------------------------------------------------------
def _walk_edges(result):
    """Region boundaries ``0 = t_0 < t_1 < ... < t_k = 1`` of a SpaceFolding walk."""
    bp = result.breakpoints
    t = np.asarray([float(v) for v in bp], dtype=np.float64) if len(bp) else np.zeros(0)
    return np.concatenate([[0.0], t, [1.0]])


def _hamming_to_start(walk):
    walk = np.asarray(walk)
    return np.count_nonzero(walk != walk[:1], axis=1)


def _check_walk_result(result, name="result"):
    for attr in ("walk", "breakpoints", "prefix"):
        if not hasattr(result, attr):
            raise ValidationError(
                f"{name} must be a SpaceFolding (from polyfold.folding.space_folding or "
                f"SpaceFoldingBatch.path(i)), got {type(result).__name__}."
            )
    if len(_walk_edges(result)) != len(result.walk) + 1:
        raise ValidationError(
            f"{name} is inconsistent: {len(result.walk)} regions but "
            f"{len(result.breakpoints)} breakpoints (expected one fewer)."
        )


def _check_sampled(sampled):
    try:
        t, pats = sampled
    except (TypeError, ValueError) as err:
        raise ValidationError(
            "sampled must be a (t (n,), patterns (n, n_units)) pair, e.g. from "
            "polyfold.plotting.sample_walk(net, x1, x2, n_points)."
        ) from err
    t = np.asarray(t, dtype=np.float64)
    pats = np.asarray(pats)
    if t.ndim != 1 or pats.ndim != 2 or len(t) != len(pats) or len(t) < 1:
        raise ValidationError(
            f"sampled must pair t of shape (n,) with patterns of shape (n, n_units), got "
            f"{t.shape} and {pats.shape}."
        )
    return t, pats


def sample_walk(net, x1, x2, n_points=11):
    """Hidden activation patterns at ``n_points`` equally spaced points of ``x1 -> x2``.

    What the published folding code computes (it uses 11 points); pass the result
    as ``sampled=`` to :func:`plot_folding_walk` or :func:`plot_prefix_curve`.

    Returns
    -------
    t : (n_points,) float
    patterns : (n_points, n_hidden) bool
        Bit ``z > 0`` of every hidden neuron.

    Examples
    --------
    >>> import polyfold
    >>> from polyfold.plotting import sample_walk
    >>> t, p = sample_walk(polyfold.zoo.sawtooth(2), [0.0], [1.0], 5)
    >>> t.tolist(), p.shape
    ([0.0, 0.25, 0.5, 0.75, 1.0], (5, 4))
    """
    from ._validation import check_positive_int

    n_points = check_positive_int(n_points, "n_points", minimum=2)
    x1 = np.asarray(x1, dtype=np.float64).ravel()
    x2 = np.asarray(x2, dtype=np.float64).ravel()
    t = np.linspace(0.0, 1.0, n_points)
    X = (1.0 - t)[:, None] * x1[None, :] + t[:, None] * x2[None, :]
    return t, net.patterns(X)


def _sampled_prefix(pats):
    d0 = np.count_nonzero(pats != pats[:1], axis=1)
    steps = np.concatenate([[0], np.count_nonzero(pats[1:] != pats[:-1], axis=1)])
    r1 = np.maximum.accumulate(d0)
    r2 = np.cumsum(steps)
    return np.where(r2 > 0, 1.0 - r1 / np.maximum(r2, 1), 0.0)


def plot_folding_walk(result, *, sampled=None, ax=None, breakpoints=True, label="exact walk"):
    """Hamming distance to the start along a path, exact (and sampled) walk.

    Parameters
    ----------
    result : SpaceFolding
        From :func:`polyfold.folding.space_folding` (or ``SpaceFoldingBatch.path(i)``).
    sampled : (t (n,), patterns (n, n_units)), optional
        A sampled walk on the same path, e.g. :func:`sample_walk`; drawn as markers
        joined by a dashed step line (what a grid "sees").
    ax : matplotlib Axes, optional
    breakpoints : bool
        Mark the exact breakpoints with thin vertical lines.
    label : str
        Legend label of the exact walk.

    Returns
    -------
    dict
        ``"exact"`` (the step artist), ``"breakpoints"`` (LineCollection or None),
        ``"sampled"`` (list of artists or None).

    Notes
    -----
    On the exact walk the distance is a step function: constant on every region,
    jumping at each breakpoint by the number of neurons that switch there (in
    either direction).  The walk folds where the curve goes down.
    """
    _check_walk_result(result)
    ax = _get_ax(ax)
    edges = _walk_edges(result)
    d = _hamming_to_start(result.walk)
    exact = ax.stairs(d, edges, baseline=None, color=PALETTE[0], linewidth=1.2, label=label)
    bl = None
    if breakpoints and len(edges) > 2:
        bl = ax.vlines(edges[1:-1], 0, 1, transform=ax.get_xaxis_transform(),
                       colors="0.75", linewidth=0.4, zorder=0)
    samp = None
    if sampled is not None:
        t, pats = _check_sampled(sampled)
        ds = np.count_nonzero(pats != pats[:1], axis=1)
        (line,) = ax.step(t, ds, where="post", linestyle="--", color=PALETTE[3], linewidth=0.9)
        pts = ax.scatter(t, ds, s=10, color=PALETTE[3], zorder=3,
                         label=f"{len(t)}-point grid")
        samp = [line, pts]
    ax.set_xlim(0, 1)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("position t along the path")
    ax.set_ylabel("Hamming distance to start")
    ax.legend(loc="upper left")
    return {"exact": exact, "breakpoints": bl, "sampled": samp}


def plot_prefix_curve(result, *, sampled=None, ax=None, label="exact"):
    """The prefix curve ``chi_j`` of a walk against the position along the path.

    Parameters
    ----------
    result : SpaceFolding
    sampled : (t, patterns), optional
        A sampled walk on the same path (:func:`sample_walk`); its prefix curve is
        drawn at the sample positions.
    ax : matplotlib Axes, optional

    Returns
    -------
    dict
        ``"exact"`` (step artist) and ``"sampled"`` (Line2D or None).
    """
    _check_walk_result(result)
    ax = _get_ax(ax)
    edges = _walk_edges(result)
    chi = np.asarray(result.prefix.chi, dtype=np.float64)
    if len(chi) != len(edges) - 1:
        raise ValidationError(
            f"result.prefix has {len(chi)} values for {len(edges) - 1} regions; pass the "
            "SpaceFolding returned by space_folding."
        )
    exact = ax.stairs(chi, edges, baseline=None, color=PALETTE[0], linewidth=1.2, label=label)
    samp = None
    if sampled is not None:
        t, pats = _check_sampled(sampled)
        (samp,) = ax.step(t, _sampled_prefix(pats), where="post", linestyle="--", marker="o",
                          markersize=2.5, color=PALETTE[3], linewidth=0.9,
                          label=f"{len(t)}-point grid")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("position t along the path")
    ax.set_ylabel(r"prefix folding $\chi_j$")
    ax.legend(loc="upper left")
    return {"exact": exact, "sampled": samp}


def plot_class_pair_heatmap(result, *, ax=None, value="pair_max", annotate=None, cmap=None,
                            colorbar=True):
    """Heat map of a class-pair folding matrix (row = start class, column = end class).

    Parameters
    ----------
    result : ClassPairFolding, ClassPairSweep or (C, C) array_like
        From :func:`polyfold.folding.class_pair_folding` or
        :func:`polyfold.parallel.class_pair_sweep`; an array is drawn as is (labels
        ``0..C-1``).
    value : {"pair_max", "pair_phi", "pair_fraction_flat"}
        Which matrix of a ClassPairFolding to draw.
    annotate : bool, optional
        Write the values in the cells (default: when C <= 10).
    cmap : str or Colormap, optional
        Default ``"cividis"`` (colour-blind safe, monotone in lightness).
    colorbar : bool

    Returns
    -------
    dict
        ``"image"`` (AxesImage), ``"colorbar"`` (or None), ``"texts"`` (list).
    """
    named = hasattr(result, "labels") and (hasattr(result, "pair_max")
                                           or hasattr(result, "pair_matrix"))
    if named:
        stats = {"pair_max": "chi_max", "pair_phi": "phi", "pair_fraction_flat": "fraction_flat"}
        if value not in stats:
            raise ValidationError(
                f"value must be 'pair_max', 'pair_phi' or 'pair_fraction_flat', got {value!r}."
            )
        if hasattr(result, "pair_max"):
            M = np.asarray(getattr(result, value), dtype=np.float64)
        else:  # polyfold.parallel.ClassPairSweep
            M = np.asarray(result.pair_matrix(stats[value]), dtype=np.float64)
        labels = [str(v) for v in np.asarray(result.labels).tolist()]
    else:
        M = np.asarray(result, dtype=np.float64)
        labels = [str(i) for i in range(len(M))]
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] < 2:
        raise ValidationError(f"the folding matrix must be square (C, C) with C >= 2, got {M.shape}.")
    ax = _get_ax(ax)
    masked = np.ma.masked_invalid(M)
    cm = _mpl().colormaps[cmap or "cividis"].with_extremes(bad="0.9")
    finite = M[np.isfinite(M)]
    vmax = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    im = ax.imshow(masked, cmap=cm, vmin=0.0, vmax=vmax, origin="upper")
    C = len(M)
    ax.set_xticks(range(C), labels)
    ax.set_yticks(range(C), labels)
    ax.set_xlabel("end class")
    ax.set_ylabel("start class")
    for sp in ax.spines.values():
        sp.set_visible(False)
    texts = []
    if annotate is None:
        annotate = C <= 10
    if annotate:
        for a in range(C):
            for b in range(C):
                if np.isfinite(M[a, b]):
                    light = M[a, b] > 0.6 * vmax
                    texts.append(ax.text(b, a, f"{M[a, b]:.2f}".lstrip("0") if M[a, b] < 1 else "1",
                                         ha="center", va="center", fontsize="xx-small",
                                         color="black" if light else "white"))
    cb = None
    if colorbar:
        names = {"pair_max": r"max $\chi$ over paths", "pair_phi": r"median non-zero $\chi$",
                 "pair_fraction_flat": "share of flat paths"}
        cb = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        cb.set_label(names.get(value, value) if named else "")
        cb.outline.set_linewidth(0.4)
    return {"image": im, "colorbar": cb, "texts": texts}


def plot_folding_vs_depth(rows, *, ax=None, readings=("pair_max_median", "path_prefix_max_median"),
                          accuracy=True):
    """Global folding against network depth (the TMLR MNIST figure).

    Parameters
    ----------
    rows : sequence of dict
        One per network: ``"depth"`` (number of hidden layers), the reading(s) named
        in ``readings`` (floats or None), optionally ``"test_accuracy"`` and
        ``"label"``.  ``ClassPairFolding.as_dict()`` plus a ``depth`` key works.
    readings : sequence of str
        Which aggregates to draw (see :func:`polyfold.folding.class_pair_folding`).
    accuracy : bool
        Draw the test accuracy on a second y axis (when the rows have it).

    Returns
    -------
    dict
        ``"lines"`` (one per reading), ``"accuracy"`` (Line2D or None), ``"ax2"``.
    """
    rows = sorted(list(rows), key=lambda r: r["depth"])
    if not rows:
        raise ValidationError("rows is empty; pass one dict per network.")
    ax = _get_ax(ax)
    depth = [r["depth"] for r in rows]
    names = {"pair_max_median": "median over pairs of max $\\chi$",
             "path_prefix_max_median": "median over paths of max prefix $\\chi$"}
    lines = []
    for k, key in enumerate(readings):
        v = [np.nan if r.get(key) is None else float(r[key]) for r in rows]
        (ln,) = ax.plot(depth, v, marker="os"[k % 2], color=PALETTE[k], label=names.get(key, key))
        lines.append(ln)
    ax.set_xticks(depth, [r.get("label", str(r["depth"])) for r in rows])
    ax.set_xlabel("architecture (depth x width)")
    ax.set_ylabel(r"global folding")
    ax.set_ylim(bottom=0)
    acc = ax2 = None
    if accuracy and all(r.get("test_accuracy") is not None for r in rows):
        ax2 = ax.twinx()
        ax2.spines["right"].set_visible(True)
        (acc,) = ax2.plot(depth, [r["test_accuracy"] for r in rows], linestyle=":", marker="^",
                          color="0.4", label="test accuracy")
        ax2.set_ylabel("test accuracy")
        ax2.set_ylim(0, 1.02)
        hs = lines + [acc]
        ax.legend(hs, [h.get_label() for h in hs], loc="lower left")
    else:
        ax.legend(loc="lower left")
    return {"lines": lines, "accuracy": acc, "ax2": ax2}


# ---------------------------------------------------------------------------
# slices
# ---------------------------------------------------------------------------
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


# ---------------------------------------------------------------------------
# injectivity
# ---------------------------------------------------------------------------
def plot_maximal_bias(W, certificate, *, ax=None, hyperplanes=True):
    """A maximal-bias certificate on the circle (n = 2) or the sphere (n = 3).

    Each neuron is drawn as its unit direction ``u_i = phi_i / |phi_i|`` with the
    bias as signed radius: the point ``alpha_hat_i u_i``, the foot of the
    hyperplane ``<x, u_i> = alpha_hat_i`` beyond which the neuron is active.  In 2D
    the hyperplanes are drawn as chords of the unit circle.

    Parameters
    ----------
    W : (m, 2) or (m, 3) float
        Layer weights (rows ``phi_i``).
    certificate : BiasCertificate or (m,) float
        From :func:`polyfold.injectivity.maximal_bias` (its ``alpha_hat``), or the
        normalised biases ``alpha_hat`` themselves.
    ax : matplotlib Axes, optional
        A 3D axes for n = 3 (created when omitted).
    hyperplanes : bool
        Draw the chords (2D only).

    Returns
    -------
    dict
        ``"directions"``, ``"biases"`` and (2D) ``"hyperplanes"``, ``"circle"``.
    """
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2 or W.shape[1] not in (2, 3):
        raise ValidationError(
            f"plot_maximal_bias draws layers with 2 or 3 inputs, got W of shape {W.shape}; "
            "use plot_redundancy or a histogram of alpha_hat for larger inputs."
        )
    ah = np.asarray(getattr(certificate, "alpha_hat", certificate), dtype=np.float64).ravel()
    if ah.shape != (W.shape[0],):
        raise ValidationError(
            f"certificate must give one alpha_hat per row of W ({W.shape[0]}), got {ah.shape}."
        )
    norms = np.linalg.norm(W, axis=1)
    if np.any(norms == 0):
        raise ValidationError("W has a zero row; a zero neuron has no direction.")
    U = W / norms[:, None]
    F = ah[:, None] * U
    if W.shape[1] == 2:
        from matplotlib.collections import LineCollection

        ax = _get_ax(ax)
        th = np.linspace(0, 2 * np.pi, 256)
        (circle,) = ax.plot(np.cos(th), np.sin(th), color="0.6", linewidth=0.6)
        dirs = ax.quiver(np.zeros(len(U)), np.zeros(len(U)), U[:, 0], U[:, 1], angles="xy",
                         scale_units="xy", scale=1, width=0.006, color=PALETTE[0], alpha=0.5)
        chords = None
        if hyperplanes:
            segs = []
            for u, a in zip(U, ah):
                if abs(a) < 1:
                    h = np.sqrt(1 - a * a)
                    perp = np.array([-u[1], u[0]])
                    segs.append((a * u - h * perp, a * u + h * perp))
            chords = LineCollection(segs, colors=PALETTE[3], linewidths=0.8)
            ax.add_collection(chords)
        bias = ax.scatter(F[:, 0], F[:, 1], s=8, color=PALETTE[3], zorder=4,
                          label=r"$\hat\alpha_i u_i$")
        ax.set_aspect("equal")
        ax.set_xlim(-1.1, 1.1)
        ax.set_ylim(-1.1, 1.1)
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        return {"directions": dirs, "biases": bias, "hyperplanes": chords, "circle": circle}
    if ax is None:
        ax = _get_ax(None, projection="3d")
    if not hasattr(ax, "zaxis"):
        raise ValidationError("a layer with 3 inputs needs a 3D axes (projection='3d').")
    uu, vv = np.meshgrid(np.linspace(0, 2 * np.pi, 24), np.linspace(0, np.pi, 12))
    sphere = ax.plot_wireframe(np.cos(uu) * np.sin(vv), np.sin(uu) * np.sin(vv), np.cos(vv),
                               color="0.8", linewidth=0.3)
    dirs = [ax.plot([0, u[0]], [0, u[1]], [0, u[2]], color=PALETTE[0], alpha=0.5,
                    linewidth=0.8)[0] for u in U]
    bias = ax.scatter(F[:, 0], F[:, 1], F[:, 2], s=8, color=PALETTE[3], depthshade=False)
    ax.set_box_aspect((1, 1, 1))
    for axis in ("x", "y", "z"):
        getattr(ax, f"set_{axis}ticks")([-1, 0, 1])
        getattr(ax, f"set_{axis}label")(f"${axis}$", labelpad=-8)
    ax.tick_params(pad=-2)
    return {"directions": dirs, "biases": bias, "sphere": sphere}


def plot_redundancy(values, *, dims, redundancies, ax=None, label="", cmap=None, annotate=True,
                    vmin=None, vmax=None):
    """Heat map of a quantity over input dimension ``n`` and redundancy ``m / n``.

    Parameters
    ----------
    values : (len(dims), len(redundancies)) float
        E.g. the share of random layers that are injective, or the mean maximal bias.
    dims : sequence of int
        Input dimensions ``n`` (rows).
    redundancies : sequence of float
        Redundancies ``m / n`` (columns).
    label : str
        Colour-bar label.

    Returns
    -------
    dict
        ``"image"``, ``"colorbar"``, ``"texts"``.
    """
    V = np.asarray(values, dtype=np.float64)
    dims, reds = list(dims), list(redundancies)
    if V.shape != (len(dims), len(reds)):
        raise ValidationError(
            f"values must have shape (len(dims), len(redundancies)) = ({len(dims)}, {len(reds)}), "
            f"got {V.shape}."
        )
    ax = _get_ax(ax)
    cm = _mpl().colormaps[cmap or "cividis"].with_extremes(bad="0.9")
    im = ax.imshow(np.ma.masked_invalid(V), cmap=cm, origin="lower", aspect="auto",
                   vmin=vmin, vmax=vmax)
    ax.set_xticks(range(len(reds)), [f"{r:g}" for r in reds])
    ax.set_yticks(range(len(dims)), [str(d) for d in dims])
    ax.set_xlabel("redundancy m / n")
    ax.set_ylabel("input dimension n")
    for sp in ax.spines.values():
        sp.set_visible(False)
    texts = []
    if annotate:
        lo, hi = np.nanmin(V) if np.isfinite(V).any() else 0, np.nanmax(V) if np.isfinite(V).any() else 1
        for i in range(V.shape[0]):
            for j in range(V.shape[1]):
                if np.isfinite(V[i, j]):
                    light = (V[i, j] - lo) > 0.6 * (hi - lo)
                    texts.append(ax.text(j, i, f"{V[i, j]:.2f}", ha="center", va="center",
                                         fontsize="xx-small", color="black" if light else "white"))
    cb = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cb.set_label(label)
    cb.outline.set_linewidth(0.4)
    return {"image": im, "colorbar": cb, "texts": texts}


# ---------------------------------------------------------------------------
# region statistics
# ---------------------------------------------------------------------------
_HIST_QUANTITIES = {
    "radius": ("insphere radius", lambda s: np.asarray(s.radius)),
    "orthogonality": ("|cos| between facet normals",
                      lambda s: np.concatenate([np.asarray(c, dtype=np.float64).ravel()
                                                for c in s.pair_cosines] or [np.zeros(0)])),
    "cos_mean": ("mean |cos| of facet normals per region", lambda s: np.asarray(s.cos_mean)),
    "n_facets": ("facet-defining hyperplanes", lambda s: np.asarray(s.n_facets)),
    "boundary_distance": ("distance to the decision boundary",
                          lambda s: np.asarray(s.boundary_distance)),
    "depth": ("distance to the nearest neuron hyperplane", lambda s: np.asarray(s.depth)),
}


def plot_histograms(stats, *, quantity="radius", ax=None, bins=None, log=None, density=True):
    """Histograms of a region statistic, one per training setting, overlaid.

    Parameters
    ----------
    stats : dict of str -> RegionStatistics (or array_like)
        Setting name -> :func:`polyfold.statistics.region_statistics` result (or the
        values themselves).
    quantity : {"radius", "orthogonality", "cos_mean", "n_facets", "boundary_distance", "depth"}
        ``"orthogonality"`` pools ``|cos|`` over all pairs of facet normals of all
        regions (0 = orthogonal, 1 = parallel).
    bins : int, optional
        Number of bins shared by all settings (default: about the square root of the
        number of values, between 5 and 30).
    log : bool, optional
        Logarithmic x axis (default for ``"radius"``, ``"boundary_distance"``,
        ``"depth"``).
    density : bool
        Normalise each histogram (settings with different sample counts compare).

    Returns
    -------
    dict
        ``"hists"``: setting -> the step patch list; ``"values"``: setting -> the
        finite values drawn.
    """
    if quantity not in _HIST_QUANTITIES:
        raise ValidationError(
            f"quantity must be one of {', '.join(repr(q) for q in _HIST_QUANTITIES)}, "
            f"got {quantity!r}."
        )
    if not isinstance(stats, dict) or not stats:
        raise ValidationError("stats must be a non-empty dict {setting name: RegionStatistics}.")
    title, get = _HIST_QUANTITIES[quantity]
    if log is None:
        log = quantity in ("radius", "boundary_distance", "depth")
    vals = {}
    for name, s in stats.items():
        v = get(s) if hasattr(s, "radius") else np.asarray(s, dtype=np.float64).ravel()
        v = v[np.isfinite(v)]
        if log:
            v = v[v > 0]
        vals[name] = v
    allv = np.concatenate(list(vals.values())) if vals else np.zeros(0)
    ax = _get_ax(ax)
    if allv.size == 0:
        ax.text(0.5, 0.5, "no finite values", transform=ax.transAxes, ha="center")
        return {"hists": {}, "values": vals}
    if bins is None:
        bins = int(np.clip(np.sqrt(allv.size), 5, 30))
    lo, hi = float(allv.min()), float(allv.max())
    if hi <= lo:
        hi = lo + (abs(lo) if lo else 1.0) * 1e-3 + 1e-12
    edges = np.geomspace(lo, hi, bins + 1) if log else np.linspace(lo, hi, bins + 1)
    hists = {}
    for k, (name, v) in enumerate(vals.items()):
        if v.size == 0:
            continue
        _, _, patches = ax.hist(v, bins=edges, histtype="step", density=density,
                                color=PALETTE[k % len(PALETTE)], linewidth=1.1,
                                label=f"{name} (n={v.size})")
        hists[name] = patches
    if log:
        ax.set_xscale("log")
    ax.set_xlabel(title)
    ax.set_ylabel("density" if density else "count")
    ax.legend()
    return {"hists": hists, "values": vals}
