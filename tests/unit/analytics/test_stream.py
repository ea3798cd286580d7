"""The SQL pre-filter of stream re-judging never hides a token the stream function would change.

``apply_final_verdicts`` sends only some tokens through ``engine.bots.rejudge_stream``;
this checks, on generated streams, that the result equals running the stream
function on every token (so a new stream rule in engine.bots that the filter
does not know about fails here, not silently in a report).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.analytics import connect
from engine.analytics._load import LogSet, load_clicks
from engine.analytics._sql import REPORT_COLUMNS
from engine.analytics._stream import apply_final_verdicts
from engine.bots import rejudge_stream
from engine.clicklog import ClickEvent

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
        con = connect("256MB", tmp)
        try:
            load_clicks(con, LogSet((str(f),), ()), columns=REPORT_COLUMNS, work_dir=tmp)
            apply_final_verdicts(con)
            rows = con.execute("SELECT ts, verdict, reasons FROM clicks").fetchall()
            got = {ts: (v, tuple(msgspec.json.decode(r))) for ts, v, r in rows}
        finally:
            con.close()
    assert got == expected
