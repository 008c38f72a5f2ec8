"""Experiment: Zhang & Wu's region statistics under different training settings.

The same ReLU MLP (64-32-32-10) is trained on the bundled digits (8x8, inputs in
[0, 1], fixed split and seeds) under settings that reach similar accuracy:

* ``sgd``           plain SGD (no momentum), lr 0.05
* ``adam``          Adam, lr 1e-3 (the reference for the ratio columns)
* ``batchnorm``     Adam + BatchNorm1d after each hidden Linear (folded in eval mode)
* ``dropout``       Adam + Dropout(0.2) after each hidden ReLU (identity at test time)
* ``weight_decay``  Adam + L2 weight decay 1e-3

with PyTorch when it is importable (converted by ``polyfold.from_torch``), and
otherwise with scikit-learn's ``MLPClassifier`` for the settings it supports
(sgd, adam, weight_decay).  For the same test points (a fixed random subset of
the test split) ``polyfold.region_statistics`` computes, within the domain box
[0, 1]^64: insphere radius, facet hyperplanes and the |cos| between their
normals, decision boundaries inside each region, and the gradient cosine and
label of each neighbouring region.  The table shows accuracy and the statistics
side by side; the ratio columns divide by the ``adam`` row (same optimiser as
batchnorm / dropout / weight_decay).  The script then states whether the
tendencies reported by Zhang & Wu (batch norm: smaller regions, more orthogonal
normals; dropout: partition concentrated near the decision boundary, less
orthogonal normals) hold in this run.

Run:  python benchmarks/bench_region_stats.py [--samples 200] [--epochs 60] [--jobs 2]
      python benchmarks/bench_region_stats.py --quick      (smoke run, ~1 minute)
Writes benchmarks/results/region_stats.json and region_stats_hist.png
(``region_stats_quick.*`` with --quick).
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
    name, k, layers, acts, X, options = job
    net = PLNet(layers, acts)
    t0 = time.perf_counter()
    st = region_statistics(net, X, domain=(0.0, 1.0), progress=False, **options)
    return name, k, st, time.perf_counter() - t0


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
    for name, k, st, sec in results:
        parts[name][k] = st
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
    return merged, seconds


# ---------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------
COLUMNS = (
    ("setting", "{}", 12),
    ("test_acc", "{:.3f}", 8),
    ("radius_med", "{:.4f}", 10),
    ("radius_x", "{:.2f}", 8),
    ("facets", "{:.1f}", 6),
    ("cos_mean", "{:.3f}", 8),
    ("cos_x", "{:.2f}", 6),
    ("cos_med", "{:.3f}", 7),
    ("bnd_share", "{:.2f}", 9),
    ("bnd_dist", "{:.3f}", 8),
    ("free_dist", "{:.3f}", 9),
    ("rho_r_d", "{:+.2f}", 7),
    ("nbr_cos", "{:.3f}", 7),
    ("label_chg", "{:.3f}", 9),
    ("verified", "{:.3f}", 8),
    ("stats_s", "{:.0f}", 7),
)


def fmt(v, spec):
    if v is None or (isinstance(v, float) and not np.isfinite(v)):
        return "-"
    return spec.format(v)


def table_rows(results):
    ref = results.get(REFERENCE, {}).get("summary", {})
    rows = []
    for name, res in results.items():
        s = res["summary"]

        def ratio(key):
            a, b = s.get(key), ref.get(key)
            return a / b if a is not None and b else None

        rows.append({
            "setting": name,
            "test_acc": res["test_accuracy"],
            "radius_med": s["radius_median"],
            "radius_x": ratio("radius_median"),
            "facets": s["n_facets_mean"],
            "cos_mean": s["cos_mean"],
            "cos_x": ratio("cos_mean"),
            "cos_med": s["cos_median"],
            "bnd_share": s["boundary_share"],
            "bnd_dist": s["boundary_distance_median"],
            "free_dist": s["free_boundary_distance_median"],
            "rho_r_d": s["radius_distance_spearman"],
            "nbr_cos": s["neighbour_cos_mean"],
            "label_chg": s["neighbour_label_change"],
            "verified": s["neighbours_verified"],
            "stats_s": res["statistics_seconds"],
        })
    return rows


def print_table(rows):
    head = " ".join(f"{c:>{w}}" for c, _, w in COLUMNS)
    print(head)
    print("-" * len(head))
    for r in rows:
        print(" ".join(f"{fmt(r[c], spec):>{w}}" for c, spec, w in COLUMNS))


def tendencies(results):
    """The paper's reported tendencies, checked against the reference setting."""
    out = {}
    if REFERENCE not in results:
        return out
    ref = results[REFERENCE]["summary"]

    def cmp(setting, key, relation, claim, meaning):
        if setting not in results:
            out[claim] = {"holds": None, "note": f"setting {setting!r} not trained"}
            return
        a, b = results[setting]["summary"][key], ref[key]
        if a is None or b is None:
            out[claim] = {"holds": None, "note": f"{key} undefined"}
            return
        holds = a < b if relation == "<" else a > b
        out[claim] = {
            "holds": bool(holds),
            "statistic": key,
            setting: a,
            REFERENCE: b,
            "ratio": a / b if b else None,
            "meaning": meaning,
        }

    cmp("batchnorm", "radius_median", "<", "batchnorm: smaller regions",
        "median insphere radius below adam's")
    cmp("batchnorm", "cos_mean", "<", "batchnorm: more orthogonal normals",
        "mean |cos| between facet normals below adam's")
    cmp("dropout", "radius_distance_spearman", ">",
        "dropout: partition concentrated near the decision boundary",
        "stronger positive rank correlation between a region's radius and the "
        "sample's distance to the decision boundary (small regions near it)")
    cmp("dropout", "cos_mean", ">", "dropout: less orthogonal normals",
        "mean |cos| between facet normals above adam's")
    return out


def histograms(stats, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (
        ("insphere radius", lambda s: s.radius),
        ("neuron facets per region", lambda s: s.n_facets),
        ("|cos| between facet normals (all pairs)", lambda s: np.concatenate(s.pair_cosines)),
        ("distance to decision boundary in region", lambda s: s.boundary_distance),
        ("free distance to boundary hyperplane", lambda s: s.free_boundary_distance),
        ("neighbour gradient cosine", lambda s: np.concatenate(s.neighbour_cosines)),
    )
    fig, axes = plt.subplots(2, 3, figsize=(15, 8))
    for ax, (title, get) in zip(axes.ravel(), panels):
        data = {n: np.asarray(get(s), float) for n, s in stats.items()}
        data = {n: v[np.isfinite(v)] for n, v in data.items()}
        allv = np.concatenate([v for v in data.values() if v.size] or [np.zeros(1)])
        bins = np.linspace(allv.min(), allv.max() + 1e-12, 40)
        for n, v in data.items():
            if v.size:
                ax.hist(v, bins=bins, histtype="step", density=True, label=n, linewidth=1.4)
        ax.set_title(title, fontsize=10)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle("Region statistics around 8x8 digits test points (64-32-32-10 MLP)")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=200, help="test points per setting")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2, help="worker processes for the statistics")
    ap.add_argument("--chunk", type=int, default=20, help="samples per worker task")
    ap.add_argument("--backend", choices=("auto", "torch", "sklearn"), default="auto")
    ap.add_argument("--neighbour-label", choices=("step", "centre"), default="step")
    ap.add_argument("--quick", action="store_true", help="smoke run: 20 samples, 10 epochs")
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = ap.parse_args(argv)
    if args.quick:
        args.samples, args.epochs = min(args.samples, 20), min(args.epochs, 10)
    suffix = "_quick" if args.quick else ""

    backend = args.backend
    if backend == "auto":
        backend = "torch" if have_torch() else "sklearn"
    Xtr, ytr, Xte, yte = load_digits_split(seed=0)
    rng = np.random.default_rng(args.seed)
    idx = np.sort(rng.choice(len(Xte), size=min(args.samples, len(Xte)), replace=False))
    X = Xte[idx]

    print(f"training {len(SETTINGS)} settings with {backend} "
          f"({args.epochs} epochs, seed {args.seed}) ...", file=sys.stderr)
    nets, results, skipped = {}, {}, []
    for setting in SETTINGS:
        t0 = time.perf_counter()
        if backend == "torch":
            net = train_torch(setting, Xtr, ytr, epochs=args.epochs, seed=args.seed)
        else:
            net = train_sklearn(setting, Xtr, ytr, epochs=args.epochs, seed=args.seed)
        if net is None:
            skipped.append(setting["name"])
            continue
        nets[setting["name"]] = net
        results[setting["name"]] = {
            "setting": setting,
            "train_accuracy": float(np.mean(net.predict(Xtr) == ytr)),
            "test_accuracy": float(np.mean(net.predict(Xte) == yte)),
            "subset_accuracy": float(np.mean(net.predict(X) == yte[idx])),
            "training_seconds": time.perf_counter() - t0,
        }
    print(f"region statistics on {len(X)} test points per setting, {args.jobs} workers ...",
          file=sys.stderr)
    t0 = time.perf_counter()
    stats, seconds = compute_statistics(
        nets, X, jobs=args.jobs, chunk=args.chunk,
        options={"neighbour_label": args.neighbour_label},
    )
    wall = time.perf_counter() - t0
    for name, st in stats.items():
        results[name]["summary"] = st.summary()
        results[name]["statistics_seconds"] = seconds[name]
        results[name]["samples"] = st.rows()

    rows = table_rows(results)
    print()
    print(f"Zhang & Wu region statistics, digits 64-{'-'.join(map(str, HIDDEN))}-10, "
          f"{backend}, {len(X)} test points, domain [0, 1]^64; ratio columns (_x) "
          f"divide by the {REFERENCE!r} row")
    print_table(rows)
    verdicts = tendencies(results)
    print()
    for claim, v in verdicts.items():
        if v.get("holds") is None:
            print(f"  {claim}: not tested ({v['note']})")
        else:
            print(f"  {claim}: {'HOLDS' if v['holds'] else 'does NOT hold'} "
                  f"({v['statistic']}: {v[claim.split(':')[0]]:.4g} vs {REFERENCE} "
                  f"{v[REFERENCE]:.4g})")
    if skipped:
        print(f"  skipped (not supported by {backend}): {', '.join(skipped)}")
    print(f"  wall time of the statistics: {wall:.0f} s")

    args.out.mkdir(parents=True, exist_ok=True)
    png = args.out / f"region_stats{suffix}_hist.png"
    histograms(stats, png)
    torch_version = None
    if backend == "torch":
        import torch

        torch_version = torch.__version__
    report = {
        "experiment": "region statistics under training settings (Zhang & Wu 2020)",
        "command": "python benchmarks/bench_region_stats.py " + " ".join(argv or sys.argv[1:]),
        "backend": backend,
        "torch": torch_version,
        "python": platform.python_version(),
        "architecture": [64, *HIDDEN, 10],
        "epochs": args.epochs,
        "seed": args.seed,
        "n_samples": len(X),
        "sample_indices": idx.tolist(),
        "domain": [0.0, 1.0],
        "neighbour_label": args.neighbour_label,
        "reference": REFERENCE,
        "statistics_wall_seconds": wall,
        "jobs": args.jobs,
        "skipped": skipped,
        "table": rows,
        "tendencies": verdicts,
        "settings": results,
        "histograms": png.name,
    }
    path = args.out / f"region_stats{suffix}.json"
    with open(path, "w") as fh:
        json.dump(_clean(report), fh, indent=1, allow_nan=False)
    print(f"wrote {path} and {png}")
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
