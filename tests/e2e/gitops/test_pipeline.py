"""GitOps end to end (issue 8): a config repository with two commits goes through
CI's commands (validate -> review -> compile -> publish) while two real workers
serve the published snapshot under load; the change goes live on both with no
failed request, and a rollback restores the previous routes.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.e2e

SMSLINK = str(Path(sys.executable).parent / "smslink")

HOST = "go.acme.example"
DESKTOP = {
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

CAMPAIGN = """\
id: spring-sale
name: Spring sale
owner: growth@acme.example
brand: Acme Outdoor
link:
  domains: [go.acme.example]
schedule:
  timezone: America/New_York
  starts: 2026-01-01T09:00:00-05:00
  ends: 2030-12-31T23:59:00-05:00
  retain: 90d
audience:
  name: spring
  contact-id: customer_id
message: "Acme Outdoor: spring sale, 20% off tents. {{ link }} Reply STOP to opt out"
routes:
  - id: ios-app
    when: { device: ios }
    to: https://apps.apple.com/app/id0000000000
default: https://www.acme.example/spring-PAGE
"""
POLICIES = {
    "bots.yaml": "kind: bots\nid: default\n",
    "compliance.yaml": "kind: compliance\nid: default\nallowed-domains: [acme.example, apps.apple.com]\n"
                       "max-segments: 2\nopt-out: [Reply STOP to opt out]\n",
}


def _run(*args: str, cwd: Path, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess:
    proc = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode in ok, f"{' '.join(args)} -> {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args],
                          capture_output=True, text=True, check=True).stdout.strip()


def _commit(repo: Path, page: str, message: str) -> str:
    (repo / "campaigns").mkdir(parents=True, exist_ok=True)
    (repo / "campaigns" / "spring-sale.yaml").write_text(CAMPAIGN.replace("PAGE", page))
    for name, text in POLICIES.items():
        (repo / "policies").mkdir(exist_ok=True)
        (repo / "policies" / name).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


def _tokens(manifest: Path) -> list[str]:
    with manifest.open() as fh:
        return [row["link"].rsplit("/", 1)[1] for row in csv.DictReader(fh)]


def _location(client: httpx.Client, worker, token: str) -> str:
    r = client.get(f"{worker.base}/{token}", headers=DESKTOP)
    assert r.status_code == 302, (r.status_code, r.text[:200])
    return r.headers["location"]


def _wait_for(workers, tokens, needle: str, deadline_s: float = 20.0) -> float:
    """Poll until every worker answers ``needle``; return the seconds it took."""
    start = time.monotonic()
    with httpx.Client(timeout=5) as client:
        while True:
            if all(needle in _location(client, w, tokens[0]) for w in workers):
                return time.monotonic() - start
            if time.monotonic() - start > deadline_s:
                pytest.fail(f"{needle} not live on every worker after {deadline_s}s: "
                            + "; ".join(w.output()[-500:] for w in workers))
            time.sleep(0.05)


class Load:
    """Threads sending taps at every worker; every answer is recorded."""

    def __init__(self, workers, tokens: list[str], threads: int = 4) -> None:
        self.results: list[tuple[str, float, int, str]] = []  # (worker, t, status, location or error)
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run, args=(workers, tokens, i), daemon=True)
                         for i in range(threads)]

    def _run(self, workers, tokens, seed: int) -> None:
        i = seed
        with httpx.Client(timeout=10) as client:
            while not self._stop.is_set():
                w = workers[i % len(workers)]
                token = tokens[(i * 7) % len(tokens)]
                i += 1
                try:
                    r = client.get(f"{w.base}/{token}", headers=DESKTOP)
                    row = (w.name, time.monotonic(), r.status_code, r.headers.get("location", ""))
                except httpx.HTTPError as exc:
                    row = (w.name, time.monotonic(), -1, repr(exc))
                with self._lock:
                    self.results.append(row)

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=30)


def test_validate_review_compile_publish_under_load_then_rollback(tmp_path, start_worker):
    repo, pub = tmp_path / "repo", tmp_path / "pub"
    env = {**os.environ, "SMSLINK_RECIPIENT_KEY": "e2e-only-recipient-key"}
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    c1 = _commit(repo, "v1", "spring sale")
    c2 = _commit(repo, "v2", "spring sale: new landing page")
    audience = tmp_path / "spring.csv"
    _run(SMSLINK, "audience", "generate", "--count", "300", "--out", str(audience), cwd=tmp_path, env=env)

    # --- first deploy of c1, the way the publish workflow does it
    _git(repo, "checkout", "-q", c1)
    _run(SMSLINK, "validate", "--format", "github", cwd=repo, env=env)
    _run(SMSLINK, "compile", "--audience", f"spring={audience}", "--out", str(tmp_path / "build1"), cwd=repo, env=env)
    _run(SMSLINK, "publish", str(tmp_path / "build1" / "snapshot.lmdb"), "--to", str(pub), cwd=repo, env=env)
    tokens = _tokens(tmp_path / "build1" / "manifest.csv")
    assert len(tokens) == 300

    workers = [start_worker(pub, "worker-a"), start_worker(pub, "worker-b")]
    with httpx.Client(timeout=5) as client:
        assert all(_location(client, w, t).startswith("https://www.acme.example/spring-v1")
                   for w in workers for t in tokens[:5])

    # --- the pull request for c2, the way the config workflow does it
    _git(repo, "checkout", "-q", c2)
    _run(SMSLINK, "validate", "--format", "github", cwd=repo, env=env)
    review = _run(SMSLINK, "review", c1, c2, "--format", "markdown", "--detailed-exitcode",
                  "--out", str(tmp_path / "review.md"), cwd=repo, env=env, ok=(2,))
    assert review.stdout == ""
    md = (tmp_path / "review.md").read_text()
    assert md.startswith("<!-- smslink-review -->")
    assert "spring-v1" in md and "spring-v2" in md and "default destination" in md
    assert not any(t in md for t in tokens)
    same = _run(SMSLINK, "review", c2, "--detailed-exitcode", cwd=repo, env=env)  # c2 vs its work tree
    assert "No change for recipients" in same.stdout

    # --- merge: compile keeping every issued token, then publish under load
    _run(SMSLINK, "compile", "--audience", f"spring={audience}", "--out", str(tmp_path / "build2"),
         "--previous", str(pub), cwd=repo, env=env)
    assert _tokens(tmp_path / "build2" / "manifest.csv") == tokens  # a token is forever
    with Load(workers, tokens) as load:
        time.sleep(0.5)
        out = _run(SMSLINK, "publish", str(tmp_path / "build2" / "snapshot.lmdb"), "--to", str(pub),
                   cwd=repo, env=env).stdout
        assert "301 issued tokens checked" in out  # 300 recipients + the campaign-level link
        took = _wait_for(workers, tokens, "spring-v2")
        time.sleep(0.5)
        rolled = _run(SMSLINK, "rollback", "--to", str(pub), cwd=repo, env=env).stdout
        took_back = _wait_for(workers, tokens, "spring-v1")
        time.sleep(0.5)
    print(f"change live on both workers after {took:.2f}s; rollback after {took_back:.2f}s; "
          f"{len(load.results)} requests under load")

    assert f"rolled {pub} back to" in rolled
    assert load.results, "the load threads sent nothing"
    failed = [r for r in load.results if r[2] != 302]
    assert failed == [], failed[:5]
    for name in ("worker-a", "worker-b"):
        pages = [("v2" if "spring-v2" in loc else "v1") for w, _, _, loc in sorted(load.results, key=lambda r: r[1])
                 if w == name]
        assert set(pages) == {"v1", "v2"}, name  # both versions were served under load...
        assert all(loc.startswith("https://www.acme.example/spring-v") for w, _, _, loc in load.results if w == name)

    listed = json.loads(_run(SMSLINK, "versions", "--to", str(pub), "--format", "json", cwd=repo, env=env).stdout)
    assert [v["config_commit"] for v in listed if v["current"]] == [c1]
    assert {v["config_commit"] for v in listed} == {c1, c2}
