"""GSM-7 / UCS-2 measurement (3GPP TS 23.038, TS 23.040)."""

from __future__ import annotations

import pytest

from engine.compiler.sms import GSM7_BASIC, GSM7_EXTENSION, measure, non_gsm7_chars

CASES = [
    # id, text, encoding, segments, units
    ("empty", "", "GSM-7", 0, 0),
    ("plain ascii", "Hello", "GSM-7", 1, 5),
    ("160 basic chars fit one", "a" * 160, "GSM-7", 1, 160),
    ("161 basic chars need two", "a" * 161, "GSM-7", 2, 161),
    ("306 basic chars fill two parts", "a" * 306, "GSM-7", 2, 306),
    ("307 basic chars need three", "a" * 307, "GSM-7", 3, 307),
    ("euro counts two", "€", "GSM-7", 1, 2),
    ("80 euros fit one message", "€" * 80, "GSM-7", 1, 160),
    ("81 euros need two", "€" * 81, "GSM-7", 2, 162),
    ("escape pair near the end of one message", "a" * 158 + "€", "GSM-7", 1, 160),
    ("accented basic chars stay GSM", "é à ñ Ü ß Δ", "GSM-7", 1, 11),
    ("curly quote switches to UCS-2", "It’s on", "UCS-2", 1, 7),
    ("70 UCS-2 units fit one", "ж" * 70, "UCS-2", 1, 70),
    ("71 UCS-2 units need two", "ж" * 71, "UCS-2", 2, 71),
    ("134 UCS-2 units fill two parts", "ж" * 134, "UCS-2", 2, 134),
    ("135 UCS-2 units need three", "ж" * 135, "UCS-2", 3, 135),
    ("emoji counts two UTF-16 units", "🙂", "UCS-2", 1, 2),
    ("35 emoji fit one", "🙂" * 35, "UCS-2", 1, 70),
    ("surrogate pair not split", "ж" * 66 + "🙂" + "ж" * 66, "UCS-2", 3, 134),
    ("extension char in UCS-2 counts one", "ж€", "UCS-2", 1, 2),
    ("newline is basic", "a\nb", "GSM-7", 1, 3),
]


@pytest.mark.parametrize(
    ("text", "encoding", "segments", "units"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_measure(text: str, encoding: str, segments: int, units: int) -> None:
    m = measure(text)
    assert (m.encoding, m.segments, m.units, m.chars) == (encoding, segments, units, len(text))


def test_escape_pair_at_segment_boundary_pushes_to_next_segment() -> None:
    # 152 septets, then an escape pair: it would straddle septets 153/154, so it
    # opens part two; 306 septets total still needs three parts because part one
    # carries only 152.
    text = "a" * 152 + "€" + "a" * 152
    m = measure(text)
    assert m.units == 306
    assert m.segments == 3
    assert measure("a" * 151 + "€" + "a" * 153).segments == 2


def test_tables_have_standard_sizes() -> None:
    # TS 23.038 6.2.1: 128 code points, one of which (0x1B) is the escape.
    assert len(GSM7_BASIC) == 127
    assert len(GSM7_EXTENSION) == 10


def test_non_gsm7_chars_lists_culprits_once_in_order() -> None:
    assert non_gsm7_chars("a’b🙂c’") == ["’", "🙂"]
    assert non_gsm7_chars("plain {text} €") == []
