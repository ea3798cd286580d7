"""Bare Granian vs ``smslink serve`` under wrk on loopback (``make bench-worker``). Never run by pytest.

Method
------
- Builds a 2,000,000-token snapshot (1M tokens of a default-only campaign, 1M
  of a campaign with geo + nearest store over 10,000 stores + a local-time
  window + weighted variants) and a City .mmdb of 2,000 US /24 networks
  (tests/fixtures/geo.py), under ``bench-out/worker/``.
- Three servers, each with the same worker count (``--workers``, default 1),
  pinned to CPU 0 with ``taskset``; wrk pinned to CPU 1:
  (1) bare Granian RSGI answering a fixed 302 (benchmarks/bare_granian.py),
  (2) ``smslink serve`` on random valid tokens of the default-only campaign:
      lookup, bot verdict, routing, the click line written, the 302,
  (3) the same on tokens of the full-routing campaign, with ``--geoip`` and the
      client address taken from X-Forwarded-For (random US addresses),
  (2b) the default-only campaign's tokens on a server started like (3)
      (``--geoip``, X-Forwarded-For): the same worker, only the campaign
      differs, so (3)/(2b) is what the campaign's routing costs. (2) reads the
      socket peer (one address), which keeps every per-address cache hot;
      (3)/(2) also counts the cost of 2,000 networks' worth of addresses.
- Every server gets the same wrk Lua script (pre-built requests: a real
  iPhone Safari header set, a random token, a random address); the bare app
  ignores them. Rounds alternate (1), (2), (3) so drift on a noisy machine
  hits all three alike; the figures are medians over rounds.
- p99 at 80% of saturation: wrk2 (fixed-rate) is not available, so each
  connection pauses between requests (wrk's ``delay()``) for an exponentially
  distributed time of mean 10 ms: each connection is then a Poisson source and
  together they approximate open-loop arrivals (a fixed pause makes hundreds of
  connections march in step, and every burst queues behind itself). The number
  of connections is calibrated (up to four runs) until the served rate is
  within 5% of 80% of that server's measured saturation rate. Latency is
  measured per request from send to answer and is *not* corrected for
  coordinated omission, unlike wrk2's.
- The p99 at 80% is measured for bare Granian too, at 80% of *its own*
  saturation rate: the baseline side by side, so a tail that belongs to
  Granian, wrk and this machine is not read as smslink's. The three servers
  alternate over ``--at80-rounds`` rounds (default 3); each round calibrates
  its connection count afresh (from the last round's), so a host that was
  slow while one round calibrated skews that round only. The figures are
  medians over the runs on target, and every p99 is printed.
- Each measured run waits (up to 20 s) for a second in which nothing but
  the server used CPU, then counts what other work used during the run (all
  CPUs' busy time from /proc/stat less the server's and wrk's); a run where
  that was above 0.15 cores is measured once more, and every round prints it.
  A virtual machine's host is invisible to this: server CPU per request is
  the figure to compare between runs.
- ``--curve 0.5,0.6,0.7,0.8,0.9`` (``make bench-worker-curve``) also measures
  p99 against load for (1) and (2), each at those shares of its own
  saturation rate, alternating over ``--curve-rounds`` rounds, with the share
  of its core each server used. Granian's CPU per request rises as load falls
  (fewer requests share each wake-up of its threads), so "80% of the
  saturation rate" is a busier core than 80%; the curve shows where each
  server's tail turns up.
- wrk's own CPU (user + system, a share of its core) is printed for the runs
  at 80%: its exponential pauses run through Lua and its timer list, and a
  client near a full core adds its own queueing to the latency it reports.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

from _machine import cpu_model, current_snapshot

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.routing import build_store_index  # noqa: E402
from engine.snapshot import (  # noqa: E402
    TOKEN_ALPHABET,
    Campaign,
    HasStore,
    LocalTime,
    Preview,
    Rule,
    Store,
    StorePolicy,
    StoreSet,
    Template,
    TokenRecord,
    VariantArm,
    Within,
    write_snapshot,
)

OUT = ROOT / "bench-out" / "worker"
TASK_IMPL = os.environ.get("BENCH_TASK_IMPL", "asyncio")  # both servers; "rust" to compare
BIN = Path(sys.executable).parent
HOST = "go.acme.example"
N_TOKENS = 2_000_000
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1")
HEADERS = {
    "Host": HOST, "User-Agent": IPHONE,
    "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "Accept-Language": "en-US,en;q=0.9", "Accept-Encoding": "gzip, deflate, br",
    "Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document",
}


def token(i: int) -> str:
    digits = []
    for _ in range(7):
        i, r = divmod(i, len(TOKEN_ALPHABET))
        digits.append(TOKEN_ALPHABET[r])
    return "T" + "".join(reversed(digits))


# ------------------------------------------------------------------ fixtures
def build(rng: random.Random) -> tuple[Path, Path, list[str]]:
    OUT.mkdir(parents=True, exist_ok=True)
    snap, mmdb = OUT / "bench.lmdb", OUT / "City.mmdb"
    networks: list[str] = []
    cities = {}
    zones = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]
    for i in range(2000):
        net = f"{23 + i // 250}.{(i * 7) % 250}.{i % 250}.0/24"
        lat, lon = rng.uniform(26, 48), rng.uniform(-123, -71)
        cities[net] = {"country": "US", "region": "US-NY", "city": f"City{i}", "lat": lat, "lon": lon,
                       "accuracy_km": rng.choice([5, 20, 50]), "timezone": zones[int((lon + 123) / 13) % 4]}
        networks.append(net)
    if not current_snapshot(snap) or not mmdb.exists():
        from tests.fixtures.geo import build_city_mmdb

        t0 = time.perf_counter()
        build_city_mmdb(mmdb, cities)
        stores = [
            Store(id=f"s{i:05d}", name=f"Store {i}", lat=rng.uniform(26, 48), lon=rng.uniform(-123, -71),
                  timezone=zones[i % 4], hours=[[(540, 1260)]] * 6 + [[(600, 1080)]],
                  fields={"slug": f"store-{i}"})
            for i in range(10_000)
        ]
        storeset = StoreSet(id="bench", source="bench", stores=stores, index=build_store_index(stores))
        common = dict(owner="bench@acme.example", brand="Acme", domains=[HOST],
                      preview=Preview("Acme", "Bench"), experiment="bench")
        plain = Campaign(id="plain", name="Plain", routes=[], campaign_token=token(N_TOKENS + 1),
                         default=Template(["https://www.acme.example/spring?hero=", ""], ["variant"]),
                         variants=[VariantArm("a", 50), VariantArm("b", 50)], **common)
        full = Campaign(
            id="full", name="Full", campaign_token=token(N_TOKENS + 2),
            routes=[
                Rule(id="evening-ios", when=[LocalTime(start=1080, end=1380), Within(lat=40.7, lon=-74.0, km=80)],
                     to=Template(["https://apps.apple.com/app/id0000000000"])),
                Rule(id="store-page", when=[HasStore(within_km=40)],
                     to=Template(["https://www.acme.example/stores/", "?hero=", ""], ["store.slug", "variant"]),
                     closed=Template(["https://www.acme.example/shop?store=", ""], ["store.id"])),
            ],
            default=Template(["https://www.acme.example/spring?hero=", ""], ["variant"]),
            variants=[VariantArm("a", 45), VariantArm("b", 45), VariantArm("holdout", 10, holdout=True)],
            stores=StorePolicy(storeset="bench", order=["home", "ip"], max_km=40, max_accuracy_km=100),
            **common,
        )
        tokens = (
            (token(i), TokenRecord(campaign=i % 2, recipient=f"cust-{i:07d}", variant=i % 2))
            for i in range(N_TOKENS)
        )
        write_snapshot(snap, campaigns=[plain, full], tokens=tokens, storesets=[storeset])
        print(f"built snapshot ({N_TOKENS:,} tokens) and City.mmdb in {time.perf_counter() - t0:.1f}s")
    return snap, mmdb, networks


def lua_script(path: Path, campaign: int, networks: list[str], rng: random.Random, n: int = 20_000) -> None:
    """A wrk script cycling through ``n`` pre-built requests (so Lua costs the client almost nothing)."""
    lines = ["local reqs = {}"]
    for k in range(n):
        i = rng.randrange(N_TOKENS // 2) * 2 + campaign
        a, b, c, _ = networks[rng.randrange(len(networks))].split(".")
        hdrs = ", ".join(f'["{k2}"]="{v}"' for k2, v in HEADERS.items())
        ip = f"{a}.{b}.{c}.{rng.randrange(1, 255)}"
        lines.append(f'reqs[{k + 1}] = wrk.format("GET", "/{token(i)}", {{{hdrs}, ["X-Forwarded-For"]="{ip}"}})')
    lines += [
        "local i = 0",
        "local wait = tonumber(os.getenv('BENCH_DELAY_MS') or '0')",
        "function request() i = i % #reqs + 1; return reqs[i] end",
        # Exponential pauses: each connection sends as a Poisson process, so many
        # connections together approximate open-loop (Poisson) arrivals instead of
        # marching in step, which a fixed pause makes them do.
        "math.randomseed(tonumber(os.getenv('BENCH_SEED') or '1'))",
        "if wait > 0 then function delay() return -math.log(1 - math.random()) * wait end end",
    ]
    path.write_text("\n".join(lines) + "\n")


# ------------------------------------------------------------------- servers
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(kind: str, snap: Path, mmdb: Path, workers: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    if kind == "bare":
        # the same Granian options `smslink serve` uses (engine/worker/_supervisor.py)
        cmd = [str(BIN / "granian"), "--interface", "rsgi", "--workers", str(workers), "--no-ws",
               "--task-impl", TASK_IMPL, "--log-level", "warning", "--port", str(port),
               "benchmarks.bare_granian:app"]
    else:
        logs = OUT / f"clicks-{kind}"
        shutil.rmtree(logs, ignore_errors=True)
        cmd = [str(BIN / "smslink"), "serve", "--snapshot", str(snap), "--logs", str(logs),
               "--workers", str(workers), "--port", str(port), "--admin-port", "0", "--task-impl", TASK_IMPL]
        if kind in ("full", "plainx"):
            cmd += ["--geoip", str(mmdb), "--client-ip-header", "X-Forwarded-For"]
    proc = subprocess.Popen(["taskset", "-c", "0", *cmd], cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{kind} server died: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.1)
    time.sleep(1.0)  # let every worker finish its start-up
    return proc, port


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # our own session only
        proc.wait()


_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1e3}
_TICK = os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its descendants (the server's processes)."""
    total = 0.0
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / _TICK
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


def _children_cpu() -> float:
    """User + system CPU seconds of this process's finished children (each wrk run)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _busy_seconds() -> float:
    """CPU time all CPUs spent busy (not idle, not waiting on I/O) since boot, from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v) - v[3] - v[4]) / _TICK


OTHER_MAX = 0.15  # cores used by anything but the server and wrk during a measured run
QUIET_WAIT_S = 20.0


def wait_quiet(server_pid: int, limit_s: float = QUIET_WAIT_S) -> float:
    """Wait (at most ``limit_s``) for a second in which nothing but the server used CPU; seconds waited."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit_s:
        b0, c0 = _busy_seconds(), tree_cpu_seconds(server_pid)
        time.sleep(1.0)
        if _busy_seconds() - b0 - (tree_cpu_seconds(server_pid) - c0) < OTHER_MAX / 2:
            break
    return time.monotonic() - t0


def wrk(port: int, script: Path, seconds: int, connections: int, delay_ms: int = 0,
        server_pid: int | None = None) -> dict[str, float]:
    """One wrk run. With ``server_pid`` (a measured run) it first waits for a quiet machine, measures
    what other work used meanwhile (``other``, in cores) and runs once more when that was more
    than OTHER_MAX."""
    if server_pid is None:
        return _wrk_once(port, script, seconds, connections, delay_ms, None)
    for _ in range(2):
        wait_quiet(server_pid)
        r = _wrk_once(port, script, seconds, connections, delay_ms, server_pid)
        if r["other"] <= OTHER_MAX:
            break
        print(f"  (other work used {r['other']:.2f} cores during that run: measuring again)", flush=True)
    return r


def _wrk_once(port: int, script: Path, seconds: int, connections: int, delay_ms: int,
              server_pid: int | None) -> dict[str, float]:
    env = {**os.environ, "BENCH_DELAY_MS": str(delay_ms)}
    cpu0 = tree_cpu_seconds(server_pid) if server_pid else 0.0
    kids0, t0, busy0 = _children_cpu(), time.monotonic(), _busy_seconds()
    out = subprocess.run(
        ["taskset", "-c", "1", "wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency",
         "-s", str(script), f"http://127.0.0.1:{port}/"],
        capture_output=True, text=True, env=env, check=True,
    ).stdout
    cpu = tree_cpu_seconds(server_pid) - cpu0 if server_pid else 0.0
    elapsed = time.monotonic() - t0
    wrk_cpu = _children_cpu() - kids0
    client = wrk_cpu / elapsed  # wrk's share of its core
    other = max(0.0, (_busy_seconds() - busy0 - cpu - wrk_cpu) / elapsed) if server_pid else 0.0
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    n = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    lat = {}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        lat[pct] = float(m.group(1)) * _UNIT[m.group(2)] if m else float("nan")  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sock_err = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": lat["50"], "p99": lat["99"], "cpu_us": cpu / max(n, 1) * 1e6, "client": client,
            "other": other,
            "non3xx": float(errors.group(1)) if errors else 0.0,
            "sockerr": 1.0 if sock_err else 0.0}


def at_rate(kind: str, script: Path, snap: Path, mmdb: Path, args: argparse.Namespace, target: float,
            conns: int, delay_ms: int) -> dict[str, float]:
    """One server measured at an offered rate: connections x exponential pauses of ``delay_ms`` (mean).

    A connection sends its next request a pause after the last answer, so it offers
    1 / (pause + response time): the connection count is calibrated (from ``conns``, up to
    four runs) until the served rate is within 5% of ``target``. The last run is returned,
    marked ``on_target`` or not, with ``busy``: the share of its core the server used.
    """
    proc, port = start(kind, snap, mmdb, args.workers)
    try:
        wrk(port, script, 2, conns, delay_ms)
        for _ in range(4):
            r = wrk(port, script, args.seconds, conns, delay_ms, server_pid=proc.pid)
            r = {**r, "target": target, "conns": conns, "busy": r["cpu_us"] * r["rps"] / 1e6,
                 "on_target": float(abs(r["rps"] - target) <= 0.05 * target)}
            if r["on_target"]:
                break
            conns = max(1, round(conns * target / max(r["rps"], 1.0)))
    finally:
        stop(proc)
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--at80-rounds", type=int, default=3, help="alternating rounds at 80%% of saturation")
    ap.add_argument("--curve", default="", metavar="SHARES",
                    help="also p99 against load for (1) and (2), e.g. 0.5,0.6,0.7,0.8,0.9 of each one's saturation")
    ap.add_argument("--curve-rounds", type=int, default=3, help="alternating rounds of the --curve points")
    args = ap.parse_args()
    if not shutil.which("wrk") or not shutil.which("taskset"):
        raise SystemExit("bench-worker needs wrk and taskset: run `make tools` (apt-get install wrk util-linux)")
    rng = random.Random(20270301)
    snap, mmdb, networks = build(rng)
    scripts = {"bare": OUT / "plain.lua", "plain": OUT / "plain.lua", "plainx": OUT / "plain.lua",
               "full": OUT / "full.lua"}
    lua_script(scripts["plain"], 0, networks, rng)
    lua_script(scripts["full"], 1, networks, rng)

    results: dict[str, list[dict[str, float]]] = {"bare": [], "plain": [], "plainx": [], "full": []}
    for rnd in range(args.rounds):
        for kind in ("bare", "plain", "plainx", "full"):
            proc, port = start(kind, snap, mmdb, args.workers)
            try:
                wrk(port, scripts[kind], 2, args.connections)  # warm-up: caches, page faults
                r = wrk(port, scripts[kind], args.seconds, args.connections, server_pid=proc.pid)
            finally:
                stop(proc)
            results[kind].append(r)
            print(f"round {rnd + 1} {kind:6s}: {r['rps']:9.0f} req/s  p50 {r['p50']:.2f} ms  "
                  f"p99 {r['p99']:.2f} ms  server CPU {r['cpu_us']:.1f} us/req  other work {r['other']:.2f} cores"
                  + ("  (errors!)" if r["non3xx"] or r["sockerr"] else ""))

    med = {k: {m: statistics.median(r[m] for r in v) for m in ("rps", "p50", "p99", "cpu_us")}
           for k, v in results.items()}

    # p99 at 80% of each server's saturation rate, offered with random per-connection
    # pauses (mean delay_ms). A connection sends its next request a pause after the last
    # answer, so it offers 1 / (pause + response time): the connection count is calibrated
    # until the served rate is within 5% of the target (at most four runs).
    # Every round calibrates: from the last round's connection count (the first
    # round from an estimate), up to four runs until the served rate is within 5%
    # of the target. A host that was slow during one round's calibration then
    # skews only that round. The medians are over the runs on target (all runs
    # if none was); every run is printed, an off-target one marked.
    delay_ms = 10
    at80_kinds = ("bare", "plain", "full")
    at80_runs: dict[str, list[dict[str, float]]] = {k: [] for k in at80_kinds}
    conns_for: dict[str, int] = {}
    for rnd in range(max(1, args.at80_rounds)):
        for kind in at80_kinds:
            target = 0.8 * med[kind]["rps"]
            conns = conns_for.get(kind) or max(1, round(target * (delay_ms + med["bare"]["p50"]) / 1000))
            r = at_rate(kind, scripts[kind], snap, mmdb, args, target, conns, delay_ms)
            conns_for[kind] = int(r["conns"])
            at80_runs[kind].append(r)
            print(f"at 80% round {rnd + 1} {kind:6s}: {r['rps']:9.0f} req/s ({target:.0f} wanted, "
                  f"{int(r['conns'])} connections)  p50 {r['p50']:.2f} ms  p99 {r['p99']:.2f} ms  "
                  f"server CPU {r['cpu_us']:.1f} us/req ({r['busy']:.2f} of its core)  "
                  f"wrk CPU {r['client']:.2f} of its core  "
                  f"other work {r['other']:.2f} cores" + ("" if r["on_target"] else "  (off target)"))
    curve: dict[tuple[float, str], list[dict[str, float]]] = {}
    fractions = [float(x) for x in args.curve.split(",")] if args.curve else []
    for rnd in range(args.curve_rounds if fractions else 0):
        for frac in fractions:
            for kind in ("bare", "plain"):
                target = frac * med[kind]["rps"]
                hint = curve[(frac, kind)][-1]["conns"] if (frac, kind) in curve else \
                    conns_for[kind] * frac / 0.8
                r = at_rate(kind, scripts[kind], snap, mmdb, args, target, max(1, round(hint)), delay_ms)
                curve.setdefault((frac, kind), []).append(r)
                print(f"curve round {rnd + 1} {frac:.0%} {kind:6s}: {r['rps']:9.0f} req/s ({target:.0f} wanted)  "
                      f"p99 {r['p99']:.2f} ms  server CPU {r['cpu_us']:.1f} us/req ({r['busy']:.2f} of its core)"
                      + ("" if r["on_target"] else "  (off target)"))
    at80 = {}
    for k, v in at80_runs.items():
        use = [r for r in v if r["on_target"]] or v
        at80[k] = {m: statistics.median(r[m] for r in use)
                   for m in ("rps", "p50", "p99", "cpu_us", "busy", "client", "target", "conns")}
        at80[k]["n"] = len(use)

    print()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}")
    print(f"cpu: {cpu_model()}")
    print(f"python {platform.python_version()}; granian {version('granian')}, msgspec {version('msgspec')}, "
          f"lmdb {version('lmdb')}, maxminddb {version('maxminddb')}; "
          f"wrk: {subprocess.run(['wrk', '-v'], capture_output=True, text=True).stdout.splitlines()[0]}")
    print(f"workers {args.workers}, server on CPU 0, wrk on CPU 1 (-t1 -c{args.connections}), "
          f"{args.rounds} rounds x {args.seconds}s, medians; snapshot {N_TOKENS:,} tokens")
    print()
    names = {"bare": "(1) bare Granian, fixed 302", "plain": "(2) smslink serve, full path",
             "plainx": "(2b) (2) with (3)'s worker options",
             "full": "(3) + geo, 10k stores, time, variants"}
    print(f"{'':40s} {'req/s':>9s} {'p50 ms':>8s} {'p99 ms':>8s} {'server CPU us/req':>18s}")
    for k in ("bare", "plain", "plainx", "full"):
        m = med[k]
        print(f"{names[k]:40s} {m['rps']:9.0f} {m['p50']:8.2f} {m['p99']:8.2f} {m['cpu_us']:18.1f}")
    print()
    print(f"ratio (2)/(1): {med['plain']['rps'] / med['bare']['rps']:.2f} by req/s, "
          f"{med['bare']['cpu_us'] / med['plain']['cpu_us']:.2f} by server CPU per request   (goal >= 0.70)")
    print(f"ratio (3)/(2): {med['full']['rps'] / med['plain']['rps']:.2f} by req/s, "
          f"{med['plain']['cpu_us'] / med['full']['cpu_us']:.2f} by server CPU per request   (goal >= 0.90)")
    print(f"ratio (3)/(2b): {med['full']['rps'] / med['plainx']['rps']:.2f} by req/s, "
          f"{med['plainx']['cpu_us'] / med['full']['cpu_us']:.2f} by server CPU per request   "
          "(same worker options: what the campaign's routing costs)")
    print("(server CPU per request = user+system time of the server's processes / requests answered:"
          " steadier than req/s when other work shares the machine)")
    every = [r["other"] for v in results.values() for r in v]
    print(f"other work during measured runs: at most {max(every):.2f} cores, median {statistics.median(every):.2f}"
          f" (each run waits for a quiet second first; one above {OTHER_MAX} is measured once more)."
          " The host's own noise does not show here: compare server CPU per request between runs.")
    print()
    print(f"at 80% of each server's own saturation: connections x 1 request per {delay_ms} ms (mean, exponential)"
          f" + answer; medians of the runs on target (within 5%) of {len(at80_runs['bare'])} alternating rounds;"
          " not corrected for coordinated omission")
    print(f"{'':40s} {'wanted':>8s} {'served':>8s} {'conns':>6s} {'p50 ms':>7s} {'p99 ms':>7s} "
          f"{'server us/req':>14s} {'core busy':>9s} {'wrk CPU':>8s}   every p99")
    for k in at80_kinds:
        r = at80[k]
        every = ", ".join(f"{x['p99']:.2f}" + ("" if x["on_target"] else " (off target)") for x in at80_runs[k])
        print(f"{names[k]:40s} {r['target']:8.0f} {r['rps']:8.0f} {int(r['conns']):6d} {r['p50']:7.2f} "
              f"{r['p99']:7.2f} {r['cpu_us']:14.1f} {r['busy']:9.2f} {r['client']:8.2f}   {every}"
              + ("   (goal p99 < 5 ms)" if k == "plain" else ""))
    print(f"p99 at 80%, (2) against (1) at its own 80%: {at80['plain']['p99']:.2f} vs {at80['bare']['p99']:.2f} ms"
          f" ({at80['plain']['p99'] / at80['bare']['p99']:.2f}x)")
    if curve:
        print()
        print(f"p99 against load, each server at a share of its own saturation rate (medians of {args.curve_rounds}"
              " alternating rounds; core busy = server CPU per request x req/s)")
        print(f"{'share':>6s} {'(1) p99 ms':>11s} {'core busy':>10s} {'us/req':>7s}   {'(2) p99 ms':>11s} "
              f"{'core busy':>10s} {'us/req':>7s}   every p99 (1) | (2)")
        for frac in fractions:
            cells, every = [], []
            for kind in ("bare", "plain"):
                v = curve[(frac, kind)]
                use = [r for r in v if r["on_target"]] or v
                cells.append(f"{statistics.median(r['p99'] for r in use):11.2f} "
                             f"{statistics.median(r['busy'] for r in use):10.2f} "
                             f"{statistics.median(r['cpu_us'] for r in use):7.1f}")
                every.append(", ".join(f"{r['p99']:.2f}" + ("" if r["on_target"] else "*") for r in v))
            print(f"{frac:6.0%} {cells[0]}   {cells[1]}   {every[0]} | {every[1]}")
        print("(* off target: the served rate was not within 5% of the wanted one)")

if __name__ == "__main__":
    main()
