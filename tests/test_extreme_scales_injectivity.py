"""Injectivity and insphere functions at extreme row scales and on edge inputs.

Scaling row ``i`` of ``W`` (with ``alpha_i`` and ``y_i``) or of ``A`` (with ``c_i``) by
``s_i > 0`` leaves active sets, ranks, unit rows, the reconstructed ``x`` and the
polytope ``{x : A x + c >= 0}`` unchanged, and multiplies a bias by ``s_i``.  The
expected values come from closed forms (regular polygons and solids, the inradius
``2 Area / perimeter`` of a triangle, the angular gaps of a planar frame), from exact
integer arithmetic, or from ``scipy.optimize.linprog`` on the unscaled problem; the
hypothesis tests draw small integer matrices and multiply their rows by random powers
of ten in [-250, 250].
"""

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from polyfold.exceptions import (
    DomainError,
    EmptyPolytopeError,
    NonFiniteError,
    UnboundedRadiusError,
    ValidationError,
)
from polyfold.injectivity import (
    Points,
    active_set,
    bias_margin,
    check_injectivity,
    check_network_injectivity,
    is_alpha_rectifying_at,
    maximal_bias,
    omnidirectionality,
    reconstruct,
)
from polyfold.statistics import insphere, inspheres

SETTINGS = settings(max_examples=100, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
#: row scales that broke the old code: per row, very different
MIXED = np.array([1e300, 1e-300, 1e250, 1e-250, 1e200, 1e-200, 1.0, 1e100])


def polygon(m):
    t = 2 * np.pi * np.arange(m) / m
    return np.c_[np.cos(t), np.sin(t)]


def powers_of_ten(m):
    return st.lists(st.integers(-250, 250), min_size=m, max_size=m).map(
        lambda k: 10.0 ** np.array(k, dtype=np.float64))


def frac_rank(rows):
    """Exact rank of integer rows (Fraction elimination)."""
    M = [[Fraction(v) for v in r] for r in rows]
    rank, col, n = 0, 0, len(M[0]) if M else 0
    while rank < len(M) and col < n:
        piv = next((i for i in range(rank, len(M)) if M[i][col] != 0), None)
        if piv is None:
            col += 1
            continue
        M[rank], M[piv] = M[piv], M[rank]
        for i in range(len(M)):
            if i != rank and M[i][col] != 0:
                f = M[i][col] / M[rank][col]
                M[i] = [a - f * b for a, b in zip(M[i], M[rank])]
        rank += 1
        col += 1
    return rank


# ---------------------------------------------------------------------------
# maximal_bias and omnidirectionality
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("m", [3, 4, 6, 7])
@pytest.mark.parametrize("domain", ["sphere", "ball"])
def test_maximal_bias_of_a_polygon_with_mixed_row_scales(m, domain):
    # spec: alpha_hat_i = cos(2 pi / m) on the sphere, min(., 0) on the ball;
    # alpha_i = s_i * |phi_i| * that
    s = MIXED[:m]
    cert = maximal_bias(polygon(m) * s[:, None], domain=domain)
    expect = math.cos(2 * math.pi / m)
    if domain == "ball":
        expect = min(expect, 0.0)
    np.testing.assert_allclose(cert.alpha / s, expect, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cert.alpha_hat, math.cos(2 * math.pi / m), atol=1e-12)
    np.testing.assert_allclose(cert.norms / s, 1.0, rtol=1e-15)


def test_maximal_bias_of_tetrahedron_and_icosahedron_with_mixed_scales():
    tet = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], float)
    s = MIXED[:4]
    cert = maximal_bias(tet * s[:, None])
    np.testing.assert_allclose(cert.alpha / (s * math.sqrt(3)), -1 / math.sqrt(3), atol=1e-12)
    g = (1 + math.sqrt(5)) / 2
    base = [(0, a, b * g) for a in (1, -1) for b in (1, -1)]
    ico = np.array([p[k:] + p[:k] for p in base for k in range(3)], float)
    s = np.tile(MIXED, 2)[:12]
    cert = maximal_bias(ico * s[:, None], domain="annulus", radius=2.0, inner_radius=0.5)
    # alpha_hat = 1/sqrt(5) >= 0: the annulus rule takes the inner radius
    np.testing.assert_allclose(cert.alpha / (s * np.linalg.norm(ico, axis=1)),
                               0.5 / math.sqrt(5), atol=1e-12)


@st.composite
def planar_frames(draw):
    m = draw(st.integers(3, 7))
    rows = draw(st.lists(st.tuples(st.integers(-5, 5), st.integers(-5, 5)),
                         min_size=m, max_size=m))
    W = np.array(rows, dtype=np.float64)
    assume(np.all(np.any(W != 0, axis=1)))
    # distinct unit rows (no positive multiples): every row is a vertex of the hull
    for i in range(m):
        for j in range(i):
            cross = W[i, 0] * W[j, 1] - W[i, 1] * W[j, 0]
            assume(not (cross == 0 and W[i] @ W[j] > 0))
    theta = np.sort(np.arctan2(W[:, 1], W[:, 0]))
    gaps = np.diff(np.r_[theta, theta[0] + 2 * np.pi])
    assume(gaps.max() < np.pi - 1e-6)  # omnidirectional with a margin
    return W, draw(powers_of_ten(m))


@SETTINGS
@given(planar_frames(), st.sampled_from(["sphere", "ball"]))
def test_maximal_bias_planar_frames_at_any_row_scale(frame, domain):
    W, s = frame
    # closed form in the plane: the facets are the arcs between angular neighbours, and
    # min {<x, u_i> : x on the arc} = cos(gap); alpha_hat_i = min over its two arcs
    theta = np.arctan2(W[:, 1], W[:, 0])
    order = np.argsort(theta)
    t = theta[order]
    gaps = np.diff(np.r_[t, t[0] + 2 * np.pi])
    ah = np.empty(len(W))
    ah[order] = np.minimum(np.cos(gaps), np.cos(np.roll(gaps, 1)))
    if domain == "ball":
        ah = np.minimum(ah, 0.0)
    cert = maximal_bias(W * s[:, None], domain=domain)
    np.testing.assert_allclose(cert.alpha / (s * np.linalg.norm(W, axis=1)), ah, atol=1e-9)
    t_s, _ = omnidirectionality(W * s[:, None])
    t_1, _ = omnidirectionality(W)
    assert t_s == pytest.approx(t_1, abs=1e-12)


@SETTINGS
@given(planar_frames())
def test_sampling_bias_is_row_scale_invariant(frame):
    W, s = frame
    a1 = maximal_bias(W, method="sampling", n_samples=500, seed=3).alpha
    a2 = maximal_bias(W * s[:, None], method="sampling", n_samples=500, seed=3).alpha
    np.testing.assert_allclose(a2 / s, a1, rtol=1e-9, atol=1e-9)


def test_omnidirectionality_closed_forms_with_mixed_scales():
    # rows e1, e2, -(e1 + e2)/sqrt 2: c = (1 - 1/sqrt 2, same, sqrt 2 - 1), t = min c
    W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]) * MIXED[:3, None]
    t, direction = omnidirectionality(W)
    assert t == pytest.approx(1 - 1 / math.sqrt(2), abs=1e-12) and direction is None
    # a regular m-gon: uniform weights, t = 1/m
    t, _ = omnidirectionality(polygon(8) * MIXED[:, None])
    assert t == pytest.approx(1 / 8, abs=1e-12)
    # not omnidirectional (all rows in the upper half plane): a unit direction that no
    # row points into is found
    U = np.array([[1.0, 1.0], [-1.0, 1.0], [0.0, 1.0]])
    t, x = omnidirectionality(U * MIXED[:3, None])
    assert t <= 0 and np.linalg.norm(x) == pytest.approx(1.0)
    assert np.all(U @ x <= 1e-9)


def test_maximal_bias_overflow_is_a_clear_error():
    W = polygon(3)  # alpha_hat = -1/2
    with pytest.raises(NonFiniteError, match="overflows float64"):
        maximal_bias(W * np.array([1e300, 1, 1])[:, None], radius=1e10)
    # a row whose norm exceeds float64 although its entries do not
    with pytest.raises(NonFiniteError, match="norm beyond float64"):
        maximal_bias(np.array([[1.5e308, 1.5e308], [-1, 0], [0, -1.0]]))
    # tiny rows: the bias underflows towards 0 gracefully, never NaN
    cert = maximal_bias(W * 1e-300, radius=1e-10, domain="ball")
    assert np.all(np.isfinite(cert.alpha))


def test_omnidirectionality_refuses_a_bias():
    with pytest.raises(ValidationError, match="bias plays no part"):
        omnidirectionality(polygon(4), bias=0.0)


# ---------------------------------------------------------------------------
# reconstruct
# ---------------------------------------------------------------------------
@st.composite
def layers_and_inputs(draw):
    n = draw(st.integers(1, 3))
    m = draw(st.integers(n + 1, 6))
    W = draw(st.lists(st.lists(st.integers(-4, 4), min_size=n, max_size=n),
                      min_size=m, max_size=m))
    x = draw(st.lists(st.integers(-6, 6), min_size=n, max_size=n))
    alpha = draw(st.lists(st.integers(-3, 3), min_size=m, max_size=m))
    # exact outputs; the rows with y > 0 must span for x to be determined
    z = [sum(w * v for w, v in zip(row, x)) - a for row, a in zip(W, alpha)]
    active = [row for row, zi in zip(W, z) if zi > 0]
    assume(active and frac_rank(active) == n)
    y = np.array([max(zi, 0) for zi in z], dtype=np.float64)
    return (np.array(W, np.float64), np.array(x, np.float64), np.array(alpha, np.float64),
            y, draw(powers_of_ten(m)))


@SETTINGS
@given(layers_and_inputs())
def test_reconstruct_at_any_row_scale(case):
    W, x, alpha, y, s = case
    got = reconstruct(W * s[:, None], y * s, alpha=alpha * s)
    np.testing.assert_allclose(got, x, atol=1e-9 * (1 + np.abs(x).max()))


def test_reconstruct_mixed_scales_both_methods():
    W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
    alpha = np.full(4, -0.5)
    x = np.array([0.3, 0.2])
    y = np.maximum(W @ x - alpha, 0)  # all four rows active
    s = MIXED[:4]
    for method in ("dual", "frame_algorithm"):
        got = reconstruct(W * s[:, None], y * s, alpha=alpha * s, method=method)
        np.testing.assert_allclose(got, x, atol=1e-9)
    # the torch convention too (bias = -alpha), a batch of two outputs
    Y = np.vstack([y, np.maximum(W @ [1.0, -0.25] - alpha, 0)]) * s
    got = reconstruct(W * s[:, None], Y, bias=-alpha * s)
    np.testing.assert_allclose(got, [[0.3, 0.2], [1.0, -0.25]], atol=1e-9)


def test_reconstruct_refuses_an_unrepresentable_x():
    # y_0 + alpha_0 = 1e300 with |phi_0| = 1e-300: x_0 would be 1e600
    W = np.array([[1e-300, 0.0], [0.0, 1.0], [1.0, 1.0]])
    with pytest.raises(NonFiniteError, match="float64"):
        reconstruct(W, [1e300, 1.0, 1.0], alpha=0.0)


# ---------------------------------------------------------------------------
# active sets, rank test, bias margin
# ---------------------------------------------------------------------------
def test_float_rank_test_sees_mixed_scale_rows():
    W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
    alpha = np.full(4, -0.5)
    s = MIXED[:4]
    X = np.array([[0.3, 0.2], [-0.25, 3.0], [3.0, -0.25]])
    # by hand (>= -0.5): active rows {0,1,2,3}, {0,1} and {0,1,3}: all span R^2
    assert active_set(W * s[:, None], X, alpha=alpha * s).tolist() == [
        [True, True, True, True], [True, True, False, False], [True, True, False, True]]
    for exact in (False, True):
        ok, ranks = is_alpha_rectifying_at(W * s[:, None], X, alpha=alpha * s, exact=exact,
                                           return_rank=True)
        assert ok.tolist() == [True, True, True] and ranks.tolist() == [2, 2, 2]


def test_bias_margin_with_mixed_row_scales():
    # z = (1e299 + 0.5, 0.5 + 2e-301, 0.2, 0.4) at x = (0.1, 0.2): the two largest rows
    # (0 and 1) already span, so the margin is z_1 = 0.5 (by hand)
    W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [1.0, -1.0]]) * \
        np.array([1e300, 1e-300, 1.0, 1.0])[:, None]
    bm = bias_margin(W, [[0.1, 0.2]], alpha=-0.5)
    assert bm.target_rank == 2
    assert bm.margin == pytest.approx(0.5, abs=1e-12)


def test_bias_margin_overflowing_preactivation_is_a_clear_error():
    W = np.array([[1e308, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    with pytest.raises(NonFiniteError, match="overflows float64"):
        bias_margin(W, [[10.0, 0.0]], alpha=0.0)


# ---------------------------------------------------------------------------
# check_injectivity: empty data, flags, scales
# ---------------------------------------------------------------------------
W4 = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])


@pytest.mark.parametrize("domain", [np.zeros((0, 2)), Points(np.zeros((0, 2)))])
def test_check_injectivity_refuses_empty_points(domain):
    # an empty data set passed vacuously (True)
    with pytest.raises(ValidationError, match="at least one point"):
        check_injectivity(W4, alpha=-0.5, domain=domain)


def test_check_network_injectivity_refuses_empty_points():
    from polyfold import zoo

    net = zoo.arrangement(5, 2, seed=0)
    with pytest.raises(ValidationError, match="at least one point"):
        check_network_injectivity(net, domain=Points(np.zeros((0, 2))))


def test_exact_flag_must_be_a_bool():
    with pytest.raises(ValidationError, match="exact must be True"):
        check_injectivity(W4, alpha=-0.5, exact="no")
    with pytest.raises(ValidationError, match="exact must be True"):
        is_alpha_rectifying_at(W4, [0.1, 0.2], alpha=0, exact=1)


# ---------------------------------------------------------------------------
# insphere
# ---------------------------------------------------------------------------
TRI_A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
TRI_C = np.array([0.0, 0.0, 1.0])
TRI_R = 1 / (2 + math.sqrt(2))  # 2 * area / perimeter = 1 / (2 + sqrt 2)


@pytest.mark.parametrize("s", [[1e200] * 3, [1e-200] * 3, [1e200, 1e-200, 1.0],
                               [1e-300, 1e300, 1e-250], [1e308, 1e-308, 1.0]])
def test_triangle_inradius_at_extreme_row_scales(s):
    s = np.array(s)
    ball = insphere(TRI_A * s[:, None], TRI_C * s)
    assert ball.radius == pytest.approx(TRI_R, rel=1e-12)
    np.testing.assert_allclose(ball.centre, [TRI_R, TRI_R], atol=1e-9)
    # slack scales with the row: r |a_i| s_i
    np.testing.assert_allclose(ball.slack / s, TRI_R * np.linalg.norm(TRI_A, axis=1), rtol=1e-9)
    assert ball.status == "optimal"


def test_simplex_and_box_at_mixed_scales():
    # corner simplex x >= 0, sum x <= 1 in R^3: r = 1 / (3 + sqrt 3)
    A = np.vstack([np.eye(3), -np.ones((1, 3))])
    c = np.array([0.0, 0, 0, 1])
    s = MIXED[:4]
    assert insphere(A * s[:, None], c * s).radius == pytest.approx(1 / (3 + math.sqrt(3)),
                                                                   rel=1e-12)
    # the box [-2, 2] x [-1, 1]: r = 1, within a domain box [-3, 3]^2
    A = np.vstack([np.eye(2), -np.eye(2)])
    c = np.array([2.0, 1.0, 2.0, 1.0])
    s = MIXED[4:8]
    assert insphere(A * s[:, None], c * s, domain=(-3, 3)).radius == pytest.approx(1.0, rel=1e-12)


def _reference_radius(A, c, box):
    """scipy.optimize.linprog on the unscaled problem: radius, or 'empty'/'unbounded'."""
    from scipy.optimize import linprog

    d = A.shape[1]
    zero = ~np.any(A != 0, axis=1)
    if np.any(zero & (c < 0)):
        return "empty"
    A, c = A[~zero], c[~zero]
    if box is not None:
        A = np.vstack([A, np.eye(d), -np.eye(d)])
        c = np.concatenate([c, -np.full(d, box[0]), np.full(d, box[1])])
    if len(A) == 0:
        return "unbounded"
    nrm = np.linalg.norm(A, axis=1)
    res = linprog(np.r_[np.zeros(d), -1.0], A_ub=np.hstack([-A, nrm[:, None]]), b_ub=c,
                  bounds=[(None, None)] * d + [(0, None)], method="highs")
    return {2: "empty", 3: "unbounded"}.get(res.status, -res.fun if res.status == 0 else None)


@st.composite
def polytopes(draw):
    d = draw(st.integers(1, 3))
    m = draw(st.integers(1, 6))
    A = np.array(draw(st.lists(st.lists(st.integers(-3, 3), min_size=d, max_size=d),
                               min_size=m, max_size=m)), dtype=np.float64)
    c = np.array(draw(st.lists(st.integers(-3, 3), min_size=m, max_size=m)), dtype=np.float64)
    box = draw(st.sampled_from([None, (-4.0, 4.0)]))
    return A, c, box, draw(powers_of_ten(m))


@SETTINGS
@given(polytopes())
def test_insphere_at_any_row_scale_matches_linprog(case):
    A, c, box = case[:3]
    s = case[3]
    ref = _reference_radius(A, c, box)
    assume(ref is not None)
    As, cs = A * s[:, None], c * s
    dom = None if box is None else box
    if ref == "empty":
        with pytest.raises(DomainError):
            insphere(As, cs, domain=dom)
        return
    if ref == "unbounded":
        with pytest.raises(UnboundedRadiusError):
            insphere(As, cs, domain=dom)
        return
    ball = insphere(As, cs, domain=dom)
    assert ball.radius == pytest.approx(ref, abs=1e-7)
    # the ball fits the unscaled rows, and the slack is the scaled one
    np.testing.assert_allclose(ball.slack / s, A @ ball.centre + c, atol=1e-7)
    assert np.all(A @ ball.centre + c >= ball.radius * np.linalg.norm(A, axis=1) - 1e-7)
    batch = inspheres([As, As], [cs, cs], domain=dom)
    np.testing.assert_allclose(batch.radii, ball.radius, rtol=1e-12)


def test_insphere_zero_rows_keep_only_their_sign():
    # a zero row is the constant constraint c_i >= 0, at any scale of c_i
    A = np.vstack([TRI_A, [[0.0, 0.0]]])
    with pytest.raises(EmptyPolytopeError, match=r"c\[3\]=-1e-250"):
        insphere(A, np.r_[TRI_C, -1e-250])
    assert insphere(A, np.r_[TRI_C, 1e-250]).radius == pytest.approx(TRI_R, rel=1e-12)
    assert insphere(A, np.r_[TRI_C, 0.0]).radius == pytest.approx(TRI_R, rel=1e-12)


def test_insphere_rows_of_very_different_scales_all_count():
    # the hypotenuse at 1e-280, a leg at 1e280 and a duplicate of it at 1: a row 1e-280
    # times the largest one is a constraint like any other (it was taken for a zero row
    # and the radius called unbounded)
    A = np.array([[1.0, 0.0], [0.0, 1e280], [-1e-280, -1e-280], [0.0, 1.0]])
    c = np.array([0.0, 0.0, 1e-280, 0.0])
    ball = insphere(A, c)
    assert ball.radius == pytest.approx(TRI_R, rel=1e-12)
    np.testing.assert_allclose(ball.centre, [TRI_R, TRI_R], atol=1e-9)


def test_insphere_hyperplanes_beyond_float_range():
    # |a| = 1e-300, c = 1e300: the hyperplane x >= -1e600 holds everywhere; the ball
    # is the triangle's
    A = np.vstack([TRI_A, [[1e-300, 0.0]]])
    ball = insphere(A, np.r_[TRI_C, 1e300])
    assert ball.radius == pytest.approx(TRI_R, rel=1e-12)
    assert ball.slack[-1] == pytest.approx(1e300, rel=1e-12)
    # x >= 1e600: no representable point
    with pytest.raises(DomainError, match="beyond float64"):
        insphere(A, np.r_[TRI_C, -1e300])


def test_insphere_slack_overflow_is_a_clear_error():
    A = np.array([[1e308, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    c = np.array([0.0, 10.0, 0.0, 10.0])  # [0, 10]^2: centre (5, 5), slack 5e308
    with pytest.raises(NonFiniteError, match="slack"):
        insphere(A, c)
    with pytest.raises(NonFiniteError, match="polytope 0"):
        inspheres([A], [c])


@pytest.mark.parametrize("bad", [1.0, None, "abc"])
def test_inspheres_refuses_non_sequences(bad):
    with pytest.raises(ValidationError, match="must be a sequence"):
        inspheres(bad, [TRI_C])
    with pytest.raises(ValidationError, match="must be a sequence"):
        inspheres([TRI_A], bad)


def test_inspheres_integer_and_3d_batches_at_mixed_scales():
    s = MIXED[:3]
    As = np.stack([TRI_A * s[:, None], TRI_A * s[::-1, None]])
    cs = np.stack([TRI_C * s, TRI_C * s[::-1]])
    np.testing.assert_allclose(inspheres(As, cs).radii, TRI_R, rtol=1e-12)
    ball = insphere(TRI_A.astype(np.int64), TRI_C.astype(np.int64))
    assert ball.radius == pytest.approx(TRI_R, rel=1e-12)


@pytest.mark.parametrize("s", [1e200, 1e-200, 2.0**1000, 2.0**-1000])
def test_chebyshev_ball_rows_of_one_extreme_scale(s):
    # the private LP wrapper used by the region statistics: its row norms overflowed
    # (|a| = inf: every row "zero", radius unbounded) or underflowed at these scales
    from polyfold import _lp

    ball = _lp.chebyshev_ball(TRI_A * s, TRI_C * s)
    assert ball.radius == pytest.approx(TRI_R, rel=1e-12)
    An, cn, zero = _lp.normalize_rows(TRI_A * s, TRI_C * s)
    np.testing.assert_allclose(An, TRI_A / np.linalg.norm(TRI_A, axis=1)[:, None], rtol=1e-15)
    assert not zero.any()
