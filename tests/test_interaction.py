"""Tests of the interaction effect of many walks and of the interaction experiment.

Expected values: the spec's worked example and splits of it derived by hand,
CantorNet A along y = 3/4 (its walk follows from the symbolic dynamics of the Cantor
map: per recursion step the state is L (u < 1/3), M (middle third) or R (u > 2/3),
and two states differ in exactly two of the step's five bits), and a plain-Python
reimplementation of the definitions.
"""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from polyfold import zoo
from polyfold._cantornet import cantor_map
from polyfold.exceptions import ShapeError, ValidationError
from polyfold.experiments import (
    InteractionExperiment,
    interaction_effects,
    interaction_experiment,
    plot_interaction,
)
from polyfold.folding import space_folding

SPEC_WALK = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1]]


def ref_chi(walk):
    d = lambda p, q: sum(a != b for a, b in zip(p, q))  # noqa: E731
    r1 = max(d(walk[0], p) for p in walk)
    r2 = sum(d(a, b) for a, b in zip(walk[:-1], walk[1:]))
    return Fraction(r2 - r1, r2) if r2 else Fraction(0)


def ref_interaction(walk, k):
    return ref_chi(walk) - ref_chi(walk[:k]) - ref_chi(walk[k - 1:])


def test_spec_worked_example():
    res = interaction_effects(SPEC_WALK, [0, 5])
    # by hand: chi = 1/2; k = 2: Gamma_2 = (100, 110, 010, 011) walks straight away
    # (distances 1, 2, 3), so I(2) = 1/2; k = 3 is the spec's I(3) = 1/2; k = 4:
    # Gamma_1 = (000, 100, 110, 010) has r1 = 2, r2 = 3, chi 1/3, so I(4) = 1/6
    assert res.exact(0) == [0, Fraction(1, 2), Fraction(1, 2), Fraction(1, 6), 0]
    assert res.max_exact(0) == Fraction(1, 2) and res.max.tolist() == [0.5]
    assert res.nonzero.tolist() == [True] and res.chi.tolist() == [0.5]
    assert res.interior.tolist() == [False, True, True, True, False]
    # reversed walk: chi = 1/4; k = 3: Gamma_1 = (011, 010, 110) straight (chi 0),
    # Gamma_2 = (110, 100, 000) straight -> I(3) = 1/4
    rev = interaction_effects(SPEC_WALK[::-1], [0, 5])
    assert rev.exact(0)[2] == Fraction(1, 4)


def test_batch_of_walks_and_degenerate_walks():
    walks = [SPEC_WALK, [[1, 1, 1]], [[0, 0, 0], [1, 1, 1]], [[0, 0, 0], [1, 0, 0], [0, 0, 0]]]
    flat = [p for w in walks for p in w]
    off = np.cumsum([0] + [len(w) for w in walks])
    res = interaction_effects(flat, off)
    assert len(res) == 4 and res.lengths.tolist() == [5, 1, 2, 3]
    assert res.exact(1) == [0] and res.exact(2) == [0, 0]
    # closed walk 000 -> 100 -> 000: chi = 1/2, both halves are single steps
    assert res.exact(3) == [0, Fraction(1, 2), 0]
    assert res.nonzero.tolist() == [True, False, False, True]
    assert res.min.tolist() == [0.0, 0.0, 0.0, 0.0]


walk_strategy = st.integers(1, 9).flatmap(
    lambda n: st.lists(st.lists(st.integers(0, 1), min_size=4, max_size=4), min_size=n, max_size=n)
)


@given(st.lists(walk_strategy, min_size=1, max_size=5))
def test_matches_the_definition_on_random_walks(walks):
    flat = np.array([p for w in walks for p in w], dtype=bool)
    off = np.cumsum([0] + [len(w) for w in walks])
    res = interaction_effects(flat, off)
    for i, w in enumerate(walks):
        want = [ref_interaction(w, k) for k in range(1, len(w) + 1)]
        assert res.exact(i) == want
        assert res.values[off[i]:off[i + 1]].tolist() == [float(v) for v in want]
        assert res.nonzero[i] == any(v != 0 for v in want)
    # integer (piece-index) walks give the same answer as the bool ones
    assert np.array_equal(interaction_effects(flat.astype(np.int64), off).numerator, res.numerator)


def cantor_symbol_walk(k):
    """Walk of CantorNet A (k steps) along y = 3/4 from the symbolic dynamics: the
    state sequence of each level-k triadic interval, consecutive repeats merged."""
    walk = []
    for i in range(3 ** k):
        u = Fraction(2 * i + 1, 2 * 3 ** k)
        word = []
        for _ in range(k):
            word.append("L" if u < Fraction(1, 3) else "R" if u > Fraction(2, 3) else "M")
            u = cantor_map(u, 1)
        if not walk or walk[-1] != word:
            walk.append(word)
    return walk


def test_cantornet_a_closed_forms():
    # k = 1: walk L, M, R (distance 2 between any two states): chi = 1 - 2/4 = 1/2,
    # and the split at M leaves two single steps: I(2) = 1/2
    net = zoo.cantornet(1, "A")
    sf = space_folding(net, [0.0, 0.75], [1.0, 0.75], mode="exact")
    eff = interaction_effects(sf.walk, [0, len(sf.walk)])
    assert sf.n_regions == 3 and eff.exact(0) == [0, Fraction(1, 2), 0]
    # k = 2: states LR, LM, LL, ML, RL, RM, RR; every step changes one symbol,
    # so (distances halved) r2 = 6, r1 = 2, chi = 2/3; by hand:
    # k=2: Gamma_2 from LM reaches 2 in 5 steps -> I = 2/3 - 0 - 3/5 = 1/15
    # k=3: Gamma_1 = (LR, LM, LL) chi 1/2, Gamma_2 from LL: r1 = 2, r2 = 4 -> I = -1/3
    # k=4: both halves (4 states, r1 = 2, r2 = 3) have chi 1/3 -> I = 0
    # and the walk is symmetric: I(5), I(6) mirror I(3), I(2)
    net = zoo.cantornet(2, "A")
    sf = space_folding(net, [0.0, 0.75], [1.0, 0.75], mode="exact")
    eff = interaction_effects(sf.walk, [0, len(sf.walk)])
    want = [0, Fraction(1, 15), Fraction(-1, 3), 0, Fraction(-1, 3), Fraction(1, 15), 0]
    assert eff.exact(0) == want
    # k = 3..5: the symbolic walk, measured with the definition, gives the same I(k)
    for kk in (3, 4, 5):
        sym = cantor_symbol_walk(kk)
        net = zoo.cantornet(kk, "A")
        sf = space_folding(net, [0.0, 0.75], [1.0, 0.75], mode="exact")
        assert sf.n_regions == len(sym)
        eff = interaction_effects(sf.walk, [0, len(sf.walk)])
        assert eff.exact(0) == [ref_interaction(sym, k) for k in range(1, len(sym) + 1)]


def test_interaction_effects_errors():
    with pytest.raises(ShapeError, match="offsets must start at 0"):
        interaction_effects(SPEC_WALK, [0, 4])
    with pytest.raises(ValidationError, match="booleans or integer class labels"):
        interaction_effects([[0.5, 1.0]], [0, 1])


# ---------------------------------------------------------------------------
# the experiment driver on tiny settings
# ---------------------------------------------------------------------------
def test_interaction_experiment_tiny(digits, tmp_path):
    _, _, X, y = digits
    net = zoo.digits_mlp("2x30")
    res = interaction_experiment(net, X, y, eps=(0.0, 0.05), steps=3, clip=(0, 1),
                                 n_points=30, paths_per_pair=1, seed=1)
    assert isinstance(res, InteractionExperiment)
    fams = [(r.family, r.eps) for r in res.rows]
    assert fams == [("clean", 0.0), ("clean-adv", 0.0), ("adv-adv", 0.0),
                    ("clean-adv", 0.05), ("adv-adv", 0.05)]
    # eps = 0: adversarial copies are the clean points (random start in a ball of
    # radius 0), so clean-adv paths have one region and adv-adv equals clean
    assert res.row("clean-adv", 0.0).n_paths == res.n_points == 30
    assert res.row("clean-adv", 0.0).mean_regions == 1.0
    assert res.row("clean-adv", 0.0).share_nonzero == 0.0
    e0, ea = res.effects[("clean", 0.0)], res.effects[("adv-adv", 0.0)]
    assert np.array_equal(e0.numerator, ea.numerator)
    assert res.paired[0.0]["wilcoxon_p"] is None and res.paired[0.0]["median_difference"] == 0
    assert res.row("clean").n_paths == 90 == len(res.pairs)
    # the summaries are those of the per-path effects
    r = res.row("adv-adv", 0.05)
    eff = res.effects[("adv-adv", 0.05)]
    assert r.max_median == float(np.median(eff.max))
    assert r.share_nonzero == float(np.mean(eff.nonzero))
    assert r.flip_rate == res.attacks[0.05]["flip_rate"]
    assert "clean-adv" in res.table()
    d = res.as_dict()
    assert d["n_pairs"] == 90 and len(d["rows"]) == 5
    # the same seed gives the same experiment
    again = interaction_experiment(net, X, y, eps=(0.0, 0.05), steps=3, clip=(0, 1),
                                   n_points=30, paths_per_pair=1, seed=1)
    assert again.as_dict()["rows"] == d["rows"]
    with pytest.raises(ValidationError, match="no row for family"):
        res.row("adv-adv", 0.3)
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2)
    arts = plot_interaction({"2x30": res}, axes=axes, title="t")
    assert arts
    fig.savefig(tmp_path / "f.png")
    plt.close(fig)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"eps": ()}, "eps must hold at least one"),
        ({"eps": (-1.0,)}, "eps must be a finite number"),
        ({"attack": "cw"}, "attack must be 'pgd' or 'fgsm'"),
        ({"n_points": 1}, "n_points must be an integer >= 2"),
        ({"paths_per_pair": 0}, "paths_per_pair must be"),
        ({"mode": "fast"}, "mode must be one of"),
    ],
)
def test_interaction_experiment_errors(digits, kwargs, match):
    _, _, X, y = digits
    with pytest.raises(ValidationError, match=match):
        interaction_experiment(zoo.digits_mlp("2x30"), X[:50], y[:50], **kwargs)


def test_interaction_experiment_shape_errors(digits):
    _, _, X, y = digits
    net = zoo.digits_mlp("2x30")
    with pytest.raises(ShapeError, match="input_dim=64"):
        interaction_experiment(net, X[:, :10], y)
    with pytest.raises(ShapeError, match="one label per row"):
        interaction_experiment(net, X, y[:-1])
    with pytest.raises(ValidationError, match="at least 2 classes"):
        interaction_experiment(net, X[:5], np.zeros(5, int))
