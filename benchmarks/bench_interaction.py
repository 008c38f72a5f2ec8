"""Benchmark: the interaction effect on clean and adversarial paths (digits).

"The Space Between" (Moser et al., 2025, Eq. 6) proposes to compare the interaction
effect I(k) = chi(Gamma) - chi(Gamma_1) - chi(Gamma_2) on paths between clean inputs
and between adversarially perturbed ones.  For each of the six 60-neuron digits MLPs
(polyfold.zoo.digits_mlp, seed 0) and the shipped digits CNN (polyfold.zoo.digits_cnn,
a graph network; skipped with a note while exact folding needs a dense net), this runs
polyfold.experiments.interaction_experiment: 300 test points (stratified), PGD in
L_inf (20 steps, clip to [0, 1]) at eps 0.02, 0.05, 0.1, 10 paths per ordered class
pair, exact walks in certified mode.

Writes benchmarks/results/interaction.json and the figures interaction.png (share of
paths with a non-zero effect against eps, every network) and interaction_6x10.png
(distribution of max_k I(k) per family for the 6x10 net).

Run:  python benchmarks/bench_interaction.py [--archs 2x30,6x10] [--points 300]
      [--paths-per-pair 10] [--eps 0.02,0.05,0.1] [--no-cnn]
"""

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

from polyfold import zoo  # noqa: E402
from polyfold.datasets import load_digits_split  # noqa: E402
from polyfold.experiments import interaction_experiment, plot_interaction  # noqa: E402
from polyfold.training import DIGITS_ARCHITECTURES  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def overview(results, eps, path):
    """Share of paths with some I(k) != 0 and mean max_k I(k) per network and family."""
    import matplotlib.pyplot as plt
    import numpy as np

    names = list(results)
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.2))
    shades = {"adv-adv": plt.cm.Reds(np.linspace(0.45, 0.95, len(eps))),
              "clean-adv": plt.cm.Blues(np.linspace(0.45, 0.95, len(eps)))}
    series = [("clean", 0.0, "k", "o")]
    for fam, mk in (("adv-adv", "s"), ("clean-adv", "^")):
        series += [(fam, e, shades[fam][k], mk) for k, e in enumerate(eps)]
    width = 0.8 / len(series)
    for ax, key, label in ((axes[0], "share_nonzero", "share of paths with some I(k) != 0"),
                           (axes[1], "max_mean", "mean over paths of max_k I(k)")):
        for n, (fam, e, col, mk) in enumerate(series):
            xs = np.arange(len(names)) + (n - (len(series) - 1) / 2) * width
            ys = [getattr(results[a].row(fam, e), key) for a in names]
            lab = "clean" if fam == "clean" else f"{fam} eps={e:g}"
            ax.plot(xs, ys, mk, color=col, ms=4, ls="none", label=lab)
        ax.set_xticks(range(len(names)), names)
        ax.set_ylabel(label)
    axes[0].legend(fontsize=6, frameon=False, loc="upper left", ncol=1)
    fig.suptitle("interaction effect on exact walks: clean, adversarial-adversarial and "
                 "clean-adversarial paths (PGD, L_inf)", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", default=",".join(DIGITS_ARCHITECTURES))
    ap.add_argument("--points", type=int, default=300)
    ap.add_argument("--paths-per-pair", type=int, default=10)
    ap.add_argument("--eps", default="0.02,0.05,0.1")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--no-cnn", action="store_true")
    ap.add_argument("--results", default=str(RESULTS))
    args = ap.parse_args()
    out_dir = Path(args.results)
    out_dir.mkdir(exist_ok=True)
    eps = tuple(float(v) for v in args.eps.split(","))
    _, _, X, y = load_digits_split()
    nets = [(a, zoo.digits_mlp(a)) for a in args.archs.split(",")]
    notes = {}
    if not args.no_cnn:
        nets.append(("digits_cnn", zoo.digits_cnn()))  # the shipped digits CNN (PLGraph)
    results, out = {}, {"settings": {"points": args.points, "paths_per_pair": args.paths_per_pair,
                                     "eps": list(eps), "attack": "pgd", "norm": "inf",
                                     "steps": args.steps, "clip": [0, 1], "mode": "certified",
                                     "seed": 0}, "nets": {}, "notes": notes}
    from polyfold.exceptions import UnsupportedLayerError

    for name, net in nets:
        t0 = time.perf_counter()
        try:
            res = interaction_experiment(net, X, y, eps=eps, steps=args.steps, clip=(0, 1),
                                         n_points=args.points, paths_per_pair=args.paths_per_pair,
                                         seed=0)
        except UnsupportedLayerError as err:  # folding on graph nets not available yet
            notes[name] = str(err)
            print(f"\n{name} skipped: {err}")
            continue
        results[name] = res
        out["nets"][name] = res.as_dict()
        print(f"\n{name} ({time.perf_counter() - t0:.1f} s)")
        print(res.table())
        for e, p in res.paired.items():
            pv = "n/a" if p["wilcoxon_p"] is None else f"{p['wilcoxon_p']:.3g}"
            print(f"  eps {e:g}: adv-adv minus clean (same pairs) max I: median "
                  f"{p['median_difference']:+.4f}, mean {p['mean_difference']:+.4f}, larger in "
                  f"{100 * p['share_adv_larger']:.0f}%, smaller in {100 * p['share_adv_smaller']:.0f}%, "
                  f"Wilcoxon p = {pv}")
    (out_dir / "interaction.json").write_text(json.dumps(out, indent=1))

    import matplotlib

    matplotlib.use("Agg")
    from polyfold.plotting import paper_style

    with paper_style():
        import matplotlib.pyplot as plt

        overview(results, eps, out_dir / "interaction.png")
        key = "6x10" if "6x10" in results else next(iter(results))
        fig, ax = plt.subplots(figsize=(4.6, 3.2))
        plot_interaction(results[key], axes=[ax], panels=("survival",))
        ax.set_title(f"{key}: distribution of max_k I(k) per path", fontsize=8)
        fig.tight_layout()
        fig.savefig(out_dir / f"interaction_{key}.png", dpi=150)
        plt.close(fig)
    print(f"\nwrote {out_dir / 'interaction.json'}, interaction.png, interaction_{key}.png")


if __name__ == "__main__":
    main()
