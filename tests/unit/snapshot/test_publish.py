"""Publish, refuse, keep, roll back: the deploy contract of a publish folder (issue 8)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from engine.cli import main
from engine.snapshot import Campaign, Template, TokenRecord, open_snapshot, write_snapshot
from engine.snapshot._publish import check_continuity, publish, publish_snapshot, rollback
from engine.snapshot._versions import LocalTarget, PublishError, list_versions

NOW = datetime(2027, 3, 15, 12, 0, tzinfo=UTC)
T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _campaign(cid: str, *, retain_until: datetime | None = None, url: str = "https://www.example/") -> Campaign:
    return Campaign(
        id=cid, name=cid, owner="o", brand="b", domains=["go.example"], routes=[],
        default=Template([url]), campaign_token=f"C{cid}",
        retain_until=int(retain_until.timestamp()) if retain_until else None,
    )


def _build(path, campaigns, tokens, minute=0):
    """tokens: {token: (campaign index, recipient)}."""
    recs = [(t, TokenRecord(campaign=c, recipient=r)) for t, (c, r) in sorted(tokens.items())]
    write_snapshot(path, campaigns=campaigns, tokens=recs, built_at=T0 + timedelta(minutes=minute))
    return path


def _tokens(n, campaign=0, prefix="T"):
    return {f"{prefix}{i:06d}": (campaign, f"r{i}") for i in range(n)}


@pytest.fixture
def pub(tmp_path):
    return tmp_path / "pub"


def test_publish_copies_under_its_version_and_swaps_the_pointer(tmp_path, pub):
    a = _build(tmp_path / "a.lmdb", [_campaign("a")], _tokens(10))
    result = publish(a, pub, now=NOW)
    with open_snapshot(a) as snap:
        version = snap.meta.version
    assert result.version == version and result.previous is None
    assert (pub / "current").is_symlink()
    assert (pub / "current").resolve() == (pub / "snapshots" / f"{version}.lmdb").resolve()
    assert (pub / "snapshots" / f"{version}.lmdb").stat().st_mode & 0o222 == 0  # read-only
    assert version.endswith(snap.meta.checksum[:12])


def test_republishing_the_current_version_changes_nothing(tmp_path, pub):
    a = _build(tmp_path / "a.lmdb", [_campaign("a")], _tokens(3))
    publish(a, pub, now=NOW)
    state = (pub / "history.json").read_bytes()
    again = publish(a, pub, now=NOW + timedelta(hours=1))
    assert not again.changed
    assert json.loads((pub / "history.json").read_bytes())["stack"] == json.loads(state)["stack"]


def test_adding_tokens_and_campaigns_is_allowed(tmp_path, pub):
    publish(_build(tmp_path / "a.lmdb", [_campaign("a")], _tokens(50)), pub, now=NOW)
    toks = _tokens(50) | _tokens(20, campaign=1, prefix="U")
    b = _build(tmp_path / "b.lmdb", [_campaign("a"), _campaign("b")], toks, minute=1)
    result = publish(b, pub, now=NOW)
    assert result.checked_tokens == 50
    with open_snapshot(pub) as snap:
        assert snap.meta.campaigns == ["a", "b"]


def test_campaign_order_may_change_if_tokens_follow(tmp_path, pub):
    publish(_build(tmp_path / "a.lmdb", [_campaign("a"), _campaign("b")],
                   _tokens(5) | _tokens(5, 1, "U")), pub, now=NOW)
    b = _build(tmp_path / "b.lmdb", [_campaign("b"), _campaign("a")], _tokens(5, 1) | _tokens(5, 0, "U"), 1)
    assert publish(b, pub, now=NOW).checked_tokens == 10


@pytest.mark.parametrize(
    ("new_tokens", "expected"),
    [
        pytest.param(_tokens(49), r"a: 1 issued token\(s\) would disappear, but its retention is unlimited",
                     id="a token dropped"),
        pytest.param(_tokens(50) | {"T000007": (1, "r7")}, r"a: 1 issued token\(s\) would now belong to campaign b",
                     id="a token re-pointed to another campaign"),
        pytest.param(_tokens(50) | {"T000003": (0, "someone-else")}, r"a: 1 issued token\(s\) would now name another",
                     id="a token given to another recipient"),
    ],
)
def test_breaking_invariant_2_is_refused_and_changes_nothing(tmp_path, pub, new_tokens, expected):
    a = _build(tmp_path / "a.lmdb", [_campaign("a")], _tokens(50))
    publish(a, pub, now=NOW)
    before = sorted(p.name for p in (pub / "snapshots").iterdir()), (pub / "history.json").read_bytes()
    current = (pub / "current").resolve()
    b = _build(tmp_path / "b.lmdb", [_campaign("a"), _campaign("b")], new_tokens, minute=1)
    with pytest.raises(PublishError, match=expected) as err:
        publish(b, pub, now=NOW)
    assert "Nothing was changed" in str(err.value)
    assert "T000" not in str(err.value) and "r3" not in str(err.value)  # never a token or recipient
    assert (pub / "current").resolve() == current
    assert (sorted(p.name for p in (pub / "snapshots").iterdir()), (pub / "history.json").read_bytes()) == before


def test_tokens_may_go_once_retention_has_ended(tmp_path, pub):
    ended = NOW - timedelta(days=1)
    publish(_build(tmp_path / "a.lmdb", [_campaign("old", retain_until=ended), _campaign("live")],
                   _tokens(10) | _tokens(10, 1, "U")), pub, now=NOW)
    b = _build(tmp_path / "b.lmdb", [_campaign("live")], _tokens(10, 0, "U"), minute=1)
    result = publish(b, pub, now=NOW)
    assert result.checked_tokens == 10
    # ...but not while it still runs
    other = tmp_path / "other"
    publish(tmp_path / "a.lmdb", other, now=ended - timedelta(days=2))
    with pytest.raises(PublishError, match=r"old: 10 issued token.*retention ends 2027-03-14T12:00Z"):
        publish(b, other, now=ended - timedelta(days=1))


def test_continuity_is_a_streaming_merge_over_many_tokens(tmp_path):
    n = 20_000
    a = _build(tmp_path / "a.lmdb", [_campaign("a")], _tokens(n))
    odd = {t: v for i, (t, v) in enumerate(_tokens(n).items()) if i % 1000}
    b = _build(tmp_path / "b.lmdb", [_campaign("a")], odd | _tokens(5, 0, "S"), minute=1)
    with open_snapshot(a) as old, open_snapshot(b) as new:
        report = check_continuity(old, new, now=NOW)
    assert report.checked == n
    assert report.missing == {"a": n // 1000}
    assert not report.ok


def test_corrupt_source_is_refused_before_anything_changes(tmp_path, pub):
    a = _build(tmp_path / "a.lmdb", [_campaign("a")], {f"T{i:05d}": (0, "r" * 40) for i in range(500)})
    a.chmod(0o644)
    data = bytearray(a.read_bytes())
    i = data.find(b"r" * 40, len(data) // 2)
    data[i] = ord("q")
    a.write_bytes(bytes(data))
    with pytest.raises(Exception, match="checksum mismatch"):
        publish(a, pub, now=NOW)
    assert not (pub / "current").exists()
    assert not (pub / "snapshots").exists() or not list((pub / "snapshots").iterdir())


def _publish_series(tmp_path, pub, n, keep=5):
    versions = []
    for k in range(n):
        s = _build(tmp_path / f"s{k}.lmdb", [_campaign("a", url=f"https://www.example/{k}")], _tokens(5), k)
        versions.append(publish(s, pub, keep=keep, now=NOW + timedelta(minutes=k)).version)
    return versions


def test_keep_deletes_old_versions_but_never_current_or_previous(tmp_path, pub):
    vs = _publish_series(tmp_path, pub, 6, keep=3)
    assert LocalTarget(pub).present() == sorted(vs[-3:])
    # keep=1 still leaves the previous one for rollback
    s = _build(tmp_path / "x.lmdb", [_campaign("a", url="https://www.example/x")], _tokens(5), 30)
    result = publish(s, pub, keep=1, now=NOW + timedelta(hours=1))
    assert set(LocalTarget(pub).present()) == {result.version, vs[-1]}
    assert sorted(result.removed) == sorted(vs[-3:-1])


def test_rollback_walks_back_and_a_publish_after_it_keeps_the_good_one_as_previous(tmp_path, pub):
    a, b, c = _publish_series(tmp_path, pub, 3)
    assert rollback(pub, now=NOW + timedelta(hours=1)).version == b
    with open_snapshot(pub) as snap:
        assert snap.version == b
    assert rollback(pub, now=NOW + timedelta(hours=2)).version == a
    with pytest.raises(PublishError, match="nothing earlier to roll back to"):
        rollback(pub)
    assert rollback(pub, c, now=NOW + timedelta(hours=3)).version == c
    infos = {i.version: i for i in list_versions(pub)}
    assert infos[c].current and infos[a].previous


def test_rollback_refuses_unknown_and_corrupt_versions(tmp_path, pub):
    toks = {f"T{i:05d}": (0, "r" * 40) for i in range(500)}
    a = publish(_build(tmp_path / "a.lmdb", [_campaign("a")], toks), pub, now=NOW).version
    b = publish(_build(tmp_path / "b.lmdb", [_campaign("a", url="https://b.example/")], toks, 1), pub, now=NOW).version
    with pytest.raises(PublishError, match="not published here"):
        rollback(pub, "20270101T000000Z-000000000000")
    with pytest.raises(PublishError, match="not a snapshot version"):
        rollback(pub, "../../etc/passwd")
    path = pub / "snapshots" / f"{a}.lmdb"
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    data[data.find(b"r" * 40, len(data) // 2)] = ord("q")
    path.write_bytes(bytes(data))
    with pytest.raises(PublishError, match=f"refusing to roll back to {a}"):
        rollback(pub, a)
    assert (pub / "current").resolve().name == f"{b}.lmdb"


def test_rollback_warns_about_tokens_the_older_version_does_not_know(tmp_path, pub):
    publish(_build(tmp_path / "a.lmdb", [_campaign("a")], _tokens(5)), pub, now=NOW)
    publish(_build(tmp_path / "b.lmdb", [_campaign("a"), _campaign("b")], _tokens(5) | _tokens(7, 1, "U"), 1),
            pub, now=NOW)
    result = rollback(pub, now=NOW)
    assert result.warnings == ["b: 7 issued token(s) would disappear, but its retention is unlimited"]


def test_the_pointer_wins_over_a_stale_state_file(tmp_path, pub):
    _, b = _publish_series(tmp_path, pub, 2)
    (pub / "history.json").unlink()
    infos = list_versions(pub)
    assert [i.version for i in infos if i.current] == [b]
    assert infos[0].built_at is not None  # read from the file itself


def test_publish_snapshot_keeps_its_old_signature(tmp_path, pub):
    a = _build(tmp_path / "a.lmdb", [_campaign("a")], _tokens(1))
    dest = publish_snapshot(a, pub)
    assert dest.parent == pub / "snapshots" and dest.is_file()


def test_cli_publish_versions_rollback(tmp_path, pub):
    runner = CliRunner()
    vs = []
    for k in range(2):
        s = _build(tmp_path / f"s{k}.lmdb", [_campaign("a", url=f"https://www.example/{k}")], _tokens(4), k)
        res = runner.invoke(main, ["publish", str(s), "--to", str(pub)])
        assert res.exit_code == 0, res.output
        vs.append(res.output.split()[1])
    assert "4 issued tokens checked" in res.output
    res = runner.invoke(main, ["versions", "--to", str(pub), "--format", "json"])
    listed = json.loads(res.output)
    assert [(v["version"], v["current"], v["previous"]) for v in listed] == [(vs[1], True, False), (vs[0], False, True)]
    assert listed[0]["counts"]["tokens"] == 4
    text = runner.invoke(main, ["versions", "--to", str(pub)]).output
    assert f"*  {vs[1]}" in text and f"^  {vs[0]}" in text
    res = runner.invoke(main, ["rollback", "--to", str(pub)])
    assert res.exit_code == 0 and f"rolled {pub} back to {vs[0]}" in res.output
    bad = _build(tmp_path / "bad.lmdb", [_campaign("a")], {}, 9)
    res = runner.invoke(main, ["publish", str(bad), "--to", str(pub)])
    assert res.exit_code == 1
    assert res.output.startswith("error: refusing to publish") and "Traceback" not in res.output
    res = runner.invoke(main, ["versions", "--to", str(tmp_path / "empty")])
    assert res.exit_code == 1 and "nothing is published here" in res.output


def test_pull_copies_the_current_version_for_the_next_compile(tmp_path, pub):
    from engine.cli._publish import pull
    from engine.snapshot._publish import pull_current

    assert pull_current(pub, tmp_path / "build" / "snapshot.lmdb") is None  # first deploy
    _, b = _publish_series(tmp_path, pub, 2)
    res = CliRunner().invoke(pull, ["--from", str(pub), "--out", str(tmp_path / "build" / "snapshot.lmdb")])
    assert res.exit_code == 0 and f"pulled {b}" in res.output
    with open_snapshot(tmp_path / "build" / "snapshot.lmdb", verify=True) as snap:
        assert snap.version == b
