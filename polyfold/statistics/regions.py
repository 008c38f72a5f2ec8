"""Zhang & Wu's statistics of the linear regions around data samples.

:func:`region_statistics` computes, for every sample of a data set, the local
properties of its linear region studied by Zhang & Wu (ICLR 2020): insphere
radius, facet-defining hyperplanes and the orthogonality of their normals,
decision boundaries inside the region, and the relevance of the neighbouring
regions across each facet; the result is a :class:`RegionStatistics`.
"""

from dataclasses import dataclass, field

import numpy as np

from .._validation import check_choice
from ..exceptions import DomainError, SolverError, ValidationError

#: largest |bound| of a region_statistics domain
_DOMAIN_LIMIT = 1e300
from ..tolerance import get_tol
from ._boundaries import _boundaries, _class_gradient, _label
from .._fast import single_blas
from .._progress import progress_bar
from ._common import _domain_bounds, _readonly, _reraise_indexed
from ._neighbours import _region_info

__all__ = ["RegionStatistics", "region_statistics"]

# ---------------------------------------------------------------------------
# region statistics (Zhang & Wu 2020)
# ---------------------------------------------------------------------------
_NEIGHBOUR_LABELS = ("step", "centre")
_FACET_POINTS = ("nearest", "chebyshev")

#: scalar per-sample columns written by :meth:`RegionStatistics.to_csv`, in order
_CSV_COLUMNS = (
    "predicted",
    "radius",
    "depth",
    "n_facets",
    "n_domain_facets",
    "cos_mean",
    "cos_median",
    "boundary_crosses",
    "n_boundaries",
    "boundary_distance",
    "boundary_class",
    "free_boundary_distance",
    "n_neighbours",
    "neighbour_cos_mean",
    "neighbour_label_change",
    "neighbours_verified",
)


@dataclass(frozen=True)
class RegionStatistics:
    """Local properties of the linear regions around samples (one row per sample).

    Produced by :func:`region_statistics`; see there (and
    ``docs/statistics.rst``) for the definitions.  All arrays are read-only and
    have one entry per sample; the ``tuple`` fields hold one array (or tuple) per
    sample.  Missing values are NaN (no facet pairs, no neighbour) or ``inf`` (no
    decision boundary in the region).

    Attributes
    ----------
    predicted : (n,) int64
        Class predicted at the sample.
    radius : (n,) float
        Insphere radius of the sample's region intersected with the domain.
    centre : (n, d) float
        Centre of that insphere.
    depth : (n,) float
        Distance from the sample to the nearest hyperplane of a neuron among the
        region's rows (how far it is from leaving its region through a neuron;
        domain faces do not count, ``inf`` without neuron rows).
    n_facets : (n,) int64
        Facet-defining hyperplanes of neurons (domain faces excluded).
    n_domain_facets : (n,) int64
        Facet-defining faces of the domain box.
    cos_mean, cos_median : (n,) float
        Mean and median of ``|cos|`` over all pairs of unit facet normals
        (neuron facets only); NaN with fewer than two facets.
    boundary_crosses : (n,) bool
        Some decision boundary ``(V_c - V_j) x + (u_c - u_j) = 0`` crosses the region.
    n_boundaries : (n,) int64
        Number of classes ``j`` whose boundary with the predicted class crosses it.
    boundary_distance : (n,) float
        Distance from the sample to the nearest crossing boundary *within the
        region* (``inf`` when none crosses).
    boundary_class : (n,) int64
        The class ``j`` of that boundary (-1 when none).
    free_boundary_distance : (n,) float
        ``min_j |g_j . x + h_j| / |g_j|``: distance to the nearest boundary
        hyperplane of the region's affine map, ignoring the region.
    n_neighbours : (n,) int64
        Neighbours examined (one per neuron facet).
    neighbour_cos_mean : (n,) float
        Mean cosine similarity between the predicted-class gradient in the region
        and in each neighbour.
    neighbour_label_change : (n,) float
        Share of neighbours whose predicted label differs from the sample's.
    neighbours_verified : (n,) float
        Share of neighbours whose pattern was confirmed by a forward pass.
    patterns : (n, n_hidden) bool
        Activation pattern of each sample's region.
    facet_units : tuple of tuple
        Per sample, the ``(layer, neuron)`` of every neuron facet.
    pair_cosines : tuple of (k_i (k_i - 1) / 2,) float
        Per sample, ``|cos|`` of every pair of neuron-facet normals.
    boundary_classes : tuple of (b_i,) int64
        Per sample, the classes whose boundary crosses the region.
    boundary_distances : tuple of (b_i,) float
        Per sample, the distance to each of those boundaries within the region.
    neighbour_units : tuple of tuple
        Per sample and neighbour, the units that switch across the facet.
    neighbour_cosines : tuple of (k_i,) float
        Per sample, the gradient cosine of every neighbour.
    neighbour_labels : tuple of (k_i,) int64
        Per sample, every neighbour's predicted label (-1 where it failed).
    neighbour_verified : tuple of (k_i,) bool
        Per sample, whether each neighbour's pattern was confirmed.
    neighbour_points : tuple of (k_i, d) float
        Per sample, the stepped point inside each neighbour.
    domain : (lower (d,), upper (d,)) or None
    neighbour_label : str
    facet_point : str
    """

    predicted: np.ndarray
    radius: np.ndarray
    centre: np.ndarray
    depth: np.ndarray
    n_facets: np.ndarray
    n_domain_facets: np.ndarray
    cos_mean: np.ndarray
    cos_median: np.ndarray
    boundary_crosses: np.ndarray
    n_boundaries: np.ndarray
    boundary_distance: np.ndarray
    boundary_class: np.ndarray
    free_boundary_distance: np.ndarray
    n_neighbours: np.ndarray
    neighbour_cos_mean: np.ndarray
    neighbour_label_change: np.ndarray
    neighbours_verified: np.ndarray
    patterns: np.ndarray
    facet_units: tuple = field(repr=False)
    pair_cosines: tuple = field(repr=False)
    boundary_classes: tuple = field(repr=False)
    boundary_distances: tuple = field(repr=False)
    neighbour_units: tuple = field(repr=False)
    neighbour_cosines: tuple = field(repr=False)
    neighbour_labels: tuple = field(repr=False)
    neighbour_verified: tuple = field(repr=False)
    neighbour_points: tuple = field(repr=False)
    domain: tuple = field(default=None, repr=False)
    neighbour_label: str = "step"
    facet_point: str = "nearest"

    def __len__(self):
        return int(self.radius.shape[0])

    @property
    def n_samples(self):
        """Number of samples (rows)."""
        return len(self)

    def __repr__(self):
        return (
            f"RegionStatistics(n_samples={len(self)}, "
            f"neighbour_label={self.neighbour_label!r}, facet_point={self.facet_point!r})"
        )

    @classmethod
    def concat(cls, parts):
        """Join results over disjoint batches of samples (in the given order).

        Parameters
        ----------
        parts : sequence of RegionStatistics
            Computed with the same network, domain and options (for example by
            parallel workers on chunks of ``X``).

        Returns
        -------
        RegionStatistics

        Raises
        ------
        ValidationError
            If ``parts`` is empty or the parts were computed with different
            domains or options.
        """
        import dataclasses

        if isinstance(parts, (RegionStatistics, str, bytes)) or not hasattr(parts, "__iter__"):
            raise ValidationError(
                "parts must be a non-empty sequence (list or tuple) of RegionStatistics, got "
                f"{type(parts).__name__}; e.g. RegionStatistics.concat([st1, st2])."
            )
        parts = list(parts)
        if not parts or not all(isinstance(p, RegionStatistics) for p in parts):
            raise ValidationError(
                "parts must be a non-empty sequence of RegionStatistics; got "
                f"{[type(p).__name__ for p in parts]}."
            )
        first = parts[0]
        for k, p in enumerate(parts[1:], start=1):
            if (p.centre.shape[1:], p.patterns.shape[1:]) != (first.centre.shape[1:],
                                                             first.patterns.shape[1:]):
                raise ValidationError(
                    f"parts[{k}] comes from a different network: input dimension "
                    f"{p.centre.shape[1]} and {p.patterns.shape[1]} hidden neurons against "
                    f"{first.centre.shape[1]} and {first.patterns.shape[1]} in parts[0]; "
                    "concatenate statistics of one network."
                )
            same_dom = (p.domain is None) == (first.domain is None) and (
                p.domain is None
                or all(np.array_equal(a, b) for a, b in zip(p.domain, first.domain))
            )
            if not same_dom or (p.neighbour_label, p.facet_point) != (
                first.neighbour_label,
                first.facet_point,
            ):
                raise ValidationError(
                    "parts were computed with different domains or options "
                    "(domain, neighbour_label, facet_point); concatenate like with like."
                )
        values = {}
        for f in dataclasses.fields(cls):
            v = getattr(first, f.name)
            if isinstance(v, np.ndarray):
                values[f.name] = _readonly(
                    np.concatenate([getattr(p, f.name) for p in parts]), v.dtype
                )
            elif isinstance(v, tuple) and f.name != "domain":
                values[f.name] = tuple(x for p in parts for x in getattr(p, f.name))
            else:
                values[f.name] = v
        return cls(**values)

    def equals(self, other):
        """Whether ``other`` holds the same statistics, sample by sample.

        Like :meth:`pandas.DataFrame.equals`: NaN entries in the same places count
        as equal; arrays must agree in shape, dtype and every value, lists of
        per-sample entries element by element, and the options must match.

        Examples
        --------
        >>> import numpy as np
        >>> from polyfold import zoo, region_statistics
        >>> net = zoo.random_mlp((6, 6), 3, 3, seed=1)
        >>> X = np.random.default_rng(0).uniform(0, 1, (4, 3))
        >>> st = region_statistics(net, X, progress=False)
        >>> st.equals(region_statistics(net, X, progress=False))
        True
        >>> st.equals(region_statistics(net, X[::-1], progress=False)), st.equals("st")
        (False, False)
        """
        import dataclasses

        if not isinstance(other, RegionStatistics):
            return False
        return all(_same_value(getattr(self, f.name), getattr(other, f.name))
                   for f in dataclasses.fields(self))

    def _take(self, order):
        """The samples in the given order (an index array), as a new result."""
        import dataclasses

        order = np.asarray(order, np.int64)
        values = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, np.ndarray):
                values[f.name] = _readonly(v[order], v.dtype)
            elif isinstance(v, tuple) and f.name != "domain":
                values[f.name] = tuple(v[i] for i in order)
            else:
                values[f.name] = v
        return type(self)(**values)

    # -- aggregates -------------------------------------------------------------
    def summary(self):
        """Aggregates over the samples, as a dict of plain Python numbers.

        Returns
        -------
        dict
            ``n_samples``, ``n_distinct_regions``; ``radius_mean``,
            ``radius_median``, ``depth_median``; ``n_facets_mean``,
            ``n_domain_facets_mean``; ``cos_mean`` (mean of the per-sample means),
            ``cos_median`` (median of the per-sample medians), ``cos_pooled_mean``
            (mean over all pairs of all samples); ``boundary_share`` (share of
            regions crossed by a decision boundary), ``n_boundaries_mean``,
            ``boundary_distance_median`` (over regions with a boundary),
            ``free_boundary_distance_median``; ``radius_with_boundary_median`` and
            ``radius_without_boundary_median``; ``radius_distance_spearman``
            (Spearman correlation between radius and free boundary distance);
            ``neighbour_cos_mean`` and ``neighbour_label_change`` pooled over all
            neighbours of all samples, ``neighbours_verified`` (share).  Values
            that have no data are None.
        """
        n = len(self)

        def stat(fn, a):
            a = np.asarray(a, dtype=np.float64)
            a = a[np.isfinite(a)]
            return float(fn(a)) if a.size else None

        pooled_cos = np.concatenate(self.pair_cosines) if n else np.zeros(0)
        ncos = np.concatenate(self.neighbour_cosines) if n else np.zeros(0)
        nlab = np.concatenate(self.neighbour_labels) if n else np.zeros(0, np.int64)
        nown = (
            np.concatenate([np.full(len(l), p) for l, p in zip(self.neighbour_labels, self.predicted)])
            if n
            else np.zeros(0, np.int64)
        )
        ok = nlab >= 0
        nver = np.concatenate(self.neighbour_verified) if n else np.zeros(0, bool)
        crossing = self.boundary_crosses
        spearman = None
        fin = np.isfinite(self.radius) & np.isfinite(self.free_boundary_distance)
        if np.count_nonzero(fin) >= 3:
            from scipy.stats import spearmanr

            r1, r2 = self.radius[fin], self.free_boundary_distance[fin]
            if np.ptp(r1) > 0 and np.ptp(r2) > 0:
                spearman = float(spearmanr(r1, r2).statistic)
        return {
            "n_samples": n,
            "n_distinct_regions": int(len(np.unique(self.patterns, axis=0))) if n else 0,
            "radius_mean": stat(np.mean, self.radius),
            "radius_median": stat(np.median, self.radius),
            "depth_median": stat(np.median, self.depth),
            "n_facets_mean": stat(np.mean, self.n_facets),
            "n_domain_facets_mean": stat(np.mean, self.n_domain_facets),
            "cos_mean": stat(np.mean, self.cos_mean),
            "cos_median": stat(np.median, self.cos_median),
            "cos_pooled_mean": stat(np.mean, pooled_cos),
            "boundary_share": stat(np.mean, crossing),
            "n_boundaries_mean": stat(np.mean, self.n_boundaries),
            "boundary_distance_median": stat(np.median, self.boundary_distance),
            "free_boundary_distance_median": stat(np.median, self.free_boundary_distance),
            "radius_with_boundary_median": stat(np.median, self.radius[crossing]),
            "radius_without_boundary_median": stat(np.median, self.radius[~crossing]),
            "radius_distance_spearman": spearman,
            "neighbour_cos_mean": stat(np.mean, ncos),
            "neighbour_label_change": stat(np.mean, (nlab != nown)[ok]),
            "neighbours_verified": stat(np.mean, nver),
        }

    # -- writers ----------------------------------------------------------------
    def rows(self):
        """One dict of the scalar columns per sample (the CSV rows)."""
        out = []
        for i in range(len(self)):
            row = {"sample": i}
            for name in _CSV_COLUMNS:
                v = getattr(self, name)[i]
                row[name] = v.item() if hasattr(v, "item") else v
            out.append(row)
        return out

    def to_pandas(self):
        """One row per sample (needs pandas): the columns of :meth:`to_csv`
        (``sample`` and the scalar attributes from ``predicted`` to
        ``neighbours_verified`` in the class docstring).

        Examples
        --------
        >>> import numpy as np
        >>> from polyfold import PLNet, region_statistics
        >>> net = PLNet.from_arrays([(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))])
        >>> st = region_statistics(net, [[0.3, 0.2], [-0.5, 0.5]], domain=(-1, 1), progress=False)
        >>> df = st.to_pandas()                    # two quadrants of [-1, 1]^2
        >>> df["radius"].tolist(), df["n_facets"].tolist()
        ([0.5, 0.5], [2, 2])
        """
        from .._tables import to_dataframe

        cols = {"sample": np.arange(len(self), dtype=np.int64)}
        for name in _CSV_COLUMNS:
            cols[name] = np.asarray(getattr(self, name))
        return to_dataframe(cols, "RegionStatistics")

    def to_csv(self, path):
        """Write the scalar per-sample columns to a CSV file (one row per sample).

        Columns: ``sample`` and the names in the class docstring from
        ``predicted`` to ``neighbours_verified``.  NaN and ``inf`` are written as
        ``nan`` and ``inf``.

        Raises
        ------
        ValidationError
            If ``path`` is not a file name, is a folder, or its folder does not exist.
        """
        import csv

        from .._validation import check_save_path

        path = check_save_path(path, "path")
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["sample", *_CSV_COLUMNS])
            w.writeheader()
            for row in self.rows():
                w.writerow(row)

    def to_dict(self, *, points=False):
        """JSON-ready dict: settings, summary and per-sample records.

        Each record holds the CSV columns plus the per-sample lists
        (``facet_units``, ``pair_cosines``, ``boundary_classes``,
        ``boundary_distances``, ``neighbour_units``, ``neighbour_cosines``,
        ``neighbour_labels``, ``neighbour_verified``; ``neighbour_points`` and
        ``centre`` only with ``points=True``).  NaN and infinity become None.
        """
        _check_flag(points, "points")
        samples = self.rows()
        for i, rec in enumerate(samples):
            rec["facet_units"] = [list(u) for u in self.facet_units[i]]
            rec["pair_cosines"] = self.pair_cosines[i].tolist()
            rec["boundary_classes"] = self.boundary_classes[i].tolist()
            rec["boundary_distances"] = self.boundary_distances[i].tolist()
            rec["neighbour_units"] = [[list(u) for u in us] for us in self.neighbour_units[i]]
            rec["neighbour_cosines"] = self.neighbour_cosines[i].tolist()
            rec["neighbour_labels"] = self.neighbour_labels[i].tolist()
            rec["neighbour_verified"] = self.neighbour_verified[i].tolist()
            if points:
                rec["centre"] = self.centre[i].tolist()
                rec["neighbour_points"] = self.neighbour_points[i].tolist()
        settings = {
            "domain": None
            if self.domain is None
            else [np.asarray(self.domain[0]).tolist(), np.asarray(self.domain[1]).tolist()],
            "neighbour_label": self.neighbour_label,
            "facet_point": self.facet_point,
        }
        return _json_clean({"settings": settings, "summary": self.summary(), "samples": samples})

    def to_json(self, path, *, points=False):
        """Write :meth:`to_dict` to ``path`` as strict JSON (NaN/inf as null).

        Raises
        ------
        ValidationError
            If ``path`` is not a file name, is a folder, or its folder does not exist,
            or ``points`` is not a bool.
        """
        import json

        from .._validation import check_save_path

        path = check_save_path(path, "path")
        doc = self.to_dict(points=points)  # (checks points before the file is opened)
        with open(path, "w") as fh:
            json.dump(doc, fh, indent=1, allow_nan=False)


def _check_flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ValidationError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def _same_value(x, y):
    """Deep equality of result fields: arrays (NaN equal to NaN), tuples, scalars."""
    if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
        if not (isinstance(x, np.ndarray) and isinstance(y, np.ndarray)):
            return False
        if x.shape != y.shape or x.dtype != y.dtype:
            return False
        nan = x.dtype.kind in "fc"
        return bool(np.array_equal(x, y, equal_nan=nan))
    if isinstance(x, (tuple, list)):
        return (isinstance(y, (tuple, list)) and len(x) == len(y)
                and all(_same_value(u, v) for u, v in zip(x, y)))
    if isinstance(x, float) and isinstance(y, float) and x != x and y != y:
        return True
    return type(x) is type(y) and x == y


def _json_clean(obj):
    if isinstance(obj, dict):
        return {k: _json_clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_clean(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def region_statistics(
    net,
    X,
    *,
    domain=(0, 1),
    neighbours=True,
    neighbour_label="step",
    facet_point="nearest",
    tol=None,
    progress=None,
    n_jobs=None,
):
    """Zhang & Wu's local statistics of the linear regions around samples.

    For each sample ``x`` with region ``R`` (its activation region intersected
    with the domain box, ``{y : A y + c >= 0}``, logits ``V y + u`` on ``R``,
    predicted class ``c``) this computes:

    * **insphere**: radius (and centre) of the largest ball in ``R``;
    * **hyperplane directions**: the facet-defining rows of neurons (domain faces
      are counted separately), and the orthogonality of their unit normals
      ``n_i = A_i / |A_i|`` as the distribution of ``|n_i . n_k|`` over all
      pairs (summarised by mean and median);
    * **decision boundary**: for every rival ``j``, the hyperplane
      ``g_j . y + h_j = 0`` with ``g_j = V_c - V_j``, ``h_j = u_c - u_j``;
      it *crosses* ``R`` iff ``min_{y in R} (g_j . y + h_j) < 0`` (one LP,
      i.e. class ``j`` wins somewhere in ``R``); the distance from ``x`` to
      ``{y in R : g_j . y + h_j = 0}`` (least-distance programming); and the
      free distance ``|g_j . x + h_j| / |g_j|`` that ignores ``R``;
    * **neighbour relevance**: for every neuron facet, a relative-interior
      point ``q`` of the facet, the neighbour's codes (the region's codes with
      the units whose hyperplane passes through ``q`` switched), its affine map
      ``V' y + u'``, a point ``q - (t/2) n`` inside it (``t`` the distance along
      ``-n`` from ``q`` to the neighbour's next hyperplane, so the step never
      leaves the neighbour) confirmed by a forward pass, the cosine similarity
      of the predicted-class gradients ``V_c`` and ``V'_c``, and the
      neighbour's predicted label.

    Parameters
    ----------
    net : PLNet
    X : (n, d) or (d,) float
        Samples (``d = net.input_dim``), inside the domain.
    domain : (lower, upper) or None
        Box the regions are clipped to, scalars or ``(d,)`` arrays; ``(0, 1)``
        (default) for inputs scaled to the unit box.  ``None`` uses the bare
        regions (an unbounded region whose insphere is unbounded then raises).
    neighbours : bool
        Compute the neighbour statistics (the most expensive part).
    neighbour_label : {"step", "centre"}
        Where a neighbour's label is read: ``"step"`` at the stepped point
        just across the facet; ``"centre"`` at the neighbour's own Chebyshev
        centre (one more LP per neighbour).
    facet_point : {"nearest", "chebyshev"}
        Relative-interior point ``q`` of each facet.  ``"nearest"``: the point
        of the facet nearest to the region's insphere centre among those at
        distance ``>= r / 16`` from every other hyperplane of the region (``r``
        the insphere radius): the foot of the perpendicular when it qualifies,
        otherwise one non-negative least-squares solve; facets thinner than that
        fall back to ``"chebyshev"``: the centre of the largest ``(d-1)``-ball
        in the facet (one LP in the facet's hyperplane).  Neither choice changes
        the neighbour or its map, only the point where ``"step"`` labels are
        read.
    tol : Tolerance, optional
        ``tol.lp`` decides LP feasibility, crossings (a margin below ``-tol.lp``)
        and which hyperplanes pass through a facet point; ``tol.rank`` which
        rows are zero.
    progress : bool or None
        tqdm progress bar over the samples (None: only when stderr is a
        terminal).
    n_jobs : int or None
        Worker processes for the samples: ``None`` or 1 computes in this
        process; ``k > 1`` splits the samples into blocks computed by ``k``
        spawned processes (the samples of one region in one block); ``-1`` uses
        one per available core.  The result
        is the same as with one process.  Each worker starts Python and imports
        polyfold (about half a second), so it pays when one process would take
        more than a few seconds; with fewer than two samples per worker the
        samples are computed here.
        Run from a script, the call must sit under ``if __name__ ==
        "__main__":`` (spawned workers re-import the main script).

    Returns
    -------
    RegionStatistics
        Frozen dataclass of per-sample arrays and lists, with
        :meth:`~RegionStatistics.summary`, :meth:`~RegionStatistics.to_csv`
        and :meth:`~RegionStatistics.to_json`.

    Raises
    ------
    ValidationError
        If ``net`` is not a PLNet or an option is unknown.
    ShapeError, NonFiniteError
        If ``X`` has the wrong shape or holds NaN/inf.
    DomainError
        If a sample lies outside the domain, or (``domain=None``) a region's
        insphere is unbounded; the message names the sample.
    SolverError
        If an LP fails; ``status`` holds the HiGHS code.

    Notes
    -----
    Definitions follow Zhang & Wu (2020); their exact formulas could not be
    checked, so polyfold's are stated here and in ``docs/statistics.rst``.
    Samples that share a region share the region-level work.  Neighbours whose
    facet lies on the domain boundary, or whose step could not be confirmed,
    keep NaN / -1 entries and ``neighbour_verified`` False.  The statistics
    depend only on the regions, so permuting hidden neurons leaves them
    unchanged.

    Cost per region: the redundancy LPs of :attr:`polyfold.regions.Region.facets`
    (rows without a witness point), one Chebyshev LP, at most one LP per rival
    class, one least-distance problem per crossing boundary, and per neuron
    facet a forward pass (plus an LP for facets where ``"nearest"`` falls back,
    and one with ``neighbour_label="centre"``).

    References
    ----------
    X. Zhang and D. Wu, "Empirical Studies on the Properties of Linear Regions
    in Deep Neural Networks", ICLR 2020, arXiv:2001.01072.

    C. L. Lawson and R. J. Hanson, *Solving Least Squares Problems*, ch. 23
    (least-distance programming), SIAM 1995.

    Examples
    --------
    The spec's tiny net: the region of ``(0.25, 0.25)`` is the triangle
    ``x, y >= 0, x + y <= 1`` with three neighbours.

    >>> import numpy as np
    >>> from polyfold import PLNet, region_statistics
    >>> W1 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> net = PLNet.from_arrays([(W1, np.array([0.0, 0.0, -1.0])),
    ...                          (np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 2.0]]), np.zeros(2))])
    >>> st = region_statistics(net, [[0.25, 0.25]], domain=None, progress=False)
    >>> round(float(st.radius[0]), 6), int(st.n_facets[0]), st.neighbour_units[0]
    (0.292893, 3, (((0, 0),), ((0, 1),), ((0, 2),)))

    On a random MLP, summarised:

    >>> from polyfold import zoo
    >>> net = zoo.random_mlp((6, 6), 3, 3, seed=1)
    >>> X = np.random.default_rng(0).uniform(0, 1, (5, 3))
    >>> st = region_statistics(net, X, domain=(0, 1), progress=False)
    >>> len(st), st.summary()["neighbours_verified"]
    (5, 1.0)
    """
    from .._validation import net_points
    from ..network import check_net

    tol = get_tol(tol)
    check_net(net)
    check_choice("neighbour_label", neighbour_label, _NEIGHBOUR_LABELS)
    check_choice("facet_point", facet_point, _FACET_POINTS)
    _check_flag(neighbours, "neighbours")
    d = net.input_dim
    if X is None:  # (np.asarray(None) is a NaN: the NaN error would mislead)
        raise ValidationError(f"X must be an (n, {d}) array of samples, got None.")
    X, _ = net_points(net, X, "X")
    bounds = _domain_bounds(domain, d)
    if bounds is not None and max(np.abs(bounds[0]).max(), np.abs(bounds[1]).max()) > _DOMAIN_LIMIT:
        # (the neighbour and boundary steps form sums of such coordinates and would
        # overflow float64, giving wrong facets)
        top = float(max(np.abs(bounds[0]).max(), np.abs(bounds[1]).max()))
        raise DomainError(
            f"domain reaches {top:.3g}: region statistics need a domain within "
            f"[-1e300, 1e300] (beyond that their steps overflow "
            "float64); rescale the inputs and the domain."
        )
    if bounds is not None and len(X):
        lo, hi = bounds
        bad = (X < lo) | (X > hi)
        if np.any(bad):
            i, k = (int(v) for v in np.argwhere(bad)[0])
            raise DomainError(
                f"X[{i}] lies outside the domain: coordinate {k} = {X[i, k]!r} is not in "
                f"[{lo[k]!r}, {hi[k]!r}] ({int(np.count_nonzero(np.any(bad, axis=1)))} samples "
                "outside); clip the samples (np.clip(X, lower, upper)) or widen domain=."
            )
    n = X.shape[0]
    jobs = _n_jobs(n_jobs)
    if jobs > 1 and n >= 2 * jobs:
        return _statistics_in_workers(net, X, bounds, tol, neighbours, facet_point, neighbour_label,
                                      progress, jobs)
    return _statistics_block(net, X, bounds, tol, neighbours, facet_point, neighbour_label,
                             progress, None)


def _n_jobs(n_jobs):
    from .._validation import available_cores

    if n_jobs is None:
        return 1
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, (int, np.integer)) or (
            n_jobs == 0 or n_jobs < -1):
        raise ValidationError(
            f"n_jobs must be None, a positive int or -1 (one worker per core), got {n_jobs!r}."
        )
    return available_cores() if n_jobs == -1 else int(n_jobs)


#: blocks per worker process (smaller blocks balance the load)
_BLOCKS_PER_JOB = 8


def _region_blocks(net, X, n_blocks):
    """Sample indices (sorted) of ``n_blocks`` blocks: the samples of one region stay
    in one block (its region-level work is done once), regions go to the least
    loaded block, largest first."""
    import heapq

    _, inv, counts = np.unique(net.codes(X), axis=0, return_inverse=True, return_counts=True)
    inv = np.asarray(inv).reshape(-1)
    members = np.argsort(inv, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)])
    heap = [(0, k) for k in range(n_blocks)]
    blocks = [[] for _ in range(n_blocks)]
    for g in np.argsort(-counts, kind="stable"):
        load, k = heapq.heappop(heap)
        blocks[k].append(members[starts[g] : starts[g + 1]])
        heapq.heappush(heap, (load + int(counts[g]), k))
    out = [np.sort(np.concatenate(b)) for b in blocks if b]
    return out


def _statistics_in_workers(net, X, bounds, tol, neighbours, facet_point, neighbour_label,
                           progress, jobs):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from ..parallel._guard import check_main_guard

    check_main_guard("region_statistics(n_jobs > 1)", "spawn", serial="n_jobs=1")
    n = X.shape[0]
    blocks = _region_blocks(net, X, min(jobs * _BLOCKS_PER_JOB, max(jobs, n // 8)))
    parts = [None] * len(blocks)
    pool = ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context("spawn"))
    try:
        futures = {
            pool.submit(_statistics_block, net, X[idx], bounds, tol, neighbours, facet_point,
                        neighbour_label, False, idx): k
            for k, idx in enumerate(blocks)
        }
        done = as_completed(futures)
        for fut in progress_bar(done, total=len(blocks), progress=progress, desc="region statistics"):
            parts[futures[fut]] = fut.result()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    order = np.argsort(np.concatenate(blocks), kind="stable")
    return RegionStatistics.concat(parts)._take(order)


def _statistics_block(net, X, bounds, tol, neighbours, facet_point, neighbour_label, progress, index):
    """The statistics of the samples ``X`` in this process (``index``: their indices in
    the caller's ``X``, for error messages; None: the same as here)."""
    d = net.input_dim
    n = X.shape[0]
    cols = {
        "predicted": np.zeros(n, np.int64),
        "radius": np.full(n, np.nan),
        "centre": np.full((n, d), np.nan),
        "depth": np.full(n, np.nan),
        "n_facets": np.zeros(n, np.int64),
        "n_domain_facets": np.zeros(n, np.int64),
        "cos_mean": np.full(n, np.nan),
        "cos_median": np.full(n, np.nan),
        "boundary_crosses": np.zeros(n, bool),
        "n_boundaries": np.zeros(n, np.int64),
        "boundary_distance": np.full(n, np.inf),
        "boundary_class": np.full(n, -1, np.int64),
        "free_boundary_distance": np.full(n, np.inf),
        "n_neighbours": np.zeros(n, np.int64),
        "neighbour_cos_mean": np.full(n, np.nan),
        "neighbour_label_change": np.full(n, np.nan),
        "neighbours_verified": np.full(n, np.nan),
        "patterns": np.zeros((n, net.n_hidden), bool),
    }
    lists = {k: [] for k in ("facet_units", "pair_cosines", "boundary_classes",
                             "boundary_distances", "neighbour_units", "neighbour_cosines",
                             "neighbour_labels", "neighbour_verified", "neighbour_points")}
    cache = {}
    with single_blas():  # small products: waking BLAS threads costs more than they save
        _fill_all(net, X, bounds, tol, neighbours, facet_point, neighbour_label, progress, cols, lists,
                  cache, index)
    frozen = {k: _readonly(v, v.dtype) for k, v in cols.items()}
    frozen_lists = {k: tuple(v) for k, v in lists.items()}
    return RegionStatistics(
        **frozen,
        **frozen_lists,
        domain=None if bounds is None else (_readonly(bounds[0]), _readonly(bounds[1])),
        neighbour_label=neighbour_label,
        facet_point=facet_point,
    )


def _fill_all(net, X, bounds, tol, neighbours, facet_point, neighbour_label, progress, cols, lists, cache,
              index=None):
    from ..regions import region_of  # polyfold.regions, not .regions (this module)

    n = X.shape[0]
    for i in progress_bar(range(n), total=n, progress=progress, desc="region statistics"):
        x = X[i]
        try:
            region = region_of(net, x, domain=bounds, tol=tol)
            key = region.codes.tobytes()
            info = cache.get(key)
            if info is None:
                info = _region_info(net, region, neighbours=neighbours, facet_point=facet_point,
                                    neighbour_label=neighbour_label, tol=tol)
                cache[key] = info
            _fill_sample(i, x, region, info, cols, lists, neighbour_label, tol)
        except (DomainError, SolverError) as err:
            j = i if index is None else int(index[i])
            raise _reraise_indexed(err, f"sample X[{j}]") from err


def _fill_sample(i, x, region, info, cols, lists, neighbour_label, tol):
    V, u = region.V, region.u
    cls = _label(V @ x + u)
    ball = info.ball
    An, cn, zero = info.An, info.cn, info.zero
    cols["predicted"][i] = cls
    cols["radius"][i] = ball.radius
    cols["centre"][i] = ball.centre
    cols["patterns"][i] = region.pattern
    nz = ~zero & ~info.is_domain
    cols["depth"][i] = float(np.min(An[nz] @ x + cn[nz])) if np.any(nz) else np.inf
    cols["n_facets"][i] = len(info.neuron_facets)
    cols["n_domain_facets"][i] = info.n_domain_facets
    if info.pair_cos.size:
        cols["cos_mean"][i] = float(np.mean(info.pair_cos))
        cols["cos_median"][i] = float(np.median(info.pair_cos))
    lists["facet_units"].append(info.facet_units)
    lists["pair_cosines"].append(_readonly(info.pair_cos))
    # decision boundaries
    fac = info.facets
    others, crosses, dist, free = _boundaries(x, V, u, cls, An[fac], cn[fac], tol)
    cols["free_boundary_distance"][i] = float(np.min(free)) if free.size else np.inf
    cols["boundary_crosses"][i] = bool(np.any(crosses))
    cols["n_boundaries"][i] = int(np.count_nonzero(crosses))
    if np.any(crosses):
        dc = np.where(crosses, dist, np.inf)
        j = int(np.nanargmin(np.where(np.isnan(dc), np.inf, dc)))
        cols["boundary_distance"][i] = dc[j]
        cols["boundary_class"][i] = int(others[j])
    lists["boundary_classes"].append(_readonly(others[crosses], np.int64))
    lists["boundary_distances"].append(_readonly(dist[crosses]))
    # neighbours
    g, _ = _class_gradient(V, u, cls)
    k = len(info.neighbours)
    cos = np.full(k, np.nan)
    labels = np.full(k, -1, np.int64)
    verified = np.zeros(k, bool)
    points = np.full((k, region.dim), np.nan)
    units = []
    for t, rec in enumerate(info.neighbours):
        units.append(rec["units"])
        verified[t] = rec["verified"]
        points[t] = rec["point"]
        if rec["V"] is None or not rec["verified"]:
            continue  # no neighbour, or its codes were not confirmed: NaN / -1
        g2, _ = _class_gradient(rec["V"], rec["u"], cls)
        den = float(np.linalg.norm(g) * np.linalg.norm(g2))
        if den > 0:
            cos[t] = float(np.clip(g @ g2 / den, -1.0, 1.0))
        labels[t] = _label(rec["V"] @ rec["label_point"] + rec["u"])
    cols["n_neighbours"][i] = k
    if k:
        if np.any(np.isfinite(cos)):
            cols["neighbour_cos_mean"][i] = float(np.nanmean(cos))
        ok = labels >= 0
        if np.any(ok):
            cols["neighbour_label_change"][i] = float(np.mean(labels[ok] != cls))
        cols["neighbours_verified"][i] = float(np.mean(verified))
    lists["neighbour_units"].append(tuple(units))
    lists["neighbour_cosines"].append(_readonly(cos))
    lists["neighbour_labels"].append(_readonly(labels, np.int64))
    lists["neighbour_verified"].append(_readonly(verified, bool))
    lists["neighbour_points"].append(_readonly(points))
