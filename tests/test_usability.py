"""What a new user hits first: poorly trained zoo nets, 1-input slices, unbounded
regions, scripts without a main guard, CLI errors that name CLI flags."""

import ast
import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import polyfold
from polyfold import zoo
from polyfold.cli import main
from polyfold.exceptions import MainGuardError, PolyfoldWarning, UnboundedRadiusError

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------
# zoo.digits_mlp of an architecture that is not shipped
# ---------------------------------------------------------------------------
@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("POLYFOLD_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(zoo, "_DIGITS_CACHE", {})
    return tmp_path / "cache"


def _accuracy(net):
    from polyfold.datasets import load_digits_split

    _, _, X, y = load_digits_split()
    return float(np.mean(net.predict(X) == y))


def test_untrainable_digits_net_warns_with_its_accuracy(fresh_cache):
    # one hidden neuron: every image is mapped to one number before the logits
    with pytest.warns(PolyfoldWarning, match=r"test accuracy 0\.\d+ \(below 0\.5"):
        net, info = zoo.digits_mlp("1x1", return_info=True)
    assert info["source"] == "trained now"
    acc = _accuracy(net)  # recomputed from the net's predictions on the test split
    assert info["test_accuracy"] == pytest.approx(acc)
    assert acc < zoo.MIN_TEST_ACCURACY
    # loaded again (from the cache, another process would see this): warns again
    zoo._DIGITS_CACHE.clear()
    with pytest.warns(PolyfoldWarning):
        _, info = zoo.digits_mlp("1x1", return_info=True)
    assert info["source"] == "cache"


def test_shipped_digits_nets_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", PolyfoldWarning)
        for arch in zoo.DIGITS_ARCHITECTURES:
            net, info = zoo.digits_mlp(arch, return_info=True)
            assert info["source"] == "shipped"
            assert info["test_accuracy"] == pytest.approx(_accuracy(net))
            assert info["test_accuracy"] >= zoo.MIN_TEST_ACCURACY


def test_cli_says_trained_now(fresh_cache, capfd):
    code = main(["crossings", "--model", "zoo:digits:1x1", "--pairs", "4", "--grid", "11",
                 "--json"])
    out, err = capfd.readouterr()
    assert code == 0, err
    res = json.loads(out)
    acc = res["model_training"]["test_accuracy"]
    assert res["model_training"]["source"] == "trained now" and acc < 0.5
    assert f"trained now; test accuracy {acc:.3f}" in err
    assert "warning:" in err and "below 0.5" in err
    code = main(["crossings", "--model", "zoo:digits:1x1", "--pairs", "4", "--quiet"])
    out, err = capfd.readouterr()
    # --quiet drops the status line, not the warning nor the results
    assert "trained now" not in err and "warning:" in err and "regions per segment" in out


# ---------------------------------------------------------------------------
# slices of a 1-input model, unbounded regions
# ---------------------------------------------------------------------------
def test_slice_of_a_one_input_model_names_the_input_dimension(capfd):
    net = zoo.sawtooth(4)
    for call in (lambda: polyfold.slice_through(net, [0.0], [0.5], [1.0]),
                 lambda: polyfold.slice_complex(net, [0.0], [1.0], [0.5], bounds=(0, 1, 0, 1))):
        with pytest.raises(polyfold.ValidationError, match="input_dim=1") as info:
            call()
        assert "collinear" not in str(info.value) and "parallel" not in str(info.value)
    code = main(["slice", "--model", "zoo:sawtooth:4"])
    _, err = capfd.readouterr()
    assert code == 1 and "input_dim=1" in err and "collinear" not in err


def test_unbounded_region_names_region_of_domain():
    assert polyfold.UnboundedRadiusError is polyfold.exceptions.UnboundedRadiusError
    from polyfold import _lp

    assert _lp.UnboundedRadiusError is UnboundedRadiusError
    assert issubclass(UnboundedRadiusError, polyfold.DomainError)
    # one ReLU x > 0 in R^2: the region of (1, 0) is a half-plane
    net = polyfold.PLNet.from_arrays([(np.array([[1.0, 0.0]]), np.zeros(1)),
                                      (np.ones((1, 1)), np.zeros(1))])
    R = polyfold.region_of(net, [1.0, 0.0])
    with pytest.raises(UnboundedRadiusError, match=r"region_of\(net, x, domain="):
        R.chebyshev
    # the named fix: inside [-1, 1]^2 the region is [0, 1] x [-1, 1], radius 1/2
    R = polyfold.region_of(net, [1.0, 0.0], domain=(-1.0, 1.0))
    assert R.chebyshev.radius == pytest.approx(0.5)


# ---------------------------------------------------------------------------
# scripts that start worker processes without `if __name__ == "__main__":`
# ---------------------------------------------------------------------------
SCRIPT = """\
import threading, time
import numpy as np
import polyfold
from polyfold.parallel import class_pair_sweep

net = polyfold.zoo.sawtooth(2)
X = np.array([[0.0], [1.0], [0.2], [0.8]])
y = np.array([0, 1, 0, 1])
{pre}
{call}
"""
CALL = ("res = class_pair_sweep(net, X, y, paths_per_pair=4, executor={executor!r}, "
        "workers=1, progress=False, chunk_size=2)\nprint('n_paths', res.n_paths)")


def _run_script(tmp_path, executor, guarded, pre=""):
    call = CALL.format(executor=executor)
    if guarded:
        call = "if __name__ == '__main__':\n" + textwrap.indent(call, "    ")
    path = tmp_path / "sweep_script.py"
    path.write_text(SCRIPT.format(pre=pre, call=call))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, str(path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_unguarded_dask_script_raises_one_clear_error(tmp_path):
    pytest.importorskip("distributed")
    proc = _run_script(tmp_path, "dask", guarded=False)
    assert proc.returncode == 1
    assert proc.stderr.count("Traceback") == 1, proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("polyfold.exceptions.MainGuardError")
    assert "sweep_script.py' (line 10)" in last and 'if __name__ == "__main__":' in last
    assert "Nanny" not in proc.stderr and proc.stdout == ""


def test_unguarded_spawned_pool_raises_one_clear_error(tmp_path):
    # a running thread makes polyfold spawn (not fork) its pool workers
    pre = "t = threading.Thread(target=time.sleep, args=(3,), daemon=True); t.start()"
    proc = _run_script(tmp_path, "processes", guarded=False, pre=pre)
    assert proc.returncode == 1 and proc.stderr.count("Traceback") == 1, proc.stderr
    assert "MainGuardError" in proc.stderr and "spawn" in proc.stderr


def test_guarded_script_runs(tmp_path):
    pre = "t = threading.Thread(target=time.sleep, args=(3,), daemon=True); t.start()"
    proc = _run_script(tmp_path, "processes", guarded=True, pre=pre)
    assert proc.returncode == 0, proc.stderr
    # 2 ordered class pairs x 4 paths
    assert proc.stdout.strip() == "n_paths 8"


def test_fork_is_never_refused_and_guard_detection():
    from polyfold.parallel._guard import _guarded, check_main_guard

    check_main_guard("x", "fork")  # nothing is re-imported with fork
    src = textwrap.dedent("""\
        import x
        run()
        if __name__ == "__main__":
            a = 1
            run()
        if "__main__" == __name__:
            run()
        if __name__ != "__main__":
            run()
        """)
    tree = ast.parse(src)
    assert [ln for ln in range(1, 10) if _guarded(tree, ln)] == [4, 5, 7]
    assert issubclass(MainGuardError, polyfold.PolyfoldError)


# ---------------------------------------------------------------------------
# CLI errors name the command's flags, not Python keyword arguments
# ---------------------------------------------------------------------------
PY_KWARG = ("same_class=", "resume=", "scheduler=", "executor=", "domain=", "method=",
            "radius=", "input_shape", "max_dim=", "margin=", "paths_per_pair")


def _error(capfd, argv):
    code = main(argv)
    out, err = capfd.readouterr()
    lines = [ln for ln in err.splitlines() if "error:" in ln]  # status lines aside
    assert code == 1 and len(lines) == 1, err
    assert not any(k in lines[0] for k in PY_KWARG), lines[0]
    return lines[0]


@pytest.mark.parametrize("extra", [[], ["--executor", "serial"]])
def test_same_class_error_names_the_flag(capfd, ends, extra):
    fold = ["fold", "--model", "zoo:sawtooth:3", "--data", ends, "--paths-per-pair", "2"]
    assert "--same-class" in _error(capfd, fold + ["--pairs", "0:0"] + extra)
    assert "--pairs lists (0, 1) twice" in _error(capfd, fold + ["--pairs", "0:1,0:1"] + extra)
    # the flag exists and does what it says: pairs (0, 0) and (1, 1) join the 2 others
    code = main(fold + ["--same-class", "--json"] + extra)
    out, _ = capfd.readouterr()
    res = json.loads(out)
    assert code == 0 and res["n_pairs"] == 4 and res["n_paths"] == 8
    # a path inside class 0 joins two copies of x = 0: one region, chi = 0
    assert res["pair_max"][0][0] == 0.0


def test_resume_error_names_the_flag(capfd, ends, tmp_path):
    fold = ["fold", "--model", "zoo:sawtooth:3", "--data", ends, "--checkpoint",
            str(tmp_path / "ck"), "--quiet"]
    assert main(fold + ["--paths-per-pair", "2"]) == 0
    capfd.readouterr()
    assert "--no-resume" in _error(capfd, fold + ["--paths-per-pair", "3"])
    assert main(fold + ["--paths-per-pair", "3", "--no-resume", "--json"]) == 0
    assert json.loads(capfd.readouterr()[0])["n_paths"] == 6
    assert "--checkpoint DIR" in _error(capfd, fold[:5] + ["--no-resume"])


def test_scheduler_errors_name_the_flags(capfd, ends):
    pytest.importorskip("distributed")
    fold = ["fold", "--model", "zoo:sawtooth:3", "--data", ends]
    msg = _error(capfd, fold + ["--executor", "dask", "--scheduler", "42"])
    assert "--scheduler '42'" in msg and "drop --scheduler" in msg
    msg = _error(capfd, fold + ["--executor", "processes", "--scheduler", "tcp://x:1"])
    assert "--executor dask" in msg and "drop --scheduler" in msg


def test_stats_and_bias_errors_name_the_flags(capfd):
    msg = _error(capfd, ["stats", "--model", "zoo:arrangement:3:2", "--data", "uniform:5",
                         "--points", "2", "--no-domain"])
    assert "--domain LO,HI" in msg
    # (a negative --radius is a usage error of the parser: exit 2, naming the flag)
    assert main(["bias", "--model", "zoo:arrangement:6:2", "--data", "uniform:5", "--radius", "-1"]) == 2
    assert "--radius" in capfd.readouterr().err
    msg = _error(capfd, ["bias", "--model", "zoo:random:9:1x20", "--data", "uniform:5",
                         "--method", "polytope"])
    assert "--method sampling" in msg
    msg = _error(capfd, ["crossings", "--model", "zoo:sawtooth:3", "--input-shape", "1,2"])
    assert "--input-shape (1, 2)" in msg


def test_cli_message_table():
    from polyfold.cli.app import cli_message

    assert cli_message("pass executor='serial'.") == "pass --executor serial."
    assert cli_message("or scheduler=None for a local cluster.") == \
        "or drop --scheduler for a local cluster."
    assert cli_message("nothing to change") == "nothing to change"


# ---- bad or edge-case arguments found by fuzzing: clear errors, no raw exceptions
def test_maximal_bias_names_alpha_and_bias_it_does_not_take():
    from polyfold.injectivity import maximal_bias

    W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    for kw in ({"alpha": 0}, {"bias": 0}):
        with pytest.raises(polyfold.ValidationError, match=f"{next(iter(kw))}=.*check_injectivity"):
            maximal_bias(W, **kw)
    with pytest.raises(polyfold.ValidationError, match="radiuss="):
        maximal_bias(W, radiuss=2.0)


def test_bias_margin_of_no_points_is_an_error_not_nan():
    from polyfold.injectivity import bias_margin

    W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    with pytest.raises(polyfold.ValidationError, match="points is empty"):
        bias_margin(W, np.zeros((0, 2)), alpha=0)


def test_grids_beyond_memory_name_n_points():
    from polyfold.sampling import grid_patterns

    net = polyfold.zoo.sawtooth(2)
    with pytest.raises(polyfold.ValidationError, match="n_points=1000000000000 needs about"):
        polyfold.sampled_folding(net, [0.0], [1.0], n_points=10**12)
    with pytest.raises(polyfold.ValidationError, match="n_points=1000000000000 needs about"):
        grid_patterns(net, [0.0], [1.0], 10**12)


def test_zoo_cantornet_takes_output_relu():
    # the documented alternative to units="hidden+output": one more hidden unit, the
    # output's ReLU, and the same walk
    from fractions import Fraction

    for rep in "ABC":
        plain = polyfold.zoo.cantornet(1, rep)
        net = polyfold.zoo.cantornet(1, rep, output_relu=True)
        assert net.n_hidden == plain.n_hidden + 1
        a = polyfold.space_folding(net, [0.0, 0.75], [1.0, 0.75], mode="exact")
        b = polyfold.space_folding(plain, [0.0, 0.75], [1.0, 0.75], mode="exact",
                                     units="hidden+output")
        assert Fraction(a.chi) == Fraction(b.chi)
    with pytest.raises(polyfold.ValidationError, match="output_relu"):
        polyfold.zoo.cantornet(1, "A", output_relu="yes")


def test_points_domain_with_a_zero_row_below_threshold():
    # W = [[0]], alpha = 3: the row is never active, so every point maps to 0 and the
    # layer is not injective (hand derivation); the zero row once gave an infinite
    # step (OverflowError) and a divide-by-zero warning
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        v = polyfold.check_injectivity(np.array([[0.0]]), alpha=[3.0], domain=np.array([[0.5]]))
        assert not v.is_injective and v.collision_verified
        W = np.array([[-3.0], [0.0], [-1.0]])
        v = polyfold.check_injectivity(W, alpha=np.array([0.0, 2.0, 1.0]),
                                       domain=np.array([[0.5], [1.0], [-0.25]]))
    # x = 0.5: rows z = (-1.5, -2, -1.5), none active (not injective there); x = 1:
    # (-3, -2, -2), none; x = -0.25: (0.75, -2, -0.75), row 0 active, rank 1 = n
    assert v.failing.tolist() == [True, True, False]
