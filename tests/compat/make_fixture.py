"""Write the compat fixture for the current format version (run once per release of a format).

    .venv/bin/python tests/compat/make_fixture.py

Writes tests/compat/v<MAJOR>.<MINOR>/snapshot.lmdb with a fixed clock. Never
rewrite an existing fixture: it stands for files already in production.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from engine.routing import build_store_index
from engine.snapshot import (
    FORMAT_MAJOR,
    FORMAT_MINOR,
    BotPolicy,
    Campaign,
    Country,
    Rule,
    Store,
    StorePolicy,
    StoreSet,
    Template,
    TokenRecord,
    VariantArm,
    write_snapshot,
)

HERE = Path(__file__).resolve().parent


def main() -> int:
    folder = HERE / f"v{FORMAT_MAJOR}.{FORMAT_MINOR}"
    target = folder / "snapshot.lmdb"
    if target.exists():
        print(f"{target} exists; compat fixtures are never rewritten", file=sys.stderr)
        return 1
    stores = [
        Store("nyc", "New York", 40.7233, -74.0030, "America/New_York", [[(540, 1260)]] * 7, {"slug": "nyc"}),
        Store("chi", "Chicago", 41.8781, -87.6298, "America/Chicago", [[(540, 1260)]] * 7, {"slug": "chi"}),
    ]
    storeset = StoreSet("stores", "stores/stores.csv", stores, build_store_index(stores))
    campaign = Campaign(
        id="compat", name="Compat", owner="o@example.com", brand="Example", domains=["go.example"],
        routes=[Rule(id="us", when=[Country(values=["US"])], to=Template(["https://www.example/us/", ""], ["store.slug"]))],
        default=Template(["https://www.example/"]), campaign_token="CAMPAIGN",
        variants=[VariantArm("a", 50), VariantArm("b", 50)], experiment="x",
        stores=StorePolicy(storeset="stores"),
    )
    tokens = [("Ab3dEf7h", TokenRecord(campaign=0, recipient="cust-1", variant=0, store=1)),
              ("CAMPAIGN", TokenRecord(campaign=0, recipient="")),
              ("Zz9yXw8v", TokenRecord(campaign=0, recipient="cust-2", variant=1, retired=True))]
    folder.mkdir(parents=True)
    write_snapshot(target, campaigns=[campaign], tokens=tokens, storesets=[storeset],
                   policies=[BotPolicy(id="default", version="compat")],
                   built_at=datetime(2026, 11, 27, tzinfo=UTC), engine_version="compat")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
