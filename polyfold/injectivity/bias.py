"""Maximal bias: valid biases on the sphere, ball or annulus.

:func:`maximal_bias` computes a bias that keeps the layer injective on a sphere,
ball or annulus, from the polytope construction (a certificate) or from Monte Carlo
sampling (an estimate), as a :class:`BiasCertificate`; :func:`omnidirectionality`
tests that the rows of ``W`` positively span the space and
:func:`covering_margin` gives the sample size of the sampling estimate.  Part of
:mod:`polyfold.injectivity`, which re-exports the public names.
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np

from .. import arith
from .._validation import check_choice, check_positive_int, check_seed
from ..exceptions import (
    DegenerateInputError,
    DomainError,
    NonFiniteError,
    SolverError,
    ValidationError,
)
from ..tolerance import get_tol
from .layers import _power_of_two_rows, _readonly, _resolve
from .._repr import summary_repr


_SAMPLE_CHUNK = 8192  # fixed chunk size: samples of size N1 < N2 are prefixes of each other


# ---------------------------------------------------------------------------
# maximal bias
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class BiasCertificate:
    """A valid bias for a ReLU layer on a sphere, ball or annulus.

    One valid bias among possibly many: the set of valid biases is a down-set and
    its maximal elements are in general not unique.  ``method`` says which
    construction produced this one.

    Attributes
    ----------
    alpha : (m,) float
        Bias in the paper's convention (``ReLU(W x - alpha)``), scaled to the rows'
        norms and to the domain.
    alpha_hat : (m,) float
        The same for the normalised rows ``phi_i / |phi_i|`` on the unit sphere,
        after the margin (before the domain rule).
    method : str
        ``"polytope"`` (facet construction) or ``"sampling"`` (Monte Carlo).
    domain : str
        ``"sphere"``, ``"ball"`` or ``"annulus"``.
    radius : float
    inner_radius : float or None
        Inner radius of the annulus.
    is_certificate : bool
        True for the polytope method: ``alpha`` is alpha-rectifying on the domain
        (up to float rounding of the facet minima).  False for sampling: an
        estimate, optimistic without a margin, valid with high probability with
        ``margin="covering"``.
    margin : float
        Amount subtracted from ``alpha_hat`` (unit rows, unit sphere).
    margin_kind : str or None
        ``None``, ``"covering"`` (the covering-radius rule) or ``"fixed"``.
    facets : (k, n) int or None
        Polytope method: row indices of the (triangulated) hull facets used.
    n_samples : int or None
        Sampling method: number of sphere samples.
    omnidirectional_margin : float or None
        Optimum ``t`` of the omnidirectionality LP (> 0: omnidirectional).
    norms : (m,) float
        Row norms ``|phi_i|``.
    notes : str
        What the numbers mean and how they were obtained.
    """

    __repr__ = summary_repr

    alpha: np.ndarray
    alpha_hat: np.ndarray
    method: str
    domain: str
    radius: float
    inner_radius: object
    is_certificate: bool
    margin: float
    margin_kind: object
    facets: object
    n_samples: object
    omnidirectional_margin: object
    norms: np.ndarray
    notes: str = ""

    @property
    def bias(self):
        """The same bias in the torch / numpy convention, ``b = -alpha``."""
        return -self.alpha

    def to_pandas(self):
        """One row per neuron (needs pandas).

        Columns: ``neuron``, ``alpha`` (the valid bias ``ReLU(W x - alpha)``),
        ``bias`` (``-alpha``), ``alpha_hat`` (for the normalised row) and ``norm``
        (of the row of ``W``).

        Examples
        --------
        >>> import numpy as np
        >>> from polyfold.injectivity import maximal_bias
        >>> angles = 2 * np.pi * np.arange(6) / 6
        >>> df = maximal_bias(np.c_[np.cos(angles), np.sin(angles)]).to_pandas()
        >>> df["alpha_hat"].round(12).tolist()      # cos(2 pi / 6) for each neuron
        [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
        """
        from .._tables import to_dataframe

        alpha = np.asarray(self.alpha, dtype=np.float64)
        norms = np.full(len(alpha), np.nan) if self.norms is None else \
            np.asarray(self.norms, dtype=np.float64)
        return to_dataframe({
            "neuron": np.arange(len(alpha), dtype=np.int64),
            "alpha": alpha,
            "bias": -alpha,
            "alpha_hat": np.asarray(self.alpha_hat, dtype=np.float64),
            "norm": norms,
        }, "BiasCertificate")


def omnidirectionality(W, *, tol=None, **unexpected):
    """Omnidirectionality margin of the normalised rows (one HiGHS LP).

    Solves ``max t`` subject to ``c_i >= t``, ``sum_i c_i u_i = 0``,
    ``sum_i c_i = 1`` with ``u_i = phi_i / |phi_i|``.  The rows are
    omnidirectional (0 lies in the interior of their convex hull, given
    ``rank W = n``) iff ``t > 0``.

    Parameters
    ----------
    W : (m, n) float, ``(net, layer)`` or torch ``nn.Linear``
    tol : Tolerance, optional

    Returns
    -------
    t : float
        The LP optimum (at most ``1/m``; ``-inf`` when the LP is infeasible, i.e.
        0 is not in the affine hull of the rows, e.g. for ``m <= n``).
    direction : (n,) float or None
        When ``t <= tol.lp``: a unit vector ``x`` with ``<x, u_i> <= tol.lp`` for
        every row (from the dual LP), i.e. a direction that no row points into.

    Raises
    ------
    DegenerateInputError
        A zero row.
    ValidationError
        ``alpha=`` / ``bias=`` passed (omnidirectionality does not involve the bias).

    Notes
    -----
    Invariant under positive row scaling: the unit rows are computed after an
    exact power-of-two scaling of each row (rows of 1e300 and 1e-300 side by side
    give the unscaled margin).

    Examples
    --------
    >>> import numpy as np
    >>> t, _ = omnidirectionality(np.array([[1.0, 0], [0, 1.0], [-1.0, -1.0]]))
    >>> round(t, 6)
    0.292893
    >>> t, x = omnidirectionality(np.array([[1.0, 0], [0, 1.0], [1.0, 1.0]]))
    >>> t <= 0, bool(np.all(np.array([[1.0, 0], [0, 1.0], [1.0, 1.0]]) @ x <= 1e-9))
    (True, True)
    """
    if unexpected:
        names = ", ".join(f"{k}=" for k in sorted(unexpected))
        hint = (" Omnidirectionality is a property of the rows of W alone (the bias plays no "
                "part); drop the bias." if set(unexpected) & {"alpha", "bias"} else "")
        raise ValidationError(f"omnidirectionality got unexpected argument(s) {names}.{hint}")
    tol = get_tol(tol)
    Wm, _ = _resolve(W, need_bias=False)
    U, _, _ = _unit_rows(Wm)
    return _omni_lp(U, tol)


def _unit_rows(W):
    """``(U, ns, e)``: unit rows ``u_i = phi_i / |phi_i|`` and the row norms as
    ``|phi_i| = ns_i * 2^e_i`` (``ns_i`` in [1/2, sqrt(n))).

    The norms are taken of the rows scaled by powers of two (exact), so rows of any
    magnitude (1e300, 1e-300) give the same unit rows as unscaled ones; ``ns * 2^e``
    may exceed float64 even where every entry does not.
    """
    Ws, _, e = _power_of_two_rows(W)
    ns = np.linalg.norm(Ws, axis=1)
    if np.any(ns == 0):
        i = int(np.argmax(ns == 0))
        raise DegenerateInputError(
            f"row {i} of W is zero: a zero neuron never carries information and has no "
            "direction to normalise; drop it (W = W[np.any(W != 0, axis=1)])."
        )
    return Ws / ns[:, None], ns, e


def _scaled_product(ns, e, v):
    """``ns * 2^e * v`` without intermediate overflow (``v`` finite); inf where the
    product itself exceeds float64."""
    vm, ve = np.frexp(v)
    with np.errstate(over="ignore"):
        return np.ldexp(ns * vm, e + ve)


def _omni_lp(U, tol):
    from scipy.optimize import linprog

    m, n = U.shape
    # primal: variables (c_1..c_m, t); maximise t
    cost = np.zeros(m + 1)
    cost[-1] = -1.0
    A_ub = np.hstack([-np.eye(m), np.ones((m, 1))])  # t - c_i <= 0
    A_eq = np.vstack([np.hstack([U.T, np.zeros((n, 1))]), np.hstack([np.ones(m), [0.0]])])
    b_eq = np.concatenate([np.zeros(n), [1.0]])
    res = linprog(cost, A_ub=A_ub, b_ub=np.zeros(m), A_eq=A_eq, b_eq=b_eq,
                  bounds=[(None, None)] * (m + 1), method="highs")
    if res.status == 2:  # 0 is not even in the affine hull of the rows (e.g. m <= n)
        t = -np.inf
    elif res.status != 0:
        raise SolverError(
            f"the omnidirectionality LP failed (HiGHS status {res.status}: {res.message}); "
            "rescale W.", status=int(res.status))
    else:
        t = float(-res.fun)
    if t > tol.lp:
        return t, None
    # dual: min mu s.t. <u_i, y> - mu <= 0, m mu - <sum u_i, y> = 1 ; y separates
    cost = np.zeros(n + 1)
    cost[-1] = 1.0
    A_ub = np.hstack([U, -np.ones((m, 1))])
    A_eq = np.concatenate([-U.sum(axis=0), [float(m)]]).reshape(1, -1)
    res = linprog(cost, A_ub=A_ub, b_ub=np.zeros(m), A_eq=A_eq, b_eq=[1.0],
                  bounds=[(None, None)] * n + [(-1.0, None)], method="highs")
    y = None
    if res.status == 0:
        y = np.asarray(res.x[:n])
        y = y / max(np.linalg.norm(y), 1e-300)
    return t, y


def covering_margin(n, n_samples):
    """Covering-radius margin ``eps_N = (ln N / (kappa_n N))^(1/n)`` of the spec.

    ``kappa_n = (1/n) Gamma((n+1)/2) / (sqrt(pi) Gamma(n/2))``.  Subtracting
    ``eps_N`` from a sampled ``alpha_hat`` makes it valid with high probability
    (every sphere point is then within ``eps_N`` of a sample).

    Parameters
    ----------
    n : int
        Dimension (the sphere is S^{n-1} in R^n).
    n_samples : int
        Number of samples ``N >= 2``.

    Returns
    -------
    float

    Notes
    -----
    The rate uses the exponent ``1/n`` as written in the spec; the true covering
    radius of ``N`` uniform points on S^{n-1} decays like ``(ln N / N)^(1/(n-1))``,
    so the margin is conservative (larger than needed) for moderate ``N``.

    Examples
    --------
    >>> round(covering_margin(2, 10_000), 4)
    0.0607
    """
    n = check_positive_int(n, "n")
    N = check_positive_int(n_samples, "n_samples", minimum=2)
    kappa = (1.0 / n) * math.exp(math.lgamma((n + 1) / 2) - math.lgamma(n / 2)) / math.sqrt(math.pi)
    return (math.log(N) / (kappa * N)) ** (1.0 / n)


def _check_radii(domain, radius, inner_radius):
    check_choice("domain", domain, ("sphere", "ball", "annulus"))
    if isinstance(radius, bool) or not isinstance(radius, numbers.Real) or not np.isfinite(radius):
        raise ValidationError(f"radius must be a finite number > 0, got {radius!r}.")
    if radius <= 0:
        raise DomainError(
            f"radius must be > 0, got {radius!r}; the domain is the {domain} of that radius "
            "around 0 (use radius=1 for the unit sphere)."
        )
    if domain == "annulus":
        if inner_radius is None:
            raise ValidationError(
                "domain='annulus' needs inner_radius= (0 <= inner_radius < radius)."
            )
        if (isinstance(inner_radius, bool) or not isinstance(inner_radius, numbers.Real)
                or not np.isfinite(inner_radius)):
            raise ValidationError(f"inner_radius must be a finite number, got {inner_radius!r}.")
        if inner_radius < 0:
            raise DomainError(
                f"inner_radius must be >= 0, got {inner_radius!r}; "
                "inner_radius=0 gives the ball."
            )
        if inner_radius >= radius:
            raise DomainError(
                f"inner_radius must be < radius, got inner_radius={inner_radius!r} >= "
                f"radius={radius!r}; for a sphere use domain='sphere'."
            )
        return float(radius), float(inner_radius)
    if inner_radius is not None:
        raise ValidationError(
            f"inner_radius is only used with domain='annulus', got inner_radius="
            f"{inner_radius!r} with domain={domain!r}."
        )
    return float(radius), None


def _domain_scale(alpha_hat, domain, radius, inner_radius):
    """Unit-sphere alpha_hat -> unit-row alpha on the domain (section 2 rules)."""
    if domain == "sphere":
        return radius * alpha_hat
    if domain == "ball":
        return radius * np.minimum(alpha_hat, 0.0)
    return np.where(alpha_hat >= 0, inner_radius * alpha_hat, radius * alpha_hat)


def maximal_bias(
    W,
    *,
    domain="sphere",
    radius=1.0,
    inner_radius=None,
    method="polytope",
    n_samples=100_000,
    seed=None,
    margin=None,
    socp_solver="nnls",
    max_dim=8,
    tol=None,
    **unexpected,
):
    """A valid (near-maximal) bias of a ReLU layer on a sphere, ball or annulus.

    Parameters
    ----------
    W : (m, n) float, ``(net, layer)`` or torch ``nn.Linear``
        Weights; a layer's own bias is ignored (a new one is computed).
    domain : {"sphere", "ball", "annulus"}
        ``|x| = radius``, ``|x| <= radius``, or ``inner_radius <= |x| <= radius``.
    radius : float
        Outer radius, > 0.
    inner_radius : float, optional
        Annulus only, ``0 <= inner_radius < radius``.
    method : {"polytope", "sampling"}
        ``"polytope"``: the facet construction, a certificate (needs an
        omnidirectional frame and ``n <= max_dim`` for Qhull).  ``"sampling"``: the
        Monte Carlo estimate of the spec (any full-rank frame, any dimension).
    n_samples : int
        Sampling only: number of uniform points on the unit sphere.
    seed : None, int or numpy Generator
        Sampling only.  With a fixed seed, the samples for ``N1 < N2`` are the first
        ``N1`` of those for ``N2`` (so the estimate is monotone in ``N``).
    margin : None, "covering" or float >= 0
        Subtracted from ``alpha_hat`` (unit rows, unit sphere) before the domain
        rule.  ``"covering"`` (sampling only) subtracts :func:`covering_margin`.
        A float ``eps > 0`` with the polytope method gives a bias strictly below the
        certificate, which makes every active set *strictly* spanning and the layer
        injective on the domain even where the ``>=`` convention is not enough (see
        Notes).  Values below -1 are clipped to -1 (all neurons active).
    socp_solver : {"nnls", "cvxpy"}
        How the facet minimum with a negative correlation is computed: ``"nnls"``
        (projection onto the facet cone by non-negative least squares, the exact
        optimum of the same SOCP; fast) or ``"cvxpy"`` (the SOCP of the spec,
        solved by cvxpy; slower, accurate to the solver's tolerance).
    max_dim : int
        Largest ``n`` for which the polytope method runs Qhull.
    tol : Tolerance, optional
        ``tol.lp`` (omnidirectionality), ``tol.rank`` (degenerate facets).

    Returns
    -------
    BiasCertificate

    Raises
    ------
    DegenerateInputError
        ``rank W < n`` (no bias can make the layer injective); a zero row;
        polytope method on a non-omnidirectional frame (the message explains why).
    DomainError
        ``radius <= 0``, ``inner_radius < 0`` or ``inner_radius >= radius``.
    ValidationError
        Unknown options; ``n > max_dim`` for the polytope method (use
        ``method='sampling'``); ``alpha=``/``bias=`` passed.
    NonFiniteError
        A row norm ``|phi_i|`` or a bias ``alpha_i`` exceeds float64 (scale ``W`` or
        the radius down; the bias scales with both).
    SolverError
        Qhull or an LP / SOCP failed.

    Notes
    -----
    *Row scales.*  ``alpha_hat`` depends on the unit rows only and ``alpha_i``
    scales with ``|phi_i|``: the rows are normalised after an exact power-of-two
    scaling, and ``alpha_i = |phi_i| * (...)`` is formed without intermediate
    overflow, so rows of 1e300 and 1e-300 side by side give
    ``s_i * maximal_bias(W).alpha_i``.

    *Convention.* ``I(x) = {i : <x, phi_i> >= alpha_i}``; ``alpha`` is valid
    (alpha-rectifying) on K when ``rank W_{I(x)} = n`` for all ``x`` in K.  Valid
    biases form a down-set (lowering a coordinate only enlarges active sets);
    maximal elements are not unique, and neither construction claims to find
    "the" maximal bias.

    *Polytope method* (spec section 3): normalise rows to ``u_i``; check the rank
    and omnidirectionality (LP); compute the facets of ``conv(u_i)`` with Qhull
    (triangulated: every facet is a simplex whose vertices form a basis, and the
    cones over the facets tile R^n).  For facet F and vertex i of F,
    ``v(i, F) = min {<x, u_i> : x in cone(F), |x| = 1}``: if all
    ``<u_i, u_j> >= 0`` (j in F) then ``v = min_j <u_i, u_j>`` (the ratio
    ``sum c_j <u_i,u_j> / |sum c_j u_j|`` is at least ``min_j <u_i,u_j>`` because
    ``|sum c_j u_j| <= sum c_j``); otherwise ``v`` is the optimum of the SOCP
    ``min <u_i, U_F^T c>`` s.t. ``|U_F^T c| <= 1, c >= 0``, which equals
    ``-|P(-u_i)|`` where ``P`` projects onto ``cone(F)`` (the support function of
    a cone intersected with the unit ball), computed by NNLS.  Then
    ``alpha_hat_i = min_F v(i, F)`` over the facets containing ``i``, facet by
    facet (the vertex-star variant is looser: -1 instead of -1/sqrt(3) for the
    tetrahedron).  Validity: every ``x`` on the sphere lies in some cone(F) and all
    vertices of F are then active.  Rows that are not hull vertices are never
    needed; they get ``alpha_hat = 1`` (active only at ``x = u_i``).  Degenerate
    (flat) simplices of the triangulation have measure-zero cones and are skipped.

    *Sampling method* (spec section 4): for uniform ``x`` on the sphere, the ``n``
    rows with the largest ``<x, u_j>`` get ``alpha_hat_j = min(alpha_hat_j, <x,
    u_j>)``.  This converges from above to the value of the *top-n* construction,
    which is itself a valid bias but is a different construction from the facet
    one: for symmetric frames (regular polygons, platonic solids) both agree; for
    irregular frames the sampled value can lie below the polytope value.  Rows
    never among the top n get 1.

    *Domain rules* (section 2): sphere ``r * alpha_hat``; ball
    ``r * min(alpha_hat, 0)``; annulus ``r_in * alpha_hat`` where ``alpha_hat >=
    0``, ``r * alpha_hat`` elsewhere; then ``alpha_i = |phi_i| * (...)``.

    *Rectifying versus injective.* On convex domains (the ball) alpha-rectifying
    implies injective.  On the sphere the ``>=`` convention is subtle: in R^1 with
    rows ``+1, -1`` the construction gives ``alpha = (1, 1)`` and both sphere
    points ``+-1`` map to 0 although each one's active set spans.  Any bias
    strictly below a valid one makes every active set strictly positive, so
    ``margin=eps`` for any ``eps > 0`` gives injectivity on every domain.

    Cost: one LP, one Qhull call, and per (facet, vertex) pair with a negative
    correlation one NNLS of size n (microseconds) or one cvxpy solve
    (milliseconds).  The number of facets grows quickly with n (about 1e3 for
    n=5, m=60 and 2e4 for n=7, m=84 on random frames).

    References
    ----------
    Haider, Ehler, Balazs, ICML 2023 (arXiv:2307.09672), and arXiv:2406.15856.

    Examples
    --------
    >>> import numpy as np
    >>> angles = 2 * np.pi * np.arange(6) / 6
    >>> hexagon = np.c_[np.cos(angles), np.sin(angles)]
    >>> cert = maximal_bias(hexagon)                 # cos(2 pi / 6) = 1/2
    >>> np.round(cert.alpha, 12).tolist()
    [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]
    >>> maximal_bias(2 * hexagon, domain="ball", radius=3).alpha.round(12).tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    >>> est = maximal_bias(hexagon, method="sampling", n_samples=20000, seed=0)
    >>> bool(np.all(est.alpha >= cert.alpha)), est.is_certificate
    (True, False)
    """
    if unexpected:
        names = ", ".join(f"{k}=" for k in sorted(unexpected))
        hint = (" maximal_bias computes the bias, so it takes none; to check a given bias use "
                "check_injectivity(W, alpha=...) or bias_margin(W, points, alpha=...)."
                if set(unexpected) & {"alpha", "bias"} else "")
        raise ValidationError(f"maximal_bias got unexpected argument(s) {names}.{hint}")
    tol = get_tol(tol)
    Wm, _ = _resolve(W, need_bias=False)
    m, n = Wm.shape
    check_choice("method", method, ("polytope", "sampling"))
    check_choice("socp_solver", socp_solver, ("nnls", "cvxpy"))
    radius, inner_radius = _check_radii(domain, radius, inner_radius)
    max_dim = check_positive_int(max_dim, "max_dim")
    if margin is None:
        margin_kind, eps = None, 0.0
    elif isinstance(margin, str):
        if margin != "covering":
            raise ValidationError(
                f"margin must be None, 'covering' or a float >= 0, got {margin!r}."
            )
        if method != "sampling":
            raise ValidationError(
                "margin='covering' only applies to method='sampling' (the polytope "
                "method is already a certificate); pass a float margin to go strictly below it."
            )
        margin_kind = "covering"
        eps = covering_margin(n, check_positive_int(n_samples, "n_samples", minimum=2))
    else:
        if isinstance(margin, bool) or not isinstance(margin, numbers.Real) or not (
            np.isfinite(margin) and margin >= 0
        ):
            raise ValidationError(f"margin must be None, 'covering' or a float >= 0, got {margin!r}.")
        margin_kind, eps = "fixed", float(margin)
    U, ns, e = _unit_rows(Wm)
    norms = _scaled_product(ns, e, np.ones(m))
    if not np.all(np.isfinite(norms)):
        i = int(np.argmax(~np.isfinite(norms)))
        raise NonFiniteError(
            f"row {i} of W has a Euclidean norm beyond float64 (about {ns[i]:.3g} * 2^{e[i]}), "
            "so its bias alpha_i = |phi_i| * alpha_hat_i cannot be represented; scale W down "
            "(the bias scales with each row: maximal_bias(W / s).alpha * s)."
        )
    r = arith.exact_rank(Wm)
    if r < n:
        raise DegenerateInputError(
            f"W has rank {r} < n = {n} (exactly): some direction x != 0 has W x = 0, so "
            "x and 0 always give the same output and no bias makes the layer injective; "
            "remove the redundant input dimensions or add rows."
        )
    t_omni = None
    facets = None
    extra = ""
    if method == "polytope":
        if n > max_dim:
            raise ValidationError(
                f"method='polytope' needs the convex hull of the rows (Qhull), which is "
                f"impractical for n = {n} > max_dim = {max_dim}: the number of facets grows "
                "like m^(n/2); use method='sampling' (optionally margin='covering'), or raise "
                "max_dim= if you know the hull is small."
            )
        t_omni, direction = _omni_lp(U, tol)
        if t_omni <= tol.lp:
            hint = "" if direction is None else (
                f" (for example x = {np.round(direction, 6).tolist()} has <x, phi_i> <= 0 for "
                "every row)")
            raise DegenerateInputError(
                f"the rows of W are not omnidirectional: 0 is not in the interior of the "
                f"convex hull of the normalised rows (LP margin t = {t_omni:.3g} <= 0){hint}. "
                "Then some direction is covered by no row: no bias makes the layer injective "
                "on R^n, zero bias fails on the sphere, and the facet cones do not cover the "
                "sphere, so the polytope construction does not apply. On a bounded domain "
                "alpha_i = -radius * |phi_i| (every neuron active) is trivially valid; "
                "method='sampling' estimates a larger one."
            )
        alpha_hat, facets, n_degen = _polytope_alpha_hat(U, socp_solver, tol)
        n_vertex = int(np.sum(alpha_hat < np.inf))
        alpha_hat = np.where(np.isfinite(alpha_hat), alpha_hat, 1.0)
        extra = (
            f"Facet construction over {len(facets)} triangulated hull facets "
            f"({n_degen} flat ones skipped); {m - n_vertex} rows are not hull vertices and "
            f"get alpha_hat = 1. SOCP minima via {socp_solver}."
        )
        seed_info = None
    else:
        n_samples = check_positive_int(n_samples, "n_samples")
        rng = check_seed(seed)
        alpha_hat, n_bad = _sampling_alpha_hat(U, n_samples, rng, tol)
        never = int(np.sum(~np.isfinite(alpha_hat)))
        alpha_hat = np.where(np.isfinite(alpha_hat), alpha_hat, 1.0)
        extra = (
            f"Monte Carlo top-n construction from {n_samples} uniform sphere samples; "
            f"{never} rows were never among the top n (alpha_hat = 1); {n_bad} samples "
            "had linearly dependent top-n rows. An estimate from above of the top-n "
            "construction, not a certificate"
            + (" (covering-radius margin applied: valid with high probability)." if margin_kind == "covering" else ".")
        )
        seed_info = n_samples
    ah = np.maximum(alpha_hat - eps, -1.0)
    # alpha_i = |phi_i| * (domain rule), with |phi_i| = ns_i 2^e_i: no intermediate
    # overflow or underflow for rows near 1e300 or 1e-300
    alpha = _scaled_product(ns, e, _domain_scale(ah, domain, radius, inner_radius))
    if not np.all(np.isfinite(alpha)):
        i = int(np.argmax(~np.isfinite(alpha)))
        raise NonFiniteError(
            f"the bias of row {i} overflows float64: |phi_{i}| = {norms[i]:.3g} times the "
            f"radius {radius:.3g} exceeds 1.8e308; scale W or the radius down (the bias "
            "scales with both)."
        )
    notes = (
        "One valid bias among possibly many (valid biases form a down-set whose maximal "
        "elements are not unique); it is not 'the' maximal bias. " + extra
        + (f" Margin {eps:.4g} subtracted from alpha_hat." if eps > 0 else "")
    )
    return BiasCertificate(
        alpha=_readonly(alpha),
        alpha_hat=_readonly(ah),
        method=method,
        domain=domain,
        radius=radius,
        inner_radius=inner_radius,
        is_certificate=(method == "polytope"),
        margin=eps,
        margin_kind=margin_kind,
        facets=_readonly(facets),
        n_samples=seed_info,
        omnidirectional_margin=t_omni,
        norms=_readonly(norms),
        notes=notes,
    )


def _polytope_alpha_hat(U, socp_solver, tol):
    """Facet-by-facet minima; +inf for rows that are no hull vertex."""
    m, n = U.shape
    alpha_hat = np.full(m, np.inf)
    if n == 1:
        # the "hull" of +-1: each facet is one vertex, cone(F) = its ray, v = 1
        for s in (1.0, -1.0):
            idx = np.flatnonzero(U[:, 0] == s)
            alpha_hat[idx] = 1.0
        facets = np.flatnonzero(np.isfinite(alpha_hat)).reshape(-1, 1)
        return alpha_hat, facets, 0
    from scipy.spatial import ConvexHull
    from scipy.spatial import QhullError

    try:
        hull = ConvexHull(U)
    except QhullError as err:
        raise SolverError(
            f"Qhull failed on the normalised rows ({str(err).splitlines()[0]}); "
            "use method='sampling' for this frame."
        ) from err
    S = np.asarray(hull.simplices, dtype=np.int64)
    US = U[S]  # (k, n, n): rows = facet vertices
    dets = np.abs(np.linalg.det(US))
    keep = dets > tol.rank
    n_degen = int(np.sum(~keep))
    S, US = S[keep], US[keep]
    G = np.einsum("kin,kjn->kij", US, US)  # correlations within each facet
    nonneg = np.all(G >= 0, axis=2)  # (k, n): vertex position i has all <u_i,u_j> >= 0
    V = np.where(nonneg, G.min(axis=2), np.nan)
    todo = np.argwhere(~nonneg)
    if len(todo):
        if socp_solver == "nnls":
            from scipy.optimize import nnls

            for f, p in todo:
                A = US[f].T  # columns are the facet vertices
                coef, _ = nnls(A, -US[f, p])
                V[f, p] = -float(np.linalg.norm(A @ coef))
        else:
            V = _cvxpy_minima(US, todo, V)
    np.minimum.at(alpha_hat, S.ravel(), V.ravel())
    return alpha_hat, S, n_degen


def _cvxpy_minima(US, todo, V):
    try:
        import cvxpy as cp
    except ImportError as err:  # pragma: no cover
        from ..exceptions import DependencyError

        raise DependencyError("socp_solver='cvxpy' requires cvxpy: pip install cvxpy") from err
    n = US.shape[1]
    c = cp.Variable(n, nonneg=True)
    x = cp.Variable(n)
    A = cp.Parameter((n, n))
    ui = cp.Parameter(n)
    # min <u_i, U_F^T c>  s.t.  |U_F^T c| <= 1, c >= 0   (x = U_F^T c keeps it DPP)
    prob = cp.Problem(cp.Minimize(ui @ x), [x == A @ c, cp.norm(x, 2) <= 1])
    for f, p in todo:
        A.value = US[f].T
        ui.value = US[f, p]
        try:
            prob.solve(verbose=False)
        except cp.error.SolverError as err:
            raise SolverError(f"cvxpy failed on a facet SOCP: {err}; use socp_solver='nnls'.") from err
        if prob.status not in ("optimal", "optimal_inaccurate"):
            raise SolverError(
                f"cvxpy returned status {prob.status!r} on a facet SOCP; use socp_solver='nnls'.",
                status=prob.status,
            )
        V[f, p] = float(prob.value)
    return V


def _sampling_alpha_hat(U, n_samples, rng, tol):
    m, n = U.shape
    alpha_hat = np.full(m, np.inf)
    n_bad = 0
    done = 0
    while done < n_samples:
        k = min(_SAMPLE_CHUNK, n_samples - done)
        X = rng.standard_normal((k, n))
        X /= np.linalg.norm(X, axis=1)[:, None]
        C = X @ U.T
        if n < m:
            top = np.argpartition(-C, n - 1, axis=1)[:, :n]
        else:
            top = np.broadcast_to(np.arange(m), (k, m))
        mask = np.zeros((k, m), bool)
        np.put_along_axis(mask, top, True, axis=1)
        alpha_hat = np.minimum(alpha_hat, np.where(mask, C, np.inf).min(axis=0))
        if n > 1:
            dets = np.abs(np.linalg.det(U[top[:, :n]]))
            n_bad += int(np.sum(dets <= tol.rank))
        done += k
    return alpha_hat, n_bad
