"""Digests of arrays and networks (sweep manifests, first-layer caches)."""

import hashlib
import json

import numpy as np


def sha256_arrays(*arrays):
    """SHA-256 of the dtypes, shapes and bytes of ``arrays`` (hex)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def net_digest(net):
    """A digest of the network's weights and structure (its identity)."""
    if net.is_dense:
        return (sha256_arrays(*[a for Wb in net.layers for a in Wb])
                + ":" + ",".join(repr(a) for a in net.activations))
    from .graph.model import _node_desc

    parts, arrays = [], []
    for nd in net.nodes[1:]:
        d, arrs = _node_desc(nd)
        parts.append(json.dumps([nd.name, list(nd.inputs), d], sort_keys=True, default=str))
        arrays += [arrs[k] for k in sorted(arrs)]
    return sha256_arrays(*arrays) + ":" + hashlib.sha256("|".join(parts).encode()).hexdigest()
