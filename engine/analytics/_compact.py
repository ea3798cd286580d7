"""``smslink logs compact``: the report's Parquet copies of finished log files, made ahead of time.

A report with ``--cache DIR`` parses the JSON of a finished log file once and
reads its Parquet copy ever after (see ``_load.cache_name``). Run by a
scheduled job during the day, ``compact_logs`` makes those copies as files
finish, so the report itself reads no JSON but the active files'. It runs in
its own process, never in the worker (which must stay light and never imports
DuckDB). Active files are never copied: they are still being written.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import _sql
from ._load import LogSet, Progress, _cached_copies, cache_name, connect, find_logs, make_cache_dir

#: The column sets a report reads: plain, and with ``--rejudge`` (the classifier's input too).
COLUMN_SETS: tuple[tuple[str, ...], ...] = (
    _sql.REPORT_COLUMNS,
    _sql.REPORT_COLUMNS + _sql.CLASSIFIER_COLUMNS,
)


@dataclass(frozen=True)
class Compacted:
    """What ``compact_logs`` did."""

    finished: int  # finished log files found
    written: int  # copies written now
    kept: int  # copies that were already there
    pruned: int  # stale copies removed (with ``prune``)
    skipped_active: int  # active files, never copied


def compact_logs(
    logs: str | os.PathLike[str],
    cache_dir: str | os.PathLike[str],
    *,
    prune: bool = False,
    rejudge_columns: bool = False,
    memory_limit: str = "1200MB",
    progress: Progress | None = None,
) -> Compacted:
    """Write the missing Parquet copies of the finished files of ``logs`` into ``cache_dir``.

    The copies are exactly what ``smslink report --cache DIR`` writes and
    reads (same names, same columns). ``rejudge_columns`` also writes the
    copies a ``--rejudge`` report reads. ``prune`` removes the copies in
    ``cache_dir`` that belong to no current finished file (a file deleted,
    archived or changed since), for both column sets.

    Raises ``ReportError`` when the logs cannot be read or the folder made.
    """
    found = find_logs(logs)
    make_cache_dir(cache_dir)
    cache = Path(cache_dir)
    sets = COLUMN_SETS if rejudge_columns else COLUMN_SETS[:1]
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="smslink-compact-") as tmp:
        con = connect(memory_limit, tmp)
        try:
            for s in _sql.create_types_sql():
                con.execute(s)
            for columns in sets:
                _cached_copies(con, LogSet(found.finished, ()), columns, cache, Path(tmp),
                               frozenset(found.finished), progress, written)
        finally:
            con.close()
    pruned = 0
    if prune:
        current = {cache_name(f, cols) for f in found.finished for cols in COLUMN_SETS}
        for p in cache.glob("*.parquet"):
            if p.name not in current:
                p.unlink(missing_ok=True)
                pruned += 1
    return Compacted(
        finished=len(found.finished),
        written=len(written),
        kept=len(found.finished) * len(sets) - len(written),
        pruned=pruned,
        skipped_active=len(found.active),
    )
