"""Worker side of a sweep: the sweep description and the chunk computation.

:class:`_Spec` is what travels to the workers (network weights, points, endpoint
source, options); :func:`_run_chunk` computes one chunk.  The task functions
:func:`_pool_init` / :func:`_pool_task` (process pools) and :func:`_dask_task`
(Dask) are pickled by name, so they live at this stable module path,
``polyfold.parallel._worker``.
"""

import os
from dataclasses import dataclass, field

import numpy as np

from .aggregates import _aggregate_paths


@dataclass(frozen=True)
class _Spec:
    token: str
    net: object  # PLNet or PLGraph (both pickle through their constructors)
    points: np.ndarray
    source: object
    quantity: str
    mode: str
    tol: object
    entropy: int
    want_paths: bool
    faults: dict = field(default=None)  # testing hook, see _run_chunk
    threads: object = None  # crossing kernel threads (None: all cores; 1 in worker processes)


class _Context:
    """Worker-side state built once per worker from a :class:`_Spec`."""

    def __init__(self, spec):
        from ..crossings import first_layer_cache

        self.net = spec.net
        self.cache = first_layer_cache(self.net, spec.points, mode=spec.mode, tol=spec.tol)
        self.state = spec.source.prepare(len(spec.points))
        # codes that are already the bits z > 0 (ReLU: code 0 / 1): the packed codes
        # of a crossings result are the patterns, as 64-bit words
        acts = self.net.activations if self.net.is_dense else [
            getattr(u, "activation", None) for u in self.net.group_units]
        self.codes_are_bits = all(
            a is not None and np.array_equal(a.code_to_bit(), [False, True]) for a in acts
        )


_CONTEXTS = {}  # token -> _Context, per worker process (a few sweeps at most)


def _context(spec):
    ctx = _CONTEXTS.get(spec.token)
    if ctx is None:
        ctx = _Context(spec)
        if len(_CONTEXTS) >= 4:
            _CONTEXTS.pop(next(iter(_CONTEXTS)))
        _CONTEXTS[spec.token] = ctx
    return ctx


def _run_chunk(spec, chunk, attempt):
    """Compute one chunk; returns ``(chunk_id, {group: PathAggregate}, paths or None)``."""
    from ..crossings import segment_crossings_between

    if spec.faults and chunk.id in spec.faults:
        # testing hook: {chunk_id: n} raises in the first n attempts, {chunk_id: ("exit",
        # n)} kills the worker process instead (never use "exit" in process)
        kind, n = spec.faults[chunk.id] if isinstance(spec.faults[chunk.id], tuple) else (
            "raise", spec.faults[chunk.id])
        if attempt < n:
            if kind == "exit":
                os._exit(3)
            raise RuntimeError(f"injected failure in chunk {chunk.id} (attempt {attempt})")
    ctx = _context(spec)
    i, j, g = spec.source.endpoints(chunk, spec.entropy, ctx.state)
    res = segment_crossings_between(
        ctx.net, spec.points, i, j, mode=spec.mode, tol=spec.tol, chunk_size=max(len(i), 1),
        cache=ctx.cache, threads=spec.threads, progress=False,
    )
    paths = {
        "i_start": np.asarray(i, np.int64),
        "i_end": np.asarray(j, np.int64),
        "n_pieces": res.n_pieces,
        "recomputed": np.asarray(res.exact_segments, bool),
        "degenerate": np.asarray(res.degenerate, bool),
    }
    if g is not None:
        paths["group"] = g
    if spec.quantity == "folding":
        from ..folding.walks import _measure_flat

        fm = _measure_flat(res.codes_packed if ctx.codes_are_bits else res.patterns, res.piece_offsets)
        paths["r1"] = fm.r1
        paths["r2"] = fm.r2
        paths["prefix_r1"] = fm.prefix_max_r1
        paths["prefix_r2"] = fm.prefix_max_r2
    aggs = _aggregate_paths(paths, chunk.group)
    return chunk.id, aggs, (paths if spec.want_paths else None)


# process pool: the spec travels once per worker process through the initializer
_POOL_SPEC = None


def _pool_init(spec):
    global _POOL_SPEC
    _POOL_SPEC = spec
    _context(spec)


def _pool_task(chunk, attempt):
    return _run_chunk(_POOL_SPEC, chunk, attempt)


# dask: the spec is scattered once (broadcast); the context is cached per worker
def _dask_task(spec, chunk, attempt):
    return _run_chunk(spec, chunk, attempt)
