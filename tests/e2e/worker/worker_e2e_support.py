"""Helpers of the worker's e2e tests: real snapshots, a real `smslink serve` on OS-picked ports.

The server runs in its own session (process group) so teardown can stop the
main process and, if it hangs, kill exactly the processes this fixture started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import msgspec
import pytest

from engine.clicklog import ClickEvent, list_log_files, read_lines
from engine.snapshot import (
    TOKEN_ALPHABET,
    Campaign,
    Preview,
    Template,
    TokenRecord,
    VariantArm,
    write_snapshot,
)

SMSLINK = str(Path(sys.executable).parent / "smslink")
HOST = "go.acme.example"
N_TOKENS = 6000
IPHONE_HEADERS = {
    "host": HOST,
    "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "accept-language": "en-US,en;q=0.9",
}


def token(i: int, prefix: str = "Sp") -> str:
    """A valid token: ``prefix`` + ``i`` in the token alphabet (6 digits)."""
    digits = []
    for _ in range(6):
        i, r = divmod(i, len(TOKEN_ALPHABET))
        digits.append(TOKEN_ALPHABET[r])
    return prefix + "".join(reversed(digits))


def campaigns(version: str = "v1") -> list[Campaign]:
    now = int(time.time())
    common = dict(owner="growth@acme.example", brand="Acme Outdoor", domains=[HOST], routes=[])
    return [
        Campaign(id="spring", name="Spring", campaign_token=token(0, "Cp"),
                 default=Template([f"https://www.acme.example/{version}/spring?hero=", ""], ["variant"]),
                 variants=[VariantArm("tents", 50), VariantArm("family", 50)],
                 preview=Preview("Acme Spring Sale", "20% off tents"),
                 starts_at=now - 86400, ends_at=now + 30 * 86400, **common),
        Campaign(id="ended", name="Ended", campaign_token=token(1, "Cp"),
                 default=Template(["https://www.acme.example/ended-default"]),
                 starts_at=now - 10 * 86400, ends_at=now - 86400, **common),
        Campaign(id="soon", name="Soon", campaign_token=token(2, "Cp"),
                 default=Template(["https://www.acme.example/soon-default"]),
                 not_yet_live=Template(["https://www.acme.example/coming-soon"]),
                 starts_at=now + 86400, **common),
        Campaign(id="over", name="Over", campaign_token=token(3, "Cp"),
                 default=Template(["https://www.acme.example/over-default"]),
                 expired=Template(["https://www.acme.example/sale-ended"]),
                 starts_at=now - 10 * 86400, ends_at=now - 86400, **common),
    ]


def build_snapshot(path: Path, version: str = "v1") -> Path:
    toks = [(token(i), TokenRecord(campaign=0, recipient=f"cust-{i:05d}", variant=i % 2)) for i in range(N_TOKENS)]
    toks += [(token(i, "En"), TokenRecord(campaign=1, recipient=f"e-{i}")) for i in range(3)]
    toks += [(token(i, "Sn"), TokenRecord(campaign=2, recipient=f"s-{i}")) for i in range(3)]
    toks += [(token(i, "Ex"), TokenRecord(campaign=3, recipient=f"o-{i}")) for i in range(3)]
    toks += [(token(i, "Cp"), TokenRecord(campaign=i, recipient="")) for i in range(4)]
    write_snapshot(path, campaigns=campaigns(version), tokens=sorted(toks, key=lambda t: t[0]),
                   config_commit=f"commit-{version}")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running `smslink serve`."""

    def __init__(self, tmp: Path, snapshot: Path, workers: int, extra: list[str]) -> None:
        self.logs = tmp / "clicks"
        self.port = free_port()
        self.admin_port = free_port()
        self.out_path = tmp / "serve.out"
        self._out = open(self.out_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [SMSLINK, "serve", "--snapshot", str(snapshot), "--logs", str(self.logs),
             "--port", str(self.port), "--admin-port", str(self.admin_port),
             "--workers", str(workers), *extra],
            stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        self.admin = f"http://127.0.0.1:{self.admin_port}"
        self._wait_ready(workers)

    def output(self) -> str:
        self._out.flush()
        return self.out_path.read_text(errors="replace")

    def _wait_ready(self, workers: int) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"smslink serve exited with {self.proc.returncode}:\n{self.output()}")
            try:
                r = httpx.get(self.admin + "/readyz", timeout=2)
                if r.status_code == 200 and r.json()["workers"] >= workers:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=2):
                        return
            except (httpx.HTTPError, OSError, ValueError):
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"smslink serve did not become ready:\n{self.output()}")

    def worker_pids(self) -> list[int]:
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in path.read_text().split()]

    def get(self, path: str, **kw) -> httpx.Response:
        headers = {**IPHONE_HEADERS, **kw.pop("headers", {})}
        return httpx.get(self.base + path, headers=headers, follow_redirects=False, timeout=10, **kw)

    def events(self) -> list[ClickEvent]:
        """Every complete line of every log file, decoded (fails on a line that does not parse)."""
        dec = msgspec.json.Decoder(ClickEvent)
        return [dec.decode(raw) for lf in list_log_files(self.logs) for raw, _ in read_lines(lf.path)]

    def wait_for_lines(self, n: int, timeout: float = 10) -> list[ClickEvent]:
        deadline = time.monotonic() + timeout
        while True:
            evs = self.events()
            if len(evs) >= n or time.monotonic() > deadline:
                return evs
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)  # our own session only
                self.proc.wait(timeout=10)
        self._out.close()


