"""``smslink explain``: how would a tap on this link be judged and routed, and why.

It builds the request a phone would send and hands it to the worker's own
``ClickHandler`` (engine/worker/_core.py) with ``trace=True``: the answer
printed is the answer a worker gives, by the same code, not a re-implementation.
Nothing is logged and nothing is written.

Privacy: the token is never echoed back (it is a recipient's key) and the
address is shown truncated like in the click log; facts are the request's, the
geolocation's and the recipient's non-PII attributes.
Exit codes: 0 explained, 1 unknown link, unreadable snapshot or database.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

import click

#: A current iPhone Safari: what most taps on an SMS link look like.
DEFAULT_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
#: Headers a current phone browser sends when a link is tapped in the SMS app
#: (unless -H overrides them or --bare drops them).
DEFAULT_HEADERS = {
    "accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "accept-language": "en-US,en;q=0.9",
    "accept-encoding": "gzip, deflate, br",
    "sec-fetch-site": "none",
    "sec-fetch-mode": "navigate",
    "sec-fetch-dest": "document",
}


def _parse_at(value: str | None) -> float:
    if value is None:
        return time.time()
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not an ISO 8601 time; expected e.g. 2026-12-01T18:30:00Z", param_hint="--at"
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)  # documented: a time without offset is UTC
    return dt.timestamp()


def _parse_headers(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw in values:
        name, sep, value = raw.partition(":")
        if not sep or not name.strip() or any(c.isspace() for c in name.strip()):
            raise click.BadParameter(f"{raw!r} is not 'Name: value'", param_hint="-H/--header")
        out[name.strip().lower()] = value.strip()
    return out


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _geo_line(geo: Any) -> str:
    if geo is None:
        return "none (no --ip, no --geoip, or the address is not in the database)"
    place = ", ".join(x for x in (geo.city, geo.region, geo.country) if x) or "unknown place"
    bits = [f"accuracy {geo.accuracy_km} km" if geo.accuracy_km is not None else "accuracy unknown"]
    if geo.lat is not None:
        bits.append(f"at {geo.lat:.4f}, {geo.lon:.4f}")
    if geo.timezone:
        bits.append(f"zone {geo.timezone}")
    if geo.asn is not None:
        bits.append(f"AS{geo.asn} {geo.asn_org or ''}".rstrip())
    return f"{place} ({', '.join(bits)})"


@click.command(name="explain")
@click.argument("token")
@click.option("--snapshot", required=True, metavar="PATH",
              help="Snapshot file, `current` pointer, or a publish folder holding `current`.")
@click.option("--geoip", metavar="FILE", help="MaxMind-format City .mmdb (as given to `smslink serve`).")
@click.option("--asn", metavar="FILE", help="MaxMind-format ASN .mmdb (as given to `smslink serve`).")
@click.option("--ip", "client_ip", default="", metavar="ADDR", help="The tapping device's IP address.")
@click.option("--ua", default=DEFAULT_UA, show_default="iPhone Safari", metavar="TEXT", help="User-Agent.")
@click.option("--at", "at", metavar="TIME", help="When the tap happens (ISO 8601; no offset means UTC). Default: now.")
@click.option("-H", "--header", "headers", multiple=True, metavar="'Name: value'",
              help="A request header (repeatable), e.g. -H 'Accept-Language: fr-CA'.")
@click.option("--bare", is_flag=True, help="Send only --ua and -H headers (no browser defaults).")
@click.option("--method", default="GET", show_default=True, type=click.Choice(["GET", "HEAD"]))
@click.option("--host", metavar="NAME", help="Host header. Default: the campaign's first link domain.")
@click.option("--format", "fmt", default="text", show_default=True, type=click.Choice(["text", "json"]))
def explain(token: str, snapshot: str, geoip: str | None, asn: str | None, client_ip: str, ua: str,
            at: str | None, headers: tuple[str, ...], bare: bool, method: str, host: str | None,
            fmt: str) -> None:
    """Explain how a tap on TOKEN's link would be judged and routed.

    Prints the facts (geolocation, device, language, local time), the bot
    verdict with its reasons, every rule tried with why it matched or not, the
    chosen store and variant, and the final answer. Uses the worker's code.
    """
    from engine.routing import GeoReader
    from engine.snapshot import SnapshotError, open_snapshot
    from engine.worker import ClickHandler

    now = _parse_at(at)
    hdrs = {} if bare else dict(DEFAULT_HEADERS)
    if ua:
        hdrs["user-agent"] = ua
    hdrs.update(_parse_headers(headers))
    try:
        snap = open_snapshot(snapshot)
    except SnapshotError as exc:
        raise click.ClickException(str(exc)) from None
    reader = None
    try:
        if geoip or asn:
            try:
                reader = GeoReader(geoip, asn)
            except Exception as exc:  # not a file, not a MaxMind database
                raise click.ClickException(f"cannot open the geo database: {exc}") from None
        rec = snap.lookup(token) if len(token) <= 64 else None
        camp = snap.campaigns[rec.campaign] if rec is not None and rec.campaign < len(snap.campaigns) else None
        hostname = host or (camp.domains[0] if camp is not None and camp.domains else "localhost")
        handler = ClickHandler(snap, geo=reader, worker="explain")
        out = handler.handle(method, "/" + token, hostname, hdrs, client_ip, now, trace=True)
        ev = out.event
        if fmt == "json":
            click.echo(json.dumps(_as_json(out, camp, now, hostname), indent=2, sort_keys=True))
        else:
            _print_text(out, camp, rec, now, hostname, client_ip, method)
        if ev is None or ev.kind == "orphan":
            raise SystemExit(1)
    finally:
        if reader is not None:
            reader.close()
        snap.close()


def _as_json(out: Any, camp: Any, now: float, host: str) -> dict[str, Any]:
    ev = out.event
    data: dict[str, Any] = {
        "at": _iso(now), "host": host, "status": out.status, "answer": out.answer,
        "kind": ev.kind if ev else None,
    }
    if ev is None:
        return data
    for name in ("verdict", "reasons", "policy", "campaign", "link", "variant", "route", "store",
                 "store_source", "dest", "country", "region", "city", "accuracy_km", "asn",
                 "device", "lang", "since_send_s"):
        data[name] = getattr(ev, name)
    data["trace"] = [
        {"kind": s.kind, "name": s.name, "matched": s.matched, "line": s.line, "reasons": list(s.reasons)}
        for s in (out.trace or [])
    ]
    return data


def _print_text(out: Any, camp: Any, rec: Any, now: float, host: str, client_ip: str, method: str) -> None:
    from engine.clicklog import truncate_ip

    ev = out.event
    echo = click.echo
    if ev is None or ev.kind == "orphan":
        why = ev.route if ev is not None else "not a link"
        echo(f"link      not served ({why}): the worker answers {out.status} ({out.answer})")
        if ev is not None:
            echo(f"bot       {ev.verdict}" + (f" ({', '.join(ev.reasons)})" if ev.reasons else ""))
        return
    kind = "recipient link" if rec is not None and rec.recipient else "campaign-level link"
    retired = " (recipient retired from the audience)" if rec is not None and rec.retired else ""
    src = f" ({camp.source}:{{line}})" if camp is not None and camp.source else ""
    echo(f"link      {kind} of campaign {ev.campaign}{retired}")
    # the address is shown as the click log keeps it: truncated (/24, /48)
    shown = (truncate_ip(client_ip) or "an invalid address") if client_ip else "no address"
    echo(f"request   {method} https://{host}/<token> from {shown} at {_iso(now)}")
    facts = out.facts or {}
    echo(f"geo       {_geo_line(facts.get('geo'))}")
    echo(f"device    {ev.device}    language {ev.lang or 'none'}")
    since = facts.get("since_send_s")
    if since is not None:
        echo(f"sent      {since:,.0f} s before the tap")
    reasons = f" ({', '.join(ev.reasons)})" if ev.reasons else ""
    echo(f"bot       {ev.verdict}{reasons} -> answer {out.answer}" + (f" [policy {ev.policy}]" if ev.policy else ""))
    for step in out.trace or []:
        if step.kind == "rule":
            mark = "MATCH" if step.matched else "no   "
            where = src.format(line=step.line) if src and step.line else ""
            echo(f"rule      {mark} {step.name}{where}")
            for r in step.reasons:
                echo(f"            {r}")
        else:
            if step.kind == "default":
                echo("default   MATCH (no rule matched)")
            elif step.kind == "store":
                echo(f"store     {'; '.join(step.reasons)}")
            else:
                echo(f"{step.kind:<9} {step.name}: {'; '.join(step.reasons)}")
    route = f"route {ev.route}"
    if out.status in (301, 302, 303, 307, 308) or out.answer in ("preview-page", "prefetch"):
        echo(f"result    {out.status} {out.answer} -> {ev.dest} ({route})")
    else:
        echo(f"result    {out.status} {out.answer} ({route})")
