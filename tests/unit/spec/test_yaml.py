"""The positions-aware YAML loader."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine.diagnostics import DiagnosticsError
from engine.spec import load_yaml


def codes(text: str) -> list[str]:
    with pytest.raises(DiagnosticsError) as info:
        load_yaml("x.yaml", text)
    return [d.code for d in info.value.diagnostics]


def test_positions_of_keys_and_values() -> None:
    doc = load_yaml("x.yaml", "id: a\nroutes:\n  - id: r1\n    to: https://x.example\n")
    assert doc.data == {"id": "a", "routes": [{"id": "r1", "to": "https://x.example"}]}
    span = doc.span(("routes", 0, "to"))
    assert (span.path, span.line, span.col, span.end_col) == ("x.yaml", 4, 9, 26)
    key = doc.key_span(("routes", 0, "to"))
    assert (key.line, key.col, key.end_col) == (4, 5, 7)
    # unknown locations fall back to the nearest parent
    assert doc.span(("routes", 0, "nope")) == doc.span(("routes", 0))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("country: NO", "NO"),
        ("flag: yes", "yes"),
        ("flag: on", "on"),
        ("time: 09:30", "09:30"),
        ("code: 010", "010"),
        ("flag: true", True),
        ("n: 12", 12),
        ("n: 1.5", 1.5),
        ("v: null", None),
        ("v: ~", None),
    ],
    ids=[
        "NO stays Norway",
        "yes stays text",
        "on stays text",
        "no sexagesimal",
        "no octal",
        "true is a boolean",
        "int",
        "float",
        "null",
        "tilde",
    ],
)
def test_yaml_1_2_scalars(text: str, expected: object) -> None:
    assert next(iter(load_yaml("x.yaml", text).data.values())) == expected


def test_timestamps_keep_their_offset() -> None:
    value = load_yaml("x.yaml", "at: 2027-03-01T09:00:00-05:00").data["at"]
    assert isinstance(value, datetime) and value.utcoffset().total_seconds() == -5 * 3600


def test_duplicate_key_reported_with_both_lines() -> None:
    with pytest.raises(DiagnosticsError) as info:
        load_yaml("x.yaml", "a: 1\nb: 2\na: 3\n")
    (d,) = info.value.diagnostics
    assert d.code == "E102" and d.span.line == 3 and d.related[0].line == 1
    assert "first at line 1" in d.summary


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("a: &x 1\nb: *x\n", "E103"),
        ("a: !Ref thing\n", "E104"),
        ("a: !!python/name:os.system x\n", "E104"),
        ("a: [1, 2\n", "E101"),
        ("- 1\n- 2\n", "E105"),
        ("", "E105"),
        ("a: 1\n---\nb: 2\n", "E106"),
        ("1: one\n", "E107"),
    ],
    ids=[
        "anchor and alias",
        "custom tag",
        "python tag",
        "syntax",
        "top-level list",
        "empty",
        "two documents",
        "number key",
    ],
)
def test_refusals(text: str, code: str) -> None:
    assert code in codes(text)


def test_anchor_and_alias_both_reported() -> None:
    assert codes("a: &x 1\nb: *x\n") == ["E103", "E103"]


def test_syntax_error_position_from_pyyaml() -> None:
    with pytest.raises(DiagnosticsError) as info:
        load_yaml("x.yaml", "a: 1\nb: [1, 2\nc: 3\n")
    d = info.value.diagnostics[0]
    assert d.code == "E101" and d.span.line == 3


def test_walk_visits_everything() -> None:
    doc = load_yaml("x.yaml", "a: [1, {b: 2}]\n")
    assert [loc for loc, _ in doc.walk()] == [(), ("a",), ("a", 0), ("a", 1), ("a", 1, "b")]
