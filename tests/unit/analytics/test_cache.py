"""``--cache``: a Parquet copy of each finished log file, reused while the file is unchanged.

The report over the copies must equal the report over the JSON; a finished
file that changes (size or modification time) gets a new copy, and an active
file is never copied into the cache (it is still being written).
"""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path

import msgspec

from engine.analytics import ReportOptions, build_report, count_sent
from engine.analytics._load import cache_name
from engine.analytics._sql import REPORT_COLUMNS
from engine.clicklog import ClickEvent
from engine.snapshot import open_snapshot


def _data(snap: Path, logs: Path, cache: Path | None = None, **kw) -> dict:
    with build_report(ReportOptions(logs=str(logs), snapshot=str(snap),
                                    cache_dir=None if cache is None else str(cache), **kw)) as rep:
        return rep.data


def _copies(cache: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in cache.iterdir() if p.suffix == ".parquet"}


def test_cached_report_equals_the_json_report_and_reuses_its_copies(fixture_paths, tmp_path):
    snap, logs = fixture_paths
    cache = tmp_path / "cache"
    plain = _data(snap, logs)
    assert _data(snap, logs, cache) == plain  # cold: the copies are written
    finished = sorted(p for p in logs.iterdir() if p.name.endswith((".jsonl", ".jsonl.gz")))
    assert finished and sorted(_copies(cache)) == sorted(cache_name(p, REPORT_COLUMNS) for p in finished)
    assert not any(".active" in name for name in _copies(cache))  # an active file is never cached
    before = _copies(cache)
    assert _data(snap, logs, cache) == plain  # warm: read from the copies, none rewritten
    assert _copies(cache) == before
    # filters apply to the copies as they do to the JSON (a window that cuts the fixture's clicks)
    first, last = (int(datetime.fromisoformat(plain["logs"][k].replace("Z", "+00:00")).timestamp() * 1000)
                   for k in ("first_click", "last_click"))
    window = {"since_ms": first + 1, "until_ms": last, "campaigns": ("spring",)}
    cut = _data(snap, logs, cache, **window)
    assert cut == _data(snap, logs, **window)
    assert 0 < cut["logs"]["lines"] < plain["logs"]["lines"]


def test_a_changed_finished_file_gets_a_new_copy(fixture_paths, tmp_path):
    snap, original = fixture_paths
    logs = tmp_path / "clicks"
    shutil.copytree(original, logs)
    cache = tmp_path / "cache"
    first = _data(snap, logs, cache)
    plain = next(p for p in logs.iterdir() if p.name.endswith(".jsonl"))
    old_name = cache_name(plain, REPORT_COLUMNS)
    line = msgspec.json.encode(ClickEvent(
        id="01JZZZZZZZZZZZZZZZZZZZZZZZ", ts=1_804_000_000_000, kind="orphan", status=404, answer="not-found",
        verdict="bot", token="XNOPE", ip="198.51.100.0/24",
    ))
    with open(plain, "ab") as fh:
        fh.write(line + b"\n")
    second = _data(snap, logs, cache)
    assert second["logs"]["lines"] == first["logs"]["lines"] + 1
    assert second == _data(snap, logs)
    assert cache_name(plain, REPORT_COLUMNS) != old_name
    assert cache_name(plain, REPORT_COLUMNS) in _copies(cache)


def test_the_snapshot_counts_are_kept_in_the_cache_and_read_back(fixture_paths, tmp_path):
    snap, logs = fixture_paths
    cache = tmp_path / "cache"
    plain = _data(snap, logs)
    assert _data(snap, logs, cache) == plain
    (kept,) = cache.glob("sent-*.json")
    written = kept.stat().st_mtime_ns
    assert _data(snap, logs, cache) == plain
    assert kept.stat().st_mtime_ns == written  # read back, not counted again
    with open_snapshot(snap) as s:
        fresh = count_sent(s)
        assert count_sent(s, cache_dir=cache) == fresh
        assert count_sent(s, ("spring",), cache_dir=cache) == [c for c in fresh if c.id == "spring"]
    # what the cache says is what is reported: a doctored count shows (so it is really read)
    kept.write_bytes(kept.read_bytes().replace(b'"sent":', b'"sent":1', 1))
    assert _data(snap, logs, cache)["campaigns"][0]["sent"] != plain["campaigns"][0]["sent"]


def test_the_counts_the_snapshot_keeps_equal_a_pass_over_its_tokens(fixture_paths, monkeypatch):
    """New snapshots carry their recipients per arm (meta ``recipients_by_arm``); older ones are counted."""
    snap, _ = fixture_paths
    with open_snapshot(snap) as s:
        kept = s.meta.recipients_by_arm
        assert kept.get("v") == 1 and len(kept) > 2
        from_meta = count_sent(s)
        monkeypatch.setattr(s, "meta", msgspec.structs.replace(s.meta, recipients_by_arm={}))  # an older snapshot
        counted = count_sent(s)
        assert counted == from_meta
        assert sum(c.sent + c.holdout for c in counted) == s.meta.counts["recipient_tokens"]
        # the meta's counts are what is reported: a doctored one shows
        doctored = {**kept, next(k for k in kept if k != "v" and not k.endswith("retired")): 10**6}
        monkeypatch.setattr(s, "meta", msgspec.structs.replace(s.meta, recipients_by_arm=doctored))
        assert count_sent(s) != counted
