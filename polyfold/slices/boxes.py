"""Region complexes of boxes and polytopes: :func:`box_complex`, :func:`polytope_complex`.

Both moved to :mod:`polyfold.complexes` (the d-dimensional splitting engine); these
names stay importable from :mod:`polyfold.slices`.
"""


def box_complex(net, lower, upper, **kwargs):
    """See :func:`polyfold.complexes.box_complex` (same function)."""
    from ..complexes import box_complex as _box

    return _box(net, lower, upper, **kwargs)


def polytope_complex(net, A, c, **kwargs):
    """See :func:`polyfold.complexes.polytope_complex` (same function)."""
    from ..complexes import polytope_complex as _poly

    return _poly(net, A, c, **kwargs)
