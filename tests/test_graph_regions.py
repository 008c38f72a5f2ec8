"""Regions, slices, statistics, injectivity and the CLI on graph networks.

Independent expectations: the hand-expanded dense equivalent of a CNN (from
test_graph_crossings), the conv matrix written out with loops, exact rational checks
of region rows at points, and errors for the features that cannot apply.
"""

import numpy as np
import pytest

import polyfold
from polyfold import arith
from polyfold.exceptions import UnsupportedLayerError, ValidationError
from polyfold.graph import GraphBuilder
from polyfold.regions import iter_region_rows, region_of, region_rows

from test_graph_crossings import conv_matrix, small_cnn


def test_region_of_a_cnn_equals_its_dense_expansion():
    net, dense = small_cnn(0)
    rng = np.random.default_rng(0)
    for x in rng.normal(size=(4, 25)):
        Rg, Rd = region_of(net, x, domain=(-3, 3)), region_of(dense, x, domain=(-3, 3))
        np.testing.assert_allclose(Rg.A, Rd.A, rtol=0, atol=1e-12)
        np.testing.assert_allclose(Rg.c, Rd.c, rtol=0, atol=1e-12)
        np.testing.assert_allclose(Rg.V, Rd.V, rtol=0, atol=1e-12)
        assert Rg.facets.tolist() == Rd.facets.tolist()
        Aq, cq, *_ = region_rows(net, Rg.codes, exact=True)
        assert all(v >= 0 for v in Aq @ arith.fmpq_array(x) + cq)


def test_region_of_with_max_units():
    # region of a max unit = where its selected candidate dominates: every row holds at
    # the point (exactly), the interior point has the region's exact codes, and the
    # lazy form gives the same rows
    net = polyfold.zoo.digits_cnn()
    from polyfold.datasets import load_digits_split

    _, _, X, _ = load_digits_split()
    R = region_of(net, X[3].reshape(1, 8, 8), domain=(0.0, 1.0))
    assert any(len(u) == 3 for u in R.units)  # max-unit rows "selected >= candidate j"
    Aq, cq, units, *_ = region_rows(net, R.codes, exact=True)
    assert all(v >= 0 for v in Aq @ arith.fmpq_array(X[3]) + cq)
    ip = R.interior_point
    assert np.array_equal(net.codes_exact(ip[None])[0], R.codes)
    lazy = list(iter_region_rows(net, R.codes))
    np.testing.assert_array_equal(np.concatenate([b[0] for b in lazy]), R.A[: len(units)])


def test_region_of_refuses_huge_representations():
    net = polyfold.zoo.resnet_cifar()
    x = np.random.default_rng(0).uniform(0, 1, (3, 32, 32))
    with pytest.raises(ValidationError, match=r"73728 rows x 3072 inputs.*iter_region_rows"):
        region_of(net, x)


def test_region_statistics_on_a_cnn(monkeypatch):
    # every predicted neighbour, also across max-unit facets, is confirmed by the codes
    # of a point stepped across the facet (facets on the domain's boundary have none)
    from polyfold.statistics import _neighbours

    net = polyfold.zoo.digits_cnn()
    from polyfold.datasets import load_digits_split

    _, _, X, _ = load_digits_split()
    seen = {"max": [], "threshold": []}
    step = _neighbours._step_across

    def record(*args, **kw):
        rec = step(*args, **kw)
        if rec is not None:
            kind = "max" if any(len(u) == 3 for u in rec["units"]) else "threshold"
            seen[kind].append(rec["verified"])
        return rec

    monkeypatch.setattr(_neighbours, "_step_across", record)
    st = polyfold.region_statistics(net, X[:1], domain=(0.0, 1.0), progress=False)
    assert len(st) == 1
    assert len(seen["max"]) >= 5 and all(seen["max"])
    assert len(seen["threshold"]) >= 50 and all(seen["threshold"])


def test_slices_of_a_cnn_equal_its_dense_expansion():
    net, dense = small_cnn(1)
    rng = np.random.default_rng(1)
    x1, x2, x3 = rng.normal(size=(3, 25))
    for mode in ("exact", "certified", "float"):
        a = polyfold.slice_through(net, x1.reshape(1, 5, 5), x2, x3, mode=mode)
        b = polyfold.slice_through(dense, x1, x2, x3, mode=mode)
        assert a.n_regions == b.n_regions > 10
        ka = sorted(map(tuple, a.codes.tolist()))
        assert ka == sorted(map(tuple, b.codes.tolist()))
        if mode == "exact":
            assert sorted(a.exact_areas) == sorted(b.exact_areas)
        assert len(a.adjacency) == len(b.adjacency)


def test_slices_of_nets_with_max_units_are_refused_clearly():
    g = GraphBuilder((1, 4, 4))
    h = g.max_pool(g.relu(g.conv(g.input, np.ones((1, 1, 3, 3)), padding=1)), 2)
    net = g.build(g.dense(g.flatten(h), np.ones((1, 4))))
    with pytest.raises(UnsupportedLayerError, match="max units"):
        polyfold.slice_through(net, np.zeros(16), np.eye(16)[0], np.eye(16)[1])


def test_injectivity_of_a_conv_layer_is_its_matrix():
    rng = np.random.default_rng(2)
    w, b = rng.normal(size=(3, 1, 3, 3)), rng.normal(size=3)
    g = GraphBuilder((1, 4, 4))
    h = g.relu(g.conv(g.input, w, b, padding=1))
    net = g.build(g.dense(g.flatten(h), rng.normal(size=(2, 48))))
    from polyfold.injectivity import check_injectivity, layer_weights

    W, alpha = layer_weights(net, 0)
    M, _ = conv_matrix(w, (1, 4, 4), 1, 1)
    np.testing.assert_allclose(W, M, rtol=0, atol=1e-12)
    np.testing.assert_allclose(alpha, -np.repeat(b, 16), rtol=0, atol=1e-15)
    v = check_injectivity((net, 0), domain=polyfold.injectivity.Points(rng.normal(size=(10, 16))))
    assert v.n_pieces == 10
    with pytest.raises(UnsupportedLayerError, match=r"\(layer=0\) only"):
        layer_weights(net, 1)
    g = GraphBuilder((1, 4, 4))
    net2 = g.build(g.dense(g.flatten(g.max_pool(g.input, 2)), np.ones((1, 4))))
    with pytest.raises(UnsupportedLayerError, match="max-pooling"):
        layer_weights(net2, 0)
    with pytest.raises(UnsupportedLayerError, match="dense PLNet"):
        polyfold.injectivity.check_network_injectivity(net, domain=(-1.0, 1.0))


def test_cli_with_torch_and_onnx_cnns(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    from polyfold.cli import main

    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(),
                          nn.Linear(48, 10)).eval()
    path = tmp_path / "cnn.pt"
    torch.save(model, path)
    import json

    for argv in (["crossings", "--pairs", "5", "--grid", "11"], ["fold", "--paths-per-pair", "1",
                 "--pairs", "0:1"], ["slice"], ["bias"]):
        code = main(argv + ["--model", str(path), "--input-shape", "1,8,8", "--json", "--quiet"])
        out = capsys.readouterr().out
        assert code == 0, argv
        assert json.loads(out)["command"] == argv[0]
    pytest.importorskip("onnx")
    onnx_path = tmp_path / "cnn.onnx"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(model.double(), (torch.zeros(1, 1, 8, 8, dtype=torch.float64),), str(onnx_path),
                              dynamo=False, input_names=["x"], dynamic_axes={"x": {0: "N"}})
        except Exception as err:  # pragma: no cover
            pytest.skip(f"torch.onnx.export unavailable: {err}")
    code = main(["crossings", "--pairs", "5", "--grid", "11", "--model", str(onnx_path), "--json", "--quiet"])
    assert code == 0 and json.loads(capsys.readouterr().out)["command"] == "crossings"
