"""``to_pandas()`` of the result objects: columns and values against independent
computations (closed forms, hand-computed regions, the objects' own per-row accessors
where they are a separate code path)."""

import sys
from fractions import Fraction

import numpy as np
import pytest

import polyfold
from polyfold import zoo

pd = pytest.importorskip("pandas")


def test_segment_crossings_rows_on_the_sawtooth():
    # T^3 on [0, 1] has 8 pieces [k/8, (k+1)/8]; on [0.1, 0.3] the pieces are cut at
    # 1/8 and 1/4 (closed form)
    net = zoo.sawtooth(3)
    for mode in ("float", "certified", "exact"):
        res = polyfold.segment_crossings(net, [[0.0], [0.1]], [[1.0], [0.3]], mode=mode)
        df = res.to_pandas()
        assert list(df.columns[:7]) == ["segment", "piece", "t_start", "t_end", "length",
                                        "n_switches", "n_active"]
        assert df.groupby("segment").size().tolist() == [8, 3]
        first = df[df.segment == 0]
        assert np.allclose(first.t_start, np.arange(8) / 8) and np.allclose(first.t_end, np.arange(1, 9) / 8)
        second = df[df.segment == 1]
        # t on [0.1, 0.3]: x = 1/8 at t = 1/8, x = 1/4 at t = 3/4
        assert np.allclose(second.t_start, [0, 0.125, 0.75])
        assert np.allclose(df.length.groupby(df.segment).sum(), 1.0)
        assert df.piece.tolist() == list(range(8)) + [0, 1, 2]
        if mode == "exact":
            assert first.t_start_exact.tolist() == [Fraction(k, 8) for k in range(8)]
        # n_active: units with z > 0 at each piece's midpoint, by a forward pass
        x_mid = np.r_[(np.arange(8) + 0.5) / 8, 0.1 + 0.2 * np.array([0.0625, 0.4375, 0.875])]
        assert df.n_active.tolist() == net.patterns(x_mid[:, None]).sum(axis=1).tolist()
        # n_switches: units whose pattern differs between neighbouring midpoints
        P = net.codes(x_mid[:, None])
        expect = [0] + [int((P[k] != P[k - 1]).sum()) for k in range(1, 8)] + \
            [0] + [int((P[k] != P[k - 1]).sum()) for k in range(9, 11)]
        assert df.n_switches.tolist() == expect


def test_crossings_rows_match_piece_counts_on_digits(digits):
    _, _, X, _ = digits
    net = zoo.digits_mlp("2x30")
    res = polyfold.segment_crossings(net, X[:40], X[40:80])
    df = res.to_pandas()
    assert len(df) == int(res.n_pieces.sum())
    assert df.groupby("segment").size().tolist() == res.n_pieces.tolist()
    # every interior breakpoint is one piece's end and the next one's start
    inner = df[df.piece > 0]
    assert np.array_equal(inner.t_start.to_numpy(), res.t)
    assert (df.t_end > df.t_start).all()


def test_folding_tables():
    net = zoo.sawtooth(3)
    starts, ends = [[0.0], [1.0], [0.0]], [[1.0], [0.0], [0.5]]
    res = polyfold.space_folding_batch(net, starts, ends)
    df = res.to_pandas()
    # the walk along [0, 1] visits 8 regions; chi = 4/7 by TMLR Eq. 4 (docs/concepts.rst)
    assert df.path.tolist() == [0, 1, 2]
    assert df.chi_exact[0] == Fraction(4, 7) and df.n_pieces.tolist()[:2] == [8, 8]
    for i in range(3):  # against the single-path function, a separate code path
        one = polyfold.space_folding(net, starts[i], ends[i], mode="certified")
        assert df.chi_exact[i] == one.chi and df.r1[i] == one.r1 and df.r2[i] == one.r2
    fm = polyfold.folding.folding_measure_batch([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0],
                                                 [0, 1, 1]], [0, 5]).to_pandas()
    # r1 = 2, r2 = 4 by hand (docs/folding.rst): chi = 1/2
    assert fm[["r1", "r2"]].values.tolist() == [[2, 4]] and fm.chi_exact[0] == Fraction(1, 2)


def test_class_pair_tables_agree_serial_and_sweep():
    X = np.array([[0.0], [0.0], [1.0], [1.0], [0.5], [0.5]])
    y = np.array([0, 0, 1, 1, 2, 2])
    net = zoo.sawtooth(3)
    cp = polyfold.class_pair_folding(net, X, y, paths_per_pair=3, seed=0).to_pandas()
    assert len(cp) == 6 and set(zip(cp.class_a, cp.class_b)) == {
        (a, b) for a in range(3) for b in range(3) if a != b}
    row = cp[(cp.class_a == 0) & (cp.class_b == 1)].iloc[0]
    assert row.chi_max_exact == Fraction(4, 7) and row.fraction_flat == 0.0  # the whole [0, 1]
    sw = polyfold.class_pair_sweep(net, X, y, paths_per_pair=3, seed=0, executor="serial",
                                   progress=False).to_pandas()
    assert len(sw) == 6 and (sw.n_paths == 3).all()
    got = dict(zip(zip(sw.class_a, sw.class_b), sw.chi_max_exact))
    # every path of a pair joins the same two points, so any seed gives the same chi
    assert got == dict(zip(zip(cp.class_a, cp.class_b), cp.chi_max_exact))
    # 0 -> 1 crosses the 7 breakpoints k/8 of T^3
    assert sw[(sw.class_a == 0) & (sw.class_b == 1)].max_crossings.iloc[0] == 7


def test_sampled_walks_and_sampling_error_tables():
    from polyfold.sampling import grid_patterns

    net = zoo.sawtooth(4)  # 16 pieces on [0, 1]
    g = grid_patterns(net, [0.01], [0.99], n_points=11).to_pandas()
    assert g.segment.tolist() == [0] * len(g) and g.piece.tolist() == list(range(len(g)))
    assert (g.n_evaluations == 11).all() and len(g) <= 11
    err = polyfold.folding.sampling_error(net, [[0.01]], [[0.99]], n_points=11).to_pandas()
    assert err.exact_regions[0] == 16
    assert err.chi_error[0] == pytest.approx(err.chi_sampled[0] - err.chi_exact[0])


def test_region_complex_table_of_two_lines():
    # lines x = 0 and y = 0 cut [-1, 1]^2 into four unit squares (by hand)
    net = polyfold.PLNet.from_arrays([(np.eye(2), np.zeros(2)), (np.array([[1.0, -1.0]]), np.zeros(1))])
    cx = polyfold.slice_complex(net, [0, 0], [1, 0], [0, 1], bounds=(-1, 1, -1, 1), mode="exact")
    df = cx.to_pandas()
    assert df.measure.tolist() == [1.0] * 4 and df.n_vertices.tolist() == [4] * 4
    assert df.n_neighbours.tolist() == [2] * 4 and df.touches_boundary.all()
    # logit x - y (both ReLUs) at each square's centre: predicted class is logit > 0
    quad = {(1, 1): 0, (-1, 1): 0, (1, -1): 1, (-1, -1): 0}
    for _, r in df.iterrows():
        u, v = np.sign(r.u), np.sign(r.v)
        assert r.predicted_class == quad[(u, v)]
        assert r.n_active == int(u > 0) + int(v > 0)


def test_statistics_and_insphere_tables():
    net = polyfold.PLNet.from_arrays([(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))])
    st = polyfold.region_statistics(net, [[0.3, 0.2], [-0.5, -0.5]], domain=(-1, 1),
                                    progress=False)
    df = st.to_pandas()
    assert df.columns[0] == "sample" and len(df) == 2
    assert df.radius.tolist() == pytest.approx([0.5, 0.5])  # unit squares
    for rec, row in zip(df.to_dict("records"), st.rows()):  # the CSV rows
        assert rec.keys() == row.keys()
        assert all(rec[k] == row[k] or (rec[k] != rec[k] and row[k] != row[k]) for k in rec)
    A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    ib = polyfold.inspheres([A, A], [[0.0, 0.0, 1.0], [0.0, 0.0, 0.5]]).to_pandas()
    # triangles with legs 1 and 1/2: r = (2 - sqrt 2) / 2 * leg
    assert ib.radius.tolist() == pytest.approx([(2 - np.sqrt(2)) / 2, (2 - np.sqrt(2)) / 4])
    assert ib.n_rows.tolist() == [3, 3] and ib.status.tolist() == ["optimal"] * 2


def test_injectivity_tables():
    from polyfold.injectivity import bias_margin, check_injectivity, maximal_bias

    W = np.array([[1.0], [-1.0]])  # ReLU(x), ReLU(-x - 1) on [-2, 2]
    df = check_injectivity(W, alpha=[0.0, 1.0], domain=(-2.0, 2.0)).to_pandas()
    # cells [-2, -1] (second active), (-1, 0) (none active: fails), (0, 2] (first)
    assert sorted(df.n_active.tolist()) == [0, 1, 1] and df.failing.sum() == 1
    assert sorted(df.radius.round(12).tolist()) == [0.5, 0.5, 1.0]
    hexagon = np.c_[np.cos(np.arange(6) * np.pi / 3), np.sin(np.arange(6) * np.pi / 3)]
    mb = maximal_bias(2 * hexagon).to_pandas()
    assert mb.alpha.round(12).tolist() == [1.0] * 6  # norm 2 x cos(pi / 3)
    assert (mb.bias == -mb.alpha).all() and mb.norm.round(12).tolist() == [2.0] * 6
    W2 = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    bm = bias_margin(W2, [[1.0, 2.0], [3.0, 0.5]], alpha=0).to_pandas()
    assert bm.margin.tolist() == [1.0, 0.5]  # the second-largest row value (docs)
    v = polyfold.check_network_injectivity(zoo.sawtooth(2), domain=(0.0, 1.0)).to_pandas()
    assert v.is_injective.tolist() == [True, False]


def test_without_pandas_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    res = polyfold.segment_crossings(zoo.sawtooth(2), [0.0], [1.0])
    with pytest.raises(polyfold.DependencyError, match="pip install pandas"):
        res.to_pandas()


def test_every_result_with_rows_has_to_pandas():
    from polyfold import folding, injectivity, parallel, sampling, slices, statistics

    for cls in (polyfold.SegmentCrossings, sampling.SampledWalks, folding.SpaceFoldingBatch,
                folding.FoldingMeasureBatch, folding.ClassPairFolding, folding.SampledFolding,
                folding.SamplingError, slices.RegionComplex, statistics.RegionStatistics,
                statistics.InsphereBatch, parallel.SweepResult, parallel.ClassPairSweep,
                injectivity.InjectivityVerdict, injectivity.NetworkInjectivityVerdict,
                injectivity.BiasCertificate, injectivity.BiasMargin):
        doc = cls.to_pandas.__doc__
        assert doc and ("Columns" in doc or "columns" in doc), cls.__name__
