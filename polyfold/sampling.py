"""Sampling baselines: what the exact engine is compared against.

* :func:`grid_patterns` -- evaluate ``n_points`` equally spaced points per segment
  (batched forward passes), as the published folding code does.
* :func:`bisection_patterns` -- adaptive bisection: split ``[ta, tb]`` until the codes
  at both ends agree or ``tb - ta < eps``.  For ReLU-type networks, equal codes at
  both ends prove the whole sub-segment lies in one region (regions are convex), so
  bisection can only miss regions inside intervals shorter than ``eps``.
* :func:`missed_regions` -- compare a sampled walk with the exact one.

Both samplers return :class:`SampledWalks`: per segment the sequence of codes seen
along the segment with consecutive repeats removed, as flat arrays plus offsets.
"""

import numbers
from dataclasses import dataclass, field

import numpy as np

from .network import check_net as _check_net
from ._validation import check_grid_points, check_item_index, check_positive_int, net_segments, read_array
from .exceptions import ShapeError, ValidationError
from .network import PLNet, bits_from_codes, codes_from_preactivations
from ._repr import summary_repr

__all__ = [
    "SampledWalks",
    "grid_patterns",
    "bisection_patterns",
    "missed_regions",
    "spurious_samples",
    "is_subsequence",
]


@dataclass(frozen=True)
class SampledWalks:
    """Codes seen along each segment by a sampler (consecutive repeats removed).

    Attributes
    ----------
    net : PLNet
    method : str
    n_segments : int
    n_pieces : (m,) int64
        Number of distinct consecutive codes found per segment.
    piece_offsets : (m + 1,) int64
    codes : (total, n_hidden) int8
    t : (total,) float
        Parameter of the first sample at which each found code was seen.
    n_evaluations : (m,) int64
        Forward passes spent per segment.
    """

    __repr__ = summary_repr

    net: PLNet = field(repr=False)
    method: str
    n_segments: int
    n_pieces: np.ndarray
    piece_offsets: np.ndarray
    codes: np.ndarray = field(repr=False)
    t: np.ndarray = field(repr=False)
    n_evaluations: np.ndarray = field(repr=False)

    def piece_codes(self, i):
        """(k_i, n_hidden) codes found along segment ``i``."""
        i = check_item_index(i, self.n_segments, "i", "segment")
        return self.codes[self.piece_offsets[i] : self.piece_offsets[i + 1]]

    def piece_patterns(self, i):
        """(k_i, n_hidden) bool patterns found along segment ``i``."""
        return bits_from_codes(self.net, self.piece_codes(i))

    def __len__(self):
        return self.n_segments

    @property
    def segment_index(self):
        """(total,) segment of every found code."""
        return np.repeat(np.arange(self.n_segments), self.n_pieces)

    def to_pandas(self):
        """One row per region found (needs pandas).

        Columns: ``segment``, ``piece`` (0-based within its segment, in the order
        found), ``t_first`` (parameter of the first sample that saw the region),
        ``n_active`` (units with ``z > 0``) and ``n_evaluations`` (forward passes
        spent on the segment).

        Examples
        --------
        >>> import polyfold
        >>> from polyfold.sampling import grid_patterns
        >>> g = grid_patterns(polyfold.zoo.sawtooth(2), [0.0], [1.0], n_points=5)
        >>> g.to_pandas()["t_first"].tolist()   # x = 0, 1/4 (a boundary), 1/2, 3/4, 1
        [0.0, 0.25, 0.5, 0.75, 1.0]
        """
        from ._tables import to_dataframe

        seg = self.segment_index
        return to_dataframe({
            "segment": seg.astype(np.int64),
            "piece": (np.arange(len(seg)) - np.repeat(self.piece_offsets[:-1], self.n_pieces)
                      ).astype(np.int64),
            "t_first": np.asarray(self.t, dtype=np.float64),
            "n_active": np.count_nonzero(bits_from_codes(self.net, self.codes), axis=1
                                         ).astype(np.int64),
            "n_evaluations": np.asarray(self.n_evaluations, np.int64)[seg],
        }, "SampledWalks")


def _codes_at(net, X):
    if not net.is_dense:
        return net.codes(X)
    zs = []
    h = X
    for i, (W, b) in enumerate(net.layers[:-1]):
        z = h @ W.T + b
        zs.append(z)
        h = net.activations[i].apply(z)
    if not zs:
        return np.zeros((len(X), 0), np.int8)
    return codes_from_preactivations(net, zs)


def _runs(seg, t, codes, m):
    """Drop consecutive repeats within each segment (inputs sorted by seg, t)."""
    keep = np.ones(len(seg), bool)
    if len(seg) > 1:
        same_seg = seg[1:] == seg[:-1]
        same_code = ~np.any(codes[1:] != codes[:-1], axis=1)
        keep[1:] = ~(same_seg & same_code)
    seg, t, codes = seg[keep], t[keep], codes[keep]
    n = np.bincount(seg, minlength=m).astype(np.int64)
    return n, np.concatenate([[0], np.cumsum(n)]).astype(np.int64), codes, t


def graph_grid_codes(net, S, E, ts):
    """Codes of a graph net at ``(1 - t) S + t E`` for every ``t`` in ``ts``.

    Everything before the first unit group is affine in ``t``, so the first stage's
    state is computed at the two ends only and interpolated; the grid points then go
    through the remaining stages (the fastest form of grid sampling).
    """
    st = net.stages()
    c, n = len(S), len(ts)
    if st.n_groups == 0:
        return np.zeros((c * n, 0), np.int8)
    Sa, Sb = st.start(S), st.start(E)
    St = (Sa[:, None, :] * (1.0 - ts)[None, :, None] + Sb[:, None, :] * ts[None, :, None]).reshape(c * n, -1)
    codes = []
    for g in range(st.n_groups):
        z = St[:, : st.z_width(g)]
        u = st.units[g]
        codes.append(u.codes(z))
        if g < st.n_groups - 1:
            St = st.advance(g, St)
    return np.concatenate(codes, axis=1)


def _empty_walks(net, method):
    """The :class:`SampledWalks` of a batch of no segments."""
    return SampledWalks(
        net=net,
        method=method,
        n_segments=0,
        n_pieces=np.zeros(0, np.int64),
        piece_offsets=np.zeros(1, np.int64),
        codes=np.zeros((0, net.n_hidden), np.int8),
        t=np.zeros(0),
        n_evaluations=np.zeros(0, np.int64),
    )


def grid_patterns(net, starts, ends, n_points=1000, *, chunk_points=2_000_000):
    """Codes at ``n_points`` equally spaced points of every segment (``t = 0 .. 1``).

    Parameters
    ----------
    net : PLNet
    starts, ends : (m, input_dim) or (input_dim,) float
    n_points : int >= 2
    chunk_points : int
        Points evaluated per batched forward pass (memory bound).

    Returns
    -------
    SampledWalks

    Examples
    --------
    >>> import polyfold
    >>> from polyfold.sampling import grid_patterns
    >>> net = polyfold.zoo.sawtooth(3)
    >>> grid_patterns(net, [0.0], [1.0], 11).n_pieces.tolist()  # 8 pieces + 3 boundary hits
    [11]
    """
    _check_net(net)
    n_points = check_positive_int(n_points, "n_points", minimum=2)
    chunk_points = check_positive_int(chunk_points, "chunk_points")
    S, E, _ = net_segments(net, starts, ends)
    check_grid_points(n_points, S.shape[1] + net.n_hidden)
    m = len(S)
    if m == 0:
        return _empty_walks(net, f"grid{n_points}")
    ts = np.linspace(0.0, 1.0, n_points)
    # segments per batched forward pass: at most chunk_points points and about
    # 16M input values (128 MiB) per pass
    per = max(1, min(chunk_points // n_points, (1 << 24) // (n_points * S.shape[1])))
    all_n, all_codes, all_t = [], [], []
    for a in range(0, m, per):
        b = min(a + per, m)
        c = b - a
        if net.is_dense:
            X = S[a:b, None, :] * (1.0 - ts)[None, :, None] + E[a:b, None, :] * ts[None, :, None]
            codes = _codes_at(net, X.reshape(c * n_points, -1))
        else:
            codes = graph_grid_codes(net, S[a:b], E[a:b], ts)
        seg = np.repeat(np.arange(c), n_points)
        n, _, cds, tt = _runs(seg, np.tile(ts, c), codes, c)
        all_n.append(n)
        all_codes.append(cds)
        all_t.append(tt)
    n_pieces = np.concatenate(all_n)
    return SampledWalks(
        net=net,
        method=f"grid{n_points}",
        n_segments=m,
        n_pieces=n_pieces,
        piece_offsets=np.concatenate([[0], np.cumsum(n_pieces)]).astype(np.int64),
        codes=np.concatenate(all_codes, axis=0),
        t=np.concatenate(all_t),
        n_evaluations=np.full(m, n_points, np.int64),
    )


def _bisect_samples(S, E, classes_at, eps, max_evaluations):
    """Adaptive bisection of the segments ``S[i] -> E[i]`` on the rows ``classes_at(X)``.

    An interval is split while the rows at its two ends differ, it is at least ``eps``
    long and its float midpoint lies strictly inside it (an interval of neighbouring
    floats cannot be split: below the float spacing of ``t`` it would be split again
    until the budget is spent).  ``max_evaluations`` per segment (the two ends
    included) is a hard limit: the k-th split of a segment in a round is its
    evaluation ``evals + k + 1``, made (leftmost first) only within the budget.

    Returns ``(seg, t, rows, evals)``: every sample, ordered by segment and ``t``, and
    the evaluations per segment.  Shared by :func:`bisection_patterns` (codes) and
    :func:`polyfold.folding.sampled_folding` (classes).
    """
    m = len(S)
    X = np.empty((2 * m, S.shape[1]))
    X[0::2], X[1::2] = S, E
    evals = np.full(m, 2, np.int64)
    flat_s, flat_t, flat_c = np.repeat(np.arange(m), 2), np.tile([0.0, 1.0], m), classes_at(X)
    # frontier intervals: indices into the sample arrays of their two ends
    lo = np.arange(0, 2 * m, 2)
    hi = lo + 1
    while len(lo):
        tm = 0.5 * (flat_t[lo] + flat_t[hi])
        split = np.any(flat_c[lo] != flat_c[hi], axis=1)
        split &= (flat_t[hi] - flat_t[lo]) >= eps
        split &= (tm > flat_t[lo]) & (tm < flat_t[hi])
        iseg = flat_s[lo]
        split &= evals[iseg] < max_evaluations
        lo, hi, tm, iseg = lo[split], hi[split], tm[split], iseg[split]
        if len(lo) and np.any(evals + np.bincount(iseg, minlength=m) > max_evaluations):
            order = np.lexsort((tm, iseg))
            rank = np.empty(len(iseg), np.int64)
            rank[order] = np.arange(len(iseg)) - np.searchsorted(iseg[order], iseg[order])
            ok = evals[iseg] + rank < max_evaluations
            lo, hi, tm, iseg = lo[ok], hi[ok], tm[ok], iseg[ok]
        if not len(lo):
            break
        cm = classes_at(S[iseg] * (1.0 - tm)[:, None] + E[iseg] * tm[:, None])
        np.add.at(evals, iseg, 1)
        mid = len(flat_t) + np.arange(len(lo))
        flat_s = np.concatenate([flat_s, iseg])
        flat_t = np.concatenate([flat_t, tm])
        flat_c = np.concatenate([flat_c, cm], axis=0)
        lo, hi = np.concatenate([lo, mid]), np.concatenate([mid, hi])
    order = np.lexsort((flat_t, flat_s))
    return flat_s[order], flat_t[order], flat_c[order], evals


def bisection_patterns(net, starts, ends, *, eps=1e-6, max_evaluations=1_000_000):
    """Adaptive bisection of every segment until end codes agree or intervals < ``eps``.

    Parameters
    ----------
    net : PLNet
    starts, ends : (m, input_dim) or (input_dim,) float
    eps : float in (0, 1)
        Smallest interval (in ``t``) that is still split.
    max_evaluations : int
        Budget of forward passes per segment, the two ends included (a hard limit:
        within a round of splits, the leftmost are made first).

    Returns
    -------
    SampledWalks

    Notes
    -----
    For ReLU, leaky ReLU and hard tanh networks each code set is a convex polytope,
    so an interval whose end codes agree lies in one region: bisection is exact
    except inside intervals shorter than ``eps``, where it records only the end codes.
    """
    _check_net(net)
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not (0 < eps < 1):
        raise ValidationError(f"eps must be a number in (0, 1), got {eps!r}; try eps=1e-6.")
    max_evaluations = check_positive_int(max_evaluations, "max_evaluations", minimum=2)
    S, E, _ = net_segments(net, starts, ends)
    m = len(S)
    if m == 0:
        return _empty_walks(net, f"bisection(eps={eps:g})")
    seg, t, cds, evals = _bisect_samples(S, E, lambda X: _codes_at(net, X), eps, max_evaluations)
    n, off, cds, tt = _runs(seg, t, cds, m)
    return SampledWalks(
        net=net,
        method=f"bisection(eps={eps:g})",
        n_segments=m,
        n_pieces=n,
        piece_offsets=off,
        codes=cds,
        t=tt,
        n_evaluations=evals,
    )


def _row_keys(seg, codes):
    """One hashable void scalar per (segment, code row)."""
    rows = np.concatenate([seg.astype(np.int64)[:, None].view(np.int8).reshape(len(seg), 8),
                           np.ascontiguousarray(codes, dtype=np.int8)], axis=1)
    rows = np.ascontiguousarray(rows)
    return rows.view(np.dtype((np.void, rows.shape[1]))).ravel()


def _check_same_segments(exact, sampled):
    from .crossings import SegmentCrossings, _net_digest

    if not isinstance(exact, SegmentCrossings):
        raise ValidationError(
            f"exact must be a SegmentCrossings from polyfold.segment_crossings, got "
            f"{type(exact).__name__}."
        )
    if not isinstance(sampled, SampledWalks):
        raise ValidationError(
            f"sampled must be a SampledWalks from grid_patterns or bisection_patterns, got "
            f"{type(sampled).__name__}."
        )
    if exact.n_segments != sampled.n_segments:
        raise ValidationError(
            f"exact and sampled must cover the same segments, got {exact.n_segments} "
            f"and {sampled.n_segments}."
        )
    if exact.net is not sampled.net and (
        exact.net.is_dense != sampled.net.is_dense
        or exact.net.n_hidden != sampled.net.n_hidden
        or _net_digest(exact.net) != _net_digest(sampled.net)
    ):
        raise ValidationError(
            "exact and sampled were computed for different networks; sample the same net "
            "as the exact crossings."
        )


def missed_regions(exact, sampled):
    """Regions (pieces) of the exact walk that a sampler never saw.

    Parameters
    ----------
    exact : SegmentCrossings
    sampled : SampledWalks
        On the same segments.

    Returns
    -------
    missed : (m,) int64
        Per segment, the number of exact pieces whose codes appear nowhere in the
        sampled walk.

    Notes
    -----
    A sample that lands exactly on a boundary (a neuron at ``z == 0``) sees the codes
    of a lower-dimensional face, which belong to no open piece; such samples are
    counted by :func:`spurious_samples`, not here.
    """
    _check_same_segments(exact, sampled)
    seen = _row_keys(sampled.segment_index, sampled.codes)
    found = np.isin(_row_keys(exact.segment_index, exact.codes), seen)
    return np.bincount(exact.segment_index[~found], minlength=exact.n_segments).astype(np.int64)


def spurious_samples(exact, sampled):
    """Per segment, sampled codes that are no open piece's codes (boundary hits)."""
    _check_same_segments(exact, sampled)
    known = _row_keys(exact.segment_index, exact.codes)
    ok = np.isin(_row_keys(sampled.segment_index, sampled.codes), known)
    return np.bincount(sampled.segment_index[~ok], minlength=sampled.n_segments).astype(np.int64)


def _code_rows(codes, name):
    """``codes`` as a 2-D integer (or boolean) array of code rows."""
    arr = read_array(codes, name, "a (k, n_hidden) array of codes")
    if arr.ndim != 2:
        raise ShapeError(f"{name} must be a 2-D (k, n_hidden) array of codes, got shape {arr.shape}.")
    if arr.dtype.kind not in "biu" and not (arr.size == 0 and arr.dtype.kind == "f"):
        raise ValidationError(
            f"{name} must hold integer codes (or booleans), got dtype {arr.dtype}; pass the "
            "codes of a result (res.piece_codes(i))."
        )
    return arr


def is_subsequence(exact_codes, sampled_codes):
    """True when the rows of ``sampled_codes`` appear in ``exact_codes`` in order.

    Parameters
    ----------
    exact_codes, sampled_codes : (k, n_hidden) int array_like
        Code rows of one segment (e.g. ``exact.piece_codes(i)`` and
        ``sampled.piece_codes(i)``); the same number of columns.

    Raises
    ------
    ShapeError
        Not 2-D, or different numbers of columns.
    ValidationError
        Not integer (or boolean) arrays.

    Examples
    --------
    >>> is_subsequence([[0, 0], [1, 0], [1, 1]], [[0, 0], [1, 1]])
    True
    >>> is_subsequence([[0, 0], [1, 0]], [[1, 0], [0, 0]])
    False
    """
    exact_codes = _code_rows(exact_codes, "exact_codes")
    sampled_codes = _code_rows(sampled_codes, "sampled_codes")
    if len(exact_codes) and len(sampled_codes) and exact_codes.shape[1] != sampled_codes.shape[1]:
        raise ShapeError(
            f"exact_codes and sampled_codes must have the same number of columns (units), got "
            f"{exact_codes.shape[1]} and {sampled_codes.shape[1]}."
        )
    j = 0
    for row in exact_codes:
        if j < len(sampled_codes) and np.array_equal(row, sampled_codes[j]):
            j += 1
    return j == len(sampled_codes)
