"""Adjacency (dual) graphs of region complexes, decision boundaries, export.

Two regions of a :class:`polyfold.slices.RegionComplex` are adjacent when they
share a facet of dimension ``dim - 1`` (an edge of positive length in a slice).
The graph has one node per region and one edge per adjacent pair, labelled with
the *switching* neurons: the units whose codes differ between the two regions.
Regions meeting only at a point (several lines through one point) are not
adjacent.

For slices adjacency is read off the splitting history: every polygon edge
carries the chord (one neuron's line inside one parent polygon) it lies on, and
two regions are adjacent iff their sub-edges on opposite sides of one chord
overlap with positive length (decided exactly in ``mode="exact"`` and
``mode="certified"``, see :func:`adjacency_pairs`).
"""

import json

import numpy as np

from . import arith
from .exceptions import DependencyError, ValidationError

__all__ = [
    "adjacency_pairs",
    "switching_units",
    "clip_polygon",
    "complex_to_json",
    "decision_boundary",
    "graph_to_graphml",
    "region_graph",
]


def _check_complex(cx, fn, name="cx"):
    """``cx`` if it is a RegionComplex (slice or box), else a ValidationError."""
    from .slices.result import RegionComplex

    if not isinstance(cx, RegionComplex):
        raise ValidationError(
            f"{fn} expects {name} to be a RegionComplex (from polyfold.slice_complex, "
            f"slice_through or box_complex), got {type(cx).__name__}."
        )
    return cx


def _check_number(v, name, exact=True):
    """A finite real number (int, float, Fraction or, with ``exact``, ``fmpq``)."""
    import numbers

    ok = (isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_))) or (
        exact and isinstance(v, arith.fmpq))
    if not ok:
        raise ValidationError(
            f"{name} must be a real number (float, int, Fraction or fmpq), got {v!r}."
        )
    if isinstance(v, (float, np.floating)) and not np.isfinite(v):
        raise ValidationError(f"{name} must be finite, got {v!r}; remove NaN / infinity first.")
    return v


# ---------------------------------------------------------------------------
# adjacency
# ---------------------------------------------------------------------------
def switching_units(codes, pairs, block=1 << 16):
    """Units whose codes differ across each pair, as flat arrays (vectorised).

    Parameters
    ----------
    codes : (R, n_hidden) int8
    pairs : (E, 2) int

    Returns
    -------
    offsets : (E + 1,) int64
    units : (total,) int64
        The switching units of pair ``k`` are ``units[offsets[k]:offsets[k + 1]]``
        (pattern positions, increasing).

    Raises
    ------
    ShapeError, ValidationError
        ``codes`` not 2-D, ``pairs`` not ``(E, 2)`` integer indices in
        ``[0, R)``, or ``block`` not a positive integer.
    """
    from ._validation import check_positive_int, read_array
    from .exceptions import ShapeError

    block = check_positive_int(block, "block")
    if codes is None or isinstance(codes, (str, bytes)):
        raise ValidationError(f"codes must be an (R, n_hidden) array of codes, got {codes!r}.")
    codes = np.asarray(codes)
    if codes.ndim != 2:
        raise ShapeError(
            f"codes must be an (R, n_hidden) array (one row per region), got shape {codes.shape}."
        )
    raw = read_array(pairs, "pairs", "an (E, 2) array of region indices")
    if raw.size and raw.dtype.kind not in "iu":
        if raw.dtype.kind != "f" or not np.all(np.isfinite(raw)) or np.any(raw != np.round(raw)):
            raise ValidationError(
                f"pairs must hold integer region indices, got dtype {raw.dtype}"
                + (" with non-integer values" if raw.dtype.kind == "f" else "") + "."
            )
    if raw.size and (raw.ndim != 2 or raw.shape[1] != 2) or raw.ndim > 2:
        raise ShapeError(f"pairs must have shape (E, 2), got {raw.shape}.")
    pairs = raw.astype(np.int64).reshape(-1, 2)
    if pairs.size and (pairs.min() < 0 or pairs.max() >= len(codes)):
        bad = int(pairs.min()) if pairs.min() < 0 else int(pairs.max())
        raise ValidationError(
            f"pairs holds region index {bad}, outside [0, {len(codes)}) for the "
            f"{len(codes)} rows of codes."
        )
    counts = np.zeros(len(pairs), np.int64)
    parts = []
    for s in range(0, len(pairs), block):
        pr = pairs[s : s + block]
        rows, cols = np.nonzero(codes[pr[:, 0]] != codes[pr[:, 1]])
        counts[s : s + len(pr)] = np.bincount(rows, minlength=len(pr))
        parts.append(cols.astype(np.int64))
    off = np.zeros(len(pairs) + 1, np.int64)
    np.cumsum(counts, out=off[1:])
    return off, (np.concatenate(parts) if parts else np.zeros(0, np.int64))


def _switching_lists(cx, pairs):
    """Per pair, the (layer, neuron) units whose codes differ."""
    if len(pairs) == 0:
        return []
    off, units = switching_units(cx.codes, pairs)
    names = [cx.net.unit_of(i) for i in range(cx.net.n_hidden)]
    flat = [names[i] for i in units.tolist()]
    o = off.tolist()
    return [flat[o[k] : o[k + 1]] for k in range(len(pairs))]


def _pair_chord(plus, minus, eps):
    """Overlapping intervals of two tilings: list of (cell+, cell-, length)."""
    plus.sort(key=lambda r: r[0])
    minus.sort(key=lambda r: r[0])
    i = j = 0
    out = []
    while i < len(plus) and j < len(minus):
        lo = max(plus[i][0], minus[j][0])
        hi = min(plus[i][1], minus[j][1])
        if hi - lo > eps:
            out.append((plus[i][2], minus[j][2], hi - lo))
        if plus[i][1] < minus[j][1]:
            i += 1
        else:
            j += 1
    return out


def _slice_edges(cx):
    """Chord sub-edges of a slice complex: vertex index, cell, chord, side (sorted by chord)."""
    off = cx.vertex_offsets
    lab = cx._labels
    counts = np.diff(off)
    cell = np.repeat(np.arange(len(counts)), counts)
    nxt = np.arange(1, off[-1] + 1)
    nxt[off[1:] - 1] = off[:-1]
    sel = np.flatnonzero(lab >= 0)
    chord = lab[sel] >> 1
    order = np.argsort(chord, kind="stable")
    sel = sel[order]
    return sel, nxt[sel], cell[sel], lab[sel] >> 1, lab[sel] & 1


def _slice_pairs_exact(cx):
    P = cx.exact_vertices
    sel, nx_, cell, chord, side = _slice_edges(cx)
    bounds = np.flatnonzero(np.diff(chord)) + 1
    pairs = {}
    for g in np.split(np.arange(len(sel)), bounds):
        if len(g) == 0:
            continue
        p, q = P[sel[g[0]]], P[nx_[g[0]]]
        du, dv = q[0] - p[0], q[1] - p[1]
        plus, minus = [], []
        for gi in g:
            a, b = P[sel[gi]], P[nx_[gi]]
            ta = a[0] * du + a[1] * dv
            tb = b[0] * du + b[1] * dv
            rec = (ta, tb, int(cell[gi])) if ta <= tb else (tb, ta, int(cell[gi]))
            (plus if side[gi] else minus).append(rec)
        nrm = (du * du + dv * dv)
        for a, b, length in _pair_chord(plus, minus, 0):
            key = (a, b) if a < b else (b, a)
            pairs[key] = pairs.get(key, 0) + float(length) / float(nrm) ** 0.5
    keys = sorted(pairs)
    return np.array(keys, dtype=np.int64).reshape(len(keys), 2), np.array([pairs[k] for k in keys])


def _slice_pairs_float(cx):
    """Vectorised: elementary pieces of every chord mapped to one sub-edge per side."""
    P = cx.vertices
    sel, nx_, cell, chord, side = _slice_edges(cx)
    if len(sel) == 0:
        return np.zeros((0, 2), np.int64), np.zeros(0)
    first = np.r_[True, chord[1:] != chord[:-1]]
    gid = np.cumsum(first) - 1
    f_idx = np.flatnonzero(first)
    D = P[nx_[f_idx]] - P[sel[f_idx]]
    D /= np.linalg.norm(D, axis=1)[:, None]
    Dg = D[gid]
    ta = np.einsum("ij,ij->i", P[sel], Dg)
    tb = np.einsum("ij,ij->i", P[nx_], Dg)
    lo, hi = np.minimum(ta, tb), np.maximum(ta, tb)
    scale = float(np.abs(P).max()) if len(P) else 1.0
    eps = cx.tol.zero * max(scale, 1.0)
    # elementary pieces: all end points per chord, sorted
    bg = np.concatenate([gid, gid])
    bt = np.concatenate([lo, hi])
    o = np.lexsort((bt, bg))
    bg, bt = bg[o], bt[o]
    same = bg[1:] == bg[:-1]
    seg_len = bt[1:] - bt[:-1]
    keep = same & (seg_len > eps)
    mg = bg[:-1][keep]
    mt = (bt[:-1][keep] + bt[1:][keep]) / 2
    ml = seg_len[keep]
    owners = []
    for sd in (1, 0):
        ids = np.flatnonzero(side == sd)
        # events: interval starts (type 0) and midpoints (type 1), by (group, t, type)
        eg = np.concatenate([gid[ids], mg])
        et = np.concatenate([lo[ids], mt])
        ty = np.concatenate([np.zeros(len(ids), np.int8), np.ones(len(mg), np.int8)])
        who = np.concatenate([ids, np.full(len(mg), -1)])
        o = np.lexsort((ty, et, eg))
        pos = np.where(ty[o] == 0, np.arange(len(o)), -1)
        last = np.maximum.accumulate(pos)
        mid_rows = np.flatnonzero(ty[o] == 1)
        src = last[mid_rows]
        owner = np.full(len(mid_rows), -1, np.int64)
        okk = src >= 0
        owner[okk] = who[o][src[okk]]
        # order back to the midpoints' order
        mid_order = o[mid_rows] - len(ids)
        out = np.full(len(mg), -1, np.int64)
        out[mid_order] = owner
        valid = out >= 0
        valid[valid] &= (gid[out[valid]] == mg[valid]) & (hi[out[valid]] > mt[valid])
        out[~valid] = -1
        owners.append(out)
    ok = (owners[0] >= 0) & (owners[1] >= 0)
    a = cell[owners[0][ok]]
    b = cell[owners[1][ok]]
    lo_c, hi_c = np.minimum(a, b), np.maximum(a, b)
    keys = lo_c * np.int64(cx.n_regions) + hi_c
    uk, inv = np.unique(keys, return_inverse=True)
    lengths = np.bincount(inv, weights=ml[ok], minlength=len(uk))
    pairs = np.stack([uk // cx.n_regions, uk % cx.n_regions], axis=1).astype(np.int64)
    return pairs, lengths


# ---------------------------------------------------------------------------
# certified slice adjacency
# ---------------------------------------------------------------------------
_NOKEY = np.iinfo(np.int64).min


def _line_keys(cx, labels):
    """Key of the line an edge label lies on: ``unit * T + threshold`` for neuron lines
    (one key for the neuron's whole threshold set, across layer-start cells), the
    label itself (< 0) for domain edges."""
    labels = np.asarray(labels, np.int64)
    out = labels.copy()
    pos = labels >= 0
    if pos.any():
        rec = cx._chords[labels[pos] >> 1]
        n_thr = max([len(t[0]) for t in cx.net._code_tables()] + [1])
        units = np.asarray(cx.net.layer_offsets)[rec[:, 0]] + rec[:, 1]
        # max units: the pair slot -(1 + a k + b) < 0, keys after all threshold keys
        kk = max([u.k for u in getattr(cx.net, "group_units", ()) if u.kind == "max"] + [1]) ** 2
        pair = rec[:, 2] < 0
        out[pos] = np.where(pair, cx.net.n_hidden * n_thr + units * kk + (-rec[:, 2] - 1),
                            units * n_thr + rec[:, 2])
    return out


def _chord_records(cx):
    """Sub-edges on chords, oriented along one reference direction per chord.

    Returns a dict of per-sub-edge arrays (sorted by chord): ``gid`` (chord group),
    ``cell``, ``side``, ``start``/``end`` (vertex rows), ``lo``/``hi`` (vertex rows
    at the low and high end along the direction), ``key_lo``/``key_hi`` (line key
    of the cell's other edge at those ends), ``t_lo``/``t_hi`` and their error
    bounds ``e_lo``/``e_hi``, and per group ``ok_dir`` (the reference sub-edge is
    longer than its error, so the direction is certified).
    """
    P, EP = cx.vertices, cx._vertex_errors
    off, lab = cx.vertex_offsets, cx._labels
    sel, nx_, cell, chord, side = _slice_edges(cx)
    prv = np.arange(-1, off[-1] - 1)
    prv[off[:-1]] = off[1:] - 1
    first = np.r_[True, chord[1:] != chord[:-1]] if len(sel) else np.zeros(0, bool)
    gid = np.cumsum(first) - 1
    n_g = int(gid[-1]) + 1 if len(gid) else 0
    vec = P[nx_] - P[sel]
    length = np.hypot(vec[:, 0], vec[:, 1])
    # reference sub-edge per group: the longest
    order = np.lexsort((-length, gid))
    ref = order[np.r_[True, gid[order][1:] != gid[order][:-1]]] if len(sel) else order
    with np.errstate(invalid="ignore", divide="ignore"):  # a zero-length reference: ok_dir False
        D = vec[ref] / length[ref][:, None]
    D = np.nan_to_num(D)
    ok_dir = length[ref] > 8 * (EP[sel[ref]] + EP[nx_[ref]]) + 0.0
    s_ref = side[ref][gid]
    fwd = side == s_ref  # start -> end runs along +D on the reference side
    lo = np.where(fwd, sel, nx_)
    hi = np.where(fwd, nx_, sel)
    key_start = _line_keys(cx, lab[prv[sel]])
    key_end = _line_keys(cx, lab[nx_])
    Dg = D[gid]
    absD = np.abs(Dg)

    def proj(v):
        t = np.einsum("ij,ij->i", P[v], Dg)
        e = (absD[:, 0] + absD[:, 1]) * EP[v] + 3 * _U * np.einsum("ij,ij->i", np.abs(P[v]), absD)
        return t, e * (1 + 8 * _U)

    t_lo, e_lo = proj(lo)
    t_hi, e_hi = proj(hi)
    return {
        "gid": gid, "n_groups": n_g, "cell": cell, "side": side, "start": sel, "end": nx_,
        "chord_label": lab[sel], "lo": lo, "hi": hi,
        "key_lo": np.where(fwd, key_start, key_end), "key_hi": np.where(fwd, key_end, key_start),
        "t_lo": t_lo, "t_hi": t_hi, "e_lo": e_lo, "e_hi": e_hi, "ok_dir": ok_dir,
    }


_U = np.finfo(np.float64).eps / 2


def _resolve_chords(R):
    """Merge the break points of both sides of every chord where the bounds decide.

    Records (two per sub-edge: its low end, role 0, and high end, role 1) are
    sorted along the chord and cut into clusters wherever consecutive values are
    further apart than twice the group's largest error bound, so the exact
    values of different clusters are ordered like the clusters.  A cluster is
    decided when each side has at most one break point in it (at most one low
    and one high end, not of the same sub-edge) and, if both sides have one,
    their order or equality is known: both sides start (end) the chord at the
    same point; a side's first point precedes the other side's later points;
    for two interior points ``A`` and ``B`` the line keys decide (a sub-edge
    leaving ``A`` along the chord lies on one side of its key's line, so that
    line cannot pass through a point inside it -- see ``adjacency_pairs``).

    Returns ``(rank, cl, bad_group)``: per record its cluster and position (0 or 1)
    inside it, and per group whether some cluster was undecided.
    """
    n = len(R["gid"])
    gid = np.concatenate([R["gid"], R["gid"]])
    t = np.concatenate([R["t_lo"], R["t_hi"]])
    e = np.concatenate([R["e_lo"], R["e_hi"]])
    side = np.concatenate([R["side"], R["side"]]).astype(np.int64)
    role = np.r_[np.zeros(n, np.int64), np.ones(n, np.int64)]
    key = np.concatenate([R["key_lo"], R["key_hi"]])
    sub = np.r_[np.arange(n), np.arange(n)]
    n_g = R["n_groups"]
    emax = np.zeros(n_g)
    np.maximum.at(emax, gid, e)
    o = np.lexsort((t, gid))
    go, to = gid[o], t[o]
    new = np.r_[True, (go[1:] != go[:-1]) | (to[1:] - to[:-1] > 2 * emax[go[1:]])]
    cl = np.empty(2 * n, np.int64)
    cl[o] = np.cumsum(new) - 1
    n_cl = int(cl.max()) + 1 if len(cl) else 0
    # per (cluster, side, role): count, key, sub-edge
    slot = cl * 4 + side * 2 + role
    cnt = np.bincount(slot, minlength=4 * n_cl).reshape(n_cl, 2, 2)
    keys = np.full(4 * n_cl, _NOKEY, np.int64)
    keys[slot] = key
    keys = keys.reshape(n_cl, 2, 2)
    subs = np.full(4 * n_cl, -1, np.int64)
    subs[slot] = sub
    subs = subs.reshape(n_cl, 2, 2)
    simple = np.all(cnt <= 1, axis=(1, 2))
    simple &= ~np.any((subs[:, :, 0] == subs[:, :, 1]) & (subs[:, :, 0] >= 0), axis=1)
    has = cnt.sum(axis=2) > 0  # (n_cl, 2): side has a break point in the cluster
    has_lo, has_hi = cnt[:, :, 0] > 0, cnt[:, :, 1] > 0
    # 0: the side's first point (a low end only), 2: its last (a high end only), 1: interior
    kind = np.where(has_lo & ~has_hi, 0, np.where(has_hi & ~has_lo, 2, 1))
    both = has[:, 0] & has[:, 1]
    k0, k1 = kind[:, 0], kind[:, 1]
    # side 1 = A, side 0 = B.  before[c]: A < B decided, after: B < A, equal: A == B
    equal = both & (((k0 == 0) & (k1 == 0)) | ((k0 == 2) & (k1 == 2)))
    a_first = both & (((k1 == 0) & (k0 != 0)) | ((k0 == 2) & (k1 != 2)))
    b_first = both & (((k0 == 0) & (k1 != 0)) | ((k1 == 2) & (k0 != 2)))
    inter = both & (k0 == 1) & (k1 == 1)
    Alo, Ahi, Blo, Bhi = keys[:, 1, 0], keys[:, 1, 1], keys[:, 0, 0], keys[:, 0, 1]

    def member(x, y1, y2):
        return (x != _NOKEY) & ((x == y1) | (x == y2))

    no_a_before = member(Alo, Blo, Bhi) | member(Bhi, Alo, Ahi)
    no_b_before = member(Blo, Alo, Ahi) | member(Ahi, Blo, Bhi)
    equal |= inter & no_a_before & no_b_before
    decided = ~both | equal | a_first | b_first
    ok = simple & decided
    rank = np.zeros(2 * n, np.int64)
    rank[(side == 0) & a_first[cl]] = 1
    rank[(side == 1) & b_first[cl]] = 1
    bad_group = np.zeros(n_g, bool)
    g_of_cl = np.zeros(n_cl, np.int64)
    g_of_cl[cl] = gid
    bad_group[g_of_cl[~ok]] = True
    bad_group |= ~R["ok_dir"]
    return rank, cl, bad_group


def _pieces_certified(R, rank, cl, good):
    """Elementary pieces of the decided chords: (cell+, cell-, length) arrays."""
    n = len(R["gid"])
    recs = np.flatnonzero(np.concatenate([good, good]))
    if len(recs) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    t = np.concatenate([R["t_lo"], R["t_hi"]])[recs]
    gid = np.concatenate([R["gid"], R["gid"]])[recs]
    side = np.concatenate([R["side"], R["side"]])[recs]
    is_lo = recs < n
    sub = recs % n
    # distinct points: (cluster, rank) in increasing order
    pkey = cl[recs] * 2 + rank[recs]
    upt, pid = np.unique(pkey, return_inverse=True)
    n_p = len(upt)
    tp = np.bincount(pid, weights=t, minlength=n_p) / np.bincount(pid, minlength=n_p)
    gp = np.zeros(n_p, np.int64)
    gp[pid] = gid
    owners = []
    for sd in (1, 0):
        m = is_lo & (side == sd)
        at = np.full(n_p, -1, np.int64)
        at[pid[m]] = sub[m]
        pos = np.where(at >= 0, np.arange(n_p), -1)
        last = np.maximum.accumulate(pos)
        owners.append(at[last])
    same = gp[1:] == gp[:-1]
    a = R["cell"][owners[0][:-1][same]]
    b = R["cell"][owners[1][:-1][same]]
    return a, b, np.abs(tp[1:] - tp[:-1])[same]


def _pieces_exact(cx, R, groups, plane):
    """Pairs of the undecided chords, from exact break points: (cell+, cell-, length)."""
    out_a, out_b, out_l = [], [], []
    lab = cx._labels
    off = cx.vertex_offsets
    for g in groups:
        plus, minus = [], []
        nrm = du = dv = None
        for i in np.flatnonzero(R["gid"] == g):
            c = int(R["cell"][i])
            s, e = int(R["start"][i]), int(R["end"][i])
            p = off[c + 1] - 1 if s == off[c] else s - 1  # the edge before the start
            if nrm is None:
                a, b, _ = plane.line(lab[s], cx.codes[c])
                nrm, du, dv = float(a * a + b * b) ** 0.5, -b, a
            ends = [plane.vertex(lab[p], lab[s], cx.codes[c]),
                    plane.vertex(lab[s], lab[e], cx.codes[c])]
            ta, tb = (q[0] * du + q[1] * dv for q in ends)
            rec = (ta, tb, c) if ta <= tb else (tb, ta, c)
            (plus if R["side"][i] else minus).append(rec)
        for a, b, length in _pair_chord(plus, minus, 0):
            out_a.append(a)
            out_b.append(b)
            out_l.append(float(length) / nrm)
    return np.array(out_a, np.int64), np.array(out_b, np.int64), np.array(out_l, np.float64)


def _slice_pairs_certified(cx):
    """Certified mode: float break points with error bounds, exact where they do not decide.

    Returns ``(pairs, lengths, n_exact_cells)``.
    """
    from .slices._lines import ExactPlane

    R = _chord_records(cx)
    n_cells_exact = 0
    if len(R["gid"]) == 0:
        return np.zeros((0, 2), np.int64), np.zeros(0), 0
    rank, cl, bad_group = _resolve_chords(R)
    good = ~bad_group[R["gid"]]
    a, b, ln = _pieces_certified(R, rank, cl, good)
    bad = np.flatnonzero(bad_group)
    if len(bad):
        plane = ExactPlane(cx)
        ea, eb, el = _pieces_exact(cx, R, bad, plane)
        a, b, ln = np.r_[a, ea], np.r_[b, eb], np.r_[ln, el]
        n_cells_exact = len(np.unique(R["cell"][np.isin(R["gid"], bad)]))
    lo_c, hi_c = np.minimum(a, b), np.maximum(a, b)
    keys = lo_c * np.int64(cx.n_regions) + hi_c
    uk, inv = np.unique(keys, return_inverse=True)
    lengths = np.bincount(inv, weights=ln, minlength=len(uk))
    pairs = np.stack([uk // cx.n_regions, uk % cx.n_regions], axis=1).astype(np.int64)
    return pairs, lengths, n_cells_exact


def _count_recomputed(cx, n):
    """Add polygons recomputed exactly after construction to ``cx.n_recomputed``."""
    if n:
        object.__setattr__(cx, "n_recomputed", int(cx.n_recomputed) + int(n))


def _slice_pairs_geometric(offsets, P):
    """Pairs of a slice from exact vertices ``P`` (region ``c``: rows ``offsets[c]`` to
    ``offsets[c + 1]``, as a complex's ``vertex_offsets``): the
    polygon edges grouped by the line they lie on (exact coefficients), and within a
    line the edges of two regions overlapping with positive length.

    Needed for max units: the chord labels of one line can differ on its two sides
    there (a pair slot ``(a, b)`` on one side, ``(a, c)`` on the other, where the
    candidates ``b`` and ``c`` coincide on the plane), so pairing by chords misses
    such neighbours.
    """
    off = np.asarray(offsets, np.int64)
    lines = {}
    for c in range(len(off) - 1):
        vs = P[off[c] : off[c + 1]]
        k = len(vs)
        for i in range(k):
            p, q = vs[i], vs[(i + 1) % k]
            a, b = q[1] - p[1], p[0] - q[0]  # normal of the edge p -> q
            if a == 0 and b == 0:
                continue
            if a != 0:
                a, b = arith.ONE, b / a
            else:
                a, b = arith.ZERO, arith.ONE
            key = (a, b, a * p[0] + b * p[1])
            tp, tq = a * p[1] - b * p[0], a * q[1] - b * q[0]  # along the direction (-b, a)
            lines.setdefault(key, []).append((tp, tq, c) if tp <= tq else (tq, tp, c))
    pairs = {}
    for (a, b, _), recs in lines.items():
        if len(recs) < 2:
            continue
        norm = float(a * a + b * b) ** 0.5
        recs.sort(key=lambda r: r[0])
        active = []
        for lo, hi, c in recs:
            active = [r for r in active if r[1] > lo]
            for alo, ahi, ac in active:
                if ac != c:
                    ov = min(hi, ahi) - lo
                    if ov > 0:
                        kk = (ac, c) if ac < c else (c, ac)
                        pairs[kk] = pairs.get(kk, 0.0) + float(ov) / norm
            active.append((lo, hi, c))
    keys = sorted(pairs)
    return np.array(keys, dtype=np.int64).reshape(len(keys), 2), np.array([pairs[k] for k in keys])


def _exact_slice_vertices(cx):
    """Exact vertices of every polygon of a certified slice (the intersections of the
    lines of consecutive edges, for the region's codes)."""
    from .slices._lines import ExactPlane

    plane = ExactPlane(cx)
    off = np.asarray(cx.vertex_offsets, np.int64)
    lab = cx._labels
    P = np.empty((int(off[-1]), 2), dtype=object)
    for c in range(cx.n_regions):
        for s in range(off[c], off[c + 1]):
            prv = off[c + 1] - 1 if s == off[c] else s - 1
            P[s] = plane.vertex(lab[prv], lab[s], cx.codes[c])
    return P


def _slice_pairs(cx):
    has_max = bool(getattr(cx.net, "has_max_units", False))
    if cx.exact_vertices is not None:
        return _slice_pairs_geometric(cx.vertex_offsets, cx.exact_vertices) if has_max else _slice_pairs_exact(cx)
    if cx.mode == "certified" and has_max:
        # max units: from exact vertices (their chords do not pair reliably, above)
        P = _exact_slice_vertices(cx)
        _count_recomputed(cx, cx.n_regions)
        return _slice_pairs_geometric(cx.vertex_offsets, P)
    if cx.mode == "certified" and cx._vertex_errors is not None:
        pairs, lengths, n_exact = _slice_pairs_certified(cx)
        _count_recomputed(cx, n_exact)
        return pairs, lengths
    if has_max:
        # float chords of tied max-unit candidates do not pair (see float_max_pairs)
        from .slices._lines import float_max_pairs

        return float_max_pairs(cx)
    return _slice_pairs_float(cx)


def adjacency_pairs(cx):
    """Adjacent region pairs of a complex and their switching neurons.

    Parameters
    ----------
    cx : RegionComplex

    Returns
    -------
    pairs : (E, 2) int64
        Index pairs ``(a, b)`` with ``a < b``.
    switching : list of list of (layer, neuron)
        Units whose codes differ between the two regions.
    measures : (E,) float
        Length (slices, in (u, v) units) of the shared edge; NaN for boxes.

    Notes
    -----
    Slices: from the chord labels of the polygon edges.  ``mode="exact"``: the
    sub-edges on both sides of every chord are compared in rationals.
    ``mode="certified"``: the break points of both sides along every chord are
    float64 values with error bounds; where the bounds leave two of them
    undecided the chord's polygon edges are recomputed exactly (and counted in
    ``cx.n_recomputed``), so the pairs and switching neurons are exact however
    short the shared edge.  Two interior break points ``A`` (one side) and
    ``B`` (other side) closer than their bounds, with no other break point near,
    are equal when a line on which one ends a sub-edge leaving into the gap
    also passes through the other: that line's neuron is continuous along the
    chord and nonzero inside the sub-edge, so it cannot vanish at a point
    inside it.  ``mode="float"``: overlaps shorter than ``tol.zero`` times the
    coordinate scale are ignored.  Float mode on nets with max units pairs by chords
    first; regions whose inner perimeter is longer than the edges so paired are
    rebuilt exactly and paired by lines (counted in ``cx.n_recomputed``).  Nets with max units (exact and certified mode):
    the chord labels of one line can differ on its two sides (two pool candidates
    that coincide on the plane), so the pairs come from the polygons' exact vertices
    instead, edges grouped by the line they lie on (certified mode computes those
    vertices exactly and counts every polygon in ``cx.n_recomputed``; on a digits
    CNN slice of 882 regions the graph took 1.3 s against 0.3 s by chords, the
    complex itself 3.9 s).  Boxes: computed by the box engine with LPs.
    """
    _check_complex(cx, "adjacency_pairs")
    if cx.kind == "slice":
        pairs, measures = _slice_pairs(cx)
    else:
        pairs, measures = cx._labels
    return pairs, _switching_lists(cx, pairs), np.asarray(measures, dtype=np.float64)


def region_graph(cx):
    """The adjacency graph of a complex as a :class:`networkx.Graph`.

    Parameters
    ----------
    cx : RegionComplex

    Returns
    -------
    networkx.Graph
        Nodes ``0..n_regions-1`` with attributes ``pattern`` (string of 0/1),
        ``codes`` (tuple), ``key`` (packed codes as hex, unique per region),
        ``measure``, ``predicted_class``, ``interior_point`` (tuple); edges with
        ``switching`` (list of ``(layer, neuron)``) and ``measure`` (length of the
        shared edge for slices).

    Examples
    --------
    >>> from polyfold import zoo, slice_complex
    >>> net = zoo.arrangement(3, 2, seed=0)
    >>> G = slice_complex(net, [0, 0], [1, 0], [0, 1], bounds=(-50, 50, -50, 50)).graph
    >>> G.number_of_nodes(), G.number_of_edges()     # 7 regions, 9 bounded or not edges
    (7, 9)
    """
    import networkx as nx

    _check_complex(cx, "region_graph")
    pairs, switching = cx.adjacency
    measures = cx.facet_measures
    pats = cx.patterns
    n_bits = pats.shape[1]
    text = (pats.astype(np.uint8) + ord("0")).tobytes().decode("ascii")
    codes_list = cx.codes.tolist()
    keys = [row.tobytes().hex() for row in cx.codes]
    preds = cx.predicted_classes.tolist()
    meas = np.asarray(cx.measures, dtype=np.float64).tolist()
    pts = np.asarray(cx.interior_points, dtype=np.float64).tolist()
    nodes = {
        i: {
            "pattern": text[i * n_bits : (i + 1) * n_bits],
            "codes": tuple(codes_list[i]),
            "key": keys[i],
            "measure": meas[i],
            "predicted_class": preds[i],
            "interior_point": tuple(pts[i]),
        }
        for i in range(cx.n_regions)
    }
    G = nx.Graph()
    if type(G._node) is dict and type(G._adj) is dict:
        # bulk construction of networkx's own dict-of-dicts (one shared attribute
        # dict per edge, as add_edge makes it)
        adj = {i: {} for i in range(cx.n_regions)}
        for (a, b), sw, m in zip(pairs.tolist(), switching, measures.tolist()):
            d = {"switching": sw, "measure": m}
            adj[a][b] = d
            adj[b][a] = d
        G._node.update(nodes)
        G._adj.update(adj)
        return G
    G.add_nodes_from(nodes.items())  # pragma: no cover - a networkx with other dict types
    G.add_edges_from(  # pragma: no cover
        (a, b, {"switching": sw, "measure": m})
        for (a, b), sw, m in zip(pairs.tolist(), switching, measures.tolist())
    )
    return G  # pragma: no cover


# ---------------------------------------------------------------------------
# polygon clipping (float or exact)
# ---------------------------------------------------------------------------
def clip_polygon(vertices, labels, a, b, c, new_label, *, eps=0):
    """Keep the part of a convex polygon where ``a u + b v + c >= 0``.

    Parameters
    ----------
    vertices : list of (u, v)
        Counter-clockwise, floats or exact rationals.
    labels : list
        Label of the edge from each vertex to the next.
    a, b, c : numbers
    new_label
        Label of the new edge along the line.
    eps : float
        Values within ``eps`` count as on the line (0 for exact input).

    Returns
    -------
    (vertices, labels) of the clipped polygon (possibly empty lists).

    Examples
    --------
    >>> sq = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    >>> clip_polygon(sq, [0, 1, 2, 3], -1.0, 0.0, 0.5, 9)[0]   # u <= 1/2
    [(0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)]
    """
    if vertices is None or isinstance(vertices, (str, bytes)) or not hasattr(vertices, "__len__"):
        raise ValidationError(
            f"vertices must be a list of (u, v) points, got {type(vertices).__name__}."
        )
    sized = hasattr(labels, "__len__") and not isinstance(labels, (str, bytes))
    if not sized or len(labels) != len(vertices):
        raise ValidationError(
            f"labels must be a list with one label per vertex (the edge to the next vertex): "
            f"{len(vertices)} expected, got "
            + (f"{len(labels)}." if sized else f"{type(labels).__name__}.")
        )
    for i, p in enumerate(vertices):
        if isinstance(p, (str, bytes)) or not hasattr(p, "__len__") or len(p) != 2:
            raise ValidationError(f"vertices[{i}] must be a (u, v) pair, got {p!r}.")
        _check_number(p[0], f"vertices[{i}][0]")
        _check_number(p[1], f"vertices[{i}][1]")
    for name, v in (("a", a), ("b", b), ("c", c)):
        _check_number(v, name)
    _check_number(eps, "eps")
    if eps < 0:
        raise ValidationError(
            f"eps must be >= 0 (values within eps count as on the line), got {eps!r}."
        )
    k = len(vertices)
    if k == 0:
        return [], []
    vals = [a * p[0] + b * p[1] + c for p in vertices]
    s = [1 if v > eps else (-1 if v < -eps else 0) for v in vals]
    if all(x >= 0 for x in s):
        return list(vertices), list(labels)
    if all(x <= 0 for x in s):
        return [], []
    out_v, out_l = [], []
    for i in range(k):
        n = (i + 1) % k
        if s[i] >= 0:
            out_v.append(vertices[i])
            out_l.append(new_label if (s[i] == 0 and s[n] < 0) else labels[i])
        if s[i] * s[n] < 0:
            t = vals[i] / (vals[i] - vals[n])
            p, q = vertices[i], vertices[n]
            out_v.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
            out_l.append(new_label if s[i] > 0 else labels[i])
    return out_v, out_l


# ---------------------------------------------------------------------------
# decision boundary
# ---------------------------------------------------------------------------
def _gamma(n):
    nu = n * _U
    return nu / (1.0 - nu)


def _uv_logits_bounded(cx):
    """Float logit maps in (u, v) of every region with rounding-error bounds.

    Returns ``(V (R, C, 2), u (R, C), EV, Eu)`` with ``|V - V*| <= EV`` and
    ``|u - u*| <= Eu`` elementwise (``V*, u*`` the exact maps of the regions' codes).
    The activations' pieces come from the codes, so no decision is made here.
    """
    from .slices._engine import _piece_tables

    net = cx.net
    R = cx.n_regions
    codes = np.asarray(cx.codes, np.int64)
    off = net.layer_offsets
    W, b = net.layers[0]
    Ed = np.stack([cx.e1, cx.e2], axis=1)
    gam = _gamma(W.shape[1] + 2)
    G = np.broadcast_to(W @ Ed, (R,) + (W.shape[0], 2))
    g = np.broadcast_to(W @ cx.origin + b, (R, W.shape[0]))
    EG = np.broadcast_to(gam * (np.abs(W) @ np.abs(Ed)), G.shape)
    Eg = np.broadcast_to(gam * (np.abs(W) @ np.abs(cx.origin) + np.abs(b)), g.shape)
    for l in range(net.depth):
        slope_t, offset_t = _piece_tables(net, l, False)
        cl = codes[:, off[l] : off[l + 1]]
        slope, offset = slope_t[cl], offset_t[cl]
        H = G * slope[..., None]
        h = g * slope + offset
        EH = EG * np.abs(slope)[..., None] + _U * np.abs(H)
        Eh = Eg * np.abs(slope) + _U * (np.abs(h) + np.abs(offset))
        W, b = net.layers[l + 1]
        aW = np.abs(W)
        gam = _gamma(W.shape[1] + 2)
        G = np.einsum("ij,rjk->rik", W, H)
        g = h @ W.T + b
        EG = np.einsum("ij,rjk->rik", aW, EH + gam * np.abs(H))
        Eg = (Eh + gam * np.abs(h)) @ aW.T + gam * np.abs(b)
    return G, g, EG * (1 + 8 * _U), Eg * (1 + 8 * _U)


def _region_classes(cx, points):
    """Predicted class of each region's own logits at one (u, v) point per region.

    Parameters
    ----------
    cx : RegionComplex (slice)
    points : (R, 2) float
        One point per region, read as exact numbers (e.g. ``cx.interior_points``).

    Returns
    -------
    (R,) int64
        ``argmax`` of the region's affine logits at its point (lowest class on
        ties), or ``logit > 0`` for one output.  Exact in ``mode="exact"`` and
        ``"certified"``: float with error bounds, rationals for the regions
        whose bounds do not separate the top two logits (or the logit from 0).
    """
    from .slices._lines import ExactPlane

    pts = np.asarray(points, dtype=np.float64)
    if cx.n_regions == 0:
        return np.zeros(0, np.int64)
    F, EF = _logits_at(cx, pts, np.arange(cx.n_regions), bounds=cx.mode != "float")
    if F.shape[1] == 1:
        out = (F[:, 0] > 0).astype(np.int64)
    else:
        out = np.argmax(F, axis=1).astype(np.int64)
    if cx.mode == "float":
        return out
    EF = EF * max(cx.tol.safety, 1.0)
    if F.shape[1] == 1:
        undecided = np.abs(F[:, 0]) <= EF[:, 0]
    else:
        top = F[np.arange(len(F)), out]
        undecided = np.any((F >= (top - EF[np.arange(len(F)), out])[:, None] - EF)
                           & (np.arange(F.shape[1]) != out[:, None]), axis=1)
    rows = np.flatnonzero(undecided)
    if len(rows):
        plane = ExactPlane(cx)
        q = arith.fmpq_array(pts[rows])
        for r, (a, b) in zip(rows, q):
            Vq, uq = plane.logits(cx.codes[r])
            f = Vq[:, 0] * a + Vq[:, 1] * b + uq
            if len(f) == 1:
                out[r] = int(f[0] > 0)
            else:
                best = 0
                for k in range(1, len(f)):
                    if f[k] > f[best]:
                        best = k
                out[r] = best
    return out


def _logits_at(cx, uv, regions, EP=None, bounds=True):
    """Float logits of each region's own affine map at (u, v) points, with error bounds.

    ``regions[k]`` is the region whose map is evaluated at ``uv[k]``; ``EP`` bounds
    the error of the points (max norm, default 0).  Returns ``(F (n, C), EF (n, C)
    or None)``; ``|F - F*| <= EF`` for the exact map at the exact point.
    """
    uv = np.asarray(uv, dtype=np.float64)
    regions = np.asarray(regions, np.int64)
    EP = np.zeros(len(uv)) if EP is None else np.asarray(EP, dtype=np.float64)
    net = cx.net
    if net.is_dense:
        V, u, EV, Eu = _uv_logits_bounded(cx)
        Vc, uc = V[regions], u[regions]
        F = np.einsum("vck,vk->vc", Vc, uv) + uc
        if not bounds:
            return F, None
        aP = np.abs(uv)
        EF = (np.einsum("vck,vk->vc", EV[regions], aP) + Eu[regions]
              + np.abs(Vc).sum(axis=2) * EP[:, None]
              + _gamma(4) * (np.einsum("vck,vk->vc", np.abs(Vc), aP) + np.abs(uc)))
        return F, EF * (1 + 8 * _U)
    # graph nets: evaluate the stages with the regions' codes fixed
    stg = net.stages()
    off = net.layer_offsets
    codes = np.asarray(cx.codes, np.int64)[regions]
    X = cx.origin + uv[:, :1] * cx.e1 + uv[:, 1:2] * cx.e2
    if not bounds:
        S = stg.start(X)
        for g in range(stg.n_groups):
            S = stg.advance_fixed(g, S, codes[:, off[g] : off[g + 1]])
        return S, None
    a1, a2 = np.abs(cx.e1), np.abs(cx.e2)
    EX = EP[:, None] * (a1 + a2) + 4 * _U * (np.abs(cx.origin) + np.abs(uv[:, :1]) * a1
                                             + np.abs(uv[:, 1:2]) * a2)
    S, E = stg.start_bound(X, EX, safety=1.0)
    for g in range(stg.n_groups):
        S, E = stg.advance_fixed(g, S, codes[:, off[g] : off[g + 1]], E=E, safety=1.0)
    return S, E * (1 + 8 * _U)


class _Ambiguous(Exception):
    """Internal: a certified decision of the decision boundary needs exact arithmetic."""


class _Arith:
    """The three ways of deciding a sign: exact, float with a band, certified bounds."""

    def __init__(self, kind, *, band=0.0, band_s=0.0, safety=1.0):
        self.kind, self.band, self.band_s = kind, band, band_s
        self.safety = max(float(safety), 1.0)

    def sign(self, x, e):
        if self.kind == "exact":
            return (x > 0) - (x < 0)
        if self.kind == "float":
            return 1 if x > self.band else (-1 if x < -self.band else 0)
        if abs(x) > self.safety * e:
            return 1 if x > 0 else -1
        raise _Ambiguous


def _interp(A, B, t, dt):
    """``A + t (B - A)`` for (values, errors) records, with the error of ``t``."""
    (va, ea), (vb, eb) = A, B
    val = va + t * (vb - va)
    if ea is None:
        return val, None
    err = (1 - t) * ea + t * eb + dt * (np.abs(vb - va) + ea + eb)
    return val, err + 2 * _U * (np.abs(va) + np.abs(vb))


def _root(x, ex, y, ey, ar):
    """``x / (x - y)`` for values of opposite signs, with its error bound."""
    t = x / (x - y)
    if ex is None:
        return t, 0.0
    den = abs(x) + abs(y) - ex - ey
    return t, (ex + ey) / den * (1 + 4 * _U) + 4 * _U if den > 0 else np.inf


def _region_pieces(P, EP, F, EF, pairs, ar):
    """Decision-boundary pieces of one convex region.

    Parameters
    ----------
    P : (k, 2) vertices (float or exact), counter-clockwise
    EP : (k,) float or None
        Error bounds of the coordinates (certified).
    F : (k, C) logits at the vertices
    EF : (k, C) float or None
    pairs : list of (c, j)
        Class pairs to examine; ``(0, -1)`` is the single-output test ``f = 0``.
    ar : _Arith

    Returns
    -------
    list of (c, j, (u1, v1), (u2, v2))
        For each pair whose tie line meets the region's interior, the segment of
        it where both classes are maximal, if it has positive length.

    Raises
    ------
    _Ambiguous
        In certified mode, when an error bound does not decide a sign.
    """
    k = len(P)
    C = F.shape[1]
    out = []
    for c, j in pairs:
        if j < 0:
            h = [F[v, c] for v in range(k)]
            eh = None if EF is None else [EF[v, c] for v in range(k)]
        else:
            h = [F[v, c] - F[v, j] for v in range(k)]
            eh = None if EF is None else [EF[v, c] + EF[v, j] + _U * abs(h[v]) for v in range(k)]
        sg = [ar.sign(h[v], None if eh is None else eh[v]) for v in range(k)]
        if not (1 in sg and -1 in sg):
            continue
        pts = []  # ((P, EP), (F row, EF row)) where the tie line meets the boundary
        for v in range(k):
            w = (v + 1) % k
            rec_p = (P[v], None if EP is None else EP[v])
            rec_f = (F[v], None if EF is None else EF[v])
            if sg[v] == 0:
                pts.append((rec_p, rec_f))
            if sg[v] * sg[w] < 0:
                t, dt = _root(h[v], None if eh is None else eh[v], h[w],
                              None if eh is None else eh[w], ar)
                Pw = (P[w], None if EP is None else EP[w])
                Fw = (F[w], None if EF is None else EF[w])
                X = _interp((np.asarray(P[v]), rec_p[1]), (np.asarray(P[w]), Pw[1]), t, dt)
                if X[1] is not None:
                    X = (X[0], float(np.max(X[1])) + 2 * _U * float(np.max(np.abs(X[0]))))
                pts.append((X, _interp((np.asarray(F[v]), rec_f[1]), (np.asarray(F[w]), Fw[1]),
                                       t, dt)))
        if len(pts) != 2:  # float mode near a vertex: keep the two ends
            if ar.kind != "float" or len(pts) < 2:
                raise _Ambiguous if ar.kind == "certified" else AssertionError(len(pts))
            pts = [pts[0], pts[-1]]
        (X1, F1), (X2, F2) = pts
        lo, e_lo, hi, e_hi = 0, 0.0, 1, 0.0
        empty = False
        for m in range(C if j >= 0 else 0):
            if m == c or m == j:
                continue
            q1 = F1[0][c] - F1[0][m]
            q2 = F2[0][c] - F2[0][m]
            e1 = e2 = None
            if F1[1] is not None:
                e1 = F1[1][c] + F1[1][m] + _U * abs(q1)
                e2 = F2[1][c] + F2[1][m] + _U * abs(q2)
            s1, s2 = ar.sign(q1, e1), ar.sign(q2, e2)
            if s1 >= 0 and s2 >= 0:
                continue
            if s1 < 0 and s2 < 0:
                empty = True
                break
            r, er = _root(q1, e1, q2, e2, ar)
            if s1 >= 0:  # q >= 0 where s <= r
                if r < hi:
                    hi = r
                e_hi = max(e_hi, er)
            else:  # q >= 0 where s >= r
                if r > lo:
                    lo = r
                e_lo = max(e_lo, er)
        if empty:
            continue
        if ar.kind == "exact":
            if not hi > lo:
                continue
        elif ar.kind == "float":
            if not hi - lo > ar.band_s:
                continue
        elif ar.sign(hi - lo, e_lo + e_hi + 2 * _U) < 0:
            continue
        a = X1[0] + lo * (X2[0] - X1[0])
        b = X1[0] + hi * (X2[0] - X1[0])
        out.append((c, j, (a[0], a[1]), (b[0], b[1])))
    return out


def decision_boundary(cx):
    """Pieces of the decision boundary of a slice complex.

    The predicted class is ``argmax`` of the logits (``logit > 0`` for one
    output).  Inside a region the logits are affine in (u, v); for two classes
    ``c < j`` the piece of the region is the part of the tie line
    ``f_c = f_j`` where both are maximal, reported when that line passes
    through the region's interior and the part has positive length.

    Parameters
    ----------
    cx : RegionComplex (slice)

    Returns
    -------
    DecisionBoundary
        Segments in (u, v) (exact in ``mode="exact"``, then rounded to float),
        their region and the two classes, region after region and, within a
        region, by class pair.

    Raises
    ------
    ValidationError
        If ``cx`` is not a slice complex.

    Notes
    -----
    Which regions have pieces, between which classes, and how many, is exact in
    ``mode="exact"`` and ``mode="certified"``: the logits at the vertices carry
    rounding-error bounds (of the region's affine map and of the vertex
    coordinates), a region is examined when the bounds allow two classes to be
    maximal in it, and in certified mode every sign the bounds do not decide
    (a tie line through a vertex, three classes tied on the region's boundary,
    a piece shorter than its error) sends the region to exact rationals (its
    polygon rebuilt from its edge lines); those regions are added to
    ``cx.n_recomputed``.  ``mode="float"`` decides with the band
    ``16 tol.zero`` times the logits' scale.

    Degenerate cases: a tie line along an edge of the region (not through its
    interior) gives no piece in that region; where two classes tie on the whole
    region (identical logits) there is no line and no piece; where three or
    more classes tie along one line, every pair of them gets the piece.
    """
    from .slices import DecisionBoundary
    from .slices._lines import ExactPlane

    _check_complex(cx, "decision_boundary")
    if cx.kind != "slice":
        raise ValidationError(
            "decision_boundary is defined for slice complexes only; for a cell complex "
            "(polyfold.box_complex) read its cx.decision_boundary property."
        )
    exact = cx.exact_vertices is not None
    certified = not exact and cx.mode == "certified" and cx._vertex_errors is not None
    off = cx.vertex_offsets
    P = cx.vertices
    C = cx.net.output_dim
    cell = np.repeat(np.arange(cx.n_regions), np.diff(off))
    if exact or certified:
        EP = 2 * _U * np.abs(P).max(axis=1) if exact else cx._vertex_errors
        F, EF = _logits_at(cx, P, cell, EP)
        slack = max(cx.tol.safety, 1.0) * EF
    else:
        F, _ = _logits_at(cx, P, cell, bounds=False)
        EP = EF = None
        fmax = np.maximum.reduceat(np.abs(F).max(axis=1), off[:-1]) if len(F) else np.zeros(0)
        slack = (16 * cx.tol.zero * np.maximum(fmax, 1.0))[cell][:, None] * np.ones((1, C))
    starts = off[:-1]
    if C == 1:
        maybe = (np.maximum.reduceat(F[:, 0] + slack[:, 0], starts) > 0) & (
            np.minimum.reduceat(F[:, 0] - slack[:, 0], starts) < 0)
        cand = maybe[:, None]
    else:
        # class c can be maximal somewhere in the region only if, for every k,
        # f_c - f_k can be >= 0 at some vertex (the maximum of an affine
        # function over a polygon is attained at a vertex)
        diff = F[:, :, None] - F[:, None, :] + slack[:, :, None] + slack[:, None, :]
        mx = np.maximum.reduceat(diff, starts, axis=0)
        cand = np.all(mx >= 0, axis=2)
        maybe = cand.sum(axis=1) >= 2
    plane = None
    ar_exact = _Arith("exact")
    if exact:
        ar = ar_exact
    elif certified:
        ar = _Arith("certified", safety=cx.tol.safety)
    else:
        ar = None
    n_exact = 0
    segs, regs, cls = [], [], []
    for i in np.flatnonzero(maybe):
        lo_, hi_ = off[i], off[i + 1]
        cc = np.flatnonzero(cand[i])
        pairs = [(0, -1)] if C == 1 else [(int(a), int(b)) for a in cc for b in cc if a < b]
        if exact or certified:
            pieces = None
            if certified:
                try:
                    pieces = _region_pieces(P[lo_:hi_], EP[lo_:hi_], F[lo_:hi_], EF[lo_:hi_],
                                            pairs, ar)
                except _Ambiguous:
                    pieces = None
            if pieces is None:
                if plane is None:
                    plane = ExactPlane(cx)
                Pq = cx.exact_vertices[lo_:hi_] if exact else plane.polygon(i)
                Vq, uq = plane.logits(cx.codes[i])
                Fq = Pq @ Vq.T + uq
                pieces = _region_pieces(Pq, None, Fq, None, pairs, ar_exact)
                n_exact += not exact
        else:
            fs = float(np.abs(F[lo_:hi_]).max()) if hi_ > lo_ else 0.0
            arf = _Arith("float", band=16 * cx.tol.zero * max(fs, 1.0), band_s=cx.tol.zero)
            pieces = _region_pieces(P[lo_:hi_], None, F[lo_:hi_], None, pairs, arf)
        for c, j, p, q in pieces:
            segs.append([[float(p[0]), float(p[1])], [float(q[0]), float(q[1])]])
            regs.append(int(i))
            cls.append((c, j) if j >= 0 else (0, 1))
    _count_recomputed(cx, n_exact)
    return DecisionBoundary(
        segments=np.array(segs, dtype=np.float64).reshape(len(segs), 2, 2),
        region=np.array(regs, dtype=np.int64),
        classes=np.array(cls, dtype=np.int64).reshape(len(cls), 2),
    )


# ---------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------
def complex_to_json(cx, path=None):
    """JSON text of a complex: regions (codes, vertices or interior points,
    measure, class) and adjacency (pairs with switching neurons).

    Parameters
    ----------
    cx : RegionComplex
    path : str or Path, optional
        Also write the text there.

    Returns
    -------
    str

    Raises
    ------
    ValidationError
        If ``cx`` is not a RegionComplex, or ``path`` is not a file name, is a folder
        or lies in a folder that does not exist (checked before any work).
    """
    from ._validation import check_save_path

    _check_complex(cx, "complex_to_json")
    if path is not None:
        path = check_save_path(path, "path")
    pairs, switching = cx.adjacency
    preds = cx.predicted_classes
    regions = []
    for i in range(cx.n_regions):
        rec = {
            "index": i,
            "codes": [int(v) for v in cx.codes[i]],
            "measure": float(cx.measures[i]),
            "interior_point": [float(v) for v in cx.interior_points[i]],
            "predicted_class": int(preds[i]),
        }
        if cx.kind == "slice":
            rec["vertices"] = cx.polygon(i).tolist()
            if cx.exact_vertices is not None:
                rec["vertices_exact"] = [[str(arith.to_fraction(a)), str(arith.to_fraction(b))]
                                         for a, b in cx.exact_polygon(i)]
        regions.append(rec)
    doc = {
        "format": "polyfold.RegionComplex/1",
        "kind": cx.kind,
        "mode": cx.mode,
        "n_regions": cx.n_regions,
        "n_recomputed": cx.n_recomputed,
        "regions": regions,
        "edges": [
            {"regions": [int(a), int(b)], "switching": [list(s) for s in sw]}
            for (a, b), sw in zip(pairs.tolist(), switching)
        ],
    }
    if cx.kind == "slice":
        doc["origin"] = cx.origin.tolist()
        doc["e1"] = cx.e1.tolist()
        doc["e2"] = cx.e2.tolist()
        doc["domain"] = cx.domain.tolist()
    text = json.dumps(doc)
    if path is not None:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    return text


def graph_to_graphml(G, path):
    """Write a region graph to GraphML (tuples and lists become strings).

    Parameters
    ----------
    G : networkx.Graph
    path : str or Path

    Returns
    -------
    path

    Raises
    ------
    ValidationError
        If ``G`` is not a networkx graph (for a complex pass ``cx.graph``, or call
        ``cx.to_graphml(path)``), or ``path`` is not a file name, is a folder or
        lies in a folder that does not exist.
    """
    from ._validation import check_save_path

    try:
        import networkx as nx
    except ImportError as err:  # pragma: no cover - networkx is a hard dependency
        raise DependencyError("GraphML export needs networkx: pip install networkx") from err
    if not isinstance(G, nx.Graph):
        raise ValidationError(
            f"G must be a networkx Graph (e.g. region_graph(cx) or cx.graph), got "
            f"{type(G).__name__}"
            + ("; call cx.to_graphml(path) for a complex." if hasattr(G, "to_graphml") else ".")
        )
    if not hasattr(path, "write"):  # (an open file is written as it is)
        check_save_path(path, "path")
    H = nx.Graph()
    for n, data in G.nodes(data=True):
        H.add_node(n, **{k: _scalar(v) for k, v in data.items()})
    for a, b, data in G.edges(data=True):
        H.add_edge(a, b, **{k: _scalar(v) for k, v in data.items()})
    nx.write_graphml(H, path)
    return path


def _scalar(v):
    if isinstance(v, (list, tuple)):
        if v and isinstance(v[0], (list, tuple)):
            return ";".join(":".join(str(x) for x in item) for item in v)
        return ",".join(str(x) for x in v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    return v
