"""Bad input to the path functions gives a PolyfoldError naming the argument."""

import numpy as np
import pytest

import polyfold
from polyfold import sampling
from polyfold.exceptions import PolyfoldError, ShapeError, ValidationError
from polyfold.folding import folding_measure_batch, sampling_error, space_folding_batch
from polyfold.parallel import IndexPairs, PathAggregate, class_pair_sweep, sweep


@pytest.fixture
def net():
    return polyfold.zoo.sawtooth(2)


def _raises(exc, name, f, *a, **kw):
    with pytest.raises(exc) as info:
        f(*a, **kw)
    assert isinstance(info.value, PolyfoldError)
    assert name in str(info.value)


@pytest.mark.parametrize("kw, name", [
    ({"chunk_points": 0}, "chunk_points"), ({"chunk_points": True}, "chunk_points"),
    ({"chunk_points": 1.5}, "chunk_points"), ({"n_points": None}, "n_points"),
])
def test_grid_patterns_options(net, kw, name):
    _raises(ValidationError, name, sampling.grid_patterns, net, [0.0], [1.0], **kw)


@pytest.mark.parametrize("kw, name", [
    ({"max_evaluations": 0}, "max_evaluations"), ({"max_evaluations": "10"}, "max_evaluations"),
    ({"eps": True}, "eps"), ({"eps": float("nan")}, "eps"), ({"eps": "1e-3"}, "eps"),
])
def test_bisection_options(net, kw, name):
    _raises(ValidationError, name, sampling.bisection_patterns, net, [0.0], [1.0], **kw)


def test_bisection_accepts_numpy_float_eps(net):
    # eps=np.float32 was refused ("must be a number"): any real number works
    sw = sampling.bisection_patterns(net, [0.0], [1.0], eps=np.float32(1e-3))
    exact = polyfold.segment_crossings(net, [0.0], [1.0], mode="exact")  # 4 pieces
    assert sampling.missed_regions(exact, sw).tolist() == [0]


@pytest.mark.parametrize("f", [sampling.missed_regions, sampling.spurious_samples])
def test_missed_regions_wrong_inputs(net, f):
    exact = polyfold.segment_crossings(net, [0.0], [1.0])
    grid = sampling.grid_patterns(net, [0.0], [1.0], 5)
    _raises(ValidationError, "exact", f, None, grid)
    _raises(ValidationError, "sampled", f, exact, exact)
    _raises(ValidationError, "sampled", f, exact, "grid")
    other = sampling.grid_patterns(polyfold.zoo.sawtooth(3), [0.0], [1.0], 5)
    _raises(ValidationError, "different networks", f, exact, other)
    other = sampling.grid_patterns(polyfold.zoo.random_mlp([4], 1, seed=0), [0.0], [1.0], 5)
    _raises(ValidationError, "different networks", f, exact, other)


def test_is_subsequence_wrong_inputs():
    _raises(ValidationError, "exact_codes", sampling.is_subsequence, None, [[0]])
    _raises(ShapeError, "sampled_codes", sampling.is_subsequence, [[0, 1]], [0, 1])
    _raises(ValidationError, "sampled_codes", sampling.is_subsequence, [[0, 1]], [["a", "b"]])
    _raises(ShapeError, "columns", sampling.is_subsequence, [[0, 1]], [[0, 1, 0]])
    assert sampling.is_subsequence([[0, 0], [1, 0], [1, 1]], [[0, 0], [1, 1]])
    assert not sampling.is_subsequence([[0, 0], [1, 0]], [[1, 0], [0, 0]])


def test_per_segment_indices(net):
    res = polyfold.segment_crossings(net, [[0.0], [0.0]], [[1.0], [0.5]])
    for bad in (1.0, "0", None, True):
        _raises(ValidationError, "i must be an integer", res.breakpoints, bad)
    with pytest.raises(IndexError, match="i=2"):
        res.piece_codes(2)
    sw = sampling.grid_patterns(net, [[0.0], [0.0]], [[1.0], [0.5]], 5)
    # piece_codes(-1) was the empty slice offsets[-1]:offsets[0]: now the last segment
    assert sw.piece_codes(-1).tolist() == sw.piece_codes(1).tolist()
    with pytest.raises(IndexError):
        sw.piece_codes(2)
    fb = space_folding_batch(net, [[0.0], [0.0]], [[1.0], [0.5]], mode="exact")
    # walk(-1) was the empty slice too
    assert fb.walk(-1).tolist() == fb.walk(1).tolist()
    assert [float(c) for c in fb.chi_exact()] == [1 / 3, 0.0]  # r1 = 2 of r2 = 3; flat
    _raises(ValidationError, "i must be an integer", fb.measures.measure, 0.5)


def test_segment_crossings_between_indices(net):
    X = np.array([[0.0], [1.0]])
    for bad, exc in (("01", ValidationError), ([[0, 1]], ValidationError),
                     ([0.5], ValidationError), ([True], ValidationError)):
        _raises(exc, "i_start", polyfold.segment_crossings_between, net, X, bad, [1])


def test_sampling_error_with_an_exact_result_of_other_conventions(net):
    exact = space_folding_batch(net, [[0.0]], [[1.0]], classes="piece")
    _raises(ValidationError, "classes", sampling_error, net, [[0.0]], [[1.0]], exact=exact)


def test_folding_measure_batch_offsets():
    P = np.zeros((2, 2), bool)
    _raises(ValidationError, "offsets", folding_measure_batch, P, "02")
    _raises(ShapeError, "offsets", folding_measure_batch, P, [])
    _raises(ShapeError, "offsets", folding_measure_batch, P, None)


@pytest.mark.parametrize("out_kind", ["file", "int", "empty", "below a file"])
def test_class_pair_sweep_out_refuses_files_and_non_paths(tmp_path, out_kind):
    f = tmp_path / "results.txt"
    f.write_text("keep me")
    out = {"file": f, "int": 5, "empty": "", "below a file": f / "sub"}[out_kind]
    net = polyfold.zoo.random_mlp((4,), 2, seed=1)
    X = np.random.default_rng(0).uniform(-1, 1, (6, 2))
    _raises(ValidationError, "out", class_pair_sweep, net, X, np.arange(6) % 2,
            paths_per_pair=2, out=out, progress=False)
    assert f.read_text() == "keep me"


def test_path_aggregate_inputs():
    _raises(ValidationError, "n_pieces", PathAggregate.from_paths, [0, 2])  # a path has >= 1 piece
    _raises(ValidationError, "n_pieces", PathAggregate.from_paths, [1.5])
    _raises(ValidationError, "r1", PathAggregate.from_paths, [2], r1=[3], r2=[2], prefix_r1=[0],
            prefix_r2=[0])
    _raises(ShapeError, "r2", PathAggregate.from_paths, [2], r1=[1], r2=[2, 2], prefix_r1=[0],
            prefix_r2=[0])
    _raises(ValidationError, "r1, r2", PathAggregate.from_paths, [2], r1=[1])
    a = PathAggregate.from_paths([3, 1], r1=[1, 0], r2=[2, 0], prefix_r1=[1, 0], prefix_r2=[2, 0])
    _raises(ValidationError, "other", a.merge, None)
    for q in (1.5, -0.1, "0.5", None, True):
        _raises(ValidationError, "q must", a.crossings_quantile, q)
        _raises(ValidationError, "q must", a.chi_quantile, q)
    # crossings 2 and 0: the median is 1
    assert a.crossings_quantile(0.5) == 1.0


def test_sweep_same_aggregates_needs_a_sweep(net):
    r = sweep(net, np.array([[0.0], [1.0]]), IndexPairs([0], [1]), seed=0, progress=False)
    _raises(ValidationError, "other", r.same_aggregates, "r")
