"""Helpers for the webhook unit tests: click events, log files, a fake clock, mock receivers."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from pathlib import Path

import httpx
import msgspec

from engine.clicklog import ClickEvent
from engine.snapshot import Endpoint
from engine.webhooks import Clock, HttpxSender, SigningKeys, Target

SECRET = "whsec_" + base64.b64encode(b"unit-test-secret-0123456789abcdef").decode()
TS0 = 1_795_766_400_000  # 2026-11-27T08:00:00Z


def make_event(i: int, **changes: object) -> ClickEvent:
    """A logged click with every private field filled in."""
    fields: dict[str, object] = dict(
        id=f"01KB{i:022d}", ts=TS0 + i * 1000, kind="click", status=302, answer="redirect",
        verdict="human", reasons=["ua-browser"], policy="default@0123456789ab", token=f"Tok{i:07d}",
        link="recipient", campaign="spring-sale", recipient=f"r-{i:06d}", variant="a", route="default",
        country="DE", region="DE-BE", city="Berlin", device="ios", lang="de", ip="203.0.113.0/24",
        ua="Mozilla/5.0 (iPhone)", headers={"accept-language": "de", "referer": "https://ref.example"},
        snapshot="20261127T080000Z-0123456789ab", worker="web1:4242", dest="https://acme.example/p?x=1",
    )
    fields.update(changes)
    return ClickEvent(**fields)  # type: ignore[arg-type]


def write_log(folder: Path, events: list[ClickEvent], *, seq: int = 1, active: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    suffix = ".jsonl.active" if active else ".jsonl"
    path = folder / f"clicks-20261127T0{seq}0000Z-web1-42-{seq}{suffix}"
    with path.open("ab") as fh:
        for e in events:
            fh.write(msgspec.json.encode(e) + b"\n")
    return path


class FakeClock:
    """Time that moves only when the code under test sleeps."""

    def __init__(self, start: float = 1_795_766_400.0) -> None:
        self.now = start

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.001)
        await asyncio.sleep(0)

    @property
    def clock(self) -> Clock:
        return Clock(time=self.time, sleep=self.sleep)


def mock_target(handler: Callable[[httpx.Request], httpx.Response], *, name: str = "crm",
                url: str = "https://hooks.example/in", **endpoint: object) -> Target:
    ep = Endpoint(name=name, url=url, secret_env="SMSLINK_T_SECRET", **endpoint)  # type: ignore[arg-type]
    client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return Target(ep, SigningKeys.from_env_value(SECRET, variable="SMSLINK_T_SECRET"), HttpxSender(client))
