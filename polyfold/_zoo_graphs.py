"""Graph networks of the zoo: a CNN trained on the digits and CIFAR-shaped nets.

* :func:`digits_cnn` -- a small CNN trained on scikit-learn's bundled digits (1x8x8):
  conv 3x3 (8) - batch norm - ReLU - max pool 2 - conv 3x3 (16) - ReLU - average pool 2
  - linear (10).  Shipped with polyfold (trained once with PyTorch, seed 0), with its
  test accuracy in ``net.info``.
* :func:`vgg_cifar` and :func:`resnet_cifar` -- CIFAR-shaped (3x32x32) nets with seeded
  He-initialised weights: a VGG-style CNN (six 3x3 convolutions in three blocks with max
  pooling, two linear layers) and a ResNet with residual blocks (stem, three basic
  blocks of two convolutions with batch norm and identity or 1x1 projection skips,
  global average pooling, linear).  They are UNTRAINED (``net.info["trained"]`` is
  False, and their repr says so): ground truth for the geometry of real architectures,
  not models of data.
"""

from importlib import resources

import numpy as np

from ._validation import check_positive_int, check_seed
from .exceptions import DependencyError, ValidationError

__all__ = ["digits_cnn", "vgg_cifar", "resnet_cifar", "train_digits_cnn"]

_CNN_FILE = "digits_cnn_seed0.npz"
_CACHE = {}


def _check_widths(widths, max_blocks, fn):
    """``widths``: a non-empty sequence of at most ``max_blocks`` channel counts >= 1."""
    import numbers

    try:
        raw = list(widths)
    except TypeError:
        raw = None
    if (raw is None or isinstance(widths, (str, bytes)) or not 1 <= len(raw) <= max_blocks
            or not all(isinstance(w, numbers.Integral) and not isinstance(w, bool) and w >= 1 for w in raw)):
        raise ValidationError(
            f"{fn}: widths must be 1 to {max_blocks} channel counts >= 1 (one per block), such as "
            f"(16, 32, 64), got {widths!r}."
        )
    return tuple(int(w) for w in raw)


def _check_classes(classes, fn):
    """``classes``: the number of logits, an integer >= 2."""
    import numbers

    if isinstance(classes, bool) or not isinstance(classes, numbers.Integral) or classes < 2:
        raise ValidationError(
            f"{fn}: classes must be an integer >= 2 (the number of logits; one class is no "
            f"classifier), got {classes!r}; use classes=2 for a binary task."
        )
    return int(classes)


def _he(rng, shape):
    fan_in = int(np.prod(shape[1:]))
    return rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)


def vgg_cifar(*, seed=0, widths=(16, 32, 64), hidden=128, classes=10):
    """Untrained VGG-style CNN on 3x32x32 inputs (He initialisation, ``seed``).

    Three blocks of ``conv3x3 - ReLU - conv3x3 - ReLU - max pool 2`` with ``widths``
    channels, then ``linear(hidden) - ReLU - linear(classes)``: 8 weight layers, 10 unit
    groups (6 ReLU convolutions, 3 max pools, 1 ReLU linear layer).

    Examples
    --------
    >>> net = vgg_cifar()
    >>> net.input_shape, net.depth, net.info["trained"]
    ((3, 32, 32), 10, False)
    """
    from .graph import GraphBuilder

    widths = _check_widths(widths, 5, "vgg_cifar")  # (32 -> 1 after five poolings)
    hidden = check_positive_int(hidden, "hidden")
    classes = _check_classes(classes, "vgg_cifar")
    rng = check_seed(seed)
    b = GraphBuilder((3, 32, 32))
    h, c = b.input, 3
    for k, w in enumerate(widths):
        for j in range(2):
            h = b.relu(b.conv(h, _he(rng, (w, c, 3, 3)), np.zeros(w), padding=1, name=f"block{k}.conv{j}"),
                       name=f"block{k}.relu{j}")
            c = w
        h = b.max_pool(h, 2, name=f"block{k}.pool")
    h = b.flatten(h)
    n = int(np.prod(b.shape(h)))
    h = b.relu(b.dense(h, _he(rng, (hidden, n)), np.zeros(hidden), name="fc1"), name="fc1.relu")
    out = b.dense(h, _he(rng, (classes, hidden)), np.zeros(classes), name="fc2")
    info = {"name": "vgg_cifar", "trained": False, "init": f"He normal, seed {seed}"}
    return b.build(out, info=info)


def resnet_cifar(*, seed=0, widths=(16, 32, 64), classes=10):
    """Untrained CIFAR ResNet (He initialisation, ``seed``).

    Stem ``conv3x3(16) - BN - ReLU``, then one basic block per width (``conv3x3 - BN -
    ReLU - conv3x3 - BN``, plus the input or a 1x1 stride-2 projection with BN, then ReLU;
    blocks 2 and 3 halve the resolution), global average pooling and a linear layer: 10
    weight layers, 7 ReLU groups.  Batch norm holds fresh running statistics (mean 0,
    variance 1), folded into the convolutions.

    Examples
    --------
    >>> net = resnet_cifar()
    >>> net.input_shape, net.depth, net.output_dim
    ((3, 32, 32), 7, 10)
    """
    from .graph import GraphBuilder

    widths = _check_widths(widths, 6, "resnet_cifar")  # (32 -> 1 after five halvings)
    classes = _check_classes(classes, "resnet_cifar")
    rng = check_seed(seed)
    eps = 1e-5
    bn = 1.0 / np.sqrt(1.0 + eps)  # fresh batch norm in eval mode
    b = GraphBuilder((3, 32, 32))
    h = b.relu(b.conv(b.input, _he(rng, (widths[0], 3, 3, 3)) * bn, np.zeros(widths[0]), padding=1, name="stem.conv"),
               name="stem.relu")
    c = widths[0]
    for k, w in enumerate(widths):
        stride = 1 if k == 0 else 2
        y = b.conv(h, _he(rng, (w, c, 3, 3)) * bn, np.zeros(w), stride=stride, padding=1, name=f"block{k}.conv1")
        y = b.relu(y, name=f"block{k}.relu1")
        y = b.conv(y, _he(rng, (w, w, 3, 3)) * bn, np.zeros(w), padding=1, name=f"block{k}.conv2")
        if stride != 1 or c != w:
            skip = b.conv(h, _he(rng, (w, c, 1, 1)) * bn, np.zeros(w), stride=stride, name=f"block{k}.down")
        else:
            skip = h
        h = b.relu(b.add(y, skip, name=f"block{k}.add"), name=f"block{k}.relu2")
        c = w
    h = b.flatten(b.adaptive_avg_pool(h, 1, name="pool"))
    out = b.dense(h, _he(rng, (classes, c)), np.zeros(classes), name="fc")
    info = {"name": "resnet_cifar", "trained": False, "init": f"He normal, seed {seed}"}
    return b.build(out, info=info)


def digits_cnn(*, seed=0):
    """The small CNN trained on the bundled digits (shipped for seed 0).

    ``conv3x3(1->8, pad 1) - BN - ReLU - maxpool 2 - conv3x3(8->16, pad 1) - ReLU -
    avgpool 2 - linear(64->10)`` on 1x8x8 inputs in [0, 1]: 3 unit groups (512 ReLUs,
    128 max units over 2x2 windows, 256 ReLUs).  ``net.info`` records the training
    recipe and the test accuracy on the split of
    :func:`polyfold.datasets.load_digits_split`.  Other seeds are trained with PyTorch
    (:func:`train_digits_cnn`) and cached.

    Examples
    --------
    >>> net = digits_cnn()
    >>> net.input_shape, net.widths, net.info["test_accuracy"] > 0.9
    ((1, 8, 8), (512, 128, 256), True)
    """
    seed = check_positive_int(seed, "seed", 0)
    if seed in _CACHE:
        return _CACHE[seed]
    from .graph import PLGraph
    from .training import cache_dir

    name = f"digits_cnn_seed{seed}.npz"
    packaged = resources.files("polyfold").joinpath("data", name)
    if packaged.is_file():
        with resources.as_file(packaged) as p:
            net = PLGraph.load(p)
    else:
        path = cache_dir() / name
        if path.exists():
            net = PLGraph.load(path)
        else:
            net = train_digits_cnn(seed=seed)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                net.save(path)
            except OSError:  # pragma: no cover - read-only home
                pass
    _CACHE[seed] = net
    return net


def _digits_cnn_module(torch):
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(64, 10),
    )


def train_digits_cnn(*, seed=0, epochs=30, learning_rate=3e-3, batch_size=32, return_module=False):
    """Train the digits CNN with PyTorch (Adam, cross-entropy, ``seed``) and convert it.

    Needs torch.  Returns the :class:`~polyfold.graph.PLGraph` (and the torch module
    when ``return_module``); ``net.info`` holds the recipe and accuracies.
    """
    try:
        import torch
    except ImportError as err:
        raise DependencyError(
            f"training the digits CNN for seed {seed} needs PyTorch (pip install torch); the "
            "network for seed 0 ships with polyfold: use digits_cnn(seed=0)."
        ) from err
    from .convert import from_torch
    from .datasets import load_digits_split

    seed = check_positive_int(seed, "seed", 0)
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    if (isinstance(learning_rate, bool) or not isinstance(learning_rate, (int, float))
            or not np.isfinite(learning_rate) or learning_rate <= 0):
        raise ValidationError(f"learning_rate must be a finite number > 0, got {learning_rate!r}.")
    Xtr, ytr, Xte, yte = load_digits_split()
    g = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = _digits_cnn_module(torch).double()
    opt = torch.optim.Adam(model.parameters(), lr=learning_rate)
    X = torch.from_numpy(Xtr.reshape(-1, 1, 8, 8))
    Y = torch.from_numpy(ytr)
    lossf = torch.nn.CrossEntropyLoss()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(X), generator=g)
        for i in range(0, len(X), batch_size):
            idx = perm[i : i + batch_size]
            opt.zero_grad()
            loss = lossf(model(X[idx]), Y[idx])
            loss.backward()
            opt.step()
    model.eval()
    with torch.no_grad():
        tr = float((model(X).argmax(1) == Y).double().mean())
        te = float((model(torch.from_numpy(Xte.reshape(-1, 1, 8, 8))).argmax(1) == torch.from_numpy(yte)).double().mean())
    net = from_torch(model, input_shape=(1, 8, 8))
    info = {"name": "digits_cnn", "trained": True, "seed": seed, "epochs": epochs, "optimizer": "Adam",
            "learning_rate": learning_rate, "batch_size": batch_size, "train_accuracy": tr,
            "test_accuracy": te, "data": "sklearn digits, load_digits_split()"}
    names = {"0": "conv1", "2": "relu1", "3": "pool1", "4": "conv2", "5": "relu2", "6": "avgpool", "8": "fc"}
    net = net.renamed(names, info=info)
    return (net, model) if return_module else net
