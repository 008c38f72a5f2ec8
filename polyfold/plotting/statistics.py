"""Figures of region statistics (Zhang & Wu): distributions per training setting.

:func:`plot_distributions` (box plot with every value as a dot, readable with a
few dozen samples per setting), :func:`region_statistics_figure` (panels of it)
and :func:`plot_histograms` (overlaid step histograms, for many samples).
"""

import numpy as np

from .._validation import as_float_array, check_positive_int
from ..exceptions import ValidationError
from .style import PALETTE, _check_flag, _closing_on_error, _fit_xticks, _get_ax, _new_figure

#: most bins :func:`plot_histograms` draws (more than a figure has pixels)
_MAX_BINS = 10_000

_HIST_QUANTITIES = {
    "radius": ("insphere radius", lambda s: np.asarray(s.radius)),
    "orthogonality": ("|cos| between facet normals",
                      lambda s: np.concatenate([np.asarray(c, dtype=np.float64).ravel()
                                                for c in s.pair_cosines] or [np.zeros(0)])),
    "cos_mean": ("mean |cos| of facet normals", lambda s: np.asarray(s.cos_mean)),
    "n_facets": ("neuron facets per region", lambda s: np.asarray(s.n_facets, dtype=np.float64)),
    "boundary_distance": ("distance to the decision boundary",
                          lambda s: np.asarray(s.boundary_distance)),
    "depth": ("distance to the nearest neuron hyperplane", lambda s: np.asarray(s.depth)),
}


def _values(stats, quantity):
    if quantity not in _HIST_QUANTITIES:
        raise ValidationError(
            f"quantity must be one of {', '.join(repr(q) for q in _HIST_QUANTITIES)}, "
            f"got {quantity!r}."
        )
    if not isinstance(stats, dict) or not stats:
        raise ValidationError("stats must be a non-empty dict {setting name: RegionStatistics}.")
    title, get = _HIST_QUANTITIES[quantity]
    vals = {}
    for name, s in stats.items():
        if hasattr(s, "radius"):
            v = get(s)
        elif s is None:
            raise ValidationError(
                f"stats[{name!r}] must be a RegionStatistics or an array of values, got None."
            )
        else:  # NaN / inf (missing values) are dropped, as for RegionStatistics
            v = as_float_array(s, f"stats[{name!r}]", finite=False).ravel()
        vals[str(name)] = v[np.isfinite(v)]
    return title, vals


def _log_ticks(axis):
    """Readable ticks on a log axis: 1-2-5 steps, plain numbers, no minor labels."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


#: dots drawn per setting at most by :func:`plot_distributions` (a fixed subsample)
_MAX_DOTS = 300


def plot_distributions(stats, *, quantity="radius", ax=None, log=None, dots=True, label=None):
    """Box plot of a region statistic per setting, with every value as a dot.

    Reads with a few dozen values per setting (25 regions per network in the
    demo), where density histograms are mostly noise.

    Parameters
    ----------
    stats : dict of str -> RegionStatistics (or array_like)
        Setting name -> :func:`polyfold.statistics.region_statistics` result, or
        the values themselves (e.g. one summary value per training seed).
    quantity : {"radius", "orthogonality", "cos_mean", "n_facets", "boundary_distance", "depth"}
        Ignored for arrays (give ``label``).
    log : bool, optional
        Logarithmic value axis (default for ``"radius"``, ``"boundary_distance"``,
        ``"depth"``); 1-2-5 ticks, plain numbers.
    dots : bool
        Draw the values as jittered dots (a fixed subsample of at most 300 per
        setting when there are more).
    label : str, optional
        Value-axis label (default: the quantity's name).

    Returns
    -------
    dict
        ``"boxes"`` (the ``boxplot`` dict), ``"dots"`` (list of PathCollection),
        ``"values"``: setting -> the finite values drawn.

    Examples
    --------
    >>> from polyfold.plotting import plot_distributions
    >>> art = plot_distributions({"a": [1.0, 2.0, 3.0], "b": [2.0, 4.0]}, label="x")
    >>> len(art["boxes"]["boxes"]), [len(v) for v in art["values"].values()]
    (2, [3, 2])
    """
    arrays = all(not hasattr(s, "radius") for s in (stats.values() if isinstance(stats, dict)
                                                     else []))
    title, vals = _values(stats, quantity if not arrays else "radius")
    if arrays:
        title = label or ""
    _check_flag(log, "log", allow_none=True)
    _check_flag(dots, "dots")
    if label is not None and not isinstance(label, str):
        raise ValidationError(f"label must be a string or None, got {label!r}.")
    if log is None:
        log = (not arrays) and quantity in ("radius", "boundary_distance", "depth")
    if log:
        had = any(v.size for v in vals.values())
        vals = {k: v[v > 0] for k, v in vals.items()}
        if had and not any(v.size for v in vals.values()):
            raise ValidationError(
                "no value is > 0, so none can be drawn on a log axis; pass log=False."
            )
    ax = _get_ax(ax)
    names = list(vals)
    data = [vals[k] if vals[k].size else np.array([np.nan]) for k in names]
    boxes = ax.boxplot(data, widths=0.55, showfliers=False, patch_artist=True,
                       medianprops={"color": "black", "linewidth": 1.0},
                       boxprops={"facecolor": "none", "linewidth": 0.8},
                       whiskerprops={"linewidth": 0.8}, capprops={"linewidth": 0.8})
    dot_arts = []
    if dots:
        rng = np.random.default_rng(0)
        for k, v in enumerate(data):
            v = v[np.isfinite(v)]
            if v.size > _MAX_DOTS:
                v = rng.choice(v, _MAX_DOTS, replace=False)
            x = k + 1 + rng.uniform(-0.15, 0.15, v.size)
            dot_arts.append(ax.scatter(x, v, s=7, color=PALETTE[k % len(PALETTE)], alpha=0.7,
                                       linewidths=0, zorder=3))
    if log:
        ax.set_yscale("log")
        _log_ticks(ax.yaxis)
    ax.set_ylabel(label or title)
    _fit_xticks(ax, range(1, len(names) + 1), names, [f"(n={vals[k].size})" for k in names])
    return {"boxes": boxes, "dots": dot_arts, "values": vals}


def region_statistics_figure(stats, *, quantities=("radius", "cos_mean", "n_facets"),
                             figsize=None):
    """Panels of :func:`plot_distributions`, one per statistic, settings side by side.

    Parameters
    ----------
    stats : dict of str -> RegionStatistics
    quantities : sequence of str
        Keys of :func:`plot_distributions`.
    figsize : (float, float), optional
        Default ``(2.3 * len(quantities), 2.6)``.

    Returns
    -------
    fig : matplotlib Figure
    axes : list of Axes
    """
    if isinstance(quantities, str):
        quantities = (quantities,)
    if quantities is None or not hasattr(quantities, "__iter__"):
        raise ValidationError(
            f"quantities must be a sequence of statistic names such as ('radius',), got "
            f"{quantities!r}."
        )
    quantities = list(quantities)
    if not quantities:
        raise ValidationError("quantities is empty; name at least one statistic, e.g. 'radius'.")
    fig = _new_figure(figsize or (2.3 * len(quantities), 2.6))
    with _closing_on_error(fig):
        axes = np.atleast_1d(fig.subplots(1, len(quantities))).tolist()
        for ax, q in zip(axes, quantities):
            plot_distributions(stats, quantity=q, ax=ax)
            ax.set_title(_HIST_QUANTITIES[q][0], fontsize="small")
            ax.set_ylabel("")
        fig.tight_layout()
    return fig, axes


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
    title, vals = _values(stats, quantity)
    _check_flag(log, "log", allow_none=True)
    _check_flag(density, "density")
    if bins is not None:
        bins = check_positive_int(bins, "bins")
        if bins > _MAX_BINS:
            raise ValidationError(
                f"bins must be at most {_MAX_BINS} (more bins than a figure has pixels), got "
                f"{bins}."
            )
    if log is None:
        log = quantity in ("radius", "boundary_distance", "depth")
    if log:
        vals = {k: v[v > 0] for k, v in vals.items()}
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
        _log_ticks(ax.xaxis)
    ax.set_xlabel(title)
    ax.set_ylabel("density" if density else "count")
    ax.legend()
    return {"hists": hists, "values": vals}
