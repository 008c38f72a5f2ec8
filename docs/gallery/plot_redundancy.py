"""Maximal bias against redundancy

Mean certified maximal bias ``alpha_hat`` (unit rows, unit sphere) of random
Gaussian ReLU layers with ``m = r n`` neurons on ``n`` inputs (8 layers per cell;
only omnidirectional layers have a certificate), and the share of layers that are
omnidirectional, i.e. can be injective at all with a bias of 0.
"""
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from polyfold.injectivity import maximal_bias, omnidirectionality
from polyfold.plotting import paper_style, plot_redundancy, save_figure

dims, reds, trials = (2, 3, 4), (1.5, 2, 3, 4, 6, 8), 8
rng = np.random.default_rng(0)
mean = np.full((len(dims), len(reds)), np.nan)
omni = np.zeros((len(dims), len(reds)))
for a, n in enumerate(dims):
    for b, r in enumerate(reds):
        vals = []
        for _ in range(trials):
            W = rng.standard_normal((int(round(r * n)), n))
            if omnidirectionality(W)[0] > 0:
                vals.append(maximal_bias(W).alpha_hat.mean())
        omni[a, b] = len(vals) / trials
        mean[a, b] = np.mean(vals) if vals else np.nan

with paper_style():
    fig, axes = plt.subplots(1, 2, figsize=(6.8, 2.4))
    plot_redundancy(mean, dims=dims, redundancies=reds, ax=axes[0], label=r"mean $\hat\alpha$",
                    title=r"mean certified $\hat\alpha$")
    plot_redundancy(omni, dims=dims, redundancies=reds, ax=axes[1], label="share",
                    vmin=0, vmax=1, title="omnidirectional layers")
    fig.tight_layout()

if __name__ == "__main__":
    save_figure(fig, sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "_generated",
                "redundancy")
