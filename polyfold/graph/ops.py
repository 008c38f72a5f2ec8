"""Affine operators of the piecewise-linear graph model.

Every operator maps one or more per-sample tensors (``(P, *shape)`` arrays, ``P``
points) to one tensor and is affine.  It is defined ONCE here, with everything an
engine needs from it:

``apply(xs)``
    float64 (numpy); object arrays of python-flint ``fmpq`` give the exact value.
``bound(xs, es, y)``
    a forward rounding-error bound: given inputs ``xs`` with ``|xs - exact| <= es``
    and the float output ``y = apply(xs)``, an array ``e`` with
    ``|y - exact output| <= e`` (the standard ``gamma_n = n u / (1 - n u)`` bound of
    a length-``n`` dot product, with the factor ``safety`` of :class:`Tolerance`).
``linear(xs)``
    the linear part (no bias) in float: directions and Jacobians.
``vjp(g)``
    the transpose of the linear part (vector-Jacobian product), one array per input.

No operator is ever expanded into a dense matrix: convolutions run as one matrix
product per kernel tap on shifted views (float) or through an index table and
python-flint matrices (exact); pooling is separable (two small matrices).

The exact value of an operator is defined by its float64 parameters read as exact
binary rationals, except average pooling, whose weights are exactly ``1 / n``.
"""

from fractions import Fraction

import numpy as np

from .. import arith
from .._validation import check_finite
from ..exceptions import NonFiniteError, ShapeError, UnsupportedLayerError, ValidationError
from ..tolerance import UNIT_ROUNDOFF

__all__ = [
    "AffineOp",
    "Dense",
    "Conv",
    "SeparablePool",
    "ChannelAffine",
    "Add",
    "Concat",
    "Reshape",
    "Permute",
    "ScalarAffine",
    "Pad",
    "op_from_dict",
]


def gamma(n):
    """``n u / (1 - n u)``: relative error bound of an ``n``-term float dot product."""
    nu = n * UNIT_ROUNDOFF
    return nu / (1.0 - nu)


def _is_exact(x):
    return getattr(x, "dtype", None) == object


def _rows(x, n):
    """``x`` as a ``(P, n)`` batch of flat samples; the explicit width (not ``-1``)
    keeps empty batches (``P = 0``) working."""
    return x.reshape(len(x), n)


def _fresh(dot_abs, y, g, safety):
    """Rounding bound of ``y = sum_i w_i x_i + c`` computed in float, from the
    magnitudes ``dot_abs = sum_i |w_i x_i|``: ``gamma_n`` for the products and sums plus
    one rounding of the constant's addition; zero where every product is an exact zero
    (then ``y`` is the float constant itself, exactly).  Exact zeros propagate this way
    (image backgrounds, dead ReLUs), so exact ties stay decidable in float."""
    return safety * (g * dot_abs + np.where(dot_abs > 0, 2 * UNIT_ROUNDOFF * np.abs(y), 0.0))


def _readonly(a, name=None):
    """A read-only float64 copy of ``a``; ``name``: a parameter, checked to be finite
    (a NaN or infinity in a weight would give NaN crossings, or overflow errors in
    exact mode, far from its cause)."""
    a = np.array(a, dtype=np.float64, copy=True)
    if name is not None:
        check_finite(a, name)
    a.setflags(write=False)
    return a


def exact_matmul(A, Bq):
    """``A @ B`` for an object array ``A (n, k)`` of rationals and ``Bq`` a
    ``flint.fmpq_mat`` of shape ``(k, m)``; returns an ``(n, m)`` object array."""
    import flint

    n = A.shape[0]
    m = Bq.ncols()
    if n == 0 or A.shape[1] == 0:
        out = np.empty((n, m), dtype=object)
        out[...] = arith.ZERO
        return out
    prod = flint.fmpq_mat(n, A.shape[1], A.ravel().tolist()) * Bq
    out = np.empty(n * m, dtype=object)
    out[:] = prod.entries()
    return out.reshape(n, m)


def _zeros_like_exact(shape):
    out = np.empty(shape, dtype=object)
    out[...] = arith.ZERO
    return out


_CACHES = ("_Wq", "_bq", "_absW", "_absw", "_exact", "_exactAB", "_q", "_exact_tables")


class _Cached:
    """Pickles without the lazily built caches (python-flint matrices, |W|)."""

    def __getstate__(self):
        return {k: (None if k in _CACHES else v) for k, v in self.__dict__.items()}

    def __setstate__(self, state):
        self.__dict__.update(state)


class AffineOp(_Cached):
    """Base class: an affine map of per-sample tensors (see the module notes)."""

    kind = "affine"
    #: number of inputs (None: any number >= 1)
    n_inputs = 1

    def __init__(self, in_shapes, out_shape):
        self.in_shapes = tuple(tuple(int(v) for v in s) for s in in_shapes)
        self.out_shape = tuple(int(v) for v in out_shape)

    @property
    def out_size(self):
        return int(np.prod(self.out_shape, dtype=np.int64))

    def in_size(self, i=0):
        return int(np.prod(self.in_shapes[i], dtype=np.int64))

    # subclasses implement these four -------------------------------------------
    def apply(self, xs):
        raise NotImplementedError

    def bound(self, xs, es, y, safety):
        raise NotImplementedError

    def linear(self, xs):
        raise NotImplementedError

    def vjp(self, g):
        raise NotImplementedError

    # persistence -------------------------------------------------------------------
    def to_dict(self):
        """(JSON-able description, dict of arrays) for :meth:`PLGraph.save`."""
        raise NotImplementedError

    def describe(self):
        return type(self).__name__

    def params_equal(self, other):
        if type(self) is not type(other):
            return False
        d1, a1 = self.to_dict()
        d2, a2 = other.to_dict()
        return d1 == d2 and a1.keys() == a2.keys() and all(
            np.array_equal(a1[k], a2[k]) for k in a1
        )


# ---------------------------------------------------------------------------
# dense
# ---------------------------------------------------------------------------
class Dense(AffineOp):
    """``y = W x + b`` on the flattened input (``W`` of shape ``(n_out, n_in)``)."""

    def __init__(self, W, b, in_shape=None):
        W = _readonly(W, "Dense weight W")
        b = _readonly(np.zeros(W.shape[0]) if b is None else b, "Dense bias b")
        if W.ndim != 2 or b.shape != (W.shape[0],):
            raise ShapeError(f"Dense needs W (n_out, n_in) and b (n_out,), got {W.shape}, {b.shape}.")
        in_shape = (W.shape[1],) if in_shape is None else tuple(in_shape)
        if int(np.prod(in_shape)) != W.shape[1]:
            raise ShapeError(
                f"Dense weight has {W.shape[1]} columns but its input has shape {in_shape}."
            )
        super().__init__([in_shape], (W.shape[0],))
        self.W, self.b = W, b
        self._absW = None
        self._Wq = None
        self._bq = None

    def _exact_params(self):
        if self._Wq is None:
            self._Wq = arith.fmpq_matrix(self.W.T)
            self._bq = arith.fmpq_array(self.b)
        return self._Wq, self._bq

    def apply(self, xs):
        x = _rows(xs[0], self.W.shape[1])
        if _is_exact(x):
            Wq, bq = self._exact_params()
            return exact_matmul(x, Wq) + bq
        return x @ self.W.T + self.b

    def linear(self, xs):
        return _rows(xs[0], self.W.shape[1]) @ self.W.T

    def bound(self, xs, es, y, safety):
        if self._absW is None:
            self._absW = np.abs(self.W)
        x = _rows(xs[0], self.W.shape[1])
        e = _rows(es[0], self.W.shape[1])
        g = gamma(self.W.shape[1] + 2)
        # one product with |W| for the propagated and the fresh error
        with np.errstate(invalid="ignore"):  # (inf * 0: an unbounded input; NaN decides nothing)
            comb = (e * (1 + 4 * g) + (g * safety) * np.abs(x)) @ self._absW.T
        return comb + np.where(comb > 0, (2 * UNIT_ROUNDOFF * safety) * np.abs(y), 0.0)

    def vjp(self, g):
        return [(_rows(g, self.W.shape[0]) @ self.W).reshape((len(g),) + self.in_shapes[0])]

    def to_dict(self):
        return {"type": "dense", "in_shape": list(self.in_shapes[0])}, {"W": self.W, "b": self.b}

    def describe(self):
        return f"Dense({self.W.shape[1]}->{self.W.shape[0]})"


# ---------------------------------------------------------------------------
# convolution (1D and 2D, stride, padding, dilation, groups)
# ---------------------------------------------------------------------------
def _pair(v, n):
    if isinstance(v, (int, np.integer)):
        return (int(v),) * n
    v = tuple(int(a) for a in v)
    if len(v) != n:
        raise ValidationError(f"expected {n} values, got {v}")
    return v


class Conv(AffineOp):
    """N-dimensional convolution (N = 1 or 2) as in ``torch.nn.Conv1d/2d``.

    Parameters
    ----------
    weight : (C_out, C_in / groups, *kernel) float
    bias : (C_out,) float or None
    in_shape : (C_in, *spatial)
    stride, padding, dilation : int or tuple
        ``padding`` may be a tuple of ``(before, after)`` pairs per spatial axis.
    groups : int
    """

    def __init__(self, weight, bias, in_shape, *, stride=1, padding=0, dilation=1, groups=1):
        weight = _readonly(weight, "Conv weight")
        nd = weight.ndim - 2
        if nd not in (1, 2):
            raise UnsupportedLayerError(
                f"convolutions with {nd} spatial dimensions are not supported; polyfold "
                "handles Conv1d and Conv2d."
            )
        in_shape = tuple(int(v) for v in in_shape)
        if len(in_shape) != nd + 1:
            raise ShapeError(f"Conv input must have shape (C, *{nd} spatial), got {in_shape}.")
        C = in_shape[0]
        O = weight.shape[0]
        groups = int(groups)
        if C % groups or O % groups or weight.shape[1] != C // groups:
            raise ShapeError(
                f"Conv weight {weight.shape} does not match {C} input channels with "
                f"groups={groups}."
            )
        bias = _readonly(np.zeros(O) if bias is None else bias, "Conv bias")
        stride = _pair(stride, nd)
        dilation = _pair(dilation, nd)
        if isinstance(padding, (int, np.integer)):
            pads = tuple((int(padding), int(padding)) for _ in range(nd))
        else:
            padding = list(padding)
            if all(isinstance(p, (int, np.integer)) for p in padding):
                pads = tuple((int(p), int(p)) for p in _pair(padding, nd))
            else:
                pads = tuple((int(a), int(b)) for a, b in padding)
        kernel = weight.shape[2:]
        spatial = in_shape[1:]
        out_sp = []
        for n, k, s, d, (p0, p1) in zip(spatial, kernel, stride, dilation, pads):
            o = (n + p0 + p1 - d * (k - 1) - 1) // s + 1
            if o < 1:
                raise ShapeError(
                    f"Conv with kernel {kernel}, stride {stride}, padding {pads} and dilation "
                    f"{dilation} leaves no output on an input of shape {in_shape}."
                )
            out_sp.append(o)
        super().__init__([in_shape], (O,) + tuple(out_sp))
        self.weight, self.bias = weight, bias
        self.stride, self.dilation, self.pads, self.groups = stride, dilation, pads, groups
        self.nd = nd
        self._absw = None
        self._exact = None
        self._fan_in = int(np.prod(weight.shape[1:]))

    # -- helpers -------------------------------------------------------------------
    def _as4(self, x):
        """(P, C, H, W) view of a flat or shaped batch (1D conv: H = 1)."""
        P = len(x)
        shp = self.in_shapes[0]
        x = x.reshape((P,) + shp)
        if self.nd == 1:
            x = x[:, :, None, :]
        return x

    def _geometry(self):
        if self.nd == 1:
            return (1,) + self.stride, (1,) + self.dilation, ((0, 0),) + self.pads, (1,) + self.weight.shape[2:]
        return self.stride, self.dilation, self.pads, self.weight.shape[2:]

    def _w4(self, w):
        return w[:, :, None, :] if self.nd == 1 else w

    def _taps(self, x4, w4, bias):
        """Float convolution of a (P, C, H, W) batch: one GEMM per kernel tap."""
        P, C = x4.shape[:2]
        (sh, sw), (dh, dw), ((ph0, ph1), (pw0, pw1)), (kh, kw) = self._geometry()
        O = w4.shape[0]
        Ho, Wo = (self.out_shape[1:] if self.nd == 2 else (1,) + self.out_shape[1:])
        G = self.groups
        Cg, Og = C // G, O // G
        xt = np.zeros((C, P, x4.shape[2] + ph0 + ph1, x4.shape[3] + pw0 + pw1), dtype=np.float64)
        xt[:, :, ph0 : ph0 + x4.shape[2], pw0 : pw0 + x4.shape[3]] = x4.transpose(1, 0, 2, 3)
        out = np.zeros((O, P * Ho * Wo), dtype=np.float64)
        for i in range(kh):
            for j in range(kw):
                sl = xt[:, :, i * dh : i * dh + sh * (Ho - 1) + 1 : sh, j * dw : j * dw + sw * (Wo - 1) + 1 : sw]
                cols = np.ascontiguousarray(sl).reshape(C, P * Ho * Wo)
                wt = w4[:, :, i, j]
                if G == 1:
                    out += wt @ cols
                else:
                    for g in range(G):
                        out[g * Og : (g + 1) * Og] += wt[g * Og : (g + 1) * Og] @ cols[g * Cg : (g + 1) * Cg]
        if bias is not None:
            out += bias[:, None]
        return out.reshape(O, P, Ho, Wo).transpose(1, 0, 2, 3).reshape(P, O * Ho * Wo)

    def _index_table(self):
        """(Ho*Wo, C/groups * kh * kw) flat input index per output position and tap
        within each group's channel block (-1: padding), and the per-group channel offset."""
        (sh, sw), (dh, dw), ((ph0, _), (pw0, _)), (kh, kw) = self._geometry()
        C = self.in_shapes[0][0]
        H, W = (self.in_shapes[0][1:] if self.nd == 2 else (1,) + self.in_shapes[0][1:])
        Ho, Wo = (self.out_shape[1:] if self.nd == 2 else (1,) + self.out_shape[1:])
        Cg = C // self.groups
        oh, ow = np.meshgrid(np.arange(Ho), np.arange(Wo), indexing="ij")
        ki, kj = np.meshgrid(np.arange(kh), np.arange(kw), indexing="ij")
        rows = oh.reshape(-1, 1) * sh - ph0 + ki.reshape(1, -1) * dh  # (HoWo, taps)
        cols = ow.reshape(-1, 1) * sw - pw0 + kj.reshape(1, -1) * dw
        valid = (rows >= 0) & (rows < H) & (cols >= 0) & (cols < W)
        pos = rows * W + cols  # spatial index
        ch = np.arange(Cg).reshape(1, -1, 1)
        idx = ch * (H * W) + pos[:, None, :]  # (HoWo, Cg, taps)
        idx = np.where(valid[:, None, :], idx, -1)
        return idx.reshape(Ho * Wo, Cg * kh * kw)

    def _exact_params(self):
        if self._exact is None:
            O = self.weight.shape[0]
            Og = O // self.groups
            mats = []
            for g in range(self.groups):
                wg = self.weight[g * Og : (g + 1) * Og].reshape(Og, -1)
                mats.append(arith.fmpq_matrix(wg.T))
            self._exact = (self._index_table(), mats, arith.fmpq_array(self.bias))
        return self._exact

    def _apply_exact(self, x):
        idx, mats, bq = self._exact_params()
        P = len(x)
        C = self.in_shapes[0][0]
        n_in = self.in_size()
        HW = n_in // C
        Cg = C // self.groups
        O = self.weight.shape[0]
        Og = O // self.groups
        npos = idx.shape[0]
        xf = x.reshape(P, n_in)
        ext = np.empty((P, n_in + 1), dtype=object)
        ext[:, :n_in] = xf
        ext[:, n_in] = arith.ZERO
        idx_e = np.where(idx < 0, n_in, idx)
        out = np.empty((P, O, npos), dtype=object)
        for g in range(self.groups):
            cols = ext[:, idx_e + g * Cg * HW * (idx >= 0)]  # (P, npos, Cg*taps)
            prod = exact_matmul(cols.reshape(P * npos, idx.shape[1]), mats[g])  # (P*npos, Og)
            out[:, g * Og : (g + 1) * Og, :] = prod.reshape(P, npos, Og).transpose(0, 2, 1)
        out = out + bq[None, :, None]
        return out.reshape(P, O * npos)

    # -- interface --------------------------------------------------------------------
    def apply(self, xs):
        x = xs[0]
        if _is_exact(x):
            return self._apply_exact(x)
        return self._taps(self._as4(x), self._w4(self.weight), self.bias)

    def linear(self, xs):
        return self._taps(self._as4(xs[0]), self._w4(self.weight), None)

    def bound(self, xs, es, y, safety):
        if self._absw is None:
            self._absw = self._w4(np.abs(self.weight))
        g = gamma(self._fan_in + 2)
        # one convolution with |w| for the propagated and the fresh error; where it is 0
        # every product is an exact zero and y is the bias itself
        comb = self._taps(self._as4(es[0] * (1 + 4 * g) + (g * safety) * np.abs(xs[0])), self._absw, None)
        return comb + np.where(comb > 0, (2 * UNIT_ROUNDOFF * safety) * np.abs(y), 0.0)

    def vjp(self, g):
        P = len(g)
        (sh, sw), (dh, dw), ((ph0, ph1), (pw0, pw1)), (kh, kw) = self._geometry()
        w4 = self._w4(self.weight)
        O = w4.shape[0]
        C = self.in_shapes[0][0]
        H, W = (self.in_shapes[0][1:] if self.nd == 2 else (1,) + self.in_shapes[0][1:])
        Ho, Wo = (self.out_shape[1:] if self.nd == 2 else (1,) + self.out_shape[1:])
        G = self.groups
        Cg, Og = C // G, O // G
        gt = np.ascontiguousarray(g.reshape(P, O, Ho * Wo).transpose(1, 0, 2)).reshape(O, P * Ho * Wo)
        gx = np.zeros((C, P, H + ph0 + ph1, W + pw0 + pw1))
        for i in range(kh):
            for j in range(kw):
                wt = w4[:, :, i, j]
                if G == 1:
                    contrib = wt.T @ gt
                else:
                    contrib = np.empty((C, gt.shape[1]))
                    for q in range(G):
                        contrib[q * Cg : (q + 1) * Cg] = wt[q * Og : (q + 1) * Og].T @ gt[q * Og : (q + 1) * Og]
                gx[:, :, i * dh : i * dh + sh * (Ho - 1) + 1 : sh, j * dw : j * dw + sw * (Wo - 1) + 1 : sw] += contrib.reshape(C, P, Ho, Wo)
        gx = gx[:, :, ph0 : ph0 + H, pw0 : pw0 + W].transpose(1, 0, 2, 3)
        return [np.ascontiguousarray(gx).reshape((P,) + self.in_shapes[0])]

    def to_dict(self):
        return (
            {
                "type": "conv",
                "in_shape": list(self.in_shapes[0]),
                "stride": list(self.stride),
                "dilation": list(self.dilation),
                "pads": [list(p) for p in self.pads],
                "groups": self.groups,
            },
            {"weight": self.weight, "bias": self.bias},
        )

    def describe(self):
        k = "x".join(str(v) for v in self.weight.shape[2:])
        return f"Conv{self.nd}d({self.in_shapes[0][0]}->{self.weight.shape[0]}, {k})"


# ---------------------------------------------------------------------------
# separable pooling: average pools and adaptive average pools
# ---------------------------------------------------------------------------
def avg_pool_matrix(n, kernel, stride, pad, *, ceil_mode=False, count_include_pad=True):
    """Rows of a 1-D average pool as exact Fractions: ``(n_out, n)`` list of lists.

    Follows ``torch.nn.AvgPool*d``: windows of ``kernel`` samples every ``stride``
    over the input padded with ``pad`` zeros at both ends; the divisor counts the
    padded samples when ``count_include_pad`` (window clipped to the padded input),
    else only the real ones.  Returns ``(rows, divisor parts)``: each row maps the
    input to the window *sum*, and ``parts`` the 1-D factor of the divisor.
    """
    if ceil_mode:
        n_out = -(-(n + 2 * pad - kernel) // stride) + 1
        if (n_out - 1) * stride >= n + pad:
            n_out -= 1
    else:
        n_out = (n + 2 * pad - kernel) // stride + 1
    if n_out < 1:
        raise ShapeError(f"pooling with kernel {kernel}, stride {stride}, padding {pad} leaves no output on size {n}.")
    rows, parts = [], []
    for o in range(n_out):
        start = o * stride - pad
        end_pad = min(start + kernel, n + pad)
        a, b = max(start, 0), min(start + kernel, n)
        rows.append((a, b))
        parts.append(end_pad - start if count_include_pad else b - a)
    return rows, parts


def adaptive_pool_rows(n, n_out):
    """Windows of ``torch.nn.AdaptiveAvgPool*d`` (and max): ``[floor(i n / o), ceil((i + 1) n / o))``."""
    return [((i * n) // n_out, -(-((i + 1) * n) // n_out)) for i in range(n_out)]


class SeparablePool(AffineOp):
    """``y[c, i, j] = sum_{h, w} A[i, h] B[j, w] x[c, h, w]``: average pooling.

    ``A (H_out, H)`` and ``B (W_out, W)`` hold exact rationals (Fractions); the 2-D
    average over a window is the product of the 1-D averages, so every average
    pool (with stride, padding, ceil mode and either divisor convention) and every
    adaptive average pool is separable.  1-D inputs ``(C, L)`` use ``B`` only.
    """

    def __init__(self, in_shape, A, B, *, label="AvgPool"):
        in_shape = tuple(int(v) for v in in_shape)
        self.nd = len(in_shape) - 1
        if self.nd not in (1, 2):
            raise UnsupportedLayerError(f"pooling on {self.nd} spatial dimensions is not supported.")
        if self.nd == 1:
            A = [[Fraction(1)]]
        self.Aq = [[Fraction(v) for v in row] for row in A]
        self.Bq = [[Fraction(v) for v in row] for row in B]
        self.A = _readonly([[float(v) for v in row] for row in self.Aq])
        self.B = _readonly([[float(v) for v in row] for row in self.Bq])
        H = in_shape[1] if self.nd == 2 else 1
        W = in_shape[-1]
        if self.A.shape[1] != H or self.B.shape[1] != W:
            raise ShapeError(f"pool matrices {self.A.shape}, {self.B.shape} do not fit input {in_shape}.")
        out = (in_shape[0], self.A.shape[0], self.B.shape[0]) if self.nd == 2 else (in_shape[0], self.B.shape[0])
        super().__init__([in_shape], out)
        self.label = label
        nnzA = int(max(1, (self.A != 0).sum(axis=1).max()))
        nnzB = int(max(1, (self.B != 0).sum(axis=1).max()))
        self._g = gamma(nnzA + nnzB + 4)
        self._exactAB = None

    def _as4(self, x):
        P = len(x)
        C = self.in_shapes[0][0]
        H = self.in_shapes[0][1] if self.nd == 2 else 1
        return x.reshape(P, C, H, self.in_shapes[0][-1])

    def _run(self, x4, A, B):
        y = np.matmul(x4, B.T)  # (P, C, H, Wo)
        y = np.matmul(A, y)  # (P, C, Ho, Wo)
        return y.reshape(len(x4), self.out_size)

    def apply(self, xs):
        x = xs[0]
        if _is_exact(x):
            if self._exactAB is None:
                self._exactAB = (arith.fmpq_matrix(np.array(self.Aq, dtype=object).T),
                                 arith.fmpq_matrix(np.array(self.Bq, dtype=object).T))
            Aq, Bq = self._exactAB
            x4 = self._as4(x)
            P, C, H, W = x4.shape
            Ho, Wo = self.A.shape[0], self.B.shape[0]
            y = exact_matmul(x4.reshape(P * C * H, W), Bq).reshape(P, C, H, Wo)
            yt = y.transpose(0, 1, 3, 2).reshape(P * C * Wo, H)
            z = exact_matmul(yt, Aq).reshape(P, C, Wo, Ho).transpose(0, 1, 3, 2)
            return np.ascontiguousarray(z).reshape(P, C * Ho * Wo)
        return self._run(self._as4(x), self.A, self.B)

    def linear(self, xs):
        return self._run(self._as4(xs[0]), self.A, self.B)

    def bound(self, xs, es, y, safety):
        # |A|, |B| are the matrices themselves (non-negative); their float entries
        # differ from the exact 1/n by at most u relatively
        g = self._g + 4 * UNIT_ROUNDOFF
        prop = self._run(self._as4(es[0]), self.A, self.B)
        fresh = self._run(self._as4(np.abs(xs[0])), self.A, self.B)
        return prop * (1 + 4 * g) + (g * safety) * fresh

    def vjp(self, g):
        P = len(g)
        C = self.in_shapes[0][0]
        Ho, Wo = self.A.shape[0], self.B.shape[0]
        g4 = g.reshape(P, C, Ho, Wo)
        gx = np.matmul(self.A.T, np.matmul(g4, self.B))
        return [gx.reshape((P,) + self.in_shapes[0])]

    def to_dict(self):
        enc = lambda M: [[f"{v.numerator}/{v.denominator}" for v in row] for row in M]
        return {"type": "pool", "in_shape": list(self.in_shapes[0]), "A": enc(self.Aq),
                "B": enc(self.Bq), "label": self.label}, {}

    def describe(self):
        return f"{self.label}({'x'.join(map(str, self.in_shapes[0][1:]))}->{'x'.join(map(str, self.out_shape[1:]))})"


def avg_pool(in_shape, kernel, stride=None, padding=0, *, ceil_mode=False, count_include_pad=True,
             label="AvgPool"):
    """A :class:`SeparablePool` with ``torch.nn.AvgPool1d/2d`` semantics."""
    nd = len(in_shape) - 1
    kernel = _pair(kernel, nd)
    stride = kernel if stride is None else _pair(stride, nd)
    padding = _pair(padding, nd)
    mats = []
    for n, k, s, p in zip(in_shape[1:], kernel, stride, padding):
        if p > k // 2:
            raise UnsupportedLayerError(f"average pooling padding {p} must be at most half the kernel {k}.")
        rows, parts = avg_pool_matrix(n, k, s, p, ceil_mode=ceil_mode, count_include_pad=count_include_pad)
        M = [[Fraction(0)] * n for _ in rows]
        for r, ((a, b), d) in enumerate(zip(rows, parts)):
            for c in range(a, b):
                M[r][c] = Fraction(1, d)
        mats.append(M)
    if nd == 1:
        return SeparablePool(in_shape, None, mats[0], label=label)
    return SeparablePool(in_shape, mats[0], mats[1], label=label)


def adaptive_avg_pool(in_shape, out_size, *, label="AdaptiveAvgPool"):
    """A :class:`SeparablePool` with ``torch.nn.AdaptiveAvgPool1d/2d`` semantics."""
    nd = len(in_shape) - 1
    out_size = _pair(out_size, nd)
    mats = []
    for n, o in zip(in_shape[1:], out_size):
        M = [[Fraction(0)] * n for _ in range(o)]
        for r, (a, b) in enumerate(adaptive_pool_rows(n, o)):
            for c in range(a, b):
                M[r][c] = Fraction(1, b - a)
        mats.append(M)
    if nd == 1:
        return SeparablePool(in_shape, None, mats[0], label=label)
    return SeparablePool(in_shape, mats[0], mats[1], label=label)


# ---------------------------------------------------------------------------
# elementwise affine maps
# ---------------------------------------------------------------------------
class ChannelAffine(AffineOp):
    """``y[c, ...] = scale[c] x[c, ...] + shift[c]`` (batch norm in eval mode)."""

    def __init__(self, in_shape, scale, shift):
        in_shape = tuple(int(v) for v in in_shape)
        scale = _readonly(scale, "ChannelAffine scale")
        shift = _readonly(shift, "ChannelAffine shift")
        if scale.shape != (in_shape[0],) or shift.shape != (in_shape[0],):
            raise ShapeError(f"ChannelAffine needs ({in_shape[0]},) scale and shift, got {scale.shape}, {shift.shape}.")
        super().__init__([in_shape], in_shape)
        self.scale, self.shift = scale, shift
        inner = int(np.prod(in_shape[1:], dtype=np.int64))
        self._s = np.repeat(scale, inner)
        self._c = np.repeat(shift, inner)
        self._q = None

    def apply(self, xs):
        x = _rows(xs[0], self.in_size())
        if _is_exact(x):
            if self._q is None:
                self._q = (arith.fmpq_array(self._s), arith.fmpq_array(self._c))
            return x * self._q[0] + self._q[1]
        return x * self._s + self._c

    def linear(self, xs):
        return _rows(xs[0], self.in_size()) * self._s

    def bound(self, xs, es, y, safety):
        x = _rows(xs[0], self.in_size())
        e = _rows(es[0], self.in_size())
        g = gamma(3)
        return (e * np.abs(self._s)) * (1 + 4 * g) + _fresh(np.abs(x) * np.abs(self._s), y, g, safety)

    def vjp(self, g):
        return [(_rows(g, self.in_size()) * self._s).reshape((len(g),) + self.in_shapes[0])]

    def to_dict(self):
        return {"type": "channel_affine", "in_shape": list(self.in_shapes[0])}, {"scale": self.scale, "shift": self.shift}

    def describe(self):
        return "ChannelAffine"


class ScalarAffine(AffineOp):
    """``y = a x + c`` elementwise: ``a`` and ``c`` scalars or constant tensors of the
    input's shape (``x / 255``, ``x - mean``, an ONNX ``Mul`` by a per-channel constant)."""

    def __init__(self, in_shape, a=1.0, c=0.0):
        in_shape = tuple(int(v) for v in in_shape)
        super().__init__([in_shape], in_shape)
        n = int(np.prod(in_shape, dtype=np.int64))

        def full(v, name):
            v = np.asarray(v, dtype=np.float64)
            if v.size == n and v.size > 1:
                v = v.reshape(in_shape)
            try:
                v = np.broadcast_to(v.reshape(()) if v.size == 1 else v, in_shape).reshape(-1)
            except ValueError as err:
                raise ShapeError(f"ScalarAffine {name} of shape {v.shape} does not fit {in_shape}.") from err
            if not np.all(np.isfinite(v)):
                raise ValidationError(f"ScalarAffine {name} must be finite.")
            return _readonly(v)

        a_arr = np.asarray(a, dtype=np.float64)
        self.scalar = a_arr.size == 1
        self.a = float(a_arr.reshape(-1)[0]) if self.scalar else None
        self._a = full(a, "a") if not self.scalar else _readonly(np.full(n, float(a_arr.reshape(-1)[0])))
        self.c = full(c, "c")
        self._q = None

    def _mul(self, x):
        return x * self.a if self.scalar else x * self._a

    def apply(self, xs):
        x = _rows(xs[0], self.in_size())
        if _is_exact(x):
            if self._q is None:
                self._q = (arith.fmpq_array(self._a), arith.fmpq_array(self.c))
            return x * self._q[0] + self._q[1]
        return self._mul(x) + self.c

    def linear(self, xs):
        return self._mul(_rows(xs[0], self.in_size()))

    def bound(self, xs, es, y, safety):
        x = _rows(xs[0], self.in_size())
        e = _rows(es[0], self.in_size())
        g = gamma(3)
        absa = np.abs(self._a)
        return (e * absa) * (1 + 4 * g) + _fresh(np.abs(x) * absa, y, g, safety)

    def vjp(self, g):
        return [self._mul(_rows(g, self.in_size())).reshape((len(g),) + self.in_shapes[0])]

    def to_dict(self):
        return {"type": "scalar_affine", "in_shape": list(self.in_shapes[0])}, {"a": self._a, "c": self.c}

    def describe(self):
        return f"ScalarAffine(a={self.a:g})" if self.scalar else "ElementAffine"


class Add(AffineOp):
    """Sum of several tensors of one shape (residual connections)."""

    n_inputs = None

    def __init__(self, in_shapes, weights=None):
        in_shapes = [tuple(int(v) for v in s) for s in in_shapes]
        sizes = {int(np.prod(s, dtype=np.int64)) for s in in_shapes}
        if len(in_shapes) < 1 or len(sizes) != 1:
            raise ShapeError(f"Add needs inputs of one size, got shapes {in_shapes}.")
        super().__init__(in_shapes, in_shapes[0])
        self.weights = tuple(1.0 for _ in in_shapes) if weights is None else tuple(float(w) for w in weights)
        if len(self.weights) != len(in_shapes):
            raise ValidationError("Add needs one weight per input.")
        if not all(np.isfinite(self.weights)):
            raise NonFiniteError(f"Add weights must be finite, got {self.weights}.")

    def _flat(self, x):
        return _rows(x, self.out_size)

    def apply(self, xs):
        if _is_exact(xs[0]):
            out = None
            for w, x in zip(self.weights, xs):
                term = self._flat(x) if w == 1.0 else self._flat(x) * arith.to_fmpq(w)
                out = term if out is None else out + term
            return out
        out = None
        for w, x in zip(self.weights, xs):
            term = self._flat(x) if w == 1.0 else self._flat(x) * w
            out = term.copy() if out is None else out + term
        return out

    def linear(self, xs):
        return self.apply(xs)

    def bound(self, xs, es, y, safety):
        g = gamma(2 * len(xs) + 2)
        prop = sum(abs(w) * self._flat(e) for w, e in zip(self.weights, es))
        terms = [abs(w) * np.abs(self._flat(x)) for w, x in zip(self.weights, xs)]
        fresh = (g * safety) * sum(terms)
        if all(abs(w) == 1.0 for w in self.weights):
            # a sum with at most one non-zero term is exact
            nz = sum((t > 0).astype(np.int64) for t in terms)
            fresh = np.where(nz >= 2, fresh, 0.0)
        return prop * (1 + 4 * g) + fresh

    def vjp(self, g):
        gf = _rows(g, self.out_size)
        return [(gf * w).reshape((len(g),) + s) for w, s in zip(self.weights, self.in_shapes)]

    def to_dict(self):
        return {"type": "add", "in_shapes": [list(s) for s in self.in_shapes], "weights": list(self.weights)}, {}

    def describe(self):
        return f"Add({len(self.in_shapes)})"


class Concat(AffineOp):
    """Concatenation along axis ``axis`` of the per-sample shapes (0: channels)."""

    n_inputs = None

    def __init__(self, in_shapes, axis=0):
        in_shapes = [tuple(int(v) for v in s) for s in in_shapes]
        nd = len(in_shapes[0])
        axis = int(axis) % nd
        for s in in_shapes:
            if len(s) != nd or any(a != b for k, (a, b) in enumerate(zip(s, in_shapes[0])) if k != axis):
                raise ShapeError(f"Concat along axis {axis} needs matching shapes, got {in_shapes}.")
        out = list(in_shapes[0])
        out[axis] = sum(s[axis] for s in in_shapes)
        super().__init__(in_shapes, out)
        self.axis = axis

    def _cat(self, xs):
        P = len(xs[0])
        parts = [x.reshape((P,) + s) for x, s in zip(xs, self.in_shapes)]
        return np.concatenate(parts, axis=self.axis + 1).reshape(P, self.out_size)

    def apply(self, xs):
        return self._cat(xs)

    linear = apply

    def bound(self, xs, es, y, safety):
        return self._cat(es)

    def vjp(self, g):
        P = len(g)
        g = g.reshape((P,) + self.out_shape)
        cuts = np.cumsum([s[self.axis] for s in self.in_shapes])[:-1]
        parts = np.split(g, cuts, axis=self.axis + 1)
        return [np.ascontiguousarray(p).reshape(P, self.in_size(i)) for i, p in enumerate(parts)]

    def to_dict(self):
        return {"type": "concat", "in_shapes": [list(s) for s in self.in_shapes], "axis": self.axis}, {}

    def describe(self):
        return f"Concat(axis={self.axis})"


class Reshape(AffineOp):
    """A new per-sample shape with the same C-order elements (flatten, view, reshape)."""

    def __init__(self, in_shape, out_shape):
        in_shape = tuple(int(v) for v in in_shape)
        out_shape = tuple(int(v) for v in out_shape)
        if int(np.prod(in_shape)) != int(np.prod(out_shape)):
            raise ShapeError(f"cannot reshape {in_shape} to {out_shape}.")
        super().__init__([in_shape], out_shape)

    def apply(self, xs):
        return _rows(xs[0], self.out_size)

    linear = apply

    def bound(self, xs, es, y, safety):
        return _rows(es[0], self.out_size)

    def vjp(self, g):
        return [_rows(g, self.out_size)]

    def to_dict(self):
        return {"type": "reshape", "in_shape": list(self.in_shapes[0]), "out_shape": list(self.out_shape)}, {}

    def describe(self):
        return f"Reshape({'x'.join(map(str, self.out_shape))})"


class Permute(AffineOp):
    """A permutation of the per-sample axes (``x.permute(0, *perm)``)."""

    def __init__(self, in_shape, perm):
        in_shape = tuple(int(v) for v in in_shape)
        perm = tuple(int(p) for p in perm)
        if sorted(perm) != list(range(len(in_shape))):
            raise ValidationError(f"Permute needs a permutation of 0..{len(in_shape) - 1}, got {perm}.")
        super().__init__([in_shape], tuple(in_shape[p] for p in perm))
        self.perm = perm
        self._inv = tuple(int(v) for v in np.argsort(perm))

    def apply(self, xs):
        P = len(xs[0])
        x = xs[0].reshape((P,) + self.in_shapes[0])
        return np.ascontiguousarray(x.transpose((0,) + tuple(p + 1 for p in self.perm))).reshape(P, self.out_size)

    linear = apply

    def bound(self, xs, es, y, safety):
        return self.apply(es)

    def vjp(self, g):
        P = len(g)
        g = g.reshape((P,) + self.out_shape)
        return [np.ascontiguousarray(g.transpose((0,) + tuple(p + 1 for p in self._inv))).reshape(P, self.in_size())]

    def to_dict(self):
        return {"type": "permute", "in_shape": list(self.in_shapes[0]), "perm": list(self.perm)}, {}


class Pad(AffineOp):
    """Constant zero padding of the spatial axes: ``pads`` is ``((before, after), ...)``
    for every per-sample axis."""

    def __init__(self, in_shape, pads):
        in_shape = tuple(int(v) for v in in_shape)
        pads = tuple((int(a), int(b)) for a, b in pads)
        if len(pads) != len(in_shape) or any(a < 0 or b < 0 for a, b in pads):
            raise ValidationError(f"Pad needs one non-negative (before, after) pair per axis of {in_shape}, got {pads}.")
        super().__init__([in_shape], tuple(n + a + b for n, (a, b) in zip(in_shape, pads)))
        self.pads = pads

    def _pad(self, x, fill):
        P = len(x)
        x = x.reshape((P,) + self.in_shapes[0])
        out = np.empty((P,) + self.out_shape, dtype=x.dtype)
        out[...] = fill
        sl = (slice(None),) + tuple(slice(a, a + n) for n, (a, _) in zip(self.in_shapes[0], self.pads))
        out[sl] = x
        return out.reshape(P, self.out_size)

    def apply(self, xs):
        return self._pad(xs[0], arith.ZERO if _is_exact(xs[0]) else 0.0)

    def linear(self, xs):
        return self._pad(xs[0], 0.0)

    def bound(self, xs, es, y, safety):
        return self._pad(es[0], 0.0)

    def vjp(self, g):
        P = len(g)
        g = g.reshape((P,) + self.out_shape)
        sl = (slice(None),) + tuple(slice(a, a + n) for n, (a, _) in zip(self.in_shapes[0], self.pads))
        return [np.ascontiguousarray(g[sl]).reshape(P, self.in_size())]

    def to_dict(self):
        return {"type": "pad", "in_shape": list(self.in_shapes[0]), "pads": [list(p) for p in self.pads]}, {}


def op_from_dict(desc, arrays):
    """Rebuild an operator from :meth:`AffineOp.to_dict` output."""
    t = desc["type"]
    if t == "dense":
        return Dense(arrays["W"], arrays["b"], desc["in_shape"])
    if t == "conv":
        return Conv(arrays["weight"], arrays["bias"], desc["in_shape"], stride=desc["stride"],
                    padding=[tuple(p) for p in desc["pads"]], dilation=desc["dilation"],
                    groups=desc["groups"])
    if t == "pool":
        dec = lambda M: [[Fraction(v) for v in row] for row in M]
        A = dec(desc["A"]) if len(desc["in_shape"]) == 3 else None
        return SeparablePool(desc["in_shape"], A, dec(desc["B"]), label=desc.get("label", "AvgPool"))
    if t == "channel_affine":
        return ChannelAffine(desc["in_shape"], arrays["scale"], arrays["shift"])
    if t == "scalar_affine":
        a = arrays["a"] if "a" in arrays else desc["a"]
        if np.size(a) > 1 and np.all(np.asarray(a) == np.asarray(a).reshape(-1)[0]):
            a = float(np.asarray(a).reshape(-1)[0])
        return ScalarAffine(desc["in_shape"], a, arrays["c"])
    if t == "add":
        return Add(desc["in_shapes"], desc.get("weights"))
    if t == "concat":
        return Concat(desc["in_shapes"], desc["axis"])
    if t == "reshape":
        return Reshape(desc["in_shape"], desc["out_shape"])
    if t == "permute":
        return Permute(desc["in_shape"], desc["perm"])
    if t == "pad":
        return Pad(desc["in_shape"], desc["pads"])
    raise ValidationError(f"unknown operator type {t!r} in a saved graph; the file may be from a newer polyfold.")
