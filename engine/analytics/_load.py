"""DuckDB over the click logs: the ``clicks`` view for ad-hoc SQL, the report's table.

Every line is read strictly: a complete line that does not parse is an error
that names the file. An active file (``.jsonl.active``) may end in a write in
progress; the report reads a copy of it cut after its last newline (the same
rule as engine.clicklog.read_lines: a line is complete only with its ``\\n``).
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from engine.clicklog import list_log_files

if TYPE_CHECKING:
    import pyarrow as pa

from . import _scanner, _sql

#: Called with the fraction (0..1) of a long query done.
Progress = Callable[[float], None]


class ReportError(Exception):
    """The report cannot be made: missing logs, unreadable files, bad options. The message says why."""


@dataclass(frozen=True)
class LogSet:
    """The log files a report reads."""

    finished: tuple[str, ...]  # .jsonl and .jsonl.gz
    active: tuple[str, ...]  # .jsonl.active

    @property
    def count(self) -> int:
        return len(self.finished) + len(self.active)


def find_logs(logs: str | os.PathLike[str]) -> LogSet:
    """The click-log files in folder ``logs`` (or ``logs`` itself when it is one file)."""
    p = Path(logs)
    if p.is_file():
        name = str(p)
        return LogSet((), (name,)) if name.endswith(".active") else LogSet((name,), ())
    if not p.is_dir():
        raise ReportError(f"{logs}: no such folder of click logs")
    files = list_log_files(p)
    return LogSet(
        tuple(str(f.path) for f in files if f.finished),
        tuple(str(f.path) for f in files if not f.finished),
    )


def connect(memory_limit: str = "1200MB", temp_dir: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills to ``temp_dir`` beyond ``memory_limit``."""
    con = duckdb.connect(config={"preserve_insertion_order": False})
    con.execute(f"SET memory_limit = '{memory_limit}'")
    con.execute(f"SET temp_directory = '{temp_dir or tempfile.gettempdir()}'")
    return con


def complete_lines(logs: LogSet, into: str | os.PathLike[str]) -> LogSet:
    """``logs`` with each active file replaced by a copy in ``into`` that ends at its last newline."""
    copies = []
    for i, name in enumerate(logs.active):
        dest = Path(into) / f"active-{i:04d}.jsonl"
        with open(name, "rb") as src, open(dest, "wb") as out:
            size = os.fstat(src.fileno()).st_size  # the writer may append while we copy: stop here
            left = size
            while left > 0:
                chunk = src.read(min(left, 1 << 20))
                if not chunk:
                    break
                out.write(chunk)
                left -= len(chunk)
        _cut_after_last_newline(dest)
        copies.append(str(dest))
    return LogSet(logs.finished + tuple(copies), ())


def _cut_after_last_newline(path: Path) -> None:
    with open(path, "r+b") as fh:
        end = fh.seek(0, os.SEEK_END)
        pos = end
        while pos > 0:
            step = min(pos, 1 << 16)
            fh.seek(pos - step)
            block = fh.read(step)
            nl = block.rfind(b"\n")
            if nl >= 0:
                fh.truncate(pos - step + nl + 1)
                return
            pos -= step
        fh.truncate(0)


def source_sql(logs: LogSet, columns: tuple[str, ...], *, compact: bool = False) -> str:
    """One SELECT over every finished file of ``logs`` with ``columns``, defaults restored.

    Active files must have gone through ``complete_lines`` first.
    """
    if logs.active:
        raise ValueError("active log files must be cut at their last newline first (complete_lines)")
    if not logs.finished:
        return _sql.empty_sql(columns, compact=compact)
    return _sql.read_json_sql(list(logs.finished), columns, compact=compact)


def create_clicks_view(con: duckdb.DuckDBPyConnection, logs: LogSet) -> None:
    """The ``clicks`` view with every field of the public schema, plus ``at`` (TIMESTAMPTZ).

    ``logs`` must hold finished files only (see ``complete_lines``).
    """
    cols = tuple(_sql.COLUMNS)
    con.execute(
        f"CREATE OR REPLACE VIEW clicks AS SELECT *, to_timestamp(ts / 1000) AS at FROM ({source_sql(logs, cols)})"
    )


@dataclass
class Loaded:
    """How ``load_clicks`` read the logs, and the Arrow tables it registered on the connection.

    A registered object is seen by that connection only (not by its
    cursors), and the registration keeps it alive.
    """

    tables: dict[str, pa.Table]
    rows: int = 0  # rows read by the compiled reader
    declined: tuple[tuple[str, int, str], ...] = ()  # (file, line, why) read by DuckDB instead
    spilled: tuple[Path, ...] = ()  # the reader's tables beyond the memory budget, as Parquet
    arrow_bytes: int = 0  # what the tables held in memory take
    copies: int = 0  # files read from their Parquet copies (``cache_dir``)
    #: When every click of ``clicks_logged`` is in the reader's table
    #: (``clicks_arrow``: none spilled, declined or cached): that table and
    #: the load's filters. The stream step then gathers the few rows it
    #: keeps from it with Arrow instead of copying them through DuckDB.
    reader_only: ReaderRows | None = None


@dataclass(frozen=True)
class ReaderRows:
    """Every click of ``clicks_logged``: the reader's ``table`` under the load's filters (``where``)."""

    table: pa.Table
    where: str  # "" or " WHERE ...": what clicks_logged applies to the table


def load_clicks(
    con: duckdb.DuckDBPyConnection,
    logs: LogSet,
    *,
    columns: tuple[str, ...],
    work_dir: str | os.PathLike[str],
    since_ms: int | None = None,
    until_ms: int | None = None,
    campaigns: tuple[str, ...] = (),
    progress: Progress | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    cacheable: frozenset[str] = frozenset(),
    memory_budget: int | None = None,
) -> Loaded:
    """Read the logs once (the only scan of the JSON); view ``clicks_logged``.

    Without ``cache_dir``, the compiled reader (``_scanner``) reads each file
    into Arrow tables held in memory (strings as per-file dictionaries, or
    plain for the per-click ones: token, recipient, address), about 88 bytes
    a click; the files it declines, and every file when it is not built or
    ``columns`` has a field it does not read (``--rejudge``'s headers), are
    read by DuckDB's ``read_json`` into a compact Parquet copy, with ENUMs
    for closed vocabularies and dictionary-encoded strings, streamed, not
    held, by every later query. The reader's tables stay in memory up to
    ``memory_budget`` bytes (default: unbounded); the files after that are
    written to Parquet in ``work_dir`` as they are read (the reader's own
    Arrow writer, much cheaper than DuckDB's parse and copy).
    ``since_ms``/``until_ms`` bound ``ts`` as [since, until). ``campaigns``
    keeps those campaigns' clicks; orphan requests (no campaign) are always kept.

    With ``cache_dir``, each file of ``logs.finished`` that is in ``cacheable``
    (finished files are immutable) gets its own copy in ``cache_dir``, named
    after the file's path, size and modification time and ``columns``, and a
    later report reuses it instead of parsing the JSON again (see
    ``cache_name``). Filters then apply when the copies are read.
    """
    where = []
    if since_ms is not None:
        where.append(f"ts >= {int(since_ms)}")
    if until_ms is not None:
        where.append(f"ts < {int(until_ms)}")
    if campaigns:
        ids = ", ".join("'" + c.replace("'", "''") + "'" for c in campaigns)
        where.append(f"(kind = 'orphan' OR campaign IN ({ids}))")
    cond = (" WHERE " + " AND ".join(where)) if where else ""
    for stmt in _sql.create_types_sql():
        con.execute(stmt)
    select = ", ".join(columns)
    loaded = Loaded({})
    parts: list[Path] = []
    if cache_dir is not None and logs.finished:
        parts = _cached_copies(con, logs, columns, Path(cache_dir), Path(work_dir), cacheable, progress)
        loaded = Loaded({}, copies=len(parts))
        pcond = cond
    else:
        pcond = ""
        rest = logs
        if logs.finished and _scanner.readable(columns):
            loaded = _scan_files(logs, columns, progress, Path(work_dir), memory_budget)
            rest = LogSet(tuple(d[0] for d in loaded.declined), ())
        if rest.finished or not (loaded.tables or loaded.spilled):
            target = Path(work_dir) / "clicks.parquet"
            run(con, f"COPY (SELECT * FROM ({source_sql(rest, columns, compact=True)}){cond}) TO {_quote(target)} "
                     f"({_PARQUET})", None if loaded.rows else progress)
            parts = [target]
    # Parquet keeps the ENUMs' values (dictionary-encoded) but not their
    # types; they are read back as VARCHAR. Casting them back to ENUMs on
    # every read cost more than the ENUMs saved: about 0.7 CPU seconds per
    # scan of ten million clicks, and the report scans them seven times.
    sources = []
    if parts:
        files = "[" + ", ".join(_quote(p) for p in parts) + "]"
        sources.append(f"SELECT {select} FROM read_parquet({files}){pcond}")
    for name, table in loaded.tables.items():
        con.register(name, table)
    if loaded.tables:
        sources.append(f"SELECT {_scanner.select_sql(columns)} FROM clicks_arrow{cond}")
        if not parts and not loaded.spilled:
            loaded.reader_only = ReaderRows(loaded.tables["clicks_arrow"], cond)
    if loaded.spilled:
        files = "[" + ", ".join(_quote(p) for p in loaded.spilled) + "]"
        sources.append(f"SELECT {_scanner.select_sql(columns)} FROM read_parquet({files}){cond}")
    con.execute(f"CREATE OR REPLACE VIEW clicks_logged AS {' UNION ALL '.join(sources)}")
    return loaded


def _scan_files(
    logs: LogSet, columns: tuple[str, ...], progress: Progress | None, work: Path, budget: int | None,
) -> Loaded:
    import pyarrow as pa

    sizes = {f: os.stat(f).st_size for f in logs.finished}
    total, done = max(sum(sizes.values()), 1), 0
    kept: list[pa.Table] = []
    spilled: list[Path] = []
    declined: list[tuple[str, int, str]] = []
    held = rows = 0
    try:
        for name, table, why in _scanner.scan_each(logs.finished, columns):
            if table is None:
                declined.append(why)
            elif budget is None or held + table.nbytes <= budget:
                kept.append(table)
                held += table.nbytes
                rows += table.num_rows
            else:
                target = work / f"read-{len(spilled):05d}.parquet"
                _write_parquet(table, target)
                spilled.append(target)
                rows += table.num_rows
            done += sizes[name]
            if progress is not None:
                progress(done / total)
    except OSError as exc:
        raise _unreadable(exc) from exc
    tables = {"clicks_arrow": pa.concat_tables(kept)} if kept else {}
    return Loaded(tables, rows, tuple(declined), tuple(spilled), held)


def _unreadable(exc: OSError) -> ReportError:
    """The compiled reader's I/O error, as the report says it."""
    return ReportError(f"cannot read the click logs: {exc.filename or ''}: {exc.strerror}")


def parse_size(text: str) -> int:
    """Bytes in a DuckDB memory setting: ``1200MB``, ``1.5GB``, ``900MiB``, ``2GiB`` (KB/MB/GB are powers of 1000)."""
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGT]i?B|B|bytes)?\s*", text, re.IGNORECASE)
    if not m:
        raise ReportError(f"--memory-limit {text!r}: expected a size such as 1200MB or 2GiB")
    unit = (m.group(2) or "B").upper()
    scale = {"B": 1, "BYTES": 1, "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
             "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}[unit]
    return int(float(m.group(1)) * scale)


_ROW_GROUP = 122_880
_PARQUET = f"FORMAT parquet, COMPRESSION lz4, ROW_GROUP_SIZE {_ROW_GROUP}"


def _write_parquet(table: pa.Table, path: Path) -> None:
    """``table`` (one of the reader's) as Parquet, compressed and grouped as DuckDB's copies (``_PARQUET``)."""
    import pyarrow.parquet as pq

    pq.write_table(table, path, compression="lz4", row_group_size=_ROW_GROUP)


#: Bump when what a cached copy holds changes in a way its name does not show.
CACHE_VERSION = 1


def cache_name(path: str | os.PathLike[str], columns: tuple[str, ...]) -> str:
    """The name of the cached copy of log file ``path`` holding ``columns``.

    It changes with the file's absolute path, size and modification time (a
    finished log is never rewritten; one that is gets a new copy) and with the
    columns and their types, so a stale copy is never read: it is left behind.
    """
    st = os.stat(path)
    types = ",".join(f"{c}:{_sql.COLUMNS[c]}" for c in columns)
    key = f"{CACHE_VERSION}\0{os.path.abspath(path)}\0{st.st_size}\0{st.st_mtime_ns}\0{types}"
    return f"{Path(path).name}.{hashlib.sha256(key.encode()).hexdigest()[:20]}.parquet"


def make_cache_dir(cache: str | os.PathLike[str]) -> None:
    """Create the cache folder, owner-only: the copies hold tokens and recipient ids."""
    try:
        Path(cache).mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise ReportError(f"{cache}: cannot create the cache folder ({exc.strerror})") from None


def _cached_copies(
    con: duckdb.DuckDBPyConnection, logs: LogSet, columns: tuple[str, ...], cache: Path, work: Path,
    cacheable: frozenset[str], progress: Progress | None, written: list[Path] | None = None,
) -> list[Path]:
    """The Parquet copy of each finished file, made where missing.

    Missing copies are made by the compiled reader when it can read
    ``columns`` (its tables written with pyarrow, two files at a time), and
    by DuckDB's ``read_json`` for the files it declines or when it cannot:
    the two give the same rows, so a copy reads the same whoever made it.
    """
    make_cache_dir(cache)
    sizes = [os.stat(f).st_size for f in logs.finished]
    total, done = max(sum(sizes), 1), 0
    targets = []
    for i, name in enumerate(logs.finished):
        if name in cacheable:
            targets.append(cache / cache_name(name, columns))
        else:
            targets.append(work / f"part-{i:05d}.parquet")
    size_of = dict(zip(logs.finished, sizes, strict=True))
    target_of = dict(zip(logs.finished, targets, strict=True))
    missing = [n for n, t in zip(logs.finished, targets, strict=True) if not t.exists()]
    by_duckdb = missing
    if missing and _scanner.readable(columns):
        by_duckdb = []
        try:
            for name, table, _why in _scanner.scan_each(missing, columns):
                if table is None:
                    by_duckdb.append(name)
                    continue
                target = target_of[name]
                tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
                try:
                    _write_parquet(_scanner.for_parquet(table), tmp)
                    os.replace(tmp, target)
                finally:
                    tmp.unlink(missing_ok=True)
                if written is not None:
                    written.append(target)
                done += size_of[name]
                if progress is not None:
                    progress(done / total)
        except OSError as exc:
            raise _unreadable(exc) from exc
    for name in by_duckdb:
        target, size = target_of[name], size_of[name]
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        sub = None if progress is None else _scaled(progress, done / total, size / total)
        try:
            run(con, f"COPY ({_sql.read_json_sql([name], columns, compact=True)}) TO {_quote(tmp)} "
                     f"({_PARQUET})", sub)
            os.replace(tmp, target)
            if written is not None:
                written.append(target)
        finally:
            tmp.unlink(missing_ok=True)
        done += size
        if progress is not None:
            progress(done / total)
    if progress is not None:
        progress(1.0)
    return targets


def _scaled(progress: Progress, start: float, span: float) -> Progress:
    return lambda f: progress(start + f * span)


def _quote(path: str | os.PathLike[str]) -> str:
    return "'" + str(path).replace("'", "''") + "'"


def stage(name: str, t0: list[float]) -> None:
    """With SMSLINK_REPORT_TIMINGS=1, print wall and CPU seconds since ``t0`` on stderr; reset ``t0``.

    For benchmarks; ``t0`` is ``[time.perf_counter(), time.process_time()]``.
    """
    if os.environ.get("SMSLINK_REPORT_TIMINGS"):
        now = (time.perf_counter(), time.process_time())
        print(f"[report] {name}: wall {now[0] - t0[0]:.2f} s, cpu {now[1] - t0[1]:.2f} s", file=sys.stderr)
        t0[:] = now


def run(con: duckdb.DuckDBPyConnection, sql: str, progress: Progress | None = None) -> None:
    """Execute ``sql``; with ``progress``, report DuckDB's own progress while it runs."""
    if progress is None:
        _execute(con, sql)
        return
    failure: list[BaseException] = []

    def work() -> None:
        try:
            _execute(con, sql)
        except BaseException as exc:  # re-raised in the caller's thread
            failure.append(exc)

    t = threading.Thread(target=work, name="smslink-report-scan", daemon=True)
    t.start()
    while t.is_alive():
        t.join(0.2)
        try:
            done = con.query_progress()
        except duckdb.Error:
            done = -1.0
        if done >= 0:
            progress(min(done, 100.0) / 100.0)
    if failure:
        raise failure[0]
    progress(1.0)


def _execute(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    try:
        con.execute(sql)
    except duckdb.IOException as exc:
        raise ReportError(f"cannot read the click logs: {_first_line(exc)}") from exc
    except duckdb.InvalidInputException as exc:
        raise ReportError(f"a click-log line does not parse: {_first_line(exc)}") from exc


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
