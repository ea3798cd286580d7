"""A secret pasted into secret-env is located but never echoed (issue 7: CI logs are shared)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main

SECRET = "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0"


@pytest.mark.parametrize("fmt", ["text", "github", "json"])
def test_pasted_secret_is_located_not_quoted(tmp_path: Path, fmt: str):
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "webhooks.yaml").write_text(
        "kind: webhooks\nendpoints:\n  - name: crm\n    url: https://hooks.example/x\n"
        f"    secret-env: {SECRET}\n"
    )
    result = CliRunner().invoke(main, ["validate", "--root", str(tmp_path), "--format", fmt])
    assert result.exit_code == 1
    out = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert "policies/webhooks.yaml" in out and "E207" in out
    assert SECRET not in out
    assert SECRET[6:20] not in out


def test_other_fields_are_still_quoted(tmp_path: Path):
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "webhooks.yaml").write_text(
        "kind: webhooks\nendpoints:\n  - name: crm\n    url: ftp://hooks.example/x\n"
        "    secret-env: CRM_SECRET\n"
    )
    result = CliRunner().invoke(main, ["validate", "--root", str(tmp_path)])
    assert result.exit_code == 1
    assert "url: ftp://hooks.example/x" in result.output
