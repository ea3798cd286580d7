"""The stream step's parts: the burst pre-check's window bound, and the settled clicks.

The property test in test_stream.py checks the whole filter on generated
streams; these pin the edges it rarely draws: three addresses exactly one
burst window apart (a burst) and one millisecond more (not a burst, and not
past the SQL pre-check at all), and the views the roll-ups read: the clicks the
stream step cannot move, and every click with the stream rows' verdicts.
"""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from engine.analytics import connect
from engine.analytics._load import LogSet, load_clicks
from engine.analytics._sql import REPORT_COLUMNS
from engine.analytics._stream import apply_final_verdicts
from engine.bots import StreamRules, rejudge_stream
from engine.clicklog import ClickEvent

T0 = 1_800_000_000_000


def _click(n: int, ts: int, token: str, ip: str, verdict: str = "human") -> ClickEvent:
    return ClickEvent(
        id=f"{n:08d}", ts=ts, kind="click", status=302, answer="redirect", verdict=verdict, reasons=[],
        token=token, link="recipient", campaign="c", recipient=f"r-{token}", ip=ip, asn=7922,
        since_send_s=3600.0, device="ios",
    )


def _load(tmp_path: Path, events: list[ClickEvent]):
    f = tmp_path / "clicks-1.jsonl"
    f.write_bytes(b"".join(msgspec.json.encode(e) + b"\n" for e in events))
    con = connect("256MB", str(tmp_path))
    load_clicks(con, LogSet((str(f),), ()), columns=REPORT_COLUMNS, work_dir=str(tmp_path))
    return con


def _three_addresses(span_ms: int) -> list[ClickEvent]:
    # three human clicks from three networks, the last span_ms after the first
    return [
        _click(1, T0, "T1", "10.0.1.0/24"),
        _click(2, T0 + span_ms // 2, "T1", "10.0.2.0/24"),
        _click(3, T0 + span_ms, "T1", "10.0.3.0/24"),
    ]


@pytest.mark.parametrize(("span_ms", "burst"), [(1000, True), (1001, False)])
def test_burst_precheck_bound_is_the_window(tmp_path, span_ms, burst):
    rules = StreamRules()
    assert rules.burst_window_s == 1.0 and rules.burst_addresses == 3
    events = _three_addresses(span_ms)
    expected = [(v.verdict, list(v.reasons)) for v in rejudge_stream(events, None, rules)]
    assert all(v == ("bot", ["stream:burst"]) for v in expected) is burst
    con = _load(tmp_path, events)
    try:
        moves = apply_final_verdicts(con, rules=rules)
        rows = con.execute("SELECT ts, verdict, reasons FROM clicks ORDER BY ts").fetchall()
    finally:
        con.close()
    assert [(v, msgspec.json.decode(r)) for _, v, r in rows] == expected
    # one millisecond wider than the window: the SQL pre-check keeps the token from the exact rules
    assert moves.tokens_checked == (1 if burst else 0)
    assert moves.clicks_moved == (3 if burst else 0)


def _mixed() -> list[ClickEvent]:
    # T1 bursts (judged by the exact rules); T2 is a quiet human; one orphan request
    orphan = ClickEvent(id="00000009", ts=T0 + 50, kind="orphan", status=404, answer="not-found",
                        verdict="bot", token="XNOPE", ip="10.9.9.0/24")
    return [*_three_addresses(400), _click(4, T0 + 10, "T2", "10.0.7.0/24"),
            _click(5, T0 + 90_000, "T2", "10.0.7.0/24"), orphan]


def test_settled_clicks_leave_out_the_stream_tokens_and_clicks_adds_the_stream_rows(tmp_path):
    con = _load(tmp_path, _mixed())
    try:
        moves = apply_final_verdicts(con)
        settled = con.execute("SELECT token, count(*) FROM clicks_settled GROUP BY ALL ORDER BY token").fetchall()
        judged = con.execute("SELECT count(*) FROM clicks_judged").fetchall()[0][0]
        final = con.execute("SELECT token, verdict, count(*) FROM clicks GROUP BY ALL ORDER BY ALL").fetchall()
    finally:
        con.close()
    assert settled == [("T2", 2), ("XNOPE", 1)]
    assert judged == 6
    assert moves.tokens_checked == 1
    assert final == [("T1", "bot", 3), ("T2", "human", 2), ("XNOPE", "bot", 1)]



@pytest.mark.parametrize(("budget", "ran"), [(None, "numpy"), (10**9, "numpy"), (1200, "numpy"), (1199, "sql")])
def test_the_numpy_pass_gives_way_to_the_sql_past_half_the_memory_budget(tmp_path, budget, ran):
    # T1's three clicks reach the exact rules, counted at 200 bytes each:
    # 600 bytes, so a budget of 1,200 is the smallest that keeps the numpy pass
    con = _load(tmp_path, _mixed())
    try:
        moves = apply_final_verdicts(con, memory_budget=budget)
        final = con.execute("SELECT token, verdict, reasons, count(*) FROM clicks GROUP BY ALL ORDER BY ALL").fetchall()
    finally:
        con.close()
    assert moves.rules_by == ran
    assert moves.tokens_checked == 1
    assert final == [("T1", "bot", '["stream:burst"]', 3), ("T2", "human", "[]", 2), ("XNOPE", "bot", "[]", 1)]
