"""Injectivity of ReLU layers: alpha-rectifying checks, bias certificates, reconstruction.

A ReLU layer is written as in Haider, Ehler and Balazs (2023, 2024):

.. math:: C_\\alpha(x) = \\mathrm{ReLU}(W x - \\alpha),

with the bias *subtracted*.  A PyTorch / numpy layer ``W x + b`` has ``alpha = -b``.
Every public function takes the convention explicitly (``alpha=`` or ``bias=``,
exactly one) and never guesses.

* :func:`active_set`, :func:`is_alpha_rectifying_at` -- the active set
  ``I(x) = {i : <x, phi_i> >= alpha_i}`` and the rank test ``rank W_I(x) = n``,
  batched, float or exact.
* :func:`maximal_bias` -- a valid bias on the sphere, ball or annulus from the
  polytope construction (a certificate) or from Monte Carlo sampling (an
  estimate), returned as a :class:`BiasCertificate`.
* :func:`check_injectivity` -- exact verdict on a box, a polytope, the whole space
  or a finite data set, with a witness pair of colliding points when the layer is
  not injective; :func:`check_network_injectivity` does it layer by layer.
* :func:`reconstruct` -- recover ``x`` from ``y = C_alpha(x)`` (dual frame or the
  iterative ReLU frame algorithm).
* :func:`bias_margin` -- the largest uniform bias shift that keeps every data
  point's active set spanning.

See ``docs/injectivity.rst`` for the concepts and worked examples.

References
----------
.. [1] D. Haider, M. Ehler, P. Balazs, "Convex Geometry of ReLU-layers, Injectivity
   on the Ball and Local Reconstruction", ICML 2023, arXiv:2307.09672.
.. [2] D. Haider, M. Ehler, P. Balazs, "Injectivity of ReLU-layers: Perspectives
   from Frame Theory", arXiv:2406.15856, 2024.
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np

from . import arith
from ._validation import as_float_array, check_choice, check_positive_int, check_seed
from .exceptions import (
    DegenerateInputError,
    DomainError,
    NotInjectiveError,
    ShapeError,
    SolverError,
    UnsupportedLayerError,
    ValidationError,
)
from .network import PLNet, ReLU
from .tolerance import get_tol, sign3

__all__ = [
    "Box",
    "Polytope",
    "Points",
    "BiasCertificate",
    "InjectivityVerdict",
    "NetworkInjectivityVerdict",
    "BiasMargin",
    "layer_weights",
    "active_set",
    "is_alpha_rectifying_at",
    "omnidirectionality",
    "covering_margin",
    "maximal_bias",
    "check_injectivity",
    "check_network_injectivity",
    "bias_margin",
    "reconstruct",
]

_UNIT_ROUNDOFF = np.finfo(np.float64).eps / 2
_SAMPLE_CHUNK = 8192  # fixed chunk size: samples of size N1 < N2 are prefixes of each other


def _readonly(a):
    if a is None:
        return None
    a = np.array(a, copy=True)
    a.setflags(write=False)
    return a


# ---------------------------------------------------------------------------
# layers and bias conventions
# ---------------------------------------------------------------------------
def layer_weights(net, layer=0):
    """Weights and bias (paper convention) of hidden layer ``layer`` of a PLNet.

    Parameters
    ----------
    net : PLNet
    layer : int
        Hidden layer index, ``0 <= layer < net.depth``; its activation must be ReLU.

    Returns
    -------
    W : (m, n) float
        The layer's weight matrix (read-only).
    alpha : (m,) float
        ``-b``: the layer computes ``ReLU(W x - alpha)``.

    Raises
    ------
    ValidationError
        If ``net`` is not a PLNet or ``layer`` is out of range.
    UnsupportedLayerError
        If the layer's activation is not ReLU.

    Examples
    --------
    >>> from polyfold import zoo
    >>> W, alpha = layer_weights(zoo.sawtooth(1), 0)
    >>> W.ravel().tolist(), alpha.tolist()
    ([1.0, 1.0], [-0.0, 0.5])
    """
    if not isinstance(net, PLNet):
        raise ValidationError(
            f"net must be a polyfold.PLNet, got {type(net).__name__}; convert a torch or "
            "scikit-learn model with polyfold.from_torch / polyfold.from_sklearn."
        )
    if isinstance(layer, bool) or not isinstance(layer, numbers.Integral) or not (
        0 <= layer < net.depth
    ):
        raise ValidationError(
            f"layer must be a hidden-layer index in [0, {net.depth}) for this net "
            f"(depth {net.depth}), got {layer!r}; the output layer is linear and has no ReLU."
        )
    act = net.activations[int(layer)]
    if not isinstance(act, ReLU):
        raise UnsupportedLayerError(
            f"hidden layer {layer} uses {act.name!r}; injectivity certificates are defined "
            "for ReLU layers only."
        )
    W, b = net.layers[int(layer)]
    return W, -b


def _is_torch_object(obj):
    return type(obj).__module__.split(".")[0] == "torch"


def _torch_linear(module):
    try:
        import torch
    except ImportError as err:  # pragma: no cover - only reachable with a torch object
        from .exceptions import DependencyError

        raise DependencyError("reading a torch layer requires torch: pip install torch") from err
    if isinstance(module, torch.Tensor):
        return module.detach().cpu().double().numpy(), None
    if not isinstance(module, torch.nn.Linear):
        raise UnsupportedLayerError(
            f"expected a torch.nn.Linear (or a weight tensor), got {type(module).__name__}; "
            "pass the Linear layer that precedes the ReLU."
        )
    W = module.weight.detach().cpu().double().numpy()
    if module.bias is None:
        b = np.zeros(W.shape[0])
    else:
        b = module.bias.detach().cpu().double().numpy()
    return W, b


def _resolve(W, alpha=None, bias=None, *, need_bias=True):
    """``(W (m, n) float, alpha (m,) float or None)`` from any accepted layer input.

    Arrays need exactly one of ``alpha`` / ``bias`` (when ``need_bias``); a PLNet
    layer ``(net, l)`` or a torch ``nn.Linear`` carries its own bias (``W x + b``,
    so ``alpha = -b``), which an explicit ``alpha=`` or ``bias=`` overrides.
    """
    own_alpha = None
    if isinstance(W, tuple) and len(W) == 2 and isinstance(W[0], PLNet):
        Wm, own_alpha = layer_weights(W[0], W[1])
    elif isinstance(W, PLNet):
        raise ValidationError(
            "pass a PLNet layer as (net, layer), e.g. (net, 0) for the first hidden layer, "
            "or use layer_weights(net, layer)."
        )
    elif _is_torch_object(W):
        Wm, b = _torch_linear(W)
        own_alpha = None if b is None else -b
    else:
        Wm = W
    Wm = as_float_array(Wm, "W", ndim=2, allow_empty=False)
    m = Wm.shape[0]
    if alpha is not None and bias is not None:
        raise ValidationError(
            "pass exactly one of alpha= (the layer is ReLU(W x - alpha)) or bias= "
            "(the layer is ReLU(W x + b)), got both; they are related by alpha = -bias."
        )
    if not need_bias:
        if alpha is not None or bias is not None:
            raise ValidationError(
                "this function computes the bias itself; do not pass alpha= or bias=."
            )
        return Wm, None
    if alpha is None and bias is None:
        if own_alpha is None:
            raise ValidationError(
                "the bias convention must be explicit: pass alpha= (the layer is "
                "ReLU(W x - alpha), the paper's convention) or bias= (ReLU(W x + b), the "
                "torch / numpy convention); use alpha=0 for a layer without bias."
            )
        return Wm, np.array(own_alpha, dtype=np.float64)
    name = "alpha" if alpha is not None else "bias"
    raw = alpha if alpha is not None else bias
    vec = as_float_array(raw, name)
    if np.ndim(raw) == 0:
        vec = np.full(m, float(vec.ravel()[0]))
    if vec.ndim != 1 or vec.shape[0] != m:
        raise ShapeError(
            f"{name} must be a scalar or of shape ({m},) to match W of shape {Wm.shape}, "
            f"got {vec.shape}."
        )
    return Wm, (vec if alpha is not None else -vec)


def _check_X(X, n, name="x"):
    arr = as_float_array(X, name)
    single = arr.ndim == 1
    if single:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != n:
        raise ShapeError(
            f"Expected {name} of shape (k, {n}) or ({n},) to match W with {n} columns, "
            f"got {np.shape(X)}; use a.reshape(1, -1) for one point."
        )
    return arr, single


# ---------------------------------------------------------------------------
# exact kernels: signs, ranks, null vectors
# ---------------------------------------------------------------------------
def _preact_signs(W, alpha, X, *, exact, tol=None):
    """Signs (-1, 0, +1) of ``<x, phi_i> - alpha_i``: (k, m) int8.

    ``exact=True``: float evaluation with a forward error bound; entries the bound
    cannot decide are recomputed in rationals (so the signs are exact for the
    points and weights read as exact binary rationals).
    """
    Z = X @ W.T - alpha
    if not exact:
        return np.sign(Z).astype(np.int8)
    tol = get_tol(tol)
    n = W.shape[1]
    gamma = (n + 2) * _UNIT_ROUNDOFF / (1 - (n + 2) * _UNIT_ROUNDOFF)
    band = tol.safety * gamma * (np.abs(X) @ np.abs(W).T + np.abs(alpha))
    s = sign3(Z, band)
    amb = np.argwhere(s == 0)
    if len(amb):
        Wq = {}
        for k, i in amb:
            if i not in Wq:
                Wq[i] = [arith.to_fmpq(v) for v in W[i].tolist()]
            xq = [arith.to_fmpq(v) for v in X[k].tolist()]
            z = sum((a * b for a, b in zip(Wq[i], xq)), arith.ZERO) - arith.to_fmpq(alpha[i])
            s[k, i] = 1 if z > 0 else (-1 if z < 0 else 0)
    return s


class _RankCache:
    """Rank of row subsets of one matrix, float (SVD) or exact (flint), memoised."""

    def __init__(self, W, *, exact, tol=None):
        self.W = W
        self.exact = exact
        self.tol = get_tol(tol)
        self.cache = {}
        self._rows = None

    def _exact_rank(self, idx):
        import flint

        if self._rows is None:  # rows scaled to integers: same rank, fast fmpz kernel
            self._rows = _integer_rows(self.W)
        n = self.W.shape[1]
        flat = [v for i in idx for v in self._rows[i]]
        # rank mod a prime is a lower bound of the rational rank; when it already equals
        # min(k, n) it is the exact rank, otherwise fall back to fraction-free elimination
        p = 2305843009213693951  # 2^61 - 1
        if int(flint.nmod_mat(len(idx), n, [v % p for v in flat], p).rank()) == min(len(idx), n):
            return min(len(idx), n)
        return int(flint.fmpz_mat(len(idx), n, flat).rank())

    def rank(self, mask):
        idx = np.flatnonzero(mask)
        key = idx.tobytes()
        r = self.cache.get(key)
        if r is None:
            n = self.W.shape[1]
            if len(idx) == 0:
                r = 0
            elif self.exact:
                r = self._exact_rank(idx)
            else:
                sv = np.linalg.svd(self.W[idx], compute_uv=False)
                r = int(np.sum(sv > self.tol.rank * max(sv[0], 1e-300))) if sv.size else 0
            r = min(r, n)
            self.cache[key] = r
        return r

    def ranks(self, masks):
        masks = np.asarray(masks, dtype=bool)
        if self.exact or len(masks) == 0:
            return np.array([self.rank(mk) for mk in masks], dtype=np.int64)
        # float: one batched SVD per active-set size
        out = np.zeros(len(masks), dtype=np.int64)
        counts = masks.sum(axis=1)
        for k in np.unique(counts):
            if k == 0:
                continue
            sel = np.flatnonzero(counts == k)
            idx = np.nonzero(masks[sel])[1].reshape(len(sel), k)
            sv = np.linalg.svd(self.W[idx], compute_uv=False)
            cut = self.tol.rank * np.maximum(sv[:, :1], 1e-300)
            out[sel] = np.minimum(np.sum(sv > cut, axis=1), self.W.shape[1])
        return out


def _integer_rows(M):
    """Rows of a float matrix scaled to integers (exactly), as python ints."""
    out = []
    for row in np.asarray(M, dtype=np.float64).tolist():
        qs = [arith.to_fmpq(v) for v in row]
        den = 1
        for q in qs:
            den = den * int(q.q) // math.gcd(den, int(q.q))
        out.append([int(q.p) * (den // int(q.q)) for q in qs])
    return out


def _exact_null_vector(M, n):
    """A nonzero rational vector d with ``M d = 0`` (exactly), as a list of fmpq.

    ``M`` is a float (k, n) matrix of rank < n read as exact rationals.
    """
    import flint

    if M.shape[0] == 0:
        return [arith.ONE] + [arith.ZERO] * (n - 1)
    rows = _integer_rows(M)
    mat = flint.fmpz_mat(len(rows), n, [v for r in rows for v in r])
    basis, nullity = mat.nullspace()
    if nullity == 0:  # pragma: no cover - callers check the rank first
        raise DegenerateInputError("internal: the rows span R^n, no null vector exists.")
    return _scaled([int(basis[j, 0]) for j in range(n)])


def _scaled(ints):
    """Integer vector divided by its largest magnitude (exact fmpq, floats in [-1, 1])."""
    top = max(abs(v) for v in ints)
    return [arith.fmpq(v, top) for v in ints]


def _relu_exact(W, alpha, x):
    """Exact output ``ReLU(W x - alpha)`` for a list of fmpq ``x``: list of fmpq."""
    out = []
    for i in range(W.shape[0]):
        z = sum(
            (arith.to_fmpq(w) * xv for w, xv in zip(W[i].tolist(), x)), arith.ZERO
        ) - arith.to_fmpq(alpha[i])
        out.append(z if z > 0 else arith.ZERO)
    return out


def _collision_pair(W, alpha, x, active, step):
    """A second point with the same output as ``x``.

    ``active`` are the rows whose value must be kept (the active set at ``x``,
    rank < n); the kernel direction ``d`` of those rows is computed exactly, and
    ``x' = x + t d`` with ``|t d| = step``.  Returns ``(x' float, verified)`` where
    ``verified`` says that the rational point ``x + t d`` has exactly the same
    output as ``x`` (the float ``x'`` is its nearest float64).
    """
    n = W.shape[1]
    d = _exact_null_vector(W[active], n)
    dn = math.sqrt(sum(float(v) ** 2 for v in d))
    t = arith.to_fmpq(step / dn)
    xq = [arith.to_fmpq(v) for v in x.tolist()]
    x2 = [a + t * b for a, b in zip(xq, d)]
    verified = _relu_exact(W, alpha, xq) == _relu_exact(W, alpha, x2)
    return np.array([float(v) for v in x2]), bool(verified)


# ---------------------------------------------------------------------------
# active sets and the rank test
# ---------------------------------------------------------------------------
def active_set(W, x, *, alpha=None, bias=None, exact=False, tol=None):
    """Active set ``I(x) = {i : <x, phi_i> >= alpha_i}`` of a ReLU layer.

    Parameters
    ----------
    W : (m, n) float, ``(net, layer)``, or torch ``nn.Linear``
        Weights (rows ``phi_i``).  A PLNet layer or a torch Linear brings its own
        bias ``b`` (``alpha = -b``) unless ``alpha`` / ``bias`` is given.
    x : (k, n) or (n,) float
        Points.
    alpha : (m,) float or scalar, optional
        Bias in the paper's convention: the layer is ``ReLU(W x - alpha)``.
    bias : (m,) float or scalar, optional
        Bias in the torch / numpy convention: ``ReLU(W x + bias)``.  Pass exactly one.
    exact : bool
        Decide ``>=`` exactly (points and weights read as exact rationals); the
        default compares the float64 values of ``W x - alpha`` with 0.
    tol : Tolerance, optional
        Only ``tol.safety`` is used (error-bound factor of the exact path).

    Returns
    -------
    (k, m) bool, or (m,) bool for one point

    Raises
    ------
    ValidationError
        If neither or both of ``alpha`` and ``bias`` are given for plain arrays.
    ShapeError, NonFiniteError
        On bad shapes or NaN / inf.

    Notes
    -----
    The paper's active set uses ``>=``: a neuron exactly at its threshold is active
    (its output is 0, but the equation ``<x, phi_i> = alpha_i`` holds).  This
    differs from :meth:`polyfold.PLNet.patterns`, where a neuron is active iff
    ``z > 0``.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    >>> active_set(W, [0.0, 2.0], alpha=0).tolist()
    [True, True, False]
    >>> active_set(W, [0.0, 2.0], bias=[0.0, -3.0, 5.0]).tolist()
    [True, False, True]
    """
    Wm, a = _resolve(W, alpha, bias)
    X, single = _check_X(x, Wm.shape[1])
    s = _preact_signs(Wm, a, X, exact=exact, tol=tol)
    out = s >= 0
    return out[0] if single else out


def is_alpha_rectifying_at(W, X, *, alpha=None, bias=None, exact=False, return_rank=False, tol=None):
    """Batched rank test: do the active rows at each point span R^n?

    Parameters
    ----------
    W : (m, n) float, ``(net, layer)``, or torch ``nn.Linear``
    X : (k, n) or (n,) float
        Points.
    alpha, bias : (m,) float or scalar
        Bias, exactly one of the two conventions (see :func:`active_set`).
    exact : bool
        Exact active sets and exact ranks (:func:`polyfold.arith.exact_rank` on the
        float weights read as rationals).  The default uses float64 and an SVD
        rank with cutoff ``tol.rank`` (relative).
    return_rank : bool
        Also return the rank of each point's active rows.
    tol : Tolerance, optional

    Returns
    -------
    ok : (k,) bool, or bool for one point
        ``rank W_{I(x)} == n``.
    rank : (k,) int
        Only when ``return_rank``.

    Notes
    -----
    The layer is *alpha-rectifying* on a set K when this holds at every point of
    K.  On a convex K this implies injectivity on K; on an open K the two are
    equivalent (see :func:`check_injectivity`).  Points sharing an active set
    share one rank computation.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    >>> is_alpha_rectifying_at(W, [[1.0, 1.0], [1.0, -0.5]], alpha=0).tolist()
    [True, False]
    """
    Wm, a = _resolve(W, alpha, bias)
    X, single = _check_X(X, Wm.shape[1], "X")
    s = _preact_signs(Wm, a, X, exact=exact, tol=tol)
    ranks = _RankCache(Wm, exact=exact, tol=tol).ranks(s >= 0)
    ok = ranks == Wm.shape[1]
    if single:
        return (bool(ok[0]), int(ranks[0])) if return_rank else bool(ok[0])
    return (ok, ranks) if return_rank else ok


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


def omnidirectionality(W, *, tol=None):
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
    tol = get_tol(tol)
    Wm, _ = _resolve(W, need_bias=False)
    U = _unit_rows(Wm)
    return _omni_lp(U, tol)


def _unit_rows(W):
    norms = np.linalg.norm(W, axis=1)
    if np.any(norms == 0):
        i = int(np.argmax(norms == 0))
        raise DegenerateInputError(
            f"row {i} of W is zero: a zero neuron never carries information and has no "
            "direction to normalise; drop it (W = W[np.linalg.norm(W, axis=1) > 0])."
        )
    return W / norms[:, None]


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
    SolverError
        Qhull or an LP / SOCP failed.

    Notes
    -----
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
    norms = np.linalg.norm(Wm, axis=1)
    U = _unit_rows(Wm)
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
    alpha = norms * _domain_scale(ah, domain, radius, inner_radius)
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
        from .exceptions import DependencyError

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
            prob.solve()
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


# ---------------------------------------------------------------------------
# domains and the cell enumeration
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Box:
    """The box ``lower <= x <= upper`` (scalars or (n,) arrays)."""

    lower: object
    upper: object


@dataclass(frozen=True)
class Polytope:
    """The polytope ``{x : A x + c >= 0}``, ``A`` of shape (k, n), ``c`` of shape (k,)."""

    A: object
    c: object


@dataclass(frozen=True)
class Points:
    """A finite set of points, shape (k, n)."""

    X: object


def _parse_domain(domain, n):
    """-> (kind, A, c) for space/box/polytope, or ("points", X, None)."""
    if domain is None:
        return "space", np.zeros((0, n)), np.zeros(0)
    if isinstance(domain, Points):
        X, _ = _check_X(domain.X, n, "domain points")
        return "points", X, None
    if isinstance(domain, np.ndarray):
        X, _ = _check_X(domain, n, "domain points")
        return "points", X, None
    if isinstance(domain, Box):
        domain = (domain.lower, domain.upper)
        kind = "box"
    elif isinstance(domain, Polytope):
        domain = (domain.A, domain.c)
        kind = "polytope"
    elif isinstance(domain, (tuple, list)) and len(domain) == 2:
        kind = "polytope" if np.ndim(domain[0]) == 2 else "box"
    else:
        raise ValidationError(
            f"domain must be None (all of R^n), a box (lower, upper), a polytope (A, c) "
            f"meaning {{x : A x + c >= 0}}, or a (k, {n}) ndarray of points, got "
            f"{type(domain).__name__}; polyfold.injectivity.Box / Polytope / Points make it explicit."
        )
    if kind == "box":
        from ._lp import box_rows

        A, c = box_rows(domain[0], domain[1], n, name="domain")
        lo, hi = -c[:n], c[n:]
        if np.any(lo == hi):
            k = int(np.argmax(lo == hi))
            raise DomainError(
                f"the domain box has zero width in coordinate {k} (lower = upper = {lo[k]!r}); "
                "injectivity is checked on full-dimensional boxes: give it a positive width "
                "or restrict W to the remaining coordinates."
            )
        return "box", A, c
    A = as_float_array(domain[0], "domain A", ndim=2)
    c = as_float_array(domain[1], "domain c", ndim=1)
    if A.shape[1] != n or c.shape[0] != A.shape[0]:
        raise ShapeError(
            f"a polytope domain (A, c) needs A of shape (k, {n}) and c of shape (k,), got "
            f"{A.shape} and {c.shape}."
        )
    return "polytope", A, c


def _normalise(A, c):
    nrm = np.linalg.norm(A, axis=1)
    nz = nrm > 0
    return A[nz] / nrm[nz, None], c[nz] / nrm[nz], A[~nz], c[~nz]


def _max_slack(A, c, cap, what="cell"):
    """Maximise r s.t. A x + c >= r (unit rows), r <= cap. -> (x, r) or (None, -inf)."""
    from scipy.optimize import linprog

    k, n = A.shape
    cost = np.zeros(n + 1)
    cost[-1] = -1.0
    bounds = [(None, None)] * n + [(None, cap)]
    if k == 0:
        return np.zeros(n), cap
    res = linprog(cost, A_ub=np.hstack([-A, np.ones((k, 1))]), b_ub=c, bounds=bounds, method="highs")
    if res.status == 2:
        return None, -np.inf
    if res.status != 0:
        raise SolverError(
            f"HiGHS failed on a {what} LP (status {res.status}: {res.message}); rescale W "
            "or the domain.", status=int(res.status))
    return np.asarray(res.x[:n]), float(res.x[n])


@dataclass
class _Cell:
    A: np.ndarray  # unit rows, constraints A x + c >= 0
    c: np.ndarray
    center: np.ndarray
    radius: float
    signs: list  # +1 / -1 per hyperplane processed so far


def _refine(cells, H, h, eps, cap, max_cells):
    """Split open cells by the hyperplanes ``H x + h = 0`` (one at a time).

    Each output cell carries its strict sign for every hyperplane (+1 where
    ``H x + h > 0``).  A zero row is constant: +1 iff ``h >= 0`` (the ``>=``
    convention), and it does not split.  Only pieces with an inscribed ball of
    radius > ``eps`` are kept (thinner slivers are not resolved).
    """
    for j in range(H.shape[0]):
        a = H[j]
        na = np.linalg.norm(a)
        if na == 0:
            s = 1 if h[j] >= 0 else -1
            for cell in cells:
                cell.signs.append(s)
            continue
        a, b = a / na, h[j] / na
        out = []
        for cell in cells:
            val = float(a @ cell.center + b)
            side = 1 if val > 0 else -1
            # is there room on the other side?
            A2 = np.vstack([cell.A, -side * a])
            c2 = np.concatenate([cell.c, [-side * b]])
            x2, r2 = _max_slack(A2, c2, cap)
            if r2 <= eps:  # the hyperplane does not cut this cell
                cell.signs.append(side)
                out.append(cell)
                continue
            if val * side <= eps:  # center (nearly) on the plane: re-centre this side too
                A1 = np.vstack([cell.A, side * a])
                c1 = np.concatenate([cell.c, [side * b]])
                x1, r1 = _max_slack(A1, c1, cap)
                if r1 <= eps:
                    out.append(_Cell(A2, c2, x2, r2, cell.signs + [-side]))
                    continue
            else:
                A1 = np.vstack([cell.A, side * a])
                c1 = np.concatenate([cell.c, [side * b]])
                x1, r1 = _max_slack(A1, c1, cap)
            out.append(_Cell(A1, c1, x1, r1, cell.signs + [side]))
            out.append(_Cell(A2, c2, x2, r2, cell.signs + [-side]))
        cells = out
        if len(cells) > max_cells:
            raise ValidationError(
                f"the arrangement has more than max_cells={max_cells} cells in the domain; "
                "raise max_cells=, shrink the domain, or check on data points instead "
                "(domain=Points(X))."
            )
    return cells


def _initial_cell(A, c, scale, tol):
    An, cn, A0, c0 = _normalise(A, c)
    if np.any(c0 < 0):
        raise DomainError("the polytope domain is empty: a zero row has c < 0; fix (A, c).")
    cap = scale
    x, r = _max_slack(An, cn, cap, "domain")
    eps = tol.lp * scale
    if x is None or r <= eps:
        raise DomainError(
            "the domain is empty or not full-dimensional (its largest inscribed ball has "
            f"radius {max(r, 0.0):.3g}); injectivity is checked on full-dimensional "
            "boxes / polytopes; for points pass an ndarray of shape (k, n)."
        )
    return _Cell(An, cn, x, r, []), eps, cap


# ---------------------------------------------------------------------------
# the verdict
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class InjectivityVerdict:
    """Result of :func:`check_injectivity`.

    Attributes
    ----------
    is_injective : bool
        The verdict (see :func:`check_injectivity` for its exact meaning per domain).
    domain_kind : str
        ``"space"`` (R^n), ``"box"``, ``"polytope"``, ``"points"``, or for deeper
        layers in :func:`check_network_injectivity` ``"regions"``.
    n_pieces : int
        Number of open cells of the arrangement inside the domain, or of points.
    active_sets : (n_pieces, m) bool
        Active set of each cell / point.
    ranks : (n_pieces,) int
        Rank of the active rows (exact when ``exact``).
    interior_points : (n_pieces, n) float
        A point strictly inside each cell (Chebyshev centre), or the points.
    radii : (n_pieces,) float or None
        Inscribed radius of each cell.
    failing : (n_pieces,) bool
        Cells / points whose active rows do not span.
    witness_index : int or None
        A failing cell / point.
    witness_point, colliding_point : (n,) float or None
        Two distinct points with the same output (when not injective).
    collision_verified : bool
        The pair collides exactly: the rational point of which ``colliding_point``
        is the nearest float has exactly the output of ``witness_point``.
    exact : bool
        Active sets and ranks decided in exact arithmetic.
    notes : str
    """

    is_injective: bool
    domain_kind: str
    n_pieces: int
    active_sets: np.ndarray
    ranks: np.ndarray
    interior_points: np.ndarray
    radii: object
    failing: np.ndarray
    witness_index: object = None
    witness_point: object = None
    colliding_point: object = None
    collision_verified: bool = False
    exact: bool = True
    notes: str = ""

    @property
    def witness_active_set(self):
        """Active set of the witness cell / point, or None."""
        return None if self.witness_index is None else self.active_sets[self.witness_index]


def check_injectivity(W, *, alpha=None, bias=None, domain=None, exact=True, max_cells=20_000, tol=None):
    """Exact injectivity verdict of a ReLU layer on a box, a polytope, R^n or data.

    Parameters
    ----------
    W : (m, n) float, ``(net, layer)`` or torch ``nn.Linear``
    alpha, bias : (m,) float or scalar
        The bias, exactly one convention (``ReLU(W x - alpha)`` or
        ``ReLU(W x + bias)``); optional for a PLNet layer / torch Linear.
    domain : None, (lower, upper), (A, c), (k, n) ndarray, Box, Polytope or Points
        ``None``: all of R^n.  ``(lower, upper)`` with scalars or (n,) arrays: a box.
        ``(A, c)`` with ``A`` 2-D: the polytope ``{x : A x + c >= 0}``.  An ndarray
        (or :class:`Points`): a finite data set.
    exact : bool
        Decide active sets and ranks in exact rational arithmetic (default).
    max_cells : int
        Give up (ValidationError) when the arrangement has more cells in the domain.
    tol : Tolerance, optional
        ``tol.lp`` (scaled by the problem size) is the smallest inscribed radius of
        a cell that is resolved; ``tol.rank`` for float ranks.

    Returns
    -------
    InjectivityVerdict

    Raises
    ------
    DomainError
        Empty, inverted or lower-dimensional box / polytope.
    ValidationError, ShapeError, NonFiniteError
        Bad arguments; more than ``max_cells`` cells.
    SolverError
        An LP failed.

    Notes
    -----
    *Boxes, polytopes, R^n (convex, full-dimensional K).*  The hyperplanes
    ``<x, phi_i> = alpha_i`` cut the interior of K into open cells; on an open cell
    every neuron is strictly above or strictly below its threshold, so the active
    set is constant there.  Claim: **C_alpha is injective on K iff every open cell
    has rank W_I = n.**

    * If a cell has rank < n, take ``d != 0`` with ``W_I d = 0`` and ``x`` in the
      (open) cell: for small ``t``, ``x + t d`` stays in the cell, active rows keep
      their values and inactive rows stay below threshold, so ``C(x + t d) = C(x)``.
    * If every cell has rank n, every point ``x`` of K has rank ``W_{I(x)}`` = n:
      ``x`` lies in the closure of some open cell (K is the closure of its
      interior and the hyperplanes have empty interior), and ``I(x)`` contains that
      cell's active set because ``<y, phi_i> >= alpha_i`` on the cell passes to the
      limit (boundary points only *add* active rows, which cannot lower the rank).
      Hence K is alpha-rectifying, and on a convex K that implies injectivity: if
      ``C(x) = C(x')`` with ``d = x' - x != 0``, every point ``z`` strictly inside
      the segment has ``<d, phi_i> = 0`` for all ``i`` in ``I(z)`` (active rows
      agree at both ends, rows at threshold at one end stay at or below it), so
      ``rank W_{I(z)} < n`` at a point ``z`` of K, a contradiction.

    So only the full-dimensional cells need checking; lower-dimensional faces
    cannot fail when all cells pass.  Cells are found by splitting K hyperplane by
    hyperplane with HiGHS LPs that maximise a slack margin (inscribed ball); each
    cell's sign vector is then confirmed at its centre exactly.  Cells thinner than
    ``tol.lp * scale`` are not resolved (a float limitation; a "not injective"
    verdict is always backed by an exactly verified collision).  Cost: about one LP
    per (cell, hyperplane) pair; the number of cells is at most
    ``sum_{i <= n} C(m, i)``.

    *Data points.*  For each point ``x`` the verdict is whether ``x`` is the only
    preimage of ``C(x)`` in R^n (so the layer loses no information at the data,
    and in particular distinct data points have distinct outputs).  If the active
    rows ``I(x)`` (paper convention ``>=``) have rank < n, a kernel direction gives
    a second preimage (a collision, exactly verified).  If they span, but the
    strictly positive rows do not (``x`` exactly on a threshold), the point is
    still the unique preimage unless some ``d != 0`` keeps the positive rows and
    moves the threshold rows down; this rare case is decided by one LP.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[1.0], [-1.0]])                  # C(x) = (ReLU(x), ReLU(-x - 1))
    >>> check_injectivity(W, alpha=[0.0, 1.0], domain=(0.0, 2.0)).is_injective
    True
    >>> v = check_injectivity(W, alpha=[0.0, 1.0], domain=(-2.0, 2.0))
    >>> v.is_injective, v.n_pieces, sorted(v.ranks.tolist())
    (False, 3, [0, 1, 1])
    >>> v.witness_point.tolist(), v.colliding_point.tolist(), v.collision_verified
    ([-0.5], [-0.25], True)

    A PLNet layer brings its own bias (``W x + b``):

    >>> from polyfold import zoo
    >>> net = zoo.arrangement(12, 2, seed=0)
    >>> v = check_injectivity((net, 0), domain=([-1, -1], [1, 1]))
    >>> v.is_injective, v.n_pieces                      # 37 cells meet the square
    (True, 37)
    """
    tol = get_tol(tol)
    Wm, a = _resolve(W, alpha, bias)
    m, n = Wm.shape
    max_cells = check_positive_int(max_cells, "max_cells")
    kind, A, c = _parse_domain(domain, n)
    if kind == "points":
        return _check_points(Wm, a, A, exact, tol)
    return _convex_verdict(Wm, a, kind, A, c, exact, max_cells, tol)[0]


def _convex_verdict(Wm, a, kind, A, c, exact, max_cells, tol):
    """Cell test on a convex full-dimensional domain: (verdict, cells, eps, cap)."""
    m, n = Wm.shape
    norms = np.linalg.norm(Wm, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        offs = np.where(norms > 0, np.abs(a) / np.where(norms > 0, norms, 1.0), 0.0)
    scale = max(1.0, float(offs.max(initial=0.0)), float(np.abs(c).max(initial=0.0)))
    cell0, eps, cap = _initial_cell(A, c, scale, tol)
    cells = _refine([cell0], Wm, -a, eps, cap, max_cells)
    centers = np.array([cl.center for cl in cells])
    radii = np.array([cl.radius for cl in cells])
    signs = _preact_signs(Wm, a, centers, exact=exact, tol=tol)
    claimed = np.array([cl.signs for cl in cells], dtype=np.int8).reshape(len(cells), m)
    zero_rows = norms == 0
    mismatch = np.any((signs != claimed) & ~zero_rows[None, :], axis=1)
    active = signs >= 0
    ranks = _RankCache(Wm, exact=exact, tol=tol).ranks(active)
    failing = ranks < n
    notes = (
        f"{len(cells)} open cells of the layer's arrangement in the {kind}; "
        "injective iff every cell's active rows span (boundary points only add rows)."
    )
    if np.any(mismatch):
        notes += (f" {int(mismatch.sum())} cell centres lie within rounding of a hyperplane; "
                  "their active sets were recomputed exactly at the centre.")
    w = wp = cp_ = None
    verified = False
    if np.any(failing):
        cand = np.flatnonzero(failing)
        w = int(cand[np.argmax(radii[cand])])
        wp = centers[w].copy()
        cp_, verified = _collision_pair(Wm, a, wp, active[w], 0.5 * radii[w])
    return InjectivityVerdict(
        is_injective=not bool(np.any(failing)),
        domain_kind=kind,
        n_pieces=len(cells),
        active_sets=_readonly(active),
        ranks=_readonly(ranks),
        interior_points=_readonly(centers),
        radii=_readonly(radii),
        failing=_readonly(failing),
        witness_index=w,
        witness_point=_readonly(wp),
        colliding_point=_readonly(cp_),
        collision_verified=verified,
        exact=bool(exact),
        notes=notes,
    ), cells, eps, cap


def _fiber_direction(Wpos, Wzero, tol):
    """A direction d != 0 with Wpos d = 0, Wzero d <= 0 (or None): one LP."""
    from scipy.optimize import linprog

    n = Wpos.shape[1] if Wpos.size else Wzero.shape[1]
    # W_zero d <= 0, sum_i <d, phi_i> over zero rows = -1, W_pos d = 0, |d|_inf <= 1
    A_eq = np.vstack([Wpos, Wzero.sum(axis=0, keepdims=True)]) if Wpos.size else Wzero.sum(axis=0, keepdims=True)
    b_eq = np.concatenate([np.zeros(A_eq.shape[0] - 1), [-1.0]])
    res = linprog(np.zeros(n), A_ub=Wzero, b_ub=np.zeros(Wzero.shape[0]), A_eq=A_eq, b_eq=b_eq,
                  bounds=[(None, None)] * n, method="highs")
    if res.status == 0:
        return np.asarray(res.x)
    return None


def _check_points(W, a, X, exact, tol):
    m, n = W.shape
    s = _preact_signs(W, a, X, exact=exact, tol=tol)
    active = s >= 0
    rc = _RankCache(W, exact=exact, tol=tol)
    ranks = rc.ranks(active)
    failing = ranks < n
    # boundary points (some neuron exactly at threshold) whose positive rows do not span
    boundary = np.flatnonzero(~failing & np.any(s == 0, axis=1))
    fiber = {}
    for k in boundary:
        pos = s[k] > 0
        if rc.rank(pos) == n:
            continue
        d = _fiber_direction(W[pos], W[s[k] == 0], tol)
        if d is not None:
            failing[k] = True
            fiber[int(k)] = d
    w = wp = cp_ = None
    verified = False
    if np.any(failing):
        w = int(np.flatnonzero(failing)[0])
        wp = X[w].copy()
        Z = W @ wp - a
        below = Z[s[w] < 0]
        if w in fiber:
            d = fiber[w]
            gap = float(np.min(-below)) if below.size else 1.0
            grow = np.abs(W[s[w] < 0] @ d).max(initial=0.0)
            t = 0.5 * gap / grow if grow > 0 else 1.0
            cp_ = wp + t * d
            yo = np.maximum(W @ wp - a, 0)
            yc = np.maximum(W @ cp_ - a, 0)
            verified = bool(np.allclose(yo, yc, rtol=0, atol=tol.lp * (1 + np.abs(yo).max())))
        else:
            # step: stay strictly below for rows below threshold
            rows = W[s[w] < 0]
            nrm = np.linalg.norm(rows, axis=1)
            gap = float(np.min(-below / nrm)) if below.size else 1.0
            cp_, verified = _collision_pair(W, a, wp, active[w], 0.5 * gap)
    notes = (
        f"{len(X)} data points; a point passes when it is the only preimage of its "
        "output in R^n (its active rows span, or, on a threshold, no direction keeps the "
        "positive rows and lowers the threshold rows)."
    )
    return InjectivityVerdict(
        is_injective=not bool(np.any(failing)),
        domain_kind="points",
        n_pieces=len(X),
        active_sets=_readonly(active),
        ranks=_readonly(ranks),
        interior_points=_readonly(X),
        radii=None,
        failing=_readonly(failing),
        witness_index=w,
        witness_point=_readonly(wp),
        colliding_point=_readonly(cp_),
        collision_verified=verified,
        exact=bool(exact),
        notes=notes,
    )


# ---------------------------------------------------------------------------
# network level
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class NetworkInjectivityVerdict:
    """Result of :func:`check_network_injectivity`.

    Attributes
    ----------
    is_injective : bool or None
        True: certified (see ``scope``); False: two distinct inputs (or, for data,
        two preimages) with the same hidden representation were found; None:
        undetermined (data mode, failure in a deeper layer).
    layers : tuple of InjectivityVerdict
        One verdict per checked hidden layer (the check stops at the first failure).
    first_failing_layer : int or None
    domain_kind : str
    scope : str
        What was checked and what the verdict guarantees.
    """

    is_injective: object
    layers: tuple
    first_failing_layer: object
    domain_kind: str
    scope: str


@dataclass
class _Region:
    cell: _Cell
    M: np.ndarray  # h(x) = M x + v on the region (float)
    v: np.ndarray
    Mq: object  # exact Jacobian rows of the active neurons (flint fmpq_mat)
    on: np.ndarray  # active neurons of the last layer


def _fmpq_mat(M):
    import flint

    M = np.asarray(M, dtype=np.float64)
    return flint.fmpq_mat(M.shape[0], M.shape[1], [arith.to_fmpq(v) for v in M.ravel().tolist()])


def _select_rows(Q, rows):
    import flint

    n = Q.ncols()
    return flint.fmpq_mat(len(rows), n, [Q[i, j] for i in rows for j in range(n)])


def _fmpq_null_vector(Q):
    """Exact nonzero null vector of a flint fmpq_mat with rank < ncols (list of fmpq)."""
    n = Q.ncols()
    if Q.nrows() == 0:
        return [arith.ONE] + [arith.ZERO] * (n - 1)
    num, _den = Q.numer_denom()
    basis, nullity = num.nullspace()
    return _scaled([int(basis[j, 0]) for j in range(n)])


def _hidden_exact(net, layer, xq):
    """Exact hidden output of ``layer`` at a rational point (list of fmpq)."""
    pts = np.empty((1, len(xq)), dtype=object)
    pts[0, :] = xq
    zs = net.forward_exact(pts)
    return [v for v in net.activations[layer].apply(zs[layer])[0].tolist()]


def check_network_injectivity(net, *, domain, exact=True, max_cells=20_000, max_pairs=200_000, tol=None):
    """Injectivity of a ReLU network's hidden layers, layer by layer.

    Parameters
    ----------
    net : PLNet
        All hidden activations must be ReLU.
    domain : (lower, upper), (A, c), Box, Polytope, (k, n) ndarray or Points
        A full-dimensional box / polytope in input space (small input dimension), or
        data points (any size).
    exact : bool
        Exact active sets and ranks.
    max_cells : int
        Limit on the number of regions per layer.
    max_pairs : int
        Limit on the number of region pairs tested for global collisions.
    tol : Tolerance, optional

    Returns
    -------
    NetworkInjectivityVerdict

    Raises
    ------
    UnsupportedLayerError
        A hidden activation that is not ReLU.
    DomainError
        Bad domain; R^n (``domain=None``) for a net with more than one hidden layer.
    ValidationError
        More than ``max_cells`` regions or ``max_pairs`` pairs.

    Notes
    -----
    Write ``h_l`` for the representation after hidden layer ``l``; ``h_l``
    injective on K implies ``h_{l-1}`` injective on K, so the check stops at the
    first failing layer.

    *Box / polytope (exact structure, small input dimension).*  Layer 0 is
    decided exactly by :func:`check_injectivity`.  For a deeper layer ``l`` the
    regions of ``h_{l-1}`` inside K (where ``h_{l-1}(x) = M_R x + v_R``) are split
    by the pulled-back hyperplanes of layer ``l``; on each open region the map
    ``h_l`` is affine with matrix ``D_I W_l M_R``.  (i) *Local:* if its exact rank
    is < n on some region, ``h_l`` is not injective there (collision exactly
    verified).  (ii) *Global:* otherwise each piece is injective and a collision
    must join two different regions R, R': for each pair whose images can meet
    (interval pruning along random projections), one LP in ``(x, x')`` over
    ``cl R x cl R'`` with ``M_R x + v_R = M_R' x' + v_R'`` maximises and minimises
    ``<g, x - x'>`` for a random ``g``; a nonzero optimum is a collision (float
    LP, checked by a forward pass).  Both steps together decide injectivity of
    ``h_l`` on K up to the LP tolerance.  This is the image of the previous layer's
    domain, handled as the union of the polytopes ``h_{l-1}(cl R)``.

    *Data points (any size).*  The points are pushed through the net in float64
    and each layer is checked on its input points as in :func:`check_injectivity`:
    a pass at every layer means every data point is the unique preimage of its
    representation at every layer, hence of ``h_L`` in input space (certified).
    A failure at layer 0 is an input collision; a failure at a deeper layer means
    the layer loses information on its input space R^{m_{l-1}}, but the other
    preimage may lie outside the image of the earlier layers, so the network
    verdict is then ``None`` (undetermined).

    Examples
    --------
    >>> from polyfold import zoo
    >>> v = check_network_injectivity(zoo.sawtooth(2), domain=(0.0, 1.0))
    >>> v.is_injective, v.first_failing_layer        # the tent map folds [0, 1]
    (False, 1)
    >>> x, x2 = v.layers[1].witness_point, v.layers[1].colliding_point
    >>> bool(abs(x[0] + x2[0] - 1.0) < 1e-9)         # T(x) = T(1 - x)
    True
    """
    tol = get_tol(tol)
    if not isinstance(net, PLNet):
        raise ValidationError(f"net must be a polyfold.PLNet, got {type(net).__name__}.")
    for l, act in enumerate(net.activations):
        if not isinstance(act, ReLU):
            raise UnsupportedLayerError(
                f"hidden layer {l} uses {act.name!r}; check_network_injectivity handles ReLU nets only."
            )
    max_cells = check_positive_int(max_cells, "max_cells")
    max_pairs = check_positive_int(max_pairs, "max_pairs")
    n = net.input_dim
    kind, A, c = _parse_domain(domain, n)
    if kind == "points":
        return _network_points(net, A, exact, tol)
    if kind == "space" and net.depth > 1:
        raise DomainError(
            "check_network_injectivity needs a bounded domain for nets with more than one "
            "hidden layer (the global collision LPs must be bounded); pass a box "
            "domain=(lower, upper)."
        )
    import flint

    verdicts = []
    W0, a0 = layer_weights(net, 0)
    v0, cells0, eps, cap = _convex_verdict(W0, a0, kind, A, c, exact, max_cells, tol)
    verdicts.append(v0)
    scope = (
        "exact region structure in the input domain: layer 0 by the cell test; deeper "
        "layers by exact local ranks plus pairwise collision LPs between regions"
    )
    if not v0.is_injective or net.depth == 1:
        return NetworkInjectivityVerdict(
            is_injective=v0.is_injective, layers=tuple(verdicts),
            first_failing_layer=None if v0.is_injective else 0, domain_kind=kind, scope=scope)
    # layer-0 regions with their affine maps h_0(x) = M x + v
    W0q = _fmpq_mat(W0)
    regions = []
    for cl, act in zip(cells0, v0.active_sets):
        cl.signs = np.where(act, 1, -1).tolist()
        on = np.flatnonzero(act)
        D = np.zeros_like(W0)
        D[on] = W0[on]
        regions.append(_Region(cl, D, np.where(act, -a0, 0.0), _select_rows(W0q, on), on))
    for l in range(1, net.depth):
        Wl, al = layer_weights(net, l)
        Wlq = _fmpq_mat(Wl)
        new = []
        for R in regions:
            H = Wl @ R.M
            h = Wl @ R.v - al
            base = _Cell(R.cell.A, R.cell.c, R.cell.center, R.cell.radius, [])
            for cl in _refine([base], H, h, eps, cap, max_cells):
                sg = np.array(cl.signs)
                on = np.flatnonzero(sg > 0)
                D = np.zeros_like(Wl)
                D[on] = Wl[on]
                M = D @ R.M
                v = np.where(sg > 0, Wl @ R.v - al, 0.0)
                # exact composite: rows `on` of W_l times the previous (active rows of) M
                Wcols = flint.fmpq_mat(len(on), len(R.on),
                                       [Wlq[i, j] for i in on.tolist() for j in R.on.tolist()])
                Mq = Wcols * R.Mq if len(on) and len(R.on) else flint.fmpq_mat(len(on), n)
                new.append(_Region(cl, M, v, Mq, on))
            if len(new) > max_cells:
                raise ValidationError(
                    f"layer {l} has more than max_cells={max_cells} regions in the domain; "
                    "raise max_cells= or check on data points (domain=Points(X))."
                )
        regions = new
        verdict = _deep_layer_verdict(net, l, regions, eps, max_pairs, exact, tol)
        verdicts.append(verdict)
        if not verdict.is_injective:
            return NetworkInjectivityVerdict(
                is_injective=False, layers=tuple(verdicts), first_failing_layer=l,
                domain_kind=kind, scope=scope)
    return NetworkInjectivityVerdict(
        is_injective=True, layers=tuple(verdicts), first_failing_layer=None,
        domain_kind=kind, scope=scope)


def _deep_layer_verdict(net, l, regions, eps, max_pairs, exact, tol):
    n = net.input_dim
    k = len(regions)
    m = net.widths[l]
    active = np.zeros((k, m), bool)
    ranks = np.zeros(k, np.int64)
    for i, R in enumerate(regions):
        active[i, R.on] = True
        if exact:
            ranks[i] = int(R.Mq.rank()) if R.Mq.nrows() else 0
        else:
            sv = np.linalg.svd(R.M, compute_uv=False)
            ranks[i] = int(np.sum(sv > tol.rank * max(sv[0], 1e-300))) if sv.size else 0
    centers = np.array([R.cell.center for R in regions])
    radii = np.array([R.cell.radius for R in regions])
    failing = ranks < n
    w = wp = cp_ = None
    verified = False
    notes = f"{k} regions of h_{l} in the domain; "
    if exact:  # confirm each region's layer-l pattern at its centre in rationals
        zs = net.forward_exact(centers)
        pat = np.asarray(zs[l] >= 0, dtype=bool)
        bad = int(np.sum(np.any(pat != active, axis=1)))
        if bad:
            notes += (f"{bad} region centres lie within rounding of a hyperplane (their float "
                      "patterns were kept); ")
    if np.any(failing):
        cand = np.flatnonzero(failing)
        w = int(cand[np.argmax(radii[cand])])
        R = regions[w]
        d = _fmpq_null_vector(R.Mq) if R.Mq.nrows() else [arith.ONE] + [arith.ZERO] * (n - 1)
        dn = math.sqrt(sum(float(x) ** 2 for x in d))
        t = arith.to_fmpq(0.5 * R.cell.radius / dn)
        xq = [arith.to_fmpq(v) for v in R.cell.center.tolist()]
        x2 = [a + t * b for a, b in zip(xq, d)]
        verified = _hidden_exact(net, l, xq) == _hidden_exact(net, l, x2)
        wp = R.cell.center.copy()
        cp_ = np.array([float(v) for v in x2])
        notes += "a region where h_%d has rank < n (local collision, exactly verified)." % l
        ok = False
    else:
        pair = _pairwise_collision(regions, eps, max_pairs, tol)
        ok = pair is None
        if ok:
            notes += "every region maps injectively and no two regions' images collide (pairwise LPs)."
        else:
            i, j, wp, cp_ = pair
            w = i
            h1 = _hidden_float(net, l, wp)
            h2 = _hidden_float(net, l, cp_)
            verified = False
            notes += (f"regions {i} and {j} map distinct points to the same h_{l} (LP collision; "
                      f"float check |h(x) - h(x')| = {np.abs(h1 - h2).max():.2e}).")
            failing = failing.copy()
            failing[i] = failing[j] = True
    return InjectivityVerdict(
        is_injective=ok, domain_kind="regions", n_pieces=k, active_sets=_readonly(active),
        ranks=_readonly(ranks), interior_points=_readonly(centers), radii=_readonly(radii),
        failing=_readonly(failing), witness_index=w, witness_point=_readonly(wp),
        colliding_point=_readonly(cp_), collision_verified=bool(verified), exact=bool(exact),
        notes=notes)


def _hidden_float(net, l, x):
    zs = net.preactivations(np.asarray(x, dtype=np.float64).reshape(1, -1))
    return np.maximum(zs[l][0], 0.0)


def _image_interval(R, g, tol):
    """min and max of <g, M x + v> over the closed region."""
    from scipy.optimize import linprog

    cost = R.M.T @ g
    off = float(g @ R.v)
    out = []
    for sgn in (1.0, -1.0):
        res = linprog(sgn * cost, A_ub=-R.cell.A, b_ub=R.cell.c, bounds=[(None, None)] * len(cost),
                      method="highs")
        if res.status != 0:
            raise SolverError(f"HiGHS failed on an image-interval LP (status {res.status}).",
                              status=int(res.status))
        out.append(sgn * float(res.fun) + off)
    return out[0], out[1]


def _pairwise_collision(regions, eps, max_pairs, tol):
    from scipy.optimize import linprog

    k = len(regions)
    if k < 2:
        return None
    n = regions[0].M.shape[1]
    p = regions[0].M.shape[0]
    rng = np.random.default_rng(0)
    G = rng.standard_normal((3, p))
    lo = np.zeros((k, 3))
    hi = np.zeros((k, 3))
    for i, R in enumerate(regions):
        for q in range(3):
            lo[i, q], hi[i, q] = _image_interval(R, G[q], tol)
    slack = eps * (1 + np.abs(np.concatenate([lo.ravel(), hi.ravel()])).max())
    pairs = []
    for i in range(k):
        overl = np.all((lo[i + 1:] <= hi[i] + slack) & (lo[i] <= hi[i + 1:] + slack), axis=1)
        pairs.extend((i, i + 1 + j) for j in np.flatnonzero(overl))
        if len(pairs) > max_pairs:
            raise ValidationError(
                f"more than max_pairs={max_pairs} region pairs may collide; raise max_pairs= "
                "or check on data points (domain=Points(X))."
            )
    g = rng.standard_normal(n)
    g /= np.linalg.norm(g)
    thr = max(eps, tol.lp) * 10
    for i, j in pairs:
        Ri, Rj = regions[i], regions[j]
        A_ub = np.block([[-Ri.cell.A, np.zeros((len(Ri.cell.c), n))],
                         [np.zeros((len(Rj.cell.c), n)), -Rj.cell.A]])
        b_ub = np.concatenate([Ri.cell.c, Rj.cell.c])
        A_eq = np.hstack([Ri.M, -Rj.M])
        b_eq = Rj.v - Ri.v
        for sgn in (1.0, -1.0):
            cost = -sgn * np.concatenate([g, -g])  # maximise sgn <g, x - x'>
            res = linprog(cost, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq,
                          bounds=[(None, None)] * (2 * n), method="highs")
            if res.status == 2:
                break  # the images do not meet
            if res.status != 0:
                raise SolverError(f"HiGHS failed on a collision LP (status {res.status}).",
                                  status=int(res.status))
            if -res.fun > thr:
                return i, j, np.asarray(res.x[:n]), np.asarray(res.x[n:])
    return None


def _network_points(net, X, exact, tol):
    verdicts = []
    h = X
    result = True
    first = None
    for l in range(net.depth):
        W, a = layer_weights(net, l)
        v = _check_points(W, a, h, exact, tol)
        verdicts.append(v)
        if not v.is_injective:
            first = l
            result = False if l == 0 else None
            break
        h = np.maximum(h @ W.T - a, 0.0)
    scope = (
        "data points pushed through the net in float64; each layer checked on its input "
        "points (unique preimage in R^{m_{l-1}}): a pass certifies that every data point is "
        "the only preimage of its representation; a deeper-layer failure is inconclusive"
    )
    return NetworkInjectivityVerdict(
        is_injective=result, layers=tuple(verdicts), first_failing_layer=first,
        domain_kind="points", scope=scope)


# ---------------------------------------------------------------------------
# bias margin on data
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class BiasMargin:
    """Result of :func:`bias_margin`.

    Attributes
    ----------
    margin : float
        ``min`` over the points of ``per_point``: the largest uniform shift
        ``delta`` (``alpha -> alpha + delta``, i.e. ``b -> b - delta``) for which every
        point keeps an active set of rank ``target_rank``.  Negative: the
        thresholds must come down by ``-margin`` before every point reaches it.
    per_point : (k,) float
        ``max {delta : rank W_{I_delta(x)} = target_rank}`` with
        ``I_delta(x) = {i : <x, phi_i> - alpha_i >= delta}``.
    target_rank : int
        ``n`` by default when ``rank W = n`` (the rectifying condition); otherwise
        ``rank W``.
    n_below : int
        Points already below the target at ``delta = 0`` (``per_point < 0``).
    """

    margin: float
    per_point: np.ndarray
    target_rank: int
    n_below: int


def bias_margin(W, points, *, alpha=None, bias=None, target_rank=None, tol=None):
    """Largest uniform bias shift that keeps every data point's active set spanning.

    Parameters
    ----------
    W : (m, n) float, ``(net, layer)`` or torch ``nn.Linear``
    points : (k, n) float
    alpha, bias : (m,) float or scalar
        The current bias, exactly one convention (optional for a layer object).
    target_rank : int, optional
        Rank the active rows must keep; default ``rank W`` (= n for a layer that
        can be injective).  For ``m < n`` no layer is injective and the default
        asks for all of ``rank W``, i.e. every neuron active.
    tol : Tolerance, optional
        ``tol.rank`` (relative) for the float rank of growing row sets.

    Returns
    -------
    BiasMargin

    Notes
    -----
    For a point ``x`` let ``z_i = <x, phi_i> - alpha_i`` sorted decreasingly and
    ``k`` the smallest count of leading rows whose rank is ``target_rank``; then
    ``delta_x = z_(k)``.  Raising every threshold by ``delta <= delta_x`` keeps the
    leading ``k`` rows active; any ``delta > delta_x`` drops below the target.
    The margin is ``min_x delta_x``.  Float rank (Gram-Schmidt with relative
    cutoff ``tol.rank``).

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    >>> bm = bias_margin(W, [[1.0, 2.0], [3.0, 0.5]], alpha=0)
    >>> bm.per_point.tolist(), bm.margin, bm.target_rank     # second-largest z per point
    ([1.0, 0.5], 0.5, 2)
    """
    tol = get_tol(tol)
    Wm, a = _resolve(W, alpha, bias)
    X, _ = _check_X(points, Wm.shape[1], "points")
    m, n = Wm.shape
    full = int(np.linalg.matrix_rank(Wm))
    if target_rank is None:
        target = full
    else:
        target = check_positive_int(target_rank, "target_rank")
        if target > full:
            raise ValidationError(
                f"target_rank={target} exceeds rank W = {full}; no bias reaches it.")
    Z = X @ Wm.T - a
    order = np.argsort(-Z, axis=1, kind="stable")
    per = np.empty(len(X))
    for p in range(len(X)):
        basis = []
        for i in order[p]:
            r = Wm[i].copy()
            for q in basis:
                r -= (q @ r) * q
            nr = np.linalg.norm(r)
            if nr > tol.rank * max(np.linalg.norm(Wm[i]), 1e-300):
                basis.append(r / nr)
                if len(basis) == target:
                    per[p] = Z[p, i]
                    break
    return BiasMargin(
        margin=float(per.min()) if len(per) else float("nan"),
        per_point=_readonly(per),
        target_rank=target,
        n_below=int(np.sum(per < 0)),
    )


# ---------------------------------------------------------------------------
# reconstruction
# ---------------------------------------------------------------------------
def reconstruct(W, y, *, alpha=None, bias=None, method="dual", max_iter=20_000, tol=None):
    """Recover ``x`` from ``y = ReLU(W x - alpha)``.

    Parameters
    ----------
    W : (m, n) float, ``(net, layer)`` or torch ``nn.Linear``
    y : (k, m) or (m,) float
        Layer outputs (non-negative).
    alpha, bias : (m,) float or scalar
        The bias, exactly one convention (optional for a layer object).
    method : {"dual", "frame_algorithm"}
        ``"dual"``: ``x = W_I^+ (y_I + alpha_I)`` on the active rows (canonical dual
        frame, least squares).  ``"frame_algorithm"``: the iterative ReLU frame
        algorithm of the spec (section 5).
    max_iter : int
        Iteration limit of the frame algorithm (it stops earlier once the update is
        at rounding level).
    tol : Tolerance, optional
        ``tol.rank``: relative singular-value cutoff of the span test.

    Returns
    -------
    (k, n) or (n,) float

    Raises
    ------
    NotInjectiveError
        If the active rows ``{i : y_i > 0}`` of some output do not span R^n.
    ValidationError
        Negative outputs, bad options.
    SolverError
        The frame algorithm did not converge within ``max_iter`` iterations.

    Notes
    -----
    Only the rows with ``y_i > 0`` are known to be active from ``y`` alone (a row
    exactly at its threshold also outputs 0); for them ``y_i + alpha_i = <x, phi_i>``.
    If they span, ``x`` is determined.  The frame algorithm uses
    ``lambda = 2 / (A + B)`` with ``A, B`` the extreme eigenvalues of ``W^T W``,
    starts at 0 and iterates ``x <- x + lambda W_Ia^T (y_Ia + alpha_Ia - W_Ia x) +
    lambda W_Iy^T (alpha_Iy - (W x)_Iy)`` where ``I_y`` are the rows the iterate
    wrongly activates.  It converges linearly at rate ``1 - lambda A_I`` (``A_I``
    the lower frame bound of the active rows).

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
    >>> y = np.maximum(W @ [0.3, 0.2] - (-0.5), 0)
    >>> np.round(reconstruct(W, y, alpha=-0.5), 12).tolist()
    [0.3, 0.2]
    >>> np.round(reconstruct(W, y, alpha=-0.5, method="frame_algorithm"), 10).tolist()
    [0.3, 0.2]
    """
    tol = get_tol(tol)
    Wm, a = _resolve(W, alpha, bias)
    check_choice("method", method, ("dual", "frame_algorithm"))
    max_iter = check_positive_int(max_iter, "max_iter")
    m, n = Wm.shape
    Y = as_float_array(y, "y")
    single = Y.ndim == 1
    if single:
        Y = Y.reshape(1, -1)
    if Y.ndim != 2 or Y.shape[1] != m:
        raise ShapeError(
            f"Expected y of shape (k, {m}) or ({m},) to match W with {m} rows, got {np.shape(y)}."
        )
    if np.any(Y < 0):
        k = tuple(int(i) for i in np.argwhere(Y < 0)[0])
        raise ValidationError(
            f"y must be a ReLU output (>= 0), got y{list(k)} = {Y[k]!r}; pass "
            "ReLU(W x - alpha), not the preactivation."
        )
    act = Y > 0
    rc = _RankCache(Wm, exact=False, tol=tol)
    keys, inverse = np.unique(act, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    for g, mask in enumerate(keys):
        r = rc.rank(mask)
        if r < n:
            p = int(np.flatnonzero(inverse == g)[0])
            raise NotInjectiveError(
                f"cannot reconstruct output {p}: its {int(mask.sum())} active rows "
                f"(y_i > 0) have rank {r} < n = {n}, so other inputs give the same output; "
                "the layer is not injective there (lower alpha / raise the bias, or add rows)."
            )
    X = np.empty((len(Y), n))
    if method == "dual":
        for g, mask in enumerate(keys):
            sel = inverse == g
            rhs = (Y[sel][:, mask] + a[mask]).T
            sol, *_ = np.linalg.lstsq(Wm[mask], rhs, rcond=None)
            X[sel] = sol.T
    else:
        ev = np.linalg.eigvalsh(Wm.T @ Wm)
        lam = 2.0 / (ev[0] + ev[-1])
        x = np.zeros((len(Y), n))
        target = Y + a  # for active rows
        stop = 4 * np.finfo(np.float64).eps
        for _ in range(max_iter):
            Zx = x @ Wm.T
            wrong = (~act) & (Zx >= a)
            R = np.where(act, target - Zx, 0.0) + np.where(wrong, a - Zx, 0.0)
            step = lam * (R @ Wm)
            x = x + step
            if np.all(np.linalg.norm(step, axis=1) <= stop * (1 + np.linalg.norm(x, axis=1))):
                break
        else:
            res = np.abs(np.where(act, x @ Wm.T - target, 0.0)).max(initial=0.0)
            if res > math.sqrt(np.finfo(np.float64).eps) * (1 + np.abs(target).max(initial=0.0)):
                raise SolverError(
                    f"the ReLU frame algorithm did not converge in max_iter={max_iter} "
                    f"iterations (active-row residual {res:.2e}); raise max_iter= or use "
                    "method='dual'.")
        X[:] = x
    return X[0] if single else X
