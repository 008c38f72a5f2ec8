"""Segment crossings of graph networks: the stage-by-stage kernel (private).

The kernel generalises the dense layer-by-layer kernel of
:mod:`polyfold.crossings` to any :class:`~polyfold.graph.Stages`: along a segment,
once every earlier unit group is split, the state before group ``g`` (its input and
the carried tensors) is affine on each piece, so the group's switches inside a piece
are found from the values at the piece ends, new points get their state by
interpolation, and the state moves on to the next group at every point
(``Stages.advance``).  Only values at points are ever held: memory is points x state
width, never a dense matrix of an operator.

Switches of a group inside a piece:

* elementwise units: a value crossing one of the activation's thresholds (opposite
  strict signs at the two ends);
* max units: a change of the selected candidate, found by walking the upper
  envelope of the candidates' lines from the left end (the lexicographic maximum of
  value and slope there) to the right; two candidates that are not selected never
  make a breakpoint.

Certified mode carries a rounding-error bound for every state value and for every
breakpoint position (``te``); an elementwise sign, a max unit's selection on a piece
(the selected candidate must dominate every other one at both ends of the piece) or
an endpoint decision that the bounds cannot make sends the segment to exact
arithmetic.  Values that are exactly known (error bound 0, such as the zeros of
dead ReLUs feeding a max pool) decide ties exactly.

Float mode decides with bands, as the dense kernels do: an elementwise value within
``tol.zero`` times its unit's largest magnitude is at the threshold, and max-unit
candidates within ``tol.zero`` times the unit's largest candidate magnitude tie (the
lowest position wins, so two lines equal up to rounding along a piece select one
code).  Breakpoints closer than ``tol.merge`` merge into one point, and the piece
after it keeps the codes of the piece after the last merged point.

The result is the same dict as ``crossings._partition`` returns.
"""

import numpy as np

from .. import arith
from ..tolerance import UNIT_ROUNDOFF
from .._segment_kernel import _tiny_rows

U = UNIT_ROUNDOFF


def _interleave_seg(m):
    return np.repeat(np.arange(m), 2)


def _scatter(old, new, pos_old, pos_new):
    out = np.empty((len(old) + len(new),) + old.shape[1:], dtype=old.dtype)
    out[pos_old] = old
    out[pos_new] = new
    return out


def _neighbour_t(seg, t, rows):
    """``t`` of the nearest points of each row's segment before and after it with a
    different ``t`` (the row's own ``t`` at the segment's ends): two arrays."""
    # points are sorted by (seg, t): runs of equal (seg, t)
    n = len(seg)
    new_run = np.r_[True, (seg[1:] != seg[:-1]) | (t[1:] != t[:-1])]
    starts = np.flatnonzero(new_run)
    ends = np.r_[starts[1:], n] - 1
    r = (np.cumsum(new_run) - 1)[rows]
    out = []
    for nb in (starts[r] - 1, ends[r] + 1):
        ok = (nb >= 0) & (nb < n)
        nb = np.clip(nb, 0, n - 1)
        ok &= seg[nb] == seg[rows]
        out.append(np.where(ok, t[nb], t[rows]))
    return out


class _Ctx:
    """Mode flags and the record of undecided decisions (certified mode).

    An undecided decision at a point can only make the codes of its two adjacent
    pieces wrong, and an undecided piece only that piece's (values at points never
    depend on codes), so each is recorded as the open interval of ``t`` it can affect:
    only those intervals are recomputed exactly (:func:`repair_certified`).
    """

    def __init__(self, exact, certified, tolv):
        self.exact = exact
        self.certified = certified
        self.tol = tolv
        self.amb = []  # (seg, t_lo, t_hi) arrays
        self.overflow = []  # segment arrays (float and certified; see _drop_overflow)

    def flag_points(self, seg, t, rows):
        rows = np.unique(np.asarray(rows, np.int64))
        if len(rows) == 0:
            return
        # the nearest points of the segment at a different t on either side: several
        # points can share one float t (coincident breakpoints), and the pieces
        # between them have no length
        lo_t, hi_t = _neighbour_t(seg, t, rows)
        self.amb.append((seg[rows], lo_t, hi_t))

    def flag_segments(self, segs):
        """Whole segments for exact arithmetic (the interval covers ``[0, 1]``)."""
        segs = np.unique(np.asarray(segs, np.int64))
        if len(segs):
            self.amb.append((segs, np.full(len(segs), -1.0), np.full(len(segs), 2.0)))

    def flag_pieces(self, seg, t, k):
        k = np.unique(np.asarray(k, np.int64))
        if len(k):
            self.amb.append((seg[k], t[k], t[k + 1]))

    def segments(self):
        if not self.amb:
            return np.zeros(0, np.int64)
        return np.unique(np.concatenate([a[0] for a in self.amb]))

    def intervals(self):
        if not self.amb:
            return np.zeros(0, np.int64), np.zeros(0), np.zeros(0)
        return tuple(np.concatenate([a[i] for a in self.amb]) for i in range(3))


# ---------------------------------------------------------------------------
# threshold groups
# ---------------------------------------------------------------------------
def _threshold_signs(Z, Ez, thq, ctx, band):
    """Per threshold: (pos, neg, certain_zero) bool arrays at the points."""
    out = []
    F = arith.float_values(Z) if ctx.exact else None
    for q in thq:
        if ctx.exact:
            out.append(arith.compare_exact(Z, q, F=F))
            continue
        D = Z - q if q != 0 else Z
        if ctx.certified:
            pos = D > Ez
            neg = D < -Ez
            # an exactly known value at the threshold is a decided zero
            cz = (D == 0) & (Ez == 0)
            out.append((pos, neg, cz))
        else:
            out.append((D > band, D < -band))
    return out


def _threshold_events(Z, sg, same, thq, exact):
    """Crossings strictly inside pieces: (k, j, w, A, B) arrays."""
    ks, js, ws, As, Bs = [], [], [], [], []
    for w, (q, s3) in enumerate(zip(thq, sg)):
        pos, neg = s3[0], s3[1]
        kk, jj = np.nonzero((pos[:-1] & neg[1:]) | (neg[:-1] & pos[1:]))
        inside = same[kk]
        kk, jj = kk[inside], jj[inside]
        if len(kk):
            ks.append(kk)
            js.append(jj)
            ws.append(np.full(len(kk), w))
            As.append(Z[kk, jj] - q)
            Bs.append(Z[kk + 1, jj] - q)
    if not ks:
        return None
    return (np.concatenate(ks), np.concatenate(js), np.concatenate(ws),
            np.concatenate(As), np.concatenate(Bs))


# ---------------------------------------------------------------------------
# max groups
# ---------------------------------------------------------------------------
def _lexargmax(v, sl, exact, sign=1, valid=None, first=None, band=None):
    """Index of the largest ``(v, sign * slope)`` along the last axis, lowest on ties
    (exact: only ``valid`` candidates, starting from the ``first`` valid one; float
    with ``band`` (one per row): ties within it)."""
    if exact:
        n, k = v.shape
        code = np.zeros(n, np.int64) if first is None else first.astype(np.int64).copy()
        rr = np.arange(n)
        best = v[rr, code]
        bs = sl[rr, code]
        for i in range(k):
            vi, si = v[:, i], sl[:, i]
            gt = np.asarray(vi > best, bool)
            eq = np.asarray(vi == best, bool)
            better = gt | (eq & np.asarray((si > bs) if sign > 0 else (si < bs), bool))
            if valid is not None:
                better &= valid[:, i]
            if better.any():
                code[better] = i
                best = np.where(better, vi, best)
                bs = np.where(better, si, bs)
        return code
    vmax = v.max(axis=1, keepdims=True)
    if band is None:
        cand = v == vmax
        key = np.where(cand, sign * sl, -np.inf)
        return np.argmax(key, axis=1)
    # float mode: values within the band of the largest tie, then slopes within twice
    # the band (differences of two banded values) tie, lowest index
    b = band[:, None]
    key = np.where(v >= vmax - b, sign * sl, -np.inf)
    return np.argmax(key >= key.max(axis=1, keepdims=True) - 2 * b, axis=1)


def _envelope(va, vb, cur, exact, valid):
    """Switches of the upper envelope of lines ``va + s (vb - va)``, ``s in (0, 1)``.

    ``va, vb (n, k)``, ``cur (n,)`` the selected candidate just after ``s = 0``.
    Returns ``(row, s, new code)`` arrays in order of ``s`` within each row.
    """
    n, k = va.shape
    sl = vb - va
    rows_out, s_out, c_out = [], [], []
    rows = np.arange(n)
    s_cur = np.full(n, arith.ZERO, dtype=object) if exact else np.zeros(n)
    one = arith.ONE if exact else 1.0
    for _ in range(k):
        if len(rows) == 0:
            break
        a = va[rows]
        sr = sl[rows]
        vc = a[np.arange(len(rows)), cur]
        scur_sl = sr[np.arange(len(rows)), cur]
        dsl = sr - scur_sl[:, None]
        ok = np.asarray(dsl > 0, bool) & valid[rows]
        if exact:
            num = vc[:, None] - a
            s = np.empty(a.shape, dtype=object)
            s[...] = one
            s[ok] = num[ok] / dsl[ok]
            sc = s_cur[rows]
            ok &= np.asarray(s > sc[:, None], bool) & np.asarray(s < one, bool)
            big = np.empty(a.shape, dtype=object)
            big[...] = arith.fmpq(2)
            s = np.where(ok, s, big)
            smin = s.min(axis=1)
        else:
            with np.errstate(divide="ignore", invalid="ignore"):
                s = np.where(ok, (vc[:, None] - a) / np.where(ok, dsl, 1.0), 2.0)
            ok &= (s > s_cur[rows][:, None]) & (s < 1.0)
            s = np.where(ok, s, 2.0)
            smin = s.min(axis=1)
        has = np.asarray(smin < one, bool)
        if not has.any():
            break
        r = rows[has]
        sm = smin[has]
        at = np.asarray(s[has] == sm[:, None], bool) & ok[has]
        # among the candidates reaching the envelope at sm: largest slope, lowest index
        key_sl = sr[has]
        if exact:
            new = np.zeros(len(r), np.int64)
            for q in range(len(r)):
                idx = np.flatnonzero(at[q])
                best = idx[0]
                for i in idx[1:]:
                    if key_sl[q, i] > key_sl[q, best]:
                        best = i
                new[q] = best
        else:
            new = np.argmax(np.where(at, key_sl, -np.inf), axis=1)
        rows_out.append(r)
        s_out.append(sm)
        c_out.append(new)
        cur = new
        s_cur[r] = sm
        rows = r
    if not rows_out:
        return None
    return np.concatenate(rows_out), np.concatenate(s_out), np.concatenate(c_out)


def _exact_argmax(u, zc):
    """Lowest-index argmax of object candidate arrays (missing candidates never win)."""
    P = zc.shape[0]
    code = np.broadcast_to(u.first.astype(np.int64), (P, u.n_units)).copy()
    best = np.take_along_axis(zc, code[:, :, None], axis=2)[:, :, 0]
    for i in range(u.k):
        better = np.asarray(zc[:, :, i] > best, bool) & u.valid[None, :, i]
        if better.any():
            code[better] = i
            best = np.where(better, zc[:, :, i], best)
    return code


def _max_band(u, zc, tolv):
    """Float mode: per max unit, the band within which candidates tie (``tol.zero``
    times the largest candidate magnitude of the unit over the points), as the zero
    band of elementwise units."""
    if len(zc) == 0:
        return np.zeros(u.n_units)
    # reduce over the points first (a reduction over the short candidate axis of the
    # whole array is slow in numpy)
    hi = zc.max(axis=0).max(axis=1)
    lo = np.min(zc.min(axis=0), axis=1, initial=np.inf, where=u.valid)  # missing: -inf
    return tolv.zero * np.maximum(np.abs(hi), np.abs(lo))


def _banded_argmax(v, band):
    """Lowest index along the last axis within ``band`` (broadcast over the other
    axes) of the maximum."""
    top = np.take_along_axis(v, np.argmax(v, axis=-1)[..., None], axis=-1)
    return np.argmax(v >= top - band[..., None], axis=-1)


def _max_points(u, zc, Ez, ctx, band=None):
    """The selected candidate at every point (lowest index on ties) and, in certified
    mode, whether the selection at the point is sure: the selected value is certainly
    above every other candidate, or the maximal candidates are exactly known and equal
    (error bound 0) and the others certainly below.  ``zc``: (P, n_u, k) candidates;
    ``band`` (float mode, per unit): candidates within it of the top tie."""
    if ctx.exact:
        return zc, _exact_argmax(u, zc), None, None
    if band is not None:
        return zc, _banded_argmax(zc, band[None, :]), None, None
    am = np.argmax(zc, axis=2)
    if not ctx.certified:
        return zc, am, None, None
    ec = Ez[:, u._take]
    top = np.take_along_axis(zc, am[:, :, None], axis=2)[:, :, 0]
    etop = np.take_along_axis(ec, am[:, :, None], axis=2)[:, :, 0]
    with np.errstate(invalid="ignore"):  # (-inf + inf: a missing candidate under an
        up = zc + ec                     # unbounded error; NaN decides nothing)
    np.put_along_axis(up, am[:, :, None], -np.inf, axis=2)
    second = up.max(axis=2)  # largest upper bound of the other candidates
    sure = top - etop - 4 * U * (np.abs(top) + np.abs(second)) > second
    if not sure.all():
        # exactly known ties: every candidate within reach is an exact copy of the top
        p, q = np.nonzero(~sure)
        v, e = zc[p, q], ec[p, q]
        t, et = top[p, q], etop[p, q]
        tied = (v == t[:, None]) & (e == 0) & (et == 0)[:, None]
        with np.errstate(invalid="ignore"):  # missing candidates (-inf) are masked below
            below = v + e + 4 * U * (np.abs(v) + np.abs(t[:, None])) < (t - et)[:, None]
        sure[p, q] = np.all(tied | below | ~u.valid[q], axis=1)
    return zc, am, sure, ec


def _max_output_bound(u, zc, ec, am, sure):
    """Error bound of the max units' outputs: the selected candidate's bound where the
    selection is sure, else the largest bound among the candidates that can be maximal."""
    eh = np.take_along_axis(ec, am[:, :, None], axis=2)[:, :, 0]
    if not sure.all():
        p, q = np.nonzero(~sure)
        v, e = zc[p, q], ec[p, q]
        valid = u.valid[q]
        with np.errstate(invalid="ignore"):  # (missing candidates are masked)
            lower = np.max(np.where(valid, v - e, -np.inf), axis=1)
            possible = valid & (v + e >= lower[:, None])
        eh[p, q] = np.max(np.where(possible, e, 0.0), axis=1)
    return eh


def _max_events(u, zc, am, same, ctx, band=None):
    """Switches of max units inside pieces: (k, unit, s, new code, old code).

    Only (piece, unit) pairs whose selection differs at the two ends can switch: when
    the same (lowest-index) candidate is selected at both ends it dominates every other
    one on the whole piece, and no lower index can tie it inside without tying at the
    ends too.
    """
    kk = np.flatnonzero(same)
    if len(kk) == 0:
        return None
    pk, pu = np.nonzero(am[kk] != am[kk + 1])
    if len(pk) == 0:
        return None
    k = kk[pk]
    va = zc[k, pu]
    vb = zc[k + 1, pu]
    valid = u.valid[pu]
    if ctx.exact:
        sl = vb - va
        left = _lexargmax(va, sl, True, 1, valid, u.first[pu])
        right = _lexargmax(vb, sl, True, -1, valid, u.first[pu])
    else:
        with np.errstate(invalid="ignore"):
            sl = np.where(valid, vb - va, 0.0)
        bp = None if band is None else band[pu]
        left = _lexargmax(va, sl, False, 1, band=bp)
        right = _lexargmax(vb, sl, False, -1, band=bp)
    todo = np.flatnonzero(left != right)
    if len(todo) == 0:
        return None
    if ctx.exact:
        env = _envelope(va[todo], vb[todo], left[todo], True, valid[todo])
    else:
        with np.errstate(invalid="ignore"):
            env = _envelope(np.where(valid[todo], va[todo], -1e300), np.where(valid[todo], vb[todo], -1e300),
                            left[todo], False, valid[todo])
    if env is None:
        return None
    r, s, c = env
    pair = todo[r]
    # previous code of each switch: the left code for the first one of a pair, else the
    # code of the switch before it (the walk emits switches of a pair in order)
    order = np.lexsort((np.arange(len(r)), pair))
    prev_sorted = np.empty(len(r), np.int64)
    p_sorted = pair[order]
    c_sorted = c[order]
    first = np.r_[True, p_sorted[1:] != p_sorted[:-1]]
    prev_sorted[first] = left[p_sorted[first]]
    prev_sorted[~first] = c_sorted[np.flatnonzero(~first) - 1]
    prev = np.empty(len(r), np.int64)
    prev[order] = prev_sorted
    return k[pair], pu[pair], s, c, prev


class _Ties:
    """Sparse table of candidates tied at switch points: ``(point, unit) -> mask``."""

    def __init__(self, n_units, keys, masks):
        self.n_units = n_units
        order = np.argsort(keys, kind="stable")
        keys, masks = keys[order], masks[order]
        uniq, start = np.unique(keys, return_index=True)
        self.keys = uniq
        self.masks = np.logical_or.reduceat(masks, start, axis=0) if len(keys) else masks

    def lookup(self, rows, units):
        """(n, k) masks for the given (point, unit) pairs (False where none)."""
        key = rows.astype(np.int64) * self.n_units + units
        pos = np.searchsorted(self.keys, key)
        pos = np.minimum(pos, max(len(self.keys) - 1, 0))
        found = (self.keys[pos] == key) if len(self.keys) else np.zeros(len(key), bool)
        out = np.zeros((len(key), self.masks.shape[1] if len(self.keys) else 0), bool)
        if len(self.keys):
            out[found] = self.masks[pos[found]]
        return out


def _max_piece_codes(u, zc, am, sure, ec, same, ties, ctx, band=None):
    """Code of every max unit on every piece and, certified, the pieces whose selection
    the bounds cannot certify.

    A piece with the same selection at both ends has that code; otherwise (a switch
    point at one end) the selection at the midpoint.  Certified: the code must dominate
    every other candidate at both ends (a certified gap, an exactly known tie, or a tie
    made by a switch at that point), checked in detail only where a piece end is not
    sure.
    """
    P = len(am)
    codes = np.zeros((P, u.n_units), np.int8)
    kk = np.flatnonzero(same)
    if len(kk) == 0:
        return codes, np.zeros(0, np.int64)
    codes[kk] = am[kk]
    pk, pu = np.nonzero(am[kk] != am[kk + 1])
    if len(pk):
        k = kk[pk]
        a, b = zc[k, pu], zc[k + 1, pu]
        if ctx.exact:
            mid = (a + b) / 2
            codes[k, pu] = _exact_mid_argmax(u, mid, pu)
        elif band is not None:
            codes[k, pu] = _banded_argmax(0.5 * (a + b), band[pu])
        else:
            codes[k, pu] = np.argmax(0.5 * (a + b), axis=1)
    if not ctx.certified:
        return codes, np.zeros(0, np.int64)
    need = ~(sure[kk] & sure[kk + 1] & (am[kk] == am[kk + 1]))
    qk, qu = np.nonzero(need)
    if len(qk) == 0:
        return codes, np.zeros(0, np.int64)
    k = kk[qk]
    c = codes[k, qu].astype(np.int64)
    valid = u.valid[qu]
    n = np.arange(len(k))

    def dominated(rows):
        v, e = zc[rows, qu], ec[rows, qu]
        vc, ecc = v[n, c], e[n, c]
        gap = vc[:, None] - v
        sure_gap = gap > (ecc[:, None] + e) * (1 + 4 * U) + 4 * U * (np.abs(vc[:, None]) + np.abs(v))
        tie = (gap == 0) & (ecc[:, None] == 0) & (e == 0)
        ok = sure_gap | tie | ~valid
        if ties is not None:
            ok |= ties.lookup(rows, qu)
        return ok, tie

    ok_a, tie_a = dominated(k)
    ok_b, tie_b = dominated(k + 1)
    ok = ok_a & ok_b
    ok[n, c] = True
    # an exact tie along the piece selects the lowest index: c must be it
    lower_tie = tie_a & tie_b & valid & (np.arange(u.k)[None, :] < c[:, None])
    good = ok.all(axis=1) & ~lower_tie.any(axis=1)
    return codes, np.unique(k[~good])


def _exact_mid_argmax(u, mid, pu):
    """Lowest-index argmax of exact midpoint candidates ``mid (n, k)`` of units ``pu``."""
    n = len(mid)
    code = u.first[pu].astype(np.int64).copy()
    best = mid[np.arange(n), code]
    for i in range(u.k):
        better = np.asarray(mid[:, i] > best, bool) & u.valid[pu, i]
        if better.any():
            code[better] = i
            best = np.where(better, mid[:, i], best)
    return code


# ---------------------------------------------------------------------------
# the kernel
# ---------------------------------------------------------------------------
#: bytes of state values the kernel holds at once (float: 8 per value, certified 16,
#: exact rationals about 100); above it the points are processed in blocks
STATE_BUDGET = 512 * 2**20

#: bytes of state values (points x widest state x bytes per value) the kernel aims at
#: per batch of segments: states that stay in cache run several times faster than one
#: batch of all segments (the digits CNN, 270 paths: about 3x in float mode); one
#: segment's points alone are rarely this small
BATCH_BYTES = 2 * 2**20

#: segments of the first batch, from which the points per segment are estimated
PROBE_SEGMENTS = 4


def graph_partition(net, S0, E0, exact, tolv, certified):
    """Segment partition on the stages of ``net`` (a PLGraph or a PLNet).

    ``S0`` (``2m`` rows: start, end, start, end, ...) holds the states before the
    first unit group at the segment ends (object ``fmpq`` arrays when ``exact``) and
    ``E0`` their error bounds (certified).  Returns the dict of
    ``crossings._partition``.

    The segments run in batches of about :data:`BATCH_BYTES` of state values (the
    batch size follows the points per segment seen so far); segments are independent,
    so the result is that of one batch.  Memory stays bounded: when the points of a
    group times its state width exceed
    :data:`STATE_BUDGET`, the points are cut into blocks of consecutive points (two
    neighbouring blocks share their boundary point) and the remaining groups run on
    each block on its own -- after a group every decision is local to its pieces.
    """
    st = net.stages()
    ctx = _Ctx(exact, certified, tolv)
    m = len(S0) // 2
    degenerate = np.zeros(m, bool)
    endpoint = np.zeros((m, 2), bool)
    # segments in batches whose states stay near BATCH_BYTES: the size follows the
    # points per segment seen so far (the first batch probes with PROBE_SEGMENTS)
    seg_bytes = _bytes_per_value(ctx) * max([S0.shape[1]] + [st.width(g) for g in range(st.n_groups)])
    parts, a, n_points = [], 0, 0
    while a < m or not parts:
        per = PROBE_SEGMENTS if a == 0 else max(1, int(BATCH_BYTES * a / (seg_bytes * n_points)))
        b = min(m, a + per)
        out = _run_batch(net, st, S0[2 * a : 2 * b], None if E0 is None else E0[2 * a : 2 * b],
                         a, b, ctx, degenerate, endpoint)
        parts.append(out)
        n_points += len(out["seg"])
        a = b
    if len(parts) == 1:
        seg, t, te, codes = (parts[0][k] for k in ("seg", "t", "te", "codes"))
    else:
        seg = np.concatenate([p["seg"] for p in parts])
        t = np.concatenate([p["t"] for p in parts])
        te = np.concatenate([p["te"] for p in parts]) if certified else None
        codes = np.concatenate([p["codes"] for p in parts], axis=0)
    same = seg[1:] == seg[:-1]
    piece = np.flatnonzero(same)
    return {
        "seg": seg,
        "t": t,
        "te": te,
        "piece": piece,
        "codes": codes,
        "degenerate": degenerate,
        "endpoint": endpoint,
        "ambiguous": ctx.segments(),
        "ambiguous_t": ctx.intervals(),
        "overflow": (np.unique(np.concatenate(ctx.overflow)) if ctx.overflow
                     else np.zeros(0, np.int64)),
    }


def _run_batch(net, st, S0, E0, a, b, ctx, degenerate, endpoint):
    """Segments ``a .. b-1`` (their end states ``S0``, bounds ``E0``) through every group."""
    n = b - a
    seg = _interleave_seg(n) + a
    if ctx.exact:
        t = np.empty(2 * n, dtype=object)
        t[0::2] = arith.ZERO
        t[1::2] = arith.ONE
    else:
        t = np.tile([0.0, 1.0], n)
    te = np.zeros(2 * n) if ctx.certified else None
    ends = np.tile(np.array([1, 2], np.int8), n)  # 1: a segment's start, 2: its end
    return _run_groups(net, st, 0, seg, t, te, S0, E0, ends, ctx, degenerate, endpoint)


def _drop_overflow(S, E, seg, ctx):
    """Float and certified: the segments with a state value (or bound) of magnitude
    :data:`polyfold.crossings.OVERFLOW_MAGNITUDE` or more, or not finite, are recorded
    in ``ctx.overflow`` for exact arithmetic and their states zeroed, so the rest of
    the float pass stays finite (the driver replaces their results).  The first
    values are checked by the driver; this catches growth in the later stages."""
    from ..crossings import OVERFLOW_MAGNITUDE as big

    with np.errstate(invalid="ignore"):
        fine = max(np.max(S, initial=0.0), -np.min(S, initial=0.0)) < big
        fine = fine and (E is None or np.max(E, initial=0.0) < big)
        if fine:
            return S, E
        bad = ~(np.abs(S) < big).all(axis=1)
        if E is not None:
            bad |= ~(E < big).all(axis=1)
    segs = np.unique(seg[bad])
    ctx.overflow.append(segs)
    rows = np.isin(seg, segs)[:, None]
    S = np.where(rows, 0.0, S)
    return S, (None if E is None else np.where(rows, 0.0, E))


def _bytes_per_value(ctx):
    return 100 if ctx.exact else (16 if ctx.certified else 8)


def _run_groups(net, st, g0, seg, t, te, S, E, ends, ctx, degenerate, endpoint):
    """Groups ``g0 ..`` on the given points; returns the final points and the codes of
    groups ``g0 ..`` on every final piece (as a ``(n_pieces, n_hidden)`` array whose
    columns before group ``g0`` are filled by the caller through ``origin``: the index,
    among the given points, of the left point of the piece containing each final one)."""
    exact, certified, tolv = ctx.exact, ctx.certified, ctx.tol
    layer_codes, src_maps = [], []
    G = st.n_groups
    off = net.layer_offsets
    for g in range(g0, G):
        n_pts = len(seg)
        if n_pts > 4 and n_pts * st.width(g) * _bytes_per_value(ctx) > STATE_BUDGET:
            return _run_blocks(net, st, g, g0, seg, t, te, S, E, ends, ctx, degenerate, endpoint,
                               layer_codes, src_maps)
        u = st.units[g]
        zw = st.z_width(g)
        hits = None  # float: (rows, units, threshold values) of this group's new points
        if not exact and g > 0:
            S, E = _drop_overflow(S, E, seg, ctx)
        Z = S[:, :zw]
        Ez = E[:, :zw] if certified else None
        if certified and len(Z):
            # magnitudes near the subnormal range: the relative float64 bounds do not
            # hold there (see _segment_kernel.TINY_VALUE); the whole segment exactly
            near = _tiny_rows(Z) | _tiny_rows(Ez)
            if near.any():
                ctx.flag_segments(seg[near])
        same = seg[1:] == seg[:-1]
        first = np.flatnonzero(ends == 1)
        last = np.flatnonzero(ends == 2)
        if u.kind == "threshold":
            thq = [arith.to_fmpq(v) for v in u.thresholds] if exact else list(u.thresholds)
            band = None
            if not exact and not certified:
                band = tolv.zero * (np.abs(Z).max(axis=0) if len(Z) else 0.0)
            sg = _threshold_signs(Z, Ez, thq, ctx, band)
            for s3 in sg:
                pos, neg = s3[0], s3[1]
                zero = ~(pos | neg)
                endpoint[seg[first], 0] |= zero[first].any(axis=1)
                endpoint[seg[last], 1] |= zero[last].any(axis=1)
                if certified:
                    bad = (zero & ~s3[2]).any(axis=1)
                    if bad.any():
                        ctx.flag_points(seg, t, np.flatnonzero(bad))
            ev = _threshold_events(Z, sg, same, thq, exact)
            if ev is not None:
                k, j, w, A, B = ev
                s = A / (A - B)
                order = np.lexsort((s, k)) if not exact else _exact_order(k, s)
                k, j, w, A, B, s = k[order], j[order], w[order], A[order], B[order], s[order]
                if certified:
                    ea = Ez[k, j]
                    eb = Ez[k + 1, j]
                    den = np.abs(A) + np.abs(B) - ea - eb
                    ds = np.where(den > 0, (ea + eb) / np.where(den > 0, den, 1.0), np.inf) + 4 * U
                    hit_val = np.asarray(thq, dtype=np.float64)[w]
                    _flag_close_events(ctx, seg, t, k, j, s, ds)
                else:
                    ds = None
                    hit_val = np.asarray(thq, dtype=object if exact else np.float64)[w]
                new = _insert(seg, t, S, E, te, k, s, ds, exact, certified)
                seg, t, S, E, te, rows, pos_old, pos_new, src = new
                ends = ends[src] * np.asarray(_is_old(pos_old, len(seg)), np.int8)
                # the crossing unit sits exactly at its threshold at the new (true)
                # crossing point: a decided zero in every mode
                if not exact:
                    S[pos_new, j] = hit_val
                    hits = (pos_new, j, hit_val)
                    if certified:
                        E[pos_new, j] = 0.0
            else:
                src = np.arange(n_pts)
        else:
            zc = u.candidates(Z)
            mband = _max_band(u, zc, tolv) if not exact and not certified else None
            _, am, _, _ = _max_points(u, zc, None, _Ctx(exact, False, tolv), mband)
            ev = _max_events(u, zc, am, same, ctx, mband)
            hit_max = None
            if ev is not None:
                k, unit, s, cnew, cold = ev
                order = np.lexsort((s, k)) if not exact else _exact_order(k, s)
                k, unit, s, cnew, cold = k[order], unit[order], s[order], cnew[order], cold[order]
                ds = None
                if certified:
                    ds = _max_ds(u, Z, Ez, k, unit, s, cnew, cold)
                new = _insert(seg, t, S, E, te, k, s, ds, exact, certified)
                seg, t, S, E, te, rows, pos_old, pos_new, src = new
                ends = ends[src] * np.asarray(_is_old(pos_old, len(seg)), np.int8)
                hit_max = (pos_new, unit, cold, cnew)
                # candidates (and, float, selections) at the new points only
                rows_new = pos_new_rows(pos_old, len(seg))
                zc_new = u.candidates(S[rows_new, :zw])
                zc = _scatter(zc, zc_new, pos_old, rows_new)
                if mband is not None:
                    am = _scatter(am, _banded_argmax(zc_new, mband[None, :]), pos_old, rows_new)
            else:
                src = np.arange(n_pts)
        if not exact and not certified and len(seg) > n_pts:
            keep = _merge_close(seg, t, tolv)
            if keep is not None:
                # never drop a segment's end point: drop the interior point next to it
                lost = np.flatnonzero(~keep & (ends == 2))
                keep[lost] = True
                keep[lost - 1] &= ends[lost - 1] != 0
                # the piece after a merged run is the one after its last point: it
                # takes that point's origin (its codes in the earlier groups)
                kept = np.flatnonzero(keep)
                src = src[np.r_[kept[1:], len(keep)] - 1]
                if hits is not None:
                    # every unit switching at a merged point sits at its threshold there
                    run = np.cumsum(keep) - 1
                    rows, units, vals = hits
                    S[kept[run[rows]], units] = vals
                seg, t, S, ends = seg[keep], t[keep], S[keep], ends[keep]
                if u.kind == "max":
                    zc = zc[keep]
                    am = am[keep]
        Z = S[:, :zw]
        Ez = E[:, :zw] if certified else None
        if certified and len(Z):
            # magnitudes near the subnormal range: the relative float64 bounds do not
            # hold there (see _segment_kernel.TINY_VALUE); the whole segment exactly
            near = _tiny_rows(Z) | _tiny_rows(Ez)
            if near.any():
                ctx.flag_segments(seg[near])
        same = seg[1:] == seg[:-1]
        ctx.t = t
        if u.kind == "threshold":
            code, dg = _threshold_piece_codes(u, Z, Ez, same, ctx, tolv, seg)
            if dg.any():
                degenerate[seg[dg]] = True
        else:
            hit = None
            if certified and hit_max is not None:
                hit = _switch_ties(u, Z, Ez, hit_max)
            if mband is None:
                _, am, sure, ec = _max_points(u, zc, Ez, ctx)
            else:  # float: the selections at the old points are those found above
                sure = ec = None
            code, bad = _max_piece_codes(u, zc, am, sure, ec, same, hit, ctx, mband)
            if certified and len(bad):
                ctx.flag_pieces(seg, t, bad)
            if certified:
                _max_certify_new_points(u, Z, Ez, hit_max, hit, ctx, seg)
            _max_endpoint_flags(u, Z, Ez, seg, ends, endpoint, ctx)
        layer_codes.append(code)
        src_maps.append(src)
        if g < G - 1:
            h = eh = None
            if u.kind == "max":
                h = u.select(Z, am) if exact else np.take_along_axis(zc, am[:, :, None], axis=2)[:, :, 0]
                if certified:
                    eh = _max_output_bound(u, zc, ec, am, sure)
            # (float: values beyond float64 become inf quietly; _drop_overflow takes
            # their segments out at the next group)
            with np.errstate(over="ignore", invalid="ignore"):
                if certified:
                    S, E = st.advance_bound(g, S, E, safety=tolv.safety, h=h, eh=eh)
                else:
                    S = st.advance(g, S, exact=exact, h=h)
    same = seg[1:] == seg[:-1]
    piece = np.flatnonzero(same)
    codes = np.zeros((len(piece), net.n_hidden), np.int8)
    idx = piece
    for k in range(len(layer_codes) - 1, -1, -1):
        g = g0 + k
        codes[:, off[g] : off[g + 1]] = layer_codes[k][idx]
        idx = src_maps[k][idx]
    return {"seg": seg, "t": t, "te": te, "codes": codes, "origin": idx}


def _is_old(pos_old, n):
    mask = np.zeros(n, bool)
    mask[pos_old] = True
    return mask


def _run_blocks(net, st, g, g0, seg, t, te, S, E, ends, ctx, degenerate, endpoint, layer_codes,
                src_maps):
    """Split the points into blocks that fit the budget and run groups ``g ..`` on each."""
    n_pts = len(seg)
    per = max(3, STATE_BUDGET // (st.width(g) * _bytes_per_value(ctx)))
    bounds = list(range(0, n_pts - 1, per - 1)) + [n_pts - 1]
    parts = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        sl = slice(a, b + 1)
        sub = _run_groups(net, st, g, seg[sl], t[sl], None if te is None else te[sl], S[sl],
                          None if E is None else E[sl], ends[sl], ctx, degenerate, endpoint)
        sub["origin"] = sub["origin"] + a
        parts.append(sub)
    # concatenate, dropping each shared boundary point once
    segs, ts, tes, cods, origs = [], [], [], [], []
    for k, sub in enumerate(parts):
        drop = 1 if k > 0 and sub["seg"][0] == parts[k - 1]["seg"][-1] else 0
        segs.append(sub["seg"][drop:])
        ts.append(sub["t"][drop:])
        if te is not None:
            tes.append(sub["te"][drop:])
        cods.append(sub["codes"])
        origs.append(sub["origin"])
    seg2 = np.concatenate(segs)
    t2 = np.concatenate(ts)
    te2 = np.concatenate(tes) if te is not None else None
    codes = np.concatenate(cods, axis=0)
    idx = np.concatenate(origs)  # index among the points at group g of each final piece
    off = net.layer_offsets
    for k in range(len(layer_codes) - 1, -1, -1):
        gg = g0 + k
        codes[:, off[gg] : off[gg + 1]] = layer_codes[k][idx]
        idx = src_maps[k][idx]
    return {"seg": seg2, "t": t2, "te": te2, "codes": codes, "origin": idx}


def ctx_t(ctx):
    """The current point parameters (set by the kernel before each check)."""
    return ctx.t


def _exact_order(k, s):
    """Order of events by (k, s) for object ``s`` (exact rationals)."""
    keys = sorted(range(len(k)), key=lambda i: (int(k[i]), s[i]))
    return np.asarray(keys, dtype=np.int64)


def _flag_close_events(ctx, seg, t, k, j, s, ds):
    """Certified: flag the pieces ``k`` in which one unit ``j`` crosses two of its
    thresholds (a hard tanh through its window) at new points that lie within their
    position bounds ``ds`` of each other (events sorted by ``(k, s)``).  Their true
    order can then differ from the float one, and nothing at the points shows it: each
    new point holds the unit exactly at its own threshold, a correct decision at that
    point's true position, so the piece between them would get the codes of an order
    that does not exist.  (Other units at a new point carry its position bound in their
    error bounds, so their near crossings are undecided there already.)"""
    if len(k) < 2:
        return
    close = (k[1:] == k[:-1]) & (j[1:] == j[:-1]) & ~((s[1:] - s[:-1]) > ds[1:] + ds[:-1])
    if close.any():
        ctx.flag_pieces(seg, t, k[1:][close])


def _max_ds(u, Z, Ez, k, unit, s, cnew, cold):
    """Bound on the error of the float switch position of max units.

    :func:`_envelope` computes the switch as ``s = A / dsl`` with ``A = z_old - z_new``
    at the piece's left end and ``dsl = sl_new - sl_old`` the difference of the two
    candidates' rounded slopes ``sl = z(right) - z(left)``.  When the slopes are close,
    their rounding (``u |sl|`` each) is large next to ``dsl``; so the bound is

        ``|s - s*| <= (eA + s eD) / (|dsl| - eD)`` plus the division's rounding,

    ``eA = ea + u |A|`` the error of ``A`` and ``eD = ea + eb + u (|sl_old| + |sl_new| +
    |dsl|)`` that of ``dsl`` (``ea``, ``eb``: the candidates' value errors at the left
    and right end; every ``u`` doubled for the rounding of this bound).
    """
    ca = u._take[unit, cold]
    cb = u._take[unit, cnew]
    A = Z[k, ca] - Z[k, cb]
    sla = Z[k + 1, ca] - Z[k, ca]
    slb = Z[k + 1, cb] - Z[k, cb]
    dsl = slb - sla
    ea = Ez[k, ca] + Ez[k, cb]
    eb = Ez[k + 1, ca] + Ez[k + 1, cb]
    eA = ea + 2 * U * np.abs(A)
    eD = ea + eb + 2 * U * (np.abs(sla) + np.abs(slb) + np.abs(dsl))
    den = np.abs(dsl) - eD
    with np.errstate(invalid="ignore"):
        ds = np.where(den > 0, (eA + np.abs(s) * eD) / np.where(den > 0, den, 1.0), np.inf)
    return ds * (1 + 8 * U) + 8 * U


def _insert(seg, t, S, E, te, k, s, ds, exact, certified):
    """Insert one new point per event (k, s) (sorted); exact: equal (k, s) share one."""
    if exact and len(k) > 1:
        keep = np.r_[True, (k[1:] != k[:-1]) | np.asarray(s[1:] != s[:-1], bool)]
        uk, us = k[keep], s[keep]
        ev_row = np.cumsum(keep) - 1
    else:
        uk, us = k, s
        ev_row = np.arange(len(k))
    n_pts = len(seg)
    n_new = len(uk)
    rows = np.arange(n_new)
    Sa, Sb = S[uk], S[uk + 1]
    D = Sb - Sa
    S_new = Sa + us[:, None] * D
    t_new = t[uk] + us * (t[uk + 1] - t[uk])
    E_new = te_new = None
    if certified:
        fin = np.isfinite(ds)
        dsf = np.where(fin, ds, 0.0)[:, None]
        # (1 - s) Ea + s Eb + ds (|Sb - Sa| + Ea + Eb) + rounding where the ends differ
        # (interpolating equal end values is exact, and the true value is constant);
        # in place, one scratch array: the new states are the biggest arrays here
        np.abs(D, out=D)
        E_new = E[uk]
        E_new *= (1 - us)[:, None] + dsf
        tmp = E[uk + 1]
        tmp *= us[:, None] + dsf
        E_new += tmp
        np.multiply(D, dsf, out=tmp)
        E_new += tmp
        np.abs(Sa, out=Sa)
        np.abs(Sb, out=Sb)
        Sa += Sb
        Sa *= 4 * U
        np.add(E_new, Sa, out=E_new, where=D > 0)
        E_new *= 1 + 8 * U
        E_new[~fin] = np.inf
        te_new = ((1 - us) * te[uk] + us * te[uk + 1] + np.where(fin, ds, np.inf)
                  * (t[uk + 1] - t[uk] + te[uk] + te[uk + 1]) + 4 * U * np.abs(t_new)) * (1 + 8 * U)
    pos_old = np.arange(n_pts) + np.searchsorted(uk, np.arange(n_pts), side="left")
    pos_new = uk + 1 + rows
    src = _scatter(np.arange(n_pts), uk, pos_old, pos_new)
    seg = _scatter(seg, seg[uk], pos_old, pos_new)
    t = _scatter(t, t_new, pos_old, pos_new)
    S = _scatter(S, S_new, pos_old, pos_new)
    if certified:
        E = _scatter(E, E_new, pos_old, pos_new)
        te = _scatter(te, te_new, pos_old, pos_new)
    return seg, t, S, E, te, rows, pos_old, pos_new[ev_row], src


def _merge_close(seg, t, tolv):
    """Float mode: the points to keep when consecutive points of one segment closer
    than ``tol.merge`` merge into the first (None: nothing to merge)."""
    same = seg[1:] == seg[:-1]
    close = same & ((t[1:] - t[:-1]) <= tolv.merge)
    if not close.any():
        return None
    return np.r_[True, ~close]


def pos_new_rows(pos_old, n):
    """Rows of the new points after an insertion (the complement of ``pos_old``)."""
    mask = np.ones(n, bool)
    mask[pos_old] = False
    return np.flatnonzero(mask)


def _threshold_piece_codes(u, Z, Ez, same, ctx, tolv, seg):
    """Codes of an elementwise group on every piece (a piece is above a threshold iff
    one of its ends is) and the degenerate pieces (both ends at a threshold)."""
    thq = [arith.to_fmpq(v) for v in u.thresholds] if ctx.exact else list(u.thresholds)
    band = None
    if not ctx.exact and not ctx.certified:
        band = tolv.zero * (np.abs(Z).max(axis=0) if len(Z) else 0.0)
    sg = _threshold_signs(Z, Ez, thq, ctx, band)
    P = len(Z)
    code = np.zeros((P, Z.shape[1]), np.int8)
    dg = np.zeros(P, bool)
    for w, s3 in enumerate(sg):
        pos, neg = s3[0], s3[1]
        code[:-1] += pos[:-1] | pos[1:]
        zero = ~(pos | neg)
        # certified: only values known to sit at the threshold make a piece degenerate;
        # an undecided value is flagged below and its interval recomputed exactly,
        # which then says whether the piece is degenerate
        at = s3[2] if ctx.certified else zero
        dg[:-1] |= (at[:-1] & at[1:]).any(axis=1) & same
        if ctx.certified:
            bad = (zero & ~s3[2]).any(axis=1)
            if bad.any():
                ctx.flag_points(seg, ctx_t(ctx), np.flatnonzero(bad))
    return code, dg


def _switch_ties(u, Z, Ez, hit_max):
    """:class:`_Ties` of the candidates tied at switch points of their unit.

    The two switching candidates are equal there by construction (the point is the
    exact switch); candidates certainly equal to one of them (same float value, error
    bounds 0: exactly known constants such as background values) are tied too.
    """
    rows, unit, cold, cnew = hit_max
    i = np.arange(len(rows))
    zc = u.candidates(Z[rows])[i, unit]  # (n, k)
    ec = Ez[rows][:, u._take][i, unit]
    mask = np.zeros((len(rows), u.k), bool)
    mask[i, cold] = True
    mask[i, cnew] = True
    for ref in (cold, cnew):
        v, e = zc[i, ref], ec[i, ref]
        mask |= (zc == v[:, None]) & (ec == 0) & (e == 0)[:, None] & u.valid[unit]
    return _Ties(u.n_units, rows.astype(np.int64) * u.n_units + unit, mask)


def _max_certify_new_points(u, Z, Ez, hit_max, hit, ctx, seg):
    """Certified: at a new switch point the switching candidates (and candidates
    exactly tied with them) must be the only maximal ones."""
    if hit_max is None:
        return
    rows, unit, cold, cnew = hit_max
    zc = u.candidates(Z[rows])
    ec = Ez[rows][:, u._take]
    i = np.arange(len(rows))
    top = np.minimum(zc[i, unit, cold] - ec[i, unit, cold], zc[i, unit, cnew] - ec[i, unit, cnew])
    others = zc[i, unit]
    eo = ec[i, unit]
    mask = ~hit.lookup(rows, unit) & u.valid[unit]
    with np.errstate(invalid="ignore"):  # (missing candidates, -inf, are masked)
        below = others + eo < top[:, None]
    bad = (mask & ~below).any(axis=1)
    if bad.any():
        ctx.flag_points(seg, ctx_t(ctx), rows[bad])


def _max_endpoint_flags(u, Z, Ez, seg, ends, endpoint, ctx):
    """Flag segment ends where a max unit's maximal candidates tie (a boundary of the
    argmax partition) without the tie holding along the adjacent piece."""
    first = np.flatnonzero(ends == 1)
    last = np.flatnonzero(ends == 2)
    for col, pts, other in ((0, first, first + 1), (1, last, last - 1)):
        other = np.clip(other, 0, len(seg) - 1)
        zc = u.candidates(Z[pts])
        zo = u.candidates(Z[other])
        if ctx.exact:
            mx = zc.max(axis=2)
            tied = np.asarray(zc == mx[:, :, None], bool) & u.valid[None]
            mo = zo.max(axis=2)
            also = np.asarray(zo == mo[:, :, None], bool)
        else:
            mx = zc.max(axis=2)
            if ctx.certified:
                ec = Ez[pts][:, u._take]
                emx = np.max(np.where(tied_base := (zc == mx[:, :, None]), ec, 0.0), axis=2)
                close = (zc + ec >= mx[:, :, None] - emx[:, :, None]) & u.valid[None]
                exact_tie = (zc == mx[:, :, None]) & (ec == 0) & (emx[:, :, None] == 0)
                undec = close & ~exact_tie & ~tied_base
                bad = undec.any(axis=(1, 2))
                if bad.any():
                    ctx.flag_points(seg, ctx_t(ctx), pts[bad])
                tied = tied_base
            else:
                tied = zc == mx[:, :, None]
            mo = zo.max(axis=2)
            also = zo == mo[:, :, None]
        n_tied = tied.sum(axis=2)
        persists = (tied & also).sum(axis=2) == n_tied
        endpoint[seg[pts], col] |= ((n_tied >= 2) & ~persists).any(axis=1)


# ---------------------------------------------------------------------------
# certified mode: exact recomputation of the undecided intervals only
# ---------------------------------------------------------------------------
def _exact_subsegments(net, A, B, cl, cr, tolv):
    """Exact partitions of the sub-segments ``x(c_L) -> x(c_R)`` of ``A -> B``."""
    Aq, Bq = arith.fmpq_array(A), arith.fmpq_array(B)
    clq = np.array([arith.to_fmpq(v) for v in cl], dtype=object)[:, None]
    crq = np.array([arith.to_fmpq(v) for v in cr], dtype=object)[:, None]
    XL = Aq + clq * (Bq - Aq)
    XR = Aq + crq * (Bq - Aq)
    X = np.empty((2 * len(cl), A.shape[1]), dtype=object)
    X[0::2], X[1::2] = XL, XR
    return graph_partition(net, net.stages().start(X, exact=True), None, True, tolv, False)


def _repair_ranges(ts, lo, hi):
    """Merged piece ranges ``(j0, j1, at_start, at_end)`` to recompute exactly for
    the undecided ``t``-intervals ``(lo, hi)`` of a segment with points ``ts``.

    Each range runs from the last piece of positive length ending at or before
    ``lo`` to the first one starting at or after ``hi`` (those two keep their
    certified codes; several points can share one float ``t``, and the pieces
    between them are empty).  Overlapping or adjacent ranges merge.
    """
    n_pc = len(ts) - 1
    ja = np.maximum(np.searchsorted(ts, lo, side="right") - 1, 0)  # piece starting at or before lo
    jb = np.minimum(np.searchsorted(ts, hi, side="left") - 1, n_pc - 1)  # piece ending at or after hi
    j0 = np.maximum(ja - 1, 0)
    j1 = np.minimum(np.maximum(jb, ja) + 1, n_pc - 1)
    idx = np.arange(n_pc)
    full = np.diff(ts) > 0
    # nearest piece of positive length at or before / at or after each piece
    before = np.maximum.accumulate(np.where(full, idx, 0))
    after = np.minimum.accumulate(np.where(full, idx, n_pc - 1)[::-1])[::-1]
    j0, j1 = before[j0], after[j1]
    at_start, at_end = ja == 0, jb >= n_pc - 1
    order = np.lexsort((j1, j0))
    j0, j1, at_start, at_end = j0[order], j1[order], at_start[order], at_end[order]
    reach = np.maximum.accumulate(j1)
    new = np.r_[True, j0[1:] > reach[:-1] + 1]
    grp = np.cumsum(new) - 1
    n_grp = int(grp[-1]) + 1
    g0 = j0[new]
    g1 = np.maximum.reduceat(j1, np.flatnonzero(new))
    gs = np.zeros(n_grp, bool)
    ge = np.zeros(n_grp, bool)
    np.logical_or.at(gs, grp, at_start)
    np.logical_or.at(ge, grp, at_end)
    return list(zip(g0.tolist(), g1.tolist(), gs.tolist(), ge.tolist()))


def repair_certified(net, raw, points_of, tolv):
    """Replace the undecided ``t``-intervals of a certified partition by exact ones.

    Each recorded interval is widened to the middle of the final piece on either side
    (those pieces are certified and keep their codes), and the sub-segment between
    the two cuts is recomputed in exact arithmetic; its first and last pieces must
    continue the certified pieces they cut (else the whole segment is recomputed).
    Returns the new raw dict and the ids of the segments that needed exact work.
    """
    from ..crossings import rounding_error_bound

    segs, lo, hi = raw["ambiguous_t"]
    if len(segs) == 0:
        return raw, np.zeros(0, np.int64)
    seg, t, te, piece, codes = raw["seg"], raw["t"], raw["te"], raw["piece"], raw["codes"]
    m = len(raw["degenerate"])
    pstart = np.searchsorted(seg, np.arange(m + 1))
    # piece j of segment i is the piece whose left point is pstart[i] + j
    cstart = np.searchsorted(piece, pstart)
    affected = np.unique(segs)
    jobs = []  # (segment, first piece, last piece, c_L, c_R)
    for i in affected:
        ts = t[pstart[i] : pstart[i + 1]]
        n_pc = len(ts) - 1
        sel = segs == i
        for j0, j1, at_start, at_end in _repair_ranges(ts, lo[sel], hi[sel]):
            # cut in the middle of the certified piece on either side, or at the end
            cl = 0.0 if (j0 == 0 and at_start) else 0.5 * (ts[j0] + ts[j0 + 1])
            cr = 1.0 if (j1 == n_pc - 1 and at_end) else 0.5 * (ts[j1] + ts[j1 + 1])
            jobs.append((int(i), j0, j1, cl, cr))
    S, E = points_of(np.array([j[0] for j in jobs], np.int64))
    ex = _exact_subsegments(net, S, E, [j[3] for j in jobs], [j[4] for j in jobs], tolv)
    ex_seg, ex_t, ex_piece, ex_codes = ex["seg"], ex["t"], ex["piece"], ex["codes"]
    ex_pstart = np.searchsorted(ex_seg, np.arange(len(jobs) + 1))
    ex_cstart = np.searchsorted(ex_piece, ex_pstart)
    # rebuild every segment
    out_t, out_te, out_codes, out_n = [], [], [], []
    full_exact = []
    by_seg = {}
    for q, job in enumerate(jobs):
        by_seg.setdefault(job[0], []).append(q)
    degenerate = raw["degenerate"].copy()
    endpoint = raw["endpoint"].copy()
    for i in range(m):
        ts = list(t[pstart[i] : pstart[i + 1]])
        tes = list(te[pstart[i] : pstart[i + 1]])
        cs = list(codes[cstart[i] : cstart[i + 1]])
        for q in sorted(by_seg.get(i, []), key=lambda q: -jobs[q][1]):
            _, j0, j1, cl, cr = jobs[q]
            taus = ex_t[ex_pstart[q] : ex_pstart[q + 1]]
            ecs = ex_codes[ex_cstart[q] : ex_cstart[q + 1]]
            if cl == 0.0 and cr == 1.0:
                inner = [float(tau) for tau in taus[1:-1]]
            else:
                clq = arith.to_fmpq(cl)
                wq = arith.to_fmpq(cr) - clq
                inner = [float(clq + tau * wq) for tau in taus[1:-1]]
            left_ok = cl == 0.0 or np.array_equal(ecs[0], cs[j0])
            right_ok = cr == 1.0 or np.array_equal(ecs[-1], cs[j1])
            if not (left_ok and right_ok):
                full_exact.append(i)
                break
            new_codes = ([] if cl == 0.0 else cs[:j0]) + list(ecs) + ([] if cr == 1.0 else cs[j1 + 1 :])
            if cl != 0.0:
                new_codes[j0] = cs[j0]
            keep_l = ts[: j0 + 1] if cl != 0.0 else ts[:1]
            keep_r = ts[j1 + 1 :] if cr != 1.0 else ts[-1:]
            ts = keep_l + inner + keep_r
            # the floats of exact breakpoints are within half a spacing of them
            half = rounding_error_bound(inner).tolist()
            tes = tes[: len(keep_l)] + half + tes[len(tes) - len(keep_r) :]
            cs = new_codes
            degenerate[i] |= ex["degenerate"][q]
            if cl == 0.0:
                endpoint[i, 0] = ex["endpoint"][q, 0]
            if cr == 1.0:
                endpoint[i, 1] = ex["endpoint"][q, 1]
        out_t.append(np.asarray(ts, dtype=np.float64))
        out_te.append(np.asarray(tes, dtype=np.float64))
        out_codes.append(np.asarray(cs, dtype=np.int8).reshape(-1, codes.shape[1]))
        out_n.append(len(ts))
    new = dict(raw)
    counts = np.asarray(out_n, np.int64)
    new["seg"] = np.repeat(np.arange(m), counts)
    new["t"] = np.concatenate(out_t)
    new["te"] = np.concatenate(out_te)
    new["codes"] = np.concatenate(out_codes, axis=0)
    last = np.cumsum(counts) - 1
    keep = np.ones(len(new["t"]), bool)
    keep[last] = False
    new["piece"] = np.flatnonzero(keep)
    new["degenerate"] = degenerate
    new["endpoint"] = endpoint
    new["ambiguous"] = np.unique(np.asarray(full_exact, np.int64))
    new["ambiguous_t"] = (np.zeros(0, np.int64), np.zeros(0), np.zeros(0))
    return new, affected
