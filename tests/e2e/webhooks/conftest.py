"""Fixtures for the webhook e2e tests (helpers live in dispatch_helpers.py and webhook_receiver.py)."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from dispatch_helpers import Dispatcher
from webhook_receiver import Receiver


@pytest.fixture
def secret() -> str:
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    made: list[Receiver] = []

    def make(secret: str, behaviour: Callable[..., object] | None = None) -> Receiver:
        r = Receiver(secret, behaviour) if behaviour else Receiver(secret)  # type: ignore[arg-type]
        made.append(r.start())
        return r

    yield make
    for r in made:
        r.stop()


@pytest.fixture
def env_with(secret: str) -> Callable[..., dict[str, str]]:
    def make(**secrets: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SMSLINK_")}
        env.update(secrets)
        return env

    return make


@pytest.fixture
def dispatchers(tmp_path: Path) -> Iterator[Callable[..., Dispatcher]]:
    started: list[Dispatcher] = []

    def start(args: list[str], env: dict[str, str]) -> Dispatcher:
        d = Dispatcher(args, env, tmp_path / "dispatch.out")
        started.append(d)
        return d

    yield start
    for d in started:
        d.stop()
