"""``smslink logs compact``: the report's Parquet copies made ahead of time (issue 6's speed goal).

A report after compaction must read the copies (no copy written, none
rewritten) and equal the report over the JSON; active files are never
copied; ``--prune`` removes only the copies of files that are gone or changed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from engine.analytics import ReportOptions, build_report, compact_logs
from engine.analytics._load import cache_name
from engine.analytics._sql import CLASSIFIER_COLUMNS, REPORT_COLUMNS
from engine.cli import main


def _data(snap: Path, logs: Path, cache: Path | None = None) -> dict:
    with build_report(ReportOptions(logs=str(logs), snapshot=str(snap),
                                    cache_dir=None if cache is None else str(cache))) as rep:
        return rep.data


def _copies(cache: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in cache.glob("*.parquet")}


def _finished(logs: Path) -> list[Path]:
    return sorted(p for p in logs.iterdir() if p.name.endswith((".jsonl", ".jsonl.gz")))


def test_a_report_after_compaction_reads_the_copies_and_equals_the_json_report(fixture_paths, tmp_path):
    snap, logs = fixture_paths
    cache = tmp_path / "cache"
    done = compact_logs(logs, cache)
    finished = _finished(logs)
    assert any(p.name.endswith(".active") for p in logs.iterdir())  # the fixture has an active file
    assert (done.finished, done.written, done.kept, done.pruned) == (len(finished), len(finished), 0, 0)
    assert done.skipped_active == sum(p.name.endswith(".active") for p in logs.iterdir())
    assert sorted(_copies(cache)) == sorted(cache_name(p, REPORT_COLUMNS) for p in finished)
    before = _copies(cache)
    assert _data(snap, logs, cache) == _data(snap, logs)
    assert _copies(cache) == before  # the report wrote no copy and rewrote none
    again = compact_logs(logs, cache)
    assert (again.written, again.kept) == (0, len(finished))
    assert _copies(cache) == before


def test_rejudge_columns_writes_the_copies_a_rejudge_report_reads(fixture_paths, tmp_path):
    _, logs = fixture_paths
    cache = tmp_path / "cache"
    done = compact_logs(logs, cache, rejudge_columns=True)
    finished = _finished(logs)
    want = {cache_name(p, cols) for p in finished for cols in (REPORT_COLUMNS, REPORT_COLUMNS + CLASSIFIER_COLUMNS)}
    assert set(_copies(cache)) == want
    assert done.written == 2 * len(finished)


def test_prune_removes_only_the_copies_of_files_gone_or_changed(fixture_paths, tmp_path):
    snap, original = fixture_paths
    logs = tmp_path / "clicks"
    shutil.copytree(original, logs)
    cache = tmp_path / "cache"
    compact_logs(logs, cache, rejudge_columns=True)
    changed = next(p for p in _finished(logs) if p.name.endswith(".jsonl"))
    gone = next(p for p in _finished(logs) if p != changed)
    both = (REPORT_COLUMNS, REPORT_COLUMNS + CLASSIFIER_COLUMNS)
    stale = {cache_name(p, cols) for p in (gone, changed) for cols in both}
    gone.unlink()
    with open(changed, "ab") as fh:
        fh.write(changed.read_bytes().splitlines(keepends=True)[0])  # one more (complete) line
    (cache / "sent-0123.json").write_text("[]")  # the snapshot counts are not copies: kept
    kept_before = set(_copies(cache)) - stale
    done = compact_logs(logs, cache, prune=True)
    assert done.pruned == len(stale)
    assert stale.isdisjoint(_copies(cache))
    assert kept_before <= set(_copies(cache))
    assert cache_name(changed, REPORT_COLUMNS) in _copies(cache)  # the changed file got its new copy
    assert (cache / "sent-0123.json").exists()
    assert _data(snap, logs, cache) == _data(snap, logs)


def test_the_cli_compacts_and_reports_what_it_did(fixture_paths, tmp_path):
    _, logs = fixture_paths
    cache = tmp_path / "cache"
    n = len(_finished(logs))
    res = CliRunner().invoke(main, ["logs", "compact", "--logs", str(logs), "--cache", str(cache)])
    assert res.exit_code == 0, res.output
    assert f"{n} finished log files: {n} copies written, 0 already there;" in res.output
    assert cache.stat().st_mode & 0o077 == 0  # owner-only: the copies hold tokens and recipient ids
    res = CliRunner().invoke(main, ["logs", "compact", "--logs", str(logs), "--cache", str(cache), "--prune"])
    assert res.exit_code == 0, res.output
    assert f"0 copies written, {n} already there, 0 stale copies removed" in res.output


def test_the_cli_says_when_the_logs_are_missing(tmp_path):
    res = CliRunner().invoke(main, ["logs", "compact", "--logs", str(tmp_path / "nope"), "--cache", str(tmp_path / "c")])
    assert res.exit_code == 1
    assert "no such folder of click logs" in res.output
    assert "Traceback" not in res.output
