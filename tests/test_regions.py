"""Tests of polyfold._lp (HiGHS wrappers) and polyfold.regions (region of a point)."""

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from polyfold import _lp
from polyfold.exceptions import DomainError, PolyfoldError, ShapeError, SolverError


# ---------------------------------------------------------------------------
# _lp: Chebyshev ball
# ---------------------------------------------------------------------------
def test_chebyshev_triangle_closed_form():
    A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    c = np.array([0.0, 0.0, 1.0])
    centre, r, status = _lp.chebyshev_ball(A, c)
    expected = (2 - math.sqrt(2)) / 2
    assert status == 0
    assert r == pytest.approx(expected, abs=1e-9)
    np.testing.assert_allclose(centre, [expected, expected], atol=1e-8)


@pytest.mark.parametrize("d", [1, 2, 3, 5])
def test_chebyshev_unit_box_via_bounds(d):
    # no rows at all: the box alone; radius 1/2, centre the middle
    ball = _lp.chebyshev_ball(np.zeros((0, d)), np.zeros(0), bounds=(0.0, 1.0))
    assert ball.radius == pytest.approx(0.5, abs=1e-9)
    np.testing.assert_allclose(ball.centre, 0.5, atol=1e-8)


def test_chebyshev_scaled_rows_do_not_matter():
    A = np.array([[3.0, 0.0], [0.0, 7.0], [-2.0, -2.0]])
    c = np.array([0.0, 0.0, 2.0])
    r = _lp.chebyshev_ball(A, c).radius
    assert r == pytest.approx((2 - math.sqrt(2)) / 2, abs=1e-9)


def test_chebyshev_unbounded_radius_suggests_box():
    A = np.array([[1.0, 0.0]])
    with pytest.raises(DomainError, match="bounds=") as info:
        _lp.chebyshev_ball(A, np.array([0.0]))
    assert isinstance(info.value, _lp.UnboundedRadiusError)
    with pytest.raises(DomainError, match="unbounded"):
        _lp.chebyshev_ball(np.zeros((0, 2)), np.zeros(0))


def test_chebyshev_strip_has_finite_radius():
    # 0 <= x <= 2, y free: radius 1 although the set is unbounded
    A = np.array([[1.0, 0.0], [-1.0, 0.0]])
    c = np.array([0.0, 2.0])
    ball = _lp.chebyshev_ball(A, c)
    assert ball.radius == pytest.approx(1.0, abs=1e-9)
    assert ball.centre[0] == pytest.approx(1.0, abs=1e-8)


def test_chebyshev_empty_raises_domain_error():
    A = np.array([[1.0], [-1.0]])
    c = np.array([-2.0, 1.0])  # x >= 2 and x <= 1
    with pytest.raises(DomainError, match="empty"):
        _lp.chebyshev_ball(A, c)


def test_chebyshev_flat_polytope_radius_zero():
    A = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    c = np.array([0.0, 0.0, 0.0, 1.0])  # x = 0, 0 <= y <= 1
    ball = _lp.chebyshev_ball(A, c)
    assert ball.radius == pytest.approx(0.0, abs=1e-12)
    assert ball.centre[0] == pytest.approx(0.0, abs=1e-9)
    assert _lp.feasible_interior_point(A, c) is None


def test_zero_rows_dropped_or_empty():
    A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [0.0, 0.0]])
    c = np.array([0.0, 0.0, 1.0, 3.0])  # constant row 3 >= 0 holds
    r = _lp.chebyshev_ball(A, c).radius
    assert r == pytest.approx((2 - math.sqrt(2)) / 2, abs=1e-9)
    assert _lp.redundant_rows(A, c).tolist() == [False, False, False, True]
    c_bad = np.array([0.0, 0.0, 1.0, -3.0])  # constant row -3 >= 0 fails
    with pytest.raises(DomainError, match="row 3"):
        _lp.chebyshev_ball(A, c_bad)
    with pytest.raises(DomainError, match="empty"):
        _lp.redundant_rows(A, c_bad)


def test_feasible_interior_point_inside():
    A = np.array([[1.0, 2.0], [-1.0, 1.0], [0.0, -1.0]])
    c = np.array([1.0, 1.0, 2.0])
    x = _lp.feasible_interior_point(A, c)
    assert np.all(A @ x + c > 0)
    assert _lp.feasible_interior_point(np.array([[1.0], [-1.0]]), np.array([-2.0, 1.0])) is None


def test_bad_shapes_and_bounds():
    with pytest.raises(ShapeError, match="c must have shape"):
        _lp.chebyshev_ball(np.ones((2, 2)), np.ones(3))
    with pytest.raises(ShapeError, match="2-D"):
        _lp.redundant_rows(np.ones(3), np.ones(3))
    with pytest.raises(DomainError, match="inverted"):
        _lp.chebyshev_ball(np.ones((1, 2)), np.ones(1), bounds=(1.0, 0.0))
    with pytest.raises(PolyfoldError, match="bounds must be a pair"):
        _lp.chebyshev_ball(np.ones((1, 2)), np.ones(1), bounds=3.0)


def test_solver_failure_raises_solver_error_with_status(monkeypatch):
    def fake(*args, **kwargs):
        return _lp._LPResult(4, None, None, "numerical difficulties (simulated)")

    monkeypatch.setattr(_lp, "_run_highs", fake)
    A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    c = np.array([0.0, 0.0, 1.0])
    with pytest.raises(SolverError, match="status 4") as info:
        _lp.chebyshev_ball(A, c)
    assert info.value.status == 4
    with pytest.raises(SolverError) as info:
        _lp.redundant_rows(A, c, interior_point=None)
    assert info.value.status == 4


# ---------------------------------------------------------------------------
# _lp: redundancy, against brute-force vertex enumeration in 2D
# ---------------------------------------------------------------------------
def _polygon_vertices_bruteforce(A, c):
    """All feasible pairwise intersection points (exact in Fractions)."""
    from fractions import Fraction

    Aq = [[Fraction(v) for v in row] for row in A]
    cq = [Fraction(v) for v in c]
    pts = set()
    for i, j in itertools.combinations(range(len(cq)), 2):
        det = Aq[i][0] * Aq[j][1] - Aq[i][1] * Aq[j][0]
        if det == 0:
            continue
        x = (-cq[i] * Aq[j][1] + cq[j] * Aq[i][1]) / det
        y = (-Aq[i][0] * cq[j] + Aq[j][0] * cq[i]) / det
        if all(Aq[k][0] * x + Aq[k][1] * y + cq[k] >= 0 for k in range(len(cq))):
            pts.add((x, y))
    return pts


def _facets_bruteforce(A, c):
    """Row i is a facet iff >= 2 distinct polygon vertices lie on its line and it is
    the first row with that (scaled) line."""
    from fractions import Fraction

    verts = _polygon_vertices_bruteforce(A, c)
    out = []
    seen = set()
    for i in range(len(c)):
        a = [Fraction(v) for v in A[i]]
        ci = Fraction(c[i])
        on = [p for p in verts if a[0] * p[0] + a[1] * p[1] + ci == 0]
        nrm = max(abs(a[0]), abs(a[1]))
        key = (a[0] / nrm, a[1] / nrm, ci / nrm) if nrm else None
        is_facet = len(on) >= 2 and key not in seen
        if is_facet:
            seen.add(key)
        out.append(is_facet)
    return out


small = st.integers(-4, 4)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(small, small, small), min_size=1, max_size=7))
def test_redundant_rows_match_bruteforce_2d(rows):
    # intersect with the box [-5, 5]^2 so the polygon is bounded and has interior
    box = [(1, 0, 5), (-1, 0, 5), (0, 1, 5), (0, -1, 5)]
    allrows = [r for r in rows if (r[0], r[1]) != (0, 0)] + box
    A = np.array([[r[0], r[1]] for r in allrows], float)
    c = np.array([r[2] for r in allrows], float)
    if _lp.feasible_interior_point(A, c) is None:
        return  # empty or flat; covered by dedicated tests
    expected = _facets_bruteforce(A, c)
    red = _lp.redundant_rows(A, c)
    assert (~red).tolist() == expected


def test_redundant_rows_duplicates_keep_first():
    A = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    c = np.array([0.0, 0.0, 0.0, 1.0])  # rows 0 and 1 are the same half-plane
    assert _lp.redundant_rows(A, c).tolist() == [False, True, False, False]


def test_redundant_rows_hyperplane_through_vertex_is_redundant():
    # triangle plus the line x = 0 again shifted to pass only through vertex (0, 0)
    A = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [1.0, 1.0]])
    c = np.array([0.0, 0.0, 1.0, 0.0])  # x + y >= 0 touches the triangle at (0,0)
    assert _lp.redundant_rows(A, c).tolist() == [False, False, False, True]


def test_redundant_rows_high_dimensional_box_and_cut():
    d = 50
    A0, c0 = _lp.box_rows(0.0, 1.0, d)
    # cut x_0 + x_1 <= 1.5 is a facet; x_0 + ... <= 100 is not
    A = np.vstack([A0, -np.r_[1.0, 1.0, np.zeros(d - 2)], -np.ones(d)])
    c = np.concatenate([c0, [1.5, 100.0]])
    red = _lp.redundant_rows(A, c)
    assert not red[: 2 * d].any()
    assert red.tolist()[-2:] == [False, True]


# ---------------------------------------------------------------------------
# region_of
# ---------------------------------------------------------------------------
from polyfold import PLNet, zoo
from polyfold.exceptions import ValidationError
from polyfold.regions import region_of


def _tiny_net():
    W1 = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    b1 = np.array([0.0, 0.0, -1.0])
    return PLNet.from_arrays([(W1, b1), (np.array([[1.0, -2.0, 3.0]]), np.array([0.5]))])


def test_region_of_spec_triangle():
    R = region_of(_tiny_net(), [0.25, 0.25])
    assert R.pattern.tolist() == [True, True, False]
    # hand derivation: x >= 0, y >= 0, -(x + y - 1) >= 0
    np.testing.assert_array_equal(R.A, [[1, 0], [0, 1], [-1, -1]])
    np.testing.assert_array_equal(R.c, [0, 0, 1])
    assert R.units == ((0, 0), (0, 1), (0, 2))
    assert R.facets.tolist() == [0, 1, 2]
    assert R.chebyshev.radius == pytest.approx((2 - math.sqrt(2)) / 2, abs=1e-9)
    # logits on the triangle: x - 2 y + 0.5 (hand)
    np.testing.assert_array_equal(R.V, [[1.0, -2.0]])
    np.testing.assert_array_equal(R.u, [0.5])
    assert R.predicted_class == 1  # 0.25 - 0.5 + 0.5 > 0
    assert R.contains([0.5, 0.5]) and not R.contains([0.6, 0.6])


def test_region_of_domain_rows_and_facets():
    R = region_of(_tiny_net(), [0.25, 0.25], domain=(-1.0, 0.75))
    assert R.units[3:] == (("domain", 0), ("domain", 1), ("domain", 2), ("domain", 3))
    # upper bounds x <= 0.75, y <= 0.75 cut the triangle's corners; lower bounds redundant
    assert R.facets.tolist() == [0, 1, 2, 5, 6]
    with pytest.raises(DomainError, match="outside the domain"):
        region_of(_tiny_net(), [0.9, 0.25], domain=(0.0, 0.75))
    with pytest.raises(DomainError, match="inverted"):
        region_of(_tiny_net(), [0.25, 0.25], domain=(1.0, 0.0))
    with pytest.raises(ValidationError, match="domain must be a pair"):
        region_of(_tiny_net(), [0.25, 0.25], domain=1.0)


def test_region_of_bad_inputs():
    with pytest.raises(ShapeError, match="input_dim=2"):
        region_of(_tiny_net(), [0.25, 0.25, 0.0])
    with pytest.raises(ShapeError, match="one point"):
        region_of(_tiny_net(), [[0.25, 0.25], [0.1, 0.1]])
    with pytest.raises(ValidationError, match="PLNet"):
        region_of("net", [0.25, 0.25])
    with pytest.raises(PolyfoldError, match="NaN"):
        region_of(_tiny_net(), [np.nan, 0.25])


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "hardtanh"])
def test_region_membership_equals_same_codes(activation):
    # brute force: a sample point lies in R(x) iff its codes equal x's codes
    net = zoo.random_mlp([6, 5], 3, 2, seed=3, activation=activation)
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, 3)
    R = region_of(net, x, domain=(-2.0, 2.0))
    pts = rng.uniform(-2, 2, (4000, 3))
    same = np.all(net.codes(pts) == net.codes(x[None])[0], axis=1)
    # exclude points within 1e-7 of a boundary row (float ties)
    slack = (pts @ R.A.T + R.c) / np.linalg.norm(R.A, axis=1)
    clear = np.all(np.abs(slack) > 1e-7, axis=1)
    assert same.any()
    np.testing.assert_array_equal(R.contains(pts)[clear], same[clear])
    # affine map: equals the network on the region's sample points
    inside = pts[same]
    np.testing.assert_allclose(inside @ R.V.T + R.u, net.forward(inside), atol=1e-10)
    V, u = net.affine_map(x)
    np.testing.assert_allclose(R.V, V, atol=1e-12)
    np.testing.assert_allclose(R.u, u, atol=1e-12)
    ip = R.interior_point
    assert np.array_equal(net.codes(ip[None])[0], R.codes)


def test_region_dead_unit_and_duplicate_neuron():
    # neuron 2: zero weights, bias -1 (dead: row 0 x + 1 >= 0); neuron 3 duplicates neuron 0
    W1 = np.array([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0], [2.0, 0.0], [-1.0, -1.0]])
    b1 = np.array([0.0, 0.0, -1.0, 0.0, 1.0])
    net = PLNet.from_arrays([(W1, b1), (np.ones((1, 5)), np.zeros(1))])
    R = region_of(net, [0.2, 0.3])
    assert R.units[2] == (0, 2)
    np.testing.assert_array_equal(R.A[2], [0.0, 0.0])
    # facets: x >= 0 (first copy), y >= 0, x + y <= 1; not the dead row, not the copy
    assert R.facets.tolist() == [0, 1, 4]
    assert R.facet_units == [(0, 0), (0, 1), (0, 4)]


def test_region_of_unbounded_without_domain():
    net = zoo.arrangement(3, 2, seed=0)
    R = region_of(net, [50.0, 50.0])
    assert R.interior_point is not None
    assert R.contains(R.interior_point)
    # three non-parallel lines: every unbounded cell contains arbitrarily large balls
    with pytest.raises(DomainError, match=r"region_of\(net, x, domain=\(lower, upper\)\)"):
        _ = R.chebyshev
    # the fix the message names works: inside a box the radius is finite
    assert 0 < region_of(net, [50.0, 50.0], domain=(-100.0, 100.0)).chebyshev.radius < 100


def test_region_of_784_inputs():
    net = zoo.random_mlp([8, 6], 784, 10, seed=0)
    x = np.random.default_rng(0).random(784)
    R = region_of(net, x, domain=(0.0, 1.0))
    assert R.A.shape == (14 + 2 * 784, 784)
    V, u = net.affine_map(x)
    np.testing.assert_allclose(R.V, V, atol=1e-10)
    np.testing.assert_allclose(R.u, u, atol=1e-10)
    assert R.contains(x)
    hidden_facets = [u for u in R.facet_units if u[0] != "domain"]
    assert len(hidden_facets) <= 14


def test_hardtanh_middle_code_gives_two_rows():
    # one HardTanh(-1, 1) neuron z = x: codes 0 (z <= -1), 1 (-1 < z <= 0), 2 (0 < z <= 1), 3
    from polyfold import HardTanh

    net = PLNet([(np.array([[1.0]]), np.array([0.0])), (np.array([[1.0]]), np.array([0.0]))],
                [HardTanh(-1.0, 1.0)])
    R = region_of(net, [0.5])
    # hand: 0 < x <= 1 -> rows x - 0 >= 0 and 1 - x >= 0
    np.testing.assert_array_equal(R.A, [[1.0], [-1.0]])
    np.testing.assert_array_equal(R.c, [0.0, 1.0])
    np.testing.assert_array_equal(R.V, [[1.0]])
    R2 = region_of(net, [3.0])  # saturated: x >= 1, logits constant 1
    np.testing.assert_array_equal(R2.A, [[1.0]])
    np.testing.assert_array_equal(R2.c, [-1.0])
    np.testing.assert_array_equal(R2.V, [[0.0]])
    np.testing.assert_array_equal(R2.u, [1.0])


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), widths=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       x=st.lists(st.integers(-6, 6), min_size=3, max_size=3))
def test_region_of_properties_integer_nets(seed, widths, x):
    net = zoo.random_mlp(widths, 3, 2, seed=seed, integer=True)
    x = np.array(x, float) / 2
    R = region_of(net, x, domain=(-4.0, 4.0))
    assert R.contains(x)
    # exact check of every row at x (the region is closed and contains x)
    from polyfold.regions import region_rows

    Aq, cq, _, Vq, _ = region_rows(net, R.codes, exact=True)
    from polyfold import arith

    xq = arith.fmpq_array(x)
    assert all(v >= 0 for v in (Aq @ xq + cq))
    np.testing.assert_array_equal(arith.to_float_array(Vq), R.V)
    ip = R.interior_point
    if ip is not None:
        # exact codes: a unit identically 0 on the region evaluates to +-1e-15 in float
        assert np.array_equal(net.codes_exact(ip[None])[0], R.codes)
        # the facets alone define the same polytope: random points agree
        rng = np.random.default_rng(seed)
        pts = rng.uniform(-4, 4, (400, 3))
        f = R.facets
        full = np.all(pts @ R.A.T + R.c >= 0, axis=1)
        red = np.all(pts @ R.A[f].T + R.c[f] >= 0, axis=1)
        assert np.array_equal(full, red)


def _facets_by_linprog(A, c):
    """Rows of {A x + c >= 0} that are facet-defining: min of a_i x + c_i over the other
    rows is negative (one scipy LP per row, with a_i x + c_i >= -1 as a floor)."""
    from scipy.optimize import linprog

    out = []
    for i in range(len(A)):
        keep = np.arange(len(A)) != i
        rows = np.vstack([A[keep], A[i : i + 1]])
        offs = np.concatenate([c[keep], [c[i] + 1.0]])
        res = linprog(A[i], A_ub=-rows, b_ub=offs, bounds=[(None, None)] * A.shape[1], method="highs")
        if res.fun + c[i] < -1e-9:
            out.append(i)
    return out


@pytest.mark.parametrize("M", [1e19, 1e21, 1e100, 1.7e308])
def test_far_box_faces_are_facets_as_in_a_moderate_box(M):
    # an unbounded region of four planes in general position, cut by the box
    # [-M, M]^3: once the box holds every vertex of the arrangement, the box faces it
    # meets do not depend on M.  Reference: scipy LPs at M = 1e3.  HiGHS reads bounds
    # beyond 1e20 as infinite, which made every box face a facet at M = 1e21
    from polyfold import zoo

    net = zoo.arrangement(4, 3, seed=0)
    x = [30.0, -40.0, 25.0]
    ref = region_of(net, x, domain=(-1e3, 1e3))
    expected = _facets_by_linprog(ref.A, ref.c)
    assert 4 < len(expected) < 10  # some box faces are facets, not all
    assert region_of(net, x, domain=(-M, M)).facets.tolist() == expected
