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


def _text_colour(rgba):
    """Black or white, whichever reads better on a cell of colour ``rgba``.

    Picks the higher WCAG contrast ratio from the relative luminance ``L`` of the
    cell: black when ``(L + 0.05) / 0.05 > 1.05 / (L + 0.05)``.
    """
    r, g, b = _mpl().colors.to_rgb(rgba)

    def lin(c):
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    lum = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
    return "black" if (lum + 0.05) / 0.05 > 1.05 / (lum + 0.05) else "white"


def _new_figure(figsize, **kwargs):
    return _pyplot().figure(figsize=figsize, **kwargs)


def _wrap_label(text, width=10):
    """Break a tick label at underscores and spaces into lines of about ``width``."""
    words = str(text).replace("_", " ").split(" ")
    lines, cur = [], ""
    for w in words:
        if cur and len(cur) + 1 + len(w) > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}" if cur else w
    lines.append(cur)
    return "\n".join(lines)


def _xticks_clash(ax):
    ax.figure.canvas.draw()
    labels = [t for t in ax.get_xticklabels() if t.get_visible() and t.get_text().strip()]
    boxes = [t.get_window_extent() for t in labels]
    return any(boxes[i].x1 > boxes[i + 1].x0 for i in range(len(boxes) - 1))


def _fit_xticks(ax, positions, names, suffixes=None):
    """Horizontal x tick labels that do not overlap: wrap narrower, then shrink the font.

    ``names`` are wrapped at underscores and spaces (lines of 10, 7, then 5
    characters); when they still collide once drawn, the font shrinks (down to
    60 %).  ``suffixes`` (optional) are added as a last line (e.g. ``(n=25)``).
    """
    suffixes = suffixes or [""] * len(names)
    size = None
    for width in (10, 7, 5):
        text = [_wrap_label(n, width) + (f"\n{s}" if s else "") for n, s in zip(names, suffixes)]
        ax.set_xticks(positions, text)
        if not _xticks_clash(ax):
            return
    size = ax.get_xticklabels()[0].get_fontsize() if len(names) else 8
    for f in (0.85, 0.7, 0.6):
        for t in ax.get_xticklabels():
            t.set_fontsize(size * f)
        if not _xticks_clash(ax):
            return
