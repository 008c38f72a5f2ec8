"""Build hook for the optional compiled crossing kernel (all metadata is in setup.cfg).

``optional=True``: when the C extension cannot be compiled, the install still succeeds
and polyfold uses its numpy kernel.
"""

import sys

from setuptools import Extension, setup

_ARGS = [] if sys.platform == "win32" else ["-O3", "-ffp-contract=off", "-fno-fast-math"]

setup(
    ext_modules=[
        Extension(
            "polyfold._ckernel",
            sources=["polyfold/_ckernel.c"],
            extra_compile_args=_ARGS,
            optional=True,
        )
    ]
)
