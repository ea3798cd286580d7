"""Properties that hold for any request: no crash, reasons from a closed vocabulary, no address in them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.bots import RequestFacts, Verdict, compile_policy, default_policy
from engine.bots._lists import CURATED, crawler_entries

CLF = compile_policy(default_policy())
POLICY = default_policy()
CODES = {s.reason for s in POLICY.signals}
DETAILS = (
    {name for entries in CURATED.values() for name, _ in entries}
    | {"head", "post", "put", "delete", "options", "patch", "trace", "connect", "other"}
    | {"purpose", "sec-purpose", "x-purpose", "x-moz", "cidr"}
    | {"not-a-browser", "no-accept-language", "accept-not-html", "no-sec-fetch"}
    | {t for s in POLICY.signals for t in s.params.get("hosts", [])}
    | {f"asn-{a}" for s in POLICY.signals for a in s.params.get("asns", [])}
    | {t for _, tags in crawler_entries() for t in tags}
)

referers = st.text(max_size=30).map(lambda t: f"https://{t}.urldefense.com/x")
header_names = st.sampled_from(["accept", "accept-language", "sec-fetch-mode", "sec-purpose", "purpose",
                                "x-purpose", "x-moz", "referer", "x-requested-with"])
ips = st.one_of(st.none(), st.ip_addresses().map(str), st.text(max_size=20))


@settings(max_examples=150, deadline=None)
@given(
    method=st.one_of(st.sampled_from(["GET", "HEAD", "POST", "get"]), st.text(max_size=12)),
    ua=st.one_of(st.text(max_size=200), st.sampled_from(["curl/8.4.0", "WhatsApp/2.23.20.0 A", ""])),
    headers=st.one_of(
        st.dictionaries(header_names, st.text(max_size=60), max_size=6),
        referers.map(lambda r: {"referer": r}),
    ),
    ip=ips,
    asn=st.one_of(st.none(), st.integers(min_value=0, max_value=2**32 - 1)),
    since=st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True)),
)
def test_any_request_gets_a_verdict_with_known_reasons(method, ua, headers, ip, asn, since) -> None:  # type: ignore[no-untyped-def]
    v = CLF.classify(RequestFacts(method, ua, headers, client_ip=ip, asn=asn, seconds_since_send=since))
    assert isinstance(v, Verdict)
    assert v.verdict in {"human", "preview", "scanner", "bot", "suspect"}
    for reason in v.reasons:
        code, _, detail = reason.partition(":")
        assert code in CODES
        assert not detail or detail in DETAILS, reason
        if ip and len(ip) > 3:
            assert ip not in reason
    assert CLF.answer(v) in {"redirect", "preview-page", "prefetch"}
