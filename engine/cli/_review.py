"""``smslink review BASE [HEAD]``: what a config change does for recipients.

Exports each git revision's tree into a temporary folder, runs the compiler's
front half (load -> validate -> link) on both, converts each ``Plan`` into a
``review.Revision`` and hands the pair to ``engine.review`` (diff, then render).
The review package never imports the compiler (they are siblings): this module
is where the two meet.

Exit codes: 0 done (with ``--detailed-exitcode``: 0 no change, 2 changes),
1 errors (a revision that does not compile, a bad revision name).
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any, NoReturn

import click

from engine.review.diff import AudienceImpact, Compliance, Revision, diff_revisions
from engine.review.render import MARKER, render_json, render_markdown, render_text


class ReviewError(Exception):
    """The review could not run; the message says why and what to do."""


def _fail(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _git(root: Path, *args: str, binary: bool = False) -> Any:
    proc = subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)
    if proc.returncode != 0:
        raise ReviewError(proc.stderr.decode(errors="replace").strip() or f"git {' '.join(args)} failed")
    return proc.stdout if binary else proc.stdout.decode().strip()


def export_revision(root: Path, rev: str, dest: Path) -> str:
    """Write the tree of ``rev`` (the part under ``root``) into ``dest``; return the commit id."""
    try:
        commit = _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    except ReviewError:
        raise ReviewError(f"{rev!r} is not a git revision of {root} (try `git fetch` or a commit id)") from None
    prefix = _git(root, "rev-parse", "--show-prefix")
    top = Path(_git(root, "rev-parse", "--show-toplevel"))
    tree = f"{commit}:{prefix}" if prefix else commit
    # From the top level: in a subfolder, git archive would limit itself to that subfolder again.
    data = _git(top, "archive", "--format=tar", tree, binary=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.extractall(dest, filter="data")
    return commit


def revision_from_plan(plan: Any, label: str) -> Revision:
    """A ``review.Revision`` from a compiler ``Plan`` (the one place that knows both types)."""
    comp = plan.compliance
    return Revision(
        label=label,
        campaigns=[cp.record for cp in plan.campaigns],
        policies=list(plan.policies),
        endpoints=list(plan.endpoints),
        storesets=list(plan.storesets),
        compliance=Compliance(
            allowed_domains=tuple(comp.allowed_domains),
            banned_domains=tuple(comp.banned_domains),
            https_only=comp.https_only,
            max_segments=comp.max_segments,
            opt_out=tuple(comp.opt_out),
            reviewers={name: tuple(rules.required_reviewers) for name, rules in comp.categories.items()},
        ),
    )


def load_revision(tree: Path, label: str, commit: str | None) -> tuple[Revision | None, str]:
    """Load and link a config tree; (None, rendered errors) when it does not compile."""
    plan, errors = load_plan_or_errors(tree, commit)
    return (revision_from_plan(plan, label) if plan is not None else None), errors


def load_plan_or_errors(tree: Path, commit: str | None) -> tuple[Any, str]:
    """The compiler's Plan for a config tree, or (None, the rendered errors)."""
    from engine.compiler import load_plan
    from engine.diagnostics import DiagnosticsError
    from engine.diagnostics import render_text as render_diagnostics

    try:
        plan = load_plan(tree, config_commit=commit)
    except DiagnosticsError as exc:
        return None, render_diagnostics(exc.diagnostics, root=tree)
    return plan, ""


def _bind(audiences: tuple[str, ...]) -> dict[str, Path]:
    bound = {}
    for spec in audiences:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise ReviewError(f"--audience {spec!r}: expected NAME=PATH (the audience name used in the campaign)")
        if not Path(path).is_file():
            raise ReviewError(f"--audience {name}: {path} is not a file")
        bound[name] = Path(path)
    return bound


def compute_impacts(base_plan: Any, head_plan: Any, audiences: tuple[str, ...], scratch: Path,
                    ) -> dict[str, AudienceImpact]:
    """Compile base then head (with base as previous) against the audiences, and count per campaign.

    Only campaigns whose audience is bound are compiled. The manifests (phone
    numbers) are written inside ``scratch`` and deleted as soon as each compile ends.
    """
    import dataclasses
    import os
    from datetime import UTC, datetime

    from engine.compiler import BuildOptions, CompileError, compile_plan
    from engine.review.impact import audience_impacts
    from engine.snapshot import open_snapshot

    bound = _bind(audiences)
    key = os.environ.get("SMSLINK_RECIPIENT_KEY")
    now = datetime.now(UTC)

    def build(plan: Any, name: str, previous: Path | None) -> Path:
        sub = dataclasses.replace(plan, campaigns=[cp for cp in plan.campaigns if cp.audience.name in bound])
        out = scratch / f"{name}-build"
        try:
            result = compile_plan(sub, BuildOptions(
                out=out, audiences=bound, previous=previous, clock=now,
                recipient_key=key.encode() if key else None, manifest=out / "manifest.csv",
            ))
        except CompileError as exc:
            raise ReviewError(f"compiling the {name} against the audiences failed: {exc}") from exc
        finally:
            (out / "manifest.csv").unlink(missing_ok=True)
        return result.snapshot

    base_snap = build(base_plan, "base", None)
    head_snap = build(head_plan, "head", base_snap)
    with open_snapshot(base_snap) as b, open_snapshot(head_snap) as h:
        return audience_impacts(b, h)


def _label(rev: str, commit: str) -> str:
    return rev if rev.startswith(commit[:7]) else f"{rev} ({commit[:7]})"


def _error_report(fmt: str, side: str, label: str, errors: str) -> str:
    if fmt == "json":
        import json

        return json.dumps({"error": f"{side} ({label}) does not compile", "diagnostics": errors}, indent=2) + "\n"
    if fmt == "markdown":
        return (f"{MARKER}\n### smslink review: {side} does not compile\n\n"
                f"`{label}` has errors, so there is nothing to review yet. Fix them "
                f"(`smslink validate` shows the same list):\n\n```\n{errors.replace('```', chr(39) * 3)}\n```\n")
    return f"smslink review: {side} ({label}) does not compile\n\n{errors}"


def _emit(text: str, out: str | None) -> None:
    if out:
        Path(out).write_text(text)
    else:
        click.echo(text, nl=False)


@click.command("review")
@click.argument("base")
@click.argument("head", required=False)
@click.option("--root", default=".", show_default=True, type=click.Path(file_okay=False, exists=True),
              help="Folder holding campaigns/ and policies/ (inside a git work tree).")
@click.option("--format", "fmt", type=click.Choice(["markdown", "text", "json"]), default="text",
              show_default=True)
@click.option("--audience", "audiences", multiple=True, metavar="NAME=PATH",
              help="Bind an audience to count recipients whose destination changes (repeatable).")
@click.option("--detailed-exitcode", is_flag=True, help="Exit 0 when nothing changes, 2 when something does.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write the review here instead of stdout.")
@click.option("--full-report", default="the `review` build artifact", show_default=True,
              help="Where the markdown note sends readers when the comment had to be cut.")
def review(base: str, head: str | None, root: str, fmt: str, audiences: tuple[str, ...],
           detailed_exitcode: bool, out: str | None, full_report: str) -> None:
    """Compare what BASE and HEAD compile to, for a compliance reviewer.

    BASE and HEAD are git revisions (HEAD defaults to the work tree). The review
    shows destinations and their domains, rules, variants, schedule, message
    text with its segment count, opt-out wording, bot policy and webhook
    changes, and compliance findings: never a phone number, token or secret.
    """
    root_path = Path(root).resolve()
    try:
        with tempfile.TemporaryDirectory(prefix="smslink-review-") as scratch:
            base_dir = Path(scratch) / "base"
            base_commit = export_revision(root_path, base, base_dir)
            base_label = _label(base, base_commit)
            if head is None:
                head_dir, head_commit, head_label = root_path, None, "work tree"
            else:
                head_dir = Path(scratch) / "head"
                head_commit = export_revision(root_path, head, head_dir)
                head_label = _label(head, head_commit)
            head_plan, head_errors = load_plan_or_errors(head_dir, head_commit)
            if head_plan is None:
                _emit(_error_report(fmt, "head", head_label, head_errors), out)
                click.echo(f"error: {head_label} does not compile; see the review", err=True)
                sys.exit(1)
            base_plan, base_errors = load_plan_or_errors(base_dir, base_commit)
            if base_plan is None:
                _emit(_error_report(fmt, "base", base_label, base_errors), out)
                click.echo(f"error: {base_label} does not compile; review against another base", err=True)
                sys.exit(1)
            base_rev = revision_from_plan(base_plan, base_label)
            head_rev = revision_from_plan(head_plan, head_label)
            impacts: dict[str, AudienceImpact] = {}
            if audiences:
                impacts = compute_impacts(base_plan, head_plan, audiences, Path(scratch))
    except ReviewError as exc:
        _fail(str(exc))
    result = diff_revisions(base_rev, head_rev, impacts=impacts)
    if fmt == "markdown":
        text = render_markdown(result, full_report=full_report)
    elif fmt == "json":
        text = render_json(result)
    else:
        text = render_text(result)
    _emit(text, out)
    if detailed_exitcode and result.changed:
        sys.exit(2)
