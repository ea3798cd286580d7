"""Compile benchmark: 2,000,000 recipients, one campaign, three routes, two variants.

Run with ``make bench-compile`` (never under pytest). It builds a throw-away
config repository (the repo's policies/ and stores/ plus one campaign), writes
a fictional audience with ``smslink audience generate`` (E.164 numbers, hashed
recipient ids: the slower and larger of the two id modes), then runs
``smslink compile`` in a child process and reports:

- wall time of the compile (process start to exit, imports included);
- peak RSS of the compile process (``resource.getrusage(RUSAGE_CHILDREN)``);
- snapshot bytes per recipient (file size / recipient tokens).

Goals (issue 2): <= 30 s, <= 1 GiB, <= 100 B/recipient on a 2-core machine.
``--count N`` changes the audience size; ``--keep`` leaves bench-out/compile/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

from _machine import cpu_model

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GOALS = {"wall_s": 30.0, "rss_mib": 1024.0, "bytes_per_recipient": 100.0}

CAMPAIGN = """\
id: bench
name: Benchmark campaign
owner: bench@acme.example
brand: Acme Outdoor
category: retail
link:
  domains: [go.acme.example]
schedule:
  timezone: America/New_York
  starts: 2027-03-01T09:00:00-05:00
  send-at: 2027-03-01T10:00:00-05:00
  ends: 2027-03-31T23:59:00-04:00
  retain: 90d
audience:
  name: bench
  region: US
  timezone: tz
  home-store: store_id
  attributes: [tier]
message: >-
  Acme Outdoor: Spring sale, 20% off all tents this week at your nearest store.
  {{ link }} Reply STOP to opt out.
stores:
  list: stores/acme-stores.csv
  order: [home, ip]
variants:
  experiment: bench-hero
  arms:
    - { name: hero-a, weight: 50 }
    - { name: hero-b, weight: 50 }
routes:
  - id: vip
    when: { attr: { tier: [gold, platinum] } }
    to: https://www.acme.example/vip?hero={{ variant }}
  - id: store-page
    when: { store: any }
    to: https://www.acme.example/stores/{{ store.slug }}?hero={{ variant }}
  - id: ios-app
    when: { device: ios }
    to: https://apps.apple.com/app/id0000000000
default: https://www.acme.example/spring?hero={{ variant }}
bots: default
"""


def machine() -> str:
    cpu = cpu_model()
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs ({cpu}){mem}"


def setup(work: Path) -> Path:
    repo = work / "repo"
    shutil.rmtree(repo, ignore_errors=True)
    (repo / "campaigns").mkdir(parents=True)
    shutil.copytree(ROOT / "policies", repo / "policies")
    shutil.copytree(ROOT / "stores", repo / "stores")
    (repo / "campaigns" / "bench.yaml").write_text(CAMPAIGN)
    return repo


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=2_000_000)
    ap.add_argument("--keep", action="store_true", help="keep bench-out/compile afterwards")
    args = ap.parse_args()

    work = ROOT / "bench-out" / "compile"
    work.mkdir(parents=True, exist_ok=True)
    repo = setup(work)
    audience = work / "audience.csv"
    out = work / "build"
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "SMSLINK_RECIPIENT_KEY": "bench-only-recipient-key"}
    smslink = str(BIN / "smslink")

    t0 = time.perf_counter()
    subprocess.run([smslink, "audience", "generate", "--count", str(args.count), "--seed", "1",
                    "--with-attributes", "--phone-format", "e164", "--out", str(audience),
                    "--stores", str(repo / "stores" / "acme-stores.csv")],
                   check=True, env=env, stdout=subprocess.DEVNULL)
    gen_s = time.perf_counter() - t0

    report = work / "compile.json"
    t0 = time.perf_counter()
    with report.open("w") as stdout:
        proc = subprocess.Popen([smslink, "compile", "--root", str(repo), "--audience",
                                 f"bench={audience}", "--out", str(out), "--format", "json"],
                                env=env, stdout=stdout)
        # wait4 gives this child's own rusage (peak RSS of the compile alone)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.exit(f"compile failed ({proc.returncode}):\n{report.read_text()}")
    summary = json.loads(report.read_text())
    snap_bytes = summary["snapshot"]["bytes"]
    recipients = summary["snapshot"]["counts"]["recipient_tokens"]
    rss_mib = usage.ru_maxrss / 1024
    per = snap_bytes / max(recipients, 1)
    figures = {"wall_s": wall, "rss_mib": rss_mib, "bytes_per_recipient": per}

    print("smslink compile benchmark")
    print(f"  machine:  {machine()}")
    print(f"  python:   {platform.python_implementation()} {platform.python_version()}")
    print("  libs:     " + ", ".join(f"{p} {version(p)}" for p in
                                     ("phonenumbers", "lmdb", "msgspec", "jinja2", "click")))
    print(f"  audience: {args.count:,} rows (generated in {gen_s:.1f} s), "
          f"{recipients:,} recipients, {summary['manifest']['rows']:,} manifest rows")
    print(f"  compile wall time:     {wall:8.1f} s      (goal <= {GOALS['wall_s']:.0f} s)")
    print(f"  compile peak RSS:      {rss_mib:8.0f} MiB    (goal <= {GOALS['rss_mib']:.0f} MiB)")
    print(f"  snapshot:              {snap_bytes / 1e6:8.1f} MB")
    print(f"  bytes per recipient:   {per:8.1f} B      (goal <= {GOALS['bytes_per_recipient']:.0f} B)")
    print(f"  cpu (user+sys):        {usage.ru_utime + usage.ru_stime:8.1f} s")
    t = summary.get("timings", {})
    if t:
        print(f"  per process (CPU s):   build loop {t['build_cpu_s']:.1f} (wall {t['build_wall_s']:.1f}), "
              f"audience reader {t['reader_cpu_s']:.1f}, sort+send {t['write_cpu_s']:.1f} "
              f"(wall {t['write_wall_s']:.1f}), snapshot writer {t['writer_cpu_s']:.1f}")
        other = usage.ru_utime + usage.ru_stime - t["build_cpu_s"] - t["reader_cpu_s"] - t["write_cpu_s"] - t["writer_cpu_s"]
        critical = max(t["build_cpu_s"], t["reader_cpu_s"]) + max(t["write_cpu_s"], t["writer_cpu_s"]) + other
        print(f"  critical path (CPU s): {critical:8.1f} s      (the wall time of an otherwise idle "
              "2-core machine, estimated from the CPU of the stages that run in parallel)")
        print(f"  load average now:      {os.getloadavg()[0]:8.1f}        (other jobs compete for the 2 cores)")
    missed = [k for k, v in figures.items() if v > GOALS[k]]
    print("  result: " + ("every goal met" if not missed else "MISSED " + ", ".join(missed)))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
