"""Folding across architectures over training seeds.

The MNIST experiment of Lewandowski et al. (TMLR 2025) trains every architecture
from several fixed seeds and analyses only the networks that reach a high validation
accuracy, then reports how the class-pair folding changes with depth.
:func:`seed_experiment` does the same on exact walks: it trains each architecture
from every seed, keeps the networks whose held-out accuracy reaches a threshold
fixed in advance (:data:`ACCURACY_THRESHOLD`), computes both readings of the
"median of maxima" per network, and tests the trend with depth against the
seed-to-seed spread (Spearman correlation with a permutation test, one-way ANOVA
and Kruskal-Wallis over architectures).  Architectures are the MLPs ``"DxW"``
(scikit-learn training, :func:`polyfold.experiments.experiment_nets`) or the digits
CNNs ``"cnnD"`` (torch training, :mod:`polyfold.regularization`; they need the graph
network model).
"""

import numbers
import time
from dataclasses import dataclass, field

import numpy as np

from .._repr import summary_repr

from .._validation import as_float_array, check_mode, check_positive_int, check_seed
from ..exceptions import DomainError, ShapeError, ValidationError

__all__ = [
    "ACCURACY_THRESHOLD",
    "READING_NAMES",
    "SeedRow",
    "SeedExperiment",
    "seed_experiment",
    "trend_test",
    "plot_seed_experiment",
]

#: held-out (test-split) accuracy a network must reach to be analysed; fixed before
#: the multi-seed runs from the seed-0 nets (2x30 .97 ... 6x10 .89, 10x6 .52)
ACCURACY_THRESHOLD = 0.85

#: the two readings of "aggregated median of maxima" (spec section 6) and Phi_N
READING_NAMES = ("pair_max_median", "path_prefix_max_median", "phi")


@dataclass(frozen=True)
class SeedRow:
    """One trained network of :func:`seed_experiment`.

    Attributes
    ----------
    arch : str
    depth : int
        Hidden layers (MLP) or convolution blocks (CNN).
    seed : int
    test_accuracy : float
    passed : bool
        ``test_accuracy >= threshold``.
    pair_max_median, path_prefix_max_median : float
        The two readings (per pair max then median over pairs; per path prefix max
        then median of the non-zero ones).
    phi : float
        ``Phi_N`` of all class-pair paths.
    fraction_flat, mean_chi : float
    n_paths : int
    seconds : float
        Time of the class-pair folding.
    """

    arch: str
    depth: int
    seed: int
    test_accuracy: float
    passed: bool
    pair_max_median: float
    path_prefix_max_median: float
    phi: float
    fraction_flat: float
    mean_chi: float
    n_paths: int
    seconds: float

    def as_dict(self):
        return dict(self.__dict__)


def trend_test(depth, values, *, permutations=10000, seed=0):
    """Trend of ``values`` with ``depth`` against the spread between repeats.

    Parameters
    ----------
    depth : (n,) array
        Depth of each network.
    values : (n,) array
        The statistic of each network (one per architecture and seed).
    permutations : int
        Random permutations for the Spearman p-value.
    seed : int

    Returns
    -------
    dict
        ``n`` (networks with finite values), ``spearman`` (rho over networks, None
        when the values or depths are constant), ``spearman_p_permutation`` (two-sided,
        values permuted across networks: the null hypothesis that depth and the
        statistic are unrelated and networks differ only by their seed),
        ``slope`` and ``slope_se`` (least squares on depth), ``anova_F``,
        ``anova_p`` (one-way ANOVA, architectures as groups: between-architecture
        against within-architecture = seed-to-seed variance), ``kruskal_p``; the
        group tests are None with fewer than two groups of two.

    Raises
    ------
    ValidationError
        ``depth`` / ``values`` not numeric, ``permutations`` not an integer >= 1,
        a bad ``seed``.
    ShapeError
        ``depth`` and ``values`` not 1-D of the same length.
    DomainError
        A slope beyond the float64 range (values near 1e308 of both signs).

    Examples
    --------
    >>> from polyfold.experiments import trend_test
    >>> t = trend_test([1, 1, 2, 2, 3, 3], [0.1, 0.2, 0.3, 0.35, 0.5, 0.6], permutations=999)
    >>> round(t["spearman"], 3), t["spearman_p_permutation"] < 0.05
    (0.956, True)
    """
    from scipy.stats import f_oneway, kruskal, rankdata, spearmanr

    # NaN / inf are allowed: they mark networks without a value and are dropped
    d = as_float_array(depth, "depth", ndim=1, finite=False)
    v = as_float_array(values, "values", ndim=1, finite=False)
    if d.shape != v.shape:
        raise ShapeError(
            f"depth and values must hold one entry per network, got {len(d)} depths and "
            f"{len(v)} values."
        )
    permutations = check_positive_int(permutations, "permutations")
    rng = check_seed(seed)
    ok = np.isfinite(v) & np.isfinite(d)
    d, v = d[ok], v[ok]
    # every statistic is invariant under (or linear in) scaling: work on d / 2^ed and
    # v / 2^ev near 1 (exact), so values near 1e308 do not overflow the sums of squares
    ed = int(np.frexp(np.abs(d).max(initial=0.0))[1])
    ev = int(np.frexp(np.abs(v).max(initial=0.0))[1])
    d, v = np.ldexp(d, -ed), np.ldexp(v, -ev)
    out = {"n": int(len(v)), "spearman": None, "spearman_p_permutation": None, "slope": None,
           "slope_se": None, "anova_F": None, "anova_p": None, "kruskal_p": None}
    if len(v) < 3 or len(np.unique(d)) < 2:
        return out
    rho = spearmanr(d, v).statistic if np.ptp(v) > 0 else np.nan
    if np.isfinite(rho):
        rd = rankdata(d)
        rv = rankdata(v)
        rd = (rd - rd.mean()) / np.linalg.norm(rd - rd.mean())
        rv = (rv - rv.mean()) / np.linalg.norm(rv - rv.mean())
        # Spearman's rho is Pearson's r of the ranks: permute the value ranks
        null = np.array([rd @ rng.permutation(rv) for _ in range(permutations)])
        null = null[np.isfinite(null)]
        out["spearman"] = float(rho)
        out["spearman_p_permutation"] = float((1 + np.sum(np.abs(null) >= abs(rho) - 1e-12))
                                              / (1 + len(null)))
    A = np.stack([np.ones_like(d), d], axis=1)
    coef, res, *_ = np.linalg.lstsq(A, v, rcond=None)
    dof = len(v) - 2
    if dof > 0:
        s2 = float(np.sum((v - A @ coef) ** 2)) / dof
        with np.errstate(over="ignore"):
            slope = float(np.ldexp(coef[1], ev - ed))
            slope_se = float(np.ldexp(np.sqrt(s2 / np.sum((d - d.mean()) ** 2)), ev - ed))
        if not (np.isfinite(slope) and np.isfinite(slope_se)):
            raise DomainError(
                "the slope of values against depth exceeds the float64 range (about 1.8e308); "
                "rescale the values (e.g. divide them by their largest magnitude)."
            )
        out["slope"] = slope
        out["slope_se"] = slope_se
    groups = [v[d == g] for g in np.unique(d)]
    groups = [g for g in groups if len(g) >= 2]
    if len(groups) >= 2:
        f = f_oneway(*groups)
        out["anova_F"] = float(f.statistic) if np.isfinite(f.statistic) else None
        out["anova_p"] = float(f.pvalue) if np.isfinite(f.pvalue) else None
        try:
            out["kruskal_p"] = float(kruskal(*groups).pvalue)
        except ValueError:  # all values identical
            out["kruskal_p"] = None
    return out


@dataclass(frozen=True)
class SeedExperiment:
    """Result of :func:`seed_experiment`.

    Attributes
    ----------
    rows : tuple of SeedRow
        Every trained network (passed or not).
    summary : dict
        ``{arch: {"depth", "n", "n_passed", "accuracy_mean", "accuracy_std",
        "accuracy_all", reading: {"mean", "std", "min", "max"}, reading + "_all":
        {...}}}``: statistics over the networks that passed (``std`` with
        ``ddof=1``; None for fewer than two) and, under ``reading + "_all"``, over
        every network of the architecture.
    trend : dict
        ``{reading: trend_test(...)}`` over the networks that passed.
    threshold : float
    architectures : tuple of str
    seeds : tuple of int
    paths_per_pair, fold_seed : int
    mode : str
    elapsed : float
    """

    __repr__ = summary_repr

    rows: tuple
    summary: dict = field(repr=False)
    trend: dict = field(repr=False)
    threshold: float = ACCURACY_THRESHOLD
    architectures: tuple = ()
    seeds: tuple = ()
    paths_per_pair: int = 0
    fold_seed: int = 0
    mode: str = "certified"
    elapsed: float = 0.0

    def table(self):
        """Mean +- std per architecture over the networks that passed, as text."""
        lines = [f"threshold: test accuracy >= {self.threshold:.2f}; mean +- std over passing seeds",
                 f"{'arch':>7} {'depth':>5} {'passed':>7} {'acc':>13} {'pair-max median':>17} "
                 f"{'prefix-max median':>19} {'Phi_N':>15}"]

        def ms(d):
            if d is None or d["mean"] is None:
                return "-"
            return f"{d['mean']:.3f} +- {d['std']:.3f}" if d["std"] is not None else f"{d['mean']:.3f}"

        for a in self.architectures:
            s = self.summary[a]
            acc = ms({"mean": s["accuracy_mean"], "std": s["accuracy_std"]})
            lines.append(f"{a:>7} {s['depth']:>5} {s['n_passed']:>3}/{s['n']:<3} {acc:>13} "
                         f"{ms(s.get('pair_max_median')):>17} {ms(s.get('path_prefix_max_median')):>19} "
                         f"{ms(s.get('phi')):>15}")
        for r in READING_NAMES:
            t = self.trend[r]
            if t["spearman"] is None:
                lines.append(f"trend of {r}: not testable (n={t['n']})")
                continue
            lines.append(
                f"trend of {r} with depth: Spearman {t['spearman']:+.3f} (permutation p = "
                f"{t['spearman_p_permutation']:.4f}), slope {t['slope']:+.4f} +- {t['slope_se']:.4f} per "
                f"layer, ANOVA p = {_fmt(t['anova_p'])}, Kruskal-Wallis p = {_fmt(t['kruskal_p'])}"
            )
        return "\n".join(lines)

    def as_dict(self):
        return {
            "rows": [r.as_dict() for r in self.rows],
            "summary": self.summary,
            "trend": self.trend,
            "threshold": self.threshold,
            "architectures": list(self.architectures),
            "seeds": list(self.seeds),
            "paths_per_pair": self.paths_per_pair,
            "fold_seed": self.fold_seed,
            "mode": self.mode,
            "elapsed": self.elapsed,
        }


def _fmt(p):
    return "-" if p is None else f"{p:.3g}"


def _stats(v):
    v = np.asarray(v, dtype=float)
    if len(v) == 0:
        return {"mean": None, "std": None, "min": None, "max": None}
    return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else None,
            "min": float(v.min()), "max": float(v.max())}


def _depth_of(arch):
    from ..regularization import parse_cnn  # noqa: F401 (torch only for CNN names)

    return parse_cnn(arch)[0]


def _train(arch, seed, data, epochs, cache):
    """``(net, depth, test_accuracy)`` of one architecture and seed."""
    if isinstance(arch, str) and arch.lower().startswith("cnn"):
        from ..regularization import to_polyfold, train_digits

        model, info = train_digits(arch, lam=0.0, seed=seed, epochs=epochs)
        net = to_polyfold(model, info["input_shape"])
        from .depth import load_experiment_data

        _, _, Xte, yte, _ = load_experiment_data(data)
        return net, _depth_of(arch), float(np.mean(net.predict(Xte) == yte))
    from ..training import parse_architecture
    from .depth import experiment_nets

    (_, net, info), = experiment_nets([arch], data, seed=seed, epochs=epochs, cache=cache)
    return net, len(parse_architecture(arch)), float(info["test_accuracy"])


def _check_seed_nets(nets, architectures, seeds, input_dim):
    """``nets`` of :func:`seed_experiment`: ``{(arch, seed): (net, depth, accuracy)}``
    with an entry for every architecture and seed."""
    from .depth import _net_triple

    if not isinstance(nets, dict):
        raise ValidationError(
            f"nets must be a dict {{(arch, seed): (net, depth, test_accuracy)}}, got "
            f"{type(nets).__name__}."
        )
    out = {}
    for a in architectures:
        for s in seeds:
            if (a, s) not in nets:
                raise ValidationError(
                    f"nets has no entry for architecture {a!r} and seed {s}; give one "
                    "(net, depth, test_accuracy) per (arch, seed) of architectures x seeds."
                )
            where = f"nets[({a!r}, {s})]"
            net, depth, acc = _net_triple(nets[(a, s)], where, "a (net, depth, test_accuracy)", 0,
                                          input_dim)
            depth = check_positive_int(depth, f"{where} depth")
            if (isinstance(acc, (bool, np.bool_)) or not isinstance(acc, numbers.Real)
                    or not 0 <= acc <= 1):
                raise ValidationError(
                    f"{where} test_accuracy must be an accuracy in [0, 1], got {acc!r}."
                )
            out[(a, s)] = (net, depth, float(acc))
    return out


def seed_experiment(
    architectures=None,
    seeds=(0, 1, 2, 3, 4),
    *,
    threshold=ACCURACY_THRESHOLD,
    data="digits",
    paths_per_pair=300,
    fold_seed=0,
    epochs=30,
    mode="certified",
    permutations=10000,
    cache=True,
    nets=None,
    progress=False,
):
    """Class-pair folding of every architecture over training seeds, with a trend test.

    Parameters
    ----------
    architectures : sequence of str, optional
        Default :data:`polyfold.training.DIGITS_ARCHITECTURES`; CNNs as ``"cnnD"``.
    seeds : sequence of int
        Training seeds (the issue asks for at least 5).
    threshold : float
        Held-out accuracy a network needs to be analysed (stated in advance:
        :data:`ACCURACY_THRESHOLD`).  The digits have no separate validation split,
        so the test split serves as held-out set (its labels also pick the class
        pairs; folding itself does not look at accuracy).
    data : "digits", path or tuple
        As :func:`polyfold.experiments.load_experiment_data`.
    paths_per_pair : int
        Paths per ordered class pair of the test split.
    fold_seed : int
        Seed of the path endpoints (the same for every network).
    epochs : int
    mode : str
    permutations : int
        Of the Spearman permutation test.
    cache : bool
        Cache trained MLPs (see :func:`polyfold.experiments.experiment_nets`).
    nets : dict, optional
        ``{(arch, seed): (net, depth, test_accuracy)}`` instead of training.
    progress : bool

    Returns
    -------
    SeedExperiment
        Every network's row, mean +- std per architecture over the passing
        networks, and :func:`trend_test` of each reading against depth.

    Raises
    ------
    ValidationError
        Bad architectures, seeds (not integers >= 0, repeated, or a bare int: use
        ``range(5)`` for five seeds), ``threshold`` outside [0, 1], bad counts,
        flags, ``mode`` or ``data``; ``nets`` missing an ``(arch, seed)`` or with
        an entry that is not ``(net, depth, test_accuracy)``.  All checked before
        any network is trained.
    ShapeError
        A network of ``nets`` whose input dimension differs from the data's.

    Notes
    -----
    Every network is analysed (its row records ``passed``), but the summaries and
    trend tests use only the networks that pass.  The trend is significant against
    the seed-to-seed spread when the permutation p-value (and the ANOVA between
    architectures) is small.

    Examples
    --------
    >>> from polyfold.experiments import seed_experiment
    >>> res = seed_experiment(["2x30", "3x20"], seeds=(0,), paths_per_pair=1, permutations=9)
    >>> [(r.arch, r.passed) for r in res.rows]
    [('2x30', True), ('3x20', True)]
    """
    from ..folding import class_pair_folding
    from .depth import _check_architectures, _check_flag, _check_progress, load_experiment_data

    t0 = time.perf_counter()
    # every argument is checked before any network is trained
    architectures = _check_architectures(architectures, allow_cnn=True)
    if not all(isinstance(a, str) for a in architectures):
        raise ValidationError(
            f"architectures must be names such as '2x30' or 'cnn2' (strings), got "
            f"{[a for a in architectures if not isinstance(a, str)][0]!r}."
        )
    if len(set(architectures)) != len(architectures):
        raise ValidationError(f"architectures must not repeat a name, got {list(architectures)}.")
    if isinstance(seeds, (str, bytes, dict, numbers.Number)) or not hasattr(seeds, "__iter__"):
        raise ValidationError(
            f"seeds must be a sequence of training seeds such as (0, 1, 2, 3, 4) (range(5) "
            f"for five seeds), got {seeds!r}."
        )
    seeds = tuple(check_positive_int(s, "seeds", minimum=0) for s in seeds)
    if not seeds:
        raise ValidationError(
            "seed_experiment needs at least one architecture and one seed, got seeds=(); "
            "e.g. seeds=(0, 1, 2, 3, 4)."
        )
    if len(set(seeds)) != len(seeds):
        raise ValidationError(f"seeds must not repeat a seed (a repeat is the same network), got {seeds}.")
    if (isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, numbers.Real)
            or not 0 <= threshold <= 1):
        raise ValidationError(f"threshold must be an accuracy in [0, 1], got {threshold!r}.")
    paths_per_pair = check_positive_int(paths_per_pair, "paths_per_pair")
    fold_seed = check_positive_int(fold_seed, "fold_seed", minimum=0)
    epochs = check_positive_int(epochs, "epochs")
    check_mode(mode)
    permutations = check_positive_int(permutations, "permutations")
    cache = _check_flag(cache, "cache")
    progress = _check_progress(progress)
    _, _, Xte, yte, _ = load_experiment_data(data)
    if nets is not None:
        nets = _check_seed_nets(nets, architectures, seeds, Xte.shape[1])
    jobs = [(a, s) for a in architectures for s in seeds]
    if progress:
        from tqdm.auto import tqdm

        jobs = tqdm(jobs, desc="networks")
    rows = []
    for arch, seed in jobs:
        if nets is not None:
            net, depth, acc = nets[(arch, seed)]
        else:
            net, depth, acc = _train(arch, seed, data, epochs, cache)
        t1 = time.perf_counter()
        res = class_pair_folding(net, Xte, yte, paths_per_pair=paths_per_pair, seed=fold_seed,
                                 mode=mode)
        rows.append(SeedRow(
            arch=arch, depth=int(depth), seed=int(seed), test_accuracy=float(acc),
            passed=bool(acc >= threshold), pair_max_median=float(res.pair_max_median),
            path_prefix_max_median=float(res.path_prefix_max_median),
            phi=float(res.chi_summary.phi), fraction_flat=float(res.fraction_flat),
            mean_chi=float(res.chi_summary.mean), n_paths=int(res.n_paths),
            seconds=time.perf_counter() - t1,
        ))
    summary = {}
    for a in architectures:
        mine = [r for r in rows if r.arch == a]
        ok = [r for r in mine if r.passed]
        acc = _stats([r.test_accuracy for r in ok]) if ok else _stats([])
        summary[a] = {
            "depth": mine[0].depth, "n": len(mine), "n_passed": len(ok),
            "accuracy_mean": acc["mean"], "accuracy_std": acc["std"],
            "accuracy_all": [r.test_accuracy for r in mine],
            **{k: _stats([getattr(r, k) for r in ok]) for k in READING_NAMES},
            **{f"{k}_all": _stats([getattr(r, k) for r in mine]) for k in READING_NAMES},
        }
    ok = [r for r in rows if r.passed]
    trend = {k: trend_test([r.depth for r in ok], [getattr(r, k) for r in ok],
                           permutations=permutations, seed=fold_seed) for k in READING_NAMES}
    return SeedExperiment(
        rows=tuple(rows), summary=summary, trend=trend, threshold=float(threshold),
        architectures=architectures, seeds=seeds, paths_per_pair=paths_per_pair,
        fold_seed=fold_seed, mode=mode, elapsed=time.perf_counter() - t0,
    )


def plot_seed_experiment(res, *, axes=None, readings=("pair_max_median", "path_prefix_max_median")):
    """Folding against depth over seeds: one panel per reading.

    Dots: every network that passed the threshold (hollow: those that did not);
    bars: mean +- std over the passing seeds.

    Returns
    -------
    list of matplotlib artists

    Raises
    ------
    ValidationError
        ``res`` not a :class:`SeedExperiment`, ``readings`` not a non-empty subset
        of :data:`READING_NAMES`, ``axes`` not one matplotlib Axes per reading.
    """
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    if not isinstance(res, SeedExperiment):
        raise ValidationError(
            f"res must be a SeedExperiment (from seed_experiment), got {type(res).__name__}."
        )
    if isinstance(readings, str):
        readings = (readings,)
    if readings is None or not hasattr(readings, "__iter__"):
        raise ValidationError(f"readings must be a non-empty subset of {READING_NAMES}, got {readings!r}.")
    readings = tuple(readings)
    if not readings or any(r not in READING_NAMES for r in readings):
        raise ValidationError(f"readings must be a non-empty subset of {READING_NAMES}, got {readings!r}.")
    if axes is None:
        _, axes = plt.subplots(1, len(readings), figsize=(3.6 * len(readings), 3.0))
    axes = np.atleast_1d(np.asarray(axes, dtype=object)).ravel()
    if len(axes) != len(readings) or not all(isinstance(ax, Axes) for ax in axes):
        raise ValidationError(
            f"axes must hold one matplotlib Axes per reading ({len(readings)}), got "
            f"{[type(ax).__name__ for ax in axes]}."
        )
    artists = []
    archs = list(res.architectures)
    pos = {a: i for i, a in enumerate(archs)}
    for ax, key in zip(axes, readings):
        jit = np.linspace(-0.15, 0.15, max(len(res.seeds), 1))
        for r in res.rows:
            x = pos[r.arch] + jit[res.seeds.index(r.seed)]
            artists += ax.plot([x], [getattr(r, key)], "o", ms=3.5,
                               mfc="tab:blue" if r.passed else "none", mec="tab:blue", alpha=0.8)
        for a in archs:
            s = res.summary[a][key]
            if s["mean"] is None:
                continue
            artists.append(ax.errorbar([pos[a] + 0.3], [s["mean"]], yerr=[s["std"] or 0.0], fmt="s",
                                       color="k", ms=4, capsize=3))
        ax.set_xticks(range(len(archs)), [f"{a}\n(d={res.summary[a]['depth']})" for a in archs],
                      fontsize=7)
        t = res.trend[key]
        p = t["spearman_p_permutation"]
        ax.set_title(f"{key}\nSpearman {t['spearman']:+.2f}, p = {p:.3g}" if p is not None else key,
                     fontsize=8)
        ax.set_ylabel(key)
    axes[0].figure.suptitle(f"test acc >= {res.threshold:.2f} filled; mean +- std of passing seeds",
                            fontsize=8)
    return artists
