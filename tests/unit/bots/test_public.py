"""``engine.bots.__all__`` is exactly the public surface, sorted."""

from __future__ import annotations

import engine.bots


def test_all_is_sorted_and_complete() -> None:
    public = {n for n in dir(engine.bots) if not n.startswith("_")}
    modules = {"annotations"}
    # isort style, as ruff keeps it: CONSTANTS, then Classes, then functions.
    def key(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert engine.bots.__all__ == sorted(engine.bots.__all__, key=key)
    assert set(engine.bots.__all__) == public - modules
