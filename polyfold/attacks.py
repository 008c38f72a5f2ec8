"""Adversarial endpoints with exact local gradients, and exact decision crossings.

A piecewise-linear network is affine on the linear region of every point:
``logits = V x + u``.  The gradient of the cross-entropy loss with respect to the
input therefore needs no automatic differentiation, only the region's map
(``net.affine_map``)::

    grad_x CE(x, y) = V^T (softmax(V x + u) - onehot(y))

(for a network with one output, whose prediction is ``logit > 0``, the logistic loss
``log(1 + exp(-s z))``, ``s = 2 y - 1``, gives ``V^T (sigmoid(z) - y)``).

* :func:`fgsm` and :func:`pgd` -- the fast gradient (sign) method and projected
  gradient descent in the ``L_inf`` and ``L_2`` norms, batched, seeded, with an
  optional clip box; they return an :class:`AttackResult` that says which points
  changed their prediction and by how much they were moved.
* :func:`decision_crossings` -- the exact points where the predicted class changes
  along segments (a :class:`DecisionCrossings`).  The network is affine on every
  piece of the exact segment partition (:func:`polyfold.segment_crossings`), so the
  class changes where the upper envelope of the logits switches line; this is the
  exact counterpart of a line search along a direction.

Only the network interface shared by every polyfold network is used (``forward``,
``predict``, ``affine_map``, ``forward_exact``, ``input_dim``, ``output_dim`` and
:func:`polyfold.segment_crossings`); dense :class:`~polyfold.PLNet` networks also
get rigorous float error bounds in certified mode.

References
----------
.. [1] I. Goodfellow, J. Shlens, C. Szegedy, "Explaining and Harnessing Adversarial
   Examples", ICLR 2015 (FGSM).
.. [2] A. Madry, A. Makelov, L. Schmidt, D. Tsipras, A. Vladu, "Towards Deep
   Learning Models Resistant to Adversarial Attacks", ICLR 2018 (PGD).
"""

import numbers
from dataclasses import dataclass, field

import numpy as np

from . import arith
from ._validation import check_mode, check_positive_int, check_seed, net_points, net_segments
from .exceptions import DomainError, NonFiniteError, ShapeError, ValidationError
from .crossings import _PerSegment
from .network import PLNet, check_net
from .tolerance import UNIT_ROUNDOFF, get_tol

__all__ = ["AttackResult", "fgsm", "pgd", "DecisionCrossings", "decision_crossings"]


# ---------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------
def _check_norm(norm):
    """``"inf"`` or ``2`` from the accepted spellings ("inf", np.inf, 2, "2")."""
    if isinstance(norm, str):
        if norm.lower() in ("inf", "linf"):
            return "inf"
        if norm.lower() in ("2", "l2"):
            return 2
    elif isinstance(norm, numbers.Real) and not isinstance(norm, bool):
        if norm == np.inf:
            return "inf"
        if norm == 2:
            return 2
    raise ValidationError(
        f"norm must be 'inf' (L_inf, also np.inf) or 2 (L_2), got {norm!r}."
    )


def _check_eps(eps, name="eps"):
    if isinstance(eps, bool) or not isinstance(eps, numbers.Real) or not np.isfinite(eps) or eps < 0:
        raise ValidationError(
            f"{name} must be a finite number >= 0 (the radius of the perturbation ball), "
            f"got {eps!r}."
        )
    return float(eps)


def _check_labels(y, n, n_classes):
    arr = np.asarray(y)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.shape != (n,):
        raise ShapeError(f"y must hold one label per point, shape ({n},), got {arr.shape}.")
    if arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)):
        if n and (arr.min() < 0 or arr.max() >= n_classes):
            # (checked before the cast: a label beyond int64 would wrap around)
            raise ValidationError(
                f"y must hold class labels 0..{n_classes - 1} (the index of the logit; for a "
                f"network with one output 0 or 1), got values in [{arr.min():g}, {arr.max():g}]."
            )
        arr = arr.astype(np.int64)
    if arr.dtype.kind not in "iu":
        raise ValidationError(
            f"y must hold integer class labels 0..{n_classes - 1}, got dtype {arr.dtype}."
        )
    if n and (arr.min() < 0 or arr.max() >= n_classes):
        raise ValidationError(
            f"y must hold class labels 0..{n_classes - 1} (the index of the logit; for a "
            f"network with one output 0 or 1), got values in [{int(arr.min())}, "
            f"{int(arr.max())}]."
        )
    return arr.astype(np.int64)


def _check_clip(clip, X):
    """``None`` or ``(lo (d,), hi (d,))`` float arrays; ``X`` must lie in the box."""
    if clip is None:
        return None
    try:
        lo, hi = clip
    except (TypeError, ValueError) as err:
        raise ValidationError(
            f"clip must be None or a pair (lo, hi) of numbers or (d,) arrays, got {clip!r}."
        ) from err
    from ._validation import as_float_array

    d = X.shape[1]
    bounds = []
    for name, v in (("clip lo", lo), ("clip hi", hi)):
        v = as_float_array(v, name)
        if v.shape not in ((), (1,), (d,)):
            raise ShapeError(
                f"{name} must be a number or an array of shape ({d},) (one bound per input "
                f"coordinate), got shape {v.shape}."
            )
        bounds.append(np.broadcast_to(v.reshape(-1) if v.ndim else v, (d,)).copy())
    lo, hi = bounds
    if np.any(lo > hi):
        raise DomainError(f"clip box is empty: some lo > hi (lo={lo.min()}, hi={hi.max()}); pass lo <= hi.")
    outside = np.any((X < lo) | (X > hi), axis=1)
    if outside.any():
        raise DomainError(
            f"{int(outside.sum())} point(s) of X lie outside the clip box (first: row "
            f"{int(np.argmax(outside))}); clip them first with np.clip(X, lo, hi)."
        )
    return lo, hi


def _check_reach(X, eps, step_size=0.0):
    """DomainError unless ``|X| + eps + step_size`` stays within float64: every iterate
    and step (coordinates of steepest directions are at most 1 in size) is then finite."""
    top = float(np.abs(X).max()) if X.size else 0.0
    with np.errstate(over="ignore"):
        reach = top + eps + step_size
    if not np.isfinite(reach):
        what = f"eps={eps:g}" if step_size == 0.0 else f"eps={eps:g} with step_size={step_size:g}"
        fix = "eps" if step_size == 0.0 else "eps or step_size"
        raise DomainError(
            f"{what} moves points of X (largest coordinate {top:g}) beyond float64 (about "
            f"1.8e308); pass a smaller {fix}."
        )


def _check_inputs(net, X, y):
    check_net(net)
    X, _ = net_points(net, X, "X")
    n_classes = max(net.output_dim, 2)
    y = _check_labels(y, len(X), n_classes)
    return X, y


# ---------------------------------------------------------------------------
# the gradient: one helper for every attack
# ---------------------------------------------------------------------------
def _logits_and_loss(net, X, y, name=None):
    """Logits ``(n, C)`` and the per-point loss of :func:`_input_gradients`.

    ``name``: the points' name; then a loss beyond float64 (logits further apart than
    about 1.8e308) raises NonFiniteError instead of coming back as infinity."""
    z = np.atleast_2d(net.forward(X)).reshape(len(X), net.output_dim)
    with np.errstate(over="ignore", invalid="ignore"):  # (checked below)
        if net.output_dim == 1:
            s = np.where(y == 1, 1.0, -1.0)
            loss = np.logaddexp(0.0, -s * z[:, 0])
        else:
            zmax = z.max(axis=1, keepdims=True)
            lse = zmax[:, 0] + np.log(np.exp(z - zmax).sum(axis=1))
            loss = lse - z[np.arange(len(z)), y]
    if name is not None and not np.all(np.isfinite(loss)):
        bad = int(np.argmax(~np.isfinite(loss)))
        raise NonFiniteError(
            f"the cross-entropy loss of {name} overflows float64 (first at row {bad}): the "
            f"network's logits there are further apart than about 1.8e308; scale the inputs "
            f"(or eps) down."
        )
    return z, loss


def _input_gradients(net, X, y):
    """Gradient of the cross-entropy loss with respect to the input, ``(n, d)``.

    From the exact local affine map ``logits = V x + u`` of the region whose codes
    each point has (on a boundary ``z == 0`` counts as inactive, so the map is the one
    of the region on the inactive side): ``V^T (softmax(z) - onehot(y))``; one
    output: ``V^T (sigmoid(z) - y)``.  Dense nets form ``V`` (``net.affine_map``);
    graph nets take one vector-Jacobian product ``r^T V`` per point
    (``net.vjp_fixed``) instead of ``output_dim`` of them.
    """
    n, d = X.shape
    z, _ = _logits_and_loss(net, X, y)
    if net.output_dim == 1:
        with np.errstate(over="ignore"):  # (exp(-z) = inf: sigmoid 0)
            r = 1.0 / (1.0 + np.exp(-z))
        r[:, 0] -= y
    else:
        with np.errstate(over="ignore"):  # (z - max = -inf: weight 0)
            r = np.exp(z - z.max(axis=1, keepdims=True))
        r /= r.sum(axis=1, keepdims=True)
        r[np.arange(n), y] -= 1.0
    if hasattr(net, "vjp_fixed"):
        return np.asarray(net.vjp_fixed(r, net.codes(X))).reshape(n, d)
    V, _ = net.affine_map(X)
    V = np.asarray(V).reshape(n, net.output_dim, d)
    return np.einsum("nc,ncd->nd", r, V)


def _l2(D):
    """(n,) Euclidean norms of the rows of ``D`` without overflow or underflow of the
    squares (rows are scaled by a power of two near their largest entry first)."""
    if not D.shape[1]:
        return np.zeros(len(D))
    m = np.abs(D).max(axis=1)
    _, ex = np.frexp(m)
    scale = np.ldexp(1.0, -ex)[:, None]  # exact: a power of two
    return np.ldexp(np.linalg.norm(D * scale, axis=1), ex)


def _steepest(g, norm):
    """Steepest-ascent direction of unit norm: ``sign(g)`` (inf) or ``g / |g|_2``."""
    if norm == "inf":
        return np.sign(g)
    nrm = _l2(g)[:, None]
    return np.divide(g, nrm, out=np.zeros_like(g), where=nrm > 0)


def _norms(D, norm):
    if norm == "inf":
        return np.abs(D).max(axis=1) if D.shape[1] else np.zeros(len(D))
    return _l2(D)


def _project(X, A, eps, norm, box):
    """Project ``A`` onto the ``eps`` ball around ``X`` and the clip box.

    The ball first, then the box: the box is convex and holds ``X``, so clipping
    never moves a point farther from ``X``.  Rounding is accounted for: on return
    ``_norms(A - X) <= eps`` and ``lo <= A <= hi`` hold as computed in float64 (a
    coordinate that would exceed the radius by rounding is moved towards ``X``).
    """
    D = A - X
    if norm == "inf":
        A = X + np.clip(D, -eps, eps)
    else:
        n = _l2(D)[:, None]
        scale = np.minimum(1.0, np.divide(eps, n, out=np.ones_like(n), where=n > 0))
        A = X + D * scale
    shrink = 1.0
    for _ in range(64):
        if box is not None:
            A = np.clip(A, box[0], box[1])
        D = A - X
        if norm == "inf":
            bad = np.abs(D) > eps
            if not bad.any():
                return A
            A[bad] = np.nextafter(A[bad], X[bad])
        else:
            n = _l2(D)
            bad = n > eps
            if not bad.any():
                return A
            shrink *= 1.0 - 8 * UNIT_ROUNDOFF * max(X.shape[1], 1)
            A[bad] = X[bad] + D[bad] * (eps / n[bad] * shrink)[:, None]
    return X.copy()  # pragma: no cover - rounding never needs 64 rounds


def _random_start(rng, X, eps, norm):
    n, d = X.shape
    if norm == "inf":
        # (eps * U(-1, 1), not U(-eps, eps): the width 2 eps may overflow)
        return X + eps * rng.uniform(-1.0, 1.0, size=(n, d))
    g = rng.standard_normal((n, d))
    g /= np.maximum(_l2(g)[:, None], np.finfo(float).tiny)
    r = eps * rng.random(n) ** (1.0 / max(d, 1))
    return X + g * r[:, None]


# ---------------------------------------------------------------------------
# attack results
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class AttackResult:
    """Adversarial copies of a batch of points.

    Attributes
    ----------
    method : str
        ``"fgsm"`` or ``"pgd"``.
    X : (n, d) float
        The clean points.
    X_adv : (n, d) float
        The perturbed points.
    y : (n,) int64
        The labels the loss was computed against.
    eps : float
        Radius of the perturbation ball.
    norm : "inf" or 2
        Norm of the ball (and of ``perturbation_norm``).
    pred_clean, pred_adv : (n,) int64
        ``net.predict`` of the clean and the perturbed points.
    flipped : (n,) bool
        The prediction changed (``pred_adv != pred_clean``).
    perturbation_norm : (n,) float
        ``||X_adv - X||`` in ``norm`` (never above ``eps``, as computed in float64).
    loss_clean, loss_adv : (n,) float
        Cross-entropy (logistic loss for one output) before and after.
    steps : int
        Gradient steps taken (1 for FGSM).
    step_size : float
    clip : tuple or None
        ``(lo, hi)`` arrays of the clip box.
    """

    method: str
    X: np.ndarray = field(repr=False)
    X_adv: np.ndarray = field(repr=False)
    y: np.ndarray = field(repr=False)
    eps: float
    norm: object
    pred_clean: np.ndarray = field(repr=False)
    pred_adv: np.ndarray = field(repr=False)
    flipped: np.ndarray = field(repr=False)
    perturbation_norm: np.ndarray = field(repr=False)
    loss_clean: np.ndarray = field(repr=False)
    loss_adv: np.ndarray = field(repr=False)
    steps: int = 1
    step_size: float = 0.0
    clip: object = field(default=None, repr=False)

    @property
    def n_points(self):
        return len(self.X)

    @property
    def delta(self):
        """(n, d) perturbation ``X_adv - X``."""
        return self.X_adv - self.X

    @property
    def misclassified(self):
        """(n,) bool: ``pred_adv != y``."""
        return self.pred_adv != self.y

    @property
    def flip_rate(self):
        """Share of points whose prediction changed."""
        return float(np.mean(self.flipped)) if self.n_points else 0.0

    @property
    def clean_accuracy(self):
        return float(np.mean(self.pred_clean == self.y)) if self.n_points else 0.0

    @property
    def adversarial_accuracy(self):
        return float(np.mean(self.pred_adv == self.y)) if self.n_points else 0.0

    def as_dict(self):
        """Summary as a plain dict (no arrays)."""
        pn = self.perturbation_norm
        return {
            "method": self.method,
            "eps": self.eps,
            "norm": self.norm,
            "steps": self.steps,
            "step_size": self.step_size,
            "n_points": self.n_points,
            "flip_rate": self.flip_rate,
            "clean_accuracy": self.clean_accuracy,
            "adversarial_accuracy": self.adversarial_accuracy,
            "perturbation_norm_mean": float(pn.mean()) if len(pn) else 0.0,
            "perturbation_norm_max": float(pn.max()) if len(pn) else 0.0,
            "perturbation_norm_flipped_mean": float(pn[self.flipped].mean()) if self.flipped.any() else None,
        }

    def __len__(self):
        return self.n_points


def _result(method, net, X, y, A, eps, norm, steps, step_size, box):
    if len(X) == 0:  # no points: the network is not run
        loss0 = loss1 = np.zeros(0)
        p0 = p1 = np.zeros(0, np.int64)
    else:
        _, loss0 = _logits_and_loss(net, X, y, "X")
        _, loss1 = _logits_and_loss(net, A, y, f"the adversarial points (eps={eps:g})")
        p0 = np.asarray(net.predict(X)).astype(np.int64).reshape(len(X))
        p1 = np.asarray(net.predict(A)).astype(np.int64).reshape(len(X))
    return AttackResult(
        method=method, X=X, X_adv=A, y=y, eps=eps, norm=norm, pred_clean=p0, pred_adv=p1,
        flipped=p0 != p1, perturbation_norm=_norms(A - X, norm), loss_clean=loss0,
        loss_adv=loss1, steps=steps, step_size=step_size, clip=box,
    )


def fgsm(net, X, y, eps, *, norm="inf", clip=None):
    """Fast gradient method: one step of size ``eps`` up the loss gradient.

    ``X_adv = X + eps * sign(grad)`` for ``norm="inf"`` (FGSM) and
    ``X + eps * grad / ||grad||_2`` for ``norm=2`` (the fast gradient method in
    ``L_2``), then clipped to the box.

    Parameters
    ----------
    net : PLNet (or any polyfold network)
    X : (n, input_dim) float
        Clean points.
    y : (n,) int
        Labels (logit indices; 0/1 for one-output networks).
    eps : float >= 0
        Radius of the ball.
    norm : {"inf", 2}
    clip : (lo, hi), optional
        Box the points must stay in (numbers or ``(input_dim,)`` arrays; for the
        digits ``(0, 1)``).  ``X`` must lie in it.

    Returns
    -------
    AttackResult

    Raises
    ------
    ShapeError
        ``X``, ``y`` or the clip bounds of the wrong shape.  An empty ``X`` (shape
        ``(0, d)``, with ``y`` of length 0) gives an empty result.
    ValidationError
        Bad ``eps``, ``norm`` or labels.
    NonFiniteError
        Non-finite ``X`` or clip bounds; logits (or the loss) beyond float64.
    DomainError
        ``X`` outside the clip box, an empty box; ``eps`` so large that the points
        leave float64.

    Notes
    -----
    The gradient is exact: ``V^T (softmax(V x + u) - onehot(y))`` with the affine
    map ``(V, u)`` of the point's linear region (:meth:`PLNet.affine_map`).  A point
    on a region boundary gets the map of the region whose codes it has (``z == 0``
    inactive).  Where the gradient is zero in a coordinate, ``sign`` is 0 and the
    coordinate does not move.  Cost: one ``affine_map`` and one forward pass.

    References
    ----------
    Goodfellow, Shlens, Szegedy, ICLR 2015.

    Examples
    --------
    >>> import numpy as np, polyfold
    >>> from polyfold.attacks import fgsm
    >>> net = polyfold.PLNet.from_arrays([(np.array([[1.0, -2.0], [0.0, 1.0]]), np.zeros(2))])
    >>> res = fgsm(net, [[0.5, 0.5]], [1], 0.5)     # logits (x0 - 2 x1, x1)
    >>> res.X_adv
    array([[1., 0.]])
    >>> res.pred_clean, res.pred_adv, res.perturbation_norm
    (array([1]), array([0]), array([0.5]))
    """
    X, y = _check_inputs(net, X, y)
    eps = _check_eps(eps)
    norm = _check_norm(norm)
    box = _check_clip(clip, X)
    _check_reach(X, eps)
    if len(X) == 0:  # no points: an empty result
        return _result("fgsm", net, X, y, X.copy(), eps, norm, 1, eps, box)
    g = _input_gradients(net, X, y)
    A = _project(X, X + eps * _steepest(g, norm), eps, norm, box)
    return _result("fgsm", net, X, y, A, eps, norm, 1, eps, box)


def pgd(net, X, y, eps, *, steps=40, step_size=None, norm="inf", clip=None, random_start=True,
        seed=None):
    """Projected gradient descent (ascent on the loss) inside an ``eps`` ball.

    ``steps`` iterations of ``x <- P(x + step_size * d(x))`` with ``d`` the
    steepest-ascent direction of unit norm (``sign(grad)`` for ``"inf"``,
    ``grad / ||grad||_2`` for 2) and ``P`` the projection onto the ball around the
    clean point and the clip box (Madry et al.).  The last iterate is returned.

    Parameters
    ----------
    net : PLNet (or any polyfold network)
    X : (n, input_dim) float
    y : (n,) int
    eps : float >= 0
    steps : int >= 1
    step_size : float, optional
        Default ``2.5 * eps / steps``.
    norm : {"inf", 2}
    clip : (lo, hi), optional
        As :func:`fgsm`.
    random_start : bool
        Start from a uniform point of the ball (clipped to the box) instead of ``X``.
    seed : int, None or numpy Generator
        Seed of the random start.

    Returns
    -------
    AttackResult

    Raises
    ------
    ShapeError, ValidationError, DomainError
        As :func:`fgsm`; ``steps < 1``, a negative ``step_size``, a ``random_start``
        that is not a bool.

    Notes
    -----
    Every iterate satisfies ``||x - X|| <= eps`` and ``lo <= x <= hi`` as computed in
    float64.  For ``L_2`` the projection onto the intersection is the ball's
    projection followed by the box's (the box holds ``X`` and clipping is
    non-expansive, so it never leaves the ball).  Gradients as in :func:`fgsm`;
    all points move together (one ``affine_map`` per step).

    References
    ----------
    Madry, Makelov, Schmidt, Tsipras, Vladu, ICLR 2018.

    Examples
    --------
    >>> import polyfold
    >>> from polyfold.attacks import pgd
    >>> from polyfold.datasets import load_digits_split
    >>> _, _, X, y = load_digits_split()
    >>> net = polyfold.zoo.digits_mlp("2x30")
    >>> res = pgd(net, X[:50], y[:50], 0.1, steps=10, clip=(0, 1), seed=0)
    >>> bool(res.perturbation_norm.max() <= 0.1), res.adversarial_accuracy < res.clean_accuracy
    (True, True)
    """
    X, y = _check_inputs(net, X, y)
    eps = _check_eps(eps)
    norm = _check_norm(norm)
    steps = check_positive_int(steps, "steps")
    if step_size is None:
        with np.errstate(over="ignore"):
            alpha = 2.5 * eps / steps
        if not np.isfinite(alpha):  # (2.5 eps overflows; the step itself need not)
            alpha = eps * (2.5 / steps)
    else:
        alpha = _check_eps(step_size, "step_size")
    box = _check_clip(clip, X)
    _check_reach(X, eps, alpha)
    rng = check_seed(seed)
    if not isinstance(random_start, (bool, np.bool_)):
        raise ValidationError(
            f"random_start must be True (start from a random point of the ball) or False "
            f"(start from X), got {random_start!r}."
        )
    if len(X) == 0:  # no points: an empty result
        return _result("pgd", net, X, y, X.copy(), eps, norm, steps, alpha, box)
    A = _project(X, _random_start(rng, X, eps, norm), eps, norm, box) if random_start else X.copy()
    for _ in range(steps):
        g = _input_gradients(net, A, y)
        A = _project(X, A + alpha * _steepest(g, norm), eps, norm, box)
    return _result("pgd", net, X, y, A, eps, norm, steps, alpha, box)


# ---------------------------------------------------------------------------
# exact decision crossings
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DecisionCrossings(_PerSegment):
    """Where the predicted class changes along a batch of segments.

    Segment ``i`` is ``x(t) = (1 - t) starts[i] + t ends[i]``; its open pieces
    between consecutive class changes have one predicted class each.  Flat arrays
    hold all segments one after the other (offsets of length ``m + 1``).

    Attributes
    ----------
    n_segments : int
    mode : str
    class_offsets : (m + 1,) int64
    labels : (total,) int64
        Predicted class of every piece, in order (consecutive ones differ).
    t_offsets : (m + 1,) int64
    t : (total - m,) float64
        Parameters where the class changes (nearest floats in exact mode).
    t_exact : tuple of Fraction or None
        The same, exact (exact mode only).
    n_recomputed : int
        Segments computed in exact arithmetic by certified mode.
    starts, ends : (m, d) float
    """

    n_segments: int
    mode: str
    class_offsets: np.ndarray = field(repr=False)
    labels: np.ndarray = field(repr=False)
    t_offsets: np.ndarray = field(repr=False)
    t: np.ndarray = field(repr=False)
    t_exact: object = field(default=None, repr=False)
    n_recomputed: int = 0
    starts: np.ndarray = field(default=None, repr=False)
    ends: np.ndarray = field(default=None, repr=False)

    def breakpoints(self, i):
        """Class-change parameters of segment ``i`` (floats; Fractions in exact mode)."""
        return self._ts(i, self.t_offsets)

    def classes(self, i):
        """(k_i + 1,) int64 predicted class on each piece of segment ``i``."""
        i = self._check(i)
        return self.labels[self.class_offsets[i] : self.class_offsets[i + 1]].copy()

    @property
    def n_changes(self):
        """(m,) number of class changes of every segment."""
        return np.diff(self.t_offsets)

    @property
    def changed(self):
        """(m,) bool: the predicted class changes somewhere along the segment."""
        return self.n_changes > 0

    @property
    def start_class(self):
        """(m,) class on the first piece (just after the start point)."""
        return self.labels[self.class_offsets[:-1]]

    @property
    def end_class(self):
        """(m,) class on the last piece (just before the end point)."""
        return self.labels[self.class_offsets[1:] - 1]

    @property
    def first_change(self):
        """(m,) float: ``t`` of the first class change, NaN where there is none."""
        out = np.full(self.n_segments, np.nan)
        has = self.changed
        out[has] = self.t[self.t_offsets[:-1][has]]
        return out

    def first_change_exact(self, i):
        """``t`` of the first class change of segment ``i``: Fraction (exact mode) or
        float, None when the class never changes."""
        bp = self.breakpoints(i)
        return bp[0] if len(bp) else None

    def flip_distance(self, norm="inf"):
        """(m,) float distance ``first_change * ||ends - starts||`` from the start to
        the first class change (NaN where there is none), in ``norm`` ("inf" or 2)."""
        norm = _check_norm(norm)
        with np.errstate(over="ignore"):
            D = self.ends - self.starts
        if np.all(np.isfinite(D)):
            return self.first_change * _norms(D, norm)
        # a difference beyond float64: t * |D| = (2 t) * |D / 2|, halves exact
        return (2.0 * self.first_change) * _norms(0.5 * self.ends - 0.5 * self.starts, norm)

    def as_dict(self):
        """Summary as a plain dict."""
        return {
            "n_segments": self.n_segments,
            "mode": self.mode,
            "n_changed": int(np.count_nonzero(self.changed)),
            "n_changes_mean": float(np.mean(self.n_changes)) if self.n_segments else 0.0,
            "n_recomputed": self.n_recomputed,
        }

    def __len__(self):
        return self.n_segments


def decision_crossings(net, starts, ends, *, mode="certified", tol=None):
    """Exact points where the predicted class changes along segments.

    Parameters
    ----------
    net : PLNet (or any polyfold network)
    starts, ends : (m, input_dim) or (input_dim,) float
        Segment ``i`` is ``(1 - t) starts[i] + t ends[i]``, ``t`` in [0, 1].
    mode : {"certified", "float", "exact"}
        Arithmetic, as in :func:`polyfold.segment_crossings`: certified answers are
        exact (undecidable segments are recomputed in rationals), exact mode returns
        the change points as Fractions.
    tol : Tolerance, optional

    Returns
    -------
    DecisionCrossings
        ``breakpoints(i)`` (the change parameters) and ``classes(i)`` (the class on
        every piece between them) per segment.

    Raises
    ------
    ShapeError
        ``starts``/``ends`` of the wrong shape.  An empty batch (shape ``(0, d)``)
        gives an empty result (every array of length 0, offsets ``[0]``).
    ValidationError
        Unknown ``mode``; ``net`` not a polyfold network.

    Notes
    -----
    The predicted class is ``argmax`` of the logits with ties going to the lowest
    index (``np.argmax``), and ``logit > 0`` for a network with one output (0 on a
    tie), as :meth:`PLNet.predict`.  ``classes(i)`` are the classes of the *open*
    pieces: on a piece the logits are affine in ``t``, and the class is the line of
    the upper envelope there (where two logits are the same line on a piece, the
    lower index).  A change point itself belongs to neither side; the class of an
    end point lying on the decision boundary can differ from that of its piece
    (``net.predict`` of the point decides it).  Logits that touch without crossing
    give no change.

    The logits are computed at the breakpoints of the exact segment partition
    (continuity gives them on every piece); inside a piece the envelope is
    followed from line to line.  Certified mode bounds every value's rounding error
    (dense nets through the crossing kernel's bounds, graph nets through the stage
    evaluation's ``advance_bound``) and recomputes a
    segment exactly when a comparison is within its bound (a tie at a piece end, a
    third logit close to a crossing; see ``_certify_envelope`` for the sufficient
    condition checked on pieces with several changes).

    Examples
    --------
    >>> import numpy as np, polyfold
    >>> from polyfold.attacks import decision_crossings
    >>> # logits (T(x), 1/2) with the tent map T(x) = 2 ReLU(x) - 4 ReLU(x - 1/2)
    >>> net = polyfold.PLNet.from_arrays([
    ...     (np.array([[1.0], [1.0]]), np.array([0.0, -0.5])),
    ...     (np.array([[2.0, -4.0], [0.0, 0.0]]), np.array([0.0, 0.5]))])
    >>> res = decision_crossings(net, [0.0], [1.0], mode="exact")
    >>> res.breakpoints(0), res.classes(0).tolist()
    ([Fraction(1, 4), Fraction(3, 4)], [1, 0, 1])
    """
    check_net(net)
    check_mode(mode)
    tolv = get_tol(tol)
    S, E, _ = net_segments(net, starts, ends)
    m = len(S)
    if m == 0:  # no segments: every array of length 0, offsets [0]
        return DecisionCrossings(
            n_segments=0, mode=mode, class_offsets=np.zeros(1, np.int64),
            labels=np.zeros(0, np.int64), t_offsets=np.zeros(1, np.int64), t=np.zeros(0),
            t_exact=() if mode == "exact" else None, n_recomputed=0, starts=S, ends=E,
        )
    k = _decision_kernel(net, S, E, mode, tolv)
    counts = k["counts"]
    return DecisionCrossings(
        n_segments=m,
        mode=mode,
        class_offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        labels=k["rows"][:, 0].astype(np.int64),
        t_offsets=np.concatenate([[0], np.cumsum(counts - 1)]).astype(np.int64),
        t=k["t"],
        t_exact=k["t_exact"],
        n_recomputed=int(k["n_recomputed"]),
        starts=S,
        ends=E,
    )


def _logits_at(net, S, E, pseg, pt, exact, safety):
    """Logits at the points ``(1 - pt) S[pseg] + pt E[pseg]`` (and error bounds when
    ``safety`` is non-zero)."""
    if isinstance(net, PLNet):
        from .folding._kernels import _resolve_convention, _values_at

        conv = _resolve_convention(net, [net.depth], "sign")
        return _values_at(net, S, E, pseg, pt, conv, exact, safety)
    if exact:
        Sq, Eq = arith.fmpq_array(S), arith.fmpq_array(E)
        P = Sq[pseg] + pt[:, None] * (Eq[pseg] - Sq[pseg])
        return np.asarray(net.forward_exact(P)[-1], dtype=object), None
    tt = pt[:, None]
    P = S[pseg] * (1.0 - tt) + E[pseg] * tt
    if not safety:
        return np.atleast_2d(net.forward(P)).reshape(len(P), net.output_dim), None
    # graph nets: the stage evaluation with rounding-error bounds, starting from the
    # rounding of the interpolated points
    st = net.stages()
    EX = (4 * UNIT_ROUNDOFF * safety) * (np.abs(S[pseg]) * (1.0 - tt) + np.abs(E[pseg]) * tt)
    Z, EZ = st.start_bound(P, EX, safety=safety)
    for g in range(st.n_groups):
        Z, EZ = st.advance_bound(g, Z, EZ, safety=safety)
    return Z.reshape(len(P), net.output_dim), EZ.reshape(len(P), net.output_dim)


def _decision_kernel(net, S, E, mode, tolv):
    """Class sequences of segments ``S -> E``: dict rows (one class per row), counts,
    t, t_exact, n_recomputed (the layout of the folding walks)."""
    from .crossings import segment_crossings
    from .folding._kernels import _end_bounds, _merge_rows, _piece_points, _piece_starts, _splice_walks

    m = len(S)
    exact = mode == "exact"
    certified = mode == "certified"
    sc = segment_crossings(net, S, E, mode=mode, tol=tolv)
    seg, firstp, ta = _piece_starts(sc, exact)
    pt, left, pseg = _piece_points(sc, seg, ta, exact)
    V, Ev = _logits_at(net, S, E, pseg, pt, exact, tolv.safety if certified else 0.0)
    if net.output_dim == 1:  # class 1 iff logit > 0: the envelope of the lines (0, z)
        zero = np.empty((len(V), 1), dtype=V.dtype)
        zero[:] = arith.ZERO if exact else 0.0
        V = np.concatenate([zero, V], axis=1)
        if Ev is not None:
            Ev = np.concatenate([np.zeros((len(Ev), 1)), Ev], axis=1)
    va, vb = V[left], V[left + 1]
    tb = pt[left + 1]
    ea = eb = None
    if certified:
        ea, eb = _end_bounds(sc, Ev, left, ta, tb, va, vb, firstp, tolv.merge)
    row_piece, s_left, cls, amb = _envelope(va, vb, exact, ea, eb)
    t_start = ta[row_piece] + s_left * (tb[row_piece] - ta[row_piece])
    rows, counts, tt = _merge_rows(cls[:, None], seg[row_piece], t_start, m)
    n_recomputed = sc.n_recomputed
    if certified and amb.any():
        ids = np.unique(seg[amb])
        ex = _decision_kernel(net, S[ids], E[ids], "exact", tolv)
        rows, counts, tt = _splice_walks(rows, counts, tt, ex, ids, m)
        n_recomputed = int(np.count_nonzero(sc.exact_segments | np.isin(np.arange(m), ids)))
    t_exact = None
    if exact:
        t_exact, tt = arith.exact_and_float(tt)
    else:
        tt = np.asarray(tt, dtype=np.float64)
    return {"rows": rows, "counts": counts, "t": tt, "t_exact": t_exact,
            "n_recomputed": n_recomputed}


def _end_classes(va, vb, exact):
    """Class just after ``s = 0`` and just before ``s = 1`` of every piece.

    Right limit at 0: largest value, then largest slope, then lowest index; left
    limit at 1: largest value, then smallest slope, then lowest index."""
    P, C = va.shape
    slope = vb - va
    if exact:
        c0 = np.empty(P, np.int64)
        c1 = np.empty(P, np.int64)
        for p in range(P):
            a, s, b = list(va[p]), list(slope[p]), list(vb[p])
            c0[p] = max(range(C), key=lambda j: (a[j], s[j], -j))
            c1[p] = max(range(C), key=lambda j: (b[j], -s[j], -j))
        return c0, c1
    idx = np.arange(C)
    # lexicographic keys: lexsort sorts by the last key first; take the last row
    o0 = np.lexsort((-idx[None, :].repeat(P, 0), slope, va), axis=1)[:, -1]
    o1 = np.lexsort((-idx[None, :].repeat(P, 0), -slope, vb), axis=1)[:, -1]
    return o0.astype(np.int64), o1.astype(np.int64)


def _follow(a, s, c, exact):
    """Upper envelope of the lines ``a_j + s_j x`` on (0, 1), starting with line ``c``.

    Returns ``[(x_0 = 0, c_0), (x_1, c_1), ...]``: line ``c_i`` is on top on
    ``(x_i, x_{i+1})``.  At a crossing of several lines the steepest one (then the
    lowest index) continues."""
    C = len(a)
    out = [(arith.ZERO if exact else 0.0, c)]
    x = out[0][0]
    one = arith.ONE if exact else 1.0
    while True:
        best = None
        for j in range(C):
            dj = s[j] - s[c]
            if j == c or not dj > 0:
                continue
            xj = (a[c] - a[j]) / dj
            if not (x < xj < one):
                continue
            key = (xj, -s[j], j)
            if best is None or key < best:
                best = key
        if best is None:
            return out
        x, c = best[0], best[2]
        out.append((x, c))


def _envelope(va, vb, exact, ea=None, eb=None):
    """Split every piece where the predicted class changes.

    Returns the piece of every sub-interval, its start ``s`` (local parameter in
    [0, 1]), its class, and (certified, with bounds ``ea``/``eb``) a per-piece mask of
    decisions the bounds cannot make."""
    P, C = va.shape
    certified = ea is not None
    slope = vb - va
    c0, c1 = _end_classes(va, vb, exact)
    ambiguous = np.zeros(P, bool)
    if certified:
        rows = np.arange(P)
        for v, e, c in ((va, ea, c0), (vb, eb, c1)):
            top = v[rows, c] - e[rows, c] - 4 * UNIT_ROUNDOFF * np.abs(v[rows, c])
            others = v + e + 4 * UNIT_ROUNDOFF * np.abs(v)
            others[rows, c] = -np.inf
            ambiguous |= ~(top > others.max(axis=1))
    split = np.nonzero(c0 != c1)[0]
    pieces, starts, classes = [np.arange(P)], [np.zeros(P, dtype=object) if exact else np.zeros(P)], [c0]
    extra_p, extra_s, extra_c = [], [], []
    for p in split.tolist():
        env = _follow(list(va[p]), list(slope[p]), int(c0[p]), exact)
        if certified and not ambiguous[p]:
            ambiguous[p] = not _certify_envelope(env, va[p], vb[p], ea[p], eb[p], int(c1[p]))
        for x, c in env[1:]:
            extra_p.append(p)
            extra_s.append(x)
            extra_c.append(c)
    if exact:
        starts[0][:] = arith.ZERO
    if extra_p:
        pieces.append(np.array(extra_p, np.int64))
        es = np.empty(len(extra_s), dtype=object if exact else np.float64)
        es[:] = extra_s
        starts.append(es)
        classes.append(np.array(extra_c, np.int64))
    row_piece = np.concatenate(pieces)
    s_left = np.concatenate(starts)
    cls = np.concatenate(classes)
    # sub-intervals in order: by piece, then by start (the first one starts at 0)
    rank = np.zeros(len(row_piece), np.int64)
    if extra_p:
        rank[P:] = np.arange(1, len(extra_p) + 1)  # extras are in order within a piece
    order = np.lexsort((rank, row_piece))
    return row_piece[order], s_left[order], cls[order], ambiguous


def _certify_envelope(env, va, vb, ea, eb, c_end):
    """True when the float envelope ``env = [(x_0 = 0, c_0), ..., (x_r, c_r)]`` of one
    piece provably has the true class sequence ``c_0, ..., c_r``.

    Given that ``c_0`` is certified on top at ``x = 0`` and ``c_end`` at ``x = 1``, it
    suffices that (i) ``c_r == c_end``, (ii) ``c_i`` is certified on top at the
    midpoint ``m_i`` of every interior sub-interval, and (iii) at every crossing
    ``x_i`` all other lines are certified below both ``c_{i-1}`` and ``c_i``.  Then on
    the window ``[m_{i-1}, m_i]`` (``m_0 = 0``, ``m_r = 1``) every other line is below
    ``c_{i-1}`` on ``[m_{i-1}, x_i]`` and below ``c_i`` on ``[x_i, m_i]`` (lines: checking
    the ends suffices), so exactly one change, from ``c_{i-1}`` to ``c_i``, happens in
    each window.  Values at ``x`` are bounded by ``(1 - x) ea + x eb`` plus rounding.
    """
    if env[-1][1] != c_end:
        return False
    xs = [float(x) for x, _ in env] + [1.0]
    cls = [c for _, c in env]
    r = len(cls) - 1
    rnd = 4 * UNIT_ROUNDOFF * (np.abs(va) + np.abs(vb))

    def separated(x, top):
        v = va + x * (vb - va)
        e = (1.0 - x) * ea + x * eb + rnd
        low = min(v[c] - e[c] for c in top)
        others = v + e
        others[list(top)] = -np.inf
        return bool(low > others.max())

    for i in range(1, r):
        if not separated((xs[i] + xs[i + 1]) / 2, (cls[i],)):
            return False
    return all(separated(xs[i], (cls[i - 1], cls[i])) for i in range(1, r + 1))
