"""Endpoint sources of a sweep and the chunks they split into.

:class:`ClassPairs` (random paths between every ordered pair of classes),
:class:`IndexPairs` (explicit index arrays, optionally grouped) and
:class:`RandomPairs` (uniform random pairs, seeded).  A source describes itself
for the sweep manifest, splits the sweep into chunks (:class:`_Chunk`, all that
travels per task) and, on the worker, draws or slices the endpoints of a chunk
from the chunk's own ``SeedSequence``.  Part of :mod:`polyfold.parallel`, which
re-exports the public names.
"""

from typing import NamedTuple

import numpy as np

from .._validation import as_int64, check_positive_int, read_array
from ..exceptions import ShapeError, ValidationError
from ._common import _json_label, _py, _sha256


class _Chunk(NamedTuple):
    """Description of one chunk: all that travels per task."""

    id: int  # position in the sweep
    group: int  # group index (-1: the source has no groups or groups are per path)
    index: int  # chunk index within its group (or within the sweep)
    start: int  # first path within the group (or within the sweep)
    n: int  # number of paths


def _check_index_array(a, name):
    """``a`` (a scalar, a list or a 1-D integer array of point indices) as a 1-D int64
    array; ``[]`` gives no paths.  The range is checked later (:meth:`IndexPairs.check`)."""
    arr = read_array(a, name, "a 1-D integer array of point indices")
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.size == 0 and arr.dtype.kind in "fiu":
        arr = arr.astype(np.int64)  # [] (float64 in numpy): no paths
    if arr.ndim != 1 or arr.dtype.kind not in "iu":
        raise ValidationError(
            f"{name} must be a 1-D integer array of point indices, got dtype {arr.dtype} "
            f"and shape {arr.shape}; convert it with np.asarray({name}, dtype=np.int64)."
        )
    return np.ascontiguousarray(as_int64(arr, name))


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

    Empty arrays are a sweep of no paths (its aggregates hold no paths).

    Raises
    ------
    ShapeError
        Arrays of different lengths.
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
            if len(a) and (a.min() < 0 or a.max() >= n_points):
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
