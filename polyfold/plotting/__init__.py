"""Paper-ready figures of polyfold results (matplotlib).

Every plot function takes ``ax=None`` (a new figure is made when omitted), draws
on that axes only, returns the artists it drew and never calls ``plt.show()``.
Wrap figure code in :func:`paper_style` to get the paper look (font sizes, a
colour-blind-safe palette, vector-friendly output) without changing matplotlib's
global settings.

Figures
-------
* :func:`plot_sampling_comparison` -- regions missed by grid sampling vs exact crossings.
* :func:`plot_folding_walk` -- Hamming distance to the start along a segment, breakpoints,
  the prefix curve of chi, exact vs sampled overlay.
* :func:`plot_slice` -- a 2D slice partition: regions coloured so that neighbours
  differ (or by predicted class, or by the layer of the last split), region
  edges, decision boundary in bold, data points marked.
* :func:`plot_class_pair_heatmap`, :func:`plot_folding_vs_depth`.
* :func:`plot_maximal_bias` (circle / sphere), :func:`plot_redundancy`.
* :func:`plot_distributions` -- box plots with every value as a dot, per setting;
  :func:`plot_histograms` -- overlaid histograms for many values.
* Composed figures (the demo's): :func:`slice_figure`, :func:`folding_walk_figure`,
  :func:`maximal_bias_figure`, :func:`region_statistics_figure`.
* :func:`plot_complex_3d` -- the cells or the decision surface of a 3D complex
  (defined in :mod:`polyfold.complexes.plot`).

Layout of this package (every public name is importable from
``polyfold.plotting``): ``style`` (paper style, palette, saving), ``crossings``,
``folding``, ``slices``, ``injectivity`` and ``statistics`` (the figures of each
topic).
"""

from ..complexes.plot import plot_complex_3d
from .crossings import plot_sampling_comparison
from .folding import (
    folding_walk_figure,
    plot_class_pair_heatmap,
    plot_folding_vs_depth,
    plot_folding_walk,
    plot_prefix_curve,
    sample_walk,
)
from .injectivity import maximal_bias_figure, plot_maximal_bias, plot_redundancy
from .slices import last_split_layer, plot_region_graph, plot_slice, slice_colouring, slice_figure
from .statistics import plot_distributions, plot_histograms, region_statistics_figure
from .style import PALETTE, paper_style, save_figure

__all__ = [
    "PALETTE",
    "paper_style",
    "save_figure",
    "sample_walk",
    "plot_sampling_comparison",
    "plot_folding_walk",
    "plot_prefix_curve",
    "plot_class_pair_heatmap",
    "plot_folding_vs_depth",
    "plot_slice",
    "plot_region_graph",
    "slice_colouring",
    "last_split_layer",
    "plot_maximal_bias",
    "plot_redundancy",
    "plot_histograms",
    "plot_distributions",
    "slice_figure",
    "folding_walk_figure",
    "maximal_bias_figure",
    "region_statistics_figure",
    "plot_complex_3d",
]
