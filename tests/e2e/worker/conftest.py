"""Fixtures of the worker's e2e tests (helpers in worker_e2e_support.py: conftest modules clash by name)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from worker_e2e_support import Server, build_snapshot

from engine.snapshot import publish_snapshot


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    started: list[Server] = []

    def start(snapshot: Path, *, workers: int = 1, extra: list[str] | None = None) -> Server:
        srv = Server(tmp_path, snapshot, workers, extra or [])
        started.append(srv)
        return srv

    yield start
    for srv in started:
        srv.stop()


@pytest.fixture
def published(tmp_path: Path) -> Path:
    """A publish folder whose `current` points at a v1 snapshot."""
    publish_snapshot(build_snapshot(tmp_path / "v1.lmdb"), tmp_path / "pub")
    return tmp_path / "pub"
