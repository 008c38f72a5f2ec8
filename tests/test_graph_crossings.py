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


@st.composite
def residual_cases(draw):
    d = draw(st.integers(1, 3))
    k = draw(st.integers(1, 4))
    ints = lambda shape, lo=-3, hi=3: np.array(
        draw(st.lists(st.integers(lo, hi), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    ).reshape(shape).astype(float)
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
