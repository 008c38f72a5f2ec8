"""Tests of polyfold.regularization (the soft folding penalty, training, validation).

Expected values: central finite differences for the gradient; a one-hidden-layer
net, where every unit is monotone along a straight path (so the exact chi and the
soft chi are both 0 by the definitions); the limit tau -> 0, where the soft
patterns are the bits and the soft chi is the grid-sampled chi of
polyfold.folding.sampled_folding on the same grid; a numpy re-derivation of the
soft measure.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from polyfold import zoo  # noqa: E402
from polyfold.exceptions import UnsupportedLayerError, ValidationError  # noqa: E402
from polyfold.folding import sampled_folding, space_folding_batch  # noqa: E402
from polyfold.regularization import (  # noqa: E402
    ROW_KEYS,
    FoldingPenalty,
    digits_cnn,
    parse_cnn,
    regularization_row,
    surrogate_validation,
    to_polyfold,
    torch_mlp,
    train_with_folding,
)


def numpy_soft_chi(net, S, E, n, tau, delta):
    """The surrogate's definition written out with numpy on a PLNet."""
    out = []
    t = np.linspace(0, 1, n)
    for s, e in zip(S, E):
        P = (1 - t)[:, None] * s + t[:, None] * e
        zs = net.preactivations(P)[:-1]
        p = 1 / (1 + np.exp(-np.concatenate(zs, axis=1) / tau))
        r1 = np.abs(p - p[0]).sum(1).max()
        r2 = np.abs(np.diff(p, axis=0)).sum()
        out.append((r2 - r1) / (r2 + delta))
    return np.array(out)


def test_soft_chi_matches_its_definition():
    model = torch_mlp("3x6", input_dim=2, n_classes=3, seed=1).double()
    net = to_polyfold(model)
    rng = np.random.default_rng(0)
    S, E = rng.normal(size=(5, 2)) * 2, rng.normal(size=(5, 2)) * 2
    pen = FoldingPenalty(model, n_points=12, tau=0.2, delta=1e-6)
    with torch.no_grad():
        got = pen.chi(torch.as_tensor(S), torch.as_tensor(E)).numpy()
    np.testing.assert_allclose(got, numpy_soft_chi(net, S, E, 12, 0.2, 1e-6), rtol=1e-10, atol=1e-12)
    assert float(pen(torch.as_tensor(S), torch.as_tensor(E)).detach()) == pytest.approx(-got.mean())
    assert list(pen.parameters()) == []  # the model is not a submodule


def test_one_hidden_layer_paths_are_flat_soft_and_exact():
    # one hidden layer: z is affine along a straight path, so every soft bit is monotone,
    # total variation = net change, r1 = r2 and chi_soft = 0 (exact chi: every bit flips
    # at most once, so the walk never turns back)
    model = torch_mlp((7,), input_dim=3, n_classes=2, seed=0).double()
    rng = np.random.default_rng(1)
    S, E = torch.as_tensor(rng.normal(size=(8, 3))), torch.as_tensor(rng.normal(size=(8, 3)))
    with torch.no_grad():
        chi = FoldingPenalty(model, n_points=20, tau=0.3).chi(S, E)
    assert float(chi.abs().max()) < 1e-12
    exact = space_folding_batch(to_polyfold(model), S.numpy(), E.numpy(), mode="exact")
    assert all(c == 0 for c in exact.chi_exact())


def test_small_tau_gives_the_grid_sampled_chi():
    model = torch_mlp("4x8", input_dim=2, n_classes=2, seed=3).double()
    net = to_polyfold(model)
    rng = np.random.default_rng(2)
    S, E = rng.normal(size=(20, 2)) * 3, rng.normal(size=(20, 2)) * 3
    grid = sampled_folding(net, S, E, n_points=33)
    with torch.no_grad():
        soft = FoldingPenalty(model, n_points=33, tau=1e-7, delta=1e-12).chi(
            torch.as_tensor(S), torch.as_tensor(E)).numpy()
    # away from grid points within ~tau of a boundary the two agree
    np.testing.assert_allclose(soft, grid.chi, atol=1e-6)
    assert grid.chi.max() > 0  # the test has folded paths


@pytest.mark.parametrize("which", ["mlp", "cnn"])
def test_penalty_gradient_matches_finite_differences(which):
    if which == "mlp":
        model = torch_mlp("3x5", input_dim=2, n_classes=3, seed=4).double()
        rng = np.random.default_rng(3)
        S, E = rng.normal(size=(6, 2)), rng.normal(size=(6, 2))
    else:
        model = digits_cnn(2, channels=3, seed=0).double()
        model.eval()
        rng = np.random.default_rng(3)
        S, E = rng.uniform(0, 1, (3, 1, 8, 8)), rng.uniform(0, 1, (3, 1, 8, 8))
    S, E = torch.as_tensor(S), torch.as_tensor(E)
    pen = FoldingPenalty(model, n_points=9, tau=0.5)
    loss = pen(S, E)
    params = [p for p in model.parameters() if p.requires_grad]
    # the output layer does not feed any hidden unit: its gradient is None (zero)
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    h = 1e-6
    checked = 0
    gen = np.random.default_rng(5)
    for p, g in zip(params, grads):
        flat = p.data.view(-1)
        for k in gen.choice(flat.numel(), size=min(4, flat.numel()), replace=False):
            old = float(flat[k])
            with torch.no_grad():
                flat[k] = old + h
                up = float(pen(S, E))
                flat[k] = old - h
                down = float(pen(S, E))
                flat[k] = old
            fd = (up - down) / (2 * h)
            got = 0.0 if g is None else float(g.view(-1)[k])
            assert got == pytest.approx(fd, rel=1e-4, abs=1e-7)
            checked += 1
    assert checked >= 8


def test_penalty_errors():
    with pytest.raises(UnsupportedLayerError, match="nn.ReLU"):
        FoldingPenalty(torch.nn.Linear(2, 2))
    with pytest.raises(ValidationError, match="torch.nn.Module"):
        FoldingPenalty("model")
    model = torch_mlp("2x4", input_dim=2, n_classes=2)
    with pytest.raises(ValidationError, match="n_points must be an integer >= 2"):
        FoldingPenalty(model, n_points=1)
    with pytest.raises(ValidationError, match="tau must be a finite number > 0"):
        FoldingPenalty(model, tau=0.0)
    with pytest.raises(ValidationError, match="same shape"):
        FoldingPenalty(model).chi(torch.zeros(2, 2), torch.zeros(3, 2))
    with pytest.raises(ValidationError, match="lam must be a finite number >= 0"):
        train_with_folding(model, np.zeros((4, 2)), np.zeros(4, int), lam=-1.0)
    with pytest.raises(ValidationError, match="one label per sample"):
        train_with_folding(model, np.zeros((4, 2)), np.zeros(3, int))


def test_penalty_restores_the_training_mode_of_batch_norm():
    model = digits_cnn(1, channels=2)
    model.train()
    before = model[1].running_mean.clone()
    FoldingPenalty(model, n_points=3).chi(torch.rand(2, 1, 8, 8), torch.rand(2, 1, 8, 8))
    assert model.training and torch.equal(model[1].running_mean, before)


def test_training_is_reproducible_by_seed():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (48, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    runs = []
    for _ in range(2):
        m, hist = train_with_folding(torch_mlp("2x6", input_dim=2, n_classes=2, seed=1), X, y,
                                     lam=0.5, epochs=3, n_points=5, seed=7)
        runs.append((torch.cat([p.detach().view(-1) for p in m.parameters()]), hist))
    assert torch.equal(runs[0][0], runs[1][0])
    assert runs[0][1]["loss"] == runs[1][1]["loss"] and len(runs[0][1]["soft_chi"]) == 3
    m, _ = train_with_folding(torch_mlp("2x6", input_dim=2, n_classes=2, seed=1), X, y,
                              lam=0.5, epochs=3, n_points=5, seed=8)
    assert not torch.equal(torch.cat([p.detach().view(-1) for p in m.parameters()]), runs[0][0])


def test_digits_cnn_layout_and_names():
    assert parse_cnn("cnn3") == (3, 8) and parse_cnn("cnn2x16") == (2, 16) and parse_cnn("6x10") is None
    with pytest.raises(ValidationError, match="cnn3x16"):
        parse_cnn("cnnx")
    for depth, pools in ((1, 1), (3, 3), (4, 3)):
        model = digits_cnn(depth, channels=4)
        assert sum(isinstance(m, torch.nn.MaxPool2d) for m in model) == pools
        assert sum(isinstance(m, torch.nn.Conv2d) for m in model) == depth
        assert model(torch.zeros(5, 1, 8, 8)).shape == (5, 10)


def test_cnn_converts_to_a_graph_with_the_same_logits(digits):
    _, _, X, _ = digits
    model = digits_cnn(2, channels=3, seed=0)
    model.eval()
    net = to_polyfold(model, (1, 8, 8))
    assert not net.is_dense and net.input_shape == (1, 8, 8)
    with torch.no_grad():
        want = model(torch.as_tensor(X[:20].reshape(-1, 1, 8, 8), dtype=torch.float32)).numpy()
    np.testing.assert_allclose(net.forward(X[:20]), want, atol=1e-5)
    assert to_polyfold(torch_mlp("2x4"), (64,)).is_dense


def test_regularization_row_tiny_and_reproducible():
    kw = dict(epochs=1, paths_per_pair=2, n_points=4, paths_per_batch=4)
    a = regularization_row("2x8", 0.5, 3, **kw)
    b = regularization_row("2x8", 0.5, 3, **kw)
    assert set(ROW_KEYS) <= set(a)
    timing = {"train_seconds", "fold_seconds"}
    assert {k: v for k, v in a.items() if k not in timing} == {k: v for k, v in b.items() if k not in timing}
    assert a["arch"] == "2x8" and a["lam"] == 0.5 and a["seed"] == 3
    assert 0 <= a["test_acc"] <= 1 and 0 <= a["phi"] < 1 and 0 <= a["pair_max_median"] < 1


def test_surrogate_validation_tiny(digits):
    Xtr, ytr, Xte, yte = digits
    model, _ = train_with_folding(torch_mlp("3x10"), Xtr[:300], ytr[:300], epochs=2)
    out = surrogate_validation(model, Xte, yte, n_paths=60, taus=(0.1, 1.0), n_points=(8,))
    assert len(out["rows"]) == 2 and out["n_paths"] == 60
    for r in out["rows"]:
        assert r["spearman"] is None or -1 <= r["spearman"] <= 1
    assert next(model.parameters()).dtype == torch.float32  # restored
