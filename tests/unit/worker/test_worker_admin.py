"""Metrics aggregation and the supervisor's verify/accept/refuse logic, without Granian (issue 3)."""

from __future__ import annotations

import io
import json
import os
import threading
from pathlib import Path
from typing import ClassVar

import pytest
from worker_unit_support import TOKENS, campaign

from engine.snapshot import publish_snapshot, write_snapshot
from engine.worker import ServeError, ServeOptions, Supervisor, resolve_source
from engine.worker._metrics import (
    LATENCY_BUCKETS,
    WorkerMetrics,
    read_worker_files,
    render_prometheus,
)


def test_prometheus_text_sums_workers(tmp_path):
    a, b = WorkerMetrics(pid=11), WorkerMetrics(pid=22)
    a.observe(302, "human", "redirect", 0.00003)
    a.observe(302, "human", "redirect", 0.0007)
    b.observe(302, "human", "redirect", 0.002)
    b.observe(404, "unjudged", "not-found", 0.00004)
    b.log_lost = 3
    a.snapshot_version = b.snapshot_version = "v1"
    a.dump(tmp_path)
    b.dump(tmp_path)
    text = render_prometheus(read_worker_files(tmp_path), {11}, {"reloads_ok": 2, "reloads_failed": 1,
                                                               "version": "v1", "config_commit": "abc"})
    assert 'smslink_requests_total{status="302",verdict="human"} 3' in text
    assert 'smslink_requests_total{status="404",verdict="unjudged"} 1' in text
    assert "smslink_click_log_write_failures_total 3" in text
    assert 'smslink_request_duration_seconds_bucket{le="+Inf"} 4' in text
    assert 'smslink_request_duration_seconds_bucket{le="5e-05"} 2' in text
    assert 'smslink_snapshot_reloads_total{result="refused"} 1' in text
    assert 'smslink_snapshot_info{version="v1",config_commit="abc"} 1' in text
    assert 'smslink_worker_snapshot_info{pid="11",version="v1"} 1' in text
    assert 'pid="22"' not in text  # dead workers count in totals, not in gauges
    for ln in text.splitlines():  # every sample line is "name{labels} value"
        if not ln.startswith("#"):
            float(ln.rsplit(" ", 1)[1])
    assert len(LATENCY_BUCKETS) + 1 == text.count("smslink_request_duration_seconds_bucket")


def _publish(tmp_path, name, **over):
    src = tmp_path / name
    write_snapshot(src, campaigns=[campaign(**over)], tokens=sorted(TOKENS, key=lambda t: t[0]))
    return publish_snapshot(src, tmp_path / "pub")


def _supervisor(tmp_path) -> Supervisor:
    opts = ServeOptions(snapshot=str(tmp_path / "pub"), logs=str(tmp_path / "clicks"),
                        run_dir=str(tmp_path / "run"), admin_port=None)
    return Supervisor(opts, err=io.StringIO())


def test_supervisor_accepts_new_and_refuses_corrupt_snapshots(tmp_path):
    first = _publish(tmp_path, "a.lmdb")
    sup = _supervisor(tmp_path)
    sup.prepare()
    state = json.loads(sup.state_file.read_text())
    assert state["path"] == str(first)
    second = _publish(tmp_path, "b.lmdb", brand="Other")
    sup.check_pointer()
    assert json.loads(sup.state_file.read_text())["path"] == str(second)
    assert sup.state.reloads_ok == 1

    # a corrupt file behind the pointer is refused; the state keeps the good one
    bad = tmp_path / "pub" / "snapshots" / "corrupt.lmdb"
    # every copy changed: an LMDB file also holds stale copies of rewritten pages
    bad.write_bytes(second.read_bytes().replace(b"cust-1001", b"Xust-1001"))
    os.symlink("snapshots/corrupt.lmdb", tmp_path / "pub" / ".tmp-link")
    os.replace(tmp_path / "pub" / ".tmp-link", tmp_path / "pub" / "current")
    sup.check_pointer()
    assert json.loads(sup.state_file.read_text())["path"] == str(second)
    assert sup.state.reloads_failed == 1
    assert sup.state.refused is not None and "checksum" in sup.state.refused["reason"]
    assert "refused snapshot" in sup.err.getvalue()  # type: ignore[attr-defined]
    sup.check_pointer()  # the same refused file is not re-verified every tick
    assert sup.state.reloads_failed == 1
    status, body = sup.readiness()
    assert status == 503 and body["reason"] == "no worker is running yet"
    assert body["refused"]["path"] == str(bad)
    sup.stop()


def test_supervisor_refuses_to_start_on_a_corrupt_snapshot(tmp_path):
    (tmp_path / "pub").mkdir()
    (tmp_path / "pub" / "current").write_bytes(b"x" * 10000)
    with pytest.raises(ServeError, match=r"not a readable snapshot|no meta|not a smslink"):
        _supervisor(tmp_path).prepare()


def test_supervisor_refuses_a_missing_snapshot(tmp_path):
    with pytest.raises(ServeError, match="smslink compile"):
        _supervisor(tmp_path).prepare()


def test_remote_sources_go_through_one_seam():
    assert resolve_source("build/current") == "build/current"
    with pytest.raises(ServeError, match=r"only s3://"):
        resolve_source("gs://bucket/prefix")


class _FakeMirror:
    """Stands in for engine.snapshot.S3Mirror (no network in unit tests)."""

    made: ClassVar[list[_FakeMirror]] = []
    fail: ClassVar[Exception | None] = None

    def __init__(self, url, local):
        self.url, self.local, self.syncs = url, local, 0
        _FakeMirror.made.append(self)

    def sync_once(self):
        self.syncs += 1
        if _FakeMirror.fail is not None:
            raise _FakeMirror.fail
        return True


def test_an_s3_source_is_synced_once_before_serving_into_the_cache_folder(tmp_path, monkeypatch):
    import engine.snapshot

    monkeypatch.setattr(engine.snapshot, "S3Mirror", _FakeMirror)
    monkeypatch.setattr(_FakeMirror, "made", [])
    monkeypatch.setattr(_FakeMirror, "fail", None)
    monkeypatch.setenv("SMSLINK_SNAPSHOT_CACHE", str(tmp_path / "cache"))
    assert resolve_source("s3://bucket/prefix") == str(tmp_path / "cache")
    (m,) = _FakeMirror.made
    assert (m.url, m.local) == ("s3://bucket/prefix", str(tmp_path / "cache"))
    assert m.syncs >= 1  # the first sync ran before the path was handed to the supervisor


def test_an_s3_source_with_nothing_published_fails_fast(tmp_path, monkeypatch):
    import engine.snapshot
    from engine.snapshot import PublishError

    monkeypatch.setattr(engine.snapshot, "S3Mirror", _FakeMirror)
    monkeypatch.setattr(_FakeMirror, "made", [])
    monkeypatch.setattr(_FakeMirror, "fail", PublishError("s3://bucket/prefix: nothing is published there yet"))
    monkeypatch.setenv("SMSLINK_SNAPSHOT_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ServeError, match="nothing is published there yet"):
        resolve_source("s3://bucket/prefix")
    monkeypatch.setattr(_FakeMirror, "fail", OSError("connection refused"))
    with pytest.raises(ServeError, match=r"cannot read the snapshot store.*connection refused"):
        resolve_source("s3://bucket/prefix")


class _Stop(BaseException):
    pass


def test_the_mirror_loop_reports_each_distinct_failure_once_and_keeps_going(capsys):
    from engine.worker._supervisor import _mirror_loop

    outcomes = [OSError("endpoint down"), OSError("endpoint down"), True, OSError("endpoint down"),
                ValueError("refused v2"), True, _Stop()]

    class Mirror:
        calls = 0

        def sync_once(self):
            Mirror.calls += 1
            out = outcomes.pop(0)
            if isinstance(out, BaseException):
                raise out
            return out

    with pytest.raises(_Stop):
        _mirror_loop(Mirror(), period=0)
    assert Mirror.calls == 7
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "smslink serve: snapshot mirror: OSError: endpoint down",
        "smslink serve: snapshot mirror: OSError: endpoint down",  # again after a success in between
        "smslink serve: snapshot mirror: ValueError: refused v2",
    ]


def test_a_temporary_s3_mirror_folder_is_removed_when_serving_stops(tmp_path, monkeypatch):
    import engine.snapshot

    monkeypatch.setattr(engine.snapshot, "S3Mirror", _FakeMirror)
    monkeypatch.setattr(_FakeMirror, "made", [])
    monkeypatch.setattr(_FakeMirror, "fail", None)
    monkeypatch.delenv("SMSLINK_SNAPSHOT_CACHE", raising=False)
    opts = ServeOptions(snapshot="s3://bucket/prefix", logs=str(tmp_path / "clicks"),
                        run_dir=str(tmp_path / "run"), admin_port=None)
    sup = Supervisor(opts, err=io.StringIO())
    local = Path(sup.source)
    assert local.is_dir() and local.name.startswith("smslink-s3-")
    (m,) = _FakeMirror.made
    assert m.local == str(local)
    sup.stop()
    assert not sup._source.thread.is_alive()  # the mirror stopped first: no sync into a removed folder
    assert not local.exists()


def test_a_chosen_s3_cache_folder_is_kept_and_a_failed_start_leaves_no_temporary_folder(tmp_path, monkeypatch):
    import tempfile

    import engine.snapshot
    from engine.worker._supervisor import open_source

    monkeypatch.setattr(engine.snapshot, "S3Mirror", _FakeMirror)
    monkeypatch.setattr(_FakeMirror, "made", [])
    monkeypatch.setattr(_FakeMirror, "fail", OSError("connection refused"))
    monkeypatch.delenv("SMSLINK_SNAPSHOT_CACHE", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    with pytest.raises(ServeError, match="connection refused"):
        open_source("s3://bucket/prefix")
    assert list((tmp_path / "tmp").iterdir()) == []  # the temporary mirror folder went with the failure
    monkeypatch.setattr(_FakeMirror, "fail", None)
    monkeypatch.setenv("SMSLINK_SNAPSHOT_CACHE", str(tmp_path / "cache"))
    src = open_source("s3://bucket/prefix", threading.Event())
    assert src.path == str(tmp_path / "cache") and src.temp_dir is None
