"""Scale-out: streaming sweeps over millions of paths, locally or on a Dask cluster.

A *sweep* computes one quantity (crossing counts, or the folding measure ``chi``
with its prefix maxima) on many straight paths between points of a fixed data set,
and keeps only mergeable aggregates: counts, sums, exact maxima and exact
histograms.  ``chi = 1 - r1 / r2`` is a ratio of small integers, so a counter over
the reduced fractions holds the exact distribution of ``chi`` in memory that grows
with the number of *distinct* values (bounded by the path lengths), not with the
number of paths: medians, quantiles and maxima are exact, and a sweep over 10^8
paths runs in the memory of one chunk.

A sweep is described by

* the network and the data points (``points``),
* an endpoint source: :class:`ClassPairs` (random paths between every ordered pair
  of classes), :class:`IndexPairs` (explicit index arrays) or :class:`RandomPairs`
  (uniform random pairs, seeded),
* the quantity (:data:`QUANTITIES`), the arithmetic ``mode`` and a ``seed``.

It is split into chunks of ``chunk_size`` paths.  Every chunk draws its endpoints
from its own generator, ``SeedSequence(seed, spawn_key=key)`` with a key fixed by
the chunk's place in the sweep, so results are the same for every executor and
every number of workers.  Only the network weights, the points and the chunk
descriptions travel to the workers; endpoints are drawn (or sliced) on the
worker, and each worker evaluates the first layer once per data point
(:func:`polyfold.crossings.first_layer_cache`), so the input dimension costs
nothing per path.

Executors: ``"serial"`` (in process), ``"processes"`` (a local
:class:`concurrent.futures.ProcessPoolExecutor`) and ``"dask"``
(``dask.distributed``: an embedded ``LocalCluster`` by default, or a running
cluster given by its scheduler address).

Layout of this package (every public name is importable from
``polyfold.parallel``):

* ``sources`` -- the endpoint sources :class:`ClassPairs`, :class:`IndexPairs`,
  :class:`RandomPairs` and the chunks they split a sweep into;
* ``aggregates`` -- :class:`PathAggregate`, the mergeable exact counters;
* ``results`` -- :class:`SweepResult`, :class:`ClassPairSweep` and
  :class:`FailedChunk`;
* ``sweeps`` -- the driver, :func:`sweep` and :func:`class_pair_sweep`, and the
  constants :data:`QUANTITIES`, :data:`EXECUTORS`, :data:`AUTO_PROCESS_PATHS`;
* private helpers: ``_worker`` (the sweep description shipped to the workers and
  the task functions; process pools and Dask pickle them by name, so they stay at
  ``polyfold.parallel._worker``), ``_runners`` (serial, process-pool and Dask
  executors), ``_files`` (per-chunk files and the manifest) and ``_common``
  (hashes, JSON keys).
"""

from . import sweeps as _sweeps
from .aggregates import PathAggregate
from .results import ClassPairSweep, FailedChunk, SweepResult
from .sources import ClassPairs, IndexPairs, RandomPairs
from .sweeps import class_pair_sweep, sweep

__all__ = [
    "EXECUTORS",
    "QUANTITIES",
    "ClassPairSweep",
    "ClassPairs",
    "FailedChunk",
    "IndexPairs",
    "PathAggregate",
    "RandomPairs",
    "SweepResult",
    "class_pair_sweep",
    "sweep",
]

# The constants live in ``sweeps``; they are bound here again with their ``#:``
# comments because Sphinx autodoc reads those comments from this file only.

#: quantities a sweep can compute
QUANTITIES = _sweeps.QUANTITIES

#: executors a sweep can run on ("auto" picks one of the others)
EXECUTORS = _sweeps.EXECUTORS

#: ``executor="auto"`` switches from in-process to local processes at this many paths
AUTO_PROCESS_PATHS = _sweeps.AUTO_PROCESS_PATHS
