"""Inspheres of polytopes and the Zhang & Wu statistics of regions around data.

* :func:`insphere` -- the largest ball inside ``{x : A x + c >= 0}`` (optionally
  clipped to a domain box): centre, radius and the slack of every constraint.
* :func:`inspheres` -- the same for many polytopes at once (a batch in, flat
  arrays plus offsets out).
* :func:`region_statistics` -- for every sample of a data set, the local
  properties of its linear region studied by Zhang & Wu (ICLR 2020): insphere
  radius, facet-defining hyperplanes and the orthogonality of their normals,
  decision boundaries inside the region, and the relevance of the neighbouring
  regions across each facet.

Definitions are given in the docstrings and in ``docs/statistics.rst``.
"""

import sys
import types
from dataclasses import dataclass, field

import numpy as np

from . import _lp
from ._validation import as_float_array, check_choice
from .exceptions import DomainError, ShapeError, SolverError, ValidationError
from .tolerance import get_tol

__all__ = [
    "Insphere",
    "InsphereBatch",
    "insphere",
    "inspheres",
    "RegionStatistics",
    "region_statistics",
]

_STATUS_OPTIMAL = "optimal"
_STATUS_FLAT = "flat"


# ---------------------------------------------------------------------------
# domain handling
# ---------------------------------------------------------------------------
def _domain_rows(domain, d, name="domain"):
    """Rows ``(A_box, c_box)`` of a domain box, or ``None`` for no domain.

    ``domain`` is ``None`` or a pair ``(lower, upper)`` of scalars or ``(d,)``
    arrays.  The first ``d`` rows are ``x_k - lower_k >= 0``, the next ``d``
    ``upper_k - x_k >= 0``.
    """
    if domain is None:
        return None
    if isinstance(domain, (str, bytes)) or not hasattr(domain, "__len__") or len(domain) != 2:
        raise ValidationError(
            f"{name} must be None or a pair (lower, upper) of scalars or ({d},) arrays, "
            f"got {domain!r}; use {name}=(0, 1) for the unit box."
        )
    lower, upper = domain
    return _lp.box_rows(lower, upper, d, name=name)


def _domain_bounds(domain, d, name="domain"):
    """``(lower (d,), upper (d,))`` of a validated domain box, or ``None``."""
    rows = _domain_rows(domain, d, name)
    if rows is None:
        return None
    _, cb = rows
    return -cb[:d], cb[d:]


# ---------------------------------------------------------------------------
# insphere of one polytope
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Insphere:
    """Largest ball inside a polytope (result of :func:`insphere`).

    Attributes
    ----------
    centre : (d,) float
        Centre of a largest inscribed ball (not unique in general).
    radius : float
        Its radius (0 for a polytope without interior).
    slack : (m,) float
        ``A @ centre + c`` for every row of ``A`` (not normalised): every row has
        ``slack[i] >= radius * |A_i|`` up to the LP tolerance.
    domain_slack : (2 d,) float
        Slack of the domain rows ``centre - lower`` then ``upper - centre``
        (empty when no domain was given).
    status : str
        ``"optimal"`` when ``radius > tol.lp``; ``"flat"`` when the polytope is
        non-empty but has no interior (radius within ``tol.lp`` of 0).
    solver_status : int
        HiGHS status code (0 = optimal).
    """

    centre: np.ndarray
    radius: float
    slack: np.ndarray
    domain_slack: np.ndarray
    status: str
    solver_status: int = 0

    @property
    def dim(self):
        """Dimension ``d`` of the ambient space."""
        return int(self.centre.shape[0])


def _readonly(a, dtype=np.float64):
    a = np.array(a, dtype=dtype, copy=True)
    a.setflags(write=False)
    return a


def _check_rows(A, c, name_A="A", name_c="c"):
    A = as_float_array(A, name_A)
    c = as_float_array(c, name_c)
    if A.ndim != 2:
        raise ShapeError(
            f"{name_A} must be a 2-D array (m, d) of constraint normals, got shape {A.shape}; "
            f"use {name_A}.reshape(1, -1) for a single constraint."
        )
    if A.shape[1] == 0:
        raise ShapeError(f"{name_A} must have at least one column (d >= 1), got shape {A.shape}.")
    if c.ndim != 1 or c.shape[0] != A.shape[0]:
        raise ShapeError(
            f"{name_c} must have shape ({A.shape[0]},) to match {name_A} of shape {A.shape}, "
            f"got {c.shape}."
        )
    return A, c


def _ball(A, c, box, tol):
    """Chebyshev ball of ``A x + c >= 0`` intersected with box rows (or None)."""
    if box is not None:
        A = np.vstack([A, box[0]])
        c = np.concatenate([c, box[1]])
    try:
        return _lp.chebyshev_ball(A, c, tol=tol)
    except _lp.UnboundedRadiusError as err:
        raise _lp.UnboundedRadiusError(
            "the insphere radius is unbounded: {x : A x + c >= 0} contains arbitrarily "
            "large balls (the region is unbounded); pass domain=(lower, upper), e.g. "
            "domain=(0, 1) for inputs in the unit box."
        ) from err


def _make_insphere(A, c, box, ball, tol):
    centre = np.asarray(ball.centre, dtype=np.float64)
    slack = A @ centre + c
    dslack = box[0] @ centre + box[1] if box is not None else np.zeros(0)
    status = _STATUS_OPTIMAL if ball.radius > tol.lp else _STATUS_FLAT
    return Insphere(
        centre=_readonly(centre),
        radius=float(ball.radius),
        slack=_readonly(slack),
        domain_slack=_readonly(dslack),
        status=status,
        solver_status=int(ball.status),
    )


def insphere(A, c, *, domain=None, tol=None):
    """Largest ball inside the polytope ``{x : A x + c >= 0}`` (Chebyshev ball).

    Parameters
    ----------
    A : (m, d) float
        Constraint normals (``m`` may be 0 when a domain is given).
    c : (m,) float
        Offsets.
    domain : (lower, upper), optional
        Box the ball must also lie in: scalars or ``(d,)`` arrays, e.g.
        ``(0, 1)`` for images scaled to the unit box.  Needed when the polytope
        is unbounded.
    tol : Tolerance, optional
        ``tol.lp`` is the LP feasibility tolerance and the radius below which the
        polytope counts as flat; ``tol.rank`` decides which rows are zero.

    Returns
    -------
    Insphere
        ``centre (d,)``, ``radius``, ``slack (m,) = A @ centre + c``,
        ``domain_slack (2 d,)``, ``status`` (``"optimal"`` or ``"flat"``).

    Raises
    ------
    ShapeError, NonFiniteError
        If ``A``, ``c`` or the domain have the wrong shape or hold NaN/inf.
    DomainError
        If the polytope (intersected with the domain) is empty, if the radius
        is unbounded and no domain was given (the message suggests
        ``domain=``), or if the domain box is inverted.
    SolverError
        If HiGHS fails (iteration limit, numerical trouble); ``status`` holds
        scipy's ``linprog`` code.

    Notes
    -----
    One linear program in ``(x, r)``: maximise ``r`` subject to
    ``A_i x + c_i >= r |A_i|`` for every row (and every domain face) and
    ``r >= 0``; solved by HiGHS through :func:`polyfold._lp.chebyshev_ball`
    with rows normalised to unit length.  A row with a numerically zero normal
    (a dead or constant unit) is a constant constraint ``c_i >= 0``: dropped if
    it holds, and the polytope is empty otherwise.  The radius is the optimal
    value of the LP and is unique; the centre is one optimal point and need not
    be unique (a rectangle has a segment of centres).

    References
    ----------
    S. Boyd and L. Vandenberghe, *Convex Optimization*, Sec. 8.5.1 (2004).

    X. Zhang and D. Wu, "Empirical Studies on the Properties of Linear Regions
    in Deep Neural Networks", ICLR 2020, arXiv:2001.01072.

    Examples
    --------
    The triangle ``x >= 0, y >= 0, x + y <= 1`` has radius ``(2 - sqrt 2) / 2``:

    >>> import numpy as np
    >>> from polyfold import insphere
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    >>> c = np.array([0.0, 0.0, 1.0])
    >>> ball = insphere(A, c)
    >>> round(ball.radius, 6), np.round(ball.centre, 6).tolist(), ball.status
    (0.292893, [0.292893, 0.292893], 'optimal')

    The half-plane ``x >= 0`` clipped to the unit square:

    >>> round(insphere([[1.0, 0.0]], [0.0], domain=(0, 1)).radius, 6)
    0.5
    """
    tol = get_tol(tol)
    A, c = _check_rows(A, c)
    box = _domain_rows(domain, A.shape[1])
    ball = _ball(A, c, box, tol)
    return _make_insphere(A, c, box, ball, tol)


# ---------------------------------------------------------------------------
# batched
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class InsphereBatch:
    """Inspheres of many polytopes (result of :func:`inspheres`).

    Attributes
    ----------
    centres : (n, d) float
        One centre per polytope (NaN rows for failures with ``on_error="nan"``).
    radii : (n,) float
        Radii (NaN for failures with ``on_error="nan"``).
    slack : (sum m_i,) float
        Slacks of all polytopes' rows, concatenated.
    slack_offsets : (n + 1,) int64
        ``slack[slack_offsets[i]:slack_offsets[i + 1]]`` belongs to polytope ``i``.
    domain_slack : (n, 2 d) float
        Slacks of the domain rows (``(n, 0)`` without a domain).
    status : (n,) str
        ``"optimal"``, ``"flat"``, or for failures with ``on_error="nan"``
        ``"empty"``, ``"unbounded"``, ``"solver"``.
    solver_status : (n,) int
        HiGHS status codes (-1 where no LP result is available).
    """

    centres: np.ndarray
    radii: np.ndarray
    slack: np.ndarray
    slack_offsets: np.ndarray
    domain_slack: np.ndarray
    status: np.ndarray
    solver_status: np.ndarray

    def __len__(self):
        return int(self.radii.shape[0])

    def __getitem__(self, i):
        """The :class:`Insphere` of polytope ``i``."""
        n = len(self)
        if not isinstance(i, (int, np.integer)) or not -n <= i < n:
            raise ValidationError(f"index must be an integer in [-{n}, {n}), got {i!r}.")
        i = int(i) % n
        lo, hi = self.slack_offsets[i], self.slack_offsets[i + 1]
        return Insphere(
            centre=self.centres[i],
            radius=float(self.radii[i]),
            slack=self.slack[lo:hi],
            domain_slack=self.domain_slack[i],
            status=str(self.status[i]),
            solver_status=int(self.solver_status[i]),
        )


def _progress(iterable, total, progress, desc):
    """Wrap in a tqdm bar: ``progress=None`` shows it only on a terminal."""
    if progress is None:
        progress = bool(getattr(sys.stderr, "isatty", lambda: False)())
    if not progress:
        return iterable
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm is a hard dependency
        return iterable
    return tqdm(iterable, total=total, desc=desc, leave=False)


def _reraise_indexed(err, prefix):
    msg = f"{prefix}: {err}"
    if isinstance(err, SolverError):
        return SolverError(msg, status=err.status)
    try:
        return type(err)(msg)
    except Exception:  # pragma: no cover - exotic subclasses
        return DomainError(msg)


def inspheres(As, cs, *, domain=None, on_error="raise", tol=None, progress=False):
    """Inspheres of many polytopes ``{x : A_i x + c_i >= 0}`` (one LP each).

    Parameters
    ----------
    As : sequence of (m_i, d) float
        Constraint normals of each polytope (same ``d`` for all).
    cs : sequence of (m_i,) float
        Offsets of each polytope.
    domain : (lower, upper), optional
        Box intersected with every polytope (see :func:`insphere`).
    on_error : {"raise", "nan"}
        ``"raise"`` re-raises the first failure with the polytope's index in the
        message; ``"nan"`` records it (radius NaN, ``status`` ``"empty"``,
        ``"unbounded"`` or ``"solver"``) and goes on.
    tol : Tolerance, optional
    progress : bool or None
        Show a tqdm progress bar (None: only when stderr is a terminal).

    Returns
    -------
    InsphereBatch
        Flat arrays; ``batch[i]`` gives the :class:`Insphere` of polytope ``i``.

    Raises
    ------
    ValidationError, ShapeError
        If ``As`` and ``cs`` differ in length or the dimensions differ.
    DomainError, SolverError
        As :func:`insphere`, with ``on_error="raise"``.

    Examples
    --------
    >>> import numpy as np
    >>> from polyfold.insphere import inspheres
    >>> A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    >>> batch = inspheres([A, 2 * A], [np.array([0, 0, 1.0]), np.array([0, 0, 4.0])])
    >>> np.round(batch.radii, 6).tolist()
    [0.292893, 0.585786]
    >>> batch[1].slack.shape
    (3,)
    """
    tol = get_tol(tol)
    check_choice("on_error", on_error, ("raise", "nan"))
    As = list(As) if not isinstance(As, np.ndarray) or As.ndim == 3 else None
    if As is None:
        raise ShapeError(
            "As must be a sequence of (m_i, d) arrays (or an (n, m, d) array); "
            "for one polytope call insphere(A, c)."
        )
    cs = list(cs)
    if len(As) != len(cs):
        raise ValidationError(
            f"As and cs must have the same length (one offset vector per polytope), "
            f"got {len(As)} and {len(cs)}."
        )
    checked = [_check_rows(A, c, f"As[{i}]", f"cs[{i}]") for i, (A, c) in enumerate(zip(As, cs))]
    dims = {A.shape[1] for A, _ in checked}
    if len(dims) > 1:
        raise ShapeError(
            f"all polytopes must live in the same dimension, got d in {sorted(dims)}; "
            "batch polytopes of one dimension together."
        )
    n = len(checked)
    d = dims.pop() if dims else 0
    box = _domain_rows(domain, d) if n else None
    centres = np.full((n, d), np.nan)
    radii = np.full(n, np.nan)
    offsets = np.zeros(n + 1, np.int64)
    offsets[1:] = np.cumsum([len(c) for _, c in checked])
    slack = np.full(int(offsets[-1]), np.nan)
    dslack = np.full((n, 0 if box is None else 2 * d), np.nan)
    status = np.empty(n, dtype=object)
    sstatus = np.full(n, -1, np.int64)
    for i in _progress(range(n), n, progress, "inspheres"):
        A, c = checked[i]
        try:
            ball = _ball(A, c, box, tol)
        except (DomainError, SolverError) as err:
            if on_error == "raise":
                raise _reraise_indexed(err, f"polytope {i}") from err
            if isinstance(err, _lp.UnboundedRadiusError):
                status[i] = "unbounded"
            elif isinstance(err, SolverError):
                status[i] = "solver"
                sstatus[i] = -1 if err.status is None else int(err.status)
            else:
                status[i] = "empty"
            continue
        one = _make_insphere(A, c, box, ball, tol)
        centres[i] = one.centre
        radii[i] = one.radius
        slack[offsets[i] : offsets[i + 1]] = one.slack
        if box is not None:
            dslack[i] = one.domain_slack
        status[i] = one.status
        sstatus[i] = one.solver_status
    return InsphereBatch(
        centres=_readonly(centres),
        radii=_readonly(radii),
        slack=_readonly(slack),
        slack_offsets=_readonly(offsets, np.int64),
        domain_slack=_readonly(dslack),
        status=_readonly(status.astype(str) if n else np.zeros(0, str), None),
        solver_status=_readonly(sstatus, np.int64),
    )


# ---------------------------------------------------------------------------
# least-distance programming (Lawson & Hanson)
# ---------------------------------------------------------------------------
def _least_distance(G, h, tol):
    """Shortest ``y`` with ``G y >= h`` (None when infeasible).

    Lawson & Hanson's least-distance programming reduced to one non-negative
    least-squares problem: with ``E = [G^T; h^T]`` and ``f = e_{d+1}``, solve
    ``min ||E u - f||, u >= 0``; the residual ``r = E u - f`` is zero iff the
    system is infeasible, otherwise ``y = -r[:d] / r[d]``.
    """
    from scipy.optimize import nnls

    m, d = G.shape
    if m == 0:
        return np.zeros(d)
    E = np.vstack([G.T, h[None, :]])
    f = np.zeros(d + 1)
    f[-1] = 1.0
    u, _ = nnls(E, f, maxiter=50 * (m + d + 1))
    r = E @ u - f
    if not r[-1] < -tol.lp:
        return None
    return -r[:d] / r[-1]


# ---------------------------------------------------------------------------
# region statistics (Zhang & Wu 2020)
# ---------------------------------------------------------------------------
_NEIGHBOUR_LABELS = ("step", "centre")
_FACET_POINTS = ("nearest", "chebyshev")

#: with ``facet_point="nearest"`` the facet point keeps a distance of at least
#: ``_FACET_MARGIN * r`` (``r`` the region's insphere radius) from every other
#: hyperplane of the region, so the step across it is well conditioned
_FACET_MARGIN = 1.0 / 16.0

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

        parts = list(parts)
        if not parts or not all(isinstance(p, RegionStatistics) for p in parts):
            raise ValidationError(
                "parts must be a non-empty sequence of RegionStatistics; got "
                f"{[type(p).__name__ for p in parts]}."
            )
        first = parts[0]
        for p in parts[1:]:
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

    def to_csv(self, path):
        """Write the scalar per-sample columns to a CSV file (one row per sample).

        Columns: ``sample`` and the names in the class docstring from
        ``predicted`` to ``neighbours_verified``.  NaN and ``inf`` are written as
        ``nan`` and ``inf``.
        """
        import csv

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
        """Write :meth:`to_dict` to ``path`` as strict JSON (NaN/inf as null)."""
        import json

        with open(path, "w") as fh:
            json.dump(self.to_dict(points=points), fh, indent=1, allow_nan=False)


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


def _complement_basis(n):
    """Orthonormal basis ``(d, d - 1)`` of the hyperplane orthogonal to unit ``n``.

    Columns of the Householder reflection that maps ``n`` to a coordinate axis,
    without that axis' column.
    """
    d = n.shape[0]
    k = int(np.argmax(np.abs(n)))
    v = n.copy()
    v[k] += 1.0 if n[k] >= 0 else -1.0
    H = np.eye(d) - (2.0 / float(v @ v)) * np.outer(v, v)
    return np.delete(H, k, axis=1)


def _label(f):
    """Predicted class from logits (argmax; ``f > 0`` for one output)."""
    f = np.asarray(f)
    if f.shape[-1] == 1:
        return int(f[..., 0] > 0)
    return int(np.argmax(f))


def _class_gradient(V, u, c):
    """Score of class ``c`` as an affine map ``(grad, offset)``.

    For one output the score of class 1 is the logit and of class 0 its negative.
    """
    if V.shape[0] == 1:
        s = 1.0 if c == 1 else -1.0
        return s * V[0], s * u[0]
    return V[c], u[c]


def _pair_margins(V, u, c):
    """Rows ``(g_j, h_j)`` with ``g_j x + h_j = score_c - score_j`` for every rival j."""
    if V.shape[0] == 1:
        g, h = _class_gradient(V, u, c)
        return np.array([1 - c]), (2.0 * g)[None, :], np.array([2.0 * h])
    others = np.array([j for j in range(V.shape[0]) if j != c], dtype=np.int64)
    return others, V[c][None, :] - V[others], u[c] - u[others]


class _RegionInfo:
    """Region-level quantities shared by the samples of one region."""

    __slots__ = (
        "region", "ball", "An", "cn", "zero", "facets", "neuron_facets", "n_domain_facets",
        "facet_units", "pair_cos", "neighbours", "is_domain",
    )


#: half-width (relative to ``1 + |point|_inf``) of the box that bounds the auxiliary
#: LPs (facet centres, neighbour centres) of regions without a domain
_FAR_BOX = 1e3


def _far_rows(point, d):
    """A large box around ``point`` (auxiliary LPs of regions without a domain)."""
    r = _FAR_BOX * (1.0 + float(np.abs(point).max(initial=0.0)))
    return _lp.box_rows(point - r, point + r, d)


def _region_info(net, region, *, neighbours, facet_point, neighbour_label, tol):
    from .regions import region_rows

    info = _RegionInfo()
    info.region = region
    try:
        ball = region.chebyshev
    except _lp.UnboundedRadiusError as err:
        raise _lp.UnboundedRadiusError(
            "the insphere radius of the region is unbounded (the region contains "
            "arbitrarily large balls); pass domain=(lower, upper), e.g. domain=(0, 1) "
            "for inputs in the unit box."
        ) from err
    info.ball = ball
    A, c = region.A, region.c
    An, cn, zero = _lp.normalize_rows(A, c, tol=tol)
    info.An, info.cn, info.zero = An, cn, zero
    facets = region.facets
    is_dom = np.array([u[0] == "domain" for u in region.units], dtype=bool)
    info.is_domain = is_dom
    info.facets = facets
    info.neuron_facets = facets[~is_dom[facets]]
    info.n_domain_facets = int(np.count_nonzero(is_dom[facets]))
    info.facet_units = tuple(tuple(region.units[i]) for i in info.neuron_facets)
    N = An[info.neuron_facets]
    k = N.shape[0]
    if k >= 2:
        G = np.abs(N @ N.T)
        iu = np.triu_indices(k, 1)
        info.pair_cos = np.clip(G[iu], 0.0, 1.0)
    else:
        info.pair_cos = np.zeros(0)
    info.neighbours = []
    if neighbours and ball.radius > tol.lp:
        info.neighbours = _neighbours(
            net, region, info, region_rows, facet_point, neighbour_label, is_dom, tol
        )
    return info


def _row_kinds(net, region):
    """+1 if crossing a row raises its unit's code, -1 if it lowers it, 0 for domain rows.

    ``region_rows`` writes, per neuron of code ``k``, the row ``z - t_{k-1} >= 0``
    (if ``k > 0``) before the row ``t_k - z >= 0`` (if ``k < T``).
    """
    kinds = np.zeros(len(region.units), np.int8)
    seen = set()
    for r, unit in enumerate(region.units):
        if unit[0] == "domain":
            continue
        code = int(region.codes[net.unit_index(*unit)])
        first = unit not in seen
        seen.add(unit)
        kinds[r] = -1 if (code > 0 and first) else 1
    return kinds


def _facet_centre(An_f, cn_f, i, tol, extra):
    """Chebyshev centre of facet ``i`` within its hyperplane: ``(point, radius)``.

    ``An_f, cn_f`` are the (unit) facet rows; the LP runs in the ``d - 1``
    coordinates of the hyperplane.  Returns ``(None, 0.0)`` when the facet has no
    relative interior or the LP fails.
    """
    n = An_f[i]
    p0 = -cn_f[i] * n
    d = n.shape[0]
    if d == 1:
        return p0, np.inf
    B = _complement_basis(n)
    keep = np.ones(An_f.shape[0], bool)
    keep[i] = False
    Ao, co = An_f[keep], cn_f[keep]
    if extra is not None:
        Ao = np.vstack([Ao, extra[0]])
        co = np.concatenate([co, extra[1]])
    try:
        ball = _lp.chebyshev_ball(Ao @ B, Ao @ p0 + co, tol=tol)
    except (DomainError, SolverError):
        return None, 0.0
    if ball.radius <= tol.lp:
        return None, 0.0
    return p0 + B @ ball.centre, float(ball.radius)


def _facet_nearest(An_f, cn_f, t, xc, s_c, mu, tol):
    """Point of facet ``t`` nearest to ``xc`` keeping slack >= ``mu`` on the other rows.

    The foot of the perpendicular from ``xc`` when it qualifies (no solve);
    otherwise least-distance programming in the facet's hyperplane.  None when
    no such point exists (a facet thinner than ``mu``).
    """
    n = An_f[t]
    foot = xc - s_c[t] * n
    slack = s_c - s_c[t] * (An_f @ n)
    slack[t] = np.inf
    if np.all(slack >= mu):
        return foot
    d = n.shape[0]
    if d == 1:
        return None
    B = _complement_basis(n)
    keep = np.ones(An_f.shape[0], bool)
    keep[t] = False
    Ao, co = An_f[keep], cn_f[keep]
    y = _least_distance(Ao @ B, mu - (Ao @ foot + co), tol)
    if y is None:
        return None
    q = foot + B @ y
    if np.any(Ao @ q + co < mu / 2):  # the solve was inaccurate: use the LP instead
        return None
    return q


def _neighbours(net, region, info, region_rows, facet_point, neighbour_label, is_dom, tol):
    """Step across every neuron facet; list of per-neighbour records."""
    d = region.dim
    An, cn = info.An, info.cn
    fac = info.facets
    An_f, cn_f = An[fac], cn[fac]
    pos = {int(r): t for t, r in enumerate(fac)}
    extra = None if region.domain is not None else _far_rows(region.point, d)
    dom_rows = None
    if region.domain is not None:
        lo, hi = region.domain
        dom_rows = _lp.box_rows(lo, hi, d)
    kinds = _row_kinds(net, region)
    xc = np.asarray(info.ball.centre)
    s_c = An_f @ xc + cn_f
    mu = _FACET_MARGIN * float(info.ball.radius)
    out = []
    for i in info.neuron_facets:
        t = pos[int(i)]
        candidates = []
        if facet_point == "nearest":
            q = _facet_nearest(An_f, cn_f, t, xc, s_c, mu, tol)
            if q is not None:
                candidates.append(q)
        candidates.append(None)  # the facet's Chebyshev centre, computed on demand
        rec = None
        for q in candidates:
            if q is None:
                q, _ = _facet_centre(An_f, cn_f, t, tol, extra)
                if q is None:
                    break
            rec = _step_across(net, region, q, int(i), An, cn, is_dom, kinds,
                               region_rows, dom_rows, extra, neighbour_label, tol)
            if rec is not None and rec["verified"]:
                break
        if rec is None:
            rec = {"units": (tuple(region.units[i]),), "V": None, "u": None,
                   "point": np.full(d, np.nan), "verified": False}
        out.append(rec)
    return out


def _step_across(net, region, q, i, An, cn, is_dom, kinds, region_rows, dom_rows,
                 extra, neighbour_label, tol):
    """Neighbour across the facet of row ``i`` at the relative-interior point ``q``."""
    band = tol.lp * (1.0 + float(np.abs(q).max()))
    sq = An @ q + cn
    on = np.abs(sq) <= band
    on[i] = True
    on &= np.any(An != 0, axis=1)
    if np.any(on & is_dom):
        return None  # the facet lies on the domain boundary: no neighbour inside
    switch = np.flatnonzero(on & ~is_dom)
    codes = np.array(region.codes, dtype=np.int64)
    units = []
    for r in switch:
        k = net.unit_index(*region.units[r])
        codes[k] += int(kinds[r])
        units.append(tuple(region.units[r]))
    A2, c2, units2, V2, u2 = region_rows(net, codes)
    if dom_rows is not None:
        A2 = np.vstack([A2, dom_rows[0]])
        c2 = np.concatenate([c2, dom_rows[1]])
    n = An[i]
    rate = -(A2 @ n)
    sl = A2 @ q + c2
    norms = np.linalg.norm(A2, axis=1)
    unit_set = set(units)
    switching2 = np.zeros(len(A2), bool)
    switching2[: len(units2)] = [tuple(u) in unit_set for u in units2]
    dec = (rate < 0) & ~switching2 & (norms > 0)
    if np.any(sl[~switching2 & (norms > 0)] <= band * norms[~switching2 & (norms > 0)]):
        return None  # q is not in the relative interior for the neighbour
    t_max = float(np.min(sl[dec] / -rate[dec])) if np.any(dec) else np.inf
    if not np.isfinite(t_max):
        t_max = 2.0 * max(float(region.chebyshev.radius), 1.0)
    x_out = q - 0.5 * t_max * n
    verified = bool(np.array_equal(net.codes(x_out[None, :])[0], codes))
    rec = {"units": tuple(units), "V": V2, "u": u2, "point": x_out, "verified": verified,
           "label_point": x_out}
    if neighbour_label == "centre":
        Ac, cc = A2, c2
        if extra is not None:
            Ac = np.vstack([Ac, extra[0]])
            cc = np.concatenate([cc, extra[1]])
        try:
            ball = _lp.chebyshev_ball(Ac, cc, tol=tol)
            rec["label_point"] = np.asarray(ball.centre)
        except (DomainError, SolverError):
            rec["label_point"] = x_out
    return rec


def _axis_rows_as_bounds(An, cn):
    """Split unit rows into general rows and variable bounds (axis-aligned rows).

    HiGHS handles bounds natively, so the ``2 d`` faces of a domain box cost
    nothing as bounds.  Returns ``(A_general, c_general, bounds)``.
    """
    d = An.shape[1]
    nnz = np.count_nonzero(An, axis=1)
    axis = nnz == 1
    k = np.argmax(An != 0, axis=1)
    lo = np.full(d, -np.inf)
    hi = np.full(d, np.inf)
    ax = np.flatnonzero(axis)
    pos = An[ax, k[ax]] > 0
    # unit rows: +x_k + c >= 0  ->  x_k >= -c ;  -x_k + c >= 0  ->  x_k <= c
    np.maximum.at(lo, k[ax[pos]], -cn[ax[pos]])
    np.minimum.at(hi, k[ax[~pos]], cn[ax[~pos]])
    bounds = [(a if np.isfinite(a) else None, b if np.isfinite(b) else None) for a, b in zip(lo, hi)]
    return An[~axis], cn[~axis], bounds


def _boundaries(x, V, u, cls, An_f, cn_f, tol):
    """Decision boundaries of class ``cls`` inside the region (rows ``An_f, cn_f``)."""
    others, G, H = _pair_margins(V, u, cls)
    gn = np.linalg.norm(G, axis=1)
    scale = max(float(np.abs(V).max(initial=0.0)), 1.0)
    free = np.full(len(others), np.inf)
    crosses = np.zeros(len(others), bool)
    dist = np.full(len(others), np.inf)
    d = x.shape[0]
    An_gen, cn_gen, bounds = _axis_rows_as_bounds(An_f, cn_f)
    for t in range(len(others)):
        if gn[t] <= tol.rank * scale:
            continue  # constant margin: no boundary hyperplane
        g, h = G[t] / gn[t], H[t] / gn[t]
        e = float(g @ x + h)
        free[t] = abs(e)
        p0 = x - e * g  # foot of the perpendicular from x on the boundary hyperplane
        band = 2.0 * tol.lp * (1.0 + float(np.abs(p0).max()))
        if np.all(An_f @ p0 + cn_f > band):
            # the hyperplane passes through the interior at p0: it crosses, and the
            # nearest boundary point within the region is the foot itself
            crosses[t] = True
            dist[t] = abs(e)
            continue
        res = _lp._linprog(g, -An_gen, cn_gen, bounds, tol, "decision-boundary")
        if res.status == 2:
            raise _lp.EmptyPolytopeError(
                "the region is empty (the decision-boundary LP is infeasible)."
            )
        if res.status == 3:
            crosses[t] = True
        else:
            crosses[t] = float(res.fun) + h < -tol.lp * (1.0 + float(np.abs(res.x).max()))
        if not crosses[t]:
            continue
        # distance to {y in R : g y + h = 0}: from the foot p0, the shortest in-plane
        # move that satisfies every row (least-distance programming); Pythagoras
        B = _complement_basis(g) if d > 1 else np.zeros((1, 0))
        y = _least_distance(An_f @ B, -(An_f @ p0 + cn_f), tol)
        dist[t] = np.nan if y is None else float(np.hypot(e, np.linalg.norm(y)))
    return others, crosses, dist, free


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

    Cost per region: the redundancy LPs of :attr:`polyfold.regions.Region.facets`,
    one Chebyshev LP, one LP per rival class, one non-negative least-squares
    problem per crossing boundary, and per neuron facet a forward pass (plus an
    LP for facets where ``"nearest"`` falls back, and one with
    ``neighbour_label="centre"``).

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
    from .network import PLNet
    from ._validation import check_points

    tol = get_tol(tol)
    if not isinstance(net, PLNet):
        raise ValidationError(
            f"net must be a polyfold.PLNet, got {type(net).__name__}; convert models with "
            "polyfold.from_torch / polyfold.from_sklearn / PLNet.from_arrays."
        )
    check_choice("neighbour_label", neighbour_label, _NEIGHBOUR_LABELS)
    check_choice("facet_point", facet_point, _FACET_POINTS)
    if not isinstance(neighbours, (bool, np.bool_)):
        raise ValidationError(f"neighbours must be True or False, got {neighbours!r}.")
    d = net.input_dim
    X, _ = check_points(X, d, "X")
    bounds = _domain_bounds(domain, d)
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
    from .regions import region_of

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
    for i in _progress(range(n), n, progress, "region statistics"):
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
            raise _reraise_indexed(err, f"sample X[{i}]") from err
    frozen = {k: _readonly(v, v.dtype) for k, v in cols.items()}
    frozen_lists = {k: tuple(v) for k, v in lists.items()}
    return RegionStatistics(
        **frozen,
        **frozen_lists,
        domain=None if bounds is None else (_readonly(bounds[0]), _readonly(bounds[1])),
        neighbour_label=neighbour_label,
        facet_point=facet_point,
    )


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
        if rec["V"] is None:
            continue
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


# ---------------------------------------------------------------------------
# ``polyfold.insphere`` names both this module and the function :func:`insphere`
# (the package exports the function lazily).  Once ``polyfold.insphere`` has been
# imported as a module (``from polyfold.insphere import ...``), Python's import
# system binds the attribute ``polyfold.insphere`` to the module; making the
# module callable keeps ``polyfold.insphere(A, c)`` working in either order.
# ---------------------------------------------------------------------------
class _CallableModule(types.ModuleType):
    def __call__(self, A, c, *, domain=None, tol=None):
        return insphere(A, c, domain=domain, tol=tol)


sys.modules[__name__].__class__ = _CallableModule
