"""The webhook transport: POST one signed body, report the status. A Protocol at a real boundary.

``PoolSender`` is the production transport: one httpcore connection pool per
endpoint (keep-alive, bounded connections, no redirects, no retries of its
own) over the SSRF-guarded network backend. ``HttpxSender`` adapts any
``httpx.AsyncClient`` (unit tests use it with ``httpx.MockTransport``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import httpx

import httpcore

from ._guard import AddressRefused, GuardedBackend


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


class PoolSender:
    """Keep-alive connection pool for one endpoint (httpcore, guarded against SSRF)."""

    def __init__(self, *, max_connections: int = 16, timeout: float = 10.0,
                 allow_private: bool = False) -> None:
        self._timeout = timeout
        self._pool = httpcore.AsyncConnectionPool(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
            retries=0,
            network_backend=GuardedBackend(allow_private=allow_private),
        )
        self._ext = {"timeout": {"connect": timeout, "read": timeout, "write": timeout, "pool": None}}

    async def post(self, url: str, headers: list[tuple[str, str]], body: bytes) -> Response:
        try:
            # the per-phase timeouts bound each read; this bounds the whole exchange
            async with asyncio.timeout(self._timeout * 2):
                resp = await self._pool.request("POST", url, headers=headers, content=body,
                                                extensions=self._ext)
        except AddressRefused as exc:
            raise DeliveryError(str(exc)) from exc
        except TimeoutError as exc:
            raise DeliveryError(f"timed out after {self._timeout * 2:g}s") from exc
        except httpcore.TimeoutException as exc:
            raise DeliveryError(f"timed out ({type(exc).__name__})") from exc
        except (httpcore.NetworkError, httpcore.ProtocolError, OSError) as exc:
            raise DeliveryError(f"{type(exc).__name__}: {exc or 'connection closed'}") from exc
        retry_after = None
        for k, v in resp.headers:
            if k.lower() == b"retry-after":
                retry_after = v.decode("latin-1")
        return Response(resp.status, retry_after)

    async def aclose(self) -> None:
        await self._pool.aclose()


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
