"""Datacenter networks of a policy: ASNs and CIDR blocks, looked up without a per-block loop."""

from __future__ import annotations

import bisect
import ipaddress
from functools import lru_cache

from ._patterns import PolicyError


def _ipv4_int(ip: str) -> int | None:
    """Dotted-quad IPv4 to an integer, a few times cheaper than ``ipaddress``; None otherwise."""
    parts = ip.split(".")
    if len(parts) != 4:
        return None
    n = 0
    for part in parts:
        if not part.isdigit() or len(part) > 3:
            return None
        v = int(part)
        if v > 255:
            return None
        n = (n << 8) | v
    return n


class Networks:
    """ASN set plus CIDR blocks as sorted integer ranges (bisect, no per-block loop)."""

    __slots__ = ("_contains", "_ends", "_starts", "asns")

    def __init__(self, asns: list[int], cidrs: list[str]) -> None:
        self.asns = frozenset(int(a) for a in asns)
        ranges: list[tuple[int, int]] = []
        for cidr in cidrs:
            try:
                net = ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise PolicyError(f"invalid CIDR {cidr!r}: {exc}") from exc
            # IPv6 ranges are offset past the IPv4 space so one sorted list holds both.
            off = 0 if net.version == 4 else 1 << 32
            ranges.append((int(net.network_address) + off, int(net.broadcast_address) + off))
        ranges.sort()
        merged: list[tuple[int, int]] = []
        for s, e in ranges:
            if merged and s <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        self._starts = [s for s, _ in merged]
        self._ends = [e for _, e in merged]
        self._contains = lru_cache(maxsize=4096)(self._lookup)

    def _lookup(self, ip: str) -> bool:
        n = _ipv4_int(ip)
        if n is None:
            try:
                addr = ipaddress.ip_address(ip)
            except ValueError:
                return False
            n = int(addr) + (0 if addr.version == 4 else 1 << 32)
        i = bisect.bisect_right(self._starts, n) - 1
        return i >= 0 and n <= self._ends[i]

    def match(self, asn: int | None, ip: str | None) -> str | None:
        if asn is not None and asn in self.asns:
            return f"asn-{asn}"
        if ip and self._starts and self._contains(ip):
            return "cidr"
        return None
