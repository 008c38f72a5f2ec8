"""Small real data: scikit-learn's bundled digits (no downloads) and local MNIST files.

Every loader refuses what it cannot read faithfully, with a :class:`ValidationError`
naming the argument or the file: a missing path, a folder where a file is needed,
empty or ragged data, complex, string or object values, NaN or infinity (a
:class:`NonFiniteError`) and labels that are not class labels.
"""

import numbers
from pathlib import Path

import numpy as np

from .exceptions import ShapeError, ValidationError

__all__ = ["load_digits_split", "load_mnist", "load_points"]

_DIGITS_N, _DIGITS_CLASSES = 1797, 10  # samples and classes of sklearn's bundled digits


def _check_test_size(test_size, n=_DIGITS_N, n_classes=_DIGITS_CLASSES):
    """``test_size`` as scikit-learn reads it (a fraction in (0, 1) or a count), checked
    so that the stratified split has every class on both sides."""
    import math

    hint = (f"pass a fraction in (0, 1) such as 0.3, or a number of test samples in "
            f"{n_classes}..{n - n_classes} (the digits have {n} samples of {n_classes} "
            "classes, and both sides of the stratified split need every class)")
    if isinstance(test_size, bool) or not isinstance(test_size, numbers.Real):
        raise ValidationError(f"test_size must be a number, got {test_size!r}; {hint}.")
    if isinstance(test_size, numbers.Integral):
        test_size = n_test = int(test_size)
    else:
        test_size = float(test_size)
        if not (math.isfinite(test_size) and 0 < test_size < 1):
            raise ValidationError(
                f"test_size={test_size!r} is not a fraction strictly between 0 and 1; {hint}."
            )
        n_test = math.ceil(test_size * n)  # scikit-learn's rounding
    if not n_classes <= n_test <= n - n_classes:
        raise ValidationError(f"test_size={test_size!r} gives {n_test} test samples; {hint}.")
    return test_size


def _split_seed(seed):
    """``seed`` for scikit-learn's ``random_state``: None, an int in 0..SEED_MAX
    (``2**32 - 1``), a numpy ``RandomState`` or a ``Generator`` (one integer is drawn
    from it)."""
    from ._validation import SEED_MAX, check_int_seed

    if seed is None or isinstance(seed, np.random.RandomState):
        return seed
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(SEED_MAX + 1))
    return check_int_seed(seed, others="None, a numpy Generator or RandomState")


def load_digits_split(*, test_size=0.3, seed=0):
    """The bundled 8x8 digits scaled to [0, 1], split into train and test.

    Parameters
    ----------
    test_size : float or int
        A fraction in (0, 1) of the 1797 samples (rounded up, as scikit-learn does) or
        a number of test samples in 10..1787 (every class on both sides).
    seed : int, Generator or None
        Fixes the split (an int in 0..2**32 - 1).

    Returns
    -------
    X_train (n, 64) float, y_train (n,) int, X_test (k, 64) float, y_test (k,) int

    Raises
    ------
    ValidationError
        ``test_size`` is not a number, is NaN, 0, 1, negative, or leaves a side of the
        split without some class; ``seed`` is not a valid seed.

    The split is stratified and fixed by ``seed``; no data is downloaded.
    """
    test_size = _check_test_size(test_size)
    seed = _split_seed(seed)
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    X = data.data.astype(np.float64) / 16.0
    y = data.target.astype(np.int64)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=y)
    return Xtr, ytr, Xte, yte


# IDX element types (the third byte of the magic number), all big-endian
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_idx(path):
    import gzip
    import struct
    import zlib

    name = str(path)
    opener = gzip.open if name.endswith(".gz") else open
    try:
        with opener(path, "rb") as f:
            magic = f.read(4)
            if len(magic) != 4 or magic[0] != 0 or magic[1] != 0:
                raise ValidationError(f"{name!r} is not an IDX file (bad magic number).")
            if magic[2] not in _IDX_DTYPES:
                raise ValidationError(
                    f"{name!r} has the unknown IDX element type 0x{magic[2]:02x} (expected "
                    "0x08 for MNIST's unsigned bytes); re-download the MNIST files."
                )
            ndim = magic[3]
            head = f.read(4 * ndim)
            if len(head) != 4 * ndim:
                raise ValidationError(f"{name!r} is truncated inside its IDX header.")
            shape = struct.unpack(">" + "I" * ndim, head)
            data = np.frombuffer(f.read(), dtype=_IDX_DTYPES[magic[2]])
    except (OSError, EOFError, zlib.error) as err:  # gzip.BadGzipFile is an OSError
        raise ValidationError(
            f"IDX file {name!r} cannot be read ({type(err).__name__}: {err}); re-download "
            "or re-extract the MNIST files."
        ) from err
    if data.size != int(np.prod(shape)):
        raise ValidationError(
            f"{name!r} holds {data.size} values but its IDX header says shape {shape} "
            f"({int(np.prod(shape))} values): the file is truncated or corrupt."
        )
    return data.reshape(shape)


def _check_labels(y, n, name, *, strings=True):
    """Class labels ``y`` of ``n`` points: a (n,) array of integers (integral floats
    become int64) or, with ``strings``, strings and booleans; NaN, fractions, complex
    and other dtypes are refused naming ``name`` (:func:`polyfold._validation.check_labels`)."""
    from ._validation import check_labels

    return check_labels(y, n, name, per="point", strings=strings, booleans=strings)


def _mnist_images(x, name):
    """MNIST images ``x`` (n, ...) with raw pixel values 0..255 as (n, pixels) floats
    in [0, 1]."""
    from ._validation import as_float_array

    if np.ndim(x) < 2:
        raise ShapeError(
            f"{name} must hold images of shape (n, 28, 28) or (n, 784), got shape {np.shape(x)}."
        )
    x = as_float_array(x, name)
    if x.shape[0] == 0 or x.size == 0:
        raise ShapeError(
            f"{name} must hold images of shape (n, 28, 28) or (n, 784) with n >= 1, got "
            f"shape {x.shape}."
        )
    x = x.reshape(len(x), -1)
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 255:
        raise ValidationError(
            f"{name} must hold raw pixel values in 0..255, got values in [{lo:g}, {hi:g}]."
        )
    if hi <= 1 and np.any(x != np.round(x)):
        raise ValidationError(
            f"{name} looks already scaled to [0, 1] (fractional values, max {hi:g}); "
            "load_mnist divides by 255, so store the raw 0..255 pixels (uint8)."
        )
    return x / 255.0


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

    Raises
    ------
    ValidationError
        A missing path or file, a corrupt file, empty or non-numeric images, pixel
        values outside 0..255 (or already scaled to [0, 1]), NaN or infinity, train and
        test images of different sizes, or labels that are not one integer per image.
    """
    from ._validation import check_path

    path = check_path(path, "path (the MNIST .npz file or IDX folder)")
    if not path.exists():
        raise ValidationError(
            f"MNIST path {str(path)!r} does not exist; point it at mnist.npz or at the "
            "folder with the IDX files (polyfold never downloads data)."
        )
    where = str(path)
    if path.is_file():
        from ._validation import read_npz

        d = read_npz(path, "MNIST file", load_hint="np.savez(path, x_train=..., ...)")
        try:
            xtr, ytr, xte, yte = d["x_train"], d["y_train"], d["x_test"], d["y_test"]
        except KeyError as err:
            raise ValidationError(
                f"{str(path)!r} must hold x_train, y_train, x_test, y_test; missing {err}."
            ) from err
        names = [f"{k} in {where!r}" for k in ("x_train", "y_train", "x_test", "y_test")]
    else:
        def find(stem):
            for name in (stem, stem + ".gz"):
                if (path / name).is_file():
                    return path / name
            raise ValidationError(f"no {stem}[.gz] in {str(path)!r}.")

        files = [find(s) for s in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")]
        xtr, ytr, xte, yte = (_read_idx(f) for f in files)
        names = [repr(str(f)) for f in files]
    Xtr, Xte = _mnist_images(xtr, names[0]), _mnist_images(xte, names[2])
    if Xtr.shape[1] != Xte.shape[1]:
        raise ShapeError(
            f"train images ({Xtr.shape[1]} pixels, {names[0]}) and test images "
            f"({Xte.shape[1]} pixels, {names[2]}) must have the same size."
        )
    ytr = _check_labels(ytr, len(Xtr), f"{names[1]} (labels of {len(Xtr)} train images)",
                        strings=False)
    yte = _check_labels(yte, len(Xte), f"{names[3]} (labels of {len(Xte)} test images)",
                        strings=False)
    return Xtr, ytr, Xte, yte


def _points(arr, path, key=None):
    """The points of a data file (its array ``key`` of a ``.npz``): a non-empty real
    array of at least one dimension, all finite (float64)."""
    from ._validation import as_float_array

    name = (f"{key} in " if key else "") + f"data file {str(path)!r}"
    X = as_float_array(arr, name)  # refuses complex, strings, NaN and infinity
    if np.ndim(arr) == 0 or X.size == 0:
        raise ShapeError(
            f"{name} must hold at least one point (an (n, d) array), got shape {np.shape(arr)}."
        )
    return X


def load_points(path):
    """Load points (and labels when present) from ``.npz``, ``.npy`` or CSV.

    ``.npz``: arrays ``X`` (and optional ``y``); ``.npy``: one 2D array; CSV: numeric
    rows, the last column taken as the label when ``label_column`` is used by callers.
    Returns ``(X, y or None)``: ``X`` float64, ``y`` (n,) class labels: integers
    (int64; integral floats too), strings or booleans.

    Raises
    ------
    ValidationError
        A missing file, a folder, an unsupported suffix, a corrupt or empty file,
        non-numeric or complex values, a ``y`` that is not one class label per point.
    NonFiniteError
        NaN or infinity in ``X`` or ``y`` (the message names the file).
    """
    import warnings

    from ._validation import _NPY_MAGIC, _ZIP_MAGIC, check_path

    path = check_path(path, "path (the data file)")
    if not path.exists():
        raise ValidationError(f"data file {str(path)!r} does not exist.")
    if path.is_dir():
        raise ValidationError(f"data file {str(path)!r} is a folder; give a .npz, .npy or .csv file.")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        from ._validation import read_npz

        d = read_npz(path, "data file", load_hint="np.savez(path, X=X, y=y)")
        if "X" not in d:
            raise ValidationError(f"{str(path)!r} must hold an array named X (and optionally y).")
        X = _points(d["X"], path, "X")
        y = d.get("y")
        if y is not None:
            y = _check_labels(y, len(X), f"y in data file {str(path)!r}")
        return X, y
    if suffix == ".npy":
        hint = "save points with np.save(path, X)"
        try:
            with open(path, "rb") as fh:
                head = fh.read(6)
                fh.seek(0)
                if not head.startswith(_NPY_MAGIC):
                    kind = "a .npz archive" if head.startswith(_ZIP_MAGIC) else "not a .npy file"
                    raise ValidationError(
                        f"data file {str(path)!r} is {kind} (it does not start like a .npy "
                        f"array); {hint}, or name an archive .npz."
                    )
                arr = np.load(fh, allow_pickle=False)
        except ValueError as err:
            if isinstance(err, ValidationError):
                raise
            if "pickle" in str(err):
                raise ValidationError(
                    f"data file {str(path)!r} holds an object array, which polyfold does not "
                    f"unpickle; {hint} with a numeric X."
                ) from err
            raise ValidationError(
                f"data file {str(path)!r} is not a readable numeric .npy array ({err}); {hint}."
            ) from err
        except (OSError, EOFError) as err:
            raise ValidationError(
                f"data file {str(path)!r} is not a readable numeric .npy array ({err}); {hint}."
            ) from err
        return _points(arr, path), None
    if suffix in (".csv", ".txt"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "input contained no data"
                arr = np.loadtxt(path, delimiter=",", ndmin=2)
        except ValueError as err:  # also UnicodeDecodeError (a binary file)
            raise ValidationError(f"{str(path)!r} is not a numeric CSV: {err}") from err
        except OSError as err:
            raise ValidationError(f"data file {str(path)!r} cannot be read: {err}.") from err
        if arr.size == 0:
            raise ShapeError(
                f"data file {str(path)!r} is empty; write one comma-separated row of numbers "
                "per point."
            )
        return _points(arr, path), None
    raise ValidationError(f"unsupported data file {str(path)!r}; use .npz, .npy or .csv.")
