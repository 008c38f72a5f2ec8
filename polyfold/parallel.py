"""Scale-out: streaming sweeps over millions of paths, locally or on a Dask cluster.

A *sweep* computes one quantity (crossing counts, or the folding measure ``chi``
with its prefix maxima) on many straight paths between points of a fixed data set,
and keeps only mergeable aggregates: counts, sums, exact maxima and exact
histograms.  ``chi = 1 - r1 / r2`` is a ratio of small integers, so a counter over
the reduced fractions holds the exact distribution of ``chi`` in memory that grows
with the number of *distinct* values (bounded by the path lengths), not with the
number of paths: medians, quantiles and maxima are exact, and a sweep over 10^8
paths runs in the memory of one chunk.

A sweep is described by

* the network and the data points (``points``),
* an endpoint source: :class:`ClassPairs` (random paths between every ordered pair
  of classes), :class:`IndexPairs` (explicit index arrays) or :class:`RandomPairs`
  (uniform random pairs, seeded),
* the quantity (:data:`QUANTITIES`), the arithmetic ``mode`` and a ``seed``.

It is split into chunks of ``chunk_size`` paths.  Every chunk draws its endpoints
from its own generator, ``SeedSequence(seed, spawn_key=key)`` with a key fixed by
the chunk's place in the sweep, so results are the same for every executor and
every number of workers.  Only the network weights, the points and the chunk
descriptions travel to the workers; endpoints are drawn (or sliced) on the
worker, and each worker evaluates the first layer once per data point
(:func:`polyfold.crossings.first_layer_cache`), so the input dimension costs
nothing per path.

Executors: ``"serial"`` (in process), ``"processes"`` (a local
:class:`concurrent.futures.ProcessPoolExecutor`) and ``"dask"``
(``dask.distributed``: an embedded ``LocalCluster`` by default, or a running
cluster given by its scheduler address).
"""

import contextlib
import hashlib
import json
import math
import numbers
import os
import sys
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import NamedTuple

import numpy as np

from ._validation import (
    as_float_array,
    check_choice,
    check_mode,
    check_points,
    check_positive_int,
)
from .exceptions import ChunkError, DependencyError, ShapeError, ValidationError
from .network import PLNet
from .tolerance import get_tol

__all__ = [
    "EXECUTORS",
    "QUANTITIES",
    "ClassPairSweep",
    "ClassPairs",
    "FailedChunk",
    "IndexPairs",
    "PathAggregate",
    "RandomPairs",
    "SweepResult",
    "class_pair_sweep",
    "sweep",
]

#: quantities a sweep can compute
QUANTITIES = ("folding", "crossings")

#: executors a sweep can run on ("auto" picks one of the others)
EXECUTORS = ("auto", "serial", "processes", "dask")

#: ``executor="auto"`` switches from in-process to local processes at this many paths
AUTO_PROCESS_PATHS = 200_000

#: on-disk format of per-chunk files
_FORMAT = "polyfold-sweep/1"
_MANIFEST = "manifest.json"


def _chunk_name(chunk_id):
    return f"chunk-{chunk_id:08d}.npz"


# ---------------------------------------------------------------------------
# chunks and endpoint sources
# ---------------------------------------------------------------------------
class _Chunk(NamedTuple):
    """Description of one chunk: all that travels per task."""

    id: int  # position in the sweep
    group: int  # group index (-1: the source has no groups or groups are per path)
    index: int  # chunk index within its group (or within the sweep)
    start: int  # first path within the group (or within the sweep)
    n: int  # number of paths


def _sha256(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _py(v):
    """numpy scalar -> Python scalar (hashable, JSON friendly)."""
    return v.item() if hasattr(v, "item") else v


def _check_index_array(a, name):
    arr = np.asarray(a)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.size == 0:
        arr = arr.astype(np.int64)
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ValidationError(
            f"{name} must be a 1-D integer array of point indices, got dtype {arr.dtype} "
            f"and shape {arr.shape}; convert it with np.asarray({name}, dtype=np.int64)."
        )
    return np.ascontiguousarray(arr, dtype=np.int64)


class ClassPairs:
    """Endpoint source: random paths between every ordered pair of classes.

    For every ordered pair of labels ``(a, b)``, ``a != b`` (or also ``a == b`` with
    ``same_class``), draw ``paths_per_pair`` paths from a uniformly chosen point of
    class ``a`` to a uniformly chosen point of class ``b`` (with replacement).

    Parameters
    ----------
    y : (n,) array_like
        One label per data point; at least 2 classes.
    paths_per_pair : int
        Paths per ordered pair.
    pairs : sequence of (a, b), optional
        Restrict the sweep to these ordered label pairs (default: all ``C (C - 1)``,
        or ``C^2`` with ``same_class``).  A pair draws the same paths whatever subset
        it is part of.
    same_class : bool
        Also pair each class with itself (the papers' "100 ordered digit pairs"
        include them); default False.

    Raises
    ------
    ShapeError
        ``y`` not 1-D.
    ValidationError
        Fewer than 2 classes, bad ``paths_per_pair`` or ``pairs``.

    Examples
    --------
    >>> from polyfold.parallel import ClassPairs
    >>> src = ClassPairs([0, 0, 1, 1, 2], 10)
    >>> src.n_paths, src.group_keys[:2]
    (60, [(0, 1), (0, 2)])
    """

    kind = "class_pairs"

    def __init__(self, y, paths_per_pair, *, pairs=None, same_class=False):
        y = np.asarray(y)
        if y.ndim != 1 or y.size == 0:
            raise ShapeError(
                f"y must be a non-empty 1-D array of labels (one per data point), got shape "
                f"{y.shape}."
            )
        if y.dtype.kind not in "biuUS":
            raise ValidationError(
                f"y must hold integer or string labels, got dtype {y.dtype}; convert it with "
                "np.asarray(y).astype(int)."
            )
        self.paths_per_pair = check_positive_int(paths_per_pair, "paths_per_pair")
        if not isinstance(same_class, bool):
            raise ValidationError(f"same_class must be True or False, got {same_class!r}.")
        self.same_class = same_class
        labels = np.unique(y)
        if len(labels) < 2:
            raise ValidationError(
                f"y must contain at least 2 classes to form class pairs, got {len(labels)} "
                f"({[_py(v) for v in labels]})."
            )
        self.y = y
        self.labels = labels
        C = len(labels)
        pos = {_py(v): i for i, v in enumerate(labels)}
        if pairs is None:
            todo = [(a, b) for a in range(C) for b in range(C) if a != b or same_class]
        else:
            todo = []
            for p in pairs:
                try:
                    a, b = p
                    ia, ib = pos[_py(a)], pos[_py(b)]
                except (TypeError, ValueError, KeyError) as err:
                    raise ValidationError(
                        f"pairs must hold (a, b) label pairs with labels from "
                        f"{[_py(v) for v in labels]}, got {p!r}."
                    ) from err
                if ia == ib and not same_class:
                    raise ValidationError(
                        f"pairs must hold two different labels, got {p!r}; pass "
                        "same_class=True for paths inside one class."
                    )
                if (ia, ib) in todo:
                    raise ValidationError(f"pairs lists {p!r} twice; list each pair once.")
                todo.append((ia, ib))
            if not todo:
                raise ValidationError("pairs is empty; pass at least one (a, b) pair or None.")
        self._todo = todo

    @property
    def group_keys(self):
        """The ordered label pairs, in sweep order."""
        return [(_py(self.labels[a]), _py(self.labels[b])) for a, b in self._todo]

    @property
    def n_paths(self):
        """Total number of paths."""
        return len(self._todo) * self.paths_per_pair

    def check(self, n_points):
        if len(self.y) != n_points:
            raise ShapeError(
                f"y must hold one label per data point: {n_points} points but {len(self.y)} "
                "labels; pass the labels of exactly these points."
            )

    def chunks(self, chunk_size):
        cid = 0
        per = self.paths_per_pair
        for g in range(len(self._todo)):
            for k, start in enumerate(range(0, per, chunk_size)):
                yield _Chunk(cid, g, k, start, min(chunk_size, per - start))
                cid += 1

    def describe(self):
        return {
            "kind": self.kind,
            "labels_sha256": _sha256(self.y),
            "paths_per_pair": self.paths_per_pair,
            "pairs": [[_json_label(v) for v in p] for p in self.group_keys],
        }

    def prepare(self, n_points):
        """Worker-side state: the members of every class."""
        return [np.flatnonzero(self.y == lab) for lab in self.labels]

    def endpoints(self, chunk, entropy, members):
        ia, ib = self._todo[chunk.group]
        # keyed by the pair's cell in the C x C grid: the same paths in any subset
        cell = ia * len(self.labels) + ib
        rng = np.random.default_rng(
            np.random.SeedSequence(entropy, spawn_key=(cell, chunk.index))
        )
        a, b = members[ia], members[ib]
        i = a[rng.integers(0, len(a), chunk.n)]
        j = b[rng.integers(0, len(b), chunk.n)]
        return i, j, None


class IndexPairs:
    """Endpoint source: explicit paths ``points[i_start[k]] -> points[i_end[k]]``.

    Parameters
    ----------
    i_start, i_end : (m,) int array_like
        Indices into the sweep's ``points``.
    groups : (m,) array_like, optional
        A label per path; aggregates are then also kept per label.

    Raises
    ------
    ShapeError
        Arrays of different lengths, or empty.
    ValidationError
        Non-integer indices.

    Examples
    --------
    >>> from polyfold.parallel import IndexPairs
    >>> IndexPairs([0, 1, 2], [3, 4, 5], groups=["a", "a", "b"]).group_keys
    ['a', 'b']
    """

    kind = "index_pairs"

    def __init__(self, i_start, i_end, *, groups=None):
        self.i_start = _check_index_array(i_start, "i_start")
        self.i_end = _check_index_array(i_end, "i_end")
        if self.i_start.shape != self.i_end.shape:
            raise ShapeError(
                f"i_start and i_end must have the same length, got {len(self.i_start)} and "
                f"{len(self.i_end)}; pass one end index per start index."
            )
        if len(self.i_start) == 0:
            raise ShapeError("i_start and i_end are empty; pass at least one path.")
        self.group_ids = None
        self._keys = []
        if groups is not None:
            g = np.asarray(groups)
            if g.shape != self.i_start.shape:
                raise ShapeError(
                    f"groups must hold one label per path ({len(self.i_start)}), got shape "
                    f"{g.shape}."
                )
            keys, ids = np.unique(g, return_inverse=True)
            self._keys = [_py(k) for k in keys]
            self.group_ids = ids.astype(np.int64)

    @property
    def group_keys(self):
        return list(self._keys)

    @property
    def n_paths(self):
        return len(self.i_start)

    def check(self, n_points):
        for name, a in (("i_start", self.i_start), ("i_end", self.i_end)):
            if a.min() < 0 or a.max() >= n_points:
                raise ValidationError(
                    f"{name} holds indices outside [0, {n_points}) (min {a.min()}, max "
                    f"{a.max()}); they index the rows of points."
                )

    def chunks(self, chunk_size):
        for k, start in enumerate(range(0, self.n_paths, chunk_size)):
            yield _Chunk(k, -1, k, start, min(chunk_size, self.n_paths - start))

    def describe(self):
        d = {
            "kind": self.kind,
            "indices_sha256": _sha256(self.i_start, self.i_end),
            "n_paths": self.n_paths,
        }
        if self.group_ids is not None:
            d["groups_sha256"] = _sha256(self.group_ids)
            d["groups"] = [str(k) for k in self._keys]
        return d

    def prepare(self, n_points):
        return None

    def endpoints(self, chunk, entropy, state):
        s = slice(chunk.start, chunk.start + chunk.n)
        g = None if self.group_ids is None else self.group_ids[s]
        return self.i_start[s], self.i_end[s], g


class RandomPairs:
    """Endpoint source: ``n_paths`` uniformly random pairs of distinct data points.

    Parameters
    ----------
    n_paths : int

    Examples
    --------
    >>> from polyfold.parallel import RandomPairs
    >>> RandomPairs(1000).n_paths
    1000
    """

    kind = "random_pairs"

    def __init__(self, n_paths):
        self._n = check_positive_int(n_paths, "n_paths")

    @property
    def group_keys(self):
        return []

    @property
    def n_paths(self):
        return self._n

    def check(self, n_points):
        if n_points < 2:
            raise ValidationError(
                f"RandomPairs needs at least 2 points to draw distinct pairs, got {n_points}."
            )

    def chunks(self, chunk_size):
        for k, start in enumerate(range(0, self._n, chunk_size)):
            yield _Chunk(k, -1, k, start, min(chunk_size, self._n - start))

    def describe(self):
        return {"kind": self.kind, "n_paths": self._n}

    def prepare(self, n_points):
        return n_points

    def endpoints(self, chunk, entropy, n_points):
        rng = np.random.default_rng(np.random.SeedSequence(entropy, spawn_key=(chunk.index,)))
        i = rng.integers(0, n_points, chunk.n)
        j = rng.integers(0, n_points - 1, chunk.n)
        j += j >= i
        return i, j, None


_SOURCES = (ClassPairs, IndexPairs, RandomPairs)


# ---------------------------------------------------------------------------
# mergeable aggregates
# ---------------------------------------------------------------------------
_SHIFT = np.int64(1) << np.int64(32)


def _fraction_counts(r1, r2):
    """``{(num, den): count}`` of the reduced fractions ``1 - r1/r2`` (0 when r2 == 0)."""
    r1 = np.asarray(r1, np.int64)
    r2 = np.asarray(r2, np.int64)
    num = np.where(r2 > 0, r2 - r1, 0)
    den = np.where(r2 > 0, r2, 1)
    g = np.gcd(num, den)
    g[g == 0] = 1
    key = (num // g) * _SHIFT + den // g
    k, c = np.unique(key, return_counts=True)
    return {(int(a // _SHIFT), int(a % _SHIFT)): int(b) for a, b in zip(k.tolist(), c.tolist())}


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
        from .folding import QUANTILE_LEVELS, GlobalFolding

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
        """Aggregate of per-path values (``r1``... given for the folding quantity)."""
        n_pieces = np.asarray(n_pieces, np.int64)
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
        s = f"PathAggregate(n_paths={self.n_paths}, mean_crossings={self.mean_crossings:.4g}"
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

    @property
    def mean_crossings(self):
        """Mean number of crossings per path (``nan`` when empty)."""
        return self.n_crossings / self.n_paths if self.n_paths else float("nan")

    @property
    def max_crossings(self):
        return max(self.pieces) - 1 if self.pieces else 0

    def crossings_histogram(self):
        """``(max_crossings + 1,) int64``: number of paths with ``k`` crossings."""
        h = np.zeros(self.max_crossings + 1, np.int64)
        for k, c in self.pieces.items():
            h[k - 1] = c
        return h

    def crossings_quantile(self, q):
        """numpy's linear-interpolation ``q``-quantile of the crossing counts."""
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
            raise ValidationError("this aggregate holds no paths.")

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
            "max_crossings": self.max_crossings,
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


# ---------------------------------------------------------------------------
# the sweep description shipped to workers, and the worker side
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class _Spec:
    token: str
    layers: tuple  # ((W, b), ...) float64 arrays: PLNet itself is rebuilt on the worker
    activations: tuple
    points: np.ndarray
    source: object
    quantity: str
    mode: str
    tol: object
    entropy: int
    want_paths: bool
    faults: dict = field(default=None)  # testing hook, see _run_chunk


class _Context:
    """Worker-side state built once per worker from a :class:`_Spec`."""

    def __init__(self, spec):
        from .crossings import first_layer_cache

        self.net = PLNet(spec.layers, spec.activations)
        self.cache = first_layer_cache(self.net, spec.points, mode=spec.mode, tol=spec.tol)
        self.state = spec.source.prepare(len(spec.points))
        # codes that are already the bits z > 0 (ReLU: code 0 / 1) need no table lookup
        self.codes_are_bits = all(
            np.array_equal(act.code_to_bit(), [False, True]) for act in self.net.activations
        )


_CONTEXTS = {}  # token -> _Context, per worker process (a few sweeps at most)


def _context(spec):
    ctx = _CONTEXTS.get(spec.token)
    if ctx is None:
        ctx = _Context(spec)
        if len(_CONTEXTS) >= 4:
            _CONTEXTS.pop(next(iter(_CONTEXTS)))
        _CONTEXTS[spec.token] = ctx
    return ctx


def _run_chunk(spec, chunk, attempt):
    """Compute one chunk; returns ``(chunk_id, {group: PathAggregate}, paths or None)``."""
    from .crossings import segment_crossings_between

    if spec.faults and chunk.id in spec.faults:
        # testing hook: {chunk_id: n} raises in the first n attempts, {chunk_id: ("exit",
        # n)} kills the worker process instead (never use "exit" in process)
        kind, n = spec.faults[chunk.id] if isinstance(spec.faults[chunk.id], tuple) else (
            "raise", spec.faults[chunk.id])
        if attempt < n:
            if kind == "exit":
                os._exit(3)
            raise RuntimeError(f"injected failure in chunk {chunk.id} (attempt {attempt})")
    ctx = _context(spec)
    i, j, g = spec.source.endpoints(chunk, spec.entropy, ctx.state)
    res = segment_crossings_between(
        ctx.net, spec.points, i, j, mode=spec.mode, tol=spec.tol, chunk_size=max(len(i), 1),
        cache=ctx.cache,
    )
    paths = {
        "i_start": np.asarray(i, np.int64),
        "i_end": np.asarray(j, np.int64),
        "n_pieces": res.n_pieces,
        "recomputed": np.asarray(res.exact_segments, bool),
        "degenerate": np.asarray(res.degenerate, bool),
    }
    if g is not None:
        paths["group"] = g
    if spec.quantity == "folding":
        from .folding import folding_measure_batch

        bits = res.codes.view(bool) if ctx.codes_are_bits else res.patterns
        fm = folding_measure_batch(bits, res.piece_offsets)
        paths["r1"] = fm.r1
        paths["r2"] = fm.r2
        paths["prefix_r1"] = fm.prefix_max_r1
        paths["prefix_r2"] = fm.prefix_max_r2
    aggs = _aggregate_paths(paths, chunk.group)
    return chunk.id, aggs, (paths if spec.want_paths else None)


# process pool: the spec travels once per worker process through the initializer
_POOL_SPEC = None


def _pool_init(spec):
    global _POOL_SPEC
    _POOL_SPEC = spec
    _context(spec)


def _pool_task(chunk, attempt):
    return _run_chunk(_POOL_SPEC, chunk, attempt)


# dask: the spec is scattered once (broadcast); the context is cached per worker
def _dask_task(spec, chunk, attempt):
    return _run_chunk(spec, chunk, attempt)


# ---------------------------------------------------------------------------
# runners: submit a chunk, wait for the first finished ones
# ---------------------------------------------------------------------------
class _Done:
    """An already-finished future (serial runner)."""

    def __init__(self, fn, *args):
        self._exc = None
        self._res = None
        try:
            self._res = fn(*args)
        except Exception as err:  # noqa: BLE001 - reported by the driver
            self._exc = err

    def result(self):
        if self._exc is not None:
            raise self._exc
        return self._res

    def cancel(self):
        return False


class _SerialRunner:
    n_workers = 1
    name = "serial"

    def __init__(self, spec):
        self.spec = spec

    def submit(self, chunk, attempt):
        return _Done(_run_chunk, self.spec, chunk, attempt)

    def wait(self, pending):
        return list(pending)

    def close(self):
        pass


_POOL_HINT = (
    "If the sweep is started at the top level of a script, put it under "
    "`if __name__ == \"__main__\":` (the spawn start method re-imports the main module "
    "in every worker); a worker killed by the operating system (out of memory) has the "
    "same effect: lower chunk_size or workers, or use executor='serial'."
)


def _start_method():
    """``fork`` on Linux when this process runs no other Python thread (fast, and the
    main module is not re-imported), else ``spawn`` (safe with threads)."""
    import multiprocessing
    import threading

    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class _PoolRunner:
    name = "processes"
    max_restarts = 2

    def __init__(self, spec, workers):
        self.n_workers = workers
        self._spec = spec
        self.restarts = 0
        self._start()

    def _start(self):
        from concurrent.futures import ProcessPoolExecutor

        self.pool = ProcessPoolExecutor(
            max_workers=self.n_workers,
            mp_context=_start_method(),
            initializer=_pool_init,
            initargs=(self._spec,),
        )

    def submit(self, chunk, attempt):
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self.pool.submit(_pool_task, chunk, attempt)
        except BrokenProcessPool as err:
            # a worker died (not an exception in a chunk): start a fresh pool
            if self.restarts >= self.max_restarts:
                raise ChunkError(
                    f"the local worker processes died {self.restarts + 1} times (last with "
                    f"chunk {chunk.id} pending). {_POOL_HINT}",
                    chunk_id=chunk.id,
                ) from err
            self.restarts += 1
            _kill_workers(self.pool)
            self._start()
            return self.pool.submit(_pool_task, chunk, attempt)

    def wait(self, pending):
        from concurrent.futures import FIRST_COMPLETED, wait

        return wait(list(pending), return_when=FIRST_COMPLETED).done

    def close(self):
        if getattr(self.pool, "_broken", False):
            _kill_workers(self.pool)
        else:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _kill_workers(pool):
    """Shut down a broken process pool without hanging.

    When a worker dies, the pool's manager thread terminates and joins the other
    workers; with the spawn start method a worker started by a concurrent
    ``submit`` can escape the termination and the join (and interpreter exit) then
    waits forever (CPython 3.11).  Killing every worker process of the pool, once it
    is flagged broken (no new worker starts after that), unblocks it.
    """
    procs = getattr(pool, "_processes", None) or {}
    for proc in list(procs.values()):
        with contextlib.suppress(Exception):
            proc.kill()
    pool.shutdown(wait=True, cancel_futures=True)


def _import_distributed():
    try:
        import distributed
    except ImportError as err:
        raise DependencyError(
            "executor='dask' requires dask.distributed: pip install 'dask[distributed]' "
            "(or pip install polyfold[all]); use executor='processes' for local cores."
        ) from err
    return distributed


class _DaskRunner:
    name = "dask"

    def __init__(self, spec, workers, scheduler):
        import logging

        distributed = _import_distributed()
        self._distributed = distributed
        self._cluster = None
        self._own_client = True
        if scheduler is None:
            self._cluster = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                # the scheduler's HTTP routes on a free port (no clash with a running
                # cluster on 8787; no dashboard)
                scheduler_kwargs={"dashboard_address": ":0"},
                silence_logs=logging.ERROR,
            )
            self.client = distributed.Client(self._cluster)
        elif isinstance(scheduler, str):
            try:
                self.client = distributed.Client(scheduler, timeout="30s")
            except (OSError, TimeoutError) as err:
                raise ValidationError(
                    f"scheduler={scheduler!r}: could not connect to a Dask scheduler ({err}); "
                    "pass its address as 'tcp://host:port', or scheduler=None for a local cluster."
                ) from err
        elif isinstance(scheduler, distributed.Client):
            self.client = scheduler
            self._own_client = False
        else:
            raise ValidationError(
                f"scheduler must be None, an address string such as 'tcp://host:8786' or a "
                f"distributed.Client, got {type(scheduler).__name__}."
            )
        info = self.client.scheduler_info()
        self.n_workers = max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))
        self._spec = self.client.scatter(spec, broadcast=True, hash=False)
        self._token = spec.token[:16]

    def submit(self, chunk, attempt):
        return self.client.submit(
            _dask_task, self._spec, chunk, attempt, pure=False,
            key=f"polyfold-chunk-{self._token}-{chunk.id}-{attempt}-{time.monotonic_ns()}",
        )

    def wait(self, pending):
        return self._distributed.wait(list(pending), return_when="FIRST_COMPLETED").done

    def close(self):
        with contextlib.suppress(Exception):  # best effort on shutdown
            self.client.cancel([self._spec])
        if self._own_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()


# ---------------------------------------------------------------------------
# per-chunk files
# ---------------------------------------------------------------------------
def _write_chunk(out, chunk, paths):
    path = os.path.join(out, _chunk_name(chunk.id))
    tmp = path + ".tmp"
    arrays = {k: v for k, v in paths.items() if v is not None}
    with open(tmp, "wb") as fh:
        np.savez(fh, chunk_id=np.int64(chunk.id), n_paths=np.int64(chunk.n), **arrays)
    os.replace(tmp, path)


def _read_chunk(out, chunk, quantity):
    """Per-path arrays of a finished chunk file, or None if absent / unreadable / stale."""
    path = os.path.join(out, _chunk_name(chunk.id))
    try:
        with np.load(path) as z:
            if int(z["chunk_id"]) != chunk.id or int(z["n_paths"]) != chunk.n:
                return None
            paths = {k: z[k] for k in z.files if k not in ("chunk_id", "n_paths")}
    except (OSError, ValueError, KeyError, EOFError):
        return None
    need = ["n_pieces", "recomputed", "degenerate"]
    if quantity == "folding":
        need += ["r1", "r2", "prefix_r1", "prefix_r2"]
    if any(k not in paths or len(paths[k]) != chunk.n for k in need):
        return None
    return paths


def _prepare_out(out, manifest, resume):
    os.makedirs(out, exist_ok=True)
    mpath = os.path.join(out, _MANIFEST)
    if os.path.exists(mpath):
        try:
            with open(mpath) as fh:
                old = json.load(fh)
        except (OSError, ValueError) as err:
            raise ValidationError(
                f"out={out!r} holds an unreadable {_MANIFEST} ({err}); remove it or use "
                "another directory."
            ) from err
        if resume:
            diff = [k for k in sorted(set(old) | set(manifest)) if old.get(k) != manifest.get(k)]
            if diff:
                detail = "; ".join(
                    f"{k}: {_short(old.get(k))} there, {_short(manifest.get(k))} here" for k in diff
                )
                raise ValidationError(
                    f"out={out!r} holds the chunks of a different sweep ({detail}). Resume with "
                    "the same network, points, endpoint source, quantity, mode, seed and "
                    "chunk_size, or use another directory, or pass resume=False to overwrite it."
                )
            return
        for name in os.listdir(out):
            if name.startswith("chunk-") and (name.endswith((".npz", ".npz.tmp"))):
                os.remove(os.path.join(out, name))
    tmp = mpath + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)
    os.replace(tmp, mpath)


def _short(v):
    s = json.dumps(v, sort_keys=True)
    return s if len(s) <= 60 else s[:57] + "..."


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FailedChunk:
    """A chunk that failed twice (``on_error="collect"``)."""

    chunk_id: int
    group: object
    n_paths: int
    error: str


@dataclass(frozen=True)
class SweepResult:
    """Aggregates of a sweep.

    Attributes
    ----------
    total : PathAggregate
        Over all paths computed.
    groups : dict
        ``{group key: PathAggregate}`` (class pairs ``(a, b)``, or the labels of
        :class:`IndexPairs` ``groups``; empty when the source has no groups).
    n_paths : int
        Paths covered by the aggregates.
    n_paths_requested : int
        Paths the sweep asked for; smaller ``n_paths`` means failed chunks.
    n_chunks, n_chunks_resumed : int
        Chunks in the sweep, and those read back from ``out`` instead of computed.
    failed_chunks : tuple of FailedChunk
    quantity, mode : str
    seed : int
        The entropy of the root ``SeedSequence`` (pass it back to reproduce).
    chunk_size : int
    executor : str
    n_workers : int
    out : str or None
    elapsed : float
        Seconds of wall time.
    """

    total: PathAggregate
    groups: dict = field(repr=False)
    n_paths: int
    n_paths_requested: int
    n_chunks: int
    n_chunks_resumed: int
    failed_chunks: tuple
    quantity: str
    mode: str
    seed: int
    chunk_size: int
    executor: str
    n_workers: int
    out: object = None
    elapsed: float = 0.0

    @property
    def complete(self):
        """True when every requested path is covered."""
        return not self.failed_chunks and self.n_paths == self.n_paths_requested

    def same_aggregates(self, other):
        """True when ``other`` holds identical aggregates (ignores timing and executor)."""
        return (
            self.total == other.total
            and self.groups == other.groups
            and self.n_paths == other.n_paths
            and self.failed_chunks == other.failed_chunks
        )

    def as_dict(self):
        """Plain dict (JSON friendly)."""
        return {
            "total": self.total.as_dict(),
            "groups": [{"key": _json_key(k), **g.as_dict()} for k, g in self.groups.items()],
            "n_paths": self.n_paths,
            "n_paths_requested": self.n_paths_requested,
            "complete": self.complete,
            "n_chunks": self.n_chunks,
            "n_chunks_resumed": self.n_chunks_resumed,
            "failed_chunks": [vars(f) | {"group": _json_key(f.group)} for f in self.failed_chunks],
            "quantity": self.quantity,
            "mode": self.mode,
            "seed": self.seed,
            "chunk_size": self.chunk_size,
            "executor": self.executor,
            "n_workers": self.n_workers,
            "out": self.out,
            "elapsed": self.elapsed,
        }


def _json_key(k):
    if isinstance(k, tuple):
        return [_json_key(v) for v in k]
    return k if isinstance(k, (int, float, str, type(None))) else str(k)


def _json_label(v):
    return v if isinstance(v, (int, str)) else str(v)


def _median_fraction(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


@dataclass(frozen=True)
class ClassPairSweep(SweepResult):
    """Aggregates of a class-pair sweep (:func:`class_pair_sweep`).

    Adds to :class:`SweepResult` the class ``labels``, ``paths_per_pair`` and the
    two readings of the papers' class-pair statistic.
    """

    labels: np.ndarray = field(default=None, repr=False)
    paths_per_pair: int = 0

    def pair(self, a, b):
        """:class:`PathAggregate` of the ordered pair of labels ``(a, b)``."""
        try:
            return self.groups[(_py(a), _py(b))]
        except KeyError:
            raise ValidationError(
                f"no aggregate for the pair ({a!r}, {b!r}); the sweep covers "
                f"{list(self.groups)[:6]}{'...' if len(self.groups) > 6 else ''}."
            ) from None

    _STATS = ("chi_max", "phi", "fraction_flat", "prefix_max_phi", "mean_crossings",
              "max_crossings", "n_paths")

    def pair_matrix(self, stat="chi_max"):
        """``(C, C)`` float matrix of a per-pair statistic (row = start class).

        ``stat`` is one of ``"chi_max"`` (the heat map of the papers), ``"phi"``,
        ``"fraction_flat"``, ``"prefix_max_phi"``, ``"mean_crossings"``,
        ``"max_crossings"``, ``"n_paths"``.  NaN for pairs not swept (the diagonal
        unless ``same_class``).
        """
        check_choice("stat", stat, self._STATS)
        C = len(self.labels)
        M = np.full((C, C), np.nan)
        pos = {_py(v): i for i, v in enumerate(self.labels)}
        for (a, b), agg in self.groups.items():
            if not agg.n_paths:
                continue
            if stat in ("chi_max", "phi", "fraction_flat", "prefix_max_phi") and not agg.has_folding:
                raise ValidationError(
                    f"stat={stat!r} needs quantity='folding'; this sweep computed crossings only."
                )
            M[pos[a], pos[b]] = float(getattr(agg, stat))
        return M

    @property
    def pair_max_median_exact(self):
        """Reading 1, exact: per pair the maximum of ``chi``, then the median over pairs."""
        if self.quantity != "folding":
            return None
        vals = [g.chi_max for g in self.groups.values() if g.n_paths]
        return _median_fraction(vals) if vals else None

    @property
    def pair_max_median(self):
        """Reading 1 as a float (``None`` for ``quantity="crossings"``)."""
        v = self.pair_max_median_exact
        return None if v is None else float(v)

    @property
    def path_prefix_max_median_exact(self):
        """Reading 2, exact: per path the maximum of its prefix curve, then the median
        of the non-zero ones over all paths."""
        if self.quantity != "folding" or not self.total.n_paths:
            return None
        return self.total.prefix_max_phi

    @property
    def path_prefix_max_median(self):
        """Reading 2 as a float (``None`` for ``quantity="crossings"``)."""
        v = self.path_prefix_max_median_exact
        return None if v is None else float(v)

    def as_dict(self):
        d = super().as_dict()
        d["labels"] = [_json_key(_py(v)) for v in self.labels]
        d["paths_per_pair"] = self.paths_per_pair
        d["pair_max_median"] = self.pair_max_median
        d["path_prefix_max_median"] = self.path_prefix_max_median
        return d


# ---------------------------------------------------------------------------
# the driver
# ---------------------------------------------------------------------------
def _check_seed(seed):
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(seed, np.random.SeedSequence):
        if seed.spawn_key:
            raise ValidationError(
                "seed must be a root SeedSequence (empty spawn_key); pass its entropy or an int."
            )
        return int(seed.entropy)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValidationError(
            f"seed must be a non-negative int, a numpy SeedSequence or None, got {seed!r}; a "
            "Generator cannot be shipped to workers, pass an int instead."
        )
    return int(seed)


def _show_progress(progress):
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    if not isinstance(progress, bool):
        raise ValidationError(f"progress must be True, False or None (auto), got {progress!r}.")
    return progress


def _pick_executor(executor, scheduler, workers, n_paths):
    executor = check_choice("executor", executor, EXECUTORS)
    if workers is not None:
        workers = check_positive_int(workers, "workers")
    if scheduler is not None and executor not in ("auto", "dask"):
        raise ValidationError(
            f"scheduler is only used with executor='dask', got executor={executor!r}; pass "
            "executor='dask' or drop scheduler."
        )
    if executor == "auto":
        if scheduler is not None:
            executor = "dask"
        elif workers is not None:
            executor = "processes" if workers > 1 else "serial"
        else:
            executor = "processes" if n_paths >= AUTO_PROCESS_PATHS and _n_cpus() > 1 else "serial"
    if executor == "serial" and workers not in (None, 1):
        raise ValidationError(
            f"executor='serial' runs in this process; got workers={workers}. Use "
            "executor='processes' for several local workers."
        )
    if workers is None:
        workers = 1 if executor == "serial" else _n_cpus()
    return executor, workers


def _n_cpus():
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def sweep(
    net,
    points,
    source,
    *,
    quantity="folding",
    seed=0,
    executor="auto",
    scheduler=None,
    workers=None,
    out=None,
    resume=True,
    mode="certified",
    tol=None,
    chunk_size=4096,
    on_error="raise",
    progress=None,
    _faults=None,
):
    """Stream a quantity over many paths between data points, in chunks.

    Parameters
    ----------
    net : PLNet
    points : (n, input_dim) float
        The data points the paths join.
    source : ClassPairs, IndexPairs or RandomPairs
        Which paths: ``points[i] -> points[j]`` for the index pairs it produces.
    quantity : {"folding", "crossings"}
        ``"crossings"``: number of linear pieces per path.  ``"folding"``: that plus
        ``chi`` and the prefix-curve maximum of every path (hidden units, bit
        ``z > 0``: the default convention of :func:`polyfold.space_folding`).
    seed : int, numpy SeedSequence or None
        Root entropy; chunk ``k`` draws from ``SeedSequence(seed, spawn_key=key_k)``.
        ``None`` draws fresh entropy (reported in the result's ``seed``).
    executor : {"auto", "serial", "processes", "dask"}
        ``"auto"``: ``"dask"`` when ``scheduler`` is given, ``"processes"`` when
        ``workers > 1`` or (``workers`` unset) for at least
        :data:`AUTO_PROCESS_PATHS` paths on a multi-core machine, else ``"serial"``.
    scheduler : str or distributed.Client, optional
        Dask only: ``None`` starts an embedded ``LocalCluster`` with ``workers``
        single-threaded worker processes; ``"tcp://host:port"`` connects to a running
        scheduler (its workers must be able to import polyfold); a ``Client`` is used
        as is (and left open).
    workers : int, optional
        Local worker processes (default: the usable cores).  Ignored for a remote
        scheduler.
    out : str or path, optional
        Directory for per-path results, one ``chunk-XXXXXXXX.npz`` per chunk
        (``i_start, i_end, n_pieces, recomputed, degenerate`` and, for folding,
        ``r1, r2, prefix_r1, prefix_r2``; ``group`` for grouped explicit paths), with a
        ``manifest.json`` describing the sweep.
    resume : bool
        With ``out``: reuse the chunk files already written by the same sweep (a
        manifest describing a different sweep raises).  ``False`` deletes them first.
    mode : {"certified", "float", "exact"}
        Arithmetic of :func:`polyfold.segment_crossings`.
    tol : Tolerance, optional
    chunk_size : int
        Paths per chunk (memory per worker grows linearly with it; the results
        depend on it through the per-chunk seeds, so keep it fixed to reproduce).
    on_error : {"raise", "collect"}
        A chunk that raises is retried once; if it fails again, ``"raise"`` stops
        the sweep with :class:`~polyfold.exceptions.ChunkError` (chunk files already
        written stay for a resume) and ``"collect"`` records it in
        ``failed_chunks`` and carries on.
    progress : bool or None
        tqdm progress bar over chunks; ``None`` shows it only when stderr is a
        terminal.

    Returns
    -------
    SweepResult
        ``total`` and per-group :class:`PathAggregate`, the number of paths covered
        and requested, failed chunks, the seed.

    Raises
    ------
    ValidationError
        Bad arguments, a source of the wrong type, indices out of range, an ``out``
        directory holding a different sweep.
    ShapeError
        ``points`` of the wrong shape.
    ChunkError
        A chunk failed twice (``on_error="raise"``); ``chunk_id`` names it.
    DependencyError
        ``executor="dask"`` without ``dask.distributed`` installed.

    Notes
    -----
    Local processes are forked on Linux when the calling process runs no other
    thread, and spawned otherwise; spawned workers (and Dask's) re-import the main
    module, so scripts should start a sweep under ``if __name__ == "__main__":``.
    A worker process that dies breaks the pool: a fresh pool is started (at most
    twice) and the chunks in flight are retried.

    Only counters are kept: per group the histogram of piece counts and the exact
    counters of the reduced fractions ``chi`` and prefix maxima, so memory does not
    grow with the number of paths, and merging in any order gives identical
    results.  Per worker, the first layer is evaluated once per data point.  At most
    ``2 * workers`` chunks are in flight at a time.

    Examples
    --------
    >>> import numpy as np, polyfold
    >>> from polyfold.parallel import sweep, IndexPairs
    >>> net = polyfold.zoo.sawtooth(2)
    >>> pts = np.array([[0.0], [1.0], [0.5]])
    >>> res = sweep(net, pts, IndexPairs([0, 0], [1, 2]), quantity="crossings", seed=0)
    >>> res.total.crossings_histogram().tolist(), res.n_paths
    ([0, 1, 0, 1], 2)
    """
    if not isinstance(net, PLNet):
        raise ValidationError(
            f"net must be a polyfold.PLNet, got {type(net).__name__}; convert it with "
            "polyfold.from_torch, polyfold.from_sklearn or PLNet.from_arrays."
        )
    X, _ = check_points(points, net.input_dim, "points")
    if not isinstance(source, _SOURCES):
        raise ValidationError(
            f"source must be a ClassPairs, IndexPairs or RandomPairs from polyfold.parallel, "
            f"got {type(source).__name__}."
        )
    source.check(len(X))
    quantity = check_choice("quantity", quantity, QUANTITIES)
    check_mode(mode)
    tolv = get_tol(tol)
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    on_error = check_choice("on_error", on_error, ("raise", "collect"))
    if not isinstance(resume, bool):
        raise ValidationError(f"resume must be True or False, got {resume!r}.")
    entropy = _check_seed(seed)
    show = _show_progress(progress)
    executor, workers = _pick_executor(executor, scheduler, workers, source.n_paths)
    if out is not None:
        out = os.fspath(out)

    layers = tuple((W, b) for W, b in net.layers)
    desc = {
        "format": _FORMAT,
        "net_sha256": _sha256(*[a for Wb in layers for a in Wb])
        + ":" + ",".join(repr(a) for a in net.activations),
        "points_sha256": _sha256(X),
        "source": source.describe(),
        "quantity": quantity,
        "mode": mode,
        "tol": repr(tolv),
        "seed": str(entropy),
        "chunk_size": chunk_size,
    }
    token = hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()
    spec = _Spec(
        token=token,
        layers=layers,
        activations=tuple(net.activations),
        points=X,
        source=source,
        quantity=quantity,
        mode=mode,
        tol=tolv,
        entropy=entropy,
        want_paths=out is not None,
        faults=dict(_faults) if _faults else None,
    )
    chunks = list(source.chunks(chunk_size))
    keys = source.group_keys
    folding = quantity == "folding"
    total = PathAggregate(folding=folding)
    groups = {k: PathAggregate(folding=folding) for k in keys}
    covered = 0

    def absorb(aggs):
        nonlocal covered
        for g, a in aggs.items():
            total.merge(a)
            if g >= 0:
                groups[keys[g]].merge(a)
            covered += a.n_paths

    t0 = time.perf_counter()
    todo = chunks
    n_resumed = 0
    if out is not None:
        desc["n_chunks"] = len(chunks)
        desc["n_paths"] = source.n_paths
        _prepare_out(out, desc, resume)
        if resume:
            present = set(os.listdir(out))
            todo = []
            for c in chunks:
                paths = _read_chunk(out, c, quantity) if _chunk_name(c.id) in present else None
                if paths is None:
                    todo.append(c)
                else:
                    absorb(_aggregate_paths(paths, c.group))
                    n_resumed += 1

    failed = []
    by_id = {c.id: c for c in todo} if todo else {}
    n_workers = workers
    if todo:
        if executor == "serial":
            runner = _SerialRunner(spec)
        elif executor == "processes":
            runner = _PoolRunner(spec, min(workers, len(todo)))
        else:
            runner = _DaskRunner(spec, workers, scheduler)
        n_workers = runner.n_workers
        bar = None
        if show:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(chunks), initial=n_resumed, unit="chunk", desc="sweep")
        pending = {}
        it = iter(todo)
        window = max(1, 2 * runner.n_workers) if executor != "serial" else 1
        try:
            while True:
                while len(pending) < window:
                    c = next(it, None)
                    if c is None:
                        break
                    pending[runner.submit(c, 0)] = (c, 0)
                if not pending:
                    break
                for fut in runner.wait(pending):
                    c, attempt = pending.pop(fut)
                    try:
                        cid, aggs, paths = fut.result()
                    except Exception as err:
                        if attempt == 0:
                            pending[runner.submit(c, 1)] = (c, 1)
                            continue
                        msg = f"{type(err).__name__}: {str(err).rstrip('.')}"
                        group = keys[c.group] if c.group >= 0 else None
                        if on_error == "raise":
                            for f in pending:
                                f.cancel()
                            broken = type(err).__name__ == "BrokenProcessPool"
                            what = (
                                "could not run: worker processes died twice while it was "
                                "in flight (the culprit may be another chunk in flight)"
                                if broken
                                else "failed twice"
                            )
                            hint = _POOL_HINT if broken else "Fix the cause and rerun"
                            raise ChunkError(
                                f"chunk {c.id} ({c.n} paths"
                                + (f", group {group!r}" if group is not None else "")
                                + f") {what}: {msg}. {hint.rstrip('.')}; with "
                                "out=... the chunks already written are reused, or pass "
                                "on_error='collect' to skip failed chunks.",
                                chunk_id=c.id,
                            ) from err
                        failed.append(FailedChunk(chunk_id=c.id, group=group, n_paths=c.n, error=msg))
                        if bar is not None:
                            bar.update(1)
                        continue
                    if out is not None:
                        _write_chunk(out, by_id[cid], paths)
                    absorb(aggs)
                    if bar is not None:
                        bar.update(1)
        finally:
            if bar is not None:
                bar.close()
            runner.close()

    failed.sort(key=lambda f: f.chunk_id)
    common = {
        "total": total,
        "groups": groups,
        "n_paths": covered,
        "n_paths_requested": source.n_paths,
        "n_chunks": len(chunks),
        "n_chunks_resumed": n_resumed,
        "failed_chunks": tuple(failed),
        "quantity": quantity,
        "mode": mode,
        "seed": entropy,
        "chunk_size": chunk_size,
        "executor": executor,
        "n_workers": n_workers,
        "out": out,
        "elapsed": time.perf_counter() - t0,
    }
    if isinstance(source, ClassPairs):
        return ClassPairSweep(labels=source.labels, paths_per_pair=source.paths_per_pair, **common)
    return SweepResult(**common)


def class_pair_sweep(
    net,
    X,
    y,
    *,
    paths_per_pair=1000,
    seed=0,
    quantity="folding",
    pairs=None,
    same_class=False,
    executor="auto",
    scheduler=None,
    workers=None,
    out=None,
    resume=True,
    mode="certified",
    tol=None,
    chunk_size=4096,
    on_error="raise",
    progress=None,
):
    """Folding (or crossing counts) between every ordered pair of classes, streamed.

    The scale-out form of :func:`polyfold.class_pair_folding`: for every ordered
    pair of labels ``(a, b)``, ``paths_per_pair`` random paths from a point of class
    ``a`` to one of class ``b``, computed in chunks on local processes or a Dask
    cluster and aggregated without keeping per-path results.

    Parameters
    ----------
    net : PLNet
    X : (n, input_dim) float
        Data points (for example a test set).
    y : (n,) labels
        At least 2 classes.
    paths_per_pair : int
        Paths per ordered pair (the papers use up to 1M).
    seed : int, numpy SeedSequence or None
        Pair ``(a, b)`` (class positions ``ia, ib`` among the ``C`` sorted labels)
        and its chunk ``k`` draw from ``SeedSequence(seed, spawn_key=(ia * C + ib,
        k))``: the same paths for any executor, number of workers or subset of
        ``pairs``.
    quantity : {"folding", "crossings"}
    pairs : sequence of (a, b), optional
        Restrict to these ordered label pairs.
    same_class : bool
        Also sweep the pairs ``(a, a)`` (paths inside one class; the papers' "100
        ordered digit pairs" of 10 classes include them).  Default False:
        ``C (C - 1)`` pairs.
    executor, scheduler, workers, out, resume, mode, tol, chunk_size, on_error, progress
        As :func:`sweep`.

    Returns
    -------
    ClassPairSweep
        ``groups[(a, b)]`` (or ``pair(a, b)``) per pair and ``total`` over all paths
        (:class:`PathAggregate`: exact ``chi_max``, ``phi``, ``fraction_flat``,
        quantiles, crossing histograms); ``pair_matrix("chi_max")`` the heat map;
        ``pair_max_median`` (reading 1: per pair the maximum of ``chi``, median over
        pairs) and ``path_prefix_max_median`` (reading 2: per path the maximum of its
        prefix curve, median of the non-zero ones), exact as ``*_exact``;
        ``n_paths`` covered, ``failed_chunks``.

    Raises
    ------
    ShapeError
        ``X``/``y`` of the wrong shape.
    ValidationError
        Fewer than 2 classes, bad ``pairs`` or options (see :func:`sweep`).
    ChunkError
        A chunk failed twice (``on_error="raise"``).
    DependencyError
        ``executor="dask"`` without ``dask.distributed``.

    Notes
    -----
    Reading 1 follows :func:`polyfold.class_pair_folding`: a pair whose paths are
    all flat contributes 0.  The endpoints are drawn differently from
    :func:`polyfold.class_pair_folding` (per chunk rather than per pair), so the
    two agree in distribution, not path by path.

    Examples
    --------
    >>> import numpy as np, polyfold
    >>> from polyfold.parallel import class_pair_sweep
    >>> net = polyfold.zoo.random_mlp((4, 4), 2, seed=1)
    >>> X = np.random.default_rng(0).uniform(-1, 1, (20, 2)); y = np.arange(20) % 2
    >>> res = class_pair_sweep(net, X, y, paths_per_pair=50, seed=0, executor="serial")
    >>> res.n_paths, sorted(res.groups), res.complete
    (100, [(0, 1), (1, 0)], True)
    >>> res.pair_matrix("chi_max").shape
    (2, 2)
    """
    if not isinstance(net, PLNet):
        raise ValidationError(
            f"net must be a polyfold.PLNet, got {type(net).__name__}; convert it with "
            "polyfold.from_torch, polyfold.from_sklearn or PLNet.from_arrays."
        )
    Xa = as_float_array(X, "X")
    if Xa.ndim != 2 or Xa.shape[1] != net.input_dim:
        raise ShapeError(
            f"X must have shape (n, {net.input_dim}) to match net.input_dim={net.input_dim}, "
            f"got {Xa.shape}; flatten images with X.reshape(len(X), -1)."
        )
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(Xa):
        raise ShapeError(
            f"y must be a 1-D array of {len(Xa)} labels (one per row of X), got shape {y.shape}."
        )
    source = ClassPairs(y, paths_per_pair, pairs=pairs, same_class=same_class)
    return sweep(
        net, Xa, source, quantity=quantity, seed=seed, executor=executor, scheduler=scheduler,
        workers=workers, out=out, resume=resume, mode=mode, tol=tol, chunk_size=chunk_size,
        on_error=on_error, progress=progress,
    )
