"""Counting recipients a change affects, from two snapshots (issue 8)."""

from __future__ import annotations

from engine.review.impact import audience_impacts
from engine.snapshot import (
    Campaign,
    Device,
    Rule,
    Template,
    TokenRecord,
    open_snapshot,
    write_snapshot,
)


def _campaign(cid: str, default: str, *, retired: bool = False, ios: str = "https://apps.apple.com/app/id1") -> Campaign:
    return Campaign(id=cid, name=cid, owner="o", brand="b", domains=["go.example"],
                    routes=[Rule("ios", [Device(["ios"])], Template([ios]))],
                    default=Template([default]), campaign_token=f"C{cid}", starts_at=1_800_000_000,
                    retired=retired)


def _write(path, campaigns, tokens):
    write_snapshot(path, campaigns=campaigns, tokens=sorted(tokens.items()))
    return open_snapshot(path)


def test_counts_added_removed_and_moved_recipients(tmp_path):
    base_tokens = {f"T{i:03d}": TokenRecord(0, f"r{i}") for i in range(10)}
    base_tokens |= {f"U{i:03d}": TokenRecord(1, f"u{i}") for i in range(4)}
    base_tokens["CA"] = TokenRecord(0, "")  # campaign-level links are not recipients
    head_tokens = dict(base_tokens)
    for i in range(3):  # three recipients left the audience: retired, still resolving
        head_tokens[f"T{i:03d}"] = TokenRecord(0, f"r{i}", retired=True)
    head_tokens |= {f"V{i:03d}": TokenRecord(0, f"new{i}") for i in range(5)}
    with _write(tmp_path / "b.lmdb", [_campaign("a", "https://x.example/1"), _campaign("b", "https://y.example/")],
                base_tokens) as base, \
         _write(tmp_path / "h.lmdb", [_campaign("a", "https://x.example/2"), _campaign("b", "https://y.example/")],
                head_tokens) as head:
        impacts = audience_impacts(base, head)
    a, b = impacts["a"], impacts["b"]
    assert (a.recipients_before, a.recipients_after, a.added, a.removed, a.destination_changed) == (10, 12, 5, 3, 7)
    assert (b.added, b.removed, b.destination_changed) == (0, 0, 0)


def test_a_change_only_some_taps_see_still_counts(tmp_path):
    toks = {f"T{i:03d}": TokenRecord(0, f"r{i}") for i in range(6)}
    with _write(tmp_path / "b.lmdb", [_campaign("a", "https://x.example/")], toks) as base, \
         _write(tmp_path / "h.lmdb", [_campaign("a", "https://x.example/", ios="https://apps.apple.com/app/id2")],
                toks) as head:
        assert audience_impacts(base, head)["a"].destination_changed == 6


def test_a_removed_campaign_counts_its_recipients_as_no_longer_messaged(tmp_path):
    toks = {f"T{i:03d}": TokenRecord(0, f"r{i}") for i in range(4)}
    with _write(tmp_path / "b.lmdb", [_campaign("a", "https://x.example/")], toks) as base, \
         _write(tmp_path / "h.lmdb", [_campaign("a", "https://x.example/", retired=True)], toks) as head:
        a = audience_impacts(base, head)["a"]
    assert (a.recipients_before, a.recipients_after, a.removed, a.destination_changed) == (4, 0, 4, 0)
