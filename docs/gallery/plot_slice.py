"""A 2D slice through three test images

The exact linear regions of the 6x10 digits MLP on the plane through three test
images (at (0, 0), (1, 0) and (0, 1) in slice coordinates, labelled with their
classes in every panel).  Left: regions coloured so that neighbours differ
(greedy colouring of the region graph).  Middle: the class each region predicts.
Right: the hidden layer whose neurons split the region last (discrete colour
bar, 0 = first hidden layer).  The decision boundary is drawn in bold throughout.
"""

import sys
from pathlib import Path

import numpy as np

import polyfold
from polyfold.datasets import load_digits_split
from polyfold.plotting import paper_style, save_figure, slice_figure

_, _, X, y = load_digits_split()
idx = [int(np.nonzero(y == c)[0][0]) for c in (0, 3, 8)]
x1, x2, x3 = X[idx]
net = polyfold.zoo.digits_mlp("6x10")
cx = polyfold.slice_through(net, x1, x2, x3, margin=0.25)

with paper_style():
    fig, axes = slice_figure(cx, point_labels=[int(c) for c in y[idx]])

if __name__ == "__main__":
    save_figure(fig, sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "_generated",
                "slice")
