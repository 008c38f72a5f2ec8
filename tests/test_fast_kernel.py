"""The optional compiled crossing kernel against the numpy kernel and exact arithmetic.

Float mode: identical pieces and codes, breakpoints equal to rounding (the two
kernels sum dot products in different orders).  Certified mode: identical final
results, and equal to exact mode.  Skipped when the extension is not built.
"""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import polyfold
from polyfold import PLNet, segment_crossings
from polyfold.crossings import available_backends, segment_crossings_between
from polyfold.exceptions import DependencyError, ValidationError
from polyfold.network import HardTanh, Identity, LeakyReLU, ReLU
from polyfold.tolerance import get_tol

pytestmark = pytest.mark.skipif(
    "c" not in available_backends(),
    reason="compiled kernel not built (pip install -e . with a C compiler)",
)

T_TOL = 1e-12  # breakpoints are in [0, 1]: 1e-12 relative to the segment


def assert_same(a, b, *, t_tol=T_TOL):
    """Same partition: pieces, codes and flags exactly, breakpoints to ``t_tol``."""
    assert a.n_segments == b.n_segments
    assert np.array_equal(a.n_pieces, b.n_pieces)
    assert np.array_equal(a.codes, b.codes)
    assert np.array_equal(a.degenerate, b.degenerate)
    assert np.array_equal(a.endpoint_on_boundary, b.endpoint_on_boundary)
    if len(a.t):
        assert np.max(np.abs(a.t - b.t)) <= t_tol


def assert_matches_exact(res, ex):
    """A certified result equals the exact one (codes; breakpoints to the nearest float)."""
    assert np.array_equal(res.n_pieces, ex.n_pieces)
    assert np.array_equal(res.codes, ex.codes)
    t_ex = np.array([float(v) for v in ex.t_exact])
    if len(t_ex):
        assert np.max(np.abs(res.t - t_ex)) <= T_TOL


def both(net, S, E, mode, **kw):
    a = segment_crossings(net, S, E, mode=mode, backend="numpy", **kw)
    b = segment_crossings(net, S, E, mode=mode, backend="c", **kw)
    return a, b


@pytest.fixture(scope="module")
def digits_pairs():
    from polyfold.datasets import load_digits_split

    _, _, X, _ = load_digits_split()
    rng = np.random.default_rng(1)
    idx = rng.integers(0, len(X), (300, 2))
    return X[idx[:, 0]], X[idx[:, 1]]


# ---- API -----------------------------------------------------------------------------
def test_backends_listed():
    assert available_backends() == ("c", "numpy")


def test_bad_backend_names_the_argument():
    net = polyfold.zoo.sawtooth(2)
    with pytest.raises(ValidationError, match="backend"):
        segment_crossings(net, [0.0], [1.0], backend="fortran")
    with pytest.raises(ValidationError, match="backend"):
        segment_crossings_between(net, [[0.0], [1.0]], [0], [1], backend="C ")


def test_c_backend_unavailable_says_how_to_build(monkeypatch):
    from polyfold import _fast

    monkeypatch.setattr(_fast, "_ckernel", None)
    assert polyfold.crossings.available_backends() == ("numpy",)
    with pytest.raises(DependencyError, match="pip install"):
        segment_crossings(polyfold.zoo.sawtooth(2), [0.0], [1.0], mode="float", backend="c")
    # auto falls back to numpy and still gives the 4 pieces
    res = segment_crossings(polyfold.zoo.sawtooth(2), [0.0], [1.0], mode="float")
    assert res.n_pieces.tolist() == [4]


def test_exact_mode_ignores_backend():
    res = segment_crossings(polyfold.zoo.sawtooth(3), [0.0], [1.0], mode="exact", backend="c")
    assert res.breakpoints(0) == [Fraction(j, 8) for j in range(1, 8)]


# ---- digits nets -----------------------------------------------------------------------
@pytest.mark.parametrize("arch", ["2x30", "3x20", "4x15", "5x12", "6x10", "10x6"])
def test_digits_float_identical(arch, digits_pairs):
    S, E = digits_pairs
    a, b = both(polyfold.zoo.digits_mlp(arch), S, E, "float")
    assert_same(a, b)
    assert a.n_pieces.sum() > len(S)  # the paths do cross regions


@pytest.mark.parametrize("arch", ["2x30", "6x10", "10x6"])
def test_digits_certified_identical(arch, digits_pairs):
    S, E = digits_pairs
    a, b = both(polyfold.zoo.digits_mlp(arch), S[:150], E[:150], "certified")
    assert_same(a, b)
    assert np.array_equal(a.exact_segments, b.exact_segments)


def test_digits_certified_equals_exact(digits_pairs):
    S, E = digits_pairs
    net = polyfold.zoo.digits_mlp("4x15")
    res = segment_crossings(net, S[:20], E[:20], mode="certified", backend="c")
    assert_matches_exact(res, segment_crossings(net, S[:20], E[:20], mode="exact"))


def test_between_matches_numpy(digits_pairs):
    S, _ = digits_pairs
    net = polyfold.zoo.digits_mlp("3x20")
    rng = np.random.default_rng(3)
    i, j = rng.integers(0, len(S), 200), rng.integers(0, len(S), 200)
    for mode in ("float", "certified"):
        a = segment_crossings_between(net, S, i, j, mode=mode, backend="numpy")
        b = segment_crossings_between(net, S, i, j, mode=mode, backend="c", chunk_size=64)
        assert_same(a, b)


# ---- random nets -------------------------------------------------------------------
@pytest.mark.parametrize("seed", range(4))
def test_random_he_nets(seed):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(1, 6))
    widths = tuple(int(w) for w in rng.integers(1, 20, size=int(rng.integers(1, 6))))
    net = polyfold.zoo.random_mlp(widths, d, seed=seed)
    S, E = rng.normal(size=(200, d)) * 2, rng.normal(size=(200, d)) * 2
    for mode in ("float", "certified"):
        assert_same(*both(net, S, E, mode))


@pytest.mark.parametrize(
    "activation", [LeakyReLU(0.1), LeakyReLU(-0.5), HardTanh(), HardTanh(0.0, 2.0), Identity()]
)
def test_other_activations(activation):
    rng = np.random.default_rng(7)
    net = polyfold.zoo.random_mlp((8, 8, 8), 3, seed=2, activation=activation)
    S, E = rng.normal(size=(200, 3)) * 3, rng.normal(size=(200, 3)) * 3
    for mode in ("float", "certified"):
        assert_same(*both(net, S, E, mode))
    a = segment_crossings(net, S[:15], E[:15], mode="certified", backend="c")
    assert_matches_exact(a, segment_crossings(net, S[:15], E[:15], mode="exact"))


def test_mixed_activations_per_layer():
    rng = np.random.default_rng(8)
    base = polyfold.zoo.random_mlp((6, 7, 5, 4), 2, seed=5)
    net = PLNet(base.layers, [ReLU(), HardTanh(-0.5, 0.5), LeakyReLU(0.2), Identity()])
    S, E = rng.normal(size=(150, 2)) * 3, rng.normal(size=(150, 2)) * 3
    for mode in ("float", "certified"):
        assert_same(*both(net, S, E, mode))


def _draw_integer_net(draw, depths, widths, coord, max_segments):
    """An integer random_mlp and integer segments (``depths``, ``widths``: (lo, hi))."""
    d = draw(st.integers(1, 3))
    depth = draw(st.integers(*depths))
    ws = tuple(draw(st.integers(*widths)) for _ in range(depth))
    seed = draw(st.integers(0, 10_000))
    act = draw(st.sampled_from(["relu", "leaky_relu", "hardtanh"]))
    pts = st.lists(st.integers(-coord, coord), min_size=d, max_size=d)
    segs = draw(st.lists(st.tuples(pts, pts), min_size=1, max_size=max_segments))
    S = np.array([s for s, _ in segs], float)
    E = np.array([e for _, e in segs], float)
    return polyfold.zoo.random_mlp(ws, d, seed=seed, integer=True, activation=act), S, E


@st.composite
def integer_case(draw):
    return _draw_integer_net(draw, (1, 3), (1, 5), 3, 6)


@given(integer_case())
def test_integer_nets_ties(case):
    # small integers: exact ties (several neurons at once, zeros without sign
    # change, endpoints on boundaries) are frequent; all values are exact in float
    _check_against_exact(*case)


def _check_against_exact(net, S, E):
    """Certified: C and numpy kernels agree and match exact mode; float: they agree on
    the segments where no unit is constant at a threshold along a piece (exact mode's
    ``degenerate``): such a unit's float values are rounding noise around the
    threshold, which the two kernels' products round differently (documented; a
    hypothesis run found relu(z) with z = 0 along a whole segment of a 17x24 integer
    net decided active by one kernel and inactive by the other)."""
    ex = segment_crossings(net, S, E, mode="exact")
    a, b = both(net, S, E, "certified")
    assert_same(a, b)
    assert_matches_exact(b, ex)
    keep = ~np.asarray(ex.degenerate, bool)
    if keep.any():
        assert_same(*both(net, np.asarray(S)[keep], np.asarray(E)[keep], "float"))


def test_float_kernels_on_a_unit_at_its_threshold_along_the_segment():
    # the case above: unit 23 of layer 1 is 0 along the whole segment (exact mode:
    # inactive, degenerate); certified mode of both kernels finds that, float mode
    # has no guarantee there
    S, E = np.array([[-1.0, 0.0]]), np.array([[-1.0, 1.0]])
    net = polyfold.zoo.random_mlp((17, 24), 2, seed=121, integer=True, activation="relu")
    ex = segment_crossings(net, S, E, mode="exact")
    assert ex.degenerate.tolist() == [True] and not ex.codes[:, 17 + 23].any()
    for a in both(net, S, E, "certified"):
        assert_matches_exact(a, ex)
        assert a.degenerate.tolist() == [True]


# ---- sawtooth: 2^L pieces at j / 2^L (closed form) -----------------------------------------
@pytest.mark.parametrize("L", range(1, 13))
def test_sawtooth(L):
    net = polyfold.zoo.sawtooth(L)
    expected = np.arange(1, 2**L) / 2**L
    for mode in ("float", "certified"):
        a, b = both(net, [0.0], [1.0], mode)
        assert_same(a, b)
        assert b.n_pieces.tolist() == [2**L]
        assert np.array_equal(b.breakpoints(0), expected)
        assert b.n_recomputed == 0 or mode == "certified"


# ---- degenerate inputs ---------------------------------------------------------------
def test_zero_length_segments():
    net = polyfold.zoo.random_mlp((5, 5), 3, seed=1)
    rng = np.random.default_rng(2)
    P = rng.normal(size=(30, 3))
    for mode in ("float", "certified"):
        a, b = both(net, P, P, mode)
        assert_same(a, b)
        assert b.n_pieces.tolist() == [1] * 30
        # the single piece has the code of the point itself (z > 0, by forward pass)
        assert np.array_equal(b.codes, net.codes(P))


def test_endpoints_on_boundaries():
    # sawtooth(3): the segment [1/4, 3/4] starts and ends at breakpoints; inside it
    # the breakpoints 3/8, 1/2, 5/8 (t = 1/4, 1/2, 3/4)
    net = polyfold.zoo.sawtooth(3)
    for mode in ("float", "certified"):
        a, b = both(net, [0.25], [0.75], mode)
        assert_same(a, b)
        assert b.endpoint_on_boundary.tolist() == [[True, True]]
        assert b.n_pieces.tolist() == [4]
        assert np.allclose(b.breakpoints(0), [0.25, 0.5, 0.75], rtol=0, atol=T_TOL)


def test_redo_with_final_float_band():
    # the float band is tol.zero times the batch maximum of |z| per neuron; segment 0
    # alone would see a crossing of the second layer, but segment 1's large values
    # widen the band so that the batch decision is "zero" (no crossing).
    from polyfold import _fast, crossings

    net = PLNet.from_arrays(
        [(np.array([[1.0]]), np.array([0.0])), (np.array([[1.0]]), np.array([-1.5])),
         (np.array([[1.0]]), np.array([0.0]))]
    )
    S, E = np.array([[1.4], [1e9]]), np.array([[1.6], [2e9]])
    tolv = get_tol(None)
    Z0, _ = crossings.first_layer_values(net, crossings._interleave(S, E))
    raw = _fast.partition(net, Z0, None, False, tolv, False)
    assert raw["n_redo"] >= 1
    a, b = both(net, S, E, "float")
    assert_same(a, b)
    assert b.n_pieces.tolist() == [1, 1]
    # with a tighter band the crossing at x = 1.5 (t = 1/2) is found by both
    tight = polyfold.Tolerance(zero=1e-15)
    a, b = both(net, S, E, "float", tol=tight)
    assert_same(a, b)
    assert b.breakpoints(0).tolist() == [0.5]


def test_redo_on_two_threads():
    # redone segments in both threads' slices of one chunk: the final bands (maxima
    # per thread, then combined) and the copies from the redo output (on the threads)
    # give what one thread gives, and what the numpy kernel gives
    from polyfold import _fast, crossings

    net = PLNet.from_arrays(
        [(np.array([[1.0]]), np.array([0.0])), (np.array([[1.0]]), np.array([-1.5])),
         (np.array([[1.0]]), np.array([0.0]))]
    )
    # each thread's slice (400 segments) starts with small segments, decided with a
    # running band that the large ones widen later: the small ones are all redone
    rng = np.random.default_rng(0)
    big = np.arange(800) % 400 >= 200
    # (downwards through x = 1.5: the first sweep's first piece has the unit on, the
    # redo's single piece has it off, so a copy from the wrong output shows)
    S = np.where(big, 1e9, 1.6 + 0.01 * rng.random(800))[:, None]
    E = np.where(big, 2e9, 1.4 + 0.01 * rng.random(800))[:, None]
    tolv = get_tol(None)
    Z0, _ = crossings.first_layer_values(net, crossings._interleave(S, E))
    assert _fast.partition(net, Z0, None, False, tolv, False)["n_redo"] >= 100
    one = segment_crossings(net, S, E, mode="float", backend="c", threads=1)
    two = segment_crossings(net, S, E, mode="float", backend="c", threads=2)
    ref = segment_crossings(net, S, E, mode="float", backend="numpy")
    assert_same(one, two)
    assert_same(ref, two)
    assert np.array_equal(two.t, one.t)
    assert two.n_pieces[~big].tolist() == [1] * 400 and not two.codes[:, 1][np.cumsum(two.n_pieces)[~big] - 1].any()


def test_chunks_do_not_change_the_result(digits_pairs):
    S, E = digits_pairs
    net = polyfold.zoo.digits_mlp("5x12")
    whole = segment_crossings(net, S, E, mode="certified", backend="c")
    parts = segment_crossings(net, S, E, mode="certified", backend="c", chunk_size=37)
    assert_same(whole, parts)


@pytest.mark.parametrize("backend", available_backends())
def test_float_merge_keeps_the_codes_of_the_piece_after_the_merged_points(backend):
    # h0 = relu(-x), h1 = relu(1 - 2x); z0 = h0 + h1 - 1 = -3x below 0 and -2x on
    # (0, 1/2): h0 and z0 both switch at x = 0; z1 = 2 h1 - 1 switches at 1/4 and h1 at
    # 1/2.  Codes by hand: x < 0 (1,1,1,1), (0, 1/4) (0,1,0,1), (1/4, 1/2) (0,1,0,0),
    # x > 1/2 (0,0,0,0).  With (almost) no zero band, the rounding of z0 at the point
    # x = 0 puts z0's own switch a rounding before it; the two merge, and the piece
    # after them must keep the codes after x = 0 (h0 = 0), not those before it
    W1, b1 = np.array([[-1.0], [-2.0]]), np.array([0.0, 1.0])
    W2, b2 = np.array([[1.0, 1.0], [0.0, 2.0]]), np.array([-1.0, -1.0])
    net = PLNet.from_arrays([(W1, b1), (W2, b2), (np.zeros((1, 2)), np.zeros(1))], "relu")
    S, E = np.array([[-0.5045459648933767]]), np.array([[2.0]])
    expected = [[1, 1, 1, 1], [0, 1, 0, 1], [0, 1, 0, 0], [0, 0, 0, 0]]
    t_hand = (np.array([0.0, 0.25, 0.5]) - S[0, 0]) / (E[0, 0] - S[0, 0])
    for zero in (1e-300, 1e-9):
        res = polyfold.segment_crossings(net, S, E, mode="float", backend=backend,
                                         tol=polyfold.Tolerance(zero=zero))
        np.testing.assert_array_equal(res.codes, expected)
        np.testing.assert_allclose(res.t, t_hand, rtol=0, atol=1e-12)


@st.composite
def _integer_nets_and_segments(draw):
    d = draw(st.integers(1, 2))
    widths = draw(st.lists(st.integers(2, 4), min_size=2, max_size=4))
    ints = lambda shape, lo=-3, hi=3: np.array(
        draw(st.lists(st.integers(lo, hi), min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    ).reshape(shape).astype(float)
    layers, nin = [], d
    for w in widths:
        layers.append((ints((w, nin)), ints((w,)) / 2))
        nin = w
    layers.append((ints((1, nin)), np.zeros(1)))
    act = draw(st.sampled_from(["relu", "leaky_relu", "hardtanh"]))
    S = ints((3, d), -4, 4) / 2 + np.array(draw(st.lists(st.floats(-0.05, 0.05), min_size=3 * d, max_size=3 * d))).reshape(3, d)
    E = ints((3, d), -4, 4) / 2
    return PLNet.from_arrays(layers, act), S, E


@st.composite
def _coincident_switch_nets(draw):
    # 1-input nets whose second layer has units exactly at zero where the first unit of
    # the first layer switches (x0 = -b0 / a0, a dyadic number), so both layers switch
    # at one point; endpoints are jittered so that t is not dyadic
    ints = lambda n, lo=-3, hi=3: np.array(draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n)), float)
    a = np.r_[draw(st.sampled_from([1.0, -1.0, 2.0, -2.0])), ints(2)]
    b = ints(3) / 2
    x0 = -b[0] / a[0]
    act = draw(st.sampled_from(["relu", "leaky_relu"]))
    f = (lambda z: np.maximum(z, 0.0)) if act == "relu" else (lambda z: np.where(z > 0, z, 0.01 * z))
    W2 = ints(6).reshape(2, 3)
    b2 = -(W2 @ f(a * x0 + b))  # exact: small dyadic values
    layers = [(a[:, None], b), (W2, b2), (ints(2).reshape(1, 2), np.zeros(1))]
    jit = np.array(draw(st.lists(st.floats(-0.3, 0.3), min_size=4, max_size=4)))
    S = x0 - 1.0 - np.abs(jit[:2])[:, None]
    E = x0 + 1.0 + np.abs(jit[2:])[:, None]
    return PLNet.from_arrays(layers, act), S, E


@settings(max_examples=100, deadline=None)
@given(st.one_of(_coincident_switch_nets(), _coincident_switch_nets(), _coincident_switch_nets(), _integer_nets_and_segments()))
def test_float_merges_without_a_zero_band_match_exact(float_without_band_matches_exact, case):
    # small integer weights make neurons of different layers switch at one point; with
    # (almost) no zero band, rounding noise decides every sign and such switches are
    # found a rounding apart and merged: the merge must still give exact mode's codes
    # on the segments float can decide without its band
    float_without_band_matches_exact(*case, backends=available_backends())


def test_one_thread_runs_the_first_layer_on_one_blas_thread(monkeypatch):
    # threads=1 means one core: the first layer's BLAS product too (a multi-threaded
    # BLAS would leave its workers spinning after the call)
    import contextlib

    from threadpoolctl import threadpool_info

    from polyfold import _fast

    seen = []
    real = _fast.single_blas

    @contextlib.contextmanager
    def spy():
        with real():
            # numpy's BLAS does the first layer's product (scipy's may load later)
            seen.append([i["num_threads"] for i in threadpool_info()
                         if i["user_api"] == "blas" and "numpy" in i["filepath"]])
            yield

    monkeypatch.setattr(_fast, "single_blas", spy)
    net = polyfold.zoo.random_mlp("2x8", 20, 3, seed=0)
    S, E = np.random.default_rng(0).random((2, 50, 20))
    ref = segment_crossings(net, S, E, mode="float", threads=1)
    assert seen and all(n == 1 for n in seen[0])
    res = segment_crossings(net, S, E, mode="float", threads=2)
    assert np.array_equal(res.packed_patterns, ref.packed_patterns)


@st.composite
def _wide_integer_case(draw):
    # nets wider than 16 share one bound product per block of points, and the C kernel
    # drops the error of units decided on a flat piece from the value itself
    # (z < lo, z > hi); integer weights put many values exactly on a threshold, and
    # hard tanh has two flat pieces per unit
    return _draw_integer_net(draw, (2, 3), (17, 24), 2, 4)


@settings(max_examples=40, deadline=None)
@given(_wide_integer_case())
def test_wide_integer_nets_with_flat_pieces_match_exact(case):
    _check_against_exact(*case)


def test_hardtanh_width_20_units_on_both_plateau_edges_match_exact():
    # units with z = -1 or z = +1 exactly at the segment's points (hand-built: the first
    # layer is x -> x + k for k = -5..4 and its negation, so at integer x many units sit
    # on a plateau edge) and a second layer of width 20 reading them
    k = np.arange(-5, 5, dtype=float)
    W1 = np.r_[np.ones(10), -np.ones(10)][:, None]
    b1 = np.r_[k, k]
    rng = np.random.default_rng(3)
    W2 = rng.integers(-2, 3, size=(20, 20)).astype(float)
    b2 = rng.integers(-2, 3, size=20).astype(float)
    W3 = rng.integers(-2, 3, size=(1, 20)).astype(float)
    net = PLNet.from_arrays([(W1, b1), (W2, b2), (W3, np.zeros(1))], "hardtanh")
    S = np.array([[-6.0], [-3.0], [0.0], [-1.0], [2.0]])
    E = np.array([[6.0], [4.0], [1.0], [-1.0], [5.0]])
    ex = segment_crossings(net, S, E, mode="exact")
    a, b = both(net, S, E, "certified")
    assert_same(a, b)
    assert_matches_exact(b, ex)
    # the first layer alone: unit x + k switches at x = -k - 1 and x = -k + 1 (hard
    # tanh edges at -1, +1), its negation at the same points, so the breakpoints of
    # [-6, 6] include every integer in (-6, 6) (t = (x + 6) / 12)
    t0 = set(np.round(b.breakpoints(0) * 12 - 6, 9))
    assert set(range(-5, 6)) <= t0
