"""Regression tests of the input audit of the model, zoo and training modules:
each bad input gets a PolyfoldError naming the argument; exact inputs stay exact."""

from fractions import Fraction as F

import numpy as np
import pytest

import polyfold
from polyfold import PLNet
from polyfold.exceptions import NonFiniteError, PolyfoldError, ShapeError, ValidationError
from polyfold.network import hamming


def small_net():
    return PLNet.from_arrays([
        (np.array([[1.0, -1.0], [2.0, 1.0]]), np.array([0.0, 1.0])),
        (np.array([[1.0, 1.0]]), np.array([0.5])),
    ])


def test_forward_exact_accepts_fractions():
    # by hand at x = (1/3, -2/7): z1 = (1/3 + 2/7, 2/3 - 2/7 + 1) = (13/21, 29/21),
    # both positive, logit 13/21 + 29/21 + 1/2 = 5/2
    z1, z2 = small_net().forward_exact([[F(1, 3), F(-2, 7)]])
    assert [F(str(v)) for v in z1[0]] == [F(13, 21), F(29, 21)]
    assert F(str(z2[0, 0])) == F(5, 2)


def test_forward_refuses_float_overflow():
    net = PLNet.from_arrays([(np.array([[1e300, 1.0]]), np.array([0.0])),
                             (np.array([[1e300]]), np.array([0.0]))])
    with pytest.raises(NonFiniteError, match="overflow"):
        net.forward(np.array([[1.0, 1.0]]))
    # the exact logit is 1e300 * 1e300 + ... > 0: the exact route still answers
    z = net.forward_exact(np.array([[1.0, 1.0]]))[-1]
    assert z[0, 0] > 0


@pytest.mark.parametrize("path, words", [("/nonexistent_polyfold_dir/x.npz", "does not exist"),
                                         (5, "file name")])
def test_save_bad_path(path, words):
    with pytest.raises(ValidationError, match=words):
        small_net().save(path)


@pytest.mark.parametrize("layers", [None, 3, "relu"])
def test_from_arrays_bad_layers(layers):
    with pytest.raises(ValidationError, match="layers"):
        PLNet.from_arrays(layers)


def test_hamming_mismatched_lengths():
    with pytest.raises(ShapeError, match="same length"):
        hamming(np.zeros(3, bool), np.zeros(4, bool))
    # and the right answer where lengths match: two differing bits
    assert int(hamming(np.array([1, 0, 1], bool), np.array([0, 0, 0], bool))) == 2


def test_negative_seed_refused():
    with pytest.raises(ValidationError, match="seed"):
        polyfold.zoo.random_mlp([3], 2, 2, seed=-1)


@pytest.mark.parametrize("call, words", [
    (lambda: polyfold.zoo.vgg_cifar(classes=0), "classes"),
    (lambda: polyfold.zoo.vgg_cifar(classes=1), "classes"),
    (lambda: polyfold.zoo.digits_mlp(6), "architecture"),
    (lambda: polyfold.zoo.random_mlp([0], 2, 2), "architecture"),
    (lambda: polyfold.zoo.random_mlp([2.5], 2, 2), "architecture"),
    (lambda: polyfold.zoo.random_mlp([-3], 2, 2), "architecture"),
])
def test_zoo_bad_sizes(call, words):
    with pytest.raises(PolyfoldError, match=words):
        call()


torch = pytest.importorskip("torch")


def test_folding_penalty_refuses_nan_and_empty():
    from polyfold.regularization import FoldingPenalty, torch_mlp

    pen = FoldingPenalty(torch_mlp("2x4", input_dim=2, n_classes=2, seed=0), n_points=4)
    a = torch.zeros(3, 2)
    b = torch.ones(3, 2)
    b[1, 0] = float("nan")
    with pytest.raises(NonFiniteError, match="ends"):
        pen(a, b)
    with pytest.raises(ValidationError, match="at least one path"):
        pen(torch.zeros(0, 2), torch.zeros(0, 2))


@pytest.mark.parametrize("X, y, words", [
    (np.full((4, 2), np.nan), [0, 1, 0, 1], "X"),
    (np.zeros((4, 2)), [0, 1, 0], "one label per sample"),
    (np.zeros((4, 2)), [0, 1.5, 0, 1], "integer class labels"),
    (np.zeros((4, 2)), [0, -1, 0, 1], "integer class labels"),
    (np.zeros((0, 2)), [], "non-empty"),
])
def test_train_with_folding_bad_data(X, y, words):
    from polyfold.regularization import torch_mlp, train_with_folding

    with pytest.raises(ValidationError, match=words):
        train_with_folding(torch_mlp("2x4", input_dim=2, n_classes=2), X, y, epochs=1)


def test_graph_net_evaluates_no_points_like_one():
    # shapes of 0 points: those of 1 point with the leading axis 0 (as for dense nets)
    net = polyfold.zoo.digits_cnn()
    one = np.random.default_rng(0).uniform(0, 1, (1, 1, 8, 8))
    none = np.zeros((0, 1, 8, 8))
    for f in ("forward", "codes", "predict", "patterns"):
        a, b = getattr(net, f)(one), getattr(net, f)(none)
        assert b.shape == (0,) + a.shape[1:] and b.dtype == a.dtype, f
    exact = net.forward_exact(none)
    assert [z.shape for z in exact] == [(0,) + z.shape[1:] for z in net.forward_exact(one)]


def test_hamming_accepts_integer_bits_and_refuses_mixed_packings():
    from polyfold.network import pack_patterns, pack_words

    # 0/1 integers are unpacked patterns (as before): (1,0,1,1) vs (0,0,1,0) differ twice
    a, b = np.array([[1, 0, 1, 1]]), np.array([[0, 0, 1, 0]], bool)
    assert hamming(a, b).tolist() == [2]
    assert hamming(a, b.astype(np.int8)).tolist() == [2]
    ones = np.ones((1, 20), bool)
    with pytest.raises(ValidationError, match="same form"):
        hamming(pack_patterns(ones), pack_words(ones))
    with pytest.raises(ValidationError, match="0 and 1"):
        hamming(np.array([2, 0]), np.array([1, 0], bool))
