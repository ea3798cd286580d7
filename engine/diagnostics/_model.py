"""The diagnostic: one problem in the config, where it is, and how to fix it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, order=True)
class SourceSpan:
    """A range of source text. Lines and columns count from 1; ``path`` is
    relative to the repository root (POSIX separators). The end is inclusive of
    the last character's column start, exclusive of ``end_col`` (like an editor
    selection): a one-character span has ``end_col == col + 1``."""

    path: str
    line: int = 1
    col: int = 1
    end_line: int = 0  # 0: same as line
    end_col: int = 0  # 0: one character

    def __post_init__(self) -> None:
        if self.end_line < self.line:
            object.__setattr__(self, "end_line", self.line)
        if self.end_line == self.line and self.end_col <= self.col:
            object.__setattr__(self, "end_col", self.col + 1)


@dataclass(frozen=True)
class Diagnostic:
    """One finding. ``code`` is stable (``E`` + three digits, see docs/errors.md):
    E1xx load, E2xx validate, E3xx link, E4xx lint, E9xx internal.

    Privacy: ``summary``, ``expected`` and ``hint`` name fields and problems,
    never a recipient's number or token.
    """

    code: str
    severity: Severity
    summary: str
    span: SourceSpan | None = None
    expected: str | None = None
    hint: str | None = None
    # Other places the same problem shows up (the first line of a duplicate key).
    related: tuple[SourceSpan, ...] = ()
    # False for a value that may be a secret pasted by mistake: renderers then
    # give the location but never quote the source line (CI logs are shared).
    quote: bool = True

    def sort_key(self) -> tuple[str, int, int, str]:
        if self.span is None:
            return ("", 0, 0, self.code)
        return (self.span.path, self.span.line, self.span.col, self.code)


@dataclass
class DiagnosticsError(Exception):
    """Raised with every diagnostic of a run (at least one error among them).

    ``sources`` maps repository paths to the text that was read, so a renderer
    can quote lines without reading the disk again.
    """

    diagnostics: list[Diagnostic]
    sources: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.diagnostics = sort_diagnostics(self.diagnostics)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        errors = [d for d in self.diagnostics if d.severity == "error"]
        first = errors[0] if errors else (self.diagnostics[0] if self.diagnostics else None)
        if first is None:
            return "no diagnostics"
        where = f"{first.span.path}:{first.span.line}:{first.span.col}: " if first.span else ""
        more = f" (and {len(self.diagnostics) - 1} more)" if len(self.diagnostics) > 1 else ""
        return f"{where}{first.severity} {first.code}: {first.summary}{more}"

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]


def sort_diagnostics(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """Sorted by path, line, column, code; exact duplicates removed."""
    seen: set[Diagnostic] = set()
    unique = []
    for d in diagnostics:
        if d not in seen:
            seen.add(d)
            unique.append(d)
    return sorted(unique, key=Diagnostic.sort_key)
