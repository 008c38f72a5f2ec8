"""The experiments of the folding papers, as functions.

* ``depth`` -- :func:`depth_experiment`: folding versus depth on the six 60-neuron
  MLPs (Lewandowski et al., TMLR 2025), one training seed;
* ``interaction`` -- :func:`interaction_experiment`: the interaction effect
  (Moser et al., "The Space Between", Eq. 6) on clean and adversarial paths, and
  :func:`interaction_effects` of many walks.

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
from .interaction import (
    FAMILIES,
    InteractionEffects,
    InteractionExperiment,
    InteractionRow,
    interaction_effects,
    interaction_experiment,
    plot_interaction,
)

__all__ = [
    "DepthRow",
    "DepthExperiment",
    "load_experiment_data",
    "train_mlp",
    "experiment_nets",
    "error_path_indices",
    "depth_experiment",
    "FAMILIES",
    "InteractionEffects",
    "InteractionRow",
    "InteractionExperiment",
    "interaction_effects",
    "interaction_experiment",
    "plot_interaction",
]
