"""docs/cli.md is generated from the commands' --help and must match the code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.cli import _COMMANDS, main

ROOT = Path(__file__).resolve().parents[3]


def test_cli_reference_is_current():
    proc = subprocess.run([sys.executable, "scripts/gen_cli_docs.py", "--check"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_every_registered_command_loads_and_documents_itself():
    import click

    ctx = click.Context(main)
    for name in _COMMANDS:
        cmd = main.get_command(ctx, name)
        assert cmd is not None, name
        assert "not built yet" not in (cmd.help or ""), f"smslink {name} is a placeholder"
        assert (cmd.help or "").strip(), f"smslink {name} has no help text"
