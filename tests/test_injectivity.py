"""Tests of polyfold.injectivity.

Expected values come from closed forms (the spec's hand-checkable frames: regular
polygons, tetrahedron, icosahedron; the domain and scaling rules), from hand
derivations of small layers (stated next to each test), from brute-force dense
sampling (validity of a bias, cells found on grids) and from exact rational
recomputation of outputs (colliding witnesses).
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from polyfold import PLNet, arith, zoo
from polyfold.exceptions import (
    DegenerateInputError,
    DomainError,
    NonFiniteError,
    NotInjectiveError,
    PolyfoldError,
    ShapeError,
    SolverError,
    UnsupportedLayerError,
    ValidationError,
)
from polyfold.injectivity import (
    BiasCertificate,
    Box,
    Points,
    Polytope,
    active_set,
    bias_margin,
    check_injectivity,
    check_network_injectivity,
    covering_margin,
    is_alpha_rectifying_at,
    layer_weights,
    maximal_bias,
    omnidirectionality,
    reconstruct,
)

GOLDEN = (1 + math.sqrt(5)) / 2


def polygon(m, phase=0.0):
    a = phase + 2 * np.pi * np.arange(m) / m
    return np.c_[np.cos(a), np.sin(a)]


def icosahedron():
    rows = []
    for s1 in (1, -1):
        for s2 in (1, -1):
            v = np.array([0.0, s1, s2 * GOLDEN])
            rows.extend(np.roll(v, k) for k in range(3))
    return np.array(rows)


def tetrahedron():
    return np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], float) / math.sqrt(3)


def sphere_points(n, k, seed):
    X = np.random.default_rng(seed).standard_normal((k, n))
    return X / np.linalg.norm(X, axis=1)[:, None]


def ball_points(n, k, seed, radius=1.0):
    rng = np.random.default_rng(seed)
    X = sphere_points(n, k, seed + 1000)
    return X * radius * rng.uniform(0, 1, (k, 1)) ** (1.0 / n)


def relu_layer(W, alpha, X):
    return np.maximum(np.atleast_2d(X) @ W.T - alpha, 0.0)


def exact_output(W, alpha, x):
    """ReLU(W x - alpha) in rationals (independent of the module's helpers)."""
    out = []
    for i in range(W.shape[0]):
        z = sum((arith.to_fmpq(w) * arith.to_fmpq(v) for w, v in zip(W[i], x)), arith.fmpq(0))
        z -= arith.to_fmpq(alpha[i])
        out.append(max(z, arith.fmpq(0)))
    return out


# ---------------------------------------------------------------------------
# hand-checkable maximal biases (spec section 6)
# ---------------------------------------------------------------------------
def test_icosahedron_is_one_over_sqrt5():
    cert = maximal_bias(icosahedron())
    assert isinstance(cert, BiasCertificate)
    np.testing.assert_allclose(cert.alpha_hat, 1 / math.sqrt(5), atol=1e-12)
    # rows have norm sqrt(1 + g^2): alpha scales with the norm
    np.testing.assert_allclose(cert.alpha, math.sqrt(1 + GOLDEN**2) / math.sqrt(5), atol=1e-12)
    assert cert.is_certificate and cert.method == "polytope"
    assert cert.facets.shape == (20, 3)  # the icosahedron has 20 triangular faces
    assert "not 'the' maximal bias" in cert.notes


def test_tetrahedron_is_minus_one_over_sqrt3():
    cert = maximal_bias(tetrahedron())
    np.testing.assert_allclose(cert.alpha_hat, -1 / math.sqrt(3), atol=1e-12)
    # the vertex-star variant would give -1; facet by facet is tighter
    assert np.all(cert.alpha_hat > -0.6)
    # on the ball the same (negative) values
    np.testing.assert_allclose(maximal_bias(tetrahedron(), domain="ball").alpha, -1 / math.sqrt(3), atol=1e-12)


@pytest.mark.parametrize("m", [3, 4, 5, 6, 8])
def test_regular_polygons_sphere_and_ball(m):
    U = polygon(m, phase=0.3)
    expected = math.cos(2 * math.pi / m)
    np.testing.assert_allclose(maximal_bias(U).alpha, expected, atol=1e-12)
    np.testing.assert_allclose(maximal_bias(U, radius=2.5).alpha, 2.5 * expected, atol=1e-12)
    np.testing.assert_allclose(
        maximal_bias(U, domain="ball", radius=2.0).alpha, 2.0 * min(expected, 0.0), atol=1e-12
    )


@pytest.mark.parametrize("m", [3, 6])
def test_polygon_bias_is_maximal_coordinatewise(m):
    # for regular polygons the construction is maximal: raising any one
    # coordinate by 0.01 leaves some circle point with a non-spanning active set
    U = polygon(m)
    alpha = maximal_bias(U).alpha
    X = polygon(20000, phase=1e-3)
    assert is_alpha_rectifying_at(U, X, alpha=alpha).all()
    for i in range(m):
        raised = alpha.copy()
        raised[i] += 0.01
        assert not is_alpha_rectifying_at(U, X, alpha=raised).all()


def test_row_and_radius_scaling_rule():
    rng = np.random.default_rng(5)
    U = rng.standard_normal((9, 3))
    U /= np.linalg.norm(U, axis=1)[:, None]
    s = rng.uniform(0.2, 3.0, 9)
    base = maximal_bias(U).alpha_hat
    scaled = maximal_bias(U * s[:, None], radius=1.7)
    np.testing.assert_allclose(scaled.alpha, s * 1.7 * base, atol=1e-12)
    np.testing.assert_allclose(scaled.alpha_hat, base, atol=1e-12)
    np.testing.assert_allclose(scaled.bias, -scaled.alpha)


def test_annulus_rule():
    # hexagon alpha_hat = +1/2 -> r_in * 1/2 ; triangle -1/2 -> r * (-1/2)
    hexa = maximal_bias(polygon(6), domain="annulus", radius=2.0, inner_radius=0.5)
    np.testing.assert_allclose(hexa.alpha, 0.25, atol=1e-12)
    tri = maximal_bias(polygon(3), domain="annulus", radius=2.0, inner_radius=0.5)
    np.testing.assert_allclose(tri.alpha, -1.0, atol=1e-12)
    # inner radius 0 is the ball
    for m in (3, 6):
        a = maximal_bias(polygon(m), domain="annulus", radius=2.0, inner_radius=0.0).alpha
        b = maximal_bias(polygon(m), domain="ball", radius=2.0).alpha
        np.testing.assert_allclose(a, b, atol=1e-12)


def test_annulus_bias_valid_on_annulus_samples():
    U = polygon(6)
    alpha = maximal_bias(U, domain="annulus", radius=2.0, inner_radius=0.5).alpha
    X = sphere_points(2, 20000, 1) * np.random.default_rng(2).uniform(0.5, 2.0, (20000, 1))
    assert is_alpha_rectifying_at(U, X, alpha=alpha).all()


def test_socp_cvxpy_agrees_with_nnls():
    rng = np.random.default_rng(3)
    W = rng.standard_normal((10, 3))
    a = maximal_bias(W).alpha
    b = maximal_bias(W, socp_solver="cvxpy").alpha
    np.testing.assert_allclose(a, b, atol=1e-6)
    t = maximal_bias(tetrahedron(), socp_solver="cvxpy").alpha_hat
    np.testing.assert_allclose(t, -1 / math.sqrt(3), atol=1e-6)


@pytest.mark.parametrize("n,m,seed", [(2, 7, 0), (3, 10, 1), (3, 24, 2), (4, 14, 3)])
def test_polytope_bias_valid_by_dense_sampling(n, m, seed):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((m, n)) * rng.uniform(0.3, 3.0, (m, 1))
    if omnidirectionality(W)[0] <= 0:
        pytest.skip("random frame not omnidirectional")
    sph = maximal_bias(W, radius=1.5)
    X = 1.5 * sphere_points(n, 40000, seed)
    assert is_alpha_rectifying_at(W, X, alpha=sph.alpha).all()
    ball = maximal_bias(W, domain="ball", radius=1.5)
    assert is_alpha_rectifying_at(W, ball_points(n, 40000, seed, 1.5), alpha=ball.alpha).all()


def test_duplicate_rows_are_not_needed():
    # a doubled copy of a hexagon row is no separate hull vertex: alpha_hat = 1
    W = np.vstack([polygon(6), 2 * polygon(6)[:1]])
    cert = maximal_bias(W)
    assert np.sum(cert.alpha_hat == 1.0) == 1
    assert is_alpha_rectifying_at(W, polygon(5000, 0.01), alpha=cert.alpha).all()


def test_one_dimensional_sphere_subtlety():
    # R^1, rows +1 and -1: the construction gives alpha = (1, 1).  Each sphere point
    # +-1 has a spanning active set (>=), yet both map to (0, 0): alpha-rectifying on
    # the (non-convex) sphere does not imply injective there.  Any margin fixes it.
    W = np.array([[1.0], [-1.0]])
    cert = maximal_bias(W)
    np.testing.assert_allclose(cert.alpha, [1.0, 1.0])
    S = np.array([[1.0], [-1.0]])
    assert is_alpha_rectifying_at(W, S, alpha=cert.alpha).all()
    out = relu_layer(W, cert.alpha, S)
    assert np.array_equal(out[0], out[1])
    strict = maximal_bias(W, margin=0.1)
    out = relu_layer(W, strict.alpha, S)
    assert not np.array_equal(out[0], out[1])
    assert strict.margin == 0.1 and strict.margin_kind == "fixed"


# ---------------------------------------------------------------------------
# sampling estimates
# ---------------------------------------------------------------------------
def test_sampling_above_exact_and_monotone_in_nested_samples():
    for W, exact in ((icosahedron(), 1 / math.sqrt(5)), (polygon(5), math.cos(2 * math.pi / 5))):
        ests = [maximal_bias(W, method="sampling", n_samples=N, seed=11).alpha_hat
                for N in (100, 1000, 10_000, 30_000)]
        for e in ests:
            assert np.all(e >= exact - 1e-12)
            assert not maximal_bias(W, method="sampling", n_samples=100, seed=1).is_certificate
        for a, b in zip(ests[:-1], ests[1:]):
            assert np.all(b <= a)  # nested samples: the minimum can only go down
        errs = [np.max(e - exact) for e in ests]
        assert errs[-1] < errs[0]
        assert errs[-1] < 0.02


def test_covering_margin_closed_form_and_validity():
    # kappa_2 = 1/4  ->  eps = sqrt(4 ln N / N); kappa_3 = 2 / (3 pi)
    assert covering_margin(2, 10_000) == pytest.approx(math.sqrt(4 * math.log(1e4) / 1e4))
    assert covering_margin(3, 1000) == pytest.approx((math.log(1000) / (2 / (3 * math.pi) * 1000)) ** (1 / 3))
    rng = np.random.default_rng(8)
    W = rng.standard_normal((12, 3))
    raw = maximal_bias(W, method="sampling", n_samples=5000, seed=4)
    cov = maximal_bias(W, method="sampling", n_samples=5000, seed=4, margin="covering")
    eps = covering_margin(3, 5000)
    np.testing.assert_allclose(cov.alpha_hat, np.maximum(raw.alpha_hat - eps, -1.0))
    assert cov.margin == pytest.approx(eps) and cov.margin_kind == "covering"
    assert not cov.is_certificate
    assert is_alpha_rectifying_at(W, sphere_points(3, 40000, 9), alpha=cov.alpha).all()


# ---------------------------------------------------------------------------
# bad input of maximal_bias
# ---------------------------------------------------------------------------
def test_rank_deficient_frame():
    W = np.array([[1.0, 0.0], [2.0, 0.0], [-1.0, 0.0]])
    with pytest.raises(DegenerateInputError, match="rank 1 < n = 2"):
        maximal_bias(W)
    with pytest.raises(DegenerateInputError, match="rank"):
        maximal_bias(W, method="sampling", n_samples=10)


def test_non_omnidirectional_frame():
    W = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    with pytest.raises(DegenerateInputError, match="omnidirectional") as err:
        maximal_bias(W)
    assert "sampling" in str(err.value)
    t, x = omnidirectionality(W)
    assert t <= 1e-9 and np.all(W @ x <= 1e-9) and np.linalg.norm(x) == pytest.approx(1)
    # the trivial bias named in the message is valid; sampling still gives an estimate
    assert "-radius * |phi_i|" in str(err.value)
    est = maximal_bias(W, method="sampling", n_samples=2000, seed=0)
    assert est.alpha.shape == (3,)


def test_dimension_too_high_for_qhull():
    W = np.random.default_rng(0).standard_normal((30, 9))
    with pytest.raises(ValidationError, match="method='sampling'"):
        maximal_bias(W)


@pytest.mark.parametrize(
    "kwargs,exc,text",
    [
        ({"radius": -1.0}, DomainError, "radius must be > 0"),
        ({"radius": 0.0}, DomainError, "radius must be > 0"),
        ({"radius": float("nan")}, ValidationError, "radius"),
        ({"domain": "annulus", "radius": 1.0, "inner_radius": 1.0}, DomainError, "inner_radius must be < radius"),
        ({"domain": "annulus", "radius": 1.0, "inner_radius": 2.0}, DomainError, "inner_radius must be < radius"),
        ({"domain": "annulus", "radius": 1.0, "inner_radius": -0.1}, DomainError, "inner_radius must be >= 0"),
        ({"domain": "annulus"}, ValidationError, "needs inner_radius"),
        ({"inner_radius": 0.5}, ValidationError, "only used with domain='annulus'"),
        ({"domain": "cube"}, ValidationError, "domain must be one of"),
        ({"method": "qhull"}, ValidationError, "method must be one of"),
        ({"margin": "covering"}, ValidationError, "only applies to method='sampling'"),
        ({"margin": -0.1}, ValidationError, "margin"),
        ({"socp_solver": "ecos"}, ValidationError, "socp_solver"),
        ({"method": "sampling", "n_samples": 0}, ValidationError, "n_samples"),
        ({"method": "sampling", "seed": "x"}, ValidationError, "seed"),
    ],
)
def test_maximal_bias_bad_options(kwargs, exc, text):
    with pytest.raises(exc, match=text) as err:
        maximal_bias(polygon(5), **kwargs)
    assert isinstance(err.value, PolyfoldError)


def test_maximal_bias_rejects_bad_weights():
    with pytest.raises(NonFiniteError):
        maximal_bias(np.array([[1.0, np.nan], [0.0, 1.0], [-1.0, -1.0]]))
    with pytest.raises(DegenerateInputError, match="row 1 of W is zero"):
        maximal_bias(np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]))
    with pytest.raises(ShapeError):
        maximal_bias(np.ones(3))


# ---------------------------------------------------------------------------
# conventions: alpha / bias, PLNet layers, torch
# ---------------------------------------------------------------------------
def test_bias_conventions_numpy():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((7, 3))
    b = rng.standard_normal(7)
    X = rng.standard_normal((50, 3))
    expected = X @ W.T + b >= 0  # ReLU(W x + b) is active where W x + b >= 0
    assert np.array_equal(active_set(W, X, bias=b), expected)
    assert np.array_equal(active_set(W, X, alpha=-b), expected)
    assert np.array_equal(active_set(W, X, alpha=-b, exact=True), expected)
    assert active_set(W, X[0], bias=b).shape == (7,)


def test_exactly_one_bias_convention():
    W = polygon(4)
    with pytest.raises(ValidationError, match="exactly one"):
        active_set(W, [0.0, 0.0], alpha=0, bias=0)
    with pytest.raises(ValidationError, match="must be explicit"):
        active_set(W, [0.0, 0.0])
    with pytest.raises(ValidationError, match="must be explicit"):
        check_injectivity(W, domain=(-1.0, 1.0))
    with pytest.raises(ShapeError, match=r"shape \(4,\)"):
        active_set(W, [0.0, 0.0], alpha=[0.0, 1.0])
    with pytest.raises(ShapeError, match=r"\(k, 2\)"):
        active_set(W, [0.0, 0.0, 0.0], alpha=0)


def test_plnet_layer_convention():
    net = zoo.random_mlp([5, 4], 3, seed=2)
    X = np.random.default_rng(1).standard_normal((20, 3))
    W, alpha = layer_weights(net, 0)
    np.testing.assert_array_equal(alpha, -net.layers[0][1])
    z0 = net.preactivations(X)[0]
    assert np.array_equal(active_set((net, 0), X), z0 >= 0)
    # the second hidden layer acts on the first layer's outputs
    h = np.maximum(z0, 0)
    assert np.array_equal(active_set((net, 1), h), net.preactivations(X)[1] >= 0)
    # an explicit bias overrides the layer's own
    assert np.array_equal(active_set((net, 0), X, alpha=0), X @ W.T >= 0)
    with pytest.raises(ValidationError, match="hidden-layer index"):
        layer_weights(net, 2)
    with pytest.raises(ValidationError, match=r"\(net, layer\)"):
        active_set(net, X, alpha=0)
    with pytest.raises(ValidationError, match="PLNet"):
        layer_weights(np.eye(2), 0)
    leaky = PLNet.from_arrays([(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))], "leaky_relu")
    with pytest.raises(UnsupportedLayerError, match="ReLU"):
        layer_weights(leaky, 0)
    with pytest.raises(UnsupportedLayerError, match="ReLU"):
        check_network_injectivity(leaky, domain=(-1.0, 1.0))


def test_torch_linear_convention():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 8).double()
    X = np.random.default_rng(0).standard_normal((40, 3))
    with torch.no_grad():
        z = lin(torch.from_numpy(X)).numpy()
    assert np.array_equal(active_set(lin, X), z >= 0)  # alpha = -bias
    W = lin.weight.detach().numpy()
    b = lin.bias.detach().numpy()
    assert np.array_equal(active_set(lin, X), active_set(W, X, bias=b))
    assert np.array_equal(active_set(lin, X, alpha=0.0), X @ W.T >= 0)
    # reconstruction from the torch layer's own ReLU output
    big = torch.nn.Linear(3, 30).double()
    with torch.no_grad():
        big.bias.fill_(1.0)  # W x + 1 >= 0 on the unit ball for small rows
        big.weight.mul_(0.5)
        Xs = 0.5 * sphere_points(3, 10, 3)
        y = torch.relu(big(torch.from_numpy(Xs))).numpy()
    np.testing.assert_allclose(reconstruct(big, y), Xs, atol=1e-10)
    nobias = torch.nn.Linear(3, 4, bias=False).double()
    assert np.array_equal(active_set(nobias, X), X @ nobias.weight.detach().numpy().T >= 0)
    with pytest.raises(UnsupportedLayerError, match="nn.Linear"):
        active_set(torch.nn.ReLU(), X)
    # maximal_bias ignores the layer's bias and computes a new one
    assert maximal_bias(big).alpha.shape == (30,)


# ---------------------------------------------------------------------------
# check_injectivity on boxes, polytopes, R^n
# ---------------------------------------------------------------------------
def test_one_dimensional_layer_by_hand():
    # C(x) = (ReLU(x), ReLU(-x - 1)): I = {0} for x >= 0, {} on (-1, 0), {1} for x <= -1
    W = np.array([[1.0], [-1.0]])
    alpha = np.array([0.0, 1.0])
    assert check_injectivity(W, alpha=alpha, domain=(0.0, 2.0)).is_injective
    assert check_injectivity(W, alpha=alpha, domain=Box(-0.9, -0.1)).is_injective is False
    v = check_injectivity(W, alpha=alpha, domain=(-2.0, 2.0))
    assert not v.is_injective and v.n_pieces == 3
    assert sorted(v.ranks.tolist()) == [0, 1, 1]
    x, x2 = v.witness_point, v.colliding_point
    assert -1 < x[0] < 0 and -1 < x2[0] < 0 and x[0] != x2[0]
    assert np.array_equal(relu_layer(W, alpha, x), relu_layer(W, alpha, x2))
    assert v.collision_verified
    assert not check_injectivity(W, alpha=alpha, domain=None).is_injective


def test_zero_bias_square_and_triangle_on_the_plane():
    # rows +-e1, +-e2 and zero bias: the output gives |x_1|, |x_2| and their signs
    v = check_injectivity(polygon(4), alpha=0, domain=None)
    assert v.is_injective and v.n_pieces == 4
    # three rows < 2n = 4: a zero-bias layer is never injective on R^2
    tri = polygon(3)
    v = check_injectivity(tri, alpha=0, domain=None)
    assert not v.is_injective and v.n_pieces == 6
    x, x2 = v.witness_point, v.colliding_point
    assert np.linalg.norm(x - x2) > 1e-3
    np.testing.assert_allclose(relu_layer(tri, 0, x), relu_layer(tri, 0, x2), atol=1e-12)
    assert v.collision_verified
    assert v.witness_active_set.sum() == 1


def test_polytope_domain():
    # triangle rows, zero bias: near (-1, 0) rows 1 and 2 are both active
    # (x2 > x1/sqrt(3) and x2 < -x1/sqrt(3)), so the layer is injective there
    tri = polygon(3)
    A = np.array([[-1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    c = np.array([-1.0, 2.0, 0.5, 0.5])  # -2 <= x1 <= -1, |x2| <= 0.5
    v = check_injectivity(tri, alpha=0, domain=(A, c))
    assert v.is_injective and v.domain_kind == "polytope" and v.n_pieces == 1
    assert check_injectivity(tri, alpha=0, domain=Polytope(A, c)).is_injective
    # moving it to x1 in [0.5, 2] (only row 0 active near the x1-axis) breaks it
    c2 = np.array([2.0, -0.5, 0.5, 0.5])
    A2 = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    assert not check_injectivity(tri, alpha=0, domain=(A2, c2)).is_injective


int_weights = st.lists(st.integers(-3, 3), min_size=2, max_size=2)


@settings(max_examples=20, deadline=None)
@given(
    rows=st.lists(int_weights, min_size=2, max_size=5),
    alphas=st.lists(st.integers(-3, 3), min_size=5, max_size=5),
)
def test_verdict_against_dense_grid(rows, alphas):
    W = np.array(rows, dtype=float)
    alpha = np.array(alphas[: len(rows)], dtype=float)
    v = check_injectivity(W, alpha=alpha, domain=(-4.0, 4.0))
    g = np.linspace(-4, 4, 81)
    G = np.array(np.meshgrid(g, g)).reshape(2, -1).T
    grid_ok = is_alpha_rectifying_at(W, G, alpha=alpha, exact=True)
    # a grid point with a non-spanning active set refutes injectivity
    if not grid_ok.all():
        assert not v.is_injective
    if v.is_injective:
        assert grid_ok.all()
    else:
        x, x2 = v.witness_point, v.colliding_point
        assert np.linalg.norm(x - x2) > 0
        assert v.collision_verified
        np.testing.assert_allclose(relu_layer(W, alpha, x), relu_layer(W, alpha, x2), atol=1e-12)
        assert np.all(np.abs(np.concatenate([x, x2])) <= 4 + 1e-9)
    # the grid cannot see more cells than there are (strict sign patterns)
    Z = G @ W.T - alpha
    strict = np.all((Z != 0) | np.all(W == 0, axis=1)[None, :], axis=1)
    pats = {tuple(r) for r in (Z[strict] > 0)}
    assert len(pats) <= v.n_pieces


@settings(max_examples=20, deadline=None)
@given(
    rows=st.lists(st.lists(st.sampled_from([-2, -1, 1, 2]), min_size=2, max_size=2), min_size=2, max_size=5),
    alphas=st.lists(st.integers(-3, 3), min_size=5, max_size=5),
    x2s=st.lists(st.integers(-12, 12), min_size=3, max_size=3),
)
def test_boundary_points_only_add_active_rows(rows, alphas, x2s):
    # the Notes argument of check_injectivity: a point on a hyperplane has an active
    # set containing those of all nearby open-cell points, hence at least their rank;
    # so if every open cell spans, every boundary point spans too
    W = np.array(rows, float)
    alpha = np.array(alphas[: len(rows)], float)
    v = check_injectivity(W, alpha=alpha, domain=(-4.0, 4.0))
    rng = np.random.default_rng(0)
    for i in range(len(W)):
        for x2 in x2s:
            x2 = x2 / 4.0
            x1 = (alpha[i] - W[i, 1] * x2) / W[i, 0]  # exact: W[i, 0] in {+-1, +-2}
            x = np.array([x1, x2])
            if np.any(np.abs(x) > 4):
                continue
            I = active_set(W, x, alpha=alpha, exact=True)
            assert I[i]  # on its own hyperplane the neuron is active (>=)
            r = arith.exact_rank(W[I]) if I.any() else 0
            for d in rng.standard_normal((8, 2)):
                y = x + 1e-6 * d / np.linalg.norm(d)
                J = active_set(W, y, alpha=alpha, exact=True)
                assert np.all(I | ~J)  # J subset of I
                assert r >= (arith.exact_rank(W[J]) if J.any() else 0)
            if v.is_injective:
                assert r == 2


def test_check_injectivity_bad_domains():
    W = polygon(4)
    with pytest.raises(DomainError, match="inverted"):
        check_injectivity(W, alpha=0, domain=(1.0, -1.0))
    with pytest.raises(DomainError, match="zero width"):
        check_injectivity(W, alpha=0, domain=([0.0, 0.0], [1.0, 0.0]))
    with pytest.raises(DomainError, match="empty or not full-dimensional"):
        check_injectivity(W, alpha=0, domain=(np.array([[1.0, 0.0], [-1.0, 0.0]]), np.array([-1.0, -1.0])))
    with pytest.raises(ValidationError, match="domain must be None"):
        check_injectivity(W, alpha=0, domain="box")
    with pytest.raises(ShapeError, match=r"\(k, 2\)"):
        check_injectivity(W, alpha=0, domain=np.zeros((3, 3)))
    with pytest.raises(ShapeError, match="polytope domain"):
        check_injectivity(W, alpha=0, domain=(np.zeros((2, 3)), np.zeros(2)))
    with pytest.raises(ValidationError, match="max_cells"):
        check_injectivity(zoo.arrangement(12, 2, seed=0).layers[0][0], alpha=0.1, domain=None, max_cells=5)


def test_rank_deficient_layer_is_never_injective():
    W = np.array([[1.0, 1.0], [2.0, 2.0], [-1.0, -1.0]])
    v = check_injectivity(W, alpha=-10.0, domain=(-1.0, 1.0))
    assert not v.is_injective and v.ranks.max() == 1
    x, x2 = v.witness_point, v.colliding_point
    np.testing.assert_allclose(relu_layer(W, -10.0, x), relu_layer(W, -10.0, x2), atol=1e-12)


# ---------------------------------------------------------------------------
# data points
# ---------------------------------------------------------------------------
def test_points_domain():
    rng = np.random.default_rng(4)
    W = rng.standard_normal((12, 3))
    X = ball_points(3, 200, 1)
    cert = maximal_bias(W, domain="ball")
    v = check_injectivity(W, alpha=cert.alpha, domain=X)
    assert v.is_injective and v.domain_kind == "points" and v.n_pieces == 200
    assert check_injectivity(W, alpha=cert.alpha, domain=Points(X)).is_injective
    # thresholds far above the data: nothing active, every point collides with a neighbour
    v = check_injectivity(W, alpha=np.full(12, 50.0), domain=X)
    assert not v.is_injective and v.failing.all()
    x, x2 = v.witness_point, v.colliding_point
    assert np.linalg.norm(x - x2) > 0
    np.testing.assert_array_equal(relu_layer(W, 50.0, x), relu_layer(W, 50.0, x2))


def test_point_exactly_on_a_threshold():
    # C(x) = (ReLU(x), ReLU(-x - 1)) at x = 0: I(0) = {0} spans (>=), but every
    # x' in [-1, 0] has the same output (0, 0): the data point is not recoverable
    W = np.array([[1.0], [-1.0]])
    v = check_injectivity(W, alpha=[0.0, 1.0], domain=np.array([[0.0], [1.0]]))
    assert v.ranks.tolist() == [1, 1]
    assert v.failing.tolist() == [True, False]
    x2 = v.colliding_point
    assert -1 <= x2[0] < 0
    np.testing.assert_array_equal(relu_layer(W, [0.0, 1.0], x2), [[0.0, 0.0]])


def test_digits_first_layer_is_not_injective_on_data():
    # 30 neurons on 64 inputs: rank W_I <= 30 < 64 at every point
    net = zoo.digits_mlp("2x30")
    from polyfold.datasets import load_digits_split

    X = load_digits_split()[2][:40]
    v = check_injectivity((net, 0), domain=X)
    assert not v.is_injective and v.failing.all() and v.ranks.max() <= 30
    assert v.collision_verified
    W, alpha = layer_weights(net, 0)
    assert exact_output(W, alpha, v.witness_point) == exact_output(W, alpha, v.witness_point)
    np.testing.assert_allclose(relu_layer(W, alpha, v.witness_point),
                               relu_layer(W, alpha, v.colliding_point), atol=1e-12)


# ---------------------------------------------------------------------------
# network level
# ---------------------------------------------------------------------------
def test_network_sawtooth_folds():
    # h_1(x) = (T(x), ReLU(T(x) - 1/2)) with the tent map T: T(x) = T(1 - x)
    v = check_network_injectivity(zoo.sawtooth(2), domain=(0.0, 1.0))
    assert v.is_injective is False and v.first_failing_layer == 1
    assert v.layers[0].is_injective
    x, x2 = v.layers[1].witness_point, v.layers[1].colliding_point
    assert x[0] + x2[0] == pytest.approx(1.0) and abs(x[0] - x2[0]) > 1e-6
    net = zoo.sawtooth(2)
    h = lambda p: np.maximum(net.preactivations(p)[1], 0)  # noqa: E731
    np.testing.assert_allclose(h(x), h(x2), atol=1e-12)
    # one layer of the sawtooth is injective on [0, 1]: x on (0, 1/2), both rows beyond
    assert check_network_injectivity(zoo.sawtooth(1), domain=(0.0, 1.0)).is_injective


def test_network_absolute_value_folds_globally():
    # h_0 = (ReLU(x), ReLU(-x)) is injective, h_1 = ReLU(|x|) = |x| folds x and -x;
    # every region has full local rank, so only the pairwise test can see it
    net = PLNet.from_arrays([(np.array([[1.0], [-1.0]]), np.zeros(2)),
                             (np.array([[1.0, 1.0]]), np.zeros(1)),
                             (np.ones((1, 1)), np.zeros(1))])
    v = check_network_injectivity(net, domain=(-1.0, 1.0))
    assert v.is_injective is False and v.first_failing_layer == 1
    assert np.all(v.layers[1].ranks == 1)
    x, x2 = v.layers[1].witness_point, v.layers[1].colliding_point
    assert x[0] == pytest.approx(-x2[0]) and abs(x[0]) > 1e-6


def test_network_injective_when_everything_is_active():
    # huge biases: every neuron active on the box, the net is x -> W1 W0 x + c of rank 2
    rng = np.random.default_rng(0)
    net = PLNet.from_arrays([(rng.standard_normal((5, 2)), np.full(5, 10.0)),
                             (rng.standard_normal((4, 5)), np.full(4, 100.0)),
                             (np.ones((1, 4)), np.zeros(1))])
    v = check_network_injectivity(net, domain=([-1, -1], [1, 1]))
    assert v.is_injective is True and [l.n_pieces for l in v.layers] == [1, 1]


@pytest.mark.parametrize("seed,kind", [(3, "pairwise"), (4, "local")])
def test_network_witnesses_collide(seed, kind):
    # seed 3 folds two regions onto each other (found by the pairwise LPs), seed 4 has
    # a region of rank < 2 in layer 1 (found by the exact local rank)
    rng = np.random.default_rng(seed)
    net = PLNet.from_arrays([(rng.standard_normal((6, 2)), rng.uniform(-0.5, 2, 6)),
                             (rng.standard_normal((5, 6)), rng.uniform(-0.5, 2, 5)),
                             (np.ones((1, 5)), np.zeros(1))])
    v = check_network_injectivity(net, domain=([-1, -1], [1, 1]))
    assert v.is_injective is False and v.first_failing_layer == 1
    lay = v.layers[1]
    assert (lay.ranks.min() < 2) == (kind == "local")
    x, x2 = lay.witness_point, lay.colliding_point
    assert np.linalg.norm(x - x2) > 1e-6
    assert np.all(np.abs(np.concatenate([x, x2])) <= 1 + 1e-9)
    h1 = np.maximum(net.preactivations(x)[1], 0)
    h2 = np.maximum(net.preactivations(x2)[1], 0)
    np.testing.assert_allclose(h1, h2, atol=1e-9)


def test_network_on_points_and_domain_errors():
    net = zoo.sawtooth(2)
    v = check_network_injectivity(net, domain=np.array([[0.1], [0.3]]))
    assert v.domain_kind == "points"
    # layer 0 passes on (0, 1/2); layer 1 maps R^2 -> R^2 with both rows equal: rank 1
    assert v.layers[0].is_injective and v.is_injective is None and v.first_failing_layer == 1
    with pytest.raises(DomainError, match="bounded domain"):
        check_network_injectivity(net, domain=None)
    with pytest.raises(ValidationError, match="PLNet"):
        check_network_injectivity(np.eye(2), domain=(0.0, 1.0))


# ---------------------------------------------------------------------------
# reconstruction
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("n,m,seed", [(3, 15, 0), (5, 40, 1), (6, 50, 2)])
def test_reconstruction_on_random_injective_layers(n, m, seed):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((m, n))
    cert = maximal_bias(W, domain="ball", method="polytope" if n <= 5 else "sampling",
                        n_samples=50_000, seed=seed, margin=None if n <= 5 else "covering")
    X = ball_points(n, 60, seed)
    Y = relu_layer(W, cert.alpha, X)
    for method in ("dual", "frame_algorithm"):
        Xr = reconstruct(W, Y, alpha=cert.alpha, method=method)
        assert np.max(np.abs(Xr - X)) < 1e-10
    b = -cert.alpha
    np.testing.assert_allclose(reconstruct(W, Y[0], bias=b), X[0], atol=1e-10)


def test_frame_algorithm_iteration_limit():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((20, 4))
    X = ball_points(4, 5, 3)
    Y = relu_layer(W, -10.0, X)
    with pytest.raises(SolverError, match="max_iter"):
        reconstruct(W, Y, alpha=-10.0, method="frame_algorithm", max_iter=2)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000))
def test_exact_ranks_match_arith_exact_rank(seed):
    # the fast exact ranks (modular + fraction-free) against polyfold.arith.exact_rank
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(2, 7)), int(rng.integers(1, 5))
    W = rng.integers(-2, 3, (m, n)) * rng.choice([1.0, 0.5, 0.1], (m, 1))
    X = rng.standard_normal((6, n))
    ok, ranks = is_alpha_rectifying_at(W, X, alpha=0.2, exact=True, return_rank=True)
    act = active_set(W, X, alpha=0.2, exact=True)
    expected = [arith.exact_rank(W[a]) if a.any() else 0 for a in act]
    assert ranks.tolist() == expected
    assert ok.tolist() == [r == n for r in expected]


def test_reconstruction_errors():
    W = polygon(3)
    y = relu_layer(W, 0.0, [1.0, 0.0])[0]  # only row 0 active
    with pytest.raises(NotInjectiveError, match="rank 1 < n = 2"):
        reconstruct(W, y, alpha=0)
    with pytest.raises(NotInjectiveError):
        reconstruct(W, y, alpha=0, method="frame_algorithm")
    with pytest.raises(ValidationError, match=">= 0"):
        reconstruct(W, -np.ones(3), alpha=0)
    with pytest.raises(ValidationError, match="method must be one of"):
        reconstruct(W, y, alpha=0, method="newton")
    with pytest.raises(ShapeError, match=r"\(k, 3\)"):
        reconstruct(W, np.ones(4), alpha=0)


# ---------------------------------------------------------------------------
# bias margin on data
# ---------------------------------------------------------------------------
def test_bias_margin_is_tight():
    rng = np.random.default_rng(6)
    W = rng.standard_normal((10, 3))
    alpha = rng.standard_normal(10) * 0.1 - 0.5
    X = ball_points(3, 100, 2)
    bm = bias_margin(W, X, alpha=alpha)
    assert bm.target_rank == 3
    ok = is_alpha_rectifying_at(W, X, alpha=alpha + bm.margin - 1e-12)
    assert ok.all()
    assert not is_alpha_rectifying_at(W, X, alpha=alpha + bm.margin + 1e-6).all()
    assert bm.n_below == int(np.sum(bm.per_point < 0))
    with pytest.raises(ValidationError, match="target_rank"):
        bias_margin(W, X, alpha=alpha, target_rank=4)


@pytest.mark.parametrize("c", [1e-200, 1e-160, 1e155, 1e300])
def test_verdict_does_not_depend_on_the_scale_of_the_rows(c):
    # ReLU(c (W x - alpha)) = c ReLU(W x - alpha): the same verdict at every scale.  By
    # hand (the docstring's example): C(x) = (ReLU(x), ReLU(-x - 1)) on [-2, 2] is not
    # injective (both rows are 0 on [-1, 0]), with 3 cells
    from polyfold.injectivity import check_injectivity

    W = np.array([[1.0], [-1.0]]) * c
    v = check_injectivity(W, alpha=np.array([0.0, 1.0]) * c, domain=(-2.0, 2.0))
    assert not v.is_injective and v.n_pieces == 3
    v = check_injectivity(W, alpha=np.array([0.0, 1.0]) * c, domain=(0.0, 2.0))
    assert v.is_injective
