"""Geo routing through a real worker: nearest store by the client's address, home store first (issues 3, 4)."""

from __future__ import annotations

import time

import pytest
from fixtures.geo import SAMPLE_CITIES, build_city_mmdb
from worker_e2e_support import HOST, token

from engine.routing import build_store_index
from engine.snapshot import (
    Campaign,
    HasStore,
    Rule,
    Store,
    StorePolicy,
    StoreSet,
    Template,
    TokenRecord,
    publish_snapshot,
    write_snapshot,
)

pytestmark = pytest.mark.e2e

ALWAYS_OPEN = [[(0, 1440)]] * 7
STORES = [
    Store("nyc", "Manhattan", 40.75, -73.99, "America/New_York", ALWAYS_OPEN, {"slug": "manhattan"}),
    Store("sfo", "Mission", 37.76, -122.42, "America/Los_Angeles", ALWAYS_OPEN, {"slug": "mission"}),
    Store("chi", "Loop", 41.88, -87.63, "America/Chicago", ALWAYS_OPEN, {"slug": "loop"}),
]


@pytest.fixture
def geo_server(tmp_path, start_server):
    storeset = StoreSet(id="acme", source="stores.csv", stores=STORES, index=build_store_index(STORES))
    now = int(time.time())
    camp = Campaign(
        id="stores", name="Stores", owner="o", brand="Acme", domains=[HOST],
        routes=[Rule(id="store-page", when=[HasStore(within_km=60)],
                     to=Template(["https://www.acme.example/stores/", ""], ["store.slug"]))],
        default=Template(["https://www.acme.example/spring"]), campaign_token=token(0, "Cp"),
        stores=StorePolicy(storeset="acme", order=["home", "ip"], max_km=60, max_accuracy_km=100),
        starts_at=now - 3600, ends_at=now + 86400,
    )
    toks = sorted([
        (token(1), TokenRecord(campaign=0, recipient="no-home")),
        (token(2), TokenRecord(campaign=0, recipient="home-chicago", store=2)),
    ])
    write_snapshot(tmp_path / "geo.lmdb", campaigns=[camp], tokens=toks, storesets=[storeset])
    publish_snapshot(tmp_path / "geo.lmdb", tmp_path / "pub")
    mmdb = build_city_mmdb(tmp_path / "City.mmdb", SAMPLE_CITIES)
    return start_server(tmp_path / "pub", extra=["--geoip", mmdb, "--client-ip-header", "X-Forwarded-For"])


def test_the_same_link_from_different_cities_lands_on_different_stores(geo_server):
    def dest(tok: str, ip: str) -> str:
        r = geo_server.get("/" + tok, headers={"x-forwarded-for": f"10.9.9.9, {ip}"})
        assert r.status_code == 302
        return r.headers["location"]

    assert dest(token(1), "1.0.0.7") == "https://www.acme.example/stores/manhattan"  # New York
    assert dest(token(1), "1.0.1.7") == "https://www.acme.example/stores/mission"  # San Francisco
    assert dest(token(1), "1.0.3.7") == "https://www.acme.example/spring"  # country-level: too vague
    assert dest(token(1), "1.0.6.7") == "https://www.acme.example/spring"  # Berlin: no store near
    # the audience's home store wins over the address, even a precise one
    assert dest(token(2), "1.0.0.7") == "https://www.acme.example/stores/loop"
    events = {(e.recipient, e.city, e.store, e.store_source, e.ip)
              for e in geo_server.wait_for_lines(5) if e.kind == "click"}
    assert ("no-home", "New York", "nyc", "ip", "1.0.0.0/24") in events
    assert ("home-chicago", "New York", "chi", "home", "1.0.0.0/24") in events
