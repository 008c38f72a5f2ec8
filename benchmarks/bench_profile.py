"""Before/after profile of the hot paths: the same workloads in two source trees.

Each workload runs in a fresh process for each tree (``PYTHONPATH=<tree>``), timed as
the minimum process CPU time over repetitions (the machine may be shared), with
BLAS on one thread; with ``--profile`` the top functions of one run are printed
from cProfile.  Make the "before" tree from a commit with its compiled kernel::

    mkdir -p /tmp/polyfold-before && git archive <commit> | tar -x -C /tmp/polyfold-before
    (cd /tmp/polyfold-before && python setup.py build_ext --inplace -q)

Run:  python benchmarks/bench_profile.py --before /tmp/polyfold-before [--after .] [--profile]
Writes benchmarks/results/profile.json.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

WORKLOADS = {
    "float crossings, 6x10 digits, 2000 paths": "cross('6x10', 'float', 2000)",
    "certified crossings, 6x10 digits, 2000 paths": "cross('6x10', 'certified', 2000)",
    "certified crossings, 784-input 6x10, 2000 paths": "cross('r784', 'certified', 2000)",
    "exact crossings, 6x10 digits, 50 paths": "cross('6x10', 'exact', 50)",
    "certified crossings, 10x32 random (64 inputs), 300 paths": "cross('d10', 'certified', 300)",
    "certified crossings, tie-heavy integer hard-tanh 9x17, 3x5 paths": "ties('certified')",
    "exact crossings, tie-heavy integer hard-tanh 9x17, 3x5 paths": "ties('exact')",
    "space_folding_batch (certified), 6x10, 20k paths 3->8": "fold(20000)",
    "region_statistics, 6x10 digits, 10 points": "stats(10)",
    "float crossings, digits CNN (graph), 200 paths": "cnn('float', 200)",
    "certified crossings, digits CNN (graph), 200 paths": "cnn('certified', 200)",
}

CHILD = r'''
import sys, time, json, cProfile, pstats, io
import numpy as np
from threadpoolctl import threadpool_limits
import polyfold
from polyfold.datasets import load_digits_split
_, _, X, y = load_digits_split()
rng = np.random.default_rng(0)

def kw():
    import inspect
    sig = inspect.signature(polyfold.segment_crossings).parameters
    return {"threads": 1} if "threads" in sig else {}

def cross(name, mode, n):
    if name == "r784":
        net = polyfold.zoo.random_mlp("6x10", 784, 10, seed=0)
        S, E = np.random.default_rng(1).random((2, n, 784))
    elif name == "d10":
        net = polyfold.zoo.random_mlp([32] * 10, 64, 10, seed=10)
        idx = np.random.default_rng(3).integers(0, len(X), (n, 2))
        S, E = X[idx[:, 0]], X[idx[:, 1]]
    else:
        net = polyfold.zoo.digits_mlp(name)
        idx = rng.integers(0, len(X), (n, 2))
        S, E = X[idx[:, 0]], X[idx[:, 1]]
    return lambda: polyfold.segment_crossings(net, S, E, mode=mode, **kw())

def cnn(mode, n):
    net = polyfold.zoo.digits_cnn()
    idx = np.random.default_rng(0).integers(0, len(X), (n, 2))
    S, E = X[idx[:, 0]], X[idx[:, 1]]
    return lambda: polyfold.segment_crossings(net, S, E, mode=mode, progress=False, **kw())

def ties(mode):
    # integer weights in -2..2 and integer endpoints: many neurons switch at one t
    runs = []
    for seed in range(3):
        r = np.random.default_rng(seed)
        layers, nin = [], 3
        for _ in range(9):
            layers.append((r.integers(-2, 3, (17, nin)).astype(float), r.integers(-2, 3, 17).astype(float)))
            nin = 17
        layers.append((r.integers(-2, 3, (2, nin)).astype(float), np.zeros(2)))
        net = polyfold.PLNet.from_arrays(layers, "hardtanh")
        r = np.random.default_rng(100 + seed)
        S, E = r.integers(-3, 4, (2, 5, 3)).astype(float)
        runs.append((net, S, E))
    return lambda: [polyfold.segment_crossings(n_, S_, E_, mode=mode, **kw()) for n_, S_, E_ in runs]

def fold(n):
    from polyfold.folding import space_folding_batch
    net = polyfold.zoo.digits_mlp("6x10")
    a, b = np.flatnonzero(y == 3), np.flatnonzero(y == 8)
    r = np.random.default_rng(0)
    i, j = r.choice(a, n), r.choice(b, n)
    return lambda: space_folding_batch(net, X[i], X[j], mode="certified")

def stats(n):
    net = polyfold.zoo.digits_mlp("6x10")
    return lambda: polyfold.region_statistics(net, X[:n], progress=False)

fn = eval(sys.argv[1])
repeats, prof = int(sys.argv[2]), sys.argv[3] == "1"
with threadpool_limits(1):
    fn()  # warm-up (imports, caches)
    best = 1e300
    for _ in range(repeats):
        c0 = time.process_time()
        fn()
        best = min(best, time.process_time() - c0)
    top = ""
    if prof:
        pr = cProfile.Profile()
        pr.enable()
        fn()
        pr.disable()
        s = io.StringIO()
        pstats.Stats(pr, stream=s).sort_stats("tottime").print_stats(6)
        top = "\n".join(l for l in s.getvalue().splitlines() if l.strip()[:1].isdigit())
print(json.dumps({"cpu_s": best, "top": top, "file": polyfold.__file__}))
'''


def run(tree, expr, repeats, prof):
    env = dict(os.environ, PYTHONPATH=str(Path(tree).resolve()), OPENBLAS_NUM_THREADS="1",
               POLYFOLD_THREADS="1", MPLBACKEND="Agg")
    # (run outside any source tree: python -c puts the working directory first on the path)
    out = subprocess.run([sys.executable, "-c", CHILD, expr, str(repeats), "1" if prof else "0"],
                         capture_output=True, text=True, env=env, check=True, cwd=tempfile.gettempdir())
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", default=str(Path(__file__).resolve().parents[1]))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--only", default="", help="comma-separated substrings of workload names")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "results" / "profile.json"))
    args = ap.parse_args(argv)
    rows = []
    print("| workload | before CPU s | after CPU s | speed-up |")
    print("|---|---|---|---|")
    for name, expr in WORKLOADS.items():
        if args.only and not any(k in name for k in args.only.split(",")):
            continue
        b = run(args.before, expr, args.repeats, args.profile)
        a = run(args.after, expr, args.repeats, args.profile)
        assert b["file"] != a["file"], "both runs imported the same polyfold"
        rows.append({"workload": name, "before_cpu_s": b["cpu_s"], "after_cpu_s": a["cpu_s"],
                     "speedup": b["cpu_s"] / a["cpu_s"], "before_top": b["top"], "after_top": a["top"]})
        print(f"| {name} | {b['cpu_s']:.4g} | {a['cpu_s']:.4g} | {b['cpu_s'] / a['cpu_s']:.1f}x |", flush=True)
        if args.profile:
            print("  before:\n" + "\n".join("    " + l for l in b["top"].splitlines()))
            print("  after:\n" + "\n".join("    " + l for l in a["top"].splitlines()))
    cmd = "python benchmarks/bench_profile.py " + " ".join(argv if argv is not None else sys.argv[1:])
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"command": cmd, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
