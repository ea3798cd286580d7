"""Cost of click-time routing (``make bench-routing``). Never run by pytest.

Measures:

- build: ``build_store_index`` over 10,000 and 100,000 stores clustered in 300
  US cities plus countryside (compile time);
- nearest store, cold: a fresh location per query (no cache), points around
  the cities, ns per query;
- geo lookup: ``GeoReader.lookup`` on a generated City database of 2,000
  networks: repeated IPs (the per-IP cache) and raw ``maxminddb`` reads;
- resolve: a default-only campaign against a full one (geo + nearest store over
  10,000 stores + local-time windows + variants + open/closed), with facts
  rotating over 1,000 locations (a geolocation database has a bounded set of
  points, so the nearest store per location is cached after its first click),
  and the same with a fresh location every click (worst case);
- resolve with trace=True (what ``smslink explain`` pays).

Method: median of 7 runs, CPU time of this process (``time.process_time_ns``),
so other jobs on a shared machine inflate it less than wall time; the load
average is printed with the figures. The worker's end-to-end figures are in
benchmarks/bench_worker.py.
"""

from __future__ import annotations

import os
import platform
import random
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from _machine import cpu_model, median_ns
from fixtures.geo import build_city_mmdb

from engine.routing import (
    ClickFacts,
    Geo,
    GeoReader,
    StoreLocator,
    build_store_index,
    compile_campaign,
)
from engine.snapshot import (
    Campaign,
    Country,
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
    Variant,
    VariantArm,
)

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
ANDROID = ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
           "SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36")
HOURS = [[(540, 1260)]] * 5 + [[(600, 1200)], [(660, 1080)]]
NOW = 1_805_000_000.0  # a Tuesday in March 2027


def _stores(n: int, rnd: random.Random, cities: list[tuple[float, float]]) -> list[Store]:
    zones = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]
    out = []
    for i in range(n):
        if i % 5 == 0:
            lat, lon = rnd.uniform(25, 49), rnd.uniform(-124, -67)
        else:
            c = rnd.choice(cities)
            lat, lon = c[0] + rnd.gauss(0, 0.15), c[1] + rnd.gauss(0, 0.15)
        zone = zones[min(3, int((-67 - lon) / 15))]
        out.append(Store(f"s{i:06d}", f"Store {i}", lat, lon, zone, HOURS, {"slug": f"store-{i}"}))
    return out


def _full_campaign() -> Campaign:
    def t(url: str, *slots: str) -> Template:
        return Template(url.split("{}"), list(slots))

    return Campaign(
        id="full", name="Full", owner="o@example.com", brand="Acme", domains=["go.example"],
        routes=[
            Rule("quebec-french", [Region(["CA-QC"]), Language(["fr"])], t("https://x/fr")),
            Rule("b-only-evening", [Variant(["b"]), LocalTime(1080, 1380, [1, 2, 3, 4, 5])], t("https://x/eve")),
            Rule("store-page", [HasStore(within_km=40)], t("https://x/stores/{}?hero={}", "store.slug", "variant"),
                 closed=t("https://x/shop?store={}", "store.id")),
            Rule("android-app", [Device(["android"]), Country(["US"], max_accuracy_km=100)], t("https://play/x")),
        ],
        default=t("https://x/spring?hero={}", "variant"), campaign_token="C",
        timezone="America/New_York", zones=["America/New_York", "America/Chicago"],
        variants=[VariantArm("a", 45), VariantArm("b", 45), VariantArm("holdout", 10, holdout=True)],
        experiment="bench", stores=StorePolicy("bench", order=["home", "ip"], max_km=40, max_accuracy_km=100),
    )


def main() -> None:
    rnd = random.Random(2027)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"machine: {cpu_model()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, load average {load}")
    print(f"python {platform.python_version()}, msgspec {version('msgspec')}, maxminddb {version('maxminddb')}, "
          f"numpy {version('numpy')}, tzdata {version('tzdata')}")
    print("method: median of 7 runs, CPU time of this process\n")
    cities = [(rnd.uniform(26, 48), rnd.uniform(-123, -70)) for _ in range(300)]

    # ---------------------------------------------------------------- stores
    sets: dict[int, StoreSet] = {}
    for n in (10_000, 100_000):
        stores = _stores(n, rnd, cities)
        t0 = time.perf_counter()
        idx = build_store_index(stores)
        built = time.perf_counter() - t0
        sets[n] = StoreSet("bench", "bench.csv", stores, idx)
        leaves = len(idx.tree)
        mean_leaf = sum(len(v) for v in idx.tree.values()) / max(1, leaves)
        print(f"build_store_index {n:>7,} stores: {built:6.2f} s wall, grid {idx.cell_deg:g} deg, "
              f"tree {leaves:,} leaves (mean {mean_leaf:.1f} candidates), {len(idx.split):,} inner nodes")
        loc = StoreLocator(sets[n])
        near = [(c[0] + rnd.gauss(0, 0.3), c[1] + rnd.gauss(0, 0.3)) for c in (rnd.choice(cities) for _ in range(20_000))]
        rural = [(rnd.uniform(26, 48), rnd.uniform(-123, -70)) for _ in range(20_000)]
        for label, pts in (("around cities", near), ("anywhere in the US", rural)):
            def q(k: int, pts: list[tuple[float, float]] = pts, loc: StoreLocator = loc) -> None:
                for i in range(k):
                    lat, lon = pts[i % len(pts)]
                    loc.nearest(lat, lon, 40.0)
            print(f"  nearest store, cold, {label:<19}: {median_ns(q, 20_000):8.0f} ns/query")

    # ------------------------------------------------------------------- geo
    with tempfile.TemporaryDirectory() as tmp:
        records = {}
        for i in range(2000):
            c = rnd.choice(cities)
            records[f"10.{i // 256}.{i % 256}.0/24"] = {
                "country": "US", "region": "US-NY", "city": f"City {i}", "lat": c[0], "lon": c[1],
                "accuracy_km": rnd.choice([5, 10, 20, 50, 200, 1000]), "timezone": "America/New_York"}
        path = build_city_mmdb(Path(tmp) / "City.mmdb", records)
        ips = [f"10.{i // 256}.{i % 256}.{rnd.randrange(1, 255)}" for i in range(2000)]
        reader = GeoReader(path, None)

        def cached(k: int) -> None:
            for i in range(k):
                reader.lookup(ips[i % 2000])

        raw_db = reader._city
        assert raw_db is not None

        def raw(k: int) -> None:
            for i in range(k):
                raw_db.get(ips[i % 2000])

        cached(2000)
        print(f"\nGeoReader.lookup, repeated IPs (cache): {median_ns(cached, 50_000):8.0f} ns/lookup")
        print(f"maxminddb get, no cache:                 {median_ns(raw, 50_000):8.0f} ns/lookup")
        reader.close()

    # --------------------------------------------------------------- resolve
    ss = sets[10_000]
    default_only = compile_campaign(Campaign(
        id="d", name="D", owner="o", brand="b", domains=["go.example"], routes=[],
        default=Template(["https://x/spring"]), campaign_token="C"), None)
    full = compile_campaign(_full_campaign(), ss)
    geos = []
    for _ in range(1000):
        c = rnd.choice(cities)
        geos.append(Geo("US", "US-NY", "X", c[0] + rnd.gauss(0, 0.1), c[1] + rnd.gauss(0, 0.1),
                        rnd.choice([5, 10, 20, 50, 500]), "America/New_York", None, None))
    recs = [TokenRecord(0, f"r{i}", variant=i % 3, store=(i * 7919) % 10_000 if i % 2 else -1, zone=i % 3 - 1)
            for i in range(1000)]
    facts = [ClickFacts(NOW + i * 37.0, geos[i], IPHONE if i % 3 else ANDROID,
                        "fr-CA,fr;q=0.9" if i % 10 == 0 else "en-US,en;q=0.9", f"click{i}") for i in range(1000)]

    def run_default(k: int) -> None:
        for i in range(k):
            default_only.resolve(recs[i % 1000], facts[i % 1000])

    def run_full(k: int) -> None:
        for i in range(k):
            full.resolve(recs[i % 1000], facts[i % 1000])

    def run_trace(k: int) -> None:
        for i in range(k):
            full.resolve(recs[i % 1000], facts[i % 1000], trace=True)

    cold_facts = [ClickFacts(NOW, Geo("US", None, None, lat, lon, 10, None, None, None), IPHONE, "en", "k")
                  for lat, lon in ((c[0] + rnd.gauss(0, 0.3), c[1] + rnd.gauss(0, 0.3))
                                   for c in (rnd.choice(cities) for _ in range(200_000)))]
    cold_rec = TokenRecord(0, "r", variant=0)
    pos = [0]

    def run_cold(k: int) -> None:
        full._nearest.clear()
        base = pos[0]
        for i in range(k):
            full.resolve(cold_rec, cold_facts[(base + i) % len(cold_facts)])
        pos[0] = base + k

    # Clicks in one UTC minute from 50 places, 3 arms, no home store: what a send's
    # burst looks like; the decision memo answers repeats (CompiledCampaign._memo_key).
    hot_facts = [ClickFacts(NOW + (i % 50) * 0.5, geos[i % 50], IPHONE, "en-US,en;q=0.9", f"click{i}",
                            ("ios", "en-US")) for i in range(1000)]
    hot_recs = [TokenRecord(0, f"r{i}", variant=i % 3) for i in range(1000)]

    def run_hot(k: int) -> None:
        for i in range(k):
            full.resolve(hot_recs[i % 1000], hot_facts[i % 1000])

    run_full(5000)
    d = median_ns(run_default, 50_000)
    h = median_ns(run_hot, 50_000)
    f = median_ns(run_full, 50_000)
    c = median_ns(run_cold, 20_000)
    tr = median_ns(run_trace, 10_000)
    routes: dict[str, int] = {}
    for i in range(1000):
        r = full.resolve(recs[i], facts[i]).route
        routes[r] = routes.get(r, 0) + 1
    print(f"\nresolve, default-only campaign:                    {d:8.0f} ns/click")
    print(f"resolve, full (geo+store 10k+time+variants):       {f:8.0f} ns/click  (+{f - d:,.0f} ns; "
          "every click in a new minute: no decision remembered)")
    print(f"resolve, full, remembered (one minute, 50 places): {h:8.0f} ns/click  (+{h - d:,.0f} ns)")
    print(f"resolve, full, fresh location every click:         {c:8.0f} ns/click")
    print(f"resolve, full, trace=True (explain):               {tr:8.0f} ns/click")
    print(f"routes taken by the full campaign's sample: {dict(sorted(routes.items()))}")


if __name__ == "__main__":
    main()
