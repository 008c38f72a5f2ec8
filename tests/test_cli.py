"""The ``polyfold`` command, run in-process through ``main([...])``."""

import json

import numpy as np
import pytest

from polyfold.cli import load_data, load_model, main


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err):
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    return lines[0]


# ---------------------------------------------------------------------------
# crossings
# ---------------------------------------------------------------------------
def test_crossings_json_on_sawtooth_endpoints(capsys, tmp_path):
    # two points 0 and 1: both segments (0 -> 1 and 1 -> 0) cross all 2**L pieces
    data = tmp_path / "pts.npy"
    np.save(data, np.array([[0.0], [1.0]]))
    code, out, err = run(capsys, "crossings", "--model", "zoo:sawtooth:4", "--data", str(data),
                         "--pairs", "6", "--grid", "11,1000", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["command"] == "crossings"
    assert res["n_segments"] == 6
    assert res["n_pieces_mean"] == 16 and res["n_pieces_max"] == 16
    assert res["n_pieces_total"] == 96
    assert [s["n_points"] for s in res["sampling"]] == [11, 1000]
    g11, g1000 = res["sampling"]
    # 11 points cannot see 16 pieces; 1000 points (spacing 1e-3 < 1/16) see all of them
    assert g11["regions_found"] <= 6 * 11 and g11["fraction_missed"] > 0
    assert g1000["fraction_missed"] == 0.0
    assert res["labels"] == "predicted"


@pytest.mark.parametrize("mode", ["float", "certified", "exact"])
def test_crossings_modes_agree_on_counts(capsys, mode):
    code, out, err = run(capsys, "crossings", "--model", "zoo:arrangement:6:2", "--pairs", "20",
                         "--data", "uniform:30", "--grid", "none", "--mode", mode, "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["mode"] == mode and res["sampling"] == []
    # a segment crosses each of the 6 lines at most once: between 1 and 7 pieces
    assert 1 <= res["n_pieces_mean"] <= 7 and res["n_pieces_max"] <= 7


def test_crossings_writes_files(capsys, tmp_path):
    out_dir = tmp_path / "o"
    code, out, err = run(capsys, "crossings", "--model", "zoo:digits:2x30", "--pairs", "30",
                         "--grid", "11,100", "--out", str(out_dir), "--quiet")
    assert code == 0, err
    assert err == "" and "regions per segment" in out  # --quiet: results, no status line
    res = json.loads((out_dir / "crossings.json").read_text())
    assert res["data"] == "digits" and res["labels"] == "given"
    for name in ("crossings.npz", "crossings_vs_sampling.png", "crossings_vs_sampling.pdf"):
        assert (out_dir / name).stat().st_size > 0
    with np.load(out_dir / "crossings.npz") as d:
        assert d["n_pieces"].sum() == res["n_pieces_total"]
        assert np.all(d["i_start"] != d["i_end"])


def test_crossings_text_output(capsys):
    code, out, err = run(capsys, "crossings", "--model", "zoo:sawtooth:2", "--pairs", "3",
                         "--grid", "11")
    assert code == 0, err
    assert "regions per segment" in out and "grid" in out


# ---------------------------------------------------------------------------
# fold, slice, bias, stats, bench
# ---------------------------------------------------------------------------
def _chi_by_hand(walk):
    """chi = 1 - r1 / r2 of a walk of 0/1 rows (TMLR Eq. 4), consecutive repeats removed."""
    rows = [tuple(r) for r in np.asarray(walk, dtype=int)]
    dedup = [r for k, r in enumerate(rows) if k == 0 or r != rows[k - 1]]
    d = lambda a, b: sum(x != y for x, y in zip(a, b))  # noqa: E731
    r1 = max(d(dedup[0], r) for r in dedup)
    r2 = sum(d(a, b) for a, b in zip(dedup, dedup[1:]))
    return 0.0 if r2 == 0 else 1 - r1 / r2


@pytest.fixture
def sawtooth_data(tmp_path):
    # two classes: two copies of x = 0 (class 0) and of x = 1 (class 1); every path
    # between the classes is the whole segment [0, 1] in one direction
    p = tmp_path / "ends.npz"
    np.savez(p, X=np.array([[0.0], [0.0], [1.0], [1.0]]), y=np.array([0, 0, 1, 1]))
    return p


@pytest.mark.parametrize("extra", [[], ["--executor", "serial"], ["--workers", "2"]])
def test_fold_matches_hand_walk(capsys, sawtooth_data, extra):
    import polyfold

    net = polyfold.zoo.sawtooth(3)
    # the 8 pieces of T^3 are [k/8, (k+1)/8]: patterns at their midpoints, by forward passes
    walk = net.patterns((np.arange(8)[:, None] + 0.5) / 8)
    forward, backward = _chi_by_hand(walk), _chi_by_hand(walk[::-1])
    code, out, err = run(capsys, "fold", "--model", "zoo:sawtooth:3", "--data", str(sawtooth_data),
                         "--paths-per-pair", "3", "--json", *extra)
    if code != 0 and "parallel" in err and extra:
        pytest.skip("polyfold.parallel not available")
    assert code == 0, err
    res = json.loads(out)
    assert res["labels"] == [0, 1] and res["n_pairs"] == 2 and res["n_paths"] == 6
    assert res["pair_max"][0][0] is None and res["pair_max"][1][1] is None
    assert res["pair_max"][0][1] == pytest.approx(forward)
    assert res["pair_max"][1][0] == pytest.approx(backward)
    assert res["pair_max_median"] == pytest.approx((forward + backward) / 2)


def test_fold_checkpoint_resumes(capsys, tmp_path, sawtooth_data):
    pytest.importorskip("polyfold.parallel")
    argv = ["fold", "--model", "zoo:sawtooth:3", "--data", str(sawtooth_data),
            "--paths-per-pair", "4", "--checkpoint", str(tmp_path / "ck"), "--executor",
            "serial", "--json"]
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    first = json.loads(out)
    assert first["n_chunks_resumed"] == 0 and first["n_chunks"] >= 2
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    second = json.loads(out)
    assert second["n_chunks_resumed"] == first["n_chunks"]
    assert second["pair_max"] == first["pair_max"]


@pytest.mark.slow
def test_fold_on_embedded_dask_cluster(capsys):
    pytest.importorskip("distributed")
    code, out, err = run(capsys, "fold", "--model", "zoo:digits:2x30", "--paths-per-pair", "5",
                         "--executor", "dask", "--workers", "2", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["executor"] == "dask" and res["n_paths"] == 450 and res["complete"] is True


def test_fold_writes_heatmap(capsys, tmp_path):
    code, out, err = run(capsys, "fold", "--model", "zoo:digits:2x30", "--paths-per-pair", "2",
                         "--pairs", "0:1,1:0,3:8", "--out", str(tmp_path), "--quiet")
    assert code == 0, err
    res = json.loads((tmp_path / "fold.json").read_text())
    assert res["n_pairs"] == 3 and res["n_paths"] == 6
    assert (tmp_path / "fold_heatmap.png").stat().st_size > 1000
    assert (tmp_path / "fold_heatmap.pdf").exists()


@pytest.fixture
def triangle_net(tmp_path):
    # hidden lines x = 0, y = 0, x + y = 1 (spec: the triangle region of (1/4, 1/4))
    import polyfold

    net = polyfold.PLNet.from_arrays([
        (np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([0.0, 0.0, -1.0])),
        (np.array([[1.0, -1.0, 1.0], [0.5, 1.0, -1.0]]), np.array([0.0, 0.1])),
    ])
    p = tmp_path / "triangle.npz"
    net.save(p)
    return p


def test_slice_input_plane_counts(capsys, tmp_path, triangle_net):
    # three lines in general position, all three crossings inside the box:
    # 1 + 3 + 3 = 7 regions; each line is cut into 3 edges by the other two: 9 adjacencies
    code, out, err = run(capsys, "slice", "--model", str(triangle_net), "--data", "uniform:10",
                         "--bounds=-2,2,-2,2", "--out", str(tmp_path / "o"), "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["n_regions"] == 7 and res["n_edges"] == 9
    assert res["plane"]["kind"] == "input plane"
    for name in ("slice.png", "slice.pdf", "slice_graph.graphml", "slice.json"):
        assert (tmp_path / "o" / name).stat().st_size > 0


def test_slice_through_three_digits(capsys):
    code, out, err = run(capsys, "slice", "--model", "zoo:digits:2x30", "--points", "0,1,2",
                         "--margin", "0", "--json")
    assert code == 0, err
    res = json.loads(out)
    assert res["plane"]["indices"] == [0, 1, 2]
    # a 2x30 net cuts the unit square by at least its first-layer lines: more than one region,
    # and a connected planar region graph has at least n_regions - 1 edges
    assert res["n_regions"] > 1 and res["n_edges"] >= res["n_regions"] - 1
    assert sum(res["regions_per_class"].values()) == res["n_regions"]


def test_slice_bad_arguments(capsys):
    code, _, err = run(capsys, "slice", "--model", "zoo:digits:2x30", "--points", "0,1,99999")
    assert code == 1 and "out of range" in one_error_line(err)
    code, _, err = run(capsys, "slice", "--model", "zoo:digits:2x30", "--points", "0,0,1")
    assert code == 1 and "three different" in one_error_line(err)
    code, _, err = run(capsys, "slice", "--model", "zoo:digits:2x30", "--bounds", "0,1,0,1")
    assert code == 1 and "input_dim=2" in one_error_line(err)
    code, _, err = run(capsys, "slice", "--points", "0,1")
    assert code == 2
    code, _, err = run(capsys, "slice", "--model", "zoo:arrangement:3:2", "--data",
                       "uniform:5", "--points", "0,1,2", "--margin", "-1")
    assert code == 2 and "--margin" in err  # a usage error of the parser


def test_slice_collinear_points(capsys, tmp_path):
    p = tmp_path / "line.npy"
    np.save(p, np.array([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [2.0, 2.0, 2.0]]))
    code, _, err = run(capsys, "slice", "--model", "zoo:random:3:2x4", "--data", str(p),
                       "--points", "0,1,2")
    assert code == 1 and "collinear" in one_error_line(err)


def test_bias_hexagon(capsys, tmp_path):
    # regular hexagon of unit rows: alpha_hat_i = cos(2 pi / 6) = 1/2 on the unit sphere (spec)
    import polyfold

    ang = np.arange(6) * np.pi / 3
    W = np.column_stack([np.cos(ang), np.sin(ang)])
    net = polyfold.PLNet.from_arrays([(W, np.zeros(6)), (np.ones((1, 6)), np.zeros(1))])
    p = tmp_path / "hex.npz"
    net.save(p)
    code, out, err = run(capsys, "bias", "--model", str(p), "--data", "uniform:40", "--json",
                         "--out", str(tmp_path / "o"))
    assert code == 0, err
    res = json.loads(out)
    mb = res["maximal_bias"]
    assert mb["method"] == "polytope" and mb["is_certificate"] is True
    assert np.allclose(mb["alpha_hat"], 0.5, atol=1e-9)
    # zero bias: every x != 0 has >= 2 non-parallel active rows, so the layer is injective
    assert res["injective_on_points"] is True and res["failing_points"] == 0
    assert mb["own_bias_below_certificate"] is True
    assert (tmp_path / "o" / "maximal_bias.png").exists()


def test_bias_rank_deficient_layer(capsys):
    code, out, err = run(capsys, "bias", "--model", "zoo:digits:6x10", "--points", "20", "--json")
    assert code == 0, err
    res = json.loads(out)
    # 10 rows in R^64 never span: not injective anywhere, and no bias can fix it
    assert res["rank"] <= 10 and res["injective_on_points"] is False
    assert res["failing_points"] == 20 and "error" in res["maximal_bias"]
    code, _, err = run(capsys, "bias", "--model", "zoo:digits:6x10", "--layer", "6")
    assert code == 1 and "--layer" in one_error_line(err)


def test_stats_triangle_insphere(capsys, tmp_path, triangle_net):
    data = tmp_path / "pts.npy"
    np.save(data, np.array([[0.25, 0.25], [0.25, 0.25]]))
    code, out, err = run(capsys, "stats", "--model", str(triangle_net), "--data", str(data),
                         "--points", "2", "--domain=-2,2", "--json", "--out", str(tmp_path / "o"))
    assert code == 0, err
    res = json.loads(out)
    # the region of (1/4, 1/4) is the triangle x, y >= 0, x + y <= 1: r = (2 - sqrt 2) / 2
    assert res["radius_median"] == pytest.approx((2 - np.sqrt(2)) / 2, abs=1e-7)
    assert res["n_facets_mean"] == 3
    assert (tmp_path / "o" / "region_statistics.pdf").exists()


def test_bench_sawtooth(capsys, sawtooth_data):
    code, out, err = run(capsys, "bench", "--model", "zoo:sawtooth:4", "--data", str(sawtooth_data),
                         "--pairs", "20", "--exact-pairs", "4", "--grid", "11,1000", "--json")
    assert code == 0, err
    res = json.loads(out)
    rows = {r["method"]: r for r in res["rows"]}
    assert set(rows) == {"float", "certified", "exact", "grid11", "grid1000"}
    # random pairs of the 4 points: 0 -> 1 and 1 -> 0 segments have 16 pieces, 0 -> 0 one
    for m in ("float", "certified", "exact"):
        assert rows[m]["same_as_certified"] == 1.0 and rows[m]["fraction_missed"] == 0.0
    assert rows["exact"]["paths"] == 4
    assert rows["grid11"]["fraction_missed"] > 0 and rows["grid1000"]["fraction_missed"] == 0
    assert rows["grid1000"]["speedup_vs_grid"] == 1.0
    assert res["reference_grid"] == "grid1000"


# ---------------------------------------------------------------------------
# model and data loading
# ---------------------------------------------------------------------------
def test_load_model_npz_roundtrip(tmp_path):
    import polyfold

    net = polyfold.zoo.random_mlp((3, 4), 2, seed=1)
    net.save(tmp_path / "m.npz")
    assert load_model(str(tmp_path / "m.npz")) == net


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_load_model_sklearn_pickle(tmp_path, capsys):
    import pickle

    from sklearn.neural_network import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.random((40, 2))
    y = (X[:, 0] > X[:, 1]).astype(int)
    clf = MLPClassifier((5,), max_iter=50, random_state=0).fit(X, y)
    p = tmp_path / "clf.pkl"
    p.write_bytes(pickle.dumps(clf))
    net = load_model(str(p))
    assert net.widths == (5,)
    # logits of the converted net reproduce scikit-learn's decisions
    assert np.array_equal(net.forward(X).ravel() > 0, clf.predict(X) == 1)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    code, out, err = run(capsys, "crossings", "--model", str(p), "--data", str(tmp_path / "d.npz"),
                         "--pairs", "10", "--grid", "none", "--json")
    assert code == 0, err
    assert json.loads(out)["labels"] == "given"


def test_load_model_torch(tmp_path):
    torch = pytest.importorskip("torch")
    model = torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    p = tmp_path / "m.pt"
    torch.save(model, p)
    net = load_model(str(p))
    x = torch.tensor([[0.3, -0.2], [1.0, 2.0]], dtype=torch.float64)
    expect = model.double()(x).detach().numpy()
    assert np.allclose(net.forward(x.numpy()), expect)


def test_load_data_csv_with_label_column(tmp_path):
    import polyfold

    p = tmp_path / "d.csv"
    p.write_text("0.1,0.2,0\n0.3,0.4,1\n0.5,0.6,1\n")
    X, y, info = load_data(str(p), polyfold.zoo.arrangement(3, 2))
    assert X.shape == (3, 2) and y.tolist() == [0, 1, 1] and info["labels"] == "given"


# ---------------------------------------------------------------------------
# errors: one clear line, non-zero exit
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("argv, needle", [
    (["crossings", "--model", "missing.npz"], "does not exist"),
    (["crossings", "--model", "zoo:nonsense"], "not a known zoo network"),
    (["crossings", "--model", "zoo:sawtooth:x"], "must be integers"),
    (["crossings", "--model", "zoo:sawtooth:3", "--data", "digits"], "input_dim=1"),
    (["crossings", "--model", "zoo:sawtooth:3", "--data", "uniform:1"], "N >= 2"),
    (["crossings", "--model", "zoo:sawtooth:3", "--data", "nowhere"], "neither a file"),
])
def test_library_errors_exit_1(capsys, argv, needle):
    code, out, err = run(capsys, *argv)
    assert code == 1
    line = one_error_line(err)
    assert line.startswith("polyfold crossings: error:") and needle in line


def test_bad_model_files(capsys, tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file")
    code, _, err = run(capsys, "crossings", "--model", str(junk))
    assert code == 1 and "not a .npz archive" in one_error_line(err)
    txt = tmp_path / "model.txt"
    txt.write_text("hello")
    code, _, err = run(capsys, "crossings", "--model", str(txt))
    assert code == 1 and "unsupported suffix" in one_error_line(err)
    pkl = tmp_path / "list.pkl"
    import pickle

    pkl.write_bytes(pickle.dumps([1, 2, 3]))
    code, _, err = run(capsys, "crossings", "--model", str(pkl))
    assert code == 1 and "not a network" in one_error_line(err)
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"\x00garbage")
    code, _, err = run(capsys, "crossings", "--model", str(bad))
    assert code == 1 and "could not unpickle" in one_error_line(err)


def test_bad_data_files(capsys, tmp_path):
    p = tmp_path / "d.npy"
    np.save(p, np.zeros((5, 3)))
    code, _, err = run(capsys, "crossings", "--model", "zoo:arrangement:4:2", "--data", str(p))
    assert code == 1 and "3 columns" in one_error_line(err)
    p = tmp_path / "nan.npy"
    np.save(p, np.array([[0.0, np.nan], [1.0, 1.0]]))
    code, _, err = run(capsys, "crossings", "--model", "zoo:arrangement:4:2", "--data", str(p))
    assert code == 1 and "NaN" in one_error_line(err)
    p = tmp_path / "d.csv"
    p.write_text("a,b\n1,2\n")
    code, _, err = run(capsys, "crossings", "--model", "zoo:arrangement:4:2", "--data", str(p))
    assert code == 1 and "numeric CSV" in one_error_line(err)


@pytest.mark.parametrize("argv", [
    ["nosuchcommand"],
    ["crossings", "--pairs", "0"],
    ["crossings", "--pairs", "many"],
    ["crossings", "--grid", "1"],
    ["crossings", "--mode", "fast"],
    ["crossings", "--seed", "-1"],
    ["demo", "--no-such-option"],
])
def test_usage_errors_exit_2(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert "error:" in one_error_line(err)


def test_no_command_and_help(capsys):
    code, _, err = run(capsys)
    assert code == 2 and "command is required" in err
    code, out, _ = run(capsys, "--help")
    assert code == 0 and "crossings" in out
    code, out, _ = run(capsys, "--version")
    assert code == 0 and "polyfold" in out


def test_cli_import_is_light():
    import subprocess
    import sys

    code = ("import sys, polyfold.cli; "
            "print(sorted(m for m in ('numpy', 'matplotlib', 'scipy', 'sklearn', 'torch') "
            "if m in sys.modules))")
    from pathlib import Path

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0 and proc.stdout.strip() == "[]", proc.stdout + proc.stderr


def test_python_dash_m(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    proc = subprocess.run([sys.executable, "-m", "polyfold", "crossings", "--model",
                           "zoo:sawtooth:3", "--pairs", "2", "--grid", "none", "--json"],
                          cwd=root, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["n_segments"] == 2


# ---------------------------------------------------------------------------
# demo (reduced setting, end to end)
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    code = main(["demo", "--quick", "--out", str(out), "--quiet"])
    return code, out


def test_demo_end_to_end(demo_run):
    code, out = demo_run
    assert code == 0
    res = json.loads((out / "results.json").read_text())
    report = (out / "report.md").read_text()
    assert res["settings"]["quick"] is True
    cr = res["sections"]["crossings"]
    assert cr["status"] == "ok"
    nets = cr["summary"]["networks"]
    assert [n["arch"] for n in nets] == ["2x30", "6x10"]
    for n in nets:
        e = n["exact"]
        assert e["regions"] >= n["exact"]["regions_per_path"] >= 1
        found = [s["regions_found"] for s in n["sampling"]]
        # a grid sees a subsequence of the exact walk: never more regions, more with more points
        assert all(f <= e["regions"] for f in found)
        assert found == sorted(found)
    for key, sec in res["sections"].items():
        assert sec["status"] in ("ok", "skipped"), (key, sec["reason"])
        assert sec["title"] in report
        for f in sec["figures"]:
            assert (out / f).stat().st_size > 1000
    assert (out / "figures" / "crossings_vs_sampling.pdf").exists()
    assert "crossings_vs_sampling.png" in report


def test_demo_bad_section(capsys, tmp_path):
    code, _, err = run(capsys, "demo", "--quick", "--out", str(tmp_path), "--sections", "nope",
                       "--quiet")
    assert code == 1 and "unknown demo section" in one_error_line(err)


def test_stats_jobs_gives_the_same_statistics(capsys):
    args = ("stats", "--model", "zoo:digits:6x10", "--points", "6", "--json")
    code, out1, err = run(capsys, *args)
    assert code == 0, err
    code, out2, err = run(capsys, *args, "--jobs", "2")
    assert code == 0, err
    a, b = json.loads(out1), json.loads(out2)
    for key in ("radius", "radius_median", "n_facets_mean", "indices"):
        assert a[key] == b[key]
    code, _, err = run(capsys, *args, "--jobs", "0")
    assert code != 0 and "--jobs" in err
