"""Insphere and orthogonality histograms

Zhang & Wu's statistics of the linear regions around 10 test images for two
digits MLPs (regions clipped to the pixel box): insphere radius (left) and the
absolute cosine between the unit normals of every pair of facet hyperplanes of a
region (right; 0 is orthogonal).  ``benchmarks/bench_region_stats.py`` draws the
same histograms for training settings (optimisers, batch norm, dropout).
"""
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import polyfold
from polyfold.datasets import load_digits_split
from polyfold.statistics import region_statistics
from polyfold.plotting import paper_style, plot_histograms, save_figure

_, _, X, _ = load_digits_split()
idx = np.random.default_rng(0).choice(len(X), 10, replace=False)
stats = {arch: region_statistics(polyfold.zoo.digits_mlp(arch), X[idx], domain=(0, 1),
                                 neighbours=False)
         for arch in ("2x30", "6x10")}

with paper_style():
    fig, axes = plt.subplots(1, 2, figsize=(6.8, 2.5))
    plot_histograms(stats, quantity="radius", ax=axes[0])
    plot_histograms(stats, quantity="orthogonality", ax=axes[1])
    fig.tight_layout()

if __name__ == "__main__":
    save_figure(fig, sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "_generated",
                "region_statistics")
