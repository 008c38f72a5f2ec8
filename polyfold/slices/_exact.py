"""Exact reconstruction of polygons in certified mode (private).

A polygon whose sign decisions the error bounds cannot make is rebuilt in exact
rationals from the start of the layer: its vertices are the intersections of its
(exactly known) edge lines, and the engine reruns on it in exact arithmetic.
"""

import numpy as np

from .. import arith
from ._engine import (
    _cell_index,
    _flatten,
    _next_index,
    _pair_of_code,
    _piece_tables,
    _Pool,
    _run,
    _State,
    _subset,
)


def _uv_step(net, G, g, codes, k):
    """Exact map of group ``k + 1``'s inputs in (u, v) from that of group ``k`` (graph
    nets: the state before the group) on a cell with these codes."""
    off = net.layer_offsets
    c = codes[off[k] : off[k + 1]].astype(np.int64)
    if not net.is_dense:
        stg = net.stages()
        gn = stg.advance_fixed(k, g[None], c[None], exact=True)[0]
        Dn = stg.advance_fixed(k, G.T, np.repeat(c[None], 2, axis=0), exact=True, linear=True)
        return Dn.T, gn
    slope_t, offset_t = _piece_tables(net, k, True)
    slope, offset = slope_t[c], offset_t[c]
    W, b = net.exact_layers()[k + 1]
    return W @ (G * slope[:, None]), W @ (g * slope + offset) + b


def _exact_uv_map(net, G1, g1, codes, l, cache=None):
    """Exact ``(G, g)`` of layer ``l``'s preactivations (graph nets: the state before
    group ``l``) in (u, v) for a cell's codes; ``cache`` (a dict) keeps the maps per
    code prefix, so cells sharing their earlier codes share the work."""
    if cache is None:
        cache = {}
    key = (l, np.asarray(codes)[: net.layer_offsets[l]].tobytes())
    hit = cache.get(key)
    if hit is None:
        if l == 0:
            hit = (G1, g1)
        else:
            G, g = _exact_uv_map(net, G1, g1, codes, l - 1, cache)
            hit = _uv_step(net, G, g, codes, l - 1)
        cache[key] = hit
    return hit


def _neuron_line(net, G, g, L, N, T):
    """Exact ``(a, b, c)`` of a chord's line from the exact map ``(G, g)`` of group
    ``L``'s inputs: unit ``N``'s threshold ``T``, or (``T < 0``, max units) the line
    where two of its candidates are equal."""
    if T < 0:
        units = net.group_units[L]
        pa, pb = _pair_of_code(T, units.k)
        ca, cb = int(units.cand[N, pa]), int(units.cand[N, pb])
        return G[ca, 0] - G[cb, 0], G[ca, 1] - G[cb, 1], g[ca] - g[cb]
    theta = arith.to_fmpq(net._code_tables()[L][0][T])
    return G[N, 0], G[N, 1], g[N] - theta


def _make_recompute(net, P0, chords, starts, ctx_exact, first_exact, counter):
    """Build the certified-mode fallback: rebuild cells exactly, rerun exactly.

    ``first_exact()`` returns the exact first-layer map in (u, v); it is only
    computed when some polygon needs the fallback.
    """
    P0q = arith.fmpq_array(P0)
    k0 = len(P0)
    cache = {}
    first = []

    def first_map():
        if not first:
            first.extend(first_exact())
        return first[0], first[1]

    def line_of(label, table, start_codes):
        if label < 0:  # domain edge -(k + 1)
            k = -label - 1
            a, b = P0q[k], P0q[(k + 1) % k0]
            nu, nv = -(b[1] - a[1]), b[0] - a[0]
            return nu, nv, -(nu * a[0] + nv * a[1])
        L, N, T, A = (int(v) for v in table[label >> 1])
        G, g = _exact_uv_map(net, *first_map(), start_codes[L][A], L, cache)
        return _neuron_line(net, G, g, L, N, T)

    def recompute(st_start, cells, l):
        sub = _subset(st_start, cells)
        counter[0] += len(cells)
        table = chords.table()
        start_codes = [np.concatenate(s) if s else None for s in starts]
        nxt = _next_index(sub.off)
        prev = np.empty_like(nxt)
        prev[nxt] = np.arange(len(nxt))
        lines = [line_of(int(lb), table, start_codes) for lb in sub.lab]
        P = np.empty((len(lines), 2), dtype=object)
        for i in range(len(lines)):
            a1, b1, c1 = lines[prev[i]]
            a2, b2, c2 = lines[i]
            det = a1 * b2 - a2 * b1
            if det == 0:
                raise _NeedExact()
            P[i, 0] = (-c1 * b2 + c2 * b1) / det
            P[i, 1] = (-a1 * c2 + a2 * c1) / det
        cell = _cell_index(sub.off)
        width = net.widths[l] if net.is_dense else net.stages().width(l)
        Z = np.empty((len(P), width), dtype=object)
        for ci in range(sub.n_cells):
            G, g = _exact_uv_map(net, *first_map(), sub.codes[ci], l, cache)
            rows = np.flatnonzero(cell == ci)
            Z[rows] = P[rows] @ G.T + g
        ex = _State(pool=_Pool(P, Z, None), vid=np.arange(len(P), dtype=np.int64), lab=sub.lab,
                    off=sub.off, codes=sub.codes, anc=sub.anc,
                    amb=np.zeros(sub.n_cells, bool), deg=sub.deg)
        final, _ = _run(net, ex, l, chords, starts, ctx_exact)
        return _flatten(final, to_float=True)

    return recompute


class _NeedExact(Exception):
    """Internal: the certified reconstruction met parallel consecutive edges."""
