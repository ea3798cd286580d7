"""The ``smslink`` command. The only place in the engine that prints or exits.

Subcommands live in one module each (``_validate.py``, ``_serve.py`` ...) and
are imported only when invoked, so ``smslink serve`` never pays for the
compile side's imports and a broken optional part cannot break ``--help``.
"""

from __future__ import annotations

import importlib

import click

from engine import __version__

# command name -> (module, attribute, one-line help shown by `smslink --help`)
_COMMANDS: dict[str, tuple[str, str, str]] = {
    "validate": ("engine.cli._validate", "validate", "Validate campaigns/ and policies/."),
    "schema": ("engine.cli._validate", "schema", "Print the JSON Schema of the config language."),
    "compile": ("engine.cli._compile", "compile_cmd", "Compile config + audiences into a snapshot and a send manifest."),
    "inspect": ("engine.cli._compile", "inspect", "Show a snapshot's meta, counts and campaigns."),
    "lookup": ("engine.cli._compile", "lookup", "Show one token's record (never a phone number)."),
    "audience": ("engine.cli._compile", "audience", "Generate fictional audiences for demos and benchmarks."),
    "serve": ("engine.cli._serve", "serve", "Run the redirect worker (Granian, RSGI)."),
    "explain": ("engine.cli._explain", "explain", "Explain how a click on a token would be routed and judged."),
    "bots": ("engine.cli._bots", "bots", "Classify requests and re-judge click logs under a bot policy."),
    "report": ("engine.cli._report", "report", "Bot-filtered analytics from click logs."),
    "sql": ("engine.cli._report", "sql", "Ad-hoc SQL (DuckDB) over click logs."),
    "logs": ("engine.cli._logs", "logs", "Click-log housekeeping: Parquet copies for fast reports."),
    "dispatch": ("engine.cli._dispatch", "dispatch", "Deliver click events as signed webhooks."),
    "review": ("engine.cli._review", "review", "Compliance review of what a change does for recipients."),
    "publish": ("engine.cli._publish", "publish", "Publish a snapshot and swap the current pointer."),
    "rollback": ("engine.cli._publish", "rollback", "Point current back at an earlier published snapshot."),
    "versions": ("engine.cli._publish", "versions", "List published snapshots."),
    "pull": ("engine.cli._publish", "pull", "Copy the published snapshot to a file (before compile --previous)."),
    "mirror": ("engine.cli._publish", "mirror", "Keep a local publish folder in step with s3://bucket/prefix."),
}


class _LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = _COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, attr, _ = entry
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            return _missing(cmd_name, entry[2])
        return getattr(module, attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Short help without importing every module.
        rows = [(name, _COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _missing(name: str, help_text: str) -> click.Command:
    @click.command(name=name, help=help_text + " (not built yet)")
    def _cmd() -> None:
        raise click.ClickException(f"`smslink {name}` is not part of this build yet")

    return _cmd


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="smslink")
def main() -> None:
    """smslink: SMS link tracking as config-as-code.

    Opaque per-recipient tokens, click-time routing, bot-filtered analytics,
    signed webhooks. Config lives in campaigns/ and policies/; PII never does.
    """
