"""The report: load the logs once, settle final verdicts, roll up per campaign.

``build_report`` returns a ``Report`` whose ``data`` is plain JSON-able data,
*unsuppressed*; every shared rendering goes through ``suppress`` first (see
_suppress.py). The only recipient-level output is ``write_per_recipient``.
"""

from __future__ import annotations

import csv
import os
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import msgspec

from engine.bots import Classifier, StreamRules
from engine.snapshot import open_snapshot

from . import _sql
from ._load import (
    Loaded,
    Progress,
    ReportError,
    complete_lines,
    connect,
    find_logs,
    load_clicks,
    make_cache_dir,
    parse_size,
    stage,
)
from ._sent import CampaignSent, count_sent
from ._stats import chi_square_independence, quantiles_ok, two_proportion, wilson
from ._stream import Moves, apply_final_verdicts

#: Version of the JSON report layout (bump when a key is renamed or removed).
REPORT_SCHEMA = 1


@dataclass(frozen=True)
class ReportOptions:
    """What to report on. Filters apply before anything is counted."""

    logs: str  # folder of click logs (or one file)
    snapshot: str  # snapshot file, ``current`` pointer or publish folder
    campaigns: tuple[str, ...] = ()  # only these campaigns (orphans are always kept)
    since_ms: int | None = None  # clicks at or after (epoch ms UTC)
    until_ms: int | None = None  # clicks before (epoch ms UTC)
    k: int = 5  # breakdown cells below k are shown as "<k" in shared outputs
    alpha: float = 0.05  # significance level of the variant tests and intervals
    classifier: Classifier | None = None  # --rejudge: judge every click again under this policy
    stream_rules: StreamRules = field(default_factory=StreamRules)
    # DuckDB spills to a temp folder beyond this; and the click logs read by
    # the compiled reader stay in memory up to this much (the rest is written
    # to a Parquet copy in the temp folder).
    memory_limit: str = "1000MB"
    # Folder for a Parquet copy of each finished log file, reused by later
    # reports while the file's path, size and modification time are unchanged
    # (active files are always read afresh). None: no copy is kept.
    cache_dir: str | None = None


class Report:
    """A computed report. Close it (or use ``with``) to free the DuckDB database."""

    def __init__(self, data: dict[str, Any], con: duckdb.DuckDBPyConnection, tmp: tempfile.TemporaryDirectory[str]) -> None:
        self.data = data
        self._con = con
        self._tmp = tmp

    def write_per_recipient(self, path: str | os.PathLike[str]) -> int:
        """One CSV row per (campaign, recipient id) with a human click; returns the row count.

        The one recipient-level output: recipient ids (never a phone number,
        never a token), for the user's own systems to join back.
        """
        self._con.execute(f"CREATE TABLE IF NOT EXISTS first_clicks AS {_sql.FIRST_CLICKS}")
        rows = self._con.execute(_sql.PER_RECIPIENT).fetchall()
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["campaign", "recipient", "holdout", "first_human_click", "human_clicks", "variant", "route", "store"])
            for campaign, recipient, holdout, first_ts, clicks, variant, route, store in rows:
                w.writerow([campaign, recipient, "yes" if holdout else "no", iso_ms(first_ts), clicks,
                            variant or "", route or "", store or ""])
        return len(rows)

    def close(self) -> None:
        try:
            self._con.close()
        finally:
            self._tmp.cleanup()

    def __enter__(self) -> Report:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iso_ms(ms: int | None) -> str | None:
    """Epoch milliseconds as ISO 8601 UTC (seconds precision)."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_report(opts: ReportOptions, progress: Progress | None = None) -> Report:
    """Compute the whole report.

    Raises
    ------
    ReportError
        Missing logs folder, unreadable or corrupt log files.
    engine.snapshot.SnapshotError
        The snapshot cannot be opened.
    """
    t0 = [time.perf_counter(), time.process_time()]
    budget = parse_size(opts.memory_limit)
    logs = find_logs(opts.logs)
    if opts.cache_dir is not None:
        make_cache_dir(opts.cache_dir)
    snap = open_snapshot(opts.snapshot)
    # The token count (Python) overlaps the JSON scan and the stream rules
    # (DuckDB, GIL released); with a cache it is read back instead.
    sent_box: list[list[CampaignSent]] = []
    failure: list[BaseException] = []

    def scan() -> None:
        try:
            sent_box.append(count_sent(snap, opts.campaigns, opts.cache_dir))
        except BaseException as exc:
            failure.append(exc)

    t = threading.Thread(target=scan, name="smslink-report-snapshot", daemon=True)
    try:
        t.start()
        tmp = tempfile.TemporaryDirectory(prefix="smslink-report-")
        con = connect(opts.memory_limit, tmp.name)
        try:
            finished = frozenset(logs.finished)
            logs = complete_lines(logs, tmp.name)
            columns = _sql.REPORT_COLUMNS + (_sql.CLASSIFIER_COLUMNS if opts.classifier else ())
            loaded = load_clicks(con, logs, columns=columns, work_dir=tmp.name, since_ms=opts.since_ms,
                                 until_ms=opts.until_ms, campaigns=opts.campaigns, progress=progress,
                                 cache_dir=opts.cache_dir, cacheable=finished, memory_budget=budget)
            stage(f"load ({_read_by(loaded, logs.count)})", t0)
            moves = apply_final_verdicts(con, classifier=opts.classifier, rules=opts.stream_rules, columns=columns,
                                         reader_only=loaded.reader_only, memory_budget=budget)
            settled = _Settled()
            settled.run(con)
            stage(f"final verdicts ({moves.tokens_checked} stream tokens)", t0)
            t.join()  # the roll-ups are the first to need the snapshot's counts
            stage("snapshot count (its rest after the final verdicts)", t0)
            if failure:
                raise failure[0]
            sent = sent_box[0]
            snap_info = {"version": snap.meta.version, "built_at": snap.meta.built_at}
            data = _roll_up(con, opts, sent, moves, logs.count, snap_info, settled)
            stage("roll-ups", t0)
        except BaseException:
            con.close()
            tmp.cleanup()
            raise
    finally:
        if t.is_alive():
            t.join()  # never close the snapshot under the counting thread
        snap.close()
    return Report(data, con, tmp)


def _read_by(loaded: Loaded, files: int) -> str:
    """Who read the log files, for the timings line."""
    if loaded.copies:
        return f"{loaded.copies} files from their Parquet copies"
    if not loaded.rows and not loaded.declined:
        return f"{files} files by DuckDB's read_json"
    parts = [f"{loaded.rows:,} clicks by the compiled reader, {loaded.arrow_bytes / 2**20:,.0f} MiB in memory"]
    if loaded.spilled:
        parts.append(f"{len(loaded.spilled)} files' tables to Parquet")
    if loaded.declined:
        parts.append(f"{len(loaded.declined)} files declined to read_json")
    return ", ".join(parts)


class _Settled:
    """The roll-ups' scans of every click (``clicks_judged``), each run once.

    The stream step re-judges a few percent of the clicks; the cube (table
    ``cube_judged``), the human clicks (table ``humans``), the machine-only
    tokens and the orphans (never a stream token's) are read from every
    click with its per-click verdict, and ``_roll_up`` corrects the first
    three for ``stream_rows``. (Until the compiled log reader, these ran in
    a thread alongside the stream rules; one statement at a time, each with
    DuckDB's threads, proved faster and holds less memory: 6.7-6.9 s
    against 7.2-7.5 s for the same step over the warm cache, peak RSS 1.2
    against 1.35-1.37 GiB.)
    """

    def __init__(self) -> None:
        self.orphans: list[tuple[Any, ...]] = []

    def run(self, cur: duckdb.DuckDBPyConnection) -> None:
        part = "clicks_judged"
        cur.execute(f"CREATE OR REPLACE TABLE cube_judged AS {_sql.CUBE.format(clicks=part)}")
        cur.execute(f"CREATE OR REPLACE TABLE humans AS {_sql.HUMANS.format(clicks=part)}")
        cur.execute(f"CREATE OR REPLACE TABLE machine_tokens AS {_sql.MACHINE_TOKENS.format(clicks=part)}")
        self.orphans = cur.execute(_sql.ORPHANS_BY_HOUR.format(clicks=part)).fetchall()


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[Any, ...]]:
    return con.execute(sql).fetchall()


def _rate(c: int, n: int, alpha: float) -> dict[str, float | None]:
    if n <= 0:
        return {"rate": None, "low": None, "high": None}
    lo, hi = wilson(c, n, alpha)
    return {"rate": round(c / n, 6), "low": round(lo, 6), "high": round(hi, 6)}


def _roll_up(
    con: duckdb.DuckDBPyConnection,
    opts: ReportOptions,
    sent: list[CampaignSent],
    moves: Moves,
    n_files: int,
    snap_info: dict[str, str],
    settled: _Settled,
) -> dict[str, Any]:
    con.execute("CREATE OR REPLACE TABLE campaigns (id VARCHAR, send_at BIGINT)")
    con.execute("CREATE OR REPLACE TABLE holdouts (campaign VARCHAR, variant VARCHAR, holdout BOOLEAN)")
    if sent:
        con.executemany("INSERT INTO campaigns VALUES (?, ?)", [(c.id, c.send_at) for c in sent])
    arms = [(c.id, a.name, a.holdout) for c in sent for a in c.arms]
    if arms:
        con.executemany("INSERT INTO holdouts VALUES (?, ?, ?)", arms)
    # Scan 1: counts by low-cardinality keys (every click's part is done:
    # the stream rows' final verdicts in, as logged out).
    cube = _rows(con, _sql.CUBE_MERGE.format(
        parts=f"SELECT * FROM cube_judged UNION ALL {_sql.CUBE.format(clicks='stream_rows')} "
              f"UNION ALL {_sql.CUBE_LOGGED_NEGATIVE}"))
    # Scan 2: the human clicks (the stream rows' as re-judged), then everything
    # that needs DISTINCT recipients.
    con.execute("DELETE FROM humans WHERE link = 'recipient' AND token IN (SELECT token FROM stream_tokens)")
    con.execute(f"INSERT INTO humans {_sql.HUMANS.format(clicks='stream_rows')}")
    con.execute(f"CREATE OR REPLACE TABLE first_human AS {_sql.FIRST_HUMAN}")

    firsts = [r[9] for r in cube if r[9] is not None]
    lasts = [r[10] for r in cube if r[10] is not None]
    first, last = (min(firsts), max(lasts)) if firsts else (None, None)
    lines = sum(r[8] for r in cube)
    span_h = ((last or 0) - (first or 0)) / 3_600_000
    width, width_ms = ("1 hour", 3_600_000) if span_h <= 72 else ("1 day", 86_400_000)

    by_campaign: dict[str, dict[str, Any]] = {}
    # totals[campaign][variant] = [clicks, human clicks, human clicks on the campaign link, clickers]
    totals: dict[str, dict[str | None, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0, 0]))
    reasons_of: dict[tuple[str, str, str], int] = defaultdict(int)
    over: dict[tuple[str, int, str], int] = defaultdict(int)
    policies: dict[str, int] = defaultdict(int)
    for kind, campaign, variant, link, verdict, reasons, policy, hour, n, _, _ in cube:
        policies[policy or "(none)"] += n
        if kind != "click":
            continue
        acc = totals[campaign][variant]
        acc[0] += n
        if verdict == "human":
            acc[1] += n
            if link == "campaign":
                acc[2] += n
        else:
            reasons_of[(campaign, verdict, _deciding_reason(reasons))] += n
        over[(campaign, hour * 3_600_000 // width_ms * width_ms, verdict)] += n
    for campaign, variant, clickers in _rows(con, _sql.CLICKERS):
        totals[campaign][variant][3] = clickers
    known = {c.id for c in sent}
    extra = sorted(c for c in totals if c is not None and c not in known)
    campaigns = [*sent, *(CampaignSent(c, "(not in this snapshot)", None, 0, 0, 0, ()) for c in extra)]

    non_human: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (campaign, verdict, reason), clicks in sorted(reasons_of.items(), key=lambda kv: (kv[0][0], kv[0][1], -kv[1], kv[0][2])):
        non_human[campaign].append({"verdict": verdict, "reason": reason, "clicks": clicks})
    machine_only = dict(_rows(con, _sql.MACHINE_ONLY))
    breakdowns: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    for name, dims in (("routes", ("route",)), ("stores", ("store",)), ("devices", ("device",)),
                       ("regions", ("country", "region"))):
        rows = _rows(con, _sql.BREAKDOWN.format(dim=", ".join(dims)))
        rows.sort(key=lambda r: (str(r[0]), -r[-1], -r[-2], *(str(x) for x in r[1:-2])))
        for r in rows:
            row = {d: (v if v is not None else "(none)") for d, v in zip(dims, r[1:-2], strict=True)}
            row.update(human_clicks=r[-2], clickers=r[-1])
            breakdowns[r[0]][name].append(row)
    ttfc_q = {r[0]: (r[1], r[2]) for r in _rows(con, _sql.TIME_TO_FIRST)}
    cases = " ".join(
        f"WHEN since_send_s < {b!r} THEN '{name}'" for name, b in _sql.TTFC_BOUNDS if b != float("inf")
    ) + f" ELSE '{_sql.TTFC_BOUNDS[-1][0]}'"
    hist: dict[str, dict[str, int]] = defaultdict(dict)
    for campaign, bucket, n in _rows(con, _sql.TIME_TO_FIRST_HIST.format(cases=cases)):
        hist[campaign][bucket] = n
    over_time: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (campaign, at_ms, verdict), clicks in sorted(over.items()):
        over_time[campaign].append({"at": iso_ms(at_ms), "verdict": verdict, "clicks": clicks})

    for c in campaigns:
        t = totals.get(c.id, {})
        holdout_names = {a.name for a in c.arms if a.holdout}
        clickers = sum(v[3] for k, v in t.items() if k not in holdout_names)
        held_clickers = sum(v[3] for k, v in t.items() if k in holdout_names)
        q = ttfc_q.get(c.id)
        ttfc: dict[str, Any] = {"clickers": 0, "p25_s": None, "median_s": None, "p75_s": None, "p90_s": None}
        if q and quantiles_ok(q[1]):
            ttfc = {"clickers": q[0], "p25_s": round(q[1][0], 1), "median_s": round(q[1][1], 1),
                    "p75_s": round(q[1][2], 1), "p90_s": round(q[1][3], 1)}
        ttfc["histogram"] = [{"bucket": name, "clickers": hist[c.id].get(name, 0)} for name, _ in _sql.TTFC_BOUNDS]
        by_verdict: dict[str, int] = defaultdict(int)
        for nh in non_human.get(c.id, []):
            by_verdict[nh["verdict"]] += nh["clicks"]
        by_campaign[c.id] = {
            "id": c.id,
            "name": c.name,
            "sent": c.sent,
            "holdout_recipients": c.holdout,
            "retired_recipients": c.retired,
            "clicks": sum(v[0] for v in t.values()),
            "human_clicks": sum(v[1] for v in t.values()),
            "human_clicks_campaign_link": sum(v[2] for v in t.values()),
            "unique_human_clickers": clickers,
            "ctr": _rate(clickers, c.sent, opts.alpha),
            "holdout_clickers": held_clickers,
            "non_human": {
                "by_verdict": [{"verdict": v, "clicks": n} for v, n in sorted(by_verdict.items())],
                "by_reason": non_human.get(c.id, []),
            },
            "machine_only_tokens": machine_only.get(c.id, 0),
            "variants": _variants(c, t, opts.alpha),
            "routes": breakdowns[c.id]["routes"],
            "stores": breakdowns[c.id]["stores"],
            "regions": breakdowns[c.id]["regions"],
            "devices": breakdowns[c.id]["devices"],
            "time_to_first_click": ttfc,
            "clicks_over_time": {"bucket": width, "rows": over_time.get(c.id, [])},
        }

    return {
        "schema": REPORT_SCHEMA,
        "snapshot": snap_info,
        "logs": {"files": n_files, "lines": lines, "first_click": iso_ms(first), "last_click": iso_ms(last)},
        "window": {"since": iso_ms(opts.since_ms), "until": iso_ms(opts.until_ms)},
        "k": opts.k,
        "alpha": opts.alpha,
        "policies": [{"policy": p, "clicks": n} for p, n in sorted(policies.items())],
        "rejudging": {
            "policy": moves.policy,
            "clicks_rejudged": moves.clicks_rejudged,
            "stream_tokens_checked": moves.tokens_checked,
            "clicks_moved": moves.clicks_moved,
            "moves": [{"from": a, "to": b, "clicks": n} for (a, b), n in sorted(moves.moves.items())],
        },
        "campaigns": [by_campaign[c.id] for c in campaigns],
        "orphans_by_hour": [
            {"hour": iso_ms(h * 3_600_000), "requests": n, "networks": nets, "distinct_tokens": toks}
            for h, n, nets, toks in settled.orphans
        ],
    }


_reasons_decoder = msgspec.json.Decoder(list[str])


def _deciding_reason(reasons_json: str) -> str:
    """The stream rule's reason when re-judging moved the click, else the first reason."""
    reasons = _reasons_decoder.decode(reasons_json or "[]")
    stream = [r for r in reasons if r.startswith("stream:")]
    return (stream or reasons or ["(none)"])[0]


def _variants(c: CampaignSent, t: Mapping[str | None, Sequence[int]], alpha: float) -> dict[str, Any]:
    if not c.arms:
        return {"arms": [], "test": None}
    arms = []
    holdout = next((a for a in c.arms if a.holdout), None)
    held = (t.get(holdout.name, (0, 0, 0, 0))[3], holdout.recipients) if holdout else None
    for a in c.arms:
        clickers = t.get(a.name, (0, 0, 0, 0))[3]
        row: dict[str, Any] = {"variant": a.name, "holdout": a.holdout, "recipients": a.recipients,
                               "clickers": clickers, **_rate(clickers, a.recipients, alpha)}
        if held and not a.holdout and held[0] > 0 and a.recipients:
            base = held[0] / held[1]
            row["lift_vs_holdout"] = round((clickers / a.recipients - base) / base, 6)
            res = two_proportion((clickers, a.recipients), held, alpha)
            row["p_vs_holdout"] = round(res.p_value, 6) if res else None
        arms.append(row)
    res = chi_square_independence([(r["clickers"], r["recipients"]) for r in arms if not r["holdout"]], alpha)
    test = None
    if res is not None:
        test = {"test": res.test, "statistic": round(res.statistic, 6), "df": res.df,
                "p_value": round(res.p_value, 6), "alpha": alpha, "significant": res.significant}
    return {"arms": arms, "test": test}


def ensure_writable(path: str | os.PathLike[str]) -> None:
    """Fail early (before a long scan) when an output file cannot be created."""
    p = Path(path)
    if not p.parent.exists():
        raise ReportError(f"{path}: folder {p.parent} does not exist")
