"""Folding walk on CantorNet

CantorNet A of depth 3 on the authors' path (0, 3/4) -> (1, 3/4): Hamming
distance of the exact activation pattern to the start pattern along the path
(top; thin grey lines are the exact breakpoints) and the prefix curve of the
folding measure chi (bottom), against the 11-point grid the published code uses
(dashed).
"""

import sys
from pathlib import Path

import polyfold
from polyfold.folding import space_folding
from polyfold.plotting import folding_walk_figure, paper_style, sample_walk, save_figure

net = polyfold.zoo.cantornet(3, "A")
x1, x2 = [0.0, 0.75], [1.0, 0.75]
walk = space_folding(net, x1, x2, mode="exact")
grid = sample_walk(net, x1, x2, 11)

with paper_style():
    fig, axes = folding_walk_figure(walk, sampled=grid,
                                    title=f"CantorNet A, k = 3: chi = {walk.chi}")

if __name__ == "__main__":
    save_figure(fig, sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "_generated",
                "folding_walk")
