"""`make demo`: the main job end to end, on embedded defaults, on a fresh machine.

1. validate campaigns/ and policies/
2. generate fictional audiences (no real phone number is ever used)
3. compile the example campaigns: snapshot + send manifest
4. publish the snapshot and start the redirect worker (a real Granian process)
5. send a mix of human taps, link-preview fetches, scanners and enumeration at it
6. stop it, then read the click logs back: the bot-filtered report, and webhooks
   delivered to a local receiver that verifies every signature

Everything lands in ./demo (git-ignored). `python scripts/demo.py compile-only`
stops after step 3 (`make compile`).
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx

ROOT = Path(__file__).resolve().parent.parent
DEMO = ROOT / "demo"
BIN = Path(sys.executable).parent
SMSLINK = str(BIN / "smslink")

# Demo-only secrets: real deployments take these from a secret store.
DEMO_ENV = {
    "SMSLINK_RECIPIENT_KEY": "demo-only-recipient-key-not-for-production",
    "SMSLINK_WEBHOOK_CRM_SECRET": "whsec_ZGVtby1vbmx5LXdlYmhvb2stc2VjcmV0LTMyYnl0ZXMh",
}

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.6778.81 Mobile Safari/537.36"
)
INSTAGRAM = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 Instagram 334.0.4.32.98 (iPhone15,2; iOS 17_5; en_US)"
)
HUMAN_HEADERS = {
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "accept-language": "en-US,en;q=0.9",
    "accept-encoding": "gzip, deflate, br",
    "sec-fetch-site": "none",
    "sec-fetch-mode": "navigate",
    "sec-fetch-dest": "document",
    "sec-fetch-user": "?1",
    "upgrade-insecure-requests": "1",
}
IMESSAGE_PREVIEW = "facebookexternalhit/1.1 Facebot Twitterbot/1.0"
WHATSAPP = "WhatsApp/2.23.20.0 A"
CURL = "curl/8.5.0"

# A tiny demo world on documentation address ranges (RFC 5737), built offline the
# way the tests build theirs: where each tap seems to come from.
CITIES = {
    "192.0.2.0/26": {"country": "US", "region": "US-NY", "city": "New York", "lat": 40.7128,
                     "lon": -74.006, "accuracy_km": 5, "timezone": "America/New_York"},
    "192.0.2.64/26": {"country": "US", "region": "US-MA", "city": "Boston", "lat": 42.3601,
                      "lon": -71.0589, "accuracy_km": 10, "timezone": "America/New_York"},
    "192.0.2.128/26": {"country": "CA", "region": "CA-QC", "city": "Montreal", "lat": 45.5019,
                       "lon": -73.5674, "accuracy_km": 20, "timezone": "America/Toronto"},
    "198.51.100.0/26": {"country": "US", "region": "US-IL", "city": "Chicago", "lat": 41.8781,
                        "lon": -87.6298, "accuracy_km": 20, "timezone": "America/Chicago"},
    "198.51.100.64/26": {"country": "US", "region": "US-TX", "city": "Dallas", "lat": 32.7767,
                         "lon": -96.797, "accuracy_km": 20, "timezone": "America/Chicago"},
    "203.0.113.0/26": {"country": "US", "region": "US-CA", "city": "San Francisco", "lat": 37.7749,
                       "lon": -122.4194, "accuracy_km": 10, "timezone": "America/Los_Angeles"},
    "203.0.113.64/26": {"country": "US", "region": "US-WA", "city": "Seattle", "lat": 47.6062,
                        "lon": -122.3321, "accuracy_km": 10, "timezone": "America/Los_Angeles"},
    "203.0.113.128/26": {"country": "US", "lat": 37.751, "lon": -97.822, "accuracy_km": 1000},
}
PHONE_NETS = ["192.0.2.%d", "192.0.2.%d", "192.0.2.%d", "198.51.100.%d", "198.51.100.%d",
              "203.0.113.%d", "203.0.113.%d", "203.0.113.%d"]
PHONE_BASE = [0, 64, 128, 0, 64, 0, 64, 128]
DATACENTER = "203.0.113.200"  # the demo's "cloud": AS16509 in the ASN database


def step(title: str) -> None:
    print(f"\n\033[1m== {title}\033[0m", flush=True)


def run(*args: str, check: bool = True, capture: bool = False,
        shown: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command, echoing it (``shown`` replaces the echo when an argument is private)."""
    echo = shown or (" ".join(["smslink", *args[1:]]) if args[0] == SMSLINK else " ".join(args))
    print("$ " + echo, flush=True)
    env = {**os.environ, **DEMO_ENV}
    proc = subprocess.run(args, cwd=ROOT, env=env, text=True, capture_output=capture)
    if capture and proc.stdout:
        print(proc.stdout, end="")
    if capture and proc.stderr:
        print(proc.stderr, end="", file=sys.stderr)
    if check and proc.returncode != 0:
        sys.exit(f"demo: `{' '.join(args)}` failed with exit code {proc.returncode}")
    return proc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"demo: the worker exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    sys.exit(f"demo: the worker did not listen on port {port} within {timeout:.0f}s")


def wait_ready(admin: int, proc: subprocess.Popen[bytes], timeout: float = 20.0) -> httpx.Response:
    """The port opens before the workers have loaded the snapshot: poll /readyz."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            sys.exit(f"demo: the worker exited early with code {proc.returncode}")
        r = httpx.get(f"http://127.0.0.1:{admin}/readyz", timeout=5)
        if r.status_code == 200 or time.monotonic() > deadline:
            return r
        time.sleep(0.1)


def compile_step() -> Path:
    step("1. validate the config (campaigns/, policies/)")
    run(SMSLINK, "validate")

    step("2. generate fictional audiences (numbers from reserved fictional ranges)")
    DEMO.mkdir(exist_ok=True)
    run(SMSLINK, "audience", "generate", "--count", "400", "--seed", "1", "--with-attributes",
        "--out", str(DEMO / "spring.csv"))
    run(SMSLINK, "audience", "generate", "--count", "150", "--seed", "2", "--with-attributes",
        "--id-column", "patient_ref", "--out", str(DEMO / "patients.csv"))

    step("3. compile: snapshot (tokens, routes, policies) + send manifest (the only file with numbers)")
    build = DEMO / "build"
    run(SMSLINK, "compile", "--audience", f"spring={DEMO / 'spring.csv'}",
        "--audience", f"patients={DEMO / 'patients.csv'}", "--out", str(build))
    run(SMSLINK, "inspect", str(build / "snapshot.lmdb"))
    return build


def read_links(build: Path) -> list[dict[str, str]]:
    with open(build / "manifest.csv", newline="") as fh:
        return [{"campaign": r["campaign"], "link": r["link"]} for r in csv.DictReader(fh)]


def traffic(port: int, links: list[dict[str, str]]) -> dict[str, int]:
    """A morning of taps: people, their phones' link previews, scanners, and enumeration."""
    rng = random.Random(7)
    sent: dict[str, int] = {}
    base = f"http://127.0.0.1:{port}"

    def get(link: str, ua: str, headers: dict[str, str] | None = None, method: str = "GET",
            ip: str = "192.0.2.10") -> int:
        url = httpx.URL(link)
        h = {"host": url.host, "user-agent": ua, "x-forwarded-for": ip, **(headers or {})}
        r = client.request(method, base + url.path, headers=h)
        key = f"{r.status_code}"
        sent[key] = sent.get(key, 0) + 1
        return r.status_code

    with httpx.Client(follow_redirects=False, timeout=5) as client:
        for item in links:
            link = item["link"]
            net = rng.randrange(len(PHONE_NETS))
            phone_ip = PHONE_NETS[net] % (PHONE_BASE[net] + rng.randrange(1, 60))
            roll = rng.random()
            if roll < 0.35:  # iMessage / WhatsApp fetch a preview on arrival, from the phone
                get(link, rng.choice([IMESSAGE_PREVIEW, WHATSAPP]), ip=phone_ip)
            if roll < 0.10:  # a carrier/security scanner checks the link within seconds
                get(link, CURL, method=rng.choice(["HEAD", "GET"]), ip=DATACENTER)
            if rng.random() < 0.30:  # the recipient taps
                ua = rng.choice([IPHONE, ANDROID, INSTAGRAM])
                get(link, ua, HUMAN_HEADERS, ip=phone_ip)
                if rng.random() < 0.2:  # and taps again later
                    get(link, ua, HUMAN_HEADERS, ip=phone_ip)
        for _ in range(40):  # someone walks the token space
            bogus = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(8))
            client.get(f"{base}/{bogus}", headers={"host": "go.acme.example", "user-agent": CURL,
                                                   "x-forwarded-for": DATACENTER})
            sent["404"] = sent.get("404", 0) + 1
    return sent


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, object]]] = []

    def do_POST(self) -> None:
        from standardwebhooks.webhooks import Webhook

        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        try:
            Webhook(DEMO_ENV["SMSLINK_WEBHOOK_CRM_SECRET"]).verify(body, dict(self.headers))
        except Exception:
            self.send_response(401)
            self.end_headers()
            return
        _Receiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def build_geo(folder: Path) -> tuple[Path, Path]:
    """City and ASN databases for the demo world (MaxMind format, written offline)."""
    sys.path.insert(0, str(ROOT))
    from tests.fixtures.geo import build_asn_mmdb, build_city_mmdb

    folder.mkdir(parents=True, exist_ok=True)
    city = Path(build_city_mmdb(folder / "City.mmdb", CITIES))
    asn = Path(build_asn_mmdb(folder / "ASN.mmdb", {"203.0.113.192/26": (16509, "AMAZON-02"),
                                                     "192.0.2.0/24": (21928, "T-MOBILE-AS21928")}))
    return city, asn


def serve_step(build: Path) -> None:
    step("4. publish the snapshot and start the redirect worker (Granian)")
    srv = DEMO / "srv"
    clicks = DEMO / "clicks"
    shutil.rmtree(clicks, ignore_errors=True)
    run(SMSLINK, "publish", str(build / "snapshot.lmdb"), "--to", str(srv))
    city, asn = build_geo(DEMO / "geo")
    port, admin = free_port(), free_port()
    env = {**os.environ, **DEMO_ENV}
    cmd = [SMSLINK, "serve", "--snapshot", str(srv / "current"), "--logs", str(clicks),
           "--geoip", str(city), "--asn", str(asn), "--client-ip-header", "X-Forwarded-For",
           "--port", str(port), "--admin-port", str(admin), "--workers", "1"]
    print("$ smslink " + " ".join(cmd[1:]), flush=True)
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
    try:
        wait_port(port, proc)
        wait_port(admin, proc)
        ready = wait_ready(admin, proc)
        print(f"readyz: {ready.status_code} {ready.text.strip()}")

        step("5. traffic: human taps, link previews, scanners, enumeration")
        links = read_links(build)
        answered = traffic(port, links)
        print("answered by status:", json.dumps(dict(sorted(answered.items()))))
        time.sleep(1.2)  # workers publish their counters to the admin process twice a second
        metrics = httpx.get(f"http://127.0.0.1:{admin}/metrics", timeout=5).text
        lines = [ln for ln in metrics.splitlines() if ln.startswith("smslink_requests_total")]
        print("\n".join(lines[:12]))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()

    step("5b. explain: how one recipient's tap from Chicago at 18:30 local time is routed")
    first = next(i["link"] for i in read_links(build) if i["campaign"] == "spring-sale")
    token = httpx.URL(first).path.strip("/")
    args = ["--snapshot", str(srv / "current"), "--geoip", str(city), "--ip", "198.51.100.7",
            "--at", "2026-12-01T00:30:00Z", "-H", "Accept-Language: en-US"]
    # a recipient's token is never printed: the echo names it instead
    run(SMSLINK, "explain", token, *args,
        shown="smslink explain <first spring-sale recipient's token> " + " ".join(args))

    step("6a. the report: bot-filtered numbers per campaign, variant, route, store")
    run(SMSLINK, "report", "--logs", str(clicks), "--snapshot", str(srv / "current"),
        "--html", str(DEMO / "report.html"), "--per-recipient", str(DEMO / "per-recipient.csv"))
    print(f"HTML report: {DEMO / 'report.html'}")

    step("6b. webhooks: signed click.human events to a local receiver that verifies them")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hooks = DEMO / "hooks"
    (hooks / "policies").mkdir(parents=True, exist_ok=True)
    (hooks / "policies" / "webhooks.yaml").write_text(
        "kind: webhooks\nendpoints:\n  - name: crm\n"
        f"    url: http://127.0.0.1:{server.server_address[1]}/smslink\n"
        "    secret-env: SMSLINK_WEBHOOK_CRM_SECRET\n    events: [click.human]\n"
        "    allow-private: true   # demo receiver on loopback\n"
    )
    run(SMSLINK, "dispatch", "--logs", str(clicks), "--state", str(DEMO / "dispatch-state"),
        "--config", str(hooks), "--once")
    server.shutdown()
    got = _Receiver.received
    print(f"receiver verified {len(got)} signed events; first payload:")
    if got:
        print(json.dumps(got[0], indent=2)[:800])


def main() -> None:
    os.chdir(ROOT)
    build = compile_step()
    if sys.argv[1:] == ["compile-only"]:
        return
    serve_step(build)
    step("7. invariant 1: no phone number outside the manifest")
    check_no_phone_numbers(build)
    step("done")
    print("Everything is in ./demo: build/ (snapshot, manifest), clicks/, report.html, per-recipient.csv.")


def check_no_phone_numbers(build: Path) -> None:
    """Search every demo output but the manifest for every audience number (holdouts
    included), in three spellings."""
    import phonenumbers

    numbers = set()
    for audience in (DEMO / "spring.csv", DEMO / "patients.csv"):
        with open(audience, newline="") as fh:
            for row in csv.DictReader(fh):
                parsed = phonenumbers.parse(row["phone"], "US")
                numbers.add(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
    needles = set()
    for e164 in numbers:
        digits = e164.lstrip("+")
        needles.update({e164.encode(), digits.encode(), digits[1:].encode()})  # +1NXX..., 1NXX..., NXX...
    # everything but the manifest itself and the audiences it was built from
    inputs = {build / "manifest.csv", DEMO / "spring.csv", DEMO / "patients.csv"}
    outputs = sorted(p for p in DEMO.rglob("*") if p.is_file() and p not in inputs)
    leaks = [p for p in outputs if any(n in p.read_bytes() for n in needles)]
    print(f"searched {len(outputs)} files (snapshot, click logs, report, per-recipient file, webhook state) "
          f"for {len(numbers)} numbers in 3 spellings: {len(leaks)} files contain one")
    if leaks:
        sys.exit("demo: phone numbers leaked into " + ", ".join(str(p) for p in leaks))


if __name__ == "__main__":
    main()
