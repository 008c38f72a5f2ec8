"""Region complexes of 2D slices: :func:`slice_complex` and :func:`slice_through`.

Builds the initial polygon of the slice, runs the splitting engine
(:mod:`._engine`, with the exact fallback of :mod:`._exact` in certified mode)
and assembles the :class:`~polyfold.slices.RegionComplex` with areas (shoelace
formula) and interior points.  Part of :mod:`polyfold.slices`, which re-exports
the public names.
"""

import numpy as np

from .. import arith
from .._validation import as_float_array, check_mode
from ..exceptions import DegenerateInputError, ShapeError, ValidationError
from ..network import check_net as _check_net
from ..tolerance import get_tol
from ._domain import _check_plane, _domain_polygon, check_planar_input
from ._engine import (
    _cell_index,
    _Chords,
    _concat_flat,
    _first_layer_map,
    _flatten,
    _initial_state,
    _next_index,
    _run,
)
from ._exact import _make_recompute, _NeedExact
from .result import RegionComplex


def _cell_frames(P, off):
    """Per vertex row: its cell, the cell's first vertex, and the vertex relative to it
    in units of a power of two per cell ``2^e`` (exact scaling: no overflow of the
    products for coordinates up to float64's range, less cancellation far from 0)."""
    cell = _cell_index(off)
    base = P[off[:-1]][cell]
    D = P - base
    m = np.zeros(len(off) - 1)
    np.maximum.at(m, cell, np.abs(D).max(axis=1) if len(D) else np.zeros(0))
    e = np.frexp(m)[1]
    return cell, base, np.ldexp(D, -e[cell][:, None]), e


def _shoelace(P, off, exact):
    nxt = _next_index(off)
    if exact:
        cr = P[:, 0] * P[nxt, 1] - P[nxt, 0] * P[:, 1]
        out = np.empty(len(off) - 1, dtype=object)
        for i in range(len(off) - 1):
            s = arith.ZERO
            for v in cr[off[i] : off[i + 1]]:
                s += v
            out[i] = s / 2
        return out
    cell, _, D, e = _cell_frames(P, off)
    cr = D[:, 0] * D[nxt, 1] - D[nxt, 0] * D[:, 1]
    return np.ldexp(np.bincount(cell, weights=cr, minlength=len(off) - 1) / 2, 2 * e)


def _centroids(P, off, exact):
    counts = np.diff(off)
    if exact:
        out = np.empty((len(counts), 2), dtype=object)
        for i in range(len(counts)):
            rows = P[off[i] : off[i + 1]]
            out[i, 0] = sum(rows[:, 0], arith.ZERO) / int(counts[i])
            out[i, 1] = sum(rows[:, 1], arith.ZERO) / int(counts[i])
        return out
    cell, base, D, e = _cell_frames(P, off)
    mu = np.bincount(cell, weights=D[:, 0], minlength=len(counts))
    mv = np.bincount(cell, weights=D[:, 1], minlength=len(counts))
    mean = np.ldexp(np.stack([mu, mv], axis=1) / counts[:, None], e[:, None])
    return P[off[:-1]] + mean


def _slice_states(net, x0, e1, e2, P0, mode, tol):
    """Run the engine; returns (final state, recomputed count)."""
    exact = mode == "exact"
    certified = mode == "certified"
    ctx = {
        "exact": exact, "certified": certified, "tol": tol, "safety": tol.safety,
        "offsets": net.layer_offsets, "plane": (x0, e1, e2),
    }
    G1, g1 = _first_layer_map(net, x0, e1, e2, exact)
    chords = _Chords()
    starts = [[] for _ in range(net.depth + 1)]
    st = _initial_state(net, P0, G1, g1, ctx)
    counter = [0]
    recompute = None
    if not exact:  # certified: undecided bounds; float: values inside the band
        ctx_exact = dict(ctx, exact=True, certified=False)
        first_exact = lambda: _first_layer_map(net, x0, e1, e2, True)
        recompute = _make_recompute(net, P0, chords, starts, ctx_exact, first_exact, counter)
    final, extra = _run(net, st, 0, chords, starts, ctx, recompute)
    return final, extra, counter[0], chords.table()


def slice_complex(net, origin, e1, e2, *, bounds=None, polygon=None, mode="certified", tol=None):
    """The linear regions of ``net`` on a 2D slice of its input space.

    Parameters
    ----------
    net : PLNet
        Input dimension ``d`` (any).
    origin : (d,) float
    e1, e2 : (d,) float
        The slice is ``x(u, v) = origin + u e1 + v e2`` (``e1, e2`` need not be
        orthonormal; areas are measured in (u, v)).
    bounds : (umin, umax, vmin, vmax), optional
        A rectangle in (u, v).
    polygon : (k, 2) float, optional
        A strictly convex polygon in (u, v) (either orientation).  Pass exactly one
        of ``bounds`` and ``polygon``.
    mode : {"certified", "float", "exact"}
    tol : Tolerance, optional

    Returns
    -------
    RegionComplex
        ``kind="slice"``: one convex polygon per linear region (counter-clockwise
        vertices in (u, v)), codes, areas, interior points (vertex averages), the
        affine maps, predicted classes, ``graph``, ``decision_boundary``.

    Raises
    ------
    DegenerateInputError
        If ``e1`` or ``e2`` is zero or they are parallel (exactly, in
        ``mode="exact"`` and ``"certified"``; within ``tol.rank`` in ``"float"``).
    DomainError
        If ``bounds`` is empty or inverted, or ``polygon`` is not strictly convex.
    ShapeError
        If ``origin``, ``e1``, ``e2`` do not match ``net.input_dim``.
    ValidationError
        If the network has fewer than two inputs (no plane to slice).

    Notes
    -----
    Layer-by-layer polygon splitting: each polygon of the current partition is a
    set on which all preactivations of the next layer are affine; each neuron's
    threshold lines split it (one vectorised pass per neuron over all polygons).
    Cost: ``O(n_hidden * V)`` array operations for ``V`` polygon vertices alive,
    plus one ``O(width)`` forward step per vertex and layer.  Every region is a
    convex polygon with distinct codes; regions of zero area never occur.  See the
    :mod:`polyfold.slices` docstring for the three modes and the degenerate cases.

    References
    ----------
    A. I. Humayun, R. Balestriero, G. Balakrishnan, R. Baraniuk, "SplineCam: Exact
    Visualization and Characterization of Deep Network Geometry and Decision
    Boundaries", CVPR 2023.

    Examples
    --------
    >>> from polyfold import zoo
    >>> net = zoo.arrangement(4, 2, seed=0)
    >>> cx = slice_complex(net, [0.0, 0.0], [1.0, 0.0], [0.0, 1.0],
    ...                    bounds=(-100, 100, -100, 100), mode="exact")
    >>> cx.n_regions                 # 1 + 4 + C(4, 2) lines in general position
    11
    >>> float(cx.measures.sum())
    40000.0
    """
    net = _check_net(net)
    tol = get_tol(tol)
    mode = check_mode(mode)
    x0, a, b = _check_plane(net, origin, e1, e2, tol, mode)
    P0 = _domain_polygon(bounds, polygon, tol)
    return _build_slice(net, x0, a, b, P0, mode, tol)


def _build_slice(net, x0, a, b, P0, mode, tol):
    try:
        final, extra, n_rec, chord_table = _slice_states(net, x0, a, b, P0, mode, tol)
    except _NeedExact:
        final, extra, n_rec, chord_table = _slice_states(net, x0, a, b, P0, "exact", tol)
        n_rec = final.n_cells
    exact = mode == "exact"
    final = _concat_flat([_flatten(final, to_float=not exact)] + extra)
    areas = _shoelace(final.P, final.off, exact)
    cent = _centroids(final.P, final.off, exact)
    exact_vertices = exact_areas = None
    P = final.P
    if exact:
        exact_vertices, exact_areas = final.P, areas
        P = arith.to_float_array(final.P)
        areas = arith.to_float_array(areas)
        cent = arith.to_float_array(cent)
    for arr in (P, areas, cent, final.codes, final.off):
        arr.setflags(write=False)
    return RegionComplex(
        net=net,
        kind="slice",
        mode=mode,
        n_regions=final.n_cells,
        codes=final.codes,
        measures=areas,
        interior_points=cent,
        vertices=P,
        vertex_offsets=final.off,
        origin=x0,
        e1=a,
        e2=b,
        domain=P0,
        n_recomputed=int(n_rec),
        n_degenerate=int(final.deg.sum()),
        touches_boundary=np.bincount(_cell_index(final.off), weights=final.lab < 0,
                                     minlength=final.n_cells) > 0,
        tol=tol,
        exact_vertices=exact_vertices,
        exact_areas=exact_areas,
        _labels=final.lab,
        _chords=chord_table,
        _vertex_errors=None if final.EP is None else final.EP.copy(),
    )


def slice_through(net, x1, x2, x3, *, margin=0.25, mode="certified", tol=None):
    """The region complex of the plane through three data points.

    The slice is ``x(u, v) = x1 + u (x2 - x1) + v (x3 - x1)``, so the three points
    sit at ``(0, 0)``, ``(1, 0)`` and ``(0, 1)``; the domain is the rectangle
    ``[-margin, 1 + margin]^2`` covering them.

    Parameters
    ----------
    net : PLNet
    x1, x2, x3 : (d,) float
    margin : float
        Extra room around the unit square in (u, v) units (>= 0).
    mode : {"certified", "float", "exact"}
    tol : Tolerance, optional

    Returns
    -------
    RegionComplex

    Raises
    ------
    DegenerateInputError
        If the three points are collinear (within ``tol.rank`` in ``mode="float"``)
        or two coincide.
    ValidationError
        If ``margin`` is negative or not finite, or the network has fewer than two
        inputs.

    Examples
    --------
    >>> import numpy as np
    >>> from polyfold import zoo
    >>> net = zoo.random_mlp([8, 8], 5, 3, seed=0)
    >>> X = np.random.default_rng(0).random((3, 5))
    >>> cx = slice_through(net, *X, mode="float")
    >>> bool(cx.locate([[0, 0], [1, 0], [0, 1]]).min() >= 0)   # each point in a region
    True
    """
    net = _check_net(net)
    tol = get_tol(tol)
    m = as_float_array(margin, "margin")
    if m.size != 1 or m.ravel()[0] < 0:
        raise ValidationError(
            f"margin must be one number >= 0 (room around the three points in (u, v) "
            f"units), got {margin!r}."
        )
    check_planar_input(net)
    pts = []
    for name, x in (("x1", x1), ("x2", x2), ("x3", x3)):
        p = as_float_array(x, name)
        if p.shape == tuple(net.input_shape):
            p = p.reshape(-1)  # one image, shaped
        if p.shape != (net.input_dim,):
            raise ShapeError(
                f"{name} must have shape ({net.input_dim},) to match the network's "
                f"input_dim={net.input_dim}, got {p.shape}; flatten images with x.ravel()."
            )
        pts.append(p)
    mode = check_mode(mode)
    try:
        x0, a, b = _check_plane(net, pts[0], pts[1] - pts[0], pts[2] - pts[0], tol, mode)
    except DegenerateInputError as err:
        raise DegenerateInputError(
            "x1, x2, x3 must be three distinct, non-collinear points to span a plane "
            f"({err})"
        ) from err
    m = float(m.ravel()[0])
    return _build_slice(net, x0, a, b, _domain_polygon((-m, 1 + m, -m, 1 + m), None, tol), mode, tol)
