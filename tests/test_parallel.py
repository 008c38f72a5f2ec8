"""Tests of polyfold.parallel: streamed sweeps on serial, process and Dask executors.

Expected values come from an independent computation: the crossing engine called
directly on the explicit endpoint arrays (:func:`polyfold.segment_crossings`), and
the folding measure computed here from its definition (TMLR Eq. 4) with Python
integers and Fractions.
"""

import os
import statistics
import sys
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import polyfold
from polyfold.exceptions import (
    ChunkError,
    DependencyError,
    PolyfoldError,
    ShapeError,
    ValidationError,
)
from polyfold.parallel import (
    ClassPairs,
    IndexPairs,
    PathAggregate,
    RandomPairs,
    class_pair_sweep,
    sweep,
)


# ---------------------------------------------------------------------------
# the spec formula, written out independently of polyfold.folding
# ---------------------------------------------------------------------------
def spec_measures(walk):
    """(chi, prefix-curve maximum) of a walk of patterns, from the definition.

    r1 = max_i d_H(pi_1, pi_i), r2 = sum_i d_H(pi_i, pi_{i+1}), chi = 1 - r1/r2
    (0 when r2 == 0); the prefix curve is chi of (pi_1..pi_j), j = 1..n.
    """
    rows = [tuple(bool(v) for v in r) for r in walk]
    d = lambda p, q: sum(a != b for a, b in zip(p, q))
    r1 = r2 = 0
    best = Fraction(0)
    chi = Fraction(0)
    for j in range(1, len(rows)):
        r1 = max(r1, d(rows[0], rows[j]))
        r2 += d(rows[j - 1], rows[j])
        chi = Fraction(0) if r2 == 0 else 1 - Fraction(r1, r2)
        best = max(best, chi)
    return chi, best


def direct(net, X, i, j, mode="certified"):
    """Per path: (n_pieces, chi, prefix max) from segment_crossings on explicit arrays."""
    res = polyfold.segment_crossings(net, X[i], X[j], mode=mode)
    out = []
    for k in range(len(i)):
        chi, pm = spec_measures(res.piece_patterns(k))
        out.append((int(res.n_pieces[k]), chi, pm))
    return out


def np_quantile_linear(values, q):
    return float(np.quantile(np.array([float(v) for v in values]), q))


def check_aggregate(agg, rows):
    """Compare a PathAggregate with per-path rows (n_pieces, chi, prefix max)."""
    assert agg.n_paths == len(rows)
    assert agg.pieces == dict(Counter(r[0] for r in rows))
    chis = [r[1] for r in rows]
    pms = [r[2] for r in rows]
    assert agg.chi == {(c.numerator, c.denominator): n for c, n in Counter(chis).items()}
    assert agg.chi_max == max(chis)
    nz = [c for c in chis if c > 0]
    assert agg.phi == (statistics.median(nz) if nz else 0)
    assert agg.fraction_flat == chis.count(0) / len(chis)
    assert agg.prefix_max_max == max(pms)
    nzp = [c for c in pms if c > 0]
    assert agg.prefix_max_phi == (statistics.median(nzp) if nzp else 0)
    assert agg.mean_crossings == pytest.approx(np.mean([r[0] - 1 for r in rows]))
    for q in (0.1, 0.25, 0.9):
        assert float(agg.chi_quantile(q)) == pytest.approx(np_quantile_linear(chis, q), abs=1e-12)
    s = agg.chi_summary()
    assert s.phi == pytest.approx(float(agg.phi))
    assert s.max == pytest.approx(float(max(chis)))
    assert s.mean == pytest.approx(float(sum(chis) / len(chis)))


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def digits_setup():
    from polyfold.datasets import load_digits_split

    net = polyfold.zoo.digits_mlp("6x10")
    _, _, X, y = load_digits_split()
    return net, X, y


PAIRS = [(0, 1), (3, 8), (8, 3)]


@pytest.fixture(scope="module")
def serial_run(digits_setup):
    net, X, y = digits_setup
    return class_pair_sweep(
        net, X, y, paths_per_pair=150, pairs=PAIRS, seed=7, executor="serial",
        chunk_size=40, progress=False,
    )


# ---------------------------------------------------------------------------
# executors give identical results
# ---------------------------------------------------------------------------
def test_serial_result_shape(serial_run):
    r = serial_run
    assert r.complete and r.n_paths == r.n_paths_requested == 450
    assert r.n_chunks == 3 * 4  # ceil(150 / 40) chunks per pair
    assert set(r.groups) == set(PAIRS)
    assert all(g.n_paths == 150 for g in r.groups.values())
    # the total is the merge of the pairs
    merged = PathAggregate()
    for g in r.groups.values():
        merged.merge(g)
    assert merged == r.total
    M = r.pair_matrix("chi_max")
    assert M.shape == (10, 10)
    assert M[3, 8] == float(r.pair(3, 8).chi_max)
    assert np.isnan(M[1, 0]) and np.isnan(M[0, 0])
    # reading 1: median over the pairs of the per-pair maxima
    assert r.pair_max_median_exact == statistics.median([g.chi_max for g in r.groups.values()])
    # reading 2: median of the non-zero per-path prefix maxima
    assert r.path_prefix_max_median_exact == r.total.prefix_max_phi


def test_process_pool_matches_serial(digits_setup, serial_run):
    net, X, y = digits_setup
    r = class_pair_sweep(
        net, X, y, paths_per_pair=150, pairs=PAIRS, seed=7, executor="processes",
        workers=2, chunk_size=40, progress=False,
    )
    assert r.executor == "processes" and r.n_workers == 2
    assert r.same_aggregates(serial_run)


def test_dask_local_cluster_matches_serial(digits_setup, serial_run):
    pytest.importorskip("distributed")
    net, X, y = digits_setup
    r = class_pair_sweep(
        net, X, y, paths_per_pair=150, pairs=PAIRS, seed=7, executor="dask",
        workers=2, chunk_size=40, progress=False,
    )
    assert r.executor == "dask" and r.n_workers == 2
    assert r.same_aggregates(serial_run)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def test_dask_client_and_address(digits_setup, serial_run, dask_client):
    net, X, y = digits_setup
    kw = {"paths_per_pair": 150, "pairs": PAIRS, "seed": 7, "chunk_size": 40, "progress": False}
    r1 = class_pair_sweep(net, X, y, scheduler=dask_client, **kw)  # auto -> dask
    assert r1.executor == "dask"
    assert r1.same_aggregates(serial_run)
    addr = dask_client.scheduler.address
    assert addr.startswith(("tcp://", "inproc://"))
    if addr.startswith("tcp://"):
        r2 = class_pair_sweep(net, X, y, scheduler=addr, executor="dask", **kw)
        assert r2.same_aggregates(serial_run)
    assert dask_client.status == "running"  # a client passed in is left open


def test_results_do_not_depend_on_pair_subset(digits_setup, serial_run):
    net, X, y = digits_setup
    r = class_pair_sweep(
        net, X, y, paths_per_pair=150, pairs=[(8, 3)], seed=7, executor="serial",
        chunk_size=40, progress=False,
    )
    assert r.pair(8, 3) == serial_run.pair(8, 3)
    other = class_pair_sweep(
        net, X, y, paths_per_pair=150, pairs=[(8, 3)], seed=8, executor="serial",
        chunk_size=40, progress=False,
    )
    assert other.pair(8, 3) != serial_run.pair(8, 3)  # another seed, other paths


def test_same_class_pairs(digits_setup, serial_run):
    net, X, y = digits_setup
    r = class_pair_sweep(net, X, y, paths_per_pair=150, pairs=[(8, 3), (4, 4)], seed=7,
                         same_class=True, executor="serial", chunk_size=40, progress=False)
    assert r.pair(8, 3) == serial_run.pair(8, 3)  # same cell, same paths
    M = r.pair_matrix("n_paths")
    assert M[4, 4] == 150 and np.isnan(M[3, 3])
    full = ClassPairs(y, 1, same_class=True)
    assert len(full.group_keys) == 100 and (4, 4) in full.group_keys
    assert len(ClassPairs(y, 1).group_keys) == 90
    with pytest.raises(ValidationError, match="same_class=True"):
        ClassPairs(y, 1, pairs=[(4, 4)])
    with pytest.raises(ValidationError, match="same_class must be"):
        ClassPairs(y, 1, same_class="yes")


def test_random_and_index_sources_across_executors(digits_setup, dask_client):
    net, X, _ = digits_setup
    rng = np.random.default_rng(3)
    i, j = rng.integers(0, len(X), 90), rng.integers(0, len(X), 90)
    for src, other in ((RandomPairs(90), {"executor": "processes", "workers": 2}),
                       (IndexPairs(i, j, groups=np.arange(90) % 3), {"scheduler": dask_client})):
        a = sweep(net, X, src, seed=11, executor="serial", chunk_size=25, progress=False)
        b = sweep(net, X, src, seed=11, chunk_size=25, progress=False, **other)
        assert a.same_aggregates(b) and a.n_paths == 90
    assert sorted(a.groups) == [0, 1, 2] and all(g.n_paths == 30 for g in a.groups.values())


# ---------------------------------------------------------------------------
# aggregates equal a direct computation on the same paths
# ---------------------------------------------------------------------------
def test_index_pairs_equal_direct_computation(digits_setup):
    net, X, _ = digits_setup
    rng = np.random.default_rng(0)
    m = 120
    i, j = rng.integers(0, len(X), m), rng.integers(0, len(X), m)
    groups = np.where(np.arange(m) % 4 == 0, "a", "b")
    res = sweep(net, X, IndexPairs(i, j, groups=groups), seed=0, executor="serial",
                chunk_size=32, progress=False)
    rows = direct(net, X, i, j)
    check_aggregate(res.total, rows)
    for g in ("a", "b"):
        check_aggregate(res.groups[g], [r for r, gg in zip(rows, groups) if gg == g])


def test_class_pairs_equal_direct_computation(digits_setup, tmp_path):
    net, X, y = digits_setup
    res = class_pair_sweep(net, X, y, paths_per_pair=70, pairs=[(2, 5), (5, 2)], seed=4,
                           executor="serial", chunk_size=30, out=tmp_path, progress=False)
    # the per-path files say which paths were drawn; recompute them from scratch
    per_pair = {(2, 5): [], (5, 2): []}
    for name in sorted(os.listdir(tmp_path)):
        if not name.startswith("chunk-"):
            continue
        with np.load(tmp_path / name) as z:
            i, j = z["i_start"], z["i_end"]
            n_pieces, r1, r2 = z["n_pieces"], z["r1"], z["r2"]
        a, b = int(y[i[0]]), int(y[j[0]])
        assert (y[i] == a).all() and (y[j] == b).all()
        rows = direct(net, X, i, j)
        assert n_pieces.tolist() == [r[0] for r in rows]
        assert [Fraction(int(p - q), int(p)) if p else Fraction(0) for q, p in zip(r1, r2)] == [
            r[1] for r in rows
        ]
        per_pair[(a, b)] += rows
    for key, rows in per_pair.items():
        assert len(rows) == 70
        check_aggregate(res.pair(*key), rows)
    # both readings from the per-path values
    assert res.pair_max_median_exact == statistics.median(
        [max(r[1] for r in rows) for rows in per_pair.values()]
    )
    allp = [r[2] for rows in per_pair.values() for r in rows if r[2] > 0]
    assert res.path_prefix_max_median_exact == statistics.median(allp)


def test_sawtooth_hand_values():
    # sawtooth(2) on [0, 1] has breakpoints 1/4, 1/2, 3/4 (4 pieces); [0, 1/2]
    # crosses 1/4 only (2 pieces); [1/2, 1/2] has one piece.
    net = polyfold.zoo.sawtooth(2)
    pts = np.array([[0.0], [1.0], [0.5]])
    res = sweep(net, pts, IndexPairs([0, 0, 2], [1, 2, 2]), quantity="crossings", seed=0,
                executor="serial", progress=False)
    assert res.total.pieces == {4: 1, 2: 1, 1: 1}
    assert res.total.crossings_histogram().tolist() == [1, 1, 0, 1]
    assert res.total.n_crossings == 4
    assert res.total.chi is None


def test_crossings_quantity_matches_folding_counts(digits_setup, serial_run):
    net, X, y = digits_setup
    r = class_pair_sweep(net, X, y, paths_per_pair=150, pairs=PAIRS, seed=7, executor="serial",
                         quantity="crossings", chunk_size=40, progress=False)
    for k in PAIRS:
        assert r.pair(*k).pieces == serial_run.pair(*k).pieces
    assert r.pair_max_median is None and r.path_prefix_max_median is None
    with pytest.raises(ValidationError, match="quantity='folding'"):
        r.pair_matrix("chi_max")
    with pytest.raises(ValidationError, match="quantity='folding'"):
        _ = r.total.phi
    assert np.nanmax(r.pair_matrix("mean_crossings")) > 0


def test_exact_mode_equals_certified():
    net = polyfold.zoo.random_mlp((4, 4), 2, seed=2, integer=True)
    X = np.random.default_rng(1).integers(-3, 4, (12, 2)).astype(float)
    y = np.arange(12) % 3
    kw = {"paths_per_pair": 12, "seed": 5, "executor": "serial", "chunk_size": 5, "progress": False}
    a = class_pair_sweep(net, X, y, mode="exact", **kw)
    b = class_pair_sweep(net, X, y, mode="certified", **kw)
    assert a.total.pieces == b.total.pieces and a.total.chi == b.total.chi
    assert a.total.prefix_max == b.total.prefix_max
    assert a.total.n_recomputed == a.n_paths  # exact mode computes every path exactly


@settings(max_examples=15)
@given(
    seed=st.integers(0, 10**6),
    m=st.integers(1, 30),
    chunk=st.integers(1, 12),
)
def test_property_sweep_equals_direct_on_integer_nets(seed, m, chunk):
    net = polyfold.zoo.random_mlp((3, 3), 2, seed=seed % 50, integer=True)
    rng = np.random.default_rng(seed)
    X = rng.integers(-4, 5, (8, 2)).astype(float)
    i, j = rng.integers(0, 8, m), rng.integers(0, 8, m)
    res = sweep(net, X, IndexPairs(i, j), seed=0, executor="serial", chunk_size=chunk,
                mode="exact", progress=False)
    check_aggregate(res.total, direct(net, X, i, j, mode="exact"))


@settings(max_examples=30)
@given(
    data=st.lists(
        st.tuples(st.integers(1, 9), st.integers(0, 6), st.integers(0, 6)), min_size=1, max_size=40
    ),
    cut=st.integers(0, 40),
)
def test_property_merge_is_exact(data, cut):
    # r1 <= r2 for real walks; build consistent (r1, r2) pairs
    n_pieces = [d[0] for d in data]
    r2 = [d[1] + d[2] for d in data]
    r1 = [min(d[1], d[1] + d[2]) for d in data]
    whole = PathAggregate.from_paths(n_pieces, r1=r1, r2=r2, prefix_r1=r1, prefix_r2=r2)
    k = min(cut, len(data))
    parts = [
        PathAggregate.from_paths(n_pieces[a:b], r1=r1[a:b], r2=r2[a:b], prefix_r1=r1[a:b],
                                 prefix_r2=r2[a:b])
        for a, b in ((0, k), (k, len(data)))
    ]
    merged = parts[1].copy().merge(parts[0])
    assert merged == whole
    chis = [Fraction(b - a, b) if b else Fraction(0) for a, b in zip(r1, r2)]
    assert whole.chi_max == max(chis)
    assert float(whole.chi_quantile(0.5)) == pytest.approx(float(np.median([float(c) for c in chis])))


# ---------------------------------------------------------------------------
# resume from chunk files
# ---------------------------------------------------------------------------
def test_resume_after_deleting_chunks(digits_setup, serial_run, tmp_path):
    net, X, y = digits_setup
    kw = {"paths_per_pair": 150, "pairs": PAIRS, "seed": 7, "chunk_size": 40, "progress": False,
          "out": tmp_path}
    first = class_pair_sweep(net, X, y, executor="serial", **kw)
    assert first.same_aggregates(serial_run) and first.n_chunks_resumed == 0
    files = sorted(n for n in os.listdir(tmp_path) if n.startswith("chunk-"))
    assert len(files) == 12 and (tmp_path / "manifest.json").exists()
    for n in files[::3]:  # delete 4 chunk files
        os.remove(tmp_path / n)
    with open(tmp_path / files[1], "wb") as fh:  # and corrupt one
        fh.write(b"not an npz file")
    again = class_pair_sweep(net, X, y, executor="processes", workers=2, **kw)
    assert again.same_aggregates(serial_run)
    assert again.n_chunks_resumed == 12 - 5
    # everything is on disk now: a third run computes nothing
    third = class_pair_sweep(net, X, y, executor="serial", **kw)
    assert third.n_chunks_resumed == 12 and third.same_aggregates(serial_run)


def test_resume_mismatch_raises_and_overwrite(digits_setup, tmp_path):
    net, X, y = digits_setup
    kw = {"paths_per_pair": 20, "pairs": [(0, 1)], "chunk_size": 10, "progress": False,
          "out": tmp_path, "executor": "serial"}
    class_pair_sweep(net, X, y, seed=1, **kw)
    with pytest.raises(ValidationError, match=r"different sweep \(seed: "):
        class_pair_sweep(net, X, y, seed=2, **kw)
    with pytest.raises(ValidationError, match="chunk_size"):
        class_pair_sweep(net, X, y, seed=1, **{**kw, "chunk_size": 5})
    other_net = polyfold.zoo.digits_mlp("3x20")
    with pytest.raises(ValidationError, match="net_sha256"):
        class_pair_sweep(other_net, X, y, seed=1, **kw)
    r = class_pair_sweep(net, X, y, seed=2, resume=False, **kw)
    assert r.n_chunks_resumed == 0
    assert class_pair_sweep(net, X, y, seed=2, **kw).n_chunks_resumed == 2


# ---------------------------------------------------------------------------
# failures: retried once, then reported, never dropped silently
# ---------------------------------------------------------------------------
def test_chunk_failing_once_is_retried(digits_setup, serial_run):
    net, X, y = digits_setup
    src = ClassPairs(y, 150, pairs=PAIRS)
    r = sweep(net, X, src, seed=7, executor="serial", chunk_size=40, progress=False,
              _faults={5: 1})
    assert r.complete and r.same_aggregates(serial_run)


@pytest.mark.parametrize("executor", ["serial", "processes"])
def test_chunk_failing_twice_raises_chunk_error(digits_setup, executor):
    net, X, y = digits_setup
    src = ClassPairs(y, 150, pairs=PAIRS)
    with pytest.raises(ChunkError, match="chunk 5 ") as info:
        sweep(net, X, src, seed=7, executor=executor, workers=None if executor == "serial" else 2,
              chunk_size=40, progress=False, _faults={5: 2})
    assert info.value.chunk_id == 5
    assert "injected failure in chunk 5" in str(info.value)


def test_worker_process_dying_is_retried_then_reported(digits_setup, serial_run):
    net, X, y = digits_setup
    src = ClassPairs(y, 150, pairs=PAIRS)
    kw = {"seed": 7, "executor": "processes", "workers": 2, "chunk_size": 40, "progress": False}
    # the worker running chunk 4 exits abruptly once: a fresh pool takes over
    r = sweep(net, X, src, _faults={4: ("exit", 1)}, **kw)
    assert r.complete and r.same_aggregates(serial_run)
    # ... and on every attempt: reported with its chunk id, not a hang
    with pytest.raises(ChunkError, match="terminated abruptly") as info:
        sweep(net, X, src, _faults={4: ("exit", 9)}, **kw)
    assert "__main__" in str(info.value)


def test_chunk_failures_collected(digits_setup, serial_run):
    net, X, y = digits_setup
    src = ClassPairs(y, 150, pairs=PAIRS)
    r = sweep(net, X, src, seed=7, executor="serial", chunk_size=40, progress=False,
              on_error="collect", _faults={5: 2, 11: 5})
    assert not r.complete
    assert [f.chunk_id for f in r.failed_chunks] == [5, 11]
    # chunk 5 is the second chunk of pair (3, 8): 40 paths; chunk 11 is the last chunk of
    # pair (8, 3): 150 - 3 * 40 = 30 paths
    assert r.failed_chunks[0].group == (3, 8) and r.failed_chunks[0].n_paths == 40
    assert r.failed_chunks[1].n_paths == 30
    assert r.n_paths == 450 - 70 and r.n_paths_requested == 450
    assert r.pair(0, 1) == serial_run.pair(0, 1)
    assert r.pair(3, 8).n_paths == 110
    assert r.as_dict()["failed_chunks"][0]["chunk_id"] == 5


def test_progress_bar_runs(digits_setup, capsys):
    net, X, y = digits_setup
    r = class_pair_sweep(net, X, y, paths_per_pair=10, pairs=[(0, 1)], seed=0,
                         executor="serial", chunk_size=5, progress=True)
    assert r.complete
    assert "2/2" in capsys.readouterr().err


def test_as_dict_is_json(serial_run):
    import json

    d = json.loads(json.dumps(serial_run.as_dict()))
    assert d["n_paths"] == 450 and d["complete"]
    assert d["total"]["chi"]["max_exact"] == str(serial_run.total.chi_max)
    assert len(d["groups"]) == 3 and d["groups"][0]["key"] == [0, 1]


# ---------------------------------------------------------------------------
# bad input: a PolyfoldError naming the argument
# ---------------------------------------------------------------------------
def _tiny():
    net = polyfold.zoo.random_mlp((3,), 2, seed=0)
    X = np.random.default_rng(0).uniform(-1, 1, (6, 2))
    y = np.array([0, 0, 1, 1, 2, 2])
    return net, X, y


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"quantity": "chi2"}, ValidationError, "quantity"),
        ({"executor": "threads"}, ValidationError, "executor"),
        ({"workers": 0}, ValidationError, "workers"),
        ({"executor": "serial", "workers": 3}, ValidationError, "workers=3"),
        ({"executor": "processes", "scheduler": "tcp://x:1"}, ValidationError, "scheduler"),
        ({"on_error": "ignore"}, ValidationError, "on_error"),
        ({"seed": -1}, ValidationError, "seed"),
        ({"seed": 1.5}, ValidationError, "seed"),
        ({"seed": np.random.default_rng(0)}, ValidationError, "Generator"),
        ({"chunk_size": 0}, ValidationError, "chunk_size"),
        ({"progress": "yes"}, ValidationError, "progress"),
        ({"resume": "yes"}, ValidationError, "resume"),
        ({"mode": "fast"}, ValidationError, "mode"),
        ({"paths_per_pair": 0}, ValidationError, "paths_per_pair"),
        ({"pairs": [(0, 7)]}, ValidationError, "pairs"),
        ({"pairs": [(1, 1)]}, ValidationError, "different labels"),
        ({"pairs": [(0, 1), (0, 1)]}, ValidationError, "twice"),
        ({"pairs": []}, ValidationError, "pairs is empty"),
        ({"executor": "dask", "scheduler": 42}, ValidationError, "scheduler must be"),
    ],
)
def test_bad_options(kwargs, exc, match):
    if kwargs.get("scheduler") == 42:
        pytest.importorskip("distributed")
    net, X, y = _tiny()
    kw = {"paths_per_pair": 4, "progress": False, **kwargs}
    with pytest.raises(exc, match=match) as info:
        class_pair_sweep(net, X, y, **kw)
    assert isinstance(info.value, PolyfoldError)


def test_bad_data():
    net, X, y = _tiny()
    with pytest.raises(ValidationError, match="net must be a polyfold.PLNet"):
        class_pair_sweep("net", X, y)
    with pytest.raises(ValidationError, match="net must be a polyfold.PLNet"):
        sweep(None, X, RandomPairs(3))
    with pytest.raises(ShapeError, match=r"X must have shape \(n, 2\)"):
        class_pair_sweep(net, X[:, :1], y)
    with pytest.raises(ShapeError, match="y must be a 1-D array of 6 labels"):
        class_pair_sweep(net, X, y[:5])
    with pytest.raises(ValidationError, match="at least 2 classes"):
        class_pair_sweep(net, X, np.zeros(6, int))
    with pytest.raises(ShapeError, match="points"):
        sweep(net, X[:, :1], RandomPairs(3))
    with pytest.raises(ValidationError, match="source must be"):
        sweep(net, X, [(0, 1)])
    with pytest.raises(ValidationError, match="i_start holds indices outside"):
        sweep(net, X, IndexPairs([0, 6], [1, 2]))
    with pytest.raises(ShapeError, match="same length"):
        IndexPairs([0, 1], [1])
    with pytest.raises(ValidationError, match="i_end must be a 1-D integer"):
        IndexPairs([0, 1], [0.5, 1.0])
    with pytest.raises(ShapeError, match="groups must hold one label per path"):
        IndexPairs([0, 1], [1, 2], groups=[0])
    with pytest.raises(ShapeError, match="one label per data point"):
        sweep(net, X, ClassPairs([0, 1, 0], 2))
    with pytest.raises(ValidationError, match="at least 2 points"):
        sweep(net, X[:1], RandomPairs(3))
    with pytest.raises(ValidationError, match="n_paths"):
        RandomPairs(0)
    with pytest.raises(ValidationError, match="labels"):
        ClassPairs(np.array([0.5, 1.5]), 3)


def test_dask_missing_is_dependency_error(monkeypatch):
    net, X, y = _tiny()
    monkeypatch.setitem(sys.modules, "distributed", None)  # import fails
    with pytest.raises(DependencyError, match=r"pip install 'dask\[distributed\]'"):
        class_pair_sweep(net, X, y, paths_per_pair=2, executor="dask", progress=False)


def test_auto_executor_choice():
    net, X, y = _tiny()
    assert class_pair_sweep(net, X, y, paths_per_pair=3, progress=False).executor == "serial"
    r = class_pair_sweep(net, X, y, paths_per_pair=3, workers=1, progress=False)
    assert r.executor == "serial" and r.n_workers == 1


def test_seed_none_is_reported_and_reproducible():
    net, X, y = _tiny()
    a = class_pair_sweep(net, X, y, paths_per_pair=20, seed=None, progress=False)
    b = class_pair_sweep(net, X, y, paths_per_pair=20, seed=a.seed, progress=False)
    assert a.same_aggregates(b)
    c = class_pair_sweep(net, X, y, paths_per_pair=20, seed=np.random.SeedSequence(a.seed),
                         progress=False)
    assert a.same_aggregates(c)


@pytest.mark.parametrize("activation", ["hardtanh", "leaky_relu"])
def test_other_activations_use_bits_z_positive(activation):
    # hard tanh has codes 0..2 (two thresholds); the walk uses the bit z > 0 only
    net = polyfold.zoo.random_mlp((5, 4), 2, seed=3, activation=activation)
    X = np.random.default_rng(2).uniform(-3, 3, (10, 2))
    rng = np.random.default_rng(5)
    i, j = rng.integers(0, 10, 40), rng.integers(0, 10, 40)
    res = sweep(net, X, IndexPairs(i, j), seed=0, executor="serial", chunk_size=16,
                progress=False)
    check_aggregate(res.total, direct(net, X, i, j))
