"""`smslink serve --snapshot s3://bucket/prefix`: serve what was published to a real S3-compatible server (moto)."""

from __future__ import annotations

import os
import subprocess
import time

import pytest
from worker_e2e_support import SMSLINK, build_snapshot, token

from engine.snapshot import open_snapshot, publish

pytestmark = pytest.mark.e2e
URL = "s3://snapshots/prod/eu"


def test_serve_from_s3_follows_a_publish(tmp_path, s3_endpoint, start_server, monkeypatch):
    cache = tmp_path / "cache"
    monkeypatch.setenv("SMSLINK_SNAPSHOT_CACHE", str(cache))
    v1 = publish(build_snapshot(tmp_path / "v1.lmdb", "v1"), URL)
    srv = start_server(URL)
    r = srv.get("/" + token(7))
    assert r.status_code == 302 and "/v1/spring" in r.headers["location"]
    assert (cache / "current").resolve().name == f"{v1.version}.lmdb"  # mirrored into the cache folder

    v2 = publish(build_snapshot(tmp_path / "v2.lmdb", "v2"), URL)
    assert v2.version != v1.version
    deadline = time.monotonic() + 30
    while True:
        loc = srv.get("/" + token(8)).headers.get("location", "")
        if "/v2/spring" in loc or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert "/v2/spring" in loc, srv.output()
    with open_snapshot(cache) as snap:
        assert snap.version == v2.version
    evs = srv.wait_for_lines(2)
    assert {e.snapshot for e in evs if e.token in (token(7), token(8))} <= {v1.version, v2.version}
    assert any(e.snapshot == v2.version for e in evs)


def test_serve_from_an_empty_s3_prefix_fails_fast_with_a_message(tmp_path, s3_endpoint):
    r = subprocess.run(
        [SMSLINK, "serve", "--snapshot", "s3://snapshots/nothing-here", "--logs", str(tmp_path / "l"),
         "--port", "0", "--admin-port", "0"],
        capture_output=True, text=True, timeout=60,
        env={**os.environ, "SMSLINK_SNAPSHOT_CACHE": str(tmp_path / "cache")},
    )
    assert r.returncode == 1
    assert "nothing is published there yet" in r.stderr and "Traceback" not in r.stderr
