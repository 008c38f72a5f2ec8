"""The numpy layer-by-layer crossing kernel (private; :mod:`polyfold.crossings` is public).

:func:`_partition` computes the partition of a batch of segments in float,
certified or exact arithmetic; :mod:`polyfold._ckernel` (through
:mod:`polyfold._fast`) computes the same in C for float and certified mode, and
:mod:`polyfold.graph.crossings` the same for graph networks.  All return the dict
described in :func:`_partition`.
"""

import numpy as np

from . import arith
from .tolerance import UNIT_ROUNDOFF

#: widths up to which certified bounds are computed point by point; wider layers
#: (where the bound's product costs as much as the values') share one product per
#: block of EB_WIDE consecutive points of a segment, from the block's maxima (the C
#: kernel does the same)
EB_POINTWISE_WIDTH = 16
EB_WIDE = 4


def eb_block(net):
    """Points per certified bound product of ``net`` (1, or ``EB_WIDE`` for wide nets)."""
    return 1 if max(net.widths) <= EB_POINTWISE_WIDTH else EB_WIDE


def _gamma(n):
    nu = n * UNIT_ROUNDOFF
    return nu / (1.0 - nu)


def carried_error(act, E, sg):
    """The error bounds ``E`` of a layer's values that its activation ``act`` carries on.

    ``sg``: the layer's ``(pos, neg)`` decisions per threshold.  A unit decided on a
    flat piece of its activation (ReLU below 0, hard tanh beyond ``lo`` or ``hi``) has
    an exact value there, so its error is 0; a leaky unit decided below 0 carries
    ``|slope| E``.  Sound because decisions use bands of at least ``E``: the exact value
    at the point's virtual parameter lies on the decided side.  Without this, every
    layer's bound would carry the errors of the units it ignores.
    """
    name = act.name
    if name == "relu":
        return np.where(sg[0][1], 0.0, E)
    if name == "hardtanh":
        return np.where(sg[0][1] | sg[-1][0], 0.0, E)
    if name == "leaky_relu":
        return np.where(sg[0][1], abs(act.slope) * E, E)
    return E


def _signs(D, band, exact):
    """``(D > band, D < -band)`` as two bool arrays (exact: strict comparisons with 0)."""
    if exact:
        return np.asarray(D > 0, bool), np.asarray(D < 0, bool)
    return D > band, D < -band


def _scatter(old, new, pos_old, pos_new):
    out = np.empty((len(old) + len(new),) + old.shape[1:], dtype=old.dtype)
    out[pos_old] = old
    out[pos_new] = new
    return out


def first_layer_values(net, points, *, exact=False, safety=0.0, check=None):
    """First-layer preactivations of ``points`` (and their error bounds).

    The input dimension enters the crossing engine only here, so for sweeps over
    paths between a fixed set of data points these values are computed once per
    point (see :func:`segment_crossings_between`).

    Returns ``(Z0, E0)``: ``(n, width_0)`` values (object ``fmpq`` arrays when
    ``exact``) and float error bounds (``None`` unless ``safety > 0``).  For graph
    networks these are the states before the first unit group
    (:meth:`polyfold.graph.Stages.start`).

    ``check=(name, row_offset)`` (dense nets, float): ``points`` are rows
    ``row_offset, ...`` of the argument ``name``, not yet checked for NaN and
    infinity.  The product then has one more column, of ones: a row's sum is
    non-finite whenever one of its entries is (inf and NaN absorb sums and products
    with nonzero numbers), so the check costs no extra pass over the points; a
    non-finite sum (an entry, or an overflow of finite ones) is looked at entry by
    entry and raises :class:`~polyfold.NonFiniteError` for an entry.
    """
    if not net.is_dense:
        st = net.stages()
        if exact:
            X = points if points.dtype == object else arith.fmpq_array(points)
            return st.start(X, exact=True), None
        if safety:
            return st.start_bound(points, safety=safety)
        return st.start(points), None
    if exact:
        X = points if points.dtype == object else arith.fmpq_array(points)
        return net.exact_affine(0, X), None
    # (values beyond float64 become inf here, quietly: the crossing drivers compute the
    # segments whose values may overflow exactly, see crossings._overflow_segments)
    with np.errstate(over="ignore", invalid="ignore"):
        return _dense_first_layer(net, points, safety, check)


def _dense_first_layer(net, points, safety, check):
    W, b = net.layers[0]
    n0 = W.shape[0]
    extra = 0 if check is None else 1
    # |x| = x for nonnegative points: the bounds' |x| |W|^T rides on the values' product
    # with [W; |W|] (one pass over x), and so do the row sums of the check
    with_abs = bool(safety) and len(points) > 0 and points.min() >= 0
    both = points @ (_stacked(net, with_abs, extra).T if (extra or with_abs) else W.T)
    if extra:
        _check_sums(both[:, -1], points, check)
    Z0 = both[:, :n0] + b
    if not safety:
        return Z0, None
    g = _gamma(W.shape[1] + 2)
    A = both[:, n0 : 2 * n0] if with_abs else np.abs(points) @ np.abs(W).T
    return Z0, (g * A + g * np.abs(b)) * safety


def _check_sums(sums, points, check):
    """The finiteness check of :func:`first_layer_values` from the row sums."""
    if not np.isfinite(sums).all():
        from ._validation import check_finite

        name, offset = check
        check_finite(points, name, offset)


_STACKED = {}


def _stacked(net, with_abs, ones=1):
    """``[W_0; |W_0|]`` (``with_abs``) or ``W_0``, with ``ones`` rows of ones below, for
    the first layer's product (cached for the last few nets)."""
    W = net.layers[0][0]
    key = (id(W), with_abs, ones)
    hit = _STACKED.get(key)
    if hit is None or hit[0] is not W:
        parts = [W] + ([np.abs(W)] if with_abs else []) + [np.ones((ones, W.shape[1]))]
        hit = (W, np.vstack(parts))
        if len(_STACKED) > 16:
            _STACKED.clear()
        _STACKED[key] = hit
    return hit[1]


def _interleave(a, b):
    out = np.empty((2 * len(a),) + a.shape[1:], dtype=a.dtype)
    out[0::2] = a
    out[1::2] = b
    return out


def slope_bounds(Z, E, t, r, tr, seg):
    """Certified bounds on the slope of every neuron between consecutive points.

    Points ``p`` of a layer stand for *virtual* parameters ``tau_p`` (exact
    rationals, never formed): ``|Z_p - f(tau_p)| <= E_p`` for the exact layer values
    ``f`` along the segment, ``|t_p - tau_p| <= tr_p`` for the stored floats and
    ``|tau_p - t*_p| <= r_p`` for the exact breakpoint ``t*_p`` the point stands for
    (0 at the ends).  ``f`` is affine between consecutive exact breakpoints, so on
    the piece ``(t*_p, t*_p+1)`` it has a slope ``sigma_p`` with

        ``|sigma_p| <= A_p + rho_p max_q |sigma_q|``,
        ``A_p = (|Z_p+1 - Z_p| + E_p + E_p+1) / g_p``,  ``rho_p = (r_p + r_p+1) / g_p``,

    ``g_p`` a lower bound on ``tau_p+1 - tau_p - r_p - r_p+1`` (the gap between the
    uncertainty intervals).  With ``rho = max rho_p <= 1/2`` over the segment,
    ``max |sigma| <= max A / (1 - rho)``.

    Returns ``(S, bad, S_seg)``: ``S (P, n)`` the bound for the interval starting at
    each point (0 at a segment's last point), ``bad (P,) bool``: points of segments
    whose uncertainty intervals are too close (``rho > 1/2``) to certify anything, and
    ``S_seg (P, n)``: at every point, a bound on all the slope bounds ``S`` of its
    segment, ``(max A + rho max |sigma|) grow`` (infinite where ``bad``; each ``S`` is
    at most it because rounding is monotone).  The bands at the points use ``S_seg``:
    one multiply-add per value instead of the two slopes beside the point, and only a
    value within ``r`` times the largest slope of the threshold, where the two can
    disagree, is left undecided (the compiled kernel forms single slopes only at the
    intervals with crossings).
    """
    u = UNIT_ROUNDOFF
    grow = 1.0 + 16 * u
    P = len(seg)
    S = np.zeros(Z.shape)
    bad = np.zeros(P, bool)
    if P < 2:
        return S, bad, np.full(Z.shape, np.inf)
    same = seg[1:] == seg[:-1]
    rr = r[1:] + r[:-1]
    gap = (((t[1:] - t[:-1]) - (tr[1:] + tr[:-1])) * (1.0 - 4 * u) - rr) * (1.0 - 4 * u)
    with np.errstate(divide="ignore", invalid="ignore"):
        ok = same & (gap > 0)
        rho = np.where(ok, rr / np.where(ok, gap, 1.0) * grow, np.where(same, np.inf, 0.0))
        A = np.zeros(Z.shape)
        A[:-1] = np.where(
            ok[:, None], (np.abs(Z[1:] - Z[:-1]) + E[1:] + E[:-1]) / np.where(ok, gap, 1.0)[:, None] * grow,
            np.where(same, np.inf, 0.0)[:, None],
        )
    rho = np.r_[rho, 0.0]
    start = np.flatnonzero(np.r_[True, ~same])
    rho_max = np.maximum.reduceat(rho, start)
    A_max = np.maximum.reduceat(A, start, axis=0)
    count = np.diff(np.r_[start, P])
    seg_bad = ~(rho_max <= 0.5)
    with np.errstate(invalid="ignore"):
        sig_max = np.where(seg_bad[:, None], np.inf, A_max / (1.0 - rho_max)[:, None] * grow)
        S = (A + rho[:, None] * np.repeat(sig_max, count, axis=0)) * grow
        S_seg = np.where(seg_bad[:, None], np.inf, (A_max + rho_max[:, None] * sig_max) * grow)
    S[np.r_[~same, True]] = 0.0
    return S, np.repeat(seg_bad, count), np.repeat(S_seg, count, axis=0)


def breakpoint_bounds(Za, Zb, Ea, Eb, Sa, Ka, Kb, j, theta, s, ta, tb, ra, rb, tra, trb, thmax, safety):
    """Certified bounds at new breakpoints (see :func:`slope_bounds` for the notation).

    Row ``q`` is a crossing of neuron ``j[q]`` through ``theta[q]`` inside the
    interval between points ``a`` and ``b`` with float values ``Za, Zb`` (bounds
    ``Ea, Eb`` at their virtual parameters), slope bounds ``Sa`` on the interval and
    ``Ka = r_a (S left of a + S right of a)``, ``Kb`` likewise: the most the layer's
    exact function can deviate at ``tau_a`` from the affine function of the exact
    piece (``tau_a`` may lie beyond the piece's exact end).  The float position is
    ``s = A / (A - B)``, ``A = Za[j] - theta``, ``B = Zb[j] - theta``; the new
    point's virtual parameter is ``tau = tau_a + s (tau_b - tau_a)``.

    Returns ``(E_new, band, r_new, tr_new, bad)``:

    * ``E_new``: ``|Z_new - f(tau)|`` for ``Z_new = Za + s (Zb - Za)``:
      ``(1 - s)(Ea + Ka) + s (Eb + Kb)`` plus the rounding of the interpolation
      (the crossing neuron, set to ``theta``: ``r_new Sa``);
    * ``r_new``: ``|tau - t*|``: with ``x = |A|``, ``y = |B|`` and ``e_a = Ea[j] +
      Ka[j] + u x`` (likewise ``e_b``), ``|s - s*| <= ((1 - s) e_a + s e_b) / (x + y -
      e_a - e_b) =: delta`` (plus ``3 u s`` for the division), ``r_new = delta (tau_b
      - tau_a)``;
    * ``band``: ``E_new + r_new Sa``, the bound on ``|Z_new - f(t*)|`` that decides the
      signs at the breakpoint;
    * ``tr_new``: ``|t_new - tau|`` for ``t_new = ta + s (tb - ta)``;
    * ``bad``: the uncertainty interval of the new point reaches an end's (nothing
      about the new point can be certified).

    The position uncertainty enters only the decisions at the point (``band``), never
    the values carried to the next layer, where it meets each neuron's actual slope
    (:func:`slope_bounds`) instead of the product of the layers' ``|W|``.  ``den <=
    0`` (a sign barely decided) gives infinite bounds, which decide nothing.
    """
    u = UNIT_ROUNDOFF
    grow = 1.0 + 16 * u  # covers the rounding of the bound computations below
    ci = 4 * u * safety
    rows = np.arange(len(j))
    A = Za[rows, j] - theta
    B = Zb[rows, j] - theta
    x, y = np.abs(A), np.abs(B)
    ea = Ea[rows, j] + Ka[rows, j] + u * x
    eb = Eb[rows, j] + Kb[rows, j] + u * y
    den = (x + y) - (ea + eb)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(
            den > 0, ((1.0 - s) * ea + s * eb + 4 * u * (ea + eb)) / den * grow, np.inf
        ) + ci * s
        dtau_up = ((tb - ta) + (tra + trb)) * grow
        dtau_lo = ((tb - ta) - (tra + trb)) * (1.0 - 4 * u)
        r_new = delta * dtau_up * grow
        sc = s[:, None]
        E_new = ((1.0 - sc) * (Ea + Ka) + sc * (Eb + Kb)) * grow + ci * (np.abs(Za) + np.abs(Zb) + thmax)
        E_new[rows, j] = r_new * Sa[rows, j] * grow
        band = E_new + r_new[:, None] * Sa
        tr_new = ((1.0 - s) * tra + s * trb) * grow + ci * tb
        bad = ~((r_new + ra < s * dtau_lo) & (r_new + rb < (1.0 - s) * dtau_lo))
    return E_new, band, r_new, tr_new, bad


def _block_max(G, seg, block):
    """Maxima of the rows of ``G`` over blocks of ``block`` consecutive points of
    each segment (``seg`` sorted); returns ``(maxima, block of every row)``."""
    n = len(seg)
    if block == 1:
        return G, np.arange(n)
    if n == 0:
        return G, np.zeros(0, np.int64)
    start = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
    count = np.diff(np.r_[start, n])
    pos = np.arange(n) - np.repeat(start, count)
    nblk = (count + block - 1) // block
    base = np.r_[0, np.cumsum(nblk)[:-1]]
    blk = np.repeat(base, count) + pos // block
    first = np.flatnonzero(np.r_[True, blk[1:] != blk[:-1]])
    with np.errstate(invalid="ignore"):
        return np.maximum.reduceat(G, first, axis=0), blk


def _partition(net, Z0, E0, exact, tolv, certified):
    """The layer-by-layer kernel on one batch of segments.

    ``Z0`` (``2m`` rows: start, end, start, end, ...) holds the first layer's
    preactivations at the segment ends and ``E0`` their error bounds (certified).
    Only the current layer's preactivations are carried at the points; the codes of
    earlier layers are recovered at the end through the chain of insertion maps
    (a point inserted inside piece ``k`` inherits the earlier layers' codes of ``k``).

    Returns a dict: ``seg``, ``t`` of the final points, ``piece`` (left point of every
    piece), ``codes`` per piece, per-segment ``degenerate`` and ``endpoint`` flags and
    (certified) the ``ambiguous`` segment ids.
    """
    m = len(Z0) // 2
    seg = np.repeat(np.arange(m), 2)
    if exact:
        t = np.empty(2 * m, dtype=object)
        t[0::2] = arith.ZERO
        t[1::2] = arith.ONE
        layers = net.exact_layers()
    else:
        t = np.tile([0.0, 1.0], m)
        layers = net.layers
    # certified: position radius r and float rounding tr of every point (slope_bounds)
    r = np.zeros(2 * m) if certified else None
    tr = np.zeros(2 * m) if certified else None
    tabs = net._code_tables()
    Eh = None
    Z = None
    ambiguous = []
    tiny = []
    degenerate = np.zeros(m, bool)
    endpoint = np.zeros((m, 2), bool)
    layer_codes = []  # codes of layer l for the piece starting at each point (after layer l)
    src_maps = []  # src_maps[l]: for each point after layer l, its index before layer l's insertions
    for l in range(net.depth):
        W, b = layers[l]
        thresholds = tabs[l][0]
        if l == 0:
            Z, E = Z0, E0
        else:
            H = net.activations[l - 1].apply(Z)
            Z = net.exact_affine(l, H) if exact else H @ W.T + b
            E = None
        if certified and l > 0:
            # fresh rounding of this layer (times the safety factor) plus the incoming
            # error carried through |W| and the activation's Lipschitz constant; the
            # (1 + gamma) factor covers the rounding of this bound's own computation
            g = _gamma(W.shape[1] + 2)
            absW = np.abs(W)
            lip = net.activations[l - 1].lipschitz
            fresh = g * tolv.safety
            # (wide nets: one product per block of consecutive points of a segment,
            # from the block's maxima: a bound for every point of the block)
            Ec = carried_error(net.activations[l - 1], Eh, sg)
            G, blk = _block_max(fresh * np.abs(H) + (lip * (1 + 4 * g)) * Ec, seg, eb_block(net))
            E = (G @ absW.T + fresh * np.abs(b))[blk]
            # bound terms near the subnormal range: exact only (as the C kernel's F_TINY)
            near = _tiny_rows(G, TINY_BOUND)[blk]
            if near.any():
                tiny.append(np.unique(seg[near]))
                ambiguous.append(tiny[-1])
        if certified:
            # a breakpoint stands for an exact one within r: widen by the slopes
            S, sbad, S_seg = slope_bounds(Z, E, t, r, tr, seg)
            if sbad.any():
                ambiguous.append(np.unique(seg[sbad]))
            S_left = np.zeros_like(S)
            S_left[1:] = S[:-1]
            S_left[np.r_[True, seg[1:] != seg[:-1]]] = 0.0
            with np.errstate(invalid="ignore"):
                K = np.where(r[:, None] > 0, r[:, None] * (S_left + S), 0.0)
                band = np.where(r[:, None] > 0, E + r[:, None] * S_seg, E)
            bands = [band] * len(thresholds)
        elif exact:
            bands = [None] * len(thresholds)
        else:
            bands = [tolv.zero * np.abs(Z).max(axis=0)] * len(thresholds)
        if exact:
            thq = [arith.to_fmpq(v) for v in thresholds]
        else:
            thq = list(thresholds)
        if exact:
            F = arith.float_values(Z)
            sg = [arith.compare_exact(Z, q, F=F) for q in thq]
        else:
            sg = [_signs(Z - q if q != 0 else Z, bd, exact) for q, bd in zip(thq, bands)]

        # endpoints on a boundary (and, certified: any undecided value)
        first = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
        last = np.flatnonzero(np.r_[seg[1:] != seg[:-1], True])
        for pos, neg in sg:
            endpoint[:, 0] |= ~(pos[first] | neg[first]).all(axis=1)
            endpoint[:, 1] |= ~(pos[last] | neg[last]).all(axis=1)
            if certified:
                bad = ~(pos | neg).all(axis=1)
                if bad.any():
                    ambiguous.append(np.unique(seg[bad]))

        # crossings strictly inside pieces
        events = _crossings(Z, sg, thq, seg)
        n_pts = len(seg)
        if events is not None:
            k, s, j, w = events
            order = np.lexsort((s, k))
            k, s, j, w = k[order], s[order], j[order], w[order]
            n_new = len(k)
            rows = np.arange(n_new)
            Za = Z[k]
            Z_new = Za + s[:, None] * (Z[k + 1] - Za)
            th_new = np.asarray(thq, dtype=object if exact else np.float64)[w]
            Z_new[rows, j] = th_new
            t_new = t[k] + s * (t[k + 1] - t[k])
            if certified:
                E_new, band_new, r_new, tr_new, nbad = breakpoint_bounds(
                    Za, Z[k + 1], E[k], E[k + 1], S[k], K[k], K[k + 1], j, th_new, s, t[k], t[k + 1],
                    r[k], r[k + 1], tr[k], tr[k + 1], np.max(np.abs(thresholds)), tolv.safety,
                )
                if nbad.any():
                    ambiguous.append(np.unique(seg[k[nbad]]))
                bands_new = [band_new] * len(thq)
            else:
                bands_new = bands
            sg_new = []
            F_new = arith.float_values(Z_new) if exact else None
            for wi, (q, bd) in enumerate(zip(thq, bands_new)):
                pos, neg = arith.compare_exact(Z_new, q, F=F_new) if exact else _signs(Z_new - q, bd, exact)
                hit = w == wi
                pos[rows[hit], j[hit]] = False
                neg[rows[hit], j[hit]] = False
                if certified:
                    undecided = ~(pos | neg)
                    undecided[rows[hit], j[hit]] = False
                    bad = undecided.any(axis=1)
                    if bad.any():
                        ambiguous.append(np.unique(seg[k[bad]]))
                sg_new.append((pos, neg))
            pos_old, pos_new, src = _insertion(k, n_pts)
            seg, t, Z = (_scatter(a, b, pos_old, pos_new) for a, b in ((seg, seg[k]), (t, t_new), (Z, Z_new)))
            sg = _scatter_signs(sg, sg_new, pos_old, pos_new)
            if certified:
                E = _scatter(E, E_new, pos_old, pos_new)
                r = _scatter(r, r_new, pos_old, pos_new)
                tr = _scatter(tr, tr_new, pos_old, pos_new)
            if not certified:
                own = None if exact else (pos_new, j, th_new)  # the units the new points lie on
                seg, t, Z, sg, src = _merge_close(seg, t, Z, sg, src, exact, tolv, own)
        else:
            src = np.arange(n_pts)
        src_maps.append(src)

        # codes of layer l on each piece (left point p, right point p + 1)
        code, dg = _layer_codes(seg, sg)
        if dg.any():
            degenerate[seg[dg]] = True
            if certified:
                ambiguous.append(np.unique(seg[dg]))
        layer_codes.append(code)
        Eh = E

    piece, codes = _final_codes(net, seg, layer_codes, src_maps)
    amb = np.unique(np.concatenate(ambiguous)) if ambiguous else np.zeros(0, np.int64)
    return {
        "seg": seg,
        "t": t,
        "te": (r + tr) if certified else None,
        "piece": piece,
        "codes": codes,
        "degenerate": degenerate,
        "endpoint": endpoint,
        "ambiguous": amb,
        "tiny": np.unique(np.concatenate(tiny)) if tiny else np.zeros(0, np.int64),
    }


#: certified mode: a segment with a nonzero term ``fresh |h_k| + lip e_k`` of a layer's
#: bound (the block maxima that multiply ``|W|``) below this is computed exactly
#: ("tiny").  Above it, with the weights at or above ``crossings.TINY_MAGNITUDE``
#: (2^-500), every bound exceeds 2^-950, far above the absolute rounding errors of
#: products in the subnormal range (2^-1075 each), which relative bounds do not cover
TINY_BOUND = 2.0**-450
#: graph networks: a nonzero value or bound of a unit group below this sends the
#: segment to exact arithmetic (the same margin, applied to the values themselves)
TINY_VALUE = 2.0**-400


def _tiny_rows(X, below=TINY_VALUE):
    """Rows of ``X`` holding a nonzero magnitude below ``below``."""
    A = np.abs(X)
    return ((A < below) & (A > 0)).any(axis=1)


def _crossings(Z, sg, thq, seg):
    """Strict sign changes between consecutive points of one segment: ``(k, s, j, w)``
    (left point, position ``s = A / (A - B)`` in the piece, neuron, threshold index),
    unsorted, or None without any."""
    same = seg[1:] == seg[:-1]
    ks, ss, js, ws = [], [], [], []
    for w, (q, (pos, neg)) in enumerate(zip(thq, sg)):
        kk, jj = np.nonzero((pos[:-1] & neg[1:]) | (neg[:-1] & pos[1:]))
        inside = same[kk]
        kk, jj = kk[inside], jj[inside]
        if len(kk):
            A = Z[kk, jj] - q
            ks.append(kk)
            ss.append(A / (A - (Z[kk + 1, jj] - q)))
            js.append(jj)
            ws.append(np.full(len(kk), w))
    if not ks:
        return None
    return np.concatenate(ks), np.concatenate(ss), np.concatenate(js), np.concatenate(ws)


def _insertion(k, n_pts):
    """Where the old points and the new points (one after each old point ``k``,
    ``k`` sorted) go, and the old point each new row comes from."""
    rows = np.arange(len(k))
    pos_old = np.arange(n_pts) + np.searchsorted(k, np.arange(n_pts), side="left")
    pos_new = k + 1 + rows
    return pos_old, pos_new, _scatter(np.arange(n_pts), k, pos_old, pos_new)


def _scatter_signs(sg, sg_new, pos_old, pos_new):
    return [
        (_scatter(p0, p1, pos_old, pos_new), _scatter(n0, n1, pos_old, pos_new))
        for (p0, n0), (p1, n1) in zip(sg, sg_new)
    ]


def _layer_codes(seg, sg):
    """Codes of a layer on each piece (row of its left point) and the pieces on which
    some neuron is at a threshold at both ends (degenerate): no sign changes strictly
    inside a piece any more, so a piece is above a threshold iff one of its ends is."""
    code = np.zeros((len(seg), sg[0][0].shape[1]), np.int8)
    same = seg[1:] == seg[:-1]
    dg = np.zeros(len(seg), bool)
    for pos, neg in sg:
        code[:-1] += pos[:-1] | pos[1:]
        zero = ~(pos | neg)
        dg[:-1] |= (zero[:-1] & zero[1:]).any(axis=1) & same
    return code, dg


def _final_codes(net, seg, layer_codes, src_maps):
    """The final pieces (left point of each) and the codes of every layer on them,
    through the chain of insertion maps (a point inserted inside piece ``k``
    inherits the earlier layers' codes of ``k``)."""
    piece = np.flatnonzero(seg[1:] == seg[:-1])
    codes = np.empty((len(piece), net.n_hidden), np.int8)
    off = net.layer_offsets
    idx = piece
    for l in range(net.depth - 1, -1, -1):
        codes[:, off[l] : off[l + 1]] = layer_codes[l][idx]
        idx = src_maps[l][idx]
    return piece, codes


def _merge_close(seg, t, Z, sg, src, exact, tolv, own=None):
    """Merge consecutive points of one segment at equal ``t`` (within ``merge`` in float).

    ``own`` (float): ``(positions, units, thresholds)`` of the new breakpoints; every
    unit a member lies on is set to its threshold at the merged point (the first
    member's interpolation leaves rounding noise there)."""
    if len(seg) < 2:
        return seg, t, Z, sg, src
    same = seg[1:] == seg[:-1]
    if exact:
        close = same & np.asarray(t[1:] == t[:-1], bool)
    else:
        close = same & ((t[1:] - t[:-1]) <= tolv.merge)
    if not close.any():
        return seg, t, Z, sg, src
    keep = np.r_[True, ~close]
    starts = np.flatnonzero(keep)
    # a merged point is above (below) a threshold only if all its members are
    sg2 = [
        (np.logical_and.reduceat(pos, starts, axis=0), np.logical_and.reduceat(neg, starts, axis=0))
        for pos, neg in sg
    ]
    # the piece after a merged run is the one after its last point: it takes that
    # point's origin (its codes in the earlier layers)
    last = np.r_[starts[1:], len(seg)] - 1
    Zm = Z[starts]
    if own is not None:
        pos, unit, th = own
        run = np.cumsum(keep) - 1  # the merged point of every point
        later = ~keep[pos]  # new points merged into an earlier one
        for p, u, v in zip(pos[later], unit[later], th[later]):  # in order: later members last
            Zm[run[p], u] = v
    return seg[starts], t[starts], Zm, sg2, src[last]


def _drop_silent_breakpoints(raw):
    """Remove interior points where no code changes (float merges can create them)."""
    seg, codes, piece = raw["seg"], raw["codes"], raw["piece"]
    if len(piece) < 2:
        return raw
    # interior point p sits between piece q (ending at p) and q + 1 (starting at p)
    cont = seg[piece[1:]] == seg[piece[:-1]]
    same = cont & ~np.any(codes[1:] != codes[:-1], axis=1)
    if not same.any():
        return raw
    drop_piece = np.zeros(len(piece), bool)
    drop_piece[1:] = same  # merge piece q+1 into q
    drop_point = np.zeros(len(seg), bool)
    drop_point[piece[1:][same]] = True
    keep_pts = ~drop_point
    new_index = np.cumsum(keep_pts) - 1
    out = dict(raw)
    out["seg"] = seg[keep_pts]
    out["t"] = raw["t"][keep_pts]
    out["piece"] = new_index[piece[~drop_piece]]
    out["codes"] = codes[~drop_piece]
    return out
