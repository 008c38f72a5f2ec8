"""Per-chunk result files of a sweep and its manifest (``out=``, ``resume=``).

One ``chunk-XXXXXXXX.npz`` per chunk, written atomically, and a ``manifest.json``
describing the sweep, checked on resume.
"""

import json
import os

import numpy as np

from ..exceptions import ValidationError

#: on-disk format of per-chunk files
_FORMAT = "polyfold-sweep/1"
_MANIFEST = "manifest.json"


def _chunk_name(chunk_id):
    return f"chunk-{chunk_id:08d}.npz"


def _write_chunk(out, chunk, paths):
    path = os.path.join(out, _chunk_name(chunk.id))
    tmp = path + ".tmp"
    arrays = {k: v for k, v in paths.items() if v is not None}
    with open(tmp, "wb") as fh:
        np.savez(fh, chunk_id=np.int64(chunk.id), n_paths=np.int64(chunk.n), **arrays)
    os.replace(tmp, path)


def _read_chunk(out, chunk, quantity):
    """Per-path arrays of a finished chunk file, or None if absent / unreadable / stale."""
    path = os.path.join(out, _chunk_name(chunk.id))
    try:
        with np.load(path) as z:
            if int(z["chunk_id"]) != chunk.id or int(z["n_paths"]) != chunk.n:
                return None
            paths = {k: z[k] for k in z.files if k not in ("chunk_id", "n_paths")}
    except (OSError, ValueError, KeyError, EOFError):
        return None
    need = ["n_pieces", "recomputed", "degenerate"]
    if quantity == "folding":
        need += ["r1", "r2", "prefix_r1", "prefix_r2"]
    if any(k not in paths or len(paths[k]) != chunk.n for k in need):
        return None
    return paths


def _prepare_out(out, manifest, resume):
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValidationError(
            f"out={out!r} is an existing file, not a directory; sweeps write one file per "
            "chunk into a directory: pass a new or existing directory name."
        )
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as err:
        raise ValidationError(
            f"out={out!r}: the directory cannot be created ({err.strerror}); pass a writable "
            "directory."
        ) from err
    mpath = os.path.join(out, _MANIFEST)
    if os.path.exists(mpath):
        try:
            with open(mpath) as fh:
                old = json.load(fh)
        except (OSError, ValueError) as err:
            raise ValidationError(
                f"out={out!r} holds an unreadable {_MANIFEST} ({err}); remove it or use "
                "another directory."
            ) from err
        if resume:
            diff = [k for k in sorted(set(old) | set(manifest)) if old.get(k) != manifest.get(k)]
            if diff:
                detail = "; ".join(
                    f"{k}: {_short(old.get(k))} there, {_short(manifest.get(k))} here" for k in diff
                )
                raise ValidationError(
                    f"out={out!r} holds the chunks of a different sweep ({detail}). Resume with "
                    "the same network, points, endpoint source, quantity, mode, seed and "
                    "chunk_size, or use another directory, or pass resume=False to overwrite it."
                )
            return
        for name in os.listdir(out):
            if name.startswith("chunk-") and (name.endswith((".npz", ".npz.tmp"))):
                os.remove(os.path.join(out, name))
    tmp = mpath + ".tmp"
    with open(tmp, "w") as fh:
        json.dump(manifest, fh, indent=1, sort_keys=True)
    os.replace(tmp, mpath)


def _short(v):
    s = json.dumps(v, sort_keys=True)
    return s if len(s) <= 60 else s[:57] + "..."
