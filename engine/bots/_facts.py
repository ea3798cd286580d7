"""What the classifier looks at (``RequestFacts``) and what it says (``Verdict``).

The worker builds ``RequestFacts`` from the live request; ``facts_from_event``
rebuilds them from a logged click so a new policy can re-judge history. Both
carry only what a policy may look at: no phone number, no token, and the
client address as the worker logged it (truncated to /24 or /48 in logs).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from engine.clicklog import ClickEvent

#: The verdicts a policy can give, in the vocabulary of the click log.
VERDICT_NAMES: tuple[str, ...] = ("human", "preview", "scanner", "bot", "suspect")


@dataclass(slots=True)
class RequestFacts:
    """One request as the bot policy sees it.

    ``headers`` uses lower-case names. ``asn`` is filled by the worker when an
    ASN database is configured. ``seconds_since_send`` is the time between the
    campaign's send time and the click, when the campaign has one.
    """

    method: str
    user_agent: str
    headers: Mapping[str, str]  # lower-case names
    client_ip: str | None = None
    asn: int | None = None
    seconds_since_send: float | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """A judgement and the reason codes that produced it, in policy order."""

    verdict: str  # human | preview | scanner | bot | suspect
    reasons: tuple[str, ...]


def facts_from_event(event: ClickEvent) -> RequestFacts:
    """Rebuild the request facts of a logged click, for re-judging.

    Parameters
    ----------
    event:
        A click-log record. Its ``headers`` hold only ``LOGGED_HEADERS``, and
        its ``ip`` is truncated (``a.b.c.0/24``): the network address stands
        in for the client address, which is exact for CIDR lists of /24 or
        wider and for the ASN the worker logged.

    Returns
    -------
    RequestFacts
        The facts the policy saw, minus what was never logged.
    """
    ip = event.ip or None
    if ip is not None and "/" in ip:
        ip = ip.split("/", 1)[0]
    return RequestFacts(
        method=event.method or "GET",
        user_agent=event.ua,
        headers={k.lower(): v for k, v in event.headers.items()},
        client_ip=ip,
        asn=event.asn,
        seconds_since_send=event.since_send_s,
    )
