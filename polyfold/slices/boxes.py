"""Region complexes of boxes and polytopes: :func:`box_complex`, :func:`polytope_complex`.

Two-dimensional boxes go through the polygon engine of
:func:`~polyfold.slices.slice_complex`; higher dimensions (up to ``max_dim``)
split cells in H-representation with HiGHS LPs
(:func:`polyfold.regions._box_engine`).  Part of :mod:`polyfold.slices`, which
re-exports the public names.
"""

import numpy as np

from .._validation import as_float_array, check_mode
from ..exceptions import DomainError, ShapeError, ValidationError
from ..network import check_dense as _check_dense
from ..tolerance import get_tol
from ._domain import _domain_polygon
from .planes import _build_slice
from .result import RegionComplex


def box_complex(net, lower, upper, *, mode="certified", max_dim=6, tol=None):
    """The linear regions of ``net`` inside the box ``lower <= x <= upper``.

    Parameters
    ----------
    net : PLNet
        Input dimension 2..``max_dim``.
    lower, upper : float or (d,) float
    mode : {"certified", "float"}
        Two-dimensional boxes also accept ``"exact"``; they are computed with the
        polygon engine of :func:`slice_complex`.
    max_dim : int
        Largest input dimension accepted (the number of regions and the LP work
        grow quickly with it).
    tol : Tolerance, optional

    Returns
    -------
    RegionComplex
        ``kind="box"`` (``kind="slice"`` with the identity plane for d = 2): per
        region the H-representation (:meth:`RegionComplex.hrep`), vertices via
        Qhull (:meth:`RegionComplex.region_vertices`, d <= 4), volume, interior
        point (Chebyshev centre), affine map; ``graph``.

    Raises
    ------
    DomainError
        If the box is empty or inverted.
    ValidationError
        If ``net.input_dim > max_dim`` (use :func:`slice_complex` instead) or < 2.

    Examples
    --------
    >>> from polyfold import zoo
    >>> net = zoo.arrangement(5, 3, seed=0)
    >>> cx = box_complex(net, -100.0, 100.0, mode="float")
    >>> cx.n_regions                # 1 + 5 + C(5, 2) + C(5, 3) planes in general position
    26
    """
    from .. import _lp

    net = _check_dense(net, "box_complex")
    tol = get_tol(tol)
    d = net.input_dim
    if d > max_dim:
        raise ValidationError(
            f"box_complex handles input dimension <= max_dim={max_dim}, got input_dim={d}; "
            "the number of regions and LPs explodes with d: use "
            "polyfold.slice_complex(net, origin, e1, e2, bounds=...) for a 2D slice, or "
            "raise max_dim if you accept the cost."
        )
    A, c = _lp.box_rows(lower, upper, d, name="box (lower, upper)")
    lo, hi = -c[:d], c[d:]
    if np.any(lo >= hi):
        k = int(np.argmax(lo >= hi))
        raise DomainError(
            f"the box is empty: lower[{k}] = {lo[k]!r} >= upper[{k}] = {hi[k]!r}; pass "
            "lower < upper in every coordinate."
        )
    if d == 2:
        mode = check_mode(mode)
        return _build_slice(net, np.zeros(2), np.array([1.0, 0.0]), np.array([0.0, 1.0]),
                            _domain_polygon((lo[0], hi[0], lo[1], hi[1]), None, tol), mode, tol)
    return polytope_complex(net, A, c, mode=mode, max_dim=max_dim, tol=tol)


def polytope_complex(net, A, c, *, mode="certified", max_dim=6, tol=None):
    """The linear regions of ``net`` inside the polytope ``{x : A x + c >= 0}``.

    Parameters
    ----------
    net : PLNet
    A : (m, d) float
    c : (m,) float
        A bounded polytope with non-empty interior.
    mode : {"certified", "float"}
        ``"certified"`` checks every region in exact rationals: its interior point
        (Chebyshev centre) has exactly the region's codes.  A failed check raises
        :class:`SolverError`.  This certifies that every reported region exists
        with its codes; regions thinner than the LP tolerance could still be
        missed (use :func:`slice_complex` with ``mode="exact"`` for exact 2D
        complexes).
    max_dim : int
    tol : Tolerance, optional

    Returns
    -------
    RegionComplex (``kind="box"``)

    Raises
    ------
    DomainError
        If the polytope is empty, has no interior, or is unbounded.
    SolverError
        If an LP or Qhull fails (``status`` holds HiGHS's code, or ``"qhull"``), or
        the certification fails (``status="certification"``).

    Notes
    -----
    Layer-by-layer splitting in H-representation: every cell carries its rows and
    its vertices (Qhull half-space intersection around its Chebyshev centre).  A
    neuron splits a cell when its preactivation (affine on the cell) takes both
    signs at the vertices (beyond ``tol.zero`` times its scale); each child gets a
    Chebyshev centre (one LP) and its vertices; children thinner than the LP
    tolerance are not created.  Adjacency: two cells on opposite sides of one splitting
    hyperplane are adjacent iff their common face on it has dimension ``d - 1``
    (one LP per candidate pair).

    Examples
    --------
    >>> import numpy as np
    >>> from polyfold import zoo
    >>> net = zoo.arrangement(3, 3, seed=1)
    >>> A = np.vstack([np.eye(3), -np.ones((1, 3))]); c = np.array([50.0, 50, 50, 50])
    >>> polytope_complex(net, A, c, mode="float").n_regions >= 1
    True
    """
    from ..regions import _box_engine

    net = _check_dense(net, "box_complex")
    tol = get_tol(tol)
    mode = check_mode(mode, ("float", "certified"))
    A = as_float_array(A, "A", ndim=2)
    c = as_float_array(c, "c", ndim=1)
    d = net.input_dim
    if A.shape[1] != d or c.shape[0] != A.shape[0]:
        raise ShapeError(
            f"A must have shape (m, {d}) and c shape (m,) for input_dim={d}, got "
            f"{A.shape} and {c.shape}."
        )
    if d > max_dim:
        raise ValidationError(
            f"polytope_complex handles input dimension <= max_dim={max_dim}, got {d}; "
            "use polyfold.slice_complex for a 2D slice."
        )
    res = _box_engine(net, A, c, mode=mode, tol=tol)
    return RegionComplex(
        net=net,
        kind="box",
        mode=mode,
        n_regions=len(res["codes"]),
        codes=res["codes"],
        measures=res["volumes"],
        interior_points=res["points"],
        domain=(A, c),
        n_recomputed=res["n_recomputed"],
        n_degenerate=res["n_degenerate"],
        touches_boundary=res["boundary"],
        tol=tol,
        _hrep=res["hrep"],
        _labels=res["facet_labels"],
    )
