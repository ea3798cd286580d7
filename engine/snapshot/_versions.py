"""Published versions: where they live, which one is current, which came before.

A publish target is a *backend*: a local folder (``LocalTarget``) or an
S3-compatible prefix (``engine.snapshot._s3.S3Target``). Both hold the same
three things::

    snapshots/<version>.lmdb   immutable snapshot files, named by version
    current                    the pointer (a symlink locally, an object naming the version in S3)
    history.json               the publish state: the rollback stack, a summary of each
                               version's meta, and an append-only log of publishes and rollbacks

The pointer is the source of truth for what workers serve; ``history.json`` only
orders versions for ``rollback`` and ``versions``. It is rewritten atomically
after the pointer swap, so a crash in between leaves a stack that is one step
behind, which ``read_state`` repairs from the pointer.

Rollback semantics: ``history.stack`` lists the versions that were made current,
oldest first. Publishing pushes; ``rollback`` without a version pops (so a
second rollback goes one step further back, and a publish after a rollback
has the good version, not the bad one, as its "previous"); ``rollback VERSION``
pushes that version.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from ._io import SnapshotError, _fsync_dir, open_snapshot, resolve_pointer

STATE_NAME = "history.json"
SNAPSHOT_SUFFIX = ".lmdb"


class PublishError(SnapshotError):
    """A publish, rollback or listing was refused; nothing was changed.

    The message says what was found and what to do.
    """


@dataclass(frozen=True)
class VersionInfo:
    """One published version as ``smslink versions`` lists it."""

    version: str
    built_at: str | None = None
    config_commit: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    campaigns: list[str] = field(default_factory=list)
    published_at: str | None = None  # first time it was made current
    last_current_at: str | None = None  # last time it was made current (publish or rollback)
    current: bool = False
    previous: bool = False  # what `rollback` without a version would restore

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "built_at": self.built_at,
            "config_commit": self.config_commit,
            "counts": dict(sorted(self.counts.items())),
            "campaigns": list(self.campaigns),
            "published_at": self.published_at,
            "last_current_at": self.last_current_at,
            "current": self.current,
            "previous": self.previous,
        }


@dataclass
class PublishState:
    """The contents of ``history.json``."""

    stack: list[str] = field(default_factory=list)
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)
    log: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def from_bytes(cls, raw: bytes | None, where: str) -> PublishState:
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
            return cls(
                stack=[str(v) for v in data.get("stack", [])],
                versions={str(k): dict(v) for k, v in data.get("versions", {}).items()},
                log=list(data.get("log", [])),
            )
        except (ValueError, AttributeError, TypeError) as exc:
            raise PublishError(
                f"{where}: {STATE_NAME} is not valid JSON ({exc}); restore it from a "
                f"backup or delete it (the current pointer stays the source of truth)"
            ) from exc

    def to_bytes(self) -> bytes:
        data = {"format": 1, "stack": self.stack, "versions": self.versions, "log": self.log}
        return json.dumps(data, indent=1, sort_keys=True).encode() + b"\n"

    def previous_of(self, current: str | None) -> str | None:
        """The version ``rollback`` without an argument would restore."""
        stack = [v for v in self.stack if v != current]
        return stack[-1] if stack else None

    def record(self, action: str, version: str, previous: str | None, at: str) -> None:
        self.log.append({"at": at, "action": action, "version": version, "previous": previous})
        info = self.versions.setdefault(version, {})
        info.setdefault("published_at", at)
        info["last_current_at"] = at


class Target(Protocol):
    """Where snapshots are published: a local folder or an object-store prefix."""

    def describe(self) -> str: ...
    def lock(self) -> contextlib.AbstractContextManager[None]: ...
    def current(self) -> str | None: ...
    def present(self) -> list[str]: ...
    def upload(self, version: str, local: Path) -> None: ...
    def fetch(self, version: str, scratch: Path) -> Path: ...
    def set_current(self, version: str) -> None: ...
    def delete(self, version: str) -> None: ...
    def read_state(self) -> bytes | None: ...
    def write_state(self, data: bytes) -> None: ...


def version_of(path: Path) -> str:
    """The version a snapshot file name stands for (``<version>.lmdb``)."""
    name = path.name
    return name[: -len(SNAPSHOT_SUFFIX)] if name.endswith(SNAPSHOT_SUFFIX) else name


def check_version_name(version: str) -> str:
    """Refuse a version name that could escape the snapshots folder."""
    if not version or "/" in version or "\\" in version or version.startswith(".") or "\x00" in version:
        raise PublishError(f"{version!r} is not a snapshot version (see `smslink versions`)")
    return version


class LocalTarget:
    """A publish folder on a local or shared filesystem (NFS, a mounted volume)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.folder = self.root / "snapshots"

    def describe(self) -> str:
        return str(self.root)

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        # One publisher at a time per folder; readers (workers) never take it.
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".publish.lock", "a") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def current(self) -> str | None:
        pointer = self.root / "current"
        if not pointer.exists() and not pointer.is_symlink():
            return None
        real = resolve_pointer(pointer)
        if not real.is_file():
            raise PublishError(
                f"{pointer}: points at {real.name}, which does not exist; run "
                f"`smslink rollback --to {self.root} VERSION` with a version from `smslink versions`"
            )
        return version_of(real)

    def path_of(self, version: str) -> Path:
        return self.folder / f"{check_version_name(version)}{SNAPSHOT_SUFFIX}"

    def present(self) -> list[str]:
        if not self.folder.is_dir():
            return []
        return sorted(
            version_of(p) for p in self.folder.iterdir()
            if p.name.endswith(SNAPSHOT_SUFFIX) and not p.name.startswith(".")
        )

    def upload(self, version: str, local: Path) -> None:
        import shutil

        dest = self.path_of(version)
        if dest.exists():
            return  # immutable: same version means same content hash
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{version}.tmp-", dir=self.folder)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            shutil.copyfile(local, tmp)
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o444)
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(self.folder)

    def fetch(self, version: str, scratch: Path) -> Path:
        return self.path_of(version)

    def set_current(self, version: str) -> None:
        from ._publish import swap_pointer

        swap_pointer(self.root, self.path_of(version))

    def delete(self, version: str) -> None:
        self.path_of(version).unlink(missing_ok=True)

    def read_state(self) -> bytes | None:
        try:
            return (self.root / STATE_NAME).read_bytes()
        except FileNotFoundError:
            return None

    def write_state(self, data: bytes) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{STATE_NAME}.tmp-", dir=self.root)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp_name, self.root / STATE_NAME)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        _fsync_dir(self.root)


def open_target(to: str | os.PathLike[str]) -> Target:
    """A ``Target`` for ``--to``: ``s3://bucket/prefix`` or a local folder."""
    text = os.fspath(to)
    if text.startswith("s3://"):
        from ._s3 import S3Target

        return S3Target(text)
    return LocalTarget(text)


def read_state(target: Target) -> tuple[PublishState, str | None]:
    """The publish state with its stack repaired from the pointer, and the current version."""
    state = PublishState.from_bytes(target.read_state(), target.describe())
    current = target.current()
    if current is not None and (not state.stack or state.stack[-1] != current):
        # The pointer moved without the state (a crash between the two writes,
        # or a pointer swapped by hand): the pointer wins.
        state.stack.append(current)
    return state, current


def now_iso(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def summarize_meta(meta: Any) -> dict[str, Any]:
    """What ``history.json`` keeps of a snapshot's meta (no tokens, no recipients)."""
    return {
        "built_at": meta.built_at,
        "config_commit": meta.config_commit,
        "counts": dict(meta.counts),
        "campaigns": list(meta.campaigns),
        "checksum": meta.checksum,
    }


def list_versions(target: Target | str | os.PathLike[str]) -> list[VersionInfo]:
    """Every published version still present, most recently current first.

    Raises
    ------
    PublishError
        The target has nothing published, or its state file is unreadable.
    """
    if isinstance(target, (str, os.PathLike)):
        target = open_target(target)
    state, current = read_state(target)
    present = target.present()
    if not present:
        raise PublishError(
            f"{target.describe()}: nothing is published here; run "
            f"`smslink publish SNAPSHOT --to {target.describe()}` first"
        )
    previous = state.previous_of(current)
    infos = []
    for version in present:
        info = dict(state.versions.get(version, {}))
        if "built_at" not in info and isinstance(target, LocalTarget):
            with contextlib.suppress(SnapshotError), open_snapshot(target.path_of(version)) as snap:
                info.update(summarize_meta(snap.meta))
        infos.append(VersionInfo(
            version=version,
            built_at=info.get("built_at"),
            config_commit=info.get("config_commit"),
            counts=dict(info.get("counts", {})),
            campaigns=list(info.get("campaigns", [])),
            published_at=info.get("published_at"),
            last_current_at=info.get("last_current_at"),
            current=version == current,
            previous=version == previous,
        ))
    infos.sort(key=lambda i: (i.current, i.last_current_at or "", i.version), reverse=True)
    return infos


def prune_versions(target: Target, state: PublishState, current: str, keep: int) -> list[str]:
    """Delete all but the ``keep`` most recently current versions; never current or previous.

    Returns the versions deleted (and forgets them in ``state``).
    """
    previous = state.previous_of(current)
    present = target.present()

    def recency(v: str) -> tuple[str, str]:
        return (state.versions.get(v, {}).get("last_current_at") or "", v)

    ordered = sorted(present, key=recency, reverse=True)
    protected = {current, previous}
    kept = set(ordered[: max(keep, 0)]) | protected
    removed = [v for v in ordered if v not in kept]
    for v in removed:
        target.delete(v)
        state.versions.pop(v, None)
    gone = set(removed)
    state.stack = [v for v in state.stack if v not in gone]
    return sorted(removed)
