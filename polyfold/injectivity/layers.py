"""Layers, bias conventions, active sets and the rank test.

A ReLU layer is ``C_alpha(x) = ReLU(W x - alpha)`` with the bias *subtracted*
(``alpha = -b`` for a layer ``W x + b``).  :func:`layer_weights` reads ``(W, alpha)``
from a :class:`polyfold.PLNet`; the private ``_resolve`` turns the ``alpha=`` /
``bias=`` arguments (or a PLNet or torch ``Linear``) into one convention.
:func:`active_set` and :func:`is_alpha_rectifying_at` give the active set
``I(x) = {i : <x, phi_i> >= alpha_i}`` and the rank test ``rank W_I(x) = n``,
batched, float or exact.  Part of :mod:`polyfold.injectivity`, which re-exports the
public names.
"""

import numbers

import numpy as np

from .._validation import as_float_array
from ..exceptions import ShapeError, UnsupportedLayerError, ValidationError
from ..network import PLNet, ReLU
from ._exact import _power_of_two_rows, _RankCache, _preact_signs


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
    from ..network import check_net

    check_net(net)
    if not isinstance(net, PLNet):
        return _graph_layer_weights(net, layer)
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


#: largest matrix layer_weights expands for a graph network's first unit group
MAX_LAYER_BYTES = 256 * 2**20


def _graph_layer_weights(net, layer):
    """The first unit group of a graph net as a ReLU layer ``ReLU(W x - alpha)``.

    Its input is an affine function of the network's input (convolutions, pooling,
    batch norm...), expanded here into its matrix -- the one place where polyfold
    builds a dense matrix of an operator, because the frame *is* that matrix.
    """
    if isinstance(layer, bool) or not isinstance(layer, numbers.Integral) or layer != 0:
        raise UnsupportedLayerError(
            f"injectivity certificates of graph networks are available for the first unit "
            f"group (layer=0) only, got layer={layer!r}: the input of a later group also "
            "depends on skip connections and pooling, not on one layer's frame."
        )
    if net.depth == 0:
        raise ValidationError("this graph network has no unit groups.")
    u = net.group_units[0]
    if u.kind != "threshold" or not isinstance(u.activation, ReLU):
        what = "a max-pooling / max unit group" if u.kind == "max" else f"{u.activation.name!r} units"
        raise UnsupportedLayerError(
            f"unit group {net.group_names[0]!r} is {what}; injectivity certificates (Haider, "
            "Ehler, Balazs) are defined for ReLU layers only."
        )
    st = net.stages()
    zw, d = st.z_width(0), net.input_dim
    if zw * d * 8 > MAX_LAYER_BYTES:
        raise ValidationError(
            f"the first unit group's frame is a {zw} x {d} matrix ({zw * d * 8 / 2**20:.0f} MiB); "
            f"injectivity certificates on it are out of reach (the limit is {MAX_LAYER_BYTES} bytes)."
        )
    W = np.ascontiguousarray(st.start_linear(np.eye(d))[:, :zw].T)
    b = st.start(np.zeros((1, d)))[0, :zw]
    W.setflags(write=False)
    return W, -b


def _is_torch_object(obj):
    return type(obj).__module__.split(".")[0] == "torch"


def _torch_linear(module):
    try:
        import torch
    except ImportError as err:  # pragma: no cover - only reachable with a torch object
        from ..exceptions import DependencyError

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
    from ..graph.model import PLGraph

    own_alpha = None
    if isinstance(W, tuple) and len(W) == 2 and isinstance(W[0], (PLNet, PLGraph)):
        Wm, own_alpha = layer_weights(W[0], W[1])
    elif isinstance(W, (PLNet, PLGraph)):
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


def _check_exact(exact):
    """``exact`` must be a bool (a string such as ``"no"`` would read as True)."""
    if not isinstance(exact, (bool, np.bool_)):
        raise ValidationError(
            f"exact must be True (exact rational arithmetic) or False (float64), got {exact!r}."
        )
    return bool(exact)


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
    _check_exact(exact)
    # signs on rows scaled by powers of two (exact; the same signs, no overflow)
    Ws, a_s, _ = _power_of_two_rows(Wm, a, with_alpha=True)
    s = _preact_signs(Ws, a_s, X, exact=exact, tol=tol)
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
    _check_exact(exact)
    Ws, a_s, _ = _power_of_two_rows(Wm, a, with_alpha=True)
    s = _preact_signs(Ws, a_s, X, exact=exact, tol=tol)
    ranks = _RankCache(Wm, exact=exact, tol=tol).ranks(s >= 0)
    ok = ranks == Wm.shape[1]
    if single:
        return (bool(ok[0]), int(ranks[0])) if return_rank else bool(ok[0])
    return (ok, ranks) if return_rank else ok
