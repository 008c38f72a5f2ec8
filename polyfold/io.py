"""One loader for every model spec: :func:`load_model`.

``polyfold.load_model(spec)`` reads a network from a ``.npz`` written by
:meth:`polyfold.PLNet.save`, a pickled scikit-learn MLP (``.pkl``), a torch model
saved with ``torch.save(model, path)`` (``.pt`` / ``.pth``), an ONNX file (``.onnx``)
or names a network of :mod:`polyfold.zoo` (``"zoo:digits:6x10"``).  The ``polyfold``
command's ``--model`` option is this function.

:func:`polyfold.load` (``.npz`` only) never unpickles: a pickle can run code, so
reading one is a separate, explicit call (this one).
"""

from pathlib import Path

from .exceptions import UnsupportedLayerError, ValidationError

__all__ = ["load_model", "parse_input_shape", "ZOO_SPECS"]

#: the zoo specs :func:`load_model` accepts
ZOO_SPECS = ("zoo:digits:ARCH (e.g. zoo:digits:6x10)", "zoo:sawtooth:L",
             "zoo:cantornet:K[:A|B|C]", "zoo:arrangement:N:D", "zoo:random:IN:ARCH[:SEED]",
             "zoo:digits-cnn", "zoo:vgg[:SEED]", "zoo:resnet[:SEED]")
_PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
_TORCH_SUFFIXES = (".pt", ".pth")


def parse_input_shape(input_shape):
    """``input_shape`` as a tuple of positive ints (``None`` stays ``None``).

    Accepts a sequence of ints or a string ``"C,H,W"`` (the command line's form).

    Raises
    ------
    ValidationError
        Not a non-empty sequence of positive integers.

    Examples
    --------
    >>> parse_input_shape("1,8,8"), parse_input_shape([64]), parse_input_shape(None)
    ((1, 8, 8), (64,), None)
    """
    if input_shape is None:
        return None
    raw = input_shape
    if isinstance(raw, str):
        raw = raw.replace("x", ",").split(",")
    try:
        shape = tuple(int(v) for v in raw)
        ok = (len(shape) > 0 and all(int(v) == float(v) for v in raw) and min(shape) >= 1
              and not any(isinstance(v, bool) for v in raw))
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise ValidationError(
            f"input_shape must be positive integers such as (1, 8, 8) or '1,8,8', got "
            f"{input_shape!r}."
        )
    return shape


def load_model(spec, *, input_shape=None):
    """Load a network from a file or a zoo name.

    Parameters
    ----------
    spec : str or path
        ``zoo:NAME:ARGS`` (see :data:`ZOO_SPECS`) or a path ending in

        * ``.npz`` -- :meth:`PLNet.save` (read without unpickling);
        * ``.pkl`` / ``.pickle`` / ``.joblib`` -- a pickled scikit-learn
          ``MLPClassifier`` / ``MLPRegressor``, a pickled :class:`PLNet` or torch model;
        * ``.pt`` / ``.pth`` -- ``torch.save(model, path)`` of a whole model (not a
          ``state_dict``; needs torch), converted by :func:`polyfold.from_torch`;
        * ``.onnx`` -- converted by ``polyfold.from_onnx`` (when this version of
          polyfold has ONNX import).

        Pickles and torch files can run code when loaded: only load files you trust.
    input_shape : tuple of int or str, optional
        The shape of one input, such as ``(1, 8, 8)`` or ``"1,8,8"``, passed to the
        torch and ONNX converters (which need it for convolutional models).  For a
        network that is loaded as it is (``.npz``, pickles, zoo) it is checked: its
        product must be the input dimension, and it must equal the network's own
        ``input_shape`` when that is not flat.

    Returns
    -------
    PLNet
        (or the network object the torch / ONNX converter returns).

    Raises
    ------
    ValidationError
        Unknown zoo name, missing or unreadable file, unsupported suffix or content,
        an ``input_shape`` that does not match the network.
    UnsupportedLayerError
        The model has a layer polyfold cannot represent, or ONNX import is not
        available in this version.
    DependencyError
        A torch or ONNX file without torch / onnx installed.

    Notes
    -----
    The zoo's digits MLPs that do not ship with polyfold are trained on first use
    (a few seconds) and cached; :func:`polyfold.zoo.digits_mlp` warns when such a net
    is poorly trained.

    Examples
    --------
    >>> import polyfold
    >>> polyfold.load_model("zoo:sawtooth:3").widths
    (2, 2, 2)
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "net.npz")
    >>> polyfold.zoo.arrangement(4, 2).save(path)
    >>> polyfold.load_model(path, input_shape=(2,)).input_dim
    2
    """
    shape = parse_input_shape(input_shape)
    spec = str(spec)
    if spec.startswith("zoo:"):
        return _check_shape(_zoo_model(spec), shape, spec)
    path = Path(spec)
    if not path.exists():
        raise ValidationError(
            f"model file {spec!r} does not exist; give a .npz/.pkl/.pt/.onnx file or a zoo "
            "network such as zoo:digits:6x10."
        )
    if path.is_dir():
        raise ValidationError(f"model {spec!r} is a folder; give a model file.")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        from .network import PLNet

        return _check_shape(PLNet.load(path), shape, spec)
    if suffix == ".onnx":
        return _from_onnx(str(path), shape)
    if suffix in _PICKLE_SUFFIXES:
        obj = _unpickle(path)
    elif suffix in _TORCH_SUFFIXES:
        from .convert import _torch

        torch = _torch()
        try:
            obj = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as err:
            raise ValidationError(f"could not read {spec!r} with torch.load: {err}") from err
    else:
        raise ValidationError(
            f"model {spec!r} has an unsupported suffix {suffix or '(none)'!r}; use .npz "
            "(PLNet.save), .pkl (pickled scikit-learn MLP), .pt (torch.save(model)) or .onnx."
        )
    return _to_network(obj, spec, shape)


def _zoo_model(spec):
    from . import zoo

    parts = spec.split(":")[1:]
    name, args = (parts[0].lower() if parts else ""), parts[1:]
    usage = "use " + ", ".join(ZOO_SPECS)

    def ints(vals, what):
        try:
            return [int(v) for v in vals]
        except ValueError as err:
            raise ValidationError(f"model {spec!r}: {what} must be integers; {usage}.") from err

    try:
        if name == "digits" and len(args) <= 1:
            return zoo.digits_mlp(args[0] if args else "6x10")
        if name == "sawtooth" and len(args) == 1:
            return zoo.sawtooth(*ints(args, "L"))
        if name == "cantornet" and 1 <= len(args) <= 2:
            rep = args[1].upper() if len(args) == 2 else "A"
            return zoo.cantornet(ints(args[:1], "k")[0], rep)
        if name == "arrangement" and len(args) == 2:
            n, d = ints(args, "N and D")
            return zoo.arrangement(n, d)
        if name in ("digits-cnn", "digits_cnn", "cnn") and not args:
            return zoo.digits_cnn()
        if name in ("vgg", "resnet") and len(args) <= 1:
            seed = ints(args, "SEED")[0] if args else 0
            return zoo.vgg_cifar(seed=seed) if name == "vgg" else zoo.resnet_cifar(seed=seed)
        if name == "random" and len(args) in (2, 3):
            d = ints(args[:1], "IN")[0]
            seed = ints(args[2:], "SEED")[0] if len(args) == 3 else 0
            return zoo.random_mlp(args[1], d, seed=seed)
    except (ImportError, AttributeError) as err:
        raise ValidationError(f"model {spec!r} is not available in this version ({err}).") from err
    raise ValidationError(f"model {spec!r} is not a known zoo network; {usage}.")


def _unpickle(path):
    import pickle

    try:
        if path.suffix.lower() == ".joblib":
            import joblib

            return joblib.load(path)
        with open(path, "rb") as f:
            return pickle.load(f)
    except Exception as err:
        raise ValidationError(f"could not unpickle {str(path)!r}: {type(err).__name__}: {err}") from err


def _check_shape(net, shape, spec):
    """A dense net takes flat inputs: ``input_shape`` must multiply to its input_dim."""
    if shape is None:
        return net
    import math

    n = int(getattr(net, "input_dim"))
    if math.prod(shape) != n:
        raise ValidationError(
            f"input_shape={shape} has {math.prod(shape)} entries but model {spec!r} takes "
            f"{n} inputs; give a shape whose product is {n}, or none."
        )
    own = tuple(getattr(net, "input_shape", None) or (n,))
    if own != (n,) and own != shape:
        raise ValidationError(
            f"input_shape={shape} differs from the shape {own} that model {spec!r} was "
            f"built for; give input_shape={own} or none."
        )
    return net


def _converter(name):
    """``polyfold.<name>`` looked up at call time (the graph converters may be newer)."""
    import polyfold

    return getattr(polyfold, name, None)


def _from_onnx(model, shape):
    from_onnx = _converter("from_onnx")
    if from_onnx is None:
        raise UnsupportedLayerError(
            "ONNX import is not available in this version of polyfold; save the model as "
            "a torch nn.Sequential (torch.save(model, path)), as arrays (PLNet.from_arrays "
            "+ PLNet.save) or upgrade polyfold."
        )
    return from_onnx(model) if shape is None else from_onnx(model, input_shape=shape)


def _from_torch(model, shape, spec):
    import inspect

    from_torch = _converter("from_torch")
    if shape is None:
        return from_torch(model)
    try:
        takes_shape = "input_shape" in inspect.signature(from_torch).parameters
    except (TypeError, ValueError):  # pragma: no cover - builtins without a signature
        takes_shape = False
    if takes_shape:
        return from_torch(model, input_shape=shape)
    return _check_shape(from_torch(model), shape, spec)


def _to_network(obj, spec, shape):
    from .network import PLNet

    if isinstance(obj, PLNet):
        return _check_shape(obj, shape, spec)
    cls = type(obj).__name__
    if cls in ("MLPClassifier", "MLPRegressor"):
        from .convert import from_sklearn

        return _check_shape(from_sklearn(obj), shape, spec)
    mod = type(obj).__module__ or ""
    if mod.startswith("torch") or _is_torch_module(obj):
        return _from_torch(obj, shape, spec)
    if isinstance(obj, dict):
        raise ValidationError(
            f"{spec!r} holds a dict (a state_dict?), which has no architecture; save the "
            "model itself with torch.save(model, path) or use PLNet.save."
        )
    raise ValidationError(
        f"{spec!r} holds a {cls}, not a network polyfold can convert; expected a PLNet, a "
        "scikit-learn MLPClassifier/MLPRegressor or a torch module."
    )


def _is_torch_module(obj):
    """A user's ``nn.Module`` subclass (defined outside torch), without importing torch."""
    return any(c.__module__ == "torch.nn.modules.module" and c.__name__ == "Module"
               for c in type(obj).__mro__)
