"""Segment crossings of graph networks (convolutions, max units, skip connections).

Independent expectations: a CNN expanded by hand into dense matrices (the expansion is
written here, with explicit loops), hand-derived breakpoints of max units, exact forward
passes at exact piece midpoints, and dense sampling as a lower bound.
"""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import polyfold
from polyfold import arith
from polyfold.graph import GraphBuilder

F = Fraction


# ---------------------------------------------------------------------------
# a CNN and its dense expansion, written independently of polyfold's operators
# ---------------------------------------------------------------------------
def conv_matrix(weight, in_shape, stride, pad):
    O, C, kh, kw = weight.shape
    _, H, W = in_shape
    Ho = (H + 2 * pad - kh) // stride + 1
    Wo = (W + 2 * pad - kw) // stride + 1
    M = np.zeros((O * Ho * Wo, C * H * W))
    for o in range(O):
        for i in range(Ho):
            for j in range(Wo):
                row = (o * Ho + i) * Wo + j
                for c in range(C):
                    for a in range(kh):
                        for b in range(kw):
                            h, w = i * stride - pad + a, j * stride - pad + b
                            if 0 <= h < H and 0 <= w < W:
                                M[row, (c * H + h) * W + w] += weight[o, c, a, b]
    return M, (O, Ho, Wo)


def avg_matrix(in_shape, k):
    C, H, W = in_shape
    Ho, Wo = H // k, W // k
    M = np.zeros((C * Ho * Wo, C * H * W))
    for c in range(C):
        for i in range(Ho):
            for j in range(Wo):
                for a in range(k):
                    for b in range(k):
                        M[(c * Ho + i) * Wo + j, (c * H + i * k + a) * W + j * k + b] = 1.0 / (k * k)
    return M, (C, Ho, Wo)


def small_cnn(seed=0):
    rng = np.random.default_rng(seed)
    w1 = rng.integers(-3, 4, size=(2, 1, 3, 3)).astype(float)
    b1 = rng.integers(-2, 3, size=2) / 2.0
    w2 = rng.integers(-2, 3, size=(3, 2, 2, 2)).astype(float)
    b2 = rng.integers(-2, 3, size=3) / 4.0
    Wout = rng.integers(-3, 4, size=(2, 3 * 1 * 1)).astype(float)
    bout = np.array([0.5, -0.25])
    g = GraphBuilder((1, 5, 5))
    h = g.relu(g.conv(g.input, w1, b1, stride=1, padding=1))  # 2x5x5
    h = g.avg_pool(h, 2)  # 2x2x2
    h = g.relu(g.conv(h, w2, b2))  # 3x1x1
    net = g.build(g.dense(g.flatten(h), Wout, bout))
    # dense expansion
    M1, s1 = conv_matrix(w1, (1, 5, 5), 1, 1)
    A, s2 = avg_matrix(s1, 2)
    M2, s3 = conv_matrix(w2, s2, 1, 0)
    layers = [(M1, np.repeat(b1, 25)), (M2 @ A, np.repeat(b2, 1)), (Wout, bout)]
    return net, polyfold.PLNet.from_arrays(layers)


def test_cnn_equals_its_hand_expanded_dense_net():
    net, dense = small_cnn(0)
    rng = np.random.default_rng(1)
    S = rng.integers(-4, 5, size=(12, 25)) / 2.0
    E = rng.integers(-4, 5, size=(12, 25)) / 2.0
    a = polyfold.segment_crossings(net, S, E, mode="exact")
    b = polyfold.segment_crossings(dense, S, E, mode="exact")
    assert a.t_exact == b.t_exact
    np.testing.assert_array_equal(a.codes, b.codes)
    np.testing.assert_array_equal(a.patterns, b.patterns)
    np.testing.assert_array_equal(net.codes(S), dense.codes(S))
    assert a.n_pieces.sum() > 12  # the segments do cross regions
    for mode in ("certified", "float"):
        c = polyfold.segment_crossings(net, S, E, mode=mode)
        np.testing.assert_array_equal(c.n_pieces, a.n_pieces)
        np.testing.assert_array_equal(c.codes, a.codes)
        np.testing.assert_allclose(c.t, a.t, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------
# max units by hand (input: t in [0, 1], the segment 0 -> 1)
# ---------------------------------------------------------------------------
def max_net(W, b, *, pre=None):
    """Candidates ``W t + b`` (optionally after a ReLU group ``pre``), one max unit."""
    g = GraphBuilder((1,))
    h = g.input
    if pre is not None:
        Wp, bp, Wc = pre
        r = g.relu(g.dense(h, Wp, bp))
        cand = g.add(g.dense(r, Wc), g.dense(h, W, b))
    else:
        cand = g.dense(h, W, b)
    k = len(b)
    m = g.max_units(cand, (1,), [list(range(k))])
    return g.build(g.dense(m, np.ones((1, 1))))


def exact_run(net):
    return polyfold.segment_crossings(net, [0.0], [1.0], mode="exact")


def check_modes(net, res):
    for mode in ("certified", "float"):
        other = polyfold.segment_crossings(net, [0.0], [1.0], mode=mode)
        np.testing.assert_array_equal(other.codes, res.codes)
        np.testing.assert_allclose(other.t, res.t, rtol=0, atol=1e-12)


def max_codes(net, res):
    off = net.layer_offsets
    return res.piece_codes(0)[:, off[-2]].tolist()


def test_max_non_selected_swap_makes_no_breakpoint():
    # candidates 10, t, 1 - t: t and 1 - t swap at 1/2 below the selected 10
    net = max_net(np.array([[0.0], [1.0], [-1.0]]), np.array([10.0, 0.0, 1.0]))
    res = exact_run(net)
    assert res.breakpoints(0) == [] and max_codes(net, res) == [0]
    check_modes(net, res)


def test_max_selected_change_is_one_breakpoint():
    net = max_net(np.array([[1.0], [0.0]]), np.array([0.0, 0.5]))
    res = exact_run(net)
    assert res.breakpoints(0) == [F(1, 2)] and max_codes(net, res) == [1, 0]
    check_modes(net, res)


def test_max_three_way_tie_at_a_point():
    # t, 1 - t, 1/2 all meet at t = 1/2; 1/2 is never strictly the max
    net = max_net(np.array([[1.0], [-1.0], [0.0]]), np.array([0.0, 1.0, 0.5]))
    res = exact_run(net)
    assert res.breakpoints(0) == [F(1, 2)] and max_codes(net, res) == [1, 0]
    check_modes(net, res)


def test_max_envelope_with_several_switches_in_one_piece():
    # 1 - 2t, 3/10, 2t - 1: switches at 7/20 and 13/20
    net = max_net(np.array([[-2.0], [0.0], [2.0]]), np.array([1.0, 0.3, -1.0]))
    res = exact_run(net)
    bp = res.breakpoints(0)
    # 0.3 is a float: the exact crossings are (1 - 0.3) / 2 and (1 + 0.3) / 2 with 0.3 read exactly
    q = F(0.3)
    assert bp == [(1 - q) / 2, (1 + q) / 2] and max_codes(net, res) == [0, 1, 2]
    check_modes(net, res)


def test_max_tie_at_a_point_without_switch():
    # candidates 0 and -|t - 1/2| (from a ReLU group): they touch at t = 1/2; the max
    # stays candidate 0 on both sides, the breakpoint is the ReLU group's
    pre = (np.array([[1.0], [-1.0]]), np.array([-0.5, 0.5]), np.array([[0.0, 0.0], [-1.0, -1.0]]))
    net = max_net(np.array([[0.0], [0.0]]), np.array([0.0, 0.0]), pre=pre)
    res = exact_run(net)
    assert res.breakpoints(0) == [F(1, 2)]
    assert max_codes(net, res) == [0, 0]
    assert [u[0] for u in res.switches(0)[0]] == [net.group_names[0]] * 2
    check_modes(net, res)


def test_max_tie_along_a_piece_takes_the_lowest_index():
    # candidates 0 and relu(t - 1/2): tied (both 0) on [0, 1/2], then candidate 1 wins;
    # the ReLU and the max unit switch at the same t: ONE breakpoint listing both
    pre = (np.array([[1.0]]), np.array([-0.5]), np.array([[0.0], [1.0]]))
    net = max_net(np.array([[0.0], [0.0]]), np.array([0.0, 0.0]), pre=pre)
    res = exact_run(net)
    assert res.breakpoints(0) == [F(1, 2)]
    assert max_codes(net, res) == [0, 1]
    names = sorted(u[0] for u in res.switches(0)[0])
    assert names == sorted(net.group_names)
    check_modes(net, res)


def test_identical_candidates_everywhere():
    net = max_net(np.array([[1.0], [1.0]]), np.array([0.0, 0.0]))
    res = exact_run(net)
    assert res.breakpoints(0) == [] and max_codes(net, res) == [0]
    check_modes(net, res)


def test_max_pool_after_dead_relus_is_certified_without_fallback():
    # a max pool over ReLU outputs that are exactly 0 on large parts of the path: exact
    # ties decided in float (error bound 0), no exact recomputation
    rng = np.random.default_rng(0)
    g = GraphBuilder((1, 6, 6))
    h = g.max_pool(g.relu(g.conv(g.input, rng.normal(size=(3, 1, 3, 3)), rng.normal(size=3) - 1.0, padding=1)), 2)
    net = g.build(g.dense(g.flatten(h), rng.normal(size=(4, 27))))
    S, E = rng.uniform(0, 1, (30, 36)), rng.uniform(0, 1, (30, 36))
    cert = polyfold.segment_crossings(net, S, E, mode="certified")
    ex = polyfold.segment_crossings(net, S, E, mode="exact")
    np.testing.assert_array_equal(cert.codes, ex.codes)
    assert cert.n_recomputed == 0


# ---------------------------------------------------------------------------
# residual graphs with integer weights (hypothesis)
# ---------------------------------------------------------------------------
def residual_net(d, k, W1, b1, W2, b2, Ws, use_max, Wout):
    g = GraphBuilder((d,))
    h1 = g.relu(g.dense(g.input, W1, b1))
    z2 = g.add(g.dense(h1, W2, b2), g.dense(g.input, Ws))  # skip connection from the input
    h2 = g.relu(z2)
    if use_max:
        h3 = g.max_units(g.concat(h2, h1), (k,), [[i, k + i] for i in range(k)])
    else:
        h3 = g.add(h2, h1)
    return g.build(g.dense(h3, Wout, np.array([0.5])))


def _draw_ints(draw, shape, lo=-3, hi=3):
    """A float array of ``shape`` with integer entries in ``lo..hi``."""
    n = int(np.prod(shape))
    return np.array(draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n))).reshape(shape).astype(float)


@st.composite
def residual_cases(draw):
    d = draw(st.integers(1, 3))
    k = draw(st.integers(1, 4))
    ints = lambda shape, lo=-3, hi=3: _draw_ints(draw, shape, lo, hi)
    W1, b1 = ints((k, d)), ints((k,)) / 2
    W2, b2 = ints((k, k)), ints((k,)) / 2
    Ws = ints((k, d))
    Wout = ints((1, k))
    use_max = draw(st.booleans())
    net = residual_net(d, k, W1, b1, W2, b2, Ws, use_max, Wout)
    m = draw(st.integers(1, 4))
    S = ints((m, d), -4, 4) / 2
    E = ints((m, d), -4, 4) / 2
    return net, S, E


@settings(max_examples=60, deadline=None)
@given(residual_cases())
def test_residual_graphs_all_modes_agree_with_exact_midpoints(case):
    net, S, E = case
    ex = polyfold.segment_crossings(net, S, E, mode="exact")
    for mode in ("certified", "float"):
        other = polyfold.segment_crossings(net, S, E, mode=mode)
        if mode == "float" and (ex.degenerate.any() or ex.endpoint_on_boundary.any()):
            continue  # float mode decides zeros with a band: no guarantee in degenerate cases
        np.testing.assert_array_equal(other.n_pieces, ex.n_pieces)
        np.testing.assert_array_equal(other.codes, ex.codes)
        np.testing.assert_allclose(other.t, ex.t, rtol=0, atol=1e-9)
        if mode == "certified":
            # the flags are exact mode's, and t_error bounds |t - t*| (in rationals)
            np.testing.assert_array_equal(other.degenerate, ex.degenerate)
            np.testing.assert_array_equal(other.endpoint_on_boundary, ex.endpoint_on_boundary)
            for tf, te, tq in zip(other.t, other.t_error, ex.t_exact):
                assert abs(F(float(tf)) - F(tq)) <= F(float(te))
    for i in range(len(S)):
        # every piece's codes are the exact codes at its exact midpoint
        ts = [F(0)] + list(ex.breakpoints(i)) + [F(1)]
        a, b = arith.fmpq_array(S[i]), arith.fmpq_array(E[i])
        mids = [arith.to_fmpq((p + q) / 2) for p, q in zip(ts[:-1], ts[1:])]
        X = np.array([[(1 - m) * x + m * y for x, y in zip(a, b)] for m in mids], dtype=object)
        np.testing.assert_array_equal(net.codes_exact(X), ex.piece_codes(i))
        # consecutive pieces differ
        c = ex.piece_codes(i)
        assert np.all(np.any(c[1:] != c[:-1], axis=1))
        # dense exact sampling: every grid point inside a piece has that piece's codes
        # (so the sampled sequence is a subsequence of the pieces, in order)
        import bisect

        grid = [F(k, 48) for k in range(49)]
        inner = [q for q in grid if q not in ts[1:-1]]
        X = np.array([[(1 - arith.to_fmpq(q)) * x + arith.to_fmpq(q) * y for x, y in zip(a, b)] for q in inner],
                     dtype=object)
        got = net.codes_exact(X)
        for q, row in zip(inner, got):
            piece = min(bisect.bisect_right(ts, q) - 1, len(c) - 1)
            if q == 1:
                piece = len(c) - 1
            if q in (0, 1) and ex.endpoint_on_boundary[i].any():
                continue  # an endpoint on a boundary has a face's codes
            np.testing.assert_array_equal(row, c[piece])


def _two_switch_net(w1_0):
    # x = 1.5 (1 - t) from 1.5 to 0; h1 = relu(w1_0 x - 1/2, 1 - 3x, 1/2);
    # z2_0 = 2 h1_0 + 2 h1_1 - 3/2 + 3x (other units constant); max units pair h2_i, h1_i
    W1 = np.array([[w1_0], [-3.0], [0.0]])
    b1 = np.array([-0.5, 1.0, 0.5])
    W2 = np.zeros((3, 3))
    W2[0, :2] = [2.0 if w1_0 else 0.0, 2.0]
    b2 = np.array([-1.5, 0.5, 0.5])
    Ws = np.array([[3.0], [0.0], [0.0]])
    return residual_net(1, 3, W1, b1, W2, b2, Ws, True, np.zeros((1, 3)))


def test_float_merge_keeps_the_codes_of_the_piece_after_the_merged_points():
    # h1_0 = 0: z2_0 = 3x - 3/2 for x > 1/3 and 1/2 - 3x below: it is negative on
    # (1/6, 1/2), so t = 2/3 and t = 8/9 are its switches, t = 7/9 that of h1_1 (x = 1/3).
    # The max unit 1 (h2_1 = 1/2 against h1_1 = 1 - 3x) switches at x = 1/6, t = 8/9,
    # too: float finds that switch a rounding away from 8/9 and merges the two points;
    # the piece after them must keep z2_0 > 0 (its code after t = 8/9)
    net = _two_switch_net(0.0)
    S, E = np.array([[1.5]]), np.array([[0.0]])
    ex = polyfold.segment_crossings(net, S, E, mode="exact")
    np.testing.assert_array_equal(ex.codes[:, 3], [1, 0, 0, 1])
    np.testing.assert_array_equal(ex.codes[:, 7], [0, 0, 0, 1])
    for mode in ("float", "certified"):
        other = polyfold.segment_crossings(net, S, E, mode=mode)
        np.testing.assert_array_equal(other.n_pieces, [4])
        np.testing.assert_array_equal(other.codes, ex.codes)


@pytest.mark.parametrize("S, E", [
    ([-0.46228093367198203, -1.0396314589873905], [0.6921267951329846, 0.531470035145912]),
    ([-0.7111205707420978, -1.3796264413138157], [0.3130176612387944, 0.512397793804173]),
])
def test_float_units_switching_at_one_point_are_at_their_thresholds_there(S, E):
    # both units switch on the line x0 + x1 = -1/2 (one row is 3 times the other): they
    # are active below it and inactive above; float finds the two crossings a rounding
    # apart and merges them, and at the merged point both units sit at the threshold.
    # With (almost) no zero band the other unit's rounding noise there decided its code
    # on the piece after the point
    g = GraphBuilder((2,))
    h = g.relu(g.dense(g.input, np.array([[-3.0, -3.0], [-1.0, -1.0]]), np.array([-1.5, -0.5])))
    net = g.build(g.dense(h, np.ones((1, 2))))
    S, E = np.array([S]), np.array([E])
    for zero in (1e-300, 1e-9):
        res = polyfold.segment_crossings(net, S, E, mode="float", tol=polyfold.Tolerance(zero=zero))
        np.testing.assert_array_equal(res.codes, [[1, 1], [0, 0]])


def test_float_max_ties_along_a_piece_take_the_lowest_index():
    # h1_0 = relu(3x - 1/2): on 1/6 < x < 1/3 both h1 units are active and
    # z2_0 = 2 (3x - 1/2) + 2 (1 - 3x) - 3/2 + 3x = 3x - 1/2 = h1_0: the max unit 0
    # ties along that piece (float computes the two lines a rounding apart) and
    # selects h2_0 (position 0) everywhere: x > 1/3 gives 9x - 5/2 > 3x - 1/2 and
    # x < 1/6 gives 1/2 - 3x > 0; the only breakpoints are t = 7/9 and 8/9 (h1's)
    net = _two_switch_net(3.0)
    S, E = np.array([[1.5]]), np.array([[0.0]])
    for mode in ("exact", "float", "certified"):
        res = polyfold.segment_crossings(net, S, E, mode=mode)
        np.testing.assert_array_equal(res.n_pieces, [3])
        np.testing.assert_allclose(res.t, [7 / 9, 8 / 9], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(res.codes[:, 6], [0, 0, 0])


def test_between_equals_direct_on_graphs():
    net, _ = small_cnn(2)
    rng = np.random.default_rng(3)
    X = rng.normal(size=(6, 25))
    i, j = np.array([0, 1, 2, 3]), np.array([5, 4, 3, 0])
    for mode in ("float", "certified", "exact"):
        a = polyfold.segment_crossings_between(net, X, i, j, mode=mode)
        b = polyfold.segment_crossings(net, X[i], X[j], mode=mode)
        np.testing.assert_array_equal(a.codes, b.codes)
        np.testing.assert_array_equal(a.t, b.t)


def test_switches_name_group_and_unit():
    net, dense = small_cnn(0)
    res = polyfold.segment_crossings(net, -np.ones(25), np.ones(25), mode="exact")
    for sw in res.switches(0):
        for group, unit in sw:
            assert group in net.group_names
            g = net.group_names.index(group)
            assert len(unit) == len(net.group_shapes[g])
            assert all(0 <= u < n for u, n in zip(unit, net.group_shapes[g]))


def test_backend_c_refused_for_graphs():
    net, _ = small_cnn(0)
    if "c" not in polyfold.crossings.available_backends():
        pytest.skip("compiled kernel not built")
    with pytest.raises(polyfold.ValidationError, match="dense PLNet"):
        polyfold.segment_crossings(net, np.zeros(25), np.ones(25), backend="c")


# ---------------------------------------------------------------------------
# certified mode: undecided intervals are recomputed exactly, the rest is kept
# ---------------------------------------------------------------------------
def _near_degenerate_net():
    # z0 = x0 + x1 - 0.3 is 2^-55-ish at x = (0.1, 0.2): below its rounding bound;
    # z1 and z2 switch 1e-17 apart; a max unit compares two nearly equal lines
    g = GraphBuilder((2,))
    W = np.array([[1.0, 1.0], [1.0, 0.0], [1.0, 1e-16], [0.5, 0.5], [0.5, 0.5 + 2 ** -50]])
    b = np.array([-0.3, -0.45, -0.45, -0.2, -0.2])
    h = g.relu(g.dense(g.input, W, b))
    m = g.max_units(h, (1,), [[3, 4]])
    return g.build(g.dense(g.concat(h, m), np.ones((1, 6))))


def test_certified_repairs_undecided_intervals_exactly():
    net = _near_degenerate_net()
    S = np.array([[0.1, 0.2], [0.0, 0.0], [0.3, 0.1], [0.9, 0.9]])
    E = np.array([[0.9, 0.9], [0.1, 0.2], [0.6, 0.0], [0.1, 0.2]])
    cert = polyfold.segment_crossings(net, S, E, mode="certified")
    ex = polyfold.segment_crossings(net, S, E, mode="exact")
    assert cert.n_recomputed >= 2  # the construction forces undecided decisions
    np.testing.assert_array_equal(cert.n_pieces, ex.n_pieces)
    np.testing.assert_array_equal(cert.codes, ex.codes)
    np.testing.assert_array_equal(cert.endpoint_on_boundary, ex.endpoint_on_boundary)
    np.testing.assert_allclose(cert.t, ex.t, rtol=0, atol=1e-15)
    # the bound holds exactly, repaired breakpoints included (their floats are roundings
    # of the exact values, so their bound is half a spacing, not 0)
    for tf, te, tq in zip(cert.t, cert.t_error, ex.t_exact):
        assert abs(Fraction(float(tf)) - Fraction(tq)) <= Fraction(float(te))


def test_certified_repair_on_the_digits_cnn():
    # two paths of the shipped digits CNN with near-ties that float bounds cannot decide
    net = polyfold.zoo.digits_cnn()
    from polyfold.datasets import load_digits_split

    _, _, X, _ = load_digits_split()
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, len(X), 200), rng.integers(0, len(X), 200)
    sel = [13, 74]
    cert = polyfold.segment_crossings(net, X[i[sel]], X[j[sel]], mode="certified")
    ex = polyfold.segment_crossings(net, X[i[sel]], X[j[sel]], mode="exact")
    assert cert.n_recomputed == 2
    np.testing.assert_array_equal(cert.codes, ex.codes)
    np.testing.assert_allclose(cert.t, ex.t, rtol=0, atol=1e-13)


def test_points_in_blocks_give_the_same_partition(monkeypatch):
    # a tiny state budget forces blocks of a few points (sharing boundary points)
    from polyfold.graph import crossings as gc

    net, _ = small_cnn(0)
    rng = np.random.default_rng(2)
    S, E = rng.normal(size=(7, 25)), rng.normal(size=(7, 25))
    S[0] = E[0]  # a segment of length zero
    ref = {m: polyfold.segment_crossings(net, S, E, mode=m) for m in ("float", "certified", "exact")}
    monkeypatch.setattr(gc, "STATE_BUDGET", 20 * 8 * 50 * 3)
    for m, r0 in ref.items():
        r = polyfold.segment_crossings(net, S, E, mode=m)
        np.testing.assert_array_equal(r.codes, r0.codes)
        np.testing.assert_array_equal(r.t, r0.t)
        np.testing.assert_array_equal(r.endpoint_on_boundary, r0.endpoint_on_boundary)
        np.testing.assert_array_equal(r.degenerate, r0.degenerate)


# ---------------------------------------------------------------------------
# certified repair: ranges of pieces around the undecided intervals
# ---------------------------------------------------------------------------
def test_neighbour_t_skips_points_with_the_same_t():
    from polyfold.graph.crossings import _neighbour_t

    seg = np.array([0, 0, 0, 0, 1, 1])
    t = np.array([0.0, 0.5, 0.5, 1.0, 0.0, 1.0])
    rows = np.arange(6)
    # rows 1 and 2 share t = 0.5: their neighbours are the points at 0 and 1; the ends
    # of a segment are their own neighbours outward
    lo, hi = _neighbour_t(seg, t, rows)
    np.testing.assert_array_equal(lo, [0.0, 0.0, 0.0, 0.5, 0.0, 0.0])
    np.testing.assert_array_equal(hi, [0.5, 1.0, 1.0, 1.0, 1.0, 1.0])


def test_repair_ranges_cut_inside_pieces_of_positive_length():
    from polyfold.graph.crossings import _repair_ranges

    # pieces 0:[0,.2] 1:[.2,.4] 2:[.4,.4] (empty) 3:[.4,.6] 4:[.6,.8] 5:[.8,1]
    ts = np.array([0.0, 0.2, 0.4, 0.4, 0.6, 0.8, 1.0])
    # an undecided decision at the double point t = 0.4 can change pieces 1 and 3 (and
    # the empty 2); the cuts sit in the pieces next to those: the empty piece 2 is
    # skipped on the left, so the range is pieces 1..4, cut at 0.3 and 0.7
    assert _repair_ranges(ts, np.array([0.4]), np.array([0.4])) == [(1, 4, False, False)]
    # an interval in the first piece starts at the segment's start; on the right the
    # empty piece 2 is skipped for piece 3
    assert _repair_ranges(ts, np.array([0.1]), np.array([0.3])) == [(0, 3, True, False)]


def test_repair_ranges_merge():
    from polyfold.graph import crossings as gc

    ts = np.linspace(0.0, 1.0, 101)  # 100 pieces of length 0.01
    # two undecided intervals far apart: two ranges, each from the piece before the
    # interval's first piece to the one after its last
    lo, hi = np.array([0.105, 0.805]), np.array([0.115, 0.815])
    assert gc._repair_ranges(ts, lo, hi) == [(9, 12, False, False), (79, 82, False, False)]
    # overlapping or adjacent ranges merge into one
    assert gc._repair_ranges(ts, np.array([0.105, 0.125]), np.array([0.13, 0.135])) == [(9, 14, False, False)]
    assert gc._repair_ranges(ts, np.array([0.105, 0.145]), np.array([0.115, 0.155])) == [(9, 16, False, False)]
    # an interval reaching the segment's end
    assert gc._repair_ranges(ts, np.array([0.985]), np.array([1.0])) == [(97, 99, False, True)]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 12), min_size=1, max_size=14),
       st.lists(st.tuples(st.integers(0, 12), st.integers(0, 4)), min_size=1, max_size=6))
def test_repair_ranges_cover_every_interval_from_outside(steps, ivs):
    from polyfold.graph.crossings import _repair_ranges

    # points on a grid of 1/12, repeated values allowed
    ts = np.concatenate([[0.0], np.sort(steps) / 12.0, [1.0]])
    lo = np.array([a / 12.0 for a, _ in ivs])
    hi = np.minimum(lo + np.array([w / 12.0 for _, w in ivs]), 1.0)
    n_pc = len(ts) - 1
    ranges = _repair_ranges(ts, lo, hi)
    cuts = []
    for j0, j1, at_start, at_end in ranges:
        assert 0 <= j0 <= j1 <= n_pc - 1
        cl = 0.0 if (j0 == 0 and at_start) else 0.5 * (ts[j0] + ts[j0 + 1])
        cr = 1.0 if (j1 == n_pc - 1 and at_end) else 0.5 * (ts[j1] + ts[j1 + 1])
        # a cut inside the segment lies inside a piece of positive length
        if cl != 0.0:
            assert ts[j0 + 1] > ts[j0]
        if cr != 1.0:
            assert ts[j1 + 1] > ts[j1]
        cuts.append((cl, cr))
    # ranges are disjoint and sorted
    assert all(a[1] < b[0] for a, b in zip(ranges, ranges[1:]))
    # every interval lies in one range, strictly inside its cuts (or at the segment's end)
    for a, b in zip(lo, hi):
        assert any((cl < a or cl == 0.0) and (cr > b or cr == 1.0) for cl, cr in cuts)


def _integer_hardtanh_net(seed, depth, width, d=3):
    rng = np.random.default_rng(seed)
    layers, nin = [], d
    for _ in range(depth):
        layers.append((rng.integers(-2, 3, (width, nin)).astype(float), rng.integers(-2, 3, width).astype(float)))
        nin = width
    layers.append((rng.integers(-2, 3, (2, nin)).astype(float), np.zeros(2)))
    return polyfold.PLNet.from_arrays(layers, "hardtanh")


@pytest.mark.parametrize("seed", [0, 1])
def test_certified_repair_of_tie_heavy_integer_nets(seed):
    # small integer weights and endpoints: many neurons switch at the same rational t
    # and saturated units sit on thresholds, so most of every segment is undecided in
    # float; the repair must still agree with exact mode without the last resort
    from polyfold.crossings import _interleave, get_tol
    from polyfold.graph.crossings import graph_partition, repair_certified

    net = _integer_hardtanh_net(seed, 5, 8)
    rng = np.random.default_rng(50 + seed)
    S = rng.integers(-3, 4, (4, 3)).astype(float)
    E = rng.integers(-3, 4, (4, 3)).astype(float)
    tolv = get_tol(None)
    Z0, E0 = net.stages().start_bound(_interleave(S, E), safety=tolv.safety)
    raw = graph_partition(net, Z0, E0, False, tolv, True)
    assert len(raw["ambiguous_t"][0]) > 0  # the float pass leaves undecided intervals
    new, _ = repair_certified(net, raw, lambda q: (S[q], E[q]), tolv)
    assert len(new["ambiguous"]) == 0
    ex = polyfold.segment_crossings(net, S, E, mode="exact")
    np.testing.assert_array_equal(np.bincount(new["seg"], minlength=4) - 1, ex.n_pieces)
    np.testing.assert_array_equal(new["codes"], ex.codes)
    cert = polyfold.segment_crossings(net, S, E, mode="certified")
    np.testing.assert_array_equal(cert.codes, ex.codes)
    np.testing.assert_array_equal(cert.degenerate, ex.degenerate)
    np.testing.assert_array_equal(cert.endpoint_on_boundary, ex.endpoint_on_boundary)


@st.composite
def _proportional_residual_cases(draw):
    # residual nets whose first layer has rows in proportion (units switching on one
    # hyperplane), without max units (their ties need the band), and jittered starts
    d = draw(st.integers(1, 2))
    k = draw(st.integers(1, 2))
    ints = lambda shape, lo=-3, hi=3: _draw_ints(draw, shape, lo, hi)
    w, b = ints((k, d)), ints((k,)) / 2
    c = np.array(draw(st.lists(st.sampled_from([2.0, 3.0, 0.5]), min_size=k, max_size=k)))
    W1, b1 = np.vstack([w, c[:, None] * w]), np.r_[b, c * b]
    n = 2 * k
    net = residual_net(d, n, W1, b1, ints((n, n)), ints((n,)) / 2, ints((n, d)), False, ints((1, n)))
    S = ints((4, d), -4, 4) / 2 + np.array(draw(st.lists(st.floats(-0.05, 0.05), min_size=4 * d, max_size=4 * d))).reshape(4, d)
    E = ints((4, d), -4, 4) / 2
    return net, S, E


@settings(max_examples=150, deadline=None)
@given(_proportional_residual_cases())
def test_graph_float_merges_without_a_zero_band_match_exact(float_without_band_matches_exact, case):
    # as the dense kernels' test: with (almost) no zero band, rounding noise decides
    # every sign, and units switching at one point are found a rounding apart and
    # merged; the codes must be exact mode's on the segments float can decide without
    # its band
    float_without_band_matches_exact(*case)


def test_padded_max_pool_certified_without_warnings():
    # a padded 3x3 max pool has missing candidates (-inf in float): the certified
    # selection checks must mask them without an invalid-value warning, and agree with
    # exact mode
    import warnings

    rng = np.random.default_rng(0)
    g = GraphBuilder((1, 4, 4))
    w = rng.integers(-2, 3, (2, 1, 2, 2)).astype(float)
    b = rng.integers(-2, 3, 2) / 2
    h = g.relu(g.conv(g.input, w, b, padding=1))  # (2, 5, 5)
    f = g.flatten(g.max_pool(h, 3, stride=2, padding=1))  # (2, 3, 3), corners padded
    net = g.build(g.dense(f, rng.integers(-2, 3, (1, g.shape(f)[0])).astype(float), np.zeros(1)))
    S, E = rng.normal(size=(3, 16)), rng.normal(size=(3, 16))
    ex = polyfold.segment_crossings(net, S, E, mode="exact")
    for mode in ("certified", "float"):
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            res = polyfold.segment_crossings(net, S, E, mode=mode)
        np.testing.assert_array_equal(res.n_pieces, ex.n_pieces)
        np.testing.assert_array_equal(res.codes, ex.codes)


# ---------------------------------------------------------------------------
# magnitudes beyond float64 in a later stage: those segments are computed exactly
# (the driver's first-layer check sees only the first stage's values)
# ---------------------------------------------------------------------------
def _chain_overflow_graph():
    # x -> relu(x) -> relu(2^600 h) -> relu(2^500 h - 2^1023): the third unit is
    # 2^1100 relu(x) - 2^1023 (beyond float64 for x > 2^-77), zero at x = 2^-77
    b = GraphBuilder((1,))
    h = b.relu(b.dense(b.input, [[1.0]], [0.0]))
    h = b.relu(b.dense(h, [[2.0**600]], [0.0]))
    h = b.relu(b.dense(h, [[2.0**500]], [-2.0**1023]))
    return b.build(b.dense(h, [[1.0]], [0.0]))


@pytest.mark.parametrize("mode", ["float", "certified", "exact"])
def test_values_overflowing_in_a_later_stage_keep_their_regions(mode):
    # x from -1 to 1 (t = (x + 1) / 2): by hand, units 1 and 2 switch at x = 0 (t = 1/2)
    # and unit 3 at x = 2^-77 (t = 1/2 + 2^-78); codes (0,0,0), (1,1,0), (1,1,1)
    net = _chain_overflow_graph()
    assert not net.is_dense
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow RuntimeWarning reaches the user
        res = polyfold.segment_crossings(net, [[-1.0]], [[1.0]], mode=mode)
    assert res.piece_codes(0).tolist() == [[0, 0, 0], [1, 1, 0], [1, 1, 1]]
    assert res.exact_segments.all()
    if mode == "exact":
        assert res.breakpoints(0) == [F(1, 2), F(1, 2) + F(1, 2**78)]
    else:
        assert np.array_equal(res.breakpoints(0), [0.5, 0.5])  # 1/2 + 2^-78 rounds to 1/2


def _scaled_cnn(rng, c0, c1):
    b = GraphBuilder((1, 4, 4))
    w0, b0 = rng.integers(-2, 3, (2, 1, 2, 2)).astype(float), rng.integers(-2, 3, 2).astype(float)
    w1 = rng.integers(-2, 3, (3, 2, 2, 2)).astype(float)
    h = b.relu(b.conv(b.input, w0 * c0, b0 * c0))
    h = b.relu(b.conv(h, w1 * c1, np.zeros(3)))
    y = b.dense(h, rng.integers(-2, 3, (1, 12)).astype(float), np.zeros(1))
    return b.build(y)


@pytest.mark.parametrize("mode", ["float", "certified"])
def test_cnn_scaled_beyond_float64_keeps_the_unscaled_regions(mode):
    # ReLU is positively homogeneous: scaling the first conv (weight and bias) by 2^600
    # and the second conv's weight by 2^500 (bias 0) multiplies its values by 2^1100
    # and changes no sign, so the regions are the unscaled net's (exact mode)
    want_net = _scaled_cnn(np.random.default_rng(4), 1.0, 1.0)
    net = _scaled_cnn(np.random.default_rng(4), 2.0**600, 2.0**500)
    rng = np.random.default_rng(7)
    S, E = rng.integers(-3, 4, (2, 6, 16)).astype(float)
    want = polyfold.segment_crossings(want_net, S, E, mode="exact")
    res = polyfold.segment_crossings(net, S, E, mode=mode)
    assert np.array_equal(res.n_pieces, want.n_pieces) and np.array_equal(res.codes, want.codes)
    assert res.exact_segments.any()


# ---------------------------------------------------------------------------
# non-finite parameters are refused where the graph is built
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["dense_W", "dense_b", "conv_w", "conv_b", "affine", "add", "bn"])
def test_graph_builder_refuses_non_finite_parameters(which):
    b = GraphBuilder((1, 2, 2))
    bad = np.array([1.0, np.nan])
    with pytest.raises(polyfold.PolyfoldError) as err:
        if which == "dense_W":
            b.dense(b.input, np.full((1, 4), np.inf))
        elif which == "dense_b":
            b.dense(b.input, np.ones((2, 4)), bad)
        elif which == "conv_w":
            b.conv(b.input, np.full((1, 1, 1, 1), -np.inf))
        elif which == "conv_b":
            b.conv(b.input, np.ones((2, 1, 1, 1)), bad)
        elif which == "affine":
            b.channel_affine(b.input, [np.inf], [0.0])
        elif which == "add":
            b.add(b.input, b.input, weights=[1.0, np.nan])
        else:
            b.batch_norm(b.input, [0.0], [-1.0], eps=1e-5)  # a negative variance
    msg = str(err.value)
    assert {"dense_W": "weight", "dense_b": "bias", "conv_w": "Conv weight", "conv_b": "Conv bias",
            "affine": "scale", "add": "Add weights", "bn": "var + eps"}[which] in msg


def test_hidden_identity_layers_as_unit_groups_match_exact_mode():
    # PLNet.to_graph turns a hidden Identity layer into a one-piece unit group whose
    # units carry the bit z > 0: the graph's crossings (and the dense net's, whose
    # certified second pass runs on those stages) must be exact mode's on the dense net
    from polyfold import HardTanh, Identity, LeakyReLU, PLNet, ReLU

    rng = np.random.default_rng(1)
    for _ in range(30):
        d, depth = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        dims = [d] + [int(rng.integers(1, 4)) for _ in range(depth)] + [1]
        acts = [[Identity(), ReLU(), HardTanh(-1, 1), LeakyReLU(0.5)][int(rng.integers(0, 4))]
                for _ in range(depth)]
        acts[int(rng.integers(0, depth))] = Identity()
        layers = [(rng.integers(-2, 3, (o, i)).astype(float), rng.integers(-2, 3, o).astype(float))
                  for i, o in zip(dims[:-1], dims[1:])]
        net = PLNet(layers, acts)
        S, E = rng.integers(-3, 4, (2, 4, d)).astype(float)
        ref = polyfold.segment_crossings(net, S, E, mode="exact")
        for nn in (net, net.to_graph()):
            for mode in ("exact", "certified"):
                r = polyfold.segment_crossings(nn, S, E, mode=mode)
                assert np.array_equal(r.n_pieces, ref.n_pieces) and np.array_equal(r.codes, ref.codes)
                assert np.array_equal(r.degenerate, ref.degenerate)
