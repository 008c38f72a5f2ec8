"""Input checks shared by every public function (raise, never return NaN)."""

import numbers

import numpy as np

from .exceptions import NonFiniteError, ShapeError, ValidationError

MODES = ("float", "certified", "exact")


def check_mode(mode, allowed=MODES):
    """Validate the arithmetic ``mode`` keyword."""
    if mode not in allowed:
        raise ValidationError(
            f"mode must be one of {', '.join(repr(m) for m in allowed)}, got {mode!r}; "
            "use mode='certified' (float speed, exact answers) unless you need rationals."
        )
    return mode


def check_choice(name, value, allowed):
    """Validate a keyword that takes one of a fixed set of strings."""
    if value not in allowed:
        raise ValidationError(
            f"{name} must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}."
        )
    return value


def as_float_array(x, name, *, ndim=None, allow_empty=True, finite=True):
    """Convert to a C-contiguous float64 array, rejecting NaN/inf (unless
    ``finite=False``: the caller checks, see :func:`check_finite`), bad dtypes."""
    if isinstance(x, (str, bytes)):
        raise ValidationError(f"{name} must be a numeric array, got a string {x!r}.")
    if x is None:
        raise ValidationError(f"{name} must be a numeric array, got None.")
    try:
        arr = np.asarray(x)
    except Exception as err:  # ragged lists and the like
        raise ValidationError(f"{name} could not be read as a numeric array: {err}.") from err
    if arr.dtype == object:
        if any(v is None for v in arr.flat):  # (float64 would read None as NaN)
            raise ValidationError(f"{name} must hold numbers, got None in it; fill in the missing values.")
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError) as err:
            raise ValidationError(
                f"{name} must hold numbers, got an object array that cannot be "
                f"converted to float64 ({err}); pass a numeric numpy array."
            ) from err
    if arr.dtype.kind == "c":
        raise ValidationError(f"{name} must be real, got complex dtype {arr.dtype}.")
    if arr.dtype.kind not in "biuf":
        raise ValidationError(
            f"{name} must be a numeric array, got dtype {arr.dtype}; "
            "convert it with np.asarray(..., dtype=float)."
        )
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if ndim is not None and arr.ndim != ndim:
        raise ShapeError(f"{name} must be {ndim}-dimensional, got shape {arr.shape}.")
    if not allow_empty and arr.size == 0:
        raise ShapeError(f"{name} must not be empty, got shape {arr.shape}.")
    if finite:
        check_finite(arr, name)
    return arr


def check_finite(arr, name, row_offset=0):
    """Raise :class:`NonFiniteError` naming the first NaN / infinity of ``arr`` (its
    index shifted by ``row_offset`` rows: ``arr`` may be a block of rows of ``name``)."""
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        bad[0] += row_offset
        raise NonFiniteError(
            f"{name} contains NaN or infinity (first at index {tuple(int(i) for i in bad)}); "
            "remove or impute non-finite values first."
        )


def check_points(points, dim, name="points", finite=True):
    """Return ``(points (n, dim) float64, was_single)`` from (n, dim) or (dim,)."""
    arr = as_float_array(points, name, finite=finite or np.ndim(points) < 2)
    single = arr.ndim == 1
    if single:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise ShapeError(
            f"Expected {name} of shape (n, {dim}) or ({dim},) to match the network's "
            f"input_dim={dim}, got {np.shape(points)}; "
            "use a.reshape(1, -1) for one point or a.reshape(len(a), -1) to flatten images."
        )
    return arr, single


def net_points(net, points, name="points", finite=True):
    """``(points (n, input_dim) float64, was_single)`` for ``net``: flattened points or
    points of the net's ``input_shape`` (images ``(n, C, H, W)``).  ``finite=False``
    (dense nets only) leaves the check for NaN / infinity to the caller."""
    shape = tuple(getattr(net, "input_shape", (net.input_dim,)))
    if len(shape) == 1:
        return check_points(points, shape[0], name, finite=finite)
    from .graph.model import as_graph_points

    return as_graph_points(points, shape, name)


def net_segments(net, starts, ends, finite=True):
    """:func:`check_segments` for ``net`` (flattened or shaped points; ``finite`` as in
    :func:`net_points`)."""
    s, single_s = net_points(net, starts, "starts", finite)
    e, single_e = net_points(net, ends, "ends", finite)
    if s.shape != e.shape:
        raise ShapeError(
            f"starts and ends must have the same shape, got {s.shape} and {e.shape}; "
            "pass one end point per start point."
        )
    return s, e, single_s and single_e


def check_segments(starts, ends, dim):
    """Validate a batch of segments; returns ``(starts, ends, single)``."""
    s, single_s = check_points(starts, dim, "starts")
    e, single_e = check_points(ends, dim, "ends")
    if s.shape != e.shape:
        raise ShapeError(
            f"starts and ends must have the same shape, got {s.shape} and {e.shape}; "
            "pass one end point per start point."
        )
    return s, e, single_s and single_e


def check_positive_int(value, name, minimum=1):
    """Validate an integer argument >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValidationError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def physical_memory_bytes():
    """Physical memory of this machine in bytes (None where unknown)."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):  # pragma: no cover - platform dependent
        return None


def check_grid_points(n_points, values_per_point, name="n_points"):
    """``n_points >= 2`` sample points of one segment, each holding about
    ``values_per_point`` float64 values at once, must fit in half of this machine's
    memory (a clear error instead of a MemoryError or a machine swapping)."""
    n_points = check_positive_int(n_points, name, minimum=2)
    need = n_points * (int(values_per_point) + 2) * 8
    mem = physical_memory_bytes()
    if mem is not None and need > mem // 2:
        raise ValidationError(
            f"{name}={n_points} needs about {need / 2**30:.3g} GiB for one segment's samples, "
            f"more than half of this machine's {mem / 2**30:.3g} GiB; use fewer points "
            "(adaptive bisection samples finely only near boundaries)."
        )
    return n_points


def available_cores():
    """The cores this process may run on (its CPU affinity; ``os.cpu_count()``
    where that is unknown)."""
    import os

    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - platform dependent
        return max(1, os.cpu_count() or 1)


def mark_nonfinite_rows(z, bad):
    """``bad |=`` the rows of ``z`` (n, m) holding an inf or NaN (values that overflowed
    float64).  A sum is finite only if every term is: one reduction, and the per-row
    mask only where the sum is not (an overflow, or a huge sum)."""
    if not np.isfinite(z.sum()):
        bad |= ~np.isfinite(z).all(axis=1)


def read_array(x, name, what):
    """``np.asarray(x)``, refusing None, strings and unreadable (ragged) input with a
    :class:`ValidationError` that says ``name`` must be ``what`` (e.g. "an (E, 2) array
    of region indices")."""
    if x is None or isinstance(x, (str, bytes)):
        raise ValidationError(f"{name} must be {what}, got {x!r}.")
    try:
        return np.asarray(x)
    except Exception as err:  # ragged lists and the like
        raise ValidationError(f"{name} could not be read as {what}: {err}.") from err


def as_item_list(x, name, what, empty_hint):
    """``list(x)`` for a non-empty sequence ``x`` of ``what`` (e.g. "dicts (one per
    network)"); None, strings, dicts and non-iterables raise a :class:`ValidationError`
    naming ``name``, and so does an empty sequence (the message ends with ``empty_hint``)."""
    if x is None or isinstance(x, (str, bytes, dict)) or not hasattr(x, "__iter__"):
        raise ValidationError(f"{name} must be a sequence of {what}, got {type(x).__name__}.")
    items = list(x)
    if not items:
        raise ValidationError(f"{name} is empty; {empty_hint}.")
    return items


def check_seed(seed):
    """Turn ``seed`` (None, int or Generator) into a numpy Generator once."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        if seed is not None and seed < 0:  # numpy refuses negative seeds with a bare ValueError
            raise ValidationError(f"seed must be an integer >= 0, got {seed!r}; use e.g. seed=0.")
        return np.random.default_rng(seed)
    raise ValidationError(
        f"seed must be None, an int or a numpy Generator, got {type(seed).__name__}."
    )


_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")  # a zip archive (.npz), also an empty one
_NPY_MAGIC = b"\x93NUMPY"
_PICKLE_START = b"\x80"  # pickle protocol 2 and later (torch.save, joblib, pickle.dump)


def read_npz(path, what, *, load_hint="polyfold.load_model(path)"):
    """All arrays of the ``.npz`` archive at ``path``, read eagerly, file closed.

    Never relays numpy's ``allow_pickle`` advice (pickled object arrays are refused)
    and never leaves the file open, also when the archive is corrupt (``np.load``
    on a path leaks its file handle when the zip directory is unreadable).

    Parameters
    ----------
    path : str or Path
    what : str
        How error messages name the file (e.g. ``"network file"``).
    load_hint : str
        What to call instead for a pickle (named in the error).

    Returns
    -------
    dict of str -> ndarray

    Raises
    ------
    ValidationError
        Missing file, a folder, a pickle, a single ``.npy`` array, a corrupt archive or
        an archive with object arrays; the message names the file and the fix.

    Examples
    --------
    >>> import tempfile, os
    >>> import numpy as np
    >>> p = os.path.join(tempfile.mkdtemp(), "a.npz")
    >>> np.savez(p, X=np.arange(3))
    >>> read_npz(p, "data file")["X"].tolist()
    [0, 1, 2]
    """
    path = check_path(path, f"path (the {what})")
    name = str(path)
    if not path.exists():
        raise ValidationError(f"{what} {name!r} does not exist; check the file name.")
    if path.is_dir():
        raise ValidationError(f"{what} {name!r} is a folder; give a .npz file.")
    try:
        fh = open(path, "rb")
    except OSError as err:
        raise ValidationError(f"{what} {name!r} cannot be read: {err.strerror}.") from err
    with fh:
        head = fh.read(6)
        fh.seek(0)
        if head.startswith(_NPY_MAGIC):
            raise ValidationError(
                f"{what} {name!r} holds a single .npy array, not a .npz archive of named "
                "arrays; save with np.savez (or PLNet.save for networks)."
            )
        if not head.startswith(_ZIP_MAGIC):
            if head.startswith(_PICKLE_START):
                raise ValidationError(
                    f"{what} {name!r} is a pickle, not a .npz archive; polyfold does not "
                    f"unpickle .npz paths (a pickle can run code): use {load_hint} for "
                    "pickled scikit-learn, torch or polyfold models you trust."
                )
            raise ValidationError(
                f"{what} {name!r} is not a .npz archive (it does not start like a zip "
                "file); re-create it with np.savez or PLNet.save."
            )
        try:
            with np.load(fh, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except ValueError as err:
            if "pickle" in str(err):
                raise ValidationError(
                    f"{what} {name!r} holds object arrays, which polyfold does not unpickle; "
                    "store plain numeric or string arrays."
                ) from err
            raise ValidationError(f"{what} {name!r} is not a readable .npz archive: {err}") from err
        except Exception as err:  # zipfile.BadZipFile, EOFError, OSError, ...
            raise ValidationError(
                f"{what} {name!r} is a corrupt .npz archive ({type(err).__name__}: {err}); "
                "re-create it with np.savez or PLNet.save."
            ) from err


def check_path(path, name="path"):
    """``path`` (a str or os.PathLike) as a :class:`pathlib.Path`; anything else raises
    :class:`ValidationError` naming ``name``."""
    import os
    from pathlib import Path

    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)) or str(path) == "":
        raise ValidationError(
            f"{name} must be a file name (a str or pathlib.Path), got {path!r}."
        )
    return Path(path)


def check_save_path(path, name="path"):
    """:func:`check_path` for a file about to be written: its folder must exist and
    the path must not be a folder (a clear error instead of a FileNotFoundError)."""
    p = check_path(path, name)
    if p.is_dir():
        # (the example takes the path's own extension: callers write .npz, .json, .csv, ...)
        example = str(p / ("output" + p.suffix))
        if not p.suffix:
            example += " plus the file type's extension"
        raise ValidationError(
            f"{name} {str(p)!r} is a folder; give the name of a file to write, e.g. {example}."
        )
    parent = p.parent if str(p.parent) else p.cwd()
    if not parent.is_dir():
        raise ValidationError(
            f"{name} {str(p)!r}: the folder {str(parent)!r} does not exist; create it first "
            "(os.makedirs(folder, exist_ok=True)) or save elsewhere."
        )
    return p


def check_item_index(i, n, name="i", what="item"):
    """``i`` as an index into ``n`` items (negative counts from the end).

    A non-integer (or a bool) raises :class:`ValidationError`; an integer outside
    ``[-n, n)`` raises ``IndexError`` (the sequence convention), naming ``name``."""
    if isinstance(i, bool) or not isinstance(i, numbers.Integral):
        raise ValidationError(f"{name} must be an integer {what} index, got {i!r}.")
    if not -n <= i < n:
        raise IndexError(
            f"{what} index {name}={i} out of range for {n} {what}s"
            + (f" (valid: 0 .. {n - 1}, or negative from the end)." if n else "; the result is empty.")
        )
    return int(i) % n


#: The largest seed that scikit-learn's ``random_state``, numpy and torch all take.
SEED_MAX = 2**32 - 1


def check_int_seed(seed, name="seed", others=None):
    """``seed`` as an int in ``0..SEED_MAX``; bools, floats, negative or larger
    integers raise :class:`ValidationError` naming ``name`` (``others``: what else the
    caller takes, e.g. "None or a numpy Generator", for the message)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed <= SEED_MAX:
        alt = f" (or {others})" if others else ""
        raise ValidationError(
            f"{name} must be an integer in 0..{SEED_MAX}{alt}, got {seed!r}; use e.g. {name}=0."
        )
    return int(seed)


def as_int64(arr, name):
    """An integer-dtype array ``arr`` as int64: unsigned values beyond int64 (which the
    cast would wrap around to negative numbers) raise :class:`ValidationError`."""
    big = np.iinfo(np.int64).max
    if arr.dtype.kind == "u" and arr.dtype.itemsize == 8 and arr.size and arr.max() > big:
        i = np.unravel_index(int(np.argmax(arr > big)), arr.shape)
        at = i[0] if len(i) == 1 else tuple(int(k) for k in i)
        raise ValidationError(
            f"{name} holds {int(arr[i])} at index {at}, beyond the int64 range (at most {big}); "
            "pass values that fit in a signed 64-bit integer."
        )
    return arr.astype(np.int64)


def check_labels(y, n, name, *, per="point", strings=False, booleans=False, nonnegative=False,
                 n_classes=None, classes="classes"):
    """Class labels ``y`` of ``n`` items as a (n,) int64 array.

    Integer arrays, lists of ints and floats holding integers (``3.0``) are accepted;
    with ``strings=True`` also string labels and with ``booleans=True`` boolean ones
    (both returned unchanged).  Refused, naming ``name``: None or a string in place of
    an array, ragged lists, booleans (unless ``booleans``), complex,
    object or other dtypes, fractional floats, values beyond int64 (``1e300``, checked
    before any cast), a shape other than ``(n,)`` (:class:`ShapeError`: one label per
    ``per``) and NaN or infinity (:class:`NonFiniteError`).  ``nonnegative`` asks for
    labels >= 0, ``n_classes`` for labels ``0..n_classes - 1`` (the message calls them
    ``n_classes`` ``classes``, e.g. "outputs of the model")."""
    kinds = "class labels (integers or strings)" if strings else "integer class labels"
    if y is None or isinstance(y, (str, bytes)):
        raise ValidationError(f"{name} must be an array of {kinds}, one per {per}, got {y!r}.")
    y = read_array(y, name, f"an array of {kinds}")
    if y.shape != (n,):
        raise ShapeError(f"{name} must have shape ({n},) (one label per {per}), got {y.shape}.")
    kind = y.dtype.kind
    if kind in "US" and strings:
        return y
    if kind == "O" and any(v is None for v in y):
        i = next(k for k, v in enumerate(y) if v is None)
        raise ValidationError(f"{name} holds None at index {i}; every {per} needs a class label.")
    if kind == "b" and booleans:
        return y
    if kind == "b":
        raise ValidationError(
            f"{name} must hold {kinds}, got booleans; pass y.astype(int) (False -> 0, True -> 1)."
        )
    if kind not in "fiu":
        raise ValidationError(
            f"{name} must hold {kinds}, got dtype {y.dtype}"
            + ("; complex values are not class labels." if kind == "c" else ".")
        )
    if kind == "f":
        bad = ~np.isfinite(y)
        if np.any(bad):
            raise NonFiniteError(
                f"{name} contains NaN or infinity (first at index {int(np.argmax(bad))}); "
                f"labels must be {kinds}."
            )
        bad = y != np.round(y)
        if np.any(bad):
            i = int(np.argmax(bad))
            raise ValidationError(
                f"{name} must hold {kinds}, got the non-integer value {y[i].item()!r} at index {i}."
            )
    if n and (nonnegative or n_classes is not None) and y.min() < 0:
        i = int(np.argmin(y))
        want = ">= 0 (0, 1, ...)" if n_classes is None else f"0..{n_classes - 1} ({n_classes} {classes})"
        raise ValidationError(
            f"{name} must hold integer class labels {want}, got {y[i].item()!r} at index {i}."
        )
    if n and n_classes is not None and y.max() >= n_classes:
        i = int(np.argmax(y))
        raise ValidationError(
            f"{name} must hold integer class labels 0..{n_classes - 1} ({n_classes} {classes}), "
            f"got {y[i].item()!r} at index {i}."
        )
    if kind == "f":
        bad = (y < -2.0**63) | (y >= 2.0**63)  # (the cast to int64 would wrap around)
        if np.any(bad):
            i = int(np.argmax(bad))
            raise ValidationError(
                f"{name} must hold {kinds} within the int64 range, got {y[i].item()!r} at "
                f"index {i}."
            )
        return y.astype(np.int64)
    return as_int64(y, name)
