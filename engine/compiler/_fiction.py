"""Fictional audiences for demos, tests and benchmarks: no real person is ever texted.

Numbers come from the North American 555 exchange, which NANPA keeps out of
subscriber use:

1. ``NPA-555-0100`` to ``NPA-555-0199`` are reserved for fiction (films, books,
   demos) in every area code. They are used first: 100 per US area code, about
   38,000 in all.
2. Larger audiences also use the rest of ``NPA-555-XXXX``: NANPA's 555 lines
   are not assigned to subscribers (a handful are information services, such as
   555-1212 directory assistance, which we skip). They are fictional for our
   purpose and clearly labelled so in docs/compile.md, but unlike 01XX they are
   not reserved for fiction: never send to a generated audience.

(The UK's Ofcom drama range 07700 900000-900999 is fictional too, but
``phonenumbers`` rejects it as invalid, so it cannot stand in for valid numbers.)

Every generated number is valid for ``phonenumbers`` in region US.
"""

from __future__ import annotations

import csv
import random
from functools import cache
from pathlib import Path

import phonenumbers

_SKIP = frozenset({1212, 4334})  # 555-1212 directory assistance, 555-4334 (an assigned service)
_ZONES = (
    "America/New_York", "America/New_York", "America/Chicago", "America/Denver",
    "America/Los_Angeles", "America/Phoenix", "America/Anchorage", "Pacific/Honolulu",
)
_TIERS = ("bronze",) * 6 + ("silver",) * 3 + ("gold", "platinum")
_DEFAULT_STORES = Path("stores/acme-stores.csv")


class FictionError(Exception):
    """The audience cannot be generated as asked."""


@cache
def us_area_codes() -> tuple[int, ...]:
    """US area codes where ``NPA-555-0100`` is a valid number for ``phonenumbers``."""
    codes = []
    for npa in range(200, 1000):
        num = phonenumbers.parse(f"+1{npa}5550100")
        if phonenumbers.is_valid_number(num) and phonenumbers.region_code_for_number(num) == "US":
            codes.append(npa)
    return tuple(codes)


def fictional_numbers(count: int, seed: int) -> list[str]:
    """``count`` distinct fictional US numbers in E.164, reserved 555-01XX lines first."""
    codes = us_area_codes()
    reserved = len(codes) * 100
    rng = random.Random(seed)
    if count <= reserved:
        picks = rng.sample(range(reserved), count)
        return [f"+1{codes[p // 100]}55501{p % 100:02d}" for p in picks]
    lines = [x for x in range(10000) if x // 100 != 1 and x not in _SKIP]
    extra = len(codes) * len(lines)
    if count > reserved + extra:
        raise FictionError(f"at most {reserved + extra:,} fictional numbers can be generated")
    out = [f"+1{c}55501{x:02d}" for c in codes for x in range(100)]
    n_lines = len(lines)
    out += [f"+1{codes[p // n_lines]}555{lines[p % n_lines]:04d}"
            for p in rng.sample(range(extra), count - reserved)]
    rng.shuffle(out)
    return out


def _written(e164: str, style: int) -> str:
    """The number as a CRM might export it (style 0: E.164)."""
    npa, nxx, line = e164[2:5], e164[5:8], e164[8:]
    return (e164, f"({npa}) {nxx}-{line}", f"{npa}-{nxx}-{line}", f"1 {npa} {nxx} {line}",
            f"{npa}{nxx}{line}")[style]


def _store_ids(stores_csv: Path | None) -> list[str]:
    path = stores_csv or _DEFAULT_STORES
    if not path.exists():
        if stores_csv is not None:
            raise FictionError(f"{path}: store list not found")
        return ["store-1", "store-2", "store-3"]
    with path.open(newline="", encoding="utf-8-sig") as fh:
        ids = [row["id"] for row in csv.DictReader(fh) if row.get("id")]
    if not ids:
        raise FictionError(f"{path}: no store ids (an `id` column) found")
    return ids


def generate_audience(
    out: Path,
    count: int,
    *,
    seed: int = 0,
    with_attributes: bool = False,
    id_column: str = "customer_id",
    phone_format: str = "mixed",
    stores_csv: Path | None = None,
) -> str:
    """Write a fictional audience CSV; returns a one-line description of the numbers used."""
    numbers = fictional_numbers(count, seed)
    rng = random.Random(seed + 1)
    stores = _store_ids(stores_csv) if with_attributes else []
    header = ["phone", id_column] + (["tz", "store_id", "tier"] if with_attributes else [])
    out.parent.mkdir(parents=True, exist_ok=True)
    base = rng.randrange(10_000_000, 20_000_000)
    with out.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        rows = []
        for i, e164 in enumerate(numbers):
            if phone_format == "e164":
                phone = e164
            elif phone_format == "national":
                phone = _written(e164, 1)
            else:
                phone = _written(e164, rng.randrange(5))
            row = [phone, f"C{base + i:08d}"]
            if with_attributes:
                row += [rng.choice(_ZONES), rng.choice(stores) if rng.random() < 0.8 else "",
                        rng.choice(_TIERS)]
            rows.append(row)
            if len(rows) >= 65536:
                w.writerows(rows)
                rows.clear()
        w.writerows(rows)
    reserved = len(us_area_codes()) * 100
    if count <= reserved:
        return "NANP 555-01XX numbers, reserved for fiction"
    return f"{reserved:,} reserved 555-01XX numbers, the rest from other unassigned 555 lines"
