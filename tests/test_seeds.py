"""Tests of the multi-seed folding experiment and its trend test.

Expected values of the trend test are computed by hand (least squares, one-way
ANOVA, Spearman's rho and its exact permutation distribution on four values)."""

import numpy as np
import pytest

from polyfold import zoo
from polyfold.exceptions import ValidationError
from polyfold.experiments import (
    ACCURACY_THRESHOLD,
    SeedExperiment,
    plot_seed_experiment,
    seed_experiment,
    trend_test,
)
from polyfold.folding import class_pair_folding


def test_trend_test_by_hand():
    # depth (1, 1, 2, 2), values (1, 2, 3, 4): slope 2, residuals +-1/2, s^2 = 1/2,
    # sum (d - dbar)^2 = 1 -> se sqrt(1/2); ANOVA: between SS 4 (df 1), within SS 1
    # (df 2) -> F = 8; Spearman: ranks (1.5, 1.5, 3.5, 3.5) vs (1, 2, 3, 4) give
    # rho = 4 / (2 sqrt 5); of the 24 permutations, 8 reach |rho| >= that -> p = 1/3
    t = trend_test([1, 1, 2, 2], [1.0, 2.0, 3.0, 4.0], permutations=4000, seed=1)
    assert t["slope"] == pytest.approx(2.0)
    assert t["slope_se"] == pytest.approx(np.sqrt(0.5))
    assert t["anova_F"] == pytest.approx(8.0)
    assert t["spearman"] == pytest.approx(4 / (2 * np.sqrt(5)))
    assert t["spearman_p_permutation"] == pytest.approx(1 / 3, abs=0.03)
    assert t["n"] == 4


def test_trend_test_degenerate_inputs():
    assert trend_test([1, 2], [0.1, 0.2])["spearman"] is None          # too few
    assert trend_test([3, 3, 3], [0.1, 0.2, 0.3])["spearman"] is None  # one depth
    t = trend_test([1, 2, 3, 4], [0.5, 0.5, 0.5, 0.5], permutations=10)
    assert t["spearman"] is None and t["slope"] == pytest.approx(0.0)
    t = trend_test([1, 2, 3, 4], [0.1, np.nan, 0.3, 0.4], permutations=10)
    assert t["n"] == 3 and t["spearman"] == pytest.approx(1.0)


def test_seed_experiment_filters_by_the_threshold(digits):
    _, _, X, y = digits
    a, b = zoo.digits_mlp("2x30"), zoo.digits_mlp("3x20")
    nets = {("2x30", 0): (a, 2, 0.97), ("2x30", 1): (a, 2, 0.50), ("3x20", 0): (b, 3, 0.90),
            ("3x20", 1): (b, 3, ACCURACY_THRESHOLD)}
    res = seed_experiment(["2x30", "3x20"], seeds=(0, 1), paths_per_pair=2, nets=nets,
                          permutations=9)
    assert isinstance(res, SeedExperiment) and len(res.rows) == 4
    assert [r.passed for r in res.rows] == [True, False, True, True]  # >= threshold passes
    s = res.summary["2x30"]
    assert s["n"] == 2 and s["n_passed"] == 1 and s["pair_max_median"]["std"] is None
    want = class_pair_folding(a, X, y, paths_per_pair=2, seed=0)
    assert s["pair_max_median"]["mean"] == want.pair_max_median
    assert s["path_prefix_max_median"]["mean"] == want.path_prefix_max_median
    assert s["phi"]["mean"] == want.chi_summary.phi
    assert res.summary["3x20"]["n_passed"] == 2 and res.summary["3x20"]["pair_max_median"]["std"] == 0.0
    assert res.trend["phi"]["n"] == 3
    assert "2x30" in res.table() and "trend of" in res.table()
    assert len(res.as_dict()["rows"]) == 4


def test_seed_experiment_trains_and_plots(tmp_path):
    res = seed_experiment(["2x30", "3x20"], seeds=(0,), paths_per_pair=1, permutations=9)
    assert [r.test_accuracy > 0.9 for r in res.rows] == [True, True]
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2)
    assert plot_seed_experiment(res, axes=axes)
    fig.savefig(tmp_path / "s.png")
    plt.close(fig)


def test_seed_experiment_errors():
    with pytest.raises(ValidationError, match="threshold must be an accuracy"):
        seed_experiment(["2x30"], seeds=(0,), threshold=2.0)
    with pytest.raises(ValidationError, match="at least one architecture"):
        seed_experiment(["2x30"], seeds=())
    with pytest.raises(ValidationError, match="seeds must be an integer >= 0"):
        seed_experiment(["2x30"], seeds=(-1,))


def test_cnn_architectures_train_into_graph_networks():
    pytest.importorskip("torch")
    from polyfold.experiments.seeds import _train

    net, depth, acc = _train("cnn1", 0, "digits", 1, False)
    assert not net.is_dense and depth == 1 and 0 <= acc <= 1
