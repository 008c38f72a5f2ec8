"""Tests of polyfold.slices (slice and box complexes) and polyfold.adjacency.

Expected values come from closed forms (hyperplane arrangements, the tent map),
exact rational recomputation (python-flint / fractions), the forward pass, and
brute-force sampling, never from the code's own output.
"""

import itertools
from fractions import Fraction
from math import comb, sqrt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from polyfold import PLNet, zoo
from polyfold.exceptions import (
    DegenerateInputError,
    DomainError,
    PolyfoldError,
    ShapeError,
    ValidationError,
)
from polyfold.slices import box_complex, polytope_complex, slice_complex, slice_through

MODES = ["float", "certified", "exact"]
E1, E2, O2 = [1.0, 0.0], [0.0, 1.0], [0.0, 0.0]


# ---------------------------------------------------------------------------
# helpers (independent of the code under test)
# ---------------------------------------------------------------------------
def _vertices_box(W, b, margin=1.0):
    """Box containing every intersection of d hyperplanes W_i x + b_i = 0 (solved here)."""
    n, d = W.shape
    pts = []
    for rows in itertools.combinations(range(n), d):
        M = W[list(rows)]
        pts.append(np.linalg.solve(M, -b[list(rows)]))
    pts = np.array(pts)
    return pts.min() - margin, pts.max() + margin


def _key_set(cx):
    return {c.tobytes() for c in cx.codes}


def _sawtooth_2d(L):
    """A 2D net whose output is the tent map T^L(x) (y ignored): 2^L strips on [0,1]^2."""
    layers = [(np.array([[1.0, 0.0], [1.0, 0.0]]), np.array([0.0, -0.5]))]
    for _ in range(L - 1):
        layers.append((np.array([[2.0, -4.0], [2.0, -4.0]]), np.array([0.0, -0.5])))
    layers.append((np.array([[2.0, -4.0]]), np.array([0.0])))
    return PLNet.from_arrays(layers, "relu")


# ---------------------------------------------------------------------------
# arrangements: closed-form counts
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("n", [1, 3, 6, 9])
def test_arrangement_2d_counts(n, mode):
    net = zoo.arrangement(n, 2, seed=n)
    W, b = net.layers[0]
    lo, hi = _vertices_box(W, b) if n >= 2 else (-1.0, 1.0)
    cx = slice_complex(net, O2, E1, E2, bounds=(lo, hi, lo, hi), mode=mode)
    assert cx.n_regions == sum(comb(n, i) for i in range(3))
    # bounded regions of the plane: those not touching the box
    assert int((~cx.touches_boundary).sum()) == comb(n - 1, 2)
    # dual graph: every line is cut into n pieces by the other n - 1 lines
    assert len(cx.adjacency[0]) == n * n
    assert cx.measures.sum() == pytest.approx((hi - lo) ** 2, rel=1e-12)
    # every edge switches exactly one neuron (general position)
    assert all(len(s) == 1 for s in cx.adjacency[1])


@pytest.mark.parametrize("n", [3, 5])
def test_arrangement_3d_box_counts(n):
    net = zoo.arrangement(n, 3, seed=10 + n)
    W, b = net.layers[0]
    lo, hi = _vertices_box(W, b)
    cx = box_complex(net, lo, hi, mode="certified")
    assert cx.kind == "box"
    assert cx.n_regions == sum(comb(n, i) for i in range(4))
    assert int((~cx.touches_boundary).sum()) == comb(n - 1, 3)
    # facets: each plane carries an arrangement of n - 1 lines
    assert len(cx.adjacency[0]) == n * sum(comb(n - 1, i) for i in range(3))
    assert cx.measures.sum() == pytest.approx((hi - lo) ** 3, rel=1e-9)
    assert np.array_equal(net.codes(cx.interior_points), cx.codes)


def test_arrangement_4d_box_counts():
    n = 5
    net = zoo.arrangement(n, 4, seed=3)
    W, b = net.layers[0]
    lo, hi = _vertices_box(W, b)
    cx = box_complex(net, lo, hi, mode="float")
    assert cx.n_regions == sum(comb(n, i) for i in range(5))
    assert int((~cx.touches_boundary).sum()) == comb(n - 1, 4)
    assert cx.measures.sum() == pytest.approx((hi - lo) ** 4, rel=1e-9)
    # Qhull vertices of a region satisfy its H-representation
    A, c = cx.hrep(0)
    V = cx.region_vertices(0)
    assert np.all(V @ A.T + c >= -1e-7)


# ---------------------------------------------------------------------------
# sawtooth: 2^L strips with exact vertices
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("L", [1, 2, 4])
def test_sawtooth_strips(L, mode):
    net = _sawtooth_2d(L)
    cx = slice_complex(net, O2, E1, E2, bounds=(0, 1, 0, 1), mode=mode)
    assert cx.n_regions == 2**L
    # strip k is [k / 2^L, (k + 1) / 2^L] x [0, 1]
    lefts = sorted(float(cx.polygon(i)[:, 0].min()) for i in range(cx.n_regions))
    assert lefts == [k / 2**L for k in range(2**L)]
    np.testing.assert_allclose(cx.measures, 2.0**-L, rtol=1e-12)
    # the strips form a path
    assert len(cx.adjacency[0]) == 2**L - 1
    if mode == "exact":
        for i in range(cx.n_regions):
            us = {p[0] for p in cx.exact_polygon(i)}
            k = min(us) * 2**L
            assert k.denominator == 1 and us == {Fraction(int(k), 2**L), Fraction(int(k) + 1, 2**L)}
        assert sum(cx.exact_areas) == 1


# ---------------------------------------------------------------------------
# regions vs forward pass, areas, grid sampling
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "hardtanh"])
def test_interior_points_have_region_codes(mode, activation):
    net = zoo.random_mlp([6, 5], 2, 3, seed=4, activation=activation)
    cx = slice_complex(net, O2, E1, E2, bounds=(-2, 2, -1.5, 2.5), mode=mode)
    X = cx.to_input(cx.interior_points)
    if mode == "exact":
        from polyfold import arith

        cent = np.empty((cx.n_regions, 2), dtype=object)
        for i in range(cx.n_regions):
            rows = cx.exact_vertices[cx.vertex_offsets[i] : cx.vertex_offsets[i + 1]]
            cent[i, 0] = sum(rows[:, 0], arith.fmpq(0)) / len(rows)
            cent[i, 1] = sum(rows[:, 1], arith.fmpq(0)) / len(rows)
        assert np.array_equal(net.codes_exact(cent), cx.codes)
    else:
        assert np.array_equal(net.codes(X), cx.codes)
    assert len(_key_set(cx)) == cx.n_regions  # codes unique per region
    assert cx.measures.sum() == pytest.approx(16.0, rel=1e-12)
    assert np.all(cx.measures > 0)


def test_exact_areas_sum_exactly_on_polygon_domain():
    net = zoo.random_mlp([5, 5], 2, 2, seed=1, integer=True)
    tri = np.array([[-3.0, -2.0], [4.0, -1.0], [0.5, 3.5]])
    cx = slice_complex(net, O2, E1, E2, polygon=tri, mode="exact")
    Fr = [[Fraction(v) for v in row] for row in tri]
    area = abs((Fr[1][0] - Fr[0][0]) * (Fr[2][1] - Fr[0][1]) - (Fr[2][0] - Fr[0][0]) * (Fr[1][1] - Fr[0][1])) / 2
    total = sum(cx.exact_areas)
    assert Fraction(int(total.p), int(total.q)) == area
    # clockwise input is accepted too
    cw = slice_complex(net, O2, E1, E2, polygon=tri[::-1], mode="exact")
    assert _key_set(cw) == _key_set(cx)


def test_grid_sampling_finds_a_subset():
    net = zoo.random_mlp([10, 10], 2, 2, seed=2)
    cx = slice_complex(net, O2, E1, E2, bounds=(-1, 1, -1, 1), mode="certified")
    g = np.linspace(-1, 1, 301)
    U, V = np.meshgrid(g, g)
    codes = net.codes(np.stack([U.ravel(), V.ravel()], axis=1))
    found = {c.tobytes() for c in codes}
    assert found <= _key_set(cx)
    assert len(found) >= 0.5 * cx.n_regions
    # locate agrees with the sampled codes
    idx = cx.locate(np.stack([U.ravel(), V.ravel()], axis=1)[:500])
    assert np.all(idx >= 0)
    assert np.array_equal(cx.codes[idx], codes[:500])


def test_slice_of_higher_dimensional_input():
    net = zoo.random_mlp([8, 8], 5, 3, seed=0)
    rng = np.random.default_rng(0)
    x0, e1, e2 = rng.standard_normal((3, 5))
    cx = slice_complex(net, x0, e1, e2, bounds=(-1, 1, -1, 1), mode="certified")
    X = cx.to_input(cx.interior_points)
    assert np.array_equal(net.codes(X), cx.codes)
    # affine maps agree with the network at interior points
    V, u = cx.affine_maps
    np.testing.assert_allclose(np.einsum("rod,rd->ro", V, X) + u, net.forward(X), atol=1e-10)
    Vuv, uuv = cx.uv_maps
    np.testing.assert_allclose(np.einsum("rok,rk->ro", Vuv, cx.interior_points) + uuv,
                               net.forward(X), atol=1e-10)
    assert np.array_equal(cx.predicted_classes, net.predict(X))


def test_slice_through_digits_images():
    from polyfold.datasets import load_digits_split

    net = zoo.digits_mlp("2x30")
    _, _, Xte, _ = load_digits_split()
    cx = slice_through(net, Xte[0], Xte[1], Xte[2], margin=0.1, mode="certified")
    X = cx.to_input(cx.interior_points)
    assert np.array_equal(net.codes(X), cx.codes)
    assert cx.measures.sum() == pytest.approx(1.2**2, rel=1e-10)
    # the three images sit at (0, 0), (1, 0), (0, 1) and are classified as the net does
    idx = cx.locate([[0, 0], [1, 0], [0, 1]])
    assert np.all(idx >= 0)
    assert len(cx.decision_boundary) > 0 or len(set(net.predict(Xte[:3]).tolist())) == 1


# ---------------------------------------------------------------------------
# adjacency: probing across edges, segment crossings
# ---------------------------------------------------------------------------
def _probe_pairs(cx, net, step=1e-7, fractions=(0.2, 0.5, 0.8)):
    """Neighbour pairs and switching sets found by stepping across polygon edges
    (domain [-1, 1]^2)."""
    found = {}
    for i in range(cx.n_regions):
        P = cx.polygon(i)
        k = len(P)
        for j in range(k):
            p, q = P[j], P[(j + 1) % k]
            d = q - p
            normal = np.array([d[1], -d[0]]) / np.linalg.norm(d)  # outward for CCW
            for f in fractions:
                m = p + f * d
                outside = m + step * normal
                inside = m - step * normal
                if np.any(np.abs(outside) > 1):  # left the domain [-1, 1]^2
                    continue
                a = cx.locate(inside[None])[0]
                b = cx.locate(outside[None])[0]
                if a != i or b < 0:
                    continue  # fell on a vertex region or outside the domain
                ca, cb = net.codes(cx.to_input(np.stack([inside, outside])))
                sw = tuple(net.unit_of(int(t)) for t in np.flatnonzero(ca != cb))
                found[(min(a, b), max(a, b))] = sw
    return found


@pytest.mark.parametrize("mode", ["float", "exact"])
def test_adjacency_matches_probing(mode):
    net = zoo.random_mlp([6, 6], 2, 2, seed=7)
    cx = slice_complex(net, O2, E1, E2, bounds=(-1, 1, -1, 1), mode=mode)
    pairs, switching = cx.adjacency
    graph = {tuple(p): tuple(s) for p, s in zip(pairs.tolist(), switching)}
    probed = _probe_pairs(cx, net)
    assert set(probed) <= set(graph)
    assert len(probed) >= 0.9 * len(graph)
    for key, sw in probed.items():
        assert graph[key] == sw  # switching = neurons whose codes differ across the edge
    G = cx.graph
    assert G.number_of_nodes() == cx.n_regions and G.number_of_edges() == len(pairs)
    import networkx as nx

    assert nx.is_connected(G)


def test_line_in_slice_matches_segment_crossings():
    crossings = pytest.importorskip("polyfold.crossings")
    net = zoo.random_mlp([8, 8], 4, 2, seed=5)
    rng = np.random.default_rng(5)
    x0, e1, e2 = rng.standard_normal((3, 4))
    cx = slice_complex(net, x0, e1, e2, bounds=(-1, 1, -1, 1), mode="certified")
    pairs = {tuple(p) for p in cx.adjacency[0].tolist()}
    key = {c.tobytes(): i for i, c in enumerate(cx.codes)}
    for _ in range(5):
        a, b = rng.uniform(-1, 1, (2, 2))
        res = crossings.segment_crossings(net, cx.to_input(a[None]), cx.to_input(b[None]),
                                          mode="certified")
        codes = res.piece_codes(0)
        seq = [key[c.tobytes()] for c in np.asarray(codes, np.int8)]
        # consecutive pieces: adjacent regions with the same switching neurons
        sw_graph = dict(zip(map(tuple, cx.adjacency[0].tolist()), cx.adjacency[1]))
        for s, (r1, r2) in zip(res.switches(0), itertools.pairwise(seq)):
            assert (min(r1, r2), max(r1, r2)) in pairs
            assert sorted(sw_graph[(min(r1, r2), max(r1, r2))]) == sorted(s)
        # the number of pieces equals the number of polygons the segment passes
        # through with positive length (clip the segment against every polygon)
        count = 0
        for i in range(cx.n_regions):
            P = cx.polygon(i)
            t0, t1 = 0.0, 1.0
            for j in range(len(P)):
                p, q = P[j], P[(j + 1) % len(P)]
                nrm = np.array([q[1] - p[1], p[0] - q[0]])  # outward normal
                fa, fb = nrm @ (a - p), nrm @ (b - p)
                if fa > 0 and fb > 0:
                    t0, t1 = 1.0, 0.0
                    break
                if fa > 0:
                    t0 = max(t0, fa / (fa - fb))
                elif fb > 0:
                    t1 = min(t1, fa / (fa - fb))
            if t1 - t0 > 1e-9:
                count += 1
        assert count == len(seq)


# ---------------------------------------------------------------------------
# degenerate configurations
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_three_lines_through_one_point(mode):
    # z = u, z = v, z = u + v (all through the origin): 6 sectors, not 7
    W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    net = PLNet.from_arrays([(W, np.zeros(3)), (np.ones((1, 3)), np.zeros(1))])
    cx = slice_complex(net, O2, E1, E2, bounds=(-1, 1, -1, 1), mode=mode)
    assert cx.n_regions == 6
    assert np.all(cx.measures > 1e-3)
    assert cx.measures.sum() == pytest.approx(4.0)
    # sectors meeting only at the origin are not adjacent: a 6-cycle
    assert len(cx.adjacency[0]) == 6
    if mode == "certified":
        assert cx.n_recomputed >= 1  # the common point is decided exactly


@pytest.mark.parametrize("mode", MODES)
def test_line_through_domain_vertices_and_along_edge(mode):
    # u + v = 0 passes through corners (-1, 1) and (1, -1); u = -1 lies on an edge
    W = np.array([[1.0, 1.0], [1.0, 0.0]])
    b = np.array([0.0, 1.0])
    net = PLNet.from_arrays([(W, b), (np.ones((1, 2)), np.zeros(1))])
    cx = slice_complex(net, O2, E1, E2, bounds=(-1, 1, -1, 1), mode=mode)
    assert cx.n_regions == 2
    np.testing.assert_allclose(sorted(cx.measures), [2.0, 2.0])
    assert sorted(len(cx.polygon(i)) for i in range(2)) == [3, 3]
    # neuron (0, 1) is u + 1 >= 0: active on the interior of the domain
    assert np.all(cx.codes[:, 1] == 1)


@pytest.mark.parametrize("mode", MODES)
def test_constant_and_duplicate_neurons(mode):
    # neuron 0: u; neuron 1: 0 (constant at the threshold); neuron 2: 2u (same line)
    W = np.array([[1.0, 0.0], [0.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
    b = np.array([0.0, 0.0, 0.0, -0.5])
    net = PLNet.from_arrays([(W, b), (np.ones((1, 4)), np.zeros(1))])
    cx = slice_complex(net, O2, E1, E2, bounds=(-1, 1, -1, 1), mode=mode)
    assert cx.n_regions == 4
    assert np.all(cx.codes[:, 1] == 0)  # z == 0 counts as inactive
    assert cx.n_degenerate == cx.n_regions
    sw = sorted(sorted(s) for s in cx.adjacency[1])
    # across u = 0 both neuron 0 and its duplicate switch
    assert sw == [[(0, 0), (0, 2)], [(0, 0), (0, 2)], [(0, 3)], [(0, 3)]]


def test_sawtooth_touching_neurons_certified_recomputes():
    net = _sawtooth_2d(3)
    cx = slice_complex(net, O2, E1, E2, bounds=(0, 1, 0, 1), mode="certified")
    assert cx.n_regions == 8
    assert cx.n_recomputed >= 1


# ---------------------------------------------------------------------------
# exact vs float vs certified on random small-integer nets
# ---------------------------------------------------------------------------
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    widths=st.lists(st.integers(1, 5), min_size=1, max_size=3),
    box=st.integers(1, 4),
)
def test_exact_certified_float_agree_on_integer_nets(seed, widths, box):
    net = zoo.random_mlp(widths, 2, 2, seed=seed, integer=True)
    bounds = (-box, box, -box, box + 0.5)
    ex = slice_complex(net, O2, E1, E2, bounds=bounds, mode="exact")
    ce = slice_complex(net, O2, E1, E2, bounds=bounds, mode="certified")
    fl = slice_complex(net, O2, E1, E2, bounds=bounds, mode="float")
    assert _key_set(ex) == _key_set(ce) == _key_set(fl)
    assert ex.n_regions == ce.n_regions == fl.n_regions
    area = 2 * box * (2 * box + 0.5)
    total = sum(ex.exact_areas)
    assert Fraction(int(total.p), int(total.q)) == Fraction(area)
    assert fl.measures.sum() == pytest.approx(area, rel=1e-12)

    def pairset(cx):
        return {frozenset((cx.codes[a].tobytes(), cx.codes[b].tobytes())) for a, b in cx.adjacency[0]}

    assert pairset(ex) == pairset(ce) == pairset(fl)
    # region of every exact interior point (exact arithmetic)
    from polyfold import arith

    cent = np.empty((ex.n_regions, 2), dtype=object)
    for i in range(ex.n_regions):
        rows = ex.exact_vertices[ex.vertex_offsets[i] : ex.vertex_offsets[i + 1]]
        cent[i, 0] = sum(rows[:, 0], arith.fmpq(0)) / len(rows)
        cent[i, 1] = sum(rows[:, 1], arith.fmpq(0)) / len(rows)
    assert np.array_equal(net.codes_exact(cent), ex.codes)


# ---------------------------------------------------------------------------
# decision boundary
# ---------------------------------------------------------------------------
def test_decision_boundary_binary_diagonal():
    # logit = relu(u) - relu(-u) - v = u - v: boundary u = v, length 2 sqrt(2) in [-1, 1]^2
    W1 = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    W2 = np.array([[1.0, -1.0, -1.0, 1.0]])
    net = PLNet.from_arrays([(W1, np.zeros(4)), (W2, np.zeros(1))])
    for mode in MODES:
        db = slice_complex(net, O2, E1, E2, bounds=(-1, 1, -1, 1), mode=mode).decision_boundary
        lengths = np.linalg.norm(db.segments[:, 1] - db.segments[:, 0], axis=1)
        assert lengths.sum() == pytest.approx(2 * sqrt(2), rel=1e-12)
        assert np.allclose(db.segments[:, :, 0], db.segments[:, :, 1])  # on u = v


def test_decision_boundary_three_classes():
    # logits (u, v, 0) on [-1, 1]^2: boundaries u = v (u > 0), u = 0 (v < 0), v = 0 (u < 0)
    W1 = np.eye(2)
    b1 = np.array([2.0, 2.0])  # active on the whole box
    W2 = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    b2 = np.array([-2.0, -2.0, 0.0])
    net = PLNet.from_arrays([(W1, b1), (W2, b2)])
    for mode in ("float", "exact"):
        cx = slice_complex(net, O2, E1, E2, bounds=(-1, 1, -1, 1), mode=mode)
        db = cx.decision_boundary
        lengths = np.linalg.norm(db.segments[:, 1] - db.segments[:, 0], axis=1)
        assert lengths.sum() == pytest.approx(2 + sqrt(2), rel=1e-12)
        by_pair = {}
        for (c1, c2), ln in zip(db.classes.tolist(), lengths):
            by_pair[(c1, c2)] = by_pair.get((c1, c2), 0) + ln
        assert by_pair == pytest.approx({(0, 1): sqrt(2), (0, 2): 1.0, (1, 2): 1.0})


# ---------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------
def test_json_and_graphml_export(tmp_path):
    import json

    import networkx as nx

    net = zoo.arrangement(4, 2, seed=0)
    cx = slice_complex(net, O2, E1, E2, bounds=(-50, 50, -50, 50), mode="exact")
    doc = json.loads(cx.to_json(tmp_path / "c.json"))
    assert doc["n_regions"] == 11 and len(doc["edges"]) == 16
    assert json.loads((tmp_path / "c.json").read_text())["kind"] == "slice"
    assert all("vertices_exact" in r for r in doc["regions"])
    cx.to_graphml(tmp_path / "g.graphml")
    H = nx.read_graphml(tmp_path / "g.graphml")
    assert H.number_of_nodes() == 11 and H.number_of_edges() == 16
    some_edge = next(iter(H.edges(data=True)))
    assert some_edge[2]["switching"].startswith("0:")
    r = cx.region(0)
    assert r.vertices.shape[1] == 2 and r.vertices_input.shape[1] == 2
    assert len(cx.regions) == 11


# ---------------------------------------------------------------------------
# boxes and polytopes
# ---------------------------------------------------------------------------
def test_box_complex_random_net_volumes_and_codes():
    net = zoo.random_mlp([5, 4], 3, 2, seed=1)
    cx = box_complex(net, -1.0, 1.0, mode="certified")
    assert cx.measures.sum() == pytest.approx(8.0, rel=1e-9)
    assert np.array_equal(net.codes(cx.interior_points), cx.codes)
    rng = np.random.default_rng(0)
    pts = rng.uniform(-1, 1, (3000, 3))
    found = {c.tobytes() for c in net.codes(pts)}
    assert found <= _key_set(cx)
    # adjacent boxes regions differ in their switching neurons; sample-based check
    loc = cx.locate(pts)
    assert np.all(loc >= 0)


def test_polytope_complex_simplex():
    # one hidden layer, 3 planes in general position cutting a big simplex
    net = zoo.arrangement(3, 3, seed=4)
    A = np.vstack([np.eye(3), -np.ones((1, 3))])
    c = np.array([60.0, 60.0, 60.0, 60.0])  # x_i >= -60, sum x <= 60: legs of 240
    cx = polytope_complex(net, A, c, mode="float")
    assert cx.measures.sum() == pytest.approx(240.0**3 / 6, rel=1e-9)
    assert cx.n_regions <= 8
    assert np.array_equal(net.codes(cx.interior_points), cx.codes)


def test_box_complex_2d_uses_polygon_engine_exactly():
    net = zoo.arrangement(3, 2, seed=0)
    cx = box_complex(net, -50.0, 50.0, mode="exact")
    assert cx.kind == "slice" and cx.n_regions == 7


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
def test_bad_slice_inputs():
    net = zoo.random_mlp([3], 3, 1, seed=0)
    o = np.zeros(3)
    with pytest.raises(DegenerateInputError, match="parallel"):
        slice_complex(net, o, [1, 0, 0], [2, 0, 0], bounds=(0, 1, 0, 1))
    with pytest.raises(DegenerateInputError, match="zero vector"):
        slice_complex(net, o, [0, 0, 0], [0, 1, 0], bounds=(0, 1, 0, 1))
    with pytest.raises(DomainError, match="umin < umax"):
        slice_complex(net, o, [1, 0, 0], [0, 1, 0], bounds=(1, 0, 0, 1))
    with pytest.raises(DomainError, match="umin < umax"):
        slice_complex(net, o, [1, 0, 0], [0, 1, 0], bounds=(0, 1, 1, 1))
    with pytest.raises(ValidationError, match="exactly one of bounds"):
        slice_complex(net, o, [1, 0, 0], [0, 1, 0])
    with pytest.raises(ValidationError, match="exactly one of bounds"):
        slice_complex(net, o, [1, 0, 0], [0, 1, 0], bounds=(0, 1, 0, 1), polygon=[[0, 0], [1, 0], [0, 1]])
    with pytest.raises(DomainError, match="convex"):
        slice_complex(net, o, [1, 0, 0], [0, 1, 0], polygon=[[0, 0], [2, 0], [1, 0.2], [1, 1]])
    with pytest.raises(ShapeError, match="input_dim=3"):
        slice_complex(net, np.zeros(2), [1, 0, 0], [0, 1, 0], bounds=(0, 1, 0, 1))
    with pytest.raises(ShapeError, match="umin, umax"):
        slice_complex(net, o, [1, 0, 0], [0, 1, 0], bounds=(0, 1))
    with pytest.raises(ValidationError, match="mode"):
        slice_complex(net, o, [1, 0, 0], [0, 1, 0], bounds=(0, 1, 0, 1), mode="fast")
    with pytest.raises(PolyfoldError, match="NaN"):
        slice_complex(net, [np.nan, 0, 0], [1, 0, 0], [0, 1, 0], bounds=(0, 1, 0, 1))
    with pytest.raises(ValidationError, match="PLNet"):
        slice_complex(None, o, [1, 0, 0], [0, 1, 0], bounds=(0, 1, 0, 1))


def test_bad_slice_through_inputs():
    net = zoo.random_mlp([3], 3, 1, seed=0)
    x = np.array([0.0, 0.0, 0.0])
    with pytest.raises(DegenerateInputError, match="non-collinear"):
        slice_through(net, x, x + 1, x + 2)
    with pytest.raises(DegenerateInputError, match="non-collinear"):
        slice_through(net, x, x, x + 1)
    with pytest.raises(ValidationError, match="margin"):
        slice_through(net, x, x + [1, 0, 0], x + [0, 1, 0], margin=-0.1)
    with pytest.raises(ShapeError, match="x2"):
        slice_through(net, x, np.ones(2), x + 1)


def test_bad_box_inputs():
    net9 = zoo.random_mlp([3], 9, 1, seed=0)
    with pytest.raises(ValidationError, match="slice_complex"):
        box_complex(net9, 0.0, 1.0)
    net = zoo.random_mlp([3], 3, 1, seed=0)
    with pytest.raises(DomainError, match="inverted"):
        box_complex(net, 1.0, 0.0)
    with pytest.raises(DomainError, match="empty"):
        box_complex(net, [0, 0, 0], [1, 0, 1])
    with pytest.raises(ValidationError, match="mode"):
        polytope_complex(net, np.vstack([np.eye(3), -np.eye(3)]), np.ones(6), mode="fast")
    with pytest.raises(DomainError, match="unbounded"):
        polytope_complex(net, np.eye(3), np.ones(3))
    with pytest.raises(DomainError, match="empty"):
        polytope_complex(net, np.array([[1.0, 0, 0], [-1.0, 0, 0]]), np.array([-2.0, 1.0]))
    with pytest.raises(ShapeError, match="input_dim=3"):
        polytope_complex(net, np.eye(2), np.ones(2))


# ---------------------------------------------------------------------------
# Betti numbers of slices (hand-derived sets)
# ---------------------------------------------------------------------------
def _abs_layer(d):
    """The layer relu(x_i), relu(-x_i) for every coordinate."""
    W = np.zeros((2 * d, d))
    for i in range(d):
        W[2 * i, i], W[2 * i + 1, i] = 1.0, -1.0
    return W, np.zeros(2 * d)


def _ring_net(d):
    """f > 0 exactly on 1 < |x1| + |x2| < 2 (any further inputs ignored):
    f = g - 1 - 2 relu(g - 3/2) with g = |x1| + |x2|."""
    W1, b1 = _abs_layer(d)
    g = np.zeros(2 * d)
    g[:4] = 1.0
    W2 = np.stack([g, g])
    b2 = np.array([0.0, -1.5])
    return PLNet.from_arrays([(W1, b1), (W2, b2), (np.array([[1.0, -2.0]]), np.array([-1.0]))])


@pytest.mark.parametrize("mode", ["float", "certified", "exact"])
def test_betti_numbers_of_a_ring_in_a_box_slice(mode):
    # the open ring 1 < |x|_1 < 2 inside [-3, 3]^2: its closure is an annulus (1, 1);
    # {f <= 0} is the inner diamond plus the outside (2 components, the outside
    # goes round the ring: 1 loop); the boundary is the two diamonds |x|_1 = 1, 2
    cx = box_complex(_ring_net(2), -3.0, 3.0, mode=mode)
    assert cx.betti_numbers("region", label=1) == (1, 1)
    assert cx.betti_numbers("region", label=0) == (2, 1)
    assert cx.betti_numbers("boundary") == (2, 2)


def test_betti_numbers_of_slices_through_a_higher_dimensional_input():
    net = _ring_net(3)  # ignores x3
    # the plane x3 = 0.7 with stretched axes: the same ring, in (u, v) = (x1 / 2, 4 x2)
    cx = slice_complex(net, [0.0, 0.0, 0.7], [2.0, 0.0, 0.0], [0.0, 0.25, 0.0],
                       bounds=(-2, 2, -12, 12))
    assert cx.betti_numbers("region", label=1) == (1, 1)
    # a plane x2 = 1.5 + x3 / 10 (tilted) meets the ring in |x1| in (0, 0.5) up to the
    # tilt: two strips... in coordinates u = x1, v = x3: 1 < |u| + |1.5 + v/10| < 2
    # holds on |u| < 0.5 - v/10 (v in [-1, 1]): one band through u = 0 (1, 0)
    cx = slice_complex(net, [0.0, 1.5, 0.0], [1.0, 0.0, 0.0], [0.0, 0.1, 1.0],
                       bounds=(-1, 1, -1, 1))
    assert cx.betti_numbers("region", label=1) == (1, 0)
    assert cx.betti_numbers("region", label=0) == (2, 0)  # the two sides
    assert cx.betti_numbers("boundary") == (2, 0)  # two arcs across the square
    # a polygon with slanted edges inside the ring's hole: one class only
    tri = [[-0.4, -0.4], [0.5, -0.3], [0.0, 0.45]]
    cx = slice_complex(net, [0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], polygon=tri)
    assert cx.betti_numbers("region", label=0) == (1, 0)
    assert cx.betti_numbers("region", label=1) == (0, 0)
    assert cx.betti_numbers("boundary") == (0, 0)


def test_betti_numbers_of_a_graph_net_slice_equal_its_dense_copy():
    net = _ring_net(2)
    g = net.to_graph()
    a = box_complex(net, -3.0, 3.0)
    b = box_complex(g, -3.0, 3.0)
    for of, label in (("region", 0), ("region", 1), ("boundary", None)):
        assert a.betti_numbers(of, label) == b.betti_numbers(of, label)
    with pytest.raises(ValidationError):
        a.betti_numbers("region", label=5)
    with pytest.raises(ValidationError):
        a.betti_numbers("faces")


@pytest.mark.parametrize("mode", ["float", "certified", "exact"])
@pytest.mark.parametrize("n", [1, 3, 6])
def test_f_vector_of_a_line_arrangement_slice(n, mode):
    # n lines in general position, every crossing inside the box: C(n, 2) crossings,
    # 2 n points on the box and its 4 corners; n pieces per line and 2 n + 4 box edges
    cx = slice_complex(zoo.arrangement(n, 2, seed=n), [0.0, 0.0], [1.0, 0.0], [0.0, 1.0],
                       bounds=(-100, 100, -100, 100), mode=mode)
    assert cx.f_vector == (comb(n, 2) + 2 * n + 4, n * n + 2 * n + 4, 1 + n + comb(n, 2))


def test_f_vector_of_a_slice_through_digits_images_is_a_disk():
    # a polygon is a closed disk: V - E + F = 1 whatever the partition
    from polyfold.datasets import load_digits_split

    X = load_digits_split()[2]
    net = zoo.digits_mlp("2x30")
    cx = slice_complex(net, X[0], X[1] - X[0], X[2] - X[0], bounds=(-0.5, 1.5, -0.5, 1.5))
    V, E, F = cx.f_vector
    assert F == cx.n_regions and V - E + F == 1
    assert cx.betti_numbers("region", label=int(net.predict(X[0][None])[0]))[0] >= 1


def test_betti_numbers_need_a_slice_complex():
    import dataclasses

    cx = box_complex(_ring_net(2), -3.0, 3.0)
    with pytest.raises(ValidationError, match="kind='slice'"):
        dataclasses.replace(cx, kind="box").betti_numbers("boundary")
