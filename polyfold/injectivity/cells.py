"""Domains and the cell enumeration of the injectivity verdict.

The domains :class:`Box`, :class:`Polytope` and :class:`Points` accepted by
:func:`polyfold.injectivity.check_injectivity`, their parsing into inequalities,
and the private refinement of a convex domain into cells on which every neuron
has a fixed sign (LP slack tests).  Part of :mod:`polyfold.injectivity`, which
re-exports the public names.
"""

from dataclasses import dataclass

import numpy as np

from .._validation import as_float_array
from ..exceptions import DomainError, ShapeError, SolverError, ValidationError
from .layers import _check_X
from .._repr import summary_repr


# ---------------------------------------------------------------------------
# domains and the cell enumeration
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Box:
    """The box ``lower <= x <= upper`` (scalars or (n,) arrays)."""

    __repr__ = summary_repr

    lower: object
    upper: object


@dataclass(frozen=True)
class Polytope:
    """The polytope ``{x : A x + c >= 0}``, ``A`` of shape (k, n), ``c`` of shape (k,)."""

    __repr__ = summary_repr

    A: object
    c: object


@dataclass(frozen=True)
class Points:
    """A finite set of points, shape (k, n)."""

    __repr__ = summary_repr

    X: object


def _parse_domain(domain, n):
    """-> (kind, A, c) for space/box/polytope, or ("points", X, None)."""
    if domain is None:
        return "space", np.zeros((0, n)), np.zeros(0)
    if isinstance(domain, (Points, np.ndarray)):
        X, _ = _check_X(domain.X if isinstance(domain, Points) else domain, n, "domain points")
        if len(X) == 0:
            raise ValidationError(
                f"the domain points are empty (shape {X.shape}): a verdict on data is about "
                "the points given, and an empty set would pass vacuously; pass at least one "
                f"point of shape (k, {n}) with k >= 1, or domain=None for all of R^{n}."
            )
        return "points", X, None
    if isinstance(domain, Box):
        domain = (domain.lower, domain.upper)
        kind = "box"
    elif isinstance(domain, Polytope):
        domain = (domain.A, domain.c)
        kind = "polytope"
    elif isinstance(domain, (tuple, list)) and len(domain) == 2:
        kind = "polytope" if np.ndim(domain[0]) == 2 else "box"
    else:
        raise ValidationError(
            f"domain must be None (all of R^n), a box (lower, upper), a polytope (A, c) "
            f"meaning {{x : A x + c >= 0}}, or a (k, {n}) ndarray of points, got "
            f"{type(domain).__name__}; polyfold.injectivity.Box / Polytope / Points make it explicit."
        )
    if kind == "box":
        from .._lp import box_rows

        A, c = box_rows(domain[0], domain[1], n, name="domain")
        lo, hi = -c[:n], c[n:]
        if np.any(lo == hi):
            k = int(np.argmax(lo == hi))
            raise DomainError(
                f"the domain box has zero width in coordinate {k} (lower = upper = {lo[k]!r}); "
                "injectivity is checked on full-dimensional boxes: give it a positive width "
                "or restrict W to the remaining coordinates."
            )
        return "box", A, c
    A = as_float_array(domain[0], "domain A", ndim=2)
    c = as_float_array(domain[1], "domain c", ndim=1)
    if A.shape[1] != n or c.shape[0] != A.shape[0]:
        raise ShapeError(
            f"a polytope domain (A, c) needs A of shape (k, {n}) and c of shape (k,), got "
            f"{A.shape} and {c.shape}."
        )
    return "polytope", A, c


def _normalise(A, c):
    nrm = np.linalg.norm(A, axis=1)
    nz = nrm > 0
    return A[nz] / nrm[nz, None], c[nz] / nrm[nz], A[~nz], c[~nz]


def _max_slack(A, c, cap, what="cell"):
    """Maximise r s.t. A x + c >= r (unit rows), r <= cap. -> (x, r) or (None, -inf)."""
    from scipy.optimize import linprog

    k, n = A.shape
    cost = np.zeros(n + 1)
    cost[-1] = -1.0
    bounds = [(None, None)] * n + [(None, cap)]
    if k == 0:
        return np.zeros(n), cap
    res = linprog(cost, A_ub=np.hstack([-A, np.ones((k, 1))]), b_ub=c, bounds=bounds, method="highs")
    if res.status == 2:
        return None, -np.inf
    if res.status != 0:
        raise SolverError(
            f"HiGHS failed on a {what} LP (status {res.status}: {res.message}); rescale W "
            "or the domain.", status=int(res.status))
    return np.asarray(res.x[:n]), float(res.x[n])


@dataclass
class _Cell:
    A: np.ndarray  # unit rows, constraints A x + c >= 0
    c: np.ndarray
    center: np.ndarray
    radius: float
    signs: list  # +1 / -1 per hyperplane processed so far


def _refine(cells, H, h, eps, cap, max_cells):
    """Split open cells by the hyperplanes ``H x + h = 0`` (one at a time).

    Each output cell carries its strict sign for every hyperplane (+1 where
    ``H x + h > 0``).  A zero row is constant: +1 iff ``h >= 0`` (the ``>=``
    convention), and it does not split.  Only pieces with an inscribed ball of
    radius > ``eps`` are kept (thinner slivers are not resolved).
    """
    for j in range(H.shape[0]):
        a = H[j]
        na = np.linalg.norm(a)
        if na == 0:
            s = 1 if h[j] >= 0 else -1
            for cell in cells:
                cell.signs.append(s)
            continue
        a, b = a / na, h[j] / na
        out = []
        for cell in cells:
            val = float(a @ cell.center + b)
            side = 1 if val > 0 else -1
            # is there room on the other side?
            A2 = np.vstack([cell.A, -side * a])
            c2 = np.concatenate([cell.c, [-side * b]])
            x2, r2 = _max_slack(A2, c2, cap)
            if r2 <= eps:  # the hyperplane does not cut this cell
                cell.signs.append(side)
                out.append(cell)
                continue
            if val * side <= eps:  # center (nearly) on the plane: re-centre this side too
                A1 = np.vstack([cell.A, side * a])
                c1 = np.concatenate([cell.c, [side * b]])
                x1, r1 = _max_slack(A1, c1, cap)
                if r1 <= eps:
                    out.append(_Cell(A2, c2, x2, r2, cell.signs + [-side]))
                    continue
            else:
                A1 = np.vstack([cell.A, side * a])
                c1 = np.concatenate([cell.c, [side * b]])
                x1, r1 = _max_slack(A1, c1, cap)
            out.append(_Cell(A1, c1, x1, r1, cell.signs + [side]))
            out.append(_Cell(A2, c2, x2, r2, cell.signs + [-side]))
        cells = out
        if len(cells) > max_cells:
            raise ValidationError(
                f"the arrangement has more than max_cells={max_cells} cells in the domain; "
                "raise max_cells=, shrink the domain, or check on data points instead "
                "(domain=Points(X))."
            )
    return cells


def _initial_cell(A, c, scale, tol):
    An, cn, A0, c0 = _normalise(A, c)
    if np.any(c0 < 0):
        raise DomainError("the polytope domain is empty: a zero row has c < 0; fix (A, c).")
    cap = scale
    x, r = _max_slack(An, cn, cap, "domain")
    eps = tol.lp * scale
    if x is None or r <= eps:
        raise DomainError(
            "the domain is empty or not full-dimensional (its largest inscribed ball has "
            f"radius {max(r, 0.0):.3g}); injectivity is checked on full-dimensional "
            "boxes / polytopes; for points pass an ndarray of shape (k, n)."
        )
    return _Cell(An, cn, x, r, []), eps, cap
