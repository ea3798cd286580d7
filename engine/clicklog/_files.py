"""Click-log files: naming, listing and reading (the writer lives in _writer.py).

Naming (docs/click-log.md)::

    <logs>/clicks-<UTC start, %Y%m%dT%H%M%SZ>-<host>-<pid>-<seq>.jsonl.active   being written
    <logs>/clicks-<...same stem...>.jsonl                                       finished (renamed atomically)
    <logs>/clicks-<...same stem...>.jsonl.gz                                    finished, compressed by a shipper

The *stem* (name without ``.jsonl...``) is stable across the rename, so a
reader's cursor ``(stem, byte offset)`` survives rotation. Offsets count
uncompressed bytes. A line is complete only when it ends in ``\\n``: a reader
never yields a trailing partial line (a write in progress, or a torn write
from a killed worker, which the writer's single ``write(2)`` makes unlikely).
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import msgspec

from ._record import ClickEvent

PREFIX = "clicks-"
ACTIVE_SUFFIX = ".jsonl.active"
FINISHED_SUFFIX = ".jsonl"
GZIP_SUFFIX = ".jsonl.gz"

_decoder = msgspec.json.Decoder(ClickEvent)


@dataclass(frozen=True, order=True)
class LogFile:
    """One click-log file. Ordered by stem, which starts with the file's UTC start time."""

    stem: str
    path: Path
    finished: bool


def stem_of(name: str) -> str | None:
    """The stem of a click-log file name, or None for files that are not click logs."""
    if not name.startswith(PREFIX):
        return None
    for suffix in (ACTIVE_SUFFIX, GZIP_SUFFIX, FINISHED_SUFFIX):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return None


def list_log_files(logs: str | os.PathLike[str]) -> list[LogFile]:
    """Every click-log file under ``logs`` (not recursive), oldest first.

    When a stem exists both as active and finished (a rename racing the
    listing), the finished one wins.
    """
    found: dict[str, LogFile] = {}
    folder = Path(logs)
    if not folder.is_dir():
        return []
    for entry in os.scandir(folder):
        stem = stem_of(entry.name)
        if stem is None or not entry.is_file():
            continue
        lf = LogFile(stem=stem, path=Path(entry.path), finished=not entry.name.endswith(ACTIVE_SUFFIX))
        prev = found.get(stem)
        if prev is None or (lf.finished and not prev.finished):
            found[stem] = lf
    return sorted(found.values())


def read_lines(path: str | os.PathLike[str], offset: int = 0) -> Iterator[tuple[bytes, int]]:
    """Complete lines of a log file from ``offset``: yields (line without newline, offset after it)."""
    p = Path(path)
    opener = gzip.open if p.name.endswith(".gz") else open
    with opener(p, "rb") as fh:
        if offset:
            fh.seek(offset)
        pos = offset
        for line in fh:
            if not line.endswith(b"\n"):
                return  # partial tail: not yet (or never) complete
            pos += len(line)
            yield line[:-1], pos


def read_events(path: str | os.PathLike[str], offset: int = 0) -> Iterator[tuple[ClickEvent, int]]:
    """Decoded events of a log file from ``offset``: yields (event, offset after its line).

    A complete line that does not decode raises ``msgspec.DecodeError`` with
    the file and offset in the message; a log written by smslink has none.
    """
    start = offset
    for raw, end in read_lines(path, offset):
        if raw.strip():
            try:
                yield _decoder.decode(raw), end
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise msgspec.DecodeError(f"{path}: line at byte {start}: {exc}") from exc
        start = end
