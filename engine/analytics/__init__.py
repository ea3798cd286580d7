"""Reports from click logs and the snapshot (DuckDB): bot-filtered, k-suppressed, with charts.

``build_report`` loads the logs once, settles final verdicts (stream
re-judging, optionally a new policy), and rolls up per campaign; ``suppress``
makes the data fit to share; ``render_table``/``render_json``/``render_csv``/
``render_html`` print it. ``run_sql`` answers ad-hoc SQL over the ``clicks``
view. See docs/report.md.
"""

from ._compact import Compacted, compact_logs
from ._html import render_html, warm_charts
from ._load import LogSet, ReportError, connect, create_clicks_view, find_logs
from ._query import run_sql
from ._render import render_csv, render_json, render_table
from ._report import REPORT_SCHEMA, Report, ReportOptions, build_report, iso_ms
from ._sent import Arm, CampaignSent, count_sent
from ._sql import COLUMNS
from ._stats import chi_square_independence, two_proportion, wilson
from ._suppress import suppress, suppressed

__all__ = [
    "COLUMNS",
    "REPORT_SCHEMA",
    "Arm",
    "CampaignSent",
    "Compacted",
    "LogSet",
    "Report",
    "ReportError",
    "ReportOptions",
    "build_report",
    "chi_square_independence",
    "compact_logs",
    "connect",
    "count_sent",
    "create_clicks_view",
    "find_logs",
    "iso_ms",
    "render_csv",
    "render_html",
    "render_json",
    "render_table",
    "run_sql",
    "suppress",
    "suppressed",
    "two_proportion",
    "warm_charts",
    "wilson",
]
