"""A differentiable folding regulariser (polyfold's own construction; needs torch).

"The Space Between" (Moser et al., 2025) proposes training with
``L = L_task + lambda * L_fold`` to encourage folding, gives no formula for
``L_fold`` and leaves it untested.  The folding measure ``chi`` is piecewise
constant in the weights (its gradient is zero almost everywhere), so a usable
``L_fold`` needs a smooth stand-in.  The one here is **polyfold's own
construction**, not the paper's:

1. discretise each path ``x(t) = (1 - t) a + t b`` at ``n_points`` equally spaced
   ``t`` (endpoints included);
2. replace the bit ``z > 0`` of every hidden unit by the soft pattern
   ``p = sigmoid(z / tau)`` (``z``: the input of each ``nn.ReLU`` /
   ``nn.LeakyReLU`` / ``nn.Hardtanh`` module, collected by forward hooks);
3. replace the Hamming distance by the L1 distance ``d(p, q) = sum |p - q|`` (a
   metric on ``[0, 1]^H`` that equals ``d_H`` on bits);
4. soft range ``r1 = max_i d(p_1, p_i)``, soft length ``r2 = sum_i d(p_i, p_{i+1})``
   and ``chi_soft = (r2 - r1) / (r2 + delta)``, in ``[0, 1)`` by the triangle
   inequality;
5. ``L_fold = -mean(chi_soft)`` over a batch of paths between training points of
   different classes (so a positive ``lambda`` rewards folding).

As ``tau -> 0`` the soft patterns become the bits, and with a grid fine enough to
visit every region the value tends to the exact ``chi`` of the path (the grid
``chi`` of :func:`polyfold.folding.sampled_folding`).  :func:`surrogate_validation`
measures how well it ranks paths (Spearman correlation with the exact ``chi`` of
held-out paths); the tests check its gradient against finite differences.

Contents: :class:`FoldingPenalty` (an ``nn.Module``), :func:`train_with_folding`
(a training loop for torch MLPs and CNNs), model builders :func:`torch_mlp` and
:func:`digits_cnn` (conv-BN-ReLU-maxpool blocks on the 1x8x8 digits),
:func:`train_digits` and :func:`regularization_row` (one row of the regulariser
experiment: train, then exact folding by polyfold) and :func:`surrogate_validation`.
"""

import time

import numpy as np

from .exceptions import DependencyError, NonFiniteError, ShapeError, UnsupportedLayerError, ValidationError

try:
    import torch
    from torch import nn
except ImportError as err:  # pragma: no cover - exercised only without torch
    raise DependencyError(
        "polyfold.regularization requires PyTorch: pip install torch (the CPU build is "
        "enough, e.g. pip install torch --index-url https://download.pytorch.org/whl/cpu)."
    ) from err

__all__ = [
    "FoldingPenalty",
    "train_with_folding",
    "torch_mlp",
    "digits_cnn",
    "parse_cnn",
    "train_digits",
    "to_polyfold",
    "regularization_row",
    "surrogate_validation",
    "ROW_KEYS",
]

#: piecewise-linear unit modules whose inputs give soft patterns
_UNIT_MODULES = (nn.ReLU, nn.LeakyReLU, nn.Hardtanh)

#: keys every row of :func:`regularization_row` has (benchmarks/results/regularization.json)
ROW_KEYS = ("arch", "lam", "seed", "test_acc", "train_acc", "phi", "pair_max_median")


def _check_positive(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
        raise ValidationError(f"{name} must be a finite number > 0, got {value!r}.")
    return float(value)


# ---------------------------------------------------------------------------
# the surrogate
# ---------------------------------------------------------------------------
class FoldingPenalty(nn.Module):
    """Soft folding penalty ``-mean(chi_soft)`` of a torch model along paths.

    Parameters
    ----------
    model : torch.nn.Module
        A network whose hidden units are ``nn.ReLU``, ``nn.LeakyReLU`` or
        ``nn.Hardtanh`` modules (functional ``F.relu`` calls are invisible to the
        hooks).  It is *not* registered as a submodule, so ``penalty.parameters()``
        is empty and an optimiser of ``model.parameters()`` sees every weight once.
    n_points : int >= 2
        Points per path (``t = 0, 1/(n-1), ..., 1``).
    tau : float > 0
        Temperature of the soft patterns ``sigmoid(z / tau)``.
    delta : float > 0
        Added to the soft length in the denominator (a path in one region has
        ``chi_soft = 0`` instead of 0/0).

    Notes
    -----
    The soft patterns are computed with the model in evaluation mode (batch norm
    with its running statistics, no dropout), restored afterwards; gradients flow
    to every parameter.  The cost is one forward and backward pass over
    ``m * n_points`` points for ``m`` paths.  This surrogate is polyfold's own
    construction (the module docstring lists its steps); it is not from the paper.

    Examples
    --------
    >>> import torch
    >>> from polyfold.regularization import FoldingPenalty, torch_mlp
    >>> model = torch_mlp("2x8", input_dim=2, n_classes=2, seed=0)
    >>> pen = FoldingPenalty(model, n_points=8, tau=0.1)
    >>> a, b = torch.zeros(4, 2), torch.ones(4, 2)
    >>> chi = pen.chi(a, b)
    >>> chi.shape, bool(((chi >= 0) & (chi < 1)).all())
    (torch.Size([4]), True)
    >>> loss = pen(a, b)       # -chi.mean(): differentiable in the weights
    >>> loss.backward()
    """

    def __init__(self, model, *, n_points=16, tau=0.1, delta=1e-6):
        super().__init__()
        if not isinstance(model, nn.Module):
            raise ValidationError(
                f"model must be a torch.nn.Module, got {type(model).__name__}."
            )
        from ._validation import check_positive_int

        self.n_points = check_positive_int(n_points, "n_points", minimum=2)
        self.tau = _check_positive(tau, "tau")
        self.delta = _check_positive(delta, "delta")
        units = [m for m in model.modules() if isinstance(m, _UNIT_MODULES)]
        if not units:
            raise UnsupportedLayerError(
                f"FoldingPenalty needs hidden units as nn.ReLU, nn.LeakyReLU or nn.Hardtanh "
                f"modules, found none in {type(model).__name__}; replace functional "
                "F.relu calls by nn.ReLU() modules."
            )
        self.__dict__["model"] = model  # not a submodule (see the docstring)
        self.__dict__["_units"] = units

    def soft_patterns(self, points):
        """``sigmoid(z / tau)`` of every hidden unit: (n, n_units) tensor.

        Parameters
        ----------
        points : (n, ...) tensor
            Model inputs.
        """
        store = []
        hooks = [u.register_forward_hook(lambda mod, inp, out: store.append(inp[0]))
                 for u in self._units]
        was_training = self.model.training
        try:
            self.model.eval()
            self.model(points)
        finally:
            for h in hooks:
                h.remove()
            self.model.train(was_training)
        n = points.shape[0]
        z = torch.cat([s.reshape(n, -1) for s in store], dim=1)
        return torch.sigmoid(z / self.tau)

    def chi(self, starts, ends):
        """Soft folding ``chi_soft`` of the paths ``starts[i] -> ends[i]``: (m,) tensor.

        Parameters
        ----------
        starts, ends : (m, ...) tensors
            Path end points (model inputs).
        """
        if starts.shape != ends.shape:
            raise ValidationError(
                f"starts and ends must have the same shape, got {tuple(starts.shape)} and "
                f"{tuple(ends.shape)}."
            )
        for name, v in (("starts", starts), ("ends", ends)):
            if not torch.is_tensor(v) or not v.is_floating_point():
                raise ValidationError(
                    f"{name} must be a floating-point torch tensor, got "
                    f"{type(v).__name__}; use torch.as_tensor(x, dtype=torch.float32)."
                )
            if not bool(torch.isfinite(v).all()):
                raise NonFiniteError(f"{name} contains NaN or infinity; remove those paths first.")
        if starts.dim() < 2 or starts.shape[0] == 0:
            raise ValidationError(
                "FoldingPenalty needs at least one path (the mean over none is undefined); "
                f"pass starts and ends of shape (m, ...) with m >= 1, got {tuple(starts.shape)}."
            )
        m = starts.shape[0]
        t = torch.linspace(0.0, 1.0, self.n_points, dtype=starts.dtype, device=starts.device)
        t = t.reshape((1, -1) + (1,) * (starts.dim() - 1))
        pts = (1 - t) * starts.unsqueeze(1) + t * ends.unsqueeze(1)
        P = self.soft_patterns(pts.reshape((m * self.n_points,) + tuple(starts.shape[1:])))
        P = P.reshape(m, self.n_points, -1)
        d0 = (P - P[:, :1]).abs().sum(-1)
        r1 = d0.max(dim=1).values
        r2 = (P[:, 1:] - P[:, :-1]).abs().sum(-1).sum(1)
        return (r2 - r1) / (r2 + self.delta)

    def forward(self, starts, ends):
        """``-mean(chi_soft)`` over the paths (a scalar tensor)."""
        return -self.chi(starts, ends).mean()

    def extra_repr(self):
        return f"n_points={self.n_points}, tau={self.tau}, delta={self.delta}"


# ---------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------
def torch_mlp(arch="6x10", *, input_dim=64, n_classes=10, seed=0):
    """A ReLU MLP ``nn.Sequential(Linear, ReLU, ..., Linear)`` (PyTorch's default init).

    Parameters
    ----------
    arch : str or sequence of int
        ``"DxW"`` or hidden widths (:func:`polyfold.training.parse_architecture`).
    input_dim, n_classes : int
    seed : int
        ``torch.manual_seed`` before the layers are built (in ``0..2**32 - 1``).

    Returns
    -------
    torch.nn.Sequential
    """
    from ._validation import check_int_seed, check_positive_int
    from .training import parse_architecture

    widths = parse_architecture(arch)
    input_dim = check_positive_int(input_dim, "input_dim")
    n_classes = check_positive_int(n_classes, "n_classes")
    torch.manual_seed(check_int_seed(seed))
    mods, prev = [], input_dim
    for w in widths:
        mods += [nn.Linear(prev, w), nn.ReLU()]
        prev = w
    mods.append(nn.Linear(prev, n_classes))
    return nn.Sequential(*mods)


def parse_cnn(arch):
    """``"cnn2"`` -> 2 (conv blocks); ``"cnn3x16"`` -> 3 blocks of 16 channels.

    Returns ``(depth, channels)`` or None when ``arch`` is not a CNN name.
    """
    if not isinstance(arch, str) or not arch.lower().startswith("cnn"):
        return None
    body = arch[3:]
    try:
        if "x" in body:
            d, c = body.split("x")
            depth, channels = int(d), int(c)
        else:
            depth, channels = int(body), 8
    except ValueError as err:
        raise ValidationError(
            f"CNN architecture must look like 'cnn2' or 'cnn3x16' (blocks x channels), got {arch!r}."
        ) from err
    if depth < 1 or channels < 1:
        raise ValidationError(f"CNN architecture {arch!r} needs blocks, channels >= 1.")
    return depth, channels


def digits_cnn(depth=2, *, channels=8, n_classes=10, seed=0):
    """A small CNN for the 1x8x8 digits: ``depth`` conv-BN-ReLU(-maxpool) blocks.

    Block ``i`` is ``Conv2d(3x3, padding 1) -> BatchNorm2d -> ReLU`` followed by
    ``MaxPool2d(2)`` while the feature map is larger than 1x1 (8 -> 4 -> 2 -> 1, so
    blocks after the third have no pooling); then ``Flatten -> Linear`` to the
    logits.  Inputs are ``(n, 1, 8, 8)`` images.

    Parameters
    ----------
    depth : int >= 1
    channels : int >= 1
    n_classes : int
    seed : int
        In ``0..2**32 - 1``.

    Returns
    -------
    torch.nn.Sequential
    """
    from ._validation import check_int_seed, check_positive_int

    depth = check_positive_int(depth, "depth")
    channels = check_positive_int(channels, "channels")
    n_classes = check_positive_int(n_classes, "n_classes")
    torch.manual_seed(check_int_seed(seed))
    mods, c_in, side = [], 1, 8
    for _ in range(depth):
        mods += [nn.Conv2d(c_in, channels, 3, padding=1), nn.BatchNorm2d(channels), nn.ReLU()]
        if side > 1:
            mods.append(nn.MaxPool2d(2))
            side //= 2
        c_in = channels
    mods += [nn.Flatten(), nn.Linear(channels * side * side, n_classes)]
    return nn.Sequential(*mods)


def _build(arch, seed):
    cnn = parse_cnn(arch)
    if cnn is not None:
        return digits_cnn(cnn[0], channels=cnn[1], seed=seed), (1, 8, 8)
    return torch_mlp(arch, seed=seed), (64,)


# ---------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------
def _accuracy(model, X, y):
    with torch.no_grad():
        was = model.training
        model.eval()
        pred = model(X).argmax(dim=1)
        model.train(was)
    return float((pred == y).double().mean())


def _training_arrays(X, y, xname, yname, model=None):
    """``(X float32 tensor, y int64 tensor)``: finite, non-empty, one integer label
    >= 0 per sample (below the model's number of outputs, given ``model``)."""
    from ._validation import as_float_array, check_labels

    Xa = as_float_array(X.detach().cpu().numpy() if torch.is_tensor(X) else X, xname)
    if Xa.ndim < 2 or Xa.shape[0] == 0:
        raise ShapeError(f"{xname} must be a non-empty batch (n, ...) of samples, got shape {Xa.shape}.")
    Xt = torch.as_tensor(Xa, dtype=torch.float32)
    n_classes = None if model is None else _n_outputs(model, Xt, xname)
    ya = check_labels(y.detach().cpu().numpy() if torch.is_tensor(y) else y, len(Xa), yname,
                      per=f"sample of {xname}", nonnegative=True, n_classes=n_classes,
                      classes="outputs of the model")
    return Xt, torch.as_tensor(ya)


def _n_outputs(model, X, xname):
    """The number of logits ``model`` gives per sample (None unless its output is
    (n, k)), from one sample of ``X``; a batch the model cannot take raises a
    :class:`ShapeError` naming ``xname`` (not torch's bare RuntimeError)."""
    if not isinstance(model, nn.Module):
        return None  # (FoldingPenalty names the bad model)
    was = model.training
    model.eval()  # (one sample through BatchNorm, no running statistics touched)
    try:
        with torch.no_grad():
            out = model(X[:1])
    except (RuntimeError, ValueError, TypeError, IndexError) as err:
        raise ShapeError(
            f"{xname} of shape {tuple(X.shape)} does not fit the model ({err}); pass samples "
            "of the shape the model takes (e.g. (n, 64) for an MLP, (n, 1, 8, 8) for a CNN)."
        ) from err
    finally:
        model.train(was)
    return int(out.shape[1]) if torch.is_tensor(out) and out.ndim == 2 else None


def train_with_folding(model, X, y, *, lam=0.0, epochs=30, batch_size=32, lr=1e-2,
                       paths_per_batch=16, n_points=16, tau=0.1, seed=0, X_val=None,
                       y_val=None, log_penalty=False):
    """Train a torch classifier with ``L = CE + lam * L_fold`` (Adam).

    Parameters
    ----------
    model : torch.nn.Module
        Logits out; trained in place.
    X : (n, ...) array or tensor
        Training inputs (``(n, 64)`` for the MLPs, ``(n, 1, 8, 8)`` for the CNNs).
    y : (n,) int
        Class labels ``0..k - 1`` (``k``: the model's outputs); integral floats are
        accepted, booleans are not.
    lam : float >= 0
        Weight of the folding penalty (:class:`FoldingPenalty`); 0 trains plainly.
    epochs, batch_size : int
    lr : float
        Adam learning rate (the scikit-learn recipe of :mod:`polyfold.training`
        uses 0.01).
    paths_per_batch : int
        Paths per mini-batch for the penalty, each between two samples of the
        batch with different labels.
    n_points, tau
        Of the penalty.
    seed : int
        In ``0..2**32 - 1``.  Seeds torch (``torch.manual_seed``: initial-state-
        independent shuffling and any dropout) and the choice of path pairs, so a run
        is reproducible for a fixed thread count.
    X_val, y_val : optional
        Held-out data whose accuracy is logged per epoch.
    log_penalty : bool
        Also log the soft folding of the batches when ``lam == 0``.

    Returns
    -------
    model : torch.nn.Module
        The trained model in evaluation mode.
    history : dict
        Per epoch: ``loss`` (task), ``soft_chi`` (mean ``chi_soft`` of the penalty
        paths, NaN when not computed), ``train_acc``, ``val_acc``; and ``seconds``.

    Raises
    ------
    ValidationError
        Negative ``lam``, bad counts or ``seed``, mismatched ``X``/``y``, labels that
        are not integers in ``0..k - 1``.
    ShapeError
        ``X`` (or ``X_val``) of a shape the model cannot take.

    Examples
    --------
    >>> import numpy as np
    >>> from polyfold.regularization import torch_mlp, train_with_folding
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, (64, 2)); y = (X[:, 0] * X[:, 1] > 0).astype(int)
    >>> model, hist = train_with_folding(torch_mlp("2x8", input_dim=2, n_classes=2), X, y,
    ...                                  lam=0.1, epochs=2, n_points=4)
    >>> len(hist["loss"]), hist["soft_chi"][0] >= 0
    (2, True)
    """
    from ._validation import check_int_seed, check_positive_int

    if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not np.isfinite(lam) or lam < 0:
        raise ValidationError(f"lam must be a finite number >= 0, got {lam!r}.")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    paths_per_batch = check_positive_int(paths_per_batch, "paths_per_batch")
    lr = _check_positive(lr, "lr")
    seed = check_int_seed(seed)
    Xt, yt = _training_arrays(X, y, "X", "y", model)
    if X_val is not None or y_val is not None:
        if X_val is None or y_val is None:
            raise ValidationError("X_val and y_val must be given together (or neither).")
        Xv, yv = _training_arrays(X_val, y_val, "X_val", "y_val", model)
    penalty = FoldingPenalty(model, n_points=n_points, tau=tau)
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    hist = {"loss": [], "soft_chi": [], "train_acc": [], "val_acc": []}
    n = len(Xt)
    t0 = time.perf_counter()
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(n, generator=gen)
        tot, chis = 0.0, []
        for a in range(0, n, batch_size):
            idx = perm[a:a + batch_size]
            xb, yb = Xt[idx], yt[idx]
            loss = loss_fn(model(xb), yb)
            tot += float(loss.detach()) * len(idx)
            if lam > 0 or log_penalty:
                yn = yb.numpy()
                i = rng.integers(0, len(idx), 4 * paths_per_batch)
                j = rng.integers(0, len(idx), 4 * paths_per_batch)
                ok = yn[i] != yn[j]
                i, j = i[ok][:paths_per_batch], j[ok][:paths_per_batch]
                if len(i):
                    chi = penalty.chi(xb[i], xb[j])
                    chis.append(float(chi.mean().detach()))
                    if lam > 0:
                        loss = loss - lam * chi.mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        hist["loss"].append(tot / n)
        hist["soft_chi"].append(float(np.mean(chis)) if chis else float("nan"))
        hist["train_acc"].append(_accuracy(model, Xt, yt))
        hist["val_acc"].append(_accuracy(model, Xv, yv) if X_val is not None else None)
    hist["seconds"] = time.perf_counter() - t0
    model.eval()
    return model, hist


def train_digits(arch="6x10", *, lam=0.0, seed=0, epochs=30, **kwargs):
    """Train a torch MLP (``"DxW"``) or CNN (``"cnnD"``, ``"cnnDxC"``) on the digits.

    The fixed split of :func:`polyfold.datasets.load_digits_split`; MLPs see the 64
    pixels, CNNs the 1x8x8 image.  Keyword arguments go to
    :func:`train_with_folding`.

    Returns
    -------
    model : torch.nn.Module
    info : dict
        ``arch, lam, seed, epochs, train_acc, test_acc`` (of the torch model, float32),
        ``history`` and ``input_shape``.
    """
    from .datasets import load_digits_split

    Xtr, ytr, Xte, yte = load_digits_split()
    model, shape = _build(arch, seed)
    Xtr_, Xte_ = Xtr.reshape((-1,) + shape), Xte.reshape((-1,) + shape)
    model, hist = train_with_folding(model, Xtr_, ytr, lam=lam, epochs=epochs, seed=seed,
                                     X_val=Xte_, y_val=yte, **kwargs)
    info = {
        "arch": str(arch), "lam": float(lam), "seed": int(seed), "epochs": int(epochs),
        "train_acc": hist["train_acc"][-1], "test_acc": hist["val_acc"][-1],
        "history": hist, "input_shape": shape,
    }
    return model, info


def to_polyfold(model, input_shape=None):
    """The polyfold network of a trained torch model (:func:`polyfold.from_torch`).

    Dense MLPs become a :class:`~polyfold.PLNet`; CNNs (convolutions, batch norm
    folded, max pooling) a :class:`~polyfold.graph.PLGraph`, for which
    ``input_shape`` (e.g. ``(1, 8, 8)``) is needed.
    """
    from .convert import from_torch

    was = model.training
    model.eval()
    try:
        return from_torch(model, input_shape=input_shape)
    finally:
        model.train(was)


def _exact_folding(net, X, y, *, paths_per_pair, seed, mode):
    from .folding import class_pair_folding

    return class_pair_folding(net, X, y, paths_per_pair=paths_per_pair, seed=seed, mode=mode)


def regularization_row(arch="6x10", lam=0.0, seed=0, *, epochs=30, paths_per_pair=100,
                       mode="certified", fold_seed=0, **kwargs):
    """One row of the regulariser experiment: train, then exact folding by polyfold.

    Trains ``arch`` on the digits with ``L = CE + lam * L_fold``
    (:func:`train_digits`, seed ``seed``), converts it to a polyfold network and
    computes the exact class-pair folding of the test split
    (:func:`polyfold.folding.class_pair_folding`, ``paths_per_pair`` paths per
    ordered pair drawn with ``fold_seed``, certified mode).

    Returns
    -------
    dict
        ``arch, lam, seed, test_acc, train_acc`` (of the polyfold network),
        ``phi`` (``Phi_N`` of all class-pair paths), ``pair_max_median`` and
        ``path_prefix_max_median`` (the two readings), ``fraction_flat``,
        ``mean_chi``, ``soft_chi_last`` (mean ``chi_soft`` of the last epoch's
        penalty paths), ``train_seconds``, ``fold_seconds``, ``n_recomputed`` and
        the settings (``epochs``, ``paths_per_pair``, ``tau``, ``n_points``, ``lr``,
        ``batch_size``, ``paths_per_batch``, ``torch_threads``, ``torch_version``).

    Notes
    -----
    The same arguments give the same row for a fixed ``torch.get_num_threads()``
    (recorded): the seed fixes the initial weights, the batches and the penalty
    paths, and the exact folding is deterministic.
    """
    from .datasets import load_digits_split

    settings = {"tau": 0.1, "n_points": 16, "lr": 1e-2, "batch_size": 32, "paths_per_batch": 16}
    settings.update(kwargs)
    model, info = train_digits(arch, lam=lam, seed=seed, epochs=epochs, log_penalty=True, **settings)
    net = to_polyfold(model, info["input_shape"])
    Xtr, ytr, Xte, yte = load_digits_split()
    t0 = time.perf_counter()
    res = _exact_folding(net, Xte, yte, paths_per_pair=paths_per_pair, seed=fold_seed, mode=mode)
    fold_s = time.perf_counter() - t0
    return {
        "arch": str(arch), "lam": float(lam), "seed": int(seed),
        "test_acc": float(np.mean(net.predict(Xte) == yte)),
        "train_acc": float(np.mean(net.predict(Xtr) == ytr)),
        "phi": float(res.chi_summary.phi),
        "pair_max_median": float(res.pair_max_median),
        "path_prefix_max_median": float(res.path_prefix_max_median),
        "fraction_flat": float(res.fraction_flat),
        "mean_chi": float(res.chi_summary.mean),
        "soft_chi_last": info["history"]["soft_chi"][-1],
        "torch_test_acc": info["test_acc"],
        "train_seconds": info["history"]["seconds"],
        "fold_seconds": fold_s,
        "n_recomputed": int(res.n_recomputed),
        "epochs": int(epochs), "paths_per_pair": int(paths_per_pair), "fold_seed": int(fold_seed),
        "mode": mode, **settings,
        "torch_threads": int(torch.get_num_threads()), "torch_version": torch.__version__,
    }


# ---------------------------------------------------------------------------
# validation of the surrogate
# ---------------------------------------------------------------------------
def surrogate_validation(model, X, y, *, n_paths=500, taus=(0.03, 0.1, 0.3),
                         n_points=(8, 16, 32, 64), seed=0, mode="certified", input_shape=None):
    """Rank correlation of ``chi_soft`` with the exact ``chi`` on held-out paths.

    Parameters
    ----------
    model : torch.nn.Module
        A trained model (converted with :func:`to_polyfold` for the exact values).
    X : (n, d) float
        Held-out points (flat; reshaped to ``input_shape`` for the torch model).
    y : (n,) int
        Labels: paths run between points of different classes.
    n_paths : int
    taus, n_points : sequences
        Surrogate settings to evaluate (every combination).
    seed : int
    mode : str
        Of the exact folding.
    input_shape : tuple, optional
        Model input shape (default: flat).

    Returns
    -------
    dict
        ``rows``: per ``(tau, n_points)`` the Spearman and Kendall correlations with
        the exact ``chi`` over all paths, Spearman over the folded paths only
        (``spearman_folded``: exact ``chi > 0``), ``auc_folded`` (the probability that
        a random folded path has a larger soft value than a random flat one; ties
        count 1/2), the mean absolute difference and the mean soft value;
        ``n_paths``, ``exact_chi_mean``, ``fraction_flat_exact``.

    Notes
    -----
    Many exact values are 0 (flat paths), and tied values limit any rank
    correlation, hence the two extra scores: how well the surrogate orders the folded
    paths, and how well it separates folded from flat ones.

    Examples
    --------
    >>> import numpy as np
    >>> from polyfold.regularization import surrogate_validation, torch_mlp
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-1, 1, (40, 2)); y = np.arange(40) % 2
    >>> out = surrogate_validation(torch_mlp("3x8", input_dim=2, n_classes=2), X, y,
    ...                            n_paths=30, taus=(0.1,), n_points=(16,))
    >>> r = out["rows"][0]
    >>> r["tau"], r["n_points"], -1 <= r["spearman"] <= 1
    (0.1, 16, True)
    """
    from scipy.stats import kendalltau, mannwhitneyu, spearmanr

    from .experiments import error_path_indices
    from .folding import space_folding_batch

    net = to_polyfold(model, input_shape)
    X = np.asarray(X, dtype=np.float64)
    i, j = error_path_indices(np.asarray(y), n_paths, seed=seed)
    exact = space_folding_batch(net, X[i], X[j], mode=mode).chi
    shape = tuple(input_shape) if input_shape is not None else X.shape[1:]
    S = torch.as_tensor(X[i].reshape((-1,) + shape))
    E = torch.as_tensor(X[j].reshape((-1,) + shape))
    model = model.double()
    rows = []
    try:
        for tau in taus:
            for n in n_points:
                with torch.no_grad():
                    soft = FoldingPenalty(model, n_points=n, tau=tau).chi(S, E).numpy()
                rho = spearmanr(soft, exact).statistic
                kt = kendalltau(soft, exact).statistic
                folded = exact > 0
                rho_f = auc = np.nan
                if folded.sum() > 2:
                    rho_f = spearmanr(soft[folded], exact[folded]).statistic
                if folded.any() and (~folded).any():
                    u = mannwhitneyu(soft[folded], soft[~folded]).statistic
                    auc = u / (folded.sum() * (~folded).sum())
                rows.append({
                    "tau": float(tau), "n_points": int(n),
                    "spearman": float(rho) if np.isfinite(rho) else None,
                    "kendall": float(kt) if np.isfinite(kt) else None,
                    "spearman_folded": float(rho_f) if np.isfinite(rho_f) else None,
                    "auc_folded": float(auc) if np.isfinite(auc) else None,
                    "mean_abs_difference": float(np.mean(np.abs(soft - exact))),
                    "soft_chi_mean": float(np.mean(soft)),
                })
    finally:
        model.float()
    return {"rows": rows, "n_paths": int(n_paths), "exact_chi_mean": float(np.mean(exact)),
            "fraction_flat_exact": float(np.mean(exact == 0))}
