"""Tests of polyfold.folding: walk measures, exact space folding, aggregation, sampling.

Expected values come from the spec's worked examples, walks derived by hand, and a
plain-Python reimplementation of the definitions (``_ref_*`` below).
"""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import polyfold
from polyfold import arith, zoo
from polyfold.exceptions import PolyfoldError, ShapeError, ValidationError
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
from polyfold.network import PLNet

SPEC_WALK = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1]]


# ---------------------------------------------------------------------------
# plain-Python reference of the definitions
# ---------------------------------------------------------------------------
def _ref_dedup(walk):
    out = []
    for p in walk:
        p = tuple(int(v) for v in p)
        if not out or out[-1] != p:
            out.append(p)
    return out


def _ref_d(p, q):
    return sum(1 for a, b in zip(p, q) if a != b)


def _ref_chi(walk):
    w = _ref_dedup(walk)
    r1 = max(_ref_d(w[0], p) for p in w)
    r2 = sum(_ref_d(a, b) for a, b in zip(w[:-1], w[1:]))
    return (Fraction(r2 - r1, r2) if r2 else Fraction(0)), r1, r2


walks = st.integers(1, 8).flatmap(
    lambda n: st.lists(st.lists(st.booleans(), min_size=n, max_size=n), min_size=1, max_size=12)
)


# ---------------------------------------------------------------------------
# spec worked examples
# ---------------------------------------------------------------------------
def test_spec_worked_example():
    m = folding_measure(SPEC_WALK)
    assert (m.chi, m.r1, m.r2, m.displacement, m.n_regions) == (Fraction(1, 2), 2, 4, 2, 5)
    rev = folding_measure(SPEC_WALK[::-1])
    assert (rev.chi, rev.r1, rev.r2) == (Fraction(1, 4), 3, 4)
    assert prefix_curve(SPEC_WALK).fractions()[1:] == [0, 0, Fraction(1, 3), Fraction(1, 2)]
    assert folding_measure([[0, 0, 0, 0], [1, 1, 0, 0], [0, 0, 1, 1]]).chi == Fraction(2, 3)
    assert interaction_effect(SPEC_WALK, 3) == Fraction(1, 2)
    assert symmetric_folding(SPEC_WALK) == Fraction(3, 8)


def test_single_region_is_flat_and_integer_classes():
    m = folding_measure([[1, 0, 1]])
    assert m.chi == 0 and m.r2 == 0 and m.is_flat
    # integer class labels: distance counts differing positions (0 -> 2 is one step)
    m = folding_measure(np.array([[0, 0], [2, 0], [2, 1], [0, 1]], dtype=np.int8))
    assert (m.r1, m.r2, m.chi) == (2, 3, Fraction(1, 3))


def test_bounds_closed_walk():
    b = folding_bounds([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]])
    assert (b.lower, b.upper, b.reversal_gap) == (Fraction(1, 2), Fraction(1), Fraction(0))
    assert folding_measure([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]).chi == Fraction(1, 2)


# ---------------------------------------------------------------------------
# properties of random walks
# ---------------------------------------------------------------------------
@given(walks)
def test_measure_matches_reference_and_range(walk):
    m = folding_measure(walk)
    chi, r1, r2 = _ref_chi(walk)
    assert (m.chi, m.r1, m.r2) == (chi, r1, r2)
    assert 0 <= m.chi < 1


@given(walks)
def test_bounds_hold(walk):
    m = folding_measure(walk)
    b = folding_bounds(walk)
    assert b.lower <= m.chi <= b.upper
    if m.r2:
        D = _ref_d(_ref_dedup(walk)[0], _ref_dedup(walk)[-1])
        assert b.upper == 1 - Fraction(D, m.r2)
        assert abs(m.chi - folding_measure(walk[::-1]).chi) <= Fraction(D, m.r2)
        if D == 0:
            assert m.chi >= Fraction(1, 2)


@given(walks, st.data())
def test_stability_under_repeats(walk, data):
    reps = data.draw(st.lists(st.integers(1, 3), min_size=len(walk), max_size=len(walk)))
    longer = [p for p, r in zip(walk, reps) for _ in range(r)]
    assert folding_measure(longer) == folding_measure(walk)
    assert interaction_effect(longer, 1) == 0  # Gamma_1 = (pi_1): I(1) = chi - 0 - chi


@given(walks)
def test_flatness_symmetric_and_prefix(walk):
    m = folding_measure(walk)
    assert (m.chi == 0) == (folding_measure(walk[::-1]).chi == 0)
    # flat iff every step moves its full length away from the start (a geodesic)
    w = _ref_dedup(walk)
    d0 = [_ref_d(w[0], p) for p in w]
    geodesic = all(d0[i + 1] - d0[i] == _ref_d(w[i], w[i + 1]) for i in range(len(w) - 1))
    assert (m.chi == 0) == geodesic
    pc = prefix_curve(walk)
    assert pc.fractions()[-1] == m.chi
    assert pc.fractions() == [_ref_chi(w[: j + 1])[0] for j in range(len(w))]
    assert float(pc.chi[-1]) == float(m.chi)


@given(walks, st.data())
def test_interaction_effect_definition(walk, data):
    k = data.draw(st.integers(1, len(walk)))
    expect = _ref_chi(walk)[0] - _ref_chi(walk[:k])[0] - _ref_chi(walk[k - 1 :])[0]
    assert interaction_effect(walk, k) == expect


@given(st.lists(walks, min_size=1, max_size=6).filter(lambda ws: len({len(w[0]) for w in ws}) == 1))
def test_batch_equals_one_by_one(ws):
    flat = np.array([p for w in ws for p in w], dtype=bool)
    off = np.concatenate([[0], np.cumsum([len(w) for w in ws])])
    b = folding_measure_batch(flat, off)
    for i, w in enumerate(ws):
        m = folding_measure(w)
        assert b.measure(i) == m
        assert b.chi[i] == float(m.chi)
        assert b.prefix_max_exact(i) == max(prefix_curve(w).fractions())
        assert b.prefix_max[i] >= b.chi[i]


# ---------------------------------------------------------------------------
# global folding
# ---------------------------------------------------------------------------
def test_global_folding_by_hand():
    g = global_folding([0.0, 0.5, 0.25, 0.0, 0.75, Fraction(1, 2)])
    assert g.phi == 0.5  # median of 0.25, 0.5, 0.5, 0.75
    assert g.n == 6 and g.n_nonzero == 4
    assert g.fraction_flat == pytest.approx(2 / 6)
    assert g.mean == pytest.approx(2.0 / 6)
    assert g.mean_nonzero == pytest.approx(0.5)
    assert g.max == 0.75
    assert g.quantiles[0.5] == pytest.approx(np.quantile([0, 0.5, 0.25, 0, 0.75, 0.5], 0.5))
    assert g.quantiles_nonzero[0.25] == pytest.approx(np.quantile([0.25, 0.5, 0.5, 0.75], 0.25))
    flat = global_folding([0.0, 0.0])
    assert flat.phi == 0.0 and flat.fraction_flat == 1.0 and flat.quantiles_nonzero == {}


@given(st.lists(st.integers(0, 20), min_size=1, max_size=30))
def test_global_folding_quantiles_match_numpy(ints):
    v = np.array(ints) / 21.0
    g = global_folding(v)
    for q, val in g.quantiles.items():
        assert val == pytest.approx(np.quantile(v, q))
    nz = v[v > 0]
    assert g.phi == (pytest.approx(np.median(nz)) if len(nz) else 0.0)


# ---------------------------------------------------------------------------
# sawtooth walks derived by hand
# ---------------------------------------------------------------------------
# Layer l computes ReLU(y), ReLU(y - 1/2) of y = T^(l-1)(x) (T the tent map).
SAW2 = [[1, 0, 1, 0], [1, 0, 1, 1], [1, 1, 1, 1], [1, 1, 1, 0]]  # pieces of 1/4
SAW3 = [  # pieces of 1/8
    [1, 0, 1, 0, 1, 0],
    [1, 0, 1, 0, 1, 1],
    [1, 0, 1, 1, 1, 1],
    [1, 0, 1, 1, 1, 0],
    [1, 1, 1, 1, 1, 0],
    [1, 1, 1, 1, 1, 1],
    [1, 1, 1, 0, 1, 1],
    [1, 1, 1, 0, 1, 0],
]


@pytest.mark.parametrize("mode", ["exact", "certified", "float"])
def test_sawtooth_walks_by_hand(mode):
    r = space_folding(zoo.sawtooth(2), [0.0], [1.0], mode=mode)
    assert r.walk.astype(int).tolist() == SAW2
    assert (r.chi, r.r1, r.r2) == (Fraction(1, 3), 2, 3)
    r = space_folding(zoo.sawtooth(3), [0.0], [1.0], mode=mode)
    assert r.walk.astype(int).tolist() == SAW3
    assert (r.chi, r.r1, r.r2) == (Fraction(4, 7), 3, 7)
    assert r.chi_reversed == _ref_chi(SAW3[::-1])[0]
    assert r.chi_symmetric == (r.chi + r.chi_reversed) / 2
    assert r.prefix.fractions() == [_ref_chi(SAW3[: j + 1])[0] for j in range(8)]
    if mode == "exact":
        assert r.breakpoints == [Fraction(j, 8) for j in range(1, 8)]


def test_sawtooth_output_and_threshold_by_hand():
    net = zoo.sawtooth(2)
    # output T^2(x) > 0 except at 0, 1/2, 1: the output bit is 1 on every piece
    r = space_folding(net, [0.0], [1.0], mode="exact", units="hidden+output")
    assert r.walk.astype(int).tolist() == [p + [1] for p in SAW2]
    # tau = 1/4: x > 1/4, x > 3/4 | T > 1/4 on (1/8, 7/8), T > 3/4 on (3/8, 5/8) |
    # T^2 > 1/4 on (1/16, 7/16) and (9/16, 15/16)
    expect = [
        [0, 0, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 1, 0, 1], [1, 0, 1, 0, 1],
        [1, 0, 1, 1, 1], [1, 0, 1, 1, 0], [1, 0, 1, 1, 1], [1, 0, 1, 0, 1],
        [1, 1, 1, 0, 1], [1, 1, 0, 0, 1], [1, 1, 0, 0, 0],
    ]
    bps = [Fraction(v, 16) for v in (1, 2, 4, 6, 7, 9, 10, 12, 14, 15)]
    for mode in ("exact", "certified", "float"):
        r = space_folding(net, [0.0], [1.0], mode=mode, units="hidden+output", classes=0.25)
        assert r.walk.astype(int).tolist() == expect
        assert r.chi == _ref_chi(expect)[0]
        if mode == "exact":
            assert r.breakpoints == bps
        else:
            np.testing.assert_allclose(r.breakpoints, [float(b) for b in bps], atol=1e-12)
    # a layer subset: only the output layer (index depth = 2, or -1)
    r = space_folding(net, [0.0], [1.0], mode="exact", units=[-1], classes=0.25)
    assert r.walk.astype(int).ravel().tolist() == [0, 1, 0, 1, 0]
    r = space_folding(net, [0.0], [1.0], mode="exact", units=[1])
    assert r.walk.astype(int).tolist() == [[1, 0], [1, 1], [1, 0]]


def _one_neuron():
    return PLNet.from_arrays([(np.array([[1.0]]), np.array([0.0])), (np.array([[1.0]]), np.array([0.0]))])


def test_thresholds_do_not_order_class_counts():
    """Counter-examples to 'a smaller threshold never gives fewer classes' (spec
    section 1), derived by hand for the one-neuron net h = ReLU(x)."""
    net = _one_neuron()
    n = lambda a, b, tau: space_folding(net, [a], [b], mode="exact", classes=tau).n_regions  # noqa: E731
    assert n(0.0, 1.0, 0.0) == 1 and n(0.0, 1.0, 0.5) == 2  # larger tau, more classes
    assert n(-1.0, 1.0, 0.0) == 2 and n(-1.0, 1.0, 2.0) == 1  # larger tau, fewer classes
    # for ReLU, f >= 0 > tau: every negative threshold gives one class
    r = space_folding(zoo.sawtooth(3), [0.0], [1.0], mode="exact", classes=-0.5)
    assert r.n_regions == 1 and r.walk.all()


def test_piece_classes_hardtanh():
    # one hard-tanh neuron z = x on [-2, 2]: pieces (z <= -1, -1 < z <= 1, z > 1)
    net = PLNet([(np.array([[1.0]]), np.array([0.0])), (np.array([[1.0]]), np.array([0.0]))], ["hardtanh"])
    r = space_folding(net, [-2.0], [2.0], mode="exact", classes="piece")
    assert r.walk.ravel().tolist() == [0, 1, 2]
    assert r.breakpoints == [Fraction(1, 4), Fraction(3, 4)]  # z = -2 + 4t = -1, 1
    s = space_folding(net, [-2.0], [2.0], mode="exact", classes="sign")
    assert s.walk.ravel().tolist() == [False, True] and s.breakpoints == [Fraction(1, 2)]


# ---------------------------------------------------------------------------
# splitting checked by exact evaluation
# ---------------------------------------------------------------------------
def _exact_classes(net, t_values, a, b, units_out, tau):
    """Classes at exact parameters t on the segment a -> b (1-D input)."""
    pts = np.array([[arith.to_fmpq(a) + arith.to_fmpq(t) * (arith.to_fmpq(b) - arith.to_fmpq(a))] for t in t_values], dtype=object)
    zs = net.forward_exact(pts)
    cols = []
    q = arith.to_fmpq(tau)
    for l, z in enumerate(zs[:-1]):
        h = net.activations[l].apply(z)
        cols.append(np.asarray(h > q, bool))
    if units_out:
        cols.append(np.asarray(zs[-1] > q, bool))
    return np.concatenate(cols, axis=1)


small_nets = st.builds(
    lambda seed, w: zoo.random_mlp((w, w), 1, output_dim=2, seed=seed, integer=True),
    st.integers(0, 10_000),
    st.integers(1, 3),
)


@given(small_nets, st.sampled_from([0.0, 0.5, 1.0, -0.5]), st.booleans())
def test_split_walk_matches_exact_evaluation(net, tau, with_out):
    a, b = -2.0, 2.0
    units = "hidden+output" if with_out else "hidden"
    r = space_folding(net, [a], [b], mode="exact", units=units, classes=tau)
    ts = [Fraction(0)] + list(r.breakpoints) + [Fraction(1)]
    # one point inside each region of the walk, off the midpoint: a unit may touch
    # its threshold inside a region without changing sign (not a breakpoint), and
    # such points of these small integer nets have small denominators, like 1/2
    w = Fraction(499, 997)
    mids = [x + w * (y - x) for x, y in zip(ts[:-1], ts[1:])]
    assert np.array_equal(_exact_classes(net, mids, a, b, with_out, tau), r.walk)
    # dense exact samples (denominator 997 avoids the nets' boundaries) see a
    # subsequence of the walk
    dense = _exact_classes(net, [Fraction(i, 997) for i in range(1, 997, 3)], a, b, with_out, tau)
    rows = [tuple(p) for p in r.walk]
    j = 0
    for p in _ref_dedup(dense):
        while j < len(rows) and rows[j] != tuple(bool(v) for v in p):
            j += 1
        assert j < len(rows)
    cert = space_folding(net, [a], [b], mode="certified", units=units, classes=tau)
    assert np.array_equal(cert.walk, r.walk) and cert.chi == r.chi


@given(st.integers(0, 10_000))
def test_batch_equals_single_paths(seed):
    net = zoo.random_mlp((4, 3), 2, seed=seed, integer=True)
    rng = np.random.default_rng(seed)
    S = rng.integers(-3, 4, (4, 2)).astype(float)
    E = rng.integers(-3, 4, (4, 2)).astype(float) + 0.5
    for units in ("hidden", "hidden+output"):
        b = space_folding_batch(net, S, E, mode="exact", units=units)
        c = space_folding_batch(net, S, E, mode="certified", units=units)
        assert b.chi_exact() == c.chi_exact()
        for i in range(4):
            r = space_folding(net, S[i], E[i], mode="exact", units=units)
            assert b.chi_exact(i) == r.chi
            assert np.array_equal(b.walk(i), r.walk)
            assert b.breakpoints(i) == r.breakpoints
        rev = b.reversed_measures()
        for i in range(4):
            assert rev.chi_exact(i) == space_folding(net, E[i], S[i], mode="exact", units=units).chi


def test_digits_certified_matches_exact():
    net = zoo.digits_mlp("6x10")
    from polyfold.datasets import load_digits_split

    _, _, X, y = load_digits_split()
    S, E = X[:3], X[3:6]
    c = space_folding_batch(net, S, E, mode="certified")
    e = space_folding_batch(net, S, E, mode="exact")
    assert c.chi_exact() == e.chi_exact()
    assert np.array_equal(c.walks, e.walks)


# ---------------------------------------------------------------------------
# class pairs
# ---------------------------------------------------------------------------
def test_class_pair_folding_by_hand():
    net = zoo.sawtooth(3)
    pts = {0: 0.05, 1: 0.55, 2: 0.95}
    X = np.array([[pts[c]] for c in (0, 0, 1, 1, 2, 2)])
    y = np.array([0, 0, 1, 1, 2, 2])
    res = class_pair_folding(net, X, y, paths_per_pair=7, seed=3, mode="exact", chunk_size=3)
    # every path of pair (a, b) is the same segment: its chi and prefix max are
    # the reference values of the walk
    chis, pmax = {}, []
    for a in range(3):
        for b in range(3):
            if a == b:
                assert np.isnan(res.pair_max[a, b])
                continue
            w = space_folding(net, [pts[a]], [pts[b]], mode="exact").walk
            chi = _ref_chi(w)[0]
            chis[a, b] = chi
            pmax += [max(_ref_chi(w[: j + 1])[0] for j in range(len(w)))] * 7
            assert res.pair_max_exact[(a, b)] == chi
            assert res.pair_fraction_flat[a, b] == (1.0 if chi == 0 else 0.0)
    assert res.pair_max_median == pytest.approx(float(np.median([float(v) for v in chis.values()])))
    nz = [float(v) for v in pmax if v > 0]
    assert res.path_prefix_max_median == pytest.approx(float(np.median(nz)))
    assert res.n_paths == 42 and res.n_pairs == 6
    only = class_pair_folding(net, X, y, paths_per_pair=2, seed=3, reading="pair_max_median")
    assert only.path_prefix_max_median is None and only.pair_max_median is not None


def test_class_pair_seed_and_chunks():
    net = zoo.random_mlp((5, 5), 2, seed=0)
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, (30, 2))
    y = np.arange(30) % 3
    a = class_pair_folding(net, X, y, paths_per_pair=20, seed=5, chunk_size=7)
    b = class_pair_folding(net, X, y, paths_per_pair=20, seed=5, chunk_size=20)
    np.testing.assert_array_equal(a.pair_max, b.pair_max)
    c = class_pair_folding(net, X, y, paths_per_pair=20, seed=5, pairs=[(2, 1)])
    assert c.pair_max[2, 1] == a.pair_max[2, 1] and c.n_pairs == 1
    assert np.isnan(c.pair_max[0, 1])


# ---------------------------------------------------------------------------
# sampled counterparts
# ---------------------------------------------------------------------------
def test_grid_walk_by_hand():
    # sawtooth(3) at t = 0, 0.1, ..., 1: the samples at 0, 0.5 and 1 sit on
    # boundaries (z == 0 counts inactive), derived by hand
    grid = [
        [0, 0, 0, 0, 0, 0], [1, 0, 1, 0, 1, 0], [1, 0, 1, 0, 1, 1], [1, 0, 1, 1, 1, 1],
        [1, 0, 1, 1, 1, 0], [1, 0, 1, 1, 0, 0], [1, 1, 1, 1, 1, 0], [1, 1, 1, 1, 1, 1],
        [1, 1, 1, 0, 1, 1], [1, 1, 1, 0, 1, 0], [1, 1, 0, 0, 0, 0],
    ]
    s = sampled_folding(zoo.sawtooth(3), [0.0], [1.0], n_points=11)
    assert s.walk(0).astype(int).tolist() == grid
    assert s.measures.chi_exact(0) == _ref_chi(grid)[0]
    # the same with the generic sampler (output units force it): output bit T^3 > 0
    g = sampled_folding(zoo.sawtooth(3), [0.0], [1.0], n_points=11, units="hidden+output")
    assert g.walk(0)[:, :6].astype(int).tolist() == grid


def test_bisection_finds_every_region():
    net = zoo.sawtooth(4)
    a, b = [0.0123], [0.9871]  # no dyadic bisection point lands on a boundary
    e = space_folding(net, a, b, mode="exact")
    for units in ("hidden", "hidden+output"):
        s = sampled_folding(net, a, b, method="bisection", eps=1e-9, units=units)
        ex = space_folding(net, a, b, mode="exact", units=units)
        assert np.array_equal(s.walk(0), ex.walk)
    err = sampling_error(net, a, b, method="bisection", eps=1e-9)
    assert err.abs_error_max == 0 and err.fraction_wrong == 0 and err.regions_missed.tolist() == [0]
    g = sampling_error(net, a, b, n_points=11)
    assert g.regions_missed.tolist() == [e.n_regions - g.sampled.n_regions[0]]
    assert g.chi_error[0] == pytest.approx(g.sampled.chi[0] - float(e.chi))
    # bisection from 0.01 to 0.99 samples t = 1/2, i.e. x = 1/2, a boundary point
    # whose own pattern (z == 0 inactive) is not on the exact walk
    s = sampled_folding(net, [0.01], [0.99], method="bisection", eps=1e-9)
    assert s.measures.n_regions[0] == 16 + 1


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "walk, exc",
    [
        ([[0, 1], [1]], ShapeError),
        (np.zeros((0, 3), bool), ShapeError),
        ([0, 1, 1], ShapeError),
        ([[0.5, 1.0]], ValidationError),
        ("0101", ValidationError),
        ([["a", "b"]], ValidationError),
    ],
)
def test_bad_walks(walk, exc):
    with pytest.raises(exc, match="patterns"):
        folding_measure(walk)
    assert issubclass(exc, PolyfoldError)


def test_bad_batch_and_values():
    P = np.zeros((4, 2), bool)
    with pytest.raises(ShapeError, match="offsets"):
        folding_measure_batch(P, [0, 2, 2, 4])  # an empty walk
    with pytest.raises(ShapeError, match="offsets"):
        folding_measure_batch(P, [0, 3])
    with pytest.raises(ShapeError, match="offsets"):
        folding_measure_batch(P, [[0, 4]])
    with pytest.raises(ValidationError, match="k must"):
        interaction_effect(SPEC_WALK, 6)
    with pytest.raises(ShapeError, match="values"):
        global_folding([])
    with pytest.raises(ValidationError, match=r"\[0, 1\)"):
        global_folding([0.2, 1.0])


def test_bad_paths_units_classes():
    net = zoo.sawtooth(2)
    with pytest.raises(ShapeError, match="x1"):
        space_folding(net, [0.0, 1.0], [1.0])
    with pytest.raises(ShapeError, match="x2"):
        space_folding(net, [0.0], [[1.0]])
    with pytest.raises(ShapeError, match="starts"):
        space_folding_batch(net, np.zeros((2, 2)), np.zeros((2, 2)))
    for units in ("all", [5], [], [True], "output"):
        with pytest.raises(ValidationError, match="units"):
            space_folding(net, [0.0], [1.0], units=units)
    for classes in ("bits", None, float("nan"), True):
        with pytest.raises(ValidationError, match="classes"):
            space_folding(net, [0.0], [1.0], classes=classes)
    with pytest.raises(ValidationError, match="mode"):
        space_folding(net, [0.0], [1.0], mode="fast")
    with pytest.raises(ValidationError, match="net"):
        space_folding("net", [0.0], [1.0])
    with pytest.raises(ValidationError, match="method"):
        sampled_folding(net, [0.0], [1.0], method="random")
    with pytest.raises(ValidationError, match="eps"):
        sampled_folding(net, [0.0], [1.0], method="bisection", eps=2.0)
    with pytest.raises(ValidationError, match="n_points"):
        sampled_folding(net, [0.0], [1.0], n_points=1)


def test_bad_class_pair_input():
    net = zoo.sawtooth(2)
    X = np.array([[0.1], [0.2], [0.3], [0.4], [0.5]])
    with pytest.raises(ValidationError, match="at least 2 samples"):
        class_pair_folding(net, X, np.array([0, 0, 1, 1, 2]), paths_per_pair=2)
    with pytest.raises(ValidationError, match="at least 2 classes"):
        class_pair_folding(net, X, np.zeros(5, int), paths_per_pair=2)
    with pytest.raises(ShapeError, match="y must"):
        class_pair_folding(net, X, np.zeros(4, int), paths_per_pair=2)
    with pytest.raises(ShapeError, match="X must"):
        class_pair_folding(net, np.zeros((4, 2)), np.array([0, 0, 1, 1]), paths_per_pair=2)
    y = np.array([0, 0, 1, 1, 1])
    with pytest.raises(ValidationError, match="reading"):
        class_pair_folding(net, X, y, paths_per_pair=2, reading="median")
    with pytest.raises(ValidationError, match="paths_per_pair"):
        class_pair_folding(net, X, y, paths_per_pair=0)
    with pytest.raises(ValidationError, match="pairs"):
        class_pair_folding(net, X, y, paths_per_pair=2, pairs=[(0, 7)])
    with pytest.raises(ValidationError, match="distinct"):
        class_pair_folding(net, X, y, paths_per_pair=2, pairs=[(1, 1)])


def test_top_level_exports():
    assert polyfold.folding_measure is folding_measure
    assert polyfold.class_pair_folding is class_pair_folding


def test_class_pair_same_class_option():
    net = zoo.sawtooth(3)
    X = np.array([[0.05], [0.3], [0.55], [0.95]])
    y = np.array([0, 0, 1, 1])
    res = class_pair_folding(net, X, y, paths_per_pair=5, seed=0, same_class=True, mode="exact")
    assert res.n_pairs == 4 and not np.isnan(res.pair_max).any()
    base = class_pair_folding(net, X, y, paths_per_pair=5, seed=0, mode="exact")
    assert res.pair_max[0, 1] == base.pair_max[0, 1]  # same draws for a pair either way


# ---------------------------------------------------------------------------
# experiments
# ---------------------------------------------------------------------------
def test_depth_experiment_digits_small():
    from polyfold.experiments import depth_experiment

    res = depth_experiment(["2x30", "10x6"], paths_per_pair=3, grid_points=(11, 100), error_paths=20)
    assert [r.arch for r in res.rows] == ["2x30", "10x6"]
    for r in res.rows:
        cp = res.results[r.arch]
        assert r.test_accuracy == zoo.digits_mlp(r.arch, return_info=True)[1]["test_accuracy"]
        assert r.pair_max_median == cp.pair_max_median
        assert r.path_prefix_max_median == cp.path_prefix_max_median
        assert (r.depth, r.width) == {"2x30": (2, 30), "10x6": (10, 6)}[r.arch]
        assert r.n_paths == 90 * 3 and set(r.grid_errors) == {11, 100}
        assert 0 <= r.grid_errors[100]["abs_error_mean"] <= r.grid_errors[100]["abs_error_max"] < 1
    assert "pairmax" in res.table() and len(res.as_dict()["rows"]) == 2


def _fake_mnist(path, n_train=300, n_test=60, seed=0):
    rng = np.random.default_rng(seed)
    proto = rng.integers(0, 256, (10, 28, 28))
    ytr, yte = np.arange(n_train) % 10, np.arange(n_test) % 10
    noise = lambda n: rng.integers(-20, 21, (n, 28, 28))  # noqa: E731
    xtr = np.clip(proto[ytr] + noise(n_train), 0, 255).astype(np.uint8)
    xte = np.clip(proto[yte] + noise(n_test), 0, 255).astype(np.uint8)
    np.savez(path, x_train=xtr, y_train=ytr.astype(np.uint8), x_test=xte, y_test=yte.astype(np.uint8))


def test_depth_experiment_on_local_mnist_file(tmp_path, monkeypatch):
    from polyfold.experiments import depth_experiment, experiment_nets

    monkeypatch.setenv("POLYFOLD_CACHE", str(tmp_path / "cache"))
    f = tmp_path / "mnist.npz"
    _fake_mnist(f)
    res = depth_experiment(["2x10"], data=f, paths_per_pair=2, epochs=10, grid_points=(11,), error_paths=10)
    assert res.data == "mnist:mnist.npz" and res.results["2x10"].n_pairs == 90
    assert res.rows[0].test_accuracy > 0.5  # well-separated prototypes
    cached = list((tmp_path / "cache").glob("mnist_*_2x10_seed0_ep10.npz"))
    assert len(cached) == 1
    (_, net1, _), = experiment_nets(["2x10"], f, epochs=10)
    (_, net2, _), = experiment_nets(["2x10"], f, epochs=10, cache=False)
    assert net1 == net2 and net1.input_dim == 784


def test_experiment_data_errors(tmp_path):
    from polyfold.experiments import load_experiment_data, train_mlp

    with pytest.raises(ValidationError, match="MNIST path"):
        load_experiment_data(tmp_path / "missing.npz")
    with pytest.raises(ValidationError, match="tuple"):
        load_experiment_data((np.zeros((3, 2)), np.zeros(3)))
    with pytest.raises(ShapeError, match="columns"):
        load_experiment_data((np.zeros((3, 2)), np.zeros(3), np.zeros((3, 4)), np.zeros(3)))
    with pytest.raises(ShapeError, match="y_train"):
        load_experiment_data((np.zeros((3, 2)), np.zeros(2), np.zeros((3, 2)), np.zeros(3)))
    with pytest.raises(ValidationError, match="data must"):
        load_experiment_data(42)
    with pytest.raises(ShapeError, match="y must"):
        train_mlp(np.zeros((4, 2)), np.zeros(3), "1x2")
    X = np.random.default_rng(0).normal(size=(40, 2))
    y = np.where(X[:, 0] > 0, 3, 7)  # labels other than 0..k-1
    net, info = train_mlp(X, y, "1x8", epochs=40, X_test=X, y_test=y)
    assert info["test_accuracy"] == info["train_accuracy"] > 0.8


def test_global_folding_accepts_results():
    b = folding_measure_batch(np.array(SPEC_WALK + SPEC_WALK[::-1], bool), [0, 5, 10])
    assert global_folding(b).phi == pytest.approx((0.5 + 0.25) / 2)
    assert global_folding([folding_measure(SPEC_WALK)]).max == 0.5
    r = space_folding_batch(zoo.sawtooth(3), [[0.0], [0.0]], [[1.0], [0.5]], mode="exact")
    assert global_folding(r).max == pytest.approx(4 / 7)


def test_float_walk_counts_a_logit_that_is_zero_along_a_piece_as_not_above_zero():
    # x(t) = (2t, 1 - 3t); h = relu(2 x2 - 1) = relu(1 - 6t), zero for t > 1/6; logits
    # o0 = 1 - 1.25 h (zero at h = 0.8, t = 1/30), o1 = 2 h (exactly 0 for t > 1/6,
    # though interpolated ends give about 1e-17), o2 = 1/4.  Walk by hand, bits
    # (h, o0, o1, o2): [1,0,1,1] -> [1,1,1,1] at 1/30 -> [0,1,0,1] at 1/6.
    net = polyfold.PLNet.from_arrays([(np.array([[0.0, 2.0]]), np.array([-1.0])),
                                      (np.array([[-1.25], [2.0], [0.0]]), np.array([1.0, 0.0, 0.25]))])
    want = [[1, 0, 1, 1], [1, 1, 1, 1], [0, 1, 0, 1]]
    for mode in ("float", "certified", "exact"):
        r = polyfold.space_folding(net, [0.0, 1.0], [2.0, -2.0], mode=mode, units="hidden+output")
        assert r.walk.astype(int).tolist() == want, mode
        assert np.allclose(np.asarray(r.breakpoints, float), [1 / 30, 1 / 6])


def test_float_walk_with_a_threshold_met_along_a_piece():
    # x(t) = (0, 1.75 (1 - t), -1.5 + 2.75 t); h = hardtanh_[0, 2](z) with z0 = -1.25 - t
    # (h0 = 0) and z1 = -5.125 + 5.375 t (h1 > 0 from t = 41/43).  Classes -1 (bit:
    # value > -1): h0, h1 and o0 = 3 + 0.5 h1 always 1, o1 = -1.5 always 0, and
    # o2 = 2 h1 - h0 - 1 sits exactly at -1 until t = 41/43 (bit 0, not 1 from rounding)
    from fractions import Fraction

    net = polyfold.PLNet.from_arrays([(np.array([[0.0, -1.0, -1.0], [1.0, -1.5, 1.0]]), np.array([-1.0, -1.0])),
                                      (np.array([[2.0, 0.5], [0.0, 0.0], [-1.0, 2.0]]), np.array([3.0, -1.5, -1.0]))],
                                     polyfold.HardTanh(0.0, 2.0))
    x1, x2 = [0.0, 1.75, -1.5], [0.0, 0.0, 1.25]
    ex = polyfold.space_folding(net, x1, x2, mode="exact", units="hidden+output", classes=-1.0)
    fl = polyfold.space_folding(net, x1, x2, mode="float", units="hidden+output", classes=-1.0)
    assert ex.walk.astype(int).tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 0, 1]]
    assert fl.walk.astype(int).tolist() == ex.walk.astype(int).tolist()
    assert Fraction(float(fl.breakpoints[0])) == Fraction(float(Fraction(41, 43)))


def test_sign_classes_of_a_negative_slope_leaky_unit_follow_f():
    # f(z) = z for z > 0, -z/2 for z < 0: f(z) > 0 on both sides of z = 0, so the sign
    # class (bit = f(z) > 0, the spec's definition) is 1 along x: -1 -> 1 except at the
    # single point 0: one class, chi = 0; a ReLU's classes differ on the two sides
    leaky = polyfold.PLNet.from_arrays([(np.ones((1, 1)), np.zeros(1)), (np.ones((1, 1)), np.zeros(1))],
                                       activation=polyfold.LeakyReLU(-0.5))
    for mode in ("float", "certified", "exact"):
        r = polyfold.space_folding(leaky, [-1.0], [1.0], mode=mode)
        assert r.walk.astype(int).tolist() == [[1]], mode
    # (10 grid points miss x = 0, where f = 0; the sampler uses the same rule)
    assert polyfold.sampled_folding(leaky, [-1.0], [1.0], n_points=10).measures.r2.tolist() == [0]
    relu = polyfold.PLNet.from_arrays([(np.ones((1, 1)), np.zeros(1)), (np.ones((1, 1)), np.zeros(1))])
    assert polyfold.space_folding(relu, [-1.0], [1.0], mode="exact").walk.astype(int).tolist() == [[0], [1]]
