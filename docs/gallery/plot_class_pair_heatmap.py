"""Class-pair folding heat map

Maximum of the exact folding measure chi over 30 random paths per ordered pair of
digit classes (row: start class, column: end class) for the 6x10 digits MLP.
"""
import sys
from pathlib import Path

import matplotlib.pyplot as plt

import polyfold
from polyfold.datasets import load_digits_split
from polyfold.folding import class_pair_folding
from polyfold.plotting import paper_style, plot_class_pair_heatmap, save_figure

_, _, X, y = load_digits_split()
net = polyfold.zoo.digits_mlp("6x10")
res = class_pair_folding(net, X, y, paths_per_pair=30, seed=0)

with paper_style():
    fig, ax = plt.subplots(figsize=(3.6, 3.0))
    plot_class_pair_heatmap(res, ax=ax)
    ax.set_title("digits 6x10: max chi per class pair")

if __name__ == "__main__":
    save_figure(fig, sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "_generated",
                "class_pair_heatmap")
