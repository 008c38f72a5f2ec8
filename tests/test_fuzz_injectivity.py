"""Fuzzing of polyfold.injectivity against independent references.

The references are written here from the definitions (docs/injectivity.rst), not
from polyfold's internals: exact ranks by Gaussian elimination in
``fractions.Fraction``, the activation patterns realised on a convex domain by one
scipy LP per sign pattern, the unique-preimage test of a data point by 2n LPs over
its fibre polyhedron, the exact circle check of a bias certificate (active sets are
constant between arc endpoints), dense sphere sampling in R^3, and a brute-force
network check over joint activation patterns (one LP per pair of regions and
coordinate direction).
"""

import itertools
from fractions import Fraction as F

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from polyfold import PLNet
from polyfold.exceptions import DegenerateInputError, NotInjectiveError
from polyfold.injectivity import (
    bias_margin,
    check_injectivity,
    check_network_injectivity,
    maximal_bias,
    reconstruct,
)

from test_extreme_scales_injectivity import frac_rank  # noqa: E402  (one exact rank)

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def frank(rows):
    """Exact rank of a list of rational rows (Gaussian elimination in Fractions)."""
    return frac_rank(rows) if len(rows) else 0


def relu_out(W, alpha, x):
    return tuple(max(sum((F(float(w)) * F(xi) for w, xi in zip(row, x)), F(0)) - F(float(a)), F(0))
                 for row, a in zip(np.asarray(W).tolist(), np.asarray(alpha).tolist()))


def realised_patterns(W, alpha, A=None, c=None, cap=1.0):
    """Strict sign patterns with a full-dimensional cell in {A x + c >= 0} (R^n if A None).

    One LP per pattern: max r s.t. s_i (<w_i, x> - a_i) >= r |w_i|, A_j x + c_j >= r |A_j|.
    Zero rows get the sign of the >= convention and are not enumerated.
    """
    W = np.asarray(W, float)
    m, n = W.shape
    nz = [i for i in range(m) if np.any(W[i] != 0)]
    out = []
    for signs in itertools.product((1, -1), repeat=len(nz)):
        rows, rhs = [], []
        for s, i in zip(signs, nz):
            nr = np.linalg.norm(W[i])
            rows.append(np.r_[-s * W[i] / nr, 1.0])
            rhs.append(-s * alpha[i] / nr)
        if A is not None:
            for j in range(len(A)):
                nr = np.linalg.norm(A[j])
                if nr == 0:
                    continue
                rows.append(np.r_[-A[j] / nr, 1.0])
                rhs.append(c[j] / nr)
        cost = np.zeros(n + 1)
        cost[-1] = -1
        if not rows:
            rows, rhs = [np.zeros(n + 1)], [0.0]
        res = linprog(cost, A_ub=np.array(rows), b_ub=np.array(rhs),
                      bounds=[(None, None)] * n + [(None, cap)], method="highs")
        if res.status == 0 and res.x[-1] > 1e-7:
            act = np.zeros(m, bool)
            for s, i in zip(signs, nz):
                act[i] = s > 0
            for i in range(m):
                if i not in nz:
                    act[i] = 0 >= alpha[i]
            out.append((act, res.x[:n], res.x[-1]))
    return out


def ref_injective_convex(W, alpha, A=None, c=None):
    pats = realised_patterns(W, alpha, A, c)
    W = np.asarray(W, float)
    n = W.shape[1]
    fails = [p for p in pats if frank([[F(float(v)) for v in W[i]] for i in np.flatnonzero(p[0])]) < n]
    return len(fails) == 0, pats, fails


def ref_unique_preimage(W, alpha, x):
    """Is x the only preimage of relu(Wx - alpha)?  Fiber polyhedron, 2n LPs (float)."""
    W = np.asarray(W, float)
    n = W.shape[1]
    y = relu_out(W, alpha, [F(float(v)) for v in x])
    pos = [i for i in range(len(y)) if y[i] > 0]
    zer = [i for i in range(len(y)) if y[i] == 0]
    Aeq = W[pos] if pos else None
    beq = np.array([float(y[i]) + alpha[i] for i in pos]) if pos else None
    Aub = W[zer] if zer else None
    bub = np.array([alpha[i] for i in zer]) if zer else None
    for j in range(n):
        for sgn in (1, -1):
            cost = np.zeros(n)
            cost[j] = -sgn
            res = linprog(cost, A_ub=Aub, b_ub=bub, A_eq=Aeq, b_eq=beq,
                          bounds=[(x[j] - 1, x[j] + 1) for j in range(n)], method="highs")
            if res.status != 0:
                continue
            if abs(res.x[j] - x[j]) > 1e-7:
                return False
    return True


def circle_valid(U, ahat):
    """Exact-ish check on the unit circle: every point has 2 independent rows with
    <x, u_i> >= ahat_i.  Active sets are constant between arc endpoints."""
    ang = np.arctan2(U[:, 1], U[:, 0])
    ends = []
    for th, a in zip(ang, ahat):
        if a <= -1:
            continue
        if a > 1:
            continue
        d = np.arccos(np.clip(a, -1, 1))
        ends += [th - d, th + d]
    ends = np.sort(np.mod(ends, 2 * np.pi))
    if len(ends) == 0:
        tests = np.array([0.0])
    else:
        nxt = np.r_[ends[1:], ends[0] + 2 * np.pi]
        tests = (ends + nxt) / 2
    bad = []
    for t in tests:
        x = np.array([np.cos(t), np.sin(t)])
        act = U @ x >= ahat
        if np.linalg.matrix_rank(U[act]) < 2:
            bad.append(x)
    return len(bad) == 0, bad


def sphere_points(n, N, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((N, n))
    return X / np.linalg.norm(X, axis=1)[:, None]


def net_regions(layers, lo, hi):
    """Joint strict patterns of all hidden layers with a full-dimensional region in the box.

    layers: list of (W, b) (hidden layers only, W x + b).  Returns [(M, v, A, c)] with the
    last hidden output M x + v on the closed region {A x + c >= 0}.
    """
    n = layers[0][0].shape[1]
    Abox = np.vstack([np.eye(n), -np.eye(n)])
    cbox = np.r_[-np.asarray(lo, float), np.asarray(hi, float)]
    regs = [(np.eye(n), np.zeros(n), Abox, cbox)]
    for W, b in layers:
        new = []
        for M, v, A, c in regs:
            P, p = W @ M, W @ v + b  # preactivation P x + p
            for signs in itertools.product((1, -1), repeat=len(b)):
                S = np.array(signs, float)
                A2 = np.vstack([A, S[:, None] * P])
                c2 = np.r_[c, S * p]
                nr = np.linalg.norm(A2, axis=1)
                keep = nr > 0
                if np.any(c2[~keep] < 0):
                    continue
                A3, c3 = A2[keep] / nr[keep, None], c2[keep] / nr[keep]
                cost = np.zeros(n + 1); cost[-1] = -1
                res = linprog(cost, A_ub=np.hstack([-A3, np.ones((len(A3), 1))]), b_ub=c3,
                              bounds=[(None, None)] * n + [(None, 1.0)], method="highs")
                if res.status == 0 and res.x[-1] > 1e-7:
                    D = (S > 0).astype(float)
                    new.append((D[:, None] * P, D * p, A2, c2))
        regs = new
    return regs


def ref_net_injective(layers, lo, hi, tol=1e-7):
    """Brute force: every region of full rank and no pair of closed regions with
    x != x' and equal outputs (2n LPs per pair over (x, x'))."""
    regs = net_regions(layers, lo, hi)
    n = layers[0][0].shape[1]
    for M, v, A, c in regs:
        if np.linalg.matrix_rank(M) < n:
            return False
    for i in range(len(regs)):
        for j in range(i + 1, len(regs)):
            M1, v1, A1, c1 = regs[i]
            M2, v2, A2, c2 = regs[j]
            Aub = np.vstack([np.hstack([-A1, np.zeros((len(A1), n))]),
                             np.hstack([np.zeros((len(A2), n)), -A2])])
            bub = np.r_[c1, c2]
            Aeq = np.hstack([M1, -M2])
            beq = v2 - v1
            for k in range(n):
                for s in (1, -1):
                    cost = np.zeros(2 * n); cost[k] = -s; cost[n + k] = s
                    res = linprog(cost, A_ub=Aub, b_ub=bub, A_eq=Aeq, b_eq=beq,
                                  bounds=[(None, None)] * (2 * n), method="highs")
                    if res.status == 0 and -res.fun > tol:
                        return False
    return True


# ---------------------------------------------------------------------------
# strategies: small integer layers with degenerate rows
# ---------------------------------------------------------------------------
@st.composite
def int_layers(draw, n_min=1, n_max=3, m_max=5):
    n = draw(st.integers(n_min, n_max))
    m = draw(st.integers(1, m_max))
    W = np.array(draw(st.lists(st.lists(st.integers(-2, 2), min_size=n, max_size=n),
                               min_size=m, max_size=m)), dtype=float)
    kind = draw(st.sampled_from(["plain", "duplicate", "opposite", "zero"]))
    if m > 1 and kind != "plain":
        i, j = draw(st.integers(0, m - 1)), draw(st.integers(0, m - 1))
        W[i] = {"duplicate": W[j], "opposite": -2 * W[j], "zero": 0 * W[j]}[kind]
    den = draw(st.sampled_from([1, 2]))
    alpha = np.array(draw(st.lists(st.integers(-2, 2), min_size=m, max_size=m)), float) / den
    return W, alpha


def box_rows(lo, hi):
    n = len(lo)
    return np.vstack([np.eye(n), -np.eye(n)]), np.r_[-np.asarray(lo, float), np.asarray(hi, float)]


def check_exact_collision(v, W, alpha):
    assert v.collision_verified
    assert tuple(v.witness_exact) != tuple(v.colliding_exact)
    assert relu_out(W, alpha, v.witness_exact) == relu_out(W, alpha, v.colliding_exact)


# ---------------------------------------------------------------------------
# layer verdicts on boxes, polytopes and R^n
# ---------------------------------------------------------------------------
def _convex_case(W, alpha, domain, A, c):
    v = check_injectivity(W, alpha=alpha, domain=domain)
    ok, pats, _ = ref_injective_convex(W, alpha, A, c)
    assert v.is_injective == ok
    assert v.n_pieces == len(pats)
    # the same patterns (as sets of active rows)
    assert {tuple(p[0]) for p in pats} == {tuple(r) for r in np.asarray(v.active_sets)}
    if not ok:
        check_exact_collision(v, W, alpha)
        if A is not None:
            for p in (v.witness_exact, v.colliding_exact):
                assert all(sum((F(float(a)) * q for a, q in zip(row, p)), F(0)) + F(float(ci)) >= 0
                           for row, ci in zip(A.tolist(), c.tolist()))


@FAST
@given(int_layers(), st.data())
def test_box_verdict_matches_pattern_enumeration(layer, data):
    W, alpha = layer
    n = W.shape[1]
    lo = np.array(data.draw(st.lists(st.integers(-3, 0), min_size=n, max_size=n)), float)
    hi = lo + np.array(data.draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)), float)
    A, c = box_rows(lo, hi)
    _convex_case(W, alpha, (lo, hi), A, c)


@FAST
@given(int_layers())
def test_whole_space_verdict_matches_pattern_enumeration(layer):
    W, alpha = layer
    _convex_case(W, alpha, None, None, None)


@FAST
@given(int_layers(n_min=2), st.data())
def test_polytope_verdict_matches_pattern_enumeration(layer, data):
    W, alpha = layer
    n = W.shape[1]
    k = data.draw(st.integers(1, 3))
    A = np.array(data.draw(st.lists(st.lists(st.integers(-2, 2), min_size=n, max_size=n),
                                    min_size=k, max_size=k)), float)
    A, c = np.vstack([A, np.eye(n), -np.eye(n)]), np.r_[np.ones(k), 2 * np.ones(2 * n)]
    _convex_case(W, alpha, (A, c), A, c)  # contains the ball of radius 1/(2 sqrt 2) at 0


# ---------------------------------------------------------------------------
# data points: unique preimage, and reconstruction
# ---------------------------------------------------------------------------
@FAST
@given(int_layers(), st.data())
def test_points_verdict_and_reconstruction_match_fibre_lps(layer, data):
    W, alpha = layer
    n = W.shape[1]
    X = np.array(data.draw(st.lists(st.lists(st.integers(-2, 2), min_size=n, max_size=n),
                                    min_size=3, max_size=3)), float) / 2
    v = check_injectivity(W, alpha=alpha, domain=X)
    if not v.is_injective:
        check_exact_collision(v, W, alpha)
    for p, x in enumerate(X):
        unique = ref_unique_preimage(W, alpha, x)
        assert (not v.failing[p]) == unique
        y = np.array([float(t) for t in relu_out(W, alpha, [F(float(q)) for q in x])])
        for method in ("dual", "frame_algorithm"):
            if unique:
                np.testing.assert_allclose(reconstruct(W, y, alpha=alpha, method=method), x,
                                           atol=1e-8)
            else:
                with pytest.raises(NotInjectiveError):
                    reconstruct(W, y, alpha=alpha, method=method)


def test_reconstruct_point_pinned_by_thresholds_only():
    """Regression: x = 0 with alpha = 0 is the only preimage of y = 0 for an
    omnidirectional frame (W x <= 0 forces x = 0), though no row has y_i > 0.  The old
    code refused it with 'other inputs give the same output'."""
    W = np.array([[1.0], [-1.0]])
    assert check_injectivity(W, alpha=0).is_injective
    for method in ("dual", "frame_algorithm"):
        assert reconstruct(W, [0.0, 0.0], alpha=0, method=method).tolist() == [0.0]
    # the hexagon's ball certificate is alpha = 0 and contains x = 0
    ang = 2 * np.pi * np.arange(6) / 6
    P = np.c_[np.cos(ang), np.sin(ang)]
    cert = maximal_bias(P, domain="ball", radius=2.0)
    assert np.all(cert.alpha == 0)
    np.testing.assert_allclose(reconstruct(P, np.zeros(6), alpha=cert.alpha), [0.0, 0.0],
                               atol=1e-12)
    # one positive row plus two rows exactly at threshold: x = (1, 0) for the square
    # rows e1, e2, -e1 - e2 with alpha = (0, 0, -1) ... y = (1, 0, 0)
    W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    x = reconstruct(W, [1.0, 0.0, 0.0], alpha=[0.0, 0.0, -1.0])
    np.testing.assert_allclose(x, [1.0, 0.0], atol=1e-12)
    # mixed batch: pinned and ordinary outputs together keep their order
    Y = np.array([[1.0, 0.0, 0.0], [1.5, 0.5, 0.0]])
    np.testing.assert_allclose(reconstruct(W, Y, alpha=[0.0, 0.0, -1.0]),
                               [[1.0, 0.0], [1.5, 0.5]], atol=1e-12)


def test_reconstruct_still_refuses_non_unique_preimages():
    W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    # y = (1, 0, 0) with alpha = 0: every x = (1, t), -1 <= t <= 0, gives it
    with pytest.raises(NotInjectiveError, match="rank 1 < n = 2"):
        reconstruct(W, [1.0, 0.0, 0.0], alpha=0)
    # y = 0 with alpha = 0 and a non-omnidirectional frame: a whole cone maps to 0
    with pytest.raises(NotInjectiveError):
        reconstruct(np.eye(2), [0.0, 0.0], alpha=0)


# ---------------------------------------------------------------------------
# bias certificates
# ---------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 3), st.data())
def test_polytope_certificate_is_valid(n, data):
    m = data.draw(st.integers(n + 1, 7))
    W = np.array(data.draw(st.lists(st.lists(st.integers(-3, 3), min_size=n, max_size=n),
                                    min_size=m, max_size=m)), float)
    kind = data.draw(st.sampled_from(["plain", "duplicate", "opposite"]))
    if kind != "plain":
        i, j = data.draw(st.integers(0, m - 1)), data.draw(st.integers(0, m - 1))
        W[i] = W[j] if kind == "duplicate" else -2 * W[j]
    try:
        cert = maximal_bias(W)
    except DegenerateInputError as err:
        msg = str(err)
        if "of W is zero" in msg:
            assert np.any(np.all(W == 0, axis=1))
        elif "rank" in msg and "omnidirectional" not in msg:
            assert frank(W.tolist()) < n
        else:  # not omnidirectional: some x != 0 has W x <= 0 (LP on the box)
            found = False
            for j, s in itertools.product(range(n), (1.0, -1.0)):
                cost = np.zeros(n)
                cost[j] = -s
                r = linprog(cost, A_ub=W, b_ub=np.zeros(m), bounds=[(-1, 1)] * n, method="highs")
                found |= r.status == 0 and -r.fun > 1e-9
            assert found
        return
    U = W / np.linalg.norm(W, axis=1)[:, None]
    np.testing.assert_allclose(cert.alpha, np.linalg.norm(W, axis=1) * cert.alpha_hat,
                               rtol=1e-12, atol=1e-15)
    assert cert.is_certificate
    if n == 2:
        ok, bad = circle_valid(U, cert.alpha_hat - 1e-12)
        assert ok, bad
    else:
        act = SPHERE3 @ U.T >= cert.alpha_hat - 1e-12
        for row in np.unique(act, axis=0):
            assert np.linalg.matrix_rank(U[row]) == 3
    # ball rule: valid on every sphere of radius s <= r and at 0
    r = 2.0
    ball = maximal_bias(W, domain="ball", radius=r)
    for s in (r, r / 2, r / 7):
        ah = ball.alpha / (s * np.linalg.norm(W, axis=1))
        if n == 2:
            assert circle_valid(U, ah - 1e-12)[0]
    assert frank(W[0 >= ball.alpha].tolist()) == n


SPHERE3 = sphere_points(3, 60000, 1)


def _uniform_raise_valid(U, ahat):
    return circle_valid(U, ahat)[0] if U.shape[1] == 2 else all(
        np.linalg.matrix_rank(U[row]) == 3
        for row in np.unique(SPHERE3 @ U.T >= ahat, axis=0))


def test_hand_values_are_uniformly_maximal_by_bisection():
    """Spec section 6: polygons, tetrahedron, icosahedron; the certificate equals the
    largest uniform bias found by bisection on the brute-force check."""
    g = (1 + 5 ** 0.5) / 2
    ico = np.array([np.roll([0, s1, s2 * g], k) for s1 in (1, -1) for s2 in (1, -1)
                    for k in range(3)], float)
    tet = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], float)
    frames = [(ico, 1 / 5 ** 0.5), (tet, -1 / 3 ** 0.5)]
    for m in (3, 4, 5, 6, 8):
        ang = 2 * np.pi * np.arange(m) / m
        frames.append((np.c_[np.cos(ang), np.sin(ang)], np.cos(2 * np.pi / m)))
    for W, value in frames:
        cert = maximal_bias(W)
        np.testing.assert_allclose(cert.alpha_hat, value, atol=1e-12)
        U = W / np.linalg.norm(W, axis=1)[:, None]
        lo, hi = -1.0, 1.0
        for _ in range(30):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if _uniform_raise_valid(U, np.full(len(U), mid)) else (lo, mid)
        # sampling on S^2 can only overestimate the largest valid uniform value
        assert value - 1e-6 <= lo <= value + (1e-6 if W.shape[1] == 2 else 2e-2)


# ---------------------------------------------------------------------------
# bias margin
# ---------------------------------------------------------------------------
@FAST
@given(int_layers(), st.data())
def test_bias_margin_matches_brute_force(layer, data):
    W, alpha = layer
    if np.all(W == 0):
        return
    n = W.shape[1]
    X = np.array(data.draw(st.lists(st.lists(st.integers(-2, 2), min_size=n, max_size=n),
                                    min_size=2, max_size=2)), float)
    full = frank(W.tolist())
    bm = bias_margin(W, X, alpha=alpha)
    assert bm.target_rank == full
    for p, x in enumerate(X):
        z = W @ x - alpha
        assert bm.per_point[p] == max(d for d in z if frank(W[z >= d].tolist()) == full)


# ---------------------------------------------------------------------------
# row scales: tiny and huge rows against the unscaled reference
# ---------------------------------------------------------------------------
@FAST
@given(int_layers(n_min=2), st.lists(st.sampled_from([-1000, -500, -60, 0, 60, 500, 1000]),
                                      min_size=5, max_size=5))
def test_extreme_row_scales(layer, exps):
    W, alpha = layer
    e = np.array(exps[: len(W)])
    Ws, als = np.ldexp(W, e[:, None]), np.ldexp(alpha, e)
    n = W.shape[1]
    lo, hi = -2 * np.ones(n), 2 * np.ones(n)
    v = check_injectivity(Ws, alpha=als, domain=(lo, hi))
    ok, pats, _ = ref_injective_convex(W, alpha, *box_rows(lo, hi))
    assert v.is_injective == ok and v.n_pieces == len(pats)
    if not ok:
        check_exact_collision(v, Ws, als)


# ---------------------------------------------------------------------------
# networks
# ---------------------------------------------------------------------------
def _net_case(rng):
    n = int(rng.integers(1, 3))
    w1, w2 = int(rng.integers(n, 5)), int(rng.integers(n, 4))
    L = [(rng.integers(-2, 3, size=(w1, n)).astype(float), rng.integers(-2, 3, size=w1).astype(float)),
         (rng.integers(-2, 3, size=(w2, w1)).astype(float), rng.integers(-2, 3, size=w2).astype(float))]
    lo, hi = -np.ones(n) * rng.integers(1, 3), np.ones(n) * rng.integers(1, 3)
    net = PLNet.from_arrays(L + [(np.ones((1, w2)), np.zeros(1))])
    v = check_network_injectivity(net, domain=(lo, hi))
    r0 = ref_net_injective(L[:1], lo, hi)
    r1 = r0 and ref_net_injective(L, lo, hi)
    assert v.layers[0].is_injective == r0
    assert v.is_injective == r1


@pytest.mark.parametrize("seed", range(12))
def test_network_verdict_matches_region_pairs(seed):
    _net_case(np.random.default_rng(seed))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(100, 400))
def test_network_verdict_matches_region_pairs_sweep(seed):
    _net_case(np.random.default_rng(seed))


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(int_layers(), st.data())
def test_box_verdict_sweep(layer, data):
    test_box_verdict_matches_pattern_enumeration.hypothesis.inner_test(layer, data)
