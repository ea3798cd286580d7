"""Write the snapshot from a process that never held a phone number.

LMDB copies records into page buffers taken from ``malloc``; any byte of a page
the records do not cover is whatever that memory held before (unless the
environment zero-fills pages). In the compiler that memory has held audience
rows and manifest lines, so a phone number could end up in the unused tail of
a snapshot page: invariant 1 would then hang on a flag. The writer is therefore
forked at the start of the build, before any audience or opt-out list is
read, and receives only what the snapshot holds (tokens, recipient ids,
campaign records) over a pipe. tests/e2e/compile/test_pii.py searches the
snapshot's bytes for every number in every format.

Where ``fork`` is unavailable the snapshot is written in-process.
"""

from __future__ import annotations

import multiprocessing
import time
from array import array
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from engine.snapshot import Meta, TokenRecord, write_snapshot

_BATCH = 16384
Profile = tuple[int, int, int, int, list[str], bool]  # campaign, variant, store, zone, attrs, retired


class SnapshotWriter:
    """A forked snapshot writer. Create it early; call ``write`` once; ``close`` always."""

    def __init__(self) -> None:
        self._proc: Any = None
        self.cpu_s = 0.0  # CPU seconds of the writer process (0 when written in-process)
        if "fork" not in multiprocessing.get_all_start_methods():
            return
        ctx = multiprocessing.get_context("fork")
        self._recv, send = ctx.Pipe(duplex=False)
        recv, self._send = ctx.Pipe(duplex=False)
        self._proc = ctx.Process(target=_child, args=(recv, send), daemon=True)
        self._proc.start()
        recv.close()
        send.close()

    def write(
        self,
        path: Path,
        *,
        profiles: list[Profile],
        tokens: list[str],
        pids: list[int],
        rids: list[str],
        **kwargs: Any,
    ) -> Meta:
        """``write_snapshot(path, tokens=..., **kwargs)``; token ``i`` has profile ``pids[i]``, recipient ``rids[i]``.

        ``tokens`` must be sorted. They travel in batches of three flat columns
        (NUL-joined strings and an array of ints), which costs a fraction of
        pickling a tuple per token.
        """
        if self._proc is None:
            return write_snapshot(path, tokens=_records(profiles, zip(tokens, pids, rids, strict=True)), **kwargs)
        try:
            self._send.send(("head", path, profiles, kwargs))
            for i in range(0, len(tokens), _BATCH):
                tok, rid = tokens[i : i + _BATCH], rids[i : i + _BATCH]
                joined = "\x00".join(rid)
                if joined.count("\x00") == len(rid) - 1:  # no recipient id holds a NUL
                    self._send.send(("cols", ("\x00".join(tok), array("q", pids[i : i + _BATCH]).tobytes(), joined)))
                else:
                    self._send.send(("tokens", list(zip(tok, pids[i : i + _BATCH], rid, strict=True))))
            self._send.send(("end", None))
        except (BrokenPipeError, EOFError):
            pass  # the child failed: its message follows
        try:
            kind, payload = self._recv.recv()
        except EOFError:
            raise RuntimeError("the snapshot writer process stopped unexpectedly") from None
        if kind == "ok":
            meta, self.cpu_s = payload
            return meta  # type: ignore[no-any-return]
        exc_type, message = payload
        if exc_type == "OSError":
            raise OSError(message)
        raise RuntimeError(f"snapshot writer failed: {exc_type}: {message}")

    def close(self) -> None:
        if self._proc is None:
            return
        self._send.close()
        self._recv.close()
        self._proc.join(timeout=5)
        if self._proc.is_alive():
            self._proc.kill()
            self._proc.join()
        self._proc = None

    def __enter__(self) -> SnapshotWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _records(profiles: list[Profile], tokens: Iterable[tuple[str, int, str]]) -> Iterator[tuple[str, TokenRecord]]:
    for token, pid, rid in tokens:
        ci, variant, store, zone, attrs, retired = profiles[pid]
        yield token, TokenRecord(ci, rid, variant, store, zone, attrs, retired)


def _child(recv: Any, send: Any) -> None:
    try:
        msg = recv.recv()
    except EOFError:
        return  # the build stopped before writing: nothing to do
    ended = False

    def stream() -> Iterator[tuple[str, int, str]]:
        nonlocal ended
        while True:
            kind, payload = recv.recv()
            if kind == "end":
                ended = True
                return
            if kind == "cols":
                tok, pid_bytes, rid = payload
                yield from zip(tok.split("\x00"), array("q", pid_bytes), rid.split("\x00"), strict=True)
            else:
                yield from payload

    try:
        _, path, profiles, kwargs = msg
        meta = write_snapshot(path, tokens=_records(profiles, stream()), **kwargs)
        send.send(("ok", (meta, time.process_time())))
    except BaseException as exc:  # reported to the parent, which raises
        try:  # drain what the parent is still sending, or it would block on a full pipe
            while not ended and recv.recv()[0] != "end":
                pass
        except EOFError:
            pass
        name = "OSError" if isinstance(exc, OSError) else type(exc).__name__
        send.send(("error", (name, str(exc))))
