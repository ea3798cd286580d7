"""Loading an optional compiled extension, only when it was built from the source beside it.

setup.py builds ``engine.worker._fast`` and ``engine.analytics._scan`` with
their source's SHA-256 (``SOURCE_SHA256``). In a source checkout a build of
another version of the source is refused rather than trusted: it would run
last week's logic. An installed package ships no ``.c`` file, and then the
build is taken as it is.
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from types import ModuleType


def load_checked(name: str, source: Path) -> tuple[ModuleType | None, str]:
    """(module ``name``, "") when built from ``source``; (None, why not) when missing or stale."""
    try:
        mod = importlib.import_module(name)
    except ImportError as exc:
        return None, f"not built ({exc})"
    if source.exists() and hashlib.sha256(source.read_bytes()).hexdigest() != mod.SOURCE_SHA256:
        return None, f"built from another version of {source.name} (rebuild: make install)"
    return mod, ""
