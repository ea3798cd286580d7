"""Audience reading: E.164 normalization, drops by reason, recipient ids, privacy of reports."""

from __future__ import annotations

import base64
import csv
import hmac
from pathlib import Path

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.compiler import AudienceBinding
from engine.compiler._audience import (
    AudienceError,
    AudienceStats,
    RecipientIds,
    load_suppression,
    read_audience,
    stream_audience,
)
from engine.compiler._phones import _fast_e164, _slow, to_e164

KEY = b"test-only-key"


def write(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


BINDING = AudienceBinding(
    name="spring", region="US", contact_id_column="customer_id", timezone_column="tz",
    home_store_column="store_id", attributes=("tier",),
)
HEADER = ["phone", "customer_id", "tz", "store_id", "tier"]


def read(path: Path, binding: AudienceBinding = BINDING, **kw):
    stats = AudienceStats(name=binding.name)
    kw.setdefault("recipient_ids", RecipientIds(KEY))
    rows = list(read_audience(path, binding, stats, **kw))
    return rows, stats


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+12125550123", "US", "+12125550123"),
        ("(212) 555-0123", "US", "+12125550123"),
        ("212-555-0123", "US", "+12125550123"),
        ("1 212 555 0123", "US", "+12125550123"),
        ("2125550123", "US", "+12125550123"),
        ("  +1 212 555 0123 ", "US", "+12125550123"),
        ("020 7946 0018", "GB", "+442079460018"),
        ("+44 20 7946 0018", "US", "+442079460018"),
        ("+390612345678", "US", "+390612345678"),
        ("12345", "US", None),
        ("not a number", "US", None),
        ("", "US", None),
        ("+1212555012", "US", None),
        ("+999123456789", "US", None),
    ],
    ids=[
        "E.164", "national with parens", "dashes", "trunk 1 and spaces", "digits only",
        "padded international", "UK national", "UK international from US", "Italian leading zero",
        "too short", "words", "empty", "one digit short", "unknown country code",
    ],
)
def test_to_e164_normalizes_or_rejects(raw: str, region: str, expected: str | None) -> None:
    assert to_e164(raw, region) == expected


_CCS = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@st.composite
def e164_like(draw: st.DrawFn) -> str:
    cc = draw(st.sampled_from([*_CCS, 1, 1, 1, 44, 44, 49, 33, 39, 54, 61, 81, 86, 91, 7]))
    region = draw(st.sampled_from(phonenumbers.COUNTRY_CODE_TO_REGION_CODE[cc]))
    example = phonenumbers.example_number(region) if region != "001" else None
    if example is not None and draw(st.booleans()):
        digits = list(str(example.national_number))
        for _ in range(draw(st.integers(0, 2))):
            i = draw(st.integers(0, len(digits) - 1))
            digits[i] = str(draw(st.integers(0, 9)))
        nn = "".join(digits)
    else:
        nn = draw(st.text(alphabet="0123456789", min_size=2, max_size=15))
    return f"+{cc}{nn}"


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(e164_like())
def test_fast_path_agrees_with_phonenumbers(text: str) -> None:
    """The E.164 fast path accepts exactly what phonenumbers accepts and formats unchanged."""
    fast = _fast_e164(text)
    reference = _slow(text, "US")
    if fast is not None:
        assert fast == (reference == text)
    assert to_e164(text, "US") == reference


def test_drops_are_counted_by_reason_with_row_numbers(tmp_path: Path) -> None:
    rows = [
        ["+12125550101", "C1", "America/New_York", "nyc", "gold"],  # line 2 kept
        ["(212) 555-0101", "C2", "", "", ""],  # line 3 same number, other format
        ["12345", "C3", "", "", ""],  # line 4 invalid
        ["+14155550102", "C1", "", "", ""],  # line 5 same contact id
        ["+14155550103", "", "", "", ""],  # line 6 no contact id
        ["+14155550104", "C6"],  # line 7 short row
        ["+16175550105", "C7", "Mars/Olympus", "atlantis", "silver"],  # line 8 kept, flagged twice
        ["+16175550199", "C8", "", "", ""],  # line 9 suppressed
    ]
    path = write(tmp_path / "a.csv", HEADER, rows)
    supp = write(tmp_path / "stop.csv", ["phone"], [["617-555-0199"], ["garbage"]])
    hashes, bad = load_suppression(supp, "US")
    assert bad == 1
    got, stats = read(path, suppressed=hashes, store_ids=frozenset({"nyc", "bos"}))
    assert [(r[0], r[1], r[2]) for r in got] == [(2, "+12125550101", "C1"), (8, "+16175550105", "C7")]
    assert got[0][3:] == (("gold",), "America/New_York", "nyc")
    assert got[1][3:] == (("silver",), None, None)
    assert stats.rows == 8 and stats.accepted == 2
    assert stats.dropped == {
        "duplicate-number": 1, "invalid-number": 1, "duplicate-contact-id": 1,
        "missing-contact-id": 1, "malformed-row": 1, "suppressed": 1,
    }
    assert stats.flagged == {"bad-timezone": 1, "unknown-store": 1}
    assert stats.examples["duplicate-number"] == [3]
    assert stats.examples["invalid-number"] == [4]
    assert stats.examples["suppressed"] == [9]


def test_report_never_holds_a_number(tmp_path: Path) -> None:
    rows = [["+12125550101", "C1", "", "", ""], ["+12125550101", "C2", "", "", ""], ["555", "C3", "", "", ""]]
    _, stats = read(write(tmp_path / "a.csv", HEADER, rows))
    text = repr(stats.to_dict())
    for needle in ("2125550101", "555-0101", "555"):
        assert needle not in text


def test_suppression_as_plain_lines(tmp_path: Path) -> None:
    supp = tmp_path / "stop.txt"
    supp.write_text("# opted out\n+12125550101\n\n(415) 555-0102\n")
    hashes, bad = load_suppression(supp, "US")
    assert bad == 0 and len(hashes) == 2
    rows = [["+12125550101", "C1", "", "", ""], ["4155550102", "C2", "", "", ""], ["+14155550103", "C3", "", "", ""]]
    got, stats = read(write(tmp_path / "a.csv", HEADER, rows), suppressed=hashes)
    assert [r[2] for r in got] == ["C3"]
    assert stats.dropped == {"suppressed": 2}


def test_keyed_recipient_ids_are_hmac_sha256_base32() -> None:
    ids = RecipientIds(KEY)
    expected = base64.b32encode(hmac.digest(KEY, b"+12125550101", "sha256")[:10]).decode()
    assert ids("+12125550101") == expected
    assert len(expected) == 16
    assert RecipientIds(b"another key")("+12125550101") != expected
    long_key = b"k" * 100  # RFC 2104: hashed first
    assert RecipientIds(long_key).digest("+1") == hmac.digest(long_key, b"+1", "sha256")


def test_hashed_ids_without_contact_column(tmp_path: Path) -> None:
    binding = AudienceBinding(name="a", region="US")
    path = write(tmp_path / "a.csv", ["phone"], [["+12125550101"], ["+12125550102"]])
    got, _ = read(path, binding)
    assert [r[2] for r in got] == [RecipientIds(KEY)("+12125550101"), RecipientIds(KEY)("+12125550102")]
    assert all("5550" not in r[2] for r in got)


def test_hashed_ids_need_a_key(tmp_path: Path) -> None:
    binding = AudienceBinding(name="a", region="US")
    path = write(tmp_path / "a.csv", ["phone"], [["+12125550101"]])
    with pytest.raises(AudienceError, match="SMSLINK_RECIPIENT_KEY"):
        read(path, binding, recipient_ids=None)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (["tel", "customer_id", "tz", "store_id", "tier"], 'no column "phone"'),
        (["phone", "tz", "store_id"], 'no column "customer_id", "tier"'),
    ],
    ids=["phone column missing", "two columns missing"],
)
def test_missing_columns_are_named(tmp_path: Path, header: list[str], message: str) -> None:
    path = write(tmp_path / "a.csv", header, [])
    with pytest.raises(AudienceError, match=message) as info:
        read(path)
    assert str(info.value).startswith(f"{path}:1:1:")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudienceError, match="not found"):
        read(tmp_path / "nope.csv")


@pytest.mark.parametrize("column", ["customer_id", "tier"], ids=["contact id", "attribute"])
def test_phone_numbers_in_kept_columns_are_refused(tmp_path: Path, column: str) -> None:
    row = {"phone": "+12125550101", "customer_id": "C1", "tz": "", "store_id": "", "tier": "gold"}
    row[column] = "(212) 555-0101"
    path = write(tmp_path / "a.csv", HEADER, [list(row.values())])
    with pytest.raises(AudienceError, match="holds the row's phone number") as info:
        read(path)
    assert "0101" not in str(info.value)
    assert ":2:" in str(info.value)


def test_stream_in_a_reader_process_gives_the_same_result(tmp_path: Path) -> None:
    rows = [[f"+1212555{i:04d}", f"C{i}", "America/Chicago", "", "gold"] for i in range(100, 300)]
    rows += [["+12125550100", "dup", "", "", ""], ["bad", "x", "", "", ""]]
    path = write(tmp_path / "a.csv", HEADER, rows)
    serial_stats = AudienceStats(name="spring")
    parallel_stats = AudienceStats(name="spring")
    ids = RecipientIds(KEY)
    serial = list(stream_audience(path, BINDING, serial_stats, recipient_ids=ids, parallel=False))
    parallel = list(stream_audience(path, BINDING, parallel_stats, recipient_ids=ids, parallel=True))
    assert serial == parallel
    assert len(serial) == 200
    assert serial_stats.to_dict() == parallel_stats.to_dict()
    assert parallel_stats.dropped == {"duplicate-number": 1, "invalid-number": 1}


def test_reader_process_reports_errors(tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", ["phone"], [["+12125550101"]])
    with pytest.raises(AudienceError, match='no column "customer_id"'):
        list(stream_audience(path, BINDING, AudienceStats(name="x"), recipient_ids=None, parallel=True))
