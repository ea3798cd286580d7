"""Routing test fixtures: real .mmdb files built offline."""

from __future__ import annotations

import pytest
from fixtures.geo import SAMPLE_ASNS, SAMPLE_CITIES, build_asn_mmdb, build_city_mmdb

from engine.routing import GeoReader


@pytest.fixture(scope="session")
def city_mmdb(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_city_mmdb(tmp_path_factory.mktemp("geo") / "City.mmdb", SAMPLE_CITIES)


@pytest.fixture(scope="session")
def asn_mmdb(tmp_path_factory: pytest.TempPathFactory) -> str:
    return build_asn_mmdb(tmp_path_factory.mktemp("geo") / "ASN.mmdb", SAMPLE_ASNS)


@pytest.fixture
def geo_reader(city_mmdb: str, asn_mmdb: str):
    reader = GeoReader(city_mmdb, asn_mmdb)
    yield reader
    reader.close()
