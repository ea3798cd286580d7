"""Audiences: stream a CSV of recipients into normalized, deduplicated rows.

The audience file is PII and never lives in the repository; campaigns name it
(``audience.name``) and ``smslink compile --audience NAME=PATH`` binds it. This
module reads it once, row by row, and keeps only what uniqueness needs: keyed
64-bit hashes of the numbers and contact ids seen so far (Python's ``hash`` of a
``str`` is SipHash keyed with a per-process random secret), never the numbers.
Drops are reported as counts and row numbers, never as values.

Recipient ids: the contact id when the binding names a contact-id column,
else HMAC-SHA256 of the E.164 number under a secret key, truncated to 80 bits
and written in base32 (16 characters). Without the key the id of a number
could be recomputed by anyone holding the number; with it, only by the
sender. See docs/compile.md.
"""

from __future__ import annotations

import csv
import hashlib
import multiprocessing
import re
import time
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._phones import to_e164
from ._plan import AudienceBinding

#: Row numbers kept per drop reason for the report (the counts are always complete).
MAX_EXAMPLES = 10

# Drop reasons (stable strings: they appear in `smslink compile --format json`).
INVALID = "invalid-number"
SUPPRESSED = "suppressed"
DUP_NUMBER = "duplicate-number"
DUP_CONTACT = "duplicate-contact-id"
NO_CONTACT = "missing-contact-id"
MALFORMED = "malformed-row"
# Kept rows with a problem (counted; the field falls back to "none").
UNKNOWN_STORE = "unknown-store"
BAD_ZONE = "bad-timezone"

_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # RFC 4648 section 6
_B32_PAIRS = [a + b for a in _B32 for b in _B32]
_PHONE_LIKE = re.compile(r"[\d\s().+\-]{7,}")
_NON_DIGIT = re.compile(r"\D")
_PHONE_START = frozenset("0123456789+(. -")  # what _PHONE_LIKE can start with


class AudienceError(Exception):
    """The audience cannot be read at all (missing file or column, PII in a kept column).

    Messages name files, columns and row numbers, never a cell's value.
    """


#: One accepted audience row, a plain tuple because there are millions:
#: (row number (the header is line 1), E.164 phone (manifest only), recipient id
#: (contact id or keyed hash: the only identity the snapshot sees), attribute
#: values in AudienceBinding.attributes order, valid IANA zone or None, home
#: store id as written or None).
Recipient = tuple[int, str, str, tuple[str, ...], str | None, str | None]


@dataclass
class AudienceStats:
    """What reading an audience did, in counts and row numbers only."""

    name: str
    rows: int = 0
    accepted: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    flagged: dict[str, int] = field(default_factory=dict)  # kept, but a field was unusable
    examples: dict[str, list[int]] = field(default_factory=dict)  # reason -> first row numbers
    reader_cpu_s: float = 0.0  # CPU seconds of the forked reader process (0 when read in-process)

    def note(self, reason: str, row: int, *, dropped: bool = True) -> None:
        counts = self.dropped if dropped else self.flagged
        counts[reason] = counts.get(reason, 0) + 1
        rows = self.examples.setdefault(reason, [])
        if len(rows) < MAX_EXAMPLES:
            rows.append(row)

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "rows": self.rows,
            "accepted": self.accepted,
            "dropped": dict(sorted(self.dropped.items())),
            "flagged": dict(sorted(self.flagged.items())),
            "example_rows": {k: v for k, v in sorted(self.examples.items())},
        }


class RecipientIds:
    """Keyed recipient ids: base32 of HMAC-SHA256(key, E.164) truncated to 80 bits (16 characters).

    HMAC per RFC 2104 with the padded key's inner and outer SHA-256 states
    computed once, which is three times faster than ``hmac.new`` per number
    (tests check it against ``hmac.digest``).
    """

    def __init__(self, key: bytes) -> None:
        if not key:
            raise ValueError("empty recipient key")
        if len(key) > 64:  # RFC 2104: keys longer than the block are hashed first
            key = hashlib.sha256(key).digest()
        padded = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))

    def digest(self, e164: str) -> bytes:
        inner = self._inner.copy()
        inner.update(e164.encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def __call__(self, e164: str) -> str:
        n = int.from_bytes(self.digest(e164)[:10], "big")
        t = _B32_PAIRS  # RFC 4648 base32, two characters (10 bits) per lookup
        return (
            t[n >> 70] + t[(n >> 60) & 1023] + t[(n >> 50) & 1023] + t[(n >> 40) & 1023]
            + t[(n >> 30) & 1023] + t[(n >> 20) & 1023] + t[(n >> 10) & 1023] + t[n & 1023]
        )


def load_suppression(path: Path, region: str) -> tuple[set[int], int]:
    """Keyed hashes of the numbers in an opt-out list, and how many lines were unreadable.

    The file is a CSV whose header has a ``phone``, ``phone_e164``, ``number``
    or ``msisdn`` column, or plain text with one number per line (``#`` starts a comment).
    """
    hashes: set[int] = set()
    bad = 0
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            first = next(reader, None)
            col = 0
            rows: Iterator[list[str]] = reader
            if first is not None:
                names = [c.strip().lower() for c in first]
                for candidate in ("phone", "phone_e164", "number", "msisdn"):
                    if candidate in names:
                        col = names.index(candidate)
                        break
                else:
                    rows = _chain([first], reader)
            for row in rows:
                if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
                    continue
                e164 = to_e164(row[col], region) if col < len(row) else None
                if e164 is None:
                    bad += 1
                else:
                    hashes.add(hash(e164))
    except FileNotFoundError as exc:
        raise AudienceError(f"{path}: suppression list not found") from exc
    except UnicodeDecodeError as exc:
        raise AudienceError(f"{path}: suppression list is not UTF-8 text") from exc
    return hashes, bad


def _chain(head: list[list[str]], tail: Iterator[list[str]]) -> Iterator[list[str]]:
    yield from head
    yield from tail


def _columns(path: Path, header: list[str], binding: AudienceBinding) -> dict[str, int]:
    names = [h.strip() for h in header]
    wanted = {"phone": binding.phone_column}
    if binding.contact_id_column:
        wanted["contact"] = binding.contact_id_column
    if binding.timezone_column:
        wanted["zone"] = binding.timezone_column
    if binding.home_store_column:
        wanted["store"] = binding.home_store_column
    for i, a in enumerate(binding.attributes):
        wanted[f"attr{i}"] = a
    found: dict[str, int] = {}
    missing = []
    for role, column in wanted.items():
        if column in names:
            found[role] = names.index(column)
        else:
            missing.append(column)
    if missing:
        raise AudienceError(
            f"{path}:1:1: audience {binding.name!r} has no column "
            + ", ".join(f'"{m}"' for m in missing)
            + f"; its header has: {', '.join(names) if names else '(nothing)'}"
        )
    return found


def _phone_in(value: str, e164: str) -> bool:
    """True when ``value`` looks like the row's own phone number (digits end alike)."""
    if not _PHONE_LIKE.fullmatch(value):
        return False
    digits = _NON_DIGIT.sub("", value)
    return len(digits) >= 7 and (e164.endswith(digits) or digits.endswith(e164[-7:]))


def read_audience(
    path: Path,
    binding: AudienceBinding,
    stats: AudienceStats,
    *,
    recipient_ids: RecipientIds | None,
    suppressed: set[int] | frozenset[int] = frozenset(),
    store_ids: frozenset[str] | None = None,
) -> Iterator[Recipient]:
    """Stream the accepted recipients of an audience CSV, in file order.

    Parameters
    ----------
    path:
        The CSV (UTF-8, optional BOM), header on line 1.
    binding:
        Which columns mean what, and the default region for national numbers.
    stats:
        Filled with counts and row numbers as the rows go by.
    recipient_ids:
        Keyed hash for recipient ids; required when the binding has no contact-id column.
    suppressed:
        Keyed hashes (``hash(e164)``) of opted-out numbers.
    store_ids:
        Known home-store ids; an unknown one is counted and the store left empty.

    Raises
    ------
    AudienceError
        Missing file or column, undecodable text, or a kept column that holds the
        row's phone number (the snapshot must never see one).
    """
    if binding.contact_id_column is None and recipient_ids is None:
        raise AudienceError(
            f"audience {binding.name!r} has no contact-id column, so recipient ids are keyed "
            "hashes of the numbers, and no key was given: set the environment variable named by "
            "--recipient-key-env (default SMSLINK_RECIPIENT_KEY) to a long random secret"
        )
    try:
        fh = path.open(newline="", encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise AudienceError(f"{path}: audience file {binding.name!r} not found") from exc
    except OSError as exc:
        raise AudienceError(f"{path}: audience file cannot be read ({exc.strerror})") from exc
    with fh:
        reader = csv.reader(fh)
        try:
            header = next(reader, None)
            if header is None:
                raise AudienceError(f"{path}:1:1: audience {binding.name!r} is empty (no header row)")
            cols = _columns(path, header, binding)
            yield from _rows(path, reader, cols, binding, stats, recipient_ids, suppressed, store_ids)
        except UnicodeDecodeError as exc:
            raise AudienceError(
                f"{path}: audience {binding.name!r} is not UTF-8 text after line {reader.line_num}"
            ) from exc
        except csv.Error as exc:
            raise AudienceError(f"{path}:{reader.line_num}:1: audience CSV is malformed ({exc})") from exc


def _rows(
    path: Path,
    reader: Any,
    cols: dict[str, int],
    binding: AudienceBinding,
    stats: AudienceStats,
    recipient_ids: RecipientIds | None,
    suppressed: set[int] | frozenset[int],
    store_ids: frozenset[str] | None,
) -> Iterator[Recipient]:
    region = binding.region
    i_phone = cols["phone"]
    i_contact = cols.get("contact")
    i_zone = cols.get("zone")
    i_store = cols.get("store")
    i_attrs = [cols[f"attr{i}"] for i in range(len(binding.attributes))]
    width = max(cols.values()) + 1
    seen_numbers: set[int] = set()
    seen_contacts: set[int] = set()
    zones: dict[str, str | None] = {}
    note = stats.note
    for row in reader:
        row_no = reader.line_num
        if not row:
            continue  # blank line
        stats.rows += 1
        if len(row) < width:
            note(MALFORMED, row_no)
            continue
        e164 = to_e164(row[i_phone], region)
        if e164 is None:
            note(INVALID, row_no)
            continue
        h = hash(e164)
        if h in suppressed:
            note(SUPPRESSED, row_no)
            continue
        if h in seen_numbers:
            note(DUP_NUMBER, row_no)
            continue
        if i_contact is not None:
            rid = row[i_contact].strip()
            if not rid:
                note(NO_CONTACT, row_no)
                continue
            if rid[0] in _PHONE_START and _phone_in(rid, e164):
                raise AudienceError(
                    f"{path}:{row_no}:{i_contact + 1}: column {binding.contact_id_column!r} holds "
                    "the row's phone number; recipient ids reach the snapshot, so they must not "
                    "be phone numbers: use a CRM id, or drop contact-id to use keyed hashes"
                )
            hc = hash(rid)
            if hc in seen_contacts:
                note(DUP_CONTACT, row_no)
                continue
            seen_contacts.add(hc)
        else:
            rid = recipient_ids(e164)  # type: ignore[misc]  # checked by read_audience
        seen_numbers.add(h)
        attrs = tuple([row[i].strip() for i in i_attrs])
        for k, value in enumerate(attrs):
            if value and value[0] in _PHONE_START and _phone_in(value, e164):
                raise AudienceError(
                    f"{path}:{row_no}:{i_attrs[k] + 1}: attribute column "
                    f"{binding.attributes[k]!r} holds the row's phone number; attributes reach "
                    "the snapshot, so remove it from audience.attributes"
                )
        zone: str | None = None
        if i_zone is not None:
            raw = row[i_zone].strip()
            if raw:
                if raw in zones:
                    zone = zones[raw]
                else:
                    zone = _valid_zone(raw)
                    if len(zones) < 4096:
                        zones[raw] = zone
                if zone is None:
                    note(BAD_ZONE, row_no, dropped=False)
        store: str | None = None
        if i_store is not None:
            raw = row[i_store].strip()
            if raw:
                if store_ids is not None and raw not in store_ids:
                    note(UNKNOWN_STORE, row_no, dropped=False)
                else:
                    store = raw
        stats.accepted += 1
        yield (row_no, e164, rid, attrs, zone, store)


def _valid_zone(name: str) -> str | None:
    if len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
        return None
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None
    return name


#: Audiences at least this large are read in a second process (fork) while the
#: build consumes them, which uses both cores of a small machine.
PARALLEL_BYTES = 8 << 20
_BATCH = 8192


def stream_audience(
    path: Path,
    binding: AudienceBinding,
    stats: AudienceStats,
    *,
    recipient_ids: RecipientIds | None,
    suppressed: set[int] | frozenset[int] = frozenset(),
    store_ids: frozenset[str] | None = None,
    parallel: bool | None = None,
) -> Iterator[Recipient]:
    """``read_audience``, run in a forked reader process when the file is large.

    ``parallel`` None decides by size (``PARALLEL_BYTES``) and by whether the
    platform can fork. Results, counts and errors are the same either way.
    """
    if parallel is None:
        try:
            big = path.stat().st_size >= PARALLEL_BYTES
        except OSError:
            big = False
        parallel = big and "fork" in multiprocessing.get_all_start_methods()
    kwargs = {"recipient_ids": recipient_ids, "suppressed": suppressed, "store_ids": store_ids}
    if not parallel:
        yield from read_audience(path, binding, stats, **kwargs)  # type: ignore[arg-type]
        return
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_reader_main, args=(send, path, binding, stats.name, kwargs), daemon=True)
    proc.start()
    send.close()
    try:
        while True:
            try:
                kind, payload = recv.recv()
            except EOFError:
                raise AudienceError(f"{path}: the audience reader stopped unexpectedly") from None
            if kind == "rows":
                yield from payload
            elif kind == "done":
                fields, cpu = payload
                stats.__dict__.update(fields)
                stats.reader_cpu_s += cpu
                return
            else:
                raise AudienceError(payload)
    finally:
        recv.close()
        if proc.is_alive():
            proc.terminate()
        proc.join()


def _reader_main(send: Any, path: Path, binding: AudienceBinding, name: str, kwargs: dict[str, Any]) -> None:
    stats = AudienceStats(name=name)
    try:
        batch: list[Recipient] = []
        for r in read_audience(path, binding, stats, **kwargs):
            batch.append(r)
            if len(batch) >= _BATCH:
                send.send(("rows", batch))
                batch = []
        if batch:
            send.send(("rows", batch))
        send.send(("done", (stats.__dict__, time.process_time())))
    except AudienceError as exc:
        send.send(("error", str(exc)))
    except BrokenPipeError:
        pass  # the builder stopped reading (it failed elsewhere)
    finally:
        send.close()
