"""Final verdicts before counting: stream re-judging and ``--rejudge POLICY``.

Stream re-judging (``engine.bots.rejudge_stream``) looks at one token's
clicks together. It runs in SQL (``_sql.stream_verdicts``, built from the same
``StreamRules`` thresholds), never through Python per click: SQL first picks
the tokens where a stream rule can fire (``_sql.burst_spans`` and
``_sql.token_stats``, cheap necessary conditions over every token), then
applies the rules exactly to those tokens' clicks; every other click keeps its
logged verdict. A property test (tests/unit/analytics/test_stream.py) checks
that the result equals running the stream function on every token.

``--rejudge POLICY`` judges every click again under another policy first
(per click, in Python: slower, and said so in docs/report.md), then runs the
same stream step with that policy's network reasons.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import duckdb
import msgspec
import numpy as np
import pyarrow as pa

from engine.bots import Classifier, StreamRules, facts_from_event
from engine.clicklog import ClickEvent

from . import _rules, _scanner, _sql
from ._load import ReaderRows, stage

_BATCH = 50_000
#: Memory per stage-1 click of the numpy pass: its Arrow flags and numpy
#: arrays peak at about 150 bytes (measured on the benchmark's 983,490),
#: plus Arrow's temporaries. Past half of the memory budget the SQL path
#: runs instead, which DuckDB can spill.
_RULES_BYTES_PER_CLICK = 200
#: What the stream rules read of a click (``_sql.stream_verdicts``, ``_sql.STREAM_ORDER``).
_RULE_COLUMNS = ("token", "ts", "ip", "asn", "verdict", "reasons", "since_send_s", "device")


@dataclass
class Moves:
    """What re-judging changed: clicks per (from, to) verdict."""

    policy: str | None = None  # the --rejudge policy ref, None for stream re-judging only
    tokens_checked: int = 0  # tokens whose whole stream the exact rules examined (past the SQL pre-check)
    clicks_rejudged: int = 0  # clicks judged again by the --rejudge policy
    rules_by: str = ""  # what applied stream rules 2 and 3: "numpy" or "sql" (``apply_final_verdicts``)
    moves: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def clicks_moved(self) -> int:
        return sum(self.moves.values())


def apply_final_verdicts(
    con: duckdb.DuckDBPyConnection,
    *,
    base: str = "clicks_logged",
    classifier: Classifier | None = None,
    rules: StreamRules | None = None,
    columns: tuple[str, ...] = _sql.REPORT_COLUMNS,
    reader_only: ReaderRows | None = None,
    rules_by: Literal["numpy", "sql"] = "numpy",
    memory_budget: int | None = None,
) -> Moves:
    """Define the view ``clicks`` over ``base`` with final verdicts; return what moved.

    ``base`` holds the clicks as logged (``clicks_logged``: the report's
    Arrow tables or Parquet copy). With a classifier it is first copied into a table and every click
    judged again. Then the clicks of the tokens the stream rules can touch are
    re-judged into ``stream_rows``; ``clicks_settled`` is ``base`` without
    those tokens (their verdicts are final already) and ``clicks`` is
    ``clicks_settled`` plus ``stream_rows``.

    ``clicks_settled`` and ``clicks_judged`` (``base``: every click with its
    per-click verdict, before the stream rules) stay defined for the roll-ups.

    ``reader_only`` (``Loaded.reader_only``: every click of ``base`` is in
    the reader's Arrow table) lets the stream step gather its candidate
    tokens' clicks with Arrow instead of copying them through DuckDB; the
    result is the same.

    ``rules_by`` says what applies stream rules 2 and 3 to the stage-1
    clicks: ``numpy`` (``_rules.moved``, one backward pass per token) or
    ``sql`` (``_sql.stream_verdicts``, the statement a warehouse copy runs:
    the reference, about four times the CPU). Both give the same verdicts.
    The numpy pass holds its input in memory (about 200 bytes a stage-1
    click); when that would pass half of ``memory_budget`` (bytes), the SQL
    runs instead. ``Moves.rules_by`` says which ran.
    """
    rules = rules or StreamRules()
    moves = Moves(policy=classifier.policy_ref if classifier else None)
    if classifier is not None:
        con.execute(f"CREATE OR REPLACE TABLE clicks_rejudged AS SELECT * FROM {base}")
        base = "clicks_rejudged"
        _rejudge_each(con, base, classifier, columns, moves)
        rules = StreamRules(
            fetch_before_tap_s=rules.fetch_before_tap_s,
            burst_window_s=rules.burst_window_s,
            burst_addresses=rules.burst_addresses,
            datacenter_reasons=rules.datacenter_reasons | classifier.network_reasons(),
        )
    _stream_step(con, base, rules, columns, moves, reader_only if classifier is None else None, rules_by,
                 memory_budget)
    cols = ", ".join(columns)
    con.execute(
        f"CREATE OR REPLACE VIEW clicks AS "
        f"SELECT {cols} FROM clicks_settled UNION ALL SELECT {cols} FROM stream_rows"
    )
    return moves


def _stream_step(
    con: duckdb.DuckDBPyConnection,
    base: str,
    rules: StreamRules,
    columns: tuple[str, ...],
    moves: Moves,
    reader_only: ReaderRows | None = None,
    rules_by: Literal["numpy", "sql"] = "numpy",
    memory_budget: int | None = None,
) -> None:
    t0 = [time.perf_counter(), time.process_time()]
    dc = sorted(rules.datacenter_reasons)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE burst_spans AS "
        + _sql.burst_spans(base, burst_window_s=rules.burst_window_s, burst_addresses=rules.burst_addresses)
    )
    con.execute(
        "CREATE OR REPLACE TEMP TABLE candidates AS SELECT h FROM burst_spans UNION SELECT hash(token) FROM ("
        + _sql.sequence_tokens(base, fetch_before_tap_s=rules.fetch_before_tap_s, datacenter_reasons=dc)
        + ")"
    )
    stage("  burst spans, sequence tokens", t0)
    # One scan of ``base`` copies the candidate tokens' clicks (a few percent
    # of the lines); the token aggregate and the exact rules read that copy.
    # With the reader's table, that scan reads the token and a row number
    # (``_scanner.numbered``), and Arrow gathers those rows: copying them
    # through DuckDB converted all 18 columns of every click first (1.6 CPU s
    # of ten million clicks, against 0.8).
    pick = "SEMI JOIN candidates AS t ON hash(c.token) = t.h WHERE c.kind = 'click' AND c.link = 'recipient'"
    if reader_only is not None:
        key = "rn"
        table = _scanner.numbered(reader_only.table)
        con.register("clicks_numbered", table)
        try:
            rn = con.execute(
                f"SELECT c.rn FROM (SELECT rn, {_scanner.select_sql(columns)} FROM clicks_numbered"
                f"{reader_only.where}) AS c {pick}"
            ).fetchnumpy()["rn"]
            con.register("candidate_arrow", _scanner.take(table, rn))
        finally:
            con.unregister("clicks_numbered")
        del table  # its row numbers
        con.execute(f"CREATE OR REPLACE TEMP VIEW candidate_rows AS "
                    f"SELECT {_scanner.select_sql(columns)}, rn FROM candidate_arrow")
    else:
        key = "rowid"
        cols = ", ".join(f"c.{c}" for c in columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE candidate_rows AS SELECT {cols} FROM {base} AS c {pick}")
    stage("  candidate rows", t0)
    con.execute(
        "CREATE OR REPLACE TABLE token_stats AS "
        + _sql.token_stats(
            "candidate_rows",
            spans="burst_spans",
            fetch_before_tap_s=rules.fetch_before_tap_s,
            burst_addresses=rules.burst_addresses,
            datacenter_reasons=dc,
        )
    )
    con.execute("CREATE OR REPLACE TABLE stream_tokens AS SELECT token FROM token_stats WHERE stage1")
    moves.tokens_checked += int(con.execute("SELECT count(*) FROM stream_tokens").fetchall()[0][0])
    cols = ", ".join(columns)
    con.execute(f"CREATE OR REPLACE VIEW clicks_judged AS SELECT {cols} FROM {base}")
    con.execute(
        f"CREATE OR REPLACE VIEW clicks_settled AS "
        f"SELECT {cols} FROM {base} AS b ANTI JOIN stream_tokens AS s "
        f"ON b.token = s.token AND b.kind = 'click' AND b.link = 'recipient'"
    )
    stage("  token stats, stage-1 rows", t0)
    # The rules read only what they need of each click (and the row's id):
    # rule 1's windows and the sort into the stream order in SQL, rules 2 and
    # 3 in one backward pass per token (``_rules``: the twelve "later click"
    # window aggregates of ``stream_verdicts`` cost about four times the CPU).
    # The moved clicks' new verdicts are then joined back to the full rows.
    stage1 = "token IN (SELECT token FROM stream_tokens)"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE stage1_rules AS SELECT {key} AS rid, {', '.join(_RULE_COLUMNS)} "
        f"FROM candidate_rows WHERE {stage1}"
    )
    if rules_by == "numpy" and memory_budget is not None:
        rows = int(con.execute("SELECT count(*) FROM stage1_rules").fetchall()[0][0])
        if rows * _RULES_BYTES_PER_CLICK > memory_budget // 2:
            rules_by = "sql"
    moves.rules_by = rules_by
    if rules_by == "sql":
        con.execute(
            "CREATE OR REPLACE TEMP TABLE stream_moved AS SELECT rid, verdict, reasons FROM ("
            + _sql.stream_verdicts(
                "stage1_rules", ("rid", *_RULE_COLUMNS), spans="burst_spans", datacenter_reasons=dc,
                fetch_before_tap_s=rules.fetch_before_tap_s, burst_window_s=rules.burst_window_s,
                burst_addresses=rules.burst_addresses,
            )
            + ") WHERE verdict IS DISTINCT FROM logged_verdict OR reasons IS DISTINCT FROM logged_reasons"
        )
    else:
        # con.sql: a DB-API result's Arrow output does not keep the ORDER BY (DuckDB 2.0)
        flags = con.sql(_sql.stream_flags(
            "stage1_rules", spans="burst_spans", fetch_before_tap_s=rules.fetch_before_tap_s,
            burst_window_s=rules.burst_window_s, burst_addresses=rules.burst_addresses,
        )).to_arrow_table()
        con.register("stream_rule", _rules.moved(flags, dc))
        del flags
        try:
            con.execute("CREATE OR REPLACE TEMP TABLE stream_moved AS "
                        + _sql.MOVED_BY_RULE.format(moved="stream_rule"))
        finally:
            con.unregister("stream_rule")
    final = ", ".join(f"coalesce(m.{c}, s.{c}) AS {c}" if c in ("verdict", "reasons") else f"s.{c}" for c in columns)
    con.execute(
        f"CREATE OR REPLACE TABLE stream_rows AS SELECT {final}, "
        "s.verdict AS logged_verdict, s.reasons AS logged_reasons "
        f"FROM candidate_rows AS s LEFT JOIN stream_moved AS m ON s.{key} = m.rid WHERE s.{stage1}"
    )
    for name in ("stage1_rules", "stream_moved"):
        con.execute(f"DROP TABLE {name}")
    if reader_only is not None:
        con.execute("DROP VIEW candidate_rows")
        con.unregister("candidate_arrow")
        pa.default_memory_pool().release_unused()  # give the gathered rows' memory back before the roll-ups
    else:
        con.execute("DROP TABLE candidate_rows")
    for before, after, n in con.execute(
        "SELECT logged_verdict, verdict, count(*) FROM stream_rows WHERE verdict <> logged_verdict GROUP BY ALL"
    ).fetchall():
        moves.moves[(before, after)] += int(n)
    stage(f"  stream rules ({rules_by})", t0)


def _rejudge_each(
    con: duckdb.DuckDBPyConnection, table: str, classifier: Classifier, columns: tuple[str, ...], moves: Moves
) -> None:
    cur = con.cursor()
    cols = ", ".join(columns)
    cur.execute(f"SELECT rowid, {cols} FROM {table}")
    changes: list[tuple[int, str, str]] = []
    n = 0
    while rows := cur.fetchmany(_BATCH):
        for row in rows:
            e = _event(columns, row[1:])
            v = classifier.classify(facts_from_event(e))
            n += 1
            if v.verdict != e.verdict or list(v.reasons) != e.reasons:
                changes.append((row[0], v.verdict, _reasons_json(v.reasons)))
                if v.verdict != e.verdict:
                    moves.moves[(e.verdict, v.verdict)] += 1
    cur.close()
    moves.clicks_rejudged = n
    _write_changes(con, table, changes)


_reasons_decoder = msgspec.json.Decoder(list[str])
_encode = msgspec.json.encode


def _reasons_json(reasons: tuple[str, ...]) -> str:
    return _encode(list(reasons)).decode()


def _event(columns: tuple[str, ...], values: tuple[Any, ...]) -> ClickEvent:
    # The report's table keeps reasons as JSON text and leaves out what no
    # verdict depends on (status, answer, id): the event carries neutral values.
    fields = {c: v for c, v in zip(columns, values, strict=True) if v is not None}
    fields["reasons"] = _reasons_decoder.decode(fields.get("reasons", "[]"))
    return ClickEvent(id="", status=0, answer="", **fields)


def _write_changes(con: duckdb.DuckDBPyConnection, table: str, changes: list[tuple[int, str, str]]) -> None:
    if not changes:
        return
    ch = {
        "rid": np.fromiter((c[0] for c in changes), dtype=np.int64, count=len(changes)),
        "verdict": np.array([c[1] for c in changes], dtype=object),
        "reasons": np.array([c[2] for c in changes], dtype=object),
    }
    con.register("verdict_changes", ch)
    try:
        con.execute(
            f"UPDATE {table} SET verdict = ch.verdict, reasons = ch.reasons "
            f"FROM verdict_changes AS ch WHERE {table}.rowid = ch.rid"
        )
    finally:
        con.unregister("verdict_changes")
