"""The argument parser and :func:`main` of the ``polyfold`` command."""

import argparse
import json
import sys
import time

from ..exceptions import PolyfoldError
from ._run import _Run
from .cmd_demo import _cmd_demo, _SectionsFailed
from .cmd_experiments import add_experiment_parsers
from .cmd_paths import _cmd_bench, _cmd_crossings, _cmd_fold
from .cmd_regions import _cmd_bias, _cmd_slice, _cmd_stats

PROG = "polyfold"
MODES = ("certified", "float", "exact")
DEFAULT_MODEL = "zoo:digits:6x10"


class _UsageError(Exception):
    """Raised instead of argparse's exit on a bad command line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise _UsageError(f"{self.prog}: error: {message} (see '{self.prog} --help')")


# ---------------------------------------------------------------------------
# argument types
# ---------------------------------------------------------------------------
def _grid_arg(text):
    """``"11,100"`` -> (11, 100); ``"none"`` -> () (no grid comparison)."""
    if text.strip().lower() == "none":
        return ()
    try:
        vals = tuple(int(v) for v in text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers >= 2 such as 11,100 (or 'none' to skip the "
            f"grids), got {text!r}"
        ) from err
    if any(v < 2 for v in vals):
        raise argparse.ArgumentTypeError(
            f"grid sizes must be >= 2 (or 'none' to skip the grids), got {text!r}"
        )
    return vals


def _int_at_least(minimum, what, maximum=None):
    """argparse type: an integer >= ``minimum`` (and <= ``maximum``; ``what`` names
    it in the error)."""

    def parse(text):
        try:
            v = int(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from err
        if v < minimum or (maximum is not None and v > maximum):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return v

    return parse


_positive = _int_at_least(1, "a positive integer")
_nonneg = _int_at_least(0, "an integer >= 0")
# the range every backend takes (numpy, scikit-learn, torch): _validation.SEED_MAX, not
# imported because `polyfold --help` must not import numpy (tests/test_cli.py)
_SEED_MAX = 2**32 - 1
_seed = _int_at_least(0, f"an integer seed in 0..{_SEED_MAX}", _SEED_MAX)


def _float_at_least(minimum, what, *, strict=False):
    """argparse type: a finite number >= ``minimum`` (> with ``strict``); NaN and
    infinity are refused."""
    import math

    def parse(text):
        try:
            v = float(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from err
        if not math.isfinite(v) or v < minimum or (strict and v == minimum):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return v

    return parse


_positive_finite = _float_at_least(0.0, "a finite number > 0", strict=True)
_nonneg_finite = _float_at_least(0.0, "a finite number >= 0")


def _nonempty(what):
    """argparse type: a string that is not empty (``what`` names the expected value)."""

    def parse(text):
        if not text.strip():
            raise argparse.ArgumentTypeError(f"expected {what}, got an empty string")
        return text

    return parse


def _sections_arg(text):
    """``"crossings,folding"`` -> the names (at least one)."""
    vals = [v.strip() for v in text.split(",") if v.strip()]
    if not vals:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated section names such as crossings,folding, got {text!r} "
            "(drop --sections to run them all)"
        )
    return ",".join(vals)


def _shape_arg(text):
    """``"1,8,8"`` -> (1, 8, 8)."""
    try:
        vals = tuple(int(v) for v in text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated positive integers such as 1,8,8, got {text!r}"
        ) from err
    if not vals or min(vals) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers such as 1,8,8, got {text!r}")
    return vals


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
    if min(vals) < 0:
        raise argparse.ArgumentTypeError(f"expected three indices >= 0 like 0,5,9, got {text!r}")
    return vals


def _floats_arg(n, what):
    """argparse type: ``n`` comma-separated finite numbers, read as ``n // 2``
    intervals ``lo < hi`` (``what`` names them in the error, e.g. ``"LO,HI"``)."""
    import math

    def parse(text):
        expected = f"expected {n} comma-separated numbers {what}, got {text!r}"
        try:
            vals = [float(v) for v in text.split(",")]
        except ValueError as err:
            raise argparse.ArgumentTypeError(expected) from err
        if len(vals) != n:
            raise argparse.ArgumentTypeError(expected)
        if not all(math.isfinite(v) for v in vals):
            raise argparse.ArgumentTypeError(
                f"expected finite numbers {what} (no NaN or inf), got {text!r}"
            )
        if any(not vals[k] < vals[k + 1] for k in range(0, n, 2)):
            raise argparse.ArgumentTypeError(
                f"expected {what} with each lower end below its upper end, got {text!r}"
            )
        return vals
    return parse


# ---------------------------------------------------------------------------
# parser
# ---------------------------------------------------------------------------
def _common(p, *, model=True, out_help="write JSON (and figures) to this folder"):
    g = p.add_argument_group("common options")
    g.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    g.add_argument("--out", metavar="DIR", type=_nonempty("a folder name"), help=out_help)
    g.add_argument("--seed", type=_seed, default=0,
                   help=f"seed of every random choice, 0..{_SEED_MAX} (default 0)")
    g.add_argument("--mode", choices=MODES, default="certified",
                   help="arithmetic: certified (default; exact answers at float speed), "
                        "float (fast, no guarantee) or exact (rationals)")
    g.add_argument("--quiet", "-q", action="store_true",
                   help="no progress bars or status lines (standard error); the results "
                        "are still printed")
    if model:
        g.add_argument("--model", default=DEFAULT_MODEL, metavar="SPEC",
                       type=_nonempty("a model file or zoo:NAME:ARGS"),
                       help="network: .npz, pickled scikit-learn MLP (.pkl), torch model "
                            "(.pt, torch.save(model)), .onnx or zoo:NAME:ARGS (default "
                            f"{DEFAULT_MODEL}); see polyfold.load_model")
        g.add_argument("--input-shape", type=_shape_arg, default=None, metavar="C,H,W",
                       help="shape of one input of the model, e.g. 1,8,8 (torch and "
                            "ONNX models with convolutions need it)")
        g.add_argument("--data", default="auto", metavar="SPEC",
                       type=_nonempty("digits, digits-train, uniform:N or a data file"),
                       help="points: digits, digits-train, uniform:N, or a .npz/.npy/.csv "
                            "file (default: digits for 64-input models, else uniform:1000)")


def build_parser():
    """The ``argparse`` parser of the ``polyfold`` command."""
    from .. import __version__

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
    p.add_argument("--sections", type=_sections_arg, default=None, metavar="LIST",
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
    p.add_argument("--scheduler", type=_nonempty("a Dask scheduler address"), default=None,
                   metavar="ADDRESS",
                   help="Dask scheduler address, e.g. tcp://host:8786 (polyfold.parallel)")
    p.add_argument("--executor", choices=("auto", "serial", "processes", "dask"), default=None,
                   help="polyfold.parallel executor (default: serial in this process)")
    p.add_argument("--checkpoint", type=_nonempty("a folder name"), default=None, metavar="DIR",
                   help="stream chunk results to DIR and resume from it (polyfold.parallel)")
    p.add_argument("--no-resume", dest="resume", action="store_false",
                   help="with --checkpoint: discard the chunks already in DIR and start over")
    p.add_argument("--same-class", action="store_true",
                   help="also paths inside one class (pairs a:a; the papers' 100 pairs of "
                        "10 classes)")
    p.set_defaults(handler=_cmd_fold)

    p = sub.add_parser("slice", help="region complex of a 2D slice",
                       description="The exact linear regions of the plane through three data "
                       "points (or of the input plane for 2-input models), their adjacency "
                       "graph and the decision boundary; --out writes the figure and GraphML.")
    _common(p)
    p.add_argument("--points", type=_indices_arg, default=None, metavar="I,J,K",
                   help="indices of three data points (default: random, of three classes)")
    p.add_argument("--margin", type=_nonneg_finite, default=0.25,
                   help="room around the three points in slice units (default 0.25)")
    p.add_argument("--bounds", type=_floats_arg(4, "X0,X1,Y0,Y1"), default=None,
                   metavar="X0,X1,Y0,Y1",
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
    p.add_argument("--radius", type=_positive_finite, default=1.0,
                   help="radius of the domain, > 0 (default 1)")
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
    p.add_argument("--domain", type=_floats_arg(2, "LO,HI"), default=[0.0, 1.0], metavar="LO,HI",
                   help="box the regions are clipped to, LO < HI (default 0,1)")
    p.add_argument("--no-domain", dest="domain", action="store_const", const=None,
                   help="do not clip the regions (unbounded regions then fail)")
    p.add_argument("--neighbours", action="store_true",
                   help="also examine every neighbouring region (slower)")
    p.add_argument("--jobs", type=_positive, default=None,
                   help="worker processes for the points (default: this process; each worker "
                        "starts in about half a second, so it pays for many points)")
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
                   help="grid sizes (default 100,1000; 'none' to skip)")
    p.add_argument("--repeat", type=_positive, default=1,
                   help="time each method this many times, keep the best (default 1)")
    p.set_defaults(handler=_cmd_bench)

    add_experiment_parsers(sub)  # interaction, regularize
    return parser


#: Python keyword arguments named in library error messages -> the command's flags
_FLAG_HINTS = (
    (r"\bsame_class=True", "--same-class"),
    (r"\bresume=False", "--no-resume"),
    (r"\bor scheduler=None for a local cluster", "or drop --scheduler for a local cluster"),
    (r"\bscheduler=None", "no --scheduler"),
    (r"\bscheduler=", "--scheduler "),
    (r"\bexecutor='(\w+)'", r"--executor \1"),
    (r"\bexecutor=", "--executor "),
    (r"\bworkers=", "--workers "),
    (r"\bn_jobs=1\b", "no --jobs"),
    (r"\bn_jobs\b", "--jobs"),
    (r"\bout=", "--checkpoint "),
    (r"\bpaths_per_pair\b", "--paths-per-pair"),
    (r"\bchunk_size\b", "the chunk size"),
    (r"\bdomain=\(lower, upper\), e\.g\. domain=\(0, 1\)", "--domain LO,HI, e.g. --domain 0,1"),
    (r"\bdomain=\(lower, upper\)", "--domain LO,HI"),
    (r"\bdomain='(\w+)'", r"--domain \1"),
    (r"\bmethod='(\w+)'", r"--method \1"),
    (r"\bradius=", "--radius "),
    (r"\bn_samples\b", "--samples"),
    (r" \(optionally margin='covering'\)", ""),
    (r", or raise max_dim= if you know the hull is small", ""),
    (r"^scheduler is only used", "--scheduler is only used"),
    (r"\bdrop scheduler\b", "drop --scheduler"),
    (r"^pairs (must|lists)", r"--pairs \1"),
    (r"\bmode='(\w+)'", r"--mode \1"),
    (r"\binput_shape=", "--input-shape "),
    (r"\binput_shape\b", "--input-shape"),
)


def cli_message(message):
    """A library error message with Python keyword arguments replaced by the flags of
    the ``polyfold`` command (``same_class=True`` -> ``--same-class``, ...).

    Examples
    --------
    >>> cli_message("pairs must hold distinct labels; pass same_class=True for paths inside one class.")
    '--pairs must hold distinct labels; pass --same-class for paths inside one class.'
    >>> cli_message("use another directory, or pass resume=False to overwrite it.")
    'use another directory, or pass --no-resume to overwrite it.'
    """
    import re

    for pattern, repl in _FLAG_HINTS:
        message = re.sub(pattern, repl, message)
    return message


def _print_json(result):
    from ..demo import to_jsonable

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

    Raises
    ------
    ValidationError
        ``argv`` is a string or holds non-strings (a programming error, not a bad
        command line).

    Examples
    --------
    >>> from polyfold.cli import main
    >>> main(["crossings", "--model", "zoo:sawtooth:3", "--pairs", "5", "--grid", "none",
    ...       "--quiet"])   # --quiet: the results only, no status line
    5 segments: ... regions per segment (max ...), ... s, ... recomputed exactly
    0
    """
    if argv is not None and (isinstance(argv, (str, bytes))
                             or not all(isinstance(a, str) for a in argv)):
        from ..exceptions import ValidationError

        raise ValidationError(
            f"argv must be a list of strings such as ['crossings', '--pairs', '10'], got "
            f"{argv!r}; split a command line with shlex.split(...)."
        )
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
        print(f"{PROG} {args.command}: error: {cli_message(str(err))}", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"{PROG} {args.command}: error: out of memory; use smaller sizes (fewer "
              "--pairs, --points, --samples or data points).", file=sys.stderr)
        return 1
    except OSError as err:
        where = f" {err.filename!r}" if getattr(err, "filename", None) else ""
        print(f"{PROG} {args.command}: error:{where} {err.strerror or err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG} {args.command}: interrupted", file=sys.stderr)
        return 130
    if isinstance(result, dict) and run.model_info is not None:
        result.setdefault("model_training", run.model_info)
    if isinstance(result, dict) and "elapsed_s" not in result:
        result["elapsed_s"] = time.perf_counter() - t0
    if write_json and run.out is not None:
        d = run.outdir()
        path = d / f"{args.command}.json"
        from ..demo import to_jsonable

        if isinstance(result.get("files"), list):
            result["files"].append(str(path))
        path.write_text(json.dumps(to_jsonable(result), indent=1))
    try:
        if args.json:
            _print_json(result)
        else:  # the results: printed with --quiet too (it drops status lines and progress only)
            for line in text:
                print(line)
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `polyfold ... | head`: the reader left, stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return status
    return status
