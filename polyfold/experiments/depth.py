"""The experiments of the folding papers, as functions.

:func:`depth_experiment` reruns the MNIST experiment of Lewandowski et al. (TMLR
2025, section 6 of ``spec/folding.md``) on exact walks: ReLU MLPs with 60 hidden
neurons in total (``2x30 ... 10x6``), class-pair folding on a test set, both
aggregate readings, and how far grid-sampled ``chi`` is from the exact value.  By
default it runs on scikit-learn's bundled digits with the networks that ship with
polyfold (:func:`polyfold.zoo.digits_mlp`: Adam, 30 epochs, seed 0); pointed at
local MNIST files it trains the same architectures on MNIST first (no downloads).

The benchmark ``benchmarks/bench_folding.py`` and the command line call it.
"""

import hashlib
import numbers
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._repr import summary_repr
from .._validation import as_item_list, check_mode, check_positive_int, check_seed, read_array
from ..exceptions import ShapeError, ValidationError
from ..training import train_mlp  # noqa: F401  (public here too, documented in training)

__all__ = [
    "DepthRow",
    "DepthExperiment",
    "load_experiment_data",
    "train_mlp",
    "experiment_nets",
    "error_path_indices",
    "depth_experiment",
]


# ---------------------------------------------------------------------------
# argument checks (shared with seeds.py)
# ---------------------------------------------------------------------------
def _check_flag(value, name):
    """``value`` as a bool (numpy bools too); anything else raises naming ``name``."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValidationError(f"{name} must be True or False, got {value!r}.")
    return bool(value)


def _check_progress(progress):
    if progress is not None:
        _check_flag(progress, "progress")
    return progress


def _check_architectures(architectures, *, allow_cnn=False):
    """``architectures`` as a non-empty tuple (one ``"DxW"`` string becomes a tuple of
    one); every entry is checked by :func:`polyfold.training.parse_architecture`
    (``"cnnD"`` names by :func:`polyfold.regularization.parse_cnn` if ``allow_cnn``)."""
    from ..training import DIGITS_ARCHITECTURES, parse_architecture

    if architectures is None:
        architectures = DIGITS_ARCHITECTURES
    if isinstance(architectures, str):
        architectures = [architectures]
    if isinstance(architectures, (bytes, dict)) or not hasattr(architectures, "__iter__"):
        raise ValidationError(
            f"architectures must be a sequence of names such as ['2x30', '3x20'], got "
            f"{type(architectures).__name__} {architectures!r:.60}."
        )
    architectures = tuple(architectures)
    if not architectures:
        raise ValidationError(
            "architectures must name at least one architecture, got an empty sequence; "
            "e.g. ['2x30'] (or None for the six digits MLPs)."
        )
    for a in architectures:
        if allow_cnn and isinstance(a, str) and a.lower().startswith("cnn"):
            from ..regularization import parse_cnn

            parse_cnn(a)  # (raises for a name that is not a CNN's)
            continue
        parse_architecture(a)
    return architectures


def _check_nets(nets, input_dim):
    """``nets`` of :func:`depth_experiment`: a non-empty sequence of ``(arch, net, info)``."""
    nets = as_item_list(nets, "nets", "(arch, net, info) triples (as experiment_nets returns)",
                        "pass at least one (arch, net, info) triple")
    out = []
    for k, item in enumerate(nets):
        arch, net, info = _net_triple(item, f"nets[{k}]", "an (arch, net, info)", 1, input_dim,
                                      "; info is a dict such as {'test_accuracy': 0.9} (or {})")
        if info is None:
            info = {}
        if not isinstance(info, dict):
            raise ValidationError(
                f"nets[{k}] info must be a dict (e.g. {{'test_accuracy': 0.9}} or {{}}), got "
                f"{type(info).__name__}."
            )
        out.append((arch, net, info))
    return out


def _net_triple(item, where, kind, at, input_dim, hint=""):
    """``item`` as a triple (``kind``, e.g. "an (arch, net, info)") whose entry ``at`` is
    a network of ``input_dim`` inputs; ``where`` names it in errors."""
    from ..network import check_net

    if not isinstance(item, (tuple, list)) or len(item) != 3:
        raise ValidationError(
            f"{where} must be {kind} triple, got {type(item).__name__} {item!r:.60}{hint}."
        )
    net = item[at]
    check_net(net)
    if net.input_dim != input_dim:
        raise ShapeError(
            f"{where} has input_dim={net.input_dim}, but the data has {input_dim} features; "
            "pass networks trained on this data."
        )
    return tuple(item)


def _check_label_vector(y, name, what):
    """1-D class labels (integers, integral floats or strings), no NaN / None."""
    from ..training import _check_labels

    arr = read_array(y, name, "an array of class labels")
    if arr.ndim != 1:
        raise ShapeError(f"{name} must be a 1-D array of class labels, got shape {arr.shape}.")
    if arr.dtype == object and any(v is None for v in arr):
        raise ValidationError(f"{name} holds None; every point needs a class label.")
    return _check_labels(arr, len(arr), name, what)


# ---------------------------------------------------------------------------
# data and networks
# ---------------------------------------------------------------------------
def load_experiment_data(data="digits"):
    """Train and test data of an experiment.

    Parameters
    ----------
    data : "digits", str or Path, or tuple
        ``"digits"``: scikit-learn's bundled 8x8 digits (the fixed split of
        :func:`polyfold.datasets.load_digits_split`).  A path: local MNIST (an
        ``.npz`` with ``x_train, y_train, x_test, y_test`` or a folder with the four
        IDX files, see :func:`polyfold.datasets.load_mnist`).  A tuple
        ``(X_train, y_train, X_test, y_test)``: your own arrays.

    Returns
    -------
    X_train (n, d) float, y_train (n,), X_test (k, d) float, y_test (k,), name : str
        ``name`` is ``"digits"``, ``"mnist:<file name>"`` or ``"arrays"``.

    Raises
    ------
    ValidationError
        A path that does not exist or is not MNIST, a tuple of the wrong length, labels
        that are not class labels (NaN, fractions, None).
    ShapeError
        Arrays of inconsistent shapes.
    NonFiniteError
        NaN or infinity in ``X_train`` / ``X_test`` or in float labels.
    """
    if isinstance(data, str) and data == "digits":
        from ..datasets import load_digits_split

        return (*load_digits_split(), "digits")
    if isinstance(data, (str, Path)):
        from ..datasets import load_mnist

        Xtr, ytr, Xte, yte = load_mnist(data)
        return Xtr, ytr, Xte, yte, f"mnist:{Path(data).name}"
    if isinstance(data, (tuple, list)):
        if len(data) != 4:
            raise ValidationError(
                f"data as a tuple must be (X_train, y_train, X_test, y_test), got {len(data)} items."
            )
        from .._validation import as_float_array

        Xtr = as_float_array(data[0], "X_train", ndim=2, allow_empty=False)
        Xte = as_float_array(data[2], "X_test", ndim=2, allow_empty=False)
        ytr = _check_label_vector(data[1], "y_train", "X_train")
        yte = _check_label_vector(data[3], "y_test", "X_test")
        if Xtr.shape[1] != Xte.shape[1]:
            raise ShapeError(
                f"X_train and X_test must have the same number of columns, got "
                f"{Xtr.shape[1]} and {Xte.shape[1]}."
            )
        if ytr.shape != (len(Xtr),) or yte.shape != (len(Xte),):
            raise ShapeError(
                f"y_train and y_test must be 1-D with one label per row of X, got "
                f"{ytr.shape} for {len(Xtr)} rows and {yte.shape} for {len(Xte)} rows."
            )
        return Xtr, ytr, Xte, yte, "arrays"
    raise ValidationError(
        f"data must be 'digits', a path to local MNIST files, or a tuple (X_train, "
        f"y_train, X_test, y_test), got {type(data).__name__}."
    )


def _data_key(data):
    p = Path(data).resolve()
    size = p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.iterdir() if f.is_file())
    return hashlib.sha1(f"{p}|{size}".encode()).hexdigest()[:10]


def experiment_nets(architectures, data="digits", *, seed=0, epochs=30, cache=True):
    """The trained networks of an experiment: ``[(arch, net, info), ...]``.

    ``architectures`` is a sequence of ``"DxW"`` names (one name is one architecture;
    None: :data:`polyfold.training.DIGITS_ARCHITECTURES`).

    ``data="digits"`` with ``epochs=30`` uses :func:`polyfold.zoo.digits_mlp`
    (shipped for seed 0, trained and cached otherwise).  MNIST paths train with
    :func:`train_mlp` and cache the result under :func:`polyfold.training.cache_dir`
    (key: architecture, seed, epochs and the data files' path and size) when
    ``cache`` is true.  Arrays train without caching.

    Raises
    ------
    ValidationError
        ``architectures`` not a non-empty sequence of ``"DxW"`` names (or width
        tuples), ``seed`` not an integer >= 0, ``epochs`` not an integer >= 1,
        ``cache`` not a bool, or bad ``data`` (see :func:`load_experiment_data`).
    """
    from ..training import cache_dir

    architectures = _check_architectures(architectures)
    seed = check_positive_int(seed, "seed", minimum=0)
    epochs = check_positive_int(epochs, "epochs")
    cache = _check_flag(cache, "cache")
    Xtr, ytr, Xte, yte, name = load_experiment_data(data)
    out = []
    for arch in architectures:
        if name == "digits":
            if epochs == 30:
                from .. import zoo

                net, info = zoo.digits_mlp(arch, seed=seed, return_info=True)
            else:
                from ..training import train_digits_mlp

                net, info = train_digits_mlp(arch, seed=seed, epochs=epochs)
        else:
            path = None
            if cache and name.startswith("mnist"):
                path = cache_dir() / f"mnist_{_data_key(data)}_{arch}_seed{seed}_ep{epochs}.npz"
            if path is not None and path.exists():
                from ..zoo import _load_with_info

                net, info = _load_with_info(path)
            else:
                net, info = train_mlp(Xtr, ytr, arch, seed=seed, epochs=epochs, X_test=Xte, y_test=yte)
                if path is not None:
                    try:
                        from ..zoo import save_with_info

                        path.parent.mkdir(parents=True, exist_ok=True)
                        save_with_info(net, info, path)
                    except OSError:  # read-only cache: just do not cache
                        pass
        out.append((arch, net, info))
    return out


# ---------------------------------------------------------------------------
# the depth experiment
# ---------------------------------------------------------------------------
def error_path_indices(y, n, *, seed=0):
    """Indices ``(i, j)`` of ``n`` random paths between samples of different classes.

    The paths on which :func:`depth_experiment` compares samplers with the exact
    walk (drawn uniformly among pairs of samples with ``y[i] != y[j]``).

    Raises
    ------
    ValidationError
        ``y`` not 1-D class labels (NaN, None), with fewer than 2 classes; ``n`` not
        an integer >= 1; ``seed`` not None, an integer >= 0 or a Generator.
    """
    y = _check_label_vector(y, "y", "the samples")
    n = check_positive_int(n, "n")
    if len(np.unique(y)) < 2:
        raise ValidationError("y must hold at least 2 classes to draw class-pair paths.")
    rng = check_seed(seed)
    I, J = [], []
    got = 0
    while got < n:
        i = rng.integers(0, len(y), 4 * n)
        j = rng.integers(0, len(y), 4 * n)
        ok = y[i] != y[j]
        I.append(i[ok])
        J.append(j[ok])
        got += int(ok.sum())
    return np.concatenate(I)[:n], np.concatenate(J)[:n]


@dataclass(frozen=True)
class DepthRow:
    """One architecture of :func:`depth_experiment`.

    Attributes
    ----------
    arch : str
    depth, width : int
    test_accuracy : float or None
    pair_max_median : float
        Reading 1 (per pair max of non-zero chi, median over pairs).
    path_prefix_max_median : float
        Reading 2 (per path max of the prefix curve, median of non-zero values).
    phi : float
        ``Phi_N`` of all paths (median of non-zero chi).
    mean_chi : float
    fraction_flat : float
    mean_regions : float
        Mean number of regions per path (exact).
    n_paths : int
    runtime : float
        Seconds for the class-pair folding.
    paths_per_second : float
    projected_hours_1m : float
        ``n_pairs * 1e6 / paths_per_second / 3600``: one process, 1M paths per pair.
    n_recomputed : int
        Paths recomputed exactly by certified mode.
    grid_errors : dict
        ``{n_points: SamplingError.as_dict()}`` on the error paths.
    bisection_error : dict or None
        ``SamplingError.as_dict()`` of adaptive bisection on the error paths.
    exact_seconds, grid_seconds : dict
        Time of the exact walks of the error paths, and of every grid sampler on the
        same paths (``{n_points: seconds}``), measured in the same run.
    """

    arch: str
    depth: int
    width: int
    test_accuracy: object
    pair_max_median: float
    path_prefix_max_median: float
    phi: float
    mean_chi: float
    fraction_flat: float
    mean_regions: float
    n_paths: int
    runtime: float
    paths_per_second: float
    projected_hours_1m: float
    n_recomputed: int
    grid_errors: dict = field(repr=False)
    bisection_error: object = field(default=None, repr=False)
    exact_seconds: float = field(default=float("nan"), repr=False)
    grid_seconds: dict = field(default_factory=dict, repr=False)

    def as_dict(self):
        d = dict(self.__dict__)
        d["grid_errors"] = {str(k): v for k, v in self.grid_errors.items()}
        d["grid_seconds"] = {str(k): v for k, v in self.grid_seconds.items()}
        return d


@dataclass(frozen=True)
class DepthExperiment:
    """Result of :func:`depth_experiment`.

    Attributes
    ----------
    rows : tuple of DepthRow
    results : dict
        ``{arch: ClassPairFolding}`` (per-pair matrices for heat maps).
    data : str
    paths_per_pair, error_paths : int
    seed : int
    mode, units, classes : str
    """

    __repr__ = summary_repr

    rows: tuple
    results: dict = field(repr=False)
    data: str = "digits"
    paths_per_pair: int = 0
    error_paths: int = 0
    seed: int = 0
    mode: str = "certified"
    units: str = "hidden"
    classes: str = "sign"

    def as_dict(self):
        return {
            "data": self.data,
            "paths_per_pair": self.paths_per_pair,
            "error_paths": self.error_paths,
            "seed": self.seed,
            "mode": self.mode,
            "units": self.units,
            "classes": self.classes,
            "rows": [r.as_dict() for r in self.rows],
            "pair_max": {a: r.as_dict()["pair_max"] for a, r in self.results.items()},
            "labels": {a: r.as_dict()["labels"] for a, r in self.results.items()},
        }

    def table(self):
        """The result table as text."""
        grid = sorted({n for r in self.rows for n in r.grid_errors})
        head = (
            f"{'arch':>6} {'acc':>6} {'pairmax':>8} {'prefmax':>8} {'Phi_N':>7} {'flat':>6} "
            f"{'regions':>8} {'time_s':>7} {'paths/s':>8} {'1M_h':>7}"
            + "".join(f" {'|err|' + str(n):>9}" for n in grid)
        )
        lines = [head]
        for r in self.rows:
            acc = f"{r.test_accuracy:.3f}" if r.test_accuracy is not None else "   -"
            lines.append(
                f"{r.arch:>6} {acc:>6} {r.pair_max_median:8.4f} {r.path_prefix_max_median:8.4f} "
                f"{r.phi:7.4f} {r.fraction_flat:6.3f} {r.mean_regions:8.2f} {r.runtime:7.2f} "
                f"{r.paths_per_second:8.0f} {r.projected_hours_1m:7.2f}"
                + "".join(f" {r.grid_errors[n]['abs_error_mean']:9.4f}" for n in grid)
            )
        return "\n".join(lines)


def depth_experiment(
    architectures=None,
    *,
    data="digits",
    paths_per_pair=1000,
    seed=0,
    train_seed=0,
    epochs=30,
    mode="certified",
    units="hidden",
    classes="sign",
    grid_points=(11, 100, 1000),
    error_paths=200,
    bisection_eps=None,
    chunk_size=4096,
    cache=True,
    progress=False,
    nets=None,
):
    """Folding versus depth: the MNIST experiment of Lewandowski et al., exact.

    Parameters
    ----------
    architectures : sequence of str, optional
        Default :data:`polyfold.training.DIGITS_ARCHITECTURES`
        (``2x30, 3x20, 4x15, 5x12, 6x10, 10x6``).
    data : "digits", path or tuple
        See :func:`load_experiment_data`; the test split gives the path endpoints.
    paths_per_pair : int
        Random paths per ordered class pair (the paper: up to 1M).
    seed : int
        Seed of the path endpoints (and of the error paths).
    train_seed, epochs : int
        Training seed and epochs of the networks (:func:`experiment_nets`).
    mode, units, classes
        As :func:`polyfold.folding.space_folding_batch`.
    grid_points : sequence of int
        Grid sizes whose ``chi`` is compared with the exact value.
    error_paths : int
        Random class-pair paths used for the grid comparison (0 to skip).
    bisection_eps : float, optional
        Also compare adaptive bisection with this ``eps`` on the error paths.
    chunk_size : int
    cache : bool
        Cache networks trained on MNIST.
    progress : bool
    nets : sequence of (arch, PLNet, info), optional
        Use these networks instead of training / loading.

    Returns
    -------
    DepthExperiment
        ``rows`` (architecture, accuracy, both readings, fraction flat, runtime, rate,
        grid errors) and the per-architecture :class:`~polyfold.folding.ClassPairFolding`.

    Raises
    ------
    ValidationError
        Bad counts (``paths_per_pair``, ``error_paths``, ``grid_points``,
        ``chunk_size``, ``epochs``), seeds, ``bisection_eps``, ``mode``, flags,
        architectures or ``nets`` entries; checked before any network is trained.
    ShapeError
        A network of ``nets`` whose input dimension differs from the data's.

    Notes
    -----
    ``projected_hours_1m`` extrapolates the measured rate (one process) to 1M paths
    per ordered pair.  ``polyfold.parallel`` spreads pairs over processes.

    Examples
    --------
    >>> from polyfold.experiments import depth_experiment
    >>> res = depth_experiment(["2x30"], paths_per_pair=2, grid_points=(11,), error_paths=5)
    >>> res.rows[0].arch, res.results["2x30"].n_pairs
    ('2x30', 90)
    """
    from ..folding import class_pair_folding, sampling_error, space_folding_batch
    from ..training import parse_architecture

    # every argument is checked before any network is trained or any path walked
    if nets is None:
        architectures = _check_architectures(architectures)
    paths_per_pair = check_positive_int(paths_per_pair, "paths_per_pair")
    error_paths = check_positive_int(error_paths, "error_paths", minimum=0)
    if isinstance(grid_points, numbers.Integral) and not isinstance(grid_points, bool):
        grid_points = (grid_points,)
    if isinstance(grid_points, (str, bytes, dict)) or not hasattr(grid_points, "__iter__"):
        raise ValidationError(
            f"grid_points must be a sequence of grid sizes >= 2 such as (11, 100), got "
            f"{grid_points!r}; pass () to skip the grid comparison."
        )
    grid_points = tuple(check_positive_int(n, "grid_points", minimum=2) for n in grid_points)
    if bisection_eps is not None and (
        isinstance(bisection_eps, (bool, np.bool_)) or not isinstance(bisection_eps, numbers.Real)
        or not np.isfinite(bisection_eps) or bisection_eps <= 0
    ):
        raise ValidationError(
            f"bisection_eps must be None or a finite number > 0 (the bisection's resolution "
            f"along a path, e.g. 1e-3), got {bisection_eps!r}."
        )
    check_mode(mode)
    check_seed(seed)
    train_seed = check_positive_int(train_seed, "train_seed", minimum=0)
    epochs = check_positive_int(epochs, "epochs")
    chunk_size = check_positive_int(chunk_size, "chunk_size")
    cache = _check_flag(cache, "cache")
    progress = _check_progress(progress)
    Xtr, ytr, Xte, yte, name = load_experiment_data(data)
    if nets is None:
        nets = experiment_nets(architectures, data, seed=train_seed, epochs=epochs, cache=cache)
    else:
        nets = _check_nets(nets, Xte.shape[1])
    rows, results = [], {}
    for arch, net, info in nets:
        res = class_pair_folding(
            net, Xte, yte, paths_per_pair=paths_per_pair, seed=seed, reading="both", mode=mode,
            units=units, classes=classes, chunk_size=chunk_size, progress=progress,
        )
        results[arch] = res
        widths = parse_architecture(arch) if isinstance(arch, str) else tuple(net.widths)
        rate = res.n_paths / res.elapsed if res.elapsed > 0 else float("inf")
        errors, bis, grid_s, exact_s = {}, None, {}, float("nan")
        mean_regions = float("nan")
        if error_paths:
            i, j = error_path_indices(yte, error_paths, seed=seed)
            t0 = time.perf_counter()
            exact = space_folding_batch(net, Xte[i], Xte[j], mode=mode, units=units, classes=classes)
            exact_s = time.perf_counter() - t0
            mean_regions = float(np.mean(exact.n_regions))
            for n in grid_points:
                t0 = time.perf_counter()
                err = sampling_error(
                    net, Xte[i], Xte[j], method="grid", n_points=n, units=units,
                    classes=classes, exact=exact,
                )
                grid_s[n] = time.perf_counter() - t0
                errors[n] = err.as_dict()
            if bisection_eps is not None:
                bis = sampling_error(
                    net, Xte[i], Xte[j], method="bisection", eps=bisection_eps, units=units,
                    classes=classes, exact=exact,
                ).as_dict()
        rows.append(
            DepthRow(
                arch=str(arch),
                depth=len(widths),
                width=int(widths[0]),
                test_accuracy=info.get("test_accuracy"),
                pair_max_median=res.pair_max_median,
                path_prefix_max_median=res.path_prefix_max_median,
                phi=res.chi_summary.phi,
                mean_chi=res.chi_summary.mean,
                fraction_flat=res.fraction_flat,
                mean_regions=mean_regions,
                n_paths=res.n_paths,
                runtime=res.elapsed,
                paths_per_second=rate,
                projected_hours_1m=res.n_pairs * 1e6 / rate / 3600.0,
                n_recomputed=res.n_recomputed,
                grid_errors=errors,
                bisection_error=bis,
                exact_seconds=exact_s,
                grid_seconds=grid_s,
            )
        )
    return DepthExperiment(
        rows=tuple(rows),
        results=results,
        data=name,
        paths_per_pair=paths_per_pair,
        error_paths=error_paths,
        seed=seed,
        mode=mode,
        units=results[rows[0].arch].units if rows else str(units),
        classes=results[rows[0].arch].classes if rows else str(classes),
    )
