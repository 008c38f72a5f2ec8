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


def as_float_array(x, name, *, ndim=None, allow_empty=True):
    """Convert to a C-contiguous float64 array, rejecting NaN/inf, bad dtypes."""
    if isinstance(x, (str, bytes)):
        raise ValidationError(f"{name} must be a numeric array, got a string {x!r}.")
    try:
        arr = np.asarray(x)
    except Exception as err:  # ragged lists and the like
        raise ValidationError(f"{name} could not be read as a numeric array: {err}.") from err
    if arr.dtype == object:
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
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise NonFiniteError(
            f"{name} contains NaN or infinity (first at index {tuple(int(i) for i in bad)}); "
            "remove or impute non-finite values first."
        )
    return arr


def check_points(points, dim, name="points"):
    """Return ``(points (n, dim) float64, was_single)`` from (n, dim) or (dim,)."""
    arr = as_float_array(points, name)
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


def net_points(net, points, name="points"):
    """``(points (n, input_dim) float64, was_single)`` for ``net``: flattened points or
    points of the net's ``input_shape`` (images ``(n, C, H, W)``)."""
    shape = tuple(getattr(net, "input_shape", (net.input_dim,)))
    if len(shape) == 1:
        return check_points(points, shape[0], name)
    from .graph.model import as_graph_points

    return as_graph_points(points, shape, name)


def net_segments(net, starts, ends):
    """:func:`check_segments` for ``net`` (flattened or shaped points)."""
    s, single_s = net_points(net, starts, "starts")
    e, single_e = net_points(net, ends, "ends")
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


def check_seed(seed):
    """Turn ``seed`` (None, int or Generator) into a numpy Generator once."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, numbers.Integral) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    raise ValidationError(
        f"seed must be None, an int or a numpy Generator, got {type(seed).__name__}."
    )
