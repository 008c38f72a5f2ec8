"""Figure of exact crossings against grid sampling: :func:`plot_sampling_comparison`."""

import numbers

import numpy as np

from .._validation import as_item_list
from ..exceptions import ValidationError
from .style import _get_ax

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
        Values are numbers >= 0; None (and a ratio of 0, which a log axis cannot
        show) leaves a gap in the line.

    Raises
    ------
    ValidationError
        ``rows`` is not a non-empty sequence of such dicts, an entry lacks
        ``n_points`` or ``quantity``, ``n_points`` is not a positive number or a value
        is negative, NaN or not a number (the message names the entry).

    Returns
    -------
    dict
        ``{"lines": [Line2D, ...]}``, one line per network.
    """
    if quantity not in ("fraction_missed", "ratio"):
        raise ValidationError(
            f"quantity must be 'fraction_missed' or 'ratio', got {quantity!r}."
        )
    rows = as_item_list(rows, "rows", "dicts (one per network)", "pass at least one network's comparison")
    data = []
    for k, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValidationError(
                f"rows[{k}] must be a dict {{'net': name, 'sampling': [...]}}, got "
                f"{type(row).__name__}."
            )
        samp = row.get("sampling") or []
        if isinstance(samp, (str, bytes, dict)) or not hasattr(samp, "__iter__"):
            raise ValidationError(
                f"rows[{k}]['sampling'] must be a list of dicts, got {type(samp).__name__}."
            )
        n, v = [], []
        for j, s in enumerate(samp):
            where = f"rows[{k}]['sampling'][{j}]"
            if not isinstance(s, dict) or "n_points" not in s or quantity not in s:
                raise ValidationError(
                    f"{where} must be a dict with 'n_points' and {quantity!r}, got {s!r}."
                )
            npt, val = s["n_points"], s[quantity]
            if isinstance(npt, bool) or not isinstance(npt, numbers.Real) or not npt > 0:
                raise ValidationError(
                    f"{where}['n_points'] must be a positive number (a log axis), got {npt!r}."
                )
            if val is None:  # not measured (e.g. an exact time of 0): a gap in the line
                val = np.nan
            elif isinstance(val, bool) or not isinstance(val, numbers.Real) or not np.isfinite(
                    val) or val < 0:
                raise ValidationError(
                    f"{where}[{quantity!r}] must be a finite number >= 0 or None, got {val!r}."
                )
            elif quantity == "ratio" and val == 0:  # a timer reading of 0: no point on a log axis
                val = np.nan
            n.append(npt)
            v.append(val)
        data.append((row, n, v))
    ax = _get_ax(ax)
    markers = "osD^vP*X"
    lines = []
    for k, (row, n, v) in enumerate(data):
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
