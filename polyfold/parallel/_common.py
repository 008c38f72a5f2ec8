"""Small helpers shared by the modules of :mod:`polyfold.parallel`.

Hashes of arrays (for sweep manifests), numpy scalars to Python scalars, and
JSON-friendly group keys and labels.
"""

import hashlib

import numpy as np


def _sha256(*arrays):
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _py(v):
    """numpy scalar -> Python scalar (hashable, JSON friendly)."""
    return v.item() if hasattr(v, "item") else v


def _json_key(k):
    if isinstance(k, tuple):
        return [_json_key(v) for v in k]
    return k if isinstance(k, (int, float, str, type(None))) else str(k)


def _json_label(v):
    return v if isinstance(v, (int, str)) else str(v)
