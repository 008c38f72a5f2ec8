"""Injectivity witnesses are checked independently with ``fractions.Fraction``.

Every "not injective" verdict carries an exact rational pair
(``witness_exact``, ``colliding_exact``); when ``floats_collide`` the float
points themselves collide.  The checks here recompute ``ReLU(W x - alpha)`` (and
the hidden layers of small networks) in Fractions, written independently of
polyfold.
"""

from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyfold import PLNet, zoo
from polyfold.injectivity import check_injectivity, check_network_injectivity


def relu_out(W, alpha, x):
    return [max(sum((F(float(w)) * xi for w, xi in zip(row, x)), F(0)) - F(float(a)), F(0))
            for row, a in zip(np.asarray(W).tolist(), np.asarray(alpha).tolist())]


def hidden_out(net, layer, x):
    h = list(x)
    for W, b in net.layers[: layer + 1]:
        h = [max(sum((F(float(w)) * v for w, v in zip(row, h)), F(0)) + F(float(c)), F(0))
             for row, c in zip(W.tolist(), b.tolist())]
    return h


def in_box(x, lo, hi):
    return all(F(float(a)) <= v <= F(float(b)) for v, a, b in zip(x, lo, hi))


def check_witness(v, out, lo=None, hi=None):
    """The verdict's witnesses, verified here; returns whether the floats collide."""
    assert v.collision_verified
    xq, x2q = v.witness_exact, v.colliding_exact
    assert all(isinstance(c, F) for c in xq + x2q)
    assert xq != x2q
    assert out(xq) == out(x2q)
    if lo is not None:
        assert in_box(xq, lo, hi) and in_box(x2q, lo, hi)
    fx = [F(float(c)) for c in v.witness_point]
    fx2 = [F(float(c)) for c in v.colliding_point]
    if v.floats_collide:
        assert fx != fx2 and out(fx) == out(fx2)
        assert tuple(fx) == xq and tuple(fx2) == x2q
        if lo is not None:
            assert in_box(fx, lo, hi) and in_box(fx2, lo, hi)
    return v.floats_collide


@pytest.mark.parametrize("kind", ["gauss", "integer", "dyadic"])
def test_box_witnesses_collide_exactly(kind):
    rng = np.random.default_rng({"gauss": 1, "integer": 2, "dyadic": 3}[kind])
    n_fail = n_float = 0
    for _ in range(40):
        n = int(rng.integers(2, 4))
        m = int(rng.integers(n, n + 4))
        if kind == "gauss":
            W, alpha = rng.standard_normal((m, n)), rng.standard_normal(m)
        elif kind == "integer":
            W = rng.integers(-3, 4, size=(m, n)).astype(float)
            alpha = rng.integers(-2, 3, size=m).astype(float)
        else:  # a few significant bits: multiples of 1/8
            W = rng.integers(-16, 17, size=(m, n)) / 8.0
            alpha = rng.integers(-8, 9, size=m) / 8.0
        lo, hi = -rng.uniform(0.5, 2, n), rng.uniform(0.5, 2, n)
        v = check_injectivity(W, alpha=alpha, domain=(lo, hi))
        if v.is_injective:
            continue
        n_fail += 1
        n_float += check_witness(v, lambda x: relu_out(W, alpha, x), lo, hi)
    assert n_fail >= 20
    if kind != "gauss":
        # short integer kernel vectors exist: the float witnesses always collide
        assert n_float == n_fail
    else:
        assert n_float >= 1  # cells where every neuron is off give float pairs


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 3), extra=st.integers(0, 3))
def test_witnesses_on_whole_space_and_polytopes(seed, n, extra):
    rng = np.random.default_rng(seed)
    m = n + extra
    W = rng.integers(-3, 4, size=(m, n)).astype(float)
    alpha = rng.integers(-2, 3, size=m).astype(float)
    v = check_injectivity(W, alpha=alpha, domain=None)
    if not v.is_injective:
        assert check_witness(v, lambda x: relu_out(W, alpha, x))
    # a simplex-like polytope {x : A x + c >= 0}
    A = np.vstack([np.eye(n), -np.ones((1, n))])
    c = np.r_[np.ones(n), 2.0]
    v = check_injectivity(W, alpha=alpha, domain=(A, c))
    if not v.is_injective:
        check_witness(v, lambda x: relu_out(W, alpha, x))
        for x in (v.witness_exact, v.colliding_exact):
            for row, ci in zip(A.tolist(), c.tolist()):
                assert sum((F(a) * xi for a, xi in zip(row, x)), F(0)) + F(ci) >= 0


def test_points_witnesses():
    rng = np.random.default_rng(5)
    W = rng.standard_normal((4, 3))
    X = np.round(rng.uniform(-1, 1, (30, 3)) * 16) / 16  # data on the grid 1/16
    alpha = np.full(4, 0.5)
    v = check_injectivity(W, alpha=alpha, domain=X)
    assert not v.is_injective
    check_witness(v, lambda x: relu_out(W, alpha, x))
    # the witness is the data point itself
    assert list(v.witness_exact) == [F(float(c)) for c in X[v.witness_index]]
    # thresholds above the data: every point is off, the floats collide
    v = check_injectivity(W, alpha=np.full(4, 50.0), domain=X)
    assert check_witness(v, lambda x: relu_out(W, np.full(4, 50.0), x))


def test_point_on_a_threshold_has_an_exact_second_preimage():
    # C(x) = (ReLU(x), ReLU(-x - 1)) at x = 0: every x' in [-1, 0] gives (0, 0)
    W = np.array([[1.0], [-1.0]])
    alpha = [0.0, 1.0]
    v = check_injectivity(W, alpha=alpha, domain=np.array([[0.0], [1.0]]))
    assert v.witness_index == 0
    check_witness(v, lambda x: relu_out(W, alpha, x))
    assert v.witness_exact == (F(0),) and F(-1) <= v.colliding_exact[0] < 0


def test_digits_witness_is_exact():
    from polyfold.datasets import load_digits_split
    from polyfold.injectivity import layer_weights

    net = zoo.digits_mlp("2x30")
    X = load_digits_split()[2][:20]
    v = check_injectivity((net, 0), domain=X)
    W, alpha = layer_weights(net, 0)
    check_witness(v, lambda x: relu_out(W, alpha, x))


def test_network_witnesses_exact():
    # sawtooth: T(x) = T(1 - x) (pairwise collision between two regions); dyadic
    # weights, so the float points collide too
    net = zoo.sawtooth(2)
    v = check_network_injectivity(net, domain=(0.0, 1.0))
    lay = v.layers[1]
    assert check_witness(lay, lambda x: hidden_out(net, 1, x), [0.0], [1.0])
    assert lay.witness_exact[0] + lay.colliding_exact[0] == 1
    # |x| folds x and -x
    net = PLNet.from_arrays([(np.array([[1.0], [-1.0]]), np.zeros(2)),
                             (np.array([[1.0, 1.0]]), np.zeros(1)),
                             (np.ones((1, 1)), np.zeros(1))])
    lay = check_network_injectivity(net, domain=(-1.0, 1.0)).layers[1]
    assert check_witness(lay, lambda x: hidden_out(net, 1, x), [-1.0], [1.0])
    assert lay.witness_exact[0] == -lay.colliding_exact[0]


@pytest.mark.parametrize("seed", [3, 4, 7, 11])
def test_random_network_witnesses_exact(seed):
    rng = np.random.default_rng(seed)
    net = PLNet.from_arrays([(rng.standard_normal((6, 2)), rng.uniform(-0.5, 2, 6)),
                             (rng.standard_normal((5, 6)), rng.uniform(-0.5, 2, 5)),
                             (np.ones((1, 5)), np.zeros(1))])
    v = check_network_injectivity(net, domain=([-1, -1], [1, 1]))
    if v.is_injective is False:
        lay = v.layers[v.first_failing_layer]
        out = (lambda x: hidden_out(net, v.first_failing_layer, x))
        check_witness(lay, out, [-1, -1], [1, 1])
