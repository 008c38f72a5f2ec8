"""The experiments of the folding papers, as functions.

* ``depth`` -- :func:`depth_experiment`: folding versus depth on the six 60-neuron
  MLPs (Lewandowski et al., TMLR 2025), one training seed.

Every public name is importable from ``polyfold.experiments``.
"""

from .depth import (
    DepthExperiment,
    DepthRow,
    depth_experiment,
    error_path_indices,
    experiment_nets,
    load_experiment_data,
    train_mlp,
)

__all__ = [
    "DepthRow",
    "DepthExperiment",
    "load_experiment_data",
    "train_mlp",
    "experiment_nets",
    "error_path_indices",
    "depth_experiment",
]
