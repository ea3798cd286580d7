"""Stream re-judging in SQL equals ``engine.bots.rejudge_stream`` run on every token.

``apply_final_verdicts`` picks the tokens a stream rule can touch with cheap
SQL pre-checks, then applies the rules to them: rule 1 in SQL, rules 2 and 3
in one backward pass per token (``_rules.moved``), or all three in SQL
(``_sql.stream_verdicts``, the statement a warehouse copy runs); this checks, on generated streams, that the result equals running the stream
function on every token (so a new stream rule in engine.bots that the SQL does
not know about fails here, not silently in a report). Clicks of one token in
the same millisecond are ordered by ``_sql.STREAM_ORDER`` in the report; the
second test feeds the stream function that order.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.analytics import connect
from engine.analytics._load import LogSet, load_clicks
from engine.analytics._sql import REPORT_COLUMNS, STREAM_ORDER
from engine.analytics._stream import apply_final_verdicts
from engine.bots import rejudge_stream
from engine.clicklog import ClickEvent

#: Every way the report can run the stream step: candidate rows gathered by
#: Arrow or copied by DuckDB; rules 2 and 3 by ``_rules`` (numpy) or by the
#: SQL reference ``_sql.stream_verdicts``.
_WAYS = ((True, "numpy"), (False, "numpy"), (True, "sql"), (False, "sql"))

_click = st.fixed_dictionaries({
    "dt_ms": st.integers(1, 2500),
    "verdict": st.sampled_from(["human", "human", "suspect", "preview", "scanner", "bot", "unjudged"]),
    "reasons": st.lists(st.sampled_from(["datacenter", "datacenter:aws", "header-shape", "timing", "ua:scanner"]),
                        max_size=2, unique=True),
    "ip": st.sampled_from(["", "10.0.1.0/24", "10.0.2.0/24", "10.0.3.0/24", "10.0.4.0/24"]),
    "asn": st.sampled_from([None, 16509, 7922]),
    "since": st.one_of(st.none(), st.floats(-5, 60, allow_nan=False)),
    "device": st.sampled_from(["ios", "android", "desktop", "unknown", None]),
})


def _events(tokens: list[list[dict]]) -> list[ClickEvent]:
    # ts is unique across the whole example (it identifies a click below);
    # the order of clicks at the same millisecond is unspecified in the report
    out = []
    n = 0
    for t, clicks in enumerate(tokens):
        ts = 1_800_000_000_000 + t * 10_000_000
        for c in clicks:
            ts += c["dt_ms"]
            n += 1
            out.append(ClickEvent(
                id=f"{n:08d}", ts=ts, kind="click", status=302, answer="redirect", verdict=c["verdict"],
                reasons=c["reasons"], token=f"T{t}", link="recipient", campaign="c", recipient=f"r{t}",
                ip=c["ip"], asn=c["asn"], since_send_s=c["since"], device=c["device"],
            ))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_click, min_size=1, max_size=5), min_size=1, max_size=6))
def test_prefilter_plus_stream_equals_stream_on_every_token(tokens):
    events = _events(tokens)
    expected: dict[int, tuple[str, tuple[str, ...]]] = {}
    for t in range(len(tokens)):
        mine = sorted((e for e in events if e.token == f"T{t}"), key=lambda e: e.ts)
        for e, v in zip(mine, rejudge_stream(mine), strict=True):
            expected[e.ts] = (v.verdict, v.reasons)
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "clicks-1.jsonl"
        f.write_bytes(b"".join(msgspec.json.encode(e) + b"\n" for e in events))
        for gathered, rules_by in _WAYS:
            con = connect("256MB", tmp)
            try:
                loaded = load_clicks(con, LogSet((str(f),), ()), columns=REPORT_COLUMNS, work_dir=tmp)
                assert loaded.reader_only is not None
                apply_final_verdicts(con, reader_only=loaded.reader_only if gathered else None, rules_by=rules_by)
                rows = con.execute("SELECT ts, verdict, reasons FROM clicks").fetchall()
                got = {ts: (v, tuple(msgspec.json.decode(r))) for ts, v, r in rows}
            finally:
                con.close()
            assert got == expected, (gathered, rules_by)


def _stream_order_key(e: ClickEvent) -> tuple:
    # _sql.STREAM_ORDER spelled in Python (NULLS FIRST: None sorts before any value)
    return (e.ts, e.ip, (e.asn is not None, e.asn or 0), e.verdict, msgspec.json.encode(e.reasons).decode(),
            (e.since_send_s is not None, e.since_send_s or 0.0), (e.device is not None, e.device or ""))


def _same_millisecond(tokens: list[list[dict]]) -> list[ClickEvent]:
    # like _events, but a click may share its millisecond with the one before
    out = []
    for t, clicks in enumerate(tokens):
        ts = 1_800_000_000_000 + t * 10_000_000
        for n, c in enumerate(clicks):
            ts += c["dt_ms"] % 3  # 0, 1 or 2 ms: ties and bursts are common
            out.append(ClickEvent(
                id=f"{t:04d}{n:04d}", ts=ts, kind="click", status=302, answer="redirect", verdict=c["verdict"],
                reasons=c["reasons"], token=f"T{t}", link="recipient", campaign="c", recipient=f"r{t}",
                ip=c["ip"], asn=c["asn"], since_send_s=c["since"], device=c["device"],
            ))
    return out


def _row(e: ClickEvent, verdict: str, reasons: list[str] | tuple[str, ...]) -> tuple:
    return (e.token, e.ts, e.ip, e.asn, e.since_send_s, e.device, verdict, tuple(reasons))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(_click, min_size=1, max_size=6), min_size=1, max_size=5))
def test_clicks_in_the_same_millisecond_follow_the_stream_order(tokens):
    assert STREAM_ORDER.startswith("ts, ip, asn NULLS FIRST, verdict::VARCHAR, reasons, since_send_s NULLS FIRST")
    events = _same_millisecond(tokens)
    expected = []
    for t in range(len(tokens)):
        mine = sorted((e for e in events if e.token == f"T{t}"), key=_stream_order_key)
        expected += [_row(e, v.verdict, v.reasons) for e, v in zip(mine, rejudge_stream(mine), strict=True)]
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "clicks-1.jsonl"
        # lines in reverse: the result must not depend on the order they were read in
        f.write_bytes(b"".join(msgspec.json.encode(e) + b"\n" for e in reversed(events)))
        for gathered, rules_by in _WAYS:
            con = connect("256MB", tmp)
            try:
                loaded = load_clicks(con, LogSet((str(f),), ()), columns=REPORT_COLUMNS, work_dir=tmp)
                apply_final_verdicts(con, reader_only=loaded.reader_only if gathered else None, rules_by=rules_by)
                rows = con.execute(
                    "SELECT token, ts, ip, asn, since_send_s, device, verdict, reasons FROM clicks"
                ).fetchall()
            finally:
                con.close()
            got = [(*r[:6], r[6], tuple(msgspec.json.decode(r[7]))) for r in rows]
            assert sorted(got, key=repr) == sorted(expected, key=repr), (gathered, rules_by)
