"""Remembered decisions (``CompiledCampaign._memo_key``) are the decisions a fresh campaign makes.

One warm compiled campaign routes a stream of clicks (repeating geolocations,
records and header readings, over times that cross DST changes, zones with
half-hour and odd historical offsets, date-range and schedule instants that
fall inside a minute); each answer is compared with a brand-new campaign's
traced answer for the same click, trace aside.
"""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.routing import ClickFacts, Geo, build_store_index, compile_campaign
from engine.snapshot import (
    Attr,
    Campaign,
    Country,
    Dates,
    Device,
    HasStore,
    Language,
    LocalTime,
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

T = 1_774_746_000  # 2026-03-29T01:00:00Z: Europe's DST change is in this hour; NY's was 3 weeks before
ZONES = ["America/New_York", "Europe/London", "Australia/Lord_Howe", "Asia/Kolkata", "Nope/Unknown"]
_STORES = [
    Store(id=f"s{i}", name=f"S {i}", lat=40.0 + i * 0.05, lon=-74.0 + i * 0.05, timezone=ZONES[i % len(ZONES)],
          hours=[[(540, 1260)]] * 5 + [[(0, 90), (1380, 1440)]] * 2, fields={"slug": f"st-{i}"})
    for i in range(12)
]
_SS = StoreSet(id="ss", source="stores.csv", stores=_STORES, index=build_store_index(_STORES))


def T_(*parts: str) -> Template:
    slots = [p for p in parts[1::2]]
    return Template([*parts[0::2], ""][: len(slots) + 1], slots)


CAMPAIGN = Campaign(
    id="c", name="c", owner="o", brand="b", domains=["go.example"], campaign_token="CT",
    attr_names=["tier"], zones=ZONES, timezone="America/Chicago",
    starts_at=T + 3 * 3600 + 17, ends_at=T + 9 * 3600 + 41,  # instants inside minutes
    not_yet_live=T_("https://x/soon"), expired=T_("https://x/over"),
    variants=[VariantArm("a", 50), VariantArm("b", 40), VariantArm("hold", 10, holdout=True)], experiment="e",
    stores=StorePolicy(storeset="ss", order=["home", "ip"], max_km=30, max_accuracy_km=60),
    default=T_("https://x/d?v=", "variant"),
    routes=[
        Rule("flash", [Dates(after=T + 5 * 3600 + 30, before=T + 5 * 3600 + 95)], T_("https://x/flash")),
        Rule("gold", [Attr("tier", ["gold"]), Variant(["b"])], T_("https://x/gold/", "attr.tier")),
        Rule("store", [HasStore(within_km=25)], T_("https://x/s/", "store.slug", "?r=", "route"),
             closed=T_("https://x/order?s=", "store.id")),
        Rule("night", [LocalTime(start=1320, end=360, days=[1, 2, 3, 4, 5])], T_("https://x/night")),
        Rule("ios-fr", [Device(["ios"]), Language(["fr"])], T_("https://apps/ios-fr")),
        Rule("open-any", [HasStore(), StoreOpen()], T_("https://x/open")),  # never reached: coverage of the kind
        Rule("ny", [Within(40.7, -74.0, 60, max_accuracy_km=50), Country(["US"])], T_("https://x/ny")),
    ],
)

_geos = [None] + [
    Geo(country=c, region=None, city=None, lat=lat, lon=lon, accuracy_km=acc, timezone=tz, asn=None, asn_org=None)
    for c, lat, lon, acc, tz in [
        ("US", 40.71, -74.0, 10, "America/New_York"), ("US", 40.3, -73.7, 50, "America/New_York"),
        ("GB", 51.5, -0.1, 20, "Europe/London"), ("AU", -31.5, 159.1, 5, "Australia/Lord_Howe"),
        ("US", 40.2, -73.8, 100, None), ("IN", 28.6, 77.2, 25, "Asia/Kolkata"),
    ]
]
# records that differ in one field at a time, so a key that forgot one is caught
_records = [
    TokenRecord(campaign=0, recipient="cust", variant=v, store=st_, zone=z, attrs=a)
    for v in (0, 1) for st_ in (-1, 2) for z in (-1, 0, 2) for a in (["gold"], ["silver"])
] + [TokenRecord(campaign=0, recipient="", variant=-1)]  # a campaign-level link: split per click
_readings = [("ios", "fr-CA"), ("android", "en-US"), ("desktop", None), ("ios", "en")]
# seconds from T: around the schedule's and the date range's instants, across
# the DST hour, and one far day in 1890 (historical offsets with seconds)
_offsets = st.sampled_from([0, 1800, 3 * 3600, 3 * 3600 + 17, 3 * 3600 + 30, 5 * 3600, 5 * 3600 + 45, 5 * 3600 + 95,
                            5 * 3600 + 130, 9 * 3600 + 20, 9 * 3600 + 41, 9 * 3600 + 50, 13 * 3600, 20 * 3600])
#: the same without a schedule, for clicks in 1890 (historical offsets with seconds)
UNSCHEDULED = msgspec.structs.replace(CAMPAIGN, starts_at=None, ends_at=None)

_clicks = st.tuples(
    st.one_of(_offsets.map(float), st.floats(0, 86400)),  # seconds after T
    st.integers(0, len(_geos) - 1), st.integers(0, len(_records) - 1), st.integers(0, len(_readings) - 1),
    st.sampled_from(["01ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAW"]),
    st.floats(0, 59),  # the neighbours' second, in the same UTC minute
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_clicks, min_size=1, max_size=10), st.booleans())
def test_remembered_decisions_equal_fresh_ones(clicks, in_1890):
    """Each click, then every neighbour in the same UTC minute that differs in one input."""
    camp = UNSCHEDULED if in_1890 else CAMPAIGN
    warm = compile_campaign(camp, _SS)
    ref = compile_campaign(camp, _SS)  # traced: never remembers a decision
    base = T - 4_300_000_000 if in_1890 else T
    for dt, g, r, h, click_id, sec in sorted(clicks):
        t = base + dt
        other = (t // 60) * 60 + sec
        neighbours = [(t, g, r, h)] + [(other, g2, r, h) for g2 in range(len(_geos))]
        neighbours += [(other, g, r2, h) for r2 in range(len(_records))]
        neighbours += [(other, g, r, h2) for h2 in range(len(_readings))]
        for when, gi, ri, hi in neighbours:
            facts = ClickFacts(when, _geos[gi], "ua", "lang", click_id, _readings[hi])
            want = ref.resolve(_records[ri], facts, trace=True)
            assert warm.resolve(_records[ri], facts) == msgspec.structs.replace(want, trace=None), (when, gi, ri, hi)


def test_the_memo_is_used_and_respects_instants_inside_a_minute():
    warm = compile_campaign(CAMPAIGN, _SS)
    rec, geo = _records[0], _geos[1]
    facts = ClickFacts(float(T + 3600), geo, "ua", "lang", "", ("desktop", None))
    first = warm.resolve(rec, facts)
    assert warm.resolve(rec, facts) is first  # remembered
    # the flash sale starts 30 s into its minute: nothing is remembered in that minute
    inside = ClickFacts(float(T + 5 * 3600 + 10), geo, "ua", "lang", "", ("desktop", None))
    later = ClickFacts(float(T + 5 * 3600 + 40), geo, "ua", "lang", "", ("desktop", None))
    assert warm.resolve(rec, inside).route != "flash" and warm.resolve(rec, later).route == "flash"
    assert warm._memo == {}
    # campaign-level links with variants are split per click: never remembered
    split = _records[-1]
    f1 = ClickFacts(float(T + 3600), geo, "ua", "lang", "01ARZ3NDEKTSV4RRFFQ69G5FAV", ("desktop", None))
    warm.resolve(split, f1)
    assert all(k[1] != -1 or k[2] != -1 for k in warm._memo)


# 1890-01-06 was a Monday; Lord Howe Island kept local mean time, UTC+10:36:20, until 1895,
# so its local minute turns over 20 seconds into each UTC minute.
_LMT_MONDAY = -2524521600 + 5 * 86400  # 1890-01-06T00:00:00Z


def _pair_in_one_minute(local_hhmm: int):
    """Two instants in one UTC minute, 10 s before and after ``local_hhmm`` on Lord Howe (LMT)."""
    edge = _LMT_MONDAY + local_hhmm * 60 - (10 * 3600 + 36 * 60 + 20)
    return float(edge - 10), float(edge + 10)


def test_a_local_time_window_edge_inside_a_utc_minute_is_not_remembered():
    warm = compile_campaign(UNSCHEDULED, _SS)
    rec = TokenRecord(campaign=0, recipient="cust", variant=0, zone=2, attrs=["silver"])  # Lord Howe
    before, after = _pair_in_one_minute(22 * 60)  # the night window opens at 22:00 local
    assert int(before // 60) == int(after // 60)
    routes = [warm.resolve(rec, ClickFacts(t, None, "ua", "lang", "", ("desktop", None))).route
              for t in (before, after, before)]
    assert routes == ["default", "night", "default"]


def test_a_store_closing_inside_a_utc_minute_is_not_remembered():
    warm = compile_campaign(UNSCHEDULED, _SS)
    rec = TokenRecord(campaign=0, recipient="cust", variant=0, store=2, attrs=["silver"])  # home store s2, Lord Howe
    assert _STORES[2].timezone == "Australia/Lord_Howe"
    before, after = _pair_in_one_minute(21 * 60)  # it closes at 21:00 local
    urls = [warm.resolve(rec, ClickFacts(t, None, "ua", "lang", "", ("desktop", None))).url for t in (before, after)]
    assert urls == ["https://x/s/st-2?r=store", "https://x/order?s=s2"]
