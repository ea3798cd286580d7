"""`smslink audience generate`: fictional numbers only, valid, distinct, reproducible."""

from __future__ import annotations

import csv
from pathlib import Path

import phonenumbers
import pytest

from engine.compiler._fiction import fictional_numbers, generate_audience, us_area_codes
from engine.compiler._phones import to_e164


def test_small_audiences_use_only_reserved_555_01xx_lines() -> None:
    numbers = fictional_numbers(500, seed=3)
    assert len(set(numbers)) == 500
    for n in numbers:
        assert n[5:10] == "55501", n
        assert phonenumbers.is_valid_number(phonenumbers.parse(n))


def test_large_audiences_stay_in_the_555_exchange() -> None:
    reserved = len(us_area_codes()) * 100
    numbers = fictional_numbers(reserved + 2000, seed=1)
    assert len(set(numbers)) == len(numbers)
    assert sum(1 for n in numbers if n[5:10] == "55501") == reserved
    for n in numbers[:3000]:
        assert n[5:8] == "555" and n[8:] not in ("1212", "4334")
        assert to_e164(n, "US") == n


@pytest.mark.parametrize("fmt", ["mixed", "e164", "national"])
def test_generated_file_normalizes_back(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / "a.csv"
    stores = tmp_path / "stores.csv"
    stores.write_text("id,name\nnyc,NYC\nbos,Boston\n")
    generate_audience(out, 300, seed=5, with_attributes=True, id_column="patient_ref",
                      phone_format=fmt, stores_csv=stores)
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["phone", "patient_ref", "tz", "store_id", "tier"]
    phones = [to_e164(r["phone"], "US") for r in rows]
    assert None not in phones and len(set(phones)) == 300
    assert {r["store_id"] for r in rows} <= {"nyc", "bos", ""}
    assert len({r["patient_ref"] for r in rows}) == 300
    if fmt == "e164":
        assert all(r["phone"].startswith("+1") for r in rows)


def test_same_seed_same_file(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    generate_audience(a, 50, seed=9)
    generate_audience(b, 50, seed=9)
    generate_audience(c, 50, seed=10)
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
