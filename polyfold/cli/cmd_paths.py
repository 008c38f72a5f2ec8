"""Handlers of the subcommands on segments between data points (private):
``polyfold crossings``, ``polyfold fold`` and ``polyfold bench``.

Each handler takes ``(args, run)`` and returns ``(result dict, text lines,
write_json)``.
"""

import time

from ..exceptions import ValidationError
from ._run import _pairs
from .loading import _describe, load_data, model_from_args


def _cmd_crossings(args, run):
    import numpy as np

    from ..demo import compare_with_sampling

    net = model_from_args(args, run)
    X, y, dinfo = load_data(args.data, net, seed=args.seed)
    rng = np.random.default_rng([args.seed, 1])
    i, j = _pairs(rng, len(X), args.pairs)
    run.log(f"{args.pairs} segments between points of {dinfo['data']} on {args.model} "
            f"(mode {args.mode})")
    res, summ = compare_with_sampling(net, X[i], X[j], mode=args.mode, grid=args.grid,
                                      progress=run.progress_enabled())
    e = summ["exact"]
    result = {"command": "crossings", **_describe(net, args.model), **dinfo,
              "seed": args.seed, "mode": args.mode, "n_segments": int(res.n_segments),
              "n_pieces_total": int(res.n_pieces.sum()),
              "n_pieces_mean": float(res.n_pieces.mean()),
              "n_pieces_max": int(res.n_pieces.max()),
              "n_recomputed": int(res.n_recomputed),
              "n_degenerate": int(np.count_nonzero(res.degenerate)) if res.degenerate is not None else 0,
              "time_s": e["time_s"], "paths_per_s": e["paths_per_s"],
              "sampling": summ["sampling"], "files": []}
    text = [f"{res.n_segments} segments: {result['n_pieces_mean']:.2f} regions per segment "
            f"(max {result['n_pieces_max']}), {e['time_s']:.3f} s, "
            f"{result['n_recomputed']} recomputed exactly"]
    for s in summ["sampling"]:
        text.append(f"  grid {s['n_points']:>6}: missed {100 * s['fraction_missed']:.2f}% of regions "
                    f"({100 * s['paths_with_misses']:.1f}% of paths), time ratio "
                    f"{s['ratio']:.1f}x")
    d = run.outdir()
    if d is not None:
        np.savez(d / "crossings.npz", i_start=i, i_end=j, n_pieces=res.n_pieces,
                 piece_offsets=res.piece_offsets, codes=res.codes,
                 breakpoint_offsets=res.breakpoint_offsets, t=res.t)
        result["files"].append(str(d / "crossings.npz"))
        if summ["sampling"]:
            from ..plotting import paper_style, plot_sampling_comparison

            with paper_style():
                import matplotlib.pyplot as plt

                fig, ax = plt.subplots()
                plot_sampling_comparison([{"net": args.model, "sampling": summ["sampling"]}], ax=ax)
                result["files"] += run.figure(fig, "crossings_vs_sampling")
                plt.close(fig)
    return result, text, True



def _save_heatmap(run, res, name, title):
    from ..plotting import paper_style, plot_class_pair_heatmap

    with paper_style():
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(3.6, 3.0))
        plot_class_pair_heatmap(res, ax=ax)
        ax.set_title(title)
        files = run.figure(fig, name)
        plt.close(fig)
    return files


def _cmd_fold(args, run):
    import numpy as np

    net = model_from_args(args, run)
    X, y, dinfo = load_data(args.data, net, seed=args.seed)
    scale_out = args.workers is not None or args.scheduler is not None or args.executor is not None \
        or args.checkpoint is not None
    if not args.resume and args.checkpoint is None:
        raise ValidationError("--no-resume discards the chunks of --checkpoint DIR; give "
                              "--checkpoint DIR too, or drop --no-resume.")
    run.log(f"space folding between class pairs of {dinfo['data']} ({dinfo['labels']} labels), "
            f"{args.paths_per_pair} paths per pair, on {args.model}")
    if scale_out:
        try:
            from ..parallel import class_pair_sweep
        except ImportError as err:
            raise ValidationError(
                "--workers/--scheduler/--executor need polyfold.parallel, which is not "
                f"available ({err}); drop them to run serially."
            ) from err
        res = class_pair_sweep(
            net, X, y, paths_per_pair=args.paths_per_pair, seed=args.seed, pairs=args.pairs,
            executor=args.executor or "auto", scheduler=args.scheduler, workers=args.workers,
            out=args.checkpoint, resume=args.resume, same_class=args.same_class,
            mode=args.mode, progress=run.progress_enabled(),
        )
        d = res.as_dict()
        labels = [v for v in d["labels"]]
        pair_max = res.pair_matrix("chi_max")
        result = {
            "backend": "polyfold.parallel.class_pair_sweep", "executor": res.executor,
            "n_workers": res.n_workers, "labels": labels, "pair_max": pair_max,
            "pair_max_median": res.pair_max_median,
            "path_prefix_max_median": res.path_prefix_max_median,
            "fraction_flat": float(res.total.fraction_flat) if res.total.n_paths else None,
            "n_pairs": len(res.groups), "n_paths": res.n_paths, "complete": res.complete,
            "n_chunks": res.n_chunks, "n_chunks_resumed": res.n_chunks_resumed,
            "checkpoint": args.checkpoint, "elapsed_s": res.elapsed,
        }
    else:
        from ..folding import class_pair_folding

        res = class_pair_folding(net, X, y, paths_per_pair=args.paths_per_pair, seed=args.seed,
                                 mode=args.mode, pairs=args.pairs, same_class=args.same_class,
                                 progress=run.progress_enabled())
        d = res.as_dict()
        result = {
            "backend": "polyfold.folding.class_pair_folding", "executor": "serial",
            "n_workers": 1, "labels": d["labels"], "pair_max": res.pair_max,
            "pair_max_median": res.pair_max_median,
            "path_prefix_max_median": res.path_prefix_max_median,
            "fraction_flat": res.fraction_flat, "n_pairs": res.n_pairs, "n_paths": res.n_paths,
            "complete": True, "n_recomputed": res.n_recomputed, "elapsed_s": res.elapsed,
        }
    result = {"command": "fold", **_describe(net, args.model), **dinfo, "seed": args.seed,
              "mode": args.mode, "paths_per_pair": args.paths_per_pair, **result, "files": []}
    result["pair_max"] = [[None if not np.isfinite(v) else float(v) for v in row]
                          for row in np.asarray(result["pair_max"])]

    def f(v):
        return "n/a" if v is None else f"{v:.4f}"

    text = [
        f"{result['n_paths']} paths over {result['n_pairs']} ordered class pairs "
        f"({result['executor']}, {result['n_workers']} worker(s), {result['elapsed_s']:.2f} s)",
        f"  median over pairs of max chi (reading 1): {f(result['pair_max_median'])}",
        f"  median over paths of max prefix chi (reading 2): {f(result['path_prefix_max_median'])}",
        f"  flat paths: {f(result['fraction_flat'])}",
    ]
    if run.outdir() is not None:
        result["files"] += _save_heatmap(run, res, "fold_heatmap", "max chi per class pair")
    return result, text, True



def _cmd_bench(args, run):
    import numpy as np

    from ..crossings import segment_crossings
    from ..sampling import grid_patterns, missed_regions

    net = model_from_args(args, run)
    X, y, dinfo = load_data(args.data, net, seed=args.seed)
    rng = np.random.default_rng([args.seed, 1])
    i, j = _pairs(rng, len(X), args.pairs)
    S, E = X[i], X[j]
    n_exact = min(args.exact_pairs, args.pairs)
    rows = []
    ref = None

    def timed(fn, *a, **kw):
        best, out = np.inf, None
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            out = fn(*a, **kw)
            best = min(best, time.perf_counter() - t0)
        return out, best

    segment_crossings(net, S[:2], E[:2], mode="float", progress=False)  # warm-up
    jobs = [("certified", args.pairs), ("float", args.pairs)]
    if n_exact > 0:
        jobs.append(("exact", n_exact))
    for mode, m in run.bar(jobs, desc="modes"):
        res, t = timed(segment_crossings, net, S[:m], E[:m], mode=mode, progress=False)
        if mode == "certified":
            ref = res
        # against certified mode (exact answers): regions a mode did not report
        base_n = ref.n_pieces[:m]
        missed = np.maximum(base_n - res.n_pieces, 0).sum() / base_n.sum()
        rows.append({"method": mode, "paths": m, "time_s": t, "paths_per_s": m / t,
                     "regions_per_path": float(res.n_pieces.mean()),
                     "fraction_missed": float(missed),
                     "same_as_certified": float(np.mean(res.n_pieces == base_n)),
                     "n_recomputed": int(res.n_recomputed)})
    for n in run.bar(args.grid, desc="grids"):
        g, t = timed(grid_patterns, net, S, E, n)
        missed = missed_regions(ref, g)
        rows.append({"method": f"grid{n}", "paths": args.pairs, "time_s": t,
                     "paths_per_s": args.pairs / t,
                     "regions_per_path": float(g.n_pieces.mean()),
                     "fraction_missed": float(missed.sum() / ref.n_pieces.sum())})
    base = next((r for r in rows if r["method"] == f"grid{max(args.grid)}"), None) if args.grid else None
    for r in rows:
        r["speedup_vs_grid"] = (r["paths_per_s"] / base["paths_per_s"]) if base else None
    result = {"command": "bench", **_describe(net, args.model), **dinfo, "seed": args.seed,
              "mode": args.mode, "pairs": args.pairs, "repeat": args.repeat,
              "reference_grid": base["method"] if base else None, "rows": rows, "files": []}
    ref_name = base["method"] if base else "-"
    text = [f"{'method':<10} {'paths':>7} {'paths/s':>12} {'regions/path':>13} "
            f"{'missed':>8} {'x ' + ref_name:>12}"]
    for r in rows:
        sp = "" if r["speedup_vs_grid"] is None else f"{r['speedup_vs_grid']:.1f}"
        text.append(f"{r['method']:<10} {r['paths']:>7} {r['paths_per_s']:>12.1f} "
                    f"{r['regions_per_path']:>13.2f} {100 * r['fraction_missed']:>7.2f}% {sp:>12}")
    return result, text, True

