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


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A moto S3 server on 127.0.0.1:<free port> with one bucket, for this test only.

    The AWS_* variables go to os.environ, so a `smslink serve` started by the
    test reads the same store.
    """
    import boto3
    import httpx
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": url,
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    httpx.post(f"{url}/moto-api/reset").raise_for_status()  # moto keeps state per process
    boto3.client("s3", endpoint_url=url).create_bucket(Bucket="snapshots")
    yield url
    server.stop()
