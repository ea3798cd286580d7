"""Geolocation of a click's IP from MaxMind-format (.mmdb) databases.

Read with ``maxminddb`` directly: building geoip2's model objects costs several
times the lookup itself, and the worker pays this per click. Works by path with
GeoLite2 / GeoIP2 / DB-IP City and ASN files.

Privacy: the IP is used for the lookup and as a cache key in memory only; it is
never stored here, and ``Geo`` carries no address.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import maxminddb

#: Distinct IPs (and, separately, IPv4 /24 networks) kept in the lookup caches per reader.
CACHE_SIZE = 65536
_MISS = object()


@dataclass(frozen=True, slots=True)
class Geo:
    """One IP's geolocation; every field may be unknown (None)."""

    country: str | None  # ISO 3166-1 alpha-2, e.g. "US"
    region: str | None  # ISO 3166-2, e.g. "US-CA" (country + first subdivision)
    city: str | None  # English name as in the database
    lat: float | None
    lon: float | None
    accuracy_km: int | None  # the database's accuracy radius; None when it gives none
    timezone: str | None  # IANA zone of the location
    asn: int | None  # autonomous system number (ASN database)
    asn_org: str | None


def _text(node: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def geo_from_records(city: dict[str, Any] | None, asn: dict[str, Any] | None) -> Geo | None:
    """A ``Geo`` from raw City and ASN records (as ``maxminddb`` returns them); None when both are empty."""
    if not city and not asn:
        return None
    city = city if isinstance(city, dict) else {}
    asn = asn if isinstance(asn, dict) else {}
    country = _text(city, "country", "iso_code")
    region = None
    subs = city.get("subdivisions")
    if isinstance(subs, list) and subs:
        code = _text(subs[0], "iso_code")
        if code and country:
            region = f"{country}-{code}"
    raw_loc = city.get("location")
    loc: dict[str, Any] = raw_loc if isinstance(raw_loc, dict) else {}
    lat, lon = loc.get("latitude"), loc.get("longitude")
    acc = loc.get("accuracy_radius")
    number = asn.get("autonomous_system_number")
    return Geo(
        country=country if isinstance(country, str) else None,
        region=region,
        city=_text(city, "city", "names", "en"),
        lat=float(lat) if isinstance(lat, (int, float)) and isinstance(lon, (int, float)) else None,
        lon=float(lon) if isinstance(lat, (int, float)) and isinstance(lon, (int, float)) else None,
        accuracy_km=int(acc) if isinstance(acc, (int, float)) else None,
        timezone=loc.get("time_zone") if isinstance(loc.get("time_zone"), str) else None,
        asn=int(number) if isinstance(number, int) else None,
        asn_org=asn.get("autonomous_system_organization") or None,
    )


def _unmap(ip: str) -> str:
    # IPv4-mapped IPv6 (::ffff:1.2.3.4, as dual-stack sockets report IPv4
    # clients) is looked up as the IPv4 address it carries.
    if (":" in ip and "." in ip) or ip[:7].lower() == "::ffff:":
        addr = ipaddress.ip_address(ip.split("%", 1)[0])
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
    return ip


def _v4_net24(ip: str) -> str | None:
    """"a.b.c" of a canonical dotted-quad IPv4 address (what every parser accepts alike), else None.

    The worker's compiled click path (engine/worker/_fast.c, ``geo_cached``)
    reads ``GeoReader._nets`` under this same key: change both together.
    """
    pre, dot, last = ip.rpartition(".")
    if (
        dot and ":" not in pre and last.isascii() and last.isdigit() and len(last) <= 3
        and (len(last) == 1 or last[0] != "0") and int(last) <= 255
    ):
        return pre
    return None


class GeoReader:
    """City and ASN databases opened once per process; lookups cached.

    Two caches: per /24 and per address. A MaxMind database answers for whole
    networks; when the network holding an IPv4 address is /24 or wider in every
    database, the answer is the same for all 256 addresses of its /24, so it is
    kept under ``a.b.c`` (real traffic from a few thousand networks then costs
    one dictionary look-up per click instead of a tree walk per new address).
    Narrower networks, IPv6 and anything unusual are cached per address.

    Parameters
    ----------
    city_path:
        A City database (.mmdb), or None to skip location.
    asn_path:
        An ASN database (.mmdb), or None to skip networks.

    Raises
    ------
    OSError, maxminddb.InvalidDatabaseError
        A path that is not a readable MaxMind database (at start, never per click).
    """

    def __init__(self, city_path: str | None, asn_path: str | None) -> None:
        self._city = maxminddb.open_database(city_path) if city_path else None
        try:
            self._asn = maxminddb.open_database(asn_path) if asn_path else None
        except BaseException:
            if self._city is not None:
                self._city.close()
            raise
        self._cached = lru_cache(maxsize=CACHE_SIZE)(self._lookup)
        self._nets: dict[str, Geo | None] = {}  # "a.b.c" -> the answer for all of a.b.c.0/24

    def lookup(self, ip: str) -> Geo | None:
        """The geolocation of ``ip``; None when unknown or not an IP address (never raises)."""
        net = _v4_net24(ip)
        if net is not None:
            g = self._nets.get(net, _MISS)
            if g is not _MISS:
                return g  # type: ignore[return-value]
        return self._cached(ip)

    def _lookup(self, ip: str) -> Geo | None:
        try:
            net = _v4_net24(ip)
            if net is not None:
                city, p_city = self._city.get_with_prefix_len(ip) if self._city is not None else (None, 0)
                asn, p_asn = self._asn.get_with_prefix_len(ip) if self._asn is not None else (None, 0)
                geo = geo_from_records(city, asn)  # type: ignore[arg-type]
                if max(p_city, p_asn) <= 24:  # IPv4 prefix lengths: the whole /24 answers alike
                    if len(self._nets) >= CACHE_SIZE:
                        self._nets.clear()
                    self._nets[net] = geo
                return geo
            key = _unmap(ip)
            city = self._city.get(key) if self._city is not None else None
            asn = self._asn.get(key) if self._asn is not None else None
            return geo_from_records(city, asn)  # type: ignore[arg-type]
        except Exception:  # malformed address, closed reader: no location, never a 5xx
            return None

    def close(self) -> None:
        """Close both databases (later lookups answer None)."""
        self._cached.cache_clear()
        self._nets.clear()
        for db in (self._city, self._asn):
            if db is not None:
                db.close()
