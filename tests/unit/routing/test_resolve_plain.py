"""The rule-less fast path (``_resolve_plain``) answers exactly what the general path answers.

``resolve(trace=True)`` always takes the general path (the one explain shows),
so every decision of one warm campaign is compared with a cold campaign's
traced decision, trace aside.
"""

from __future__ import annotations

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.routing import ClickFacts, compile_campaign
from engine.snapshot import Campaign, Template, TokenRecord, VariantArm

NOW = 1_800_000_000
_SLOTS = st.sampled_from(["variant", "route", "attr.first", "attr.zip", "attr.missing", "nonsense"])
_templates = st.builds(
    # one literal more than slots, the last one fixed
    lambda lits, slots: Template([*(lits + [""] * len(slots))[: len(slots)], "/end"], slots),
    st.lists(st.sampled_from(["https://a.example/", "?v=", "&r=", "/x y/"]), max_size=4),
    st.lists(_SLOTS, max_size=3),
)
_campaigns = st.builds(
    lambda default, nyl, exp, arms, starts, ends, retired: Campaign(
        id="c", name="c", owner="o", brand="b", domains=["go.example"], routes=[], default=default,
        not_yet_live=nyl, expired=exp, campaign_token="CT", attr_names=["first", "zip"],
        variants=[VariantArm(f"arm {i}/&", w) for i, w in enumerate(arms)], experiment="e",
        starts_at=starts, ends_at=ends, retired=retired,
    ),
    _templates, st.none() | _templates, st.none() | _templates,
    st.lists(st.integers(1, 5), max_size=3),
    st.none() | st.sampled_from([NOW - 10, NOW + 10]),
    st.none() | st.sampled_from([NOW - 5, NOW + 15]),
    st.booleans(),
)
_records = st.builds(
    lambda recipient, variant, attrs: TokenRecord(campaign=0, recipient=recipient, variant=variant, attrs=attrs),
    st.sampled_from(["", "cust-1"]),
    st.integers(-1, 3),
    st.lists(st.sampled_from(["Zoë", "a&b", "", "x/y?z"]), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(_campaigns, _records, st.sampled_from(["", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "01ARZ3NDEKTSV4RRFFQ69G5FAW"]),
       st.booleans())
def test_plain_path_equals_general_path(camp, rec, click_id, prepared):
    cc = compile_campaign(camp, None)
    assert cc.plain
    ua, lang = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X)", "fr-CA,fr;q=0.9"
    # one compiled campaign across the schedule: the template memo sees every route
    for now in (NOW - 20, NOW, NOW + 20, NOW - 20, NOW):
        facts = ClickFacts(float(now), None, ua, lang, click_id, ("ios", "fr-CA") if prepared else None)
        fast = cc.resolve(rec, facts)
        general = compile_campaign(camp, None).resolve(rec, facts, trace=True)  # cold: no memo yet
        assert general.trace is not None and fast.trace is None
        assert fast == msgspec.structs.replace(general, trace=None), now
