"""Publish a snapshot into a folder and swap its ``current`` pointer atomically.

Layout of a publish folder::

    <to>/snapshots/<version>.lmdb   immutable, read-only files
    <to>/current                    symlink -> snapshots/<version>.lmdb

Workers watch ``current``; swapping it is ``rename(2)`` of a new symlink over
the old one, so a reader sees the old or the new target, never neither.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from ._io import _fsync_dir, open_snapshot


def swap_pointer(to: Path, target: Path) -> None:
    """Point ``<to>/current`` at ``target`` (a path inside ``to``) atomically."""
    rel = os.path.relpath(target, to)
    tmp = to / f".current.tmp-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    os.symlink(rel, tmp)
    os.replace(tmp, to / "current")
    _fsync_dir(to)


def publish_snapshot(src: str | os.PathLike[str], to: str | os.PathLike[str]) -> Path:
    """Copy a verified snapshot into ``to/snapshots/`` and make it current.

    Returns the published file. The source is verified (format and checksum)
    before anything in ``to`` changes.
    """
    to = Path(to)
    with open_snapshot(src, verify=True) as snap:
        version = snap.meta.version
        real = snap.path
    folder = to / "snapshots"
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / f"{version}.lmdb"
    if not dest.exists():
        tmp = folder / f".{version}.lmdb.tmp-{os.getpid()}"
        shutil.copyfile(real, tmp)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o444)
        os.replace(tmp, dest)
        _fsync_dir(folder)
    swap_pointer(to, dest)
    return dest
