"""Counts of the report against the hand-computed fixture (tests/golden/report/report_fixture.py)."""

from __future__ import annotations

import csv
import gzip
import re
import shutil

import pytest
import report_fixture as fx

from engine.analytics import (
    ReportOptions,
    build_report,
    render_csv,
    render_html,
    render_json,
    render_table,
    suppress,
)
from engine.bots import compile_policy, default_policy, facts_from_event


def _campaign(rep, cid):
    return next(c for c in rep.data["campaigns"] if c["id"] == cid)


@pytest.mark.parametrize("cid", ["spring", "flu"])
def test_headline_counts_match_the_hand_computed_figures(fixture_report, cid):
    c = _campaign(fixture_report, cid)
    exp = fx.EXPECTED[cid]
    assert c["sent"] == exp["sent"]
    assert c["human_clicks"] == exp["human_clicks"]
    assert c["unique_human_clickers"] == exp["clickers"]
    assert c["machine_only_tokens"] == exp["machine_only_tokens"]
    assert c["ctr"]["rate"] == pytest.approx(exp["clickers"] / exp["sent"], abs=1e-6)
    assert c["ctr"]["low"] < c["ctr"]["rate"] < c["ctr"]["high"]


def test_sent_excludes_holdout_and_keeps_retired(fixture_report):
    c = _campaign(fixture_report, "spring")
    assert (c["sent"], c["holdout_recipients"], c["retired_recipients"]) == (30, 10, 2)
    arms = {a["variant"]: a for a in c["variants"]["arms"]}
    assert {k: (a["recipients"], a["clickers"]) for k, a in arms.items()} == {
        "a": (15, fx.EXPECTED["spring"]["clickers_a"]),
        "b": (15, fx.EXPECTED["spring"]["clickers_b"]),
        "holdout": (10, fx.EXPECTED["spring"]["clickers_holdout"]),
    }
    assert c["holdout_clickers"] == 1
    assert c["human_clicks_campaign_link"] == 2


def test_stream_rejudging_moves_are_reported(fixture_report):
    rj = fixture_report.data["rejudging"]
    moves = {(m["from"], m["to"]): m["clicks"] for m in rj["moves"]}
    assert moves == fx.EXPECTED["spring"]["moved"]
    assert rj["clicks_moved"] == 5
    assert rj["policy"] is None
    reasons = {(r["verdict"], r["reason"]): r["clicks"] for r in _campaign(fixture_report, "spring")["non_human"]["by_reason"]}
    assert reasons[("bot", "stream:burst")] == 3
    assert reasons[("scanner", "stream:fetch-before-tap")] == 1


def test_scanner_then_person_counts_once_as_human(fixture_report, tmp_path):
    out = tmp_path / "pr.csv"
    fixture_report.write_per_recipient(out)
    rows = {(r["campaign"], r["recipient"]): r for r in csv.DictReader(out.read_text().splitlines())}
    assert rows[("spring", "sa02")]["human_clicks"] == "1"
    # sa07's first click (3 s after the send, logged human) became a scanner: one human click left
    assert rows[("spring", "sa07")]["human_clicks"] == "1"
    assert rows[("spring", "sa01")]["human_clicks"] == "2"


def test_previews_only_counts_zero(fixture_report, tmp_path):
    out = tmp_path / "pr.csv"
    fixture_report.write_per_recipient(out)
    recipients = {r["recipient"] for r in csv.DictReader(out.read_text().splitlines())}
    assert "sa09" not in recipients  # previews only
    assert "sa08" not in recipients  # a burst of three addresses: bots
    assert "sb03" not in recipients  # suspect only: neither engaged nor excluded
    assert len(recipients) == fx.EXPECTED["spring"]["clickers"] + 1 + fx.EXPECTED["flu"]["clickers"]  # + holdout sh01


def test_per_recipient_rows_have_first_click_variant_route_store(fixture_report, tmp_path):
    out = tmp_path / "pr.csv"
    n = fixture_report.write_per_recipient(out)
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert n == len(rows)
    sa07 = next(r for r in rows if r["recipient"] == "sa07")
    assert sa07 == {"campaign": "spring", "recipient": "sa07", "holdout": "no",
                    "first_human_click": "2027-03-02T16:25:00Z", "human_clicks": "1", "variant": "a",
                    "route": "store-page", "store": "s-queens"}
    assert next(r for r in rows if r["recipient"] == "sh01")["holdout"] == "yes"


def test_k_suppression_hides_small_cells_only(fixture_report):
    shared = suppress(fixture_report.data, 5)
    c = _campaign(type("R", (), {"data": shared}), "spring")
    stores = {r["store"]: r for r in c["stores"]}
    assert stores["s-brooklyn"]["clickers"] == 6  # 6 >= k: shown
    assert stores["s-queens"]["clickers"] == "<5"  # 2 < k: hidden
    arms = {a["variant"]: a for a in c["variants"]["arms"]}
    assert arms["b"]["clickers"] == "<5" and arms["b"]["rate"] is None and arms["b"]["low"] is None
    assert arms["a"]["clickers"] == 8 and arms["a"]["rate"] is not None
    assert c["unique_human_clickers"] == 11  # totals are not breakdown cells
    # k=1 shows everything; the unsuppressed data is untouched by suppress()
    assert _campaign(type("R", (), {"data": suppress(fixture_report.data, 1)}), "spring")["variants"]["arms"][1]["clickers"] == 3
    assert {r["store"]: r["clickers"] for r in _campaign(fixture_report, "spring")["stores"]}["s-queens"] == 2


def test_orphans_and_policy_versions(fixture_report):
    assert fixture_report.data["orphans_by_hour"] == [
        {"hour": "2027-03-02T16:00:00Z", "requests": 3, "networks": 2, "distinct_tokens": 3}
    ]
    assert {p["policy"]: p["clicks"] for p in fixture_report.data["policies"]} == {fx.POLICY_OLD: 32, fx.POLICY_NEW: 4}


def test_torn_tail_of_active_file_is_not_read(fixture_report):
    assert fixture_report.data["logs"]["lines"] == len(fx.clicks())
    assert fixture_report.data["logs"]["files"] == 3


def test_campaign_and_time_filters(fixture_paths):
    snap, logs = fixture_paths
    with build_report(ReportOptions(logs=str(logs), snapshot=str(snap), campaigns=("flu",))) as rep:
        assert [c["id"] for c in rep.data["campaigns"]] == ["flu"]
        assert rep.data["orphans_by_hour"][0]["requests"] == 3  # orphans are always kept
    until = fx.SEND_MS + 1000 * 1000  # the first 1000 s after the send
    with build_report(ReportOptions(logs=str(logs), snapshot=str(snap), until_ms=until)) as rep:
        flu = _campaign(rep, "flu")
        assert flu["unique_human_clickers"] == 4  # fu01 60 s, fu02 200 s, fu03 700 s, fu06 300 s


def test_rejudge_under_a_policy_judges_every_click_again(fixture_paths):
    snap, logs = fixture_paths
    clf = compile_policy(default_policy())
    with build_report(ReportOptions(logs=str(logs), snapshot=str(snap), classifier=clf)) as rep:
        rj = rep.data["rejudging"]
        assert rj["policy"] == clf.policy_ref
        assert rj["clicks_rejudged"] == len(fx.clicks())
        # every per-click verdict the policy gives is the starting point of the counts
        per_click = [clf.classify(facts_from_event(e)).verdict for e in fx.clicks()]
        moved_first = sum(1 for e, v in zip(fx.clicks(), per_click, strict=True) if v != e.verdict)
        assert rj["clicks_moved"] >= moved_first
        total = sum(c["clicks"] for c in rep.data["campaigns"])
        assert total == len([e for e in fx.clicks() if e.kind == "click"])


def _outputs(rep) -> dict[str, str]:
    shared = suppress(rep.data, 5)
    return {"table": render_table(shared), "json": render_json(shared), "csv": render_csv(shared),
            "html": render_html(shared)}


def test_no_phone_token_or_ip_in_shared_outputs(fixture_report, tmp_path):
    outs = _outputs(fixture_report)
    pr = tmp_path / "pr.csv"
    fixture_report.write_per_recipient(pr)
    outs["per-recipient"] = pr.read_text()
    tokens = {e.token for e in fx.clicks() if e.token}
    ips = {e.ip.split("/")[0].rsplit(".", 1)[0] for e in fx.clicks()}
    digits = fx.PHONE.lstrip("+")
    for name, text in outs.items():
        assert digits not in text, name
        for t in tokens:
            assert t not in text, (name, t)
        for ip in ips:
            assert ip not in text, (name, ip)
        if name != "per-recipient":
            assert not re.search(r"\b(sa|sb|sh|fu)\d\d\b", text), f"recipient id in {name}"
    assert "sa07" in outs["per-recipient"]


@pytest.mark.parametrize(
    "filters",
    [{}, {"campaigns": ("flu",)}, {"until_ms": fx.SEND_MS + 1000 * 1000}, {"since_ms": fx.SEND_MS + 200 * 1000}],
    ids=["all", "campaign", "until", "since"],
)
def test_the_compiled_readers_report_equals_duckdbs(fixture_paths, monkeypatch, tmp_path, filters):
    """Read by the compiled reader (the stream step gathering its rows with Arrow) or by DuckDB alone: one report."""
    from engine.analytics import _scanner

    snap, fixture_logs = fixture_paths
    # the fixture's logs with the gzip file unpacked: the reader then takes every file
    logs = tmp_path / "clicks"
    shutil.copytree(fixture_logs, logs)
    for gz in logs.glob("*.gz"):
        gz.with_suffix("").write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    opts = ReportOptions(logs=str(logs), snapshot=str(snap), **filters)
    gathered = []
    take = _scanner.take
    monkeypatch.setattr(_scanner, "take", lambda *a, **k: gathered.append(1) or take(*a, **k))
    with build_report(opts) as rep:
        got = rep.data
    assert gathered  # the stream step's rows came from the reader's table
    with monkeypatch.context() as m:
        m.setenv(_scanner.READER_ENV, "duckdb")
        with build_report(opts) as rep:
            want = rep.data
    assert got == want
    assert sum(c["clicks"] for c in want["campaigns"]) > 0
    if not filters:
        assert want["rejudging"]["clicks_moved"] > 0  # the stream rules had rows to move
