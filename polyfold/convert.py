"""Converters into :class:`PLNet`: PyTorch ``nn.Sequential``, scikit-learn MLPs,
arrays and ``.npz`` files."""

import numpy as np

from .exceptions import DependencyError, UnsupportedLayerError, ValidationError
from .network import HardTanh, LeakyReLU, PLNet, ReLU

__all__ = ["from_torch", "from_onnx", "from_sklearn", "from_arrays", "graph_to_plnet", "load", "save"]


def from_arrays(layers, activation="relu"):
    """Same as :meth:`PLNet.from_arrays`."""
    return PLNet.from_arrays(layers, activation)


def save(net, path):
    """Save ``net`` (PLNet or PLGraph) to ``.npz`` (see :meth:`PLNet.save`)."""
    from .network import check_net

    check_net(net).save(path)


def load(path):
    """Load a network saved by :meth:`PLNet.save` or :meth:`PLGraph.save` (``.npz``).

    Only ``.npz`` archives are read, never unpickled (a pickle can run code): pickled
    scikit-learn, torch or polyfold models load with :func:`polyfold.load_model`,
    which the error for a pickle names.  The file is closed on every path, also when
    it is corrupt.

    Raises
    ------
    ValidationError
        Missing, corrupt or pickled file, or an archive that holds no network.
    """
    from ._validation import read_npz

    if "graph" in read_npz(path, "network file"):
        from .graph import PLGraph

        return PLGraph.load(path)
    return PLNet.load(path)


def from_sklearn(model):
    """Convert a fitted scikit-learn ``MLPClassifier`` or ``MLPRegressor``.

    Only ``activation="relu"`` and ``"identity"`` are piecewise linear; ``tanh`` and
    ``logistic`` raise :class:`UnsupportedLayerError`.  The output activation
    (softmax / logistic) is monotone per output and dropped: the net returns logits,
    so ``argmax`` (or ``logit > 0`` for binary problems) gives the same prediction.
    """
    cls = type(model).__name__
    if cls not in ("MLPClassifier", "MLPRegressor"):
        raise ValidationError(
            f"from_sklearn expects an MLPClassifier or MLPRegressor, got {cls}."
        )
    if not hasattr(model, "coefs_"):
        raise ValidationError(f"the {cls} is not fitted; call .fit(X, y) first.")
    act = model.activation
    if act not in ("relu", "identity"):
        raise UnsupportedLayerError(
            f"{cls}(activation={act!r}) is not piecewise linear; polyfold supports "
            "activation='relu' or 'identity'. Retrain with activation='relu'."
        )
    layers = [(W.T.astype(np.float64), b.astype(np.float64)) for W, b in zip(model.coefs_, model.intercepts_)]
    return PLNet.from_arrays(layers, act)


def _torch():
    try:
        import torch
    except ImportError as err:
        raise DependencyError(
            "from_torch requires PyTorch: pip install torch (CPU build is enough)."
        ) from err
    return torch


_DENSE_MODULES = ("Linear", "ReLU", "LeakyReLU", "Hardtanh", "ReLU6", "Identity", "Flatten",
                  "Dropout", "BatchNorm1d")


def _dense_sequential(model, nn):
    """True when ``model`` is an ``nn.Sequential`` that the dense converter handles."""
    if not isinstance(model, nn.Sequential) or type(model).forward is not nn.Sequential.forward:
        return False  # (a subclass with its own forward is traced like any module)
    leaves = [m for m in model.modules() if not isinstance(m, nn.Sequential)]
    names = [type(m).__name__ for m in leaves]
    if not names or any(n not in _DENSE_MODULES for n in names):
        return False
    # Flatten only before the first Linear layer; starts and ends with Linear layers
    seen_linear = False
    for m, n in zip(leaves, names):
        seen_linear |= n == "Linear"
        if n == "Flatten" and (seen_linear or m.start_dim != 1 or m.end_dim != -1):
            return False  # (other flattens, e.g. over the batch, go to the tracer's checks)
    core = [n for n in names if n not in ("Flatten", "Dropout", "Identity")]
    if any(a != "Linear" and b != "Linear" for a, b in zip(core, core[1:])):
        return False  # two activations in a row: the tracer composes them
    if any(n == "Hardtanh" and not (np.isfinite(m.min_val) and np.isfinite(m.max_val))
           for m, n in zip(leaves, names)):
        return False  # e.g. Hardtanh(0, inf), a ReLU: the tracer maps it
    return bool(core) and core[0] == "Linear" and core[-1] == "Linear"


def _acts_on_last_axis(model, nn, input_shape):
    """The first Linear of a dense chain meets per-sample tensors of ``input_shape``
    along their last axis (torch's rule), not as flat vectors: the tracer handles it."""
    if input_shape is None or len(input_shape) < 2:
        return False
    first = next(m for m in model.modules() if isinstance(m, nn.Linear))
    flattened = any(isinstance(m, nn.Flatten) for m in model.modules())
    return not flattened and first.in_features == input_shape[-1] != int(np.prod(input_shape))


def from_torch(model, input_shape=None):
    """Convert a PyTorch module: a :class:`PLNet` for dense stacks, else a
    :class:`~polyfold.graph.PLGraph`.

    Parameters
    ----------
    model : torch.nn.Module
        Any module that ``torch.fx`` can trace (not only ``nn.Sequential``), in eval
        mode semantics (batch norm uses its running statistics, dropout is the
        identity).
    input_shape : tuple of int, optional
        Per-sample input shape, e.g. ``(3, 32, 32)``.  Required when the first
        operator is not a ``Linear`` layer.

    Returns
    -------
    PLNet or PLGraph
        A ``PLNet`` (the dense special case, with the compiled kernel) when the
        model is a chain of linear layers and elementwise activations, else a
        ``PLGraph``.

    Raises
    ------
    UnsupportedLayerError
        A module or function that is not piecewise linear or not supported (the
        message names the fx node, its op and where it is in the model), or a model
        that ``torch.fx`` cannot trace (data-dependent control flow).
    ValidationError
        ``input_shape`` missing where it is needed.
    DependencyError
        PyTorch is not installed.

    Notes
    -----
    Supported: ``Linear``, ``Conv1d``/``Conv2d`` (stride, padding, dilation,
    groups), ``BatchNorm1d``/``BatchNorm2d`` (folded), ``ReLU``, ``ReLU6``,
    ``LeakyReLU``, ``Hardtanh``, ``MaxPool1d``/``2d``, ``AvgPool1d``/``2d``,
    ``AdaptiveAvgPool``/``AdaptiveMaxPool``, ``Flatten``, ``Dropout``, ``Identity``,
    ``ZeroPad``/``ConstantPad`` and ``F.pad`` (constant), ``torch.flatten``,
    ``view``/``reshape``, ``permute``/``transpose``, ``squeeze``/``unsqueeze``,
    ``+``/``torch.add`` and ``-``/``torch.sub`` (with ``alpha``), ``*``/``/`` by
    constants (scalars or tensors), ``clamp``/``clip``, ``torch.cat``,
    ``torch.maximum``/``minimum``, ``torch.max``/``amax`` over a dimension,
    ``F.relu``/``F.max_pool2d``/``F.avg_pool2d`` and ``x.mean`` over the spatial
    dimensions.  The converted net is checked against the module's own
    output on random inputs.  See ``docs/architectures.rst`` for examples.
    """
    from .io import parse_input_shape

    input_shape = parse_input_shape(input_shape)
    torch = _torch()
    nn = torch.nn
    if isinstance(model, nn.Linear):
        model = nn.Sequential(model)
    if not isinstance(model, nn.Module):
        raise ValidationError(f"from_torch expects a torch.nn.Module, got {type(model).__name__}.")
    if isinstance(model, torch.jit.ScriptModule):
        raise ValidationError(
            f"from_torch got a TorchScript module ({type(model).__name__}, from torch.jit.script "
            "or torch.jit.trace), which torch.fx cannot read; pass the original nn.Module, or "
            "export it with torch.onnx.export and use polyfold.from_onnx."
        )
    if _dense_sequential(model, nn) and not _acts_on_last_axis(model, nn, input_shape):
        return _dense_from_sequential(model, nn, input_shape)
    from .graph.fx import graph_from_torch

    graph = graph_from_torch(model, input_shape)
    dense = graph_to_plnet(graph)
    return graph if dense is None else dense


def from_onnx(path_or_model, input_shape=None):
    """Convert an ONNX model (a path, bytes or an ``onnx.ModelProto``).

    The route for Keras, JAX and TensorFlow models (export to ONNX first).  Needs the
    ``onnx`` package (``pip install polyfold[onnx]``).

    Parameters
    ----------
    path_or_model : str, path, bytes or onnx.ModelProto
    input_shape : tuple of int, optional
        Per-sample input shape, needed when the model's input shape is not fixed.

    Returns
    -------
    PLNet or PLGraph
        A ``PLNet`` for dense chains, else a ``PLGraph``.

    Raises
    ------
    UnsupportedLayerError
        An op that is not piecewise linear or not supported (the message names the
        node, its op type and position).
    DependencyError
        The ``onnx`` package is missing.

    Notes
    -----
    Supported ops: Gemm, MatMul (+ Add), Conv, Relu, LeakyRelu, Clip, MaxPool,
    AveragePool, GlobalAveragePool, GlobalMaxPool, BatchNormalization (folded), Add,
    Sub, Mul/Div by constants, Neg, Sum, Max, Min, Concat, Flatten, Reshape, Transpose,
    Squeeze, Unsqueeze, Pad (zeros), ReduceMean over the spatial axes, ReduceMax over
    one axis, Identity, Dropout, Constant, and the Shape/Gather/Cast computations of
    dynamic reshapes.
    """
    from .graph.onnx_import import graph_from_onnx
    from .io import parse_input_shape

    graph = graph_from_onnx(path_or_model, parse_input_shape(input_shape))
    dense = graph_to_plnet(graph)
    return graph if dense is None else dense


def graph_to_plnet(graph):
    """The :class:`PLNet` of a graph that is a chain of affine maps on vectors and
    elementwise unit groups, else None (same codes, same outputs).

    Examples
    --------
    >>> import numpy as np
    >>> from polyfold.graph import GraphBuilder
    >>> b = GraphBuilder((1, 2, 2))
    >>> h = b.relu(b.dense(b.flatten(b.input), np.eye(4), np.zeros(4)))
    >>> graph_to_plnet(b.build(b.dense(h, np.ones((1, 4)))))
    PLNet(input_shape=(1, 2, 2), widths=(4,), output_dim=1, activations=[relu])
    >>> b = GraphBuilder((1, 2, 2))
    >>> graph_to_plnet(b.build(b.max_pool(b.input, 2))) is None
    True
    """
    from .graph import ops as gops
    from .graph import units as gunits
    from .graph.model import PLGraph

    if not isinstance(graph, PLGraph):
        raise ValidationError(
            f"graph must be a polyfold.graph.PLGraph (e.g. from GraphBuilder.build or "
            f"from_torch), got {type(graph).__name__}"
            + ("; a PLNet is dense already." if isinstance(graph, PLNet) else ".")
        )
    nodes = graph.nodes
    prev = 0
    layers, acts = [], []
    d = graph.input_dim
    W, b = np.eye(d), np.zeros(d)
    for i, nd in enumerate(nodes[1:], start=1):
        if nd.inputs != (prev,):
            return None
        op = nd.op
        if isinstance(op, gunits.Units):
            if op.kind != "threshold":
                return None
            layers.append((W, b))
            acts.append(op.activation)
            n = op.n_units
            W, b = np.eye(n), np.zeros(n)
        elif isinstance(op, gops.Reshape):
            if len(op.out_shape) != 1 and i != len(nodes) - 1 and not isinstance(nodes[i + 1].op, gops.Reshape):
                return None
        elif isinstance(op, gops.Dense):
            W, b = op.W @ W, op.W @ b + op.b
        elif isinstance(op, gops.ScalarAffine):
            W, b = op._a[:, None] * W, op._a * b + op.c
        elif isinstance(op, gops.ChannelAffine) and len(op.in_shapes[0]) == 1:
            W, b = op._s[:, None] * W, op._s * b + op._c
        else:
            return None
        prev = i
    if prev != graph._output:
        return None
    layers.append((W, b))
    return PLNet(layers, acts, input_shape=graph.input_shape)


def _dense_from_sequential(model, nn, input_shape):
    def flat(seq, prefix=""):
        for name, mod in seq.named_children():
            if isinstance(mod, nn.Sequential):
                yield from flat(mod, prefix + name + ".")
            else:
                yield prefix + name, mod

    layers, acts = [], []
    W = b = None  # pending affine map (composition since the last activation)

    def compose(A, c):
        nonlocal W, b
        if W is None:
            W, b = A, c
        else:
            W, b = A @ W, A @ b + c

    for name, mod in flat(model):
        if isinstance(mod, nn.Linear):
            A = mod.weight.detach().cpu().double().numpy()
            c = (mod.bias.detach().cpu().double().numpy() if mod.bias is not None
                 else np.zeros(A.shape[0]))
            compose(A, c)
        elif isinstance(mod, nn.BatchNorm1d):
            if mod.running_mean is None:
                raise UnsupportedLayerError(
                    f"module {name!r} (BatchNorm1d) has no running statistics "
                    "(track_running_stats=False); polyfold folds batch norm in eval mode."
                )
            mean = mod.running_mean.detach().cpu().double().numpy()
            var = mod.running_var.detach().cpu().double().numpy()
            scale = 1.0 / np.sqrt(var + mod.eps)
            if mod.affine:
                scale = scale * mod.weight.detach().cpu().double().numpy()
                shift = mod.bias.detach().cpu().double().numpy()
            else:
                shift = np.zeros_like(mean)
            compose(np.diag(scale), shift - scale * mean)
        elif isinstance(mod, (nn.Dropout, nn.Identity, nn.Flatten)):
            if isinstance(mod, nn.Flatten) and W is not None:
                raise UnsupportedLayerError(
                    f"module {name!r} (Flatten) after a Linear layer is not supported; "
                    "put Flatten first."
                )
            continue
        elif isinstance(mod, (nn.ReLU, nn.LeakyReLU, nn.Hardtanh)):
            if W is None:
                raise UnsupportedLayerError(
                    f"module {name!r} ({type(mod).__name__}) has no Linear layer before it; "
                    "polyfold networks alternate affine layers and activations."
                )
            layers.append((W, b))
            W = b = None
            if isinstance(mod, nn.ReLU):
                acts.append(ReLU())
            elif isinstance(mod, nn.LeakyReLU):
                acts.append(LeakyReLU(float(mod.negative_slope)))
            else:
                acts.append(HardTanh(float(mod.min_val), float(mod.max_val)))
        else:
            raise UnsupportedLayerError(
                f"module {name!r} of type {type(mod).__name__} is not supported; polyfold "
                "handles Linear, ReLU, LeakyReLU, Hardtanh, Identity, Flatten, Dropout and "
                "BatchNorm1d (eval mode)."
            )
    if W is None:
        raise UnsupportedLayerError(
            "the nn.Sequential must end with a Linear layer (the logits); "
            "drop a final activation or add nn.Linear."
        )
    layers.append((W, b))
    return PLNet(layers, acts, input_shape=input_shape)

