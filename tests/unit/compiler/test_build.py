"""build -> write: records, holdouts, retired campaigns, determinism, no partial output."""

from __future__ import annotations

import csv
import os
import stat
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from backhalf_fixtures import CLOCK, KEY, campaign, fictional_numbers, plan, seeded, write_audience

from engine.compiler._audience import AudienceError
from engine.compiler._build import BindingError, BuildOptions, compile_plan
from engine.compiler._render import MessageError
from engine.routing import assign_variant
from engine.snapshot import SnapshotError, TokenRecord, open_snapshot


def opts(tmp: Path, audiences: dict[str, Path], **kw) -> BuildOptions:
    kw.setdefault("recipient_key", KEY)
    kw.setdefault("clock", CLOCK)
    kw.setdefault("randbytes", seeded())
    return BuildOptions(out=tmp / "build", audiences=audiences, check_git=False, **kw)


def manifest_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture
def audience(tmp_path: Path) -> Path:
    return write_audience(tmp_path / "spring.csv", fictional_numbers(60, seed=5))


def test_snapshot_and_manifest_agree(tmp_path: Path, audience: Path) -> None:
    res = compile_plan(plan(), opts(tmp_path, {"spring": audience}))
    rows = manifest_rows(res.manifest)
    with open_snapshot(res.snapshot, verify=True) as snap:
        c = snap.campaigns[0]
        tokens = dict(snap.iter_tokens())
        assert c.recipients == 60 and c.campaign_token in tokens
        assert tokens[c.campaign_token].recipient == "" and tokens[c.campaign_token].variant == -1
        assert c.zones == ["America/New_York", "America/Chicago"]
        assert c.message is not None and c.message.has_opt_out and c.message.segments == 1
        by_rid = {r.recipient: (t, r) for t, r in tokens.items() if r.recipient}
        assert len(by_rid) == 60
        holdout = [rid for rid, (_, r) in by_rid.items() if c.variants[r.variant].holdout]
        assert holdout, "the seed should put somebody in the 10% holdout"
        assert {row["recipient_id"] for row in rows} == set(by_rid) - set(holdout)
        for row in rows:
            token, rec = by_rid[row["recipient_id"]]
            assert row["link"] == f"https://spring.example/{token}"
            assert row["message"] == f"Acme: spring sale {row['link']} Reply STOP to opt out"
            assert row["variant"] == c.variants[rec.variant].name and row["campaign"] == "spring"
            assert row["phone_e164"].startswith("+1")
        for token, rec in by_rid.values():
            assert rec.variant == assign_variant(token, c.experiment, c.variants)
            assert rec.store in (-1, 0, 1) and rec.zone in (-1, 0, 1)
    assert res.campaigns[0].holdout == len(holdout)
    assert res.campaigns[0].messaged == len(rows)


def test_manifest_is_owner_only(tmp_path: Path, audience: Path) -> None:
    res = compile_plan(plan(), opts(tmp_path, {"spring": audience}))
    assert stat.S_IMODE(os.stat(res.manifest).st_mode) == 0o600


def test_same_inputs_same_snapshot(tmp_path: Path, audience: Path) -> None:
    a = compile_plan(plan(), opts(tmp_path / "a", {"spring": audience}))
    b = compile_plan(plan(), opts(tmp_path / "b", {"spring": audience}))
    c = compile_plan(plan(), opts(tmp_path / "c", {"spring": audience}, randbytes=seeded(99)))
    assert a.meta.checksum == b.meta.checksum != c.meta.checksum
    # LMDB pages carry unused bytes; the content (and its checksum) is what is reproducible.
    with open_snapshot(a.snapshot) as sa, open_snapshot(b.snapshot) as sb:
        assert list(sa.iter_tokens()) == list(sb.iter_tokens())
    assert a.manifest.read_bytes() == b.manifest.read_bytes()


def test_removed_campaign_is_kept_retired_until_retention(tmp_path: Path, audience: Path) -> None:
    retain = int((CLOCK + timedelta(days=30)).timestamp())
    other = write_audience(tmp_path / "other.csv", fictional_numbers(5, seed=9))
    both = plan(campaign(retain_until=retain), campaign("fall", audience="fall", variants=False))
    first = compile_plan(both, opts(tmp_path / "1", {"spring": audience, "fall": other}))
    only_fall = plan(campaign("fall", audience="fall", variants=False))
    second = compile_plan(only_fall, opts(tmp_path / "2", {"fall": other}, previous=first.snapshot,
                                          clock=CLOCK + timedelta(days=1)))
    with open_snapshot(first.snapshot) as s1, open_snapshot(second.snapshot) as s2:
        assert [c.id for c in s2.campaigns] == ["fall", "spring"]
        assert s2.campaigns[1].retired and s2.campaigns[1].recipients == 0
        assert "acme" in s2.storesets
        old = {t: (s1.campaigns[r.campaign].id, r.recipient) for t, r in s1.iter_tokens()}
        new = {t: (s2.campaigns[r.campaign].id, r.recipient) for t, r in s2.iter_tokens()}
        assert old == new  # every token means what it meant; indices were remapped
    assert second.campaigns[1].retired and second.campaigns[1].retired_tokens == 60
    third = compile_plan(only_fall, opts(tmp_path / "3", {"fall": other}, previous=second.snapshot,
                                         clock=CLOCK + timedelta(days=31)))
    assert third.forgotten_campaigns == ["spring"]
    with open_snapshot(third.snapshot) as s3:
        assert [c.id for c in s3.campaigns] == ["fall"]
        assert s3.meta.counts["tokens"] == 6


def test_attributes_follow_campaign_attr_names(tmp_path: Path, audience: Path) -> None:
    cp = campaign()
    cp = type(cp)(record=msgspec.structs.replace(cp.record, attr_names=[]), audience=cp.audience,
                  message_template="Hi {{ attr.tier }} {{ link }}", token_length=8)
    res = compile_plan(plan(cp), opts(tmp_path, {"spring": audience}))
    with open_snapshot(res.snapshot) as snap:
        assert all(r.attrs == [] for _, r in snap.iter_tokens())
    tiers = {row["message"].split()[1] for row in manifest_rows(res.manifest)}
    assert tiers == {"gold", "silver", "bronze"}


def _assert_nothing_written(out: Path) -> None:
    assert not out.exists() or sorted(p.name for p in out.iterdir()) == []


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("unbound audience", BindingError),
        ("missing column", AudienceError),
        ("phone in contact id", AudienceError),
        ("template fails", MessageError),
        ("corrupt previous", SnapshotError),
    ],
)
def test_errors_leave_nothing_behind(tmp_path: Path, audience: Path, case: str, error: type) -> None:
    audiences = {"spring": audience}
    kw: dict = {}
    cp = campaign()
    if case == "unbound audience":
        audiences = {}
    elif case == "missing column":
        bad = tmp_path / "bad.csv"
        bad.write_text("phone\n+12125550101\n")
        audiences = {"spring": bad}
    elif case == "phone in contact id":
        numbers = fictional_numbers(30, seed=1)
        audiences = {"spring": write_audience(tmp_path / "pii.csv", numbers,
                                              ids=[f"C{i}" for i in range(29)] + [numbers[-1]])}
    elif case == "template fails":
        cp = campaign(message="{{ link }} {{ attr.nope.deeper }}")
    elif case == "corrupt previous":
        prev = tmp_path / "prev.lmdb"
        prev.write_bytes(b"not lmdb" * 1000)
        kw["previous"] = prev
    with pytest.raises(error) as info:
        compile_plan(plan(cp), opts(tmp_path, audiences, **kw))
    _assert_nothing_written(tmp_path / "build")
    assert "555" not in str(info.value)


def test_failed_recompile_keeps_the_previous_output(tmp_path: Path, audience: Path) -> None:
    good = compile_plan(plan(), opts(tmp_path, {"spring": audience}))
    before = (good.snapshot.read_bytes(), good.manifest.read_bytes())
    with pytest.raises(MessageError):
        compile_plan(plan(campaign(message="{{ link }} {{ undefined_name }}")), opts(tmp_path, {"spring": audience}))
    assert (good.snapshot.read_bytes(), good.manifest.read_bytes()) == before
    assert sorted(p.name for p in good.snapshot.parent.iterdir()) == ["manifest.csv", "snapshot.lmdb"]


def test_default_previous_is_the_output_snapshot(tmp_path: Path, audience: Path) -> None:
    first = compile_plan(plan(), opts(tmp_path, {"spring": audience}))
    second = compile_plan(plan(), opts(tmp_path, {"spring": audience}, randbytes=seeded(123)))
    assert second.previous == first.snapshot.resolve()
    assert second.campaigns[0].kept_tokens == 60 and second.campaigns[0].new_tokens == 0
    assert second.meta.checksum == first.meta.checksum


def test_segment_overruns_are_counted(tmp_path: Path, audience: Path) -> None:
    long = "Acme: " + "x" * 300 + " {{ link }} Reply STOP to opt out ’"
    res = compile_plan(plan(campaign(message=long)), opts(tmp_path, {"spring": audience}))
    s = res.campaigns[0]
    assert s.over_segments == s.messaged > 0
    assert s.ucs2 == s.messaged and s.max_segments == 6


def test_isolated_writer_reports_child_failures(tmp_path: Path) -> None:
    """A failure inside the forked writer surfaces in the build, and nothing is left behind."""
    from engine.compiler._writer import SnapshotWriter

    profiles = [(0, -1, -1, -1, [], False), (0, 1, 2, 3, ["gold"], True)]
    n = 40_000  # more than a pipe holds
    tokens = [f"T{i:07d}" for i in range(n)]
    pids = [i % 2 for i in range(n)]
    rids = [f"R{i}" for i in range(n)]
    rids[7] = "nul\x00inside"  # a batch that cannot travel as NUL-joined columns
    with SnapshotWriter() as writer, pytest.raises(RuntimeError, match="strictly increasing"):
        writer.write(tmp_path / "s.lmdb", campaigns=[campaign().record], profiles=profiles,
                     tokens=["b", "a", *tokens], pids=[0, 0, *pids], rids=["x", "y", *rids])
    assert list(tmp_path.iterdir()) == []
    with SnapshotWriter() as writer:
        meta = writer.write(tmp_path / "s.lmdb", campaigns=[campaign().record], profiles=profiles,
                            tokens=tokens, pids=pids, rids=rids)
    assert meta.counts["tokens"] == n
    with open_snapshot(tmp_path / "s.lmdb", verify=True) as snap:
        got = list(snap.iter_tokens())
    assert [t for t, _ in got] == tokens
    assert got[7][1].recipient == "nul\x00inside"
    assert got[20_001][1] == TokenRecord(0, "R20001", 1, 2, 3, ["gold"], True)


def test_suppressed_numbers_are_neither_tokened_nor_messaged(tmp_path: Path) -> None:
    numbers = fictional_numbers(10, seed=4)
    aud = write_audience(tmp_path / "a.csv", numbers)
    stop = tmp_path / "stop.txt"
    national = f"({numbers[0][2:5]}) {numbers[0][5:8]}-{numbers[0][8:]}"
    stop.write_text(f"{national}\n{numbers[1]}\nnot-a-number\n")
    res = compile_plan(plan(campaign(variants=False)), opts(tmp_path, {"spring": aud}, suppression=stop))
    s = res.campaigns[0]
    assert s.stats is not None and s.stats.dropped == {"suppressed": 2}
    assert s.recipients == s.messaged == 8 and res.suppression_unreadable == 1
    phones = {r["phone_e164"] for r in manifest_rows(res.manifest)}
    assert phones == set(numbers[2:])
