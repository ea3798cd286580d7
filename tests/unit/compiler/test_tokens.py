"""Tokens: random over the SMS-safe alphabet, never reissued, stable across recompiles (invariant 2)."""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest
from backhalf_fixtures import CLOCK, KEY, campaign, fictional_numbers, plan, seeded, write_audience
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.compiler._build import BuildOptions, compile_plan
from engine.compiler._tokens import TokenMinter
from engine.snapshot import TOKEN_ALPHABET, open_snapshot


def test_tokens_use_the_alphabet_and_length() -> None:
    minter = TokenMinter(seeded(1))
    taken: set[str] = set()
    for length in (4, 7, 8, 11):
        for _ in range(300):
            t = minter.mint(length, taken)
            assert len(t) == length and set(t) <= set(TOKEN_ALPHABET)
            assert t not in taken
            taken.add(t)


def test_every_symbol_is_used_evenly() -> None:
    """Uniform draws: each of the 55 symbols near 1/55 of 8 x 20,000 characters (loose 25% band)."""
    minter = TokenMinter(seeded(2))
    counts = Counter("".join(minter.mint(8, ()) for _ in range(20_000)))
    expected = 8 * 20_000 / len(TOKEN_ALPHABET)
    assert set(counts) == set(TOKEN_ALPHABET)
    assert all(0.75 * expected < c < 1.25 * expected for c in counts.values())


def test_taken_and_forbidden_tokens_are_drawn_again() -> None:
    first = TokenMinter(seeded(3)).mint(8, ())
    second = TokenMinter(seeded(3))
    assert second.mint(8, {first}) != first
    assert second.redraws == 1
    third = TokenMinter(seeded(3), forbidden={first})
    assert third.mint(8, ()) != first


def test_same_seed_same_tokens_production_source_differs() -> None:
    a = [TokenMinter(seeded(4)).mint(8, ()) for _ in range(3)]
    assert a[0] == a[1] == a[2]
    assert TokenMinter().mint(8, ()) != TokenMinter().mint(8, ())


def test_token_length_outside_range_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        TokenMinter().mint(3, ())


# ----------------------------------------------------------------- property
# A small world: three campaigns, twelve recipients with contact ids. Each step
# edits it, then recompiles against the previous snapshot.
NUMBERS = fictional_numbers(12, seed=11)
RIDS = [f"R{i:02d}" for i in range(12)]
CAMPAIGNS = ("alpha", "beta", "gamma")
DAY = 86_400


def _op() -> st.SearchStrategy[tuple]:
    return st.one_of(
        st.tuples(st.just("add"), st.sampled_from(CAMPAIGNS), st.integers(0, 11)),
        st.tuples(st.just("remove"), st.sampled_from(CAMPAIGNS), st.integers(0, 11)),
        st.tuples(st.just("add-campaign"), st.sampled_from(CAMPAIGNS)),
        st.tuples(st.just("drop-campaign"), st.sampled_from(CAMPAIGNS)),
        st.tuples(st.just("edit"), st.sampled_from(CAMPAIGNS), st.integers(0, 3)),
        st.tuples(st.just("wait"), st.integers(1, 40)),
    )


def _compile(root: Path, step: int, world: dict, clock_days: int, rng_seed: int) -> Path:
    out = root / f"out{step}"
    cps = []
    audiences = {}
    for cid in sorted(world):
        spec = world[cid]
        members = sorted(spec["members"])
        path = write_audience(root / f"{cid}-{step}.csv", [NUMBERS[i] for i in members],
                              ids=[RIDS[i] for i in members])
        audiences[cid] = path
        cps.append(campaign(
            cid, audience=cid, retain_until=int((CLOCK + timedelta(days=spec["retain_days"])).timestamp()),
            message=spec["message"], variants=spec["variants"], token_length=spec["length"],
        ))
    previous = root / f"out{step - 1}" / "snapshot.lmdb" if step > 0 else None
    if not cps:  # a compile needs at least one campaign: keep a quiet placeholder
        audiences["zeta"] = write_audience(root / f"zeta-{step}.csv", [], ids=[])
        cps.append(campaign("zeta", audience="zeta"))
    compile_plan(plan(*cps), BuildOptions(check_git=False,
        out=out, audiences=audiences, previous=previous, recipient_key=KEY,
        clock=CLOCK + timedelta(days=clock_days), randbytes=random.Random(rng_seed).randbytes,
    ))
    return out / "snapshot.lmdb"


def _meaning(path: Path) -> tuple[dict[str, tuple[str, str]], dict[str, int | None]]:
    with open_snapshot(path, verify=True) as snap:
        ids = [c.id for c in snap.campaigns]
        retain = {c.id: c.retain_until for c in snap.campaigns}
        return {t: (ids[r.campaign], r.recipient) for t, r in snap.iter_tokens()}, retain


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(_op(), min_size=1, max_size=5), seed=st.integers(0, 2**32 - 1))
def test_issued_tokens_never_change_or_move_before_retention(ops: list[tuple], seed: int) -> None:
    world: dict[str, dict] = {
        "alpha": {"members": {0, 1, 2}, "message": "A {{ link }} STOP", "variants": True,
                  "length": 8, "retain_days": 60},
    }
    clock = 0
    ever: dict[str, tuple[str, str]] = {}  # every token ever issued -> what it meant
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        prev = _compile(root, 0, world, clock, seed)
        for step, op in enumerate(ops, start=1):
            kind = op[0]
            if kind == "add" and op[1] in world:
                world[op[1]]["members"].add(op[2])
            elif kind == "remove" and op[1] in world:
                world[op[1]]["members"].discard(op[2])
            elif kind == "add-campaign" and op[1] not in world:
                world[op[1]] = {"members": {1, 3, 5}, "message": "{{ link }}", "variants": False,
                                "length": 6, "retain_days": 20 + 10 * len(world)}
            elif kind == "drop-campaign":
                world.pop(op[1], None)
            elif kind == "edit" and op[1] in world:
                spec = world[op[1]]
                if op[2] == 0:
                    spec["message"] += " now"
                elif op[2] == 1:
                    spec["variants"] = not spec["variants"]
                elif op[2] == 2:
                    spec["length"] = 7 if spec["length"] != 7 else 9
                else:
                    spec["retain_days"] += 15
            elif kind == "wait":
                clock += op[1]
            before, before_retain = _meaning(prev)
            cur = _compile(root, step, world, clock, seed + step)
            after, _ = _meaning(cur)
            now = int((CLOCK + timedelta(days=clock)).timestamp())
            for token, (cid, rid) in before.items():
                if cid in world:  # retention as configured now
                    spec = world[cid]
                    retain: int | None = int((CLOCK + timedelta(days=spec["retain_days"])).timestamp())
                    active = rid == "" or rid in {RIDS[i] for i in spec["members"]}
                else:  # removed from config: the retention it was compiled with
                    retain, active = before_retain[cid], False
                if active or retain is None or now < retain:
                    # Invariant 2: still resolves, to the same campaign and recipient.
                    assert after.get(token) == (cid, rid), (op, token)
            for token, meaning in after.items():
                # A token never changes meaning, even one forgotten long ago.
                assert ever.setdefault(token, meaning) == meaning, (op, token)
                # One token per (campaign, recipient) at any time.
            pairs = Counter(m for m in after.values())
            assert all(n == 1 for n in pairs.values())
            # Active recipients of live campaigns all have a token, holdout or not.
            for cid, spec in world.items():
                have = {r for (c, r) in after.values() if c == cid and r}
                assert {RIDS[i] for i in spec["members"]} <= have
            prev = cur


def test_retired_recipient_keeps_token_then_is_forgotten(tmp_path: Path) -> None:
    retain = int((CLOCK + timedelta(days=10)).timestamp())
    numbers = fictional_numbers(3, seed=2)
    a1 = write_audience(tmp_path / "a1.csv", numbers, ids=["R1", "R2", "R3"])
    a2 = write_audience(tmp_path / "a2.csv", numbers[:2], ids=["R1", "R2"])
    cp = campaign(retain_until=retain)

    def build(out: str, aud: Path, days: int, previous: Path | None) -> dict:
        compile_plan(plan(cp), BuildOptions(check_git=False,
            out=tmp_path / out, audiences={"spring": aud}, previous=previous, recipient_key=KEY,
            clock=CLOCK + timedelta(days=days), randbytes=seeded(days)))
        with open_snapshot(tmp_path / out / "snapshot.lmdb") as snap:
            return {r.recipient: (t, r.retired) for t, r in snap.iter_tokens()}

    first = build("o1", a1, 0, None)
    second = build("o2", a2, 1, tmp_path / "o1" / "snapshot.lmdb")
    assert second["R3"] == (first["R3"][0], True)
    assert second["R1"] == (first["R1"][0], False)
    back = build("o3", a1, 2, tmp_path / "o2" / "snapshot.lmdb")
    assert back["R3"] == (first["R3"][0], False)  # re-added before retention: same token again
    gone = build("o4", a2, 11, tmp_path / "o3" / "snapshot.lmdb")
    assert "R3" not in gone  # past retention: forgotten
    assert gone["R1"] == first["R1"]  # active recipients keep theirs regardless


def test_ledger_accepts_a_publish_folder(tmp_path: Path) -> None:
    from engine.snapshot import publish_snapshot

    aud = write_audience(tmp_path / "a.csv", fictional_numbers(5, seed=1))
    compile_plan(plan(), BuildOptions(check_git=False, out=tmp_path / "b1", audiences={"spring": aud},
                                      recipient_key=KEY, clock=CLOCK, randbytes=seeded(1)))
    publish_snapshot(tmp_path / "b1" / "snapshot.lmdb", tmp_path / "srv")
    res = compile_plan(plan(), BuildOptions(check_git=False, out=tmp_path / "b2", audiences={"spring": aud},
                                            previous=tmp_path / "srv", recipient_key=KEY,
                                            clock=CLOCK, randbytes=seeded(2)))
    assert res.campaigns[0].kept_tokens == 5 and res.campaigns[0].new_tokens == 0
    with open_snapshot(tmp_path / "b1" / "snapshot.lmdb") as a, open_snapshot(res.snapshot) as b:
        assert [msgspec.to_builtins(x) for x in a.iter_tokens()] == [msgspec.to_builtins(x) for x in b.iter_tokens()]
