"""Snapshots written by every released format version: which this reader accepts.

Each ``tests/compat/v<MAJOR>.<MINOR>/snapshot.lmdb`` was written by the engine
of that format (``make_fixture.py``) and is never rewritten. Bumping
``FORMAT_MAJOR`` or ``FORMAT_MINOR`` is deliberate: the pin below fails first.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import lmdb
import msgspec
import pytest

from engine.routing import compile_campaign, nearest_store
from engine.snapshot import (
    FORMAT_MAJOR,
    FORMAT_MINOR,
    READABLE_MAJORS,
    SnapshotError,
    open_snapshot,
)

HERE = Path(__file__).resolve().parent
FIXTURES = sorted(p.parent.name for p in HERE.glob("v*/snapshot.lmdb"))


def test_the_format_version_is_pinned():
    assert (FORMAT_MAJOR, FORMAT_MINOR) == (2, 0)
    assert READABLE_MAJORS == (1, 2)  # 1.x: tokens as B-tree keys; 2.x: in the hash index
    assert f"v{FORMAT_MAJOR}.{FORMAT_MINOR}" in FIXTURES, "write the fixture: tests/compat/make_fixture.py"


@pytest.mark.parametrize("version", FIXTURES)
def test_every_fixture_of_a_readable_major_opens_verifies_and_routes(version, tmp_path):
    major = int(version[1:].split(".")[0])
    assert major in READABLE_MAJORS  # a fixture of another major belongs to the refusal test
    with open_snapshot(HERE / version / "snapshot.lmdb", verify=True) as snap:
        assert snap.meta.format_major == major
        assert (snap.token_index is not None) == (major >= 2)  # where the tokens are
        assert [c.id for c in snap.campaigns] == ["compat"]
        rec = snap.lookup("Ab3dEf7h")
        assert rec is not None and rec.recipient == "cust-1" and rec.store == 1
        retired = snap.lookup("Zz9yXw8v")
        assert retired is not None and retired.retired
        assert snap.lookup("Ab3dEf7i") is None
        assert [t for t, _ in snap.iter_tokens()] == ["Ab3dEf7h", "CAMPAIGN", "Zz9yXw8v"]
        storeset = snap.storesets["stores"]
        # the nearest store to Chicago's loop is Chicago, whichever index the file carries
        found = nearest_store(storeset, 41.88, -87.63, 50)
        assert found is not None and storeset.stores[found[0]].id == "chi"
        compiled = compile_campaign(snap.campaigns[0], storeset)
        assert compiled is not None


def test_a_newer_major_is_refused_with_advice(tmp_path):
    path = tmp_path / "snapshot.lmdb"
    shutil.copyfile(HERE / f"v{FORMAT_MAJOR}.{FORMAT_MINOR}" / "snapshot.lmdb", path)
    path.chmod(0o644)
    env = lmdb.open(str(path), subdir=False, lock=False)
    with env.begin(write=True) as txn:
        meta = msgspec.msgpack.decode(txn.get(b"m:meta"))
        meta["format_major"] = FORMAT_MAJOR + 1
        meta["format_minor"] = 0
        txn.put(b"m:meta", msgspec.msgpack.encode(meta))
    env.close()
    with pytest.raises(SnapshotError) as info:
        open_snapshot(path)
    message = str(info.value)
    assert f"format {FORMAT_MAJOR + 1}.x is not supported" in message
    assert "reads 1.x and 2.x" in message
    assert "recompile" in message


def test_a_format_2_snapshot_is_checked_against_a_published_format_1_one(tmp_path):
    """Publishing the first format 2 snapshot over a format 1 one: the invariant-2 merge join
    walks the B-tree on one side and the hash index on the other."""
    from engine.snapshot import check_continuity, write_snapshot

    with open_snapshot(HERE / "v1.1" / "snapshot.lmdb") as old, open_snapshot(HERE / "v2.0" / "snapshot.lmdb") as new:
        assert old.token_index is None and new.token_index is not None
        report = check_continuity(old, new)
        assert report.ok and report.checked == 3
        # a format 2 snapshot that drops a token of the format 1 one is refused
        tokens = [(t, rec) for t, rec in new.iter_tokens() if t != "Zz9yXw8v"]
        path = tmp_path / "dropped.lmdb"
        write_snapshot(path, campaigns=new.campaigns, tokens=tokens, storesets=list(new.storesets.values()),
                       policies=list(new.policies.values()))
        with open_snapshot(path) as dropped:
            bad = check_continuity(old, dropped)
            assert not bad.ok and bad.missing == {"compat": 1}
            # and the other way round (a rollback to format 1 checks the format 2 tokens)
            assert check_continuity(dropped, old).ok
