"""The linked plan: what the front half of the compiler (load -> validate -> link)
hands to the back half (build -> write).

``link`` (engine/compiler/_link.py) produces a ``Plan`` from the spec objects;
``build`` (engine/compiler/_build.py) turns a Plan plus the bound audiences into
snapshot records and a send manifest. Everything here is already validated:
a failure after this point is a bug in the engine (E9xx), never the author's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.snapshot import BotPolicy, Campaign, Endpoint, StoreSet


@dataclass(frozen=True)
class AudienceBinding:
    """How a campaign reads its audience CSV (bound by name with ``--audience NAME=PATH``)."""

    name: str  # the audience name in the campaign file
    region: str = "US"  # default region for numbers without a country code
    phone_column: str = "phone"
    contact_id_column: str | None = None  # recipient id = this column; else keyed hash of E.164
    timezone_column: str | None = None  # recipient's IANA zone
    home_store_column: str | None = None  # recipient's home store id (must exist in the store list)
    attributes: tuple[str, ...] = ()  # non-PII columns kept for routing (Campaign.attr_names)


@dataclass(frozen=True)
class QuietHours:
    start: int  # minutes after midnight
    end: int


@dataclass(frozen=True)
class CategoryRules:
    required_reviewers: tuple[str, ...] = ()
    require_phrases: tuple[str, ...] = ()
    forbid_attributes: bool = False


@dataclass(frozen=True)
class CompliancePolicy:
    """The compiled ``kind: compliance`` policy."""

    id: str = "default"
    allowed_domains: tuple[str, ...] = ()  # empty: any domain
    https_only: bool = True
    max_segments: int = 2
    opt_out: tuple[str, ...] = ()  # any one must appear (case-insensitive)
    banned_domains: tuple[str, ...] = ()  # public shorteners (with the built-in list)
    quiet_hours: QuietHours | None = None
    categories: dict[str, CategoryRules] = field(default_factory=dict)
    source: str = ""


@dataclass(frozen=True)
class CampaignPlan:
    """One campaign, linked.

    ``record`` is the snapshot record complete except for what needs the audience
    or the token ledger: ``campaign_token`` (""), ``zones`` ([]),
    ``recipients`` (0) are filled by ``build``; ``message`` (with a sample
    rendered with a real-length link) and ``findings`` (lint warnings and
    notes) are filled by ``link``.
    ``record.attr_names`` already lists the attributes kept for click time.
    """

    record: Campaign
    audience: AudienceBinding
    message_template: str  # jinja2 source; ``{{ link }}`` is the recipient's link
    token_length: int = 8
    source: str = ""  # repository-relative path of the campaign file


@dataclass(frozen=True)
class Plan:
    """Everything a compile needs except the audiences and the previous snapshot."""

    campaigns: list[CampaignPlan]
    policies: list[BotPolicy]
    storesets: list[StoreSet]
    endpoints: list[Endpoint]
    compliance: CompliancePolicy = field(default_factory=CompliancePolicy)
    config_commit: str | None = None
