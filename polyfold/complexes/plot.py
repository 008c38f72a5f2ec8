"""3D figures of cell complexes (matplotlib): the decision boundary surface and the
complex's edges."""

import numbers

import numpy as np

from ..exceptions import DependencyError, ValidationError


def _check_real(value, name, lo=-np.inf, hi=np.inf, hint=""):
    """``value`` as a finite float in ``[lo, hi]`` (bools and non-numbers refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) \
            or not np.isfinite(value) or not lo <= value <= hi:
        raise ValidationError(f"{name} must be a finite number{hint}, got {value!r}.")
    return float(value)


def _check_arguments(cx, ax, surface, edges, surface_color, edge_color, alpha, linewidth,
                     elev, azim):
    from matplotlib.colors import is_color_like

    from .result import CellComplex

    if not isinstance(cx, CellComplex):
        raise ValidationError(
            f"cx must be a CellComplex (from box_complex, polytope_complex or space_complex), "
            f"got {type(cx).__name__}."
        )
    if ax is not None and not (hasattr(ax, "add_collection3d") and hasattr(ax, "set_zlim")):
        raise ValidationError(
            f"ax must be a matplotlib 3D Axes (fig.add_subplot(projection='3d')) or None, got "
            f"{type(ax).__name__}."
        )
    for name, flag in (("surface", surface), ("edges", edges)):
        if not isinstance(flag, (bool, np.bool_)):
            raise ValidationError(f"{name} must be True or False, got {flag!r}.")
    for name, colour in (("surface_color", surface_color), ("edge_color", edge_color)):
        if (colour is not None or name == "edge_color") and (
                isinstance(colour, (bool, np.bool_)) or not is_color_like(colour)):
            raise ValidationError(
                f"{name} must be a matplotlib colour such as 'k', '0.35', 'tab:blue' or "
                f"(0.2, 0.4, 0.6), got {colour!r}"
                + ("; leave surface_color=None to colour by class pair." if name == "surface_color" else ".")
            )
    _check_real(alpha, "alpha", 0.0, 1.0, " in [0, 1] (the surface's opacity)")
    _check_real(linewidth, "linewidth", 0.0, hint=" >= 0 (points)")
    _check_real(elev, "elev", hint=" (degrees)")
    _check_real(azim, "azim", hint=" (degrees)")


def plot_complex_3d(cx, *, ax=None, surface=True, edges=True, surface_color=None,
                    edge_color="0.35", alpha=0.6, linewidth=0.4, elev=22, azim=-60):
    """Draw a 3D complex: its decision boundary surface and/or its bounded edges.

    Parameters
    ----------
    cx : CellComplex
        Input dimension 3.
    ax : matplotlib 3D Axes, optional
        Created (``projection="3d"``) when None.
    surface : bool
        Draw the decision boundary polygons (coloured by the pair of classes).
    edges : bool
        Draw the bounded edges of the complex.
    surface_color : color, optional
        One colour for all boundary polygons (default: by class pair).
    edge_color : color
    alpha : float
        Opacity of the surface.
    linewidth : float
    elev, azim : float
        View angles.

    Returns
    -------
    dict
        ``"ax"``, and the artists ``"surface"`` (Poly3DCollection or None) and
        ``"edges"`` (Line3DCollection or None).

    Raises
    ------
    ValidationError
        If ``cx`` is not a :class:`~polyfold.complexes.CellComplex` or not
        three-dimensional, ``ax`` is not a 3D Axes, ``surface`` / ``edges`` are not
        bools, a colour is not a matplotlib colour, ``alpha`` lies outside [0, 1],
        ``linewidth`` is negative or an angle is not a finite number.
    DependencyError
        If matplotlib is missing.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from polyfold import zoo
    >>> from polyfold.complexes import box_complex
    >>> cx = box_complex(zoo.random_mlp([6, 6], 3, 1, seed=2), -1, 1)
    >>> out = plot_complex_3d(cx)
    >>> sorted(out)
    ['ax', 'edges', 'surface']
    """
    try:
        import matplotlib.pyplot as plt
        from mpl_toolkits.mplot3d.art3d import Line3DCollection, Poly3DCollection
    except ImportError as err:  # pragma: no cover - matplotlib is a dependency
        raise DependencyError("plot_complex_3d requires matplotlib: pip install matplotlib") from err
    _check_arguments(cx, ax, surface, edges, surface_color, edge_color, alpha, linewidth,
                     elev, azim)
    if cx.dim != 3:
        raise ValidationError(
            f"plot_complex_3d draws 3D complexes, got input dimension {cx.dim}; use "
            "polyfold.plotting.plot_slice for a 2D slice."
        )
    if ax is None:
        fig = plt.figure(figsize=(6.4, 5.6))
        ax = fig.add_subplot(projection="3d")
    out = {"ax": ax, "surface": None, "edges": None}
    V = cx.vertices
    if edges:
        E = cx.edges
        segs = V[E]
        lc = Line3DCollection(segs, colors=edge_color, linewidths=linewidth)
        ax.add_collection3d(lc)
        out["edges"] = lc
    if surface:
        from .export import _polygons

        Vb, polys, classes = _polygons(cx, "boundary")
        if polys:
            if surface_color is None:
                import matplotlib as mpl

                cmap = mpl.colormaps["tab10"]
                keys = {tuple(c) for c in classes.tolist()}
                order = {k: i for i, k in enumerate(sorted(keys))}
                colors = [cmap(order[tuple(c)] % 10) for c in classes.tolist()]
            else:
                colors = surface_color
            pc = Poly3DCollection([Vb[p] for p in polys], facecolors=colors, edgecolors="k",
                                  linewidths=0.15, alpha=alpha)
            ax.add_collection3d(pc)
            out["surface"] = pc
    if len(V):
        lo, hi = V.min(axis=0), V.max(axis=0)
        ax.set_xlim(lo[0], hi[0])
        ax.set_ylim(lo[1], hi[1])
        ax.set_zlim(lo[2], hi[2])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    ax.set_zlabel("$x_3$")
    ax.view_init(elev=elev, azim=azim)
    try:
        ax.set_box_aspect((1, 1, 1))
    except Exception:  # noqa: BLE001 - older matplotlib
        pass
    return out
