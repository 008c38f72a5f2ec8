"""Piecewise-linear units of the graph model: elementwise activations and max units.

A *unit group* is one node of the graph that applies piecewise-linear units to its
input tensor.  Each unit has a *code* (an int8):

* elementwise units (ReLU, leaky ReLU, hard tanh): the number of the activation's
  thresholds strictly below the unit's input ``z`` (for ReLU the bit ``z > 0``);
* max units (max pooling, maxout, ``torch.maximum``): the index, within the unit's
  candidate list, of the selected input; the lowest index on ties.

A region of the network is a constant tuple of codes over all units.  A max unit is
*not* compiled into a tree of ReLUs: its pieces are those of the argmax partition
(two candidates that are not selected may swap order without a breakpoint).

Like the operators (:mod:`polyfold.graph.ops`), each unit kind is defined once here:
float and exact application, codes, a rounding-error bound, and the local affine
behaviour for fixed codes (forward and transpose).
"""

import numbers

import numpy as np

from .. import arith
from .._validation import check_positive_int
from ..exceptions import ShapeError, UnsupportedLayerError, ValidationError
from ..network import Activation, HardTanh, Identity, LeakyReLU, ReLU, make_activation
from ..tolerance import UNIT_ROUNDOFF
from .ops import _Cached, adaptive_pool_rows

__all__ = ["Elementwise", "MaxUnits", "max_pool", "adaptive_max_pool", "maxout", "max_over_axis",
           "maximum", "units_from_dict"]


def _is_exact(x):
    return getattr(x, "dtype", None) == object


class Units(_Cached):
    """Base class of a unit group (see the module notes)."""

    kind = "units"

    def __init__(self, in_shape, out_shape):
        self.in_shapes = (tuple(int(v) for v in in_shape),)
        self.out_shape = tuple(int(v) for v in out_shape)

    @property
    def n_units(self):
        return int(np.prod(self.out_shape, dtype=np.int64))

    @property
    def in_size(self):
        return int(np.prod(self.in_shapes[0], dtype=np.int64))


class Elementwise(Units):
    """An elementwise piecewise-linear activation on every entry of its input."""

    kind = "threshold"

    def __init__(self, in_shape, activation, *, bits_of_identity=False):
        act = make_activation(activation)
        if isinstance(act, Identity) and not bits_of_identity:
            raise UnsupportedLayerError("Identity is not a unit group; drop it from the graph.")
        # (bits_of_identity: PLNet.to_graph's hidden Identity layers, linear layers whose
        # units still carry the bit z > 0 as in the dense net; one piece, no knot)
        super().__init__(in_shape, in_shape)
        self.activation = act
        self.thresholds = np.array(act.thresholds, dtype=np.float64)
        self.code_to_bit = act.code_to_bit()
        self.code_to_piece = act.code_to_piece()
        pcs = act.pieces()
        self._slope = np.array([pcs[p][0] for p in self.code_to_piece], dtype=np.float64)
        self._offset = np.array([pcs[p][1] for p in self.code_to_piece], dtype=np.float64)
        self._piece_slopes = np.abs(np.array([p[0] for p in pcs], dtype=np.float64))
        self._knots = np.array(act.knots, dtype=np.float64)
        self._exact_tables = None
        # rounding happens in apply only for slopes other than 0 and 1
        self._rounds = any(s not in (0.0, 1.0) for s, _ in pcs)

    @property
    def n_codes(self):
        return len(self.thresholds) + 1

    def apply(self, z):
        return self.activation.apply(z)

    def codes(self, z):
        c = np.zeros(z.shape, np.int8)
        if _is_exact(z):
            for th in self.thresholds:
                c += np.asarray(z > arith.to_fmpq(th), dtype=bool)
            return c
        for th in self.thresholds:
            c += z > th
        return c

    def bits(self, codes):
        return self.code_to_bit[codes]

    def bound(self, z, e, h):
        lo = np.zeros(z.shape, np.int64)
        hi = np.zeros(z.shape, np.int64)
        for kn in self._knots:
            lo += (z - e) > kn
            hi += (z + e) > kn
        slope = np.where(lo == hi, self._piece_slopes[lo], self._piece_slopes.max())
        eh = slope * e
        if self._rounds:
            eh = eh + UNIT_ROUNDOFF * np.abs(h)
        return eh

    def fixed(self, z, codes, exact=False):
        """``slope * z + offset`` of each unit's piece for the given codes."""
        if exact:
            if self._exact_tables is None:
                self._exact_tables = (arith.fmpq_array(self._slope), arith.fmpq_array(self._offset))
            s, o = self._exact_tables
            return z * s[codes] + o[codes]
        return z * self._slope[codes] + self._offset[codes]

    def fixed_linear(self, z, codes):
        return z * self._slope[codes]

    def fixed_vjp(self, g, codes):
        return g * self._slope[codes]

    def to_dict(self):
        return {"type": "elementwise", "in_shape": list(self.in_shapes[0]),
                "activation": self.activation.to_dict()}

    def describe(self):
        return self.activation.name


class MaxUnits(Units):
    """Max units: unit ``u`` outputs ``max_i z[cand[u, i]]`` over its candidates.

    Parameters
    ----------
    in_shape : tuple
        Per-sample shape of the input tensor.
    out_shape : tuple
        Per-sample shape of the output (one max unit per entry).
    cand : (n_units, k) int
        Flat (C-order) indices into the input of each unit's candidates; ``-1`` marks
        a missing candidate (a padded position of a max pool window).  The code of a
        unit is the position ``i`` of the selected candidate (lowest on ties).
    label : str
    """

    kind = "max"

    def __init__(self, in_shape, out_shape, cand, *, label="Max"):
        super().__init__(in_shape, out_shape)
        if self.n_units < 1:
            raise ShapeError(f"{label}: out_shape must hold at least one unit, got {self.out_shape}.")
        raw = np.asarray(cand)
        if raw.size and (raw.dtype.kind not in "iub" or raw.dtype == bool):
            ok = raw.dtype.kind == "f" and np.all(np.isfinite(raw)) and np.all(raw == np.round(raw))
            if not ok:
                raise ValidationError(
                    f"{label}: cand must hold integer input indices (-1 for a missing "
                    f"candidate), got dtype {raw.dtype}.")
        cand = raw.astype(np.int64)
        if cand.ndim != 2 or cand.shape[0] != self.n_units:
            raise ShapeError(f"max units need a ({self.n_units}, k) candidate table, got {cand.shape}.")
        if cand.shape[1] > 127:
            raise UnsupportedLayerError(f"max units with {cand.shape[1]} candidates (> 127) are not supported.")
        if np.any(cand >= self.in_size) or np.any(cand < -1):
            raise ShapeError("max unit candidate index outside the input.")
        valid = cand >= 0
        if not valid.any(axis=1).all():
            empty = int(np.flatnonzero(~valid.any(axis=1))[0])
            raise ShapeError(
                f"every max unit needs at least one candidate; unit {empty} of {label} has none "
                "(a max-pool window that lies entirely in the padding, where torch gives -inf); "
                "use less padding or a larger kernel."
            )
        self.cand = cand
        self.cand.setflags(write=False)
        self.valid = valid
        self.first = np.argmax(valid, axis=1)  # first valid candidate of each unit
        # gather table with missing candidates replaced by the first valid one
        self._take = np.where(valid, cand, cand[np.arange(len(cand)), self.first][:, None])
        self.label = label
        self.k = cand.shape[1]
        self._tiling = self._detect_tiling()

    def _detect_tiling(self):
        """``(C, Ho, kh, Wo, kw)`` when the units tile a ``(C, Ho*kh, Wo*kw)`` input with
        non-overlapping windows in row-major order (max pooling with stride = kernel and
        no padding): candidates are then a transposed view, not a gather."""
        shp = self.in_shapes[0]
        if len(shp) != 3 or len(self.out_shape) != 3 or not self.valid.all():
            return None
        C, H, W = shp
        C2, Ho, Wo = self.out_shape
        if C2 != C or H % Ho or W % Wo or (H // Ho) * (W // Wo) != self.k:
            return None
        kh, kw = H // Ho, W // Wo
        ref = np.arange(C * H * W).reshape(C, Ho, kh, Wo, kw).transpose(0, 1, 3, 2, 4).reshape(-1, self.k)
        return (C, Ho, kh, Wo, kw) if np.array_equal(ref, self.cand) else None

    @property
    def n_codes(self):
        return self.k

    def candidates(self, z):
        """(P, n_units, k) candidate values (missing ones: -inf in float)."""
        if self._tiling is not None:
            C, Ho, kh, Wo, kw = self._tiling
            P = len(z)
            return np.ascontiguousarray(
                z.reshape(P, C, Ho, kh, Wo, kw).transpose(0, 1, 2, 4, 3, 5)).reshape(P, self.n_units, self.k)
        zc = z[:, self._take]
        if not _is_exact(z) and not self.valid.all():
            zc = np.where(self.valid[None], zc, -np.inf)
        return zc

    def codes(self, z):
        zc = self.candidates(z)
        if not _is_exact(z):
            return np.argmax(zc, axis=2).astype(np.int8)
        # exact: strict comparisons in order keep the lowest index on ties; missing
        # candidates hold the first valid value and never win
        P = len(z)
        code = np.broadcast_to(self.first.astype(np.int8), (P, self.n_units)).copy()
        best = zc[np.arange(P)[:, None], np.arange(self.n_units)[None, :], code]
        for i in range(self.k):
            better = np.asarray(zc[:, :, i] > best, dtype=bool)
            if better.any():
                code[better] = i
                best = np.where(better, zc[:, :, i], best)
        return code

    def apply(self, z):
        if _is_exact(z):
            code = self.codes(z)
            return self.select(z, code)
        return self.candidates(z).max(axis=2)

    def select(self, z, codes):
        """Value of the candidate ``codes`` of every unit (any dtype)."""
        idx = self._take[np.arange(self.n_units)[None, :], codes.astype(np.int64)]
        return np.take_along_axis(z, idx, axis=1)

    def bits(self, codes):
        return codes

    def bound(self, z, e, h):
        zc = self.candidates(z)
        ec = e[:, self._take]
        lower = np.max(np.where(self.valid[None], zc - ec, -np.inf), axis=2)
        possible = self.valid[None] & (zc + ec >= lower[:, :, None])
        return np.max(np.where(possible, ec, 0.0), axis=2)

    def fixed(self, z, codes, exact=False):
        return self.select(z, codes)

    def fixed_linear(self, z, codes):
        return self.select(z, codes)

    def fixed_vjp(self, g, codes):
        P = len(g)
        out = np.zeros((P, self.in_size))
        idx = self._take[np.arange(self.n_units)[None, :], codes.astype(np.int64)]
        rows = np.repeat(np.arange(P), self.n_units)
        np.add.at(out, (rows, idx.ravel()), g.ravel())
        return out

    def to_dict(self):
        return {"type": "max", "in_shape": list(self.in_shapes[0]), "out_shape": list(self.out_shape),
                "label": self.label}

    def arrays(self):
        return {"cand": self.cand}

    def describe(self):
        return f"{self.label}(k={self.k})"


# ---------------------------------------------------------------------------
# constructors
# ---------------------------------------------------------------------------
def _int_tuple(v, n, name, minimum, fn):
    """``v`` as ``n`` integers >= ``minimum`` (one integer stands for all ``n``)."""
    def ok(a):
        return isinstance(a, numbers.Integral) and not isinstance(a, bool) and a >= minimum

    vals = (v,) * n if isinstance(v, numbers.Integral) and not isinstance(v, bool) else v
    try:
        vals = tuple(vals)
    except TypeError:
        vals = None
    if vals is None or len(vals) != n or not all(ok(a) for a in vals):
        many = f" or {n} such integers (one per spatial axis)" if n > 1 else ""
        raise ValidationError(f"{fn}: {name} must be an integer >= {minimum}{many}, got {v!r}.")
    return tuple(int(a) for a in vals)


def _window_rows(n, k, s, p, d, ceil_mode):
    eff = d * (k - 1) + 1
    if ceil_mode:
        n_out = -(-(n + 2 * p - eff) // s) + 1
        if (n_out - 1) * s >= n + p:
            n_out -= 1
    else:
        n_out = (n + 2 * p - eff) // s + 1
    if n_out < 1:
        raise ShapeError(f"max pooling with kernel {k}, stride {s}, padding {p} leaves no output on size {n}.")
    return n_out


def max_pool(in_shape, kernel, stride=None, padding=0, dilation=1, *, ceil_mode=False, label="MaxPool"):
    """Max units of ``torch.nn.MaxPool1d/2d`` on a ``(C, *spatial)`` input.

    Candidates are the window positions in row-major order (kernel row, then
    column); padded positions are missing (torch pads with ``-inf``).
    """
    in_shape = tuple(int(v) for v in in_shape)
    nd = len(in_shape) - 1
    if nd not in (1, 2):
        raise UnsupportedLayerError(f"max pooling on {nd} spatial dimensions is not supported.")
    kernel = _int_tuple(kernel, nd, "kernel", 1, label)
    stride = kernel if stride is None else _int_tuple(stride, nd, "stride", 1, label)
    padding = _int_tuple(padding, nd, "padding", 0, label)
    dilation = _int_tuple(dilation, nd, "dilation", 1, label)
    C = in_shape[0]
    sp = in_shape[1:]
    n_out = [_window_rows(n, k, s, p, d, ceil_mode) for n, k, s, p, d in zip(sp, kernel, stride, padding, dilation)]
    # per spatial axis: (n_out, k) positions (-1 outside)
    axes = []
    for n, no, k, s, p, d in zip(sp, n_out, kernel, stride, padding, dilation):
        pos = np.arange(no)[:, None] * s - p + np.arange(k)[None, :] * d
        axes.append(np.where((pos >= 0) & (pos < n), pos, -1))
    if nd == 1:
        (a,) = axes
        spat = a  # (L_out, k)
        valid = spat >= 0
        flat = spat
        L = sp[0]
        cand = np.arange(C)[:, None, None] * L + flat[None]
        cand = np.where(valid[None], cand, -1).reshape(C * n_out[0], kernel[0])
    else:
        a, b = axes
        H, W = sp
        ra = a[:, None, :, None]  # (Ho, 1, kh, 1)
        cb = b[None, :, None, :]  # (1, Wo, 1, kw)
        valid = (ra >= 0) & (cb >= 0)
        flat = ra * W + cb
        cand = np.arange(C)[:, None, None, None, None] * (H * W) + flat[None]
        cand = np.where(valid[None], cand, -1).reshape(C * n_out[0] * n_out[1], kernel[0] * kernel[1])
    return MaxUnits(in_shape, (C,) + tuple(n_out), cand, label=label)


def adaptive_max_pool(in_shape, out_size, *, label="AdaptiveMaxPool"):
    """Max units of ``torch.nn.AdaptiveMaxPool1d/2d`` (windows of varying size)."""
    in_shape = tuple(int(v) for v in in_shape)
    nd = len(in_shape) - 1
    if nd not in (1, 2):
        raise UnsupportedLayerError(f"adaptive max pooling on {nd} spatial dimensions is not supported.")
    out_size = _int_tuple(out_size, nd, "out_size", 1, label)
    C = in_shape[0]
    rows = [adaptive_pool_rows(n, o) for n, o in zip(in_shape[1:], out_size)]
    kmax = [max(b - a for a, b in r) for r in rows]
    units = []
    if nd == 1:
        for c in range(C):
            for a, b in rows[0]:
                lst = [c * in_shape[1] + i for i in range(a, b)]
                units.append(lst + [-1] * (kmax[0] - len(lst)))
    else:
        H, W = in_shape[1:]
        for c in range(C):
            for a0, b0 in rows[0]:
                for a1, b1 in rows[1]:
                    lst = [c * H * W + i * W + j for i in range(a0, b0) for j in range(a1, b1)]
                    units.append(lst + [-1] * (kmax[0] * kmax[1] - len(lst)))
    return MaxUnits(in_shape, (C,) + tuple(out_size), units, label=label)


def max_over_axis(in_shape, axis, *, keepdim=False, label="Max"):
    """Max units over one per-sample axis (``torch.amax(x, dim)``; maxout after a view)."""
    in_shape = tuple(int(v) for v in in_shape)
    nd = len(in_shape)
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or not -nd <= axis < nd:
        raise ValidationError(
            f"{label}: axis must be an integer in [-{nd}, {nd}) (a per-sample axis of the "
            f"input of shape {in_shape}), got {axis!r}.")
    axis = int(axis) % nd
    idx = np.arange(int(np.prod(in_shape))).reshape(in_shape)
    idx = np.moveaxis(idx, axis, -1)
    out = list(in_shape)
    if keepdim:
        out[axis] = 1
    else:
        del out[axis]
    return MaxUnits(in_shape, tuple(out) if out else (1,), idx.reshape(-1, in_shape[axis]), label=label)


def maxout(n_in, k, *, label="Maxout"):
    """Maxout on a vector of ``n_in = n_out * k`` features: unit ``u`` takes the max of
    features ``u k .. u k + k - 1``."""
    n_in = int(n_in)
    k = check_positive_int(k, "k")
    if n_in % k:
        raise ValidationError(f"maxout needs n_in divisible by k, got n_in={n_in}, k={k}.")
    return MaxUnits((n_in,), (n_in // k,), np.arange(n_in).reshape(-1, k), label=label)


def maximum(shape, n_inputs, *, label="Maximum"):
    """Elementwise max of ``n_inputs`` tensors of one shape, concatenated along a new
    leading block: candidates ``j, n + j, 2 n + j, ...`` (``torch.maximum``)."""
    shape = tuple(int(v) for v in shape)
    n_inputs = check_positive_int(n_inputs, "n_inputs")
    n = int(np.prod(shape))
    cand = np.arange(n)[:, None] + n * np.arange(n_inputs)[None, :]
    return MaxUnits((n * n_inputs,), shape, cand, label=label)


def units_from_dict(desc, arrays):
    t = desc["type"]
    if t == "elementwise":
        return Elementwise(desc["in_shape"], desc["activation"])
    if t == "max":
        return MaxUnits(desc["in_shape"], desc["out_shape"], arrays["cand"], label=desc.get("label", "Max"))
    raise ValidationError(f"unknown unit type {t!r} in a saved graph.")


# keep the activation classes importable from here for graph builders
__all__ += ["Activation", "ReLU", "LeakyReLU", "HardTanh"]
