"""ClickHandler: the request -> decision path without a server (issue 3)."""

from __future__ import annotations

import msgspec
import pytest
from worker_unit_support import HUMAN_HEADERS, NOW, campaign

from engine.clicklog import ClickEvent
from engine.snapshot import Template
from engine.worker import PREFETCH_STATUS, ClickHandler
from engine.worker._core import LogLine, LogTail, _origin

HOST = "go.acme.example"


def event(out) -> ClickEvent:
    """The outcome's event as its log line (the bytes the worker writes) decodes."""
    assert out.line.endswith(b"}\n") and out.line.count(b"\n") == 1
    return msgspec.json.decode(out.line, type=ClickEvent)


def test_log_line_twins_have_click_event_fields_in_order():
    twin = [(f.name, f.type, f.default) for t in (LogLine, LogTail) for f in msgspec.structs.fields(t)]
    public = [(f.name, f.type, f.default) for f in msgspec.structs.fields(ClickEvent)]
    assert [t[:2] for t in twin] == [p[:2] for p in public]
    # defaults decide what omit_defaults leaves out: equal defaults, equal lines
    assert [t[2] for t in twin if t[0] not in ("id", "ts", "kind", "status", "answer")] == [
        p[2] for p in public if p[0] not in ("id", "ts", "kind", "status", "answer")]


def test_redirect_answer_and_event(make_snapshot):
    h = ClickHandler(make_snapshot(), worker="host:1")
    out = h.handle("GET", "/Ab3dEf7h", HOST, HUMAN_HEADERS, "203.0.113.77", NOW)
    assert out.status == 302
    headers = dict(out.headers)
    assert headers["location"] == "https://www.acme.example/spring?hero=tents"
    assert headers["cache-control"] == "private, no-store"
    assert headers["referrer-policy"] == "no-referrer"
    assert not any(k.lower() == "set-cookie" for k, _ in out.headers)
    ev = event(out)
    assert (ev.kind, ev.status, ev.answer, ev.campaign, ev.recipient) == (
        "click", 302, "redirect", "spring", "cust-1001")
    assert ev.link == "recipient" and ev.variant == "tents" and ev.route == "default"
    assert ev.dest == headers["location"]
    assert ev.ip == "203.0.113.0/24"
    assert ev.verdict == "human" and ev.policy and ev.policy.startswith("default@")
    assert ev.device == "ios" and ev.lang == "en-US"
    assert ev.since_send_s == 3600.0
    assert ev.worker == "host:1" and ev.snapshot == h.version
    assert ev.ts == int(NOW * 1000)
    assert set(ev.headers) <= {"accept", "accept-language", "accept-encoding", "sec-fetch-site",
                               "sec-fetch-mode", "sec-fetch-dest"}
    assert "user-agent" not in ev.headers and ev.ua == HUMAN_HEADERS["user-agent"]


def test_event_line_encodes_exactly_like_click_event(make_snapshot):
    out = ClickHandler(make_snapshot()).handle("GET", "/Ab3dEf7k", HOST, HUMAN_HEADERS, "::1", NOW)
    line = out.line
    assert msgspec.json.encode(msgspec.json.decode(line, type=ClickEvent)) + b"\n" == line
    assert out.click_event() == msgspec.json.decode(line, type=ClickEvent)


@pytest.mark.parametrize(
    ("path", "host", "why"),
    [
        pytest.param("/Zz9zZz9z", HOST, "unknown-token", id="unknown token"),
        pytest.param("/ab", HOST, "malformed-token", id="too short"),
        pytest.param("/Ab3dEf7h0", HOST, "malformed-token", id="letter outside the alphabet"),
        pytest.param("/%00%ff", HOST, "malformed-token", id="percent junk"),
        pytest.param("/Ab3dEf7h", "evil.example", "host-mismatch", id="foreign host"),
        pytest.param("/Ab3dEf7h", "", "host-mismatch", id="no host"),
        pytest.param("/", HOST, "malformed-token", id="root"),
    ],
)
def test_orphans_get_404_and_an_orphan_line(make_snapshot, path, host, why):
    out = ClickHandler(make_snapshot()).handle("GET", path, host, HUMAN_HEADERS, "198.51.100.9", NOW)
    assert out.status == 404 and out.answer == "not-found"
    assert b"not valid" in out.body
    ev = event(out)
    assert ev.kind == "orphan" and ev.route == why
    assert ev.campaign is None and ev.recipient is None and ev.dest is None
    assert ev.ip == "198.51.100.0/24"


def test_host_with_port_and_case_matches(make_snapshot):
    out = ClickHandler(make_snapshot()).handle("GET", "/Ab3dEf7h", "GO.Acme.Example:8080", {}, "", NOW)
    assert out.status == 302


@pytest.mark.parametrize("suffix", [".", ",", ")", "!", "/", "'."])
def test_punctuation_glued_to_the_link_is_ignored(make_snapshot, suffix):
    out = ClickHandler(make_snapshot()).handle("GET", "/Ab3dEf7h" + suffix, HOST, HUMAN_HEADERS, "", NOW)
    assert out.status == 302 and event(out).token == "Ab3dEf7h"


def test_fallback_url_redirects_unknown_links(make_snapshot):
    h = ClickHandler(make_snapshot(), fallback_url="https://www.acme.example/")
    out = h.handle("GET", "/Zz9zZz9z", HOST, HUMAN_HEADERS, "", NOW)
    assert out.status == 302 and dict(out.headers)["location"] == "https://www.acme.example/"
    ev = event(out)
    assert ev.kind == "orphan" and ev.answer == "fallback"


def test_expired_without_destination_is_410(make_snapshot):
    snap = make_snapshot(campaign(ends_at=int(NOW) - 1))
    out = ClickHandler(snap).handle("GET", "/Ab3dEf7h", HOST, HUMAN_HEADERS, "", NOW)
    assert out.status == 410 and out.answer == "gone"
    assert b"Acme &amp; &lt;Co&gt;" in out.body
    assert event(out).route == "expired"


def test_expired_with_destination_redirects_there(make_snapshot):
    snap = make_snapshot(campaign(ends_at=int(NOW) - 1, expired=Template(["https://www.acme.example/ended"])))
    out = ClickHandler(snap).handle("GET", "/Ab3dEf7h", HOST, HUMAN_HEADERS, "", NOW)
    assert out.status == 302 and dict(out.headers)["location"] == "https://www.acme.example/ended"
    assert event(out).route == "expired"


def test_not_yet_live_redirects_to_its_destination(make_snapshot):
    snap = make_snapshot(campaign(starts_at=int(NOW) + 60, not_yet_live=Template(["https://www.acme.example/soon"])))
    out = ClickHandler(snap).handle("GET", "/Ab3dEf7h", HOST, HUMAN_HEADERS, "", NOW)
    assert dict(out.headers)["location"] == "https://www.acme.example/soon"
    assert event(out).route == "not-yet-live"


def test_tokens_are_forgotten_after_retention(make_snapshot):
    snap = make_snapshot(campaign(ends_at=int(NOW) - 10, retain_until=int(NOW) - 1))
    out = ClickHandler(snap).handle("GET", "/Ab3dEf7h", HOST, HUMAN_HEADERS, "", NOW)
    assert out.status == 404 and event(out).route == "retention-ended"


def test_campaign_link_has_no_recipient(make_snapshot):
    out = ClickHandler(make_snapshot()).handle("GET", "/CmpgnTk2", HOST, HUMAN_HEADERS, "", NOW)
    ev = event(out)
    assert out.status == 302 and ev.link == "campaign" and ev.recipient is None


def test_preview_fetcher_gets_escaped_card(make_snapshot):
    headers = {"user-agent": "facebookexternalhit/1.1 Facebot Twitterbot/1.0"}
    out = ClickHandler(make_snapshot()).handle("GET", "/Ab3dEf7h", HOST, headers, "", NOW)
    assert out.status == 200 and out.answer == "preview-page"
    body = out.body.decode()
    assert '<meta property="og:title" content="Spring &quot;sale&quot; &lt;b&gt;">' in body
    assert 'content="20% off &amp; more"' in body
    assert 'og:image" content="https://img.acme.example/s.jpg"' in body
    assert "noindex" in body and 'url=https://www.acme.example/spring?hero=tents"' in body
    assert "Ab3dEf7h" not in body and "cust-1001" not in body
    ev = event(out)
    assert ev.verdict == "preview" and ev.reasons and ev.dest == "https://www.acme.example/spring?hero=tents"


def test_prefetch_gets_an_answer_no_browser_keeps(make_snapshot):
    headers = {**HUMAN_HEADERS, "sec-purpose": "prefetch"}
    out = ClickHandler(make_snapshot()).handle("GET", "/Ab3dEf7h", HOST, headers, "", NOW)
    assert out.status == PREFETCH_STATUS and out.answer == "prefetch" and out.body == b""
    assert dict(out.headers)["cache-control"] == "no-store"
    assert "location" not in dict(out.headers)


def test_bots_get_the_same_redirect_as_humans(make_snapshot):
    out = ClickHandler(make_snapshot()).handle("GET", "/Ab3dEf7h", HOST, {"user-agent": "curl/8.5.0"}, "", NOW)
    ev = event(out)
    assert out.status == 302 and ev.verdict == "bot" and ev.reasons


def test_head_is_judged_and_logged_with_its_method(make_snapshot):
    out = ClickHandler(make_snapshot()).handle("HEAD", "/Ab3dEf7h", HOST, HUMAN_HEADERS, "", NOW)
    ev = event(out)
    assert ev.method == "HEAD" and ev.status == out.status


def test_routing_failure_degrades_to_the_default_route(make_snapshot):
    h = ClickHandler(make_snapshot())

    class Broken:
        def resolve(self, *a, **k):
            raise RuntimeError("boom")

    h.campaigns[0].route = Broken()
    out = h.handle("GET", "/Ab3dEf7h", HOST, HUMAN_HEADERS, "", NOW)
    assert out.status == 302 and dict(out.headers)["location"].endswith("hero=tents")
    assert "routing-error" in event(out).reasons and h.errors == 1


def test_logged_headers_are_whitelisted_and_bounded(make_snapshot):
    headers = {**HUMAN_HEADERS, "cookie": "sid=secret", "authorization": "Bearer x",
               "x-forwarded-for": "10.1.2.3", "referer": "https://user:pw@mail.example:443/inbox?id=7#x",
               "accept": "a" * 5000}
    ev = event(ClickHandler(make_snapshot()).handle("GET", "/Ab3dEf7h", HOST, headers, "", NOW))
    assert "cookie" not in ev.headers and "authorization" not in ev.headers
    assert "x-forwarded-for" not in ev.headers
    assert ev.headers["referer"] == "https://mail.example"
    assert len(ev.headers["accept"]) == 256


@pytest.mark.parametrize(
    ("url", "origin"),
    [
        ("https://Mail.Example/x?y", "https://mail.example"),
        ("http://[2001:db8::1]:8080/p", "http://[2001:db8::1]"),
        ("android-app://com.google.android.gm/", "android-app://com.google.android.gm"),
        ("not a url", ""),
    ],
)
def test_referer_origin(url, origin):
    assert _origin(url) == origin


def test_hostile_token_is_logged_printable_and_cut(make_snapshot):
    out = ClickHandler(make_snapshot()).handle("GET", "/" + "\x1b[31m" * 50, HOST, {}, "", NOW)
    ev = event(out)
    assert ev.token is not None and len(ev.token) <= 64 and ev.token.isprintable()
