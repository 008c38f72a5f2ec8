"""Segment crossings: ground truth, the three modes, degenerate cases, bad input."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, strategies as st

import polyfold
from polyfold import PLNet, segment_crossings
from polyfold.crossings import first_layer_cache, segment_crossings_between
from polyfold.exceptions import NonFiniteError, PolyfoldError, ShapeError, ValidationError
from polyfold.network import HardTanh, LeakyReLU

MODES = ["float", "certified", "exact"]


def as_floats(bps):
    return np.array([float(v) for v in bps])


# ---- sawtooth: 2^L pieces, breakpoints j / 2^L ------------------------------------
@pytest.mark.parametrize("L", range(1, 11))
@pytest.mark.parametrize("mode", MODES)
def test_sawtooth_pieces_and_breakpoints(L, mode):
    if mode == "exact" and L > 8:
        pytest.skip("exact mode checked up to L = 8 to keep the suite fast")
    res = segment_crossings(polyfold.zoo.sawtooth(L), [0.0], [1.0], mode=mode)
    assert res.n_pieces.tolist() == [2**L]
    expected = [Fraction(j, 2**L) for j in range(1, 2**L)]
    if mode == "exact":
        assert res.breakpoints(0) == expected
    else:
        assert np.array_equal(res.breakpoints(0), as_floats(expected))


@pytest.mark.parametrize("L", [3, 5])
def test_sawtooth_switching_neurons_by_hand(L):
    # T^k(x) = 1/2 exactly at x = odd / 2^(k+1): there the second neuron of hidden
    # layer k switches; the first neuron of every layer only touches zero (T >= 0).
    res = segment_crossings(polyfold.zoo.sawtooth(L), [0.0], [1.0], mode="exact")
    for j, units in zip(range(1, 2**L), res.switches(0)):
        tz = (j & -j).bit_length() - 1  # trailing zeros of j
        k = L - 1 - tz
        assert units == [(k, 1)]
    first_neurons = res.piece_codes(0)[:, 0::2]
    assert np.all(first_neurons == 1)


# ---- a generic line crosses all n hyperplanes ------------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_line_crosses_every_hyperplane(mode):
    n, d = 12, 3
    net = polyfold.zoo.arrangement(n, d, seed=4)
    W, b = net.layers[0]
    rng = np.random.default_rng(0)
    p, v = rng.normal(size=d), rng.normal(size=d)
    # hyperplane j meets p + s v at s_j = -(w.p + b) / (w.v); cover all of them
    s = -(W @ p + b) / (W @ v)
    lo, hi = s.min() - 1.0, s.max() + 1.0
    start, end = p + lo * v, p + hi * v
    res = segment_crossings(net, start, end, mode=mode)
    assert res.n_pieces.tolist() == [n + 1]
    t_expected = np.sort((s - lo) / (hi - lo))
    assert np.allclose(as_floats(res.breakpoints(0)), t_expected, atol=1e-12)
    assert sorted(u for units in res.switches(0) for (_, u) in units) == list(range(n))


# ---- degenerate cases ---------------------------------------------------------------
def test_symmetric_neurons_switch_together_as_one_breakpoint():
    # h1 = ReLU(x), h2 = ReLU(-x) switch at x = 0; layer 2: z = h1 + h2 = |x| touches 0
    net = PLNet.from_arrays(
        [
            (np.array([[1.0], [-1.0]]), np.zeros(2)),
            (np.array([[1.0, 1.0]]), np.zeros(1)),
            (np.array([[1.0]]), np.zeros(1)),
        ]
    )
    for mode in MODES:
        res = segment_crossings(net, [-1.0], [1.0], mode=mode)
        assert res.n_pieces.tolist() == [2]
        assert as_floats(res.breakpoints(0)).tolist() == [0.5]
        assert res.switches(0) == [[(0, 0), (0, 1)]]
        # |x| > 0 on both open pieces: the touching neuron is active on both
        assert res.piece_codes(0)[:, 2].tolist() == [1, 1]


def test_duplicated_neurons_are_one_breakpoint():
    rng = np.random.default_rng(3)
    W = rng.normal(size=(3, 2))
    b = rng.normal(size=3)
    W = np.vstack([W, W[1]])  # neuron 3 duplicates neuron 1
    b = np.append(b, b[1])
    net = PLNet.from_arrays([(W, b), (np.ones((1, 4)), np.zeros(1))])
    # a segment across hyperplane 1 (and so across its duplicate)
    p0 = -b[1] * W[1] / (W[1] @ W[1])
    start, end = p0 - W[1] + 0.1, p0 + W[1] + 0.1
    for mode in MODES:
        res = segment_crossings(net, start, end, mode=mode)
        sw = res.switches(0)
        together = [u for u in sw if (0, 1) in u]
        assert together == [[(0, 1), (0, 3)]]


def test_zero_without_sign_change_is_not_a_crossing():
    # z2 = ReLU(x) + ReLU(-x) - 0 touches zero at x = 0 only from above
    net = PLNet.from_arrays(
        [
            (np.array([[1.0], [-1.0]]), np.zeros(2)),
            (np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([0.0, -1.0])),
            (np.array([[1.0, 1.0]]), np.zeros(1)),
        ]
    )
    # on [-2, 2]: layer 0 switches at x = 0; |x| - 1 crosses zero at x = -1 and 1
    for mode in MODES:
        res = segment_crossings(net, [-2.0], [2.0], mode=mode)
        assert as_floats(res.breakpoints(0)).tolist() == [0.25, 0.5, 0.75]
        assert res.switches(0) == [[(1, 1)], [(0, 0), (0, 1)], [(1, 1)]]


def test_neuron_identically_zero_is_inactive_and_flagged():
    # second-layer neuron with zero weights and bias: z == 0 along everything
    net = PLNet.from_arrays(
        [
            (np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros(2)),
            (np.array([[0.0, 0.0], [1.0, 1.0]]), np.zeros(2)),
            (np.ones((1, 2)), np.zeros(1)),
        ]
    )
    for mode in MODES:
        res = segment_crossings(net, [0.5, 0.5], [1.0, 2.0], mode=mode)
        assert res.degenerate.tolist() == [True]
        assert np.all(res.piece_codes(0)[:, 2] == 0)


def test_segment_inside_a_hyperplane():
    # neuron z = x2; the segment runs along x2 = 0
    net = PLNet.from_arrays([(np.array([[0.0, 1.0], [1.0, 0.0]]), np.array([0.0, -0.5])), (np.ones((1, 2)), np.zeros(1))])
    for mode in MODES:
        res = segment_crossings(net, [0.0, 0.0], [1.0, 0.0], mode=mode)
        assert res.degenerate.tolist() == [True]
        assert res.n_pieces.tolist() == [2]
        assert res.piece_codes(0)[:, 0].tolist() == [0, 0]
        assert res.piece_codes(0)[:, 1].tolist() == [0, 1]


def test_endpoint_on_boundary():
    net = PLNet.from_arrays([(np.array([[1.0]]), np.zeros(1)), (np.ones((1, 1)), np.zeros(1))])
    for mode in MODES:
        res = segment_crossings(net, [0.0], [1.0], mode=mode)
        assert res.n_pieces.tolist() == [1]
        # the piece just after the start is active even though x = 0 itself is not
        assert res.piece_codes(0).tolist() == [[1]]
        assert res.endpoint_on_boundary.tolist() == [[True, False]]
    res = segment_crossings(net, [1.0], [0.0], mode="certified")
    assert res.endpoint_on_boundary.tolist() == [[False, True]]
    assert res.n_recomputed == 1  # the bound cannot decide z == 0: recomputed exactly


def test_zero_length_segment_is_one_piece():
    net = polyfold.zoo.random_mlp([5, 5], 3, seed=2)
    x = np.array([0.3, -0.2, 0.7])
    for mode in MODES:
        res = segment_crossings(net, x, x, mode=mode)
        assert res.n_pieces.tolist() == [1]
        assert np.array_equal(res.piece_codes(0)[0], net.codes(x[None])[0])


def test_hardtanh_thresholds_and_pieces():
    # z = 3x - 1 on [0, 1] with hardtanh(-1, 1): thresholds at z = -1 (x = 0, the start),
    # z = 0 (x = 1/3), z = 1 (x = 2/3)
    net = PLNet.from_arrays([(np.array([[3.0]]), np.array([-1.0])), (np.ones((1, 1)), np.zeros(1))], HardTanh(-1, 1))
    res = segment_crossings(net, [0.0], [1.0], mode="exact")
    assert res.breakpoints(0) == [Fraction(1, 3), Fraction(2, 3)]
    assert res.piece_codes(0).ravel().tolist() == [1, 2, 3]
    assert res.piece_pieces(0).ravel().tolist() == [1, 1, 2]
    assert res.piece_patterns(0).ravel().tolist() == [False, True, True]
    for mode in ("float", "certified"):
        r = segment_crossings(net, [0.0], [1.0], mode=mode)
        assert np.allclose(r.breakpoints(0), [1 / 3, 2 / 3])


def test_leaky_relu_crossings():
    net = PLNet.from_arrays([(np.array([[2.0], [-1.0]]), np.array([-1.0, 0.25])), (np.ones((1, 2)), np.zeros(1))], LeakyReLU(0.1))
    res = segment_crossings(net, [-1.0], [1.0], mode="exact")
    # 2x - 1 = 0 at x = 1/2 (t = 3/4); -x + 1/4 = 0 at x = 1/4 (t = 5/8)
    assert res.breakpoints(0) == [Fraction(5, 8), Fraction(3, 4)]


def test_piece_affine_maps_match_forward():
    net = polyfold.zoo.random_mlp([6, 6], 2, output_dim=2, seed=7)
    a, b = np.array([-2.0, -1.0]), np.array([2.0, 1.5])
    res = segment_crossings(net, a, b)
    V, u = res.piece_affine(0)
    for (t0, t1), Vi, ui in zip(res.piece_bounds(0), V, u):
        x = a + 0.5 * (t0 + t1) * (b - a)
        assert np.allclose(Vi @ x + ui, net.forward(x))


# ---- properties on random small integer nets (exact ties are common there) -----------
small_ints = st.integers(-3, 3)


@st.composite
def integer_case(draw):
    d = draw(st.integers(1, 3))
    widths = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    seed = draw(st.integers(0, 10_000))
    net = polyfold.zoo.random_mlp(widths, d, seed=seed, integer=True)
    a = np.array(draw(st.lists(small_ints, min_size=d, max_size=d)), float)
    b = np.array(draw(st.lists(small_ints, min_size=d, max_size=d)), float)
    return net, a, b


def exact_codes_at(net, a, b, t):
    """Codes at x(t) computed independently with Fractions and the exact forward pass."""
    from polyfold import arith

    x = np.array([arith.to_fmpq(ai) + arith.to_fmpq(t) * (arith.to_fmpq(bi) - arith.to_fmpq(ai)) for ai, bi in zip(a, b)], dtype=object)
    return net.codes_exact(x.reshape(1, -1))[0]


@given(integer_case())
def test_modes_agree_and_codes_constant_on_pieces(case):
    net, a, b = case
    ex = segment_crossings(net, a, b, mode="exact")
    ce = segment_crossings(net, a, b, mode="certified")
    fl = segment_crossings(net, a, b, mode="float")
    bps = [Fraction(0)] + ex.breakpoints(0) + [Fraction(1)]
    # certified and exact agree always
    assert np.array_equal(ce.piece_codes(0), ex.piece_codes(0))
    assert np.allclose(ce.breakpoints(0), as_floats(ex.breakpoints(0)), rtol=0, atol=1e-12)
    # float agrees wherever certified did not need exact arithmetic
    if not ce.exact_segments[0]:
        assert np.array_equal(fl.piece_codes(0), ex.piece_codes(0))
    # codes on each piece = exact forward pass at rational points inside the piece
    for (lo, hi), code in zip(zip(bps[:-1], bps[1:]), ex.piece_codes(0)):
        for w in (Fraction(1, 3), Fraction(1, 2), Fraction(4, 5)):
            assert np.array_equal(exact_codes_at(net, a, b, lo + w * (hi - lo)), code)
    # consecutive pieces differ
    c = ex.piece_codes(0)
    assert np.all(np.any(c[1:] != c[:-1], axis=1))


@given(integer_case())
def test_reversal_maps_t_to_one_minus_t(case):
    net, a, b = case
    fw = segment_crossings(net, a, b, mode="exact")
    bw = segment_crossings(net, b, a, mode="exact")
    assert bw.breakpoints(0) == [1 - t for t in reversed(fw.breakpoints(0))]
    assert np.array_equal(bw.piece_codes(0), fw.piece_codes(0)[::-1])


@given(integer_case())
def test_splitting_at_midpoint_splits_crossings(case):
    net, a, b = case
    m = (a + b) / 2  # exact in float for integer endpoints
    whole = segment_crossings(net, a, b, mode="exact")
    left = segment_crossings(net, a, m, mode="exact")
    right = segment_crossings(net, m, b, mode="exact")
    half = Fraction(1, 2)
    joined = [t * half for t in left.breakpoints(0)] + [half + t * half for t in right.breakpoints(0)]
    codes = np.vstack([left.piece_codes(0), right.piece_codes(0)])
    if np.array_equal(left.piece_codes(0)[-1], right.piece_codes(0)[0]):
        codes = np.vstack([left.piece_codes(0), right.piece_codes(0)[1:]])
    else:
        joined = sorted(set(joined) | {half})
    assert joined == whole.breakpoints(0)
    assert np.array_equal(codes, whole.piece_codes(0))


def test_batch_equals_one_by_one():
    net = polyfold.zoo.random_mlp([8, 8, 8], 5, seed=11)
    rng = np.random.default_rng(5)
    S, E = rng.normal(size=(30, 5)), rng.normal(size=(30, 5))
    for mode in ("float", "certified"):
        batch = segment_crossings(net, S, E, mode=mode, chunk_size=7)
        for i in range(30):
            one = segment_crossings(net, S[i], E[i], mode=mode)
            assert np.array_equal(batch.piece_codes(i), one.piece_codes(0))
            assert np.allclose(batch.breakpoints(i), one.breakpoints(0), rtol=0, atol=1e-13)
    flat = batch.segment_index
    assert len(flat) == batch.codes.shape[0] and flat[-1] == 29


def test_digits_modes_agree_and_grid_is_subsequence(digits):
    from polyfold.sampling import grid_patterns, is_subsequence, missed_regions

    _, _, Xte, _ = digits
    net = polyfold.zoo.digits_mlp("6x10")
    rng = np.random.default_rng(0)
    idx = rng.integers(0, len(Xte), size=(40, 2))
    S, E = Xte[idx[:, 0]], Xte[idx[:, 1]]
    ce = segment_crossings(net, S, E, mode="certified")
    fl = segment_crossings(net, S, E, mode="float")
    ex = segment_crossings(net, S[:8], E[:8], mode="exact")
    for i in range(8):
        assert np.array_equal(ex.piece_codes(i), ce.piece_codes(i))
        assert np.allclose(as_floats(ex.breakpoints(i)), ce.breakpoints(i), rtol=0, atol=1e-12)
    assert np.array_equal(fl.codes, ce.codes)
    grid = grid_patterns(net, S, E, 1000)
    for i in range(40):
        assert is_subsequence(ce.piece_codes(i), grid.piece_codes(i))
    assert np.all(missed_regions(ce, grid) >= 0)


def test_between_equals_direct(digits):
    _, _, Xte, _ = digits
    net = polyfold.zoo.digits_mlp("3x20")
    X = Xte[:50]
    rng = np.random.default_rng(1)
    i, j = rng.integers(0, 50, 25), rng.integers(0, 50, 25)
    for mode in ("float", "certified"):
        cache = first_layer_cache(net, X, mode=mode)
        a = segment_crossings_between(net, X, i, j, mode=mode, cache=cache)
        b = segment_crossings(net, X[i], X[j], mode=mode)
        assert np.array_equal(a.codes, b.codes)
        assert np.allclose(a.t, b.t, rtol=0, atol=1e-13)  # BLAS blocking may differ in ulps
    a = segment_crossings_between(net, X, i[:2], j[:2], mode="exact")
    b = segment_crossings(net, X[i[:2]], X[j[:2]], mode="exact")
    assert a.t_exact == b.t_exact


def test_between_rejects_a_cache_of_other_points_nets_or_bounds():
    # x -> (x - 1/4, x - 3/4) from 0 to 1 switches at 1/4 and 3/4; a cache of other
    # points, of a net with another first layer or of other bounds must not be used
    net = PLNet.from_arrays([(np.array([[1.0], [1.0]]), np.array([-0.25, -0.75])),
                             (np.ones((1, 2)), np.zeros(1))])
    other = PLNet.from_arrays([(np.array([[1.0], [1.0]]), np.array([-0.5, -0.6])),
                               (np.ones((1, 2)), np.zeros(1))])
    P, Q = np.array([[0.0], [1.0]]), np.array([[1.0], [0.5]])
    for mode in ("exact", "float", "certified"):
        with pytest.raises(ValidationError, match="other points"):
            segment_crossings_between(net, P, [0], [1], mode=mode, cache=first_layer_cache(net, Q, mode=mode))
        with pytest.raises(ValidationError, match="does not belong to this net"):
            segment_crossings_between(net, P, [0], [1], mode=mode, cache=first_layer_cache(other, P, mode=mode))
        # an equal copy of the points (and an equal copy of the net) is fine
        same = PLNet.from_arrays([(W.copy(), b.copy()) for W, b in net.layers])
        res = segment_crossings_between(net, P.copy(), [0], [1], mode=mode, cache=first_layer_cache(same, P, mode=mode))
        assert [float(t) for t in res.breakpoints(0)] == [0.25, 0.75]
    with pytest.raises(ValidationError, match="tol.safety"):
        segment_crossings_between(net, P, [0], [1], tol=polyfold.Tolerance(safety=4.0),
                                  cache=first_layer_cache(net, P))


def test_exact_mode_returns_fractions():
    res = segment_crossings(polyfold.zoo.sawtooth(2), [0.1], [0.9], mode="exact")
    assert all(isinstance(t, Fraction) for t in res.breakpoints(0))
    assert res.mode == "exact" and res.exact_segments.all()


# ---- bad input ------------------------------------------------------------------------
@pytest.fixture
def net3():
    return polyfold.zoo.random_mlp([4], 3, seed=0)


@pytest.mark.parametrize(
    "starts, ends, error, words",
    [
        (np.ones((5, 2)), np.ones((5, 2)), ShapeError, "(n, 3)"),
        (np.ones((5, 3)), np.ones((4, 3)), ShapeError, "same shape"),
        ([np.nan, 0, 0], [0, 0, 0], NonFiniteError, "NaN"),
        ([0, 0, 0], [np.inf, 0, 0], NonFiniteError, "infinity"),
        (["a", "b", "c"], [0, 0, 0], ValidationError, "numeric"),
        ([1 + 1j, 0, 0], [0, 0, 0], ValidationError, "real"),
    ],
)
def test_bad_points(net3, starts, ends, error, words):
    with pytest.raises(error) as info:
        segment_crossings(net3, starts, ends)
    assert words in str(info.value)
    assert isinstance(info.value, PolyfoldError)


@pytest.mark.parametrize("mode", ["float", "certified", "exact"])
@pytest.mark.parametrize("which", ["starts", "ends"])
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_points_are_named_in_every_chunk(net3, mode, which, value):
    # float and certified mode check the points chunk by chunk, inside the first
    # layer's product: the error must still name the argument and the first bad
    # entry of the whole array, in a later chunk too
    rng = np.random.default_rng(0)
    P = {"starts": rng.random((40, 3)), "ends": rng.random((40, 3))}
    P[which][29, 2] = value
    P[which][35, 0] = np.nan
    with pytest.raises(NonFiniteError, match=rf"{which} contains NaN or infinity \(first at index \(29, 2\)\)"):
        segment_crossings(net3, P["starts"], P["ends"], mode=mode, chunk_size=8)


@pytest.mark.parametrize("mode", ["float", "certified"])
def test_sums_of_finite_points_may_overflow(mode):
    # entries near the float64 limit: their sum (the check's extra column) overflows,
    # but every entry is finite, so the segments are computed (and agree with exact)
    net = PLNet.from_arrays([(np.array([[1e-10, 1e-10, 0.0], [0.0, 1e-10, -1e-10]]), np.array([0.0, -1e297])),
                             (np.ones((1, 2)), np.zeros(1))])
    # (z0 = 1e-10 (x1 + x2) falls from 2e298 to -2e298, through 0 at t = 1/2)
    S = np.array([[1e308, 1e308, 1e308]])
    E = np.array([[-1e308, -1e308, 1e308]])
    res = segment_crossings(net, S, E, mode=mode)
    want = segment_crossings(net, S, E, mode="exact")
    assert np.array_equal(res.n_pieces, want.n_pieces) and np.array_equal(res.codes, want.codes)
    assert want.breakpoints(0) == [Fraction(1, 2)]


def test_bad_mode_and_net(net3):
    with pytest.raises(ValidationError, match="mode must be one of"):
        segment_crossings(net3, np.zeros(3), np.ones(3), mode="fast")
    with pytest.raises(ValidationError, match="PLNet"):
        segment_crossings([(np.eye(3), np.zeros(3))], np.zeros(3), np.ones(3))
    with pytest.raises(ValidationError, match="chunk_size"):
        segment_crossings(net3, np.zeros(3), np.ones(3), chunk_size=0)
    with pytest.raises(ValidationError, match="Tolerance"):
        segment_crossings(net3, np.zeros(3), np.ones(3), tol=1e-9)


def test_bad_indices(net3):
    X = np.zeros((4, 3))
    with pytest.raises(ValidationError, match="outside"):
        segment_crossings_between(net3, X, [0, 5], [1, 2])
    with pytest.raises(ValidationError, match="integer"):
        segment_crossings_between(net3, X, [0.5], [1])
    with pytest.raises(ShapeError, match="same length"):
        segment_crossings_between(net3, X, [0, 1], [1])


def test_near_tie_is_resolved_exactly_in_certified_mode():
    # two hyperplanes one ulp apart: x = a and x = nextafter(a); exact arithmetic sees
    # two breakpoints (three pieces); float mode merges them by its tolerance (documented),
    # certified mode cannot decide the order from its error bound and recomputes exactly
    a = 0.3
    a2 = np.nextafter(a, 1.0)
    net = PLNet.from_arrays([(np.array([[1.0], [1.0]]), np.array([-a, -a2])), (np.ones((1, 2)), np.zeros(1))])
    ex = segment_crossings(net, [0.0], [1.0], mode="exact")
    assert ex.breakpoints(0) == [Fraction(a), Fraction(a2)]
    ce = segment_crossings(net, [0.0], [1.0], mode="certified")
    assert ce.n_pieces.tolist() == [3] and ce.n_recomputed == 1
    assert np.array_equal(ce.piece_codes(0), ex.piece_codes(0))
    fl = segment_crossings(net, [0.0], [1.0], mode="float")
    assert fl.n_pieces.tolist() == [2]
    assert fl.switches(0) == [[(0, 0), (0, 1)]]


def test_certified_bound_does_not_blow_up_with_depth():
    # the 10x6 digits net is the deepest shipped net: the error bound must stay tight
    # enough that almost no random path needs exact arithmetic
    from polyfold.datasets import load_digits_split

    _, _, X, _ = load_digits_split()
    net = polyfold.zoo.digits_mlp("10x6")
    rng = np.random.default_rng(2)
    i, j = rng.integers(0, len(X), 200), rng.integers(0, len(X), 200)
    res = segment_crossings(net, X[i], X[j], mode="certified")
    assert res.n_recomputed <= 4
