"""Renderers: text for people (STYLE.md section 7), GitHub annotations for pull
requests, JSON for tools. Pure: they take diagnostics and source text and
return a string; the CLI prints it."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from ._model import Diagnostic, SourceSpan, sort_diagnostics

_GUTTER = 5  # width of the line-number column


def render_text(
    diagnostics: Sequence[Diagnostic],
    sources: Mapping[str, str] | None = None,
    *,
    root: Path | None = None,
    summary: bool = True,
) -> str:
    """The human report: one block per diagnostic, sorted, then a count.

    Parameters
    ----------
    diagnostics
        What to report (any order).
    sources
        Repository path -> file text, for quoting lines. Paths missing here are
        read from ``root`` when given; otherwise the block has no quote.
    root
        Repository root used to read files not in ``sources``.
    summary
        Append the ``N errors in M files`` line.
    """
    cache: dict[str, list[str] | None] = {}
    blocks = []
    ordered = sort_diagnostics(diagnostics)
    for d in ordered:
        lines = [_headline(d)]
        if d.span is not None and d.quote:
            text = _lines(d.span.path, sources, root, cache)
            if text is not None:
                lines.extend(_quote(text, d.span))
            for other in d.related:
                lines.append(f"   note: also at {other.path}:{other.line}:{other.col}")
        if d.expected:
            lines.append(f"   expected: {d.expected}")
        if d.hint:
            lines.append(f"   hint: {d.hint}")
        blocks.append("\n".join(lines))
    if summary:
        blocks.append(count_line(ordered))
    return "\n\n".join(blocks) + "\n"


def count_line(diagnostics: Sequence[Diagnostic]) -> str:
    """``3 errors in 2 files`` (warnings added when there are any)."""
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = sum(1 for d in diagnostics if d.severity == "warning")
    files = {d.span.path for d in diagnostics if d.span is not None}
    parts = [_plural(errors, "error")]
    if warnings:
        parts.append(_plural(warnings, "warning"))
    return f"{', '.join(parts)} in {_plural(len(files), 'file')}"


def render_github(diagnostics: Sequence[Diagnostic]) -> str:
    """GitHub Actions workflow commands, one per diagnostic.

    https://docs.github.com/actions/reference/workflow-commands-for-github-actions
    """
    out = []
    level = {"error": "error", "warning": "warning", "info": "notice"}
    for d in sort_diagnostics(diagnostics):
        props = []
        if d.span is not None:
            s = d.span
            props += [f"file={_prop(s.path)}", f"line={s.line}", f"col={s.col}"]
            if s.end_line != s.line:
                props.append(f"endLine={s.end_line}")
            else:
                props.append(f"endColumn={s.end_col}")
        props.append(f"title={_prop(d.code)}")
        message = d.summary
        if d.expected:
            message += f"\nexpected: {d.expected}"
        if d.hint:
            message += f"\nhint: {d.hint}"
        out.append(f"::{level[d.severity]} {','.join(props)}::{_data(message)}")
    return "\n".join(out) + ("\n" if out else "")


def render_json(diagnostics: Sequence[Diagnostic]) -> str:
    """A JSON document: ``{"diagnostics": [...], "errors": N, "warnings": N, "files": N}``."""
    ordered = sort_diagnostics(diagnostics)
    items = []
    for d in ordered:
        item: dict[str, object] = {"code": d.code, "severity": d.severity, "summary": d.summary}
        if d.span is not None:
            item.update(
                path=d.span.path,
                line=d.span.line,
                col=d.span.col,
                end_line=d.span.end_line,
                end_col=d.span.end_col,
            )
        item["expected"] = d.expected
        item["hint"] = d.hint
        item["related"] = [{"path": r.path, "line": r.line, "col": r.col} for r in d.related]
        items.append(item)
    doc = {
        "diagnostics": items,
        "errors": sum(1 for d in ordered if d.severity == "error"),
        "warnings": sum(1 for d in ordered if d.severity == "warning"),
        "files": len({d.span.path for d in ordered if d.span is not None}),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------ helpers
def _headline(d: Diagnostic) -> str:
    where = f"{d.span.path}:{d.span.line}:{d.span.col}: " if d.span else "smslink: "
    return f"{where}{d.severity} {d.code}: {d.summary}"


def _lines(
    path: str,
    sources: Mapping[str, str] | None,
    root: Path | None,
    cache: dict[str, list[str] | None],
) -> list[str] | None:
    if path not in cache:
        text = sources.get(path) if sources else None
        if text is None and root is not None:
            try:
                text = (root / path).read_text(encoding="utf-8", errors="replace")
            except OSError:
                text = None
        cache[path] = text.splitlines() if text is not None else None
    return cache[path]


def _quote(text: list[str], span: SourceSpan) -> list[str]:
    """The line before the span, the span's first line (and its second when the
    span covers more), with a caret line under the first line of the span."""
    if not 1 <= span.line <= len(text) + 1:
        return []
    out = []
    first = max(1, span.line - 1)
    last = min(len(text), span.line + (1 if span.end_line > span.line else 0))
    for n in range(first, last + 1):
        source = text[n - 1].expandtabs(1).rstrip()
        out.append(f"{n:>{_GUTTER}} | {source}".rstrip())
        if n == span.line:
            width = (
                (span.end_col - span.col)
                if span.end_line == span.line
                else len(source) - span.col + 1
            )
            out.append(f"{'':>{_GUTTER}} | {' ' * (span.col - 1)}{'^' * max(1, width)}")
    return out


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(value: str) -> str:
    return _data(value).replace(":", "%3A").replace(",", "%2C")
