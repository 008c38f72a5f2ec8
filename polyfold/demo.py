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
    fold_pairs: object = None  # None: all ordered class pairs
    fold_paths_per_pair: int = 300
    slice_grid: tuple = (50, 200, 1000)
    injectivity_points: int = 300
    redundancy_dims: tuple = (2, 3, 4)
    redundancies: tuple = (1.5, 2, 3, 4, 6, 8)
    redundancy_trials: int = 10
    stats_points: int = 25
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
            fold_pairs=4,
            fold_paths_per_pair=10,
            slice_grid=(20, 100),
            injectivity_points=50,
            redundancy_dims=(2, 3),
            redundancies=(2, 4, 8),
            redundancy_trials=3,
            stats_points=2,
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


def compare_with_sampling(net, starts, ends, *, mode="certified", grid=(11, 100, 1000), tol=None,
                          progress=None):
    """Exact crossings of a batch of segments against grid sampling on the same paths.

    Parameters
    ----------
    net : PLNet
    starts, ends : (m, input_dim) float
    mode : {"certified", "float", "exact"}
        Arithmetic of the exact crossings.
    grid : sequence of int
        Points per path of each grid sampler.
    tol : Tolerance, optional
    progress : bool or None
        Progress bar of the exact crossings (see :func:`polyfold.segment_crossings`).

    Returns
    -------
    crossings : SegmentCrossings
    summary : dict
        ``exact`` (``time_s``, ``paths_per_s``, ``regions``, ``regions_per_path``,
        ``max_regions``, ``n_recomputed``) and ``sampling``, a list with for each grid
        ``n_points``, ``time_s``, ``regions_found`` (exact regions seen by at least one
        sample), ``fraction_missed`` (share of the exact regions not seen),
        ``spurious_samples`` (samples that landed on a boundary and saw the codes of
        no open region), ``paths_with_misses`` (share of paths where
        sampling missed at least one region) and ``ratio`` (time of the sampler over
        time of the exact computation).

    Examples
    --------
    >>> import polyfold
    >>> from polyfold.demo import compare_with_sampling
    >>> net = polyfold.zoo.sawtooth(3)
    >>> _, s = compare_with_sampling(net, [[0.01]], [[0.99]], grid=(5,))
    >>> g = s["sampling"][0]   # x = 0.01, 0.255, 0.5 (a boundary), 0.745, 0.99
    >>> s["exact"]["regions"], g["regions_found"], g["spurious_samples"], g["fraction_missed"]
    (8, 4, 1, 0.5)
    """
    from .crossings import segment_crossings
    from .sampling import grid_patterns, missed_regions

    check_mode(mode)
    starts = np.asarray(starts, dtype=np.float64)
    ends = np.asarray(ends, dtype=np.float64)
    # warm-up on one segment (first-call overheads are not the method's cost)
    segment_crossings(net, starts[:1], ends[:1], mode=mode, tol=tol, progress=False)
    res, t_exact = _timed(segment_crossings, net, starts, ends, mode=mode, tol=tol,
                          progress=progress)
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
        # chunks of 250k points (~128 MB for 64 inputs) keep the baseline's memory modest
        g, t_g = _timed(grid_patterns, net, starts, ends, int(n), chunk_points=250_000)
        missed = missed_regions(res, g)
        try:
            from .sampling import spurious_samples

            spurious = int(spurious_samples(res, g).sum())
        except ImportError:  # older sampling module
            spurious = None
        summary["sampling"].append({
            "n_points": int(n),
            "time_s": t_g,
            "paths_per_s": m / t_g if t_g > 0 else None,
            "regions_found": int(total - missed.sum()),
            "spurious_samples": spurious,
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
        from ._progress import progress_bar

        return progress_bar(iterable, total=total, desc=desc, progress=bool(self.progress))

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
        _, cmp_ = compare_with_sampling(net, Xte[i], Xte[j], mode=ctx.mode, grid=s.grid,
                                        progress=bool(ctx.progress))
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


def _section_cantornet(ctx, sec):
    from .folding import sampled_folding, space_folding
    from .plotting import folding_walk_figure, paper_style, sample_walk
    from .zoo import cantornet

    k = ctx.settings.cantor_depth
    x1, x2 = np.array([0.0, 0.75]), np.array([1.0, 0.75])
    rows = []
    walk_a = None
    for rep, units in (("A", "hidden"), ("A", "hidden+output"), ("B", "hidden"), ("C", "hidden")):
        net = cantornet(k, rep)
        ex = space_folding(net, x1, x2, mode="exact", units=units)
        sp = sampled_folding(net, x1[None], x2[None], n_points=11, units=units)
        rows.append({
            "representation": rep, "units": units, "n_hidden": int(net.n_hidden),
            "chi": float(ex.chi), "chi_exact": str(ex.chi), "n_regions": int(ex.n_regions),
            "chi_grid11": float(sp.measures.chi[0]), "chi_grid11_exact": str(sp.measures.chi_exact(0)),
            "regions_grid11": int(sp.measures.n_regions[0]),
        })
        if rep == "A" and units == "hidden":
            walk_a, net_a = ex, net
    sec.summary = {"depth": k, "path": [x1, x2], "rows": rows}
    md = [
        f"CantorNet of recursion depth k = {k} (three representations of the same function) on "
        "the authors' path (0, 3/4) -> (1, 3/4): exact folding against the 11-point grid "
        "the authors' code uses. `hidden+output` adds the output unit's bit (the authors' "
        "convention, 5k + 1 bits for A).",
        "",
        "| representation | bits | hidden neurons | regions (exact) | chi (exact) | "
        "regions (grid 11) | chi (grid 11) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        md.append(f"| {r['representation']} | {r['units']} | {r['n_hidden']} | {r['n_regions']} | "
                  f"{r['chi_exact']} = {r['chi']:.3f} | {r['regions_grid11']} | "
                  f"{r['chi_grid11_exact']} = {r['chi_grid11']:.3f} |")
    with paper_style():
        samp = sample_walk(net_a, x1, x2, 11)
        fig, _ = folding_walk_figure(walk_a, sampled=samp,
                                     title=f"CantorNet A, k = {k}: (0, 3/4) to (1, 3/4)")
        sec.figures += ctx.save(fig, "cantornet_walk")
    md += ["", "![CantorNet walk](figures/cantornet_walk.png)"]
    sec.markdown = md


def _class_pairs(labels, n, rng):
    allp = [(int(a), int(b)) for a in labels for b in labels if a != b]
    if n is None or n >= len(allp):
        return None, len(allp)
    idx = rng.choice(len(allp), n, replace=False)
    return [allp[i] for i in sorted(idx)], n


def _section_folding(ctx, sec):
    from .folding import class_pair_folding, sampling_error, space_folding
    from .plotting import (folding_walk_figure, paper_style, plot_class_pair_heatmap,
                           plot_folding_vs_depth, sample_walk)

    s = ctx.settings
    _, _, Xte, yte = ctx.digits
    pairs, n_pairs = _class_pairs(np.unique(yte), s.fold_pairs, ctx.rng(2))
    rows, results = [], {}
    rng = ctx.rng(3)
    n_err = min(1000, 10 * s.fold_paths_per_pair)
    i = rng.integers(0, len(Xte), n_err)
    j = rng.integers(0, len(Xte), n_err)
    keep = yte[i] != yte[j]
    i, j = i[keep], j[keep]
    for arch in ctx.bar(s.architectures, desc="folding"):
        net, info = ctx.net(arch)
        cp = class_pair_folding(net, Xte, yte, paths_per_pair=s.fold_paths_per_pair,
                                seed=ctx.seed, mode=ctx.mode, pairs=pairs)
        results[arch] = cp
        errs = {}
        for n in (11, 100):
            e = sampling_error(net, Xte[i], Xte[j], n_points=n, mode=ctx.mode)
            errs[f"grid{n}"] = e.as_dict()
        rows.append({
            "arch": arch, "label": arch, "depth": len(net.widths),
            "test_accuracy": info.get("test_accuracy"),
            "pair_max_median": cp.pair_max_median,
            "path_prefix_max_median": cp.path_prefix_max_median,
            "fraction_flat": cp.fraction_flat, "n_pairs": cp.n_pairs, "n_paths": cp.n_paths,
            "n_recomputed": cp.n_recomputed, "time_s": cp.elapsed, "sampling_error": errs,
            "pair_max": cp.pair_max,
        })
        ctx.log(f"  {arch}: median pair max chi {cp.pair_max_median:.3f}, "
                f"{cp.n_paths} paths in {cp.elapsed:.1f} s")
    sec.summary = {"paths_per_pair": s.fold_paths_per_pair, "n_pairs": n_pairs,
                   "pairs": pairs, "sampling_error_paths": int(len(i)), "networks": rows}
    md = [
        f"Space folding (Lewandowski et al., TMLR 2025) on the exact walks of "
        f"{s.fold_paths_per_pair} random paths per ordered pair of digit classes "
        f"({n_pairs} pairs), between test images of the two classes. Reading 1: per pair "
        "the maximum chi, then the median over pairs; reading 2: per path the maximum of "
        "its prefix curve, then the median of the non-zero ones. The last columns compare "
        f"chi measured on an 11- and a 100-point grid with the exact chi on {len(i)} "
        "cross-class paths.",
        "",
        "| net | test acc. | reading 1 | reading 2 | flat paths | grid 11: chi wrong | "
        "grid 11: mean abs. error | grid 100: chi wrong |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        e11, e100 = r["sampling_error"]["grid11"], r["sampling_error"]["grid100"]
        md.append(
            f"| {r['arch']} | {_num(r['test_accuracy'], '{:.3f}')} | {_num(r['pair_max_median'])} | "
            f"{_num(r['path_prefix_max_median'])} | {_pct(r['fraction_flat'])} | "
            f"{_pct(e11['fraction_wrong'])} | {e11['abs_error_mean']:.3f} | "
            f"{_pct(e100['fraction_wrong'])} |"
        )
    show = "6x10" if "6x10" in results else s.architectures[-1]
    with paper_style():
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(3.6, 3.0))
        plot_class_pair_heatmap(results[show], ax=ax, annotate=n_pairs > 20)
        ax.set_title(f"digits {show}: max chi per class pair")
        sec.figures += ctx.save(fig, "folding_heatmap")
        if len(rows) > 1:
            fig, ax = plt.subplots(figsize=(3.4, 2.5))
            plot_folding_vs_depth(rows, ax=ax)
            sec.figures += ctx.save(fig, "folding_vs_depth")
        net, _ = ctx.net(show)
        # show a path that folds: the largest chi among the first cross-class paths
        walks = [(space_folding(net, Xte[p], Xte[q], mode=ctx.mode), int(p), int(q))
                 for p, q in zip(i[:30], j[:30])]
        walk, a, b = max(walks, key=lambda w: float(w[0].chi))
        samp = sample_walk(net, Xte[a], Xte[b], 11)
        fig, _ = folding_walk_figure(
            walk, sampled=samp,
            title=f"digits {show}: class-{yte[a]} image to class-{yte[b]} image")
        sec.figures += ctx.save(fig, "folding_walk_digits")
    md += ["", f"![heat map](figures/folding_heatmap.png)"]
    if len(rows) > 1:
        md += ["", "![folding vs depth](figures/folding_vs_depth.png)"]
    md += ["", "![walk](figures/folding_walk_digits.png)"]
    sec.markdown = md


def _section_slice(ctx, sec):
    from .plotting import paper_style, slice_colouring, slice_figure
    from .slices import slice_through

    s = ctx.settings
    _, _, Xte, yte = ctx.digits
    arch = "6x10" if "6x10" in s.architectures else s.architectures[-1]
    net, _ = ctx.net(arch)
    rng = ctx.rng(4)
    classes = rng.choice(np.unique(yte), 3, replace=False)
    idx = [int(rng.choice(np.nonzero(yte == c)[0])) for c in classes]
    x1, x2, x3 = Xte[idx]
    margin = 0.25
    t0 = time.perf_counter()
    # the plane through the three images: they sit at (0, 0), (1, 0), (0, 1)
    cx = slice_through(net, x1, x2, x3, margin=margin, mode=ctx.mode)
    G = cx.graph
    db = cx.decision_boundary
    t_exact = time.perf_counter() - t0
    colours = slice_colouring(cx)
    # what a dense grid of the same square sees
    grid = {}
    for n in s.slice_grid:
        u = np.linspace(-margin, 1 + margin, n)
        UU, VV = np.meshgrid(u, u)
        t1 = time.perf_counter()
        found = cx.locate(np.column_stack([UU.ravel(), VV.ravel()]))
        t_grid = time.perf_counter() - t1
        seen = np.unique(found[found >= 0])
        missed = np.setdiff1d(np.arange(cx.n_regions), seen)
        grid[n] = {"points": n * n, "regions_found": int(len(seen)),
                   "fraction_missed": 1 - len(seen) / cx.n_regions,
                   "area_missed": float(cx.measures[missed].sum() / cx.measures.sum()),
                   "time_s": t_grid}
    deg = np.array([d for _, d in G.degree()]) if G.number_of_nodes() else np.zeros(0)
    sec.summary = {
        "net": arch, "test_indices": idx, "labels": [int(yte[k]) for k in idx],
        "margin": margin, "n_regions": int(cx.n_regions), "n_edges": int(G.number_of_edges()),
        "mean_degree": float(deg.mean()) if deg.size else 0.0,
        "max_degree": int(deg.max()) if deg.size else 0,
        "boundary_pieces": int(len(db)), "n_recomputed": int(cx.n_recomputed),
        "n_degenerate": int(cx.n_degenerate), "n_colours": int(colours.max() + 1),
        "predicted_classes": sorted({int(c) for c in cx.predicted_classes}),
        "time_s": t_exact, "grid": grid,
    }
    try:
        cx.to_graphml(ctx.out / "slice_graph.graphml")
        sec.summary["graphml"] = "slice_graph.graphml"
    except Exception as err:  # optional extra output
        sec.summary["graphml"] = f"not written ({type(err).__name__}: {err})"
    md = [
        f"The plane through three test images (classes {', '.join(str(int(yte[k])) for k in idx)}) "
        f"of digits {arch}, over [-{margin}, {1 + margin}]^2 in slice coordinates (the images "
        f"sit at (0, 0), (1, 0), (0, 1)): {cx.n_regions} linear regions, "
        f"{G.number_of_edges()} adjacent pairs (mean degree {sec.summary['mean_degree']:.2f}), "
        f"{len(db)} decision-boundary pieces, computed in {t_exact:.2f} s "
        f"(`mode=\"{ctx.mode}\"`; {cx.n_recomputed} polygons recomputed exactly). "
        f"A greedy colouring of the region graph needs {sec.summary['n_colours']} colours. "
        f"The region graph is in `{sec.summary['graphml']}`.",
        "",
        "| grid | points | regions found | regions missed | area of missed regions |",
        "|---|---|---|---|---|",
    ]
    for n, g in grid.items():
        md.append(f"| {n} x {n} | {g['points']} | {g['regions_found']} | "
                  f"{_pct(g['fraction_missed'])} | {_pct(g['area_missed'])} |")
    with paper_style():
        fig, _ = slice_figure(cx, point_labels=[int(yte[k]) for k in idx])
        sec.figures += ctx.save(fig, "slice")
    md += ["", "![slice](figures/slice.png)"]
    sec.markdown = md


def _icosahedron():
    g = (1 + 5 ** 0.5) / 2
    V = []
    for a in (-1, 1):
        for b in (-g, g):
            V += [(0, a, b), (a, b, 0), (b, 0, a)]
    V = np.array(V, dtype=np.float64)
    return V / np.linalg.norm(V, axis=1, keepdims=True)


def _section_injectivity(ctx, sec):
    from .injectivity import Points, check_injectivity, maximal_bias, omnidirectionality
    from .plotting import maximal_bias_figure, paper_style

    s = ctx.settings
    _, _, Xte, _ = ctx.digits
    X = Xte[: s.injectivity_points]
    first = []
    for arch in s.architectures:
        net, _ = ctx.net(arch)
        W = net.layers[0][0]
        v = check_injectivity((net, 0), domain=Points(X))
        first.append({"arch": arch, "neurons": int(W.shape[0]), "inputs": int(W.shape[1]),
                      "rank": int(np.linalg.matrix_rank(W)), "injective_on_points": bool(v.is_injective),
                      "points": int(v.n_pieces), "failing_points": int(np.count_nonzero(v.failing))})
    # maximal bias of two frames with known answers
    rng = ctx.rng(5)
    W2 = rng.standard_normal((8, 2))
    while omnidirectionality(W2)[0] <= 0:
        W2 = rng.standard_normal((8, 2))
    c2 = maximal_bias(W2)
    c2s = maximal_bias(W2, method="sampling", n_samples=20_000, seed=ctx.seed)
    W3 = _icosahedron()
    c3 = maximal_bias(W3)
    # redundancy heat map: mean certified alpha_hat of random Gaussian frames
    dims, reds, trials = s.redundancy_dims, s.redundancies, s.redundancy_trials
    mean_ah = np.full((len(dims), len(reds)), np.nan)
    omni = np.zeros((len(dims), len(reds)))
    for a, n in enumerate(dims):
        for b, r in enumerate(reds):
            vals = []
            for _ in range(trials):
                W = rng.standard_normal((int(round(n * r)), n))
                if omnidirectionality(W)[0] > 0:
                    omni[a, b] += 1
                    vals.append(float(np.mean(maximal_bias(W).alpha_hat)))
            omni[a, b] /= trials
            if vals:
                mean_ah[a, b] = np.mean(vals)
    sec.summary = {
        "first_layers": first,
        "frame2d": {"W": W2, "alpha_hat": c2.alpha_hat, "method": c2.method,
                    "sampling_alpha_hat": c2s.alpha_hat,
                    "sampling_minus_polytope_max": float(np.max(c2s.alpha_hat - c2.alpha_hat))},
        "icosahedron": {"alpha_hat": c3.alpha_hat, "expected": 1 / 5 ** 0.5},
        "redundancy": {"dims": list(dims), "redundancies": list(reds), "trials": trials,
                       "mean_alpha_hat": mean_ah, "share_omnidirectional": omni},
    }
    md = [
        "**First layers of the digits MLPs.** A ReLU layer can only be injective where its "
        "active rows span the input space; each first layer has fewer neurons than the 64 "
        "inputs, so no point qualifies. The exact check on the test images agrees:",
        "",
        "| net | neurons x inputs | rank | test images checked | failing | injective on them |",
        "|---|---|---|---|---|---|",
    ]
    for f in first:
        md.append(f"| {f['arch']} | {f['neurons']} x {f['inputs']} | {f['rank']} | {f['points']} | "
                  f"{f['failing_points']} | {'yes' if f['injective_on_points'] else 'no'} |")
    md += [
        "",
        "**Maximal bias** (Haider et al.; bias subtracted, `ReLU(W x - alpha)`, unit rows, unit "
        "sphere). For the icosahedron's 12 vertex directions every alpha_hat should be "
        f"1/sqrt(5) = {1 / 5 ** 0.5:.6f}; the polytope construction gives "
        f"{np.min(c3.alpha_hat):.6f} .. {np.max(c3.alpha_hat):.6f}. For a random "
        "omnidirectional frame of 8 directions in the plane, the Monte Carlo estimate "
        f"(20000 samples) gives min alpha_hat = {np.min(c2s.alpha_hat):.4f} against "
        f"{np.min(c2.alpha_hat):.4f} for the certificate. The estimate converges from above: "
        "at finite N it is optimistic and may not be valid; the certificate is valid, and "
        "it is one valid bias among many (maximal biases are not unique).",
        "",
        f"**Redundancy.** Mean certified alpha_hat of random Gaussian layers ({trials} per cell, "
        "omnidirectional ones only) and the share that is omnidirectional (needed for "
        "injectivity with zero bias):",
        "",
        "![maximal bias](figures/maximal_bias.png)",
    ]
    with paper_style():
        fig, _ = maximal_bias_figure(
            W2, c2, W3, c3, mean_ah, omni, dims=dims, redundancies=reds,
            titles=("8 neurons in the plane", "icosahedron (12 neurons)"))
        sec.figures += ctx.save(fig, "maximal_bias")
    sec.markdown = md


def _section_stats(ctx, sec):
    from .statistics import region_statistics
    from .plotting import paper_style, region_statistics_figure

    s = ctx.settings
    _, _, Xte, _ = ctx.digits
    idx = ctx.rng(6).choice(len(Xte), s.stats_points, replace=False)
    archs = [a for a in ("2x30", "6x10") if a in s.architectures] or list(s.architectures[:2])
    stats, rows = {}, []
    for arch in ctx.bar(archs, desc="statistics"):
        net, info = ctx.net(arch)
        t0 = time.perf_counter()
        st = region_statistics(net, Xte[idx], domain=(0, 1), neighbours=False, progress=False)
        dt = time.perf_counter() - t0
        stats[arch] = st
        rows.append({
            "arch": arch, "points": int(len(idx)), "test_accuracy": info.get("test_accuracy"),
            "radius_median": float(np.median(st.radius)),
            "cos_mean": float(np.nanmean(st.cos_mean)),
            "facets_mean": float(np.mean(st.n_facets)),
            "boundary_share": float(np.mean(st.boundary_crosses)),
            "time_s": dt,
        })
    sec.summary = {"points": int(len(idx)), "domain": [0, 1], "networks": rows}
    md = [
        f"Zhang & Wu's local statistics of the linear regions around {len(idx)} test images "
        "(regions clipped to the pixel box [0, 1]^64; architectures play the role of training "
        "settings here; `benchmarks/bench_region_stats.py` compares optimisers, batch norm "
        "and dropout).",
        "",
        "| net | test acc. | median insphere radius | mean abs. cos of facet normals | "
        "facets per region | regions crossed by a decision boundary | time (s) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        md.append(f"| {r['arch']} | {_num(r['test_accuracy'], '{:.3f}')} | {r['radius_median']:.4f} | "
                  f"{r['cos_mean']:.3f} | {r['facets_mean']:.1f} | {_pct(r['boundary_share'])} | "
                  f"{r['time_s']:.1f} |")
    with paper_style():
        fig, _ = region_statistics_figure(stats, quantities=("radius", "cos_mean", "n_facets"))
        sec.figures += ctx.save(fig, "region_statistics")
    md += ["", "![statistics](figures/region_statistics.png)"]
    sec.markdown = md


_SECTIONS = [
    ("crossings", "Exact crossings vs grid sampling", _section_crossings),
    ("cantornet", "Space folding on CantorNet", _section_cantornet),
    ("folding", "Space folding between digit classes", _section_folding),
    ("slice", "A 2D slice through three test images", _section_slice),
    ("injectivity", "Maximal bias and injectivity", _section_injectivity),
    ("stats", "Insphere and orthogonality statistics", _section_stats),
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
    from ._progress import progress_bar

    todo = [s for s in _SECTIONS if sections is None or s[0] in sections]
    bar = progress_bar(total=len(todo), desc="demo", unit="section", progress=bool(progress))
    for key, title, fn in todo:
        bar.set_postfix_str(key)
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
        bar.update(1)
    bar.close()
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
