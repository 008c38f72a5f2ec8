"""Subcommands of the folding experiments (private): ``polyfold interaction`` and
``polyfold regularize``.

:func:`add_experiment_parsers` registers them on the ``polyfold`` parser; each
handler takes ``(args, run)`` and returns ``(result dict, text lines, write_json)``.
"""

import argparse

from ..exceptions import ValidationError
from .loading import _describe, load_data, load_model


def _eps_arg(text):
    import math

    try:
        vals = tuple(float(v) for v in text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected comma-separated radii like 0.02,0.1, got {text!r}") from err
    if not vals or any(not (math.isfinite(v) and v >= 0) for v in vals):
        raise argparse.ArgumentTypeError(f"radii must be finite numbers >= 0, got {text!r}")
    return vals


def _clip_arg(text):
    import math

    if text.strip().lower() in ("auto", "none"):
        return text.strip().lower()
    try:
        lo, hi = (float(v) for v in text.split(","))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected LO,HI (e.g. 0,1), 'auto' or 'none', got {text!r}") from err
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise argparse.ArgumentTypeError(
            f"expected finite LO,HI (no NaN or inf; 'none' for no box), got {text!r}"
        )
    if not lo < hi:
        raise argparse.ArgumentTypeError(f"expected LO < HI (e.g. 0,1), got {text!r}")
    return (lo, hi)


def add_experiment_parsers(sub):
    """Add the ``interaction`` and ``regularize`` subcommands to ``sub``."""
    from .app import (_common, _int_at_least, _nonempty, _nonneg, _nonneg_finite, _positive,
                      _positive_finite)

    p = sub.add_parser("interaction", help="interaction effect on clean and adversarial paths",
                       description="The interaction effect I(k) of 'The Space Between' (Eq. 6) "
                       "on exact walks: paths between clean points of two classes, from each "
                       "point to its adversarial copy (PGD or FGSM) and between the copies, at "
                       "several eps; --out writes the figure.")
    _common(p)
    p.add_argument("--eps", type=_eps_arg, default=(0.02, 0.05, 0.1), metavar="E,E,...",
                   help="attack radii (default 0.02,0.05,0.1)")
    p.add_argument("--attack", choices=("pgd", "fgsm"), default="pgd", help="attack (default pgd)")
    p.add_argument("--norm", choices=("inf", "2"), default="inf", help="ball norm (default inf)")
    p.add_argument("--steps", type=_positive, default=20, help="PGD steps (default 20)")
    p.add_argument("--clip", type=_clip_arg, default="auto", metavar="LO,HI",
                   help="box of valid inputs (default auto: 0,1 for the digits, else none)")
    p.add_argument("--points", type=_positive, default=300,
                   help="clean points attacked, stratified by class (default 300)")
    p.add_argument("--paths-per-pair", type=_positive, default=10,
                   help="paths per ordered class pair (default 10)")
    p.set_defaults(handler=_cmd_interaction)

    p = sub.add_parser("regularize", help="train one digits net with the folding penalty",
                       description="Train a torch MLP ('DxW') or CNN ('cnnD') on the bundled "
                       "digits with L = CE + lam * L_fold (polyfold's soft folding surrogate), "
                       "then compute its exact class-pair folding; prints one row of "
                       "benchmarks/results/regularization.json (reproducible by --seed).")
    _common(p, model=False)
    p.add_argument("--arch", type=_nonempty("an architecture such as 6x10"), default="6x10",
                   help="architecture, e.g. 6x10 or cnn2 (default 6x10)")
    p.add_argument("--lam", type=_nonneg_finite, default=0.0, help="penalty weight (default 0)")
    p.add_argument("--epochs", type=_positive, default=30, help="training epochs (default 30)")
    p.add_argument("--paths-per-pair", type=_positive, default=100,
                   help="exact paths per ordered class pair of the test split (default 100)")
    p.add_argument("--tau", type=_positive_finite, default=0.1,
                   help="temperature of the soft patterns (default 0.1)")
    p.add_argument("--n-points", type=_int_at_least(2, "an integer >= 2"), default=16,
                   help="points per penalty path, >= 2 (default 16)")
    p.add_argument("--threads", type=_nonneg, default=1,
                   help="torch CPU threads (default 1, the setting rows are reproducible "
                        "for; 0 keeps torch's default)")
    p.set_defaults(handler=_cmd_regularize)


def _cmd_interaction(args, run):
    from ..experiments import interaction_experiment

    net = load_model(args.model)
    X, y, dinfo = load_data(args.data, net, seed=args.seed)
    clip = args.clip
    if clip == "auto":
        clip = (0.0, 1.0) if str(dinfo["data"]).lower().startswith("digits") else None
    elif clip == "none":
        clip = None
    run.log(f"interaction effects on {dinfo['data']} for {args.model}: {args.attack} "
            f"(L_{args.norm}) at eps {', '.join(f'{e:g}' for e in args.eps)}")
    res = interaction_experiment(
        net, X, y, eps=args.eps, attack=args.attack, norm="inf" if args.norm == "inf" else 2,
        steps=args.steps, clip=clip, n_points=args.points, paths_per_pair=args.paths_per_pair,
        seed=args.seed, mode=args.mode,
    )
    result = {"command": "interaction", **_describe(net, args.model), **dinfo,
              "clip": list(clip) if clip is not None else None, **res.as_dict(), "files": []}
    text = res.table().splitlines()
    for e, p in res.paired.items():
        pv = "n/a" if p["wilcoxon_p"] is None else f"{p['wilcoxon_p']:.3g}"
        text.append(f"  eps {e:g}: adv-adv minus clean max I, median {p['median_difference']:+.4f}, "
                    f"mean {p['mean_difference']:+.4f}, Wilcoxon p = {pv}")
    if run.outdir() is not None:
        from ..experiments import plot_interaction
        from ..plotting import paper_style

        with paper_style():
            import matplotlib.pyplot as plt

            fig, axes = plt.subplots(1, 2, figsize=(8.0, 3.2))
            plot_interaction(res, axes=axes, title=str(args.model))
            fig.tight_layout()
            result["files"] += run.figure(fig, "interaction")
            plt.close(fig)
    return result, text, True


def _cmd_regularize(args, run):
    try:
        import torch
    except ImportError as err:
        from ..exceptions import DependencyError

        raise DependencyError(
            "polyfold regularize needs PyTorch: pip install torch (the CPU build is enough)."
        ) from err
    from ..regularization import parse_cnn, regularization_row
    from ..training import parse_architecture

    if parse_cnn(args.arch) is None:
        parse_architecture(args.arch)  # a clear error for a bad name
    if args.threads:
        torch.set_num_threads(args.threads)
    run.log(f"training {args.arch} on the digits with lam={args.lam:g}, seed {args.seed} "
            f"({args.epochs} epochs), then exact folding ({args.paths_per_pair} paths per pair)")
    try:
        row = regularization_row(args.arch, args.lam, args.seed, epochs=args.epochs,
                                 paths_per_pair=args.paths_per_pair, mode=args.mode,
                                 tau=args.tau, n_points=args.n_points)
    except ValueError as err:
        if isinstance(err, ValidationError):
            raise
        raise ValidationError(str(err)) from err
    text = [f"{row['arch']} lam={row['lam']:g} seed={row['seed']}: test acc {row['test_acc']:.3f}, "
            f"train acc {row['train_acc']:.3f}, Phi_N {row['phi']:.4f}, pair-max median "
            f"{row['pair_max_median']:.4f} ({row['train_seconds']:.1f} s training, "
            f"{row['fold_seconds']:.1f} s folding)"]
    return row, text, True
