"""A real webhook receiver for the tests: stdlib HTTP/1.1 with keep-alive on loopback.

Every request is verified with the official ``standardwebhooks`` package
(signature over id.timestamp.body, timestamp within 5 minutes); a request that
fails verification is answered 401 and recorded as rejected. A *behaviour*
function decides how to answer each verified request, which is how the tests
inject faults: 500s, 429 with Retry-After, slow answers (timeouts), closed
connections, 410. The receiver can be taken down and brought back on the same
port, dropping every open connection.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Request:
    """A verified request, before the behaviour answers it."""

    webhook_id: str
    event_id: str
    type: str
    body: bytes
    n: int  # how many verified requests this receiver had seen before this one (0-based)
    attempt: int  # how many times this webhook-id had been seen before (0 = first)


@dataclass(frozen=True)
class Answer:
    status: int = 204
    delay: float = 0.0  # sleep before answering (longer than the dispatcher's timeout: a timeout)
    close: bool = False  # drop the connection without answering
    retry_after: str | None = None


def accept_all(_: Request) -> Answer:
    return Answer(204)


@dataclass
class Receiver:
    secret: str
    behaviour: Callable[[Request], Answer] = accept_all
    port: int = 0
    accepted: list[Request] = field(default_factory=list)  # answered 2xx
    seen: list[Request] = field(default_factory=list)  # every verified request, whatever the answer
    rejected: list[str] = field(default_factory=list)  # verification failures
    rejected_raw: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    truncated: int = 0  # requests whose body never fully arrived (the sender timed out)
    tls: ssl.SSLContext | None = None  # serve https with this context
    _server: ThreadingHTTPServer | None = None
    _conns: set[socket.socket] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._wh = Webhook(self.secret)

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/hooks"

    # ------------------------------------------------------------- lifecycle
    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._conns.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._conns.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender gave up mid-request (its timeout): not a message
                    with receiver._lock:
                        receiver.truncated += 1
                    self.close_connection = True
                    return
                try:
                    receiver._wh.verify(body, dict(self.headers.items()))
                except WebhookVerificationError as exc:
                    with receiver._lock:
                        receiver.rejected.append(str(exc))
                        receiver.rejected_raw.append((dict(self.headers.items()), body))
                    self._answer(401)
                    return
                doc = json.loads(body)
                wid = self.headers["webhook-id"]
                with receiver._lock:
                    req = Request(wid, doc["data"]["event_id"], doc["type"], body, len(receiver.seen),
                                  sum(1 for r in receiver.seen if r.webhook_id == wid))
                    receiver.seen.append(req)
                ans = receiver.behaviour(req)
                if ans.delay:
                    time.sleep(ans.delay)
                if ans.close:
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if 200 <= ans.status < 300:
                    with receiver._lock:
                        receiver.accepted.append(req)
                self._answer(ans.status, ans.retry_after)

            def _answer(self, status: int, retry_after: str | None = None) -> None:
                try:
                    self.send_response(status)
                    if retry_after is not None:
                        self.send_header("Retry-After", retry_after)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 256

            def handle_error(self, request: object, client_address: object) -> None:
                pass  # resets and broken pipes are the faults under test

        self._server = Server(("127.0.0.1", self.port), Handler)
        if self.tls is not None:  # the handshake happens in the handler thread, on first read
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True,
                                                       do_handshake_on_connect=False)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening and drop every open connection (the receiver is down)."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None
        with self._lock:
            conns = list(self._conns)
        for c in conns:
            with contextlib.suppress(OSError):
                c.shutdown(socket.SHUT_RDWR)

    # --------------------------------------------------------------- queries
    def accepted_ids(self) -> set[str]:
        with self._lock:
            return {r.event_id for r in self.accepted}

    def webhook_ids_by_event(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        with self._lock:
            for r in self.seen:
                out.setdefault(r.event_id, set()).add(r.webhook_id)
        return out


def wait_until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition",
               proc: object = None) -> None:
    """Poll ``predicate``; fail with ``what`` (and the dispatcher's output) after ``timeout``."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        poll = getattr(proc, "poll", None)
        if poll is not None and poll() is not None:
            out = proc.stdout.read() if getattr(proc, "stdout", None) else b""  # type: ignore[attr-defined]
            raise AssertionError(f"dispatcher exited early ({proc.returncode}) waiting for {what}:\n"  # type: ignore[attr-defined]
                                 f"{out.decode(errors='replace') if isinstance(out, bytes) else out}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
