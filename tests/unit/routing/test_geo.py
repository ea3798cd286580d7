"""GeoReader over real .mmdb files built by tests/fixtures/geo.py."""

from __future__ import annotations

import pytest
from fixtures.geo import build_city_mmdb

from engine.routing import Geo, GeoReader
from engine.routing._geo import geo_from_records


@pytest.mark.parametrize(
    ("ip", "country", "region", "city", "accuracy", "zone"),
    [
        pytest.param("1.0.0.77", "US", "US-NY", "New York", 5, "America/New_York", id="IPv4 New York"),
        pytest.param("1.0.4.200", "CA", "CA-QC", "Montreal", 20, "America/Toronto", id="IPv4 Montreal"),
        pytest.param("::ffff:1.0.1.9", "US", "US-CA", "San Francisco", 10, "America/Los_Angeles", id="IPv4-mapped IPv6, dotted"),
        pytest.param("::ffff:100:509", "AU", "AU-NSW", "Sydney", 20, "Australia/Sydney", id="IPv4-mapped IPv6, hex"),
        pytest.param("2001:db8:1::42", "GB", "GB-ENG", "London", 10, "Europe/London", id="IPv6 London"),
        pytest.param("1.0.3.1", "US", None, None, 1000, None, id="country-level record"),
    ],
)
def test_city_lookup(geo_reader, ip, country, region, city, accuracy, zone):
    g = geo_reader.lookup(ip)
    assert g is not None
    assert (g.country, g.region, g.city, g.accuracy_km, g.timezone) == (country, region, city, accuracy, zone)


def test_location_and_network(geo_reader):
    g = geo_reader.lookup("1.0.0.1")
    assert g.lat == pytest.approx(40.7128) and g.lon == pytest.approx(-74.006)
    assert (g.asn, g.asn_org) == (21928, "T-MOBILE-AS21928")


def test_network_only(geo_reader):
    g = geo_reader.lookup("3.1.2.3")
    assert g == Geo(None, None, None, None, None, None, None, 16509, "AMAZON-02")


@pytest.mark.parametrize(
    "ip",
    ["", "not-an-ip", "1.2.3", "999.1.1.1", "::ffff:zz", "1.0.0.1\x00"],
    ids=["empty", "word", "three octets", "octet out of range", "bad mapped", "NUL"],
)
def test_bad_address_is_none_never_raises(geo_reader, ip):
    assert geo_reader.lookup(ip) is None


def test_unknown_address_is_none(geo_reader):
    assert geo_reader.lookup("203.0.113.9") is None


def test_lookups_are_cached_and_equal(geo_reader):
    assert geo_reader.lookup("1.0.2.5") is geo_reader.lookup("1.0.2.5")


def test_city_only_reader(city_mmdb):
    r = GeoReader(city_mmdb, None)
    try:
        g = r.lookup("1.0.6.1")
        assert (g.country, g.region, g.asn) == ("DE", "DE-BE", None)
    finally:
        r.close()


def test_closed_reader_answers_none(city_mmdb):
    r = GeoReader(city_mmdb, None)
    r.close()
    assert r.lookup("1.0.6.1") is None


def test_not_a_database_fails_at_open(tmp_path):
    bad = tmp_path / "x.mmdb"
    bad.write_bytes(b"not a database")
    with pytest.raises(Exception, match=r"(?i)metadata|database"):
        GeoReader(str(bad), None)


def test_nested_network_overrides(tmp_path):
    path = build_city_mmdb(tmp_path / "c.mmdb", [
        ("10.0.0.0/8", {"country": "US", "accuracy_km": 500}),
        ("10.1.0.0/16", {"country": "US", "region": "US-TX", "city": "Austin", "lat": 30.27, "lon": -97.74, "accuracy_km": 5}),
    ])
    r = GeoReader(path, None)
    try:
        assert r.lookup("10.1.2.3").city == "Austin"
        assert r.lookup("10.2.2.3").accuracy_km == 500
    finally:
        r.close()


def test_records_without_location():
    assert geo_from_records(None, None) is None
    g = geo_from_records({"country": {"iso_code": "FR"}}, None)
    assert (g.country, g.lat, g.lon, g.accuracy_km) == ("FR", None, None, None)


def test_fixture_accepts_raw_geoip2_records_and_asn_dicts(tmp_path):
    from fixtures.geo import build_asn_mmdb

    raw = {"country": {"iso_code": "JP"}, "subdivisions": [{"iso_code": "13"}],
           "city": {"names": {"en": "Tokyo"}},
           "location": {"latitude": 35.68, "longitude": 139.69, "accuracy_radius": 20, "time_zone": "Asia/Tokyo"}}
    city = build_city_mmdb(tmp_path / "c.mmdb", [("192.0.2.0/24", raw)])
    asn = build_asn_mmdb(tmp_path / "a.mmdb", {"192.0.2.0/24": {"asn": 2516, "org": "KDDI"}})
    r = GeoReader(city, asn)
    try:
        g = r.lookup("192.0.2.10")
        assert (g.country, g.region, g.city, g.timezone, g.asn, g.asn_org) == ("JP", "JP-13", "Tokyo", "Asia/Tokyo", 2516, "KDDI")
    finally:
        r.close()
