"""Insphere and orthogonality statistics

Zhang & Wu's statistics of the linear regions around 25 test images for two
digits MLPs (regions clipped to the pixel box): insphere radius, the mean
absolute cosine between the unit normals of the region's facet hyperplanes (0 is
orthogonal) and the number of neuron facets.  One dot per test image, boxes at
the quartiles.  ``benchmarks/bench_region_stats.py`` compares training settings
(optimisers, batch norm, dropout) over several seeds.
"""

import sys
from pathlib import Path

import numpy as np

import polyfold
from polyfold.datasets import load_digits_split
from polyfold.plotting import paper_style, region_statistics_figure, save_figure
from polyfold.statistics import region_statistics

_, _, X, _ = load_digits_split()
idx = np.random.default_rng(0).choice(len(X), 25, replace=False)
stats = {arch: region_statistics(polyfold.zoo.digits_mlp(arch), X[idx], domain=(0, 1),
                                 neighbours=False, progress=False)
         for arch in ("2x30", "6x10")}

with paper_style():
    fig, axes = region_statistics_figure(stats, quantities=("radius", "cos_mean", "n_facets"))

if __name__ == "__main__":
    save_figure(fig, sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "_generated",
                "region_statistics")
