"""Every public result class prints a short repr (a line or a few, arrays summarised)
on a realistic object, and the list of classes here covers all of them."""

import dataclasses
import importlib
import inspect
import pkgutil

import numpy as np
import pytest

import polyfold
from polyfold import zoo

MAX_CHARS = 400
MAX_LINES = 6

# classes that are settings or building blocks, not results (their reprs are their
# few constructor arguments)
NOT_RESULTS = {"DemoSettings", "Tolerance", "Activation", "ReLU", "LeakyReLU", "HardTanh",
               "Identity", "FailedChunk", "Node"}


@pytest.fixture(scope="module")
def objects():
    """A realistic instance of every public result class."""
    from polyfold import folding, injectivity, parallel, sampling, statistics
    from polyfold.datasets import load_digits_split

    _, _, X, y = load_digits_split()
    net = zoo.digits_mlp("2x30")
    i, j = np.arange(0, 200), np.arange(200, 400)
    out = {}
    sc = polyfold.segment_crossings(net, X[i], X[j])
    out["SegmentCrossings"] = sc
    out["FirstLayerCache"] = polyfold.crossings.first_layer_cache(net, X)
    out["SampledWalks"] = sampling.grid_patterns(net, X[i], X[j], 100)
    sfb = folding.space_folding_batch(net, X[i], X[j])
    out["SpaceFoldingBatch"] = sfb
    sf = folding.space_folding(net, X[0], X[300])
    out["SpaceFolding"] = sf
    out["FoldingMeasure"] = folding.folding_measure(sf.walk)
    out["PrefixCurve"] = folding.prefix_curve(sf.walk)
    out["FoldingBounds"] = folding.folding_bounds(sf.walk)
    out["FoldingMeasureBatch"] = sfb.measures
    out["GlobalFolding"] = folding.global_folding(sfb.chi)
    out["ClassPairFolding"] = folding.class_pair_folding(net, X, y, paths_per_pair=5,
                                                         progress=False)
    out["SampledFolding"] = folding.sampled_folding(net, X[i], X[j], n_points=11)
    out["SamplingError"] = folding.sampling_error(net, X[i], X[j], n_points=11)
    W = np.vstack([np.eye(8), -np.ones((1, 8)), np.random.default_rng(0).normal(size=(55, 8))])
    out["InjectivityVerdict"] = injectivity.check_injectivity(
        W, alpha=np.zeros(64), domain=injectivity.Points(np.random.default_rng(1).normal(size=(80, 8))))
    out["NetworkInjectivityVerdict"] = injectivity.check_network_injectivity(
        zoo.arrangement(12, 2, seed=0), domain=(-1.0, 1.0))
    out["BiasCertificate"] = injectivity.maximal_bias(W[9:, :3], method="sampling",
                                                      n_samples=2000, seed=0)
    out["BiasMargin"] = injectivity.bias_margin(W, np.random.default_rng(2).normal(size=(80, 8)),
                                                alpha=0)
    out["Box"] = injectivity.Box(np.zeros(64), np.ones(64))
    out["Polytope"] = injectivity.Polytope(np.vstack([np.eye(64), -np.eye(64)]),
                                           np.r_[np.zeros(64), np.ones(64)])
    out["Points"] = injectivity.Points(X)
    reg = polyfold.region_of(net, X[0], domain=(0.0, 1.0))
    out["Region"] = reg
    cx = polyfold.slice_through(net, X[0], X[1], X[2])
    out["RegionComplex"] = cx
    out["ComplexRegion"] = cx.region(0)
    out["DecisionBoundary"] = cx.decision_boundary
    out["CellComplex"] = polyfold.box_complex(zoo.random_mlp([4, 4], 3, 1, seed=0), -1.0, 1.0)
    out["ChebyshevBall"] = reg.chebyshev
    A, c = reg.A, reg.c
    out["Insphere"] = statistics.insphere(A, c, domain=(0.0, 1.0))
    out["InsphereBatch"] = statistics.inspheres([A, A], [c, c], domain=(0.0, 1.0))
    out["RegionStatistics"] = statistics.region_statistics(net, X[:3], domain=(0.0, 1.0),
                                                           progress=False)
    sw = parallel.sweep(net, X, parallel.IndexPairs(i, j), quantity="folding", seed=0,
                        progress=False)
    out["SweepResult"] = sw
    out["ClassPairSweep"] = parallel.class_pair_sweep(net, X, y, paths_per_pair=3,
                                                      executor="serial", progress=False)
    from polyfold.experiments import depth_experiment

    dx = depth_experiment(["2x30"], paths_per_pair=2, error_paths=5, grid_points=(11,),
                          nets=[("2x30", net, {"test_accuracy": 0.97})])
    out["DepthExperiment"] = dx
    out["DepthRow"] = dx.rows[0]
    from polyfold.experiments import interaction_effects, interaction_experiment, seed_experiment

    out["AttackResult"] = polyfold.attacks.fgsm(net, X[:20], y[:20], 0.05, clip=(0.0, 1.0))
    out["DecisionCrossings"] = polyfold.attacks.decision_crossings(net, X[i[:50]], X[j[:50]])
    out["InteractionEffects"] = interaction_effects(sfb.walks, sfb.walk_offsets)
    ix = interaction_experiment(net, X, y, eps=(0.05,), steps=2, n_points=20, paths_per_pair=1)
    out["InteractionExperiment"] = ix
    out["InteractionRow"] = ix.rows[0]
    sx = seed_experiment(["2x30"], seeds=(0, 1), paths_per_pair=2, permutations=10,
                         nets={("2x30", 0): (net, 2, 0.97), ("2x30", 1): (net, 2, 0.96)})
    out["SeedExperiment"] = sx
    out["SeedRow"] = sx.rows[0]
    return out


def _public_result_classes():
    names = set()
    for m in pkgutil.walk_packages(polyfold.__path__, "polyfold."):
        if m.name.endswith("__main__"):
            continue
        try:
            mod = importlib.import_module(m.name)
        except ImportError:
            continue
        for k, v in vars(mod).items():
            if (inspect.isclass(v) and v.__module__ == m.name and not k.startswith("_")
                    and (dataclasses.is_dataclass(v) or hasattr(v, "_fields"))):
                names.add(k)
    return names - NOT_RESULTS


def test_every_result_class_is_checked(objects):
    assert _public_result_classes() == set(objects)


def test_reprs_are_short(objects):
    long = {}
    for name, obj in objects.items():
        assert type(obj).__name__ == name
        text = repr(obj)
        if len(text) > MAX_CHARS or text.count("\n") >= MAX_LINES:
            long[name] = (len(text), text[:200])
    assert not long, "\n".join(f"{k}: {v[0]}" for k, v in long.items())


def test_repr_summarises_arrays(objects):
    text = repr(objects["SegmentCrossings"])
    assert text.startswith("SegmentCrossings(") and "n_segments=200" in text
    assert "..." in text  # the 200 piece counts are summarised, numpy style
    text = repr(objects["InjectivityVerdict"])
    assert text.startswith("InjectivityVerdict(") and "is_injective=" in text
