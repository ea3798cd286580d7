"""Hand-made Plans and audiences for the back half's tests (build, tokens, manifest, golden).

Numbers are fictional: NANP 555-01XX lines, reserved for fiction by NANPA.
"""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime
from pathlib import Path

from engine.compiler import AudienceBinding, CampaignPlan, CompliancePolicy, Plan
from engine.snapshot import (
    Campaign,
    Rule,
    Store,
    StoreIndex,
    StorePolicy,
    StoreSet,
    Template,
    VariantArm,
)

CLOCK = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
KEY = b"test-only-recipient-key"
AREAS = (212, 415, 617, 312, 206, 713, 303, 404)


def fictional_numbers(n: int, seed: int = 0) -> list[str]:
    """``n`` distinct valid fictional US numbers in E.164 (NPA-555-01XX)."""
    pool = [f"+1{a}55501{x:02d}" for a in AREAS for x in range(100)]
    if n > len(pool):
        raise ValueError("not enough fictional numbers")
    return random.Random(seed).sample(pool, n)


def seeded(seed: int = 7):
    return random.Random(seed).randbytes


STORES = StoreSet(
    id="acme",
    source="stores/acme.csv",
    stores=[
        Store("nyc", "Acme NYC", 40.72, -74.0, "America/New_York", fields={"slug": "nyc"}),
        Store("bos", "Acme Boston", 42.35, -71.08, "America/New_York", fields={"slug": "bos"}),
    ],
    index=StoreIndex(cell_deg=1.0, cells={}),
)


def campaign(
    cid: str = "spring",
    *,
    audience: str = "spring",
    contact: str | None = "customer_id",
    variants: bool = True,
    retain_until: int | None = None,
    message: str = "Acme: spring sale {{ link }} Reply STOP to opt out",
    attributes: tuple[str, ...] = ("tier",),
    token_length: int = 8,
) -> CampaignPlan:
    arms = (
        [VariantArm("a", 45), VariantArm("b", 45), VariantArm("holdout", 10, holdout=True)]
        if variants
        else []
    )
    record = Campaign(
        id=cid,
        name=f"Campaign {cid}",
        owner="team@acme.example",
        brand="Acme",
        domains=[f"{cid}.example"],
        routes=[Rule(id="vip", when=[], to=Template(["https://www.acme.example/vip"]))],
        default=Template(["https://www.acme.example/"]),
        campaign_token="",
        retain_until=retain_until,
        attr_names=list(attributes),
        variants=arms,
        experiment=f"{cid}-exp" if variants else "",
        stores=StorePolicy(storeset="acme"),
        source=f"campaigns/{cid}.yaml",
    )
    binding = AudienceBinding(
        name=audience,
        region="US",
        contact_id_column=contact,
        timezone_column="tz",
        home_store_column="store_id",
        attributes=attributes,
    )
    return CampaignPlan(record=record, audience=binding, message_template=message,
                        token_length=token_length, source=f"campaigns/{cid}.yaml")


def plan(*campaigns: CampaignPlan) -> Plan:
    return Plan(
        campaigns=list(campaigns) or [campaign()],
        policies=[],
        storesets=[STORES],
        endpoints=[],
        compliance=CompliancePolicy(max_segments=2, opt_out=("reply stop",)),
        config_commit="0" * 40,
    )


def write_audience(path: Path, numbers: list[str], *, ids: list[str] | None = None,
                   extra_rows: list[list[str]] = ()) -> Path:
    """Write an audience CSV: phone, customer_id, tz, store_id, tier."""
    stores = ["nyc", "bos", ""]
    tiers = ["gold", "silver", "bronze"]
    zones = ["America/New_York", "America/Chicago", ""]
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["phone", "customer_id", "tz", "store_id", "tier"])
        for i, n in enumerate(numbers):
            rid = ids[i] if ids else f"C{int(n[-6:]) * 7 % 999983:06d}-{i}"
            w.writerow([n, rid, zones[i % 3], stores[i % 3], tiers[i % 3]])
        for row in extra_rows:
            w.writerow(row)
    return path
