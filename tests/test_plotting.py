"""Figures of polyfold.plotting: render under Agg, not blank, the right content."""

from fractions import Fraction
from types import SimpleNamespace

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import polyfold  # noqa: E402
from polyfold.exceptions import ValidationError  # noqa: E402
from polyfold.plotting import (  # noqa: E402
    PALETTE,
    last_split_layer,
    paper_style,
    plot_class_pair_heatmap,
    plot_folding_vs_depth,
    plot_folding_walk,
    plot_histograms,
    plot_maximal_bias,
    plot_prefix_curve,
    plot_redundancy,
    plot_region_graph,
    plot_sampling_comparison,
    plot_slice,
    sample_walk,
    save_figure,
    slice_colouring,
)


@pytest.fixture(autouse=True)
def _no_show_and_close(monkeypatch):
    def boom(*a, **k):
        raise AssertionError("plot functions must never call plt.show()")

    monkeypatch.setattr(plt, "show", boom)
    yield
    plt.close("all")


def ink(fig):
    """Share of pixels that are not white after drawing the figure."""
    fig.canvas.draw()
    rgba = np.asarray(fig.canvas.buffer_rgba())
    return float(np.mean(np.any(rgba[..., :3] < 245, axis=-1)))


def triangle_net():
    # lines x = 0, y = 0, x + y = 1 in the plane; output differs across them
    return polyfold.PLNet.from_arrays([
        (np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([0.0, 0.0, -1.0])),
        (np.array([[1.0, -1.0, 1.0], [0.5, 1.0, -1.0]]), np.array([0.0, 0.1])),
    ])


def slices_available():
    try:
        from polyfold import slices  # noqa: F401
    except ImportError:
        return False
    return True


needs_slices = pytest.mark.skipif(not slices_available(), reason="polyfold.slices not available")


# ---------------------------------------------------------------------------
# style
# ---------------------------------------------------------------------------
def test_paper_style_is_local():
    before = dict(matplotlib.rcParams)
    with paper_style(font_size=7):
        assert matplotlib.rcParams["font.size"] == 7
        assert matplotlib.rcParams["pdf.fonttype"] == 42
        colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
        assert [c.lower() for c in colors] == [c.lower() for c in PALETTE]
    after = dict(matplotlib.rcParams)
    assert {k for k in before if before[k] != after[k]} == set()


@pytest.mark.parametrize("bad", [0, -3, float("nan"), "big"])
def test_paper_style_rejects_bad_font_size(bad):
    with pytest.raises(ValidationError, match="font_size"):
        with paper_style(font_size=bad):
            pass


def test_save_figure_png_and_vector_pdf(tmp_path):
    with paper_style():
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1], label="a line")
        ax.set_title("title")
        paths = save_figure(fig, tmp_path / "figs", "f")
    assert [p.name for p in paths] == ["f.png", "f.pdf"]
    png, pdf = (p.read_bytes() for p in paths)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert pdf[:5] == b"%PDF-"
    # pdf.fonttype 42: TrueType-based fonts (text stays text), no Type 3 bitmaps
    assert b"/Subtype /Type3" not in pdf
    assert b"TrueType" in pdf or b"CIDFontType2" in pdf


def test_sampling_comparison():
    rows = [{"net": "a", "sampling": [{"n_points": 11, "fraction_missed": 0.5, "ratio": 1.0},
                                      {"n_points": 100, "fraction_missed": 0.1, "ratio": 10.0}]},
            {"net": "b", "sampling": [{"n_points": 11, "fraction_missed": 0.6, "ratio": 2.0}]}]
    fig, ax = plt.subplots()
    art = plot_sampling_comparison(rows, ax=ax)
    assert len(art["lines"]) == 2
    assert art["lines"][0].get_ydata().tolist() == [50.0, 10.0]  # percent
    assert ink(fig) > 0.01
    with pytest.raises(ValidationError, match="quantity"):
        plot_sampling_comparison(rows, quantity="nope")
    with pytest.raises(ValidationError, match="empty"):
        plot_sampling_comparison([])


# ---------------------------------------------------------------------------
# folding
# ---------------------------------------------------------------------------
def _hand_walk_sawtooth2():
    net = polyfold.zoo.sawtooth(2)
    # the 4 pieces [k/4, (k+1)/4]: patterns by forward passes at the midpoints
    walk = net.patterns((np.arange(4)[:, None] + 0.5) / 4).astype(int)
    return net, walk


def test_folding_walk_values():
    from polyfold.folding import space_folding

    net, walk = _hand_walk_sawtooth2()
    res = space_folding(net, [0.0], [1.0], mode="exact")
    fig, ax = plt.subplots()
    t, pats = sample_walk(net, [0.0], [1.0], 5)
    art = plot_folding_walk(res, sampled=(t, pats), ax=ax)
    values, edges, _ = art["exact"].get_data()
    assert edges.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert values.tolist() == [int(np.sum(w != walk[0])) for w in walk]
    assert len(art["breakpoints"].get_segments()) == 3
    line, pts = art["sampled"]
    assert len(pts.get_offsets()) == 5
    assert ink(fig) > 0.01


def test_prefix_curve_values():
    from polyfold.folding import space_folding

    net, walk = _hand_walk_sawtooth2()
    res = space_folding(net, [0.0], [1.0], mode="exact")

    def chi(prefix):
        d0 = [int(np.sum(w != prefix[0])) for w in prefix]
        r2 = sum(int(np.sum(a != b)) for a, b in zip(prefix, prefix[1:]))
        return 0.0 if r2 == 0 else 1 - max(d0) / r2

    fig, ax = plt.subplots()
    art = plot_prefix_curve(res, sampled=sample_walk(net, [0.0], [1.0], 11), ax=ax)
    values, _, _ = art["exact"].get_data()
    assert values == pytest.approx([chi(walk[: j + 1]) for j in range(len(walk))])
    assert len(art["sampled"].get_xdata()) == 11
    assert ink(fig) > 0.01


def test_folding_walk_rejects_other_objects():
    with pytest.raises(ValidationError, match="SpaceFolding"):
        plot_folding_walk(np.zeros((3, 2)))
    fake = SimpleNamespace(walk=np.zeros((3, 2)), breakpoints=[0.5], prefix=None)
    with pytest.raises(ValidationError, match="inconsistent"):
        plot_folding_walk(fake)
    from polyfold.folding import space_folding

    res = space_folding(polyfold.zoo.sawtooth(2), [0.0], [1.0])
    with pytest.raises(ValidationError, match="sampled"):
        plot_folding_walk(res, sampled=np.zeros(3))


def test_class_pair_heatmap_array_and_result():
    M = np.array([[np.nan, 0.25, 0.5], [0.0, np.nan, 1.0], [0.75, 0.5, np.nan]])
    fig, ax = plt.subplots()
    art = plot_class_pair_heatmap(M, ax=ax)
    arr = art["image"].get_array()
    assert np.ma.is_masked(arr) and arr.mask.sum() == 3
    assert np.allclose(arr.filled(np.nan)[~np.isnan(M)], M[~np.isnan(M)])
    assert len(art["texts"]) == 6
    assert ink(fig) > 0.01
    # a ClassPairFolding on two classes of the sawtooth end points
    from polyfold.folding import class_pair_folding

    X = np.array([[0.0], [0.0], [1.0], [1.0]])
    res = class_pair_folding(polyfold.zoo.sawtooth(3), X, np.array([0, 0, 1, 1]),
                             paths_per_pair=2, mode="exact")
    fig, ax = plt.subplots()
    art = plot_class_pair_heatmap(res, ax=ax, value="pair_max")
    assert art["image"].get_array().filled(np.nan)[0, 1] == pytest.approx(float(res.pair_max[0, 1]))
    with pytest.raises(ValidationError, match="value"):
        plot_class_pair_heatmap(res, value="nope")
    with pytest.raises(ValidationError, match="square"):
        plot_class_pair_heatmap(np.zeros((2, 3)))


def test_folding_vs_depth_sorted_with_accuracy():
    rows = [{"depth": 6, "label": "6x10", "pair_max_median": 0.4, "path_prefix_max_median": 0.2,
             "test_accuracy": 0.9},
            {"depth": 2, "label": "2x30", "pair_max_median": 0.1, "path_prefix_max_median": None,
             "test_accuracy": 0.97}]
    fig, ax = plt.subplots()
    art = plot_folding_vs_depth(rows, ax=ax)
    assert art["lines"][0].get_xdata().tolist() == [2, 6]
    assert art["lines"][0].get_ydata().tolist() == [0.1, 0.4]
    assert np.isnan(art["lines"][1].get_ydata()[0])
    assert art["accuracy"].get_ydata().tolist() == [0.97, 0.9]
    assert ink(fig) > 0.01


# ---------------------------------------------------------------------------
# slices
# ---------------------------------------------------------------------------
@needs_slices
def test_slice_polygons_colours_and_boundary():
    cx = polyfold.slice_complex(triangle_net(), [0, 0], [1, 0], [0, 1], bounds=(-2, 2, -2, 2))
    assert cx.n_regions == 7  # 3 lines in general position: 1 + 3 + 3
    fig, ax = plt.subplots()
    art = plot_slice(cx, ax=ax, points=[[0.25, 0.25]], point_labels=["x"])
    assert len(art["regions"].get_paths()) == cx.n_regions
    colours = art["colors"]
    for a, b in cx.graph.edges():
        assert colours[a] != colours[b]  # neighbours differ
    assert art["boundary"] is not None and len(art["boundary"].get_segments()) >= 1
    assert len(art["points"].get_offsets()) == 1 and len(art["texts"]) == 1
    assert ink(fig) > 0.2
    g = plot_region_graph(cx, ax=ax)
    assert len(g["edges"].get_segments()) == cx.graph.number_of_edges() == 9
    assert len(g["nodes"].get_offsets()) == 7


@needs_slices
def test_slice_colour_by_layer_and_class():
    # layer 0: x = 0 (two neurons); layer 1: h1 = 1/2, i.e. x = 1/2 (right half only)
    net = polyfold.PLNet.from_arrays([
        (np.array([[1.0, 0.0], [-1.0, 0.0]]), np.zeros(2)),
        (np.array([[1.0, 0.0]]), np.array([-0.5])),
        (np.array([[1.0]]), np.array([-0.1])),
    ])
    cx = polyfold.slice_complex(net, [0, 0], [1, 0], [0, 1], bounds=(-1, 1, -1, 1))
    assert cx.n_regions == 3
    born = last_split_layer(cx)
    left = cx.locate([[-0.5, 0.0]])[0]
    right = cx.locate([[0.25, 0.0], [0.75, 0.0]])
    assert born[left] == 0 and born[right].tolist() == [1, 1]
    fig, ax = plt.subplots()
    art = plot_slice(cx, ax=ax, color_by="layer")
    assert art["colors"].tolist() == born.tolist()
    art = plot_slice(cx, ax=ax, color_by="class")
    assert len(art["regions"].get_paths()) == 3
    with pytest.raises(ValidationError, match="color_by"):
        plot_slice(cx, color_by="rainbow")


@needs_slices
def test_slice_digits_not_blank():
    _, _, X, _ = polyfold.datasets.load_digits_split()
    net = polyfold.zoo.digits_mlp("2x30")
    cx = polyfold.slice_complex(net, X[0], X[1] - X[0], X[2] - X[0], bounds=(0, 1, 0, 1))
    with paper_style():
        fig, ax = plt.subplots()
        art = plot_slice(cx, ax=ax, points=[[0, 0], [1, 0], [0, 1]])
    assert len(art["regions"].get_paths()) == cx.n_regions > 10
    colours = slice_colouring(cx)
    assert all(colours[a] != colours[b] for a, b in cx.graph.edges())
    assert ink(fig) > 0.2


def test_slice_rejects_non_slices():
    with pytest.raises(ValidationError, match="slice"):
        plot_slice(np.zeros(3))


# ---------------------------------------------------------------------------
# injectivity
# ---------------------------------------------------------------------------
def test_maximal_bias_circle_hexagon():
    ang = np.arange(6) * np.pi / 3
    W = 2.0 * np.column_stack([np.cos(ang), np.sin(ang)])  # norms do not matter
    fig, ax = plt.subplots()
    art = plot_maximal_bias(W, np.full(6, 0.5), ax=ax)
    expect = 0.5 * np.column_stack([np.cos(ang), np.sin(ang)])
    assert np.allclose(art["biases"].get_offsets(), expect)
    segs = art["hyperplanes"].get_segments()
    assert len(segs) == 6
    for seg, u in zip(segs, expect / 0.5):
        # each chord lies on <x, u> = 1/2 and ends on the unit circle
        assert np.allclose(np.asarray(seg) @ u, 0.5)
        assert np.allclose(np.linalg.norm(seg, axis=1), 1.0)
    assert ink(fig) > 0.01


def test_maximal_bias_sphere_and_errors():
    pytest.importorskip("mpl_toolkits.mplot3d")
    W = np.vstack([np.eye(3), -np.eye(3)])
    art = plot_maximal_bias(W, SimpleNamespace(alpha_hat=np.zeros(6)))
    assert len(art["directions"]) == 6
    with pytest.raises(ValidationError, match="2 or 3 inputs"):
        plot_maximal_bias(np.ones((4, 5)), np.zeros(4))
    with pytest.raises(ValidationError, match="one alpha_hat per row"):
        plot_maximal_bias(np.ones((4, 2)), np.zeros(3))
    with pytest.raises(ValidationError, match="zero row"):
        plot_maximal_bias(np.array([[1.0, 0.0], [0.0, 0.0]]), np.zeros(2))
    fig, ax = plt.subplots()
    with pytest.raises(ValidationError, match="3D axes"):
        plot_maximal_bias(W, np.zeros(6), ax=ax)


def test_redundancy_heatmap():
    V = np.array([[0.1, 0.5, np.nan], [0.2, 0.7, 0.9]])
    fig, ax = plt.subplots()
    art = plot_redundancy(V, dims=[2, 3], redundancies=[2, 4, 8], ax=ax, label="x")
    assert len(art["texts"]) == 5
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "4", "8"]
    assert ink(fig) > 0.01
    with pytest.raises(ValidationError, match="shape"):
        plot_redundancy(V, dims=[2], redundancies=[2, 4, 8])


# ---------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------
def test_histograms_per_setting():
    rng = np.random.default_rng(0)
    a = SimpleNamespace(radius=rng.uniform(0.01, 0.1, 50),
                        pair_cosines=(np.array([0.0, 0.5]), np.array([1.0])),
                        cos_mean=np.zeros(50), n_facets=np.ones(50), boundary_distance=np.ones(50),
                        depth=np.ones(50))
    b = np.concatenate([rng.uniform(0.1, 1.0, 30), [np.inf, np.nan, 0.0]])
    fig, ax = plt.subplots()
    art = plot_histograms({"plain": a, "other": b}, quantity="radius", ax=ax)
    assert set(art["hists"]) == {"plain", "other"}
    assert len(art["values"]["other"]) == 30  # inf, nan and (log axis) 0 dropped
    assert ax.get_xscale() == "log"
    fig2, ax2 = plt.subplots()
    art = plot_histograms({"plain": a}, quantity="orthogonality", ax=ax2, density=False)
    assert sorted(art["values"]["plain"].tolist()) == [0.0, 0.5, 1.0]
    heights = [p.get_path().vertices[:, 1].max() for p in art["hists"]["plain"]]
    assert max(heights) >= 1
    assert ink(fig) > 0.01 and ink(fig2) > 0.01
    with pytest.raises(ValidationError, match="quantity"):
        plot_histograms({"a": a}, quantity="volume")
    with pytest.raises(ValidationError, match="non-empty dict"):
        plot_histograms({})


def test_histograms_on_region_statistics():
    pytest.importorskip("polyfold.statistics")
    from polyfold.statistics import region_statistics

    st = region_statistics(triangle_net(), np.array([[0.25, 0.25], [-0.5, 0.5]]),
                           domain=(-2, 2), neighbours=False)
    fig, ax = plt.subplots()
    art = plot_histograms({"tiny": st}, quantity="radius", ax=ax)
    # the region of (1/4, 1/4) is the triangle with insphere radius (2 - sqrt 2) / 2
    assert np.any(np.isclose(art["values"]["tiny"], (2 - np.sqrt(2)) / 2))
    assert ink(fig) > 0.01


def test_fraction_breakpoints_are_drawn():
    # exact-mode results carry Fractions; the walk plot must accept them
    res = SimpleNamespace(walk=np.array([[0, 0], [1, 0], [1, 1]]),
                          breakpoints=[Fraction(1, 3), Fraction(2, 3)],
                          prefix=SimpleNamespace(chi=np.array([0.0, 0.0, 0.0])))
    fig, ax = plt.subplots()
    art = plot_folding_walk(res, ax=ax)
    _, edges, _ = art["exact"].get_data()
    assert edges == pytest.approx([0, 1 / 3, 2 / 3, 1])
