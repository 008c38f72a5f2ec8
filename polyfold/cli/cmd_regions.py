"""Handlers of the subcommands on regions and layers (private): ``polyfold slice``,
``polyfold bias`` and ``polyfold stats``.

Each handler takes ``(args, run)`` and returns ``(result dict, text lines,
write_json)``.
"""

import time

from ..exceptions import ValidationError
from .loading import _describe, load_data, model_from_args


def _slice_points(args, X, y, rng):
    import numpy as np

    if args.points is not None:
        bad = [i for i in args.points if not 0 <= i < len(X)]
        if bad:
            raise ValidationError(
                f"--points {bad} out of range for {len(X)} data points (valid 0..{len(X) - 1})."
            )
        if len(set(args.points)) < 3:
            raise ValidationError("--points needs three different indices.")
        return list(args.points)
    classes = np.unique(y)
    if len(classes) >= 3:
        cls = rng.choice(classes, 3, replace=False)
        return [int(rng.choice(np.nonzero(y == c)[0])) for c in cls]
    return [int(v) for v in rng.choice(len(X), 3, replace=False)]


def _cmd_slice(args, run):
    import numpy as np

    from ..slices import slice_complex

    net = model_from_args(args, run)
    X, y, dinfo = load_data(args.data, net, seed=args.seed)
    rng = np.random.default_rng([args.seed, 4])
    points_uv, labels, idx = None, None, None
    if args.bounds is not None or (net.input_dim == 2 and args.points is None):
        if net.input_dim != 2:
            raise ValidationError(
                f"--bounds slices the input plane itself, which needs input_dim=2 (got "
                f"{net.input_dim}); use --points i,j,k for the plane through three data points."
            )
        if args.bounds is not None:
            b = args.bounds
        else:
            lo, hi = X.min(axis=0), X.max(axis=0)
            pad = 0.05 * np.maximum(hi - lo, 1e-12)
            b = [lo[0] - pad[0], hi[0] + pad[0], lo[1] - pad[1], hi[1] + pad[1]]
        cx = slice_complex(net, [0.0, 0.0], [1.0, 0.0], [0.0, 1.0], bounds=tuple(b), mode=args.mode)
        plane = {"kind": "input plane", "bounds": b}
        points_uv = X
    else:
        from ..slices import slice_through

        idx = _slice_points(args, X, y, rng)
        m = args.margin
        cx = slice_through(net, *X[idx], margin=m, mode=args.mode)
        plane = {"kind": "through three data points", "indices": idx,
                 "labels": [y[i].item() if hasattr(y[i], "item") else y[i] for i in idx],
                 "margin": m}
        points_uv = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
        labels = plane["labels"]
    G = cx.graph
    db = cx.decision_boundary
    deg = np.array([d for _, d in G.degree()]) if G.number_of_nodes() else np.zeros(0)
    pred = np.asarray(cx.predicted_classes)
    result = {
        "command": "slice", **_describe(net, args.model), **dinfo, "seed": args.seed,
        "mode": args.mode, "plane": plane, "n_regions": int(cx.n_regions),
        "n_edges": int(G.number_of_edges()),
        "mean_degree": float(deg.mean()) if deg.size else 0.0,
        "max_degree": int(deg.max()) if deg.size else 0,
        "boundary_pieces": int(len(db)), "n_recomputed": int(cx.n_recomputed),
        "n_degenerate": int(cx.n_degenerate),
        "regions_per_class": {str(c): int(n) for c, n in zip(*np.unique(pred, return_counts=True))},
        "files": [],
    }
    text = [f"{cx.n_regions} regions, {result['n_edges']} adjacent pairs, "
            f"{result['boundary_pieces']} decision-boundary pieces ({plane['kind']})"]
    d = run.outdir()
    if d is not None:
        cx.to_graphml(d / "slice_graph.graphml")
        result["files"].append(str(d / "slice_graph.graphml"))
        from ..plotting import paper_style, plot_slice

        with paper_style():
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(3.4, 3.2))
            plot_slice(cx, ax=ax, color_by=args.color_by, points=points_uv,
                       point_labels=labels)
            result["files"] += run.figure(fig, "slice")
            plt.close(fig)
    return result, text, True


def _hidden_inputs(net, layer, X):
    """Inputs of hidden layer ``layer`` (the activations of the layer before)."""
    if layer == 0:
        return X
    zs = net.preactivations(X)
    return net.activations[layer - 1].apply(zs[layer - 1])


def _cmd_bias(args, run):
    import numpy as np

    from ..exceptions import DegenerateInputError
    from ..injectivity import Points, check_injectivity, layer_weights, maximal_bias

    net = model_from_args(args, run)
    X, y, dinfo = load_data(args.data, net, seed=args.seed)
    if not 0 <= args.layer < len(net.widths):
        raise ValidationError(
            f"--layer must be a hidden layer index in 0..{len(net.widths) - 1}, got {args.layer}."
        )
    W, alpha = layer_weights(net, args.layer)
    m, n = W.shape
    H = _hidden_inputs(net, args.layer, X)[: args.points]
    verdict = check_injectivity((net, args.layer), domain=Points(H), exact=args.mode != "float")
    method = args.method
    if method == "auto":
        method = "polytope" if n <= 8 else "sampling"
    result = {
        "command": "bias", **_describe(net, args.model), **dinfo, "seed": args.seed,
        "mode": args.mode, "layer": args.layer, "neurons": int(m), "inputs": int(n),
        "rank": int(np.linalg.matrix_rank(W)),
        "injective_on_points": bool(verdict.is_injective), "points_checked": int(verdict.n_pieces),
        "failing_points": int(np.count_nonzero(verdict.failing)),
        "maximal_bias": None, "files": [],
    }
    text = [f"layer {args.layer}: {m} neurons on {n} inputs (rank {result['rank']}); own bias "
            f"{'is' if verdict.is_injective else 'is NOT'} injective on the "
            f"{result['points_checked']} points checked ({result['failing_points']} failing)"]
    try:
        kw = {"n_samples": args.samples, "seed": args.seed} if method == "sampling" else {}
        cert = maximal_bias(W, domain=args.domain, radius=args.radius, method=method, **kw)
    except DegenerateInputError as err:
        result["maximal_bias"] = {"method": method, "error": str(err)}
        text.append(f"maximal bias: none ({err})")
    else:
        result["maximal_bias"] = {
            "method": cert.method, "domain": cert.domain, "radius": cert.radius,
            "is_certificate": bool(cert.is_certificate), "alpha": cert.alpha,
            "alpha_hat": cert.alpha_hat, "bias": cert.bias,
            "omnidirectional_margin": cert.omnidirectional_margin,
            "own_bias_below_certificate": bool(np.all(alpha <= cert.alpha)),
        }
        kind = "certificate" if cert.is_certificate else "estimate (not a certificate)"
        text.append(f"maximal bias ({cert.method}, {kind}) on the {cert.domain} of radius "
                    f"{cert.radius:g}: alpha_hat in [{np.min(cert.alpha_hat):.4f}, "
                    f"{np.max(cert.alpha_hat):.4f}]")
        if run.outdir() is not None and n in (2, 3):
            from ..plotting import paper_style, plot_maximal_bias

            with paper_style():
                import matplotlib.pyplot as plt

                fig = plt.figure(figsize=(3.0, 3.0))
                ax = fig.add_subplot(projection="3d" if n == 3 else None)
                plot_maximal_bias(W, cert, ax=ax)
                result["files"] += run.figure(fig, "maximal_bias")
                plt.close(fig)
    return result, text, True


def _cmd_stats(args, run):
    import numpy as np

    from ..statistics import region_statistics

    net = model_from_args(args, run)
    X, y, dinfo = load_data(args.data, net, seed=args.seed)
    rng = np.random.default_rng([args.seed, 6])
    k = min(args.points, len(X))
    idx = np.sort(rng.choice(len(X), k, replace=False))
    domain = None if args.domain is None else tuple(args.domain)
    run.log(f"region statistics around {k} points of {dinfo['data']} on {args.model}")
    t0 = time.perf_counter()
    st = region_statistics(net, X[idx], domain=domain, neighbours=args.neighbours,
                           progress=run.progress_enabled(), n_jobs=args.jobs)
    dt = time.perf_counter() - t0

    def med(a):
        a = np.asarray(a, dtype=np.float64)
        a = a[np.isfinite(a)]
        return float(np.median(a)) if a.size else None

    cos_all = np.concatenate([np.asarray(c, dtype=np.float64).ravel() for c in st.pair_cosines]
                             or [np.zeros(0)])
    result = {
        "command": "stats", **_describe(net, args.model), **dinfo, "seed": args.seed,
        "mode": args.mode, "indices": idx, "domain": domain, "points": int(k),
        "radius": st.radius, "radius_median": med(st.radius),
        "n_facets_mean": float(np.mean(st.n_facets)),
        "cos_mean": float(np.nanmean(st.cos_mean)) if np.isfinite(st.cos_mean).any() else None,
        "cos_median_all_pairs": med(cos_all),
        "boundary_share": float(np.mean(st.boundary_crosses)),
        "boundary_distance_median": med(st.boundary_distance),
        "neighbour_label_change_mean": (float(np.nanmean(st.neighbour_label_change))
                                        if args.neighbours else None),
        "time_s": dt, "files": [],
    }
    f = lambda v: "n/a" if v is None else f"{v:.4g}"  # noqa: E731
    text = [f"{k} regions in {dt:.1f} s: median insphere radius {f(result['radius_median'])}, "
            f"{result['n_facets_mean']:.1f} facets per region, mean |cos| of facet normals "
            f"{f(result['cos_mean'])}, {100 * result['boundary_share']:.0f}% crossed by a "
            "decision boundary"]
    if run.outdir() is not None:
        from ..plotting import paper_style, plot_histograms

        with paper_style():
            import matplotlib.pyplot as plt

            fig, axes = plt.subplots(1, 2, figsize=(6.8, 2.5))
            plot_histograms({args.model: st}, quantity="radius", ax=axes[0])
            plot_histograms({args.model: st}, quantity="orthogonality", ax=axes[1])
            result["files"] += run.figure(fig, "region_statistics")
            plt.close(fig)
    return result, text, True

