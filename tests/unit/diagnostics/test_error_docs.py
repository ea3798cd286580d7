"""docs/errors.md documents every error code the engine uses, and no other."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def codes_in_engine() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "engine").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r"[\"'](E[1-9]\d\d)[\"']", text))
        found |= set(re.findall(r"\berror (E9\d\d)\b", text))
    return found


def codes_in_docs() -> set[str]:
    return set(
        re.findall(
            r"^### (E\d{3})$", (ROOT / "docs" / "errors.md").read_text(encoding="utf-8"), re.M
        )
    )


def test_every_code_is_documented() -> None:
    missing = codes_in_engine() - codes_in_docs()
    assert not missing, f"add these codes to docs/errors.md: {sorted(missing)}"


def test_every_documented_code_is_used() -> None:
    stale = codes_in_docs() - codes_in_engine()
    assert not stale, f"these codes are documented but no longer used: {sorted(stale)}"


def test_codes_are_in_their_stage_ranges() -> None:
    assert all(re.fullmatch(r"E[1-49]\d\d", c) for c in codes_in_engine())
