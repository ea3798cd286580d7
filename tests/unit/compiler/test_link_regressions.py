"""Inputs that once crashed the link stage; each is now a located error."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from engine.compiler._link import load_plan
from engine.diagnostics import DiagnosticsError

ROOT = Path(__file__).resolve().parents[3]


def test_destination_with_a_stray_bracket_in_the_host_is_e326(tmp_path):
    """Found by tests/unit/compiler/test_link_fuzz.py: urlsplit raised ValueError."""
    for folder in ("campaigns", "policies", "stores"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    path = tmp_path / "campaigns" / "spring-sale.yaml"
    text = path.read_text()
    assert "to: https://apps.apple.com/" in text
    path.write_text(text.replace("to: https://apps.apple.com/", "to: https://[apps.apple.com/"))
    with pytest.raises(DiagnosticsError) as info:
        load_plan(tmp_path)
    [diag] = [d for d in info.value.diagnostics if d.severity == "error"]
    assert diag.code == "E326"
    assert diag.span.path == "campaigns/spring-sale.yaml"
    line = text.splitlines()[diag.span.line - 1]
    assert "apps.apple.com" in line
