"""``smslink validate`` / ``smslink schema``: exit codes, formats, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine import __version__
from engine.cli import main
from engine.spec import config_schema_json

ROOT = Path(__file__).resolve().parents[3]
REPOS = Path(__file__).parent / "repos"


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def test_valid_repository_exits_0_with_a_summary() -> None:
    result = run("validate", "--root", str(ROOT))
    assert result.exit_code == 0, result.output
    assert (
        "ok: 2 campaigns, 1 bot policy, 1 webhook endpoint, 1 store list (1 note)" in result.output
    )
    assert "info E412" in result.output  # notes are shown, not fatal


def test_invalid_repository_exits_1_with_the_text_report() -> None:
    result = run("validate", "--root", str(REPOS / "unknown-condition"))
    assert result.exit_code == 1
    assert result.output.startswith(
        'campaigns/spring-sale.yaml:16:13: error E204: unknown condition "contry"'
    )
    assert result.output.rstrip().endswith("1 error in 1 file")
    assert "Traceback" not in result.output


def test_github_format_annotates_and_keeps_the_text_report(tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    result = CliRunner().invoke(
        main,
        ["validate", "--root", str(REPOS / "duplicate-key"), "--format", "github"],
        env={"GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert result.exit_code == 1
    assert result.stdout.startswith("::error file=campaigns/spring-sale.yaml,line=5,col=1,")
    assert "error E102: duplicate key" in result.stderr
    assert "error E102" in summary.read_text()


def test_json_format_is_machine_readable() -> None:
    result = run("validate", "--root", str(REPOS / "duplicate-campaign-id"), "--format", "json")
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert doc["errors"] == 1 and doc["diagnostics"][0]["code"] == "E301"


def test_internal_failure_is_reported_as_a_bug_with_exit_3(monkeypatch: pytest.MonkeyPatch) -> None:
    import engine.compiler as link

    def boom(root: Path, **_: object) -> None:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(link, "link_config", boom)
    result = run("validate", "--root", str(ROOT))
    assert result.exit_code == 3
    assert "this is a bug in the engine" in result.stderr
    assert "stage: link" in result.stderr and f"smslink {__version__}" in result.stderr
    assert "Traceback" not in result.output


def test_schema_command_prints_the_committed_schema(tmp_path: Path) -> None:
    result = run("schema")
    assert result.exit_code == 0
    assert result.output == config_schema_json()
    out = tmp_path / "s.json"
    assert run("schema", "--out", str(out)).exit_code == 0
    assert out.read_text() == result.output
