"""``polyfold demo``: the main job on the embedded default (private handler)."""

from pathlib import Path


def _cmd_demo(args, run):
    from ..demo import DemoSettings, run_demo

    settings = DemoSettings.quick_setting() if args.quick else DemoSettings.full()
    if args.pairs:
        from dataclasses import replace

        settings = replace(settings, n_pairs=args.pairs)
    sections = [s for s in args.sections.split(",") if s] if args.sections else None
    out = Path(args.out or "demo-output")
    run.log(f"polyfold demo -> {out} ({'reduced' if args.quick else 'full'} setting)")
    res = run_demo(out, settings=settings, seed=args.seed, mode=args.mode,
                   progress=run.progress_enabled(), log=run.log, sections=sections)
    text = [f"wrote {out / 'report.md'}, {out / 'results.json'} and "
            f"{len(res['figures'])} figure files in {out / 'figures'} "
            f"({res['total_time_s']:.1f} s)"]
    for key, sec in res["sections"].items():
        text.append(f"  {key}: {sec['status']}" + (f" ({sec['reason']})" if sec["reason"] else ""))
    failed = [k for k, s in res["sections"].items() if s["status"] == "failed"]
    if failed:
        raise _SectionsFailed(res, text, failed, out)
    return res, text, False


class _SectionsFailed(Exception):
    def __init__(self, res, text, failed, out):
        super().__init__(f"demo section(s) {', '.join(failed)} failed; see {out / 'report.md'}")
        self.res, self.text = res, text

