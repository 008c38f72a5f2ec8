"""Converters reproduce torch and scikit-learn outputs; unsupported layers fail clearly."""

import warnings

import numpy as np
import pytest

import polyfold
from polyfold.exceptions import PolyfoldError, UnsupportedLayerError, ValidationError


def _fit_sklearn(cls, activation, **kw):
    from sklearn.exceptions import ConvergenceWarning

    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 4))
    y = (X[:, 0] + X[:, 1] ** 2 > 0.5).astype(int) if cls.__name__ == "MLPClassifier" else X @ [1.0, -2.0, 0.5, 0.0]
    model = cls(hidden_layer_sizes=(7, 5), activation=activation, max_iter=50, random_state=0, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, y)
    return model, X


def test_sklearn_classifier_logits_and_predictions():
    from sklearn.neural_network import MLPClassifier

    model, X = _fit_sklearn(MLPClassifier, "relu")
    net = polyfold.from_sklearn(model)
    # binary problem: one logit; sklearn's probability is its logistic
    p = model.predict_proba(X)[:, 1]
    assert np.allclose(1 / (1 + np.exp(-net.forward(X)[:, 0])), p)
    assert np.array_equal(net.predict(X), model.predict(X))


def test_sklearn_multiclass_and_regressor(digits):
    from sklearn.neural_network import MLPRegressor

    net, info = polyfold.zoo.digits_mlp("2x30", return_info=True)
    Xtr, ytr, Xte, yte = digits
    assert info["test_accuracy"] == pytest.approx(np.mean(net.predict(Xte) == yte))
    model, X = _fit_sklearn(MLPRegressor, "identity")
    net = polyfold.from_sklearn(model)
    assert np.allclose(net.forward(X)[:, 0], model.predict(X))


def test_sklearn_rejects_smooth_activations():
    from sklearn.neural_network import MLPClassifier

    model, _ = _fit_sklearn(MLPClassifier, "tanh")
    with pytest.raises(UnsupportedLayerError, match="activation='relu'"):
        polyfold.from_sklearn(model)
    with pytest.raises(ValidationError, match="not fitted"):
        polyfold.from_sklearn(MLPClassifier())
    with pytest.raises(ValidationError, match="MLPClassifier or MLPRegressor"):
        polyfold.from_sklearn(object())


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def test_torch_sequential_with_batchnorm_dropout(torch):
    nn = torch.nn
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Flatten(),
        nn.Linear(6, 8),
        nn.BatchNorm1d(8),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(8, 7),
        nn.LeakyReLU(0.2),
        nn.Sequential(nn.Linear(7, 5), nn.Hardtanh(-0.5, 1.5)),
        nn.Identity(),
        nn.Linear(5, 3),
    ).double()
    # give batch norm non-trivial running statistics
    model.train()
    with torch.no_grad():
        for _ in range(5):
            model(torch.randn(32, 2, 3, dtype=torch.float64) * 2 + 1)
    model.eval()
    net = polyfold.from_torch(model)
    assert net.widths == (8, 7, 5)
    X = np.random.default_rng(0).normal(size=(50, 6))
    with torch.no_grad():
        ref = model(torch.from_numpy(X.reshape(50, 2, 3))).numpy()
    assert np.allclose(net.forward(X), ref, atol=1e-10)


def test_torch_bias_sign_and_single_linear(torch):
    lin = torch.nn.Linear(3, 2)
    net = polyfold.from_torch(lin)
    assert np.allclose(net.layers[0][1], lin.bias.detach().numpy())
    assert np.allclose(net.layers[0][0], lin.weight.detach().numpy())


def test_torch_unsupported_modules(torch):
    nn = torch.nn
    with pytest.raises(UnsupportedLayerError, match="Sigmoid is not piecewise linear"):
        polyfold.from_torch(nn.Sequential(nn.Linear(2, 2), nn.Sigmoid(), nn.Linear(2, 1)))
    # the first operator is not a Linear layer: the input shape must be given
    for model in (nn.ReLU(), nn.Sequential(nn.ReLU(), nn.Linear(2, 1)), nn.Sequential(nn.Conv1d(1, 1, 2))):
        with pytest.raises(ValidationError, match="input_shape is required"):
            polyfold.from_torch(model)


def test_torch_models_ending_in_units_or_starting_with_them(torch):
    # any fx-traceable module converts; a final ReLU makes the outputs the ReLU values
    nn = torch.nn
    torch.manual_seed(0)
    cases = [
        (nn.Sequential(nn.Linear(2, 2), nn.ReLU()), None),
        (nn.Sequential(nn.ReLU(), nn.Linear(2, 1)), (2,)),
        (nn.Sequential(nn.Conv1d(1, 1, 2)), (1, 5)),
    ]
    X = np.random.default_rng(0).normal(size=(6, 2))
    for model, shape in cases:
        net = polyfold.from_torch(model, input_shape=shape)
        Xi = X if shape in (None, (2,)) else np.random.default_rng(1).normal(size=(6, 5))
        ref = model.double()(torch.from_numpy(Xi.reshape((6,) + (shape or (2,))))).detach().numpy()
        np.testing.assert_allclose(net.forward(Xi), ref.reshape(6, -1), rtol=0, atol=1e-12)


def test_save_rejects_non_net(tmp_path):
    with pytest.raises(ValidationError, match="PLNet"):
        polyfold.save("not a net", tmp_path / "x.npz")
