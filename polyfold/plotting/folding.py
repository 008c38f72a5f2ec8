"""Figures of space folding: walks, prefix curves, class-pair heat maps, depth curves."""

import numpy as np

from .._validation import as_float_array, as_item_list
from ..exceptions import ShapeError, ValidationError
from .style import PALETTE, _check_flag, _closing_on_error, _colormap, _get_ax, _new_figure

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


def _check_sampled_for(result, sampled):
    """:func:`_check_sampled`, and the patterns must have the units of ``result``'s
    walk (a sampled walk of another network cannot be compared)."""
    t, pats = _check_sampled(sampled)
    width = np.shape(result.walk)[1] if np.ndim(result.walk) == 2 else None
    if width is not None and pats.shape[1] != width:
        raise ShapeError(
            f"sampled patterns have {pats.shape[1]} units but the walk of result has {width}; "
            "sample the same network and path (sample_walk(net, x1, x2, n_points))."
        )
    return t, pats


def _check_sampled(sampled):
    try:
        t, pats = sampled
    except (TypeError, ValueError) as err:
        raise ValidationError(
            "sampled must be a (t (n,), patterns (n, n_units)) pair, e.g. from "
            "polyfold.plotting.sample_walk(net, x1, x2, n_points)."
        ) from err
    if t is None or pats is None:
        raise ValidationError(
            "sampled must be a (t (n,), patterns (n, n_units)) pair of arrays, got None in it; "
            "make it with polyfold.plotting.sample_walk(net, x1, x2, n_points)."
        )
    t = as_float_array(t, "sampled t")
    pats = as_float_array(pats, "sampled patterns")
    if t.ndim != 1 or pats.ndim != 2 or len(t) != len(pats) or len(t) < 1:
        raise ValidationError(
            f"sampled must pair t of shape (n,) with patterns of shape (n, n_units), got "
            f"{t.shape} and {pats.shape}."
        )
    if np.any(t < 0) or np.any(t > 1):
        raise ValidationError(
            "sampled t must hold positions along the path in [0, 1], got values in "
            f"[{float(t.min())!r}, {float(t.max())!r}]."
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

    Raises
    ------
    ValidationError, ShapeError, NonFiniteError
        ``net`` is not a network, ``x1`` / ``x2`` are not one finite input point of
        the net's input dimension each, or ``n_points`` is not an integer >= 2 (or
        too large for this machine's memory).

    Examples
    --------
    >>> import polyfold
    >>> from polyfold.plotting import sample_walk
    >>> t, p = sample_walk(polyfold.zoo.sawtooth(2), [0.0], [1.0], 5)
    >>> t.tolist(), p.shape
    ([0.0, 0.25, 0.5, 0.75, 1.0], (5, 4))
    """
    from .._validation import check_grid_points, net_points
    from ..network import check_net

    check_net(net)
    ends = []
    for name, x in (("x1", x1), ("x2", x2)):
        if x is None:
            raise ValidationError(f"{name} must be one input point, got None.")
        p, _ = net_points(net, x, name)
        if len(p) != 1:
            raise ShapeError(
                f"{name} must be one input point (the end of the path), got {len(p)} points."
            )
        ends.append(p[0])
    x1, x2 = ends
    n_points = check_grid_points(n_points, net.input_dim + net.n_hidden)
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
    from matplotlib.ticker import MaxNLocator

    _check_walk_result(result)
    _check_flag(breakpoints, "breakpoints")
    ax = _get_ax(ax)
    edges = _walk_edges(result)
    d = _hamming_to_start(result.walk)
    exact = ax.stairs(d, edges, baseline=None, color=PALETTE[0], linewidth=1.2, label=label)
    bl = None
    if breakpoints and len(edges) > 2:
        bl = ax.vlines(edges[1:-1], 0, 1, transform=ax.get_xaxis_transform(),
                       colors="0.75", linewidth=0.4, zorder=0,
                       label=f"exact breakpoints ({len(edges) - 2})")
    samp = None
    top = int(d.max(initial=0))
    if sampled is not None:
        t, pats = _check_sampled_for(result, sampled)
        ds = np.count_nonzero(pats != pats[:1], axis=1)
        top = max(top, int(ds.max(initial=0)))
        (line,) = ax.step(t, ds, where="post", linestyle="--", color=PALETTE[3], linewidth=0.9,
                          label=f"{len(t)}-point grid")
        pts = ax.scatter(t, ds, s=10, color=PALETTE[3], zorder=3)
        samp = [line, pts]
    ax.set_xlim(0, 1)
    # integer distances: fit the data with a little head room for the legend
    ax.set_ylim(-0.02 * max(top, 1), top + max(1.0, 0.35 * top))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
    ax.set_xlabel("position t along the path")
    ax.set_ylabel("Hamming distance to start")
    ax.legend(loc="upper left", ncol=3 if bl is not None and samp is not None else 2,
              fontsize="x-small", handlelength=1.5, columnspacing=1.0)
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
    top = float(np.max(chi, initial=0.0))
    if sampled is not None:
        t, pats = _check_sampled_for(result, sampled)
        sp = _sampled_prefix(pats)
        top = max(top, float(np.max(sp, initial=0.0)))
        (samp,) = ax.step(t, sp, where="post", linestyle="--", marker="o",
                          markersize=2.5, color=PALETTE[3], linewidth=0.9,
                          label=f"{len(t)}-point grid")
    ax.set_xlim(0, 1)
    # chi lies in [0, 1]: fit the range of the data (at least 0.1 tall), head room
    # for the legend
    hi = min(1.05, max(0.1, 1.4 * top))
    ax.set_ylim(-0.02 * hi, hi)
    ax.set_xlabel("position t along the path")
    ax.set_ylabel(r"prefix folding $\chi_j$")
    ax.legend(loc="upper left", ncol=2, fontsize="x-small", handlelength=1.5)
    if top == 0:
        ax.text(0.98, 0.5, r"$\chi_j = 0$ on the whole path (no fold)", transform=ax.transAxes,
                ha="right", va="center", fontsize="x-small", color="0.3")
    return {"exact": exact, "sampled": samp}


def folding_walk_figure(result, *, sampled=None, title=None, figsize=(3.4, 3.8)):
    """Two panels sharing the path axis: the walk's Hamming distance and its prefix curve.

    Parameters
    ----------
    result : SpaceFolding
    sampled : (t, patterns), optional
        A sampled walk on the same path (:func:`sample_walk`).
    title : str, optional
        Title of the top panel (say what the path's end points are, e.g. "from a
        test image of class 7 to one of class 3").
    figsize : (float, float)

    Returns
    -------
    fig : matplotlib Figure
    axes : list of 2 Axes
    """
    fig = _new_figure(figsize)
    with _closing_on_error(fig):
        axes = fig.subplots(2, 1, sharex=True)
        plot_folding_walk(result, sampled=sampled, ax=axes[0])
        plot_prefix_curve(result, sampled=sampled, ax=axes[1])
        axes[0].set_xlabel("")
        if title:
            axes[0].set_title(title, fontsize="medium")
        fig.tight_layout()
    return fig, list(axes)


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
    stats = {"pair_max": "chi_max", "pair_phi": "phi", "pair_fraction_flat": "fraction_flat"}
    if value not in stats:
        raise ValidationError(
            f"value must be 'pair_max', 'pair_phi' or 'pair_fraction_flat', got {value!r}."
        )
    _check_flag(annotate, "annotate", allow_none=True)
    _check_flag(colorbar, "colorbar")
    if named:
        if hasattr(result, "pair_max"):
            M = np.asarray(getattr(result, value), dtype=np.float64)
        else:  # polyfold.parallel.ClassPairSweep
            M = np.asarray(result.pair_matrix(stats[value]), dtype=np.float64)
        labels = [str(v) for v in np.asarray(result.labels).tolist()]
    else:
        if result is None or isinstance(result, dict):
            raise ValidationError(
                "result must be a ClassPairFolding, a ClassPairSweep or a (C, C) array, got "
                f"{type(result).__name__}."
            )
        M = as_float_array(result, "result", finite=False)
        labels = [str(i) for i in range(len(M))] if M.ndim else []
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] < 2:
        raise ValidationError(f"the folding matrix must be square (C, C) with C >= 2, got {M.shape}.")
    if np.any(np.isinf(M)):
        i, j = (int(v) for v in np.argwhere(np.isinf(M))[0])
        raise ValidationError(
            f"the folding matrix holds infinity at [{i}, {j}]; folding values lie in [0, 1] "
            "(NaN marks a missing pair and is drawn grey)."
        )
    ax = _get_ax(ax)
    masked = np.ma.masked_invalid(M)
    cm = _colormap(cmap, "cividis").with_extremes(bad="0.9")
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
    import numbers

    rows = as_item_list(rows, "rows", "dicts (one per network)", "pass one dict per network")
    if isinstance(readings, str):
        readings = (readings,)
    if readings is None or not hasattr(readings, "__iter__") or not all(
            isinstance(k, str) for k in readings):
        raise ValidationError(
            f"readings must be a sequence of key names such as ('pair_max_median',), got "
            f"{readings!r}."
        )
    readings = list(readings)
    _check_flag(accuracy, "accuracy")
    for i, r in enumerate(rows):
        if not isinstance(r, dict):
            raise ValidationError(f"rows[{i}] must be a dict, got {type(r).__name__}.")
        dep = r.get("depth")
        if isinstance(dep, bool) or not isinstance(dep, numbers.Real) or not np.isfinite(dep):
            raise ValidationError(
                f"rows[{i}] needs a numeric 'depth' (number of hidden layers), got {dep!r}."
            )
        for key in readings + ["test_accuracy"]:
            v = r.get(key)
            if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Real)):
                raise ValidationError(
                    f"rows[{i}][{key!r}] must be a number or None, got {v!r}."
                )
    rows = sorted(rows, key=lambda r: r["depth"])
    ax = _get_ax(ax)
    depth = [r["depth"] for r in rows]
    names = {"pair_max_median": "median over pairs of max $\\chi$",
             "path_prefix_max_median": "median over paths of max prefix $\\chi$"}
    lines = []
    for k, key in enumerate(readings):
        v = [np.nan if r.get(key) is None else float(r[key]) for r in rows]
        (ln,) = ax.plot(depth, v, marker="os"[k % 2], color=PALETTE[k % len(PALETTE)],
                        label=names.get(key, key))
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
