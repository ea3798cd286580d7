"""Compiled conditions: each snapshot condition becomes a small object with a
``test`` (the hot path) and a ``why`` (the facts it used, for the trace).

``why`` never decides anything: the trace reports ``test``'s answer next to
the facts, so explain cannot disagree with the worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
    StoreOpen,
    Variant,
    Within,
)

from ._clock import in_window
from ._facts import language_matches
from ._stores import haversine_km

if TYPE_CHECKING:
    from ._evaluate import Evaluation

_DAY = ("", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def hhmm(minute: int) -> str:
    return f"{minute // 60 % 24:02d}:{minute % 60:02d}"


def describe_geo(ev: Evaluation) -> str:
    g = ev.facts.geo
    if g is None:
        return "no geolocation for this IP"
    place = ", ".join(x for x in (g.city, g.region or g.country) if x) or "unknown place"
    acc = f"accuracy {g.accuracy_km} km" if g.accuracy_km is not None else "accuracy unknown"
    return f"geo {place} ({acc})"


def _precise(ev: Evaluation, max_accuracy_km: float | None) -> bool:
    if max_accuracy_km is None:
        return True
    g = ev.facts.geo
    return g is not None and g.accuracy_km is not None and g.accuracy_km <= max_accuracy_km


def _acc_note(max_accuracy_km: float | None) -> str:
    return f", needs accuracy <= {max_accuracy_km:g} km" if max_accuracy_km is not None else ""


class _Cond:
    __slots__ = ()

    def test(self, ev: Evaluation) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    def why(self, ev: Evaluation) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


class _GeoField(_Cond):
    __slots__ = ("field", "label", "max_acc", "values")

    def __init__(self, label: str, field: str, values: list[str], max_acc: float | None, fold: bool) -> None:
        self.label = label
        self.field = field
        self.values = frozenset(v.casefold() if fold else v.upper() for v in values)
        self.max_acc = max_acc

    def _value(self, ev: Evaluation) -> str | None:
        g = ev.facts.geo
        v = getattr(g, self.field) if g is not None else None
        if v is None:
            return None
        return v.casefold() if self.field == "city" else v.upper()

    def test(self, ev: Evaluation) -> bool:
        v = self._value(ev)
        return v is not None and v in self.values and _precise(ev, self.max_acc)

    def why(self, ev: Evaluation) -> str:
        return (
            f"{self.label} in {sorted(self.values)}{_acc_note(self.max_acc)}: {describe_geo(ev)}"
        )


class _Within(_Cond):
    __slots__ = ("km", "lat", "lon", "max_acc")

    def __init__(self, c: Within) -> None:
        self.lat, self.lon, self.km, self.max_acc = c.lat, c.lon, c.km, c.max_accuracy_km

    def _dist(self, ev: Evaluation) -> float | None:
        g = ev.facts.geo
        if g is None or g.lat is None or g.lon is None:
            return None
        return haversine_km(g.lat, g.lon, self.lat, self.lon)

    def test(self, ev: Evaluation) -> bool:
        d = self._dist(ev)
        return d is not None and d <= self.km and _precise(ev, self.max_acc)

    def why(self, ev: Evaluation) -> str:
        d = self._dist(ev)
        at = f"{d:.1f} km away" if d is not None else "no location"
        return f"within {self.km:g} km of ({self.lat:g}, {self.lon:g}){_acc_note(self.max_acc)}: {at}, {describe_geo(ev)}"


class _Device(_Cond):
    __slots__ = ("values", "written")

    def __init__(self, c: Device) -> None:
        self.written = sorted(c.values)
        vals = {v.lower() for v in c.values}
        if "mobile" in vals:  # "mobile" means any phone or tablet
            vals |= {"ios", "android"}
        self.values = frozenset(vals)

    def test(self, ev: Evaluation) -> bool:
        return ev.device in self.values

    def why(self, ev: Evaluation) -> str:
        return f"device in {self.written}: device is {ev.device}"


class _Language(_Cond):
    __slots__ = ("_seen", "values")

    def __init__(self, c: Language) -> None:
        self.values = tuple(c.values)
        self._seen: dict[str | None, bool] = {}  # preferred language -> result

    def test(self, ev: Evaluation) -> bool:
        lang = ev.lang
        hit = self._seen.get(lang)
        if hit is None:
            hit = any(language_matches(lang, v) for v in self.values)
            if len(self._seen) < 4096:
                self._seen[lang] = hit
        return hit

    def why(self, ev: Evaluation) -> str:
        return f"language in {list(self.values)}: preferred language is {ev.lang or 'none'}"


class _LocalTime(_Cond):
    __slots__ = ("days", "end", "start")

    def __init__(self, c: LocalTime) -> None:
        self.start, self.end, self.days = c.start, c.end, frozenset(c.days)

    def test(self, ev: Evaluation) -> bool:
        minute, weekday = ev.local()
        return in_window(minute, weekday, self.start, self.end, self.days)

    def why(self, ev: Evaluation) -> str:
        minute, weekday = ev.local()
        days = "every day" if len(self.days) == 7 else ",".join(_DAY[d] for d in sorted(self.days))
        return (
            f"local time {hhmm(self.start)}-{hhmm(self.end)} {days}: it is {_DAY[weekday]} {hhmm(minute)} "
            f"in {ev.zone_name} (zone from {ev.zone_source})"
        )


class _Dates(_Cond):
    __slots__ = ("after", "before")

    def __init__(self, c: Dates) -> None:
        self.after, self.before = c.after, c.before

    def test(self, ev: Evaluation) -> bool:
        now = ev.facts.now
        return (self.after is None or now >= self.after) and (self.before is None or now < self.before)

    def why(self, ev: Evaluation) -> str:
        from datetime import UTC, datetime

        def iso(t: float | None) -> str:
            return "open" if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        return f"dates [{iso(self.after)}, {iso(self.before)}): click at {iso(ev.facts.now)}"


class _Attr(_Cond):
    __slots__ = ("index", "name", "negate", "values")

    def __init__(self, c: Attr, attr_names: list[str]) -> None:
        self.name = c.name
        self.index = attr_names.index(c.name) if c.name in attr_names else -1
        self.values = frozenset(c.values)
        self.negate = c.negate

    def _value(self, ev: Evaluation) -> str | None:
        attrs = ev.record.attrs
        return attrs[self.index] if 0 <= self.index < len(attrs) else None

    def test(self, ev: Evaluation) -> bool:
        return (self._value(ev) in self.values) != self.negate

    def why(self, ev: Evaluation) -> str:
        # attribute values are non-PII by contract (the compiler refuses PII columns)
        v = self._value(ev)
        op = "not in" if self.negate else "in"
        return f"attr {self.name} {op} {sorted(self.values)}: recipient has {v!r}" if v is not None else (
            f"attr {self.name} {op} {sorted(self.values)}: recipient has no value"
        )


class _Variant(_Cond):
    __slots__ = ("values",)

    def __init__(self, c: Variant) -> None:
        self.values = frozenset(c.values)

    def test(self, ev: Evaluation) -> bool:
        return ev.variant in self.values

    def why(self, ev: Evaluation) -> str:
        return f"variant in {sorted(self.values)}: variant is {ev.variant or 'none'}"


class _HasStore(_Cond):
    __slots__ = ("within_km",)

    def __init__(self, c: HasStore) -> None:
        self.within_km = c.within_km

    def test(self, ev: Evaluation) -> bool:
        idx = ev._store
        if idx == -2:
            idx = ev.store()
        if idx < 0:
            return False
        if self.within_km is not None and ev.store_source == "ip":
            return ev.store_km is not None and ev.store_km <= self.within_km
        return True

    def why(self, ev: Evaluation) -> str:
        lim = f" within {self.within_km:g} km" if self.within_km is not None else ""
        return f"a store is chosen{lim}: {ev.describe_store()}"


class _StoreOpen(_Cond):
    __slots__ = ("open",)

    def __init__(self, c: StoreOpen) -> None:
        self.open = c.open

    def test(self, ev: Evaluation) -> bool:
        return ev.store() >= 0 and ev.store_is_open() == self.open

    def why(self, ev: Evaluation) -> str:
        want = "open" if self.open else "closed"
        if ev.store() < 0:
            return f"store {want}: {ev.describe_store()}"
        return f"store {want}: {ev.describe_store()}, {ev.describe_hours()}"


def compile_condition(cond: Condition, attr_names: list[str]) -> _Cond:
    """The compiled form of one snapshot condition."""
    if isinstance(cond, Country):
        return _GeoField("country", "country", cond.values, cond.max_accuracy_km, fold=False)
    if isinstance(cond, Region):
        return _GeoField("region", "region", cond.values, cond.max_accuracy_km, fold=False)
    if isinstance(cond, City):
        return _GeoField("city", "city", cond.values, cond.max_accuracy_km, fold=True)
    if isinstance(cond, Within):
        return _Within(cond)
    if isinstance(cond, Device):
        return _Device(cond)
    if isinstance(cond, Language):
        return _Language(cond)
    if isinstance(cond, LocalTime):
        return _LocalTime(cond)
    if isinstance(cond, Dates):
        return _Dates(cond)
    if isinstance(cond, Attr):
        return _Attr(cond, attr_names)
    if isinstance(cond, Variant):
        return _Variant(cond)
    if isinstance(cond, HasStore):
        return _HasStore(cond)
    if isinstance(cond, StoreOpen):
        return _StoreOpen(cond)
    raise TypeError(f"unknown condition {type(cond).__name__} (snapshot newer than this engine?)")

