"""``smslink compile``, ``inspect``, ``lookup`` and ``audience generate``.

Exit codes: 0 done; 1 config, audience or input problems (nothing written);
3 a bug in the engine. Output never holds a phone number; recipient tokens are
shown only by ``lookup``, which is asked for one by name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import click

from engine import __version__

_FORMATS = click.Choice(["text", "json", "github"])


def _fail(message: str, code: int = 1) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(code)


def _bug(stage: str, exc: BaseException) -> NoReturn:
    """An internal failure (E901): say so, with version and stage, and where to report it.

    Only the exception's type is printed: its message could quote an audience row.
    """
    click.echo(
        f"smslink: error E901: this is a bug in the engine, not in your config or audience "
        f"(smslink {__version__}, stage: {stage}, {type(exc).__name__}); nothing was written\n"
        "   hint: please report it at https://github.com/smslink/smslink/issues with this output "
        "(never attach an audience or a manifest: they hold phone numbers); SMSLINK_DEBUG=1 "
        "prints the traceback",
        err=True,
    )
    if os.environ.get("SMSLINK_DEBUG"):
        traceback.print_exception(exc)
    sys.exit(3)


def _git_commit(root: Path) -> str | None:
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
        )
    except OSError:
        return None
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and len(out) == 40 else None


def _parse_bindings(values: tuple[str, ...]) -> dict[str, Path]:
    bound: dict[str, Path] = {}
    for v in values:
        name, sep, path = v.partition("=")
        if not sep or not name.strip() or not path.strip():
            _fail(f"--audience expects NAME=PATH (the audience name in the campaign file), got {v!r}")
        if name.strip() in bound:
            _fail(f"--audience {name.strip()} is given twice")
        bound[name.strip()] = Path(path.strip())
    return bound


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


@click.command("compile")
@click.option("--root", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Repository root holding campaigns/ and policies/.")
@click.option("--audience", "audiences", multiple=True, metavar="NAME=PATH",
              help="Bind the audience NAME (as named in the campaign) to a CSV file. Repeatable.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("build"),
              show_default=True, help="Folder for snapshot.lmdb and manifest.csv.")
@click.option("--previous", type=click.Path(path_type=Path), default=None,
              help="Snapshot (or publish folder / current pointer) whose tokens must be kept. "
                   "Default: <out>/snapshot.lmdb when it exists.")
@click.option("--suppression", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Opt-out list (CSV with a phone column, or one number per line).")
@click.option("--recipient-key-env", default="SMSLINK_RECIPIENT_KEY", show_default=True,
              help="Environment variable holding the secret key for hashed recipient ids.")
@click.option("--format", "fmt", type=_FORMATS, default="text", show_default=True,
              help="Summary and error format.")
def compile_cmd(
    root: Path, audiences: tuple[str, ...], out: Path, previous: Path | None,
    suppression: Path | None, recipient_key_env: str, fmt: str,
) -> None:
    """Compile config + audiences into a snapshot and a send manifest.

    Example: smslink compile --audience spring=spring.csv --out build/
    """
    from engine.diagnostics import DiagnosticsError

    bound = _parse_bindings(audiences)
    stage = "load"
    try:
        from engine.compiler import load_plan

        try:
            plan = load_plan(root, config_commit=_git_commit(root))
        except DiagnosticsError as exc:
            _print_diagnostics(exc, fmt, root)
            sys.exit(1)
        stage = "build"
        from engine.compiler import BuildOptions, CompileError, compile_plan

        key = os.environ.get(recipient_key_env, "")
        opts = BuildOptions(
            out=out, audiences=bound, previous=previous, suppression=suppression,
            recipient_key=key.encode() if key else None, engine_version=__version__,
        )
        try:
            result = compile_plan(plan, opts)
        except (*CompileError, OSError) as exc:
            # OSError: the output folder cannot be written (permissions, disk full).
            message = str(exc) if not isinstance(exc, OSError) or not exc.strerror else (
                f"{exc.filename or out}: cannot write the output ({exc.strerror}); nothing was published"
            )
            if fmt == "json":
                click.echo(json.dumps({"ok": False, "error": message}))
            _fail(message)
    except SystemExit:
        raise
    except BaseException as exc:  # an engine bug: no traceback for users, exit 3
        if isinstance(exc, KeyboardInterrupt):
            _fail("interrupted; nothing was written", 130)
        _bug(stage, exc)
    unused = sorted(set(bound) - {cp.audience.name for cp in plan.campaigns})
    if fmt == "json":
        click.echo(json.dumps(_summary_json(result, unused), indent=2))
    else:
        click.echo(_summary_text(result, unused))


def _print_diagnostics(exc: Any, fmt: str, root: Path) -> None:
    from engine.diagnostics import render_github, render_json, render_text

    if fmt == "json":
        click.echo(render_json(exc.diagnostics))
    elif fmt == "github":
        click.echo(render_github(exc.diagnostics))
        click.echo(render_text(exc.diagnostics, exc.sources, root=root), err=True)
    else:
        click.echo(render_text(exc.diagnostics, exc.sources, root=root), err=True)


def _summary_json(result: Any, unused: list[str]) -> dict[str, Any]:
    return {
        "ok": True,
        "snapshot": {
            "path": str(result.snapshot),
            "version": result.meta.version,
            "bytes": result.snapshot_bytes,
            "counts": result.meta.counts,
            "config_commit": result.meta.config_commit,
        },
        "manifest": {"path": str(result.manifest), "rows": sum(c.messaged for c in result.campaigns)},
        "previous": str(result.previous) if result.previous else None,
        "campaigns": [c.to_dict() for c in result.campaigns],
        "forgotten_campaigns": result.forgotten_campaigns,
        "suppression_unreadable_lines": result.suppression_unreadable,
        "unused_audiences": unused,
        "timings": {k: round(v, 3) for k, v in result.timings.items()},
    }


def _rows(rows: list[int], total: int) -> str:
    shown = ", ".join(str(r) for r in rows)
    return f"rows {shown}" + (", ..." if total > len(rows) else "")


def _summary_text(result: Any, unused: list[str]) -> str:
    meta = result.meta
    n = meta.counts
    lines = [
        f"compiled {len(meta.campaigns)} campaign(s) into {result.snapshot}",
        f"  snapshot {meta.version}, {_human_bytes(result.snapshot_bytes)}, "
        f"{n.get('tokens', 0):,} tokens ({n.get('retired_tokens', 0):,} retired)",
    ]
    if result.previous:
        lines.append(f"  tokens kept from {result.previous}")
    for c in result.campaigns:
        if c.retired:
            lines.append(f"- {c.id}: removed from config; {c.retired_tokens:,} tokens kept (retired) "
                         "until its retention ends")
            continue
        s = c.stats
        lines.append(
            f"- {c.id} (audience {c.audience}): {s.rows:,} rows, {c.recipients:,} recipients, "
            f"{c.messaged:,} to message" + (f", {c.holdout:,} in holdout" if c.holdout else "")
        )
        lines.append(f"    tokens: {c.new_tokens:,} new, {c.kept_tokens:,} kept, "
                     f"{c.retired_tokens:,} retired, {c.forgotten_tokens:,} forgotten after retention")
        if c.variants:
            lines.append("    variants: " + ", ".join(f"{k} {v:,}" for k, v in c.variants.items()))
        for reason, count in sorted(s.dropped.items()):
            lines.append(f"    dropped {count:,} {reason} ({_rows(s.examples.get(reason, []), count)})")
        for reason, count in sorted(s.flagged.items()):
            lines.append(f"    kept {count:,} with {reason}, field left empty "
                         f"({_rows(s.examples.get(reason, []), count)})")
        msg = f"    messages: up to {c.max_segments} segment(s)"
        if c.over_segments:
            msg += f", {c.over_segments:,} over the compliance limit"
        if c.ucs2:
            msg += f", {c.ucs2:,} sent as UCS-2"
        lines.append(msg)
    for cid in result.forgotten_campaigns:
        lines.append(f"- {cid}: removed from config and past retention; its tokens are forgotten")
    if result.suppression_unreadable:
        lines.append(f"  suppression list: {result.suppression_unreadable:,} unreadable line(s) ignored")
    for name in unused:
        lines.append(f"  warning: --audience {name} is not used by any campaign")
    rows = sum(c.messaged for c in result.campaigns)
    lines.append(f"manifest: {result.manifest} ({rows:,} rows, owner-only); it holds phone numbers: "
                 "hand it to the sender, never commit it")
    return "\n".join(lines)


# ------------------------------------------------------------------- inspect
def _open(path: Path) -> Any:
    from engine.snapshot import SnapshotError, open_snapshot

    try:
        return open_snapshot(path)
    except SnapshotError as exc:
        _fail(str(exc))


def _when(epoch: int | None) -> str | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")


@click.command("inspect")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--verify/--no-verify", default=True, show_default=True, help="Recompute the checksum.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def inspect(path: Path, verify: bool, fmt: str) -> None:
    """Show a snapshot's meta, counts, campaigns and findings."""
    from engine.snapshot import SnapshotError

    snap = _open(path)
    with snap:
        checksum = "not checked"
        if verify:
            try:
                snap.verify()
                checksum = "ok"
            except SnapshotError as exc:
                _fail(str(exc))
        per: dict[int, list[int]] = {i: [0, 0] for i in range(len(snap.campaigns))}
        for _, rec in snap.iter_tokens():
            if rec.recipient:
                per[rec.campaign][1 if rec.retired else 0] += 1
        doc = _inspect_doc(snap, per, checksum)
    if fmt == "json":
        click.echo(json.dumps(doc, indent=2))
        return
    click.echo(_inspect_text(doc))


def _inspect_doc(snap: Any, per: dict[int, list[int]], checksum: str) -> dict[str, Any]:
    m = snap.meta
    campaigns = []
    for i, c in enumerate(snap.campaigns):
        campaigns.append({
            "id": c.id,
            "name": c.name,
            "retired": c.retired,
            "source": c.source,
            "audience": c.audience,
            "domains": c.domains,
            "campaign_link": f"https://{c.domains[0]}/{c.campaign_token}" if c.domains else None,
            "recipients": per[i][0],
            "retired_recipients": per[i][1],
            "starts_at": _when(c.starts_at),
            "ends_at": _when(c.ends_at),
            "retain_until": _when(c.retain_until),
            "routes": [r.id for r in c.routes],
            "variants": [{"name": v.name, "weight": v.weight, "holdout": v.holdout} for v in c.variants],
            "zones": len(c.zones),
            "attributes": c.attr_names,
            "bot_policy": c.bot_policy,
            "webhooks": c.webhooks,
            "message": None if c.message is None else {
                "encoding": c.message.encoding, "segments": c.message.segments,
                "link_length": c.message.link_length, "has_opt_out": c.message.has_opt_out,
                "sample": c.message.sample,
            },
            "findings": [{"code": f.code, "severity": f.severity, "message": f.message} for f in c.findings],
        })
    return {
        "path": str(snap.path),
        "format": f"{m.format_major}.{m.format_minor}",
        "version": m.version,
        "built_at": m.built_at,
        "config_commit": m.config_commit,
        "engine_version": m.engine_version,
        "checksum": checksum,
        "bytes": snap.path.stat().st_size,
        "counts": m.counts,
        "policies": m.policies,
        "storesets": m.storesets,
        "endpoints": m.endpoints,
        "campaigns": campaigns,
    }


def _inspect_text(doc: dict[str, Any]) -> str:
    lines = [
        f"snapshot {doc['path']}",
        f"  version {doc['version']} (format {doc['format']}), built {doc['built_at']}"
        + (f" by smslink {doc['engine_version']}" if doc["engine_version"] else ""),
        f"  config commit {doc['config_commit'] or '(none)'}, checksum {doc['checksum']}, "
        f"{_human_bytes(doc['bytes'])}",
        "  counts: " + ", ".join(f"{k} {v:,}" for k, v in sorted(doc["counts"].items())),
        f"  policies: {', '.join(doc['policies']) or '-'}; store sets: {', '.join(doc['storesets']) or '-'}; "
        f"webhook endpoints: {', '.join(doc['endpoints']) or '-'}",
    ]
    for c in doc["campaigns"]:
        head = f"campaign {c['id']}" + (" (retired: removed from config)" if c["retired"] else "")
        lines += ["", head, f"  {c['name']}  [{c['source']}]"]
        lines.append(f"  audience {c['audience'] or '-'}: {c['recipients']:,} recipients, "
                     f"{c['retired_recipients']:,} retired tokens")
        lines.append(f"  campaign link: {c['campaign_link']}")
        lines.append(f"  live {c['starts_at'] or '-'} .. {c['ends_at'] or '-'}, tokens kept until "
                     f"{c['retain_until'] or 'forever'}")
        lines.append(f"  routes: {', '.join(c['routes']) or '-'} (then default)")
        if c["variants"]:
            lines.append("  variants: " + ", ".join(
                f"{v['name']} {v['weight']:g}" + (" (holdout)" if v["holdout"] else "") for v in c["variants"]))
        if c["message"]:
            msg = c["message"]
            lines.append(f"  message: {msg['encoding']}, {msg['segments']} segment(s), link "
                         f"{msg['link_length']} chars, opt-out {'yes' if msg['has_opt_out'] else 'MISSING'}")
            lines.append(f"    {msg['sample']}")
        for f in c["findings"]:
            lines.append(f"  {f['severity']} {f['code']}: {f['message']}")
    return "\n".join(lines)


@click.command("lookup")
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("token")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def lookup(path: Path, token: str, fmt: str) -> None:
    """Show one token's record: campaign, recipient id, variant, store, zone, attributes."""
    snap = _open(path)
    with snap:
        rec = snap.lookup(token)
        if rec is None:
            _fail(f"{snap.path}: no such token in snapshot {snap.meta.version}")
        c = snap.campaigns[rec.campaign]
        store = None
        if rec.store >= 0 and c.stores is not None and c.stores.storeset in snap.storesets:
            stores = snap.storesets[c.stores.storeset].stores
            store = stores[rec.store].id if rec.store < len(stores) else None
        doc = {
            "token": token,
            "campaign": c.id,
            "campaign_retired": c.retired,
            "recipient_id": rec.recipient or None,
            "kind": "campaign link" if not rec.recipient else "recipient link",
            "variant": c.variants[rec.variant].name if 0 <= rec.variant < len(c.variants) else None,
            "home_store": store,
            "timezone": c.zones[rec.zone] if 0 <= rec.zone < len(c.zones) else None,
            "attributes": dict(zip(c.attr_names, rec.attrs, strict=False)),
            "retired": rec.retired,
            "retain_until": _when(c.retain_until),
            "snapshot": snap.meta.version,
        }
    if fmt == "json":
        click.echo(json.dumps(doc, indent=2))
        return
    for k, v in doc.items():
        click.echo(f"{k}: {v if v is not None else '-'}")


# ------------------------------------------------------------------ audience
@click.group("audience")
def audience() -> None:
    """Generate fictional audiences for demos, tests and benchmarks."""


@audience.command("generate")
@click.option("--count", type=click.IntRange(min=1), required=True, help="Number of rows.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--with-attributes", is_flag=True, help="Add tz, store_id and tier columns.")
@click.option("--id-column", default="customer_id", show_default=True, help="Contact-id column name.")
@click.option("--phone-format", type=click.Choice(["mixed", "e164", "national"]), default="mixed",
              show_default=True, help="How numbers are written (mixed: as CRMs export them).")
@click.option("--stores", "stores_csv", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Store list whose ids fill store_id (default: stores/acme-stores.csv when present).")
def generate(count: int, out: Path, seed: int, with_attributes: bool, id_column: str,
             phone_format: str, stores_csv: Path | None) -> None:
    """Write COUNT fictional recipients (reserved fictional US 555 numbers) to a CSV."""
    from engine.compiler import FictionError, generate_audience

    try:
        info = generate_audience(
            out, count, seed=seed, with_attributes=with_attributes, id_column=id_column,
            phone_format=phone_format, stores_csv=stores_csv,
        )
    except FictionError as exc:
        _fail(str(exc))
    click.echo(f"wrote {count:,} fictional recipients to {out} ({info})")

