"""Figure of exact crossings against grid sampling: :func:`plot_sampling_comparison`."""

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
