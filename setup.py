"""The one compiled part: ``engine.worker._fast``, the common click (engine/worker/_fast.c).

Everything else is in pyproject.toml. The extension is optional: without a C
compiler the install still succeeds and the worker runs the pure Python click
path (the reference implementation), only slower. The build records the
source's SHA-256 so a worker never runs a stale build of an edited source
(engine/worker/_fastpath.py checks it).
"""

import hashlib
from pathlib import Path

from setuptools import Extension, setup

_SRC = Path(__file__).parent / "engine" / "worker" / "_fast.c"

setup(
    ext_modules=[
        Extension(
            "engine.worker._fast",
            sources=["engine/worker/_fast.c"],
            define_macros=[("SMSLINK_FAST_SOURCE", f'"{hashlib.sha256(_SRC.read_bytes()).hexdigest()}"')],
            extra_compile_args=["-O2"],
            optional=True,
        )
    ],
)
