"""Loader and wrapper of the optional compiled crossing kernel ``polyfold._ckernel``.

The C extension is built by ``pip install .`` / ``pip install -e .`` when a C
compiler is available (``setup.py`` marks it optional: a failed build leaves
polyfold working with the numpy kernel).  :func:`partition` takes exactly what
:func:`polyfold.crossings._partition` takes in float and certified mode and returns
the same dict.

Notes
-----
The float band of the C kernel is the batch band of the numpy kernel
(``tol.zero`` times the largest ``|z|`` of each neuron over all points of the batch
at that layer).  Because the kernel sweeps one segment at a time through all layers,
it first decides with the running maximum over the segments before it (never
larger than the batch maximum), records the smallest margin of every decision, and
then recomputes, with the final band, the segments whose margin lies within it.
The batch maxima are taken over the points of that first sweep; they agree with the
numpy kernel's up to rounding (the maximum of ``|z|`` over the points of a layer
is the maximum over the whole segment, whatever the breakpoints).

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

import numpy as np

from .exceptions import DependencyError
from .tolerance import UNIT_ROUNDOFF

__all__ = ["available", "available_backends", "partition", "applicable", "BUILD_HINT"]

BUILD_HINT = (
    "the compiled kernel polyfold._ckernel is not built; build it with a C compiler "
    "(gcc or clang) by reinstalling polyfold: `pip install -e .` (or `pip install .`) "
    "in the source tree, or `python setup.py build_ext --inplace`; otherwise use "
    'backend="numpy" or backend="auto".'
)

try:  # pragma: no cover - depends on the build
    from . import _ckernel  # noqa: F401

    _IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the build
    _ckernel = None
    _IMPORT_ERROR = exc

_KINDS = {"relu": 0, "leaky_relu": 1, "hardtanh": 2, "identity": 3}


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
    """True when ``net`` has hidden layers and every activation is one the C kernel knows."""
    from .network import HardTanh, Identity, LeakyReLU, ReLU

    return net.depth > 0 and all(isinstance(a, (ReLU, LeakyReLU, HardTanh, Identity)) for a in net.activations)


def _gamma(n):
    nu = n * UNIT_ROUNDOFF
    return nu / (1.0 - nu)


def _net_params(net, tolv):
    from .network import HardTanh, LeakyReLU

    layers = net.layers
    depth = net.depth
    widths = np.asarray(net.widths, dtype=np.int64)
    parts = []
    # certified error-bound coefficients, mirroring crossings._partition:
    #   E_l = (cH |H| + cE E_{l-1}) |W_l|^T + cB |b_l|
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
    return widths, params, acts, actpar, nthr, thr, certpar


def partition(net, Z0, E0, exact, tolv, certified):
    """The compiled kernel; same arguments and result as ``crossings._partition``.

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
        ``seg``, ``t``, ``piece``, ``codes``, ``degenerate``, ``endpoint``,
        ``ambiguous`` as in ``crossings._partition`` (plus ``n_redo``: segments the
        float sweep recomputed with the final band).  In float mode the breakpoints
        where no code changes are already removed (``silent_dropped``), as
        ``crossings._drop_silent_breakpoints`` would.
    """
    require()
    if exact:
        raise ValueError("the compiled kernel has no exact mode; use the numpy kernel")
    Z0 = np.ascontiguousarray(Z0, dtype=np.float64)
    m = len(Z0) // 2
    if certified:
        E0 = np.ascontiguousarray(E0, dtype=np.float64)
    else:
        E0 = None
    counts, t, codes, flags, n_redo, t_error = _ckernel.partition(
        Z0, E0, m, *_net_params(net, tolv), float(tolv.zero), float(tolv.merge), bool(certified)
    )
    counts = np.frombuffer(counts, np.int64)
    t = np.frombuffer(t, np.float64)
    codes = np.frombuffer(codes, np.int8).reshape(-1, net.n_hidden)
    flags = np.frombuffer(flags, np.uint8)
    seg = np.repeat(np.arange(m, dtype=np.int64), counts)
    last = np.cumsum(counts) - 1
    keep = np.ones(len(t), bool)
    keep[last] = False
    piece = np.flatnonzero(keep)
    endpoint = np.empty((m, 2), bool)
    endpoint[:, 0] = (flags & 2) != 0
    endpoint[:, 1] = (flags & 4) != 0
    return {
        "seg": seg,
        "t": t,
        "te": np.frombuffer(t_error, np.float64) if certified else None,
        "piece": piece,
        "codes": codes,
        "degenerate": (flags & 1) != 0,
        "endpoint": endpoint,
        "ambiguous": np.flatnonzero(flags & 8).astype(np.int64),
        "n_redo": int(n_redo),
        "silent_dropped": not certified,
    }
