"""engine.worker's and engine.clicklog's __all__ are exactly their public surface (ruff keeps it sorted)."""

from __future__ import annotations

import types

import pytest

import engine.clicklog as clicklog
import engine.worker as worker


@pytest.mark.parametrize("module", [worker, clicklog], ids=["engine.worker", "engine.clicklog"])
def test_all_is_the_public_surface(module):
    public = {n for n, v in vars(module).items()
              if not n.startswith("_") and not isinstance(v, types.ModuleType)} - {"annotations"}
    assert len(set(module.__all__)) == len(module.__all__)
    assert set(module.__all__) == public


def test_names_explain_relies_on():
    assert {"ClickHandler", "Outcome"} <= set(worker.__all__)
    assert [f for f in worker.Outcome.__struct_fields__][:5] == ["status", "headers", "body", "event", "answer"]
