"""Input audit of polyfold.statistics, polyfold.adjacency, polyfold.convert and
polyfold.plotting: bad arguments raise a PolyfoldError naming the argument (never a
raw numpy / matplotlib / networkx error, NaN output or a hang), and the region
statistics agree with values derived by hand or recomputed with scipy."""

import math
from fractions import Fraction

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import polyfold  # noqa: E402
from polyfold import PLNet, adjacency, insphere, inspheres, region_statistics  # noqa: E402
from polyfold import plotting as P  # noqa: E402
from polyfold.convert import graph_to_plnet  # noqa: E402
from polyfold.exceptions import DomainError, PolyfoldError, ShapeError  # noqa: E402
from polyfold.statistics import RegionStatistics  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def triangle_net(out_bias=(0.0, 0.0)):
    """Lines x = 0, y = 0, x + y = 1; logits f0 = x, f1 = y + 2 relu(x + y - 1) + b1."""
    W1 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    return PLNet.from_arrays([(W1, np.array([0.0, 0.0, -1.0])),
                              (np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 2.0]]), np.array(out_bias))])


NET = triangle_net()
NET_A = polyfold.zoo.random_mlp((4,), 2, 2, seed=0)
NET_B = polyfold.zoo.random_mlp((5,), 2, 2, seed=1)
SAW = polyfold.zoo.sawtooth(2)
CX = polyfold.slice_complex(polyfold.zoo.arrangement(4, 2, seed=0), [0, 0], [1, 0], [0, 1],
                            bounds=(-2, 2, -2, 2))
ST = region_statistics(NET, [[0.3, 0.2]], domain=(-1, 2), progress=False)
TRI_A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
TRI_C = np.array([0.0, 0.0, 1.0])
SQUARE = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]


def _walk():
    from polyfold.folding import space_folding

    return space_folding(SAW, [0.0], [1.0])


def _fig():
    return plt.figure()


# (id, call, words the message must contain)
BAD = [
    # statistics
    ("insphere-A-None", lambda: insphere(None, TRI_C), ["A", "None"]),
    ("insphere-c-None", lambda: insphere(TRI_A, None), ["c", "None"]),
    ("insphere-domain-bool", lambda: insphere(TRI_A, TRI_C, domain=(False, True)), ["domain"]),
    ("insphere-domain-None-side", lambda: insphere(TRI_A, TRI_C, domain=(None, 1)),
     ["domain lower", "None"]),
    ("batch-empty-index", lambda: inspheres([], [])[0], ["empty"]),
    ("batch-bool-index", lambda: inspheres([TRI_A, TRI_A], [TRI_C, TRI_C])[True], ["index"]),
    ("stats-X-None", lambda: region_statistics(NET, None, progress=False), ["X", "None"]),
    ("stats-domain-beyond-float", lambda: region_statistics(NET_A, [[0.5, 0.5]],
                                                            domain=(-1e308, 1e308), progress=False),
     ["domain", "1e300"]),
    ("concat-None", lambda: RegionStatistics.concat(None), ["parts"]),
    ("concat-one-result", lambda: RegionStatistics.concat(ST), ["parts"]),
    ("concat-other-net", lambda: RegionStatistics.concat([
        region_statistics(NET_A, [[0.5, 0.5]], progress=False),
        region_statistics(NET_B, [[0.5, 0.5]], progress=False)]), ["parts[1]", "network"]),
    ("to_csv-None", lambda: ST.to_csv(None), ["path"]),
    ("to_csv-folder", lambda: ST.to_csv("/"), ["path", "folder"]),
    ("to_csv-missing-folder", lambda: ST.to_csv("/no_such_polyfold_dir/x.csv"),
     ["path", "does not exist"]),
    ("to_json-missing-folder", lambda: ST.to_json("/no_such_polyfold_dir/x.json"),
     ["path", "does not exist"]),
    ("to_dict-points-str", lambda: ST.to_dict(points="yes"), ["points"]),
    # adjacency
    ("adjacency_pairs-None", lambda: adjacency.adjacency_pairs(None), ["cx", "RegionComplex"]),
    ("region_graph-net", lambda: adjacency.region_graph(NET), ["cx", "PLNet"]),
    ("decision_boundary-dict", lambda: adjacency.decision_boundary({}), ["cx"]),
    ("complex_to_json-None", lambda: adjacency.complex_to_json(None), ["cx"]),
    ("complex_to_json-missing-folder",
     lambda: adjacency.complex_to_json(CX, "/no_such_polyfold_dir/x.json"), ["path"]),
    ("complex_to_json-path-int", lambda: adjacency.complex_to_json(CX, 5), ["path"]),
    ("graphml-G-None", lambda: adjacency.graph_to_graphml(None, "x.graphml"), ["G"]),
    ("graphml-G-complex", lambda: adjacency.graph_to_graphml(CX, "x.graphml"), ["G", "to_graphml"]),
    ("graphml-missing-folder",
     lambda: adjacency.graph_to_graphml(CX.graph, "/no_such_polyfold_dir/x.graphml"), ["path"]),
    ("switching-codes-None", lambda: adjacency.switching_units(None, [[0, 1]]), ["codes"]),
    ("switching-codes-1d", lambda: adjacency.switching_units(np.zeros(3), [[0, 1]]), ["codes"]),
    ("switching-pairs-None", lambda: adjacency.switching_units(CX.codes, None), ["pairs"]),
    ("switching-pairs-out-of-range", lambda: adjacency.switching_units(CX.codes, [[0, 999]]),
     ["pairs", "999"]),
    ("switching-pairs-negative", lambda: adjacency.switching_units(CX.codes, [[0, -1]]),
     ["pairs", "-1"]),
    ("switching-pairs-float", lambda: adjacency.switching_units(CX.codes, [[0, 1.5]]), ["pairs"]),
    ("switching-pairs-nan", lambda: adjacency.switching_units(CX.codes, [[0, np.nan]]), ["pairs"]),
    ("switching-pairs-odd", lambda: adjacency.switching_units(CX.codes, [0, 1, 2]), ["pairs"]),
    ("switching-block-0", lambda: adjacency.switching_units(CX.codes, [[0, 1]], block=0),
     ["block"]),
    ("switching-block--1", lambda: adjacency.switching_units(CX.codes, [[0, 1]], block=-1),
     ["block"]),
    ("switching-block-float", lambda: adjacency.switching_units(CX.codes, [[0, 1]], block=1.5),
     ["block"]),
    ("clip-vertices-None", lambda: adjacency.clip_polygon(None, None, 1, 0, 0, 9), ["vertices"]),
    ("clip-labels-short", lambda: adjacency.clip_polygon(SQUARE, [0], -1.0, 0, 0.5, 9), ["labels"]),
    ("clip-a-None", lambda: adjacency.clip_polygon(SQUARE, [0, 1, 2, 3], None, 0, 0.5, 9), ["a"]),
    ("clip-c-str", lambda: adjacency.clip_polygon(SQUARE, [0, 1, 2, 3], 1.0, 0, "x", 9), ["c"]),
    ("clip-a-nan", lambda: adjacency.clip_polygon(SQUARE, [0, 1, 2, 3], np.nan, 0, 0.5, 9), ["a"]),
    ("clip-vertex-nan", lambda: adjacency.clip_polygon([(0.0, np.nan)] + SQUARE[1:], [0, 1, 2, 3],
                                                       -1.0, 0, 0.5, 9), ["vertices[0]"]),
    ("clip-vertex-not-pair", lambda: adjacency.clip_polygon([0.0, 1.0, 2.0], [0, 1, 2], -1.0, 0,
                                                            0.5, 9), ["vertices[0]"]),
    ("clip-eps-negative", lambda: adjacency.clip_polygon(SQUARE, [0, 1, 2, 3], -1.0, 0, 0.5, 9,
                                                         eps=-1), ["eps"]),
    # convert
    ("graph_to_plnet-None", lambda: graph_to_plnet(None), ["graph"]),
    ("graph_to_plnet-PLNet", lambda: graph_to_plnet(NET), ["graph", "PLNet"]),
    # plotting: sampling and saving
    ("sample_walk-net-None", lambda: P.sample_walk(None, [0.0], [1.0]), ["net"]),
    ("sample_walk-x1-None", lambda: P.sample_walk(SAW, None, [1.0]), ["x1", "None"]),
    ("sample_walk-x1-str", lambda: P.sample_walk(SAW, "a", [1.0]), ["x1"]),
    ("sample_walk-x2-width", lambda: P.sample_walk(SAW, [0.0], [1.0, 2.0]), ["x2", "input_dim"]),
    ("sample_walk-x1-two-points", lambda: P.sample_walk(SAW, [[0.0], [0.5]], [1.0]), ["x1"]),
    ("sample_walk-n_points-huge", lambda: P.sample_walk(SAW, [0.0], [1.0], 10**13), ["n_points"]),
    ("save-fig-None", lambda: P.save_figure(None, "figs", "a"), ["fig"]),
    ("save-directory-None", lambda: P.save_figure(_fig(), None, "a"), ["directory"]),
    ("save-directory-file", lambda: P.save_figure(_fig(), __file__, "a"), ["directory", "file"]),
    ("save-name-None", lambda: P.save_figure(_fig(), "figs", None), ["name"]),
    ("save-name-folders", lambda: P.save_figure(_fig(), "figs", "a/b"), ["name"]),
    ("save-format-unknown", lambda: P.save_figure(_fig(), "figs", "a", formats=("xyz",)),
     ["format", "xyz"]),
    ("save-formats-empty", lambda: P.save_figure(_fig(), "figs", "a", formats=()), ["formats"]),
    ("save-formats-None", lambda: P.save_figure(_fig(), "figs", "a", formats=None), ["formats"]),
    # plotting: figures
    ("sampling-rows-None", lambda: P.plot_sampling_comparison(None), ["rows"]),
    ("sampling-row-int", lambda: P.plot_sampling_comparison([1]), ["rows[0]"]),
    ("sampling-missing-key", lambda: P.plot_sampling_comparison(
        [{"net": "a", "sampling": [{"n_points": 3}]}]), ["fraction_missed"]),
    ("sampling-n_points-negative", lambda: P.plot_sampling_comparison(
        [{"net": "a", "sampling": [{"n_points": -3, "fraction_missed": 0.1}]}]), ["n_points"]),
    ("walk-ax-str", lambda: P.plot_folding_walk(_walk(), ax="ax"), ["ax"]),
    ("walk-sampled-nan", lambda: P.plot_folding_walk(_walk(), sampled=([np.nan, 1.0],
                                                                       [[0, 1], [1, 0]])),
     ["sampled t"]),
    ("walk-sampled-None", lambda: P.plot_folding_walk(_walk(), sampled=(None, None)),
     ["sampled", "None"]),
    ("walk-sampled-other-net", lambda: P.plot_folding_walk(
        _walk(), sampled=P.sample_walk(polyfold.zoo.sawtooth(3), [0.0], [1.0], 5)),
     ["sampled", "units"]),
    ("walk-sampled-t-outside", lambda: P.plot_prefix_curve(
        _walk(), sampled=(np.linspace(0, 2, 5), P.sample_walk(SAW, [0.0], [1.0], 5)[1])),
     ["sampled t", "[0, 1]"]),
    ("walk-breakpoints-str", lambda: P.plot_folding_walk(_walk(), breakpoints="yes"),
     ["breakpoints"]),
    ("walk-figure-figsize", lambda: P.folding_walk_figure(_walk(), figsize=(-1, 2)), ["figsize"]),
    ("heatmap-None", lambda: P.plot_class_pair_heatmap(None), ["result"]),
    ("heatmap-dict", lambda: P.plot_class_pair_heatmap({"a": 1}), ["result"]),
    ("heatmap-inf", lambda: P.plot_class_pair_heatmap([[0, np.inf], [1, 0]]), ["infinity"]),
    ("heatmap-cmap", lambda: P.plot_class_pair_heatmap([[0, 1.0], [1, 0]], cmap="nope"),
     ["cmap", "nope"]),
    ("heatmap-annotate", lambda: P.plot_class_pair_heatmap([[0, 1.0], [1, 0]], annotate="yes"),
     ["annotate"]),
    ("depth-rows-None", lambda: P.plot_folding_vs_depth(None), ["rows"]),
    ("depth-row-int", lambda: P.plot_folding_vs_depth([1]), ["rows[0]"]),
    ("depth-no-depth", lambda: P.plot_folding_vs_depth([{"pair_max_median": 1}]), ["depth"]),
    ("depth-depth-None", lambda: P.plot_folding_vs_depth([{"depth": None}, {"depth": 1}]),
     ["depth"]),
    ("depth-reading-str", lambda: P.plot_folding_vs_depth([{"depth": 1, "pair_max_median": "x"}]),
     ["pair_max_median"]),
    ("slice-points-str", lambda: P.plot_slice(CX, points="ab"), ["points"]),
    ("slice-points-3-cols", lambda: P.plot_slice(CX, points=np.zeros((2, 3))), ["points"]),
    ("slice-points-nan", lambda: P.plot_slice(CX, points=[[np.nan, 0]]), ["points"]),
    ("slice-labels-short", lambda: P.plot_slice(CX, points=[[0, 0], [1, 1]], point_labels=["a"]),
     ["point_labels"]),
    ("slice-alpha", lambda: P.plot_slice(CX, alpha=2), ["alpha"]),
    ("slice-cmap", lambda: P.plot_slice(CX, color_by="layer", cmap="nope"), ["cmap"]),
    ("slice-figure-points", lambda: P.slice_figure(CX, points=[1, 2, 3]), ["points"]),
    ("graph-node_size", lambda: P.plot_region_graph(CX, node_size=-1), ["node_size"]),
    ("graph-color", lambda: P.plot_region_graph(CX, color="no-such-colour"), ["color"]),
    ("colouring-None", lambda: P.slice_colouring(None), ["cx"]),
    ("colouring-strategy", lambda: P.slice_colouring(CX, strategy="nope"), ["strategy"]),
    ("last_split-None", lambda: P.last_split_layer(None), ["cx"]),
    ("bias-W-None", lambda: P.plot_maximal_bias(None, None), ["W", "None"]),
    ("bias-W-str", lambda: P.plot_maximal_bias("ab", [1, 2]), ["W"]),
    ("bias-W-nan", lambda: P.plot_maximal_bias(np.array([[np.nan, 0], [0, 1]]), [0.1, 0.2]), ["W"]),
    ("bias-W-empty", lambda: P.plot_maximal_bias(np.zeros((0, 2)), []), ["W"]),
    ("bias-cert-None", lambda: P.plot_maximal_bias(TRI_A, None), ["certificate", "None"]),
    ("bias-cert-nan", lambda: P.plot_maximal_bias(TRI_A, [np.nan, 0, 0]), ["alpha_hat"]),
    ("bias-ax-str", lambda: P.plot_maximal_bias(TRI_A, [0, 0, 0], ax="x"), ["ax"]),
    ("redundancy-values-str", lambda: P.plot_redundancy("ab", dims=[1], redundancies=[1, 2]),
     ["values"]),
    ("redundancy-dims-None", lambda: P.plot_redundancy([[1.0]], dims=None, redundancies=[1]),
     ["dims"]),
    ("redundancy-reds-str", lambda: P.plot_redundancy([[1.0]], dims=[1], redundancies=["a"]),
     ["redundancies"]),
    ("redundancy-empty", lambda: P.plot_redundancy(np.zeros((0, 0)), dims=[], redundancies=[]),
     ["values"]),
    ("redundancy-inf", lambda: P.plot_redundancy([[np.inf]], dims=[1], redundancies=[1]),
     ["values", "infinity"]),
    ("redundancy-vmin>vmax", lambda: P.plot_redundancy([[1.0]], dims=[1], redundancies=[1], vmin=2,
                                                       vmax=1), ["vmin"]),
    ("bias-figure-titles", lambda: P.maximal_bias_figure(
        TRI_A, [0, 0, 0], np.eye(3), [0.1] * 3, [[1.0]], [[1.0]], dims=[1], redundancies=[1],
        titles=None), ["titles"]),
    ("dist-values-str", lambda: P.plot_distributions({"a": "xyz"}), ["stats['a']"]),
    ("dist-values-None", lambda: P.plot_distributions({"a": None}), ["stats['a']"]),
    ("dist-log-nonpositive", lambda: P.plot_distributions({"a": [-1.0, -2.0]}, log=True), ["log"]),
    ("dist-dots", lambda: P.plot_distributions({"a": [1.0]}, dots="x"), ["dots"]),
    ("stats-figure-quantities-None", lambda: P.region_statistics_figure({"a": ST}, quantities=None),
     ["quantities"]),
    ("stats-figure-figsize", lambda: P.region_statistics_figure({"a": ST}, figsize=(0, 0)),
     ["figsize"]),
    ("hist-bins-0", lambda: P.plot_histograms({"a": ST}, bins=0), ["bins"]),
    ("hist-bins-negative", lambda: P.plot_histograms({"a": ST}, bins=-3), ["bins"]),
    ("hist-bins-float", lambda: P.plot_histograms({"a": ST}, bins=2.5), ["bins"]),
    ("hist-bins-bool", lambda: P.plot_histograms({"a": ST}, bins=True), ["bins"]),
    ("hist-bins-huge", lambda: P.plot_histograms({"a": ST}, bins=10**9), ["bins"]),
    ("hist-density", lambda: P.plot_histograms({"a": [1.0, 2.0]}, density="x"), ["density"]),
]


@pytest.mark.parametrize("call, words", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_raises_polyfold_error_naming_the_argument(call, words):
    with pytest.raises(PolyfoldError) as info:
        call()
    msg = str(info.value)
    for w in words:
        assert w in msg, (w, msg)


def test_save_figure_makes_missing_folders(tmp_path):
    fig = plt.figure()
    paths = P.save_figure(fig, tmp_path / "a" / "figs", "f", formats=("png",))
    assert paths == [tmp_path / "a" / "figs" / "f.png"] and paths[0].stat().st_size > 0
    (tmp_path / "file").write_text("x")
    with pytest.raises(PolyfoldError, match="directory"):  # a file on the way
        P.save_figure(fig, tmp_path / "file" / "figs", "f", formats=("png",))
    paths = P.save_figure(fig, tmp_path / "figs", "f", formats="png")  # one format as a str
    assert [p.name for p in paths] == ["f.png"] and paths[0].stat().st_size > 0


def test_composed_figures_close_on_bad_input():
    before = set(plt.get_fignums())
    with pytest.raises(PolyfoldError):
        P.maximal_bias_figure(TRI_A, [0, 0, 0], None, None, [[1.0]], [[1.0]], dims=[1],
                              redundancies=[1])
    with pytest.raises(PolyfoldError):
        P.region_statistics_figure({"a": None})
    assert set(plt.get_fignums()) == before


def test_complex_to_json_checks_the_path_before_writing(tmp_path):
    p = tmp_path / "cx.json"
    text = adjacency.complex_to_json(CX, p)
    assert p.read_text(encoding="utf-8") == text


def test_clip_polygon_exact_rationals_still_work():
    # u <= 1/2 of the unit square, in Fractions: the clip points are exact
    sq = [(Fraction(a), Fraction(b)) for a, b in SQUARE]
    verts, labels = adjacency.clip_polygon(sq, [0, 1, 2, 3], Fraction(-1), Fraction(0),
                                           Fraction(1, 2), 9)
    assert verts == [(0, 0), (Fraction(1, 2), 0), (Fraction(1, 2), 1), (0, 1)]
    assert labels == [0, 9, 2, 3]


def test_switching_units_by_hand():
    codes = np.array([[1, 0, 1], [1, 1, 1], [0, 1, 0]], np.int8)
    off, units = adjacency.switching_units(codes, [[0, 1], [0, 2], [1, 2]], block=1)
    # 0-1 differ in unit 1; 0-2 in units 0, 1, 2; 1-2 in units 0 and 2
    assert off.tolist() == [0, 1, 4, 6] and units.tolist() == [1, 0, 1, 2, 0, 2]


# ---------------------------------------------------------------------------
# correctness on inputs derived by hand / recomputed with scipy
# ---------------------------------------------------------------------------
def test_triangle_statistics_by_hand():
    """Region of (0.3, 0.2): the triangle x, y >= 0, x + y <= 1 (inside the domain).

    Insphere radius (2 - sqrt 2) / 2; normals (1, 0), (0, 1), (1, 1)/sqrt 2 give |cos|
    0, 1/sqrt 2, 1/sqrt 2; class 0 (f0 = x > f1 = y) with the boundary x = y through
    the interior at distance 0.1 / sqrt 2; neighbours across x = 0 (f0 = 0: gradient 0,
    cos NaN, label 1), y = 0 (f1 = 0: cos 1, label 0), x + y = 1 (f1 = 2x + 3y - 2:
    cos 1, label 1 just outside (1/2, 1/2))."""
    st = region_statistics(NET, [[0.3, 0.2]], domain=(-1, 2), progress=False)
    r = (2 - math.sqrt(2)) / 2
    assert st.radius[0] == pytest.approx(r, abs=1e-12)
    assert np.allclose(st.centre[0], [r, r], atol=1e-9)
    assert st.depth[0] == pytest.approx(0.2, abs=1e-12)  # min(0.3, 0.2, 0.5 / sqrt 2)
    assert (st.n_facets[0], st.n_domain_facets[0]) == (3, 0)
    assert sorted(st.pair_cosines[0]) == pytest.approx([0, 1 / math.sqrt(2), 1 / math.sqrt(2)])
    assert st.cos_mean[0] == pytest.approx(math.sqrt(2) / 3)
    assert st.predicted[0] == 0 and st.boundary_class[0] == 1 and st.n_boundaries[0] == 1
    assert st.boundary_distance[0] == pytest.approx(0.1 / math.sqrt(2))
    assert st.free_boundary_distance[0] == pytest.approx(0.1 / math.sqrt(2))
    by_unit = {u[0]: (c, lab) for u, c, lab in zip(st.neighbour_units[0],
                                                   st.neighbour_cosines[0],
                                                   st.neighbour_labels[0])}
    assert math.isnan(by_unit[(0, 0)][0]) and by_unit[(0, 0)][1] == 1
    assert by_unit[(0, 1)] == (pytest.approx(1.0), 0)
    assert by_unit[(0, 2)] == (pytest.approx(1.0), 1)
    assert st.neighbour_label_change[0] == pytest.approx(2 / 3)


def test_boundary_distance_within_the_region_by_hand():
    """f1 = y + 0.8 in the triangle: the tie line x - y = 0.8 meets it in the segment
    (0.8, 0) -- (0.9, 0.1).  From (0.1, 0.1) the free distance is 0.8 / sqrt 2 but the
    perpendicular foot (0.5, -0.3) lies outside: the nearest boundary point within the
    region is the end (0.8, 0), at distance sqrt(0.5)."""
    st = region_statistics(triangle_net((0.0, 0.8)), [[0.1, 0.1]], domain=None, progress=False)
    assert st.predicted[0] == 1 and st.boundary_class[0] == 0
    assert st.free_boundary_distance[0] == pytest.approx(0.8 / math.sqrt(2))
    assert st.boundary_distance[0] == pytest.approx(math.sqrt(0.5), abs=1e-9)


def _chebyshev_reference(A, c, d):
    """max r with A x + c >= r |A| and the unit box (scipy linprog, its own rows)."""
    from scipy.optimize import linprog

    rows, rhs = [], []
    for a, ci in zip(A, c):
        n = np.linalg.norm(a)
        if n > 0:
            rows.append(np.r_[-a, n])
            rhs.append(ci)
    for k in range(d):
        e = np.zeros(d)
        e[k] = 1.0
        rows += [np.r_[-e, 1.0], np.r_[e, 1.0]]
        rhs += [0.0, 1.0]
    res = linprog(np.r_[np.zeros(d), -1.0], A_ub=np.array(rows), b_ub=np.array(rhs),
                  bounds=[(None, None)] * d + [(0, None)], method="highs")
    return -res.fun


def _region_rows(net, x):
    """Rows of the region of ``x`` from a forward pass in numpy (ReLU nets)."""
    d = len(x)
    M, v, h = np.eye(d), np.zeros(d), x.copy()
    A, c = [], []
    for W, b in net.layers[:-1]:
        z = W @ h + b
        Mz, vz = W @ M, W @ v + b
        s = np.where(z > 0, 1.0, -1.0)
        A.append(s[:, None] * Mz)
        c.append(s * vz)
        on = (z > 0).astype(float)
        M, v, h = on[:, None] * Mz, on * vz, np.maximum(z, 0)
    return np.vstack(A), np.concatenate(c)


def test_region_radius_depth_facets_match_scipy():
    from scipy.optimize import linprog

    for seed in range(3):
        net = polyfold.zoo.random_mlp((5, 4), 2 + seed % 2, 3, seed=seed)
        X = np.random.default_rng(seed).uniform(0.05, 0.95, (3, net.input_dim))
        st = region_statistics(net, X, domain=(0, 1), progress=False, neighbours=False)
        for i, x in enumerate(X):
            A, c = _region_rows(net, x)
            d = len(x)
            assert st.radius[i] == pytest.approx(_chebyshev_reference(A, c, d), abs=1e-9)
            nrm = np.linalg.norm(A, axis=1)
            assert st.depth[i] == pytest.approx(np.min((A @ x + c) / nrm), abs=1e-9)
            # facet-defining: some point of the region without row k (in the box) violates it
            n_fac = 0
            for k in range(len(A)):
                keep = np.arange(len(A)) != k
                res = linprog(A[k], A_ub=-A[keep], b_ub=c[keep], bounds=[(0, 1)] * d,
                              method="highs")
                n_fac += res.status == 0 and res.fun + c[k] < -1e-9
            assert st.n_facets[i] == n_fac


def test_insphere_matches_scipy_on_random_polytopes():
    rng = np.random.default_rng(1)
    for _ in range(15):
        d, m = int(rng.integers(1, 5)), int(rng.integers(1, 8))
        A = rng.normal(size=(m, d))
        x0 = rng.uniform(0.2, 0.8, d)
        c = -A @ x0 + rng.uniform(0, 1, m)
        ball = insphere(A, c, domain=(0, 1))
        assert ball.radius == pytest.approx(_chebyshev_reference(A, c, d), abs=1e-9)
        assert np.all(A @ ball.centre + c >= ball.radius * np.linalg.norm(A, axis=1) - 1e-9)


def test_one_input_net_statistics_by_hand():
    """f = x - 3 relu(x - 1/2) - 0.2 on [0, 1]: region [0, 1/2] of x = 0.3 (radius 1/4),
    class 1 (f > 0), boundary x = 0.2 at 0.1; across x = 1/2 the class-1 gradient
    flips from 1 to -2 (cos -1) and the step point 3/4 (half-way to the domain face)
    has f = -0.2: class 0."""
    net = PLNet.from_arrays([(np.array([[1.0], [1.0]]), np.array([0.0, -0.5])),
                             (np.array([[1.0, -3.0]]), np.array([-0.2]))])
    st = region_statistics(net, [[0.3]], domain=(0, 1), progress=False)
    assert st.radius[0] == pytest.approx(0.25) and st.centre[0, 0] == pytest.approx(0.25)
    assert st.predicted[0] == 1 and st.boundary_distance[0] == pytest.approx(0.1)
    k = [u for u in st.neighbour_units[0]].index(((0, 1),))
    assert st.neighbour_cosines[0][k] == pytest.approx(-1.0)
    assert st.neighbour_points[0][k, 0] == pytest.approx(0.75)
    assert st.neighbour_labels[0][k] == 0


def test_insphere_of_a_half_box_near_the_float64_limit():
    # {x0 >= 0} in [-1e308, 1e308]^2 is the rectangle [0, 1e308] x [-1e308, 1e308]: its
    # inradius is half its short side, 5e307, centre (5e307, y) with |y| <= 5e307
    b = insphere([[1.0, 0.0]], [0.0], domain=(-1e308, 1e308))
    assert b.radius == pytest.approx(5e307, rel=1e-12)
    assert b.centre[0] == pytest.approx(5e307, rel=1e-12) and abs(b.centre[1]) <= 5e307 * (1 + 1e-12)

