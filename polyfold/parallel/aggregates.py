"""Mergeable aggregates of the paths of a sweep.

:class:`PathAggregate` keeps only counters: the histogram of piece counts and
exact counters of the reduced fractions ``chi = 1 - r1 / r2`` and of the
prefix-curve maxima, so merging is exact and associative and the memory does not
grow with the number of paths.  Medians, quantiles and maxima are computed
exactly (as :class:`fractions.Fraction`) from the counters.  Part of
:mod:`polyfold.parallel`, which re-exports the public names.
"""

import math
from fractions import Fraction

import numpy as np

from .._validation import as_int64, read_array
from ..exceptions import ShapeError, ValidationError
from ..folding.distribution import fraction_counts

# exact counters of chi values: the folding module's representation
_fraction_counts = fraction_counts


def _merge_counts(into, other):
    for k, v in other.items():
        into[k] = into.get(k, 0) + v


def _sorted_fractions(counts):
    """Sorted distinct values (Fractions) and their counts."""
    items = sorted((Fraction(n, d), c) for (n, d), c in counts.items())
    return [v for v, _ in items], np.array([c for _, c in items], dtype=np.int64)


def _quantile(vals, cnt, q):
    """numpy's linear-interpolation quantile of a multiset, exactly (Fractions)."""
    n = int(cnt.sum())
    cum = np.cumsum(cnt)
    h = (n - 1) * Fraction(q)
    lo = math.floor(h)
    hi = min(lo + 1, n - 1)
    vlo = vals[int(np.searchsorted(cum, lo, side="right"))]
    vhi = vals[int(np.searchsorted(cum, hi, side="right"))]
    return vlo + (h - lo) * (vhi - vlo)


def _check_q(q):
    """A quantile level: a real number in [0, 1]."""
    import numbers

    if isinstance(q, bool) or not isinstance(q, numbers.Real) or not 0 <= q <= 1:
        raise ValidationError(f"q must be a number in [0, 1], got {q!r}; e.g. q=0.5 for the median.")
    return q


def _int_column(a, name, m, minimum):
    """``a`` as a 1-D int64 array of ``m`` entries (any length for None) >= ``minimum``."""
    arr = read_array(a, name, "a 1-D integer array (one value per path)")
    if arr.size == 0 and arr.ndim <= 1 and arr.dtype.kind in "fiu":
        arr = arr.reshape(0).astype(np.int64)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ValidationError(
            f"{name} must be a 1-D integer array (one value per path), got dtype {arr.dtype} "
            f"and shape {arr.shape}."
        )
    if m is not None and len(arr) != m:
        raise ShapeError(f"{name} must hold one value per path ({m}), got {len(arr)}.")
    if len(arr) and arr.min() < minimum:
        raise ValidationError(f"{name} must be integers >= {minimum}, got {arr.min()!r}.")
    return as_int64(arr, name)


class _Distribution:
    """Exact distribution of a rational quantity in ``[0, 1)`` from a counter."""

    def __init__(self, counts):
        self.vals, self.cnt = _sorted_fractions(counts)
        self.n = int(self.cnt.sum())
        nz = [i for i, v in enumerate(self.vals) if v != 0]
        self.vals_nz = [self.vals[i] for i in nz]
        self.cnt_nz = self.cnt[nz]
        self.n_nonzero = int(self.cnt_nz.sum())

    def phi(self):
        return _quantile(self.vals_nz, self.cnt_nz, Fraction(1, 2)) if self.n_nonzero else Fraction(0)

    def mean(self, nonzero=False):
        vals, cnt, n = (self.vals_nz, self.cnt_nz, self.n_nonzero) if nonzero else (self.vals, self.cnt, self.n)
        if not n:
            return Fraction(0)
        return sum((v * int(c) for v, c in zip(vals, cnt)), Fraction(0)) / n

    def summary(self):
        from ..folding import QUANTILE_LEVELS, GlobalFolding

        qs = {q: float(_quantile(self.vals, self.cnt, Fraction(str(q)))) for q in QUANTILE_LEVELS}
        qz = (
            {q: float(_quantile(self.vals_nz, self.cnt_nz, Fraction(str(q)))) for q in QUANTILE_LEVELS}
            if self.n_nonzero
            else {}
        )
        return GlobalFolding(
            phi=float(self.phi()),
            n=self.n,
            n_nonzero=self.n_nonzero,
            fraction_flat=(self.n - self.n_nonzero) / self.n,
            mean=float(self.mean()),
            mean_nonzero=float(self.mean(nonzero=True)),
            max=float(self.vals[-1]),
            quantiles=qs,
            quantiles_nonzero=qz,
        )


class PathAggregate:
    """Mergeable summary of the paths of a sweep (or of one group of it).

    Holds only counters, so merging two aggregates is exact and associative and the
    memory does not grow with the number of paths.

    Attributes
    ----------
    n_paths : int
    n_recomputed : int
        Paths recomputed in exact arithmetic (certified mode).
    n_degenerate : int
        Paths along which some neuron is identically at a threshold.
    pieces : dict
        ``{number of linear pieces: number of paths}`` (crossings = pieces - 1).
    chi, prefix_max : dict or None
        ``{(num, den): count}`` of the reduced fractions ``chi = 1 - r1/r2`` and of
        the prefix-curve maxima (``None`` for ``quantity="crossings"``).

    Examples
    --------
    >>> from polyfold.parallel import PathAggregate
    >>> a = PathAggregate.from_paths([3, 1], r1=[1, 0], r2=[2, 0], prefix_r1=[1, 0], prefix_r2=[2, 0])
    >>> b = PathAggregate.from_paths([5], r1=[1], r2=[4], prefix_r1=[1], prefix_r2=[4])
    >>> m = a.merge(b)
    >>> m.n_paths, m.chi_max, m.phi, m.fraction_flat
    (3, Fraction(3, 4), Fraction(5, 8), 0.3333333333333333)
    """

    __slots__ = ("chi", "n_degenerate", "n_paths", "n_recomputed", "pieces", "prefix_max")

    def __init__(self, *, folding=True):
        self.n_paths = 0
        self.n_recomputed = 0
        self.n_degenerate = 0
        self.pieces = {}
        self.chi = {} if folding else None
        self.prefix_max = {} if folding else None

    @classmethod
    def from_paths(cls, n_pieces, *, recomputed=None, degenerate=None, r1=None, r2=None,
                   prefix_r1=None, prefix_r2=None):
        """Aggregate of per-path values (``r1``... given for the folding quantity).

        ``n_pieces`` (pieces per path, >= 1), ``r1 <= r2``, ``prefix_r1 <=
        prefix_r2`` (non-negative integers), ``recomputed`` and ``degenerate``
        (flags), one entry per path; empty arrays give an aggregate of no paths.
        """
        n_pieces = _int_column(n_pieces, "n_pieces", None, 1)
        m = len(n_pieces)
        given = [r1 is not None, r2 is not None, prefix_r1 is not None, prefix_r2 is not None]
        if any(given) and not all(given):
            raise ValidationError(
                "r1, r2, prefix_r1 and prefix_r2 go together: pass all four (folding) or "
                "none (crossings only)."
            )
        if r1 is not None:
            r1, r2 = _int_column(r1, "r1", m, 0), _int_column(r2, "r2", m, 0)
            prefix_r1 = _int_column(prefix_r1, "prefix_r1", m, 0)
            prefix_r2 = _int_column(prefix_r2, "prefix_r2", m, 0)
            for a, b, na, nb in ((r1, r2, "r1", "r2"), (prefix_r1, prefix_r2, "prefix_r1", "prefix_r2")):
                if np.any(a > b):
                    raise ValidationError(
                        f"{na} must not exceed {nb} (the range of a walk is at most its "
                        f"length), got {na}={int(a[a > b][0])} > {nb}={int(b[a > b][0])}."
                    )
        for name, flags in (("recomputed", recomputed), ("degenerate", degenerate)):
            if flags is not None and np.shape(flags) != (m,):
                raise ShapeError(
                    f"{name} must hold one flag per path ({m}), got shape {np.shape(flags)}."
                )
        agg = cls(folding=r1 is not None)
        agg.n_paths = int(n_pieces.size)
        if recomputed is not None:
            agg.n_recomputed = int(np.count_nonzero(recomputed))
        if degenerate is not None:
            agg.n_degenerate = int(np.count_nonzero(degenerate))
        k, c = np.unique(n_pieces, return_counts=True)
        agg.pieces = {int(a): int(b) for a, b in zip(k.tolist(), c.tolist())}
        if r1 is not None:
            agg.chi = _fraction_counts(r1, r2)
            agg.prefix_max = _fraction_counts(prefix_r1, prefix_r2)
        return agg

    def merge(self, other):
        """Add ``other`` into this aggregate (in place); returns ``self``."""
        if not isinstance(other, PathAggregate):
            raise ValidationError(
                f"other must be a PathAggregate, got {type(other).__name__}."
            )
        if (self.chi is None) != (other.chi is None):
            raise ValidationError(
                "cannot merge a folding aggregate with a crossings-only aggregate; merge "
                "aggregates of the same quantity."
            )
        self.n_paths += other.n_paths
        self.n_recomputed += other.n_recomputed
        self.n_degenerate += other.n_degenerate
        _merge_counts(self.pieces, other.pieces)
        if self.chi is not None:
            _merge_counts(self.chi, other.chi)
            _merge_counts(self.prefix_max, other.prefix_max)
        return self

    def copy(self):
        new = PathAggregate(folding=self.chi is not None)
        return new.merge(self)

    def __eq__(self, other):
        if not isinstance(other, PathAggregate):
            return NotImplemented
        return all(getattr(self, s) == getattr(other, s) for s in self.__slots__)

    def __repr__(self):
        s = f"PathAggregate(n_paths={self.n_paths}"
        if self.n_paths:
            s += f", mean_crossings={self.mean_crossings:.4g}"
        if self.chi is not None and self.n_paths:
            s += f", phi={float(self.phi):.4g}, chi_max={float(self.chi_max):.4g}"
        return s + ")"

    # -- crossings -------------------------------------------------------------
    @property
    def has_folding(self):
        return self.chi is not None

    @property
    def n_crossings(self):
        """Total number of region boundaries crossed (sum over paths)."""
        return sum((k - 1) * c for k, c in self.pieces.items())

    def _need_paths(self, what):
        if not self.n_paths:
            raise ValidationError(
                f"{what} of an aggregate of no paths is undefined; check n_paths first."
            )

    @property
    def mean_crossings(self):
        """Mean number of crossings per path (ValidationError for no paths)."""
        self._need_paths("mean_crossings")
        return self.n_crossings / self.n_paths

    @property
    def max_crossings(self):
        """Largest number of crossings of a path (ValidationError for no paths)."""
        self._need_paths("max_crossings")
        return max(self.pieces) - 1

    def crossings_histogram(self):
        """``(max_crossings + 1,) int64``: number of paths with ``k`` crossings (empty
        for no paths)."""
        h = np.zeros(max(self.pieces) if self.pieces else 0, np.int64)
        for k, c in self.pieces.items():
            h[k - 1] = c
        return h

    def crossings_quantile(self, q):
        """numpy's linear-interpolation ``q``-quantile of the crossing counts
        (``q`` in [0, 1]; ValidationError for no paths)."""
        q = _check_q(q)
        self._need_paths("crossings_quantile")
        vals = sorted(self.pieces)
        cnt = np.array([self.pieces[v] for v in vals], np.int64)
        return float(_quantile([Fraction(v - 1) for v in vals], cnt, Fraction(str(q))))

    # -- folding ---------------------------------------------------------------
    def _need_folding(self):
        if self.chi is None:
            raise ValidationError(
                "this aggregate holds crossing counts only; run the sweep with "
                "quantity='folding' to get chi statistics."
            )
        if not self.n_paths:
            raise ValidationError(
                "chi statistics of an aggregate of no paths are undefined; check n_paths first."
            )

    @property
    def chi_max(self):
        """Exact maximum of ``chi`` (a Fraction; 0 when all paths are flat)."""
        self._need_folding()
        return max(Fraction(n, d) for n, d in self.chi)

    @property
    def phi(self):
        """``Phi_N``: exact median of the non-zero ``chi`` (0 when all are flat)."""
        self._need_folding()
        return _Distribution(self.chi).phi()

    @property
    def fraction_flat(self):
        """Share of paths with ``chi == 0``."""
        self._need_folding()
        return self.chi.get((0, 1), 0) / self.n_paths

    def chi_quantile(self, q, *, nonzero=False):
        """Exact ``q``-quantile of ``chi`` (numpy's linear interpolation), a Fraction."""
        q = _check_q(q)
        if not isinstance(nonzero, bool):
            raise ValidationError(f"nonzero must be True or False, got {nonzero!r}.")
        self._need_folding()
        d = _Distribution(self.chi)
        if nonzero:
            if not d.n_nonzero:
                return Fraction(0)
            return _quantile(d.vals_nz, d.cnt_nz, Fraction(str(q)))
        return _quantile(d.vals, d.cnt, Fraction(str(q)))

    def chi_summary(self):
        """:class:`polyfold.folding.GlobalFolding` of ``chi`` over these paths."""
        self._need_folding()
        return _Distribution(self.chi).summary()

    @property
    def prefix_max_max(self):
        """Exact maximum of the per-path prefix-curve maxima."""
        self._need_folding()
        return max(Fraction(n, d) for n, d in self.prefix_max)

    @property
    def prefix_max_phi(self):
        """Exact median of the non-zero per-path prefix-curve maxima."""
        self._need_folding()
        return _Distribution(self.prefix_max).phi()

    def prefix_max_summary(self):
        """:class:`polyfold.folding.GlobalFolding` of the per-path prefix maxima."""
        self._need_folding()
        return _Distribution(self.prefix_max).summary()

    def as_dict(self):
        """Plain dict (JSON friendly)."""
        d = {
            "n_paths": self.n_paths,
            "n_recomputed": self.n_recomputed,
            "n_degenerate": self.n_degenerate,
            "mean_crossings": self.mean_crossings if self.n_paths else None,
            "max_crossings": self.max_crossings if self.n_paths else None,
            "crossings_histogram": self.crossings_histogram().tolist(),
        }
        if self.chi is not None and self.n_paths:
            d["chi"] = self.chi_summary().as_dict()
            d["chi"]["max_exact"] = str(self.chi_max)
            d["chi"]["phi_exact"] = str(self.phi)
            d["prefix_max"] = self.prefix_max_summary().as_dict()
            d["prefix_max"]["max_exact"] = str(self.prefix_max_max)
            d["prefix_max"]["phi_exact"] = str(self.prefix_max_phi)
        return d


def _aggregate_paths(paths, group=-1):
    """``{group index: PathAggregate}`` of one chunk's per-path arrays."""
    folding = "r1" in paths

    def agg(sel):
        take = (lambda a: a) if sel is None else (lambda a: a[sel])
        kw = {}
        if folding:
            kw = {k: take(paths[k]) for k in ("r1", "r2", "prefix_r1", "prefix_r2")}
        return PathAggregate.from_paths(
            take(paths["n_pieces"]),
            recomputed=take(paths["recomputed"]),
            degenerate=take(paths["degenerate"]),
            **kw,
        )

    g = paths.get("group")
    if g is None or len(g) == 0:
        return {group: agg(None)}
    keys = np.unique(g)
    if len(keys) == 1:
        return {int(keys[0]): agg(None)}
    return {int(k): agg(g == k) for k in keys}
