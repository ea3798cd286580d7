"""Local time: tzdata zones, DST in both hemispheres, midnight-spanning windows, weekdays."""

from __future__ import annotations

import shutil
import zoneinfo
from datetime import UTC, datetime
from importlib import resources

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.routing import load_zone
from engine.routing._clock import LocalClock, clock_for, in_window, open_at

DAYS = ("", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _ts(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _local(zone: str, iso: str) -> str:
    clock = clock_for(zone)
    assert clock is not None
    minute, weekday = clock.local(_ts(iso))
    return f"{DAYS[weekday]} {minute // 60:02d}:{minute % 60:02d}"


@pytest.mark.parametrize(
    ("zone", "utc", "local"),
    [
        # America/New_York, 2026: EST->EDT on Sun 8 March 07:00Z, EDT->EST on Sun 1 November 06:00Z
        pytest.param("America/New_York", "2026-03-08T06:59:00Z", "Sun 01:59", id="New York just before spring forward"),
        pytest.param("America/New_York", "2026-03-08T07:00:00Z", "Sun 03:00", id="New York at spring forward"),
        pytest.param("America/New_York", "2026-11-01T05:59:00Z", "Sun 01:59", id="New York first 01:59 (EDT)"),
        pytest.param("America/New_York", "2026-11-01T06:59:00Z", "Sun 01:59", id="New York second 01:59 (EST)"),
        pytest.param("America/New_York", "2026-11-01T07:00:00Z", "Sun 02:00", id="New York after fall back"),
        # Australia/Sydney, 2026: AEDT->AEST on Sun 5 April (04-04 16:00Z), AEST->AEDT on Sun 4 October (10-03 16:00Z)
        pytest.param("Australia/Sydney", "2026-04-04T15:59:00Z", "Sun 02:59", id="Sydney last minute of summer time"),
        pytest.param("Australia/Sydney", "2026-04-04T16:00:00Z", "Sun 02:00", id="Sydney after fall back"),
        pytest.param("Australia/Sydney", "2026-10-03T15:59:00Z", "Sun 01:59", id="Sydney before spring forward"),
        pytest.param("Australia/Sydney", "2026-10-03T16:00:00Z", "Sun 03:00", id="Sydney at spring forward"),
        pytest.param("Asia/Kathmandu", "2026-06-01T00:00:00Z", "Mon 05:45", id="quarter-hour offset"),
        pytest.param("Pacific/Kiritimati", "2026-12-31T10:30:00Z", "Fri 00:30", id="UTC+14 is already tomorrow"),
        pytest.param("Pacific/Pago_Pago", "2027-01-01T10:30:00Z", "Thu 23:30", id="UTC-11 is still yesterday"),
        pytest.param("US/Eastern", "2026-07-04T16:00:00Z", "Sat 12:00", id="legacy link name"),
    ],
)
def test_local_time_across_dst(zone, utc, local):
    assert _local(zone, utc) == local


@pytest.mark.parametrize(
    ("zone", "utc", "window", "days", "inside"),
    [
        # 09:00-17:00 Mon-Fri in New York: the same UTC time is inside after DST starts, outside before
        pytest.param("America/New_York", "2026-03-06T13:30:00Z", (540, 1020), [1, 2, 3, 4, 5], False, id="NY Fri 08:30 EST outside"),
        pytest.param("America/New_York", "2026-03-09T13:30:00Z", (540, 1020), [1, 2, 3, 4, 5], True, id="NY Mon 09:30 EDT inside"),
        # Sydney: summer time ends in April, so the same UTC time moves an hour earlier locally
        pytest.param("Australia/Sydney", "2026-04-03T22:30:00Z", (540, 1020), [6], True, id="Sydney Sat 09:30 AEDT inside"),
        pytest.param("Australia/Sydney", "2026-04-05T22:30:00Z", (540, 1020), [1], False, id="Sydney Mon 08:30 AEST outside"),
    ],
)
def test_window_follows_dst(zone, utc, window, days, inside):
    clock = clock_for(zone)
    minute, weekday = clock.local(_ts(utc))
    assert in_window(minute, weekday, *window, frozenset(days)) is inside


@pytest.mark.parametrize(
    ("start", "end", "days", "weekday", "minute", "inside"),
    [
        pytest.param(1320, 120, [5], 5, 1380, True, id="Fri 22-02: Fri 23:00 inside"),
        pytest.param(1320, 120, [5], 6, 60, True, id="Fri 22-02: Sat 01:00 inside (window started Friday)"),
        pytest.param(1320, 120, [5], 5, 60, False, id="Fri 22-02: Fri 01:00 outside (that window started Thursday)"),
        pytest.param(1320, 120, [5], 6, 120, False, id="Fri 22-02: Sat 02:00 outside (end exclusive)"),
        pytest.param(1320, 120, [5], 6, 1380, False, id="Fri 22-02: Sat 23:00 outside"),
        pytest.param(1380, 60, [7], 1, 30, True, id="Sun 23-01: Mon 00:30 inside (week wraps)"),
        pytest.param(1380, 60, [7], 7, 30, False, id="Sun 23-01: Sun 00:30 outside (started Saturday)"),
        pytest.param(540, 1020, [1, 2, 3, 4, 5], 1, 540, True, id="weekday 9-17: Mon 09:00 inside (start inclusive)"),
        pytest.param(540, 1020, [1, 2, 3, 4, 5], 1, 1020, False, id="weekday 9-17: Mon 17:00 outside"),
        pytest.param(540, 1020, [1, 2, 3, 4, 5], 6, 600, False, id="weekday 9-17: Sat 10:00 outside"),
        pytest.param(540, 1020, [1, 2, 3, 4, 5], 5, 1019, True, id="weekday 9-17: Fri 16:59 inside"),
        pytest.param(0, 0, [6, 7], 7, 1439, True, id="whole weekend: Sun 23:59 inside"),
        pytest.param(0, 0, [6, 7], 1, 0, False, id="whole weekend: Mon 00:00 outside"),
    ],
)
def test_in_window(start, end, days, weekday, minute, inside):
    assert in_window(minute, weekday, start, end, frozenset(days)) is inside


WEEK = [[(540, 1260)]] * 5 + [[(600, 1200)], []]  # Mon-Fri 9-21, Sat 10-20, Sun closed
LATE_FRIDAY = [[(540, 1260)]] * 4 + [[(1200, 1560)], [], []]  # Fri 20:00 - Sat 02:00


@pytest.mark.parametrize(
    ("hours", "weekday", "minute", "is_open"),
    [
        pytest.param(WEEK, 1, 540, True, id="Mon opening minute"),
        pytest.param(WEEK, 1, 1260, False, id="Mon closing minute"),
        pytest.param(WEEK, 6, 599, False, id="Sat before opening"),
        pytest.param(WEEK, 7, 720, False, id="Sun closed all day"),
        pytest.param(LATE_FRIDAY, 5, 1300, True, id="Fri night open"),
        pytest.param(LATE_FRIDAY, 6, 90, True, id="Sat 01:30 still Friday's opening"),
        pytest.param(LATE_FRIDAY, 6, 120, False, id="Sat 02:00 closed"),
        pytest.param(LATE_FRIDAY, 5, 90, False, id="Fri 01:30 closed (Thursday closes at 21:00)"),
        pytest.param([], 3, 200, True, id="no hours known means open"),
    ],
)
def test_open_at(hours, weekday, minute, is_open):
    assert open_at(hours, minute, weekday) is is_open


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(["America/New_York", "Australia/Sydney", "Europe/London", "Australia/Lord_Howe", "America/St_Johns", "UTC"]),
    t=st.integers(min_value=1_700_000_000, max_value=1_900_000_000),
)
def test_cached_clock_equals_zoneinfo(zone, t):
    clock = LocalClock(load_zone(zone))
    for now in (t, t + 1, t + 899, t):  # second call of t hits the cache
        local = datetime.fromtimestamp(now, load_zone(zone))
        assert clock.local(now) == (local.hour * 60 + local.minute, local.isoweekday())


def test_zones_come_from_tzdata_not_the_system(tmp_path):
    """A system zone file that lies must not change the answer."""
    fake = tmp_path / "America"
    fake.mkdir()
    with resources.files("tzdata.zoneinfo").joinpath("UTC").open("rb") as src, open(fake / "New_York", "wb") as dst:
        shutil.copyfileobj(src, dst)
    zoneinfo.reset_tzpath(to=[str(tmp_path)])
    zoneinfo.ZoneInfo.clear_cache()
    load_zone.cache_clear()
    try:
        system = zoneinfo.ZoneInfo("America/New_York")
        assert datetime(2026, 1, 15, 12, tzinfo=system).utcoffset().total_seconds() == 0  # the lie
        ours = load_zone("America/New_York")
        assert datetime(2026, 1, 15, 12, tzinfo=ours).utcoffset().total_seconds() == -5 * 3600
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache()
        load_zone.cache_clear()


@pytest.mark.parametrize("name", ["", "Mars/Olympus_Mons", "../../etc/passwd", "America/New_York/..", "a b"],
                         ids=["empty", "unknown", "path traversal", "dot-dot", "space"])
def test_bad_zone_is_none(name):
    assert load_zone(name) is None


def test_utc_zone():
    assert load_zone("UTC") is UTC
