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

    Parameters
    ----------
    fig : matplotlib Figure
    directory : str or Path
        Folder of the files; created (with its missing parents) when missing.
    name : str
        File name without extension (no folder separators).
    formats : str or sequence of str
        Formats matplotlib can write (``"png"``, ``"pdf"``, ``"svg"``, ...).

    Returns
    -------
    list of Path

    Raises
    ------
    ValidationError
        ``fig`` is not a Figure, ``directory`` is not a folder name (or is a file, or
        cannot be created), ``name`` is empty or holds a separator, or a format is
        unknown to matplotlib; checked before any file is written.
    """
    import os

    from .._validation import check_path

    _mpl()
    from matplotlib.figure import Figure

    if not isinstance(fig, Figure):
        raise ValidationError(
            f"fig must be a matplotlib Figure, got {type(fig).__name__}; for an Axes pass "
            "ax.figure."
        )
    if directory is None:
        raise ValidationError("directory must be a folder name (a str or pathlib.Path), got None.")
    directory = check_path(directory, "directory")
    if directory.exists() and not directory.is_dir():
        raise ValidationError(
            f"directory {str(directory)!r} is a file, not a folder; give a folder name."
        )
    if (not isinstance(name, str) or not name or "/" in name or os.sep in name
            or name in (".", "..")):
        raise ValidationError(
            f"name must be a non-empty file name without folders or extension, got {name!r}; "
            "put folders into directory=."
        )
    if isinstance(formats, str):
        formats = (formats,)
    if formats is None or not hasattr(formats, "__iter__"):
        raise ValidationError(f"formats must be a format or a sequence of formats such as "
                              f"('png', 'pdf'), got {formats!r}.")
    formats = list(formats)
    supported = fig.canvas.get_supported_filetypes()
    if not formats:
        raise ValidationError("formats is empty; pass at least one, e.g. formats=('png',).")
    for fmt in formats:
        if not isinstance(fmt, str) or fmt.lower().lstrip(".") not in supported:
            raise ValidationError(
                f"format {fmt!r} is not one matplotlib can write; use one of "
                f"{', '.join(sorted(supported))}."
            )
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as err:  # a file on the way, no permission, ...
        raise ValidationError(f"directory {str(directory)!r} cannot be created: {err}.") from err
    paths = []
    for fmt in formats:
        fmt = fmt.lower().lstrip(".")
        p = directory / f"{name}.{fmt}"
        fig.savefig(p, format=fmt)
        paths.append(p)
    return paths


def _check_figsize(figsize, name="figsize"):
    """``figsize`` as a pair of positive finite floats (inches), or None."""
    if figsize is None:
        return None
    try:
        w, h = (float(v) for v in figsize)
        good = not isinstance(figsize, (str, bytes)) and all(
            not isinstance(v, (bool, np.bool_)) for v in figsize)
    except (TypeError, ValueError):
        good = False
    if not good or not (np.isfinite(w) and np.isfinite(h) and w > 0 and h > 0):
        raise ValidationError(
            f"{name} must be a (width, height) pair of positive numbers (inches), got "
            f"{figsize!r}; e.g. {name}=(3.4, 2.5)."
        )
    return (w, h)


def _check_flag(value, name, allow_none=False):
    """``value`` if it is a bool (or None when ``allow_none``), else a ValidationError."""
    if allow_none and value is None:
        return None
    if not isinstance(value, (bool, np.bool_)):
        raise ValidationError(
            f"{name} must be True or False{' or None' if allow_none else ''}, got {value!r}."
        )
    return bool(value)


def _colormap(cmap, default, name="cmap"):
    """The matplotlib colormap ``cmap`` (a name or a Colormap; None: ``default``)."""
    mpl = _mpl()
    from matplotlib.colors import Colormap

    if cmap is None:
        cmap = default
    if isinstance(cmap, Colormap):
        return cmap
    if not isinstance(cmap, str) or cmap not in mpl.colormaps:
        raise ValidationError(
            f"{name} must be a matplotlib colormap or its name (e.g. 'cividis', 'viridis', "
            f"'tab10'), got {cmap!r}."
        )
    return mpl.colormaps[cmap]


def _get_ax(ax, figsize=None, projection=None):
    if ax is not None:
        _mpl()
        from matplotlib.axes import Axes

        if not isinstance(ax, Axes):
            raise ValidationError(
                f"ax must be a matplotlib Axes (e.g. from plt.subplots()) or None, got "
                f"{type(ax).__name__}."
            )
        return ax
    plt = _pyplot()
    fig = plt.figure(figsize=_check_figsize(figsize))
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


@contextlib.contextmanager
def _closing_on_error(fig):
    """Close ``fig`` (a composed figure) when drawing into it raises: a bad
    argument leaves no half-drawn figure open in pyplot."""
    try:
        yield fig
    except BaseException:
        _pyplot().close(fig)
        raise


def _new_figure(figsize, **kwargs):
    return _pyplot().figure(figsize=_check_figsize(figsize), **kwargs)


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
