"""The rotating click-log writer, event ids and IP truncation (issue 3)."""

from __future__ import annotations

import os
import re
import sys
import time

import msgspec
import pytest

from engine.clicklog import (
    ClickEvent,
    ClickLogWriter,
    EventIds,
    WriterOptions,
    finish_stale_files,
    list_log_files,
    read_events,
    truncate_ip,
    ulid_time_ms,
)
from engine.clicklog import _writer as writer_mod

NAME = re.compile(r"^clicks-\d{8}T\d{6}Z-testhost-4242-\d{4}\.jsonl(\.active)?$")


class Clock:
    def __init__(self, t: float = 1_800_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def line(i: int) -> bytes:
    ev = ClickEvent(id=f"{i:026d}", ts=i, kind="click", status=302, answer="redirect")
    return msgspec.json.encode(ev) + b"\n"


def make(tmp_path, **opts) -> tuple[ClickLogWriter, Clock]:
    clock = Clock()
    w = ClickLogWriter(tmp_path, options=WriterOptions(**opts), host="testhost", pid=4242, clock=clock)
    return w, clock


def all_ids(tmp_path) -> list[str]:
    return [ev.id for lf in list_log_files(tmp_path) for ev, _ in read_events(lf.path)]


def test_lines_go_to_one_active_file_then_finish_on_close(tmp_path):
    w, _ = make(tmp_path)
    for i in range(10):
        assert w.write(line(i))
    active = w.active_path
    assert active is not None and active.name.endswith(".jsonl.active") and NAME.match(active.name)
    w.close()
    files = sorted(os.listdir(tmp_path))
    assert len(files) == 1 and files[0].endswith(".jsonl") and NAME.match(files[0])
    assert all_ids(tmp_path) == [f"{i:026d}" for i in range(10)]


def test_rotates_by_size_without_splitting_a_line(tmp_path):
    size = len(line(0))
    w, _ = make(tmp_path, max_bytes=size * 3 + 1)
    for i in range(10):
        assert w.write(line(i))
    w.close()
    files = list_log_files(tmp_path)
    assert len(files) == 4 and all(f.finished for f in files)
    for f in files:
        data = f.path.read_bytes()
        assert len(data) <= size * 3 + 1 and data.endswith(b"\n")
    assert all_ids(tmp_path) == [f"{i:026d}" for i in range(10)]


def test_rotates_by_age_at_the_next_write_and_on_tick(tmp_path):
    w, clock = make(tmp_path, max_age_s=60)
    w.write(line(0))
    clock.t += 61
    w.write(line(1))
    assert len([f for f in list_log_files(tmp_path) if f.finished]) == 1
    clock.t += 61
    w.tick()  # no new line: the idle file is finished anyway
    files = list_log_files(tmp_path)
    assert len(files) == 2 and all(f.finished for f in files)
    assert w.active_path is None


def test_an_unused_writer_leaves_no_file(tmp_path):
    w, _ = make(tmp_path)
    w.close()
    assert os.listdir(tmp_path) == []


def test_disk_full_loses_the_line_not_the_request(tmp_path):
    w, _ = make(tmp_path)
    assert w.write(line(0))
    real_fd = w._fd
    full = os.open("/dev/full", os.O_WRONLY)
    w._fd = full  # every write now fails with ENOSPC
    assert w.write(line(1)) is False
    assert w.lines_lost == 1
    assert "No space left" in (w.last_error or "")
    w._fd = real_fd
    os.close(full)
    assert w.write(line(2))
    w.close()
    assert all_ids(tmp_path) == [f"{0:026d}", f"{2:026d}"]


def test_a_short_write_is_cut_back_so_no_torn_line_stays(tmp_path, monkeypatch):
    w, _ = make(tmp_path)
    w.write(line(0))
    real_write = os.write
    monkeypatch.setattr(writer_mod.os, "write", lambda fd, data: real_write(fd, data[:7]))
    assert w.write(line(1)) is False
    monkeypatch.setattr(writer_mod.os, "write", real_write)
    assert w.write(line(2))
    path = w.active_path
    assert path is not None
    data = path.read_bytes()
    assert data == line(0) + line(2)
    assert w.lines_lost == 1 and w.lines_written == 2


def test_unwritable_folder_counts_lost_lines(tmp_path):
    w, _ = make(tmp_path / "logs")
    os.rmdir(tmp_path / "logs")
    (tmp_path / "logs").write_text("not a folder")
    assert w.write(line(0)) is False
    assert w.lines_lost == 1 and w.last_error


def test_stale_active_files_of_dead_pids_are_finished_and_cut(tmp_path):
    dead = tmp_path / "clicks-20270101T000000Z-testhost-99999-0001.jsonl.active"
    dead.write_bytes(line(0) + line(1) + b'{"id":"torn')
    alive = tmp_path / "clicks-20270101T000000Z-testhost-4242-0001.jsonl.active"
    alive.write_bytes(line(5))
    other = tmp_path / "clicks-20270101T000000Z-otherhost-99999-0001.jsonl.active"
    other.write_bytes(line(7))
    done = finish_stale_files(tmp_path, host="testhost", is_alive=lambda pid: pid == 4242)
    assert [p.name for p in done] == ["clicks-20270101T000000Z-testhost-99999-0001.jsonl"]
    assert done[0].read_bytes() == line(0) + line(1)
    assert alive.exists() and other.exists()


@pytest.mark.parametrize(
    ("ip", "net"),
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("10.0.0.1", "10.0.0.0/24"),
        ("2001:db8:abcd:12:3456::1", "2001:db8:abcd::/48"),
        ("::ffff:198.51.100.23", "198.51.100.0/24"),
        ("fe80::1%eth0", "fe80::/48"),
        ("999.1.1.1", ""),
        ("1.2.3", ""),
        ("not-an-ip", ""),
        ("", ""),
    ],
)
def test_truncate_ip(ip, net):
    assert truncate_ip(ip) == net


def test_event_ids_sort_by_time_and_are_unique():
    ids = EventIds()
    ms = 1_800_000_000_000
    made = [ids.new(ms + i // 1000) for i in range(50_000)]
    assert len(set(made)) == len(made)
    assert made == sorted(made)
    assert all(len(x) == 26 and re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{26}", x) for x in made[:100])
    assert ulid_time_ms(made[0]) == ms and ulid_time_ms(made[-1]) == ms + 49


def test_event_ids_stay_sorted_when_the_clock_steps_back():
    ids = EventIds()
    a = ids.new(2_000_000)
    b = ids.new(1_000_000)
    assert b > a


# ----------------------------------------------- finishing in the background
def test_background_rotation_never_fsyncs_on_the_writing_thread(tmp_path, monkeypatch):
    """A rotated file is fsynced, closed and renamed by the finisher thread; writes go on meanwhile."""
    import threading

    release = threading.Event()
    fsync_threads: list[str] = []
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        fsync_threads.append(threading.current_thread().name)
        assert release.wait(10), "the test never released the finisher"
        real_fsync(fd)

    monkeypatch.setattr(writer_mod.os, "fsync", slow_fsync)
    clock = Clock()
    w = ClickLogWriter(tmp_path, options=WriterOptions(max_bytes=len(line(0)) * 3), host="testhost",
                       pid=4242, clock=clock, background=True)
    for i in range(7):  # three files: 3 + 3 + 1 lines
        assert w.write(line(i))
    # the first rotation's fsync is still held, yet every write went through
    assert w.lines_written == 7
    names = sorted(os.listdir(tmp_path))
    assert len(names) == 3 and all(n.endswith(".jsonl.active") for n in names), names
    release.set()
    w.close()
    assert fsync_threads and set(fsync_threads) == {"smslink-log-finisher"}
    names = sorted(os.listdir(tmp_path))
    assert len(names) == 3 and all(n.endswith(".jsonl") for n in names), names
    assert w.files_finished == 3
    assert all_ids(tmp_path) == [f"{i:026d}" for i in range(7)]


@pytest.mark.skipif(sys.platform != "linux", reason="a per-thread nice value is Linux's")
@pytest.mark.parametrize("nice", [19, 0])
def test_the_finisher_thread_yields_the_core_to_requests(tmp_path, nice):
    """The fsync of a rotated file runs at the finisher's nice value; the writing thread keeps its own."""
    before = os.getpriority(os.PRIO_PROCESS, 0)  # this thread's
    w = ClickLogWriter(tmp_path, options=WriterOptions(finisher_nice=nice), host="testhost",
                       pid=4242, clock=Clock(), background=True)
    try:
        tid = w._finisher.native_id
        want = nice if nice else before  # 0: left as it was
        deadline = time.monotonic() + 5
        while os.getpriority(os.PRIO_PROCESS, tid) != want and time.monotonic() < deadline:
            time.sleep(0.01)
        assert os.getpriority(os.PRIO_PROCESS, tid) == want
        assert os.getpriority(os.PRIO_PROCESS, 0) == before
    finally:
        w.close()


def test_background_close_finishes_everything_and_drops_empty_files(tmp_path):
    w = ClickLogWriter(tmp_path, options=WriterOptions(max_bytes=len(line(0)) * 2), host="testhost",
                       pid=4242, clock=Clock(), background=True)
    for i in range(5):
        assert w.write(line(i))
    w.close()
    w.close()  # twice is fine
    names = sorted(os.listdir(tmp_path))
    assert len(names) == 3 and all(n.endswith(".jsonl") for n in names)
    assert all_ids(tmp_path) == [f"{i:026d}" for i in range(5)]
