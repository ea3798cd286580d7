"""When to try a failed delivery again: exponential backoff with jitter, about three days.

The default schedule (docs/webhooks.md has the table) waits 5 s before the
first retry and four times longer before each next one, capped at 12 hours,
for 12 retries: 13 attempts over about 2 days 19 hours. Each wait is jittered
by +/-20 % so a receiver that comes back is not hit by every retry at once.
A ``Retry-After`` header (RFC 9110, section 10.2.3) that asks for longer than
the schedule wins, up to one day.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

#: Longest Retry-After we honour; a receiver asking for more gets this.
MAX_RETRY_AFTER_S = 86_400.0


@dataclass(frozen=True)
class RetrySchedule:
    """Waits before retry 1, 2, ... (seconds); after the last one an event is dead-lettered."""

    delays: tuple[float, ...]
    jitter: float = 0.2  # each wait is multiplied by a uniform factor in [1 - jitter, 1 + jitter]

    @classmethod
    def exponential(cls, *, first: float = 5.0, factor: float = 4.0, cap: float = 43_200.0,
                    retries: int = 12, jitter: float = 0.2) -> RetrySchedule:
        """``first * factor**n`` capped at ``cap``, ``retries`` times."""
        return cls(tuple(min(first * factor**n, cap) for n in range(retries)), jitter)

    @classmethod
    def parse(cls, text: str) -> RetrySchedule:
        """A comma-separated list of seconds, e.g. ``"0.05,0.1,0.2"`` (``""``: never retry)."""
        try:
            delays = tuple(float(x) for x in text.split(",") if x.strip())
        except ValueError:
            raise ValueError(f"retry schedule {text!r} is not a comma-separated list of seconds") from None
        if any(d < 0 for d in delays):
            raise ValueError("retry schedule: waits cannot be negative")
        return cls(delays)

    @property
    def attempts(self) -> int:
        """Attempts in all, the first one included."""
        return len(self.delays) + 1

    def next_delay(self, failed_attempts: int, rng: random.Random,
                   retry_after: float | None = None) -> float | None:
        """Seconds to wait after the ``failed_attempts``-th failure, or None when retries are exhausted."""
        if failed_attempts > len(self.delays):
            return None
        base = self.delays[failed_attempts - 1]
        wait = base * rng.uniform(1 - self.jitter, 1 + self.jitter) if base else 0.0
        if retry_after is not None:
            wait = max(wait, min(retry_after, MAX_RETRY_AFTER_S))
        return wait


DEFAULT_SCHEDULE = RetrySchedule.exponential()


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds asked for by a ``Retry-After`` header (delay-seconds or HTTP-date), or None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def describe_delay(seconds: float) -> str:
    """``5s``, ``5m20s``, ``5h41m``: for the docs table and the CLI."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s" if s % 60 else f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m" if s % 3600 else f"{s // 3600}h"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"


