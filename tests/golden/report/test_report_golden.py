"""Golden files of `smslink report` over the hand-computed fixture (report_fixture.py).

The table, JSON and CSV outputs (k = 5, stream re-judging on) are kept in
__snapshots__/. To regenerate after an intended change, and review the diff:

    .venv/bin/pytest tests/golden/report --snapshot-update
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent))

import report_fixture

from engine.cli import main


@pytest.fixture(scope="module")
def fixture_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("golden-report")
    report_fixture.build(root)
    return root


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
def test_report_output(fmt, fixture_dir, snapshot, monkeypatch):
    monkeypatch.chdir(fixture_dir)  # relative paths only: no absolute path in the output
    result = CliRunner().invoke(main, ["report", "--logs", "clicks", "--snapshot", "snapshot.lmdb", "--format", fmt])
    assert result.exit_code == 0, result.output
    if fmt == "json":
        data = json.loads(result.stdout)
        assert data["campaigns"][0]["unique_human_clickers"] == report_fixture.EXPECTED["spring"]["clickers"]
    assert result.stdout == snapshot
