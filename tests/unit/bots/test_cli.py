"""``smslink bots classify`` and ``smslink bots rejudge`` through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.clicklog import ClickEvent

from .headers import CURL, SAFARI_IOS

ROOT = Path(__file__).resolve().parents[3]
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"


def run(args: list[str], stdin: str = "") -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_classify_writes_one_line_per_request_in_order() -> None:
    lines = [
        {"method": "GET", "headers": {"User-Agent": IPHONE, **SAFARI_IOS}, "client_ip": "203.0.113.7", "seconds_since_send": 840.0},
        {"method": "GET", "headers": {"user-agent": "facebookexternalhit/1.1 Facebot Twitterbot/1.0"}},
        {"headers": {"user-agent": "curl/8.4.0", **CURL}, "client_ip": None, "seconds_since_send": None},
        {"method": "HEAD", "headers": {"user-agent": IPHONE}},
    ]
    stdin = "\n".join(json.dumps(x) for x in lines) + "\n\n"
    code, out, err = run(["bots", "classify", "--policy", str(ROOT / "policies/bots.yaml")], stdin)
    assert code == 0, err
    assert [json.loads(x) for x in out.splitlines()] == [
        {"verdict": "human", "reasons": []},
        {"verdict": "preview", "reasons": ["preview-agent:imessage"]},
        {"verdict": "bot", "reasons": ["http-library:curl"]},
        {"verdict": "bot", "reasons": ["method:head"]},
    ]


@pytest.mark.parametrize(("line", "message"), [
    ('{"headers": {"user-agent": 5}}', "line 2: Expected `str`, got `int`"),
    ('{"headers": {}, "phone": "+15555550100"}', "line 2: Object contains unknown field `phone`"),
    ("not json", "line 2: not a JSON object"),
    ('{"seconds_since_send": "soon"}', "line 2: Expected `float | null`, got `str`"),
], ids=["wrong type", "unknown field", "not json", "bad number"])
def test_classify_bad_line_names_the_line_and_exits_1(line: str, message: str) -> None:
    stdin = json.dumps({"headers": {"user-agent": "curl/8.4.0"}}) + "\n" + line + "\n"
    code, out, err = run(["bots", "classify"], stdin)
    assert code == 1
    assert message in err
    assert "Traceback" not in err
    assert "+15555550100" not in err  # the input is never echoed
    assert out.splitlines() == ['{"verdict":"bot","reasons":["http-library:curl"]}']


def test_classify_with_a_broken_policy_shows_located_errors(tmp_path: Path) -> None:
    policy = tmp_path / "bots.yaml"
    policy.write_text("kind: bots\nsignals:\n  - kind: network\n    cidrs: [10.0.0.1/8]\n")
    code, out, err = run(["bots", "classify", "--policy", str(policy)], "{}\n")
    assert code == 1
    assert "error E241" in err and ":4:" in err and 'did you mean "10.0.0.0/8"' in err
    assert out == ""


def test_classify_refuses_a_policy_of_another_kind(tmp_path: Path) -> None:
    code, _, err = run(["bots", "classify", "--policy", str(ROOT / "policies/webhooks.yaml")], "{}\n")
    assert code == 1 and "not a bot policy" in err


def _event(ms: int, token: str, campaign: str, ua: str, headers: dict[str, str], verdict: str,
           ip: str = "203.0.113.0/24", **kw: object) -> ClickEvent:
    return ClickEvent(id=f"01J{ms:020d}", ts=1_790_000_000_000 + ms, kind="click", status=302,
                      answer="redirect", verdict=verdict, token=token, campaign=campaign, ip=ip,
                      ua=ua, headers=headers, device="ios", **kw)


def _write_logs(folder: Path) -> list[bytes]:
    folder.mkdir()
    enc = msgspec.json.Encoder()
    events = [
        _event(0, "Tok1", "spring-sale", IPHONE, SAFARI_IOS, "human"),
        _event(10, "Tok2", "spring-sale", "curl/8.4.0", CURL, "human"),  # logged under an older policy
        _event(20, "Tok3", "spring-sale", "WhatsApp/2.23.20.0 A", {}, "unjudged"),
        _event(30, "Tok4", "flu-shots", IPHONE, SAFARI_IOS, "human"),
    ]
    orphan = ClickEvent(id="01JORPHAN", ts=1_790_000_000_100, kind="orphan", status=404, answer="not-found",
                        token="zzz")
    a = folder / "clicks-20261127T080000Z-w1-100-000001.jsonl"
    b = folder / "clicks-20261127T090000Z-w1-100-000002.jsonl.active"
    a.write_bytes(b"".join(enc.encode(e) + b"\n" for e in events[:2]))
    b.write_bytes(b"".join(enc.encode(e) + b"\n" for e in [*events[2:], orphan]))
    return [a.read_bytes(), b.read_bytes()]


def test_rejudge_counts_moves_per_campaign_and_modifies_nothing(tmp_path: Path) -> None:
    logs = tmp_path / "clicks"
    before = _write_logs(logs)
    code, out, err = run(["bots", "rejudge", "--logs", str(logs), "--policy", str(ROOT / "policies/bots.yaml")])
    assert code == 0, err
    assert "re-judged 4 clicks in 2 campaigns (1 orphan line skipped)" in out
    assert "flu-shots: 1 click, none would move" in out
    assert "spring-sale: 3 clicks, 2 would move" in out
    assert "human -> bot" in out and "unjudged -> preview" in out
    assert "Tok" not in out  # tokens group clicks but are never printed
    after = sorted(logs.iterdir())
    assert [p.read_bytes() for p in after] == before


def test_rejudge_json(tmp_path: Path) -> None:
    logs = tmp_path / "clicks"
    _write_logs(logs)
    code, out, err = run(["bots", "rejudge", "--logs", str(logs), "--format", "json"])
    assert code == 0, err
    report = json.loads(out)
    assert report["clicks"] == 4 and report["skipped_orphans"] == 1
    spring = report["campaigns"]["spring-sale"]
    assert spring["moved"] == 2
    assert {(m["from"], m["to"], m["count"]) for m in spring["moves"]} == {("human", "bot", 1), ("unjudged", "preview", 1)}
    assert spring["after"] == {"bot": 1, "human": 1, "preview": 1}
    assert report["campaigns"]["flu-shots"]["moves"] == []


def test_rejudge_without_logs_is_an_error(tmp_path: Path) -> None:
    code, _, err = run(["bots", "rejudge", "--logs", str(tmp_path)])
    assert code == 1 and "no click logs" in err
