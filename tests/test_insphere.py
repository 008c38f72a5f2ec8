"""Tests of polyfold.insphere: the Chebyshev ball of {x : A x + c >= 0}.

Expected values come from closed forms (triangle, boxes, regular polygons,
corner simplices) and from brute-force sampling of candidate centres (a lower
bound on the radius).
"""

import inspect
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import polyfold
from polyfold.exceptions import (
    DomainError,
    NonFiniteError,
    PolyfoldError,
    ShapeError,
    SolverError,
    ValidationError,
)
from polyfold.statistics import Insphere, InsphereBatch, _least_distance, insphere, inspheres
from polyfold.tolerance import Tolerance, get_tol

TRI_A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
TRI_C = np.array([0.0, 0.0, 1.0])
TRI_R = (2 - math.sqrt(2)) / 2  # inradius of the right isosceles triangle with legs 1


def _ball_fits(A, c, ball, atol=1e-8):
    norms = np.linalg.norm(A, axis=1)
    return np.all(ball.slack >= ball.radius * norms - atol)


# ---------------------------------------------------------------------------
# closed forms
# ---------------------------------------------------------------------------
def test_triangle_radius_and_centre():
    ball = insphere(TRI_A, TRI_C)
    assert isinstance(ball, Insphere)
    assert ball.radius == pytest.approx(TRI_R, abs=1e-9)
    np.testing.assert_allclose(ball.centre, [TRI_R, TRI_R], atol=1e-8)
    assert ball.status == "optimal"
    assert ball.solver_status == 0
    # slack of the legs is r, of the hypotenuse r * sqrt(2) (row not normalised)
    np.testing.assert_allclose(ball.slack, [TRI_R, TRI_R, TRI_R * math.sqrt(2)], atol=1e-8)
    assert ball.domain_slack.shape == (0,)
    assert ball.dim == 2


def test_result_is_frozen_and_readonly():
    ball = insphere(TRI_A, TRI_C)
    with pytest.raises(Exception):
        ball.radius = 1.0
    with pytest.raises(ValueError):
        ball.centre[0] = 1.0


def test_row_scaling_does_not_change_the_ball():
    s = np.array([3.0, 0.5, 7.0])
    ball = insphere(TRI_A * s[:, None], TRI_C * s)
    assert ball.radius == pytest.approx(TRI_R, abs=1e-9)
    # slack scales with the row
    np.testing.assert_allclose(ball.slack, s * [TRI_R, TRI_R, TRI_R * math.sqrt(2)], atol=1e-7)


@pytest.mark.parametrize("d", [1, 2, 3, 6])
def test_unit_box(d):
    # via the domain alone and via explicit rows
    ball = insphere(np.zeros((0, d)), np.zeros(0), domain=(0, 1))
    assert ball.radius == pytest.approx(0.5, abs=1e-9)
    np.testing.assert_allclose(ball.centre, 0.5, atol=1e-8)
    np.testing.assert_allclose(ball.domain_slack, 0.5, atol=1e-8)
    eye = np.eye(d)
    A = np.vstack([eye, -eye])
    c = np.concatenate([np.zeros(d), np.ones(d)])
    ball2 = insphere(A, c)
    assert ball2.radius == pytest.approx(0.5, abs=1e-9)
    np.testing.assert_allclose(ball2.slack, 0.5, atol=1e-8)


def test_rectangle_radius_is_half_the_short_side():
    # [0, 2] x [0, 1]: centre not unique, radius is
    ball = insphere(np.zeros((0, 2)), np.zeros(0), domain=([0, 0], [2, 1]))
    assert ball.radius == pytest.approx(0.5, abs=1e-9)
    assert 0.5 - 1e-8 <= ball.centre[0] <= 1.5 + 1e-8
    assert ball.centre[1] == pytest.approx(0.5, abs=1e-8)


@pytest.mark.parametrize("d", [2, 3, 4, 7])
def test_corner_simplex(d):
    # {x >= 0, sum x <= 1}: inradius 1 / (d + sqrt d), centre r * ones
    A = np.vstack([np.eye(d), -np.ones((1, d))])
    c = np.concatenate([np.zeros(d), [1.0]])
    ball = insphere(A, c)
    r = 1.0 / (d + math.sqrt(d))
    assert ball.radius == pytest.approx(r, abs=1e-9)
    np.testing.assert_allclose(ball.centre, r, atol=1e-8)


@pytest.mark.parametrize("k", [3, 5, 6, 11])
def test_regular_polygon_with_apothem(k):
    # regular k-gon centred at (2, -1) with apothem 0.7: unique centre, r = apothem
    ang = 2 * np.pi * np.arange(k) / k + 0.3
    normals = -np.column_stack([np.cos(ang), np.sin(ang)])  # inward
    centre = np.array([2.0, -1.0])
    c = 0.7 - normals @ centre
    ball = insphere(normals, c)
    assert ball.radius == pytest.approx(0.7, abs=1e-9)
    np.testing.assert_allclose(ball.centre, centre, atol=1e-7)


def test_domain_clips_an_unbounded_region():
    # half-plane x >= 0 alone is unbounded; within the unit square r = 1/2
    ball = insphere([[1.0, 0.0]], [0.0], domain=(0, 1))
    assert ball.radius == pytest.approx(0.5, abs=1e-9)
    assert ball.slack.shape == (1,)
    assert ball.domain_slack.shape == (4,)
    # the triangle clipped to [0, 0.2]^2 is the small square
    ball = insphere(TRI_A, TRI_C, domain=(0, 0.2))
    assert ball.radius == pytest.approx(0.1, abs=1e-9)


def test_per_coordinate_domain():
    ball = insphere(np.zeros((0, 3)), np.zeros(0), domain=([0, 0, 0], [1, 4, 0.5]))
    assert ball.radius == pytest.approx(0.25, abs=1e-9)


def test_flat_polytope_reports_flat():
    # segment x = 0, 0 <= y <= 1
    A = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    c = np.array([0.0, 0.0, 0.0, 1.0])
    ball = insphere(A, c)
    assert ball.status == "flat"
    assert ball.radius == pytest.approx(0.0, abs=1e-12)


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------
small_int = st.integers(min_value=-3, max_value=3)


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(st.tuples(small_int, small_int, small_int), min_size=1, max_size=6),
    seed=st.integers(0, 2**16),
)
def test_ball_fits_and_beats_sampled_centres(rows, seed):
    # random polygons clipped to [-2, 2]^2; the LP radius must (a) fit, i.e. every
    # slack >= r |A_i|, and (b) be at least the best ball found at sampled centres
    R = np.array(rows, dtype=float)
    A, c = R[:, :2], R[:, 2]
    try:
        ball = insphere(A, c, domain=(-2, 2))
    except DomainError:
        # empty: then no sampled point may satisfy every row within the box
        pts = np.random.default_rng(seed).uniform(-2, 2, (4000, 2))
        assert not np.any(np.all(pts @ A.T + c >= 1e-9, axis=1))
        return
    assert _ball_fits(A, c, ball)
    assert np.all(ball.domain_slack >= ball.radius - 1e-8)
    assert np.all(np.abs(ball.centre) <= 2 + 1e-8)
    pts = np.random.default_rng(seed).uniform(-2, 2, (4000, 2))
    norms = np.linalg.norm(A, axis=1)
    nz = norms > 0
    dist = np.full(len(pts), np.inf)
    if np.any(nz):
        dist = np.min((pts @ A[nz].T + c[nz]) / norms[nz], axis=1)
    ok = np.all(pts @ A[~nz].T + c[~nz] >= 0, axis=1) if np.any(~nz) else np.ones(len(pts), bool)
    box = np.min(np.hstack([pts + 2, 2 - pts]), axis=1)
    best = np.max(np.where(ok, np.minimum(dist, box), -np.inf))
    assert ball.radius >= best - 1e-9


@settings(max_examples=25, deadline=None)
@given(shift=st.tuples(small_int, small_int), scale=st.integers(1, 4))
def test_translation_and_scaling_equivariance(shift, scale):
    # polytope scale * T + shift: radius scales, centre moves along
    t = np.array(shift, dtype=float)
    A = TRI_A
    c = scale * TRI_C - A @ t
    ball = insphere(A, c)
    assert ball.radius == pytest.approx(scale * TRI_R, abs=1e-8)
    np.testing.assert_allclose(ball.centre, t + scale * TRI_R, atol=1e-7)


# ---------------------------------------------------------------------------
# batched helper
# ---------------------------------------------------------------------------
def test_batch_matches_single_calls():
    As = [TRI_A, 2 * TRI_A, np.vstack([TRI_A, [[1.0, 1.0]]])]
    cs = [TRI_C, np.array([0.0, 0.0, 4.0]), np.array([0.0, 0.0, 1.0, 5.0])]
    batch = inspheres(As, cs)
    assert isinstance(batch, InsphereBatch)
    assert len(batch) == 3
    np.testing.assert_allclose(batch.radii, [TRI_R, 2 * TRI_R, TRI_R], atol=1e-9)
    assert batch.slack_offsets.tolist() == [0, 3, 6, 10]
    for i, (A, c) in enumerate(zip(As, cs)):
        one = insphere(A, c)
        assert batch[i].radius == pytest.approx(one.radius, abs=1e-12)
        assert _ball_fits(A, c, batch[i])
    assert batch.status.tolist() == ["optimal"] * 3
    assert batch[-1].slack.shape == (4,)


def test_batch_with_domain_and_errors():
    As = [np.array([[1.0, 0.0]]), np.array([[1.0, 0.0], [-1.0, 0.0]])]
    cs = [np.array([0.0]), np.array([-2.0, 1.0])]  # second: x >= 2 and x <= 1
    with pytest.raises(DomainError, match="polytope 1"):
        inspheres(As, cs, domain=(0, 1))
    batch = inspheres(As, cs, domain=(0, 1), on_error="nan")
    assert batch.status.tolist() == ["optimal", "empty"]
    assert batch.radii[0] == pytest.approx(0.5)
    assert np.isnan(batch.radii[1])
    assert batch.domain_slack.shape == (2, 4)
    batch = inspheres(As[:1], cs[:1], on_error="nan")
    assert batch.status.tolist() == ["unbounded"]


def test_batch_bad_input():
    with pytest.raises(ValidationError, match="same length"):
        inspheres([TRI_A], [TRI_C, TRI_C])
    with pytest.raises(ShapeError, match="same dimension"):
        inspheres([TRI_A, np.eye(3)], [TRI_C, np.zeros(3)])
    with pytest.raises(ValidationError, match="on_error"):
        inspheres([TRI_A], [TRI_C], on_error="ignore")
    with pytest.raises(ShapeError, match=r"cs\[0\]"):
        inspheres([TRI_A], [np.zeros(2)])
    assert len(inspheres([], [])) == 0
    with pytest.raises(ValidationError, match="index"):
        inspheres([TRI_A], [TRI_C])[3]


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
def test_empty_polytope_raises_domain_error():
    with pytest.raises(DomainError, match="empty"):
        insphere([[1.0], [-1.0]], [-2.0, 1.0])
    # empty only after clipping to the domain
    with pytest.raises(DomainError, match="empty"):
        insphere([[1.0, 0.0]], [-3.0], domain=(0, 1))
    # a dead unit: zero row with negative offset
    with pytest.raises(DomainError, match="empty"):
        insphere(np.vstack([TRI_A, [[0.0, 0.0]]]), np.concatenate([TRI_C, [-1.0]]))


def test_zero_row_that_holds_is_ignored():
    ball = insphere(np.vstack([TRI_A, [[0.0, 0.0]]]), np.concatenate([TRI_C, [2.0]]))
    assert ball.radius == pytest.approx(TRI_R, abs=1e-9)
    assert ball.slack[-1] == pytest.approx(2.0)


def test_unbounded_without_domain_suggests_domain():
    with pytest.raises(DomainError, match=r"domain=") as info:
        insphere([[1.0, 0.0]], [0.0])
    assert isinstance(info.value, PolyfoldError)
    assert isinstance(info.value, ValueError)
    with pytest.raises(DomainError, match="domain="):
        insphere(np.zeros((0, 2)), np.zeros(0))


def test_strip_is_unbounded_but_has_finite_radius():
    ball = insphere([[1.0, 0.0], [-1.0, 0.0]], [0.0, 2.0])
    assert ball.radius == pytest.approx(1.0, abs=1e-9)


def test_bad_shapes_and_values():
    with pytest.raises(ShapeError, match="A must be a 2-D"):
        insphere([1.0, 2.0], [0.0])
    with pytest.raises(ShapeError, match=r"c must have shape \(3,\)"):
        insphere(TRI_A, [0.0, 1.0])
    with pytest.raises(NonFiniteError, match="A contains NaN"):
        insphere([[np.nan, 0.0]], [0.0])
    with pytest.raises(NonFiniteError, match="c contains NaN"):
        insphere(TRI_A, [0.0, np.inf, 1.0])
    with pytest.raises(ValidationError, match="domain must be None or a pair"):
        insphere(TRI_A, TRI_C, domain=(0, 1, 2))
    with pytest.raises(ValidationError, match="domain must be None or a pair"):
        insphere(TRI_A, TRI_C, domain="unit")
    with pytest.raises(DomainError, match="inverted"):
        insphere(TRI_A, TRI_C, domain=(1, 0))
    with pytest.raises(ShapeError, match="domain"):
        insphere(TRI_A, TRI_C, domain=([0, 0, 0], [1, 1, 1]))
    with pytest.raises(ValidationError, match="tol must be"):
        insphere(TRI_A, TRI_C, tol=1e-9)


def test_lp_failure_surfaces_as_solver_error(monkeypatch):
    # every HiGHS call reports "numerical difficulties" (scipy's status 4)
    from polyfold import _lp

    def failing_highs(*args, **kwargs):
        return _lp._LPResult(4, None, None, "numerical difficulties (test)")

    monkeypatch.setattr(_lp, "_run_highs", failing_highs)
    with pytest.raises(SolverError, match="status 4") as info:
        insphere(TRI_A, TRI_C)
    assert info.value.status == 4
    assert isinstance(info.value, RuntimeError)
    batch = inspheres([TRI_A], [TRI_C], on_error="nan")
    assert batch.status.tolist() == ["solver"]
    assert batch.solver_status.tolist() == [4]
    with pytest.raises(SolverError, match="polytope 0") as info:
        inspheres([TRI_A], [TRI_C])
    assert info.value.status == 4


def test_flat_threshold_follows_tolerance():
    # a sliver of width 1e-6: optimal with the default tolerance, flat with a coarse one
    A = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    c = np.array([0.0, 1e-6, 0.0, 1.0])
    assert insphere(A, c).status == "optimal"
    assert insphere(A, c, tol=Tolerance(lp=1e-5)).status == "flat"


def test_top_level_name_is_the_function():
    # this file imported polyfold.statistics (and its submodules) above
    import polyfold.statistics.chebyshev as module

    assert polyfold.insphere is module.insphere is polyfold.statistics.insphere
    assert inspect.isfunction(polyfold.insphere)
    assert polyfold.insphere(TRI_A, TRI_C).radius == pytest.approx(TRI_R, abs=1e-9)


@pytest.mark.parametrize("first", [
    "import polyfold",
    "import polyfold.statistics",
    "import polyfold.statistics.chebyshev",
    "from polyfold.statistics import insphere",
    "from polyfold.statistics.regions import region_statistics",
])
def test_top_level_name_is_the_function_in_any_import_order(first):
    # a fresh interpreter, so that the import order is really the one given
    import subprocess
    import sys
    from pathlib import Path

    code = (f"{first}\n"
            "import inspect, polyfold\n"
            "f = polyfold.insphere\n"
            "print(inspect.isfunction(f), f.__module__, f is polyfold.statistics.insphere,\n"
            "      isinstance(polyfold.statistics, type(inspect)))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[1], check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["True", "polyfold.statistics.chebyshev", "True", "True"]


# ---------------------------------------------------------------------------
# least-distance helper used for decision-boundary distances
# ---------------------------------------------------------------------------
def test_least_distance_closed_forms():
    tol = get_tol()
    # x >= 1, y >= 1: nearest point (1, 1)
    y = _least_distance(np.eye(2), np.array([1.0, 1.0]), tol)
    np.testing.assert_allclose(y, [1.0, 1.0], atol=1e-9)
    # origin already feasible
    y = _least_distance(np.eye(2), np.array([-1.0, -1.0]), tol)
    np.testing.assert_allclose(y, [0.0, 0.0], atol=1e-12)
    # x >= 1 and x <= -1: infeasible
    assert _least_distance(np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([1.0, 1.0]), tol) is None
    # line x + y = 2 as two inequalities, clipped by x <= 0.5: nearest (0.5, 1.5)
    G = np.array([[1.0, 1.0], [-1.0, -1.0], [-1.0, 0.0]])
    h = np.array([2.0, -2.0, -0.5])
    np.testing.assert_allclose(_least_distance(G, h, tol), [0.5, 1.5], atol=1e-8)


def test_flat_region_has_radius_plus_zero():
    # [0, 1] x {0} has no interior: radius 0 (and +0.0: the LP's -0.0 is not passed on,
    # so copysign, formatting and sorting see a plain zero)
    A = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    c = np.array([0.0, 1.0, 0.0, 0.0])
    for dom in (None, (0, 1)):
        ball = insphere(A, c, domain=dom)
        assert ball.radius == 0.0 and not np.signbit(ball.radius) and ball.status == "flat"
        assert not np.signbit(ball.centre).any() and ball.centre[1] == 0.0
        assert 0.0 <= ball.centre[0] <= 1.0


@pytest.mark.parametrize("s", [2.0**-70, 1e-20, 1e20, 2.0**70])
def test_insphere_of_tiny_and_huge_boxes(s):
    # the square [-s, s]^2: radius s, centre 0 (closed form, any scale; HiGHS's absolute
    # tolerances gave 0 at 1e-20 and "unbounded" at 1e20)
    A = np.vstack([np.eye(2), -np.eye(2)])
    ball = insphere(A, np.full(4, s))
    assert ball.radius == pytest.approx(s, rel=1e-9)
    assert np.all(np.abs(ball.centre) <= 1e-9 * s)


@pytest.mark.parametrize("M", [1e15, 1e21, 1e29])
def test_small_simplex_in_a_huge_box(M):
    # the unit simplex {x >= 0, x1 + x2 + x3 <= 1} has inradius 1 / (3 + sqrt 3) whatever
    # far box faces are added; scaled by the largest offset (1e15 and more) the ball was
    # below HiGHS's absolute tolerances and came back with radius 0
    A = np.vstack([np.eye(3), -np.ones((1, 3)), np.eye(3), -np.eye(3)])
    c = np.concatenate([np.zeros(3), [1.0], np.full(6, M)])
    r = 1.0 / (3.0 + math.sqrt(3.0))
    ball = polyfold.insphere(A, c)
    assert ball.radius == pytest.approx(r, rel=1e-9)
    np.testing.assert_allclose(ball.centre, [r, r, r], rtol=1e-9)
    # the region of the same simplex as a ReLU net: the statistics do not depend on M
    net = polyfold.PLNet.from_arrays([(A[:4], np.array([0.0, 0, 0, 1])), (np.ones((1, 4)), np.zeros(1))])
    st_ = polyfold.region_statistics(net, [[0.2, 0.1, 0.3]], domain=(-M, M), progress=False)
    assert st_.radius[0] == pytest.approx(r, rel=1e-9)
    assert st_.n_facets[0] == 4 and st_.n_neighbours[0] == 4 and st_.neighbours_verified[0] == 1.0
