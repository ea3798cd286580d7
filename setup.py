"""The compiled parts: ``engine.worker._fast`` (the common click, engine/worker/_fast.c),
``engine.snapshot._index`` (the snapshot's token hash index, engine/snapshot/_index.c)
and ``engine.analytics._scan`` (the report's click-log reader, engine/analytics/_scan.c).

Everything else is in pyproject.toml. The extensions are optional: without a
C compiler the install still succeeds; the worker runs the pure Python click
path (the reference implementation), tokens are looked up in Python, and the
report reads every log with DuckDB's JSON reader, only slower. Each build records its source's SHA-256 so
a stale build of an edited source is never run (engine/worker/_fastpath.py,
engine/snapshot/_tokenindex.py and engine/analytics/_scanner.py check it).
"""

import hashlib
from pathlib import Path

from setuptools import Extension, setup

_ROOT = Path(__file__).parent


def _ext(name: str, source: str, macro: str) -> Extension:
    digest = hashlib.sha256((_ROOT / source).read_bytes()).hexdigest()
    return Extension(
        name,
        sources=[source],
        depends=["engine/snapshot/_index.h"],  # the index's C interface (its version is checked at import)
        define_macros=[(macro, f'"{digest}"')],
        extra_compile_args=["-O2"],
        optional=True,
    )


setup(
    ext_modules=[
        _ext("engine.snapshot._index", "engine/snapshot/_index.c", "SMSLINK_INDEX_SOURCE"),
        _ext("engine.worker._fast", "engine/worker/_fast.c", "SMSLINK_FAST_SOURCE"),
        _ext("engine.analytics._scan", "engine/analytics/_scan.c", "SMSLINK_SCAN_SOURCE"),
    ],
)
