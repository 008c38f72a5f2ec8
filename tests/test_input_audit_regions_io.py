"""region_of's degenerate domains and counts; parse_input_shape's empty entries."""

import numpy as np
import pytest

from polyfold import PLNet
from polyfold.exceptions import DomainError, ValidationError
from polyfold.io import parse_input_shape
from polyfold.regions import region_of


def net2():
    return PLNet.from_arrays([(np.array([[1.0, 0.0], [0.0, 1.0]]), np.zeros(2)),
                              (np.array([[1.0, 1.0]]), np.zeros(1))])


def test_region_of_refuses_zero_width_domain():
    with pytest.raises(DomainError, match="zero width in coordinate 1"):
        region_of(net2(), [0.5, 0.0], domain=([0.0, 0.0], [1.0, 0.0]))
    # a proper box still works: x = (0.5, 0.5) is in the positive quadrant's region,
    # whose Chebyshev ball inside [0, 1]^2 has radius 1/2
    r = region_of(net2(), [0.5, 0.5], domain=(0.0, 1.0))
    assert np.isclose(r.chebyshev.radius, 0.5)


@pytest.mark.parametrize("max_bytes", [0, -5, 2.5, True])
def test_region_of_refuses_bad_max_bytes(max_bytes):
    with pytest.raises(ValidationError, match="max_bytes"):
        region_of(net2(), [0.5, 0.5], max_bytes=max_bytes)


@pytest.mark.parametrize("shape", ["1,,8", ",8", "8,", [True, 2], "1,8,8,"])
def test_parse_input_shape_refuses_empty_entries_and_bools(shape):
    with pytest.raises(ValidationError, match="input_shape"):
        parse_input_shape(shape)


def test_parse_input_shape_accepts_spaces_and_x():
    assert parse_input_shape(" 1, 8 ,8") == (1, 8, 8)
    assert parse_input_shape("1x8x8") == (1, 8, 8)
