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
from functools import cached_property

import contextlib

import numpy as np

from .network import check_net as _check_net
from . import arith
from ._ball_kernel import ball_partition
from ._packing import code_layout, pack_codes, unpack_codes
from ._segment_kernel import (  # noqa: F401  (first_layer_values, _interleave: used by callers)
    _drop_silent_breakpoints,
    _interleave,
    _partition,
    breakpoint_bounds,
    first_layer_values,
)
from ._validation import check_mode, net_points, net_segments
from .exceptions import ShapeError
from .network import PLNet, bits_from_codes, pack_patterns, pieces_from_codes
from .tolerance import get_tol

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
class _PerSegment:
    """Per-segment access of results with ``n_segments``, ``t`` and ``t_exact``."""

    def _check(self, i):
        from ._validation import check_item_index

        return check_item_index(i, self.n_segments, "i", "segment")

    def _ts(self, i, offsets):
        """The parameters ``offsets[i]:offsets[i + 1]`` of segment ``i`` (exact when known)."""
        i = self._check(i)
        a, b = offsets[i], offsets[i + 1]
        if self.t_exact is not None:
            return list(self.t_exact[a:b])
        return self.t[a:b].copy()


@dataclass(frozen=True)
class SegmentCrossings(_PerSegment):
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
        always differ.  Unpacked from ``codes_packed`` on first access and kept;
        ``piece_codes(i)`` unpacks one segment's rows only.
    codes_packed : (total_pieces, n_words) uint64
        The storage of the codes: every unit's code in ``ceil(log2(code_sizes[u]))``
        bits (one for ReLU), the units' fields one after the other in a little-endian
        bit stream (``numpy.unpackbits(..., bitorder="little")`` of the rows viewed as
        bytes), every row padded to whole 64-bit words.  For nets whose units all have
        two codes, row ``r``'s bit ``u`` is ``codes[r, u]``, so rows compare, hash and
        give Hamming distances (``np.bitwise_count(a ^ b)``) directly.
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
    refined_segments : (m,) bool
        Certified mode: segments whose first float64 bounds could not decide every sign
        and that a later pass decided without exact arithmetic (the stage engine's
        piece-local float64 bounds, or ball arithmetic at 128 bits; see Notes).  The
        rest of the recomputed segments are in ``exact_segments``.
    degenerate : (m,) bool
        Some neuron is identically at a threshold along some piece.
    endpoint_on_boundary : (m, 2) bool
        The start / end point lies on a boundary: some neuron at a threshold there, or
        some max unit whose largest inputs tie there without tying along the adjacent
        piece (a tie that holds along the piece, such as a max over equal or
        zero-padded inputs, changes no code along the segment).  On a zero-length
        segment the adjacent piece is the point itself, so max-unit ties are not
        flagged there, while a neuron at a threshold is.

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
    codes_packed: np.ndarray = field(repr=False)
    breakpoint_offsets: np.ndarray = field(repr=False)
    t: np.ndarray = field(repr=False)
    t_exact: tuple = field(default=None, repr=False)
    bounds: np.ndarray = field(default=None, repr=False)  # t_error (None in float mode)
    exact_segments: np.ndarray = field(default=None, repr=False)
    degenerate: np.ndarray = field(default=None, repr=False)
    endpoint_on_boundary: np.ndarray = field(default=None, repr=False)
    refined_segments: np.ndarray = field(default=None, repr=False)

    @cached_property
    def codes(self):
        """(total_pieces, n_hidden) int8 codes (unpacked from ``codes_packed``, then kept)."""
        return unpack_codes(self.codes_packed, code_layout(self.net))

    @property
    def t_error(self):
        """(total_breakpoints,) float64 bound on ``|t - t*|`` (NaN in float mode)."""
        if self.bounds is None:
            return np.full(len(self.t), np.nan)
        return self.bounds

    # -- bulk views -------------------------------------------------------------
    def __repr__(self):
        from ._repr import summary_repr

        return summary_repr(self)

    @property
    def n_recomputed(self):
        """Number of segments certified mode recomputed beyond its first float64 pass:
        decided by a later float64 or ball pass (``n_refined``) or with exact work
        (``exact_segments``)."""
        if self.mode != "certified":
            return 0
        refined = self.refined_segments if self.refined_segments is not None else False
        return int(np.count_nonzero(self.exact_segments | refined))

    @property
    def n_refined(self):
        """Number of recomputed segments certified mode decided without exact arithmetic."""
        if self.refined_segments is None:
            return 0
        return int(np.count_nonzero(self.refined_segments))

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
    def breakpoints(self, i):
        """Interior breakpoints of segment ``i`` (floats; Fractions in exact mode)."""
        return self._ts(i, self.breakpoint_offsets)

    def piece_bounds(self, i):
        """(k_i, 2) float ``[t_start, t_end]`` of each piece of segment ``i``."""
        i = self._check(i)
        a, b = self.breakpoint_offsets[i], self.breakpoint_offsets[i + 1]
        ts = np.concatenate([[0.0], self.t[a:b], [1.0]])
        return np.stack([ts[:-1], ts[1:]], axis=1)

    def piece_codes(self, i):
        """(k_i, n_hidden) int8 codes of the pieces of segment ``i`` in order."""
        i = self._check(i)
        a, b = self.piece_offsets[i], self.piece_offsets[i + 1]
        if "codes" in self.__dict__:
            return self.codes[a:b]
        return unpack_codes(self.codes_packed[a:b], code_layout(self.net))

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

    def to_pandas(self):
        """One row per piece (needs pandas).

        Columns: ``segment``, ``piece`` (0-based within its segment), ``t_start``,
        ``t_end`` (floats; ``t_start_exact``, ``t_end_exact`` as Fractions too in exact
        mode), ``length`` (``t_end - t_start``, the share of the segment), ``n_switches``
        (units whose code changes at ``t_start``; 0 on a first piece), ``n_active``
        (units with ``z > 0`` on the piece), ``exact`` (the segment was computed in
        exact arithmetic) and ``degenerate`` (the segment's flag).

        Raises
        ------
        DependencyError
            pandas is not installed.

        Examples
        --------
        >>> import polyfold
        >>> res = polyfold.segment_crossings(polyfold.zoo.sawtooth(2), [0.0], [1.0])
        >>> res.to_pandas()[["piece", "t_start", "t_end", "n_switches"]].values.tolist()
        [[0.0, 0.0, 0.25, 0.0], [1.0, 0.25, 0.5, 1.0], [2.0, 0.5, 0.75, 1.0], [3.0, 0.75, 1.0, 1.0]]
        """
        from ._tables import segment_crossings_columns, to_dataframe

        return to_dataframe(segment_crossings_columns(self), "SegmentCrossings")


# ---------------------------------------------------------------------------
# assembling results
# ---------------------------------------------------------------------------
def rounding_error_bound(t):
    """Half the spacing of the floats ``t``: bounds ``|t - t*|`` when ``t`` is ``t*`` rounded."""
    return np.spacing(np.abs(np.asarray(t, dtype=np.float64))) / 2


def _flags_of(degenerate, endpoint):
    """Per-segment flag bytes (1 degenerate, 2 start / 4 end on a boundary)."""
    return (
        np.asarray(degenerate, np.uint8) | (np.asarray(endpoint[:, 0], np.uint8) << 1)
        | (np.asarray(endpoint[:, 1], np.uint8) << 2)
    ).astype(np.uint8)


def _part(net, raw, m, mode, layout):
    """A kernel's raw dict as one appendable part: per-segment pieces and flags, the
    interior breakpoints (and their bounds), packed codes and exact breakpoints."""
    seg, t, piece = raw["seg"], raw["t"], raw["piece"]
    n_pieces = np.bincount(seg[piece], minlength=m).astype(np.int64) if m else np.zeros(0, np.int64)
    interior = np.ones(len(seg), bool)
    if len(seg):
        interior[0] = interior[-1] = False
        interior[1:] &= seg[1:] == seg[:-1]
        interior[:-1] &= seg[1:] == seg[:-1]
    tb = t[interior]
    t_exact = None
    if mode == "exact":
        t_exact, tf = arith.exact_and_float(tb)
        te = rounding_error_bound(tf)
    else:
        tf = np.asarray(tb, dtype=np.float64)
        te = raw["te"][interior] if mode == "certified" else np.zeros(0)
    return {
        "n_pieces": n_pieces,
        "flags": _flags_of(raw["degenerate"], raw["endpoint"]),
        "t": tf,
        "te": te,
        "codes": pack_codes(raw["codes"], layout),
        "t_exact": t_exact,
    }


class _NumpyBuilder:
    """The results of one call, chunk by chunk, without the compiled kernel (the parts
    are concatenated once at the end)."""

    def __init__(self, code_words, with_te):
        self.code_words = code_words
        self.with_te = with_te
        self.parts = []

    def append(self, n_pieces, flags, t, te, codes):
        self.parts.append([n_pieces, flags, t, te if self.with_te else np.zeros(0), codes])

    def splice(self, ids, n_pieces, flags, t, te, codes):
        # the replaced segments are in the last part (chunk-local after the offset)
        last = self.parts[-1]
        off = sum(len(p[0]) for p in self.parts[:-1])
        npc = last[0].copy()
        local = np.asarray(ids) - off
        is_r = np.zeros(len(npc), bool)
        is_r[local] = True
        where = np.full(len(npc), -1)
        where[local] = np.arange(len(local))
        po = np.concatenate([[0], np.cumsum(npc)])
        ro = np.concatenate([[0], np.cumsum(n_pieces)])
        T, TE, C = [], [], []
        for i in range(len(npc)):
            if is_r[i]:
                r = where[i]
                C.append(codes[ro[r] : ro[r + 1]])
                T.append(t[ro[r] - r : ro[r + 1] - r - 1])
                TE.append(te[ro[r] - r : ro[r + 1] - r - 1] if self.with_te else te[:0])
            else:
                C.append(last[4][po[i] : po[i + 1]])
                T.append(last[2][po[i] - i : po[i + 1] - i - 1])
                TE.append(last[3][po[i] - i : po[i + 1] - i - 1] if self.with_te else last[3][:0])
        npc[local] = n_pieces
        fl = last[1].copy()
        fl[local] = flags
        self.parts[-1] = [npc, fl, np.concatenate(T), np.concatenate(TE), np.concatenate(C, axis=0)]

    def finish(self):
        cols = list(zip(*self.parts)) if self.parts else [[np.zeros(0, np.int64)], [np.zeros(0, np.uint8)],
                                                          [np.zeros(0)], [np.zeros(0)],
                                                          [np.zeros((0, self.code_words), np.uint64)]]
        out = [np.concatenate(c, axis=0) for c in cols]
        self.parts = []
        return out


def _new_builder(code_words, certified):
    from . import _fast

    if _fast.available():
        return _fast.new_builder(code_words, certified)
    return _NumpyBuilder(code_words, certified)


def _finish(builder, code_words):
    from . import _fast

    if isinstance(builder, _NumpyBuilder):
        npieces, flags, t, te, codes = builder.finish()
    else:
        npieces, flags, t, te, codes = _fast.finish(builder, None)
    return npieces, flags, t, te, np.asarray(codes, np.uint64).reshape(-1, code_words)


def _append(builder, part):
    builder.append(part["n_pieces"], part["flags"], part["t"], part["te"], part["codes"])


def _run_exact(net, starts, ends, tolv, layout):
    Z0, _ = first_layer_values(net, _interleave(starts, ends), exact=True)
    raw = _exact_kernel(net)(net, Z0, None, True, tolv, False)
    return _part(net, raw, len(starts), "exact", layout)


def _result(net, mode, builder, layout, exact_flags, t_exact, refined=None):
    npieces, flags, t, te, codes = _finish(builder, layout.n_words)
    return SegmentCrossings(
        net=net,
        mode=mode,
        n_segments=len(exact_flags),
        n_pieces=npieces,
        piece_offsets=np.concatenate([[0], np.cumsum(npieces)]).astype(np.int64),
        codes_packed=codes,
        breakpoint_offsets=np.concatenate([[0], np.cumsum(npieces - 1)]).astype(np.int64),
        t=t,
        t_exact=t_exact,
        bounds=te if mode != "float" else None,
        exact_segments=exact_flags,
        refined_segments=np.zeros(len(exact_flags), bool) if refined is None else refined,
        degenerate=(flags & 1) != 0,
        endpoint_on_boundary=np.stack([(flags & 2) != 0, (flags & 4) != 0], axis=1),
    )


def _check_progress(progress):
    """Validate ``progress`` (True, False or None) where no bar is made."""
    from ._progress import progress_enabled

    progress_enabled(progress, auto=False)


def _empty_result(net, mode):
    """The result of a batch of no segments: every array of length 0, offsets ``[0]``."""
    layout = code_layout(net)
    builder = _NumpyBuilder(layout.n_words, mode != "float")
    return _result(net, mode, builder, layout, np.zeros(0, bool), () if mode == "exact" else None)


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


def _run_crossings(net, mode, tolv, m, chunk_size, backend, threads, first_layer, points_of, progress=None):
    """The crossings of ``m`` segments, ``chunk_size`` at a time, into one result.

    ``first_layer(a, b, pool)`` gives ``(ZA, ZB, ia, ib, EA, EB)``: first-layer values (and
    certified bounds) whose rows ``ia`` / ``ib`` (None: row ``i - a``) are the starts
    and ends of segments ``a..b-1`` (``pool``: None, or an executor it may use for one
    of its products); ``points_of(ids)`` gives the points ``(starts,
    ends)`` of segments ``ids`` for exact recomputation.  The results of all chunks
    go into one builder (no concatenation of chunk results); certified segments the
    bounds cannot decide are recomputed exactly and spliced in.
    """
    from . import _fast

    layout = code_layout(net)
    certified = mode == "certified"
    builder = _new_builder(layout.n_words, certified or mode == "exact")
    exact_flags = np.zeros(m, bool)
    refined = np.zeros(m, bool)
    t_exact = [] if mode == "exact" else None
    kernel = None if mode == "exact" else _kernel(net, backend)
    compiled = kernel is _fast.partition
    blas = contextlib.nullcontext()
    pool = None
    if compiled:
        kn = _fast.prepare(net, tolv, certified)
        threads = _fast.default_threads() if threads is None else threads
        if _fast.threads_for(net, min(m, chunk_size), threads) > 1:
            # BLAS on one thread (see single_blas); the first-layer products of a chunk
            # then run on two threads of their own
            blas = _fast.single_blas()
            pool = _first_layer_pool()
    if pool is None and threads == 1:
        # one thread asked for: BLAS too, whatever the kernel (graph nets' convolutions
        # and the numpy kernel's products included); its workers would otherwise keep
        # spinning after each product, on the cores of whatever runs next
        blas = _fast.single_blas()
    tiny_params = mode != "exact" and _net_has_tiny_parameters(net)
    if tiny_params and not certified:
        _warn_tiny_float()
    tiny_net = certified and tiny_params
    zero_ok = not net.is_dense or tolv.safety == 0
    with blas, (pool if pool is not None else contextlib.nullcontext()):
        tiny_seen = {}
        for a, b in _chunks(m, chunk_size, mode, progress):
            if mode == "exact":
                S, E = points_of(np.arange(a, b))
                part = _run_exact(net, S, E, tolv, layout)
                _append(builder, part)
                t_exact.extend(part["t_exact"])
                exact_flags[a:b] = True
                continue
            ZA, ZB, ia, ib, EA, EB = first_layer(a, b, pool)
            # (tiny values under ordinary bounds are merely undecided, and so are zeros
            # under bounds that may have underflowed; nonzero values under them are not)
            if certified and (tiny_net or _tiny_chunk(net, tiny_seen, ZA, ZB, EA, EB, zero_ok,
                                                      lambda a=a, b=b: points_of(np.arange(a, b)))):
                # magnitudes where float64 bounds cannot vouch for underflow: exact
                S, E = points_of(np.arange(a, b))
                _append(builder, _run_exact(net, S, E, tolv, layout))
                exact_flags[a:b] = True
                continue
            # values that may overflow float64 in the kernels: those segments exactly
            big = _overflow_segments(net, ZA, ZB, ia, ib)
            if len(big) == b - a:
                S, E = points_of(np.arange(a, b))
                _append(builder, _run_exact(net, S, E, tolv, layout))
                exact_flags[a:b] = True
                continue
            if len(big):
                # the kernel runs them as copies of a segment that does not overflow
                k0 = np.setdiff1d(np.arange(b - a), big)[0]
                ia, ib = (np.arange(b - a) if i is None else np.array(i) for i in (ia, ib))
                ia[big], ib[big] = ia[k0], ib[k0]
            if compiled:
                _, amb, tiny = _fast.partition_into(builder, kn, ZA, ZB, ia, ib, EA, EB,
                                              threads=_fast.threads_for(net, b - a, threads))
            else:
                pick = (lambda Z, i: Z if i is None else Z[i])
                Z0 = _interleave(pick(ZA, ia), pick(ZB, ib))
                E0 = _interleave(pick(EA, ia), pick(EB, ib)) if certified else None
                raw = kernel(net, Z0, E0, False, tolv, certified)
                if not certified:
                    raw = _drop_silent_breakpoints(raw)
                if certified and not net.is_dense:
                    # graph nets: only the undecided t-intervals are recomputed exactly
                    from .graph.crossings import repair_certified

                    raw, repaired = repair_certified(net, raw, lambda ids, a=a: points_of(a + np.asarray(ids)), tolv)
                    exact_flags[a + np.asarray(repaired, np.int64)] = True
                _append(builder, _part(net, raw, b - a, mode, layout))
                amb = np.asarray(raw["ambiguous"], np.int64)
                tiny = np.asarray(raw.get("tiny", ()), np.int64)
                # graph nets: values that grew to overflow in a later stage
                big = np.union1d(big, np.asarray(raw.get("overflow", ()), np.int64))
            if len(big):
                ids = a + big
                S, E = points_of(ids)
                ex = _run_exact(net, S, E, tolv, layout)
                builder.splice(ids, ex["n_pieces"], ex["flags"], ex["t"], ex["te"], ex["codes"])
                exact_flags[ids] = True
                amb = np.setdiff1d(np.asarray(amb, np.int64), big)
            if certified and len(amb):
                # magnitudes near the subnormal range (the kernels' "tiny" segments):
                # no float64 pass can vouch for them, straight to exact arithmetic
                amb = np.asarray(amb, np.int64)
                near = np.isin(amb, tiny)
                ids = a + amb[~near]
                S, E = points_of(ids)
                if net.is_dense and len(ids):
                    # the stage engine's local bounds first (exact work on undecided
                    # t-intervals only), then balls, then exact for what they leave
                    ids, S, E = _refine_by_stages(net, ids, S, E, tolv, layout, builder, exact_flags, refined)
                if net.is_dense and len(ids):
                    ball = ball_partition(net, S, E, tolv)
                    left = np.zeros(len(ids), bool)
                    left[ball["ambiguous"]] = True
                    if not left.all():
                        part = _part(net, ball, len(ids), mode, layout)
                        keep = np.flatnonzero(~left)
                        _splice_subset(builder, ids, keep, part)
                        refined[ids[keep]] = True
                    ids, S, E = ids[left], S[left], E[left]
                if near.any():
                    ids = np.sort(np.concatenate([ids, a + amb[near]]))
                    S, E = points_of(ids)
                if len(ids):
                    ex = _run_exact(net, S, E, tolv, layout)
                    builder.splice(ids, ex["n_pieces"], ex["flags"], ex["t"], ex["te"], ex["codes"])
                    exact_flags[ids] = True
    return _result(net, mode, builder, layout, exact_flags, None if t_exact is None else tuple(t_exact),
                   refined)


#: nonzero magnitudes below this in the weights and biases, or in the error bounds of
#: the first layer's values, make certified mode compute exactly: its float64 error
#: bounds are relative and do not cover underflow into the subnormal range (below about
#: 2.2e-308), which products of such numbers can reach
TINY_MAGNITUDE = 2.0**-500


def _tiny(a):
    a = np.asarray(a, dtype=np.float64)
    low = np.abs(a) < TINY_MAGNITUDE
    return bool(low.any() and np.any(a[low] != 0))


def _tiny_bound(z, e, zero_ok):
    """Some nonzero value of ``z`` has a bound in ``e`` below :data:`TINY_MAGNITUDE`
    (a bound that may have underflowed; a zero value under such a bound is never
    decided, so it is safe).  ``zero_ok``: a bound of exactly 0 is legitimate (a
    graph net's inputs passed on unchanged, or ``tol.safety = 0``); otherwise a
    nonzero value with bound 0 is a bound that underflowed."""
    low = e < TINY_MAGNITUDE
    if not low.any():
        return False
    hit = z[low] != 0
    if zero_ok:
        hit &= e[low] > 0
    return bool(np.any(hit))


def _tiny_cached(seen, role, z, e, zero_ok):
    # (the first-layer cache of segment_crossings_between is the same array in every
    # chunk: checked once; only the last array of each role is kept)
    last = seen.get(role)
    if last is None or last[0] is not e:
        last = seen[role] = (e, _tiny_bound(z, e, zero_ok))
    return last[1]


def _tiny_chunk(net, seen, ZA, ZB, EA, EB, zero_ok, points):
    """Certified mode cannot vouch for this chunk's float64 bounds (underflow)."""
    if _tiny_cached(seen, "a", ZA, EA, zero_ok) or _tiny_cached(seen, "b", ZB, EB, zero_ok):
        return True
    # graph nets: their first values can be the inputs themselves (exact, bound 0), so
    # tiny inputs are checked directly (their kernel costs far more than this pass)
    return not net.is_dense and any(_tiny(p) for p in points())


def _warn_tiny_float():
    import warnings

    from .exceptions import PolyfoldWarning

    warnings.warn(PolyfoldWarning(
        "net has nonzero weights or biases below 2**-500: float mode's comparisons are "
        "not reliable where values and products fall into the subnormal range (below "
        "2**-1022); mode='certified' computes such a net in exact arithmetic."), stacklevel=4)


def _net_has_tiny_parameters(net):
    """Some nonzero weight or bias of ``net`` is below :data:`TINY_MAGNITUDE` (cached
    on the net)."""
    if net.is_dense:
        hit = net._numeric.get("tiny")
        if hit is None:
            hit = net._numeric["tiny"] = any(_tiny(W) or _tiny(b) for W, b in net.layers)
        return hit
    hit = net._cache.get("tiny")
    if hit is None:
        from .graph.model import _node_desc

        hit = any(_tiny(v) for nd in net.nodes[1:] for v in _node_desc(nd)[1].values()
                  if np.asarray(v).dtype.kind == "f")
        net._cache["tiny"] = hit
    return hit


#: values of this magnitude and above may overflow float64 in the kernels' sums,
#: products and interpolations (``2**1024`` overflows)
OVERFLOW_MAGNITUDE = 2.0**1000


def _growth(net):
    """``(c, d)`` per hidden layer after the first of a dense net: a value of magnitude
    at most ``M`` before layer ``l``'s activation gives values of magnitude at most
    ``c_l M + d_l`` after layer ``l``'s product (cached on the net)."""
    hit = net._numeric.get("growth")
    if hit is None:
        from .network import LeakyReLU

        hit = []
        for l in range(1, net.depth):
            W, b = net.layers[l]
            act = net.activations[l - 1]
            # (|f(z)| <= |z| for ReLU and hard tanh, whose window holds 0)
            lip = max(1.0, abs(act.slope)) if isinstance(act, LeakyReLU) else 1.0
            hit.append((lip * float(np.abs(W).sum(axis=1).max()), float(np.abs(b).max(initial=0.0))))
        net._numeric["growth"] = hit
    return hit


def _overflow_segments(net, ZA, ZB, ia, ib):
    """Chunk-local ids of the segments whose values in the float kernels may reach
    :data:`OVERFLOW_MAGNITUDE` (or are not finite already): from the first layer's
    values and the growth of every later layer (:func:`_growth`)."""
    def largest(Z, rows):  # (only the chunk's rows: a cache holds every point's)
        Z = Z if rows is None else Z[rows]
        return np.abs(Z).max(axis=1) if Z.shape[1] else np.zeros(len(Z))

    with np.errstate(over="ignore", invalid="ignore"):
        M = np.maximum(largest(ZA, ia), largest(ZB, ib))
        if net.is_dense:
            top = M.max(initial=0.0)
            for c, d in _growth(net):
                top = c * top + d  # the chunk's largest first (cheap; almost always small)
            if top < OVERFLOW_MAGNITUDE:
                return np.zeros(0, np.int64)
            for c, d in _growth(net):
                M = c * M + d
    return np.flatnonzero(~(M < OVERFLOW_MAGNITUDE))


def _first_layer_pool():
    """One worker thread for the second first-layer product of each chunk (numpy
    releases the GIL in its products)."""
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="polyfold-first-layer")


def _refine_by_stages(net, ids, S, E, tolv, layout, builder, exact_flags, refined):
    """Second certified pass over the segments ``ids`` (``S -> E``) the compiled kernel
    left undecided: the stage engine (:mod:`polyfold.graph.crossings`).

    Its bounds are local to a piece: a new breakpoint's values are bounded from the
    values at the piece's two ends and the uncertainty of its position within the
    piece, and the switching neuron is exactly at its threshold there.  The compiled
    kernel bounds every value from global slope bounds along the segment, which grow
    faster with depth, so the stage engine decides most of what the kernel cannot
    (all 12 undecided segments of 20 on a net whose first layer cancels weights near
    ``2**25``, in the tests).  What it leaves
    undecided is recomputed exactly on short sub-segments around the undecided
    ``t``-intervals only (:func:`polyfold.graph.crossings.repair_certified`).

    Splices the decided segments into ``builder`` (marking ``refined``, or
    ``exact_flags`` where exact sub-segments were needed) and returns the
    ``(ids, S, E)`` it could not splice.  Nets whose stages do not exist are
    returned unchanged.
    """
    from .exceptions import UnsupportedLayerError
    from .graph.crossings import graph_partition, repair_certified

    try:
        st = net.stages()
    except UnsupportedLayerError:
        return ids, S, E
    from . import _fast

    with _fast.single_blas():  # small products: BLAS threads only add latency
        Z0, E0 = st.start_bound(_interleave(S, E), safety=tolv.safety)
        raw = graph_partition(net, Z0, E0, False, tolv, True)
        raw, repaired = repair_certified(net, raw, lambda q: (S[q], E[q]), tolv)
    left = np.zeros(len(ids), bool)
    left[np.asarray(raw["ambiguous"], np.int64)] = True
    left[raw["overflow"]] = True
    if not left.all():
        keep = np.flatnonzero(~left)
        _splice_subset(builder, ids, keep, _part(net, raw, len(ids), "certified", layout))
        exact_work = np.zeros(len(ids), bool)
        exact_work[np.asarray(repaired, np.int64)] = True
        exact_flags[ids[keep[exact_work[keep]]]] = True
        refined[ids[keep[~exact_work[keep]]]] = True
    return ids[left], S[left], E[left]


def _splice_subset(builder, ids, keep, part):
    """Splice the segments ``keep`` (positions in ``ids``) of a part computed for ``ids``."""
    po = np.concatenate([[0], np.cumsum(part["n_pieces"])])
    bo = po - np.arange(len(po))
    rows = np.concatenate([np.arange(po[k], po[k + 1]) for k in keep])
    bps = np.concatenate([np.arange(bo[k], bo[k + 1]) for k in keep])
    te = part["te"][bps] if len(part["te"]) else part["te"]
    builder.splice(ids[keep], part["n_pieces"][keep], part["flags"][keep], part["t"][bps], te,
                   part["codes"][rows])


def _check_threads(threads):
    from ._validation import check_positive_int

    return None if threads is None else check_positive_int(threads, "threads")


def segment_crossings(net, starts, ends, *, mode="certified", tol=None, chunk_size=4096,
                      backend="auto", threads=None, progress=None):
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
        Segments processed together (memory grows linearly with it).  Float
        breakpoints can differ in their last bits between chunk sizes (BLAS orders a
        product's sums by the call's shape); certified pieces and codes do not.
    backend : {"auto", "numpy", "c"}
        Float/certified kernel: the optional compiled one (``"c"``), the numpy one,
        or the compiled one when built (``"auto"``).  Exact mode ignores it.
    threads : int, optional
        Threads of the compiled kernel (default: the cores this process may use, or
        the ``POLYFOLD_THREADS`` environment variable; chunks of fewer than 256
        segments per thread use fewer).  ``threads=1`` runs every matrix product of
        the call on one BLAS thread too, for every kernel (graph nets and
        ``backend="numpy"`` included): one core.  The result does not depend on it.
    progress : bool or None
        tqdm bar over the segments on standard error.  ``None`` (default): only for a
        big batch (:data:`PROGRESS_SEGMENTS` segments, or :data:`PROGRESS_SEGMENTS_EXACT`
        in exact mode) when standard error is a terminal.

    Returns
    -------
    SegmentCrossings

    Raises
    ------
    ShapeError
        ``starts``/``ends`` of the wrong shape (``(0, d)`` is an empty batch and gives
        an empty result, offsets ``[0]``; ``(0,)`` is one point of no coordinates).
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
    # dense nets, float and certified: the first layer's product checks for NaN and
    # infinity chunk by chunk (no separate pass over the points; see first_layer_values)
    fused = net.is_dense and mode != "exact"
    S, E, _ = net_segments(net, starts, ends, finite=not fused)
    chunk_size = _chunk_for(net, chunk_size, mode)
    m = len(S)
    threads = _check_threads(threads)
    if m == 0:
        _check_progress(progress)
        return _empty_result(net, mode)
    safety = tolv.safety if mode == "certified" else 0.0

    def first_layer(a, b, pool=None):
        # first layer at starts and ends separately (the kernels read them as rows); with
        # a pool, the ends' product runs on its worker while this thread does the starts'
        cs, ce = (("starts", a), ("ends", a)) if fused else (None, None)
        if pool is not None:
            ends_job = pool.submit(first_layer_values, net, E[a:b], safety=safety, check=ce)
        Zs, Es = first_layer_values(net, S[a:b], safety=safety, check=cs)
        Ze, Ee = (ends_job.result() if pool is not None
                  else first_layer_values(net, E[a:b], safety=safety, check=ce))
        return Zs, Ze, None, None, Es, Ee

    return _run_crossings(net, mode, tolv, m, chunk_size, backend, threads, first_layer,
                          lambda ids: (S[ids], E[ids]), progress)


#: batches from this many segments (float and certified mode) show a progress bar
#: with ``progress=None`` on a terminal (about half a second and more)
PROGRESS_SEGMENTS = 100_000
#: the same in exact mode (about 200 segments per second on the digits MLPs)
PROGRESS_SEGMENTS_EXACT = 500


def _chunks(m, chunk_size, mode, progress):
    """The chunk loop of the batch functions, with a progress bar over segments."""
    from ._progress import chunk_ranges

    big = m >= (PROGRESS_SEGMENTS_EXACT if mode == "exact" else PROGRESS_SEGMENTS)
    return chunk_ranges(m, chunk_size, progress=progress, auto=big,
                        desc="segment crossings", unit="segment")


def segment_crossings_between(net, points, i_start, i_end, *, mode="certified", tol=None,
                              chunk_size=4096, cache=None, backend="auto", threads=None,
                              progress=None):
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
    threads : int, optional
        Threads of the compiled kernel, as in :func:`segment_crossings`.
    progress : bool or None
        Progress bar, as in :func:`segment_crossings`.

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
        _check_cache(cache, net, mode, points, tolv)
    X = cache.points
    i_start = _check_indices(i_start, len(X), "i_start")
    i_end = _check_indices(i_end, len(X), "i_end")
    if i_start.shape != i_end.shape:
        raise ShapeError(
            f"i_start and i_end must have the same length, got {len(i_start)} and {len(i_end)}."
        )
    m = len(i_start)
    chunk_size = _chunk_for(net, chunk_size, mode)
    threads = _check_threads(threads)
    if m == 0:
        _check_progress(progress)
        return _empty_result(net, mode)

    def first_layer(a, b, pool=None):
        # rows of the cached first layer: the kernels gather them per segment
        return cache.Z0, cache.Z0, i_start[a:b], i_end[a:b], cache.E0, cache.E0

    return _run_crossings(net, mode, tolv, m, chunk_size, backend, threads, first_layer,
                          lambda ids: (X[i_start[ids]], X[i_end[ids]]), progress)


@dataclass(frozen=True)
class FirstLayerCache:
    """First-layer preactivations (and certified error bounds) of a fixed point set."""

    points: np.ndarray = field(repr=False)
    Z0: np.ndarray = field(repr=False)
    E0: np.ndarray = field(default=None, repr=False)
    mode: str = "certified"
    #: digest of the net it was built for (see _net_digest)
    net_digest: str = field(default=None, repr=False)
    #: ``tol.safety`` of the certified bounds ``E0``
    safety: float = None


def _net_digest(net):
    """:func:`polyfold._digest.net_digest` of ``net``, cached on it."""
    from ._digest import net_digest

    cache = net._numeric if net.is_dense else net._cache
    hit = cache.get("digest")
    if hit is None:
        hit = cache["digest"] = net_digest(net)
    return hit


def first_layer_cache(net, points, *, mode="certified", tol=None):
    """Precompute the first layer at ``points`` for :func:`segment_crossings_between`."""
    _check_net(net)
    check_mode(mode)
    tolv = get_tol(tol)
    X, _ = net_points(net, points)
    if mode == "exact":
        return FirstLayerCache(points=X, Z0=None, E0=None, mode=mode, net_digest=_net_digest(net))
    safety = tolv.safety if mode == "certified" else 0.0
    Z0, E0 = first_layer_values(net, X, safety=safety)
    return FirstLayerCache(points=X, Z0=Z0, E0=E0, mode=mode, net_digest=_net_digest(net),
                           safety=safety if mode == "certified" else None)


def _check_cache(cache, net, mode, points=None, tolv=None):
    """A :class:`FirstLayerCache` usable for ``net``, ``points`` and ``tolv`` in ``mode``
    (else ValidationError)."""
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
    width = net.layers[0][0].shape[0] if net.is_dense else net.stages().width(0)
    if cache.points.shape[1] != net.input_dim or (
        cache.Z0 is not None and cache.Z0.shape[1] != width
    ):
        raise ValidationError(
            f"cache does not belong to this net: its points have {cache.points.shape[1]} "
            f"coordinates and its first layer {None if cache.Z0 is None else cache.Z0.shape[1]} "
            f"values, the net has input_dim={net.input_dim} and a first layer of width "
            f"{width}; build the cache with first_layer_cache(net, points)."
        )
    if cache.net_digest is not None and cache.net_digest != _net_digest(net):
        raise ValidationError(
            "cache does not belong to this net: it was built for a net with other "
            "parameters; build it with first_layer_cache(net, points)."
        )
    if points is not None and points is not cache.points:
        X, _ = net_points(net, points)
        if X.shape != cache.points.shape or not np.array_equal(X, cache.points):
            raise ValidationError(
                f"cache was built for other points ({len(cache.points)} of them) than the "
                f"points passed here ({len(X)}); build it with first_layer_cache(net, points) "
                "for these points, or pass cache=None."
            )
    if (mode == "certified" and tolv is not None and cache.safety is not None
            and cache.safety != tolv.safety):
        raise ValidationError(
            f"cache holds bounds for tol.safety={cache.safety!r}, but this call uses "
            f"tol.safety={tolv.safety!r}; build the cache with the same tol, or pass cache=None."
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
    from ._validation import read_array
    from .exceptions import ValidationError

    arr = read_array(idx, name, "a 1-D integer array of point indices")
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim == 1 and arr.size == 0 and arr.dtype.kind in "fiu":
        arr = arr.astype(np.int64)  # [] (float64 in numpy): no segments
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ValidationError(
            f"{name} must be a 1-D integer array of point indices, got {arr.dtype} of shape "
            f"{arr.shape}; convert it with np.asarray({name}, dtype=np.int64)."
        )
    if len(arr) and (arr.min() < -n or arr.max() >= n):
        raise ValidationError(f"{name} holds indices outside [0, {n}); check it against points.")
    return arr.astype(np.int64) % max(n, 1)
