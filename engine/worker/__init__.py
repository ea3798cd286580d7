"""The Granian (RSGI) redirect worker: lookup, judge, route, log, answer.

``ClickHandler`` is the whole request -> decision path without a server
(``smslink explain`` uses it too); ``RedirectApp`` runs it under Granian;
``run_server`` is ``smslink serve``.
"""

from ._app import CONFIG_ENV, RedirectApp, WorkerConfig, create_app
from ._core import PREFETCH_STATUS, REDIRECT_HEADERS, ClickHandler, Outcome
from ._supervisor import ServeError, ServeOptions, Supervisor, resolve_source, run_server

__all__ = [
    "CONFIG_ENV",
    "PREFETCH_STATUS",
    "REDIRECT_HEADERS",
    "ClickHandler",
    "Outcome",
    "RedirectApp",
    "ServeError",
    "ServeOptions",
    "Supervisor",
    "WorkerConfig",
    "create_app",
    "resolve_source",
    "run_server",
]
