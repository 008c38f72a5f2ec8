"""Maximal bias on the circle and the sphere

Each neuron of a ReLU layer ``ReLU(W x - alpha)`` drawn as its unit direction
``u_i`` with the certified maximal bias as signed radius: the point
``alpha_hat_i u_i`` on the line ``<x, u_i> = alpha_hat_i`` beyond which the neuron
is active.  Left: the regular heptagon (``alpha_hat_i = cos(2 pi / 7)``).  Right:
the 12 vertex directions of the icosahedron (``alpha_hat_i = 1 / sqrt(5)``).
"""
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from polyfold.injectivity import maximal_bias
from polyfold.plotting import paper_style, plot_maximal_bias, save_figure

ang = 2 * np.pi * np.arange(7) / 7
W2 = np.column_stack([np.cos(ang), np.sin(ang)])
g = (1 + 5 ** 0.5) / 2
W3 = np.array([p for a in (-1, 1) for b in (-g, g) for p in ((0, a, b), (a, b, 0), (b, 0, a))],
              dtype=float)

with paper_style():
    fig = plt.figure(figsize=(6.0, 2.8))
    ax = fig.add_subplot(1, 2, 1)
    plot_maximal_bias(W2, maximal_bias(W2), ax=ax)
    ax.set_title("heptagon")
    ax = fig.add_subplot(1, 2, 2, projection="3d")
    plot_maximal_bias(W3, maximal_bias(W3), ax=ax)
    ax.set_title("icosahedron")

if __name__ == "__main__":
    save_figure(fig, sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "_generated",
                "maximal_bias")
