"""``smslink sql``: ad-hoc DuckDB SQL over the ``clicks`` view of the logs."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import duckdb

from ._load import ReportError, complete_lines, connect, create_clicks_view, find_logs


def run_sql(logs: str | os.PathLike[str], query: str, memory_limit: str = "1200MB") -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run ``query`` with ``clicks`` defined over the logs; returns (column names, rows).

    Raises ``ReportError`` with DuckDB's message (first line) when the query fails.
    """
    with tempfile.TemporaryDirectory(prefix="smslink-sql-") as tmp:
        con = connect(memory_limit, tmp)
        try:
            create_clicks_view(con, complete_lines(find_logs(logs), tmp))
            try:
                rel = con.execute(query)
            except duckdb.Error as exc:
                raise ReportError(f"query failed: {str(exc).strip().splitlines()[0]}") from exc
            if rel.description is None:
                return [], []
            names = [d[0] for d in rel.description]
            return names, rel.fetchall()
        finally:
            con.close()
