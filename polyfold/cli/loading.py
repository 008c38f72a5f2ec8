"""Models and data from command-line specs: :func:`model_from_args` (through
:func:`polyfold.load_model`) and :func:`load_data`."""

from pathlib import Path

from ..exceptions import ValidationError


def load_model(spec, *, input_shape=None):
    """:func:`polyfold.load_model` (the ``--model`` option); kept importable here."""
    from ..io import load_model as _load_model

    return _load_model(spec, input_shape=input_shape)


def model_from_args(args, run):
    """The network of ``--model`` and ``--input-shape``.

    A zoo digits net that does not ship with polyfold gets a status line saying it
    was trained now (or earlier on this machine) and its test accuracy; library
    warnings (such as a poorly trained net) print as one ``warning:`` line on
    standard error, also with ``--quiet``.
    """
    import warnings

    from ..exceptions import PolyfoldWarning
    from ..io import load_model as _load_model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PolyfoldWarning)
        net = _load_model(args.model, input_shape=args.input_shape)
    parts = str(args.model).split(":")
    if parts[0] == "zoo" and len(parts) in (2, 3) and parts[1].lower() == "digits":
        from .. import zoo

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PolyfoldWarning)
            _, info = zoo.digits_mlp(parts[2] if len(parts) == 3 else "6x10", return_info=True)
        run.model_info = {k: info.get(k) for k in ("arch", "seed", "epochs", "train_accuracy",
                                                   "test_accuracy", "source")}
        if info.get("source") != "shipped":
            when = "trained now" if info.get("source") == "trained now" else \
                "trained earlier on this machine (cached)"
            run.log(f"{args.model}: not shipped with polyfold, {when}; test accuracy "
                    f"{info['test_accuracy']:.3f} after {info['epochs']} epochs")
    for w in caught:
        if issubclass(w.category, PolyfoldWarning):
            run.warn(str(w.message))
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return net


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

    from .._validation import as_float_array, check_positive_int, physical_memory_bytes
    from ..datasets import _check_labels

    check_positive_int(seed, "seed", minimum=0)
    spec = str(spec)
    if not spec.strip():
        raise ValidationError(
            "--data is empty; give digits, digits-train, uniform:N or a .npz/.npy/.csv file."
        )
    low = spec.lower()
    if low == "auto":
        low = spec = "digits" if net.input_dim == 64 else "uniform:1000"
    y = None
    label_name = f"labels y in {spec!r}"
    if low in ("digits", "digits-test", "digits-train"):
        if net.input_dim != 64:
            raise ValidationError(
                f"--data {spec} gives 64-pixel images but the model has input_dim="
                f"{net.input_dim}; pass --data uniform:N or a data file."
            )
        from ..datasets import load_digits_split

        Xtr, ytr, Xte, yte = load_digits_split(seed=0)
        X, y = (Xtr, ytr) if low == "digits-train" else (Xte, yte)
    elif low == "uniform" or low.startswith("uniform:"):
        parts = low.split(":")
        try:
            n = int(parts[1]) if len(parts) > 1 else 1000
        except ValueError as err:
            raise ValidationError(f"--data {spec!r}: use uniform:N with an integer N.") from err
        if n < 2 or len(parts) > 2:
            raise ValidationError(f"--data {spec!r}: use uniform:N with N >= 2.")
        mem = physical_memory_bytes()
        if mem is not None and 8 * n * net.input_dim > mem // 4:
            raise ValidationError(
                f"--data {spec!r}: {n} points of {net.input_dim} inputs need "
                f"{8 * n * net.input_dim / 2**30:.3g} GiB, more than a quarter of this "
                f"machine's {mem / 2**30:.3g} GiB; use a smaller N."
            )
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
            label_name = (f"the last column of {spec!r} (read as the labels: the file has "
                          f"input_dim + 1 = {net.input_dim + 1} columns)")
        if X.shape[1] != net.input_dim:
            raise ValidationError(
                f"data in {spec!r} has {X.shape[1]} columns but the model has input_dim="
                f"{net.input_dim}; flatten images to one row per point."
            )
        if len(X) < 2:
            raise ValidationError(f"data in {spec!r} holds {len(X)} point(s); need at least 2.")
    given = y is not None
    if given:
        if np.shape(y) != (len(X),):
            raise ValidationError(f"labels y in {spec!r} must have one entry per point.")
        y = _check_labels(y, len(X), label_name)  # integers or strings, never NaN
    else:
        y = net.predict(X)
    return X, y, {"data": spec, "n_points": int(len(X)),
                  "labels": "given" if given else "predicted"}


def _describe(net, spec):
    out = {"model": str(spec), "input_dim": int(net.input_dim),
           "input_shape": [int(v) for v in getattr(net, "input_shape", (net.input_dim,))],
           "widths": [int(w) for w in net.widths], "output_dim": int(net.output_dim)}
    if getattr(net, "is_dense", True):
        out["activations"] = [a.to_dict() for a in net.activations]
    else:  # a graph network (convolutions, pooling, residual connections)
        out["network"] = "graph"
    return out
