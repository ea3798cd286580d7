"""Campaign files (``campaigns/*.yaml``): what authors write.

One campaign per file. Every field has a description: it is the hover text in
editors (through the JSON Schema) and docs/config.md lists the same fields (a
test keeps them in step).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator

from ._base import SpecModel
from ._fields import Duration, Host, Id, TimeZone, When, Window, custom_error

OneOrMany = str | list[str]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class DeviceKind(StrEnum):
    """Device classes the worker derives from the user agent."""

    IOS = "ios"
    ANDROID = "android"
    MOBILE = "mobile"
    DESKTOP = "desktop"


class LinkSpec(SpecModel):
    """How links look in the message."""

    domains: list[Host] = Field(
        min_length=1,
        description="Link domains; the first is used in messages, a click's Host must be one of them.",
    )
    token_length: int = Field(
        8,
        ge=6,
        le=16,
        description="Characters in a recipient token (every character costs SMS length).",
    )


class ScheduleSpec(SpecModel):
    """When the campaign is live and how long its tokens resolve."""

    timezone: TimeZone = Field(
        "UTC",
        description="The campaign's IANA zone: for dates without an offset, quiet hours, and local-time rules when nothing closer is known.",
    )
    starts: When | None = Field(
        None, description="Before this, clicks get `not-yet-live` (or the default route)."
    )
    send_at: When | None = Field(
        None,
        description="When the messages go out (quiet hours are checked against it; bots use it for timing).",
    )
    ends: When | None = Field(None, description="After this, clicks get `expired` (or 410 Gone).")
    retain: Duration = Field(
        "90d",
        description="How long after `ends` tokens keep resolving before they are forgotten (h, d, w).",
    )


class AudienceSpec(SpecModel):
    """The audience the campaign is compiled against. Only column *names* live here; the data is bound at compile time."""

    name: Id = Field(description="Audience name bound at compile time with `--audience NAME=PATH`.")
    region: str = Field(
        "US",
        pattern=r"^[A-Z]{2}$",
        description="Default region (ISO 3166-1 alpha-2) for numbers written without a country code.",
    )
    phone: str = Field("phone", min_length=1, description="Column with the phone number.")
    contact_id: str | None = Field(
        None,
        min_length=1,
        description="Column with your own recipient id; without it a keyed hash of the number is used.",
    )
    timezone: str | None = Field(
        None,
        min_length=1,
        description="Column with the recipient's IANA zone (for local-time rules).",
    )
    home_store: str | None = Field(
        None,
        min_length=1,
        description="Column with the recipient's home store id (required when `stores.order` has `home`).",
    )
    attributes: list[str] = Field(
        [],
        description="Other columns kept for routing and destinations (never PII such as names or emails).",
    )


class PreviewSpec(SpecModel):
    """The card link-preview fetchers get (approved text, never PII)."""

    title: str = Field(min_length=1, description="Preview title.")
    description: str = Field("", description="Preview description.")
    image: str | None = Field(None, description="Preview image URL (https).")


class StoresSpec(SpecModel):
    """How a store is chosen for a click."""

    path: str = Field(alias="list", description="Repository path of the store list (CSV or YAML).")
    order: list[Literal["home", "ip"]] = Field(
        ["home", "ip"],
        min_length=1,
        description="Sources tried in turn: `home` (the audience's home store), `ip` (nearest to the click).",
    )
    max_km: float = Field(
        50.0, gt=0, description="`ip`: the nearest store must be within this distance."
    )
    max_accuracy_km: float = Field(
        100.0, gt=0, description="`ip`: ignore geolocations vaguer than this radius."
    )

    @field_validator("order")
    @classmethod
    def _unique_order(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise custom_error(
                "E215", "a source is listed twice in `order`", "each of home, ip at most once"
            )
        return value


class ArmSpec(SpecModel):
    """One arm of the experiment."""

    name: Id = Field(
        description="Arm name (the `{{ variant }}` value and the `variant` condition's values)."
    )
    weight: float = Field(gt=0, description="Relative weight; arms share traffic in proportion.")
    holdout: bool = Field(
        False, description="Recipients in a holdout arm are compiled but not messaged."
    )


class VariantsSpec(SpecModel):
    """An A/B split, deterministic per recipient."""

    experiment: Id | None = Field(
        None,
        description="Salt of the split (default: the campaign id); changing it reshuffles recipients.",
    )
    arms: list[ArmSpec] = Field(min_length=2, description="The arms, two or more.")


class NearSpec(SpecModel):
    """A circle around a point."""

    lat: float = Field(ge=-90, le=90, description="Latitude of the centre.")
    lon: float = Field(ge=-180, le=180, description="Longitude of the centre.")
    km: float = Field(gt=0, description="Radius in km.")


class StoreWithinSpec(SpecModel):
    """A chosen store, at most ``within-km`` from the click when chosen by location."""

    within_km: float = Field(
        gt=0, description="For a store chosen by IP: how far the click may be."
    )


class WhenSpec(SpecModel):
    """Conditions of a rule; all must hold. An empty mapping always matches."""

    country: OneOrMany | None = Field(
        None,
        description="Click geolocates to one of these countries (ISO 3166-1 alpha-2, e.g. DE).",
    )
    region: OneOrMany | None = Field(
        None, description="Click's region is one of these (ISO 3166-2, e.g. US-CA)."
    )
    city: OneOrMany | None = Field(
        None, description="Click's city (English name as in the GeoIP database)."
    )
    within: NearSpec | None = Field(None, description="Click is within `km` of `lat`/`lon`.")
    accuracy_km: float | None = Field(
        None,
        gt=0,
        description="Geo conditions above match only when the geolocation is at least this precise.",
    )
    device: DeviceKind | list[DeviceKind] | None = Field(
        None, description="Device class: ios, android, mobile, desktop."
    )
    language: OneOrMany | None = Field(
        None, description="Preferred language by prefix (fr matches fr-CA)."
    )
    time: Window | None = Field(
        None, description='Recipient\'s local time of day, "HH:MM-HH:MM" (may span midnight).'
    )
    days: (
        list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]]
        | Literal["weekdays", "weekend"]
        | None
    ) = Field(
        None,
        description="Recipient's local weekday (of the window's start): list of mon..sun, or weekdays / weekend.",
    )
    after: When | None = Field(None, description="Click time at or after this date-time.")
    before: When | None = Field(None, description="Click time before this date-time.")
    attr: dict[str, OneOrMany] | None = Field(
        None,
        description="Recipient attributes (declared in `audience.attributes`) with the values that match.",
    )
    attr_not: dict[str, OneOrMany] | None = Field(
        None, description="Recipient attributes whose values must *not* be these."
    )
    variant: OneOrMany | None = Field(
        None, description="The recipient's variant arm is one of these."
    )
    store: Literal["any", "open", "closed"] | StoreWithinSpec | None = Field(
        None, description="A store was chosen (`any`), and is open or closed now."
    )

    @field_validator("country", "region", "language", "variant", "city")
    @classmethod
    def _not_empty(cls, value: OneOrMany | None) -> OneOrMany | None:
        if isinstance(value, list) and not value:
            raise custom_error(
                "E216", "an empty list never matches", "one value or a list of values"
            )
        return value

    @field_validator("country")
    @classmethod
    def _countries(cls, value: OneOrMany | None) -> OneOrMany | None:
        for code in [value] if isinstance(value, str) else value or []:
            if len(code) != 2 or not code.isalpha() or not code.isupper():
                hint = f'write "{code.upper()}"' if len(code) == 2 and code.isalpha() else ""
                raise custom_error(
                    "E217",
                    f'"{code}" is not a country code',
                    "ISO 3166-1 alpha-2 in capitals, e.g. DE, US, GB",
                    hint,
                )
        return value

    @field_validator("region")
    @classmethod
    def _regions(cls, value: OneOrMany | None) -> OneOrMany | None:
        for code in [value] if isinstance(value, str) else value or []:
            country, dash, sub = code.partition("-")
            if (
                not dash
                or len(country) != 2
                or not country.isupper()
                or not sub
                or not sub.isalnum()
            ):
                raise custom_error(
                    "E217", f'"{code}" is not a region code', "ISO 3166-2, e.g. US-CA, CA-QC, DE-BY"
                )
        return value


class OpenClosedSpec(SpecModel):
    """Two destinations for a rule that needs a store: one while it is open, one while it is closed."""

    open: str = Field(description="Destination while the chosen store is open.")
    closed: str = Field(description="Destination while it is closed.")


class RuleSpec(SpecModel):
    """One routing rule; the first rule whose conditions all hold wins."""

    id: Id = Field(
        description="Rule id, unique in the campaign (logged with each click as the route)."
    )
    when: WhenSpec = Field(description="Conditions; all must hold.")
    to: str | OpenClosedSpec = Field(
        description="Destination URL template, or `open`/`closed` destinations for a store rule."
    )


class CampaignSpec(SpecModel):
    """A campaign file: one campaign, its message, its routes."""

    id: Id = Field(description="Campaign id, unique across campaigns/.")
    name: str = Field(min_length=1, description="Human name shown in reviews and reports.")
    owner: str = Field(min_length=1, description="Team or person accountable (email or handle).")
    brand: str = Field(min_length=1, description="Brand the message is sent as.")
    category: Id | None = Field(
        None,
        description="Compliance category (e.g. retail, healthcare, political); the compliance policy may add rules per category.",
    )
    link: LinkSpec = Field(description="Link domains and token length.")
    schedule: ScheduleSpec = Field(
        default_factory=lambda: ScheduleSpec.model_validate({}),
        description="Live window and retention.",
    )
    audience: AudienceSpec = Field(description="Which audience the campaign is compiled against.")
    message: str = Field(min_length=1, description="SMS text (jinja2); must contain `{{ link }}`.")
    preview: PreviewSpec | None = Field(None, description="Card shown to link-preview fetchers.")
    utm: dict[str, str] = Field(
        {},
        description="Query parameters added to every destination (templates allowed; a parameter already in the URL wins).",
    )
    stores: StoresSpec | None = Field(
        None, description="Store list and how a click's store is chosen."
    )
    variants: VariantsSpec | None = Field(None, description="A/B arms with weights.")
    routes: list[RuleSpec] = Field([], description="Ordered rules; first match wins.")
    default: str = Field(description="Destination when no rule matches (required).")
    not_yet_live: str | None = Field(
        None, description="Destination before `schedule.starts` (default: the default route)."
    )
    expired: str | None = Field(
        None, description="Destination after `schedule.ends` (default: 410 Gone)."
    )
    bots: Id = Field("default", description="Bot policy id (a `kind: bots` file in policies/).")
    webhooks: list[str] = Field(
        [],
        description="Webhook endpoint names (from a `kind: webhooks` file) that receive this campaign's clicks.",
    )

    @field_validator("message")
    @classmethod
    def _message_has_link(cls, value: str) -> str:
        if not re.search(r"\{\{-?\s*link\s*-?\}\}", value):
            raise custom_error(
                "E218",
                "the message has no link",
                "a message containing {{ link }}",
                "add {{ link }} where the recipient's link goes",
            )
        return value


def day_numbers(days: Sequence[str] | str | None) -> list[int]:
    """``["mon", "sun"]`` -> [1, 7]; ``"weekdays"`` -> [1..5]; None -> every day."""
    if days is None:
        return [1, 2, 3, 4, 5, 6, 7]
    if days == "weekdays":
        return [1, 2, 3, 4, 5]
    if days == "weekend":
        return [6, 7]
    return sorted({DAYS.index(d) + 1 for d in days})
