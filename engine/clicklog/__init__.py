"""The click event record, the rotating writer, the reader. Imports nothing from the engine."""

from ._record import LOGGED_HEADERS, SCHEMA_VERSION, VERDICTS, ClickEvent

__all__ = ["LOGGED_HEADERS", "SCHEMA_VERSION", "VERDICTS", "ClickEvent"]
