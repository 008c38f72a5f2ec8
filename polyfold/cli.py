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


def _pairs_arg(text):
    """``"0:1,3:8"`` -> [(0, 1), (3, 8)]."""
    out = []
    for part in text.split(","):
        try:
            a, b = part.split(":")
            out.append((int(a), int(b)))
        except ValueError as err:
            raise argparse.ArgumentTypeError(
                f"expected class pairs like 0:1,3:8, got {text!r}"
            ) from err
    return out


def _indices_arg(text):
    try:
        vals = [int(v) for v in text.split(",")]
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected three indices like 0,5,9, got {text!r}") from err
    if len(vals) != 3:
        raise argparse.ArgumentTypeError(f"expected exactly three indices, got {text!r}")
    return vals


def _floats_arg(n):
    def parse(text):
        try:
            vals = [float(v) for v in text.split(",")]
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"expected {n} comma-separated numbers, got {text!r}") from err
        if len(vals) != n:
            raise argparse.ArgumentTypeError(f"expected {n} comma-separated numbers, got {text!r}")
        return vals
    return parse


def _save_heatmap(run, res, name, title):
    from .plotting import paper_style, plot_class_pair_heatmap

    with paper_style():
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(3.6, 3.0))
        plot_class_pair_heatmap(res, ax=ax)
        ax.set_title(title)
        files = run.figure(fig, name)
        plt.close(fig)
    return files


def _cmd_fold(args, run):
    import numpy as np

    net = load_model(args.model)
    X, y, dinfo = load_data(args.data, net, seed=args.seed)
    scale_out = args.workers is not None or args.scheduler is not None or args.executor is not None \
        or args.checkpoint is not None
    run.log(f"space folding between class pairs of {dinfo['data']} ({dinfo['labels']} labels), "
            f"{args.paths_per_pair} paths per pair, on {args.model}")
    if scale_out:
        try:
            from .parallel import class_pair_sweep
        except ImportError as err:
            raise ValidationError(
                "--workers/--scheduler/--executor need polyfold.parallel, which is not "
                f"available ({err}); drop them to run serially."
            ) from err
        res = class_pair_sweep(
            net, X, y, paths_per_pair=args.paths_per_pair, seed=args.seed, pairs=args.pairs,
            executor=args.executor or "auto", scheduler=args.scheduler, workers=args.workers,
            out=args.checkpoint, mode=args.mode, progress=run.progress_enabled(),
        )
        d = res.as_dict()
        labels = [v for v in d["labels"]]
        pair_max = res.pair_matrix("chi_max")
        result = {
            "backend": "polyfold.parallel.class_pair_sweep", "executor": res.executor,
            "n_workers": res.n_workers, "labels": labels, "pair_max": pair_max,
            "pair_max_median": res.pair_max_median,
            "path_prefix_max_median": res.path_prefix_max_median,
            "fraction_flat": float(res.total.fraction_flat) if res.total.n_paths else None,
            "n_pairs": len(res.groups), "n_paths": res.n_paths, "complete": res.complete,
            "n_chunks": res.n_chunks, "n_chunks_resumed": res.n_chunks_resumed,
            "checkpoint": args.checkpoint, "elapsed_s": res.elapsed,
        }
    else:
        from .folding import class_pair_folding

        res = class_pair_folding(net, X, y, paths_per_pair=args.paths_per_pair, seed=args.seed,
                                 mode=args.mode, pairs=args.pairs, progress=run.progress_enabled())
        d = res.as_dict()
        result = {
            "backend": "polyfold.folding.class_pair_folding", "executor": "serial",
            "n_workers": 1, "labels": d["labels"], "pair_max": res.pair_max,
            "pair_max_median": res.pair_max_median,
            "path_prefix_max_median": res.path_prefix_max_median,
            "fraction_flat": res.fraction_flat, "n_pairs": res.n_pairs, "n_paths": res.n_paths,
            "complete": True, "n_recomputed": res.n_recomputed, "elapsed_s": res.elapsed,
        }
    result = {"command": "fold", **_describe(net, args.model), **dinfo, "seed": args.seed,
              "mode": args.mode, "paths_per_pair": args.paths_per_pair, **result, "files": []}
    result["pair_max"] = [[None if not np.isfinite(v) else float(v) for v in row]
                          for row in np.asarray(result["pair_max"])]

    def f(v):
        return "n/a" if v is None else f"{v:.4f}"

    text = [
        f"{result['n_paths']} paths over {result['n_pairs']} ordered class pairs "
        f"({result['executor']}, {result['n_workers']} worker(s), {result['elapsed_s']:.2f} s)",
        f"  median over pairs of max chi (reading 1): {f(result['pair_max_median'])}",
        f"  median over paths of max prefix chi (reading 2): {f(result['path_prefix_max_median'])}",
        f"  flat paths: {f(result['fraction_flat'])}",
    ]
    if run.outdir() is not None:
        result["files"] += _save_heatmap(run, res, "fold_heatmap", "max chi per class pair")
    return result, text, True


def _slice_points(args, X, y, rng):
    import numpy as np

    if args.points is not None:
        bad = [i for i in args.points if not 0 <= i < len(X)]
        if bad:
            raise ValidationError(
                f"--points {bad} out of range for {len(X)} data points (valid 0..{len(X) - 1})."
            )
        if len(set(args.points)) < 3:
            raise ValidationError("--points needs three different indices.")
        return list(args.points)
    classes = np.unique(y)
    if len(classes) >= 3:
        cls = rng.choice(classes, 3, replace=False)
        return [int(rng.choice(np.nonzero(y == c)[0])) for c in cls]
    return [int(v) for v in rng.choice(len(X), 3, replace=False)]


def _cmd_slice(args, run):
    import numpy as np

    from .slices import slice_complex

    net = load_model(args.model)
    X, y, dinfo = load_data(args.data, net, seed=args.seed)
    rng = np.random.default_rng([args.seed, 4])
    points_uv, labels, idx = None, None, None
    if args.bounds is not None or (net.input_dim == 2 and args.points is None):
        if net.input_dim != 2:
            raise ValidationError(
                f"--bounds slices the input plane itself, which needs input_dim=2 (got "
                f"{net.input_dim}); use --points i,j,k for the plane through three data points."
            )
        if args.bounds is not None:
            b = args.bounds
        else:
            lo, hi = X.min(axis=0), X.max(axis=0)
            pad = 0.05 * np.maximum(hi - lo, 1e-12)
            b = [lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1]]
        cx = slice_complex(net, [0.0, 0.0], [1.0, 0.0], [0.0, 1.0], bounds=tuple(b), mode=args.mode)
        plane = {"kind": "input plane", "bounds": b}
        points_uv = X
    else:
        from .slices import slice_through

        idx = _slice_points(args, X, y, rng)
        m = args.margin
        cx = slice_through(net, *X[idx], margin=m, mode=args.mode)
        plane = {"kind": "through three data points", "indices": idx,
                 "labels": [y[i].item() if hasattr(y[i], "item") else y[i] for i in idx],
                 "margin": m}
        points_uv = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        labels = plane["labels"]
    G = cx.graph
    db = cx.decision_boundary
    deg = np.array([d for _, d in G.degree()]) if G.number_of_nodes() else np.zeros(0)
    pred = np.asarray(cx.predicted_classes)
    result = {
        "command": "slice", **_describe(net, args.model), **dinfo, "seed": args.seed,
        "mode": args.mode, "plane": plane, "n_regions": int(cx.n_regions),
        "n_edges": int(G.number_of_edges()),
        "mean_degree": float(deg.mean()) if deg.size else 0.0,
        "max_degree": int(deg.max()) if deg.size else 0,
        "boundary_pieces": int(len(db)), "n_recomputed": int(cx.n_recomputed),
        "n_degenerate": int(cx.n_degenerate),
        "regions_per_class": {str(c): int(n) for c, n in zip(*np.unique(pred, return_counts=True))},
        "files": [],
    }
    text = [f"{cx.n_regions} regions, {result['n_edges']} adjacent pairs, "
            f"{result['boundary_pieces']} decision-boundary pieces ({plane['kind']})"]
    d = run.outdir()
    if d is not None:
        cx.to_graphml(d / "slice_graph.graphml")
        result["files"].append(str(d / "slice_graph.graphml"))
        from .plotting import paper_style, plot_slice

        with paper_style():
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(3.4, 3.2))
            plot_slice(cx, ax=ax, color_by=args.color_by, points=points_uv,
                       point_labels=labels)
            result["files"] += run.figure(fig, "slice")
            plt.close(fig)
    return result, text, True


def _hidden_inputs(net, layer, X):
    """Inputs of hidden layer ``layer`` (the activations of the layer before)."""
    if layer == 0:
        return X
    zs = net.preactivations(X)
    return net.activations[layer - 1].apply(zs[layer - 1])


def _cmd_bias(args, run):
    import numpy as np

    from .exceptions import DegenerateInputError
    from .injectivity import Points, check_injectivity, layer_weights, maximal_bias

    net = load_model(args.model)
    X, y, dinfo = load_data(args.data, net, seed=args.seed)
    if not 0 <= args.layer < len(net.widths):
        raise ValidationError(
            f"--layer must be a hidden layer index in 0..{len(net.widths) - 1}, got {args.layer}."
        )
    W, alpha = layer_weights(net, args.layer)
    m, n = W.shape
    H = _hidden_inputs(net, args.layer, X)[: args.points]
    verdict = check_injectivity((net, args.layer), domain=Points(H), exact=args.mode != "float")
    method = args.method
    if method == "auto":
        method = "polytope" if n <= 8 else "sampling"
    result = {
        "command": "bias", **_describe(net, args.model), **dinfo, "seed": args.seed,
        "mode": args.mode, "layer": args.layer, "neurons": int(m), "inputs": int(n),
        "rank": int(np.linalg.matrix_rank(W)),
        "injective_on_points": bool(verdict.is_injective), "points_checked": int(verdict.n_pieces),
        "failing_points": int(np.count_nonzero(verdict.failing)),
        "maximal_bias": None, "files": [],
    }
    text = [f"layer {args.layer}: {m} neurons on {n} inputs (rank {result['rank']}); own bias "
            f"{'is' if verdict.is_injective else 'is NOT'} injective on the "
            f"{result['points_checked']} points checked ({result['failing_points']} failing)"]
    try:
        kw = {"n_samples": args.samples, "seed": args.seed} if method == "sampling" else {}
        cert = maximal_bias(W, domain=args.domain, radius=args.radius, method=method, **kw)
    except DegenerateInputError as err:
        result["maximal_bias"] = {"method": method, "error": str(err)}
        text.append(f"maximal bias: none ({err})")
    else:
        result["maximal_bias"] = {
            "method": cert.method, "domain": cert.domain, "radius": cert.radius,
            "is_certificate": bool(cert.is_certificate), "alpha": cert.alpha,
            "alpha_hat": cert.alpha_hat, "bias": cert.bias,
            "omnidirectional_margin": cert.omnidirectional_margin,
            "own_bias_below_certificate": bool(np.all(alpha <= cert.alpha)),
        }
        kind = "certificate" if cert.is_certificate else "estimate (not a certificate)"
        text.append(f"maximal bias ({cert.method}, {kind}) on the {cert.domain} of radius "
                    f"{cert.radius:g}: alpha_hat in [{np.min(cert.alpha_hat):.4f}, "
                    f"{np.max(cert.alpha_hat):.4f}]")
        if run.outdir() is not None and n in (2, 3):
            from .plotting import paper_style, plot_maximal_bias

            with paper_style():
                import matplotlib.pyplot as plt

                fig = plt.figure(figsize=(3.0, 3.0))
                ax = fig.add_subplot(projection="3d" if n == 3 else None)
                plot_maximal_bias(W, cert, ax=ax)
                result["files"] += run.figure(fig, "maximal_bias")
                plt.close(fig)
    return result, text, True


def _cmd_stats(args, run):
    import numpy as np

    from .insphere import region_statistics

    net = load_model(args.model)
    X, y, dinfo = load_data(args.data, net, seed=args.seed)
    rng = np.random.default_rng([args.seed, 6])
    k = min(args.points, len(X))
    idx = np.sort(rng.choice(len(X), k, replace=False))
    domain = None if args.domain is None else tuple(args.domain)
    run.log(f"region statistics around {k} points of {dinfo['data']} on {args.model}")
    t0 = time.perf_counter()
    st = region_statistics(net, X[idx], domain=domain, neighbours=args.neighbours,
                           progress=run.progress_enabled())
    dt = time.perf_counter() - t0

    def med(a):
        a = np.asarray(a, dtype=np.float64)
        a = a[np.isfinite(a)]
        return float(np.median(a)) if a.size else None

    cos_all = np.concatenate([np.asarray(c, dtype=np.float64).ravel() for c in st.pair_cosines]
                             or [np.zeros(0)])
    result = {
        "command": "stats", **_describe(net, args.model), **dinfo, "seed": args.seed,
        "mode": args.mode, "indices": idx, "domain": domain, "points": int(k),
        "radius": st.radius, "radius_median": med(st.radius),
        "n_facets_mean": float(np.mean(st.n_facets)),
        "cos_mean": float(np.nanmean(st.cos_mean)) if np.isfinite(st.cos_mean).any() else None,
        "cos_median_all_pairs": med(cos_all),
        "boundary_share": float(np.mean(st.boundary_crosses)),
        "boundary_distance_median": med(st.boundary_distance),
        "neighbour_label_change_mean": (float(np.nanmean(st.neighbour_label_change))
                                        if args.neighbours else None),
        "time_s": dt, "files": [],
    }
    f = lambda v: "n/a" if v is None else f"{v:.4g}"  # noqa: E731
    text = [f"{k} regions in {dt:.1f} s: median insphere radius {f(result['radius_median'])}, "
            f"{result['n_facets_mean']:.1f} facets per region, mean |cos| of facet normals "
            f"{f(result['cos_mean'])}, {100 * result['boundary_share']:.0f}% crossed by a "
            "decision boundary"]
    if run.outdir() is not None:
        from .plotting import paper_style, plot_histograms

        with paper_style():
            import matplotlib.pyplot as plt

            fig, axes = plt.subplots(1, 2, figsize=(6.8, 2.5))
            plot_histograms({args.model: st}, quantity="radius", ax=axes[0])
            plot_histograms({args.model: st}, quantity="orthogonality", ax=axes[1])
            result["files"] += run.figure(fig, "region_statistics")
            plt.close(fig)
    return result, text, True


def _cmd_bench(args, run):
    import numpy as np

    from .crossings import segment_crossings
    from .sampling import grid_patterns, missed_regions

    net = load_model(args.model)
    X, y, dinfo = load_data(args.data, net, seed=args.seed)
    rng = np.random.default_rng([args.seed, 1])
    i, j = _pairs(rng, len(X), args.pairs)
    S, E = X[i], X[j]
    n_exact = min(args.exact_pairs, args.pairs)
    rows = []
    ref = None

    def timed(fn, *a, **kw):
        best, out = np.inf, None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = fn(*a, **kw)
            best = min(best, time.perf_counter() - t0)
        return out, best

    segment_crossings(net, S[:2], E[:2], mode="float")  # warm-up (first-call overheads)
    jobs = [("certified", args.pairs), ("float", args.pairs)]
    if n_exact > 0:
        jobs.append(("exact", n_exact))
    for mode, m in run.bar(jobs, desc="modes"):
        res, t = timed(segment_crossings, net, S[:m], E[:m], mode=mode)
        if mode == "certified":
            ref = res
        # against certified mode (exact answers): regions a mode did not report
        base_n = ref.n_pieces[:m]
        missed = np.maximum(base_n - res.n_pieces, 0).sum() / base_n.sum()
        rows.append({"method": mode, "paths": m, "time_s": t, "paths_per_s": m / t,
                     "regions_per_path": float(res.n_pieces.mean()),
                     "fraction_missed": float(missed),
                     "same_as_certified": float(np.mean(res.n_pieces == base_n)),
                     "n_recomputed": int(res.n_recomputed)})
    for n in run.bar(args.grid, desc="grids"):
        g, t = timed(grid_patterns, net, S, E, n)
        missed = missed_regions(ref, g)
        rows.append({"method": f"grid{n}", "paths": args.pairs, "time_s": t,
                     "paths_per_s": args.pairs / t,
                     "regions_per_path": float(g.n_pieces.mean()),
                     "fraction_missed": float(missed.sum() / ref.n_pieces.sum())})
    base = next((r for r in rows if r["method"] == f"grid{max(args.grid)}"), None) if args.grid else None
    for r in rows:
        r["speedup_vs_grid"] = (r["paths_per_s"] / base["paths_per_s"]) if base else None
    result = {"command": "bench", **_describe(net, args.model), **dinfo, "seed": args.seed,
              "mode": args.mode, "pairs": args.pairs, "repeat": args.repeat,
              "reference_grid": base["method"] if base else None, "rows": rows, "files": []}
    ref_name = base["method"] if base else "-"
    text = [f"{'method':<10} {'paths':>7} {'paths/s':>12} {'regions/path':>13} "
            f"{'missed':>8} {'x ' + ref_name:>12}"]
    for r in rows:
        sp = "" if r["speedup_vs_grid"] is None else f"{r['speedup_vs_grid']:.1f}"
        text.append(f"{r['method']:<10} {r['paths']:>7} {r['paths_per_s']:>12.1f} "
                    f"{r['regions_per_path']:>13.2f} {100 * r['fraction_missed']:>7.2f}% {sp:>12}")
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

    p = sub.add_parser("fold", help="space folding between class pairs",
                       description="Exact space folding (Lewandowski et al.) of random paths "
                       "between every ordered pair of classes; heat map and both readings of "
                       "the class-pair statistic.  --workers/--scheduler run it on local "
                       "processes or a Dask cluster (polyfold.parallel).")
    _common(p)
    p.add_argument("--paths-per-pair", type=_positive, default=100,
                   help="random paths per ordered class pair (default 100)")
    p.add_argument("--pairs", type=_pairs_arg, default=None, metavar="A:B,...",
                   help="only these ordered class pairs (default: all)")
    p.add_argument("--workers", type=_positive, default=None,
                   help="local worker processes (polyfold.parallel)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler address, e.g. tcp://host:8786 (polyfold.parallel)")
    p.add_argument("--executor", choices=("auto", "serial", "processes", "dask"), default=None,
                   help="polyfold.parallel executor (default: serial in this process)")
    p.add_argument("--checkpoint", default=None, metavar="DIR",
                   help="stream chunk results to DIR and resume from it (polyfold.parallel)")
    p.set_defaults(handler=_cmd_fold)

    p = sub.add_parser("slice", help="region complex of a 2D slice",
                       description="The exact linear regions of the plane through three data "
                       "points (or of the input plane for 2-input models), their adjacency "
                       "graph and the decision boundary; --out writes the figure and GraphML.")
    _common(p)
    p.add_argument("--points", type=_indices_arg, default=None, metavar="I,J,K",
                   help="indices of three data points (default: random, of three classes)")
    p.add_argument("--margin", type=float, default=0.25,
                   help="room around the three points in slice units (default 0.25)")
    p.add_argument("--bounds", type=_floats_arg(4), default=None, metavar="X0,X1,Y0,Y1",
                   help="2-input models: slice the input plane over this rectangle")
    p.add_argument("--color-by", choices=("graph", "layer", "class"), default="graph",
                   help="region colours of the figure (default graph)")
    p.set_defaults(handler=_cmd_slice)

    p = sub.add_parser("bias", help="maximal bias and injectivity of one layer",
                       description="Exact injectivity of a ReLU layer on the data points (with "
                       "its own bias) and a valid maximal bias on a sphere or ball (Haider et "
                       "al.; bias subtracted: ReLU(W x - alpha)).")
    _common(p)
    p.add_argument("--layer", type=_nonneg, default=0, help="hidden layer index (default 0)")
    p.add_argument("--domain", choices=("sphere", "ball"), default="sphere",
                   help="domain of the maximal bias (default sphere)")
    p.add_argument("--radius", type=float, default=1.0, help="radius of the domain (default 1)")
    p.add_argument("--method", choices=("auto", "polytope", "sampling"), default="auto",
                   help="polytope certificate (inputs <= 8) or Monte Carlo estimate")
    p.add_argument("--samples", type=_positive, default=100_000,
                   help="sphere samples of the sampling method (default 100000)")
    p.add_argument("--points", type=_positive, default=500,
                   help="data points checked for injectivity (default 500)")
    p.set_defaults(handler=_cmd_bias)

    p = sub.add_parser("stats", help="insphere and orthogonality statistics of regions",
                       description="Zhang & Wu's local statistics of the linear regions around "
                       "data points: insphere radius, facet normals and their |cos|, decision "
                       "boundaries (and neighbours with --neighbours).")
    _common(p)
    p.add_argument("--points", type=_positive, default=20,
                   help="random data points whose regions are examined (default 20)")
    p.add_argument("--domain", type=_floats_arg(2), default=[0.0, 1.0], metavar="LO,HI",
                   help="box the regions are clipped to (default 0,1)")
    p.add_argument("--no-domain", dest="domain", action="store_const", const=None,
                   help="do not clip the regions (unbounded regions then fail)")
    p.add_argument("--neighbours", action="store_true",
                   help="also examine every neighbouring region (slower)")
    p.set_defaults(handler=_cmd_stats)

    p = sub.add_parser("bench", help="throughput of the arithmetic modes vs grid sampling",
                       description="Paths per second of exact crossings in float, certified "
                       "and exact mode against batched grid sampling on the same segments, "
                       "with the share of regions the grids miss.")
    _common(p)
    p.add_argument("--pairs", type=_positive, default=2000, help="segments (default 2000)")
    p.add_argument("--exact-pairs", type=_nonneg, default=100,
                   help="segments for exact mode (default 100; 0 to skip)")
    p.add_argument("--grid", type=_grid_arg, default=(100, 1000), metavar="N,N,...",
                   help="grid sizes (default 100,1000)")
    p.add_argument("--repeat", type=_positive, default=1,
                   help="time each method this many times, keep the best (default 1)")
    p.set_defaults(handler=_cmd_bench)

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
