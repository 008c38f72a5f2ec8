"""The result of the slice and box complexes: :class:`RegionComplex`.

:class:`RegionComplex` holds the regions (codes, polygons or H-representations,
measures, interior points) with their affine maps, predicted classes, adjacency
graph and decision boundary; :class:`ComplexRegion` is the record of one region
and :class:`DecisionBoundary` the pieces of the decision boundary inside a slice.
Part of :mod:`polyfold.slices`, which re-exports the public names.
"""

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from .. import arith
from .._validation import as_float_array
from ..exceptions import ShapeError, SolverError, ValidationError
from ..network import PLNet, bits_from_codes
from .._repr import summary_repr


@dataclass(frozen=True)
class ComplexRegion:
    """One region of a :class:`RegionComplex` (a light record).

    Attributes
    ----------
    index : int
    codes : (n_hidden,) int8
    pattern : (n_hidden,) bool
    vertices : (k, 2) float or None
        Polygon vertices in (u, v), counter-clockwise (slices).
    vertices_input : (k, d) float or None
        The same vertices in input space (slices), or the region's vertices
        (boxes, d <= 4).
    A, c : arrays or None
        H-representation ``{x : A x + c >= 0}`` (boxes).
    measure : float
        Area in (u, v) (slices) or volume (boxes).
    interior_point : (2,) or (d,) float
    V : (output_dim, d) float
    u : (output_dim,) float
        Logits ``V x + u`` in input space.
    predicted_class : int
    """

    __repr__ = summary_repr

    index: int
    codes: np.ndarray
    pattern: np.ndarray
    vertices: object
    vertices_input: object
    A: object
    c: object
    measure: float
    interior_point: np.ndarray
    V: np.ndarray
    u: np.ndarray
    predicted_class: int


@dataclass(frozen=True)
class DecisionBoundary:
    """Pieces of the decision boundary inside a slice.

    Attributes
    ----------
    segments : (k, 2, 2) float
        Segment end points in (u, v).
    region : (k,) int64
        The region containing each piece.
    classes : (k, 2) int64
        The two classes tied on the piece (``(0, 1)`` for a single-output net:
        ``logit = 0``).
    """

    __repr__ = summary_repr

    segments: np.ndarray
    region: np.ndarray
    classes: np.ndarray

    def __len__(self):
        return len(self.region)


@dataclass(frozen=True, eq=False)
class RegionComplex:
    """The linear regions of a network on a 2D slice or a small box or polytope.

    Attributes
    ----------
    net : PLNet
    kind : str
        ``"slice"`` or ``"box"`` (boxes and polytopes).
    mode : str
    n_regions : int
    codes : (R, n_hidden) int8
        Codes of every region (unique per region).
    vertices : (total, 2) float
        Slices: all polygon vertices in (u, v), region after region
        (counter-clockwise); ``vertex_offsets`` (R + 1) says where each starts.
    vertex_offsets : (R + 1,) int64
    measures : (R,) float
        Areas in (u, v) units (slices) or volumes (boxes).
    interior_points : (R, 2) or (R, d) float
        A point strictly inside each region ((u, v) for slices).
    origin, e1, e2 : (d,) float
        The slice plane ``x = origin + u e1 + v e2`` (slices).
    domain : (k, 2) float or (A, c)
        The slice's polygon in (u, v), or the box/polytope rows.
    n_recomputed : int
        Certified mode: polygons recomputed exactly, by the engine and, once
        ``adjacency`` or ``decision_boundary`` has been computed, by them (the
        polygons along a chord, or the regions, whose float bounds did not
        decide); so the count can grow when those are first accessed.
    n_degenerate : int
        Regions on which some neuron is constant at a threshold.
    touches_boundary : (R,) bool
        Whether the region has a facet (an edge of positive length for slices)
        on the domain's boundary.  When the domain contains every vertex of the
        partition in its interior, these are exactly the unbounded regions of the
        whole input space (plane).
    """

    net: PLNet = field(repr=False)
    kind: str
    mode: str
    n_regions: int
    codes: np.ndarray = field(repr=False)
    measures: np.ndarray = field(repr=False)
    interior_points: np.ndarray = field(repr=False)
    vertices: object = field(default=None, repr=False)
    vertex_offsets: object = field(default=None, repr=False)
    origin: object = field(default=None, repr=False)
    e1: object = field(default=None, repr=False)
    e2: object = field(default=None, repr=False)
    domain: object = field(default=None, repr=False)
    n_recomputed: int = 0
    n_degenerate: int = 0
    touches_boundary: object = field(default=None, repr=False)
    tol: object = field(default=None, repr=False)
    exact_vertices: object = field(default=None, repr=False)
    exact_areas: object = field(default=None, repr=False)
    _labels: object = field(default=None, repr=False)
    _chords: object = field(default=None, repr=False)
    _vertex_errors: object = field(default=None, repr=False)
    _hrep: object = field(default=None, repr=False)
    _adjacency: object = field(default=None, repr=False)

    def __len__(self):
        return self.n_regions

    # -- per-region data ----------------------------------------------------------
    @property
    def patterns(self):
        """(R, n_hidden) bool: bits ``z > 0`` of every region."""
        return bits_from_codes(self.net, self.codes)

    @property
    def dim(self):
        """Dimension of the complex (2 for slices)."""
        return 2 if self.kind == "slice" else self.net.input_dim

    def to_input(self, uv):
        """Map (n, 2) slice coordinates to input space ``origin + u e1 + v e2``."""
        if self.kind != "slice":
            raise ValidationError("to_input applies to slice complexes only.")
        uv = np.asarray(uv, dtype=np.float64)
        return self.origin + uv[..., :1] * self.e1 + uv[..., 1:2] * self.e2

    def polygon(self, i):
        """(k, 2) vertices of region ``i`` in (u, v) (slices)."""
        self._check_index(i)
        if self.kind != "slice":
            raise ValidationError("polygon() applies to slice complexes; use hrep(i) for boxes.")
        return self.vertices[self.vertex_offsets[i] : self.vertex_offsets[i + 1]]

    def exact_polygon(self, i):
        """Exact vertices of region ``i`` as a list of ``(Fraction, Fraction)`` (exact mode)."""
        self._check_index(i)
        if self.exact_vertices is None:
            raise ValidationError(
                "exact vertices exist only for mode='exact' slices; recompute with mode='exact'."
            )
        rows = self.exact_vertices[self.vertex_offsets[i] : self.vertex_offsets[i + 1]]
        return [(arith.to_fraction(a), arith.to_fraction(b)) for a, b in rows]

    def hrep(self, i):
        """``(A, c)`` of region ``i``: ``{x : A x + c >= 0}`` in input space (boxes) or
        in (u, v) (slices, computed from the codes)."""
        self._check_index(i)
        if self._hrep is not None:
            return self._hrep[i]
        from ..regions import region_rows

        A, c, _, _, _ = region_rows(self.net, self.codes[i])
        E = np.stack([self.e1, self.e2], axis=1)
        return A @ E, A @ self.origin + c

    def _check_index(self, i):
        if not (0 <= int(i) < self.n_regions):
            raise ValidationError(
                f"region index must be in 0..{self.n_regions - 1}, got {i}."
            )

    @cached_property
    def affine_maps(self):
        """``(V (R, output_dim, d), u (R, output_dim))``: logits ``V x + u`` per region
        in input space."""
        return self.net.affine_map(codes=self.codes)

    @cached_property
    def uv_maps(self):
        """``(V (R, output_dim, 2), u (R, output_dim))``: logits in slice coordinates."""
        if self.kind != "slice":
            raise ValidationError("uv_maps applies to slice complexes only.")
        V, u = self.affine_maps
        E = np.stack([self.e1, self.e2], axis=1)
        return V @ E, V @ self.origin + u

    @cached_property
    def predicted_classes(self):
        """(R,) int64: class predicted at each region's interior point.

        Slices: the argmax of the region's own logits (its affine map) at
        ``interior_points[i]`` (lowest class on ties; ``logit > 0`` for one
        output), decided exactly in ``mode="exact"`` and ``"certified"`` (float
        with error bounds, rationals where they do not decide).  Boxes: a forward
        pass at the interior points.
        """
        if self.kind != "slice":
            f = np.atleast_2d(self.net.forward(self.interior_points)).reshape(self.n_regions, -1)
            if f.shape[1] == 1:
                return (f[:, 0] > 0).astype(np.int64)
            return np.argmax(f, axis=1).astype(np.int64)
        from ..adjacency import _region_classes

        return _region_classes(self, self.interior_points)

    def region(self, i):
        """A :class:`ComplexRegion` record for region ``i``."""
        self._check_index(i)
        V, u = self.affine_maps
        if self.kind == "slice":
            poly = self.polygon(i)
            verts, vin, A, c = poly, self.to_input(poly), None, None
        else:
            A, c = self.hrep(i)
            verts = None
            vin = self.region_vertices(i) if self.net.input_dim <= 4 else None
        return ComplexRegion(
            index=int(i),
            codes=self.codes[i],
            pattern=bits_from_codes(self.net, self.codes[i]),
            vertices=verts,
            vertices_input=vin,
            A=A,
            c=c,
            measure=float(self.measures[i]),
            interior_point=self.interior_points[i],
            V=V[i],
            u=u[i],
            predicted_class=int(self.predicted_classes[i]),
        )

    def to_pandas(self):
        """One row per region (needs pandas).

        Columns: ``region`` (index), ``measure`` (area in (u, v) units for slices,
        volume for boxes), ``n_vertices`` (polygon vertices; slices only),
        ``predicted_class`` (at the region's interior point), ``n_neighbours``
        (regions sharing a facet), ``n_active`` (units with ``z > 0``),
        ``touches_boundary`` (a facet on the domain's boundary) and the interior
        point: ``u``, ``v`` for slices, ``x0``, ``x1``, ... for boxes.

        Examples
        --------
        >>> import numpy as np, polyfold
        >>> net = polyfold.PLNet.from_arrays([(np.eye(2), np.zeros(2)),
        ...                                   (np.ones((1, 2)), np.zeros(1))])
        >>> cx = polyfold.slice_complex(net, [0, 0], [1, 0], [0, 1], bounds=(-1, 1, -1, 1))
        >>> df = cx.to_pandas().sort_values("n_active")   # the four quadrants
        >>> df["measure"].tolist(), df["n_neighbours"].tolist()
        ([1.0, 1.0, 1.0, 1.0], [2, 2, 2, 2])
        """
        from .._tables import to_dataframe

        R = self.n_regions
        pairs = np.asarray(self.adjacency[0], dtype=np.int64).reshape(-1, 2)
        cols = {
            "region": np.arange(R, dtype=np.int64),
            "measure": np.asarray(self.measures, dtype=np.float64),
        }
        if self.vertex_offsets is not None:
            cols["n_vertices"] = np.diff(np.asarray(self.vertex_offsets)).astype(np.int64)
        cols["predicted_class"] = np.asarray(self.predicted_classes, dtype=np.int64)
        cols["n_neighbours"] = np.bincount(pairs.ravel(), minlength=R).astype(np.int64)
        cols["n_active"] = np.count_nonzero(self.patterns, axis=1).astype(np.int64)
        if self.touches_boundary is not None:
            cols["touches_boundary"] = np.asarray(self.touches_boundary, bool)
        pts = np.asarray(self.interior_points, dtype=np.float64)
        names = ("u", "v") if self.kind == "slice" else [f"x{k}" for k in range(pts.shape[1])]
        for k, name in enumerate(names):
            cols[name] = pts[:, k]
        return to_dataframe(cols, "RegionComplex")

    @property
    def regions(self):
        """List of :class:`ComplexRegion`, one per region."""
        return [self.region(i) for i in range(self.n_regions)]

    def region_vertices(self, i):
        """Vertices of box region ``i`` (Qhull half-space intersection)."""
        from scipy.spatial import HalfspaceIntersection

        A, c = self.hrep(i)
        hs = np.hstack([-A, -c[:, None]])  # Qhull: A' x + b' <= 0
        return HalfspaceIntersection(hs, self.interior_points[i]).intersections

    def locate(self, points):
        """Index of the region whose codes the point has, or -1.

        Parameters
        ----------
        points : (n, 2) float for slices ((u, v)), (n, d) for boxes

        Returns
        -------
        (n,) int64

        Notes
        -----
        A point's codes follow the network's rule (a neuron is active iff
        ``z > 0``), so a point on an edge gets the region on the inactive side and
        a point where no region has its codes (some vertices, points outside
        the domain's regions) gets -1.  Slices: the point is
        ``origin + u e1 + v e2`` with (u, v) read as exact numbers; its codes are
        exact in ``mode="exact"`` and ``"certified"`` (float with error bounds,
        rationals for the points they do not decide).  Boxes: a float forward
        pass.
        """
        pts = as_float_array(points, "points")
        if pts.ndim == 1:
            pts = pts[None, :]
        if self.kind == "slice":
            from ._engine import _plane_codes

            if pts.ndim != 2 or pts.shape[1] != 2:
                raise ShapeError(f"points must have shape (n, 2) in (u, v), got {pts.shape}.")
            safety = max(self.tol.safety, 1.0) if self.tol is not None else 8.0
            codes, _ = _plane_codes(self.net, self.origin, self.e1, self.e2, pts, self.mode,
                                    safety)
        else:
            codes = self.net.codes(pts)
        key = {c.tobytes(): i for i, c in enumerate(self.codes)}
        return np.array([key.get(c.tobytes(), -1) for c in codes], dtype=np.int64)

    # -- adjacency --------------------------------------------------------------------
    @property
    def adjacency(self):
        """``(pairs (E, 2) int64, switching list of lists of (layer, neuron))``.

        One pair per two regions sharing a facet of dimension ``dim - 1``; the
        switching neurons are the units whose codes differ between the two.
        """
        return self._adjacency_all[:2]

    @property
    def facet_measures(self):
        """(E,) float: length of each shared edge (slices, (u, v) units); NaN for boxes.

        Exact rationals rounded to float in ``mode="exact"``; float64 estimates
        (within the vertices' error bounds) in ``mode="certified"``, where an
        edge's presence is exact however short it is."""
        return self._adjacency_all[2]

    @property
    def _adjacency_all(self):
        from ..adjacency import adjacency_pairs

        if self._adjacency is None:
            object.__setattr__(self, "_adjacency", adjacency_pairs(self))
        return self._adjacency

    @cached_property
    def graph(self):
        """networkx Graph: node per region (index; attributes ``pattern``, ``codes``,
        ``measure``, ``predicted_class``), edge per shared facet (attribute
        ``switching``: list of ``(layer, neuron)``)."""
        from ..adjacency import region_graph

        return region_graph(self)

    @cached_property
    def decision_boundary(self):
        """:class:`DecisionBoundary`: where the predicted class changes (slices)."""
        from ..adjacency import decision_boundary

        return decision_boundary(self)

    def betti_numbers(self, of="region", label=None):
        """Betti numbers over GF(2) of a class region or of the decision boundary
        within the slice's polygon.

        Parameters
        ----------
        of : {"region", "boundary"}
            As :meth:`polyfold.complexes.CellComplex.betti_numbers`: ``"region"`` the
            closed set of the polygon where the predicted class is ``label``,
            ``"boundary"`` the decision boundary inside the polygon.
        label : int
            The class (``of="region"`` only).

        Returns
        -------
        tuple of int
            ``(b_0, b_1)``: components and holes of a region; components (arcs and
            loops) and loops of the boundary.

        Notes
        -----
        Computed on the cell complex of the network restricted to the slice plane
        (:func:`polyfold.complexes.polytope_complex` of ``(u, v) -> net(origin + u
        e1 + v e2)`` over the polygon, in the slice's mode), built on first use and
        kept.  The plane map enters that network as an affine layer of its own, so
        exact and certified mode see the same plane as the slice itself.  For dense
        networks that costs about what the slice did; for graph networks it can cost
        far more (the digits CNN on a slice of 1361 regions: 23 s against 1.7 s for the
        slice).  The polygon's edges become rows ``a . (u, v) + c >= 0``: exact for edges parallel
        to an axis (boxes), rounded to float64 for the others.

        Examples
        --------
        >>> import numpy as np, polyfold
        >>> W = np.array([[1.0, 0.0], [-1.0, 0.0]])       # f = |x| - 1/2
        >>> net = polyfold.PLNet.from_arrays([(W, np.zeros(2)),
        ...                                   (np.ones((1, 2)), np.array([-0.5]))])
        >>> cx = polyfold.box_complex(net, -1.0, 1.0)
        >>> cx.betti_numbers("region", label=1), cx.betti_numbers("region", label=0)
        ((2, 0), (1, 0))
        >>> cx.betti_numbers("boundary")                    # the lines x = -1/2, 1/2
        (2, 0)
        """
        return self._plane_complex.betti_numbers(of, label)

    @property
    def f_vector(self):
        """``(vertices, edges, regions)`` of the partition inside the slice's polygon,
        its boundary's vertices and edges included (the polygon's corners are
        vertices), from the same cell complex as :meth:`betti_numbers`.

        Examples
        --------
        >>> from polyfold import zoo, slice_complex
        >>> cx = slice_complex(zoo.arrangement(4, 2, seed=0), [0.0, 0.0], [1.0, 0.0],
        ...                    [0.0, 1.0], bounds=(-100, 100, -100, 100))
        >>> cx.f_vector      # C(4,2) + 2*4 + 4 vertices, 4*4 + (2*4 + 4) edges, 11 regions
        (18, 28, 11)
        """
        fv = tuple(int(v) for v in self._plane_complex.f_vector)
        if fv[-1] != self.n_regions:  # pragma: no cover - the two engines agree (tests)
            raise SolverError(
                f"the cell complex of the slice plane has {fv[-1]} regions where the slice "
                f"has {self.n_regions}; recompute with mode='exact'."
            )
        return fv

    @cached_property
    def _plane_complex(self):
        from ..complexes.api import polytope_complex
        from ..graph import GraphBuilder

        if self.kind != "slice":
            raise ValidationError("betti_numbers needs a slice complex (kind='slice').")
        g = self.net.to_graph() if isinstance(self.net, PLNet) else self.net
        used = {nd.name for nd in g.nodes}
        name = "slice"
        while any(n.startswith(name) for n in used):
            name = "_" + name
        b = GraphBuilder((2,), input_name=f"{name}_uv")
        E = np.stack([np.asarray(self.e1, np.float64), np.asarray(self.e2, np.float64)], axis=1)
        h = b.dense(b.input, E, np.asarray(self.origin, np.float64), name=f"{name}_plane")
        if tuple(g.input_shape) != (E.shape[0],):
            h = b.reshape(h, g.input_shape, name=f"{name}_shape")
        index = {0: h}
        for k, nd in enumerate(g.nodes[1:], start=1):
            index[k] = b.add_node(nd.op, [index[i] for i in nd.inputs], name=nd.name)
        plane = b.build(index[g._output])
        P = np.asarray(self.domain, np.float64)
        if 0.5 * np.sum(P[:, 0] * np.roll(P[:, 1], -1) - np.roll(P[:, 0], -1) * P[:, 1]) < 0:
            P = P[::-1]  # counter-clockwise: the interior lies left of every edge
        Q = np.roll(P, -1, axis=0)
        D = Q - P
        A = np.stack([-D[:, 1], D[:, 0]], axis=1)
        c = -np.einsum("ij,ij->i", A, P)
        # edges parallel to an axis: unit rows, exact (x >= p or x <= p)
        flat = (P[:, 1] == Q[:, 1]) & (P[:, 0] != Q[:, 0])
        A[flat] = np.stack([np.zeros(flat.sum()), np.sign(D[flat, 0])], axis=1)
        c[flat] = -np.sign(D[flat, 0]) * P[flat, 1]
        upright = (P[:, 0] == Q[:, 0]) & (P[:, 1] != Q[:, 1])
        A[upright] = np.stack([-np.sign(D[upright, 1]), np.zeros(upright.sum())], axis=1)
        c[upright] = np.sign(D[upright, 1]) * P[upright, 0]
        keep = np.any(A != 0, axis=1)
        return polytope_complex(plane, A[keep], c[keep], mode=self.mode, tol=self.tol)

    def to_json(self, path=None):
        """JSON text (written to ``path`` when given) of the regions and the graph."""
        from ..adjacency import complex_to_json

        return complex_to_json(self, path)

    def to_graphml(self, path):
        """Write the adjacency graph as GraphML (list attributes as strings)."""
        from ..adjacency import graph_to_graphml

        return graph_to_graphml(self.graph, path)

    def __repr__(self):
        return (
            f"RegionComplex(kind={self.kind!r}, mode={self.mode!r}, n_regions={self.n_regions}, "
            f"n_recomputed={self.n_recomputed}, n_degenerate={self.n_degenerate})"
        )
