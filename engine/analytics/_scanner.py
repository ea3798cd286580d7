"""The report's reader of click-log files: ``engine.analytics._scan`` into Arrow, or DuckDB's ``read_json``.

DuckDB's JSON reader parses a whole document per line, about 1.5 µs of CPU
for a 920-byte line, and that was most of a report's time. The compiled
reader (engine/analytics/_scan.c) walks each line once, keeps only the
report's columns as Arrow arrays (strings as dictionary codes with one
dictionary per file) and checks the rest of the line for well-formed JSON.

It takes a file only when every line is what the click-log schema writes
(see the C source); otherwise it declines the whole file, which is then read
by DuckDB's ``read_json``, the reference for every answer and every error.
``scan`` returns both parts. A property test holds the two readers equal
(tests/unit/analytics/test_scan.py).

The extension is optional: without it (no C compiler), or with
``SMSLINK_REPORT_READER=duckdb``, every file goes to DuckDB.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pyarrow as pa

from engine._compiled import load_checked

from . import _sql

#: ``duckdb`` reads every log file with DuckDB's read_json (to compare, or to rule the reader out).
READER_ENV = "SMSLINK_REPORT_READER"
_SOURCE = Path(__file__).with_name("_scan.c")

#: How the compiled reader keeps each column it can read: the Arrow layout
#: (``i64``, ``f64``, ``u32``, strings as dictionary codes of 8, 16 or 32 bits,
#: plain strings, or ``json``: an array's minified text, 16-bit codes) and the
#: value of a null or missing field (the ``clicks`` view's defaults, compact
#: form). 8-bit codes allow 127 distinct values per file and 16-bit codes
#: 32,767; a file with more is declined (read by DuckDB).
KINDS: dict[str, tuple[str, bytes | None]] = {
    "ts": ("i64", None),
    "kind": ("str8", b"click"),  # the view reads a null or unknown kind as a click
    "verdict": ("str8", b"unjudged"),
    "reasons": ("json", b"[]"),
    "policy": ("str16", None),
    "token": ("str", None),
    "link": ("str8", None),
    "campaign": ("str16", None),
    "recipient": ("str", None),
    "variant": ("str16", None),
    "route": ("str16", None),
    "store": ("str32", None),
    "country": ("str16", None),
    "region": ("str16", None),
    "device": ("str16", None),
    "since_send_s": ("f64", None),
    "ip": ("str", b""),
    "asn": ("u32", None),  # autonomous system numbers are 32-bit; read as BIGINT
}
_ARROW = {"i64": pa.int64(), "f64": pa.float64(), "u32": pa.uint32()}
_CODES = {"str8": pa.int8(), "str16": pa.int16(), "str32": pa.int32(), "json": pa.int16()}
#: Columns with about one value per click (tokens, recipients, addresses) are
#: plain strings (``str``): a per-file dictionary would be as large as the
#: column and its hash lookups cost more than the copy.


def load() -> tuple[ModuleType | None, str]:
    """(the module, "") when it may be used; (None, why not) otherwise."""
    if os.environ.get(READER_ENV, "") == "duckdb":
        return None, f"{READER_ENV}=duckdb"
    return load_checked("engine.analytics._scan", _SOURCE)


_MODULE, WHY_NOT = load()
if _MODULE is None and WHY_NOT.startswith("built from another"):
    print(f"smslink: compiled log reader not used: {WHY_NOT}", file=sys.stderr, flush=True)


def module() -> ModuleType | None:
    """The compiled module, or None (then ``WHY_NOT`` says why)."""
    return _MODULE if os.environ.get(READER_ENV, "") != "duckdb" else None


def readable(columns: Iterable[str]) -> bool:
    """Whether the compiled reader can give every one of ``columns`` (the report's own set, not ``--rejudge``'s)."""
    return module() is not None and all(c in KINDS for c in columns)


def select_sql(columns: tuple[str, ...]) -> str:
    """The select list over a reader's table giving ``columns`` with the ``clicks`` view's SQL types."""
    return ", ".join(f"{c}::{_sql.COLUMNS[c]} AS {c}" if KINDS[c][0] == "u32" else c for c in columns)


def for_parquet(table: pa.Table) -> pa.Table:
    """``table`` with the ``clicks`` view's types where the reader's differ (``asn`` is BIGINT), to write as a copy."""
    for i, name in enumerate(table.column_names):
        if KINDS[name][0] == "u32":
            table = table.set_column(i, name, table.column(i).cast(pa.int64()))
    return table


def numbered(table: pa.Table) -> pa.Table:
    """``table`` with a last column ``rn``: each row's number (0, 1, ...), for ``take``.

    The other columns are shared, not copied; ``rn`` is 4 bytes a row (8
    past 2^32 rows).
    """
    import numpy as np

    dtype = np.uint32 if table.num_rows < 2**32 else np.uint64
    chunks, start = [], 0
    for chunk in table.column(0).chunks if table.num_columns else ():
        chunks.append(pa.array(np.arange(start, start + len(chunk), dtype=dtype)))
        start += len(chunk)
    rn = pa.chunked_array(chunks, pa.from_numpy_dtype(dtype))
    return table.append_column("rn", rn)


def take(table: pa.Table, rows: Any, *, threads: int | None = None) -> pa.Table:
    """The rows of ``numbered(...)`` table whose ``rn`` are in ``rows`` (a numpy array), in ``rn`` order.

    Each chunk's rows are gathered by Arrow, one chunk per thread (the GIL
    is released): the report's stream step copies a few percent of ten
    million clicks this way in a fraction of what the same rows cost through
    DuckDB (its scan converts every column of every row before the join
    drops most of them).
    """
    import numpy as np

    wanted = np.sort(np.asarray(rows, dtype=np.int64))
    batches = table.to_batches()
    starts = np.cumsum([0] + [b.num_rows for b in batches])
    cuts = np.searchsorted(wanted, starts)

    def one(k: int) -> pa.RecordBatch:
        return batches[k].take(pa.array(wanted[cuts[k]:cuts[k + 1]] - starts[k]))

    n = threads or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=max(1, min(n, len(batches) or 1)), thread_name_prefix="smslink-take") as pool:
        parts = [p for p in pool.map(one, range(len(batches))) if p.num_rows]
    return pa.Table.from_batches(parts, schema=table.schema)


def schema(columns: tuple[str, ...]) -> pa.Schema:
    """The Arrow schema of the reader's tables for ``columns``."""
    fields = []
    for c in columns:
        kind = KINDS[c][0]
        typ = _ARROW.get(kind) or (pa.string() if kind == "str" else pa.dictionary(_CODES[kind], pa.string()))
        fields.append(pa.field(c, typ))
    return pa.schema(fields)


@dataclass
class Scanned:
    """What ``scan`` made of a set of files."""

    tables: list[pa.Table] = field(default_factory=list)  # one per file read
    declined: list[tuple[str, int, str]] = field(default_factory=list)  # (file, line, why): for DuckDB
    rows: int = 0


def scan(
    paths: Iterable[str], columns: tuple[str, ...], *, threads: int | None = None,
    done: Callable[[str], None] | None = None,
) -> Scanned:
    """Read ``paths`` with the compiled reader, ``threads`` files at a time (default: one per CPU).

    A file the reader declines is listed in ``declined`` with the line and
    the reason, for the caller to read with DuckDB. ``done(path)`` is called
    as each file is finished (from the calling thread). Raises ``OSError``
    when a file cannot be opened or read.
    """
    out = Scanned()
    for name, table, declined in scan_each(paths, columns, threads=threads):
        if table is None:
            out.declined.append(declined)
        else:
            out.tables.append(table)
            out.rows += table.num_rows
        if done is not None:
            done(name)
    return out


def scan_each(
    paths: Iterable[str], columns: tuple[str, ...], *, threads: int | None = None,
) -> Iterator[tuple[str, pa.Table | None, tuple[str, int, str]]]:
    """``(path, table, ("", 0, ""))`` or ``(path, None, (path, line, why))`` per file, in order, as files finish."""
    mod = module()
    if mod is None or not readable(columns):
        raise RuntimeError(f"the compiled log reader cannot read these columns ({WHY_NOT or 'unsupported'})")
    spec = sorted(((c, *KINDS[c]) for c in columns), key=lambda s: (len(s[0]), s[0]))
    names = list(paths)
    n = threads or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=max(1, min(n, len(names) or 1)), thread_name_prefix="smslink-scan") as pool:
        for name, res in zip(names, pool.map(lambda p: mod.scan_file(p, spec), names), strict=True):
            if res[0] is None:
                yield name, None, (name, int(res[1]), str(res[2]))
            else:
                yield name, to_table(int(res[0]), res[1], columns), ("", 0, "")


def to_table(rows: int, bufs: dict[str, tuple[Any, ...]], columns: tuple[str, ...]) -> pa.Table:
    """The Arrow table of one file from the reader's buffers (no copy of the column data)."""
    arrays = []
    for c in columns:
        kind = KINDS[c][0]
        b = bufs[c]
        valid = None if b[1] is None else pa.py_buffer(b[1])
        if kind in _ARROW:
            arrays.append(pa.Array.from_buffers(_ARROW[kind], rows, [valid, pa.py_buffer(b[0])], b[2]))
            continue
        if kind == "str":  # (offsets, validity, null_count, data)
            arrays.append(pa.Array.from_buffers(pa.string(), rows, [valid, pa.py_buffer(b[0]), pa.py_buffer(b[3])], b[2]))
            continue
        codes = pa.Array.from_buffers(_CODES[kind], rows, [valid, pa.py_buffer(b[0])], b[2])
        size = b[5]
        if size:
            values = pa.Array.from_buffers(pa.string(), size, [None, pa.py_buffer(b[3]), pa.py_buffer(b[4])])
        else:  # every row null: a dictionary of one value no row points at
            values = pa.array([""], pa.string())
        if c in _sql.ENUMS:
            values = _closed(c, values)
        arrays.append(pa.DictionaryArray.from_arrays(codes, values))
    return pa.Table.from_arrays(arrays, schema=schema(columns))


def _closed(column: str, values: pa.Array) -> pa.Array:
    """A closed vocabulary's dictionary with values outside it replaced, as the ``clicks`` view does.

    ``verdict`` reads as ``unjudged``, ``kind`` as ``click``, ``link`` as
    ``recipient`` (see ``_sql.read_json_sql``); a null stays a null.
    """
    _, vocab = _sql.ENUMS[column]
    fallback = _sql.enum_fallback(column)
    return pa.array([v if v in vocab else fallback for v in values.to_pylist()], pa.string())
