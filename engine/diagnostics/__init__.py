"""Diagnostic (an error with its source span) and its renderers: text, GitHub annotations, JSON."""
