"""Loading the compiled common click (``engine.worker._fast``), or not.

The extension is optional (setup.py builds it when a C compiler is there).
It is used only when it is built from the source beside it: a build of an
older ``_fast.c`` is refused rather than trusted, since it would answer with
last week's logic. ``SMSLINK_PURE_PYTHON=1`` turns it off (to compare, or to
rule it out when debugging); the worker then runs ``ClickHandler.handle`` for
every request, which is what the compiled path is tested against.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from engine._compiled import load_checked
from engine.clicklog import EventIds

#: Set to 1 to serve every click through the pure Python path.
PURE_ENV = "SMSLINK_PURE_PYTHON"
_SOURCE = Path(__file__).with_name("_fast.c")


def load() -> tuple[ModuleType | None, str]:
    """(the module, "") when it may be used; (None, why not) otherwise."""
    if os.environ.get(PURE_ENV, "") not in ("", "0"):
        return None, f"{PURE_ENV} is set"
    return load_checked("engine.worker._fast", _SOURCE)


_MODULE, WHY_NOT = load()
if _MODULE is None and WHY_NOT.startswith("built from another"):
    print(f"smslink: compiled click path not used: {WHY_NOT}", file=sys.stderr, flush=True)


def module() -> ModuleType | None:
    """The compiled module, or None (then ``WHY_NOT`` says why)."""
    return _MODULE


def event_ids() -> Any:
    """A new event id generator: the compiled one when it may be used (the compiled
    click path draws from it without a Python call), else ``engine.clicklog.EventIds``.
    Both give the same ids from the same start."""
    ids = EventIds()
    if _MODULE is None:
        return ids
    return _MODULE.EventIds(ids._rand)  # the same random start
