"""Training helpers: small MLPs on the bundled digits, without torch.

The six architectures of the folding papers (60 hidden neurons in total) are
:data:`DIGITS_ARCHITECTURES`.  Training uses scikit-learn's ``MLPClassifier``
(Adam, fixed seed) so that it runs everywhere; the result is a :class:`PLNet`.
"""

import os
from pathlib import Path

import numpy as np

from .exceptions import ValidationError

__all__ = ["DIGITS_ARCHITECTURES", "parse_architecture", "train_mlp", "train_digits_mlp", "cache_dir"]

#: depth x width, 60 hidden neurons each
DIGITS_ARCHITECTURES = ("2x30", "3x20", "4x15", "5x12", "6x10", "10x6")


def parse_architecture(arch, *, allow_empty=False):
    """``"6x10"`` -> ``(10, 10, 10, 10, 10, 10)``; a tuple of widths passes through.

    ``allow_empty=True`` accepts no hidden layers (``()``: a linear network).

    Raises
    ------
    ValidationError
        Not ``"DxW"`` with D, W >= 1 or a sequence of integers >= 1.
    """
    import numbers

    if isinstance(arch, str):
        try:
            depth, width = (int(v) for v in arch.lower().split("x"))
        except ValueError as err:
            raise ValidationError(
                f"architecture must look like '6x10' (depth x width), got {arch!r}."
            ) from err
        if depth < 1 or width < 1:
            raise ValidationError(f"architecture {arch!r} needs depth, width >= 1.")
        return (width,) * depth
    try:
        raw = list(arch)
    except TypeError:
        raw = None
    if raw is None or isinstance(arch, (bytes, dict)) or not all(
            isinstance(w, numbers.Integral) and not isinstance(w, (bool, np.bool_)) for w in raw):
        raise ValidationError(
            f"architecture must be 'DxW' (e.g. '6x10') or a sequence of integer widths such "
            f"as (10, 10), got {arch!r}."
        )
    widths = tuple(int(w) for w in raw)
    if (not widths and not allow_empty) or (widths and min(widths) < 1):
        raise ValidationError(f"architecture must be non-empty positive widths, got {arch!r}.")
    return widths


def cache_dir():
    """Folder for cached trained networks (``$POLYFOLD_CACHE`` or ``~/.cache/polyfold``)."""
    d = Path(os.environ.get("POLYFOLD_CACHE", Path.home() / ".cache" / "polyfold"))
    return d


def train_mlp(X, y, arch="6x10", *, seed=0, epochs=30, learning_rate=0.01, batch_size=32, X_test=None, y_test=None):
    """Train a ReLU MLP on any ``X, y`` with Adam (scikit-learn), as for the digits.

    The recipe of :func:`train_digits_mlp`: ``MLPClassifier(hidden_layer_sizes=widths,
    activation="relu", solver="adam")`` for ``epochs`` passes with early stopping
    off, converted to a :class:`~polyfold.PLNet` (logits output).

    Parameters
    ----------
    X : (n, d) float
    y : (n,) labels
        Integers (integral floats become int64), strings or booleans.
    arch : str or sequence of int
        ``"DxW"`` (depth x width) or hidden widths.
    seed : int
        In ``0..2**32 - 1`` (scikit-learn's ``random_state`` range).
    epochs : int
    learning_rate, batch_size
        Adam step size and mini-batch size.
    X_test, y_test : optional
        Held-out data for ``info["test_accuracy"]``.

    Returns
    -------
    net : PLNet
    info : dict
        ``arch, seed, epochs, train_accuracy, test_accuracy`` (None without test data).
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    import numbers

    from ._validation import as_float_array, check_int_seed, check_positive_int
    from .convert import from_sklearn
    from .exceptions import ShapeError

    widths = parse_architecture(arch)
    X = as_float_array(X, "X", ndim=2, allow_empty=False)
    y = _check_labels(y, len(X), "y", "X")
    if len(np.unique(y)) < 2:
        raise ValidationError(
            f"y must hold at least two classes to train a classifier, got only {np.unique(y).tolist()}.")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    seed = check_int_seed(seed)  # 0..2**32 - 1: scikit-learn's random_state range
    if (isinstance(learning_rate, bool) or not isinstance(learning_rate, numbers.Real)
            or not np.isfinite(learning_rate) or learning_rate <= 0):
        raise ValidationError(f"learning_rate must be a finite number > 0, got {learning_rate!r}.")
    if (X_test is None) != (y_test is None):
        raise ValidationError("X_test and y_test go together: pass both or neither.")
    if X_test is not None:
        X_test = as_float_array(X_test, "X_test", ndim=2)
        if X_test.shape[1] != X.shape[1]:
            raise ShapeError(
                f"X_test must have {X.shape[1]} columns like X, got shape {X_test.shape}.")
        y_test = _check_labels(y_test, len(X_test), "y_test", "X_test")
    clf = MLPClassifier(
        hidden_layer_sizes=widths,
        activation="relu",
        solver="adam",
        learning_rate_init=learning_rate,
        batch_size=min(batch_size, len(X)),
        max_iter=epochs,
        random_state=seed,
        n_iter_no_change=epochs + 1,
        tol=0.0,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    net = from_sklearn(clf)
    # labels: the net's argmax indexes clf.classes_
    classes = clf.classes_
    info = {
        "arch": arch if isinstance(arch, str) else "x".join(map(str, widths)),
        "seed": seed,
        "epochs": epochs,
        "train_accuracy": float(np.mean(classes[net.predict(X)] == y)),
        "test_accuracy": None,
    }
    if X_test is not None:
        info["test_accuracy"] = float(np.mean(classes[net.predict(X_test)] == y_test)) if len(X_test) else None
    return net, info


def _check_labels(y, n, name, x_name):
    """Class labels ``y`` (n,), one per row of ``x_name``: integers (or integral floats,
    returned as int64), strings or booleans (:func:`polyfold._validation.check_labels`)."""
    from ._validation import check_labels

    return check_labels(y, n, name, per=f"row of {x_name}", strings=True, booleans=True)


def train_digits_mlp(arch="6x10", *, seed=0, epochs=30, learning_rate=0.01, batch_size=32):
    """Train a ReLU MLP on the bundled digits with Adam (scikit-learn).

    Uses :func:`train_mlp` on the fixed digits split of
    :func:`polyfold.datasets.load_digits_split`.

    Returns
    -------
    net : PLNet
    info : dict with ``train_accuracy``, ``test_accuracy``, ``epochs``, ``seed``, ``arch``
    """
    from .datasets import load_digits_split

    Xtr, ytr, Xte, yte = load_digits_split(seed=0)
    return train_mlp(
        Xtr, ytr, arch, seed=seed, epochs=epochs, learning_rate=learning_rate,
        batch_size=batch_size, X_test=Xte, y_test=yte,
    )
