"""polyfold.load_model (every model spec), polyfold.load (.npz only) and their errors."""

import gc
import pickle
import warnings

import numpy as np
import pytest

import polyfold
from polyfold import load_model
from polyfold.exceptions import UnsupportedLayerError, ValidationError


@pytest.fixture
def small_net():
    # y = relu(x0 - x1) + relu(x1) - 1, by hand
    return polyfold.PLNet.from_arrays([
        (np.array([[1.0, -1.0], [0.0, 1.0]]), np.array([0.0, 0.0])),
        (np.array([[1.0, 1.0]]), np.array([-1.0])),
    ])


POINTS = np.array([[2.0, 1.0], [0.5, -3.0], [-1.0, 4.0]])
# relu(x0 - x1) + relu(x1) - 1 at the three points
EXPECTED = np.array([[1.0 + 1.0 - 1.0], [3.5 + 0.0 - 1.0], [0.0 + 4.0 - 1.0]])


def test_load_model_npz(tmp_path, small_net):
    p = tmp_path / "net.npz"
    small_net.save(p)
    net = load_model(p)
    assert net == small_net
    assert np.array_equal(net.forward(POINTS), EXPECTED)
    assert load_model(str(p), input_shape=(2,)) == small_net
    assert load_model(str(p), input_shape="2") == small_net
    with pytest.raises(ValidationError, match=r"input_shape=\(3,\) has 3 entries .* takes 2"):
        load_model(p, input_shape=(3,))
    with pytest.raises(ValidationError, match="input_shape must be positive integers"):
        load_model(p, input_shape=(0, 2))


def test_load_model_zoo():
    net = load_model("zoo:sawtooth:3")
    # 2**3 pieces on [0, 1] (closed form of the tent map)
    assert polyfold.segment_crossings(net, [0.0], [1.0], mode="exact").n_pieces.tolist() == [8]
    assert load_model("zoo:arrangement:5:2").widths == (5,)
    with pytest.raises(ValidationError, match="not a known zoo network"):
        load_model("zoo:nosuch:1")
    with pytest.raises(ValidationError, match="must be integers"):
        load_model("zoo:sawtooth:x")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_load_model_sklearn_pickle(tmp_path):
    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.random((60, 3))
    y = (X[:, 0] > X[:, 1]).astype(int) + (X[:, 2] > 0.5)
    clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=30, random_state=0).fit(X, y)
    p = tmp_path / "clf.pkl"
    p.write_bytes(pickle.dumps(clf))
    net = load_model(p)
    assert np.array_equal(net.predict(X), clf.predict(X))


def test_load_model_pickled_plnet_and_junk(tmp_path, small_net):
    p = tmp_path / "net.pkl"
    p.write_bytes(pickle.dumps(small_net))
    assert load_model(p) == small_net
    p = tmp_path / "d.pkl"
    p.write_bytes(pickle.dumps({"W": 1}))
    with pytest.raises(ValidationError, match="state_dict"):
        load_model(p)
    with pytest.raises(ValidationError, match="does not exist"):
        load_model(tmp_path / "missing.npz")
    (tmp_path / "m.h5").write_bytes(b"x")
    with pytest.raises(ValidationError, match="unsupported suffix"):
        load_model(tmp_path / "m.h5")


def test_load_model_torch(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
    p = tmp_path / "m.pt"
    torch.save(model, p)
    net = load_model(p)
    with torch.no_grad():
        ref = model(torch.tensor(POINTS, dtype=torch.float64).float()).double().numpy()
    assert np.allclose(net.forward(POINTS), ref, atol=1e-5)
    assert load_model(p, input_shape=(2,)).input_dim == 2


def test_load_model_passes_input_shape_to_the_converters(tmp_path, monkeypatch, small_net):
    torch = pytest.importorskip("torch")
    seen = {}

    def fake_from_torch(model, input_shape=None):
        seen["torch"] = (type(model).__name__, input_shape)
        return small_net

    def fake_from_onnx(path_or_model, input_shape=None):
        seen["onnx"] = (str(path_or_model), input_shape)
        return small_net

    converters = {"from_torch": fake_from_torch, "from_onnx": fake_from_onnx}
    monkeypatch.setattr("polyfold.io._converter", converters.get)
    model = torch.nn.Sequential(torch.nn.Linear(4, 2))
    torch.save(model, tmp_path / "m.pt")
    load_model(tmp_path / "m.pt", input_shape="1,2,2")
    assert seen["torch"] == ("Sequential", (1, 2, 2))
    (tmp_path / "m.onnx").write_bytes(b"onnx")
    load_model(tmp_path / "m.onnx", input_shape=[1, 2, 2])
    assert seen["onnx"] == (str(tmp_path / "m.onnx"), (1, 2, 2))


def test_onnx_without_onnx_import(tmp_path, monkeypatch):
    monkeypatch.setattr("polyfold.io._converter", lambda name: None)
    (tmp_path / "m.onnx").write_bytes(b"onnx")
    with pytest.raises(UnsupportedLayerError, match="ONNX import is not available"):
        load_model(tmp_path / "m.onnx")


def test_load_of_a_pickle_points_to_load_model(tmp_path, small_net):
    p = tmp_path / "clf.pkl"
    p.write_bytes(pickle.dumps(small_net))
    with pytest.raises(ValidationError) as info:
        polyfold.load(p)
    msg = str(info.value)
    assert "polyfold.load_model" in msg and "allow_pickle" not in msg


@pytest.mark.parametrize("content", [b"PK\x03\x04garbage", b"PK\x05\x06" + b"\0" * 5,
                                     b"not a zip", b"\x80\x04junk", b""])
def test_corrupt_npz_closes_the_file(tmp_path, content):
    p = tmp_path / "corrupt.npz"
    p.write_bytes(content)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        with pytest.raises(ValidationError, match="corrupt.npz"):
            polyfold.load(p)
        with pytest.raises(ValidationError):
            polyfold.datasets.load_points(p)
        gc.collect()  # an unclosed file would warn (an error here) when collected


def test_npy_and_object_arrays_are_refused(tmp_path):
    p = tmp_path / "a.npz"
    np.savez(p, W0=np.array([object()], dtype=object))
    with pytest.raises(ValidationError, match="object arrays"):
        polyfold.load(p)
    q = tmp_path / "a.npy"
    np.save(q, np.zeros(3))
    with pytest.raises(ValidationError, match="single .npy array"):
        polyfold.PLNet.load(q)


def test_load_model_onnx_file(tmp_path, small_net):
    onnx = pytest.importorskip("onnx")
    h, TP = onnx.helper, onnx.TensorProto
    (W1, b1), (W2, b2) = small_net.layers
    inits = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
    nodes = [h.make_node("Gemm", ["x", "W1", "b1"], ["z"], transB=1),
             h.make_node("Relu", ["z"], ["a"]),
             h.make_node("Gemm", ["a", "W2", "b2"], ["y"], transB=1)]
    graph = h.make_graph(
        nodes, "g", [h.make_tensor_value_info("x", TP.DOUBLE, [None, 2])],
        [h.make_tensor_value_info("y", TP.DOUBLE, [None, 1])],
        initializer=[onnx.numpy_helper.from_array(np.asarray(v), name=k) for k, v in inits.items()])
    p = tmp_path / "m.onnx"
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]), str(p))
    net = load_model(p)
    assert np.allclose(net.forward(POINTS), EXPECTED, rtol=0, atol=1e-12)  # by hand above
    assert np.allclose(load_model(p, input_shape=(2,)).forward(POINTS), EXPECTED, atol=1e-12)


def test_load_model_zoo_graph_nets():
    net = load_model("zoo:digits-cnn")
    assert net.input_shape == (1, 8, 8) and not net.is_dense
    assert load_model("zoo:digits-cnn", input_shape=(1, 8, 8)) is not None
    with pytest.raises(ValidationError, match="input_shape"):
        load_model("zoo:digits-cnn", input_shape=(2, 8, 8))  # 128 entries, 64 inputs
    assert load_model("zoo:vgg:1").input_shape == (3, 32, 32)


def test_input_shape_must_match_a_shaped_net():
    net = load_model("zoo:digits-cnn")
    with pytest.raises(ValidationError, match=r"differs from the shape \(1, 8, 8\)"):
        load_model("zoo:digits-cnn", input_shape=(8, 8, 1))
    assert load_model("zoo:digits-cnn", input_shape="1,8,8").input_shape == net.input_shape
