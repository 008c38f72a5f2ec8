"""Benchmark: streaming class-pair sweeps on local processes and on a Dask cluster.

One ordered class pair of the digits test set on ``polyfold.zoo.digits_mlp("6x10")``,
exact folding (``quantity="folding"``, certified mode), through
:func:`polyfold.parallel.class_pair_sweep` with

* ``executor="processes"``, 1 and 2 local worker processes,
* ``executor="dask"``, an embedded ``LocalCluster`` with 2 single-threaded workers,
* ``executor="serial"`` (in process, the small size only, as the reference),

at two sizes (default 100k and 1M paths), to show that memory stays flat as the
number of paths grows.  Every run is a fresh Python process so that its peak memory
is its own: the figure reported is ``resource.getrusage`` ``ru_maxrss`` of the run's
main process (driver) and of its largest child (a worker process, once the pool or
cluster has shut down).  Wall time covers the whole ``class_pair_sweep`` call
(pool / cluster start-up included).  All runs of one size must give identical
aggregates (same seed), which is checked.

A projection of the full experiment (6 networks x 100 class pairs x 1M paths) uses
the 2-worker rate measured here, scaled per network by the serial CPU rate of each
of the six digits MLPs over all 100 ordered pairs (``--rate-paths`` paths in all)
relative to the 6x10 net on the benchmark's pair, measured in the same loop.

The machine may be shared: every configuration runs ``--repeats`` times round-robin
and the fastest repetition is kept, CPU seconds (driver + workers) are reported next
to wall time, and the cores actually available are measured between rounds (two
concurrent CPU spinners against one), so that a missing speed-up can be told apart
from a busy machine.

Run:  python benchmarks/bench_parallel.py [--paths 1000000] [--small 100000]
      [--pair 3,8] [--repeats 3] [--quick]
Writes benchmarks/results/parallel.json (parallel_quick.json with --quick).
"""

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(ROOT))

ARCHS = ("2x30", "3x20", "4x15", "5x12", "6x10", "10x6")


def digest(res):
    """Hash of the exact aggregates (identical runs give identical digests)."""
    t = res.total
    blob = json.dumps(
        {
            "pieces": sorted(t.pieces.items()),
            "chi": sorted((list(k), v) for k, v in t.chi.items()),
            "prefix": sorted((list(k), v) for k, v in t.prefix_max.items()),
            "n": t.n_paths,
            "rec": t.n_recomputed,
        }
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def child(cfg):
    """One run in this (fresh) process; prints a JSON record."""
    import numpy as np  # noqa: F401  (imported before timing, like the library)

    import polyfold
    from polyfold.datasets import load_digits_split
    from polyfold.parallel import class_pair_sweep

    net = polyfold.zoo.digits_mlp(cfg["arch"])
    _, _, X, y = load_digits_split()
    if cfg["executor"] == "dask":
        import distributed  # noqa: F401  (import cost outside the timing)
    load0 = os.getloadavg()[0]
    r0s = resource.getrusage(resource.RUSAGE_SELF)
    r0c = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = class_pair_sweep(
        net, X, y,
        paths_per_pair=cfg["paths"],
        pairs=[tuple(cfg["pair"])],
        seed=cfg["seed"],
        executor=cfg["executor"],
        workers=cfg["workers"],
        chunk_size=cfg["chunk_size"],
        progress=False,
    )
    wall = time.perf_counter() - t0
    ru_self = resource.getrusage(resource.RUSAGE_SELF)
    ru_child = resource.getrusage(resource.RUSAGE_CHILDREN)
    self_kb, child_kb = ru_self.ru_maxrss, ru_child.ru_maxrss
    # CPU seconds of driver + workers during the sweep (worker start-up included);
    # robust to other jobs sharing the machine, unlike wall time
    cpu = sum(
        getattr(a, f) - getattr(b, f)
        for a, b in ((ru_self, r0s), (ru_child, r0c))
        for f in ("ru_utime", "ru_stime")
    )
    agg = res.total
    rec = {
        **cfg,
        "wall_s": wall,
        "paths_per_s": res.n_paths / wall,
        "cpu_s": cpu,
        "paths_per_cpu_s": res.n_paths / cpu,
        "loadavg_1min_before": load0,
        "loadavg_1min_after": os.getloadavg()[0],
        "n_paths": res.n_paths,
        "complete": res.complete,
        "n_workers": res.n_workers,
        "driver_peak_rss_mb": self_kb / 1024,
        "worker_peak_rss_mb": child_kb / 1024,
        "phi": float(agg.phi),
        "chi_max": str(agg.chi_max),
        "fraction_flat": agg.fraction_flat,
        "mean_crossings": agg.mean_crossings,
        "n_recomputed": agg.n_recomputed,
        "digest": digest(res),
    }
    print("RESULT " + json.dumps(rec), flush=True)


def run_child(cfg):
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    p = subprocess.run(
        [sys.executable, __file__, "--child", json.dumps(cfg)],
        capture_output=True, text=True, cwd=str(ROOT), env=env, check=False,
    )
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"child run failed ({cfg}):\n{p.stdout[-2000:]}\n{p.stderr[-4000:]}")


def serial_rates(pair, n, seed, chunk_size):
    """Serial CPU rates (this process, best of two): each digits MLP on all 100 ordered
    pairs (``n // 100`` paths each, same-class pairs included), and the 6x10 net on
    ``n`` paths of the benchmark's pair (the reference for scaling)."""
    import polyfold
    from polyfold.datasets import load_digits_split
    from polyfold.parallel import class_pair_sweep

    _, _, X, y = load_digits_split()

    def rate(net, **kw):
        dt = dc = float("inf")
        for _ in range(2):  # best of two (shared machine)
            t0, c0 = time.perf_counter(), time.process_time()
            res = class_pair_sweep(net, X, y, seed=seed, executor="serial",
                                   chunk_size=chunk_size, progress=False, **kw)
            dt = min(dt, time.perf_counter() - t0)
            dc = min(dc, time.process_time() - c0)
        return {
            "paths_per_s": res.n_paths / dt,
            "paths_per_cpu_s": res.n_paths / dc,
            "mean_crossings": res.total.mean_crossings,
            "phi": float(res.total.phi),
            "n_paths": res.n_paths,
        }

    out = {}
    for arch in ARCHS:
        net = polyfold.zoo.digits_mlp(arch)
        class_pair_sweep(net, X, y, paths_per_pair=2048, pairs=[pair], seed=seed + 1,
                         executor="serial", chunk_size=chunk_size, progress=False)  # warm-up
        out[arch] = rate(net, paths_per_pair=max(1, n // 100), same_class=True)
    out["reference_6x10_pair"] = rate(polyfold.zoo.digits_mlp("6x10"), paths_per_pair=n,
                                      pairs=[pair])
    return out


_SPIN = "s = 0\nfor i in range(12_000_000): s += i"


def available_cores():
    """Cores this session really gets: 2 x wall(one spin) / wall(two concurrent spins).

    About 2 on an idle 2-core machine, less when other jobs share it.  Used to tell a
    lack of speed-up caused by the machine from one caused by the pool."""
    def spin(k):
        t0 = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-c", _SPIN]) for _ in range(k)]
        for p in procs:
            p.wait()
        return time.perf_counter() - t0

    return 2 * spin(1) / spin(2)


def fmt_row(cells, widths):
    return "  ".join(str(c).rjust(w) for c, w in zip(cells, widths))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--paths", type=int, default=1_000_000)
    ap.add_argument("--small", type=int, default=100_000)
    ap.add_argument("--pair", default="3,8")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chunk-size", type=int, default=4096)
    ap.add_argument("--rate-paths", type=int, default=100_000,
                    help="paths per network for the per-architecture serial rates")
    ap.add_argument("--repeats", type=int, default=3,
                    help="round-robin repetitions; the fastest of each configuration is kept")
    ap.add_argument("--quick", action="store_true", help="20k / 5k paths, for a smoke test")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        child(json.loads(args.child))
        return 0
    if args.quick:
        args.paths, args.small, args.rate_paths, args.repeats = 20_000, 5_000, 2_000, 1
    pair = tuple(int(v) for v in args.pair.split(","))
    base = {"arch": "6x10", "pair": list(pair), "seed": args.seed, "chunk_size": args.chunk_size}
    configs = [("processes", 1), ("processes", 2), ("dask", 2)]
    runs = []
    sizes = [args.small, args.paths]
    t_start = time.perf_counter()
    cores_before = available_cores()
    print(f"available cores (2 x one spin / two concurrent spins): {cores_before:.2f}", flush=True)
    all_runs = []
    cores = [cores_before]
    for rep in range(args.repeats):
        if rep:
            cores.append(available_cores())
        for n in sizes:
            plan = ([("serial", 1)] if n == args.small else []) + configs
            for ex, w in plan:
                rec = run_child({**base, "executor": ex, "workers": w, "paths": n})
                rec["repeat"] = rep
                all_runs.append(rec)
                print(
                    f"  [{rep}] {ex:>9} x{w}  {n:>9,d} paths  {rec['wall_s']:8.1f} s  "
                    f"{rec['paths_per_s']:8.0f} paths/s  cpu {rec['cpu_s']:6.1f} s  driver "
                    f"{rec['driver_peak_rss_mb']:6.1f} MB  worker {rec['worker_peak_rss_mb']:6.1f} MB",
                    flush=True,
                )
    identical = {
        n: len({r["digest"] for r in all_runs if r["paths"] == n}) == 1 for n in sizes
    }
    # per configuration: the fastest repetition (the machine is shared), with the
    # largest peak memory seen over the repetitions
    runs = []
    for key in dict.fromkeys((r["executor"], r["workers"], r["paths"]) for r in all_runs):
        reps = [r for r in all_runs if (r["executor"], r["workers"], r["paths"]) == key]
        best = dict(min(reps, key=lambda r: r["wall_s"]))
        best["driver_peak_rss_mb"] = max(r["driver_peak_rss_mb"] for r in reps)
        best["worker_peak_rss_mb"] = max(r["worker_peak_rss_mb"] for r in reps)
        best["paths_per_cpu_s"] = max(r["paths_per_cpu_s"] for r in reps)
        best["n_repeats"] = len(reps)
        runs.append(best)
    rates = serial_rates(pair, args.rate_paths, args.seed, args.chunk_size)
    cores_after = available_cores()
    cores.append(cores_after)
    total_s = time.perf_counter() - t_start

    def get(ex, w, n):
        return next(r for r in runs if r["executor"] == ex and r["workers"] == w and r["paths"] == n)

    big = args.paths
    p1, p2, d2 = get("processes", 1, big), get("processes", 2, big), get("dask", 2, big)
    speedup_2v1 = p2["paths_per_s"] / p1["paths_per_s"]
    dask_overhead = d2["wall_s"] / p2["wall_s"]
    dask_cpu_overhead = p2["paths_per_cpu_s"] / d2["paths_per_cpu_s"]
    # projection: 6 nets x 100 pairs x 1M paths on 2 local workers.  The 2-worker rate
    # is measured at full size on 6x10 and one pair; every net is scaled by its serial
    # CPU rate over all 100 pairs relative to 6x10 on that pair (same loop).
    full_paths = 100 * 1_000_000
    ref = rates["reference_6x10_pair"]["paths_per_cpu_s"]
    scale = {a: rates[a]["paths_per_cpu_s"] / ref for a in ARCHS}
    proj_wall = {a: full_paths / (p2["paths_per_s"] * scale[a]) for a in ARCHS}
    # two dedicated cores: CPU seconds of the 2-worker run (driver + workers) / 2
    proj_cpu2 = {a: full_paths / (p2["paths_per_cpu_s"] * scale[a]) / 2 for a in ARCHS}
    proj_wall_h = sum(proj_wall.values()) / 3600
    proj_cpu2_h = sum(proj_cpu2.values()) / 3600

    print()
    print(f"class_pair_sweep, digits_mlp('6x10'), pair {pair}, certified, exact folding, "
          f"chunk_size={args.chunk_size}, {os.cpu_count()} cores (shared machine: load "
          f"averages in the JSON)")
    widths = (10, 7, 10, 8, 8, 8, 10, 9, 9, 6, 9)
    print(fmt_row(["executor", "workers", "paths", "wall s", "paths/s", "cpu s", "paths/cpu",
                   "driver MB", "worker MB", "load", "identical"], widths))
    for r in runs:
        print(fmt_row([
            r["executor"], r["workers"], f"{r['paths']:,}", f"{r['wall_s']:.1f}",
            f"{r['paths_per_s']:.0f}", f"{r['cpu_s']:.1f}", f"{r['paths_per_cpu_s']:.0f}",
            f"{r['driver_peak_rss_mb']:.1f}", f"{r['worker_peak_rss_mb']:.1f}",
            f"{r['loadavg_1min_before']:.1f}", identical[r["paths"]],
        ], widths))
    print()
    for ex, w in configs:
        sm, b = get(ex, w, args.small), get(ex, w, big)
        print(f"memory growth {ex} x{w}, {args.small:,} -> {big:,} paths: driver "
              f"{b['driver_peak_rss_mb'] - sm['driver_peak_rss_mb']:+.1f} MB, worker "
              f"{b['worker_peak_rss_mb'] - sm['worker_peak_rss_mb']:+.1f} MB")
    print(f"2 workers / 1 worker wall throughput ({big:,} paths): {speedup_2v1:.2f}x "
          f"(available cores measured between rounds: {', '.join(f'{c:.2f}' for c in cores)}; "
          f"CPU per path 2 workers / 1 worker: "
          f"{p1['paths_per_cpu_s'] / p2['paths_per_cpu_s']:.3f})")
    print(f"Dask LocalCluster (2) / process pool (2), {big:,} paths: wall {dask_overhead:.3f}, "
          f"CPU {dask_cpu_overhead:.3f}")
    print(f"exact folding on {big:,} paths: phi = {p2['phi']:.4f}, chi_max = {p2['chi_max']}, "
          f"flat {p2['fraction_flat']:.3f}, mean crossings {p2['mean_crossings']:.2f}, "
          f"recomputed exactly {p2['n_recomputed']}")
    print()
    print(f"per network (serial, all 100 ordered pairs incl. same-class, "
          f"{max(1, args.rate_paths // 100)} paths each): paths per CPU-second, and projected "
          "hours for 100 pairs x 1M paths on 2 workers (measured wall rate | two dedicated "
          f"cores); reference 6x10 on pair {pair}: "
          f"{rates['reference_6x10_pair']['paths_per_cpu_s']:.0f} paths/cpu-s")
    for a in ARCHS:
        print(f"  {a:>5}: {rates[a]['paths_per_cpu_s']:8.0f} paths/cpu-s, mean crossings "
              f"{rates[a]['mean_crossings']:6.2f}, projected {proj_wall[a] / 3600:6.2f} h | "
              f"{proj_cpu2[a] / 3600:6.2f} h")
    print(f"projected full experiment (6 nets x 100 pairs x 1M paths, 2 workers): "
          f"{proj_wall_h:.1f} h at the measured wall rate, {proj_cpu2_h:.1f} h on two "
          "dedicated cores")
    print(f"benchmark wall time {total_s / 60:.1f} min")

    out = {
        "benchmark": "parallel",
        "command": "python benchmarks/bench_parallel.py" + (" --quick" if args.quick else ""),
        "arch": "6x10",
        "pair": list(pair),
        "mode": "certified",
        "quantity": "folding",
        "chunk_size": args.chunk_size,
        "cpu_count": os.cpu_count(),
        "memory_measure": "resource.getrusage ru_maxrss: RUSAGE_SELF of the run's process "
        "(driver) and RUSAGE_CHILDREN (largest worker process), each run in a fresh process",
        "runs": runs,
        "runs_note": "per configuration the fastest of the round-robin repetitions; peak "
        "memory is the largest over the repetitions; paths_per_cpu_s the best",
        "identical_aggregates_per_size": {str(k): v for k, v in identical.items()},
        "speedup_2_workers_vs_1": speedup_2v1,
        "available_cores_between_rounds": cores,
        "all_runs": all_runs,
        "cpu_per_path_2_workers_over_1": p1["paths_per_cpu_s"] / p2["paths_per_cpu_s"],
        "dask_wall_over_pool_wall": dask_overhead,
        "dask_cpu_over_pool_cpu": dask_cpu_overhead,
        "serial_rates": rates,
        "projection_hours_per_net_measured_wall": {a: v / 3600 for a, v in proj_wall.items()},
        "projection_hours_per_net_two_dedicated_cores": {a: v / 3600 for a, v in proj_cpu2.items()},
        "projection_total_hours_measured_wall": proj_wall_h,
        "projection_total_hours_two_dedicated_cores": proj_cpu2_h,
        "projection_note": "100 ordered pairs (same-class included) x 1M paths per net; "
        "2-worker rate measured on 6x10 and one pair at full size, each net scaled by its "
        "serial CPU rate over all 100 pairs relative to 6x10 on that pair; digits (64 "
        "inputs): MNIST's 784 inputs only enter the once-per-point first-layer cache",
        "benchmark_wall_min": total_s / 60,
    }
    res_dir = ROOT / "benchmarks" / "results"
    res_dir.mkdir(parents=True, exist_ok=True)
    name = "parallel_quick.json" if args.quick else "parallel.json"
    with open(res_dir / name, "w") as fh:
        json.dump(out, fh, indent=1)
    print(f"wrote {res_dir / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
