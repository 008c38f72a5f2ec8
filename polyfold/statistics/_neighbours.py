"""Region-level work of :func:`region_statistics` (private): facets, orthogonality
of their normals, and the neighbouring region across every neuron facet."""

import numpy as np

from .. import _lp
from ..exceptions import DomainError, SolverError
from ._geometry import _complement_basis, _least_distance_in_hyperplane

#: with ``facet_point="nearest"`` the facet point keeps a distance of at least
#: ``_FACET_MARGIN * r`` (``r`` the region's insphere radius) from every other
#: hyperplane of the region, so the step across it is well conditioned
_FACET_MARGIN = 1.0 / 16.0

class _RegionInfo:
    """Region-level quantities shared by the samples of one region."""

    __slots__ = (
        "region", "ball", "An", "cn", "zero", "facets", "neuron_facets", "n_domain_facets",
        "facet_units", "pair_cos", "neighbours", "is_domain",
    )


#: half-width (relative to ``1 + |point|_inf``) of the box that bounds the auxiliary
#: LPs (facet centres, neighbour centres) of regions without a domain
_FAR_BOX = 1e3


def _far_rows(point, d):
    """A large box around ``point`` (auxiliary LPs of regions without a domain)."""
    r = _FAR_BOX * (1.0 + float(np.abs(point).max(initial=0.0)))
    return _lp.box_rows(point - r, point + r, d)


def _region_info(net, region, *, neighbours, facet_point, neighbour_label, tol):
    # polyfold.regions (the H-representation), not polyfold.statistics.regions
    from ..regions import region_rows

    info = _RegionInfo()
    info.region = region
    try:
        ball = region.chebyshev
    except _lp.UnboundedRadiusError as err:
        if region.domain is not None:  # a finite box bounds every ball: float64 range fails
            raise DomainError(
                "the domain box is too wide for float64: near the largest float the "
                "insphere's constraints overflow; pass a domain with bounds within about "
                "1e300."
            ) from err
        raise _lp.UnboundedRadiusError(
            "the insphere radius of the region is unbounded (the region contains "
            "arbitrarily large balls); pass domain=(lower, upper), e.g. domain=(0, 1) "
            "for inputs in the unit box."
        ) from err
    info.ball = ball
    A, c = region.A, region.c
    An, cn, zero = _lp.normalize_rows(A, c, tol=tol)
    info.An, info.cn, info.zero = An, cn, zero
    facets = region.facets
    is_dom = np.array([u[0] == "domain" for u in region.units], dtype=bool)
    info.is_domain = is_dom
    info.facets = facets
    info.neuron_facets = facets[~is_dom[facets]]
    info.n_domain_facets = int(np.count_nonzero(is_dom[facets]))
    info.facet_units = tuple(tuple(region.units[i]) for i in info.neuron_facets)
    N = An[info.neuron_facets]
    k = N.shape[0]
    if k >= 2:
        G = np.abs(N @ N.T)
        iu = np.triu_indices(k, 1)
        info.pair_cos = np.clip(G[iu], 0.0, 1.0)
    else:
        info.pair_cos = np.zeros(0)
    info.neighbours = []
    if neighbours and ball.radius > tol.lp:
        info.neighbours = _neighbours(
            net, region, info, region_rows, facet_point, neighbour_label, is_dom, tol
        )
    return info


def _unit_indexer(net):
    """``net.unit_index`` without its argument checks (the units come from region rows)."""
    if not net.is_dense:
        return net.unit_index
    off = net.layer_offsets.tolist()
    return lambda layer, neuron: off[layer] + neuron


def _row_kinds(net, region):
    """+1 if crossing a row raises its unit's code, -1 if it lowers it, 0 for domain rows.

    ``region_rows`` writes, per neuron of code ``k``, the row ``z - t_{k-1} >= 0``
    (if ``k > 0``) before the row ``t_k - z >= 0`` (if ``k < T``).
    """
    kinds = np.zeros(len(region.units), np.int8)
    seen = set()
    index = _unit_indexer(net)
    for r, unit in enumerate(region.units):
        if unit[0] == "domain" or len(unit) == 3:  # domain rows; max-unit rows set the code
            continue
        code = int(region.codes[index(*unit)])
        first = unit not in seen
        seen.add(unit)
        kinds[r] = -1 if (code > 0 and first) else 1
    return kinds


def _facet_centre(An_f, cn_f, i, tol, extra):
    """Chebyshev centre of facet ``i`` within its hyperplane: ``(point, radius)``.

    ``An_f, cn_f`` are the (unit) facet rows; the LP runs in the ``d - 1``
    coordinates of the hyperplane.  Returns ``(None, 0.0)`` when the facet has no
    relative interior or the LP fails.
    """
    n = An_f[i]
    p0 = -cn_f[i] * n
    d = n.shape[0]
    if d == 1:
        return p0, np.inf
    B = _complement_basis(n)
    keep = np.ones(An_f.shape[0], bool)
    keep[i] = False
    Ao, co = An_f[keep], cn_f[keep]
    if extra is not None:
        Ao = np.vstack([Ao, extra[0]])
        co = np.concatenate([co, extra[1]])
    try:
        ball = _lp.chebyshev_ball(Ao @ B, Ao @ p0 + co, tol=tol)
    except (DomainError, SolverError):
        return None, 0.0
    if ball.radius <= tol.lp:
        return None, 0.0
    return p0 + B @ ball.centre, float(ball.radius)


def _facet_nearest(An_f, cn_f, t, xc, s_c, mu, tol):
    """Point of facet ``t`` nearest to ``xc`` keeping slack >= ``mu`` on the other rows.

    The foot of the perpendicular from ``xc`` when it qualifies (no solve);
    otherwise least-distance programming in the facet's hyperplane.  None when
    no such point exists (a facet thinner than ``mu``).
    """
    n = An_f[t]
    foot = xc - s_c[t] * n
    slack = s_c - s_c[t] * (An_f @ n)
    slack[t] = np.inf
    if np.all(slack >= mu):
        return foot
    d = n.shape[0]
    if d == 1:
        return None
    keep = np.ones(An_f.shape[0], bool)
    keep[t] = False
    Ao, co = An_f[keep], cn_f[keep]
    z = _least_distance_in_hyperplane(Ao, mu - (Ao @ foot + co), n, tol)
    if z is None:
        return None
    q = foot + z
    if np.any(Ao @ q + co < mu / 2):  # the solve was inaccurate: use the LP instead
        return None
    return q


def _neighbours(net, region, info, region_rows, facet_point, neighbour_label, is_dom, tol):
    """Step across every neuron facet; list of per-neighbour records."""
    d = region.dim
    An, cn = info.An, info.cn
    fac = info.facets
    An_f, cn_f = An[fac], cn[fac]
    pos = {int(r): t for t, r in enumerate(fac)}
    extra = None if region.domain is not None else _far_rows(region.point, d)
    dom_rows = None
    if region.domain is not None:
        lo, hi = region.domain
        dom_rows = _lp.box_rows(lo, hi, d)
    kinds = _row_kinds(net, region)
    xc = np.asarray(info.ball.centre)
    s_c = An_f @ xc + cn_f
    mu = _FACET_MARGIN * float(info.ball.radius)
    nearest = {}
    if facet_point == "nearest":
        for i in info.neuron_facets:
            q = _facet_nearest(An_f, cn_f, pos[int(i)], xc, s_c, mu, tol)
            if q is not None:
                nearest[int(i)] = q
    # the steps from the nearest points in one batch, where only the facet's own row
    # passes through its point (the common case); the others go one by one below
    batched = {}
    if nearest and neighbour_label != "centre":
        batched = _simple_steps(net, region, nearest, An, cn, is_dom, kinds, dom_rows, tol)
    out = []
    for i in info.neuron_facets:
        t = pos[int(i)]
        candidates = []
        if int(i) in nearest:
            candidates.append(nearest[int(i)])
        candidates.append(None)  # the facet's Chebyshev centre, computed on demand
        rec = None
        for k, q in enumerate(candidates):
            if q is None:
                q, _ = _facet_centre(An_f, cn_f, t, tol, extra)
                if q is None:
                    break
            if k == 0 and int(i) in batched:
                rec = batched[int(i)]
            else:
                rec = _step_across(net, region, q, int(i), An, cn, is_dom, kinds,
                                   region_rows, dom_rows, extra, neighbour_label, tol)
            if rec is not None and rec["verified"]:
                break
        if rec is None:
            rec = {"units": (tuple(region.units[i]),), "V": None, "u": None,
                   "point": np.full(d, np.nan), "verified": False}
        out.append(rec)
    return out


#: facets per block of :func:`_simple_steps` are chosen so that one layer's rows of
#: the block take at most this many float64 values
_BLOCK_VALUES = 1 << 21


def _simple_steps(net, region, nearest, An, cn, is_dom, kinds, dom_rows, tol):
    """:func:`_step_across` for many facets at once, where that is simple.

    ``nearest`` maps row ``i`` to its facet point ``q``.  A step is simple when the
    network is dense and only row ``i`` passes through ``q`` (no other row, no
    domain row, no unit held at a threshold in a later group): the neighbour's
    codes are the region's with the facet's unit moved by one, and its rows, the
    step length and the check of its codes are formed for a block of facets at
    once.  Returns ``{i: record}`` with the record :func:`_step_across` gives
    (None where it gives None); rows not in it take the general path.
    """
    if not net.is_dense or any(len(u) != 2 for u in region.units if u[0] != "domain"):
        return {}
    live = np.any(An != 0, axis=1)
    held = np.flatnonzero(~live & ~is_dom & (np.asarray(region.c, dtype=np.float64) == 0))
    base = np.asarray(region.codes, dtype=np.int64)
    done = {}
    simple = []
    for i, q in nearest.items():
        band = tol.lp * (1.0 + float(np.abs(q).max()))
        on = (np.abs(An @ q + cn) <= band) & live
        on[i] = bool(live[i])
        if np.any(on & is_dom):
            done[i] = None  # the facet lies on the domain boundary (as _step_across)
            continue
        if np.count_nonzero(on) != 1 or not on[i]:
            continue
        g = region.units[i][0]
        if any(r > i and region.units[r][0] != g for r in held.tolist()):
            continue
        simple.append(i)
    if not simple:
        return done
    d = region.dim
    widest = max(tuple(net.widths) + (net.output_dim,))
    step = max(1, _BLOCK_VALUES // max(1, widest * d))
    for s0 in range(0, len(simple), step):
        rows = simple[s0 : s0 + step]
        done.update(_simple_block(net, region, rows, nearest, An, base, kinds, dom_rows, tol))
    return done


def _simple_block(net, region, rows, nearest, An, base, kinds, dom_rows, tol):
    """The records of :func:`_simple_steps` for the facets ``rows`` (one block)."""
    from ..regions import _activation_row_tables as tables

    K = len(rows)
    Q = np.stack([nearest[i] for i in rows])
    N = An[rows]
    codes = np.repeat(base[None, :], K, axis=0)
    index = _unit_indexer(net)
    unit_k = np.array([index(*region.units[i]) for i in rows], np.int64)
    codes[np.arange(K), unit_k] += kinds[rows].astype(np.int64)
    band = tol.lp * (1.0 + np.abs(Q).max(axis=1))
    # per neuron of each neighbour: z's gradient row, its slope along n, its value at q
    rate_parts, sl_parts, norm_parts, sw_parts = [], [], [], []
    W0, b0 = net.layers[0]
    Wh = np.broadcast_to(W0, (K,) + W0.shape)
    bh = np.broadcast_to(b0, (K,) + b0.shape)
    start = 0
    for l, (W, b) in enumerate(net.layers):
        if l:
            Wh = np.matmul(W, Wh)
            bh = bh @ W.T + b
        if l == net.depth:
            break
        lo, hi, slope, offset, T = tables(net.activations[l])
        n_l = net.widths[l]
        cl = codes[:, start : start + n_l]
        gn = np.einsum("kjd,kd->kj", Wh, N)
        zq = np.einsum("kjd,kd->kj", Wh, Q) + bh
        nn = np.sqrt(np.einsum("kjd,kjd->kj", Wh, Wh))
        own = (unit_k[:, None] - start) == np.arange(n_l)[None, :]
        absent = np.inf
        # lower row z - t_{k-1} >= 0 (if k > 0), upper row t_k - z >= 0 (if k < T)
        rate_parts += [-gn, gn]
        sl_parts += [np.where(cl > 0, zq - lo[cl], absent), np.where(cl < T, hi[cl] - zq, absent)]
        norm_parts += [nn, nn]
        sw_parts += [own, own]
        sl_ = slope[cl]
        Wh = Wh * sl_[:, :, None]
        bh = bh * sl_ + offset[cl]
        start += n_l
    rate = np.concatenate(rate_parts, axis=1)
    sl = np.concatenate(sl_parts, axis=1)
    norms = np.concatenate(norm_parts, axis=1)
    sw = np.concatenate(sw_parts, axis=1)
    if dom_rows is not None:
        Ad, cd = dom_rows
        rate = np.concatenate([rate, -(N @ Ad.T)], axis=1)
        sl = np.concatenate([sl, Q @ Ad.T + cd], axis=1)
        norms = np.concatenate([norms, np.broadcast_to(np.linalg.norm(Ad, axis=1), (K, len(cd)))], axis=1)
        sw = np.concatenate([sw, np.zeros((K, len(cd)), bool)], axis=1)
    present = np.isfinite(sl)
    sw &= present & (np.abs(sl) <= band[:, None] * np.maximum(norms, 1.0))
    other = present & ~sw & (norms > 0)
    bad = np.any(other & (sl <= band[:, None] * norms), axis=1)
    dec = other & (rate < 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_max = np.where(dec, sl / np.where(dec, -rate, 1.0), np.inf).min(axis=1, initial=np.inf)
    t_max = np.where(np.isfinite(t_max), t_max, 2.0 * max(float(region.chebyshev.radius), 1.0))
    X = Q - (0.5 * t_max)[:, None] * N
    verified = np.all(net.codes(X) == codes, axis=1)
    out = {}
    for k, i in enumerate(rows):
        if bad[k]:
            out[i] = None  # q is not in the relative interior for the neighbour
            continue
        out[i] = {"units": (tuple(region.units[i]),), "V": Wh[k].copy(), "u": bh[k].copy(), "point": X[k],
                  "verified": bool(verified[k]), "label_point": X[k]}
    return out


def _later_switches(net, region, rows, codes, n_dir, kinds, region_rows, tol):
    """Units of later groups whose row passes through the facet point (or that are
    held at a threshold on the whole region): which move.

    Such a unit's preactivation depends on the units below it, so whether it leaves
    its threshold stepping across (direction ``-n_dir``) follows from its row
    recomputed with the new codes of the earlier groups, not from its row in the
    region: ``z = |x_1|`` through the facet ``x_1 = 0`` of a first-layer unit touches
    zero there and stays active.  Updates ``codes`` in place, group by group, and
    returns the units that move.  At a rate within the tolerance the unit stays at
    its threshold, which counts as the code below it.
    """
    moved = []
    groups = []
    for r in rows:
        g = region.units[r][0]
        if not groups or groups[-1][0] != g:
            groups.append((g, []))
        groups[-1][1].append(r)
    for _, group_rows in groups:
        A_m, _, units_m, _, _ = region_rows(net, codes)
        first = {}
        for s, unit in enumerate(units_m):
            first.setdefault(tuple(unit), s)
        for r in group_rows:
            unit = tuple(region.units[r])
            k = net.unit_index(*unit)
            s = first.get(unit)
            if s is None:  # pragma: no cover - every unit of a dense net has a row
                continue
            # the unit's first row is z - t_{k-1} >= 0 when its code is above 0,
            # else t_0 - z >= 0: the gradient of z up to that sign
            grad = A_m[s] if codes[k] > 0 else -A_m[s]
            rate = -float(grad @ n_dir)  # dz / dt along x = q - t n
            kind = int(kinds[r])  # -1: z sits on the code's lower threshold, +1: upper
            flat = abs(rate) <= tol.lp * max(1.0, float(np.linalg.norm(grad)))
            if (not flat and kind * rate > 0) or (flat and kind < 0):
                codes[k] += kind
                moved.append(unit)
    return moved


def _step_across(net, region, q, i, An, cn, is_dom, kinds, region_rows, dom_rows,
                 extra, neighbour_label, tol):
    """Neighbour across the facet of row ``i`` at the relative-interior point ``q``."""
    band = tol.lp * (1.0 + float(np.abs(q).max()))
    sq = An @ q + cn
    on = np.abs(sq) <= band
    on[i] = True
    live = np.any(An != 0, axis=1)
    # units held at a threshold on the whole region (a zero row with a slack of exactly
    # zero: their inputs are constant there); a later group's may move once the facet's
    # unit does.  A constant off the threshold, however small (a bias of 1e-18 after
    # dead inputs), keeps its sign across every facet
    held = ~live & ~is_dom & (np.asarray(region.c, dtype=np.float64) == 0)
    on &= live
    if np.any(on & is_dom):
        return None  # the facet lies on the domain boundary: no neighbour inside
    switch = np.flatnonzero(on & ~is_dom)
    codes = np.array(region.codes, dtype=np.int64)
    units = []
    through = []  # every unit whose row passes through q (moved or not)
    max_units_best = {}
    n_dir = An[i]
    max_units = set()
    first_group = region.units[switch[0]][0] if len(switch) else None
    later = []
    for r in switch:
        unit = region.units[r]
        k = net.unit_index(*unit[:2])
        through.append(tuple(unit))
        if len(unit) == 3:
            max_units.add(k)
            units.append(tuple(unit))
        elif unit[0] != first_group:
            later.append(r)  # decided below, on the new codes of the earlier groups
        elif r == i or float(An[r] @ n_dir) > 0:
            # a unit whose row coincides with the facet switches only if stepping
            # across decreases its slack (a row touching the facet from outside stays)
            codes[k] += int(kinds[r])
            units.append(tuple(unit))
    if len(switch):
        later += [int(r) for r in np.flatnonzero(held)
                  if r > switch[0] and region.units[r][0] != first_group
                  and len(region.units[r]) == 2]  # (max units: by their candidates below)
        later.sort()
        through += [tuple(region.units[r]) for r in later if tuple(region.units[r]) not in through]
    if later:
        units += _later_switches(net, region, later, codes, n_dir, kinds, region_rows, tol)
    if max_units:
        # max units: their rows depend on the new codes of earlier groups; with those,
        # a candidate tied at q that overtakes the selection stepping across (direction
        # -n) is selected next (the fastest; lowest index on ties), and an exact tie
        # (identical maps) goes to the lowest index
        A_m, c_m, units_m, _, _ = region_rows(net, codes)
        slack = A_m @ q + c_m
        for r, unit in enumerate(units_m):
            if len(unit) != 3:
                continue
            k = net.unit_index(*unit[:2])
            if k not in max_units or abs(slack[r]) > band * max(1.0, float(np.abs(A_m[r]).sum())):
                continue
            rate = -float(A_m[r] @ n_dir)
            zero_row = not np.any(A_m[r])
            if rate < 0 or (zero_row and unit[2] < codes[k]):
                key = (rate if rate < 0 else 0.0, unit[2])
                prev = max_units_best.get(k)
                if prev is None or key < prev:
                    max_units_best[k] = key
        for k, (_, j) in max_units_best.items():
            codes[k] = j
    A2, c2, units2, V2, u2 = region_rows(net, codes)
    if dom_rows is not None:
        A2 = np.vstack([A2, dom_rows[0]])
        c2 = np.concatenate([c2, dom_rows[1]])
    n = An[i]
    rate = -(A2 @ n)
    sl = A2 @ q + c2
    norms = np.linalg.norm(A2, axis=1)
    unit_set = set(through) | {tuple(u[:2]) for u in through}  # max rows: by (group, unit)
    switching2 = np.zeros(len(A2), bool)
    switching2[: len(units2)] = [tuple(u) in unit_set or tuple(u[:2]) in unit_set for u in units2]
    # only the switching units' rows through q: their other rows (another threshold of
    # a hard tanh, a max candidate not tied at q) bound the step like any other row
    switching2 &= np.abs(sl) <= band * np.maximum(norms, 1.0)
    dec = (rate < 0) & ~switching2 & (norms > 0)
    if np.any(sl[~switching2 & (norms > 0)] <= band * norms[~switching2 & (norms > 0)]):
        return None  # q is not in the relative interior for the neighbour
    t_max = float(np.min(sl[dec] / -rate[dec])) if np.any(dec) else np.inf
    if not np.isfinite(t_max):
        t_max = 2.0 * max(float(region.chebyshev.radius), 1.0)
    x_out = q - 0.5 * t_max * n
    verified = bool(np.array_equal(net.codes(x_out[None, :])[0], codes))
    rec = {"units": tuple(units), "V": V2, "u": u2, "point": x_out, "verified": verified,
           "label_point": x_out}
    if neighbour_label == "centre":
        Ac, cc = A2, c2
        if extra is not None:
            Ac = np.vstack([Ac, extra[0]])
            cc = np.concatenate([cc, extra[1]])
        try:
            ball = _lp.chebyshev_ball(Ac, cc, tol=tol)
            rec["label_point"] = np.asarray(ball.centre)
        except (DomainError, SolverError):
            rec["label_point"] = x_out
    return rec

