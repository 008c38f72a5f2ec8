"""Empty batches and extreme magnitudes: graph operators, packed codes, attacks, and
the volumes of cell complexes.

Expectations are structural (an empty batch has the shape of a one-point batch with
first axis 0), hand-derived (packed words, attack steps on a linear net, class
changes of ``x`` against 0) or closed forms (the volumes of a box cut by one
hyperplane, computed in exact rationals from the float bounds).
"""

import warnings
from fractions import Fraction

import numpy as np
import pytest

import polyfold
from polyfold import arith, zoo
from polyfold._packing import code_layout, pack_codes, unpack_codes
from polyfold.attacks import decision_crossings, fgsm, pgd
from polyfold.complexes import box_complex
from polyfold.crossings import first_layer_cache
from polyfold.exceptions import DomainError, NonFiniteError, ShapeError, ValidationError
from polyfold.graph import GraphBuilder, ops

MODES = ["float", "certified", "exact"]


# ---------------------------------------------------------------------------
# 1. graph operators on batches of no points
# ---------------------------------------------------------------------------
def _operators():
    rng = np.random.default_rng(0)
    return {
        "dense": ops.Dense(rng.normal(size=(4, 6)), rng.normal(size=4), (2, 3)),
        "conv2d": ops.Conv(rng.normal(size=(4, 2, 3, 3)), rng.normal(size=4), (2, 5, 5), padding=1, stride=2),
        "conv2d_groups": ops.Conv(rng.normal(size=(4, 1, 3, 3)), rng.normal(size=4), (2, 5, 5), groups=2),
        "conv1d": ops.Conv(rng.normal(size=(3, 2, 3)), None, (2, 7), dilation=2),
        "avg_pool2d": ops.avg_pool((2, 4, 4), 2),
        "avg_pool1d": ops.avg_pool((2, 6), 3, 2, 1),
        "adaptive_pool": ops.adaptive_avg_pool((2, 5, 5), 2),
        "batch_norm": ops.ChannelAffine((2, 3, 3), rng.normal(size=2), rng.normal(size=2)),
        "scalar_affine": ops.ScalarAffine((2, 3), 2.0, 1.0),
        "element_affine": ops.ScalarAffine((2, 3), rng.normal(size=6), 1.0),
        "residual_add": ops.Add([(2, 3), (2, 3)]),
        "weighted_add": ops.Add([(2, 3), (6,)], [0.5, 2.0]),
        "concat": ops.Concat([(2, 3), (1, 3)]),
        "flatten": ops.Reshape((2, 3), (6,)),
        "permute": ops.Permute((2, 3), (1, 0)),
        "pad": ops.Pad((2, 3), ((0, 0), (1, 2))),
    }


OPERATORS = _operators()


def _calls(op, P, exact):
    """(shape, dtype) of every method of ``op`` on a batch of ``P`` points."""
    rng = np.random.default_rng(1)
    xs = [rng.normal(size=(P,) + s) for s in op.in_shapes]
    if exact:
        xs = [arith.fmpq_array(x) if P else np.empty(x.shape, dtype=object) for x in xs]
        y = op.apply(xs)
        return {"apply": (y.shape, y.dtype)}
    y = op.apply(xs)
    es = [np.abs(x) * 1e-16 for x in xs]
    out = {"apply": (y.shape, y.dtype), "linear": op.linear(xs).shape,
           "bound": op.bound(xs, es, y, 1.0).shape}
    for name, g in (("vjp", rng.normal(size=(P,) + op.out_shape)), ("vjp_flat", rng.normal(size=(P, op.out_size)))):
        out[name] = [(a.shape, a.dtype) for a in op.vjp(g)]
    return out


def _with_first_axis_zero(calls):
    def z(v):
        if isinstance(v, list):
            return [z(a) for a in v]
        if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], tuple):
            return ((0,) + v[0][1:], v[1])
        return (0,) + v[1:]

    return {k: z(v) for k, v in calls.items()}


@pytest.mark.parametrize("exact", [False, True], ids=["float", "exact"])
@pytest.mark.parametrize("name", sorted(OPERATORS))
def test_every_operator_takes_a_batch_of_no_points(name, exact):
    op = OPERATORS[name]
    one = _calls(op, 1, exact)
    assert one["apply"][0] == (1, op.out_size)
    assert _calls(op, 0, exact) == _with_first_axis_zero(one)


def _graph_nets():
    g = GraphBuilder((2,))
    h = g.relu(g.dense(g.input, np.array([[1.0, -2.0], [0.0, 3.0], [-1.0, 1.0]]), np.array([0.5, -0.5, 0.25])))
    small = g.build(g.dense(h, np.ones((1, 3))))
    return {
        "small": small,
        "digits_cnn": zoo.digits_cnn(),
        "resnet": zoo.resnet_cifar(widths=(2, 2), classes=2),
    }


GRAPH_NETS = _graph_nets()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", sorted(GRAPH_NETS))
def test_first_layer_cache_and_crossings_of_no_points_on_graph_nets(name, mode):
    net = GRAPH_NETS[name]
    d = int(np.prod(net.input_shape))
    one = first_layer_cache(net, np.full((1, d), 0.25), mode=mode)
    none = first_layer_cache(net, np.zeros((0, d)), mode=mode)
    for field in ("points", "Z0", "E0"):
        a, b = getattr(one, field), getattr(none, field)
        if a is None:
            assert b is None
        else:
            assert b.shape == (0,) + a.shape[1:] and b.dtype == a.dtype
    if mode != "exact":
        assert none.Z0.shape == (0, net.stages().width(0))
    res = polyfold.segment_crossings(net, np.zeros((0, d)), np.zeros((0, d)), mode=mode)
    assert res.n_segments == 0 and res.piece_offsets.tolist() == [0]
    assert res.codes.shape == (0, net.n_hidden)


# ---------------------------------------------------------------------------
# 2. packed codes of no rows
# ---------------------------------------------------------------------------
def _hardtanh_net(width):
    return polyfold.PLNet.from_arrays([(np.ones((width, 2)), np.zeros(width)), (np.ones((1, width)), np.zeros(1))],
                                      activation="hardtanh")


@pytest.mark.parametrize("activation, width", [("relu", 3), ("relu", 70), ("hardtanh", 3), ("hardtanh", 40)])
def test_unpack_codes_of_no_rows(activation, width):
    if activation == "relu":
        net = polyfold.PLNet.from_arrays([(np.ones((width, 2)), np.zeros(width)), (np.ones((1, width)), np.zeros(1))])
    else:
        net = _hardtanh_net(width)
    lay = code_layout(net)
    # 1 bit per ReLU, 2 per hard tanh; rows padded to 64-bit words
    bits = width * (1 if activation == "relu" else 2)
    assert lay.n_words == -(-bits // 64)
    words = pack_codes(np.zeros((0, width), np.int8), lay)
    assert words.shape == (0, lay.n_words) and words.dtype == np.uint64
    codes = unpack_codes(words, lay)
    assert codes.shape == (0, width) and codes.dtype == np.int8
    # an explicitly typed empty array too
    codes = unpack_codes(np.zeros((0, lay.n_words), np.uint64), lay)
    assert codes.shape == (0, width) and codes.dtype == np.int8


def test_pack_unpack_round_trip_with_hand_packed_words():
    lay = code_layout(_hardtanh_net(3))
    codes = np.array([[0, 3, 2], [1, 1, 0]], np.int8)
    # little-endian 2-bit fields: 0 | 3 << 2 | 2 << 4 = 0x2c, 1 | 1 << 2 = 0x5
    words = pack_codes(codes, lay)
    assert words[:, 0].tolist() == [0x2C, 0x5]
    assert np.array_equal(unpack_codes(words, lay), codes)
    for rows in (codes[:0], codes[:1]):
        back = unpack_codes(pack_codes(rows, lay), lay)
        assert back.shape == rows.shape and back.dtype == np.int8 and np.array_equal(back, rows)


# ---------------------------------------------------------------------------
# 3. attacks: empty batches and bad or extreme input
# ---------------------------------------------------------------------------
def tent_vs_half():
    """Logits (T(x), 1/2), T the tent map on [0, 1]."""
    return polyfold.PLNet.from_arrays([
        (np.array([[1.0], [1.0]]), np.array([0.0, -0.5])),
        (np.array([[2.0, -4.0], [0.0, 0.0]]), np.array([0.0, 0.5]))])


def x_vs_zero():
    """Logits (relu(x) - relu(-x), 0) = (x, 0): class 1 for x < 0, class 0 for x >= 0."""
    return polyfold.PLNet.from_arrays([
        (np.array([[1.0], [-1.0]]), np.zeros(2)),
        (np.array([[1.0, -1.0], [0.0, 0.0]]), np.zeros(2))])


def linear_net():
    """Logits (x0 - 2 x1, x1), no hidden units."""
    return polyfold.PLNet.from_arrays([(np.array([[1.0, -2.0], [0.0, 1.0]]), np.zeros(2))])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("which", ["dense", "graph"])
def test_decision_crossings_of_no_segments(which, mode):
    net = tent_vs_half() if which == "dense" else GRAPH_NETS["small"]
    d = net.input_dim
    E = np.zeros((0, d))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no mean of an empty array)
        res = decision_crossings(net, E, E, mode=mode)
        summary = res.as_dict()
    assert len(res) == res.n_segments == 0 and res.mode == mode
    assert res.class_offsets.tolist() == [0] and res.t_offsets.tolist() == [0]
    assert res.labels.shape == (0,) and res.labels.dtype == np.int64
    assert res.t.shape == (0,) and res.t.dtype == np.float64
    assert res.t_exact == (() if mode == "exact" else None)
    assert res.n_changes.shape == res.changed.shape == res.first_change.shape == (0,)
    assert res.start_class.shape == res.end_class.shape == (0,)
    assert res.flip_distance().shape == (0,) and res.starts.shape == res.ends.shape == (0, d)
    assert summary["n_segments"] == 0 and summary["n_changed"] == 0 and summary["n_changes_mean"] == 0.0
    with pytest.raises(IndexError):
        res.classes(0)
    # the shape is still checked
    with pytest.raises(ShapeError):
        decision_crossings(net, np.zeros((0, d + 1)), np.zeros((0, d + 1)), mode=mode)


def test_attacks_of_no_points_give_empty_results():
    net = zoo.random_mlp((4,), 2, output_dim=3, seed=0)
    X = np.zeros((0, 2))
    for res in (fgsm(net, X, [], 0.1), pgd(net, X, [], 0.1, steps=3, seed=0)):
        assert res.n_points == len(res) == 0
        assert res.X_adv.shape == (0, 2) and res.y.shape == (0,)
        for a in (res.pred_clean, res.pred_adv):
            assert a.shape == (0,) and a.dtype == np.int64
        assert res.flipped.shape == res.perturbation_norm.shape == res.loss_adv.shape == (0,)
        assert res.flip_rate == 0.0 and res.as_dict()["n_points"] == 0
    # arguments are still checked
    with pytest.raises(ValidationError, match="eps"):
        fgsm(net, X, [], -1.0)
    with pytest.raises(ShapeError, match="y must hold one label per point"):
        pgd(net, X, [0], 0.1)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"clip": (np.zeros(3), 1.0)}, ShapeError, r"clip lo must be a number or an array of shape \(2,\)"),
        ({"clip": (0.0, np.ones((1, 2)))}, ShapeError, "clip hi must be a number or an array"),
        ({"y": [1e300, 1.0]}, ValidationError, r"class labels 0..2 .*1e\+300"),
        ({"y": [-3.0, 1.0]}, ValidationError, r"class labels 0..2 .*-3"),
    ],
)
def test_attack_input_errors_name_the_argument(kwargs, exc, match):
    net = zoo.random_mlp((4,), 2, output_dim=3, seed=0)
    args = {"X": [[0.5, 0.5], [0.25, 0.0]], "y": [0, 1]}
    args.update(kwargs)
    X, y = args.pop("X"), args.pop("y")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(exc, match=match):
            fgsm(net, X, y, 0.1, **args)
        with pytest.raises(exc, match=match):
            pgd(net, X, y, 0.1, steps=2, seed=0, **args)


@pytest.mark.parametrize("value", ["no", None, 1])
def test_pgd_random_start_must_be_a_bool(value):
    net = zoo.random_mlp((4,), 2, output_dim=3, seed=0)
    with pytest.raises(ValidationError, match="random_start must be True"):
        pgd(net, [[0.5, 0.5]], [0], 0.1, steps=2, random_start=value)


@pytest.mark.parametrize("norm", ["inf", 2])
def test_pgd_refuses_an_eps_whose_steps_leave_float64(norm):
    net = linear_net()
    # default step 2.5 eps / steps = 1.25e308: |x| + eps + step > 1.8e308
    with pytest.raises(DomainError, match=r"eps=1e\+308 with step_size=1.25e\+308"):
        pgd(net, [[0.5, 0.5]], [1], 1e308, steps=2, norm=norm, seed=0)


def test_fgsm_l2_step_of_a_huge_radius_is_the_gradient_direction():
    # logits z = (x0 - 2 x1, x1) at (1/2, 1/2): (-1/2, 1/2); for y = 1 the gradient is
    # V^T (softmax(z) - e_1) = p (1, -3) with p = 1 / (1 + e); the L_2 step is eps (1, -3) / sqrt 10
    eps = 1e155  # (squares of the step overflow float64)
    X = np.array([[0.5, 0.5]])
    res = fgsm(linear_net(), X, [1], eps, norm=2)
    want = X[0] + eps * np.array([1.0, -3.0]) / np.sqrt(10.0)
    assert np.allclose(res.X_adv[0], want, rtol=1e-12, atol=0)
    assert abs(res.perturbation_norm[0] / eps - 1) < 1e-12 and res.perturbation_norm[0] <= eps
    # z(X_adv) = (7 eps / sqrt 10, -3 eps / sqrt 10): class 0, loss 10 eps / sqrt 10
    assert res.pred_clean.tolist() == [1] and res.pred_adv.tolist() == [0]
    assert abs(res.loss_adv[0] / (np.sqrt(10.0) * eps) - 1) < 1e-12


def test_a_loss_beyond_float64_raises():
    # logits (1e308 + 6e307, -3e307): finite, but the cross-entropy for y = 1 is
    # 1.6e308 + 3e307 > 1.8e308
    with pytest.raises(NonFiniteError, match="cross-entropy loss of X overflows"):
        fgsm(linear_net(), [[1e308, -3e307]], [1], 0.0)


@pytest.mark.parametrize("mode", MODES)
def test_flip_distance_of_a_segment_longer_than_float64(mode):
    # the class changes from 1 to 0 at x = 0, the midpoint of [-1e308, 1e308]: t = 1/2,
    # distance 1/2 * 2e308 = 1e308 (the difference 2e308 of the ends overflows)
    res = decision_crossings(x_vs_zero(), [[-1e308]], [[1e308]], mode=mode)
    assert res.classes(0).tolist() == [1, 0] and float(res.breakpoints(0)[0]) == 0.5
    assert res.flip_distance("inf").tolist() == [1e308]
    assert res.flip_distance(2).tolist() == [1e308]


# ---------------------------------------------------------------------------
# 4. volumes of cell complexes at extreme scales
# ---------------------------------------------------------------------------
def _cut(L):
    """One ReLU unit on the plane x0 + x1 = L / 2 (L / 2 is exact)."""
    return polyfold.PLNet.from_arrays([(np.array([[1.0, 1.0, 0.0]]), np.array([-L / 2])), (np.ones((1, 1)), np.zeros(1))])


def _cut_volumes(L, h):
    """Exact volumes of [-L, L]^2 x [-h, h] cut by x0 + x1 = L / 2: the corner triangle
    x0 + x1 > L / 2 of the square has legs 3 L / 2 (area 9 L^2 / 8), the rest
    4 L^2 - 9 L^2 / 8 = 23 L^2 / 8; times the height 2 h."""
    Lq, hq = Fraction(L), Fraction(h)
    return sorted([float(Fraction(9, 4) * Lq * Lq * hq), float(Fraction(23, 4) * Lq * Lq * hq)])


@pytest.mark.parametrize("L", [1.0, 1e100, 1e150, 1e155])
def test_box_volumes_at_huge_and_thin_scales(L):
    # [-L, L]^2 x [-1/L, 1/L]: volume 8 L, in float64 at every L, but the squares of
    # the coordinates overflow (1e155) and the box is very thin (1e-310 relatively)
    h = 1.0 / L
    cx = box_complex(_cut(L), [-L, -L, -h], [L, L, h])
    assert cx.n_regions == 2
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = np.sort(cx.measures)
    want = _cut_volumes(L, h)
    assert np.all(np.abs(got / want - 1) < 1e-12), (got, want)


@pytest.mark.parametrize("L", [1.0, 1e50, 1e100, 1e-100])
def test_cube_volumes_scale_with_the_cube(L):
    cx = box_complex(_cut(L), -L, L)
    got = np.sort(cx.measures)
    want = _cut_volumes(L, L)
    assert np.all(np.abs(got / want - 1) < 1e-12), (got, want)


@pytest.mark.parametrize("L", [1e103, 1e150, 1e155])
def test_volumes_beyond_float64_raise(L):
    # 9 L^3 / 4 > 1.8e308
    cx = box_complex(_cut(L), -L, L)
    assert cx.n_regions == 2
    with pytest.raises(DomainError, match=r"beyond float64.*spans \[-1e\+"):
        cx.measures


def test_a_domain_volume_below_float64_raises():
    L = 1e-110  # 8 L^3 = 8e-330
    cx = box_complex(_cut(L), -L, L)
    with pytest.raises(DomainError, match="below what float64 holds"):
        cx.measures


def test_interior_points_of_a_box_near_the_float64_limit():
    # [-1e308, 1e308]^3 cut by x0 = 0: the vertex centroids are (+-1e308 / 2, 0, 0)
    # (sums of the vertex coordinates overflow)
    net = polyfold.PLNet.from_arrays([(np.array([[1.0, 0.0, 0.0]]), np.zeros(1)), (np.ones((1, 1)), np.zeros(1))])
    cx = box_complex(net, -1e308, 1e308)
    pts = cx.interior_points[np.argsort(cx.interior_points[:, 0])]
    assert pts.tolist() == [[-5e307, 0.0, 0.0], [5e307, 0.0, 0.0]]
