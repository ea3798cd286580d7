"""``smslink bots classify`` and ``smslink bots rejudge``: try a bot policy on traffic.

``classify`` judges captured requests (JSON lines on stdin, one verdict line
out per request, in order). ``rejudge`` replays past click logs under a policy,
with the stream rules, and counts how many clicks per campaign would move
between verdicts. Neither writes anything but stdout; logs are only read.

Exit codes: 0 done, 1 bad policy, bad input line or no logs.
Privacy: tokens group clicks for the stream rules but are never printed;
errors name the line number and the field, never echo the request.
"""

from __future__ import annotations

import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import click
import msgspec

if TYPE_CHECKING:
    from engine.bots import Classifier
    from engine.clicklog import ClickEvent


class _Request(msgspec.Struct, forbid_unknown_fields=True):
    """One line of ``bots classify`` input."""

    method: str = "GET"
    headers: dict[str, str] = {}
    client_ip: str | None = None
    seconds_since_send: float | None = None
    asn: int | None = None


class _Answer(msgspec.Struct):
    verdict: str
    reasons: list[str]


def load_classifier(policy: Path | None) -> Classifier:
    """The classifier of ``policy`` (a ``kind: bots`` file), or of the built-in default."""
    from engine.bots import PolicyError, compile_policy, default_policy

    if policy is None:
        return compile_policy(default_policy())
    from engine.diagnostics import Diagnostic, DiagnosticsError, render_text
    from engine.spec import BotPolicySpec, load_yaml, parse_spec

    rel = policy.as_posix()
    try:
        text = policy.read_bytes().decode("utf-8")
    except OSError as exc:
        raise click.ClickException(f"{rel}: cannot read the policy: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise click.ClickException(f"{rel}: the policy is not UTF-8 text (byte {exc.start})") from None
    try:
        doc = load_yaml(rel, text)
        diagnostics: list[Diagnostic] = []
        spec = None
        if not isinstance(doc.data, dict) or doc.data.get("kind") != "bots":
            diagnostics.append(Diagnostic(
                "E220", "error", "not a bot policy", doc.span(("kind",)),
                expected="kind: bots", hint="point --policy at a `kind: bots` file in policies/",
            ))
        else:
            spec, diagnostics = parse_spec(doc, BotPolicySpec)
        if spec is None:
            raise DiagnosticsError(diagnostics, {rel: text})
    except DiagnosticsError as exc:
        click.echo(render_text(exc.diagnostics, {rel: text, **exc.sources}), err=True, nl=False)
        sys.exit(1)
    try:
        return compile_policy(spec.to_record(rel))
    except PolicyError as exc:
        raise click.ClickException(f"{rel}: {exc}") from None


@click.group("bots")
def bots() -> None:
    """Classify requests and re-judge click logs under a bot policy."""


@bots.command("classify")
@click.option("--policy", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A `kind: bots` file; the built-in default policy when omitted.")
def classify(policy: Path | None) -> None:
    """Judge requests read as JSON lines on stdin; write one verdict line each, in order.

    Input line: {"method": "GET", "headers": {...}, "client_ip": "...",
    "seconds_since_send": 12.5}. The user agent is the User-Agent header;
    client_ip, seconds_since_send and asn may be absent or null.
    Output line: {"verdict": "...", "reasons": [...]}.
    """
    from engine.bots import RequestFacts

    clf = load_classifier(policy)
    decoder = msgspec.json.Decoder(_Request)
    encoder = msgspec.json.Encoder()
    out = sys.stdout.buffer
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        if not raw.strip():
            continue
        try:
            req = decoder.decode(raw)
        except msgspec.ValidationError as exc:
            out.flush()
            raise click.ClickException(f"stdin line {number}: {exc}") from None
        except msgspec.DecodeError:
            out.flush()
            raise click.ClickException(
                f"stdin line {number}: not a JSON object (expected {{\"method\": ..., \"headers\": {{...}}}})"
            ) from None
        headers = {k.lower(): v for k, v in req.headers.items()}
        facts = RequestFacts(
            method=req.method, user_agent=headers.get("user-agent", ""), headers=headers,
            client_ip=req.client_ip, asn=req.asn, seconds_since_send=req.seconds_since_send,
        )
        v = clf.classify(facts)
        out.write(encoder.encode(_Answer(v.verdict, list(v.reasons))) + b"\n")
    out.flush()


@bots.command("rejudge")
@click.option("--logs", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder of click logs (clicks-*.jsonl, .jsonl.gz, .jsonl.active).")
@click.option("--policy", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The `kind: bots` file to judge with; the built-in default when omitted.")
@click.option("--stream/--no-stream", default=True, show_default=True,
              help="Apply the stream rules over each token's clicks (docs/bots.md).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def rejudge(logs: Path, policy: Path | None, stream: bool, fmt: str) -> None:
    """Count how many past clicks per campaign would move between verdicts under a policy.

    Reads every click log under --logs; never modifies them.
    """
    from engine.bots import facts_from_event, rejudge_stream
    from engine.clicklog import list_log_files, read_events

    clf = load_classifier(policy)
    files = list_log_files(logs)
    if not files:
        raise click.ClickException(f"no click logs (clicks-*.jsonl) in {logs.as_posix()}")
    by_token: dict[tuple[str, str], list[ClickEvent]] = defaultdict(list)
    orphans = 0
    for lf in files:
        try:
            for event, _ in read_events(lf.path):
                if event.kind != "click" or not event.campaign:
                    orphans += 1
                    continue
                by_token[(event.campaign, event.token or "")].append(event)
        except (msgspec.DecodeError, OSError) as exc:
            raise click.ClickException(f"{lf.path.name}: cannot read: {exc}") from None

    moves: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    before: dict[str, Counter[str]] = defaultdict(Counter)
    after: dict[str, Counter[str]] = defaultdict(Counter)
    for (campaign, _token), events in by_token.items():
        events.sort(key=lambda e: e.ts)
        if stream:
            verdicts = rejudge_stream(events, clf)
        else:
            verdicts = [clf.classify(facts_from_event(e)) for e in events]
        for e, v in zip(events, verdicts, strict=True):
            before[campaign][e.verdict] += 1
            after[campaign][v.verdict] += 1
            moves[campaign][(e.verdict, v.verdict)] += 1

    campaigns = sorted(before)
    total = sum(sum(c.values()) for c in before.values())
    if fmt == "json":
        report = {
            "policy": clf.policy_ref,
            "clicks": total,
            "skipped_orphans": orphans,
            "campaigns": {
                cid: {
                    "clicks": sum(before[cid].values()),
                    "moved": sum(n for (a, b), n in moves[cid].items() if a != b),
                    "moves": [
                        {"from": a, "to": b, "count": n}
                        for (a, b), n in sorted(moves[cid].items()) if a != b
                    ],
                    "before": dict(sorted(before[cid].items())),
                    "after": dict(sorted(after[cid].items())),
                }
                for cid in campaigns
            },
        }
        click.echo(msgspec.json.format(msgspec.json.encode(report), indent=2).decode())
        return
    click.echo(
        f"policy {clf.policy_ref} re-judged {_plural(total, 'click')} in {_plural(len(campaigns), 'campaign')} "
        f"({_plural(orphans, 'orphan line')} skipped); no log was modified"
    )
    for cid in campaigns:
        changed = sorted(((a, b), n) for (a, b), n in moves[cid].items() if a != b)
        n_clicks = sum(before[cid].values())
        n_moved = sum(n for _, n in changed)
        click.echo(f"{cid}: {_plural(n_clicks, 'click')}, " + (f"{n_moved:,} would move" if n_moved else "none would move"))
        width = max((len(f"{a} -> {b}") for (a, b), _ in changed), default=0)
        for (a, b), n in changed:
            click.echo(f"  {f'{a} -> {b}':<{width}}  {n:>8,}")


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"
