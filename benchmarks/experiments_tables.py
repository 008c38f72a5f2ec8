"""Markdown tables of the experiments of issue 13 from the JSON results.

Reads benchmarks/results/regularization.json (and regularization_summary.json,
regularization_validation.json), folding_seeds.json (folding_seeds_cnn.json when
present) and interaction.json, and prints the tables pasted into
benchmarks/results/experiments_README.md.  Nothing is recomputed.

Run:  python benchmarks/experiments_tables.py
"""

import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"


def ms(d, digits=3):
    if d is None or d.get("mean") is None:
        return "-"
    if d.get("std") is None:
        return f"{d['mean']:.{digits}f}"
    return f"{d['mean']:.{digits}f} ± {d['std']:.{digits}f}"


def regularization():
    rows = json.loads((RESULTS / "regularization.json").read_text())
    summ = json.loads((RESULTS / "regularization_summary.json").read_text())
    print(f"### Folding regulariser ({len(rows)} runs)\n")
    print("| arch | λ | seeds | test acc | train acc | Φ_N (exact) | pair-max median (exact) | "
          "prefix-max median | Δ test acc vs λ=0 (seed sd, Welch p) | Δ Φ_N vs λ=0 (seed sd, Welch p) |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for e in summ:
        def delta(k):
            d = e[k]
            if "welch_p" not in d:
                return "-"
            z = d["diff_in_seed_sd"]
            zs = f"{z:+.1f} sd" if z is not None else "-"
            p = d["welch_p"]
            ps = f"{p:.2g}" if p is not None else "-"
            return f"{d['diff_vs_lam0']:+.3f} ({zs}, p={ps})"

        print(f"| {e['arch']} | {e['lam']:g} | {e['n']} | {ms(e['test_acc'])} | {ms(e['train_acc'])} | "
              f"{ms(e['phi'])} | {ms(e['pair_max_median'])} | {ms(e['path_prefix_max_median'])} | "
              f"{delta('test_acc')} | {delta('phi')} |")
    vpath = RESULTS / "regularization_validation.json"
    if vpath.exists():
        val = json.loads(vpath.read_text())
        print("\nSurrogate vs exact chi on 1000 held-out class-pair paths of the test split "
              "(λ = 0 nets, seed 0):\n")
        print("| arch | exact chi = 0 | Spearman (τ=0.1, 16 pts) | Kendall | Spearman on folded paths | "
              "AUC folded vs flat | best Spearman (τ, points) |")
        print("|---|---|---|---|---|---|---|")
        for a, v in val.items():
            d = next(r for r in v["rows"] if r["tau"] == 0.1 and r["n_points"] == 16)
            b = max(v["rows"], key=lambda r: r["spearman"] or -1)

            def f(x):
                return "-" if x is None else f"{x:.3f}"

            print(f"| {a} | {100 * v['fraction_flat_exact']:.0f}% | {f(d['spearman'])} | {f(d['kendall'])} | "
                  f"{f(d.get('spearman_folded'))} | {f(d.get('auc_folded'))} | "
                  f"{f(b['spearman'])} ({b['tau']:g}, {b['n_points']}) |")


def seeds(name="folding_seeds"):
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return
    res = json.loads(path.read_text())
    print(f"\n### Folding across architectures over seeds ({name}.json)\n")
    print(f"Threshold (fixed in advance): test-split accuracy >= {res['threshold']:.2f}; "
          f"seeds {res['seeds']}; {res['paths_per_pair']} paths per ordered class pair.\n")
    print("| arch | depth | passed | test acc (passed) | pair-max median | prefix-max median | Φ_N | "
          "all nets: pair-max median | all nets: test acc |")
    print("|---|---|---|---|---|---|---|---|---|")
    for a in res["architectures"]:
        s = res["summary"][a]
        acc_all = np.array(s["accuracy_all"])
        print(f"| {a} | {s['depth']} | {s['n_passed']}/{s['n']} | "
              f"{ms({'mean': s['accuracy_mean'], 'std': s['accuracy_std']})} | "
              f"{ms(s['pair_max_median'])} | {ms(s['path_prefix_max_median'])} | {ms(s['phi'])} | "
              f"{ms(s.get('pair_max_median_all'))} | {acc_all.mean():.3f} ± {acc_all.std(ddof=1):.3f} |")
    print()
    for k, t in res["trend"].items():
        if t["spearman"] is None:
            print(f"- {k}: not testable")
            continue
        print(f"- {k}: Spearman ρ = {t['spearman']:+.3f} over {t['n']} nets (permutation p = "
              f"{t['spearman_p_permutation']:.2g}), slope {t['slope']:+.4f} ± {t['slope_se']:.4f} per "
              f"layer, one-way ANOVA p = {t['anova_p']:.2g}, Kruskal–Wallis p = {t['kruskal_p']:.2g}")


def interaction():
    path = RESULTS / "interaction.json"
    if not path.exists():
        return
    res = json.loads(path.read_text())
    st = res["settings"]
    print(f"\n### Interaction effect (PGD L_inf, {st['steps']} steps, clip [0, 1], "
          f"{st['points']} test points, {st['paths_per_pair']} paths per ordered pair)\n")
    print("| net | family | eps | paths | regions | share I≠0 | mean max I | q95 max I | "
          "share I(k)<0 | flip rate |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, r in res["nets"].items():
        for row in r["rows"]:
            fr = "-" if row["flip_rate"] is None else f"{row['flip_rate']:.2f}"
            print(f"| {name} | {row['family']} | {row['eps']:g} | {row['n_paths']} | "
                  f"{row['mean_regions']:.1f} | {row['share_nonzero']:.3f} | {row['max_mean']:.4f} | "
                  f"{row['max_quantiles']['0.95']:.3f} | {row['share_negative']:.3f} | {fr} |")
    print("\nPaired (same index pairs), adv-adv minus clean, max_k I(k): mean difference "
          "(Wilcoxon signed-rank p)\n")
    eps = st["eps"]
    print("| net | " + " | ".join(f"eps {e:g}" for e in eps) + " |")
    print("|---|" + "---|" * len(eps))
    for name, r in res["nets"].items():
        cells = []
        for e in eps:
            p = r["paired"][str(e)]
            pv = "n/a" if p["wilcoxon_p"] is None else f"{p['wilcoxon_p']:.2g}"
            cells.append(f"{p['mean_difference']:+.4f} (p={pv})")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    regularization()
    seeds()
    seeds("folding_seeds_cnn")
    interaction()
