"""Invariant 1: no phone number in any format outside the manifest (snapshot bytes, stdout, stderr, files)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import run

pytestmark = pytest.mark.e2e


def formats(e164: str) -> set[str]:
    """Every common way of writing a NANP number: E.164, digits, national, spaced, dashed."""
    assert e164.startswith("+1") and len(e164) == 12
    npa, nxx, line = e164[2:5], e164[5:8], e164[8:]
    return {
        e164, e164[1:], f"{npa}{nxx}{line}", f"({npa}) {nxx}-{line}", f"{npa}-{nxx}-{line}",
        f"{npa} {nxx} {line}", f"{npa}.{nxx}.{line}", f"+1 {npa} {nxx} {line}", f"+1-{npa}-{nxx}-{line}",
        f"1 {npa} {nxx} {line}", f"1-{npa}-{nxx}-{line}",
    }


def test_no_phone_number_outside_the_manifest(repo: Path, tmp_path: Path) -> None:
    out = tmp_path / "build"
    aud = repo.parent / "audiences"
    env = {"SMSLINK_RECIPIENT_KEY": "pii-test-key"}
    # hashed recipient ids too: drop the contact id of one campaign
    f = repo / "campaigns" / "flu-shots.yaml"
    f.write_text(f.read_text().replace("  contact-id: patient_ref\n", ""))
    args = ["compile", "--root", str(repo), "--audience", f"spring={aud / 'spring.csv'}",
            "--audience", f"patients={aud / 'patients.csv'}", "--out", str(out)]
    outputs = []
    for fmt in ("text", "json"):
        proc = run(*args, "--format", fmt, cwd=repo, env=env)
        assert proc.returncode == 0, proc.stderr
        outputs += [proc.stdout, proc.stderr]
    manifest = out / "manifest.csv"
    with manifest.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    numbers = {r["phone_e164"] for r in rows}
    assert len(numbers) >= 300  # the search below has something to find
    tokens = [r["link"].rsplit("/", 1)[1] for r in rows[:20]]
    snap = out / "snapshot.lmdb"
    for args2 in (["inspect", str(snap)], ["inspect", str(snap), "--format", "json"]):
        proc = run(*args2, cwd=repo)
        outputs += [proc.stdout, proc.stderr]
    for token in tokens:
        proc = run("lookup", str(snap), token, "--format", "json", cwd=repo)
        assert proc.returncode == 0
        outputs += [proc.stdout, proc.stderr]
    blobs = {f"output {i}": o.encode() for i, o in enumerate(outputs)}
    for path in out.rglob("*"):
        if path.is_file() and path != manifest:
            blobs[str(path)] = path.read_bytes()
    assert str(snap) in blobs
    needles = {fmt.encode() for n in numbers for fmt in formats(n)}
    leaks = [(where, n) for where, blob in blobs.items() for n in needles if n in blob]
    assert leaks == []
    # and the search does find them where they belong
    text = manifest.read_bytes()
    assert all(n.encode() in text for n in numbers)
