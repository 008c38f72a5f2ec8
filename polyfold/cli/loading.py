"""Models and data from command-line specs: :func:`load_model`, :func:`load_data`."""

from pathlib import Path

from ..exceptions import ValidationError


def _zoo_model(spec):
    from .. import zoo

    parts = spec.split(":")[1:]
    name, args = (parts[0].lower() if parts else ""), parts[1:]
    usage = ("use zoo:digits:6x10, zoo:sawtooth:4, zoo:cantornet:2[:A|B|C], "
             "zoo:arrangement:N:D or zoo:random:IN:ARCH[:SEED]")

    def ints(vals, what):
        try:
            return [int(v) for v in vals]
        except ValueError as err:
            raise ValidationError(f"--model {spec!r}: {what} must be integers; {usage}.") from err

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
        if name == "random" and len(args) in (2, 3):
            d = ints(args[:1], "IN")[0]
            seed = ints(args[2:], "SEED")[0] if len(args) == 3 else 0
            return zoo.random_mlp(args[1], d, seed=seed)
    except (ImportError, AttributeError) as err:
        raise ValidationError(f"--model {spec!r} is not available in this version ({err}).") from err
    raise ValidationError(f"--model {spec!r} is not a known zoo network; {usage}.")


def load_model(spec):
    """Load a network from a command-line ``spec`` (file path or ``zoo:...``).

    Parameters
    ----------
    spec : str
        ``zoo:NAME:ARGS`` or a path ending in ``.npz`` (:meth:`PLNet.save`), ``.pkl``
        / ``.pickle`` / ``.joblib`` (a pickled scikit-learn MLP or PLNet) or ``.pt`` /
        ``.pth`` (``torch.save`` of an ``nn.Sequential``; needs torch).  Pickles and
        torch files can run code when loaded: only load files you trust.

    Returns
    -------
    PLNet

    Raises
    ------
    ValidationError
        Unknown zoo name, missing or unreadable file, unsupported suffix or content.
    UnsupportedLayerError
        The model has a layer polyfold cannot represent.
    DependencyError
        A ``.pt`` file without torch installed.

    Examples
    --------
    >>> from polyfold.cli import load_model
    >>> load_model("zoo:sawtooth:3").widths
    (2, 2, 2)
    """
    from ..network import PLNet

    spec = str(spec)
    if spec.startswith("zoo:"):
        return _zoo_model(spec)
    path = Path(spec)
    if not path.exists():
        raise ValidationError(
            f"--model file {spec!r} does not exist; give a .npz/.pkl/.pt file or a zoo "
            "network such as zoo:digits:6x10."
        )
    if path.is_dir():
        raise ValidationError(f"--model {spec!r} is a folder; give a model file.")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return PLNet.load(path)
    if suffix in (".pkl", ".pickle", ".joblib"):
        obj = _unpickle(path)
    elif suffix in (".pt", ".pth"):
        from ..convert import _torch

        torch = _torch()
        try:
            obj = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as err:
            raise ValidationError(f"could not read {spec!r} with torch.load: {err}") from err
    else:
        raise ValidationError(
            f"--model {spec!r} has an unsupported suffix {suffix or '(none)'!r}; use .npz "
            "(PLNet.save), .pkl (pickled scikit-learn MLP) or .pt (torch.save(model))."
        )
    return _to_plnet(obj, spec)


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


def _to_plnet(obj, spec):
    from ..network import PLNet

    if isinstance(obj, PLNet):
        return obj
    cls = type(obj).__name__
    if cls in ("MLPClassifier", "MLPRegressor"):
        from ..convert import from_sklearn

        return from_sklearn(obj)
    mod = type(obj).__module__ or ""
    if mod.startswith("torch"):
        from ..convert import from_torch

        return from_torch(obj)
    if isinstance(obj, dict):
        raise ValidationError(
            f"{spec!r} holds a dict (a state_dict?), which has no architecture; save the "
            "model itself with torch.save(model, path) or use PLNet.save."
        )
    raise ValidationError(
        f"{spec!r} holds a {cls}, not a network polyfold can convert; expected a PLNet, a "
        "scikit-learn MLPClassifier/MLPRegressor or a torch nn.Sequential."
    )


def load_data(spec, net, *, seed=0):
    """Load points for ``net`` from a command-line ``spec``.

    Parameters
    ----------
    spec : str
        ``auto`` (the digits test split when ``net.input_dim == 64``, else
        ``uniform:1000``), ``digits``, ``digits-train``, ``uniform:N`` or a ``.npz``
        (``X`` and optional ``y``), ``.npy`` or ``.csv`` file.
    net : PLNet
    seed : int
        Seed of ``uniform`` points.

    Returns
    -------
    X : (n, net.input_dim) float
    y : (n,) int
        The labels of the file, or the network's predictions when there are none.
    info : dict
        ``{"data": name, "n_points": n, "labels": "given" | "predicted"}``.

    Examples
    --------
    >>> import polyfold
    >>> from polyfold.cli import load_data
    >>> X, y, info = load_data("uniform:5", polyfold.zoo.sawtooth(2))
    >>> X.shape, info["labels"]
    ((5, 1), 'predicted')
    """
    import numpy as np

    from .._validation import as_float_array

    spec = str(spec)
    low = spec.lower()
    if low == "auto":
        low = spec = "digits" if net.input_dim == 64 else "uniform:1000"
    y = None
    if low in ("digits", "digits-test", "digits-train"):
        if net.input_dim != 64:
            raise ValidationError(
                f"--data {spec} gives 64-pixel images but the model has input_dim="
                f"{net.input_dim}; pass --data uniform:N or a data file."
            )
        from ..datasets import load_digits_split

        Xtr, ytr, Xte, yte = load_digits_split(seed=0)
        X, y = (Xtr, ytr) if low == "digits-train" else (Xte, yte)
    elif low.startswith("uniform"):
        parts = low.split(":")
        try:
            n = int(parts[1]) if len(parts) > 1 else 1000
        except ValueError as err:
            raise ValidationError(f"--data {spec!r}: use uniform:N with an integer N.") from err
        if n < 2 or len(parts) > 2:
            raise ValidationError(f"--data {spec!r}: use uniform:N with N >= 2.")
        X = np.random.default_rng([seed, 7]).random((n, net.input_dim))
    else:
        from ..datasets import load_points

        path = Path(spec)
        if path.suffix.lower() == "" and not path.exists():
            raise ValidationError(
                f"--data {spec!r} is neither a file nor one of auto, digits, digits-train, "
                "uniform:N."
            )
        X, y = load_points(path)
        X = as_float_array(X, f"data X in {spec!r}")
        if X.ndim == 1:
            X = X.reshape(-1, 1) if net.input_dim == 1 else X.reshape(1, -1)
        if X.ndim != 2:
            X = X.reshape(len(X), -1)
        if X.shape[1] == net.input_dim + 1 and y is None and path.suffix.lower() in (".csv", ".txt"):
            X, y = X[:, :-1], X[:, -1]  # last CSV column: the label
        if X.shape[1] != net.input_dim:
            raise ValidationError(
                f"data in {spec!r} has {X.shape[1]} columns but the model has input_dim="
                f"{net.input_dim}; flatten images to one row per point."
            )
        if len(X) < 2:
            raise ValidationError(f"data in {spec!r} holds {len(X)} point(s); need at least 2.")
    given = y is not None
    if given:
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValidationError(f"labels y in {spec!r} must have one entry per point.")
        if y.dtype.kind == "f" and np.all(y == np.round(y)):
            y = y.astype(np.int64)
    else:
        y = net.predict(X)
    return X, y, {"data": spec, "n_points": int(len(X)),
                  "labels": "given" if given else "predicted"}


def _describe(net, spec):
    return {"model": str(spec), "input_dim": int(net.input_dim),
            "widths": [int(w) for w in net.widths], "output_dim": int(net.output_dim),
            "activations": [a.to_dict() for a in net.activations]}
