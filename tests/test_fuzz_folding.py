"""Fuzz of polyfold.folding against an independent reference in Fractions.

The reference below is written from the definitions of the spec (folding.md), not
from polyfold's code: for a small network with rational weights and a segment with
rational end points it finds every parameter where a neuron's preactivation crosses
one of its activation's thresholds (layer by layer: once the crossings of layers
``< l`` are known, layer ``l`` is affine between them, so its crossings are roots of
affine functions), splits further where a value crosses the class threshold, takes
the class at the midpoint of every piece and merges equal neighbours.  The measures
(``r1``, ``r2``, ``chi``, prefix curve, reversal, interaction effect, bounds),
``Phi_N`` and the two class-pair readings are recomputed from that walk in
Fractions; the grid and bisection samplers of spec section 7 are recomputed from
exact forward passes at their sample points.

Weights, biases and end points are dyadic rationals (exact in float64), so polyfold
sees the same network and segment.  Tolerances: exact and certified mode must give
the reference walk, ``chi`` and (exact mode) breakpoints exactly; float mode must
give the same walk whenever every exact piece is longer than ``1e-6`` (float mode
merges pieces shorter than its merge tolerance by design), with breakpoints within
``1e-9``.
"""

import random
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import polyfold
from polyfold import zoo
from polyfold._cantornet import cantornet
from polyfold.folding import (
    class_pair_folding,
    folding_bounds,
    folding_measure,
    folding_measure_batch,
    global_folding,
    interaction_effect,
    prefix_curve,
    sampled_folding,
    sampling_error,
    space_folding,
    space_folding_batch,
    symmetric_folding,
)

HALF = F(1, 2)


# ---------------------------------------------------------------------------
# reference: activations as tuples ("relu",), ("leaky", s), ("hardtanh", lo, hi),
# ("identity",), with Fraction parameters
# ---------------------------------------------------------------------------
def _act(a, z):
    if a[0] == "relu":
        return z if z > 0 else F(0)
    if a[0] == "leaky":
        return z if z > 0 else a[1] * z
    if a[0] == "hardtanh":
        return min(max(z, a[1]), a[2])
    return z


def _thresholds(a):
    """Values of ``z`` where the activation's slope or its bit ``z > 0`` changes."""
    if a[0] == "hardtanh":
        return sorted({a[1], F(0), a[2]})
    return [F(0)]


def _piece(a, z):
    """Index of the linear piece holding ``z`` (pieces closed on the left end's side:
    ``z <= knot`` is the lower piece)."""
    if a[0] == "identity":
        return 0
    if a[0] == "hardtanh":
        return int(z > a[1]) + int(z > a[2])
    return int(z > 0)


def _code(a, z):
    return sum(1 for k in _thresholds(a) if z > k)


def _net(layers, acts):
    objs = []
    for a in acts:
        if a[0] == "leaky":
            objs.append(polyfold.LeakyReLU(float(a[1])))
        elif a[0] == "hardtanh":
            objs.append(polyfold.HardTanh(float(a[1]), float(a[2])))
        else:
            objs.append(a[0])
    return polyfold.PLNet(
        [(np.array([[float(v) for v in r] for r in W]), np.array([float(v) for v in b])) for W, b in layers], objs
    )


def _frac_layers(net):
    return [([[F(float(v)) for v in r] for r in W], [F(float(v)) for v in b]) for W, b in net.layers]


def _forward(layers, acts, x):
    """(preactivations, post-activations) of the hidden layers and the logits at x."""
    h, zs, hs = list(x), [], []
    for l, (W, b) in enumerate(layers):
        z = [sum((w * v for w, v in zip(row, h)), F(0)) + bb for row, bb in zip(W, b)]
        if l == len(acts):
            return zs, hs, z
        zs.append(z)
        h = [_act(acts[l], v) for v in z]
        hs.append(h)


def _point(x1, x2, t):
    return [a + t * (b - a) for a, b in zip(x1, x2)]


def _refine(T, values):
    """Insert into the sorted parameters ``T`` every root, strictly inside an
    interval, of a component of ``values(t)``; each component must be affine on every
    interval of ``T``.  A component that is 0 at an end or along a whole interval adds
    nothing (a zero without a sign change is not a crossing)."""
    V = [values(t) for t in T]
    out = [T[0]]
    for i in range(len(T) - 1):
        a, b = T[i], T[i + 1]
        roots = {a + (b - a) * va / (va - vb) for va, vb in zip(V[i], V[i + 1]) if va * vb < 0}
        out += sorted(roots) + [b]
    return out


def _selection(depth, units):
    if units == "hidden":
        return list(range(depth)), False
    if units == "hidden+output":
        return list(range(depth)), True
    sel = sorted({u % (depth + 1) for u in units})
    return [u for u in sel if u < depth], depth in sel


def _classes(layers, acts, x, units="hidden", classes="sign"):
    """Class (tuple) of the point x under a convention, by the spec's rules."""
    hl, out = _selection(len(acts), units)
    zs, hs, logits = _forward(layers, acts, x)
    thr = F(0) if isinstance(classes, str) else F(classes)
    row = []
    for l in hl:
        for z, h in zip(zs[l], hs[l]):
            if classes == "piece":
                row.append(_piece(acts[l], z))
            else:  # "sign" is f(z) > 0, a number tau is f(z) > tau
                row.append(int(h > thr))
    if out:
        row += [int(v > thr) for v in logits]
    return tuple(row)


def ref_walk(layers, acts, x1, x2, units="hidden", classes="sign"):
    """Exact walk of the segment: (classes, class-change parameters, linear pieces)."""
    x1, x2 = [F(v) for v in x1], [F(v) for v in x2]
    depth = len(acts)
    T = [F(0), F(1)]
    for l in range(depth):
        T = _refine(T, lambda t, l=l: [
            z - k for z in _forward(layers, acts, _point(x1, x2, t))[0][l] for k in _thresholds(acts[l])
        ])
    thr = F(0) if isinstance(classes, str) else F(classes)
    # every post-activation and logit is affine on the intervals of T now
    T = _refine(T, lambda t: [v - thr for h in _forward(layers, acts, _point(x1, x2, t))[1] for v in h])
    T = _refine(T, lambda t: [v - thr for v in _forward(layers, acts, _point(x1, x2, t))[2]])
    cls, codes = [], []
    for a, b in zip(T[:-1], T[1:]):
        x = _point(x1, x2, (a + b) / 2)
        cls.append(_classes(layers, acts, x, units, classes))
        zs = _forward(layers, acts, x)[0]
        codes.append(tuple(_code(acts[l], z) for l in range(depth) for z in zs[l]))
    walk, bps = [cls[0]], []
    for i in range(1, len(cls)):
        if cls[i] != walk[-1]:
            walk.append(cls[i])
            bps.append(T[i])
    n_pieces = 1 + sum(1 for i in range(1, len(codes)) if codes[i] != codes[i - 1])
    lengths = [b - a for a, b in zip([F(0)] + bps, bps + [F(1)])]
    return walk, bps, n_pieces, min(lengths)


def _d(p, q):
    return sum(1 for a, b in zip(p, q) if a != b)


def _dedup(walk):
    out = []
    for p in walk:
        p = tuple(int(v) for v in p)
        if not out or out[-1] != p:
            out.append(p)
    return out


def ref_measure(walk):
    """(chi, r1, r2) of a walk (TMLR Eq. 4)."""
    w = _dedup(walk)
    r1 = max(_d(w[0], p) for p in w)
    r2 = sum(_d(a, b) for a, b in zip(w[:-1], w[1:]))
    return (F(r2 - r1, r2) if r2 else F(0)), r1, r2


def ref_chi(walk):
    return ref_measure(walk)[0]


def ref_prefix(walk):
    w = _dedup(walk)
    return [ref_chi(w[:j]) for j in range(1, len(w) + 1)]


def ref_median(values):
    v = sorted(values)
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) / 2


def _rows(a):
    return [tuple(int(v) for v in p) for p in a]


# ---------------------------------------------------------------------------
# random small networks
# ---------------------------------------------------------------------------
ACTS = [
    ("relu",), ("identity",), ("leaky", F(1, 4)), ("leaky", F(-1, 2)), ("leaky", F(2)),
    ("leaky", F(0)), ("hardtanh", F(-1), F(1)), ("hardtanh", F(0), F(1, 2)), ("hardtanh", F(-1, 2), F(2)),
]
small_ints = st.integers(-2, 2).map(F)
halves = st.integers(-4, 4).map(lambda v: F(v, 2))


@st.composite
def nets(draw, max_depth=3, max_width=3):
    d = draw(st.integers(1, 2))
    widths = draw(st.lists(st.integers(1, max_width), min_size=1, max_size=max_depth))
    widths.append(draw(st.integers(1, 2)))
    acts = [draw(st.sampled_from(ACTS)) for _ in widths[:-1]]
    layers, n = [], d
    for w in widths:
        W = [[draw(small_ints) for _ in range(n)] for _ in range(w)]
        b = [draw(halves) for _ in range(w)]
        layers.append((W, b))
        n = w
    return layers, acts, d


@st.composite
def cases(draw):
    layers, acts, d = draw(nets())
    x1 = [draw(halves) for _ in range(d)]
    x2 = list(x1) if draw(st.integers(0, 9)) == 0 else [draw(halves) for _ in range(d)]
    depth = len(acts)
    layer_list = draw(st.lists(st.integers(-depth - 1, depth), min_size=1, max_size=3))
    units = draw(st.sampled_from(["hidden", "hidden+output", layer_list]))
    classes = draw(st.sampled_from(["sign", "piece", 0.5, -0.5, 1.0]))
    return layers, acts, x1, x2, units, classes


def _check_path(layers, acts, x1, x2, units, classes, modes=("exact", "certified", "float")):
    net = _net(layers, acts)
    walk, bps, n_pieces, shortest = ref_walk(layers, acts, x1, x2, units, classes)
    chi, r1, r2 = ref_measure(walk)
    a, b = [float(v) for v in x1], [float(v) for v in x2]
    for mode in modes:
        r = space_folding(net, a, b, mode=mode, units=units, classes=classes)
        if mode == "float" and shortest <= F(1, 10**6):
            continue  # float mode merges pieces shorter than its tolerance
        assert _rows(r.walk) == walk, mode
        assert (r.chi, r.r1, r.r2, r.n_regions) == (chi, r1, r2, len(walk)), mode
        assert r.displacement == _d(walk[0], walk[-1])
        assert r.chi_reversed == ref_chi(walk[::-1])
        assert r.chi_symmetric == (chi + ref_chi(walk[::-1])) / 2
        assert r.prefix.fractions() == ref_prefix(walk)
        assert len(r.unit_labels) == len(walk[0])
        if mode == "exact":
            assert list(r.breakpoints) == bps
            assert r.n_pieces == n_pieces
        else:
            np.testing.assert_allclose(np.asarray(r.breakpoints, float), [float(t) for t in bps], rtol=0, atol=1e-9)
    return walk


@given(cases())
@settings(max_examples=60)
def test_exact_walk_matches_reference(case):
    _check_path(*case)


@given(nets(), st.data())
@settings(max_examples=25)
def test_batch_matches_reference_per_path(net_case, data):
    layers, acts, d = net_case
    net = _net(layers, acts)
    m = data.draw(st.integers(1, 5))
    S = [[data.draw(halves) for _ in range(d)] for _ in range(m)]
    E = [[data.draw(halves) for _ in range(d)] for _ in range(m)]
    units = data.draw(st.sampled_from(["hidden", "hidden+output"]))
    classes = data.draw(st.sampled_from(["sign", "piece", 0.5]))
    mode = data.draw(st.sampled_from(["exact", "certified"]))
    res = space_folding_batch(net, np.array(S, float), np.array(E, float), mode=mode, units=units, classes=classes)
    rev = res.reversed_measures()
    for i in range(m):
        walk = ref_walk(layers, acts, S[i], E[i], units, classes)[0]
        assert _rows(res.walk(i)) == walk
        assert res.chi_exact(i) == ref_chi(walk)
        assert rev.chi_exact(i) == ref_chi(walk[::-1])
        assert res.measures.prefix_max_exact(i) == max(ref_prefix(walk))
        assert res.measures.prefix_max[i] == float(max(ref_prefix(walk)))
        assert res.chi[i] == float(ref_chi(walk))


@pytest.mark.slow
def test_seeded_random_walks_many():
    """Seeded random cases (more of them than the hypothesis test): integer weights
    in -1..2 with many zeros, integer end points (many on boundaries, in hyperplanes,
    of zero length)."""
    for seed in range(300):
        rng = random.Random(seed)
        d, depth = rng.randint(1, 3), rng.randint(1, 4)
        widths = [rng.randint(1, 4) for _ in range(depth)] + [rng.randint(1, 3)]
        acts = [rng.choice(ACTS) for _ in range(depth)]
        layers, n = [], d
        for w in widths:
            layers.append(([[F(rng.choice([-1, 0, 0, 1, 2])) for _ in range(n)] for _ in range(w)],
                           [F(rng.randint(-1, 1)) for _ in range(w)]))
            n = w
        x1 = [F(rng.randint(-2, 2)) for _ in range(d)]
        x2 = [F(rng.randint(-2, 2)) for _ in range(d)]
        for units in ("hidden", "hidden+output", [rng.randint(-1, depth)]):
            for classes in ("sign", "piece", rng.choice([0.5, -0.5, 1.0, 2.0])):
                _check_path(layers, acts, x1, x2, units, classes)


def test_seeded_random_walks_few():
    """A fixed handful of the seeded cases, in the default run."""
    rng = random.Random(7)
    for _ in range(12):
        d = rng.randint(1, 2)
        widths = [rng.randint(1, 3) for _ in range(rng.randint(1, 3))] + [2]
        acts = [rng.choice(ACTS) for _ in widths[:-1]]
        layers, n = [], d
        for w in widths:
            layers.append(([[F(rng.choice([-1, 0, 1, 2])) for _ in range(n)] for _ in range(w)],
                           [F(rng.randint(-1, 1)) for _ in range(w)]))
            n = w
        x1 = [F(rng.randint(-2, 2)) for _ in range(d)]
        x2 = [F(rng.randint(-2, 2)) for _ in range(d)]
        for units in ("hidden", "hidden+output"):
            for classes in ("sign", "piece", 0.5):
                _check_path(layers, acts, x1, x2, units, classes)


NEAR = [0.1, 0.2, 0.3, 0.7, 1 / 3, 2 / 3, 0.6, 1.1, 3.0, -0.1, -0.3]


def _near_degenerate(seed):
    """Non-dyadic float weights and ends (0.1 + 0.2 != 0.3 in float64): the reference
    works on the exact values of the floats, F(0.1) etc."""
    rng = random.Random(seed)
    d = rng.randint(1, 2)
    layers = [
        ([[F(rng.choice(NEAR)) for _ in range(d)] for _ in range(2)], [F(rng.choice(NEAR)) for _ in range(2)]),
        ([[F(rng.choice(NEAR)) for _ in range(2)] for _ in range(2)], [F(rng.choice(NEAR)) for _ in range(2)]),
    ]
    acts = [rng.choice([("relu",), ("hardtanh", F(-1), F(1)), ("leaky", F(-1, 2))])]
    x1 = [F(rng.choice(NEAR + [1.0, -1.0, 0.0])) for _ in range(d)]
    x2 = [F(rng.choice(NEAR + [1.0, -1.0, 0.0])) for _ in range(d)]
    return layers, acts, x1, x2, rng.choice(NEAR)


@pytest.mark.parametrize("seed", range(6))
def test_certified_is_exact_on_float_weights(seed):
    layers, acts, x1, x2, tau = _near_degenerate(seed)
    for units in ("hidden", "hidden+output"):
        for classes in ("sign", "piece", tau):
            _check_path(layers, acts, x1, x2, units, classes, modes=("exact", "certified"))


@pytest.mark.slow
def test_certified_is_exact_on_float_weights_many():
    for seed in range(6, 300):
        layers, acts, x1, x2, tau = _near_degenerate(seed)
        for units in ("hidden", "hidden+output"):
            for classes in ("sign", "piece", tau):
                _check_path(layers, acts, x1, x2, units, classes, modes=("exact", "certified"))


# ---------------------------------------------------------------------------
# degenerate cases of the definitions, each also derived by hand
# ---------------------------------------------------------------------------
def _layers(*pairs):
    return [([[F(v) for v in r] for r in W], [F(v) for v in b]) for W, b in pairs]


def test_touching_zero_is_not_a_crossing():
    # a = relu(x), b = relu(-x); g = relu(a + b) = |x| touches 0 at x = 0 without a
    # sign change: its bit is 1 on both open pieces.  Walk (a, b, g): (0,1,1), (1,0,1)
    L = _layers(([[1], [-1]], [0, 0]), ([[1, 1]], [0]), ([[1]], [0]))
    acts = [("relu",), ("relu",)]
    walk = _check_path(L, acts, [-1], [1], "hidden", "sign")
    assert walk == [(0, 1, 1), (1, 0, 1)]
    # the logit |x| - 0 with tau = 0 touches too: no class of its own
    assert _check_path(L, acts, [-1], [1], "hidden+output", "sign") == [(0, 1, 1, 1), (1, 0, 1, 1)]


def test_several_neurons_switch_at_one_point():
    # three neurons z = x, 2x, -x switch together at x = 0: one step of length 3
    L = _layers(([[1], [2], [-1]], [0, 0, 0]), ([[1, 1, 1]], [0]))
    walk = _check_path(L, [("relu",)], [-1], [1], "hidden", "sign")
    assert walk == [(0, 0, 1), (1, 1, 0)]
    assert ref_measure(walk) == (0, 3, 3)


def test_segment_inside_a_hyperplane():
    # z1 = x2 is identically 0 along (-1, 0) -> (1, 0): bit 0 (z == 0 is inactive);
    # a negative-slope leaky unit there has f = 0, bit 0 too; tau = -1/2 makes it 1
    L = _layers(([[0, 1], [1, 0]], [0, 0]), ([[1, 1]], [0]))
    for act in (("relu",), ("leaky", F(-1, 2)), ("hardtanh", F(-1), F(1))):
        assert _check_path(L, [act], [-1, 0], [1, 0], "hidden", "sign") == (
            [(0, 1)] if act[1:2] == (F(-1, 2),) else [(0, 0), (0, 1)])
        assert _check_path(L, [act], [-1, 0], [1, 0], "hidden", -0.5) == (
            [(1, 1)] if act[0] == "relu" or act[1] == F(-1, 2) else [(1, 0), (1, 1)])


def test_endpoints_on_boundaries_and_zero_length():
    L = _layers(([[1], [1]], [0, -1]), ([[1, 1]], [0]))
    acts = [("relu",)]
    # 0 -> 1: z1 = x > 0 and z2 = x - 1 < 0 on the open segment; the end points'
    # own patterns (z == 0) are not pieces
    assert _check_path(L, acts, [0], [1], "hidden", "sign") == [(1, 0)]
    # zero length: the class of the point itself (z == 0 inactive)
    for x, want in (([0], [(0, 0)]), ([1], [(1, 0)]), ([F(1, 2)], [(1, 0)])):
        assert _check_path(L, acts, x, x, "hidden+output", "sign") == [want[0] + (int(x[0] > 0),)]
        r = space_folding(_net(L, acts), [float(x[0])], [float(x[0])], mode="exact")
        assert r.breakpoints == [] and r.n_pieces == 1 and r.chi == 0


def test_dead_and_constant_neurons():
    # a neuron with zero weights: bias -1 (dead), 0 (at its threshold), +1 (constant
    # active); only z = x switches: walk (x, dead, zero, const) 0 -> 1 then 1
    L = _layers(([[1], [0], [0], [0]], [0, -1, 0, 1]), ([[1, 1, 1, 1]], [0]))
    for act in (("relu",), ("leaky", F(1, 4)), ("hardtanh", F(-1), F(1)), ("identity",)):
        assert _check_path(L, [act], [-1], [1], "hidden", "sign") == [(0, 0, 0, 1), (1, 0, 0, 1)]
    # a dead first layer makes everything after it constant: one class, chi = 0
    L2 = _layers(([[0]], [-1]), ([[3]], [1]), ([[1]], [0]))
    assert _check_path(L2, [("relu",), ("relu",)], [-2], [2], "hidden+output", "sign") == [(0, 1, 1)]


def test_hardtanh_pieces_and_leaky_classes():
    # z = x on -2 -> 2 through hardtanh(-1, 1): pieces 0 | 1 | 2 at x = -1, 1, sign
    # bit at x = 0; a threshold 1/2 on f cuts at x = 1/2
    L = _layers(([[1]], [0]), ([[1]], [0]))
    ht = [("hardtanh", F(-1), F(1))]
    assert _check_path(L, ht, [-2], [2], "hidden", "piece") == [(0,), (1,), (2,)]
    assert _check_path(L, ht, [-2], [2], "hidden", "sign") == [(0,), (1,)]
    assert _check_path(L, ht, [-2], [2], "hidden", 0.5) == [(0,), (1,)]
    r = space_folding(_net(L, ht), [-2.0], [2.0], mode="exact", classes=0.5)
    assert r.breakpoints == [F(5, 8)]  # -2 + 4t = 1/2
    # leaky slope -1/2: f > 0 on both sides of 0 (one class); piece classes see the kink
    lk = [("leaky", F(-1, 2))]
    assert _check_path(L, lk, [-2], [2], "hidden", "sign") == [(1,)]
    assert _check_path(L, lk, [-2], [2], "hidden", "piece") == [(0,), (1,)]
    # slope 2: f(z) = 2z < 0 for z < 0, the bit is z > 0; f > -1 from z > -1/2
    lk2 = [("leaky", F(2))]
    assert _check_path(L, lk2, [-2], [2], "hidden", -1.0) == [(0,), (1,)]
    r = space_folding(_net(L, lk2), [-2.0], [2.0], mode="exact", classes=-1.0)
    assert r.breakpoints == [F(3, 8)]


def test_hidden_only_is_the_projection_of_hidden_plus_output():
    rng = random.Random(3)
    for _ in range(10):
        layers = _layers(
            ([[rng.randint(-2, 2)] for _ in range(3)], [rng.randint(-1, 1) for _ in range(3)]),
            ([[rng.randint(-2, 2) for _ in range(3)] for _ in range(2)], [rng.randint(-1, 1) for _ in range(2)]),
            ([[rng.randint(-2, 2) for _ in range(2)] for _ in range(2)], [rng.randint(-1, 1) for _ in range(2)]),
        )
        acts = [("relu",), ("relu",)]
        hid = _check_path(layers, acts, [-2], [2], "hidden", "sign")
        both = _check_path(layers, acts, [-2], [2], "hidden+output", "sign")
        assert _dedup([p[:5] for p in both]) == hid
        assert _check_path(layers, acts, [-2], [2], [-1], "sign") == _dedup([p[5:] for p in both])


# ---------------------------------------------------------------------------
# measures of given walks
# ---------------------------------------------------------------------------
def test_spec_worked_examples():
    w = [(0, 0, 0), (1, 0, 0), (1, 1, 0), (0, 1, 0), (0, 1, 1)]
    assert ref_measure(w) == (HALF, 2, 4)  # the reference itself, on the spec's numbers
    assert ref_measure(w[::-1]) == (F(1, 4), 3, 4)
    assert ref_prefix(w)[1:] == [0, 0, F(1, 3), HALF]
    assert ref_chi([(0, 0, 0, 0), (1, 1, 0, 0), (0, 0, 1, 1)]) == F(2, 3)
    m = folding_measure(w)
    assert (m.chi, m.r1, m.r2) == (HALF, 2, 4)
    assert folding_measure(w[::-1]).chi == F(1, 4)
    assert prefix_curve(w).fractions()[1:] == [0, 0, F(1, 3), HALF]
    assert interaction_effect(w, 3) == HALF
    assert folding_measure([(0, 0, 0, 0), (1, 1, 0, 0), (0, 0, 1, 1)]).chi == F(2, 3)


walks = st.integers(1, 5).flatmap(
    lambda n: st.lists(st.tuples(*[st.integers(0, 2)] * n), min_size=1, max_size=9)
)


@given(st.lists(walks, min_size=1, max_size=4), st.booleans())
@settings(max_examples=80)
def test_walk_measures_match_reference(ws, as_bool):
    n = len(ws[0][0])
    ws = [[p[:n] + (0,) * (n - len(p)) for p in w] for w in ws]
    if as_bool:
        ws = [[tuple(int(v > 0) for v in p) for p in w] for w in ws]
    dtype = bool if as_bool else np.int64
    off = np.cumsum([0] + [len(w) for w in ws])
    batch = folding_measure_batch(np.array([p for w in ws for p in w], dtype=dtype), off)
    for i, w in enumerate(ws):
        chi, r1, r2 = ref_measure(w)
        dd = _dedup(w)
        D = _d(dd[0], dd[-1])
        m = folding_measure(np.array(w, dtype=dtype))
        assert (m.chi, m.r1, m.r2, m.displacement, m.n_regions) == (chi, r1, r2, D, len(dd))
        assert batch.measure(i) == m
        assert batch.prefix_max_exact(i) == max(ref_prefix(w))
        assert prefix_curve(np.array(w, dtype=dtype)).fractions() == ref_prefix(w)
        assert symmetric_folding(np.array(w, dtype=dtype)) == (chi + ref_chi(w[::-1])) / 2
        for k in range(1, len(w) + 1):
            want = ref_chi(w) - ref_chi(w[:k]) - ref_chi(w[k - 1:])
            assert interaction_effect(np.array(w, dtype=dtype), k) == want
        b = folding_bounds(np.array(w, dtype=dtype))
        if r2:
            assert (b.lower, b.upper, b.reversal_gap) == ((1 - F(D, r2)) / 2, 1 - F(D, r2), F(D, r2))
            # the spec's bounds hold on the reference values
            assert b.lower <= chi <= b.upper and abs(chi - ref_chi(w[::-1])) <= F(D, r2)
            assert (D > 0) or chi >= HALF
        else:
            assert (b.lower, b.upper, b.reversal_gap) == (0, 0, 0)
        assert 0 <= chi < 1 and ((chi == 0) == (ref_chi(w[::-1]) == 0))
        # flat iff every step moves its full length away from the start
        full = all(_d(dd[0], q) == _d(dd[0], p) + _d(p, q) for p, q in zip(dd[:-1], dd[1:]))
        assert (chi == 0) == full == m.is_flat


def test_flat_needs_more_than_a_non_decreasing_distance():
    # (00, 10, 01): distances from the start 0, 1, 1 never decrease, but the second
    # step flips the first unit back: r1 = 1, r2 = 3, chi = 2/3 (by hand)
    m = folding_measure([(0, 0), (1, 0), (0, 1)])
    assert (m.chi, m.r1, m.r2, m.is_flat) == (F(2, 3), 1, 3, False)


@given(st.lists(st.fractions(0, 1, max_denominator=12).filter(lambda v: v < 1), min_size=1, max_size=30))
@settings(max_examples=60)
def test_global_folding_matches_reference(values):
    g = global_folding(values)
    nz = [v for v in values if v > 0]
    assert g.phi == pytest.approx(float(ref_median(nz)) if nz else 0.0, abs=1e-15)
    assert g.n == len(values) and g.n_nonzero == len(nz)
    assert g.fraction_flat == pytest.approx((len(values) - len(nz)) / len(values))
    assert g.mean == pytest.approx(float(sum(values) / len(values)))
    assert g.max == float(max(values))
    srt = sorted(values)
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        h = (len(srt) - 1) * F(q)  # linear interpolation between order statistics
        lo = int(h)
        hi = min(lo + 1, len(srt) - 1)
        assert g.quantiles[q] == pytest.approx(float(srt[lo] + (h - lo) * (srt[hi] - srt[lo])), abs=1e-12)


# ---------------------------------------------------------------------------
# class-pair aggregation (TMLR Algorithm 2, both readings)
# ---------------------------------------------------------------------------
@given(nets(max_depth=2), st.data())
@settings(max_examples=15)
def test_class_pair_readings_match_reference(net_case, data):
    """Every class holds one point twice, so every path of a pair is the same
    segment and both readings follow from the reference walks alone."""
    layers, acts, d = net_case
    net = _net(layers, acts)
    C = data.draw(st.integers(2, 4))
    pts = [[data.draw(halves) for _ in range(d)] for _ in range(C)]
    X = np.array([p for p in pts for _ in range(2)], float)
    labels = [5 * c + 2 for c in range(C)]
    y = np.repeat(labels, 2)
    same = data.draw(st.booleans())
    ppp = data.draw(st.integers(1, 4))
    units = data.draw(st.sampled_from(["hidden", "hidden+output"]))
    mode = data.draw(st.sampled_from(["exact", "certified"]))
    res = class_pair_folding(net, X, y, paths_per_pair=ppp, seed=1, same_class=same, units=units,
                             mode=mode, chunk_size=data.draw(st.integers(1, 3)))
    pair_max, chis, pmax = {}, [], []
    for a in range(C):
        for b in range(C):
            if a == b and not same:
                continue
            w = ref_walk(layers, acts, pts[a], pts[b], units)[0]
            pair_max[(labels[a], labels[b])] = ref_chi(w)  # (0 when flat)
            chis += [ref_chi(w)] * ppp
            pmax += [max(ref_prefix(w))] * ppp
    assert res.pair_max_exact == pair_max
    assert res.pair_max_median == pytest.approx(float(ref_median(list(pair_max.values()))), abs=1e-15)
    nz = [v for v in pmax if v > 0]
    assert res.path_prefix_max_median == pytest.approx(float(ref_median(nz)) if nz else 0.0, abs=1e-15)
    nzc = [v for v in chis if v > 0]
    assert res.chi_summary.phi == pytest.approx(float(ref_median(nzc)) if nzc else 0.0, abs=1e-15)
    assert res.fraction_flat == pytest.approx((len(chis) - len(nzc)) / len(chis))
    assert res.n_paths == len(chis) and res.n_pairs == len(pair_max)
    for (a, b), v in pair_max.items():
        assert res.pair_max[labels.index(a), labels.index(b)] == float(v)


def test_class_pair_max_over_distinct_endpoints():
    """Two distinct points per class and many paths per pair: every one of the four
    endpoint combinations is drawn (probability of a miss < 1e-20), so the per-pair
    maximum of the non-zero chi is the maximum over the four reference walks."""
    net = zoo.sawtooth(3)
    L, acts = _frac_layers(net), [("relu",)] * net.depth
    P = {0: [F(0), F(1, 8)], 1: [F(1), F(3, 4)]}
    X = np.array([[float(v)] for c in (0, 1) for v in P[c]])
    y = np.array([0, 0, 1, 1])
    res = class_pair_folding(net, X, y, paths_per_pair=200, seed=3, mode="exact")
    for a, b in ((0, 1), (1, 0)):
        vals = [ref_chi(ref_walk(L, acts, [p], [q])[0]) for p in P[a] for q in P[b]]
        nz = [v for v in vals if v > 0]
        assert res.pair_max_exact[(a, b)] == (max(nz) if nz else 0)


# ---------------------------------------------------------------------------
# sampled folding (spec section 7)
# ---------------------------------------------------------------------------
def _grid_ref(layers, acts, x1, x2, n, units, classes):
    """Classes at t_i = i / (n - 1) in exact arithmetic (n - 1 a power of 2, so the
    grid points are the float ones)."""
    x1, x2 = [F(v) for v in x1], [F(v) for v in x2]
    return _dedup([_classes(layers, acts, _point(x1, x2, F(i, n - 1)), units, classes) for i in range(n)])


def _bisect_ref(layers, acts, x1, x2, eps, units, classes, budget=10**9):
    """The spec's bisection: split [ta, tb] until the end classes agree or
    tb - ta < eps (breadth first, leftmost first within the budget)."""
    x1, x2 = [F(v) for v in x1], [F(v) for v in x2]
    c = {t: _classes(layers, acts, _point(x1, x2, t), units, classes) for t in (F(0), F(1))}
    front = [(F(0), F(1))]
    while front:
        nxt = []
        for a, b in sorted(front):
            if c[a] != c[b] and b - a >= eps and len(c) < budget:
                m = (a + b) / 2
                c[m] = _classes(layers, acts, _point(x1, x2, m), units, classes)
                nxt += [(a, m), (m, b)]
        front = nxt
    return _dedup([c[t] for t in sorted(c)]), len(c)


def _grid_numpy(net, x1, x2, n, units):
    """The spec's grid for a ReLU net by plain numpy forward passes at the float
    points (1 - t) x1 + t x2, t = linspace(0, 1, n): bits z > 0 of the hidden layers
    (and of the logits)."""
    t = np.linspace(0.0, 1.0, n)[:, None]
    h = (1.0 - t) * np.asarray(x1) + t * np.asarray(x2)
    bits = []
    for l, (W, b) in enumerate(net.layers):
        z = h @ W.T + b
        if l < net.depth or units == "hidden+output":
            bits.append(z > 0)
        h = np.maximum(z, 0.0)
    return _dedup(np.concatenate(bits, axis=1))


@given(cases(), st.sampled_from([5, 9, 17]))
@settings(max_examples=40)
def test_grid_sampler_matches_reference(case, n):
    layers, acts, x1, x2, units, classes = case
    r = sampled_folding(_net(layers, acts), [float(v) for v in x1], [float(v) for v in x2], n_points=n,
                        units=units, classes=classes)
    want = _grid_ref(layers, acts, x1, x2, n, units, classes)
    assert _rows(r.walk(0)) == want
    assert r.measures.chi_exact(0) == ref_chi(want)
    assert r.n_evaluations.tolist() == [n]


@given(nets(), st.data())
@settings(max_examples=30)
def test_grid11_matches_numpy_forward_passes(net_case, data):
    """The authors' 11-point grid on ReLU nets against plain numpy forward passes at
    the float grid points (non-dyadic t = 0.1, 0.3, ...)."""
    layers, _, d = net_case
    acts = [("relu",)] * (len(layers) - 1)
    net = _net(layers, acts)
    x1 = [float(data.draw(halves)) for _ in range(d)]
    x2 = [float(data.draw(halves)) for _ in range(d)]
    units = data.draw(st.sampled_from(["hidden", "hidden+output"]))
    want = _grid_numpy(net, x1, x2, 11, units)
    r = sampled_folding(net, x1, x2, n_points=11, units=units)
    assert _rows(r.walk(0)) == want and r.measures.chi_exact(0) == ref_chi(want)


@given(cases())
@settings(max_examples=40)
def test_bisection_sampler_matches_reference(case):
    layers, acts, x1, x2, units, classes = case
    eps = F(1, 64)
    r = sampled_folding(_net(layers, acts), [float(v) for v in x1], [float(v) for v in x2], method="bisection",
                        eps=float(eps), units=units, classes=classes)
    want, n_eval = _bisect_ref(layers, acts, x1, x2, eps, units, classes)
    assert _rows(r.walk(0)) == want
    assert r.n_evaluations.tolist() == [n_eval]


def test_bisection_compares_classes_not_codes():
    """Old code bisected on the codes of all neurons.  a = relu(x - 1), b = relu(1 - x),
    g = relu(a + b - 1/2) on x: 0 -> 2.  The layer-1 class (bit of g) is 1 at both
    ends, so the spec's bisection (split until pi(ta) == pi(tb)) stops at once: walk
    [1], chi 0, 2 evaluations, though the exact walk is [1], [0], [1] (the layer-1
    class is not convex; bisection is a heuristic there)."""
    L = _layers(([[1], [-1]], [-1, 1]), ([[1, 1]], [F(-1, 2)]), ([[1]], [0]))
    acts = [("relu",), ("relu",)]
    net = _net(L, acts)
    assert ref_walk(L, acts, [0], [2], [1])[0] == [(1,), (0,), (1,)]
    r = sampled_folding(net, [0.0], [2.0], method="bisection", eps=1e-6, units=[1])
    assert _rows(r.walk(0)) == [(1,)] and r.n_evaluations.tolist() == [2]
    # all hidden units: the ends differ, bisection finds the exact walk (on 0 -> 9/4
    # no dyadic t lands on the boundary x = 1, t = 4/9)
    full = sampled_folding(net, [0.0], [2.25], method="bisection", eps=1e-6)
    assert _rows(full.walk(0)) == ref_walk(L, acts, [0], [F(9, 4)])[0]


@pytest.mark.parametrize("classes", ["sign", 0.5])
def test_bisection_budget_is_a_hard_limit(classes):
    """Old code split every frontier interval of a round while the path was under its
    budget, so max_evaluations=4 gave 5 evaluations and 6 gave 9 on sawtooth(3)."""
    net = zoo.sawtooth(3)
    L, acts = _frac_layers(net), [("relu",)] * net.depth
    for budget in range(2, 14):
        r = sampled_folding(net, [0.0], [1.0], method="bisection", max_evaluations=budget, classes=classes)
        want, n_eval = _bisect_ref(L, acts, [0], [1], F(1, 10**6), "hidden", classes, budget)
        assert r.n_evaluations.tolist() == [n_eval] and n_eval <= budget
        assert _rows(r.walk(0)) == want


def test_bisection_stops_below_float_spacing():
    """eps below the float spacing of t: an interval of two neighbouring floats has its
    midpoint at an end.  Old code split it again until the budget was spent (3000
    evaluations here, about 70 s per path at the default budget of 1e6)."""
    net = polyfold.PLNet([(np.array([[1.0]]), np.array([0.0])), (np.array([[1.0]]), np.array([0.0]))], ["relu"])
    for classes in (0.5, "sign"):
        r = sampled_folding(net, [-1.0], [1.0 - 2.0**-20], method="bisection", eps=1e-19,
                            max_evaluations=3000, classes=classes)
        assert r.n_evaluations[0] < 80  # about log2(1 / spacing of t near 3/4) + 2
        assert r.measures.n_regions.tolist() == [2]


def test_sampling_error_against_reference():
    net = zoo.sawtooth(3)
    L, acts = _frac_layers(net), [("relu",)] * net.depth
    a, b = F(1, 64), F(63, 64)
    err = sampling_error(net, [float(a)], [float(b)], n_points=9, mode="exact", units="hidden+output")
    ex = ref_walk(L, acts, [a], [b], "hidden+output")[0]
    gr = _grid_ref(L, acts, [a], [b], 9, "hidden+output", "sign")
    assert err.exact.chi_exact(0) == ref_chi(ex) and err.sampled.chi_exact(0) == ref_chi(gr)
    assert err.regions_missed.tolist() == [len(ex) - len(gr)]
    assert err.fraction_wrong == float(ref_chi(ex) != ref_chi(gr))
    assert err.chi_error[0] == pytest.approx(float(ref_chi(gr) - ref_chi(ex)))
    assert (err.units, err.classes) == ("hidden+output", "sign")  # the convention is recorded


# ---------------------------------------------------------------------------
# CantorNet on the authors' path (0, 3/4) -> (1, 3/4)
# ---------------------------------------------------------------------------
# k = 1, representation A, by hand: bits (3x-2 > 0, 1-3x > 0, y > 0 | A(x) > 0, y > 0)
# on (0, 1/3), (1/3, 2/3), (2/3, 1); output N = 1/4 - A(x)/2 > 0 on (1/6, 5/6)
CANTOR_A1 = [(0, 1, 1, 1, 1), (0, 0, 1, 0, 1), (1, 0, 1, 1, 1)]
CANTOR_A1_OUT = [(0, 1, 1, 1, 1, 0), (0, 1, 1, 1, 1, 1), (0, 0, 1, 0, 1, 1), (1, 0, 1, 1, 1, 1), (1, 0, 1, 1, 1, 0)]
# k = 2: the second step sees u = A(x): (A > 2/3, A < 1/3, 1 | A^2 > 0, 1) on the
# pieces (0,1/9), (1/9,2/9), (2/9,1/3), (1/3,2/3), (2/3,7/9), (7/9,8/9), (8/9,1)
_S1 = {"lo": (0, 1, 1, 1, 1), "mid": (0, 0, 1, 0, 1), "hi": (1, 0, 1, 1, 1)}
CANTOR_A2 = [_S1[a] + _S1[b] for a, b in (("lo", "hi"), ("lo", "mid"), ("lo", "lo"), ("mid", "lo"),
                                           ("hi", "lo"), ("hi", "mid"), ("hi", "hi"))]


@pytest.mark.parametrize("mode", ["exact", "certified", "float"])
def test_cantornet_A_by_hand(mode):
    x1, x2 = [0.0, 0.75], [1.0, 0.75]
    r = space_folding(cantornet(1, "A"), x1, x2, mode=mode)
    assert _rows(r.walk) == CANTOR_A1 and (r.chi, r.r1, r.r2) == (HALF, 2, 4)
    r = space_folding(cantornet(1, "A"), x1, x2, mode=mode, units="hidden+output")
    assert _rows(r.walk) == CANTOR_A1_OUT and (r.chi, r.r1, r.r2) == (HALF, 3, 6)
    # the authors' convention (ReLU output unit, 5k + 1 bits) gives the same walk
    r = space_folding(cantornet(1, "A", output_relu=True), x1, x2, mode=mode)
    assert _rows(r.walk) == CANTOR_A1_OUT
    r = space_folding(cantornet(2, "A"), x1, x2, mode=mode)
    assert _rows(r.walk) == CANTOR_A2 and (r.chi, r.r1, r.r2) == (F(2, 3), 4, 12)
    if mode == "exact":
        assert r.breakpoints == [F(v, 9) for v in (1, 2, 3, 6, 7, 8)]


@pytest.mark.parametrize("k", range(1, 8))
def test_cantornet_A_closed_form(k):
    """Representation A on the authors' path, by hand for every k.  Block j of the
    pattern (5 bits) is lo, mid or hi as u_j = A^(j-1)(x) lies in (0, 1/3), (1/3, 2/3)
    or (2/3, 1); two different block states are at Hamming distance 2.  At every
    boundary exactly one block changes (the next block sees A(u_j) near 0 on both
    sides), so the walk has 2^(k+1) - 1 regions and r2 = 2 (2^(k+1) - 2).  The start
    (x near 0) is (lo, hi, ..., hi); x = 3/4 has u_1 = 3/4 (hi) and u_j = 1/4 (lo)
    after it (A(1/4) = 1/4), so it differs in every block: r1 = 2k, and
    chi = 1 - k / (2^(k+1) - 2)."""
    net = cantornet(k, "A")
    for mode in ("exact", "certified"):
        r = space_folding(net, [0.0, 0.75], [1.0, 0.75], mode=mode)
        assert r.n_regions == 2 ** (k + 1) - 1
        assert (r.r1, r.r2) == (2 * k, 2 * (2 ** (k + 1) - 2))
        assert r.chi == 1 - F(k, 2 ** (k + 1) - 2)


def test_cantornet_grid11_by_hand():
    # the 11 points x = 0, 0.1, ..., 1 fall in every piece of k = 1 and k = 2 (and in
    # (0, 1/6), (1/6, 1/3), (5/6, 1) for the output bit); the ends x = 0, 1 have the
    # patterns of their pieces, so the grid finds the exact walk here
    x1, x2 = [0.0, 0.75], [1.0, 0.75]
    g = sampled_folding(cantornet(1, "A"), x1, x2, n_points=11)
    assert _rows(g.walk(0)) == CANTOR_A1 and g.measures.chi_exact(0) == HALF
    g = sampled_folding(cantornet(1, "A"), x1, x2, n_points=11, units="hidden+output")
    assert _rows(g.walk(0)) == CANTOR_A1_OUT
    g = sampled_folding(cantornet(2, "A"), x1, x2, n_points=11)
    assert _rows(g.walk(0)) == CANTOR_A2 and g.measures.chi_exact(0) == F(2, 3)


@pytest.mark.parametrize("k", [1, 2])
def test_cantornet_representations_match_reference(k):
    x1, x2 = [F(0), F(3, 4)], [F(1), F(3, 4)]
    chis = {}
    for rep in "ABC":
        net = cantornet(k, rep)
        L, acts = _frac_layers(net), [("relu",)] * net.depth
        for units in ("hidden", "hidden+output"):
            walk = ref_walk(L, acts, x1, x2, units)[0]
            for mode in ("exact", "certified"):
                r = space_folding(net, [0.0, 0.75], [1.0, 0.75], mode=mode, units=units)
                assert _rows(r.walk) == walk and r.chi == ref_chi(walk)
            grid = _grid_numpy(net, [0.0, 0.75], [1.0, 0.75], 11, units)
            g = sampled_folding(net, [0.0, 0.75], [1.0, 0.75], n_points=11, units=units)
            assert _rows(g.walk(0)) == grid
            chis[rep, units] = ref_chi(walk)
    # the authors' observation: more folding for A than for the larger B and C
    assert chis["A", "hidden"] > max(chis["B", "hidden"], chis["C", "hidden"])


# ---------------------------------------------------------------------------
# inputs found by the fuzz
# ---------------------------------------------------------------------------
def test_threshold_classes_of_a_net_without_hidden_layers():
    """Old code raised a raw ValueError ("need at least one array to concatenate")
    for units="hidden" with a threshold on a net with no hidden layer: there are no
    hidden columns, so the walk is one empty class (chi 0).  With the output units,
    logits x > 1/4 and 1/2 - x > 1/4 switch together at x = 1/4."""
    net = polyfold.PLNet([(np.array([[1.0], [-1.0]]), np.array([0.0, 0.5]))], [])
    L, acts = _frac_layers(net), []
    for mode in ("exact", "certified", "float"):
        r = space_folding(net, [-1.0], [1.0], mode=mode, classes=0.25)
        assert r.walk.shape == (1, 0) and r.chi == 0 and r.n_regions == 1
        r = space_folding(net, [-1.0], [1.0], mode=mode, units="hidden+output", classes=0.25)
        assert _rows(r.walk) == ref_walk(L, acts, [-1], [1], "hidden+output", 0.25)[0] == [(0, 1), (1, 0)]
    s = sampled_folding(net, [-1.0], [1.0], n_points=5, classes=0.25)
    assert s.walk(0).shape == (1, 0)
    assert space_folding_batch(net, np.zeros((0, 1)), np.zeros((0, 1)), classes=0.25).walks.shape == (0, 0)


def test_global_folding_of_measures_mixed_with_numbers():
    """Old code read a list as measures when its first item was a FoldingMeasure
    (AttributeError on a number after it) and rejected SpaceFolding items."""
    w = [(0, 0), (1, 0), (0, 0)]  # chi 1/2
    r = space_folding(zoo.sawtooth(2), [0.0], [1.0], mode="exact")  # chi 1/3
    g = global_folding([folding_measure(w), 0.25, r, F(0)])
    assert g.n == 4 and g.n_nonzero == 3 and g.phi == pytest.approx(1 / 3)
    assert global_folding([r]).max == pytest.approx(1 / 3)


@pytest.mark.parametrize("dtype", [bool, np.int64])
def test_batch_of_walks_of_no_units(dtype):
    """Old code read any empty array as 'no walks', so 3 rows of 0 units (the walks of
    a net without hidden layers under units="hidden") failed the offsets check; they
    are two walks of empty classes, each one region with chi 0, as folding_measure
    says for one of them."""
    b = folding_measure_batch(np.zeros((3, 0), dtype), [0, 2, 3])
    assert b.r1.tolist() == [0, 0] and b.r2.tolist() == [0, 0] and b.n_regions.tolist() == [1, 1]
    assert b.chi_exact() == [0, 0] == [folding_measure(np.zeros((2, 0), dtype)).chi, ref_chi([(), ()])]
    assert folding_measure_batch(np.zeros((0, 3), dtype), [0]).n_walks == 0
