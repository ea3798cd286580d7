"""The rotating click-log writer: one JSON line per answered request, one file per process.

Why not the ``logging`` module or Granian's access log: a click line must be on
disk *before* the response goes out (invariant 4) and must never be torn. Here a
line is one ``write(2)`` of complete bytes to an ``O_APPEND`` descriptor, which
the kernel applies whole even if the process is killed right after; a short
write (disk full) is cut back with ``ftruncate`` so the file never ends in a
partial line. Files are named per engine/clicklog/_files.py and rotated by size
and age; a finished file is renamed from ``.jsonl.active`` to ``.jsonl``
atomically, so a shipper can take every ``.jsonl`` file without coordination.

A failed write returns False and is counted by the caller: the recipient still
gets their redirect (docs/operations.md says why).

Also here: the event id (a ULID: sortable by time, unique without coordination)
and the IP truncation every line uses.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import queue
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ._files import ACTIVE_SUFFIX, FINISHED_SUFFIX, PREFIX, stem_of

# ---------------------------------------------------------------------- ids
# ULID (https://github.com/ulid/spec): 48-bit milliseconds + 80 random bits,
# Crockford base32, 26 characters. Monotonic variant: the random part starts at
# a random value per process and is incremented, so ids from one process are
# strictly increasing and cost no system call each.
_CROCKFORD = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RAND_MASK = (1 << 80) - 1


_PAIRS = [chr(a) + chr(b) for a in _CROCKFORD for b in _CROCKFORD]  # 10 bits -> 2 characters


def _encode_crockford(value: int, chars: int) -> str:
    """``value`` as ``chars`` (even) Crockford base32 characters, two at a time."""
    out = [_PAIRS[(value >> (10 * i)) & 1023] for i in range(chars // 2 - 1, -1, -1)]
    return "".join(out)


class EventIds:
    """A monotonic ULID generator for one process (not thread-safe; one per event loop).

    The 26 characters split into the time (10: the top 6 change every ~18
    minutes, the low 4 every millisecond), the high 60 random bits (12) and the
    low 20 (4); everything but the last 4 characters changes rarely and is
    cached, so an id costs two table look-ups and a concatenation.
    """

    __slots__ = ("_hi", "_hi_s", "_last_ms", "_ms_hi", "_ms_hi_s", "_prefix", "_rand", "_time_s")

    def __init__(self) -> None:
        self._last_ms = -1
        self._ms_hi = -1
        self._ms_hi_s = ""
        self._time_s = ""
        self._hi = -1
        self._hi_s = ""
        self._prefix = ""  # time part + high random part
        self._rand = int.from_bytes(os.urandom(10), "big") >> 1  # room to count up

    def new(self, ms: int) -> str:
        """A new id for an event at ``ms`` (UTC milliseconds)."""
        r = self._rand = (self._rand + 1) & _RAND_MASK
        hi = r >> 20
        if ms != self._last_ms or hi != self._hi:
            self._refresh(ms, hi)
        lo = r & 0xFFFFF
        return self._prefix + _PAIRS[lo >> 10] + _PAIRS[lo & 1023]

    def _refresh(self, ms: int, hi: int) -> None:
        if ms != self._last_ms:
            if ms < self._last_ms:
                ms = self._last_ms  # the clock stepped back: keep ids sorted
            else:
                self._last_ms = ms
                top = ms >> 20
                if top != self._ms_hi:
                    self._ms_hi = top
                    self._ms_hi_s = _encode_crockford(top, 6)
                low = ms & 0xFFFFF
                self._time_s = self._ms_hi_s + _PAIRS[low >> 10] + _PAIRS[low & 1023]
        if hi != self._hi:
            self._hi = hi
            self._hi_s = _encode_crockford(hi, 12)
        self._prefix = self._time_s + self._hi_s


def ulid_time_ms(event_id: str) -> int:
    """The millisecond timestamp inside a ULID (for tests and readers)."""
    value = 0
    for ch in event_id.encode():
        value = value * 32 + _CROCKFORD.index(ch)
    return value >> 80


# ------------------------------------------------------------- IP truncation
def truncate_ip(ip: str) -> str:
    """The network of ``ip``: /24 for IPv4, /48 for IPv6 (IPv4-mapped IPv6 as IPv4).

    Returns "" for anything that is not an IP address (never raises): the log
    must not carry a value we cannot vouch for.
    """
    if ip.count(".") == 3 and ":" not in ip:
        a, _, rest = ip.partition(".")
        b, _, rest = rest.partition(".")
        c, _, d = rest.partition(".")
        # isascii: str.isdigit() is also true for "²" and other digits int() refuses
        if all(p.isascii() and p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in (a, b, c, d)):
            return f"{int(a)}.{int(b)}.{int(c)}.0/24"
        return ""
    try:
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
    except ValueError:
        return ""
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return truncate_ip(str(addr.ipv4_mapped))
    if isinstance(addr, ipaddress.IPv4Address):
        return truncate_ip(str(addr))
    return str(ipaddress.IPv6Network((int(addr) >> 80 << 80, 48)))


# ------------------------------------------------------------------- writer
@dataclass(frozen=True)
class WriterOptions:
    """How the click log rotates."""

    max_bytes: int = 64 * 1024 * 1024  # rotate when the active file would exceed this
    max_age_s: float = 3600.0  # rotate an active file this old at the next write or tick
    fsync_on_rotate: bool = True  # fsync a file before renaming it finished
    # The finisher thread's nice value (Linux: per thread). Its fsync writes a whole
    # rotated file back to disk, and that CPU is spent on the thread that calls it:
    # at 19 it yields to the event loop's requests instead of sharing the core.
    finisher_nice: int = 19


class ClickLogWriter:
    """Appends complete lines to ``<folder>/clicks-<start>-<host>-<pid>-<seq>.jsonl.active``.

    One writer per process and one caller thread (the worker's event loop).
    ``write`` never raises: it returns False when the line could not be
    written, after making sure the file does not end in a partial line.
    """

    def __init__(
        self,
        folder: str | os.PathLike[str],
        *,
        options: WriterOptions | None = None,
        host: str | None = None,
        pid: int | None = None,
        clock: Callable[[], float] = time.time,
        background: bool = False,
    ) -> None:
        self.folder = Path(folder)
        self.options = options or WriterOptions()
        self.host = _safe_host(host if host is not None else socket.gethostname())
        self.pid = os.getpid() if pid is None else pid
        self._clock = clock
        self._seq = 0
        self._fd = -1
        self._size = 0
        self._max_bytes = self.options.max_bytes
        self._deadline = 0.0
        self._stem = ""
        self.lines_written = 0
        self.lines_lost = 0
        self.files_finished = 0
        self.last_error: str | None = None
        self.folder.mkdir(parents=True, exist_ok=True)
        # With background=True a rotated file is fsynced, closed and renamed by a
        # thread of its own: an fsync of a 64 MiB file takes tens of
        # milliseconds, which on the caller's thread (the worker's event loop)
        # would hold up every request waiting behind it.
        self._jobs: queue.SimpleQueue[tuple[int, str, int] | None] | None = None
        self._finisher: threading.Thread | None = None
        if background:
            self._jobs = queue.SimpleQueue()
            self._finisher = threading.Thread(target=self._finish_jobs, name="smslink-log-finisher", daemon=True)
            self._finisher.start()

    @property
    def active_path(self) -> Path | None:
        """The file being written, or None before the first line / after close."""
        return self.folder / (self._stem + ACTIVE_SUFFIX) if self._fd >= 0 else None

    def write(self, line: bytes | bytearray, now: float | None = None) -> bool:
        """Append one complete line (must end with ``\\n``). True when it is in the file."""
        if now is None:
            now = self._clock()
        rotate = self._fd < 0 or self._size + len(line) > self._max_bytes or now >= self._deadline
        if rotate and not self._rotate(now):
            self.lines_lost += 1
            return False
        try:
            n = os.write(self._fd, line)
        except OSError as exc:
            self._lost(exc)
            return False
        if n != len(line):
            return self._short_write(n, len(line))
        self._size += n
        self.lines_written += 1
        return True

    # The compiled click path (engine/worker/_fast.c) appends to the active file
    # itself when no rotation is due: it reads _fd, _size, _max_bytes and
    # _deadline, adds to _size and lines_written, and reports failures through
    # these two methods, so both paths keep the same books.
    def _short_write(self, n: int, want: int) -> bool:
        """A short write (ENOSPC part-way): cut it back so no torn line stays."""
        with contextlib.suppress(OSError):
            os.ftruncate(self._fd, self._size)
        self._lost(OSError(f"short write ({n} of {want} bytes)"))
        return False

    def _write_error(self, errno: int) -> bool:
        """write(2) failed with ``errno``: the line is lost (as ``os.write`` raising)."""
        self._lost(OSError(errno, os.strerror(errno)))
        return False

    def tick(self, now: float | None = None) -> None:
        """Rotate an active file that has aged out even if no line arrives (call about once a second)."""
        if self._fd >= 0 and (now if now is not None else self._clock()) >= self._deadline:
            self._finish()

    def close(self) -> None:
        """Finish the active file (rename it ``.jsonl``), and wait for every file handed to the background."""
        if self._fd >= 0:
            self._finish()
        if self._jobs is not None and self._finisher is not None:
            self._jobs.put(None)
            self._finisher.join()
            self._jobs = self._finisher = None

    # ----------------------------------------------------------- internals
    def _lost(self, exc: OSError) -> None:
        self.lines_lost += 1
        self.last_error = f"{type(exc).__name__}: {exc}"

    def _rotate(self, now: float) -> bool:
        if self._fd >= 0:
            self._finish()
        self._seq += 1
        start = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
        self._stem = f"{PREFIX}{start}-{self.host}-{self.pid}-{self._seq:04d}"
        try:
            self._fd = os.open(
                self.folder / (self._stem + ACTIVE_SUFFIX),
                os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC,
                0o640,
            )
        except OSError as exc:
            self._fd = -1
            self.last_error = f"{type(exc).__name__}: {exc}"
            return False
        self._size = 0
        self._deadline = now + self.options.max_age_s
        return True

    def _finish(self) -> None:
        job = (self._fd, self._stem, self._size)
        self._fd = -1
        if self._jobs is not None:
            self._jobs.put(job)  # no new line reaches this file: the fd is ours no more
        else:
            self._complete(job)

    def _finish_jobs(self) -> None:
        jobs = self._jobs
        assert jobs is not None
        if sys.platform == "linux" and self.options.finisher_nice:
            # Linux keeps a nice value per thread (setpriority(2), NOTES); elsewhere
            # this would renice the whole process, requests included.
            with contextlib.suppress(OSError):
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.options.finisher_nice)
        while (job := jobs.get()) is not None:
            self._complete(job)

    def _complete(self, job: tuple[int, str, int]) -> None:
        fd, stem, size = job
        active = self.folder / (stem + ACTIVE_SUFFIX)
        try:
            if self.options.fsync_on_rotate:
                os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)
        if size == 0:
            active.unlink(missing_ok=True)  # nothing was written: leave no empty file
            return
        try:
            os.rename(active, self.folder / (stem + FINISHED_SUFFIX))
            self.files_finished += 1
        except OSError as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"


def _safe_host(host: str) -> str:
    """A host name safe inside a file name (no dashes: they separate the stem's fields)."""
    cleaned = "".join(ch if ch.isalnum() or ch == "." else "_" for ch in host)
    return cleaned[:64] or "host"


def finish_stale_files(
    folder: str | os.PathLike[str],
    *,
    host: str | None = None,
    is_alive: Callable[[int], bool] | None = None,
) -> list[Path]:
    """Finish active files left by dead processes of this host (after a crash or kill -9).

    A file is stale when its stem names this host and a pid that is not
    running. Any trailing partial line is cut off (the writer never leaves
    one, but a file system may), then the file is renamed ``.jsonl``.
    Returns the finished paths.
    """
    host = _safe_host(host if host is not None else socket.gethostname())
    alive = is_alive or pid_alive
    done: list[Path] = []
    base = Path(folder)
    if not base.is_dir():
        return done
    for entry in os.scandir(base):
        if not entry.name.endswith(ACTIVE_SUFFIX):
            continue
        stem = stem_of(entry.name)
        if stem is None:
            continue
        parts = stem[len(PREFIX):].split("-")
        if len(parts) != 4 or parts[1] != host or not parts[2].isdigit():
            continue
        if alive(int(parts[2])):
            continue
        path = Path(entry.path)
        _cut_partial_tail(path)
        dest = base / (stem + FINISHED_SUFFIX)
        try:
            if path.stat().st_size == 0:
                path.unlink()
                continue
            os.rename(path, dest)
        except FileNotFoundError:
            continue  # another process finished it first
        done.append(dest)
    return done


def _cut_partial_tail(path: Path) -> None:
    try:
        with open(path, "rb+") as fh:
            size = fh.seek(0, os.SEEK_END)
            if size == 0:
                return
            pos = size
            while pos > 0:
                step = min(4096, pos)
                fh.seek(pos - step)
                chunk = fh.read(step)
                nl = chunk.rfind(b"\n")
                if nl >= 0:
                    keep = pos - step + nl + 1
                    if keep != size:
                        fh.truncate(keep)
                    return
                pos -= step
            fh.truncate(0)
    except OSError:
        pass


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs; a zombie (killed, not yet reaped) counts as dead."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b") ", 1)[1][:1] != b"Z"
    except (OSError, IndexError):
        return True
