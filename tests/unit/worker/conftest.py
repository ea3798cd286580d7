"""Fixtures of the worker's unit tests: small real snapshots written with engine.snapshot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from worker_unit_support import TOKENS, campaign

from engine.snapshot import Campaign, Snapshot, TokenRecord, open_snapshot, write_snapshot


@pytest.fixture
def make_snapshot(tmp_path: Path) -> Callable[..., Snapshot]:
    opened: list[Snapshot] = []

    def make(*campaigns: Campaign, tokens: list[tuple[str, TokenRecord]] | None = None,
             name: str = "s.lmdb") -> Snapshot:
        path = tmp_path / name
        write_snapshot(path, campaigns=list(campaigns) or [campaign()],
                       tokens=sorted(tokens if tokens is not None else TOKENS, key=lambda t: t[0]))
        snap = open_snapshot(path)
        opened.append(snap)
        return snap

    yield make
    for s in opened:
        s.close()
