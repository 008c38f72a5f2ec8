"""Benchmark: the compiled crossing kernel against the numpy kernel and grid sampling.

Same paths (random pairs of digits test images) through ``segment_crossings`` with
``backend="numpy"`` and ``backend="c"`` in float and certified mode, and through
1000-point grid sampling (``grid_patterns``, on a subset, scaled).  The methods are
run round-robin for several repetitions in one process and each figure is the
minimum over the repetitions (the machine may be shared), both wall-clock and
process CPU time; ratios are formed from timings of the same run.

Run:  python benchmarks/bench_kernel.py [--net 6x10] [--paths 4096] [--repeats 7]
Writes benchmarks/results/kernel.json.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import polyfold
from polyfold.crossings import available_backends
from polyfold.datasets import load_digits_split
from polyfold.sampling import grid_patterns


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--net", default="6x10")
    ap.add_argument("--paths", type=int, default=4096)
    ap.add_argument("--grid-paths", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    if "c" not in available_backends():
        print("compiled kernel not built (pip install -e .); nothing to compare", file=sys.stderr)
        return 1
    net = polyfold.zoo.digits_mlp(args.net)
    _, _, X, _ = load_digits_split()
    rng = np.random.default_rng(args.seed)
    idx = rng.integers(0, len(X), (args.paths, 2))
    S, E = X[idx[:, 0]], X[idx[:, 1]]
    g = args.grid_paths
    methods = {
        "numpy float": lambda: polyfold.segment_crossings(net, S, E, mode="float", backend="numpy"),
        "numpy certified": lambda: polyfold.segment_crossings(net, S, E, mode="certified", backend="numpy"),
        "C float": lambda: polyfold.segment_crossings(net, S, E, mode="float", backend="c"),
        "C certified": lambda: polyfold.segment_crossings(net, S, E, mode="certified", backend="c"),
        "grid 1000": lambda: grid_patterns(net, S[:g], E[:g], 1000),
    }
    scale = {"grid 1000": args.paths / g}
    wall = {k: np.inf for k in methods}
    cpu = {k: np.inf for k in methods}
    out = {}
    for _ in range(args.repeats):
        for k, fn in methods.items():
            w0, c0 = time.perf_counter(), time.process_time()
            out[k] = fn()
            w1, c1 = time.perf_counter(), time.process_time()
            wall[k] = min(wall[k], (w1 - w0) * scale.get(k, 1.0))
            cpu[k] = min(cpu[k], (c1 - c0) * scale.get(k, 1.0))

    # the backends must agree (codes exactly, breakpoints to rounding)
    a, b = out["numpy float"], out["C float"]
    same = np.array_equal(a.n_pieces, b.n_pieces) and np.array_equal(a.codes, b.codes)
    dt = float(np.max(np.abs(a.t - b.t))) if same and len(a.t) else 0.0
    ca, cb = out["numpy certified"], out["C certified"]
    same_cert = np.array_equal(ca.n_pieces, cb.n_pieces) and np.array_equal(ca.codes, cb.codes)

    rows = []
    print(f"net digits {args.net}, {args.paths} paths, min of {args.repeats} round-robin repeats")
    print(f"{'method':<18}{'paths/s wall':>14}{'paths/s cpu':>14}{'x grid (wall)':>15}{'x grid (cpu)':>14}")
    for k in methods:
        r = {
            "method": k,
            "paths_per_s_wall": args.paths / wall[k],
            "paths_per_s_cpu": args.paths / cpu[k],
            "x_grid_wall": wall["grid 1000"] / wall[k],
            "x_grid_cpu": cpu["grid 1000"] / cpu[k],
        }
        rows.append(r)
        print(f"{k:<18}{r['paths_per_s_wall']:>14.0f}{r['paths_per_s_cpu']:>14.0f}"
              f"{r['x_grid_wall']:>15.1f}{r['x_grid_cpu']:>14.1f}")
    summary = {
        "C float / numpy float speed-up (wall)": wall["numpy float"] / wall["C float"],
        "C certified / C float time (wall)": wall["C certified"] / wall["C float"],
        "C certified / C float time (cpu)": cpu["C certified"] / cpu["C float"],
        "float results identical": bool(same),
        "max |t_numpy - t_C| float": dt,
        "certified results identical": bool(same_cert),
        "segments recomputed exactly (certified)": int(cb.n_recomputed),
        "mean pieces per path": float(np.mean(b.n_pieces)),
    }
    for k, v in summary.items():
        print(f"{k}: {v:.3g}" if isinstance(v, float) else f"{k}: {v}")
    res_dir = Path(__file__).resolve().parent / "results"
    res_dir.mkdir(exist_ok=True)
    with open(res_dir / "kernel.json", "w") as f:
        json.dump({"net": args.net, "paths": args.paths, "repeats": args.repeats, "rows": rows,
                   "summary": summary}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
