"""The piecewise-linear graph model: convolutional, residual and max-pooling networks.

:class:`PLGraph` is a directed acyclic graph of affine operators
(:mod:`polyfold.graph.ops`: dense, convolution, average pooling, batch norm,
residual addition, concatenation, reshape) and piecewise-linear unit groups
(:mod:`polyfold.graph.units`: ReLU, leaky ReLU, hard tanh; max pooling, maxout).
Every exact engine of polyfold accepts it without expanding an operator into a dense
matrix.  Build one with :class:`GraphBuilder`, :func:`polyfold.from_torch` (any
``torch.fx``-traceable module), :func:`polyfold.from_onnx` or :mod:`polyfold.zoo`.
"""

from .model import GraphBuilder, Node, PLGraph, Stages, as_graph_points

__all__ = ["GraphBuilder", "Node", "PLGraph", "Stages", "as_graph_points"]
