"""Exact segment crossings on convolutional and residual graph networks.

Nets: the digits CNN of the zoo (trained, shipped; conv - BN - ReLU - max pool - conv
- ReLU - average pool - linear) and the CIFAR-shaped, untrained VGG-style CNN and
ResNet (3x32x32).  Paths: random pairs of digits test images; for the CIFAR nets,
random points of [0, 1]^3072 to their blurred copies (3x3 box blur per channel),
and short paths to 0.1% of the way to the blurred copy (about 10-20 regions).

Per net and path family, measured in one run on the same paths:

* regions per path;
* float, certified and exact paths per second (exact only where it takes minutes, not
  hours; certified reports how many paths needed exact work);
* the yardstick: one batched forward pass of the same network per exact breakpoint
  (the network evaluations any exact method needs), and float time / yardstick;
* batched 1000-point grid sampling on the same paths (polyfold's fastest grid: the
  state before the first unit group is affine along a path, so it is computed at the
  two ends only; then one batched pass through the remaining stages), its paths per
  second and the share of regions it misses;
* 2D slices of the ResNet and the VGG through three nearby points (regions, time and
  peak memory, each in its own process);
* ``--stream N``: peak resident memory of N digits-CNN paths streamed through
  :func:`polyfold.parallel.class_pair_sweep` (own process).

Run: ``python benchmarks/bench_architectures.py`` (about 20-40 minutes on 2 cores);
``--quick`` for a smoke run.  Prints the table and writes
``benchmarks/results/architectures.json``.
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

import polyfold
from polyfold import zoo
from polyfold.datasets import load_digits_split
from polyfold.sampling import grid_patterns, missed_regions

RESULTS = Path(__file__).resolve().parent / "results"


def blur(X):
    from scipy.ndimage import uniform_filter

    return np.stack([uniform_filter(x, size=(1, 3, 3), mode="nearest") for x in X])


def timed(fn, *a, **k):
    t = time.perf_counter()
    out = fn(*a, **k)
    return out, time.perf_counter() - t


def yardstick(net, S, E, res, batch=512):
    """One batched forward pass per exact breakpoint (and the two ends of each path)."""
    pts = []
    for i in range(len(S)):
        ts = np.concatenate([[0.0], res.breakpoints(i), [1.0]])
        pts.append((1 - ts)[:, None] * S[i].reshape(-1) + ts[:, None] * E[i].reshape(-1))
    P = np.concatenate(pts)
    t = time.perf_counter()
    for a in range(0, len(P), batch):
        net.forward(P[a : a + batch])
    return time.perf_counter() - t, len(P)


def family(name, net, S, E, *, exact_paths, grid_points=1000, repeat=1):
    row = {"family": name, "net": net.info.get("name", "net"), "paths": len(S),
           "n_units": net.n_hidden, "unit_groups": net.depth}
    best_f = best_c = np.inf
    for _ in range(repeat):
        rf, tf = timed(polyfold.segment_crossings, net, S, E, mode="float", progress=False)
        rc, tc = timed(polyfold.segment_crossings, net, S, E, mode="certified", progress=False)
        best_f, best_c = min(best_f, tf), min(best_c, tc)
    ty, n_eval = yardstick(net, S, E, rc)
    rg, tg = timed(grid_patterns, net, S, E, grid_points)
    row.update(
        regions_per_path=float(rc.n_pieces.mean()),
        float_paths_per_s=len(S) / best_f,
        certified_paths_per_s=len(S) / best_c,
        certified_recomputed=int(rc.n_recomputed),
        float_equals_certified=bool(np.array_equal(rf.n_pieces, rc.n_pieces) and np.array_equal(rf.codes, rc.codes)),
        yardstick_s=ty,
        yardstick_evaluations=int(n_eval),
        float_over_yardstick=best_f / ty,
        certified_over_float=best_c / best_f,
        grid_points=grid_points,
        grid_paths_per_s=len(S) / tg,
        grid_missed=float(np.sum(missed_regions(rc, rg)) / rc.n_pieces.sum()),
        float_over_grid_speed=(len(S) / best_f) / (len(S) / tg),
    )
    if exact_paths:
        k = min(exact_paths, len(S))
        re, te = timed(polyfold.segment_crossings, net, S[:k], E[:k], mode="exact", progress=False)
        row["exact_paths"] = k
        row["exact_paths_per_s"] = k / te
        row["exact_equals_certified"] = bool(
            np.array_equal(re.n_pieces, rc.n_pieces[:k])
            and np.array_equal(re.codes, rc.codes[: int(rc.piece_offsets[k])])
        )
    return row


def slice_row(name, seed=0, scale=0.003, modes=("float", "certified")):
    """A 2D slice of a CIFAR-shaped zoo net through x, x + scale (blur(x) - x) and x + a
    random direction of the same length (regions, seconds per mode, peak memory)."""
    net = getattr(zoo, name)()
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 1, (1, 3, 32, 32))
    d = scale * (blur(x) - x)
    e = rng.normal(size=x.shape)
    e *= np.linalg.norm(d) / np.linalg.norm(e)
    row = {"net": name, "points": f"x, x + {scale} (blur(x) - x), x + a random direction of the same length"}
    for mode in modes:
        cx, t = timed(polyfold.slice_through, net, x[0], (x + d)[0], (x + e)[0], mode=mode)
        row[mode] = {"regions": int(cx.n_regions), "seconds": t, "n_recomputed": int(cx.n_recomputed)}
    row["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return row


def slice_child(name, scale):
    print(json.dumps(slice_row(name, scale=scale)))


def stream_child(n):
    from polyfold.parallel import class_pair_sweep

    net = zoo.digits_cnn()
    _, _, X, y = load_digits_split()
    per = max(1, n // 90)
    t = time.perf_counter()
    res = class_pair_sweep(net, X, y, paths_per_pair=per, seed=0, executor="serial", mode="float",
                           chunk_size=2000, progress=False)
    dt = time.perf_counter() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"paths": int(res.n_paths), "seconds": dt, "paths_per_s": res.n_paths / dt,
                      "peak_rss_mib": rss, "mode": "float", "mean_regions": res.total.mean_crossings + 1}))


def save(out):
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "architectures.json").write_text(json.dumps(out, indent=1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--digits-paths", type=int, default=200)
    ap.add_argument("--cifar-paths", type=int, default=2)
    ap.add_argument("--short-paths", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--stream", type=int, default=0, help="also stream this many digits-CNN paths")
    ap.add_argument("--stream-child", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--no-slice", action="store_true")
    ap.add_argument("--skip-paths", action="store_true",
                    help="keep the path rows of the last results file, run only slices / stream")
    ap.add_argument("--table", action="store_true", help="print the table of the last results file")
    ap.add_argument("--digits-only", action="store_true",
                    help="run only the digits-CNN row; keep the other rows, slices and stream of the "
                         "last results file (the JSON records which rows were rerun)")
    ap.add_argument("--slice-child", default="", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.stream_child:
        stream_child(args.stream_child)
        return
    if args.slice_child:
        name, scale = args.slice_child.split(":")
        slice_child(name, float(scale))
        return
    if args.table:
        print_table(json.loads((RESULTS / "architectures.json").read_text()))
        return
    if args.skip_paths:
        old = json.loads((RESULTS / "architectures.json").read_text())
        rows = old["rows"]
        out = {"rows": rows, "machine_load": old.get("machine_load")}
        finish(args, out)
        return
    if args.quick:
        args.digits_paths, args.cifar_paths, args.short_paths = 20, 0, 4
    rng = np.random.default_rng(0)
    rows = []
    cnn = zoo.digits_cnn()
    _, _, X, y = load_digits_split()
    i, j = rng.integers(0, len(X), args.digits_paths), rng.integers(0, len(X), args.digits_paths)
    rows.append(family("digits test pairs", cnn, X[i], X[j], exact_paths=5, repeat=args.repeat))
    print(rows[-1], flush=True)
    if args.digits_only:
        old = json.loads((RESULTS / "architectures.json").read_text())
        rows[0]["rerun"] = {"command": "python benchmarks/bench_architectures.py " + " ".join(sys.argv[1:]),
                            "machine_load": open("/proc/loadavg").read().split()[:3]}
        old["rows"] = rows + [r for r in old["rows"] if r["net"] != rows[0]["net"]]
        save(old)
        print()
        print_table(old)
        return
    for mk in (zoo.vgg_cifar, zoo.resnet_cifar):
        net = mk()
        Xc = rng.uniform(0, 1, (max(args.short_paths, args.cifar_paths), 3, 32, 32))
        Bc = blur(Xc)
        short = Xc[: args.short_paths] + 0.001 * (Bc[: args.short_paths] - Xc[: args.short_paths])
        rows.append(family("to 0.1% of the blurred copy", net, Xc[: args.short_paths], short, exact_paths=2))
        print(rows[-1], flush=True)
        save({"rows": rows, "partial": True})
        if args.cifar_paths:
            rows.append(family("to the blurred copy", net, Xc[: args.cifar_paths], Bc[: args.cifar_paths],
                               exact_paths=0))
            print(rows[-1], flush=True)
            save({"rows": rows, "partial": True})
    out = {"rows": rows, "machine_load": open("/proc/loadavg").read().split()[:3]}
    finish(args, out)


def child(*argv):
    """Run this script with ``argv`` in a fresh process (its own peak memory); last line JSON."""
    proc = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def finish(args, out):
    if not args.no_slice and not args.quick:
        out["slices"] = []
        for spec in ("resnet_cifar:0.001", "vgg_cifar:0.001"):
            try:
                out["slices"].append(child("--slice-child", spec))
            except subprocess.CalledProcessError as err:  # e.g. killed for memory
                out["slices"].append({"net": spec, "error": f"exit {err.returncode}"})
        for r in out["slices"]:
            print(r, flush=True)
    if args.stream:
        out["stream"] = child("--stream-child", str(args.stream))
        print(out["stream"], flush=True)
    save(out)
    print()
    print_table(out)


def print_table(out):
    print("| net | paths | regions/path | float paths/s | certified paths/s (exact work) | exact paths/s "
          "| float / yardstick | certified / float | grid-1000 paths/s | grid-1000 missed | float / grid-1000 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in out["rows"]:
        ex = f"{r['exact_paths_per_s']:.3g}" if "exact_paths_per_s" in r else "-"
        print(f"| {r['net']} ({r['family']}) | {r['paths']} | {r['regions_per_path']:.1f} | "
              f"{r['float_paths_per_s']:.3g} | {r['certified_paths_per_s']:.3g} ({r['certified_recomputed']}) | {ex} | "
              f"{r['float_over_yardstick']:.2f} | {r['certified_over_float']:.2f} | {r['grid_paths_per_s']:.3g} | "
              f"{100 * r['grid_missed']:.1f}% | {r['float_over_grid_speed']:.2f}x |")
    for r in out.get("slices", []):
        if "error" in r:
            print(f"\n2D slice {r['net']}: failed ({r['error']})")
            continue
        modes = ", ".join(f"{m} {r[m]['seconds']:.3g} s ({r[m]['n_recomputed']} recomputed)"
                          for m in ("float", "certified") if m in r)
        print(f"\n2D slice of {r['net']} through {r['points']}: {r['certified']['regions']} regions; "
              f"{modes}; peak memory {r['peak_rss_mib']:.0f} MiB")
    if "stream" in out:
        st = out["stream"]
        print(f"\nstreamed {st['paths']} digits-CNN paths ({st['mode']}, class_pair_sweep, serial): "
              f"{st['paths_per_s']:.3g} paths/s, {st['mean_regions']:.1f} regions/path, peak memory "
              f"{st['peak_rss_mib']:.0f} MiB")


if __name__ == "__main__":
    main()
