"""polyfold: exact polyhedral geometry of piecewise-linear neural networks.

Import what you need from the top level; heavy submodules load on first use.

>>> import polyfold
>>> net = polyfold.zoo.sawtooth(3)
>>> polyfold.segment_crossings(net, [0.0], [1.0], mode="exact").n_pieces.tolist()
[8]
"""

import importlib

__version__ = "0.1.0"

# public name -> submodule that defines it (loaded lazily, nothing heavy at import)
_EXPORTS = {
    # errors and tolerances
    "PolyfoldError": "exceptions",
    "ValidationError": "exceptions",
    "ShapeError": "exceptions",
    "NonFiniteError": "exceptions",
    "DegenerateInputError": "exceptions",
    "DomainError": "exceptions",
    "UnsupportedLayerError": "exceptions",
    "SolverError": "exceptions",
    "NotInjectiveError": "exceptions",
    "DependencyError": "exceptions",
    "ChunkError": "exceptions",
    "EmptyPolytopeError": "exceptions",
    "UnboundedRadiusError": "exceptions",
    "MainGuardError": "exceptions",
    "PolyfoldWarning": "exceptions",
    "Tolerance": "tolerance",
    "DEFAULT_TOL": "tolerance",
    # network model
    "PLNet": "network",
    "ReLU": "network",
    "LeakyReLU": "network",
    "HardTanh": "network",
    "Identity": "network",
    "hamming": "network",
    "pack_patterns": "network",
    "unpack_patterns": "network",
    # converters
    "from_torch": "convert",
    "from_onnx": "convert",
    "PLGraph": "graph",
    "GraphBuilder": "graph",
    "from_sklearn": "convert",
    "load": "convert",
    "save": "convert",
    "load_model": "io",
    # crossings
    "segment_crossings": "crossings",
    "segment_crossings_between": "crossings",
    "SegmentCrossings": "crossings",
    # regions
    "region_of": "regions",
    "Region": "regions",
    "slice_complex": "slices",
    "slice_through": "slices",
    "box_complex": "complexes",
    "polytope_complex": "complexes",
    "space_complex": "complexes",
    "CellComplex": "complexes",
    "RegionComplex": "slices",
    # measures
    "folding_measure": "folding",
    "space_folding": "folding",
    "global_folding": "folding",
    "class_pair_folding": "folding",
    "space_folding_batch": "folding",
    "sampled_folding": "folding",
    "sampling_error": "folding",
    "insphere": "statistics",
    "class_pair_sweep": "parallel",
    "region_statistics": "statistics",
    "inspheres": "statistics",
    "Insphere": "statistics",
    "InsphereBatch": "statistics",
    "RegionStatistics": "statistics",
    "maximal_bias": "injectivity",
    "check_injectivity": "injectivity",
    "check_network_injectivity": "injectivity",
    "reconstruct": "injectivity",
    "BiasCertificate": "injectivity",
    "InjectivityVerdict": "injectivity",
    # adversarial endpoints and exact decision crossings
    "fgsm": "attacks",
    "pgd": "attacks",
    "decision_crossings": "attacks",
    "DecisionCrossings": "attacks",
}

_SUBMODULES = {
    "exceptions", "tolerance", "arith", "network", "convert", "crossings", "regions",
    "slices", "complexes", "adjacency", "graph", "folding", "injectivity", "statistics", "sampling",
    "zoo", "datasets", "training", "io", "plotting", "parallel", "cli", "demo", "experiments",
    "attacks", "regularization",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        module = importlib.import_module(f".{_EXPORTS[name]}", __name__)
        value = getattr(module, name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        module = importlib.import_module(f".{name}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module 'polyfold' has no attribute {name!r}")


def __dir__():
    return sorted(set(__all__) | _SUBMODULES)
