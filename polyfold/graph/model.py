"""The piecewise-linear graph network :class:`PLGraph`.

A :class:`PLGraph` is a directed acyclic graph of nodes stored in a topological
order: node 0 is the input, every other node applies an affine operator
(:mod:`polyfold.graph.ops`) or a unit group (:mod:`polyfold.graph.units`) to the
outputs of earlier nodes, and one node is the output (the logits).  Tensors are
stored per point, flattened in C order: a batch of ``P`` points is a ``(P, size)``
array.

Unit groups are ordered as the nodes are.  The *codes* of a point concatenate the
codes of every group in that order (``net.layer_offsets`` says where each group
starts), exactly as the hidden layers of a :class:`~polyfold.PLNet`; ``net.depth``
is the number of unit groups and ``net.widths`` their sizes, so code written for
dense nets in terms of layers reads groups here.

The exact engines evaluate a graph stage by stage (:meth:`PLGraph.stages`): the
*state* of a point before group ``g`` holds the group's input followed by every
tensor computed earlier that a later node still needs (the skip connections).
Along a segment or over a cell on which all earlier codes are fixed, the state is
affine, so new breakpoints and vertices are interpolated from known ones.
"""

import json
from dataclasses import dataclass

import numpy as np

from .. import arith
from .._validation import as_float_array, mark_nonfinite_rows
from ..tolerance import UNIT_ROUNDOFF
from ..exceptions import NonFiniteError, PolyfoldError, ShapeError, UnsupportedLayerError, ValidationError
from . import ops as _ops
from . import units as _units

__all__ = ["Node", "PLGraph", "GraphBuilder", "Stages"]

FORMAT = "polyfold.PLGraph/1"


@dataclass(frozen=True)
class Node:
    """One node of a :class:`PLGraph`.

    Attributes
    ----------
    name : str
        Unique name (for imported models: the module path or the fx node name).
    op : AffineOp, Units or None
        None for the input node.
    inputs : tuple of int
        Indices of the nodes whose outputs it reads.
    """

    name: str
    op: object
    inputs: tuple

    @property
    def is_units(self):
        return isinstance(self.op, _units.Units)

    @property
    def shape(self):
        return self.op.out_shape


class _InputOp:
    def __init__(self, shape):
        self.out_shape = tuple(int(v) for v in shape)
        self.in_shapes = ()


def _size(shape):
    return int(np.prod(shape, dtype=np.int64))



def _flat(x):
    """``x`` (P, ...) as (P, size of one sample); the explicit width (not ``-1``) keeps
    batches of no points working."""
    return x.reshape(len(x), int(np.prod(x.shape[1:], dtype=np.int64)))


class PLGraph:
    """An immutable piecewise-linear computation graph.

    Build one with :class:`GraphBuilder`, :func:`polyfold.from_torch` (any module
    ``torch.fx`` can trace), :func:`polyfold.from_onnx` or :mod:`polyfold.zoo`.
    It has the interface of :class:`~polyfold.PLNet` (``forward``, ``predict``,
    ``codes``, ``patterns``, ``affine_map``, ``save``/``load``, ``input_dim``,
    ``output_dim``, ``n_hidden``, ``unit_of``) and every exact engine of polyfold
    accepts it.

    Parameters
    ----------
    nodes : sequence of Node
        In topological order; ``nodes[0]`` is the input.
    output : int, optional
        Index of the output node (default: the last).
    info : dict, optional
        Metadata (name, training, accuracy; ``{"trained": False}`` for untrained
        nets); not part of equality.

    Notes
    -----
    Points are accepted flattened in C order, ``(m, input_dim)``, or shaped,
    ``(m, *input_shape)`` (one point: ``(input_dim,)`` or ``input_shape``).

    Examples
    --------
    >>> import numpy as np
    >>> from polyfold.graph import GraphBuilder
    >>> b = GraphBuilder((1, 3, 3))
    >>> h = b.conv(b.input, np.ones((2, 1, 2, 2)), np.array([-1.0, 0.0]))
    >>> h = b.relu(h)
    >>> h = b.max_pool(h, 2, stride=1)
    >>> y = b.dense(b.flatten(h), np.ones((1, 2)), np.zeros(1))
    >>> net = b.build(y)
    >>> net.input_shape, net.widths, net.output_dim
    ((1, 3, 3), (8, 2), 1)
    >>> net.forward(np.ones((1, 3, 3))).tolist()   # max(4 - 1, 0) + max(4, 0)
    [7.0]
    """

    __slots__ = ("_nodes", "_output", "_info", "_cache")

    def __init__(self, nodes, output=None, *, info=None):
        nodes = tuple(nodes)
        if not nodes or not isinstance(nodes[0].op, _InputOp):
            raise ValidationError("nodes[0] must be the input node (GraphBuilder makes it).")
        names = set()
        for i, nd in enumerate(nodes):
            if nd.name in names:
                raise ValidationError(f"node names must be unique; {nd.name!r} appears twice.")
            names.add(nd.name)
            if i == 0:
                continue
            if any(j < 0 or j >= i for j in nd.inputs):
                raise ValidationError(
                    f"node {nd.name!r} reads nodes {nd.inputs}; nodes must be in topological "
                    "order (inputs before the node that reads them)."
                )
            shapes = tuple(nodes[j].op.out_shape for j in nd.inputs)
            want = nd.op.in_shapes
            if len(shapes) != len(want) or any(_size(a) != _size(b) for a, b in zip(shapes, want)):
                raise ShapeError(
                    f"node {nd.name!r} ({type(nd.op).__name__}) expects inputs of shapes {want}, "
                    f"its inputs have shapes {shapes}."
                )
        output = len(nodes) - 1 if output is None else int(output)
        if not 0 <= output < len(nodes):
            raise ValidationError(f"output {output} is not a node index.")
        if len(nodes[output].op.out_shape) != 1:
            raise ShapeError(
                f"the output node {nodes[output].name!r} has shape {nodes[output].op.out_shape}; "
                "the output must be a vector of logits (flatten it first)."
            )
        object.__setattr__(self, "_nodes", nodes)
        object.__setattr__(self, "_output", output)
        object.__setattr__(self, "_info", dict(info or {}))
        object.__setattr__(self, "_cache", {})

    def __setattr__(self, name, value):
        raise AttributeError("PLGraph is immutable; build a new one with GraphBuilder")

    # -- structure -------------------------------------------------------------
    @property
    def nodes(self):
        return self._nodes

    @property
    def info(self):
        """Metadata (a copy)."""
        return dict(self._info)

    @property
    def input_shape(self):
        return self._nodes[0].op.out_shape

    @property
    def input_dim(self):
        return _size(self.input_shape)

    @property
    def output_dim(self):
        return self._nodes[self._output].op.out_shape[0]

    def _groups(self):
        if "groups" not in self._cache:
            self._cache["groups"] = tuple(i for i, nd in enumerate(self._nodes) if nd.is_units)
        return self._cache["groups"]

    @property
    def group_names(self):
        """Names of the unit groups, in order."""
        return tuple(self._nodes[i].name for i in self._groups())

    @property
    def group_units(self):
        """The :class:`~polyfold.graph.units.Units` object of every group."""
        return tuple(self._nodes[i].op for i in self._groups())

    @property
    def group_shapes(self):
        """Per-sample shape of every group's units."""
        return tuple(u.out_shape for u in self.group_units)

    @property
    def depth(self):
        """Number of unit groups (the hidden layers of a dense net)."""
        return len(self._groups())

    @property
    def widths(self):
        """Number of units of every group."""
        return tuple(u.n_units for u in self.group_units)

    @property
    def n_hidden(self):
        """Total number of units (the length of a code vector)."""
        return int(sum(self.widths))

    @property
    def layer_offsets(self):
        """Start of each group's units in a code vector (length depth + 1)."""
        return np.concatenate([[0], np.cumsum(self.widths)]).astype(np.int64)

    group_offsets = layer_offsets

    @property
    def code_sizes(self):
        """(n_hidden,) int64: the number of possible codes of every unit."""
        if not self.depth:
            return np.zeros(0, np.int64)
        return np.concatenate([np.full(u.n_units, u.n_codes, np.int64) for u in self.group_units])

    @property
    def has_max_units(self):
        return any(u.kind == "max" for u in self.group_units)

    @property
    def is_dense(self):
        return False

    def unit_index(self, group, unit):
        """Position in a code vector of ``unit`` (flat index or index tuple) of ``group``
        (its index or name)."""
        g = self.group_names.index(group) if isinstance(group, str) else int(group)
        shape = self.group_shapes[g]
        j = int(np.ravel_multi_index(tuple(unit), shape)) if isinstance(unit, tuple) else int(unit)
        return int(self.layer_offsets[g] + j)

    def unit_of(self, index):
        """``(group name, unit index tuple)`` of a position in a code vector."""
        off = self.layer_offsets
        g = int(np.searchsorted(off, index, side="right") - 1)
        j = int(index - off[g])
        return self.group_names[g], tuple(int(v) for v in np.unravel_index(j, self.group_shapes[g]))

    def __repr__(self):
        parts = []
        for name, u in zip(self.group_names, self.group_units):
            parts.append(f"{name}: {u.describe()} {'x'.join(map(str, u.out_shape))}")
        if len(parts) > 6:
            parts = parts[:3] + [f"... {len(parts) - 5} more"] + parts[-2:]
        flag = ""
        if self._info.get("trained") is False:
            flag = ", untrained"
        name = f"{self._info['name']!r}, " if "name" in self._info else ""
        return (f"PLGraph({name}input_shape={self.input_shape}, {self.depth} unit groups "
                f"[{'; '.join(parts)}], n_hidden={self.n_hidden}, output_dim={self.output_dim}{flag})")

    def __eq__(self, other):
        if not isinstance(other, PLGraph):
            return NotImplemented
        if len(self._nodes) != len(other._nodes) or self._output != other._output:
            return False
        for a, b in zip(self._nodes[1:], other._nodes[1:]):
            if a.inputs != b.inputs or type(a.op) is not type(b.op):
                return False
            da, db = _node_desc(a), _node_desc(b)
            if da[0] != db[0] or da[1].keys() != db[1].keys() or not all(
                np.array_equal(da[1][k], db[1][k]) for k in da[1]
            ):
                return False
        return self.input_shape == other.input_shape

    def __hash__(self):
        return hash((self.input_shape, len(self._nodes), self.n_hidden, self.output_dim))

    def __reduce__(self):
        return (PLGraph, (self._nodes, self._output), {"info": self._info})

    def __setstate__(self, state):
        object.__setattr__(self, "_info", dict(state.get("info", {})))
        object.__setattr__(self, "_cache", {})

    def renamed(self, mapping, *, info=None):
        """A copy with nodes renamed (``{old: new}``) and, optionally, new ``info``."""
        nodes = [Node(mapping.get(nd.name, nd.name), nd.op, nd.inputs) for nd in self._nodes]
        return PLGraph(nodes, self._output, info=self._info if info is None else info)

    # -- points ------------------------------------------------------------------------
    def as_points(self, points, name="points"):
        """``(X (n, input_dim) float64, single)`` from flat or shaped points."""
        return as_graph_points(points, self.input_shape, name)

    # -- evaluation ------------------------------------------------------------------
    def _last_use(self):
        if "last" not in self._cache:
            last = np.zeros(len(self._nodes), np.int64)
            for i, nd in enumerate(self._nodes):
                for j in nd.inputs:
                    last[j] = max(last[j], i)
            last[self._output] = len(self._nodes)
            self._cache["last"] = last
        return self._cache["last"]

    def _evaluate(self, X, *, exact=False, codes=None, want_inputs=False, want_codes=False, bad=None):
        """Forward through every node.

        ``codes`` (n, n_hidden): fixed codes (the local affine map of that region);
        returns ``(logits, group inputs or None, codes or None)``.  Every operator takes
        a batch of no points, so ``(0, ...)`` batches give empty results of the right widths.
        ``bad`` (float, (n,) bool): set where a unit group's inputs or the logits are
        not finite (values that overflowed float64; every inf or NaN of a node reaches
        a unit group or the logits).
        """
        last = self._last_use()
        vals = {0: X}
        inputs, out_codes = [], []
        off = self.layer_offsets
        g = 0
        for i, nd in enumerate(self._nodes):
            if i == 0:
                continue
            xs = [vals[j] for j in nd.inputs]
            if nd.is_units:
                z = _flat(xs[0])
                if bad is not None:
                    mark_nonfinite_rows(z, bad)
                if want_inputs:
                    inputs.append(z)
                if codes is not None:
                    c = codes[:, off[g] : off[g + 1]]
                    y = nd.op.fixed(z, c, exact=exact)
                else:
                    if want_codes:
                        out_codes.append(nd.op.codes(z))
                    y = nd.op.apply(z)
                g += 1
            else:
                y = nd.op.apply(xs)
            vals[i] = y
            for j in nd.inputs:
                if last[j] <= i and j != self._output:
                    vals.pop(j, None)
        out = _flat(vals[self._output])
        if bad is not None:
            mark_nonfinite_rows(out, bad)
        cd = None
        if want_codes:
            cd = np.concatenate(out_codes, axis=1) if out_codes else np.zeros((len(X), 0), np.int8)
        return out, (inputs if want_inputs else None), cd

    def forward(self, points):
        """Logits ``(n, output_dim)`` (or ``(output_dim,)`` for one point).

        Raises :class:`~polyfold.NonFiniteError` where the logits overflow float64
        (use :meth:`forward_exact`)."""
        X, single = self.as_points(points)
        with np.errstate(over="ignore", invalid="ignore"):
            out = self._evaluate(X)[0]
        if not np.isfinite(out).all():
            i = int(np.flatnonzero(~np.isfinite(out).all(axis=1))[0])
            raise NonFiniteError(
                f"the network's values overflow float64 (beyond about 1.8e308) at the logits "
                f"for point {i}: the points and weights are finite, but their products and sums "
                "are not. Use net.forward_exact(points) (exact rationals), or rescale the weights."
            )
        return out[0] if single else out

    __call__ = forward

    def predict(self, points):
        """Predicted class (argmax of the logits, lowest index on ties; for one output,
        ``logit > 0``).  Points whose values overflow float64 are decided in exact
        arithmetic."""
        X, single = self.as_points(points)
        bad = np.zeros(len(X), bool)
        with np.errstate(over="ignore", invalid="ignore"):
            out = self._evaluate(X, bad=bad)[0]
        pred = (out[:, 0] > 0).astype(np.int64) if self.output_dim == 1 else np.argmax(out, axis=1)
        if bad.any():
            pred[bad] = arith.exact_classes(self.forward_exact(X[bad])[-1])
        return pred[0] if single else pred

    def preactivations(self, points):
        """Inputs of every unit group (flattened) and the logits last."""
        X, single = self.as_points(points)
        out, ins, _ = self._evaluate(X, want_inputs=True)
        zs = ins + [out]
        return [z[0] for z in zs] if single else zs

    def codes(self, points):
        """Codes ``(n, n_hidden)`` int8 (see :mod:`polyfold.graph.units`).  Points whose
        values overflow float64 get their codes in exact arithmetic."""
        X, single = self.as_points(points)
        bad = np.zeros(len(X), bool)
        with np.errstate(over="ignore", invalid="ignore"):
            c = self._evaluate(X, want_codes=True, bad=bad)[2]
        if bad.any():
            c[bad] = self.codes_exact(X[bad])
        return c[0] if single else c

    def _code_tables(self):
        """Per unit group ``(thresholds, code -> bit, code -> piece)`` (max groups:
        no thresholds, the code is the selected candidate)."""
        if "tables" not in self._cache:
            tabs = []
            for u in self.group_units:
                if u.kind == "threshold":
                    tabs.append((u.thresholds, u.code_to_bit, u.code_to_piece))
                else:
                    ident = np.arange(u.k, dtype=np.int8)
                    tabs.append((np.zeros(0), ident, ident))
            self._cache["tables"] = tuple(tabs)
        return self._cache["tables"]

    def bits_from_codes(self, codes):
        """Patterns from codes: the bit ``f(z) > 0`` of elementwise units and the code
        (selected candidate) of max units."""
        codes = np.asarray(codes)
        if not self.depth:
            return np.zeros(codes.shape, bool)
        dtype = np.int8 if self.has_max_units else bool
        out = np.empty(codes.shape, dtype)
        off = self.layer_offsets
        for g, u in enumerate(self.group_units):
            out[..., off[g] : off[g + 1]] = u.bits(codes[..., off[g] : off[g + 1]])
        return out

    def pieces_from_codes(self, codes):
        """Linear-piece index of every unit (max units: the selected candidate)."""
        codes = np.asarray(codes)
        out = np.empty(codes.shape, np.int8)
        off = self.layer_offsets
        for g, u in enumerate(self.group_units):
            c = codes[..., off[g] : off[g + 1]]
            out[..., off[g] : off[g + 1]] = u.code_to_piece[c] if u.kind == "threshold" else c
        return out

    def patterns(self, points, *, packed=False):
        """Activation patterns: bool ``f(z) > 0`` per unit; a graph with max units
        returns int8, where max units hold their code (the selected candidate).

        ``packed=True`` packs bool patterns with ``np.packbits`` (nets without max
        units only).
        """
        c = self.codes(points)
        bits = self.bits_from_codes(c)
        if packed:
            if bits.dtype != bool:
                raise ValidationError("packed patterns need a net without max units; use codes().")
            return np.packbits(bits, axis=-1)
        return bits

    # -- exact evaluation ------------------------------------------------------------
    def _exact_points(self, points):
        from ..network import exact_points

        return exact_points(points, self.input_shape)

    def forward_exact(self, points):
        """Exact group inputs and logits (object arrays of ``fmpq``), logits last.

        ``points``: floats (read exactly) or exact rationals (lists or object arrays of
        ``fractions.Fraction``, ``int`` or ``fmpq``), flat or of the net's input shape."""
        Xq, _ = self._exact_points(points)
        out, ins, _ = self._evaluate(Xq, exact=True, want_inputs=True)
        return ins + [out]

    def codes_exact(self, points):
        Xq, _ = self._exact_points(points)
        return self._evaluate(Xq, exact=True, want_codes=True)[2]

    def patterns_exact(self, points):
        return self.bits_from_codes(self.codes_exact(points))

    # -- local affine maps -------------------------------------------------------------
    def _check_codes(self, codes):
        codes = np.atleast_2d(np.asarray(codes))
        if codes.ndim != 2 or codes.shape[1] != self.n_hidden:
            raise ShapeError(f"codes must have shape (n, {self.n_hidden}), got {codes.shape}.")
        if codes.dtype.kind not in "iu":
            raise ValidationError(f"codes must be integers, got dtype {codes.dtype}.")
        sizes = self.code_sizes
        if codes.size and (np.any(codes < 0) or np.any(codes >= sizes)):
            raise ValidationError("codes out of range for the units (see net.code_sizes).")
        return codes.astype(np.int64)

    def forward_fixed(self, points, codes, *, exact=False):
        """Logits of the affine map of the regions with the given ``codes`` at ``points``."""
        codes = self._check_codes(codes)
        if exact:
            Xq, _ = self._exact_points(points)
            return self._evaluate(Xq, exact=True, codes=codes)[0]
        X, _ = self.as_points(points)
        return self._evaluate(X, codes=codes)[0]

    def vjp_fixed(self, G, codes):
        """``G @ V`` for the linear part ``V`` of the regions' affine maps.

        ``G`` (n, output_dim), ``codes`` (n, n_hidden); returns (n, input_dim).
        """
        codes = self._check_codes(codes)
        G = np.asarray(G, dtype=np.float64)
        if G.size != len(codes) * self.output_dim:
            raise ShapeError(f"G must have shape ({len(codes)}, {self.output_dim}) (one row per code row), got {G.shape}.")
        G = G.reshape(len(codes), self.output_dim)
        # forward with fixed codes only to get the group inputs is not needed: the
        # transposes of units depend on codes alone
        grads = {self._output: G}
        off = self.layer_offsets
        gidx = {i: k for k, i in enumerate(self._groups())}
        for i in range(len(self._nodes) - 1, 0, -1):
            if i not in grads:
                continue
            nd = self._nodes[i]
            g = _flat(grads.pop(i))
            if nd.is_units:
                k = gidx[i]
                gin = [nd.op.fixed_vjp(g, codes[:, off[k] : off[k + 1]])]
            else:
                gin = nd.op.vjp(g)
            for j, gj in zip(nd.inputs, gin):
                gj = _flat(gj)
                grads[j] = grads[j] + gj if j in grads else gj
        gx = grads.get(0)
        return np.zeros((len(G), self.input_dim)) if gx is None else gx

    def affine_map(self, points=None, *, codes=None):
        """Affine map ``logits = V x + u`` of the linear region of each point.

        Parameters
        ----------
    points : (n, input_dim) or (n, ``*input_shape``) float, optional
        codes : (n, n_hidden) int, optional
            Use these codes instead of the points' own.

        Returns
        -------
        V : (n, output_dim, input_dim) float (no leading axis for one point)
        u : (n, output_dim) float

        Notes
        -----
        ``V`` comes from ``output_dim`` vector-Jacobian products per region (the
        transposes of the operators), never from a dense expansion of the graph.  On
        a boundary the map is that of the region whose codes the point has.
        """
        single = False
        if codes is None:
            X, single = self.as_points(points)
            codes = self.codes(X)
        codes = self._check_codes(codes)
        n, k = len(codes), self.output_dim
        rep = np.repeat(codes, k, axis=0)
        G = np.tile(np.eye(k), (n, 1))
        V = self.vjp_fixed(G, rep).reshape(n, k, self.input_dim)
        u = self._evaluate(np.zeros((n, self.input_dim)), codes=codes)[0]
        if single:
            return V[0], u[0]
        return V, u

    # -- stages for the exact engines -----------------------------------------------------
    def stages(self):
        """The :class:`Stages` of this graph (cached)."""
        if "stages" not in self._cache:
            self._cache["stages"] = Stages(self)
        return self._cache["stages"]

    # -- persistence ---------------------------------------------------------------------
    def save(self, path):
        """Save to ``.npz`` (graph description as JSON plus the parameter arrays)."""
        desc = {"input_shape": list(self.input_shape), "output": self._output, "nodes": [],
                "info": _jsonable(self._info)}
        arrays = {}
        for i, nd in enumerate(self._nodes[1:], start=1):
            d, arrs = _node_desc(nd)
            desc["nodes"].append({"name": nd.name, "inputs": list(nd.inputs), "op": d})
            for k, v in arrs.items():
                arrays[f"n{i}.{k}"] = v
        arrays["graph"] = np.array(json.dumps(desc))
        arrays["format"] = np.array(FORMAT)
        from ..network import save_npz

        save_npz(path, arrays, "path")

    @classmethod
    def load(cls, path):
        """Load a graph written by :meth:`save` (read without unpickling).

        Raises
        ------
        ValidationError
            Missing, corrupt or pickled file, or not a saved PLGraph.
        """
        from .._validation import read_npz

        arrays = read_npz(path, "graph file", load_hint="polyfold.load_model(path)")
        name = str(path)
        if "format" not in arrays or str(arrays["format"]) != FORMAT:
            raise ValidationError(f"{name!r} is not a saved PLGraph; load dense nets with PLNet.load.")
        try:
            desc = json.loads(str(arrays["graph"]))
            return graph_from_description(desc, arrays)
        except PolyfoldError:
            raise
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as err:
            raise ValidationError(
                f"{name!r} is not a readable PLGraph ({type(err).__name__}: {err}); "
                "re-create it with PLGraph.save."
            ) from err


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating,)):
        return float(obj)
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def _node_desc(nd):
    op = nd.op
    if isinstance(op, _units.Units):
        d = op.to_dict()
        arrs = op.arrays() if hasattr(op, "arrays") else {}
        return {"kind": "units", **d}, arrs
    d, arrs = op.to_dict()
    return {"kind": "affine", **d}, arrs


def graph_from_description(desc, arrays):
    nodes = [Node("input", _InputOp(desc["input_shape"]), ())]
    for i, nd in enumerate(desc["nodes"], start=1):
        d = dict(nd["op"])
        kind = d.pop("kind")
        arrs = {k.split(".", 1)[1]: v for k, v in arrays.items() if k.startswith(f"n{i}.")}
        op = _units.units_from_dict(d, arrs) if kind == "units" else _ops.op_from_dict(d, arrs)
        nodes.append(Node(nd["name"], op, tuple(nd["inputs"])))
    return PLGraph(nodes, desc["output"], info=desc.get("info"))


def as_graph_points(points, input_shape, name="points"):
    """``(X (n, d) float64, single)`` from flat ``(n, d)``/``(d,)`` or shaped
    ``(n, *input_shape)``/``input_shape`` points."""
    arr = as_float_array(points, name)
    shape = tuple(input_shape)
    d = _size(shape)
    if arr.shape == shape or (arr.ndim == 1 and arr.shape[0] == d):
        return arr.reshape(1, d), True
    if arr.ndim >= 2 and arr.shape[1:] == shape:
        return arr.reshape(len(arr), d), False
    if arr.ndim == 2 and arr.shape[1] == d:
        return arr, False
    shown = "x".join(map(str, shape))
    raise ShapeError(
        f"Expected {name} of shape (n, {d}) (flattened in C order) or (n, {', '.join(map(str, shape))}) "
        f"to match the network's input_shape={shape}, got {arr.shape}; for one point pass "
        f"shape ({d},) or ({', '.join(map(str, shape))}) [a {shown} input]."
    )


# ---------------------------------------------------------------------------
# stages
# ---------------------------------------------------------------------------
class Stages:
    """Stage-by-stage evaluation of a graph for the exact engines.

    The *state* before unit group ``g`` is a ``(P, width(g))`` array: the group's
    input (``z_width(g)`` columns) followed by the carried tensors.  ``start``
    gives the state before group 0 from points, ``advance(g, S)`` the state before
    group ``g + 1`` (for the last group: the logits).  All are float64, or exact
    with object arrays of ``fmpq``; ``start_bound``/``advance_bound`` also return
    rounding-error bounds (certified mode).
    """

    def __init__(self, net):
        self.net = net
        nodes = net.nodes
        groups = net._groups()
        self.groups = groups
        self.units = tuple(nodes[i].op for i in groups)
        n = len(nodes)
        last = net._last_use()
        pos = list(groups) + [n]
        self.live = []
        for g, p in enumerate(pos):
            if g < len(groups):
                first = nodes[p].inputs[0]
                rest = [t for t in range(p) if last[t] >= p and t != first]
                self.live.append([first] + rest)
            else:
                self.live.append([net._output])
        self.sizes = [[_size(nodes[t].op.out_shape) for t in lv] for lv in self.live]
        self.cols = [np.concatenate([[0], np.cumsum(s)]).astype(np.int64) for s in self.sizes]
        # nodes evaluated between stages
        self.between = []
        for g in range(len(pos)):
            lo = 0 if g == 0 else pos[g - 1]
            self.between.append([i for i in range(lo + 1, pos[g]) if not nodes[i].is_units])
        self.n_groups = len(groups)

    def width(self, g):
        return int(self.cols[g][-1])

    def z_width(self, g):
        return int(self.sizes[g][0])

    def _unpack(self, g, S):
        c = self.cols[g]
        return {t: S[:, c[k] : c[k + 1]] for k, t in enumerate(self.live[g])}

    def _pack(self, g, vals, P, dtype):
        lv = self.live[g]
        if len(lv) == 1:
            return np.ascontiguousarray(_flat(vals[lv[0]]))
        out = np.empty((P, self.width(g)), dtype=dtype)
        c = self.cols[g]
        for k, t in enumerate(lv):
            out[:, c[k] : c[k + 1]] = _flat(vals[t])
        return out

    def _run(self, g_to, vals, P, dtype):
        nodes = self.net.nodes
        for i in self.between[g_to]:
            nd = nodes[i]
            vals[i] = nd.op.apply([vals[j] for j in nd.inputs])
        return self._pack(g_to, vals, P, dtype)

    def _run_bound(self, g_to, vals, errs, P, safety):
        nodes = self.net.nodes
        for i in self.between[g_to]:
            nd = nodes[i]
            xs = [vals[j] for j in nd.inputs]
            y = nd.op.apply(xs)
            errs[i] = nd.op.bound(xs, [errs[j] for j in nd.inputs], y, safety)
            vals[i] = y
        return self._pack(g_to, vals, P, np.float64), self._pack(g_to, errs, P, np.float64)

    def _run_linear(self, g_to, vals, P, exact):
        """Linear parts only (directions): float ``op.linear``; exact ``apply(x) - apply(0)``."""
        nodes = self.net.nodes
        for i in self.between[g_to]:
            nd = nodes[i]
            xs = [vals[j] for j in nd.inputs]
            if exact:
                zero = [np.full((1, x.shape[1]), arith.ZERO, dtype=object) for x in xs]
                vals[i] = nd.op.apply(xs) - nd.op.apply(zero)
            else:
                vals[i] = nd.op.linear(xs)
        return self._pack(g_to, vals, P, object if exact else np.float64)

    def start(self, X, *, exact=False):
        P = len(X)
        return self._run(0, {0: X}, P, object if exact else np.float64)

    def start_linear(self, D, *, exact=False):
        """Directions ``D`` (P, input_dim) through the linear part before group 0."""
        return self._run_linear(0, {0: D}, len(D), exact)

    def advance_fixed(self, g, S, codes, *, exact=False, E=None, safety=1.0, linear=False):
        """State before group ``g + 1`` with the units of group ``g`` on the pieces given
        by ``codes`` ((P, n_units_g) int: every point moves on with the affine map of a
        region containing it).

        ``linear=True`` propagates directions (linear parts, no offsets or biases);
        ``E`` (float mode): also return rounding-error bounds, as ``advance_bound``.
        """
        P = len(S)
        zw = self.z_width(g)
        u = self.units[g]
        codes = np.asarray(codes)
        vals = self._unpack(g, S)
        z = S[:, :zw]
        if linear:
            h = u.select(z, codes) if u.kind == "max" else (z * arith.fmpq_array(u._slope)[codes] if exact
                                                            else u.fixed_linear(z, codes))
            vals[self.groups[g]] = h
            return self._run_linear(g + 1, vals, P, exact)
        h = u.fixed(z, codes, exact=exact)
        vals[self.groups[g]] = h
        if E is None:
            return self._run(g + 1, vals, P, object if exact else np.float64)
        errs = self._unpack(g, E)
        ez = E[:, :zw]
        if u.kind == "max":
            eh = u.select(ez, codes)
        else:
            slope = np.abs(u._slope[codes])
            eh = slope * ez + np.where((slope != 0) & (slope != 1), UNIT_ROUNDOFF * np.abs(h), 0.0)
        errs[self.groups[g]] = eh
        return self._run_bound(g + 1, vals, errs, P, safety)

    def start_bound(self, X, EX=None, *, safety=1.0):
        EX = np.zeros_like(X) if EX is None else EX
        return self._run_bound(0, {0: X}, {0: EX}, len(X), safety)

    def _unit_output(self, g, S):
        z = S[:, : self.z_width(g)]
        return self.net.nodes[self.groups[g]].op.apply(z)

    def advance(self, g, S, *, exact=False, h=None):
        """State before group ``g + 1`` from ``S`` (``h``: the group's unit outputs, if
        already known)."""
        P = len(S)
        vals = self._unpack(g, S)
        vals[self.groups[g]] = self._unit_output(g, S) if h is None else h
        return self._run(g + 1, vals, P, object if exact else np.float64)

    def advance_bound(self, g, S, E, *, safety=1.0, h=None, eh=None):
        """``advance`` with rounding-error bounds (``eh``: bounds of the unit outputs, if
        already known)."""
        P = len(S)
        vals = self._unpack(g, S)
        errs = self._unpack(g, E)
        zw = self.z_width(g)
        u = self.units[g]
        if h is None:
            h = u.apply(S[:, :zw])
        vals[self.groups[g]] = h
        errs[self.groups[g]] = u.bound(S[:, :zw], E[:, :zw], h) if eh is None else eh
        return self._run_bound(g + 1, vals, errs, P, safety)


# ---------------------------------------------------------------------------
# builder
# ---------------------------------------------------------------------------
class GraphBuilder:
    """Build a :class:`PLGraph` node by node.

    Every method takes node handles (ints returned by earlier calls; ``b.input`` is
    the input) and returns the handle of the new node.  Shapes are per sample.

    Examples
    --------
    >>> import numpy as np
    >>> b = GraphBuilder((4,))
    >>> h = b.relu(b.dense(b.input, np.eye(4), np.zeros(4)))
    >>> y = b.dense(b.add(h, b.input), np.ones((1, 4)), np.zeros(1))
    >>> net = b.build(y)
    >>> net.forward([1.0, -1.0, 2.0, 0.0]).tolist()
    [5.0]
    """

    def __init__(self, input_shape, *, input_name="input"):
        shape = tuple(int(v) for v in np.atleast_1d(input_shape))
        if not shape or any(v < 1 for v in shape):
            raise ShapeError(f"input_shape must be a tuple of positive ints, got {input_shape!r}.")
        self._nodes = [Node(input_name, _InputOp(shape), ())]
        self._names = {input_name}
        self.input = 0

    def shape(self, h):
        """Per-sample shape of node ``h``."""
        return self._nodes[h].op.out_shape

    def _name(self, name, stem):
        if name is None:
            k = 0
            while f"{stem}{k}" in self._names:
                k += 1
            name = f"{stem}{k}"
        if name in self._names:
            raise ValidationError(f"node name {name!r} is used twice.")
        self._names.add(name)
        return name

    def add_node(self, op, inputs, name=None, stem="node"):
        inputs = tuple(int(i) for i in inputs)
        for i in inputs:
            if not 0 <= i < len(self._nodes):
                raise ValidationError(f"node handle {i} does not exist.")
        self._nodes.append(Node(self._name(name, stem), op, inputs))
        return len(self._nodes) - 1

    # affine
    def dense(self, h, W, b=None, *, name=None):
        return self.add_node(_ops.Dense(W, b, self.shape(h)), [h], name, "dense")

    def conv(self, h, weight, bias=None, *, stride=1, padding=0, dilation=1, groups=1, name=None):
        op = _ops.Conv(weight, bias, self.shape(h), stride=stride, padding=padding,
                       dilation=dilation, groups=groups)
        return self.add_node(op, [h], name, "conv")

    def avg_pool(self, h, kernel, stride=None, padding=0, *, ceil_mode=False, count_include_pad=True, name=None):
        op = _ops.avg_pool(self.shape(h), kernel, stride, padding, ceil_mode=ceil_mode,
                           count_include_pad=count_include_pad)
        return self.add_node(op, [h], name, "avgpool")

    def adaptive_avg_pool(self, h, out_size, *, name=None):
        return self.add_node(_ops.adaptive_avg_pool(self.shape(h), out_size), [h], name, "avgpool")

    def batch_norm(self, h, mean, var, weight=None, bias=None, eps=1e-5, *, name=None):
        mean = np.asarray(mean, np.float64)
        den = np.asarray(var, np.float64) + eps
        if not np.all(den > 0):
            raise ValidationError(
                f"batch_norm needs var + eps > 0 in every channel (var is a variance), got "
                f"min(var + eps) = {np.min(den)}.")
        scale = 1.0 / np.sqrt(den)
        if weight is not None:
            scale = scale * np.asarray(weight, np.float64)
        shift = -scale * mean + (0.0 if bias is None else np.asarray(bias, np.float64))
        return self.channel_affine(h, scale, shift, name=name)

    def channel_affine(self, h, scale, shift, *, name=None):
        return self.add_node(_ops.ChannelAffine(self.shape(h), scale, shift), [h], name, "affine")

    def scalar_affine(self, h, a=1.0, c=0.0, *, name=None):
        return self.add_node(_ops.ScalarAffine(self.shape(h), a, c), [h], name, "scale")

    def add(self, *hs, weights=None, name=None):
        return self.add_node(_ops.Add([self.shape(h) for h in hs], weights), hs, name, "add")

    def concat(self, *hs, axis=0, name=None):
        return self.add_node(_ops.Concat([self.shape(h) for h in hs], axis), hs, name, "cat")

    def reshape(self, h, shape, *, name=None):
        return self.add_node(_ops.Reshape(self.shape(h), shape), [h], name, "reshape")

    def flatten(self, h, *, name=None):
        return self.reshape(h, (_size(self.shape(h)),), name=name)

    def permute(self, h, perm, *, name=None):
        return self.add_node(_ops.Permute(self.shape(h), perm), [h], name, "permute")

    def pad(self, h, pads, *, name=None):
        return self.add_node(_ops.Pad(self.shape(h), pads), [h], name, "pad")

    # units
    def activation(self, h, act, *, name=None):
        return self.add_node(_units.Elementwise(self.shape(h), act), [h], name, "act")

    def relu(self, h, *, name=None):
        return self.activation(h, "relu", name=name)

    def leaky_relu(self, h, slope=0.01, *, name=None):
        return self.activation(h, _units.LeakyReLU(slope), name=name)

    def hardtanh(self, h, lo=-1.0, hi=1.0, *, name=None):
        return self.activation(h, _units.HardTanh(lo, hi), name=name)

    def max_pool(self, h, kernel, stride=None, padding=0, dilation=1, *, ceil_mode=False, name=None):
        op = _units.max_pool(self.shape(h), kernel, stride, padding, dilation, ceil_mode=ceil_mode)
        return self.add_node(op, [h], name, "maxpool")

    def adaptive_max_pool(self, h, out_size, *, name=None):
        return self.add_node(_units.adaptive_max_pool(self.shape(h), out_size), [h], name, "maxpool")

    def max_units(self, h, out_shape, cand, *, label="Max", name=None):
        op = _units.MaxUnits(self.shape(h), out_shape, cand, label=label)
        return self.add_node(op, [h], name, "max")

    def maxout(self, h, k, *, name=None):
        flat = self.flatten(h) if len(self.shape(h)) != 1 else h
        return self.add_node(_units.maxout(_size(self.shape(flat)), k), [flat], name, "maxout")

    def max_over_axis(self, h, axis, *, keepdim=False, name=None):
        return self.add_node(_units.max_over_axis(self.shape(h), axis, keepdim=keepdim), [h], name, "max")

    def maximum(self, *hs, name=None):
        """Elementwise maximum of nodes of one size, compared in flat (C) order, a max
        unit per element; the result has the first node's shape (no broadcasting)."""
        if not hs:
            raise ValidationError("maximum needs at least one node, got none; pass the nodes to compare.")
        shape = self.shape(hs[0])
        for k, h in enumerate(hs[1:], 1):
            if int(np.prod(self.shape(h))) != int(np.prod(shape)):
                raise ShapeError(
                    f"maximum compares nodes of one size: node {k} has shape {tuple(self.shape(h))}, "
                    f"node 0 {tuple(shape)}; reshape them first (no broadcasting)."
                )
        flat = [self.flatten(h) if len(self.shape(h)) != 1 else h for h in hs]
        cat = self.concat(*flat) if len(flat) > 1 else flat[0]
        return self.add_node(_units.maximum(shape, len(hs)), [cat], name, "maximum")

    def build(self, output=None, *, info=None):
        """The :class:`PLGraph` with ``output`` (default: the last node) as logits; a
        shaped output is flattened."""
        out = len(self._nodes) - 1 if output is None else int(output)
        if len(self.shape(out)) != 1:
            out = self.flatten(out)
        return PLGraph(list(self._nodes), out, info=info)
