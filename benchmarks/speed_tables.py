"""Markdown tables of the speed benchmarks, from their JSON results.

Reads benchmarks/results/kernel.json (bench_kernel.py), crossings.json
(bench_crossings.py), profile.json (bench_profile.py) and parallel.json
(bench_parallel.py) and prints the tables of benchmarks/results/speed_README.md.

Run:  python benchmarks/speed_tables.py
"""

import json
import sys
from pathlib import Path

RES = Path(__file__).resolve().parent / "results"


def load(name):
    p = RES / name
    return json.loads(p.read_text()) if p.exists() else None


def kernel_tables(k):
    cmds = k.get("section_commands")
    if cmds:
        # the sections may come from several runs: each with its command and load
        groups = {}
        for sec, c in cmds.items():
            if sec in k:
                groups.setdefault(c["command"], (c["load_average"], []))[1].append(sec)
        out = [f"Vector code: {k['isa']}.  Sections and the runs that measured them:", ""]
        for cmd, (load, secs) in groups.items():
            out.append(f"* {', '.join(secs)}: `{cmd}` (load average "
                       + ", ".join(f"{v:.1f}" for v in load) + ")")
        older = [sec for sec in ("baseline", "widths", "depths", "memory", "folding", "statistics")
                 if sec in k and sec not in cmds]
        if older:
            out.append(f"* {', '.join(older)}: an earlier run, `python benchmarks/bench_kernel.py "
                       "--repeats 5` (before the runs above)")
        out.append("")
    else:
        out = [f"`{k['command']}` (vector code: {k['isa']}; load average during the run: "
               + ", ".join(f"{v:.1f}" for v in k["load_average"]) + ")", ""]
    if "baseline" in k:
        out += ["Plain numpy loop and BLAS yardstick (one core, 2000 paths; CPU seconds, minimum of "
                "round-robin repetitions):", "",
                "| network | regions/path | numpy loop s | float s | certified s | BLAS yardstick s "
                "| float x loop | certified x loop | float / yardstick |", "|---|---|---|---|---|---|---|---|---|"]
        for r in k["baseline"]:
            out.append(
                f"| {r['network']} | {r['mean_pieces']:.1f} | {r['numpy loop cpu s']:.4f} "
                f"| {r['float 1 thread cpu s']:.4f} | {r['certified 1 thread cpu s']:.4f} "
                f"| {r['BLAS yardstick cpu s']:.4f} | {r['float 1 thread x loop (cpu)']:.1f}x "
                f"| {r['certified 1 thread x loop (cpu)']:.1f}x "
                f"| {r['float 1 thread cpu s'] / r['BLAS yardstick cpu s']:.2f} |")
        out += ["", "Two threads (wall time; the machine is shared): "
                + "; ".join(f"{r['network']}: float {r['float 2 threads x loop (wall)']:.1f}x the loop, "
                            f"certified {r['certified 2 threads x loop (wall)']:.1f}x" for r in k["baseline"]), ""]
    if "widths" in k:
        out += ["Float crossings against the BLAS yardstick, 784-input MLPs of 4 hidden layers (wall "
                "seconds, BLAS and kernel on the same number of threads):", "",
                "| width | paths | regions/path | float s (1 thread) | yardstick s (1 thread) "
                "| float / yardstick | float / yardstick (2 threads) | 2 threads / 1 thread speed-up |",
                "|---|---|---|---|---|---|---|---|"]
        for r in k["widths"]:
            out.append(
                f"| {r['width']} | {r['paths']} | {r['mean_pieces']:.0f} | {r['float 1 thread wall s']:.3f} "
                f"| {r['BLAS yardstick 1 thread wall s']:.3f} | {r['float / yardstick (1 thread)']:.2f} "
                f"| {r['float / yardstick (2 threads)']:.2f} | {r['2 threads speed-up']:.2f} |")
        out.append("")
    if "depths" in k:
        out += ["Certified against float by depth (64-input MLPs of width 32, 300 paths between digits "
                "test images, one core, CPU seconds):", "",
                "| depth | regions/path | float s | certified s | certified / float | recomputed (no exact work / exact work) |",
                "|---|---|---|---|---|---|"]
        for r in k["depths"]:
            out.append(f"| {r['depth']} | {r['mean_pieces']:.1f} | {r['float cpu s']:.4f} "
                       f"| {r['certified cpu s']:.4f} | {r['certified / float (cpu)']:.2f} | {r['recomputed']}"
                       + (f" ({r['refined']} / {r['exact work']})" if "refined" in r else "") + " |")
        out.append("")
    if "threads" in k:
        cmd = k.get("section_commands", {}).get("threads")
        out += ["Two threads against one (wall seconds of one call, minimum of round-robin repetitions"
                + (f"; `{cmd['command']}`, load average " + ", ".join(f"{v:.1f}" for v in cmd["load_average"])
                   if cmd else "") + "):", "",
                "| network | mode | paths | 1 thread s | 2 threads s | speed-up |", "|---|---|---|---|---|---|"]
        for r in k["threads"]:
            out.append(f"| {r['network']} | {r['mode']} | {r['paths']:,} | {r['1 thread wall s']:.3f} "
                       f"| {r['2 threads wall s']:.3f} | {r['speed-up']:.2f} |")
        out.append("")
    if "memory" in k:
        m = k["memory"]
        out += [f"1M paths (class pair 3 -> 8, 6x10 digits MLP, certified) held in one result: "
                f"{m['result_mib']:.0f} MiB of arrays ({m['codes_mib']:.0f} MiB of packed codes, "
                f"{m['codes_as_int8_mib']:.0f} MiB as int8), peak resident memory of the process "
                f"{m['peak_rss_mib']:.0f} MiB ({m['rss_before_mib']:.0f} MiB before the call), "
                f"{m['seconds']:.1f} s ({m['paths_per_s']:,.0f} paths/s, all cores), "
                f"{m['pieces']:,} pieces, {m['recomputed']} recomputed.", ""]
    if "folding" in k:
        f = k["folding"]
        out += [f"Exact folding against the 11-point grid, {f['paths']:,} paths of class pair 3 -> 8 "
                f"(6x10 digits MLP, one core, CPU seconds): exact `space_folding_batch` (certified) "
                f"{f['exact folding (certified) cpu s']:.3f} s, fastest 11-point grid "
                f"{f['grid 11, fastest cpu s']:.3f} s, polyfold's `sampled_folding(n_points=11)` "
                f"{f['grid 11, polyfold sampled_folding cpu s']:.3f} s; exact folding is "
                f"{f['exact x fastest grid11 (cpu)']:.2f}x the speed of the fastest grid and "
                f"{f['exact x sampled_folding grid11 (cpu)']:.2f}x that of `sampled_folding` "
                f"({f['exact regions per path']:.1f} exact regions per path against 11 samples).", ""]
    if "statistics" in k:
        rows = k["statistics"]
        par = all("points per s (n_jobs=2, wall)" in r for r in rows)
        out += [f"`region_statistics` ({rows[0]['points']} test points per net, neighbours included"
                + ("; `n_jobs=2`: two worker processes, their start-up included, results checked "
                   "equal to one process's" if par else "") + "):", "",
                "| network | regions | points/s (CPU, 1 process) | points/s (wall, 1 process) |"
                + (" points/s (wall, n_jobs=2) |" if par else ""),
                "|---|---|---|---|" + ("---|" if par else "")]
        for r in rows:
            line = (f"| {r['network']} | {r.get('regions', '')} | {r['points per s (cpu)']:.1f} "
                    f"| {r['points per s (wall)']:.1f} |")
            if par:
                line += f" {r['points per s (n_jobs=2, wall)']:.1f} |"
            out.append(line)
        out.append("")
    return out


def crossings_table(c):
    out = [f"`{c['command']}`", "",
           "| network | regions/path | float paths/s | certified paths/s | exact paths/s "
           "| grid 100 / 1000 / 10000 paths/s | regions missed by grid 100 / 1000 / 10000 "
           "| float / grid1000 | certified / float time |", "|---|---|---|---|---|---|---|---|---|"]
    for r in c["rows"]:
        out.append(
            f"| {r['network']} | {r['mean_regions_per_path']:.1f} | {r['float_c_paths_per_s']:,.0f} "
            f"| {r['certified_paths_per_s']:,.0f} | {r['exact_paths_per_s']:,.0f} "
            f"| {r['grid100_paths_per_s']:,.0f} / {r['grid1000_paths_per_s']:,.0f} / {r['grid10000_paths_per_s']:,.1f} "
            f"| {100 * r['grid100_missed_fraction']:.1f}% / {100 * r['grid1000_missed_fraction']:.2f}% "
            f"/ {100 * r['grid10000_missed_fraction']:.2f}% "
            f"| {r['float_over_grid1000']:.0f}x | {r['certified_over_float']:.2f} |")
    if "million" in c:
        m = c["million"]
        out += ["", f"Streaming 1M paths of one class pair (3 -> 8, 6x10 net, certified, first layer "
                f"cached per data point, chunks of 50k paths, own process, all cores): {m['seconds']:.1f} s "
                f"({m['paths_per_s']:,.0f} paths/s), {m['mean_regions']:.1f} regions per path, "
                f"{m['recomputed_exactly']} recomputed, peak resident memory {m['peak_rss_mib']:.0f} MiB."]
    return out


def profile_table(p):
    out = [f"`{p['command']}` (one core, CPU seconds, minimum of 3 runs in fresh processes)", "",
           "| workload | before s | after s | speed-up |", "|---|---|---|---|"]
    for r in p["rows"]:
        out.append(f"| {r['workload']} | {r['before_cpu_s']:.4g} | {r['after_cpu_s']:.4g} | {r['speedup']:.1f}x |")
    return out


def main():
    lines = []
    for name, fn in (("kernel.json", kernel_tables), ("crossings.json", crossings_table),
                     ("profile.json", profile_table)):
        d = load(name)
        if d is not None:
            lines += [f"### {name}", ""] + fn(d) + [""]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
