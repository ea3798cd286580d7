"""Each engine package's ``__all__`` lists exactly its public names (STYLE.md section 4).

Public: names bound in the package's ``__init__`` that do not start with ``_``
and are not submodules or ``annotations``. A name in ``__all__`` must exist.
(Ruff's RUF022 keeps ``__all__`` sorted in ``make lint``.)
"""

from __future__ import annotations

import importlib
import types

import pytest

PACKAGES = [
    "engine.snapshot", "engine.clicklog", "engine.diagnostics", "engine.spec", "engine.routing",
    "engine.bots", "engine.compiler", "engine.worker", "engine.webhooks", "engine.analytics",
    "engine.review",
]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_matches_the_public_names(name):
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    public = {
        attr for attr, value in vars(module).items()
        if not attr.startswith("_") and attr != "annotations" and not isinstance(value, types.ModuleType)
    }
    assert set(exported) == public
