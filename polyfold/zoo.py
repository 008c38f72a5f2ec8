"""Ground-truth networks shared by tests, docs and benchmarks.

* :func:`sawtooth` -- the tent map composed ``L`` times: exactly ``2**L`` linear
  pieces on [0, 1].
* :func:`arrangement` -- one hidden layer of ``n`` neurons in general position:
  ``sum_{i<=d} C(n, i)`` regions in R^d.
* :func:`random_mlp` -- random ReLU MLPs by seed (optionally with small integer weights
  so that exact arithmetic stays cheap).
* :func:`digits_mlp` -- MLPs trained on scikit-learn's bundled digits, 60 hidden neurons.
* :func:`cantornet` -- CantorNet (three representations).
* :func:`digits_cnn` -- a small CNN trained on the digits (shipped, graph network).
* :func:`vgg_cifar`, :func:`resnet_cifar` -- CIFAR-shaped VGG and ResNet graph networks
  with seeded He-initialised weights (untrained).
"""

import json
from importlib import resources

import numpy as np

from ._validation import check_int_seed, check_positive_int, check_seed
from .exceptions import ValidationError
from .network import PLNet
from .training import DIGITS_ARCHITECTURES, cache_dir, parse_architecture, train_digits_mlp

__all__ = ["sawtooth", "arrangement", "random_mlp", "digits_mlp", "cantornet", "digits_cnn", "vgg_cifar",
           "resnet_cifar", "DIGITS_ARCHITECTURES"]


def sawtooth(L):
    """Depth-``L`` tent-map network on [0, 1] (input 1, output 1, width 2).

    Each hidden layer computes ``ReLU(y)`` and ``ReLU(y - 1/2)`` of the previous tent
    value ``y``; the next value is ``2 ReLU(y) - 4 ReLU(y - 1/2)``.  On [0, 1] the
    output ``T^L(x)`` has ``2**L`` linear pieces and every piece has its own
    activation pattern.  From layer 2 on the first neuron of each layer touches
    zero at interior points without changing sign (not a crossing).

    Examples
    --------
    >>> net = sawtooth(2)
    >>> net.forward([[0.25], [0.5], [0.75]]).ravel().tolist()
    [1.0, 0.0, 1.0]
    """
    L = check_positive_int(L, "L")
    layers = [(np.array([[1.0], [1.0]]), np.array([0.0, -0.5]))]
    for _ in range(L - 1):
        layers.append((np.array([[2.0, -4.0], [2.0, -4.0]]), np.array([0.0, -0.5])))
    layers.append((np.array([[2.0, -4.0]]), np.array([0.0])))
    return PLNet.from_arrays(layers, "relu")


def arrangement(n, d, *, seed=0, output_dim=1):
    """One hidden ReLU layer of ``n`` neurons in general position in R^d.

    Rows are standard normal, biases uniform in [-1, 1]: with probability one the
    hyperplanes are in general position.
    """
    n = check_positive_int(n, "n")
    d = check_positive_int(d, "d")
    output_dim = check_positive_int(output_dim, "output_dim")
    rng = check_seed(seed)
    W = rng.standard_normal((n, d))
    b = rng.uniform(-1.0, 1.0, n)
    V = rng.standard_normal((output_dim, n))
    return PLNet.from_arrays([(W, b), (V, np.zeros(output_dim))], "relu")


def random_mlp(widths, input_dim, output_dim=1, *, seed=0, integer=False, activation="relu"):
    """Random MLP with He-scaled Gaussian weights (or small integers).

    Parameters
    ----------
    widths : sequence of int
        Hidden widths.
    integer : bool
        Draw weights and biases from {-3, ..., 3} instead: exact arithmetic stays
        cheap and ties (several neurons switching together) are common.
    """
    widths = parse_architecture(widths, allow_empty=True)
    if not isinstance(integer, (bool, np.bool_)):
        raise ValidationError(f"integer must be True or False, got {integer!r}.")
    input_dim = check_positive_int(input_dim, "input_dim")
    output_dim = check_positive_int(output_dim, "output_dim")
    rng = check_seed(seed)
    dims = (input_dim,) + tuple(widths) + (output_dim,)
    layers = []
    for a, b in zip(dims[:-1], dims[1:]):
        if integer:
            W = rng.integers(-3, 4, size=(b, a)).astype(float)
            c = rng.integers(-3, 4, size=b).astype(float)
        else:
            W = rng.standard_normal((b, a)) * np.sqrt(2.0 / a)
            c = rng.standard_normal(b) * 0.1
        layers.append((W, c))
    return PLNet.from_arrays(layers, activation)


_DIGITS_CACHE = {}


#: test accuracy below which :func:`digits_mlp` warns (:class:`PolyfoldWarning`):
#: half of the bundled test images, five times chance on ten classes
MIN_TEST_ACCURACY = 0.5


def digits_mlp(arch="6x10", *, seed=0, return_info=False):
    """ReLU MLP trained on the bundled digits (8x8, inputs in [0, 1], 10 classes).

    Architectures: ``"2x30", "3x20", "4x15", "5x12", "6x10", "10x6"`` (60 hidden
    neurons each) or any ``"DxW"``.  Trained with Adam for 30 epochs from ``seed``
    (scikit-learn).  The six standard nets for seed 0 ship with polyfold, so they are
    identical on every machine; others are trained on first use (a few seconds, in
    this process) and cached under :func:`polyfold.training.cache_dir`.

    Parameters
    ----------
    arch : str
        ``"DxW"``: D hidden layers of W neurons.
    seed : int
        Seed of the training run, in ``0..2**32 - 1``.
    return_info : bool
        Also return the training record.

    Returns
    -------
    net : PLNet
    info : dict, only with ``return_info=True``
        ``arch``, ``seed``, ``epochs``, ``train_accuracy``, ``test_accuracy`` (on the
        540 test images of :func:`polyfold.datasets.load_digits_split`) and
        ``source``: ``"shipped"`` (bundled with polyfold), ``"cache"`` (trained
        earlier on this machine) or ``"trained now"`` (trained by this call).

    Warns
    -----
    PolyfoldWarning
        When the net's test accuracy is below :data:`MIN_TEST_ACCURACY` (0.5): such a
        net has barely learned the task (chance is 0.1), so its regions, folding and
        statistics say little about a trained network.  The warning names the accuracy.

    Examples
    --------
    >>> from polyfold import zoo
    >>> net, info = zoo.digits_mlp("2x30", return_info=True)
    >>> info["source"], round(info["test_accuracy"], 3)
    ('shipped', 0.972)
    """
    arch = _digits_arch(arch)
    seed = check_int_seed(seed)  # 0..2**32 - 1, as train_mlp takes
    if not isinstance(return_info, (bool, np.bool_)):
        raise ValidationError(f"return_info must be True or False, got {return_info!r}.")
    key = (arch, seed)
    if key in _DIGITS_CACHE:
        net, info = _DIGITS_CACHE[key]
    else:
        parse_architecture(arch)
        name = f"digits_{arch}_seed{seed}.npz"
        net = info = None
        try:
            packaged = resources.files("polyfold").joinpath("data", name)
            if packaged.is_file():
                with resources.as_file(packaged) as p:
                    net, info = _load_with_info(p)
                    info["source"] = "shipped"
        except (FileNotFoundError, ModuleNotFoundError):  # pragma: no cover
            pass
        if net is None:
            path = cache_dir() / name
            if path.exists():
                net, info = _load_with_info(path)
                info["source"] = "cache"
            else:
                net, info = train_digits_mlp(arch, seed=seed)
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    save_with_info(net, info, path)
                except (OSError, ValidationError):  # read-only home: just do not cache
                    pass
                info = dict(info, source="trained now")
        _DIGITS_CACHE[key] = (net, info)
    acc = info.get("test_accuracy")
    if acc is not None and acc < MIN_TEST_ACCURACY:
        import warnings

        from .exceptions import PolyfoldWarning

        warnings.warn(
            f"zoo.digits_mlp({arch!r}, seed={seed}) has test accuracy {acc:.3f} (below "
            f"{MIN_TEST_ACCURACY}; chance is 0.1): the net has barely learned the digits, so "
            "its regions and measures say little about a trained network; use one of "
            f"{', '.join(DIGITS_ARCHITECTURES)} or a wider architecture.",
            PolyfoldWarning, stacklevel=2,
        )
    return (net, dict(info)) if return_info else net


def _digits_arch(arch):
    """``arch`` of :func:`digits_mlp` as a ``"DxW"`` string (a sequence of equal widths
    is accepted and named so)."""
    widths = parse_architecture(arch)
    if isinstance(arch, str):
        return arch
    if len(set(widths)) != 1:
        raise ValidationError(
            f"digits_mlp trains D hidden layers of W neurons ('DxW', e.g. '6x10'), got widths "
            f"{widths}; train other architectures with polyfold.training.train_mlp."
        )
    return f"{len(widths)}x{widths[0]}"


def save_with_info(net, info, path):
    """Save a net with a JSON ``info`` record next to the weights."""
    arrays = {}
    for i, (W, b) in enumerate(net.layers):
        arrays[f"W{i}"] = W
        arrays[f"b{i}"] = b
    arrays["activations"] = np.array(json.dumps([a.to_dict() for a in net.activations]))
    arrays["info"] = np.array(json.dumps(info))
    from .network import save_npz

    save_npz(path, arrays, "path")


def _load_with_info(path):
    from ._validation import read_npz

    net = PLNet.load(path)
    d = read_npz(path, "network file")
    info = json.loads(str(d["info"])) if "info" in d else {}
    return net, info


def cantornet(k, representation="A", *, output_relu=False):
    """CantorNet of recursion depth ``k`` (see :mod:`polyfold._cantornet`);
    ``output_relu=True`` appends the output's ReLU as a last hidden unit (the
    authors' ``5k + 1`` bits)."""
    from ._cantornet import cantornet as _cantornet

    if representation not in ("A", "B", "C"):
        raise ValidationError(
            f"representation must be 'A', 'B' or 'C', got {representation!r}."
        )
    if not isinstance(output_relu, (bool, np.bool_)):
        raise ValidationError(f"output_relu must be True or False, got {output_relu!r}.")
    return _cantornet(k, representation, output_relu=bool(output_relu))


def digits_cnn(*, seed=0):
    """Small CNN trained on the bundled digits (see :func:`polyfold._zoo_graphs.digits_cnn`)."""
    from ._zoo_graphs import digits_cnn as _f

    return _f(seed=seed)


def vgg_cifar(*, seed=0, widths=(16, 32, 64), hidden=128, classes=10):
    """Untrained VGG-style CNN on 3x32x32 inputs (see :func:`polyfold._zoo_graphs.vgg_cifar`)."""
    from ._zoo_graphs import vgg_cifar as _f

    return _f(seed=seed, widths=widths, hidden=hidden, classes=classes)


def resnet_cifar(*, seed=0, widths=(16, 32, 64), classes=10):
    """Untrained CIFAR ResNet (see :func:`polyfold._zoo_graphs.resnet_cifar`)."""
    from ._zoo_graphs import resnet_cifar as _f

    return _f(seed=seed, widths=widths, classes=classes)
