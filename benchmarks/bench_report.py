"""Benchmark: `smslink report` over 10,000,000 click lines and a 2,000,000-token snapshot.

Run with `make bench-report` (never under pytest). The data is generated once
with DuckDB itself (vectorized, about a minute) and cached under
bench-out/report/; delete that folder to regenerate.

The mix (per line, seeded by the line number, so it is the same every run):
recipient-link clicks over 2,000,000 tokens with the recipients' own phones
(human taps with repeats, iMessage-style previews from the same address),
carrier and mail-gateway scanners from a few datacenter networks shortly after
the send, HTTP-library bots, suspects (some from datacenters), a campaign-level
link, and orphan enumeration. Lines are full click-log lines as the worker
writes them (user agent, logged headers, destination, ids), about 700 bytes.

Goal on a 2-core machine: at most 15 s wall and 2 GiB peak RSS for the full
report (JSON to a file plus the HTML report), timed from the JSON logs with
the compiled log reader; the same report with every file read by DuckDB's
read_json (``SMSLINK_REPORT_READER=duckdb``) runs alternately beside it as the
baseline (``BENCH_REPORT_ROUNDS`` rounds, default 3; medians). Then
`smslink logs compact` writes the Parquet copy of each finished file into an
empty cache folder (what a scheduled job does during the day, as files
finish), and the same report runs twice with `--cache` on that folder: the
first after compaction (it also counts the snapshot's tokens and keeps the
counts), the second fully warm. Last, the logs are dropped from the page
cache (``POSIX_FADV_DONTNEED``) before one report with each reader: a report
over files on the disk. Every JSON output must be identical.
"""

from __future__ import annotations

import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench-out" / "report"
TOKENS = 2_000_000
LINES = 10_000_000
ROUNDS = int(os.environ.get("BENCH_REPORT_ROUNDS", "3"))  # alternating runs of the reader and its baseline
FILES = 10
SEND_S = 1804000000 - 1804000000 % 3600 + 3600
STAMP = OUT / "ready-v1"


def build_snapshot(path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from engine.snapshot import Campaign, Template, TokenRecord, VariantArm, write_snapshot

    camp = Campaign(
        id="spring-sale", name="Spring sale 2027", owner="growth@acme.example", brand="Acme",
        domains=["go.acme.example"], routes=[], default=Template(["https://www.acme.example/spring"]),
        campaign_token="CAMPAIGN0", send_at=SEND_S, experiment="hero",
        variants=[VariantArm("hero-tents", 45), VariantArm("hero-family", 45), VariantArm("holdout", 10, holdout=True)],
    )

    def tokens():
        yield "CAMPAIGN0", TokenRecord(0, "")
        for i in range(TOKENS):
            arm = i % 20
            yield f"T{i:07d}", TokenRecord(0, f"cust-{i:07d}", variant=0 if arm < 9 else 1 if arm < 18 else 2)

    write_snapshot(path, campaigns=[camp], tokens=tokens())


# One SELECT per file; h1..h4 are independent hashes of the line number.
GEN = """
WITH base AS (
  SELECT i,
         hash(i) AS h1, hash(i * 7 + 3) AS h2, hash(i * 13 + 5) AS h3, hash(i * 31 + 11) AS h4
  FROM range({lo}, {hi}) t(i)
), typed AS (
  SELECT *,
    CASE WHEN h1 % 1000 < 30 THEN 'orphan'
         WHEN h1 % 1000 < 60 THEN 'campaign'
         ELSE 'recipient' END AS lk,
    CASE WHEN h2 % 100 < 28 THEN 'human'
         WHEN h2 % 100 < 58 THEN 'preview'
         WHEN h2 % 100 < 86 THEN 'scanner'
         WHEN h2 % 100 < 93 THEN 'bot'
         ELSE 'suspect' END AS vd,
    (h3 % {tokens})::BIGINT AS tok
  FROM base
), shaped AS (
  SELECT *,
    CASE vd WHEN 'human' THEN 60 + (h4 % 200000)::DOUBLE + (h4 % 1000) / 1000.0
            WHEN 'preview' THEN 2 + (h4 % 30)::DOUBLE
            WHEN 'scanner' THEN 1 + (h4 % 40)::DOUBLE + (h4 % 997) / 997.0
            WHEN 'bot' THEN (h4 % 86400)::DOUBLE
            ELSE 30 + (h4 % 50000)::DOUBLE END AS since,
    -- the recipient's phone network is a function of the token; machines use datacenters
    CASE WHEN vd IN ('human', 'preview') OR (vd = 'suspect' AND h4 % 3 > 0)
         THEN printf('%d.%d.%d.0/24', 24 + tok % 150, (tok // 150) % 256, (tok // 38400) % 256)
         ELSE printf('%d.%d.%d.0/24', 3 + h4 % 3, 80 + h4 % 5, h4 % 4) END AS ipv,
    CASE WHEN tok % 2 = 0 THEN 'ios' ELSE 'android' END AS dev
  FROM typed
)
SELECT
  printf('01J%023d', i) AS id,
  ({send}::BIGINT * 1000 + (since * 1000)::BIGINT) AS ts,
  CASE lk WHEN 'orphan' THEN 'click' ELSE 'click' END AS kind_placeholder,
  CASE WHEN lk = 'orphan' THEN 'orphan' ELSE 'click' END AS kind,
  CASE WHEN lk = 'orphan' THEN 404 WHEN vd = 'preview' THEN 200 ELSE 302 END AS status,
  CASE WHEN lk = 'orphan' THEN 'not-found' WHEN vd = 'preview' THEN 'preview-page' ELSE 'redirect' END AS answer,
  CASE WHEN lk = 'orphan' THEN 'bot' ELSE vd END AS verdict,
  CASE vd WHEN 'human' THEN []::VARCHAR[]
          WHEN 'preview' THEN ['ua:preview:imessage']
          WHEN 'scanner' THEN ['ua:scanner:proofpoint', 'timing']
          WHEN 'bot' THEN ['ua:http-library']
          ELSE CASE WHEN h4 % 3 = 0 THEN ['datacenter', 'header-shape'] ELSE ['header-shape', 'timing'] END END AS reasons,
  CASE WHEN i % 10 < 8 THEN 'default@3fa9c0d2e1b4' ELSE 'default@77aa01be9c2d' END AS policy,
  CASE WHEN lk = 'orphan' THEN printf('X%07d', h3 % 9999999)
       WHEN lk = 'campaign' THEN 'CAMPAIGN0'
       ELSE printf('T%07d', tok) END AS token,
  CASE WHEN lk = 'orphan' THEN NULL ELSE lk END AS link,
  CASE WHEN lk = 'orphan' THEN NULL ELSE 'spring-sale' END AS campaign,
  CASE WHEN lk = 'recipient' THEN printf('cust-%07d', tok) END AS recipient,
  CASE WHEN lk = 'recipient' THEN (CASE WHEN tok % 20 < 9 THEN 'hero-tents' WHEN tok % 20 < 18 THEN 'hero-family' ELSE 'holdout' END)
       WHEN lk = 'campaign' THEN (CASE WHEN h4 % 2 = 0 THEN 'hero-tents' ELSE 'hero-family' END) END AS variant,
  CASE WHEN lk = 'orphan' THEN NULL WHEN tok % 7 < 4 THEN 'store-page' WHEN tok % 7 < 5 THEN 'ios-app' ELSE 'default' END AS route,
  CASE WHEN lk <> 'orphan' AND tok % 7 < 4 THEN printf('s-%03d', tok % 240) END AS store,
  CASE WHEN lk <> 'orphan' AND tok % 7 < 4 THEN 'home' END AS store_source,
  CASE WHEN lk = 'orphan' THEN NULL ELSE printf('https://www.acme.example/stores/s-%03d?hero=hero-tents&utm_source=sms&utm_medium=text&utm_campaign=spring-sale-2027', tok % 240) END AS dest,
  'US' AS country,
  ['US-NY', 'US-NJ', 'US-CA', 'US-TX', 'US-FL', 'US-IL', 'US-WA', 'US-MA'][1 + tok % 8] AS region,
  ['New York', 'Newark', 'Los Angeles', 'Houston', 'Miami', 'Chicago', 'Seattle', 'Boston'][1 + tok % 8] AS city,
  20 AS accuracy_km,
  CASE WHEN vd IN ('human', 'preview') THEN 7922 ELSE 16509 END AS asn,
  CASE WHEN vd IN ('human', 'preview', 'suspect') THEN dev ELSE 'unknown' END AS device,
  'en-US' AS lang,
  since AS since_send_s,
  'GET' AS method,
  'go.acme.example' AS host,
  ipv AS ip,
  CASE WHEN vd = 'human' AND dev = 'ios' THEN 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1'
       WHEN vd = 'human' THEN 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36'
       WHEN vd = 'preview' THEN 'facebookexternalhit/1.1 Facebot Twitterbot/1.0'
       WHEN vd = 'scanner' THEN 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36'
       WHEN vd = 'bot' THEN 'python-requests/2.32.3'
       ELSE 'Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36' END AS ua,
  CASE WHEN vd = 'human' THEN MAP {{'accept': 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8', 'accept-language': 'en-US,en;q=0.9', 'accept-encoding': 'gzip, deflate, br', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document'}}
       WHEN vd = 'scanner' THEN MAP {{'accept': '*/*'}}
       ELSE MAP {{'accept': 'text/html'}} END AS headers,
  '20270301T140000Z-3fa9c0d2e1b4' AS snapshot,
  printf('web-%d:%d', i % 2, 4000 + i % 2) AS worker,
  1 AS v
FROM shaped
"""


def generate() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    logs = OUT / "clicks"
    logs.mkdir(exist_ok=True)
    t0 = time.perf_counter()
    snap = OUT / "snapshot.lmdb"
    if snap.exists():
        snap.unlink()
    build_snapshot(snap)
    print(f"snapshot: {TOKENS:,} tokens in {time.perf_counter() - t0:.1f} s", flush=True)
    con = duckdb.connect()
    per = LINES // FILES
    for n in range(FILES):
        t1 = time.perf_counter()
        name = logs / f"clicks-20270301T{14 + n:02d}0000Z-web{n % 2}-400{n % 2}-{n:06d}.jsonl"
        sql = GEN.format(lo=n * per, hi=(n + 1) * per, tokens=TOKENS, send=SEND_S)
        sql = sql.replace("  CASE lk WHEN 'orphan' THEN 'click' ELSE 'click' END AS kind_placeholder,\n", "")
        con.execute(f"COPY ({sql}) TO '{name}' (FORMAT json)")
        print(f"  {name.name}: {per:,} lines in {time.perf_counter() - t1:.1f} s", flush=True)
    STAMP.write_text("ok\n")


def _evict(logs: Path) -> None:
    """Drop the log files' pages from the page cache (``POSIX_FADV_DONTNEED``; they are clean, so it is allowed)."""
    for f in sorted(logs.iterdir()):
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)


def _load_average() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return float("nan")


def timed(cmd: list[str], out: Path, env: dict[str, str] | None = None) -> tuple[float, resource.struct_rusage, list[str], float]:
    """Run ``cmd`` with stdout to ``out``: wall seconds, its own rusage, its ``[report]`` timing lines, the load average before it."""
    load = _load_average()
    t0 = time.perf_counter()
    with open(out, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.PIPE,
                                env={**os.environ, "SMSLINK_REPORT_TIMINGS": "1", **(env or {})})
        assert proc.stderr is not None
        err = proc.stderr.read()
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        sys.exit(f"smslink report failed ({proc.returncode}):\n{err.decode()}")
    return wall, usage, [ln for ln in err.decode().splitlines() if ln.startswith("[report]")], load


def _median_run(rs: list[tuple[float, resource.struct_rusage, list[str], float]]) -> tuple[float, resource.struct_rusage, list[str], float]:
    """The run with the median wall time (the lower middle one of an even count)."""
    return sorted(rs, key=lambda r: r[0])[(len(rs) - 1) // 2]


def figures(label: str, wall: float, usage: resource.struct_rusage, stages: list[str], load_before: float,
            goal: bool = True) -> None:
    load = _load_average()
    print(f"  {label}")
    for ln in stages:
        print(f"    {ln}")
    print(f"    wall time: {wall:.1f} s{' (goal <= 15 s)' if goal else ''}; CPU {usage.ru_utime + usage.ru_stime:.1f} s "
          f"(user {usage.ru_utime:.1f} + sys {usage.ru_stime:.1f}); load average {load_before:.1f} before, {load:.1f} at the end")
    print(f"    peak RSS: {usage.ru_maxrss / 1024 / 1024:.2f} GiB (goal <= 2 GiB)")


def _snapshot_is_current(path: Path) -> bool:
    """Whether the cached snapshot was written by an engine that keeps the recipients per arm in its meta."""
    from engine.snapshot import open_snapshot

    with open_snapshot(path) as s:
        return s.meta.recipients_by_arm.get("v") == 1


def main() -> None:
    if not STAMP.exists():
        print(f"generating {LINES:,} click lines over {TOKENS:,} tokens into {OUT} (cached) ...", flush=True)
        generate()
    elif not _snapshot_is_current(OUT / "snapshot.lmdb"):
        print("rewriting the cached snapshot (written by an older engine) ...", flush=True)
        (OUT / "snapshot.lmdb").unlink()
        build_snapshot(OUT / "snapshot.lmdb")
    logs = OUT / "clicks"
    size = sum(f.stat().st_size for f in logs.iterdir())
    smslink = Path(sys.executable).with_name("smslink")
    cmd = [str(smslink), "report", "--logs", str(logs), "--snapshot", str(OUT / "snapshot.lmdb"),
           "--format", "json", "--html", str(OUT / "report.html")]
    # The goal's figure: the full report from the JSON logs, no cache, with the
    # compiled log reader; side by side, alternating, the same report with every
    # file read by DuckDB's read_json (the reader's baseline).
    # Every timed run starts with the logs in the page cache: read them once
    # first (otherwise the first run pays the disk for whatever other work
    # evicted; 9.2 GB fit in this machine's memory).
    t0 = time.perf_counter()
    for f in sorted(logs.iterdir()):
        with open(f, "rb") as fh:
            while fh.read(1 << 24):
                pass
    print(f"logs read once into the page cache: {time.perf_counter() - t0:.1f} s", flush=True)
    runs: dict[str, list[tuple[float, resource.struct_rusage, list[str], float]]] = {"reader": [], "duckdb": []}
    for rnd in range(ROUNDS):
        runs["reader"].append(timed(cmd, OUT / "report.json"))
        runs["duckdb"].append(timed(cmd, OUT / f"report-duckdb-{rnd}.json", {"SMSLINK_REPORT_READER": "duckdb"}))
    full = _median_run(runs["reader"])
    # A scheduled `logs compact` writes the copies; reports with --cache then read no JSON.
    cache = OUT / "cache"
    shutil.rmtree(cache, ignore_errors=True)
    for stale in ("report-cache-cold.json", "report-cache-warm.json"):
        (OUT / stale).unlink(missing_ok=True)
    compact = timed([str(smslink), "logs", "compact", "--logs", str(logs), "--cache", str(cache)],
                    OUT / "compact.txt")
    first = timed([*cmd, "--cache", str(cache)], OUT / "report-cache-first.json")
    warm = timed([*cmd, "--cache", str(cache)], OUT / "report-cache-warm.json")
    # Logs on the disk, not in the page cache (a report over yesterday's
    # files): each reader once, the logs dropped from the cache before it.
    _evict(logs)
    cold = timed(cmd, OUT / "report-cold.json")
    _evict(logs)
    cold_base = timed(cmd, OUT / "report-cold-duckdb.json", {"SMSLINK_REPORT_READER": "duckdb"})
    import json

    import matplotlib

    data = json.loads((OUT / "report.json").read_text())
    same = all(json.loads((OUT / n).read_text()) == data for n in ("report-cache-first.json", "report-cache-warm.json"))
    same_duckdb = all(json.loads((OUT / f"report-duckdb-{r}.json").read_text()) == data for r in range(ROUNDS))
    same_cold = all(json.loads((OUT / n).read_text()) == data for n in ("report-cold.json", "report-cold-duckdb.json"))
    c = data["campaigns"][0]
    print()
    print("smslink report benchmark")
    print(f"  machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"  python {platform.python_version()}, duckdb {duckdb.__version__}, matplotlib {matplotlib.__version__}")
    print(f"  input: {data['logs']['lines']:,} lines in {data['logs']['files']} files ({size / 1e9:.2f} GB), "
          f"{TOKENS:,}-token snapshot")
    print(f"  result: sent {c['sent']:,}, human clicks {c['human_clicks']:,}, unique human clickers "
          f"{c['unique_human_clickers']:,}, stream tokens checked {data['rejudging']['stream_tokens_checked']:,}, "
          f"clicks moved {data['rejudging']['clicks_moved']:,}")
    figures(f"full report from the JSON logs, compiled reader (the goal's figure; median wall of {ROUNDS} runs)", *full)
    base = _median_run(runs["duckdb"])
    figures(f"baseline: the same with every file read by DuckDB's read_json (median wall of {ROUNDS} runs)", *base)
    print("  every run, alternating (wall s / CPU s / peak RSS GiB):")
    for kind, rs in runs.items():
        print(f"    {kind:6s}: " + ", ".join(
            f"{r[0]:.1f} / {r[1].ru_utime + r[1].ru_stime:.1f} / {r[1].ru_maxrss / 2**20:.2f}" for r in rs))
    print(f"  reader vs read_json: wall {full[0] / base[0]:.2f}x, CPU "
          f"{(full[1].ru_utime + full[1].ru_stime) / (base[1].ru_utime + base[1].ru_stime):.2f}x; "
          f"outputs identical: {'yes' if same_duckdb else 'NO'}")
    cached = sum(f.stat().st_size for f in cache.glob("*.parquet"))
    figures(f"smslink logs compact into an empty cache ({cached / 1e6:.0f} MB of Parquet copies; "
            f"a scheduled job's work, not a report's)", *compact, goal=False)
    figures("report --cache after compaction, first run (counts the snapshot's tokens and keeps the counts)", *first)
    figures("report --cache, warm (reads the copies and the kept counts; no JSON)", *warm)
    print(f"  outputs with --cache identical to the full report's: {'yes' if same else 'NO'}")
    figures("cold: the full report with the logs dropped from the page cache first (one run)", *cold, goal=False)
    figures("cold baseline: the same with DuckDB's read_json (one run)", *cold_base, goal=False)
    print(f"  cold reader vs cold read_json: wall {cold[0] / cold_base[0]:.2f}x; "
          f"outputs identical: {'yes' if same_cold else 'NO'}")


if __name__ == "__main__":
    main()
