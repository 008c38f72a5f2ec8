"""The network model: :class:`PLNet`, a stack of affine layers with
piecewise-linear activations.

Conventions (see ``docs/concepts.rst``):

* ``z_l = W_l h_{l-1} + b_l``; hidden layers apply an activation, the last layer
  is linear (logits).
* Every hidden neuron has a sorted tuple of *thresholds*: the activation's
  knots plus 0.  Its *code* at ``z`` is the number of thresholds strictly
  below ``z``; its *bit* is ``z > 0`` (``f(z) > 0``); its *piece* is the number
  of knots strictly below ``z`` (which linear piece of ``f`` is in use).
  For ReLU and leaky ReLU code, bit and piece coincide.  ``z == 0`` counts as
  inactive.
* A pattern is the vector of bits over all hidden neurons, layer by layer.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import arith
from ._validation import (
    as_float_array, check_path, check_points, check_positive_int, check_save_path, mark_nonfinite_rows,
    net_points, read_array,
)
from .exceptions import NonFiniteError, PolyfoldError, ShapeError, UnsupportedLayerError, ValidationError

__all__ = [
    "Activation",
    "ReLU",
    "LeakyReLU",
    "HardTanh",
    "Identity",
    "PLNet",
    "pack_patterns",
    "pack_words",
    "unpack_patterns",
    "hamming",
    "check_net",
    "check_dense",
]


def _exact(v):
    return arith.to_fmpq(v)


@dataclass(frozen=True)
class Activation:
    """Base class of the piecewise-linear activations."""

    name = "activation"

    @property
    def knots(self):
        """Points where the slope changes (sorted)."""
        return ()

    @property
    def thresholds(self):
        """Sorted knots together with 0: the values where a neuron's code changes."""
        return tuple(sorted(set(self.knots) | {0.0}))

    @property
    def n_pieces(self):
        """Number of linear pieces of the activation."""
        return len(self.knots) + 1

    @property
    def lipschitz(self):
        """Lipschitz constant (largest absolute slope of a piece)."""
        return max(abs(p[0]) for p in self.pieces()) if self.pieces() else 1.0

    def pieces(self):
        """List of ``(slope, offset)`` of each linear piece, left to right."""
        raise NotImplementedError

    def apply(self, z):
        """Apply elementwise to a float or object (rational) array."""
        raise NotImplementedError

    # -- derived, shared by all activations ---------------------------------
    def code_to_piece(self):
        """int array mapping a code (0..len(thresholds)) to a piece index."""
        th = self.thresholds
        kn = self.knots
        # representative z inside each code interval
        reps = _interval_representatives(th)
        return np.array([sum(1 for k in kn if z > k) for z in reps], dtype=np.int8)

    def code_to_bit(self):
        """bool array mapping a code to the bit ``z > 0``."""
        reps = _interval_representatives(self.thresholds)
        return np.array([z > 0 for z in reps], dtype=bool)

    def local_affine(self, codes):
        """``(slope, offset)`` float arrays of the activation on each code's piece."""
        pcs = self.pieces()
        piece = self.code_to_piece()[np.asarray(codes)]
        slope = np.array([p[0] for p in pcs], dtype=np.float64)[piece]
        offset = np.array([p[1] for p in pcs], dtype=np.float64)[piece]
        return slope, offset

    def to_dict(self):
        return {"name": self.name}


def _interval_representatives(thresholds):
    th = list(thresholds)
    if not th:
        return [0.0]
    reps = [th[0] - 1.0]
    for a, b in zip(th[:-1], th[1:]):
        reps.append((a + b) / 2)
    reps.append(th[-1] + 1.0)
    return reps


def _where(cond, a, b):
    return np.where(cond, a, b)


@dataclass(frozen=True)
class ReLU(Activation):
    """Rectified linear unit ``max(z, 0)``: thresholds (0,), two pieces."""

    name = "relu"

    @property
    def knots(self):
        return (0.0,)

    def pieces(self):
        return [(0.0, 0.0), (1.0, 0.0)]

    def apply(self, z):
        if getattr(z, "dtype", None) == object:
            return _where(arith.compare_exact(z)[0], z, arith.ZERO)
        return np.maximum(z, 0.0)


@dataclass(frozen=True)
class LeakyReLU(Activation):
    """Leaky ReLU: ``z`` for ``z > 0``, ``slope * z`` otherwise (``slope != 1``)."""

    slope: float = 0.01
    name = "leaky_relu"

    def __post_init__(self):
        ok = isinstance(self.slope, (int, float, np.integer, np.floating)) and not isinstance(self.slope, bool)
        if not ok or not np.isfinite(self.slope) or self.slope == 1.0:
            raise ValidationError(
                f"LeakyReLU slope must be a finite real number != 1, got {self.slope!r}; "
                "use Identity() for slope 1."
            )

    @property
    def knots(self):
        return (0.0,)

    def pieces(self):
        return [(float(self.slope), 0.0), (1.0, 0.0)]

    def apply(self, z):
        if getattr(z, "dtype", None) == object:
            return _where(arith.compare_exact(z)[0], z, z * _exact(self.slope))
        return np.where(z > 0, z, self.slope * z)

    def to_dict(self):
        return {"name": self.name, "slope": float(self.slope)}


@dataclass(frozen=True)
class HardTanh(Activation):
    """Hard tanh ``clip(z, lo, hi)`` with ``lo <= 0 < hi``: three pieces; its codes
    count the thresholds ``lo``, ``0`` and ``hi`` (merged when ``lo == 0``) below ``z``."""

    lo: float = -1.0
    hi: float = 1.0
    name = "hardtanh"

    def __post_init__(self):
        real = all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)
                   for v in (self.lo, self.hi))
        if not (real and np.isfinite(self.lo) and np.isfinite(self.hi) and self.lo <= 0 < self.hi):
            raise ValidationError(
                f"HardTanh needs finite lo <= 0 < hi, got lo={self.lo!r}, hi={self.hi!r}; "
                "shift the bias of the layer to move the window."
            )

    @property
    def knots(self):
        return (float(self.lo), float(self.hi))

    def pieces(self):
        return [(0.0, float(self.lo)), (1.0, 0.0), (0.0, float(self.hi))]

    def apply(self, z):
        if getattr(z, "dtype", None) == object:
            lo, hi = _exact(self.lo), _exact(self.hi)
            F = arith.float_values(z)
            above = arith.compare_exact(z, hi, F=F)[0]
            return _where(above, hi, _where(arith.compare_exact(z, lo, F=F)[0], z, lo))
        return np.clip(z, self.lo, self.hi)

    def to_dict(self):
        return {"name": self.name, "lo": float(self.lo), "hi": float(self.hi)}


@dataclass(frozen=True)
class Identity(Activation):
    """``z`` (a linear hidden layer; its neurons still carry the bit ``z > 0``)."""

    name = "identity"

    def pieces(self):
        return [(1.0, 0.0)]

    def apply(self, z):
        return z


_ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "hardtanh": HardTanh, "identity": Identity}


def make_activation(spec):
    """Activation from an instance, a name, or a dict ``{"name": ..., params}``."""
    if isinstance(spec, Activation):
        return spec
    if isinstance(spec, str):
        key = spec.lower().replace("-", "_")
        key = {"leakyrelu": "leaky_relu", "hard_tanh": "hardtanh", "linear": "identity"}.get(key, key)
        if key in _ACTIVATIONS:
            return _ACTIVATIONS[key]()
    if isinstance(spec, dict) and spec.get("name") in _ACTIVATIONS:
        params = {k: v for k, v in spec.items() if k != "name"}
        try:
            return _ACTIVATIONS[spec["name"]](**params)
        except TypeError as err:  # unknown or missing parameters
            raise ValidationError(
                f"activation {spec!r} has parameters {spec['name']!r} does not take ({err}); "
                "leaky_relu takes slope, hardtanh lo and hi, relu and identity none."
            ) from err
    raise UnsupportedLayerError(
        f"activation {spec!r} is not piecewise linear or not known; use one of "
        "'relu', 'leaky_relu', 'hardtanh', 'identity' or an instance such as LeakyReLU(0.1)."
    )


def _as_list(value, name, what):
    """``list(value)`` for a sequence argument; None, numbers, strings and other
    non-sequences raise :class:`ValidationError` naming ``name``."""
    if isinstance(value, (str, bytes, dict)) or value is None:
        raise ValidationError(f"{name} must be {what}, got {type(value).__name__} {value!r:.60}.")
    try:
        return list(value)
    except TypeError as err:
        raise ValidationError(f"{name} must be {what}, got {type(value).__name__}.") from err


def _readonly(a):
    a = np.array(a, dtype=np.float64, copy=True)
    a.setflags(write=False)
    return a


class PLNet:
    """An immutable piecewise-linear network.

    Parameters
    ----------
    layers : sequence of (W, b)
        ``W`` of shape ``(n_out, n_in)``, ``b`` of shape ``(n_out,)``; the last
        pair is the linear output layer.
    activations : sequence of Activation or str
        One per hidden layer (``len(layers) - 1``).

    Use :meth:`from_arrays` to build one with a single activation name.

    Examples
    --------
    >>> import numpy as np
    >>> from polyfold import PLNet
    >>> net = PLNet.from_arrays([(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))])
    >>> net.input_dim, net.widths, net.output_dim
    (2, (2,), 1)
    >>> net.patterns([[1.0, -1.0]])
    array([[ True, False]])
    """

    __slots__ = ("_layers", "_activations", "_exact_cache", "_exact_mats", "_tables", "_graph",
                 "_input_shape", "_numeric")

    def __init__(self, layers, activations, *, input_shape=None):
        layers = _as_list(layers, "layers", "a list of (W, b) pairs")
        if len(layers) == 0:
            raise ValidationError("layers must hold at least one (W, b) pair, got an empty list.")
        checked = []
        prev = None
        for i, pair in enumerate(layers):
            try:
                W, b = pair
            except (TypeError, ValueError) as err:
                raise ValidationError(
                    f"layers[{i}] must be a (W, b) pair, got {type(pair).__name__}."
                ) from err
            W = as_float_array(W, f"layers[{i}] weight W", ndim=2, allow_empty=False)
            b = as_float_array(b, f"layers[{i}] bias b")
            if b.ndim != 1 or b.shape[0] != W.shape[0]:
                raise ShapeError(
                    f"layers[{i}] bias b must have shape ({W.shape[0]},) to match W of shape "
                    f"{W.shape}, got {b.shape}."
                )
            if prev is not None and W.shape[1] != prev:
                raise ShapeError(
                    f"layers[{i}] weight W must have {prev} columns to match the previous "
                    f"layer's {prev} outputs, got shape {W.shape}."
                )
            prev = W.shape[0]
            checked.append((_readonly(W), _readonly(b)))
        activations = _as_list(activations, "activations", "a list of one activation per hidden layer")
        if len(activations) != len(checked) - 1:
            raise ValidationError(
                f"expected {len(checked) - 1} activations (one per hidden layer), "
                f"got {len(activations)}."
            )
        object.__setattr__(self, "_layers", tuple(checked))
        object.__setattr__(self, "_activations", tuple(make_activation(a) for a in activations))
        object.__setattr__(self, "_exact_cache", None)
        object.__setattr__(self, "_exact_mats", None)
        object.__setattr__(self, "_tables", None)
        object.__setattr__(self, "_graph", None)
        # (crossings: the float64 range checks of the parameters, computed on first use)
        object.__setattr__(self, "_numeric", {})
        shape = (checked[0][0].shape[1],)
        if input_shape is not None:
            raw = np.atleast_1d(np.asarray(input_shape, dtype=object))
            if raw.ndim != 1 or not all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
                                        for v in raw):
                raise ValidationError(
                    f"input_shape must be a tuple of positive integers such as (1, 8, 8), got "
                    f"{input_shape!r}."
                )
            shape = tuple(int(v) for v in raw)
            if int(np.prod(shape)) != checked[0][0].shape[1] or any(v < 1 for v in shape):
                raise ShapeError(
                    f"input_shape {shape} does not hold the {checked[0][0].shape[1]} inputs of the "
                    "first layer; pass a shape whose product is the input dimension."
                )
        object.__setattr__(self, "_input_shape", shape)

    # -- construction ----------------------------------------------------------
    @classmethod
    def from_arrays(cls, layers, activation="relu"):
        """Build from ``(W, b)`` pairs; ``activation`` is one spec or one per hidden layer."""
        layers = _as_list(layers, "layers", "a list of (W, b) pairs")
        if isinstance(activation, (list, tuple)):
            acts = list(activation)
        else:
            # checked here too: a net without hidden layers would otherwise never
            # look at it (a typo such as "tanh" passing silently)
            make_activation(activation)
            acts = [activation] * max(len(layers) - 1, 0)
        return cls(layers, acts)

    def __setattr__(self, name, value):
        raise AttributeError("PLNet is immutable; build a new one with PLNet.from_arrays")

    # -- structure ---------------------------------------------------------------
    @property
    def layers(self):
        """Tuple of ``(W, b)`` read-only float64 arrays."""
        return self._layers

    @property
    def activations(self):
        """Tuple of the hidden layers' activations."""
        return self._activations

    @property
    def input_dim(self):
        return self._layers[0][0].shape[1]

    @property
    def output_dim(self):
        return self._layers[-1][0].shape[0]

    @property
    def widths(self):
        """Widths of the hidden layers."""
        return tuple(W.shape[0] for W, _ in self._layers[:-1])

    @property
    def n_hidden(self):
        """Total number of hidden neurons (the length of a pattern)."""
        return int(sum(self.widths))

    @property
    def depth(self):
        """Number of hidden layers."""
        return len(self._layers) - 1

    @property
    def layer_offsets(self):
        """Start of each hidden layer's neurons in a pattern (length depth + 1)."""
        return np.concatenate([[0], np.cumsum(self.widths)]).astype(np.int64)

    @property
    def input_shape(self):
        """Per-sample input shape (``(input_dim,)`` unless given, e.g. ``(1, 8, 8)``:
        points are then accepted flattened or shaped)."""
        return self._input_shape

    @property
    def code_sizes(self):
        """(n_hidden,) int64: the number of possible codes of every hidden neuron."""
        if not self.depth:
            return np.zeros(0, np.int64)
        return np.concatenate(
            [np.full(w, len(a.thresholds) + 1, np.int64) for w, a in zip(self.widths, self._activations)]
        )

    @property
    def has_max_units(self):
        return False

    @property
    def is_dense(self):
        """True: a dense stack of layers (the compiled crossing kernel applies)."""
        return True

    def to_graph(self):
        """The same network as a :class:`~polyfold.graph.PLGraph` (same codes, same order)."""
        from .graph import GraphBuilder

        b = GraphBuilder(self._input_shape)
        h = b.input
        for l, (W, bias) in enumerate(self._layers):
            h = b.dense(h, W, bias, name=f"dense{l}")
            if l < self.depth:
                act = self._activations[l]
                if isinstance(act, Identity):
                    # a linear hidden layer whose units still carry bits (same codes)
                    from .graph import units as _units

                    op = _units.Elementwise(b.shape(h), act, bits_of_identity=True)
                    h = b.add_node(op, [h], f"layer{l}", "act")
                else:
                    h = b.activation(h, act, name=f"layer{l}")
        return b.build(h)

    def stages(self):
        """The stage-by-stage evaluation used by the generic exact engines
        (:class:`polyfold.graph.Stages` of :meth:`to_graph`, cached)."""
        if self._graph is None:
            object.__setattr__(self, "_graph", self.to_graph())
        return self._graph.stages()

    def unit_index(self, layer, neuron):
        """Position in a pattern of hidden ``neuron`` of hidden ``layer`` (0-based)."""
        layer, neuron = check_positive_int(layer, "layer", 0), check_positive_int(neuron, "neuron", 0)
        if not 0 <= layer < self.depth:
            raise ValidationError(f"layer must be in [0, {self.depth}) (the hidden layers), got {layer}.")
        if not 0 <= neuron < self.widths[layer]:
            raise ValidationError(
                f"neuron must be in [0, {self.widths[layer]}) for hidden layer {layer}, got {neuron}.")
        return int(self.layer_offsets[layer] + neuron)

    def unit_of(self, index):
        """``(layer, neuron)`` of a position in a pattern."""
        index = check_positive_int(index, "index", 0)
        if not 0 <= index < self.n_hidden:
            raise ValidationError(
                f"index must be in [0, {self.n_hidden}) (the net's hidden units), got {index}.")
        layer = int(np.searchsorted(self.layer_offsets, index, side="right") - 1)
        return layer, int(index - self.layer_offsets[layer])

    def __repr__(self):
        acts = ",".join(a.name for a in self._activations)
        if len(self._input_shape) > 1:
            return (f"PLNet(input_shape={self._input_shape}, widths={self.widths}, "
                    f"output_dim={self.output_dim}, activations=[{acts}])")
        return f"PLNet(input_dim={self.input_dim}, widths={self.widths}, output_dim={self.output_dim}, activations=[{acts}])"

    def __eq__(self, other):
        if not isinstance(other, PLNet) or len(other._layers) != len(self._layers):
            return NotImplemented if not isinstance(other, PLNet) else False
        return self._activations == other._activations and all(
            np.array_equal(W1, W2) and np.array_equal(b1, b2)
            for (W1, b1), (W2, b2) in zip(self._layers, other._layers)
        )

    def __hash__(self):
        return hash(tuple(W.tobytes() + b.tobytes() for W, b in self._layers))

    def __reduce__(self):
        # immutable: rebuild through the constructor (pickle, process pools, Dask)
        return (_rebuild_plnet, (self._layers, self._activations, self._input_shape))

    # -- lookup tables used by the kernels -----------------------------------------
    def _code_tables(self):
        """Per hidden layer: thresholds array, code->bit, code->piece tables."""
        if self._tables is None:
            tabs = []
            for act in self._activations:
                tabs.append(
                    (
                        np.array(act.thresholds, dtype=np.float64),
                        act.code_to_bit(),
                        act.code_to_piece(),
                    )
                )
            object.__setattr__(self, "_tables", tuple(tabs))
        return self._tables

    def exact_layers(self):
        """Layers as ``fmpq`` object arrays (cached)."""
        if self._exact_cache is None:
            object.__setattr__(
                self,
                "_exact_cache",
                tuple((arith.fmpq_array(W), arith.fmpq_array(b)) for W, b in self._layers),
            )
        return self._exact_cache

    def exact_affine(self, l, H):
        """``H @ W_l.T + b_l`` in exact rationals (FLINT matrices, cached per layer)."""
        if self._exact_mats is None:
            object.__setattr__(
                self, "_exact_mats", tuple(arith.fmpq_matrix(W.T) for W, _ in self._layers)
            )
        return arith.affine_exact(H, self._exact_mats[l], self.exact_layers()[l][1])

    # -- evaluation --------------------------------------------------------------------
    def preactivations(self, points):
        """Preactivations of every layer.

        Parameters
        ----------
        points : (n, input_dim) or (input_dim,) float

        Returns
        -------
        list of ndarray
            ``z_l`` of shape ``(n, width_l)`` for every layer, the last one being the
            logits.

        Raises
        ------
        NonFiniteError
            Finite points and weights whose products or sums overflow float64 (values
            beyond about 1.8e308); :meth:`forward_exact` computes them exactly.
        """
        x, single = net_points(self, points)
        zs, bad = self._float_pass(x)
        if bad.any():
            raise _overflow_error(zs, bad)
        return [z[0] for z in zs] if single else zs

    def _float_pass(self, x):
        """Float64 preactivations of ``x`` (n, input_dim) and the (n,) mask of the
        points whose values overflowed (inf or NaN somewhere)."""
        zs = []
        h = x
        with np.errstate(over="ignore", invalid="ignore"):
            for i, (W, b) in enumerate(self._layers):
                z = h @ W.T + b
                zs.append(z)
                if i < len(self._activations):
                    h = self._activations[i].apply(z)
            bad = np.zeros(len(x), bool)
            for z in zs:
                mark_nonfinite_rows(z, bad)
        return zs, bad

    def forward(self, points):
        """Logits ``(n, output_dim)`` (or ``(output_dim,)`` for one point).

        Raises :class:`~polyfold.NonFiniteError` where the logits overflow float64
        (use :meth:`forward_exact`)."""
        return self.preactivations(points)[-1]

    __call__ = forward

    def predict(self, points):
        """Predicted class (argmax of the logits, lowest index on ties; for one output,
        ``logit > 0``).  Points whose values overflow float64 are decided in exact
        arithmetic."""
        pts, single = net_points(self, points)
        zs, bad = self._float_pass(pts)
        out = zs[-1]
        if self.output_dim == 1:
            pred = (out[:, 0] > 0).astype(np.int64)
        else:
            pred = np.argmax(out, axis=1)
        if bad.any():
            pred[bad] = arith.exact_classes(self.forward_exact(pts[bad])[-1])
        return pred[0] if single else pred

    def codes(self, points):
        """Codes ``(n, n_hidden)`` int8: number of thresholds strictly below ``z``.
        Points whose values overflow float64 get their codes in exact arithmetic."""
        pts, _ = net_points(self, points)
        zs, bad = self._float_pass(pts)
        if len(zs) == 1:
            return np.zeros((len(pts), 0), np.int8)
        codes = codes_from_preactivations(self, zs[:-1])
        if bad.any():
            codes[bad] = self.codes_exact(pts[bad])
        return codes

    def patterns(self, points, *, packed=False):
        """Activation patterns: bit ``z > 0`` for every hidden neuron.

        Parameters
        ----------
        points : (n, input_dim) or (input_dim,) float
        packed : bool
            Return ``np.packbits(..., axis=1)`` bytes (fast to hash and compare).

        Returns
        -------
        (n, n_hidden) bool, or (n, ceil(n_hidden / 8)) uint8 when packed
        """
        pts, single = net_points(self, points)
        zs, bad = self._float_pass(pts)
        zs = zs[:-1]
        bits = np.concatenate([z > 0 for z in zs], axis=1) if zs else np.zeros((len(pts), 0), bool)
        if bad.any() and zs:
            bits[bad] = self.patterns_exact(pts[bad])
        if single:
            bits = bits[0]
            return np.packbits(bits) if packed else bits
        return pack_patterns(bits) if packed else bits

    def affine_map(self, points=None, *, codes=None):
        """Affine map ``logits = V x + u`` of the linear region of each point.

        Parameters
        ----------
        points : (n, input_dim) or (input_dim,) float, optional
        codes : (n, n_hidden) int, optional
            Use these codes instead of the points' own (a region given by its codes).

        Returns
        -------
        V : (n, output_dim, input_dim) float (no leading axis for one point)
        u : (n, output_dim) float

        Notes
        -----
        On a boundary (some ``z`` equal to a threshold) the map returned is the one of
        the region whose codes the point has, i.e. with ``z == 0`` inactive.
        """
        single = False
        if codes is None:
            pts, single = net_points(self, points)
            codes = self.codes(pts)
        codes = _check_codes(self, codes)
        n = codes.shape[0]
        V = np.broadcast_to(np.eye(self.input_dim), (n, self.input_dim, self.input_dim)).copy()
        u = np.zeros((n, self.input_dim))
        off = self.layer_offsets
        with np.errstate(over="ignore", invalid="ignore"):  # (checked below)
            for l, (W, b) in enumerate(self._layers):
                V = np.einsum("ij,njk->nik", W, V)
                u = u @ W.T + b
                if l < len(self._activations):
                    slope, offset = self._activations[l].local_affine(codes[:, off[l] : off[l + 1]])
                    V = V * slope[:, :, None]
                    u = u * slope + offset
        if n and not (np.isfinite(V).all() and np.isfinite(u).all()):
            raise NonFiniteError(
                "the affine map's coefficients overflow float64 (beyond about 1.8e308) for "
                "these weights; rescale the network (ReLU nets are positively homogeneous) "
                "or work with exact values (net.forward_exact)."
            )
        if single:
            return V[0], u[0]
        return V, u

    def forward_exact(self, points):
        """Exact logits and preactivations for points read as exact rationals.

        Returns
        -------
        list of object arrays of ``fmpq``: ``z_l`` of shape ``(n, width_l)``.

        Notes
        -----
        ``points`` may be floats (read exactly), or exact rationals: lists or object
        arrays of ``fractions.Fraction``, ``int`` or ``fmpq`` (shape ``(n, input_dim)``,
        ``(input_dim,)`` or the net's ``input_shape``); the results are ``fmpq``
        (``arith.to_fraction`` turns one into a ``Fraction``).
        """
        pts, _ = exact_points(points, self._input_shape)
        zs = []
        h = pts
        for i in range(len(self._layers)):
            z = self.exact_affine(i, h)
            zs.append(z)
            if i < len(self._activations):
                h = self._activations[i].apply(z)
        return zs

    def patterns_exact(self, points):
        """Exact patterns (bits ``z > 0``) of points read as exact rationals."""
        zs = self.forward_exact(points)[:-1]
        if not zs:
            return np.zeros((len(exact_points(points, self._input_shape)[0]), 0), bool)
        return np.concatenate([np.asarray(z > 0, dtype=bool) for z in zs], axis=1)

    def codes_exact(self, points):
        """Exact codes of points read as exact rationals."""
        zs = self.forward_exact(points)[:-1]
        out = []
        for z, act in zip(zs, self._activations):
            c = np.zeros(z.shape, np.int8)
            for th in act.thresholds:
                c += np.asarray(z > arith.to_fmpq(th), dtype=bool)
            out.append(c)
        if not out:
            return np.zeros((len(exact_points(points, self._input_shape)[0]), 0), np.int8)
        return np.concatenate(out, axis=1)

    # -- persistence -------------------------------------------------------------
    def save(self, path):
        """Save to ``.npz`` (weights ``W0..``, biases ``b0..``, activations as JSON)."""
        import json

        arrays = {}
        for i, (W, b) in enumerate(self._layers):
            arrays[f"W{i}"] = W
            arrays[f"b{i}"] = b
        arrays["activations"] = np.array(json.dumps([a.to_dict() for a in self._activations]))
        arrays["format"] = np.array("polyfold.PLNet/1")
        arrays["input_shape"] = np.array(self._input_shape, dtype=np.int64)
        save_npz(path, arrays, "path")

    @classmethod
    def load(cls, path):
        """Load a network written by :meth:`save` (or any npz with W0, b0, W1, ...).

        Only ``.npz`` archives are read (never unpickled); pickled scikit-learn or
        torch models load with :func:`polyfold.load_model`.  The file is closed on
        every path, also when it is corrupt.

        Raises
        ------
        ValidationError
            Missing, corrupt or pickled file, or no arrays ``W0, b0, ...``.
        """
        from ._validation import read_npz

        data = read_npz(path, "network file")
        name = str(path)
        try:
            return _plnet_from_arrays(cls, data, name)
        except PolyfoldError:
            raise
        except (KeyError, TypeError, ValueError, IndexError) as err:  # a damaged archive
            raise ValidationError(
                f"{name!r} is not a readable polyfold network ({type(err).__name__}: {err}); "
                "re-create it with PLNet.save."
            ) from err


def _plnet_from_arrays(cls, data, name):
    """The network of the arrays of a :meth:`PLNet.save` archive."""
    import json

    if "graph" in data:
        raise ValidationError(
            f"{name!r} holds a graph network (PLGraph); load it with "
            "polyfold.load or PLGraph.load."
        )
    layers = []
    i = 0
    while f"W{i}" in data:
        if f"b{i}" not in data:
            raise ValidationError(f"{name!r} has W{i} but no b{i}.")
        layers.append((data[f"W{i}"], data[f"b{i}"]))
        i += 1
    if not layers:
        raise ValidationError(
            f"{name!r} holds no arrays named W0, b0, ...; save networks with PLNet.save."
        )
    if "activations" in data:
        acts = json.loads(str(data["activations"]))
    else:
        acts = ["relu"] * (len(layers) - 1)
    shape = tuple(int(v) for v in data["input_shape"]) if "input_shape" in data else None
    return cls(layers, acts, input_shape=shape)


def save_npz(path, arrays, name="path"):
    """``np.savez(path, **arrays)`` with a clear :class:`ValidationError` for a path
    that is not a file name, a missing folder or a file that cannot be written."""
    p = check_save_path(path, name)
    try:
        np.savez(p, **arrays)
    except OSError as err:
        raise ValidationError(f"{name} {str(p)!r} cannot be written: {err.strerror or err}.") from err


def _exact_value(v, name, index):
    """``fmpq`` of one entry of an exact point (Fraction, int, fmpq or finite float)."""
    from fractions import Fraction

    if isinstance(v, (bool, np.bool_)):
        return arith.to_fmpq(int(v))
    if isinstance(v, (type(arith.ZERO), Fraction, int, np.integer)):
        return arith.to_fmpq(v)
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            raise NonFiniteError(
                f"{name} contains NaN or infinity (first at index {index}); exact points "
                "must be finite rationals."
            )
        return arith.to_fmpq(v)
    import numbers

    if isinstance(v, numbers.Rational):
        return arith.to_fmpq(Fraction(int(v.numerator), int(v.denominator)))
    raise ValidationError(
        f"{name} must hold exact rationals (fractions.Fraction, int, fmpq) or finite "
        f"floats, got {type(v).__name__} {v!r:.40} at index {index}."
    )


def exact_points(points, input_shape, name="points"):
    """``(fmpq object array (n, d), single)`` of points for exact evaluation.

    Float arrays are checked as for float evaluation and read exactly; object arrays
    and lists of ``Fraction`` / ``int`` / ``fmpq`` are taken as they are.  Points are
    ``(n, d)``, ``(d,)``, ``(n, *input_shape)`` or ``input_shape``."""
    shape = tuple(input_shape)
    arr = read_array(points, name, "an array of numbers")
    if arr.dtype != object:
        if len(shape) == 1:
            X, single = check_points(arr, shape[0], name)
        else:
            from .graph.model import as_graph_points

            X, single = as_graph_points(arr, shape, name)
        return arith.fmpq_array(X), single
    d = int(np.prod(shape))
    if arr.shape == shape or (arr.ndim == 1 and arr.shape[0] == d):
        arr, single = arr.reshape(1, d), True
    elif arr.ndim >= 2 and arr.shape[1:] == shape:
        arr, single = arr.reshape(len(arr), d), False
    elif arr.ndim == 2 and arr.shape[1] == d:
        single = False
    else:
        raise ShapeError(
            f"Expected {name} of shape (n, {d}) or ({d},) (or the net's input_shape "
            f"{shape}), got {arr.shape}."
        )
    out = np.empty(arr.shape, dtype=object)
    for idx, v in np.ndenumerate(arr):
        out[idx] = _exact_value(v, name, idx)
    return out, single


def _check_codes(net, codes):
    """``codes`` as an (n, n_hidden) int64 array of valid codes of ``net``."""
    arr = np.asarray(codes)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2 or arr.shape[1] != net.n_hidden:
        raise ShapeError(f"codes must have shape (n, {net.n_hidden}) (one code per hidden unit), "
                         f"got {np.shape(codes)}.")
    if arr.dtype.kind not in "iu" and arr.dtype != bool:
        raise ValidationError(f"codes must be integers (see net.codes), got dtype {arr.dtype}.")
    arr = arr.astype(np.int64)
    sizes = net.code_sizes
    if arr.size and (np.any(arr < 0) or np.any(arr >= sizes)):
        raise ValidationError(
            "codes out of range for the units: unit k takes codes 0 .. net.code_sizes[k] - 1.")
    return arr


def _overflow_error(zs, bad):
    """The :class:`NonFiniteError` of finite points whose values overflow float64."""
    i = int(np.flatnonzero(bad)[0])
    layer = next(l for l, z in enumerate(zs) if not np.isfinite(z[i]).all())
    where = "the logits" if layer == len(zs) - 1 else f"layer {layer}"
    return NonFiniteError(
        f"the network's values overflow float64 (beyond about 1.8e308) at {where} for point "
        f"{i}: the points and weights are finite, but their products and sums are not. Use "
        "net.forward_exact(points) (exact rationals), or rescale the weights."
    )


def _rebuild_plnet(layers, activations, input_shape):
    return PLNet(layers, activations, input_shape=input_shape)


def check_net(net):
    """Return ``net`` if it is a :class:`PLNet` or a :class:`~polyfold.graph.PLGraph`,
    else raise a ValidationError with the fix."""
    if isinstance(net, PLNet):
        return net
    from .graph.model import PLGraph

    if not isinstance(net, PLGraph):
        raise ValidationError(
            f"net must be a polyfold.PLNet or polyfold.PLGraph, got {type(net).__name__}; "
            "convert models with polyfold.from_torch, polyfold.from_onnx, "
            "polyfold.from_sklearn or PLNet.from_arrays."
        )
    return net


def check_dense(net, feature):
    """Return ``net`` if it is a dense :class:`PLNet`; a graph network (convolutions,
    max pooling, skips) raises :class:`UnsupportedLayerError` naming ``feature``."""
    net = check_net(net)
    if not isinstance(net, PLNet):
        raise UnsupportedLayerError(
            f"{feature} needs a dense PLNet (a stack of affine layers); this net is a graph "
            f"network ({net.depth} unit groups, input shape {net.input_shape}). Use a dense "
            "MLP, or see the documentation for the features that support graph networks."
        )
    return net


def codes_from_preactivations(net, zs):
    """Codes (n, n_hidden) int8 from hidden preactivations (float arrays)."""
    tabs = net._code_tables()
    out = []
    for z, (th, _, _) in zip(zs, tabs):
        c = np.zeros(z.shape, np.int8)
        for t in th:
            c += z > t
        out.append(c)
    if not out:
        return np.zeros((len(zs[0]) if zs else 0, 0), np.int8)
    return np.concatenate(out, axis=1)


def bits_from_codes(net, codes):
    """Bits ``z > 0`` (bool) from codes (..., n_hidden); graph nets with max units give
    int8 (max units hold their code)."""
    if not isinstance(net, PLNet):
        return net.bits_from_codes(codes)
    tabs = net._code_tables()
    codes = np.asarray(codes)
    if all(len(c2b) == 2 for _, c2b, _ in tabs):
        # one threshold (0) per neuron: the code is the bit
        return codes != 0
    off = net.layer_offsets
    out = np.empty(codes.shape, bool)
    for l, (_, c2b, _) in enumerate(tabs):
        out[..., off[l] : off[l + 1]] = c2b[codes[..., off[l] : off[l + 1]]]
    return out


def pieces_from_codes(net, codes):
    """Piece indices (int8) from codes (..., n_hidden)."""
    if not isinstance(net, PLNet):
        return net.pieces_from_codes(codes)
    tabs = net._code_tables()
    off = net.layer_offsets
    codes = np.asarray(codes)
    out = np.empty(codes.shape, np.int8)
    for l, (_, _, c2p) in enumerate(tabs):
        out[..., off[l] : off[l + 1]] = c2p[codes[..., off[l] : off[l + 1]]]
    return out


def pack_patterns(bits):
    """Pack (n, n_bits) bool patterns into (n, ceil(n_bits / 8)) uint8.

    ``bits``: a 2-D array of booleans or of 0 and 1 (anything else raises
    :class:`~polyfold.ValidationError`: packing would turn 0.5 or 2 into a bit silently).
    """
    arr = np.asarray(bits)
    if arr.ndim != 2:
        raise ShapeError(f"bits must be a 2-D (n, n_bits) array, got shape {arr.shape}.")
    if arr.dtype != bool:
        if arr.dtype.kind not in "iuf" or not np.all((arr == 0) | (arr == 1)):
            raise ValidationError(
                "bits must hold booleans or 0 and 1; threshold them first, e.g. patterns > 0.")
    return np.packbits(arr.astype(bool, copy=False), axis=-1)


def unpack_patterns(packed, n_bits):
    """Inverse of :func:`pack_patterns` (``packed``: uint8 rows; ``0 <= n_bits <= 8 *
    packed.shape[-1]``)."""
    arr = np.asarray(packed)
    if arr.dtype != np.uint8 or arr.ndim < 1:
        raise ValidationError(
            f"packed must be a uint8 array from pack_patterns, got {arr.dtype} of shape {arr.shape}.")
    n_bits = check_positive_int(n_bits, "n_bits", 0)
    if not 0 <= n_bits <= 8 * arr.shape[-1]:
        raise ValidationError(
            f"n_bits must be in [0, {8 * arr.shape[-1]}] for rows of {arr.shape[-1]} bytes, got {n_bits}.")
    return np.unpackbits(arr, axis=-1, count=n_bits).astype(bool)


_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.int64)


def pack_words(bits):
    """Pack (n, n_bits) bool patterns into (n, ceil(n_bits / 64)) uint64 words.

    The fastest form for :func:`hamming` (one popcount per 64 neurons).  ``bits``:
    booleans or 0 and 1, the last axis running over the pattern.
    """
    arr = np.asarray(bits)
    if arr.ndim < 1:
        raise ShapeError(f"bits must be an (n, n_bits) array of patterns, got shape {arr.shape}.")
    if arr.dtype != bool:
        if arr.dtype.kind not in "iuf" or not np.all((arr == 0) | (arr == 1)):
            raise ValidationError(
                "bits must hold booleans or 0 and 1; threshold them first, e.g. patterns > 0.")
    packed = np.packbits(arr.astype(bool, copy=False), axis=-1)
    pad = (-packed.shape[-1]) % 8
    if pad:
        packed = np.concatenate([packed, np.zeros(packed.shape[:-1] + (pad,), np.uint8)], axis=-1)
    return np.ascontiguousarray(packed).view(np.uint64)


def _popcount(x):
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(x)
    return _POPCOUNT[x.view(np.uint8)].reshape(x.shape + (x.itemsize,)).sum(axis=-1)


def hamming(p, q):
    """Hamming distances between patterns, broadcasting over leading axes.

    ``p`` and ``q`` are bool patterns, :func:`pack_patterns` bytes (uint8) or
    :func:`pack_words` words (uint64); the last axis runs over the pattern.
    """
    p = np.asarray(p)
    q = np.asarray(q)
    for name, a in (("p", p), ("q", q)):
        if (a.dtype != bool and a.dtype.kind not in "iu") or a.ndim < 1:
            raise ValidationError(
                f"{name} must be bool (or 0/1 integer) patterns, pack_patterns bytes (uint8) or "
                f"pack_words words (uint64) with the pattern on the last axis, got {a.dtype} of "
                f"shape {a.shape}.")
    if p.dtype == bool or q.dtype == bool:  # unpacked patterns: the other as bits too
        for name, a in (("p", p), ("q", q)):
            if a.dtype != bool and not np.all((a == 0) | (a == 1)):
                raise ValidationError(
                    f"{name} must hold 0 and 1 when compared with bool patterns, got other "
                    "values; pack both sides with the same function or pass both unpacked.")
    elif p.dtype.itemsize != q.dtype.itemsize and not all(np.all((a == 0) | (a == 1)) for a in (p, q)):
        # (0/1 integers are unpacked patterns whatever their width; packed bytes against
        # packed words would mix up the bits)
        raise ValidationError(
            f"p and q must have the same form (both uint8 bytes or both uint64 words), got "
            f"{p.dtype} and {q.dtype}; pack both with the same function.")
    if p.shape[-1] != q.shape[-1]:
        raise ShapeError(
            f"p and q must be patterns of the same length (last axis), got shapes {p.shape} "
            f"and {q.shape}.")
    try:
        np.broadcast_shapes(p.shape[:-1], q.shape[:-1])
    except ValueError as err:
        raise ShapeError(
            f"the leading axes of p {p.shape} and q {q.shape} do not broadcast together.") from err
    if p.dtype == bool:
        return np.count_nonzero(np.asarray(p, bool) != np.asarray(q, bool), axis=-1)
    return _popcount(np.bitwise_xor(p, q)).sum(axis=-1, dtype=np.int64)
