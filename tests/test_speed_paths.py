"""Differential tests of the fast paths: packed codes, the result builder, threads,
instruction-set versions of the compiled kernel, block bounds, folding on packed
words and LP-free facet certificates.

References are independent: exact mode (python-flint rationals), codes by forward
passes, the numpy kernel, unpacked computations and HiGHS LPs.
"""

import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import polyfold
from polyfold import PLNet, segment_crossings
from polyfold._packing import code_layout, pack_codes, unpack_codes
from polyfold.crossings import available_backends, first_layer_cache, segment_crossings_between

HAVE_C = "c" in available_backends()
needs_c = pytest.mark.skipif(not HAVE_C, reason="compiled kernel not built")


def same_partition(a, b):
    assert np.array_equal(a.n_pieces, b.n_pieces)
    assert np.array_equal(a.codes, b.codes)
    assert np.array_equal(a.degenerate, b.degenerate)
    assert np.array_equal(a.endpoint_on_boundary, b.endpoint_on_boundary)


def exact_t(res):
    return np.array([float(v) for v in res.t_exact])


# ---- packed codes ------------------------------------------------------------------------
@given(
    sizes=st.lists(st.sampled_from([2, 3, 4, 5, 8]), min_size=1, max_size=70),
    n=st.integers(1, 6),
    seed=st.integers(0, 1000),
)
def test_pack_unpack_round_trip_and_layout(sizes, n, seed):
    class Net:  # only code_sizes matters for the layout
        code_sizes = np.array(sizes, np.int64)

    lay = code_layout(Net)
    rng = np.random.default_rng(seed)
    codes = (rng.integers(0, 1 << 20, (n, len(sizes))) % np.array(sizes)).astype(np.int8)
    words = pack_codes(codes, lay)
    assert words.dtype == np.uint64 and words.shape == (n, lay.n_words)
    assert np.array_equal(unpack_codes(words, lay), codes)
    # the layout by hand: unit u's code, bit b, at stream bit offset[u] + b
    bits = [int(np.ceil(np.log2(s))) if s > 2 else 1 for s in sizes]
    off = np.cumsum([0] + bits[:-1])
    for r in range(n):
        value = sum(int(w) << (64 * q) for q, w in enumerate(words[r]))
        for u in range(len(sizes)):
            assert (value >> int(off[u])) & ((1 << bits[u]) - 1) == codes[r, u]


def test_result_codes_unpack_on_demand():
    net = polyfold.zoo.random_mlp((20, 30, 25), 4, seed=3, activation="hardtanh")
    rng = np.random.default_rng(0)
    S, E = rng.normal(size=(40, 4)) * 3, rng.normal(size=(40, 4)) * 3
    res = segment_crossings(net, S, E, mode="float")
    assert "codes" not in res.__dict__
    assert res.codes_packed.shape[1] == 3  # 75 hard tanh units x 2 bits = 150 bits: 3 words
    # piece_codes before and after the whole array is unpacked agree; the codes of
    # a piece are those of its midpoint (forward pass)
    first = [res.piece_codes(i) for i in range(5)]
    for i in range(5):
        assert np.array_equal(first[i], res.codes[res.piece_offsets[i] : res.piece_offsets[i + 1]])
        b = res.piece_bounds(i)
        mid = S[i] + ((b[:, 0] + b[:, 1]) / 2)[:, None] * (E[i] - S[i])
        assert np.array_equal(first[i], net.codes(mid))


# ---- builder: chunks, exact splices, threads ------------------------------------------------
@st.composite
def tie_case(draw):
    d = draw(st.integers(1, 3))
    widths = tuple(draw(st.integers(1, 5)) for _ in range(draw(st.integers(1, 3))))
    act = draw(st.sampled_from(["relu", "hardtanh", "leaky_relu"]))
    net = polyfold.zoo.random_mlp(widths, d, seed=draw(st.integers(0, 10_000)), integer=True, activation=act)
    pts = st.lists(st.integers(-3, 3), min_size=d, max_size=d)
    segs = draw(st.lists(st.tuples(pts, pts), min_size=1, max_size=12))
    return net, np.array([s for s, _ in segs], float), np.array([e for _, e in segs], float)


@given(tie_case(), st.integers(1, 5))
def test_chunks_with_exact_splices_equal_exact_mode(case, chunk):
    # small integer weights: ties, touching zeros and endpoints on boundaries are
    # common, so certified mode recomputes segments in several chunks and splices
    net, S, E = case
    ex = segment_crossings(net, S, E, mode="exact")
    backends = ["numpy"] + (["c"] if HAVE_C else [])
    for backend in backends:
        for threads in (1, 2):
            res = segment_crossings(net, S, E, mode="certified", chunk_size=chunk, backend=backend,
                                    threads=threads)
            same_partition(res, ex)
            assert np.all(np.abs(res.t - exact_t(ex)) <= res.t_error)
            # every recomputed segment was decided either by the second certified pass
            # (refined) or with exact work, never both
            assert not np.any(res.exact_segments & res.refined_segments)
            assert res.n_recomputed == res.exact_segments.sum() + res.refined_segments.sum()


@needs_c
def test_threads_do_not_change_the_result(digits):
    _, _, X, _ = digits
    rng = np.random.default_rng(4)
    i, j = rng.integers(0, len(X), 3000), rng.integers(0, len(X), 3000)
    net = polyfold.zoo.digits_mlp("4x15")
    for mode in ("float", "certified"):
        one = segment_crossings_between(net, X, i, j, mode=mode, threads=1)
        two = segment_crossings_between(net, X, i, j, mode=mode, threads=2, chunk_size=1000)
        same_partition(one, two)
        assert np.array_equal(one.t, two.t)
        if mode == "certified":
            assert np.array_equal(one.t_error, two.t_error)


@pytest.mark.parametrize("backend", ["graph", "numpy"])
def test_threads_one_runs_every_product_on_one_blas_thread(backend, monkeypatch):
    # threads=1 means one core for every kernel, not only the compiled one: the BLAS
    # calls of a graph net's convolutions and of the numpy kernel see one thread
    threadpoolctl = pytest.importorskip("threadpoolctl")

    def blas_threads():
        return max([i["num_threads"] for i in threadpoolctl.threadpool_info()
                    if i["user_api"] == "blas"] or [1])

    rng = np.random.default_rng(1)
    if backend == "graph":
        from polyfold.graph import ops

        net, kw = polyfold.zoo.digits_cnn(), {}
        owner, name = ops.Conv, "_taps"
    else:
        net = PLNet.from_arrays([(rng.standard_normal((6, 4)), rng.standard_normal(6)),
                                 (rng.standard_normal((2, 6)), rng.standard_normal(2))])
        kw = {"backend": "numpy"}
        owner, name = polyfold.crossings, "_partition"
    seen = []
    orig = getattr(owner, name)

    def spy(*a, **k):
        seen.append(blas_threads())
        return orig(*a, **k)

    monkeypatch.setattr(owner, name, spy)
    S, E = rng.random((30, net.input_dim)), rng.random((30, net.input_dim))
    with threadpoolctl.threadpool_limits(limits=2, user_api="blas"):
        if blas_threads() < 2:
            pytest.skip("this BLAS runs on one thread only")
        segment_crossings(net, S, E, mode="certified", threads=1, **kw)
        assert seen and set(seen) == {1}
        seen.clear()
        segment_crossings(net, S, E, mode="certified", **kw)
        assert seen and set(seen) == {2}  # without threads=1 the caller's setting holds


@needs_c
@pytest.mark.parametrize("isa", ["generic", "avx2"])
def test_instruction_set_versions_agree(isa):
    # the kernel picks its vector code at import; the portable and AVX2 versions
    # (forced by POLYFOLD_KERNEL_ISA in a fresh process) give the same partitions
    code = (
        "import numpy as np, polyfold, sys;"
        "net = polyfold.zoo.random_mlp((30, 70, 20), 5, seed=2);"
        "rng = np.random.default_rng(1); S, E = rng.normal(size=(2, 300, 5)) * 3;"
        "r = [polyfold.segment_crossings(net, S, E, mode=m) for m in ('float', 'certified')];"
        "np.save(sys.argv[1], np.concatenate([x.codes_packed.ravel().view(np.int64) for x in r]"
        " + [x.n_pieces for x in r]));"
        "print(polyfold._fast._ckernel.ISA)"
    )
    out = {}
    for name, env in (("default", {}), (isa, {"POLYFOLD_KERNEL_ISA": isa})):
        path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"polyfold_isa_{os.getpid()}_{name}.npy")
        run = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True,
                             env={**os.environ, **env}, check=True)
        out[name] = (run.stdout.strip(), np.load(path))
        os.unlink(path)
    assert out[isa][0] in (isa, "generic")  # (a machine without AVX2 falls back)
    assert np.array_equal(out["default"][1], out[isa][1])


@needs_c
def test_wide_nets_block_bounds_agree_with_numpy_and_exact():
    # layers wider than 96 units share one bound product per block of points in both
    # kernels; the partitions agree with each other and with exact mode
    net = polyfold.zoo.random_mlp((120, 100), 6, seed=5)
    rng = np.random.default_rng(3)
    S, E = rng.normal(size=(12, 6)), rng.normal(size=(12, 6))
    a = segment_crossings(net, S, E, mode="certified", backend="numpy")
    b = segment_crossings(net, S, E, mode="certified", backend="c")
    ex = segment_crossings(net, S, E, mode="exact")
    same_partition(a, ex)
    same_partition(b, ex)
    assert np.all(np.abs(b.t - exact_t(ex)) <= b.t_error)


def test_memory_of_packed_results(digits):
    _, _, X, y = digits
    net = polyfold.zoo.digits_mlp("6x10")
    rng = np.random.default_rng(0)
    i, j = rng.integers(0, len(X), 5000), rng.integers(0, len(X), 5000)
    res = segment_crossings_between(net, X, i, j, mode="certified",
                                    cache=first_layer_cache(net, X, mode="certified"))
    # 60 one-bit units: one 64-bit word per piece instead of 60 int8 codes
    assert res.codes_packed.shape == (int(res.n_pieces.sum()), 1)
    assert res.codes_packed.nbytes * 7 < res.codes.nbytes


# ---- folding on packed words -----------------------------------------------------------------
def test_folding_on_packed_words_equals_unpacked_walks(digits):
    from polyfold.folding import folding_measure_batch, space_folding_batch

    _, _, X, _ = digits
    net = polyfold.zoo.digits_mlp("5x12")
    rng = np.random.default_rng(6)
    i, j = rng.integers(0, len(X), 200), rng.integers(0, len(X), 200)
    for units in ("hidden", [0, 2, 4], [1]):
        fb = space_folding_batch(net, X[i], X[j], units=units)
        assert fb.walk_rows.dtype == np.uint64  # the packed path
        # reference: the crossings' patterns of the chosen layers, consecutive repeats
        # merged, measured on bool rows
        res = segment_crossings(net, X[i], X[j])
        layers = range(net.depth) if units == "hidden" else units
        cols = np.concatenate([np.arange(net.layer_offsets[l], net.layer_offsets[l + 1]) for l in layers])
        ref = folding_measure_batch(res.patterns[:, cols], res.piece_offsets)
        assert np.array_equal(fb.measures.r1, ref.r1)
        assert np.array_equal(fb.measures.r2, ref.r2)
        assert np.array_equal(fb.measures.prefix_max_r1, ref.prefix_max_r1)
        # the unpacked walks reproduce the measures, walk by walk
        again = folding_measure_batch(fb.walks, fb.walk_offsets)
        assert np.array_equal(again.r1, ref.r1) and np.array_equal(again.r2, ref.r2)
        assert np.array_equal(fb.walk(3), fb.walks[fb.walk_offsets[3] : fb.walk_offsets[4]])


# ---- LP-free facet certificates ------------------------------------------------------------
@given(seed=st.integers(0, 10_000), d=st.integers(2, 6), k=st.integers(1, 8))
def test_boundary_point_certificates_match_the_lps(seed, d, k):
    from polyfold._lp import redundant_rows

    rng = np.random.default_rng(seed)
    # a point on several faces of the unit box; random hyperplanes through the box,
    # oriented so that the point satisfies them strictly
    p = rng.random(d)
    p[rng.random(d) < 0.5] = 0.0
    p[rng.random(d) < 0.2] = 1.0
    W = rng.normal(size=(k, d))
    b = rng.normal(size=k) * 0.3 - W @ p
    s = np.sign(W @ p + b)
    s[s == 0] = 1.0
    W, b = W * s[:, None], b * s + 0.05
    A = np.vstack([W, np.eye(d), -np.eye(d)])
    c = np.r_[b, np.zeros(d), np.ones(d)]
    assert np.all(A @ p + c >= 0)
    plain = redundant_rows(A, c)
    with_point = redundant_rows(A, c, boundary_point=p)
    assert np.array_equal(plain, with_point)


def _lp_only_redundancy(monkeypatch, A, c):
    """redundant_rows with every LP-free certificate switched off (one LP per row)."""
    from polyfold import _lp

    none = lambda An, *a, **k: np.zeros(An.shape[0], bool)  # noqa: E731
    with monkeypatch.context() as mp:
        mp.setattr(_lp, "_ray_certificates", none)
        mp.setattr(_lp, "_projection_certificates", none)
        mp.setattr(_lp, "_point_certificates", none)
        return _lp.redundant_rows(A, c)


@settings(max_examples=80, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(2, 7), k=st.integers(1, 30))
def test_projection_certificates_certify_only_facets(seed, d, k):
    import pytest

    from polyfold import _lp
    from polyfold.tolerance import get_tol

    monkeypatch = pytest.MonkeyPatch()
    rng = np.random.default_rng(seed)
    # random cuts of the unit box around an interior point, some far away (redundant),
    # some nearly parallel to each other
    x0 = rng.uniform(0.3, 0.7, d)
    W = rng.normal(size=(k, d))
    W[1::3] = W[0::3][: len(W[1::3])] + 1e-3 * rng.normal(size=(len(W[1::3]), d))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    b = -W @ x0 + rng.exponential(0.3, size=k) + 1e-3
    A = np.vstack([W, np.eye(d), -np.eye(d)])
    c = np.r_[b, np.zeros(d), np.ones(d)]
    expected = _lp_only_redundancy(monkeypatch, A, c)
    tol = get_tol(None)
    An, cn, zero = _lp.normalize_rows(A, c, tol=tol)
    active = ~zero & ~_lp._duplicate_mask(An, cn, zero, tol)
    cert = _lp._projection_certificates(An, cn, x0, active, active.copy(), tol)
    assert not np.any(cert & expected)  # never a redundant row
    assert np.array_equal(_lp.redundant_rows(A, c), expected)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), d=st.integers(2, 8), k=st.integers(1, 40))
def test_row_generation_matches_one_lp_per_row(seed, d, k):
    # the warm model starts without the rows under test and adds those an optimum
    # violates; with every witness switched off all rows go through it, and the
    # answer must equal one fresh LP per row over all active rows
    import pytest

    from polyfold import _lp
    from polyfold.tolerance import get_tol

    rng = np.random.default_rng(seed)
    x0 = rng.uniform(0.3, 0.7, d)
    W = rng.normal(size=(k, d))
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    b = -W @ x0 + rng.exponential(0.3, size=k) + 1e-3
    A = np.vstack([W, np.eye(d), -np.eye(d)])
    c = np.r_[b, np.zeros(d), np.ones(d)]
    mp = pytest.MonkeyPatch()
    mp.setattr(_lp, "_ROW_GENERATION_ROWS_PER_DIM", 0)  # row generation at every size
    try:
        got = _lp_only_redundancy(mp, A, c)
    finally:
        mp.undo()
    tol = get_tol(None)
    An, cn, zero = _lp.normalize_rows(A, c, tol=tol)
    red = zero | _lp._duplicate_mask(An, cn, zero, tol)
    active = ~red
    m = len(An)
    axis = (np.count_nonzero(An, axis=1) == 1) & ~zero
    axis_k = np.argmax(An != 0, axis=1)
    axis_pos = An[np.arange(m), axis_k] > 0
    for i in np.flatnonzero(active.copy()):
        if _lp._row_is_redundant(An, cn, active, i, axis, axis_k, axis_pos, tol):
            red[i] = True
            active[i] = False
    assert np.array_equal(got, red)


def test_projection_certificates_find_the_facets_rays_miss():
    # a 64-dimensional region of the 2x30 digits net: most of its facets are hit
    # by none of the random rays, and the projection search certifies them, so the
    # LPs are left with (almost) only the redundant rows
    from sklearn.datasets import load_digits

    from polyfold import _lp
    from polyfold.regions import region_of
    from polyfold.tolerance import get_tol

    net = polyfold.zoo.digits_mlp("2x30")
    x = load_digits().data[-360] / 16.0
    R = region_of(net, x, domain=(0, 1))
    tol = get_tol(None)
    An, cn, zero = _lp.normalize_rows(R.A, R.c, tol=tol)
    active = ~zero & ~_lp._duplicate_mask(An, cn, zero, tol)
    x0 = R.interior_point
    rays = _lp._ray_certificates(An, cn, x0, active, tol, rng=np.random.default_rng(0))
    rest = active & ~rays
    proj = _lp._projection_certificates(An, cn, x0, active, rest, tol)
    # the facets from one LP per row (every witness switched off), not from the code
    # under test
    import pytest

    facets = ~_lp_only_redundancy(pytest.MonkeyPatch(), R.A, R.c)
    missed = rest & facets
    assert missed.sum() >= 20
    assert not np.any(proj & ~facets)
    assert (proj & missed).sum() >= 0.8 * missed.sum()


# ---- ball-arithmetic refinement --------------------------------------------------------------
@given(tie_case())
def test_ball_refinement_decides_only_what_exact_mode_confirms(case):
    from polyfold._ball_kernel import ball_partition
    from polyfold._segment_kernel import _drop_silent_breakpoints  # noqa: F401
    from polyfold.crossings import _part

    net, S, E = case
    ex = segment_crossings(net, S, E, mode="exact")
    raw = ball_partition(net, S, E)
    part = _part(net, raw, len(S), "certified", code_layout(net))
    decided = np.ones(len(S), bool)
    decided[raw["ambiguous"]] = False
    po = np.concatenate([[0], np.cumsum(part["n_pieces"])])
    codes = unpack_codes(part["codes"], code_layout(net))
    for i in np.flatnonzero(decided):
        assert part["n_pieces"][i] == ex.n_pieces[i]
        assert np.array_equal(codes[po[i] : po[i + 1]], ex.piece_codes(i))
        tb = part["t"][po[i] - i : po[i + 1] - i - 1]
        eb = part["te"][po[i] - i : po[i + 1] - i - 1]
        assert np.all(np.abs(tb - np.array([float(v) for v in ex.breakpoints(i)])) <= eb)


def _undecided_net_paths():
    """A net whose first layer cancels weights near ``2**25`` (bounds of about ``u K``
    on values of size 1): the compiled kernel's bounds, global along each segment,
    leave most of its 20 segments undecided (measured: 12)."""
    from test_certified_bounds import adversarial_net, adversarial_points

    return adversarial_net(7, 4), adversarial_points(7, 20), adversarial_points(8, 20)


def _deep_net_paths(digits, depth=14, seed=11):
    """A deep net between digits images, with a hidden Identity layer: what the compiled
    kernel's bounds leave goes to the later passes (measured: 2 of 60 segments at depth
    14)."""
    from polyfold.network import Identity, ReLU

    _, _, X, _ = digits
    net = polyfold.zoo.random_mlp([32] * depth, 64, 10, seed=seed)
    acts = [ReLU()] * net.depth
    acts[4] = Identity()
    net = polyfold.PLNet.from_arrays(net.layers, activation=acts)
    rng = np.random.default_rng(3)
    idx = rng.integers(0, len(X), (60, 2))
    return net, X[idx[:, 0]], X[idx[:, 1]]


def _assert_refined_are_exact(res, net, S, E, sub):
    """Segments ``sub`` of a certified result have exact mode's pieces and codes, and
    ``|t - t*| <= t_error`` holds in rationals."""
    from fractions import Fraction

    ex = segment_crossings(net, S[sub], E[sub], mode="exact")
    for k, i in enumerate(sub):
        assert np.array_equal(res.piece_codes(i), ex.piece_codes(k))
        a, b = res.breakpoint_offsets[i], res.breakpoint_offsets[i + 1]
        for tf, te, tq in zip(res.t[a:b], res.t_error[a:b], ex.breakpoints(k)):
            assert abs(Fraction(float(tf)) - Fraction(tq)) <= Fraction(float(te))


def test_later_passes_decide_what_the_kernel_leaves():
    # a net where the kernel's float64 bounds leave segments undecided: the later
    # passes decide them, and the answer is exact mode's
    net, S, E = _undecided_net_paths()
    res = segment_crossings(net, S, E, mode="certified")
    assert res.n_refined >= 1 and res.n_recomputed == res.n_refined
    _assert_refined_are_exact(res, net, S, E, np.flatnonzero(res.refined_segments)[:3])


def test_stage_pass_decides_without_balls(monkeypatch):
    # the second float64 pass (piece-local bounds) decides what the compiled kernel's
    # bounds leave: no ball arithmetic is needed, and pieces, codes and the
    # breakpoint bounds (checked in rationals) are exact mode's
    import polyfold.crossings as pc

    def no_balls(*args, **kwargs):
        raise AssertionError("ball arithmetic should not be reached")

    monkeypatch.setattr(pc, "ball_partition", no_balls)
    net, S, E = _undecided_net_paths()
    res = segment_crossings(net, S, E, mode="certified")
    assert res.n_refined >= 1 and not res.exact_segments.any()
    _assert_refined_are_exact(res, net, S, E, np.flatnonzero(res.refined_segments))


def _without_stages(monkeypatch):
    """Dense nets without a stage form (as hidden Identity layers were before they became
    unit groups of one piece): the second pass must hand their segments on."""
    from polyfold.exceptions import UnsupportedLayerError

    def no_stages(self):
        raise UnsupportedLayerError("no stage form (test)")

    monkeypatch.setattr(polyfold.PLNet, "stages", no_stages)


def test_balls_decide_deep_nets_without_stages(digits, monkeypatch):
    # a net without stage form: the undecided segments of a deep net then go to ball
    # arithmetic, which decides them with exact mode's answer
    net, S, E = _deep_net_paths(digits)
    _without_stages(monkeypatch)
    res = segment_crossings(net, S, E, mode="certified")
    assert res.n_refined >= 1
    _assert_refined_are_exact(res, net, S, E, np.flatnonzero(res.refined_segments)[:3])


def test_stage_pass_leaves_nets_without_stages_to_the_balls(monkeypatch):
    # a net without stage form: the second pass hands every segment on
    from polyfold.crossings import _refine_by_stages
    from polyfold.network import Identity, ReLU

    _without_stages(monkeypatch)

    net = polyfold.PLNet.from_arrays([(np.eye(2), np.zeros(2)), (np.eye(2), np.zeros(2)),
                                      (np.ones((1, 2)), np.zeros(1))],
                                     activation=[Identity(), ReLU()])
    ids = np.arange(3)
    S = np.zeros((3, 2))
    E = np.ones((3, 2))
    out = _refine_by_stages(net, ids, S, E, polyfold.tolerance.get_tol(None), code_layout(net),
                            None, np.zeros(3, bool), np.zeros(3, bool))
    assert out[0] is ids and out[1] is S and out[2] is E


@pytest.mark.parametrize("failures", [1, 10**9])
def test_redundancy_lps_survive_a_failed_warm_start(monkeypatch, failures):
    # a warm-started HiGHS model that reports a non-optimal status (seen as "Unknown"
    # in long-running workers) is retried cold, then solved on its own
    import highspy

    from polyfold import _lp

    rng = np.random.default_rng(11)
    d = 4
    # facets of a box and random cuts, plus far rows that are redundant (only an LP
    # shows that); the set contains 0 strictly
    A = np.vstack([rng.normal(size=(12, d)), np.eye(d), -np.eye(d), rng.normal(size=(8, d))])
    c = np.r_[rng.random(12) + 0.2, np.ones(d), np.ones(d), np.full(8, 50.0)]
    expected = _lp.redundant_rows(A, c)
    _lp._highs_instance(polyfold.Tolerance())  # the per-thread solver exists before the patch
    calls = {"n": 0}

    core = getattr(highspy, "_Highs", highspy.Highs)  # the class _lp.silent_highs uses

    class Flaky(core):
        def getModelStatus(self):
            calls["n"] += 1
            if calls["n"] <= failures:
                return highspy.HighsModelStatus.kUnknown
            return super().getModelStatus()

    monkeypatch.setattr(highspy, "_Highs" if hasattr(highspy, "_Highs") else "Highs", Flaky)
    got = _lp.redundant_rows(A, c, interior_point=None)
    assert calls["n"] > 0
    assert np.array_equal(got, expected)
