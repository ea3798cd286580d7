"""``smslink explain`` through click's CliRunner, over a real snapshot and a real .mmdb."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.routing import build_store_index
from engine.snapshot import (
    Attr,
    Campaign,
    Device,
    HasStore,
    Language,
    LocalTime,
    Region,
    Rule,
    Store,
    StorePolicy,
    StoreSet,
    Template,
    TokenRecord,
    VariantArm,
    write_snapshot,
)

HOURS = [[(540, 1260)]] * 5 + [[(600, 1200)], [(660, 1080)]]
STORES = [
    Store("nyc-soho", "Acme SoHo", 40.7233, -74.003, "America/New_York", HOURS, {"slug": "nyc-soho"}),
    Store("sf", "Acme San Francisco", 37.7749, -122.4194, "America/Los_Angeles", HOURS, {"slug": "sf"}),
    Store("chi", "Acme Chicago", 41.8781, -87.6298, "America/Chicago", HOURS, {"slug": "chi"}),
]
REC_TOKEN = "Ab3dEf7h"  # recipient without home store, tier silver
HOME_TOKEN = "Bc4eFg8j"  # recipient with home store chi
CAMPAIGN_TOKEN = "Zz9yXw8v"
START = int(datetime(2027, 3, 1, 14, tzinfo=UTC).timestamp())
END = int(datetime(2027, 4, 1, 4, tzinfo=UTC).timestamp())


def _t(url: str, *slots: str) -> Template:
    return Template(url.split("{}"), list(slots))


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory) -> str:
    ss = StoreSet("acme", "stores/acme-stores.csv", STORES, build_store_index(STORES))
    camp = Campaign(
        id="spring-sale", name="Spring", owner="o@example.com", brand="Acme", domains=["go.acme.example"],
        routes=[
            Rule("vip", [Attr("tier", ["gold"])], _t("https://www.acme.example/vip"), line=60),
            Rule("quebec-french", [Region(["CA-QC"]), Language(["fr"])], _t("https://www.acme.example/fr"), line=64),
            Rule("store-page", [HasStore()], _t("https://www.acme.example/stores/{}?hero={}", "store.slug", "variant"),
                 line=68, closed=_t("https://www.acme.example/shop?store={}", "store.id")),
            Rule("ios-evening", [Device(["ios"]), LocalTime(1080, 1380)], _t("https://apps.apple.com/app/id1"), line=74),
        ],
        default=_t("https://www.acme.example/spring?hero={}", "variant"),
        campaign_token=CAMPAIGN_TOKEN, starts_at=START, ends_at=END, timezone="America/New_York",
        zones=["America/New_York"], attr_names=["tier"],
        variants=[VariantArm("tents", 45), VariantArm("family", 45), VariantArm("holdout", 10, holdout=True)],
        experiment="spring-hero-2027", stores=StorePolicy("acme", order=["home", "ip"], max_km=40),
        source="campaigns/spring-sale.yaml",
    )
    tokens = sorted([
        (REC_TOKEN, TokenRecord(0, "cust-1", variant=1, store=-1, zone=-1, attrs=["silver"])),
        (HOME_TOKEN, TokenRecord(0, "cust-2", variant=0, store=2, zone=0, attrs=["silver"])),
        (CAMPAIGN_TOKEN, TokenRecord(0, "")),
    ])
    path = tmp_path_factory.mktemp("snap") / "snapshot.lmdb"
    write_snapshot(path, campaigns=[camp], tokens=tokens, storesets=[ss])
    return str(path)


def run(snapshot: str, *args: str):
    result = CliRunner().invoke(main, ["explain", *args, "--snapshot", snapshot], catch_exceptions=False)
    return result


def test_store_by_ip_with_full_trace(snapshot, city_mmdb):
    r = run(snapshot, REC_TOKEN, "--geoip", city_mmdb, "--ip", "1.0.0.9", "--at", "2027-03-10T15:00:00Z")
    assert r.exit_code == 0, r.output
    out = r.output
    assert "recipient link of campaign spring-sale" in out
    assert "New York, US-NY, US (accuracy 5 km" in out
    assert "rule      no    vip (campaigns/spring-sale.yaml:60)" in out
    assert "attr tier in ['gold']: recipient has 'silver'" in out
    assert "- region in ['CA-QC']: geo New York, US-NY (accuracy 5 km)" in out
    assert "rule      MATCH store-page (campaigns/spring-sale.yaml:68)" in out
    assert "store nyc-soho (nearest to the click, 1.2 km)" in out
    assert "Wed 10:00 in America/New_York: open" in out
    assert "variant   family" in out
    assert "bot       human -> answer redirect" in out  # a phone's default headers: nothing suspicious
    assert "result    302 redirect -> https://www.acme.example/stores/nyc-soho?hero=family (route store-page)" in out
    assert REC_TOKEN not in out  # a recipient's key is never echoed
    assert "from 1.0.0.0/24 at" in out and "1.0.0.9" not in out  # the address as the log keeps it


def test_same_token_other_city_other_store(snapshot, city_mmdb):
    r = run(snapshot, REC_TOKEN, "--geoip", city_mmdb, "--ip", "1.0.1.9", "--at", "2027-03-10T23:00:00Z")
    assert r.exit_code == 0, r.output
    assert "-> https://www.acme.example/stores/sf?hero=family" in r.output


def test_home_store_when_ip_is_vague_and_closed_destination(snapshot, city_mmdb):
    # 04:30 UTC Thursday = 22:30 Wednesday in Chicago: the home store is closed
    r = run(snapshot, HOME_TOKEN, "--geoip", city_mmdb, "--ip", "1.0.3.7", "--at", "2027-03-11T04:30:00Z")
    assert r.exit_code == 0, r.output
    assert "store chi (home store from the audience)" in r.output
    assert "Wed 22:30 in America/Chicago: closed" in r.output
    assert "-> https://www.acme.example/shop?store=chi (route store-page)" in r.output


def test_language_header_and_quebec(snapshot, city_mmdb):
    r = run(snapshot, CAMPAIGN_TOKEN, "--geoip", city_mmdb, "--ip", "1.0.4.2", "-H", "Accept-Language: fr-CA",
            "--at", "2027-03-10T15:00:00Z")
    assert r.exit_code == 0, r.output
    assert "campaign-level link of campaign spring-sale" in r.output
    assert "language fr-CA" in r.output
    assert "+ region in ['CA-QC']: geo Montreal, CA-QC (accuracy 20 km)" in r.output
    assert "-> https://www.acme.example/fr (route quebec-french)" in r.output
    assert "split per click (campaign-level link)" in r.output


def test_bot_verdict_is_shown(snapshot):
    r = run(snapshot, REC_TOKEN, "--ua", "curl/8.5.0", "--bare", "--at", "2027-03-10T15:00:00Z")
    assert r.exit_code == 0, r.output
    bot_line = next(line for line in r.output.splitlines() if line.startswith("bot"))
    assert "human" not in bot_line.split("(")[0]
    assert "policy default@" in bot_line


def test_schedule_states(snapshot):
    before = run(snapshot, REC_TOKEN, "--at", "2027-02-01T00:00:00Z")
    assert "schedule  not-yet-live" in before.output and "(route not-yet-live)" in before.output
    after = run(snapshot, REC_TOKEN, "--at", "2027-05-01T00:00:00Z")
    assert "schedule  expired" in after.output and "result    410 gone (route expired)" in after.output


def test_json_output(snapshot, city_mmdb):
    r = run(snapshot, REC_TOKEN, "--geoip", city_mmdb, "--ip", "1.0.0.9", "--at", "2027-03-10T15:00:00Z",
            "--format", "json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert (data["route"], data["store"], data["store_source"], data["variant"]) == ("store-page", "nyc-soho", "ip", "family")
    assert [s["name"] for s in data["trace"] if s["kind"] == "rule"] == ["vip", "quebec-french", "store-page"]
    assert "token" not in data and REC_TOKEN not in r.output


@pytest.mark.parametrize("token", ["Nqpe2345", "0OIl!", "x" * 100], ids=["unknown", "malformed", "too long"])
def test_unknown_link_exits_1_without_echoing_it(snapshot, token):
    r = run(snapshot, token)
    assert r.exit_code == 1
    assert "not served" in r.output and "404" in r.output
    assert token not in r.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--at", "yesterday"], "is not an ISO 8601 time", id="bad time"),
        pytest.param(["-H", "Accept-Language fr"], "is not 'Name: value'", id="bad header"),
    ],
)
def test_bad_options_are_clear(snapshot, args, message):
    r = CliRunner().invoke(main, ["explain", REC_TOKEN, "--snapshot", snapshot, *args])
    assert r.exit_code == 2 and message in r.output and "Traceback" not in r.output


def test_missing_snapshot_is_clear(tmp_path):
    r = CliRunner().invoke(main, ["explain", REC_TOKEN, "--snapshot", str(tmp_path / "none")])
    assert r.exit_code == 1 and "no snapshot file here" in r.output and "Traceback" not in r.output


def test_bad_geo_database_is_clear(snapshot, tmp_path):
    bad = tmp_path / "x.mmdb"
    bad.write_bytes(b"junk")
    r = CliRunner().invoke(main, ["explain", REC_TOKEN, "--snapshot", snapshot, "--geoip", str(bad)])
    assert r.exit_code == 1 and "cannot open the geo database" in r.output
