"""The retry schedule: exponential, jittered, about three days, honouring Retry-After."""

from __future__ import annotations

import random

import pytest

from engine.webhooks import DEFAULT_SCHEDULE, RetrySchedule, describe_delay, parse_retry_after


def test_default_schedule_is_the_documented_table():
    assert DEFAULT_SCHEDULE.delays == (5, 20, 80, 320, 1280, 5120, 20480, 43200, 43200, 43200, 43200, 43200)
    assert DEFAULT_SCHEDULE.attempts == 13
    total = sum(DEFAULT_SCHEDULE.delays)
    assert 2.5 * 86400 < total < 3.5 * 86400  # "about three days"
    assert [describe_delay(d) for d in DEFAULT_SCHEDULE.delays[:8]] == [
        "5s", "20s", "1m20s", "5m20s", "21m20s", "1h25m", "5h41m", "12h"]


def test_jitter_stays_within_twenty_percent_and_varies():
    rng = random.Random(7)
    waits = [DEFAULT_SCHEDULE.next_delay(3, rng) for _ in range(500)]
    assert all(w is not None and 64 <= w <= 96 for w in waits)
    assert len({round(w or 0, 3) for w in waits}) > 100


def test_exhausted_after_the_last_retry():
    s = RetrySchedule.parse("1,2")
    rng = random.Random(0)
    assert s.next_delay(1, rng) is not None
    assert s.next_delay(2, rng) is not None
    assert s.next_delay(3, rng) is None
    assert RetrySchedule.parse("").next_delay(1, rng) is None


@pytest.mark.parametrize(("retry_after", "low", "high"),
                         [(None, 0.8, 1.2), (30.0, 30.0, 30.0), (0.1, 0.8, 1.2), (10**7, 86400, 86400)],
                         ids=["absent", "longer wins", "shorter ignored", "capped at a day"])
def test_retry_after_is_honoured_when_longer(retry_after, low, high):
    wait = RetrySchedule.parse("1").next_delay(1, random.Random(1), retry_after)
    assert wait is not None and low <= wait <= high


@pytest.mark.parametrize(("header", "expected"),
                         [("120", 120.0), ("Fri, 27 Nov 2026 08:02:00 GMT", 120.0), ("soon", None), (None, None)],
                         ids=["seconds", "http-date", "garbage", "absent"])
def test_parse_retry_after(header, expected):
    assert parse_retry_after(header, now=1_795_766_400.0) == expected


def test_parse_rejects_bad_schedules():
    with pytest.raises(ValueError, match="comma-separated"):
        RetrySchedule.parse("1,two")
    with pytest.raises(ValueError, match="negative"):
        RetrySchedule.parse("1,-2")
