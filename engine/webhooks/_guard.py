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

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):
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


async def resolve_checked(host: str, port: int, *, allow_private: bool = False) -> list[str]:
    """Resolve ``host`` and return the addresses to connect to; AddressRefused if any is refused."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise OSError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    return check_addresses(host, (str(i[4][0]) for i in infos), allow_private=allow_private)
