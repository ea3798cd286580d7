"""``smslink validate`` and ``smslink schema``.

Exit codes: 0 valid (warnings allowed), 1 invalid config, 3 a bug in the engine.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path

import click

from engine import __version__

REPORT_URL = "https://github.com/smslink/smslink/issues"


def internal_error(stage: str, exc: BaseException) -> None:
    """Say it is our bug, with version and stage; exit 3. No traceback unless SMSLINK_DEBUG is set."""
    click.echo(
        f"smslink: error E901: this is a bug in the engine, not in your config "
        f"(smslink {__version__}, stage: {stage}, {type(exc).__name__}: {exc})\n"
        f"   hint: please report it at {REPORT_URL} with this output",
        err=True,
    )
    if os.environ.get("SMSLINK_DEBUG"):
        traceback.print_exception(exc, file=sys.stderr)
    sys.exit(3)


@click.command("validate")
@click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    show_default=True,
    help="Repository root with campaigns/ and policies/.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "github", "json"]),
    default="text",
    show_default=True,
    help="text for people; github for workflow annotations (the text report also goes to stderr and the job summary); json for tools.",
)
def validate(root: Path, fmt: str) -> None:
    """Validate campaigns/ and policies/: every error with file:line:col, then a count."""
    from engine.diagnostics import render_github, render_json, render_text

    stage = "load"
    try:
        from engine.compiler import link_config

        stage = "link"
        result = link_config(root)
        stage = "render"
        diagnostics = result.diagnostics
        if fmt == "json":
            click.echo(render_json(diagnostics), nl=False)
        elif fmt == "github":
            text = render_text(diagnostics, result.sources, root=root)
            click.echo(render_github(diagnostics), nl=False)
            click.echo(text, nl=False, err=True)
            summary = os.environ.get("GITHUB_STEP_SUMMARY")
            if summary:
                with open(summary, "a", encoding="utf-8") as fh:
                    fh.write(f"### smslink validate\n\n```\n{text}```\n")
        else:
            if diagnostics:
                click.echo(
                    render_text(
                        diagnostics, result.sources, root=root, summary=result.plan is None
                    ),
                    nl=result.plan is not None,
                )
            if result.plan is not None:
                plan = result.plan
                warnings = sum(1 for d in diagnostics if d.severity == "warning")
                infos = len(diagnostics) - warnings
                extra = [
                    f"{n} {word}{'s' * (n != 1)}"
                    for n, word in ((warnings, "warning"), (infos, "note"))
                    if n
                ]
                notes = f" ({', '.join(extra)})" if extra else ""
                click.echo(
                    f"ok: {len(plan.campaigns)} campaign{'s' * (len(plan.campaigns) != 1)}, "
                    f"{len(plan.policies)} bot polic{'ies' if len(plan.policies) != 1 else 'y'}, "
                    f"{len(plan.endpoints)} webhook endpoint{'s' * (len(plan.endpoints) != 1)}, "
                    f"{len(plan.storesets)} store list{'s' * (len(plan.storesets) != 1)}{notes}"
                )
    except Exception as exc:  # the one place a bug is turned into a message
        internal_error(stage, exc)
    sys.exit(0 if result.plan is not None else 1)


@click.command("schema")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write to this file instead of stdout.",
)
def schema(out: Path | None) -> None:
    """Print the JSON Schema of campaign and policy files (for yaml-language-server)."""
    from engine.spec import config_schema_json

    text = config_schema_json()
    if out is None:
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
