"""Import of PyTorch modules through ``torch.fx`` into a :class:`PLGraph` (private).

:func:`polyfold.from_torch` calls :func:`graph_from_torch` for any module that is
not a plain dense ``nn.Sequential``.  The module is traced symbolically, then its
fx graph is interpreted node by node: every tensor value becomes a node of a
:class:`~polyfold.graph.GraphBuilder` with a known per-sample shape, integers from
``x.size()`` are followed symbolically (the batch dimension is the token
``_BATCH``), and parameters are read in float64.  Batch norm is folded into the
convolution or linear layer before it when that layer feeds nothing else, else it
becomes a per-channel affine map; dropout and identities vanish.  Anything that is
not piecewise linear, or not supported, raises :class:`UnsupportedLayerError`
naming the fx node, its op and target, and where it is in the model.
"""

import operator

import numpy as np

from ..exceptions import DependencyError, ShapeError, UnsupportedLayerError, ValidationError
from .model import GraphBuilder

__all__ = ["graph_from_torch"]


class _Batch:
    """The batch dimension, as returned by ``x.size(0)`` during interpretation."""

    def __repr__(self):
        return "<batch>"


_BATCH = _Batch()


def _torch():
    try:
        import torch
    except ImportError as err:  # pragma: no cover - exercised without torch
        raise DependencyError(
            "from_torch requires PyTorch: pip install torch (the CPU build is enough)."
        ) from err
    return torch


class _T:
    """A traced tensor: the builder node handle and the per-sample shape."""

    __slots__ = ("h", "shape")

    def __init__(self, h, shape):
        self.h = h
        self.shape = tuple(int(v) for v in shape)


def _np(t):
    return t.detach().cpu().double().numpy().copy()


def _where(node):
    """``'in module layer1.0.conv1'`` / ``'at file:line'`` for error messages."""
    parts = []
    if node.op == "call_module":
        parts.append(f"module {node.target!r}")
    stack = node.meta.get("nn_module_stack") if hasattr(node, "meta") else None
    if stack and node.op != "call_module":
        path = list(stack.values())[-1]
        path = path[0] if isinstance(path, tuple) else path
        parts.append(f"inside module {path!r}")
    tr = getattr(node, "stack_trace", None)
    if tr:
        first = tr.strip().splitlines()[0].strip()
        parts.append(first)
    return ", ".join(parts) if parts else "at the top level of forward()"


def _target_name(node):
    t = node.target
    if isinstance(t, str):
        return t
    mod = getattr(t, "__module__", None) or ""
    name = getattr(t, "__name__", repr(t))
    return f"{mod}.{name}" if mod and not mod.startswith("_") else name


#: largest block-diagonal weight matrix (entries) of a Linear applied to the last axis
#: of a per-sample tensor
_MAX_BLOCK_LINEAR = 50_000_000


def _unsupported(node, why, fix=None):
    msg = (f"fx node {node.name!r} (op {node.op}, target {_target_name(node)}), {_where(node)}: "
           f"{why}")
    if fix:
        msg += f"; {fix}"
    return UnsupportedLayerError(msg)


_SUPPORTED = (
    "Linear, Conv1d, Conv2d, BatchNorm1d/2d (eval mode), ReLU, ReLU6, LeakyReLU, Hardtanh, "
    "MaxPool1d/2d, AvgPool1d/2d, AdaptiveAvgPool1d/2d, AdaptiveMaxPool1d/2d, Flatten, "
    "Dropout, Identity, ZeroPad/ConstantPad and F.pad (constant), torch.flatten, view/reshape, "
    "permute/transpose, squeeze/unsqueeze, +/torch.add, -, * and / by constants, clamp, "
    "torch.cat, torch.maximum/minimum, torch.max/amax over a dimension, mean over spatial dims"
)


_NOT_PL = {"tanh", "sigmoid", "gelu", "silu", "elu", "selu", "softmax", "log_softmax", "softplus",
           "exp", "log", "sin", "cos", "sqrt", "pow", "mish", "hardswish", "hardsigmoid", "matmul",
           "bmm", "abs", "sign", "round", "floor"}


class _Interpreter:
    def __init__(self, gm, input_shape, torch):
        self.gm = gm
        self.torch = torch
        self.nn = torch.nn
        self.F = torch.nn.functional
        self.modules = dict(gm.named_modules())
        self.b = GraphBuilder(input_shape)
        self.env = {}
        self.users = {n: len(n.users) for n in gm.graph.nodes}
        self.input_shape = tuple(input_shape)

    # -- helpers -----------------------------------------------------------------
    def val(self, a):
        fx = self.torch.fx
        if isinstance(a, fx.Node):
            return self.env[a]
        if isinstance(a, (list, tuple)):
            return type(a)(self.val(v) for v in a)
        if isinstance(a, dict):
            return {k: self.val(v) for k, v in a.items()}
        return a

    def tensor(self, node, a, what="input"):
        v = self.val(a)
        if not isinstance(v, _T):
            raise _unsupported(node, f"expected a tensor as {what}, got {type(v).__name__}")
        return v

    def new(self, h):
        return _T(h, self.b.shape(h))

    def _name(self, node):
        name = str(node.target) if node.op == "call_module" else node.name
        return name if name not in self.b._names else None

    # -- dispatch ----------------------------------------------------------------
    def run(self):
        out = None
        for node in self.gm.graph.nodes:
            if node.op == "placeholder":
                if any(isinstance(v, _T) for v in self.env.values()):
                    raise _unsupported(node, "the model takes more than one tensor input",
                                       "polyfold networks have one input")
                self.env[node] = _T(self.b.input, self.input_shape)
            elif node.op == "get_attr":
                self.env[node] = self._get_attr(node)
            elif node.op == "call_module":
                self.env[node] = self._module(node)
            elif node.op == "call_function":
                self.env[node] = self._function(node)
            elif node.op == "call_method":
                self.env[node] = self._method(node)
            elif node.op == "output":
                out = self.val(node.args[0])
                if isinstance(out, (tuple, list)):
                    if len(out) != 1:
                        raise _unsupported(node, "the model returns several values",
                                           "return only the logits")
                    out = out[0]
                if not isinstance(out, _T):
                    raise _unsupported(node, "the model does not return a tensor")
            else:  # pragma: no cover - fx has no other ops
                raise _unsupported(node, "unknown fx op")
        return out

    def _get_attr(self, node):
        obj = self.gm
        for part in str(node.target).split("."):
            obj = getattr(obj, part)
        if isinstance(obj, self.torch.Tensor):
            return _np(obj)
        return obj

    # -- modules --------------------------------------------------------------------
    def _module(self, node):
        nn = self.nn
        mod = self.modules[node.target]
        x = self.tensor(node, node.args[0]) if node.args else None
        name = self._name(node)
        b = self.b
        if isinstance(mod, (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout, nn.Identity)):
            return x
        if isinstance(mod, nn.Linear):
            return self.new(self._linear(node, x, _np(mod.weight), None if mod.bias is None else _np(mod.bias), name))
        if isinstance(mod, (nn.Conv1d, nn.Conv2d)):
            if mod.padding_mode != "zeros":
                raise _unsupported(node, f"padding_mode={mod.padding_mode!r}", "use padding_mode='zeros'")
            pad = mod.padding
            if isinstance(pad, str):
                pad = self._same_padding(node, mod, x) if pad == "same" else 0
            h = b.conv(x.h, _np(mod.weight), None if mod.bias is None else _np(mod.bias),
                       stride=mod.stride, padding=pad, dilation=mod.dilation, groups=mod.groups, name=name)
            return self.new(h)
        if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
            return self._batch_norm(node, mod, x, name)
        if isinstance(mod, nn.ReLU):
            return self.new(b.relu(x.h, name=name))
        if isinstance(mod, nn.LeakyReLU):
            return self.new(b.leaky_relu(x.h, float(mod.negative_slope), name=name))
        if isinstance(mod, (nn.Hardtanh,)):  # ReLU6 is a Hardtanh(0, 6)
            return self._hardtanh(node, x, float(mod.min_val), float(mod.max_val), name)
        if isinstance(mod, (nn.MaxPool1d, nn.MaxPool2d)):
            if getattr(mod, "return_indices", False):
                raise _unsupported(node, "MaxPool with return_indices=True")
            return self.new(b.max_pool(x.h, mod.kernel_size, mod.stride, mod.padding, mod.dilation,
                                       ceil_mode=mod.ceil_mode, name=name))
        if isinstance(mod, (nn.AvgPool1d, nn.AvgPool2d)):
            if getattr(mod, "divisor_override", None):
                raise _unsupported(node, "AvgPool2d with divisor_override")
            return self.new(b.avg_pool(x.h, mod.kernel_size, mod.stride, mod.padding, ceil_mode=mod.ceil_mode,
                                       count_include_pad=mod.count_include_pad, name=name))
        if isinstance(mod, (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d)):
            return self.new(b.adaptive_avg_pool(x.h, self._adaptive_size(node, mod.output_size, x), name=name))
        if isinstance(mod, (nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d)):
            if getattr(mod, "return_indices", False):
                raise _unsupported(node, "AdaptiveMaxPool with return_indices=True")
            return self.new(b.adaptive_max_pool(x.h, self._adaptive_size(node, mod.output_size, x), name=name))
        if isinstance(mod, nn.Flatten):
            return self._flatten(node, x, mod.start_dim, mod.end_dim)
        if isinstance(mod, (nn.ZeroPad1d, nn.ZeroPad2d, nn.ConstantPad1d, nn.ConstantPad2d)):
            return self._pad(node, x, mod.padding, "constant", mod.value, name)
        if isinstance(mod, nn.Unflatten):
            return self._unflatten(node, x, mod.dim, mod.unflattened_size)
        why = f"module of type {type(mod).__name__} is not piecewise linear or not supported"
        if isinstance(mod, (nn.Tanh, nn.Sigmoid, nn.GELU, nn.SiLU, nn.ELU, nn.Softmax, nn.Softplus,
                            nn.LogSoftmax)):
            why = f"{type(mod).__name__} is not piecewise linear"
        raise _unsupported(node, why, f"polyfold supports {_SUPPORTED}")

    def _same_padding(self, node, mod, x):
        pads = []
        for k, d in zip(mod.kernel_size, mod.dilation):
            total = d * (k - 1)
            pads.append((total // 2, total - total // 2))
        return pads

    def _adaptive_size(self, node, size, x):
        sp = x.shape[1:]
        if isinstance(size, int) or size is None:
            size = (size,) * len(sp)
        return tuple(s if o is None else int(o) for s, o in zip(sp, size))

    def _linear(self, node, x, W, bias, name):
        if len(x.shape) > 1 and x.shape[-1] == W.shape[1]:
            # torch applies Linear to the last axis: on the flattened tensor that is
            # one block-diagonal layer, kron(I_k, W) for the k leading positions
            k = int(np.prod(x.shape[:-1]))
            if k * k * W.size > _MAX_BLOCK_LINEAR:
                raise _unsupported(node, f"Linear applied to a per-sample tensor of shape {x.shape}: "
                                   f"its block-diagonal form has {k * k * W.size:,} entries",
                                   "flatten the input first, or use a smaller tensor")
            Wk = np.kron(np.eye(k), W)
            bk = None if bias is None else np.tile(bias, k)
            h = self.b.dense(self.b.flatten(x.h), Wk, bk, name=name)
            return self.b.reshape(h, tuple(x.shape[:-1]) + (W.shape[0],))
        if int(np.prod(x.shape)) != W.shape[1]:
            raise ShapeError(f"fx node {node.name!r}: Linear expects {W.shape[1]} inputs, gets shape {x.shape}.")
        return self.b.dense(x.h, W, bias, name=name)

    def _hardtanh(self, node, x, lo, hi, name):
        if lo == 0.0 and np.isinf(hi):
            return self.new(self.b.relu(x.h, name=name))
        if not (lo <= 0 < hi):
            raise _unsupported(node, f"hard tanh with min {lo} and max {hi}",
                               "polyfold needs min <= 0 < max (shift the bias of the layer before)")
        return self.new(self.b.hardtanh(x.h, lo, hi, name=name))

    def _batch_norm(self, node, mod, x, name):
        if mod.running_mean is None or mod.running_var is None:
            raise _unsupported(node, "batch norm without running statistics (track_running_stats=False)",
                               "polyfold folds batch norm in eval mode")
        mean, var = _np(mod.running_mean), _np(mod.running_var)
        scale = 1.0 / np.sqrt(var + mod.eps)
        if mod.affine:
            scale = scale * _np(mod.weight)
            shift = _np(mod.bias) - scale * mean
        else:
            shift = -scale * mean
        # fold into the producing conv / linear when this is its only reader
        src = node.args[0]
        prev = self.b._nodes[x.h]
        from .ops import Conv, Dense

        # (every traced value that is this layer's output -- pass-throughs such as
        # Dropout, contiguous() or a same-shape view give it new names -- must have
        # this one reader chain)
        names = [n for n, v in self.env.items() if isinstance(v, _T) and v.h == x.h]
        only = self.users.get(src, 0) == 1 and all(self.users.get(n, 0) == 1 for n in names)
        if only and isinstance(prev.op, (Conv, Dense)) and not self._is_reused(x.h):
            op = prev.op
            if isinstance(op, Conv):
                w = op.weight * scale.reshape((-1,) + (1,) * (op.weight.ndim - 1))
                new = Conv(w, op.bias * scale + shift, op.in_shapes[0], stride=op.stride,
                           padding=list(op.pads), dilation=op.dilation, groups=op.groups)
            else:
                if len(scale) != op.W.shape[0]:
                    raise _unsupported(node, "BatchNorm1d over a dimension that is not the Linear output")
                new = Dense(op.W * scale[:, None], op.b * scale + shift, op.in_shapes[0])
            from .model import Node

            self.b._nodes[x.h] = Node(prev.name, new, prev.inputs)
            return x
        return self.new(self.b.channel_affine(x.h, scale, shift, name=name))

    def _is_reused(self, h):
        return any(h in nd.inputs for nd in self.b._nodes)

    def _flatten(self, node, x, start=1, end=-1):
        nd = len(x.shape) + 1  # with batch
        start = start % nd
        end = end % nd
        if start == 0:
            raise _unsupported(node, "flatten over the batch dimension", "use start_dim=1")
        shape = list(x.shape)
        s, e = start - 1, end - 1
        new = shape[:s] + [int(np.prod(shape[s : e + 1]))] + shape[e + 1 :]
        return self._reshape_to(x, new)

    def _unflatten(self, node, x, dim, sizes):
        dim = dim % (len(x.shape) + 1)
        if dim == 0:
            raise _unsupported(node, "unflatten of the batch dimension")
        shape = list(x.shape)
        new = shape[: dim - 1] + [int(v) for v in sizes] + shape[dim:]
        return self._reshape_to(x, new)

    def _reshape_to(self, x, shape):
        shape = tuple(int(v) for v in shape)
        if shape == x.shape:
            return x
        return self.new(self.b.reshape(x.h, shape))

    def _view(self, node, x, dims):
        if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
            dims = tuple(dims[0])
        dims = list(dims)
        if not dims:
            raise _unsupported(node, "reshape to a scalar")
        n = int(np.prod(x.shape))
        if dims[0] is _BATCH:
            rest = dims[1:]
        elif (dims[0] == -1 and len(dims) > 1 and all(isinstance(v, (int, np.integer)) and v != -1 for v in dims[1:])
              and int(np.prod(dims[1:])) == n):
            rest = dims[1:]
        else:
            raise _unsupported(node, f"reshape to {dims} does not keep the batch dimension first",
                               "write x.view(x.size(0), ...) or x.flatten(1)")
        if any(v is _BATCH for v in rest):
            raise _unsupported(node, "reshape moves the batch dimension")
        rest = [int(v) for v in rest]
        if rest.count(-1) > 1:
            raise _unsupported(node, "reshape with more than one -1")
        if -1 in rest:
            known = int(np.prod([v for v in rest if v != -1]))
            rest[rest.index(-1)] = n // known if known else 0
        if int(np.prod(rest)) != n:
            raise ShapeError(f"fx node {node.name!r}: cannot reshape per-sample shape {x.shape} to {rest}.")
        return self._reshape_to(x, rest)

    # -- functions ------------------------------------------------------------------
    def _binary(self, node, fn, a, b, alpha=1):
        """tensor (+|-) tensor, tensor op constant (``alpha``: torch.add/sub's factor of
        the second operand)."""
        A, B, alpha = self.val(a), self.val(b), self.val(alpha)
        name = self._name(node)
        if any(v is _BATCH for v in (A, B, alpha)):
            raise _unsupported(node, "arithmetic on the batch size (x.size(0))",
                               "reshape with x.size(0) itself, e.g. x.view(x.size(0), -1), or with -1")
        if isinstance(alpha, _T):
            raise _unsupported(node, "alpha must be a number")
        alpha = float(alpha)
        if fn in ("add", "sub"):
            sign = (1.0 if fn == "add" else -1.0) * alpha
            if isinstance(A, _T) and isinstance(B, _T):
                if A.shape != B.shape:
                    if int(np.prod(A.shape)) != int(np.prod(B.shape)):
                        raise _unsupported(node, f"adding tensors of shapes {A.shape} and {B.shape} "
                                           "(broadcasting between tensors is not supported)")
                return self.new(self.b.add(A.h, B.h, weights=(1.0, sign), name=name))
            if isinstance(A, _T):
                c = self._const(node, B, A.shape)
                return self.new(self.b.scalar_affine(A.h, 1.0, sign * c, name=name))
            if isinstance(B, _T):
                c = self._const(node, A, B.shape)
                return self.new(self.b.scalar_affine(B.h, sign, c, name=name))
            return A + sign * B if alpha != 1.0 else (A + B if fn == "add" else A - B)
        if fn in ("mul", "div"):
            if isinstance(A, _T) and isinstance(B, _T):
                raise _unsupported(node, "a product of two tensors is not piecewise linear")
            if isinstance(A, _T) or isinstance(B, _T):
                T, c = (A, B) if isinstance(A, _T) else (B, A)
                if fn == "div" and not isinstance(A, _T):
                    raise _unsupported(node, "division by a tensor is not piecewise linear")
                c = np.asarray(c, dtype=np.float64)
                # a scalar, or a constant tensor broadcast to the tensor (elementwise)
                c = float(c.reshape(())) if c.size == 1 else self._const(node, c, T.shape)
                if fn == "div":
                    if np.any(np.asarray(c) == 0):
                        raise _unsupported(node, "division by zero")
                    c = 1.0 / np.asarray(c) if np.ndim(c) else 1.0 / c
                if not np.all(np.isfinite(c)):
                    raise _unsupported(node, "multiplication by a constant that is not finite")
                return self.new(self.b.scalar_affine(T.h, c, 0.0, name=name))
            if fn == "mul":
                return A * B
            return A / B
        raise _unsupported(node, f"operator {fn}")  # pragma: no cover

    def _const(self, node, c, shape):
        c = np.asarray(c, dtype=np.float64)
        if c.ndim > len(shape) + 1:
            raise _unsupported(node, f"a constant of shape {c.shape} on a tensor of shape {shape}")
        if c.ndim == len(shape) + 1:
            if c.shape[0] != 1:
                raise _unsupported(node, "a constant with a batch dimension larger than 1")
            c = c[0]
        try:
            return np.broadcast_to(c, shape).reshape(-1).copy()
        except ValueError as err:
            raise _unsupported(node, f"constant of shape {c.shape} does not broadcast to {shape}") from err

    def _function(self, node):
        torch, F = self.torch, self.F
        t = node.target
        args, kw = node.args, node.kwargs
        b = self.b
        name = self._name(node)
        if t is getattr:
            obj = self.val(args[0])
            attr = args[1]
            if isinstance(obj, _T) and attr == "shape":
                return (_BATCH,) + obj.shape
            if isinstance(obj, _MaxResult):
                if attr == "values":
                    return obj.values
                raise _unsupported(node, "the indices of torch.max are not piecewise linear values")
            raise _unsupported(node, f"attribute {attr!r} of a tensor")
        if t is operator.getitem:
            obj = self.val(args[0])
            idx = self.val(args[1])
            if isinstance(obj, tuple):
                return obj[idx]
            if isinstance(obj, _MaxResult):
                if idx == 0:
                    return obj.values
                raise _unsupported(node, "the indices of torch.max are not piecewise linear values")
            raise _unsupported(node, "indexing a tensor", "slicing is not supported")
        if t in (operator.add, torch.add, operator.iadd):
            return self._binary(node, "add", args[0], args[1], kw.get("alpha", 1))
        if t in (operator.sub, torch.sub, operator.isub):
            return self._binary(node, "sub", args[0], args[1], kw.get("alpha", 1))
        if t in (operator.mul, torch.mul, operator.imul):
            return self._binary(node, "mul", args[0], args[1])
        if t in (operator.truediv, torch.div, operator.itruediv):
            if kw.get("rounding_mode") is not None:
                raise _unsupported(node, "division with rounding")
            return self._binary(node, "div", args[0], args[1])
        if t in (operator.neg, torch.neg):
            x = self.tensor(node, args[0])
            return self.new(b.scalar_affine(x.h, -1.0, 0.0, name=name))
        if t in (operator.pos,):
            return self.val(args[0])
        if t in (torch.relu, F.relu, torch.relu_, F.relu_):
            return self.new(b.relu(self.tensor(node, args[0]).h, name=name))
        if t is F.relu6:
            return self.new(b.hardtanh(self.tensor(node, args[0]).h, 0.0, 6.0, name=name))
        if t is F.leaky_relu:
            slope = kw.get("negative_slope", args[1] if len(args) > 1 else 0.01)
            return self.new(b.leaky_relu(self.tensor(node, args[0]).h, float(slope), name=name))
        if t is F.hardtanh:
            lo = kw.get("min_val", args[1] if len(args) > 1 else -1.0)
            hi = kw.get("max_val", args[2] if len(args) > 2 else 1.0)
            return self._hardtanh(node, self.tensor(node, args[0]), float(lo), float(hi), name)
        if t in (torch.clamp, torch.clip, torch.clamp_, torch.clip_):
            return self._clamp(node, self.tensor(node, args[0]), args, kw, name)
        if t is torch.flatten:
            start = kw.get("start_dim", args[1] if len(args) > 1 else 0)
            end = kw.get("end_dim", args[2] if len(args) > 2 else -1)
            return self._flatten(node, self.tensor(node, args[0]), start, end)
        if t in (torch.reshape,):
            return self._view(node, self.tensor(node, args[0]), self.val(args[1:]))
        if t is torch.cat or t is torch.concat:
            xs = self.val(kw["tensors"] if "tensors" in kw else args[0])
            dim = kw.get("dim", args[1] if len(args) > 1 else 0)
            if not all(isinstance(v, _T) for v in xs):
                raise _unsupported(node, "torch.cat of something that is not a traced tensor")
            if dim == 0 or dim == -len(xs[0].shape) - 1:
                raise _unsupported(node, "torch.cat along the batch dimension")
            dim = dim - 1 if dim > 0 else dim
            return self.new(b.concat(*[v.h for v in xs], axis=dim, name=name))
        if t is torch.maximum or t is torch.max and len(args) == 2 and isinstance(self.val(args[1]), _T):
            return self._maximum(node, args[0], args[1] if len(args) > 1 else kw.get("other"), name)
        if t is torch.minimum or t is torch.min and len(args) == 2 and isinstance(self.val(args[1]), _T):
            return self._maximum(node, args[0], args[1] if len(args) > 1 else kw.get("other"), name,
                                 minimum=True)
        if t is F.pad:
            x = self.tensor(node, args[0])
            pad = self.val(kw.get("pad", args[1] if len(args) > 1 else None))
            mode = kw.get("mode", args[2] if len(args) > 2 else "constant")
            value = kw.get("value", args[3] if len(args) > 3 else None)
            return self._pad(node, x, pad, mode, 0.0 if value is None else value, name)
        if t in (torch.squeeze, torch.unsqueeze):
            dim = kw.get("dim", self.val(args[1]) if len(args) > 1 else None)
            return self._squeeze(node, self.tensor(node, args[0]), t.__name__, dim)
        if t is torch.transpose:
            return self._transpose(node, self.tensor(node, args[0]), self.val(args[1:3]), kw, name)
        if t in (torch.max, torch.amax):
            x = self.tensor(node, args[0])
            dim = kw.get("dim", args[1] if len(args) > 1 else None)
            keep = kw.get("keepdim", args[2] if len(args) > 2 else False)
            if dim is None:
                raise _unsupported(node, "max over all elements", "give a dimension")
            if isinstance(dim, (tuple, list)):
                if len(dim) != 1:
                    raise _unsupported(node, "max over several dimensions")
                dim = dim[0]
            dim = dim % (len(x.shape) + 1)
            if dim == 0:
                raise _unsupported(node, "max over the batch dimension")
            h = self.new(b.max_over_axis(x.h, dim - 1, keepdim=bool(keep), name=name))
            if len(x.shape) == 1 and not keep:
                h = self._reshape_to(h, (1,))
            return _MaxResult(h) if t is torch.max else h
        if t in (torch.mean,):
            return self._mean(node, self.tensor(node, args[0]),
                              kw.get("dim", args[1] if len(args) > 1 else None),
                              kw.get("keepdim", args[2] if len(args) > 2 else False))
        if t in (F.max_pool1d, F.max_pool2d):
            x = self.tensor(node, args[0])
            names = ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices")
            p = {n: kw.get(n, args[i + 1] if len(args) > i + 1 else None) for i, n in enumerate(names)}
            if p["return_indices"]:
                raise _unsupported(node, "max pooling with return_indices=True")
            return self.new(b.max_pool(x.h, p["kernel_size"], p["stride"] or None, p["padding"] or 0,
                                       p["dilation"] or 1, ceil_mode=bool(p["ceil_mode"]), name=name))
        if t in (F.avg_pool1d, F.avg_pool2d):
            x = self.tensor(node, args[0])
            names = ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")
            p = {n: kw.get(n, args[i + 1] if len(args) > i + 1 else None) for i, n in enumerate(names)}
            if p["divisor_override"]:
                raise _unsupported(node, "avg_pool2d with divisor_override")
            cip = True if p["count_include_pad"] is None else bool(p["count_include_pad"])
            return self.new(b.avg_pool(x.h, p["kernel_size"], p["stride"] or None, p["padding"] or 0,
                                       ceil_mode=bool(p["ceil_mode"]), count_include_pad=cip, name=name))
        if t in (F.adaptive_avg_pool1d, F.adaptive_avg_pool2d):
            x = self.tensor(node, args[0])
            size = kw.get("output_size", args[1] if len(args) > 1 else None)
            return self.new(b.adaptive_avg_pool(x.h, self._adaptive_size(node, size, x), name=name))
        if t in (F.adaptive_max_pool1d, F.adaptive_max_pool2d):
            x = self.tensor(node, args[0])
            size = kw.get("output_size", args[1] if len(args) > 1 else None)
            if kw.get("return_indices"):
                raise _unsupported(node, "adaptive max pooling with return_indices=True")
            return self.new(b.adaptive_max_pool(x.h, self._adaptive_size(node, size, x), name=name))
        if t is F.linear:
            x = self.tensor(node, args[0])
            W = self.val(args[1] if len(args) > 1 else kw["weight"])
            bias = self.val(args[2] if len(args) > 2 else kw.get("bias"))
            return self.new(self._linear(node, x, np.asarray(W), None if bias is None else np.asarray(bias), name))
        if t in (F.conv1d, F.conv2d):
            x = self.tensor(node, args[0])
            names = ("weight", "bias", "stride", "padding", "dilation", "groups")
            p = {n: kw.get(n, self.val(args[i + 1]) if len(args) > i + 1 else None) for i, n in enumerate(names)}
            p = {k: self.val(v) for k, v in p.items()}
            if isinstance(p["padding"], str):
                k = np.asarray(p["weight"]).shape[2:]
                dil = p["dilation"] or 1
                dil = (dil,) * len(k) if isinstance(dil, int) else tuple(dil)
                if p["padding"] == "valid":
                    p["padding"] = 0
                else:
                    p["padding"] = [(d * (kk - 1) // 2, d * (kk - 1) - d * (kk - 1) // 2) for kk, d in zip(k, dil)]
            return self.new(b.conv(x.h, np.asarray(p["weight"]), None if p["bias"] is None else np.asarray(p["bias"]),
                                   stride=p["stride"] or 1, padding=p["padding"] or 0,
                                   dilation=p["dilation"] or 1, groups=p["groups"] or 1, name=name))
        if t in (F.dropout, F.dropout1d, F.dropout2d, F.alpha_dropout):
            # (input, p, training, inplace); training defaults to True except for alpha_dropout
            training = kw.get("training", args[2] if len(args) > 2 else t is not F.alpha_dropout)
            if self.val(training) is not False and bool(self.val(training)):
                raise _unsupported(node, f"{t.__name__} with training=True drops units at random even "
                                   "in eval mode (its default)",
                                   "pass training=self.training, or use nn.Dropout")
            return self.val(args[0])
        fname = getattr(t, "__name__", "")
        if fname in _NOT_PL:
            raise _unsupported(node, f"{fname} is not piecewise linear", f"polyfold supports {_SUPPORTED}")
        raise _unsupported(node, "function is not supported", f"polyfold supports {_SUPPORTED}")

    def _mean(self, node, x, dim, keep):
        if dim is None:
            raise _unsupported(node, "mean over all elements", "give the spatial dimensions")
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        nd = len(x.shape) + 1
        dims = sorted(d % nd for d in dims)
        spatial = list(range(2, nd))
        if 0 in dims or 1 in dims or dims != spatial:
            raise _unsupported(node, f"mean over dims {dims}", "only the mean over all spatial dims (global average pooling) is supported")
        h = self.b.adaptive_avg_pool(x.h, (1,) * (nd - 2), name=self._name(node))
        shape = (x.shape[0],) + ((1,) * (nd - 2) if keep else ())
        return self._reshape_to(self.new(h), shape)

    def _clamp(self, node, x, args, kw, name):
        """``clamp(x, min, max)`` (function or method): a ReLU or a hard tanh."""
        lo = self.val(kw.get("min", args[1] if len(args) > 1 else None))
        hi = self.val(kw.get("max", args[2] if len(args) > 2 else None))
        if isinstance(lo, (_T, np.ndarray)) or isinstance(hi, (_T, np.ndarray)):
            raise _unsupported(node, "clamp with tensor bounds", "give the bounds as numbers")
        lo = -np.inf if lo is None else float(lo)
        hi = np.inf if hi is None else float(hi)
        if lo == 0.0 and hi == np.inf:
            return self.new(self.b.relu(x.h, name=name))
        if np.isfinite(lo) and np.isfinite(hi):
            return self._hardtanh(node, x, lo, hi, name)
        raise _unsupported(node, f"clamp to [{lo}, {hi}]", "polyfold supports clamp(min=0) and clamp(lo, hi) with lo <= 0 < hi")

    def _maximum(self, node, a, c, name, minimum=False):
        """``torch.maximum`` / ``torch.minimum`` of two tensors of one shape (min is
        ``-max(-a, -b)``: its units select the lowest of the two, the first on ties)."""
        A, B = self.tensor(node, a), self.tensor(node, c, "second input")
        what = "minimum" if minimum else "maximum"
        if A.shape != B.shape:
            raise _unsupported(node, f"torch.{what} of tensors of shapes {A.shape} and {B.shape}",
                               "broadcasting is not supported; expand one input first")
        b = self.b
        hs = [A.h, B.h]
        if minimum:
            hs = [b.scalar_affine(h, -1.0, 0.0) for h in hs]
        h = b.reshape(b.maximum(*hs, name=None if minimum else name), A.shape)
        if minimum:
            h = b.scalar_affine(h, -1.0, 0.0, name=name)
        return self.new(h)

    def _squeeze(self, node, obj, m, dim):
        shape = list(obj.shape)
        if m == "squeeze":
            dims = [dim] if isinstance(dim, int) else (None if dim is None else list(dim))
            if dims is None:
                shape = [v for v in shape if v != 1]
            else:
                ds = {d % (len(shape) + 1) for d in dims}
                if 0 in ds:
                    raise _unsupported(node, "squeeze of the batch dimension")
                shape = [v for i, v in enumerate(shape, start=1) if not (i in ds and v == 1)]
        else:
            if dim is None:
                raise _unsupported(node, "unsqueeze without a dimension")
            d = dim % (len(shape) + 2)
            if d == 0:
                raise _unsupported(node, "unsqueeze before the batch dimension")
            shape.insert(d - 1, 1)
        return self._reshape_to(obj, shape or [1])

    def _transpose(self, node, x, dims, kw, name):
        dims = list(dims) + [kw[k] for k in ("dim0", "dim1") if k in kw]
        if len(dims) != 2:
            raise _unsupported(node, "transpose needs two dimensions")
        nd = len(x.shape) + 1
        d0, d1 = (int(d) % nd for d in dims)
        if 0 in (d0, d1) and d0 != d1:
            raise _unsupported(node, "transpose moves the batch dimension")
        perm = list(range(len(x.shape)))
        if d0 != d1:
            perm[d0 - 1], perm[d1 - 1] = perm[d1 - 1], perm[d0 - 1]
        if perm == sorted(perm):
            return x
        return self.new(self.b.permute(x.h, perm, name=name))

    def _pad(self, node, x, pad, mode, value, name):
        """``F.pad`` / ``nn.ZeroPad*d`` / ``nn.ConstantPad*d``: constant padding of the
        last axes (``pad`` lists (before, after) from the last axis backwards)."""
        if mode != "constant":
            raise _unsupported(node, f"padding with mode={mode!r}",
                               "polyfold supports constant padding (mode='constant')")
        if isinstance(value, _T):
            raise _unsupported(node, "padding with a tensor value")
        pad = [int(v) for v in (pad if isinstance(pad, (tuple, list)) else [pad])]
        if len(pad) % 2 or len(pad) // 2 > len(x.shape):
            raise _unsupported(node, f"padding {pad} of a tensor of per-sample shape {x.shape}",
                               "give one (before, after) pair per padded axis, not the batch axis")
        if any(v < 0 for v in pad):
            raise _unsupported(node, f"negative padding {pad} (cropping)", "crop before the model instead")
        pairs = [(0, 0)] * len(x.shape)
        for k in range(len(pad) // 2):
            pairs[len(x.shape) - 1 - k] = (pad[2 * k], pad[2 * k + 1])
        if all(p == (0, 0) for p in pairs):
            return x
        value = float(value)
        if not np.isfinite(value):
            raise _unsupported(node, f"padding with value {value}", "pad with a finite value")
        h = self.b.pad(x.h, pairs, name=None if value else name)
        if value:
            # the padded entries hold the value: pad(x) + value * (1 - pad(ones))
            out = self.b.shape(h)
            inside = np.zeros(out)
            inside[tuple(slice(a, a + n) for n, (a, _) in zip(x.shape, pairs))] = 1.0
            h = self.b.scalar_affine(h, 1.0, value * (1.0 - inside), name=name)
        return self.new(h)

    # -- methods ----------------------------------------------------------------------
    def _method(self, node):
        m = node.target
        args, kw = node.args, node.kwargs
        obj = self.val(args[0])
        if not isinstance(obj, _T):
            raise _unsupported(node, f"method {m} on a {type(obj).__name__}")
        if m == "size":
            dim = kw.get("dim", self.val(args[1]) if len(args) > 1 else None)
            full = (_BATCH,) + obj.shape
            return full if dim is None else full[dim]
        if m == "dim":
            return len(obj.shape) + 1
        if m in ("view", "reshape"):
            return self._view(node, obj, self.val(args[1:]))
        if m == "flatten":
            start = kw.get("start_dim", self.val(args[1]) if len(args) > 1 else 0)
            end = kw.get("end_dim", self.val(args[2]) if len(args) > 2 else -1)
            return self._flatten(node, obj, start, end)
        if m in ("contiguous", "clone", "detach", "float", "double"):
            return obj
        if m == "relu" or m == "relu_":
            return self.new(self.b.relu(obj.h, name=self._name(node)))
        if m in ("clamp", "clamp_", "clip", "clip_"):
            return self._clamp(node, obj, args, kw, self._name(node))
        if m in ("maximum", "minimum"):
            return self._maximum(node, args[0], args[1] if len(args) > 1 else kw.get("other"),
                                 self._name(node), minimum=m == "minimum")
        if m == "transpose":
            return self._transpose(node, obj, self.val(args[1:3]), kw, self._name(node))
        if m in ("add", "add_", "sub", "sub_", "mul", "mul_", "div", "div_"):
            base = m.rstrip("_")
            if base == "div" and kw.get("rounding_mode") is not None:
                raise _unsupported(node, "division with rounding")
            other = args[1] if len(args) > 1 else kw.get("other")
            return self._binary(node, base, args[0], other,
                                kw.get("alpha", 1) if base in ("add", "sub") else 1)
        if m == "mean":
            return self._mean(node, obj, kw.get("dim", self.val(args[1]) if len(args) > 1 else None),
                              kw.get("keepdim", self.val(args[2]) if len(args) > 2 else False))
        if m in ("max", "amax"):
            dim = kw.get("dim", self.val(args[1]) if len(args) > 1 else None)
            keep = kw.get("keepdim", self.val(args[2]) if len(args) > 2 else False)
            if dim is None:
                raise _unsupported(node, "max over all elements")
            dim = dim % (len(obj.shape) + 1)
            if dim == 0:
                raise _unsupported(node, "max over the batch dimension")
            h = self.new(self.b.max_over_axis(obj.h, dim - 1, keepdim=bool(keep), name=self._name(node)))
            return _MaxResult(h) if m == "max" else h
        if m in ("permute",):
            dims = self.val(args[1:])
            if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
                dims = tuple(dims[0])
            if dims[0] != 0:
                raise _unsupported(node, "permute moves the batch dimension")
            return self.new(self.b.permute(obj.h, [d - 1 for d in dims[1:]], name=self._name(node)))
        if m in ("squeeze", "unsqueeze"):
            dim = self.val(args[1]) if len(args) > 1 else kw.get("dim")
            return self._squeeze(node, obj, m, dim)
        raise _unsupported(node, f"tensor method {m!r} is not supported", f"polyfold supports {_SUPPORTED}")


class _MaxResult:
    """The (values, indices) pair of ``torch.max(x, dim)``: only values may be used."""

    def __init__(self, values):
        self.values = values


def _infer_input_shape(gm, torch):
    """The input size from the first Linear layer when nothing but flattening and
    shape-free modules come before it, else None."""
    nn = torch.nn
    mods = dict(gm.named_modules())
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            continue
        if node.op == "call_module":
            mod = mods[node.target]
            if isinstance(mod, nn.Linear):
                return (int(mod.in_features),)
            if isinstance(mod, (nn.Flatten, nn.Dropout, nn.Identity)):
                continue
        if node.op == "call_function" and node.target is torch.flatten:
            continue
        if node.op == "call_method" and node.target in ("flatten", "view", "reshape", "size"):
            continue
        return None
    return None


def graph_from_torch(model, input_shape=None):
    """Trace ``model`` with ``torch.fx`` and build the :class:`PLGraph` (see module notes).

    Returns a PLGraph; :func:`polyfold.from_torch` turns dense chains into PLNets.
    """
    torch = _torch()
    import copy

    if not isinstance(model, torch.nn.Module):
        raise ValidationError(f"from_torch expects a torch.nn.Module, got {type(model).__name__}.")
    model = copy.deepcopy(model).double().eval()
    if type(model).__module__.startswith("torch.nn.modules") and not isinstance(model, torch.nn.Sequential):
        # fx traces the inside of the root module: wrap a bare layer so it stays one node
        model = torch.nn.Sequential(model)
    tracer = torch.fx.Tracer()
    tracer.record_stack_traces = True
    try:
        graph = tracer.trace(model)
    except Exception as err:  # torch.fx.proxy.TraceError and friends
        raise UnsupportedLayerError(
            f"torch.fx cannot trace {type(model).__name__}: {type(err).__name__}: {err}. This "
            "usually means data-dependent control flow (an `if` or loop on tensor values) or a "
            "call fx cannot follow. Fix: remove the branch on tensor values from forward(), "
            "mark helper functions with torch.fx.wrap, or export the model to ONNX "
            "(torch.onnx.export) and use polyfold.from_onnx."
        ) from err
    gm = torch.fx.GraphModule(tracer.root, graph)
    if input_shape is None:
        input_shape = _infer_input_shape(gm, torch)
        if input_shape is None:
            raise ValidationError(
                f"input_shape is required for {type(model).__name__}: its first operator is not "
                "a Linear layer; pass the per-sample shape, e.g. "
                "from_torch(model, input_shape=(3, 32, 32))."
            )
    input_shape = tuple(int(v) for v in np.atleast_1d(input_shape))
    interp = _Interpreter(gm, input_shape, torch)
    out = interp.run()
    if len(out.shape) != 1:
        out = interp._reshape_to(out, (int(np.prod(out.shape)),))
    net = interp.b.build(out.h, info={"source": f"torch:{type(model).__name__}"})
    _check_against_torch(net, model, input_shape, torch)
    return net


def _check_against_torch(net, model, input_shape, torch):
    """Compare with torch's eval-mode output on two random points; a mismatch means a
    conversion bug or unsupported semantics (raise rather than return a wrong net)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2,) + tuple(input_shape))
    with torch.no_grad():
        # (a copy: a model that writes into its input must not rewrite the check's X)
        ref = model(torch.from_numpy(X.copy())).reshape(2, -1).numpy()
    got = net.forward(X.reshape(2, -1))
    scale = max(1.0, float(np.abs(ref).max()))
    if ref.shape != got.shape or not np.allclose(got, ref, rtol=1e-9, atol=1e-9 * scale):
        inplace = any(getattr(m, "inplace", False) for m in model.modules())
        hint = (" The model modifies tensors in place (inplace=True, or methods such as add_): "
                "where such a tensor is read again, torch sees the modified values, which a traced "
                "graph does not; use out-of-place operations there." if inplace else
                " The model uses an operation polyfold does not represent exactly (writing in "
                "place into a tensor that is read again, with inplace=True or a method such as "
                "add_, is one); please report it otherwise.")
        raise UnsupportedLayerError(
            f"the converted graph does not reproduce {type(model).__name__}'s eval-mode output "
            f"(max difference {np.abs(got - ref).max() if ref.shape == got.shape else 'shape'})." + hint
        )
