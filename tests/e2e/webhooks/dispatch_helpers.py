"""Helpers for the webhook e2e tests: click logs on disk, config, the dispatcher as a process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import msgspec
import yaml

from engine.clicklog import ClickEvent

SMSLINK = str(Path(sys.executable).parent / "smslink")
TS0 = 1_795_766_400_000  # 2026-11-27T08:00:00Z in ms


def make_event(i: int, *, verdict: str = "human", campaign: str = "spring-sale") -> ClickEvent:
    """A click as the worker logs it, with every private field filled in (token, IP, UA, headers)."""
    return ClickEvent(
        id=f"01KB{i:022d}", ts=TS0 + i * 1000, kind="click", status=302, answer="redirect",
        verdict=verdict, reasons=["ua-browser"], policy="default@0123456789ab", token=f"Tok{i:07d}",
        link="recipient", campaign=campaign, recipient=f"r-{i:06d}", variant="a", route="default",
        country="DE", region="DE-BE", city="Berlin", device="ios", lang="de", ip="203.0.113.0/24",
        ua="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)", headers={"accept-language": "de"},
        snapshot="20261127T080000Z-0123456789ab", worker="web1:4242", dest="https://acme.example/p",
    )


class LogWriter:
    """Writes click logs the way the worker does: an active file that grows, then is renamed."""

    def __init__(self, folder: Path, host: str = "web1", pid: int = 4242) -> None:
        self.folder, self.host, self.pid, self.seq = folder, host, pid, 0
        self.active: Path | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def open(self) -> Path:
        self.seq += 1
        stem = f"clicks-20261127T{8 + self.seq // 60:02d}{self.seq % 60:02d}00Z-{self.host}-{self.pid}-{self.seq}"
        self.active = self.folder / f"{stem}.jsonl.active"
        self.active.touch()
        return self.active

    def write(self, events: list[ClickEvent]) -> None:
        if self.active is None:
            self.open()
        assert self.active is not None
        fd = os.open(self.active, os.O_WRONLY | os.O_APPEND)
        try:
            for e in events:
                os.write(fd, msgspec.json.encode(e) + b"\n")  # one write(2) per line, as the worker does
        finally:
            os.close(fd)

    def rotate(self) -> None:
        assert self.active is not None
        self.active.rename(self.active.with_name(self.active.name.removesuffix(".active")))
        self.active = None


def write_config(root: Path, endpoints: list[dict[str, object]]) -> Path:
    """A config folder with policies/webhooks.yaml holding ``endpoints``."""
    folder = root / "config" / "policies"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "webhooks.yaml").write_text(yaml.safe_dump({"kind": "webhooks", "endpoints": endpoints}))
    return root / "config"


class Dispatcher:
    """`smslink dispatch` as a real process (stderr to a file, so a full pipe never blocks it)."""

    def __init__(self, args: list[str], env: dict[str, str], out: Path) -> None:
        self.out = out
        self._fh = out.open("ab")
        self.proc = subprocess.Popen([SMSLINK, "dispatch", *args], env=env, stdout=self._fh,
                                     stderr=subprocess.STDOUT)

    def poll(self) -> int | None:
        return self.proc.poll()

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    @property
    def stdout(self) -> object:
        return self

    def read(self) -> str:
        return self.out.read_text(errors="replace")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._fh.close()
        return self.proc.returncode


def run_cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SMSLINK, "dispatch", *args], env=env, capture_output=True, text=True, timeout=60)
