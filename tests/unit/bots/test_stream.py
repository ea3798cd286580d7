"""Stream rules over one token's clicks, and rebuilding facts from logged clicks."""

from __future__ import annotations

from typing import Any

import pytest

from engine.bots import (
    Classifier,
    RequestFacts,
    StreamRules,
    Verdict,
    facts_from_event,
    rejudge_stream,
)
from engine.clicklog import ClickEvent

from .headers import CURL, SAFARI_IOS

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
T0 = 1_790_000_000_000


def click(ms: int, ip: str, *, verdict: str = "human", reasons: tuple[str, ...] = (), ua: str = IPHONE,
          headers: dict[str, str] | None = None, device: str | None = "ios", since: float | None = None,
          asn: int | None = None, **kw: Any) -> ClickEvent:
    return ClickEvent(
        id=f"01J{ms:020d}", ts=T0 + ms, kind="click", status=302, answer="redirect", verdict=verdict,
        reasons=list(reasons), token="Ab3dE", campaign="spring-sale", recipient="c-1", ip=ip, asn=asn,
        ua=ua, headers=SAFARI_IOS if headers is None else headers, device=device, since_send_s=since, **kw,
    )


def test_facts_from_event_rebuilds_what_the_policy_saw() -> None:
    e = click(0, "203.0.113.0/24", headers={"Accept": "*/*", "sec-fetch-mode": "navigate"},
              since=12.5, asn=64500, method="HEAD")
    facts = facts_from_event(e)
    assert facts == RequestFacts(method="HEAD", user_agent=IPHONE,
                                 headers={"accept": "*/*", "sec-fetch-mode": "navigate"},
                                 client_ip="203.0.113.0", asn=64500, seconds_since_send=12.5)


def test_facts_from_event_without_address() -> None:
    assert facts_from_event(click(0, "")).client_ip is None


def test_fetch_seconds_after_send_then_a_tap_elsewhere_is_a_scanner() -> None:
    events = [click(0, "198.51.100.0/24", since=2.0, device=None),
              click(300_000, "203.0.113.0/24", since=302.0)]
    out = rejudge_stream(events)
    assert out[0] == Verdict("scanner", ("stream:fetch-before-tap",))
    assert out[1] == Verdict("human", ())


def test_fast_tap_alone_stays_human() -> None:
    assert rejudge_stream([click(0, "203.0.113.0/24", since=2.0)]) == [Verdict("human", ())]


def test_fast_tap_then_same_network_stays_human() -> None:
    events = [click(0, "203.0.113.0/24", since=2.0), click(60_000, "203.0.113.0/24", since=62.0)]
    assert [v.verdict for v in rejudge_stream(events)] == ["human", "human"]


def test_burst_from_several_addresses_within_a_second_is_a_bot() -> None:
    events = [click(0, "198.51.100.0/24"), click(200, "192.0.2.0/24"), click(700, "203.0.113.0/24"),
              click(90_000, "203.0.113.0/24")]
    out = rejudge_stream(events)
    assert [v.verdict for v in out] == ["bot", "bot", "bot", "human"]
    assert out[0].reasons == ("stream:burst",)


def test_two_addresses_are_not_a_burst() -> None:
    events = [click(0, "198.51.100.0/24"), click(200, "192.0.2.0/24")]
    assert [v.verdict for v in rejudge_stream(events)] == ["human", "human"]


def test_burst_threshold_is_configurable() -> None:
    events = [click(0, "198.51.100.0/24"), click(200, "192.0.2.0/24")]
    out = rejudge_stream(events, rules=StreamRules(burst_addresses=2))
    assert [v.verdict for v in out] == ["bot", "bot"]


def test_datacenter_then_phone_makes_the_datacenter_click_a_scanner() -> None:
    events = [click(0, "3.80.12.0/24", reasons=("datacenter:asn-16509",), asn=16509, device="desktop"),
              click(3_600_000, "203.0.113.0/24", device="ios")]
    out = rejudge_stream(events)
    assert out[0] == Verdict("scanner", ("datacenter:asn-16509", "stream:datacenter-then-phone"))
    assert out[1] == Verdict("human", ())


def test_rules_never_touch_previews_bots_or_scanners() -> None:
    events = [click(0, "198.51.100.0/24", verdict="preview", reasons=("preview-agent:imessage",), since=1.0),
              click(100, "192.0.2.0/24", verdict="bot", reasons=("http-library:curl",)),
              click(200, "203.0.113.0/24", verdict="preview", reasons=("preview-agent:whatsapp",)),
              click(60_000, "203.0.113.0/24")]
    out = rejudge_stream(events)
    assert [v.verdict for v in out] == ["preview", "bot", "preview", "human"]
    assert all("stream:burst" not in v.reasons for v in out)


def test_output_is_aligned_with_input_order() -> None:
    late = click(300_000, "203.0.113.0/24", since=302.0)
    early = click(0, "198.51.100.0/24", since=2.0)
    out = rejudge_stream([late, early])
    assert [v.verdict for v in out] == ["human", "scanner"]


def test_with_a_classifier_each_click_is_judged_again_first(classifier: Classifier) -> None:
    events = [click(0, "198.51.100.0/24", verdict="unjudged", ua="curl/8.4.0", headers=CURL),
              click(1_000, "203.0.113.0/24", verdict="unjudged", since=60.0)]
    out = rejudge_stream(events, classifier)
    assert out == [Verdict("bot", ("http-library:curl",)), Verdict("human", ())]


def test_with_a_classifier_the_network_signal_feeds_datacenter_then_phone(classifier: Classifier) -> None:
    events = [click(0, "5.9.12.0/24", verdict="unjudged", device="desktop", since=900.0),
              click(60_000, "203.0.113.0/24", verdict="unjudged", since=960.0)]
    out = rejudge_stream(events, classifier)
    assert out[0] == Verdict("scanner", ("datacenter:cidr", "stream:datacenter-then-phone"))


def test_nothing_is_modified() -> None:
    events = [click(0, "198.51.100.0/24", since=2.0), click(300_000, "203.0.113.0/24")]
    before = [(e.verdict, list(e.reasons)) for e in events]
    rejudge_stream(events)
    assert [(e.verdict, list(e.reasons)) for e in events] == before


@pytest.mark.parametrize("n", [0, 1])
def test_short_streams(n: int) -> None:
    assert len(rejudge_stream([click(0, "203.0.113.0/24")] * n)) == n


def test_every_header_the_default_policy_reads_is_logged() -> None:
    """Re-judging needs them: a header the policy reads but the log drops would change verdicts."""
    from engine.bots import default_policy
    from engine.clicklog import LOGGED_HEADERS

    read = {"accept", "accept-language", "sec-fetch-mode", "referer"}
    for signal in default_policy().signals:
        read |= set(signal.params.get("headers", {}))
    assert read <= set(LOGGED_HEADERS)


def test_facts_from_an_ipv6_event_use_the_network_address() -> None:
    assert facts_from_event(click(0, "2001:db8:1::/48")).client_ip == "2001:db8:1::"


@pytest.mark.parametrize("ua", [IPHONE, "curl/8.4.0", "facebookexternalhit/1.1 Facebot Twitterbot/1.0", ""])
def test_a_logged_click_re_judges_to_the_live_verdict(classifier: Classifier, ua: str) -> None:
    live = RequestFacts("GET", ua, SAFARI_IOS, client_ip="5.9.12.34", asn=None, seconds_since_send=3.0)
    event = click(0, "5.9.12.0/24", ua=ua, headers=dict(SAFARI_IOS), since=3.0)
    assert classifier.classify(facts_from_event(event)) == classifier.classify(live)
