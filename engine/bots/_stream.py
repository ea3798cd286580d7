"""Re-judging one token's clicks with the whole stream in view (report time).

Some machines only show in sequence. The rules below never touch a click the
per-click policy already called preview, scanner or bot; they only move
``human`` or ``suspect`` clicks, and append a ``stream:*`` reason to the ones
they move. Each rule and its reason code is documented in docs/bots.md.

- ``stream:fetch-before-tap``: a click within ``fetch_before_tap_s`` seconds of
  the send, followed later by a human click from another network, is the
  carrier's or a gateway's on-delivery fetch -> ``scanner``.
- ``stream:burst``: ``burst_addresses`` or more distinct addresses within
  ``burst_window_s`` seconds on one token: a fan-out scanner -> ``bot``.
- ``stream:datacenter-then-phone``: a click from a datacenter network followed
  later by a human click from a phone -> the datacenter click is ``scanner``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from engine.clicklog import ClickEvent

from ._classify import Classifier
from ._facts import Verdict, facts_from_event

#: Verdicts a stream rule may move (machines are never promoted back).
MOVABLE_VERDICTS = frozenset({"human", "suspect"})
#: Device classes that count as "a phone" in the datacenter-then-phone rule.
PHONE_DEVICES = frozenset({"ios", "android", "mobile"})


@dataclass(frozen=True, slots=True)
class StreamRules:
    """Thresholds of the stream rules (defaults documented in docs/bots.md)."""

    fetch_before_tap_s: float = 20.0  # a click this soon after the send may be an on-delivery fetch
    burst_window_s: float = 1.0  # window of the burst rule
    burst_addresses: int = 3  # distinct addresses within the window that make a burst
    datacenter_reasons: frozenset[str] = frozenset({"datacenter"})  # reason codes of network signals


def _other_network(a: ClickEvent, b: ClickEvent) -> bool:
    if a.ip and b.ip:
        return a.ip != b.ip
    if a.asn is not None and b.asn is not None:
        return a.asn != b.asn
    return False


def _has_reason(v: Verdict, bases: frozenset[str]) -> bool:
    return any(r.split(":", 1)[0] in bases for r in v.reasons)


def rejudge_stream(
    events: Sequence[ClickEvent],
    classifier: Classifier | None = None,
    rules: StreamRules | None = None,
) -> list[Verdict]:
    """Final verdict of each click of one token, with the stream in view.

    Parameters
    ----------
    events:
        One token's clicks, in time order (they are ordered by ``ts`` again,
        stably, so ties keep their input order).
    classifier:
        When given, each click is judged again by this policy first (from
        ``facts_from_event``); otherwise the logged verdict and reasons are
        the starting point.
    rules:
        Stream thresholds; ``StreamRules()`` when omitted.

    Returns
    -------
    list[Verdict]
        One verdict per input event, aligned with ``events``. Pure: nothing
        is modified.
    """
    rules = rules or StreamRules()
    dc_reasons = rules.datacenter_reasons
    if classifier is not None:
        dc_reasons = dc_reasons | classifier.network_reasons()
    if classifier is not None:
        verdicts = [classifier.classify(facts_from_event(e)) for e in events]
    else:
        verdicts = [Verdict(e.verdict, tuple(e.reasons)) for e in events]
    order = sorted(range(len(events)), key=lambda i: events[i].ts)
    moved: dict[int, tuple[str, str]] = {}  # index -> (new verdict, stream reason)

    # Burst: distinct addresses within a sliding window.
    lo = 0
    for hi_pos, hi in enumerate(order):
        while events[hi].ts - events[order[lo]].ts > rules.burst_window_s * 1000:
            lo += 1
        window = order[lo : hi_pos + 1]
        addresses = {events[i].ip for i in window if events[i].ip}
        if len(addresses) >= rules.burst_addresses:
            for i in window:
                if verdicts[i].verdict in MOVABLE_VERDICTS and i not in moved:
                    moved[i] = ("bot", "stream:burst")

    def human_later(pos: int) -> list[int]:
        return [j for j in order[pos + 1 :] if j not in moved and verdicts[j].verdict == "human"]

    for pos, i in enumerate(order):
        if i in moved or verdicts[i].verdict not in MOVABLE_VERDICTS:
            continue
        e = events[i]
        later = human_later(pos)
        # An on-delivery fetch, then a person on another network.
        s = e.since_send_s
        if (s is not None and 0 <= s < rules.fetch_before_tap_s and any(
            _other_network(e, events[j]) and not _has_reason(verdicts[j], dc_reasons) for j in later
        )):
            moved[i] = ("scanner", "stream:fetch-before-tap")
            continue
        # A datacenter, then a phone.
        if _has_reason(verdicts[i], dc_reasons) and any(
            events[j].device in PHONE_DEVICES and not _has_reason(verdicts[j], dc_reasons)
            and _other_network(e, events[j])
            for j in later
        ):
            moved[i] = ("scanner", "stream:datacenter-then-phone")

    out = list(verdicts)
    for i, (verdict, reason) in moved.items():
        out[i] = Verdict(verdict, (*verdicts[i].reasons, reason))
    return out
