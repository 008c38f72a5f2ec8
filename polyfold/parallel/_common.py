"""Small helpers shared by the modules of :mod:`polyfold.parallel`.

Hashes of arrays (for sweep manifests), numpy scalars to Python scalars, and
JSON-friendly group keys and labels.
"""

import numpy as np

from .._digest import sha256_arrays as _sha256  # noqa: F401 (used by sources, sweeps)


def _py(v):
    """numpy scalar -> Python scalar (hashable, JSON friendly)."""
    return v.item() if hasattr(v, "item") else v


def _json_key(k):
    if isinstance(k, tuple):
        return [_json_key(v) for v in k]
    return k if isinstance(k, (int, float, str, type(None))) else str(k)


def _json_label(v):
    return v if isinstance(v, (int, str)) else str(v)
