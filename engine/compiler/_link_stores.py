"""Store lists (CSV or YAML, referenced by path from a campaign) -> ``StoreSet``.

Columns: ``id``, ``name``, ``lat``, ``lon``, ``timezone`` (IANA), ``hours``
(``mon-fri 09:00-21:00; sat 10:00-20:00; sun closed``); every other column is
a URL field usable as ``{{ store.<column> }}``. The spatial index is built here,
at compile time, so a click pays microseconds.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from engine.diagnostics import Diagnostic, DiagnosticsError, SourceSpan
from engine.routing import build_store_index
from engine.snapshot import Store, StoreSet
from engine.spec import did_you_mean, known_zones, load_yaml, parse_hhmm

REQUIRED = ("id", "name", "lat", "lon", "timezone")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RANGE = re.compile(r"^(\d\d:\d\d)-(\d\d:\d\d)$")


@dataclass
class LoadedStores:
    storeset: StoreSet | None
    fields: set[str] = field(default_factory=set)  # names usable as store.<field>
    ids: set[str] = field(default_factory=set)
    text: str | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)


def storeset_id(rel: str) -> str:
    """``stores/acme-stores.csv`` -> ``acme-stores``; ``stores/eu/paris.csv`` -> ``eu/paris``."""
    path = Path(rel)
    base = path.with_suffix("").as_posix()
    return base.removeprefix("stores/")


def load_stores(root: Path, rel: str, set_id: str | None = None) -> LoadedStores:
    """Read and check one store list (``rel`` is repository-relative; ``set_id``
    names the StoreSet, ``storeset_id(rel)`` by default)."""
    path = root / rel
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return LoadedStores(
            None,
            diagnostics=[
                Diagnostic("E308", "error", f"cannot read the store list: {exc}", SourceSpan(rel))
            ],
        )
    out = LoadedStores(None, text=text)
    if path.suffix in (".yaml", ".yml"):
        rows = _yaml_rows(rel, text, out)
    else:
        rows = _csv_rows(rel, text, out)
    stores: list[Store] = []
    for row, spans in rows:
        store = _store(rel, row, spans, out)
        if store is not None:
            if store.id in out.ids:
                out.diagnostics.append(
                    Diagnostic(
                        "E312",
                        "error",
                        f'store id "{store.id}" is used twice',
                        spans["id"],
                        hint="each store needs its own id; home-store columns refer to it",
                    )
                )
                continue
            out.ids.add(store.id)
            stores.append(store)
    if not stores and not out.diagnostics:
        out.diagnostics.append(
            Diagnostic("E308", "error", "the store list has no stores", SourceSpan(rel))
        )
    if out.diagnostics:
        return out
    out.storeset = StoreSet(
        id=set_id or storeset_id(rel), source=rel, stores=stores, index=build_store_index(stores)
    )
    return out


def _csv_rows(
    rel: str, text: str, out: LoadedStores
) -> list[tuple[dict[str, str], dict[str, SourceSpan]]]:
    lines = text.splitlines()
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        return []
    header = [h.strip() for h in header]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        out.diagnostics.append(
            Diagnostic(
                "E308",
                "error",
                f"the store list has no {', '.join(missing)} column"
                + ("s" if len(missing) > 1 else ""),
                SourceSpan(rel, 1, 1, 1, max(2, len(lines[0]) + 1 if lines else 2)),
                expected=f"columns {', '.join(REQUIRED)} (and optional hours, plus any URL fields)",
                hint=" ".join(h for h in (did_you_mean(m, header) for m in missing) if h) or None,
            )
        )
        return []
    out.fields = {"id", "name"} | {h for h in header if h not in REQUIRED and h != "hours"}
    rows = []
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                out.diagnostics.append(
                    Diagnostic(
                        "E308",
                        "error",
                        f"row has {len(cells)} cells, the header has {len(header)}",
                        SourceSpan(rel, line, 1),
                        hint="quote cells that contain commas",
                    )
                )
                continue
            raw = lines[line - 1] if line - 1 < len(lines) else ""
            spans = {}
            pos = 0
            for name, cell in zip(header, cells, strict=True):
                at = raw.find(cell, pos) if cell else -1
                col = at + 1 if at >= 0 else 1
                spans[name] = SourceSpan(rel, line, col, line, col + max(1, len(cell)))
                if at >= 0:
                    pos = at + len(cell)
            rows.append((dict(zip(header, (c.strip() for c in cells), strict=True)), spans))
    except csv.Error as exc:
        out.diagnostics.append(
            Diagnostic("E308", "error", f"CSV error: {exc}", SourceSpan(rel, reader.line_num, 1))
        )
    return rows


def _yaml_rows(
    rel: str, text: str, out: LoadedStores
) -> list[tuple[dict[str, str], dict[str, SourceSpan]]]:
    try:
        doc = load_yaml(rel, text)
    except DiagnosticsError as exc:
        out.diagnostics.extend(exc.diagnostics)
        return []
    items = doc.data.get("stores")
    if not isinstance(items, list):
        out.diagnostics.append(
            Diagnostic(
                "E308",
                "error",
                'a YAML store list needs a "stores" list',
                doc.head_span(),
                expected="stores: [{id: ..., name: ..., lat: ..., lon: ..., timezone: ...}]",
            )
        )
        return []
    rows = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            out.diagnostics.append(
                Diagnostic("E308", "error", "a store must be a mapping", doc.span(("stores", i)))
            )
            continue
        missing = [c for c in REQUIRED if c not in item]
        if missing:
            out.diagnostics.append(
                Diagnostic(
                    "E308",
                    "error",
                    f"store has no {', '.join(missing)}",
                    doc.span(("stores", i)),
                    expected=f"fields {', '.join(REQUIRED)}",
                )
            )
            continue
        out.fields |= {"id", "name"} | {k for k in item if k not in REQUIRED and k != "hours"}
        row = {k: ("" if v is None else str(v)) for k, v in item.items()}
        rows.append((row, {k: doc.span(("stores", i, k)) for k in item}))
    return rows


def _store(
    rel: str, row: dict[str, str], spans: dict[str, SourceSpan], out: LoadedStores
) -> Store | None:
    ok = True
    if not row["id"]:
        out.diagnostics.append(Diagnostic("E309", "error", "store has an empty id", spans["id"]))
        ok = False
    coords: dict[str, float] = {}
    for name, limit in (("lat", 90.0), ("lon", 180.0)):
        try:
            value = float(row[name])
            if not -limit <= value <= limit:
                raise ValueError
            coords[name] = value
        except ValueError:
            out.diagnostics.append(
                Diagnostic(
                    "E309",
                    "error",
                    f'"{row[name]}" is not a valid {name}',
                    spans[name],
                    expected=f"a number between -{limit:g} and {limit:g} (decimal degrees)",
                )
            )
            ok = False
    zone = row["timezone"]
    if zone not in known_zones():
        out.diagnostics.append(
            Diagnostic(
                "E310",
                "error",
                f'unknown time zone "{zone}"',
                spans["timezone"],
                expected="an IANA zone name such as America/New_York",
                hint=did_you_mean(zone, known_zones()) or None,
            )
        )
        ok = False
    hours: list[list[tuple[int, int]]] = []
    if row.get("hours"):
        try:
            hours = parse_hours(row["hours"])
        except ValueError as exc:
            out.diagnostics.append(
                Diagnostic(
                    "E311",
                    "error",
                    f"cannot read opening hours: {exc}",
                    spans["hours"],
                    expected='"mon-fri 09:00-21:00; sat 10:00-20:00; sun closed"',
                )
            )
            ok = False
    if not ok:
        return None
    extra = {k: v for k, v in row.items() if k not in REQUIRED and k != "hours"}
    return Store(
        id=row["id"],
        name=row["name"],
        lat=coords["lat"],
        lon=coords["lon"],
        timezone=zone,
        hours=hours,
        fields=extra,
    )


def parse_hours(text: str) -> list[list[tuple[int, int]]]:
    """``mon-fri 09:00-21:00; sat 10:00-20:00, 21:00-23:00; sun closed`` -> seven
    lists of [open, close) minutes (index 0 = Monday); a day not named is closed.
    A range that ends before it starts spans midnight (close > 1440).

    Raises
    ------
    ValueError
        With a message naming the part that could not be read.
    """
    week: list[list[tuple[int, int]]] = [[] for _ in range(7)]
    seen: set[int] = set()
    for part in (p.strip() for p in text.split(";")):
        if not part:
            continue
        days_text, _, ranges_text = part.partition(" ")
        days = _days(days_text)
        if seen & set(days):
            raise ValueError(f'"{part}" repeats a day')
        seen |= set(days)
        ranges_text = ranges_text.strip()
        if ranges_text == "closed":
            continue
        if not ranges_text:
            raise ValueError(f'"{part}" has no hours (write "closed" for a closed day)')
        intervals = []
        for r in (x.strip() for x in ranges_text.split(",")):
            m = _RANGE.match(r)
            if not m:
                raise ValueError(f'"{r}" is not HH:MM-HH:MM')
            try:
                start, end = parse_hhmm(m.group(1)), parse_hhmm(m.group(2))
            except Exception:
                raise ValueError(f'"{r}" is not a valid time range') from None
            if start == end:
                raise ValueError(f'"{r}" is empty')
            intervals.append((start, end if end > start else end + 1440))
        for d in days:
            week[d] = sorted(intervals)
    return week


def _days(text: str) -> list[int]:
    out: list[int] = []
    for piece in text.split(","):
        first, dash, last = piece.partition("-")
        if first not in _DAYS or (dash and last not in _DAYS):
            raise ValueError(f'"{piece}" is not a day or day range (mon..sun)')
        a = _DAYS.index(first)
        b = _DAYS.index(last) if dash else a
        if b < a:
            raise ValueError(f'"{piece}" runs backwards')
        out.extend(range(a, b + 1))
    return out
