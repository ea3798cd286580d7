"""``smslink logs compact``: Parquet copies of finished click logs, made ahead of reports.

Exit codes: 0 done; 1 missing or unreadable logs, a cache folder that cannot
be made.
"""

from __future__ import annotations

from pathlib import Path

import click


@click.group("logs")
def logs() -> None:
    """Click-log housekeeping for fast reports."""


@logs.command("compact")
@click.option("--logs", "logs_dir", required=True, type=click.Path(path_type=Path),
              help="Folder of click logs (.jsonl, .jsonl.gz; .jsonl.active files are left alone).")
@click.option("--cache", "cache_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The folder `smslink report --cache` reads. Created owner-only: the copies hold tokens "
                   "and recipient ids.")
@click.option("--prune", is_flag=True, help="Also delete copies of files that are gone or changed.")
@click.option("--rejudge-columns", is_flag=True,
              help="Also write the copies a `report --rejudge` reads (with method, user agent and headers).")
@click.option("--memory-limit", default="1200MB", show_default=True, help="DuckDB memory before it spills to a temp folder.")
def compact(logs_dir: Path, cache_dir: Path, prune: bool, rejudge_columns: bool, memory_limit: str) -> None:
    """Write the Parquet copy of each finished log file that has none yet.

    The copies are the ones `smslink report --cache DIR` writes and reads, so
    a report after this reads no JSON but the active files'. Run it from a
    scheduled job (every few minutes, or after each rotation), never inside
    the worker. Safe to run while reports run. See docs/report.md.
    """
    from engine.analytics import ReportError, compact_logs

    try:
        done = compact_logs(logs_dir, cache_dir, prune=prune, rejudge_columns=rejudge_columns,
                            memory_limit=memory_limit)
    except ReportError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"{done.finished} finished log files: {done.written} copies written, {done.kept} already there"
        + (f", {done.pruned} stale copies removed" if prune else "")
        + f"; {done.skipped_active} active files left alone"
    )
