"""Small geometric kernels of the region statistics (private): least-distance
programming, an orthonormal basis of a hyperplane, box rows as LP bounds."""

import numpy as np


# ---------------------------------------------------------------------------
# least-distance programming (Lawson & Hanson)
# ---------------------------------------------------------------------------
def _least_distance(G, h, tol):
    """Shortest ``y`` with ``G y >= h`` (None when infeasible).

    Lawson & Hanson's least-distance programming reduced to one non-negative
    least-squares problem (:func:`_least_distance_nnls`), solved by constraint
    generation: first on the rows ``y = 0`` violates, then adding the rows the
    solution violates, until it satisfies them all.  Every subproblem relaxes the
    whole problem, so its solution is no longer than the true one; a solution
    that satisfies every row is therefore the true one.  Only the few rows near
    the answer enter an NNLS, instead of all of them.
    """
    m, d = G.shape
    if m == 0:
        return np.zeros(d)
    eps = 1e-12 * (1.0 + float(np.abs(h).max()))
    sel = h > eps
    if not sel.any():
        return np.zeros(d)  # y = 0 satisfies every row
    while True:
        y = _least_distance_nnls(G[sel], h[sel], tol)
        if y is None:
            return None  # a subset of the rows is infeasible already
        viol = (G @ y < h - eps) & ~sel
        if not viol.any():
            return y
        sel |= viol


def _least_distance_in_hyperplane(G, h, n, tol):
    """Shortest ``z`` with ``G z >= h`` and ``n . z = 0`` (``n`` a unit vector), or None.

    The rows projected onto the hyperplane, ``G - (G n) n^T``, give the same
    least-distance problem without a basis of the hyperplane: its solution is a
    combination of those rows, so it lies in the hyperplane by construction.
    """
    Gp = G - np.outer(G @ n, n)
    z = _least_distance(Gp, h, tol)
    if z is None:
        return None
    return z - (n @ z) * n  # remove the rounding component along n


def _least_distance_nnls(G, h, tol):
    """Lawson & Hanson: with ``E = [G^T; h^T]`` and ``f = e_{d+1}``, solve
    ``min ||E u - f||, u >= 0``; the residual ``r = E u - f`` is zero iff
    ``G y >= h`` is infeasible, otherwise ``y = -r[:d] / r[d]``."""
    from scipy.optimize import nnls

    m, d = G.shape
    E = np.vstack([G.T, h[None, :]])
    f = np.zeros(d + 1)
    f[-1] = 1.0
    u, _ = nnls(E, f, maxiter=50 * (m + d + 1))
    r = E @ u - f
    if not r[-1] < -tol.lp:
        return None
    return -r[:d] / r[-1]


def _complement_basis(n):
    """Orthonormal basis ``(d, d - 1)`` of the hyperplane orthogonal to unit ``n``.

    Columns of the Householder reflection that maps ``n`` to a coordinate axis,
    without that axis' column.
    """
    d = n.shape[0]
    k = int(np.argmax(np.abs(n)))
    v = n.copy()
    v[k] += 1.0 if n[k] >= 0 else -1.0
    H = np.eye(d) - (2.0 / float(v @ v)) * np.outer(v, v)
    return np.delete(H, k, axis=1)



def _axis_rows_as_bounds(An, cn):
    """Split unit rows into general rows and variable bounds (axis-aligned rows).

    HiGHS handles bounds natively, so the ``2 d`` faces of a domain box cost
    nothing as bounds.  Returns ``(A_general, c_general, bounds)``.
    """
    d = An.shape[1]
    nnz = np.count_nonzero(An, axis=1)
    axis = nnz == 1
    k = np.argmax(An != 0, axis=1)
    lo = np.full(d, -np.inf)
    hi = np.full(d, np.inf)
    ax = np.flatnonzero(axis)
    pos = An[ax, k[ax]] > 0
    # unit rows: +x_k + c >= 0  ->  x_k >= -c ;  -x_k + c >= 0  ->  x_k <= c
    np.maximum.at(lo, k[ax[pos]], -cn[ax[pos]])
    np.minimum.at(hi, k[ax[~pos]], cn[ax[~pos]])
    bounds = [(a if np.isfinite(a) else None, b if np.isfinite(b) else None) for a, b in zip(lo, hi)]
    return An[~axis], cn[~axis], bounds
