"""What every ``polyfold`` subcommand promises, checked on every subcommand.

* ``--json`` prints exactly one JSON document on standard output (nothing else on file
  descriptor 1: no solver banner, no status line), also with ``--quiet``;
* ``--quiet`` drops only status lines and progress bars (standard error), never the
  results (standard output);
* status lines go to standard error, results to standard output.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from polyfold.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def _commands(tmp_path, data):
    """Small, fast settings of every subcommand."""
    return {
        "crossings": ["crossings", "--model", "zoo:sawtooth:3", "--pairs", "5", "--grid", "11"],
        "fold": ["fold", "--model", "zoo:sawtooth:3", "--data", data, "--paths-per-pair", "2"],
        "slice": ["slice", "--model", "zoo:arrangement:5:2", "--data", "uniform:20"],
        "bias": ["bias", "--model", "zoo:arrangement:6:2", "--data", "uniform:20",
                 "--points", "10"],
        "stats": ["stats", "--points", "2"],
        "bench": ["bench", "--model", "zoo:sawtooth:3", "--data", data, "--pairs", "10",
                  "--exact-pairs", "2", "--grid", "11", "--repeat", "1"],
        "demo": ["demo", "--quick", "--sections", "cantornet", "--out", str(tmp_path / "demo")],
        "interaction": ["interaction", "--model", "zoo:digits:2x30", "--points", "20",
                        "--paths-per-pair", "1", "--eps", "0.05", "--steps", "3"],
        "regularize": ["regularize", "--arch", "2x30", "--epochs", "1", "--paths-per-pair", "1"],
    }


def test_every_subcommand_is_covered(tmp_path):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    assert set(sub.choices) == set(_commands(tmp_path, "x"))


def _run(capfd, argv):
    code = main(argv)
    out, err = capfd.readouterr()  # file descriptors 1 and 2: C-level output too
    return code, out, err


@pytest.mark.parametrize("name", ["crossings", "fold", "slice", "bias", "stats", "bench", "demo",
                                  "interaction", "regularize"])
def test_json_quiet_and_text(name, capfd, tmp_path, ends):
    if name == "regularize":
        pytest.importorskip("torch")
    argv = _commands(tmp_path, ends)[name]
    for extra in (["--json"], ["--json", "--quiet"]):
        code, out, err = _run(capfd, argv + extra)
        assert code == 0, err
        doc = json.loads(out)  # the whole of stdout is one JSON document
        assert isinstance(doc, dict) and doc
        if "--quiet" in extra:
            assert err == "", err
    code, out, err = _run(capfd, argv)
    assert code == 0, err
    normal = out.splitlines()
    assert normal, f"{name} printed no results"
    code, out, err = _run(capfd, argv + ["--quiet"])
    assert code == 0, err
    quiet = out.splitlines()
    # the same result lines (numbers such as timings may differ), no status lines
    assert len(quiet) == len(normal) and quiet[0].split()[:2] == normal[0].split()[:2]
    assert err == "", err


def test_status_lines_go_to_stderr(capfd):
    code, out, err = _run(capfd, ["crossings", "--model", "zoo:sawtooth:2", "--pairs", "3",
                                  "--grid", "11"])
    assert code == 0
    assert "segments between points" in err and "segments between points" not in out
    assert "regions per segment" in out


def test_stats_json_in_a_fresh_process(tmp_path):
    # the command: a new process, where the LP solver is created for the first time
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-m", "polyfold", "stats", "--points", "2", "--json",
                           "--quiet"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["command"] == "stats" and doc["points"] == 2
    assert "HiGHS" not in proc.stdout + proc.stderr


def test_first_lp_solver_prints_nothing(tmp_path):
    code = ("from polyfold import _lp\n"
            "h = _lp.silent_highs()\n"
            "import numpy as np, polyfold\n"
            "print(round(polyfold.insphere(np.eye(2), np.zeros(2), domain=(0, 1)).radius, 6))\n")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "0.5\n" and proc.stderr == ""


def test_onnx_cnn_with_input_shape(capfd, tmp_path):
    onnx = pytest.importorskip("onnx")
    h, TP = onnx.helper, onnx.TensorProto
    rng = np.random.default_rng(0)
    inits = {"K": rng.normal(size=(2, 1, 2, 2)), "kb": rng.normal(size=2),
             "W": rng.normal(size=(3, 8)), "b": rng.normal(size=3)}
    nodes = [h.make_node("Conv", ["x", "K", "kb"], ["c"]),
             h.make_node("Relu", ["c"], ["r"]),
             h.make_node("Flatten", ["r"], ["f"]),
             h.make_node("Gemm", ["f", "W", "b"], ["y"], transB=1)]
    graph = h.make_graph(
        nodes, "cnn", [h.make_tensor_value_info("x", TP.DOUBLE, [None, 1, 3, 3])],
        [h.make_tensor_value_info("y", TP.DOUBLE, [None, 3])],
        initializer=[onnx.numpy_helper.from_array(v, name=k) for k, v in inits.items()])
    path = tmp_path / "cnn.onnx"
    onnx.save(h.make_model(graph, opset_imports=[h.make_opsetid("", 17)]), str(path))
    code, out, err = _run(capfd, ["crossings", "--model", str(path), "--input-shape", "1,3,3",
                                  "--data", "uniform:10", "--pairs", "6", "--grid", "none",
                                  "--json"])
    assert code == 0, err
    res = json.loads(out)
    assert res["input_shape"] == [1, 3, 3] and res["input_dim"] == 9 and res["n_segments"] == 6
    # 8 ReLUs on affine inputs, each crossed at most once along a segment: at most 8
    # breakpoints, 9 pieces
    assert 1 <= res["n_pieces_max"] <= 9 and res["network"] == "graph"
    code, out, err = _run(capfd, ["crossings", "--model", str(path), "--input-shape", "2,3,3",
                                  "--pairs", "2"])
    assert code == 1 and err.count("error:") == 1  # the shape reaches the converter
