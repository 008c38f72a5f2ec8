"""CantorNet: a ground-truth network family with a self-similar decision boundary.

Domain ``[0, 1]^2``, point ``(x, y)``.  ``A(x) = max(-3x + 1, 0, 3x - 2) =
ReLU(3x - 2) + ReLU(1 - 3x)``; ``A^(k)`` is ``A`` composed ``k`` times.  The
decision region is ``R_k = {y <= g_k(x)}`` with ``g_k(x) = (A^(k)(x) + 1) / 2``.

All three representations compute the same function on ``[0, 1]^2``,

    ``N_k(x, y) = y - g_k(x)``,  so ``R_k = {N_k <= 0}``,

with very different layer layouts (and therefore different activation patterns):

``"A"`` (recursion, 5 units per step; Lewandowski et al.)
    state ``s = (u, y)`` with ``u = x`` at the start; each step is two ReLU layers,
    ``h = ReLU(W1 s + b1)`` with ``W1 = [[3, 0], [-3, 0], [0, 1]]``,
    ``b1 = [-2, 1, 0]``, then ``s = ReLU(W2 h)`` with ``W2 = [[1, 1, 0], [0, 0, 1]]``.
    Output ``-u/2 + y - 1/2``.  ``2k`` hidden layers, ``5k`` neurons.
``"B"`` (disjunctive normal form)
    ``g_k`` is the polyline through the endpoints of the level-``k`` Cantor
    intervals with heights ``1, 1/2, 1/2, 1, 1, 1/2, ...``.  Written as
    ``g_k = max(1/2, max_w min(up_w, 1, down_w))`` (one trapezoid per plateau at
    height 1), the region is the union over disjuncts of intersections of
    half-planes, and ``N_k = min_i max_j (y - l_ij(x))``.  ``min(a, b)`` is
    computed as ``b - ReLU(b - a)`` and ``max(a, b)`` as ``a + ReLU(b - a)``.
``"C"`` (min/max form)
    ``g_k = min(1, min_v max(down_v, 1/2, up_v))`` (one valley per pair of sibling
    Cantor intervals), so ``N_k = max(y - 1, max_v min(y - down_v, y - 1/2,
    y - up_v))``; ``min(a, b) = (a + b - |a - b|) / 2``, ``max(a, b) = (a + b +
    |a - b|) / 2`` with ``|t| = ReLU(t) + ReLU(-t)``.

B and C have ``O(2^k)`` neurons.  A :class:`~polyfold.PLNet` has a linear last layer
and one activation per hidden layer, so a value that must pass a ReLU layer
unchanged (a skip connection) is carried as the pair ``ReLU(v) - ReLU(-v)``; those
neurons carry bits like any other.  The layouts of B and C are polyfold's own
construction from the description in the CantorNet paper (the paper fixes the
forms, not the layer layout).

Bit conventions.  By default the pattern holds the hidden neurons only (``5k`` bits
for A).  The authors' code also applies a ReLU to the output unit and counts its
bit (``5k + 1`` bits): ``output_relu=True`` appends that unit as a last hidden
ReLU layer of width 1 (then the net outputs ``ReLU(N_k)``; the decision region is
still ``{output <= 0}``).  Equivalently, keep ``output_relu=False`` and pass
``units="hidden+output"`` to :func:`polyfold.folding.space_folding` (bit
``N_k > 0``).

References
----------
M. Lewandowski, H. Eghbalzadeh, B. A. Moser, "CantorNet: A Sandbox for Testing
Geometrical and Topological Complexity Measures", arXiv:2411.19713.
"""

from fractions import Fraction

import numpy as np

from ._validation import check_positive_int
from .exceptions import ValidationError
from .network import PLNet

__all__ = [
    "cantornet",
    "cantor_map",
    "cantor_boundary",
    "cantor_intervals",
    "boundary_vertices",
    "MAX_K",
]

#: largest recursion depth per representation (weights stay exact in float64 for A;
#: B and C have dense layers of O(2^k) neurons)
MAX_K = {"A": 30, "B": 10, "C": 10}


def cantor_map(x, k):
    """``A^(k)(x)`` in exact rational arithmetic (``x`` a Fraction, int or float)."""
    u = Fraction(x)
    for _ in range(k):
        u = max(-3 * u + 1, Fraction(0), 3 * u - 2)
    return u


def cantor_boundary(x, k):
    """``g_k(x) = (A^(k)(x) + 1) / 2``, exact."""
    return (cantor_map(x, k) + 1) / 2


def cantor_intervals(k):
    """The ``2^k`` level-``k`` Cantor intervals ``[(a, b), ...]`` as Fractions."""
    iv = [(Fraction(0), Fraction(1))]
    for _ in range(k):
        nxt = []
        for a, b in iv:
            d = (b - a) / 3
            nxt += [(a, a + d), (b - d, b)]
        iv = nxt
    return iv


def boundary_vertices(k):
    """Vertices ``[(x, g_k(x)), ...]`` of the boundary polyline (Fractions).

    The endpoints of the level-``k`` Cantor intervals, with heights
    ``1, 1/2, 1/2, 1, 1, 1/2, 1/2, 1, ...``; ``g_k`` is linear between them.
    """
    xs = [v for iv in cantor_intervals(k) for v in iv]
    half = Fraction(1, 2)
    return [(x, Fraction(1) if i % 4 in (0, 3) else half) for i, x in enumerate(xs)]


def _exact_float(v):
    f = float(v)
    if Fraction(f) != v:  # pragma: no cover - guarded by MAX_K
        raise ValidationError(f"CantorNet weight {v} is not exact in float64; use a smaller k.")
    return f


def _literal(p, q):
    """Literal ``y - l(x)`` for the line ``l`` through vertices p, q: (row, bias)."""
    (xa, ha), (xb, hb) = p, q
    s = (hb - ha) / (xb - xa)
    c0 = ha - s * xa
    return (-s, Fraction(1)), -c0


def _const_literal(h):
    """Literal ``y - h``."""
    return (Fraction(0), Fraction(1)), -Fraction(h)


# ---------------------------------------------------------------------------
# representation A
# ---------------------------------------------------------------------------
def _layers_A(k):
    W1 = np.array([[3.0, 0.0], [-3.0, 0.0], [0.0, 1.0]])
    b1 = np.array([-2.0, 1.0, 0.0])
    W2 = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    b2 = np.zeros(2)
    layers = []
    for _ in range(k):
        layers += [(W1, b1), (W2, b2)]
    out = (np.array([[-0.5, 1.0]]), np.array([-0.5]))
    return layers, out


# ---------------------------------------------------------------------------
# representations B and C: lattice (min / max) networks
# ---------------------------------------------------------------------------
class _Lattice:
    """Builds ReLU layers that reduce groups of affine values with min / max.

    The current values are ``V = M h + c`` where ``h`` is the output of the last
    layer built (the input at the start).  Each call of :meth:`step` adds one ReLU
    layer combining pairs of values of every group.
    """

    def __init__(self, rows, biases, gadget):
        self.M = [list(r) for r in rows]  # Fractions
        self.c = list(biases)
        self.gadget = gadget
        self.layers = []

    def _neuron(self, coef):
        """Preactivation row and bias of a neuron computing ReLU(sum coef_i V_i)."""
        width = len(self.M[0])
        row = [Fraction(0)] * width
        bias = Fraction(0)
        for i, a in coef.items():
            for j in range(width):
                row[j] += a * self.M[i][j]
            bias += a * self.c[i]
        return row, bias

    def step(self, groups, op):
        """One layer: within every group, combine values pairwise with ``op``."""
        neurons = []  # (row, bias)
        outputs = []  # per new value: dict neuron index -> coefficient
        new_groups = []

        def add(coef):
            neurons.append(self._neuron(coef))
            return len(neurons) - 1

        def carry(i):
            p, n = add({i: 1}), add({i: -1})
            return {p: Fraction(1), n: Fraction(-1)}

        half = Fraction(1, 2)
        for g in groups:
            ng = []
            for a_i in range(0, len(g) - 1, 2):
                a, b = g[a_i], g[a_i + 1]
                if self.gadget == "B":
                    if op == "min":  # b - ReLU(b - a)
                        d = add({b: 1, a: -1})
                        out = carry(b)
                        out[d] = Fraction(-1)
                    else:  # a + ReLU(b - a)
                        d = add({b: 1, a: -1})
                        out = carry(a)
                        out[d] = Fraction(1)
                else:  # (a + b -/+ |a - b|) / 2
                    s_p, s_n = add({a: 1, b: 1}), add({a: -1, b: -1})
                    d_p, d_n = add({a: 1, b: -1}), add({a: -1, b: 1})
                    sgn = -half if op == "min" else half
                    out = {s_p: half, s_n: -half, d_p: sgn, d_n: sgn}
                outputs.append(out)
                ng.append(len(outputs) - 1)
            if len(g) % 2:
                outputs.append(carry(g[-1]))
                ng.append(len(outputs) - 1)
            new_groups.append(ng)
        W = [r for r, _ in neurons]
        b = [bb for _, bb in neurons]
        self.layers.append((W, b))
        n = len(neurons)
        self.M = [[o.get(j, Fraction(0)) for j in range(n)] for o in outputs]
        self.c = [Fraction(0)] * len(outputs)
        return new_groups

    def reduce(self, groups, op):
        while any(len(g) > 1 for g in groups):
            groups = self.step(groups, op)
        return [g[0] for g in groups]


def _lattice_net(groups, inner, outer, gadget):
    """``outer`` over groups of ``inner`` over literals; returns float layers."""
    rows, biases, idx_groups = [], [], []
    for g in groups:
        ig = []
        for row, bias in g:
            rows.append(list(row))
            biases.append(bias)
            ig.append(len(rows) - 1)
        idx_groups.append(ig)
    lat = _Lattice(rows, biases, gadget)
    tops = lat.reduce(idx_groups, inner)
    lat.reduce([tops], outer)
    layers = [
        (np.array([[_exact_float(v) for v in r] for r in W]), np.array([_exact_float(v) for v in b]))
        for W, b in lat.layers
    ]
    out = (
        np.array([[_exact_float(v) for v in lat.M[0]]]),
        np.array([_exact_float(lat.c[0])]),
    )
    return layers, out


def _groups_B(k):
    """Disjuncts of the DNF: ``{y <= 1/2}`` and one trapezoid per height-1 plateau."""
    v = boundary_vertices(k)
    n = len(v)
    groups = [[_const_literal(Fraction(1, 2))]]
    groups.append([_const_literal(1), _literal(v[0], v[1])])  # plateau at x = 0
    for j in range(3, n - 1, 4):  # interior plateaus [x_j, x_{j+1}]
        groups.append([_literal(v[j - 1], v[j]), _const_literal(1), _literal(v[j + 1], v[j + 2])])
    groups.append([_literal(v[n - 2], v[n - 1]), _const_literal(1)])  # plateau at x = 1
    return groups


def _groups_C(k):
    """Conjuncts of the min/max form: ``y <= 1`` and one valley per sibling pair."""
    v = boundary_vertices(k)
    groups = [[_const_literal(1)]]
    for j in range(0, len(v), 4):
        groups.append(
            [_literal(v[j], v[j + 1]), _const_literal(Fraction(1, 2)), _literal(v[j + 2], v[j + 3])]
        )
    return groups


def cantornet(k, representation="A", *, output_relu=False):
    """CantorNet of recursion depth ``k`` in representation A, B or C.

    Parameters
    ----------
    k : int >= 1
        Recursion depth (A: up to 30; B, C: up to 10, their layers are dense with
        ``O(2^k)`` neurons).
    representation : {"A", "B", "C"}
        See the module notes.
    output_relu : bool
        Append the authors' ReLU output unit as a last hidden layer of width 1, so
        its bit ``N_k > 0`` is part of the pattern (``5k + 1`` bits for A).

    Returns
    -------
    PLNet
        Input ``(x, y)``, one output ``N_k(x, y) = y - (A^(k)(x) + 1) / 2`` on
        ``[0, 1]^2`` (``ReLU`` of it with ``output_relu``).

    Raises
    ------
    ValidationError
        ``k`` not a positive integer or too large, unknown representation.

    Examples
    --------
    >>> from polyfold._cantornet import cantornet
    >>> net = cantornet(2, "A")
    >>> net.widths, net.n_hidden
    ((3, 2, 3, 2), 10)
    >>> [str(v) for v in net.forward_exact([[0.0, 0.75], [0.5, 0.75]])[-1].ravel()]
    ['-1/4', '-1/4']
    """
    if representation not in MAX_K:
        raise ValidationError(
            f"representation must be 'A', 'B' or 'C', got {representation!r}."
        )
    k = check_positive_int(k, "k")
    if k > MAX_K[representation]:
        raise ValidationError(
            f"k must be <= {MAX_K[representation]} for representation "
            f"{representation!r}, got {k}; use representation 'A' for deep recursions."
        )
    if representation == "A":
        layers, out = _layers_A(k)
    elif representation == "B":
        layers, out = _lattice_net(_groups_B(k), "max", "min", "B")
    else:
        layers, out = _lattice_net(_groups_C(k), "min", "max", "C")
    if output_relu:
        layers = layers + [out]
        out = (np.array([[1.0]]), np.array([0.0]))
    return PLNet.from_arrays(layers + [out], "relu")
