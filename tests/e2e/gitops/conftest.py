"""Fixtures for the GitOps end-to-end tests: a real S3-compatible server (moto) on a free port."""

from __future__ import annotations

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
