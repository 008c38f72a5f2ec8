"""Input audit of the data loaders (:mod:`polyfold.datasets`) and of the ``polyfold``
command's arguments: every bad input is a :class:`PolyfoldError` naming the argument
or the file (library) or a usage error, exit status 2, naming the option (CLI)."""

import gzip
import struct

import numpy as np
import pytest

from polyfold.cli import build_parser, load_data, main
from polyfold.datasets import load_digits_split, load_mnist, load_points
from polyfold.exceptions import NonFiniteError, PolyfoldError, ShapeError, ValidationError


# ---------------------------------------------------------------------------
# load_points
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [None, 3, "", b""])
def test_load_points_bad_path_argument(bad):
    with pytest.raises(ValidationError, match="path"):
        load_points(bad)


def test_load_points_missing_file_and_folder(tmp_path):
    with pytest.raises(ValidationError, match="does not exist"):
        load_points(tmp_path / "missing.csv")
    d = tmp_path / "points.csv"  # a folder with a data-file suffix
    d.mkdir()
    with pytest.raises(ValidationError, match="folder"):
        load_points(d)


def test_load_points_csv_values(tmp_path):
    p = tmp_path / "p.csv"
    p.write_text("1,2\n3,4.5\n")
    X, y = load_points(p)
    assert y is None and X.dtype == np.float64
    assert X.tolist() == [[1.0, 2.0], [3.0, 4.5]]


@pytest.mark.parametrize("text, index", [("1,nan\n2,3\n", "(0, 1)"), ("1,2\ninf,3\n", "(1, 0)"),
                                         ("1,2\n3,-inf\n", "(1, 1)")])
def test_load_points_csv_nonfinite(tmp_path, text, index):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(NonFiniteError, match="bad.csv") as info:
        load_points(p)
    assert index in str(info.value)


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_load_points_npy_and_npz_nonfinite(tmp_path, value):
    p = tmp_path / "bad.npy"
    np.save(p, np.array([[0.0, 1.0], [value, 2.0]]))
    with pytest.raises(NonFiniteError, match="bad.npy"):
        load_points(p)
    q = tmp_path / "bad.npz"
    np.savez(q, X=np.array([[0.0, value]]))
    with pytest.raises(NonFiniteError, match="bad.npz"):
        load_points(q)


def test_load_points_complex_refused(tmp_path):
    p = tmp_path / "c.npy"
    np.save(p, np.array([[1 + 2j, 3 + 0j]]))
    with pytest.raises(ValidationError, match="complex"):
        load_points(p)
    q = tmp_path / "c.npz"
    np.savez(q, X=np.array([[1 + 1j]]))
    with pytest.raises(ValidationError, match="complex"):
        load_points(q)


@pytest.mark.parametrize("arr", [np.array(["1.5", "2"]), np.array([b"1"]),
                                 np.array(["2020-01-01"], dtype="datetime64[D]")])
def test_load_points_non_numeric_dtypes(tmp_path, arr):
    p = tmp_path / "s.npy"
    np.save(p, arr)
    with pytest.raises(ValidationError, match="s.npy"):
        load_points(p)


@pytest.mark.parametrize("arr", [np.array(3.0), np.zeros((0, 3)), np.zeros(0)])
def test_load_points_empty_or_scalar(tmp_path, arr):
    p = tmp_path / "e.npy"
    np.save(p, arr)
    with pytest.raises(ShapeError, match="e.npy"):
        load_points(p)


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_load_points_empty_csv(tmp_path, text):
    p = tmp_path / "e.csv"
    p.write_text(text)
    with pytest.raises(ShapeError, match="e.csv.*empty"):
        load_points(p)


def test_load_points_object_npy_no_pickle_advice(tmp_path):
    p = tmp_path / "o.npy"
    np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ValidationError, match="object array") as info:
        load_points(p)
    assert "allow_pickle" not in str(info.value)


def test_load_points_npz_named_npy(tmp_path):
    p = tmp_path / "archive.npy"
    with open(p, "wb") as fh:
        np.savez(fh, X=np.zeros((2, 2)))
    with pytest.raises(ValidationError, match=r"\.npz archive"):
        load_points(p)


def test_load_points_binary_csv(tmp_path):
    p = tmp_path / "b.csv"
    p.write_bytes(b"\xff\xfe\x00\x81\x00garbage")
    with pytest.raises(ValidationError, match="b.csv"):
        load_points(p)


def test_load_points_labels(tmp_path):
    p = tmp_path / "d.npz"
    np.savez(p, X=np.zeros((3, 2)), y=np.array([0.0, 2.0, 1.0]))
    X, y = load_points(p)
    assert y.dtype == np.int64 and y.tolist() == [0, 2, 1]
    np.savez(p, X=np.zeros((2, 2)), y=np.array(["cat", "dog"]))
    assert load_points(p)[1].tolist() == ["cat", "dog"]


@pytest.mark.parametrize("y, err, msg", [
    (np.array([0.0, 0.5, 1.0]), ValidationError, "non-integer value 0.5 at index 1"),
    (np.array([0.0, np.nan, 1.0]), NonFiniteError, "index 1"),
    (np.array([0, 1]), ShapeError, r"shape \(3,\)"),
    (np.array([[0, 1, 2]]), ShapeError, r"shape \(3,\)"),
    (np.array([1j, 0, 1]), ValidationError, "complex"),
])
def test_load_points_bad_labels(tmp_path, y, err, msg):
    p = tmp_path / "d.npz"
    np.savez(p, X=np.zeros((3, 2)), y=y)
    with pytest.raises(err, match=msg):
        load_points(p)


# ---------------------------------------------------------------------------
# load_digits_split
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("test_size", [0, 1, 0.0, 1.0, -0.1, -5, float("nan"), float("inf"),
                                       1797, 1788, 2000, 9, 0.001, 0.9999, True, False, "0.3",
                                       None, [0.3]])
def test_digits_bad_test_size(test_size):
    with pytest.raises(ValidationError, match="test_size"):
        load_digits_split(test_size=test_size)


def test_digits_test_size_counts():
    # 1797 samples: a fraction rounds the test count up, ceil(0.3 * 1797) = ceil(539.1) = 540
    Xtr, ytr, Xte, yte = load_digits_split(test_size=0.3)
    assert (len(Xte), len(Xtr)) == (540, 1257)
    Xtr, ytr, Xte, yte = load_digits_split(test_size=10)  # one test sample per class
    assert len(Xte) == 10 and sorted(yte.tolist()) == list(range(10))
    assert len(load_digits_split(test_size=np.float64(0.5))[2]) == 899  # ceil(898.5)


@pytest.mark.parametrize("seed", [-1, 2**32, True, "0", 1.5])
def test_digits_bad_seed(seed):
    with pytest.raises(ValidationError, match="seed"):
        load_digits_split(seed=seed)


# ---------------------------------------------------------------------------
# load_mnist
# ---------------------------------------------------------------------------
def _mnist_npz(path, **over):
    d = {"x_train": np.array([[[0, 255], [51, 0]]] * 2, dtype=np.uint8),
         "y_train": np.array([3, 7], dtype=np.uint8),
         "x_test": np.array([[[255, 0], [0, 0]]], dtype=np.uint8),
         "y_test": np.array([1], dtype=np.uint8)}
    d.update(over)
    np.savez(path, **d)
    return path


def test_load_mnist_npz_values(tmp_path):
    Xtr, ytr, Xte, yte = load_mnist(_mnist_npz(tmp_path / "m.npz"))
    assert Xtr.tolist() == [[0.0, 1.0, 0.2, 0.0]] * 2  # 51 / 255 = 0.2
    assert ytr.tolist() == [3, 7] and ytr.dtype == np.int64
    assert Xte.tolist() == [[1.0, 0.0, 0.0, 0.0]] and yte.tolist() == [1]


@pytest.mark.parametrize("bad", [None, 5, ""])
def test_load_mnist_bad_path_argument(bad):
    with pytest.raises(ValidationError, match="path"):
        load_mnist(bad)


@pytest.mark.parametrize("over, err, msg", [
    ({"x_train": np.array([[[1 + 1j]]])}, ValidationError, "complex"),
    ({"x_train": np.array([[[np.nan, 0.0]], [[0.0, 0.0]]])}, NonFiniteError, "x_train"),
    ({"x_train": np.zeros((0, 28, 28), dtype=np.uint8), "y_train": np.zeros(0, np.uint8)},
     ShapeError, "x_train"),
    ({"x_train": np.array([1, 2], dtype=np.uint8)}, ShapeError, "x_train"),
    ({"x_train": np.array([[300.0, 0.0], [0.0, 0.0]])}, ValidationError, "0..255"),
    ({"x_test": np.array([[-1.0, 0.0, 0.0, 0.0]])}, ValidationError, "0..255"),
    ({"x_train": np.array([[0.5, 1.0], [0.0, 0.25]])}, ValidationError, "already scaled"),
    ({"x_test": np.zeros((1, 3), np.uint8)}, ShapeError, "same size"),
    ({"y_train": np.array([3.5, 7.0])}, ValidationError, "y_train.*non-integer"),
    ({"y_train": np.array([3.0, np.nan])}, NonFiniteError, "y_train"),
    ({"y_train": np.array([3, 7, 1])}, ShapeError, "y_train"),
    ({"y_test": np.array(["1"])}, ValidationError, "y_test.*integer"),
    ({"x_train": np.array(["a", "b"])}, ValidationError, "x_train"),
])
def test_load_mnist_npz_bad_arrays(tmp_path, over, err, msg):
    with pytest.raises(err, match=msg):
        load_mnist(_mnist_npz(tmp_path / "m.npz", **over))


def _idx(path, arr, code=0x08, gz=False):
    arr = np.asarray(arr)
    head = bytes([0, 0, code, arr.ndim]) + struct.pack(">" + "I" * arr.ndim, *arr.shape)
    data = head + arr.astype({0x08: ">u1", 0x0B: ">i2"}[code]).tobytes()
    (gzip.open if gz else open)(path, "wb").write(data)


def _mnist_dir(d, gz=False):
    sfx = ".gz" if gz else ""
    _idx(d / f"train-images-idx3-ubyte{sfx}", [[[0, 255], [51, 102]]], gz=gz)
    _idx(d / f"train-labels-idx1-ubyte{sfx}", [4], gz=gz)
    _idx(d / f"t10k-images-idx3-ubyte{sfx}", [[[255, 255], [0, 0]]], gz=gz)
    _idx(d / f"t10k-labels-idx1-ubyte{sfx}", [9], gz=gz)
    return d


@pytest.mark.parametrize("gz", [False, True])
def test_load_mnist_idx_values(tmp_path, gz):
    Xtr, ytr, Xte, yte = load_mnist(_mnist_dir(tmp_path, gz))
    assert Xtr.tolist() == [[0.0, 1.0, 0.2, 0.4]] and ytr.tolist() == [4]
    assert Xte.tolist() == [[1.0, 1.0, 0.0, 0.0]] and yte.tolist() == [9]


def test_load_mnist_idx_other_element_type(tmp_path):
    _mnist_dir(tmp_path)
    _idx(tmp_path / "train-images-idx3-ubyte", [[[0, 255], [51, 102]]], code=0x0B)  # shorts
    assert load_mnist(tmp_path)[0].tolist() == [[0.0, 1.0, 0.2, 0.4]]


@pytest.mark.parametrize("content, msg", [
    (b"\x00\x00\x08\x03\x00\x00", "truncated"),             # header cut inside the dims
    (b"\x00\x00\x08\x01\x00\x00\x00\x05\x01\x02", "holds 2 values"),  # data cut
    (b"\x00\x00\x08\x01\x00\x00\x00\x01\x01\x02", "holds 2 values"),  # extra data
    (b"\x00\x00\x07\x01\x00\x00\x00\x01\x01", "element type"),
    (b"\x01\x02\x03", "magic"),
])
def test_load_mnist_idx_corrupt(tmp_path, content, msg):
    _mnist_dir(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(content)
    with pytest.raises(ValidationError, match=msg):
        load_mnist(tmp_path)


def test_load_mnist_idx_bad_gzip_and_folder(tmp_path):
    _mnist_dir(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(b"\x1f\x8bnot really gzip")
    with pytest.raises(ValidationError, match="t10k-labels"):
        load_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    (tmp_path / "t10k-labels-idx1-ubyte").mkdir()  # a folder where the file belongs
    with pytest.raises(ValidationError, match="t10k-labels"):
        load_mnist(tmp_path)


def test_load_mnist_idx_label_count(tmp_path):
    _mnist_dir(tmp_path)
    _idx(tmp_path / "train-labels-idx1-ubyte", [4, 5])
    with pytest.raises(ShapeError, match="train-labels"):
        load_mnist(tmp_path)


# ---------------------------------------------------------------------------
# the command line
# ---------------------------------------------------------------------------
def _cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


_SAW = ("--model", "zoo:sawtooth:3", "--quiet")
_CROSS = ("crossings", *_SAW, "--pairs", "3")
_SLICE = ("slice", "--model", "zoo:arrangement:3:2", "--data", "uniform:6", "--points", "0,1,2")
_BIAS = ("bias", "--model", "zoo:arrangement:4:2", "--data", "uniform:6", "--points", "5")
_STATS = ("stats", "--model", "zoo:arrangement:4:2", "--data", "uniform:6", "--points", "2")
_INTER = ("interaction", "--model", "zoo:digits:2x30", "--points", "20", "--paths-per-pair",
          "1", "--steps", "1")
_REG = ("regularize", "--arch", "2x30", "--epochs", "1", "--paths-per-pair", "1")


@pytest.mark.parametrize("argv, option", [
    (_CROSS + ("--grid", "0"), "--grid"),
    (_CROSS + ("--grid", ""), "--grid"),
    (_CROSS + ("--grid", "11,0"), "--grid"),
    (("bench", *_SAW, "--pairs", "3", "--grid", "0"), "--grid"),
    (_SLICE + ("--margin", "nan"), "--margin"),
    (_SLICE + ("--margin", "inf"), "--margin"),
    (_SLICE + ("--margin", "-1"), "--margin"),
    (_SLICE[:-2] + ("--points=-1,1,2",), "--points"),
    (("slice", "--model", "zoo:arrangement:3:2", "--bounds", "0,nan,0,1"), "--bounds"),
    (("slice", "--model", "zoo:arrangement:3:2", "--bounds", "0,1,0,inf"), "--bounds"),
    (("slice", "--model", "zoo:arrangement:3:2", "--bounds", "1,0,0,1"), "--bounds"),
    (("slice", "--model", "zoo:arrangement:3:2", "--bounds", "0,1,1,1"), "--bounds"),
    (_BIAS + ("--radius", "nan"), "--radius"),
    (_BIAS + ("--radius", "inf"), "--radius"),
    (_BIAS + ("--radius", "0"), "--radius"),
    (_BIAS + ("--radius", "-2"), "--radius"),
    (_STATS + ("--domain", "1,0"), "--domain"),
    (_STATS + ("--domain", "0,nan"), "--domain"),
    (_STATS + ("--domain", "0,inf"), "--domain"),
    (_INTER + ("--clip", "nan,1"), "--clip"),
    (_INTER + ("--clip", "0,inf"), "--clip"),
    (_INTER + ("--clip", "1,0"), "--clip"),
    (_INTER + ("--eps", "inf"), "--eps"),
    (_INTER + ("--eps", "0.1,nan"), "--eps"),
    (_REG + ("--tau", "inf"), "--tau"),
    (_REG + ("--tau", "nan"), "--tau"),
    (_REG + ("--lam", "inf"), "--lam"),
    (_REG + ("--lam", "nan"), "--lam"),
    (_REG + ("--n-points", "1"), "--n-points"),
    (_REG + ("--arch", ""), "--arch"),
    (_CROSS + ("--seed", str(2**32)), "--seed"),
    (_CROSS + ("--out", ""), "--out"),
    (_CROSS + ("--data", ""), "--data"),
    (("crossings", "--model", "", "--pairs", "3"), "--model"),
    (("fold", *_SAW, "--paths-per-pair", "1", "--checkpoint", ""), "--checkpoint"),
    (("fold", *_SAW, "--paths-per-pair", "1", "--scheduler", " "), "--scheduler"),
    (("demo", "--quick", "--sections", ","), "--sections"),
    (("demo", "--quick", "--sections", ""), "--sections"),
])
def test_cli_bad_values_are_usage_errors(capsys, argv, option):
    code, out, err = _cli(capsys, *argv)
    assert code == 2, err
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and f"argument {option}" in lines[0] and "Traceback" not in err


def test_cli_grid_none_still_skips(capsys):
    code, out, err = _cli(capsys, *_CROSS, "--grid", "none")
    assert code == 0, err
    assert "grid" not in out  # no grid comparison lines
    code, out, err = _cli(capsys, *_CROSS, "--grid", "NONE")
    assert code == 0, err


def test_cli_threads_zero_keeps_default():
    args = build_parser().parse_args(["regularize", "--threads", "0"])
    assert args.threads == 0


def test_cli_data_spec_errors(capsys):
    code, _, err = _cli(capsys, *_CROSS, "--data", "uniformly")
    assert code == 1 and "--data 'uniformly'" in err
    code, _, err = _cli(capsys, *_CROSS, "--data", "uniform:100000000000000")
    assert code == 1 and "GiB" in err and "Traceback" not in err


def test_cli_csv_label_column(capsys, tmp_path):
    # zoo:sawtooth:3 has one input: a two-column CSV is (x, label)
    p = tmp_path / "frac.csv"
    p.write_text("0.1,0\n0.2,0.5\n0.9,1\n")
    code, _, err = _cli(capsys, "fold", *_SAW, "--data", str(p), "--paths-per-pair", "1")
    assert code == 1 and "last column" in err and "non-integer value 0.5" in err
    p = tmp_path / "nan.csv"
    p.write_text("0.1,0\n0.2,nan\n")
    code, _, err = _cli(capsys, "fold", *_SAW, "--data", str(p), "--paths-per-pair", "1")
    assert code == 1 and "nan.csv" in err and "NaN" in err


def test_load_data_labels_and_seed(tmp_path):
    import polyfold

    net = polyfold.zoo.sawtooth(2)  # one input
    p = tmp_path / "d.csv"
    p.write_text("0.1,0\n0.7,1\n0.4,1\n")
    X, y, info = load_data(str(p), net)
    assert X.tolist() == [[0.1], [0.7], [0.4]] and y.tolist() == [0, 1, 1]
    assert y.dtype == np.int64 and info["labels"] == "given"
    for seed in (-1, 1.5, "0"):
        with pytest.raises(PolyfoldError, match="seed"):
            load_data("uniform:5", net, seed=seed)


@pytest.mark.parametrize("argv", ["crossings --pairs 3", ["crossings", "--pairs", 3]])
def test_cli_main_argv_must_be_strings(argv):
    with pytest.raises(ValidationError, match="argv"):
        main(argv)
