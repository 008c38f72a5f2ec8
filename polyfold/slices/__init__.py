"""Exact region complexes of 2D slices and small boxes.

A *slice* is the plane ``x(u, v) = x0 + u e1 + v e2`` through input space (of any
dimension) restricted to a convex polygon in ``(u, v)``.  :func:`slice_complex`
partitions it into the network's linear regions by splitting convex polygons
layer by layer: on every polygon of the current partition each preactivation of
the next layer is affine, so its threshold lines split the polygon into convex
pieces (the SplineCam setting, Humayun et al. 2023).  Only the preactivations at
the polygons' vertices are carried: the network is continuous, so a value at a
new vertex on an edge is the linear interpolation of the edge's end values (the
same idea as :func:`polyfold.segment_crossings`).  All polygons of a layer are
split together, one vectorised pass per neuron and threshold, on flat vertex
arrays with offsets.

:func:`box_complex` does the same for boxes (and :func:`polytope_complex` for
polytopes) of dimension 2..6 in H-representation with HiGHS LPs.

Arithmetic modes (one keyword, as in :func:`polyfold.segment_crossings`):

``"float"``
    float64; vertex values within ``tol.zero`` times the neuron's largest value
    count as on the line.  Fast, no guarantee.
``"certified"``
    float64 with a first-order rounding-error bound carried for every vertex
    value; every sign decision must clear ``tol.safety`` times its bound.  A
    polygon with a decision the bound cannot make (a vertex on or near a line,
    several lines through one point, a neuron constant on a polygon) is
    recomputed in exact rationals from the start of the layer: its vertices are
    rebuilt exactly as intersections of its (exactly known) edge lines.  Every
    vertex also carries a bound on the error of its coordinates.  The
    combinatorics are then exact: regions and codes; adjacency (which regions
    share an edge of positive length, however short, with the switching
    neurons), decided from the vertex bounds along every chord and exactly
    where they do not decide; decision-boundary pieces (which regions, which
    class pairs); ``locate`` and ``predicted_classes``.  Vertex coordinates,
    areas, edge lengths (``facet_measures``) and segment end points are float64
    approximations.  :attr:`RegionComplex.n_recomputed` says how many polygons
    were recomputed exactly (by the engine, and by adjacency and the decision
    boundary once they have been computed).
``"exact"``
    python-flint rationals throughout; vertices, areas and interior points are
    exact.

Degenerate cases (all modes, exactly in ``"exact"``):

* a line through a vertex does not create a vertex; it splits the polygon only
  when vertices lie strictly on both sides;
* several lines through one point, and a line along an existing edge, create no
  zero-area regions;
* a neuron constant on a polygon does not split it; if the constant equals a
  threshold, the neuron takes the code of ``z == threshold`` (below it, i.e.
  inactive for ReLU) and the region is counted in ``n_degenerate``.

Layout of this package (every public name is importable from
``polyfold.slices``, and from the top level ``polyfold``):

* ``planes`` -- :func:`slice_complex` and :func:`slice_through`;
* ``boxes`` -- :func:`box_complex` and :func:`polytope_complex`;
* ``result`` -- the result :class:`RegionComplex`, with its records
  :class:`ComplexRegion` and :class:`DecisionBoundary`;
* private helpers: ``_engine`` (flat polygon state, the vectorised splitting
  passes, layer by layer), ``_exact`` (exact reconstruction of polygons in
  certified mode) and ``_domain`` (checks of the slice plane and its domain
  polygon).
"""

from .boxes import box_complex, polytope_complex
from .planes import slice_complex, slice_through

# ComplexRegion and DecisionBoundary are not in __all__ but stay importable from here
# (polyfold.adjacency imports DecisionBoundary)
from .result import ComplexRegion, DecisionBoundary, RegionComplex  # noqa: F401

__all__ = [
    "RegionComplex",
    "box_complex",
    "polytope_complex",
    "slice_complex",
    "slice_through",
]
