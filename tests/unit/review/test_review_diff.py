"""The review diff (issue 8): what changes for recipients, from compiled records."""

from __future__ import annotations

import msgspec
import pytest
from review_factories import MSG, T, campaign, rev

from engine.review.diff import (
    Mark,
    Risk,
    diff_revisions,
    show_template,
    template_host,
    unreachable_rules,
)
from engine.snapshot import (
    BotPolicy,
    BotSignal,
    Country,
    Device,
    Endpoint,
    Finding,
    Rule,
    VariantArm,
)


def items(review, cid=None):
    out = []
    for c in review.campaigns:
        if cid is None or c.id == cid:
            for s in c.sections:
                out += s.items
    return out


def test_identical_revisions_have_no_change():
    r = diff_revisions(rev(campaign(), label="main"), rev(campaign(), label="pr"))
    assert not r.changed and r.campaigns == [] and r.policies == []
    assert r.summary().startswith("No change for recipients")


def test_a_new_destination_domain_outside_the_allowlist_is_flagged():
    head = campaign(routes=[*campaign().routes[:1], Rule("de", [Country(["DE"])], T("http://shop.partner.example/de"))])
    r = diff_revisions(rev(campaign()), rev(head))
    (item,) = items(r)
    assert item.mark is Mark.CHANGED and item.label == "rule de: destination"
    assert (item.before, item.after) == ("https://www.acme.example/de", "http://shop.partner.example/de")
    assert set(item.risks) == {Risk.NEW_DOMAIN, Risk.OUTSIDE_ALLOWLIST, Risk.HTTP}
    assert r.routes_changed == 1
    assert "1 × new domain" in r.summary()


def test_a_shortener_is_flagged_and_a_known_domain_is_not():
    head = campaign(default=T("https://bit.ly/abc"), not_yet_live=T("https://www.acme.example/soon"))
    r = diff_revisions(rev(campaign()), rev(head))
    by_label = {i.label: i for i in items(r)}
    assert Risk.SHORTENER in by_label["default destination"].risks
    assert by_label["before the start"].mark is Mark.ADDED and by_label["before the start"].risks == ()


@pytest.mark.parametrize(
    ("routes", "expected"),
    [
        pytest.param([Rule("a", [], T("https://x/")), Rule("b", [Device(["ios"])], T("https://y/"))], {"b"},
                     id="a rule without conditions shadows the rest"),
        pytest.param([Rule("a", [Device(["ios"])], T("https://x/")),
                      Rule("b", [Device(["ios"]), Country(["DE"])], T("https://y/"))], {"b"},
                     id="earlier conditions are a subset"),
        pytest.param([Rule("a", [Device(["ios"]), Country(["DE"])], T("https://x/")),
                      Rule("b", [Device(["ios"])], T("https://y/"))], set(),
                     id="narrower rule first is fine"),
    ],
)
def test_unreachable_rules(routes, expected):
    assert unreachable_rules(routes) == expected


def test_rules_added_removed_reordered_and_newly_unreachable():
    base = campaign()
    head = campaign(routes=[
        Rule("de", [Country(["DE"])], T("https://www.acme.example/de")),
        Rule("ios", [Device(["ios"])], T("https://apps.apple.com/app/id1")),
        Rule("de-ios", [Country(["DE"]), Device(["ios"])], T("https://www.acme.example/de/app")),
    ])
    r = diff_revisions(rev(base), rev(head))
    labels = [(i.mark, i.label) for i in items(r)]
    assert (Mark.ADDED, "rule de-ios") in labels
    assert (Mark.CHANGED, "rule order (first match wins)") in labels
    added = next(i for i in items(r) if i.label == "rule de-ios")
    assert Risk.UNREACHABLE in added.risks and "unreachable" in added.after
    order = next(i for i in items(r) if i.label.startswith("rule order"))
    assert (order.before, order.after) == ("ios → de", "de → ios")
    removed = diff_revisions(rev(head), rev(base))
    assert (Mark.REMOVED, "rule de-ios") in [(i.mark, i.label) for i in items(removed)]


def test_message_crossing_a_segment_boundary_and_dropping_opt_out():
    longer = msgspec.structs.replace(MSG, sample="Acme: " + "x" * 200, segments=3, has_opt_out=False,
                                     template="Acme: long {{ link }}")
    r = diff_revisions(rev(campaign()), rev(campaign(message=longer)))
    by_label = {i.label: i for i in items(r)}
    assert by_label["message text"].multiline and by_label["message text"].before == MSG.sample
    assert set(by_label["length"].risks) == {Risk.SEGMENTS_UP, Risk.OVER_BUDGET}
    assert by_label["length"].before == "GSM-7, 1 segment (link 32 chars)"
    assert by_label["length"].after == "GSM-7, 3 segments (link 32 chars)"
    assert by_label["opt-out wording"].risks == (Risk.OPT_OUT_DROPPED,)


def test_unicode_switches_encoding():
    ucs = msgspec.structs.replace(MSG, sample=MSG.sample + " 🎉", encoding="UCS-2", segments=2)
    r = diff_revisions(rev(campaign()), rev(campaign(message=ucs)))
    length = next(i for i in items(r) if i.label == "length")
    assert set(length.risks) == {Risk.SEGMENTS_UP, Risk.ENCODING}


def test_variants_weights_and_reshuffle():
    base = campaign(variants=[VariantArm("a", 50), VariantArm("b", 50)], experiment="e1")
    head = campaign(variants=[VariantArm("a", 80), VariantArm("b", 10), VariantArm("hold", 10, True)],
                    experiment="e2")
    r = diff_revisions(rev(base), rev(head))
    by_label = {i.label: i for i in items(r)}
    assert by_label["variant a"].after == "weight 80, 80%"
    assert by_label["variant hold"].mark is Mark.ADDED and "holdout" in by_label["variant hold"].after
    assert by_label["experiment salt"].risks == (Risk.RESHUFFLE,)


def test_schedule_is_shown_in_the_campaign_zone():
    r = diff_revisions(rev(campaign()), rev(campaign(ends_at=1_805_086_400, retain_until=1_812_862_400)))
    by_label = {i.label: i for i in items(r)}
    assert by_label["ends"].after.endswith("EDT") or by_label["ends"].after.endswith("EST")
    assert by_label["links resolve until"].mark is Mark.ADDED


def test_added_and_removed_campaigns_and_required_reviewers():
    political = campaign("vote", name="Get out the vote", category="political")
    r = diff_revisions(rev(campaign()), rev(political))
    marks = {c.id: c for c in r.campaigns}
    assert marks["vote"].mark is Mark.ADDED and marks["spring"].mark is Mark.REMOVED
    assert marks["vote"].reviewers == ("@acme/compliance-political",)
    assert r.reviewers == ("@acme/compliance-political",)
    assert "links resolve" in [i.label for s in marks["spring"].sections for i in s.items]
    assert r.summary().startswith("Campaigns: 1 added, 1 removed")


def test_new_findings_are_flagged_and_resolved_ones_listed():
    f_old = Finding("L101", "warning", "old problem")
    f_new = Finding("L205", "error", "destination uses http")
    r = diff_revisions(rev(campaign(findings=[f_old])), rev(campaign(findings=[f_new])))
    by_mark = {i.mark: i for i in items(r)}
    assert by_mark[Mark.ADDED].risks == (Risk.FINDING,) and by_mark[Mark.REMOVED].before == "old problem"


def test_policies_and_webhooks_never_show_a_query_string():
    p1 = BotPolicy("default", "v1", [BotSignal("method", "preview", "head-request")])
    p2 = BotPolicy("default", "v2", [BotSignal("method", "preview", "head-request"),
                                    BotSignal("user-agent", "bot", "known-crawler")])
    e1 = Endpoint("crm", "https://hooks.acme.example/c", "CRM_SECRET")
    e2 = Endpoint("crm", "https://hooks.other.example/c?api_key=s3cr3t", "CRM_SECRET_2", include_user_agent=True)
    r = diff_revisions(rev(campaign(), policies=[p1], endpoints=[e1]), rev(campaign(), policies=[p2], endpoints=[e2]))
    text = repr(r)
    assert "s3cr3t" not in text and "(query hidden)" in text
    pol = {i.label: i for s in r.policies for i in s.items}
    assert "signals added: known-crawler" in pol["bot policy default"].after
    assert Risk.PRIVACY in pol["webhook crm: user agent in payload"].risks
    assert Risk.NEW_DOMAIN in pol["webhook crm: URL"].risks
    assert pol["webhook crm: secret variable"].after == "CRM_SECRET_2"


def test_the_review_never_holds_a_token():
    r = diff_revisions(rev(campaign()), rev(campaign("other")))
    assert "CAMPAIGNTOKEN" not in repr(r)


def test_template_helpers():
    t = T("https://www.acme.example/stores/{}?hero={}", "store.slug", "variant")
    assert show_template(t) == "https://www.acme.example/stores/{{ store.slug }}?hero={{ variant }}"
    assert template_host(t) == ("https", "www.acme.example")
    assert template_host(T("https://{}.acme.example/", "store.id")) == ("https", "")


def test_store_list_changes_are_listed_by_store_id():
    from engine.snapshot import Store, StoreIndex, StoreSet

    def ss(*stores):
        return StoreSet("acme", "stores/acme.csv", list(stores), StoreIndex(1.0, {}))

    soho = Store("nyc-soho", "Acme SoHo", 40.7233, -74.003, "America/New_York", [[(540, 1260)]] * 7)
    bk = Store("nyc-bk", "Acme Brooklyn", 40.6782, -73.9442, "America/New_York")
    bos = Store("bos", "Acme Boston", 42.3503, -71.081, "America/New_York")
    soho_late = msgspec.structs.replace(soho, hours=[[(540, 1320)]] * 5 + [[]] * 2)
    r = diff_revisions(rev(campaign(), storesets=[ss(soho, bk)]), rev(campaign(), storesets=[ss(soho_late, bos)]))
    (section,) = r.policies
    assert section.title == "Store lists"  # no campaign of the head routes to stores
    assert [(i.mark, i.label) for i in section.items] == [
        (Mark.ADDED, "store acme/bos"), (Mark.REMOVED, "store acme/nyc-bk"),
        (Mark.CHANGED, "store acme/nyc-soho: opening hours")]
    assert section.items[-1].before == "Mon-Sun 09:00-21:00"
    assert section.items[-1].after == "Mon-Fri 09:00-22:00; Sat-Sun closed"
