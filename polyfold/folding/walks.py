"""Folding measures of given walks of activation patterns.

A walk ``Gamma = (pi_1, ..., pi_n)`` of patterns gives the range
``r1 = max_i d_H(pi_1, pi_i)``, the Hamming length ``r2 = sum_i d_H(pi_i, pi_{i+1})``
and the folding measure ``chi = 1 - r1 / r2`` (an exact
:class:`fractions.Fraction`).  This module holds the measures of one walk
(:func:`folding_measure`, :func:`prefix_curve`, :func:`interaction_effect`,
:func:`symmetric_folding`, :func:`folding_bounds`) and the vectorised
:func:`folding_measure_batch` for many walks stored flat with offsets.  Part of
:mod:`polyfold.folding`, which re-exports the public names.
"""

import numbers
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..exceptions import ShapeError, ValidationError
from ..network import hamming, pack_words
from .._repr import summary_repr
from .._validation import as_int64, check_item_index, read_array


def _chi_fraction(r1, r2):
    r1, r2 = int(r1), int(r2)
    return Fraction(r2 - r1, r2) if r2 else Fraction(0)


# ---------------------------------------------------------------------------
# walk validation
# ---------------------------------------------------------------------------
def _as_walk_array(patterns, name, allow_empty=False):
    """(k, n) bool or int array from a walk given as array / list of patterns
    (``allow_empty``: also no patterns, for a batch of no walks; ``[]`` is ``(0, 0)``)."""
    if isinstance(patterns, (str, bytes)):
        raise ValidationError(f"{name} must be a (k, n) array of patterns, got a string.")
    try:
        arr = np.asarray(patterns)
    except ValueError as err:  # ragged nested lists
        raise ShapeError(
            f"{name} could not be read as a (k, n) array ({err}); every pattern in a walk "
            "must have the same length (one entry per unit)."
        ) from err
    if arr.dtype == object:
        try:
            lengths = {len(p) for p in patterns}
        except TypeError:
            lengths = set()
        if len(lengths) > 1:
            raise ShapeError(
                f"{name} holds patterns of different lengths {sorted(lengths)}; every "
                "pattern in a walk must have one entry per unit."
            )
        raise ValidationError(
            f"{name} must hold booleans or integers, got an object array; pass "
            "np.asarray(patterns, dtype=bool)."
        )
    if allow_empty and arr.size == 0 and (arr.ndim == 1 or (arr.ndim == 2 and arr.shape[0] == 0)) and (
        arr.dtype.kind in "biuf"
    ):  # (rows of no units, shape (k, 0), are a walk of k empty classes)
        return np.zeros((0, arr.shape[1] if arr.ndim == 2 else 0), bool if arr.dtype == bool else np.int64)
    if arr.ndim != 2:
        raise ShapeError(
            f"{name} must be a 2-D (k, n) array (k patterns of n units), got shape "
            f"{arr.shape}; use np.atleast_2d(p) for a walk of one pattern."
        )
    if arr.shape[0] == 0:
        raise ShapeError(f"{name} is an empty walk (shape {arr.shape}); pass at least one pattern.")
    if arr.dtype == bool:
        return arr
    if arr.dtype.kind in "iu":
        return arr.astype(np.int64, copy=False)
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValidationError(
                f"{name} must hold booleans or integer class labels, got non-integer "
                "floats; threshold them first, e.g. patterns > 0."
            )
        return arr.astype(np.int64)
    raise ValidationError(
        f"{name} must hold booleans or integers, got dtype {arr.dtype}; "
        "pass np.asarray(patterns, dtype=bool)."
    )


def _dedup(walk):
    """Drop consecutive repeats (stability: they change nothing)."""
    if len(walk) < 2:
        return walk
    keep = np.ones(len(walk), bool)
    keep[1:] = np.any(walk[1:] != walk[:-1], axis=1)
    return walk[keep]


def _distances(walk):
    """(distance of every pattern from the first, step distances) as int64 arrays."""
    if walk.dtype == bool:
        packed = np.packbits(walk, axis=1)
        d0 = hamming(packed, packed[0]).astype(np.int64)
        steps = hamming(packed[1:], packed[:-1]).astype(np.int64)
    else:
        d0 = np.count_nonzero(walk != walk[0], axis=1).astype(np.int64)
        steps = np.count_nonzero(walk[1:] != walk[:-1], axis=1).astype(np.int64)
    return d0, steps


# ---------------------------------------------------------------------------
# single walks
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FoldingMeasure:
    """The folding measure of one walk.

    Attributes
    ----------
    chi : Fraction
        ``1 - r1 / r2`` (0 when ``r2 == 0``), exact.
    r1 : int
        Range ``max_i d_H(pi_1, pi_i)``.
    r2 : int
        Hamming length ``sum_i d_H(pi_i, pi_{i+1})``.
    displacement : int
        ``D = d_H(pi_1, pi_n)``.
    n_regions : int
        Length of the walk after consecutive repeats are removed.
    """

    chi: Fraction
    r1: int
    r2: int
    displacement: int
    n_regions: int

    @property
    def is_flat(self):
        """True when ``chi == 0`` (every step moves its full length away from the
        start: no unit returns to its starting value)."""
        return self.chi == 0

    def __float__(self):
        return float(self.chi)


def folding_measure(patterns):
    """Folding measure ``chi`` of a walk of activation patterns.

    Parameters
    ----------
    patterns : (k, n) bool or int array_like
        The walk ``(pi_1, ..., pi_k)``: one row per visited region, one column per
        unit.  Integer entries are class labels per unit (for example linear-piece
        indices); the distance then counts the positions that differ.

    Returns
    -------
    FoldingMeasure
        ``chi`` as an exact Fraction, with ``r1``, ``r2``, the displacement ``D`` and
        the number of regions.

    Raises
    ------
    ShapeError
        Empty walk, patterns of different lengths, not 2-D.
    ValidationError
        Entries that are neither booleans nor integers.

    Notes
    -----
    Consecutive repeated patterns are removed first; they change neither ``r1`` nor
    ``r2`` (stability).  ``0 <= chi < 1``; ``chi == 0`` iff every step moves its
    full length away from the start, ``d_H(pi_1, pi_{i+1}) = d_H(pi_1, pi_i) +
    d_H(pi_i, pi_{i+1})``, i.e. no unit ever returns to its value in ``pi_1``.  A
    distance from the start that never decreases is not enough: ``(00, 10, 01)``
    has distances 0, 1, 1 and ``chi = 2/3``.  Cost ``O(k n / 8)`` (popcount of
    packed bits).

    References
    ----------
    Lewandowski et al., TMLR 2025, Eq. (4).

    Examples
    --------
    >>> from polyfold.folding import folding_measure
    >>> walk = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1]]
    >>> m = folding_measure(walk)
    >>> m.chi, m.r1, m.r2
    (Fraction(1, 2), 2, 4)
    >>> folding_measure(walk[::-1]).chi
    Fraction(1, 4)
    """
    walk = _dedup(_as_walk_array(patterns, "patterns"))
    d0, steps = _distances(walk)
    r1 = int(d0.max())
    r2 = int(steps.sum())
    return FoldingMeasure(
        chi=_chi_fraction(r1, r2), r1=r1, r2=r2, displacement=int(d0[-1]), n_regions=len(walk)
    )


@dataclass(frozen=True)
class PrefixCurve:
    """``chi`` of every prefix ``(pi_1, ..., pi_j)``, ``j = 1 .. k``.

    Attributes
    ----------
    r1, r2 : (k,) int64
        Range and length of every prefix.
    chi : (k,) float64
        ``1 - r1 / r2`` (0 where ``r2 == 0``); the last value is the walk's ``chi``.
    """

    r1: np.ndarray
    r2: np.ndarray
    chi: np.ndarray

    def fractions(self):
        """The curve as a list of exact Fractions."""
        return [_chi_fraction(a, b) for a, b in zip(self.r1.tolist(), self.r2.tolist())]

    @property
    def max(self):
        """Largest prefix value as an exact Fraction."""
        return max(self.fractions())

    def __len__(self):
        return len(self.chi)


def prefix_curve(patterns):
    """Folding measure of every prefix of a walk.

    Parameters
    ----------
    patterns : (k, n) bool or int array_like
        The walk (consecutive repeats are removed first, so ``j`` counts regions).

    Returns
    -------
    PrefixCurve
        ``chi_j`` for ``j = 1 .. k'`` where ``k'`` is the number of regions; its last
        value is ``folding_measure(patterns).chi``.

    Raises
    ------
    ShapeError, ValidationError
        As :func:`folding_measure`.

    Examples
    --------
    >>> from polyfold.folding import prefix_curve
    >>> walk = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1]]
    >>> [str(v) for v in prefix_curve(walk).fractions()]
    ['0', '0', '0', '1/3', '1/2']
    """
    walk = _dedup(_as_walk_array(patterns, "patterns"))
    d0, steps = _distances(walk)
    r1 = np.maximum.accumulate(d0)
    r2 = np.concatenate([[0], np.cumsum(steps)]).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        chi = np.where(r2 > 0, (r2 - r1) / np.maximum(r2, 1), 0.0)
    return PrefixCurve(r1=r1, r2=r2, chi=chi)


def interaction_effect(patterns, k):
    """Interaction effect ``I(k) = chi(Gamma) - chi(Gamma_1) - chi(Gamma_2)``.

    Parameters
    ----------
    patterns : (n, units) bool or int array_like
        The walk ``Gamma = (pi_1, ..., pi_n)`` as given (repeats allowed).
    k : int, 1 <= k <= n
        Split index (1-based): ``Gamma_1 = (pi_1..pi_k)``, ``Gamma_2 = (pi_k..pi_n)``;
        both contain ``pi_k``.

    Returns
    -------
    Fraction

    Raises
    ------
    ValidationError
        ``k`` outside ``1..n``.

    References
    ----------
    Moser et al., "The Space Between", Eq. (6).

    Examples
    --------
    >>> from polyfold.folding import interaction_effect
    >>> walk = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1]]
    >>> interaction_effect(walk, 3)
    Fraction(1, 2)
    """
    walk = _as_walk_array(patterns, "patterns")
    n = len(walk)
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or not 1 <= k <= n:
        raise ValidationError(
            f"k must be an integer split index with 1 <= k <= {n} (the walk's length, "
            f"1-based), got {k!r}."
        )
    k = int(k)
    return (
        folding_measure(walk).chi
        - folding_measure(walk[:k]).chi
        - folding_measure(walk[k - 1 :]).chi
    )


def symmetric_folding(patterns):
    """Symmetrised measure ``(chi(Gamma) + chi(reversed Gamma)) / 2``.

    Parameters
    ----------
    patterns : (k, n) bool or int array_like

    Returns
    -------
    Fraction

    Examples
    --------
    >>> from polyfold.folding import symmetric_folding
    >>> symmetric_folding([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1]])
    Fraction(3, 8)
    """
    walk = _as_walk_array(patterns, "patterns")
    return (folding_measure(walk).chi + folding_measure(walk[::-1]).chi) / 2


@dataclass(frozen=True)
class FoldingBounds:
    """Bounds on ``chi`` from the displacement ``D`` and the length ``L = r2``.

    Attributes
    ----------
    lower : Fraction
        ``(1 - D / L) / 2``.
    upper : Fraction
        ``1 - D / L``.
    reversal_gap : Fraction
        ``D / L``, a bound on ``|chi(Gamma) - chi(reversed Gamma)|``.

    All three are 0 for a walk of one region (``L = 0``).
    """

    lower: Fraction
    upper: Fraction
    reversal_gap: Fraction


def folding_bounds(patterns):
    """Bounds ``(1 - D/L)/2 <= chi <= 1 - D/L`` of a walk.

    Parameters
    ----------
    patterns : (k, n) bool or int array_like

    Returns
    -------
    FoldingBounds

    Notes
    -----
    ``r1 >= D`` gives the upper bound.  For the lower one, let ``i`` reach ``r1``:
    ``r1 <= (steps before i)`` and ``r1 <= D + (steps after i)``, so
    ``2 r1 <= L + D``.  A closed walk (``D = 0``, ``L > 0``) has ``chi >= 1/2``.

    Examples
    --------
    >>> from polyfold.folding import folding_bounds
    >>> b = folding_bounds([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]])
    >>> b.lower, b.upper
    (Fraction(1, 2), Fraction(1, 1))
    """
    m = folding_measure(patterns)
    if m.r2 == 0:
        z = Fraction(0)
        return FoldingBounds(lower=z, upper=z, reversal_gap=z)
    q = Fraction(m.displacement, m.r2)
    return FoldingBounds(lower=(1 - q) / 2, upper=1 - q, reversal_gap=q)


# ---------------------------------------------------------------------------
# batches of walks
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FoldingMeasureBatch:
    """Folding measures of many walks at once.

    Attributes
    ----------
    n_walks : int
    r1, r2 : (m,) int64
    chi : (m,) float64
        ``(r2 - r1) / r2`` (0 where ``r2 == 0``); :meth:`chi_exact` gives Fractions.
    displacement : (m,) int64
    n_regions : (m,) int64
        Walk lengths after consecutive repeats are removed.
    prefix_max : (m,) float64
        Maximum of each walk's prefix curve.
    prefix_max_r1, prefix_max_r2 : (m,) int64
        ``r1`` and ``r2`` of the prefix reaching it (exact value
        ``1 - prefix_max_r1 / prefix_max_r2``).
    """

    __repr__ = summary_repr

    n_walks: int
    r1: np.ndarray
    r2: np.ndarray
    chi: np.ndarray
    displacement: np.ndarray = field(repr=False)
    n_regions: np.ndarray = field(repr=False)
    prefix_max: np.ndarray = field(repr=False)
    prefix_max_r1: np.ndarray = field(repr=False)
    prefix_max_r2: np.ndarray = field(repr=False)

    def chi_exact(self, i=None):
        """``chi`` of walk ``i`` as a Fraction, or a list for all walks."""
        if i is not None:
            i = check_item_index(i, self.n_walks, "i", "walk")
            return _chi_fraction(self.r1[i], self.r2[i])
        return [_chi_fraction(a, b) for a, b in zip(self.r1.tolist(), self.r2.tolist())]

    def prefix_max_exact(self, i=None):
        """Prefix-curve maximum of walk ``i`` as a Fraction, or a list for all."""
        if i is not None:
            i = check_item_index(i, self.n_walks, "i", "walk")
            return _chi_fraction(self.prefix_max_r1[i], self.prefix_max_r2[i])
        return [
            _chi_fraction(a, b)
            for a, b in zip(self.prefix_max_r1.tolist(), self.prefix_max_r2.tolist())
        ]

    def measure(self, i):
        """:class:`FoldingMeasure` of walk ``i``."""
        i = check_item_index(i, self.n_walks, "i", "walk")
        return FoldingMeasure(
            chi=self.chi_exact(i),
            r1=int(self.r1[i]),
            r2=int(self.r2[i]),
            displacement=int(self.displacement[i]),
            n_regions=int(self.n_regions[i]),
        )

    def __len__(self):
        return self.n_walks

    def _columns(self, index="walk"):
        return {
            index: np.arange(self.n_walks, dtype=np.int64),
            "chi": np.asarray(self.chi, dtype=np.float64),
            "chi_exact": self.chi_exact(),
            "r1": self.r1,
            "r2": self.r2,
            "displacement": self.displacement,
            "n_regions": self.n_regions,
            "prefix_max": np.asarray(self.prefix_max, dtype=np.float64),
            "prefix_max_exact": self.prefix_max_exact(),
        }

    def to_pandas(self):
        """One row per walk (needs pandas).

        Columns: ``walk``, ``chi`` (float) and ``chi_exact`` (Fraction), ``r1``,
        ``r2``, ``displacement`` (Hamming distance from the first to the last region),
        ``n_regions`` (after removing repeats), ``prefix_max`` and ``prefix_max_exact``
        (the maximum of the prefix curve).

        Examples
        --------
        >>> from polyfold.folding import folding_measure_batch
        >>> df = folding_measure_batch([[0, 0], [1, 0], [0, 0]], [0, 3]).to_pandas()
        >>> df[["r1", "r2", "chi_exact"]].values.tolist()
        [[1, 2, Fraction(1, 2)]]
        """
        from .._tables import to_dataframe

        return to_dataframe(self._columns(), "FoldingMeasureBatch")


def _check_offsets(offsets, n_rows):
    """``offsets`` of ``m`` walks in ``n_rows`` patterns as a (m + 1,) int64 array."""
    try:
        off = read_array(offsets, "offsets", "a 1-D integer array")
    except ValidationError as err:
        if isinstance(offsets, (str, bytes)):
            raise
        raise ShapeError(str(err)) from err  # None, ragged lists: not a 1-D array
    if off.ndim != 1 or off.size < 1 or off.dtype.kind not in "iu":
        raise ShapeError(
            f"offsets must be a 1-D integer array of length m + 1 (m walks; [0] for none), "
            f"got shape {off.shape} and dtype {off.dtype}; for one walk use [0, len(patterns)]."
        )
    off = as_int64(off, "offsets")
    if off[0] != 0 or off[-1] != n_rows:
        raise ShapeError(
            f"offsets must start at 0 and end at len(patterns)={n_rows}, got "
            f"{int(off[0])} and {int(off[-1])}."
        )
    if np.any(np.diff(off) <= 0):
        i = int(np.nonzero(np.diff(off) <= 0)[0][0])
        raise ShapeError(
            f"offsets must be strictly increasing (every walk needs at least one pattern); "
            f"walk {i} is empty or negative (offsets[{i}]={int(off[i])}, "
            f"offsets[{i + 1}]={int(off[i + 1])})."
        )
    return off


def _measure_flat(P, off):
    """Kernel of :func:`folding_measure_batch` (inputs already validated)."""
    m = len(off) - 1
    if m == 0:  # no walks: every per-walk array is empty
        z, f = np.zeros(0, np.int64), np.zeros(0)
        return FoldingMeasureBatch(n_walks=0, r1=z, r2=z.copy(), chi=f, displacement=z.copy(),
                                   n_regions=z.copy(), prefix_max=f.copy(), prefix_max_r1=z.copy(),
                                   prefix_max_r2=z.copy())
    counts = np.diff(off)
    seg = np.repeat(np.arange(m), counts)
    if P.dtype == bool:
        # bool patterns: compare and count on packed 64-bit words
        P = pack_words(P)
        dist = hamming
    elif P.dtype == np.uint64:
        # already packed words (bit-packed one-bit codes of a crossings result)
        dist = hamming
    else:
        def dist(a, b):
            return np.count_nonzero(a != b, axis=-1)
    keep = np.ones(len(P), bool)
    if len(P) > 1:
        keep[1:] = np.any(P[1:] != P[:-1], axis=1)
    keep[off[:-1]] = True
    Q = P[keep]
    segq = seg[keep]
    n_regions = np.bincount(segq, minlength=m).astype(np.int64)
    offq = np.concatenate([[0], np.cumsum(n_regions)]).astype(np.int64)
    first = offq[:-1]
    last = offq[1:] - 1
    steps = np.zeros(len(Q), np.int64)
    d0 = dist(Q, Q[first][segq]).astype(np.int64)
    if len(Q) > 1:
        steps[1:] = dist(Q[1:], Q[:-1])
    steps[first] = 0
    r1 = np.maximum.reduceat(d0, first)
    r2 = np.add.reduceat(steps, first)
    with np.errstate(divide="ignore", invalid="ignore"):
        chi = np.where(r2 > 0, (r2 - r1) / np.maximum(r2, 1), 0.0)
        # prefix curves: per-segment running max of d0 and running sum of steps
        shift = segq * (int(d0.max(initial=0)) + 1)
        cr1 = np.maximum.accumulate(d0 + shift) - shift
        cs = np.cumsum(steps)
        cr2 = cs - cs[first][segq]
        cchi = np.where(cr2 > 0, (cr2 - cr1) / np.maximum(cr2, 1), 0.0)
    pmax = np.maximum.reduceat(cchi, first)
    # the prefix reaching the maximum (equal rationals give bit-identical floats, and
    # distinct ones with these small denominators are far apart)
    hit = np.nonzero(cchi == pmax[segq])[0]
    first_hit = hit[np.r_[True, segq[hit][1:] != segq[hit][:-1]]]
    return FoldingMeasureBatch(
        n_walks=m,
        r1=r1.astype(np.int64),
        r2=r2.astype(np.int64),
        chi=chi,
        displacement=d0[last],
        n_regions=n_regions,
        prefix_max=pmax,
        prefix_max_r1=cr1[first_hit].astype(np.int64),
        prefix_max_r2=cr2[first_hit].astype(np.int64),
    )


def folding_measure_batch(patterns, offsets):
    """Folding measures of many walks stored as flat patterns plus offsets.

    Parameters
    ----------
    patterns : (total, n) bool or int array_like
        All walks one after the other.
    offsets : (m + 1,) int array_like
        Walk ``i`` is ``patterns[offsets[i]:offsets[i + 1]]`` (non-empty).  ``[0]``
        with no patterns is a batch of no walks (every result array is empty).

    Returns
    -------
    FoldingMeasureBatch
        ``r1``, ``r2``, ``chi`` (float; exact Fractions via ``chi_exact``), the
        displacement, the number of regions and the prefix-curve maximum per walk.

    Raises
    ------
    ShapeError
        Offsets that do not describe non-empty walks covering ``patterns``.

    Notes
    -----
    Vectorised over all walks: boolean patterns are packed to bytes and compared
    with a popcount table, so the cost is ``O(total * n / 8)``.  Equal to calling
    :func:`folding_measure` on every walk.

    Examples
    --------
    >>> from polyfold.folding import folding_measure_batch
    >>> P = [[0, 0], [1, 0], [0, 0], [0, 0], [1, 1]]
    >>> b = folding_measure_batch(P, [0, 3, 5])
    >>> b.r1.tolist(), b.r2.tolist(), [str(c) for c in b.chi_exact()]
    ([1, 2], [2, 2], ['1/2', '0'])
    """
    P = _as_walk_array(patterns, "patterns", allow_empty=True)
    off = _check_offsets(offsets, len(P))
    return _measure_flat(P, off)
