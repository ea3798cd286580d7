"""The send manifest: the one artifact with phone numbers (invariant 1).

A CSV the SMS sender reads: ``recipient_id,phone_e164,message,link,campaign,variant``.
It is written owner-only (0600) under a temporary name beside its destination
and renamed into place only when the whole compile succeeded. It is refused
inside a git work tree unless git ignores its path, so it cannot be committed
by accident.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO

COLUMNS = ("recipient_id", "phone_e164", "message", "link", "campaign", "variant")
_NEEDS_QUOTES = re.compile(r'[",\r\n]|^\s|\s$')


def csv_field(value: str) -> str:
    """``value`` as one CSV field (RFC 4180): quoted only when it has to be."""
    if _NEEDS_QUOTES.search(value):
        return '"' + value.replace('"', '""') + '"'
    return value


class ManifestError(Exception):
    """The manifest cannot be written where asked (for instance, a git work tree)."""


def check_location(path: Path) -> None:
    """Refuse ``path`` when it lies in a git work tree and git does not ignore it.

    Raises
    ------
    ManifestError
        With what to do: add the path to .gitignore, or write elsewhere.
    """
    path = path.absolute()
    probe = path.parent
    while not probe.exists():
        probe = probe.parent
    git = shutil.which("git")
    if git is None:
        for folder in (probe, *probe.parents):
            if (folder / ".git").exists():
                raise ManifestError(
                    f"{path}: the send manifest holds phone numbers and this folder is inside a git "
                    f"work tree ({folder}), but git is not installed to confirm the path is ignored; "
                    "write it outside the repository with --out"
                )
        return
    inside = subprocess.run(
        [git, "-C", str(probe), "rev-parse", "--is-inside-work-tree"],
        capture_output=True, text=True, check=False,
    )
    if inside.returncode != 0 or inside.stdout.strip() != "true":
        return
    ignored = subprocess.run(
        [git, "-C", str(probe), "check-ignore", "-q", str(path)],
        capture_output=True, text=True, check=False,
    )
    if ignored.returncode != 0:
        raise ManifestError(
            f"{path}: refusing to write the send manifest (it holds phone numbers) inside a git "
            "work tree where git does not ignore it; add the output folder to .gitignore "
            "(e.g. `/build/`) or pass --out outside the repository"
        )


class ManifestWriter:
    """Writes manifest rows to a private temporary file; ``commit`` renames it into place."""

    def __init__(self, path: Path, *, check: bool = True) -> None:
        if check:
            check_location(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)  # mode 0600
        os.fchmod(fd, 0o600)
        self._tmp = Path(tmp)
        self._fh: IO[str] | None = os.fdopen(fd, "w", newline="", encoding="utf-8", buffering=1 << 20)
        self._writer = csv.writer(self._fh, lineterminator="\n")
        self._writer.writerow(COLUMNS)
        self.rows = 0

    def add(self, recipient: str, phone: str, message: str, link: str, campaign: str, variant: str) -> None:
        self._writer.writerow((recipient, phone, message, link, campaign, variant))
        self.rows += 1

    def add_lines(self, lines: list[str]) -> None:
        """Append rows already formatted as CSV lines (the build's fast path)."""
        fh = self._fh
        if fh is None:
            raise RuntimeError("manifest already closed")
        fh.writelines(lines)
        self.rows += len(lines)

    def commit(self) -> Path:
        """Flush, fsync and rename into place; returns the final path."""
        fh = self._fh
        if fh is None:
            raise RuntimeError("manifest already closed")
        fh.flush()
        os.fsync(fh.fileno())
        fh.close()
        self._fh = None
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Close and delete the temporary file (nothing is left behind)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc_type is not None:
            self.abort()
