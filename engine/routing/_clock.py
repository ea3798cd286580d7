"""Local time of a click in an IANA zone, DST-correct, from the ``tzdata`` package.

Zones are read from the ``tzdata`` wheel first, never from the system's
``/usr/share/zoneinfo``: system zone files differ between images (slim images
have none, some lack names that geo databases still return), and a routing
decision must not depend on the machine that makes it. The system files are
used only for a name ``tzdata`` does not have.

Per click, the zone's UTC offset is cached per 15-minute slot; a slot that
contains a transition (its two ends disagree) is never cached, so the cache is
exact while the click pays a dictionary lookup.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from importlib import resources
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_ZONE_NAME = re.compile(r"^[A-Za-z0-9_+\-]+(?:/[A-Za-z0-9_+\-]+){0,3}$")
_SLOT = 900  # seconds; every modern zone changes offset on a quarter hour


@lru_cache(maxsize=1024)
def load_zone(name: str) -> tzinfo | None:
    """The zone called ``name`` from ``tzdata`` (system files as a fallback), or None.

    Parameters
    ----------
    name:
        An IANA zone name such as ``America/New_York`` (legacy links like
        ``US/Eastern`` work too).

    Returns
    -------
    tzinfo | None
        None for an empty, malformed or unknown name: the caller falls back to
        the next zone in its precedence.
    """
    if not name or ".." in name or not _ZONE_NAME.match(name):
        return None
    if name == "UTC":
        return UTC
    try:
        ref = resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
        if ref.is_file():
            with ref.open("rb") as fh:
                return ZoneInfo.from_file(fh, key=name)
    except (ModuleNotFoundError, OSError, ValueError):
        pass
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def utc_offset(zone: tzinfo, now: float) -> int:
    """The zone's UTC offset in seconds at epoch time ``now``."""
    off = datetime.fromtimestamp(now, zone).utcoffset()
    return int(off.total_seconds()) if off is not None else 0


class LocalClock:
    """Local (minute of day, ISO weekday, date) for a zone at an epoch time, cached per slot."""

    __slots__ = ("_cache", "zone")

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self._cache: dict[int, int] = {}

    def offset(self, now: float) -> int:
        slot = int(now // _SLOT)
        off = self._cache.get(slot)
        if off is None:
            start = slot * _SLOT
            off = utc_offset(self.zone, start)
            if utc_offset(self.zone, start + _SLOT - 1) != off:
                return utc_offset(self.zone, now)  # a transition inside this slot
            if len(self._cache) > 4096:
                self._cache.clear()
            self._cache[slot] = off
        return off

    def local(self, now: float) -> tuple[int, int]:
        """(minute of the local day 0..1439, ISO weekday 1=Monday..7=Sunday)."""
        off = self._cache.get(int(now // _SLOT))
        if off is None:
            off = self.offset(now)
        local = int(now // 1) + off
        days, secs = divmod(local, 86400)
        # 1970-01-01 was a Thursday (ISO weekday 4)
        return secs // 60, (days + 3) % 7 + 1


@lru_cache(maxsize=1024)
def clock_for(name: str) -> LocalClock | None:
    """A shared ``LocalClock`` for zone ``name``, or None when the zone is unknown."""
    zone = load_zone(name)
    return LocalClock(zone) if zone is not None else None


def in_window(minute: int, weekday: int, start: int, end: int, days: frozenset[int]) -> bool:
    """Whether local (``minute``, ``weekday``) is inside [start, end) on ``days``.

    ``days`` are ISO weekdays of the day the window *starts*: for 22:00-02:00 on
    Friday, Saturday 01:00 is inside and Friday 01:00 is not. ``start == end``
    is a whole day starting at ``start``.
    """
    if start < end:
        return start <= minute < end and weekday in days
    if minute >= start:
        return weekday in days
    if minute < end:
        return (weekday - 2) % 7 + 1 in days  # the window started yesterday
    return False


def open_at(hours: list[list[tuple[int, int]]], minute: int, weekday: int) -> bool:
    """Whether a store with weekly ``hours`` (index 0 = Monday) is open at local (minute, weekday).

    An interval's close may exceed 1440 (open past midnight into the next day).
    An empty ``hours`` list means no hours are known: always open.
    """
    if not hours:
        return True
    today = hours[(weekday - 1) % len(hours)] if len(hours) == 7 else []
    for opening, closing in today:
        if opening <= minute < closing:
            return True
    if len(hours) == 7:
        for opening, closing in hours[(weekday - 2) % 7]:
            if closing > 1440 and minute + 1440 < closing and minute + 1440 >= opening:
                return True
    return False
