"""``smslink publish``, ``smslink rollback``, ``smslink versions``: the deploy side of GitOps.

``--to`` is a local folder (a shared volume) or ``s3://bucket/prefix``.
Every refusal exits 1 with one clear message and changes nothing.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from typing import NoReturn

import click

from engine.snapshot import DEFAULT_KEEP, PublishResult, SnapshotError, list_versions, pull_current
from engine.snapshot import publish as publish_to
from engine.snapshot import rollback as rollback_to

_TO_HELP = "Publish folder (shared volume) or s3://bucket/prefix (endpoint from AWS_ENDPOINT_URL)."


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _is_storage_error(exc: Exception) -> bool:
    # botocore's errors (no credentials, endpoint unreachable, access denied)
    # are not OSErrors; they still deserve one line, not a traceback.
    return type(exc).__module__.split(".")[0] in {"botocore", "boto3", "s3transfer"}


@contextlib.contextmanager
def _refusals(doing: str, suffix: str = "") -> Iterator[None]:
    """A refusal or a storage failure is one line and exit 1; anything else is a bug."""
    try:
        yield
    except SnapshotError as exc:
        _fail(str(exc))
    except OSError as exc:
        _fail(f"cannot {doing}: {exc.strerror or exc}")
    except Exception as exc:
        if not _is_storage_error(exc):
            raise
        _fail(f"cannot {doing}: {exc}{suffix}")


def _parse_now(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        _fail(f"--now {value!r} is not an ISO 8601 time (e.g. 2027-03-01T10:00:00Z)")


def _say(result: PublishResult, what: str) -> None:
    if not result.changed:
        click.echo(f"{result.version} is already current in {result.target}; nothing changed")
        return
    before = f" (was {result.previous})" if result.previous else ""
    click.echo(what.format(version=result.version, target=result.target) + before)
    if result.checked_tokens:
        click.echo(f"  {result.checked_tokens:,} issued tokens checked: all still resolve as before")
    for v in result.removed:
        click.echo(f"  removed old version {v}")
    for w in result.warnings:
        click.echo(f"warning: {w}", err=True)


@click.command("publish")
@click.argument("snapshot", type=click.Path(dir_okay=True))
@click.option("--to", "to", required=True, help=_TO_HELP)
@click.option("--keep", default=DEFAULT_KEEP, show_default=True, type=click.IntRange(min=1),
              help="Published versions to keep; the current and previous ones are never deleted.")
@click.option("--now", "now", default=None, hidden=True, help="Clock for retention checks (tests).")
def publish(snapshot: str, to: str, keep: int, now: str | None) -> None:
    """Verify SNAPSHOT, check it keeps every issued token, and make it current in --to.

    The file is copied under its version name (build time + content hash) and
    the `current` pointer is swapped atomically; workers pick it up within a
    second. A snapshot that would change or drop a token the current one
    issued, before its campaign's retention ends, is refused.
    """
    when = _parse_now(now)
    with _refusals(f"publish to {to}", "; nothing was changed"):
        result = publish_to(snapshot, to, keep=keep, now=when)
    _say(result, "published {version} to {target}")


@click.command("rollback")
@click.argument("version", required=False)
@click.option("--to", "to", required=True, help=_TO_HELP)
def rollback(version: str | None, to: str) -> None:
    """Point `current` in --to back at VERSION (default: the version before the current one).

    Run it again to go one more step back. `smslink versions` lists what is kept.
    """
    with _refusals(f"roll back in {to}"):
        result = rollback_to(to, version)
    _say(result, "rolled {target} back to {version}")


@click.command("versions")
@click.option("--to", "to", required=True, help=_TO_HELP)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def versions(to: str, fmt: str) -> None:
    """List the published versions, most recently current first (* current, ^ previous)."""
    with _refusals(f"list {to}"):
        infos = list_versions(to)
    if fmt == "json":
        click.echo(json.dumps([i.to_json() for i in infos], indent=2, sort_keys=True))
        return
    rows = [("", "VERSION", "BUILT AT", "CONFIG COMMIT", "CAMPAIGNS", "TOKENS", "LAST CURRENT")]
    for i in infos:
        mark = "*" if i.current else ("^" if i.previous else "")
        rows.append((
            mark, i.version, i.built_at or "?", (i.config_commit or "-")[:12],
            str(i.counts.get("campaigns", len(i.campaigns))),
            f"{i.counts['tokens']:,}" if "tokens" in i.counts else "?",
            i.last_current_at or "-",
        ))
    widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    click.echo("* current   ^ previous (what `smslink rollback` restores)")


@click.command("pull")
@click.option("--from", "source", required=True, help=_TO_HELP)
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="File to write, e.g. build/snapshot.lmdb (compile's default --previous).")
def pull(source: str, out: str) -> None:
    """Copy the currently published snapshot to --out, verified.

    Run it before `smslink compile` in CI so the compile keeps every token the
    published snapshot issued. Nothing published yet is not an error.
    """
    with _refusals(f"pull from {source}"):
        version = pull_current(source, out)
    if version is None:
        click.echo(f"nothing is published at {source} yet; compiling from scratch")
    else:
        click.echo(f"pulled {version} from {source} to {out}")


@click.command("mirror")
@click.option("--from", "source", required=True, help="s3://bucket/prefix that `smslink publish` writes to.")
@click.option("--to", "to", required=True, type=click.Path(file_okay=False),
              help="Local publish folder the worker serves (`smslink serve --snapshot DIR`).")
@click.option("--interval", default=1.0, show_default=True, type=click.FloatRange(min=0.05),
              help="Seconds between looks at the remote `current` (a conditional GET).")
@click.option("--once", is_flag=True, help="Sync once and exit (an init container before the worker starts).")
def mirror(source: str, to: str, interval: float, once: bool) -> None:
    """Keep --to in step with the snapshot published at --from.

    Downloads a new current version, verifies it, and swaps the local
    `current` pointer; a worker serving --to reloads by itself. A version that
    fails verification is refused and the local copy keeps serving.
    """
    import time

    from engine.snapshot import S3Mirror

    if not source.startswith("s3://"):
        _fail(f"--from {source}: expected s3://bucket/prefix (a local folder needs no mirror)")
    syncer = S3Mirror(source, to)
    while True:
        try:
            if syncer.sync_once():
                click.echo(f"now serving {syncer.local_version()} from {source}")
        except SnapshotError as exc:
            if once:
                _fail(str(exc))
            click.echo(f"warning: {exc}", err=True)
        except Exception as exc:  # network errors: keep the local copy, try again
            if once:
                _fail(f"cannot reach {source}: {exc}")
            click.echo(f"warning: cannot reach {source}: {exc}", err=True)
        if once:
            return
        time.sleep(interval)
