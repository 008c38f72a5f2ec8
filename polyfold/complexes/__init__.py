"""Polyhedral complexes of networks in d = 1..8 dimensions: boxes, polytopes, R^d.

(Documentation in progress.)
"""

from .api import box_complex, polytope_complex, space_complex
from .result import CellComplex, DecisionSurface

__all__ = ["CellComplex", "DecisionSurface", "box_complex", "polytope_complex", "space_complex"]
