"""Input checks of the slice complexes: the slice plane and its domain polygon.

:func:`_check_plane` validates ``origin, e1, e2`` (shapes, two independent
directions); :func:`_domain_polygon` turns ``bounds=`` or ``polygon=`` into a
strictly convex, counter-clockwise polygon in (u, v).
"""

import numpy as np

from .. import arith
from .._validation import as_float_array
from ..exceptions import DegenerateInputError, DomainError, ShapeError, ValidationError


def check_planar_input(net):
    """A 2D slice needs a network with at least two inputs (else a clear error)."""
    d = int(net.input_dim)
    if d < 2:
        raise ValidationError(
            f"a 2D slice needs a network with at least 2 inputs, but this one has "
            f"input_dim={d}: its input space is a line, which has no planes to slice; "
            "use polyfold.segment_crossings(net, a, b) (polyfold crossings) for its pieces."
        )
    return d


def _check_plane(net, origin, e1, e2, tol, mode="float"):
    d = check_planar_input(net)
    out = []
    for name, v in (("origin", origin), ("e1", e1), ("e2", e2)):
        a = as_float_array(v, name)
        if a.shape == tuple(getattr(net, "input_shape", (d,))):
            a = a.reshape(-1)  # one image, shaped
        if a.shape != (d,):
            raise ShapeError(
                f"{name} must have shape ({d},) to match the network's input_dim={d}, "
                f"got {a.shape}; flatten images with x.ravel()."
            )
        out.append(a)
    x0, a, b = out
    na, nb = float(a @ a), float(b @ b)
    if na == 0.0 or nb == 0.0:
        which = "e1" if na == 0.0 else "e2"
        raise DegenerateInputError(
            f"{which} is the zero vector; the slice needs two independent directions "
            "(e.g. e1 = x2 - x1, e2 = x3 - x1 for three distinct data points)."
        )
    if mode == "float":
        gram = na * nb - float(a @ b) ** 2
        parallel = gram <= tol.rank * na * nb
        how = "|cos| = 1 within Tolerance.rank"
    else:  # exact and certified modes handle any two independent directions
        parallel = arith.exact_rank(np.stack([a, b])) < 2
        how = "exactly"
    if parallel:
        raise DegenerateInputError(
            f"e1 and e2 are parallel ({how}); the slice needs two "
            "independent directions: pick a third point off the line, or use "
            "polyfold.segment_crossings for a one-dimensional path."
        )
    return x0, a, b


def _domain_polygon(bounds, polygon, tol, name="bounds"):
    if (bounds is None) == (polygon is None):
        raise ValidationError(
            "pass exactly one of bounds=(umin, umax, vmin, vmax) or polygon=(k, 2) array "
            "for the slice's domain in (u, v) coordinates"
            + ("" if bounds is None else f"; got both bounds={bounds!r} and a polygon")
            + "."
        )
    if bounds is not None:
        b = as_float_array(bounds, "bounds")
        if b.shape != (4,):
            raise ShapeError(
                f"bounds must be (umin, umax, vmin, vmax), got shape {b.shape}; "
                "for a general convex domain pass polygon=."
            )
        umin, umax, vmin, vmax = b.tolist()
        if not (umin < umax and vmin < vmax):
            raise DomainError(
                f"bounds must satisfy umin < umax and vmin < vmax, got {tuple(b.tolist())}; "
                "an empty or inverted rectangle has no regions."
            )
        P = np.array([[umin, vmin], [umax, vmin], [umax, vmax], [umin, vmax]])
        _check_area(P, name)
        return P
    P = as_float_array(polygon, "polygon")
    if P.ndim != 2 or P.shape[1] != 2 or P.shape[0] < 3:
        raise ShapeError(
            f"polygon must have shape (k, 2) with k >= 3 vertices in (u, v), got {P.shape}."
        )
    Q = arith.fmpq_array(P)
    k = len(P)
    cross = []
    for i in range(k):
        a, b, c = Q[i], Q[(i + 1) % k], Q[(i + 2) % k]
        cross.append((b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0]))
    if all(x <= 0 for x in cross):  # clockwise: reverse
        P = P[::-1].copy()
        cross = [-x for x in cross[::-1]]
    if not all(x > 0 for x in cross):
        raise DomainError(
            "polygon must be strictly convex with distinct vertices in order (no three "
            "consecutive vertices collinear, no repeated vertex); pass its convex hull "
            "(scipy.spatial.ConvexHull(points).vertices) or split it into convex parts."
        )
    _check_area(P, "polygon")
    return np.ascontiguousarray(P)


#: the largest and smallest domain measures float64 holds (normal numbers)
_FMAX = float(np.finfo(np.float64).max)
_FTINY = float(np.finfo(np.float64).tiny)


def _check_area(P, name):
    """Refuse a domain whose area (exact, from the float vertices) is not a normal
    float64: the region areas (``measures``) could not be represented."""
    Q = arith.fmpq_array(P)
    k = len(Q)
    twice = sum((Q[i][0] * Q[(i + 1) % k][1] - Q[(i + 1) % k][0] * Q[i][1] for i in range(k)),
                arith.ZERO)
    area = abs(twice) / 2
    big = area > arith.to_fmpq(_FMAX)
    if big or area < arith.to_fmpq(_FTINY):
        raise DomainError(
            f"{name}: the domain's area is {'above' if big else 'below'} what float64 holds "
            f"({'1.8e308' if big else '2.2e-308'}), so region areas (measures) cannot be "
            f"represented; pass {'smaller' if big else 'larger'} bounds, or rescale the "
            f"plane: e1, e2 times s with the (u, v) bounds divided by s give the same slice."
        )
