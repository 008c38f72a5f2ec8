"""Small real data: scikit-learn's bundled digits (no downloads) and local MNIST files."""

from pathlib import Path

import numpy as np

from .exceptions import ValidationError

__all__ = ["load_digits_split", "load_mnist", "load_points"]


def load_digits_split(*, test_size=0.3, seed=0):
    """The bundled 8x8 digits scaled to [0, 1], split into train and test.

    Returns
    -------
    X_train (n, 64) float, y_train (n,) int, X_test (k, 64) float, y_test (k,) int

    The split is stratified and fixed by ``seed``; no data is downloaded.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    X = data.data.astype(np.float64) / 16.0
    y = data.target.astype(np.int64)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)
    return Xtr, ytr, Xte, yte


def _read_idx(path):
    import gzip
    import struct

    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        magic = f.read(4)
        if len(magic) != 4 or magic[0] != 0 or magic[1] != 0:
            raise ValidationError(f"{str(path)!r} is not an IDX file (bad magic number).")
        ndim = magic[3]
        shape = struct.unpack(">" + "I" * ndim, f.read(4 * ndim))
        data = np.frombuffer(f.read(), dtype=np.uint8)
    if data.size != int(np.prod(shape)):
        raise ValidationError(f"{str(path)!r} is truncated: expected {shape}.")
    return data.reshape(shape)


def load_mnist(path):
    """Load MNIST from local files (no download).

    Parameters
    ----------
    path : str or Path
        Either an ``.npz`` with ``x_train, y_train, x_test, y_test`` (the Keras
        layout), or a directory holding the four IDX files
        (``train-images-idx3-ubyte[.gz]`` etc.).

    Returns
    -------
    X_train (60000, 784) float in [0, 1], y_train, X_test (10000, 784), y_test
    """
    path = Path(path)
    if not path.exists():
        raise ValidationError(
            f"MNIST path {str(path)!r} does not exist; point it at mnist.npz or at the "
            "folder with the IDX files (polyfold never downloads data)."
        )
    if path.is_file():
        from ._validation import read_npz

        d = read_npz(path, "MNIST file", load_hint="np.savez(path, x_train=..., ...)")
        try:
            xtr, ytr, xte, yte = d["x_train"], d["y_train"], d["x_test"], d["y_test"]
        except KeyError as err:
            raise ValidationError(
                f"{str(path)!r} must hold x_train, y_train, x_test, y_test; missing {err}."
            ) from err
    else:
        def find(stem):
            for name in (stem, stem + ".gz"):
                if (path / name).exists():
                    return path / name
            raise ValidationError(f"no {stem}[.gz] in {str(path)!r}.")

        xtr = _read_idx(find("train-images-idx3-ubyte"))
        ytr = _read_idx(find("train-labels-idx1-ubyte"))
        xte = _read_idx(find("t10k-images-idx3-ubyte"))
        yte = _read_idx(find("t10k-labels-idx1-ubyte"))
    f = lambda x: x.reshape(len(x), -1).astype(np.float64) / 255.0  # noqa: E731
    return f(xtr), ytr.astype(np.int64), f(xte), yte.astype(np.int64)


def _numeric(arr, path):
    try:
        return np.asarray(arr).astype(np.float64)
    except (TypeError, ValueError) as err:
        raise ValidationError(
            f"data file {str(path)!r} holds {np.asarray(arr).dtype} values, not numbers."
        ) from err


def load_points(path):
    """Load points (and labels when present) from ``.npz``, ``.npy`` or CSV.

    ``.npz``: arrays ``X`` (and optional ``y``); ``.npy``: one 2D array; CSV: numeric
    rows, the last column taken as the label when ``label_column`` is used by callers.
    Returns ``(X, y or None)``.
    """
    path = Path(path)
    if not path.exists():
        raise ValidationError(f"data file {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        from ._validation import read_npz

        d = read_npz(path, "data file", load_hint="np.savez(path, X=X, y=y)")
        if "X" not in d:
            raise ValidationError(f"{str(path)!r} must hold an array named X (and optionally y).")
        return _numeric(d["X"], path), d.get("y")
    if suffix == ".npy":
        try:
            with open(path, "rb") as fh:
                arr = np.load(fh, allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise ValidationError(
                f"data file {str(path)!r} is not a readable numeric .npy array ({err}); "
                "save points with np.save(path, X)."
            ) from err
        return _numeric(arr, path), None
    if suffix in (".csv", ".txt"):
        try:
            arr = np.loadtxt(path, delimiter=",", ndmin=2)
        except ValueError as err:
            raise ValidationError(f"{str(path)!r} is not a numeric CSV: {err}") from err
        return arr, None
    raise ValidationError(f"unsupported data file {str(path)!r}; use .npz, .npy or .csv.")
