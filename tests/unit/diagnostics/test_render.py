"""Rendering diagnostics: text (STYLE.md section 7), GitHub annotations, JSON."""

from __future__ import annotations

import json

import pytest

import engine.diagnostics as diagnostics
from engine.diagnostics import (
    Diagnostic,
    DiagnosticsError,
    SourceSpan,
    render_github,
    render_json,
    render_text,
)

SOURCE = """\
routes:
  - id: fr
    when:
      contry: DE
    to: https://example.com
"""

UNKNOWN = Diagnostic(
    code="E204",
    severity="error",
    summary='unknown condition "contry"',
    span=SourceSpan("campaigns/spring-sale.yaml", 4, 7, 4, 13),
    expected="one of country, device, language",
    hint='did you mean "country"?',
)


def test_text_report_matches_the_style_guide_layout() -> None:
    text = render_text([UNKNOWN], {"campaigns/spring-sale.yaml": SOURCE})
    assert text == (
        'campaigns/spring-sale.yaml:4:7: error E204: unknown condition "contry"\n'
        "    3 |     when:\n"
        "    4 |       contry: DE\n"
        "      |       ^^^^^^\n"
        "   expected: one of country, device, language\n"
        '   hint: did you mean "country"?\n'
        "\n"
        "1 error in 1 file\n"
    )


def test_text_report_sorts_by_path_line_col_and_counts_files() -> None:
    a = Diagnostic("E201", "error", "b late", SourceSpan("b.yaml", 9, 1))
    b = Diagnostic("E201", "error", "b early", SourceSpan("b.yaml", 2, 5))
    c = Diagnostic("E201", "error", "a", SourceSpan("a.yaml", 30, 1))
    w = Diagnostic("E411", "warning", "w", SourceSpan("a.yaml", 1, 1))
    text = render_text([a, b, c, w])
    heads = [line for line in text.splitlines() if ": error " in line or ": warning " in line]
    assert heads == [
        "a.yaml:1:1: warning E411: w",
        "a.yaml:30:1: error E201: a",
        "b.yaml:2:5: error E201: b early",
        "b.yaml:9:1: error E201: b late",
    ]
    assert text.rstrip().endswith("3 errors, 1 warning in 2 files")


def test_text_report_reads_missing_sources_from_root(tmp_path) -> None:
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaigns" / "spring-sale.yaml").write_text(SOURCE)
    text = render_text([UNKNOWN], root=tmp_path)
    assert "    4 |       contry: DE" in text


def test_text_report_first_line_has_no_previous_line() -> None:
    d = Diagnostic("E101", "error", "bad", SourceSpan("x.yaml", 1, 1, 1, 8))
    text = render_text([d], {"x.yaml": SOURCE}, summary=False)
    assert text.splitlines()[1:3] == ["    1 | routes:", "      | ^^^^^^^"]


def test_text_report_mentions_related_spans() -> None:
    d = Diagnostic(
        "E102", "error", "dup", SourceSpan("x.yaml", 4, 7), related=(SourceSpan("x.yaml", 2, 3),)
    )
    assert "note: also at x.yaml:2:3" in render_text([d], {"x.yaml": SOURCE})


def test_github_annotations_escape_and_carry_positions() -> None:
    out = render_github([UNKNOWN])
    assert out == (
        "::error file=campaigns/spring-sale.yaml,line=4,col=7,endColumn=13,title=E204::"
        'unknown condition "contry"%0Aexpected: one of country, device, language%0Ahint: did you mean "country"?\n'
    )
    warn = Diagnostic("E411", "info", "100% sure, ok", SourceSpan("a,b:c.yaml", 1, 1))
    assert (
        render_github([warn])
        == "::notice file=a%2Cb%3Ac.yaml,line=1,col=1,endColumn=2,title=E411::100%25 sure, ok\n"
    )


def test_json_report_round_trips() -> None:
    doc = json.loads(render_json([UNKNOWN]))
    assert doc["errors"] == 1 and doc["warnings"] == 0 and doc["files"] == 1
    item = doc["diagnostics"][0]
    assert (item["code"], item["path"], item["line"], item["col"], item["end_col"]) == (
        "E204",
        "campaigns/spring-sale.yaml",
        4,
        7,
        13,
    )
    assert item["hint"] == 'did you mean "country"?'


def test_error_sorts_and_deduplicates() -> None:
    b = Diagnostic("E201", "error", "b", SourceSpan("z.yaml", 1, 1))
    exc = DiagnosticsError([b, UNKNOWN, b])
    assert [d.code for d in exc.diagnostics] == ["E204", "E201"]
    assert str(exc).startswith(
        'campaigns/spring-sale.yaml:4:7: error E204: unknown condition "contry"'
    )


@pytest.mark.parametrize(
    ("span", "end"),
    [
        (SourceSpan("p", 3, 4), (3, 5)),
        (SourceSpan("p", 3, 4, 5, 1), (5, 1)),
        (SourceSpan("p", 3, 4, 3, 9), (3, 9)),
    ],
    ids=["defaults to one char", "multi-line kept", "explicit end kept"],
)
def test_span_end_defaults(span: SourceSpan, end: tuple[int, int]) -> None:
    assert (span.end_line, span.end_col) == end


def test_all_is_sorted_and_complete() -> None:
    public = {
        n
        for n in dir(diagnostics)
        if (not n.startswith("_") and n[0].isupper()) or n.startswith("render")
    }
    assert diagnostics.__all__ == sorted(diagnostics.__all__)
    assert public <= set(diagnostics.__all__)
