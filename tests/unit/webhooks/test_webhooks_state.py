"""Durable state: atomic cursor files, the run lock, dead letters that survive a concurrent retry."""

from __future__ import annotations

import os

import msgspec
import pytest

from engine.webhooks import (
    DeadLetter,
    EndpointState,
    RetryEntry,
    RunLock,
    StateDir,
    StateError,
    atomic_write,
)


def test_atomic_write_replaces_and_leaves_no_temp(tmp_path):
    path = tmp_path / "state.json"
    atomic_write(path, b"one")
    atomic_write(path, b"two")
    assert path.read_bytes() == b"two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_atomic_write_that_fails_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "state.json"
    atomic_write(path, b"old cursor")

    def boom(*_: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, b"new cursor")
    assert path.read_bytes() == b"old cursor"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_state_round_trip_and_corrupt_file(tmp_path):
    store = StateDir(tmp_path)
    assert store.load("crm") == EndpointState()
    st = EndpointState(files={"clicks-a": 120}, retries=[RetryEntry(
        webhook_id="msg_x", event_id="x", type="click.human", body=msgspec.Raw(b'{"a":1}'), attempts=2,
        first_at=1.0, next_at=9.0, last_error="HTTP 500")])
    store.save("crm", st)
    back = store.load("crm")
    assert back.files == {"clicks-a": 120}
    assert bytes(back.retries[0].body) == b'{"a":1}' and back.retries[0].attempts == 2
    (tmp_path / "endpoints" / "crm" / "state.json").write_bytes(b"{torn")
    with pytest.raises(StateError, match="unreadable dispatcher state"):
        store.load("crm")


def test_one_dispatcher_per_state_folder(tmp_path):
    first = RunLock(tmp_path)
    with pytest.raises(StateError, match=f"pid {os.getpid()}"):
        RunLock(tmp_path)
    first.release()
    RunLock(tmp_path).release()


def _letter(n: int) -> DeadLetter:
    return DeadLetter(webhook_id=f"msg_{n}", event_id=str(n), endpoint="crm", type="click.human", attempts=13,
                      first_attempt_at="2026-11-27T08:00:00Z", last_attempt_at="2026-11-30T03:00:00Z",
                      last_error="HTTP 500", payload=msgspec.Raw(b"{}"))


def test_dead_letters_appended_during_a_retry_are_kept(tmp_path):
    store = StateDir(tmp_path)
    store.append_dead_letters("crm", [_letter(1), _letter(2)])
    taken = store.take_dead_letters("crm")
    assert [d.webhook_id for d in taken] == ["msg_1", "msg_2"]
    store.append_dead_letters("crm", [_letter(3)])  # the dispatcher dead-letters one meanwhile
    store.finish_dead_letter_retry("crm", [taken[1]])  # msg_1 delivered, msg_2 still failing
    assert sorted(d.webhook_id for d in store.read_dead_letters("crm")) == ["msg_2", "msg_3"]
    assert not list((tmp_path / "endpoints" / "crm").glob("*retrying*"))


def test_an_interrupted_retry_loses_nothing(tmp_path):
    store = StateDir(tmp_path)
    store.append_dead_letters("crm", [_letter(1)])
    store.take_dead_letters("crm")  # then the process dies
    assert [d.webhook_id for d in store.read_dead_letters("crm")] == ["msg_1"]
    assert [d.webhook_id for d in store.take_dead_letters("crm")] == ["msg_1"]
