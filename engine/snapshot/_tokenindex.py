"""The token hash index: where a format 2 snapshot keeps its tokens.

Format 1 kept each token as its own LMDB key (``t:<token>``). A look-up then
descends a root, a branch and a leaf page and binary-searches each: about
nine cache lines, most of them cold when two million tokens are spread over
an 85 MB map. That search was the largest single cost of the worker's click
(docs/worker.md). Format 2 keeps the same ``(key, value)`` pairs (the
``t:<token>`` key and its packed ``TokenRecord``) in one LMDB value
(``TOKEN_INDEX_KEY``, contiguous overflow pages, covered by the checksum like
every record) laid out as an open-addressing table read in about two cache
lines: the slot, then the entry.

Layout (little-endian)::

    header   32 bytes: magic b"SLTX", u32 version (1), u64 slots (a power of 2),
             u64 entries, u64 seed
    slots    u64 x slots: 0 = empty, else (entry offset << 24) | fingerprint
    entries  in key order: u8 key length, key, u32 value length, value

A key's hash is FNV-1a (64-bit, the seed XORed into its offset basis) over the
key bytes, finished with MurmurHash3's fmix64. Its home slot is the hash's low
bits; the fingerprint is its top 24 bits; a taken slot sends the search to
the next one (linear probing) until an empty one. At most half the slots are
used, so a look-up reads 1.5 slots on average for a token that is there and
2.5 for one that is not. Offsets are absolute within the record; the first
entry comes after the slots, so a used slot is never 0. The entries are in
key order, so walking them is ``iter_tokens``.

Readers: ``engine/snapshot/_index.c`` (``TokenIndex``, used when built: the
worker and every tool) and ``lookup``/``iter_entries`` here, the same
algorithm in Python (the reference the tests hold the C reader to, and the
fallback without a C compiler).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from engine._compiled import load_checked

if TYPE_CHECKING:
    import numpy as np

MAGIC = b"SLTX"
VERSION = 1
HEADER = struct.Struct("<4sIQQQ")
SEED = 0x5EED_5EED_5EED_5EED
MAX_KEY = 255

_FNV_BASIS = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_M64 = (1 << 64) - 1
_FP_BITS = 24
_FP_MASK = (1 << _FP_BITS) - 1
_SLOT = struct.Struct("<Q")
_VLEN = struct.Struct("<I")

#: The C reader (None without a C compiler, or when built from another _index.c; ``WHY_NOT`` says).
_MODULE, WHY_NOT = load_checked("engine.snapshot._index", Path(__file__).with_name("_index.c"))


def module() -> ModuleType | None:
    """``engine.snapshot._index`` when it may be used, else None."""
    return _MODULE


def key_hash(key: bytes, seed: int = SEED) -> int:
    """The index's 64-bit hash of ``key`` (the C reader computes the same)."""
    h = _FNV_BASIS ^ seed
    for b in key:
        h = ((h ^ b) * _FNV_PRIME) & _M64
    return _fmix64(h)


def _fmix64(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _M64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _M64
    h ^= h >> 33
    return h


class IndexBuilder:
    """Collects ``(key, value)`` pairs in key order and makes the record.

    Keys are hashed and framed a batch at a time with numpy (two million keys
    and their placement in the table take about 1.5 s of CPU); the entries
    are appended to one buffer as they come.
    """

    def __init__(self, seed: int = SEED) -> None:
        import numpy as np

        self._np = np
        self.seed = seed
        self._entries = bytearray(HEADER.size)  # offsets count from the record's start
        self._offsets: list[np.ndarray] = []
        self._hashes: list[np.ndarray] = []
        self.n = 0

    def add_batch(self, keys: Sequence[bytes], values: Sequence[bytes]) -> None:
        """Append ``keys`` (in increasing order, continuing the last batch) and their ``values``."""
        np = self._np
        if len(keys) != len(values):
            raise ValueError(f"{len(keys)} keys but {len(values)} values")
        if not keys:
            return
        joined = b"".join(keys)
        klens = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
        hashes = _hash_joined(np, joined, klens, self.seed)
        vlens = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
        if int(vlens.max()) >= 1 << 32:
            raise ValueError("a token record of 4 GiB or more does not fit the index")
        sizes = 5 + klens + vlens
        starts = np.cumsum(sizes) - sizes  # each entry's start within this batch
        out = np.empty(int(sizes.sum()), dtype=np.uint8)
        out[starts] = klens
        _scatter(np, out, starts + 1, klens, joined)
        at = starts + 1 + klens
        for b in range(4):
            out[at + b] = (vlens >> (8 * b)) & 0xFF
        _scatter(np, out, at + 4, vlens, b"".join(values))
        self._offsets.append((starts + len(self._entries)).astype(np.uint64))
        self._entries += out.tobytes()
        self._hashes.append(hashes)
        self.n += len(keys)

    def build(self) -> bytes:
        """The record: header, slots, entries."""
        np = self._np
        n = self.n
        slots = 16
        while slots < 2 * n:
            slots *= 2
        mask = slots - 1
        hashes = np.concatenate(self._hashes) if self._hashes else np.empty(0, np.uint64)
        offsets = np.concatenate(self._offsets) if self._offsets else np.empty(0, np.uint64)
        base = HEADER.size + 8 * slots  # the entries move up by the slot table
        values = ((offsets + np.uint64(base - HEADER.size)) << np.uint64(_FP_BITS)) | (
            hashes >> np.uint64(64 - _FP_BITS)
        )
        table = _place(np, hashes & np.uint64(mask), values, slots)
        header = HEADER.pack(MAGIC, VERSION, slots, n, self.seed)
        record = b"".join((header, table.astype("<u8").tobytes(), memoryview(self._entries)[HEADER.size:]))
        self._entries = bytearray(HEADER.size)
        self._offsets, self._hashes, self.n = [], [], 0
        return record


def _scatter(np: Any, out: np.ndarray, starts: np.ndarray, lengths: np.ndarray, data: bytes) -> None:
    """Copy the concatenated pieces of ``data`` (of ``lengths``) to ``out`` at ``starts``."""
    if not data:
        return
    src = np.frombuffer(data, dtype=np.uint8)
    first = np.cumsum(lengths) - lengths  # each piece's start within ``data``
    out[np.repeat(starts - first, lengths) + np.arange(len(src))] = src


def hash_keys(keys: Sequence[bytes], seed: int = SEED) -> np.ndarray:
    """``key_hash`` of each key, vectorised."""
    import numpy as np

    klens = np.fromiter(map(len, keys), dtype=np.int64, count=len(keys))
    return _hash_joined(np, b"".join(keys), klens, seed)


def _hash_joined(np: Any, joined: bytes, lengths: np.ndarray, seed: int) -> np.ndarray:
    """``key_hash`` of each key, the keys given concatenated with their lengths."""
    width = int(lengths.max())
    if width > MAX_KEY:
        raise ValueError(f"a token key of {width} bytes is over the index's {MAX_KEY}")
    n = len(lengths)
    cols = np.zeros(n * width, dtype=np.uint8)  # column-major: byte j of every key together
    src = np.frombuffer(joined, dtype=np.uint8)
    first = np.cumsum(lengths) - lengths
    within = np.arange(len(src)) - np.repeat(first, lengths)  # each byte's place in its key
    cols[within * n + np.repeat(np.arange(n), lengths)] = src
    cols64 = cols.reshape(width, n).astype(np.uint64)
    shortest = int(lengths.min())
    h = np.full(n, _FNV_BASIS ^ seed, dtype=np.uint64)
    prime = np.uint64(_FNV_PRIME)
    with np.errstate(over="ignore"):
        for j in range(width):
            if j < shortest:  # every key has this byte
                h ^= cols64[j]
                h *= prime
            else:
                h = np.where(lengths > j, (h ^ cols64[j]) * prime, h)
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xFF51AFD7ED558CCD)
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xC4CEB9FE1A85EC53)
        h ^= h >> np.uint64(33)
    return h


def _place(np: Any, home: np.ndarray, values: np.ndarray, slots: int) -> np.ndarray:
    """Linear probing, a round at a time: every key not yet placed tries its
    current slot; among those trying the same free slot the first (in key
    order) takes it; the rest move one slot on. A key only moves past slots that
    are taken, so probing from its home slot finds it before an empty one.
    The same input gives the same table (reproducible builds)."""
    mask = np.uint64(slots - 1)
    table = np.zeros(slots, dtype=np.uint64)
    pending = np.arange(len(home), dtype=np.int64)
    pos = home.astype(np.uint64).copy()
    while pending.size:
        p = pos[pending]
        free = table[p.astype(np.int64)] == 0
        want, at = pending[free], p[free]
        taken_at, first = np.unique(at, return_index=True)
        winners = want[first]
        table[taken_at.astype(np.int64)] = values[winners]
        placed = np.zeros(len(home), dtype=bool)
        placed[winners] = True
        pending = pending[~placed[pending]]
        pos[pending] = (pos[pending] + np.uint64(1)) & mask
    return table


_DAMAGED = "the token index record is damaged; republish the snapshot"


class PyIndex:
    """The index's Python reader: the header read once, then ``index(key)`` -> value or None.

    The same algorithm and answers as the C ``TokenIndex`` (the fallback
    without a C compiler, and the reference the tests hold it to).
    ``PyIndex(record)`` raises ValueError unless ``record`` starts with a
    header this reader knows.
    """

    def __init__(self, record: bytes | memoryview) -> None:
        mv = memoryview(record)
        if len(mv) < HEADER.size:
            raise ValueError("the token index record is shorter than its header")
        magic, version, slots, _n, seed = HEADER.unpack_from(mv, 0)
        if magic != MAGIC or version != VERSION or slots < 1 or slots & (slots - 1) or slots > (len(mv) - HEADER.size) // 8:
            raise ValueError(f"not a token index record (format {VERSION})")
        self._mv, self._slots, self._seed = mv, slots, seed

    def __call__(self, key: bytes) -> bytes | None:
        """A copy of the value of ``key``, or None."""
        mv, slots = self._mv, self._slots
        h = key_hash(key, self._seed)
        mask = slots - 1
        i = h & mask
        fp = h >> (64 - _FP_BITS)
        end = len(mv)
        for _ in range(slots):
            (s,) = _SLOT.unpack_from(mv, HEADER.size + 8 * i)
            if s == 0:
                return None
            if s & _FP_MASK == fp:
                off = s >> _FP_BITS
                if off + 5 > end or off + 5 + mv[off] > end:
                    raise ValueError(_DAMAGED)
                klen = mv[off]
                if mv[off + 1 : off + 1 + klen] == key:
                    (vlen,) = _VLEN.unpack_from(mv, off + 1 + klen)
                    if off + 5 + klen + vlen > end:
                        raise ValueError(_DAMAGED)
                    return bytes(mv[off + 5 + klen : off + 5 + klen + vlen])
            i = (i + 1) & mask
        return None

    def entries(self) -> Iterator[tuple[bytes, bytes]]:
        """Every ``(key, value)``, in key order; ValueError at a damaged entry, after the good ones."""
        mv = self._mv
        off = HEADER.size + 8 * self._slots
        end = len(mv)
        while off < end:
            if off + 5 > end or off + 5 + mv[off] > end:
                raise ValueError(_DAMAGED)
            klen = mv[off]
            key = bytes(mv[off + 1 : off + 1 + klen])
            (vlen,) = _VLEN.unpack_from(mv, off + 1 + klen)
            start = off + 5 + klen
            if start + vlen > end:
                raise ValueError(_DAMAGED)
            yield key, bytes(mv[start : start + vlen])
            off = start + vlen


def check(record: bytes | memoryview) -> None:
    """ValueError unless ``record`` starts with a token index header this reader knows."""
    PyIndex(record)


def lookup(record: bytes | memoryview, key: bytes) -> bytes | None:
    """A copy of the value of ``key`` in an index record, or None (the C reader's algorithm)."""
    return PyIndex(record)(key)


def iter_entries(record: bytes | memoryview) -> Iterator[tuple[bytes, bytes]]:
    """Every ``(key, value)`` of an index record, in key order."""
    return PyIndex(record).entries()
