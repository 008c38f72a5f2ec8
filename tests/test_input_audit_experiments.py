"""Bad input to the experiment drivers, plot_complex_3d, PLNet.from_arrays,
check_save_path and the Chebyshev / redundancy LPs at extreme scales.

Every bad argument must raise a PolyfoldError naming it (never a raw exception, a
NaN result or a hang); expected values of the LPs are closed forms.
"""

import math
import warnings
from fractions import Fraction

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import polyfold  # noqa: E402
from polyfold import zoo  # noqa: E402
from polyfold._lp import chebyshev_ball, redundant_rows  # noqa: E402
from polyfold._validation import check_save_path  # noqa: E402
from polyfold.exceptions import (  # noqa: E402
    DomainError,
    NonFiniteError,
    PolyfoldError,
    ShapeError,
    UnsupportedLayerError,
    ValidationError,
)
from polyfold.experiments import (  # noqa: E402
    depth_experiment,
    error_path_indices,
    experiment_nets,
    interaction_experiment,
    load_experiment_data,
    plot_interaction,
    plot_seed_experiment,
    seed_experiment,
    trend_test,
)

RNG = np.random.default_rng(0)
X = RNG.uniform(-1, 1, (20, 3))
Y = np.arange(20) % 2
DATA = (X, Y, X, Y)
NET = zoo.random_mlp((4,), 3, 2, seed=1)
NET5 = zoo.random_mlp((4,), 5, 2, seed=1)  # wrong input dimension
NETS = [("1x4", NET, {"test_accuracy": 0.9})]
SNETS = {("1x4", 0): (NET, 1, 0.9)}


def _depth(**kw):
    args = dict(data=DATA, nets=NETS, paths_per_pair=1, grid_points=(3,), error_paths=2)
    args.update(kw)
    return depth_experiment(**args)


def _inter(**kw):
    args = dict(eps=(0.1,), steps=2, n_points=4, paths_per_pair=1)
    args.update(kw)
    net = args.pop("net", NET)
    Xa = args.pop("X", X)
    ya = args.pop("y", Y)
    return interaction_experiment(net, Xa, ya, **args)


def _seeds(**kw):
    args = dict(architectures=["1x4"], seeds=(0,), data=DATA, nets=SNETS, paths_per_pair=1,
                permutations=9)
    args.update(kw)
    return seed_experiment(**args)


def _raises(call, match, cls=PolyfoldError):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning / NaN on the way is a failure too
        with pytest.raises(cls, match=match):
            call()


# ---------------------------------------------------------------------------
# 1. experiment drivers
# ---------------------------------------------------------------------------
BAD_DRIVER_CALLS = {
    # load_experiment_data / error_path_indices: labels
    "data y nan": (lambda: load_experiment_data((X, np.full(20, np.nan), X, Y)), "y_train", NonFiniteError),
    "data y fraction": (lambda: load_experiment_data((X, Y + 0.5, X, Y)), "y_train", ValidationError),
    "epi y nan": (lambda: error_path_indices(np.array([0.0, np.nan, 1.0]), 3), "y", NonFiniteError),
    "epi y 2-D": (lambda: error_path_indices(np.zeros((3, 2)), 3), "y must be a 1-D", ShapeError),
    "epi seed -1": (lambda: error_path_indices(Y, 3, seed=-1), "seed", ValidationError),
    "epi seed str": (lambda: error_path_indices(Y, 3, seed="a"), "seed", ValidationError),
    # experiment_nets
    "nets archs int": (lambda: experiment_nets(5, DATA, epochs=1), "architectures", ValidationError),
    "nets archs empty": (lambda: experiment_nets([], DATA, epochs=1), "architectures", ValidationError),
    "nets cache str": (lambda: experiment_nets(["1x4"], DATA, epochs=1, cache="no"), "cache", ValidationError),
    # depth_experiment
    "depth grid None": (lambda: _depth(grid_points=None), "grid_points", ValidationError),
    "depth bisection nan": (lambda: _depth(bisection_eps=float("nan")), "bisection_eps", ValidationError),
    "depth bisection 0": (lambda: _depth(bisection_eps=0.0), "bisection_eps", ValidationError),
    "depth bisection str": (lambda: _depth(bisection_eps="a"), "bisection_eps", ValidationError),
    "depth train_seed -1": (lambda: _depth(train_seed=-1), "train_seed", ValidationError),
    "depth epochs 0": (lambda: _depth(epochs=0), "epochs", ValidationError),
    "depth nets None entry": (lambda: _depth(nets=[None]), r"nets\[0\]", ValidationError),
    "depth nets int": (lambda: _depth(nets=5), "nets", ValidationError),
    "depth nets empty": (lambda: _depth(nets=[]), "nets", ValidationError),
    "depth nets info list": (lambda: _depth(nets=[("1x4", NET, [1])]), "info", ValidationError),
    "depth archs int": (lambda: depth_experiment(5, data=DATA, epochs=1), "architectures", ValidationError),
    "depth archs empty": (lambda: depth_experiment([], data=DATA, epochs=1), "architectures", ValidationError),
    # interaction_experiment
    "inter y nan": (lambda: _inter(y=np.where(Y == 1, np.nan, 0.0)), "y must hold", ValidationError),
    # trend_test
    "trend None": (lambda: trend_test(None, None), "depth", ValidationError),
    "trend lengths": (lambda: trend_test([1, 2, 3], [1, 2]), "depth and values", ShapeError),
    "trend 2-D": (lambda: trend_test(np.zeros((3, 2)), np.zeros((3, 2))), "depth", ShapeError),
    "trend strings": (lambda: trend_test(["a", "b", "c"], [1, 2, 3]), "depth", ValidationError),
    "trend permutations 0": (lambda: trend_test([1, 2, 3], [1, 2, 4], permutations=0), "permutations", ValidationError),
    "trend permutations 1.5": (lambda: trend_test([1, 2, 3], [1, 2, 4], permutations=1.5), "permutations", ValidationError),
    "trend seed -1": (lambda: trend_test([1, 2, 3], [1, 2, 4], permutations=9, seed=-1), "seed", ValidationError),
    # seed_experiment
    "seeds None": (lambda: _seeds(seeds=None), "seeds", ValidationError),
    "seeds int": (lambda: _seeds(seeds=5), "range", ValidationError),
    "seeds repeated": (lambda: _seeds(seeds=(0, 0)), "repeat", ValidationError),
    "seeds archs None entry": (lambda: _seeds(architectures=[None]), "architecture", ValidationError),
    "seeds archs int": (lambda: _seeds(architectures=5), "architectures", ValidationError),
    "seeds threshold bool": (lambda: _seeds(threshold=True), "threshold", ValidationError),
    "seeds fold_seed -1": (lambda: _seeds(fold_seed=-1), "fold_seed", ValidationError),
    "seeds epochs 0": (lambda: _seeds(epochs=0), "epochs", ValidationError),
    "seeds permutations 0": (lambda: _seeds(permutations=0), "permutations", ValidationError),
    "seeds permutations 1.5": (lambda: _seeds(permutations=1.5), "permutations", ValidationError),
    "seeds cache str": (lambda: _seeds(cache="yes"), "cache", ValidationError),
    "seeds nets missing seed": (lambda: _seeds(seeds=(0, 1)), "seed 1", ValidationError),
    "seeds nets list": (lambda: _seeds(nets=[1]), "nets must be a dict", ValidationError),
    "seeds nets None value": (lambda: _seeds(nets={("1x4", 0): None}), "triple", ValidationError),
    "seeds nets accuracy nan": (lambda: _seeds(nets={("1x4", 0): (NET, 1, float("nan"))}), "test_accuracy", ValidationError),
    "seeds nets accuracy str": (lambda: _seeds(nets={("1x4", 0): (NET, 1, "a")}), "test_accuracy", ValidationError),
    "seeds nets depth str": (lambda: _seeds(nets={("1x4", 0): (NET, "a", 0.9)}), "depth", ValidationError),
}


@pytest.mark.parametrize("case", sorted(BAD_DRIVER_CALLS))
def test_experiment_drivers_reject_bad_input(case):
    call, match, cls = BAD_DRIVER_CALLS[case]
    _raises(call, match, cls)


@pytest.fixture(scope="module")
def results():
    return _inter(), _seeds()


def test_plots_of_experiments_reject_bad_input(results):
    res_i, res_s = results
    _raises(lambda: plot_interaction(None), "res must be an InteractionExperiment", ValidationError)
    _raises(lambda: plot_interaction({}), "at least one", ValidationError)
    _raises(lambda: plot_interaction({"a": None}), r"res\['a'\]", ValidationError)
    _raises(lambda: plot_interaction(res_i, panels=None), "panels", ValidationError)
    _raises(lambda: plot_interaction(res_i, axes=[1, 2]), "axes", ValidationError)
    _raises(lambda: plot_interaction(res_i, title=5), "title", ValidationError)
    _raises(lambda: res_i.row("adv-adv", None), "eps", ValidationError)
    _raises(lambda: res_i.row("x"), "family", ValidationError)
    _raises(lambda: plot_seed_experiment(None), "res must be a SeedExperiment", ValidationError)
    _raises(lambda: plot_seed_experiment(res_s, readings=("x",)), "readings", ValidationError)
    _raises(lambda: plot_seed_experiment(res_s, readings=()), "readings", ValidationError)
    _raises(lambda: plot_seed_experiment(res_s, axes=[1, 2]), "axes", ValidationError)
    # a single name is one panel / one reading (not its characters)
    assert plot_interaction(res_i, panels="share")
    assert plot_seed_experiment(res_s, readings="phi")
    plt.close("all")


def test_valid_calls_still_work(results):
    res_i, res_s = results
    assert [r.family for r in res_i.rows] == ["clean", "clean-adv", "adv-adv"]
    assert res_s.rows[0].passed and res_s.rows[0].test_accuracy == 0.9
    d = _depth(grid_points=3, nets=[("1x4", NET, None)])  # one grid size, no info
    assert list(d.rows[0].grid_errors) == [3] and d.rows[0].test_accuracy is None
    i, j = error_path_indices(Y, 7, seed=3)
    assert len(i) == 7 and np.all(Y[i] != Y[j])


def test_trend_test_at_huge_scale_matches_least_squares():
    depth = [1, 1, 2, 2, 3, 3]
    base = [Fraction(1, 10), Fraction(2, 10), Fraction(3, 10), Fraction(35, 100),
            Fraction(5, 10), Fraction(6, 10)]
    # closed-form least squares on the exact rationals
    n = len(depth)
    md = Fraction(sum(depth), n)
    mv = sum(base) / n
    sxx = sum((Fraction(d) - md) ** 2 for d in depth)
    slope = sum((Fraction(d) - md) * (v - mv) for d, v in zip(depth, base)) / sxx
    res = [v - mv - slope * (Fraction(d) - md) for d, v in zip(depth, base)]
    se = math.sqrt(float(sum(r * r for r in res) / (n - 2) / sxx))
    for scale in (1.0, 2.0**1000, 2.0**-1000):
        vals = [float(v) * scale for v in base]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            t = trend_test(depth, vals, permutations=99)
        assert t["slope"] == pytest.approx(float(slope) * scale, rel=1e-12)
        assert t["slope_se"] == pytest.approx(se * scale, rel=1e-9)
        assert t["spearman"] == pytest.approx(t["spearman"])  # finite
        assert 0 < t["anova_p"] < 1
    # a slope beyond float64 (3e308 per unit of depth) is an error, not inf
    _raises(lambda: trend_test([0, 0.5, 1], [-1.5e308, 0.0, 1.5e308], permutations=9),
            "float64 range", DomainError)


# ---------------------------------------------------------------------------
# 2. plot_complex_3d
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def cx3():
    from polyfold.complexes import box_complex

    return box_complex(zoo.random_mlp([4], 3, 1, seed=2), -1, 1)


def test_plot_complex_3d_rejects_bad_input(cx3):
    from polyfold.complexes.plot import plot_complex_3d

    _raises(lambda: plot_complex_3d(None), "cx must be a CellComplex", ValidationError)
    _raises(lambda: plot_complex_3d(NET), "cx must be a CellComplex", ValidationError)
    fig, ax2d = plt.subplots()
    _raises(lambda: plot_complex_3d(cx3, ax=ax2d), "3D Axes", ValidationError)
    _raises(lambda: plot_complex_3d(cx3, ax="ax"), "3D Axes", ValidationError)
    _raises(lambda: plot_complex_3d(cx3, surface="yes"), "surface", ValidationError)
    _raises(lambda: plot_complex_3d(cx3, edges=None), "edges", ValidationError)
    _raises(lambda: plot_complex_3d(cx3, edge_color="notacolour"), "edge_color", ValidationError)
    _raises(lambda: plot_complex_3d(cx3, edge_color=None), "edge_color", ValidationError)
    _raises(lambda: plot_complex_3d(cx3, surface_color=5), "surface_color", ValidationError)
    _raises(lambda: plot_complex_3d(cx3, alpha=2.0), "alpha", ValidationError)
    _raises(lambda: plot_complex_3d(cx3, alpha=float("nan")), "alpha", ValidationError)
    _raises(lambda: plot_complex_3d(cx3, linewidth=-1), "linewidth", ValidationError)
    _raises(lambda: plot_complex_3d(cx3, elev=float("inf")), "elev", ValidationError)
    _raises(lambda: plot_complex_3d(cx3, azim="left"), "azim", ValidationError)
    # valid arguments keep working
    out = plot_complex_3d(cx3, surface_color="tab:red", edge_color=(0.1, 0.2, 0.3), alpha=1,
                          linewidth=0, elev=np.float64(10), azim=-45)
    assert sorted(out) == ["ax", "edges", "surface"]
    ax3 = plt.figure().add_subplot(projection="3d")
    assert plot_complex_3d(cx3, ax=ax3, surface=np.bool_(False))["ax"] is ax3
    plt.close("all")


# ---------------------------------------------------------------------------
# 3. PLNet.from_arrays with one layer
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("activation", ["tanh", None, 3, "sigmoid"])
def test_from_arrays_checks_the_activation_without_hidden_layers(activation):
    lin = [(np.eye(2), np.zeros(2))]
    deep = [(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))]
    with pytest.raises(UnsupportedLayerError, match="activation"):
        polyfold.PLNet.from_arrays(deep, activation)  # as multi-layer nets do ...
    with pytest.raises(UnsupportedLayerError, match="activation"):
        polyfold.PLNet.from_arrays(lin, activation)  # ... and now one layer too
    assert polyfold.PLNet.from_arrays(lin, "relu").depth == 0
    assert polyfold.PLNet.from_arrays(lin, []).depth == 0


# ---------------------------------------------------------------------------
# 4. check_save_path's message
# ---------------------------------------------------------------------------
def test_check_save_path_example_follows_the_suffix(tmp_path):
    folder = tmp_path / "stats.json"
    folder.mkdir()
    with pytest.raises(ValidationError) as err:
        check_save_path(folder)
    msg = str(err.value)
    assert "is a folder" in msg and "net.npz" not in msg and "output.json" in msg
    with pytest.raises(ValidationError) as err:
        check_save_path(tmp_path, "path")
    msg = str(err.value)
    assert "is a folder" in msg and "net.npz" not in msg and "extension" in msg


# ---------------------------------------------------------------------------
# 5. Chebyshev ball and redundancy at extreme scales (closed forms)
# ---------------------------------------------------------------------------
SCALES = [1.0, 1e300, 1.7e308, np.finfo(float).max, 1e-300]


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_chebyshev_radius_of_box_and_simplex_closed_forms(d):
    for L in SCALES:
        _check_box_and_simplex(L, d)


def _check_box_and_simplex(L, d):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # the box [-L, L]^d (as bounds and as rows): inradius L, centre 0
        ball = chebyshev_ball(np.zeros((0, d)), np.zeros(0), bounds=(-L, L))
        assert ball.radius == pytest.approx(L, rel=1e-12)
        eye = np.eye(d)
        ball = chebyshev_ball(np.vstack([eye, -eye]), np.full(2 * d, L))
        assert ball.radius == pytest.approx(L, rel=1e-12)
        assert np.all(np.abs(ball.centre) <= 1e-9 * L)
        # L * conv{0, e_1..e_d} = {x >= 0, sum x <= L}: inradius L / (d + sqrt(d)),
        # centre (r, ..., r)
        A = np.vstack([eye, -np.ones((1, d))])
        c = np.r_[np.zeros(d), L]
        r = L / (d + math.sqrt(d))
        ball = chebyshev_ball(A, c)
        assert ball.radius == pytest.approx(r, rel=1e-9)
        assert ball.centre == pytest.approx(np.full(d, r), rel=1e-6)
        # the same simplex inside a box at the same scale (the box rows do not bind)
        ball = chebyshev_ball(A, c, bounds=(-L, L))
        assert ball.radius == pytest.approx(r, rel=1e-9)


def test_redundant_rows_of_a_huge_domain_box_without_warnings():
    # {x, y >= 0} in the box [-L, L]^2, plus a copy of x <= L: the lower box rows are
    # implied by x, y >= 0, the copy duplicates row 4
    expected = [False, False, True, True, False, False, True]
    A = np.vstack([np.eye(2), np.eye(2), -np.eye(2), [[-1.0, 0.0]]])
    for L in SCALES:
        c = np.r_[0.0, 0.0, L, L, L, L, L]
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # "overflow encountered in divide / add" before
            assert redundant_rows(A, c).tolist() == expected, L
            assert redundant_rows(A, c, interior_point=[L / 2, L / 2],
                                  boundary_point=[L, L / 2]).tolist() == expected, L


def test_region_facets_on_a_domain_of_1e300_without_warnings():
    from polyfold.regions import region_of

    net = polyfold.PLNet.from_arrays([(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reg = region_of(net, [1.0, 2.0], domain=(-1e300, 1e300))
        # the quadrant x, y > 0 cut by the box: facets x >= 0, y >= 0, x <= L, y <= L
        assert reg.facets.tolist() == [0, 1, 4, 5]
        assert reg.chebyshev.radius == pytest.approx(5e299, rel=1e-12)  # square [0, L]^2
