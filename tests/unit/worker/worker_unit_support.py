"""Helpers of the worker's unit tests: a campaign, tokens and request headers (imported by name: conftest modules clash)."""

from __future__ import annotations

from engine.snapshot import (
    Campaign,
    Preview,
    Template,
    TokenRecord,
    VariantArm,
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




class Items:
    """Granian-like headers: ``items()`` gives every (name, value) pair, repeats included."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def items(self) -> list[tuple[str, str]]:
        return list(self.pairs)

    def get(self, key: str, default: str | None = None) -> str | None:
        return next((v for k, v in reversed(self.pairs) if k == key), default)
