"""Progress bars: on a terminal only (``progress=None``), always with True, never with
False, never in ``--json`` output or with ``--quiet``."""

import json

import numpy as np
import pytest

import polyfold
from polyfold import _progress
from polyfold.cli import main


@pytest.fixture
def tty(monkeypatch):
    """Pretend that standard error is a terminal."""
    monkeypatch.setattr(_progress, "stderr_is_terminal", lambda: True)


def _segments(m, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((m, 1)), rng.random((m, 1))


def test_progress_keyword_semantics(capsys):
    assert _progress.progress_enabled(True) and not _progress.progress_enabled(False)
    assert not _progress.progress_enabled(None)  # captured stderr is no terminal
    with pytest.raises(polyfold.ValidationError, match="progress must be True, False or None"):
        _progress.progress_enabled("yes")
    net = polyfold.zoo.sawtooth(2)
    S, E = _segments(20)
    polyfold.segment_crossings(net, S, E, progress=True, chunk_size=5)
    assert "segment crossings" in capsys.readouterr().err
    polyfold.segment_crossings(net, S, E, progress=False, chunk_size=5)
    polyfold.segment_crossings(net, S, E, chunk_size=5)
    assert capsys.readouterr().err == ""
    with pytest.raises(polyfold.ValidationError, match="progress"):
        polyfold.segment_crossings(net, S, E, progress=1)


def test_auto_progress_only_for_big_batches_on_a_terminal(capsys, tty, monkeypatch):
    net = polyfold.zoo.sawtooth(2)
    S, E = _segments(30)
    polyfold.segment_crossings(net, S, E, chunk_size=10)  # 30 < 100k: no bar
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(polyfold.crossings, "PROGRESS_SEGMENTS", 25)
    res = polyfold.segment_crossings(net, S, E, chunk_size=10)
    err = capsys.readouterr().err
    assert "segment crossings" in err and "/30" in err
    # the bar changes nothing in the result: the sawtooth T^2 has breakpoints at
    # k/4, so a segment [a, b] crosses floor(4 max) - floor(4 min) + 1 pieces
    lo, hi = np.minimum(S, E)[:, 0], np.maximum(S, E)[:, 0]
    assert res.n_pieces.tolist() == (np.floor(4 * hi) - np.floor(4 * lo) + 1).astype(int).tolist()
    polyfold.segment_crossings_between(net, np.r_[S, E], np.arange(30), np.arange(30, 60),
                                       chunk_size=10)
    assert "segment crossings" in capsys.readouterr().err


def test_cli_bars_on_a_terminal_but_not_with_json_or_quiet(capfd, tty):
    argv = ["crossings", "--model", "zoo:sawtooth:3", "--pairs", "50", "--grid", "11"]
    assert main(argv) == 0
    assert "segment crossings" in capfd.readouterr().err
    for extra in (["--json"], ["--quiet"]):
        assert main(argv + extra) == 0
        out, err = capfd.readouterr()
        assert "segment crossings" not in err and "it/s" not in err and "segment/s" not in err
        if extra == ["--json"]:
            json.loads(out)


def test_demo_sections_show_progress(capfd, tty, tmp_path):
    argv = ["demo", "--quick", "--sections", "cantornet", "--out", str(tmp_path)]
    assert main(argv) == 0
    err = capfd.readouterr().err
    assert "demo:" in err and "1/1" in err and "section" in err
    assert main(argv + ["--quiet"]) == 0
    assert capfd.readouterr().err == ""


def test_statistics_and_sweeps_share_the_convention(capsys):
    net = polyfold.PLNet.from_arrays([(np.eye(2), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))])
    polyfold.region_statistics(net, [[0.3, 0.2]], domain=(0.0, 1.0), progress=True)
    assert "region statistics" in capsys.readouterr().err
    polyfold.region_statistics(net, [[0.3, 0.2]], domain=(0.0, 1.0))
    assert capsys.readouterr().err == ""
    with pytest.raises(polyfold.ValidationError, match="progress"):
        polyfold.region_statistics(net, [[0.3, 0.2]], domain=(0.0, 1.0), progress="no")


def test_box_complex_progress(capsys, tty):
    # a bar of the units done: on a terminal for nets of 64 units and more, always with
    # True, never with False; a bad keyword is an error also on the 2D path
    big = polyfold.zoo.random_mlp([40, 40], 3, seed=0)
    small = polyfold.zoo.random_mlp([4, 4], 3, seed=0)
    lo, hi = -np.ones(3), np.ones(3)
    polyfold.box_complex(big, lo, hi)
    err = capsys.readouterr().err
    assert "complex" in err and "unit" in err
    polyfold.box_complex(small, lo, hi)
    polyfold.box_complex(big, lo, hi, progress=False)
    assert capsys.readouterr().err == ""
    polyfold.space_complex(small, progress=True)
    assert "complex" in capsys.readouterr().err
    with pytest.raises(polyfold.ValidationError, match="progress"):
        polyfold.box_complex(polyfold.zoo.random_mlp([4], 2, seed=0), lo[:2], hi[:2], progress="yes")
