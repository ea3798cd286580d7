"""``load_clicks`` with the compiled reader: what stays in memory, what goes to Parquet, and filters on both.

The reader keeps its Arrow tables in memory up to ``memory_budget`` bytes and
writes the files after that to Parquet; files it declines (gzip, a line it
does not take) are read by DuckDB's ``read_json``. Whichever way a file went,
``clicks_logged`` must hold exactly the rows DuckDB alone gives
(``SMSLINK_REPORT_READER=duckdb``).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import msgspec
import pytest

from engine.analytics import _scanner, connect
from engine.analytics._load import LogSet, ReportError, load_clicks, parse_size
from engine.analytics._sql import REPORT_COLUMNS
from engine.clicklog import ClickEvent

T0 = 1_800_000_000_000


def _event(n: int) -> ClickEvent:
    human = n % 3 != 0
    return ClickEvent(
        id=f"{n:08d}", ts=T0 + n * 1000, kind="click" if n % 11 else "orphan", status=302, answer="redirect",
        verdict="human" if human else "preview", reasons=[] if human else ["ua:preview:imessage"],
        token=f"T{n % 40:04d}", link="recipient", campaign=f"c{n % 2}", recipient=f"r-{n % 40}",
        variant=("a", "b", None)[n % 3], ip=f"10.0.{n % 7}.0/24", asn=7922 + n % 2, since_send_s=n * 1.5,
        device="ios", country="US", region=f"US-{'CA' if n % 2 else 'NY'}",
    )


def _files(tmp_path: Path) -> LogSet:
    logs = tmp_path / "clicks"
    logs.mkdir()
    names = []
    for f in range(4):
        body = b"".join(msgspec.json.encode(_event(f * 100 + i)) + b"\n" for i in range(100))
        path = logs / f"clicks-2027030{f + 1}T150000Z-w-1-00000{f}.jsonl"
        path.write_bytes(body)
        names.append(str(path))
    gz = logs / "clicks-20270309T150000Z-w-1-000009.jsonl.gz"
    gz.write_bytes(gzip.compress(b"".join(msgspec.json.encode(_event(900 + i)) + b"\n" for i in range(50))))
    return LogSet((*names, str(gz)), ())


def _rows(tmp_path: Path, logs: LogSet, name: str, **kw):
    work = tmp_path / name
    work.mkdir()
    con = connect("256MB", str(work))
    try:
        loaded = load_clicks(con, logs, columns=REPORT_COLUMNS, work_dir=str(work), **kw)
        rows = sorted(con.execute(f"SELECT {', '.join(REPORT_COLUMNS)} FROM clicks_logged").fetchall(), key=repr)
    finally:
        con.close()
    return loaded, rows


def _reference(tmp_path: Path, logs: LogSet, monkeypatch, **kw):
    with monkeypatch.context() as m:
        m.setenv(_scanner.READER_ENV, "duckdb")
        loaded, rows = _rows(tmp_path, logs, "reference", **kw)
    assert loaded.rows == 0 and not loaded.tables  # the reference is DuckDB's alone
    return rows


def test_tables_beyond_the_budget_go_to_parquet_and_read_the_same(tmp_path, monkeypatch):
    logs = _files(tmp_path)
    want = _reference(tmp_path, logs, monkeypatch)
    one = _scanner.scan(logs.finished[:1], REPORT_COLUMNS).tables[0].nbytes
    loaded, got = _rows(tmp_path, logs, "budget", memory_budget=one)
    assert got == want
    assert len(want) == 450
    assert loaded.rows == 400  # the four plain files; the gzip file is declined, read by DuckDB
    assert [Path(d[0]).name for d in loaded.declined] == ["clicks-20270309T150000Z-w-1-000009.jsonl.gz"]
    assert loaded.arrow_bytes == one and "clicks_arrow" in loaded.tables
    assert len(loaded.spilled) == 3 and all(p.exists() for p in loaded.spilled)
    assert loaded.reader_only is None  # clicks_logged is more than the reader's table: the stream step copies through DuckDB


def test_a_budget_of_nothing_spills_every_table(tmp_path, monkeypatch):
    logs = _files(tmp_path)
    want = _reference(tmp_path, logs, monkeypatch)
    loaded, got = _rows(tmp_path, logs, "none", memory_budget=0)
    assert got == want
    assert not loaded.tables and loaded.arrow_bytes == 0 and len(loaded.spilled) == 4


def test_no_budget_keeps_every_table_in_memory(tmp_path, monkeypatch):
    logs = _files(tmp_path)
    want = _reference(tmp_path, logs, monkeypatch)
    loaded, got = _rows(tmp_path, logs, "all")
    assert got == want
    assert loaded.spilled == () and loaded.rows == 400
    assert loaded.reader_only is None  # the gzip file was read by DuckDB


def test_the_readers_table_alone_is_handed_to_the_stream_step(tmp_path, monkeypatch):
    """With every click in the reader's table, ``reader_only`` is that table and the load's filters."""
    logs = LogSet(_files(tmp_path).finished[:4], ())
    kw = {"since_ms": T0 + 50_000, "campaigns": ("c1",)}
    want = _reference(tmp_path, logs, monkeypatch, **kw)
    work = tmp_path / "numbered"
    work.mkdir()
    con = connect("256MB", str(work))
    try:
        loaded = load_clicks(con, logs, columns=REPORT_COLUMNS, work_dir=str(work), **kw)
        assert loaded.reader_only is not None and loaded.reader_only.table.num_rows == 400
        table = _scanner.numbered(loaded.reader_only.table)
        assert table.column("rn").num_chunks == 4 and table.column("rn").to_pylist() == list(range(400))
        con.register("numbered", table)
        select = _scanner.select_sql(REPORT_COLUMNS)
        numbered = con.execute(f"SELECT rn, {select} FROM numbered{loaded.reader_only.where}").fetchall()
        assert sorted((r[1:] for r in numbered), key=repr) == want  # the filters apply as to clicks_logged
        # ... and each row's number finds that row in the table
        rows = {r[0]: r[1:] for r in numbered}
        taken = _scanner.take(table, sorted(rows, reverse=True))
        # in row-number order (asked of the table: this connection does not keep insertion order)
        assert taken.column("rn").to_pylist() == sorted(rows)
        con.register("taken", taken)
        back = con.execute(f"SELECT rn, {select} FROM taken").fetchall()
        assert {r[0]: r[1:] for r in back} == rows
    finally:
        con.close()


@pytest.mark.parametrize("wanted", [[], [0], [399], [99, 100], [5, 1, 250, 399, 0, 300]], ids=repr)
def test_take_gathers_rows_across_chunks(tmp_path, wanted):
    logs = LogSet(_files(tmp_path).finished[:4], ())
    import pyarrow as pa

    table = _scanner.numbered(pa.concat_tables(_scanner.scan(logs.finished, REPORT_COLUMNS).tables))
    got = _scanner.take(table, wanted, threads=3)
    assert got.schema == table.schema
    assert got.column("rn").to_pylist() == sorted(wanted)
    assert got.to_pylist() == [table.slice(i, 1).to_pylist()[0] for i in sorted(wanted)]


@pytest.mark.parametrize("budget", [None, 0], ids=["in memory", "spilled"])
def test_filters_apply_to_the_readers_rows_as_to_duckdbs(tmp_path, monkeypatch, budget):
    logs = _files(tmp_path)
    kw = {"since_ms": T0 + 50_000, "until_ms": T0 + 350_000, "campaigns": ("c1",)}
    want = _reference(tmp_path, logs, monkeypatch, **kw)
    _, got = _rows(tmp_path, logs, "filtered", memory_budget=budget, **kw)
    assert got == want
    kinds = {r[REPORT_COLUMNS.index("kind")] for r in got}
    assert kinds == {"click", "orphan"}  # orphans are kept whatever the campaign filter
    ts = [r[REPORT_COLUMNS.index("ts")] for r in got]
    assert min(ts) >= T0 + 50_000 and max(ts) < T0 + 350_000


@pytest.mark.parametrize(
    ("text", "size"),
    [("1200MB", 1_200_000_000), ("1.5GB", 1_500_000_000), ("900MiB", 900 * 2**20), ("2GiB", 2 * 2**30),
     ("512kb", 512_000), ("4096", 4096), (" 10 MB ", 10_000_000)],
)
def test_memory_sizes_read_like_duckdbs(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "lots", "12XB", "-1GB", "1,5GB"])
def test_a_bad_memory_size_is_a_clear_error(text):
    with pytest.raises(ReportError, match="--memory-limit"):
        parse_size(text)


def test_cached_copies_read_the_same_whoever_made_them(tmp_path, monkeypatch):
    """Copies made by the reader (pyarrow) and by DuckDB mix in one cache folder and read as DuckDB alone reads."""
    logs = _files(tmp_path)
    want = _reference(tmp_path, logs, monkeypatch)
    cache = tmp_path / "cache"
    every = frozenset(logs.finished)
    with monkeypatch.context() as m:  # DuckDB makes the first two files' copies ...
        m.setenv(_scanner.READER_ENV, "duckdb")
        _rows(tmp_path, LogSet(logs.finished[:2], ()), "first", cache_dir=str(cache), cacheable=every)
    made = {p.name: p.stat().st_mtime_ns for p in cache.glob("*.parquet")}
    assert len(made) == 2
    # ... the reader the rest (the gzip file's by DuckDB again), and every copy is read back
    _, got = _rows(tmp_path, logs, "mixed", cache_dir=str(cache), cacheable=every)
    assert got == want
    assert {p.name: p.stat().st_mtime_ns for p in cache.glob("*.parquet") if p.name in made} == made
    assert len(list(cache.glob("*.parquet"))) == 5
    # and a later report reads the copies only: the same rows again
    _, again = _rows(tmp_path, logs, "again", cache_dir=str(cache), cacheable=every)
    assert again == want


def test_a_stale_build_of_the_reader_is_refused(monkeypatch, tmp_path):
    other = tmp_path / "_scan.c"
    other.write_text("/* another version */\n")
    monkeypatch.setattr(_scanner, "_SOURCE", other)
    mod, why = _scanner.load()
    assert mod is None and "another version of _scan.c" in why


def test_the_reader_switch_sends_every_file_to_duckdb(monkeypatch):
    assert _scanner.module() is not None and _scanner.readable(REPORT_COLUMNS)
    assert not _scanner.readable((*REPORT_COLUMNS, "headers"))  # --rejudge's columns: never the reader's
    monkeypatch.setenv(_scanner.READER_ENV, "duckdb")
    assert _scanner.module() is None and not _scanner.readable(REPORT_COLUMNS)
    assert _scanner.load() == (None, f"{_scanner.READER_ENV}=duckdb")
