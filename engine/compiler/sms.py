"""SMS length: GSM-7 or UCS-2 encoding, segment count, code units.

Why not a library: the rules are short, the lint needs the exact unit count
with the real link length, and the worker never needs this.

Sources:
- 3GPP TS 23.038 (GSM 03.38) section 6.2.1, "GSM 7 bit Default Alphabet" (the basic
  table) and section 6.2.1.1, "GSM 7 bit default alphabet extension table"
  (characters sent as ESC + code, so they cost two septets).
  https://www.3gpp.org/ftp/Specs/archive/23_series/23.038/
- 3GPP TS 23.040 section 9.2.3.24.1 (concatenated SMS): the 6-octet User Data
  Header leaves 153 septets (GSM-7) or 134 octets = 67 UCS-2 units per segment;
  a single message carries 160 septets or 140 octets = 70 UCS-2 units.
- TS 23.038 section 6.1.2.1.1 / 23.040: an escape sequence must not be split
  across segments, so a segment that would end on ESC carries 152 septets.

A message is GSM-7 only when every character is in the basic or the extension
table; one other character (a curly quote, an emoji) switches the whole message
to UCS-2, where each UTF-16 code unit counts (an emoji outside the BMP is two).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# TS 23.038 6.2.1: the 128 characters of the default alphabet (0x1B, ESC, is
# the escape to the extension table and is not a character of its own).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# TS 23.038 6.2.1.1: the extension table (ESC + code; two septets each).
# Code 0x0A of the extension table is form feed (\f), listed as the standard does.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

#: TS 23.040 9.2.3.24.1: units per single message and per concatenated segment.
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SmsMeasure:
    """How an SMS text is sent."""

    encoding: Encoding  # "GSM-7" or "UCS-2" for the whole message
    segments: int  # number of SMS parts (0 for an empty text)
    units: int  # septets (GSM-7, extension chars count 2) or UTF-16 code units (UCS-2)
    chars: int  # Python characters (code points)


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` is in the GSM-7 basic or extension table."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def non_gsm7_chars(text: str) -> list[str]:
    """The distinct characters that force UCS-2, in order of first appearance."""
    seen: dict[str, None] = {}
    for c in text:
        if c not in GSM7_BASIC and c not in GSM7_EXTENSION:
            seen.setdefault(c)
    return list(seen)


def measure(text: str) -> SmsMeasure:
    """Measure ``text`` as an SMS: encoding, segments, units, characters.

    Parameters
    ----------
    text
        The message exactly as it will be sent (link included).

    Returns
    -------
    SmsMeasure
    """
    if is_gsm7(text):
        widths = [2 if c in GSM7_EXTENSION else 1 for c in text]
        units = sum(widths)
        return SmsMeasure(
            "GSM-7", _segments(widths, units, GSM7_SINGLE, GSM7_PART), units, len(text)
        )
    # UTF-16 code units: characters outside the BMP are a surrogate pair. A
    # pair is not split across segments either (TS 23.040 leaves it to the
    # sender; every handset library keeps pairs together).
    widths = [2 if ord(c) > 0xFFFF else 1 for c in text]
    units = sum(widths)
    return SmsMeasure("UCS-2", _segments(widths, units, UCS2_SINGLE, UCS2_PART), units, len(text))


def _segments(widths: list[int], units: int, single: int, part: int) -> int:
    if units == 0:
        return 0
    if units <= single:
        return 1
    # Fill segments greedily; a two-unit character (escape pair or surrogate
    # pair) that does not fit in what is left of a segment starts the next one.
    count, used = 1, 0
    for w in widths:
        if used + w > part:
            count += 1
            used = 0
        used += w
    return count
