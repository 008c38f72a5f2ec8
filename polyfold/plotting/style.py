"""Common parts of the polyfold figures: the paper style, the palette, saving.

:func:`paper_style` (a context manager), :data:`PALETTE` (Okabe & Ito),
:func:`save_figure`, and the private helpers every plot module uses (lazy
matplotlib imports with an actionable error, a new axes when none is given).
"""

import contextlib
from pathlib import Path

import numpy as np

from ..exceptions import DependencyError, ValidationError

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
