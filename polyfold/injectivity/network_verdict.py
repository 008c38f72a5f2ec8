"""Injectivity of a whole network, layer by layer.

:func:`check_network_injectivity` checks each ReLU layer of a
:class:`polyfold.PLNet` on the image of the domain under the layers before it
(regions of the first layers, then a pairwise collision search for deeper
layers) and returns a :class:`NetworkInjectivityVerdict`.  Part of
:mod:`polyfold.injectivity`, which re-exports the public names.
"""

import math
from dataclasses import dataclass

import numpy as np

from .. import arith
from .._validation import check_positive_int
from ..exceptions import DomainError, SolverError, UnsupportedLayerError, ValidationError
from ..network import PLNet, ReLU
from ..tolerance import get_tol
from ._exact import _exact_tuple, _rows_integer, _scaled
from .cells import _Cell, _parse_domain, _refine
from .layers import _check_exact, _readonly, layer_weights
from .._repr import summary_repr
from .verdict import (
    InjectivityVerdict,
    _check_points,
    _convex_verdict,
    _float_collision,
    _in_domain,
    _Witness,
)


# ---------------------------------------------------------------------------
# network level
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkInjectivityVerdict:
    """Result of :func:`check_network_injectivity`.

    Attributes
    ----------
    is_injective : bool or None
        True: certified (see ``scope``); False: two distinct inputs (or, for data,
        two preimages) with the same hidden representation were found; None:
        undetermined (data mode, failure in a deeper layer).
    layers : tuple of InjectivityVerdict
        One verdict per checked hidden layer (the check stops at the first failure).
    first_failing_layer : int or None
    domain_kind : str
    scope : str
        What was checked and what the verdict guarantees.
    """

    __repr__ = summary_repr

    is_injective: object
    layers: tuple
    first_failing_layer: object
    domain_kind: str
    scope: str

    def to_pandas(self):
        """One row per checked hidden layer (needs pandas).

        Columns: ``layer``, ``is_injective``, ``domain_kind``, ``n_pieces`` (cells or
        regions checked) and ``n_failing``.

        Examples
        --------
        >>> from polyfold import zoo
        >>> from polyfold.injectivity import check_network_injectivity
        >>> v = check_network_injectivity(zoo.sawtooth(2), domain=(0.0, 1.0))
        >>> v.to_pandas()[["layer", "is_injective"]].values.tolist()   # T(x) = T(1 - x)
        [[0, True], [1, False]]
        """
        from .._tables import to_dataframe

        return to_dataframe({
            "layer": np.arange(len(self.layers), dtype=np.int64),
            "is_injective": np.array([bool(v.is_injective) for v in self.layers], bool),
            "domain_kind": [v.domain_kind for v in self.layers],
            "n_pieces": np.array([int(v.n_pieces) for v in self.layers], np.int64),
            "n_failing": np.array([int(np.count_nonzero(v.failing)) for v in self.layers],
                                  np.int64),
        }, "NetworkInjectivityVerdict")


@dataclass
class _Region:
    cell: _Cell
    M: np.ndarray  # h(x) = M x + v on the region (float)
    v: np.ndarray
    Mq: object  # exact Jacobian rows of the active neurons (flint fmpq_mat)
    on: np.ndarray  # active neurons of the last layer


def _fmpq_mat(M):
    import flint

    M = np.asarray(M, dtype=np.float64)
    return flint.fmpq_mat(M.shape[0], M.shape[1], [arith.to_fmpq(v) for v in M.ravel().tolist()])


def _select_rows(Q, rows):
    import flint

    n = Q.ncols()
    return flint.fmpq_mat(len(rows), n, [Q[i, j] for i in rows for j in range(n)])


def _fmpq_null_vector(Q):
    """Exact nonzero null vector of a flint fmpq_mat with rank < ncols (list of fmpq)."""
    n = Q.ncols()
    if Q.nrows() == 0:
        return [arith.ONE] + [arith.ZERO] * (n - 1)
    num, _den = Q.numer_denom()
    basis, nullity = num.nullspace()
    return _scaled([int(basis[j, 0]) for j in range(n)])


def _hidden_exact(net, layer, xq):
    """Exact hidden output of ``layer`` at a rational point (list of fmpq)."""
    pts = np.empty((1, len(xq)), dtype=object)
    pts[0, :] = xq
    zs = net.forward_exact(pts)
    return [v for v in net.activations[layer].apply(zs[layer])[0].tolist()]


def check_network_injectivity(net, *, domain, exact=True, max_cells=20_000, max_pairs=200_000, tol=None):
    """Injectivity of a ReLU network's hidden layers, layer by layer.

    Parameters
    ----------
    net : PLNet
        All hidden activations must be ReLU.
    domain : (lower, upper), (A, c), Box, Polytope, (k, n) ndarray or Points
        A full-dimensional box / polytope in input space (small input dimension), or
        data points (any size).
    exact : bool
        Exact active sets and ranks.
    max_cells : int
        Limit on the number of regions per layer.
    max_pairs : int
        Limit on the number of region pairs tested for global collisions.
    tol : Tolerance, optional

    Returns
    -------
    NetworkInjectivityVerdict

    Raises
    ------
    UnsupportedLayerError
        A hidden activation that is not ReLU.
    DomainError
        Bad domain; R^n (``domain=None``) for a net with more than one hidden layer.
    ValidationError
        More than ``max_cells`` regions or ``max_pairs`` pairs.

    Notes
    -----
    Write ``h_l`` for the representation after hidden layer ``l``; ``h_l``
    injective on K implies ``h_{l-1}`` injective on K, so the check stops at the
    first failing layer.

    *Box / polytope (exact structure, small input dimension).*  Layer 0 is
    decided exactly by :func:`check_injectivity`.  For a deeper layer ``l`` the
    regions of ``h_{l-1}`` inside K (where ``h_{l-1}(x) = M_R x + v_R``) are split
    by the pulled-back hyperplanes of layer ``l``; on each open region the map
    ``h_l`` is affine with matrix ``D_I W_l M_R``.  (i) *Local:* if its exact rank
    is < n on some region, ``h_l`` is not injective there (collision exactly
    verified).  (ii) *Global:* otherwise each piece is injective and a collision
    must join two different regions R, R': for each pair whose images can meet
    (interval pruning along random projections), one LP in ``(x, x')`` over
    ``cl R x cl R'`` with ``M_R x + v_R = M_R' x' + v_R'`` maximises and minimises
    ``<g, x - x'>`` for a random ``g``; a nonzero optimum is a collision (float
    LP, checked by a forward pass).  Both steps together decide injectivity of
    ``h_l`` on K up to the LP tolerance.  This is the image of the previous layer's
    domain, handled as the union of the polytopes ``h_{l-1}(cl R)``.

    *Data points (any size).*  The points are pushed through the net in float64
    and each layer is checked on its input points as in :func:`check_injectivity`:
    a pass at every layer means every data point is the unique preimage of its
    representation at every layer, hence of ``h_L`` in input space (certified).
    A failure at layer 0 is an input collision; a failure at a deeper layer means
    the layer loses information on its input space R^{m_{l-1}}, but the other
    preimage may lie outside the image of the earlier layers, so the network
    verdict is then ``None`` (undetermined).

    Examples
    --------
    >>> from polyfold import zoo
    >>> v = check_network_injectivity(zoo.sawtooth(2), domain=(0.0, 1.0))
    >>> v.is_injective, v.first_failing_layer        # the tent map folds [0, 1]
    (False, 1)
    >>> x, x2 = v.layers[1].witness_point, v.layers[1].colliding_point
    >>> bool(abs(x[0] + x2[0] - 1.0) < 1e-9)         # T(x) = T(1 - x)
    True
    """
    tol = get_tol(tol)
    from ..network import check_dense

    check_dense(net, "check_network_injectivity (layer by layer through a dense stack)")
    for l, act in enumerate(net.activations):
        if not isinstance(act, ReLU):
            raise UnsupportedLayerError(
                f"hidden layer {l} uses {act.name!r}; check_network_injectivity handles ReLU nets only."
            )
    max_cells = check_positive_int(max_cells, "max_cells")
    max_pairs = check_positive_int(max_pairs, "max_pairs")
    exact = _check_exact(exact)
    n = net.input_dim
    kind, A, c = _parse_domain(domain, n)
    if kind == "points":
        return _network_points(net, A, exact, tol)
    if kind == "space" and net.depth > 1:
        raise DomainError(
            "check_network_injectivity needs a bounded domain for nets with more than one "
            "hidden layer (the global collision LPs must be bounded); pass a box "
            "domain=(lower, upper)."
        )
    import flint

    verdicts = []
    W0, a0 = layer_weights(net, 0)
    v0, cells0, eps, cap = _convex_verdict(W0, a0, kind, A, c, exact, max_cells, tol)
    verdicts.append(v0)
    scope = (
        "exact region structure in the input domain: layer 0 by the cell test; deeper "
        "layers by exact local ranks plus pairwise collision LPs between regions"
    )
    if not v0.is_injective or net.depth == 1:
        return NetworkInjectivityVerdict(
            is_injective=v0.is_injective, layers=tuple(verdicts),
            first_failing_layer=None if v0.is_injective else 0, domain_kind=kind, scope=scope)
    # layer-0 regions with their affine maps h_0(x) = M x + v
    W0q = _fmpq_mat(W0)
    regions = []
    for cl, act in zip(cells0, v0.active_sets):
        cl.signs = np.where(act, 1, -1).tolist()
        on = np.flatnonzero(act)
        D = np.zeros_like(W0)
        D[on] = W0[on]
        regions.append(_Region(cl, D, np.where(act, -a0, 0.0), _select_rows(W0q, on), on))
    for l in range(1, net.depth):
        Wl, al = layer_weights(net, l)
        Wlq = _fmpq_mat(Wl)
        new = []
        for R in regions:
            H = Wl @ R.M
            h = Wl @ R.v - al
            base = _Cell(R.cell.A, R.cell.c, R.cell.center, R.cell.radius, [])
            for cl in _refine([base], H, h, eps, cap, max_cells):
                sg = np.array(cl.signs)
                on = np.flatnonzero(sg > 0)
                D = np.zeros_like(Wl)
                D[on] = Wl[on]
                M = D @ R.M
                v = np.where(sg > 0, Wl @ R.v - al, 0.0)
                # exact composite: rows `on` of W_l times the previous (active rows of) M
                Wcols = flint.fmpq_mat(len(on), len(R.on),
                                       [Wlq[i, j] for i in on.tolist() for j in R.on.tolist()])
                Mq = Wcols * R.Mq if len(on) and len(R.on) else flint.fmpq_mat(len(on), n)
                new.append(_Region(cl, M, v, Mq, on))
            if len(new) > max_cells:
                raise ValidationError(
                    f"layer {l} has more than max_cells={max_cells} regions in the domain; "
                    "raise max_cells= or check on data points (domain=Points(X))."
                )
        regions = new
        verdict = _deep_layer_verdict(net, l, regions, eps, max_pairs, exact, tol, A, c)
        verdicts.append(verdict)
        if not verdict.is_injective:
            return NetworkInjectivityVerdict(
                is_injective=False, layers=tuple(verdicts), first_failing_layer=l,
                domain_kind=kind, scope=scope)
    return NetworkInjectivityVerdict(
        is_injective=True, layers=tuple(verdicts), first_failing_layer=None,
        domain_kind=kind, scope=scope)


def _deep_layer_verdict(net, l, regions, eps, max_pairs, exact, tol, A_dom, c_dom):
    n = net.input_dim
    k = len(regions)
    m = net.widths[l]
    active = np.zeros((k, m), bool)
    ranks = np.zeros(k, np.int64)
    for i, R in enumerate(regions):
        active[i, R.on] = True
        if exact:
            ranks[i] = int(R.Mq.rank()) if R.Mq.nrows() else 0
        else:
            sv = np.linalg.svd(R.M, compute_uv=False)
            ranks[i] = int(np.sum(sv > tol.rank * max(sv[0], 1e-300))) if sv.size else 0
    centers = np.array([R.cell.center for R in regions])
    radii = np.array([R.cell.radius for R in regions])
    failing = ranks < n
    wit = _Witness()
    notes = f"{k} regions of h_{l} in the domain; "
    if exact:  # confirm each region's layer-l pattern at its centre in rationals
        zs = net.forward_exact(centers)
        pat = np.asarray(zs[l] >= 0, dtype=bool)
        bad = int(np.sum(np.any(pat != active, axis=1)))
        if bad:
            notes += (f"{bad} region centres lie within rounding of a hyperplane (their float "
                      "patterns were kept); ")
    exact_out = lambda x: _hidden_exact(net, l, x)  # noqa: E731
    if np.any(failing):
        cand = np.flatnonzero(failing)
        w = int(cand[np.argmax(radii[cand])])
        R = regions[w]
        d = _fmpq_null_vector(R.Mq) if R.Mq.nrows() else [arith.ONE] + [arith.ZERO] * (n - 1)
        dn = math.sqrt(sum(float(x) ** 2 for x in d))
        t = arith.to_fmpq(0.5 * R.cell.radius / dn)
        xq = [arith.to_fmpq(v) for v in R.cell.center.tolist()]
        x2 = [a + t * b for a, b in zip(xq, d)]
        verified = exact_out(xq) == exact_out(x2) and _in_domain(A_dom, c_dom, x2)
        wit = _Witness(w, R.cell.center.copy(), np.array([float(v) for v in x2]), verified,
                       _exact_tuple(xq), _exact_tuple(x2))
        by_rank = cand[np.lexsort((-radii[cand], ranks[cand]))]
        fl = _float_collision(
            np.zeros((0, n)), None, centers, 0.5 * radii / math.sqrt(n), by_rank, exact_out,
            A_dom, c_dom,
            rows_of=lambda i: _rows_integer(regions[i].Mq) if regions[i].Mq.nrows() else [])
        if fl is not None:
            wit = fl
        notes += ("a region where h_%d has rank < n (local collision). " % l) + wit.note()
        ok = False
    else:
        pair = _pairwise_collision(regions, eps, max_pairs, tol)
        ok = pair is None
        if ok:
            notes += "every region maps injectively and no two regions' images collide (pairwise LPs)."
        else:
            i, j, wp, cp_, gap = pair
            wit = _exact_lp_pair(net, l, regions[i], regions[j], wp, cp_, gap, A_dom, c_dom)
            wit.index = i
            h1 = _hidden_float(net, l, wit.x)
            h2 = _hidden_float(net, l, wit.x2)
            notes += (f"regions {i} and {j} map distinct points to the same h_{l} (LP collision; "
                      f"float check |h(x) - h(x')| = {np.abs(h1 - h2).max():.2e}). " + wit.note())
            failing = failing.copy()
            failing[i] = failing[j] = True
    return InjectivityVerdict(
        is_injective=ok, domain_kind="regions", n_pieces=k, active_sets=_readonly(active),
        ranks=_readonly(ranks), interior_points=_readonly(centers), radii=_readonly(radii),
        failing=_readonly(failing), exact=bool(exact), notes=notes, **wit.fields())


def _local_affine_exact(net, l, p, r):
    """Exact ``(M, v)`` of ``h_l`` on the region around ``p`` (margin ``r`` > 0).

    ``h_l`` is affine on the open region; it is evaluated exactly at ``p`` and at
    ``p + (r / 2) e_k``, which lie inside it.  Returns flint matrices
    ``M (m_l, n)``, ``v (m_l, 1)``, or None when the points' patterns differ.
    """
    import flint

    n = len(p)
    pq = [arith.to_fmpq(v) for v in p]
    eps = arith.to_fmpq(0.5 * r)
    pts = np.empty((n + 1, n), dtype=object)
    pts[:, :] = [pq] * (n + 1)
    for k in range(n):
        pts[k + 1, k] = pq[k] + eps
    zs = net.forward_exact(pts)
    pats = [np.asarray(z > 0) for z in zs[: l + 1]]
    if any(np.any(pt != pt[0]) for pt in pats):
        return None
    H = net.activations[l].apply(zs[l])
    m = H.shape[1]
    M = flint.fmpq_mat(m, n, [(H[k + 1, i] - H[0, i]) / eps for i in range(m) for k in range(n)])
    pv = flint.fmpq_mat(n, 1, pq)
    h0 = flint.fmpq_mat(m, 1, list(H[0]))
    return M, h0 - M * pv


def _exact_lp_pair(net, l, Ri, Rj, x, x2, gap, A_dom, c_dom):
    """Exact collision of two regions near an LP collision ``(x, x2)``.

    A margin LP moves the pair into the regions' interiors (keeping the images
    equal and ``<g, x - x2>`` at least half the LP's value); the exact affine maps
    of ``h_l`` there give the linear system ``M_i x - M_j x2 = v_j - v_i``, and
    the exact point of its solution set nearest to the pair is checked by exact
    forward passes.  Returns a :class:`_Witness` (not verified when any step fails).
    """
    import flint
    from scipy.optimize import linprog

    n = len(x)
    wit = _Witness(None, np.asarray(x, float), np.asarray(x2, float), False)
    Ai, ci, Aj, cj = Ri.cell.A, Ri.cell.c, Rj.cell.A, Rj.cell.c
    g = x - x2
    gn = float(np.linalg.norm(g))
    if gn == 0:
        return wit
    g = g / gn
    A_ub = np.block([[-Ai, np.zeros((len(ci), n)), np.ones((len(ci), 1))],
                     [np.zeros((len(cj), n)), -Aj, np.ones((len(cj), 1))],
                     [-g[None, :], g[None, :], np.zeros((1, 1))]])
    b_ub = np.concatenate([ci, cj, [-0.5 * gap]])
    A_eq = np.hstack([Ri.M, -Rj.M, np.zeros((Ri.M.shape[0], 1))])
    b_eq = Rj.v - Ri.v
    cost = np.zeros(2 * n + 1)
    cost[-1] = -1.0
    cap = max(Ri.cell.radius, Rj.cell.radius)
    res = linprog(cost, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq,
                  bounds=[(None, None)] * (2 * n) + [(None, cap)], method="highs")
    if res.status != 0 or not res.x[-1] > 0:
        return wit
    za, zb, r = res.x[:n], res.x[n:2 * n], float(res.x[-1])
    mi = _local_affine_exact(net, l, za, r)
    mj = _local_affine_exact(net, l, zb, r)
    if mi is None or mj is None:
        return wit
    (Mi, vi), (Mj, vj) = mi, mj
    m = Mi.nrows()
    A = flint.fmpq_mat(m, 2 * n, [Mi[i, k] if k < n else -Mj[i, k - n]
                                  for i in range(m) for k in range(2 * n)])
    b = vj - vi
    z0 = flint.fmpq_mat(2 * n, 1, [arith.to_fmpq(v) for v in np.r_[za, zb].tolist()])
    # independent rows of A: pivots of the reduced row echelon form of A^T
    R, rank = A.transpose().rref()
    piv, col = [], 0
    for i in range(rank):
        while R[i, col] == 0:
            col += 1
        piv.append(col)
    if rank:
        Ar = flint.fmpq_mat(rank, 2 * n, [A[p_, k] for p_ in piv for k in range(2 * n)])
        br = flint.fmpq_mat(rank, 1, [b[p_, 0] for p_ in piv])
        lam = (Ar * Ar.transpose()).solve(Ar * z0 - br)
        z = z0 - Ar.transpose() * lam
    else:
        z = z0
    if A * z != b:
        return wit
    xq = [z[k, 0] for k in range(n)]
    x2q = [z[n + k, 0] for k in range(n)]
    ok = (xq != x2q and _in_domain(A_dom, c_dom, xq) and _in_domain(A_dom, c_dom, x2q)
          and _hidden_exact(net, l, xq) == _hidden_exact(net, l, x2q))
    xf = np.array([float(v) for v in xq])
    x2f = np.array([float(v) for v in x2q])
    floats = bool(ok and not np.array_equal(xf, x2f) and _hidden_exact(
        net, l, [arith.to_fmpq(v) for v in xf]) == _hidden_exact(net, l, [arith.to_fmpq(v) for v in x2f])
        and _in_domain(A_dom, c_dom, xf) and _in_domain(A_dom, c_dom, x2f))
    return _Witness(None, xf, x2f, ok, _exact_tuple(xq), _exact_tuple(x2q), floats)


def _hidden_float(net, l, x):
    zs = net.preactivations(np.asarray(x, dtype=np.float64).reshape(1, -1))
    return np.maximum(zs[l][0], 0.0)


def _image_interval(R, g, tol):
    """min and max of <g, M x + v> over the closed region."""
    from scipy.optimize import linprog

    cost = R.M.T @ g
    off = float(g @ R.v)
    out = []
    for sgn in (1.0, -1.0):
        res = linprog(sgn * cost, A_ub=-R.cell.A, b_ub=R.cell.c, bounds=[(None, None)] * len(cost),
                      method="highs")
        if res.status != 0:
            raise SolverError(f"HiGHS failed on an image-interval LP (status {res.status}).",
                              status=int(res.status))
        out.append(sgn * float(res.fun) + off)
    return out[0], out[1]


def _pairwise_collision(regions, eps, max_pairs, tol):
    from scipy.optimize import linprog

    k = len(regions)
    if k < 2:
        return None
    n = regions[0].M.shape[1]
    p = regions[0].M.shape[0]
    rng = np.random.default_rng(0)
    G = rng.standard_normal((3, p))
    lo = np.zeros((k, 3))
    hi = np.zeros((k, 3))
    for i, R in enumerate(regions):
        for q in range(3):
            lo[i, q], hi[i, q] = _image_interval(R, G[q], tol)
    slack = eps * (1 + np.abs(np.concatenate([lo.ravel(), hi.ravel()])).max())
    pairs = []
    for i in range(k):
        overl = np.all((lo[i + 1:] <= hi[i] + slack) & (lo[i] <= hi[i + 1:] + slack), axis=1)
        pairs.extend((i, i + 1 + j) for j in np.flatnonzero(overl))
        if len(pairs) > max_pairs:
            raise ValidationError(
                f"more than max_pairs={max_pairs} region pairs may collide; raise max_pairs= "
                "or check on data points (domain=Points(X))."
            )
    g = rng.standard_normal(n)
    g /= np.linalg.norm(g)
    thr = max(eps, tol.lp) * 10
    for i, j in pairs:
        Ri, Rj = regions[i], regions[j]
        A_ub = np.block([[-Ri.cell.A, np.zeros((len(Ri.cell.c), n))],
                         [np.zeros((len(Rj.cell.c), n)), -Rj.cell.A]])
        b_ub = np.concatenate([Ri.cell.c, Rj.cell.c])
        A_eq = np.hstack([Ri.M, -Rj.M])
        b_eq = Rj.v - Ri.v
        for sgn in (1.0, -1.0):
            cost = -sgn * np.concatenate([g, -g])  # maximise sgn <g, x - x'>
            res = linprog(cost, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq,
                          bounds=[(None, None)] * (2 * n), method="highs")
            if res.status == 2:
                break  # the images do not meet
            if res.status != 0:
                raise SolverError(f"HiGHS failed on a collision LP (status {res.status}).",
                                  status=int(res.status))
            if -res.fun > thr:
                return i, j, np.asarray(res.x[:n]), np.asarray(res.x[n:]), float(-res.fun)
    return None


def _network_points(net, X, exact, tol):
    verdicts = []
    h = X
    result = True
    first = None
    for l in range(net.depth):
        W, a = layer_weights(net, l)
        v = _check_points(W, a, h, exact, tol)
        verdicts.append(v)
        if not v.is_injective:
            first = l
            result = False if l == 0 else None
            break
        h = np.maximum(h @ W.T - a, 0.0)
    scope = (
        "data points pushed through the net in float64; each layer checked on its input "
        "points (unique preimage in R^{m_{l-1}}): a pass certifies that every data point is "
        "the only preimage of its representation; a deeper-layer failure is inconclusive"
    )
    return NetworkInjectivityVerdict(
        is_injective=result, layers=tuple(verdicts), first_failing_layer=first,
        domain_kind="points", scope=scope)
