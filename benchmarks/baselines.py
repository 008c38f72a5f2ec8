"""Baselines and yardsticks the benchmarks compare polyfold with.

Each is the fastest version of its method we could write in plain numpy:

* :func:`numpy_loop_crossings` -- the layer-by-layer crossing algorithm as a plain
  batched numpy loop (float, ReLU-type thresholds at 0): the first layer at the two
  ends of every segment, every later layer evaluated at the current breakpoints (one
  matrix product per layer over all points), new breakpoints by linear
  interpolation, signs carried as bools and the patterns packed once at the end.
* :func:`blas_yardstick` -- only the multiply-adds any layer-by-layer method needs:
  the first layer at both ends, each later layer at the ends of the pieces found so
  far, as one preallocated batched matmul per layer (nothing else).
* :func:`grid_codes` -- an ``n``-point grid per segment: the first layer at the two
  ends only (it is affine in ``t``), the rest one batched forward pass, patterns packed
  once into 64-bit words, runs of equal words counted per segment.
"""

import resource
import time

import numpy as np


def peak_rss_mib():
    """Peak resident memory of this process in MiB: VmHWM (Linux; unlike ru_maxrss it
    does not carry over the parent's peak across fork and exec), else ru_maxrss."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _relu_net(net):
    for a in net.activations:
        if tuple(a.thresholds) != (0.0,):
            raise ValueError("the numpy baseline handles one threshold at 0 (ReLU, leaky ReLU)")
    return net.layers, net.activations


def numpy_loop_crossings(net, S, E):
    """Float crossings by a plain batched numpy loop.

    Returns ``(n_pieces (m,), packed (total_pieces, ceil(n_hidden / 8)) uint8)``: the
    pieces of every segment and their patterns (bits ``z > 0``), in order.
    """
    layers, acts = _relu_net(net)
    m = len(S)
    W, b = layers[0]
    Z = np.empty((2 * m, W.shape[0]))
    Z[0::2] = S @ W.T + b
    Z[1::2] = E @ W.T + b
    seg = np.repeat(np.arange(m), 2)
    t = np.tile([0.0, 1.0], m)
    bits = np.zeros((2 * m, 0), bool)  # bits of the earlier layers, on the piece right of each point
    for l in range(len(acts)):
        if l:
            W, b = layers[l]
            Z = acts[l - 1].apply(Z) @ W.T + b
        pos = Z > 0
        same = seg[1:] == seg[:-1]
        k, j = np.nonzero((pos[1:] != pos[:-1]) & same[:, None])
        if len(k):
            s = Z[k, j] / (Z[k, j] - Z[k + 1, j])
            order = np.lexsort((s, k))
            k, j, s = k[order], j[order], s[order]
            Zk = Z[k]
            Zn = Zk + s[:, None] * (Z[k + 1] - Zk)
            Zn[np.arange(len(k)), j] = 0.0
            at = np.arange(len(k)) + k + 1  # new rows' positions in the merged order
            keep = np.ones(len(seg) + len(k), bool)
            keep[at] = False
            Z2 = np.empty((len(keep), Z.shape[1]))
            Z2[keep], Z2[at] = Z, Zn
            t2 = np.empty(len(keep))
            t2[keep], t2[at] = t, t[k] + s * (t[k + 1] - t[k])
            b2 = np.empty((len(keep), bits.shape[1]), bool)
            b2[keep], b2[at] = bits, bits[k]
            seg2 = np.empty(len(keep), seg.dtype)
            seg2[keep], seg2[at] = seg, seg[k]
            Z, t, bits, seg = Z2, t2, b2, seg2
        # the layer's bits on each piece: sign at its midpoint (affine on the piece)
        mid = np.zeros(Z.shape, bool)
        mid[:-1] = (Z[:-1] + Z[1:]) > 0
        bits = np.concatenate([bits, mid], axis=1)
    piece = np.flatnonzero(seg[1:] == seg[:-1])
    return np.bincount(seg[piece], minlength=m), np.packbits(bits[piece], axis=1)


def layer_point_counts(res):
    """Points at which each hidden layer is evaluated by any layer-by-layer method.

    From a crossings result: layer 0 at the ``2 m`` ends, layer ``l`` at the ends plus
    the breakpoints created by layers ``< l`` (a breakpoint is created by the lowest
    layer of a unit switching there).
    """
    net = res.net
    off = np.asarray(net.layer_offsets)
    codes = res.codes
    po = res.piece_offsets
    changed = codes[1:] != codes[:-1]
    inner = np.ones(len(codes) - 1, bool) if len(codes) > 1 else np.zeros(0, bool)
    inner[po[1:-1] - 1] = False  # pairs straddling two segments
    first = np.argmax(changed[inner], axis=1)
    layer = np.searchsorted(off, first, side="right") - 1
    created = np.bincount(layer, minlength=net.depth)
    return [2 * res.n_segments + int(created[:l].sum()) for l in range(net.depth)]


def blas_yardstick(net, S, E, counts, repeats=1):
    """Seconds for the unavoidable multiply-adds (best of ``repeats``).

    The first layer at the ``2 m`` ends, then for every later layer (and the
    output layer is not needed) one matmul of ``counts[l]`` points, into preallocated
    buffers.
    """
    layers = net.layers
    W0, b0 = layers[0]
    Hs = [np.random.default_rng(0).random((c, layers[l][0].shape[1])) for l, c in enumerate(counts) if l]
    outs = [np.empty((c, layers[l][0].shape[0])) for l, c in enumerate(counts) if l]
    Z0a = np.empty((len(S), W0.shape[0]))
    Z0b = np.empty((len(E), W0.shape[0]))
    WT = [np.ascontiguousarray(W.T) for W, _ in layers]
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.matmul(S, WT[0], out=Z0a)
        np.matmul(E, WT[0], out=Z0b)
        for i, (H, out) in enumerate(zip(Hs, outs)):
            np.matmul(H, WT[i + 1], out=out)
        best = min(best, time.perf_counter() - t0)
    return best


def grid_codes(net, S, E, n_points, *, chunk=None):
    """Packed patterns at ``n_points`` equally spaced points of every segment.

    Returns ``(words (m, n_points, n_words) uint64)`` in the layout of
    ``SegmentCrossings.codes_packed`` for ReLU nets (bit ``u`` of the little-endian
    stream is unit ``u``); the first layer is evaluated at the two ends only and
    interpolated (it is affine in ``t``).  ``chunk`` segments
    at a time bound the memory (default: about 64 MiB of preactivations).
    """
    layers, acts = net.layers, net.activations
    m = len(S)
    W0, b0 = layers[0]
    tg = np.linspace(0.0, 1.0, n_points)
    n_words = -(-net.n_hidden // 64)
    out = np.empty((m, n_points, n_words), np.uint64)
    if chunk is None:
        chunk = max(1, (8 << 20) // (n_points * max(net.widths)))
    ZA = S @ W0.T + b0
    ZB = E @ W0.T + b0
    for a in range(0, m, chunk):
        za, zb = ZA[a : a + chunk], ZB[a : a + chunk]
        z = za[:, None, :] + tg[None, :, None] * (zb - za)[:, None, :]
        bits = [z > 0]
        for l in range(1, len(acts)):
            W, b = layers[l]
            z = acts[l - 1].apply(z) @ W.T + b
            bits.append(z > 0)
        packed = np.packbits(np.concatenate(bits, axis=2), axis=2, bitorder="little")
        pad = n_words * 8 - packed.shape[2]
        if pad:
            packed = np.concatenate([packed, np.zeros(packed.shape[:2] + (pad,), np.uint8)], axis=2)
        out[a : a + chunk] = np.ascontiguousarray(packed).view(np.uint64)
    return out


def grid_region_counts(words):
    """Runs of equal patterns along each grid (``(m,)`` regions seen)."""
    change = np.any(words[:, 1:] != words[:, :-1], axis=2)
    return 1 + change.sum(axis=1)


def grid_folding_chi(net, S, E, n_points=11):
    """Folding measure ``chi = 1 - r1 / r2`` of the ``n_points``-grid walk of every path.

    The fastest form of the published sampler: the first layer at the two ends of
    every path (affine in ``t``), the later layers one batched forward pass, the
    hidden bits packed once into 64-bit words, and ``r1`` (largest Hamming distance
    from the first sample) and ``r2`` (sum of the step distances) from popcounts of
    word XORs (repeated consecutive patterns add 0 to both, so they need no removal).
    Returns ``(r1, r2)`` int64 arrays.
    """
    words = grid_codes(net, S, E, n_points)
    pc = np.bitwise_count if hasattr(np, "bitwise_count") else None
    d0 = pc(words ^ words[:, :1]).sum(axis=2)
    steps = pc(words[:, 1:] ^ words[:, :-1]).sum(axis=2)
    return d0.max(axis=1).astype(np.int64), steps.sum(axis=1).astype(np.int64)


def grid_missed(res, words):
    """(m,) exact pieces of ``res`` (ReLU net) whose pattern no grid sample of the
    segment shows (``words`` from :func:`grid_codes` on the same segments)."""
    m, n, nw = words.shape
    if nw != 1 or res.codes_packed.shape[1] != 1:
        raise ValueError("grid_missed handles nets of at most 64 units")
    pair = np.dtype([("s", np.int64), ("w", np.uint64)])
    g = np.empty(m * n, pair)
    g["s"] = np.repeat(np.arange(m), n)
    g["w"] = words[:, :, 0].ravel()
    e = np.empty(int(res.n_pieces.sum()), pair)
    e["s"] = np.repeat(np.arange(m), res.n_pieces)
    e["w"] = res.codes_packed[:, 0]
    seen = np.isin(e, np.unique(g))
    return np.bincount(e["s"][~seen], minlength=m)
