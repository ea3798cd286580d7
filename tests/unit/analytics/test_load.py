"""Reading active log files: only complete lines count (a torn tail never does)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.analytics._load import LogSet, complete_lines, find_logs


@pytest.mark.parametrize(
    ("content", "kept"),
    [
        pytest.param(b'{"a":1}\n{"a":2}\n', b'{"a":1}\n{"a":2}\n', id="complete"),
        pytest.param(b'{"a":1}\n{"a":', b'{"a":1}\n', id="torn tail"),
        pytest.param(b'{"a":', b"", id="only a torn line"),
        pytest.param(b"", b"", id="empty"),
        pytest.param(b"x" * 70_000 + b"\n" + b"y" * 140_000, b"x" * 70_000 + b"\n", id="newline far from the end"),
    ],
)
def test_active_files_are_cut_after_their_last_newline(tmp_path, content, kept):
    logs = tmp_path / "clicks"
    logs.mkdir()
    (logs / "clicks-20270301T150000Z-w-1-000001.jsonl.active").write_bytes(content)
    found = find_logs(logs)
    assert found.active and not found.finished
    work = tmp_path / "work"
    work.mkdir()
    cut = complete_lines(found, work)
    assert cut.active == ()
    assert [Path(p).read_bytes() for p in cut.finished] == [kept]


def test_finished_and_gzip_files_are_read_as_they_are(tmp_path):
    logs = tmp_path / "clicks"
    logs.mkdir()
    (logs / "clicks-20270301T150000Z-w-1-000001.jsonl").write_bytes(b"{}\n")
    (logs / "clicks-20270301T160000Z-w-1-000002.jsonl.gz").write_bytes(b"")
    (logs / "notes.txt").write_text("not a log")
    found = find_logs(logs)
    assert [p.rsplit("/", 1)[1] for p in found.finished] == [
        "clicks-20270301T150000Z-w-1-000001.jsonl", "clicks-20270301T160000Z-w-1-000002.jsonl.gz",
    ]
    assert complete_lines(found, tmp_path) == LogSet(found.finished, ())
