"""Fixtures for the GitOps end-to-end tests: a real S3-compatible server (moto), real workers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest


@pytest.fixture
def s3_endpoint(monkeypatch):
    """A moto S3 server on 127.0.0.1:<free port>, with one bucket, for this test only."""
    import boto3
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
    # moto keeps its state per process: start every test from an empty store
    httpx.post(f"{url}/moto-api/reset").raise_for_status()
    boto3.client("s3", endpoint_url=url).create_bucket(Bucket="snapshots")
    yield url
    server.stop()


# ------------------------------------------------------------------ real workers
SMSLINK = str(Path(sys.executable).parent / "smslink")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Worker:
    """A running `smslink serve` on OS-picked ports, in its own process group."""

    def __init__(self, tmp: Path, snapshot: Path, name: str) -> None:
        self.name = name
        self.port, self.admin_port = free_port(), free_port()
        self.out_path = tmp / f"{name}.out"
        self._out = open(self.out_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [SMSLINK, "serve", "--snapshot", str(snapshot), "--logs", str(tmp / f"{name}-clicks"),
             "--port", str(self.port), "--admin-port", str(self.admin_port), "--workers", "1"],
            stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"{name}: smslink serve exited with {self.proc.returncode}:\n{self.output()}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.admin_port}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"{name}: smslink serve did not become ready:\n{self.output()}")

    def output(self) -> str:
        self._out.flush()
        return self.out_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        self._out.close()


@pytest.fixture
def start_worker(tmp_path):
    started: list[Worker] = []

    def start(snapshot: Path, name: str) -> Worker:
        w = Worker(tmp_path, snapshot, name)
        started.append(w)
        return w

    yield start
    for w in started:
        w.stop()
