"""A 3D cell complex and its decision boundary surface

Left: the complex of a hand-built ReLU net whose positive set is the thick ring
``{1 <= |x1| + |x2| <= 2, |x3| <= 1}`` on the box ``[-3, 3]^3`` (grey: the complex's edges;
blue: the decision boundary, a torus with Betti numbers (1, 2, 1) over GF(2)).
Right: the decision boundary of a random 3-16-16-1 ReLU MLP on [-1, 1]^3.
"""
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import polyfold
from polyfold.complexes.plot import plot_complex_3d
from polyfold.plotting import paper_style, save_figure

A = np.array([[1.0, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]])
g, h = np.array([1.0, 1, 1, 1, 0, 0]), np.array([0.0, 0, 0, 0, 1, 1])
m1, t = np.array([1.0, -1, 0]), np.array([0.0, 0, -1])
ring = polyfold.PLNet.from_arrays([
    (A, np.zeros(6)),
    (np.stack([g, 2 * g, h]), np.array([0.0, -3, 0])),
    (np.stack([m1 - t, m1, -m1]), np.array([-2.0, -1, 1])),
    (np.array([[-1.0, 1, -1]]), np.zeros(1)),
])
rx = polyfold.box_complex(ring, -3.0, 3.0)
net = polyfold.zoo.random_mlp([16, 16], 3, 1, seed=3)
cx = polyfold.box_complex(net, -1.0, 1.0)

with paper_style():
    fig = plt.figure(figsize=(7.0, 3.4))
    ax1 = fig.add_subplot(1, 2, 1, projection="3d")
    plot_complex_3d(rx, ax=ax1, surface_color="#0072B2", alpha=0.75, linewidth=0.25, elev=50, azim=-80)
    ax1.set_title(f"ring: {rx.n_regions} regions, boundary b = {rx.betti_numbers('boundary')}")
    ax2 = fig.add_subplot(1, 2, 2, projection="3d")
    plot_complex_3d(cx, ax=ax2, edges=False, surface_color="#E69F00", alpha=0.85, elev=25, azim=-50)
    ax2.set_title(f"3-16-16-1 MLP: {cx.n_regions} regions, {len(cx.decision_boundary)} boundary cells")
    fig.tight_layout()

if __name__ == "__main__":
    save_figure(fig, sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "_generated",
                "complex_3d")
