"""Fixtures for the compile CLI end-to-end tests: a copy of the golden fixture repo, real processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2] / "golden" / "snapshot" / "repo"
SMSLINK = str(Path(sys.executable).parent / "smslink")


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "SMSLINK_RECIPIENT_KEY"}
    full_env.update(env or {})
    return subprocess.run([SMSLINK, *args], cwd=cwd, env=full_env, text=True, capture_output=True,
                          timeout=120)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """The fixture config repository, copied out of any git work tree, with fresh audiences."""
    root = tmp_path / "repo"
    for part in ("campaigns", "policies", "stores"):
        shutil.copytree(REPO / part, root / part)
    aud = tmp_path / "audiences"
    for name, count, seed, extra in (("spring", 300, 1, []), ("patients", 120, 2, ["--id-column", "patient_ref"])):
        proc = run("audience", "generate", "--count", str(count), "--seed", str(seed), "--with-attributes",
                   "--stores", str(root / "stores" / "acme-stores.csv"), "--out", str(aud / f"{name}.csv"),
                   *extra, cwd=root)
        assert proc.returncode == 0, proc.stderr
    return root
