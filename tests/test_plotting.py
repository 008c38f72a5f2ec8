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
    folding_walk_figure,
    last_split_layer,
    maximal_bias_figure,
    paper_style,
    plot_class_pair_heatmap,
    plot_distributions,
    plot_folding_vs_depth,
    plot_folding_walk,
    plot_histograms,
    plot_maximal_bias,
    plot_prefix_curve,
    plot_redundancy,
    plot_region_graph,
    plot_sampling_comparison,
    plot_slice,
    region_statistics_figure,
    sample_walk,
    save_figure,
    slice_colouring,
    slice_figure,
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
    texts = [t.get_text() for t in art["texts"]]
    assert sorted(texts) == sorted(["0.10", "0.50", "none", "0.20", "0.70", "0.90"])
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


# ---------------------------------------------------------------------------
# structure of the figures as a reviewer reads them (no pixels)
# ---------------------------------------------------------------------------
def visible_labels(labels):
    return [t for t in labels if t.get_visible() and t.get_text().strip()]


def assert_no_overlap(texts, pad=0.5):
    """No two drawn texts' bounding boxes intersect (display units)."""
    boxes = [t.get_window_extent() for t in texts]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            a, b = boxes[i], boxes[j]
            inter = (min(a.x1, b.x1) - max(a.x0, b.x0) > pad
                     and min(a.y1, b.y1) - max(a.y0, b.y0) > pad)
            assert not inter, (texts[i].get_text(), texts[j].get_text())


def assert_ticks_readable(fig):
    fig.canvas.draw()
    for ax in fig.axes:
        if hasattr(ax, "zaxis"):
            continue
        assert_no_overlap(visible_labels(ax.get_xticklabels()))
        assert_no_overlap(visible_labels(ax.get_yticklabels()))


def legend_texts(obj):
    leg = obj.get_legend() if hasattr(obj, "get_legend") else None
    if leg is None and hasattr(obj, "legends") and obj.legends:
        leg = obj.legends[0]
    assert leg is not None, "no legend"
    return [t.get_text() for t in leg.get_texts()]


def luminance(c):
    r, g, b = matplotlib.colors.to_rgb(c)
    lin = [v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in (r, g, b)]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(c1, c2):
    a, b = sorted((luminance(c1), luminance(c2)))
    return (b + 0.05) / (a + 0.05)


def two_layer_slice():
    net = polyfold.zoo.random_mlp([4, 4], 2, 3, seed=2)
    return polyfold.slice_complex(net, [0, 0], [1, 0], [0, 1], bounds=(-2, 2, -2, 2))


@needs_slices
def test_slice_figure_structure():
    cx = two_layer_slice()
    pts = [[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]]
    with paper_style():
        fig, axes = slice_figure(cx, points=pts, point_labels=["a", "b", "c"])
    # three panels plus the colour bar of the layer panel
    assert len(axes) == 3 and len(fig.axes) == 4
    for ax in axes:  # every panel labels the data points
        assert sorted(t.get_text() for t in ax.texts) == ["a", "b", "c"]
    # discrete colour bar: one tick per hidden layer, integer boundaries
    cbar_ax = [a for a in fig.axes if a not in axes][0]
    ticks = [t.get_text() for t in cbar_ax.get_yticklabels() if t.get_text()]
    assert ticks == ["0", "1"]
    assert "hidden layer" in cbar_ax.get_ylabel()
    # one legend: boundary, data points and every predicted class
    texts = legend_texts(fig)
    classes = sorted({int(c) for c in cx.predicted_classes})
    assert texts[:2] == ["decision boundary", "data point (label: class)"]
    assert texts[2:] == [f"class {c}" for c in classes]
    # titles fit their axes
    fig.canvas.draw()
    for ax in axes:
        assert ax.title.get_window_extent().width <= ax.get_window_extent().width
    assert_ticks_readable(fig)


@needs_slices
def test_plot_slice_layer_colorbar_is_discrete():
    cx = two_layer_slice()
    fig, ax = plt.subplots()
    art = plot_slice(cx, ax=ax, color_by="layer")
    cb = art["colorbar"]
    assert list(cb.get_ticks()) == [0, 1]
    assert np.allclose(cb.boundaries, [-0.5, 0.5, 1.5])
    # the region colours take exactly as many values as layers present
    faces = {tuple(np.round(f, 6)) for f in art["regions"].get_facecolors()}
    assert len(faces) == len(np.unique(art["colors"]))
    fig2, ax2 = plt.subplots()
    art = plot_slice(cx, ax=ax2, color_by="class")
    assert legend_texts(ax2) == [f"class {c}" for c in sorted(set(art["colors"].tolist()))]


def test_maximal_bias_legend_and_solid_marks():
    ang = 2 * np.pi * np.arange(5) / 5
    W = np.column_stack([np.cos(ang), np.sin(ang)])
    fig, ax = plt.subplots()
    art = plot_maximal_bias(W, np.full(5, 0.3), ax=ax)
    texts = legend_texts(ax)
    assert len(texts) == 3
    assert "direction" in texts[0] and "hyperplane" in texts[1] and "bias point" in texts[2]
    # no transparency: overlapping arrows or lines keep one shade
    assert art["directions"].get_alpha() in (None, 1.0)
    assert art["hyperplanes"].get_alpha() in (None, 1.0)


def test_maximal_bias_figure_structure():
    pytest.importorskip("mpl_toolkits.mplot3d")
    ang = 2 * np.pi * np.arange(6) / 6
    W2 = np.column_stack([np.cos(ang), np.sin(ang)])
    W3 = np.vstack([np.eye(3), -np.eye(3)])
    mean = np.array([[np.nan, 0.2, 0.5], [np.nan, -0.1, 0.3]])
    share = np.array([[0.0, 0.5, 1.0], [0.0, 0.25, 1.0]])
    with paper_style():
        fig, axes = maximal_bias_figure(W2, np.full(6, 0.5), W3, np.zeros(6), mean, share,
                                        dims=[2, 3], redundancies=[1.5, 2, 4])
    # four panels and the two heat maps' colour bars
    assert len(fig.axes) == 6
    assert set(axes) == {"circle", "sphere", "mean", "share"}
    # the 3D panel is the larger top panel
    fig.canvas.draw()
    w = {k: axes[k].get_position().width for k in ("circle", "sphere")}
    assert w["sphere"] > w["circle"]
    # one legend for arrows, lines and dots
    texts = legend_texts(fig)
    assert len(texts) == 3 and "hyperplane" in texts[1]
    # titled heat maps; colour-bar labels say what the colour is
    assert axes["mean"].get_title() and axes["share"].get_title()
    labels = {a.get_ylabel() for a in fig.axes if a not in axes.values()}
    assert "share" in labels
    # readable annotations: not tiny, and contrasting with their cell
    for key in ("mean", "share"):
        ax = axes[key]
        im = ax.get_images()[0]
        for t in ax.texts:
            assert t.get_fontsize() >= 5
            i, j = int(round(t.get_position()[1])), int(round(t.get_position()[0]))
            v = im.get_array()[i, j]
            if np.ma.is_masked(v):
                assert t.get_text() == "none"
                continue
            cell = im.cmap(im.norm(v))
            assert contrast(t.get_color(), cell) >= 3.0, (t.get_text(), t.get_color())
    assert_ticks_readable(fig)


def test_folding_walk_legend_and_limits():
    from polyfold.folding import space_folding

    net = polyfold.zoo.cantornet(2, "A")
    x1, x2 = [0.0, 0.75], [1.0, 0.75]
    res = space_folding(net, x1, x2, mode="exact")
    samp = sample_walk(net, x1, x2, 11)
    fig, axes = folding_walk_figure(res, sampled=samp, title="start -> end")
    assert len(axes) == 2 and axes[0].get_title() == "start -> end"
    texts = legend_texts(axes[0])
    assert any(t.startswith("exact breakpoints") for t in texts)
    assert any("grid" in t for t in texts)
    # the y range fits the data: the top is above the largest value with bounded room
    d = np.count_nonzero(res.walk != res.walk[:1], axis=1)
    top = max(int(d.max()), int(np.count_nonzero(samp[1] != samp[1][:1], axis=1).max()))
    lo, hi = axes[0].get_ylim()
    assert lo <= 0 and top < hi <= top + max(1, 0.35 * top) + 1e-9
    chi = np.asarray(res.prefix.chi, dtype=float)
    lo, hi = axes[1].get_ylim()
    assert lo <= 0 and chi.max() < hi <= max(0.1, 1.4 * max(chi.max(), 0.0)) + 1e-9
    assert_ticks_readable(fig)


def test_prefix_curve_limits_when_flat():
    res = SimpleNamespace(walk=np.array([[0, 0], [1, 0], [1, 1]]), breakpoints=[0.3, 0.6],
                          prefix=SimpleNamespace(chi=np.zeros(3)))
    fig, ax = plt.subplots()
    plot_prefix_curve(res, ax=ax)
    assert ax.get_ylim()[1] == pytest.approx(0.1)
    assert any("no fold" in t.get_text() for t in ax.texts)


def test_distributions_read_with_few_points():
    rng = np.random.default_rng(1)
    vals = {name: rng.uniform(0.03, 0.25, 25) for name in
            ("sgd", "adam", "batchnorm", "dropout", "weight_decay")}
    with paper_style():
        fig, ax = plt.subplots(figsize=(3.4, 2.4))
        art = plot_distributions(vals, ax=ax, label="insphere radius", log=True)
    assert len(art["boxes"]["boxes"]) == 5
    assert [len(d.get_offsets()) for d in art["dots"]] == [25] * 5  # every value drawn
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels[0] == "sgd\n(n=25)" and labels[-1] == "weight\ndecay\n(n=25)"
    assert ax.get_yscale() == "log"
    assert_ticks_readable(fig)


def test_region_statistics_figure_panels():
    st = SimpleNamespace(radius=np.linspace(0.05, 0.2, 25), cos_mean=np.linspace(0.2, 0.3, 25),
                         n_facets=np.arange(25), pair_cosines=(), boundary_distance=np.ones(25),
                         depth=np.ones(25))
    with paper_style():
        fig, axes = region_statistics_figure({"2x30": st, "6x10": st},
                                             quantities=("radius", "cos_mean", "n_facets"))
    assert len(axes) == 3
    assert [a.get_title() for a in axes] == ["insphere radius", "mean |cos| of facet normals",
                                             "neuron facets per region"]
    assert_ticks_readable(fig)
    with pytest.raises(ValidationError, match="quantities is empty"):
        region_statistics_figure({"a": st}, quantities=())


def test_histogram_log_ticks_do_not_overlap():
    rng = np.random.default_rng(2)
    with paper_style():
        fig, ax = plt.subplots(figsize=(3.0, 2.2))
        plot_histograms({"a": rng.uniform(0.03, 0.25, 25), "b": rng.uniform(0.03, 0.25, 25)},
                        quantity="radius", ax=ax)
    assert ax.get_xscale() == "log"
    assert_ticks_readable(fig)


def test_distributions_fit_long_names():
    vals = {f"setting_number_{k}_long": np.arange(5.0) + k for k in range(6)}
    fig, ax = plt.subplots(figsize=(3.0, 2.4))
    plot_distributions(vals, ax=ax, label="x")
    assert "\n" in ax.get_xticklabels()[0].get_text()  # wrapped at the underscores
    assert_ticks_readable(fig)
