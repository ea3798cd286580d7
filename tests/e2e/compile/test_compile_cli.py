"""`smslink compile / inspect / lookup / audience generate` as a user runs them: exit codes and output."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run

pytestmark = pytest.mark.e2e


def compile_args(repo: Path, out: Path, *extra: str) -> list[str]:
    aud = repo.parent / "audiences"
    return ["compile", "--root", str(repo), "--audience", f"spring={aud / 'spring.csv'}",
            "--audience", f"patients={aud / 'patients.csv'}", "--out", str(out), *extra]


def test_compile_inspect_lookup(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "build"
    proc = run(*compile_args(repo, out), cwd=repo)
    assert proc.returncode == 0, proc.stderr
    assert "compiled 2 campaign(s)" in proc.stdout and "300 recipients" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == ["manifest.csv", "snapshot.lmdb"]

    inspect = run("inspect", str(out / "snapshot.lmdb"), cwd=repo)
    assert inspect.returncode == 0 and "checksum ok" in inspect.stdout
    assert "campaign spring-sale" in inspect.stdout

    with (out / "manifest.csv").open(newline="") as fh:
        row = next(csv.DictReader(fh))
    token = row["link"].rsplit("/", 1)[1]
    found = run("lookup", str(out / "snapshot.lmdb"), token, "--format", "json", cwd=repo)
    assert found.returncode == 0, found.stderr
    doc = json.loads(found.stdout)
    assert doc["recipient_id"] == row["recipient_id"] and doc["campaign"] == row["campaign"]
    assert row["phone_e164"] not in found.stdout

    missing = run("lookup", str(out / "snapshot.lmdb"), "zzzzzzzz", cwd=repo)
    assert missing.returncode == 1 and "no such token" in missing.stderr
    assert "Traceback" not in missing.stderr

    again = run(*compile_args(repo, out, "--format", "json"), cwd=repo)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert all(c["new_tokens"] == 0 for c in summary["campaigns"])
    assert summary["previous"].endswith("snapshot.lmdb")


@pytest.mark.parametrize(
    "case",
    ["invalid config", "unbound audience", "missing audience file", "no recipient key",
     "previous not a snapshot", "bad --audience syntax"],
)
def test_user_errors_exit_1_and_write_nothing(repo: Path, tmp_path: Path, case: str) -> None:
    out = tmp_path / "build"
    args = compile_args(repo, out)
    env: dict[str, str] = {}
    if case == "invalid config":
        f = repo / "campaigns" / "spring-sale.yaml"
        f.write_text(f.read_text().replace("brand: Acme Outdoor", "brand: Acme Outdoor\nbrnd: typo"))
    elif case == "unbound audience":
        args = [*args[:5], "--out", str(out)]
    elif case == "missing audience file":
        args[4] = f"spring={tmp_path / 'nope.csv'}"
    elif case == "no recipient key":
        f = repo / "campaigns" / "flu-shots.yaml"
        f.write_text(f.read_text().replace("  contact-id: patient_ref\n", ""))
    elif case == "previous not a snapshot":
        bad = tmp_path / "old.lmdb"
        bad.write_text("x" * 100_000)
        args += ["--previous", str(bad)]
    elif case == "bad --audience syntax":
        args[4] = "spring"
    proc = run(*args, cwd=repo, env=env)
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and proc.stderr.strip()
    assert not out.exists() or list(out.iterdir()) == []
    if case == "invalid config":
        assert "campaigns/spring-sale.yaml:" in proc.stderr and "error E" in proc.stderr
    if case == "no recipient key":
        assert "SMSLINK_RECIPIENT_KEY" in proc.stderr
        ok = run(*args, cwd=repo, env={"SMSLINK_RECIPIENT_KEY": "e2e-key"})
        assert ok.returncode == 0, ok.stderr


def test_manifest_refused_in_git_work_tree_unless_ignored(repo: Path) -> None:
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    out = repo / "build"
    refused = run(*compile_args(repo, out), cwd=repo)
    assert refused.returncode == 1 and "git" in refused.stderr and ".gitignore" in refused.stderr
    assert not out.exists()
    (repo / ".gitignore").write_text("/build/\n")
    ok = run(*compile_args(repo, out), cwd=repo)
    assert ok.returncode == 0, ok.stderr
    assert (out / "manifest.csv").exists()


def test_internal_bug_exits_3_without_traceback(repo: Path, tmp_path: Path) -> None:
    """An unexpected exception in the build is reported as an engine bug (exit 3)."""
    code = (
        "import sys, engine.compiler as b\n"
        "def boom(*a, **k): raise ZeroDivisionError('injected')\n"
        "b.compile_plan = boom\n"
        "from engine.cli import main\n"
        "sys.argv = ['smslink'] + sys.argv[1:]\n"
        "main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", code, *compile_args(repo, tmp_path / "b")],
                          cwd=repo, text=True, capture_output=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "error E901: this is a bug in the engine" in proc.stderr and "stage: build" in proc.stderr
    assert "injected" not in proc.stderr  # the message of the exception is not echoed
    assert "Traceback" not in proc.stderr


def test_audience_generate_refuses_a_missing_store_list(tmp_path: Path) -> None:
    proc = run("audience", "generate", "--count", "5", "--with-attributes", "--stores",
               str(tmp_path / "none.csv"), "--out", str(tmp_path / "a.csv"), cwd=tmp_path)
    assert proc.returncode == 1 and "store list not found" in proc.stderr
