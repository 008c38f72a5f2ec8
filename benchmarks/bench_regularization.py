"""Benchmark: the folding regulariser on the digits (polyfold.regularization).

For every architecture, penalty weight lambda and training seed, train a torch MLP on
the bundled digits with L = CE + lambda * L_fold (polyfold's soft folding
surrogate), then compute the exact class-pair folding of the test split (certified
mode): Phi_N and the pair-max median.  One row per run is written to
benchmarks/results/regularization.json (a list of objects with keys arch, lam, seed,
test_acc, train_acc, phi, pair_max_median and more); a row is reproduced by

    polyfold regularize --arch ARCH --lam LAM --seed SEED --json

Also: the rank correlation of the surrogate with the exact chi on held-out paths
(lambda = 0 nets, several tau and grid sizes) in regularization_validation.json, the
means +- std per (arch, lambda), a test of every lambda > 0 against lambda = 0
(Welch t-test and the difference in units of the seed-to-seed spread), and the
figure regularization.png.

torch runs on one thread (torch.set_num_threads(1)) so that two runs can share the
two cores; rows already in the JSON are kept (the run resumes).

Run:  python benchmarks/bench_regularization.py [--archs 2x30,6x10] [--lams 0,0.1,0.3,1]
      [--seeds 0,1,2,3,4] [--paths-per-pair 100] [--epochs 30] [--fresh] [--results DIR]
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from polyfold.training import DIGITS_ARCHITECTURES  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
OUT = RESULTS / "regularization.json"
VALIDATION = RESULTS / "regularization_validation.json"


def set_results(folder):
    global RESULTS, OUT, VALIDATION
    RESULTS = Path(folder)
    OUT = RESULTS / "regularization.json"
    VALIDATION = RESULTS / "regularization_validation.json"
KEYS = ("phi", "pair_max_median", "path_prefix_max_median", "test_acc", "train_acc")


def load_rows(path):
    if path.exists():
        return json.loads(path.read_text())
    return []


def run_rows(archs, lams, seeds, args):
    from polyfold.regularization import regularization_row

    rows = [] if args.fresh else load_rows(OUT)
    done = {(r["arch"], r["lam"], r["seed"]) for r in rows
            if r.get("epochs") == args.epochs and r.get("paths_per_pair") == args.paths_per_pair}
    rows = [r for r in rows if (r["arch"], r["lam"], r["seed"]) in done]
    todo = [(a, float(l), s) for a in archs for l in lams for s in seeds if (a, float(l), s) not in done]
    print(f"{len(done)} rows already in {OUT.name}, {len(todo)} to run", flush=True)
    for k, (a, l, s) in enumerate(todo):
        t0 = time.perf_counter()
        row = regularization_row(a, l, s, epochs=args.epochs, paths_per_pair=args.paths_per_pair)
        rows.append(row)
        OUT.write_text(json.dumps(rows, indent=1))
        print(f"[{k + 1}/{len(todo)}] {a:>5} lam={l:<4g} seed={s}: test {row['test_acc']:.3f} "
              f"train {row['train_acc']:.3f} phi {row['phi']:.4f} pairmax {row['pair_max_median']:.4f} "
              f"({time.perf_counter() - t0:.1f} s)", flush=True)
    return rows


def summarise(rows, archs, lams):
    from scipy.stats import ttest_ind

    table = []
    for a in archs:
        base = {k: np.array([r[k] for r in rows if r["arch"] == a and r["lam"] == 0.0]) for k in KEYS}
        for l in lams:
            sel = [r for r in rows if r["arch"] == a and r["lam"] == float(l)]
            if not sel:
                continue
            ent = {"arch": a, "lam": float(l), "n": len(sel)}
            for k in KEYS:
                v = np.array([r[k] for r in sel])
                ent[k] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else None}
                if l > 0 and len(base[k]) > 1 and len(v) > 1:
                    sd = float(np.sqrt((base[k].var(ddof=1) + v.var(ddof=1)) / 2))
                    t = ttest_ind(v, base[k], equal_var=False)
                    ent[k]["diff_vs_lam0"] = float(v.mean() - base[k].mean())
                    ent[k]["diff_in_seed_sd"] = float((v.mean() - base[k].mean()) / sd) if sd > 0 else None
                    ent[k]["welch_p"] = float(t.pvalue) if np.isfinite(t.pvalue) else None
            ent["train_seconds_mean"] = float(np.mean([r["train_seconds"] for r in sel]))
            table.append(ent)
    return table


def print_table(table):
    def ms(d):
        return f"{d['mean']:.3f} +- {d['std']:.3f}" if d["std"] is not None else f"{d['mean']:.3f}"

    def dp(d):
        if "welch_p" not in d:
            return ""
        z = d["diff_in_seed_sd"]
        return f" ({d['diff_vs_lam0']:+.3f}, {z:+.1f} sd, p={d['welch_p']:.2g})" if z is not None else ""

    print("\nmeans +- std over seeds; in brackets: difference to lambda = 0, in units of the "
          "pooled seed-to-seed sd, Welch p")
    print(f"{'arch':>5} {'lam':>4} {'n':>2}  {'test acc':<38} {'Phi_N':<38} {'pair-max median':<38}")
    for e in table:
        print(f"{e['arch']:>5} {e['lam']:>4g} {e['n']:>2}  {ms(e['test_acc']) + dp(e['test_acc']):<38} "
              f"{ms(e['phi']) + dp(e['phi']):<38} {ms(e['pair_max_median']) + dp(e['pair_max_median']):<38}")


def validation(archs, args):
    """Rank correlation of the surrogate with exact chi on held-out test paths."""
    from polyfold.datasets import load_digits_split
    from polyfold.regularization import surrogate_validation, train_digits

    _, _, Xte, yte = load_digits_split()
    out = {}
    for a in archs:
        model, _ = train_digits(a, lam=0.0, seed=0, epochs=args.epochs)
        out[a] = surrogate_validation(model, Xte, yte, n_paths=args.validation_paths,
                                      taus=(0.01, 0.03, 0.1, 0.3, 1.0), n_points=(8, 16, 32, 64),
                                      seed=1)
        best = max(out[a]["rows"], key=lambda r: r["spearman"] or -1)
        dflt = next(r for r in out[a]["rows"] if r["tau"] == 0.1 and r["n_points"] == 16)
        print(f"{a:>5}: tau=0.1, 16 points: Spearman {dflt['spearman']:.3f} (Kendall "
              f"{dflt['kendall']:.3f}), on folded paths {dflt['spearman_folded']:.3f}, AUC folded "
              f"vs flat {dflt['auc_folded']:.3f}; best Spearman {best['spearman']:.3f} at "
              f"tau={best['tau']}, {best['n_points']} points; "
              f"{100 * out[a]['fraction_flat_exact']:.0f}% of the exact chi are 0", flush=True)
    VALIDATION.write_text(json.dumps(out, indent=1))
    return out


def figure(table, archs, lams, path):
    import matplotlib

    matplotlib.use("Agg")
    from polyfold.plotting import paper_style

    with paper_style():
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 3, figsize=(10.5, 3.0))
        for key, ax in zip(("phi", "pair_max_median", "test_acc"), axes):
            for n, a in enumerate(archs):
                ent = [e for e in table if e["arch"] == a]
                x = np.arange(len(ent)) + (n - len(archs) / 2) * 0.06
                ax.errorbar(x, [e[key]["mean"] for e in ent], yerr=[e[key]["std"] or 0 for e in ent],
                            marker="o", ms=3, capsize=2, lw=1, label=a)
            ax.set_xticks(range(len(lams)), [f"{l:g}" for l in lams])
            ax.set_xlabel("lambda")
            ax.set_ylabel({"phi": "exact Phi_N", "pair_max_median": "exact pair-max median",
                           "test_acc": "test accuracy"}[key])
        axes[0].legend(fontsize=6, frameon=False)
        fig.suptitle("folding penalty on the digits MLPs: mean +- std over seeds", fontsize=9)
        fig.tight_layout()
        fig.savefig(path, dpi=150)
        plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", default=",".join(DIGITS_ARCHITECTURES))
    ap.add_argument("--lams", default="0,0.1,0.3,1")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--paths-per-pair", type=int, default=100)
    ap.add_argument("--validation-paths", type=int, default=1000)
    ap.add_argument("--skip-validation", action="store_true")
    ap.add_argument("--validation-only", action="store_true")
    ap.add_argument("--fresh", action="store_true", help="ignore rows already in the JSON")
    ap.add_argument("--results", default=str(RESULTS), help="output folder")
    args = ap.parse_args()
    set_results(args.results)
    torch.set_num_threads(1)
    archs = args.archs.split(",")
    lams = [float(v) for v in args.lams.split(",")]
    seeds = [int(v) for v in args.seeds.split(",")]
    RESULTS.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    if not args.skip_validation:
        print("surrogate vs exact chi on held-out class-pair paths (lambda = 0, seed 0)")
        validation(archs, args)
    if args.validation_only:
        return
    rows = run_rows(archs, lams, seeds, args)
    table = summarise(rows, archs, lams)
    print_table(table)
    (RESULTS / "regularization_summary.json").write_text(json.dumps(table, indent=1))
    figure(table, archs, lams, RESULTS / "regularization.png")
    print(f"\nwrote {OUT}, regularization_summary.json, regularization.png "
          f"({time.perf_counter() - t0:.0f} s)")


if __name__ == "__main__":
    main()
