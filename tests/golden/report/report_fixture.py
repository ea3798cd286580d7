"""The hand-computed report fixture: a snapshot and click logs small enough to count by hand.

Used by the golden tests (this folder), the unit tests (tests/unit/analytics)
and the browser test (tests/e2e/report). Every click is listed below with
what it should count as; EXPECTED holds the hand-computed figures.

Campaign ``spring`` (send 2027-03-01T15:00:00Z), arms a / b / holdout:
recipients sa01..sa15 in a (sa14, sa15 retired), sb01..sb15 in b, sh01..sh10
in holdout -> sent 30, holdout 10. Campaign ``flu`` has no variants: fu01..fu10.
"""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from engine.clicklog import ClickEvent
from engine.snapshot import Campaign, Template, TokenRecord, VariantArm, write_snapshot

SEND_S = 1804000000 - 1804000000 % 3600 + 3600  # on the hour
SEND_MS = SEND_S * 1000
POLICY_OLD = "default@aaaaaaaaaaaa"
POLICY_NEW = "default@bbbbbbbbbbbb"
#: Must never appear in a shared output (planted in user agents of the logs).
PHONE = "+15551234567"
IOS = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36"
PREVIEW_UA = "facebookexternalhit/1.1 Facebot Twitterbot/1.0"
SCANNER_UA = f"Mozilla/5.0 (compatible; LinkScanner/2.1; contact {PHONE})"
HUMAN_HEADERS = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
                 "accept-language": "en-US,en;q=0.9"}


def token_of(recipient: str) -> str:
    """Opaque-looking token of a fixture recipient (never printed by a shared output)."""
    return "Tk" + recipient.upper().replace("-", "") + "x9"


def _arms() -> list[tuple[str, int]]:
    out = [(f"sa{i:02d}", 0) for i in range(1, 16)]
    out += [(f"sb{i:02d}", 1) for i in range(1, 16)]
    out += [(f"sh{i:02d}", 2) for i in range(1, 11)]
    return out


def write_fixture_snapshot(path: Path) -> Path:
    spring = Campaign(
        id="spring", name="Spring sale", owner="growth@acme.example", brand="Acme", domains=["go.acme.example"],
        routes=[], default=Template(["https://www.acme.example/spring"]), campaign_token="TkCAMPSPRING",
        send_at=SEND_S, variants=[VariantArm("a", 45), VariantArm("b", 45), VariantArm("holdout", 10, holdout=True)],
        experiment="hero",
    )
    flu = Campaign(
        id="flu", name="Flu shots", owner="outreach@rh.example", brand="RH", domains=["rh.example"],
        routes=[], default=Template(["https://book.rh.example/flu"]), campaign_token="TkCAMPFLU", send_at=SEND_S,
    )
    toks: list[tuple[str, TokenRecord]] = []
    for rid, arm in _arms():
        toks.append((token_of(rid), TokenRecord(0, rid, variant=arm, retired=rid in ("sa14", "sa15"))))
    for i in range(1, 11):
        toks.append((token_of(f"fu{i:02d}"), TokenRecord(1, f"fu{i:02d}")))
    toks.append(("TkCAMPSPRING", TokenRecord(0, "")))
    toks.append(("TkCAMPFLU", TokenRecord(1, "")))
    toks.sort()
    write_snapshot(path, campaigns=[spring, flu], tokens=toks, built_at=datetime(2027, 3, 1, tzinfo=UTC))
    return path


_seq = 0


def _click(rid: str | None, at_s: float, verdict: str, *, reasons: tuple[str, ...] = (), ip: str = "203.0.113.0/24",
           device: str = "ios", route: str = "default", store: str | None = None, region: str = "US-NY",
           campaign: str = "spring", link: str = "recipient", policy: str = POLICY_OLD, ua: str = IOS,
           asn: int | None = 7922, kind: str = "click", token: str | None = None) -> ClickEvent:
    global _seq
    _seq += 1
    variant = None
    if campaign == "spring" and rid:
        variant = {"sa": "a", "sb": "b", "sh": "holdout"}[rid[:2]]
    if kind == "orphan":
        return ClickEvent(id=f"01ORPHAN{_seq:018d}", ts=int(SEND_MS + at_s * 1000), kind="orphan", status=404,
                          answer="not-found", verdict=verdict, reasons=list(reasons), policy=policy, token=token,
                          ip=ip, ua=ua, asn=asn)
    return ClickEvent(
        id=f"01CLICK{_seq:019d}", ts=int(SEND_MS + at_s * 1000), kind="click", status=302, answer="redirect",
        verdict=verdict, reasons=list(reasons), policy=policy,
        token=token or (token_of(rid) if rid else ("TkCAMPSPRING" if campaign == "spring" else "TkCAMPFLU")),
        link=link, campaign=campaign, recipient=rid, variant=variant, route=route, store=store,
        country=region[:2], region=region, device=device, since_send_s=float(at_s), ip=ip, asn=asn, ua=ua,
        headers=HUMAN_HEADERS if verdict == "human" else {}, host="go.acme.example",
    )


def clicks() -> list[ClickEvent]:
    """Every click of the fixture, with what it counts as in the comments."""
    H = "human"
    ev: list[ClickEvent] = []
    # Arm a: sa01..sa06 are people at store s-brooklyn (6 clickers: shown; >= k=5).
    ev.append(_click("sa01", 120, H, route="store-page", store="s-brooklyn"))
    ev.append(_click("sa01", 3600 + 60, H, route="store-page", store="s-brooklyn"))  # a repeat: 2 human clicks, 1 clicker
    # A scanner, then the person: counts once, as human.
    ev.append(_click("sa02", 5, "scanner", reasons=("ua:scanner",), ip="198.51.100.0/24", device="desktop",
                     ua=SCANNER_UA, asn=16509, region="US-VA"))
    ev.append(_click("sa02", 600, H, route="store-page", store="s-brooklyn"))
    for rid, t in (("sa03", 900), ("sa04", 1800), ("sa05", 7300), ("sa06", 90000)):
        ev.append(_click(rid, t, H, route="store-page", store="s-brooklyn", policy=POLICY_NEW))
    # Logged human 3 s after the send, then a person on another network: the stream
    # rule fetch-before-tap moves the first click to scanner (1 clicker, 1 human click).
    ev.append(_click("sa07", 3, H, ip="198.51.100.0/24", device="android", ua=ANDROID, region="US-VA"))
    ev.append(_click("sa07", 1500, H, route="store-page", store="s-queens", region="US-NJ"))
    # Three addresses within a second: stream rule burst moves all three to bot.
    for n, ip in enumerate(("192.0.2.0/24", "192.0.3.0/24", "192.0.4.0/24")):
        ev.append(_click("sa08", 7200 + n * 0.2, H, ip=ip, device="desktop"))
    # Previews only: counts zero, a machine-only token.
    ev.append(_click("sa09", 2, "preview", reasons=("ua:preview",), ua=PREVIEW_UA))
    ev.append(_click("sa09", 40, "preview", reasons=("ua:preview",), ua=PREVIEW_UA))
    # Retired recipient still counts: a person, android.
    ev.append(_click("sa14", 4000, H, device="android", ua=ANDROID, region="US-NJ", route="store-page", store="s-queens"))

    # Arm b: sb01..sb02 people (2 clickers), sb03 suspect only, sb04 bot only.
    ev.append(_click("sb01", 400, H, region="US-NJ"))
    ev.append(_click("sb02", 5000, H, device="android", ua=ANDROID, region="US-NJ"))
    ev.append(_click("sb03", 300, "suspect", reasons=("header-shape", "timing")))
    ev.append(_click("sb04", 10, "bot", reasons=("ua:http-library",), ua="python-requests/2.32", device="unknown",
                     ip="198.51.100.0/24", asn=16509))
    # A datacenter click judged suspect, then a phone on another network: the
    # stream rule datacenter-then-phone moves the suspect click to scanner.
    ev.append(_click("sb05", 700, "suspect", reasons=("datacenter", "header-shape"), ip="198.51.100.0/24", asn=16509,
                     device="desktop"))
    ev.append(_click("sb05", 800, H, device="android", ua=ANDROID, region="US-NJ"))

    # Holdout: one click (holdout clicker; not in CTR).
    ev.append(_click("sh01", 2000, H))

    # The campaign-level link: two human clicks, no recipient.
    ev.append(_click(None, 500, H, link="campaign"))
    ev.append(_click(None, 510, H, link="campaign", device="android", ua=ANDROID))

    # flu: fu01..fu05 people, fu06 preview then person, fu07 scanner only.
    for i, t in enumerate((60, 200, 700, 2500, 9000), start=1):
        ev.append(_click(f"fu{i:02d}", t, H, campaign="flu", route="weekend" if i % 2 else "default", region="US-IL"))
    ev.append(_click("fu06", 1, "preview", reasons=("ua:preview",), campaign="flu", ua=PREVIEW_UA, region="US-IL"))
    ev.append(_click("fu06", 300, H, campaign="flu", region="US-IL"))
    ev.append(_click("fu07", 4, "scanner", reasons=("ua:scanner",), campaign="flu", ip="198.51.100.0/24",
                     ua=SCANNER_UA, region="US-VA"))

    # Orphans: unknown tokens, two networks, one hour.
    for n, ip in enumerate(("192.0.2.0/24", "192.0.2.0/24", "198.51.100.0/24")):
        ev.append(_click(None, 100 + n, "bot", kind="orphan", token=f"guess{n}", ip=ip, ua="curl/8.5.0"))
    return ev


#: The hand-computed figures (k = 5, default stream rules, no --rejudge).
EXPECTED = {
    "spring": {
        "sent": 30, "holdout": 10,
        # sa01(2) sa02 sa03 sa04 sa05 sa06 sa07(1 after the move) sa14 sb01 sb02 sb05 sh01 + 2 campaign link
        "human_clicks": 15,
        "clickers": 11,  # sa01-07, sa14, sb01, sb02, sb05 (sh01 is holdout)
        "clickers_a": 8, "clickers_b": 3, "clickers_holdout": 1,
        "machine_only_tokens": 3,  # sa08 (burst -> bot), sa09 (previews), sb04 (bot); sb03 is suspect: not a machine
        "moved": {("human", "scanner"): 1, ("human", "bot"): 3, ("suspect", "scanner"): 1},
    },
    "flu": {"sent": 10, "human_clicks": 6, "clickers": 6, "machine_only_tokens": 1},
}


def build(root: Path) -> tuple[Path, Path]:
    """Snapshot and logs of the fixture under ``root``: (snapshot file, logs folder)."""
    return write_fixture_snapshot(root / "snapshot.lmdb"), write_fixture_logs(root / "clicks")


def write_fixture_logs(folder: Path) -> Path:
    """The clicks in three files: a gzip'd finished one, a finished one, an active one with a torn tail."""
    folder.mkdir(parents=True, exist_ok=True)
    enc = msgspec.json.Encoder()
    ev = clicks()
    thirds = [ev[: len(ev) // 3], ev[len(ev) // 3 : 2 * len(ev) // 3], ev[2 * len(ev) // 3 :]]
    lines = [b"".join(enc.encode(e) + b"\n" for e in part) for part in thirds]
    with gzip.open(folder / "clicks-20270301T150000Z-web1-11-000001.jsonl.gz", "wb") as fh:
        fh.write(lines[0])
    (folder / "clicks-20270301T160000Z-web1-11-000002.jsonl").write_bytes(lines[1])
    # A write in progress: the last line has no newline yet and must be ignored.
    (folder / "clicks-20270301T170000Z-web1-11-000003.jsonl.active").write_bytes(lines[2] + b'{"id":"01TORN","ts":18')
    (folder / "README.txt").write_text("not a click log\n")
    return folder
