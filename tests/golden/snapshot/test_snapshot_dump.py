"""Golden file: the canonical text dump of a compiled fixture snapshot.

The fixture repository (repo/: campaigns, policies, stores, and two fictional
audiences) is compiled with a fixed recipient key, clock and token seed, then
dumped one record per line, sorted by key, as sorted-key JSON. Regenerate with
``make golden-update`` and review the diff of __snapshots__/ like code.

What the build stage produces is dumped in full (campaign records, every token
record, manifest rows without the numbers, the per-campaign summary). Records
other stages own are summarized (store sets: ids and stores; bot policies: id
and signal kinds), and the meta record's checksum and version, which change
with any byte of them, are checked for shape only, so a change in routing's
spatial index or in a bot signal does not rewrite this file.
"""

from __future__ import annotations

import csv
import random
import re
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from engine.compiler._build import BuildOptions, compile_plan
from engine.compiler._link import load_plan
from engine.snapshot import open_snapshot

REPO = Path(__file__).parent / "repo"
CLOCK = datetime(2027, 2, 20, 9, 0, tzinfo=UTC)


def _json(obj: object) -> str:
    return msgspec.json.encode(msgspec.to_builtins(obj, str_keys=True), order="sorted").decode()


def dump(snapshot: Path, manifest: Path) -> str:
    lines = []
    with open_snapshot(snapshot, verify=True) as snap:
        meta = msgspec.to_builtins(snap.meta)
        assert re.fullmatch(r"[0-9a-f]{64}", meta.pop("checksum"))
        assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{12}", meta.pop("version"))
        lines.append("m:meta " + _json(meta))
        for i, c in enumerate(snap.campaigns):
            lines.append(f"c:{i:06d} " + _json(c))
        for pid, pol in sorted(snap.policies.items()):
            lines.append(f"p:{pid} " + _json({"id": pol.id, "signals": [x.kind for x in pol.signals]}))
        for sid, ss in sorted(snap.storesets.items()):
            lines.append(f"s:{sid} " + _json({"id": ss.id, "source": ss.source,
                                              "stores": [st.id for st in ss.stores]}))
        for name in sorted(snap.endpoints):
            lines.append(f"e:{name} " + _json(snap.endpoints[name]))
        for token, rec in snap.iter_tokens():
            lines.append(f"t:{token} " + _json(rec))
    lines.sort()  # key order, as in the LMDB file
    rows = []
    with manifest.open(newline="") as fh:
        for row in csv.DictReader(fh):
            row.pop("phone_e164")  # fictional, but the golden file has no use for numbers
            rows.append("manifest " + _json(row))
    header = ["# canonical dump of tests/golden/snapshot/repo compiled with a fixed key, clock and seed;",
              "# regenerate with `make golden-update` and review the diff like code"]
    return "\n".join(header + lines + sorted(rows)) + "\n"


def test_compiled_fixture_snapshot(tmp_path: Path, snapshot) -> None:
    plan = load_plan(REPO, config_commit="0123456789abcdef0123456789abcdef01234567")
    result = compile_plan(plan, BuildOptions(
        out=tmp_path / "build",
        audiences={"spring": REPO / "audiences" / "spring.csv",
                   "patients": REPO / "audiences" / "patients.csv"},
        recipient_key=b"golden-test-key",
        clock=CLOCK,
        randbytes=random.Random(2027).randbytes,
        engine_version="golden",
        check_git=False,
    ))
    assert result.meta.built_at == "2027-02-20T09:00:00Z"
    summary = ["summary " + _json(c.to_dict()) for c in result.campaigns]
    assert dump(result.snapshot, result.manifest) + "\n".join(summary) + "\n" == snapshot
