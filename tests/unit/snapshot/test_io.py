"""Write, open, verify, refuse: the snapshot file contract."""

from __future__ import annotations

import msgspec
import pytest

from engine.snapshot import (
    FORMAT_MAJOR,
    BotPolicy,
    Campaign,
    Template,
    TokenRecord,
    open_snapshot,
    publish_snapshot,
    write_snapshot,
)
from engine.snapshot._io import SnapshotError


def _campaign(cid: str = "c1") -> Campaign:
    return Campaign(
        id=cid, name="C", owner="o", brand="b", domains=["go.example"],
        routes=[], default=Template(["https://www.example/"]), campaign_token="CAMPAIGN",
    )


def test_round_trip(tmp_path):
    toks = [(f"T{i:05d}", TokenRecord(campaign=0, recipient=f"r{i}")) for i in range(100)]
    meta = write_snapshot(tmp_path / "s.lmdb", campaigns=[_campaign()], tokens=toks,
                          policies=[BotPolicy(id="default", version="x")])
    assert meta.counts["tokens"] == 100
    with open_snapshot(tmp_path / "s.lmdb", verify=True) as snap:
        assert snap.lookup("T00042") == TokenRecord(campaign=0, recipient="r42")
        assert snap.lookup("nope") is None
        assert snap.campaigns[0].id == "c1"
        assert [t for t, _ in snap.iter_tokens()] == [t for t, _ in toks]
        assert snap.meta.format_major == FORMAT_MAJOR


def test_unsorted_tokens_leave_nothing_behind(tmp_path):
    toks = [("B", TokenRecord(campaign=0, recipient="x")), ("A", TokenRecord(campaign=0, recipient="y"))]
    with pytest.raises(ValueError):
        write_snapshot(tmp_path / "s.lmdb", campaigns=[_campaign()], tokens=toks)
    assert list(tmp_path.iterdir()) == []


def test_corrupt_byte_fails_verification(tmp_path):
    toks = [(f"T{i:05d}", TokenRecord(campaign=0, recipient="r" * 40)) for i in range(2000)]
    write_snapshot(tmp_path / "s.lmdb", campaigns=[_campaign()], tokens=toks)
    path = tmp_path / "s.lmdb"
    path.chmod(0o644)
    data = bytearray(path.read_bytes())
    i = data.find(b"r" * 40, len(data) // 2)
    data[i] = ord("q")
    path.write_bytes(bytes(data))
    with pytest.raises(SnapshotError, match="checksum mismatch"):
        open_snapshot(path, verify=True)


def test_unknown_major_is_refused_with_advice(tmp_path):
    import lmdb

    write_snapshot(tmp_path / "s.lmdb", campaigns=[_campaign()], tokens=[])
    path = tmp_path / "s.lmdb"
    path.chmod(0o644)
    env = lmdb.open(str(path), subdir=False, lock=False)
    with env.begin(write=True) as txn:
        meta = msgspec.msgpack.decode(txn.get(b"m:meta"))
        meta["format_major"] = FORMAT_MAJOR + 1
        txn.put(b"m:meta", msgspec.msgpack.encode(meta))
    env.close()
    with pytest.raises(SnapshotError, match=rf"format {FORMAT_MAJOR + 1}\.x is not supported.*recompile"):
        open_snapshot(path)


def test_publish_swaps_current(tmp_path):
    write_snapshot(tmp_path / "a.lmdb", campaigns=[_campaign("a")], tokens=[])
    write_snapshot(tmp_path / "b.lmdb", campaigns=[_campaign("b")], tokens=[])
    pub = tmp_path / "pub"
    publish_snapshot(tmp_path / "a.lmdb", pub)
    with open_snapshot(pub) as snap:
        assert snap.campaigns[0].id == "a"
    publish_snapshot(tmp_path / "b.lmdb", pub)
    with open_snapshot(pub / "current") as snap:
        assert snap.campaigns[0].id == "b"
    assert len(list((pub / "snapshots").iterdir())) == 2


def test_the_meta_keeps_recipients_per_arm_and_retired_recipients_per_campaign(tmp_path):
    toks = sorted(
        [(f"A{i:05d}", TokenRecord(campaign=0, recipient=f"r{i}", variant=i % 3, retired=i % 10 == 0))
         for i in range(60)]
        + [(f"B{i:05d}", TokenRecord(campaign=1, recipient=f"s{i}", retired=i < 4)) for i in range(9)]
        + [("CAMPAIGN", TokenRecord(campaign=1, recipient="", retired=True))]  # a campaign link: not a recipient
    )
    meta = write_snapshot(tmp_path / "s.lmdb", campaigns=[_campaign("a"), _campaign("b")], tokens=toks)
    assert meta.recipients_by_arm == {
        "v": 1, "0/0": 20, "0/1": 20, "0/2": 20, "1/-1": 9, "0/retired": 6, "1/retired": 4,
    }
    with open_snapshot(tmp_path / "s.lmdb") as snap:
        assert snap.meta.recipients_by_arm == meta.recipients_by_arm
