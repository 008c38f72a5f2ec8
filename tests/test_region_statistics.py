"""Tests of polyfold.region_statistics (Zhang & Wu's local region statistics).

Expected values: hand derivations on the spec's tiny net, closed forms for
distances, forward passes and finite differences (independent of the region
code), brute-force sampling on lines and grids, and invariance under permuting
hidden neurons.
"""

import csv
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from polyfold import PLNet, zoo
from polyfold.exceptions import (
    DomainError,
    NonFiniteError,
    ShapeError,
    SolverError,
    ValidationError,
)
from polyfold.statistics import RegionStatistics, region_statistics

TRI_R = (2 - math.sqrt(2)) / 2
W1 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
B1 = np.array([0.0, 0.0, -1.0])


def tiny_net(W2, b2):
    """The spec's 3-neuron layer with a chosen output layer."""
    return PLNet.from_arrays([(W1, B1), (np.asarray(W2, float), np.asarray(b2, float))])


# inside the triangle (h = (x, y, 0)) the margin of class 0 over class 1 is 2.5 - x - 3y
NET_L = tiny_net([[-1.0, -3.0, 0.0], [0.0, 0.0, 0.0]], [2.5, 0.0])


def run(net, X, **kw):
    kw.setdefault("progress", False)
    return region_statistics(net, X, **kw)


# ---------------------------------------------------------------------------
# the spec's tiny net, by hand
# ---------------------------------------------------------------------------
def test_tiny_net_region_is_the_triangle():
    st_ = run(NET_L, [[0.25, 0.25]], domain=None)
    assert isinstance(st_, RegionStatistics)
    assert len(st_) == 1
    assert st_.patterns[0].tolist() == [True, True, False]
    assert st_.radius[0] == pytest.approx(TRI_R, abs=1e-9)
    np.testing.assert_allclose(st_.centre[0], [TRI_R, TRI_R], atol=1e-8)
    assert st_.n_facets[0] == 3
    assert st_.n_domain_facets[0] == 0
    assert set(st_.facet_units[0]) == {(0, 0), (0, 1), (0, 2)}
    # normals (1, 0), (0, 1), -(1, 1)/sqrt 2: |cos| = 0, 1/sqrt 2, 1/sqrt 2
    np.testing.assert_allclose(np.sort(st_.pair_cosines[0]), [0, 2**-0.5, 2**-0.5], atol=1e-12)
    assert st_.cos_mean[0] == pytest.approx(math.sqrt(2) / 3, abs=1e-12)
    assert st_.cos_median[0] == pytest.approx(2**-0.5, abs=1e-12)
    # depth: distance from (0.25, 0.25) to the nearest of the three lines
    assert st_.depth[0] == pytest.approx(0.25, abs=1e-12)


def test_tiny_net_with_unit_domain_has_the_same_insphere():
    st_ = run(NET_L, [[0.25, 0.25]], domain=(0, 1))
    assert st_.radius[0] == pytest.approx(TRI_R, abs=1e-9)
    # x >= 0 and y >= 0 are already neuron facets; the box adds no facet
    assert st_.n_facets[0] == 3
    assert st_.n_domain_facets[0] == 0


def test_decision_boundary_distance_when_the_foot_is_outside():
    # boundary x + 3y = 2.5 cuts the triangle only between (0, 5/6) and (1/4, 3/4);
    # from (0.5, 0.05) the foot (0.685, 0.605) is outside, the nearest boundary point
    # in the region is the corner (1/4, 3/4)
    st_ = run(NET_L, [[0.5, 0.05]], domain=None)
    assert st_.predicted[0] == 0
    assert st_.boundary_crosses[0]
    assert st_.n_boundaries[0] == 1
    assert st_.boundary_class[0] == 1
    assert st_.free_boundary_distance[0] == pytest.approx(1.85 / math.sqrt(10), abs=1e-12)
    assert st_.boundary_distance[0] == pytest.approx(math.hypot(0.25, 0.7), abs=1e-8)
    assert st_.boundary_classes[0].tolist() == [1]


def test_decision_boundary_distance_equals_closed_form_inside():
    # f0 - f1 = x - y: the diagonal through the triangle; from (0.3, 0.2) the foot
    # (0.25, 0.25) is inside, so the distance is |x - y| / sqrt 2
    net = tiny_net([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], [0.0, 0.0])
    st_ = run(net, [[0.3, 0.2], [0.1, 0.35]], domain=None)
    assert st_.predicted.tolist() == [0, 1]
    expected = [0.1 / math.sqrt(2), 0.25 / math.sqrt(2)]
    np.testing.assert_allclose(st_.boundary_distance, expected, atol=1e-12)
    np.testing.assert_allclose(st_.free_boundary_distance, expected, atol=1e-12)
    assert st_.boundary_crosses.all()


def test_no_boundary_in_the_region():
    # f0 - f1 = 5 - x > 0 on the whole triangle
    net = tiny_net([[-1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [5.0, 0.0])
    st_ = run(net, [[0.25, 0.25]], domain=None)
    assert not st_.boundary_crosses[0]
    assert st_.n_boundaries[0] == 0
    assert st_.boundary_distance[0] == np.inf
    assert st_.boundary_class[0] == -1
    assert st_.free_boundary_distance[0] == pytest.approx(4.75, abs=1e-12)


def test_tiny_net_neighbours_by_hand():
    st_ = run(NET_L, [[0.25, 0.25]], domain=None)
    units = st_.neighbour_units[0]
    assert sorted(units) == [((0, 0),), ((0, 1),), ((0, 2),)]
    assert st_.neighbour_verified[0].all()
    cos = dict(zip(units, st_.neighbour_cosines[0]))
    # class-0 gradient: (-1, -3) in the triangle; (0, -3) with neuron 0 off,
    # (-1, 0) with neuron 1 off, unchanged with neuron 2 on (zero weight)
    assert cos[((0, 0),)] == pytest.approx(9 / (math.sqrt(10) * 3), abs=1e-12)
    assert cos[((0, 1),)] == pytest.approx(1 / math.sqrt(10), abs=1e-12)
    assert cos[((0, 2),)] == pytest.approx(1.0, abs=1e-12)
    # the stepped points lie in the three neighbouring cells
    pts = st_.neighbour_points[0]
    pats = {u: tuple(p) for u, p in zip(units, NET_L.patterns(pts).tolist())}
    assert pats[((0, 0),)] == (False, True, False)
    assert pats[((0, 1),)] == (True, False, False)
    assert pats[((0, 2),)] == (True, True, True)
    # labels read at the stepped points agree with a forward pass
    assert st_.neighbour_labels[0].tolist() == NET_L.predict(pts).tolist()


def test_neighbours_outside_the_domain_are_marked():
    # with the unit box, x = 0 and y = 0 are domain faces: nothing to step into
    st_ = run(NET_L, [[0.25, 0.25]], domain=(0, 1))
    units = st_.neighbour_units[0]
    ver = dict(zip(units, st_.neighbour_verified[0]))
    lab = dict(zip(units, st_.neighbour_labels[0]))
    assert not ver[((0, 0),)] and not ver[((0, 1),)]
    assert lab[((0, 0),)] == -1
    assert ver[((0, 2),)]
    pt = st_.neighbour_points[0][units.index(((0, 2),))]
    assert np.all((pt >= 0) & (pt <= 1))
    assert st_.neighbours_verified[0] == pytest.approx(1 / 3)


def test_neighbour_label_at_centre():
    # neighbour across x + y = 1 within the unit box: triangle (1,0), (0,1), (1,1),
    # insphere centre (1 - r, 1 - r); there 2.5 - x - 3y = 2.5 - 4 (1 - r) < 0 -> class 1
    st_ = run(NET_L, [[0.25, 0.25]], domain=(0, 1), neighbour_label="centre")
    units = st_.neighbour_units[0]
    lab = dict(zip(units, st_.neighbour_labels[0]))
    assert lab[((0, 2),)] == 1
    assert 2.5 - 4 * (1 - TRI_R) < 0
    assert st_.neighbour_label_change[0] == pytest.approx(1.0)


def test_facet_point_choice_does_not_change_the_neighbours():
    net = zoo.random_mlp((6, 5), 3, 3, seed=4)
    X = np.random.default_rng(1).uniform(0, 1, (4, 3))
    a = run(net, X, facet_point="nearest")
    b = run(net, X, facet_point="chebyshev")
    for i in range(len(X)):
        assert a.neighbour_units[i] == b.neighbour_units[i]
        np.testing.assert_allclose(a.neighbour_cosines[i], b.neighbour_cosines[i], atol=1e-9)
    assert a.facet_point == "nearest" and b.facet_point == "chebyshev"


# ---------------------------------------------------------------------------
# independent checks on random networks
# ---------------------------------------------------------------------------
def _finite_difference_gradients(net, x, units, h):
    """Gradient of each unit's preactivation at x by central differences."""
    d = len(x)
    out = []
    for layer, neuron in units:
        g = np.zeros(d)
        for k in range(d):
            e = np.zeros(d)
            e[k] = h
            zp = net.preactivations(x + e)[layer][neuron]
            zm = net.preactivations(x - e)[layer][neuron]
            g[k] = (zp - zm) / (2 * h)
        out.append(g)
    return np.array(out)


def test_normals_and_neighbours_against_forward_passes():
    net = zoo.random_mlp((8, 6), 4, 3, seed=7)
    X = np.random.default_rng(3).uniform(0.2, 0.8, (5, 4))
    st_ = run(net, X)
    for i, x in enumerate(X):
        units = st_.facet_units[i]
        assert len(units) == st_.n_facets[i]
        # facet normals from finite differences of preactivations (affine near x)
        h = 0.25 * st_.depth[i]
        G = _finite_difference_gradients(net, x, units, h)
        N = G / np.linalg.norm(G, axis=1, keepdims=True)
        iu = np.triu_indices(len(units), 1)
        np.testing.assert_allclose(
            np.sort(np.abs(N @ N.T)[iu]), np.sort(st_.pair_cosines[i]), atol=1e-6
        )
        # neighbours: the stepped point's codes differ from x's in exactly the
        # switching units of the crossed facet
        codes = net.codes(x[None, :])[0]
        V, _ = net.affine_map(x)
        c = st_.predicted[i]
        for units_sw, pt, ok, cos, lab in zip(
            st_.neighbour_units[i],
            st_.neighbour_points[i],
            st_.neighbour_verified[i],
            st_.neighbour_cosines[i],
            st_.neighbour_labels[i],
        ):
            assert ok
            assert units_sw[0] in units
            diff = np.flatnonzero(net.codes(pt[None, :])[0] != codes)
            assert sorted(net.unit_of(k) for k in diff) == sorted(units_sw)
            V2, _ = net.affine_map(pt)
            ref = V[c] @ V2[c] / (np.linalg.norm(V[c]) * np.linalg.norm(V2[c]))
            assert cos == pytest.approx(ref, abs=1e-9)
            assert lab == net.predict(pt)


def test_insphere_ball_lies_in_the_region():
    net = zoo.random_mlp((6, 6), 3, 4, seed=2)
    X = np.random.default_rng(5).uniform(0, 1, (4, 3))
    st_ = run(net, X, neighbours=False)
    rng = np.random.default_rng(0)
    for i in range(len(X)):
        r, c0 = st_.radius[i], st_.centre[i]
        assert r > 0
        dirs = rng.standard_normal((500, 3))
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        pts = c0 + 0.999 * r * dirs * rng.uniform(0, 1, (500, 1))
        assert (net.patterns(pts) == st_.patterns[i]).all()
        assert np.all((pts >= 0) & (pts <= 1))
    assert st_.n_neighbours.tolist() == [0] * 4
    assert all(len(c) == 0 for c in st_.neighbour_cosines)


small = st.integers(-3, 3)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), pseed=st.integers(0, 10_000))
def test_boundary_distances_against_sampling_on_lines(seed, pseed):
    # 2-D nets with small integer weights; for each rival class j, sample the line
    # g_j . y + h_j = 0 finely: points on it inside the region (same codes) are at
    # least boundary_distances[j] away, and one is within the sampling step of it
    net = zoo.random_mlp((4, 3), 2, 3, seed=seed, integer=True)
    x = np.random.default_rng(pseed).uniform(-1, 1, 2)
    st_ = run(net, x[None, :], domain=(-2, 2), neighbours=False)
    codes = net.codes(x[None, :])[0]
    V, u = net.affine_map(x)
    c = int(st_.predicted[0])
    assert c == net.predict(x)
    dist = dict(zip(st_.boundary_classes[0].tolist(), st_.boundary_distances[0].tolist()))
    free = []
    step = 4e-4
    for j in range(3):
        if j == c:
            continue
        g, h = V[c] - V[j], u[c] - u[j]
        gn = np.linalg.norm(g)
        if gn == 0:
            assert j not in dist
            continue
        free.append(abs(g @ x + h) / gn)
        p0 = x - (g @ x + h) / gn**2 * g
        t = np.array([-g[1], g[0]]) / gn
        s = np.arange(-6.0, 6.0, step)
        line = p0 + s[:, None] * t
        line = line[np.all(np.abs(line) <= 2, axis=1)]
        inside = line[np.all(net.codes(line) == codes, axis=1)]
        # grid over the box: does class j win somewhere in the region?
        grid = np.stack(np.meshgrid(np.linspace(-2, 2, 161), np.linspace(-2, 2, 161)), -1)
        grid = grid.reshape(-1, 2)
        same = grid[np.all(net.codes(grid) == codes, axis=1)]
        wins = same[(same @ g + h) < -1e-7] if len(same) else same
        if len(wins):
            assert j in dist
            # the segment from x to a winning point crosses the boundary in the region
            assert dist[j] <= np.min(np.linalg.norm(wins - x, axis=1)) + 1e-9
        if j in dist and len(inside):
            dmin = np.min(np.linalg.norm(inside - x, axis=1))
            assert dmin >= dist[j] - 1e-9
            if len(inside) >= 3:
                assert dmin <= dist[j] + step + 1e-9
        if j in dist:
            assert dist[j] >= abs(g @ x + h) / gn - 1e-12
    if free:
        assert st_.free_boundary_distance[0] == pytest.approx(min(free), abs=1e-9)
    if dist:
        assert st_.boundary_distance[0] == pytest.approx(min(dist.values()), abs=1e-12)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(2, 6), seed=st.integers(0, 10_000), pseed=st.integers(0, 10_000))
def test_facets_of_an_arrangement_by_line_intervals(n, seed, pseed):
    # one hidden layer in 2-D: neuron k is a facet of x's cell iff an interval of
    # positive length of its line (inside the box) has every other neuron strictly on
    # x's side -- intersected in closed form along the line, no LP
    net = zoo.arrangement(n, 2, seed=seed, output_dim=2)
    x = np.random.default_rng(pseed).uniform(-1, 1, 2)
    W, b = net.layers[0]
    zx = W @ x + b
    if np.min(np.abs(zx)) < 1e-6:
        return
    st_ = run(net, x[None, :], domain=(-3, 3), neighbours=False)
    sign = np.where(zx > 0, 1.0, -1.0)
    # constraints alpha . y + beta > 0: other neurons on x's side, and |y_i| < 3
    alpha = np.vstack([sign[:, None] * W, np.eye(2), -np.eye(2)])
    beta = np.concatenate([sign * b, [3.0, 3.0, 3.0, 3.0]])
    expected = set()
    for k in range(n):
        w = W[k]
        p0 = -b[k] * w / (w @ w)
        t = np.array([-w[1], w[0]]) / np.linalg.norm(w)
        lo, hi = -np.inf, np.inf
        for j in range(len(alpha)):
            if j == k:
                continue
            a_, c_ = alpha[j] @ t, alpha[j] @ p0 + beta[j]  # a_ s + c_ > 0
            if abs(a_) < 1e-14:
                if c_ <= 0:
                    lo, hi = 1.0, 0.0
                continue
            if a_ > 0:
                lo = max(lo, -c_ / a_)
            else:
                hi = min(hi, -c_ / a_)
        if hi - lo > 1e-9:
            expected.add((0, k))
    assert set(st_.facet_units[0]) == expected


@pytest.mark.parametrize("seed", [0, 1])
def test_statistics_invariant_to_permuting_hidden_neurons(seed):
    net = zoo.random_mlp((7, 5), 3, 3, seed=seed)
    rng = np.random.default_rng(seed + 10)
    (W1_, b1_), (W2_, b2_), (W3_, b3_) = net.layers
    p1, p2 = rng.permutation(7), rng.permutation(5)
    perm = PLNet.from_arrays(
        [(W1_[p1], b1_[p1]), (W2_[p2][:, p1], b2_[p2]), (W3_[:, p2], b3_)]
    )
    X = rng.uniform(0, 1, (4, 3))
    a, b = run(net, X), run(perm, X)
    np.testing.assert_allclose(a.radius, b.radius, atol=1e-9)
    for name in ("predicted", "n_facets", "n_domain_facets", "n_boundaries", "boundary_class",
                 "boundary_crosses", "n_neighbours"):
        assert getattr(a, name).tolist() == getattr(b, name).tolist(), name
    for name in ("depth", "cos_mean", "cos_median", "boundary_distance",
                 "free_boundary_distance", "neighbour_cos_mean"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), atol=1e-9, err_msg=name)
    inv1, inv2 = np.argsort(p1), np.argsort(p2)
    relabel = {0: inv1, 1: inv2}
    for i in range(len(X)):
        mapped = {(l, int(relabel[l][k])) for l, k in a.facet_units[i]}
        assert mapped == set(b.facet_units[i])
        np.testing.assert_allclose(np.sort(a.pair_cosines[i]), np.sort(b.pair_cosines[i]), atol=1e-9)
        np.testing.assert_allclose(
            np.sort(a.neighbour_cosines[i]), np.sort(b.neighbour_cosines[i]), atol=1e-9
        )
        la = sorted(zip([tuple(sorted((l, int(relabel[l][k])) for l, k in us))
                         for us in a.neighbour_units[i]], a.neighbour_labels[i].tolist()))
        lb = sorted(zip([tuple(sorted(us)) for us in b.neighbour_units[i]],
                        b.neighbour_labels[i].tolist()))
        assert [u for u, _ in la] == [u for u, _ in lb]


def test_samples_sharing_a_region():
    st_ = run(NET_L, [[0.25, 0.25], [0.5, 0.05]], domain=None)
    assert st_.radius[0] == st_.radius[1]
    assert st_.n_facets.tolist() == [3, 3]
    assert st_.boundary_distance[0] != st_.boundary_distance[1]
    assert st_.summary()["n_distinct_regions"] == 1


def test_single_output_network():
    # logit f = x - 2y + 0.1 in the triangle; class 1 where f > 0
    net = tiny_net([[1.0, -2.0, 0.0]], [0.1])
    st_ = run(net, [[0.6, 0.1], [0.1, 0.4]], domain=None)
    assert st_.predicted.tolist() == [1, 0]
    free = np.abs(np.array([0.6 - 0.2 + 0.1, 0.1 - 0.8 + 0.1])) / math.sqrt(5)
    np.testing.assert_allclose(st_.free_boundary_distance, free, atol=1e-12)
    assert st_.boundary_crosses.all()
    # both feet lie inside the triangle: the distances are the closed form
    np.testing.assert_allclose(st_.boundary_distance, free, atol=1e-12)
    assert st_.boundary_class.tolist() == [0, 1]


# ---------------------------------------------------------------------------
# result type and writers
# ---------------------------------------------------------------------------
def test_result_is_frozen_and_readonly():
    st_ = run(NET_L, [[0.25, 0.25]], domain=None)
    with pytest.raises(Exception):
        st_.radius = None
    with pytest.raises(ValueError):
        st_.radius[0] = 1.0
    assert "n_samples=1" in repr(st_)


def test_writers_round_trip(tmp_path):
    net = zoo.random_mlp((5, 4), 3, 3, seed=3)
    X = np.random.default_rng(0).uniform(0, 1, (3, 3))
    st_ = run(net, X)
    path = tmp_path / "stats.csv"
    st_.to_csv(path)
    with open(path) as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3
    assert rows[0]["sample"] == "0"
    for i, row in enumerate(rows):
        assert float(row["radius"]) == pytest.approx(st_.radius[i], rel=1e-12)
        assert int(row["n_facets"]) == st_.n_facets[i]
        assert row["boundary_crosses"] in ("True", "False")
    jpath = tmp_path / "stats.json"
    st_.to_json(jpath)
    text = jpath.read_text()
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text)
    assert data["settings"]["neighbour_label"] == "step"
    assert data["settings"]["domain"] == [[0.0] * 3, [1.0] * 3]
    assert len(data["samples"]) == 3
    rec = data["samples"][1]
    assert rec["n_facets"] == st_.n_facets[1]
    assert len(rec["pair_cosines"]) == st_.n_facets[1] * (st_.n_facets[1] - 1) // 2
    assert rec["neighbour_units"] == [[list(u) for u in us] for us in st_.neighbour_units[1]]
    assert "neighbour_points" not in rec
    st_.to_json(jpath, points=True)
    assert len(json.loads(jpath.read_text())["samples"][0]["centre"]) == 3


def test_json_writes_missing_values_as_null(tmp_path):
    net = tiny_net([[-1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], [5.0, 0.0])  # no boundary
    st_ = run(net, [[0.25, 0.25]], domain=(0, 1))
    st_.to_json(tmp_path / "s.json")
    rec = json.loads((tmp_path / "s.json").read_text())["samples"][0]
    assert rec["boundary_distance"] is None
    assert rec["neighbour_cosines"][0] is None or isinstance(rec["neighbour_cosines"][0], float)


def test_summary_aggregates():
    X = [[0.25, 0.25], [0.5, 0.05]]
    st_ = run(NET_L, X, domain=None)
    s = st_.summary()
    assert s["n_samples"] == 2
    assert s["radius_mean"] == pytest.approx(TRI_R, abs=1e-9)
    assert s["boundary_share"] == 1.0
    assert s["boundary_distance_median"] == pytest.approx((0.5 + math.hypot(0.25, 0.7)) / 2)
    assert s["n_facets_mean"] == 3.0
    assert s["neighbours_verified"] == 1.0
    assert s["radius_without_boundary_median"] is None
    # pooled over the 6 neighbours: labels 0, 0, 1 twice with prediction 0
    assert s["neighbour_label_change"] == pytest.approx(1 / 3)
    assert set(s) >= {"cos_mean", "cos_median", "radius_distance_spearman", "depth_median"}
    empty = run(NET_L, np.zeros((0, 2)), domain=None)
    assert len(empty) == 0
    assert empty.summary()["radius_mean"] is None


def test_progress_bar(capsys):
    run(NET_L, [[0.25, 0.25]], domain=None, progress=True)
    assert "region statistics" in capsys.readouterr().err
    region_statistics(NET_L, [[0.25, 0.25]], domain=None)  # not a terminal: silent
    assert "region statistics" not in capsys.readouterr().err


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
def test_nan_sample():
    with pytest.raises(NonFiniteError, match="X contains NaN"):
        run(NET_L, [[0.25, np.nan]])


def test_sample_outside_the_domain():
    with pytest.raises(DomainError, match=r"X\[1\] lies outside the domain.*np\.clip"):
        run(NET_L, [[0.25, 0.25], [0.5, 1.5]], domain=(0, 1))


def test_unbounded_region_without_domain_suggests_domain():
    net = PLNet.from_arrays([(np.array([[1.0, 0.0]]), np.zeros(1)), (np.ones((2, 1)), np.zeros(2))])
    with pytest.raises(DomainError, match=r"sample X\[0\].*domain=") as info:
        run(net, [[0.5, 0.5]], domain=None)
    assert isinstance(info.value, ValueError)
    st_ = run(net, [[0.5, 0.5]], domain=(0, 1))
    assert st_.radius[0] == pytest.approx(0.5)


def test_bad_arguments():
    with pytest.raises(ShapeError, match=r"X of shape \(n, 2\)"):
        run(NET_L, [[0.1, 0.2, 0.3]])
    with pytest.raises(ValidationError, match="net must be a polyfold.PLNet"):
        run("net", [[0.1, 0.2]])
    with pytest.raises(ValidationError, match="neighbour_label"):
        run(NET_L, [[0.1, 0.2]], neighbour_label="middle")
    with pytest.raises(ValidationError, match="facet_point"):
        run(NET_L, [[0.1, 0.2]], facet_point="foot")
    with pytest.raises(ValidationError, match="neighbours must be True or False"):
        run(NET_L, [[0.1, 0.2]], neighbours="yes")
    with pytest.raises(ValidationError, match="domain must be None or a pair"):
        run(NET_L, [[0.1, 0.2]], domain=1.0)
    with pytest.raises(DomainError, match="inverted"):
        run(NET_L, [[0.1, 0.2]], domain=(1, 0))


def test_lp_failure_surfaces_as_solver_error(monkeypatch):
    # every HiGHS call reports "numerical difficulties" (scipy's status 4)
    from polyfold import _lp

    def failing_highs(*args, **kwargs):
        return _lp._LPResult(4, None, None, "numerical difficulties (test)")

    monkeypatch.setattr(_lp, "_run_highs", failing_highs)
    with pytest.raises(SolverError, match=r"sample X\[0\].*status 4") as info:
        run(NET_L, [[0.25, 0.25]], domain=(0, 1))
    assert info.value.status == 4


def test_concat_of_chunks_equals_one_run():
    net = zoo.random_mlp((5, 4), 3, 3, seed=6)
    X = np.random.default_rng(2).uniform(0, 1, (5, 3))
    whole = run(net, X)
    parts = RegionStatistics.concat([run(net, X[:2]), run(net, X[2:])])
    assert len(parts) == 5
    np.testing.assert_array_equal(parts.radius, whole.radius)
    np.testing.assert_array_equal(parts.boundary_distance, whole.boundary_distance)
    assert parts.facet_units == whole.facet_units
    assert parts.summary() == whole.summary()
    with pytest.raises(ValidationError, match="different domains or options"):
        RegionStatistics.concat([run(net, X[:1]), run(net, X[:1], neighbour_label="centre")])
    with pytest.raises(ValidationError, match="non-empty"):
        RegionStatistics.concat([])


# ---- least distances and decision boundaries against an independent QP ------------------------
def _highs_qp_min_distance(x, A_ub=None, c_ub=None, g=None, h=None):
    """min ||y - x||^2 s.t. A_ub y + c_ub >= 0 and g y + h = 0 (HiGHS's QP solver)."""
    highspy = pytest.importorskip("highspy")
    d = x.shape[0]
    rows = [] if A_ub is None else [A_ub]
    lower = [] if A_ub is None else [-c_ub]
    upper = [] if A_ub is None else [np.full(len(c_ub), highspy.kHighsInf)]
    if g is not None:
        rows.append(g[None, :])
        lower.append(np.array([-h]))
        upper.append(np.array([-h]))
    M = np.vstack(rows)
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = d, M.shape[0]
    lp.col_cost_ = -x  # (1/2)|y|^2 - x.y  = (1/2)|y - x|^2 + const
    lp.col_lower_ = np.full(d, -highspy.kHighsInf)
    lp.col_upper_ = np.full(d, highspy.kHighsInf)
    lp.row_lower_ = np.concatenate(lower)
    lp.row_upper_ = np.concatenate(upper)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = np.arange(0, M.size + 1, d, dtype=np.int32)
    lp.a_matrix_.index_ = np.tile(np.arange(d, dtype=np.int32), M.shape[0])
    lp.a_matrix_.value_ = np.ascontiguousarray(M).ravel()
    hess = highspy.HighsHessian()
    hess.dim_ = d
    hess.format_ = highspy.HessianFormat.kTriangular
    hess.start_ = np.arange(d + 1, dtype=np.int32)
    hess.index_ = np.arange(d, dtype=np.int32)
    hess.value_ = np.ones(d)
    model = highspy.HighsModel()
    model.lp_ = lp
    model.hessian_ = hess
    solver = highspy._Highs() if hasattr(highspy, "_Highs") else highspy.Highs()
    solver.setOptionValue("output_flag", False)
    for opt in ("primal_feasibility_tolerance", "dual_feasibility_tolerance"):
        solver.setOptionValue(opt, 1e-10)
    solver.passModel(model)
    solver.run()
    if solver.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return np.array(solver.getSolution().col_value)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(1, 30), m=st.integers(1, 150))
def test_least_distance_matches_a_qp_solver(seed, d, m):
    from polyfold.statistics._geometry import _least_distance
    from polyfold.tolerance import get_tol

    rng = np.random.default_rng(seed)
    G = rng.normal(size=(m, d))
    G /= np.linalg.norm(G, axis=1, keepdims=True)
    z = rng.normal(size=d) * rng.uniform(0.1, 3.0)
    h = G @ z - rng.exponential(1.0, size=m) * rng.uniform(0.0, 2.0)  # z is feasible
    y = _least_distance(G, h, get_tol(None))
    assert y is not None
    scale = 1 + np.abs(h).max()
    assert np.min(G @ y - h) >= -1e-9 * scale
    # optimality (KKT): y is a non-negative combination of the rows active at y
    from scipy.optimize import nnls

    active = np.abs(G @ y - h) <= 1e-8 * scale
    if np.linalg.norm(y) > 1e-12:
        lam, res = nnls(G[active].T, y) if active.any() else (None, np.linalg.norm(y))
        assert res <= 1e-6 * max(1.0, np.linalg.norm(y))
    # and the same length as a QP solver's answer, when the solver reports optimal
    ref = _highs_qp_min_distance(np.zeros(d), G, -h)
    if ref is not None:
        assert np.linalg.norm(y) == pytest.approx(np.linalg.norm(ref), rel=1e-6, abs=1e-9)


def test_least_distance_infeasible_is_none():
    from polyfold.statistics._geometry import _least_distance
    from polyfold.tolerance import get_tol

    G = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    h = np.array([1.0, 0.0, 0.5])  # y0 >= 1 and y0 <= 0
    assert _least_distance(G, h, get_tol(None)) is None


@pytest.mark.parametrize("index", [8, 19])
def test_boundary_distances_match_a_qp_solver_on_digits(index):
    # the nearest point of each crossing decision boundary inside the region, as a QP in
    # input space; on these samples of the 2x30 digits net one NNLS over all of the
    # region's rows stopped 1.1e-3 (sample 8) and 1.7e-5 (sample 19) short of the optimum
    from sklearn.datasets import load_digits

    from polyfold.regions import region_of

    net = zoo.digits_mlp("2x30")
    x = load_digits().data[-360:][index] / 16.0
    s = region_statistics(net, x[None, :], neighbours=False)
    R = region_of(net, x, domain=(0, 1))
    cls = int(s.predicted[0])
    assert len(s.boundary_classes[0]) > 0
    for j, dist in zip(s.boundary_classes[0].tolist(), s.boundary_distances[0].tolist()):
        g = R.V[cls] - R.V[j]
        h = R.u[cls] - R.u[j]
        n = np.linalg.norm(g)
        y = _highs_qp_min_distance(x, R.A, R.c, g / n, h / n)
        assert y is not None
        assert dist == pytest.approx(np.linalg.norm(y - x), rel=1e-6, abs=1e-9)


# ---- worker processes --------------------------------------------------------------------------
def test_n_jobs_gives_the_serial_result():
    net = zoo.random_mlp((8, 8), 3, 3, seed=4)
    X = np.random.default_rng(2).uniform(0, 1, (12, 3))
    X = np.vstack([X, X[::-3] + 1e-9])  # samples sharing regions, interleaved
    serial = region_statistics(net, X, progress=False)
    two = region_statistics(net, X, progress=False, n_jobs=2)
    assert two.equals(serial)
    # fewer than two samples per worker: computed in this process, same result
    one = region_statistics(net, X[:3], progress=False, n_jobs=2)
    assert one.equals(region_statistics(net, X[:3], progress=False))
    assert not two.equals(serial._take(np.arange(len(X))[::-1]))


def test_n_jobs_errors_name_the_global_sample():
    # the region of (5, 5) is unbounded: without a domain its insphere is unbounded;
    # the second worker's block holds it, and the error names its index in X
    net = PLNet.from_arrays([(W1, B1), (np.ones((2, 3)), np.zeros(2))])
    X = [[0.25, 0.25]] * 5 + [[5.0, 5.0]]
    with pytest.raises(DomainError, match=r"sample X\[5\].*domain="):
        region_statistics(net, X, domain=None, progress=False, n_jobs=2)


@pytest.mark.parametrize("bad", [0, -2, 1.5, "2", True])
def test_bad_n_jobs(bad):
    with pytest.raises(ValidationError, match="n_jobs must be None, a positive int or -1"):
        run(NET_L, [[0.1, 0.2]], n_jobs=bad)


def test_step_across_a_hard_tanh_facet_stops_at_the_units_next_threshold():
    # one hard tanh unit z = y on [-2, 2]^2 (codes count the thresholds -1, 0, 1 below
    # z); x = (0, 1.5) has code 3, region 1 <= y <= 2, one neuron facet y = 1.  By hand:
    # the neighbour across it is 0 <= y <= 1 (code 2), bounded below by the same unit's
    # threshold 0, so the half step lands at y = 1/2, where f = h = y > 0 (label 1)
    from polyfold import HardTanh, PLNet

    net = PLNet.from_arrays([(np.array([[0.0, 1.0]]), np.array([0.0])),
                             (np.array([[1.0]]), np.array([0.0]))], activation=[HardTanh(-1.0, 1.0)])
    st = region_statistics(net, np.array([[0.0, 1.5]]), domain=(-2.0, 2.0))
    q = np.asarray(st.neighbour_points[0]).reshape(-1, 2)
    assert q.shape == (1, 2) and q[0, 1] == pytest.approx(0.5, abs=1e-9)
    assert st.neighbour_verified[0].tolist() == [True]
    assert st.neighbour_labels[0].tolist() == [1] and st.neighbour_label_change.tolist() == [0.0]


def test_neighbour_points_of_hard_tanh_nets_lie_in_the_neighbour():
    # every neighbour point found must have the neighbour's codes (a forward pass)
    from polyfold import HardTanh, PLNet

    rng = np.random.default_rng(11)
    n = 0
    for _ in range(40):
        d = int(rng.integers(2, 4))
        dims = [d, int(rng.integers(2, 5)), int(rng.integers(2, 5)), 2]
        layers = [(rng.standard_normal((o, i)), rng.standard_normal(o) * 0.5) for i, o in zip(dims[:-1], dims[1:])]
        net = PLNet.from_arrays(layers, activation=HardTanh(-0.5, 0.5))
        st = region_statistics(net, rng.uniform(-1, 1, (4, d)), domain=(-1.0, 1.0))
        for i in range(4):
            pts = np.asarray(st.neighbour_points[i]).reshape(-1, d)
            fin = np.isfinite(pts).all(axis=1)
            n += int(fin.sum())
            assert np.asarray(st.neighbour_verified[i])[fin].all()
    assert n > 200
