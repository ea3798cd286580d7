"""Publish a snapshot, roll back to an earlier one, and keep tokens forever.

Layout of a publish folder (see ``_versions.py`` for S3 and the state file)::

    <to>/snapshots/<version>.lmdb   immutable, read-only files; the version holds the content hash
    <to>/current                    symlink -> snapshots/<version>.lmdb
    <to>/history.json               rollback stack, version summaries, publish log

Workers watch ``current``; swapping it is ``rename(2)`` of a new symlink over
the old one, so a reader sees the old or the new target, never neither.

Order of a publish, so that a refusal changes nothing (invariant 5): verify the
file (format and checksum) -> check it against the current one for invariant 2
(streamed, both token lists are sorted) -> copy under its version name -> swap
the pointer -> write the state -> delete what ``keep`` no longer needs.
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from ._io import TOKEN_DECODER, Snapshot, SnapshotError, _fsync_dir, open_snapshot
from ._versions import (
    LocalTarget,
    PublishError,
    Target,
    check_version_name,
    now_iso,
    open_target,
    prune_versions,
    read_state,
    summarize_meta,
)

#: Published versions kept by default (current and previous are always kept).
DEFAULT_KEEP = 5



def swap_pointer(to: Path, target: Path) -> None:
    """Point ``<to>/current`` at ``target`` (a path inside ``to``) atomically."""
    rel = os.path.relpath(target, to)
    tmp = to / f".current.tmp-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    os.symlink(rel, tmp)
    os.replace(tmp, to / "current")
    _fsync_dir(to)


# ------------------------------------------------------------------ invariant 2
@dataclass
class ContinuityReport:
    """How a new snapshot treats the tokens the current one issued (invariant 2).

    Counts only: a report never holds a token or a recipient id, because it
    ends up in CI logs.
    """

    checked: int = 0  # tokens of the old snapshot still under retention
    expired: int = 0  # tokens whose campaign's retention has ended (free to go)
    missing: Counter[str] = field(default_factory=Counter)  # old campaign id -> tokens dropped
    repointed: Counter[tuple[str, str]] = field(default_factory=Counter)  # (old, new campaign) -> n
    recipient_changed: Counter[str] = field(default_factory=Counter)  # campaign id -> n
    retain_until: dict[str, int | None] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.repointed or self.recipient_changed)

    def describe(self) -> list[str]:
        """One line per problem, for the error message."""
        lines = []
        for cid, n in sorted(self.missing.items()):
            until = self.retain_until.get(cid)
            when = (
                "its retention is unlimited" if until is None
                else f"its retention ends {datetime.fromtimestamp(until, UTC):%Y-%m-%dT%H:%MZ}"
            )
            lines.append(f"{cid}: {n:,} issued token(s) would disappear, but {when}")
        for (old, new), n in sorted(self.repointed.items()):
            lines.append(f"{old}: {n:,} issued token(s) would now belong to campaign {new}")
        for cid, n in sorted(self.recipient_changed.items()):
            lines.append(f"{cid}: {n:,} issued token(s) would now name another recipient")
        return lines


def _campaign_index(raw: bytes | memoryview) -> int:
    # A TokenRecord is a MessagePack array whose first item is the campaign
    # index: a fixarray header (0x90-0x9f) then a positive fixint (< 128) in
    # all but huge configs. Read it without decoding the record.
    if raw[0] & 0xF0 == 0x90 and raw[1] < 0x80:
        return raw[1]
    return TOKEN_DECODER.decode(raw).campaign


def check_continuity(old: Snapshot, new: Snapshot, *, now: datetime | None = None) -> ContinuityReport:
    """Compare every token of ``old`` with ``new``: same campaign, same recipient, or retention over.

    Walks both token lists in key order (a merge join over the two memory
    maps): memory stays flat for millions of tokens. A record whose bytes are equal in
    both and whose campaign index names the same campaign is accepted without
    decoding; only differing records are decoded.

    Parameters
    ----------
    old:
        The snapshot currently published (its tokens have been sent).
    new:
        The snapshot about to replace it.
    now:
        The clock for retention (inject a fixed one in tests).

    Returns
    -------
    ContinuityReport
        Counts per campaign; ``ok`` is False when publishing would break invariant 2.
    """
    ts = int((now or datetime.now(UTC)).timestamp())
    report = ContinuityReport()
    old_ids = [c.id for c in old.campaigns]
    new_ids = [c.id for c in new.campaigns]
    report.retain_until = {c.id: c.retain_until for c in old.campaigns}
    expired = [c.retain_until is not None and c.retain_until <= ts for c in old.campaigns]
    same_index = [i < len(new_ids) and new_ids[i] == cid for i, cid in enumerate(old_ids)]
    # A merge join of the two snapshots' tokens in key order: sequential reads
    # of both beat one look-up per token.
    checked = n_expired = 0
    nit = new.iter_raw_tokens()
    nk, nv = next(nit, (None, None))
    for key, ov in old.iter_raw_tokens():
        ci = _campaign_index(ov)
        if expired[ci]:
            n_expired += 1
            continue
        checked += 1
        while nk is not None and nk < key:
            nk, nv = next(nit, (None, None))
        if nk != key:
            report.missing[old_ids[ci]] += 1
            continue
        if same_index[ci] and nv == ov:
            continue
        assert nv is not None
        orec = TOKEN_DECODER.decode(ov)
        nrec = TOKEN_DECODER.decode(nv)
        cid = old_ids[ci]
        new_cid = new_ids[nrec.campaign] if nrec.campaign < len(new_ids) else "?"
        if new_cid != cid:
            report.repointed[(cid, new_cid)] += 1
        elif nrec.recipient != orec.recipient:
            report.recipient_changed[cid] += 1
    report.checked, report.expired = checked, n_expired
    return report


# ----------------------------------------------------------------------- publish
@dataclass(frozen=True)
class PublishResult:
    """What a publish or rollback did."""

    version: str
    target: str  # folder or s3:// URL
    previous: str | None  # the version current before
    removed: list[str] = field(default_factory=list)  # versions deleted by --keep
    changed: bool = True  # False when the version was already current
    checked_tokens: int = 0  # issued tokens checked for invariant 2
    path: Path | None = None  # the published file, for a local target
    warnings: list[str] = field(default_factory=list)


def publish(
    src: str | os.PathLike[str],
    to: str | os.PathLike[str] | Target,
    *,
    keep: int = DEFAULT_KEEP,
    now: datetime | None = None,
) -> PublishResult:
    """Verify ``src``, check it keeps every issued token, copy it under its version, swap ``current``.

    Parameters
    ----------
    src:
        A snapshot file (or pointer) built by ``smslink compile``.
    to:
        A local folder, ``s3://bucket/prefix``, or a ``Target``.
    keep:
        Published versions to keep; older ones are deleted (never the current or previous).
    now:
        Clock for retention checks and the publish log.

    Returns
    -------
    PublishResult

    Raises
    ------
    SnapshotError
        ``src`` is missing, corrupt or of an unknown format; nothing changed.
    PublishError
        Publishing would break invariant 2; nothing changed.
    """
    target = to if not isinstance(to, (str, os.PathLike)) else open_target(to)
    at = now_iso(now)
    with open_snapshot(src, verify=True) as snap, target.lock():
        version = check_version_name(snap.meta.version)
        state, current = read_state(target)
        checked = 0
        if current is not None and current != version:
            report = _check_against(target, current, snap, now)
            if not report.ok:
                raise PublishError(
                    f"refusing to publish {version} to {target.describe()}: it would break "
                    f"invariant 2 (a token is forever) against the current snapshot {current}:\n  "
                    + "\n  ".join(report.describe())
                    + "\nNothing was changed. Compile with the published snapshot as the previous "
                    f"one (`smslink compile --previous {_previous_hint(target)}`) so issued tokens "
                    "are kept."
                )
            checked = report.checked
        target.upload(version, snap.path)
        meta = snap.meta
        state.versions.setdefault(version, {}).update(summarize_meta(meta))
        changed = current != version
        if changed:
            target.set_current(version)
            state.stack.append(version)
            state.record("publish", version, current, at)
        removed = prune_versions(target, state, version, keep)
        target.write_state(state.to_bytes())
    path = target.path_of(version) if isinstance(target, LocalTarget) else None
    return PublishResult(
        version=version, target=target.describe(), previous=current, removed=removed,
        changed=changed, checked_tokens=checked, path=path,
    )


def _previous_hint(target: Target) -> str:
    if isinstance(target, LocalTarget):
        return str(target.root / "current")
    return "<a local copy of the current snapshot>"


def _check_against(target: Target, current: str, new: Snapshot, now: datetime | None) -> ContinuityReport:
    with tempfile.TemporaryDirectory(prefix="smslink-publish-") as scratch:
        old_path = target.fetch(current, Path(scratch))
        if old_path.resolve() == new.path.resolve():
            return ContinuityReport()
        try:
            with open_snapshot(old_path) as old:
                return check_continuity(old, new, now=now)
        except SnapshotError as exc:
            raise PublishError(
                f"cannot check {new.meta.version} against the current snapshot {current}: {exc}. "
                f"Nothing was changed; roll back to a good version first (`smslink versions`)."
            ) from exc


def publish_snapshot(
    src: str | os.PathLike[str], to: str | os.PathLike[str], *, keep: int = DEFAULT_KEEP,
    now: datetime | None = None,
) -> Path:
    """Publish into a local folder and return the published file (see ``publish``)."""
    result = publish(src, LocalTarget(to), keep=keep, now=now)
    assert result.path is not None
    return result.path


# ---------------------------------------------------------------------- rollback
def rollback(
    to: str | os.PathLike[str] | Target, version: str | None = None, *, now: datetime | None = None,
) -> PublishResult:
    """Point ``current`` back at ``version`` (default: the one before the current).

    The target file is verified before the swap. Tokens the current snapshot
    issued that the restored one does not know are reported as a warning (their
    links answer 404 until a snapshot that has them is published again), not
    refused: a rollback is what you reach for when something is on fire.

    Raises
    ------
    PublishError
        Nothing to roll back to, unknown version, or the version's file is corrupt.
    """
    target = to if not isinstance(to, (str, os.PathLike)) else open_target(to)
    at = now_iso(now)
    with target.lock(), tempfile.TemporaryDirectory(prefix="smslink-rollback-") as scratch:
        state, current = read_state(target)
        present = target.present()
        if version is None:
            version = state.previous_of(current)
            if version is None:
                raise PublishError(
                    f"{target.describe()}: nothing earlier to roll back to ({current or 'nothing'} is the "
                    f"oldest version on the rollback stack); name a version: `smslink versions --to "
                    f"{target.describe()}` lists them"
                )
        check_version_name(version)
        if version not in present:
            known = ", ".join(present[-5:]) or "none"
            raise PublishError(
                f"{target.describe()}: version {version} is not published here (kept: {known}); "
                f"`smslink versions --to {target.describe()}` lists them"
            )
        if version == current:
            return PublishResult(version=version, target=target.describe(), previous=current, changed=False)
        path = target.fetch(version, Path(scratch))
        warnings = []
        try:
            with open_snapshot(path, verify=True) as snap:
                state.versions.setdefault(version, {}).update(summarize_meta(snap.meta))
                if current is not None:
                    old_path = target.fetch(current, Path(scratch))
                    with open_snapshot(old_path) as old:
                        report = check_continuity(old, snap, now=now)
                    warnings = report.describe()
        except SnapshotError as exc:
            raise PublishError(f"refusing to roll back to {version}: {exc}") from exc
        target.set_current(version)
        # Rolling back to the previous version pops the bad one off the stack;
        # rolling back to any other version pushes it.
        if len(state.stack) >= 2 and state.stack[-2] == version and state.stack[-1] == current:
            state.stack.pop()
        else:
            state.stack.append(version)
        state.record("rollback", version, current, at)
        target.write_state(state.to_bytes())
    return PublishResult(
        version=version, target=target.describe(), previous=current, warnings=warnings,
        path=target.path_of(version) if isinstance(target, LocalTarget) else None,
    )


# -------------------------------------------------------------------------- pull
def pull_current(source: str | os.PathLike[str] | Target, out: str | os.PathLike[str]) -> str | None:
    """Copy the snapshot currently published at ``source`` to the file ``out``, verified.

    CI runs this before ``smslink compile`` so the compile keeps every token
    the published snapshot issued (``--previous``, invariant 2). Returns the
    version, or None when nothing is published yet (a first deploy).

    Raises
    ------
    PublishError
        The published file is corrupt or missing.
    """
    import shutil

    target = source if not isinstance(source, (str, os.PathLike)) else open_target(source)
    current = target.current()
    if current is None:
        return None
    dest = Path(out)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".pull-", dir=dest.parent) as scratch:
        path = target.fetch(current, Path(scratch))
        try:
            with open_snapshot(path, verify=True) as snap:
                if snap.meta.version != current:
                    raise SnapshotError(f"the file holds version {snap.meta.version}")
        except SnapshotError as exc:
            raise PublishError(f"{target.describe()}: current version {current} is unusable: {exc}") from exc
        tmp = Path(scratch) / "pulled.lmdb"
        shutil.copyfile(path, tmp)
        os.chmod(tmp, 0o444)
        os.replace(tmp, dest)
    return current
