"""PLNet: construction, validation, evaluation, affine maps, persistence."""

import numpy as np
import pytest

import polyfold
from polyfold import PLNet
from polyfold.exceptions import (
    NonFiniteError,
    PolyfoldError,
    ShapeError,
    UnsupportedLayerError,
    ValidationError,
)
from polyfold.network import HardTanh, Identity, LeakyReLU, ReLU, hamming, pack_patterns


def tiny():
    # the spec's tiny net: W1 = [[1,0],[0,1],[1,1]], b1 = (0,0,-1)
    W1 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    b1 = np.array([0.0, 0.0, -1.0])
    W2 = np.array([[1.0, -2.0, 3.0], [0.5, 0.5, -1.0]])
    return PLNet.from_arrays([(W1, b1), (W2, np.array([0.25, -0.5]))])


def test_forward_matches_manual_numpy():
    net = tiny()
    x = np.array([[0.25, 0.25], [2.0, -1.0], [0.7, 0.9]])
    h = np.maximum(x @ net.layers[0][0].T + net.layers[0][1], 0)
    expected = h @ net.layers[1][0].T + net.layers[1][1]
    assert np.allclose(net.forward(x), expected)
    assert net.forward(x[0]).shape == (2,)


def test_spec_tiny_pattern():
    # pattern (+, +, -) at (0.25, 0.25) as in spec/regions.md section 3
    assert tiny().patterns([0.25, 0.25]).tolist() == [True, True, False]


def test_patterns_packed_and_hamming():
    net = polyfold.zoo.random_mlp([7, 5], 3, seed=1)
    X = np.random.default_rng(0).normal(size=(20, 3))
    bits = net.patterns(X)
    packed = net.patterns(X, packed=True)
    assert packed.shape == (20, 2)
    assert np.array_equal(packed, np.packbits(bits, axis=1))
    d = hamming(packed[:, None, :], packed[None, :, :])
    brute = (bits[:, None, :] != bits[None, :, :]).sum(-1)
    assert np.array_equal(d, brute)
    assert np.array_equal(hamming(bits[0], bits[1]), brute[0, 1])
    assert np.array_equal(pack_patterns(bits), packed)


def test_zero_preactivation_is_inactive():
    net = PLNet.from_arrays([(np.array([[1.0]]), np.array([0.0])), (np.array([[1.0]]), np.zeros(1))])
    assert net.patterns([0.0]).tolist() == [False]
    assert net.codes([[0.0]]).tolist() == [[0]]


def test_affine_map_reproduces_forward_in_region():
    net = polyfold.zoo.random_mlp([6, 6], 4, output_dim=3, seed=3)
    rng = np.random.default_rng(2)
    X = rng.normal(size=(10, 4))
    V, u = net.affine_map(X)
    pred = np.einsum("noi,ni->no", V, X) + u
    assert np.allclose(pred, net.forward(X))
    # a nearby point with the same pattern uses the same map
    for x, Vi, ui in zip(X, V, u):
        y = x + 1e-7 * rng.normal(size=4)
        if np.array_equal(net.patterns(y), net.patterns(x)):
            assert np.allclose(Vi @ y + ui, net.forward(y))


def test_affine_map_hardtanh_and_leaky():
    layers = [(np.array([[3.0], [-2.0]]), np.array([-1.0, 0.5])), (np.array([[1.0, 1.0]]), np.zeros(1))]
    for act in (HardTanh(-1.0, 1.0), LeakyReLU(0.1), Identity(), ReLU()):
        net = PLNet.from_arrays(layers, act)
        xs = np.linspace(-2, 2, 41).reshape(-1, 1)
        V, u = net.affine_map(xs)
        assert np.allclose(np.einsum("noi,ni->no", V, xs) + u, net.forward(xs))


def test_hardtanh_codes_and_bits():
    net = PLNet.from_arrays([(np.array([[1.0]]), np.zeros(1)), (np.array([[1.0]]), np.zeros(1))], HardTanh(-1, 1))
    # thresholds (-1, 0, 1): codes count thresholds strictly below z
    assert net.codes([[-2.0], [-0.5], [0.5], [2.0], [1.0]]).ravel().tolist() == [0, 1, 2, 3, 2]
    assert net.patterns([[-2.0], [-0.5], [0.5], [2.0]]).ravel().tolist() == [False, False, True, True]


def test_exact_forward_equals_float_on_integer_net():
    net = polyfold.zoo.random_mlp([4, 4], 3, output_dim=2, seed=5, integer=True)
    X = np.random.default_rng(1).integers(-3, 4, size=(15, 3)).astype(float)
    exact = net.forward_exact(X)[-1]
    assert np.array_equal(np.array(exact, dtype=float), net.forward(X))
    assert np.array_equal(net.patterns_exact(X), net.patterns(X))
    assert np.array_equal(net.codes_exact(X), net.codes(X))


def test_immutable():
    net = tiny()
    with pytest.raises(AttributeError):
        net.foo = 1
    with pytest.raises(ValueError):
        net.layers[0][0][0, 0] = 5.0


def test_save_load_roundtrip(tmp_path):
    layers = [(np.array([[3.0], [-2.0]]), np.array([-1.0, 0.5])), (np.array([[1.0, 1.0]]), np.zeros(1))]
    net = PLNet.from_arrays(layers, [HardTanh(-1.0, 2.0)])
    p = tmp_path / "net.npz"
    polyfold.save(net, p)
    back = polyfold.load(p)
    assert back == net
    assert back.activations[0] == HardTanh(-1.0, 2.0)


def test_structure_helpers():
    net = polyfold.zoo.random_mlp([3, 5, 2], 4, seed=0)
    assert net.widths == (3, 5, 2) and net.n_hidden == 10 and net.depth == 3
    assert net.layer_offsets.tolist() == [0, 3, 8, 10]
    assert net.unit_of(net.unit_index(1, 4)) == (1, 4)
    assert "PLNet" in repr(net)


# ---- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "layers, activation, error, words",
    [
        ([], "relu", ValidationError, "at least one"),
        ([(np.ones((2, 3)), np.ones(3))], "relu", ShapeError, "bias b must have shape (2,)"),
        ([(np.ones((2, 3)), np.ones(2)), (np.ones((1, 3)), np.ones(1))], "relu", ShapeError, "2 columns"),
        ([(np.array([[np.nan]]), np.ones(1))], "relu", NonFiniteError, "NaN"),
        ([(np.array([[1.0]]), np.array([np.inf]))], "relu", NonFiniteError, "infinity"),
        ([(np.ones((1, 1)), np.ones(1)), (np.ones((1, 1)), np.ones(1))], "tanh", UnsupportedLayerError, "not piecewise linear"),
        ([(np.array([["a"]]), np.ones(1))], "relu", ValidationError, "numeric"),
        ([np.ones(3)], "relu", ValidationError, "(W, b) pair"),
    ],
)
def test_bad_construction(layers, activation, error, words):
    with pytest.raises(error) as info:
        PLNet.from_arrays(layers, activation)
    assert words in str(info.value)
    assert isinstance(info.value, PolyfoldError)


def test_wrong_activation_count():
    with pytest.raises(ValidationError, match="expected 1 activations"):
        PLNet([(np.ones((1, 1)), np.ones(1)), (np.ones((1, 1)), np.ones(1))], [])


def test_bad_activation_parameters():
    with pytest.raises(ValidationError, match="lo <= 0 < hi"):
        HardTanh(0.5, 1.0)
    with pytest.raises(ValidationError, match="slope"):
        LeakyReLU(1.0)


def test_point_shape_error_names_expected_shape():
    net = polyfold.zoo.random_mlp([3], 3, seed=0)
    with pytest.raises(ShapeError, match=r"\(n, 3\)"):
        net.forward(np.ones((5, 2)))
    with pytest.raises(NonFiniteError):
        net.forward([np.nan, 0, 0])


def test_load_errors(tmp_path):
    with pytest.raises(ValidationError, match="does not exist"):
        PLNet.load(tmp_path / "missing.npz")
    p = tmp_path / "empty.npz"
    np.savez(p, foo=np.ones(2))
    with pytest.raises(ValidationError, match="W0"):
        PLNet.load(p)


def test_net_without_hidden_layers():
    # a purely affine net has empty patterns and one region everywhere
    net = PLNet.from_arrays([(np.array([[2.0, -1.0]]), np.array([0.5]))])
    X = np.array([[0.0, 1.0], [3.0, 2.0]])
    assert net.codes(X).shape == (2, 0)
    assert net.codes_exact(X).shape == (2, 0)
    assert np.allclose(net.forward(X).ravel(), [-0.5, 4.5])
    res = polyfold.segment_crossings(net, X[0], X[1])
    assert res.n_pieces.tolist() == [1]


def test_pickle_roundtrip_keeps_activations():
    import pickle

    net = PLNet.from_arrays(
        [(np.array([[3.0], [-2.0]]), np.array([-1.0, 0.5])), (np.array([[1.0, 1.0]]), np.zeros(1))],
        [HardTanh(-1.0, 2.0)],
    )
    back = pickle.loads(pickle.dumps(net))
    assert back == net and back.activations == net.activations
    x = np.array([[0.3], [-1.2]])
    assert np.array_equal(back.forward(x), net.forward(x))


def test_bits_from_codes_matches_tables():
    from polyfold.network import bits_from_codes

    # ReLU: code 1 <=> bit; hardtanh(-1, 1): codes 0..3, bit = code >= 2 (z > 0)
    relu = polyfold.zoo.random_mlp([3], 2, seed=0)
    assert bits_from_codes(relu, np.array([[0, 1, 1]])).tolist() == [[False, True, True]]
    ht = PLNet.from_arrays([(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))], HardTanh(-1, 1))
    assert bits_from_codes(ht, np.array([[0, 1], [2, 3]])).tolist() == [[False, False], [True, True]]


def test_hamming_on_words_matches_bits():
    from polyfold.network import pack_words

    rng = np.random.default_rng(4)
    for n_bits in (1, 7, 60, 64, 65, 130):
        a = rng.random((50, n_bits)) < 0.5
        b = rng.random((50, n_bits)) < 0.5
        brute = (a != b).sum(axis=1)
        assert np.array_equal(hamming(pack_words(a), pack_words(b)), brute)
        assert np.array_equal(hamming(pack_patterns(a), pack_patterns(b)), brute)


# ---- exact comparisons with a float filter (polyfold.arith.compare_exact) -------------------
from fractions import Fraction  # noqa: E402

from hypothesis import given, settings, strategies as st  # noqa: E402


def _rationals():
    big = st.integers(-(2**200), 2**200)
    small = st.integers(-50, 50)
    return st.one_of(
        st.builds(lambda p, q: (p, q), small, st.integers(1, 50)),
        st.builds(lambda p, q: (p, q), big, st.integers(1, 2**200)),
        # near-ties of a float threshold: (k * 2^60 +- 1) / 2^60
        st.builds(lambda k, e: (k * 2**60 + e, 2**60), st.integers(-3, 3), st.integers(-1, 1)),
        # beyond float64's range
        st.builds(lambda s: (s * 10**400, 1), st.sampled_from([-1, 1])),
    )


@settings(max_examples=200, deadline=None)
@given(vals=st.lists(_rationals(), min_size=0, max_size=40),
       q=st.sampled_from([0, 1, -1, Fraction(1, 3), 2.5, -0.75]))
def test_compare_exact_equals_rational_comparisons(vals, q):
    from polyfold import arith

    Z = np.empty(len(vals), dtype=object)
    Z[:] = [arith.fmpq(p, d) for p, d in vals]
    qq = arith.to_fmpq(q)
    gt, lt = arith.compare_exact(Z, qq)
    ref = [Fraction(p, d) for p, d in vals]
    fq = Fraction(q) if not isinstance(q, float) else Fraction(q)
    assert gt.tolist() == [r > fq for r in ref]
    assert lt.tolist() == [r < fq for r in ref]
    # the same with the float values passed in, and on a 2-D view
    F = arith.float_values(Z)
    assert [m.tolist() for m in arith.compare_exact(Z, qq, F=F)] == [gt.tolist(), lt.tolist()]
    if len(vals) % 2 == 0 and len(vals):
        g2, l2 = arith.compare_exact(Z.reshape(2, -1), qq)
        assert g2.ravel().tolist() == gt.tolist() and l2.ravel().tolist() == lt.tolist()


def test_exact_activations_use_exact_comparisons():
    from polyfold import arith

    tiny = arith.fmpq(1, 2**80)  # a float filter alone would call it zero
    z = np.array([tiny, -tiny, arith.fmpq(1) + tiny, arith.fmpq(-1) - tiny, arith.ZERO], dtype=object)
    assert ReLU().apply(z).tolist() == [tiny, 0, 1 + tiny, 0, 0]
    assert HardTanh(-1.0, 1.0).apply(z).tolist() == [tiny, -tiny, 1, -1, 0]
    lk = LeakyReLU(0.5).apply(z).tolist()
    assert lk == [tiny, -tiny / 2, 1 + tiny, (-1 - tiny) / 2, 0]


@pytest.mark.parametrize("slope", ["a", 1j, None, True, float("nan"), 1.0])
def test_leaky_relu_slope_must_be_a_finite_real_other_than_one(slope):
    with pytest.raises(polyfold.ValidationError, match="slope"):
        polyfold.LeakyReLU(slope)


def test_unit_index_and_unit_of_refuse_units_outside_the_net():
    net = polyfold.zoo.random_mlp([3, 4], 2)  # hidden units 0-2 (layer 0), 3-6 (layer 1)
    assert net.unit_of(3) == (1, 0) and net.unit_index(1, 3) == 6
    for bad in (lambda: net.unit_of(7), lambda: net.unit_of(-1), lambda: net.unit_of(1.5),
                lambda: net.unit_index(0, 3), lambda: net.unit_index(0, -1), lambda: net.unit_index(2, 0)):
        with pytest.raises(polyfold.ValidationError, match="must be"):
            bad()


def test_pack_and_unpack_patterns_check_their_input():
    from polyfold.network import pack_patterns, unpack_patterns

    bits = np.array([[1, 0, 1, 1, 0], [0, 0, 0, 0, 1]], bool)
    p = pack_patterns(bits)
    assert p.tolist() == [[0b10110000], [0b00001000]]  # by hand, most significant bit first
    assert np.array_equal(unpack_patterns(p, 5), bits)
    assert np.array_equal(pack_patterns(bits.astype(int)), p)
    for bad in (lambda: unpack_patterns(p, 9), lambda: unpack_patterns(p, -1),
                lambda: unpack_patterns(p.astype(float), 5), lambda: unpack_patterns(p, 2.5),
                lambda: pack_patterns(np.array([[0.5, 2.0]])), lambda: pack_patterns(np.ones((2, 2, 2)))):
        with pytest.raises(polyfold.PolyfoldError):
            bad()
