"""Tests of the d-dimensional complexes (polyfold.complexes).

Expected values come from closed forms (arrangements in general position, central
arrangements), hand-built ReLU nets with known topology, brute force (every sign
pattern tested by an LP written here), exact rational evaluation of sampled points,
and the exact mode of the engine itself for the certified one (different arithmetic).
"""

import itertools
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyfold import PLNet, zoo
from polyfold.complexes import CellComplex, box_complex, polytope_complex, space_complex
from polyfold.exceptions import DomainError, ShapeError, ValidationError


def _euler(fv):
    return sum((-1) ** k * f for k, f in enumerate(fv))


def _key_set(codes):
    return {c.tobytes() for c in np.asarray(codes, np.int8)}


def _generic_f_vector(n, d):
    """Faces of an arrangement of n hyperplanes in general position in R^d."""
    return tuple(comb(n, d - k) * sum(comb(n - d + k, i) for i in range(k + 1)) for k in range(d + 1))


def _central_f_vector(n, d):
    """Faces of a central arrangement of n >= d hyperplanes in general position."""
    out = [1]
    for k in range(1, d + 1):
        m = n - d + k  # hyperplanes cutting a k-dimensional flat (central, generic)
        out.append(comb(n, d - k) * 2 * sum(comb(m - 1, i) for i in range(k)))
    return tuple(out)


def _one_layer(W, b):
    W = np.asarray(W, np.float64)
    return PLNet.from_arrays([(W, np.asarray(b, np.float64)), (np.ones((1, len(W))), np.zeros(1))])


# ---------------------------------------------------------------------------
# closed forms
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["float", "certified", "exact"])
@pytest.mark.parametrize("n,d", [(5, 3), (6, 4)])
def test_generic_arrangement_whole_space(mode, n, d):
    net = zoo.arrangement(n, d, seed=n + d)
    cx = space_complex(net, mode=mode)
    assert isinstance(cx, CellComplex) and cx.kind == "space"
    assert cx.n_regions == sum(comb(n, i) for i in range(d + 1))
    assert int(cx.is_bounded.sum()) == comb(n - 1, d)
    assert cx.f_vector == _generic_f_vector(n, d)
    assert _euler(cx.f_vector) == (-1) ** d
    assert len(cx.vertices) == comb(n, d)
    # bounded regions have finite volumes, unbounded ones infinite
    assert np.all(np.isfinite(cx.measures[cx.is_bounded]))
    assert np.all(np.isinf(cx.measures[~cx.is_bounded]))


@pytest.mark.parametrize("mode", ["certified", "exact"])
def test_central_arrangement_many_planes_through_one_vertex(mode):
    n, d = 5, 3
    rng = np.random.default_rng(3)
    W = rng.integers(-5, 6, size=(n, d)).astype(float)
    while np.linalg.matrix_rank(W) < d or any(
        np.linalg.matrix_rank(W[list(s)]) < d for s in itertools.combinations(range(n), d)
    ):
        W = rng.integers(-5, 6, size=(n, d)).astype(float)
    cx = space_complex(_one_layer(W, np.zeros(n)), mode=mode)
    assert cx.n_regions == 2 * sum(comb(n - 1, i) for i in range(d))
    assert cx.f_vector == _central_f_vector(n, d)
    assert int(cx.is_bounded.sum()) == 0
    assert np.allclose(cx.vertices, 0.0)


def test_three_planes_through_one_line():
    # x1 = 0, x2 = 0 and x1 + x2 = 0 all contain the x3 axis: 6 wedges
    W = [[1.0, 0, 0], [0, 1.0, 0], [1.0, 1.0, 0]]
    for mode in ("certified", "exact"):
        cx = box_complex(_one_layer(W, np.zeros(3)), -1, 1, mode=mode)
        assert cx.n_regions == 6
        # a prism over the square [-1, 1]^2 cut by three lines through its centre: the
        # square has 4 corners + 4 edge midpoints + the centre, 8 + 6 edges, 6 faces
        sq = (9, 14, 6)
        assert cx.f_vector == (2 * sq[0], 2 * sq[1] + sq[0], 2 * sq[2] + sq[1], sq[2])


def test_plane_containing_box_edges():
    # x1 + x2 = 0 contains the box edges {(1, -1, t)} and {(-1, 1, t)}
    cx = box_complex(_one_layer([[1.0, 1.0, 0]], [0.0]), -1, 1, mode="certified")
    assert cx.n_regions == 2
    assert cx.f_vector == (8, 14, 9, 2)  # no new vertex; 2 diagonals; 2 split squares + the cut
    assert cx.measures.tolist() == pytest.approx([4.0, 4.0])


@pytest.mark.parametrize("d", [3, 4, 5])
def test_euler_characteristic_of_box_complexes(d):
    net = zoo.random_mlp([6, 5], d, 2, seed=d)
    cx = box_complex(net, -1.0, 1.0)
    assert _euler(cx.f_vector) == 1
    assert cx.f_vector[d] == cx.n_regions
    assert cx.measures.sum() == pytest.approx(2.0**d, rel=1e-9)
    sx = space_complex(net)
    assert _euler(sx.f_vector) == (-1) ** d


# ---------------------------------------------------------------------------
# completeness: nested boxes, brute force, samples, adjacency
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 5])
def test_nested_boxes_are_monotone_and_reach_the_whole_space(seed):
    net = zoo.random_mlp([10, 10], 3, 1, seed=seed)
    counts = [box_complex(net, -L, L).n_regions for L in (1e0, 1e1, 1e3, 1e5)]
    assert counts == sorted(counts)
    sx = space_complex(net)
    assert counts[-1] <= sx.n_regions
    M = sx.enclosing_box
    bx = box_complex(net, -M, M)
    assert bx.n_regions == sx.n_regions
    assert _key_set(bx.codes) == _key_set(sx.codes)
    # the box complex's interior cells are the whole space's cells
    assert bx.f_vector[0] - sx.f_vector[0] == int(bx._lat.onb[0].sum())
    assert np.abs(sx.vertices).max() < M


@pytest.mark.parametrize("mode", ["certified", "exact"])
def test_betti_numbers_of_f_le_0_count_its_lower_dimensional_parts(mode):
    # by hand: f = |x1| has {f <= 0} = the plane x1 = 0; f = |x1| + |x2| + |x3| the
    # origin; f = |x1| - 2 relu(x1 - 1) on [-1, 3]^3 the plane x1 = 0 and the slab
    # x1 >= 2 (disjoint): Betti numbers (1, 0, 0), (1, 0, 0), (2, 0, 0)
    I = np.eye(3)
    A = np.vstack([I, -I])
    cases = [
        ([(A, np.zeros(6)), (np.array([[1.0, 0, 0, 1, 0, 0]]), np.zeros(1))], (-1.0, 1.0), (1, 0, 0)),
        ([(A, np.zeros(6)), (np.ones((1, 6)), np.zeros(1))], (-1.0, 1.0), (1, 0, 0)),
        ([(np.array([[1.0, 0, 0], [-1, 0, 0], [1, 0, 0]]), np.array([0.0, 0, -1])),
          (np.array([[1.0, 1, -2]]), np.zeros(1))], (-1.0, 3.0), (2, 0, 0)),
    ]
    for layers, (lo, hi), want in cases:
        cx = box_complex(PLNet.from_arrays(layers), lo, hi, mode=mode)
        assert cx.betti_numbers("region", label=0) == want
        # {f > 0}'s closure is the rest: for f = |x1| the box (contractible)
        if want == (1, 0, 0) and layers[1][0][0, 1] == 0:
            assert cx.betti_numbers("region", label=1) == (1, 0, 0)


@pytest.mark.parametrize("mode", ["float", "certified", "exact"])
def test_enclosing_box_holds_hyperplanes_without_vertices(mode):
    # the planes x1 = 0 and x1 = 3 of R^3 meet nowhere (no vertex of the arrangement);
    # three regions, and [-M, M]^3 must hold all three: M > 3
    net = _one_layer(np.array([[1.0, 0, 0], [1.0, 0, 0]]), [0.0, -3.0])
    sx = space_complex(net, mode=mode)
    assert sx.n_regions == 3 and sx.enclosing_box > 3
    assert box_complex(net, -sx.enclosing_box, sx.enclosing_box, mode=mode).n_regions == 3
    # interior points lie in their regions (a plain forward pass)
    assert np.array_equal(net.patterns(sx.interior_points), sx.patterns.astype(bool))


def test_two_planes_1e8_apart_certified():
    W = np.array([[0, 0, 1.0], [0, 0, 1.0]])
    net = _one_layer(W, [0.0, -1e-8])
    for mode in ("certified", "exact"):
        cx = box_complex(net, -1, 1, mode=mode)
        assert cx.n_regions == 3
        assert sorted(cx.measures.tolist()) == pytest.approx([4e-8, 4 - 4e-8, 4.0], rel=1e-6)


def test_axis_aligned_facets_are_adjacent():
    net = PLNet.from_arrays([(np.eye(3), np.zeros(3)), (np.ones((1, 3)), np.zeros(1))])
    for mode in ("float", "certified", "exact"):
        cx = box_complex(net, -np.ones(3), np.ones(3), mode=mode)
        assert cx.n_regions == 8
        pairs, sw = cx.adjacency
        assert len(pairs) == 12  # the edges of the cube of octants
        assert all(len(s) == 1 for s in sw)


def test_6d_net_runs_without_qhull():
    net = zoo.random_mlp([4, 4], 6, output_dim=2, seed=1)
    cx = box_complex(net, -1, 1)
    ex = box_complex(net, -1, 1, mode="exact")
    assert cx.n_regions == ex.n_regions and cx.f_vector == ex.f_vector
    assert _euler(cx.f_vector) == 1
    assert cx.measures.sum() == pytest.approx(64.0, rel=1e-9)


def _lp_feasible(A, c):
    """Is {A x + c > 0} non-empty?  max t s.t. A x + c >= t, t <= 1 (own LP)."""
    from scipy.optimize import linprog

    m, d = A.shape
    cost = np.zeros(d + 1)
    cost[-1] = -1.0
    A_ub = np.hstack([-A, np.ones((m, 1))])
    r = linprog(cost, A_ub=A_ub, b_ub=c, bounds=[(None, None)] * d + [(None, 1.0)], method="highs")
    return r.status == 0 and -r.fun > 1e-9


@pytest.mark.parametrize("d,n", [(3, 6), (4, 5)])
def test_one_hidden_layer_brute_force_sign_patterns(d, n):
    rng = np.random.default_rng(d * 10 + n)
    W = rng.normal(size=(n, d))
    b = rng.normal(size=n)
    net = _one_layer(W, b)
    lo, hi = -2.0, 2.0
    box_A = np.vstack([np.eye(d), -np.eye(d)])
    box_c = np.concatenate([-np.full(d, lo), np.full(d, hi)])
    found = set()
    for signs in itertools.product((0, 1), repeat=n):
        s = np.where(np.array(signs) > 0, 1.0, -1.0)
        if _lp_feasible(np.vstack([s[:, None] * W, box_A]), np.concatenate([s * b, box_c])):
            found.add(np.array(signs, np.int8).tobytes())
    cx = box_complex(net, lo, hi)
    assert _key_set(cx.codes) == found
    # whole space: every pattern feasible without the box
    found_all = set()
    for signs in itertools.product((0, 1), repeat=n):
        s = np.where(np.array(signs) > 0, 1.0, -1.0)
        if _lp_feasible(s[:, None] * W, s * b):
            found_all.add(np.array(signs, np.int8).tobytes())
    assert _key_set(space_complex(net).codes) == found_all


def test_generic_arrangement_adjacency_is_hamming_one():
    # in a simple arrangement two regions share a facet iff they differ in one sign
    net = zoo.arrangement(6, 3, seed=2)
    cx = space_complex(net)
    pairs = {tuple(p) for p in cx.adjacency[0].tolist()}
    C = cx.codes.astype(int)
    ham = {(i, j) for i in range(len(C)) for j in range(i + 1, len(C)) if np.abs(C[i] - C[j]).sum() == 1}
    assert pairs == ham


def test_dense_exact_samples_lie_in_regions_with_their_codes():
    net = zoo.random_mlp([6, 6], 3, 2, seed=4)
    cx = box_complex(net, -1, 1)
    rng = np.random.default_rng(0)
    pts = rng.uniform(-1, 1, (4000, 3))
    codes = net.codes_exact(pts)
    assert _key_set(codes) <= _key_set(cx.codes)
    assert np.all(cx.locate(pts) >= 0)
    # interior points have exactly their regions' codes
    assert np.array_equal(net.codes_exact(cx.interior_points), cx.codes)


# ---------------------------------------------------------------------------
# certified == exact (hypothesis, small integer nets: many degeneracies)
# ---------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(st.data())
def test_certified_equals_exact_on_small_integer_nets(data):
    d = data.draw(st.integers(2, 3))
    w1 = data.draw(st.integers(2, 4))
    w2 = data.draw(st.integers(1, 3))
    ints = st.integers(-2, 2)
    W1 = np.array(data.draw(st.lists(st.lists(ints, min_size=d, max_size=d), min_size=w1, max_size=w1)), float)
    b1 = np.array(data.draw(st.lists(ints, min_size=w1, max_size=w1)), float)
    W2 = np.array(data.draw(st.lists(st.lists(ints, min_size=w1, max_size=w1), min_size=w2, max_size=w2)), float)
    b2 = np.array(data.draw(st.lists(ints, min_size=w2, max_size=w2)), float)
    net = PLNet.from_arrays([(W1, b1), (W2, b2), (np.ones((1, w2)), np.zeros(1))])
    for build in (lambda m: space_complex(net, mode=m), lambda m: box_complex(net, -1, 2, mode=m)
                  if d >= 3 else polytope_complex(net, np.vstack([np.eye(d), -np.eye(d)]),
                                                  np.array([1.0] * d + [2.0] * d), mode=m)):
        c = build("certified")
        e = build("exact")
        assert _key_set(c.codes) == _key_set(e.codes)
        assert c.f_vector == e.f_vector
        assert _euler(e.f_vector) == (1 if e.kind != "space" else (-1) ** d)
        assert len(c.adjacency[0]) == len(e.adjacency[0])


# ---------------------------------------------------------------------------
# topology of hand-built ReLU nets
# ---------------------------------------------------------------------------
def _abs_rows(d):
    """Layer computing relu(x_i), relu(-x_i) for every coordinate."""
    W = np.zeros((2 * d, d))
    for i in range(d):
        W[2 * i, i] = 1.0
        W[2 * i + 1, i] = -1.0
    return W, np.zeros(2 * d)


def _annulus_net():
    """f > 0 exactly on 1 < |x1| + |x2| < 2 (f = g - 1 - relu(2 g - 3), g = |x|_1)."""
    W1, b1 = _abs_rows(2)
    g = np.ones(4)
    W2 = np.stack([g, 2 * g])
    b2 = np.array([0.0, -3.0])
    W3 = np.array([[1.0, -1.0]])
    b3 = np.array([-1.0])
    return PLNet.from_arrays([(W1, b1), (W2, b2), (W3, b3)])


def test_annulus_betti_numbers():
    net = _annulus_net()
    for cx in (space_complex(net), polytope_complex(net, np.vstack([np.eye(2), -np.eye(2)]), np.full(4, 3.0))):
        assert cx.betti_numbers("region", label=1) == (1, 1)
        assert cx.betti_numbers("boundary") == (2, 2)  # two loops |x|_1 = 1 and 2
        # {f <= 0}: the inner diamond and the outside (a loop around the annulus)
        assert cx.betti_numbers("region", label=0) == (2, 1)


def _thick_ring_net():
    """f > 0 exactly on {1 < |x1| + |x2| < 2, |x3| < 1}: f = min(g - 1, 2 - g, 1 - |x3|)."""
    W1, b1 = _abs_rows(3)
    g = np.array([1.0, 1, 1, 1, 0, 0])
    h = np.array([0.0, 0, 0, 0, 1, 1])
    W2 = np.stack([g, 2 * g, h])  # p = g, q = relu(2g - 3), r = |x3|
    b2 = np.array([0.0, -3.0, 0.0])
    # m1 = p - 1 - q, t = 1 - r; units relu(m1 - t), relu(m1), relu(-m1)
    m1 = np.array([1.0, -1.0, 0.0])
    t = np.array([0.0, 0.0, -1.0])
    W3 = np.stack([m1 - t, m1, -m1])
    b3 = np.array([-1.0 - 1.0, -1.0, 1.0])
    W4 = np.array([[-1.0, 1.0, -1.0]])
    return PLNet.from_arrays([(W1, b1), (W2, b2), (W3, b3), (W4, np.zeros(1))])


def test_thick_ring_boundary_is_a_torus():
    net = _thick_ring_net()
    x = np.array([[1.5, 0, 0], [0, -1.5, 0.5], [0.5, 0, 0], [2.5, 0, 0], [1.5, 0, 1.5]])
    assert (net.forward(x)[:, 0] > 0).tolist() == [True, True, False, False, False]
    cx = box_complex(net, -3.0, 3.0)
    assert cx.betti_numbers("boundary") == (1, 2, 1)
    assert cx.betti_numbers("region", label=1) == (1, 1, 0)
    sx = space_complex(net)
    assert sx.betti_numbers("boundary") == (1, 2, 1)
    # R^3 minus an open solid torus: connected, a meridian loop, and a 2-cycle (the
    # complement of a solid torus in S^3 is a solid torus; removing a point adds b_2)
    assert sx.betti_numbers("region", label=0) == (1, 1, 1)
    assert cx.betti_numbers("region", label=0) == (1, 1, 1)


def _two_blobs_net():
    """f > 0 exactly on two diamonds around (-2, 0) and (2, 0)."""
    # a = 1 - |x1 - 2| - |x2|, b = 1 - |x1 + 2| - |x2|; f = b + relu(a - b)
    W1 = np.array([[1.0, 0], [-1, 0], [1, 0], [-1, 0], [0, 1], [0, -1]])
    b1 = np.array([-2.0, 2, 2, -2, 0, 0])  # |x1-2| = r0 + r1, |x1+2| = r2 + r3, |x2| = r4 + r5
    amb = np.array([-1.0, -1, 1, 1, 0, 0])  # a - b = |x1+2| - |x1-2|
    W2 = np.stack([amb, np.array([0.0, 0, 1, 1, 1, 1])])
    b2 = np.zeros(2)
    W3 = np.array([[1.0, -1.0]])
    b3 = np.array([1.0])
    return PLNet.from_arrays([(W1, b1), (W2, b2), (W3, b3)])


def test_two_blobs():
    net = _two_blobs_net()
    x = np.array([[2.0, 0], [-2.0, 0.5], [0.0, 0], [5, 5]])
    assert (net.forward(x)[:, 0] > 0).tolist() == [True, True, False, False]
    cx = space_complex(net)
    assert cx.betti_numbers("region", label=1) == (2, 0)
    assert cx.betti_numbers("boundary") == (2, 2)
    ex = space_complex(net, mode="exact")
    assert ex.betti_numbers("region", label=1) == (2, 0)


def test_decision_boundary_surface_of_the_ring():
    cx = box_complex(_thick_ring_net(), -3.0, 3.0)
    ds = cx.decision_boundary
    assert len(ds) > 0 and np.array_equal(ds.classes, np.tile([0, 1], (len(ds), 1)))
    # every boundary vertex lies on the torus: f = 0 there
    f = cx.net.forward(ds.vertices[np.unique(ds.cells)])
    assert np.abs(f).max() < 1e-12


# ---------------------------------------------------------------------------
# graph networks
# ---------------------------------------------------------------------------
def test_conv_net_matches_its_dense_expansion():
    from polyfold.graph import GraphBuilder

    rng = np.random.default_rng(7)
    k = rng.integers(-3, 4, size=(2, 1, 2, 1)).astype(float)  # 2 channels, kernel 2x1
    kb = np.array([0.5, -1.0])
    b = GraphBuilder((1, 2, 2))
    h = b.relu(b.conv(b.input, k, kb))  # out (2, 1, 2)
    V = rng.integers(-2, 3, size=(3, 4)).astype(float)
    h = b.relu(b.dense(b.flatten(h), V, np.array([1.0, 0.0, -1.0])))
    out = b.dense(h, np.ones((1, 3)), np.zeros(1))
    g = b.build(out)
    # hand expansion: out[c, 0, j] = k[c,0,0,0] x[0,0,j] + k[c,0,1,0] x[0,1,j] + kb[c]
    # input flattened in C order: x = (x00, x01, x10, x11)
    W1 = np.zeros((4, 4))
    for c in range(2):
        for j in range(2):
            W1[c * 2 + j, 0 * 2 + j] = k[c, 0, 0, 0]
            W1[c * 2 + j, 1 * 2 + j] = k[c, 0, 1, 0]
    b1 = np.repeat(kb, 2)
    dense = PLNet.from_arrays([(W1, b1), (V, np.array([1.0, 0.0, -1.0])), (np.ones((1, 3)), np.zeros(1))])
    pts = rng.normal(size=(50, 4))
    assert np.allclose(g.forward(pts), dense.forward(pts))
    for build in (lambda n: box_complex(n, -1, 1), lambda n: space_complex(n)):
        cg, cd = build(g), build(dense)
        assert _key_set(cg.codes) == _key_set(cd.codes)
        assert cg.f_vector == cd.f_vector


def test_max_unit_regions_are_argmax_cells():
    from polyfold.graph import GraphBuilder

    # one max unit over (0, x1, x2, -x1 - x2 - 1) in R^3 (x3 free): a max of 4 affine
    # functions whose argmax cells are 4 convex regions, pairwise adjacent
    b = GraphBuilder((3,))
    z = b.dense(b.input, np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0], [-1, -1, 0]]), np.array([0.0, 0, 0, -1]))
    m = b.maximum(*[b.reshape(b.dense(z, np.eye(4)[i : i + 1], np.zeros(1)), (1,)) for i in range(4)])
    g = b.build(b.dense(m, np.ones((1, 1)), np.zeros(1)))
    assert g.has_max_units
    for mode in ("certified", "exact"):
        cx = space_complex(g, mode=mode)
        assert cx.n_regions == 4
        assert len(cx.adjacency[0]) == 6
        # a triangle (where 0 wins) and three unbounded cells, times the free x3 axis:
        # 3 lines, 3 + 3 half-planes... i.e. the 2D diagram's 3 vertices, 6 edges, 4 cells
        assert cx.f_vector == (0, 3, 6, 4)
        assert int(cx.is_bounded.sum()) == 0
        rng = np.random.default_rng(1)
        pts = rng.normal(scale=3, size=(2000, 3))
        assert _key_set(g.codes(pts)) == _key_set(cx.codes)


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
def test_bad_inputs():
    net = zoo.random_mlp([3], 3, 1, seed=0)
    with pytest.raises(ValidationError, match="max_dim"):
        space_complex(zoo.random_mlp([3], 9, 1, seed=0))
    with pytest.raises(ValidationError, match="mode"):
        space_complex(net, mode="fast")
    with pytest.raises(DomainError, match="empty"):
        box_complex(net, [0, 0, 0], [1, 0, 1])
    with pytest.raises(ShapeError, match="input_dim=3"):
        polytope_complex(net, np.eye(2), np.ones(2))
    with pytest.raises(DomainError, match="unbounded"):
        polytope_complex(net, np.eye(3), np.ones(3))
    cx = box_complex(net, -1, 1)
    with pytest.raises(ValidationError, match="label"):
        cx.betti_numbers("region")
    with pytest.raises(ValidationError, match="'region' or 'boundary'"):
        cx.betti_numbers("holes")
    with pytest.raises(ValidationError, match="label applies"):
        cx.betti_numbers("boundary", label=1)
    with pytest.raises(ValidationError, match="k must be"):
        cx.cells(4)


def test_short_facets_are_adjacent_in_certified_mode():
    # two horizontal lines 1e-7 apart in a box of side 2000: the thin strip's long
    # edges are facets (7 adjacent pairs in exact arithmetic)
    W = np.array([[1.0, 0], [0, 1], [0, 1]])
    net = PLNet.from_arrays([(W, np.array([0, 0, -1e-7])), (np.ones((1, 3)), np.zeros(1))])
    A, c = np.vstack([np.eye(2), -np.eye(2)]), np.full(4, 1000.0)
    for mode in ("certified", "exact"):
        cx = polytope_complex(net, A, c, mode=mode)
        assert cx.n_regions == 6 and len(cx.adjacency[0]) == 7
        assert cx.f_vector == (12, 17, 6)


def test_max_of_two_matches_its_relu_form():
    # max(a, b) = b + relu(a - b): the same regions and faces, one by max units, one
    # by a threshold unit; the f-vector of the max net comes from merging engine cells
    from polyfold.graph import GraphBuilder

    rng = np.random.default_rng(3)
    W1, c1 = rng.normal(size=(4, 3)), rng.normal(size=4)
    W2, c2 = rng.normal(size=(2, 4)), rng.normal(size=2)

    def build(use_max):
        b = GraphBuilder((3,))
        h = b.relu(b.dense(b.input, W1, c1))
        a_ = b.dense(h, W2[:1], c2[:1])
        b_ = b.dense(h, W2[1:], c2[1:])
        if use_max:
            m = b.maximum(a_, b_)
        else:
            m = b.add(b.relu(b.add(a_, b_, weights=[1.0, -1.0])), b_)
        return b.build(b.dense(m, np.ones((1, 1)), np.zeros(1)))

    gm, gr = build(True), build(False)
    pts = rng.normal(size=(100, 3))
    assert np.allclose(gm.forward(pts), gr.forward(pts))
    for make in (lambda n: box_complex(n, -2, 2), lambda n: space_complex(n)):
        cm, cr = make(gm), make(gr)
        assert cm.n_regions == cr.n_regions
        assert cm.f_vector == cr.f_vector
        assert len(cm.adjacency[0]) == len(cr.adjacency[0])


def test_max_pool_net_faces():
    from polyfold.graph import GraphBuilder

    rng = np.random.default_rng(11)
    b = GraphBuilder((1, 2, 2))
    h = b.relu(b.conv(b.input, rng.normal(size=(2, 1, 2, 2)), rng.normal(size=2), padding=1))
    h = b.max_pool(h, 2)  # (2, 3, 3) -> (2, 1, 1): two max units over 4 candidates
    g = b.build(b.dense(b.flatten(h), rng.normal(size=(2, 2)), rng.normal(size=2)))
    assert g.has_max_units
    c = box_complex(g, -1, 1)
    e = box_complex(g, -1, 1, mode="exact")
    assert c.f_vector == e.f_vector and _key_set(c.codes) == _key_set(e.codes)
    assert _euler(c.f_vector) == 1
    assert c.f_vector[-1] == c.n_regions
    pts = rng.uniform(-1, 1, (20000, 4))
    assert _key_set(g.codes(pts)) <= _key_set(c.codes)


def test_multiclass_decision_boundary_vertices_tie_the_top_two_logits():
    net = zoo.random_mlp([6, 6], 3, 3, seed=8)
    cx = box_complex(net, -1, 1)
    ds = cx.decision_boundary
    assert len(ds) > 0
    f = net.forward(ds.vertices)
    top2 = np.sort(f, axis=1)[:, -2:]
    used = np.unique(ds.cells)
    scale = np.abs(f).max()
    assert np.all(top2[used, 1] - top2[used, 0] <= 1e-9 * scale)
    assert np.all(ds.classes[:, 0] < ds.classes[:, 1])
    # the classes on the two sides are the predicted classes of points just beside
    i = 0
    P = ds.cell(i)
    c = P.mean(axis=0)
    assert set(np.argsort(net.forward(c[None])[0])[-2:]) == set(ds.classes[i].tolist())


def test_hidden_identity_layers_are_accepted_in_three_dimensions():
    from polyfold import Identity, ReLU

    # layer 0 is linear (Identity: h = (x, y), each unit carrying the bit z > 0), then
    # ReLU units x + y - 1 and x - y - 3: four lines of the (x, y)-plane in general
    # position (intersections (0,0), (0,1), (0,-3), (1,0), (3,0), (2,-1)) times the z
    # axis.  By hand: 1 + 4 + 6 = 11 regions; no vertices; 6 lines; each plane cut by
    # its 3 parallel intersection lines into 4 strips, 16 two-faces
    net = PLNet([(np.array([[1.0, 0, 0], [0, 1.0, 0]]), np.zeros(2)),
                 (np.array([[1.0, 1.0], [1.0, -1.0]]), np.array([-1.0, -3.0])),
                 (np.ones((1, 2)), np.zeros(1))], [Identity(), ReLU()])
    for mode in ("exact", "certified", "float"):
        c = space_complex(net, mode=mode)
        assert c.n_regions == 11 and tuple(c.f_vector) == (0, 6, 16, 11)
        assert box_complex(net, -5.0, 5.0, mode=mode).n_regions == 11
