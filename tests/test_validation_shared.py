"""The shared input checks (class labels, seeds, integer index arrays) refuse the same
bad input in every public function that uses them, naming the argument."""

import warnings

import numpy as np
import pytest

import polyfold
from polyfold._validation import SEED_MAX
from polyfold.datasets import load_digits_split, load_mnist, load_points
from polyfold.exceptions import NonFiniteError, PolyfoldError, ShapeError, ValidationError
from polyfold.folding import folding_measure_batch
from polyfold.parallel import IndexPairs, PathAggregate
from polyfold.training import train_mlp

try:
    import torch
    from polyfold.regularization import digits_cnn, torch_mlp, train_with_folding
except ImportError:  # torch is optional: only the regulariser's tests need it
    torch = None
needs_torch = pytest.mark.skipif(torch is None, reason="needs torch")

X3 = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
BIG_U64 = np.array([0, 2**63, 1], dtype=np.uint64)  # 2**63 wraps to -2**63 in int64

# (bad labels of 3 points, error class, a phrase of the message)
BOOL_LABELS = (np.array([True, False, True]), ValidationError, "booleans")
BAD_NUMERIC_LABELS = [
    (np.array([0.0, 0.5, 1.0]), ValidationError, "non-integer value 0.5 at index 1"),
    (np.array([0.0, np.nan, 1.0]), NonFiniteError, "index 1"),
    (np.array([0.0, np.inf, 1.0]), NonFiniteError, "index 1"),
    # beyond int64 (checked before the cast, which would wrap around)
    (np.array([0.0, 1e300, 1.0]), ValidationError, r"got 1e\+300 at index 1"),
    (np.array([0.0, -1e19, 1.0]), ValidationError, r"got -1e\+19 at index 1"),
    (BIG_U64, ValidationError, "9223372036854775808 at index 1"),
    (np.array([1j, 0, 1]), ValidationError, "complex"),
    (np.array([0, 1]), ShapeError, r"shape \(3,\)"),
    (np.array([[0, 1, 2]]), ShapeError, r"shape \(3,\)"),
]


def _check(info, err, name):
    """A PolyfoldError of class ``err`` (or a subclass) whose message names ``name``."""
    assert isinstance(info.value, PolyfoldError) and isinstance(info.value, err)
    assert name in str(info.value)


# ---------------------------------------------------------------------------
# 1. class labels: load_points / load_mnist (datasets), train_mlp, train_with_folding
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("y, err, phrase", BAD_NUMERIC_LABELS)
def test_load_points_refuses_bad_labels(tmp_path, y, err, phrase):
    p = tmp_path / "d.npz"
    np.savez(p, X=np.zeros((3, 2)), y=y)
    with pytest.raises(err, match=phrase) as info:
        load_points(p)
    _check(info, err, "y in data file")


@pytest.mark.parametrize("y", [np.array([0.0, 1e300, 1.0]), np.array([0.0, -1e19, 1.0]), BIG_U64])
def test_labels_beyond_int64_say_so(tmp_path, y):
    p = tmp_path / "d.npz"
    np.savez(p, X=np.zeros((3, 2)), y=y)
    with pytest.raises(ValidationError, match="y in data file .* int64 range"):
        load_points(p)
    with pytest.raises(ValidationError, match="y .*int64 range"):
        train_mlp(X3, y, "1x2", epochs=1)


def test_load_points_good_labels(tmp_path):
    p = tmp_path / "d.npz"
    for y, want in ((np.array([2, 0, 1], np.uint8), [2, 0, 1]),
                    (np.array([2.0, -0.0, 7.0]), [2, 0, 7]),
                    (np.array([-3, 2**62, 0]), [-3, 2**62, 0])):
        np.savez(p, X=np.zeros((3, 2)), y=y)
        got = load_points(p)[1]
        assert got.dtype == np.int64 and got.tolist() == want
    np.savez(p, X=np.zeros((3, 2)), y=np.array(["b", "a", "b"]))
    assert load_points(p)[1].tolist() == ["b", "a", "b"]  # string labels stay strings


def test_boolean_labels_are_accepted_where_they_always_were(tmp_path):
    # load_points and train_mlp take boolean labels (a binary split such as x0 > 0),
    # unchanged; load_mnist and train_with_folding refuse them (their tests above)
    p = tmp_path / "d.npz"
    y = np.array([True, False, True])
    np.savez(p, X=np.zeros((3, 2)), y=y)
    got = load_points(p)[1]
    assert got.dtype == bool and got.tolist() == [True, False, True]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net, info = train_mlp(X3, y, "1x2", epochs=1)
    assert net.input_dim == 2 and 0.0 <= info["train_accuracy"] <= 1.0


def _mnist(path, y_train):
    np.savez(path, x_train=np.zeros((3, 2, 2), np.uint8), y_train=y_train,
             x_test=np.zeros((1, 2, 2), np.uint8), y_test=np.array([4], np.uint8))
    return path


@pytest.mark.parametrize("y, err, phrase", BAD_NUMERIC_LABELS + [BOOL_LABELS,
    (np.array(["1", "2", "3"]), ValidationError, "integer class labels, got dtype <U1"),
])
def test_load_mnist_refuses_bad_labels(tmp_path, y, err, phrase):
    with pytest.raises(err, match=phrase) as info:
        load_mnist(_mnist(tmp_path / "m.npz", y))
    _check(info, err, "y_train")


def test_load_mnist_good_labels(tmp_path):
    for y in (np.array([9, 0, 3], np.uint8), np.array([9.0, 0.0, 3.0]), np.array([9, 0, 3])):
        ytr = load_mnist(_mnist(tmp_path / "m.npz", y))[1]
        assert ytr.dtype == np.int64 and ytr.tolist() == [9, 0, 3]


@pytest.mark.parametrize("y, err, phrase", BAD_NUMERIC_LABELS + [
    (None, ValidationError, "got None"),
    ("abc", ValidationError, "got 'abc'"),
    ([0, [1], 2], ValidationError, "could not be read"),
    (np.array([0, None, 1], dtype=object), ValidationError, "None at index 1"),
])
def test_train_mlp_refuses_bad_labels(y, err, phrase):
    with pytest.raises(err, match=phrase) as info:
        train_mlp(X3, y, "1x2", epochs=1)
    _check(info, err, "y")
    if y is None:
        return  # (y_test=None means "no test data": then X_test=None is required)
    with pytest.raises(err, match=phrase) as info:  # the held-out labels: the same check
        train_mlp(X3, [0, 1, 0], "1x2", epochs=1, X_test=X3, y_test=y)
    _check(info, err, "y_test")


@pytest.mark.parametrize("y", [[3, 7, 3], np.array([3, 7, 3], np.int32), [3.0, 7.0, 3.0],
                               np.array(["cat", "dog", "cat"])])
def test_train_mlp_good_labels(y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net, info = train_mlp(X3, y, "1x2", epochs=1, X_test=X3, y_test=y)
    assert net.input_dim == 2 and net.output_dim in (1, 2)  # two classes
    assert 0.0 <= info["train_accuracy"] <= 1.0 and info["test_accuracy"] == info["train_accuracy"]


def _model():
    return torch_mlp("1x3", input_dim=2, n_classes=2, seed=0)


@needs_torch
@pytest.mark.parametrize("y, err, phrase", BAD_NUMERIC_LABELS + [BOOL_LABELS,
    (None, ValidationError, "got None"),
    ("abc", ValidationError, "got 'abc'"),
    (np.array(["0", "1", "0"]), ValidationError, "integer class labels, got dtype <U1"),
    (np.array([0, -1, 1]), ValidationError, r"0\.\.1 \(2 outputs of the model\), got -1 at index 1"),
    # the model has 2 outputs: label 2 has no logit (was torch's bare IndexError)
    (np.array([0, 2, 1]), ValidationError, r"0\.\.1 \(2 outputs of the model\), got 2 at index 1"),
])
def test_train_with_folding_refuses_bad_labels(y, err, phrase):
    with pytest.raises(err, match=phrase) as info:
        train_with_folding(_model(), X3, y, epochs=1)
    _check(info, err, "y")
    if y is None:
        return  # (y_val=None means "no validation data")
    with pytest.raises(err, match=phrase) as info:
        train_with_folding(_model(), X3, [0, 1, 0], epochs=1, X_val=X3, y_val=y)
    _check(info, err, "y_val")


@needs_torch
@pytest.mark.parametrize("y", [[0, 1, 1], np.array([0, 1, 1], np.uint8), [0.0, 1.0, 1.0], "tensor"])
def test_train_with_folding_good_labels(y):
    if isinstance(y, str):
        y = torch.tensor([0, 1, 1])
    model, hist = train_with_folding(_model(), X3, y, epochs=2, X_val=X3, y_val=y)
    assert len(hist["loss"]) == 2 and all(0.0 <= a <= 1.0 for a in hist["val_acc"])


@needs_torch
def test_train_with_folding_refuses_inputs_the_model_cannot_take():
    # 3 features into a 2-input MLP: was torch's bare RuntimeError from the first batch
    with pytest.raises(ShapeError, match=r"X of shape \(3, 3\) does not fit the model"):
        train_with_folding(_model(), np.zeros((3, 3)), [0, 1, 0], epochs=1)
    with pytest.raises(ShapeError, match="X_val"):
        train_with_folding(_model(), X3, [0, 1, 0], epochs=1, X_val=np.zeros((3, 5)),
                           y_val=[0, 1, 0])


@needs_torch
def test_train_with_folding_probe_keeps_the_training_mode():
    # the label bound reads the number of logits from one sample in eval mode; a CNN
    # with BatchNorm must come back in the mode it had (and one sample must not fail)
    model = digits_cnn(1, channels=2, n_classes=3, seed=0)
    model.train()
    X = np.zeros((4, 1, 8, 8))
    with pytest.raises(ValidationError, match=r"0\.\.2 \(3 outputs"):
        train_with_folding(model, X, [0, 1, 2, 3], epochs=1)
    assert model.training and all(m.training for m in model.modules())


# ---------------------------------------------------------------------------
# 2. seeds: one bound, 0..2**32 - 1, in every function that takes an int seed
# ---------------------------------------------------------------------------
def test_seed_bound():
    assert SEED_MAX == 4294967295 == 2**32 - 1


SEED_USERS = {
    "load_digits_split": lambda s: load_digits_split(seed=s),
    "train_mlp": lambda s: train_mlp(X3, [0, 1, 0], "1x2", epochs=1, seed=s),
    "zoo.digits_mlp": lambda s: polyfold.zoo.digits_mlp("2x30", seed=s),
}
if torch is not None:
    SEED_USERS.update({
        "train_with_folding": lambda s: train_with_folding(_model(), X3, [0, 1, 0], epochs=1, seed=s),
        "torch_mlp": lambda s: torch_mlp("1x3", input_dim=2, n_classes=2, seed=s),
        "digits_cnn": lambda s: digits_cnn(1, channels=2, seed=s),
    })


@pytest.mark.parametrize("user", sorted(SEED_USERS))
@pytest.mark.parametrize("seed", [-1, 2**32, 2**64, True, 1.5, "0", np.float64(3.0)])
def test_every_int_seed_has_the_same_range(user, seed):
    with pytest.raises(ValidationError, match=r"seed must be an integer in 0\.\.4294967295") as info:
        SEED_USERS[user](seed)
    assert isinstance(info.value, PolyfoldError)


@pytest.mark.parametrize("user", sorted(set(SEED_USERS) - {"zoo.digits_mlp"}))
def test_the_largest_seed_is_accepted(user):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        SEED_USERS[user](SEED_MAX)
        SEED_USERS[user](np.uint32(SEED_MAX))  # numpy integers too


def test_split_seed_still_takes_generators_and_none():
    a = load_digits_split(seed=np.random.default_rng(5))[1]
    b = load_digits_split(seed=np.random.default_rng(5))[1]
    assert a.tolist() == b.tolist() and len(load_digits_split(seed=None)[1]) == 1257


# ---------------------------------------------------------------------------
# 3. integer index arrays: PathAggregate.from_paths, IndexPairs, folding_measure_batch
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [None, "12", [[1], [1, 2]], BIG_U64 + np.uint64(1),
                                 np.array([1.5]), np.array([True])])
def test_path_aggregate_refuses_bad_columns(bad):
    with pytest.raises(ValidationError, match="n_pieces") as info:
        PathAggregate.from_paths(bad)
    assert isinstance(info.value, PolyfoldError)
    r = np.array([1, 1, 1])
    with pytest.raises(ValidationError, match="r1") as info:
        PathAggregate.from_paths([1, 1, 1], r1=bad, r2=r, prefix_r1=r, prefix_r2=r)


def test_path_aggregate_big_unsigned_is_not_wrapped():
    # 2**63 + 1 pieces passes ">= 1" as uint64 and was counted as -2**63 + 1 pieces
    with pytest.raises(ValidationError, match="9223372036854775809 at index 1, beyond the int64"):
        PathAggregate.from_paths(BIG_U64 + np.uint64(1))


@pytest.mark.parametrize("good", [[1, 3, 3], np.array([1, 3, 3], np.int32),
                                  np.array([1, 3, 3], np.uint64)])
def test_path_aggregate_good_columns(good):
    agg = PathAggregate.from_paths(good)
    assert agg.n_paths == 3 and agg.pieces == {1: 1, 3: 2}
    assert PathAggregate.from_paths([]).n_paths == 0


@pytest.mark.parametrize("bad", [None, "01", [[0, 1], [1]], np.array([0.5]), np.array([True]),
                                 np.array([2**63], np.uint64)])
def test_index_pairs_refuses_bad_indices(bad):
    with pytest.raises(ValidationError, match="i_start") as info:
        IndexPairs(bad, [0])
    assert isinstance(info.value, PolyfoldError)


@pytest.mark.parametrize("good", [[0, 2], np.array([0, 2], np.int32), np.array([0, 2], np.uint64)])
def test_index_pairs_good_indices(good):
    src = IndexPairs(good, [1, 1])
    assert src.i_start.dtype == np.int64 and src.i_start.tolist() == [0, 2] and src.n_paths == 2
    assert IndexPairs(3, 0).i_start.tolist() == [3] and IndexPairs([], []).n_paths == 0


P4 = np.array([[0, 0], [1, 0], [0, 0], [0, 1]], bool)


@pytest.mark.parametrize("bad, err", [(None, ShapeError), ("04", ValidationError),
                                      ([[0, 2], [4]], ShapeError), ([0.0, 4.0], ShapeError),
                                      (np.array([0, 2**63, 4], np.uint64), ValidationError)])
def test_folding_measure_batch_refuses_bad_offsets(bad, err):
    with pytest.raises(err, match="offsets") as info:
        folding_measure_batch(P4, bad)
    assert isinstance(info.value, PolyfoldError)


def test_folding_measure_batch_big_unsigned_offset_is_named():
    # was wrapped to -2**63 and reported as an "empty or negative" walk
    with pytest.raises(ValidationError, match="9223372036854775808 at index 1, beyond the int64"):
        folding_measure_batch(P4, np.array([0, 2**63, 4], np.uint64))


@pytest.mark.parametrize("off", [[0, 2, 4], np.array([0, 2, 4], np.int32),
                                 np.array([0, 2, 4], np.uint64)])
def test_folding_measure_batch_good_offsets(off):
    # walks 00 -> 10 and 00 -> 01: one step each, range 1, length 1
    b = folding_measure_batch(P4, off)
    assert b.n_walks == 2 and b.r1.tolist() == [1, 1] and b.r2.tolist() == [1, 1]
    # one walk 00 -> 10 -> 00 -> 01: length 3 (three single-bit steps), range 1
    b = folding_measure_batch(P4, [0, 4])
    assert b.r1.tolist() == [1] and b.r2.tolist() == [3]
