"""Benchmark: deliver 100,000 signed click events to a local receiver on loopback (issue 7).

Method: write 100,000 click events into two click-log files (one finished, one
active), start a receiver in its own process (a minimal asyncio HTTP/1.1
server with keep-alive that answers 204 and verifies one signature in 500 with
the official ``standardwebhooks`` package), then run the dispatcher in this
process with ``once`` and a fresh state folder, and time it from start to the
last acknowledged event and the final cursor write. Prints events/s (goal:
>= 2,000/s on a 2-core machine), the dispatcher's CPU time, and the machine,
Python and library versions. Run with ``make bench-webhooks``; never under pytest.

    python benchmarks/bench_webhooks.py [--events N] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing as mp
import os
import platform
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

import msgspec

from engine.clicklog import ClickEvent
from engine.snapshot import Endpoint
from engine.webhooks import (
    DispatchOptions,
    PoolSender,
    SigningKeys,
    StateDir,
    Target,
    run_dispatcher,
)

TS0 = 1_795_766_400_000


def _event(i: int) -> ClickEvent:
    return ClickEvent(
        id=f"01KB{i:022d}", ts=TS0 + i, kind="click", status=302, answer="redirect", verdict="human",
        reasons=["ua-browser"], policy="default@0123456789ab", token=f"Tok{i:07d}", link="recipient",
        campaign="spring-sale", recipient=f"r-{i:07d}", variant="a", route="near-store", store="s-12",
        store_source="ip", country="DE", region="DE-BE", city="Berlin", device="ios", lang="de",
        ip="203.0.113.0/24", ua="Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
        headers={"accept-language": "de-DE,de;q=0.9"}, snapshot="20261127T080000Z-0123456789ab",
        worker="web1:4242", dest="https://acme.example/stores/s-12?utm_source=sms",
    )


def _write_logs(folder: Path, n: int) -> None:
    folder.mkdir(parents=True)
    enc = msgspec.json.Encoder()
    half = n // 2
    for name, chunk in (("clicks-20261127T080000Z-web1-1-1.jsonl", range(half)),
                        ("clicks-20261127T090000Z-web1-1-2.jsonl.active", range(half, n))):
        with (folder / name).open("wb") as fh:
            fh.write(b"".join(enc.encode(_event(i)) + b"\n" for i in chunk))


def _receiver(secret: str, port_q: mp.Queue, done_q: mp.Queue, expected: int) -> None:
    from standardwebhooks.webhooks import Webhook

    wh = Webhook(secret)
    stats = {"requests": 0, "verified": 0, "ids": set()}
    finished: asyncio.Event | None = None  # created inside the receiver's loop

    class Proto(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.t = transport
            self.buf = b""

        def data_received(self, data: bytes) -> None:
            self.buf += data
            while True:
                head_end = self.buf.find(b"\r\n\r\n")
                if head_end < 0:
                    return
                head = self.buf[:head_end].decode("latin-1")
                headers = {}
                for line in head.split("\r\n")[1:]:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
                length = int(headers.get("content-length", "0"))
                if len(self.buf) < head_end + 4 + length:
                    return
                body = self.buf[head_end + 4: head_end + 4 + length]
                self.buf = self.buf[head_end + 4 + length:]
                stats["requests"] += 1
                stats["ids"].add(headers["webhook-id"])
                if stats["requests"] % 500 == 1:
                    wh.verify(body, headers)
                    stats["verified"] += 1
                self.t.write(b"HTTP/1.1 204 No Content\r\n\r\n")  # type: ignore[attr-defined]
                if len(stats["ids"]) >= expected and finished is not None:
                    finished.set()

    async def main() -> None:
        nonlocal finished
        finished = asyncio.Event()
        server = await asyncio.get_running_loop().create_server(Proto, "127.0.0.1", 0, backlog=512)
        port_q.put(server.sockets[0].getsockname()[1])
        await finished.wait()
        server.close()

    asyncio.run(main())
    done_q.put((stats["requests"], len(stats["ids"]), stats["verified"]))


async def _dispatch(n: int, url: str, secret: str, logs: Path, state: Path, concurrency: int) -> tuple[float, float]:
    endpoint = Endpoint(name="bench", url=url, secret_env="SMSLINK_BENCH_SECRET", allow_private=True)
    target = Target(endpoint, SigningKeys.from_env_value(secret, variable="SMSLINK_BENCH_SECRET"),
                    PoolSender(max_connections=concurrency, allow_private=True))
    opts = DispatchOptions(concurrency=concurrency, window=4096, once=True)
    wall, cpu = time.perf_counter(), time.process_time()
    metrics = await run_dispatcher([target], logs, StateDir(state), opts)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert metrics["bench"].delivered == n, metrics
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    n = args.events
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp:
        logs, state = Path(tmp) / "clicks", Path(tmp) / "state"
        _write_logs(logs, n)
        ctx = mp.get_context("spawn")
        port_q, done_q = ctx.Queue(), ctx.Queue()
        proc = ctx.Process(target=_receiver, args=(secret, port_q, done_q, n), daemon=True)
        proc.start()
        port = port_q.get(timeout=30)
        wall, cpu = asyncio.run(_dispatch(n, f"http://127.0.0.1:{port}/hooks", secret, logs, state,
                                          args.concurrency))
        requests, unique, verified = done_q.get(timeout=60)
        proc.join(10)
    print("smslink webhooks benchmark: deliver signed click events to a loopback receiver")
    print(f"  events            {n:,} (one endpoint, concurrency {args.concurrency}, keep-alive)")
    print(f"  wall time         {wall:.2f} s")
    print(f"  throughput        {n / wall:,.0f} events/s   (goal >= 2,000/s)")
    print(f"  dispatcher CPU    {cpu:.2f} s  ({cpu / n * 1e6:.0f} us/event)")
    print(f"  receiver saw      {requests:,} requests, {unique:,} distinct webhook-ids, "
          f"{verified} signatures verified with standardwebhooks")
    print(f"  machine           {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"  python            {sys.version.split()[0]} ({platform.python_implementation()})")
    libs = ", ".join(f"{m} {version(m)}" for m in ("msgspec", "cryptography", "standardwebhooks"))
    print(f"  libraries         {libs}; HTTP client: engine.webhooks' asyncio HTTP/1.1 pool")
    print(f"  load average      {', '.join(f'{x:.2f}' for x in os.getloadavg())} (other work on the machine skews wall time)")


if __name__ == "__main__":
    main()
