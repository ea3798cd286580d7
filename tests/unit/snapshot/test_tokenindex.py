"""The token hash index (engine/snapshot/_tokenindex.py, read in C by engine/snapshot/_index.c).

The Python reader is the reference: the builder's table must let it find every
key and no other, and the C reader must answer exactly what it answers, for
well-formed records and for damaged ones (where both refuse, and neither
reads outside the record).
"""

from __future__ import annotations

import itertools
import random
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.snapshot import (
    TOKEN_INDEX_KEY,
    Campaign,
    SnapshotError,
    Template,
    TokenRecord,
    open_snapshot,
    write_snapshot,
)
from engine.snapshot import _tokenindex as ti

ALPHABET = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz"
C = ti.module()

_keys = st.lists(
    st.binary(min_size=1, max_size=40).filter(lambda b: b"\0" not in b).map(lambda b: b"t:" + b),
    unique=True, max_size=300,
)


def _build(pairs: list[tuple[bytes, bytes]], cuts: list[int] | None = None) -> bytes:
    b = ti.IndexBuilder()
    edges = sorted({0, len(pairs), *(c % (len(pairs) + 1) for c in cuts or [])})
    for lo, hi in itertools.pairwise(edges):
        b.add_batch([k for k, _ in pairs[lo:hi]], [v for _, v in pairs[lo:hi]])
    return b.build()


def _answer(get, key):
    try:
        got = get(key)
    except ValueError:
        return "damaged"
    return None if got is None else bytes(got)


def _c_entries(index, limit: int = 4096) -> list[tuple[bytes, bytes]]:
    out, at = [], 0
    while True:
        chunk, at = index.entries(at, limit)
        assert len(chunk) <= limit
        out += chunk
        if not at:
            return out


def _c_walk(index, limit: int):
    at = 0
    while True:
        chunk, at = index.entries(at, limit)
        yield from chunk
        if not at:
            return


def _walk(entries) -> tuple[list[tuple[bytes, bytes]], bool]:
    """(the entries yielded, whether the walk ended in an error)."""
    got = []
    try:
        for k, v in entries:
            got.append((k, bytes(v)))
    except ValueError:
        return got, True
    return got, False


def test_the_c_reader_is_built_from_this_source():
    """CI builds it (setup.py): without it every look-up would run in Python."""
    assert C is not None, ti.WHY_NOT
    assert len(C.SOURCE_SHA256) == 64


def test_a_stale_build_is_refused(tmp_path):
    from engine._compiled import load_checked

    other = tmp_path / "_index.c"
    other.write_text("/* another version */\n")
    mod, why = load_checked("engine.snapshot._index", other)
    assert mod is None and "another version" in why


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(keys=_keys, data=st.data())
def test_every_key_is_found_and_no_other(keys, data):
    keys = sorted(keys)
    values = [data.draw(st.binary(max_size=300)) for _ in keys]
    pairs = list(zip(keys, values, strict=True))
    cuts = data.draw(st.lists(st.integers(0, 400), max_size=4))
    record = _build(pairs, cuts)
    assert record == _build(pairs)  # the same table however the keys came in batches
    index = C.TokenIndex(record)
    assert index.count == len(keys)
    for k, v in pairs:
        assert bytes(ti.lookup(record, k)) == v
        assert bytes(index(k)) == v
    absent = data.draw(st.lists(st.binary(max_size=42), max_size=40))
    for k in absent:
        if k not in set(keys):
            assert ti.lookup(record, k) is None
            assert index(k) is None
    assert [(k, bytes(v)) for k, v in ti.iter_entries(record)] == pairs
    assert [(k, bytes(v)) for k, v in _c_entries(index, data.draw(st.integers(1, 50)))] == pairs
    if keys:
        assert [int(h) for h in ti.hash_keys(keys)] == [ti.key_hash(k) for k in keys]


def test_two_million_shaped_keys_hash_and_probe_like_the_reference():
    """Tokens as the compiler draws them, many of them: the table stays at most half full and
    the vectorised hash equals the reference for every key."""
    rng = random.Random(7)
    keys = sorted({b"t:" + bytes(rng.choices(ALPHABET, k=8)) for _ in range(50_000)})
    pairs = [(k, struct.pack("<I", i)) for i, k in enumerate(keys)]
    record = _build(pairs, [65_536 // 3, 40_000])
    slots = struct.unpack_from("<Q", record, 8)[0]
    assert slots >= 2 * len(keys) and slots & (slots - 1) == 0
    assert [int(h) for h in ti.hash_keys(keys[:2000])] == [ti.key_hash(k) for k in keys[:2000]]
    index = C.TokenIndex(record)
    for k, v in rng.sample(pairs, 3000):
        assert bytes(index(k)) == v == bytes(ti.lookup(record, k))
    for _ in range(3000):
        k = b"t:" + bytes(rng.choices(ALPHABET, k=rng.choice([7, 8, 9])))
        assert _answer(index, k) == _answer(lambda key: ti.lookup(record, key), k)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_a_damaged_record_gets_the_same_answer_from_both_readers(data):
    """Bytes changed anywhere after the header, or the record cut short: the C reader answers
    what the Python one answers (a value, None, or damaged), and never reads outside it."""
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    keys = sorted({b"t:" + bytes(rng.choices(ALPHABET, k=rng.randint(1, 12))) for _ in range(rng.randint(1, 40))})
    record = bytearray(_build([(k, bytes(rng.randrange(256) for _ in range(rng.randint(0, 20)))) for k in keys]))
    for _ in range(data.draw(st.integers(1, 6))):
        at = data.draw(st.integers(ti.HEADER.size, len(record) - 1))
        record[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.one_of(st.none(), st.integers(ti.HEADER.size, len(record))))
    if cut is not None:
        record = record[:cut]
    record = bytes(record)
    try:
        ti.check(record)
    except ValueError:
        with pytest.raises(ValueError):
            C.TokenIndex(record)
        return
    index = C.TokenIndex(record)
    for k in [*keys, b"t:nope", b"t:"]:
        assert _answer(index, k) == _answer(lambda key: ti.lookup(record, key), k)
    # the walks yield the same entries up to the same point, and both stop there or both end
    assert _walk(ti.iter_entries(record)) == _walk(_c_walk(index, data.draw(st.integers(1, 9))))


@pytest.mark.parametrize("record", [
    b"", b"SLTX", b"XXXX" + bytes(28), ti.HEADER.pack(b"SLTX", 2, 16, 0, 0) + bytes(128),
    ti.HEADER.pack(b"SLTX", 1, 12, 0, 0) + bytes(96),  # slots not a power of two
    ti.HEADER.pack(b"SLTX", 1, 16, 0, 0) + bytes(64),  # fewer slots than it says
], ids=["empty", "short", "magic", "version", "slots", "cut"])
def test_a_record_that_is_not_an_index_is_refused(record):
    with pytest.raises(ValueError):
        ti.check(record)
    with pytest.raises(ValueError):
        C.TokenIndex(record)


def test_the_key_must_be_bytes():
    index = C.TokenIndex(_build([(b"t:abcd", b"v")]))
    with pytest.raises(TypeError):
        index("t:abcd")
    with pytest.raises(TypeError):
        index()


# ------------------------------------------------------------------ snapshots
def _campaign() -> Campaign:
    return Campaign(id="c", name="C", owner="o@example.com", brand="B", domains=["go.example"],
                    routes=[], default=Template(["https://www.example/"]), campaign_token="CAMPAIGN")


def _tokens(n: int, seed: int = 3) -> list[tuple[str, TokenRecord]]:
    rng = random.Random(seed)
    toks = sorted({bytes(rng.choices(ALPHABET, k=8)).decode() for _ in range(n)})
    return [(t, TokenRecord(campaign=0, recipient=f"r-{i}" if i % 5 else "", variant=i % 3,
                            attrs=[str(i)] * (i % 2))) for i, t in enumerate(toks)]


@pytest.mark.parametrize("reader", ["C", "Python"])
def test_a_snapshot_finds_its_tokens_in_the_index(tmp_path, monkeypatch, reader):
    if reader == "Python":
        monkeypatch.setattr(ti, "_MODULE", None)
    tokens = _tokens(3000)
    path = tmp_path / "s.lmdb"
    write_snapshot(path, campaigns=[_campaign()], tokens=tokens)
    with open_snapshot(path, verify=True) as snap:
        assert snap.meta.format_major == 2 and snap.token_index is not None
        assert (type(snap.raw_get).__name__ == "TokenIndex") == (reader == "C")
        for t, rec in tokens:
            assert snap.lookup(t) == rec
        assert list(snap.iter_tokens()) == tokens
        rng = random.Random(1)
        known = {t for t, _ in tokens}
        for _ in range(500):
            t = bytes(rng.choices(ALPHABET, k=rng.choice([7, 8, 9]))).decode()
            if t not in known:
                assert snap.lookup(t) is None
        # no token is a key of the B-tree any more: the index is the only place they are
        with snap._env.begin() as txn:
            keys = [bytes(k) for k, _ in txn.cursor()]
        assert keys == [b"c:000000", b"m:meta", TOKEN_INDEX_KEY]


def test_a_closed_snapshots_index_refuses_instead_of_reading_the_unmapped_file(tmp_path):
    path = tmp_path / "s.lmdb"
    write_snapshot(path, campaigns=[_campaign()], tokens=_tokens(50))
    snap = open_snapshot(path)
    get = snap.raw_get
    assert get(b"t:" + _tokens(50)[0][0].encode()) is not None
    snap.close()
    assert get.closed
    with pytest.raises(ValueError, match="closed"):
        get(b"t:" + _tokens(50)[0][0].encode())


def test_an_empty_snapshot_has_an_empty_index(tmp_path):
    path = tmp_path / "s.lmdb"
    write_snapshot(path, campaigns=[_campaign()], tokens=[])
    with open_snapshot(path, verify=True) as snap:
        assert snap.lookup("Ab3dEf7h") is None and list(snap.iter_tokens()) == []


def test_a_format_2_snapshot_without_its_index_is_refused(tmp_path):
    import lmdb

    path = tmp_path / "s.lmdb"
    write_snapshot(path, campaigns=[_campaign()], tokens=_tokens(20))
    path.chmod(0o644)
    env = lmdb.open(str(path), subdir=False, lock=False)
    with env.begin(write=True) as txn:
        txn.delete(TOKEN_INDEX_KEY)
    env.close()
    with pytest.raises(SnapshotError, match="token index record is missing"):
        open_snapshot(path)


def test_a_value_outlives_its_index():
    """Look-ups give copies: a value read before ``close()`` (or the index's end) stays readable
    after the record is gone."""
    record = bytearray(_build([(b"t:abcd", b"value-1"), (b"t:abce", b"value-2")]))
    index = C.TokenIndex(bytes(record))
    got = index(b"t:abcd")
    chunk, _ = index.entries(0, 10)
    index.close()
    del index
    assert got == b"value-1" and chunk == [(b"t:abcd", b"value-1"), (b"t:abce", b"value-2")]
    assert ti.lookup(bytes(record), b"t:abce") == b"value-2"


def test_closing_the_index_in_the_middle_of_a_walk_raises():
    """A finaliser run by the walk's own allocations (the cyclic GC) may close the index:
    the walk then raises instead of reading the released record."""
    import gc

    index = C.TokenIndex(_build([(b"t:%06d" % i, b"v") for i in range(3000)]))

    class Closer:
        def __del__(self):
            index.close()

    cycle = Closer()
    cycle.me = cycle
    del cycle
    old = gc.get_threshold()
    error = None
    gc.set_threshold(1)
    try:
        index.entries(0, 3000)  # its first allocation collects the cycle, whose finaliser closes the index
    except ValueError as exc:
        error = exc
    finally:
        gc.set_threshold(*old)
    assert index.closed and error is not None and "closed" in str(error)
