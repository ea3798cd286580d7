"""The send manifest: owner-only, all or nothing, refused where git could commit it."""

from __future__ import annotations

import csv
import os
import stat
from pathlib import Path

import pytest

from engine.compiler import _manifest
from engine.compiler._manifest import (
    COLUMNS,
    ManifestError,
    ManifestWriter,
    check_location,
    csv_field,
)


def test_rows_appear_only_after_commit(tmp_path: Path) -> None:
    path = tmp_path / "out" / "manifest.csv"
    w = ManifestWriter(path, check=False)
    w.add("C1", "+12125550101", 'Hi, "you" https://x.example/AbCd', "https://x.example/AbCd", "spring", "a")
    w.add_lines(["C2,+12125550102," + csv_field("a,b") + ",https://x.example/EfGh,spring,\n"])
    assert not path.exists()
    temps = list(path.parent.iterdir())
    assert len(temps) == 1 and stat.S_IMODE(temps[0].stat().st_mode) == 0o600
    w.commit()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == list(COLUMNS)
    assert rows[1] == ["C1", "+12125550101", 'Hi, "you" https://x.example/AbCd', "https://x.example/AbCd", "spring", "a"]
    assert rows[2] == ["C2", "+12125550102", "a,b", "https://x.example/EfGh", "spring", ""]
    assert w.rows == 2


def test_abort_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "manifest.csv"
    with pytest.raises(RuntimeError), ManifestWriter(path, check=False) as w:
        w.add("C1", "+12125550101", "m", "l", "c", "")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("value", "field"),
    [("C1", "C1"), ("a,b", '"a,b"'), ('say "x"', '"say ""x"""'), ("two\nlines", '"two\nlines"'),
     (" padded", '" padded"')],
    ids=["plain", "comma", "quote", "newline", "leading space"],
)
def test_csv_field(value: str, field: str) -> None:
    assert csv_field(value) == field


def test_without_git_a_work_tree_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".git").mkdir()
    monkeypatch.setattr(_manifest.shutil, "which", lambda name: None)
    with pytest.raises(ManifestError, match="git is not installed"):
        check_location(tmp_path / "build" / "manifest.csv")
    check_location(tmp_path.parent / "elsewhere" / "manifest.csv")  # outside: fine
