"""Exact segment crossings: the sequence of linear regions a segment crosses.

The engine works layer by layer.  Along a segment ``x(t) = (1 - t) a + t b``,
``t in [0, 1]``, the first layer's preactivations are affine in ``t``.  Once the
segment is split at every threshold crossing of layers ``1..l``, the
preactivations of layer ``l + 1`` are affine on every piece, so their crossings
are found from the values at the piece ends alone.  Because the network is
continuous, only the values at the breakpoints are ever needed: a piece's
interior values are the linear interpolation of its ends.

All segments of a batch are processed together as one flat, sorted array of
points (shapely's flat-arrays-plus-offsets idiom).  Three arithmetic modes share
the one algorithm:

``"float"``
    float64; signs within a relative band (:class:`~polyfold.Tolerance` ``zero``)
    count as zero and breakpoints closer than ``merge`` are one.  Fast, no guarantee.
``"certified"``
    float64 with a forward rounding-error bound carried for every value.  Every sign
    decision is checked against its bound; a segment with any decision the bound
    cannot make (a value within its error bound of a threshold at a point where that
    neuron does not cross: ties, zeros without sign change, endpoints on a boundary,
    nearly coincident breakpoints) is recomputed in exact arithmetic.  The result
    says how many were.
``"exact"``
    python-flint rationals throughout; breakpoints are exact fractions.

Semantics (all modes)
---------------------
* A neuron is active iff ``z > 0`` (more generally, its code counts the thresholds
  strictly below ``z``).
* Several neurons switching at the same ``t`` form ONE breakpoint listing all of them.
* A preactivation that touches a threshold without crossing it is not a crossing.
* A neuron identically at a threshold along a piece takes the code of ``z == theta``
  (inactive for ReLU) and the segment is flagged in ``degenerate``.
* Breakpoints are interior, ``0 < t < 1``.  The first (last) piece's codes are
  those just after the start (before the end): when an endpoint lies on a
  boundary, its own pattern can differ, and ``endpoint_on_boundary`` says so.
"""

from dataclasses import dataclass, field

import numpy as np

from .network import check_net as _check_net
from . import arith
from ._validation import check_mode, net_points, net_segments
from .exceptions import ShapeError
from .network import PLNet, bits_from_codes, pack_patterns, pieces_from_codes
from .tolerance import UNIT_ROUNDOFF, get_tol

__all__ = [
    "segment_crossings",
    "segment_crossings_between",
    "first_layer_cache",
    "FirstLayerCache",
    "SegmentCrossings",
]


# ---------------------------------------------------------------------------
# result
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SegmentCrossings:
    """The exact partition of a batch of segments into linear pieces.

    Flat arrays hold all segments one after the other; ``piece_offsets`` and
    ``breakpoint_offsets`` (length ``n_segments + 1``) say where each segment's rows
    start.  Use the per-segment methods for convenience and the flat arrays for bulk
    work.

    Attributes
    ----------
    net : PLNet
    mode : str
    n_segments : int
    n_pieces : (m,) int64
    piece_offsets : (m + 1,) int64
    codes : (total_pieces, n_hidden) int8
        Code of every hidden neuron on every piece (number of thresholds strictly
        below ``z``; for ReLU the bit ``z > 0``).  Consecutive pieces of a segment
        always differ.
    breakpoint_offsets : (m + 1,) int64
    t : (total_breakpoints,) float64
        Interior breakpoints, non-decreasing within each segment (nearest float of
        the exact value in exact mode and for segments recomputed exactly).
    t_exact : tuple of Fraction or None
        Exact breakpoints (exact mode only).
    t_error : (total_breakpoints,) float64
        Upper bound on ``|t - t*|``, the distance of each reported breakpoint from the
        exact one, aligned with ``t``.  Exact mode and segments recomputed exactly:
        half the float spacing at ``t`` (``t`` is the correctly rounded ``t*``).
        Certified mode: a rigorous forward bound carried with every breakpoint
        through the layers (see Notes).  Float mode: NaN (no bound exists; float
        breakpoints can even be missing or spurious).
    exact_segments : (m,) bool
        Segments whose answer was computed in exact arithmetic (all in exact mode, the
        recomputed ones in certified mode).
    degenerate : (m,) bool
        Some neuron is identically at a threshold along some piece.
    endpoint_on_boundary : (m, 2) bool
        The start / end point lies on a boundary (some neuron at a threshold).

    Notes
    -----
    What certified mode guarantees: ``n_pieces``, ``codes``, the order of the
    breakpoints and the flags equal those of exact mode.  The breakpoints ``t`` are
    floats computed by interpolation, not the nearest floats of the exact ones: the
    float position of a crossing inherits the rounding errors of the values at its
    piece ends, which can be large next to their difference (weights near ``2**25``
    that cancel).  ``|t - t*| <= t_error`` holds for every breakpoint, ``t*`` the exact
    one.  A breakpoint is recomputed exactly (``exact_segments``) whenever some sign
    at it cannot be decided within the bounds, which is also the case for two
    neurons switching within each other's uncertainty.
    """

    net: PLNet = field(repr=False)
    mode: str
    n_segments: int
    n_pieces: np.ndarray
    piece_offsets: np.ndarray
    codes: np.ndarray = field(repr=False)
    breakpoint_offsets: np.ndarray = field(repr=False)
    t: np.ndarray = field(repr=False)
    t_exact: tuple = field(default=None, repr=False)
    t_error: np.ndarray = field(default=None, repr=False)
    exact_segments: np.ndarray = field(default=None, repr=False)
    degenerate: np.ndarray = field(default=None, repr=False)
    endpoint_on_boundary: np.ndarray = field(default=None, repr=False)

    # -- bulk views -------------------------------------------------------------
    @property
    def n_recomputed(self):
        """Number of segments recomputed exactly (certified mode)."""
        return int(np.count_nonzero(self.exact_segments)) if self.mode == "certified" else 0

    @property
    def n_breakpoints(self):
        """(m,) number of interior breakpoints of each segment."""
        return self.n_pieces - 1

    @property
    def segment_index(self):
        """(total_pieces,) segment of every piece (the ``return_index`` idiom)."""
        return np.repeat(np.arange(self.n_segments), self.n_pieces)

    @property
    def breakpoint_segment_index(self):
        """(total_breakpoints,) segment of every breakpoint."""
        return np.repeat(np.arange(self.n_segments), self.n_pieces - 1)

    @property
    def patterns(self):
        """(total_pieces, n_hidden) bool: the bit ``z > 0`` of every neuron on every piece."""
        return bits_from_codes(self.net, self.codes)

    @property
    def packed_patterns(self):
        """(total_pieces, ceil(n_hidden / 8)) uint8 packed patterns."""
        return pack_patterns(self.patterns)

    @property
    def pieces(self):
        """(total_pieces, n_hidden) int8 linear-piece index of every neuron."""
        return pieces_from_codes(self.net, self.codes)

    # -- per segment --------------------------------------------------------------
    def _check(self, i):
        if not (-self.n_segments <= i < self.n_segments):
            raise IndexError(f"segment index {i} out of range for {self.n_segments} segments")
        return i % self.n_segments

    def breakpoints(self, i):
        """Interior breakpoints of segment ``i`` (floats; Fractions in exact mode)."""
        i = self._check(i)
        a, b = self.breakpoint_offsets[i], self.breakpoint_offsets[i + 1]
        if self.t_exact is not None:
            return list(self.t_exact[a:b])
        return self.t[a:b].copy()

    def piece_bounds(self, i):
        """(k_i, 2) float ``[t_start, t_end]`` of each piece of segment ``i``."""
        i = self._check(i)
        a, b = self.breakpoint_offsets[i], self.breakpoint_offsets[i + 1]
        ts = np.concatenate([[0.0], self.t[a:b], [1.0]])
        return np.stack([ts[:-1], ts[1:]], axis=1)

    def piece_codes(self, i):
        """(k_i, n_hidden) int8 codes of the pieces of segment ``i`` in order."""
        i = self._check(i)
        return self.codes[self.piece_offsets[i] : self.piece_offsets[i + 1]]

    def piece_patterns(self, i):
        """(k_i, n_hidden) bool patterns (``z > 0``) of the pieces of segment ``i``."""
        return bits_from_codes(self.net, self.piece_codes(i))

    def piece_pieces(self, i):
        """(k_i, n_hidden) int8 linear-piece indices of the pieces of segment ``i``."""
        return pieces_from_codes(self.net, self.piece_codes(i))

    def switches(self, i):
        """For each breakpoint of segment ``i``, the ``(layer, neuron)`` pairs switching there."""
        c = self.piece_codes(i)
        changed = c[1:] != c[:-1]
        return [[self.net.unit_of(int(u)) for u in np.nonzero(row)[0]] for row in changed]

    def piece_affine(self, i):
        """Affine maps ``logits = V x + u`` on the pieces of segment ``i``.

        Returns ``V (k_i, output_dim, input_dim)`` and ``u (k_i, output_dim)``.
        """
        return self.net.affine_map(codes=self.piece_codes(i))

    def __len__(self):
        return self.n_segments


# ---------------------------------------------------------------------------
# kernel
# ---------------------------------------------------------------------------
def _gamma(n):
    nu = n * UNIT_ROUNDOFF
    return nu / (1.0 - nu)


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


def first_layer_values(net, points, *, exact=False, safety=0.0):
    """First-layer preactivations of ``points`` (and their error bounds).

    The input dimension enters the crossing engine only here, so for sweeps over
    paths between a fixed set of data points these values are computed once per
    point (see :func:`segment_crossings_between`).

    Returns ``(Z0, E0)``: ``(n, width_0)`` values (object ``fmpq`` arrays when
    ``exact``) and float error bounds (``None`` unless ``safety > 0``).  For graph
    networks these are the states before the first unit group
    (:meth:`polyfold.graph.Stages.start`).
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
    W, b = net.layers[0]
    Z0 = points @ W.T + b
    E0 = None
    if safety:
        g = _gamma(W.shape[1] + 2)
        E0 = (g * np.abs(points) @ np.abs(W).T + g * np.abs(b)) * safety
    return Z0, E0


def _interleave(a, b):
    out = np.empty((2 * len(a),) + a.shape[1:], dtype=a.dtype)
    out[0::2] = a
    out[1::2] = b
    return out


def breakpoint_bounds(Za, Zb, Ea, Eb, j, theta, s, ta, tb, tea, teb, thmax, safety):
    """Certified error bounds at new breakpoints (values of every neuron, and ``t``).

    Row ``r`` is a crossing of neuron ``j[r]`` through threshold ``theta[r]`` inside
    the piece whose ends have float values ``Za[r], Zb[r]`` (error bounds ``Ea[r],
    Eb[r]`` against the exact values at the exact ends), float parameters ``ta[r] <
    tb[r]`` (error bounds ``tea[r], teb[r]``), at the float position ``s[r] = A / (A -
    B)``, ``A = Za[r, j] - theta``, ``B = Zb[r, j] - theta``.

    Returns ``(E_new, te_new)``: bounds on ``|z_new - z*|`` for every neuron, where
    ``z_new = Za + s (Zb - Za)`` is the interpolated float value and ``z*`` the exact
    value at the exact crossing ``s*`` (0 for the crossing neuron itself, whose value
    is set to ``theta``), and on ``|t_new - t*|`` for ``t_new = ta + s (tb - ta)``.

    Notes
    -----
    The signs of ``A`` and ``B`` are certified and opposite, so with ``x = |A|``,
    ``y = |B|`` and ``e_a, e_b`` their error bounds (plus the rounding of the
    subtraction of ``theta``), ``|s* - x / (x + y)| <= ((1 - s) e_a + s e_b) /
    (x + y - e_a - e_b) =: delta_0``; the float division adds at most ``3 u s``.
    With ``delta`` the sum (inflated for the rounding of its own computation):

    * ``|z_new - z*| <= (1 - s) Ea + s Eb + delta (|Zb - Za| + Ea + Eb)`` plus the
      rounding of the interpolation, ``4 u safety (|Za| + |Zb| + max|theta|)``;
    * ``|t_new - t*| <= (1 - s) tea + s teb + delta (tb - ta + tea + teb)`` plus
      ``4 u safety tb``.

    A value of an unaffected neuron is then certified at the exact crossing, so
    two neurons switching within the uncertainty of each other are never ordered
    by chance: their signs at each other's breakpoints stay undecided and the
    segment goes to exact arithmetic.  ``den <= 0`` (a sign barely decided) gives
    infinite bounds, which decide nothing.
    """
    u = UNIT_ROUNDOFF
    grow = 1.0 + 16 * u  # covers the rounding of the bound computations below
    rows = np.arange(len(j))
    A = Za[rows, j] - theta
    B = Zb[rows, j] - theta
    x, y = np.abs(A), np.abs(B)
    ea = Ea[rows, j] + u * x
    eb = Eb[rows, j] + u * y
    den = (x + y) - (ea + eb)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = np.where(
            den > 0, ((1.0 - s) * ea + s * eb + 4 * u * (ea + eb)) / den * grow, np.inf
        ) + (4 * u * safety) * s
    sc = s[:, None]
    dZ = np.abs(Zb - Za)
    with np.errstate(invalid="ignore"):
        E_new = ((1.0 - sc) * Ea + sc * Eb + delta[:, None] * (dZ + Ea + Eb)) * grow + (
            4 * u * safety
        ) * (np.abs(Za) + np.abs(Zb) + thmax)
        te_new = ((1.0 - s) * tea + s * teb + delta * ((tb - ta) + tea + teb)) * grow + (
            4 * u * safety
        ) * tb
    E_new[rows, j] = 0.0
    return E_new, te_new


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
    te = np.zeros(2 * m) if certified else None  # bounds on |t - t*| (the ends are exact)
    tabs = net._code_tables()
    Eh = None
    Z = None
    ambiguous = []
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
            E = ((fresh * np.abs(H) + (lip * (1 + 4 * g)) * Eh) @ absW.T + fresh * np.abs(b))
        if certified:
            bands = [E] * len(thresholds)
        elif exact:
            bands = [None] * len(thresholds)
        else:
            bands = [tolv.zero * np.abs(Z).max(axis=0)] * len(thresholds)
        if exact:
            thq = [arith.to_fmpq(v) for v in thresholds]
        else:
            thq = list(thresholds)
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
        same = seg[1:] == seg[:-1]
        ks, ss, js, ws = [], [], [], []
        for w, (q, (pos, neg)) in enumerate(zip(thq, sg)):
            kk, jj = np.nonzero((pos[:-1] & neg[1:]) | (neg[:-1] & pos[1:]))
            inside = same[kk]
            kk, jj = kk[inside], jj[inside]
            if len(kk):
                A = Z[kk, jj] - q
                B = Z[kk + 1, jj] - q
                ks.append(kk)
                ss.append(A / (A - B))
                js.append(jj)
                ws.append(np.full(len(kk), w))
        n_pts = len(seg)
        if ks:
            k = np.concatenate(ks)
            s = np.concatenate(ss)
            j = np.concatenate(js)
            w = np.concatenate(ws)
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
                E_new, te_new = breakpoint_bounds(
                    Za, Z[k + 1], E[k], E[k + 1], j, th_new, s, t[k], t[k + 1], te[k], te[k + 1],
                    np.max(np.abs(thresholds)), tolv.safety,
                )
                bands_new = [E_new] * len(thq)
            else:
                bands_new = bands
            sg_new = []
            for wi, (q, bd) in enumerate(zip(thq, bands_new)):
                pos, neg = _signs(Z_new - q, bd, exact)
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
            pos_old = np.arange(n_pts) + np.searchsorted(k, np.arange(n_pts), side="left")
            pos_new = k + 1 + rows
            src = _scatter(np.arange(n_pts), k, pos_old, pos_new)
            seg = _scatter(seg, seg[k], pos_old, pos_new)
            t = _scatter(t, t_new, pos_old, pos_new)
            Z = _scatter(Z, Z_new, pos_old, pos_new)
            sg = [
                (_scatter(p0, p1, pos_old, pos_new), _scatter(n0, n1, pos_old, pos_new))
                for (p0, n0), (p1, n1) in zip(sg, sg_new)
            ]
            if certified:
                E = _scatter(E, E_new, pos_old, pos_new)
                te = _scatter(te, te_new, pos_old, pos_new)
            if not certified:
                seg, t, Z, sg, src = _merge_close(seg, t, Z, sg, src, exact, tolv)
        else:
            src = np.arange(n_pts)
        src_maps.append(src)

        # codes of layer l on each piece (left point p, right point p + 1)
        # (no sign changes strictly inside a piece any more, so a piece is above a
        # threshold iff one of its ends is)
        code = np.zeros((len(seg), Z.shape[1]), np.int8)
        same = seg[1:] == seg[:-1]
        for pos, neg in sg:
            code[:-1] += pos[:-1] | pos[1:]
            zero = ~(pos | neg)
            dg = np.zeros(len(seg), bool)
            dg[:-1] = (zero[:-1] & zero[1:]).any(axis=1) & same
            if dg.any():
                degenerate[seg[dg]] = True
                if certified:
                    ambiguous.append(np.unique(seg[dg]))
        layer_codes.append(code)
        Eh = E

    # final pieces and the codes of every layer on them
    same = seg[1:] == seg[:-1]
    piece = np.flatnonzero(same)
    codes = np.empty((len(piece), net.n_hidden), np.int8)
    off = net.layer_offsets
    idx = piece
    for l in range(net.depth - 1, -1, -1):
        codes[:, off[l] : off[l + 1]] = layer_codes[l][idx]
        idx = src_maps[l][idx]
    amb = np.unique(np.concatenate(ambiguous)) if ambiguous else np.zeros(0, np.int64)
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


def _merge_close(seg, t, Z, sg, src, exact, tolv):
    """Merge consecutive points of one segment at equal ``t`` (within ``merge`` in float)."""
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
    return seg[starts], t[starts], Z[starts], sg2, src[starts]


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


def _assemble(net, raw, m, mode, exact):
    seg, t, piece, codes = raw["seg"], raw["t"], raw["piece"], raw["codes"]
    n_pieces = np.bincount(seg[piece], minlength=m).astype(np.int64) if m else np.zeros(0, np.int64)
    piece_offsets = np.concatenate([[0], np.cumsum(n_pieces)]).astype(np.int64)
    interior = np.ones(len(seg), bool)
    if len(seg):
        interior[0] = interior[-1] = False
        interior[1:] &= seg[1:] == seg[:-1]
        interior[:-1] &= seg[1:] == seg[:-1]
    tb = t[interior]
    bp_offsets = np.concatenate([[0], np.cumsum(n_pieces - 1)]).astype(np.int64)
    t_exact = None
    if exact:
        t_exact, tf = arith.exact_and_float(tb)
        t_error = rounding_error_bound(tf)
    else:
        tf = np.asarray(tb, dtype=np.float64)
        if mode == "certified":
            t_error = raw["te"][interior]
        else:
            t_error = np.full(len(tf), np.nan)
    return {
        "n_pieces": n_pieces,
        "piece_offsets": piece_offsets,
        "codes": codes,
        "breakpoint_offsets": bp_offsets,
        "t": tf,
        "t_error": t_error,
        "t_exact": t_exact,
        "degenerate": raw["degenerate"],
        "endpoint": raw["endpoint"],
    }


def rounding_error_bound(t):
    """Half the spacing of the floats ``t``: bounds ``|t - t*|`` when ``t`` is ``t*`` rounded."""
    return np.spacing(np.abs(np.asarray(t, dtype=np.float64))) / 2


def _splice(base, repl, ids, m):
    """Replace the segments ``ids`` of ``base`` by those of ``repl`` (same order)."""
    is_repl = np.zeros(m, bool)
    is_repl[ids] = True
    where = np.full(m, -1)
    where[ids] = np.arange(len(ids))

    # per-segment slices in order (a Python loop over segments: cheap next to the
    # exact recomputation that precedes every call)
    def rows(off_b, off_r):
        idx_src = []
        for i in range(m):
            if is_repl[i]:
                r = where[i]
                idx_src.append((1, off_r[r], off_r[r + 1]))
            else:
                idx_src.append((0, off_b[i], off_b[i + 1]))
        return idx_src

    def take(arr_b, arr_r, spec):
        chunks = [(arr_r if src else arr_b)[a:b] for src, a, b in spec]
        if not chunks:
            return arr_b[:0]
        return np.concatenate(chunks, axis=0)

    pspec = rows(base["piece_offsets"], repl["piece_offsets"])
    bspec = rows(base["breakpoint_offsets"], repl["breakpoint_offsets"])
    n_pieces = base["n_pieces"].copy()
    n_pieces[ids] = repl["n_pieces"]
    out = {
        "n_pieces": n_pieces,
        "piece_offsets": np.concatenate([[0], np.cumsum(n_pieces)]).astype(np.int64),
        "codes": take(base["codes"], repl["codes"], pspec),
        "breakpoint_offsets": np.concatenate([[0], np.cumsum(n_pieces - 1)]).astype(np.int64),
        "t": take(base["t"], repl["t"], bspec),
        "t_error": take(base["t_error"], repl["t_error"], bspec),
        "t_exact": None,
        "degenerate": base["degenerate"].copy(),
        "endpoint": base["endpoint"].copy(),
    }
    out["degenerate"][ids] = repl["degenerate"]
    out["endpoint"][ids] = repl["endpoint"]
    return out


def _run_exact(net, starts, ends, tolv):
    Z0, _ = first_layer_values(net, _interleave(starts, ends), exact=True)
    raw = _exact_kernel(net)(net, Z0, None, True, tolv, False)
    return _assemble(net, raw, len(starts), "exact", True)


def _result(net, mode, parts, exact_flags):
    res = _concat_parts(parts)
    return SegmentCrossings(
        net=net,
        mode=mode,
        n_segments=len(exact_flags),
        n_pieces=res["n_pieces"],
        piece_offsets=res["piece_offsets"],
        codes=res["codes"],
        breakpoint_offsets=res["breakpoint_offsets"],
        t=res["t"],
        t_error=res["t_error"],
        t_exact=res["t_exact"],
        exact_segments=exact_flags,
        degenerate=res["degenerate"],
        endpoint_on_boundary=res["endpoint"],
    )


def available_backends():
    """Crossing kernels usable here: ``("c", "numpy")``, or ``("numpy",)`` without the build.

    ``"c"`` is the optional compiled kernel ``polyfold._ckernel`` (built by
    ``pip install .`` when a C compiler is present); ``backend="auto"`` uses it when
    available.

    Examples
    --------
    >>> import polyfold
    >>> "numpy" in polyfold.crossings.available_backends()
    True
    """
    from . import _fast

    return _fast.available_backends()


def _check_backend(backend):
    """Validate ``backend`` ("auto", "numpy" or "c"); "c" must be built."""
    from . import _fast
    from .exceptions import ValidationError

    if backend not in ("auto", "numpy", "c"):
        raise ValidationError(
            f"backend must be 'auto', 'numpy' or 'c', got {backend!r}; use backend='auto' "
            "(the compiled kernel when built, else numpy)."
        )
    if backend == "c":
        _fast.require()
    return backend


def _exact_kernel(net):
    """The exact kernel: the layer-by-layer one for dense nets, the stage one for graphs."""
    if net.is_dense:
        return _partition
    from .graph.crossings import graph_partition

    return graph_partition


def _kernel(net, backend):
    """The float/certified kernel function for ``backend`` (validated)."""
    from . import _fast

    if not net.is_dense:
        if backend == "c":
            from .exceptions import ValidationError

            raise ValidationError(
                "backend='c' (the compiled kernel) supports dense PLNet stacks only; graph "
                "networks use the stage kernel: pass backend='auto' or 'numpy'."
            )
        from .graph.crossings import graph_partition

        return graph_partition
    if backend != "numpy" and _fast.available() and _fast.applicable(net):
        return _fast.partition
    if backend == "c":
        from .exceptions import ValidationError

        raise ValidationError(
            "backend='c' supports ReLU, LeakyReLU, HardTanh and Identity activations only; "
            "use backend='auto' or 'numpy' for this net."
        )
    return _partition


def _crossings_chunk(net, mode, tolv, Z0, E0, points_of, backend="auto"):
    """One chunk in float or certified mode (ambiguous segments recomputed exactly).

    ``Z0``/``E0`` are the interleaved first-layer values of the chunk's ends;
    ``points_of(ids)`` returns ``(starts, ends)`` of chunk-local segments ``ids``;
    ``backend`` picks the kernel (see :func:`available_backends`).
    Returns ``(part, exact_flags)``.
    """
    m = len(Z0) // 2
    flags = np.zeros(m, bool)
    certified = mode == "certified"
    raw = _kernel(net, backend)(net, Z0, E0, False, tolv, certified)
    if not certified and not raw.get("silent_dropped", False):  # the C kernel drops them
        raw = _drop_silent_breakpoints(raw)
    part = _assemble(net, raw, m, mode, False)
    if certified and len(raw["ambiguous"]):
        ids = np.asarray(raw["ambiguous"], dtype=np.int64)
        S, E = points_of(ids)
        part = _splice(part, _run_exact(net, S, E, tolv), ids, m)
        flags[ids] = True
    return part, flags


def segment_crossings(net, starts, ends, *, mode="certified", tol=None, chunk_size=4096,
                      backend="auto"):
    """Partition segments into the linear pieces of ``net`` they cross.

    Parameters
    ----------
    net : PLNet
    starts, ends : (m, input_dim) or (input_dim,) float
        Segment ``i`` is ``x(t) = (1 - t) starts[i] + t ends[i]``, ``t`` in [0, 1].
    mode : {"certified", "float", "exact"}
        Arithmetic (see the module notes).  ``"certified"`` gives exact answers at
        close to float speed.
    tol : Tolerance, optional
        Float-mode tolerances (certified mode uses only ``tol.safety``).
    chunk_size : int
        Segments processed together (memory grows linearly with it).
    backend : {"auto", "numpy", "c"}
        Float/certified kernel: the optional compiled one (``"c"``), the numpy one,
        or the compiled one when built (``"auto"``).  Exact mode ignores it.

    Returns
    -------
    SegmentCrossings

    Raises
    ------
    ShapeError
        ``starts``/``ends`` of the wrong shape, or an empty batch.
    NonFiniteError
        NaN or infinity in the points.
    ValidationError
        Unknown ``mode`` or ``backend``, ``net`` not a PLNet.
    DependencyError
        ``backend="c"`` but the compiled kernel is not built.

    Notes
    -----
    Cost: one product with the first layer per segment end (the input dimension is
    used only there), then ``O(P * n_l)`` work per layer for the ``P`` points found so
    far.  A segment of length zero has one piece.  Certified mode bounds the rounding
    error of every value with the standard a-priori bound for dot products
    (``gamma_n = n u / (1 - n u)``, propagated through the layers and the
    interpolations, including the uncertainty of every breakpoint's position)
    times ``tol.safety``; any sign it cannot decide sends the segment to exact
    arithmetic.  The pieces and codes are then exact, and ``res.t_error`` bounds the
    distance of each float breakpoint from the exact one (see
    :class:`SegmentCrossings`).

    Examples
    --------
    >>> import polyfold
    >>> net = polyfold.zoo.sawtooth(2)
    >>> res = polyfold.segment_crossings(net, [0.0], [1.0], mode="exact")
    >>> res.breakpoints(0)
    [Fraction(1, 4), Fraction(1, 2), Fraction(3, 4)]
    >>> res.switches(0)[1]
    [(0, 1)]
    """
    from ._validation import check_positive_int

    _check_net(net)
    check_mode(mode)
    tolv = get_tol(tol)
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    _check_backend(backend)
    S, E, _ = net_segments(net, starts, ends)
    chunk_size = _chunk_for(net, chunk_size, mode)
    m = len(S)
    if m == 0:
        raise ShapeError(
            "starts and ends hold no segments (shape (0, d)); pass at least one segment."
        )
    safety = tolv.safety if mode == "certified" else 0.0
    parts, flags = [], []
    for a in range(0, m, chunk_size):
        b = min(a + chunk_size, m)
        if mode == "exact":
            part, fl = _crossings_chunk_exact(net, tolv, S[a:b], E[a:b])
        else:
            # first layer at starts and ends separately, then interleave the (much
            # narrower) results
            Zs, Es = first_layer_values(net, S[a:b], safety=safety)
            Ze, Ee = first_layer_values(net, E[a:b], safety=safety)
            Z0 = _interleave(Zs, Ze)
            E0 = None if Es is None else _interleave(Es, Ee)
            part, fl = _crossings_chunk(
                net, mode, tolv, Z0, E0, lambda ids, a=a: (S[a + ids], E[a + ids]), backend
            )
        parts.append(part)
        flags.append(fl)
    return _result(net, mode, parts, np.concatenate(flags))


def _crossings_chunk_exact(net, tolv, S, E):
    return _run_exact(net, S, E, tolv), np.ones(len(S), bool)


def segment_crossings_between(net, points, i_start, i_end, *, mode="certified", tol=None,
                              chunk_size=4096, cache=None, backend="auto"):
    """Crossings of the segments ``points[i_start[k]] -> points[i_end[k]]``.

    Same result as ``segment_crossings(net, points[i_start], points[i_end])``, but
    the first layer (the only place where the input dimension costs anything) is
    evaluated once per point of ``points``, however many segments touch it.  Use it
    for sweeps over many paths between a fixed data set.

    Parameters
    ----------
    net : PLNet
    points : (n, input_dim) float
    i_start, i_end : (m,) int
        Indices into ``points``.
    cache : FirstLayerCache, optional
        From :func:`first_layer_cache` for the same ``net``, ``points`` and ``mode``;
        computed here when omitted.
    backend : {"auto", "numpy", "c"}
        Kernel, as in :func:`segment_crossings`.

    Returns
    -------
    SegmentCrossings
    """
    from ._validation import check_positive_int

    _check_net(net)
    check_mode(mode)
    tolv = get_tol(tol)
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    _check_backend(backend)
    if cache is None:
        cache = first_layer_cache(net, points, mode=mode, tol=tolv)
    else:
        _check_cache(cache, net, mode)
    X = cache.points
    i_start = _check_indices(i_start, len(X), "i_start")
    i_end = _check_indices(i_end, len(X), "i_end")
    if i_start.shape != i_end.shape:
        raise ShapeError(
            f"i_start and i_end must have the same length, got {len(i_start)} and {len(i_end)}."
        )
    m = len(i_start)
    if m == 0:
        raise ShapeError("i_start and i_end are empty; pass at least one segment.")
    chunk_size = _chunk_for(net, chunk_size, mode)
    parts, flags = [], []
    for a in range(0, m, chunk_size):
        b = min(a + chunk_size, m)
        s_idx, e_idx = i_start[a:b], i_end[a:b]
        if mode == "exact":
            part, fl = _crossings_chunk_exact(net, tolv, X[s_idx], X[e_idx])
        else:
            Z0 = _interleave(cache.Z0[s_idx], cache.Z0[e_idx])
            E0 = None if cache.E0 is None else _interleave(cache.E0[s_idx], cache.E0[e_idx])
            part, fl = _crossings_chunk(
                net, mode, tolv, Z0, E0,
                lambda ids, s_idx=s_idx, e_idx=e_idx: (X[s_idx[ids]], X[e_idx[ids]]),
                backend,
            )
        parts.append(part)
        flags.append(fl)
    return _result(net, mode, parts, np.concatenate(flags))


@dataclass(frozen=True)
class FirstLayerCache:
    """First-layer preactivations (and certified error bounds) of a fixed point set."""

    points: np.ndarray = field(repr=False)
    Z0: np.ndarray = field(repr=False)
    E0: np.ndarray = field(default=None, repr=False)
    mode: str = "certified"


def first_layer_cache(net, points, *, mode="certified", tol=None):
    """Precompute the first layer at ``points`` for :func:`segment_crossings_between`."""
    _check_net(net)
    check_mode(mode)
    tolv = get_tol(tol)
    X, _ = net_points(net, points)
    if mode == "exact":
        return FirstLayerCache(points=X, Z0=None, E0=None, mode=mode)
    Z0, E0 = first_layer_values(net, X, safety=tolv.safety if mode == "certified" else 0.0)
    return FirstLayerCache(points=X, Z0=Z0, E0=E0, mode=mode)


def _check_cache(cache, net, mode):
    """A :class:`FirstLayerCache` usable for ``net`` in ``mode`` (else ValidationError)."""
    from .exceptions import ValidationError

    if not isinstance(cache, FirstLayerCache):
        raise ValidationError(
            f"cache must be a FirstLayerCache from first_layer_cache(net, points, mode=...), "
            f"got {type(cache).__name__}; pass cache=None to compute it here."
        )
    if mode == "certified" and cache.E0 is None:
        raise ValidationError(
            f"cache was computed with mode={cache.mode!r} and holds no error bounds, but "
            "mode='certified' needs them; build it with first_layer_cache(net, points, "
            "mode='certified') (which also serves mode='float'), or pass cache=None."
        )
    if mode != "exact" and cache.Z0 is None:
        raise ValidationError(
            f"cache was computed with mode={cache.mode!r} and holds no float values, but "
            f"mode={mode!r} needs them; build it with first_layer_cache(net, points, "
            f"mode={mode!r}), or pass cache=None."
        )
    width = net.layers[0][0].shape[0]
    if cache.points.shape[1] != net.input_dim or (
        cache.Z0 is not None and cache.Z0.shape[1] != width
    ):
        raise ValidationError(
            f"cache does not belong to this net: its points have {cache.points.shape[1]} "
            f"coordinates and its first layer {None if cache.Z0 is None else cache.Z0.shape[1]} "
            f"values, the net has input_dim={net.input_dim} and a first layer of width "
            f"{width}; build the cache with first_layer_cache(net, points)."
        )


#: bytes of state values a chunk of segments of a graph network may hold (float
#: mode; certified holds twice as much, exact rationals about 12x per value)
_GRAPH_CHUNK_BYTES = 256 * 2**20
#: points per segment assumed when sizing chunks of graph networks
_GRAPH_POINTS_PER_SEGMENT = 32


def _chunk_for(net, chunk_size, mode):
    """Chunk size: as given for dense nets; for graph networks small enough that the
    states of a chunk (points x widest state) stay within ``_GRAPH_CHUNK_BYTES``."""
    if net.is_dense:
        return chunk_size
    st = net.stages()
    width = max([st.width(g) for g in range(st.n_groups + 1)] + [net.input_dim])
    per_value = {"float": 8, "certified": 16, "exact": 96}[mode]
    fit = _GRAPH_CHUNK_BYTES // (width * per_value * _GRAPH_POINTS_PER_SEGMENT)
    return int(max(1, min(chunk_size, fit)))


def _check_indices(idx, n, name):
    from .exceptions import ValidationError

    arr = np.asarray(idx)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ValidationError(f"{name} must be a 1-D integer array, got {arr.dtype} of shape {arr.shape}.")
    if len(arr) and (arr.min() < -n or arr.max() >= n):
        raise ValidationError(f"{name} holds indices outside [0, {n}); check it against points.")
    return arr.astype(np.int64) % max(n, 1)


def _concat_parts(parts):
    if len(parts) == 1:
        return parts[0]
    n_pieces = np.concatenate([p["n_pieces"] for p in parts])
    t_exact = None
    if parts[0]["t_exact"] is not None:
        t_exact = tuple(v for p in parts for v in p["t_exact"])
    return {
        "n_pieces": n_pieces,
        "piece_offsets": np.concatenate([[0], np.cumsum(n_pieces)]).astype(np.int64),
        "codes": np.concatenate([p["codes"] for p in parts], axis=0),
        "breakpoint_offsets": np.concatenate([[0], np.cumsum(n_pieces - 1)]).astype(np.int64),
        "t": np.concatenate([p["t"] for p in parts]),
        "t_error": np.concatenate([p["t_error"] for p in parts]),
        "t_exact": t_exact,
        "degenerate": np.concatenate([p["degenerate"] for p in parts]),
        "endpoint": np.concatenate([p["endpoint"] for p in parts], axis=0),
    }
