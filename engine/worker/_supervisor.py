"""The main process of ``smslink serve``: verify, watch, administer, and run Granian.

The main process never answers a click. It

- resolves the ``--snapshot`` argument through ``open_source`` (a local
  path, or ``s3://bucket/prefix`` mirrored to a local folder by a thread),
- verifies the snapshot (format and checksum) *once per machine* before any
  worker sees it, and writes the accepted file's path to a small state file
  that the workers watch; a snapshot that fails verification is refused, the
  state file keeps naming the old one, and ``/readyz`` and stderr say why,
- watches the ``current`` pointer several times a second (a cheap stat),
- serves ``/healthz``, ``/readyz`` and ``/metrics`` on the admin port
  (loopback by default), summing the workers' counter files,
- finishes click-log files left active by killed workers,
- runs Granian (RSGI, N worker processes, access log off) until SIGTERM/SIGINT.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO

import msgspec

from engine.clicklog import finish_stale_files, pid_alive
from engine.snapshot import SnapshotError, open_snapshot, resolve_pointer

from . import _fastpath
from ._app import CONFIG_ENV, WorkerConfig
from ._metrics import read_worker_files, render_prometheus

_WATCH_S = 0.25  # pointer check period
_STALE_LOG_S = 5.0  # how often files of dead workers are finished


class ServeError(Exception):
    """``smslink serve`` cannot start; the message says why and what to do."""


@dataclass(frozen=True)
class ServeOptions:
    """Options of ``smslink serve`` (see its --help)."""

    snapshot: str  # file, pointer or folder holding ``current``
    logs: str  # click-log folder
    geoip: str | None = None
    asn: str | None = None
    workers: int = 1
    host: str = "127.0.0.1"
    port: int = 8080
    admin_host: str = "127.0.0.1"
    admin_port: int | None = 9090  # None: no admin server
    fallback_url: str | None = None
    rotate_bytes: int = 64 * 1024 * 1024
    rotate_seconds: float = 3600.0
    backlog: int = 1024
    log_level: str = "warning"  # Granian's own log (its access log is always off)
    run_dir: str | None = None  # state + metrics files; default: a fresh temporary folder
    client_ip_header: str | None = None  # e.g. x-forwarded-for, only behind a trusted proxy
    # Granian's task implementation: "asyncio" (default) or "rust" (Python < 3.12;
    # Granian calls it experimental; a few µs less per request, docs/worker.md)
    task_impl: str = "asyncio"


@dataclass
class SnapshotSource:
    """Where the supervisor watches for snapshots, and what to clean up after serving."""

    path: str  # the local folder or pointer to watch
    temp_dir: str | None = None  # a temporary mirror folder of ours: removed at exit
    thread: threading.Thread | None = None  # the mirror thread, if any


def resolve_source(snapshot: str) -> str:
    """The local path to watch for ``--snapshot`` (see ``open_source``)."""
    return open_source(snapshot).path


def open_source(snapshot: str, stop: threading.Event | None = None) -> SnapshotSource:
    """Resolve ``--snapshot`` to a local path, starting a mirror for a remote store.

    ``s3://bucket/prefix`` (what ``smslink publish --to`` wrote) is mirrored to a
    local folder (``$SMSLINK_SNAPSHOT_CACHE``, or a fresh temporary folder that
    the supervisor removes when it stops): one synchronous sync first, which
    fails fast when nothing is published there or the store cannot be reached,
    then a daemon thread syncs once a second until ``stop`` is set. The mirror
    verifies each download and swaps the local ``current`` pointer, which the
    supervisor's watcher then picks up like any local publish.
    """
    if snapshot.startswith("s3://"):
        from engine.snapshot import S3Mirror

        chosen = os.environ.get("SMSLINK_SNAPSHOT_CACHE")
        local = chosen or tempfile.mkdtemp(prefix="smslink-s3-")
        temp = None if chosen else local
        try:
            mirror = S3Mirror(snapshot, local)
            mirror.sync_once()  # fails fast: nothing published, or a corrupt current
        except SnapshotError as exc:
            _discard(temp)
            raise ServeError(str(exc)) from exc
        except Exception as exc:  # botocore: no credentials, endpoint unreachable, bad bucket...
            _discard(temp)
            raise ServeError(f"{snapshot}: cannot read the snapshot store ({type(exc).__name__}: {exc})") from exc
        thread = threading.Thread(target=_mirror_loop, args=(mirror, stop), daemon=True, name="s3-mirror")
        thread.start()
        return SnapshotSource(local, temp, thread)
    if "://" in snapshot:
        raise ServeError(
            f"{snapshot}: only s3:// remote snapshot sources are supported; "
            "or sync the published folder locally and pass its path"
        )
    return SnapshotSource(snapshot)


def _discard(temp_dir: str | None) -> None:
    if temp_dir is not None:
        shutil.rmtree(temp_dir, ignore_errors=True)


def _mirror_loop(mirror: Any, stop: threading.Event | None = None, period: float = 1.0) -> None:
    """Follow the remote ``current`` until ``stop`` is set (daemon thread); a failed sync is reported and retried."""
    last = ""
    while True:
        if stop is not None:
            if stop.wait(period):
                return
        else:
            time.sleep(period)
        try:
            mirror.sync_once()
            last = ""
        except Exception as exc:  # a refused version, a network blip: keep serving what we have
            text = f"{type(exc).__name__}: {exc}"
            if text != last:  # once per distinct failure, not once a second
                print(f"smslink serve: snapshot mirror: {text}", file=sys.stderr, flush=True)
            last = text


@dataclass
class _State:
    """What the supervisor accepted or refused, shared with the admin thread."""

    version: str = ""
    config_commit: str | None = None
    built_at: str = ""
    path: str = ""
    accepted_at: float = 0.0
    refused: dict[str, Any] | None = None  # {"path", "reason", "at"}
    reloads_ok: int = 0
    reloads_failed: int = 0
    seen: tuple[str, int, int] | None = None  # (real path, inode, mtime) last examined
    lock: threading.Lock = field(default_factory=threading.Lock)


class Supervisor:
    """Everything the main process does besides running Granian (usable without Granian in tests)."""

    def __init__(self, options: ServeOptions, *, err: TextIO | None = None) -> None:
        self.options = options
        self.err = err or sys.stderr
        self._stop = threading.Event()
        self._source = open_source(options.snapshot, self._stop)
        self.source = self._source.path
        self.own_run_dir = options.run_dir is None
        self.run_dir = Path(options.run_dir or tempfile.mkdtemp(prefix="smslink-serve-"))
        self.metrics_dir = self.run_dir / "metrics"
        self.state_file = self.run_dir / "state.json"
        self.state = _State()
        self._threads: list[threading.Thread] = []
        self._admin: ThreadingHTTPServer | None = None
        self.worker_pids: set[int] = set()

    # ---------------------------------------------------------------- start
    def prepare(self) -> None:
        """Verify the snapshot and lay out the run folder; raise ServeError when it cannot serve."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.metrics_dir.mkdir(exist_ok=True)
        for stale in self.metrics_dir.glob("worker-*.json"):
            stale.unlink()
        try:
            Path(self.options.logs).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ServeError(f"{self.options.logs}: cannot create the click-log folder ({exc})") from exc
        if not os.access(self.options.logs, os.W_OK):
            raise ServeError(f"{self.options.logs}: the click-log folder is not writable")
        for p, what in ((self.options.geoip, "--geoip"), (self.options.asn, "--asn")):
            if p and not Path(p).is_file():
                raise ServeError(f"{p}: {what} database not found")
        real = resolve_pointer(self.source)
        try:
            self._verify(real)
        except SnapshotError as exc:
            raise ServeError(str(exc)) from exc
        finish_stale_files(self.options.logs)

    def worker_config(self) -> WorkerConfig:
        o = self.options
        return WorkerConfig(
            state_file=str(self.state_file), logs=str(Path(o.logs).resolve()),
            metrics_dir=str(self.metrics_dir), geoip=o.geoip, asn=o.asn,
            fallback_url=o.fallback_url, rotate_bytes=o.rotate_bytes, rotate_seconds=o.rotate_seconds,
            client_ip_header=o.client_ip_header,
        )

    def start_threads(self) -> None:
        t = threading.Thread(target=self._watch, name="smslink-watch", daemon=True)
        t.start()
        self._threads.append(t)
        if self.options.admin_port is not None:
            self._admin = _AdminServer((self.options.admin_host, self.options.admin_port), self)
            t = threading.Thread(target=self._admin.serve_forever, name="smslink-admin", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self) -> None:
        self._stop.set()
        if self._admin is not None:
            self._admin.shutdown()
            self._admin.server_close()
        for t in self._threads:
            t.join(timeout=5)
        finish_stale_files(self.options.logs)
        if self.own_run_dir:
            shutil.rmtree(self.run_dir, ignore_errors=True)
        src = self._source
        if src.thread is not None:
            src.thread.join(timeout=5)
        if src.thread is None or not src.thread.is_alive():  # a mirror still syncing keeps its folder
            _discard(src.temp_dir)

    # --------------------------------------------------------------- verify
    def _verify(self, real: Path) -> None:
        st = real.stat() if real.exists() else None
        sig = (str(real), st.st_ino if st else 0, st.st_mtime_ns if st else 0)
        with self.state.lock:
            self.state.seen = sig
        with open_snapshot(real, verify=True) as snap:
            meta = snap.meta
            path = str(snap.path)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"path": path, "version": meta.version}))
        os.replace(tmp, self.state_file)
        with self.state.lock:
            self.state.version = meta.version
            self.state.config_commit = meta.config_commit
            self.state.built_at = meta.built_at
            self.state.path = path
            self.state.accepted_at = time.time()
            self.state.refused = None

    def check_pointer(self) -> None:
        """One watch step: verify and accept a new target of the pointer, or refuse it."""
        try:
            real = resolve_pointer(self.source)
            st = real.stat()
        except OSError:
            return  # pointer mid-swap or folder gone: keep serving, look again next tick
        sig = (str(real), st.st_ino, st.st_mtime_ns)
        with self.state.lock:
            if sig == self.state.seen:
                return
        try:
            self._verify(real)
        except SnapshotError as exc:
            with self.state.lock:
                self.state.reloads_failed += 1
                self.state.refused = {"path": str(real), "reason": str(exc), "at": time.time()}
                current = self.state.version
            self._say(f"refused snapshot {real}: {exc}; still serving {current}")
            return
        with self.state.lock:
            self.state.reloads_ok += 1
        self._say(f"serving snapshot {self.state.version} (config commit {self.state.config_commit or '-'})")

    def _watch(self) -> None:
        last_stale = time.monotonic()
        while not self._stop.wait(_WATCH_S):
            try:
                self.check_pointer()
                if time.monotonic() - last_stale >= _STALE_LOG_S:
                    last_stale = time.monotonic()
                    finish_stale_files(self.options.logs)
            except Exception as exc:  # the watcher must never die
                self._say(f"watcher: {type(exc).__name__}: {exc}")

    def _say(self, text: str) -> None:
        print(f"smslink serve: {text}", file=self.err, flush=True)

    # ---------------------------------------------------------------- admin
    def live_workers(self) -> tuple[list[dict[str, Any]], set[int]]:
        files = read_worker_files(self.metrics_dir)
        live = {w["pid"] for w in files if isinstance(w.get("pid"), int) and pid_alive(w["pid"])}
        return files, live

    def readiness(self) -> tuple[int, dict[str, Any]]:
        files, live = self.live_workers()
        with self.state.lock:
            body: dict[str, Any] = {
                "snapshot": self.state.version or None,
                "config_commit": self.state.config_commit,
                "built_at": self.state.built_at or None,
                "refused": self.state.refused,
            }
        serving = sorted({w["snapshot_version"] for w in files if w.get("pid") in live})
        body["workers"] = len(live)
        body["workers_serving"] = serving
        if not body["snapshot"]:
            return 503, {"status": "not ready", "reason": "no snapshot accepted yet", **body}
        if not live:
            return 503, {"status": "not ready", "reason": "no worker is running yet", **body}
        return 200, {"status": "ready", **body}

    def metrics_text(self) -> str:
        files, live = self.live_workers()
        with self.state.lock:
            sup = {
                "reloads_ok": self.state.reloads_ok, "reloads_failed": self.state.reloads_failed,
                "version": self.state.version, "config_commit": self.state.config_commit,
            }
        return render_prometheus(files, live, sup)


class _AdminHandler(BaseHTTPRequestHandler):
    server: _AdminServer
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        sup = self.server.supervisor
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._send(200, "text/plain; charset=utf-8", b"ok\n")
        elif path == "/readyz":
            status, body = sup.readiness()
            self._send(status, "application/json", json.dumps(body, indent=1).encode() + b"\n")
        elif path == "/metrics":
            self._send(200, "text/plain; version=0.0.4; charset=utf-8", sup.metrics_text().encode())
        else:
            self._send(404, "text/plain; charset=utf-8", b"not found: try /healthz, /readyz, /metrics\n")

    def _send(self, status: int, ctype: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # scrapes every few seconds would drown stderr


class _AdminServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr: tuple[str, int], supervisor: Supervisor) -> None:
        self.supervisor = supervisor
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        super().__init__(addr, _AdminHandler)


def _check_bindable(host: str, port: int) -> None:
    """Fail with a message (not a Rust panic from Granian) when the address cannot be bound."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise ServeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port") from exc


def run_server(options: ServeOptions, *, err: TextIO | None = None) -> int:
    """Run ``smslink serve`` in the foreground until SIGTERM/SIGINT. Returns the exit code."""
    from granian.constants import Interfaces, TaskImpl
    from granian.log import LogLevels
    from granian.server import Server

    sup = Supervisor(options, err=err)
    try:
        _check_bindable(options.host, options.port)
        sup.prepare()
        os.environ[CONFIG_ENV] = msgspec.json.encode(sup.worker_config()).decode()
        try:
            sup.start_threads()
        except OSError as exc:
            raise ServeError(
                f"admin port {options.admin_host}:{options.admin_port}: {exc.strerror or exc}; "
                "pick another --admin-port"
            ) from exc
        sup._say(
            f"snapshot {sup.state.version}, {options.workers} worker(s) on "
            f"http://{options.host}:{options.port}"
            + (f", admin on http://{options.admin_host}:{options.admin_port}" if options.admin_port else "")
            + ("; click path: compiled" if _fastpath.module() is not None
               else f"; click path: pure Python ({_fastpath.WHY_NOT})")
        )
        server = Server(
            "engine.worker._app:create_app",
            address=options.host,
            port=options.port,
            interface=Interfaces.RSGI,
            workers=options.workers,
            factory=True,
            websockets=False,
            backlog=options.backlog,
            log_access=False,
            log_level=LogLevels(options.log_level),
            task_impl=TaskImpl(options.task_impl),
            respawn_failed_workers=True,
            respawn_interval=0.5,
            workers_kill_timeout=10,
        )
        server.serve()
        return 0
    finally:
        sup.stop()
