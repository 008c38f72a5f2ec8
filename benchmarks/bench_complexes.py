"""Benchmark: d-dimensional cell complexes (polyfold.complexes) against two peers.

Measures, in one run on the same networks (weights drawn here with PyTorch's default
``nn.Linear`` initialisation, uniform in +-1/sqrt(fan_in), from a seeded numpy RNG):

1. Whole-space regions of 3- and 4-input ReLU MLPs with an output ReLU (the
   setting of Relucent's own tests: widths like 8x8, 10x10x10, 10x10x10x10), against
   Relucent 1.0 (``relucent.Complex(net).bfs()``: breadth-first search over regions
   with one LP per candidate facet).  Relucent is AGPL: it runs in a subprocess, in
   its own interpreter (``--relucent-python``), never imported into polyfold.
   Region counts must be identical; the time ratio is Relucent / polyfold.
2. Vertices and edges of complexes on [-1, 1]^d, d = 3, 4, 5, against the
   edge-subdivision reference code of Berzins (ICML 2023; PyTorch on CPU, float32,
   one thread), run for measurement only from a script outside the project
   (``--berzins-script``, with the reference repository as working directory).  Its
   networks split by every neuron including the output one, so polyfold gets the
   output neuron as a last hidden unit.  Vertex and edge counts must be identical.
3. Regions per second and peak memory (max RSS of a fresh process) for d = 3..8.

Usage::

    python benchmarks/bench_complexes.py [--quick] [--full]
    python benchmarks/bench_complexes.py --relucent-large-only --out benchmarks/results/complexes_relucent_large.json

Writes ``benchmarks/results/complexes.json`` and prints the tables (Markdown).
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench_regions import _fmt, write_results  # noqa: E402  (same number format as the regions tables)

RELUCENT_PYTHON = "/work/peers/relenv/bin/python"
BERZINS_REPO = "/work/peers/arturs-berzins+relu_edge_subdivision"
BERZINS_SCRIPT = "/work/peers/scripts/berzins_worker.py"


def torch_default_layers(sizes, seed, dtype=np.float64):
    """Layers ``[(W, b), ...]`` for ``sizes = [d, w1, ..., out]``, uniform +-1/sqrt(fan_in)."""
    rng = np.random.default_rng(seed)
    out = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        lim = 1.0 / np.sqrt(a)
        W = rng.uniform(-lim, lim, (b, a)).astype(dtype).astype(np.float64)
        c = rng.uniform(-lim, lim, b).astype(dtype).astype(np.float64)
        out.append((W, c))
    return out


def polyfold_net(layers, output_relu):
    """A PLNet; with ``output_relu`` the last layer is a hidden ReLU layer too."""
    from polyfold import PLNet

    if output_relu:
        k = layers[-1][0].shape[0]
        layers = list(layers) + [(np.eye(k), np.zeros(k))]
    return PLNet.from_arrays(layers)


def _save(layers, path):
    arrays = {}
    for i, (W, b) in enumerate(layers):
        arrays[f"W{i}"], arrays[f"b{i}"] = W, b
    np.savez(path, **arrays)


# ---------------------------------------------------------------------------
# workers (run in subprocesses)
# ---------------------------------------------------------------------------
def relucent_worker(npz_path, output_relu):
    """Whole-space region count of Relucent 1.0 (runs in Relucent's interpreter)."""
    from collections import OrderedDict

    import relucent  # AGPL; imported only here, in the benchmark's worker process
    from relucent.model.model import LinearLayer, ReLULayer, ReLUNetwork

    data = np.load(npz_path)
    n_layers = sum(1 for k in data.files if k.startswith("W"))
    layers = OrderedDict()
    for i in range(n_layers):
        W, b = data[f"W{i}"], data[f"b{i}"]
        layers[f"fc{i}"] = LinearLayer(weight=W.astype(np.float64), bias=b.astype(np.float64))
        if i < n_layers - 1 or output_relu:
            layers[f"relu{i}"] = ReLULayer()
    net = ReLUNetwork(layers, input_shape=(data["W0"].shape[1],))
    cx = relucent.Complex(net)
    t0 = time.perf_counter()
    cx.bfs(verbose=0)
    return {"n_regions": int(len(cx)), "seconds": time.perf_counter() - t0}


def polyfold_worker(kind, npz_path, output_relu, mode):
    """Time and peak memory of one polyfold complex in a fresh process."""
    import resource

    from polyfold.complexes import box_complex, space_complex

    data = np.load(npz_path)
    n = sum(1 for k in data.files if k.startswith("W"))
    net = polyfold_net([(data[f"W{i}"], data[f"b{i}"]) for i in range(n)], output_relu)
    t0 = time.perf_counter()
    cx = space_complex(net, mode=mode) if kind == "space" else box_complex(net, -1.0, 1.0, mode=mode)
    dt = time.perf_counter() - t0
    rss = _peak_mb(resource)
    return {"n_regions": int(cx.n_regions), "f_vector": list(cx.f_vector), "seconds": dt,
            "peak_mb": rss, "n_recomputed": int(cx.n_recomputed)}


def _peak_mb(resource):
    """Peak resident memory of this process in MB (VmHWM: reset at exec, unlike
    ru_maxrss, which a child inherits from the parent it was forked from)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:  # pragma: no cover - not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _run_json(cmd, cwd=None, timeout=7200):
    out = subprocess.run(cmd, cwd=cwd, check=False, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def _time_polyfold(fn, repeat):
    best, res = None, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        res = fn()
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return res, best


# ---------------------------------------------------------------------------
# sections
# ---------------------------------------------------------------------------
def bench_relucent(configs, python, repeat):
    from polyfold.complexes import space_complex

    rows = []
    for d, widths, seed in configs:
        layers = torch_default_layers([d, *widths, 1], seed)
        net = polyfold_net(layers, True)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "net.npz")
            _save(layers, path)
            print(f"  Relucent {d}D {'x'.join(map(str, widths))} ...", flush=True)
            rel = _run_json([python, __file__, "--relucent-worker", path, "1"])
        cx, t_cert = _time_polyfold(lambda: space_complex(net, mode="certified"), repeat)
        fl, t_float = _time_polyfold(lambda: space_complex(net, mode="float"), repeat)
        rows.append({
            "d": d, "widths": list(widths), "seed": seed, "n_regions": cx.n_regions,
            "n_regions_float": fl.n_regions, "n_bounded": int(cx.is_bounded.sum()),
            "relucent_regions": rel["n_regions"], "t_relucent": rel["seconds"],
            "t_certified": t_cert, "t_float": t_float, "ratio": rel["seconds"] / t_cert,
            "same_count": rel["n_regions"] == cx.n_regions,
        })
    return rows


def bench_berzins(configs, repeat, python):
    from polyfold.complexes import box_complex

    rows = []
    for d, widths, seed in configs:
        # float32 weights (the reference runs in float32), read exactly as float64
        layers = torch_default_layers([d, *widths, 1], seed, dtype=np.float32)
        net = polyfold_net(layers, True)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "net.npz")
            _save(layers, path)
            ref = None
            for _ in range(repeat):
                r = _run_json([python, BERZINS_SCRIPT, path], cwd=BERZINS_REPO)
                ref = r if ref is None or r["seconds"] < ref["seconds"] else ref
        cx, t_cert = _time_polyfold(lambda: box_complex(net, -1.0, 1.0, mode="certified"), repeat)
        rows.append({
            "d": d, "widths": list(widths), "seed": seed, "f_vector": list(cx.f_vector),
            "n_regions": cx.n_regions, "ref_vertices": ref["n_vertices"], "ref_edges": ref["n_edges"],
            "t_reference": ref["seconds"], "t_certified": t_cert, "ratio": ref["seconds"] / t_cert,
            "same_counts": (ref["n_vertices"], ref["n_edges"]) == tuple(cx.f_vector[:2]),
            "ref_warnings": ref["warnings"],
        })
    return rows


def bench_scaling(configs):
    rows = []
    for kind, d, widths, seed in configs:
        layers = torch_default_layers([d, *widths, 1], seed)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "net.npz")
            _save(layers, path)
            print(f"  polyfold {kind} {d}D {'x'.join(map(str, widths))} ...", flush=True)
            r = _run_json([sys.executable, __file__, "--polyfold-worker", kind, path, "0", "certified"])
        r.update({"kind": kind, "d": d, "widths": list(widths), "seed": seed,
                  "regions_per_s": r["n_regions"] / r["seconds"]})
        rows.append(r)
    return rows


def print_tables(res):
    print("\n### Whole-space regions vs Relucent 1.0 (output ReLU)\n")
    print("| d | widths | regions (bounded) | Relucent regions | Relucent s | polyfold certified s "
          "| float s | Relucent / polyfold |")
    print("|---|---|---|---|---|---|---|---|")
    for r in res.get("relucent", []):
        print(f"| {r['d']} | {'x'.join(map(str, r['widths']))} | {r['n_regions']} ({r['n_bounded']}) | "
              f"{r['relucent_regions']} | {_fmt(r['t_relucent'])} | {_fmt(r['t_certified'])} | "
              f"{_fmt(r['t_float'])} | {_fmt(r['ratio'])}x |")
    if "berzins" not in res:
        return
    print("\n### [-1, 1]^d vs the edge-subdivision reference (CPU, 1 thread)\n")
    print("| d | widths | regions | vertices | edges | reference vertices / edges | reference s | "
          "polyfold certified s | reference / polyfold |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in res["berzins"]:
        print(f"| {r['d']} | {'x'.join(map(str, r['widths']))} | {r['n_regions']} | {r['f_vector'][0]} | "
              f"{r['f_vector'][1]} | {r['ref_vertices']} / {r['ref_edges']} | {_fmt(r['t_reference'])} | "
              f"{_fmt(r['t_certified'])} | {_fmt(r['ratio'])}x |")
    print("\n### Regions per second and peak memory (certified, fresh process)\n")
    print("| domain | d | widths | regions | cells (f-vector) | s | regions/s | peak MB |")
    print("|---|---|---|---|---|---|---|---|")
    for r in res["scaling"]:
        print(f"| {r['kind']} | {r['d']} | {'x'.join(map(str, r['widths']))} | {r['n_regions']} | "
              f"{sum(r['f_vector'])} | {_fmt(r['seconds'])} | {_fmt(r['regions_per_s'], 4)} | "
              f"{_fmt(r['peak_mb'], 4)} |")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes only")
    p.add_argument("--full", action="store_true",
                   help="also Relucent's integration-test sizes 4D 10x10x10 and 10x10x10x10 "
                        "(Relucent: minutes, then the better part of an hour)")
    p.add_argument("--relucent-large-only", action="store_true",
                   help="only those two nets against Relucent (nothing else is run)")
    p.add_argument("--relucent-python", default=RELUCENT_PYTHON)
    p.add_argument("--berzins-python", default=sys.executable)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "complexes.json"))
    p.add_argument("--relucent-worker", nargs=2, help=argparse.SUPPRESS)
    p.add_argument("--polyfold-worker", nargs=4, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.relucent_worker:
        path, relu = args.relucent_worker
        print(json.dumps(relucent_worker(path, bool(int(relu)))))
        return 0
    if args.polyfold_worker:
        kind, path, relu, mode = args.polyfold_worker
        print(json.dumps(polyfold_worker(kind, path, bool(int(relu)), mode)))
        return 0
    if args.quick:
        rel = [(3, (8, 8), 0)]
        bz = [(3, (10, 10), 0), (4, (8, 8), 0)]
        sc = [("box", 3, (10, 10), 0), ("box", 6, (6, 6), 0)]
    else:
        rel = [(3, (10, 10), 0), (4, (8, 8), 0), (4, (8, 8), 1)]
        if args.full:
            rel += [(4, (10, 10, 10), 0), (4, (10, 10, 10, 10), 0)]
        bz = [(3, (16, 16), 0), (3, (32, 32, 32), 0), (4, (16, 16), 0), (4, (16, 16, 16), 0),
              (5, (12, 12), 0), (5, (16, 16), 0)]
        sc = [("box", 3, (32, 32, 32), 0), ("box", 4, (16, 16, 16), 0), ("box", 5, (12, 12, 12), 0),
              ("box", 6, (10, 10), 0), ("box", 7, (9, 9), 0), ("box", 8, (8, 8), 0),
              ("space", 3, (10, 10, 10), 0), ("space", 4, (10, 10, 10), 0)]
    res = {"benchmark": "complexes", "python": platform.python_version(), "machine": platform.machine(),
           "cpu_count": os.cpu_count(), "repeat": args.repeat}
    if args.relucent_large_only:
        res["relucent"] = bench_relucent([(4, (10, 10, 10), 0), (4, (10, 10, 10, 10), 0)],
                                         args.relucent_python, args.repeat)
        print_tables(res)
        write_results(res, args.out)
        return 0
    print("Relucent ...", flush=True)
    res["relucent"] = bench_relucent(rel, args.relucent_python, args.repeat)
    print("edge subdivision reference ...", flush=True)
    res["berzins"] = bench_berzins(bz, args.repeat, args.berzins_python)
    print("scaling ...", flush=True)
    res["scaling"] = bench_scaling(sc)
    print_tables(res)
    write_results(res, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
