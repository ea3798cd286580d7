"""SIGKILL mid-stream, restarts, and replay: at-least-once with stable webhook-ids (issue 7)."""

from __future__ import annotations

import json
import threading
import time
import zlib
from datetime import UTC, datetime

import msgspec
import pytest
from dispatch_helpers import TS0, LogWriter, make_event, run_cli, write_config
from webhook_receiver import Answer, Request, wait_until

pytestmark = pytest.mark.e2e


def _flaky(req: Request) -> Answer:
    # one event in eight fails its first attempt, so kills also land on queued retries
    return Answer(500) if req.attempt == 0 and zlib.crc32(req.event_id.encode()) % 8 == 0 else Answer(204)


def test_sigkill_and_restart_lose_nothing(tmp_path, secret, receivers, env_with, dispatchers):
    """The dispatcher is SIGKILLed four times while the logs grow and rotate; in the end every
    event was accepted, every duplicate carried the same webhook-id, nothing was dead-lettered."""
    rec = receivers(secret, _flaky)
    logs, state = tmp_path / "clicks", tmp_path / "state"
    events = [make_event(i) for i in range(900)]
    writer = LogWriter(logs)
    written = threading.Event()

    def produce() -> None:  # 3 files of 300 events, written in small bursts, like a worker
        for start in range(0, len(events), 10):
            writer.write(events[start:start + 10])
            if (start + 10) % 300 == 0:
                writer.rotate()
            time.sleep(0.01)
        written.set()

    producer = threading.Thread(target=produce, daemon=True)
    config = write_config(tmp_path, [{"name": "crm", "url": rec.url, "secret-env": "SMSLINK_CRM_SECRET",
                                      "allow-private": True}])
    env = env_with(SMSLINK_CRM_SECRET=secret)
    args = ["--config", str(config), "--logs", str(logs), "--state", str(state),
            "--retry-schedule", "0.05,0.1,0.2,0.4,0.8", "--poll-interval", "0.02", "--concurrency", "4"]
    d = dispatchers(args, env)
    producer.start()
    # first kill only once the cursor is durably past event 179 of the first file
    first_stem = "clicks-20261127T080100Z-web1-4242-1"
    past_179 = sum(len(msgspec.json.encode(e)) + 1 for e in events[:180])

    def cursor() -> int:
        try:
            doc = json.loads((state / "endpoints" / "crm" / "state.json").read_bytes())
        except (FileNotFoundError, ValueError):
            return 0
        return int(doc["files"].get(first_stem, 0))

    wait_until(lambda: cursor() >= past_179, 30, "the cursor to pass event 179", d)
    d.kill()
    d = dispatchers(args, env)
    for k in range(2, 5):
        target = min(len(events) - 50, k * 180)
        wait_until(lambda t=target: len(rec.accepted_ids()) >= t, 30, f"{target} deliveries", d)
        d.kill()
        assert d.returncode == -9
        d = dispatchers(args, env)
    assert written.wait(30)
    wait_until(lambda: rec.accepted_ids() == {e.id for e in events}, 40, "every event", d)
    assert d.stop() == 0
    by_event = rec.webhook_ids_by_event()
    assert all(len(ids) == 1 for ids in by_event.values())
    assert not rec.rejected
    assert not (state / "endpoints" / "crm" / "dead-letters.jsonl").exists()
    # the cursor is durable: what it had passed before a kill is never sent again
    # (except events that sat in the retry queue at that save: a retry acknowledged after the
    # save and before the kill is sent again, which is the at-least-once window)
    accepted = [r.event_id for r in rec.accepted]
    again = [e.id for e in events[:180] if accepted.count(e.id) > 1]
    assert all(zlib.crc32(x.encode()) % 8 == 0 for x in again), again


def test_replay_delivers_exactly_the_range_again(tmp_path, secret, receivers, env_with):
    """`dispatch replay --since --until` re-sends exactly the subscribed events clicked in
    [since, until), each once, with the webhook-id of their first delivery; the cursor is untouched."""
    rec = receivers(secret)
    logs, state = tmp_path / "clicks", tmp_path / "state"
    writer = LogWriter(logs)
    events = [make_event(i, verdict="preview" if i % 4 == 0 else "human") for i in range(200)]
    writer.write(events[:120])
    writer.rotate()
    writer.write(events[120:])
    config = write_config(tmp_path, [{"name": "crm", "url": rec.url, "secret-env": "SMSLINK_CRM_SECRET",
                                      "allow-private": True}])
    env = env_with(SMSLINK_CRM_SECRET=secret)
    common = ["--config", str(config), "--logs", str(logs), "--state", str(state)]
    assert run_cli([*common, "--once"], env).returncode == 0
    humans = [e for e in events if e.verdict == "human"]
    assert rec.accepted_ids() == {e.id for e in humans}
    first_ids = {r.event_id: r.webhook_id for r in rec.accepted}
    cursor_before = (state / "endpoints" / "crm" / "state.json").read_bytes()
    before = len(rec.accepted)

    def iso(ms: int) -> str:
        return datetime.fromtimestamp(ms / 1000, UTC).isoformat().replace("+00:00", "Z")

    r = run_cli(["replay", "--endpoint", "crm", "--since", iso(TS0 + 50_000), "--until", iso(TS0 + 130_000),
                 *common], env)
    assert r.returncode == 0, r.stderr
    replayed = rec.accepted[before:]
    expected = [e.id for e in humans if TS0 + 50_000 <= e.ts < TS0 + 130_000]
    assert sorted(x.event_id for x in replayed) == sorted(expected)
    assert len(replayed) == len(expected) == 60
    assert all(first_ids[x.event_id] == x.webhook_id for x in replayed)
    assert f"replayed {len(expected)} events: delivered {len(expected)}" in r.stderr
    assert (state / "endpoints" / "crm" / "state.json").read_bytes() == cursor_before
    # and a dispatcher run afterwards sends nothing new
    assert run_cli([*common, "--once"], env).returncode == 0
    assert len(rec.accepted) == before + len(expected)
