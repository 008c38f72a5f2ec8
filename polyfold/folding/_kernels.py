"""Kernels of the exact network walk (private).

The unit and equivalence-class conventions of :func:`polyfold.folding.space_folding`
(``units=``, ``classes=``), the evaluation of the chosen units at the breakpoints of
the exact segment partition (:func:`polyfold.segment_crossings`), the splitting of
pieces where an output class changes inside a linear piece, and the merging and
splicing of the resulting walks (float, certified and exact).  Nothing here is
public; :mod:`polyfold.folding.paths`, :mod:`polyfold.folding.pairs` and
:mod:`polyfold.folding.sampled` build on it.
"""

import numbers
from dataclasses import dataclass

import numpy as np

from .._packing import code_layout, pack_codes
from ..exceptions import ValidationError
from ..network import check_net as _check_net  # noqa: F401  (used by the other folding modules)


# ---------------------------------------------------------------------------
# exact walks of a network
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Convention:
    """Which units give classes and how (resolved from ``units`` and ``classes``)."""

    hidden_cols: np.ndarray  # positions in the hidden pattern
    output: bool  # output units included
    kind: str  # "sign", "piece" or "threshold"
    tau: float  # threshold on f(z) for kind == "threshold" (0 otherwise)
    units_label: str
    classes_label: str
    unit_labels: tuple  # (layer, neuron) of every column; layer == depth: output

    @property
    def needs_split(self):
        # (a threshold on no hidden column, e.g. units="hidden" of a net without
        # hidden layers, splits nothing)
        return self.output or (self.kind == "threshold" and len(self.hidden_cols) > 0)

    @property
    def n_columns(self):
        return len(self.unit_labels)


def _negative_leaky(net, layers):
    """Some hidden layer in ``layers`` has leaky units with a negative slope."""
    from ..network import LeakyReLU

    if net.is_dense:
        acts = [net.activations[l] for l in layers]
    else:
        units = net.stages().units
        acts = [getattr(units[l], "activation", None) for l in layers]
    return any(isinstance(a, LeakyReLU) and a.slope < 0 for a in acts)


def _resolve_convention(net, units, classes):
    depth = net.depth
    if isinstance(units, str):
        if units == "hidden":
            layers, output = list(range(depth)), False
        elif units == "hidden+output":
            layers, output = list(range(depth)), True
        else:
            layers = None
        label = units
    elif isinstance(units, (list, tuple, np.ndarray)) and len(units) > 0:
        layers = []
        for v in units:
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) or not (
                -(depth + 1) <= v <= depth
            ):
                layers = None
                break
            layers.append(int(v) % (depth + 1))
        if layers is not None:
            layers = sorted(set(layers))
            output = depth in layers
            layers = [l for l in layers if l < depth]
            label = "layers" + str(sorted(layers + ([depth] if output else [])))
    else:
        layers = None
    if layers is None:
        raise ValidationError(
            f"units must be 'hidden', 'hidden+output' or a non-empty list of layer indices "
            f"(0..{depth - 1} hidden, {depth} or -1 for the output layer), got {units!r}."
        )
    if isinstance(classes, str):
        if classes not in ("sign", "piece"):
            raise ValidationError(
                f"classes must be 'sign', 'piece' or a float threshold tau on f(z), got "
                f"{classes!r}."
            )
        kind, tau = classes, 0.0
    elif isinstance(classes, numbers.Real) and not isinstance(classes, (bool, np.bool_)):
        tau = float(classes)
        if not np.isfinite(tau):
            raise ValidationError(f"classes threshold must be finite, got {classes!r}.")
        kind = "sign" if tau == 0.0 else "threshold"
    else:
        raise ValidationError(
            f"classes must be 'sign', 'piece' or a float threshold tau on f(z), got "
            f"{classes!r}."
        )
    if kind == "sign" and _negative_leaky(net, layers):
        # f(z) > 0 is not z > 0 for a leaky unit with a negative slope (f > 0 on both
        # sides of 0): the threshold rule on f(z) computes it from the values
        kind = "threshold"
    off = net.layer_offsets
    cols = np.concatenate([np.arange(off[l], off[l + 1]) for l in layers]).astype(np.int64) if layers else np.zeros(0, np.int64)
    labels = [net.unit_of(int(c)) for c in cols]
    if output:
        labels += [(depth, j) for j in range(net.output_dim)]
    cls_label = kind if kind != "threshold" else ("sign" if classes == "sign" else f"f(z)>{tau!r}")
    return _Convention(
        hidden_cols=cols,
        output=output,
        kind=kind,
        tau=tau,
        units_label=label,
        classes_label=cls_label,
        unit_labels=tuple(labels),
    )


def _base_rows(net, codes, conv):
    """Per-piece classes of the hidden columns that need no splitting."""
    from ..network import bits_from_codes, pieces_from_codes

    if conv.kind == "threshold":
        # the values decide these columns (None); no columns: an empty class
        return None if len(conv.hidden_cols) else np.zeros((len(codes), 0), bool)
    if conv.kind == "sign":
        return bits_from_codes(net, codes)[:, conv.hidden_cols]
    return pieces_from_codes(net, codes)[:, conv.hidden_cols]


def _values_at(net, S, E, pseg, pt, conv, exact, safety):
    """Split-unit values (f(z) of hidden columns for thresholds, logits for outputs)
    at the points ``(1 - pt) S[pseg] + pt E[pseg]``, with forward error bounds when
    ``safety`` is non-zero.

    The first layer is affine along each segment, so its values are interpolated
    from the two end points (no product with the input dimension per point)."""
    from ..tolerance import UNIT_ROUNDOFF

    if not net.is_dense:
        return _values_at_graph(net, S, E, pseg, pt, conv, exact, safety)
    layers = net.exact_layers() if exact else net.layers
    W0, b0 = layers[0]
    if exact:
        from .. import arith

        Sq, Eq = arith.fmpq_array(S), arith.fmpq_array(E)
        ZS, ZE = Sq @ W0.T + b0, Eq @ W0.T + b0
        tt = pt[:, None]
        z = ZS[pseg] + tt * (ZE[pseg] - ZS[pseg])
        ez = None
    else:
        ZS, ZE = S @ W0.T + b0, E @ W0.T + b0
        tt = pt[:, None]
        a, c = ZS[pseg], ZE[pseg]
        z = a * (1.0 - tt) + c * tt
        ez = None
        if safety:
            n_in = W0.shape[1] + 2
            gam = n_in * UNIT_ROUNDOFF / (1.0 - n_in * UNIT_ROUNDOFF)
            absW, absb = np.abs(net.layers[0][0]), np.abs(net.layers[0][1])
            MS, ME = np.abs(S) @ absW.T + absb, np.abs(E) @ absW.T + absb
            mag = MS[pseg] * (1.0 - tt) + ME[pseg] * tt
            ez = gam * mag + 4 * UNIT_ROUNDOFF * (np.abs(a) * (1.0 - tt) + np.abs(c) * tt)
    post, post_err, logits, logit_err = [], [], None, None
    eh = None
    h = None  # post-activation of the previous layer (set at the end of each pass)
    for l in range(len(layers)):
        if l > 0:
            W, b = layers[l]
            z = h @ W.T + b
            if safety:
                absW = np.abs(net.layers[l][0])
                mag = np.abs(h) @ absW.T + np.abs(net.layers[l][1])
                n_in = W.shape[1] + 2
                gam = n_in * UNIT_ROUNDOFF / (1.0 - n_in * UNIT_ROUNDOFF)
                ez = gam * mag + eh @ absW.T
        if l < net.depth:
            act = net.activations[l]
            h = act.apply(z)
            if safety:
                lip = max([1.0] + [abs(s) for s, _ in act.pieces()])
                eh = ez * lip
            post.append(h)
            post_err.append(eh)
        else:
            logits, logit_err = z, ez
    cols, errs = [], []
    if conv.kind == "threshold" and len(conv.hidden_cols):
        allh = np.concatenate(post, axis=1)
        cols.append(allh[:, conv.hidden_cols])
        if safety:
            errs.append(np.concatenate(post_err, axis=1)[:, conv.hidden_cols])
    if conv.output:
        cols.append(logits)
        if safety:
            errs.append(logit_err)
    V = np.concatenate(cols, axis=1)
    Ev = np.concatenate(errs, axis=1) * safety if safety else None
    return V, Ev


def _split_pieces(base, seg_piece, ta, tb, va, vb, theta, exact, ea=None, eb=None, merge=0.0, zero=0.0):
    """Split every piece where a split unit crosses its threshold.

    Returns rows (sub-intervals in order), the piece of each row, the start ``t`` of
    each row and a per-piece ambiguity mask (certified mode, when ``ea``/``eb`` bounds
    are given).  Float mode (no bounds): values within ``zero`` times the largest
    value of their unit over the batch count as at the threshold, as the float
    crossing kernels count preactivations (a logit that is 0 along a piece, computed
    from interpolated ends as 1e-17, is not above 0).
    """
    P, U = va.shape
    certified = ea is not None
    da = va - theta
    db = vb - theta
    if exact:
        sa = np.zeros((P, U), np.int8)
        sb = np.zeros((P, U), np.int8)
        sa[np.asarray(da > 0, bool)] = 1
        sa[np.asarray(da < 0, bool)] = -1
        sb[np.asarray(db > 0, bool)] = 1
        sb[np.asarray(db < 0, bool)] = -1
    else:
        if certified:
            band_a, band_b = ea, eb
        else:
            scale = np.maximum(np.abs(va).max(axis=0, initial=0.0), np.abs(vb).max(axis=0, initial=0.0))
            band_a = band_b = zero * np.maximum(scale, np.abs(theta))
        sa = np.zeros((P, U), np.int8)
        sb = np.zeros((P, U), np.int8)
        sa[da > band_a] = 1
        sa[da < -band_a] = -1
        sb[db > band_b] = 1
        sb[db < -band_b] = -1
    ambiguous = np.zeros(P, bool)
    if certified:
        ambiguous |= np.any((sa == 0) | (sb == 0), axis=1)
    kk, uu = np.nonzero(sa.astype(np.int16) * sb < 0)
    s = da[kk, uu] / (da[kk, uu] - db[kk, uu])
    # sort the cuts by (piece, s); merge equal cuts of one piece
    if exact:
        order = sorted(range(len(kk)), key=lambda i: (int(kk[i]), s[i]))
        order = np.array(order, dtype=np.int64)
    else:
        order = np.lexsort((s, kk))
    kk, s = kk[order], s[order]
    if len(kk) > 1:
        same_piece = kk[1:] == kk[:-1]
        if exact:
            dup = same_piece & np.asarray(s[1:] == s[:-1], bool)
        else:
            gap = s[1:] - s[:-1]
            dup = same_piece & (gap <= merge)
            if certified:
                ds = np.abs(da[kk, uu[order]] - db[kk, uu[order]])
                err = (ea[kk, uu[order]] + eb[kk, uu[order]]) / np.maximum(ds, np.finfo(float).tiny)
                close = same_piece & (gap <= err[1:] + err[:-1])
                ambiguous[kk[1:][close]] = True
        keep = np.r_[True, ~dup]
        kk, s = kk[keep], s[keep]
    n_cuts = np.bincount(kk, minlength=P)
    n_sub = n_cuts + 1
    row_piece = np.repeat(np.arange(P), n_sub)
    first_row = np.concatenate([[0], np.cumsum(n_sub)[:-1]])
    # left and right local parameter of every sub-interval
    if exact:
        from ..arith import ONE, ZERO

        s_left = np.empty(len(row_piece), dtype=object)
        s_right = np.empty(len(row_piece), dtype=object)
        s_left[:] = ZERO
        s_right[:] = ONE
        half = ONE / 2
    else:
        s_left = np.zeros(len(row_piece))
        s_right = np.ones(len(row_piece))
        half = 0.5
    if len(kk):
        # cut c of piece p closes row (first_row[p] + rank) and opens the next
        rank = np.arange(len(kk)) - np.concatenate([[0], np.cumsum(n_cuts)])[kk]
        rows_closing = first_row[kk] + rank
        s_right[rows_closing] = s
        s_left[rows_closing + 1] = s
    s_mid = (s_left + s_right) * half
    vmid = va[row_piece] + s_mid[:, None] * (vb[row_piece] - va[row_piece])
    dmid = vmid - theta
    if exact:
        bits = np.asarray(dmid > 0, bool)
    else:
        if certified:
            band = np.maximum(ea[row_piece], eb[row_piece])
            undecided = np.abs(dmid) <= band
            ambiguous[row_piece[np.any(undecided, axis=1)]] = True
            bits = dmid > 0
        else:
            bits = dmid > band_a
    t_start = ta[row_piece] + s_left * (tb[row_piece] - ta[row_piece])
    if base is None:
        rows = bits
    elif base.dtype == bool:
        rows = np.concatenate([base[row_piece], bits], axis=1)
    else:
        rows = np.concatenate([base[row_piece], bits.astype(base.dtype)], axis=1)
    return rows, row_piece, t_start, ambiguous


def _merge_rows(rows, seg, t_start, m):
    """Merge consecutive equal rows of one segment (stability)."""
    keep = np.ones(len(rows), bool)
    if len(rows) > 1:
        keep[1:] = (seg[1:] != seg[:-1]) | np.any(rows[1:] != rows[:-1], axis=1)
    rows, seg, t_start = rows[keep], seg[keep], t_start[keep]
    counts = np.bincount(seg, minlength=m).astype(np.int64)
    first = np.ones(len(seg), bool)
    first[1:] = seg[1:] != seg[:-1]
    return rows, counts, t_start[~first]


def _piece_starts(sc, exact):
    """``(seg, first, ta)`` of every piece of a :class:`SegmentCrossings`: its segment,
    whether it is its segment's first piece, and its start parameter (exact ``fmpq``
    in exact mode)."""
    from .. import arith

    m = sc.n_segments
    P = int(sc.piece_offsets[-1])
    seg = np.repeat(np.arange(m), sc.n_pieces)
    first = np.zeros(P, bool)
    first[sc.piece_offsets[:-1]] = True
    # piece j (not first) starts at breakpoint j - seg - 1
    bp_index = np.arange(P) - seg - 1
    if exact:
        tq = np.array([arith.fmpq(v.numerator, v.denominator) for v in sc.t_exact] + [arith.ZERO], dtype=object)
        ta = np.empty(P, dtype=object)
        ta[:] = arith.ZERO
        ta[~first] = tq[bp_index[~first]]
    else:
        ta = np.zeros(P)
        ta[~first] = sc.t[bp_index[~first]]
    return seg, first, ta


def _piece_points(sc, seg, ta, exact):
    """The points ``[0, breakpoints..., 1]`` of every segment: ``(pt, left, pseg)``,
    their parameters, the first point of every piece (piece ``j`` spans points
    ``left[j]`` and ``left[j] + 1``) and the segment of every point."""
    from .. import arith

    m = sc.n_segments
    P = len(ta)
    left = np.arange(P) + seg
    pt = np.empty(P + m, dtype=object) if exact else np.empty(P + m)
    pt[left] = ta
    pt[sc.piece_offsets[1:] + np.arange(m)] = arith.ONE if exact else 1.0
    pseg = np.repeat(np.arange(m), sc.n_pieces + 1)
    return pt, left, pseg


def _end_bounds(sc, Ev, left, ta, tb, va, vb, first, merge):
    """Certified error bounds of values at the piece ends: the forward bounds ``Ev`` at
    the points, widened at interior breakpoints by ``slope * merge`` (breakpoint
    parameters are known to about ``tol.merge``)."""
    dt = np.maximum(tb - ta, np.finfo(float).tiny)
    with np.errstate(over="ignore"):  # (a slope beyond float64: an infinite bound, decided exactly)
        slope_err = np.abs(vb - va) / dt[:, None] * merge
    last = np.zeros(len(ta), bool)
    last[sc.piece_offsets[1:] - 1] = True
    ea = Ev[left] + np.where(first[:, None], 0.0, slope_err)
    eb = Ev[left + 1] + np.where(last[:, None], 0.0, slope_err)
    return ea, eb


def _walk_kernel(net, S, E, conv, mode, tolv):
    """Exact walks of segments ``S -> E`` under a convention.

    Returns dict: rows, counts (per segment), t (transition parameters, float),
    t_exact (list of Fraction or None), n_pieces, n_recomputed.
    """
    from .. import arith
    from ..crossings import segment_crossings

    m = len(S)
    exact = mode == "exact"
    certified = mode == "certified"
    if m == 0:
        return _empty_walks(net, conv, exact)
    sc = segment_crossings(net, S, E, mode=mode, tol=tolv, progress=False)
    seg, firstp, ta = _piece_starts(sc, exact)
    n_recomputed = sc.n_recomputed
    columns = None
    if not conv.needs_split and conv.kind == "sign" and code_layout(net).one_bit:
        # the packed codes are the bits: walk on 64-bit words (the units' bits only)
        columns = conv.hidden_cols
        words = sc.codes_packed
        if len(columns) != net.n_hidden:
            keep = np.zeros((1, net.n_hidden), np.int8)
            keep[0, columns] = 1
            words = words & pack_codes(keep, code_layout(net))[0]
        rows, counts, tt = _merge_rows(words, seg, ta, m)
    elif not conv.needs_split:
        rows, counts, tt = _merge_rows(_base_rows(net, sc.codes, conv), seg, ta, m)
    else:
        base = _base_rows(net, sc.codes, conv)
        pt, left, pseg = _piece_points(sc, seg, ta, exact)
        V, Ev = _values_at(net, S, E, pseg, pt, conv, exact, tolv.safety if certified else 0.0)
        theta_cols = []
        if conv.kind == "threshold":
            theta_cols += [conv.tau] * len(conv.hidden_cols)
        if conv.output:
            theta_cols += [conv.tau if conv.kind == "threshold" else 0.0] * net.output_dim
        theta = arith.fmpq_array(np.array(theta_cols)) if exact else np.array(theta_cols)
        va, vb = V[left], V[left + 1]
        tb = pt[left + 1]
        ea = eb = None
        if certified:
            ea, eb = _end_bounds(sc, Ev, left, ta, tb, va, vb, firstp, tolv.merge)
        rows, row_piece, t_start, amb = _split_pieces(
            base, seg, ta, tb, va, vb, theta, exact, ea, eb,
            merge=0.0 if exact else tolv.merge, zero=tolv.zero,
        )
        rows, counts, tt = _merge_rows(rows, seg[row_piece], t_start, m)
        if certified and amb.any():
            ids = np.unique(seg[amb])
            ex = _walk_kernel(net, S[ids], E[ids], conv, "exact", tolv)
            rows, counts, tt = _splice_walks(rows, counts, tt, ex, ids, m)
            n_recomputed = int(np.count_nonzero(sc.exact_segments | np.isin(np.arange(m), ids)))
    t_exact = None
    if exact:
        t_exact, tt = arith.exact_and_float(tt)
        t_exact = list(t_exact)
    else:
        tt = np.asarray(tt, dtype=np.float64)
    return {
        "rows": rows,
        "counts": counts,
        "t": tt,
        "t_exact": t_exact,
        "n_pieces": sc.n_pieces,
        "n_recomputed": n_recomputed,
        "columns": columns,
    }


def _empty_walks(net, conv, exact):
    """:func:`_walk_kernel` of no segments: rows of the dtype and width a batch of
    segments has under ``conv``."""
    columns = None
    if not conv.needs_split and conv.kind == "sign" and code_layout(net).one_bit:
        rows, columns = np.zeros((0, code_layout(net).n_words), np.uint64), conv.hidden_cols
    else:
        # the dtype of the hidden columns' classes (bool, or int8 codes), as in a batch
        base = _base_rows(net, np.zeros((0, net.n_hidden), np.int8), conv)
        rows = np.zeros((0, conv.n_columns), bool if base is None else base.dtype)
    return {
        "rows": rows,
        "counts": np.zeros(0, np.int64),
        "t": np.zeros(0),
        "t_exact": [] if exact else None,
        "n_pieces": np.zeros(0, np.int64),
        "n_recomputed": 0,
        "columns": columns,
    }


def _splice_walks(rows, counts, tt, ex, ids, m):
    """Replace the walks of segments ``ids`` by the exact ones in ``ex``."""
    off = np.concatenate([[0], np.cumsum(counts)])
    toff = np.concatenate([[0], np.cumsum(counts - 1)])
    eoff = np.concatenate([[0], np.cumsum(ex["counts"])])
    etoff = np.concatenate([[0], np.cumsum(ex["counts"] - 1)])
    where = {int(i): r for r, i in enumerate(ids)}
    R, T = [], []
    new_counts = counts.copy()
    for i in range(m):
        if i in where:
            r = where[i]
            R.append(ex["rows"][eoff[r] : eoff[r + 1]].astype(rows.dtype))
            T.append(ex["t"][etoff[r] : etoff[r + 1]])
            new_counts[i] = ex["counts"][r]
        else:
            R.append(rows[off[i] : off[i + 1]])
            T.append(tt[toff[i] : toff[i + 1]])
    return np.concatenate(R, axis=0), new_counts, np.concatenate(T)


def graph_unit_values(net, X, *, exact=False, EX=None, safety=0.0):
    """Outputs of every unit group and the logits at points ``X`` (graph nets).

    Returns ``(outputs, output bounds, logits, logit bounds)``; the bounds are None
    unless ``safety`` (certified mode: ``EX`` bounds the error of ``X`` itself).
    """
    st = net.stages()
    if safety:
        Sx, Ex = st.start_bound(X, EX, safety=safety)
    else:
        Sx, Ex = st.start(X, exact=exact), None
    hs, ehs = [], []
    for g in range(st.n_groups):
        zw = st.z_width(g)
        u = st.units[g]
        z = Sx[:, :zw]
        h = u.apply(z)
        hs.append(h)
        if safety:
            eh = u.bound(z, Ex[:, :zw], h)
            ehs.append(eh)
            Sx, Ex = st.advance_bound(g, Sx, Ex, safety=safety, h=h, eh=eh)
        else:
            Sx = st.advance(g, Sx, exact=exact, h=h)
    return hs, (ehs if safety else None), Sx, Ex


def _values_at_graph(net, S, E, pseg, pt, conv, exact, safety):
    """:func:`_values_at` for graph nets: the points themselves go through the stages."""
    from .. import arith
    from ..tolerance import UNIT_ROUNDOFF

    if exact:
        Sq, Eq = arith.fmpq_array(S), arith.fmpq_array(E)
        tt = pt[:, None]
        X = Sq[pseg] + tt * (Eq[pseg] - Sq[pseg])
        EX = None
    else:
        tt = pt[:, None]
        a, c = S[pseg], E[pseg]
        X = a * (1.0 - tt) + c * tt
        EX = 4 * UNIT_ROUNDOFF * (np.abs(a) * (1.0 - tt) + np.abs(c) * tt) if safety else None
    hs, ehs, logits, elog = graph_unit_values(net, X, exact=exact, EX=EX, safety=safety)
    cols, errs = [], []
    if conv.kind == "threshold" and len(conv.hidden_cols):
        cols.append(np.concatenate(hs, axis=1)[:, conv.hidden_cols])
        if safety:
            errs.append(np.concatenate(ehs, axis=1)[:, conv.hidden_cols])
    if conv.output:
        cols.append(logits)
        if safety:
            errs.append(elog)
    V = np.concatenate(cols, axis=1)
    Ev = np.concatenate(errs, axis=1) if safety else None
    return V, Ev
