"""SSRF guard: refuse to connect to private, loopback, link-local or otherwise non-public addresses.

The check happens where the connection is made, not when the URL is read:
the host is resolved, *every* address it resolves to is checked, and the
socket is opened to a checked address (so a DNS answer that changes between a
check and the connect cannot slip through). TLS still verifies the host name,
because httpcore starts TLS with the URL's host as SNI. Redirects are never
followed, so a 3xx cannot point us anywhere else.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any

import httpcore

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(httpcore.ConnectError):
    """The endpoint's host resolves to an address we do not deliver to."""


def refusal_reason(address: IPAddress, *, allow_private: bool = False) -> str | None:
    """Why ``address`` is refused, or None when it is a public unicast address.

    With ``allow_private`` (tests, on-premise receivers) only unspecified and
    multicast addresses are refused.
    """
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_unspecified:
        return "unspecified address"
    if address.is_multicast:
        return "multicast address"
    if allow_private:
        return None
    if address.is_loopback:
        return "loopback address"
    if address.is_link_local:
        return "link-local address"
    if address.is_private:
        return "private address"
    if address.is_reserved or not address.is_global:
        return "address that is not publicly routable"
    return None


def check_addresses(host: str, addresses: Iterable[str], *, allow_private: bool = False) -> list[str]:
    """The addresses to connect to, in order; raise AddressRefused if *any* is refused."""
    out: list[str] = []
    for text in addresses:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
        reason = refusal_reason(ip, allow_private=allow_private)
        if reason:
            raise AddressRefused(f"{host} resolves to a {reason} ({ip}); refused (set allow-private to deliver there)")
        if str(ip) not in out:
            out.append(str(ip))
    if not out:
        raise AddressRefused(f"{host} does not resolve to any address")
    return out


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves, checks and then connects by address."""

    def __init__(self, *, allow_private: bool = False) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private = allow_private

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            infos = await asyncio.wait_for(
                loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout)
        except (OSError, TimeoutError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses = check_addresses(host, (str(i[4][0]) for i in infos), allow_private=self._allow_private)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(address, port, timeout=timeout,
                                                     local_address=local_address,
                                                     socket_options=socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise AddressRefused("unix sockets are not webhook endpoints")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
