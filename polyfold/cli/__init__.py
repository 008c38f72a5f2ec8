"""The ``polyfold`` command (also ``python -m polyfold``).

A thin shell over the library: every subcommand parses its options, loads a model
and data, calls one or two library functions and prints or writes the result.
Heavy modules are imported inside the handlers, so ``polyfold --help`` is instant.

Subcommands
-----------
``demo``       the main job on the embedded default (bundled digits, shipped MLPs)
``crossings``  exact segment crossings between data points, against grid sampling
``fold``       space folding between class pairs (optionally on processes / Dask)
``slice``      the region complex of the 2D slice through three data points
``bias``       maximal bias and injectivity of one layer
``stats``      insphere and orthogonality statistics of the regions of data points
``bench``      throughput of the three arithmetic modes against grid sampling

Every subcommand takes ``--json`` (print the result as JSON on stdout), ``--out DIR``
(write JSON and figures there), ``--seed``, ``--mode`` and ``--quiet``.  Results go
to standard output (with ``--json``: one JSON document and nothing else); status
lines and progress bars go to standard error.  ``--quiet`` drops the status lines
and progress bars only, never the results; progress bars appear only when standard
error is a terminal, and never with ``--json``.  Models are
given with ``--model``: a ``.npz`` written by :meth:`polyfold.PLNet.save`, a pickled
scikit-learn ``MLPClassifier``/``MLPRegressor`` (``.pkl``), a PyTorch
``nn.Sequential`` saved with ``torch.save(model, path)`` (``.pt``, needs torch) or a
zoo network such as ``zoo:digits:6x10``, ``zoo:sawtooth:4``, ``zoo:cantornet:2``,
``zoo:arrangement:8:2`` or ``zoo:random:2:3x8``.  Data are given with ``--data``:
``digits`` (the bundled test split), ``digits-train``, ``uniform:N`` (N points in the
unit cube) or a ``.npz`` (arrays ``X`` and optional ``y``), ``.npy`` or ``.csv`` file.

Errors from the library print one line on stderr and exit with status 1; bad
command-line arguments exit with status 2, before anything runs, with a message naming
the option: numbers must be finite (no ``nan``/``inf``), ``--grid`` takes sizes >= 2 or
``none`` (``0`` is refused), intervals such as ``--domain LO,HI`` and ``--clip LO,HI``
need ``LO < HI``, ``--seed`` is in 0..2**32 - 1 and names such as ``--out`` must not
be empty.

Layout of this package (:func:`main`, :func:`load_model` and :func:`load_data` are
importable from ``polyfold.cli``):

* ``app`` -- the argument parser (``build_parser()``) and :func:`main`;
* ``loading`` -- :func:`load_model` and :func:`load_data`: models and points from
  command-line specs;
* ``cmd_demo``, ``cmd_paths`` (``crossings``, ``fold``, ``bench``) and
  ``cmd_regions`` (``slice``, ``bias``, ``stats``) -- the subcommand handlers, on
  the shared plumbing of ``_run``.
"""

from .app import DEFAULT_MODEL, MODES, PROG, build_parser, main  # noqa: F401
from .loading import load_data, load_model, model_from_args  # noqa: F401

__all__ = ["main", "load_model", "load_data"]
