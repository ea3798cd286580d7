"""``smslink report`` (bot-filtered analytics) and ``smslink sql`` (ad-hoc DuckDB SQL).

Exit codes: 0 done; 1 bad options, missing or unreadable logs or snapshot,
bad policy, failed query.
"""

from __future__ import annotations

import csv
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import click


def _parse_when(value: str | None, name: str) -> int | None:
    """ISO 8601 date or date-time (UTC when no offset) -> epoch milliseconds."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            d = date.fromisoformat(value)
            dt = datetime(d.year, d.month, d.day, tzinfo=UTC)
        else:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if dt.tzinfo is None:
                dt = dt.replace(tzinfo=UTC)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 date or date-time (e.g. 2027-03-01 or 2027-03-01T09:00:00-05:00)",
            param_hint=name,
        ) from None
    return int(dt.timestamp() * 1000)


class _Bar:
    """A one-line progress bar on stderr, drawn only when stderr is a terminal."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.on = sys.stderr.isatty()
        self.last = -1

    def __call__(self, fraction: float) -> None:
        if not self.on:
            return
        pct = int(fraction * 100)
        if pct == self.last:
            return
        self.last = pct
        filled = pct * 30 // 100
        sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] {pct:3d}%")
        if pct >= 100:
            sys.stderr.write("\n")
        sys.stderr.flush()


@click.command("report")
@click.option("--logs", required=True, type=click.Path(path_type=Path), help="Folder of click logs (.jsonl, .jsonl.gz, .jsonl.active).")
@click.option("--snapshot", required=True, type=click.Path(path_type=Path), help="Snapshot file, `current` pointer, or publish folder.")
@click.option("--campaign", "campaigns", multiple=True, help="Only this campaign id (repeatable). Orphan traffic is always shown.")
@click.option("--since", help="Clicks at or after this ISO 8601 date/date-time (UTC unless an offset is given).")
@click.option("--until", help="Clicks before this ISO 8601 date/date-time.")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True)
@click.option("--html", "html_out", type=click.Path(dir_okay=False, path_type=Path), help="Also write a self-contained HTML report with charts.")
@click.option("--per-recipient", "per_recipient", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write one CSV row per clicking recipient id (never a phone or token).")
@click.option("--k", "k", type=click.IntRange(min=1), default=5, show_default=True,
              help="Breakdown cells counting fewer than k people are shown as <k (1 disables).")
@click.option("--rejudge", "rejudge", type=click.Path(dir_okay=False, path_type=Path),
              help="Judge every click again under this `kind: bots` policy before counting (slower).")
@click.option("--alpha", type=click.FloatRange(min=0.0001, max=0.5), default=0.05, show_default=True,
              help="Significance level of the variant tests; intervals are at 1 - alpha.")
@click.option("--memory-limit", default="1000MB", show_default=True,
              help="DuckDB memory before it spills to a temp folder; also the most of the click logs kept in memory "
                   "(the rest goes to a Parquet copy in the temp folder). Peak RSS is about twice this plus 0.3 GB.")
@click.option("--cache", "cache_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Keep a Parquet copy of each finished log file in this folder and reuse it while the file is "
                   "unchanged (later reports skip the JSON). The copies hold tokens and recipient ids: "
                   "protect the folder like the logs.")
def report(
    logs: Path, snapshot: Path, campaigns: tuple[str, ...], since: str | None, until: str | None, fmt: str,
    html_out: Path | None, per_recipient: Path | None, k: int, rejudge: Path | None, alpha: float,
    memory_limit: str, cache_dir: Path | None,
) -> None:
    """Bot-filtered analytics from click logs: per campaign, variant, route, store, region, device.

    Only clicks judged human count; stream re-judging settles verdicts first
    and the report says how many clicks it moved. Sent = recipient tokens in
    the snapshot outside holdout arms. See docs/report.md.
    """
    from engine.analytics import (
        ReportError,
        ReportOptions,
        build_report,
        render_csv,
        render_html,
        render_json,
        render_table,
        suppress,
    )
    from engine.snapshot import SnapshotError

    since_ms = _parse_when(since, "--since")
    until_ms = _parse_when(until, "--until")
    if since_ms is not None and until_ms is not None and until_ms <= since_ms:
        raise click.BadParameter("must be later than --since", param_hint="--until")
    for out in (html_out, per_recipient):
        if out is not None and not out.resolve().parent.is_dir():
            raise click.ClickException(f"{out}: folder {out.parent} does not exist")
    classifier = None
    if rejudge is not None:
        from engine.cli._bots import load_classifier

        classifier = load_classifier(rejudge)
    opts = ReportOptions(
        logs=str(logs), snapshot=str(snapshot), campaigns=campaigns, since_ms=since_ms, until_ms=until_ms,
        k=k, alpha=alpha, classifier=classifier, memory_limit=memory_limit,
        cache_dir=None if cache_dir is None else str(cache_dir),
    )
    warm = None
    if html_out is not None:
        # matplotlib's import and first figure (about 0.8 CPU s) run while the
        # logs are read instead of after the report, when one core is idle;
        # pyplot is not thread-safe, so the charts wait for it (join below)
        import threading

        from engine.analytics import warm_charts

        warm = threading.Thread(target=warm_charts, name="smslink-warm-charts", daemon=True)
        warm.start()
    try:
        rep = build_report(opts, progress=_Bar("reading click logs"))
    except (ReportError, SnapshotError) as exc:
        raise click.ClickException(str(exc)) from None
    with rep:
        unknown = [c for c in campaigns if c not in {x["id"] for x in rep.data["campaigns"]}]
        if unknown:
            raise click.ClickException(
                f"campaign {', '.join(unknown)} is neither in the snapshot nor in the logs; "
                f"known: {', '.join(x['id'] for x in rep.data['campaigns']) or '(none)'}"
            )
        shared = suppress(rep.data, k)
        text = {"table": render_table, "json": render_json, "csv": render_csv}[fmt](shared)
        click.echo(text, nl=False)
        if html_out is not None:
            if warm is not None:
                warm.join()
            html_out.write_text(render_html(shared), encoding="utf-8")
            click.echo(f"wrote {html_out}", err=True)
        if per_recipient is not None:
            n = rep.write_per_recipient(per_recipient)
            click.echo(f"wrote {per_recipient} ({n:,} recipients; recipient ids only)", err=True)


@click.command("sql")
@click.option("--logs", required=True, type=click.Path(path_type=Path), help="Folder of click logs.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
@click.argument("query")
def sql(logs: Path, fmt: str, query: str) -> None:
    """Run QUERY (DuckDB SQL) over the view `clicks` of the logs (schema: docs/report.md).

    The output is what the query selects, unsuppressed: it is for analysts
    with access to the logs, not for sharing.
    """
    import json

    from engine.analytics import ReportError, run_sql

    try:
        names, rows = run_sql(logs, query)
    except ReportError as exc:
        raise click.ClickException(str(exc)) from None
    if fmt == "csv":
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(names)
        w.writerows(rows)
        return
    if fmt == "json":
        for r in rows:
            click.echo(json.dumps(dict(zip(names, r, strict=True)), default=str))
        return
    cells = [[("" if v is None else str(v)) for v in r] for r in rows]
    widths = [max([len(n), *(len(r[i]) for r in cells)]) for i, n in enumerate(names)]
    click.echo("  ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)).rstrip())
    click.echo("  ".join("-" * w for w in widths))
    for cell_row in cells:
        click.echo("  ".join(v.ljust(w) for v, w in zip(cell_row, widths, strict=True)).rstrip())
    click.echo(f"({len(rows)} rows)", err=True)
