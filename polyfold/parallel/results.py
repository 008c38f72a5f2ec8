"""Results of a sweep: :class:`SweepResult`, :class:`ClassPairSweep`, :class:`FailedChunk`.

Part of :mod:`polyfold.parallel`, which re-exports the public names.
"""

from dataclasses import dataclass, field

import numpy as np

from .._validation import check_choice
from ..exceptions import ValidationError
from ._common import _json_key, _py
from .aggregates import PathAggregate


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
        if not isinstance(other, SweepResult):
            raise ValidationError(f"other must be a SweepResult, got {type(other).__name__}.")
        return (
            self.total == other.total
            and self.groups == other.groups
            and self.n_paths == other.n_paths
            and self.failed_chunks == other.failed_chunks
        )

    def to_pandas(self):
        """One row per group (class pair, or :class:`IndexPairs` group label; a single
        row ``group=None`` for the whole sweep when the source has no groups).  Needs
        pandas.

        Columns: ``group`` (the key; for class pairs also ``class_a`` and
        ``class_b``), ``n_paths``, ``n_recomputed``, ``n_degenerate``,
        ``mean_crossings``, ``max_crossings`` and, for ``quantity="folding"``,
        ``chi_max`` and ``phi`` (floats) with ``chi_max_exact`` and ``phi_exact``
        (Fractions), ``fraction_flat``, ``prefix_max_max`` and ``prefix_max_phi``
        (Fractions).  A group without paths (a failed chunk, or a sweep of no paths)
        has pandas' missing values there: NaN in the float columns, None in the
        Fraction columns and ``-1`` for ``max_crossings``.

        Examples
        --------
        >>> import numpy as np, polyfold
        >>> from polyfold.parallel import sweep, IndexPairs
        >>> pts = np.array([[0.0], [1.0], [0.5]])
        >>> r = sweep(polyfold.zoo.sawtooth(2), pts, IndexPairs([0, 0], [1, 2], groups=["a", "b"]),
        ...           quantity="crossings", seed=0, progress=False)
        >>> r.to_pandas()[["group", "n_paths", "max_crossings"]].values.tolist()
        [['a', 1, 3], ['b', 1, 1]]
        """
        from .._tables import to_dataframe

        items = list(self.groups.items()) or [(None, self.total)]
        keys = [_py(k) if not isinstance(k, tuple) else tuple(_py(v) for v in k)
                for k, _ in items]
        aggs = [g for _, g in items]
        cols = {"group": keys}
        if keys and all(isinstance(k, tuple) and len(k) == 2 for k in keys):
            cols["class_a"] = [k[0] for k in keys]
            cols["class_b"] = [k[1] for k in keys]
        cols.update({
            "n_paths": np.array([g.n_paths for g in aggs], np.int64),
            "n_recomputed": np.array([g.n_recomputed for g in aggs], np.int64),
            "n_degenerate": np.array([g.n_degenerate for g in aggs], np.int64),
            "mean_crossings": np.array([g.mean_crossings if g.n_paths else np.nan
                                        for g in aggs], np.float64),
            "max_crossings": np.array([g.max_crossings if g.n_paths else -1 for g in aggs],
                                      np.int64),
        })
        if self.quantity == "folding":
            some = [g.n_paths > 0 for g in aggs]
            cols["chi_max_exact"] = [g.chi_max if ok else None for g, ok in zip(aggs, some)]
            cols["chi_max"] = np.array([float(v) if v is not None else np.nan
                                        for v in cols["chi_max_exact"]])
            cols["phi_exact"] = [g.phi if ok else None for g, ok in zip(aggs, some)]
            cols["phi"] = np.array([float(v) if v is not None else np.nan
                                    for v in cols["phi_exact"]])
            cols["fraction_flat"] = np.array([g.fraction_flat if ok else np.nan
                                              for g, ok in zip(aggs, some)])
            cols["prefix_max_max"] = [g.prefix_max_max if ok else None for g, ok in zip(aggs, some)]
            cols["prefix_max_phi"] = [g.prefix_max_phi if ok else None for g, ok in zip(aggs, some)]
        return to_dataframe(cols, type(self).__name__)

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
