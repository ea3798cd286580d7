"""The webhook transport: POST one signed body, report the status. A Protocol at a real boundary.

``PoolSender`` is the production transport: a small HTTP/1.1 client on asyncio
streams with a keep-alive pool per endpoint. It exists instead of httpx /
httpcore because those cost about 1.5 ms of CPU per request on the 2-core
machines we target (a failed ``import sniffio`` per request, a readability
poll of every idle connection per request), which alone would cap a
dispatcher near 600 events/s; this one costs tens of microseconds. It does
only what webhooks need: one ``POST`` written in a single ``write``, a
response read by ``Content-Length``, chunked or close-delimited framing, no
redirects ever, no cookies, TLS verified against the system CAs (``SSL_CERT_FILE`` /
``SSL_CERT_DIR`` honoured) and certifi's.
Every connection goes through the SSRF guard (engine/webhooks/_guard.py).

``HttpxSender`` adapts any ``httpx.AsyncClient`` (unit tests use it with
``httpx.MockTransport``).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

from ._guard import AddressRefused, resolve_checked

if TYPE_CHECKING:
    import httpx

#: Response bodies are read and thrown away; a receiver that sends more than this is cut off.
MAX_BODY = 1 << 20


@dataclass(frozen=True)
class Response:
    """What a receiver answered."""

    status: int
    retry_after: str | None = None


class DeliveryError(Exception):
    """No HTTP answer: timeout, refused or reset connection, refused address. Always retried."""


class Sender(Protocol):
    """Sends one POST; raises DeliveryError when there is no HTTP answer."""

    async def post(self, url: str, headers: list[tuple[str, str]], body: bytes) -> Response: ...

    async def aclose(self) -> None: ...


class _StaleConnection(Exception):
    """A reused keep-alive connection was closed by the peer before any answer: try a fresh one."""


class _Conn:
    __slots__ = ("reader", "writer")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    def close(self) -> None:
        self.writer.close()


def _ssl_context() -> ssl.SSLContext:
    """The system's CAs (OpenSSL honours SSL_CERT_FILE / SSL_CERT_DIR) plus certifi's bundle."""
    ctx = ssl.create_default_context()
    try:
        import certifi

        ctx.load_verify_locations(certifi.where())
    except ImportError:  # pragma: no cover - certifi comes with httpx
        pass
    return ctx


class PoolSender:
    """Keep-alive HTTP/1.1 connections to one endpoint, at most ``max_connections`` at a time."""

    def __init__(self, *, max_connections: int = 16, timeout: float = 10.0,
                 allow_private: bool = False) -> None:
        self._timeout = timeout
        self._allow_private = allow_private
        self._slots = asyncio.Semaphore(max_connections)
        self._idle: list[_Conn] = []
        self._ssl: ssl.SSLContext | None = None
        self._prefix: dict[str, tuple[bytes, str, int, bool, str]] = {}

    def _target(self, url: str) -> tuple[bytes, str, int, bool, str]:
        cached = self._prefix.get(url)
        if cached is None:
            parts = urlsplit(url)
            tls = parts.scheme == "https"
            host = parts.hostname or ""
            port = parts.port or (443 if tls else 80)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            host_header = host if parts.port is None else f"{host}:{port}"
            if ":" in host:  # IPv6 literal
                host_header = f"[{host}]" if parts.port is None else f"[{host}]:{port}"
            prefix = f"POST {path} HTTP/1.1\r\nHost: {host_header}\r\n".encode("ascii")
            cached = self._prefix[url] = (prefix, host, port, tls, parts.scheme)
        return cached

    async def post(self, url: str, headers: list[tuple[str, str]], body: bytes) -> Response:
        prefix, host, port, tls, scheme = self._target(url)
        if scheme not in ("http", "https"):
            raise DeliveryError(f"unsupported URL scheme {scheme!r}")
        head = [prefix]
        for k, v in headers:
            if "\r" in v or "\n" in v or "\r" in k or "\n" in k:
                raise DeliveryError(f"header {k} holds a line break; refused")
            head.append(f"{k}: {v}\r\n".encode("latin-1"))
        head.append(b"Content-Length: %d\r\n\r\n" % len(body))
        request = b"".join(head) + body
        async with self._slots:
            for _ in range(2):
                reused = bool(self._idle)
                conn = self._idle.pop() if reused else await self._connect(host, port, tls)
                try:
                    async with asyncio.timeout(self._timeout):
                        conn.writer.write(request)
                        status, retry_after, keep = await _read_response(conn.reader, reused)
                except _StaleConnection:
                    conn.close()
                    continue
                except TimeoutError:
                    conn.close()
                    raise DeliveryError(f"no answer within {self._timeout:g}s") from None
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
                    conn.close()
                    raise DeliveryError(_describe(exc)) from None
                if keep:
                    self._idle.append(conn)
                else:
                    conn.close()
                return Response(status, retry_after)
            raise DeliveryError("connection closed by the receiver")

    async def _connect(self, host: str, port: int, tls: bool) -> _Conn:
        try:
            async with asyncio.timeout(self._timeout):
                addresses = await resolve_checked(host, port, allow_private=self._allow_private)
                if tls and self._ssl is None:
                    self._ssl = _ssl_context()
                last: Exception | None = None
                for address in addresses:
                    try:
                        reader, writer = await asyncio.open_connection(
                            address, port, ssl=self._ssl if tls else None,
                            server_hostname=host if tls else None, limit=1 << 16)
                        return _Conn(reader, writer)
                    except OSError as exc:
                        last = exc
                assert last is not None
                raise last
        except AddressRefused as exc:
            raise DeliveryError(str(exc)) from None
        except TimeoutError:
            raise DeliveryError(f"could not connect to {host}:{port} within {self._timeout:g}s") from None
        except (OSError, ssl.SSLError) as exc:
            raise DeliveryError(f"cannot connect to {host}:{port}: {_describe(exc)}") from None

    async def aclose(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()
        for conn in idle:
            with contextlib.suppress(OSError, ssl.SSLError):
                await conn.writer.wait_closed()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.IncompleteReadError):
        return "connection closed before the answer was complete"
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if type(exc).__name__ not in text else text


async def _read_response(reader: asyncio.StreamReader, reused: bool) -> tuple[int, str | None, bool]:
    """Status, Retry-After and whether the connection can be reused, after reading the whole answer."""
    while True:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            if reused and not exc.partial:
                raise _StaleConnection from None
            raise
        except ConnectionResetError:
            if reused:
                raise _StaleConnection from None
            raise
        lines = head.decode("latin-1").split("\r\n")
        version, _, rest = lines[0].partition(" ")
        if not version.startswith("HTTP/1."):
            raise ValueError(f"not an HTTP/1.x answer: {lines[0][:40]!r}")
        status = int(rest[:3])
        if 100 <= status < 200:
            continue  # interim answer: the real one follows
        break
    fields: dict[str, str] = {}
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(":")
            fields[k.strip().lower()] = v.strip()
    keep = version == "HTTP/1.1" and "close" not in fields.get("connection", "").lower()
    if status in (204, 304):
        pass
    elif "chunked" in fields.get("transfer-encoding", "").lower():
        total = 0
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                    pass
                break
            total += size
            if total > MAX_BODY:
                return status, fields.get("retry-after"), False
            await reader.readexactly(size + 2)
    elif "content-length" in fields:
        length = int(fields["content-length"])
        if length > MAX_BODY:
            return status, fields.get("retry-after"), False
        await reader.readexactly(length)
    else:
        await reader.read(MAX_BODY)  # close-delimited
        keep = False
    return status, fields.get("retry-after"), keep


class HttpxSender:
    """Any httpx.AsyncClient as a Sender (redirects never followed)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def post(self, url: str, headers: list[tuple[str, str]], body: bytes) -> Response:
        import httpx  # only tests and embedders pay for httpx's import

        try:
            resp = await self._client.post(url, headers=headers, content=body, follow_redirects=False)
        except httpx.TransportError as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        return Response(resp.status_code, resp.headers.get("retry-after"))

    async def aclose(self) -> None:
        await self._client.aclose()
