"""Decision boundaries inside a region (private part of :func:`region_statistics`):
predicted class, class-score gradients, and which boundaries cross the region at
what distance."""

import numpy as np

from .. import _lp
from ._geometry import _axis_rows_as_bounds, _least_distance_in_hyperplane


def _label(f):
    """Predicted class from logits (argmax; ``f > 0`` for one output)."""
    f = np.asarray(f)
    if f.shape[-1] == 1:
        return int(f[..., 0] > 0)
    return int(np.argmax(f))


def _class_gradient(V, u, c):
    """Score of class ``c`` as an affine map ``(grad, offset)``.

    For one output the score of class 1 is the logit and of class 0 its negative.
    """
    if V.shape[0] == 1:
        s = 1.0 if c == 1 else -1.0
        return s * V[0], s * u[0]
    return V[c], u[c]


def _pair_margins(V, u, c):
    """Rows ``(g_j, h_j)`` with ``g_j x + h_j = score_c - score_j`` for every rival j."""
    if V.shape[0] == 1:
        g, h = _class_gradient(V, u, c)
        return np.array([1 - c]), (2.0 * g)[None, :], np.array([2.0 * h])
    others = np.array([j for j in range(V.shape[0]) if j != c], dtype=np.int64)
    return others, V[c][None, :] - V[others], u[c] - u[others]



def _boundaries(x, V, u, cls, An_f, cn_f, tol):
    """Decision boundaries of class ``cls`` inside the region (rows ``An_f, cn_f``)."""
    others, G, H = _pair_margins(V, u, cls)
    gn = np.linalg.norm(G, axis=1)
    scale = max(float(np.abs(V).max(initial=0.0)), 1.0)
    free = np.full(len(others), np.inf)
    crosses = np.zeros(len(others), bool)
    dist = np.full(len(others), np.inf)
    An_gen, cn_gen, bounds = _axis_rows_as_bounds(An_f, cn_f)
    todo = []
    for t in range(len(others)):
        if gn[t] <= tol.rank * scale:
            continue  # constant margin: no boundary hyperplane
        g, h = G[t] / gn[t], H[t] / gn[t]
        e = float(g @ x + h)
        free[t] = abs(e)
        p0 = x - e * g  # foot of the perpendicular from x on the boundary hyperplane
        band = 2.0 * tol.lp * (1.0 + float(np.abs(p0).max()))
        if np.all(An_f @ p0 + cn_f > band):
            # the hyperplane passes through the interior at p0: it crosses, and the
            # nearest boundary point within the region is the foot itself
            crosses[t] = True
            dist[t] = abs(e)
            continue
        todo.append((t, g, h, e, p0))
    if not todo:
        return others, crosses, dist, free
    # min g.x over the region for every remaining rival, on one warm-started model
    results = _lp._linprog_costs(np.array([j[1] for j in todo]), -An_gen, cn_gen, bounds, tol,
                                 "decision-boundary")
    for (t, g, h, e, p0), res in zip(todo, results):
        if res.status == 2:
            raise _lp.EmptyPolytopeError(
                "the region is empty (the decision-boundary LP is infeasible)."
            )
        if res.status == 3:
            crosses[t] = True
        else:
            crosses[t] = float(res.fun) + h < -tol.lp * (1.0 + float(np.abs(res.x).max()))
        if not crosses[t]:
            continue
        # distance to {y in R : g y + h = 0}: from the foot p0, the shortest in-plane
        # move that satisfies every row (least-distance programming); Pythagoras
        y = _least_distance_in_hyperplane(An_f, -(An_f @ p0 + cn_f), g, tol)
        dist[t] = np.nan if y is None else float(np.hypot(e, np.linalg.norm(y)))
    return others, crosses, dist, free
