"""Betti numbers of subcomplexes over GF(2) and volumes of cells (private).

Cellular homology of a regular CW complex whose closed cells are convex polytopes:
the boundary matrix ``d_k`` has a 1 where a (k-1)-cell is a facet of a k-cell (over
GF(2) every incidence number is 1, so no orientations are needed), and
``b_k = n_k - rank d_k - rank d_{k+1}``.  Ranks are computed by column reduction
with pivots on the lowest row, each column a Python integer used as a bit set.
"""

import numpy as np

from ..exceptions import DomainError

TINY = np.finfo(np.float64).tiny


def gf2_rank(seg, rows, n_cols):
    """Rank over GF(2) of the 0/1 matrix with entries ``(rows[i], seg[i])``.

    Parameters
    ----------
    seg : (nnz,) int
        Column of every entry.
    rows : (nnz,) int
        Row of every entry (entries appearing twice cancel).
    n_cols : int

    Returns
    -------
    int
    """
    if len(seg) == 0:
        return 0
    order = np.lexsort((rows, seg))
    seg, rows = np.asarray(seg)[order], np.asarray(rows)[order]
    cuts = np.flatnonzero(np.diff(seg)) + 1
    pivots = {}
    rank = 0
    # short columns first keeps the fill-in small
    cols = np.split(rows, cuts)
    cols.sort(key=len)
    for col in cols:
        v = 0
        for r in col.tolist():
            v ^= 1 << r
        while v:
            low = v.bit_length() - 1
            p = pivots.get(low)
            if p is None:
                pivots[low] = v
                rank += 1
                break
            v ^= p
    return rank


def betti_numbers(lat, top_cells, top_dim, extra=None):
    """Betti numbers ``(b_0, ..., b_{top_dim})`` over GF(2) of the closure of some
    cells of dimension ``top_dim`` of a lattice (and of lower-dimensional ones).

    Parameters
    ----------
    lat : Lattice
    top_cells : (n,) int
        Ids of the ``top_dim``-cells whose closure is the subcomplex.
    top_dim : int
    extra : dict, optional
        ``{k: ids}`` of k-cells (``k < top_dim``) whose closures join the subcomplex.

    Returns
    -------
    tuple of int
    """
    extra = extra or {}
    members = [None] * (top_dim + 1)
    members[top_dim] = np.unique(np.asarray(top_cells, np.int64))
    for k in range(top_dim, 0, -1):
        _, g = lat.rows[k].gather(members[k])
        members[k - 1] = np.unique(np.concatenate([np.asarray(g, np.int64),
                                                   np.asarray(extra.get(k - 1, ()), np.int64)]))
    n = [len(m) for m in members]
    if sum(n) == 0:
        return tuple(0 for _ in range(top_dim + 1))
    ranks = [0] * (top_dim + 2)
    for k in range(1, top_dim + 1):
        seg, g = lat.rows[k].gather(members[k])
        # renumber the rows within the subcomplex
        r = np.searchsorted(members[k - 1], g)
        ranks[k] = gf2_rank(seg, r, n[k])
    return tuple(int(n[k] - ranks[k] - ranks[k + 1]) for k in range(top_dim + 1))


def _exponents(X, per_axis):
    """Binary exponents ``e`` (``(d,)`` int, equal unless ``per_axis``) with the largest
    ``|X|`` of every axis (of all of ``X``) in ``[1/2, 1)`` after scaling by ``2^-e``."""
    A = np.abs(np.where(np.isfinite(X), X, 0.0))
    top = A.max(axis=0) if len(A) else np.zeros(X.shape[1])
    if not per_axis:
        top = np.full(X.shape[1], top.max() if len(top) else 0.0)
    return np.frexp(top)[1].astype(np.int64)  # (frexp(0) gives exponent 0)


def cell_volumes(lat, X, k, cells=None, *, overflow="raise"):
    """k-dimensional volumes of k-cells from their vertex coordinates.

    Coning from each cell's vertex centroid ``c_F`` over its facets:
    ``vol_k(F) = (1/k) sum_G dist(c_F, aff G) vol_{k-1}(G)``, recursively down to
    edge lengths; ``aff G`` from the principal directions of ``G``'s vertices.
    Valid for cells with subdivided boundaries (the sum is additive).

    The coordinates are first scaled by powers of two, which is exact: for
    full-dimensional cells (``k = d``) every axis by its own (a box
    ``[-L, L]^2 x [-h, h]`` becomes a cube, so thin domains keep their accuracy), else
    all axes by one; the volumes are then scaled back by the product of the factors.
    Coordinates near ``1e155`` (whose squares overflow) and below ``1e-155`` (whose
    squares underflow) therefore give the volumes of ordinary ones.

    Parameters
    ----------
    lat : Lattice
    X : (nv, d) float
        Vertex coordinates.
    k : int
    cells : (n,) int, optional
        Which k-cells (default all).
    overflow : {"raise", "inf"}
        A volume beyond float64 (above about 1.8e308): DomainError naming the extent
        of the coordinates, or ``inf`` (e.g. for cells of unbounded regions).

    Returns
    -------
    (n,) float

    Raises
    ------
    DomainError
        A volume beyond float64 (``overflow="raise"``), or all k-cells together (the
        whole domain, ``k = d``, default ``cells``) below the smallest normal float64
        (2.2e-308), as the slices' domains (``slices._domain._check_area``).
    """
    X = np.asarray(X, dtype=np.float64)
    d = X.shape[1]
    e = _exponents(X, per_axis=(k == d))
    Xs = np.ldexp(X, -e[None, :])
    vs = _scaled_volumes(lat, Xs, k, cells)
    shift = int(e.sum()) if k == d else k * int(e[0]) if d else 0
    with np.errstate(over="ignore", under="ignore"):
        out = np.ldexp(vs, shift)
    big = np.isinf(out) & np.isfinite(vs)
    if big.any():
        if overflow != "raise":
            return out
        i = int(np.argmax(big))
        ex = np.frexp(vs)[1]
        raise DomainError(
            f"the {k}-volume of a cell is about 2^{int(ex[i]) + shift} "
            f"(1e{(int(ex[i]) + shift) * np.log10(2.0):.0f}), beyond float64 (1.8e308): the "
            f"domain spans {_extent(X)}; pass smaller bounds (scaling the domain by s "
            f"scales the volumes by s^{k})."
        )
    if k == d and cells is None and lat.f(k):
        tf, te = np.frexp(vs.sum())
        if tf > 0 and int(te) + shift - 1 < -1022:  # total = tf 2^te with tf in [1/2, 1)
            raise DomainError(
                f"the domain's {k}-volume is below what float64 holds (2.2e-308), so region "
                f"volumes (measures) cannot be represented: the domain spans {_extent(X)}; "
                f"pass larger bounds (scaling the domain by s scales the volumes by s^{k})."
            )
    return out


def _extent(X):
    """``[lo, hi]`` per axis of the coordinates, for messages."""
    fin = np.where(np.isfinite(X), X, np.nan)
    lo, hi = np.nanmin(fin, axis=0), np.nanmax(fin, axis=0)
    return " x ".join(f"[{a:.6g}, {b:.6g}]" for a, b in zip(lo, hi))


def _scaled_volumes(lat, X, k, cells=None):
    """:func:`cell_volumes` of coordinates of moderate size (no scaling)."""
    d = X.shape[1]
    need = [None] * (k + 1)
    need[k] = np.arange(lat.f(k)) if cells is None else np.asarray(cells, np.int64)
    for j in range(k, 1, -1):
        _, g = lat.rows[j].gather(need[j])
        need[j - 1] = np.unique(g)
    vol = {}
    # edges
    seg, v = lat.rows[1].gather(need[1])
    a, b = v[0::2], v[1::2]
    vol[1] = np.zeros(lat.f(1))
    vol[1][need[1]] = np.linalg.norm(X[a] - X[b], axis=1)
    cents = {}  # centroids of the cells of each dimension (computed once)

    def centroids(j):
        if j not in cents:
            cents[j] = cell_centroids(lat, X, j, need[j])
        return cents[j]

    for j in range(2, k + 1):
        F = need[j]
        cen = centroids(j)[0]
        # orthonormal bases of the (j-1)-cells' affine hulls
        G_all = need[j - 1]
        ceng, sg, verts_g = centroids(j - 1)
        if j == 2:  # edges: the unit direction
            a, b = v[0::2], v[1::2]
            u = X[b] - X[a]
            Q = (u / np.maximum(np.linalg.norm(u, axis=1), TINY)[:, None])[:, :, None]
            edge_pos = np.full(lat.f(1), -1, np.int64)
            edge_pos[need[1]] = np.arange(len(need[1]))
            Q = Q[edge_pos[G_all]]
        else:
            cov = np.zeros((len(G_all), d, d))
            D = X[verts_g] - ceng[sg]
            for a in range(d):
                for b in range(a, d):
                    cov[:, a, b] = np.bincount(sg, weights=D[:, a] * D[:, b], minlength=len(G_all))
                    cov[:, b, a] = cov[:, a, b]
            _, vecs = np.linalg.eigh(cov)
            Q = vecs[:, :, d - (j - 1):]  # top j-1 directions
        pos = np.full(lat.f(j - 1), -1, np.int64)
        pos[G_all] = np.arange(len(G_all))
        fs, gs = lat.rows[j].gather(F)
        gi = pos[gs]
        y = cen[fs] - ceng[gi]
        Qg = Q[gi]
        coef = np.einsum("nij,ni->nj", Qg, y)
        resid = y - np.einsum("nij,nj->ni", Qg, coef)
        contrib = np.linalg.norm(resid, axis=1) * vol[j - 1][gs]
        vj = np.zeros(lat.f(j))
        vj[F] = np.bincount(fs, weights=contrib, minlength=len(F)) / j
        vol[j] = vj
    return vol[k][need[k]]


def cell_centroids(lat, X, k, cells):
    """Vertex centroids of some k-cells.

    Returns
    -------
    centroids : (n, d) float
    seg : (total,) int64
        Position in ``cells`` of every (cell, vertex) incidence.
    verts : (total,) int64
        The vertex of every incidence.
    """
    from ._lattice import _ranges

    off, v = lat.closure_vertices(k)
    cells = np.asarray(cells, np.int64)
    cnt = (off[1:] - off[:-1])[cells]
    verts = v[_ranges(off[:-1][cells], cnt)]
    seg = np.repeat(np.arange(len(cells)), cnt)
    # sums of coordinates scaled by a power of two (exact) cannot overflow
    e = _exponents(np.asarray(X, np.float64), per_axis=True)
    Xv = np.ldexp(X[verts], -e[None, :])
    cen = np.stack([np.bincount(seg, weights=Xv[:, a], minlength=len(cells)) for a in range(X.shape[1])],
                   axis=1)
    return np.ldexp(cen / cnt[:, None], e[None, :]), seg, verts
