"""Publish benchmark: how long `smslink publish` takes for a 2,000,000-recipient snapshot.

What it measures, on synthetic snapshots written with the real writer:

1. first publish of snapshot A (2,000,000 recipient tokens) into an empty folder:
   verify (format + full checksum), copy under its version name, swap `current`;
2. publish of snapshot B (A's tokens plus 1% new ones, a changed destination)
   over A: the same plus the invariant-2 check, a streamed merge of both token
   lists (every token A issued must keep its campaign and recipient);
3. the invariant-2 check alone, and a rollback (verify + check + swap).

Prints wall times, tokens checked per second, peak RSS, and the machine,
Python and library versions. Snapshots are cached under bench-out/publish/.
Never run under pytest: `make bench-publish` or `python benchmarks/bench_publish.py`.
"""

from __future__ import annotations

import os
import platform
import random
import resource
import shutil
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from _machine import current_snapshot

from engine.snapshot import (
    TOKEN_ALPHABET,
    Campaign,
    Template,
    TokenRecord,
    open_snapshot,
    write_snapshot,
)
from engine.snapshot._publish import check_continuity, publish, rollback

ROOT = Path(__file__).resolve().parent.parent
N = int(os.environ.get("BENCH_PUBLISH_N", "2000000"))
OUT = ROOT / "bench-out" / "publish"


def _tokens(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = TOKEN_ALPHABET
    seen: set[str] = set()
    while len(seen) < n:
        seen.add("".join(rng.choices(alphabet, k=8)))
    return sorted(seen)


def _campaign(url: str) -> Campaign:
    return Campaign(id="spring-sale", name="Spring sale", owner="growth@acme.example", brand="Acme",
                    domains=["go.acme.example"], routes=[], default=Template([url]), campaign_token="CAMPAIGN1")


def _build(path: Path, tokens: list[str], url: str, minute: int) -> Path:
    if current_snapshot(path):
        return path
    # Synthetic recipient ids (a real compile uses contact ids or keyed hashes).
    # Variants are a function of the token in a real compile too (assign_variant).
    records = ((t, TokenRecord(campaign=0, recipient=f"R{t}", variant=ord(t[-1]) % 2)) for t in tokens)
    write_snapshot(path, campaigns=[_campaign(url)], tokens=records,
                   built_at=datetime(2027, 3, 1, 9, minute, tzinfo=UTC))
    return path


def _timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    took = time.perf_counter() - start
    print(f"  {label:<52} {took:8.2f} s")
    return result, took


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    print(f"publish benchmark: {N:,} recipient tokens")
    print(f"  machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}")
    print(f"  python {platform.python_version()}, lmdb {version('lmdb')}, msgspec {version('msgspec')}")
    t0 = time.perf_counter()
    base = _tokens(N, 1)
    known = set(base)
    extra = [t for t in _tokens(N // 100 + 1000, 2) if t not in known][: N // 100]
    a = _build(OUT / f"a-{N}.lmdb", base, "https://www.acme.example/spring", 0)
    b = _build(OUT / f"b-{N}.lmdb", sorted(base + extra), "https://www.acme.example/spring-v2", 1)
    print(f"  (snapshots ready in {time.perf_counter() - t0:.1f} s; "
          f"{a.stat().st_size / 2**20:.0f} MiB and {b.stat().st_size / 2**20:.0f} MiB)")

    pub = OUT / "pub"
    shutil.rmtree(pub, ignore_errors=True)
    _timed("first publish (verify + copy + swap)", lambda: publish(a, pub))
    res, took = _timed("publish over it (verify + invariant 2 + copy + swap)", lambda: publish(b, pub))
    print(f"  {'':<52} {res.checked_tokens / took:,.0f} issued tokens checked/s, end to end")
    with open_snapshot(a) as old, open_snapshot(b) as new:
        report, took = _timed("invariant-2 check alone (streamed merge)", lambda: check_continuity(old, new))
    assert report.ok and report.checked == N
    print(f"  {'':<52} {report.checked / took:,.0f} tokens/s")
    _timed("rollback (verify + check + swap)", lambda: rollback(pub))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"  peak RSS {rss:,.0f} MiB (token generation included)")


if __name__ == "__main__":
    main()
