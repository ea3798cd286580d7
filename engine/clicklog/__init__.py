"""The click event record, the rotating writer, the reader. Imports nothing from the engine."""

from ._files import (
    ACTIVE_SUFFIX,
    FINISHED_SUFFIX,
    GZIP_SUFFIX,
    PREFIX,
    LogFile,
    list_log_files,
    read_events,
    read_lines,
    stem_of,
)
from ._record import LOGGED_HEADERS, SCHEMA_VERSION, VERDICTS, ClickEvent
from ._writer import (
    ClickLogWriter,
    EventIds,
    WriterOptions,
    finish_stale_files,
    pid_alive,
    truncate_ip,
    ulid_time_ms,
)

__all__ = [
    "ACTIVE_SUFFIX",
    "FINISHED_SUFFIX",
    "GZIP_SUFFIX",
    "LOGGED_HEADERS",
    "PREFIX",
    "SCHEMA_VERSION",
    "VERDICTS",
    "ClickEvent",
    "ClickLogWriter",
    "EventIds",
    "LogFile",
    "WriterOptions",
    "finish_stale_files",
    "list_log_files",
    "pid_alive",
    "read_events",
    "read_lines",
    "stem_of",
    "truncate_ip",
    "ulid_time_ms",
]
