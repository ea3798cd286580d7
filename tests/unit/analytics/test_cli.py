"""`smslink report` and `smslink sql` through click's CliRunner (no subprocess)."""

from __future__ import annotations

import csv
import json

import pytest
import report_fixture as fx
from click.testing import CliRunner

import engine.analytics as analytics
from engine.cli import main


def _run(*args):
    return CliRunner().invoke(main, list(args))


def test_report_writes_html_and_per_recipient(fixture_paths, tmp_path):
    snap, logs = fixture_paths
    html, pr = tmp_path / "r.html", tmp_path / "pr.csv"
    res = _run("report", "--logs", str(logs), "--snapshot", str(snap), "--format", "json",
               "--html", str(html), "--per-recipient", str(pr), "--k", "3")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["k"] == 3
    assert "<svg" in html.read_text() and "Content-Security-Policy" in html.read_text()
    rows = list(csv.DictReader(pr.read_text().splitlines()))
    assert {r["recipient"] for r in rows} >= {"sa01", "sa02", "fu06"}
    assert "recipient ids only" in res.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--since", "yesterday"], "not an ISO 8601 date", id="bad since"),
        pytest.param(["--since", "2027-03-02", "--until", "2027-03-01"], "must be later than --since", id="until before since"),
        pytest.param(["--campaign", "nope"], "campaign nope is neither in the snapshot nor in the logs", id="unknown campaign"),
        pytest.param(["--html", "/nonexistent-dir/r.html"], "does not exist", id="html folder missing"),
    ],
)
def test_report_errors_are_clear(fixture_paths, args, message):
    snap, logs = fixture_paths
    res = _run("report", "--logs", str(logs), "--snapshot", str(snap), *args)
    assert res.exit_code != 0
    assert message in res.output
    assert "Traceback" not in res.output


def test_missing_logs_and_snapshot(tmp_path, fixture_paths):
    snap, logs = fixture_paths
    res = _run("report", "--logs", str(tmp_path / "none"), "--snapshot", str(snap))
    assert res.exit_code == 1 and "no such folder of click logs" in res.output
    res = _run("report", "--logs", str(logs), "--snapshot", str(tmp_path / "none.lmdb"))
    assert res.exit_code == 1 and "no snapshot file here" in res.output


def test_a_corrupt_finished_line_names_the_file_but_not_its_content(tmp_path, fixture_paths):
    snap, _ = fixture_paths
    logs = tmp_path / "clicks"
    logs.mkdir()
    (logs / "clicks-20270301T150000Z-w-1-000001.jsonl").write_text(
        '{"id":"1","ts":1,"kind":"click","status":302,"answer":"redirect","token":"SECRETTOKEN1"\n')
    res = _run("report", "--logs", str(logs), "--snapshot", str(snap))
    assert res.exit_code == 1
    assert "clicks-20270301T150000Z-w-1-000001.jsonl" in res.output
    assert "SECRETTOKEN1" not in res.output and "Traceback" not in res.output


def test_sql_over_the_clicks_view(fixture_paths):
    _, logs = fixture_paths
    res = _run("sql", "--logs", str(logs), "--format", "csv",
               "SELECT verdict, count(*) AS n FROM clicks WHERE kind = 'click' GROUP BY verdict ORDER BY verdict")
    assert res.exit_code == 0, res.output
    rows = dict(r.split(",") for r in res.stdout.splitlines()[1:])
    logged = [e.verdict for e in fx.clicks() if e.kind == "click"]
    assert rows == {v: str(logged.count(v)) for v in sorted(set(logged))}


def test_sql_reports_bad_queries_without_traceback(fixture_paths):
    _, logs = fixture_paths
    res = _run("sql", "--logs", str(logs), "SELECT nope FROM clicks")
    assert res.exit_code == 1 and "query failed" in res.output and "Traceback" not in res.output


def test_public_names_are_exported():
    public = {n for n in dir(analytics) if not n.startswith("_")} - {"annotations"}
    modules = {n for n in public if type(getattr(analytics, n)).__name__ == "module"}
    assert public - modules == set(analytics.__all__)
