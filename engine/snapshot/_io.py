"""Write, open and verify snapshot files.

A snapshot is one LMDB file (``subdir=False``). It is written under a temporary
name in the destination folder, fsynced, then renamed into place, so a reader
sees either the whole file or none of it (invariant 5). Readers open it
read-only with ``lock=False``: the file is immutable once renamed, so there is
no writer to coordinate with.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import lmdb
import msgspec

from . import _tokenindex
from ._format import (
    FORMAT_MAJOR,
    FORMAT_MINOR,
    META_KEY,
    TOKEN_INDEX_KEY,
    BotPolicy,
    Campaign,
    Endpoint,
    Meta,
    StoreSet,
    TokenRecord,
    campaign_key,
    endpoint_key,
    policy_key,
    storeset_key,
    token_key,
)
from ._tokenindex import IndexBuilder

#: The format majors this engine opens: 2 (tokens in the hash index: what it
#: writes) and 1 (tokens as B-tree keys, written before 2026-11-27), so a
#: worker upgraded before the next compile still serves the published snapshot.
READABLE_MAJORS = (1, 2)

#: Upper bound of the memory map; LMDB reserves address space, not disk.
MAP_SIZE = 1 << 37

_encoder = msgspec.msgpack.Encoder()
_meta_decoder = msgspec.msgpack.Decoder(Meta)
_campaign_decoder = msgspec.msgpack.Decoder(Campaign)
_policy_decoder = msgspec.msgpack.Decoder(BotPolicy)
_storeset_decoder = msgspec.msgpack.Decoder(StoreSet)
_endpoint_decoder = msgspec.msgpack.Decoder(Endpoint)
TOKEN_DECODER = msgspec.msgpack.Decoder(TokenRecord)


class SnapshotError(Exception):
    """A snapshot cannot be used: missing, corrupt, or of an unknown format.

    The message says what was expected, what was found and what to do.
    """


@dataclass
class ChecksumAccumulator:
    """sha256 over (key, value) pairs in key order, length-prefixed."""

    _h: hashlib._Hash = field(default_factory=hashlib.sha256)

    def add(self, key: bytes, value: bytes | memoryview) -> None:
        self._h.update(len(key).to_bytes(4, "big"))
        self._h.update(key)
        self._h.update(len(value).to_bytes(4, "big"))
        self._h.update(value)

    def hexdigest(self) -> str:
        return self._h.hexdigest()


def write_snapshot(
    path: str | os.PathLike[str],
    *,
    campaigns: list[Campaign],
    tokens: Iterable[tuple[str, TokenRecord]],
    policies: Iterable[BotPolicy] = (),
    storesets: Iterable[StoreSet] = (),
    endpoints: Iterable[Endpoint] = (),
    config_commit: str | None = None,
    built_at: datetime | None = None,
    engine_version: str = "",
    extra_counts: dict[str, int] | None = None,
) -> Meta:
    """Write a complete snapshot to ``path`` atomically.

    Parameters
    ----------
    path:
        Destination file. Written as ``<path>.tmp-*`` in the same folder, then renamed.
    campaigns:
        Campaign records; position in this list is ``TokenRecord.campaign``.
    tokens:
        ``(token, record)`` pairs in strictly increasing token order: they become
        the entries of the token index record (format 2), hashed with numpy a
        batch at a time (2M tokens in about 2 s of the writer's CPU).
    built_at:
        Build time (inject a fixed one for reproducible golden output).

    Returns
    -------
    Meta
        The meta record written, with version and checksum.

    Raises
    ------
    ValueError
        Tokens out of order or duplicated (a compiler bug, never user input).
    OSError
        The folder cannot be written; nothing is left behind.
    """
    path = Path(path)
    built = (built_at or datetime.now(UTC)).astimezone(UTC)
    fixed: dict[bytes, bytes] = {}
    for i, c in enumerate(campaigns):
        fixed[campaign_key(i)] = _encoder.encode(c)
    policy_ids, storeset_ids, endpoint_names = [], [], []
    for p in policies:
        fixed[policy_key(p.id)] = _encoder.encode(p)
        policy_ids.append(p.id)
    for s in storesets:
        fixed[storeset_key(s.id)] = _encoder.encode(s)
        storeset_ids.append(s.id)
    for e in endpoints:
        fixed[endpoint_key(e.name)] = _encoder.encode(e)
        endpoint_names.append(e.name)

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=path.name + ".tmp-", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        env = lmdb.open(
            str(tmp), subdir=False, map_size=MAP_SIZE, lock=False, sync=False,
            metasync=False, readahead=False,
            # meminit stays on: without it LMDB writes uninitialised heap bytes into
            # page padding, and the heap of a compile holds phone numbers.
            meminit=True,
        )
        acc = ChecksumAccumulator()
        n_tokens = n_recipients = n_retired = 0
        try:
            with env.begin(write=True) as txn:
                cur = txn.cursor()
                for key in sorted(fixed):
                    if key < META_KEY:
                        acc.add(key, fixed[key])
                        cur.put(key, fixed[key], append=True)
                after_meta = sorted(k for k in fixed if k > META_KEY)
                # meta goes in last (below), so everything after it is put without append
                for key in after_meta:
                    acc.add(key, fixed[key])
                    cur.put(key, fixed[key], append=True)
                last = b""
                keys: list[bytes] = []
                values: list[bytes] = []
                by_arm: dict[tuple[int, int], int] = {}
                retired_by: dict[int, int] = {}
                index = IndexBuilder()
                for token, rec in tokens:
                    key = token_key(token)
                    if key <= last:
                        raise ValueError("tokens must be strictly increasing (compiler bug)")
                    last = key
                    keys.append(key)
                    values.append(_encoder.encode(rec))
                    n_tokens += 1
                    if rec.recipient:
                        n_recipients += 1
                        arm = (rec.campaign, rec.variant)
                        by_arm[arm] = by_arm.get(arm, 0) + 1
                        if rec.retired:
                            retired_by[rec.campaign] = retired_by.get(rec.campaign, 0) + 1
                    if rec.retired:
                        n_retired += 1
                    if len(keys) >= 65536:
                        index.add_batch(keys, values)
                        keys.clear()
                        values.clear()
                index.add_batch(keys, values)
                del keys, values
                blob = index.build()
                acc.add(TOKEN_INDEX_KEY, blob)
                cur.put(TOKEN_INDEX_KEY, blob, append=True)
                del blob, index
                checksum = acc.hexdigest()
                counts = {
                    "campaigns": len(campaigns),
                    "tokens": n_tokens,
                    "recipient_tokens": n_recipients,
                    "retired_tokens": n_retired,
                    "policies": len(policy_ids),
                    "storesets": len(storeset_ids),
                    "endpoints": len(endpoint_names),
                    **(extra_counts or {}),
                }
                meta = Meta(
                    format_major=FORMAT_MAJOR,
                    format_minor=FORMAT_MINOR,
                    version=f"{built:%Y%m%dT%H%M%SZ}-{checksum[:12]}",
                    built_at=built.isoformat().replace("+00:00", "Z"),
                    checksum=checksum,
                    campaigns=[c.id for c in campaigns],
                    counts=counts,
                    config_commit=config_commit,
                    policies=policy_ids,
                    storesets=storeset_ids,
                    endpoints=endpoint_names,
                    engine_version=engine_version,
                    recipients_by_arm={
                        "v": 1,
                        **{f"{c}/{v}": n for (c, v), n in sorted(by_arm.items())},
                        **{f"{c}/retired": n for c, n in sorted(retired_by.items())},
                    },
                )
                txn.put(META_KEY, _encoder.encode(meta))
            env.sync(True)
        finally:
            env.close()
        os.chmod(tmp, 0o444)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return meta


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Snapshot:
    """An open, read-only snapshot.

    Small records (meta, campaigns, policies, store sets, endpoints) are
    decoded once at open; tokens are looked up per click through one long-lived
    read transaction over the memory map (the file never changes).
    """

    def __init__(self, path: Path, env: lmdb.Environment, meta: Meta) -> None:
        self.path = path
        self.meta = meta
        self._env = env
        self._txn = env.begin(buffers=True)
        #: The token hash index record (format 2: engine/snapshot/_tokenindex.py), a view
        #: into the map, or None in a format 1 snapshot (its tokens are B-tree keys).
        self.token_index: memoryview | None = None
        self._index: Any = None  # the C reader of it, released before the map goes
        #: ``raw_get(b"t:" + token)`` -> the packed record or None (the index's C reader,
        #: else its Python one; LMDB's get for format 1), and ``TOKEN_DECODER.decode``:
        #: the worker's hot path calls these two directly instead of ``lookup``.
        self.raw_get: Callable[[bytes], bytes | memoryview | None] = self._txn.get
        if meta.format_major >= 2:
            self.token_index = self._txn.get(TOKEN_INDEX_KEY)
            if self.token_index is None:
                raise SnapshotError(f"{path}: the token index record is missing; rebuild the snapshot")
            mod = _tokenindex.module()
            try:
                if mod is not None:
                    self._index = self.raw_get = mod.TokenIndex(self.token_index)
                else:
                    self.raw_get = _tokenindex.PyIndex(self.token_index)
            except ValueError as exc:
                raise SnapshotError(f"{path}: {exc}; rebuild the snapshot") from exc
        self.campaigns: list[Campaign] = []
        self.campaigns_by_id: dict[str, Campaign] = {}
        for i in range(len(meta.campaigns)):
            raw = self._txn.get(campaign_key(i))
            if raw is None:
                raise SnapshotError(f"{path}: campaign record {i} is missing; rebuild the snapshot")
            c = _campaign_decoder.decode(raw)
            self.campaigns.append(c)
            self.campaigns_by_id[c.id] = c
        self.policies: dict[str, BotPolicy] = {}
        for pid in meta.policies:
            self.policies[pid] = _policy_decoder.decode(self._get_required(policy_key(pid)))
        self.storesets: dict[str, StoreSet] = {}
        for sid in meta.storesets:
            self.storesets[sid] = _storeset_decoder.decode(self._get_required(storeset_key(sid)))
        self.endpoints: dict[str, Endpoint] = {}
        for name in meta.endpoints:
            self.endpoints[name] = _endpoint_decoder.decode(self._get_required(endpoint_key(name)))

    def _get_required(self, key: bytes) -> memoryview:
        raw = self._txn.get(key)
        if raw is None:
            raise SnapshotError(f"{self.path}: record {key.decode()} is missing; rebuild the snapshot")
        return raw

    @property
    def version(self) -> str:
        return self.meta.version

    def lookup(self, token: str) -> TokenRecord | None:
        """The record of ``token``, or None when the snapshot does not know it."""
        raw = self.raw_get(token_key(token))
        if raw is None:
            return None
        return TOKEN_DECODER.decode(raw)

    def iter_tokens(self) -> Iterator[tuple[str, TokenRecord]]:
        """Every (token, record) in token order (for inspect, review, publish checks)."""
        for key, val in self.iter_raw_tokens():
            yield key[2:].decode(), TOKEN_DECODER.decode(val)

    def iter_raw_tokens(self) -> Iterator[tuple[bytes, bytes | memoryview]]:
        """Every (``t:`` key, packed record) in key order, whichever format holds them."""
        if self._index is not None:  # the C reader, a chunk at a time
            at = 0
            while True:
                chunk, at = self._index.entries(at, 1024)
                yield from chunk
                if not at:
                    return
        if self.token_index is not None:
            yield from _tokenindex.iter_entries(self.token_index)
            return
        cur = self._txn.cursor()
        if not cur.set_range(b"t:"):
            return
        for key, val in cur:
            if key[:2] != b"t:":
                return
            yield bytes(key), val

    def verify(self) -> None:
        """Recompute the checksum over every record; raise SnapshotError on mismatch."""
        acc = ChecksumAccumulator()
        for key, val in self._txn.cursor():
            k = bytes(key)
            if k == META_KEY:
                continue
            acc.add(k, val)
        if acc.hexdigest() != self.meta.checksum:
            raise SnapshotError(
                f"{self.path}: checksum mismatch (meta says {self.meta.checksum[:12]}, "
                f"content is {acc.hexdigest()[:12]}); the file is corrupt: republish it"
            )

    def close(self) -> None:
        if self._index is not None:
            self._index.close()  # before the map goes: a late look-up raises instead of reading it
        self.token_index = None
        try:
            self._txn.abort()
        finally:
            self._env.close()

    def __enter__(self) -> Snapshot:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_snapshot(path: str | os.PathLike[str], *, verify: bool = False) -> Snapshot:
    """Open a snapshot file (or a pointer to one) read-only.

    Parameters
    ----------
    path:
        A snapshot file, a ``current`` pointer (symlink or a file holding a
        relative path), or a folder holding ``current``.
    verify:
        Recompute the content checksum before returning (seconds for millions of tokens).

    Raises
    ------
    SnapshotError
        Missing file, not an LMDB snapshot, unknown major format version, or
        (with ``verify``) a checksum mismatch. The message says what to do.
    """
    real = resolve_pointer(path)
    if not real.is_file():
        raise SnapshotError(f"{path}: no snapshot file here; run `smslink compile` first")
    try:
        env = lmdb.open(
            str(real), subdir=False, readonly=True, lock=False, readahead=False,
            max_readers=2048,
        )
    except lmdb.Error as exc:
        raise SnapshotError(f"{real}: not a readable snapshot ({exc}); recompile it") from exc
    try:
        with env.begin(buffers=True) as txn:
            raw = txn.get(META_KEY)
            if raw is None:
                raise SnapshotError(f"{real}: has no meta record; it is not a smslink snapshot")
            try:
                fmt = msgspec.msgpack.decode(raw)
                major = fmt.get("format_major") if isinstance(fmt, dict) else None
            except msgspec.DecodeError as exc:
                raise SnapshotError(f"{real}: meta record is corrupt ({exc}); recompile it") from exc
            if major not in READABLE_MAJORS:
                readable = " and ".join(f"{m}.x" for m in READABLE_MAJORS)
                raise SnapshotError(
                    f"{real}: snapshot format {major}.x is not supported by this engine "
                    f"(it reads {readable}); recompile the config with this engine "
                    f"version, or run the engine version that built it"
                )
            meta = _meta_decoder.decode(raw)
        snap = Snapshot(real, env, meta)
    except SnapshotError:
        env.close()
        raise
    except (msgspec.DecodeError, msgspec.ValidationError, lmdb.Error) as exc:
        env.close()
        raise SnapshotError(f"{real}: corrupt record ({exc}); republish the snapshot") from exc
    if verify:
        try:
            snap.verify()
        except BaseException:
            snap.close()
            raise
    return snap


def resolve_pointer(path: str | os.PathLike[str]) -> Path:
    """Follow a ``current`` pointer to the snapshot file it names.

    A folder means ``<folder>/current``. A symlink is resolved. A small regular
    file that is not LMDB but holds one line is read as a path relative to its
    own folder (for filesystems without symlinks, e.g. some object-store mounts).
    """
    p = Path(path)
    if p.is_dir():
        p = p / "current"
    if p.is_symlink():
        return p.resolve()
    if p.is_file() and p.stat().st_size < 4096:
        try:
            text = p.read_text().strip()
        except (UnicodeDecodeError, OSError):
            return p
        if text and "\n" not in text:
            return (p.parent / text).resolve()
    return p
