"""The interaction effect of folding on clean and adversarial paths.

"The Space Between" (Moser et al., 2025, Eq. 6) splits a walk
``Gamma = (pi_1, ..., pi_n)`` at ``k`` into ``Gamma_1 = (pi_1..pi_k)`` and
``Gamma_2 = (pi_k..pi_n)`` and calls ``I(k) = chi(Gamma) - chi(Gamma_1) -
chi(Gamma_2)`` the interaction effect; the paper proposes, without running it, to
compare ``I`` on paths between clean inputs with paths between adversarially
perturbed ones.  This module does that on exact walks:

* :func:`interaction_effects` -- ``I(k)`` for every split point of many walks at
  once (exact rationals from integer ranges and lengths), an
  :class:`InteractionEffects`;
* :func:`interaction_experiment` -- the experiment: for class pairs of a labelled
  set, paths between clean points, from each clean point to its adversarial copy
  (:func:`polyfold.attacks.pgd` or :func:`~polyfold.attacks.fgsm`) and between the
  adversarial copies of the same pairs, at several ``eps``; medians, quantiles and
  the share of paths with a non-zero ``I``, an :class:`InteractionExperiment`;
* :func:`plot_interaction` -- its figure.
"""

import time
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from .._repr import summary_repr

from .._validation import check_choice, check_item_index, check_mode, check_positive_int, check_seed
from ..exceptions import ShapeError, ValidationError

__all__ = [
    "InteractionEffects",
    "interaction_effects",
    "InteractionRow",
    "InteractionExperiment",
    "interaction_experiment",
    "plot_interaction",
    "FAMILIES",
]

#: path families of :func:`interaction_experiment`
FAMILIES = ("clean", "clean-adv", "adv-adv")

#: quantile levels reported per family
_LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)


# ---------------------------------------------------------------------------
# I(k) of many walks
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class InteractionEffects:
    """``I(k)`` at every split point ``k = 1 .. n_i`` of many walks.

    Flat arrays hold the splits of all walks one after the other; walk ``i`` owns
    ``offsets[i]:offsets[i + 1]`` (its split ``k`` at position ``offsets[i] + k - 1``).
    ``I(1) = I(n) = 0`` always (one part is a single pattern).

    Attributes
    ----------
    n_walks : int
    offsets : (m + 1,) int64
    numerator, denominator : (total,) int64
        ``I(k)`` exactly, ``numerator / denominator`` (not reduced).
    values : (total,) float64
        ``I(k)`` as floats (correctly rounded).
    chi : (m,) float64
        ``chi`` of every whole walk.
    """

    n_walks: int
    offsets: np.ndarray = field(repr=False)
    numerator: np.ndarray = field(repr=False)
    denominator: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    chi: np.ndarray = field(repr=False)

    @property
    def lengths(self):
        """(m,) walk lengths ``n_i``."""
        return np.diff(self.offsets)

    def exact(self, i):
        """``[I(1), ..., I(n_i)]`` of walk ``i`` as Fractions."""
        i = check_item_index(i, self.n_walks, "i", "walk")
        a, b = self.offsets[i], self.offsets[i + 1]
        return [Fraction(int(p), int(q)) for p, q in zip(self.numerator[a:b], self.denominator[a:b])]

    @property
    def max(self):
        """(m,) float: ``max_k I(k)`` of every walk (0 for walks of one or two patterns)."""
        return np.maximum.reduceat(self.values, self.offsets[:-1])

    @property
    def min(self):
        """(m,) float: ``min_k I(k)``."""
        return np.minimum.reduceat(self.values, self.offsets[:-1])

    def max_exact(self, i):
        """``max_k I(k)`` of walk ``i`` as a Fraction."""
        return max(self.exact(i))

    @property
    def nonzero(self):
        """(m,) bool: some ``I(k) != 0`` (decided exactly)."""
        nz = (self.numerator != 0).astype(np.int64)
        return np.add.reduceat(nz, self.offsets[:-1]) > 0

    @property
    def interior(self):
        """(total,) bool: split points ``1 < k < n_i`` (the informative ones)."""
        k = np.arange(len(self.values)) - np.repeat(self.offsets[:-1], self.lengths)
        return (k > 0) & (k < np.repeat(self.lengths, self.lengths) - 1)

    def __len__(self):
        return self.n_walks


def _pair_ranges(off):
    """Index pairs ``(r, s)``, ``r <= s`` in the same walk, grouped by ``r``."""
    total = int(off[-1])
    seg = np.repeat(np.arange(len(off) - 1), np.diff(off))
    cnt = off[1:][seg] - np.arange(total)  # s = r .. end - 1
    r = np.repeat(np.arange(total), cnt)
    starts = np.concatenate([[0], np.cumsum(cnt)[:-1]]).astype(np.int64)
    s = r + (np.arange(int(cnt.sum())) - np.repeat(starts, cnt))
    return r, s, starts, seg


def _chi_parts(r1, r2):
    """(numerator, denominator) of ``chi = 1 - r1 / r2`` (``0 / 1`` when ``r2 == 0``)."""
    den = np.where(r2 > 0, r2, 1)
    return np.where(r2 > 0, r2 - r1, 0), den


def interaction_effects(patterns, offsets):
    """Interaction effect ``I(k)`` at every split point of many walks.

    Parameters
    ----------
    patterns : (total, n_units) bool or int array_like
        All walks one after the other (as given: repeats allowed).
    offsets : (m + 1,) int array_like
        Walk ``i`` is ``patterns[offsets[i]:offsets[i + 1]]`` (non-empty).  ``[0]``
        with no patterns is a batch of no walks.

    Returns
    -------
    InteractionEffects
        ``I(k)`` for ``k = 1 .. n_i`` of every walk, exact (``numerator /
        denominator``) and as floats, with per-walk maxima and the share of
        non-zero effects.

    Raises
    ------
    ShapeError, ValidationError
        As :func:`polyfold.folding.folding_measure_batch`.

    Notes
    -----
    ``I(k) = chi(Gamma) - chi(Gamma_1) - chi(Gamma_2)``, ``Gamma_1 = (pi_1..pi_k)``,
    ``Gamma_2 = (pi_k..pi_n)``; the same as
    :func:`polyfold.folding.interaction_effect` for every ``k``.  The range of a
    suffix needs the distance of ``pi_k`` to every later pattern, so the cost is
    ``sum_i n_i^2 / 2`` popcounts (walks are short: tens of regions).

    References
    ----------
    Moser, Heinzl, Lewandowski, Pisoni, "The Space Between", arXiv:2503.08502, Eq. (6).

    Examples
    --------
    >>> from polyfold.experiments import interaction_effects
    >>> walk = [[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1]]
    >>> res = interaction_effects(walk, [0, 5])
    >>> [str(v) for v in res.exact(0)]
    ['0', '1/2', '1/2', '1/6', '0']
    >>> res.max.tolist(), res.nonzero.tolist()
    ([0.5], [True])
    """
    from ..folding.walks import _as_walk_array, _check_offsets
    from ..network import hamming, pack_words

    P = _as_walk_array(patterns, "patterns", allow_empty=True)
    off = _check_offsets(offsets, len(P))
    m = len(off) - 1
    if m == 0:  # no walks
        z = np.zeros(0, np.int64)
        return InteractionEffects(n_walks=0, offsets=off, numerator=z, denominator=z.copy(),
                                  values=np.zeros(0), chi=np.zeros(0))
    W = pack_words(P) if P.dtype == bool else P

    def dist(a, b):
        # in blocks of rows: the comparison temporaries stay small for long walks
        out = np.empty(len(a), np.int64)
        block = max(1, (1 << 24) // max(W.shape[1] * W.itemsize, 1))
        for lo in range(0, len(a), block):
            ia, ib = a[lo : lo + block], b[lo : lo + block]
            if P.dtype == bool:
                out[lo : lo + block] = hamming(W[ia], W[ib])
            else:
                out[lo : lo + block] = np.count_nonzero(W[ia] != W[ib], axis=1)
        return out

    total = len(P)
    first = off[:-1]
    seg = np.repeat(np.arange(m), np.diff(off))
    # prefixes: range and length of (pi_1 .. pi_r) for every row r
    d0 = dist(np.arange(total), first[seg])
    shift = seg * (int(d0.max(initial=0)) + 1)
    r1a = np.maximum.accumulate(d0 + shift) - shift
    steps = np.zeros(total, np.int64)
    if total > 1:
        steps[1:] = dist(np.arange(1, total), np.arange(total - 1))
    steps[first] = 0
    cs = np.cumsum(steps)
    r2a = cs - cs[first][seg]
    last = off[1:] - 1
    r1, r2 = r1a[last], r2a[last]
    # suffixes: range of (pi_r .. pi_n) from the distances of pi_r to every later row
    pr, ps, starts, _ = _pair_ranges(off)
    r1b = np.maximum.reduceat(dist(pr, ps), starts)
    r2b = r2[seg] - r2a
    n0, q0 = _chi_parts(r1[seg], r2[seg])
    n1, q1 = _chi_parts(r1a, r2a)
    n2, q2 = _chi_parts(r1b, r2b)
    num = n0 * q1 * q2 - n1 * q0 * q2 - n2 * q0 * q1
    den = q0 * q1 * q2
    n_chi, q_chi = _chi_parts(r1, r2)
    return InteractionEffects(
        n_walks=m,
        offsets=off,
        numerator=num,
        denominator=den,
        values=num / den,
        chi=n_chi / q_chi,
    )


# ---------------------------------------------------------------------------
# the experiment
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class InteractionRow:
    """Summary of one path family at one ``eps``.

    Attributes
    ----------
    family : str
        ``"clean"`` (clean point of class a to clean point of class b),
        ``"clean-adv"`` (clean point to its adversarial copy) or ``"adv-adv"``
        (adversarial copies of the same pairs as ``"clean"``).
    eps : float
        0.0 for ``"clean"``.
    n_paths : int
    mean_regions : float
        Mean walk length (exact regions per path).
    share_nonzero : float
        Share of paths with some ``I(k) != 0``.
    max_median, max_mean : float
        Median and mean over paths of ``max_k I(k)``.
    max_quantiles : dict
        ``{q: value}`` of ``max_k I(k)``, ``q`` in (0.05, 0.25, 0.5, 0.75, 0.95).
    all_median, all_mean : float
        Median and mean of ``I(k)`` over all interior split points of all paths
        (NaN when no path has one).
    all_quantiles : dict
    share_negative : float
        Share of interior split points with ``I(k) < 0``.
    chi_mean : float
        Mean ``chi`` of the paths.
    flip_rate : float or None
        Adversarial families: share of points whose prediction the attack changed.
    """

    family: str
    eps: float
    n_paths: int
    mean_regions: float
    share_nonzero: float
    max_median: float
    max_mean: float
    max_quantiles: dict = field(repr=False)
    all_median: float = float("nan")
    all_mean: float = float("nan")
    all_quantiles: dict = field(default_factory=dict, repr=False)
    share_negative: float = 0.0
    chi_mean: float = 0.0
    flip_rate: object = None

    def as_dict(self):
        """Plain dict (JSON friendly: NaN as None)."""
        d = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in self.__dict__.items()}
        d["max_quantiles"] = {str(k): v for k, v in self.max_quantiles.items()}
        d["all_quantiles"] = {str(k): v for k, v in self.all_quantiles.items()}
        return d


def _summarise(family, eps, eff, flip_rate=None):
    mx = eff.max
    inner = eff.values[eff.interior]

    def q(v):
        return {lv: float(np.quantile(v, lv)) for lv in _LEVELS} if len(v) else {}

    return InteractionRow(
        family=family,
        eps=float(eps),
        n_paths=eff.n_walks,
        mean_regions=float(np.mean(eff.lengths)),
        share_nonzero=float(np.mean(eff.nonzero)),
        max_median=float(np.median(mx)),
        max_mean=float(np.mean(mx)),
        max_quantiles=q(mx),
        all_median=float(np.median(inner)) if len(inner) else float("nan"),
        all_mean=float(np.mean(inner)) if len(inner) else float("nan"),
        all_quantiles=q(inner),
        share_negative=float(np.mean(inner < 0)) if len(inner) else 0.0,
        chi_mean=float(np.mean(eff.chi)),
        flip_rate=flip_rate,
    )


@dataclass(frozen=True)
class InteractionExperiment:
    """Result of :func:`interaction_experiment`.

    Attributes
    ----------
    rows : tuple of InteractionRow
        ``"clean"`` first, then per ``eps`` the ``"clean-adv"`` and ``"adv-adv"`` rows.
    effects : dict
        ``{(family, eps): InteractionEffects}`` (``eps = 0.0`` for ``"clean"``).
    paired : dict
        ``{eps: {...}}`` paired comparison of ``max_k I`` on the same index pairs,
        adversarial minus clean: median and mean difference, share of pairs where
        the adversarial value is larger / smaller, and the two-sided Wilcoxon
        signed-rank p-value (None when all differences are 0).
    attacks : dict
        ``{eps: AttackResult.as_dict()}``.
    eps : tuple of float
    attack, norm : str
    n_points : int
        Clean points attacked (the endpoints of every path).
    pairs : (n_pairs, 2) int64
        Index pairs ``(i, j)`` into the chosen points of the clean / adv-adv paths.
    point_index : (n_points,) int64
        Rows of ``X`` used.
    mode, units, classes : str
    seed : object
    elapsed : float
    """

    __repr__ = summary_repr

    rows: tuple
    effects: dict = field(repr=False)
    paired: dict = field(repr=False)
    attacks: dict = field(repr=False)
    eps: tuple = ()
    attack: str = "pgd"
    norm: object = "inf"
    n_points: int = 0
    pairs: np.ndarray = field(default=None, repr=False)
    point_index: np.ndarray = field(default=None, repr=False)
    mode: str = "certified"
    units: str = "hidden"
    classes: str = "sign"
    seed: object = 0
    elapsed: float = 0.0

    def row(self, family, eps=0.0):
        """The :class:`InteractionRow` of ``family`` at ``eps``."""
        from ..attacks import _check_eps

        family = check_choice("family", family, FAMILIES)
        eps = _check_eps(eps)
        for r in self.rows:
            if r.family == family and (family == "clean" or r.eps == float(eps)):
                return r
        raise ValidationError(
            f"no row for family {family!r} at eps={eps!r}; families {FAMILIES}, eps {self.eps}."
        )

    def table(self):
        """The result table as text."""
        head = (f"{'family':>9} {'eps':>6} {'paths':>6} {'regions':>8} {'I!=0':>6} "
                f"{'med max':>8} {'q95 max':>8} {'mean max':>8} {'med I':>8} {'I<0':>6} "
                f"{'chi':>6} {'flip':>6}")
        lines = [head]
        for r in self.rows:
            flip = f"{r.flip_rate:6.3f}" if r.flip_rate is not None else "     -"
            lines.append(
                f"{r.family:>9} {r.eps:6.3f} {r.n_paths:6d} {r.mean_regions:8.2f} "
                f"{r.share_nonzero:6.3f} {r.max_median:8.4f} {r.max_quantiles.get(0.95, float('nan')):8.4f} "
                f"{r.max_mean:8.4f} {r.all_median:8.4f} {r.share_negative:6.3f} {r.chi_mean:6.3f} {flip}"
            )
        return "\n".join(lines)

    def as_dict(self):
        """Plain dict (JSON friendly, no per-path arrays)."""
        return {
            "rows": [r.as_dict() for r in self.rows],
            "paired": {str(k): v for k, v in self.paired.items()},
            "attacks": {str(k): v for k, v in self.attacks.items()},
            "eps": list(self.eps),
            "attack": self.attack,
            "norm": self.norm,
            "n_points": self.n_points,
            "n_pairs": int(len(self.pairs)) if self.pairs is not None else 0,
            "mode": self.mode,
            "units": self.units,
            "classes": self.classes,
            "seed": self.seed,
            "elapsed": self.elapsed,
        }


def _paired(clean, adv):
    from scipy.stats import wilcoxon

    d = adv.max - clean.max
    p = None
    if np.any(d != 0):
        p = float(wilcoxon(adv.max, clean.max, zero_method="wilcox").pvalue)
    return {
        "n": int(len(d)),
        "median_difference": float(np.median(d)),
        "mean_difference": float(np.mean(d)),
        "share_adv_larger": float(np.mean(d > 0)),
        "share_adv_smaller": float(np.mean(d < 0)),
        "wilcoxon_p": p,
    }


def _choose_points(y, n_points, rng):
    """Up to ``n_points`` indices, stratified by class (at least one per class)."""
    labels = np.unique(y)
    per = max(1, n_points // len(labels))
    idx = []
    for c in labels:
        members = np.nonzero(y == c)[0]
        idx.append(rng.choice(members, size=min(per, len(members)), replace=False))
    return np.sort(np.concatenate(idx))


def interaction_experiment(
    net,
    X,
    y,
    *,
    eps=(0.02, 0.05, 0.1),
    attack="pgd",
    norm="inf",
    steps=20,
    clip=None,
    n_points=300,
    paths_per_pair=10,
    seed=0,
    mode="certified",
    units="hidden",
    classes="sign",
    tol=None,
):
    """Interaction effects on clean and adversarial paths between class pairs.

    Parameters
    ----------
    net : PLNet (or any polyfold network)
    X : (n, input_dim) float
        Labelled points (a test set).
    y : (n,) int
        Labels (logit indices), at least two classes.
    eps : sequence of float
        Attack radii.
    attack : {"pgd", "fgsm"}
    norm : {"inf", 2}
    steps : int
        PGD iterations (step size ``2.5 eps / steps``, random start).
    clip : (lo, hi), optional
        Box of valid inputs (``(0, 1)`` for the digits).
    n_points : int
        Clean points drawn (stratified by class) and attacked; every path runs
        between them or their copies.
    paths_per_pair : int
        Paths per ordered class pair ``(a, b)``, ``a != b``, for ``"clean"`` and
        ``"adv-adv"`` (the same index pairs for both).
    seed : int
        Seed of the points, the pairs and the attack's random start.
    mode, units, classes, tol
        As :func:`polyfold.folding.space_folding_batch` (the exact walks).

    Returns
    -------
    InteractionExperiment
        One :class:`InteractionRow` per family and ``eps``, the per-path effects,
        a paired clean / adversarial comparison and the attack summaries.

    Raises
    ------
    ShapeError, ValidationError
        Bad shapes, fewer than two classes, bad ``eps`` / ``attack`` / counts.

    Notes
    -----
    Three families of straight paths: ``"clean"``, ``x_i -> x_j`` with ``y_i = a``,
    ``y_j = b``; ``"clean-adv"``, ``x_i -> x_i'`` (its adversarial copy, computed
    against the true label ``y_i``); ``"adv-adv"``, ``x_i' -> x_j'`` for the same
    ``(i, j)`` as ``"clean"``, so the two can be compared pair by pair.  On the exact
    walk of each path ``I(k)`` is computed at every split point
    (:func:`interaction_effects`); rows report the distribution of ``max_k I(k)``
    over paths and of ``I(k)`` over interior split points (``1 < k < n``).

    Examples
    --------
    >>> import polyfold
    >>> from polyfold.datasets import load_digits_split
    >>> from polyfold.experiments import interaction_experiment
    >>> _, _, X, y = load_digits_split()
    >>> res = interaction_experiment(polyfold.zoo.digits_mlp("2x30"), X, y, eps=(0.05,),
    ...                              steps=5, clip=(0, 1), n_points=40, paths_per_pair=1)
    >>> [(r.family, r.n_paths) for r in res.rows]
    [('clean', 90), ('clean-adv', 40), ('adv-adv', 90)]
    """
    from .._validation import as_float_array
    from ..attacks import _check_eps, _check_labels, _check_norm, fgsm, pgd
    from ..folding import space_folding_batch
    from ..network import check_net

    t0 = time.perf_counter()
    check_net(net)
    check_mode(mode)
    X = as_float_array(X, "X")
    if X.ndim != 2 or X.shape[1] != net.input_dim:
        raise ShapeError(
            f"X must have shape (n, {net.input_dim}) to match net.input_dim={net.input_dim}, "
            f"got {X.shape}; flatten images with X.reshape(len(X), -1)."
        )
    if y is None or np.shape(y) != (len(X),):
        raise ShapeError(
            f"y must hold one label per row of X, shape ({len(X)},), got "
            f"{'None' if y is None else np.shape(y)}."
        )
    # logit indices 0 .. output_dim - 1 (0 or 1 for one output), as the attacks need
    y = _check_labels(y, len(X), max(net.output_dim, 2))
    if len(np.unique(y)) < 2:
        raise ValidationError("y must contain at least 2 classes to form class pairs.")
    if eps is None or isinstance(eps, (str, bytes)) or np.ndim(eps) > 1:
        raise ValidationError(
            f"eps must be a number or a flat sequence of attack radii such as (0.02, 0.05), "
            f"got {eps!r}."
        )
    if np.ndim(eps) == 0:
        eps = (eps,)
    eps = tuple(_check_eps(e) for e in eps)
    if not eps:
        raise ValidationError("eps must hold at least one radius, got an empty sequence.")
    if not isinstance(attack, str) or attack not in ("pgd", "fgsm"):
        raise ValidationError(f"attack must be 'pgd' or 'fgsm', got {attack!r}.")
    norm = _check_norm(norm)
    steps = check_positive_int(steps, "steps")
    n_points = check_positive_int(n_points, "n_points", minimum=2)
    paths_per_pair = check_positive_int(paths_per_pair, "paths_per_pair")
    rng = check_seed(seed)
    idx = _choose_points(y, n_points, rng)
    Xp, yp = X[idx], y[idx]
    labels = np.unique(yp)
    # ordered class pairs, paths_per_pair random (i, j) each (indices into idx)
    pairs = []
    for a in labels:
        ia = np.nonzero(yp == a)[0]
        for b in labels:
            if a == b:
                continue
            ib = np.nonzero(yp == b)[0]
            pairs.append(np.stack([rng.choice(ia, paths_per_pair), rng.choice(ib, paths_per_pair)], 1))
    pairs = np.concatenate(pairs).astype(np.int64)
    attack_seed = int(rng.integers(0, 2**31 - 1))

    def effects(S, E):
        res = space_folding_batch(net, S, E, mode=mode, units=units, classes=classes, tol=tol)
        return interaction_effects(res.walks, res.walk_offsets), res

    eff_clean, fres = effects(Xp[pairs[:, 0]], Xp[pairs[:, 1]])
    rows = [_summarise("clean", 0.0, eff_clean)]
    all_effects = {("clean", 0.0): eff_clean}
    paired, attacks = {}, {}
    for e in eps:
        if attack == "pgd":
            adv = pgd(net, Xp, yp, e, steps=steps, norm=norm, clip=clip, seed=attack_seed)
        else:
            adv = fgsm(net, Xp, yp, e, norm=norm, clip=clip)
        attacks[e] = adv.as_dict()
        A = adv.X_adv
        eff_ca, _ = effects(Xp, A)
        eff_aa, _ = effects(A[pairs[:, 0]], A[pairs[:, 1]])
        all_effects[("clean-adv", e)] = eff_ca
        all_effects[("adv-adv", e)] = eff_aa
        rows.append(_summarise("clean-adv", e, eff_ca, adv.flip_rate))
        rows.append(_summarise("adv-adv", e, eff_aa, adv.flip_rate))
        paired[e] = _paired(eff_clean, eff_aa)
    return InteractionExperiment(
        rows=tuple(rows),
        effects=all_effects,
        paired=paired,
        attacks=attacks,
        eps=eps,
        attack=attack,
        norm=norm,
        n_points=len(idx),
        pairs=pairs,
        point_index=idx,
        mode=mode,
        units=fres.units,
        classes=fres.classes,
        seed=seed if not isinstance(seed, np.random.Generator) else "Generator",
        elapsed=time.perf_counter() - t0,
    )


def plot_interaction(res, *, axes=None, title=None, panels=("survival", "share")):
    """Figure of an :class:`InteractionExperiment` (or several, one per network).

    ``"survival"``: the share of paths whose ``max_k I(k)`` exceeds ``x`` (the
    survival function) per family and ``eps``, for the first result; ``"share"``:
    the share of paths with a non-zero effect against ``eps`` (horizontal lines:
    clean paths), one marker per network.

    Parameters
    ----------
    res : InteractionExperiment or dict of {name: InteractionExperiment}
    axes : sequence of matplotlib Axes, optional
        One per panel.
    title : str, optional
    panels : sequence of {"survival", "share"}

    Returns
    -------
    list of matplotlib artists

    Raises
    ------
    ValidationError
        ``res`` not an :class:`InteractionExperiment` (or a non-empty dict of them),
        unknown ``panels``, ``axes`` that are not one matplotlib Axes per panel, a
        ``title`` that is not a string.
    """
    import matplotlib.pyplot as plt
    from matplotlib.axes import Axes

    many = isinstance(res, dict)
    results = res if many else {"": res}
    if not results:
        raise ValidationError("res must hold at least one InteractionExperiment, got an empty dict.")
    for name, r in results.items():
        if not isinstance(r, InteractionExperiment):
            where = f"res[{name!r}]" if many else "res"
            raise ValidationError(
                f"{where} must be an InteractionExperiment (from interaction_experiment), got "
                f"{type(r).__name__}."
            )
    if title is not None and not isinstance(title, str):
        raise ValidationError(f"title must be a string or None, got {type(title).__name__}.")
    if isinstance(panels, str):
        panels = (panels,)
    if panels is None or not hasattr(panels, "__iter__"):
        raise ValidationError(
            f"panels must be a non-empty subset of ('survival', 'share'), got {panels!r}."
        )
    panels = tuple(panels)
    if any(p not in ("survival", "share") for p in panels) or not panels:
        raise ValidationError(f"panels must be a non-empty subset of ('survival', 'share'), got {panels!r}.")
    if axes is None:
        _, axes = plt.subplots(1, len(panels), figsize=(4.0 * len(panels), 3.2))
    axes = list(np.atleast_1d(np.asarray(axes, dtype=object)))
    if len(axes) != len(panels):
        raise ValidationError(f"axes must hold one Axes per panel ({len(panels)}), got {len(axes)}.")
    if not all(isinstance(ax, Axes) for ax in axes):
        raise ValidationError(
            "axes must be matplotlib Axes (e.g. from plt.subplots(1, len(panels))), got "
            f"{[type(ax).__name__ for ax in axes]}."
        )
    artists = []
    first = next(iter(results.values()))
    colours = {"clean": "k", "clean-adv": "tab:blue", "adv-adv": "tab:red"}
    styles = ["-", "--", ":", "-."]
    for ax, panel in zip(axes, panels):
        if panel == "survival":
            for (family, e), eff in first.effects.items():
                # survival function P(max_k I > x) for x >= 0 (max_k I >= 0: I(1) = 0)
                v = np.sort(eff.max)
                xs = np.concatenate([[0.0], np.unique(v[v > 0])])
                ys = 1.0 - np.searchsorted(v, xs, side="right") / max(len(v), 1)
                ls = "-" if family == "clean" else styles[first.eps.index(e) % len(styles)]
                label = "clean" if family == "clean" else f"{family}, eps={e:g}"
                artists += ax.step(xs, ys, where="post", color=colours[family], ls=ls, lw=1.2,
                                   label=label)
            ax.set_xlabel(r"$x$")
            ax.set_ylabel(r"share of paths with $\max_k I(k) > x$")
            ax.legend(fontsize=6, frameon=False)
        else:
            markers = ["o", "s", "^", "D", "v", "P", "X"]
            for n, (name, r) in enumerate(results.items()):
                for family in ("clean-adv", "adv-adv"):
                    xs = list(r.eps)
                    ys = [r.row(family, e).share_nonzero for e in xs]
                    artists += ax.plot(xs, ys, color=colours[family], marker=markers[n % len(markers)],
                                       ms=3, lw=1, label=f"{name} {family}".strip())
                artists.append(ax.axhline(r.row("clean").share_nonzero, color="k", lw=0.6,
                                          ls=styles[n % len(styles)], label=f"{name} clean".strip()))
            ax.set_xlabel(f"eps ({first.attack}, L_{first.norm})")
            ax.set_ylabel("share of paths with some I(k) != 0")
            ax.legend(fontsize=5, frameon=False, ncol=2 if many else 1)
    if title:
        axes[0].figure.suptitle(title)
    return artists
