"""Certified crossings on adversarial inputs: the bounds at new breakpoints, ``t_error``.

A breakpoint's float position ``s = A / (A - B)`` differs from the exact ``s*`` by up
to ``delta`` (the error bounds of ``A`` and ``B`` over ``|A| + |B|``), so every other
neuron's value at the new point is only known to within ``delta |z_b - z_a|`` of its
value at the exact crossing.  When a neuron varies much faster than the crossing one,
a bound that ignores this certifies wrong signs.  The references here are exact
rational recomputations (``fractions.Fraction`` and exact mode).
"""

from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import given, strategies as st

import polyfold
from polyfold import PLNet, segment_crossings
from polyfold.crossings import available_backends

BACKENDS = available_backends()
K = float(2**25 + 1)  # first-layer weights near 2^25 that cancel: large rounding errors


def near_tie_net(seed):
    """Two neurons switching within the float uncertainty of one of them.

    Input ``x = (x1, x2, x3)``; layer 0: neuron j = ``K x1 - K x2 + x3 + c0`` (values
    of size 1 along the segment, errors of size ``u K``), neuron i' = ``x3 + 2 > 0``;
    layer 1: neuron i = ``relu(i') - (c + 2)``, zero at ``x3 = c``.  The segment runs
    from ``x3 = -1`` to ``x3 = 1``; ``c`` is placed between the float and the exact
    crossing of j, so the two orders differ.

    Returns ``net, start, end, s_j_exact, s_i_exact`` (exact crossing parameters,
    computed here with Fractions).
    """
    rng = np.random.default_rng(seed)
    p1, q1, p2, q2 = 1 + rng.random(4) * 2.0**-10
    start = np.array([p1, q1, -1.0])
    end = np.array([p2, q2, 1.0])
    W0 = np.array([[K, -K, 1.0], [0.0, 0.0, 1.0]])
    zs = F(K) * F(p1) - F(K) * F(q1) - 1
    ze = F(K) * F(p2) - F(K) * F(q2) + 1
    c0 = -float((zs + ze) / 2)
    b0 = np.array([c0, 2.0])
    A = float((start @ W0.T + b0)[0])  # the float values the kernel starts from
    B = float((end @ W0.T + b0)[0])
    s_float = A / (A - B)
    s_j = (zs + F(c0)) / ((zs + F(c0)) - (ze + F(c0)))
    c = float(-1 + (F(s_float) + s_j))  # x3 halfway between the float and exact crossing
    s_i = (F(c) + 1) / 2  # x3(s) = -1 + 2 s
    W1 = np.array([[0.0, 1.0]])
    b1 = np.array([-(c + 2.0)])
    net = PLNet.from_arrays([(W0, b0), (W1, b1), (np.array([[1.0]]), np.zeros(1))])
    return net, start, end, s_j, s_i


def exact_codes_by_hand(s_j, s_i, j_rises):
    """Codes (j, i', i) of the three pieces, from the two exact crossing parameters."""
    j0 = 0 if j_rises else 1
    cuts = sorted([(s_j, "j"), (s_i, "i")])
    code = {"j": j0, "ip": 1, "i": 0}
    rows = [[code["j"], code["ip"], code["i"]]]
    for _, who in cuts:
        code[who] = 1 - code[who]
        rows.append([code["j"], code["ip"], code["i"]])
    return rows


def check_t_error(res, ex):
    """``|t - t*| <= t_error`` for every breakpoint, in exact rationals."""
    assert res.t_error.shape == res.t.shape
    assert np.all(res.t_error >= 0)
    for t, e, t_star in zip(res.t, res.t_error, ex.t_exact):
        assert abs(F(float(t)) - t_star) <= F(float(e))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(4))
def test_near_tie_of_a_slow_and_a_fast_neuron_matches_exact(seed, backend):
    net, S, E, s_j, s_i = near_tie_net(seed)
    j_rises = (F(K) * F(S[0]) - F(K) * F(S[1]) - 1 + F(net.layers[0][1][0])) < 0
    expected = exact_codes_by_hand(s_j, s_i, j_rises)
    ex = segment_crossings(net, S, E, mode="exact")
    assert ex.codes.tolist() == expected  # exact mode agrees with the hand derivation
    res = segment_crossings(net, S, E, mode="certified", backend=backend)
    assert res.codes.tolist() == expected
    assert res.n_recomputed == 1  # the bound cannot order the two crossings
    check_t_error(res, ex)


@pytest.mark.parametrize("backend", BACKENDS)
def test_t_error_bounds_an_isolated_inaccurate_breakpoint(backend):
    # neuron j alone has a large position error; nothing else crosses near it, so the
    # segment is not recomputed and t_error is the carried bound
    rng = np.random.default_rng(5)
    p1, q1, p2, q2 = 1 + rng.random(4) * 2.0**-10
    S = np.array([[p1, q1, -1.0]])
    E = np.array([[p2, q2, 1.0]])
    W0 = np.array([[K, -K, 1.0], [0.0, 0.0, 1.0]])
    b0 = np.array([-K * (p1 - q1), 0.5])  # j crosses somewhere inside; i' at x3 = -0.5
    net = PLNet.from_arrays([(W0, b0), (np.array([[1.0, -1.0]]), np.array([0.25]))])
    ex = segment_crossings(net, S, E, mode="exact")
    res = segment_crossings(net, S, E, mode="certified", backend=backend)
    assert res.n_recomputed == 0
    assert res.codes.tolist() == ex.codes.tolist()
    check_t_error(res, ex)
    err = [abs(F(float(t)) - ts) for t, ts in zip(res.t, ex.t_exact)]
    assert max(err) > F(float(np.spacing(1.0)))  # the breakpoint is really inaccurate
    assert np.max(res.t_error) < 1e-6  # and the bound stays of the size of u K


def adversarial_net(seed, depth):
    """First layer with weights near 2^25 in cancelling pairs; later layers small integers."""
    rng = np.random.default_rng(seed)
    n0 = 4
    r = rng.choice([-1.0, 1.0], n0)
    W0 = np.column_stack([K * r, -K * r, rng.integers(-3, 4, (n0, 2)).astype(float)])
    b0 = rng.integers(-2, 3, n0).astype(float)
    layers = [(W0, b0)]
    width = n0
    for _ in range(depth - 1):
        W = rng.integers(-3, 4, (4, width)).astype(float)
        layers.append((W, rng.integers(-2, 3, 4).astype(float)))
        width = 4
    layers.append((rng.integers(-2, 3, (1, width)).astype(float), np.zeros(1)))
    return PLNet.from_arrays(layers)


def adversarial_points(seed, m):
    """Points whose first two coordinates are equal near 1 up to 2^-20 (full mantissas)."""
    rng = np.random.default_rng(seed + 1000)
    base = 1 + rng.random((m, 1)) * 2.0**-6
    x12 = base + rng.random((m, 2)) * 2.0**-20
    rest = rng.uniform(-2, 2, (m, 2))
    return np.column_stack([x12, rest])


@given(seed=st.integers(0, 10**6), depth=st.integers(1, 3))
def test_adversarial_certified_equals_exact_and_t_error_holds(seed, depth):
    net = adversarial_net(seed, depth)
    check_backends_against_exact(net, adversarial_points(seed, 6), adversarial_points(seed + 1, 6))


def check_backends_against_exact(net, S, E):
    """Certified mode of every backend has exact mode's pieces and codes, and its
    ``t_error`` holds in rationals."""
    ex = segment_crossings(net, S, E, mode="exact")
    for backend in BACKENDS:
        res = segment_crossings(net, S, E, mode="certified", backend=backend)
        assert np.array_equal(res.n_pieces, ex.n_pieces)
        assert np.array_equal(res.codes, ex.codes)
        check_t_error(res, ex)


def off_unit_net(activation):
    """A first-layer unit ``a = K x1 - K x2 + c`` with a large rounding bound (about
    ``u K``) that is certified on a flat piece of ``activation`` on the whole segment
    (``x1 = x2``: ``a = c`` exactly), beside ``b = x3 / 2``; the second layer's
    ``y = act(a) + 2 act(b) - 1/2 - f`` switches at ``x3 = 1/2``, i.e. ``t = 3/4`` on
    the segment ``x3: -1 -> 1`` (hand derivation: ``act(a)`` is the constant flat
    value ``f``, and ``2 act(b) = x3`` for ``x3 > 0``)."""
    flat = {"relu": (-1.0, 0.0), "hardtanh": (5.0, 1.0)}[activation]
    c, f = flat
    W0 = np.array([[K, -K, 0.0], [0.0, 0.0, 0.5]])
    b0 = np.array([c, 0.0])
    W1 = np.array([[1.0, 2.0]])
    b1 = np.array([-0.5 - f])
    act = polyfold.HardTanh(-1.0, 1.0) if activation == "hardtanh" else "relu"
    net = PLNet.from_arrays([(W0, b0), (W1, b1), (np.array([[1.0]]), np.zeros(1))], activation=act)
    p = 1.0 + 2.0**-30
    return net, np.array([[p, p, -1.0]]), np.array([[p, p, 1.0]])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("activation", ["relu", "hardtanh"])
def test_a_unit_certified_on_a_flat_piece_carries_no_error(activation, backend):
    # Its value there is exact (0, or the hard tanh's hi), so its rounding bound of
    # about u K = 2^-28 must not reach the next layer's breakpoint: that breakpoint
    # is as accurate as one of a net without the unit (bounds of a few roundoffs).
    net, S, E = off_unit_net(activation)
    res = segment_crossings(net, S, E, mode="certified", backend=backend)
    ex = segment_crossings(net, S, E, mode="exact")
    assert ex.t_exact[-1] == F(3, 4)
    assert res.n_recomputed == 0
    assert res.codes.tolist() == ex.codes.tolist()
    check_t_error(res, ex)
    assert res.t[-1] == 0.75
    assert res.t_error[-1] < 1e-13  # carrying the unit's error would give about 1e-8


def mixed_net(seed):
    """Depth 1-6, widths 2-6, ReLU / leaky / hard tanh; the first layer in cancelling
    pairs of weights near 2^25 or of normal size, later layers integer or normal."""
    rng = np.random.default_rng(seed)
    depth, n0 = int(rng.integers(1, 7)), int(rng.integers(2, 7))
    if rng.random() < 0.6:
        r = rng.choice([-1.0, 1.0], n0)
        W0 = np.column_stack([K * r, -K * r, rng.integers(-3, 4, (n0, 2)).astype(float)])
    else:
        W0 = rng.normal(size=(n0, 4))
    layers, width = [(W0, rng.integers(-2, 3, n0).astype(float))], n0
    for _ in range(depth - 1):
        w = int(rng.integers(2, 7))
        if rng.random() < 0.5:
            layers.append((rng.integers(-3, 4, (w, width)).astype(float), rng.integers(-2, 3, w).astype(float)))
        else:
            layers.append((rng.normal(size=(w, width)), rng.normal(size=w) / 2))
        width = w
    layers.append((rng.integers(-2, 3, (1, width)).astype(float), np.zeros(1)))
    act = [polyfold.ReLU(), polyfold.LeakyReLU(float(rng.choice([0.01, -0.5, 2.0]))),
           polyfold.HardTanh(float(rng.choice([-1.0, 0.0])), float(rng.choice([1.0, 0.25])))][seed % 3]
    return PLNet.from_arrays(layers, activation=act), rng


@given(seed=st.integers(0, 10**6))
def test_certified_equals_exact_on_deeper_mixed_adversarial_nets(seed):
    # The error each layer carries on depends on the previous layer's decisions
    # (flat pieces carry none, leaky pieces |slope| times it); wrong decisions or
    # bounds there show up as codes or breakpoints that differ from exact mode's.
    net, _ = mixed_net(seed)
    check_backends_against_exact(net, adversarial_points(seed, 6), adversarial_points(seed + 7, 6))


def test_backends_agree_on_t_error():
    if "c" not in BACKENDS:
        pytest.skip("compiled kernel not built")
    net = adversarial_net(3, 3)
    S, E = adversarial_points(3, 200), adversarial_points(4, 200)
    a = segment_crossings(net, S, E, mode="certified", backend="numpy")
    b = segment_crossings(net, S, E, mode="certified", backend="c")
    assert np.array_equal(a.codes, b.codes)
    # the kernels sum the later layers' dot products in different orders: the
    # breakpoints agree within their bounds, and the bounds to rounding
    assert np.all(np.abs(a.t - b.t) <= a.t_error + b.t_error)
    assert np.allclose(a.t_error, b.t_error, rtol=1e-6, atol=0)


def _digits_segments(digits, n, seed):
    """The 6x10 digits MLP and ``n`` segments between random test images."""
    _, _, X, _ = digits
    idx = np.random.default_rng(seed).integers(0, len(X), (n, 2))
    return polyfold.zoo.digits_mlp("6x10"), X[idx[:, 0]], X[idx[:, 1]]


def test_t_error_is_small_on_benign_inputs(digits):
    net, S, E = _digits_segments(digits, 40, 2)
    res = segment_crossings(net, S, E, mode="certified")
    ex = segment_crossings(net, S, E, mode="exact")
    assert res.n_recomputed == 0
    check_t_error(res, ex)
    assert np.median(res.t_error) < 1e-10
    assert np.max(res.t_error) < 1e-6


def test_t_error_in_exact_and_float_mode():
    net = polyfold.zoo.sawtooth(3)
    ex = segment_crossings(net, [0.0], [0.7], mode="exact")
    # t* = j/8 / 0.7 (hand derivation) is rarely a float: the bound is half a spacing
    assert ex.t_exact[0] == F(1, 8) / F(0.7)
    assert np.array_equal(ex.t_error, np.spacing(ex.t) / 2)
    check_t_error(ex, ex)
    fl = segment_crossings(net, [0.0], [0.7], mode="float")
    assert fl.t_error.shape == fl.t.shape and np.all(np.isnan(fl.t_error))


# ---- first_layer_cache of the wrong mode or net (a ValidationError, not a raw buffer error)
def test_float_cache_in_certified_mode_names_the_mismatch():
    from polyfold.crossings import first_layer_cache, segment_crossings_between
    from polyfold.exceptions import ValidationError

    net = polyfold.zoo.random_mlp("4x4", 3, 2, seed=0)
    X = np.random.default_rng(0).normal(size=(10, 3))
    cache = first_layer_cache(net, X, mode="float")
    with pytest.raises(ValidationError) as err:
        segment_crossings_between(net, X, [0, 1], [2, 3], mode="certified", cache=cache)
    msg = str(err.value)
    assert "mode='float'" in msg and "mode='certified'" in msg and "first_layer_cache" in msg
    # a certified cache serves float mode too, and equals the uncached result
    cert = first_layer_cache(net, X, mode="certified")
    a = segment_crossings_between(net, X, [0, 1], [2, 3], mode="float", cache=cert)
    b = segment_crossings(net, X[[0, 1]], X[[2, 3]], mode="float")
    assert np.array_equal(a.codes, b.codes)
    exact_cache = first_layer_cache(net, X, mode="exact")
    with pytest.raises(ValidationError, match="no float values"):
        segment_crossings_between(net, X, [0], [1], mode="float", cache=exact_cache)
    other = polyfold.zoo.random_mlp([5, 4], 3, 2, seed=0)  # first layer of width 5
    with pytest.raises(ValidationError, match="does not belong to this net"):
        segment_crossings_between(other, X, [0], [1], mode="float", cache=cache)
    with pytest.raises(ValidationError, match="FirstLayerCache"):
        segment_crossings_between(net, X, [0], [1], cache=object())


# ---- magnitudes in the subnormal range: float64 bounds are relative and do not cover
# underflow, so certified mode computes such nets and segments exactly
def test_underflowing_preactivation_is_decided_exactly():
    # h0 = relu(5e-324) = 5e-324 (the smallest subnormal) on the whole segment,
    # h1 = relu(x) with x(t) = -2 + 3t, z = h0 / 4 - h1.  By hand: z = 1.25e-324 > 0
    # for t <= 2/3 (float64 rounds 0.25 * 5e-324 to 0), then z falls through 0 just
    # after h1 leaves 0.  Codes (h0, h1, z): (1,0,1) -> (1,1,1) at 2/3 -> (1,1,0).
    net = PLNet.from_arrays([(np.array([[0.0], [1.0]]), np.array([5e-324, 0.0])),
                             (np.array([[0.25, -1.0]]), np.zeros(1)), (np.ones((1, 1)), np.zeros(1))])
    for backend in BACKENDS:
        res = segment_crossings(net, [-2.0], [1.0], mode="certified", backend=backend)
        assert res.codes.tolist() == [[1, 0, 1], [1, 1, 1], [1, 1, 0]]
        assert res.exact_segments.all()
    ex = segment_crossings(net, [-2.0], [1.0], mode="exact")
    assert ex.t_exact[0] == F(2, 3) and F(2, 3) < ex.t_exact[1] < F(2, 3) + F(1, 10**300)


def test_first_layer_scaled_into_the_subnormal_range_keeps_its_regions():
    # scaling layer 0 (W, b) and every later bias by 2^-1060 is exact in rationals and
    # changes no sign: the codes must equal the unscaled net's (exact mode); with the
    # float64 bounds alone, seed 3 gets a wrong region
    rng = np.random.default_rng(3)
    layers = [(rng.integers(-3, 4, (5, 3)).astype(float), rng.integers(-2, 3, 5).astype(float)),
              (rng.integers(-3, 4, (4, 5)).astype(float), rng.integers(-2, 3, 4).astype(float)),
              (rng.integers(-2, 3, (1, 4)).astype(float), np.zeros(1))]
    c = 2.0**-1060
    scaled = [(layers[0][0] * c, layers[0][1] * c)] + [(W, b * c) for W, b in layers[1:]]
    S, E = rng.integers(-3, 4, (2, 6, 3)).astype(float)
    want = segment_crossings(PLNet.from_arrays(layers), S, E, mode="exact")
    res = segment_crossings(PLNet.from_arrays(scaled), S, E, mode="certified")
    assert np.array_equal(res.n_pieces, want.n_pieces) and np.array_equal(res.codes, want.codes)


# ---- magnitudes beyond float64: the kernels would compute inf (or NaN) there, so the
# segments whose values may overflow are computed exactly, in float mode as well
@pytest.mark.parametrize("mode", ["float", "certified"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_values_overflowing_in_a_hidden_layer_keep_their_regions(mode, backend):
    # x from -1 to 1 (t = (x + 1) / 2), c = 1e200;  a = relu(c x), b = relu(c (1/2 - x)),
    # z = c (a - 2 b), about 1e400 (beyond float64).  By hand: a switches at x = 0
    # (t = 1/2), b at x = 1/2 (t = 3/4), and for 0 < x < 1/2 z > 0 iff x > 2 (1/2 - x),
    # x > 1/3 (t = 2/3).  Codes (a, b, z): (0,1,0), (1,1,0), (1,1,1), (1,0,1).
    c = 1e200
    net = PLNet.from_arrays([(np.array([[c], [-c]]), np.array([0.0, c / 2])),
                             (np.array([[c, -2 * c]]), np.zeros(1)), (np.ones((1, 1)), np.zeros(1))])
    res = segment_crossings(net, [-1.0], [1.0], mode=mode, backend=backend)
    assert res.codes.tolist() == [[0, 1, 0], [1, 1, 0], [1, 1, 1], [1, 0, 1]]
    assert np.allclose(res.breakpoints(0), [1 / 2, 2 / 3, 3 / 4], rtol=0, atol=1e-15)
    assert res.exact_segments.all()


@pytest.mark.parametrize("mode", ["float", "certified"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_nets_scaled_beyond_float64_keep_their_regions(mode, backend):
    # ReLU is positively homogeneous: scaling layer 0 by 2^600 and layer 1 by 2^500
    # multiplies the values of layers 1 and 2 by 2^1100 (beyond float64) and changes no
    # sign when their biases are 0, so the codes are the unscaled net's (exact mode)
    rng = np.random.default_rng(5)
    layers = [(rng.integers(-3, 4, (5, 3)).astype(float), rng.integers(-2, 3, 5).astype(float)),
              (rng.integers(-3, 4, (4, 5)).astype(float), np.zeros(4)),
              (rng.integers(-3, 4, (3, 4)).astype(float), np.zeros(3)),
              (rng.integers(-2, 3, (1, 3)).astype(float), np.zeros(1))]
    c0, c1 = 2.0**600, 2.0**500
    scaled = [(layers[0][0] * c0, layers[0][1] * c0), (layers[1][0] * c1, layers[1][1])] + layers[2:]
    S, E = rng.integers(-3, 4, (2, 8, 3)).astype(float)
    want = segment_crossings(PLNet.from_arrays(layers), S, E, mode="exact")
    res = segment_crossings(PLNet.from_arrays(scaled), S, E, mode=mode, backend=backend)
    assert np.array_equal(res.n_pieces, want.n_pieces) and np.array_equal(res.codes, want.codes)
    assert res.exact_segments.any()


@pytest.mark.parametrize("backend", BACKENDS)
def test_certified_does_not_decide_from_overflowed_values(backend):
    # a fuzzed net (integer weights times 1e168, 1e70, 1e75): the hard tanh layer's
    # values reach about 1e313; with the float64 values (inf) certified mode took
    # unit 7 for above its window (code 3), where exact arithmetic puts it below (0)
    layers = [(np.array([[2, 2], [2, 1], [1, -3]]) * 1e168, np.array([2, 2, -2]) * 1e168),
              (np.array([[0, 3, 1], [2, 3, -1], [3, 2, -1]]) * 1e70, np.array([0, 2, 1]) * 1e70),
              (np.array([[-2, -1, -1], [1, 0, -3], [1, 3, 1]]) * 1e75, np.array([1, 0, 2]) * 1e75),
              (np.array([[2.0, 1.0, -1.0]]), np.zeros(1))]
    net = PLNet(layers, [polyfold.ReLU(), polyfold.LeakyReLU(0.5), polyfold.HardTanh(-1e250, 1e280)])
    want = segment_crossings(net, [-1.0, 3.0], [0.0, 2.0], mode="exact")
    assert want.codes[0, 7] == 0
    res = segment_crossings(net, [-1.0, 3.0], [0.0, 2.0], mode="certified", backend=backend)
    assert np.array_equal(res.codes, want.codes) and res.exact_segments.all()


@pytest.mark.parametrize("mode", ["float", "certified"])
def test_first_layer_values_beyond_float64_are_computed_exactly(mode):
    # z0 = 1e308 (x1 + x2) overflows at both ends of the segment (1, 1) -> (-1, 1/2);
    # it falls through 0 at t = 4/5 (2 - 5t / 2 = 0); z1 = x1 - x2 is 0 at t = 0 and
    # negative after (code 0 throughout)
    net = PLNet.from_arrays([(np.array([[1e308, 1e308], [1.0, -1.0]]), np.zeros(2)),
                             (np.ones((1, 2)), np.zeros(1))])
    res = segment_crossings(net, [[1.0, 1.0]], [[-1.0, 0.5]], mode=mode)
    assert res.codes.tolist() == [[1, 0], [0, 0]]
    assert np.allclose(res.breakpoints(0), [0.8], rtol=0, atol=1e-15)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", [4, 13, 58])
def test_layers_shrinking_values_into_the_subnormal_range_keep_their_regions(backend, seed):
    # every weight matrix times 2^-150 .. 2^-300 (no parameter below TINY_MAGNITUDE),
    # layer 0's bias times 2^-c0 and the later biases 0: ReLU's homogeneity keeps every
    # sign, so the codes are the unscaled net's (exact mode), while the values of the
    # deeper layers fall below 2^-1000.  With the relative float64 bounds alone 56 of
    # 120 such runs were wrong (seed 58 lost regions).
    rng = np.random.default_rng(seed)
    layers, prev = [], 2
    cs = [2.0 ** -int(rng.integers(150, 300)) for _ in range(5)]
    for k in range(5):
        layers.append((rng.integers(-3, 4, (3, prev)).astype(float),
                       rng.integers(-2, 3, 3).astype(float) if k == 0 else np.zeros(3)))
        prev = 3
    layers.append((rng.integers(-2, 3, (1, 3)).astype(float), np.zeros(1)))
    scaled = [(layers[0][0] * cs[0], layers[0][1] * cs[0])]
    scaled += [(W * c, b) for (W, b), c in zip(layers[1:5], cs[1:])] + layers[5:]
    S, E = rng.integers(-3, 4, (2, 6, 2)).astype(float)
    want = segment_crossings(PLNet.from_arrays(layers), S, E, mode="exact")
    res = segment_crossings(PLNet.from_arrays(scaled), S, E, mode="certified", backend=backend)
    assert np.array_equal(res.n_pieces, want.n_pieces) and np.array_equal(res.codes, want.codes)
    assert res.exact_segments.any()


def _shrinking_graph(seed, scale):
    # conv, conv, dense, dense (ReLU), weights times 2^-150 .. 2^-300 when scaled, the
    # first bias with them and the later ones 0 (homogeneity: the signs do not change)
    from polyfold import GraphBuilder

    rng = np.random.default_rng(seed)
    cs = [2.0 ** -int(rng.integers(150, 300)) for _ in range(4)]
    cs = cs if scale else [1.0] * 4
    w1 = rng.integers(-3, 4, (2, 1, 2, 2)).astype(float)
    b1 = rng.integers(-2, 3, 2).astype(float)
    w2 = rng.integers(-3, 4, (2, 2, 2, 2)).astype(float)
    W3 = rng.integers(-3, 4, (3, 2)).astype(float)
    W4 = rng.integers(-3, 4, (3, 3)).astype(float)
    Wo = rng.integers(-2, 3, (1, 3)).astype(float)
    g = GraphBuilder((1, 3, 3))
    h = g.relu(g.conv(g.input, w1 * cs[0], b1 * cs[0]))
    h = g.relu(g.conv(h, w2 * cs[1], np.zeros(2)))
    h = g.relu(g.dense(g.flatten(h), W3 * cs[2], np.zeros(3)))
    h = g.relu(g.dense(h, W4 * cs[3], np.zeros(3)))
    return g.build(g.dense(h, Wo, np.zeros(1))), rng.integers(-3, 4, (2, 4, 9)).astype(float)


@pytest.mark.parametrize("seed", [13, 55])
def test_graph_layers_shrinking_values_into_the_subnormal_range_keep_their_regions(seed):
    # as the dense test above, through the graph kernel (both seeds were wrong before)
    net, (S, E) = _shrinking_graph(seed, True)
    ref, _ = _shrinking_graph(seed, False)
    want = segment_crossings(ref, S, E, mode="exact")
    res = segment_crossings(net, S, E, mode="certified")
    assert np.array_equal(res.n_pieces, want.n_pieces) and np.array_equal(res.codes, want.codes)


def test_graph_nets_with_tiny_parameters_are_computed_exactly():
    from test_graph_crossings import small_cnn

    from polyfold.crossings import _net_has_tiny_parameters

    net, dense = small_cnn(0)
    assert not _net_has_tiny_parameters(net) and not _net_has_tiny_parameters(dense)
    g = polyfold.GraphBuilder((2,))
    tiny = g.build(g.dense(g.relu(g.dense(g.input, np.eye(2), np.array([5e-324, 0.0]))), np.ones((1, 2)),
                           np.zeros(1)))
    assert _net_has_tiny_parameters(tiny)
    res = segment_crossings(tiny, [[-1.0, -1.0]], [[1.0, 1.0]], mode="certified")
    assert res.exact_segments.all()


def test_tiny_input_coordinates_keep_the_breakpoint_bound():
    # x1 = 5e-324 on the whole segment, h0 = relu(0.3 x1) = 1.5e-324 exactly, which
    # float64 rounds to 5e-324; h1 = relu(x2) = t; z = h0 - 1e-300 h1 switches at
    # t* = 1.5e-324 / 1e-300 = 1.5e-24 (hand derivation), where float64 puts 5e-24
    net = PLNet.from_arrays([(np.array([[0.3, 0.0], [0.0, 1.0]]), np.zeros(2)),
                             (np.array([[1.0, -1e-300]]), np.zeros(1)), (np.ones((1, 1)), np.zeros(1))])
    S, E = np.array([[5e-324, 0.0]]), np.array([[5e-324, 1.0]])
    ex = segment_crossings(net, S, E, mode="exact")
    assert ex.t_exact[0] == F(0.3) * F(5e-324) / F(1e-300)  # (the floats 0.3 and 1e-300)
    for backend in BACKENDS:
        res = segment_crossings(net, S, E, mode="certified", backend=backend)
        assert res.codes.tolist() == [[1, 1, 1], [1, 1, 0]]
        check_t_error(res, ex)


def test_exact_first_values_of_graph_nets_are_not_taken_for_underflow():
    # a max pool straight on the inputs passes input values on unchanged (error bound
    # exactly 0): certified mode must not send such nets to exact arithmetic
    g = polyfold.GraphBuilder((1, 4, 4))
    net = g.build(g.dense(g.flatten(g.max_pool(g.input, 2)), np.random.default_rng(0).normal(size=(2, 4))))
    rng = np.random.default_rng(1)
    S, E = rng.normal(size=(2, 20, 16))
    res = segment_crossings(net, S, E, mode="certified")
    ex = segment_crossings(net, S, E, mode="exact")
    assert not res.exact_segments.any()
    assert np.array_equal(res.codes, ex.codes)


def test_max_unit_switch_bound_covers_the_rounding_of_close_slopes():
    # max(x0, x1) along segments where both coordinates are large (about 10^k) and move
    # almost in parallel: the switch s = A / (sl_1 - sl_0) divides by a difference of
    # two rounded slopes of size 10^k, whose rounding (u 10^k) dwarfs the difference.
    # Checked against exact mode in rationals (this bound was once too small by a
    # factor of up to 10^7 on such inputs).
    g = polyfold.GraphBuilder((1, 1, 2))
    net = g.build(g.dense(g.flatten(g.max_pool(g.input, (1, 2))), np.ones((1, 1))))
    rng = np.random.default_rng(0)
    for _ in range(100):
        big = 10.0 ** rng.integers(1, 8)
        s1 = big * (1 + rng.random())
        s0 = s1 + rng.random()
        e0 = rng.random()
        S, E = np.array([[s0, s1]]), np.array([[e0, e0 + rng.random()]])
        res = segment_crossings(net, S, E, mode="certified")
        ex = segment_crossings(net, S, E, mode="exact")
        assert res.codes.tolist() == ex.codes.tolist()
        check_t_error(res, ex)


def test_hard_tanh_window_crossed_within_rounding_keeps_its_order():
    # z(t) = 1e16 (1 - 2t) falls through the window [0, 1/2] between t = 1/2 - 2.5e-17
    # and t = 1/2 (hand derivation): codes 2 -> 1 -> 0.  Both crossings round to the
    # float 0.5, where each new point holds z exactly at its own threshold; the float
    # order of the two (lo first) is the wrong one, which only their position bounds
    # reveal: certified mode must recompute, not give the last piece code 1.
    g = polyfold.GraphBuilder((1,))
    net = g.build(g.dense(g.hardtanh(g.dense(g.input, np.ones((1, 1)), np.zeros(1)), lo=0.0, hi=0.5),
                          np.ones((1, 1))))
    res = segment_crossings(net, [[1e16]], [[-1e16]], mode="certified")
    assert res.codes.tolist() == [[2], [1], [0]]
    ex = segment_crossings(net, [[1e16]], [[-1e16]], mode="exact")
    assert ex.t_exact == (F(1, 2) - F(1, 4 * 10**16), F(1, 2))
    check_t_error(res, ex)


def test_padded_max_pools_under_unbounded_errors_warn_nothing():
    # a graph net found by fuzzing (conv with weights near 2^25, leaky ReLU, a padded
    # max pool, hard tanh, residual add): new points with unbounded errors meet the
    # pool's missing candidates (-inf + inf); the NaN decides nothing, and no
    # RuntimeWarning may reach the user
    import warnings
    from pathlib import Path

    data = Path(__file__).parent / "data"
    net = polyfold.load(data / "nan_bounds_graph.npz")
    seg = np.load(data / "nan_bounds_segments.npz")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        res = segment_crossings(net, seg["S"], seg["E"], mode="certified")
    ex = segment_crossings(net, seg["S"], seg["E"], mode="exact")
    assert np.array_equal(res.codes, ex.codes)
    check_t_error(res, ex)


def test_block_bounds_of_a_width_32_net_against_exact_and_between_backends():
    # widths above EB_POINTWISE_WIDTH share one bound product per block of points
    # (the block's maxima); the bands at the points use the segment's largest slope
    # bound.  Certified codes must still be exact mode's, t_error must hold in
    # rationals, and the two kernels (which mirror each other) must agree on t_error.
    from polyfold._segment_kernel import EB_POINTWISE_WIDTH, eb_block

    rng = np.random.default_rng(11)
    widths = [32, 32, 32]
    layers, n_in = [], 4
    for w in widths:
        layers.append((rng.integers(-3, 4, (w, n_in)).astype(float), rng.integers(-2, 3, w).astype(float)))
        n_in = w
    layers.append((rng.integers(-2, 3, (1, n_in)).astype(float), np.zeros(1)))
    net = PLNet.from_arrays(layers)
    assert max(widths) > EB_POINTWISE_WIDTH and eb_block(net) > 1
    S, E = rng.uniform(-1, 1, (12, 4)), rng.uniform(-1, 1, (12, 4))
    check_backends_against_exact(net, S, E)
    if "c" in BACKENDS:
        a = segment_crossings(net, S, E, mode="certified", backend="numpy")
        b = segment_crossings(net, S, E, mode="certified", backend="c")
        assert np.array_equal(a.codes, b.codes)
        assert np.allclose(a.t_error, b.t_error, rtol=1e-6, atol=0)


# ---- float mode on subnormal-range nets: a warning, not a silent answer
def test_float_mode_warns_on_a_net_with_subnormal_range_parameters():
    # a weight of 1e-320 is subnormal: products with it lose their relative precision
    net = PLNet.from_arrays([(np.array([[1e-320], [1.0]]), np.array([0.0, -0.5])),
                             (np.ones((1, 2)), np.zeros(1))])
    with pytest.warns(polyfold.PolyfoldWarning, match="certified"):
        segment_crossings(net, [[-1.0]], [[1.0]], mode="float")
    # certified mode needs no warning: it computes such a net exactly (x = 0 and x = 1/2,
    # t = 1/2 and 3/4 by hand)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = segment_crossings(net, [[-1.0]], [[1.0]], mode="certified")
        assert res.exact_segments.all() and res.breakpoints(0).tolist() == [0.5, 0.75]
        segment_crossings(polyfold.zoo.sawtooth(3), [0.0], [1.0], mode="float")


# ---- chunking: certified combinatorics do not depend on it, and t_error covers the float t
def test_certified_results_do_not_depend_on_the_chunk_size(digits):
    net, S, E = _digits_segments(digits, 300, 8)
    ref = segment_crossings(net, S, E, mode="certified", chunk_size=4096)
    ex = segment_crossings(net, S[:40], E[:40], mode="exact")
    for cs in (1, 7, 100, 299):
        res = segment_crossings(net, S, E, mode="certified", chunk_size=cs)
        assert np.array_equal(res.codes_packed, ref.codes_packed)
        assert np.array_equal(res.n_pieces, ref.n_pieces)
        assert np.all(np.abs(res.t - ref.t) <= res.t_error + ref.t_error)
        k = ex.breakpoint_offsets[-1]
        tx = np.array([float(v) for v in ex.t_exact[:k]])
        # (the exact breakpoints, rounded: within t_error plus half a spacing)
        assert np.all(np.abs(res.t[:k] - tx) <= res.t_error[:k] + np.spacing(tx))
