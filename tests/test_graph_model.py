"""The graph network model: operators, conversions from torch.fx and ONNX, affine maps,
persistence and errors.

Expected values come from PyTorch's eval-mode forward pass (float64 models), from the
ONNX reference evaluator (onnx.reference, an independent implementation), from torch
autograd Jacobians, and from hand computations.
"""

import pickle
import warnings
from fractions import Fraction

import numpy as np
import pytest

import polyfold
from polyfold import arith
from polyfold.exceptions import DependencyError, ShapeError, UnsupportedLayerError, ValidationError
from polyfold.graph import GraphBuilder, PLGraph


@pytest.fixture(scope="module")
def torch():
    torch = pytest.importorskip("torch")
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(torch.float32)


def _check_torch(torch, model, shape, *, n=5, seed=0, atol=1e-12, expect_graph=True):
    torch.manual_seed(seed)
    model = model.double().eval()
    net = polyfold.from_torch(model, input_shape=shape)
    if expect_graph:
        assert isinstance(net, PLGraph)
    X = np.random.default_rng(seed).normal(size=(n,) + tuple(shape))
    with torch.no_grad():
        ref = model(torch.from_numpy(X)).reshape(n, -1).numpy()
    got = net.forward(X)  # shaped points
    np.testing.assert_allclose(got, ref, rtol=0, atol=atol * max(1.0, np.abs(ref).max()))
    np.testing.assert_allclose(net.forward(X.reshape(n, -1)), got, rtol=0, atol=0)  # flat points
    return net, X


def _randomise_bn(torch, model):
    for m in model.modules():
        if isinstance(m, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
            with torch.no_grad():
                m.running_mean.uniform_(-1, 1)
                m.running_var.uniform_(0.5, 2.0)
                if m.affine:
                    m.weight.uniform_(0.5, 1.5)
                    m.bias.uniform_(-0.5, 0.5)
    return model


# ---------------------------------------------------------------------------
# per operator, against torch
# ---------------------------------------------------------------------------
def _op_cases(nn, F):
    class Lambda(nn.Module):
        def __init__(self, fn):
            super().__init__()
            self.fn = fn

        def forward(self, x):
            return self.fn(x)

    class Res(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(2, 2, 3, padding=1)
            self.b = nn.Conv2d(2, 2, 1)

        def forward(self, x):
            return torch_relu(self.a(x)) + self.b(x)

    class Cat(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(2, 3, 3, padding=1)

        def forward(self, x):
            import torch as t

            return t.cat([x, t.relu(self.a(x))], dim=1)

    class Maxi(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Conv2d(2, 2, 3, padding=1)

        def forward(self, x):
            import torch as t

            return t.maximum(x, self.a(x))

    class Maxout(nn.Module):
        def forward(self, x):
            return x.view(x.size(0), 3, 4).max(dim=2)[0]

    class MaxoutValues(nn.Module):
        def forward(self, x):
            return torch.max(x.view(x.size(0), 4, 3), 2).values

    class Scalar(nn.Module):
        def forward(self, x):
            return -((x - 0.5) / 2 + 1) * 3

    class GAP(nn.Module):
        def forward(self, x):
            return x.mean((2, 3))

    import torch

    def torch_relu(x):
        return torch.relu(x)

    return [
        ("conv2d stride/pad/dil/groups", nn.Conv2d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2), (4, 9, 8)),
        ("conv2d asymmetric kernel", nn.Conv2d(2, 3, (2, 3), stride=(1, 2), padding=(1, 0)), (2, 5, 7)),
        ("conv2d no bias", nn.Conv2d(2, 2, 3, bias=False), (2, 5, 5)),
        ("conv2d same", nn.Conv2d(2, 2, 4, padding="same"), (2, 6, 6)),
        ("conv1d", nn.Conv1d(3, 2, 3, stride=2, padding=1, dilation=1, groups=1), (3, 9)),
        ("avgpool2d", nn.AvgPool2d(3, stride=2, padding=1), (2, 7, 6)),
        ("avgpool2d ceil exclude pad", nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), (2, 8, 7)),
        ("avgpool1d", nn.AvgPool1d(2), (2, 7)),
        ("adaptive avgpool uneven", nn.AdaptiveAvgPool2d((3, 2)), (2, 7, 5)),
        ("adaptive avgpool 1", nn.AdaptiveAvgPool2d(1), (3, 4, 4)),
        ("maxpool2d", nn.MaxPool2d(2), (2, 6, 6)),
        ("maxpool2d overlap pad dil ceil", nn.MaxPool2d(3, stride=2, padding=1, dilation=1, ceil_mode=True), (2, 8, 7)),
        ("maxpool2d dilation", nn.MaxPool2d(2, stride=1, dilation=2), (1, 5, 5)),
        ("maxpool1d", nn.MaxPool1d(3, stride=2, padding=1), (2, 8)),
        ("adaptive maxpool uneven", nn.AdaptiveMaxPool2d((2, 3)), (2, 5, 7)),
        ("batchnorm2d standalone", nn.BatchNorm2d(3), (3, 4, 4)),
        ("conv+batchnorm folded", nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3)), (2, 5, 5)),
        ("linear+batchnorm1d", nn.Sequential(nn.Flatten(), nn.Linear(8, 5), nn.BatchNorm1d(5), nn.ReLU(), nn.Linear(5, 2)), (2, 4)),
        ("relu", nn.ReLU(), (2, 3, 3)),
        ("leaky relu", nn.LeakyReLU(0.2), (2, 3, 3)),
        ("hardtanh", nn.Hardtanh(-0.5, 1.5), (2, 3, 3)),
        ("relu6", nn.ReLU6(), (2, 3, 3)),
        ("dropout identity", nn.Sequential(nn.Dropout(0.5), nn.Identity(), nn.Conv2d(1, 1, 2)), (1, 3, 3)),
        ("flatten", nn.Sequential(nn.Conv2d(1, 2, 2), nn.Flatten(), nn.Linear(8, 3)), (1, 3, 3)),
        ("F.relu / F.max_pool2d / F.avg_pool2d", Lambda(lambda x: F.avg_pool2d(F.max_pool2d(F.relu(x), 2), 2)), (2, 8, 8)),
        ("residual add", Res(), (2, 5, 5)),
        ("concat", Cat(), (2, 4, 4)),
        ("torch.maximum", Maxi(), (2, 4, 4)),
        ("maxout via view + max", Maxout(), (12,)),
        ("maxout via torch.max(...).values", MaxoutValues(), (12,)),
        ("linear on the last axis", nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(6, 2)), (2, 4)),
        ("dense chain on the last axis", nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)), (2, 4)),
        ("scalar affine", Scalar(), (2, 3)),
        ("mean over spatial dims", GAP(), (3, 4, 5)),
        ("torch.flatten + reshape", Lambda(lambda x: torch.flatten(x, 1).reshape(-1, 2, 6)), (3, 2, 2)),
    ]


@pytest.mark.filterwarnings("ignore:Using padding=.same.:UserWarning")
def test_every_operator_matches_torch(torch):
    nn, F = torch.nn, torch.nn.functional
    for name, model, shape in _op_cases(nn, F):
        _randomise_bn(torch, model)
        net, X = _check_torch(torch, model, shape, expect_graph=False)
        # exact forward agrees with the float one (the float error is tiny here)
        ex = arith.to_float_array(net.forward_exact(X[:2].reshape(2, -1))[-1])
        np.testing.assert_allclose(ex, net.forward(X[:2]), rtol=0, atol=1e-12), name


def test_codes_of_max_units_are_the_selected_window_position(torch):
    # 2x2 max pool on a 1x2x2 input: the code is the row-major position of the max
    b = GraphBuilder((1, 2, 2))
    net = b.build(b.max_pool(b.input, 2))
    X = np.array([[1.0, 5.0, 2.0, 3.0], [0.0, 0.0, 0.0, 0.0], [-1.0, -2.0, 4.0, 4.0]])
    assert net.codes(X).ravel().tolist() == [1, 0, 2]  # ties: lowest index
    assert net.codes_exact(X).ravel().tolist() == [1, 0, 2]
    assert net.forward(X).ravel().tolist() == [5.0, 0.0, 4.0]


def test_dense_chains_come_back_as_plnet(torch):
    nn = torch.nn

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(6, 4)
            self.b = nn.Linear(4, 3)

        def forward(self, x):
            return self.b(torch.relu(self.a(x.flatten(1)) * 2 - 1))

    net, X = _check_torch(torch, MLP(), (2, 3), expect_graph=False)
    assert isinstance(net, polyfold.PLNet) and net.input_shape == (2, 3) and net.widths == (4,)


def test_jacobian_and_affine_map_match_autograd(torch):
    nn = torch.nn
    torch.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(3, 2, 2, groups=1), nn.LeakyReLU(0.1), nn.AvgPool2d(1), nn.Flatten(),
                          nn.Linear(2, 4))
    _randomise_bn(torch, model)
    net, X = _check_torch(torch, model, (2, 4, 4))
    V, u = net.affine_map(X[:3])
    for i in range(3):
        J = torch.autograd.functional.jacobian(lambda z: model(z.reshape(1, 2, 4, 4)).reshape(-1),
                                               torch.from_numpy(X[i].reshape(-1))).numpy()
        np.testing.assert_allclose(V[i], J, rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.einsum("nkd,nd->nk", V, X[:3].reshape(3, -1)) + u, net.forward(X[:3]),
                               rtol=0, atol=1e-12)
    # codes given explicitly: the same map
    V2, u2 = net.affine_map(codes=net.codes(X[:3]))
    np.testing.assert_array_equal(V2, V)
    np.testing.assert_array_equal(u2, u)


def test_save_load_and_pickle_round_trip(torch, tmp_path):
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, padding=1),
                          nn.AvgPool2d(2, ceil_mode=True), nn.Flatten(), nn.Linear(8, 3))
    net, X = _check_torch(torch, model, (1, 5, 5))
    path = tmp_path / "cnn.npz"
    polyfold.save(net, path)
    back = polyfold.load(path)
    assert isinstance(back, PLGraph) and back == net
    np.testing.assert_array_equal(back.forward(X), net.forward(X))
    np.testing.assert_array_equal(back.codes(X), net.codes(X))
    again = pickle.loads(pickle.dumps(net))
    assert again == net and again.info == net.info
    with pytest.raises(ValidationError, match="graph network"):
        polyfold.PLNet.load(path)


def test_avg_pool_exact_weights_are_one_over_n():
    # the exact value of a 3-window average of 1, 1, 2 is 4/3 (not the float 1/3 * 4)
    b = GraphBuilder((1, 3))
    net = b.build(b.avg_pool(b.input, 3))
    z = net.forward_exact([[1.0, 1.0, 2.0]])[-1][0, 0]
    assert arith.to_fraction(z) == Fraction(4, 3)


# ---------------------------------------------------------------------------
# ONNX (expected values: onnx.reference.ReferenceEvaluator)
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def onnx():
    return pytest.importorskip("onnx")


def _onnx_model(onnx, nodes, inits, in_shape, out_name="y"):
    h = onnx.helper
    TP = onnx.TensorProto
    inp = h.make_tensor_value_info("x", TP.DOUBLE, [None] + list(in_shape))
    out = h.make_tensor_value_info(out_name, TP.DOUBLE, [None])
    init = [onnx.numpy_helper.from_array(np.asarray(v), name=k) for k, v in inits.items()]
    graph = h.make_graph(nodes, "g", [inp], [out], initializer=init)
    return h.make_model(graph, opset_imports=[h.make_opsetid("", 17)])


def _check_onnx(onnx, model, in_shape, n=4, seed=0):
    from onnx.reference import ReferenceEvaluator

    onnx.checker.check_model(model)
    net = polyfold.from_onnx(model)
    X = np.random.default_rng(seed).normal(size=(n,) + tuple(in_shape))
    ref = ReferenceEvaluator(model).run(None, {"x": X})[0].reshape(n, -1)
    np.testing.assert_allclose(net.forward(X), ref, rtol=0, atol=1e-12 * max(1, np.abs(ref).max()))
    return net


def test_every_onnx_operator_matches_the_reference(onnx):
    h = onnx.helper
    r = np.random.default_rng(0)
    W = r.normal(size=(3, 2, 3, 3))
    cases = [
        ([h.make_node("Gemm", ["x", "W", "b"], ["y"], transB=1, alpha=0.5, beta=2.0)],
         {"W": r.normal(size=(3, 4)), "b": r.normal(size=3)}, (4,)),
        ([h.make_node("MatMul", ["x", "W"], ["m"]), h.make_node("Add", ["m", "b"], ["y"])],
         {"W": r.normal(size=(4, 3)), "b": r.normal(size=3)}, (4,)),
        ([h.make_node("Conv", ["x", "W", "B"], ["y"], pads=[1, 0, 1, 0], strides=[2, 1], dilations=[1, 1])],
         {"W": W, "B": r.normal(size=3)}, (2, 7, 6)),
        ([h.make_node("Conv", ["x", "W"], ["y"], auto_pad="SAME_UPPER")], {"W": W}, (2, 5, 6)),
        ([h.make_node("Relu", ["x"], ["y"])], {}, (2, 3)),
        ([h.make_node("LeakyRelu", ["x"], ["y"], alpha=0.3)], {}, (2, 3)),
        ([h.make_node("Clip", ["x", "lo", "hi"], ["y"])], {"lo": np.array(-0.5), "hi": np.array(0.7)}, (2, 3)),
        ([h.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])], {}, (2, 7, 7)),
        ([h.make_node("AveragePool", ["x"], ["y"], kernel_shape=[3, 2], strides=[2, 2], pads=[1, 0, 1, 0],
                      count_include_pad=0)], {}, (2, 7, 6)),
        ([h.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2, 2], ceil_mode=1, count_include_pad=1)], {}, (1, 5, 5)),
        ([h.make_node("GlobalAveragePool", ["x"], ["y"])], {}, (3, 4, 5)),
        ([h.make_node("GlobalMaxPool", ["x"], ["y"])], {}, (3, 4, 5)),
        ([h.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], epsilon=1e-3)],
         {"s": r.uniform(0.5, 1.5, 3), "b": r.normal(size=3), "m": r.normal(size=3), "v": r.uniform(0.5, 2, 3)}, (3, 2, 2)),
        ([h.make_node("Conv", ["x", "W"], ["c"]), h.make_node("Relu", ["c"], ["r"]),
          h.make_node("Conv", ["x", "W"], ["c2"]), h.make_node("Add", ["r", "c2"], ["y"])], {"W": W}, (2, 4, 4)),
        ([h.make_node("Relu", ["x"], ["r"]), h.make_node("Concat", ["x", "r"], ["y"], axis=1)], {}, (2, 3, 3)),
        ([h.make_node("Flatten", ["x"], ["y"], axis=1)], {}, (2, 3, 2)),
        ([h.make_node("Reshape", ["x", "s"], ["y"])], {"s": np.array([-1, 3, 4], dtype=np.int64)}, (2, 6)),
        ([h.make_node("Reshape", ["x", "s"], ["y"])], {"s": np.array([0, -1], dtype=np.int64)}, (2, 2, 3)),
        ([h.make_node("Mul", ["x", "c"], ["m"]), h.make_node("Sub", ["m", "d"], ["y"])],
         {"c": r.normal(size=(1, 2, 1, 1)), "d": np.array(0.5)}, (2, 2, 2)),
        ([h.make_node("Max", ["x", "x2"], ["y"]), h.make_node("Neg", ["x"], ["x2"])], None, (2, 3)),
    ]
    for nodes, inits, shape in cases:
        if inits is None:  # nodes out of order on purpose: fix the order
            nodes = nodes[::-1]
            inits = {}
        _check_onnx(onnx, _onnx_model(onnx, nodes, inits, shape), shape)


def test_onnx_exported_from_torch(torch, onnx, tmp_path):
    nn = torch.nn
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(12, 4)).double().eval()
    path = tmp_path / "m.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            torch.onnx.export(model, (torch.zeros(1, 1, 4, 4),), str(path), dynamo=False,
                              input_names=["x"], dynamic_axes={"x": {0: "N"}})
        except Exception as err:  # pragma: no cover - exporter not usable here
            pytest.skip(f"torch.onnx.export unavailable: {err}")
    net = polyfold.from_onnx(path)
    X = np.random.default_rng(0).normal(size=(3, 1, 4, 4))
    with torch.no_grad():
        ref = model(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(net.forward(X), ref, rtol=0, atol=1e-12)


def test_onnx_errors(onnx, tmp_path):
    h = onnx.helper
    m = _onnx_model(onnx, [h.make_node("Sigmoid", ["x"], ["y"])], {}, (3,))
    with pytest.raises(UnsupportedLayerError, match="Sigmoid is not piecewise linear"):
        polyfold.from_onnx(m)
    m = _onnx_model(onnx, [h.make_node("Mul", ["x", "x"], ["y"])], {}, (3,))
    with pytest.raises(UnsupportedLayerError, match="product of two data tensors"):
        polyfold.from_onnx(m)
    with pytest.raises(ValidationError, match="does not exist"):
        polyfold.from_onnx(tmp_path / "missing.onnx")
    with pytest.raises(ValidationError, match="expects a path"):
        polyfold.from_onnx(42)
    # unknown per-sample shape
    TP = onnx.TensorProto
    g = h.make_graph([h.make_node("Relu", ["x"], ["y"])], "g",
                     [h.make_tensor_value_info("x", TP.DOUBLE, ["N", "C"])],
                     [h.make_tensor_value_info("y", TP.DOUBLE, [None])])
    with pytest.raises(ValidationError, match="input_shape"):
        polyfold.from_onnx(h.make_model(g))
    assert polyfold.from_onnx(h.make_model(g), input_shape=(3,)).input_shape == (3,)


# ---------------------------------------------------------------------------
# errors of the torch import and of points
# ---------------------------------------------------------------------------
def test_torch_unsupported_nodes_are_named(torch):
    nn = torch.nn

    class Square(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)

        def forward(self, x):
            y = self.lin(x)
            return y * y

    class Index(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)

        def forward(self, x):
            return self.lin(x)[:, :2]

    class BatchView(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(1, 1, 2)

        def forward(self, x):
            return self.c(x).view(-1)

    class Sig(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)

        def forward(self, x):
            return torch.sigmoid(self.lin(x))

    cases = [
        (Square(), None, "product of two tensors"),
        (Index(), None, "indexing a tensor"),
        (BatchView(), (1, 3, 3), "batch dimension"),
        (Sig(), None, "sigmoid is not piecewise linear"),
        (nn.Sequential(nn.Linear(3, 3), nn.Tanh()), None, "Tanh is not piecewise linear"),
        (nn.Sequential(nn.Conv2d(1, 1, 2), nn.GELU()), (1, 3, 3), "GELU is not piecewise linear"),
    ]
    for model, shape, msg in cases:
        with pytest.raises(UnsupportedLayerError, match=msg) as err:
            polyfold.from_torch(model, input_shape=shape)
        assert "fx node" in str(err.value)


def test_torch_control_flow_message(torch):
    nn = torch.nn

    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)

        def forward(self, x):
            if x.sum() > 0:
                return self.lin(x)
            return -self.lin(x)

    with pytest.raises(UnsupportedLayerError, match="control flow.*from_onnx"):
        polyfold.from_torch(Branchy())


def test_points_of_the_wrong_shape_are_refused(torch):
    b = GraphBuilder((2, 3, 3))
    net = b.build(b.dense(b.flatten(b.relu(b.input)), np.ones((1, 18))))
    with pytest.raises(ShapeError, match=r"input_shape=\(2, 3, 3\)"):
        net.forward(np.zeros((4, 3, 2, 3)))
    with pytest.raises(ShapeError, match="input_shape"):
        polyfold.segment_crossings(net, np.zeros((2, 17)), np.zeros((2, 17)))
    with pytest.raises(ShapeError):
        polyfold.segment_crossings(net, np.zeros((2, 2, 3, 3)), np.zeros((3, 2, 3, 3)))
    # shaped and flat points give the same answer
    rng = np.random.default_rng(0)
    S, E = rng.normal(size=(3, 2, 3, 3)), rng.normal(size=(3, 2, 3, 3))
    a = polyfold.segment_crossings(net, S, E, mode="exact")
    b2 = polyfold.segment_crossings(net, S.reshape(3, -1), E.reshape(3, -1), mode="exact")
    assert a.t_exact == b2.t_exact


def test_builder_errors():
    b = GraphBuilder((2, 4, 4))
    with pytest.raises(ShapeError, match="Conv weight"):
        b.conv(b.input, np.ones((3, 3, 2, 2)))
    with pytest.raises(ShapeError, match="leaves no output"):
        b.conv(b.input, np.ones((1, 2, 5, 5)))
    with pytest.raises(ValidationError, match="used twice"):
        b.relu(b.input, name="input")
    with pytest.raises(ShapeError, match="one size"):
        b.add(b.input, b.flatten(b.max_pool(b.input, 2)))
    with pytest.raises(UnsupportedLayerError, match="Identity"):
        b.activation(b.input, "identity")
    with pytest.raises(ShapeError, match="positive"):
        GraphBuilder((0, 3))


def test_stage_steps_with_fixed_codes():
    # with each point's own codes the fixed-code step is the plain step; the linear
    # chain gives the Jacobian of the region's affine map (torch-free: compare with
    # finite differences inside the region)
    rng = np.random.default_rng(0)
    g = GraphBuilder((1, 4, 4))
    h = g.max_pool(g.relu(g.conv(g.input, rng.normal(size=(2, 1, 3, 3)), rng.normal(size=2), padding=1)), 2)
    y = g.dense(g.flatten(g.leaky_relu(g.add(g.conv(h, rng.normal(size=(2, 2, 1, 1))), h), 0.1)), rng.normal(size=(3, 8)))
    net = g.build(y)
    st = net.stages()
    X = rng.normal(size=(4, 16))
    codes = net.codes(X)
    off = net.layer_offsets
    S, L = st.start(X), st.start_linear(np.eye(16).repeat(4, axis=0)[: 4 * 16].reshape(4, 16, 16)[:, 0])
    D = rng.normal(size=(4, 16))
    L = st.start_linear(D)
    Lq = st.start_linear(arith.fmpq_array(D), exact=True)
    for k in range(st.n_groups):
        c = codes[:, off[k] : off[k + 1]]
        np.testing.assert_array_equal(st.advance_fixed(k, S, c), st.advance(k, S))
        S2, E2 = st.advance_fixed(k, S, c, E=np.zeros_like(S), safety=8.0)
        np.testing.assert_array_equal(S2, st.advance(k, S))
        assert np.all(E2 >= 0)
        L = st.advance_fixed(k, L, c, linear=True)
        Lq = st.advance_fixed(k, Lq, c, linear=True, exact=True)
        S = st.advance(k, S)
    V, _ = net.affine_map(X)
    np.testing.assert_allclose(L, np.einsum("nkd,nd->nk", V, D), rtol=0, atol=1e-12)
    np.testing.assert_allclose(arith.to_float_array(Lq), L, rtol=0, atol=1e-12)


# ---- conversions found wrong or unclear by fuzzing against onnxruntime and torch
def test_onnx_batch_norm_is_not_folded_into_a_layer_read_elsewhere(onnx):
    # Gemm -> Dropout (a pass-through) -> BatchNormalization, and Add(bn, gemm): the
    # Gemm's output is read twice, so folding the batch norm into it would change the
    # second reading; reference in numpy: g = x W^T + b, y = bn(g) + g
    h = onnx.helper
    r = np.random.default_rng(1)
    W, b = r.normal(size=(3, 4)), r.normal(size=3)
    sc, B, mean, var = r.normal(size=3), r.normal(size=3), r.normal(size=3), r.random(3) + 0.5
    nodes = [h.make_node("Gemm", ["x", "W", "b"], ["g"], transB=1), h.make_node("Dropout", ["g"], ["d"]),
             h.make_node("BatchNormalization", ["d", "sc", "B", "mean", "var"], ["n"], epsilon=1e-5),
             h.make_node("Add", ["n", "g"], ["y"])]
    model = _onnx_model(onnx, nodes, {"W": W, "b": b, "sc": sc, "B": B, "mean": mean, "var": var}, (4,))
    net = polyfold.from_onnx(model)
    X = r.normal(size=(5, 4))
    g = X @ W.T + b
    want = (g - mean) / np.sqrt(var + 1e-5) * sc + B + g
    np.testing.assert_allclose(net.forward(X), want, rtol=1e-12, atol=1e-12)


def test_onnx_unsqueeze_of_a_constant_follows_its_axes(onnx):
    # a per-channel constant (3,) unsqueezed at axis 1 to (3, 1) and added to data of
    # per-sample shape (3, 4) broadcasts along the last axis
    h = onnx.helper
    c = np.array([1.0, 2.0, 3.0])
    nodes = [h.make_node("Unsqueeze", ["c", "ax"], ["cu"]), h.make_node("Add", ["x", "cu"], ["a"]),
             h.make_node("Flatten", ["a"], ["y"], axis=1)]
    model = _onnx_model(onnx, nodes, {"c": c, "ax": np.array([1], np.int64)}, (3, 4))
    X = np.random.default_rng(2).normal(size=(2, 3, 4))
    np.testing.assert_allclose(polyfold.from_onnx(model).forward(X), (X + c[:, None]).reshape(2, -1))


def test_onnx_broadcasting_adds_and_batch_merging_flattens_are_rejected(onnx):
    h = onnx.helper
    bad = [
        ([h.make_node("Reshape", ["x", "s1"], ["a"]), h.make_node("Reshape", ["x", "s2"], ["b"]),
          h.make_node("Add", ["a", "b"], ["y"])],
         {"s1": np.array([0, 4, 1], np.int64), "s2": np.array([0, 1, 4], np.int64)}, (4,), "broadcasting"),
        ([h.make_node("Flatten", ["x"], ["y"], axis=2)], {}, (2, 3), "merges the batch"),
    ]
    for nodes, inits, shape, why in bad:
        with pytest.raises(polyfold.UnsupportedLayerError, match=why):
            polyfold.from_onnx(_onnx_model(onnx, nodes, inits, shape))


def test_linear_on_the_last_axis_refuses_a_huge_block_matrix(torch, monkeypatch):
    from polyfold.graph import fx

    monkeypatch.setattr(fx, "_MAX_BLOCK_LINEAR", 100)  # kron(I_2, W) of a 4x3 W has 48 entries; I_4: 192
    nn = torch.nn
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(12, 2))
    with pytest.raises(polyfold.UnsupportedLayerError, match="block-diagonal form has 192 entries.*flatten the input"):
        polyfold.from_torch(model, input_shape=(4, 4))
    polyfold.from_torch(nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(6, 2)), input_shape=(2, 4))


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")
def test_torchscript_modules_and_max_indices_get_clear_errors(torch):
    nn = torch.nn
    m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    for jit in (torch.jit.script(m), torch.jit.trace(m, torch.zeros(1, 3))):
        with pytest.raises(polyfold.ValidationError, match="TorchScript.*original nn.Module"):
            polyfold.from_torch(jit)

    class Idx(nn.Module):
        def forward(self, x):
            return torch.max(x.view(x.size(0), 2, 3), 2).indices.double()

    with pytest.raises(polyfold.UnsupportedLayerError, match="indices of torch.max"):
        polyfold.from_torch(Idx(), input_shape=(6,))


def test_onnx_dropout_in_training_mode_is_rejected(onnx):
    # training_mode true drops units at random (the spec); false, or absent, is the identity
    h = onnx.helper
    for flag, ok in ((np.array(True), False), (np.array(False), True), (None, True)):
        inputs = ["x", "r", "m"] if flag is not None else ["x"]
        inits = {"r": np.array(0.5)} if flag is not None else {}
        if flag is not None:
            inits["m"] = flag
        nodes = [h.make_node("Dropout", inputs, ["d"]), h.make_node("Flatten", ["d"], ["y"], axis=1)]
        model = _onnx_model(onnx, nodes, inits, (3,))
        if ok:
            X = np.random.default_rng(0).normal(size=(2, 3))
            np.testing.assert_array_equal(polyfold.from_onnx(model).forward(X), X)
        else:
            with pytest.raises(polyfold.UnsupportedLayerError, match="training_mode"):
                polyfold.from_onnx(model)


def test_torch_models_writing_into_their_input_are_rejected_not_wrong(torch):
    nn = torch.nn

    class M(nn.Module):
        def forward(self, x):
            return torch.nn.functional.relu(x, inplace=True) + x  # torch: 2 relu(x)

    with pytest.raises(polyfold.UnsupportedLayerError, match="in place.*read again"):
        polyfold.from_torch(M().double().eval(), input_shape=(4,))


def test_torch_sequential_subclass_with_its_own_forward(torch):
    nn = torch.nn

    class Scaled(nn.Sequential):
        def forward(self, x):
            return 3 * super().forward(x) + 1

    torch.manual_seed(0)
    m = Scaled(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).double().eval()
    net = polyfold.from_torch(m, input_shape=(4,))
    X = np.random.default_rng(3).normal(size=(6, 4))
    with torch.no_grad():
        want = m(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(net.forward(X), want, rtol=1e-12, atol=1e-12)


def test_torch_batch_norm_after_a_pass_through_of_a_reused_conv(torch):
    nn = torch.nn

    class M(nn.Module):
        def __init__(self):
            super().__init__()
            self.c = nn.Conv2d(2, 2, 3, padding=1)
            self.bn = nn.BatchNorm2d(2)
            with torch.no_grad():
                self.bn.running_mean.copy_(torch.tensor([0.5, -1.0]))
                self.bn.running_var.copy_(torch.tensor([2.0, 0.5]))

        def forward(self, x):
            y = self.c(x)
            return torch.nn.functional.relu(self.bn(y.contiguous())) + y  # y read twice

    torch.manual_seed(0)
    m = M().double().eval()
    net = polyfold.from_torch(m, input_shape=(2, 4, 4))  # (the conversion checks itself)
    X = np.random.default_rng(4).normal(size=(3, 2, 4, 4))
    with torch.no_grad():
        want = m(torch.from_numpy(X)).reshape(3, -1).numpy()
    np.testing.assert_allclose(net.forward(X.reshape(3, -1)), want, rtol=1e-10, atol=1e-10)


def test_converters_check_input_shape(torch, onnx):
    nn = torch.nn
    m = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).double().eval()
    model = _onnx_model(onnx, [onnx.helper.make_node("Relu", ["x"], ["y"])], {}, (4,))
    for bad in ("abc", (1, 4.5, 4), ((2, 2),), (0, 4), ()):
        with pytest.raises(polyfold.ValidationError, match="input_shape"):
            polyfold.from_torch(m, input_shape=bad)
        with pytest.raises(polyfold.ValidationError, match="input_shape"):
            polyfold.from_onnx(model, input_shape=bad)
    with pytest.raises(polyfold.ValidationError, match="not an ONNX model"):
        polyfold.from_onnx(b"garbage bytes")


def test_onnx_gemm_bias_of_shape_1_m_and_invalid_attributes(onnx):
    h = onnx.helper
    r = np.random.default_rng(5)
    W, C = r.normal(size=(3, 4)), r.normal(size=(1, 3))
    net = polyfold.from_onnx(_onnx_model(onnx, [h.make_node("Gemm", ["x", "W", "C"], ["y"], transB=1)],
                                         {"W": W, "C": C}, (4,)))
    X = r.normal(size=(2, 4))
    np.testing.assert_allclose(net.forward(X), X @ W.T + C, rtol=1e-12, atol=1e-12)
    no_kernel = _onnx_model(onnx, [h.make_node("MaxPool", ["x"], ["y"])], {}, (1, 4, 4))
    with pytest.raises(polyfold.UnsupportedLayerError, match="'kernel_shape' is missing"):
        polyfold.from_onnx(no_kernel)


def test_torch_dense_sequentials_the_dense_path_cannot_take_go_to_the_tracer(torch):
    nn = torch.nn
    torch.manual_seed(1)
    X = np.random.default_rng(6).normal(size=(5, 4))
    for m in (nn.Sequential(nn.Linear(4, 3), nn.Hardtanh(0.0, float("inf")), nn.Linear(3, 2)),
              nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.ReLU(), nn.Linear(3, 2))):
        m = m.double().eval()
        net = polyfold.from_torch(m, input_shape=(4,))
        with torch.no_grad():
            np.testing.assert_allclose(net.forward(X), m(torch.from_numpy(X)).numpy(), rtol=1e-12, atol=1e-12)
    batch = nn.Sequential(nn.Flatten(0), nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)).double().eval()
    with pytest.raises(polyfold.UnsupportedLayerError, match="batch"):
        polyfold.from_torch(batch, input_shape=(4,))


def test_onnx_pad_with_axes_pads_only_those_axes(onnx):
    # opset 18: pads [0, 1, 0, 1] for axes [2, 3] pad only the last axis by 1 on both
    # sides (reference: numpy.pad)
    h = onnx.helper
    TP = onnx.TensorProto
    g = h.make_graph([h.make_node("Pad", ["x", "pads", "", "axes"], ["y"])], "g",
                     [h.make_tensor_value_info("x", TP.DOUBLE, [None, 2, 3, 3])],
                     [h.make_tensor_value_info("y", TP.DOUBLE, None)],
                     initializer=[onnx.numpy_helper.from_array(np.array([0, 1, 0, 1], np.int64), "pads"),
                                  onnx.numpy_helper.from_array(np.array([2, 3], np.int64), "axes")])
    model = h.make_model(g, opset_imports=[h.make_opsetid("", 18)])
    X = np.random.default_rng(7).normal(size=(2, 2, 3, 3))
    want = np.pad(X, ((0, 0), (0, 0), (0, 0), (1, 1))).reshape(2, -1)
    np.testing.assert_array_equal(polyfold.from_onnx(model).forward(X.reshape(2, -1)), want)


def test_a_max_unit_without_candidates_is_named():
    from polyfold.graph.units import MaxUnits

    with pytest.raises(polyfold.ShapeError, match="unit 1 of .* has none .*padding"):
        MaxUnits((4,), (2,), [[0, 1], [-1, -1]])
