"""Benchmark: segment crossings against Gamba et al.'s exact path counter.

Gamba, Chmielewski-Anders, Sullivan, Azizpour and Bjorkman ("Are all linear regions
created equal?", AISTATS 2022) count the linear regions along a segment by walking it:
from the current point, one forward pass gives the step to the nearest ReLU boundary,
the walk moves there plus a step of 1e-6 (in units of the segment's parameter t) and
repeats until its activation pattern equals the end point's.  Their code (GPL-3,
https://github.com/magamba/linear-regions) runs here unmodified, for measurement only:
in a subprocess of this script, with their repository on ``sys.path``
(``--gamba-repo``), never imported into polyfold.

On the same torch models (float64, one thread) and the same segments this measures
1. regions per path from their counter and from polyfold in exact rational arithmetic,
   and for every path where they differ, how many exact pieces are narrower than the
   counter's step (the regions a 1e-6 step can skip);
2. CPU seconds of their counter and of polyfold's float and certified modes (minimum of
   ``--repeats`` runs; polyfold on one thread, torch on one thread).

Networks: the shipped digits MLPs 6x10, 4x15 and 2x30 on pairs of digits test images;
seeded He-initialised MLPs with 784 and 16 inputs on uniform random segments of the
unit cube; a seeded convolutional net (conv-ReLU-avgpool-conv-ReLU-linear, the layer
types their counter supports) on digits images.

Usage::

    python benchmarks/bench_gamba.py --gamba-repo /path/to/linear-regions [--repeats 3] [--quick]

Needs torch.  Writes ``benchmarks/results/gamba.json`` and prints the table (Markdown).
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

STEP = 1e-6  # the counter's crossing step (core/counting.py: EPSILON), in units of t


# ---------------------------------------------------------------------------
# worker: runs in a subprocess, with the counter's repository on sys.path
# ---------------------------------------------------------------------------

def gamba_worker(repo, model_path, points_path, repeats):
    """Regions per path from the counter, and its minimum CPU seconds over ``repeats``."""
    import torch

    sys.path.insert(0, repo)
    from core.module_counter import ModuleCounter  # GPL-3; imported only in this subprocess

    torch.set_num_threads(1)
    torch.set_default_dtype(torch.float64)
    z = np.load(points_path)
    x0 = torch.from_numpy(np.ascontiguousarray(z["starts"]))
    x1 = torch.from_numpy(np.ascontiguousarray(z["ends"]))
    best, counts = np.inf, None
    for _ in range(repeats):
        model = torch.load(model_path, weights_only=False)  # the counter rewraps the model
        counter = ModuleCounter(model, input_shape=tuple(x0.shape[1:]), batch_size=len(x0))
        t0 = time.process_time()
        _, _, density, *_ = counter.count(x0, x1)
        best = min(best, time.process_time() - t0)
        counts = (density.numpy() + 1).tolist()
    print(json.dumps({"regions": counts, "seconds": best}))


# ---------------------------------------------------------------------------
# networks and segments
# ---------------------------------------------------------------------------

def _dense_model(layers):
    import torch
    import torch.nn as nn

    mods = []
    for i, (W, b) in enumerate(layers):
        lin = nn.Linear(W.shape[1], W.shape[0], dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(np.array(W, dtype=np.float64)))
            lin.bias.copy_(torch.from_numpy(np.array(b, dtype=np.float64)))
        mods.append(lin)
        if i < len(layers) - 1:
            mods.append(nn.ReLU())
    return nn.Sequential(*mods)


def _he_layers(sizes, rng):
    return [(rng.standard_normal((o, i)) * np.sqrt(2.0 / i), 0.1 * rng.standard_normal(o))
            for i, o in zip(sizes[:-1], sizes[1:])]


def _conv_model(seed):
    import torch
    import torch.nn as nn

    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(6, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 10),
    ).double()


def cases(quick):
    """``(name, torch model, starts, ends)`` for every benchmark network."""
    import polyfold
    from polyfold.datasets import load_digits_split

    _, _, X, _ = load_digits_split()
    X = np.asarray(X, dtype=np.float64)
    m = 60 if quick else 270
    S, E = X[:m], X[270:270 + m]
    out = []
    for arch in ("6x10", "4x15", "2x30"):
        net = polyfold.zoo.digits_mlp(arch)
        out.append((f"digits {arch}", _dense_model(net.layers), S, E))
    rng = np.random.default_rng(0)
    n = 60 if quick else 300
    for d, widths in ((784, [10] * 6), (784, [64] * 4), (16, [32] * 8)):
        model = _dense_model(_he_layers([d] + widths + [10], rng))
        out.append((f"random{d} {'x'.join(map(str, widths))}", model,
                    rng.random((n, d)), rng.random((n, d))))
    out.append(("digits conv-avgpool", _conv_model(0),
                S.reshape(-1, 1, 8, 8), E.reshape(-1, 1, 8, 8)))
    return out


# ---------------------------------------------------------------------------
# measurement
# ---------------------------------------------------------------------------

def _run_worker(repo, model, S, E, repeats):
    import torch

    with tempfile.TemporaryDirectory() as tmp:
        mp, pp = os.path.join(tmp, "model.pt"), os.path.join(tmp, "points.npz")
        torch.save(model, mp)
        np.savez(pp, starts=S, ends=E)
        cmd = [sys.executable, __file__, "--gamba-worker", repo, mp, pp, str(repeats)]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_case(name, model, S, E, repo, repeats):
    import polyfold
    from bench_crossings import best_time as best_cpu  # minimum process CPU time

    shape = tuple(S.shape[1:])
    net = polyfold.from_torch(model, input_shape=shape if len(shape) > 1 else None)
    flat_S, flat_E = S.reshape(len(S), -1), E.reshape(len(E), -1)
    run = lambda mode: polyfold.segment_crossings(net, flat_S, flat_E, mode=mode, threads=1)  # noqa: E731
    run("float")  # warm-up: first-use set-up is not part of the per-call cost
    t_float, fl = best_cpu(lambda: run("float"), repeats)
    t_cert, ce = best_cpu(lambda: run("certified"), repeats)
    t_exact, ex = best_cpu(lambda: run("exact"), 1)
    g = _run_worker(repo, model, S, E, repeats)
    ours = np.asarray(ex.n_pieces)
    theirs = np.asarray(g["regions"])
    differ = np.nonzero(ours != theirs)[0]
    explained = 0
    details = []
    for i in differ:
        bps = np.array([float(b) for b in ex.breakpoints(int(i))])
        widths = np.diff(np.concatenate(([0.0], bps, [1.0])))
        thin = int((widths < 2 * STEP).sum())
        gap = int(ours[i] - theirs[i])
        explained += int(0 < gap <= thin)
        details.append({"path": int(i), "exact": int(ours[i]), "counter": int(theirs[i]),
                        "narrowest_piece": float(widths.min()), "pieces_below_2e-6": thin})
    return {
        "network": name, "paths": len(S), "regions_per_path": float(ours.mean()),
        "counter_regions_per_path": float(theirs.mean()),
        "paths_equal": int(len(S) - len(differ)), "paths_differ": int(len(differ)),
        "counter_fewer": int((theirs < ours).sum()), "counter_more": int((theirs > ours).sum()),
        "differences_explained_by_step": explained, "differences": details,
        "certified_equals_exact": bool(np.array_equal(ce.n_pieces, ours)
                                       and np.array_equal(ce.codes, ex.codes)),
        "float_equals_exact": bool(np.array_equal(fl.n_pieces, ours)),
        "t_counter": g["seconds"], "t_float": t_float, "t_certified": t_cert, "t_exact": t_exact,
        "counter_over_float": g["seconds"] / t_float,
        "counter_over_certified": g["seconds"] / t_cert,
        "counter_over_exact": g["seconds"] / t_exact,
    }


def table(rows):
    print("| network | paths | regions/path (exact) | counter regions/path | paths equal | "
          "counter s | float s | certified s | exact s | counter / float | counter / certified | "
          "counter / exact |")
    print("|---" * 12 + "|")
    for r in rows:
        print(f"| {r['network']} | {r['paths']} | {r['regions_per_path']:.2f} | "
              f"{r['counter_regions_per_path']:.2f} | {r['paths_equal']} | {r['t_counter']:.3g} | "
              f"{r['t_float']:.3g} | {r['t_certified']:.3g} | {r['t_exact']:.3g} | "
              f"{r['counter_over_float']:.0f}x | {r['counter_over_certified']:.0f}x | "
              f"{r['counter_over_exact']:.1f}x |")
    for r in rows:
        for d in r["differences"]:
            print(f"\n{r['network']}, path {d['path']}: exact {d['exact']} regions, counter "
                  f"{d['counter']}; narrowest exact piece {d['narrowest_piece']:.3g} in t "
                  f"({d['pieces_below_2e-6']} below 2e-6)", end="")
    print()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gamba-repo", help="folder of a checkout of magamba/linear-regions")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="60 paths per network")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "gamba.json"))
    ap.add_argument("--gamba-worker", nargs=4, metavar=("REPO", "MODEL", "POINTS", "REPEATS"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.gamba_worker:
        repo, mp, pp, k = args.gamba_worker
        gamba_worker(repo, mp, pp, int(k))
        return
    if not args.gamba_repo or not os.path.isfile(os.path.join(args.gamba_repo, "core", "counting.py")):
        ap.error("--gamba-repo must name a checkout of https://github.com/magamba/linear-regions "
                 "(the folder holding core/counting.py)")
    import torch

    torch.set_num_threads(1)
    rows = []
    for name, model, S, E in cases(args.quick):
        print(f"  {name} ...", flush=True)
        rows.append(bench_case(name, model, S, E, args.gamba_repo, args.repeats))
    res = {"machine": platform.processor() or platform.machine(), "load_average": os.getloadavg(),
           "command": "python benchmarks/bench_gamba.py " + " ".join(argv or sys.argv[1:]),
           "torch": torch.__version__, "rows": rows}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w") as fh:
        json.dump(res, fh, indent=1)
    table(rows)


if __name__ == "__main__":
    main()
