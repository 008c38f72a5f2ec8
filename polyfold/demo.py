"""The main job: ``polyfold demo --out DIR`` on the embedded default.

Everything runs on data that ships with scikit-learn and networks that ship with
polyfold (the six digits MLPs with 60 hidden neurons), so nothing is downloaded.
The demo is a list of sections; each computes its results, writes its figures and
returns a JSON-able summary plus a few lines of markdown.  A section whose module
is not available is reported as ``skipped`` instead of failing the whole run.

Outputs in ``out``:

* ``report.md`` -- the short report (tables and figure links);
* ``results.json`` -- every number of the report;
* ``figures/*.png`` and ``figures/*.pdf`` -- the figures (PDF is vector).

Use :func:`run_demo` from Python or ``polyfold demo`` from the shell.
"""

import json
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import __version__
from ._validation import check_mode, check_positive_int
from .exceptions import ValidationError

__all__ = ["DemoSettings", "run_demo", "compare_with_sampling", "to_jsonable"]


@dataclass(frozen=True)
class DemoSettings:
    """Size of the demo.

    ``DemoSettings.full()`` is the default main job (a few minutes on 2 cores);
    ``DemoSettings.quick()`` is a reduced setting for tests and smoke runs.
    """

    architectures: tuple = ("2x30", "3x20", "4x15", "5x12", "6x10", "10x6")
    n_pairs: int = 2000
    grid: tuple = (11, 100, 1000)
    cantor_depth: int = 3
    fold_pairs: int = 6
    fold_paths_per_pair: int = 100
    stats_points: int = 60
    quick: bool = False

    @classmethod
    def full(cls, **changes):
        return cls(**changes)

    @classmethod
    def quick_setting(cls, **changes):
        base = dict(
            architectures=("2x30", "6x10"),
            n_pairs=150,
            grid=(11, 100, 1000),
            cantor_depth=2,
            fold_pairs=2,
            fold_paths_per_pair=10,
            stats_points=8,
            quick=True,
        )
        base.update(changes)
        return cls(**base)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------
def to_jsonable(obj):
    """Recursively convert numpy scalars/arrays, paths and tuples for ``json.dump``."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        v = float(obj)
        return v if np.isfinite(v) else None
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "numerator") and hasattr(obj, "denominator") and not isinstance(obj, int):
        return float(obj)
    return obj


def _timed(fn, *args, **kwargs):
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t0


def compare_with_sampling(net, starts, ends, *, mode="certified", grid=(11, 100, 1000), tol=None):
    """Exact crossings of a batch of segments against grid sampling on the same paths.

    Parameters
    ----------
    net : PLNet
    starts, ends : (m, input_dim) float
    mode : {"certified", "float", "exact"}
        Arithmetic of the exact crossings.
    grid : sequence of int
        Points per path of each grid sampler.

    Returns
    -------
    crossings : SegmentCrossings
    summary : dict
        ``exact`` (``time_s``, ``paths_per_s``, ``regions``, ``regions_per_path``,
        ``max_regions``, ``n_recomputed``) and ``sampling``, a list with for each grid
        ``n_points``, ``time_s``, ``regions_found``, ``fraction_missed`` (share of
        the exact regions not seen), ``paths_with_misses`` (share of paths where
        sampling missed at least one region) and ``ratio`` (time of the sampler over
        time of the exact computation).

    Examples
    --------
    >>> import polyfold
    >>> from polyfold.demo import compare_with_sampling
    >>> net = polyfold.zoo.sawtooth(3)
    >>> _, s = compare_with_sampling(net, [[0.0]], [[1.0]], grid=(11,))
    >>> s["exact"]["regions"], s["sampling"][0]["regions_found"]
    (8, 7)
    """
    from .crossings import segment_crossings
    from .sampling import grid_patterns, missed_regions

    check_mode(mode)
    starts = np.asarray(starts, dtype=np.float64)
    ends = np.asarray(ends, dtype=np.float64)
    # warm-up on one segment (first-call overheads are not the method's cost)
    segment_crossings(net, starts[:1], ends[:1], mode=mode, tol=tol)
    res, t_exact = _timed(segment_crossings, net, starts, ends, mode=mode, tol=tol)
    total = int(res.n_pieces.sum())
    m = res.n_segments
    summary = {
        "n_paths": m,
        "exact": {
            "mode": mode,
            "time_s": t_exact,
            "paths_per_s": m / t_exact if t_exact > 0 else None,
            "regions": total,
            "regions_per_path": total / m,
            "max_regions": int(res.n_pieces.max()),
            "n_recomputed": int(res.n_recomputed),
        },
        "sampling": [],
    }
    for n in grid:
        g, t_g = _timed(grid_patterns, net, starts, ends, int(n))
        missed = missed_regions(res, g)
        summary["sampling"].append({
            "n_points": int(n),
            "time_s": t_g,
            "paths_per_s": m / t_g if t_g > 0 else None,
            "regions_found": int(g.n_pieces.sum()),
            "fraction_missed": float(missed.sum() / total),
            "paths_with_misses": float(np.mean(missed > 0)),
            "ratio": t_g / t_exact if t_exact > 0 else None,
        })
    return res, summary


def _pct(x):
    return "n/a" if x is None else f"{100.0 * x:.1f}%"


def _num(x, fmt="{:.3g}"):
    return "n/a" if x is None else fmt.format(x)


# ---------------------------------------------------------------------------
# context shared by the sections
# ---------------------------------------------------------------------------
class _Context:
    def __init__(self, out, settings, seed, mode, progress, log):
        self.out = Path(out)
        self.fig_dir = self.out / "figures"
        self.settings = settings
        self.seed = seed
        self.mode = mode
        self.progress = progress
        self.log = log
        self._digits = None
        self._nets = {}
        self.figures = []

    @property
    def digits(self):
        if self._digits is None:
            from .datasets import load_digits_split

            self._digits = load_digits_split(seed=0)
        return self._digits

    def net(self, arch):
        if arch not in self._nets:
            from .zoo import digits_mlp

            self._nets[arch] = digits_mlp(arch, return_info=True)
        return self._nets[arch]

    def rng(self, salt):
        return np.random.default_rng([self.seed, salt])

    def bar(self, iterable, total=None, desc=None):
        from tqdm.auto import tqdm

        return tqdm(iterable, total=total, desc=desc, disable=not self.progress, leave=False)

    def save(self, fig, name):
        from .plotting import save_figure

        paths = save_figure(fig, self.fig_dir, name)
        import matplotlib.pyplot as plt

        plt.close(fig)
        rel = [str(p.relative_to(self.out)) for p in paths]
        self.figures.extend(rel)
        return rel


@dataclass
class _Section:
    key: str
    title: str
    status: str = "ok"
    reason: str = ""
    summary: dict = field(default_factory=dict)
    markdown: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    time_s: float = 0.0


# ---------------------------------------------------------------------------
# sections
# ---------------------------------------------------------------------------
def _section_crossings(ctx, sec):
    from .plotting import paper_style, plot_sampling_comparison

    s = ctx.settings
    _, _, Xte, yte = ctx.digits
    rng = ctx.rng(1)
    i = rng.integers(0, len(Xte), s.n_pairs)
    j = (i + rng.integers(1, len(Xte), s.n_pairs)) % len(Xte)  # j != i
    rows = []
    for arch in ctx.bar(s.architectures, desc="crossings"):
        net, info = ctx.net(arch)
        _, cmp_ = compare_with_sampling(net, Xte[i], Xte[j], mode=ctx.mode, grid=s.grid)
        row = {"net": f"digits {arch}", "arch": arch,
               "test_accuracy": info.get("test_accuracy")}
        row.update(cmp_)
        rows.append(row)
        ctx.log(f"  {arch}: {cmp_['exact']['regions_per_path']:.1f} regions/path, "
                f"grid{s.grid[-1]} misses {_pct(cmp_['sampling'][-1]['fraction_missed'])}")
    sec.summary = {"n_pairs": int(s.n_pairs), "grid": list(s.grid), "mode": ctx.mode,
                   "networks": rows}
    head = ("| net | test acc. | regions / path | exact time (s) | "
            + " | ".join(f"grid {n}: missed" for n in s.grid)
            + f" | grid {s.grid[-1]} time / exact time |")
    md = [
        f"Exact crossings (`mode=\"{ctx.mode}\"`) of {s.n_pairs} segments between random pairs "
        "of test images, against grid sampling with "
        + ", ".join(str(n) for n in s.grid) + " points per segment on the same segments. "
        "*missed* is the share of the exact regions that the grid never visits.",
        "",
        head,
        "|" + "---|" * (5 + len(s.grid)),
    ]
    for r in rows:
        e = r["exact"]
        md.append(
            f"| {r['arch']} | {_num(r['test_accuracy'], '{:.3f}')} | {e['regions_per_path']:.1f} | "
            f"{e['time_s']:.3f} | "
            + " | ".join(_pct(x["fraction_missed"]) for x in r["sampling"])
            + f" | {_num(r['sampling'][-1]['ratio'], '{:.1f}x')} |"
        )
    recomputed = sum(r["exact"]["n_recomputed"] for r in rows)
    if ctx.mode == "certified":
        md += ["", f"Certified mode recomputed {recomputed} of {len(rows) * s.n_pairs} segments "
               "exactly (those whose float signs its error bounds could not decide)."]
    with paper_style():
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(6.8, 2.5))
        plot_sampling_comparison(rows, ax=axes[0])
        plot_sampling_comparison(rows, ax=axes[1], quantity="ratio")
        axes[1].get_legend().remove()
        sec.figures += ctx.save(fig, "crossings_vs_sampling")
    md += ["", "![crossings vs sampling](figures/crossings_vs_sampling.png)"]
    sec.markdown = md


_SECTIONS = [
    ("crossings", "Exact crossings vs grid sampling", _section_crossings),
]


def _register(key, title, fn):
    _SECTIONS.append((key, title, fn))


# ---------------------------------------------------------------------------
# driver
# ---------------------------------------------------------------------------
_MISSING = (ImportError, AttributeError, NotImplementedError)


def run_demo(out, *, settings=None, quick=False, seed=0, mode="certified", progress=False,
             log=None, sections=None):
    """Run the demo and write ``report.md``, ``results.json`` and ``figures/`` to ``out``.

    Parameters
    ----------
    out : str or Path
        Output folder (created).
    settings : DemoSettings, optional
        Sizes; default :meth:`DemoSettings.full` (or the reduced setting when ``quick``).
    quick : bool
        Use the reduced setting (seconds instead of minutes).
    seed : int
        Seed of every random choice (pairs of images, slice points, ...).
    mode : {"certified", "float", "exact"}
        Arithmetic of the exact computations.
    progress : bool
        Show tqdm progress bars.
    log : callable, optional
        Called with one status line per step (``print`` from the command line).
    sections : sequence of str, optional
        Run only these sections (keys of the report, e.g. ``["crossings"]``).

    Returns
    -------
    dict
        The content of ``results.json``: ``settings``, ``sections`` (each with
        ``status`` ``"ok"``, ``"skipped"`` or ``"failed"``, ``time_s``, ``summary``,
        ``figures``), ``figures``, ``total_time_s``.
    """
    check_mode(mode)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValidationError(f"seed must be an int, got {seed!r}.")
    if settings is None:
        settings = DemoSettings.quick_setting() if quick else DemoSettings.full()
    if not isinstance(settings, DemoSettings):
        raise ValidationError(
            f"settings must be a DemoSettings, got {type(settings).__name__}; "
            "use DemoSettings.quick_setting() or DemoSettings.full()."
        )
    check_positive_int(settings.n_pairs, "settings.n_pairs")
    known = [k for k, _, _ in _SECTIONS]
    if sections is not None:
        bad = [k for k in sections if k not in known]
        if bad:
            raise ValidationError(
                f"unknown demo section(s) {bad}; choose from {', '.join(known)}."
            )
    log = log or (lambda msg: None)
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValidationError(f"cannot create output folder {str(out)!r}: {err.strerror}.") from err
    ctx = _Context(out, settings, int(seed), mode, progress, log)
    t_start = time.perf_counter()
    done = []
    for key, title, fn in _SECTIONS:
        if sections is not None and key not in sections:
            continue
        sec = _Section(key, title)
        log(f"[{key}] {title}")
        t0 = time.perf_counter()
        try:
            fn(ctx, sec)
        except _MISSING as err:
            sec.status, sec.reason = "skipped", f"not available ({type(err).__name__}: {err})"
            log(f"  skipped: not available ({err})")
        except Exception as err:  # keep the report going; the run's status says it failed
            sec.status, sec.reason = "failed", f"{type(err).__name__}: {err}"
            log(f"  FAILED: {type(err).__name__}: {err}")
        sec.time_s = time.perf_counter() - t0
        done.append(sec)
    total = time.perf_counter() - t_start
    results = {
        "polyfold_version": __version__,
        "python": platform.python_version(),
        "machine": platform.platform(),
        "seed": int(seed),
        "mode": mode,
        "settings": {k: getattr(settings, k) for k in settings.__dataclass_fields__},
        "sections": {
            s.key: {"title": s.title, "status": s.status, "reason": s.reason,
                    "time_s": s.time_s, "summary": s.summary, "figures": s.figures}
            for s in done
        },
        "figures": list(ctx.figures),
        "total_time_s": total,
    }
    results = to_jsonable(results)
    with open(out / "results.json", "w") as f:
        json.dump(results, f, indent=1)
    (out / "report.md").write_text(_report(results, done))
    return results


def _report(results, done):
    lines = [
        "# polyfold demo report",
        "",
        f"polyfold {results['polyfold_version']}, Python {results['python']}, "
        f"{results['machine']}; seed {results['seed']}, mode `{results['mode']}`; "
        f"{'reduced' if results['settings']['quick'] else 'full'} setting; "
        f"total {results['total_time_s']:.1f} s.",
        "",
        "Everything below is computed from the bundled digits data and the digits MLPs "
        "that ship with polyfold (60 hidden neurons each); no data were downloaded. "
        "All numbers are also in `results.json`.",
        "",
    ]
    for s in done:
        lines.append(f"## {s.title}")
        lines.append("")
        if s.status == "ok":
            lines += s.markdown
        elif s.status == "skipped":
            lines.append(f"*skipped: {s.reason}*")
        else:
            lines.append(f"**failed:** `{s.reason}`")
        lines += ["", f"<sub>{s.time_s:.1f} s</sub>", ""]
    return "\n".join(lines) + "\n"
