"""Golden files of the error report for each broken fixture repository.

Each folder under repos/ is a small real config tree with one kind of mistake.
The rendered text report is compared byte for byte with the golden file in
__snapshots__/. To regenerate after an intended change:

    .venv/bin/pytest tests/golden/errors --snapshot-update

and review the diff of the golden file like code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.compiler._link import link_config
from engine.diagnostics import render_github, render_text

REPOS = Path(__file__).parent / "repos"
CASES = sorted(p.name for p in REPOS.iterdir() if p.is_dir())


@pytest.mark.parametrize("case", CASES)
def test_error_report(case: str, snapshot) -> None:
    result = link_config(REPOS / case)
    assert result.plan is None, "a broken fixture must not link"
    assert result.errors
    assert render_text(result.diagnostics, result.sources) == snapshot


def test_github_annotations_for_one_case(snapshot) -> None:
    result = link_config(REPOS / "unknown-condition")
    assert render_github(result.diagnostics) == snapshot


def test_every_case_is_a_distinct_mistake() -> None:
    codes = {case: frozenset(d.code for d in link_config(REPOS / case).errors) for case in CASES}
    assert len(CASES) >= 8
    assert len(set(codes.values())) == len(CASES), codes
