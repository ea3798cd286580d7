"""The hot path's caches answer exactly what the uncached computation answers.

Each cache keys on less than the whole input (an IPv4 /24, a UTC minute); these
tests feed many inputs through one warm cache and compare every answer with a
fresh computation.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime

import msgspec
import pytest
from fixtures.geo import build_city_mmdb
from hypothesis import given, settings
from hypothesis import strategies as st
from worker_unit_support import Items

from engine.bots import compile_policy
from engine.bots._classify import _NetworkCheck
from engine.bots._networks import Networks
from engine.clicklog import LOGGED_HEADERS, EventIds, truncate_ip, ulid_time_ms
from engine.routing import GeoReader, build_store_index, compile_campaign
from engine.routing._clock import open_at
from engine.snapshot import BotPolicy, BotSignal, Campaign, Store, StorePolicy, StoreSet, Template
from engine.worker._core import ClickHandler

_octet = st.one_of(
    st.integers(0, 300).map(str),
    st.sampled_from(["00", "01", "007", "255", "256", "²", "١", "", " 1", "1 ", "0x1", "-1", "1000"]),
)
_ipish = st.one_of(
    st.builds(lambda a, b, c, d: f"{a}.{b}.{c}.{d}", _octet, _octet, _octet, _octet),
    st.builds(lambda c, d: f"10.0.{c}.{d}", _octet, _octet),
    st.sampled_from(["", "::1", "::ffff:1.2.3.4", "::ffff:1.2.3.999", "2001:db8::1", "::1.2.3.4",
                     "1.2.3", "1.2.3.4.5", "1.2.3.4%eth0", "fe80::1%eth0", "a.b.c.d", ".1.2.3"]),
    st.text(max_size=20),
)


class _Bare(ClickHandler):
    def __init__(self) -> None:  # only the caches: no snapshot needed
        self._ip_cache, self._net_cache = {}, {}


@settings(max_examples=300, deadline=None)
@given(st.lists(_ipish, min_size=1, max_size=40))
def test_ip_truncation_cache_equals_truncate_ip(ips):
    h = _Bare()
    for ip in ips + ips[::-1]:  # second pass: every answer comes from a warm cache
        assert h._ip(ip) == truncate_ip(ip), ip


def test_truncate_ip_refuses_non_ascii_digits():
    assert truncate_ip("1.2.3.²") == "" and truncate_ip("١.2.3.4") == ""


# --------------------------------------------------------------------- geo
@pytest.fixture
def mixed_mmdb(tmp_path):
    """A /16, a /24, and a /24 split by a narrower /28 with another city."""
    rec = dict(country="US", lat=40.0, lon=-74.0, accuracy_km=20, timezone="America/New_York")
    return build_city_mmdb(tmp_path / "City.mmdb", {
        "20.1.0.0/16": {**rec, "city": "Wide"},
        "20.2.5.0/24": {**rec, "city": "Block"},
        "20.3.7.0/24": {**rec, "city": "Outer"},
        "20.3.7.16/28": {**rec, "city": "Inner"},
    })


def test_geo_per_network_cache_equals_uncached_lookups(mixed_mmdb):
    warm = GeoReader(mixed_mmdb, None)
    rng = random.Random(7)
    probes = [f"20.{b}.{c}.{d}" for b, c in ((1, 9), (2, 5), (3, 7), (4, 1)) for d in range(256)]
    probes += ["20.3.7.016", "20.3.7.17 ", "::ffff:20.3.7.20", "20.3.7", "20.3.7.256", "x.3.7.1"]
    rng.shuffle(probes)
    try:
        for ip in probes + probes:
            cold = GeoReader(mixed_mmdb, None)
            try:
                assert warm.lookup(ip) == cold.lookup(ip), ip
            finally:
                cold.close()
        # the narrow network keeps its own answer inside the shared /24
        assert warm.lookup("20.3.7.17").city == "Inner" and warm.lookup("20.3.7.200").city == "Outer"
        # a wide network is answered from one entry for its whole /24
        assert warm.lookup("20.2.5.1") is warm.lookup("20.2.5.254")
    finally:
        warm.close()


# -------------------------------------------------------------------- bots
@pytest.mark.parametrize("cidrs", [["20.1.0.0/16", "20.2.5.0/24"], ["20.3.7.16/28", "20.1.0.0/16"],
                                   ["2001:db8::/32", "20.2.5.0/24"]])
def test_network_signal_cache_equals_networks(cidrs):
    check = _NetworkCheck(Networks([64500], cidrs), cidrs)
    fresh = Networks([64500], cidrs)
    rng = random.Random(3)
    probes = [f"20.{rng.choice([1, 2, 3, 4])}.{rng.choice([5, 7, 9])}.{rng.randrange(0, 300)}" for _ in range(3000)]
    probes += ["20.3.7.17", "20.3.7.200", "20.2.5.1", "20.2.5.0١", "2001:db8::5", "::ffff:20.2.5.9", "", "junk"]
    for ip in probes + probes:
        for asn in (None, 64500, 1):
            assert check.match(asn, ip) == fresh.match(asn, ip), (asn, ip)


def test_classifier_verdicts_unchanged_by_the_network_cache():
    policy = BotPolicy(id="p", version="1", signals=[
        BotSignal(kind="network", verdict="bot", reason="dc", strength="strong",
                  params={"cidrs": ["20.2.5.0/24", "20.3.7.16/28"]}),
    ])
    cls = compile_policy(policy)
    from engine.bots import RequestFacts

    for d in (1, 17, 17, 200, 1):
        for net in ("20.2.5", "20.3.7", "20.9.9"):
            v = cls.classify(RequestFacts("GET", "Mozilla/5.0", {}, f"{net}.{d}"))
            inside = net == "20.2.5" or (net == "20.3.7" and 16 <= d < 32)
            assert v.verdict == ("bot" if inside else "human"), (net, d)


# ----------------------------------------------------------------- routing
def _campaign_with_stores(zones):
    stores = [Store(id=f"s{i}", name=f"S{i}", lat=40.0 + i / 100, lon=-74.0, timezone=z,
                    hours=[[(540, 1260)]] * 5 + [[(0, 90), (1380, 1500)]] * 2)
              for i, z in enumerate(zones)]
    ss = StoreSet(id="ss", source="stores.csv", stores=stores, index=build_store_index(stores))
    camp = Campaign(id="c", name="c", owner="o", brand="b", domains=["go.example"], routes=[],
                    default=Template(["https://x.example/"]), campaign_token="CT",
                    stores=StorePolicy(storeset="ss"))
    return compile_campaign(camp, ss)


def test_store_open_minute_cache_equals_open_at_across_dst_and_odd_offsets():
    zones = ["America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe", "Nope/Unknown", "UTC"]
    cc = _campaign_with_stores(zones)
    rng = random.Random(11)
    starts = [datetime(2026, 3, 8, 6, 0, tzinfo=UTC), datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
              datetime(2026, 4, 4, 14, 0, tzinfo=UTC), datetime(1890, 1, 1, 12, 0, tzinfo=UTC)]
    for start in starts:
        t = start.timestamp()
        for _ in range(900):
            t += rng.choice([0.3, 7.5, 29.0, 61.0, 450.0])
            for i in range(len(zones)):
                minute, weekday = cc.store_clock(i).local(t)
                assert cc.store_open(i, t) == open_at(cc.stores[i].hours, minute, weekday), (zones[i], t)


# --------------------------------------------------------------------- ids
def test_event_ids_stay_sorted_and_carry_their_millisecond():
    ids = EventIds()
    ids._rand = (1 << 80) - 2**21 - 3  # cross a change of the cached high random part
    ms = 1_800_000_000_000
    out = []
    for k in range(5000):
        out.append((ms + k // 7, ids.new(ms + k // 7)))
    assert [i for _, i in out] == sorted(i for _, i in out)
    assert len({i for _, i in out}) == len(out)
    assert all(ulid_time_ms(i) == m for m, i in out)
    assert ulid_time_ms(ids.new(ms)) == ms + 4999 // 7  # the clock stepped back: the id stays in order


def test_a_handler_exception_is_recorded_by_type_only():
    """What the client sent (here in the exception's message) never reaches the metrics files."""
    import asyncio
    from types import SimpleNamespace

    from engine.worker._app import RedirectApp
    from engine.worker._metrics import WorkerMetrics

    app = RedirectApp.__new__(RedirectApp)

    class Boom:
        version = "v"
        fast = None

        def handle(self, *args, **kwargs):
            raise ValueError("path was /+15555550123")

    sent = []
    app.handler = Boom()
    app._ip_header = None
    app._peers = {}
    app.metrics = WorkerMetrics()
    app._log_safe = lambda scope, method: None
    scope = SimpleNamespace(proto="http", method="GET", headers={}, client="1.2.3.4:5", path="/x",
                            authority="go.example")
    proto = SimpleNamespace(response_bytes=lambda *a: sent.append(a), response_empty=lambda *a: sent.append(a))
    asyncio.run(app.__rsgi__(scope, proto))
    assert sent and sent[0][0] == 404
    assert app.metrics.handler_errors == 1
    assert app.metrics.last_error == "request handler raised ValueError"
    assert "5555550123" not in app.metrics.last_error
    assert app.metrics.requests == {(404, "unjudged", "not-found"): 1}


# ------------------------------------------------- header shapes and verdicts
_HEADER_VALUES = {
    "user-agent": st.sampled_from([
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.5 Mobile/15E148 Safari/604.1",
        "facebookexternalhit/1.1", "curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64)", "", "  ", "x" * 600,
    ]),
    "accept": st.sampled_from(["text/html,*/*;q=0.8", "*/*", "", "image/webp"]),
    "accept-language": st.sampled_from(["en-US,en;q=0.9", "fr-CA", "", "*", "de;q=0"]),
    "sec-fetch-mode": st.sampled_from(["navigate", "no-cors"]),
    "sec-purpose": st.sampled_from(["prefetch", "prefetch;prerender"]),
    "referer": st.sampled_from(["https://t.co/abc?x=1", "android-app://com.slack/", "nonsense", ""]),
    "x-forwarded-for": st.sampled_from(["1.2.3.4", "9.9.9.9, 20.2.5.7"]),  # never part of a shape
    "cookie": st.text(max_size=8),  # never read
    "host": st.sampled_from(["go.acme.example", "GO.ACME.EXAMPLE:443", "evil.example"]),
}
_header_sets = st.lists(
    st.sampled_from(sorted(_HEADER_VALUES)).flatmap(lambda n: st.tuples(st.just(n), _HEADER_VALUES[n])),
    max_size=8,
)
_request = st.tuples(
    st.integers(0, 3),  # which of a few header sets: shapes repeat, as in real traffic
    st.sampled_from(["GET", "HEAD", "POST", "get"]),
    # not the campaign-level token: its variant is split per click by the (random) event id
    st.sampled_from(["/Ab3dEf7h", "/Ab3dEf7k", "/Zz9zZz9z", "/ab", "/robots.txt"]),
    st.sampled_from(["20.2.5.7", "20.3.7.17", "20.3.7.200", "198.51.100.1", "", "::1"]),
    st.sampled_from([0.0, 5.0, 3600.0, 200_000.0]),  # seconds after the send: the timing signal
    st.sampled_from(["go.acme.example", None]),  # HTTP/2 authority, or None: the Host header decides
)


def _comparable(out):
    ev = out.click_event()
    if ev is None:
        return (out.status, out.answer, out.body, None)
    return (out.status, out.answer, out.headers, out.body, msgspec.structs.replace(ev, id=""))


@pytest.fixture(scope="module")
def shape_snapshot(tmp_path_factory):
    """A snapshot whose campaign is judged by a policy with network and timing signals,
    the two things a remembered verdict must be keyed on besides the headers."""
    from worker_unit_support import TOKENS, campaign

    from engine.snapshot import open_snapshot, write_snapshot

    policy = BotPolicy(id="p", version="1", signals=[
        BotSignal(kind="prefetch-header", verdict="preview", reason="prefetch",
                  params={"headers": {"sec-purpose": ["prefetch"]}}),
        BotSignal(kind="user-agent", verdict="preview", reason="ua", params={"list": "preview-fetchers"}),
        BotSignal(kind="network", verdict="scanner", reason="dc", params={"cidrs": ["20.2.5.0/24", "20.3.7.16/28"]}),
        BotSignal(kind="timing", verdict="suspect", reason="fast", strength="weak",
                  params={"below-seconds": 10, "weight": 2}),
        BotSignal(kind="header-shape", verdict="bot", reason="shape", strength="weak",
                  params={"checks": ["not-a-browser", "no-accept-language", "accept-not-html"]}),
    ])
    path = tmp_path_factory.mktemp("shape") / "s.lmdb"
    write_snapshot(path, campaigns=[campaign(bot_policy="p")], tokens=sorted(TOKENS), policies=[policy])
    snap = open_snapshot(path)
    yield snap
    snap.close()


@settings(max_examples=80, deadline=None)
@given(st.lists(_header_sets, min_size=4, max_size=4), st.lists(_request, min_size=1, max_size=40))
def test_warm_shape_and_verdict_caches_answer_like_a_cold_handler(shape_snapshot, header_sets, requests):
    """Each request through one warm handler gives the line a brand-new handler gives."""
    from worker_unit_support import NOW

    snap = shape_snapshot
    assert snap.policies["p"].signals  # the policy under test is the one that judges
    warm = ClickHandler(snap, worker="h:1")
    for which, method, path, ip, after, authority in requests + requests[::-1]:
        pairs = header_sets[which]
        now = NOW - 3600 + after
        got = warm.handle(method, path, authority, Items(pairs), ip, now)
        cold = ClickHandler(snap, worker="h:1").handle(method, path, authority, Items(pairs), ip, now)
        assert _comparable(got) == _comparable(cold), (pairs, method, path, ip, after, authority)
        if got.event is not None:
            assert got.line.count(b"\n") == 1 and got.line.endswith(b"}\n")


@pytest.mark.parametrize("name", [*LOGGED_HEADERS, "user-agent"])
def test_every_header_the_line_keeps_is_part_of_the_shape(shape_snapshot, name):
    """Two requests differing only in one kept header each log their own value."""
    from worker_unit_support import HUMAN_HEADERS, NOW

    warm = ClickHandler(shape_snapshot)
    a, b = ("https://a.example/x", "https://b.example/y") if name == "referer" else ("one", "two")
    seen = []
    for value in (a, b, a):
        headers = {**HUMAN_HEADERS, name: value, "x-forwarded-for": value}
        ev = warm.handle("GET", "/Ab3dEf7h", "go.acme.example", headers, "198.51.100.1", NOW).click_event()
        seen.append(ev.ua if name == "user-agent" else ev.headers.get(name))
    want = [a, b, a] if name != "referer" else ["https://a.example", "https://b.example", "https://a.example"]
    assert seen == want


def test_padded_headers_and_made_up_methods_are_answered_but_not_remembered(shape_snapshot):
    """What a hostile client controls cannot grow the worker's caches by more than their bounds."""
    from worker_unit_support import HUMAN_HEADERS, NOW

    h = ClickHandler(shape_snapshot)
    for i in range(50):
        headers = {**HUMAN_HEADERS, "accept": f"text/html;{i};" + "x" * 5000}
        out = h.handle("GET", "/Ab3dEf7h", "go.acme.example", headers, "198.51.100.1", NOW)
        ev = out.click_event()
        assert out.status == 302 and ev.headers["accept"] == headers["accept"][:256]
    assert h._shapes == {}
    method = "X" * 100
    out = h.handle(method, "/Ab3dEf7h", "go.acme.example", HUMAN_HEADERS, "198.51.100.1", NOW)
    assert out.click_event().method == method
    (shape,) = h._shapes.values()
    assert all(len(k[1]) <= 16 for k in shape.verdicts)
    assert h.handle("GET", "/Ab3dEf7h", "go.acme.example", HUMAN_HEADERS, "198.51.100.1", NOW).status == 302
    assert len(shape.verdicts) == 1
