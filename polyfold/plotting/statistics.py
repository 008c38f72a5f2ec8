"""Figures of region statistics (Zhang & Wu): distributions per training setting."""

import numpy as np

from ..exceptions import ValidationError
from .style import PALETTE, _get_ax

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
