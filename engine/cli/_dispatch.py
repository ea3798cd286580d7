"""``smslink dispatch``: deliver click events as signed webhooks; replay; dead letters.

    smslink dispatch --logs clicks/ --state dispatch-state/ [--once]
    smslink dispatch replay --endpoint NAME --since 2026-11-27T08:00Z [--until ...]
    smslink dispatch dead-letters [--endpoint NAME] [--retry]
    smslink dispatch enable --endpoint NAME

Endpoints come from the published snapshot (``--snapshot``, default
build/current) or, with ``--config DIR``, straight from DIR/policies/*.yaml.
Secrets come from the environment variables the endpoints name.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import msgspec

from engine.snapshot import Endpoint, SnapshotError, open_snapshot
from engine.webhooks import (
    DEFAULT_SCHEDULE,
    DispatchOptions,
    PoolSender,
    RetrySchedule,
    RunLock,
    SecretError,
    SigningKeys,
    StateDir,
    StateError,
    Target,
    replay_range,
    retry_dead_letters,
    run_dispatcher,
    summarize,
)

#: Replay and dead-letter retries are interactive: a short schedule, then the dead-letter file.
REPLAY_SCHEDULE = "1,5,30"


def _say(text: str) -> None:
    click.echo(f"smslink dispatch: {text}", err=True)


# ------------------------------------------------------------------ options
def _common(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options every dispatch command takes; a subcommand's value wins over the group's."""
    for opt in reversed([
        click.option("--logs", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Folder of click logs (default: clicks)."),
        click.option("--state", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Folder of cursors, retry queues, dead letters (default: dispatch-state)."),
        click.option("--snapshot", type=click.Path(path_type=Path), default=None,
                     help="Snapshot (or current pointer) to read endpoints from (default: build/current)."),
        click.option("--config", "config_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
                     help="Read endpoints from DIR/policies/*.yaml instead of a snapshot."),
        click.option("--concurrency", type=click.IntRange(1, 256), default=None,
                     help="Requests in flight per endpoint (default: 16)."),
        click.option("--timeout", type=click.FloatRange(0.01), default=None,
                     help="Seconds to connect, and to get a whole answer (default: 10)."),
        click.option("--retry-schedule", default=None, metavar="SECONDS,...",
                     help="Waits before each retry, e.g. '5,20,80' (default: the documented ~3-day schedule)."),
    ]):
        f = opt(f)
    return f


def _opt(ctx: click.Context, key: str, value: Any, default: Any) -> Any:
    if value is not None:
        return value
    parent = (ctx.obj or {}).get(key)
    return default if parent is None else parent


def _load_endpoints(config_dir: Path | None, snapshot: Path) -> list[Endpoint]:
    if config_dir is not None:
        return _endpoints_from_config(config_dir)
    try:
        with open_snapshot(snapshot) as snap:
            endpoints = list(snap.endpoints.values())
            # a campaign's `webhooks: [name]` adds it to an endpoint that lists campaigns
            # (an endpoint without `campaigns` already receives every campaign)
            named = {e.name: [c.id for c in snap.campaigns if e.name in c.webhooks] for e in endpoints}
    except SnapshotError as exc:
        raise click.ClickException(f"{exc}\n  (or pass --config DIR to read DIR/policies/*.yaml directly)") from None
    return [
        msgspec.structs.replace(e, campaigns=sorted({*e.campaigns, *named[e.name]}))
        if e.campaigns and named[e.name] else e
        for e in endpoints
    ]


def _endpoints_from_config(config_dir: Path) -> list[Endpoint]:
    from engine.diagnostics import DiagnosticsError, render_text
    from engine.spec import load_yaml, parse_spec
    from engine.spec.webhooks import WebhooksSpec

    folder = config_dir / "policies"
    if not folder.is_dir():
        raise click.ClickException(f"{folder}: no such folder (expected policies/*.yaml under --config)")
    out: list[Endpoint] = []
    problems = []
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        shown = Path(os.path.relpath(path)).as_posix()
        try:
            doc = load_yaml(shown, path.read_text())
        except DiagnosticsError as exc:
            problems.extend(exc.diagnostics)
            continue
        if not isinstance(doc.data, dict) or doc.data.get("kind") != "webhooks":
            continue
        spec, found = parse_spec(doc, WebhooksSpec)
        problems.extend(found)
        if spec is not None:
            out.extend(spec.to_records(shown))
    if problems:
        # no source quotes: a secret pasted into the file must not reach a CI log
        raise click.ClickException(render_text(problems).rstrip())
    names = [e.name for e in out]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise click.ClickException(f"{folder}: endpoint names defined more than once: {', '.join(dupes)}")
    return out


def _targets(endpoints: list[Endpoint], only: tuple[str, ...], concurrency: int,
             timeout: float) -> list[Target]:
    by_name = {e.name: e for e in endpoints}
    unknown = [n for n in only if n not in by_name]
    if unknown:
        known = ", ".join(sorted(by_name)) or "none"
        raise click.ClickException(f"unknown endpoint {', '.join(unknown)} (configured: {known})")
    chosen = [by_name[n] for n in only] if only else sorted(endpoints, key=lambda e: e.name)
    if not chosen:
        raise click.ClickException("no webhook endpoints configured (add a kind: webhooks file to policies/)")
    targets, problems = [], []
    for e in chosen:
        try:
            keys = SigningKeys.from_env_value(os.environ.get(e.secret_env), variable=e.secret_env)
        except SecretError as exc:
            problems.append(f"endpoint {e.name}: {exc}")
            continue
        targets.append(Target(e, keys, PoolSender(max_connections=concurrency, timeout=timeout,
                                                 allow_private=e.allow_private)))
    if problems:
        raise click.ClickException("\n".join(problems))
    return targets


def _schedule(text: str | None, default: RetrySchedule) -> RetrySchedule:
    if text is None:
        return default
    try:
        return RetrySchedule.parse(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--retry-schedule") from None


def _resolve(ctx: click.Context, **given: Any) -> dict[str, Any]:
    defaults = {"logs": Path("clicks"), "state": Path("dispatch-state"), "snapshot": Path("build/current"),
                "config_dir": None, "concurrency": 16, "timeout": 10.0, "retry_schedule": None}
    return {k: _opt(ctx, k, given.get(k), d) for k, d in defaults.items()}


def _parse_time(text: str, flag: str) -> int:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 date or time (e.g. 2026-11-27T08:00Z)",
                                 param_hint=flag) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp() * 1000)


# ----------------------------------------------------------------- commands
@click.group(invoke_without_command=True)
@_common
@click.option("--once", is_flag=True, help="Deliver what the logs hold now, then exit (retries stay queued).")
@click.option("--endpoint", "only", multiple=True, help="Only this endpoint (repeatable).")
@click.option("--poll-interval", type=click.FloatRange(0.01), default=0.5, show_default=True,
              help="Seconds between looks at the logs when caught up.")
@click.pass_context
def dispatch(ctx: click.Context, once: bool, only: tuple[str, ...], poll_interval: float,
             **common: Any) -> None:
    """Deliver click events as signed webhooks (Standard Webhooks), at least once.

    Tails the click logs (finished and active files) and keeps a durable cursor
    per endpoint in --state. SIGTERM or Ctrl-C stops after the requests in
    flight; SIGKILL loses nothing either (events are delivered again with the
    same webhook-id). See docs/webhooks.md.
    """
    ctx.obj = {k: v for k, v in common.items() if v is not None}
    if ctx.invoked_subcommand is not None:
        return
    o = _resolve(ctx, **common)
    targets = _targets(_load_endpoints(o["config_dir"], o["snapshot"]), only, o["concurrency"], o["timeout"])
    opts = DispatchOptions(concurrency=o["concurrency"], timeout=o["timeout"], poll_interval=poll_interval,
                           schedule=_schedule(o["retry_schedule"], DEFAULT_SCHEDULE), once=once)
    store = StateDir(o["state"])
    try:
        lock = RunLock(store.root)
    except StateError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        if not o["logs"].is_dir():
            _say(f"{o['logs']}: no such folder yet; waiting for click logs" if not once
                 else f"{o['logs']}: no such folder; nothing to deliver")
        _say(f"delivering {o['logs']} to {', '.join(t.endpoint.name for t in targets)}"
             + (" (once)" if once else ""))
        metrics = asyncio.run(run_dispatcher(targets, o["logs"], store, opts, say=_say))
    except StateError as exc:
        raise click.ClickException(str(exc)) from None
    except OSError as exc:  # the state folder or the logs became unusable (disk full, permissions)
        raise click.ClickException(f"{exc}; deliveries since the last state write will be sent again "
                                   "(same webhook-id) once this is fixed") from None
    finally:
        lock.release()
    for line in summarize(metrics):
        _say(line)


@dispatch.command()
@_common
@click.option("--endpoint", "name", required=True, help="The endpoint to deliver to again.")
@click.option("--since", required=True, help="Clicks at or after this time (ISO 8601, UTC when no zone).")
@click.option("--until", default=None, help="Clicks before this time (default: up to now).")
@click.pass_context
def replay(ctx: click.Context, name: str, since: str, until: str | None, **common: Any) -> None:
    """Deliver the events clicked in [--since, --until) again, with their original webhook-id.

    The cursor is untouched. What still fails after a short schedule (1 s, 5 s,
    30 s unless --retry-schedule) goes to the dead-letter file; exit code 1.
    """
    o = _resolve(ctx, **common)
    since_ms = _parse_time(since, "--since")
    until_ms = _parse_time(until, "--until") if until else None
    if until_ms is not None and until_ms <= since_ms:
        raise click.BadParameter("must be later than --since", param_hint="--until")
    endpoints = _load_endpoints(o["config_dir"], o["snapshot"])
    (target,) = _targets(endpoints, (name,), o["concurrency"], o["timeout"])
    store = StateDir(o["state"])
    _refuse_disabled(store, target)
    opts = DispatchOptions(concurrency=o["concurrency"], timeout=o["timeout"],
                           schedule=_schedule(o["retry_schedule"], RetrySchedule.parse(REPLAY_SCHEDULE)))
    result = asyncio.run(replay_range(target, o["logs"], store, since_ms, until_ms, opts))
    _say(f"{name}: replayed {result.matched} events: delivered {result.delivered}, "
         f"dead-lettered {result.dead_lettered}" + (" (the endpoint answered 410)" if result.gone else ""))
    if result.dead_lettered:
        sys.exit(1)


def _refuse_disabled(store: StateDir, target: Target) -> None:
    mark = store.load(target.endpoint.name).disabled
    if mark is not None and mark.url == target.endpoint.url:
        raise click.ClickException(
            f"endpoint {target.endpoint.name} is disabled ({mark.reason}); "
            f"run `smslink dispatch enable --endpoint {target.endpoint.name}` first")


@dispatch.command("dead-letters")
@_common
@click.option("--endpoint", "name", default=None, help="Only this endpoint.")
@click.option("--retry", is_flag=True, help="Deliver them again; what still fails stays.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line (the file's format).")
@click.pass_context
def dead_letters(ctx: click.Context, name: str | None, retry: bool, as_json: bool, **common: Any) -> None:
    """List the events that were never accepted, or deliver them again with --retry."""
    import msgspec

    o = _resolve(ctx, **common)
    store = StateDir(o["state"])
    names = [name] if name else store.endpoint_names()
    if not retry:
        total = 0
        for n in names:
            for d in store.read_dead_letters(n):
                total += 1
                if as_json:
                    click.echo(msgspec.json.encode(d).decode())
                else:
                    click.echo(f"{n}  {d.webhook_id}  {d.type}  attempts={d.attempts}  "
                               f"last={d.last_attempt_at}  {d.last_error}")
        if not as_json:
            _say(f"{total} dead letter{'s' if total != 1 else ''}")
        return
    endpoints = _load_endpoints(o["config_dir"], o["snapshot"])
    pending = [n for n in names if store.read_dead_letters(n)]
    failed = 0
    for target in _targets(endpoints, tuple(pending), o["concurrency"], o["timeout"]) if pending else []:
        _refuse_disabled(store, target)
        opts = DispatchOptions(concurrency=o["concurrency"], timeout=o["timeout"])
        result = asyncio.run(retry_dead_letters(target, store, opts))
        failed += result.dead_lettered
        _say(f"{target.endpoint.name}: {result.matched} dead letters: delivered {result.delivered}, "
             f"still failing {result.dead_lettered}")
    if not pending:
        _say("no dead letters")
    if failed:
        sys.exit(1)


@dispatch.command()
@_common
@click.option("--endpoint", "name", required=True, help="The endpoint to deliver to again.")
@click.pass_context
def enable(ctx: click.Context, name: str, **common: Any) -> None:
    """Re-enable an endpoint that answered 410 Gone (needs the dispatcher stopped)."""
    o = _resolve(ctx, **common)
    store = StateDir(o["state"])
    try:
        lock = RunLock(store.root)
    except StateError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        state = store.load(name)
        if state.disabled is None:
            _say(f"{name}: not disabled")
            return
        state.disabled = None
        store.save(name, state)
        _say(f"{name}: enabled; the next `smslink dispatch` resumes where it stopped")
    finally:
        lock.release()


@dispatch.command()
@_common
@click.option("--json", "as_json", is_flag=True, help="One JSON object per endpoint.")
@click.pass_context
def status(ctx: click.Context, as_json: bool, **common: Any) -> None:
    """Where each endpoint stands: lag behind the logs, queued retries, dead letters, disabled."""
    import json
    import time

    from engine.clicklog import list_log_files

    o = _resolve(ctx, **common)
    store = StateDir(o["state"])
    files = list_log_files(o["logs"])
    now = time.time()
    names = store.endpoint_names()
    if not names:
        _say(f"{o['state']}: no endpoint has been dispatched to yet")
        return
    for name in names:
        st = store.load(name)
        lag = 0
        for lf in files:
            if not lf.path.name.endswith(".gz"):
                lag += max(0, lf.path.stat().st_size - st.files.get(lf.stem, 0))
        next_in = min((r.next_at - now for r in st.retries), default=0.0)
        row: dict[str, Any] = {
            "endpoint": name,
            "lag_bytes": lag,
            "pending_retries": len(st.retries),
            "oldest_retry_s": round(max((now - r.first_at for r in st.retries), default=0.0), 1),
            "next_retry_in_s": round(next_in, 1),
            "dead_letters": len(store.read_dead_letters(name)),
            "disabled": st.disabled.reason if st.disabled else None,
        }
        if as_json:
            click.echo(json.dumps(row))
        else:
            click.echo(f"{name}: lag {lag} B, {row['pending_retries']} retries queued"
                       + (f" (oldest {row['oldest_retry_s']}s, next in {max(0.0, next_in):.1f}s)"
                          if st.retries else "")
                       + f", {row['dead_letters']} dead letters"
                       + (f", DISABLED: {row['disabled']}" if st.disabled else ""))
