"""Space folding measures on exact region walks.

A straight path ``gamma(t) = (1 - t) x1 + t x2`` visits a sequence of activation
patterns ``Gamma = (pi_1, ..., pi_n)``.  The folding measure of Lewandowski et al.
compares how far the walk gets from its start in Hamming space with how far it
travels:

* ``r1 = max_i d_H(pi_1, pi_i)`` (range),
* ``r2 = sum_i d_H(pi_i, pi_{i+1})`` (Hamming length),
* ``chi = 1 - r1 / r2`` (``chi = 0`` when ``r2 = 0``).

``r1`` and ``r2`` are integers, so ``chi`` is a rational; polyfold returns it as a
:class:`fractions.Fraction`.  The walk itself comes from the exact segment partition
(:func:`polyfold.segment_crossings`), not from a grid of samples, so no region is
skipped.

Layout of this package (every public name is importable from
``polyfold.folding``):

* ``walks`` -- walk measures on given patterns: :func:`folding_measure`,
  :func:`prefix_curve`, :func:`interaction_effect`, :func:`symmetric_folding`,
  :func:`folding_bounds` and the vectorised :func:`folding_measure_batch`;
* ``distribution`` -- :func:`global_folding`: ``Phi_N`` and the distribution of
  many values;
* ``paths`` (on the private kernels of ``_kernels``) -- :func:`space_folding` /
  :func:`space_folding_batch`: the exact walk of a network along segments, with a
  choice of units and of equivalence classes;
* ``pairs`` -- :func:`class_pair_folding`: the class-pair aggregation of the MNIST
  experiment;
* ``sampled`` -- :func:`sampled_folding` / :func:`sampling_error`: the grid and
  bisection estimates the papers use, and their error against the exact value.

References
----------
.. [1] M. Lewandowski, H. Eghbalzadeh, B. Heinzl, R. Pisoni, B. A. Moser, "On Space
   Folds of ReLU Neural Networks", TMLR 2025, arXiv:2502.09954.
.. [2] B. A. Moser, B. Heinzl, M. Lewandowski, R. Pisoni, "The Space Between: On
   Folding, Symmetries and Sampling", arXiv:2503.08502, 2025.
"""

from .distribution import QUANTILE_LEVELS, GlobalFolding, global_folding
from .pairs import READINGS, ClassPairFolding, class_pair_folding
from .paths import SpaceFolding, SpaceFoldingBatch, space_folding, space_folding_batch
from .sampled import SampledFolding, SamplingError, sampled_folding, sampling_error
from .walks import (
    FoldingBounds,
    FoldingMeasure,
    FoldingMeasureBatch,
    PrefixCurve,
    folding_bounds,
    folding_measure,
    folding_measure_batch,
    interaction_effect,
    prefix_curve,
    symmetric_folding,
)

__all__ = [
    "FoldingMeasure",
    "FoldingMeasureBatch",
    "PrefixCurve",
    "FoldingBounds",
    "GlobalFolding",
    "SpaceFolding",
    "SpaceFoldingBatch",
    "ClassPairFolding",
    "SampledFolding",
    "SamplingError",
    "folding_measure",
    "folding_measure_batch",
    "prefix_curve",
    "interaction_effect",
    "symmetric_folding",
    "folding_bounds",
    "global_folding",
    "space_folding",
    "space_folding_batch",
    "class_pair_folding",
    "sampled_folding",
    "sampling_error",
]
