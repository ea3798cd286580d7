"""The dispatcher's durable state: per-endpoint cursor and retry queue, dead letters, the run lock.

Layout of ``--state DIR`` (docs/webhooks.md)::

    DIR/dispatch.lock                        held (flock) by the running dispatcher
    DIR/metrics.prom                         Prometheus text format, rewritten every few seconds
    DIR/endpoints/<name>/state.json          cursor + retry queue + disabled flag (one atomic file)
    DIR/endpoints/<name>/dead-letters.jsonl  events that were never accepted (JSON lines)
    DIR/endpoints/<name>/dead-letters.lock   serialises appends with `dead-letters --retry`

The cursor and the retry queue live in *one* file written with temp + fsync +
rename, so the cursor can move past an event that is still being retried: the
event is in the retry queue of the very same file. A crash loses at most what
was acknowledged since the last write, and that is delivered again with the
same webhook-id (at-least-once).

The retry queue and the dead letters hold the payload body, not the click-log
line, so they contain exactly what the endpoint would receive and nothing more.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

import msgspec

STATE_VERSION = 1


class RetryEntry(msgspec.Struct, kw_only=True):
    """One event waiting for its next attempt."""

    webhook_id: str
    event_id: str
    type: str
    body: msgspec.Raw  # the payload, byte for byte as first built
    attempts: int  # attempts made so far
    first_at: float  # epoch seconds of the first attempt
    next_at: float  # epoch seconds of the next attempt
    last_error: str = ""


class DisabledMark(msgspec.Struct, kw_only=True):
    """Why and when an endpoint stopped being delivered to (an HTTP 410)."""

    at: float
    reason: str
    url: str  # the URL that answered 410; a new URL in config re-enables the endpoint


class EndpointState(msgspec.Struct, kw_only=True):
    """Everything the dispatcher must remember about one endpoint between runs."""

    version: int = STATE_VERSION
    #: click-log stem -> byte offset below which every event is settled
    #: (acknowledged, in ``retries``, dead-lettered, or not for this endpoint)
    files: dict[str, int] = {}
    retries: list[RetryEntry] = []
    disabled: DisabledMark | None = None


class DeadLetter(msgspec.Struct, kw_only=True):
    """One line of dead-letters.jsonl."""

    webhook_id: str
    event_id: str
    endpoint: str
    type: str
    attempts: int
    first_attempt_at: str  # ISO 8601 UTC
    last_attempt_at: str
    last_error: str
    payload: msgspec.Raw


_state_decoder = msgspec.json.Decoder(EndpointState)
_dl_decoder = msgspec.json.Decoder(DeadLetter)
_encoder = msgspec.json.Encoder()


class StateError(Exception):
    """The state folder cannot be used (unreadable file, another dispatcher running)."""


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: write a temp file, fsync it, rename, fsync the folder."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # the old file is untouched
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


class StateDir:
    """The ``--state`` folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def endpoint_dir(self, name: str) -> Path:
        return self.root / "endpoints" / name

    @property
    def metrics_path(self) -> Path:
        return self.root / "metrics.prom"

    # ------------------------------------------------------------------ state
    def load(self, name: str) -> EndpointState:
        path = self.endpoint_dir(name) / "state.json"
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return EndpointState()
        try:
            return _state_decoder.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise StateError(f"{path}: unreadable dispatcher state ({exc}); restore it from a backup "
                             "or delete it to start this endpoint from the beginning of the logs") from exc

    def save(self, name: str, state: EndpointState) -> None:
        folder = self.endpoint_dir(name)
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write(folder / "state.json", _encoder.encode(state))

    def endpoint_names(self) -> list[str]:
        base = self.root / "endpoints"
        return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []

    # ----------------------------------------------------------- dead letters
    @contextlib.contextmanager
    def _dl_lock(self, name: str) -> Iterator[Path]:
        folder = self.endpoint_dir(name)
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / "dead-letters.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield folder / "dead-letters.jsonl"
        finally:
            os.close(fd)

    def append_dead_letters(self, name: str, letters: list[DeadLetter]) -> None:
        """Append (and fsync) dead letters."""
        if not letters:
            return
        data = b"".join(_encoder.encode(d) + b"\n" for d in letters)
        with self._dl_lock(name) as path:
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
                os.fsync(fd)
            finally:
                os.close(fd)

    def read_dead_letters(self, name: str, pattern: str = "dead-letters.jsonl*") -> list[DeadLetter]:
        """Dead letters of an endpoint, oldest first, one per webhook-id (the last written wins)."""
        folder = self.endpoint_dir(name)
        found: dict[str, DeadLetter] = {}
        for path in sorted(folder.glob(pattern), key=lambda p: (p.name == "dead-letters.jsonl", p.name)):
            for line in path.read_bytes().splitlines():
                if line.strip():
                    d = _dl_decoder.decode(line)
                    found.pop(d.webhook_id, None)
                    found[d.webhook_id] = d
        return list(found.values())

    def take_dead_letters(self, name: str) -> list[DeadLetter]:
        """Move the dead letters aside for a retry and return them.

        Appends that race the retry land in a fresh dead-letters.jsonl, never in the file taken.
        """
        with self._dl_lock(name) as path:
            taking = path.with_name(f"dead-letters.jsonl.retrying-{os.getpid()}")
            if path.exists():
                os.replace(path, taking)
        # leftovers of an interrupted retry are taken too
        return self.read_dead_letters(name, "dead-letters.jsonl.retrying-*")

    def finish_dead_letter_retry(self, name: str, still_dead: list[DeadLetter]) -> None:
        """Write back what is still failing, then drop every file taken by ``take_dead_letters``."""
        folder = self.endpoint_dir(name)
        taken = sorted(folder.glob("dead-letters.jsonl.retrying-*"))
        # still-dead ones go back first, so a crash here duplicates rather than loses
        self.append_dead_letters(name, still_dead)
        for p in taken:
            p.unlink(missing_ok=True)


class RunLock:
    """An exclusive lock on the state folder: one dispatcher per state."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self._path = root / "dispatch.lock"
        self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(self._fd, 32, 0).decode(errors="replace").strip()
            os.close(self._fd)
            raise StateError(f"{root}: another dispatcher (pid {other or '?'}) is running on this state "
                             "folder; stop it first or give this one its own --state") from None
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, str(os.getpid()).encode(), 0)

    def release(self) -> None:
        os.close(self._fd)
