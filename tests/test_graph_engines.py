"""Folding, sampling baselines and the parallel sweep on graph networks.

Independent expectations: the hand-expanded dense equivalent of a CNN (whose engines
are tested on their own), folding measures computed here from exact walks by the
definitions of spec/folding.md, and brute-force exact sampling.
"""

from fractions import Fraction

import numpy as np
import pytest

import polyfold
from polyfold import arith
from polyfold.graph import GraphBuilder

from test_graph_crossings import small_cnn


def chi_by_hand(walk):
    """chi = 1 - r1 / r2 on a walk of patterns (consecutive repeats removed)."""
    w = [tuple(p) for p in walk]
    dedup = [w[0]] + [b for a, b in zip(w[:-1], w[1:]) if a != b]
    dist = lambda p, q: sum(x != y for x, y in zip(p, q))
    r1 = max(dist(dedup[0], p) for p in dedup)
    r2 = sum(dist(p, q) for p, q in zip(dedup[:-1], dedup[1:]))
    return Fraction(0) if r2 == 0 else 1 - Fraction(r1, r2)


def test_folding_of_a_cnn_equals_its_dense_expansion():
    net, dense = small_cnn(0)
    rng = np.random.default_rng(4)
    S = rng.integers(-4, 5, size=(8, 25)) / 2.0
    E = rng.integers(-4, 5, size=(8, 25)) / 2.0
    for units, classes in (("hidden", "sign"), ("hidden+output", "sign"), ("hidden", "piece"),
                           ("hidden", 0.25), ([1, 2], "sign")):
        a = polyfold.space_folding_batch(net, S, E, mode="exact", units=units, classes=classes)
        b = polyfold.space_folding_batch(dense, S, E, mode="exact", units=units, classes=classes)
        assert a.chi_exact() == b.chi_exact(), (units, classes)
        assert a.t_exact == b.t_exact
        c = polyfold.space_folding_batch(net, S, E, mode="certified", units=units, classes=classes)
        assert c.chi_exact() == a.chi_exact()


def test_folding_with_max_units_counts_unit_changes():
    # max units carry their selected candidate: a switch of selection is one change
    net = polyfold.zoo.digits_cnn()
    from polyfold.datasets import load_digits_split

    _, _, X, y = load_digits_split()
    i, j = [0, 3], [5, 7]
    res = polyfold.space_folding_batch(net, X[i], X[j], mode="exact")
    sc = polyfold.segment_crossings(net, X[i], X[j], mode="exact")
    for q in range(2):
        walk = net.bits_from_codes(sc.piece_codes(q))
        assert walk.dtype == np.int8  # ReLU bits and max-unit selections
        assert res.chi_exact(q) == chi_by_hand(walk)
    one = polyfold.space_folding(net, X[0].reshape(1, 8, 8), X[5].reshape(1, 8, 8), mode="exact")
    assert one.chi == res.chi_exact(0)


def test_class_pair_folding_on_a_cnn_certified_equals_exact():
    net = polyfold.zoo.digits_cnn()
    from polyfold.datasets import load_digits_split

    _, _, X, y = load_digits_split()
    keep = np.isin(y, [0, 1])
    Xs, ys = X[keep][:12], y[keep][:12]
    a = polyfold.class_pair_folding(net, Xs, ys, paths_per_pair=3, seed=0, mode="certified")
    b = polyfold.class_pair_folding(net, Xs.reshape(-1, 1, 8, 8), ys, paths_per_pair=3, seed=0, mode="exact")
    assert a.as_dict()["pair_max"] == b.as_dict()["pair_max"]


def test_grid_sampling_of_a_graph_sees_the_exact_pieces():
    net, dense = small_cnn(1)
    rng = np.random.default_rng(5)
    S, E = rng.normal(size=(6, 25)), rng.normal(size=(6, 25))
    from polyfold.sampling import grid_patterns, missed_regions

    ex = polyfold.segment_crossings(net, S, E, mode="exact")
    g = grid_patterns(net, S, E, 400)
    gd = grid_patterns(dense, S, E, 400)
    np.testing.assert_array_equal(g.codes, gd.codes)
    missed = missed_regions(ex, g)
    assert np.all(np.asarray(missed) >= 0)
    fine = grid_patterns(net, S, E, 20000)
    assert np.all(fine.n_pieces >= np.minimum(ex.n_pieces, g.n_pieces))


def test_sampled_folding_on_a_graph_matches_the_dense_expansion():
    net, dense = small_cnn(2)
    rng = np.random.default_rng(6)
    S, E = rng.normal(size=(5, 25)), rng.normal(size=(5, 25))
    a = polyfold.sampled_folding(net, S, E, n_points=50)
    b = polyfold.sampled_folding(dense, S, E, n_points=50)
    np.testing.assert_array_equal(a.chi, b.chi)


def test_class_pair_sweep_on_a_graph(tmp_path):
    from polyfold.parallel import class_pair_sweep

    net, dense = small_cnn(3)
    rng = np.random.default_rng(7)
    X = rng.normal(size=(20, 25))
    y = np.repeat([0, 1], 10)
    a = class_pair_sweep(net, X, y, paths_per_pair=6, seed=1, executor="serial")
    b = class_pair_sweep(dense, X, y, paths_per_pair=6, seed=1, executor="serial")
    # PathAggregate equality: crossing counts and exact folding aggregates, per pair too
    assert a.total == b.total and a.groups == b.groups
    assert a.n_paths == a.n_paths_requested > 0
    c = class_pair_sweep(net, X, y, paths_per_pair=6, seed=1, executor="processes", workers=2)
    assert c.total == a.total and c.groups == a.groups
