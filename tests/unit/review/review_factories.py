"""Hand-made compiled records for the review tests (no compiler needed)."""

from __future__ import annotations

from engine.review.diff import Compliance, Revision
from engine.snapshot import Campaign, Country, Device, Message, Rule, Template

COMPLIANCE = Compliance(
    allowed_domains=("acme.example", "apps.apple.com"), banned_domains=("bit.ly",),
    max_segments=2, reviewers={"political": ("@acme/compliance-political",)},
)
MSG = Message(template="Acme: sale {{ link }} Reply STOP to opt out", sample="Acme: sale https://go.acme.example/AbCdEfGh Reply STOP to opt out",
              encoding="GSM-7", segments=1, link_length=32, has_opt_out=True)


def T(url: str, *slots: str) -> Template:
    if not slots:
        return Template([url])
    parts = url.split("{}")
    return Template(parts, list(slots))


def campaign(cid: str = "spring", **kw) -> Campaign:
    base = dict(
        id=cid, name="Spring sale", owner="growth@acme.example", brand="Acme", domains=["go.acme.example"],
        routes=[Rule("ios", [Device(["ios"])], T("https://apps.apple.com/app/id1")),
                Rule("de", [Country(["DE"])], T("https://www.acme.example/de"))],
        default=T("https://www.acme.example/spring?hero={}", "variant"), campaign_token="CAMPAIGNTOKEN",
        message=MSG, timezone="America/New_York", starts_at=1_803_000_000, ends_at=1_805_000_000,
    )
    base.update(kw)
    return Campaign(**base)


def rev(*campaigns: Campaign, label: str = "x", **kw) -> Revision:
    return Revision(label, list(campaigns), compliance=kw.pop("compliance", COMPLIANCE), **kw)
