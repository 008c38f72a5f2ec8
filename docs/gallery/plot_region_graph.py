"""The region graph of a small slice

The adjacency (dual) graph of the regions of six lines in the plane (an
arrangement net): a node at each region's centroid, an edge for every pair of
regions sharing an edge of positive length, drawn over the partition.  Readable
for small complexes; for large ones (the digits slice above) count degrees or
export the graph (``cx.to_graphml``) instead.
"""

import sys
from pathlib import Path

import matplotlib.pyplot as plt

import polyfold
from polyfold.plotting import paper_style, plot_region_graph, plot_slice, save_figure

net = polyfold.zoo.arrangement(6, 2, seed=1)
cx = polyfold.slice_complex(net, [0, 0], [1, 0], [0, 1], bounds=(-3, 3, -3, 3))

with paper_style():
    fig, ax = plt.subplots(figsize=(3.0, 3.0))
    plot_slice(cx, ax=ax, boundary=False, alpha=0.35)
    plot_region_graph(cx, ax=ax, node_size=8)
    ax.set_title(f"{cx.n_regions} regions, {cx.graph.number_of_edges()} adjacencies")

if __name__ == "__main__":
    save_figure(fig, sys.argv[1] if len(sys.argv) > 1 else Path(__file__).parent / "_generated",
                "region_graph")
