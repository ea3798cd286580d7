"""`smslink review` on real git repositories: revisions, exit codes, errors, audiences (issue 8)."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from engine.cli import main

pytestmark = pytest.mark.e2e
REPOS = Path(__file__).resolve().parents[2] / "golden" / "review" / "repos"


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), "-c", "user.email=ci@example.com", "-c", "user.name=ci", *args],
                          capture_output=True, text=True, check=True).stdout.strip()


def _repo(tmp_path: Path, case: str, sub: str = "") -> tuple[Path, str, str]:
    """A git repository whose first commit is <case>/base and second <case>/head (under ``sub``)."""
    repo = tmp_path / "repo"
    root = repo / sub if sub else repo
    commits = []
    for side in ("base", "head"):
        if root.exists():
            for child in ("campaigns", "policies", "stores"):
                shutil.rmtree(root / child, ignore_errors=True)
        shutil.copytree(REPOS / case / side, root, dirs_exist_ok=True)
        if not (repo / ".git").exists():
            _git(repo, "init", "-q", "-b", "main")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", side)
        commits.append(_git(repo, "rev-parse", "HEAD"))
    return root, commits[0], commits[1]


def _review(root: Path, *args: str):
    return CliRunner().invoke(main, ["review", *args, "--root", str(root)])


def test_no_change_exits_0_with_detailed_exitcode(tmp_path):
    root, base, head = _repo(tmp_path, "no-change")
    res = _review(root, base, head, "--detailed-exitcode")
    assert res.exit_code == 0, res.output
    assert "No change for recipients" in res.output


def test_changes_exit_2_and_the_work_tree_is_the_default_head(tmp_path):
    root, base, head = _repo(tmp_path, "route-new-domain")
    res = _review(root, base, head, "--detailed-exitcode", "--format", "json")
    assert res.exit_code == 2, res.output
    data = json.loads(res.output)
    assert data["changed"] and data["risks"] == {"new-domain": 1}
    assert data["base"].endswith(f"({base[:7]})") or data["base"] == base
    # without --detailed-exitcode, changes are a success
    assert _review(root, base, head).exit_code == 0
    # HEAD defaults to the work tree: an uncommitted edit is reviewed too
    path = root / "campaigns" / "spring-sale.yaml"
    path.write_text(path.read_text().replace("printemps-2027", "printemps-2028"))
    res = _review(root, head, "--format", "text")
    assert "work tree" in res.output and "printemps-2028" in res.output


def test_config_in_a_subfolder_of_the_repository(tmp_path):
    root, base, head = _repo(tmp_path, "message-segments-opt-out", sub="config")
    res = _review(root, base, head, "--format", "markdown", "--detailed-exitcode")
    assert res.exit_code == 2 and "opt-out wording dropped" in res.output


def test_a_head_that_does_not_compile_is_a_review_error(tmp_path):
    root, base, _ = _repo(tmp_path, "no-change")
    path = root / "campaigns" / "spring-sale.yaml"
    path.write_text(path.read_text().replace("  - id: ios-app\n    when: { device: ios }",
                                             "  - id: ios-app\n    when: { contry: US }"))
    out = tmp_path / "review.md"
    res = _review(root, base, "--format", "markdown", "--out", str(out), "--detailed-exitcode")
    assert res.exit_code == 1
    text = out.read_text()
    assert text.startswith("<!-- smslink-review -->") and "does not compile" in text
    assert "campaigns/spring-sale.yaml:" in text and "contry" in text
    assert "Traceback" not in res.output


def test_an_unknown_revision_is_a_clear_error(tmp_path):
    root, _, head = _repo(tmp_path, "no-change")
    res = _review(root, "no-such-branch", head)
    assert res.exit_code == 1
    assert "'no-such-branch' is not a git revision" in res.output and "Traceback" not in res.output


def test_with_the_audience_counts_recipients_whose_destination_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("SMSLINK_RECIPIENT_KEY", "review-e2e-key")
    repo = tmp_path / "repo"
    shutil.copytree(REPOS / "route-new-domain" / "base", repo)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "base")
    base = _git(repo, "rev-parse", "HEAD")
    path = repo / "campaigns" / "spring-sale.yaml"
    path.write_text(path.read_text().replace("default: https://www.acme.example/spring?",
                                             "default: https://www.acme.example/spring-v2?"))
    audience = tmp_path / "spring.csv"
    gen = CliRunner().invoke(main, ["audience", "generate", "--count", "120", "--out", str(audience),
                                    "--with-attributes"])
    assert gen.exit_code == 0, gen.output
    with audience.open() as fh:
        rows = list(csv.DictReader(fh))
        phones = [r["phone"] for r in rows]
        expected = sum(1 for r in rows if r["tier"] not in {"gold", "platinum"})
    assert 0 < expected < 120
    res = _review(repo, base, "--audience", f"spring={audience}", "--format", "json")
    assert res.exit_code == 0, res.output
    (campaign,) = json.loads(res.output)["campaigns"]
    assert campaign["audience"] == {"recipients_before": 120, "recipients_after": 120, "added": 0,
                                    "removed": 0, "destination_changed": expected}
    text = _review(repo, base, "--audience", f"spring={audience}").output
    assert f"{expected} recipients sent somewhere else" in text
    assert not any(p in text for p in phones) and not any(r["customer_id"] in text for r in rows)
    assert not list(tmp_path.rglob("manifest.csv"))
    bad = _review(repo, base, "--audience", "spring")
    assert bad.exit_code == 1 and "expected NAME=PATH" in bad.output
