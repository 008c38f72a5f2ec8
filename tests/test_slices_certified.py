"""Certified slice complexes have the exact combinatorics, however close the lines.

Expected values come from hand derivations (arrangements of a few lines), from
an independent exact recomputation written here with ``fractions.Fraction``
(forward passes, shared edges of the exact polygons), and from ``mode="exact"``
(itself checked against those references) for the certified-equals-exact
properties.
"""

from fractions import Fraction as Fr
from math import sqrt

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyfold import PLNet, zoo
from polyfold.slices import slice_complex

O2, E1, E2 = [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]
BIG = (-1000.0, 1000.0, -1000.0, 1000.0)


# ---------------------------------------------------------------------------
# independent exact references (Fractions; nothing from polyfold)
# ---------------------------------------------------------------------------
def _net_fractions(net):
    return [([[Fr(float(w)) for w in row] for row in W], [Fr(float(c)) for c in b])
            for W, b in net.layers]


def _forward_fr(layers, x):
    """Preactivations of the hidden layers and the logits of a ReLU net, in Fractions."""
    zs = []
    h = list(x)
    for k, (W, b) in enumerate(layers):
        z = [sum((w * v for w, v in zip(row, h)), Fr(0)) + c for row, c in zip(W, b)]
        zs.append(z)
        h = [max(v, Fr(0)) for v in z]
    return zs


def _codes_fr(layers, x):
    zs = _forward_fr(layers, x)[:-1]
    return tuple(int(v > 0) for z in zs for v in z)


def _plane_point(o, e1, e2, u, v):
    return [Fr(float(o[i])) + Fr(float(u)) * Fr(float(e1[i])) + Fr(float(v)) * Fr(float(e2[i]))
            for i in range(len(o))]


def _exact_polygon(cx, i):
    return [(Fr(a), Fr(b)) for a, b in cx.exact_polygon(i)]


def _shared_length_sq(P, Q):
    """Squared length of the common boundary of two convex polygons (exact), 0 if none."""
    best = Fr(0)
    for a in range(len(P)):
        p0, p1 = P[a], P[(a + 1) % len(P)]
        d = (p1[0] - p0[0], p1[1] - p0[1])
        nn = d[0] * d[0] + d[1] * d[1]
        for b in range(len(Q)):
            q0, q1 = Q[b], Q[(b + 1) % len(Q)]
            cross = lambda q: d[0] * (q[1] - p0[1]) - d[1] * (q[0] - p0[0])
            if cross(q0) != 0 or cross(q1) != 0:
                continue
            t = sorted(((q[0] - p0[0]) * d[0] + (q[1] - p0[1]) * d[1]) / nn for q in (q0, q1))
            lo, hi = max(t[0], Fr(0)), min(t[1], Fr(1))
            if hi > lo:
                best += (hi - lo) ** 2 * nn
    return best


def _pairs_by_codes(cx):
    """Adjacent pairs by the regions' codes, with the switching units as positions in
    the code vector (so that a net and its graph form compare)."""
    pairs, sw = cx.adjacency
    index = {cx.net.unit_of(i): i for i in range(cx.net.n_hidden)}
    return {(frozenset((cx.codes[a].tobytes(), cx.codes[b].tobytes())),
             tuple(sorted(index[u] for u in s)))
            for (a, b), s in zip(pairs.tolist(), sw)}


def _lengths_by_codes(cx):
    pairs, _ = cx.adjacency
    return {frozenset((cx.codes[a].tobytes(), cx.codes[b].tobytes())): m
            for (a, b), m in zip(pairs.tolist(), cx.facet_measures)}


def _pieces_by_codes(cx):
    db = cx.decision_boundary
    out = {}
    for seg, r, c in zip(db.segments, db.region, db.classes):
        out.setdefault((cx.codes[r].tobytes(), tuple(c)), []).append(seg)
    return out


def _same_pieces(a, b, atol):
    if a.keys() != b.keys():
        return False
    for k in a:
        if len(a[k]) != len(b[k]):
            return False
        for s in a[k]:
            if not any(min(np.abs(s - t).max(), np.abs(s[::-1] - t).max()) <= atol for t in b[k]):
                return False
    return True


def _assert_certified_is_exact(net, bounds, origin=O2, e1=E1, e2=E2, graph=False):
    """Certified (of ``net``, or of its graph form) against exact of the dense net."""
    ex = slice_complex(net, origin, e1, e2, bounds=bounds, mode="exact")
    ce = slice_complex(net.to_graph() if graph else net, origin, e1, e2, bounds=bounds,
                       mode="certified")
    assert {c.tobytes() for c in ce.codes} == {c.tobytes() for c in ex.codes}
    assert ce.n_regions == ex.n_regions
    assert _pairs_by_codes(ce) == _pairs_by_codes(ex)
    le, lc = _lengths_by_codes(ex), _lengths_by_codes(ce)
    scale = max(abs(v) for v in bounds)
    for k, m in le.items():
        assert lc[k] == pytest.approx(m, abs=1e-9 * scale)
    assert _same_pieces(_pieces_by_codes(ce), _pieces_by_codes(ex), atol=1e-9 * scale)
    # predicted classes: the region's own logits at its interior point; the two
    # modes' points differ (float vs exact vertices), so compare the regions
    # without a decision-boundary piece (one class on the whole region)
    with_piece = {cx_codes for cx_codes, _ in _pieces_by_codes(ex)}
    cls_e = {c.tobytes(): p for c, p in zip(ex.codes, ex.predicted_classes)}
    for c, p in zip(ce.codes, ce.predicted_classes):
        if c.tobytes() not in with_piece:
            assert p == cls_e[c.tobytes()]
    # locate at every vertex (points on boundaries) agrees with exact codes
    V = ce.vertices
    assert np.array_equal(ce.locate(V), _locate_fr(ce, net, V, origin, e1, e2))
    return ex, ce


def _locate_fr(cx, net, uv, origin, e1, e2):
    layers = _net_fractions(net)
    key = {tuple(int(v) for v in c): i for i, c in enumerate(cx.codes)}
    return np.array([key.get(_codes_fr(layers, _plane_point(origin, e1, e2, u, v)), -1)
                     for u, v in uv], dtype=np.int64)


# ---------------------------------------------------------------------------
# the reported case and hand-made near-degenerate arrangements
# ---------------------------------------------------------------------------
def test_reported_short_edge_is_kept():
    # lines u = 0, v = 0, v = 1e-7 in [-1000, 1000]^2: 6 regions; across u = 0 the
    # three strips give three edges (lengths 1000, 1e-7, 1000 - 1e-7), across each
    # horizontal line two edges of length 1000: 7 edges
    W = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    net = PLNet.from_arrays([(W, np.array([0.0, 0.0, -1e-7])), (np.ones((1, 3)), np.zeros(1))])
    eps = float(Fr(1e-7))
    expected = {  # (codes of the two regions) -> (switching units, length)
        ((0, 0, 0), (1, 0, 0)): ([(0, 0)], 1000.0),
        ((0, 1, 0), (1, 1, 0)): ([(0, 0)], eps),
        ((0, 1, 1), (1, 1, 1)): ([(0, 0)], 1000.0 - eps),
        ((0, 0, 0), (0, 1, 0)): ([(0, 1)], 1000.0),
        ((1, 0, 0), (1, 1, 0)): ([(0, 1)], 1000.0),
        ((0, 1, 0), (0, 1, 1)): ([(0, 2)], 1000.0),
        ((1, 1, 0), (1, 1, 1)): ([(0, 2)], 1000.0),
    }
    for mode in ("exact", "certified"):
        cx = slice_complex(net, O2, E1, E2, bounds=BIG, mode=mode)
        assert cx.n_regions == 6
        pairs, sw = cx.adjacency
        got = {}
        for (a, b), s, m in zip(pairs.tolist(), sw, cx.facet_measures):
            ka, kb = sorted((tuple(cx.codes[a].tolist()), tuple(cx.codes[b].tolist())))
            got[(ka, kb)] = (sorted(s), m)
        assert got.keys() == expected.keys()
        for k, (s, m) in expected.items():
            assert got[k][0] == s
            assert got[k][1] == pytest.approx(m, rel=1e-6)
        assert cx.graph.number_of_edges() == 7


@pytest.mark.parametrize("eps", [1e-7, 1e-9, 1e-12])
def test_three_lines_almost_through_one_point(eps):
    # u = 0, v = 0, u + v = eps: lines in general position give 7 regions (one tiny
    # triangle of legs eps) and 9 edges (each line cut into three by the others)
    W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    net = PLNet.from_arrays([(W, np.array([0.0, 0.0, -eps])), (np.ones((1, 3)), np.zeros(1))])
    ex, ce = _assert_certified_is_exact(net, BIG)
    assert ce.n_regions == 7
    assert len(ce.adjacency[0]) == 9
    e = float(Fr(eps))
    tiny = sorted(ce.facet_measures)[:3]
    np.testing.assert_allclose(tiny, [e, e, e * sqrt(2)], rtol=1e-3)


@pytest.mark.parametrize("gap", [1e-9, 1e-12])
def test_parallel_lines_close_together(gap):
    # v = 0 and v = gap, crossed by u = 0 and by u = 1 + v (slanted; the two meet at
    # (0, -1)): one parallel pair among four lines
    W = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, -1.0]])
    b = np.array([0.0, -gap, 0.0, -1.0])
    net = PLNet.from_arrays([(W, b), (np.ones((1, 4)), np.zeros(1))])
    ex, ce = _assert_certified_is_exact(net, BIG)
    # regions 1 + 4 lines + 5 crossing points = 10; edges: each parallel line is cut
    # by the two others into 3 (6), each crossing line by three lines into 4 (8): 14
    assert ce.n_regions == 10
    assert len(ce.adjacency[0]) == 14
    # independent check: shared edges of the exact polygons
    _assert_adjacency_from_polygons(ex)


def test_second_layer_line_bends_near_a_crossing():
    # a second-layer neuron z = h(u) + v - delta, h = relu(u) - relu(-u) * 0.5: its line
    # bends on u = 0 and crosses it at v = delta, delta away from the line v = 0
    W1 = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    delta = 1e-10
    W2 = np.array([[1.0, -0.5, 1.0, -1.0], [0.0, 0.0, 1.0, -1.0]])
    b2 = np.array([-delta, 0.0])
    net = PLNet.from_arrays([(W1, np.zeros(4)), (W2, b2), (np.ones((1, 2)), np.zeros(1))])
    ex, ce = _assert_certified_is_exact(net, BIG)
    _assert_adjacency_from_polygons(ex)


def _assert_adjacency_from_polygons(ex):
    polys = [_exact_polygon(ex, i) for i in range(ex.n_regions)]
    want = set()
    for a in range(ex.n_regions):
        for b in range(a + 1, ex.n_regions):
            if _shared_length_sq(polys[a], polys[b]) > 0:
                want.add((a, b))
    assert {tuple(p) for p in ex.adjacency[0].tolist()} == want


def test_decision_boundary_close_to_a_vertex():
    # logit u - v + eps with lines u = 0, v = 0: the boundary v = u + eps crosses the
    # quadrant u < 0 < v on a piece of length eps sqrt(2), quadrant I and III on
    # pieces of length (1000 - eps) sqrt(2), and misses quadrant IV
    eps = 1e-9
    W1 = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    W2 = np.array([[1.0, -1.0, -1.0, 1.0]])
    net = PLNet.from_arrays([(W1, np.zeros(4)), (W2, np.array([eps]))])
    e = float(Fr(eps))
    for mode in ("exact", "certified"):
        cx = slice_complex(net, O2, E1, E2, bounds=BIG, mode=mode)
        db = cx.decision_boundary
        assert len(db) == 3
        quad = {}
        for seg, r in zip(db.segments, db.region):
            c = tuple(cx.codes[r].tolist())  # (u > 0, u < 0, v > 0, v < 0)
            quad[c] = np.linalg.norm(seg[1] - seg[0])
        assert quad.keys() == {(0, 1, 1, 0), (1, 0, 1, 0), (0, 1, 0, 1)}
        assert quad[(0, 1, 1, 0)] == pytest.approx(e * sqrt(2), rel=1e-6)
        assert quad[(1, 0, 1, 0)] == pytest.approx((1000 - e) * sqrt(2), rel=1e-12)
        assert quad[(0, 1, 0, 1)] == pytest.approx((1000 - e) * sqrt(2), rel=1e-12)


def test_decision_boundary_three_classes_tied_on_one_line():
    # logits (u, u, 0): classes 0 and 1 tie everywhere (no line, no piece); on u = 0
    # both tie with class 2, so (0, 2) and (1, 2) both get the piece u = 0
    W1 = np.eye(2)
    net = PLNet.from_arrays([(W1, np.array([5.0, 5.0])),
                             (np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]]),
                              np.array([-5.0, -5.0, 0.0]))])
    for mode in ("exact", "certified", "float"):
        db = slice_complex(net, O2, E1, E2, bounds=(-1, 1, -1, 1), mode=mode).decision_boundary
        assert sorted(map(tuple, db.classes.tolist())) == [(0, 2), (1, 2)]
        np.testing.assert_allclose(db.segments[:, :, 0], 0.0, atol=1e-12)
        lengths = np.linalg.norm(db.segments[:, 1] - db.segments[:, 0], axis=1)
        np.testing.assert_allclose(lengths, [2.0, 2.0])


def test_locate_is_exact_where_float_rounding_flips_a_sign():
    # x = o + u e1 + v e2 rounds so that the float preactivation x1 + x2 - c is 0
    # (inactive) while the exact value is about +2.5e-16 (active)
    o, e1, e2 = np.array([0.1, 0.2]), np.array([0.7, 0.3]), np.array([0.3, 0.9])
    u, v = 0.8132702392002724, 0.9127555772777217
    c = 2.208576931933538
    W = np.array([[1.0, 1.0], [1.0, -1.0]])
    net = PLNet.from_arrays([(W, np.array([-c, 0.0])), (np.ones((1, 2)), np.zeros(1))])
    layers = _net_fractions(net)
    want_codes = _codes_fr(layers, _plane_point(o, e1, e2, u, v))
    assert want_codes[0] == 1  # the independent exact forward pass: active
    for mode in ("exact", "certified"):
        cx = slice_complex(net, o, e1, e2, bounds=(0, 1, 0, 1), mode=mode)
        r = cx.locate([[u, v]])[0]
        assert r >= 0 and tuple(cx.codes[r].tolist()) == want_codes


def test_nearly_parallel_directions_allowed_in_certified_mode():
    # e2 = e1 + 1e-12 * (0, 1) is independent; exact and certified modes slice it,
    # float mode refuses it as numerically parallel
    from polyfold.exceptions import DegenerateInputError

    net = zoo.arrangement(3, 2, seed=0)
    e1, e2 = [1.0, 0.0], [1.0, 1e-12]
    ce = slice_complex(net, O2, e1, e2, bounds=(-1, 1, -1, 1), mode="certified")
    ex = slice_complex(net, O2, e1, e2, bounds=(-1, 1, -1, 1), mode="exact")
    assert {c.tobytes() for c in ce.codes} == {c.tobytes() for c in ex.codes}
    with pytest.raises(DegenerateInputError, match="parallel"):
        slice_complex(net, O2, e1, e2, bounds=(-1, 1, -1, 1), mode="float")
    with pytest.raises(DegenerateInputError, match="exactly"):
        slice_complex(net, O2, e1, [2.0, 0.0], bounds=(-1, 1, -1, 1), mode="certified")


def test_adjacency_fallback_counts_recomputed_polygons():
    # v = 0 and v = 1e-13 crossed by u = 0 in [-1000, 1000]^2: the strip's edge on
    # u = 0 is shorter than the float bounds of its end points (about 1e-13 at this
    # scale), so adjacency rebuilds the chord's edges exactly and counts them
    W = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    net = PLNet.from_arrays([(W, np.array([0.0, 0.0, -1e-13])), (np.ones((1, 3)), np.zeros(1))])
    ce = slice_complex(net, O2, E1, E2, bounds=BIG, mode="certified")
    before = ce.n_recomputed
    assert len(ce.adjacency[0]) == 7  # as for the 1e-7 gap (hand count above)
    assert ce.n_recomputed > before
    after = ce.n_recomputed
    _ = ce.graph  # cached: no second recomputation
    assert ce.n_recomputed == after
    _assert_certified_is_exact(net, BIG)


# ---------------------------------------------------------------------------
# property: certified == exact on small integer nets with tiny offsets, large boxes
# ---------------------------------------------------------------------------
@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 100_000),
    widths=st.lists(st.integers(1, 4), min_size=1, max_size=2),
    out_dim=st.sampled_from([1, 3]),
    scale=st.sampled_from([1e-7, 1e-9, 1e-10, 1e-12]),
    half=st.sampled_from([10.0, 1000.0]),
)
def test_certified_equals_exact_with_tiny_offsets(seed, widths, out_dim, scale, half):
    base = zoo.random_mlp(widths, 2, out_dim, seed=seed, integer=True)
    rng = np.random.default_rng(seed)
    layers = [(W, b + scale * rng.integers(-3, 4, size=b.shape)) for W, b in base.layers]
    net = PLNet.from_arrays(layers)
    bounds = (-half, half, -half, half + 0.5)
    ex, ce = _assert_certified_is_exact(net, bounds)
    if ex.n_regions <= 30:
        _assert_adjacency_from_polygons(ex)
    # interior points of the exact complex are located in their own region
    assert np.array_equal(ce.locate(ex.interior_points),
                          _locate_fr(ce, net, ex.interior_points, O2, E1, E2))


# ---------------------------------------------------------------------------
# graph networks: the same certified slices through the stage evaluation
# ---------------------------------------------------------------------------
def _near_degenerate_nets():
    W = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    yield "short edge", PLNet.from_arrays([(W, np.array([0.0, 0.0, -1e-7])),
                                           (np.ones((1, 3)), np.zeros(1))])
    yield "tiny gap", PLNet.from_arrays([(W, np.array([0.0, 0.0, -1e-13])),
                                         (np.ones((1, 3)), np.zeros(1))])
    W3 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    yield "three lines", PLNet.from_arrays([(W3, np.array([0.0, 0.0, -1e-12])),
                                            (np.ones((1, 3)), np.zeros(1))])
    W1 = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    yield "boundary near vertex", PLNet.from_arrays([(W1, np.zeros(4)),
                                                     (np.array([[1.0, -1.0, -1.0, 1.0]]),
                                                      np.array([1e-9]))])
    W2 = np.array([[1.0, -0.5, 1.0, -1.0], [0.0, 0.0, 1.0, -1.0]])
    yield "second layer", PLNet.from_arrays([(W1, np.zeros(4)), (W2, np.array([-1e-10, 0.0])),
                                             (np.ones((1, 2)), np.zeros(1))])


@pytest.mark.parametrize("name,net", list(_near_degenerate_nets()))
def test_graph_nets_certified_equal_exact(name, net):
    _assert_certified_is_exact(net, BIG, graph=True)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 100_000), scale=st.sampled_from([1e-7, 1e-10, 1e-12]),
       out_dim=st.sampled_from([1, 3]))
def test_graph_certified_equals_exact_with_tiny_offsets(seed, scale, out_dim):
    base = zoo.random_mlp([3, 3], 2, out_dim, seed=seed, integer=True)
    rng = np.random.default_rng(seed)
    layers = [(W, b + scale * rng.integers(-3, 4, size=b.shape)) for W, b in base.layers]
    _assert_certified_is_exact(PLNet.from_arrays(layers), BIG, graph=True)
