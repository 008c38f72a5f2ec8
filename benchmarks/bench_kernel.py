"""Benchmark: the crossing kernels against a plain numpy loop and a BLAS yardstick.

Seven sections, each measured round-robin in one process (minimum over repetitions
of wall-clock and process CPU time; the machine may be shared, so every figure that
matters is a ratio of timings from the same run on the same inputs):

``baseline``
    float and certified crossings (compiled kernel, 1 and 2 threads) against the
    plain batched numpy layer-by-layer loop of ``baselines.numpy_loop_crossings``
    and the BLAS yardstick of ``baselines.blas_yardstick``, on the 6x10 digits MLP
    (random pairs of test images) and a 784-input 6x10 MLP (random points of
    ``[0, 1]^784``).  Both sides agree: the loop's pieces and patterns equal the
    float result.
``widths``
    float crossings on 784-input MLPs of 4 hidden layers of width 64..512 against the
    yardstick, one thread and two.
``depths``
    certified against float time on 64-input MLPs of width 32 and depth 1..10
    (digits test images as ends), with the segments certified mode recomputed.
``threads``
    wall time of one call on one and on two threads of the compiled kernel (100k
    digits paths of the 6x10 net, 25k on a 784-input 6x10 net, 1000 on a 784-input
    4x256 net), float and certified.
``memory``
    1M paths of the 6x10 digits net held in one result (``segment_crossings_between``,
    certified), in a fresh process: peak resident memory and the result's bytes.
``folding``
    exact folding (``space_folding_batch``, certified) against the 11-point grid on
    the same paths (class pair 3 -> 8 of the digits test set, 6x10 net): the fastest
    grid sampler (``baselines.grid_folding_chi``: first layer at the two ends, packed
    words, popcounts) and polyfold's ``sampled_folding``, one thread.
``statistics``
    ``region_statistics`` points per second on the six digits MLPs, in one process
    and with ``n_jobs=2`` (same points; the results are checked equal).

Run:  python benchmarks/bench_kernel.py [--sections baseline,widths,depths,threads,memory,folding,statistics]
      [--repeats 5]
Writes benchmarks/results/kernel.json (sections not run keep their earlier results).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


sys.path.insert(0, str(Path(__file__).resolve().parent))

import polyfold  # noqa: E402
from baselines import blas_yardstick, layer_point_counts, numpy_loop_crossings, peak_rss_mib  # noqa: E402
from polyfold.datasets import load_digits_split  # noqa: E402


def blas_threads(n):
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return None
    return threadpool_limits(n)


def timed(methods, repeats):
    """Round-robin timing: ``{name: (min wall s, min cpu s)}`` and the last outputs."""
    wall = {k: np.inf for k in methods}
    cpu = {k: np.inf for k in methods}
    out = {}
    for _ in range(repeats):
        for k, fn in methods.items():
            w0, c0 = time.perf_counter(), time.process_time()
            out[k] = fn()
            w1, c1 = time.perf_counter(), time.process_time()
            wall[k] = min(wall[k], w1 - w0)
            cpu[k] = min(cpu[k], c1 - c0)
    return {k: (wall[k], cpu[k]) for k in methods}, out


def digits_paths(n, seed=0):
    _, _, X, _ = load_digits_split()
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(X), (n, 2))
    return X[idx[:, 0]], X[idx[:, 1]]


def class_pair_paths(n, a=3, b=8, seed=0):
    """``n`` random paths from test images of class ``a`` to class ``b``: ``(X, i, j)``."""
    _, _, X, y = load_digits_split()
    rng = np.random.default_rng(seed)
    return X, rng.choice(np.flatnonzero(y == a), n), rng.choice(np.flatnonzero(y == b), n)


def show(tag, row, skip=()):
    print(f"{tag}: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                 for k, v in row.items() if k not in skip), flush=True)


def cross(net, S, E, mode, threads):
    return lambda: polyfold.segment_crossings(net, S, E, mode=mode, threads=threads)


def section_baseline(args):
    rows = []
    nets = {
        "digits 6x10": (polyfold.zoo.digits_mlp("6x10"), *digits_paths(args.paths)),
        "random784 6x10": (
            polyfold.zoo.random_mlp("6x10", 784, 10, seed=0),
            *(np.random.default_rng(1).random((2, args.paths, 784))),
        ),
    }
    for name, (net, S, E) in nets.items():
        ref = polyfold.segment_crossings(net, S, E, mode="float")
        n_loop, packed = numpy_loop_crossings(net, S, E)
        agree = bool(np.array_equal(n_loop, ref.n_pieces) and np.array_equal(packed, ref.packed_patterns))
        counts = layer_point_counts(ref)
        with blas_threads(1):
            t1, _ = timed({
                "numpy loop": lambda: numpy_loop_crossings(net, S, E),
                "float 1 thread": cross(net, S, E, "float", 1),
                "certified 1 thread": cross(net, S, E, "certified", 1),
                "BLAS yardstick": lambda: blas_yardstick(net, S, E, counts),
            }, args.repeats)
        with blas_threads(2):
            t2, _ = timed({
                "float 2 threads": cross(net, S, E, "float", 2),
                "certified 2 threads": cross(net, S, E, "certified", 2),
            }, args.repeats)
        t = {**t1, **t2}
        loop = t["numpy loop"]
        row = {"network": name, "paths": len(S), "mean_pieces": float(ref.n_pieces.mean()),
               "loop_agrees_with_float": agree}
        for k, (w, c) in t.items():
            row[f"{k} wall s"] = w
            row[f"{k} cpu s"] = c
        for k in ("float 1 thread", "certified 1 thread", "float 2 threads", "certified 2 threads"):
            row[f"{k} x loop (wall)"] = loop[0] / t[k][0]
        row["float 1 thread x loop (cpu)"] = loop[1] / t["float 1 thread"][1]
        row["certified 1 thread x loop (cpu)"] = loop[1] / t["certified 1 thread"][1]
        row["float / yardstick (wall)"] = t["float 1 thread"][0] / t["BLAS yardstick"][0]
        rows.append(row)
        show(name, row, ("network",))
    return rows


def section_widths(args):
    rows = []
    rng = np.random.default_rng(2)
    for w in (64, 128, 256, 512):
        m = max(8, int(args.width_paths * 64 / w))
        net = polyfold.zoo.random_mlp([w] * 4, 784, 10, seed=w)
        S, E = rng.random((m, 784)), rng.random((m, 784))
        ref = polyfold.segment_crossings(net, S, E, mode="float", threads=1)
        counts = layer_point_counts(ref)
        with blas_threads(1):
            t1, _ = timed({
                "float 1 thread": cross(net, S, E, "float", 1),
                "BLAS yardstick 1 thread": lambda: blas_yardstick(net, S, E, counts),
            }, args.repeats)
        with blas_threads(2):
            t2, _ = timed({
                "float 2 threads": cross(net, S, E, "float", 2),
                "BLAS yardstick 2 threads": lambda: blas_yardstick(net, S, E, counts),
            }, args.repeats)
        t = {**t1, **t2}
        row = {"width": w, "paths": m, "mean_pieces": float(ref.n_pieces.mean()),
               "points per layer": counts}
        for k, (wa, c) in t.items():
            row[f"{k} wall s"] = wa
        row["float / yardstick (1 thread)"] = t["float 1 thread"][0] / t["BLAS yardstick 1 thread"][0]
        row["float / yardstick (2 threads)"] = t["float 2 threads"][0] / t["BLAS yardstick 2 threads"][0]
        row["2 threads speed-up"] = t["float 1 thread"][0] / t["float 2 threads"][0]
        rows.append(row)
        show(f"width {w}", row, ("width",))
    return rows


def section_depths(args):
    rows = []
    S, E = digits_paths(args.depth_paths, seed=3)
    for d in range(1, 11):
        net = polyfold.zoo.random_mlp([32] * d, 64, 10, seed=d)
        with blas_threads(1):
            t, out = timed({
                "float": cross(net, S, E, "float", 1),
                "certified": cross(net, S, E, "certified", 1),
            }, args.repeats)
        row = {"depth": d, "paths": len(S), "mean_pieces": float(out["float"].n_pieces.mean()),
               "float cpu s": t["float"][1], "certified cpu s": t["certified"][1],
               "certified / float (cpu)": t["certified"][1] / t["float"][1],
               "recomputed": int(out["certified"].n_recomputed),
               "refined": int(out["certified"].n_refined),
               "exact work": int(out["certified"].exact_segments.sum())}
        rows.append(row)
        show(f"depth {d}", row, ("depth",))
    return rows


def section_threads(args):
    """Wall time of one call on 1 and 2 threads of the compiled kernel (large batches)."""
    rows = []
    nets = {
        "digits 6x10": (polyfold.zoo.digits_mlp("6x10"), *digits_paths(args.thread_paths, seed=5)),
        "random784 6x10": (
            polyfold.zoo.random_mlp("6x10", 784, 10, seed=0),
            *(np.random.default_rng(6).random((2, args.thread_paths // 4, 784))),
        ),
        "random784 4x256": (
            polyfold.zoo.random_mlp([256] * 4, 784, 10, seed=256),
            *(np.random.default_rng(7).random((2, args.thread_paths // 100, 784))),
        ),
    }
    for name, (net, S, E) in nets.items():
        for mode in ("float", "certified"):
            t, _ = timed({f"{k} threads": cross(net, S, E, mode, k) for k in (1, 2)}, args.repeats)
            row = {"network": name, "mode": mode, "paths": len(S), "1 thread wall s": t["1 threads"][0],
                   "2 threads wall s": t["2 threads"][0],
                   "speed-up": t["1 threads"][0] / t["2 threads"][0]}
            rows.append(row)
            show(f"threads {name} {mode}", row, ("network",))
    return rows


def memory_child(n_paths):
    """Run in a fresh process: 1M paths in one result; prints JSON."""
    from polyfold.crossings import segment_crossings_between

    net = polyfold.zoo.digits_mlp("6x10")
    X, i, j = class_pair_paths(n_paths)
    base = peak_rss_mib()
    t0 = time.perf_counter()
    res = segment_crossings_between(net, X, i, j, mode="certified")
    dt = time.perf_counter() - t0
    peak = peak_rss_mib()
    arrays = [res.n_pieces, res.piece_offsets, res.codes_packed, res.breakpoint_offsets, res.t,
              res.bounds, res.exact_segments, res.degenerate, res.endpoint_on_boundary]
    nbytes = sum(a.nbytes for a in arrays if a is not None)
    print(json.dumps({
        "paths": n_paths, "seconds": dt, "paths_per_s": n_paths / dt,
        "pieces": int(res.n_pieces.sum()), "recomputed": int(res.n_recomputed),
        "result_mib": nbytes / 2**20, "codes_mib": res.codes_packed.nbytes / 2**20,
        "codes_as_int8_mib": res.codes_packed.shape[0] * net.n_hidden / 2**20,
        "peak_rss_mib": peak, "rss_before_mib": base,
    }))


def section_memory(args):
    out = subprocess.run([sys.executable, __file__, "--memory-child", str(args.memory_paths)],
                         check=True, capture_output=True, text=True, env=dict(os.environ)).stdout
    row = json.loads(out.strip().splitlines()[-1])
    show("memory", row)
    return row


def section_folding(args):
    from baselines import grid_folding_chi
    from polyfold.folding import sampled_folding, space_folding_batch

    net = polyfold.zoo.digits_mlp("6x10")
    n = args.folding_paths
    X, i, j = class_pair_paths(n)
    S, E = X[i], X[j]
    with blas_threads(1):
        t, out = timed({
            "exact folding (certified)": lambda: space_folding_batch(net, S, E, mode="certified"),
            "grid 11, fastest": lambda: grid_folding_chi(net, S, E, 11),
            "grid 11, polyfold sampled_folding": lambda: sampled_folding(net, S, E, n_points=11),
        }, args.repeats)
    ex, (r1, r2) = out["exact folding (certified)"], out["grid 11, fastest"]
    sp = out["grid 11, polyfold sampled_folding"]
    row = {"paths": n, "pair": [3, 8], "exact regions per path": float(np.mean(ex.n_regions)),
           "grid chi equal to sampled_folding": bool(np.array_equal(r1, sp.measures.r1)
                                                     and np.array_equal(r2, sp.measures.r2))}
    for k, (w, c) in t.items():
        row[f"{k} cpu s"] = c
    ec = t["exact folding (certified)"][1]
    row["exact x fastest grid11 (cpu)"] = t["grid 11, fastest"][1] / ec
    row["exact x sampled_folding grid11 (cpu)"] = t["grid 11, polyfold sampled_folding"][1] / ec
    show("folding", row)
    return row


def section_statistics(args):
    """``region_statistics`` points per second: one process (CPU and wall) and
    ``n_jobs=2`` (wall, worker start-up included), on the same test points."""
    from polyfold.training import DIGITS_ARCHITECTURES

    _, _, X, _ = load_digits_split()
    rows = []
    for arch in DIGITS_ARCHITECTURES:
        net = polyfold.zoo.digits_mlp(arch)
        pts = X[: args.stats_points]
        polyfold.region_statistics(net, X[-2:], progress=False)  # warm-up
        c0, w0 = time.process_time(), time.perf_counter()
        one = polyfold.region_statistics(net, pts, progress=False)
        c, w = time.process_time() - c0, time.perf_counter() - w0
        w0 = time.perf_counter()
        two = polyfold.region_statistics(net, pts, progress=False, n_jobs=2)
        w2 = time.perf_counter() - w0
        same = one.equals(two)
        row = {"network": arch, "points": args.stats_points, "regions": len(set(map(bytes, one.patterns))),
               "points per s (cpu)": args.stats_points / c, "points per s (wall)": args.stats_points / w,
               "points per s (n_jobs=2, wall)": args.stats_points / w2,
               "n_jobs=2 result equal": bool(same)}
        rows.append(row)
        show(f"statistics {arch}", row, ("network",))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sections", default="baseline,widths,depths,threads,memory,folding,statistics")
    ap.add_argument("--paths", type=int, default=2000)
    ap.add_argument("--width-paths", type=int, default=400, help="paths at width 64 (fewer for wider)")
    ap.add_argument("--depth-paths", type=int, default=300)
    ap.add_argument("--memory-paths", type=int, default=1_000_000)
    ap.add_argument("--folding-paths", type=int, default=100_000)
    ap.add_argument("--stats-points", type=int, default=200)
    ap.add_argument("--thread-paths", type=int, default=100_000, help="digits paths of the threads section")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--memory-child", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "kernel.json"))
    args = ap.parse_args(argv)
    if args.memory_child:
        memory_child(args.memory_child)
        return 0
    from polyfold import _fast

    if not _fast.available():
        print("compiled kernel not built (pip install -e .); nothing to compare", file=sys.stderr)
        return 1
    command = "python benchmarks/bench_kernel.py " + " ".join(argv if argv is not None else sys.argv[1:])
    out = Path(args.out)
    # sections not run this time keep their earlier results (with the command that made them)
    result = json.loads(out.read_text()) if out.exists() else {}
    result.setdefault("section_commands", {})
    result.update({"command": command, "isa": _fast._ckernel.ISA, "load_average": os.getloadavg()})
    for sec in args.sections.split(","):
        result[sec] = globals()[f"section_{sec}"](args)
        result["section_commands"][sec] = {"command": command, "load_average": os.getloadavg()}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
