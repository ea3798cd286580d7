"""The dispatcher against httpx.MockTransport receivers, with a fake clock (no network, no waiting)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import httpx
import msgspec
import pytest
from standardwebhooks.webhooks import Webhook
from webhook_unit_helpers import SECRET, make_event, mock_target, write_log

from engine.webhooks import (
    DispatchOptions,
    EndpointMetrics,
    RetryEntry,
    RetrySchedule,
    StateDir,
    render_metrics,
    run_dispatcher,
    webhook_id,
)


class Recorder:
    """A mock receiver: checks every signature, answers with ``answer(event_id, attempt)``."""

    def __init__(self, answer=None) -> None:
        self.answer = answer or (lambda event_id, attempt: httpx.Response(204))
        self.requests: list[tuple[str, str, str]] = []  # (url, webhook-id, event id)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = request.content
        ts = int(request.headers["webhook-timestamp"])
        expected = Webhook(SECRET).sign(request.headers["webhook-id"], datetime.fromtimestamp(ts, UTC),
                                        body.decode())
        assert expected in request.headers["webhook-signature"].split(" ")
        event_id = json.loads(body)["data"]["event_id"]
        attempt = sum(1 for r in self.requests if r[2] == event_id)
        self.requests.append((str(request.url), request.headers["webhook-id"], event_id))
        return self.answer(event_id, attempt)

    def delivered(self) -> list[str]:
        return [r[2] for r in self.requests]


def _run(targets, logs: Path, state: Path, clock, **opts: object) -> dict[str, EndpointMetrics]:
    said: list[str] = []
    options = DispatchOptions(**{"once": True, "poll_interval": 0.01, "metrics_interval": 0.05,
                                 "schedule": RetrySchedule.parse("1,2"), **opts})  # type: ignore[arg-type]
    out = asyncio.run(run_dispatcher(targets, logs, StateDir(state), options, clock=clock.clock,
                                     say=said.append))
    _run.said = said  # type: ignore[attr-defined]
    return out


def test_once_delivers_subscribed_events_and_the_cursor_remembers(tmp_path, fake_clock):
    events = [make_event(0), make_event(1, verdict="bot"), make_event(2, campaign="flu-shots"), make_event(3)]
    path = write_log(tmp_path / "clicks", events)
    rec = Recorder()
    m = _run([mock_target(rec, campaigns=["spring-sale"])], tmp_path / "clicks", tmp_path / "state", fake_clock)
    assert rec.delivered() == [events[0].id, events[3].id]
    assert m["crm"].delivered == 2
    state = StateDir(tmp_path / "state").load("crm")
    assert state.files == {path.name.removesuffix(".jsonl"): path.stat().st_size}
    _run([mock_target(rec, campaigns=["spring-sale"])], tmp_path / "clicks", tmp_path / "state", fake_clock)
    assert len(rec.requests) == 2  # nothing again


def test_a_failing_event_moves_to_the_retry_queue_and_the_cursor_moves_past_it(tmp_path, fake_clock):
    events = [make_event(i) for i in range(5)]
    path = write_log(tmp_path / "clicks", events)
    failing = {events[1].id}
    rec = Recorder(lambda eid, n: httpx.Response(500 if eid in failing else 204))
    _run([mock_target(rec)], tmp_path / "clicks", tmp_path / "state", fake_clock)
    state = StateDir(tmp_path / "state").load("crm")
    assert state.files[path.name.removesuffix(".jsonl")] == path.stat().st_size
    assert [(r.event_id, r.attempts, r.last_error) for r in state.retries] == [(events[1].id, 1, "HTTP 500")]
    assert 0.8 <= state.retries[0].next_at - fake_clock.now <= 1.2
    failing.clear()
    fake_clock.now += 5
    m = _run([mock_target(rec)], tmp_path / "clicks", tmp_path / "state", fake_clock)
    assert m["crm"].retried == 1 and m["crm"].delivered == 1
    assert sorted(rec.delivered()) == sorted([e.id for e in events] + [events[1].id])
    assert len({wid for _, wid, eid in rec.requests if eid == events[1].id}) == 1
    assert StateDir(tmp_path / "state").load("crm").retries == []


def test_exhausted_retries_go_to_the_dead_letter_file(tmp_path, fake_clock):
    events = [make_event(i) for i in range(3)]
    write_log(tmp_path / "clicks", events)
    rec = Recorder(lambda eid, n: httpx.Response(503 if eid == events[2].id else 204))
    state = tmp_path / "state"

    async def go() -> None:
        stop = asyncio.Event()
        opts = DispatchOptions(poll_interval=0.01, schedule=RetrySchedule.parse("1,2"), save_interval=0.01)
        task = asyncio.create_task(run_dispatcher([mock_target(rec)], tmp_path / "clicks", StateDir(state), opts,
                                                  clock=fake_clock.clock, stop=stop))
        while not StateDir(state).read_dead_letters("crm"):
            await asyncio.sleep(0.01)
        stop.set()
        await task

    asyncio.run(go())
    letters = StateDir(state).read_dead_letters("crm")
    assert [(d.event_id, d.attempts, d.last_error) for d in letters] == [(events[2].id, 3, "HTTP 503")]
    assert json.loads(bytes(letters[0].payload))["data"]["event_id"] == events[2].id
    assert letters[0].webhook_id == webhook_id(events[2].id, "crm")
    assert rec.delivered().count(events[2].id) == 3
    assert StateDir(state).load("crm").retries == []


def test_410_disables_and_the_cursor_waits_for_the_rest(tmp_path, fake_clock):
    events = [make_event(i) for i in range(5)]
    write_log(tmp_path / "clicks", events)
    rec = Recorder(lambda eid, n: httpx.Response(410 if eid == events[1].id else 204))
    _run([mock_target(rec)], tmp_path / "clicks", tmp_path / "state", fake_clock, concurrency=1)
    assert rec.delivered() == [events[0].id, events[1].id]
    store = StateDir(tmp_path / "state")
    assert store.load("crm").disabled is not None
    assert [d.event_id for d in store.read_dead_letters("crm")] == [events[1].id]
    assert any("410 Gone: disabled" in s for s in _run.said)  # type: ignore[attr-defined]
    _run([mock_target(rec)], tmp_path / "clicks", tmp_path / "state", fake_clock)
    assert len(rec.requests) == 2  # still disabled
    assert any("disabled since" in s for s in _run.said)  # type: ignore[attr-defined]
    moved = Recorder()
    _run([mock_target(moved, url="https://new.example/in")], tmp_path / "clicks", tmp_path / "state", fake_clock)
    assert moved.delivered() == [e.id for e in events[2:]]


def test_retry_after_wins_over_a_shorter_schedule(tmp_path, fake_clock):
    write_log(tmp_path / "clicks", [make_event(0)])
    rec = Recorder(lambda eid, n: httpx.Response(429, headers={"Retry-After": "120"}))
    _run([mock_target(rec)], tmp_path / "clicks", tmp_path / "state", fake_clock)
    (entry,) = StateDir(tmp_path / "state").load("crm").retries
    assert entry.next_at - fake_clock.now == pytest.approx(120, abs=0.5)


def test_redirects_are_failures_and_never_followed(tmp_path, fake_clock):
    write_log(tmp_path / "clicks", [make_event(0)])
    rec = Recorder(lambda eid, n: httpx.Response(302, headers={"Location": "http://169.254.169.254/latest"}))
    _run([mock_target(rec)], tmp_path / "clicks", tmp_path / "state", fake_clock)
    assert [r[0] for r in rec.requests] == ["https://hooks.example/in"]
    (entry,) = StateDir(tmp_path / "state").load("crm").retries
    assert entry.last_error == "HTTP 302 (redirects are never followed)"


def test_an_event_already_queued_for_retry_is_not_sent_twice_after_a_crash(tmp_path, fake_clock):
    """Crash between queueing a retry and the next cursor write: the log still has the event
    after the cursor, and the retry queue has it too. It is sent once, by the retry queue."""
    events = [make_event(i) for i in range(3)]
    write_log(tmp_path / "clicks", events)
    store = StateDir(tmp_path / "state")
    wid = webhook_id(events[1].id, "crm")
    from engine.webhooks import EndpointState, build_payload, encode_payload

    body = encode_payload(build_payload(events[1]))
    store.save("crm", EndpointState(files={}, retries=[RetryEntry(
        webhook_id=wid, event_id=events[1].id, type="click.human", body=msgspec.Raw(body), attempts=1,
        first_at=fake_clock.now - 10, next_at=fake_clock.now - 1)]))
    rec = Recorder()
    _run([mock_target(rec)], tmp_path / "clicks", tmp_path / "state", fake_clock)
    assert sorted(rec.delivered()) == sorted(e.id for e in events)


def test_tails_a_growing_active_file_through_its_rename(tmp_path, fake_clock):
    logs = tmp_path / "clicks"
    events = [make_event(i) for i in range(6)]
    active = write_log(logs, events[:3], active=True)
    rec = Recorder()
    state = tmp_path / "state"

    async def go() -> None:
        stop = asyncio.Event()
        opts = DispatchOptions(poll_interval=0.01, save_interval=0.01)
        task = asyncio.create_task(run_dispatcher([mock_target(rec)], logs, StateDir(state), opts,
                                                  clock=fake_clock.clock, stop=stop))

        async def until(n: int) -> None:
            while len(rec.requests) < n:
                await asyncio.sleep(0.01)

        await until(3)
        line = msgspec.json.encode(events[3]) + b"\n"
        with active.open("ab") as fh:  # a complete line and half of the next one
            fh.write(line + msgspec.json.encode(events[4])[:20])
        await until(4)
        with active.open("ab") as fh:
            fh.write(msgspec.json.encode(events[4])[20:] + b"\n")
        finished = active.with_name(active.name.removesuffix(".active"))
        active.rename(finished)
        write_log(logs, events[5:], seq=2, active=True)
        await until(6)
        stop.set()
        await task

    asyncio.run(go())
    assert rec.delivered() == [e.id for e in events]
    files = StateDir(state).load("crm").files
    assert len(files) == 2 and all(off > 0 for off in files.values())


def test_unreadable_lines_are_skipped_and_counted(tmp_path, fake_clock):
    path = write_log(tmp_path / "clicks", [make_event(0)])
    with path.open("ab") as fh:
        fh.write(b'{"not": "a click"}\n')
    write_log(tmp_path / "clicks", [make_event(1)])
    rec = Recorder()
    m = _run([mock_target(rec)], tmp_path / "clicks", tmp_path / "state", fake_clock)
    assert rec.delivered() == [make_event(0).id, make_event(1).id]
    assert m["crm"].unreadable_lines == 1


def test_metrics_file_in_prometheus_text_format(tmp_path, fake_clock):
    write_log(tmp_path / "clicks", [make_event(0), make_event(1)])
    rec = Recorder(lambda eid, n: httpx.Response(500 if eid == make_event(1).id else 204))
    _run([mock_target(rec)], tmp_path / "clicks", tmp_path / "state", fake_clock)
    text = (tmp_path / "state" / "metrics.prom").read_text()
    assert 'smslink_webhook_delivered_total{endpoint="crm"} 1\n' in text
    assert 'smslink_webhook_failed_total{endpoint="crm"} 1\n' in text
    assert 'smslink_webhook_pending_retries{endpoint="crm"} 1\n' in text
    assert "# TYPE smslink_webhook_lag_bytes gauge" in text
    assert render_metrics({}).count("# TYPE") == 9


def test_lag_is_measured_after_the_last_acknowledgement(tmp_path, fake_clock):
    """A --once run that delivered everything reports no lag (it used to report the
    bytes still in flight when the read pass ended)."""
    events = [make_event(i) for i in range(40)]
    write_log(tmp_path / "clicks", events)
    rec = Recorder()
    m = _run([mock_target(rec)], tmp_path / "clicks", tmp_path / "state", fake_clock)
    assert m["crm"].delivered == 40
    assert m["crm"].lag_bytes == 0


def test_lag_counts_what_is_left_when_an_event_cannot_settle(tmp_path, fake_clock):
    events = [make_event(i) for i in range(3)]
    path = write_log(tmp_path / "clicks", events)
    rec = Recorder(lambda eid, n: httpx.Response(410))  # disables the endpoint at the first event
    m = _run([mock_target(rec)], tmp_path / "clicks", tmp_path / "state", fake_clock)
    assert 0 < m["crm"].lag_bytes <= path.stat().st_size
