"""Injectivity of ReLU layers: alpha-rectifying checks, bias certificates, reconstruction.

A ReLU layer is written as in Haider, Ehler and Balazs (2023, 2024):

.. math:: C_\\alpha(x) = \\mathrm{ReLU}(W x - \\alpha),

with the bias *subtracted*.  A PyTorch / numpy layer ``W x + b`` has ``alpha = -b``.
Every public function takes the convention explicitly (``alpha=`` or ``bias=``,
exactly one) and never guesses.

* :func:`active_set`, :func:`is_alpha_rectifying_at` -- the active set
  ``I(x) = {i : <x, phi_i> >= alpha_i}`` and the rank test ``rank W_I(x) = n``,
  batched, float or exact.
* :func:`maximal_bias` -- a valid bias on the sphere, ball or annulus from the
  polytope construction (a certificate) or from Monte Carlo sampling (an
  estimate), returned as a :class:`BiasCertificate`.
* :func:`check_injectivity` -- exact verdict on a box, a polytope, the whole space
  or a finite data set, with a witness pair of colliding points when the layer is
  not injective; :func:`check_network_injectivity` does it layer by layer.
* :func:`reconstruct` -- recover ``x`` from ``y = C_alpha(x)`` (dual frame or the
  iterative ReLU frame algorithm).
* :func:`bias_margin` -- the largest uniform bias shift that keeps every data
  point's active set spanning.

Layout of this package (every public name is importable from
``polyfold.injectivity``): ``layers`` (conventions, active sets, rank test, on the
private exact kernels of ``_exact``), ``bias`` (maximal bias, omnidirectionality,
covering margin), ``cells`` (domains and the cell enumeration), ``verdict``
(:func:`check_injectivity`), ``network_verdict`` (:func:`check_network_injectivity`),
``margin`` (:func:`bias_margin`) and ``reconstruction`` (:func:`reconstruct`).

See ``docs/injectivity.rst`` for the concepts and worked examples.

References
----------
.. [1] D. Haider, M. Ehler, P. Balazs, "Convex Geometry of ReLU-layers, Injectivity
   on the Ball and Local Reconstruction", ICML 2023, arXiv:2307.09672.
.. [2] D. Haider, M. Ehler, P. Balazs, "Injectivity of ReLU-layers: Perspectives
   from Frame Theory", arXiv:2406.15856, 2024.
"""

from .bias import BiasCertificate, covering_margin, maximal_bias, omnidirectionality
from .cells import Box, Points, Polytope
from .layers import active_set, is_alpha_rectifying_at, layer_weights
from .margin import BiasMargin, bias_margin
from .network_verdict import NetworkInjectivityVerdict, check_network_injectivity
from .reconstruction import reconstruct
from .verdict import InjectivityVerdict, check_injectivity

__all__ = [
    "Box",
    "Polytope",
    "Points",
    "BiasCertificate",
    "InjectivityVerdict",
    "NetworkInjectivityVerdict",
    "BiasMargin",
    "layer_weights",
    "active_set",
    "is_alpha_rectifying_at",
    "omnidirectionality",
    "covering_margin",
    "maximal_bias",
    "check_injectivity",
    "check_network_injectivity",
    "bias_margin",
    "reconstruct",
]
