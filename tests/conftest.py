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
