"""The webhook payload: a public interface (docs/webhooks.md), built from a click event.

Privacy (DESIGN.md, invariant 1): the payload is built field by field from an
allow-list. It has no field for a phone number, the token, the IP address
(not even truncated), the request headers or the destination URL; the user
agent only when the endpoint asks for it (``include-user-agent``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec

from engine.clicklog import ClickEvent

#: Event types an endpoint may subscribe to. A click of a known token is
#: ``click.<verdict>``; a request for an unknown token is ``click.orphan``.
EVENT_TYPES: tuple[str, ...] = (
    "click.bot",
    "click.human",
    "click.orphan",
    "click.preview",
    "click.scanner",
    "click.suspect",
    "click.unjudged",
)
DEFAULT_EVENT_TYPES: tuple[str, ...] = ("click.human",)


class ClickData(msgspec.Struct, kw_only=True):
    """``data`` of a ``click.*`` payload. Every key is always present (null when unknown)."""

    event_id: str  # the click event's id (ULID), unique and time-sortable
    clicked_at: str  # ISO 8601 UTC with milliseconds
    campaign: str | None
    recipient: str | None  # opaque recipient id from the audience; never a phone number
    link: str | None  # recipient | campaign
    variant: str | None
    route: str | None
    store: str | None
    store_source: str | None
    verdict: str
    reasons: list[str]
    policy: str | None
    country: str | None
    region: str | None
    city: str | None
    device: str | None
    language: str | None
    answer: str
    status: int
    snapshot: str
    user_agent: str | msgspec.UnsetType = msgspec.UNSET  # only with include-user-agent


class Payload(msgspec.Struct):
    """The body of every delivery (Standard Webhooks' recommended ``{type, timestamp, data}``)."""

    type: str
    timestamp: str  # when the click happened (the delivery time is the webhook-timestamp header)
    data: ClickData


_encoder = msgspec.json.Encoder()


def event_type(event: ClickEvent) -> str:
    """``click.<verdict>`` for known tokens, ``click.orphan`` for unknown ones."""
    if event.kind == "orphan":
        return "click.orphan"
    return f"click.{event.verdict}"


def iso_millis(ms: int) -> str:
    """Epoch milliseconds as ``2026-11-27T08:23:00.123Z``."""
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def build_payload(event: ClickEvent, *, include_user_agent: bool = False) -> Payload:
    """The payload of one click event (allow-listed fields only)."""
    when = iso_millis(event.ts)
    data = ClickData(
        event_id=event.id,
        clicked_at=when,
        campaign=event.campaign,
        recipient=event.recipient,
        link=event.link,
        variant=event.variant,
        route=event.route,
        store=event.store,
        store_source=event.store_source,
        verdict=event.verdict,
        reasons=list(event.reasons),
        policy=event.policy,
        country=event.country,
        region=event.region,
        city=event.city,
        device=event.device,
        language=event.lang,
        answer=event.answer,
        status=event.status,
        snapshot=event.snapshot,
    )
    if include_user_agent:
        data.user_agent = event.ua
    return Payload(type=event_type(event), timestamp=when, data=data)


def encode_payload(payload: Payload) -> bytes:
    """Compact JSON, keys in the documented order."""
    return _encoder.encode(payload)
