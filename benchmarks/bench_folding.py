"""Benchmark: space folding on exact walks.

1. CantorNet along the authors' path (0, 3/4) -> (1, 3/4), k = 1..6, representations
   A, B, C: exact chi and the authors' 11-point grid, with two bit conventions
   (hidden units only; hidden units plus the output bit N_k > 0, which is the
   authors' ReLU-output convention with 5k + 1 bits for A).
2. The depth experiment (polyfold.experiments.depth_experiment): the six 60-neuron
   digits MLPs, class-pair folding with both readings, fraction flat, runtime and
   rate (projected to 1M paths per pair).
3. Grid-sampled chi (11, 100, 1000 points) and adaptive bisection against exact chi
   on random class-pair paths, with the time ratio of each sampler to the exact walk
   measured in the same run.

Figures (matplotlib, Agg) go to benchmarks/results/: folding_vs_depth.png,
folding_heatmaps.png, folding_cantornet.png.

Run:  python benchmarks/bench_folding.py [--paths-per-pair 300] [--error-paths 200]
      [--timing-paths 1000] [--archs 2x30,6x10] [--mnist PATH] [--cantor-k 6]
Writes benchmarks/results/folding_cantornet.json and folding_depth.json
(folding_depth_mnist.json with --mnist).
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
from polyfold import zoo  # noqa: E402
from polyfold.experiments import depth_experiment  # noqa: E402
from polyfold.folding import sampled_folding, space_folding  # noqa: E402
from polyfold.training import DIGITS_ARCHITECTURES  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
PATH = ([0.0, 0.75], [1.0, 0.75])


def cantor_table(kmax):
    rows = []
    for rep in "ABC":
        for k in range(1, kmax + 1):
            net = zoo.cantornet(k, rep)
            row = {"representation": rep, "k": k, "neurons": net.n_hidden}
            for conv, units in (("hidden", "hidden"), ("hidden+out", "hidden+output")):
                t0 = time.perf_counter()
                ex = space_folding(net, *PATH, mode="exact", units=units)
                t_ex = time.perf_counter() - t0
                t0 = time.perf_counter()
                gr = sampled_folding(net, [PATH[0]], [PATH[1]], n_points=11, units=units)
                t_gr = time.perf_counter() - t0
                row[conv] = {
                    "chi_exact": str(ex.chi),
                    "chi_exact_float": float(ex.chi),
                    "regions_exact": ex.n_regions,
                    "chi_grid11": str(gr.measures.chi_exact(0)),
                    "chi_grid11_float": float(gr.chi[0]),
                    "regions_grid11": int(gr.measures.n_regions[0]),
                    "time_exact_over_grid11": t_ex / t_gr,
                }
            rows.append(row)
    return rows


def print_cantor(rows):
    print("CantorNet, path (0, 3/4) -> (1, 3/4); exact (exact mode) vs 11-point grid t = 0, 0.1, ..., 1")
    print("bits 'hidden': one per hidden ReLU (5k for A).  'hidden+out': plus the output bit")
    print("N_k > 0 (the authors' ReLU output unit, 5k + 1 bits for A).")
    hdr = (
        f"{'rep':>3} {'k':>2} {'neur':>5} | {'chi exact':>10} {'float':>6} {'reg':>4} {'grid11':>6} {'reg':>3}"
        f" | {'chi exact':>10} {'float':>6} {'reg':>4} {'grid11':>6} {'reg':>3} | {'t_ex/t_grid':>10}"
    )
    print(f"{'':>13}| {'-- hidden bits --':^34} | {'-- hidden + output bit --':^34} |")
    print(hdr)
    for r in rows:
        h, o = r["hidden"], r["hidden+out"]
        print(
            f"{r['representation']:>3} {r['k']:>2} {r['neurons']:>5} | {h['chi_exact']:>10} "
            f"{h['chi_exact_float']:6.3f} {h['regions_exact']:>4} {h['chi_grid11_float']:6.3f} "
            f"{h['regions_grid11']:>3} | {o['chi_exact']:>10} {o['chi_exact_float']:6.3f} "
            f"{o['regions_exact']:>4} {o['chi_grid11_float']:6.3f} {o['regions_grid11']:>3} | "
            f"{h['time_exact_over_grid11']:10.1f}"
        )


def best_time(fn, repeats):
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def timing_rows(res, data, n_paths, seed, repeats):
    """Best-of-``repeats`` time of the exact walk and of every sampler on the same
    class-pair paths, as ratios to the exact (certified) walk."""
    from polyfold.experiments import error_path_indices, experiment_nets, load_experiment_data
    from polyfold.folding import space_folding_batch

    _, _, X, y, _ = load_experiment_data(data)
    i, j = error_path_indices(y, n_paths, seed=seed + 1)
    S, E = X[i], X[j]
    nets = {a: net for a, net, _ in experiment_nets([r.arch for r in res.rows], data)}
    rows = []
    for r in res.rows:
        net = nets[r.arch]
        t_ex, ex = best_time(lambda: space_folding_batch(net, S, E, mode="certified"), repeats)
        row = {"arch": r.arch, "paths": n_paths, "exact_s": t_ex, "exact_regions": float(np.mean(ex.n_regions))}
        # the fastest 11-point grid (first layer at the two ends, packed words): the
        # baseline exact folding is compared with (see benchmarks/baselines.py)
        from baselines import grid_folding_chi

        t, _ = best_time(lambda: grid_folding_chi(net, S, E, 11), repeats)
        row["grid11_fastest"] = {"seconds": t, "ratio_to_exact": t / t_ex}
        for name, kw in (
            ("grid11", {"n_points": 11}),
            ("grid100", {"n_points": 100}),
            ("grid1000", {"n_points": 1000}),
            ("bisection1e-6", {"method": "bisection", "eps": 1e-6}),
        ):
            t, sp = best_time(lambda: sampled_folding(net, S, E, **kw), repeats)
            row[name] = {
                "seconds": t,
                "ratio_to_exact": t / t_ex,
                "regions_seen": float(np.mean(sp.measures.n_regions)),
                "evaluations": float(np.mean(sp.n_evaluations)),
            }
        rows.append(row)
    return rows


def print_errors(res, timing):
    print("\nSampled chi vs exact on random class-pair paths (same paths, same run)")
    print(
        f"{'arch':>6} {'sampler':>18} {'mean|err|':>9} {'max|err|':>9} {'wrong':>6} "
        f"{'missed/path':>11} {'exact reg':>9}"
    )
    for r in res.rows:
        items = [(f"grid{n}", r.grid_errors[n]) for n in sorted(r.grid_errors)]
        if r.bisection_error is not None:
            items.append((r.bisection_error["method"], r.bisection_error))
        for name, e in items:
            print(
                f"{r.arch:>6} {name:>18} {e['abs_error_mean']:9.4f} {e['abs_error_max']:9.4f} "
                f"{e['fraction_wrong']:6.3f} {e['regions_missed_mean']:11.2f} "
                f"{e['exact_regions_mean']:9.2f}"
            )
    if timing:
        print(f"\nTime of each sampler / time of the exact certified walk ({timing[0]['paths']} paths, best of 3)")
        names = ["grid11_fastest", "grid11", "grid100", "grid1000", "bisection1e-6"]
        print(f"{'arch':>6} {'exact paths/s':>13}" + "".join(f" {n:>14}" for n in names))
        for t in timing:
            print(
                f"{t['arch']:>6} {t['paths'] / t['exact_s']:13.0f}"
                + "".join(f" {t[n]['ratio_to_exact']:14.2f}" for n in names)
            )


def figures(cantor, res, suffix):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # folding vs depth
    fig, ax = plt.subplots(figsize=(6, 4))
    depth = [r.depth for r in res.rows]
    ax.plot(depth, [r.pair_max_median for r in res.rows], "o-", label="median over pairs of pair max")
    ax.plot(depth, [r.path_prefix_max_median for r in res.rows], "s-", label="median of path prefix max")
    ax.plot(depth, [r.phi for r in res.rows], "^-", label="Phi_N (median non-zero chi)")
    ax.set_xlabel("hidden layers (60 neurons in total)")
    ax.set_ylabel("space folding")
    ax.set_title(f"Folding vs depth ({res.data}, {res.paths_per_pair} paths / pair, exact)")
    acc = [r.test_accuracy for r in res.rows]
    if all(a is not None for a in acc):
        ax2 = ax.twinx()
        ax2.plot(depth, acc, "k--", alpha=0.5, label="test accuracy")
        ax2.set_ylabel("test accuracy")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(RESULTS / f"folding_vs_depth{suffix}.png", dpi=120)
    plt.close(fig)

    # heat maps
    n = len(res.rows)
    cols = min(3, n)
    rws = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rws, cols, figsize=(4 * cols, 3.6 * rws), squeeze=False)
    vmax = max(np.nanmax(cp.pair_max) for cp in res.results.values())
    for ax, r in zip(axes.ravel(), res.rows):
        cp = res.results[r.arch]
        im = ax.imshow(cp.pair_max, vmin=0, vmax=vmax, cmap="viridis")
        ax.set_title(f"{r.arch}: max chi per pair")
        ax.set_xlabel("end class")
        ax.set_ylabel("start class")
        ax.set_xticks(range(len(cp.labels)), [str(v) for v in cp.labels], fontsize=7)
        ax.set_yticks(range(len(cp.labels)), [str(v) for v in cp.labels], fontsize=7)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8)
    fig.savefig(RESULTS / f"folding_heatmaps{suffix}.png", dpi=120)
    plt.close(fig)

    if cantor:
        fig, ax = plt.subplots(figsize=(6, 4))
        for rep, mk in zip("ABC", "osd"):
            rr = [r for r in cantor if r["representation"] == rep]
            ks = [r["k"] for r in rr]
            ax.plot(ks, [r["hidden"]["chi_exact_float"] for r in rr], mk + "-", label=f"{rep} exact")
            ax.plot(ks, [r["hidden"]["chi_grid11_float"] for r in rr], mk + ":", label=f"{rep} grid 11")
        ax.set_xlabel("k")
        ax.set_ylabel("chi along (0, 3/4) -> (1, 3/4)")
        ax.set_title("CantorNet: exact vs 11-point grid (hidden bits)")
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(RESULTS / "folding_cantornet.png", dpi=120)
        plt.close(fig)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--paths-per-pair", type=int, default=300)
    ap.add_argument("--error-paths", type=int, default=200)
    ap.add_argument("--archs", default=",".join(DIGITS_ARCHITECTURES))
    ap.add_argument("--mnist", default=None, help="local MNIST (.npz or IDX folder)")
    ap.add_argument("--cantor-k", type=int, default=6)
    ap.add_argument("--timing-paths", type=int, default=1000)
    ap.add_argument("--mode", default="certified")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    RESULTS.mkdir(parents=True, exist_ok=True)

    cantor = []
    if args.cantor_k > 0:
        cantor = cantor_table(args.cantor_k)
        print_cantor(cantor)
        (RESULTS / "folding_cantornet.json").write_text(
            json.dumps({"path": "(0, 3/4) -> (1, 3/4)", "grid": "t = 0, 0.1, ..., 1", "rows": cantor}, indent=1)
        )

    archs = [a for a in args.archs.split(",") if a]
    data = args.mnist if args.mnist else "digits"
    t0 = time.perf_counter()
    res = depth_experiment(
        archs, data=data, paths_per_pair=args.paths_per_pair, seed=args.seed, mode=args.mode,
        grid_points=(11, 100, 1000), error_paths=args.error_paths, bisection_eps=1e-6,
    )
    total = time.perf_counter() - t0
    print(
        f"\nDepth experiment on {res.data}: {args.paths_per_pair} paths per ordered class pair "
        f"(a != b), mode={res.mode}, units={res.units}, classes={res.classes}, seed={args.seed}"
    )
    print("pairmax = median over pairs of the per-pair max non-zero chi; prefmax = median of")
    print("the non-zero per-path prefix-curve maxima; 1M_h = hours for 1M paths per pair at")
    print("the measured rate (one process); |errN| = mean |chi_gridN - chi_exact|.")
    print(res.table())
    timing = timing_rows(res, data, args.timing_paths, args.seed, 3) if args.timing_paths else []
    print_errors(res, timing)
    print(f"\ntotal {total:.1f} s")
    suffix = "_mnist" if args.mnist else ""
    out = res.as_dict()
    out["command"] = "python benchmarks/bench_folding.py " + " ".join(sys.argv[1:] if argv is None else argv)
    out["total_seconds"] = total
    out["timing"] = timing
    (RESULTS / f"folding_depth{suffix}.json").write_text(json.dumps(out, indent=1))
    figures(cantor, res, suffix)
    return 0


if __name__ == "__main__":
    sys.exit(main())
