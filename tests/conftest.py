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


def _clearly_separated(net, S, E):
    """The segments ``S -> E`` whose exact partition float mode can get right without
    its zero band, with their exact result: no degenerate piece, no endpoint on a
    boundary and no two distinct points closer than 1e-9 (float merges those by
    design).  ``None`` if there is none."""
    from fractions import Fraction

    import polyfold

    ex = polyfold.segment_crossings(net, S, E, mode="exact")
    keep = ~ex.degenerate & ~ex.endpoint_on_boundary.any(axis=1)
    for i in range(len(S)):
        pts = [Fraction(0)] + list(ex.breakpoints(i)) + [Fraction(1)]
        keep[i] &= all(b - a > Fraction(1, 10**9) for a, b in zip(pts, pts[1:]))
    if not keep.any():
        return None
    S, E = S[keep], E[keep]
    return S, E, polyfold.segment_crossings(net, S, E, mode="exact")


@pytest.fixture(scope="session")
def clearly_separated():
    """:func:`_clearly_separated` (a session fixture, usable in hypothesis tests)."""
    return _clearly_separated
