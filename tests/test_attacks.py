"""Tests of polyfold.attacks: FGSM / PGD with exact local gradients, decision crossings.

Expected values: gradients and steps derived by hand on affine (one-region) nets,
boundary points of hand-built nets solved by hand, exact rational recomputation
(certified vs exact), and dense sampling as a lower bound on the class changes.
"""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import polyfold
from polyfold import zoo
from polyfold.attacks import AttackResult, DecisionCrossings, decision_crossings, fgsm, pgd
from polyfold.exceptions import DomainError, ShapeError, ValidationError
from polyfold.network import PLNet


def affine_net(W, b):
    """A net without hidden layers: one linear region, logits = W x + b."""
    return PLNet.from_arrays([(np.asarray(W, float), np.asarray(b, float))])


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


# ---------------------------------------------------------------------------
# FGSM
# ---------------------------------------------------------------------------
def test_fgsm_on_an_affine_net_is_the_hand_computed_sign_step():
    W = np.array([[1.0, -2.0, 0.5], [0.0, 1.0, -1.0], [2.0, 0.0, 0.0]])
    b = np.array([0.0, 0.25, -0.5])
    net = affine_net(W, b)
    x = np.array([0.5, 0.25, 0.75])
    for label in range(3):
        # grad_x CE = W^T (softmax(W x + b) - e_y), written out by hand
        p = softmax(W @ x + b)
        p[label] -= 1.0
        grad = W.T @ p
        res = fgsm(net, x[None], [label], 0.125)
        # dyadic x and eps: x + eps * sign(grad) is exact in float64
        assert res.X_adv[0].tolist() == (x + 0.125 * np.sign(grad)).tolist()
        assert res.perturbation_norm[0] == 0.125


def test_fgsm_in_l2_on_an_affine_net():
    W = np.array([[3.0, 4.0], [0.0, 0.0]])
    net = affine_net(W, np.zeros(2))
    x = np.array([0.1, -0.2])
    # y = 1: p = softmax(z) - e_1 = (p0, p0 - ... ) -> grad = W^T (p0, p1 - 1) = p0 * (3, 4)
    res = fgsm(net, x[None], [1], 0.5, norm=2)
    np.testing.assert_allclose(res.X_adv[0], x + 0.5 * np.array([0.6, 0.8]), rtol=0, atol=1e-15)
    assert res.perturbation_norm[0] <= 0.5
    assert res.norm == 2


def test_fgsm_on_a_relu_net_inside_one_region():
    # every hidden unit active on [0, 1]^2 (bias +10): the net is the affine map
    # W2 (W1 x + b1) + b2, so the gradient is (W2 W1)^T (softmax - e_y)
    W1 = np.array([[1.0, 2.0], [-1.0, 0.5], [0.5, -3.0]])
    b1 = np.full(3, 10.0)
    W2 = np.array([[1.0, 0.0, -1.0], [0.5, 1.0, 2.0]])
    b2 = np.array([0.0, -1.0])
    net = PLNet.from_arrays([(W1, b1), (W2, b2)])
    x = np.array([0.5, 0.75])
    p = softmax(W2 @ (W1 @ x + b1) + b2)
    p[0] -= 1.0
    grad = (W2 @ W1).T @ p
    res = fgsm(net, x[None], [0], 0.25)
    assert res.X_adv[0].tolist() == (x + 0.25 * np.sign(grad)).tolist()


def test_fgsm_one_output_net_uses_the_logistic_loss():
    # z = 2 x0 - x1; class 1 iff z > 0.  y = 1: loss log(1 + exp(-z)), gradient
    # (sigmoid(z) - 1) (2, -1), whose sign is (-1, +1); y = 0: (sigmoid(z)) (2, -1)
    net = affine_net([[2.0, -1.0]], [0.0])
    res = fgsm(net, [[0.5, 0.5]], [1], 0.25)
    assert res.X_adv.tolist() == [[0.25, 0.75]]
    res0 = fgsm(net, [[0.5, 0.5]], [0], 0.25)
    assert res0.X_adv.tolist() == [[0.75, 0.25]]
    assert res.loss_clean[0] == pytest.approx(np.log1p(np.exp(-0.5)))
    assert res.loss_adv[0] == pytest.approx(np.log1p(np.exp(0.25)))  # z = 0.5 - 0.75
    assert res.pred_clean[0] == 1 and res.pred_adv[0] == 0 and res.flipped[0]


def test_fgsm_zero_gradient_coordinates_do_not_move_and_clip_applies():
    net = affine_net([[1.0, 0.0], [0.0, 0.0]], [0.0, 0.0])
    res = fgsm(net, [[0.0, 0.5]], [1], 0.5, clip=(0.0, 1.0))
    # grad = (p0, 0) -> sign (1, 0): x0 moves up by eps (not clipped), x1 stays
    assert res.X_adv.tolist() == [[0.5, 0.5]]
    res = fgsm(net, [[0.0, 0.5]], [0], 0.5, clip=(0.0, 1.0))
    # grad = (p0 - 1, 0) -> x0 would go to -0.5; the box keeps it at 0
    assert res.X_adv.tolist() == [[0.0, 0.5]]
    assert res.perturbation_norm.tolist() == [0.0]


def test_attack_result_bookkeeping(digits):
    _, _, X, y = digits
    net = zoo.digits_mlp("2x30")
    res = fgsm(net, X[:60], y[:60], 0.1, clip=(0, 1))
    assert isinstance(res, AttackResult) and len(res) == 60
    assert np.array_equal(res.pred_clean, net.predict(X[:60]))
    assert np.array_equal(res.pred_adv, net.predict(res.X_adv))
    assert np.array_equal(res.flipped, res.pred_clean != res.pred_adv)
    assert np.array_equal(res.misclassified, res.pred_adv != y[:60])
    np.testing.assert_array_equal(res.perturbation_norm, np.abs(res.delta).max(axis=1))
    d = res.as_dict()
    assert d["flip_rate"] == res.flip_rate and d["n_points"] == 60


# ---------------------------------------------------------------------------
# PGD
# ---------------------------------------------------------------------------
@given(
    seed=st.integers(0, 10_000),
    eps=st.sampled_from([0.0, 1e-3, 0.1, 0.3, 1.0 / 3.0, 2.0]),
    norm=st.sampled_from(["inf", 2]),
    steps=st.integers(1, 6),
    random_start=st.booleans(),
    box=st.sampled_from([None, (0.0, 1.0), (0.25, 0.5)]),
)
def test_pgd_never_leaves_the_ball_or_the_box(seed, eps, norm, steps, random_start, box):
    rng = np.random.default_rng(seed)
    net = zoo.random_mlp((5, 4), 3, output_dim=3, seed=seed)
    lo, hi = box if box is not None else (-1.0, 1.0)
    X = rng.uniform(lo, hi, (7, 3))
    y = rng.integers(0, 3, 7)
    res = pgd(net, X, y, eps, steps=steps, norm=norm, clip=box, random_start=random_start,
              seed=seed, step_size=rng.uniform(0, 1))
    D = res.X_adv - X
    n = np.abs(D).max(axis=1) if norm == "inf" else np.linalg.norm(D, axis=1)
    assert np.all(n <= eps)
    if box is not None:
        assert np.all(res.X_adv >= lo) and np.all(res.X_adv <= hi)
    np.testing.assert_array_equal(res.perturbation_norm, n)


def test_pgd_one_step_without_random_start_is_fgsm():
    net = affine_net([[1.0, -2.0], [0.5, 1.0], [0.0, 0.0]], [0.0, 0.0, 0.5])
    X = np.array([[0.5, 0.5], [0.25, 0.75], [0.0, 0.125]])
    y = np.array([0, 1, 2])
    a = pgd(net, X, y, 0.25, steps=1, step_size=0.25, random_start=False)
    b = fgsm(net, X, y, 0.25)
    assert np.array_equal(a.X_adv, b.X_adv)


def test_pgd_is_reproducible_by_seed_and_raises_the_loss(digits):
    _, _, X, y = digits
    net = zoo.digits_mlp("3x20")
    a = pgd(net, X[:40], y[:40], 0.1, steps=10, clip=(0, 1), seed=3)
    b = pgd(net, X[:40], y[:40], 0.1, steps=10, clip=(0, 1), seed=3)
    c = pgd(net, X[:40], y[:40], 0.1, steps=10, clip=(0, 1), seed=4)
    assert np.array_equal(a.X_adv, b.X_adv)
    assert not np.array_equal(a.X_adv, c.X_adv)
    assert a.loss_adv.mean() > a.loss_clean.mean()
    assert a.adversarial_accuracy < a.clean_accuracy
    # pgd is at least as strong as fgsm here on average (a sanity check, not a theorem)
    f = fgsm(net, X[:40], y[:40], 0.1, clip=(0, 1))
    assert a.loss_adv.mean() >= f.loss_adv.mean()


def test_pgd_with_eps_zero_returns_the_clean_points():
    net = zoo.random_mlp((4,), 2, output_dim=2, seed=0)
    X = np.array([[0.1, 0.2], [0.3, -0.4]])
    res = pgd(net, X, [0, 1], 0.0, steps=3, seed=0)
    assert np.array_equal(res.X_adv, X) and not res.flipped.any()


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"norm": 1}, ValidationError, "norm must be 'inf'"),
        ({"norm": "l1"}, ValidationError, "norm must be 'inf'"),
        ({"eps": -0.1}, ValidationError, "eps must be a finite number >= 0"),
        ({"eps": float("nan")}, ValidationError, "eps must be"),
        ({"y": [0, 1, 2]}, ShapeError, r"y must hold one label per point, shape \(2,\)"),
        ({"y": [0, 3]}, ValidationError, "class labels 0..2"),
        ({"y": [0.5, 1.0]}, ValidationError, "integer class labels"),
        ({"X": [[2.0, 0.0], [0.0, 0.0]], "clip": (0, 1)}, DomainError, "outside the clip box"),
        ({"clip": (1, 0)}, DomainError, "clip box is empty"),
        ({"clip": 5}, ValidationError, "clip must be None or a pair"),
        ({"X": [[0.0, 0.0, 0.0]] * 2}, ShapeError, "input_dim=2"),
        ({"steps": 0}, ValidationError, "steps must be an integer >= 1"),
        ({"step_size": -1.0}, ValidationError, "step_size must be"),
    ],
)
def test_attack_errors_name_the_argument(kwargs, exc, match):
    net = zoo.random_mlp((4,), 2, output_dim=3, seed=0)
    args = {"X": [[0.5, 0.5], [0.25, 0.0]], "y": [0, 1], "eps": 0.1}
    args.update(kwargs)
    X, y, eps = args.pop("X"), args.pop("y"), args.pop("eps")
    with pytest.raises(exc, match=match):
        pgd(net, X, y, eps, **args)
    if not {"steps", "step_size"} & set(kwargs):
        with pytest.raises(exc, match=match):
            fgsm(net, X, y, eps, **args)


def test_attack_rejects_a_non_network():
    with pytest.raises(ValidationError, match="net must be a polyfold"):
        fgsm("net", [[0.0]], [0], 0.1)


# ---------------------------------------------------------------------------
# decision crossings on hand-built nets
# ---------------------------------------------------------------------------
def tent_vs_half():
    """Logits (T(x), 1/2), T the tent map 2 ReLU(x) - 4 ReLU(x - 1/2) on [0, 1]:
    class 1 where T(x) < 1/2, i.e. on [0, 1/4) and (3/4, 1]."""
    return PLNet.from_arrays([
        (np.array([[1.0], [1.0]]), np.array([0.0, -0.5])),
        (np.array([[2.0, -4.0], [0.0, 0.0]]), np.array([0.0, 0.5])),
    ])


@pytest.mark.parametrize("mode", ["exact", "certified", "float"])
def test_decision_crossings_of_the_tent(mode):
    res = decision_crossings(tent_vs_half(), [[0.0], [0.5], [1.0]], [[1.0], [0.75], [0.5]],
                             mode=mode)
    assert isinstance(res, DecisionCrossings) and len(res) == 3
    assert res.classes(0).tolist() == [1, 0, 1]
    assert res.classes(1).tolist() == [0]          # T > 1/2 on (1/2, 3/4)
    assert res.classes(2).tolist() == [1, 0]       # from 1 down to 1/2: crosses 3/4
    bp0 = res.breakpoints(0)
    if mode == "exact":
        assert bp0 == [Fraction(1, 4), Fraction(3, 4)]
        assert all(isinstance(v, Fraction) for v in bp0)
        assert res.breakpoints(2) == [Fraction(1, 2)]   # x = 1 - t/2 = 3/4 at t = 1/2
        assert res.first_change_exact(0) == Fraction(1, 4)
    else:
        assert bp0.dtype == np.float64 and bp0.tolist() == [0.25, 0.75]
    assert res.n_changes.tolist() == [2, 0, 1]
    assert res.changed.tolist() == [True, False, True]
    assert res.start_class.tolist() == [1, 0, 1] and res.end_class.tolist() == [1, 0, 0]
    fc = res.first_change
    assert fc[0] == 0.25 and np.isnan(fc[1]) and fc[2] == 0.5
    assert res.t.dtype == np.float64
    np.testing.assert_array_equal(res.flip_distance("inf"), [0.25, np.nan, 0.25])


def test_one_output_net_class_is_logit_positive():
    # z = 3 ReLU(x) - 1 on [-1, 1]: class 1 iff x > 1/3, i.e. t > 2/3 on x = 2t - 1
    net = PLNet.from_arrays([(np.array([[1.0]]), np.array([0.0])),
                             (np.array([[3.0]]), np.array([-1.0]))])
    res = decision_crossings(net, [[-1.0]], [[1.0]], mode="exact")
    assert res.breakpoints(0) == [Fraction(2, 3)] and res.classes(0).tolist() == [0, 1]
    # T(x) - 1 touches 0 at x = 1/2 without crossing: no change, class 0 (logit > 0 never)
    touch = PLNet.from_arrays([(np.array([[1.0], [1.0]]), np.array([0.0, -0.5])),
                               (np.array([[2.0, -4.0]]), np.array([-1.0]))])
    for mode in ("exact", "certified", "float"):
        r = decision_crossings(touch, [[0.0]], [[1.0]], mode=mode)
        assert r.classes(0).tolist() == [0] and len(r.breakpoints(0)) == 0
    # z = ReLU(x - 1) on x in [-1, 2] (x = 3t - 1): identically 0 (class 0) until x = 1
    flat = PLNet.from_arrays([(np.array([[1.0]]), np.array([-1.0])),
                              (np.array([[1.0]]), np.array([0.0]))])
    for mode in ("exact", "certified"):
        r = decision_crossings(flat, [[-1.0]], [[2.0]], mode=mode)
        assert r.classes(0).tolist() == [0, 1]
        assert [float(v) for v in r.breakpoints(0)] == [2 / 3]
    assert decision_crossings(flat, [[-1.0]], [[2.0]], mode="exact").breakpoints(0) == [Fraction(2, 3)]


def test_ties_go_to_the_lowest_index():
    # two identical logit rows: class 0 everywhere
    net = affine_net([[1.0], [1.0], [-1.0]], [0.0, 0.0, 0.0])
    r = decision_crossings(net, [[-1.0]], [[1.0]], mode="exact")
    # x < 0: logit 2 (= -x) on top; x > 0: rows 0 and 1 tie -> class 0
    assert r.classes(0).tolist() == [2, 0] and r.breakpoints(0) == [Fraction(1, 2)]
    assert net.predict(np.array([[0.5]]))[0] == 0  # same convention as predict


def test_three_lines_through_one_point_and_two_changes_in_one_piece():
    # logits (x, -x, 0) on x = 2t - 1: all three meet at t = 1/2; class 2 is on top
    # only at that point, so the classes are [1, 0]
    net = affine_net([[1.0], [-1.0], [0.0]], [0.0, 0.0, 0.0])
    for mode in ("exact", "certified"):
        r = decision_crossings(net, [[-1.0]], [[1.0]], mode=mode)
        assert r.classes(0).tolist() == [1, 0]
        assert [float(v) for v in r.breakpoints(0)] == [0.5]
    # logits (1 - 4x, 4x - 3, 0) on [0, 1]: one region, classes 0 -> 2 -> 1 at 1/4, 3/4
    net = affine_net([[-4.0], [4.0], [0.0]], [1.0, -3.0, 0.0])
    ex = decision_crossings(net, [[0.0]], [[1.0]], mode="exact")
    assert ex.classes(0).tolist() == [0, 2, 1]
    assert ex.breakpoints(0) == [Fraction(1, 4), Fraction(3, 4)]
    ce = decision_crossings(net, [[0.0]], [[1.0]], mode="certified")
    # well separated: certified without exact recomputation
    assert ce.classes(0).tolist() == [0, 2, 1] and ce.n_recomputed == 0
    assert ce.breakpoints(0).tolist() == [0.25, 0.75]


def test_class_change_at_a_region_boundary():
    # logits (0, ReLU(x) - ReLU(-x)) = (0, x): the change at x = 0 is also a kink of the
    # partition (both hidden units switch there)
    net = PLNet.from_arrays([(np.array([[1.0], [-1.0]]), np.zeros(2)),
                             (np.array([[0.0, 0.0], [1.0, -1.0]]), np.zeros(2))])
    for mode in ("exact", "certified", "float"):
        r = decision_crossings(net, [[-1.0]], [[3.0]], mode=mode)
        assert r.classes(0).tolist() == [0, 1]
        assert float(r.breakpoints(0)[0]) == 0.25
    assert decision_crossings(net, [[-1.0]], [[3.0]], mode="certified").n_recomputed == 1


def test_zero_length_segment_and_segment_inside_a_class():
    r = decision_crossings(tent_vs_half(), [[0.6], [0.1]], [[0.6], [0.2]], mode="exact")
    assert r.classes(0).tolist() == [0] and r.classes(1).tolist() == [1]
    assert r.breakpoints(0) == [] and not r.changed.any()


def test_decision_crossing_errors():
    net = tent_vs_half()
    with pytest.raises(ShapeError, match="input_dim=1"):
        decision_crossings(net, [[0.0, 1.0]], [[1.0, 0.0]])
    # no segments: an empty result (see tests/test_input_audit_empty_extreme.py)
    assert len(decision_crossings(net, np.zeros((0, 1)), np.zeros((0, 1))).changed) == 0
    with pytest.raises(ValidationError, match="mode must be one of"):
        decision_crossings(net, [[0.0]], [[1.0]], mode="fast")
    with pytest.raises(ValidationError, match="net must be a polyfold"):
        decision_crossings(None, [[0.0]], [[1.0]])
    res = decision_crossings(net, [[0.0]], [[1.0]])
    with pytest.raises(IndexError):
        res.classes(3)
    with pytest.raises(ValidationError, match="norm"):
        res.flip_distance(1)


# ---------------------------------------------------------------------------
# properties: certified == exact, sampling is a lower bound, float close
# ---------------------------------------------------------------------------
def _dedup(seq):
    out = []
    for v in seq:
        if not out or out[-1] != v:
            out.append(int(v))
    return out


def _is_subsequence(a, b):
    it = iter(b)
    return all(any(x == y for y in it) for x in a)


def _exact_classes_at(net, s, e, ts, *, drop_ties=False):
    """Exact predicted classes at the points ``(1 - t) s + t e`` for Fractions ``t``
    (``drop_ties``: leave out points where the top logits tie, or the one logit is 0:
    an isolated tie is not a class change, the open pieces around it decide)."""
    from polyfold import arith

    sq, eq = arith.fmpq_array(s), arith.fmpq_array(e)
    P = np.array([[a + arith.to_fmpq(t) * (b - a) for a, b in zip(sq, eq)] for t in ts], dtype=object)
    Z = net.forward_exact(P)[-1]
    out = []
    for z in Z:
        if net.output_dim == 1:
            if drop_ties and z[0] == 0:
                continue
            out.append(int(z[0] > 0))
            continue
        top = max(z)
        if drop_ties and sum(1 for v in z if v == top) > 1:
            continue
        out.append(max(range(net.output_dim), key=lambda j: (z[j], -j)))
    return out


def check_against_exact(net, S, E, n_samples):
    """Certified == exact; the exact classes are those of the exact pieces' midpoints;
    a dense sample, classified exactly, only misses changes."""
    ex = decision_crossings(net, S, E, mode="exact")
    ce = decision_crossings(net, S, E, mode="certified")
    for i in range(len(S)):
        classes = ex.classes(i).tolist()
        assert ce.classes(i).tolist() == classes
        exb = ex.breakpoints(i)
        np.testing.assert_allclose(ce.breakpoints(i), [float(v) for v in exb], rtol=0, atol=1e-12)
        bps = [Fraction(0)] + exb + [Fraction(1)]
        for c, a, b in zip(classes, bps[:-1], bps[1:]):
            # an interior point of the piece that is not an isolated tie
            for w in (Fraction(1, 2), Fraction(1, 3), Fraction(2, 3), Fraction(1, 7)):
                got = _exact_classes_at(net, S[i], E[i], [a + w * (b - a)], drop_ties=True)
                if got:
                    assert got == [c]
                    break
        grid = [Fraction(k, n_samples) for k in range(1, n_samples)]
        grid = [t for t in grid if t not in set(exb)]
        sampled = _exact_classes_at(net, S[i], E[i], grid, drop_ties=True)
        assert _is_subsequence(_dedup(sampled), classes)
    return ex


@given(seed=st.integers(0, 100_000), out=st.sampled_from([1, 2, 3]), d=st.sampled_from([1, 2]))
def test_certified_equals_exact_on_small_integer_nets(seed, out, d):
    net = zoo.random_mlp((3, 3), d, output_dim=out, seed=seed, integer=True)
    rng = np.random.default_rng(seed)
    S = rng.integers(-3, 4, (6, d)).astype(float)
    E = rng.integers(-3, 4, (6, d)).astype(float)
    check_against_exact(net, S, E, 400)


@given(seed=st.integers(0, 100_000))
def test_float_mode_is_close_on_generic_nets(seed):
    net = zoo.random_mlp((6, 6), 2, output_dim=4, seed=seed)
    rng = np.random.default_rng(seed)
    S, E = rng.normal(size=(5, 2)), rng.normal(size=(5, 2))
    ex = decision_crossings(net, S, E, mode="exact")
    fl = decision_crossings(net, S, E, mode="float")
    for i in range(5):
        assert fl.classes(i).tolist() == ex.classes(i).tolist()
        np.testing.assert_allclose(fl.breakpoints(i), [float(v) for v in ex.breakpoints(i)],
                                   rtol=0, atol=1e-9)


def test_pgd_endpoints_have_a_decision_crossing(digits):
    # a flipped adversarial copy is reached from the clean point through a class change
    _, _, X, y = digits
    net = zoo.digits_mlp("2x30")
    res = pgd(net, X[:30], y[:30], 0.1, steps=10, clip=(0, 1), seed=0)
    dc = decision_crossings(net, X[:30], res.X_adv)
    on_boundary = dc.start_class != res.pred_clean
    ok = ~on_boundary
    assert np.array_equal(dc.changed[ok & res.flipped], np.ones((ok & res.flipped).sum(), bool))
    assert np.all(dc.flip_distance()[res.flipped] <= res.perturbation_norm[res.flipped])


# ---------------------------------------------------------------------------
# graph networks (CNNs through torch.fx)
# ---------------------------------------------------------------------------
def small_cnn(seed, integer=True):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Conv2d(1, 2, 2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(2, 3)).double()
    if integer:
        gen = np.random.default_rng(seed)
        with torch.no_grad():
            for p in model.parameters():
                p.copy_(torch.as_tensor(gen.integers(-2, 3, p.shape).astype(float)))
    return model


def test_graph_gradients_match_torch_autograd():
    torch = pytest.importorskip("torch")
    from polyfold.regularization import digits_cnn

    model = digits_cnn(2, channels=3, seed=1).double().eval()
    net = polyfold.from_torch(model, input_shape=(1, 8, 8))
    assert not net.is_dense
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (6, 64))
    y = rng.integers(0, 10, 6)
    from polyfold.attacks import _input_gradients

    g = _input_gradients(net, X, y)
    xt = torch.as_tensor(X.reshape(-1, 1, 8, 8), dtype=torch.float64).requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(model(xt), torch.as_tensor(y), reduction="sum")
    (gt,) = torch.autograd.grad(loss, xt)
    np.testing.assert_allclose(g, gt.numpy().reshape(6, 64), rtol=1e-9, atol=1e-12)
    res = pgd(net, X.reshape(-1, 1, 8, 8), y, 0.1, steps=5, clip=(0, 1), seed=0)
    assert np.abs(res.X_adv - X).max() <= 0.1 and res.X_adv.shape == (6, 64)


@given(seed=st.integers(0, 10_000))
def test_certified_equals_exact_on_small_integer_cnns(seed):
    net = polyfold.from_torch(small_cnn(seed), input_shape=(1, 3, 3))
    rng = np.random.default_rng(seed)
    S = rng.integers(-2, 3, (4, 9)).astype(float)
    E = rng.integers(-2, 3, (4, 9)).astype(float)
    ex = check_against_exact(net, S, E, 200)
    fl = decision_crossings(net, S, E, mode="float")
    assert fl.n_segments == ex.n_segments and len(fl.labels) >= 4
