"""Fixtures of the analytics tests: the hand-computed report fixture, built once per session."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "golden" / "report"))

import report_fixture

from engine.analytics import ReportOptions, build_report


@pytest.fixture(scope="session")
def fixture_paths(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return report_fixture.build(tmp_path_factory.mktemp("report-fixture"))


@pytest.fixture(scope="session")
def fixture_report(fixture_paths):
    snap, logs = fixture_paths
    rep = build_report(ReportOptions(logs=str(logs), snapshot=str(snap)))
    yield rep
    rep.close()
