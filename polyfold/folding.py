"""Space folding measures on exact region walks.

A straight path ``gamma(t) = (1 - t) x1 + t x2`` visits a sequence of activation
patterns ``Gamma = (pi_1, ..., pi_n)``.  The folding measure of Lewandowski et al.
compares how far the walk gets from its start in Hamming space with how far it
travels:

* ``r1 = max_i d_H(pi_1, pi_i)`` (range),
* ``r2 = sum_i d_H(pi_i, pi_{i+1})`` (Hamming length),
* ``chi = 1 - r1 / r2`` (``chi = 0`` when ``r2 = 0``).

``r1`` and ``r2`` are integers, so ``chi`` is a rational; polyfold returns it as a
:class:`fractions.Fraction`.  The walk itself comes from the exact segment partition
(:func:`polyfold.segment_crossings`), not from a grid of samples, so no region is
skipped.

Layout of this module:

* walk measures on given patterns: :func:`folding_measure`, :func:`prefix_curve`,
  :func:`interaction_effect`, :func:`symmetric_folding`, :func:`folding_bounds` and
  the vectorised :func:`folding_measure_batch`;
* :func:`global_folding` -- ``Phi_N`` and the distribution of many values;
* :func:`space_folding` / :func:`space_folding_batch` -- the exact walk of a network
  along segments, with a choice of units and of equivalence classes;
* :func:`class_pair_folding` -- the class-pair aggregation of the MNIST experiment;
* :func:`sampled_folding` / :func:`sampling_error` -- the grid and bisection
  estimates the papers use, and their error against the exact value.

References
----------
.. [1] M. Lewandowski, H. Eghbalzadeh, B. Heinzl, R. Pisoni, B. A. Moser, "On Space
   Folds of ReLU Neural Networks", TMLR 2025, arXiv:2502.09954.
.. [2] B. A. Moser, B. Heinzl, M. Lewandowski, R. Pisoni, "The Space Between: On
   Folding, Symmetries and Sampling", arXiv:2503.08502, 2025.
"""

import numbers
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ._validation import check_choice, check_mode, check_positive_int, check_seed, check_segments
from .exceptions import ShapeError, ValidationError
from .network import PLNet, hamming

__all__ = [
    "FoldingMeasure",
    "FoldingMeasureBatch",
    "PrefixCurve",
    "FoldingBounds",
    "GlobalFolding",
    "SpaceFolding",
    "SpaceFoldingBatch",
    "ClassPairFolding",
    "SampledFolding",
    "SamplingError",
    "folding_measure",
    "folding_measure_batch",
    "prefix_curve",
    "interaction_effect",
    "symmetric_folding",
    "folding_bounds",
    "global_folding",
    "space_folding",
    "space_folding_batch",
    "class_pair_folding",
    "sampled_folding",
    "sampling_error",
]

#: readings of the class-pair aggregation (spec section 6)
READINGS = ("pair_max_median", "path_prefix_max_median")

#: quantile levels reported by :func:`global_folding`
QUANTILE_LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)


def _chi_fraction(r1, r2):
    r1, r2 = int(r1), int(r2)
    return Fraction(r2 - r1, r2) if r2 else Fraction(0)


# ---------------------------------------------------------------------------
# walk validation
# ---------------------------------------------------------------------------
def _as_walk_array(patterns, name):
    """(k, n) bool or int array from a walk given as array / list of patterns."""
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
        """True when ``chi == 0`` (the walk never turns back towards its start)."""
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
    ``r2`` (stability).  ``0 <= chi < 1``; ``chi == 0`` iff the distance from the
    start never decreases along the walk.  Cost ``O(k n / 8)`` (popcount of packed
    bits).

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
            return _chi_fraction(self.r1[i], self.r2[i])
        return [_chi_fraction(a, b) for a, b in zip(self.r1.tolist(), self.r2.tolist())]

    def prefix_max_exact(self, i=None):
        """Prefix-curve maximum of walk ``i`` as a Fraction, or a list for all."""
        if i is not None:
            return _chi_fraction(self.prefix_max_r1[i], self.prefix_max_r2[i])
        return [
            _chi_fraction(a, b)
            for a, b in zip(self.prefix_max_r1.tolist(), self.prefix_max_r2.tolist())
        ]

    def measure(self, i):
        """:class:`FoldingMeasure` of walk ``i``."""
        return FoldingMeasure(
            chi=self.chi_exact(i),
            r1=int(self.r1[i]),
            r2=int(self.r2[i]),
            displacement=int(self.displacement[i]),
            n_regions=int(self.n_regions[i]),
        )

    def __len__(self):
        return self.n_walks


def _check_offsets(offsets, n_rows):
    off = np.asarray(offsets)
    if off.ndim != 1 or off.size < 2 or off.dtype.kind not in "iu":
        raise ShapeError(
            f"offsets must be a 1-D integer array of length m + 1 (m >= 1 walks), got "
            f"shape {off.shape} and dtype {off.dtype}; for one walk use [0, len(patterns)]."
        )
    off = off.astype(np.int64)
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
    counts = np.diff(off)
    seg = np.repeat(np.arange(m), counts)
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
    if Q.dtype == bool:
        packed = np.packbits(Q, axis=1)
        d0 = hamming(packed, packed[first][segq]).astype(np.int64)
        if len(Q) > 1:
            steps[1:] = hamming(packed[1:], packed[:-1])
    else:
        d0 = np.count_nonzero(Q != Q[first][segq], axis=1).astype(np.int64)
        if len(Q) > 1:
            steps[1:] = np.count_nonzero(Q[1:] != Q[:-1], axis=1)
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
        Walk ``i`` is ``patterns[offsets[i]:offsets[i + 1]]`` (non-empty).

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
    P = _as_walk_array(patterns, "patterns")
    off = _check_offsets(offsets, len(P))
    return _measure_flat(P, off)


# ---------------------------------------------------------------------------
# global folding
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GlobalFolding:
    """Distribution of folding values over a family of paths.

    Attributes
    ----------
    phi : float
        ``Phi_N``: the median of the non-zero values (0.0 when all are zero).
    n : int
        Number of values.
    n_nonzero : int
    fraction_flat : float
        Share of values equal to 0.
    mean : float
        Mean of all values (zeros included).
    mean_nonzero : float
        Mean of the non-zero values (0.0 when there are none).
    max : float
    quantiles : dict
        ``{q: value}`` over all values (zeros included), ``q`` in
        :data:`QUANTILE_LEVELS`, numpy's linear interpolation.
    quantiles_nonzero : dict
        The same over the non-zero values (empty when there are none).
    """

    phi: float
    n: int
    n_nonzero: int
    fraction_flat: float
    mean: float
    mean_nonzero: float
    max: float
    quantiles: dict
    quantiles_nonzero: dict

    def as_dict(self):
        """Plain dict (JSON friendly)."""
        return {
            "phi": self.phi,
            "n": self.n,
            "n_nonzero": self.n_nonzero,
            "fraction_flat": self.fraction_flat,
            "mean": self.mean,
            "mean_nonzero": self.mean_nonzero,
            "max": self.max,
            "quantiles": {str(k): v for k, v in self.quantiles.items()},
            "quantiles_nonzero": {str(k): v for k, v in self.quantiles_nonzero.items()},
        }


def _quantile_counts(vals, counts, q):
    """numpy's linear-interpolation quantile of a multiset given as sorted distinct
    values with counts."""
    n = int(counts.sum())
    cum = np.cumsum(counts)
    h = (n - 1) * q
    lo = int(np.floor(h))
    hi = min(lo + 1, n - 1)
    vlo = vals[np.searchsorted(cum, lo, side="right")]
    vhi = vals[np.searchsorted(cum, hi, side="right")]
    return float(vlo + (h - lo) * (vhi - vlo))


def _global_from_counts(vals, counts):
    """GlobalFolding of a multiset (sorted distinct float values, counts)."""
    vals = np.asarray(vals, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    nz = vals > 0
    vz, cz = vals[nz], counts[nz]
    n_nz = int(cz.sum())
    qs = {q: _quantile_counts(vals, counts, q) for q in QUANTILE_LEVELS}
    qz = {q: _quantile_counts(vz, cz, q) for q in QUANTILE_LEVELS} if n_nz else {}
    return GlobalFolding(
        phi=_quantile_counts(vz, cz, 0.5) if n_nz else 0.0,
        n=n,
        n_nonzero=n_nz,
        fraction_flat=(n - n_nz) / n,
        mean=float(np.dot(vals, counts) / n),
        mean_nonzero=float(np.dot(vz, cz) / n_nz) if n_nz else 0.0,
        max=float(vals.max()),
        quantiles=qs,
        quantiles_nonzero=qz,
    )


def global_folding(values):
    """Global folding ``Phi_N`` of a network over a family of paths.

    Parameters
    ----------
    values : (n,) array_like of float or Fraction, a FoldingMeasureBatch, a
        SpaceFoldingBatch or a sequence of FoldingMeasure
        Folding values in ``[0, 1)``, one per path.

    Returns
    -------
    GlobalFolding
        ``phi`` = median of the non-zero values, with the fraction of flat paths,
        means, quantiles and maximum (the papers' wording leaves open which summary
        is meant, so all are reported).

    Raises
    ------
    ShapeError
        No values.
    ValidationError
        Values outside ``[0, 1)`` or not finite.

    Examples
    --------
    >>> from polyfold.folding import global_folding
    >>> g = global_folding([0.0, 0.5, 0.25, 0.0, 0.75])
    >>> g.phi, g.fraction_flat, g.max
    (0.5, 0.4, 0.75)
    """
    if isinstance(values, (FoldingMeasureBatch, SpaceFoldingBatch)):
        values = values.chi
    elif isinstance(values, (list, tuple)) and values and isinstance(values[0], FoldingMeasure):
        values = [float(v.chi) for v in values]
    elif isinstance(values, (list, tuple)):
        values = [float(v) if isinstance(v, Fraction) else v for v in values]
    from ._validation import as_float_array

    v = as_float_array(values, "values").ravel()
    if v.size == 0:
        raise ShapeError("values is empty; pass at least one folding value.")
    if np.any(v < 0) or np.any(v >= 1):
        raise ValidationError(
            f"values must lie in [0, 1) (folding measures), got min {v.min()!r} and max "
            f"{v.max()!r}; pass chi values, not r1/r2 counts."
        )
    vals, counts = np.unique(v, return_counts=True)
    return _global_from_counts(vals, counts)


# ---------------------------------------------------------------------------
# exact walks of a network
# ---------------------------------------------------------------------------
def _check_net(net):
    if not isinstance(net, PLNet):
        raise ValidationError(
            f"net must be a polyfold.PLNet, got {type(net).__name__}; convert it with "
            "polyfold.from_torch, polyfold.from_sklearn or PLNet.from_arrays."
        )


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
        return self.output or self.kind == "threshold"

    @property
    def n_columns(self):
        return len(self.unit_labels)


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
    off = net.layer_offsets
    cols = np.concatenate([np.arange(off[l], off[l + 1]) for l in layers]).astype(np.int64) if layers else np.zeros(0, np.int64)
    labels = [net.unit_of(int(c)) for c in cols]
    if output:
        labels += [(depth, j) for j in range(net.output_dim)]
    cls_label = kind if kind != "threshold" else f"f(z)>{tau!r}"
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
    from .network import bits_from_codes, pieces_from_codes

    if conv.kind == "threshold":
        return None
    if conv.kind == "sign":
        return bits_from_codes(net, codes)[:, conv.hidden_cols]
    return pieces_from_codes(net, codes)[:, conv.hidden_cols]


def _values_at(net, S, E, pseg, pt, conv, exact, safety):
    """Split-unit values (f(z) of hidden columns for thresholds, logits for outputs)
    at the points ``(1 - pt) S[pseg] + pt E[pseg]``, with forward error bounds when
    ``safety`` is non-zero.

    The first layer is affine along each segment, so its values are interpolated
    from the two end points (no product with the input dimension per point)."""
    from .tolerance import UNIT_ROUNDOFF

    layers = net.exact_layers() if exact else net.layers
    W0, b0 = layers[0]
    if exact:
        from . import arith

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


def _split_pieces(base, seg_piece, ta, tb, va, vb, theta, exact, ea=None, eb=None, merge=0.0):
    """Split every piece where a split unit crosses its threshold.

    Returns rows (sub-intervals in order), the piece of each row, the start ``t`` of
    each row and a per-piece ambiguity mask (certified mode, when ``ea``/``eb`` bounds
    are given).
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
        band_a = ea if certified else 0.0
        band_b = eb if certified else 0.0
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
        from .arith import ONE, ZERO

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


def _walk_kernel(net, S, E, conv, mode, tolv):
    """Exact walks of segments ``S -> E`` under a convention.

    Returns dict: rows, counts (per segment), t (transition parameters, float),
    t_exact (list of Fraction or None), n_pieces, n_recomputed.
    """
    from . import arith
    from .crossings import segment_crossings

    m = len(S)
    exact = mode == "exact"
    certified = mode == "certified"
    sc = segment_crossings(net, S, E, mode=mode, tol=tolv)
    P = int(sc.piece_offsets[-1])
    seg = np.repeat(np.arange(m), sc.n_pieces)
    firstp = np.zeros(P, bool)
    firstp[sc.piece_offsets[:-1]] = True
    # start parameter of every piece; piece j (not first) starts at breakpoint j - seg - 1
    bp_index = np.arange(P) - seg - 1
    if exact:
        tq = np.array([arith.fmpq(v.numerator, v.denominator) for v in sc.t_exact] + [arith.ZERO], dtype=object)
        ta = np.empty(P, dtype=object)
        ta[:] = arith.ZERO
        ta[~firstp] = tq[bp_index[~firstp]]
    else:
        ta = np.zeros(P)
        ta[~firstp] = sc.t[bp_index[~firstp]]
    base = _base_rows(net, sc.codes, conv)
    n_recomputed = sc.n_recomputed
    if not conv.needs_split:
        rows, counts, tt = _merge_rows(base, seg, ta, m)
    else:
        # points: [0, breakpoints..., 1] per segment; piece j spans points j+seg, j+seg+1
        left = np.arange(P) + seg
        n_pts = P + m
        if exact:
            pt = np.empty(n_pts, dtype=object)
        else:
            pt = np.empty(n_pts)
        pt[left] = ta
        last_pts = sc.piece_offsets[1:] + np.arange(m)
        pt[last_pts] = arith.ONE if exact else 1.0
        pseg = np.repeat(np.arange(m), sc.n_pieces + 1)
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
            # breakpoint parameters are known to about tol.merge: widen by slope * merge
            dt = np.maximum(tb - ta, np.finfo(float).tiny)
            slope_err = np.abs(vb - va) / dt[:, None] * tolv.merge
            ea = Ev[left] + np.where(firstp[:, None], 0.0, slope_err)
            lastp = np.zeros(P, bool)
            lastp[sc.piece_offsets[1:] - 1] = True
            eb = Ev[left + 1] + np.where(lastp[:, None], 0.0, slope_err)
        rows, row_piece, t_start, amb = _split_pieces(
            base, seg, ta, tb, va, vb, theta, exact, ea, eb,
            merge=0.0 if exact else tolv.merge,
        )
        rows, counts, tt = _merge_rows(rows, seg[row_piece], t_start, m)
        if certified and amb.any():
            ids = np.unique(seg[amb])
            ex = _walk_kernel(net, S[ids], E[ids], conv, "exact", tolv)
            rows, counts, tt = _splice_walks(rows, counts, tt, ex, ids, m)
            n_recomputed = int(np.count_nonzero(sc.exact_segments | np.isin(np.arange(m), ids)))
    t_exact = None
    if exact:
        t_exact = [arith.to_fraction(v) for v in tt]
        tt = np.array([float(v) for v in t_exact], dtype=np.float64)
    else:
        tt = np.asarray(tt, dtype=np.float64)
    return {
        "rows": rows,
        "counts": counts,
        "t": tt,
        "t_exact": t_exact,
        "n_pieces": sc.n_pieces,
        "n_recomputed": n_recomputed,
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


@dataclass(frozen=True)
class SpaceFolding:
    """Space folding of one path ``x1 -> x2`` computed on its exact walk.

    Attributes
    ----------
    chi : Fraction
    r1, r2 : int
    displacement : int
        ``d_H`` between the first and the last class.
    n_regions : int
        Classes visited (consecutive equal classes merged).
    walk : (n_regions, n_units) bool (int8 for ``classes="piece"``)
    prefix : PrefixCurve
    breakpoints : list of Fraction (exact mode) or (n_regions - 1,) float
        Parameters ``t`` where the class changes.
    chi_reversed : Fraction
        ``chi`` of the reversed walk (``x2 -> x1``).
    chi_symmetric : Fraction
        ``(chi + chi_reversed) / 2``.
    n_pieces : int
        Linear pieces of the segment (hidden codes), before merging by class.
    mode, units, classes : str
        The conventions used (``units``: ``"hidden"``, ``"hidden+output"`` or
        ``"layers[...]"``; ``classes``: ``"sign"``, ``"piece"`` or ``"f(z)>tau"``).
    unit_labels : tuple of (layer, neuron)
        Unit of every walk column; ``layer == net.depth`` is the output layer.
    """

    chi: Fraction
    r1: int
    r2: int
    displacement: int
    n_regions: int
    walk: np.ndarray = field(repr=False)
    prefix: PrefixCurve = field(repr=False)
    breakpoints: object = field(repr=False)
    chi_reversed: Fraction = field(repr=False)
    chi_symmetric: Fraction = field(repr=False)
    n_pieces: int = field(repr=False)
    mode: str = "certified"
    units: str = "hidden"
    classes: str = "sign"
    unit_labels: tuple = field(default=(), repr=False)


@dataclass(frozen=True)
class SpaceFoldingBatch:
    """Space folding of many paths (flat walks plus offsets).

    Attributes
    ----------
    n_paths : int
    measures : FoldingMeasureBatch
        ``r1``, ``r2``, ``chi``, prefix maxima, ... per path.
    walk_offsets : (m + 1,) int64
    walks : (total, n_units) bool or int8
        All walks one after the other.
    t_offsets : (m + 1,) int64
    t : (total - m,) float64
        Parameters where the class changes, per path in order.
    t_exact : list of Fraction or None
        The same, exact (exact mode only).
    n_pieces : (m,) int64
        Linear pieces of every segment before merging by class.
    n_recomputed : int
        Segments recomputed in exact arithmetic (certified mode).
    mode, units, classes : str
    unit_labels : tuple of (layer, neuron)
    """

    n_paths: int
    measures: FoldingMeasureBatch = field(repr=False)
    walk_offsets: np.ndarray = field(repr=False)
    walks: np.ndarray = field(repr=False)
    t_offsets: np.ndarray = field(repr=False)
    t: np.ndarray = field(repr=False)
    t_exact: object = field(repr=False)
    n_pieces: np.ndarray = field(repr=False)
    n_recomputed: int = 0
    mode: str = "certified"
    units: str = "hidden"
    classes: str = "sign"
    unit_labels: tuple = field(default=(), repr=False)

    @property
    def chi(self):
        """(m,) float chi per path."""
        return self.measures.chi

    @property
    def r1(self):
        return self.measures.r1

    @property
    def r2(self):
        return self.measures.r2

    @property
    def n_regions(self):
        return self.measures.n_regions

    def chi_exact(self, i=None):
        """chi of path ``i`` (or all paths) as exact Fractions."""
        return self.measures.chi_exact(i)

    def walk(self, i):
        """(k_i, n_units) walk of path ``i``."""
        return self.walks[self.walk_offsets[i] : self.walk_offsets[i + 1]]

    def breakpoints(self, i):
        """Class-change parameters of path ``i`` (Fractions in exact mode)."""
        a, b = self.t_offsets[i], self.t_offsets[i + 1]
        if self.t_exact is not None:
            return list(self.t_exact[a:b])
        return self.t[a:b].copy()

    def reversed_measures(self):
        """FoldingMeasureBatch of the reversed walks (paths ``x2 -> x1``)."""
        off = self.walk_offsets
        seg = np.repeat(np.arange(self.n_paths), np.diff(off))
        idx = off[seg] + off[seg + 1] - 1 - np.arange(len(seg))
        return _measure_flat(self.walks[idx], off)

    def path(self, i):
        """:class:`SpaceFolding` of path ``i``."""
        w = self.walk(i)
        m = self.measures.measure(i)
        rev = folding_measure(w[::-1]).chi
        return SpaceFolding(
            chi=m.chi,
            r1=m.r1,
            r2=m.r2,
            displacement=m.displacement,
            n_regions=m.n_regions,
            walk=w,
            prefix=prefix_curve(w),
            breakpoints=self.breakpoints(i),
            chi_reversed=rev,
            chi_symmetric=(m.chi + rev) / 2,
            n_pieces=int(self.n_pieces[i]),
            mode=self.mode,
            units=self.units,
            classes=self.classes,
            unit_labels=self.unit_labels,
        )

    def __len__(self):
        return self.n_paths


def space_folding_batch(net, starts, ends, *, mode="certified", units="hidden", classes="sign", tol=None):
    """Space folding of many straight paths, on their exact walks.

    Parameters
    ----------
    net : PLNet
    starts, ends : (m, input_dim) or (input_dim,) float
        Path ``i`` is ``(1 - t) starts[i] + t ends[i]``, ``t`` in [0, 1].
    mode : {"certified", "float", "exact"}
        Arithmetic of the segment partition (:func:`polyfold.segment_crossings`) and
        of the class splitting below.
    units : {"hidden", "hidden+output"} or list of int
        Units that give classes: all hidden neurons (default, the papers'
        convention), hidden plus output units (bit ``logit > 0``; with a threshold
        ``tau``, ``logit > tau``), or a list of layer indices (``0 .. depth - 1``
        hidden, ``depth`` or ``-1`` the output layer).
    classes : {"sign", "piece"} or float
        ``"sign"``: bit ``f(z) > 0`` (for ReLU, leaky ReLU and hard tanh the same as
        ``z > 0``); ``"piece"``: the linear-piece index of each activation (hard tanh
        saturation counts, i.e. true linear regions); a float ``tau``: bit
        ``f(z) > tau`` (``0.0`` is ``"sign"``).
    tol : Tolerance, optional

    Returns
    -------
    SpaceFoldingBatch

    Raises
    ------
    ShapeError
        ``starts``/``ends`` of the wrong shape or empty.
    ValidationError
        Unknown ``mode``, ``units`` or ``classes``.

    Notes
    -----
    The walk is the sequence of classes of the open pieces of the segment, with
    consecutive equal classes merged.  For output units and for thresholds
    ``tau != 0`` the class can change inside a linear piece: there the values are
    affine in ``t`` (the activation pattern is fixed), so each piece is split where
    a value crosses its threshold, computed from the values at the piece ends.  In
    certified mode these decisions are made in float64 against a bound made of the
    forward rounding error and the breakpoint uncertainty ``tol.merge``; a segment
    with an undecided sign, a value at its threshold or two nearly equal cuts is
    recomputed in exact arithmetic.  For ReLU and ``tau < 0`` every bit is 1 (one
    class); thresholds do not give a monotone number of classes in general (see the
    user guide).

    Examples
    --------
    >>> import polyfold
    >>> from polyfold.folding import space_folding_batch
    >>> net = polyfold.zoo.sawtooth(2)
    >>> res = space_folding_batch(net, [[0.0], [0.0]], [[1.0], [0.5]], mode="exact")
    >>> [str(c) for c in res.chi_exact()]
    ['1/3', '0']
    """
    _check_net(net)
    check_mode(mode)
    from .tolerance import get_tol

    tolv = get_tol(tol)
    conv = _resolve_convention(net, units, classes)
    S, E, _ = check_segments(starts, ends, net.input_dim)
    if len(S) == 0:
        raise ShapeError("starts and ends hold no paths (shape (0, d)); pass at least one path.")
    return _batch_from_kernel(net, S, E, conv, mode, tolv)


def _batch_from_kernel(net, S, E, conv, mode, tolv):
    k = _walk_kernel(net, S, E, conv, mode, tolv)
    counts = k["counts"]
    off = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return SpaceFoldingBatch(
        n_paths=len(S),
        measures=_measure_flat(k["rows"], off),
        walk_offsets=off,
        walks=k["rows"],
        t_offsets=np.concatenate([[0], np.cumsum(counts - 1)]).astype(np.int64),
        t=k["t"],
        t_exact=k["t_exact"],
        n_pieces=k["n_pieces"],
        n_recomputed=int(k["n_recomputed"]),
        mode=mode,
        units=conv.units_label,
        classes=conv.classes_label,
        unit_labels=conv.unit_labels,
    )


def space_folding(net, x1, x2, *, mode="certified", units="hidden", classes="sign", tol=None):
    """Space folding ``chi`` of the straight path ``x1 -> x2``, computed exactly.

    Parameters
    ----------
    net : PLNet
    x1, x2 : (input_dim,) float
        Path end points.
    mode, units, classes, tol
        As :func:`space_folding_batch`.

    Returns
    -------
    SpaceFolding
        ``chi`` (exact Fraction), ``r1``, ``r2``, the walk, the prefix curve, the
        breakpoints where the class changes, the reversed and symmetrised measures.

    Raises
    ------
    ShapeError
        ``x1``/``x2`` not of shape ``(input_dim,)``.
    ValidationError
        Unknown ``mode``, ``units`` or ``classes``.

    References
    ----------
    Lewandowski et al., "On Space Folds of ReLU Neural Networks", TMLR 2025.

    Examples
    --------
    >>> import polyfold
    >>> from polyfold.folding import space_folding
    >>> res = space_folding(polyfold.zoo.sawtooth(3), [0.0], [1.0], mode="exact")
    >>> res.chi, res.r1, res.r2, res.n_regions
    (Fraction(4, 7), 3, 7, 8)
    >>> res.breakpoints[:2]
    [Fraction(1, 8), Fraction(1, 4)]
    """
    _check_net(net)
    d = net.input_dim
    for name, x in (("x1", x1), ("x2", x2)):
        if np.ndim(x) != 1 or np.shape(x)[0] != d:
            raise ShapeError(
                f"{name} must be one point of shape ({d},) to match net.input_dim={d}, got "
                f"shape {np.shape(x)}; use space_folding_batch for many paths."
            )
    res = space_folding_batch(
        net, np.reshape(x1, (1, d)), np.reshape(x2, (1, d)), mode=mode, units=units,
        classes=classes, tol=tol,
    )
    return res.path(0)


# ---------------------------------------------------------------------------
# class-pair aggregation
# ---------------------------------------------------------------------------
class _FractionCounts:
    """Multiset of rationals ``1 - r1/r2`` stored as reduced (num, den) -> count.

    Memory grows with the number of distinct values (small: denominators are path
    lengths), not with the number of paths, so 1M paths per pair stream in
    constant memory."""

    _SHIFT = np.int64(1) << np.int64(31)

    def __init__(self):
        self.counts = {}

    def add(self, r1, r2):
        r1 = np.asarray(r1, np.int64)
        r2 = np.asarray(r2, np.int64)
        num = np.where(r2 > 0, r2 - r1, 0)
        den = np.where(r2 > 0, r2, 1)
        g = np.gcd(num, den)
        g[g == 0] = 1
        key = (num // g) * self._SHIFT + den // g
        k, c = np.unique(key, return_counts=True)
        for a, b in zip(k.tolist(), c.tolist()):
            self.counts[a] = self.counts.get(a, 0) + b

    def merge(self, other):
        for a, b in other.counts.items():
            self.counts[a] = self.counts.get(a, 0) + b

    def _sorted(self):
        keys = np.array(sorted(self.counts), dtype=np.int64)
        num, den = keys // self._SHIFT, keys % self._SHIFT
        vals = num / den
        order = np.argsort(vals, kind="stable")
        cnt = np.array([self.counts[int(k)] for k in keys[order]], dtype=np.int64)
        return vals[order], cnt, num[order], den[order]

    def summary(self):
        vals, cnt, _, _ = self._sorted()
        return _global_from_counts(vals, cnt)

    def max_fraction(self):
        _, _, num, den = self._sorted()
        return Fraction(int(num[-1]), int(den[-1]))


@dataclass(frozen=True)
class ClassPairFolding:
    """Folding between the classes of a labelled data set (TMLR Algorithm 2).

    Attributes
    ----------
    labels : (C,) array
        Class labels, in the order of the matrix rows / columns.
    pair_max : (C, C) float
        Per ordered pair ``(a, b)`` (row ``a`` = start class), the maximum of the
        non-zero ``chi`` over its paths (0 when all its paths are flat); NaN for
        pairs not computed (the diagonal unless ``same_class``).  The heat map.
    pair_max_exact : dict
        ``{(a, b): Fraction}`` the same values, exact.
    pair_phi : (C, C) float
        Per pair, the median of the non-zero ``chi`` (0 when none).
    pair_fraction_flat : (C, C) float
        Per pair, the share of flat paths.
    pair_max_median : float or None
        Reading 1: median over ordered pairs of ``pair_max``.
    path_prefix_max_median : float or None
        Reading 2: per path the maximum of its prefix curve, then the median of the
        non-zero ones over all paths (as ``Phi_N``).
    chi_summary : GlobalFolding
        Distribution of ``chi`` over all paths.
    prefix_max_summary : GlobalFolding
        Distribution of the per-path prefix maxima over all paths.
    fraction_flat : float
        Share of flat paths over all pairs.
    n_paths_per_pair : int
    n_pairs : int
    n_paths : int
    n_recomputed : int
    reading, mode, units, classes : str
    seed : object
        The ``seed`` argument as given (int or None; ``"Generator"`` for a Generator).
    elapsed : float
        Seconds spent.
    """

    labels: np.ndarray
    pair_max: np.ndarray = field(repr=False)
    pair_max_exact: dict = field(repr=False)
    pair_phi: np.ndarray = field(repr=False)
    pair_fraction_flat: np.ndarray = field(repr=False)
    pair_max_median: object
    path_prefix_max_median: object
    chi_summary: GlobalFolding = field(repr=False)
    prefix_max_summary: GlobalFolding = field(repr=False)
    fraction_flat: float
    n_paths_per_pair: int
    n_pairs: int
    n_paths: int
    n_recomputed: int = 0
    reading: str = "both"
    mode: str = "certified"
    units: str = "hidden"
    classes: str = "sign"
    seed: object = None
    elapsed: float = 0.0

    def as_dict(self):
        """Plain dict (JSON friendly; the matrix as nested lists, NaN as None)."""

        def mat(a):
            return [[None if np.isnan(v) else float(v) for v in row] for row in a]

        return {
            "labels": [int(v) if isinstance(v, (int, np.integer)) else str(v) for v in self.labels],
            "pair_max": mat(self.pair_max),
            "pair_phi": mat(self.pair_phi),
            "pair_fraction_flat": mat(self.pair_fraction_flat),
            "pair_max_median": self.pair_max_median,
            "path_prefix_max_median": self.path_prefix_max_median,
            "chi_summary": self.chi_summary.as_dict(),
            "prefix_max_summary": self.prefix_max_summary.as_dict(),
            "fraction_flat": self.fraction_flat,
            "n_paths_per_pair": self.n_paths_per_pair,
            "n_pairs": self.n_pairs,
            "n_paths": self.n_paths,
            "n_recomputed": self.n_recomputed,
            "reading": self.reading,
            "mode": self.mode,
            "units": self.units,
            "classes": self.classes,
            "seed": self.seed,
            "elapsed": self.elapsed,
        }


def _check_labelled(net, X, y):
    from ._validation import as_float_array

    X = as_float_array(X, "X")
    if X.ndim != 2 or X.shape[1] != net.input_dim:
        raise ShapeError(
            f"X must have shape (n, {net.input_dim}) to match net.input_dim="
            f"{net.input_dim}, got {X.shape}; flatten images with X.reshape(len(X), -1)."
        )
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(X):
        raise ShapeError(
            f"y must be a 1-D array of {len(X)} labels (one per row of X), got shape {y.shape}."
        )
    labels, counts = np.unique(y, return_counts=True)
    if len(labels) < 2:
        raise ValidationError(
            f"y must contain at least 2 classes to form class pairs, got {len(labels)}."
        )
    small = labels[counts < 2]
    if len(small):
        raise ValidationError(
            f"every class needs at least 2 samples, but class(es) {small.tolist()} have "
            f"fewer (counts {counts[counts < 2].tolist()}); drop those classes from X, y."
        )
    return X, y, labels


def class_pair_folding(
    net,
    X,
    y,
    *,
    paths_per_pair=1000,
    seed=0,
    reading="both",
    mode="certified",
    units="hidden",
    classes="sign",
    tol=None,
    pairs=None,
    same_class=False,
    chunk_size=4096,
    progress=False,
):
    """Space folding between every ordered pair of classes of a data set.

    For every ordered pair of classes ``(a, b)``, ``a != b`` (also ``a == b`` with
    ``same_class=True``), draw
    ``paths_per_pair`` random paths from a sample of class ``a`` to one of class
    ``b`` (uniformly, with replacement) and compute their exact folding.

    Parameters
    ----------
    net : PLNet
    X : (n, input_dim) float
        Samples (for example a test set).
    y : (n,) labels
        Every class needs at least 2 samples.
    paths_per_pair : int
        Paths per ordered class pair (the papers use up to 1M; memory stays
        constant, chunks of ``chunk_size`` are processed at a time).
    seed : int, None or numpy Generator
        Every pair draws its endpoints from its own generator seeded from ``seed``,
        so results do not depend on ``chunk_size`` or on the order of ``pairs``.
    reading : {"both", "pair_max_median", "path_prefix_max_median"}
        Which aggregate to report (spec section 6); both are cheap, the other one
        is set to None.
    mode, units, classes, tol
        As :func:`space_folding_batch`.
    pairs : sequence of (a, b), optional
        Restrict to these ordered label pairs (default: all).
    same_class : bool
        Also use the pairs ``(a, a)`` (paths inside one class): the papers count
        "100 ordered digit pairs", which includes them; default False (``C (C - 1)``
        pairs).
    chunk_size : int
        Paths per batched call.
    progress : bool
        Show a tqdm progress bar over pairs.

    Returns
    -------
    ClassPairFolding
        The per-pair matrix (heat map), both readings, summaries and counts.

    Raises
    ------
    ShapeError
        ``X``/``y`` of the wrong shape.
    ValidationError
        Fewer than 2 classes, a class with fewer than 2 samples, unknown ``reading``,
        bad ``pairs``.

    Notes
    -----
    *Reading 1* (``pair_max_median``): per pair the maximum of the non-zero
    ``chi`` (a pair whose paths are all flat contributes 0), then the median over
    pairs.  *Reading 2* (``path_prefix_max_median``): per path the maximum of its
    prefix curve, then the median of the non-zero values over all paths.  The
    published wording ("aggregated median of maxima of non-zero space folding")
    admits both.

    Examples
    --------
    >>> import numpy as np, polyfold
    >>> from polyfold.folding import class_pair_folding
    >>> net = polyfold.zoo.random_mlp((4, 4), 2, seed=1)
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, (20, 2)); y = np.arange(20) % 2
    >>> res = class_pair_folding(net, X, y, paths_per_pair=10, seed=0)
    >>> res.pair_max.shape, res.n_paths
    ((2, 2), 20)
    """
    import time

    _check_net(net)
    check_mode(mode)
    from .tolerance import get_tol

    tolv = get_tol(tol)
    conv = _resolve_convention(net, units, classes)
    reading = check_choice("reading", reading, ("both",) + READINGS)
    paths_per_pair = check_positive_int(paths_per_pair, "paths_per_pair")
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    X, y, labels = _check_labelled(net, X, y)
    seed_label = "Generator" if isinstance(seed, np.random.Generator) else seed
    rng = check_seed(seed)
    C = len(labels)
    pos = {v.item() if hasattr(v, "item") else v: i for i, v in enumerate(labels)}
    all_pairs = [(a, b) for a in range(C) for b in range(C) if a != b or same_class]
    # one child seed per cell of the C x C pair grid: reproducible for any subset,
    # order or chunk size
    child = rng.integers(0, 2**63 - 1, size=C * C)
    child_of = {(a, b): int(child[a * C + b]) for a in range(C) for b in range(C)}
    if pairs is None:
        todo = all_pairs
    else:
        todo = []
        for p in pairs:
            try:
                a, b = p
                ia, ib = pos[a.item() if hasattr(a, "item") else a], pos[b.item() if hasattr(b, "item") else b]
            except (TypeError, ValueError, KeyError) as err:
                raise ValidationError(
                    f"pairs must hold (a, b) label pairs with labels from {labels.tolist()}, "
                    f"got {p!r}."
                ) from err
            if ia == ib and not same_class:
                raise ValidationError(
                    f"pairs must hold distinct labels, got {p!r}; pass same_class=True for "
                    "paths inside one class."
                )
            todo.append((ia, ib))
    members = [np.nonzero(y == labels[i])[0] for i in range(C)]
    pair_max = np.full((C, C), np.nan)
    pair_phi = np.full((C, C), np.nan)
    pair_flat = np.full((C, C), np.nan)
    pair_exact = {}
    all_chi = _FractionCounts()
    all_pmax = _FractionCounts()
    n_rec = 0
    t0 = time.perf_counter()
    it = todo
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(todo, desc="class pairs")
    for ia, ib in it:
        # separate streams for starts and ends, one double per draw: the same
        # endpoints for every chunk_size
        ss_a, ss_b = np.random.SeedSequence(child_of[(ia, ib)]).spawn(2)
        rng_a, rng_b = np.random.default_rng(ss_a), np.random.default_rng(ss_b)
        na, nb = len(members[ia]), len(members[ib])
        counts = _FractionCounts()
        done = 0
        while done < paths_per_pair:
            n = min(chunk_size, paths_per_pair - done)
            i = members[ia][np.minimum((rng_a.random(n) * na).astype(np.int64), na - 1)]
            j = members[ib][np.minimum((rng_b.random(n) * nb).astype(np.int64), nb - 1)]
            res = _batch_from_kernel(net, X[i], X[j], conv, mode, tolv)
            ms = res.measures
            counts.add(ms.r1, ms.r2)
            all_pmax.add(ms.prefix_max_r1, ms.prefix_max_r2)
            n_rec += res.n_recomputed
            done += n
        all_chi.merge(counts)
        s = counts.summary()
        mx = counts.max_fraction()
        pair_exact[(labels[ia].item(), labels[ib].item())] = mx
        pair_max[ia, ib] = float(mx)
        pair_phi[ia, ib] = s.phi
        pair_flat[ia, ib] = s.fraction_flat
    elapsed = time.perf_counter() - t0
    vals = np.array([pair_max[a, b] for a, b in todo])
    chi_summary = all_chi.summary()
    pmax_summary = all_pmax.summary()
    return ClassPairFolding(
        labels=labels,
        pair_max=pair_max,
        pair_max_exact=pair_exact,
        pair_phi=pair_phi,
        pair_fraction_flat=pair_flat,
        pair_max_median=float(np.median(vals)) if reading != "path_prefix_max_median" else None,
        path_prefix_max_median=pmax_summary.phi if reading != "pair_max_median" else None,
        chi_summary=chi_summary,
        prefix_max_summary=pmax_summary,
        fraction_flat=chi_summary.fraction_flat,
        n_paths_per_pair=paths_per_pair,
        n_pairs=len(todo),
        n_paths=len(todo) * paths_per_pair,
        n_recomputed=n_rec,
        reading=reading,
        mode=mode,
        units=conv.units_label,
        classes=conv.classes_label,
        seed=seed_label,
        elapsed=elapsed,
    )


# ---------------------------------------------------------------------------
# sampled counterparts
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SampledFolding:
    """Folding measured on sampled walks (what the papers' code computes).

    Attributes
    ----------
    method : str
        ``"grid<n>"`` or ``"bisection(eps=...)"``.
    measures : FoldingMeasureBatch
    walk_offsets : (m + 1,) int64
    walks : (total, n_units) bool or int8
    n_evaluations : (m,) int64
        Forward passes per path.
    """

    method: str
    measures: FoldingMeasureBatch = field(repr=False)
    walk_offsets: np.ndarray = field(repr=False)
    walks: np.ndarray = field(repr=False)
    n_evaluations: np.ndarray = field(repr=False)

    @property
    def chi(self):
        return self.measures.chi

    def walk(self, i):
        return self.walks[self.walk_offsets[i] : self.walk_offsets[i + 1]]


def _classes_at(net, X, conv):
    """Classes (n, n_units) of points under a convention (float evaluation)."""
    from .network import bits_from_codes, codes_from_preactivations, pieces_from_codes

    zs = []
    posts = []
    h = X
    for l, (W, b) in enumerate(net.layers):
        z = h @ W.T + b
        zs.append(z)
        if l < net.depth:
            h = net.activations[l].apply(z)
            posts.append(h)
    cols = []
    if conv.kind == "threshold":
        if len(conv.hidden_cols):
            cols.append(np.concatenate(posts, axis=1)[:, conv.hidden_cols] > conv.tau)
    elif net.depth:
        codes = codes_from_preactivations(net, zs[:-1])
        base = bits_from_codes(net, codes) if conv.kind == "sign" else pieces_from_codes(net, codes)
        cols.append(base[:, conv.hidden_cols])
    if conv.output:
        cols.append(zs[-1] > (conv.tau if conv.kind == "threshold" else 0.0))
    if conv.kind == "piece":
        cols = [c.astype(np.int8) for c in cols]
    return np.concatenate(cols, axis=1) if cols else np.zeros((len(X), 0), bool)


def _grid_walks(net, S, E, conv, n_points):
    ts = np.linspace(0.0, 1.0, n_points)
    m = len(S)
    rows = []
    per = max(1, 2_000_000 // max(n_points, 1))
    for a in range(0, m, per):
        b = min(a + per, m)
        Xs = S[a:b, None, :] * (1.0 - ts)[None, :, None] + E[a:b, None, :] * ts[None, :, None]
        rows.append(_classes_at(net, Xs.reshape((b - a) * n_points, -1), conv))
    off = np.arange(m + 1, dtype=np.int64) * n_points
    return np.concatenate(rows, axis=0), off, np.full(m, n_points, np.int64)


def _bisect_walks(net, S, E, conv, eps, max_evaluations):
    """Adaptive bisection on classes: split while the end classes differ."""
    m = len(S)
    seg = [np.repeat(np.arange(m), 2)]
    t = [np.tile([0.0, 1.0], m)]
    X0 = np.empty((2 * m, S.shape[1]))
    X0[0::2], X0[1::2] = S, E
    cls = [_classes_at(net, X0, conv)]
    evals = np.full(m, 2, np.int64)
    flat_t, flat_c, flat_s = t[0], cls[0], seg[0]
    lo = np.arange(0, 2 * m, 2)
    hi = lo + 1
    while len(lo):
        split = np.any(flat_c[lo] != flat_c[hi], axis=1)
        split &= (flat_t[hi] - flat_t[lo]) >= eps
        split &= evals[flat_s[lo]] < max_evaluations
        lo, hi = lo[split], hi[split]
        if not len(lo):
            break
        sg = flat_s[lo]
        tm = 0.5 * (flat_t[lo] + flat_t[hi])
        cm = _classes_at(net, S[sg] * (1.0 - tm)[:, None] + E[sg] * tm[:, None], conv)
        np.add.at(evals, sg, 1)
        mid = len(flat_t) + np.arange(len(lo))
        flat_t = np.concatenate([flat_t, tm])
        flat_c = np.concatenate([flat_c, cm], axis=0)
        flat_s = np.concatenate([flat_s, sg])
        lo, hi = np.concatenate([lo, mid]), np.concatenate([mid, hi])
    order = np.lexsort((flat_t, flat_s))
    counts = np.bincount(flat_s, minlength=m)
    return flat_c[order], np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), evals


def _dedup_flat(rows, off):
    """Drop consecutive repeats within each walk of flat rows plus offsets."""
    m = len(off) - 1
    seg = np.repeat(np.arange(m), np.diff(off))
    keep = np.ones(len(rows), bool)
    if len(rows) > 1:
        keep[1:] = (seg[1:] != seg[:-1]) | np.any(rows[1:] != rows[:-1], axis=1)
    counts = np.bincount(seg[keep], minlength=m)
    return rows[keep], np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def _codes_to_classes(net, codes, conv):
    from .network import bits_from_codes, pieces_from_codes

    if conv.kind == "sign":
        return bits_from_codes(net, codes)[:, conv.hidden_cols]
    return pieces_from_codes(net, codes)[:, conv.hidden_cols]


def sampled_folding(
    net, starts, ends, *, method="grid", n_points=11, eps=1e-6, max_evaluations=1_000_000,
    units="hidden", classes="sign",
):
    """Folding measured on sampled walks: an ``n``-point grid or adaptive bisection.

    Parameters
    ----------
    net : PLNet
    starts, ends : (m, input_dim) or (input_dim,) float
    method : {"grid", "bisection"}
        ``"grid"``: classes at ``n_points`` equally spaced ``t`` (the authors'
        CantorNet code uses 11).  ``"bisection"``: split ``[ta, tb]`` while the
        classes at its ends differ and ``tb - ta >= eps``.
    n_points : int >= 2
    eps : float in (0, 1)
    max_evaluations : int
        Bisection budget per path.
    units, classes
        As :func:`space_folding_batch`.

    Returns
    -------
    SampledFolding

    Notes
    -----
    For hidden-unit conventions the samplers of :mod:`polyfold.sampling` are used
    (codes, mapped to classes afterwards); output units and thresholds use the same
    algorithms on the classes directly.  A grid can skip regions, so its ``chi``
    can be above or below the exact one.  Bisection is exact up to ``eps`` when
    classes are convex (ReLU sign patterns); for non-convex classes (thresholds
    ``tau != 0``) it is a heuristic.

    Examples
    --------
    >>> import polyfold
    >>> from polyfold.folding import sampled_folding
    >>> net = polyfold.zoo.sawtooth(4)
    >>> res = sampled_folding(net, [0.01], [0.99], n_points=11)
    >>> res.measures.chi_exact(0), res.measures.n_regions.tolist()   # exact: 11/15, 16
    (Fraction(16, 19), [11])
    """
    _check_net(net)
    conv = _resolve_convention(net, units, classes)
    method = check_choice("method", method, ("grid", "bisection"))
    S, E, _ = check_segments(starts, ends, net.input_dim)
    if len(S) == 0:
        raise ShapeError("starts and ends hold no paths (shape (0, d)); pass at least one path.")
    if method == "grid":
        n_points = check_positive_int(n_points, "n_points", minimum=2)
        label = f"grid{n_points}"
    else:
        if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0 < eps < 1:
            raise ValidationError(f"eps must be a number in (0, 1), got {eps!r}; try eps=1e-6.")
        max_evaluations = check_positive_int(max_evaluations, "max_evaluations", minimum=2)
        label = f"bisection(eps={eps:g})"
    if not conv.needs_split and net.depth:
        from . import sampling

        if method == "grid":
            sw = sampling.grid_patterns(net, S, E, n_points)
        else:
            sw = sampling.bisection_patterns(net, S, E, eps=float(eps), max_evaluations=max_evaluations)
        rows = _codes_to_classes(net, sw.codes, conv)
        off, evals = sw.piece_offsets, sw.n_evaluations
    elif method == "grid":
        rows, off, evals = _grid_walks(net, S, E, conv, n_points)
    else:
        rows, off, evals = _bisect_walks(net, S, E, conv, float(eps), max_evaluations)
    rows, off = _dedup_flat(rows, off)
    measures = _measure_flat(rows, off)
    return SampledFolding(method=label, measures=measures, walk_offsets=off, walks=rows, n_evaluations=evals)


@dataclass(frozen=True)
class SamplingError:
    """Error of a sampled folding estimate against the exact value.

    Attributes
    ----------
    method : str
    exact : FoldingMeasureBatch
    sampled : FoldingMeasureBatch
    chi_error : (m,) float
        ``chi_sampled - chi_exact`` per path.
    abs_error_mean, abs_error_max : float
    fraction_wrong : float
        Share of paths whose sampled ``chi`` differs from the exact one (compared
        exactly, as rationals).
    regions_missed : (m,) int64
        Exact classes minus sampled classes per path (negative only if a sample hit
        a boundary and saw a class of zero length).
    n_evaluations : (m,) int64
    """

    method: str
    exact: FoldingMeasureBatch = field(repr=False)
    sampled: FoldingMeasureBatch = field(repr=False)
    chi_error: np.ndarray = field(repr=False)
    abs_error_mean: float
    abs_error_max: float
    fraction_wrong: float
    regions_missed: np.ndarray = field(repr=False)
    n_evaluations: np.ndarray = field(repr=False)

    def as_dict(self):
        return {
            "method": self.method,
            "abs_error_mean": self.abs_error_mean,
            "abs_error_max": self.abs_error_max,
            "fraction_wrong": self.fraction_wrong,
            "regions_missed_mean": float(np.mean(self.regions_missed)),
            "regions_missed_total": int(np.sum(self.regions_missed)),
            "exact_regions_mean": float(np.mean(self.exact.n_regions)),
            "evaluations_mean": float(np.mean(self.n_evaluations)),
        }


def sampling_error(
    net, starts, ends, *, method="grid", n_points=11, eps=1e-6, max_evaluations=1_000_000,
    mode="certified", units="hidden", classes="sign", tol=None, exact=None,
):
    """How far sampled folding is from the exact value on the same paths.

    Parameters
    ----------
    net : PLNet
    starts, ends : (m, input_dim) or (input_dim,) float
    method, n_points, eps, max_evaluations
        The sampler (:func:`sampled_folding`).
    mode, units, classes, tol
        The exact computation (:func:`space_folding_batch`).
    exact : SpaceFoldingBatch, optional
        Reuse an exact result on the same paths and conventions.

    Returns
    -------
    SamplingError

    Examples
    --------
    >>> import polyfold
    >>> from polyfold.folding import sampling_error
    >>> err = sampling_error(polyfold.zoo.sawtooth(4), [0.01], [0.99], n_points=11)
    >>> err.exact.chi_exact(0), err.sampled.chi_exact(0), err.regions_missed.tolist()
    (Fraction(11, 15), Fraction(16, 19), [5])
    """
    _check_net(net)
    S, E, _ = check_segments(starts, ends, net.input_dim)
    if exact is None:
        exact = space_folding_batch(net, S, E, mode=mode, units=units, classes=classes, tol=tol)
    elif not isinstance(exact, SpaceFoldingBatch) or exact.n_paths != len(S):
        raise ValidationError(
            f"exact must be a SpaceFoldingBatch on the same {len(S)} paths, got "
            f"{type(exact).__name__}; leave exact=None to compute it."
        )
    sp = sampled_folding(
        net, S, E, method=method, n_points=n_points, eps=eps, max_evaluations=max_evaluations,
        units=units, classes=classes,
    )
    ex, sm = exact.measures, sp.measures
    err = sm.chi - ex.chi
    # exact comparison of (r2 - r1)/r2 as rationals
    ne = np.where(ex.r2 > 0, ex.r2 - ex.r1, 0)
    de = np.where(ex.r2 > 0, ex.r2, 1)
    ns = np.where(sm.r2 > 0, sm.r2 - sm.r1, 0)
    ds = np.where(sm.r2 > 0, sm.r2, 1)
    wrong = ne * ds != ns * de
    return SamplingError(
        method=sp.method,
        exact=ex,
        sampled=sm,
        chi_error=err,
        abs_error_mean=float(np.mean(np.abs(err))),
        abs_error_max=float(np.max(np.abs(err))),
        fraction_wrong=float(np.mean(wrong)),
        regions_missed=(ex.n_regions - sm.n_regions).astype(np.int64),
        n_evaluations=sp.n_evaluations,
    )
