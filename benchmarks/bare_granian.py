"""The baseline of bench_worker.py: a bare Granian RSGI app answering a fixed 302 and nothing else.

Run it as ``granian --interface rsgi benchmarks.bare_granian:app`` (bench_worker
does, with the same worker count and options as ``smslink serve``).
"""

from __future__ import annotations

from typing import Any

_HEADERS = [
    ("location", "https://www.example/spring?v=a"),
    ("cache-control", "private, no-store"),
    ("referrer-policy", "no-referrer"),
]


async def app(scope: Any, proto: Any) -> None:
    proto.response_empty(302, _HEADERS)
