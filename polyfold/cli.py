"""The ``polyfold`` command (also ``python -m polyfold``).

A thin shell over the library: every subcommand parses its options, loads a model
and data, calls one or two library functions and prints or writes the result.
Heavy modules are imported inside the handlers, so ``polyfold --help`` is instant.

Subcommands
-----------
``demo``       the main job on the embedded default (bundled digits, shipped MLPs)
``crossings``  exact segment crossings between data points, against grid sampling
``fold``       space folding between class pairs (optionally on processes / Dask)
``slice``      the region complex of the 2D slice through three data points
``bias``       maximal bias and injectivity of one layer
``stats``      insphere and orthogonality statistics of the regions of data points
``bench``      throughput of the three arithmetic modes against grid sampling

Every subcommand takes ``--json`` (print the result as JSON on stdout), ``--out DIR``
(write JSON and figures there), ``--seed``, ``--mode`` and ``--quiet``.  Models are
given with ``--model``: a ``.npz`` written by :meth:`polyfold.PLNet.save`, a pickled
scikit-learn ``MLPClassifier``/``MLPRegressor`` (``.pkl``), a PyTorch
``nn.Sequential`` saved with ``torch.save(model, path)`` (``.pt``, needs torch) or a
zoo network such as ``zoo:digits:6x10``, ``zoo:sawtooth:4``, ``zoo:cantornet:2``,
``zoo:arrangement:8:2`` or ``zoo:random:2:3x8``.  Data are given with ``--data``:
``digits`` (the bundled test split), ``digits-train``, ``uniform:N`` (N points in the
unit cube) or a ``.npz`` (arrays ``X`` and optional ``y``), ``.npy`` or ``.csv`` file.

Errors from the library print one line on stderr and exit with status 1; bad
command-line arguments exit with status 2.
"""

import argparse
import json
import sys
import time
from pathlib import Path

from .exceptions import PolyfoldError, ValidationError

__all__ = ["main", "load_model", "load_data"]

PROG = "polyfold"
MODES = ("certified", "float", "exact")
DEFAULT_MODEL = "zoo:digits:6x10"


class _UsageError(Exception):
    """Raised instead of argparse's exit on a bad command line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


# ---------------------------------------------------------------------------
# models and data
# ---------------------------------------------------------------------------
def _zoo_model(spec):
    from . import zoo

    parts = spec.split(":")[1:]
    name, args = (parts[0].lower() if parts else ""), parts[1:]
    usage = ("use zoo:digits:6x10, zoo:sawtooth:4, zoo:cantornet:2[:A|B|C], "
             "zoo:arrangement:N:D or zoo:random:IN:ARCH[:SEED]")

    def ints(vals, what):
        try:
            return [int(v) for v in vals]
        except ValueError as err:
            raise ValidationError(f"--model {spec!r}: {what} must be integers; {usage}.") from err

    try:
        if name == "digits" and len(args) <= 1:
            return zoo.digits_mlp(args[0] if args else "6x10")
        if name == "sawtooth" and len(args) == 1:
            return zoo.sawtooth(*ints(args, "L"))
        if name == "cantornet" and 1 <= len(args) <= 2:
            rep = args[1].upper() if len(args) == 2 else "A"
            return zoo.cantornet(ints(args[:1], "k")[0], rep)
        if name == "arrangement" and len(args) == 2:
            n, d = ints(args, "N and D")
            return zoo.arrangement(n, d)
        if name == "random" and len(args) in (2, 3):
            d = ints(args[:1], "IN")[0]
            seed = ints(args[2:], "SEED")[0] if len(args) == 3 else 0
            return zoo.random_mlp(args[1], d, seed=seed)
    except (ImportError, AttributeError) as err:
        raise ValidationError(f"--model {spec!r} is not available in this version ({err}).") from err
    raise ValidationError(f"--model {spec!r} is not a known zoo network; {usage}.")


def load_model(spec):
    """Load a network from a command-line ``spec`` (file path or ``zoo:...``).

    Parameters
    ----------
    spec : str
        ``zoo:NAME:ARGS`` or a path ending in ``.npz`` (:meth:`PLNet.save`), ``.pkl``
        / ``.pickle`` / ``.joblib`` (a pickled scikit-learn MLP or PLNet) or ``.pt`` /
        ``.pth`` (``torch.save`` of an ``nn.Sequential``; needs torch).  Pickles and
        torch files can run code when loaded: only load files you trust.

    Returns
    -------
    PLNet

    Raises
    ------
    ValidationError
        Unknown zoo name, missing or unreadable file, unsupported suffix or content.
    UnsupportedLayerError
        The model has a layer polyfold cannot represent.
    DependencyError
        A ``.pt`` file without torch installed.

    Examples
    --------
    >>> from polyfold.cli import load_model
    >>> load_model("zoo:sawtooth:3").widths
    (2, 2, 2)
    """
    from .network import PLNet

    spec = str(spec)
    if spec.startswith("zoo:"):
        return _zoo_model(spec)
    path = Path(spec)
    if not path.exists():
        raise ValidationError(
            f"--model file {spec!r} does not exist; give a .npz/.pkl/.pt file or a zoo "
            "network such as zoo:digits:6x10."
        )
    if path.is_dir():
        raise ValidationError(f"--model {spec!r} is a folder; give a model file.")
    suffix = path.suffix.lower()
    if suffix == ".npz":
        return PLNet.load(path)
    if suffix in (".pkl", ".pickle", ".joblib"):
        obj = _unpickle(path)
    elif suffix in (".pt", ".pth"):
        from .convert import _torch

        torch = _torch()
        try:
            obj = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as err:
            raise ValidationError(f"could not read {spec!r} with torch.load: {err}") from err
    else:
        raise ValidationError(
            f"--model {spec!r} has an unsupported suffix {suffix or '(none)'!r}; use .npz "
            "(PLNet.save), .pkl (pickled scikit-learn MLP) or .pt (torch.save(model))."
        )
    return _to_plnet(obj, spec)


def _unpickle(path):
    import pickle

    try:
        if path.suffix.lower() == ".joblib":
            import joblib

            return joblib.load(path)
        with open(path, "rb") as f:
            return pickle.load(f)
    except Exception as err:
        raise ValidationError(f"could not unpickle {str(path)!r}: {type(err).__name__}: {err}") from err


def _to_plnet(obj, spec):
    from .network import PLNet

    if isinstance(obj, PLNet):
        return obj
    cls = type(obj).__name__
    if cls in ("MLPClassifier", "MLPRegressor"):
        from .convert import from_sklearn

        return from_sklearn(obj)
    mod = type(obj).__module__ or ""
    if mod.startswith("torch"):
        from .convert import from_torch

        return from_torch(obj)
    if isinstance(obj, dict):
        raise ValidationError(
            f"{spec!r} holds a dict (a state_dict?), which has no architecture; save the "
            "model itself with torch.save(model, path) or use PLNet.save."
        )
    raise ValidationError(
        f"{spec!r} holds a {cls}, not a network polyfold can convert; expected a PLNet, a "
        "scikit-learn MLPClassifier/MLPRegressor or a torch nn.Sequential."
    )


def load_data(spec, net, *, seed=0):
    """Load points for ``net`` from a command-line ``spec``.

    Parameters
    ----------
    spec : str
        ``auto`` (the digits test split when ``net.input_dim == 64``, else
        ``uniform:1000``), ``digits``, ``digits-train``, ``uniform:N`` or a ``.npz``
        (``X`` and optional ``y``), ``.npy`` or ``.csv`` file.
    net : PLNet
    seed : int
        Seed of ``uniform`` points.

    Returns
    -------
    X : (n, net.input_dim) float
    y : (n,) int
        The labels of the file, or the network's predictions when there are none.
    info : dict
        ``{"data": name, "n_points": n, "labels": "given" | "predicted"}``.

    Examples
    --------
    >>> import polyfold
    >>> from polyfold.cli import load_data
    >>> X, y, info = load_data("uniform:5", polyfold.zoo.sawtooth(2))
    >>> X.shape, info["labels"]
    ((5, 1), 'predicted')
    """
    import numpy as np

    from ._validation import as_float_array

    spec = str(spec)
    low = spec.lower()
    if low == "auto":
        low = spec = "digits" if net.input_dim == 64 else "uniform:1000"
    y = None
    if low in ("digits", "digits-test", "digits-train"):
        if net.input_dim != 64:
            raise ValidationError(
                f"--data {spec} gives 64-pixel images but the model has input_dim="
                f"{net.input_dim}; pass --data uniform:N or a data file."
            )
        from .datasets import load_digits_split

        Xtr, ytr, Xte, yte = load_digits_split(seed=0)
        X, y = (Xtr, ytr) if low == "digits-train" else (Xte, yte)
    elif low.startswith("uniform"):
        parts = low.split(":")
        try:
            n = int(parts[1]) if len(parts) > 1 else 1000
        except ValueError as err:
            raise ValidationError(f"--data {spec!r}: use uniform:N with an integer N.") from err
        if n < 2 or len(parts) > 2:
            raise ValidationError(f"--data {spec!r}: use uniform:N with N >= 2.")
        X = np.random.default_rng([seed, 7]).random((n, net.input_dim))
    else:
        from .datasets import load_points

        path = Path(spec)
        if path.suffix.lower() == "" and not path.exists():
            raise ValidationError(
                f"--data {spec!r} is neither a file nor one of auto, digits, digits-train, "
                "uniform:N."
            )
        X, y = load_points(path)
        X = as_float_array(X, f"data X in {spec!r}")
        if X.ndim == 1:
            X = X.reshape(-1, 1) if net.input_dim == 1 else X.reshape(1, -1)
        if X.ndim != 2:
            X = X.reshape(len(X), -1)
        if X.shape[1] == net.input_dim + 1 and y is None and path.suffix.lower() in (".csv", ".txt"):
            X, y = X[:, :-1], X[:, -1]  # last CSV column: the label
        if X.shape[1] != net.input_dim:
            raise ValidationError(
                f"data in {spec!r} has {X.shape[1]} columns but the model has input_dim="
                f"{net.input_dim}; flatten images to one row per point."
            )
        if len(X) < 2:
            raise ValidationError(f"data in {spec!r} holds {len(X)} point(s); need at least 2.")
    given = y is not None
    if given:
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise ValidationError(f"labels y in {spec!r} must have one entry per point.")
        if y.dtype.kind == "f" and np.all(y == np.round(y)):
            y = y.astype(np.int64)
    else:
        y = net.predict(X)
    return X, y, {"data": spec, "n_points": int(len(X)),
                  "labels": "given" if given else "predicted"}


def _describe(net, spec):
    return {"model": str(spec), "input_dim": int(net.input_dim),
            "widths": [int(w) for w in net.widths], "output_dim": int(net.output_dim),
            "activations": [a.to_dict() for a in net.activations]}


# ---------------------------------------------------------------------------
# shared plumbing
# ---------------------------------------------------------------------------
class _Run:
    """Per-invocation helpers: output folder, progress bars, status lines."""

    def __init__(self, args):
        self.args = args
        self.quiet = args.quiet or args.json
        self.out = Path(args.out) if getattr(args, "out", None) else None

    def progress_enabled(self):
        return not (self.args.quiet or self.args.json) and sys.stderr.isatty()

    def bar(self, iterable, total=None, desc=None):
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, disable=not self.progress_enabled(),
                    leave=False, file=sys.stderr)

    def log(self, msg):
        if not self.quiet:
            print(msg, file=sys.stderr if self.args.json else sys.stdout, flush=True)

    def outdir(self):
        if self.out is None:
            return None
        try:
            self.out.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ValidationError(f"--out {str(self.out)!r} cannot be created: {err.strerror}.") from err
        return self.out

    def figure(self, fig, name):
        d = self.outdir()
        if d is None:
            return []
        from .plotting import save_figure

        paths = save_figure(fig, d, name)
        return [str(p) for p in paths]


def _pairs(rng, n, m):
    """``m`` random ordered pairs ``(i, j)``, ``i != j``, of ``range(n)``."""
    i = rng.integers(0, n, m)
    j = (i + rng.integers(1, n, m)) % n
    return i, j


def _grid_arg(text):
    if text.lower() in ("none", "0", ""):
        return ()
    try:
        vals = tuple(int(v) for v in text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from err
    if any(v < 2 for v in vals):
        raise argparse.ArgumentTypeError(f"grid sizes must be >= 2, got {text!r}")
    return vals


def _positive(text):
    try:
        v = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from err
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return v


def _nonneg(text):
    try:
        v = int(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from err
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}")
    return v


# ---------------------------------------------------------------------------
# handlers: each returns (result dict, text lines)
# ---------------------------------------------------------------------------
def _cmd_demo(args, run):
    from .demo import DemoSettings, run_demo

    settings = DemoSettings.quick_setting() if args.quick else DemoSettings.full()
    if args.pairs:
        from dataclasses import replace

        settings = replace(settings, n_pairs=args.pairs)
    sections = [s for s in args.sections.split(",") if s] if args.sections else None
    out = Path(args.out or "demo-output")
    run.log(f"polyfold demo -> {out} ({'reduced' if args.quick else 'full'} setting)")
    res = run_demo(out, settings=settings, seed=args.seed, mode=args.mode,
                   progress=run.progress_enabled(), log=run.log, sections=sections)
    text = [f"wrote {out / 'report.md'}, {out / 'results.json'} and "
            f"{len(res['figures'])} figure files in {out / 'figures'} "
            f"({res['total_time_s']:.1f} s)"]
    for key, sec in res["sections"].items():
        text.append(f"  {key}: {sec['status']}" + (f" ({sec['reason']})" if sec["reason"] else ""))
    failed = [k for k, s in res["sections"].items() if s["status"] == "failed"]
    if failed:
        raise _SectionsFailed(res, text, failed, out)
    return res, text, False


class _SectionsFailed(Exception):
    def __init__(self, res, text, failed, out):
        super().__init__(f"demo section(s) {', '.join(failed)} failed; see {out / 'report.md'}")
        self.res, self.text = res, text


def _cmd_crossings(args, run):
    import numpy as np

    from .demo import compare_with_sampling

    net = load_model(args.model)
    X, y, dinfo = load_data(args.data, net, seed=args.seed)
    rng = np.random.default_rng([args.seed, 1])
    i, j = _pairs(rng, len(X), args.pairs)
    run.log(f"{args.pairs} segments between points of {dinfo['data']} on {args.model} "
            f"(mode {args.mode})")
    res, summ = compare_with_sampling(net, X[i], X[j], mode=args.mode, grid=args.grid)
    e = summ["exact"]
    result = {"command": "crossings", **_describe(net, args.model), **dinfo,
              "seed": args.seed, "mode": args.mode, "n_segments": int(res.n_segments),
              "n_pieces_total": int(res.n_pieces.sum()),
              "n_pieces_mean": float(res.n_pieces.mean()),
              "n_pieces_max": int(res.n_pieces.max()),
              "n_recomputed": int(res.n_recomputed),
              "n_degenerate": int(np.count_nonzero(res.degenerate)) if res.degenerate is not None else 0,
              "time_s": e["time_s"], "paths_per_s": e["paths_per_s"],
              "sampling": summ["sampling"], "files": []}
    text = [f"{res.n_segments} segments: {result['n_pieces_mean']:.2f} regions per segment "
            f"(max {result['n_pieces_max']}), {e['time_s']:.3f} s, "
            f"{result['n_recomputed']} recomputed exactly"]
    for s in summ["sampling"]:
        text.append(f"  grid {s['n_points']:>6}: missed {100 * s['fraction_missed']:.2f}% of regions "
                    f"({100 * s['paths_with_misses']:.1f}% of paths), time ratio "
                    f"{s['ratio']:.1f}x")
    d = run.outdir()
    if d is not None:
        np.savez(d / "crossings.npz", i_start=i, i_end=j, n_pieces=res.n_pieces,
                 piece_offsets=res.piece_offsets, codes=res.codes,
                 breakpoint_offsets=res.breakpoint_offsets, t=res.t)
        result["files"].append(str(d / "crossings.npz"))
        if summ["sampling"]:
            from .plotting import paper_style, plot_sampling_comparison

            with paper_style():
                import matplotlib.pyplot as plt

                fig, ax = plt.subplots()
                plot_sampling_comparison([{"net": args.model, "sampling": summ["sampling"]}], ax=ax)
                result["files"] += run.figure(fig, "crossings_vs_sampling")
                plt.close(fig)
    return result, text, True


# ---------------------------------------------------------------------------
# parser
# ---------------------------------------------------------------------------
def _common(p, *, model=True, out_help="write JSON (and figures) to this folder"):
    g = p.add_argument_group("common options")
    g.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    g.add_argument("--out", metavar="DIR", help=out_help)
    g.add_argument("--seed", type=_nonneg, default=0, help="seed of every random choice (default 0)")
    g.add_argument("--mode", choices=MODES, default="certified",
                   help="arithmetic: certified (default; exact answers at float speed), "
                        "float (fast, no guarantee) or exact (rationals)")
    g.add_argument("--quiet", "-q", action="store_true",
                   help="no progress bars or status lines")
    if model:
        g.add_argument("--model", default=DEFAULT_MODEL, metavar="SPEC",
                       help="network: .npz, pickled scikit-learn MLP (.pkl), torch "
                            "nn.Sequential (.pt) or zoo:NAME:ARGS (default "
                            f"{DEFAULT_MODEL})")
        g.add_argument("--data", default="auto", metavar="SPEC",
                       help="points: digits, digits-train, uniform:N, or a .npz/.npy/.csv "
                            "file (default: digits for 64-input models, else uniform:1000)")


def build_parser():
    """The ``argparse`` parser of the ``polyfold`` command."""
    from . import __version__

    parser = _Parser(prog=PROG, description="Exact polyhedral geometry of piecewise-linear "
                     "networks: crossings, folding, slices, injectivity, statistics.")
    parser.add_argument("--version", action="version", version=f"polyfold {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    p = sub.add_parser("demo", help="run the main job on the bundled digits and write a report",
                       description="Exact crossings vs grid sampling, folding, slices, "
                       "injectivity and insphere statistics on the bundled digits MLPs; "
                       "writes report.md, results.json and figures (PNG and PDF).")
    _common(p, model=False, out_help="output folder (default demo-output)")
    p.add_argument("--quick", "--reduced", action="store_true",
                   help="reduced setting (seconds instead of minutes)")
    p.add_argument("--pairs", type=_positive, default=None,
                   help="test-image pairs for the crossings section")
    p.add_argument("--sections", default=None, metavar="LIST",
                   help="comma-separated sections to run (default: all)")
    p.set_defaults(handler=_cmd_demo)

    p = sub.add_parser("crossings", help="exact segment crossings vs grid sampling",
                       description="Exact linear regions crossed by segments between random "
                       "pairs of data points, compared with grid sampling on the same segments.")
    _common(p)
    p.add_argument("--pairs", type=_positive, default=1000, help="number of segments (default 1000)")
    p.add_argument("--grid", type=_grid_arg, default=(11, 100, 1000), metavar="N,N,...",
                   help="grid sizes to compare with (default 11,100,1000; 'none' to skip)")
    p.set_defaults(handler=_cmd_crossings)

    return parser


def _print_json(result):
    from .demo import to_jsonable

    print(json.dumps(to_jsonable(result), indent=1))


def main(argv=None):
    """Run the ``polyfold`` command; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 when the library reports an error (one line on stderr),
        2 for a bad command line, 130 when interrupted.

    Examples
    --------
    >>> from polyfold.cli import main
    >>> main(["crossings", "--model", "zoo:sawtooth:3", "--pairs", "5", "--quiet"])
    0
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except _UsageError as err:
        print(str(err), file=sys.stderr)
        return 2
    except SystemExit as err:  # --help, --version
        return int(err.code or 0)
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(f"{PROG}: error: a command is required (see '{PROG} --help')", file=sys.stderr)
        return 2
    run = _Run(args)
    t0 = time.perf_counter()
    status = 0
    try:
        result, text, write_json = args.handler(args, run)
    except _SectionsFailed as err:
        result, text, write_json = err.res, err.text, False
        print(f"{PROG} {args.command}: error: {err}", file=sys.stderr)
        status = 1
    except PolyfoldError as err:
        print(f"{PROG} {args.command}: error: {err}", file=sys.stderr)
        return 1
    except OSError as err:
        where = f" {err.filename!r}" if getattr(err, "filename", None) else ""
        print(f"{PROG} {args.command}: error:{where} {err.strerror or err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    if isinstance(result, dict) and "elapsed_s" not in result:
        result["elapsed_s"] = time.perf_counter() - t0
    if write_json and run.out is not None:
        d = run.outdir()
        path = d / f"{args.command}.json"
        from .demo import to_jsonable

        if isinstance(result.get("files"), list):
            result["files"].append(str(path))
        path.write_text(json.dumps(to_jsonable(result), indent=1))
    if args.json:
        _print_json(result)
    elif not args.quiet:
        for line in text:
            print(line)
    return status
