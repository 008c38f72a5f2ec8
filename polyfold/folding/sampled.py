"""Sampled folding estimates and their error against the exact walk.

:func:`sampled_folding` estimates the walk from a grid of points or by bisection,
as the papers do, and :func:`sampling_error` compares such an estimate with the
exact value from :func:`space_folding_batch` (regions missed, error of ``chi``).
Part of :mod:`polyfold.folding`, which re-exports the public names.
"""

import numbers
from dataclasses import dataclass, field

import numpy as np

from .._validation import check_choice, check_grid_points, check_item_index, check_positive_int, net_segments
from ..exceptions import ValidationError
from ._kernels import _check_net, _resolve_convention
from .paths import SpaceFoldingBatch, space_folding_batch
from .walks import FoldingMeasureBatch, _measure_flat


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
    units, classes : str
        The conventions used (as in :class:`SpaceFoldingBatch`).
    """

    method: str
    measures: FoldingMeasureBatch = field(repr=False)
    walk_offsets: np.ndarray = field(repr=False)
    walks: np.ndarray = field(repr=False)
    n_evaluations: np.ndarray = field(repr=False)
    units: str = "hidden"
    classes: str = "sign"

    @property
    def chi(self):
        """(m,) float chi per path."""
        return self.measures.chi

    @property
    def n_paths(self):
        """Number of paths."""
        return len(self.walk_offsets) - 1

    def __len__(self):
        return self.n_paths

    def walk(self, i):
        """(k_i, n_units) sampled walk of path ``i``."""
        i = check_item_index(i, self.n_paths, "i", "path")
        return self.walks[self.walk_offsets[i] : self.walk_offsets[i + 1]]

    def to_pandas(self):
        """One row per path (needs pandas): the columns of
        :meth:`FoldingMeasureBatch.to_pandas` with ``path`` for ``walk``, and
        ``n_evaluations`` (network evaluations spent on the path)."""
        from .._tables import to_dataframe

        cols = self.measures._columns("path")
        cols["n_evaluations"] = np.asarray(self.n_evaluations, dtype=np.int64)
        return to_dataframe(cols, "SampledFolding")


def _classes_at(net, X, conv):
    """Classes (n, n_units) of points under a convention (float evaluation)."""
    from ..network import bits_from_codes, codes_from_preactivations, pieces_from_codes

    if not len(X):
        # no points (a batch of no paths): the classes of one point, none kept, give
        # the dtype and width (graph operators are not run on empty batches)
        return _classes_at(net, np.zeros((1, X.shape[1])), conv)[:0]
    if not net.is_dense:
        return _classes_at_graph(net, X, conv)
    zs = []
    posts = []
    h = X
    n_layers = len(net.layers) if conv.output else net.depth  # (logits only when used)
    for l, (W, b) in enumerate(net.layers[:n_layers]):
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
        codes = codes_from_preactivations(net, zs[: net.depth])
        base = bits_from_codes(net, codes) if conv.kind == "sign" else pieces_from_codes(net, codes)
        cols.append(base[:, conv.hidden_cols])
    if conv.output:
        cols.append(zs[-1] > (conv.tau if conv.kind == "threshold" else 0.0))
    if conv.kind == "piece":
        cols = [c.astype(np.int8) for c in cols]
    return np.concatenate(cols, axis=1) if cols else np.zeros((len(X), 0), bool)


def _classes_at_graph(net, X, conv):
    from ..network import bits_from_codes, pieces_from_codes
    from ._kernels import graph_unit_values

    cols = []
    if conv.kind == "threshold":
        if len(conv.hidden_cols):
            hs, _, logits, _ = graph_unit_values(net, X)
            cols.append(np.concatenate(hs, axis=1)[:, conv.hidden_cols] > conv.tau)
        elif conv.output:
            logits = net.forward(X)
    else:
        codes = net.codes(X)
        if conv.output:
            logits = net.forward(X)
        if net.depth:
            base = bits_from_codes(net, codes) if conv.kind == "sign" else pieces_from_codes(net, codes)
            cols.append(base[:, conv.hidden_cols])
    if conv.output:
        cols.append(logits > (conv.tau if conv.kind == "threshold" else 0.0))
    if conv.kind == "piece" or any(c.dtype != bool for c in cols):
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
    if not rows:  # no paths
        rows.append(_classes_at(net, S, conv))
    off = np.arange(m + 1, dtype=np.int64) * n_points
    return np.concatenate(rows, axis=0), off, np.full(m, n_points, np.int64)


def _bisect_walks(net, S, E, conv, eps, max_evaluations):
    """Adaptive bisection on classes (:func:`polyfold.sampling._bisect_samples`): split
    while the end classes differ."""
    from ..sampling import _bisect_samples

    seg, _, rows, evals = _bisect_samples(S, E, lambda X: _classes_at(net, X, conv), eps, max_evaluations)
    counts = np.bincount(seg, minlength=len(S))
    return rows, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64), evals


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
    from ..network import bits_from_codes, pieces_from_codes

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
        Bisection budget per path (evaluations, the two ends included).
    units, classes
        As :func:`space_folding_batch`.

    Returns
    -------
    SampledFolding

    Notes
    -----
    The grid evaluates the classes at ``t_i = i / (n_points - 1)`` (for hidden-unit
    conventions through :func:`polyfold.sampling.grid_patterns`, codes mapped to
    classes).  Bisection compares the classes of the chosen units and ``classes``
    at the two ends of an interval, not the finer codes of all neurons: with
    ``units=[1]`` an interval whose ends have equal layer-1 bits is not split.  It
    never spends more than ``max_evaluations`` evaluations on a path, and stops at
    intervals whose float midpoint is one of their ends.  A grid can skip regions,
    so its ``chi`` can be above or below the exact one.  Bisection is exact up to
    ``eps`` when every class is convex (the sign patterns of all hidden units of
    ReLU and non-negative leaky ReLU networks, ``"piece"`` classes of all hidden
    units); for other classes (layer subsets, output units, thresholds
    ``tau != 0``, hard-tanh sign bits) it is a heuristic and can miss classes
    between two equal ones.

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
    S, E, _ = net_segments(net, starts, ends)
    if method == "grid":
        n_points = check_grid_points(n_points, S.shape[1] + net.n_hidden + net.output_dim)
        label = f"grid{n_points}"
    else:
        if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not 0 < eps < 1:
            raise ValidationError(f"eps must be a number in (0, 1), got {eps!r}; try eps=1e-6.")
        max_evaluations = check_positive_int(max_evaluations, "max_evaluations", minimum=2)
        label = f"bisection(eps={eps:g})"
    if method == "grid" and not conv.needs_split and net.depth:
        from .. import sampling

        # the grid sampler of polyfold.sampling: codes, mapped to classes below
        sw = sampling.grid_patterns(net, S, E, n_points)
        rows = _codes_to_classes(net, sw.codes, conv)
        off, evals = sw.piece_offsets, sw.n_evaluations
    elif method == "grid":
        rows, off, evals = _grid_walks(net, S, E, conv, n_points)
    else:
        # bisection compares the classes themselves (not the finer codes): an interval
        # whose end classes agree is not split, as in the spec's sampler
        rows, off, evals = _bisect_walks(net, S, E, conv, float(eps), max_evaluations)
    rows, off = _dedup_flat(rows, off)
    measures = _measure_flat(rows, off)
    return SampledFolding(method=label, measures=measures, walk_offsets=off, walks=rows, n_evaluations=evals,
                          units=conv.units_label, classes=conv.classes_label)


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
    abs_error_mean, abs_error_max : float or None
    fraction_wrong : float or None
        Share of paths whose sampled ``chi`` differs from the exact one (compared
        exactly, as rationals).  These three summaries are ``None`` for a batch of no
        paths (a mean or maximum of nothing is undefined; never NaN).
    regions_missed : (m,) int64
        Exact classes minus sampled classes per path (negative only if a sample hit
        a boundary and saw a class of zero length).
    n_evaluations : (m,) int64
    units, classes : str
        The conventions of both walks.
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
    units: str = "hidden"
    classes: str = "sign"

    def to_pandas(self):
        """One row per path (needs pandas).

        Columns: ``path``, ``chi_exact`` and ``chi_sampled`` (floats), ``chi_error``
        (sampled minus exact), ``exact_regions`` and ``sampled_regions`` (classes of
        each walk), ``regions_missed`` and ``n_evaluations``.
        """
        from .._tables import to_dataframe

        return to_dataframe({
            "path": np.arange(len(self.chi_error), dtype=np.int64),
            "chi_exact": np.asarray(self.exact.chi, dtype=np.float64),
            "chi_sampled": np.asarray(self.sampled.chi, dtype=np.float64),
            "chi_error": np.asarray(self.chi_error, dtype=np.float64),
            "exact_regions": self.exact.n_regions,
            "sampled_regions": self.sampled.n_regions,
            "regions_missed": self.regions_missed,
            "n_evaluations": self.n_evaluations,
        }, "SamplingError")

    def as_dict(self):
        """Plain dict (JSON friendly); the means are ``None`` for no paths."""
        some = len(self.chi_error) > 0

        def mean(a):
            return float(np.mean(a)) if some else None

        return {
            "method": self.method,
            "abs_error_mean": self.abs_error_mean,
            "abs_error_max": self.abs_error_max,
            "fraction_wrong": self.fraction_wrong,
            "regions_missed_mean": mean(self.regions_missed),
            "regions_missed_total": int(np.sum(self.regions_missed)),
            "exact_regions_mean": mean(self.exact.n_regions),
            "evaluations_mean": mean(self.n_evaluations),
            "units": self.units,
            "classes": self.classes,
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
    S, E, _ = net_segments(net, starts, ends)
    if exact is None:
        exact = space_folding_batch(net, S, E, mode=mode, units=units, classes=classes, tol=tol)
    elif not isinstance(exact, SpaceFoldingBatch) or exact.n_paths != len(S):
        raise ValidationError(
            f"exact must be a SpaceFoldingBatch on the same {len(S)} paths, got "
            f"{type(exact).__name__}"
            + (f" of {exact.n_paths} paths" if isinstance(exact, SpaceFoldingBatch) else "")
            + "; leave exact=None to compute it."
        )
    else:
        conv = _resolve_convention(net, units, classes)
        if (exact.units, exact.classes) != (conv.units_label, conv.classes_label):
            raise ValidationError(
                f"exact was computed with units={exact.units!r}, classes={exact.classes!r}, "
                f"but this call asks for units={conv.units_label!r}, "
                f"classes={conv.classes_label!r}; pass the same units and classes, or "
                "leave exact=None to compute it."
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
    some = len(err) > 0  # (no paths: the summaries are undefined, None)
    return SamplingError(
        method=sp.method,
        exact=ex,
        sampled=sm,
        chi_error=err,
        abs_error_mean=float(np.mean(np.abs(err))) if some else None,
        abs_error_max=float(np.max(np.abs(err))) if some else None,
        fraction_wrong=float(np.mean(wrong)) if some else None,
        regions_missed=(ex.n_regions - sm.n_regions).astype(np.int64),
        n_evaluations=sp.n_evaluations,
        units=sp.units,
        classes=sp.classes,
    )
