"""Converters into :class:`PLNet`: PyTorch ``nn.Sequential``, scikit-learn MLPs,
arrays and ``.npz`` files."""

import numpy as np

from .exceptions import DependencyError, UnsupportedLayerError, ValidationError
from .network import HardTanh, LeakyReLU, PLNet, ReLU

__all__ = ["from_torch", "from_sklearn", "from_arrays", "load", "save"]


def from_arrays(layers, activation="relu"):
    """Same as :meth:`PLNet.from_arrays`."""
    return PLNet.from_arrays(layers, activation)


def save(net, path):
    """Save ``net`` to ``.npz`` (see :meth:`PLNet.save`)."""
    if not isinstance(net, PLNet):
        raise ValidationError(f"net must be a PLNet, got {type(net).__name__}.")
    net.save(path)


def load(path):
    """Load a network from ``.npz`` (see :meth:`PLNet.load`)."""
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


def from_torch(model):
    """Convert a PyTorch ``nn.Sequential`` (or a single ``nn.Linear``).

    Supported modules: ``Linear``, ``ReLU``, ``LeakyReLU``, ``Hardtanh``
    (``lo <= 0 < hi``, so ReLU6 too), ``Identity``, ``Flatten``, ``Dropout``
    (identity at evaluation) and ``BatchNorm1d`` (folded into the neighbouring
    affine layer with its running statistics, as in eval mode).  Nested
    ``Sequential`` containers are flattened.  Anything else raises
    :class:`UnsupportedLayerError` naming the module.

    The network must end with a ``Linear`` layer (the logits); consecutive affine
    modules are composed.
    """
    torch = _torch()
    nn = torch.nn
    if isinstance(model, nn.Linear):
        model = nn.Sequential(model)
    if not isinstance(model, nn.Sequential):
        raise UnsupportedLayerError(
            f"from_torch expects an nn.Sequential, got {type(model).__name__}; "
            "wrap your layers in nn.Sequential(...)."
        )

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
    return PLNet(layers, acts)

