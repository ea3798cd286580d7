"""Instructions per click of the worker's Python path, counted by callgrind (``make bench-click``).

Why: this machine is shared and its timings drift 20% and more from one run to
the next, which hides a change worth 5%. valgrind's callgrind counts the
instructions the process executes, which for the same code and input is the
same whatever else runs, so two versions can be compared run after run.

What it runs: the worker's real RSGI app (``engine.worker._app.RedirectApp``)
over the bench-worker snapshot (``bench-out/worker``, built by ``make
bench-worker``), called directly with a stand-in scope and protocol (no
sockets, no Granian): the Python side of a click only. The same requests as
bench-worker's wrk script: an iPhone Safari header set, random tokens of the
default-only campaign ("plain") or the full-routing one ("full", with the City
database and X-Forwarded-For). It counts the instructions of 5,000 clicks after
20,000 warm-up clicks; the counting starts and stops at two marker calls
(``os.getppid`` and ``os.getpgrp``), so start-up is not counted. A bare app
answering a fixed 302 is counted too, as the baseline of the stand-in itself.

Caveats: instructions are not time (cache misses, the system call of the
write and Granian's own work are not in it), and under valgrind the clock runs
about fifty times slower, so what is cached per millisecond (the event id's
time part) is rebuilt more often than in a real worker. Routing's decisions
are remembered per UTC minute, so the counted clicks are placed inside one
minute, after a warm-up in that minute (a turning minute would add the cost
of re-deciding every place and variant). Compare versions with
it; quote bench-worker for throughput.

    python benchmarks/bench_click_instructions.py            # both campaigns and the baseline
    python benchmarks/bench_click_instructions.py --child plain   # one run, inside valgrind
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _machine import current_snapshot

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = ROOT / "bench-out" / "worker"
WARM, COUNTED = 20_000, 5_000
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
HEADERS = {
    "host": "go.acme.example", "user-agent": IPHONE,
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "accept-language": "en-US,en;q=0.9", "accept-encoding": "gzip, deflate, br",
    "sec-fetch-site": "none", "sec-fetch-mode": "navigate", "sec-fetch-dest": "document",
}


class _Scope:
    __slots__ = ("authority", "client", "headers", "method", "path", "proto")


class _Proto:
    def response_empty(self, status: int, headers: list[tuple[str, str]]) -> None:
        pass

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        pass


def _token(i: int) -> str:
    from engine.snapshot import TOKEN_ALPHABET

    digits = []
    for _ in range(7):
        i, r = divmod(i, len(TOKEN_ALPHABET))
        digits.append(TOKEN_ALPHABET[r])
    return "T" + "".join(reversed(digits))  # benchmarks/bench_worker.py's tokens


def child(kind: str) -> None:
    """Inside valgrind: build the app, warm it up, then run the counted clicks between the markers."""
    from engine.worker._app import RedirectApp, WorkerConfig

    work = Path(tempfile.mkdtemp(prefix="bench-click-"))
    try:
        state = work / "state.json"
        state.write_text(json.dumps({"path": str(OUT / "bench.lmdb"), "version": "bench"}))
        full = kind == "full"
        cfg = WorkerConfig(state_file=str(state), logs=str(work / "logs"), metrics_dir=str(work),
                           geoip=str(OUT / "City.mmdb") if full else None,
                           client_ip_header="x-forwarded-for" if full else None)
        app = RedirectApp(cfg)
        app.__rsgi_init__(asyncio.new_event_loop())
        rng = random.Random(20270301)
        nets = [f"{23 + i // 250}.{(i * 7) % 250}.{i % 250}" for i in range(2000)]  # bench-worker's networks
        scopes = []
        for _ in range(20_000):
            s = _Scope()
            s.proto, s.method, s.authority, s.client = "http", "GET", None, "127.0.0.1:50000"
            s.path = "/" + _token(rng.randrange(1_000_000) * 2 + (1 if full else 0))
            s.headers = {**HEADERS, "x-forwarded-for": f"{rng.choice(nets)}.{rng.randrange(1, 255)}"}
            scopes.append(s)
        proto = _Proto()
        handler = app.__rsgi__
        if kind == "bare":
            fixed = [("location", "https://www.example/spring?v=a"), ("cache-control", "private, no-store")]

            async def handler(scope: object, p: _Proto) -> None:  # type: ignore[misc]
                p.response_empty(302, fixed)

        def run(n: int) -> None:
            for i in range(n):
                coro = handler(scopes[i % len(scopes)], proto)
                try:  # noqa: SIM105 - contextlib.suppress would add its own instructions to every click
                    coro.send(None)
                except StopIteration:
                    pass

        # Routing remembers decisions per UTC minute: a minute that turns during the
        # counted clicks would empty the memo and count thousands of first decisions.
        # Count inside one minute, right after a warm-up in that same minute.
        import time

        t0 = time.time()
        run(WARM)
        warm_s = time.time() - t0
        while 60 - time.time() % 60 < warm_s / 2 + 2:  # the count takes about a quarter of the warm-up
            time.sleep(60 - time.time() % 60 + 0.2)
            t0 = time.time()
            run(WARM)
            warm_s = time.time() - t0
        os.getppid()  # callgrind --zero-before=os_getppid
        run(COUNTED)
        os.getpgrp()  # callgrind --dump-before=os_getpgrp
        app.__rsgi_del__(None)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def count(kind: str) -> float:
    """Instructions per click of one kind, from a callgrind run of this script's child mode."""
    with tempfile.TemporaryDirectory(prefix="bench-click-cg-") as tmp:
        out = Path(tmp) / "cg.out"
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", "--vgdb=no", f"--callgrind-out-file={out}",
             "--zero-before=os_getppid", "--dump-before=os_getpgrp",
             sys.executable, __file__, "--child", kind],
            capture_output=True, text=True, cwd=ROOT,
        )
        parts = sorted(Path(tmp).glob("cg.out.*"))
        if proc.returncode != 0 or not parts:
            raise SystemExit(f"callgrind run of {kind!r} failed:\n{proc.stderr[-2000:]}")
        m = re.search(r"^summary:\s+(\d+)", parts[0].read_text(errors="replace"), re.M)
        if m is None:
            raise SystemExit(f"no instruction count in {parts[0]}")
        return int(m.group(1)) / COUNTED


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--child", choices=["bare", "plain", "full"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child)
        return
    if not shutil.which("valgrind"):
        raise SystemExit("bench-click needs valgrind: apt-get install valgrind")
    if not current_snapshot(OUT / "bench.lmdb") or not (OUT / "City.mmdb").exists():
        raise SystemExit(f"no bench snapshot of this format in {OUT}: run `make bench-worker` once first (it builds it)")
    print(f"instructions per click (callgrind; {COUNTED:,} clicks after {WARM:,} warm-up; python "
          f"{sys.version.split()[0]})")
    base = count("bare")
    print(f"  stand-in baseline (bare app, fixed 302)          {base:10,.0f}")
    for kind, what in (("plain", "(2) default-only campaign"), ("full", "(3) geo + 10k stores + time + variants")):
        n = count(kind)
        print(f"  {what:48s} {n:10,.0f}   ({n - base:,.0f} above the baseline)")


if __name__ == "__main__":
    main()
