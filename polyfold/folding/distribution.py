"""Global folding: ``Phi_N`` and the distribution of many folding values.

:func:`global_folding` summarises folding measures of many paths (their mean
``Phi_N``, maximum and quantiles at :data:`QUANTILE_LEVELS`) as a
:class:`GlobalFolding`; the helpers that build it from a multiset of values are
shared with the class-pair aggregation.  Part of :mod:`polyfold.folding`, which
re-exports the public names.
"""

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from ..exceptions import ShapeError, ValidationError
from .paths import SpaceFolding, SpaceFoldingBatch
from .walks import FoldingMeasure, FoldingMeasureBatch


#: quantile levels reported by :func:`global_folding`
QUANTILE_LEVELS = (0.1, 0.25, 0.5, 0.75, 0.9)


# ---------------------------------------------------------------------------
# global folding
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GlobalFolding:
    """Distribution of folding values over a family of paths.

    Attributes
    ----------
    phi : float
        ``Phi_N``: the median of the non-zero values (0.0 when all are zero).
    n : int
        Number of values.
    n_nonzero : int
    fraction_flat : float
        Share of values equal to 0.
    mean : float
        Mean of all values (zeros included).
    mean_nonzero : float
        Mean of the non-zero values (0.0 when there are none).
    max : float
    quantiles : dict
        ``{q: value}`` over all values (zeros included), ``q`` in
        :data:`QUANTILE_LEVELS`, numpy's linear interpolation.
    quantiles_nonzero : dict
        The same over the non-zero values (empty when there are none).
    """

    phi: float
    n: int
    n_nonzero: int
    fraction_flat: float
    mean: float
    mean_nonzero: float
    max: float
    quantiles: dict
    quantiles_nonzero: dict

    def as_dict(self):
        """Plain dict (JSON friendly)."""
        return {
            "phi": self.phi,
            "n": self.n,
            "n_nonzero": self.n_nonzero,
            "fraction_flat": self.fraction_flat,
            "mean": self.mean,
            "mean_nonzero": self.mean_nonzero,
            "max": self.max,
            "quantiles": {str(k): v for k, v in self.quantiles.items()},
            "quantiles_nonzero": {str(k): v for k, v in self.quantiles_nonzero.items()},
        }


def _quantile_counts(vals, counts, q):
    """numpy's linear-interpolation quantile of a multiset given as sorted distinct
    values with counts."""
    n = int(counts.sum())
    cum = np.cumsum(counts)
    h = (n - 1) * q
    lo = int(np.floor(h))
    hi = min(lo + 1, n - 1)
    vlo = vals[np.searchsorted(cum, lo, side="right")]
    vhi = vals[np.searchsorted(cum, hi, side="right")]
    return float(vlo + (h - lo) * (vhi - vlo))


def fraction_counts(r1, r2):
    """``{(num, den): count}`` of the reduced fractions ``1 - r1 / r2`` (0 when ``r2 == 0``).

    The exact, mergeable form of many chi values: memory grows with the number of
    distinct values (denominators are walk lengths), not with the number of paths.
    """
    r1 = np.asarray(r1, np.int64)
    r2 = np.asarray(r2, np.int64)
    num = np.where(r2 > 0, r2 - r1, 0)
    den = np.where(r2 > 0, r2, 1)
    g = np.gcd(num, den)
    g[g == 0] = 1
    num, den = num // g, den // g
    shift = np.int64(1) << np.int64(32)
    k, c = np.unique(num * shift + den, return_counts=True)
    return {(int(a // shift), int(a % shift)): int(b) for a, b in zip(k.tolist(), c.tolist())}


def _global_from_counts(vals, counts):
    """GlobalFolding of a multiset (sorted distinct float values, counts)."""
    vals = np.asarray(vals, dtype=np.float64)
    counts = np.asarray(counts, dtype=np.int64)
    n = int(counts.sum())
    nz = vals > 0
    vz, cz = vals[nz], counts[nz]
    n_nz = int(cz.sum())
    qs = {q: _quantile_counts(vals, counts, q) for q in QUANTILE_LEVELS}
    qz = {q: _quantile_counts(vz, cz, q) for q in QUANTILE_LEVELS} if n_nz else {}
    return GlobalFolding(
        phi=_quantile_counts(vz, cz, 0.5) if n_nz else 0.0,
        n=n,
        n_nonzero=n_nz,
        fraction_flat=(n - n_nz) / n,
        mean=float(np.dot(vals, counts) / n),
        mean_nonzero=float(np.dot(vz, cz) / n_nz) if n_nz else 0.0,
        max=float(vals.max()),
        quantiles=qs,
        quantiles_nonzero=qz,
    )


def global_folding(values):
    """Global folding ``Phi_N`` of a network over a family of paths.

    Parameters
    ----------
    values : (n,) array_like of float or Fraction, a FoldingMeasureBatch, a
        SpaceFoldingBatch or a sequence of FoldingMeasure / SpaceFolding (mixed
        with numbers or not)
        Folding values in ``[0, 1)``, one per path.

    Returns
    -------
    GlobalFolding
        ``phi`` = median of the non-zero values, with the fraction of flat paths,
        means, quantiles and maximum (the papers' wording leaves open which summary
        is meant, so all are reported).

    Raises
    ------
    ShapeError
        No values.
    ValidationError
        Values outside ``[0, 1)`` or not finite.

    Examples
    --------
    >>> from polyfold.folding import global_folding
    >>> g = global_folding([0.0, 0.5, 0.25, 0.0, 0.75])
    >>> g.phi, g.fraction_flat, g.max
    (0.5, 0.4, 0.75)
    """
    if isinstance(values, (FoldingMeasureBatch, SpaceFoldingBatch)):
        values = values.chi
    elif isinstance(values, (list, tuple)):
        # measures of single walks or paths (in any mix with numbers) give their chi
        values = [
            float(v.chi) if isinstance(v, (FoldingMeasure, SpaceFolding))
            else float(v) if isinstance(v, Fraction) else v
            for v in values
        ]
    from .._validation import as_float_array

    v = as_float_array(values, "values").ravel()
    if v.size == 0:
        raise ShapeError("values is empty; pass at least one folding value.")
    if np.any(v < 0) or np.any(v >= 1):
        raise ValidationError(
            f"values must lie in [0, 1) (folding measures), got min {v.min()!r} and max "
            f"{v.max()!r}; pass chi values, not r1/r2 counts."
        )
    vals, counts = np.unique(v, return_counts=True)
    return _global_from_counts(vals, counts)
