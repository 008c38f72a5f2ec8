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
    "plot_sampling_comparison",
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
    list of Line2D
        One line per network.
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
    return lines
