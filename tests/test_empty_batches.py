"""An empty batch of segments (shape (0, d)) is valid input and gives an empty result.

Expectations are structural (lengths 0, offsets [0]) and, for merging, the aggregate
of a non-empty batch computed by hand from its piece counts.
"""

import numpy as np
import pytest

import polyfold
from polyfold import sampling
from polyfold.exceptions import PolyfoldError, ShapeError, ValidationError
from polyfold.folding import (
    folding_measure_batch,
    global_folding,
    sampled_folding,
    sampling_error,
    space_folding_batch,
)
from polyfold.graph import GraphBuilder
from polyfold.parallel import IndexPairs, PathAggregate, sweep

MODES = ["float", "certified", "exact"]
E2 = np.zeros((0, 2))


def dense_net():
    return polyfold.zoo.random_mlp([4, 3], 2, output_dim=3, seed=0)


def graph_net():
    # a ReLU group, then one max unit over 3 candidates (codes of more than two values)
    g = GraphBuilder((2,))
    h = g.relu(g.dense(g.input, np.array([[1.0, -2.0], [0.0, 3.0], [-1.0, 1.0], [2.0, 2.0]]),
                       np.array([0.5, -0.5, 0.25, 0.0])))
    m = g.max_units(g.dense(h, np.array([[1.0, 0, -1, 2], [0, 2, 1, -1], [-2, 1, 0, 1]])), (1,),
                    [[0, 1, 2]])
    return g.build(g.dense(m, np.ones((3, 1))))


NETS = {"dense": dense_net, "graph": graph_net}


@pytest.fixture(params=sorted(NETS))
def net(request):
    return NETS[request.param]()


@pytest.mark.parametrize("mode", MODES)
def test_segment_crossings_of_no_segments(net, mode):
    res = polyfold.segment_crossings(net, E2, E2, mode=mode)
    assert len(res) == res.n_segments == 0
    assert res.n_pieces.shape == (0,) and res.n_pieces.dtype == np.int64
    assert res.piece_offsets.tolist() == [0] and res.breakpoint_offsets.tolist() == [0]
    assert res.codes.shape == (0, net.n_hidden) and res.codes.dtype == np.int8
    assert res.patterns.shape == (0, net.n_hidden) and res.pieces.shape == (0, net.n_hidden)
    assert res.packed_patterns.shape[0] == 0
    assert res.t.shape == res.t_error.shape == (0,)
    assert res.segment_index.shape == res.breakpoint_segment_index.shape == (0,)
    assert res.degenerate.shape == (0,) and res.endpoint_on_boundary.shape == (0, 2)
    assert res.n_recomputed == 0 and res.n_refined == 0
    assert res.t_exact == (() if mode == "exact" else None)
    assert len(res.to_pandas()) == 0
    assert "n_segments=0" in repr(res)
    with pytest.raises(IndexError, match="empty"):
        res.breakpoints(0)


@pytest.mark.parametrize("mode", MODES)
def test_segment_crossings_between_of_no_segments(net, mode):
    X = np.array([[0.0, 0.0], [1.0, -1.0]])
    for pts in (X, E2):
        res = polyfold.segment_crossings_between(net, pts, [], np.zeros(0, int), mode=mode)
        assert res.n_segments == 0 and res.piece_offsets.tolist() == [0]
    # the cache of no points has the first layer's width
    cache = polyfold.crossings.first_layer_cache(net, E2, mode=mode)
    assert cache.points.shape == (0, 2)


@pytest.mark.parametrize(
    "starts, ends",
    [(np.zeros((0, 3)), np.zeros((0, 3))),  # wrong width
     (np.zeros(0), np.zeros(0)),  # (0,): one point of no coordinates, not a batch
     (np.zeros((0, 2)), np.zeros((1, 2)))],
)
def test_empty_batches_of_the_wrong_shape_are_refused(net, starts, ends):
    for f in (polyfold.segment_crossings, space_folding_batch, sampling.grid_patterns,
              sampling.bisection_patterns, sampled_folding):
        with pytest.raises(ShapeError):
            f(net, starts, ends)


def test_options_are_still_checked_for_an_empty_batch(net):
    with pytest.raises(ValidationError, match="progress"):
        polyfold.segment_crossings(net, E2, E2, progress="yes")
    with pytest.raises(ValidationError, match="threads"):
        polyfold.segment_crossings(net, E2, E2, threads=0)
    with pytest.raises(ValidationError, match="chunk_points"):
        sampling.grid_patterns(net, E2, E2, chunk_points=0)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("units, classes", [("hidden", "sign"), ("hidden", "piece"),
                                            ("hidden+output", "sign"), ("hidden", 0.5)])
def test_space_folding_batch_of_no_paths_matches_a_batch_in_dtype_and_width(net, mode, units,
                                                                             classes):
    res = space_folding_batch(net, E2, E2, mode=mode, units=units, classes=classes)
    one = space_folding_batch(net, [[0.0, 0.0]], [[1.0, 1.0]], mode=mode, units=units,
                              classes=classes)
    assert len(res) == res.n_paths == 0
    assert res.walk_offsets.tolist() == [0] and res.t_offsets.tolist() == [0]
    assert res.walks.shape == (0, one.walks.shape[1]) and res.walks.dtype == one.walks.dtype
    assert res.unit_labels == one.unit_labels
    assert res.chi.shape == res.r1.shape == res.n_regions.shape == (0,)
    assert res.chi_exact() == [] and res.reversed_measures().n_walks == 0
    assert (res.t_exact == []) if mode == "exact" else res.t_exact is None
    assert len(res.to_pandas()) == 0
    with pytest.raises(IndexError):
        res.path(0)
    # a statistic of no paths is a clear error, never NaN
    with pytest.raises(ShapeError, match="empty"):
        global_folding(res)


@pytest.mark.parametrize("method", ["grid", "bisection"])
def test_samplers_of_no_segments(net, method):
    f = sampling.grid_patterns if method == "grid" else sampling.bisection_patterns
    sw = f(net, E2, E2)
    assert len(sw) == 0 and sw.piece_offsets.tolist() == [0]
    assert sw.codes.shape == (0, net.n_hidden) and len(sw.to_pandas()) == 0
    exact = polyfold.segment_crossings(net, E2, E2)
    assert sampling.missed_regions(exact, sw).tolist() == []
    assert sampling.spurious_samples(exact, sw).tolist() == []
    sf = sampled_folding(net, E2, E2, method=method, units="hidden+output")
    assert len(sf) == 0 and sf.walks.shape[0] == 0 and len(sf.to_pandas()) == 0
    err = sampling_error(net, E2, E2, method=method)
    # summaries of no paths are undefined: None, never NaN
    assert err.abs_error_mean is None and err.abs_error_max is None and err.fraction_wrong is None
    d = err.as_dict()
    assert d["regions_missed_total"] == 0 and d["regions_missed_mean"] is None
    assert len(err.to_pandas()) == 0


def test_walk_batches_of_no_walks():
    b = folding_measure_batch(np.zeros((0, 3), bool), [0])
    assert len(b) == 0 and b.chi.shape == (0,) and b.chi_exact() == [] and len(b.to_pandas()) == 0
    from polyfold.experiments import interaction_effects

    eff = interaction_effects([], [0])
    assert len(eff) == 0 and eff.values.shape == (0,) and eff.max.shape == (0,)
    with pytest.raises(ShapeError, match="offsets"):
        folding_measure_batch(np.zeros((0, 3), bool), [0, 0])  # one empty walk


@pytest.mark.parametrize("quantity", ["folding", "crossings"])
def test_sweep_of_no_paths_merges_with_a_non_empty_one(net, quantity):
    X = np.array([[0.0, 0.0], [1.0, -1.0], [-1.0, 2.0]])
    empty = sweep(net, X, IndexPairs([], []), quantity=quantity, seed=0, progress=False)
    assert empty.n_paths == empty.n_paths_requested == empty.n_chunks == 0 and empty.complete
    agg = empty.total
    assert agg.n_paths == 0 and agg.crossings_histogram().tolist() == []
    assert agg.as_dict()["mean_crossings"] is None and agg.as_dict()["max_crossings"] is None
    assert "n_paths=0" in repr(agg)
    for stat in ("mean_crossings", "max_crossings"):
        with pytest.raises(ValidationError, match="no paths"):
            getattr(agg, stat)
    with pytest.raises(ValidationError, match="no paths"):
        agg.crossings_quantile(0.5)
    if quantity == "folding":
        with pytest.raises(ValidationError, match="no paths"):
            agg.chi_max
    assert len(empty.to_pandas()) == 1  # one row for the whole sweep, no paths in it
    # merging: the counts of the non-empty sweep, by hand from its piece counts
    full = sweep(net, X, IndexPairs([0, 1], [1, 2]), quantity=quantity, seed=0, progress=False)
    res = polyfold.segment_crossings(net, X[[0, 1]], X[[1, 2]], mode="exact")
    merged = PathAggregate(folding=quantity == "folding").merge(empty.total).merge(full.total)
    assert merged == full.total
    assert merged.n_paths == 2 and merged.n_crossings == int((res.n_pieces - 1).sum())
    assert full.total.copy().merge(agg) == full.total


def test_sweep_of_no_points_and_no_paths_writes_a_manifest(tmp_path):
    net = dense_net()
    r = sweep(net, E2, IndexPairs([], []), out=tmp_path / "s", seed=0, progress=False)
    assert r.n_paths == 0 and sorted(p.name for p in (tmp_path / "s").iterdir()) == ["manifest.json"]

