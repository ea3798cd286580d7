"""The built-in default bot policy (policies/bots.yaml spells out the same signals).

A test loads policies/bots.yaml through the spec and checks that it compiles to
exactly this record, version included, so the file a reviewer reads is the
policy that runs when a campaign names no other.
"""

from __future__ import annotations

import hashlib
from typing import Any

import msgspec

from engine.snapshot import BotPolicy, BotSignal

#: Datacenter and hosting networks (autonomous system numbers). Absent on
#: purpose: Cloudflare 13335, Akamai 16625/20940 and Fastly 54113 carry iCloud
#: Private Relay egress (people on shared addresses); Apple 714/6185; mobile
#: carriers. See docs/bots.md, "Shared egress".
DATACENTER_ASNS: tuple[int, ...] = (
    14618, 16509,  # Amazon AWS
    15169, 396982,  # Google, Google Cloud
    8075,  # Microsoft Azure
    14061,  # DigitalOcean
    16276,  # OVH
    24940, 213230,  # Hetzner
    63949,  # Linode (Akamai Connected Cloud)
    20473,  # Vultr (Choopa)
    31898,  # Oracle Cloud
    45102, 37963,  # Alibaba Cloud
    132203,  # Tencent Cloud
    12876,  # Scaleway
    60781,  # Leaseweb
    51167,  # Contabo
    36351,  # IBM Cloud (SoftLayer)
)

#: Datacenter ranges used when the worker has no ASN database: a short list of
#: blocks wholly allocated to hosting providers. Extend it in your policy from
#: the providers' published lists (AWS ip-ranges.json, Google cloud.json, ...).
DATACENTER_CIDRS: tuple[str, ...] = (
    "5.9.0.0/16", "78.46.0.0/15", "88.198.0.0/16", "136.243.0.0/16",
    "144.76.0.0/16", "148.251.0.0/16", "176.9.0.0/16",  # Hetzner
    "46.101.0.0/16", "104.131.0.0/16", "138.68.0.0/16", "159.89.0.0/16",
    "167.99.0.0/16",  # DigitalOcean
)

#: Referrer hosts of mail and link-protection gateways (suffix match).
GATEWAY_REFERERS: tuple[str, ...] = (
    "urldefense.proofpoint.com",
    "urldefense.com",
    "safelinks.protection.outlook.com",
    "mimecast.com",
    "cudasvc.com",
    "trendmicro.com",
)

#: Header values that mark a speculative load rather than a tap.
PREFETCH_HEADERS: dict[str, list[str]] = {
    "purpose": ["prefetch", "prerender", "preview"],
    "sec-purpose": ["prefetch", "prerender"],
    "x-purpose": ["preview", "prefetch"],
    "x-moz": ["prefetch"],
}

#: Header-shape checks, in the order they are reported.
HEADER_SHAPE_CHECKS: tuple[str, ...] = (
    "not-a-browser",
    "no-accept-language",
    "accept-not-html",
    "no-sec-fetch",
)

#: An in-app browser string is not trusted when it also carries one of these.
IN_APP_UNLESS: tuple[str, ...] = (r"https?://", r"[Bb]ot/")

DEFAULT_ANSWERS: dict[str, str] = {
    "human": "redirect",
    "preview": "preview-page",
    "scanner": "redirect",
    "bot": "redirect",
    "suspect": "redirect",
}


def _ua(list_name: str, verdict: str, reason: str, **extra: Any) -> BotSignal:
    params: dict[str, Any] = {"list": list_name, "add": [], "remove": []}
    params.update(extra)
    return BotSignal(kind="user-agent", verdict=verdict, reason=reason, params=params)


def default_signals() -> list[BotSignal]:
    """The default signal list, cheapest first."""
    return [
        BotSignal(kind="method", verdict="bot", reason="method", params={"allow": ["GET"]}),
        BotSignal(
            kind="prefetch-header", verdict="preview", reason="prefetch",
            params={"headers": {k: list(v) for k, v in PREFETCH_HEADERS.items()}, "answer": "prefetch"},
        ),
        BotSignal(kind="missing-user-agent", verdict="bot", reason="no-user-agent"),
        _ua("preview-fetchers", "preview", "preview-agent"),
        # Self-identified bots that borrow an app's string carry a contact URL or "bot/".
        _ua("in-app-browsers", "human", "in-app", unless=list(IN_APP_UNLESS)),
        _ua("link-scanners", "scanner", "scanner-agent"),
        _ua("headless-browsers", "bot", "headless"),
        _ua("http-libraries", "bot", "http-library"),
        _ua("uptime-monitors", "bot", "monitor"),
        _ua("crawlers", "preview", "crawler-preview", tags=["social-preview"]),
        _ua("crawlers", "scanner", "crawler-scanner", tags=["scanner"]),
        _ua("crawlers", "bot", "crawler"),
        BotSignal(
            kind="header-shape", verdict="suspect", reason="header-shape", strength="weak",
            params={"checks": list(HEADER_SHAPE_CHECKS), "weight": 1},
        ),
        BotSignal(
            kind="referer", verdict="suspect", reason="gateway-referer", strength="weak",
            params={"hosts": list(GATEWAY_REFERERS), "weight": 1},
        ),
        BotSignal(
            kind="network", verdict="suspect", reason="datacenter", strength="weak",
            params={"asns": list(DATACENTER_ASNS), "cidrs": list(DATACENTER_CIDRS), "weight": 1},
        ),
        BotSignal(
            kind="timing", verdict="suspect", reason="fast-after-send", strength="weak",
            params={"below-seconds": 15.0, "weight": 1},
        ),
    ]


def policy_version(
    policy_id: str, signals: list[BotSignal], weak_threshold: int, weak_verdict: str,
    answers: dict[str, str],
) -> str:
    """Content hash of a policy: first 12 hex of sha256 over its canonical JSON.

    ``engine/spec/bots.py`` computes the same hash the same way (a test checks
    they agree); the source path is not part of it.
    """
    body = msgspec.json.encode(
        [policy_id, signals, weak_threshold, weak_verdict, answers], order="sorted"
    )
    return hashlib.sha256(body).hexdigest()[:12]


def default_policy() -> BotPolicy:
    """The built-in default policy.

    Returns
    -------
    BotPolicy
        Identical (version included) to policies/bots.yaml compiled through
        ``engine.spec.bots``; ``source`` is empty.
    """
    signals = default_signals()
    answers = dict(DEFAULT_ANSWERS)
    return BotPolicy(
        id="default",
        version=policy_version("default", signals, 2, "suspect", answers),
        signals=signals,
        weak_threshold=2,
        weak_verdict="suspect",
        answers=answers,
    )
