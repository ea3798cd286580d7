"""resolve: conditions, store choice, zones, variants, schedule, templates and the trace."""

from __future__ import annotations

from datetime import datetime

import msgspec
import pytest

from engine.routing import ClickFacts, Geo, build_store_index, compile_campaign
from engine.snapshot import (
    Attr,
    Campaign,
    City,
    Country,
    Dates,
    Device,
    HasStore,
    Language,
    LocalTime,
    Region,
    Rule,
    Store,
    StoreOpen,
    StorePolicy,
    StoreSet,
    Template,
    TokenRecord,
    Variant,
    VariantArm,
    Within,
)

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
ANDROID = "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
DESKTOP = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"

NYC = Geo("US", "US-NY", "New York", 40.7128, -74.006, 5, "America/New_York", None, None)
SF = Geo("US", "US-CA", "San Francisco", 37.7749, -122.4194, 10, "America/Los_Angeles", None, None)
MTL = Geo("CA", "CA-QC", "Montreal", 45.5019, -73.5674, 20, "America/Toronto", None, None)
VAGUE_US = Geo("US", None, None, 37.751, -97.822, 1000, None, None, None)
SYD = Geo("AU", "AU-NSW", "Sydney", -33.8688, 151.2093, 20, "Australia/Sydney", None, None)

# Wed 2027-03-10 15:00 UTC = 10:00 EST in New York, 07:00 PST in San Francisco
T_WED_10_NY = datetime.fromisoformat("2027-03-10T15:00:00+00:00").timestamp()
HOURS = [[(540, 1260)]] * 5 + [[(600, 1200)], [(660, 1080)]]  # Mon-Fri 9-21, Sat 10-20, Sun 11-18
STORES = [
    Store("nyc-soho", "Acme SoHo", 40.7233, -74.003, "America/New_York", HOURS, {"slug": "nyc-soho"}),
    Store("sf", "Acme San Francisco", 37.7749, -122.4194, "America/Los_Angeles", HOURS, {"slug": "sf/downtown"}),
    Store("bos", "Acme Boston", 42.3503, -71.081, "America/New_York", HOURS, {"slug": "bos"}),
]
STORESET = StoreSet("acme", "stores/acme-stores.csv", STORES, build_store_index(STORES))


def T(url: str, *slots: str) -> Template:
    """Template from 'https://x/{}?a={}' style text: {} marks a slot."""
    parts = url.split("{}")
    assert len(parts) == len(slots) + 1
    return Template(parts, list(slots))


def campaign(routes=(), **kw) -> Campaign:
    base = dict(
        id="c", name="C", owner="o@example.com", brand="Acme", domains=["go.example"],
        routes=list(routes), default=T("https://x/default"), campaign_token="CAMPAIGN",
        timezone="America/New_York",
    )
    base.update(kw)
    return Campaign(**base)


def facts(geo=None, ua=IPHONE, lang="en-US", now=T_WED_10_NY, click_id="") -> ClickFacts:
    return ClickFacts(now=now, geo=geo, user_agent=ua, accept_language=lang, click_id=click_id)


REC = TokenRecord(campaign=0, recipient="r-1")


def route_of(c: Campaign, f: ClickFacts, rec: TokenRecord = REC, storeset=None) -> str:
    return compile_campaign(c, storeset).resolve(rec, f).route


# ------------------------------------------------------------------ conditions
GEO_RULES = [
    Rule("qc-fr", [Region(["CA-QC"]), Language(["fr"])], T("https://x/fr")),
    Rule("precise-ny", [City(["new york"], max_accuracy_km=10)], T("https://x/ny")),
    Rule("near-boston", [Within(42.36, -71.06, 350, max_accuracy_km=50)], T("https://x/ne")),
    Rule("us-precise", [Country(["us"], max_accuracy_km=100)], T("https://x/us")),
    Rule("au", [Country(["AU"])], T("https://x/au")),
]


@pytest.mark.parametrize(
    ("geo", "lang", "expected"),
    [
        pytest.param(MTL, "fr-CA,fr;q=0.9", "qc-fr", id="Quebec with French"),
        pytest.param(MTL, "en-CA", "default", id="Quebec without French falls through"),
        pytest.param(NYC, "en", "precise-ny", id="city matched case-insensitively within accuracy"),
        pytest.param(Geo("US", "US-NY", "New York", 40.71, -74.0, 50, None, None, None), "en", "near-boston",
                     id="city too vague (50 km > 10 km) falls to the distance rule"),
        pytest.param(SF, "en", "us-precise", id="country rule with precise location"),
        pytest.param(VAGUE_US, "en", "default", id="country-level geolocation (1000 km) too vague for every rule"),
        pytest.param(SYD, "en", "au", id="country without accuracy demand"),
        pytest.param(None, "fr", "default", id="no geolocation"),
    ],
)
def test_geo_conditions(geo, lang, expected):
    assert route_of(campaign(GEO_RULES), facts(geo, lang=lang)) == expected


@pytest.mark.parametrize(
    ("ua", "expected"),
    [
        pytest.param(IPHONE, "ios-app", id="iPhone"),
        pytest.param(ANDROID, "android-app", id="Android phone"),
        pytest.param("Mozilla/5.0 (Mobile; KAIOS/2.5)", "any-mobile", id="other mobile"),
        pytest.param(DESKTOP, "default", id="desktop"),
        pytest.param("", "default", id="no user agent"),
    ],
)
def test_device_conditions(ua, expected):
    rules = [
        Rule("ios-app", [Device(["ios"])], T("https://apps.apple.com/x")),
        Rule("android-app", [Device(["android"])], T("https://play.google.com/x")),
        Rule("any-mobile", [Device(["mobile"])], T("https://x/m")),
    ]
    assert route_of(campaign(rules), facts(ua=ua)) == expected


def test_mobile_value_includes_ios_and_android():
    c = campaign([Rule("m", [Device(["mobile"])], T("https://x/m"))])
    assert [route_of(c, facts(ua=u)) for u in (IPHONE, ANDROID, DESKTOP)] == ["m", "m", "default"]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param("fr-CA", "fr", id="fr matches fr-CA"),
        pytest.param("en;q=0.4, fr-FR;q=0.8", "fr", id="by q-value"),
        pytest.param("pt-BR", "pt-br-only", id="full tag value"),
        pytest.param("pt-PT", "default", id="other region of a full tag"),
        pytest.param("fra", "default", id="prefix is a whole subtag"),
        pytest.param("fr;q=0, en", "default", id="q=0 excluded"),
    ],
)
def test_language_conditions(header, expected):
    rules = [Rule("fr", [Language(["fr"])], T("https://x/fr")), Rule("pt-br-only", [Language(["pt-BR"])], T("https://x/br"))]
    assert route_of(campaign(rules), facts(lang=header)) == expected


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        pytest.param(["gold", "north"], "vip", id="attribute in values"),
        pytest.param(["silver", "north"], "not-south", id="negated attribute"),
        pytest.param(["silver", "south"], "default", id="neither"),
        pytest.param([], "not-south", id="no attributes: not in any list"),
    ],
)
def test_attribute_conditions(attrs, expected):
    rules = [
        Rule("vip", [Attr("tier", ["gold", "platinum"])], T("https://x/vip")),
        Rule("not-south", [Attr("region", ["south"], negate=True)], T("https://x/ns")),
    ]
    c = campaign(rules, attr_names=["tier", "region"])
    assert route_of(c, facts(), TokenRecord(0, "r", attrs=attrs)) == expected


def test_dates_condition():
    rules = [Rule("launch-week", [Dates(after=int(T_WED_10_NY) - 60, before=int(T_WED_10_NY) + 60)], T("https://x/l"))]
    c = campaign(rules)
    assert route_of(c, facts(now=T_WED_10_NY)) == "launch-week"
    assert route_of(c, facts(now=T_WED_10_NY + 60)) == "default"  # before is exclusive
    assert route_of(c, facts(now=T_WED_10_NY - 61)) == "default"


def test_first_matching_rule_wins_and_all_conditions_must_hold():
    rules = [
        Rule("ios-evening", [Device(["ios"]), LocalTime(1080, 1380)], T("https://x/a")),
        Rule("ios", [Device(["ios"])], T("https://x/b")),
        Rule("ios-again", [Device(["ios"])], T("https://x/c")),
    ]
    assert route_of(campaign(rules), facts()) == "ios"


# ----------------------------------------------------------------- local time
@pytest.mark.parametrize(
    ("zone_idx", "store", "geo", "expected_zone", "expected_source"),
    [
        pytest.param(0, 1, SYD, "Europe/Paris", "recipient", id="recipient zone first"),
        pytest.param(-1, 1, SYD, "America/Los_Angeles", "store", id="then the chosen store's"),
        pytest.param(-1, -1, SYD, "Australia/Sydney", "geolocation", id="then the geolocation's"),
        pytest.param(-1, -1, None, "America/New_York", "campaign", id="then the campaign's"),
        pytest.param(1, -1, None, "America/New_York", "campaign", id="unknown recipient zone skipped"),
    ],
)
def test_zone_precedence(zone_idx, store, geo, expected_zone, expected_source):
    c = campaign(
        [Rule("t", [LocalTime(0, 0)], T("https://x/t"))],
        zones=["Europe/Paris", "Not/AZone"], stores=StorePolicy("acme", order=["home"]),
    )
    rec = TokenRecord(0, "r", zone=zone_idx, store=store)
    d = compile_campaign(c, STORESET).resolve(rec, facts(geo), trace=True)
    why = next(s for s in d.trace if s.kind == "rule").reasons[0]
    assert f"in {expected_zone} (zone from {expected_source})" in why


@pytest.mark.parametrize(
    ("zone", "utc", "expected"),
    [
        # "Mon-Fri 09:00-17:00 local": the same 13:30Z is 08:30 EST on Fri 6 Mar and 09:30 EDT on Mon 9 Mar 2026
        pytest.param("America/New_York", "2026-03-06T13:30:00Z", "default", id="New York before DST"),
        pytest.param("America/New_York", "2026-03-09T13:30:00Z", "office", id="New York after DST"),
        pytest.param("Australia/Sydney", "2026-04-02T22:30:00Z", "office", id="Sydney Fri 09:30 AEDT"),
        pytest.param("Australia/Sydney", "2026-04-05T22:30:00Z", "default", id="Sydney Mon 08:30 AEST after DST"),
        pytest.param("Australia/Sydney", "2026-10-05T22:30:00Z", "office", id="Sydney Tue 09:30 AEDT again"),
    ],
)
def test_office_hours_follow_dst(zone, utc, expected):
    c = campaign([Rule("office", [LocalTime(540, 1020, [1, 2, 3, 4, 5])], T("https://x/o"))], zones=[zone])
    now = datetime.fromisoformat(utc.replace("Z", "+00:00")).timestamp()
    assert route_of(c, facts(now=now), TokenRecord(0, "r", zone=0)) == expected


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        pytest.param("2027-03-13T04:30:00Z", "late-friday", id="Fri 23:30 EST"),
        pytest.param("2027-03-13T06:30:00Z", "late-friday", id="Sat 01:30 EST: window started Friday"),
        pytest.param("2027-03-12T06:30:00Z", "default", id="Fri 01:30: window would have started Thursday"),
        pytest.param("2027-03-13T07:00:00Z", "default", id="Sat 02:00: end is exclusive"),
    ],
)
def test_midnight_spanning_window(utc, expected):
    c = campaign([Rule("late-friday", [LocalTime(1380, 120, [5])], T("https://x/lf"))])
    now = datetime.fromisoformat(utc.replace("Z", "+00:00")).timestamp()
    assert route_of(c, facts(now=now)) == expected


# --------------------------------------------------------------------- stores
STORE_RULES = [
    Rule("store-page", [HasStore()], T("https://x/stores/{}?v={}", "store.slug", "variant"),
         closed=T("https://x/shop?store={}", "store.id")),
]


@pytest.mark.parametrize(
    ("order", "home", "geo", "store", "source"),
    [
        pytest.param(["home", "ip"], 2, NYC, "bos", "home", id="home store first"),
        pytest.param(["home", "ip"], -1, NYC, "nyc-soho", "ip", id="no home store: nearest to the click"),
        pytest.param(["home", "ip"], 2, VAGUE_US, "bos", "home", id="home store when the IP is vague"),
        pytest.param(["ip", "home"], 2, SF, "sf", "ip", id="ip first when configured"),
        pytest.param(["ip", "home"], 2, VAGUE_US, "bos", "home", id="vague ip falls back to home"),
        pytest.param(["ip"], -1, VAGUE_US, None, None, id="vague ip alone: no store"),
        pytest.param(["ip"], -1, MTL, None, None, id="nothing within max_km"),
        pytest.param(["home", "ip"], -1, None, None, None, id="no home, no geolocation"),
    ],
)
def test_store_choice(order, home, geo, store, source):
    c = campaign(STORE_RULES, stores=StorePolicy("acme", order=order, max_km=40, max_accuracy_km=100))
    d = compile_campaign(c, STORESET).resolve(TokenRecord(0, "r", store=home), facts(geo))
    assert (d.store, d.store_source) == (store, source)
    assert d.route == ("store-page" if store else "default")


@pytest.mark.parametrize(
    ("utc", "url"),
    [
        pytest.param("2027-03-10T15:00:00Z", "https://x/stores/nyc-soho?v=", id="Wed 10:00: open -> store page"),
        pytest.param("2027-03-11T03:00:00Z", "https://x/shop?store=nyc-soho", id="Wed 22:00: closed -> shop online"),
        pytest.param("2027-03-14T14:30:00Z", "https://x/shop?store=nyc-soho", id="Sun 10:30 EDT: not open yet"),
        pytest.param("2027-03-14T15:30:00Z", "https://x/stores/nyc-soho?v=", id="Sun 11:30 EDT: open"),
    ],
)
def test_open_closed_is_one_rule(utc, url):
    c = campaign(STORE_RULES, stores=StorePolicy("acme"))
    now = datetime.fromisoformat(utc.replace("Z", "+00:00")).timestamp()
    d = compile_campaign(c, STORESET).resolve(TokenRecord(0, "r", store=0), facts(now=now))
    assert (d.route, d.url) == ("store-page", url)


def test_store_open_condition_uses_the_store_zone():
    """10:00 in New York is 07:00 in San Francisco: the SF store is closed."""
    rules = [Rule("open", [StoreOpen()], T("https://x/open")), Rule("closed", [StoreOpen(open=False)], T("https://x/c"))]
    c = campaign(rules, stores=StorePolicy("acme", order=["home"]))
    cc = compile_campaign(c, STORESET)
    assert cc.resolve(TokenRecord(0, "r", store=0), facts()).route == "open"
    assert cc.resolve(TokenRecord(0, "r", store=1), facts()).route == "closed"


def test_has_store_within_km_applies_to_ip_choice():
    rules = [Rule("close-by", [HasStore(within_km=1.0)], T("https://x/near"))]
    c = campaign(rules, stores=StorePolicy("acme", order=["ip"], max_km=40))
    cc = compile_campaign(c, STORESET)
    assert cc.resolve(REC, facts(SF)).route == "close-by"  # 0 km
    assert cc.resolve(REC, facts(NYC)).route == "default"  # 1.2 km from SoHo


def test_rule_needing_a_store_without_store_list_falls_through():
    c = campaign(STORE_RULES)  # no store policy
    d = compile_campaign(c, None).resolve(TokenRecord(0, "r", store=0), facts(NYC))
    assert (d.route, d.store) == ("default", None)


# ------------------------------------------------------------------- variants
ARMS = [VariantArm("tents", 45), VariantArm("family", 45), VariantArm("holdout", 10, holdout=True)]


def test_recipient_variant_is_the_compiled_one_on_every_call():
    c = campaign([Rule("fam", [Variant(["family"])], T("https://x/fam"))], variants=ARMS, experiment="e",
                 default=T("https://x/?hero={}", "variant"))
    cc = compile_campaign(c, None)
    for _ in range(3):
        d = cc.resolve(TokenRecord(0, "r", variant=0), facts())
        assert (d.variant, d.route, d.url) == ("tents", "default", "https://x/?hero=tents")
        assert cc.resolve(TokenRecord(0, "r", variant=1), facts()).route == "fam"


def test_campaign_link_splits_per_click_by_click_id():
    c = campaign(variants=ARMS, experiment="e")
    cc = compile_campaign(c, None)
    link = TokenRecord(0, "")
    seen = [cc.resolve(link, facts(click_id=f"click-{i}")).variant for i in range(3000)]
    assert seen == [cc.resolve(link, facts(click_id=f"click-{i}")).variant for i in range(3000)]
    share = {a.name: seen.count(a.name) / len(seen) for a in ARMS}
    assert share["tents"] == pytest.approx(0.45, abs=0.04) and share["holdout"] == pytest.approx(0.10, abs=0.03)


def test_no_variants_gives_none():
    assert compile_campaign(campaign(), None).resolve(REC, facts()).variant is None


# ------------------------------------------------------------------- schedule
START, END = int(T_WED_10_NY), int(T_WED_10_NY) + 86400


@pytest.mark.parametrize(
    ("now", "kw", "status", "url", "route"),
    [
        pytest.param(START - 1, {"not_yet_live": T("https://x/soon")}, 302, "https://x/soon", "not-yet-live", id="before start with a page"),
        pytest.param(START - 1, {}, 302, "https://x/default", "not-yet-live", id="before start without a page: default"),
        pytest.param(START, {}, 302, "https://x/ios", "ios", id="at start: live, rules apply"),
        pytest.param(END - 1, {}, 302, "https://x/ios", "ios", id="last second: live"),
        pytest.param(END, {"expired": T("https://x/ended")}, 302, "https://x/ended", "expired", id="at end with a page"),
        pytest.param(END + 5, {}, 410, None, "expired", id="after end without a page: 410"),
    ],
)
def test_schedule(now, kw, status, url, route):
    c = campaign([Rule("ios", [Device(["ios"])], T("https://x/ios"))], starts_at=START, ends_at=END, **kw)
    d = compile_campaign(c, None).resolve(REC, facts(now=now))
    assert (d.status, d.url, d.route) == (status, url, route)


def test_retired_campaign_is_expired():
    c = campaign(retired=True, expired=T("https://x/ended"))
    assert compile_campaign(c, None).resolve(REC, facts()).route == "expired"


# ------------------------------------------------------------------ templates
def test_slot_values_are_url_quoted():
    odd = Store("a/b?c", "Caf\u00e9 & Co", 40.0, -74.0, "America/New_York", [], {"slug": "x y/../z#"})
    ss = StoreSet("odd", "odd.csv", [odd], build_store_index([odd]))
    c = campaign(
        default=T("https://x/{}/{}?n={}&t={}&r={}&v={}", "store.slug", "store.id", "store.name", "attr.tier", "route", "variant"),
        stores=StorePolicy("odd", order=["home"]), attr_names=["tier"], variants=[VariantArm("a b", 1)], experiment="e",
    )
    d = compile_campaign(c, ss).resolve(TokenRecord(0, "r", variant=0, store=0, attrs=["g&old"]), facts())
    assert d.url == "https://x/x%20y%2F..%2Fz%23/a%2Fb%3Fc?n=Caf%C3%A9%20%26%20Co&t=g%26old&r=default&v=a%20b"


def test_store_slot_without_store_renders_empty():
    c = campaign(default=T("https://x/s/{}", "store.slug"), stores=StorePolicy("acme", order=["home"]))
    assert compile_campaign(c, STORESET).resolve(REC, facts()).url == "https://x/s/"


# ---------------------------------------------------------------------- trace
def test_trace_names_every_rule_tried_with_facts():
    rules = [
        Rule("qc-fr", [Region(["CA-QC"]), Language(["fr"])], T("https://x/fr"), line=40),
        Rule("store-page", [HasStore()], T("https://x/s/{}", "store.slug"), closed=T("https://x/shop"), line=45),
        Rule("never", [Device(["android"])], T("https://x/never"), line=50),
    ]
    c = campaign(rules, stores=StorePolicy("acme", max_km=40), variants=ARMS, experiment="spring")
    d = compile_campaign(c, STORESET).resolve(TokenRecord(0, "r", variant=1), facts(NYC, lang="fr-CA"), trace=True)
    kinds = [(s.kind, s.name, s.matched) for s in d.trace]
    assert kinds == [
        ("schedule", "live", True),
        ("store", "nyc-soho", True),
        ("rule", "qc-fr", False),
        ("rule", "store-page", True),
        ("variant", "family", True),
    ]
    qc = d.trace[2]
    assert qc.line == 40
    assert qc.reasons[0].startswith("- region in ['CA-QC']: geo New York, US-NY (accuracy 5 km)")
    assert qc.reasons[1].startswith("+ language in ['fr']: preferred language is fr-CA")
    store = d.trace[3]
    assert "store nyc-soho (nearest to the click, 1.2 km)" in store.reasons[0]
    assert "Wed 10:00 in America/New_York: open" in store.reasons[1]
    assert d.url == "https://x/s/nyc-soho"


def test_trace_says_why_no_store():
    c = campaign(STORE_RULES, stores=StorePolicy("acme", order=["home", "ip"], max_accuracy_km=100))
    d = compile_campaign(c, STORESET).resolve(REC, facts(VAGUE_US), trace=True)
    store = next(s for s in d.trace if s.kind == "store")
    assert not store.matched
    assert "home: the recipient has no home store" in store.reasons[0]
    assert "ip: location too vague (accuracy 1000 km, allowed 100 km)" in store.reasons[0]
    assert d.trace[-1].kind == "default"


def test_trace_and_no_trace_agree():
    rules = GEO_RULES + STORE_RULES + [Rule("t", [LocalTime(600, 1200, [3])], T("https://x/t"))]
    c = campaign(rules, stores=StorePolicy("acme", max_km=40), variants=ARMS, experiment="e")
    cc = compile_campaign(c, STORESET)
    for geo in (NYC, SF, MTL, VAGUE_US, SYD, None):
        for rec in (REC, TokenRecord(0, "r", store=2, variant=2), TokenRecord(0, "", store=-1)):
            f = facts(geo, click_id="k")
            a, b = cc.resolve(rec, f), cc.resolve(rec, f, trace=True)
            assert b.trace and a.trace is None
            a.trace = b.trace
            assert a == b


def test_decision_carries_device_and_language():
    d = compile_campaign(campaign(), None).resolve(REC, facts(ua=ANDROID, lang="de-DE;q=0.4, it"))
    assert (d.device, d.lang, d.status) == ("android", "it", 302)


def test_campaign_record_round_trips_through_msgpack_before_compiling():
    """The worker compiles decoded records: the same answers after encode/decode."""
    c = campaign(GEO_RULES + STORE_RULES, stores=StorePolicy("acme"), variants=ARMS, experiment="e")
    c2 = msgspec.msgpack.decode(msgspec.msgpack.encode(c), type=Campaign)
    ss2 = msgspec.msgpack.decode(msgspec.msgpack.encode(STORESET), type=StoreSet)
    for geo in (NYC, MTL, SF):
        f = facts(geo, lang="fr")
        assert compile_campaign(c, STORESET).resolve(REC, f) == compile_campaign(c2, ss2).resolve(REC, f)
