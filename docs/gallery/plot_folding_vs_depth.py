"""Folding against depth

Both readings of the class-pair statistic (median over pairs of the maximum chi;
median over paths of the maximum of the prefix curve) for the six digits MLPs
with 60 hidden neurons, with their test accuracy (dotted, right axis).  Ten
random paths per ordered class pair.
"""
import sys
from pathlib import Path

import matplotlib.pyplot as plt

import polyfold
from polyfold.datasets import load_digits_split
from polyfold.folding import class_pair_folding
from polyfold.plotting import paper_style, plot_folding_vs_depth, save_figure
from polyfold.training import DIGITS_ARCHITECTURES

_, _, X, y = load_digits_split()
rows = []
for arch in DIGITS_ARCHITECTURES:
    net, info = polyfold.zoo.digits_mlp(arch, return_info=True)
    res = class_pair_folding(net, X, y, paths_per_pair=10, seed=0)
    rows.append({"depth": len(net.widths), "label": arch,
                 "pair_max_median": res.pair_max_median,
                 "path_prefix_max_median": res.path_prefix_max_median,
                 "test_accuracy": info["test_accuracy"]})

with paper_style():
    fig, ax = plt.subplots(figsize=(3.6, 2.6))
    plot_folding_vs_depth(rows, ax=ax)

if __name__ == "__main__":
    save_figure(fig, sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "_generated",
                "folding_vs_depth")
