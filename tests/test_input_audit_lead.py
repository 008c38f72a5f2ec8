"""Inputs at first contact: None in point arrays, graph nets whose values overflow float64."""

import warnings

import numpy as np
import pytest

import polyfold
from polyfold import NonFiniteError, ValidationError


@pytest.fixture(scope="module")
def cnn():
    return polyfold.zoo.digits_cnn()


@pytest.mark.parametrize("bad", [None, [[1.0, None, 2.0]], np.array([[1.0, None, 0.0]], dtype=object)])
def test_none_is_named_not_called_nan(bad):
    net = polyfold.zoo.random_mlp([5], 3, 2, seed=0)
    with pytest.raises(ValidationError, match="None"):
        net.forward(bad)


def test_nan_still_named_nan():
    net = polyfold.zoo.random_mlp([5], 3, 2, seed=0)
    with pytest.raises(NonFiniteError, match="NaN"):
        net.forward([[1.0, float("nan"), 2.0]])


def _overflow_points():
    x = np.full((4, 64), 1.7e308)
    x[1] = 0.5
    x[2] = -1.7e308
    x[3, ::2] = -1.7e308
    return x


def test_graph_codes_and_predict_overflow_decided_exactly(cnn):
    x = _overflow_points()
    with pytest.raises(NonFiniteError):  # the float logits are not finite
        cnn.forward(x)
    # the reference: exact rational evaluation of the same points
    ref_codes = cnn.codes_exact(x)
    logits = cnn.forward_exact(x)[-1]
    ref_pred = [max(range(len(r)), key=lambda k, r=r: (r[k], -k)) for r in logits]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow warnings reach the user
        codes = cnn.codes(x)
        pred = cnn.predict(x)
        pats = cnn.patterns(x)
    assert np.array_equal(codes, ref_codes)
    assert list(pred) == ref_pred
    assert np.array_equal(pats, cnn.bits_from_codes(ref_codes))


def test_graph_and_dense_agree_at_overflow():
    # a chain graph and its dense PLNet (whose float pass has its own overflow
    # handling) decide the same overflowing points the same way
    from polyfold.graph import GraphBuilder

    rng = np.random.default_rng(4)
    b = GraphBuilder((4,))
    h = b.relu(b.dense(b.flatten(b.input), rng.integers(-3, 4, (6, 4)).astype(float), rng.integers(-2, 3, 6).astype(float)))
    h = b.relu(b.dense(h, rng.integers(-3, 4, (5, 6)).astype(float), np.zeros(5)))
    g = b.build(b.dense(h, rng.integers(-3, 4, (3, 5)).astype(float)))
    dense = polyfold.convert.graph_to_plnet(g)
    x = np.array([[1e308, -1e308, 1e308, 0.0], [1.0, 2.0, -1.0, 0.5], [-1e308, -1e308, 1e308, 1e308]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(g.codes(x), dense.codes(x))
        assert list(g.predict(x)) == list(dense.predict(x))
    assert np.array_equal(g.codes(x), g.codes_exact(x))


def test_region_of_near_the_float64_limit_is_quiet():
    # x - lower overflows for x = 1.7e308, lower = -1.7e308; x is inside the domain
    net = polyfold.zoo.random_mlp([4], 2, 2, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = polyfold.region_of(net, [1.7e308, -1.7e308], domain=(-1.7e308, 1.7e308))
    assert r.A.shape == (4 + 4, 2)  # 4 units, 2 x 2 domain rows
    with pytest.raises(polyfold.DomainError, match=r"coordinate 0 = 2.0 is outside \[0.0, 1.0\]"):
        polyfold.region_of(net, [2.0, 0.5], domain=(0, 1))


def test_graph_maximum_checks_its_nodes():
    from polyfold import ShapeError
    from polyfold.graph import GraphBuilder

    b = GraphBuilder((1, 4, 4))
    with pytest.raises(ValidationError, match="at least one node"):
        b.maximum()
    flat = b.flatten(b.input)
    with pytest.raises(ShapeError, match="one size"):
        b.maximum(flat, b.dense(flat, np.eye(8, 16)))  # 16 against 8 elements
    # the valid call: max(x, -x) = |x| elementwise, checked by hand at one point
    g = b.build(b.maximum(flat, b.dense(flat, -np.eye(16))))
    x = np.arange(16.0) - 7.5
    assert np.array_equal(g.forward(x), np.abs(x))


def test_graph_vjp_fixed_of_no_rows(cnn):
    # the one-row call gives the shape; no rows give (0, input_dim)
    c1 = cnn.codes(np.zeros((1, 64)))
    assert cnn.vjp_fixed(np.ones((1, 10)), c1).shape == (1, 64)
    assert cnn.vjp_fixed(np.zeros((0, 10)), c1[:0]).shape == (0, 64)
    with pytest.raises(polyfold.ShapeError, match="G must have shape"):
        cnn.vjp_fixed(np.ones((1, 9)), c1)
