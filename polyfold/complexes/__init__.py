"""Polyhedral complexes of networks in d = 1..8 dimensions: boxes, polytopes, R^d.

:func:`box_complex`, :func:`polytope_complex` and :func:`space_complex` return a
:class:`CellComplex`: every region of the network on the domain (codes, affine maps,
volumes, interior points, adjacency graph with the switching units), and the whole
polyhedral complex behind it -- cells of every dimension (:attr:`CellComplex.f_vector`,
:meth:`CellComplex.cells`), vertices with their regions, edges, the decision boundary
as a (d-1)-dimensional complex, Betti numbers over GF(2) of class regions and of the
decision boundary, 3D figures (:func:`polyfold.complexes.plot.plot_complex_3d`) and
mesh export (PLY, OBJ).

The engine
----------
The complex is stored as its face lattice: every k-cell lists its facets, and every
vertex carries its *row* -- the network's state before the current unit group
(``net.stages()``: a dense net's preactivations, or a graph net's group input and
carried tensors) and its coordinates.  On each cell of the current partition the
state is affine, so a unit's threshold is an affine function there, known at the
cell's vertices.  The cells are split unit by unit, group by group, in the spirit of
edge subdivision (Berzins, ICML 2023): a crossed edge gets one new vertex by linear
interpolation of its two end rows, and the lattice is updated from the vertex signs
alone by the rules of incremental arrangement construction (:mod:`._lattice`).  At the
end of a group every vertex moves to the next group's state with the codes of any
cell that contains it (the network is continuous: all give the same value).

No general position is assumed: a hyperplane through vertices, along edges or
containing whole faces, several hyperplanes through one vertex, and units constant
on a cell (counted in ``n_degenerate``; the unit takes the code below its threshold)
are handled by the same rules and tested.  Max units (max pooling, maxout) are split
by the differences of two candidates, only in cells where both can still be the
maximum; cells with the same codes then form one region (two candidates that are
not selected may swap order without a boundary).  Regions, adjacency, topology and
:attr:`CellComplex.f_vector` (cells merged by the regions and domain facets whose
closures contain them) are those of the regions' complex; ``vertices``, ``edges``
and ``cells(k)`` list the engine's cells, a subdivision of it.

Arithmetic
----------
``mode="float"`` decides signs with a band of ``Tolerance.zero`` times the values'
scale.  ``mode="certified"`` carries a rigorous bound on the rounding error of every
value (each operation's rounding and the propagated errors of its inputs); a sign
the bound cannot decide is decided exactly: the vertex's exact row is rebuilt from
its genealogy (the split and the two vertices that created it, down to the domain's
corners, whose float coordinates are exact rationals) and its sign is taken in
rationals.  The combinatorics -- cells, codes, adjacency, faces, topology -- are then
those of exact arithmetic; coordinates are float64.  ``CellComplex.n_recomputed``
counts the exact decisions.  ``mode="exact"`` uses python-flint rationals throughout.
Certified and exact complexes are complete: a region, however thin, is found or the
call raises; nothing is dropped below a tolerance.

The whole input space
---------------------
:func:`space_complex` computes the complex of the box ``[-M, M]^d`` for a formal,
infinitely large ``M``: every coordinate and state value is a pair ``a + b M``
(``a``, ``b`` rational, or float with bounds), compared lexicographically (the sign
of ``b`` first).  Why this is the complex of R^d:

* every vertex of the box complex solves a linear system whose right-hand side is
  affine in ``M`` (its incident box facets are ``x_i = +-M``), so vertices and states
  are affine in ``M``; a new vertex on an edge is computed exactly in that form
  (the interpolation ``t = t1 + tau / M`` of :func:`._engine._interp_space_exact`);
* each decision of the engine is the sign of an affine function of ``M``, constant
  for all ``M`` beyond its root; there are finitely many, so for all ``M`` larger
  than some ``M0`` the engine takes the same decisions on the real box ``[-M, M]^d``
  as on the formal one -- the formal complex is the box complex of every box with
  ``M > M0``;
* for ``M`` larger than every vertex's norm and large enough to meet every cell of
  R^d (finitely many cells), the box complex is the complex of R^d with its
  cells cut by the box, plus cells lying in the box's boundary.  A cell of R^d is
  unbounded iff its cut reaches the boundary: ``is_bounded`` is exact.

The engine tracks ``M0`` (the largest ``|a / b|`` of the decisions taken on the
``M`` part, and the largest finite vertex coordinate): ``CellComplex.enclosing_box``
is a box size beyond it, and ``box_complex(net, -M, M)`` with that ``M`` gives the
same complex (tested).  Betti numbers of unbounded sets are those of their part in
that box, a deformation retract.

Layout: ``api`` (the three constructors), ``result`` (:class:`CellComplex`,
:class:`DecisionSurface`), ``plot`` (3D figure), ``export`` (PLY/OBJ); private:
``_lattice`` (face lattice and its split), ``_engine`` (vertex rows, arithmetic,
genealogy), ``_topology`` (GF(2) ranks, volumes).
"""

from .api import box_complex, polytope_complex, space_complex
from .result import CellComplex, DecisionSurface

__all__ = ["CellComplex", "DecisionSurface", "box_complex", "polytope_complex", "space_complex"]
