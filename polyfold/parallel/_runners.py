"""Executors of a sweep: submit a chunk, wait for the first finished ones.

:class:`_SerialRunner` (in process), :class:`_PoolRunner` (a local
:class:`concurrent.futures.ProcessPoolExecutor`, forked or spawned, restarted when
a worker dies) and :class:`_DaskRunner` (``dask.distributed``: an embedded
``LocalCluster``, a scheduler address or a client).
"""

import contextlib
import sys
import time

from ..exceptions import ChunkError, DependencyError, ValidationError
from ._worker import _dask_task, _pool_init, _pool_task, _run_chunk


class _Done:
    """An already-finished future (serial runner)."""

    def __init__(self, fn, *args):
        self._exc = None
        self._res = None
        try:
            self._res = fn(*args)
        except Exception as err:  # noqa: BLE001 - reported by the driver
            self._exc = err

    def result(self):
        if self._exc is not None:
            raise self._exc
        return self._res

    def cancel(self):
        return False


class _SerialRunner:
    n_workers = 1
    name = "serial"

    def __init__(self, spec):
        self.spec = spec

    def submit(self, chunk, attempt):
        return _Done(_run_chunk, self.spec, chunk, attempt)

    def wait(self, pending):
        return list(pending)

    def close(self):
        pass


_POOL_HINT = (
    "If the sweep is started at the top level of a script, put it under "
    "`if __name__ == \"__main__\":` (the spawn start method re-imports the main module "
    "in every worker); a worker killed by the operating system (out of memory) has the "
    "same effect: lower chunk_size or workers, or use executor='serial'."
)


def _start_method():
    """``fork`` on Linux when this process runs no other Python thread (fast, and the
    main module is not re-imported), else ``spawn`` (safe with threads)."""
    import multiprocessing
    import threading

    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


class _PoolRunner:
    name = "processes"
    max_restarts = 2

    def __init__(self, spec, workers):
        self.n_workers = workers
        self._spec = spec
        self.restarts = 0
        self._start()

    def _start(self):
        from concurrent.futures import ProcessPoolExecutor

        from ._guard import check_main_guard

        ctx = _start_method()
        check_main_guard("polyfold.parallel (executor='processes')", ctx.get_start_method())
        self.pool = ProcessPoolExecutor(
            max_workers=self.n_workers,
            mp_context=ctx,
            initializer=_pool_init,
            initargs=(self._spec,),
        )

    def submit(self, chunk, attempt):
        from concurrent.futures.process import BrokenProcessPool

        try:
            return self.pool.submit(_pool_task, chunk, attempt)
        except BrokenProcessPool as err:
            # a worker died (not an exception in a chunk): start a fresh pool
            if self.restarts >= self.max_restarts:
                raise ChunkError(
                    f"the local worker processes died {self.restarts + 1} times (last with "
                    f"chunk {chunk.id} pending). {_POOL_HINT}",
                    chunk_id=chunk.id,
                ) from err
            self.restarts += 1
            _kill_workers(self.pool)
            self._start()
            return self.pool.submit(_pool_task, chunk, attempt)

    def wait(self, pending):
        from concurrent.futures import FIRST_COMPLETED, wait

        return wait(list(pending), return_when=FIRST_COMPLETED).done

    def close(self):
        if getattr(self.pool, "_broken", False):
            _kill_workers(self.pool)
        else:
            self.pool.shutdown(wait=True, cancel_futures=True)


def _kill_workers(pool):
    """Shut down a broken process pool without hanging.

    When a worker dies, the pool's manager thread terminates and joins the other
    workers; with the spawn start method a worker started by a concurrent
    ``submit`` can escape the termination and the join (and interpreter exit) then
    waits forever (CPython 3.11).  Killing every worker process of the pool, once it
    is flagged broken (no new worker starts after that), unblocks it.
    """
    procs = getattr(pool, "_processes", None) or {}
    for proc in list(procs.values()):
        with contextlib.suppress(Exception):
            proc.kill()
    pool.shutdown(wait=True, cancel_futures=True)


def _import_distributed():
    try:
        import distributed
    except ImportError as err:
        raise DependencyError(
            "executor='dask' requires dask.distributed: pip install 'dask[distributed]' "
            "(or pip install polyfold[all]); use executor='processes' for local cores."
        ) from err
    return distributed


class _DaskRunner:
    name = "dask"

    def __init__(self, spec, workers, scheduler):
        import logging

        distributed = _import_distributed()
        self._distributed = distributed
        self._cluster = None
        self._own_client = True
        if scheduler is None:
            import dask

            from ._guard import check_main_guard

            check_main_guard("polyfold.parallel (executor='dask', an embedded LocalCluster)",
                             dask.config.get("distributed.worker.multiprocessing-method",
                                             "spawn"))
            self._cluster = distributed.LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                # the scheduler's HTTP routes on a free port (no clash with a running
                # cluster on 8787; no dashboard)
                scheduler_kwargs={"dashboard_address": ":0"},
                silence_logs=logging.ERROR,
            )
            self.client = distributed.Client(self._cluster)
        elif isinstance(scheduler, str):
            try:
                self.client = distributed.Client(scheduler, timeout="30s")
            except (OSError, TimeoutError, ValueError) as err:  # ValueError: bad address
                raise ValidationError(
                    f"scheduler={scheduler!r}: could not connect to a Dask scheduler ({err}); "
                    "pass its address as 'tcp://host:port', or scheduler=None for a local cluster."
                ) from err
        elif isinstance(scheduler, distributed.Client):
            self.client = scheduler
            self._own_client = False
        else:
            raise ValidationError(
                f"scheduler must be None, an address string such as 'tcp://host:8786' or a "
                f"distributed.Client, got {type(scheduler).__name__}."
            )
        info = self.client.scheduler_info()
        self.n_workers = max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))
        self._spec = self.client.scatter(spec, broadcast=True, hash=False)
        self._token = spec.token[:16]

    def submit(self, chunk, attempt):
        return self.client.submit(
            _dask_task, self._spec, chunk, attempt, pure=False,
            key=f"polyfold-chunk-{self._token}-{chunk.id}-{attempt}-{time.monotonic_ns()}",
        )

    def wait(self, pending):
        return self._distributed.wait(list(pending), return_when="FIRST_COMPLETED").done

    def close(self):
        with contextlib.suppress(Exception):  # best effort on shutdown
            self.client.cancel([self._spec])
        if self._own_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()
