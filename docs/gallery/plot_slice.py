"""A 2D slice through three test images

The exact linear regions of the 6x10 digits MLP on the plane through three test
images (at (0, 0), (1, 0) and (0, 1) in slice coordinates).  Left: regions
coloured so that neighbours differ (greedy colouring of the region graph),
decision boundary in bold, the images marked with their labels.  Middle: the
region (dual) graph.  Right: regions coloured by the layer whose neurons split
them last.
"""
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import polyfold
from polyfold.datasets import load_digits_split
from polyfold.plotting import paper_style, plot_region_graph, plot_slice, save_figure

_, _, X, y = load_digits_split()
idx = [int(np.nonzero(y == c)[0][0]) for c in (0, 3, 8)]
x1, x2, x3 = X[idx]
net = polyfold.zoo.digits_mlp("6x10")
cx = polyfold.slice_through(net, x1, x2, x3, margin=0.25)
points = [[0, 0], [1, 0], [0, 1]]

with paper_style():
    fig, axes = plt.subplots(1, 3, figsize=(7.0, 2.6))
    plot_slice(cx, ax=axes[0], points=points, point_labels=y[idx])
    axes[0].set_title(f"{cx.n_regions} regions")
    plot_slice(cx, ax=axes[1], boundary=False, alpha=0.25)
    plot_region_graph(cx, ax=axes[1], node_size=1.5)
    axes[1].set_title(f"{cx.graph.number_of_edges()} adjacencies")
    plot_slice(cx, ax=axes[2], color_by="layer", points=points)
    axes[2].set_title("layer of the last split")
    fig.tight_layout()

if __name__ == "__main__":
    save_figure(fig, sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "_generated",
                "slice")
