"""A bot policy the classifier cannot compile never reaches a snapshot (E331)."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.compiler._link import load_plan
from engine.diagnostics import DiagnosticsError

POLICY = """\
kind: bots
id: default
signals:
  - kind: user-agent
    list: http-libraries
    verdict: bot
    reason: ua-http-library
    remove: [{entry}]
"""


def _repo(tmp_path: Path, entry: str) -> Path:
    (tmp_path / "policies").mkdir()
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "policies" / "bots.yaml").write_text(POLICY.format(entry=entry))
    return tmp_path


def test_removing_a_curated_entry_that_does_not_exist_is_an_error_at_the_policy(tmp_path):
    with pytest.raises(DiagnosticsError) as info:
        load_plan(_repo(tmp_path, "curll"))
    [diag] = info.value.diagnostics
    assert diag.code == "E331"
    assert diag.span.path == "policies/bots.yaml"
    assert diag.span.line == 2
    assert "curll" in diag.summary


def test_removing_a_real_entry_compiles(tmp_path):
    plan = load_plan(_repo(tmp_path, "curl"))
    assert [p.id for p in plan.policies] == ["default"]
