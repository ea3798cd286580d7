"""Stream rules 2 and 3 as one backward pass per token (``engine.analytics._rules.moved``), on hand-made clicks.

The property tests in test_stream.py hold the whole stream step equal to
``engine.bots.rejudge_stream``; these pin the cases a running minimum and
maximum can get wrong: a later click whose value is below the click's own
while another equals it, the boundary between two tokens, clicks before the
click (not "later"), and a missing address or ASN.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from engine.analytics._rules import BURST, DATACENTER_THEN_PHONE, FETCH_BEFORE_TAP, moved

_FIELDS = ("token", "ip", "asn", "reasons", "human", "movable", "phone", "burst", "early")


def click(token: str, ip: str = "", asn: int | None = None, *, verdict: str = "human", reasons: str = "[]",
          phone: bool = False, burst: bool = False, early: bool = False) -> dict:
    return {"token": token, "ip": ip, "asn": asn, "reasons": reasons, "human": verdict == "human",
            "movable": verdict in ("human", "suspect"), "phone": phone, "burst": burst, "early": early}


def rules_of(clicks: list[dict], datacenter: tuple[str, ...] = ("datacenter",)) -> dict[int, int]:
    """``{row: rule}`` for the moved clicks (rows numbered in the given order, which is the stream order)."""
    table = pa.table({
        "rid": pa.array(range(len(clicks)), pa.uint32()),
        "ts": pa.array([1_800_000_000_000 + i for i in range(len(clicks))], pa.int64()),
        **{f: pa.array([c[f] for c in clicks], pa.int64() if f == "asn" else None) for f in _FIELDS},
    })
    out = moved(table, datacenter)
    return dict(zip(out.column("rid").to_pylist(), out.column("rule").to_pylist(), strict=True))


def test_an_early_fetch_then_a_person_on_another_address_is_fetch_before_tap():
    clicks = [click("T1", "10.0.1.0/24", verdict="suspect", early=True), click("T1", "10.0.2.0/24")]
    assert rules_of(clicks) == {0: FETCH_BEFORE_TAP}


def test_a_person_on_the_same_address_moves_nothing():
    clicks = [click("T1", "10.0.1.0/24", verdict="suspect", early=True), click("T1", "10.0.1.0/24")]
    assert rules_of(clicks) == {}


@pytest.mark.parametrize("later", [["B", "A"], ["A", "B"], ["A", "A", "B"], ["B", "A", "A"]])
@pytest.mark.parametrize("seen_first", ["A", "B"])
def test_another_address_later_is_seen_whether_it_sorts_above_or_below_its_own(later, seen_first):
    # The click's own address "A" is also among the later ones, so only one
    # of the minimum and maximum of the later addresses differs from it.
    # Which one depends on how values are numbered: a click of another token
    # before it shows ``seen_first`` first.
    a, b = "10.0.5.0/24", "10.0.1.0/24"
    named = {"A": a, "B": b}
    clicks = [click("T0", named[seen_first], verdict="preview"), click("T1", a, verdict="suspect", early=True)]
    clicks += [click("T1", named[x]) for x in later]
    # the early click is the only one that can move
    assert rules_of(clicks) == {1: FETCH_BEFORE_TAP}


@pytest.mark.parametrize("own_asn, later_asns", [(7922, [7922, 16509]), (16509, [7922, 16509]), (16509, [16509, 7922])])
@pytest.mark.parametrize("seen_first", [7922, 16509])
def test_without_addresses_the_asn_decides_above_or_below(own_asn, later_asns, seen_first):
    clicks = [click("T0", asn=seen_first, verdict="preview"), click("T1", asn=own_asn, verdict="suspect", early=True)]
    clicks += [click("T1", asn=a) for a in later_asns]
    assert rules_of(clicks) == {1: FETCH_BEFORE_TAP}


def test_an_addressed_click_compares_an_unaddressed_later_click_by_asn():
    differ = [click("T1", "10.0.1.0/24", 7922, verdict="suspect", early=True), click("T1", "", 16509)]
    same = [click("T1", "10.0.1.0/24", 7922, verdict="suspect", early=True), click("T1", "", 7922)]
    assert rules_of(differ) == {0: FETCH_BEFORE_TAP}
    assert rules_of(same) == {}
    for seen_first in (7922, 16509):  # a missing ASN never equals nor differs from one, however numbered
        no_own_asn = [click("T0", "10.0.9.0/24", seen_first, verdict="preview"),
                      click("T1", "10.0.1.0/24", None, verdict="suspect", early=True), click("T1", "", 16509)]
        assert rules_of(no_own_asn) == {}, seen_first


def test_an_unaddressed_click_compares_by_asn_and_needs_one_on_both_sides():
    assert rules_of([click("T1", "", None, verdict="suspect", early=True), click("T1", "10.0.1.0/24", 7922)]) == {}
    assert rules_of([click("T0", "", 16509, verdict="preview"), click("T1", "", None, verdict="suspect", early=True),
                     click("T1", "10.0.1.0/24", 7922)]) == {}
    assert rules_of([click("T1", "", 16509, verdict="suspect", early=True), click("T1", "10.0.1.0/24", None)]) == {}
    assert rules_of([click("T1", "", 16509, verdict="suspect", early=True), click("T1", "10.0.1.0/24", 7922)]) == {
        0: FETCH_BEFORE_TAP}


def test_a_click_before_it_or_another_tokens_click_never_counts_as_later():
    person_first = [click("T1", "10.0.2.0/24"), click("T1", "10.0.1.0/24", verdict="suspect", early=True)]
    assert rules_of(person_first) == {}
    # T1's early fetch, then T2's person on another address: another token
    two_tokens = [click("T1", "10.0.1.0/24", verdict="suspect", early=True), click("T2", "10.0.2.0/24")]
    assert rules_of(two_tokens) == {}
    # ... and with the tokens the other way round (the running maximum restarts at each token)
    many = [click("T0", "10.0.9.0/24"), click("T0", "10.0.8.0/24"),
            click("T1", "10.0.1.0/24", verdict="suspect", early=True), click("T1", "10.0.1.0/24"),
            click("T2", "10.0.2.0/24", 99)]
    assert rules_of(many) == {}
    # a move in the first of several tokens (each token's band of values is its own)
    first_moves = [click("T1", "10.0.1.0/24", verdict="suspect", early=True), click("T1", "10.0.2.0/24"),
                   click("T2", "10.0.3.0/24"), click("T3", "", 7922, verdict="suspect", early=True)]
    assert rules_of(first_moves) == {0: FETCH_BEFORE_TAP}


def test_only_a_qualifying_later_click_confirms_a_person():
    fetch = click("T1", "10.0.1.0/24", verdict="suspect", early=True)
    assert rules_of([fetch, click("T1", "10.0.2.0/24", verdict="suspect")]) == {}  # not a human click
    assert rules_of([fetch, click("T1", "10.0.2.0/24", burst=True)]) == {1: BURST}  # itself moved by rule 1
    assert rules_of([fetch, click("T1", "10.0.2.0/24", reasons='["datacenter:aws"]')]) == {}  # a datacenter
    assert rules_of([fetch, click("T1", "10.0.2.0/24", reasons='["datacenters"]')]) == {0: FETCH_BEFORE_TAP}


def test_a_datacenter_then_a_phone_is_rule_three_and_needs_the_phone():
    dc = click("T1", "10.0.1.0/24", verdict="human", reasons='["timing","datacenter:gcp"]')
    assert rules_of([dc, click("T1", "10.0.2.0/24", phone=True)]) == {0: DATACENTER_THEN_PHONE}
    assert rules_of([dc, click("T1", "10.0.2.0/24", phone=False)]) == {}
    # a reason base is the text before the first ":"; the names come from the caller
    assert rules_of([dc, click("T1", "10.0.2.0/24", phone=True)], datacenter=("gcp",)) == {}
    assert rules_of([click("T1", "10.0.1.0/24", reasons='["hosting:x"]'), click("T1", "10.0.2.0/24", phone=True)],
                    datacenter=("hosting",)) == {0: DATACENTER_THEN_PHONE}


def test_fetch_before_tap_comes_before_datacenter_then_phone_and_burst_before_both():
    both = click("T1", "10.0.1.0/24", verdict="suspect", reasons='["datacenter"]', early=True)
    assert rules_of([both, click("T1", "10.0.2.0/24", phone=True)]) == {0: FETCH_BEFORE_TAP}
    burst = click("T1", "10.0.1.0/24", verdict="suspect", reasons='["datacenter"]', early=True, burst=True)
    assert rules_of([burst, click("T1", "10.0.2.0/24", phone=True)]) == {0: BURST}


def test_verdicts_that_never_move_stay():
    for verdict in ("preview", "scanner", "bot", "unjudged"):
        assert rules_of([click("T1", "10.0.1.0/24", verdict=verdict, early=True), click("T1", "10.0.2.0/24")]) == {}


def test_rows_out_of_token_or_time_order_are_refused():
    table = pa.table({"rid": pa.array([0, 1], pa.uint32()), "ts": pa.array([5, 4], pa.int64()),
                      **{f: pa.array([c[f] for c in (click("T1"), click("T1"))], pa.int64() if f == "asn" else None)
                         for f in _FIELDS}})
    with pytest.raises(RuntimeError, match="not in"):
        moved(table, ())
    shuffled = table.set_column(table.schema.get_field_index("token"), "token", pa.array(["T2", "T1"]))
    shuffled = shuffled.set_column(1, "ts", pa.array([4, 5], pa.int64()))
    with pytest.raises(RuntimeError, match="not in"):
        moved(shuffled, ())


def test_no_clicks():
    assert rules_of([]) == {}
