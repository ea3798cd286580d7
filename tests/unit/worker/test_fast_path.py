"""The compiled common click (engine/worker/_fast.c) answers exactly what ClickHandler.handle answers.

``ClickHandler.handle`` is the reference. For every request, a handler with the
compiled path either gets ``None`` from ``fast.click`` (and then runs
``handle`` itself) or gets a 302 whose headers and log line are the ones a
pure-Python handler produces for the same request, byte for byte but for the
event id (each handler draws its own).
"""

from __future__ import annotations

import re

import msgspec
import pytest
from fixtures.geo import build_city_mmdb
from hypothesis import given, settings
from hypothesis import strategies as st
from worker_unit_support import HUMAN_HEADERS, IPHONE, NOW, Items, campaign

from engine.clicklog import ClickEvent, EventIds
from engine.routing import GeoReader
from engine.snapshot import (
    Attr,
    BotPolicy,
    BotSignal,
    Country,
    Device,
    LocalTime,
    Rule,
    Template,
    TokenRecord,
    Variant,
    open_snapshot,
    write_snapshot,
)
from engine.worker import _fastpath
from engine.worker._core import ClickHandler

_ID = re.compile(rb'^\{"id":"[0-9A-Z]{26}",')


def _masked(line: bytes | None) -> bytes | None:
    return None if line is None else _ID.sub(b'{"id":"",', line)


def test_the_compiled_path_is_built_from_this_source():
    """CI builds it (setup.py); a missing or stale build would silently serve only the slow path."""
    mod = _fastpath.module()
    assert mod is not None, _fastpath.WHY_NOT
    assert len(mod.SOURCE_SHA256) == 64


def test_pure_python_switch(monkeypatch):
    monkeypatch.setenv(_fastpath.PURE_ENV, "1")
    mod, why = _fastpath.load()
    assert mod is None and _fastpath.PURE_ENV in why
    monkeypatch.setenv(_fastpath.PURE_ENV, "0")
    assert _fastpath.load()[0] is not None


def test_a_stale_build_is_refused(monkeypatch, tmp_path):
    other = tmp_path / "_fast.c"
    other.write_text("/* another version */\n")
    monkeypatch.setattr(_fastpath, "_SOURCE", other)
    mod, why = _fastpath.load()
    assert mod is None and "another version" in why


@pytest.mark.parametrize("seed", [0, 12345, (1 << 80) - 2**21 - 3, (1 << 80) - 2, (1 << 64) - 5])
def test_compiled_event_ids_equal_the_python_ones(seed):
    """Same start, same ids: across millisecond changes, a clock stepping back, and counter carries."""
    compiled, python = _fastpath.module().EventIds(seed), EventIds()
    python._rand = seed
    assert compiled._rand == seed
    ms = 1_800_000_000_000
    for k in range(3000):
        t = ms + k // 7 - (50 if k % 97 == 0 else 0)
        assert compiled.new(t) == python.new(t), (seed, k)
    assert compiled._rand == python._rand
    with pytest.raises(ValueError):
        compiled.new(-1)


def test_the_worker_draws_compiled_ids():
    from engine.worker._app import event_ids

    ids = event_ids()
    assert type(ids) is _fastpath.module().EventIds
    assert 0 <= ids._rand < 1 << 80 and ids.new(1) < ids.new(1)


# ------------------------------------------------------------------ fixtures
_POLICY = BotPolicy(id="p", version="1", signals=[
    BotSignal(kind="prefetch-header", verdict="preview", reason="prefetch",
              params={"headers": {"sec-purpose": ["prefetch"]}}),
    BotSignal(kind="user-agent", verdict="preview", reason="ua", params={"list": "preview-fetchers"}),
    BotSignal(kind="network", verdict="scanner", reason="dc", params={"cidrs": ["20.2.5.0/24"]}),
    BotSignal(kind="timing", verdict="suspect", reason="fast", params={"below-seconds": 10}),  # decisive
    BotSignal(kind="header-shape", verdict="bot", reason="shape", strength="weak",
              params={"checks": ["not-a-browser", "no-accept-language", "accept-not-html"]}),
])

_TOKENS = [
    # 0: rule-less, variants, a send time (the plain path)
    ("Ab3dEf7h", TokenRecord(campaign=0, recipient="cust-1001", variant=0)),
    ("Ab3dEf7k", TokenRecord(campaign=0, recipient="cust-1002", variant=1)),
    ("Ab3dEf7m", TokenRecord(campaign=0, recipient="cust-1003", variant=7)),  # an arm that is gone
    ("CmpgnTk2", TokenRecord(campaign=0, recipient="")),  # split per click: the Python path
    # 1: rules on geo, device, local time and attributes, an escaped destination, no send time;
    # tokens that differ in one field each (the decision memo's key)
    ("Rr3dEf7h", TokenRecord(campaign=1, recipient="cust-2001", variant=0, attrs=["gold"])),
    ("Rr3dEf7k", TokenRecord(campaign=1, recipient="")),  # split per click
    ("Rr3dEf7m", TokenRecord(campaign=1, recipient="cust-2002", variant=1, attrs=["gold"])),
    ("Rr3dEf7n", TokenRecord(campaign=1, recipient="cust-2003", variant=0, attrs=["silver"])),
    ("Rr3dEf7p", TokenRecord(campaign=1, recipient="cust-2004", variant=0, zone=0, attrs=["gold"])),
    ("Rr3dEf7q", TokenRecord(campaign=1, recipient="cust-2005", variant=0, zone=1, attrs=["gold"])),
    # 2: an attribute slot (no remembered rendering), retention ended at NOW
    ("At3dEf7h", TokenRecord(campaign=2, recipient="cust-3001", attrs=["a b/c"])),
    # 3: not live yet / expired without a page, on another domain
    ("Sc3dEf7h", TokenRecord(campaign=3, recipient="cust-4001")),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fast")
    city = build_city_mmdb(tmp / "City.mmdb", {
        "20.2.5.0/24": dict(country="US", region="NY", city="New York", lat=40.7, lon=-74.0,
                            accuracy_km=5, timezone="America/New_York"),
        "20.3.7.0/24": dict(country="CA", region="QC", city='Montréal "Centre"\\', lat=45.5, lon=-73.6,
                            accuracy_km=50, timezone="America/Toronto"),
    })
    camps = [
        campaign(bot_policy="p"),
        campaign(id="rules", bot_policy="p", send_at=None, attr_names=["tier"],
                 zones=["Pacific/Kiritimati", "Pacific/Pago_Pago"], timezone="UTC", routes=[
            Rule("ca", [Country(["CA"])], Template(['https://x.example/q?a="b"&c=\\'])),
            Rule("late", [LocalTime(start=1200, end=1439)], Template(["https://x.example/late"])),
            Rule("gold-b", [Attr("tier", ["gold"]), Variant(["family"])], Template(["https://x.example/gold"])),
            Rule("ios", [Device(["ios"])], Template(["https://apps.example/ios/", ""], ["attr.tier"])),
        ], default=Template(["https://x.example/é?v=", ""], ["variant"])),
        campaign(id="attrs", bot_policy="p", attr_names=["seg"], retain_until=int(NOW) + 7200,
                 default=Template(["https://x.example/", ""], ["attr.seg"])),
        campaign(id="sched", domains=["b.example"], starts_at=int(NOW) + 600, ends_at=int(NOW) + 1200,
                 not_yet_live=Template(["https://x.example/soon"]), expired=None),
    ]
    path = tmp / "s.lmdb"
    write_snapshot(path, campaigns=camps, tokens=sorted(_TOKENS), policies=[_POLICY])
    snap = open_snapshot(path)
    geo = GeoReader(city, None)
    yield snap, geo
    geo.close()
    snap.close()


def _pair(world):
    snap, geo = world
    seed = 12345 << 40
    a_ids, b_ids = _fastpath.module().EventIds(seed), EventIds()
    b_ids._rand = seed
    fast = ClickHandler(snap, geo=geo, worker="h:1", ids=a_ids)
    ref = ClickHandler(snap, geo=geo, worker="h:1", ids=b_ids, use_fast=False)
    assert fast.fast is not None and ref.fast is None
    return fast, ref


def _check(fast: ClickHandler, ref: ClickHandler, method, path, authority, headers, ip, now):
    """One request through both handlers; returns whether the compiled path answered it."""
    want = ref.handle(method, path, authority, headers, ip, now)
    hit = fast.fast.click(method, path, authority, headers, ip, now)
    if hit is None:
        got = fast.handle(method, path, authority, headers, ip, now)
        assert (got.status, got.answer, got.headers, got.body) == (want.status, want.answer, want.headers,
                                                                   want.body)
        assert _masked(got.line) == _masked(want.line)
        return False
    line, hdrs, verdict = hit
    assert (want.status, want.answer, want.body) == (302, "redirect", b"")
    assert hdrs == want.headers
    assert verdict == want.event.verdict
    assert _masked(line) == _masked(want.line), (line, want.line)
    assert msgspec.json.decode(line, type=ClickEvent).token == want.event.token
    return True


# --------------------------------------------------------------------- tests
def test_the_common_click_is_compiled_and_byte_identical(world):
    fast, ref = _pair(world)
    headers = {**HUMAN_HEADERS, "host": "go.acme.example"}
    served = [_check(fast, ref, "GET", "/Ab3dEf7h", None, headers, "198.51.100.7", NOW) for _ in range(3)]
    # the first request of a header set builds its shape and verdict in Python; then the compiled path answers
    assert served == [False, True, True]
    assert fast.fast.served == 2 and fast.fast.declined == 1 and fast.fast.errors == 0
    # same ids drawn in the same order: the lines are equal with their ids too
    got = fast.fast.click("GET", "/Ab3dEf7h", None, headers, "198.51.100.8", NOW + 1)
    want = ref.handle("GET", "/Ab3dEf7h", None, headers, "198.51.100.8", NOW + 1)
    assert got is not None and got[0] == want.line
    # another arm's destination is rendered (and remembered) by Python the first time
    assert not _check(fast, ref, "GET", "/Ab3dEf7k", None, headers, "198.51.100.8", NOW + 2)
    assert _check(fast, ref, "GET", "/Ab3dEf7k", None, headers, "198.51.100.8", NOW + 3)


def test_remembered_verdicts_are_keyed_on_the_network_and_timing_signals(world):
    """The compiled path reads the policy's network (per /24) and timing answers itself."""
    fast, ref = _pair(world)
    headers = {**HUMAN_HEADERS, "host": "go.acme.example"}
    verdicts = []
    for _ in range(3):
        for ip in ("20.2.5.7", "198.51.100.1", "20.2.5.200"):
            for after_send in (3600.0, 5.0):
                now = NOW - 3600 + after_send
                _check(fast, ref, "GET", "/Ab3dEf7h", None, headers, ip, now)
                verdicts.append(ref.handle("GET", "/Ab3dEf7h", None, headers, ip, now).event.verdict)
    assert set(verdicts) == {"scanner", "suspect", "human"}  # each signal decides some of them
    assert fast.fast.served >= 12


def test_remembered_decisions_through_the_compiled_path(world):
    """Tokens, places and header sets that differ in one input each, in one minute and across
    minutes: the compiled path's reading of routing's decision memo answers like routing."""
    fast, ref = _pair(world)
    # the recipient in Pago Pago first: its answer changes with the hour, and the first
    # click of a minute must not be answered from the minute before
    tokens = sorted((f"/{t}" for t, rec in _TOKENS if rec.campaign == 1), key=lambda p: p != "/Rr3dEf7q")
    header_sets = [Items([("host", "go.acme.example"), ("user-agent", ua), ("accept", "text/html"),
                           ("accept-language", lang)])
                   for ua, lang in ((IPHONE, "fr-CA"), ("Mozilla/5.0 (X11; Linux x86_64)", "en"))]
    served = 0
    # 10:00 UTC is 00:00 the next day on Kiritimati (UTC+14) and 23:00 the day before in Pago Pago (UTC-11)
    for now in (NOW + 7200, NOW + 7200 + 30, NOW + 7200 + 3600, NOW + 7200 + 3630):
        for _ in range(2):
            for ip in ("198.51.100.1", "20.3.7.9", "20.2.5.1", "20.2.5.01", ""):
                for headers in header_sets:
                    for path in tokens:
                        served += _check(fast, ref, "GET", path, None, headers, ip, now)
    assert served > 100
    assert fast.fast.remembered > 50  # decisions were remembered by routing and read back here


def test_rules_geo_and_escapes_through_the_compiled_path(world):
    fast, ref = _pair(world)
    headers = Items([("host", "go.acme.example"), ("user-agent", IPHONE), ("accept", "text/html"),
                      ("accept-language", "fr-CA"), ("x-forwarded-for", "1.2.3.4")])
    lines = []
    for ip in ("20.3.7.9", "20.3.7.9", "20.3.7.10", "20.2.5.1", "20.2.5.1", "198.51.100.1", "198.51.100.1"):
        if _check(fast, ref, "GET", "/Rr3dEf7h", None, headers, ip, NOW):
            lines.append(fast.fast.click("GET", "/Rr3dEf7h", None, headers, ip, NOW)[0])
    assert fast.fast.served >= 3
    events = [msgspec.json.decode(line, type=ClickEvent) for line in lines]
    assert {e.route for e in events} >= {"ca", "ios"}
    ca = next(e for e in events if e.route == "ca")
    assert ca.dest == 'https://x.example/q?a="b"&c=\\' and ca.city == 'Montréal "Centre"\\'


_header_values = {
    "user-agent": st.sampled_from([IPHONE, "facebookexternalhit/1.1", "curl/8.5.0", "", "é\"\\\x01",
                                   "Mozilla/5.0 (X11; Linux x86_64)"]),
    "accept": st.sampled_from(["text/html,*/*;q=0.8", "*/*", ""]),
    "accept-language": st.sampled_from(["en-US,en;q=0.9", "fr-CA", "", "*"]),
    "sec-purpose": st.sampled_from(["prefetch"]),
    "referer": st.sampled_from(["https://t.co/abc?x=1", "nonsense"]),
    "x-forwarded-for": st.sampled_from(["1.2.3.4"]),
    "cookie": st.text(max_size=4),
    "host": st.sampled_from(["go.acme.example", "GO.ACME.EXAMPLE:443", "b.example", "evil.example"]),
}
_header_sets = st.lists(
    st.sampled_from(sorted(_header_values)).flatmap(lambda n: st.tuples(st.just(n), _header_values[n])),
    max_size=7,
)
_request = st.tuples(
    st.integers(0, 2),
    st.sampled_from(["GET", "HEAD", "POST"]),
    st.sampled_from([f"/{t}" for t, _ in _TOKENS] + ["/Ab3dEf7h.", "/Zz9zZz9z", "/ab", "/robots.txt", "Ab3dEf7h",
                                                    "/Ab3dÉf7h", "/" + "A" * 40]),
    st.sampled_from(["20.2.5.7", "20.3.7.17", "20.3.7.017", "198.51.100.1", "", "::1", "2001:db8::1",
                     "1.2.3.400"]),
    st.sampled_from([-7200.0, -3595.0, 0.0, 700.0, 1300.0, 7300.0]),  # around send, schedule, retention
    st.sampled_from(["go.acme.example", "b.example", None]),
)


@settings(max_examples=120, deadline=None)
@given(st.lists(_header_sets, min_size=3, max_size=3), st.lists(_request, min_size=1, max_size=30))
def test_compiled_and_python_paths_agree_on_any_traffic(world, header_sets, requests):
    fast, ref = _pair(world)
    for which, method, path, ip, dt, authority in requests + requests + requests[::-1]:
        _check(fast, ref, method, path, authority, Items(header_sets[which]), ip, NOW + dt)
    assert fast.fast.errors == 0


def test_the_worker_answers_through_the_compiled_path(world, tmp_path):
    """RedirectApp: a compiled answer is logged (one line, before the answer) and counted."""
    import asyncio
    import json
    from types import SimpleNamespace

    from engine.worker._app import RedirectApp, WorkerConfig

    snap, _geo = world
    state = tmp_path / "state.json"
    state.write_text(json.dumps({"path": str(snap.path), "version": "v"}))
    app = RedirectApp(WorkerConfig(state_file=str(state), logs=str(tmp_path / "logs"),
                                   metrics_dir=str(tmp_path)))
    # the module's snapshot is already open in this process (LMDB allows one open per file)
    app._build = lambda path: ClickHandler(snap, worker=app.worker_id, ids=app.ids)
    app.__rsgi_init__(asyncio.new_event_loop())
    sent = []
    proto = SimpleNamespace(response_empty=lambda *a: sent.append(a), response_bytes=lambda *a: sent.append(a))
    scope = SimpleNamespace(proto="http", method="GET", headers={**HUMAN_HEADERS, "host": "go.acme.example"},
                            client="198.51.100.7:5000", path="/Ab3dEf7h", authority=None)
    for _ in range(5):
        asyncio.run(app.__rsgi__(scope, proto))
    app.__rsgi_del__(None)
    assert app.handler.fast.served == 4
    assert [s[0] for s in sent] == [302] * 5 and all(s[1][0][0] == "location" for s in sent)
    lines = b"".join(p.read_bytes() for p in (tmp_path / "logs").rglob("*.jsonl")).splitlines()
    assert len(lines) == 5 and len({msgspec.json.decode(x)["id"] for x in lines}) == 5
    assert sum(n for (status, _v, answer), n in app.metrics.requests.items()
               if (status, answer) == (302, "redirect")) == 5


# ------------------------------------------------------- the app (serve)
def _apps(tmp_path, snap, ip_header):
    """A RedirectApp with the compiled path and one without, over one open snapshot."""
    import asyncio
    import json

    from engine.worker._app import RedirectApp, WorkerConfig

    out = []
    for name, use_fast in (("fast", True), ("pure", False)):
        folder = tmp_path / name
        folder.mkdir()
        state = folder / "state.json"
        state.write_text(json.dumps({"path": str(snap.path), "version": "v"}))
        app = RedirectApp(WorkerConfig(state_file=str(state), logs=str(folder / "logs"), metrics_dir=str(folder),
                                       client_ip_header=ip_header))
        app._build = lambda path, app=app, use_fast=use_fast: ClickHandler(
            snap, worker="h:1", ids=app.ids, use_fast=use_fast)
        app.__rsgi_init__(asyncio.new_event_loop())
        out.append(app)
    return out


_CLOCK = re.compile(rb'"(ts|since_send_s)":[-0-9.e]+')


def _lines(app, folder):
    """The app's log lines, ids and clock readings masked (each app reads the real clock)."""
    app.__rsgi_del__(None)
    files = sorted(folder.rglob("*.jsonl"))
    return [_CLOCK.sub(rb'"\1":0', _masked(x + b"\n")) for f in files for x in f.read_bytes().splitlines()]


_xff = st.one_of(
    st.sampled_from(["", "20.2.5.7", " 20.3.7.9 ", "1.1.1.1, 20.2.5.7", "1.1.1.1,\t198.51.100.4\x1f", "x" * 80,
                     "1.1.1.1, é.2.3.4", "2001:db8::1", ",", "1.2.3.4,"]),
    st.text(alphabet=" ,.\t\x0b\x1c0123456789abcdef:é", max_size=24),
)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(_xff, st.sampled_from(["198.51.100.7:5000", "[2001:db8::1]:443", "20.2.5.9:1"]),
                          st.sampled_from(["http", "websocket"]), st.sampled_from(["GET", "HEAD"]),
                          # not a campaign-level link of a campaign with variants: split by the (random) id
                          st.sampled_from(["/Ab3dEf7h", "/Rr3dEf7h", "/Nope1234", "/At3dEf7h"]),
                          st.sampled_from([None, "go.acme.example"])),
                min_size=1, max_size=12),
       st.sampled_from([None, "x-forwarded-for"]))
def test_the_app_answers_and_logs_alike_with_or_without_the_compiled_path(world, tmp_path_factory, requests,
                                                                          ip_header):
    import asyncio
    from types import SimpleNamespace

    snap, _geo = world
    tmp = tmp_path_factory.mktemp("apps")
    fast_app, pure_app = _apps(tmp, snap, ip_header)
    sent = {"fast": [], "pure": []}
    for xff, client, proto_name, method, path, authority in requests * 3:
        headers = {**HUMAN_HEADERS, "host": "go.acme.example"}
        if xff:
            headers["x-forwarded-for"] = xff
        for name, app in (("fast", fast_app), ("pure", pure_app)):
            scope = SimpleNamespace(proto=proto_name, method=method, headers=headers, client=client, path=path,
                                    authority=authority)
            proto = SimpleNamespace(response_empty=lambda *a, name=name: sent[name].append(a),
                                    response_bytes=lambda *a, name=name: sent[name].append(a))
            asyncio.run(app.__rsgi__(scope, proto))
    assert sent["fast"] == sent["pure"]
    assert _lines(fast_app, tmp / "fast") == _lines(pure_app, tmp / "pure")
    assert fast_app.metrics.requests == pure_app.metrics.requests
    assert fast_app.metrics.handler_errors == pure_app.metrics.handler_errors == 0


def test_a_failed_answer_after_the_line_is_counted(world, tmp_path):
    import asyncio
    from types import SimpleNamespace

    snap, _geo = world
    fast_app, pure_app = _apps(tmp_path, snap, None)
    pure_app.__rsgi_del__(None)
    headers = {**HUMAN_HEADERS, "host": "go.acme.example"}
    scope = SimpleNamespace(proto="http", method="GET", headers=headers, client="198.51.100.7:5000",
                            path="/Ab3dEf7h", authority=None)
    ok = SimpleNamespace(response_empty=lambda *a: None, response_bytes=lambda *a: None)

    def gone(*a):
        raise ConnectionResetError("client went away")

    asyncio.run(fast_app.__rsgi__(scope, ok))  # builds the shape and the verdict
    asyncio.run(fast_app.__rsgi__(scope, SimpleNamespace(response_empty=gone, response_bytes=gone)))
    assert fast_app.handler.fast.served == 1
    assert fast_app.metrics.handler_errors == 1
    assert fast_app.metrics.last_error == "request handler raised ConnectionResetError"
    assert len(_lines(fast_app, tmp_path / "fast")) == 2  # the click was logged before the answer failed


@pytest.mark.parametrize("xff", [" 20.3.7.9 ", "1.1.1.1,\t198.51.100.4\x1f", "1.1.1.1, \x1c20.2.5.7\x0b", "x" * 80,
                                 "1.1.1.1, é.2.3.4", "2001:db8::1", ",", "1.2.3.4,", "9.9.9.9 , 20.2.5.1"])
def test_the_client_address_header_is_read_alike(world, tmp_path, xff):
    """X-Forwarded-For's last entry, stripped as str.strip() does and cut to 64 characters."""
    import asyncio
    from types import SimpleNamespace

    snap, _geo = world
    fast_app, pure_app = _apps(tmp_path, snap, "x-forwarded-for")
    headers = {**HUMAN_HEADERS, "host": "go.acme.example", "x-forwarded-for": xff}
    noop = SimpleNamespace(response_empty=lambda *a: None, response_bytes=lambda *a: None)
    for app in (fast_app, pure_app):
        for _ in range(3):
            scope = SimpleNamespace(proto="http", method="GET", headers=headers, client="10.0.0.1:5",
                                    path="/Ab3dEf7h", authority=None)
            asyncio.run(app.__rsgi__(scope, noop))
    served = fast_app.handler.fast.served
    assert _lines(fast_app, tmp_path / "fast") == _lines(pure_app, tmp_path / "pure")
    assert served == (0 if "é" in xff else 2)  # a non-ASCII header is read in Python


# ------------------------------------------------- the log, written by the compiled path
def _serve_n(app, n, path="/Ab3dEf7h"):
    import asyncio
    from types import SimpleNamespace

    sent = []
    proto = SimpleNamespace(response_empty=lambda *a: sent.append(a[0]), response_bytes=lambda *a: sent.append(a[0]))
    for _ in range(n):
        scope = SimpleNamespace(proto="http", method="GET", headers={**HUMAN_HEADERS, "host": "go.acme.example"},
                                client="198.51.100.7:5000", path=path, authority=None)
        asyncio.run(app.__rsgi__(scope, proto))
    return sent


def test_rotation_by_size_with_the_compiled_writes(world, tmp_path):
    import json

    snap, _geo = world
    fast_app, pure_app = _apps(tmp_path, snap, None)
    for app in (fast_app, pure_app):
        app.writer._max_bytes = 3000  # a few lines per file
        assert _serve_n(app, 40) == [302] * 40
    assert fast_app.handler.fast.served == 39  # all but the first, which builds the shape
    for app in (fast_app, pure_app):
        assert app.writer.lines_written == 40 and app.writer.lines_lost == 0
    fast_lines, pure_lines = _lines(fast_app, tmp_path / "fast"), _lines(pure_app, tmp_path / "pure")
    assert fast_lines == pure_lines and len(fast_lines) == 40
    files = sorted((tmp_path / "fast" / "logs").glob("*.jsonl"))
    assert len(files) > 5 and all(f.stat().st_size <= 3000 for f in files)
    assert all(json.loads(x) for f in files for x in f.read_bytes().splitlines())


def test_a_full_disk_loses_lines_not_requests_on_the_compiled_path(world, tmp_path):
    import os

    snap, _geo = world
    fast_app, pure_app = _apps(tmp_path, snap, None)
    for app in (fast_app, pure_app):
        assert _serve_n(app, 2) == [302, 302]  # warm: shape, verdict, an open file
        full = os.open("/dev/full", os.O_WRONLY)
        real, app.writer._fd = app.writer._fd, full  # every write now fails with ENOSPC
        assert _serve_n(app, 3) == [302] * 3
        app.writer._fd = real
        os.close(full)
        assert app.writer.lines_lost == 3 and app.writer.lines_written == 2
    assert fast_app.handler.fast.served == 4
    assert fast_app.writer.last_error == pure_app.writer.last_error == "OSError: [Errno 28] No space left on device"


def test_a_short_write_is_cut_back_on_the_compiled_path(world, tmp_path):
    """A write that lands only in part leaves no torn line (ftruncate) and counts the line lost."""
    import resource

    snap, _geo = world
    fast_app, _pure = _apps(tmp_path, snap, None)
    _pure.__rsgi_del__(None)
    assert _serve_n(fast_app, 2) == [302, 302]
    active = fast_app.writer.active_path
    size = active.stat().st_size
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    # the file may grow by 100 bytes more: the next line lands in part (Python ignores SIGXFSZ)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 100, hard))
    try:
        assert _serve_n(fast_app, 1) == [302]
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert fast_app.handler.fast.served == 2
    assert fast_app.writer.lines_lost == 1 and fast_app.writer.lines_written == 2
    assert fast_app.writer.last_error.startswith("OSError: short write (100 of ")
    assert active.stat().st_size == size  # cut back: no torn line
    assert _serve_n(fast_app, 1) == [302]
    assert len(_lines(fast_app, tmp_path / "fast")) == 3


def test_a_handler_is_freed_when_dropped(world):
    """The compiled path holds no reference back to its handler: a replaced handler (a reload)
    goes with its last reference, not at some later cyclic collection (or never, once frozen)."""
    import gc
    import weakref

    snap, geo = world
    handler = ClickHandler(snap, geo=geo)
    assert handler.fast is not None
    gone = weakref.ref(handler)
    gc.disable()
    try:
        del handler
        assert gone() is None
    finally:
        gc.enable()


def test_a_shape_rebuilt_after_its_cache_was_emptied_is_picked_up(world):
    """The compiled path keeps shapes by their header bytes; when ClickHandler's shape cache
    is emptied (its bound) and a verdict goes to the rebuilt shape, the compiled path follows."""
    fast, ref = _pair(world)
    headers = {**HUMAN_HEADERS, "host": "go.acme.example"}
    assert [_check(fast, ref, "GET", "/Ab3dEf7h", None, headers, "198.51.100.7", NOW) for _ in range(2)] == [
        False, True]
    fast._shapes.clear()  # what ClickHandler._shape does past 4,096 shapes
    # a verdict key this shape has not seen (another network): judged in Python, into the new shape
    served = [_check(fast, ref, "GET", "/Ab3dEf7h", None, headers, "20.2.5.7", NOW) for _ in range(3)]
    assert served == [False, True, True]
    # the first network's verdict lived in the old shape: judged once more, then remembered
    assert [_check(fast, ref, "GET", "/Ab3dEf7h", None, headers, "198.51.100.7", NOW) for _ in range(2)] == [
        False, True]
    assert fast.fast.errors == 0


def test_header_sets_whose_bytes_run_together_are_different_shapes(world):
    """Each name and value is length-prefixed in the compiled path's shape key."""
    fast, ref = _pair(world)
    base = [("host", "go.acme.example"), ("user-agent", IPHONE)]
    # without lengths both would read "accept" "text/html" "accept-language" "fr-CA"
    a = Items([*base, ("accept", "text/htmlaccept-languagefr-CA")])
    b = Items([*base, ("accept", "text/html"), ("accept-language", "fr-CA")])
    lines = {}
    for _ in range(3):
        for name, headers in (("a", a), ("b", b)):
            _check(fast, ref, "GET", "/Ab3dEf7h", None, headers, "198.51.100.7", NOW)
            hit = fast.fast.click("GET", "/Ab3dEf7h", None, headers, "198.51.100.7", NOW)
            lines[name] = msgspec.json.decode(hit[0], type=ClickEvent)
    assert "accept-language" not in lines["a"].headers and lines["b"].headers["accept-language"] == "fr-CA"
    assert lines["a"].lang is None and lines["b"].lang == "fr-CA"


def test_the_compiled_path_does_not_leak(world, tmp_path):
    """Reference counting in C: clicks through serve (answered, logged, counted) and through
    declines leave no objects behind once the caches are warm."""
    import contextlib
    import gc
    import tracemalloc
    from types import SimpleNamespace

    snap, _geo = world
    fast_app, pure_app = _apps(tmp_path, snap, "x-forwarded-for")
    pure_app.__rsgi_del__(None)
    proto = SimpleNamespace(response_empty=lambda *a: None, response_bytes=lambda *a: None)
    scopes = [SimpleNamespace(proto="http", method="GET", client="10.0.0.1:5", authority=None,
                              path=path, headers={**HUMAN_HEADERS, "host": "go.acme.example",
                                                  "x-forwarded-for": f"20.{n}.5.{n + 1}"})
              for n in (2, 3) for path in ("/Ab3dEf7h", "/Rr3dEf7h", "/Rr3dEf7k", "/Zz9zZz9z")]

    def run(k):
        for i in range(k):
            coro = fast_app.__rsgi__(scopes[i % len(scopes)], proto)
            with contextlib.suppress(StopIteration):  # the coroutine never awaits: one send finishes it
                coro.send(None)

    run(2000)
    gc.collect()
    tracemalloc.start()
    try:
        run(2000)
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        run(24000)
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    served = fast_app.handler.fast.served
    fast_app.__rsgi_del__(None)
    assert served > 10000  # the compiled path answered most of them
    assert grown < 64 * 1024, grown  # one leaked object per click would be 24,000 x 32+ bytes


# ------------------------------------------------------------ snapshot formats
@pytest.mark.parametrize("version", ["v1.1", "v2.0"])
def test_both_snapshot_formats_are_served_by_the_compiled_path(version):
    """Format 1 keeps tokens as B-tree keys (the LMDB get is called), format 2 in the hash index
    (read through engine.snapshot._index's C interface): the same answers either way."""
    from pathlib import Path

    fixture = Path(__file__).resolve().parents[2] / "compat" / version / "snapshot.lmdb"
    assert _fastpath.module().READS_TOKEN_INDEX == 1  # engine.snapshot._index's capsule was found
    with open_snapshot(fixture) as snap:
        assert (type(snap.raw_get).__name__ == "TokenIndex") == (version == "v2.0")
        fast, ref = _pair((snap, None))
        headers = {**HUMAN_HEADERS, "host": "go.example"}
        served = [_check(fast, ref, "GET", "/Ab3dEf7h", None, headers, "198.51.100.7", NOW) for _ in range(3)]
        assert served == [False, True, True]
        hit = fast.fast.click("GET", "/Ab3dEf7h", None, headers, "198.51.100.7", NOW)
        event = msgspec.json.decode(hit[0], type=ClickEvent)
        assert (event.campaign, event.recipient, event.dest) == ("compat", "cust-1", "https://www.example/")
        # a token the snapshot does not have, and one a character away: Python answers (404)
        for path in ("/Ab3dEf7i", "/Zz9yXw8w"):
            assert not _check(fast, ref, "GET", path, None, headers, "198.51.100.7", NOW)
        assert fast.fast.errors == 0
