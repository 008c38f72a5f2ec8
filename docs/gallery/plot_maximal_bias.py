"""Maximal bias on the circle and the sphere

Each neuron of a ReLU layer ``ReLU(W x - alpha)`` drawn as its unit direction
``u_i`` (arrows) with the certified maximal bias as signed radius: the bias point
``alpha_hat_i u_i`` (dots) on the hyperplane ``<x, u_i> = alpha_hat_i`` (lines,
2D) beyond which the neuron is active.  Left: the regular heptagon
(``alpha_hat_i = cos(2 pi / 7)``).  Right: the 12 vertex directions of the
icosahedron (``alpha_hat_i = 1 / sqrt(5)``).
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
    fig = plt.figure(figsize=(6.4, 3.4))
    gs = fig.add_gridspec(1, 2, width_ratios=(1.0, 1.25), top=0.84, bottom=0.1, wspace=0.3)
    ax = fig.add_subplot(gs[0, 0])
    art = plot_maximal_bias(W2, maximal_bias(W2), ax=ax, legend=False)
    ax.set_title("heptagon")
    ax = fig.add_subplot(gs[0, 1], projection="3d")
    plot_maximal_bias(W3, maximal_bias(W3), ax=ax, legend=False)
    ax.set_title("icosahedron")
    fig.legend(handles=[art["directions"], art["hyperplanes"], art["biases"]],
               loc="upper center", ncol=3, fontsize="x-small")

if __name__ == "__main__":
    save_figure(fig, sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "_generated",
                "maximal_bias")
