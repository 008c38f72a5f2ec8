"""Fuzz of segment crossings on graph networks against independent references.

Random small graph nets with small integer weights (dense, conv, batch norm, max and
average pooling, residual additions; ReLU, leaky ReLU, hard tanh, maxout) and
tie-heavy endpoints on a coarse grid: zero-length segments, segments through the
origin, integer endpoints where many units switch at one point, segments inside a
unit's hyperplane.  Expectations come from

* an exact evaluation written here: the group inputs of ``net.forward_exact`` at
  rational points, turned into codes by counting thresholds below the value and by a
  lowest-index argmax over the valid candidates of each max unit, at every piece's
  midpoint and at dense sample points (the reported pieces must explain every sample);
* the degenerate and endpoint flags recomputed from the same exact values at the
  exact breakpoints;
* exact mode as the reference of certified mode (identical pieces and codes,
  breakpoints within ``t_error`` of the exact fractions) and of float mode on the
  segments certified mode decided without exact work;
* the dense :class:`~polyfold.PLNet` of chain graphs (``graph_to_plnet``), whose
  crossings must be those of the graph in every mode.
"""

import bisect
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import polyfold
from polyfold.convert import graph_to_plnet
from polyfold.graph import GraphBuilder

F = Fraction


# ---------------------------------------------------------------------------
# random tie-heavy graph nets
# ---------------------------------------------------------------------------
def _ints(rng, shape, lo=-2, hi=2):
    return rng.integers(lo, hi + 1, size=shape).astype(float)


def _dup_rows(rng, W, b):
    # rows in proportion: units switching on one hyperplane
    for i in range(1, len(W)):
        if rng.random() < 0.35:
            j = rng.integers(0, i)
            c = rng.choice([1.0, 2.0, 0.5, -1.0])
            W[i], b[i] = c * W[j], c * b[j]
    return W, b


def _unit(g, h, rng, vec, allow_max=True):
    r = rng.integers(0, 6 if allow_max else 3)
    if r == 0:
        return g.relu(h)
    if r == 1:
        return g.leaky_relu(h, float(rng.choice([0.5, 0.25, -0.5, 2.0, 0.0])))
    if r == 2:
        return g.hardtanh(h, float(rng.choice([-1.0, 0.0])), float(rng.choice([1.0, 0.5])))
    if vec:
        n = g.shape(h)[0]
        k = 3 if n % 3 == 0 else 2
        return g.maxout(h, k) if n % k == 0 else g.relu(h)
    s = g.shape(h)
    if min(s[1:]) >= 3:
        return g.max_pool(h, int(rng.integers(2, 4)), stride=int(rng.integers(1, 3)),
                          padding=int(rng.integers(0, 2)))
    if min(s[1:]) >= 2:
        return g.max_pool(h, 2, stride=int(rng.integers(1, 3)))
    return g.relu(h)


def vec_net(rng, chain=False):
    """Dense layers, unit groups and (not ``chain``) residual additions and maxout."""
    d = int(rng.integers(1, 4))
    g = GraphBuilder((d,))
    h = g.input
    hist = {d: [h]}
    for _ in range(int(rng.integers(2, 6))):
        n = int(rng.integers(2, 7))
        W, b = _dup_rows(rng, _ints(rng, (n, g.shape(h)[0])), _ints(rng, (n,)) / 2)
        z = g.dense(h, W, b)
        if not chain and rng.random() < 0.3 and n in hist:
            z = g.add(z, hist[n][int(rng.integers(len(hist[n])))])
        if chain and rng.random() < 0.3:
            z = g.scalar_affine(z, float(rng.choice([0.5, 2.0, -1.0])), float(rng.choice([0.0, 0.5])))
        h = _unit(g, z, rng, True, allow_max=not chain)
        hist.setdefault(g.shape(h)[0], []).append(h)
    return g.build(g.dense(h, _ints(rng, (2, g.shape(h)[0])), np.zeros(2)))


def img_net(rng):
    """Convolutions (stride, padding), batch norm, residual additions, max and average
    pooling."""
    C, H, W = int(rng.integers(1, 3)), int(rng.integers(3, 6)), int(rng.integers(3, 6))
    g = GraphBuilder((C, H, W))
    h = g.input
    for _ in range(int(rng.integers(1, 4))):
        s = g.shape(h)
        k, O, pad = int(rng.integers(1, 4)), int(rng.integers(1, 3)), int(rng.integers(0, 2))
        if s[1] + 2 * pad < k or s[2] + 2 * pad < k:
            k = 1
        z = g.conv(h, _ints(rng, (O, s[0], k, k), -1, 1), _ints(rng, (O,)) / 2, padding=pad,
                   stride=int(rng.integers(1, 3)) if k > 1 else 1)
        if rng.random() < 0.3:  # scale 1 / sqrt(0.25) = 2: exact
            z = g.batch_norm(z, _ints(rng, (O,)) / 2, np.full(O, 0.25 - 1e-5), eps=1e-5)
        if rng.random() < 0.4 and g.shape(z) == g.shape(h):
            z = g.add(z, h)
        h = _unit(g, z, rng, False)
        s = g.shape(h)
        if rng.random() < 0.3 and min(s[1:]) >= 2:
            h = g.avg_pool(h, 2)
    f = g.flatten(h)
    return g.build(g.dense(f, _ints(rng, (2, g.shape(f)[0])), np.zeros(2)))


def tie_endpoints(rng, net, m=8):
    """Integer endpoints; a zero-length segment, one from the origin, one through it."""
    d = net.input_dim
    S = rng.integers(-2, 3, (m, d)).astype(float)
    E = rng.integers(-2, 3, (m, d)).astype(float)
    E[0] = S[0]
    S[1] = 0.0
    E[2] = -S[2]
    return S, E


# ---------------------------------------------------------------------------
# the exact reference
# ---------------------------------------------------------------------------
def _fq(v):
    return F(int(v.p), int(v.q)) if hasattr(v, "p") else F(v)


def _points(a, b, ts):
    a, b = [F(v) for v in a], [F(v) for v in b]
    return np.array([[ai + t * (bi - ai) for ai, bi in zip(a, b)] for t in ts], dtype=object)


def exact_groups(net, X):
    """(units, exact inputs as Fractions (P, n)) of every unit group at the points."""
    ins = net.forward_exact(X)[:-1]
    units = [nd.op for nd in net.nodes if nd.is_units]
    assert len(units) == len(ins)
    out = []
    for u, z in zip(units, ins):
        z = np.asarray(z, dtype=object).reshape(len(X), -1)
        out.append((u, np.vectorize(_fq, otypes=[object])(z)))
    return out


def reference_codes(net, X):
    """Codes at the points, from the exact group inputs: the number of thresholds
    strictly below ``z``; for max units the lowest valid position of the maximum."""
    cols = []
    for u, z in exact_groups(net, X):
        if u.kind == "threshold":
            c = np.zeros(z.shape, np.int64)
            for th in u.thresholds:
                c += np.asarray(z > F(float(th)), bool)
            cols.append(c)
        else:
            c = np.zeros((len(X), u.n_units), np.int64)
            for p in range(len(X)):
                for q in range(u.n_units):
                    best = None
                    for i in range(u.k):
                        if u.valid[q, i]:
                            v = z[p, u.cand[q, i]]
                            if best is None or v > best:
                                best, c[p, q] = v, i
            cols.append(c)
    return np.concatenate(cols, axis=1)


def reference_flags(net, a, b, ts):
    """(degenerate, start on boundary, end on boundary) from the exact group inputs at
    the exact piece ends ``ts`` and the midpoints of the first and last piece."""
    n = len(ts)
    X = _points(a, b, list(ts) + [(ts[0] + ts[1]) / 2, (ts[-2] + ts[-1]) / 2])
    deg = e0 = e1 = False
    for u, z in exact_groups(net, X):
        if u.kind == "threshold":
            for th in u.thresholds:
                at = np.asarray(z == F(float(th)), bool)
                deg |= bool((at[: n - 1] & at[1:n]).any())  # identically at it on a piece
                e0 |= bool(at[0].any())
                e1 |= bool(at[n - 1].any())
            continue
        # a max unit: two valid candidates tied at the maximum at the end point, unless
        # the tie holds along the adjacent piece (then it is no boundary)
        for row, inner, end in ((0, n, 0), (n - 1, n + 1, 1)):
            for q in range(u.n_units):
                idx = [u.cand[q, i] for i in range(u.k) if u.valid[q, i]]
                mx = max(z[row, j] for j in idx)
                tied = [j for j in idx if z[row, j] == mx]
                mi = max(z[inner, j] for j in idx)
                if len(tied) >= 2 and not all(z[inner, j] == mi for j in tied):
                    e0, e1 = (True, e1) if end == 0 else (e0, True)
    return deg, e0, e1


def check_against_reference(net, S, E, ex, n_samples=25):
    """Exact-mode pieces against exact evaluation at midpoints and dense samples."""
    for i in range(len(S)):
        ts = [F(0)] + [F(v) for v in ex.breakpoints(i)] + [F(1)]
        pc = ex.piece_codes(i).astype(np.int64)
        assert len(pc) == len(ts) - 1
        assert all(a < b for a, b in zip(ts[1:-2], ts[2:-1])), "breakpoints strictly increase"
        for k in range(len(pc) - 1):
            assert not np.array_equal(pc[k], pc[k + 1]), (i, k, "consecutive pieces share a code")
        flags = (bool(ex.degenerate[i]), bool(ex.endpoint_on_boundary[i, 0]),
                 bool(ex.endpoint_on_boundary[i, 1]))
        assert flags == reference_flags(net, S[i], E[i], ts), (i, flags)
        if np.array_equal(S[i], E[i]):
            assert len(pc) == 1
            np.testing.assert_array_equal(pc[0], reference_codes(net, _points(S[i], E[i], [F(1, 2)]))[0])
            continue
        mids = [(ts[k] + ts[k + 1]) / 2 for k in range(len(pc))]
        samp = sorted(set([F(j, n_samples) for j in range(1, n_samples)] + mids) - set(ts))
        codes = reference_codes(net, _points(S[i], E[i], samp))
        for s, c in zip(samp, codes):
            k = bisect.bisect_right(ts, s) - 1
            assert np.array_equal(c, pc[k]), (i, s, k, "sample code differs from its piece")


def assert_same_partition(ref, other, *, segments=None, bound=False, atol=None):
    """Pieces and codes identical; breakpoints within ``t_error`` (``bound``) or equal
    exactly (``atol`` None, both exact) or within ``atol``."""
    segs = range(ref.n_segments) if segments is None else np.flatnonzero(segments)
    for i in segs:
        assert ref.n_pieces[i] == other.n_pieces[i], (i, ref.n_pieces[i], other.n_pieces[i])
        np.testing.assert_array_equal(ref.piece_codes(i), other.piece_codes(i), err_msg=f"segment {i}")
        tr, to = ref.breakpoints(i), other.breakpoints(i)
        if bound:
            err = other.t_error[other.breakpoint_offsets[i] : other.breakpoint_offsets[i + 1]]
            for a, b, e in zip(tr, to, err):
                assert abs(F(float(b)) - F(a)) <= F(float(e)), (i, a, b, e)
        elif atol is None:
            assert [F(v) for v in tr] == [F(v) for v in to], i
        else:
            np.testing.assert_allclose(np.asarray(to, float), np.asarray([float(v) for v in tr]),
                                       rtol=0, atol=atol)


def check_modes(net, S, E, ex):
    ce = polyfold.segment_crossings(net, S, E, mode="certified")
    assert_same_partition(ex, ce, bound=True)
    np.testing.assert_array_equal(ce.degenerate, ex.degenerate)
    np.testing.assert_array_equal(ce.endpoint_on_boundary, ex.endpoint_on_boundary)
    # chunks of 3 segments: the repair of undecided intervals segment by segment
    ce3 = polyfold.segment_crossings(net, S, E, mode="certified", chunk_size=3)
    assert_same_partition(ex, ce3, bound=True)
    fl = polyfold.segment_crossings(net, S, E, mode="float")
    clean = ~ce.exact_segments  # no near-ties: decided in float64
    assert_same_partition(ex, fl, segments=clean, atol=1e-9)
    return ce, fl, clean


def _make(kind, seed):
    rng = np.random.default_rng(seed)
    net = {"vec": lambda: vec_net(rng), "chain": lambda: vec_net(rng, chain=True),
           "img": lambda: img_net(rng)}[kind]()
    S, E = tie_endpoints(rng, net)
    return net, S, E


# ---------------------------------------------------------------------------
# the fast property test
# ---------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["vec", "chain", "img"]), st.integers(0, 10**6))
def test_random_tie_heavy_graphs_all_modes_match_the_exact_reference(kind, seed):
    net, S, E = _make(kind, seed)
    ex = polyfold.segment_crossings(net, S, E, mode="exact")
    check_against_reference(net, S, E, ex)
    ce, fl, clean = check_modes(net, S, E, ex)
    if kind == "chain":
        pl = graph_to_plnet(net)
        assert pl is not None
        pex = polyfold.segment_crossings(pl, S, E, mode="exact")
        assert_same_partition(ex, pex)
        np.testing.assert_array_equal(pex.degenerate, ex.degenerate)
        np.testing.assert_array_equal(pex.endpoint_on_boundary, ex.endpoint_on_boundary)
        assert_same_partition(ex, polyfold.segment_crossings(pl, S, E, mode="certified"), bound=True)
        assert_same_partition(ex, polyfold.segment_crossings(pl, S, E, mode="float"),
                              segments=clean, atol=1e-9)


# ---------------------------------------------------------------------------
# hand-made degenerate cases
# ---------------------------------------------------------------------------
def _net_1d(W1, b1, unit="relu", W2=None):
    g = GraphBuilder((len(W1[0]),))
    h = g.dense(g.input, np.array(W1, float), np.array(b1, float))
    h = getattr(g, unit)(h) if unit != "maxout" else g.maxout(h, 2)
    if W2 is not None:
        h = g.relu(g.dense(h, np.array(W2, float), np.zeros(len(W2))))
    return g.build(g.dense(h, np.ones((1, g.shape(h)[0]))))


def _all_modes(net, S, E):
    S, E = np.atleast_2d(np.array(S, float)), np.atleast_2d(np.array(E, float))
    ex = polyfold.segment_crossings(net, S, E, mode="exact")
    check_against_reference(net, S, E, ex)
    check_modes(net, S, E, ex)
    return ex


def test_several_units_switching_at_one_point_make_one_breakpoint():
    # x - 1/2, 2x - 1, -x + 1/2 switch at t = 1/2 (x itself is 0 at the start only);
    # then the max of x and 1 - x
    net = _net_1d([[1.0], [2.0], [-1.0], [1.0]], [-0.5, -1.0, 0.5, 0.0], "relu")
    ex = _all_modes(net, [0.0], [1.0])
    assert ex.breakpoints(0) == [F(1, 2)]
    assert ex.switches(0) == [[("act0", (0,)), ("act0", (1,)), ("act0", (2,))]]
    assert ex.piece_codes(0).tolist() == [[0, 0, 1, 1], [1, 1, 0, 1]]
    g = GraphBuilder((1,))
    m = g.maxout(g.dense(g.input, np.array([[1.0], [-1.0]]), np.array([0.0, 1.0])), 2)
    ex = _all_modes(g.build(g.dense(m, np.ones((1, 1)))), [0.0], [1.0])
    assert ex.breakpoints(0) == [F(1, 2)] and ex.piece_codes(0)[:, 0].tolist() == [1, 0]


def test_segment_inside_a_hyperplane_is_degenerate_and_takes_the_lower_code():
    # hard tanh on (-1, 1), thresholds -1, 0, 1.  Segment 0 runs along the diagonal:
    # z0 = x0 - x1 = 0 throughout (one threshold, -1, below it), z1 = 4t - 2 crosses
    # all three thresholds (t = 1/4, 1/2, 3/4).  Segment 1 runs along x0 + x1 = 1:
    # z1 = 1 = hi throughout (two thresholds below), z0 = 2t - 1 crosses 0 at 1/2.
    net = _net_1d([[1.0, -1.0], [1.0, 1.0]], [0.0, 0.0], "hardtanh")
    ex = _all_modes(net, [[-1.0, -1.0], [0.0, 1.0]], [[1.0, 1.0], [1.0, 0.0]])
    assert ex.degenerate.tolist() == [True, True]
    assert ex.breakpoints(0) == [F(1, 4), F(1, 2), F(3, 4)] and ex.breakpoints(1) == [F(1, 2)]
    assert ex.piece_codes(0).tolist() == [[1, 0], [1, 1], [1, 2], [1, 3]]
    assert ex.piece_codes(1).tolist() == [[1, 2], [2, 2]]


def test_endpoints_on_boundaries_and_zero_length_segments():
    net = _net_1d([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.0, -1.0, -1.0], "relu")
    S = [[0.0, 0.0], [1.0, 1.0], [0.5, 0.5], [2.0, 0.0], [0.0, 2.0]]
    E = [[0.0, 0.0], [1.0, 1.0], [0.5, 0.5], [0.0, 2.0], [2.0, 0.0]]
    # ReLUs of x0, x1 - 1, x0 + x1 - 1.  Zero-length segments at (0, 0), (1, 1) and
    # (0.5, 0.5) sit on the hyperplanes of units 0, 1 and 2 (a one-point piece with a
    # unit at its threshold at both ends: degenerate); (2, 0) -> (0, 2): x1 - 1 crosses
    # at t = 1/2, x0 reaches 0 at the end only, x0 + x1 - 1 = 1 throughout
    ex = _all_modes(net, S, E)
    assert ex.n_pieces.tolist() == [1, 1, 1, 2, 2]
    assert ex.breakpoints(3) == ex.breakpoints(4) == [F(1, 2)]
    assert ex.endpoint_on_boundary.tolist() == [[True, True], [True, True], [True, True],
                                                [False, True], [True, False]]
    assert ex.degenerate.tolist() == [True, True, True, False, False]
    assert ex.piece_codes(3).tolist() == [[1, 0, 1], [1, 1, 1]]


def test_max_ties_at_endpoints_and_along_pieces():
    # maxout of (x, x) (a tie everywhere: no boundary) and of (x, 1 - x) and (x, -x)
    g = GraphBuilder((1,))
    W = np.array([[1.0], [1.0], [1.0], [-1.0], [1.0], [-1.0]])
    m = g.maxout(g.dense(g.input, W, np.array([0.0, 0.0, 0.0, 1.0, 0.0, 0.0])), 2)
    net = g.build(g.dense(m, np.ones((1, 3))))
    # (0.5 -> 1: x = 1 - x at the start; 0 -> 0.5: x = -x at the start, x = 1 - x at the
    # end; -1 -> 1: max(x, -x) switches at x = 0, max(x, 1 - x) at x = 1/2)
    ex = _all_modes(net, [[0.5], [0.0], [-1.0]], [[1.0], [0.5], [1.0]])
    assert ex.endpoint_on_boundary.tolist() == [[True, False], [True, True], [False, False]]
    assert ex.breakpoints(2) == [F(1, 2), F(3, 4)]
    assert ex.piece_codes(2).tolist() == [[0, 1, 1], [0, 1, 0], [0, 0, 0]]
    assert ex.piece_codes(0)[:, 0].tolist() == [0]  # the lowest index on a tie
    assert not ex.degenerate.any()  # (max ties do not make a segment degenerate)
    # zero-length segments at x = 0.5 (x = 1 - x) and x = 0 (x = -x): the tie holds on
    # the only piece, the point itself, so no flag (documented); the lowest index wins
    ex = _all_modes(net, [[0.5], [0.0]], [[0.5], [0.0]])
    assert ex.endpoint_on_boundary.tolist() == [[False, False], [False, False]]
    assert ex.n_pieces.tolist() == [1, 1]
    assert ex.piece_codes(0).tolist() == [[0, 0, 0]] and ex.piece_codes(1).tolist() == [[0, 1, 0]]


def test_padded_max_pool_after_dead_relus_with_integer_endpoints():
    # dead ReLUs give exact zeros to a padded max pool: exact ties among candidates
    g = GraphBuilder((1, 3, 3))
    h = g.relu(g.conv(g.input, np.array([[[[1.0, -1.0], [0.0, 1.0]]], [[[-1.0, 0.0], [1.0, 0.0]]]]),
                      np.array([-1.0, 0.0]), padding=1))
    h = g.max_pool(h, 3, stride=2, padding=1)
    net = g.build(g.dense(g.flatten(h), np.ones((1, g.shape(g.flatten(h))[0]))))
    rng = np.random.default_rng(3)
    S = rng.integers(-2, 3, (6, 9)).astype(float)
    E = rng.integers(-2, 3, (6, 9)).astype(float)
    E[0] = S[0]
    _all_modes(net, S, E)


def test_digits_cnn_short_segments_all_modes():
    from polyfold.datasets import load_digits_split

    _, _, X, _ = load_digits_split()
    net = polyfold.zoo.digits_cnn()
    S = X[[0, 3]]
    E = S + 0.05 * (X[[1, 4]] - S)
    ex = polyfold.segment_crossings(net, S, E, mode="exact")
    check_modes(net, S, E, ex)
    mids = [[(a + b) / 2 for a, b in zip(ts[:-1], ts[1:])]
            for ts in ([F(0)] + list(ex.breakpoints(i)) + [F(1)] for i in range(2))]
    for i in range(2):
        np.testing.assert_array_equal(reference_codes(net, _points(S[i], E[i], mids[i])), ex.piece_codes(i))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["vec", "chain", "img"])
def test_many_random_tie_heavy_graphs(kind):
    for seed in range(200):
        net, S, E = _make(kind, 10**7 + seed)
        ex = polyfold.segment_crossings(net, S, E, mode="exact")
        check_against_reference(net, S, E, ex)
        check_modes(net, S, E, ex)


@pytest.mark.slow
def test_resnet_cifar_short_segment_certified_equals_exact():
    net = polyfold.zoo.resnet_cifar(widths=(2, 2, 2))
    rng = np.random.default_rng(0)
    S = rng.integers(0, 2, (1, net.input_dim)).astype(float)
    E = S + rng.integers(-1, 2, (1, net.input_dim)) / 64
    ex = polyfold.segment_crossings(net, S, E, mode="exact")
    check_modes(net, S, E, ex)


# ---------------------------------------------------------------------------
# known mismatch outside the graph kernel
# ---------------------------------------------------------------------------
def _proportional_pair_net():
    # y1 = y0 / 2 switch at one point; z = 2 relu(y1) - relu(y0) is identically 0
    g = GraphBuilder((1,))
    y = g.relu(g.dense(g.input, np.array([[9.9], [4.95]]), np.array([-5.4, -2.7])))
    z = g.relu(g.dense(y, np.array([[-1.0, 2.0]]), np.zeros(1)))
    return g.build(g.dense(z, np.ones((1, 1))))


def test_graph_float_sets_every_unit_switching_at_a_merged_point_to_its_threshold():
    net = _proportional_pair_net()
    ex = polyfold.segment_crossings(net, [0.0], [1.0], mode="exact")
    assert ex.piece_codes(0).tolist() == [[0, 0, 0], [1, 1, 0]]  # z = 0: inactive
    fl = polyfold.segment_crossings(net, [0.0], [1.0], mode="float")
    np.testing.assert_array_equal(fl.codes, ex.codes)


def test_chain_graph_and_its_plnet_agree_in_float_mode_on_a_merged_tie():
    net = _proportional_pair_net()
    pl = graph_to_plnet(net)
    a = polyfold.segment_crossings(net, [0.0], [1.0], mode="float")
    b = polyfold.segment_crossings(pl, [0.0], [1.0], mode="float")
    np.testing.assert_array_equal(b.codes, a.codes)
    # two units cross at one point and are merged there: both sit at their threshold
    # at the merged point, so the unit 2 relu(y1) - relu(y0), identically 0, stays 0
    # (exact mode, an independent computation, says so); in both dense kernels
    ex = polyfold.segment_crossings(pl, [0.0], [1.0], mode="exact")
    for backend in ("c", "numpy"):
        f = polyfold.segment_crossings(pl, [0.0], [1.0], mode="float", backend=backend)
        np.testing.assert_array_equal(f.codes, ex.codes)


# ---------------------------------------------------------------------------
# builder arguments of max units: PolyfoldErrors that name the argument
# ---------------------------------------------------------------------------
_BAD_MAX_ARGS = {
    "kernel 0": (lambda g: g.max_pool(g.input, 0), "kernel"),  # was ZeroDivisionError
    "stride 0": (lambda g: g.max_pool(g.input, 2, stride=0), "stride"),  # ZeroDivisionError
    "kernel 2.5": (lambda g: g.max_pool(g.input, 2.5), "kernel"),  # TypeError
    "padding -1": (lambda g: g.max_pool(g.input, 2, padding=-1), "padding"),  # accepted
    "dilation 0": (lambda g: g.max_pool(g.input, 2, dilation=0), "dilation"),  # accepted
    "out_size 0": (lambda g: g.adaptive_max_pool(g.input, 0), "out_size"),  # ValueError
    "maxout k 2.5": (lambda g: g.maxout(g.input, 2.5), "k"),  # silently k = 2
    "maxout k 'a'": (lambda g: g.maxout(g.input, "a"), "k"),  # ValueError
    "axis 5": (lambda g: g.max_over_axis(g.input, 5), "axis"),  # silently axis 5 % 3
    "axis 'x'": (lambda g: g.max_over_axis(g.input, "x"), "axis"),  # ValueError
    "cand 1.5": (lambda g: g.max_units(g.flatten(g.input), (2,), [[0, 1.5], [2, 3]]), "cand"),  # truncated
    "cand 'ab'": (lambda g: g.max_units(g.flatten(g.input), (2,), "ab"), "cand"),  # ValueError
    "no units": (lambda g: g.max_units(g.flatten(g.input), (0,), np.zeros((0, 2), int)), "out_shape"),
}


@pytest.mark.parametrize("case", sorted(_BAD_MAX_ARGS))
def test_bad_max_unit_arguments_raise_polyfold_errors_naming_them(case):
    from polyfold.exceptions import PolyfoldError

    build, name = _BAD_MAX_ARGS[case]
    with pytest.raises(PolyfoldError, match=name):
        build(GraphBuilder((1, 4, 4)))


def test_valid_max_unit_arguments_still_build():
    g = GraphBuilder((1, 4, 4))
    a = g.max_pool(g.input, (2, 3), stride=(1, 2), padding=(1, 1), dilation=np.int64(1))
    assert g.shape(a) == (1, 5, 2)
    assert g.shape(g.adaptive_max_pool(g.input, (2, 3))) == (1, 2, 3)
    assert g.shape(g.max_over_axis(g.input, -1)) == (1, 4)
    assert g.shape(g.maxout(g.input, np.int32(4))) == (4,)
    assert g.shape(g.max_units(g.flatten(g.input), (2,), np.array([[0.0, 1.0], [2.0, -1.0]]))) == (2,)


@settings(max_examples=15, deadline=None)
@given(st.sampled_from(["vec", "chain", "img"]), st.integers(0, 10**6))
def test_segment_batches_do_not_change_the_result(kind, seed):
    # the graph engine runs segments in batches sized by their states; one segment per
    # batch and all segments in one batch give the same result in every mode (ids of
    # undecided segments, flags and exact repairs included)
    from polyfold.graph import crossings as gc

    net, S, E = _make(kind, seed)
    S, E = np.concatenate([S, S[::-1] + 1]), np.concatenate([E, E[::-1] - 1])
    runs = []
    for batch, probe in ((1, 1), (2**62, 10**6)):
        old = gc.BATCH_BYTES, gc.PROBE_SEGMENTS
        gc.BATCH_BYTES, gc.PROBE_SEGMENTS = batch, probe
        try:
            runs.append([polyfold.segment_crossings(net, S, E, mode=m) for m in ("float", "certified", "exact")])
        finally:
            gc.BATCH_BYTES, gc.PROBE_SEGMENTS = old
    clean = ~runs[1][1].exact_segments  # float: a near tie may go either way
    for mode, one, whole in zip(("float", "certified", "exact"), *runs):
        segs = np.flatnonzero(clean) if mode == "float" else range(one.n_segments)
        for i in segs:
            np.testing.assert_array_equal(one.piece_codes(i), whole.piece_codes(i))
            a, b = one.breakpoints(i), whole.breakpoints(i)
            if mode == "float":
                np.testing.assert_allclose(np.asarray(a, float), np.asarray(b, float), rtol=0, atol=1e-12)
            else:
                assert [F(v) for v in a] == [F(v) for v in b], i
        if mode != "float":
            np.testing.assert_array_equal(one.piece_offsets, whole.piece_offsets)
            np.testing.assert_array_equal(one.degenerate, whole.degenerate)
            np.testing.assert_array_equal(one.endpoint_on_boundary, whole.endpoint_on_boundary)
            np.testing.assert_array_equal(one.exact_segments, whole.exact_segments)
        if mode == "certified":
            np.testing.assert_array_equal(one.t_error, whole.t_error)
