"""Experiment: Zhang & Wu's region statistics under different training settings, over seeds.

The same ReLU MLP (64-32-32-10) is trained on the bundled digits (8x8, inputs in
[0, 1], fixed split) under settings that reach similar accuracy:

* ``sgd``           plain SGD (no momentum), lr 0.05
* ``adam``          Adam, lr 1e-3 (the reference of the comparisons)
* ``batchnorm``     Adam + BatchNorm1d after each hidden Linear (folded in eval mode)
* ``dropout``       Adam + Dropout(0.2) after each hidden ReLU (identity at test time)
* ``weight_decay``  Adam + L2 weight decay 1e-3

with PyTorch when it is importable (converted by ``polyfold.from_torch``), and
otherwise with scikit-learn's ``MLPClassifier`` for the settings it supports
(sgd, adam, weight_decay).  Every setting is trained once per training seed
(``--seeds``, default 5: initialisation and batch order); the test points are
the same for every run (a fixed random subset of the test split, ``--sample-seed``).
For them ``polyfold.region_statistics`` computes, within the domain box [0, 1]^64:
insphere radius, facet hyperplanes and the |cos| between their normals, decision
boundaries inside each region, and the gradient cosine and label of each
neighbouring region.

Each run is summarised by one number per statistic (e.g. the median insphere
radius over the test points); the table reports, per setting, the mean, the
standard deviation (ddof=1) and the range of these numbers over the seeds.

The tendencies reported by Zhang & Wu are tested against the ``adam`` runs (same
optimiser as batchnorm, dropout and weight_decay) with a test fixed before the
runs: a one-sided exact permutation test on the difference of the per-seed means
(all C(2n, n) splits of the 2n per-seed values; with 5 seeds the smallest
attainable p is 1/252), in the direction of the claim, at level 0.05 per claim;
Holm's correction over the four claims and Welch's t-test are reported beside
it.  A claim *holds beyond the seed-to-seed spread* when the permutation p is
below 0.05; it is *reversed* when the test in the opposite direction is below
0.05; otherwise the difference is within the spread.

* batch norm: smaller regions           radius_median    below adam's
* batch norm: more orthogonal normals   cos_mean         below adam's
* dropout: partition concentrated near  radius_distance_spearman above adam's
  the decision boundary                 (small regions near the boundary)
* dropout: less orthogonal normals      cos_mean         above adam's

Run:  python benchmarks/bench_region_stats.py [--seeds 5] [--samples 200] [--epochs 60] [--jobs 2]
      python benchmarks/bench_region_stats.py --quick      (smoke run: 2 seeds, 12 samples, 5 epochs)
      python benchmarks/bench_region_stats.py --replot     (figure and README text from the JSON)
Writes benchmarks/results/region_stats.json, region_stats.png (box plots of the
per-seed summaries with every seed as a dot) and region_stats_README.md (table,
verdicts and command for the README); ``region_stats_quick.*`` with --quick.
Finished seeds are kept in region_stats_runs.tmp (JSON) for --resume.
"""

import os

# small dense linear algebra: one BLAS thread per process is fastest and avoids
# oversubscription when the workers run side by side
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from concurrent.futures import ProcessPoolExecutor  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from polyfold.datasets import load_digits_split  # noqa: E402
from polyfold.statistics import RegionStatistics, region_statistics  # noqa: E402
from polyfold.network import PLNet  # noqa: E402

HIDDEN = (32, 32)
SETTINGS = (
    {"name": "sgd", "optimiser": "sgd", "lr": 0.05},
    {"name": "adam", "optimiser": "adam", "lr": 1e-3},
    {"name": "batchnorm", "optimiser": "adam", "lr": 1e-3, "batchnorm": True},
    {"name": "dropout", "optimiser": "adam", "lr": 1e-3, "dropout": 0.2},
    {"name": "weight_decay", "optimiser": "adam", "lr": 1e-3, "weight_decay": 1e-3},
)
REFERENCE = "adam"


# ---------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------
def have_torch():
    try:
        import torch  # noqa: F401  (availability check)
    except ImportError:
        return False
    return True


def train_torch(setting, Xtr, ytr, *, epochs, seed, batch_size=32):
    import torch

    from polyfold.convert import from_torch

    torch.manual_seed(seed)
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(seed)
    dims = (Xtr.shape[1],) + HIDDEN
    mods = []
    for a, b in zip(dims[:-1], dims[1:]):
        mods.append(torch.nn.Linear(a, b))
        if setting.get("batchnorm"):
            mods.append(torch.nn.BatchNorm1d(b))
        mods.append(torch.nn.ReLU())
        if setting.get("dropout"):
            mods.append(torch.nn.Dropout(setting["dropout"]))
    mods.append(torch.nn.Linear(dims[-1], 10))
    model = torch.nn.Sequential(*mods)
    wd = setting.get("weight_decay", 0.0)
    if setting["optimiser"] == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=setting["lr"], weight_decay=wd)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=setting["lr"], weight_decay=wd)
    X = torch.tensor(Xtr, dtype=torch.float32)
    y = torch.tensor(ytr)
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(X), generator=gen)
        for i in range(0, len(X), batch_size):
            idx = perm[i : i + batch_size]
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
    model.eval()
    return from_torch(model)


def train_sklearn(setting, Xtr, ytr, *, epochs, seed):
    """scikit-learn fallback: no batch norm, no dropout (returns None for those)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    from polyfold.convert import from_sklearn

    if setting.get("batchnorm") or setting.get("dropout"):
        return None
    kw = {
        "hidden_layer_sizes": HIDDEN,
        "activation": "relu",
        "learning_rate_init": setting["lr"],
        "batch_size": 32,
        "max_iter": epochs,
        "random_state": seed,
        "n_iter_no_change": epochs + 1,
        "tol": 0.0,
        "alpha": setting.get("weight_decay", 0.0),
    }
    if setting["optimiser"] == "sgd":
        kw.update(solver="sgd", momentum=0.0, nesterovs_momentum=False)
    else:
        kw.update(solver="adam")
    clf = MLPClassifier(**kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(Xtr, ytr)
    return from_sklearn(clf)


# ---------------------------------------------------------------------------
# statistics, in worker processes
# ---------------------------------------------------------------------------
def _stats_chunk(job):
    """Statistics of one chunk; a sample whose LPs fail is dropped and reported.

    On a SolverError the chunk is redone one sample at a time; the samples that
    still fail are left out (their positions in the chunk are returned).
    """
    from polyfold.exceptions import SolverError

    name, k, layers, acts, X, options = job
    net = PLNet(layers, acts)
    t0 = time.perf_counter()
    failed = []
    try:
        st = region_statistics(net, X, domain=(0.0, 1.0), progress=False, **options)
    except SolverError:
        parts = []
        for i in range(len(X)):
            try:
                parts.append(region_statistics(net, X[i : i + 1], domain=(0.0, 1.0),
                                               progress=False, **options))
            except SolverError:
                failed.append(i)
        st = RegionStatistics.concat(parts) if parts else None
    return name, k, st, time.perf_counter() - t0, failed


def compute_statistics(nets, X, *, jobs, chunk, options):
    tasks = []
    for name, net in nets.items():
        layers = [(np.array(W), np.array(b)) for W, b in net.layers]
        acts = [a.to_dict() for a in net.activations]
        for k, start in enumerate(range(0, len(X), chunk)):
            tasks.append((name, k, layers, acts, X[start : start + chunk], options))
    parts = {name: {} for name in nets}
    seconds = {name: 0.0 for name in nets}
    if jobs <= 1:
        results = map(_stats_chunk, tasks)
    else:
        import multiprocessing as mp

        pool = ProcessPoolExecutor(max_workers=jobs, mp_context=mp.get_context("spawn"))
        results = pool.map(_stats_chunk, tasks)
    done = 0
    failed = {name: [] for name in nets}
    for name, k, st, sec, bad in results:
        if st is not None:
            parts[name][k] = st
        failed[name] += [k * chunk + i for i in bad]
        seconds[name] += sec
        done += 1
        print(f"\r  statistics: {done}/{len(tasks)} chunks", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    if jobs > 1:
        pool.shutdown()
    merged = {
        name: RegionStatistics.concat([parts[name][k] for k in sorted(parts[name])])
        for name in nets
    }
    return merged, seconds, failed


# ---------------------------------------------------------------------------
# aggregation over seeds and the tests fixed in advance
# ---------------------------------------------------------------------------
#: statistics of one run: (key, README label, format); ``test_accuracy`` comes from
#: the training record, the others from ``RegionStatistics.summary()``
STATS = (
    ("test_accuracy", "test acc", "{:.3f}"),
    ("radius_median", "insphere radius (median)", "{:.3f}"),
    ("cos_mean", "mean abs cos of normals", "{:.3f}"),
    ("n_facets_mean", "neuron facets per region", "{:.1f}"),
    ("boundary_share", "share of regions with a decision boundary", "{:.2f}"),
    ("radius_distance_spearman", "rank corr. radius vs boundary distance", "{:+.2f}"),
    ("neighbour_label_change", "neighbour label change", "{:.2f}"),
)

#: Zhang & Wu's tendencies: (setting, statistic, direction vs the reference, claim)
CLAIMS = (
    ("batchnorm", "radius_median", "less", "batch norm: smaller regions"),
    ("batchnorm", "cos_mean", "less", "batch norm: more orthogonal normals"),
    ("dropout", "radius_distance_spearman", "greater",
     "dropout: partition concentrated near the decision boundary"),
    ("dropout", "cos_mean", "greater", "dropout: less orthogonal normals"),
)
ALPHA = 0.05

#: per-sample columns kept in the JSON (for the figures)
SAMPLE_COLUMNS = ("radius", "cos_mean", "n_facets", "boundary_crosses", "boundary_distance",
                  "free_boundary_distance", "neighbour_label_change")


def permutation_p(a, b, alternative):
    """Exact one-sided permutation p of ``mean(a) - mean(b)`` (all splits enumerated).

    ``alternative="less"``: the share of relabellings whose difference is <= the
    observed one (small p: ``a`` is below ``b`` beyond chance); ``"greater"``
    the share >= it.
    """
    from itertools import combinations

    a, b = np.asarray(a, float), np.asarray(b, float)
    x = np.concatenate([a, b])
    n, total = len(a), x.sum()
    obs = a.sum()
    slack = 1e-12 * max(1.0, float(np.abs(x).sum()))  # ties of equal sums count as equal
    hits = count = 0
    for idx in combinations(range(len(x)), n):
        s = x[list(idx)].sum()
        count += 1
        if alternative == "less":
            hits += s <= obs + slack
        else:
            hits += s >= obs - slack
    assert np.isfinite(total)
    return hits / count


def welch_p(a, b, alternative):
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.std() == 0 and b.std() == 0:
        return None
    return float(stats.ttest_ind(a, b, equal_var=False, alternative=alternative).pvalue)


def holm(pvalues):
    """Holm's step-down adjusted p-values (same order as given; None stays None)."""
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    order = sorted(idx, key=lambda i: pvalues[i])
    m = len(order)
    out = [None] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def spread(values):
    v = np.asarray([x for x in values if x is not None], float)
    if v.size == 0:
        return {"n": 0, "mean": None, "std": None, "min": None, "max": None, "values": []}
    return {
        "n": int(v.size),
        "mean": float(v.mean()),
        "std": float(v.std(ddof=1)) if v.size > 1 else None,
        "min": float(v.min()),
        "max": float(v.max()),
        "values": [float(x) for x in v],
    }


def run_value(run, key):
    return run["test_accuracy"] if key == "test_accuracy" else run["summary"].get(key)


def aggregate(runs, settings):
    """``{setting: {statistic: spread over seeds}}``."""
    out = {}
    for name in settings:
        mine = [r for r in runs if r["setting"] == name]
        if not mine:
            continue
        out[name] = {key: spread([run_value(r, key) for r in mine]) for key, _, _ in STATS}
        out[name]["statistics_seconds"] = spread([r["statistics_seconds"] for r in mine])
    return out


def test_claims(agg):
    verdicts = []
    for setting, key, alternative, claim in CLAIMS:
        rec = {"claim": claim, "setting": setting, "statistic": key, "alternative": alternative,
               "reference": REFERENCE}
        if setting not in agg or REFERENCE not in agg or agg[setting][key]["n"] < 2:
            rec.update(verdict="not tested", note=f"{setting!r} or {REFERENCE!r} has < 2 runs")
            verdicts.append(rec)
            continue
        a, b = agg[setting][key]["values"], agg[REFERENCE][key]["values"]
        opposite = "greater" if alternative == "less" else "less"
        p = permutation_p(a, b, alternative)
        p_rev = permutation_p(a, b, opposite)
        rec.update(
            mean=float(np.mean(a)), reference_mean=float(np.mean(b)),
            ratio=float(np.mean(a) / np.mean(b)) if np.mean(b) else None,
            permutation_p=p, permutation_p_opposite=p_rev,
            welch_p=welch_p(a, b, alternative), n=len(a), n_reference=len(b),
        )
        if p < ALPHA:
            rec["verdict"] = "holds beyond the seed-to-seed spread"
        elif p_rev < ALPHA:
            rec["verdict"] = "reversed beyond the seed-to-seed spread"
        else:
            rec["verdict"] = "within the seed-to-seed spread"
        verdicts.append(rec)
    adj = holm([v.get("permutation_p") for v in verdicts])
    for v, q in zip(verdicts, adj):
        v["permutation_p_holm"] = q
    return verdicts


# ---------------------------------------------------------------------------
# report: table, verdicts, README text, figure
# ---------------------------------------------------------------------------
def fmt(v, spec):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    return spec.format(v)


def cell(s, spec):
    """``mean ± std (min-max)`` of a spread record."""
    if s["n"] == 0:
        return "-"
    if s["n"] == 1:
        return fmt(s["mean"], spec)
    return (f"{fmt(s['mean'], spec)} ± {fmt(s['std'], spec.replace('+', ''))} "
            f"({fmt(s['min'], spec)} to {fmt(s['max'], spec)})")


def print_table(agg):
    w = 30
    print(f"{'setting':>12} " + " ".join(f"{key[:w]:>{w}}" for key, _, _ in STATS))
    for name, rec in agg.items():
        print(f"{name:>12} " + " ".join(f"{cell(rec[key], spec):>{w}}" for key, _, spec in STATS))


def pstr(p):
    return "-" if p is None else (f"{p:.3f}" if p >= 0.001 else f"{p:.1e}")


def readme_text(report):
    agg, verdicts = report["aggregate"], report["tendencies"]
    n_seeds = len(report["seeds"])
    lines = [
        "### Region statistics by training setting (`benchmarks/bench_region_stats.py`)",
        "",
        f"`{report['command']}`: the same 64-32-32-10 MLP trained under five settings "
        f"({report['backend']}, {report['epochs']} epochs), each with {n_seeds} training seeds "
        f"(seeds {', '.join(map(str, report['seeds']))}); statistics on the same "
        f"{report['n_samples']} test points for every run, domain [0, 1]^64.  Each cell is "
        "the mean ± standard deviation over the seeds of one number per run, with the "
        "range over the seeds in brackets.",
        "",
        "| setting | " + " | ".join(label for _, label, _ in STATS) + " |",
        "|---|" + "---|" * len(STATS),
    ]
    names = {"sgd": "sgd", "adam": "adam", "batchnorm": "batch norm", "dropout": "dropout",
             "weight_decay": "weight decay"}
    for name, rec in agg.items():
        cells = []
        for key, _, spec in STATS:
            s = rec[key]
            if s["n"] == 0:
                cells.append("-")
            elif s["n"] == 1:
                cells.append(fmt(s["mean"], spec))
            else:
                cells.append(f"{fmt(s['mean'], spec)} ± {fmt(s['std'], spec.replace('+', ''))} "
                             f"[{fmt(s['min'], spec)}, {fmt(s['max'], spec)}]")
        lines.append(f"| {names.get(name, name)} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "Zhang & Wu's tendencies, tested against Adam with the test fixed before the runs "
        f"(one-sided exact permutation test on the per-seed values, {n_seeds} vs {n_seeds} "
        f"seeds, level {ALPHA}; Holm-adjusted p over the four claims and Welch's t-test "
        "beside it):",
        "",
        "| claim | statistic | setting | adam | permutation p | Holm p | Welch p | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for v in verdicts:
        if "mean" not in v:
            lines.append(f"| {v['claim']} | {v['statistic']} | - | - | - | - | - | {v['verdict']} |")
            continue
        lines.append(
            f"| {v['claim']} | `{v['statistic']}` | {v['mean']:.3f} | {v['reference_mean']:.3f} "
            f"| {pstr(v['permutation_p'])} | {pstr(v['permutation_p_holm'])} "
            f"| {pstr(v['welch_p'])} | {v['verdict']} |"
        )
    held = [v for v in verdicts if v["verdict"].startswith("holds")]
    within = [v for v in verdicts if v["verdict"].startswith("within")]
    rev = [v for v in verdicts if v["verdict"].startswith("reversed")]

    def claim_list(vs):
        return "; ".join(f"{v['claim']} (`{v['statistic']}` {v['mean']:.3f} vs {v['reference_mean']:.3f}, "
                         f"p = {pstr(v['permutation_p'])})" for v in vs)

    lines.append("")
    if held:
        lines.append(f"Beyond the seed-to-seed spread: {claim_list(held)}.")
    if within:
        lines.append(f"Not distinguishable from the seed-to-seed spread: {claim_list(within)}.")
    if rev:
        lines.append(f"Reversed beyond the spread: {claim_list(rev)}.")
    lines += ["", f"![region statistics over seeds](benchmarks/results/{report['figure']})"]
    lost = [(r["setting"], r["seed"], len(r.get("failed_samples", []))) for r in report["runs"]
            if r.get("failed_samples")]
    if lost:
        lines += ["", "Left out (HiGHS failed on a redundancy LP; those runs use the other test "
                  "points): " + ", ".join(f"{s} seed {k}: {n} point(s)" for s, k, n in lost) + "."]
    lines.append("")
    return "\n".join(lines) + "\n"


#: short setting names for tick labels
SHORT = {"sgd": "SGD", "adam": "Adam", "batchnorm": "Adam\n+BN", "dropout": "Adam\n+drop",
         "weight_decay": "Adam\n+WD"}


def figure(report, path):
    """Box plots of the per-seed values (one dot per seed), one panel per statistic."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from polyfold.plotting import paper_style, plot_distributions

    agg = report["aggregate"]
    with paper_style(font_size=8):
        fig, axes = plt.subplots(2, 4, figsize=(10, 5.0))
        for ax, (key, label, _) in zip(axes.ravel(), STATS):
            vals = {SHORT.get(n, n): agg[n][key]["values"] for n in agg}
            plot_distributions(vals, ax=ax, label="")
            ax.set_title(label, fontsize=8)
        ax = axes.ravel()[-1]
        ax.axis("off")
        ax.text(0, 1, f"{len(report['seeds'])} training seeds per setting\n"
                      f"{report['n_samples']} test points per run\n"
                      "box: quartiles of the per-seed values\ndots: one seed each\n"
                      "BN batch norm, drop dropout,\nWD weight decay",
                va="top", fontsize=8, transform=ax.transAxes)
        fig.suptitle("Region statistics over training seeds (digits, 64-32-32-10 MLP)")
        fig.tight_layout()
        fig.savefig(path, dpi=150)
        plt.close(fig)


def public_command(cmd):
    """The command without run-local options (``--resume``, ``--out DIR``)."""
    parts, out, skip = cmd.split(), [], False
    for p in parts:
        if skip:
            skip = False
            continue
        if p == "--out":
            skip = True
            continue
        if p == "--resume" or p.startswith("--out="):
            continue
        out.append(p)
    return " ".join(out)


# ---------------------------------------------------------------------------
# the experiment
# ---------------------------------------------------------------------------
def train_all(seed, backend, Xtr, ytr, Xte, yte, X, idx, epochs):
    nets, records, skipped = {}, {}, []
    for setting in SETTINGS:
        t0 = time.perf_counter()
        if backend == "torch":
            net = train_torch(setting, Xtr, ytr, epochs=epochs, seed=seed)
        else:
            net = train_sklearn(setting, Xtr, ytr, epochs=epochs, seed=seed)
        if net is None:
            skipped.append(setting["name"])
            continue
        nets[setting["name"]] = net
        records[setting["name"]] = {
            "setting": setting["name"],
            "seed": seed,
            "options": setting,
            "train_accuracy": float(np.mean(net.predict(Xtr) == ytr)),
            "test_accuracy": float(np.mean(net.predict(Xte) == yte)),
            "subset_accuracy": float(np.mean(net.predict(X) == yte[idx])),
            "training_seconds": time.perf_counter() - t0,
        }
    return nets, records, skipped


def compact_samples(st):
    cols = {}
    for name in SAMPLE_COLUMNS:
        v = np.asarray(getattr(st, name))
        if v.dtype == bool:
            cols[name] = [bool(x) for x in v]
        elif np.issubdtype(v.dtype, np.integer):
            cols[name] = [int(x) for x in v]
        else:
            cols[name] = [float(f"{x:.6g}") if np.isfinite(x) else None for x in v]
    return cols


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5, help="training seeds per setting")
    ap.add_argument("--first-seed", type=int, default=0, help="seeds are first-seed, +1, ...")
    ap.add_argument("--samples", type=int, default=200, help="test points per run")
    ap.add_argument("--sample-seed", type=int, default=0, help="seed of the test-point subset")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--jobs", type=int, default=2, help="worker processes for the statistics")
    ap.add_argument("--chunk", type=int, default=20, help="samples per worker task")
    ap.add_argument("--backend", choices=("auto", "torch", "sklearn"), default="auto")
    ap.add_argument("--neighbour-label", choices=("step", "centre"), default="step")
    ap.add_argument("--quick", action="store_true", help="smoke run: 2 seeds, 12 samples, 5 epochs")
    ap.add_argument("--resume", action="store_true",
                    help="keep the runs already in the checkpoint file and do the rest")
    ap.add_argument("--replot", action="store_true",
                    help="only redraw the figure and the README text from the JSON")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    if args.quick:
        args.seeds, args.samples, args.epochs = min(args.seeds, 2), min(args.samples, 12), 5
    suffix = "_quick" if args.quick else ""
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"region_stats{suffix}.json"
    png = args.out / f"region_stats{suffix}.png"
    md = args.out / f"region_stats{suffix}_README.md"
    if args.replot:
        with open(path) as fh:
            report = json.load(fh)
        report["command"] = public_command(report["command"])
        figure(report, png)
        md.write_text(readme_text(report))
        print(f"wrote {png} and {md}")
        return 0

    backend = args.backend
    if backend == "auto":
        backend = "torch" if have_torch() else "sklearn"
    seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    Xtr, ytr, Xte, yte = load_digits_split(seed=0)
    rng = np.random.default_rng(args.sample_seed)
    idx = np.sort(rng.choice(len(Xte), size=min(args.samples, len(Xte)), replace=False))
    X = Xte[idx]
    command = public_command("python benchmarks/bench_region_stats.py " + " ".join(
        argv if argv is not None else sys.argv[1:]))
    checkpoint = args.out / f"region_stats{suffix}_runs.tmp"  # JSON; *.tmp is not committed
    runs = []
    if args.resume and checkpoint.exists():
        with open(checkpoint) as fh:
            runs = json.load(fh)["runs"]
    skipped = []
    t_all = time.perf_counter()
    for seed in seeds:
        if any(r["seed"] == seed for r in runs):
            print(f"seed {seed}: in the checkpoint, skipped", file=sys.stderr)
            continue
        print(f"seed {seed}: training {len(SETTINGS)} settings with {backend} "
              f"({args.epochs} epochs) ...", file=sys.stderr)
        nets, records, skipped = train_all(seed, backend, Xtr, ytr, Xte, yte, X, idx, args.epochs)
        stats, seconds, failed = compute_statistics(
            nets, X, jobs=args.jobs, chunk=args.chunk,
            options={"neighbour_label": args.neighbour_label},
        )
        for name, st in stats.items():
            rec = records[name]
            rec["summary"] = st.summary()
            rec["statistics_seconds"] = seconds[name]
            rec["failed_samples"] = failed[name]
            if failed[name]:
                print(f"  seed {seed} {name}: LPs failed on test points {failed[name]} "
                      "(left out of this run)", file=sys.stderr)
            rec["samples"] = compact_samples(st)
            runs.append(rec)
        with open(checkpoint, "w") as fh:
            json.dump(_clean({"command": command, "runs": runs}), fh, allow_nan=False)
    wall = time.perf_counter() - t_all
    runs = [r for r in runs if r["seed"] in seeds]
    runs.sort(key=lambda r: (r["seed"], [s["name"] for s in SETTINGS].index(r["setting"])))
    agg = aggregate(runs, [s["name"] for s in SETTINGS])
    verdicts = test_claims(agg)

    print()
    print(f"Zhang & Wu region statistics, digits 64-{'-'.join(map(str, HIDDEN))}-10, {backend}, "
          f"{len(seeds)} seeds, {len(X)} test points, domain [0, 1]^64: "
          "mean ± std (min to max) over seeds")
    print_table(agg)
    print()
    for v in verdicts:
        if "mean" not in v:
            print(f"  {v['claim']}: not tested ({v['note']})")
            continue
        print(f"  {v['claim']}: {v['verdict']} ({v['statistic']}: {v['mean']:.4g} vs "
              f"{REFERENCE} {v['reference_mean']:.4g}; permutation p = {pstr(v['permutation_p'])}, "
              f"Holm {pstr(v['permutation_p_holm'])}, Welch p = {pstr(v['welch_p'])})")
    if skipped:
        print(f"  skipped (not supported by {backend}): {', '.join(skipped)}")
    print(f"  wall time of this invocation: {wall:.0f} s")

    torch_version = None
    if backend == "torch":
        import torch

        torch_version = torch.__version__
    report = {
        "experiment": "region statistics under training settings over seeds (Zhang & Wu 2020)",
        "command": command,
        "backend": backend,
        "torch": torch_version,
        "python": platform.python_version(),
        "architecture": [64, *HIDDEN, 10],
        "epochs": args.epochs,
        "seeds": seeds,
        "sample_seed": args.sample_seed,
        "n_samples": len(X),
        "sample_indices": idx.tolist(),
        "domain": [0.0, 1.0],
        "neighbour_label": args.neighbour_label,
        "reference": REFERENCE,
        "test": {
            "name": "one-sided exact permutation test on the per-seed values",
            "alpha": ALPHA,
            "also": "Holm-adjusted permutation p over the claims; Welch's t-test",
        },
        "wall_seconds": wall,
        "jobs": args.jobs,
        "skipped": skipped,
        "aggregate": agg,
        "tendencies": verdicts,
        "runs": runs,
        "figure": png.name,
    }
    with open(path, "w") as fh:
        json.dump(_clean(report), fh, indent=1, allow_nan=False)
    figure(_clean(report), png)
    md.write_text(readme_text(_clean(report)))
    print(f"wrote {path}, {png} and {md}")
    return 0


def _clean(obj):
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


if __name__ == "__main__":
    sys.exit(main())
