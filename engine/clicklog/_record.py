"""The click event: one JSON line per answered request, the public log schema.

This is a public interface: warehouses load it (docs/click-log.md). Adding a
field is fine; renaming or retyping one is a breaking change. ``SCHEMA_VERSION``
is written in every line as ``v``.

Privacy: there is no field for a phone number; ``ip`` holds the address
truncated to /24 (IPv4) or /48 (IPv6) unless a policy explicitly keeps it;
``headers`` holds only the whitelisted headers in ``LOGGED_HEADERS`` (no
cookies, no authorization, no forwarding chains).
"""

from __future__ import annotations

import msgspec

SCHEMA_VERSION = 1

#: Request headers kept in the log so a later bot policy can re-judge the
#: click (lower-case names). The user agent has its own field.
LOGGED_HEADERS: tuple[str, ...] = (
    "accept",
    "accept-language",
    "accept-encoding",
    "purpose",
    "sec-purpose",
    "x-purpose",
    "x-moz",
    "sec-fetch-site",
    "sec-fetch-mode",
    "sec-fetch-dest",
    "sec-fetch-user",
    "sec-ch-ua",
    "sec-ch-ua-mobile",
    "sec-ch-ua-platform",
    "upgrade-insecure-requests",
    "x-requested-with",
    "referer",  # the worker keeps only scheme://host of it
)

#: Verdicts, in the vocabulary of the bot policies. "unjudged" means no policy ran.
VERDICTS: tuple[str, ...] = ("human", "preview", "scanner", "bot", "suspect", "unjudged")


class ClickEvent(msgspec.Struct, omit_defaults=True, kw_only=True):
    """One answered request.

    ``kind`` is "click" for a known token and "orphan" for an unknown or
    malformed one (then ``token`` holds the attempted path segment, cut to 64
    characters, and campaign/recipient are absent).
    """

    id: str  # sortable unique id (ULID: 48-bit ms time + 80 random bits, Crockford base32)
    ts: int  # UTC milliseconds since the epoch
    kind: str  # click | orphan
    status: int  # HTTP status answered
    answer: str  # redirect | preview-page | prefetch | not-found | gone | fallback
    verdict: str = "unjudged"  # human | preview | scanner | bot | suspect | unjudged
    reasons: list[str] = []  # reason codes, in the order the policy produced them
    policy: str | None = None  # "<policy id>@<policy version>" that judged it
    token: str | None = None
    link: str | None = None  # recipient | campaign
    campaign: str | None = None
    recipient: str | None = None  # opaque recipient id; None for campaign links and orphans
    variant: str | None = None
    # rule id | default | not-yet-live | expired | error; for orphans, why:
    # unknown-token | malformed-token | host-mismatch | retention-ended | internal-error
    route: str | None = None
    store: str | None = None  # chosen store id
    store_source: str | None = None  # home | ip
    dest: str | None = None  # the Location answered (or linked from the preview page)
    country: str | None = None
    region: str | None = None  # ISO 3166-2
    city: str | None = None
    accuracy_km: int | None = None
    asn: int | None = None
    device: str | None = None  # ios | android | mobile | desktop | unknown
    lang: str | None = None  # most preferred Accept-Language tag
    since_send_s: float | None = None  # seconds between the campaign's send time and the click
    method: str = "GET"
    host: str = ""
    ip: str = ""  # truncated: a.b.c.0/24 or x:x:x::/48
    ua: str = ""
    headers: dict[str, str] = {}
    snapshot: str = ""  # snapshot version that answered
    worker: str = ""  # "<hostname>:<pid>"
    v: int = SCHEMA_VERSION
