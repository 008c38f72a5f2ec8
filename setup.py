"""Build hook for the optional compiled kernels (all metadata is in setup.cfg).

``optional=True``: when a C extension cannot be compiled, the install still succeeds
and polyfold uses its numpy code.  The crossing kernel picks AVX-512, AVX2 or portable
code when it is imported (function versions compiled with ``#pragma GCC target``), and
uses POSIX threads where available; ``polyfold.complexes._clattice`` holds the loops
of the face lattice of the cell complexes.
"""

import sys

from setuptools import Extension, setup

if sys.platform == "win32":
    _ARGS, _LINK = [], []
else:
    _ARGS = ["-O3", "-ffp-contract=off", "-fno-fast-math", "-pthread"]
    _LINK = ["-pthread"]

setup(
    ext_modules=[
        Extension(
            "polyfold._ckernel",
            sources=["polyfold/_ckernel.c"],
            depends=["polyfold/_ckbody.h"],
            extra_compile_args=_ARGS,
            extra_link_args=_LINK,
            optional=True,
        ),
        Extension(
            "polyfold.complexes._clattice",
            sources=["polyfold/complexes/_clattice.c"],
            extra_compile_args=_ARGS,
            extra_link_args=_LINK,
            optional=True,
        ),
    ]
)
