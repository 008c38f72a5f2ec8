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

The result is the same dict as ``crossings._partition`` returns.
"""

import numpy as np

from .. import arith
from ..tolerance import UNIT_ROUNDOFF

U = UNIT_ROUNDOFF


def _interleave_seg(m):
    return np.repeat(np.arange(m), 2)


def _scatter(old, new, pos_old, pos_new):
    out = np.empty((len(old) + len(new),) + old.shape[1:], dtype=old.dtype)
    out[pos_old] = old
    out[pos_new] = new
    return out


class _Ctx:
    def __init__(self, exact, certified, tolv):
        self.exact = exact
        self.certified = certified
        self.tol = tolv
        self.amb = []

    def flag(self, segs):
        segs = np.unique(np.asarray(segs))
        if len(segs):
            self.amb.append(segs)


# ---------------------------------------------------------------------------
# threshold groups
# ---------------------------------------------------------------------------
def _threshold_signs(Z, Ez, thq, ctx, band):
    """Per threshold: (pos, neg, certain_zero) bool arrays at the points."""
    out = []
    for q in thq:
        D = Z - q if q != 0 else Z
        if ctx.exact:
            out.append((np.asarray(D > 0, bool), np.asarray(D < 0, bool)))
        elif ctx.certified:
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
def _lexargmax(v, sl, exact, sign=1, valid=None, first=None):
    """Index of the largest ``(v, sign * slope)`` along the last axis, lowest on ties
    (exact: only ``valid`` candidates, starting from the ``first`` valid one)."""
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
    cand = v == vmax
    key = np.where(cand, sign * sl, -np.inf)
    return np.argmax(key, axis=1)


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


def _max_events(u, Z, same, ctx):
    """Switches of max units inside pieces: (k, unit, s, new code, old code)."""
    zc = u.candidates(Z)  # (P, n_u, k)
    kk = np.flatnonzero(same)
    if len(kk) == 0:
        return None
    va = zc[kk]
    vb = zc[kk + 1]
    n_u, k = u.n_units, u.k
    va2 = va.reshape(-1, k)
    vb2 = vb.reshape(-1, k)
    valid = np.broadcast_to(u.valid[None], (len(kk), n_u, k)).reshape(-1, k)
    if ctx.exact:
        sl = vb2 - va2
        first = np.broadcast_to(u.first[None], (len(kk), n_u)).reshape(-1)
        left = _lexargmax(va2, sl, True, 1, valid, first)
        right = _lexargmax(vb2, sl, True, -1, valid, first)
    else:
        with np.errstate(invalid="ignore"):
            sl = np.where(valid, vb2 - va2, 0.0)
        left = _lexargmax(va2, sl, False, 1)
        right = _lexargmax(vb2, sl, False, -1)
    todo = np.flatnonzero(left != right)
    if len(todo) == 0:
        return None
    if ctx.exact:
        env = _envelope(va2[todo], vb2[todo], left[todo], True, valid[todo])
    else:
        with np.errstate(invalid="ignore"):
            env = _envelope(np.where(valid[todo], va2[todo], -1e300), np.where(valid[todo], vb2[todo], -1e300),
                            left[todo], False, valid[todo])
    if env is None:
        return None
    r, s, c = env
    flat = todo[r]
    piece = flat // n_u
    unit = flat % n_u
    # previous code of each switch: the left code for the first one of a row, else the
    # code of the switch before it
    prev = np.empty(len(r), np.int64)
    order = np.lexsort((np.arange(len(r)), flat))
    prev_sorted = np.empty(len(r), np.int64)
    f_sorted = flat[order]
    c_sorted = c[order]
    first = np.r_[True, f_sorted[1:] != f_sorted[:-1]]
    prev_sorted[first] = left[f_sorted[first]]
    prev_sorted[~first] = c_sorted[np.flatnonzero(~first) - 1]
    prev[order] = prev_sorted
    return kk[piece], unit, s, c, prev


def _max_piece_codes(u, Z, E, same, hit, ctx):
    """Code of every max unit on every piece (midpoint argmax), and in certified mode
    the pieces whose selection the bounds cannot certify."""
    zc = u.candidates(Z)
    P = len(Z)
    codes = np.zeros((P, u.n_units), np.int8)
    kk = np.flatnonzero(same)
    if len(kk) == 0:
        return codes, np.zeros(0, np.int64)
    a, b = zc[kk], zc[kk + 1]
    if ctx.exact:
        mid = (a + b) / 2
        flat = mid.reshape(-1, u.k)
        best = flat[:, 0].copy()
        code = np.zeros(len(flat), np.int64)
        valid = np.broadcast_to(u.valid[None], mid.shape).reshape(-1, u.k)
        first = np.broadcast_to(u.first[None], (len(kk), u.n_units)).reshape(-1)
        best = flat[np.arange(len(flat)), first]
        code = first.copy()
        for i in range(u.k):
            better = np.asarray(flat[:, i] > best, bool) & valid[:, i]
            code[better] = i
            best = np.where(better, flat[:, i], best)
        codes[kk] = code.reshape(len(kk), u.n_units)
        return codes, np.zeros(0, np.int64)
    mid = 0.5 * (a + b)
    c = np.argmax(mid, axis=2)
    codes[kk] = c
    bad = np.zeros(0, np.int64)
    if ctx.certified:
        ec = E[:, u._take]
        ea, eb = ec[kk], ec[kk + 1]
        valid = u.valid[None]
        ia = np.arange(len(kk))[:, None]
        iu = np.arange(u.n_units)[None, :]
        va_c, vb_c = a[ia, iu, c], b[ia, iu, c]
        ea_c, eb_c = ea[ia, iu, c], eb[ia, iu, c]
        # c must dominate every other valid candidate at both ends: a certified gap, an
        # exactly known tie, or the tie of a switch made at that point (hit)
        def dominated(vc, ecc, v, e, hit_rows):
            gap = vc[:, :, None] - v
            sure = gap > (ecc[:, :, None] + e) * (1 + 4 * U) + 4 * U * (np.abs(vc[:, :, None]) + np.abs(v))
            tie = (gap == 0) & (ecc[:, :, None] == 0) & (e == 0)
            ok = sure | tie | ~valid
            if hit_rows is not None:
                ok |= hit_rows
            return ok
        ha = hb = None
        if hit is not None:
            ha, hb = hit[kk], hit[kk + 1]
        ok = dominated(va_c, ea_c, a, ea, ha) & dominated(vb_c, eb_c, b, eb, hb)
        idxc = np.arange(u.k)[None, None, :] == c[:, :, None]
        ok |= idxc
        # an exact tie along the piece selects the lowest index: c must be it
        tie_both = (a == va_c[:, :, None]) & (b == vb_c[:, :, None]) & (ea == 0) & (eb == 0) & valid
        lower_tie = tie_both & (np.arange(u.k)[None, None, :] < c[:, :, None])
        good = ok.all(axis=2) & ~lower_tie.any(axis=2)
        bad_rows = np.flatnonzero(~good.all(axis=1))
        bad = kk[bad_rows]
    return codes, bad


# ---------------------------------------------------------------------------
# the kernel
# ---------------------------------------------------------------------------
def graph_partition(net, S0, E0, exact, tolv, certified):
    """Segment partition on the stages of ``net`` (a PLGraph or a PLNet).

    ``S0`` (``2m`` rows: start, end, start, end, ...) holds the states before the
    first unit group at the segment ends (object ``fmpq`` arrays when ``exact``) and
    ``E0`` their error bounds (certified).  Returns the dict of
    ``crossings._partition``.
    """
    st = net.stages()
    ctx = _Ctx(exact, certified, tolv)
    m = len(S0) // 2
    seg = _interleave_seg(m)
    if exact:
        t = np.empty(2 * m, dtype=object)
        t[0::2] = arith.ZERO
        t[1::2] = arith.ONE
    else:
        t = np.tile([0.0, 1.0], m)
    S, E = S0, E0
    te = np.zeros(2 * m) if certified else None
    degenerate = np.zeros(m, bool)
    endpoint = np.zeros((m, 2), bool)
    layer_codes, src_maps = [], []
    G = st.n_groups
    for g in range(G):
        u = st.units[g]
        zw = st.z_width(g)
        Z = S[:, :zw]
        Ez = E[:, :zw] if certified else None
        same = seg[1:] == seg[:-1]
        first = np.flatnonzero(np.r_[True, ~same])
        last = np.flatnonzero(np.r_[~same, True])
        n_pts = len(seg)
        if u.kind == "threshold":
            thq = [arith.to_fmpq(v) for v in u.thresholds] if exact else list(u.thresholds)
            band = None
            if not exact and not certified:
                band = tolv.zero * (np.abs(Z).max(axis=0) if len(Z) else 0.0)
            sg = _threshold_signs(Z, Ez, thq, ctx, band)
            for s3 in sg:
                pos, neg = s3[0], s3[1]
                zero = ~(pos | neg)
                endpoint[:, 0] |= zero[first].any(axis=1)
                endpoint[:, 1] |= zero[last].any(axis=1)
                if certified:
                    undec = zero & ~s3[2]
                    bad = undec.any(axis=1)
                    if bad.any():
                        ctx.flag(seg[bad])
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
                else:
                    ds = None
                    hit_val = np.asarray(thq, dtype=object if exact else np.float64)[w]
                new = _insert(seg, t, S, E, te, k, s, ds, exact, certified)
                seg, t, S, E, te, rows, pos_old, pos_new, src = new
                # the crossing unit sits exactly at its threshold at the new (true)
                # crossing point: a decided zero in every mode
                if not exact:
                    S[pos_new, j] = hit_val
                    if certified:
                        E[pos_new, j] = 0.0
            else:
                src = np.arange(n_pts)
        else:
            ev = _max_events(u, Z, same, ctx)
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
                if not exact:
                    ca = u._take[unit, cold]
                    cb = u._take[unit, cnew]
                    avg = 0.5 * (S[pos_new, ca] + S[pos_new, cb])
                    S[pos_new, ca] = avg
                    S[pos_new, cb] = avg
                    if certified:
                        em = np.maximum(E[pos_new, ca], E[pos_new, cb])
                        E[pos_new, ca] = em
                        E[pos_new, cb] = em
                hit_max = (pos_new, unit, cold, cnew)
            else:
                src = np.arange(n_pts)
        if not exact and not certified and len(seg) > n_pts:
            seg, t, S, src = _merge_close(seg, t, S, src, tolv)
        Z = S[:, :zw]
        Ez = E[:, :zw] if certified else None
        same = seg[1:] == seg[:-1]
        if u.kind == "threshold":
            code, dg = _threshold_piece_codes(u, Z, Ez, same, ctx, tolv, seg)
            if dg.any():
                degenerate[seg[dg]] = True
        else:
            hit = None
            if certified and hit_max is not None:
                rows_h, unit_h, cold_h, cnew_h = hit_max
                hit = np.zeros((len(seg), u.n_units, u.k), bool)
                hit[rows_h, unit_h, cold_h] = True
                hit[rows_h, unit_h, cnew_h] = True
            code, bad = _max_piece_codes(u, Z, E, same, hit, ctx)
            if certified and len(bad):
                ctx.flag(seg[bad])
            if certified:
                _max_certify_new_points(u, Z, Ez, hit_max, ctx, seg)
            _max_endpoint_flags(u, Z, Ez, seg, code, endpoint, ctx)
        layer_codes.append(code)
        src_maps.append(src)
        if g < G - 1:
            if certified:
                S, E = st.advance_bound(g, S, E, safety=tolv.safety)
            else:
                S = st.advance(g, S, exact=exact)
    same = seg[1:] == seg[:-1]
    piece = np.flatnonzero(same)
    codes = np.empty((len(piece), net.n_hidden), np.int8)
    off = net.layer_offsets
    idx = piece
    for g in range(G - 1, -1, -1):
        codes[:, off[g] : off[g + 1]] = layer_codes[g][idx]
        idx = src_maps[g][idx]
    amb = np.unique(np.concatenate(ctx.amb)) if ctx.amb else np.zeros(0, np.int64)
    return {
        "seg": seg,
        "t": t,
        "te": te,
        "piece": piece,
        "codes": codes,
        "degenerate": degenerate,
        "endpoint": endpoint,
        "ambiguous": amb,
    }


def _exact_order(k, s):
    """Order of events by (k, s) for object ``s`` (exact rationals)."""
    keys = sorted(range(len(k)), key=lambda i: (int(k[i]), s[i]))
    return np.asarray(keys, dtype=np.int64)


def _max_ds(u, Z, Ez, k, unit, s, cnew, cold):
    """Bound on the error of the float switch position of max units."""
    ca = u._take[unit, cold]
    cb = u._take[unit, cnew]
    # the switch is where d = z_old - z_new changes sign: d_a > 0 > d_b
    A = Z[k, ca] - Z[k, cb]
    B = Z[k + 1, ca] - Z[k + 1, cb]
    ea = Ez[k, ca] + Ez[k, cb]
    eb = Ez[k + 1, ca] + Ez[k + 1, cb]
    den = np.abs(A) + np.abs(B) - ea - eb
    return np.where(den > 0, (ea + eb) / np.where(den > 0, den, 1.0), np.inf) + 8 * U


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
    if exact:
        S_new = Sa + us[:, None] * (Sb - Sa)
    else:
        S_new = Sa + us[:, None] * (Sb - Sa)
    t_new = t[uk] + us * (t[uk + 1] - t[uk])
    E_new = te_new = None
    if certified:
        Ea, Eb = E[uk], E[uk + 1]
        dsc = ds[:, None]
        E_new = ((1 - us)[:, None] * Ea + us[:, None] * Eb
                 + np.where(np.isfinite(dsc), dsc, 0.0) * (np.abs(Sb - Sa) + Ea + Eb)
                 + 4 * U * (np.abs(Sa) + np.abs(Sb))) * (1 + 8 * U)
        E_new[~np.isfinite(ds)] = np.inf
        te_new = ((1 - us) * te[uk] + us * te[uk + 1] + np.where(np.isfinite(ds), ds, np.inf)
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


def _merge_close(seg, t, S, src, tolv):
    """Float mode: merge consecutive points of one segment closer than ``tol.merge``."""
    same = seg[1:] == seg[:-1]
    close = same & ((t[1:] - t[:-1]) <= tolv.merge)
    if not close.any():
        return seg, t, S, src
    keep = np.r_[True, ~close]
    return seg[keep], t[keep], S[keep], src[keep]


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
        dg[:-1] |= (zero[:-1] & zero[1:]).any(axis=1) & same
        if ctx.certified:
            bad = (zero & ~s3[2]).any(axis=1)
            if bad.any():
                ctx.flag(seg[bad])
    return code, dg


def _max_certify_new_points(u, Z, Ez, hit_max, ctx, seg):
    """Certified: at a new switch point the two switching candidates must be the only
    maximal ones (every other candidate certainly below)."""
    if hit_max is None:
        return
    rows, unit, cold, cnew = hit_max
    zc = u.candidates(Z[rows])  # (n, n_u, k)
    ec = Ez[rows][:, u._take]
    i = np.arange(len(rows))
    top = zc[i, unit, cold]
    etop = np.maximum(ec[i, unit, cold], ec[i, unit, cnew])
    others = zc[i, unit]
    eo = ec[i, unit]
    mask = np.ones(others.shape, bool)
    mask[i, cold] = False
    mask[i, cnew] = False
    mask &= u.valid[unit]
    below = others + eo < (top - etop)[:, None]
    bad = (mask & ~below).any(axis=1)
    if bad.any():
        ctx.flag(seg[rows[bad]])


def _max_endpoint_flags(u, Z, Ez, seg, code, endpoint, ctx):
    """Flag segment ends where a max unit's maximal candidates tie (a boundary of the
    argmax partition) without the tie holding along the adjacent piece."""
    same = seg[1:] == seg[:-1]
    first = np.flatnonzero(np.r_[True, ~same])
    last = np.flatnonzero(np.r_[~same, True])
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
                    ctx.flag(seg[pts[bad]])
                tied = tied_base
            else:
                tied = zc == mx[:, :, None]
            mo = zo.max(axis=2)
            also = zo == mo[:, :, None]
        n_tied = tied.sum(axis=2)
        persists = (tied & also).sum(axis=2) == n_tied
        endpoint[seg[pts], col] |= ((n_tied >= 2) & ~persists).any(axis=1)
