"""Benchmark: exact region complexes (polyfold.slices) against whole-space LP enumeration.

Measures, in one run on the same networks:

1. 2D-input random ReLU MLPs of growing size on the box [-2, 2]^2: regions/s of
   ``slice_complex`` (float, certified, exact for the small ones; complex + dual
   graph), against
   * Relucent 1.0 (``relucent.Complex(net).bfs(cube_mode="clipped")``: breadth-first
     search over regions with one LP per candidate facet, Gurobi), when it can be
     imported here or through ``--relucent-python`` (an interpreter where
     ``pip install relucent`` worked).  Relucent is AGPL: it is only imported in
     the worker below, never vendored;
   * a plain LP walk implemented here (``lp_walk``): breadth-first over regions,
     facets by LP redundancy removal, one LP per facet for a relative-interior
     point, a step across it.
   Region counts must be identical.  Edge counts may differ: Relucent's dual
   graph links cells that are neighbours in the whole plane (a single flipped
   neuron), also when they only meet outside the box; polyfold's graph (and the
   LP walk) only keeps edges shared inside the box.
2. 3D-input random MLPs: ``box_complex`` regions/s (and the LP walk on the
   smallest).
3. Slices of the six digits MLPs (64 inputs) through three test images
   (``slice_through``), with what a 200 x 200 grid of samples misses.

Usage::

    python benchmarks/bench_regions.py [--quick] [--relucent-python PATH]

Writes ``benchmarks/results/regions.json`` and prints the tables.
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


# ---------------------------------------------------------------------------
# Relucent worker (runs in whichever interpreter has relucent installed)
# ---------------------------------------------------------------------------
def relucent_worker(npz_path, radius, nworkers):
    """Count the regions of the network in ``npz_path`` inside [-radius, radius]^d."""
    import relucent  # AGPL; imported only here, in the optional benchmark
    import torch

    data = np.load(npz_path)
    n_layers = sum(1 for k in data.files if k.startswith("W"))
    mods = []
    for i in range(n_layers):
        W, b = data[f"W{i}"], data[f"b{i}"]
        lin = torch.nn.Linear(W.shape[1], W.shape[0]).double()
        with torch.no_grad():
            lin.weight.copy_(torch.tensor(W))
            lin.bias.copy_(torch.tensor(b))
        mods.append(lin)
        if i < n_layers - 1:
            mods.append(torch.nn.ReLU())
    seq = torch.nn.Sequential(*mods)
    cx = relucent.Complex(seq)
    t0 = time.perf_counter()
    cx.bfs(cube_radius=float(radius), cube_mode="clipped", nworkers=int(nworkers), verbose=0)
    dt = time.perf_counter() - t0
    n = len(cx)
    try:
        n_edges = cx.dual_graph().number_of_edges()
    except Exception:  # noqa: BLE001 - optional detail
        n_edges = None
    return {"n_regions": int(n), "seconds": dt, "n_edges": n_edges}


class Relucent:
    """Run Relucent in-process if importable, else in ``python`` given by the user."""

    def __init__(self, python=None, nworkers=1):
        self.python = python
        self.nworkers = nworkers
        self.available = False
        self.version = None
        self.reason = ""
        try:
            import relucent  # noqa: F401

            self.mode = "inprocess"
            self.available = True
            from importlib.metadata import version

            self.version = version("relucent")
        except Exception as err:  # noqa: BLE001 - ImportError, Gurobi licence errors, ...
            self.reason = f"not importable here ({type(err).__name__}: {err})"
            if python:
                try:
                    out = subprocess.run(
                        [python, "-c", "import relucent, importlib.metadata as m; print(m.version('relucent'))"],
                        check=False, capture_output=True, text=True, timeout=120,
                    )
                    if out.returncode == 0:
                        self.mode = "subprocess"
                        self.available = True
                        self.version = out.stdout.strip()
                    else:
                        self.reason += f"; {python}: {out.stderr.strip().splitlines()[-1:]}"
                except Exception as err2:  # noqa: BLE001
                    self.reason += f"; {python}: {err2}"

    def count(self, net, radius):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "net.npz")
            arrays = {}
            for i, (W, b) in enumerate(net.layers):
                arrays[f"W{i}"], arrays[f"b{i}"] = W, b
            np.savez(path, **arrays)
            if self.mode == "inprocess":
                return relucent_worker(path, radius, self.nworkers)
            out = subprocess.run(
                [self.python, __file__, "--relucent-worker", path, str(radius), str(self.nworkers)],
                check=False, capture_output=True, text=True, timeout=3600,
            )
            if out.returncode != 0:
                raise RuntimeError(out.stderr[-2000:])
            return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------
# LP walk baseline (implemented here; straightforward, one LP per candidate)
# ---------------------------------------------------------------------------
def lp_walk(net, lower, upper):
    """Breadth-first region walk with LPs; returns (n_regions, n_edges, seconds).

    From a region: its facets by LP redundancy removal (polyfold._lp.redundant_rows),
    then for every facet that is not on the box one LP for a point in the facet's
    relative interior (largest ball inside the facet), a step across it, and the
    neighbour's codes by a forward pass.
    """
    from scipy.optimize import linprog

    from polyfold import _lp
    from polyfold.regions import region_of

    d = net.input_dim
    lo = np.full(d, float(lower))
    hi = np.full(d, float(upper))
    t0 = time.perf_counter()
    start = (lo + hi) / 2 + 1e-3 * np.arange(1, d + 1)  # off any hyperplane in practice
    seen = {net.codes(start[None])[0].tobytes(): start}
    queue = [start]
    edges = set()
    scale = float(np.abs(np.r_[lo, hi]).max())
    while queue:
        x = queue.pop(0)
        R = region_of(net, x, domain=(lo, hi))
        key = R.codes.tobytes()
        A, c = R.A, R.c
        red = _lp.redundant_rows(A, c)
        for i in np.flatnonzero(~red):
            if R.units[i][0] == "domain":
                continue
            nrm = np.linalg.norm(A[i])
            # max r s.t. A_j x + c_j >= r |A_j| (j != i, non-redundant), A_i x + c_i = 0
            others = np.flatnonzero(~red)
            others = others[others != i]
            norms = np.linalg.norm(A[others], axis=1)
            A_ub = np.hstack([-A[others], norms[:, None]])
            res = linprog(
                np.r_[np.zeros(d), -1.0], A_ub=A_ub, b_ub=c[others],
                A_eq=np.r_[A[i], 0.0][None, :], b_eq=[-c[i]],
                bounds=[(None, None)] * d + [(0, None)], method="highs",
            )
            if res.status != 0 or res.x[-1] <= 1e-9 * scale:
                continue
            y = res.x[:d] - 1e-7 * scale * A[i] / nrm  # step across the facet
            if np.any(y < lo) or np.any(y > hi):
                continue
            k2 = net.codes(y[None])[0].tobytes()
            edges.add(frozenset((key, k2)))
            if k2 not in seen:
                seen[k2] = y
                queue.append(y)
    return len(seen), len(edges), time.perf_counter() - t0


# ---------------------------------------------------------------------------
# benchmark sections
# ---------------------------------------------------------------------------
def _timed(fn, repeat=1):
    best = None
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        dt = time.perf_counter() - t0
        best = dt if best is None else min(best, dt)
    return out, best


def bench_2d(sizes, relucent, *, lp_walk_max, relucent_max, exact_max):
    from polyfold import zoo
    from polyfold.slices import slice_complex

    rows = []
    for widths in sizes:
        net = zoo.random_mlp(widths, 2, 2, seed=0)
        bounds = (-2.0, 2.0, -2.0, 2.0)
        row = {"widths": list(widths), "n_hidden": int(sum(widths))}

        def run(mode, net=net, bounds=bounds):
            cx = slice_complex(net, [0.0, 0.0], [1.0, 0.0], [0.0, 1.0], bounds=bounds, mode=mode)
            _ = cx.graph
            return cx

        cx_f, t_f = _timed(lambda: run("float"), repeat=2)
        cx_c, t_c = _timed(lambda: run("certified"), repeat=2)
        row.update(
            n_regions=cx_c.n_regions, n_edges=len(cx_c.adjacency[0]),
            t_float=t_f, t_certified=t_c, n_recomputed=cx_c.n_recomputed,
            regions_per_s=cx_c.n_regions / t_c,
            same_float_certified=bool({c.tobytes() for c in cx_f.codes} == {c.tobytes() for c in cx_c.codes}),
        )
        if cx_c.n_regions <= exact_max:
            cx_e, t_e = _timed(lambda: run("exact"))
            row.update(t_exact=t_e, same_exact=bool(
                {c.tobytes() for c in cx_e.codes} == {c.tobytes() for c in cx_c.codes}))
        if cx_c.n_regions <= lp_walk_max:
            n, ne, t = lp_walk(net, -2.0, 2.0)
            row.update(lp_walk_regions=n, lp_walk_edges=ne, t_lp_walk=t, ratio_lp_walk=t / t_c)
        if relucent.available and cx_c.n_regions <= relucent_max:
            try:
                r = relucent.count(net, 2.0)
                row.update(relucent_regions=r["n_regions"], relucent_edges=r["n_edges"],
                           t_relucent=r["seconds"], ratio_relucent=r["seconds"] / t_c)
            except Exception as err:  # noqa: BLE001 - report, keep benchmarking
                row.update(relucent_error=str(err)[-300:])
        rows.append(row)
        print("  2D", row, flush=True)
    return rows


def bench_3d(sizes, *, lp_walk_max):
    from polyfold import zoo
    from polyfold.slices import box_complex

    rows = []
    for widths in sizes:
        net = zoo.random_mlp(widths, 3, 2, seed=0)

        def run(net=net):
            cx = box_complex(net, -2.0, 2.0, mode="certified")
            _ = cx.graph
            return cx

        cx, t = _timed(run)
        row = {"widths": list(widths), "n_regions": cx.n_regions,
               "n_edges": len(cx.adjacency[0]), "t_certified": t,
               "regions_per_s": cx.n_regions / t,
               "volume_sum": float(cx.measures.sum()), "volume_box": 64.0}
        if cx.n_regions <= lp_walk_max:
            n, ne, tw = lp_walk(net, -2.0, 2.0)
            row.update(lp_walk_regions=n, lp_walk_edges=ne, t_lp_walk=tw, ratio_lp_walk=tw / t)
        rows.append(row)
        print("  3D", row, flush=True)
    return rows


def bench_digits(archs, *, grid=200):
    from polyfold import zoo
    from polyfold.datasets import load_digits_split
    from polyfold.slices import slice_through

    _, _, Xte, yte = load_digits_split()
    # three test images of three different classes
    idx = [int(np.flatnonzero(yte == k)[0]) for k in (0, 1, 2)]
    rows = []
    for arch in archs:
        net = zoo.digits_mlp(arch)
        def run(mode, net=net):
            return slice_through(net, *Xte[idx], margin=0.1, mode=mode)

        _, t_f = _timed(lambda: run("float"), repeat=2)
        cx, t = _timed(lambda: run("certified"), repeat=2)
        _, t_graph = _timed(lambda cx=cx: cx.graph)
        g = np.linspace(-0.1, 1.1, grid)
        U, V = np.meshgrid(g, g)
        t0 = time.perf_counter()
        codes = net.codes(cx.to_input(np.stack([U.ravel(), V.ravel()], axis=1)))
        t_grid = time.perf_counter() - t0
        found = {c.tobytes() for c in codes}
        exact_keys = {c.tobytes() for c in cx.codes}
        row = {"arch": arch, "n_regions": cx.n_regions, "n_edges": len(cx.adjacency[0]),
               "t_float": t_f, "t_certified": t, "t_graph": t_graph,
               "n_recomputed": cx.n_recomputed,
               "regions_per_s": cx.n_regions / (t + t_graph),
               "decision_boundary_pieces": len(cx.decision_boundary),
               "grid": grid, "t_grid": t_grid, "grid_found": len(found & exact_keys),
               "grid_spurious": len(found - exact_keys),
               "grid_missed": len(exact_keys - found)}
        rows.append(row)
        print("  digits", row, flush=True)
    return rows


def _fmt(v, nd=3):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}g}"
    return str(v)


def print_tables(res):
    print("\n2D-input random MLPs, box [-2, 2]^2 (times in s, complex + dual graph)")
    hdr = ["widths", "regions", "edges", "float", "certified", "exact", "regions/s",
           "LP walk", "x LP walk", "Relucent", "x Relucent", "counts equal"]
    print(" | ".join(hdr))
    for r in res["2d"]:
        eq = [r["n_regions"] == r.get("lp_walk_regions", r["n_regions"]),
              r["n_regions"] == r.get("relucent_regions", r["n_regions"]),
              r.get("same_exact", True), r["same_float_certified"]]
        print(" | ".join([
            "x".join(map(str, r["widths"])), str(r["n_regions"]), str(r["n_edges"]),
            _fmt(r["t_float"]), _fmt(r["t_certified"]), _fmt(r.get("t_exact")),
            _fmt(r["regions_per_s"], 4), _fmt(r.get("t_lp_walk")), _fmt(r.get("ratio_lp_walk"), 4),
            _fmt(r.get("t_relucent")), _fmt(r.get("ratio_relucent"), 4),
            "yes" if all(eq) else "NO",
        ]))
    print("(Relucent's dual graph also links cells adjacent only outside the box, so its "
          "edge count can be a little larger)")
    print("\n3D-input random MLPs, box [-2, 2]^3 (box_complex, certified)")
    print("widths | regions | edges | time | regions/s | LP walk | x LP walk | volume sum / box")
    for r in res["3d"]:
        print(" | ".join([
            "x".join(map(str, r["widths"])), str(r["n_regions"]), str(r["n_edges"]),
            _fmt(r["t_certified"]), _fmt(r["regions_per_s"], 4), _fmt(r.get("t_lp_walk")),
            _fmt(r.get("ratio_lp_walk"), 4), f"{r['volume_sum'] / r['volume_box']:.12f}",
        ]))
    print("\nDigits MLPs: slice through three test images (classes 0, 1, 2), margin 0.1")
    print("arch | regions | edges | float | certified | cert/float | graph | recomputed | "
          "regions/s (cert + graph) | grid found | grid missed")
    for r in res["digits"]:
        print(" | ".join([
            r["arch"], str(r["n_regions"]), str(r["n_edges"]), _fmt(r["t_float"]),
            _fmt(r["t_certified"]), _fmt(r["t_certified"] / r["t_float"]), _fmt(r["t_graph"]),
            str(r["n_recomputed"]), _fmt(r["regions_per_s"], 4),
            f"{r['grid_found']}/{r['n_regions']}", str(r["grid_missed"]),
        ]))


def write_results(res, path):
    """Write a benchmark's results as JSON (parents created) and say where."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=1))
    print(f"\nwrote {out}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes only")
    p.add_argument("--relucent-python", default=None,
                   help="python interpreter with relucent installed (if not importable here)")
    p.add_argument("--relucent-workers", type=int, default=1)
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "regions.json"))
    p.add_argument("--relucent-worker", nargs=3, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.relucent_worker:
        path, radius, nw = args.relucent_worker
        print(json.dumps(relucent_worker(path, float(radius), int(nw))))
        return 0

    relucent = Relucent(args.relucent_python, nworkers=args.relucent_workers)
    if relucent.available:
        from polyfold import zoo

        relucent.count(zoo.random_mlp([2], 2, 1, seed=0), 1.0)  # warm-up (Gurobi environment)
    print(f"Relucent: {'available ' + str(relucent.version) + ' (' + relucent.mode + ')' if relucent.available else 'NOT measured: ' + relucent.reason}")
    if args.quick:
        sizes2 = [(8, 8), (16, 16)]
        sizes3 = [(6, 6)]
        archs = ["2x30"]
    else:
        sizes2 = [(8, 8), (16, 16), (32, 32), (24, 24, 24), (32, 32, 32), (64, 64, 64)]
        sizes3 = [(6, 6), (8, 8), (12, 12), (8, 8, 8)]
        archs = ["2x30", "3x20", "4x15", "5x12", "6x10", "10x6"]
    res = {
        "benchmark": "regions",
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "relucent": {"available": relucent.available, "version": relucent.version,
                     "workers": args.relucent_workers,
                     "note": "" if relucent.available else relucent.reason},
    }
    print("2D-input networks ...", flush=True)
    res["2d"] = bench_2d(sizes2, relucent, lp_walk_max=1500, relucent_max=5000, exact_max=5000)
    print("3D-input networks ...", flush=True)
    res["3d"] = bench_3d(sizes3, lp_walk_max=800)
    print("digits slices ...", flush=True)
    res["digits"] = bench_digits(archs)
    print_tables(res)
    write_results(res, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
