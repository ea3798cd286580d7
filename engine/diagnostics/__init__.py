"""Diagnostic (an error with its source span) and its renderers: text, GitHub annotations, JSON.

Imports nothing from the rest of the engine. The exception hierarchy is one
class: ``DiagnosticsError`` carries every diagnostic of a run; the CLI renders
it and exits 1.
"""

from ._model import Diagnostic, DiagnosticsError, Severity, SourceSpan, sort_diagnostics
from ._render import count_line, render_github, render_json, render_text

__all__ = [
    "Diagnostic",
    "DiagnosticsError",
    "Severity",
    "SourceSpan",
    "count_line",
    "render_github",
    "render_json",
    "render_text",
    "sort_diagnostics",
]
