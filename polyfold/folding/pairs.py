"""Class-pair aggregation of space folding (the MNIST experiment).

:func:`class_pair_folding` draws paths between points of two classes, computes
their exact folding measures and aggregates them per class pair in the readings of
:data:`READINGS`, returning a :class:`ClassPairFolding`.  Part of
:mod:`polyfold.folding`, which re-exports the public names.
"""

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .._validation import check_choice, check_mode, check_positive_int, check_seed
from ..exceptions import ShapeError, ValidationError
from ._kernels import _check_net, _resolve_convention
from .distribution import GlobalFolding, _global_from_counts, fraction_counts
from .paths import _batch_from_kernel


#: readings of the class-pair aggregation (spec section 6)
READINGS = ("pair_max_median", "path_prefix_max_median")


# ---------------------------------------------------------------------------
# class-pair aggregation
# ---------------------------------------------------------------------------
class _FractionCounts:
    """Multiset of rationals ``1 - r1/r2`` stored as reduced (num, den) -> count.

    Memory grows with the number of distinct values (small: denominators are path
    lengths), not with the number of paths, so 1M paths per pair stream in
    constant memory."""

    def __init__(self):
        self.counts = {}

    def add(self, r1, r2):
        for key, n in fraction_counts(r1, r2).items():
            self.counts[key] = self.counts.get(key, 0) + n

    def merge(self, other):
        for key, n in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + n

    def _sorted(self):
        keys = sorted(self.counts, key=lambda nd: Fraction(*nd))
        num = np.array([k[0] for k in keys], dtype=np.int64)
        den = np.array([k[1] for k in keys], dtype=np.int64)
        cnt = np.array([self.counts[k] for k in keys], dtype=np.int64)
        return num / den, cnt, num, den

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

    def to_pandas(self):
        """One row per ordered class pair that was computed (needs pandas).

        Columns: ``class_a`` (start class), ``class_b`` (end class), ``chi_max``
        (float) and ``chi_max_exact`` (Fraction): the maximum non-zero ``chi`` of the
        pair's paths (0 when all are flat), ``phi`` (median of the non-zero ``chi``),
        ``fraction_flat`` and ``n_paths``.

        Examples
        --------
        >>> import numpy as np, polyfold
        >>> X, y = np.array([[0.0], [0.0], [1.0], [1.0]]), np.array([0, 0, 1, 1])
        >>> res = polyfold.class_pair_folding(polyfold.zoo.sawtooth(3), X, y,
        ...                                   paths_per_pair=2, seed=0)
        >>> res.to_pandas()[["class_a", "class_b", "chi_max_exact"]].values.tolist()
        [[0, 1, Fraction(4, 7)], [1, 0, Fraction(4, 7)]]
        """
        from .._tables import to_dataframe

        ia, ib = np.nonzero(np.isfinite(self.pair_max))
        labels = [v.item() if hasattr(v, "item") else v for v in self.labels]
        a = [labels[i] for i in ia]
        b = [labels[j] for j in ib]
        return to_dataframe({
            "class_a": a,
            "class_b": b,
            "chi_max": self.pair_max[ia, ib],
            "chi_max_exact": [self.pair_max_exact.get((x, z)) for x, z in zip(a, b)],
            "phi": self.pair_phi[ia, ib],
            "fraction_flat": self.pair_fraction_flat[ia, ib],
            "n_paths": np.full(len(a), self.n_paths_per_pair, dtype=np.int64),
        }, "ClassPairFolding")

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
    from .._validation import as_float_array, net_points

    X = as_float_array(X, "X")
    if X.ndim < 2 or (X.ndim == 2 and X.shape[1] != net.input_dim) or (
        X.ndim > 2 and X.shape[1:] != tuple(net.input_shape)
    ):
        raise ShapeError(
            f"X must have shape (n, {net.input_dim}) to match net.input_dim="
            f"{net.input_dim}, got {X.shape}; flatten images with X.reshape(len(X), -1)."
        )
    X, _ = net_points(net, X, "X")
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
    progress : bool or None
        tqdm progress bar over pairs on standard error (``None``: only when standard
        error is a terminal).

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
    from ..tolerance import get_tol

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
            if (ia, ib) in todo:
                raise ValidationError(f"pairs lists {p!r} twice; list each pair once.")
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
    from .._progress import progress_bar

    it = progress_bar(todo, desc="class pairs", progress=progress)
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
