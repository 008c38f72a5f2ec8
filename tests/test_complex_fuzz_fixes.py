"""Float-mode complexes that disagreed with exact mode, and slices at extreme bounds."""

import numpy as np
import pytest

from polyfold import PLNet, slice_complex, space_complex
from polyfold.exceptions import DomainError
from polyfold.graph.model import GraphBuilder
from polyfold.network import HardTanh


def _hardtanh_net():
    W0 = np.array([[-3, -1, 0], [-1, 0, 3], [-2, -1, -3]], float)
    W1 = np.array([[0, 3, -3], [-2, -3, 0], [-2, -3, 2], [-2, 0, 2]], float)
    W2 = np.array([[2, 3, 2, 1], [0, -2, 1, 2]], float)
    return PLNet([(W0, np.array([-1, 2, 1.0])), (W1, np.array([1, 2, 0, 1.0])),
                  (W2, np.array([-3, 0.0]))], [HardTanh(-0.5, 2), "relu"])


def test_space_float_m_part_noise_is_not_a_sign():
    # the M parts of the first layer's differences cancel (dependent normals): float
    # noise of 1e-15 must not decide; exact mode is the reference
    net = _hardtanh_net()
    ex = space_complex(net, mode="exact")
    fl = space_complex(net, mode="float")
    assert ex.n_regions == 63
    assert fl.n_regions == ex.n_regions and fl.f_vector == ex.f_vector
    assert sorted(map(tuple, fl.codes.tolist())) == sorted(map(tuple, ex.codes.tolist()))


def _maxout_net():
    b = GraphBuilder((2,))
    W1 = np.array([[0, -1], [0, 1], [0, -2], [-1, 1], [1, 1], [-1, 2]], float)
    h = b.maxout(b.dense(b.input, W1, np.array([1, 1, 1, -1, 1, 2.0])), 3)
    return b.build(b.dense(h, np.array([[2, 1], [1, -1.0]]), np.array([-1, 2.0])))


def test_float_maxout_slice_tied_candidates_keeps_adjacency():
    # unit 0: max(1 - y, 1 + y, 1 - 2y), all three tied along y = 0 (the float chords
    # of the two sides differ); unit 1 adds one crossing line: 4 regions around one
    # point, each adjacent to two others, as in exact mode
    cx = slice_complex(_maxout_net(), [0, 0], [1, 0], [0, 1], bounds=(-3, 3, -3, 3), mode="float")
    assert cx.n_regions == 4
    pairs, _ = cx.adjacency
    got = {tuple(sorted((tuple(cx.codes[a]), tuple(cx.codes[b])))) for a, b in pairs.tolist()}
    ex = slice_complex(_maxout_net(), [0, 0], [1, 0], [0, 1], bounds=(-3, 3, -3, 3), mode="exact")
    pe, _ = ex.adjacency
    want = {tuple(sorted((tuple(ex.codes[a]), tuple(ex.codes[b])))) for a, b in pe.tolist()}
    assert len(got) == 4 and got == want
    assert np.isclose(cx.facet_measures.sum(), ex.facet_measures.sum())


@pytest.mark.parametrize("mode", ["float", "certified", "exact"])
def test_slice_bounds_too_large_for_areas(mode):
    net = PLNet([(np.array([[1.0, 2.0], [-1.0, 1.0]]), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))], ["relu"])
    with pytest.raises(DomainError, match="bounds"):
        slice_complex(net, [0, 0], [1, 0], [0, 1], bounds=(-1e300, 1e300, -1e300, 1e300), mode=mode)
    with pytest.raises(DomainError, match="bounds"):
        slice_complex(net, [0, 0], [1, 0], [0, 1], bounds=(-1e-160, 1e-160, -1e-160, 1e-160), mode=mode)


@pytest.mark.parametrize("mode", ["float", "certified", "exact"])
def test_slice_large_bounds_areas_are_finite(mode):
    # two lines through 0 cut [-B, B]^2 into 4 regions; the total is the box, 4 B^2
    B = 1e150
    net = PLNet([(np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))], ["relu"])
    cx = slice_complex(net, [0, 0], [1, 0], [0, 1], bounds=(-B, B, -B, B), mode=mode)
    assert cx.n_regions == 4
    assert np.all(np.isfinite(cx.measures))
    assert np.allclose(cx.measures, B * B, rtol=1e-12)


def test_box_beyond_float64_range():
    # four planes in general position: 1 + 4 + C(4, 2) + C(4, 3) = 15 regions once the
    # box holds every vertex.  At half-width 1.5e308 the values W x overflow float64:
    # exact mode has no range limit; float mode (which returned 4 regions) and
    # certified mode (a raw OverflowError) refuse with a DomainError
    from polyfold import box_complex, zoo

    net = zoo.arrangement(4, 3, seed=0)
    assert box_complex(net, -1e19, 1e19).n_regions == 15
    assert box_complex(net, -1.5e308, 1.5e308, mode="exact").n_regions == 15
    for mode in ("float", "certified"):
        with pytest.raises(DomainError, match="mode='exact'"):
            box_complex(net, -1.5e308, 1.5e308, mode=mode)


@pytest.mark.parametrize("half_width", [1e21, 1e100, 1e300])
def test_polytope_with_offsets_beyond_highs_infinite_bound(half_width):
    # HiGHS reads bounds beyond 1e20 as infinite: the bounding-box LPs of a box
    # polytope of half-width 1e21 reported "unbounded or empty"; the same box as
    # box_complex and as a polytope gives the same 15 regions
    from polyfold import box_complex, polytope_complex, zoo

    net = zoo.arrangement(4, 3, seed=0)
    A = np.vstack([np.eye(3), -np.eye(3)])
    cx = polytope_complex(net, A, np.full(6, half_width))
    assert cx.n_regions == 15 and cx.n_regions == box_complex(net, -half_width, half_width).n_regions
    with pytest.raises(DomainError, match="beyond float64"):
        polytope_complex(net, A, np.full(6, 1.79e308))
