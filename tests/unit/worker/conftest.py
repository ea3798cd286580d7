"""Fixtures of the worker's unit tests: small real snapshots written with engine.snapshot."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from engine.snapshot import (
    Campaign,
    Preview,
    Snapshot,
    Template,
    TokenRecord,
    VariantArm,
    open_snapshot,
    write_snapshot,
)

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z, inside the campaign's schedule

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
HUMAN_HEADERS = {
    "user-agent": IPHONE,
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "accept-language": "en-US,en;q=0.9",
    "accept-encoding": "gzip, deflate, br",
    "sec-fetch-site": "none",
    "sec-fetch-mode": "navigate",
    "sec-fetch-dest": "document",
}


def campaign(**over: object) -> Campaign:
    base: dict[str, object] = dict(
        id="spring", name="Spring", owner="growth@acme.example", brand="Acme & <Co>",
        domains=["go.acme.example"], routes=[],
        default=Template(["https://www.acme.example/spring?hero=", ""], ["variant"]),
        campaign_token="CmpgnTk2", variants=[VariantArm("tents", 50), VariantArm("family", 50)],
        preview=Preview('Spring "sale" <b>', "20% off & more", "https://img.acme.example/s.jpg"),
        starts_at=int(NOW) - 86400, ends_at=int(NOW) + 86400, send_at=int(NOW) - 3600,
    )
    base.update(over)
    return Campaign(**base)  # type: ignore[arg-type]


TOKENS = [
    ("Ab3dEf7h", TokenRecord(campaign=0, recipient="cust-1001", variant=0)),
    ("Ab3dEf7k", TokenRecord(campaign=0, recipient="cust-1002", variant=1)),
    ("CmpgnTk2", TokenRecord(campaign=0, recipient="")),
]


@pytest.fixture
def make_snapshot(tmp_path: Path) -> Callable[..., Snapshot]:
    opened: list[Snapshot] = []

    def make(*campaigns: Campaign, tokens: list[tuple[str, TokenRecord]] | None = None,
             name: str = "s.lmdb") -> Snapshot:
        path = tmp_path / name
        write_snapshot(path, campaigns=list(campaigns) or [campaign()],
                       tokens=sorted(tokens if tokens is not None else TOKENS, key=lambda t: t[0]))
        snap = open_snapshot(path)
        opened.append(snap)
        return snap

    yield make
    for s in opened:
        s.close()
