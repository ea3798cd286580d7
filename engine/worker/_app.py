"""The Granian RSGI app: one per worker process, over ``ClickHandler``.

Granian calls ``create_app`` (``--factory``) once in each worker process, then
``__rsgi_init__`` with the event loop, then ``__rsgi__`` per request. Opening
the snapshot, compiling campaigns and policies, and building encoders happen
once, there, never per request.

Threads: requests run on the event loop thread. A housekeeping thread watches
the main process's state file (which names the snapshot it verified), opens a
new snapshot and builds its handler off the loop, then hands the swap to the
loop with ``call_soon_threadsafe``: a request sees the old handler or the new
one, never neither. The old snapshot is closed a few seconds later. The same
thread ticks the log rotation (on the loop too) and writes the metrics file.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from engine.clicklog import ClickEvent, ClickLogWriter, WriterOptions, truncate_ip
from engine.snapshot import Snapshot, SnapshotError, open_snapshot

from ._core import ClickHandler
from ._fastpath import event_ids
from ._metrics import LATENCY_BUCKETS, WorkerMetrics
from ._pages import not_found_page

#: Environment variable holding the JSON ``WorkerConfig`` (set by ``smslink serve``).
CONFIG_ENV = "SMSLINK_WORKER_CONFIG"
_CLOSE_GRACE_S = 5.0  # an old snapshot is closed this long after the swap
_POLL_S = 0.2  # state-file check period
_METRICS_S = 0.5  # metrics file and rotation tick period


class WorkerConfig(msgspec.Struct, frozen=True):
    """What a worker process needs; written by the supervisor, read by ``create_app``."""

    state_file: str  # JSON {"path", "version"} naming the verified snapshot to serve
    logs: str  # click-log folder
    metrics_dir: str  # where this worker writes worker-<pid>.json
    geoip: str | None = None  # City .mmdb
    asn: str | None = None  # ASN .mmdb
    fallback_url: str | None = None  # unknown links redirect here instead of a 404 page
    rotate_bytes: int = 64 * 1024 * 1024
    rotate_seconds: float = 3600.0
    # Behind a load balancer the socket's peer is the balancer: take the client
    # address from this header instead (its last entry, the one the balancer
    # added). Only set it when every request comes through a trusted proxy.
    client_ip_header: str | None = None


_SAFE_BODY = not_found_page()
_SAFE_HEADERS = [("content-type", "text/html; charset=utf-8"), ("cache-control", "no-store")]


class RedirectApp:
    """The RSGI application object."""

    def __init__(self, config: WorkerConfig) -> None:
        self.config = config
        self.handler: ClickHandler | None = None
        self.metrics = WorkerMetrics()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: Any = None
        self._ip_header: str | None = None
        self._peers: dict[str, str] = {}  # socket peer "addr:port" -> addr
        self._state_sig: tuple[int, int, int] | None = None
        self._retiring: list[tuple[float, Snapshot]] = []

    # ------------------------------------------------------------ lifecycle
    def __rsgi_init__(self, loop: Any) -> None:
        self._loop = loop
        cfg = self.config
        self.pid = os.getpid()
        self.metrics.pid = self.pid
        self.worker_id = f"{socket.gethostname()}:{self.pid}"
        self.ids = event_ids()
        self.geo = _open_geo(cfg.geoip, cfg.asn)
        # background: a rotated file's fsync and rename never hold up the event loop
        self.writer = ClickLogWriter(
            cfg.logs, options=WriterOptions(max_bytes=cfg.rotate_bytes, max_age_s=cfg.rotate_seconds),
            background=True,
        )
        encoder = msgspec.json.Encoder()
        self._encode = encoder.encode
        self._encode_into = encoder.encode_into
        self._buf = bytearray(2048)
        self._ip_header = cfg.client_ip_header.lower() if cfg.client_ip_header else None
        self._metrics_dir = Path(cfg.metrics_dir)
        # what the compiled path (ClickHandler.fast.serve) needs of this app
        m = self.metrics
        self._fast_state = (self._ip_header, self._peers, self.writer, m, m.requests, m.latency_counts,
                            LATENCY_BUCKETS)
        state = self._read_state()
        if state is None:
            raise SystemExit(f"smslink worker: no snapshot state in {cfg.state_file}")
        self.handler = self._build(state["path"])
        # Everything built so far (compiled campaigns, policies, store indexes)
        # lives as long as the process: keep it out of the cyclic collector's
        # scans, which would otherwise walk it again and again.
        gc.collect()
        gc.freeze()
        self.metrics.snapshot_version = self.handler.version
        self.metrics.snapshot_path = state["path"]
        self.metrics.dump(self._metrics_dir)
        self._thread = threading.Thread(target=self._housekeeping, name="smslink-housekeeping", daemon=True)
        self._thread.start()

    def __rsgi_del__(self, loop: Any) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self.writer.close()
        self.metrics.log_lines = self.writer.lines_written
        self.metrics.log_lost = self.writer.lines_lost
        with contextlib.suppress(OSError):
            self.metrics.dump(self._metrics_dir)

    # ------------------------------------------------------------ requests
    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        fast = self.handler.fast  # type: ignore[union-attr]
        if fast is not None:
            # The common click, compiled (_fast.c): answered, logged and counted,
            # or nothing done and the request continues here.
            try:
                if fast.serve(scope, proto, self._fast_state):
                    return
            except Exception as exc:  # the line is written; sending the answer failed
                self.metrics.handler_errors += 1
                self.metrics.last_error = f"request handler raised {type(exc).__name__}"
                return
        t0 = time.perf_counter()
        if scope.proto != "http":
            return
        method = scope.method
        status, verdict, answer = 404, "unjudged", "not-found"
        try:
            headers = scope.headers
            now = time.time()
            if self._ip_header is not None and (fwd := headers.get(self._ip_header)):
                ip = fwd.rsplit(",", 1)[-1].strip()[:64]
            else:
                client = scope.client
                ip = self._peers.get(client)
                if ip is None:  # "1.2.3.4:5678" or "[2001:db8::1]:5678"
                    if len(self._peers) >= 4096:
                        self._peers.clear()
                    ip = self._peers[client] = client.rsplit(":", 1)[0].strip("[]") if client else ""
            # HTTP/2 names the host in :authority (scope.authority); HTTP/1.1 in Host (None here)
            out = self.handler.handle(method, scope.path, scope.authority, headers, ip, now)  # type: ignore[union-attr]
            ev = out.event
            if ev is not None:
                # Invariant 4: the line is in the file before the answer leaves.
                buf = self._buf
                self._encode_into(ev, buf)  # the head, into a reused buffer
                buf[-1:] = out.tail  # its closing brace -> the tail, the brace, the newline
                self.writer.write(buf, now)
                verdict = ev.verdict
            status, answer = out.status, out.answer
            if method == "HEAD" or not out.body:
                proto.response_empty(status, out.headers)
            else:
                proto.response_bytes(status, out.headers, out.body)
        except Exception as exc:  # nothing a client sends may become a 5xx
            self.metrics.handler_errors += 1
            # the type only: a message may quote what the client sent (a path, a header)
            self.metrics.last_error = f"request handler raised {type(exc).__name__}"
            status, answer = 404, "not-found"
            self._log_safe(scope, method)
            with contextlib.suppress(Exception):  # the connection is gone; nothing to answer
                proto.response_bytes(404, _SAFE_HEADERS, b"" if method == "HEAD" else _SAFE_BODY)
        self.metrics.observe(status, verdict, answer, time.perf_counter() - t0)

    def _log_safe(self, scope: Any, method: str) -> None:
        """Best effort: an orphan line for a request whose handling raised."""
        try:
            now = time.time()
            ms = int(now * 1000)
            client = scope.client or ""
            ev = ClickEvent(
                id=self.ids.new(ms), ts=ms, kind="orphan", status=404, answer="not-found",
                route="internal-error", method=str(method)[:16],
                ip=truncate_ip(client.rsplit(":", 1)[0].strip("[]")),
                snapshot=self.handler.version if self.handler else "", worker=self.worker_id,
            )
            self.writer.write(self._encode(ev) + b"\n", now)
        except Exception:
            pass

    # ------------------------------------------------------------ snapshots
    def _build(self, path: str) -> ClickHandler:
        snap = open_snapshot(path)
        try:
            return ClickHandler(snap, geo=self.geo, fallback_url=self.config.fallback_url,
                                worker=self.worker_id, ids=self.ids)
        except BaseException:
            snap.close()
            raise

    def _read_state(self) -> dict[str, Any] | None:
        p = Path(self.config.state_file)
        try:
            st = p.stat()
            data = json.loads(p.read_bytes())
        except (OSError, ValueError):
            return None
        self._state_sig = (st.st_ino, st.st_mtime_ns, st.st_size)
        return data if isinstance(data, dict) and "path" in data else None

    def _check_state(self) -> None:
        try:
            st = os.stat(self.config.state_file)
        except OSError:
            return
        if (st.st_ino, st.st_mtime_ns, st.st_size) == self._state_sig:
            return
        state = self._read_state()
        current = self.handler
        if state is None or current is None or state["path"] == str(current.snapshot.path):
            return
        reuse = next((s for _, s in self._retiring if str(s.path) == state["path"]), None)
        try:
            if reuse is not None:  # LMDB refuses a second open of a file in one process
                self._retiring = [(t, s) for t, s in self._retiring if s is not reuse]
                new = ClickHandler(reuse, geo=self.geo, fallback_url=self.config.fallback_url,
                                   worker=self.worker_id, ids=self.ids)
            else:
                new = self._build(state["path"])
        except (SnapshotError, OSError, Exception) as exc:
            self.metrics.reloads_failed += 1
            self.metrics.last_error = f"reload {state['path']}: {exc}"[:300]
            print(f"smslink worker {self.pid}: cannot open {state['path']}: {exc}; "
                  f"still serving {current.version}", file=sys.stderr, flush=True)
            return
        done = threading.Event()

        def swap() -> None:
            self.handler = new
            done.set()

        self._loop.call_soon_threadsafe(swap)
        if not done.wait(10):
            # The loop did not run the swap (shutting down): keep the old one.
            new.snapshot.close()
            return
        self._retiring.append((time.monotonic() + _CLOSE_GRACE_S, current.snapshot))
        self.metrics.reloads_ok += 1
        self.metrics.snapshot_version = new.version
        self.metrics.snapshot_path = state["path"]

    def _housekeeping(self) -> None:
        last_tick = 0.0
        while not self._stop.wait(_POLL_S):
            try:
                self._check_state()
                now = time.monotonic()
                for item in [r for r in self._retiring if r[0] <= now]:
                    self._retiring.remove(item)
                    item[1].close()
                if now - last_tick >= _METRICS_S:
                    last_tick = now
                    self._loop.call_soon_threadsafe(self.writer.tick)
                    self.metrics.log_lines = self.writer.lines_written
                    self.metrics.log_lost = self.writer.lines_lost
                    if self.handler is not None:
                        self.metrics.degraded = self.handler.errors
                    if self.writer.last_error:
                        self.metrics.last_error = self.writer.last_error
                    self.metrics.dump(self._metrics_dir)
            except Exception as exc:  # housekeeping must never die
                print(f"smslink worker {os.getpid()}: housekeeping: {exc}", file=sys.stderr, flush=True)


def _open_geo(city: str | None, asn: str | None) -> Any:
    if not city and not asn:
        return None
    from engine.routing import GeoReader

    return GeoReader(city, asn)


def create_app() -> RedirectApp:
    """Granian's factory: the app for this worker process, configured from ``SMSLINK_WORKER_CONFIG``."""
    raw = os.environ.get(CONFIG_ENV)
    if not raw:
        raise SystemExit(f"smslink worker: {CONFIG_ENV} is not set; start it with `smslink serve`")
    return RedirectApp(msgspec.json.decode(raw, type=WorkerConfig))


AppFactory = Callable[[], RedirectApp]
