"""Compliance policy files (``kind: compliance`` in policies/): what every campaign must satisfy."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._base import SpecModel
from ._fields import Host, Id, TimeOfDay


class QuietHoursSpec(SpecModel):
    """No ``send-at`` inside this window of the campaign's zone (may span midnight)."""

    start: TimeOfDay = Field(description="Start of the quiet window, HH:MM.")
    end: TimeOfDay = Field(description="End of the quiet window, HH:MM.")


class CategorySpec(SpecModel):
    """Extra rules for campaigns of one category."""

    required_reviewers: list[str] = Field(
        [], description="Teams or people who must approve (printed by `smslink review`)."
    )
    require_phrases: list[str] = Field(
        [], description="Phrases the message must contain (e.g. Paid for by)."
    )
    forbid_attributes: bool = Field(
        False, description="No recipient attribute may reach a destination URL."
    )


class ComplianceSpec(SpecModel):
    """A ``kind: compliance`` file."""

    kind: Literal["compliance"] = Field(description="File kind.")
    id: Id = Field("default", description="Policy id.")
    allowed_domains: list[Host] = Field(
        [],
        description="Destinations must be on one of these domains or their subdomains (empty: any).",
    )
    https_only: bool = Field(True, description="Destinations must use https.")
    max_segments: int = Field(
        2,
        ge=1,
        le=10,
        description="Most SMS segments a message may take, counted with the real link length.",
    )
    opt_out: list[str] = Field(
        [],
        description="At least one of these phrases must appear in every message (case-insensitive).",
    )
    banned_domains: list[Host] = Field(
        [],
        description="Domains no destination or message may use (added to the built-in public-shortener list).",
    )
    quiet_hours: QuietHoursSpec | None = Field(
        None, description="Hours of the campaign's zone in which `send-at` may not fall."
    )
    categories: dict[Id, CategorySpec] = Field({}, description="Rules per campaign category.")
