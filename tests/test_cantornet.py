"""CantorNet (representations A, B, C) against its defining function, evaluated
exactly; region walks along the authors' path checked by dense exact evaluation."""

from fractions import Fraction

import numpy as np
import pytest

from polyfold import arith, zoo
from polyfold._cantornet import cantornet
from polyfold.exceptions import ValidationError
from polyfold.folding import space_folding


def A(x):
    return max(-3 * x + 1, Fraction(0), 3 * x - 2)


def A_k(x, k):
    for _ in range(k):
        x = A(x)
    return x


def cantor_endpoints(k):
    """Endpoints of the level-k Cantor intervals, by the middle-third recursion."""
    iv = [(Fraction(0), Fraction(1))]
    for _ in range(k):
        iv = [p for a, b in iv for p in ((a, a + (b - a) / 3), (b - (b - a) / 3, b))]
    return sorted({v for a, b in iv for v in (a, b)})


def exact_points(pts):
    return np.array(
        [[arith.fmpq(v.numerator, v.denominator) for v in p] for p in pts], dtype=object
    )


def _check_function(net, k, xs, ys, relu_out=False):
    pts = [(x, y) for x in xs for y in ys]
    out = net.forward_exact(exact_points(pts))[-1][:, 0]
    for o, (x, y) in zip(out, pts):
        g = (A_k(x, k) + 1) / 2
        want = y - g
        if relu_out:
            want = max(want, Fraction(0))
        assert arith.to_fraction(o) == want, (x, y)
        assert (o <= 0) == (y <= g)


@pytest.mark.parametrize("rep, kmax", [("A", 5), ("B", 3), ("C", 3)])
def test_matches_defining_function(rep, kmax):
    rng = np.random.default_rng(0)
    for k in range(1, kmax + 1):
        net = zoo.cantornet(k, rep)
        xs = cantor_endpoints(k) + [Fraction(int(v), 1009) for v in rng.integers(0, 1010, 12)]
        ys = [Fraction(j, 8) for j in range(9)] + [(A_k(x, k) + 1) / 2 for x in xs[:6]]
        _check_function(net, k, xs, ys)


def test_output_relu_convention():
    for rep in "ABC":
        net = cantornet(2, rep, output_relu=True)
        plain = cantornet(2, rep)
        assert net.n_hidden == plain.n_hidden + 1
        _check_function(net, 2, cantor_endpoints(2), [Fraction(j, 4) for j in range(5)], relu_out=True)
        a = space_folding(net, [0.0, 0.75], [1.0, 0.75], mode="exact")
        b = space_folding(plain, [0.0, 0.75], [1.0, 0.75], mode="exact", units="hidden+output")
        assert a.chi == b.chi and np.array_equal(a.walk, b.walk)
    assert cantornet(3, "A", output_relu=True).n_hidden == 5 * 3 + 1


def test_representation_A_sizes_and_walk_by_hand():
    for k in range(1, 5):
        assert zoo.cantornet(k, "A").widths == (3, 2) * k
    # k = 1 on y = 3/4: ReLU(3x-2), ReLU(1-3x), ReLU(y) | ReLU(A(x)), ReLU(y)
    r = space_folding(zoo.cantornet(1, "A"), [0.0, 0.75], [1.0, 0.75], mode="exact")
    assert r.walk.astype(int).tolist() == [[0, 1, 1, 1, 1], [0, 0, 1, 0, 1], [1, 0, 1, 1, 1]]
    assert r.breakpoints == [Fraction(1, 3), Fraction(2, 3)]
    assert r.chi == Fraction(1, 2)
    # with the output bit N > 0 iff A(x) < 1/2, i.e. x in (1/6, 5/6)
    r = space_folding(zoo.cantornet(1, "A"), [0.0, 0.75], [1.0, 0.75], mode="exact", units="hidden+output")
    assert r.breakpoints == [Fraction(j, 6) for j in (1, 2, 4, 5)]
    assert r.chi == Fraction(1, 2)  # distances 0,1,3,3,2; steps 1,2,2,1


@pytest.mark.parametrize("k", range(1, 7))
def test_A_region_count_closed_form(k):
    # A^j crosses 1/3 and 2/3 once on each of its 2^j monotone pieces (j < k), at
    # distinct points: 2^(k+1) - 2 breakpoints
    r = space_folding(zoo.cantornet(k, "A"), [0.0, 0.75], [1.0, 0.75], mode="certified")
    assert r.n_regions == 2 ** (k + 1) - 1


def _dense_walk(net, n_cells):
    """Exact patterns at the midpoints of n_cells equal cells of y = 3/4."""
    xs = [Fraction(2 * i + 1, 2 * n_cells) for i in range(n_cells)]
    P = net.patterns_exact(exact_points([(x, Fraction(3, 4)) for x in xs]))
    keep = np.r_[True, np.any(P[1:] != P[:-1], axis=1)]
    return P[keep]


@pytest.mark.parametrize("rep, k", [("A", 1), ("A", 3), ("A", 4), ("B", 1), ("B", 2), ("B", 3), ("C", 2), ("C", 3)])
def test_walk_matches_dense_exact_evaluation(rep, k):
    net = zoo.cantornet(k, rep)
    r = space_folding(net, [0.0, 0.75], [1.0, 0.75], mode="exact")
    # every breakpoint has denominator dividing 4 * 3^(k+1); cell midpoints lie off them
    for cells in (4 * 3 ** (k + 1), 12 * 3 ** (k + 1)):
        dense = _dense_walk(net, cells)
        assert np.array_equal(dense, r.walk), cells
    assert all((4 * 3 ** (k + 1)) % t.denominator == 0 for t in r.breakpoints)
    c = space_folding(net, [0.0, 0.75], [1.0, 0.75], mode="certified")
    assert c.chi == r.chi and c.n_regions == r.n_regions


def test_A_folds_more_than_B_and_C():
    """The CantorNet paper reports higher folding for representation A."""
    for k in range(1, 5):
        chi = {rep: space_folding(zoo.cantornet(k, rep), [0.0, 0.75], [1.0, 0.75]).chi for rep in "ABC"}
        assert chi["A"] > chi["B"] and chi["A"] > chi["C"]


def test_bad_input():
    with pytest.raises(ValidationError, match="representation"):
        zoo.cantornet(2, "D")
    with pytest.raises(ValidationError, match="representation"):
        cantornet(2, "b")
    for k in (0, -1, 2.0, "2", True):
        with pytest.raises(ValidationError, match="k must"):
            cantornet(k, "A")
    with pytest.raises(ValidationError, match="k must be <= 10"):
        cantornet(11, "B")
