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


def _float_without_band_matches_exact(net, S, E, backends=(None,)):
    """Float mode with (almost) no zero band gives exact mode's pieces and codes on the
    segments ``S -> E`` it can decide without its band: no degenerate piece, no
    endpoint on a boundary, no two distinct exact points closer than 1e-9 (float
    merges those by design), and every sign decided by certified mode's float64 bounds
    (a value that stays within rounding of 0 along a whole piece, such as
    ``3 * 0.01 * 1.5 - 0.045`` in float weights, is one no float sign can vouch for).
    ``backends``: ``None`` for the default one."""
    from fractions import Fraction

    import numpy as np

    import polyfold

    ex = polyfold.segment_crossings(net, S, E, mode="exact")
    ce = polyfold.segment_crossings(net, S, E, mode="certified")
    keep = ~ex.degenerate & ~ex.endpoint_on_boundary.any(axis=1) & ~ce.exact_segments & ~ce.refined_segments
    for i in range(len(S)):
        pts = [Fraction(0)] + list(ex.breakpoints(i)) + [Fraction(1)]
        keep[i] &= all(b - a > Fraction(1, 10**9) for a, b in zip(pts, pts[1:]))
    if not keep.any():
        return
    S, E = S[keep], E[keep]
    ex = polyfold.segment_crossings(net, S, E, mode="exact")
    for backend in backends:
        kw = {} if backend is None else {"backend": backend}
        fl = polyfold.segment_crossings(net, S, E, mode="float", tol=polyfold.Tolerance(zero=1e-300), **kw)
        np.testing.assert_array_equal(fl.n_pieces, ex.n_pieces)
        np.testing.assert_array_equal(fl.codes, ex.codes)


@pytest.fixture(scope="session")
def float_without_band_matches_exact():
    """:func:`_float_without_band_matches_exact` (a session fixture, usable in
    hypothesis tests)."""
    return _float_without_band_matches_exact
