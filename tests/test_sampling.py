"""Sampling baselines: subsets of the exact walk, in order; bisection is exact above eps."""

import numpy as np
import pytest

import polyfold
from polyfold.exceptions import ShapeError, ValidationError
from polyfold.sampling import (
    bisection_patterns,
    grid_patterns,
    is_subsequence,
    missed_regions,
    spurious_samples,
)


def test_grid_on_sawtooth_by_hand():
    # 11 grid points x = 0, 0.1, ..., 1 on T^3 (pieces (j/8, (j+1)/8)):
    # x = 0, 0.5 and 1 lie on boundaries (ReLU(x) at x = 0, x - 1/2 = 0, T(1) = 0), so the
    # sampler sees 3 face codes that belong to no open piece; the other 8 samples fall in
    # pieces 0, 1, 2, 3, 4, 5, 6, 7 (x = .1,.2,.3,.4,.6,.7,.8,.9): all 8 pieces are seen.
    net = polyfold.zoo.sawtooth(3)
    g = grid_patterns(net, [0.0], [1.0], 11)
    exact = polyfold.segment_crossings(net, [0.0], [1.0], mode="exact")
    assert g.n_pieces.tolist() == [11]
    interior = g.piece_codes(0)[[1, 2, 3, 4, 6, 7, 8, 9]]
    assert np.array_equal(interior, exact.piece_codes(0))
    assert missed_regions(exact, g).tolist() == [0]
    assert spurious_samples(exact, g).tolist() == [3]
    # x = 0, .25, .5, .75, 1 all lie on boundaries.  By hand: at x = 1/4 the switching
    # neuron (1, 1) sits at 0 (inactive) and every other neuron is as on piece 1 = (1/8, 1/4);
    # likewise x = 3/4 has the codes of piece 6.  At x = 0, 1/2 and 1 a touching neuron
    # (T^k = 0) is inactive where both neighbouring pieces have it active: no piece.
    g5 = grid_patterns(net, [0.0], [1.0], 5)
    assert missed_regions(exact, g5).tolist() == [6]


def test_bisection_finds_every_piece_of_sawtooth():
    net = polyfold.zoo.sawtooth(6)
    b = bisection_patterns(net, [0.1], [0.9], eps=1e-6)
    exact = polyfold.segment_crossings(net, [0.1], [0.9])
    assert missed_regions(exact, b).tolist() == [0]
    # dyadic midpoints t = j / 2^k give x = 0.1 + 0.8 t = i / 16 exactly for some of
    # them: points on boundaries, whose face codes are no open piece's; check each
    # such sample really has a neuron at z == 0
    from polyfold.sampling import _row_keys

    extra = ~np.isin(_row_keys(b.segment_index, b.codes), _row_keys(exact.segment_index, exact.codes))
    assert extra.sum() == spurious_samples(exact, b)[0]
    for t in b.t[extra]:
        x = np.array([[0.1 * (1 - t) + 0.9 * t]])
        assert any(np.any(z == 0) for z in net.preactivations(x)[:-1])


def test_samplers_see_subsequences_on_random_net():
    net = polyfold.zoo.random_mlp([10, 10, 10], 4, seed=3)
    rng = np.random.default_rng(0)
    S, E = rng.normal(size=(20, 4)) * 3, rng.normal(size=(20, 4)) * 3
    exact = polyfold.segment_crossings(net, S, E)
    for sampler in (grid_patterns(net, S, E, 50), bisection_patterns(net, S, E, eps=1e-3)):
        miss = missed_regions(exact, sampler)
        assert np.all(miss >= 0)
        for i in range(20):
            assert is_subsequence(exact.piece_codes(i), sampler.piece_codes(i))
    fine = bisection_patterns(net, S, E, eps=1e-12)
    assert missed_regions(exact, fine).sum() == 0


def test_bad_sampler_arguments():
    net = polyfold.zoo.sawtooth(2)
    with pytest.raises(ValidationError, match="n_points"):
        grid_patterns(net, [0.0], [1.0], 1)
    with pytest.raises(ValidationError, match="eps"):
        bisection_patterns(net, [0.0], [1.0], eps=0.0)
    # an empty batch is valid (tests/test_empty_batches.py)
    assert len(grid_patterns(net, np.zeros((0, 1)), np.zeros((0, 1)))) == 0
    with pytest.raises(ValidationError, match="PLNet"):
        grid_patterns("net", [0.0], [1.0])
    exact = polyfold.segment_crossings(net, [[0.0], [0.0]], [[1.0], [1.0]])
    with pytest.raises(ValidationError, match="same segments"):
        missed_regions(exact, grid_patterns(net, [0.0], [1.0]))


def test_bisection_below_the_float_spacing_stops():
    # eps = 1e-320 is below the float spacing of every t in (0, 1]: an interval whose
    # midpoint rounds to one of its ends cannot be split, so bisection stops there
    # (it split the same interval again until max_evaluations).  Each of the 7 kinks of
    # sawtooth(3) on [0, 1] needs at most ~1075 halvings (the float exponent range)
    from polyfold.sampling import bisection_patterns

    net = polyfold.zoo.sawtooth(3)
    r = bisection_patterns(net, [[0.0], [0.1]], [[1.0], [0.9]], eps=1e-320)
    assert np.all(r.n_evaluations < 2 + 8 * 1100)
    assert np.array_equal(r.n_pieces, bisection_patterns(net, [[0.0], [0.1]], [[1.0], [0.9]],
                                                         eps=1e-12).n_pieces)


@pytest.mark.parametrize("budget", [2, 3, 4, 5, 6, 9, 17])
def test_bisection_budget_is_a_hard_limit(budget):
    # a round of bisection used to split every differing interval of a segment with
    # evaluations left, so a budget of 4 gave 5 evaluations on sawtooth(3); now the
    # budget is never passed, and a segment that needs more uses all of it
    from polyfold import zoo
    from polyfold.sampling import bisection_patterns

    saw = zoo.sawtooth(3)
    S, E = [[0.0], [0.0]], [[1.0], [0.7]]
    w = bisection_patterns(saw, S, E, max_evaluations=budget)
    need = bisection_patterns(saw, S, E).n_evaluations
    assert np.all(w.n_evaluations == np.minimum(need, budget))
