"""Import of ONNX models into a :class:`PLGraph` (private; see :func:`polyfold.from_onnx`).

ONNX is how Keras, JAX and TensorFlow models reach polyfold.  The graph's nodes are
read in their (topological) order; tensors become nodes of a
:class:`~polyfold.graph.GraphBuilder`, initializers and ``Constant`` nodes are
float64 arrays, and the small integer computations that dynamic exports make of
shapes (``Shape`` / ``Gather`` / ``Unsqueeze`` / ``Concat`` feeding a ``Reshape``)
are followed symbolically with the batch dimension as a token.
"""

import numpy as np

from ..exceptions import DependencyError, ShapeError, UnsupportedLayerError, ValidationError
from .fx import _BATCH
from .model import GraphBuilder, Node

__all__ = ["graph_from_onnx"]


def _onnx():
    try:
        import onnx
        from onnx import numpy_helper
    except ImportError as err:
        raise DependencyError(
            "from_onnx requires the onnx package: pip install polyfold[onnx] (or pip install onnx)."
        ) from err
    return onnx, numpy_helper


class _T:
    __slots__ = ("h", "shape")

    def __init__(self, h, shape):
        self.h = h
        self.shape = tuple(int(v) for v in shape)


_SUPPORTED = ("Gemm, MatMul (+Add), Conv, Relu, LeakyRelu, Clip, MaxPool, AveragePool, "
              "GlobalAveragePool, GlobalMaxPool, BatchNormalization, Add, Sub, Mul/Div by constants, "
              "Neg, Sum, Max, Min, Concat, Flatten, Reshape, Transpose, Squeeze, Unsqueeze, Pad "
              "(constant), ReduceMean over spatial axes, ReduceMax over one axis, Identity, "
              "Dropout, Constant, Shape/Gather/Cast/Slice/ConstantOfShape on shapes")


#: ops evaluated with numpy when no input is the network's data (shape arithmetic)
_CONSTANT_OPS = ("ConstantOfShape", "Reshape", "Transpose", "Slice")


def _attrs(node, onnx):
    out = {}
    for a in node.attribute:
        out[a.name] = onnx.helper.get_attribute_value(a)
    return out


class _Importer:
    def __init__(self, model, input_shape, onnx, numpy_helper):
        self.onnx = onnx
        self.nh = numpy_helper
        self.graph = model.graph
        # the version of the default operator set (ops' semantics differ between them;
        # a model that names none is read with today's)
        versions = [int(o.version) for o in model.opset_import if o.domain in ("", "ai.onnx")]
        self.opset = max(versions) if versions else onnx.defs.onnx_opset_version()
        self.env = {}
        self.consumers = {}
        for nd in self.graph.node:
            for name in nd.input:
                self.consumers[name] = self.consumers.get(name, 0) + 1
        for o in self.graph.output:
            self.consumers[o.name] = self.consumers.get(o.name, 0) + 1
        for init in self.graph.initializer:
            self.env[init.name] = numpy_helper.to_array(init).astype(np.float64) if \
                numpy_helper.to_array(init).dtype.kind == "f" else numpy_helper.to_array(init)
        inputs = [i for i in self.graph.input if i.name not in self.env]
        if len(inputs) != 1:
            raise UnsupportedLayerError(
                f"the ONNX graph has {len(inputs)} non-constant inputs "
                f"({[i.name for i in inputs]}); polyfold networks have one input."
            )
        inp = inputs[0]
        dims = [d.dim_value if d.HasField("dim_value") else None for d in inp.type.tensor_type.shape.dim]
        self.batch = dims[0] if dims else None
        if input_shape is None:
            if len(dims) < 2 or any(v is None or v < 1 for v in dims[1:]):
                raise ValidationError(
                    f"the ONNX input {inp.name!r} has shape {dims}: its per-sample shape is not fixed; "
                    "pass input_shape, e.g. from_onnx(path, input_shape=(3, 32, 32))."
                )
            input_shape = tuple(dims[1:])
        self.input_shape = tuple(int(v) for v in input_shape)
        self.b = GraphBuilder(self.input_shape, input_name=inp.name or "input")
        self.env[inp.name] = _T(self.b.input, self.input_shape)

    # -- helpers ---------------------------------------------------------------
    def err(self, node, why, fix=None):
        msg = f"ONNX node {node.name or '(unnamed)'!r} (op {node.op_type}, #{self._index}): {why}"
        if fix:
            msg += f"; {fix}"
        return UnsupportedLayerError(msg)

    def get(self, name):
        if name == "":
            return None
        if name not in self.env:
            raise ValidationError(f"ONNX value {name!r} is used before it is defined; the graph is not topologically sorted.")
        return self.env[name]

    def tensor(self, node, k=0):
        v = self.get(node.input[k])
        if not isinstance(v, _T):
            raise self.err(node, f"input {k} must be the network's data, not a constant")
        return v

    def const(self, node, k):
        v = self.get(node.input[k]) if len(node.input) > k else None
        if isinstance(v, _T):
            raise self.err(node, f"input {k} must be a constant (an initializer)")
        return v

    def new(self, h):
        return _T(h, self.b.shape(h))

    def name(self, node):
        n = node.name or None
        return n if n not in self.b._names else None

    def reshape_to(self, x, shape):
        shape = tuple(int(v) for v in shape)
        if shape == x.shape:
            return x
        return self.new(self.b.reshape(x.h, shape))

    # -- run ---------------------------------------------------------------------
    def run(self):
        for i, node in enumerate(self.graph.node):
            self._index = i
            outs = self.op(node, _attrs(node, self.onnx))
            if not isinstance(outs, (list, tuple)) or isinstance(outs, _T):
                outs = [outs]
            for name, v in zip(node.output, outs):
                if name:
                    self.env[name] = v
        if len(self.graph.output) != 1:
            raise UnsupportedLayerError(f"the ONNX graph has {len(self.graph.output)} outputs; polyfold needs one (the logits).")
        out = self.env[self.graph.output[0].name]
        if not isinstance(out, _T):
            raise UnsupportedLayerError("the ONNX graph's output is a constant.")
        return out

    def op(self, node, a):
        t = node.op_type
        b = self.b
        nm = self.name(node)
        if t == "Dropout" and len(node.input) > 2 and node.input[2]:
            # opset 12+: training_mode (input 2) true drops units at random
            mode = self.get(node.input[2])
            if isinstance(mode, _T) or mode is None or np.asarray(mode).any():
                raise self.err(node, "Dropout with training_mode true (or not a constant) drops units "
                               "at random, which no piecewise-linear net represents",
                               "export the model in eval mode (model.eval()) or set training_mode to false")
        if t in ("Identity", "Dropout"):
            return self.get(node.input[0])
        if t == "Constant":
            if "value" in a:
                v = self.nh.to_array(a["value"])
            elif "value_float" in a:
                v = np.array(a["value_float"])
            elif "value_floats" in a:
                v = np.array(a["value_floats"])
            elif "value_int" in a:
                v = np.array(a["value_int"])
            elif "value_ints" in a:
                v = np.array(a["value_ints"])
            else:
                raise self.err(node, "a Constant without a supported value")
            return v.astype(np.float64) if v.dtype.kind == "f" else v
        if t == "Shape":
            x = self.get(node.input[0])
            if isinstance(x, _T):
                return np.array([_BATCH] + list(x.shape), dtype=object)
            return np.array(np.shape(x))
        if t == "Cast":
            return self.get(node.input[0])
        if t == "Gather":
            x = self.get(node.input[0])
            if isinstance(x, _T):
                raise self.err(node, "Gather on the network's data (indexing) is not supported")
            idx = self.const(node, 1)
            return np.take(x, np.asarray(idx).astype(np.int64), axis=a.get("axis", 0))
        if t in ("Unsqueeze", "Squeeze") and not isinstance(self.get(node.input[0]), _T):
            x = np.asarray(self.get(node.input[0]))
            axes = a.get("axes")
            if axes is None and len(node.input) > 1:
                axes = list(np.asarray(self.const(node, 1)).astype(int))
            if t == "Unsqueeze":
                if axes is None:
                    raise self.err(node, "Unsqueeze without axes")
                rank = x.ndim + len(axes)
                return np.expand_dims(x, tuple(int(ax) % rank for ax in axes))
            return np.squeeze(x, axis=tuple(axes) if axes else None)
        if t == "Concat" and not any(isinstance(self.get(n), _T) for n in node.input):
            parts = [np.asarray(self.get(n)) for n in node.input]
            if all(v.ndim <= 1 for v in parts):
                return np.concatenate([v.reshape(-1) for v in parts])
            return np.concatenate(parts, axis=int(self._attr(node, a, "axis")))
        if t in _CONSTANT_OPS and not any(isinstance(self.get(n), _T) for n in node.input if n):
            return self._constant_op(node, t, a)
        if t == "Gemm":
            x = self.tensor(node, 0)
            if a.get("transA", 0):
                raise self.err(node, "Gemm with transA=1 on the data")
            B = self.const(node, 1)
            C = self.const(node, 2)
            Bm = B.T if a.get("transB", 0) else B
            W = a.get("alpha", 1.0) * Bm.T
            bias = None if C is None else a.get("beta", 1.0) * self._gemm_bias(node, C, W.shape[0])
            return self.new(b.dense(self._vector(node, x).h, W, bias, name=nm))
        if t == "MatMul":
            x = self.tensor(node, 0)
            B = self.const(node, 1)
            if B.ndim != 2:
                raise self.err(node, "MatMul with a weight that is not a matrix")
            if len(x.shape) > 1 and x.shape[-1] == B.shape[0]:
                return self._last_axis_matmul(node, x, B, nm)
            return self.new(b.dense(self._vector(node, x).h, B.T, None, name=nm))
        if t == "Conv":
            x = self.tensor(node, 0)
            Wc = self.const(node, 1)
            bias = self.const(node, 2)
            nd = Wc.ndim - 2
            pads = self._pads(node, a, x, Wc.shape[2:], a.get("strides", [1] * nd), a.get("dilations", [1] * nd))
            return self.new(b.conv(x.h, Wc, bias, stride=a.get("strides", 1), padding=pads,
                                   dilation=a.get("dilations", 1), groups=a.get("group", 1), name=nm))
        if t == "Relu":
            return self.new(b.relu(self.tensor(node).h, name=nm))
        if t == "LeakyRelu":
            return self.new(b.leaky_relu(self.tensor(node).h, float(a.get("alpha", 0.01)), name=nm))
        if t == "Clip":
            x = self.tensor(node)
            lo = a.get("min")
            hi = a.get("max")
            if len(node.input) > 1 and node.input[1]:
                lo = float(np.asarray(self.const(node, 1)).reshape(()))
            if len(node.input) > 2 and node.input[2]:
                hi = float(np.asarray(self.const(node, 2)).reshape(()))
            lo = -np.inf if lo is None else float(lo)
            hi = np.inf if hi is None else float(hi)
            if lo == 0.0 and hi == np.inf:
                return self.new(b.relu(x.h, name=nm))
            if np.isfinite(lo) and np.isfinite(hi) and lo <= 0 < hi:
                return self.new(b.hardtanh(x.h, lo, hi, name=nm))
            raise self.err(node, f"Clip to [{lo}, {hi}]", "polyfold supports Clip(0, inf) and Clip(lo, hi) with lo <= 0 < hi")
        if t in ("MaxPool", "AveragePool"):
            x = self.tensor(node)
            k = self._attr(node, a, "kernel_shape")
            nd = len(k)
            strides = a.get("strides", [1] * nd)
            dil = a.get("dilations", [1] * nd)
            pads = self._pads(node, a, x, k, strides, dil)
            if any(p0 != p1 for p0, p1 in pads):
                raise self.err(node, f"asymmetric pooling pads {pads}")
            sym = [p0 for p0, _ in pads]
            ceil = bool(a.get("ceil_mode", 0))
            if t == "MaxPool":
                if len(node.output) > 1 and node.output[1] and self.consumers.get(node.output[1]):
                    raise self.err(node, "the indices output of MaxPool is used")
                return self.new(b.max_pool(x.h, k, strides, sym, dil, ceil_mode=ceil, name=nm))
            if any(d != 1 for d in dil):
                raise self.err(node, "AveragePool with dilations")
            return self.new(b.avg_pool(x.h, k, strides, sym, ceil_mode=ceil,
                                       count_include_pad=bool(a.get("count_include_pad", 0)), name=nm))
        if t in ("GlobalAveragePool", "GlobalMaxPool"):
            x = self.tensor(node)
            ones = (1,) * (len(x.shape) - 1)
            if t == "GlobalAveragePool":
                return self.new(b.adaptive_avg_pool(x.h, ones, name=nm))
            return self.new(b.adaptive_max_pool(x.h, ones, name=nm))
        if t == "BatchNormalization":
            x = self.tensor(node)
            # training mode normalises with the statistics of the batch, so a sample's
            # output depends on the other samples: opset 14+ says so with training_mode,
            # opsets 9-13 with the running statistics as extra outputs, opset <= 6 with
            # is_test = 0 (its default)
            training = bool(a.get("training_mode", 0)) or any(node.output[1:])
            if self.opset <= 6 or "is_test" in a:
                training = training or not a.get("is_test", 0)
            if training:
                raise self.err(node, "BatchNormalization in training mode normalises with the batch's "
                               "statistics, so it is no function of one sample",
                               "export the model in eval mode (model.eval(), torch.onnx.export with "
                               "training=TrainingMode.EVAL) so that the running statistics are used")
            scale, bias, mean, var = (np.asarray(self.const(node, k), np.float64) for k in (1, 2, 3, 4))
            C = x.shape[0]
            if any(v.shape not in ((C,), (1,)) for v in (scale, bias, mean, var)):
                raise self.err(node, f"BatchNormalization parameters of shapes "
                               f"{[v.shape for v in (scale, bias, mean, var)]} on data of shape {x.shape}",
                               f"polyfold folds per-channel statistics of shape ({C},)")
            scale, bias, mean, var = (np.broadcast_to(v, (C,)) for v in (scale, bias, mean, var))
            if np.any(var + a.get("epsilon", 1e-5) <= 0):
                raise self.err(node, "BatchNormalization with var + epsilon <= 0 in a channel",
                               "the running variance must be non-negative and epsilon positive")
            s = scale / np.sqrt(var + a.get("epsilon", 1e-5))
            shift = bias - s * mean
            return self._fold_bn(node, x, s, shift, nm)
        if t in ("Add", "Sub"):
            return self._addsub(node, 1.0 if t == "Add" else -1.0, nm)
        if t in ("Mul", "Div"):
            A, B = self.get(node.input[0]), self.get(node.input[1])
            if isinstance(A, _T) and isinstance(B, _T):
                raise self.err(node, "a product of two data tensors is not piecewise linear")
            if not isinstance(A, _T) and not isinstance(B, _T):
                return np.asarray(A) * np.asarray(B) if t == "Mul" else np.asarray(A) / np.asarray(B)
            if t == "Div" and not isinstance(A, _T):
                raise self.err(node, "division by a data tensor is not piecewise linear")
            T, c = (A, B) if isinstance(A, _T) else (B, A)
            c = self._broadcast(node, c, T.shape)
            if t == "Div":
                if np.any(c == 0):
                    raise self.err(node, "division by zero")
                c = 1.0 / c
            return self.new(b.scalar_affine(T.h, c, 0.0, name=nm))
        if t == "Neg":
            return self.new(b.scalar_affine(self.tensor(node).h, -1.0, 0.0, name=nm))
        if t == "Sum":
            xs = [self.get(n) for n in node.input]
            if not all(isinstance(v, _T) for v in xs):
                raise self.err(node, "Sum of constants and data")
            return self.new(b.add(*[v.h for v in xs], name=nm))
        if t in ("Max", "Min"):
            xs = [self.get(n) for n in node.input]
            if not all(isinstance(v, _T) for v in xs):
                raise self.err(node, f"{t} with a constant operand", "polyfold supports the elementwise max of data tensors")
            if len({v.shape for v in xs}) != 1:
                raise self.err(node, f"{t} of tensors of different shapes")
            hs = [v.h for v in xs]
            if t == "Min":
                hs = [b.scalar_affine(h, -1.0, 0.0) for h in hs]
            h = b.reshape(b.maximum(*hs, name=nm if t == "Max" else None), xs[0].shape)
            if t == "Min":
                h = b.scalar_affine(h, -1.0, 0.0, name=nm)
            return self.new(h)
        if t == "Concat":
            xs = [self.get(n) for n in node.input]
            if not all(isinstance(v, _T) for v in xs):
                raise self.err(node, "Concat of constants and data")
            axis = self._attr(node, a, "axis")
            nd = len(xs[0].shape) + 1
            axis = axis % nd
            if axis == 0:
                raise self.err(node, "Concat along the batch axis")
            return self.new(b.concat(*[v.h for v in xs], axis=axis - 1, name=nm))
        if t == "Flatten":
            x = self.tensor(node)
            axis = a.get("axis", 1) % (len(x.shape) + 1)
            if axis != 1:
                raise self.err(node, f"Flatten with axis={axis} merges the batch dimension into its rows "
                               "(ONNX Flatten gives a 2-D tensor)", "use axis=1")
            return self.reshape_to(x, [int(np.prod(x.shape))])
        if t == "Reshape":
            x = self.tensor(node)
            target = list(np.asarray(self.const(node, 1), dtype=object).reshape(-1))
            return self._reshape(node, x, target)
        if t in ("Squeeze", "Unsqueeze"):
            x = self.tensor(node)
            axes = a.get("axes")
            if axes is None and len(node.input) > 1:
                axes = [int(v) for v in np.asarray(self.const(node, 1)).reshape(-1)]
            shape = [None] + list(x.shape)
            if t == "Squeeze":
                if axes is None:
                    axes = [i for i, v in enumerate(shape) if v == 1]
                axes = [ax % len(shape) for ax in axes]
                if 0 in axes:
                    raise self.err(node, "Squeeze of the batch axis")
                new = [v for i, v in enumerate(shape) if i not in axes]
            else:
                n_out = len(shape) + len(axes)
                axes = sorted(ax % n_out for ax in axes)
                if 0 in axes:
                    raise self.err(node, "Unsqueeze before the batch axis")
                new = list(shape)
                for ax in axes:
                    new.insert(ax, 1)
            return self.reshape_to(x, new[1:] or [1])
        if t == "Transpose":
            x = self.tensor(node)
            perm = a.get("perm", list(range(len(x.shape), -1, -1)))
            if perm[0] != 0:
                raise self.err(node, f"Transpose with perm {perm} moves the batch axis")
            return self.new(b.permute(x.h, [p - 1 for p in perm[1:]], name=nm))
        if t == "Pad":
            x = self.tensor(node)
            mode = a.get("mode", b"constant")
            mode = mode.decode() if isinstance(mode, bytes) else mode
            pads = a.get("pads")
            if pads is None:
                pads = [int(v) for v in np.asarray(self.const(node, 1)).reshape(-1)]
            value = a.get("value", 0.0)
            if len(node.input) > 2 and node.input[2]:
                value = float(np.asarray(self.const(node, 2)).reshape(()))
            if mode != "constant" or not np.isfinite(value):
                raise self.err(node, f"Pad mode {mode!r} value {value}",
                               "only constant padding with a finite value is supported")
            rank = len(x.shape) + 1
            nd = len(pads) // 2
            if len(node.input) > 3 and node.input[3]:
                # opset 18: pads for the listed axes only (the others get none)
                axes = [int(v) % rank for v in np.asarray(self.const(node, 3)).reshape(-1)]
                if len(axes) != nd or len(set(axes)) != nd:
                    raise self.err(node, f"Pad with axes {axes} and {len(pads)} pads")
                full = [(0, 0)] * rank
                for ax, before, after in zip(axes, pads[:nd], pads[nd:]):
                    full[ax] = (int(before), int(after))
                pp = full
            else:
                pp = list(zip(pads[:nd], pads[nd:]))
            if len(pp) != rank:
                raise self.err(node, f"Pad with {len(pads)} pads on data of rank {rank}")
            if pp[0] != (0, 0) or any(p < 0 for pr in pp for p in pr):
                raise self.err(node, "Pad of the batch axis or negative pads")
            pp = [(int(p0), int(p1)) for p0, p1 in pp[1:]]
            h = b.pad(x.h, pp, name=None if value else nm)
            if value:
                # the padded entries hold the value: pad(x) + value * (1 - pad(ones))
                inside = np.zeros(b.shape(h))
                inside[tuple(slice(p0, p0 + n) for n, (p0, _) in zip(x.shape, pp))] = 1.0
                h = b.scalar_affine(h, 1.0, value * (1.0 - inside), name=nm)
            return self.new(h)
        if t in ("ReduceMean", "ReduceMax"):
            x = self.tensor(node)
            axes = a.get("axes")
            if axes is None and len(node.input) > 1 and node.input[1]:
                axes = [int(v) for v in np.asarray(self.const(node, 1)).reshape(-1)]
            keep = bool(a.get("keepdims", 1))
            nd = len(x.shape) + 1
            axes = sorted(ax % nd for ax in (axes or []))
            if t == "ReduceMean":
                if axes != list(range(2, nd)):
                    raise self.err(node, f"ReduceMean over axes {axes}", "only the mean over all spatial axes is supported")
                h = self.new(b.adaptive_avg_pool(x.h, (1,) * (nd - 2), name=nm))
                return self.reshape_to(h, (x.shape[0],) + ((1,) * (nd - 2) if keep else ()))
            if len(axes) != 1 or axes[0] == 0:
                raise self.err(node, f"ReduceMax over axes {axes}", "polyfold supports the max over one non-batch axis")
            return self.new(b.max_over_axis(x.h, axes[0] - 1, keepdim=keep, name=nm))
        why = f"op {t} is not piecewise linear or not supported"
        if t in ("Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Exp", "Log", "Elu", "Selu", "Gelu",
                 "Softplus", "HardSwish", "Mish", "Erf", "Pow", "Sqrt"):
            why = f"op {t} is not piecewise linear"
        raise self.err(node, why, f"polyfold supports {_SUPPORTED}")

    def _constant_op(self, node, t, a):
        """Shape arithmetic of exported graphs on constants (numpy), e.g. the pads of
        torch's F.pad or the target of a Reshape; object arrays carry the batch token."""
        vals = [None if not n else self.get(n) for n in node.input]
        if t == "ConstantOfShape":
            shape = list(np.asarray(vals[0]).reshape(-1))
            if any(v is _BATCH for v in shape):
                raise self.err(node, "ConstantOfShape of a shape with the batch size",
                               "export with a fixed batch size")
            shape = [int(v) for v in shape]
            fill = self.nh.to_array(a["value"]).reshape(-1) if "value" in a else np.zeros(1, np.float32)
            out = np.full(shape, fill[0], dtype=fill.dtype)
            return out.astype(np.float64) if out.dtype.kind == "f" else out
        x = np.asarray(vals[0])
        if t == "Reshape":
            shape = [int(v) for v in np.asarray(vals[1]).reshape(-1)]
            if not a.get("allowzero", 0):
                shape = [x.shape[i] if v == 0 else v for i, v in enumerate(shape)]
            return x.reshape(shape)
        if t == "Transpose":
            return np.transpose(x, a.get("perm"))
        if t == "Slice":
            if len(vals) > 1:  # opset 10+: starts, ends, axes, steps as inputs
                starts, ends = (np.asarray(v).reshape(-1).astype(np.int64) for v in vals[1:3])
                axes = vals[3] if len(vals) > 3 and vals[3] is not None else range(len(starts))
                steps = vals[4] if len(vals) > 4 and vals[4] is not None else [1] * len(starts)
            else:
                starts, ends = a["starts"], a["ends"]
                axes = a.get("axes", range(len(starts)))
                steps = [1] * len(starts)
            sl = [slice(None)] * x.ndim
            for st, en, ax, sp in zip(starts, ends, np.asarray(axes).reshape(-1), np.asarray(steps).reshape(-1)):
                ax, n = int(ax) % x.ndim, x.shape[int(ax) % x.ndim]
                # (exporters write +-2**63 - 1 for "to the end"; clip like the ONNX spec)
                lo, hi = (-1, n - 1) if sp < 0 else (0, n)
                st = min(max(int(st) + n if st < 0 else int(st), lo), hi)
                en = min(max(int(en) + n if en < 0 else int(en), lo), hi)
                sl[ax] = slice(st, None if (sp < 0 and en < 0) else en, int(sp))
            return x[tuple(sl)]
        raise self.err(node, f"op {t} on constants")  # pragma: no cover

    def _last_axis_matmul(self, node, x, B, nm):
        """``x @ B`` on a per-sample tensor of several axes (a Linear on the last axis):
        one block-diagonal layer ``kron(I_k, B.T)`` on the flattened tensor."""
        from .fx import _MAX_BLOCK_LINEAR

        k = int(np.prod(x.shape[:-1]))
        if k * k * B.size > _MAX_BLOCK_LINEAR:
            raise self.err(node, f"MatMul on a per-sample tensor of shape {x.shape}: its block-diagonal "
                           f"form has {k * k * B.size:,} entries", "flatten the input first")
        b = self.b
        h = b.dense(b.flatten(x.h), np.kron(np.eye(k), B.T), None, name=nm)
        return self.new(b.reshape(h, tuple(x.shape[:-1]) + (B.shape[1],)))

    def _vector(self, node, x):
        if len(x.shape) != 1:
            raise self.err(node, f"a matrix product on per-sample shape {x.shape}", "flatten first")
        return x

    def _broadcast(self, node, c, shape):
        c = np.asarray(c, np.float64)
        if c.ndim == len(shape) + 1:
            if c.shape[0] != 1:
                raise self.err(node, "a constant with a batch dimension")
            c = c[0]
        try:
            return np.broadcast_to(c, shape).copy()
        except ValueError as err:
            raise self.err(node, f"a constant of shape {c.shape} on data of shape {shape}") from err

    def _addsub(self, node, sign, nm):
        A, B = self.get(node.input[0]), self.get(node.input[1])
        b = self.b
        if isinstance(A, _T) and isinstance(B, _T):
            if tuple(A.shape) != tuple(B.shape):
                raise self.err(node, f"adding data of shapes {A.shape} and {B.shape} (broadcasting)",
                               "polyfold adds data of equal per-sample shapes; expand one input first")
            return self.new(b.add(A.h, B.h, weights=(1.0, sign), name=nm))
        if not isinstance(A, _T) and not isinstance(B, _T):
            return np.asarray(A) + sign * np.asarray(B)
        if isinstance(A, _T):
            return self.new(b.scalar_affine(A.h, 1.0, sign * self._broadcast(node, B, A.shape), name=nm))
        return self.new(b.scalar_affine(B.h, sign, self._broadcast(node, A, B.shape), name=nm))

    def _pads(self, node, a, x, kernel, strides, dilations):
        nd = len(kernel)
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("NOTSET", ""):
            p = a.get("pads", [0] * (2 * nd))
            return [(int(p[i]), int(p[i + nd])) for i in range(nd)]
        if auto == "VALID":
            return [(0, 0)] * nd
        out = []
        for n, k, s, d in zip(x.shape[1:], kernel, strides, dilations):
            o = -(-n // s)
            total = max(0, (o - 1) * s + d * (k - 1) + 1 - n)
            lo = total // 2 if auto == "SAME_UPPER" else total - total // 2
            out.append((lo, total - lo))
        return out

    def _reshape(self, node, x, target):
        n = int(np.prod(x.shape))
        first = target[0]
        if first is _BATCH or (isinstance(first, (int, np.integer)) and int(first) in (0, -1)) or (
            self.batch is not None and first == self.batch
        ):
            rest = target[1:]
        else:
            raise self.err(node, f"Reshape to {target} does not keep the batch dimension first")
        rest = list(rest)
        for i, v in enumerate(rest):
            if v is _BATCH:
                raise self.err(node, "Reshape moves the batch dimension")
            if int(v) == 0:
                rest[i] = x.shape[i]
        rest = [int(v) for v in rest]
        if rest.count(-1) > 1:
            raise self.err(node, "Reshape with several -1")
        if -1 in rest:
            known = int(np.prod([v for v in rest if v != -1]))
            rest[rest.index(-1)] = n // known if known else 0
        if int(np.prod(rest)) != n:
            raise ShapeError(f"ONNX node {node.name!r}: cannot reshape per-sample shape {x.shape} to {rest}.")
        return self.reshape_to(x, rest)

    def _gemm_bias(self, node, C, m):
        """Gemm's ``C`` as a vector of the ``m`` outputs (it broadcasts over the batch)."""
        C = np.asarray(C, dtype=np.float64)
        if C.ndim == 2:
            if C.shape[0] != 1:
                raise self.err(node, f"Gemm bias C of shape {C.shape} differs between samples of the batch",
                               "polyfold needs a bias of shape (M,), (1, M) or a scalar")
            C = C[0]
        if C.ndim > 2 or (C.ndim == 1 and C.shape[0] not in (1, m)):
            raise self.err(node, f"Gemm bias C of shape {C.shape} does not broadcast to {m} outputs")
        return np.broadcast_to(C.reshape(-1) if C.ndim else C, (m,)).copy()

    def _attr(self, node, a, key):
        if key not in a:
            raise self.err(node, f"attribute {key!r} is missing (the ONNX model is invalid)",
                           "check it with onnx.checker.check_model")
        return a[key]

    def _fold_bn(self, node, x, s, shift, nm):
        from .ops import Conv, Dense

        prev = self.b._nodes[x.h]
        # fold only when nothing else reads the layer's output: every ONNX name of it
        # (pass-through nodes such as Identity or Dropout give it new names) has this
        # one reader chain
        names = [nm_ for nm_, v in self.env.items() if isinstance(v, _T) and v.h == x.h]
        sole = all(self.consumers.get(nm_, 0) == 1 for nm_ in names) and not any(
            x.h in nd.inputs for nd in self.b._nodes)
        if sole and isinstance(prev.op, Conv):
            op = prev.op
            w = op.weight * s.reshape((-1,) + (1,) * (op.weight.ndim - 1))
            new = Conv(w, op.bias * s + shift, op.in_shapes[0], stride=op.stride, padding=list(op.pads),
                       dilation=op.dilation, groups=op.groups)
            self.b._nodes[x.h] = Node(prev.name, new, prev.inputs)
            return x
        if sole and isinstance(prev.op, Dense) and len(s) == prev.op.W.shape[0]:
            op = prev.op
            self.b._nodes[x.h] = Node(prev.name, Dense(op.W * s[:, None], op.b * s + shift, op.in_shapes[0]), prev.inputs)
            return x
        return self.new(self.b.channel_affine(x.h, s, shift, name=nm))


def graph_from_onnx(path_or_model, input_shape=None):
    """Build a :class:`PLGraph` from an ONNX file path, bytes or ``onnx.ModelProto``."""
    onnx, numpy_helper = _onnx()
    model = path_or_model
    if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
        if isinstance(model, bytes) and not model[:1] in (b"/", b"."):
            try:
                model = onnx.load_from_string(model)
            except Exception as err:
                raise ValidationError(f"the bytes passed to from_onnx are not an ONNX model: {err}") from err
        else:
            import os

            if not os.path.exists(model):
                raise ValidationError(f"ONNX file {str(model)!r} does not exist; check the path.")
            try:
                model = onnx.load(model)
            except Exception as err:
                raise ValidationError(f"could not read {str(path_or_model)!r} as an ONNX model: {err}") from err
    if not isinstance(model, onnx.ModelProto):
        raise ValidationError(
            f"from_onnx expects a path, bytes or an onnx.ModelProto, got {type(path_or_model).__name__}."
        )
    imp = _Importer(model, input_shape, onnx, numpy_helper)
    out = imp.run()
    if len(out.shape) != 1:
        out = imp.reshape_to(out, (int(np.prod(out.shape)),))
    return imp.b.build(out.h, info={"source": "onnx"})
