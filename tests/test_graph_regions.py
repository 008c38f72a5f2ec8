"""Regions, slices, statistics, injectivity and the CLI on graph networks.

Independent expectations: the hand-expanded dense equivalent of a CNN (from
test_graph_crossings), the conv matrix written out with loops, exact rational checks
of region rows at points, and errors for the features that cannot apply.
"""

import numpy as np
import pytest

import polyfold
from polyfold import arith
from polyfold.exceptions import UnsupportedLayerError, ValidationError
from polyfold.graph import GraphBuilder
from polyfold.regions import iter_region_rows, region_of, region_rows

from test_graph_crossings import conv_matrix, small_cnn


def test_region_of_a_cnn_equals_its_dense_expansion():
    net, dense = small_cnn(0)
    rng = np.random.default_rng(0)
    for x in rng.normal(size=(4, 25)):
        Rg, Rd = region_of(net, x, domain=(-3, 3)), region_of(dense, x, domain=(-3, 3))
        np.testing.assert_allclose(Rg.A, Rd.A, rtol=0, atol=1e-12)
        np.testing.assert_allclose(Rg.c, Rd.c, rtol=0, atol=1e-12)
        np.testing.assert_allclose(Rg.V, Rd.V, rtol=0, atol=1e-12)
        assert Rg.facets.tolist() == Rd.facets.tolist()
        Aq, cq, *_ = region_rows(net, Rg.codes, exact=True)
        assert all(v >= 0 for v in Aq @ arith.fmpq_array(x) + cq)


def test_region_of_with_max_units():
    # region of a max unit = where its selected candidate dominates: every row holds at
    # the point (exactly), the interior point has the region's exact codes, and the
    # lazy form gives the same rows
    net = polyfold.zoo.digits_cnn()
    from polyfold.datasets import load_digits_split

    _, _, X, _ = load_digits_split()
    R = region_of(net, X[3].reshape(1, 8, 8), domain=(0.0, 1.0))
    assert any(len(u) == 3 for u in R.units)  # max-unit rows "selected >= candidate j"
    Aq, cq, units, *_ = region_rows(net, R.codes, exact=True)
    assert all(v >= 0 for v in Aq @ arith.fmpq_array(X[3]) + cq)
    ip = R.interior_point
    assert np.array_equal(net.codes_exact(ip[None])[0], R.codes)
    lazy = list(iter_region_rows(net, R.codes))
    np.testing.assert_array_equal(np.concatenate([b[0] for b in lazy]), R.A[: len(units)])


def test_region_of_refuses_huge_representations():
    net = polyfold.zoo.resnet_cifar()
    x = np.random.default_rng(0).uniform(0, 1, (3, 32, 32))
    with pytest.raises(ValidationError, match=r"73728 rows x 3072 inputs.*iter_region_rows"):
        region_of(net, x)


def test_region_statistics_on_a_cnn(monkeypatch):
    # every predicted neighbour, also across max-unit facets, is confirmed by the codes
    # of a point stepped across the facet (facets on the domain's boundary have none)
    from polyfold.statistics import _neighbours

    net = polyfold.zoo.digits_cnn()
    from polyfold.datasets import load_digits_split

    _, _, X, _ = load_digits_split()
    seen = {"max": [], "threshold": []}
    step = _neighbours._step_across

    def record(*args, **kw):
        rec = step(*args, **kw)
        if rec is not None:
            kind = "max" if any(len(u) == 3 for u in rec["units"]) else "threshold"
            seen[kind].append(rec["verified"])
        return rec

    monkeypatch.setattr(_neighbours, "_step_across", record)
    st = polyfold.region_statistics(net, X[:1], domain=(0.0, 1.0), progress=False)
    assert len(st) == 1
    assert len(seen["max"]) >= 5 and all(seen["max"])
    assert len(seen["threshold"]) >= 50 and all(seen["threshold"])


def test_slices_of_a_cnn_equal_its_dense_expansion():
    net, dense = small_cnn(1)
    rng = np.random.default_rng(1)
    x1, x2, x3 = rng.normal(size=(3, 25))
    for mode in ("exact", "certified", "float"):
        a = polyfold.slice_through(net, x1.reshape(1, 5, 5), x2, x3, mode=mode)
        b = polyfold.slice_through(dense, x1, x2, x3, mode=mode)
        assert a.n_regions == b.n_regions > 10
        ka = sorted(map(tuple, a.codes.tolist()))
        assert ka == sorted(map(tuple, b.codes.tolist()))
        if mode == "exact":
            assert sorted(a.exact_areas) == sorted(b.exact_areas)
        assert len(a.adjacency) == len(b.adjacency)


def _max_net(rows, consts):
    """Input (2,) -> one max unit over the affine candidates ``rows @ x + consts``."""
    g = GraphBuilder((2,))
    h = g.max_units(g.dense(g.input, np.asarray(rows, float), np.asarray(consts, float)), (1,),
                    [list(range(len(rows)))])
    return g.build(g.dense(h, np.ones((1, 1))))


BOX = (-1.0, 1.0, -1.0, 1.0)


def _plane(net, mode):
    return polyfold.slice_complex(net, np.zeros(2), np.eye(2)[0], np.eye(2)[1], bounds=BOX, mode=mode)


@pytest.mark.parametrize("mode", ["exact", "certified", "float"])
def test_max_slices_hand_cases(mode):
    # candidates that are never selected swap order (u = v) without a region boundary
    cx = _plane(_max_net([[0, 0], [1, 0], [0, 1]], [10, 0, 0]), mode)
    assert cx.n_regions == 1 and cx.codes.tolist() == [[0]]
    # one switch of the selected candidate along u = v: two halves of the box
    cx = _plane(_max_net([[1, 0], [0, 1], [0, 0]], [0, 0, -5]), mode)
    assert sorted(cx.codes[:, 0].tolist()) == [0, 1]
    np.testing.assert_allclose(sorted(cx.measures), [2.0, 2.0], rtol=1e-12)
    # candidates 0 and 1 equal everywhere: the lower position wins, code 1 never occurs
    cx = _plane(_max_net([[1, 0], [1, 0], [0, 1]], [0, 0, 0]), mode)
    assert sorted(cx.codes[:, 0].tolist()) == [0, 2]
    # three candidates tie at one point (a Y: no line through the box is a union of
    # region edges); areas by hand: u > v, u > -u - v ...
    cx = _plane(_max_net([[1, 0], [0, 1], [-1, -1]], [0, 0, 0]), mode)
    assert sorted(cx.codes[:, 0].tolist()) == [0, 1, 2]
    # region 2 = {2u + v < 0, u + 2v < 0}: the quadrilateral (0, 0), (0.5, -1), (-1, -1),
    # (-1, 0.5), shoelace area 3/2; regions 0 and 1 are mirror images (u <-> v): 5/4 each
    area = dict(zip(cx.codes[:, 0].tolist(), cx.measures.tolist()))
    np.testing.assert_allclose([area[0], area[1], area[2]], [1.25, 1.25, 1.5], rtol=1e-12)
    assert len(cx.adjacency[0]) == 3


def _max_pool_and_tree(seed):
    """A conv + 2x2 max-pool net and the same function with every max written as a
    ReLU tree, max(a, b) = a + relu(b - a), whose regions refine the argmax regions."""
    rng = np.random.default_rng(seed)
    K = rng.integers(-3, 4, (1, 1, 3, 3)).astype(float)
    bc = np.array([float(rng.integers(-2, 3))])
    Wo = rng.integers(-3, 4, (2, 4)).astype(float)
    g = GraphBuilder((1, 4, 4))
    h = g.max_pool(g.relu(g.conv(g.input, K, bc, padding=1)), 2)
    net = g.build(g.dense(g.flatten(h), Wo, np.zeros(2)))
    idx = np.arange(16).reshape(4, 4)
    wins = [idx[i : i + 2, j : j + 2].ravel() for i in (0, 2) for j in (0, 2)]
    L1, L2, L3 = np.zeros((16, 16)), np.zeros((8, 16)), np.zeros((2, 8))
    for w, (a, b, c, d) in enumerate(wins):
        r = 4 * w  # after the conv's ReLU a, c >= 0, so relu(a) = a passes them on
        L1[r, a] = L1[r + 1, b] = L1[r + 2, c] = L1[r + 3, d] = 1
        L1[r + 1, a] = L1[r + 3, c] = -1
        L2[2 * w, [r, r + 1]] = 1  # m1 = max(a, b)
        L2[2 * w + 1, [r + 2, r + 3]] = 1  # m2 - m1
        L2[2 * w + 1, [r, r + 1]] = -1
        L3[:, 2 * w] += Wo[:, w]  # max = m1 + relu(m2 - m1)
        L3[:, 2 * w + 1] += Wo[:, w]
    g = GraphBuilder((1, 4, 4))
    h = g.flatten(g.relu(g.conv(g.input, K, bc, padding=1)))
    h = g.relu(g.dense(g.relu(g.dense(h, L1, np.zeros(16))), L2, np.zeros(8)))
    return net, g.build(g.dense(h, L3, np.zeros(2)))


@pytest.mark.parametrize("seed", range(4))
def test_max_pool_slices_equal_the_argmax_partition_of_a_relu_tree(seed):
    # independent reference: the exact slice of the ReLU-tree net (threshold units
    # only), its cells grouped by the max-pool net's exact codes at their centroids;
    # each argmax region is convex, so it must be exactly one cell of ours with the
    # same exact area, and adjacent cells never share codes (no spurious edge)
    from fractions import Fraction

    net, tree = _max_pool_and_tree(seed)
    rng = np.random.default_rng(100 + seed)
    X = rng.normal(size=(20, 16))
    np.testing.assert_allclose(net.forward(X), tree.forward(X), rtol=1e-12, atol=1e-12)
    x1, x2, x3 = rng.integers(-3, 4, (3, 16)).astype(float)
    ref = polyfold.slice_through(tree, x1, x2, x3, mode="exact")
    o, e1, e2 = (arith.fmpq_array(v) for v in (ref.origin, ref.e1, ref.e2))
    frac = lambda q: Fraction(int(q.p), int(q.q))
    want = {}
    for i in range(ref.n_regions):
        P = ref.exact_vertices[ref.vertex_offsets[i] : ref.vertex_offsets[i + 1]]
        u, v = (sum(P[:, k], arith.ZERO) / len(P) for k in (0, 1))
        key = tuple(net.codes_exact((o + e1 * u + e2 * v)[None])[0].tolist())
        want[key] = want.get(key, Fraction(0)) + frac(ref.exact_areas[i])
    cx = polyfold.slice_through(net, x1, x2, x3, mode="exact")
    got = {tuple(c): frac(a) for c, a in zip(cx.codes.tolist(), cx.exact_areas)}
    assert cx.n_regions == len(got) == len(want) < ref.n_regions + 1
    assert got == want
    pairs, switching = cx.adjacency
    assert all(len(sw) > 0 for sw in switching)
    for mode in ("certified", "float"):
        c2 = polyfold.slice_through(net, x1, x2, x3, mode=mode)
        assert sorted(map(tuple, c2.codes.tolist())) == sorted(got)
        np.testing.assert_allclose(sorted(c2.measures), sorted(float(a) for a in got.values()),
                                   rtol=1e-9, atol=1e-12)
        assert len(c2.adjacency[0]) == len(pairs)


def test_max_pool_slice_of_the_digits_cnn_contains_every_sampled_region(monkeypatch):
    # dense sampling is a lower bound: every sampled code is a region, and the region
    # that locate() names has the sampled codes (certified: exact codes of the points)
    from polyfold.datasets import load_digits_split

    net = polyfold.zoo.digits_cnn()
    _, _, X, _ = load_digits_split()
    x1, x2, x3 = X[0], X[0] + 0.05 * (X[1] - X[0]), X[0] + 0.05 * (X[2] - X[0])
    cx = polyfold.slice_through(net, x1, x2, x3, mode="certified")
    uv = np.random.default_rng(0).uniform(-0.25, 1.25, (4000, 2))
    codes = net.codes(cx.origin + uv[:, :1] * cx.e1 + uv[:, 1:] * cx.e2)
    loc = cx.locate(uv)
    assert np.all(loc >= 0)
    assert np.array_equal(cx.codes[loc], codes)
    assert len({c.tobytes() for c in codes}) > 100
    np.testing.assert_allclose(cx.measures.sum(), 1.5 ** 2, rtol=1e-12)
    fl = polyfold.slice_through(net, x1, x2, x3, mode="float")
    assert sorted(map(bytes, fl.codes)) == sorted(map(bytes, cx.codes))
    # compacting the vertex pool after every max unit (the layer-start rows keep their
    # indices for the exact fallback) changes nothing
    from polyfold.slices import _engine

    monkeypatch.setattr(_engine, "COMPACT_SLACK", 0)
    cc = polyfold.slice_through(net, x1, x2, x3, mode="certified")
    assert cc.n_recomputed > 0
    assert np.array_equal(cc.codes, cx.codes)
    np.testing.assert_array_equal(cc.measures, cx.measures)


def test_injectivity_of_a_conv_layer_is_its_matrix():
    rng = np.random.default_rng(2)
    w, b = rng.normal(size=(3, 1, 3, 3)), rng.normal(size=3)
    g = GraphBuilder((1, 4, 4))
    h = g.relu(g.conv(g.input, w, b, padding=1))
    net = g.build(g.dense(g.flatten(h), rng.normal(size=(2, 48))))
    from polyfold.injectivity import check_injectivity, layer_weights

    W, alpha = layer_weights(net, 0)
    M, _ = conv_matrix(w, (1, 4, 4), 1, 1)
    np.testing.assert_allclose(W, M, rtol=0, atol=1e-12)
    np.testing.assert_allclose(alpha, -np.repeat(b, 16), rtol=0, atol=1e-15)
    v = check_injectivity((net, 0), domain=polyfold.injectivity.Points(rng.normal(size=(10, 16))))
    assert v.n_pieces == 10
    with pytest.raises(UnsupportedLayerError, match=r"\(layer=0\) only"):
        layer_weights(net, 1)
    g = GraphBuilder((1, 4, 4))
    net2 = g.build(g.dense(g.flatten(g.max_pool(g.input, 2)), np.ones((1, 4))))
    with pytest.raises(UnsupportedLayerError, match="max-pooling"):
        layer_weights(net2, 0)
    with pytest.raises(UnsupportedLayerError, match="dense PLNet"):
        polyfold.injectivity.check_network_injectivity(net, domain=(-1.0, 1.0))


def test_cli_with_torch_and_onnx_cnns(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    from polyfold.cli import main

    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                          nn.Linear(48, 10)).eval()
    path = tmp_path / "cnn.pt"
    torch.save(model, path)
    import json

    for argv in (["crossings", "--pairs", "5", "--grid", "11"], ["fold", "--paths-per-pair", "1",
                 "--pairs", "0:1"], ["slice"], ["bias"]):
        code = main(argv + ["--model", str(path), "--input-shape", "1,8,8", "--json", "--quiet"])
        out = capsys.readouterr().out
        assert code == 0, argv
        assert json.loads(out)["command"] == argv[0]
    pytest.importorskip("onnx")
    onnx_path = tmp_path / "cnn.onnx"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(model.double(), (torch.zeros(1, 1, 8, 8, dtype=torch.float64),), str(onnx_path),
                              dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "N"}})
        except Exception as err:  # pragma: no cover
            pytest.skip(f"torch.onnx.export unavailable: {err}")
    code = main(["crossings", "--pairs", "5", "--grid", "11", "--model", str(onnx_path), "--json", "--quiet"])
    assert code == 0 and json.loads(capsys.readouterr().out)["command"] == "crossings"


@pytest.mark.parametrize("seed", range(3))
def test_max_pool_slices_with_padding(seed):
    # padded windows have missing candidates before the valid ones: every exact cell's
    # centroid has the cell's codes (exact forward pass), codes are distinct (argmax
    # regions are convex), and certified and float find the same codes
    rng = np.random.default_rng(seed)
    g = GraphBuilder((1, 4, 4))
    h = g.relu(g.conv(g.input, rng.normal(size=(2, 1, 3, 3)), rng.normal(size=2) * 0.3, padding=1))
    h = g.max_pool(h, 2, stride=2, padding=1)
    assert (g.shape(h) == (2, 3, 3))
    net = g.build(g.dense(g.flatten(h), rng.normal(size=(2, 18))))
    x1, x2, x3 = rng.normal(size=(3, 16))
    cx = polyfold.slice_through(net, x1, x2, x3, mode="exact")
    o, e1, e2 = (arith.fmpq_array(v) for v in (cx.origin, cx.e1, cx.e2))
    for i in range(cx.n_regions):
        P = cx.exact_vertices[cx.vertex_offsets[i] : cx.vertex_offsets[i + 1]]
        u, v = (sum(P[:, k], arith.ZERO) / len(P) for k in (0, 1))
        assert np.array_equal(net.codes_exact((o + e1 * u + e2 * v)[None])[0], cx.codes[i])
    assert len({c.tobytes() for c in cx.codes}) == cx.n_regions > 20
    for mode in ("certified", "float"):
        c2 = polyfold.slice_through(net, x1, x2, x3, mode=mode)
        assert sorted(map(bytes, c2.codes)) == sorted(map(bytes, cx.codes))


def test_certified_max_ties_of_dead_units_need_no_exact_work():
    # two candidates are ReLUs dead on the whole box (exactly 0 there, error bound 0)
    # and tie exactly; a third ReLU switches inside the box, so on its dead side all
    # three candidates are 0: the lowest position wins, decided without the exact path
    g = GraphBuilder((2,))
    W = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 1.0]])
    b = np.array([0.0, -5.0, -7.0, 0.5])
    h = g.relu(g.dense(g.input, W, b))
    m = g.max_units(h, (1,), [[1, 2, 0]])  # candidates: dead, dead, relu(u)
    net = g.build(g.dense(g.add(m, g.dense(h, np.ones((1, 4)))), np.ones((1, 1))))
    cx = polyfold.slice_complex(net, np.zeros(2), np.eye(2)[0], np.eye(2)[1], bounds=BOX, mode="certified")
    ex = polyfold.slice_complex(net, np.zeros(2), np.eye(2)[0], np.eye(2)[1], bounds=BOX, mode="exact")
    assert cx.n_recomputed == 0
    assert sorted(map(bytes, cx.codes)) == sorted(map(bytes, ex.codes))
    # u < 0: all candidates 0, position 0 wins; u > 0: relu(u) (position 2) wins
    assert sorted(set(cx.codes[:, 4].tolist())) == [0, 2]


def _shares_edge(P, Q):
    """Independent reference: collinear edges of two exact polygons overlapping with
    positive length."""
    from fractions import Fraction as F

    def cross(a, b, c):
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    for i in range(len(P)):
        a, b = P[i], P[(i + 1) % len(P)]
        d = (b[0] - a[0], b[1] - a[1])
        dd = d[0] ** 2 + d[1] ** 2
        for j in range(len(Q)):
            c, e = Q[j], Q[(j + 1) % len(Q)]
            if cross(a, b, c) != 0 or cross(a, b, e) != 0:
                continue
            t1 = ((c[0] - a[0]) * d[0] + (c[1] - a[1]) * d[1]) / dd
            t2 = ((e[0] - a[0]) * d[0] + (e[1] - a[1]) * d[1]) / dd
            if min(F(1), max(t1, t2)) > max(F(0), min(t1, t2)):
                return True
    return False


@pytest.mark.parametrize("mode", ["exact", "certified"])
def test_max_pool_slice_graph_pairs_every_shared_edge(mode):
    # a fuzzed conv + ReLU + 2x2 max pool net with half-integer weights: pool candidates
    # coincide on the plane, and the chord labels of one line differ on its two sides;
    # before, exact mode missed 10 of 175 adjacent pairs and certified mode had 12
    # false pairs (regions meeting at a point, or far apart) and missed 2
    w = np.array([[[[0.5, 0.0], [1.0, -1.0]]], [[[0.0, 1.0], [0.5, -0.5]]]])
    Wd = np.array([[0.5, -0.5, 1.0, 0.0, -1.0, 1.0, -1.0, -1.0], [-0.5, 1.0, 0.5, -0.5, 1.0, -1.0, 1.0, 1.0]])
    g = GraphBuilder((1, 3, 3))
    h = g.max_pool(g.relu(g.conv(g.input, w, np.array([1.0, 1.0]), padding=1)), 2)
    net = g.build(g.dense(g.flatten(h), Wd, np.array([0.0, -0.5])))
    o = np.array([1.0, -0.5, -1.0, -1.0, 1.0, 1.0, -0.5, 1.0, 1.0])
    e1 = np.array([1.0, -1.0, -1.0, 1.0, 0.0, -1.0, 0.0, -1.0, 1.0])
    e2 = np.array([1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    ex = polyfold.slice_complex(net, o, e1, e2, bounds=(-1, 1, -1, 1), mode="exact")
    polys = [ex.exact_polygon(i) for i in range(ex.n_regions)]
    keys = [tuple(r) for r in ex.codes.tolist()]
    want = {frozenset((keys[a], keys[b])) for a in range(ex.n_regions) for b in range(a + 1, ex.n_regions)
            if _shares_edge(polys[a], polys[b])}
    assert len(want) == 175
    cx = ex if mode == "exact" else polyfold.slice_complex(net, o, e1, e2, bounds=(-1, 1, -1, 1), mode=mode)
    k = [tuple(r) for r in cx.codes.tolist()]
    assert {frozenset((k[a], k[b])) for a, b in cx.graph.edges()} == want
