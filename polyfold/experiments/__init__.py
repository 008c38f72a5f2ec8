"""The experiments of the folding papers, as functions.

* ``depth`` -- :func:`depth_experiment`: folding versus depth on the six 60-neuron
  MLPs (Lewandowski et al., TMLR 2025), one training seed;
* ``interaction`` -- :func:`interaction_experiment`: the interaction effect
  (Moser et al., "The Space Between", Eq. 6) on clean and adversarial paths, and
  :func:`interaction_effects` of many walks;
* ``seeds`` -- :func:`seed_experiment`: folding across architectures over training
  seeds, with an accuracy threshold fixed in advance and a trend test against the
  seed-to-seed spread.

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
from .seeds import (
    ACCURACY_THRESHOLD,
    READING_NAMES,
    SeedExperiment,
    SeedRow,
    plot_seed_experiment,
    seed_experiment,
    trend_test,
)

from . import depth, interaction, seeds  # noqa: E402

__all__ = depth.__all__ + interaction.__all__ + seeds.__all__
