"""Reconstruction of the input of an injective ReLU layer.

:func:`reconstruct` recovers ``x`` from ``y = C_alpha(x)`` with a dual frame of
the active rows or with the iterative ReLU frame algorithm.  Part of
:mod:`polyfold.injectivity`, which re-exports the public names.
"""

import math

import numpy as np

from .._validation import as_float_array, check_choice, check_positive_int
from ..exceptions import (
    NonFiniteError,
    NotInjectiveError,
    ShapeError,
    SolverError,
    ValidationError,
)
from ..tolerance import get_tol
from ._exact import _RankCache
from .layers import _power_of_two_rows, _resolve


# ---------------------------------------------------------------------------
# reconstruction
# ---------------------------------------------------------------------------
def reconstruct(W, y, *, alpha=None, bias=None, method="dual", max_iter=20_000, tol=None):
    """Recover ``x`` from ``y = ReLU(W x - alpha)``.

    Parameters
    ----------
    W : (m, n) float, ``(net, layer)`` or torch ``nn.Linear``
    y : (k, m) or (m,) float
        Layer outputs (non-negative).
    alpha, bias : (m,) float or scalar
        The bias, exactly one convention (optional for a layer object).
    method : {"dual", "frame_algorithm"}
        ``"dual"``: ``x = W_I^+ (y_I + alpha_I)`` on the active rows (canonical dual
        frame, least squares).  ``"frame_algorithm"``: the iterative ReLU frame
        algorithm of the spec (section 5).
    max_iter : int
        Iteration limit of the frame algorithm (it stops earlier once the update is
        at rounding level).
    tol : Tolerance, optional
        ``tol.rank``: relative singular-value cutoff of the span test.

    Returns
    -------
    (k, n) or (n,) float

    Raises
    ------
    NotInjectiveError
        If some output has more than one preimage: its rows ``{i : y_i > 0}`` do not
        span R^n and the rows with ``y_i = 0`` do not pin ``x`` down (or ``y`` is no
        exact output of the layer).
    ValidationError
        Negative outputs, bad options.
    NonFiniteError
        ``x`` would exceed float64 (outputs or biases vastly larger than the weights).
    SolverError
        The frame algorithm did not converge within ``max_iter`` iterations.

    Notes
    -----
    Only the rows with ``y_i > 0`` are known to be active from ``y`` alone (a row
    exactly at its threshold also outputs 0); for them ``y_i + alpha_i = <x, phi_i>``.
    If they span, ``x`` is determined.  If they do not, ``x`` can still be the only
    preimage when rows exactly at their thresholds pin it down (``x = 0`` with
    ``alpha = 0`` for an omnidirectional frame: ``W x <= 0`` forces ``x = 0``); the
    preimage polyhedron ``{W_pos x = y_pos + alpha_pos, W_zero x <= alpha_zero}`` is
    then tested for being one point (two HiGHS LPs) and ``x = W_J^+ (y_J + alpha_J)``
    on the rows ``J`` at or above threshold there, with either method.  The frame algorithm uses
    ``lambda = 2 / (A + B)`` with ``A, B`` the extreme eigenvalues of ``W^T W``,
    starts at 0 and iterates ``x <- x + lambda W_Ia^T (y_Ia + alpha_Ia - W_Ia x) +
    lambda W_Iy^T (alpha_Iy - (W x)_Iy)`` where ``I_y`` are the rows the iterate
    wrongly activates.  It converges linearly at rate ``1 - lambda A_I`` (``A_I``
    the lower frame bound of the active rows).

    Both methods work on the rows ``(phi_i, alpha_i, y_i)`` scaled together by the
    power of two that brings ``phi_i``'s largest entry into [1/2, 1) (exact): ``x``
    does not change under positive row scaling, so rows of 1e300 and 1e-300 side
    by side give the unscaled ``x``; for inconsistent (noisy) ``y`` the least
    squares and the iteration use these rescaled rows.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0], [1.0, -1.0]])
    >>> y = np.maximum(W @ [0.3, 0.2] - (-0.5), 0)
    >>> np.round(reconstruct(W, y, alpha=-0.5), 12).tolist()
    [0.3, 0.2]
    >>> np.round(reconstruct(W, y, alpha=-0.5, method="frame_algorithm"), 10).tolist()
    [0.3, 0.2]
    """
    tol = get_tol(tol)
    Wm, a = _resolve(W, alpha, bias)
    check_choice("method", method, ("dual", "frame_algorithm"))
    max_iter = check_positive_int(max_iter, "max_iter")
    m, n = Wm.shape
    Y = as_float_array(y, "y")
    single = Y.ndim == 1
    if single:
        Y = Y.reshape(1, -1)
    if Y.ndim != 2 or Y.shape[1] != m:
        raise ShapeError(
            f"Expected y of shape (k, {m}) or ({m},) to match W with {m} rows, got {np.shape(y)}."
        )
    if np.any(Y < 0):
        k = tuple(int(i) for i in np.argwhere(Y < 0)[0])
        raise ValidationError(
            f"y must be a ReLU output (>= 0), got y{list(k)} = {Y[k]!r}; pass "
            "ReLU(W x - alpha), not the preactivation."
        )
    act = Y > 0
    # rows (W_i, alpha_i, y_i) scaled together by a power of two (exact): x is the same
    # for every positive row scaling, and rows near 1e300 or 1e-300 no longer overflow or
    # vanish in the rank test, the least squares and W^T W
    Wm, a, e = _power_of_two_rows(Wm, a)
    with np.errstate(over="ignore", under="ignore"):
        Y = np.ldexp(Y, -e[None, :])
        a_over = not np.all(np.isfinite(a))
    if a_over or not np.all(np.isfinite(Y)):
        bad = np.flatnonzero(~np.isfinite(a)) if a_over else \
            np.flatnonzero(~np.all(np.isfinite(Y), axis=0))
        i = int(bad[0])
        raise NonFiniteError(
            f"row {i}: {'alpha' if a_over else 'y'}[{i}] is more than 1.8e308 times the "
            f"largest entry of W[{i}], so <x, phi_{i}> = y_{i} + alpha_{i} needs an x beyond "
            "float64; check the bias convention (alpha = -bias) and the scale of y."
        )
    rc = _RankCache(Wm, exact=False, tol=tol)
    keys, inverse = np.unique(act, axis=0, return_inverse=True)
    inverse = np.asarray(inverse).ravel()
    X = np.empty((len(Y), n))
    # outputs whose rows with y_i > 0 do not span: x may still be the only preimage (it
    # lies on thresholds whose rows pin it down, e.g. x = 0 with alpha = 0)
    pinned = np.zeros(len(Y), dtype=bool)
    for g, mask in enumerate(keys):
        r = rc.rank(mask)
        if r < n:
            for p in np.flatnonzero(inverse == g):
                x = _fiber_point(Wm, a, Y[p], mask, rc, tol)
                if x is None:
                    raise NotInjectiveError(
                        f"cannot reconstruct output {int(p)}: its {int(mask.sum())} active rows "
                        f"(y_i > 0) have rank {r} < n = {n} and the rows with y_i = 0 do not "
                        "pin x down, so other inputs give the same output (or y is no exact "
                        "output of the layer); the layer is not injective there (lower alpha / "
                        "raise the bias, or add rows)."
                    )
                X[p] = x
                pinned[p] = True
    if method == "dual":
        for g, mask in enumerate(keys):
            sel = (inverse == g) & ~pinned
            if not sel.any():
                continue
            rhs = (Y[sel][:, mask] + a[mask]).T
            sol, *_ = np.linalg.lstsq(Wm[mask], rhs, rcond=None)
            X[sel] = sol.T
    else:
        ev = np.linalg.eigvalsh(Wm.T @ Wm)
        lam = 2.0 / (ev[0] + ev[-1])
        Y, act = Y[~pinned], act[~pinned]
        x = np.zeros((len(Y), n))
        target = Y + a  # for active rows
        stop = 4 * np.finfo(np.float64).eps
        for _ in range(max_iter):
            Zx = x @ Wm.T
            wrong = (~act) & (Zx >= a)
            R = np.where(act, target - Zx, 0.0) + np.where(wrong, a - Zx, 0.0)
            step = lam * (R @ Wm)
            x = x + step
            if np.all(np.linalg.norm(step, axis=1) <= stop * (1 + np.linalg.norm(x, axis=1))):
                break
        else:
            res = np.abs(np.where(act, x @ Wm.T - target, 0.0)).max(initial=0.0)
            if res > math.sqrt(np.finfo(np.float64).eps) * (1 + np.abs(target).max(initial=0.0)):
                raise SolverError(
                    f"the ReLU frame algorithm did not converge in max_iter={max_iter} "
                    f"iterations (active-row residual {res:.2e}); raise max_iter= or use "
                    "method='dual'.")
        X[~pinned] = x
    if not np.all(np.isfinite(X)):
        raise NonFiniteError(
            "the reconstructed x overflows float64 (the outputs and biases are far larger "
            "than the weights); check the bias convention (alpha = -bias) and the scale of y."
        )
    return X[0] if single else X


def _fiber_point(W, a, y, pos, rc, tol):
    """The only preimage of the output ``y`` when its rows with ``y_i > 0`` do not span.

    The preimages form the polyhedron ``{x : W_pos x = y_pos + alpha_pos, W_zero x <=
    alpha_zero}``.  One LP finds a point of it; the point is unique iff the positive
    rows together with the threshold rows tight there span and no direction keeps the
    positive rows and lowers the tight ones (a second LP).  Then ``x = W_J^+ (y_J +
    alpha_J)`` on those rows ``J`` (the active set ``I(x)``, ``>=``).  Returns None
    when the fiber is empty (y is no exact output) or not a single point.
    """
    from scipy.optimize import linprog

    from .verdict import _fiber_direction

    n = W.shape[1]
    zero = ~pos
    if not zero.any():
        return None
    t_pos = y[pos] + a[pos]
    res = linprog(np.zeros(n), A_ub=W[zero], b_ub=a[zero],
                  A_eq=W[pos] if pos.any() else None, b_eq=t_pos if pos.any() else None,
                  bounds=[(None, None)] * n, method="highs")
    if res.status != 0:
        return None
    x = np.asarray(res.x)
    size = np.abs(W) @ np.abs(x) + np.abs(a)
    slack = a - W @ x
    tight = zero & (slack <= math.sqrt(np.finfo(np.float64).eps) * (1 + size))
    J = pos | tight
    if rc.rank(J) < n or _fiber_direction(W[pos], W[tight], tol) is not None:
        return None
    x, *_ = np.linalg.lstsq(W[J], np.where(pos, y + a, a)[J], rcond=None)
    # the point must reproduce y (up to rounding): else the fiber was misjudged
    z = W @ x - a
    err = math.sqrt(np.finfo(np.float64).eps) * (1 + np.abs(W) @ np.abs(x) + np.abs(a))
    if np.any(np.abs(np.where(pos, z - y, 0.0)) > err) or np.any(np.where(zero, z, 0.0) > err):
        return None
    return x
