"""The dispatcher as a real process against a real, verifying receiver on loopback: faults (issue 7)."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest
from dispatch_helpers import LogWriter, make_event, run_cli, write_config
from webhook_receiver import Answer, Request, wait_until

pytestmark = pytest.mark.e2e

FAST = "0.05,0.1,0.2,0.4"  # 5 attempts within about a second


def _h(event_id: str) -> int:
    return zlib.crc32(event_id.encode())


def _endpoint(name: str, url: str, env: str, **extra: object) -> dict[str, object]:
    return {"name": name, "url": url, "secret-env": env, "allow-private": True, **extra}


def _dead_letters(state: Path, name: str) -> list[dict[str, object]]:
    path = state / "endpoints" / name / "dead-letters.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _assert_same_id_per_event(by_event: dict[str, set[str]]) -> None:
    assert by_event, "nothing was received"
    assert all(len(ids) == 1 for ids in by_event.values()), "a retried event changed its webhook-id"


def test_every_fault_ends_delivered_or_dead_lettered(tmp_path, secret, receivers, env_with, dispatchers):
    """500s, 429 with Retry-After, timeouts and dropped connections are retried until accepted;
    events the receiver never accepts end in the dead-letter file, and nothing else does."""
    never = set()

    def faulty(req: Request) -> Answer:
        h = _h(req.event_id)
        if h % 11 == 0:
            never.add(req.event_id)
            return Answer(500)
        if req.attempt == 0 and h % 3 == 0:
            return Answer(500)
        if req.attempt == 0 and h % 5 == 1:
            return Answer(429, retry_after="0")
        if req.attempt < 2 and h % 7 == 2:
            return Answer(close=True)
        if req.attempt == 0 and h % 13 == 3:
            return Answer(204, delay=1.0)  # longer than --timeout: a timeout, then a duplicate
        return Answer(204)

    fault = receivers(secret, faulty)
    steady = receivers(secret)
    logs, state = tmp_path / "clicks", tmp_path / "state"
    writer = LogWriter(logs)
    events = [make_event(i, verdict="bot" if i % 10 == 9 else "human") for i in range(300)]
    writer.write(events[:150])
    writer.rotate()
    writer.write(events[150:])  # still active
    humans = {e.id for e in events if e.verdict == "human"}
    config = write_config(tmp_path, [
        _endpoint("fault", fault.url, "SMSLINK_FAULT_SECRET"),
        _endpoint("steady", steady.url, "SMSLINK_STEADY_SECRET", events=["click.human", "click.bot"]),
    ])
    env = env_with(SMSLINK_FAULT_SECRET=secret, SMSLINK_STEADY_SECRET=secret)
    d = dispatchers(["--config", str(config), "--logs", str(logs), "--state", str(state),
                     "--retry-schedule", FAST, "--timeout", "0.3", "--poll-interval", "0.05"], env)

    wait_until(lambda: steady.accepted_ids() == {e.id for e in events}, 30, "steady endpoint", d)
    expected_dead = {e for e in humans if _h(e) % 11 == 0}
    wait_until(lambda: fault.accepted_ids() == humans - expected_dead
               and {x["event_id"] for x in _dead_letters(state, "fault")} == expected_dead,
               30, "faulty endpoint to settle", d)
    assert d.stop() == 0
    assert never == expected_dead
    letters = _dead_letters(state, "fault")
    assert len(letters) == len(expected_dead)
    assert all(x["attempts"] == 5 and x["last_error"] == "HTTP 500" for x in letters)
    _assert_same_id_per_event(fault.webhook_ids_by_event())
    assert not fault.rejected and not steady.rejected, fault.rejected_raw[:2]
    assert {r.type for r in steady.accepted} == {"click.human", "click.bot"}
    assert _dead_letters(state, "steady") == []
    # privacy: nothing the dispatcher wrote or printed holds a token, an IP or a user agent
    written = d.read() + "".join(p.read_text() for p in state.rglob("*") if p.is_file())
    assert "Tok0" not in written and "203.0.113" not in written and "iPhone" not in written
    assert all(b"Tok0" not in r.body and b"203.0.113" not in r.body for r in fault.seen + steady.seen)
    # the retries after timeouts and dropped connections really happened
    assert any(r.attempt > 0 and _h(r.event_id) % 13 == 3 for r in fault.seen)
    assert any(r.attempt > 0 and _h(r.event_id) % 7 == 2 for r in fault.seen)


def test_dead_letters_retry_delivers_them(tmp_path, secret, receivers, env_with):
    """`dead-letters --retry` delivers what was dead-lettered once the receiver accepts it."""
    accepting = {"now": False}
    rec = receivers(secret, lambda req: Answer(204 if accepting["now"] else 503))
    logs, state = tmp_path / "clicks", tmp_path / "state"
    writer = LogWriter(logs)
    events = [make_event(i) for i in range(20)]
    writer.write(events)
    config = write_config(tmp_path, [_endpoint("crm", rec.url, "SMSLINK_CRM_SECRET")])
    env = env_with(SMSLINK_CRM_SECRET=secret)
    common = ["--config", str(config), "--logs", str(logs), "--state", str(state)]
    # --once with no retries: every event fails once and is dead-lettered
    r = run_cli([*common, "--once", "--retry-schedule", ""], env)
    assert r.returncode == 0, r.stderr
    assert {x["event_id"] for x in _dead_letters(state, "crm")} == {e.id for e in events}
    listing = run_cli(["dead-letters", "--state", str(state)], env)
    assert listing.returncode == 0 and listing.stdout.count("HTTP 503") == 20, listing.stdout
    accepting["now"] = True
    r = run_cli(["dead-letters", "--retry", *common], env)
    assert r.returncode == 0, r.stderr
    assert "delivered 20, still failing 0" in r.stderr
    assert rec.accepted_ids() == {e.id for e in events}
    assert _dead_letters(state, "crm") == []
    _assert_same_id_per_event(rec.webhook_ids_by_event())


def test_receiver_down_for_a_while(tmp_path, secret, receivers, env_with, dispatchers):
    """The receiver goes away mid-stream (connections dropped, port closed) and comes back on the
    same port: everything is delivered, nothing is dead-lettered."""
    rec = receivers(secret)
    logs, state = tmp_path / "clicks", tmp_path / "state"
    writer = LogWriter(logs)
    events = [make_event(i) for i in range(200)]
    writer.write(events[:100])
    config = write_config(tmp_path, [_endpoint("crm", rec.url, "SMSLINK_CRM_SECRET")])
    d = dispatchers(["--config", str(config), "--logs", str(logs), "--state", str(state),
                     "--retry-schedule", "0.2,0.4,0.8,1.6,3.2,6.4", "--timeout", "0.5",
                     "--poll-interval", "0.05"], env_with(SMSLINK_CRM_SECRET=secret))
    wait_until(lambda: len(rec.accepted_ids()) >= 50, 20, "first deliveries", d)
    rec.stop()
    writer.write(events[100:])  # clicks keep coming while the receiver is down
    wait_until(lambda: (state / "endpoints" / "crm" / "state.json").exists()
               and b'"retries":[{' in (state / "endpoints" / "crm" / "state.json").read_bytes(),
               20, "failed deliveries to be queued for retry", d)
    rec.start()  # same port
    wait_until(lambda: rec.accepted_ids() == {e.id for e in events}, 40, "every event after the outage", d)
    assert d.stop() == 0
    assert _dead_letters(state, "crm") == []
    _assert_same_id_per_event(rec.webhook_ids_by_event())


def test_410_disables_the_endpoint_and_enable_resumes(tmp_path, secret, receivers, env_with, dispatchers):
    """410 Gone: that event is dead-lettered, the endpoint is disabled (persisted, reported), the
    other endpoint carries on; `dispatch enable` resumes exactly where it stopped."""
    gone = {"on": True}
    rec = receivers(secret, lambda req: Answer(410 if gone["on"] and req.n == 30 else 204))
    other = receivers(secret)
    logs, state = tmp_path / "clicks", tmp_path / "state"
    LogWriter(logs).write(events := [make_event(i) for i in range(200)])
    config = write_config(tmp_path, [_endpoint("crm", rec.url, "SMSLINK_CRM_SECRET"),
                                     _endpoint("other", other.url, "SMSLINK_CRM_SECRET")])
    env = env_with(SMSLINK_CRM_SECRET=secret)
    common = ["--config", str(config), "--logs", str(logs), "--state", str(state)]
    args = [*common, "--retry-schedule", FAST, "--poll-interval", "0.05", "--concurrency", "1"]
    d = dispatchers(args, env)
    wait_until(lambda: other.accepted_ids() == {e.id for e in events}, 30, "the other endpoint", d)
    wait_until(lambda: b'"disabled":{' in (state / "endpoints" / "crm" / "state.json").read_bytes(),
               10, "crm to be disabled", d)
    assert d.stop() == 0
    assert "answered 410 Gone: disabled" in d.read()
    gone_id = rec.seen[30].event_id
    assert [x["event_id"] for x in _dead_letters(state, "crm")] == [gone_id]
    assert len(rec.accepted_ids()) < len(events) - 1  # it really stopped
    # a restart keeps it disabled and says so
    r = run_cli([*args, "--once"], env)
    assert r.returncode == 0 and "disabled since" in r.stderr
    gone["on"] = False
    r = run_cli(["enable", "--endpoint", "crm", "--state", str(state)], env)
    assert r.returncode == 0, r.stderr
    r = run_cli([*args, "--once"], env)
    assert r.returncode == 0, r.stderr
    assert rec.accepted_ids() == {e.id for e in events} - {gone_id}
    _assert_same_id_per_event(rec.webhook_ids_by_event())


def test_private_addresses_are_refused_without_allow_private(tmp_path, secret, receivers, env_with):
    """SSRF: a URL that resolves to loopback is never connected to unless the endpoint allows it."""
    rec = receivers(secret)
    logs, state = tmp_path / "clicks", tmp_path / "state"
    LogWriter(logs).write([make_event(i) for i in range(3)])
    url = f"https://localhost:{rec.port}/hooks"
    config = write_config(tmp_path, [{"name": "crm", "url": url, "secret-env": "SMSLINK_CRM_SECRET"}])
    r = run_cli(["--config", str(config), "--logs", str(logs), "--state", str(state), "--once",
                 "--retry-schedule", ""], env_with(SMSLINK_CRM_SECRET=secret))
    assert r.returncode == 0, r.stderr
    assert rec.seen == [] and rec.rejected == []
    letters = _dead_letters(state, "crm")
    assert len(letters) == 3
    assert all("loopback address" in x["last_error"] for x in letters)


def test_receiver_rejects_tampered_and_stale_messages(secret, receivers):
    """The receiver's verification is real: our signature passes, a changed body or an old
    timestamp does not (standardwebhooks allows 5 minutes)."""
    import time

    import httpx

    from engine.webhooks import SigningKeys

    rec = receivers(secret)
    keys = SigningKeys.from_env_value(secret, variable="S")
    body = b'{"type":"click.human","timestamp":"x","data":{"event_id":"e1"}}'

    def post(content: bytes, ts: int) -> int:
        headers = {"webhook-id": "msg_1", "webhook-timestamp": str(ts),
                   "webhook-signature": keys.sign("msg_1", ts, body), "content-type": "application/json"}
        return httpx.post(rec.url, content=content, headers=headers).status_code

    now = int(time.time())
    assert post(body, now) == 204
    assert post(body.replace(b"e1", b"e2"), now) == 401
    assert post(body, now - 600) == 401
    assert len(rec.rejected) == 2 and len(rec.accepted) == 1
