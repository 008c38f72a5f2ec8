"""The sweep driver: :func:`sweep` and :func:`class_pair_sweep`.

Validates the arguments, describes the sweep (its manifest and the ``_Spec``
shipped to the workers), reads back the chunks already written under ``out``,
runs the others on the chosen executor with at most ``2 * workers`` in flight,
retries a failed chunk once and merges the aggregates.  Part of
:mod:`polyfold.parallel`, which re-exports the public names.
"""

import hashlib
import json
import numbers
import os
import time

import numpy as np

from .._validation import (
    available_cores,
    check_choice,
    check_mode,
    check_points,
    net_points,
    check_positive_int,
)
from ..exceptions import ChunkError, ValidationError
from ..folding.pairs import _check_labelled
from ..network import check_net
from ..tolerance import get_tol
from .._digest import net_digest as _net_digest
from ._common import _sha256
from ._files import _FORMAT, _chunk_name, _prepare_out, _read_chunk, _write_chunk
from ._runners import _POOL_HINT, _DaskRunner, _PoolRunner, _SerialRunner
from ._worker import _Spec
from .aggregates import PathAggregate, _aggregate_paths
from .results import ClassPairSweep, FailedChunk, SweepResult
from .sources import _SOURCES, ClassPairs

#: quantities a sweep can compute
QUANTITIES = ("folding", "crossings")

#: executors a sweep can run on ("auto" picks one of the others)
EXECUTORS = ("auto", "serial", "processes", "dask")

#: ``executor="auto"`` switches from in-process to local processes at this many paths
AUTO_PROCESS_PATHS = 200_000


def _check_seed(seed):
    if seed is None:
        return int(np.random.SeedSequence().entropy)
    if isinstance(seed, np.random.SeedSequence):
        if seed.spawn_key:
            raise ValidationError(
                "seed must be a root SeedSequence (empty spawn_key); pass its entropy or an int."
            )
        return int(seed.entropy)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValidationError(
            f"seed must be a non-negative int, a numpy SeedSequence or None, got {seed!r}; a "
            "Generator cannot be shipped to workers, pass an int instead."
        )
    return int(seed)


def _show_progress(progress):
    from .._progress import progress_enabled

    return progress_enabled(progress)


def _pick_executor(executor, scheduler, workers, n_paths):
    executor = check_choice("executor", executor, EXECUTORS)
    if workers is not None:
        workers = check_positive_int(workers, "workers")
    if scheduler is not None and executor not in ("auto", "dask"):
        raise ValidationError(
            f"scheduler is only used with executor='dask', got executor={executor!r}; pass "
            "executor='dask' or drop scheduler."
        )
    if executor == "auto":
        if scheduler is not None:
            executor = "dask"
        elif workers is not None:
            executor = "processes" if workers > 1 else "serial"
        else:
            executor = "processes" if n_paths >= AUTO_PROCESS_PATHS and available_cores() > 1 else "serial"
    if executor == "serial" and workers not in (None, 1):
        raise ValidationError(
            f"executor='serial' runs in this process; got workers={workers}. Use "
            "executor='processes' for several local workers."
        )
    if workers is None:
        workers = 1 if executor == "serial" else available_cores()
    return executor, workers


def sweep(
    net,
    points,
    source,
    *,
    quantity="folding",
    seed=0,
    executor="auto",
    scheduler=None,
    workers=None,
    out=None,
    resume=True,
    mode="certified",
    tol=None,
    chunk_size=4096,
    on_error="raise",
    progress=None,
    _faults=None,
):
    """Stream a quantity over many paths between data points, in chunks.

    Parameters
    ----------
    net : PLNet
    points : (n, input_dim) float
        The data points the paths join.
    source : ClassPairs, IndexPairs or RandomPairs
        Which paths: ``points[i] -> points[j]`` for the index pairs it produces.
    quantity : {"folding", "crossings"}
        ``"crossings"``: number of linear pieces per path.  ``"folding"``: that plus
        ``chi`` and the prefix-curve maximum of every path (hidden units, bit
        ``z > 0``: the default convention of :func:`polyfold.space_folding`).
    seed : int, numpy SeedSequence or None
        Root entropy; chunk ``k`` draws from ``SeedSequence(seed, spawn_key=key_k)``.
        ``None`` draws fresh entropy (reported in the result's ``seed``).
    executor : {"auto", "serial", "processes", "dask"}
        ``"auto"``: ``"dask"`` when ``scheduler`` is given, ``"processes"`` when
        ``workers > 1`` or (``workers`` unset) for at least
        :data:`AUTO_PROCESS_PATHS` paths on a multi-core machine, else ``"serial"``.
    scheduler : str or distributed.Client, optional
        Dask only: ``None`` starts an embedded ``LocalCluster`` with ``workers``
        single-threaded worker processes; ``"tcp://host:port"`` connects to a running
        scheduler (its workers must be able to import polyfold); a ``Client`` is used
        as is (and left open).
    workers : int, optional
        Local worker processes (default: the usable cores).  Ignored for a remote
        scheduler.
    out : str or path, optional
        Directory for per-path results, one ``chunk-XXXXXXXX.npz`` per chunk
        (``i_start, i_end, n_pieces, recomputed, degenerate`` and, for folding,
        ``r1, r2, prefix_r1, prefix_r2``; ``group`` for grouped explicit paths), with a
        ``manifest.json`` describing the sweep.  Created when missing; an existing
        file of that name is refused (ValidationError), never overwritten.
    resume : bool
        With ``out``: reuse the chunk files already written by the same sweep (a
        manifest describing a different sweep raises).  ``False`` deletes them first.
    mode : {"certified", "float", "exact"}
        Arithmetic of :func:`polyfold.segment_crossings`.
    tol : Tolerance, optional
    chunk_size : int
        Paths per chunk (memory per worker grows linearly with it; the results
        depend on it through the per-chunk seeds, so keep it fixed to reproduce).
    on_error : {"raise", "collect"}
        A chunk that raises is retried once; if it fails again, ``"raise"`` stops
        the sweep with :class:`~polyfold.exceptions.ChunkError` (chunk files already
        written stay for a resume) and ``"collect"`` records it in
        ``failed_chunks`` and carries on.
    progress : bool or None
        tqdm progress bar over chunks; ``None`` shows it only when stderr is a
        terminal.

    Returns
    -------
    SweepResult
        ``total`` and per-group :class:`PathAggregate`, the number of paths covered
        and requested, failed chunks, the seed.

    Raises
    ------
    ValidationError
        Bad arguments, a source of the wrong type, indices out of range, an ``out``
        directory holding a different sweep.
    ShapeError
        ``points`` of the wrong shape.
    ChunkError
        A chunk failed twice (``on_error="raise"``); ``chunk_id`` names it.
    DependencyError
        ``executor="dask"`` without ``dask.distributed`` installed.

    Notes
    -----
    Local processes are forked on Linux when the calling process runs no other
    thread, and spawned otherwise; spawned workers (and Dask's) re-import the main
    module, so scripts should start a sweep under ``if __name__ == "__main__":``.
    A worker process that dies breaks the pool: a fresh pool is started (at most
    twice) and the chunks in flight are retried.

    Only counters are kept: per group the histogram of piece counts and the exact
    counters of the reduced fractions ``chi`` and prefix maxima, so memory does not
    grow with the number of paths, and merging in any order gives identical
    results.  Per worker, the first layer is evaluated once per data point.  At most
    ``2 * workers`` chunks are in flight at a time.

    Examples
    --------
    >>> import numpy as np, polyfold
    >>> from polyfold.parallel import sweep, IndexPairs
    >>> net = polyfold.zoo.sawtooth(2)
    >>> pts = np.array([[0.0], [1.0], [0.5]])
    >>> res = sweep(net, pts, IndexPairs([0, 0], [1, 2]), quantity="crossings", seed=0)
    >>> res.total.crossings_histogram().tolist(), res.n_paths
    ([0, 1, 0, 1], 2)
    """
    check_net(net)
    X, _ = net_points(net, points, "points")
    if not isinstance(source, _SOURCES):
        raise ValidationError(
            f"source must be a ClassPairs, IndexPairs or RandomPairs from polyfold.parallel, "
            f"got {type(source).__name__}."
        )
    source.check(len(X))
    quantity = check_choice("quantity", quantity, QUANTITIES)
    check_mode(mode)
    tolv = get_tol(tol)
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    on_error = check_choice("on_error", on_error, ("raise", "collect"))
    if not isinstance(resume, bool):
        raise ValidationError(f"resume must be True or False, got {resume!r}.")
    entropy = _check_seed(seed)
    show = _show_progress(progress)
    executor, workers = _pick_executor(executor, scheduler, workers, source.n_paths)
    if out is not None:
        if isinstance(out, bytes):
            out = os.fsdecode(out)
        if not isinstance(out, (str, os.PathLike)) or os.fspath(out) == "":
            raise ValidationError(
                f"out must be a directory name (a str or pathlib.Path) or None, got {out!r}."
            )
        out = os.fspath(out)

    desc = {
        "format": _FORMAT,
        "net_sha256": _net_digest(net),
        "points_sha256": _sha256(X),
        "source": source.describe(),
        "quantity": quantity,
        "mode": mode,
        "tol": repr(tolv),
        "seed": str(entropy),
        "chunk_size": chunk_size,
    }
    token = hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()
    spec = _Spec(
        token=token,
        net=net,
        points=X,
        source=source,
        quantity=quantity,
        mode=mode,
        tol=tolv,
        entropy=entropy,
        want_paths=out is not None,
        faults=dict(_faults) if _faults else None,
        # one worker process per core: no kernel threads inside the workers
        threads=None if executor == "serial" else 1,
    )
    chunks = list(source.chunks(chunk_size))
    keys = source.group_keys
    folding = quantity == "folding"
    total = PathAggregate(folding=folding)
    groups = {k: PathAggregate(folding=folding) for k in keys}
    covered = 0

    def absorb(aggs):
        nonlocal covered
        for g, a in aggs.items():
            total.merge(a)
            if g >= 0:
                groups[keys[g]].merge(a)
            covered += a.n_paths

    t0 = time.perf_counter()
    todo = chunks
    n_resumed = 0
    if out is not None:
        desc["n_chunks"] = len(chunks)
        desc["n_paths"] = source.n_paths
        _prepare_out(out, desc, resume)
        if resume:
            present = set(os.listdir(out))
            todo = []
            for c in chunks:
                paths = _read_chunk(out, c, quantity) if _chunk_name(c.id) in present else None
                if paths is None:
                    todo.append(c)
                else:
                    absorb(_aggregate_paths(paths, c.group))
                    n_resumed += 1

    failed = []
    by_id = {c.id: c for c in todo} if todo else {}
    n_workers = workers
    if todo:
        if executor == "serial":
            runner = _SerialRunner(spec)
        elif executor == "processes":
            runner = _PoolRunner(spec, min(workers, len(todo)))
        else:
            runner = _DaskRunner(spec, workers, scheduler)
        n_workers = runner.n_workers
        bar = None
        if show:
            from .._progress import progress_bar

            bar = progress_bar(total=len(chunks), initial=n_resumed, unit="chunk", desc="sweep",
                               progress=True, leave=True)
        pending = {}
        it = iter(todo)
        window = max(1, 2 * runner.n_workers) if executor != "serial" else 1
        try:
            while True:
                while len(pending) < window:
                    c = next(it, None)
                    if c is None:
                        break
                    pending[runner.submit(c, 0)] = (c, 0)
                if not pending:
                    break
                for fut in runner.wait(pending):
                    c, attempt = pending.pop(fut)
                    try:
                        cid, aggs, paths = fut.result()
                    except Exception as err:
                        if attempt == 0:
                            pending[runner.submit(c, 1)] = (c, 1)
                            continue
                        msg = f"{type(err).__name__}: {str(err).rstrip('.')}"
                        group = keys[c.group] if c.group >= 0 else None
                        if on_error == "raise":
                            for f in pending:
                                f.cancel()
                            broken = type(err).__name__ == "BrokenProcessPool"
                            what = (
                                "could not run: worker processes died twice while it was "
                                "in flight (the culprit may be another chunk in flight)"
                                if broken
                                else "failed twice"
                            )
                            hint = _POOL_HINT if broken else "Fix the cause and rerun"
                            raise ChunkError(
                                f"chunk {c.id} ({c.n} paths"
                                + (f", group {group!r}" if group is not None else "")
                                + f") {what}: {msg}. {hint.rstrip('.')}; with "
                                "out=... the chunks already written are reused, or pass "
                                "on_error='collect' to skip failed chunks.",
                                chunk_id=c.id,
                            ) from err
                        failed.append(FailedChunk(chunk_id=c.id, group=group, n_paths=c.n, error=msg))
                        if bar is not None:
                            bar.update(1)
                        continue
                    if out is not None:
                        _write_chunk(out, by_id[cid], paths)
                    absorb(aggs)
                    if bar is not None:
                        bar.update(1)
        finally:
            if bar is not None:
                bar.close()
            runner.close()

    failed.sort(key=lambda f: f.chunk_id)
    common = {
        "total": total,
        "groups": groups,
        "n_paths": covered,
        "n_paths_requested": source.n_paths,
        "n_chunks": len(chunks),
        "n_chunks_resumed": n_resumed,
        "failed_chunks": tuple(failed),
        "quantity": quantity,
        "mode": mode,
        "seed": entropy,
        "chunk_size": chunk_size,
        "executor": executor,
        "n_workers": n_workers,
        "out": out,
        "elapsed": time.perf_counter() - t0,
    }
    if isinstance(source, ClassPairs):
        return ClassPairSweep(labels=source.labels, paths_per_pair=source.paths_per_pair, **common)
    return SweepResult(**common)


def class_pair_sweep(
    net,
    X,
    y,
    *,
    paths_per_pair=1000,
    seed=0,
    quantity="folding",
    pairs=None,
    same_class=False,
    executor="auto",
    scheduler=None,
    workers=None,
    out=None,
    resume=True,
    mode="certified",
    tol=None,
    chunk_size=4096,
    on_error="raise",
    progress=None,
):
    """Folding (or crossing counts) between every ordered pair of classes, streamed.

    The scale-out form of :func:`polyfold.class_pair_folding`: for every ordered
    pair of labels ``(a, b)``, ``paths_per_pair`` random paths from a point of class
    ``a`` to one of class ``b``, computed in chunks on local processes or a Dask
    cluster and aggregated without keeping per-path results.

    Parameters
    ----------
    net : PLNet
    X : (n, input_dim) float
        Data points (for example a test set).
    y : (n,) labels
        At least 2 classes.
    paths_per_pair : int
        Paths per ordered pair (the papers use up to 1M).
    seed : int, numpy SeedSequence or None
        Pair ``(a, b)`` (class positions ``ia, ib`` among the ``C`` sorted labels)
        and its chunk ``k`` draw from ``SeedSequence(seed, spawn_key=(ia * C + ib,
        k))``: the same paths for any executor, number of workers or subset of
        ``pairs``.
    quantity : {"folding", "crossings"}
    pairs : sequence of (a, b), optional
        Restrict to these ordered label pairs.
    same_class : bool
        Also sweep the pairs ``(a, a)`` (paths inside one class; the papers' "100
        ordered digit pairs" of 10 classes include them).  Default False:
        ``C (C - 1)`` pairs.
    executor, scheduler, workers, out, resume, mode, tol, chunk_size, on_error, progress
        As :func:`sweep`.

    Returns
    -------
    ClassPairSweep
        ``groups[(a, b)]`` (or ``pair(a, b)``) per pair and ``total`` over all paths
        (:class:`PathAggregate`: exact ``chi_max``, ``phi``, ``fraction_flat``,
        quantiles, crossing histograms); ``pair_matrix("chi_max")`` the heat map;
        ``pair_max_median`` (reading 1: per pair the maximum of ``chi``, median over
        pairs) and ``path_prefix_max_median`` (reading 2: per path the maximum of its
        prefix curve, median of the non-zero ones), exact as ``*_exact``;
        ``n_paths`` covered, ``failed_chunks``.

    Raises
    ------
    ShapeError
        ``X``/``y`` of the wrong shape.
    ValidationError
        Fewer than 2 classes, bad ``pairs`` or options (see :func:`sweep`).
    ChunkError
        A chunk failed twice (``on_error="raise"``).
    DependencyError
        ``executor="dask"`` without ``dask.distributed``.

    Notes
    -----
    Reading 1 follows :func:`polyfold.class_pair_folding`: a pair whose paths are
    all flat contributes 0.  The endpoints are drawn differently from
    :func:`polyfold.class_pair_folding` (per chunk rather than per pair), so the
    two agree in distribution, not path by path.

    Examples
    --------
    >>> import numpy as np, polyfold
    >>> from polyfold.parallel import class_pair_sweep
    >>> net = polyfold.zoo.random_mlp((4, 4), 2, seed=1)
    >>> X = np.random.default_rng(0).uniform(-1, 1, (20, 2)); y = np.arange(20) % 2
    >>> res = class_pair_sweep(net, X, y, paths_per_pair=50, seed=0, executor="serial")
    >>> res.n_paths, sorted(res.groups), res.complete
    (100, [(0, 1), (1, 0)], True)
    >>> res.pair_matrix("chi_max").shape
    (2, 2)
    """
    check_net(net)
    Xa, y, _ = _check_labelled(net, X, y)
    source = ClassPairs(y, paths_per_pair, pairs=pairs, same_class=same_class)
    return sweep(
        net, Xa, source, quantity=quantity, seed=seed, executor=executor, scheduler=scheduler,
        workers=workers, out=out, resume=resume, mode=mode, tol=tol, chunk_size=chunk_size,
        on_error=on_error, progress=progress,
    )
