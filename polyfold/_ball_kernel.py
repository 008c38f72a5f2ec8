"""Certified segment crossings in ball arithmetic (private): the refinement stage.

Certified mode decides every sign in float64 against a forward error bound; the
segments it cannot decide go through :func:`ball_partition` before exact
arithmetic.  Every value is a ball (python-flint ``arb``: a midpoint at ``prec``
bits and a rigorous radius), so every operation of the layer-by-layer algorithm
(products with the weights, interpolation at the breakpoints, the breakpoint
positions ``s = A / (A - B)``) carries its own error, and a sign is decided when
the ball excludes the threshold.  At 128 bits the radii stay some 20 orders of
magnitude below float64's bounds through deep networks, so what is left undecided
is a genuine degeneracy (two neurons switching at one ``t``, a value touching a
threshold, a neuron identically at it, an endpoint on a boundary), which exact
arithmetic then resolves.  The products run in FLINT's ``arb_mat`` (C) on whole
layers of points: roughly ten times faster than the same products in exact
rationals, whose sizes grow with the depth.

:func:`ball_partition` returns the dict of :func:`polyfold._segment_kernel._partition`
(``te`` bounds ``|t - t*|`` from the balls' radii), with the undecided segments in
``ambiguous``.
"""

import contextlib

import numpy as np

from . import arith
from ._segment_kernel import _crossings, _final_codes, _insertion, _layer_codes, _scatter, _scatter_signs

#: working precision of the refinement stage (bits)
BALL_PRECISION = 128


@contextlib.contextmanager
def _precision(bits):
    ctx = arith.flint.ctx
    old = ctx.prec
    ctx.prec = bits
    try:
        yield
    finally:
        ctx.prec = old


def _ball_array(values):
    arb = arith.flint.arb
    a = np.asarray(values, dtype=np.float64)
    out = np.empty(a.size, dtype=object)
    out[:] = [arb(v) for v in a.ravel().tolist()]
    return out.reshape(a.shape)


def _matmul(H, WT, b):
    """``H @ W.T + b`` for an object array of balls ``H`` (FLINT ``arb_mat`` product)."""
    arb_mat = arith.flint.arb_mat
    n, k = H.shape
    if n == 0:
        return np.empty((0, WT.ncols()), dtype=object)
    prod = arb_mat(n, k, list(H.ravel())) * WT
    out = np.empty(n * WT.ncols(), dtype=object)
    out[:] = prod.entries()
    return out.reshape(n, WT.ncols()) + b


def _activation(act, Z):
    """An enclosure of ``act(Z)`` for balls (through ``|z|``: valid across a knot)."""
    arb = arith.flint.arb
    name = act.name
    if name == "identity":
        return Z
    A = np.abs(Z)
    if name == "relu":
        return (Z + A) * arb(0.5)
    if name == "leaky_relu":
        a = arb(float(act.slope))
        return Z * ((1 + a) * arb(0.5)) + A * ((1 - a) * arb(0.5))
    if name == "hardtanh":
        lo, hi = arb(float(act.lo)), arb(float(act.hi))
        half = arb(0.5)
        return lo + (Z - lo + np.abs(Z - lo)) * half - (Z - hi + np.abs(Z - hi)) * half
    raise NotImplementedError(name)  # pragma: no cover - the activations are fixed


def _signs(Z, q):
    """(certainly above, certainly below) the threshold ``q``."""
    D = Z - q
    return np.asarray(D > 0, bool), np.asarray(D < 0, bool)


def ball_partition(net, starts, ends, tolv=None, *, prec=BALL_PRECISION):
    """The layer-by-layer partition of segments ``starts[i] -> ends[i]`` in balls.

    Returns the dict of :func:`polyfold._segment_kernel._partition` (certified
    semantics: any sign a ball cannot decide marks its segment ``ambiguous``, whose
    other entries are then meaningless).
    """
    arb = arith.flint.arb
    m = len(starts)
    with _precision(prec):
        X = np.empty((2 * m, starts.shape[1]))
        X[0::2], X[1::2] = starts, ends
        mats = [
            (arith.flint.arb_mat(W.shape[1], W.shape[0], [arb(v) for v in W.T.ravel().tolist()]), _ball_array(b))
            for W, b in net.layers
        ]
        tabs = net._code_tables()
        Z = _matmul(_ball_array(X), *mats[0])
        seg = np.repeat(np.arange(m), 2)
        t = np.empty(2 * m, dtype=object)
        t[0::2] = arb(0)
        t[1::2] = arb(1)
        amb = np.zeros(m, bool)
        degenerate = np.zeros(m, bool)
        endpoint = np.zeros((m, 2), bool)
        layer_codes, src_maps = [], []
        for l in range(net.depth):
            if l:
                Z = _matmul(_activation(net.activations[l - 1], Z), *mats[l])
            thq = [arb(float(v)) for v in tabs[l][0]]
            sg = [_signs(Z, q) for q in thq]
            first = np.flatnonzero(np.r_[True, seg[1:] != seg[:-1]])
            last = np.flatnonzero(np.r_[seg[1:] != seg[:-1], True])
            for pos, neg in sg:
                und = ~(pos | neg)
                endpoint[:, 0] |= und[first].any(axis=1)
                endpoint[:, 1] |= und[last].any(axis=1)
                amb[seg[und.any(axis=1)]] = True
            events = _crossings(Z, sg, thq, seg)
            n_pts = len(seg)
            if events is not None:
                k, s, j, w = events
                mid = np.array([float(v.mid()) for v in s])
                order = np.lexsort((mid, k))
                k, s, j, w = k[order], s[order], j[order], w[order]
                # crossings of one piece whose balls overlap cannot be ordered (or are a tie)
                if len(k) > 1:
                    close = (k[1:] == k[:-1]) & np.array(
                        [not bool(b > a) for a, b in zip(s[:-1], s[1:])], bool)
                    amb[seg[k[1:][close]]] = True
                n_new = len(k)
                rows = np.arange(n_new)
                Za = Z[k]
                Z_new = Za + s[:, None] * (Z[k + 1] - Za)
                Z_new[rows, j] = np.array(thq, dtype=object)[w]
                t_new = t[k] + s * (t[k + 1] - t[k])
                sg_new = []
                for wi, q in enumerate(thq):
                    pos, neg = _signs(Z_new, q)
                    hit = w == wi
                    pos[rows[hit], j[hit]] = False
                    neg[rows[hit], j[hit]] = False
                    und = ~(pos | neg)
                    und[rows[hit], j[hit]] = False
                    amb[seg[k[und.any(axis=1)]]] = True
                    sg_new.append((pos, neg))
                pos_old, pos_new, src = _insertion(k, n_pts)
                seg, t, Z = (_scatter(a, b, pos_old, pos_new) for a, b in ((seg, seg[k]), (t, t_new), (Z, Z_new)))
                sg = _scatter_signs(sg, sg_new, pos_old, pos_new)
            else:
                src = np.arange(n_pts)
            src_maps.append(src)
            code, dg = _layer_codes(seg, sg)
            degenerate[seg[dg]] = True
            amb[seg[dg]] = True
            layer_codes.append(code)
        piece, codes = _final_codes(net, seg, layer_codes, src_maps)
        tf = np.array([float(v.mid()) for v in t])
        # |t - t*| <= radius + |t - mid|; the float of the midpoint is within half a
        # spacing of it (and the float of the radius within a relative 2^-52)
        rad = np.array([float(v.rad()) for v in t]) * (1.0 + 2.0**-50)
        te = rad + np.spacing(np.abs(tf)) / 2
    return {
        "seg": seg,
        "t": tf,
        "te": te,
        "piece": piece,
        "codes": codes,
        "degenerate": degenerate,
        "endpoint": endpoint,
        "ambiguous": np.flatnonzero(amb).astype(np.int64),
    }
