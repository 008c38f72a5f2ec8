"""Space folding of a network along straight paths, on the exact walk.

:func:`space_folding` (one path) and :func:`space_folding_batch` (many paths, flat
results with offsets) walk each segment ``x1 -> x2`` through the exact sequence of
regions from :func:`polyfold.segment_crossings` and return the folding measure of
that walk as a :class:`SpaceFolding` / :class:`SpaceFoldingBatch`.  Part of
:mod:`polyfold.folding`, which re-exports the public names.
"""

from dataclasses import dataclass, field
from functools import cached_property
from fractions import Fraction

import numpy as np

from .._validation import check_item_index, check_mode, net_points, net_segments
from ..exceptions import ShapeError
from ._kernels import _check_net, _resolve_convention, _walk_kernel
from .walks import FoldingMeasureBatch, PrefixCurve, _measure_flat, folding_measure, prefix_curve


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
    walk_rows: np.ndarray = field(repr=False)  # walks, or their bits packed (see walks)
    t_offsets: np.ndarray = field(repr=False)
    t: np.ndarray = field(repr=False)
    t_exact: object = field(repr=False)
    n_pieces: np.ndarray = field(repr=False)
    n_recomputed: int = 0
    mode: str = "certified"
    units: str = "hidden"
    classes: str = "sign"
    unit_labels: tuple = field(default=(), repr=False)
    walk_columns: np.ndarray = field(default=None, repr=False)  # packed: bits of the units

    @cached_property
    def walks(self):
        """(total, n_units) walks (unpacked on first access when stored as packed bits)."""
        return self._unpack(self.walk_rows)

    def _unpack(self, rows):
        if rows.dtype != np.uint64:
            return rows
        n_bits = 64 * rows.shape[1]
        if not len(rows):  # no walks
            return np.zeros((0, len(self.walk_columns)), bool)
        bits = np.unpackbits(np.ascontiguousarray(rows).view(np.uint8).reshape(len(rows), -1), axis=1,
                             count=n_bits, bitorder="little").view(bool)
        return bits[:, self.walk_columns]

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
        i = check_item_index(i, self.n_paths, "i", "path")
        rows = self.walk_rows[self.walk_offsets[i] : self.walk_offsets[i + 1]]
        return self._unpack(rows) if "walks" not in self.__dict__ else self.walks[
            self.walk_offsets[i] : self.walk_offsets[i + 1]]

    def breakpoints(self, i):
        """Class-change parameters of path ``i`` (Fractions in exact mode)."""
        i = check_item_index(i, self.n_paths, "i", "path")
        a, b = self.t_offsets[i], self.t_offsets[i + 1]
        if self.t_exact is not None:
            return list(self.t_exact[a:b])
        return self.t[a:b].copy()

    def reversed_measures(self):
        """FoldingMeasureBatch of the reversed walks (paths ``x2 -> x1``)."""
        off = self.walk_offsets
        seg = np.repeat(np.arange(self.n_paths), np.diff(off))
        idx = off[seg] + off[seg + 1] - 1 - np.arange(len(seg))
        return _measure_flat(self.walk_rows[idx], off)

    def path(self, i):
        """:class:`SpaceFolding` of path ``i``."""
        i = check_item_index(i, self.n_paths, "i", "path")
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

    def to_pandas(self):
        """One row per path (needs pandas).

        Columns: ``path``, ``chi`` (float), ``chi_exact`` (Fraction), ``r1``, ``r2``,
        ``displacement``, ``n_regions`` (regions of the walk after merging repeats),
        ``prefix_max``, ``prefix_max_exact`` (as in
        :meth:`FoldingMeasureBatch.to_pandas`), ``n_pieces`` (linear pieces of the
        segment) and ``chi_reversed`` (``chi`` of the reversed walk, float).

        Examples
        --------
        >>> import polyfold
        >>> res = polyfold.space_folding_batch(polyfold.zoo.sawtooth(3), [[0.0]], [[1.0]])
        >>> res.to_pandas()[["chi_exact", "n_pieces"]].values.tolist()
        [[Fraction(4, 7), 8]]
        """
        from .._tables import to_dataframe

        cols = self.measures._columns("path")
        cols["n_pieces"] = np.asarray(self.n_pieces, dtype=np.int64)
        cols["chi_reversed"] = np.asarray(self.reversed_measures().chi, dtype=np.float64)
        return to_dataframe(cols, "SpaceFoldingBatch")


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
        ``starts``/``ends`` of the wrong shape (``(0, d)``, no paths, gives an empty
        batch).
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
    from ..tolerance import get_tol

    tolv = get_tol(tol)
    conv = _resolve_convention(net, units, classes)
    S, E, _ = net_segments(net, starts, ends)
    return _batch_from_kernel(net, S, E, conv, mode, tolv)


def _batch_from_kernel(net, S, E, conv, mode, tolv):
    k = _walk_kernel(net, S, E, conv, mode, tolv)
    counts = k["counts"]
    off = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return SpaceFoldingBatch(
        n_paths=len(S),
        measures=_measure_flat(k["rows"], off),
        walk_offsets=off,
        walk_rows=k["rows"],
        walk_columns=k.get("columns"),
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
        pts, single = net_points(net, x, name)
        if not single:
            raise ShapeError(
                f"{name} must be one point of shape ({d},) to match net.input_dim={d}, got "
                f"shape {np.shape(x)}; use space_folding_batch for many paths."
            )
    x1, x2 = net_points(net, x1, "x1")[0], net_points(net, x2, "x2")[0]
    res = space_folding_batch(
        net, np.reshape(x1, (1, d)), np.reshape(x2, (1, d)), mode=mode, units=units,
        classes=classes, tol=tol,
    )
    return res.path(0)
