"""Click-log lines for the compiled reader's tests (test_scan.py): hypothesis strategies.

A generated ``Line`` is valid JSON that DuckDB's ``read_json`` reads without
error. ``may_decline`` says whether the compiled reader may decline it for a
reason its header comment lists (an escape or whitespace inside ``reasons``,
an integer outside its range or not written as an integer, a value of another
type, a NUL character): a line without the flag is one the reader must take.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import msgspec
from hypothesis import strategies as st

from engine.analytics import _scanner, _sql
from engine.clicklog._record import ClickEvent


@dataclass(frozen=True)
class Line:
    text: bytes  # without its line end
    may_decline: bool = False


# ---------------------------------------------------------------- text

#: Characters that stress the string code: JSON's short escapes, the quote
#: and backslash, DEL, 2-, 3- and 4-byte UTF-8, U+2028 (JSON allows it raw).
SPECIAL = [
    '"',
    "\\",
    "/",
    "\b",
    "\f",
    "\n",
    "\r",
    "\t",
    "\x01",
    "\x1f",
    "\x7f",
    "é",
    "ß",
    "€",
    "\u2028",
    "\ufffd",
    "\U0001d11e",
    "\U0001f600",
    "\U0010ffff",
    " ",
    ":",
    ",",
    "{",
    "}",
    "[",
    "]",
]
CHARS = st.one_of(
    st.sampled_from(SPECIAL),
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),
    st.characters(min_codepoint=1, exclude_categories=("Cs",)),
)
TEXT = st.text(CHARS, max_size=12)
#: Reason codes: the reader keeps them as raw text, so only characters JSON
#: writes without an escape (an escape declines the file).
REASON_CHARS = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E, exclude_characters='"\\'),
    st.sampled_from(["é", "€", "\U0001f600", "\u2028", "\x7f", "/"]),
)
REASON = st.text(REASON_CHARS, max_size=10)

_SHORT = {
    '"': '\\"',
    "\\": "\\\\",
    "/": "\\/",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def _u(cp: int, upper: bool) -> str:
    return f"\\u{cp:04X}" if upper else f"\\u{cp:04x}"


def _escaped(ch: str, mode: int) -> str:
    """``ch`` in a JSON string: mode 0 raw when JSON allows it, 1 short escape, 2/3 \\u (lower/upper hex)."""
    cp = ord(ch)
    if mode == 0 and ch not in '"\\' and cp >= 0x20:
        return ch
    if mode <= 1 and ch in _SHORT:
        return _SHORT[ch]
    upper = mode == 3
    if cp > 0xFFFF:
        cp -= 0x10000
        return _u(0xD800 + (cp >> 10), upper) + _u(0xDC00 + (cp & 0x3FF), upper)
    return _u(cp, upper)


@st.composite
def json_string(draw: st.DrawFn, text: st.SearchStrategy[str] = TEXT) -> tuple[str, str]:
    """(a string, its JSON text with quotes, each character written one of the ways JSON allows)."""
    s = draw(text)
    modes = draw(st.lists(st.sampled_from([0, 0, 0, 1, 2, 3]), min_size=len(s), max_size=len(s)))
    return s, '"' + "".join(_escaped(ch, m) for ch, m in zip(s, modes, strict=True)) + '"'


# ---------------------------------------------------------------- numbers

#: Any JSON number: long significands, leading zeros after the point, exponents beyond a double's range.
NUMBER_TEXT = st.from_regex(
    r"-?(0|[1-9][0-9]{0,24})(\.[0-9]{1,25})?([eE][+-]?[0-9]{1,3})?", fullmatch=True
)

FLOAT = st.floats(allow_nan=False, allow_infinity=False)


def _float_texts(x: float) -> list[str]:
    return [repr(x), f"{x:.17g}", f"{x:.17e}", f"{x:.6E}"]


F64_TEXT = st.one_of(
    FLOAT.flatmap(lambda x: st.sampled_from(_float_texts(x))),
    st.integers(-(10**20), 10**20).map(str),
    NUMBER_TEXT,
    st.sampled_from(
        [
            "0",
            "-0",
            "0.0",
            "-0.0",
            "1e3",
            "2.5E-7",
            "1E+2",
            "-1.5e-3",
            "5e-324",
            "1e400",
            "-1e-400",
            "0.30000000000000004",
            "9007199254740993",
            "1.7976931348623157e308",
        ]
    ),
)
TS = st.one_of(
    st.integers(1_700_000_000_000, 1_900_000_000_000), st.integers(-(10**18) + 1, 10**18 - 1)
)
ASN = st.integers(0, 2**32 - 1)


def _int_ok(column: str, text: str) -> bool:
    """Whether the reader must take ``text`` for integer column ``column`` (else it may decline)."""
    kind = _scanner.KINDS[column][0]
    digits = text.lstrip("-")
    if kind == "u32":
        return not text.startswith("-") and len(digits) <= 10 and int(text) <= 2**32 - 1
    return len(digits) <= 18


# ---------------------------------------------------------------- values by column

VOCAB = {c: values for c, (_, values) in _sql.ENUMS.items()}
_OUTSIDE = ["", "CLICK", "Human", "other", "human ", "unjudged\t", "é"]


def _string_values(column: str) -> st.SearchStrategy[str]:
    if column in VOCAB:
        return st.one_of(st.sampled_from(VOCAB[column]), st.sampled_from(_OUTSIDE), TEXT)
    if column == "ip":
        return st.one_of(st.sampled_from(["", "203.0.113.0/24", "2001:db8:1::/48"]), TEXT)
    return st.one_of(st.sampled_from(["a", "b", "spring-sale", "US-MA", ""]), TEXT)


@st.composite
def value(draw: st.DrawFn, column: str) -> tuple[str, bool]:
    """(the JSON text of a non-null value of ``column``, whether the reader may decline it)."""
    typ = _sql.COLUMNS[column]
    if typ == "BIGINT":
        if column == "ts":
            n = draw(TS)
        else:  # now and then outside 32 bits (see hand_line for why 17)
            n = draw(ASN if draw(st.integers(0, 30)) != 17 else st.integers(-(2**40), 2**40))
        text = draw(st.sampled_from([str(n), str(n), "-0"])) if n == 0 else str(n)
        return text, not _int_ok(column, text)
    if typ == "DOUBLE":
        return draw(F64_TEXT), False
    if typ == "VARCHAR[]":
        items = draw(st.lists(REASON, max_size=4))
        return "[" + ",".join(f'"{r}"' for r in items) + "]", False
    assert typ == "VARCHAR", typ
    return draw(json_string(_string_values(column)))[1], False


@st.composite
def odd_value(draw: st.DrawFn, column: str) -> str:
    """A value DuckDB reads for ``column`` but the reader may decline: another type, another spelling."""
    typ = _sql.COLUMNS[column]
    if typ == "BIGINT":
        n = draw(st.integers(0, 2**32 - 1) if column == "asn" else TS)
        return draw(
            st.sampled_from(
                [
                    f"{n}.0",
                    f"{n}e0",
                    f"{n}.0E+0",
                    f'"{n}"',
                    str(-n - 1),
                    str(2**32 + n),
                    str(10**18 + n),
                ]
            )
        )
    if typ == "DOUBLE":
        return draw(st.sampled_from(['"1.5"', '"-2"', "true"]))
    if typ == "VARCHAR[]":
        r = draw(REASON)
        return draw(
            st.sampled_from(
                [
                    f'[ "{r}" ]',
                    f'["{r}" , "x"]',
                    "[ ]",
                    '["a\\/b"]',
                    '["\\u00e9"]',
                    '["q\\"q"]',
                    '["\\\\"]',
                ]
            )
        )
    return draw(st.sampled_from(["5", "1.5e3", "true", "false", '{"a":1}', '["a"]', '"a\\u0000b"']))


# ---------------------------------------------------------------- lines

#: Keys the click-log schema does not have, or writes but the report does not read, or ours in another case.
EXTRA_KEYS = [
    "id",
    "status",
    "answer",
    "store_source",
    "dest",
    "city",
    "accuracy_km",
    "lang",
    "method",
    "host",
    "ua",
    "headers",
    "snapshot",
    "worker",
    "v",
    "TS",
    "Token",
    "KIND",
    "Region",
    "ts ",
    " ts",
    "tsx",
    "",
    "é",
    "x" * 50,
    "reasons_",
    "ip2",
]
SCALAR_TEXT = st.one_of(
    st.just("null"),
    st.just("true"),
    st.just("false"),
    F64_TEXT,
    json_string().map(lambda s: s[1]),
)
WS = st.sampled_from(["", "", "", "", " ", "\t", "\r", "  ", " \t\r "])


@st.composite
def json_value(draw: st.DrawFn, depth: int = 0) -> str:
    """Any JSON value as text (nested objects and arrays), with whitespace between tokens."""
    if depth >= 3 or draw(st.integers(0, 2)) > 0:
        return draw(SCALAR_TEXT)
    items = draw(st.lists(json_value(depth + 1), max_size=3))
    w = draw(WS)
    if draw(st.booleans()):
        return "[" + w + ("," + w).join(items) + w + "]"
    keys = [draw(json_string())[1] for _ in items]
    return (
        "{"
        + w
        + ("," + w).join(f"{k}{w}:{w}{v}" for k, v in zip(keys, items, strict=True))
        + w
        + "}"
    )


@st.composite
def hand_line(draw: st.DrawFn) -> Line:
    """A line written by hand: any subset of the fields, explicit nulls, any key order, unknown keys,
    whitespace, escapes (in the keys too), and now and then a value the reader may decline."""
    may = False
    # Now and then (about one line in eight) one field gets a value of another type or spelling.
    # Hypothesis favours the ends of a range (0 above all), so a rare pick sits in its middle.
    pick = draw(st.integers(0, 8 * len(_sql.REPORT_COLUMNS))) - 3 * len(_sql.REPORT_COLUMNS)
    odd = _sql.REPORT_COLUMNS[pick] if 0 <= pick < len(_sql.REPORT_COLUMNS) else None
    members: list[tuple[str, str]] = []
    for column in _sql.REPORT_COLUMNS:
        state = draw(st.sampled_from(["value", "value", "value", "null", "missing"]))
        if column == odd:
            text, may = draw(odd_value(column)), True
        elif state == "missing":
            continue
        elif state == "null":
            text = "null"
        else:
            text, m = draw(value(column))
            may = may or m
        members.append((column, text))
    if draw(st.integers(0, 80)) == 37:  # a NUL character (an escape) in a string
        members.append(("ua", '"\\u0000"'))
        may = True
    for _ in range(draw(st.integers(0, 4))):
        members.append((draw(st.sampled_from(EXTRA_KEYS)), draw(json_value())))
    members = draw(st.permutations(members))
    pool = itertools.cycle(draw(st.lists(WS, min_size=1, max_size=6)))
    parts = []
    for key, text in members:
        key_text = (
            draw(json_string(st.just(key)))[1] if draw(st.integers(0, 5)) == 0 else f'"{key}"'
        )
        parts.append(f"{key_text}{next(pool)}:{next(pool)}{text}")
    sep = "," + next(pool)
    body = next(pool) + "{" + next(pool) + sep.join(parts) + next(pool) + "}" + next(pool)
    return Line(body.encode(), may)


@st.composite
def click_event(draw: st.DrawFn) -> ClickEvent:
    """A ``ClickEvent`` as the worker builds it (every field of its type, defaults often)."""
    opt = lambda s: st.one_of(st.none(), s)  # noqa: E731
    text = st.text(st.characters(min_codepoint=1, exclude_categories=("Cs",)), max_size=12)
    return ClickEvent(
        id=draw(text),
        ts=draw(TS),
        kind=draw(st.one_of(st.sampled_from(VOCAB["kind"]), text)),
        status=draw(st.sampled_from([200, 302, 404, 410, 503])),
        answer=draw(
            st.sampled_from(
                ["redirect", "preview-page", "prefetch", "not-found", "gone", "fallback"]
            )
        ),
        verdict=draw(st.one_of(st.sampled_from(VOCAB["verdict"]), text)),
        reasons=draw(st.lists(REASON, max_size=3)),
        policy=draw(opt(text)),
        token=draw(opt(text)),
        link=draw(opt(st.one_of(st.sampled_from(VOCAB["link"]), text))),
        campaign=draw(opt(text)),
        recipient=draw(opt(text)),
        variant=draw(opt(text)),
        route=draw(opt(text)),
        store=draw(opt(text)),
        store_source=draw(opt(st.sampled_from(["home", "ip"]))),
        dest=draw(opt(text)),
        country=draw(opt(text)),
        region=draw(opt(text)),
        city=draw(opt(text)),
        accuracy_km=draw(opt(st.integers(0, 20_000))),
        asn=draw(opt(ASN)),
        device=draw(opt(text)),
        lang=draw(opt(text)),
        since_send_s=draw(opt(FLOAT)),
        method=draw(st.sampled_from(["GET", "GET", "HEAD", "POST"])),
        host=draw(text),
        ip=draw(st.sampled_from(["", "203.0.113.0/24", "2001:db8:1::/48"])),
        ua=draw(text),
        headers=draw(st.dictionaries(text, text, max_size=3)),
        snapshot=draw(text),
        worker=draw(text),
    )


ENCODER = msgspec.json.Encoder()
EVENT_LINE = click_event().map(lambda e: Line(ENCODER.encode(e)))
LINE = st.one_of(EVENT_LINE, hand_line())
#: Lines with nothing on them (skipped by both readers), and line ends.
BLANK = st.sampled_from([b"", b" ", b"\t", b"\r", b" \t\r"])
END = st.sampled_from([b"\n", b"\n", b"\r\n"])


@st.composite
def log_file(
    draw: st.DrawFn, lines: st.SearchStrategy[Line] = LINE
) -> tuple[bytes, list[Line | None]]:
    """(a file's bytes, its physical lines: a ``Line``, or None for a blank one)."""
    physical: list[Line | None] = []
    for line in draw(st.lists(lines, max_size=8)):
        physical.extend([None] * draw(st.sampled_from([0, 0, 0, 1, 2])))
        physical.append(line)
    physical.extend([None] * draw(st.sampled_from([0, 0, 1])))
    out = b""
    for i, line in enumerate(physical):
        out += line.text if line is not None else draw(BLANK)
        if i < len(physical) - 1 or draw(st.booleans()):  # the last line may lack its line end
            out += draw(END)
    return out, physical
