"""Inspheres of polytopes and the Zhang & Wu statistics of regions around data.

* :func:`insphere` -- the largest ball inside ``{x : A x + c >= 0}`` (optionally
  clipped to a domain box): centre, radius and the slack of every constraint.
* :func:`inspheres` -- the same for many polytopes at once (a batch in, flat
  arrays plus offsets out).
* :func:`region_statistics` -- for every sample of a data set, the local
  properties of its linear region studied by Zhang & Wu (ICLR 2020): insphere
  radius, facet-defining hyperplanes and the orthogonality of their normals,
  decision boundaries inside the region, and the relevance of the neighbouring
  regions across each facet.

Definitions are given in the docstrings and in ``docs/statistics.rst``.

Layout of this package (every public name is importable from
``polyfold.statistics``, and from the top level ``polyfold``):

* ``chebyshev`` -- :func:`insphere`, :func:`inspheres` and their results
  :class:`Insphere`, :class:`InsphereBatch`;
* ``regions`` -- :func:`region_statistics` and its result
  :class:`RegionStatistics`, on the private helpers ``_neighbours`` (facets,
  orthogonality, neighbouring regions), ``_boundaries`` (decision boundaries),
  ``_geometry`` (least-distance programming, hyperplane bases) and ``_common``
  (domain boxes, progress bars).
"""

from ._geometry import _least_distance  # noqa: F401 (used by the tests)
from .chebyshev import Insphere, InsphereBatch, insphere, inspheres
from .regions import RegionStatistics, region_statistics

__all__ = [
    "Insphere",
    "InsphereBatch",
    "insphere",
    "inspheres",
    "RegionStatistics",
    "region_statistics",
]
