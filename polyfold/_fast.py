"""Loader and wrapper of the optional compiled crossing kernel ``polyfold._ckernel``.

The C extension is built by ``pip install .`` / ``pip install -e .`` when a C
compiler is available (``setup.py`` marks it optional: a failed build leaves
polyfold working with the numpy kernel).  It picks its vector code when imported
(AVX-512 or AVX2 with fused multiply-adds, else portable C; ``ISA`` says which) and
runs a chunk's segments on several threads.

:func:`prepare` turns a network into the kernel's form once (cached for the last
few networks), :func:`new_builder` makes the object that collects the results of
one call chunk by chunk, and :func:`partition_into` runs one chunk.
:func:`partition` keeps the dict interface of :func:`polyfold.crossings._partition`.

Notes
-----
The float band of the C kernel is the chunk band of the numpy kernel (``tol.zero``
times the largest ``|z|`` of each neuron over all points of the chunk at that
layer).  Because the kernel sweeps one segment at a time through all layers, it
first decides with the running maximum over the segments before it on the same
thread (never larger than the chunk maximum), records the smallest margin of every
decision, and then recomputes, with the final band, the segments whose margin lies
within it.  The chunk maxima are taken over the points of that first sweep; they
agree with the numpy kernel's up to rounding (the maximum of ``|z|`` over the points
of a layer is the maximum over the whole segment, whatever the breakpoints).

Float merging (``tol.merge``) is applied to the segments that gained breakpoints at
a layer; the numpy kernel applies it to the whole batch whenever any segment gained
one.  The points of an untouched segment are already more than ``tol.merge`` apart
(they were merged before, or they are the ends ``t = 0, 1``), so the two agree
unless ``tol.merge >= 1``.

Examples
--------
>>> import polyfold
>>> from polyfold import _fast
>>> _fast.available_backends()[-1]
'numpy'
>>> res = polyfold.segment_crossings(polyfold.zoo.sawtooth(3), [0.0], [1.0], mode="float")
>>> res.n_pieces.tolist()  # same with either backend
[8]
"""

import contextlib
import os
from collections import OrderedDict

import numpy as np

from .exceptions import DependencyError
from .tolerance import UNIT_ROUNDOFF

__all__ = [
    "available",
    "available_backends",
    "partition",
    "partition_into",
    "prepare",
    "new_builder",
    "applicable",
    "default_threads",
    "BUILD_HINT",
]

BUILD_HINT = (
    "the compiled kernel polyfold._ckernel is not built; build it with a C compiler "
    "(gcc or clang) by reinstalling polyfold: `pip install -e .` (or `pip install .`) "
    "in the source tree, or `python setup.py build_ext --inplace`; otherwise use "
    'backend="numpy" or backend="auto".'
)

try:  # pragma: no cover - depends on the build
    from . import _ckernel  # noqa: F401

    if getattr(_ckernel, "ABI_VERSION", 0) != 2:
        raise ImportError(
            "polyfold._ckernel is an old build (ABI_VERSION "
            f"{getattr(_ckernel, 'ABI_VERSION', 0)}, need 2); rebuild it"
        )
    _IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the build
    _ckernel = None
    _IMPORT_ERROR = exc

_KINDS = {"relu": 0, "leaky_relu": 1, "hardtanh": 2, "identity": 3}
#: estimated work per thread (segments times :func:`segment_work`) below which a chunk
#: runs on fewer threads: about 270 segments of the 6x10 digits MLP, one segment of a
#: 784-input 4x256 MLP
MIN_WORK_PER_THREAD = 150_000


def available():
    """True when the compiled kernel is importable."""
    return _ckernel is not None


def available_backends():
    """Names of the crossing kernels that can run here: ``("c", "numpy")`` or ``("numpy",)``."""
    return ("c", "numpy") if available() else ("numpy",)


def require():
    """Raise :class:`~polyfold.DependencyError` unless the compiled kernel is importable."""
    if _ckernel is None:
        detail = f" ({_IMPORT_ERROR})" if _IMPORT_ERROR is not None else ""
        raise DependencyError(f"backend='c' is unavailable: {BUILD_HINT}{detail}")


def applicable(net):
    """True when ``net`` is a dense stack with hidden layers of activations the C kernel knows."""
    from .network import HardTanh, Identity, LeakyReLU, ReLU

    return (
        getattr(net, "is_dense", True)
        and net.depth > 0
        and all(isinstance(a, (ReLU, LeakyReLU, HardTanh, Identity)) for a in net.activations)
    )


def segment_work(net):
    """A segment's estimated kernel work: the multiply-adds of the hidden layers after
    the first, plus the hidden units (per point; the kernel's cost grows with both)."""
    layers = net.layers[1 : net.depth]
    return sum(W.shape[0] * W.shape[1] for W, _ in layers) + int(sum(net.widths))


def threads_for(net, m, threads):
    """The threads worth starting for ``m`` segments of ``net`` (at most ``threads``)."""
    per = max(1, segment_work(net))
    return max(1, min(int(threads), (m * per) // MIN_WORK_PER_THREAD or 1))


def default_threads():
    """Threads a kernel call may use: the cores this process may run on (``POLYFOLD_THREADS``
    overrides; 1 without thread support in the build)."""
    if _ckernel is None or not getattr(_ckernel, "THREADS", 0):
        return 1
    env = os.environ.get("POLYFOLD_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            pass
    from ._validation import available_cores

    return available_cores()


_BLAS = []


def single_blas():
    """A context in which BLAS runs on one thread (a no-op without threadpoolctl).

    The kernel's own threads and a multi-threaded BLAS do not mix: after each of the
    chunks' first-layer products OpenBLAS's workers keep spinning on the cores the
    kernel's threads need (on two cores, two kernel threads with two BLAS threads
    ran slower than one kernel thread).  The first-layer products of a chunk are
    small, so one BLAS thread loses little.
    """
    if not _BLAS:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            _BLAS.append(None)
        else:
            _BLAS.append(ThreadpoolController())
    ctl = _BLAS[0]
    return contextlib.nullcontext() if ctl is None else ctl.limit(limits=1, user_api="blas")


def _gamma(n):
    nu = n * UNIT_ROUNDOFF
    return nu / (1.0 - nu)


def _net_params(net, tolv):
    from ._packing import layer_bits
    from .network import HardTanh, LeakyReLU

    layers = net.layers
    depth = net.depth
    widths = np.asarray(net.widths, dtype=np.int64)
    parts = []
    # certified error-bound coefficients, mirroring crossings._partition:
    #   E_l = (cH |H| + cE E_{l-1})_max |W_l|^T + cB |b_l|  (maxima over blocks of points)
    #   E_new, te_new: crossings.breakpoint_bounds (cI = 4 u safety)
    certpar = np.zeros((depth, 4), np.float64)
    certpar[:, 3] = 4 * UNIT_ROUNDOFF * tolv.safety
    for l in range(1, depth):
        W, b = layers[l]
        parts.append(np.ascontiguousarray(W.T, dtype=np.float64).ravel())
        parts.append(np.asarray(b, dtype=np.float64).ravel())
        g = _gamma(W.shape[1] + 2)
        fresh = g * tolv.safety
        certpar[l, 0] = fresh
        certpar[l, 1] = net.activations[l - 1].lipschitz * (1 + 4 * g)
        certpar[l, 2] = fresh
    params = np.concatenate(parts) if parts else np.zeros(1)
    acts = np.empty(depth, np.int64)
    actpar = np.zeros((depth, 3), np.float64)
    for l, a in enumerate(net.activations):
        acts[l] = _KINDS[a.name]
        if isinstance(a, LeakyReLU):
            actpar[l, 0] = a.slope
        elif isinstance(a, HardTanh):
            actpar[l, 1] = a.lo
            actpar[l, 2] = a.hi
    tabs = net._code_tables()
    nthr = np.array([len(t[0]) for t in tabs], np.int64)
    thr = np.concatenate([np.asarray(t[0], np.float64) for t in tabs])
    return widths, params, acts, actpar, nthr, thr, certpar, layer_bits(net)


_PREPARED = OrderedDict()
_PREPARED_MAX = 8


def prepare(net, tolv, certified):
    """The kernel's form of ``net`` (packed weights, bounds' coefficients), cached."""
    require()
    key = (net, float(tolv.zero), float(tolv.merge), float(tolv.safety), bool(certified))
    kn = _PREPARED.get(key)
    if kn is None:
        from ._segment_kernel import eb_block

        kn = _ckernel.KNet(*_net_params(net, tolv), float(tolv.zero), float(tolv.merge), bool(certified),
                           int(eb_block(net)))
        _PREPARED[key] = kn
        while len(_PREPARED) > _PREPARED_MAX:
            _PREPARED.popitem(last=False)
    else:
        _PREPARED.move_to_end(key)
    return kn


def new_builder(code_words, certified):
    """A :class:`polyfold._ckernel.Builder` collecting one call's results."""
    require()
    return _ckernel.Builder(int(code_words), bool(certified))


def _rows(a):
    return None if a is None else np.ascontiguousarray(a, dtype=np.int64)


def partition_into(builder, kn, ZA, ZB, ia=None, ib=None, EA=None, EB=None, *, threads=1):
    """Run one chunk of segments ``ZA[ia[i]] -> ZB[ib[i]]`` and append it to ``builder``
    on ``threads`` threads (at most one per segment).

    Returns ``(n_redo, ambiguous, tiny)``: segments recomputed with the final float
    band, the chunk-local ids (int64) of the segments certified mode could not decide,
    and those among them whose values or bounds came near the subnormal range (for
    exact arithmetic only: no float64 pass can vouch for them).
    """
    ZA = np.ascontiguousarray(ZA, dtype=np.float64)
    ZB = np.ascontiguousarray(ZB, dtype=np.float64)
    ia, ib = _rows(ia), _rows(ib)
    m = len(ia) if ia is not None else len(ZA)
    if kn.certified:
        EA = np.ascontiguousarray(EA, dtype=np.float64)
        EB = np.ascontiguousarray(EB, dtype=np.float64)
    threads = max(1, min(int(threads), m))
    n_redo, amb, tiny = _ckernel.partition(kn, builder, ZA, ZB, ia, ib, EA, EB, m, threads)
    return int(n_redo), np.frombuffer(amb, np.int64), np.frombuffer(tiny, np.int64)


def finish(builder, n_hidden):
    """``(n_pieces, flags, t, te, codes_packed)`` numpy arrays of a builder (no copies)."""
    npieces, flags, t, te, codes = builder.finish()
    npieces = np.frombuffer(npieces, np.int64)
    flags = np.frombuffer(flags, np.uint8)
    t = np.frombuffer(t, np.float64)
    te = np.frombuffer(te, np.float64)
    codes = np.frombuffer(codes, np.uint64)
    return npieces, flags, t, te, codes


def partition(net, Z0, E0, exact, tolv, certified):
    """The compiled kernel with the interface of ``crossings._partition``.

    Parameters
    ----------
    net : PLNet
        Hidden activations among ReLU, LeakyReLU, HardTanh, Identity.
    Z0 : (2 m, width_0) float
        First-layer preactivations at the interleaved segment ends.
    E0 : (2 m, width_0) float or None
        Their error bounds (certified mode).
    exact : bool
        Must be False (exact mode stays in Python).
    tolv : Tolerance
    certified : bool

    Returns
    -------
    dict
        ``seg``, ``t``, ``te``, ``piece``, ``codes``, ``degenerate``, ``endpoint``,
        ``ambiguous`` as in ``crossings._partition`` (plus ``n_redo``: segments the
        float sweep recomputed with the final band).  In float mode the breakpoints
        where no code changes are already removed (``silent_dropped``), as
        ``crossings._drop_silent_breakpoints`` would.
    """
    from ._packing import code_layout, unpack_codes

    require()
    if exact:
        raise ValueError("the compiled kernel has no exact mode; use the numpy kernel")
    Z0 = np.ascontiguousarray(Z0, dtype=np.float64)
    m = len(Z0) // 2
    kn = prepare(net, tolv, certified)
    b = new_builder(kn.code_words, certified)
    E = (E0[0::2], E0[1::2]) if certified else (None, None)
    n_redo, amb, tiny = partition_into(b, kn, Z0[0::2], Z0[1::2], None, None, *E, threads=1)
    npieces, flags, t_in, te_in, words = finish(b, net.n_hidden)
    codes = unpack_codes(words.reshape(-1, kn.code_words), code_layout(net))
    # points: ends and breakpoints per segment, in order
    counts = npieces + 1
    seg = np.repeat(np.arange(m, dtype=np.int64), counts)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    inner = np.ones(len(seg), bool)
    inner[first] = False
    inner[first + counts - 1] = False
    t = np.zeros(len(seg))
    t[first + counts - 1] = 1.0
    t[inner] = t_in
    te = None
    if certified:
        te = np.zeros(len(seg))
        te[inner] = te_in
    keep = np.ones(len(seg), bool)
    keep[first + counts - 1] = False
    endpoint = np.stack([(flags & 2) != 0, (flags & 4) != 0], axis=1)
    return {
        "seg": seg,
        "t": t,
        "te": te,
        "piece": np.flatnonzero(keep),
        "codes": codes,
        "degenerate": (flags & 1) != 0,
        "endpoint": endpoint,
        "ambiguous": np.asarray(amb, np.int64),
        "tiny": np.asarray(tiny, np.int64),
        "n_redo": int(n_redo),
        "silent_dropped": not certified,
    }
