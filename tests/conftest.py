import os

import matplotlib
import pytest

matplotlib.use("Agg")
os.environ.setdefault("POLYFOLD_CACHE", os.path.join(os.path.dirname(__file__), ".cache"))

try:
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "polyfold",
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    settings.load_profile("polyfold")
except ImportError:  # pragma: no cover
    pass


@pytest.fixture(scope="session")
def digits():
    from polyfold.datasets import load_digits_split

    return load_digits_split()


@pytest.fixture
def ends(tmp_path):
    """A labelled 1-input data file: two copies of x = 0 (class 0) and of x = 1 (class 1),
    so every path between the classes is the whole segment [0, 1] in one direction."""
    import numpy as np

    p = tmp_path / "ends.npz"
    np.savez(p, X=np.array([[0.0], [0.0], [1.0], [1.0]]), y=np.array([0, 0, 1, 1]))
    return str(p)
