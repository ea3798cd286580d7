"""Short human phrases for compiled records: destinations, conditions, times.

What a reviewer who does not read YAML sees: ``country in DE, AT and device is
ios``, ``local time 18:00-23:00 on Sat,Sun``, destinations with their click-time
parts written back as ``{{ store.slug }}``, times in the campaign's zone.
"""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.snapshot import (
    Attr,
    City,
    Condition,
    Country,
    Dates,
    Device,
    HasStore,
    Language,
    LocalTime,
    Region,
    Rule,
    StoreOpen,
    Template,
    Variant,
    Within,
)


def show_template(t: Template | None) -> str:
    """A destination as authors wrote it: click-time parts as ``{{ slot }}``."""
    if t is None:
        return "(none)"
    out = [t.literals[0]]
    for slot, lit in zip(t.slots, t.literals[1:], strict=False):
        out.append("{{ " + slot + " }}")
        out.append(lit)
    return "".join(out)


def template_host(t: Template) -> tuple[str, str]:
    """(scheme, host) of a destination; host is "" when a click-time slot is part of it."""
    first = t.literals[0]
    parts = urlsplit(first)
    if t.slots and "/" not in first.split("://", 1)[-1]:
        return parts.scheme, ""  # the slot is inside the host
    return parts.scheme, (parts.hostname or "").lower()


def matches_domain(host: str, domains: tuple[str, ...] | list[str]) -> bool:
    return any(host == d or host.endswith("." + d) for d in (d.lower().strip(".") for d in domains))


def when_phrase(conds: list[Condition]) -> str:
    return " and ".join(condition_phrase(c) for c in conds) if conds else "always"


_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def condition_phrase(c: Condition) -> str:
    def one_of(name: str, values: list[str]) -> str:
        return f"{name} is {values[0]}" if len(values) == 1 else f"{name} in {', '.join(values)}"

    def accuracy(c: Country | Region | City | Within) -> str:
        return f" (accuracy ≤ {c.max_accuracy_km:g} km)" if c.max_accuracy_km is not None else ""

    match c:
        case Country():
            return one_of("country", c.values) + accuracy(c)
        case Region():
            return one_of("region", c.values) + accuracy(c)
        case City():
            return one_of("city", c.values) + accuracy(c)
        case Within():
            return f"within {c.km:g} km of {c.lat:g},{c.lon:g}" + accuracy(c)
        case Device():
            return one_of("device", c.values)
        case Language():
            return one_of("language", c.values)
        case LocalTime():
            days = "" if sorted(c.days) == list(range(1, 8)) else " on " + ",".join(_DAYS[d - 1] for d in c.days)
            return f"local time {hhmm(c.start)}-{hhmm(c.end)}{days}"
        case Dates():
            bounds = []
            if c.after is not None:
                bounds.append(f"from {utc_phrase(c.after)}")
            if c.before is not None:
                bounds.append(f"before {utc_phrase(c.before)}")
            return "date " + " ".join(bounds)
        case Attr():
            neg = " not" if c.negate else ""
            if len(c.values) == 1:
                return f"attribute {c.name} is{neg} {c.values[0]}"
            return f"attribute {c.name}{neg} in {', '.join(c.values)}"
        case Variant():
            return one_of("variant", c.values)
        case StoreOpen():
            return "the store is open" if c.open else "the store is closed"
        case HasStore():
            return "a store was chosen" + (f" within {c.within_km:g} km" if c.within_km is not None else "")
    return type(c).__name__  # pragma: no cover - a new condition kind without a phrase


def utc_phrase(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def when_local(ts: int | None, zone: str) -> str:
    if ts is None:
        return "(none)"
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return utc_phrase(ts)
    return datetime.fromtimestamp(ts, tz).strftime("%Y-%m-%d %H:%M %Z")


def rule_phrase(r: Rule) -> str:
    to = show_template(r.to)
    if r.closed is not None:
        to = f"{to} (open) / {show_template(r.closed)} (closed)"
    return f"when {when_phrase(r.when)} → {to}"


def unreachable_rules(rules: list[Rule]) -> set[str]:
    """Ids of rules that can never match: an earlier rule's conditions are a subset of theirs.

    First match wins, so if every condition of rule i also appears in rule j
    (i before j), whenever j would match i has matched already. A rule with
    no conditions shadows everything after it.
    """
    dead = set()
    for j, rj in enumerate(rules):
        for ri in rules[:j]:
            if all(c in rj.when for c in ri.when):
                dead.add(rj.id)
                break
    return dead



def hours_phrase(hours: list[list[tuple[int, int]]]) -> str:
    """Opening hours per ISO weekday as ``Mon-Fri 09:00-21:00; Sat 10:00-20:00; Sun closed``."""
    if not hours:
        return "(not given)"
    days = [", ".join(f"{hhmm(a)}-{hhmm(b % 1440 if b > 1440 else b)}" for a, b in (hours[d] if d < len(hours) else []))
            or "closed" for d in range(7)]
    parts, start = [], 0
    for d in range(1, 8):
        if d == 7 or days[d] != days[start]:
            span = _DAYS[start] if d - 1 == start else f"{_DAYS[start]}-{_DAYS[d - 1]}"
            parts.append(f"{span} {days[start]}")
            start = d
    return "; ".join(parts)
