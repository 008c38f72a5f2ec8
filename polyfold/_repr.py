"""Short reprs for result objects: one line, arrays summarised numpy style (private).

Result dataclasses set ``__repr__ = summary_repr``: every field shown by the
dataclass repr is printed as ``name=value`` with

* a 1-D array as ``array([3, 23, 18, ..., 7, 9, 4], shape=(200,))`` (numpy's
  summarised style, four significant digits), a 2-D or larger one as
  ``<540x64 float64 array>``;
* a long list, tuple or dict as its first items and its length;
* a nested result object as ``Name(...)``;
* anything else by its repr, cut at 48 characters;

and fields that are ``None`` are left out.
"""

import dataclasses

import numpy as np

_MAX_VALUE = 48
_EDGE = 2


def _summary(value):
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return repr(value.item())
        if value.ndim == 1:
            with np.printoptions(precision=4, threshold=2 * _EDGE, edgeitems=_EDGE,
                                 linewidth=10**6):
                body = np.array2string(value, separator=", ")
            return f"array({body}, shape={value.shape})"
        return f"<{'x'.join(map(str, value.shape))} {value.dtype} array>"
    if isinstance(value, (list, tuple)):
        if len(value) <= 2 * _EDGE and len(repr(value)) <= _MAX_VALUE:
            return repr(value)
        head = ", ".join(_summary(v) for v in value[:_EDGE])
        kind = "[" if isinstance(value, list) else "("
        close = "]" if kind == "[" else ")"
        return _cut(f"{kind}{head}, ...{close}") + f" (len {len(value)})"
    if isinstance(value, dict):
        if len(value) <= 2 * _EDGE and len(repr(value)) <= _MAX_VALUE:
            return repr(value)
        keys = ", ".join(repr(k) for k in list(value)[:_EDGE])
        return _cut(f"{{{keys}, ...}}") + f" (len {len(value)})"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return f"{type(value).__name__}(...)"
    return _cut(repr(value))


def _cut(text):
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 3] + "..."


def summary_repr(obj):
    """``Name(field=value, ...)`` with the fields the dataclass would show, summarised
    (``None`` fields left out).

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> import numpy as np
    >>> @dataclass
    ... class R:
    ...     n: int
    ...     x: np.ndarray
    ...     __repr__ = summary_repr
    >>> R(3, np.arange(100))
    R(n=3, x=array([ 0,  1, ..., 98, 99], shape=(100,)))
    """
    if dataclasses.is_dataclass(obj):
        names = [f.name for f in dataclasses.fields(obj) if f.repr]
    else:  # a named tuple
        names = list(getattr(obj, "_fields", ()))
    parts = ", ".join(f"{n}={_summary(getattr(obj, n))}" for n in names
                      if getattr(obj, n) is not None)
    return f"{type(obj).__name__}({parts})"
