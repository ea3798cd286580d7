"""Small validated value types shared by the spec models: ids, hosts, time of
day, durations, time zones. Each failure raises a ``PydanticCustomError`` whose
type is the stable error code, so the loader reports it with that code."""

from __future__ import annotations

import difflib
import importlib.resources
import re
import zoneinfo
from datetime import date, datetime, time
from functools import cache
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_HOST = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$"
)
_HHMM = re.compile(r"^([01][0-9]|2[0-4]):([0-5][0-9])$")
_DURATION = re.compile(r"^([1-9][0-9]*)([hdw])$")
_UNIT_SECONDS = {"h": 3600, "d": 86400, "w": 7 * 86400}


def custom_error(
    code: str, summary: str, expected: str = "", hint: str = ""
) -> PydanticCustomError:
    """An error the loader reports with ``code`` (message text is not formatted)."""
    return PydanticCustomError(
        code, "{summary}", {"summary": summary, "expected": expected, "hint": hint}
    )


def did_you_mean(
    word: str, choices: list[str] | tuple[str, ...] | set[str] | frozenset[str]
) -> str:
    """``did you mean "x"?`` for the closest choice, or ""."""
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    if not close and isinstance(word, str):
        lowered = {c.lower(): c for c in choices}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return f'did you mean "{close[0]}"?' if close else ""


def _check_id(value: str) -> str:
    if not _ID.match(value):
        raise custom_error(
            "E210",
            f'"{value}" is not a valid id',
            "lowercase letters, digits and dashes, starting with a letter or digit (at most 63)",
            f'try "{re.sub(r"[^a-z0-9-]+", "-", value.lower()).strip("-")}"' if value else "",
        )
    return value


def _check_host(value: str) -> str:
    if not _HOST.match(value):
        raise custom_error(
            "E211",
            f'"{value}" is not a host name',
            "a lowercase DNS name such as go.acme.example, without scheme or path",
            "remove https:// and anything after the host" if "/" in value else "",
        )
    return value


def parse_hhmm(value: str) -> int:
    """``"21:30"`` -> 1290 minutes after midnight (``24:00`` -> 1440)."""
    m = _HHMM.match(value)
    if not m or (m.group(1) == "24" and m.group(2) != "00"):
        raise custom_error(
            "E212",
            f'"{value}" is not a time of day',
            "HH:MM on a 24-hour clock, e.g. 09:30 or 21:00",
            _hhmm_hint(value),
        )
    return int(m.group(1)) * 60 + int(m.group(2))


def _hhmm_hint(value: str) -> str:
    """``9pm`` -> ``write "21:00"``; ``9:30`` -> ``write "09:30"``."""
    m = re.fullmatch(r"\s*(\d{1,2})(?:[:.](\d\d))?\s*([ap])\.?m\.?\s*", value, re.I)
    if m and 1 <= int(m.group(1)) <= 12:
        hour = int(m.group(1)) % 12 + (12 if m.group(3).lower() == "p" else 0)
        return f'write "{hour:02d}:{m.group(2) or "00"}"'
    m = re.fullmatch(r"(\d{1,2})(?:[:.h](\d\d))?", value.strip())
    if m and int(m.group(1)) < 24 and int(m.group(2) or 0) < 60:
        return f'write "{int(m.group(1)):02d}:{m.group(2) or "00"}"'
    return ""


def _check_hhmm(value: str) -> str:
    parse_hhmm(value)
    return value


def _check_window(value: str) -> str:
    start, sep, end = value.partition("-")
    if not sep:
        raise custom_error(
            "E212",
            f'"{value}" is not a time window',
            'start-end on a 24-hour clock, e.g. "09:00-17:30" or "22:00-06:00"',
        )
    if parse_hhmm(start.strip()) == parse_hhmm(end.strip()):
        raise custom_error(
            "E212",
            f'"{value}" is an empty time window',
            "a start different from the end",
            "for all day, leave out `time` and use `days` alone",
        )
    return value


def parse_window(value: str) -> tuple[int, int]:
    """``"22:00-06:00"`` -> (1320, 360)."""
    start, _, end = value.partition("-")
    return parse_hhmm(start.strip()), parse_hhmm(end.strip())


def duration_seconds(value: str) -> int:
    """``"90d"`` -> 7776000."""
    m = _DURATION.match(value)
    assert m is not None
    return int(m.group(1)) * _UNIT_SECONDS[m.group(2)]


def _check_duration(value: str) -> str:
    if not _DURATION.match(value):
        raise custom_error(
            "E213",
            f'"{value}" is not a duration',
            "a whole number and a unit: h (hours), d (days), w (weeks), e.g. 90d",
        )
    return value


@cache
def known_zones() -> frozenset[str]:
    """IANA zone names from the ``tzdata`` package, so a config valid on one
    machine is valid on every other whatever its system zone files (``localtime``
    and other host-only names are not zones)."""
    try:
        names = importlib.resources.files("tzdata").joinpath("zones").read_text(encoding="utf-8").split()
    except (ModuleNotFoundError, FileNotFoundError):  # pragma: no cover - tzdata is a dependency
        names = sorted(zoneinfo.available_timezones() - {"localtime"})
    return frozenset(names)


def _check_zone(value: str) -> str:
    if value not in known_zones():
        raise custom_error(
            "E214",
            f'unknown time zone "{value}"',
            "an IANA zone name such as America/New_York or Europe/Paris",
            did_you_mean(value, known_zones()),
        )
    return value


def _date_to_datetime(value: object) -> object:
    # A bare date means midnight at the start of that day (in the campaign's zone).
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    return value


Id = Annotated[str, AfterValidator(_check_id), Field(json_schema_extra={"pattern": _ID.pattern})]
Host = Annotated[str, AfterValidator(_check_host)]
TimeOfDay = Annotated[
    str, AfterValidator(_check_hhmm), Field(json_schema_extra={"pattern": _HHMM.pattern})
]
Window = Annotated[
    str,
    AfterValidator(_check_window),
    Field(json_schema_extra={"pattern": r"^\d\d:\d\d-\d\d:\d\d$"}),
]
Duration = Annotated[
    str, AfterValidator(_check_duration), Field(json_schema_extra={"pattern": _DURATION.pattern})
]
TimeZone = Annotated[str, AfterValidator(_check_zone)]
When = Annotated[datetime, BeforeValidator(_date_to_datetime)]
