"""The ``polyfold interaction`` and ``polyfold regularize`` commands on tiny settings."""

import json

import pytest

from polyfold.cli import main


def run_json(capsys, argv):
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_interaction_json_and_figure(capsys, tmp_path):
    out = run_json(capsys, ["interaction", "--model", "zoo:digits:2x30", "--eps", "0,0.05",
                            "--steps", "2", "--points", "20", "--paths-per-pair", "1",
                            "--json", "--out", str(tmp_path)])
    fams = [(r["family"], r["eps"]) for r in out["rows"]]
    assert fams == [("clean", 0.0), ("clean-adv", 0.0), ("adv-adv", 0.0),
                    ("clean-adv", 0.05), ("adv-adv", 0.05)]
    assert out["clip"] == [0.0, 1.0] and out["n_points"] == 20 and out["n_pairs"] == 90
    assert out["rows"][1]["mean_regions"] == 1.0  # eps = 0: the copies are the points
    assert any(f.endswith("interaction.png") for f in out["files"])
    assert (tmp_path / "interaction.json").exists()


def test_interaction_text(capsys):
    assert main(["interaction", "--model", "zoo:digits:2x30", "--eps", "0.05", "--steps", "2",
                 "--points", "20", "--paths-per-pair", "1", "--attack", "fgsm", "--norm", "2",
                 "--clip", "none"]) == 0
    text = capsys.readouterr().out
    assert "adv-adv" in text and "Wilcoxon" in text


def test_regularize_prints_one_reproducible_row(capsys):
    pytest.importorskip("torch")
    argv = ["regularize", "--arch", "2x8", "--lam", "0.5", "--seed", "2", "--epochs", "1",
            "--paths-per-pair", "2", "--n-points", "4", "--json"]
    a = run_json(capsys, argv)
    b = run_json(capsys, argv)
    for key in ("arch", "lam", "seed", "test_acc", "train_acc", "phi", "pair_max_median"):
        assert key in a and a[key] == b[key]
    assert a["arch"] == "2x8" and a["lam"] == 0.5 and a["seed"] == 2 and a["torch_threads"] == 1


@pytest.mark.parametrize(
    "argv",
    [
        ["interaction", "--eps", "-1"],
        ["interaction", "--eps", "a,b"],
        ["interaction", "--clip", "0"],
        ["regularize", "--lam", "-0.5"],
        ["regularize", "--tau", "0"],
    ],
)
def test_experiment_usage_errors_exit_2(capsys, argv):
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_regularize_bad_architecture_exits_1(capsys):
    pytest.importorskip("torch")
    assert main(["regularize", "--arch", "deep", "--epochs", "1"]) == 1
    assert "6x10" in capsys.readouterr().err
