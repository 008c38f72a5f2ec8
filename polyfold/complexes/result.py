"""The result of :func:`box_complex`, :func:`polytope_complex` and :func:`space_complex`.

:class:`CellComplex` is a :class:`~polyfold.slices.RegionComplex` (same region
arrays, affine maps, adjacency graph, JSON/GraphML export) that also keeps the whole
polyhedral complex: cells of every dimension, vertices, edges, the decision boundary
as a (d-1)-dimensional complex, and Betti numbers over GF(2).
"""

from functools import cached_property

import numpy as np

from .. import arith
from ..exceptions import DomainError, UnsupportedLayerError, ValidationError
from ..slices.result import RegionComplex
from ._lattice import _ranges
from ._topology import betti_numbers as _betti
from ._topology import cell_centroids, cell_volumes


class DecisionSurface:
    """The decision boundary of a :class:`CellComplex` as a (d-1)-dimensional complex.

    Attributes
    ----------
    vertices : (n, d) float
        Vertices of the boundary cells (finite ones; for the whole space the cells
        of unbounded pieces list only their finite vertices).
    offsets : (k + 1,) int64
    cells : (total,) int64
        Vertices of each (d-1)-cell, ``cells[offsets[i]:offsets[i + 1]]``, in
        cyclic order when d = 3 (polygons).
    region : (k,) int64
        The region on one side of each cell (the lower class).
    classes : (k, 2) int64
        The classes on the two sides (``(0, 1)`` for a one-output net).
    bounded : (k,) bool
        The cell is bounded (always True on boxes and polytopes).
    """

    def __init__(self, vertices, offsets, cells, region, classes, bounded):
        self.vertices = vertices
        self.offsets = offsets
        self.cells = cells
        self.region = region
        self.classes = classes
        self.bounded = bounded

    def __len__(self):
        return len(self.region)

    def cell(self, i):
        """(m, d) vertex coordinates of boundary cell ``i``."""
        return self.vertices[self.cells[self.offsets[i] : self.offsets[i + 1]]]

    def __repr__(self):
        return f"DecisionSurface(n_cells={len(self)}, dim={self.vertices.shape[1] - 1})"


class CellComplex(RegionComplex):
    """The polyhedral complex of a network on a box, a polytope or the whole space.

    Region arrays are those of :class:`~polyfold.slices.RegionComplex` (``codes``,
    ``patterns``, ``measures``, ``interior_points``, ``affine_maps``,
    ``predicted_classes``, ``adjacency``, ``graph``).  On top:

    Attributes
    ----------
    kind : {"box", "polytope", "space"}
    is_bounded : (R,) bool
        Whether each region is bounded (all True on boxes and polytopes).
    f_vector : tuple of int
        Number of cells of each dimension ``0..d``; ``f_vector[d] == n_regions``.
        For the whole space the cells at infinity are not counted.
    vertices : (V, d) float
        The vertices (finite ones for the whole space), exact values rounded.
    edges : (E, 2) int64
        Bounded edges as pairs of indices into ``vertices``.
    enclosing_box : float or None
        Whole space: a number ``M`` such that the box ``[-M, M]^d`` has the same
        complex (every vertex inside it, every unbounded cell reaching its
        boundary); None otherwise.
    n_recomputed : int
        Certified mode: vertex signs decided in exact arithmetic.
    """

    def __init__(self, net, kind, mode, engine, tol, domain, *, regions):
        cell_region, codes = regions
        eng = engine
        lat = eng.lat
        (two, a, b), (one, c1) = lat.facet_cofaces()
        ra, rb = cell_region[a], cell_region[b]
        keep = ra != rb
        lo, hi = np.minimum(ra[keep], rb[keep]), np.maximum(ra[keep], rb[keep])
        R = len(codes)
        key = np.unique(lo * np.int64(R) + hi)
        pairs = np.stack([key // R, key % R], axis=1).astype(np.int64) if len(key) else np.zeros((0, 2), np.int64)
        touches = np.zeros(R, bool)
        touches[cell_region[c1]] = True
        deg = np.zeros(R, bool)
        np.logical_or.at(deg, cell_region, eng.deg)
        vals = dict(
            net=net, kind=kind, mode=mode, n_regions=R, codes=codes, domain=domain,
            n_recomputed=int(eng.n_exact), n_degenerate=int(deg.sum()), touches_boundary=touches,
            tol=tol, _labels=(pairs, np.full(len(pairs), np.nan)), _hrep=None, _adjacency=None,
            vertex_offsets=None, origin=None, e1=None, e2=None, exact_vertices=None,
            exact_areas=None,
        )
        for k, v in vals.items():
            object.__setattr__(self, k, v)
        object.__setattr__(self, "_engine", eng)
        object.__setattr__(self, "_cell_region", cell_region)

    # -- geometry of the engine ---------------------------------------------------
    @property
    def dim(self):
        return self.net.input_dim

    @property
    def _lat(self):
        return self._engine.lat

    def _coords(self, at_infinity_scale=None):
        """(nv, d) float vertex coordinates (the box at infinity: at ``M``)."""
        eng = self._engine
        W = eng.V.shape[1] - self.dim
        X = eng.V[:, W:]
        if X.dtype == object:
            X = arith.to_float_array(X)
        if eng.space:
            XB = eng.VB[:, W:]
            if XB.dtype == object:
                XB = arith.to_float_array(XB)
            M = self.enclosing_box if at_infinity_scale is None else at_infinity_scale
            X = X + M * XB
        return X

    @cached_property
    def enclosing_box(self):
        """Whole space: ``M`` such that ``[-M, M]^d`` has the same complex (else None)."""
        eng = self._engine
        if not eng.space:
            return None
        X = self._finite_coords()
        m = max(float(eng.m0), float(np.abs(X).max()) if X.size else 0.0)
        return 2.0 * m + 1.0

    def _finite_mask(self):
        eng = self._engine
        if eng.space:
            return ~eng.lat.onb[0]
        return np.ones(eng.lat.nv, bool)

    def _finite_coords(self):
        eng = self._engine
        W = eng.V.shape[1] - self.dim
        X = eng.V[self._finite_mask(), W:]
        return arith.to_float_array(X) if X.dtype == object else np.asarray(X, np.float64)

    @cached_property
    def _vertex_index(self):
        fin = self._finite_mask()
        idx = np.full(len(fin), -1, np.int64)
        idx[fin] = np.arange(int(fin.sum()))
        return idx

    @cached_property
    def vertices(self):
        """(V, d) float: the vertices of the complex (finite ones for the whole space)."""
        return self._finite_coords()

    @property
    def exact_vertex_coordinates(self):
        """(V, d) object array of ``fractions.Fraction`` (``mode="exact"`` only)."""
        eng = self._engine
        if not eng.exact:
            raise ValidationError("exact vertex coordinates exist for mode='exact' only; recompute "
                                  "with mode='exact'.")
        W = eng.V.shape[1] - self.dim
        X = eng.V[self._finite_mask(), W:]
        out = np.empty(X.shape, dtype=object)
        out[...] = [[arith.to_fraction(v) for v in row] for row in X]
        return out

    @cached_property
    def edges(self):
        """(E, 2) int64: bounded edges as pairs of indices into :attr:`vertices`."""
        lat = self._lat
        off, v = lat.rows[1].csr()
        e = v.reshape(-1, 2)
        vi = self._vertex_index
        ok = (vi[e[:, 0]] >= 0) & (vi[e[:, 1]] >= 0)
        return vi[e[ok]]

    def cells(self, k):
        """Cells of dimension ``k`` as ``(offsets, vertex indices)`` into :attr:`vertices`.

        For the whole space, cells at infinity are left out and unbounded cells list
        their finite vertices only.

        Parameters
        ----------
        k : int
            0..d

        Returns
        -------
        offsets : (f_k + 1,) int64
        vertices : (total,) int64
        """
        k = int(k)
        if not 0 <= k <= self.dim:
            raise ValidationError(f"k must be in 0..{self.dim}, got {k}.")
        lat = self._lat
        off, v = lat.closure_vertices(k)
        sel = np.flatnonzero(~lat.onb[k]) if self._engine.space else np.arange(lat.f(k))
        cnt = (off[1:] - off[:-1])[sel]
        vv = v[_ranges(off[:-1][sel], cnt)]
        seg = np.repeat(np.arange(len(sel)), cnt)
        vi = self._vertex_index[vv]
        ok = vi >= 0
        counts = np.bincount(seg[ok], minlength=len(sel))
        o = np.zeros(len(sel) + 1, np.int64)
        np.cumsum(counts, out=o[1:])
        return o, vi[ok]

    @cached_property
    def f_vector(self):
        """Number of cells of each dimension ``0..d`` (the whole space: cells of R^d).

        For nets with max units the engine's cells subdivide the regions (two
        candidates that are not selected may swap without a boundary); the faces of
        the regions are then the classes of engine cells with the same *signature*
        (the regions and domain facets whose closures contain them), each of the
        dimension of its largest member.
        """
        lat = self._lat
        space = self._engine.space
        if self.net.has_max_units:
            return _coarse_f_vector(lat, self._cell_region, self.n_regions, space)
        if space:
            return tuple(int((~lat.onb[k]).sum()) for k in range(self.dim + 1))
        return lat.f_vector()

    @cached_property
    def vertex_regions(self):
        """``(offsets, regions)``: the regions whose closure contains each vertex."""
        lat = self._lat
        off, v = lat.closure_vertices(self.dim)
        cell = np.repeat(np.arange(lat.f(self.dim)), off[1:] - off[:-1])
        vi = self._vertex_index[v]
        ok = vi >= 0
        reg = self._cell_region[cell[ok]]
        key = np.unique(vi[ok] * np.int64(self.n_regions) + reg)
        vv, rr = key // self.n_regions, key % self.n_regions
        counts = np.bincount(vv, minlength=len(self.vertices))
        o = np.zeros(len(counts) + 1, np.int64)
        np.cumsum(counts, out=o[1:])
        return o, rr.astype(np.int64)

    @cached_property
    def is_bounded(self):
        """(R,) bool: bounded regions (all of them on boxes and polytopes)."""
        return ~self.touches_boundary if self._engine.space else np.ones(self.n_regions, bool)

    # -- region arrays --------------------------------------------------------------
    @cached_property
    def _first_cell(self):
        first = np.full(self.n_regions, -1, np.int64)
        cr = self._cell_region
        first[cr[::-1]] = np.arange(len(cr))[::-1]
        return first

    @cached_property
    def interior_points(self):
        """(R, d) float: a point strictly inside each region (vertex centroid of a cell;
        for an unbounded region, of its part in :attr:`enclosing_box`)."""
        return cell_centroids(self._lat, self._coords(), self.dim, self._first_cell)[0]

    @cached_property
    def measures(self):
        """(R,) float: volumes (``inf`` for unbounded regions), by coning over facets."""
        X = self._coords()
        space = self._engine.space
        # whole space: cells of unbounded regions may overflow in the enclosing box
        vols = cell_volumes(self._lat, X, self.dim, overflow="inf" if space else "raise")
        out = np.bincount(self._cell_region, weights=vols, minlength=self.n_regions)
        if space:
            out[~self.is_bounded] = np.inf
        bad = ~np.isfinite(out) & self.is_bounded
        if bad.any():
            raise DomainError(
                f"the volume of region {int(np.argmax(bad))} is beyond float64 (1.8e308); "
                f"pass a smaller domain (scaling it by s scales the volumes by s^{self.dim})."
            )
        return out

    def region_vertices(self, i):
        """(m, d) vertices of region ``i`` (finite ones for an unbounded region)."""
        self._check_index(i)
        lat = self._lat
        off, v = lat.closure_vertices(self.dim)
        cells = np.flatnonzero(self._cell_region == i)
        vv = np.unique(np.concatenate([v[off[c] : off[c + 1]] for c in cells]))
        vi = self._vertex_index[vv]
        return self.vertices[vi[vi >= 0]]

    def hrep(self, i):
        """``(A, c)`` of region ``i``: ``{x : A x + c >= 0}`` in input space (every
        unit's half-space for the region's codes, then the domain's rows)."""
        self._check_index(i)
        from ..network import PLNet
        from ..regions import region_rows

        if not isinstance(self.net, PLNet):
            raise UnsupportedLayerError(
                "hrep needs a dense PLNet; for a graph network use region_vertices(i) or "
                "cells(k) of the complex."
            )
        A, c, _, _, _ = region_rows(self.net, self.codes[i])
        if self.kind in ("box", "polytope"):
            Ad, cd = self.domain
            A, c = np.vstack([A, Ad]), np.concatenate([c, cd])
        return A, c

    # -- decision boundary and topology ----------------------------------------------
    @cached_property
    def _refined(self):
        """The complex split once more by the predicted class: ``(engine, cell class)``."""
        return self._engine.refine_by_class()

    @cached_property
    def decision_boundary(self):
        """:class:`DecisionSurface`: the (d-1)-cells between cells of different
        predicted class (after splitting the regions by the class)."""
        eng, cls = self._refined
        lat = eng.lat
        (two, a, b), _ = lat.facet_cofaces()
        ca, cb = cls[a], cls[b]
        sel = ca != cb
        facets = two[sel]
        lo = np.minimum(ca[sel], cb[sel])
        hi = np.maximum(ca[sel], cb[sel])
        cell_lo = np.where(ca[sel] <= cb[sel], a[sel], b[sel])
        region = self._region_of_refined(eng, cell_lo)
        off, v = lat.closure_vertices(self.dim - 1)
        W = eng.V.shape[1] - self.dim
        X = eng.V[:, W:]
        X = arith.to_float_array(X) if X.dtype == object else np.asarray(X, np.float64)
        fin = ~lat.onb[0] if eng.space else np.ones(lat.nv, bool)
        vi = np.full(lat.nv, -1, np.int64)
        vi[fin] = np.arange(int(fin.sum()))
        cells, counts = [], []
        order3 = self.dim == 3
        for f in facets.tolist():
            vs = v[off[f] : off[f + 1]]
            if order3:
                vs = _cycle(lat, f, vs)
            vs = vi[vs]
            vs = vs[vs >= 0]
            cells.append(vs)
            counts.append(len(vs))
        o = np.zeros(len(facets) + 1, np.int64)
        np.cumsum(counts, out=o[1:])
        C = self.net.output_dim
        classes = np.stack([lo, hi], axis=1) if C > 1 else np.tile([0, 1], (len(facets), 1))
        bounded = ~lat.onb[self.dim - 1][facets] if eng.space else np.ones(len(facets), bool)
        if eng.space:
            # an unbounded boundary cell has a face at infinity
            inf_v = lat.onb[0]
            bounded = np.array([not inf_v[v[off[f] : off[f + 1]]].any() for f in facets.tolist()], bool)
        return DecisionSurface(X[fin], o, np.concatenate(cells) if cells else np.zeros(0, np.int64),
                               region, classes.astype(np.int64), bounded)

    def _region_of_refined(self, eng, cells):
        """Region index of refined cells (by their codes)."""
        key = {row.tobytes(): i for i, row in enumerate(self.codes)}
        return np.array([key[eng.codes[c].tobytes()] for c in np.asarray(cells).tolist()], np.int64)

    def betti_numbers(self, of="region", label=None):
        """Betti numbers over GF(2) of a class region or of the decision boundary.

        Parameters
        ----------
        of : {"region", "boundary"}
            ``"region"``: the closed set where the predicted class is ``label`` (for
            a one-output net label 1 is the closure of ``{f > 0}``, label 0 is
            ``{f <= 0}``, with its lower-dimensional parts, such as the plane
            ``x1 = 0`` of ``f = |x1|``; for several outputs, the closure of the
            full-dimensional cells of the class); ``"boundary"``: the decision
            boundary (the closure of the (d-1)-cells between cells of different
            classes).
        label : int
            The class (``of="region"`` only).

        Returns
        -------
        tuple of int
            ``(b_0, ..., b_{d-1})``.

        Notes
        -----
        Cellular homology over the field GF(2) of the refined complex (the regions
        split by the predicted class), from the ranks of its boundary matrices
        (sparse elimination).  Over GF(2) torsion is invisible: a set with
        2-torsion in its integer homology would show extra Betti numbers (none of
        the subsets of R^d with d <= 3 has torsion).  For the whole space the sets
        are unbounded; the numbers are those of their intersection with the box
        :attr:`enclosing_box`, which is a deformation retract of the set (the
        complex is conical outside that box).
        """
        if of not in ("region", "boundary"):
            raise ValidationError(f"of must be 'region' or 'boundary', got {of!r}.")
        eng, cls = self._refined
        d = self.dim
        if of == "region":
            n_cls = max(2, self.net.output_dim)
            if label is None or not (0 <= int(label) < n_cls):
                raise ValidationError(
                    f"label must be a class in 0..{n_cls - 1} for of='region', got {label!r}."
                )
            cells = np.flatnonzero(cls == int(label))
            extra = None
            if self.net.output_dim == 1 and int(label) == 0:
                # {f <= 0} is closed: its lower-dimensional parts (where f touches 0
                # without changing sign, e.g. f = |x1| on x1 = 0) are the cells of
                # lower dimension with f <= 0 at every vertex (f is affine on each)
                sign = eng.logit_sign
                extra = {0: np.flatnonzero(sign <= 0)}
                for k in range(1, d):
                    off, v = eng.lat.closure_vertices(k)
                    if len(v):
                        extra[k] = np.flatnonzero(np.maximum.reduceat(sign[v], off[:-1]) <= 0)
            b = _betti(eng.lat, cells, d, extra)
            return tuple(b[:d])
        if label is not None:
            raise ValidationError("label applies to of='region' only; drop it for of='boundary'.")
        (two, a, bb), _ = eng.lat.facet_cofaces()
        facets = two[cls[a] != cls[bb]]
        return tuple(_betti(eng.lat, facets, d - 1))

    # -- export -------------------------------------------------------------------
    def to_ply(self, path, *, what="boundary"):
        """Write a 3D complex's cells as a PLY mesh (ASCII).

        Parameters
        ----------
        path : str or Path
        what : {"boundary", "facets"}
            ``"boundary"``: the polygons of the decision boundary; ``"facets"``:
            every 2-cell of the complex (bounded ones), with the region pair as
            face properties.

        Returns
        -------
        path
        """
        from .export import write_ply

        return write_ply(self, path, what=what)

    def to_obj(self, path, *, what="boundary"):
        """Write the same polygons as :meth:`to_ply` in Wavefront OBJ."""
        from .export import write_obj

        return write_obj(self, path, what=what)

    def __repr__(self):
        return (
            f"CellComplex(kind={self.kind!r}, mode={self.mode!r}, dim={self.dim}, "
            f"n_regions={self.n_regions}, n_recomputed={self.n_recomputed})"
        )


def _cycle(lat, f, vs):
    """Vertices of the 2-cell ``f`` in cyclic order (from its edges)."""
    _, e = lat.rows[2].gather(np.array([f]))
    _, ev = lat.rows[1].gather(e)
    ev = ev.reshape(-1, 2)
    nbr = {}
    for a, b in ev.tolist():
        nbr.setdefault(a, []).append(b)
        nbr.setdefault(b, []).append(a)
    start = ev[0, 0]
    out = [start]
    prev, cur = None, start
    while True:
        nx = [w for w in nbr[cur] if w != prev]
        if not nx:
            break
        nxt = nx[0] if prev is not None or len(nx) == 1 else nx[0]
        if nxt == start:
            break
        out.append(nxt)
        prev, cur = cur, nxt
        if len(out) > len(nbr):
            break
    return np.array(out, np.int64)


def _coarse_f_vector(lat, cell_region, n_regions, space):
    """f-vector of the complex of the regions when the lattice subdivides them.

    A point's region face is determined by the set of closed regions and closed
    domain facets containing it (a polyhedral complex is determined by its
    maximal cells); engine cells with equal sets form one face of the regions'
    complex, of the largest dimension among them.
    """
    import scipy.sparse as sp

    d = lat.d
    n_lab = 0
    # columns: regions, then domain facets (labels < 0 of the (d-1)-cells)
    lab = lat.label
    dom = lab < 0
    dom_ids = np.unique(lab[dom])
    n_lab = len(dom_ids)
    ncol = n_regions + n_lab
    M = sp.csr_matrix((np.ones(lat.f(d), np.int8), (np.arange(lat.f(d)), cell_region)),
                      shape=(lat.f(d), ncol))
    mats = [None] * (d + 1)
    mats[d] = M
    Dd1 = sp.csr_matrix((np.ones(int(dom.sum()), np.int8),
                         (np.flatnonzero(dom), n_regions + np.searchsorted(dom_ids, lab[dom]))),
                        shape=(lat.f(d - 1), ncol))
    for k in range(d, 0, -1):
        B = lat.incidence(k).T.tocsr()  # (f_{k-1}, f_k)
        Mk = (B @ mats[k]).tocsr()
        if k == d:
            Mk = Mk + Dd1
        Mk.data[:] = 1
        mats[k - 1] = Mk
    rng = np.random.default_rng(12345)
    w1 = rng.integers(1, 1 << 62, ncol, dtype=np.int64)
    w2 = rng.integers(1, 1 << 62, ncol, dtype=np.int64)
    keys, dims = [], []
    for k in range(d + 1):
        Mk = mats[k].tocsr()
        Mk.sum_duplicates()
        if space:
            keep = ~lat.onb[k]
        else:
            keep = np.ones(lat.f(k), bool)
        rows = np.repeat(np.arange(Mk.shape[0]), np.diff(Mk.indptr))
        with np.errstate(over="ignore"):
            h1 = np.zeros(Mk.shape[0], np.uint64)
            h2 = np.zeros(Mk.shape[0], np.uint64)
            np.add.at(h1, rows, w1[Mk.indices].astype(np.uint64))
            np.add.at(h2, rows, w2[Mk.indices].astype(np.uint64))
        cnt = np.diff(Mk.indptr).astype(np.uint64)
        key = np.stack([h1, h2, cnt], axis=1)[keep]
        keys.append(key)
        dims.append(np.full(len(key), k))
    key = np.concatenate(keys)
    dim = np.concatenate(dims)
    _, inv = np.unique(key, axis=0, return_inverse=True)
    top = np.zeros(inv.max() + 1 if len(inv) else 0, np.int64)
    np.maximum.at(top, inv.reshape(-1), dim)
    return tuple(int((top == k).sum()) for k in range(d + 1))
