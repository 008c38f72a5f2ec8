"""Bias margin of a ReLU layer on data.

:func:`bias_margin` gives the largest uniform bias shift that keeps every data
point's active set spanning, as a :class:`BiasMargin`.  Part of
:mod:`polyfold.injectivity`, which re-exports the public names.
"""

from dataclasses import dataclass

import numpy as np

from .._validation import check_positive_int
from ..exceptions import NonFiniteError, ValidationError
from ..tolerance import get_tol
from .layers import _check_X, _power_of_two_rows, _readonly, _resolve
from .._repr import summary_repr


# ---------------------------------------------------------------------------
# bias margin on data
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class BiasMargin:
    """Result of :func:`bias_margin`.

    Attributes
    ----------
    margin : float
        ``min`` over the points of ``per_point``: the largest uniform shift
        ``delta`` (``alpha -> alpha + delta``, i.e. ``b -> b - delta``) for which every
        point keeps an active set of rank ``target_rank``.  Negative: the
        thresholds must come down by ``-margin`` before every point reaches it.
    per_point : (k,) float
        ``max {delta : rank W_{I_delta(x)} = target_rank}`` with
        ``I_delta(x) = {i : <x, phi_i> - alpha_i >= delta}``.
    target_rank : int
        ``n`` by default when ``rank W = n`` (the rectifying condition); otherwise
        ``rank W``.
    n_below : int
        Points already below the target at ``delta = 0`` (``per_point < 0``).
    """

    __repr__ = summary_repr

    margin: float
    per_point: np.ndarray
    target_rank: int
    n_below: int

    def to_pandas(self):
        """One row per point (needs pandas).

        Columns: ``point`` (index) and ``margin`` (its ``per_point`` value).

        Examples
        --------
        >>> import numpy as np
        >>> W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
        >>> bias_margin(W, [[1.0, 2.0], [3.0, 0.5]], alpha=0).to_pandas()["margin"].tolist()
        [1.0, 0.5]
        """
        from .._tables import to_dataframe

        per = np.asarray(self.per_point, dtype=np.float64)
        return to_dataframe({"point": np.arange(len(per), dtype=np.int64), "margin": per},
                            "BiasMargin")


def bias_margin(W, points, *, alpha=None, bias=None, target_rank=None, tol=None):
    """Largest uniform bias shift that keeps every data point's active set spanning.

    Parameters
    ----------
    W : (m, n) float, ``(net, layer)`` or torch ``nn.Linear``
    points : (k, n) float
    alpha, bias : (m,) float or scalar
        The current bias, exactly one convention (optional for a layer object).
    target_rank : int, optional
        Rank the active rows must keep; default ``rank W`` (= n for a layer that
        can be injective).  For ``m < n`` no layer is injective and the default
        asks for all of ``rank W``, i.e. every neuron active.
    tol : Tolerance, optional
        ``tol.rank`` (relative) for the float rank of growing row sets.

    Returns
    -------
    BiasMargin

    Raises
    ------
    ValidationError
        No points; ``target_rank`` above ``rank W``.
    NonFiniteError
        A preactivation ``<x, phi_i> - alpha_i`` exceeds float64.

    Notes
    -----
    For a point ``x`` let ``z_i = <x, phi_i> - alpha_i`` sorted decreasingly and
    ``k`` the smallest count of leading rows whose rank is ``target_rank``; then
    ``delta_x = z_(k)``.  Raising every threshold by ``delta <= delta_x`` keeps the
    leading ``k`` rows active; any ``delta > delta_x`` drops below the target.
    The margin is ``min_x delta_x``.  Float rank (Gram-Schmidt with relative
    cutoff ``tol.rank``) on the rows scaled by powers of two (exact; ranks do not
    see row scales, so rows of 1e300 and 1e-300 side by side are handled).  The
    margin itself is a shift of the preactivations and scales with them.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    >>> bm = bias_margin(W, [[1.0, 2.0], [3.0, 0.5]], alpha=0)
    >>> bm.per_point.tolist(), bm.margin, bm.target_rank     # second-largest z per point
    ([1.0, 0.5], 0.5, 2)
    """
    tol = get_tol(tol)
    Wm, a = _resolve(W, alpha, bias)
    X, _ = _check_X(points, Wm.shape[1], "points")
    if len(X) == 0:
        raise ValidationError(
            "points is empty: the margin is a minimum over the points; pass at least one point.")
    m, n = Wm.shape
    # ranks on rows scaled by powers of two (exact; a rank does not see row scales), so
    # rows near 1e300 or 1e-300 neither overflow nor count as zero next to the others
    Ws, _, _ = _power_of_two_rows(Wm)
    full = int(np.linalg.matrix_rank(Ws))
    if target_rank is None:
        target = full
    else:
        target = check_positive_int(target_rank, "target_rank")
        if target > full:
            raise ValidationError(
                f"target_rank={target} exceeds rank W = {full}; no bias reaches it.")
    with np.errstate(over="ignore", invalid="ignore"):
        Z = X @ Wm.T - a
    if not np.all(np.isfinite(Z)):
        k, i = (int(v) for v in np.argwhere(~np.isfinite(Z))[0])
        raise NonFiniteError(
            f"the preactivation <x, phi_{i}> - alpha_{i} of point {k} overflows float64; "
            "the margin is a shift of these values, so scale W, the bias and the points "
            "into float range first."
        )
    order = np.argsort(-Z, axis=1, kind="stable")
    per = np.empty(len(X))
    for p in range(len(X)):
        basis = []
        for i in order[p]:
            r = Ws[i].copy()
            for q in basis:
                r -= (q @ r) * q
            nr = np.linalg.norm(r)
            if nr > tol.rank * max(np.linalg.norm(Ws[i]), 1e-300):
                basis.append(r / nr)
                if len(basis) == target:
                    per[p] = Z[p, i]
                    break
        else:  # the SVD rank and this elimination disagree (nearly dependent rows):
            per[p] = Z[p, order[p][-1]]  # every row active reaches rank W
    return BiasMargin(
        margin=float(per.min()),
        per_point=_readonly(per),
        target_rank=target,
        n_below=int(np.sum(per < 0)),
    )
