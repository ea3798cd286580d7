"""The scale-out path (issue 8): two worker "machines", each with its own local folder kept
in sync from an S3-compatible store by `smslink mirror`; publish and rollback go to the
store only, under load: zero failed requests, both machines follow.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from engine.snapshot import TOKEN_ALPHABET, Campaign, Template, TokenRecord, write_snapshot
from engine.snapshot._publish import publish, rollback

pytestmark = pytest.mark.e2e
URL = "s3://snapshots/fleet"
HOST = "go.acme.example"
HEADERS = {
    "host": HOST,
    "user-agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36",
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "accept-language": "en-US,en;q=0.9",
    "accept-encoding": "gzip, deflate, br",
    "sec-fetch-site": "none",
    "sec-fetch-mode": "navigate",
    "sec-fetch-dest": "document",
    "upgrade-insecure-requests": "1",
}
TOKENS = [f"Tk{TOKEN_ALPHABET[i // 55]}{TOKEN_ALPHABET[i % 55]}xyz" for i in range(200)]
MIRROR = ("import sys; from engine.cli._publish import mirror; "
          "mirror.main(args=sys.argv[1:], prog_name='smslink mirror')")


def _snapshot(path, page: str, minute: int):
    now = datetime.now(UTC)
    c = Campaign(id="spring", name="Spring", owner="o", brand="b", domains=[HOST], routes=[],
                 default=Template([f"https://www.acme.example/{page}"]), campaign_token="CAMPAIGN",
                 starts_at=int((now - timedelta(days=1)).timestamp()))
    write_snapshot(path, campaigns=[c], tokens=[(t, TokenRecord(0, f"r{t}")) for t in TOKENS],
                   built_at=now + timedelta(minutes=minute))
    return path


def _mirror(local, *extra: str) -> subprocess.Popen:
    out = open(f"{local}.mirror.out", "ab")  # noqa: SIM115 - the child holds it; closed right after
    try:
        return subprocess.Popen([sys.executable, "-c", MIRROR, "--from", URL, "--to", str(local), *extra],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    finally:
        out.close()


def _pages(workers) -> set[str]:
    pages = set()
    with httpx.Client(timeout=5) as client:
        for w in workers:
            r = client.get(f"{w.base}/{TOKENS[0]}", headers=HEADERS)
            assert r.status_code == 302, (r.status_code, r.text[:300])
            pages.add(r.headers["location"])
    return pages


def _wait(workers, page: str) -> None:
    deadline = time.monotonic() + 30
    while _pages(workers) != {f"https://www.acme.example/{page}"}:
        if time.monotonic() > deadline:
            pytest.fail(f"{page} not live on both machines: " + " | ".join(w.output()[-400:] for w in workers))
        time.sleep(0.05)


def test_two_machines_follow_the_store_under_load(tmp_path, s3_endpoint, start_worker):
    publish(_snapshot(tmp_path / "v1.lmdb", "v1", 0), URL)
    machines = [tmp_path / "machine-a", tmp_path / "machine-b"]
    for local in machines:  # the init container
        init = _mirror(local, "--once")
        assert init.wait(timeout=60) == 0, Path(f"{local}.mirror.out").read_text()
    syncers = [_mirror(local, "--interval", "0.2") for local in machines]
    try:
        workers = [start_worker(local, local.name) for local in machines]
        _wait(workers, "v1")
        results: list[int] = []
        with httpx.Client(timeout=10) as client:
            def burst(n: int = 60) -> None:
                for i in range(n):
                    w = workers[i % 2]
                    try:
                        results.append(client.get(f"{w.base}/{TOKENS[i % len(TOKENS)]}", headers=HEADERS).status_code)
                    except httpx.HTTPError:
                        results.append(-1)

            burst()
            publish(_snapshot(tmp_path / "v2.lmdb", "v2", 1), URL)
            while _pages(workers) != {"https://www.acme.example/v2"}:
                burst(20)
            burst()
            assert rollback(URL).changed
            _wait(workers, "v1")
            burst()
        assert results and set(results) == {302}
    finally:
        for p in syncers:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, 9)
                p.wait(timeout=10)
