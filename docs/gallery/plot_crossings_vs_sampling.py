"""Exact crossings vs grid sampling

Share of the linear regions crossed by segments between random pairs of test
digits that an n-point grid never visits (left), and the time of the grid
relative to the exact computation (right), for the six digits MLPs.
"""
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import polyfold
from polyfold.datasets import load_digits_split
from polyfold.demo import compare_with_sampling
from polyfold.plotting import paper_style, plot_sampling_comparison, save_figure
from polyfold.training import DIGITS_ARCHITECTURES

_, _, X, _ = load_digits_split()
rng = np.random.default_rng(0)
i = rng.integers(0, len(X), 300)
j = (i + rng.integers(1, len(X), 300)) % len(X)
rows = []
for arch in DIGITS_ARCHITECTURES:
    net = polyfold.zoo.digits_mlp(arch)
    _, summary = compare_with_sampling(net, X[i], X[j], grid=(11, 100, 1000))
    rows.append({"net": arch, **summary})

with paper_style():
    fig, axes = plt.subplots(1, 2, figsize=(6.8, 2.5))
    plot_sampling_comparison(rows, ax=axes[0])
    plot_sampling_comparison(rows, ax=axes[1], quantity="ratio")
    axes[1].get_legend().remove()
    fig.tight_layout()

if __name__ == "__main__":
    save_figure(fig, sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "_generated",
                "crossings_vs_sampling")
