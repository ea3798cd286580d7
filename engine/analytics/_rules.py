"""Stream rules 2 and 3 (fetch-before-tap, datacenter-then-phone) as one backward pass per token, in numpy.

``_sql.stream_verdicts`` reads "some later human click from another network"
off twelve window aggregates (the minimum and maximum address and ASN of the
later clicks that qualify, for two kinds of qualifying click), and those
windows were most of the stream step's cost: about 2 CPU s for a million
clicks. Here the same minima and maxima are running maxima over each token's
clicks from the last to the first (``np.maximum.accumulate`` with a per-token
offset, so a token never sees another's clicks), a few dozen array operations
whatever the number of tokens.

The input is ``_sql.stream_flags``: the clicks in ``(token, STREAM_ORDER)``
order with rule 1 (``burst``) decided and the per-click facts the rules read
(the order is checked as far as token and time go: rows out of it raise).
The answer is exact, with the same reading of ties as the SQL ("later" is
later in that order). A property test holds it equal to ``stream_verdicts``
and to ``engine.bots.rejudge_stream`` (tests/unit/analytics/test_stream.py).
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from . import _sql

#: Rule numbers in the ``rule`` column of ``moved``: their places in
#: ``_sql.RULE_NUMBERS``, which ``_sql.MOVED_BY_RULE`` turns into verdicts.
BURST, FETCH_BEFORE_TAP, DATACENTER_THEN_PHONE = (_sql.RULE_NUMBERS.index(r) + 1 for r in ("burst", "fbt", "dcp"))


def moved(flags: pa.Table, datacenter_reasons: Iterable[str]) -> pa.Table:
    """The clicks of ``flags`` a stream rule moves: ``rid``, ``reasons`` (as logged) and ``rule``.

    A click "has a datacenter reason" when the base of one of its reasons
    (the text before the first ``:``) is in ``datacenter_reasons``.
    """
    n = flags.num_rows
    if n == 0:
        return pa.table({"rid": flags.column("rid"), "reasons": flags.column("reasons"),
                         "rule": pa.array([], pa.int8())})
    token = _single(flags.column("token"))
    first = np.ones(n, dtype=bool)  # the token's first click in the order
    if n > 1:
        first[1:] = _numpy(pc.not_equal(token.slice(1), token.slice(0, n - 1)))
        _check_order(token, _numpy(pc.fill_null(flags.column("ts"), np.iinfo(np.int64).max)), first)  # NULLS LAST

    def flag(name: str) -> np.ndarray:
        return _numpy(pc.fill_null(flags.column(name), False))

    human, movable, phone, burst, early = (flag(c) for c in ("human", "movable", "phone", "burst", "early"))
    dc = _datacenter(flags.column("reasons"), frozenset(datacenter_reasons))
    ip = _single(flags.column("ip"))
    addressed = _numpy(pc.not_equal(pc.fill_null(ip, ""), ""))
    ip_codes = _codes(ip)
    asn = _single(flags.column("asn"))
    has_asn = _numpy(pc.is_valid(asn))
    asn_codes = _codes(asn)

    # Everything below runs backwards (index 0 is the last click), where a
    # click's later clicks are the ones before it.
    r = _Backwards(first, top=max(int(ip_codes.max()), int(asn_codes.max())))
    human, movable, phone, burst, early, dc, addressed, has_asn, ip_codes, asn_codes = (
        a[::-1].copy() for a in (human, movable, phone, burst, early, dc, addressed, has_asn, ip_codes, asn_codes))
    tap = human & ~burst & ~dc  # a later click that can confirm a person ...
    on_phone = tap & phone  # ... from a phone, for rule 3

    def other_network_later(q: np.ndarray) -> np.ndarray:
        # "both have an address and they differ, else both have an ASN and they differ"
        by_address = r.differs_later(ip_codes, q & addressed)
        by_asn_unaddressed = r.differs_later(asn_codes, q & ~addressed & has_asn) & has_asn
        by_asn = r.differs_later(asn_codes, q & has_asn) & has_asn
        return np.where(addressed, by_address | by_asn_unaddressed, by_asn)

    free = movable & ~burst
    fbt = free & early & other_network_later(tap)
    dcp = free & dc & ~fbt & other_network_later(on_phone)
    rule = np.zeros(n, dtype=np.int8)
    rule[burst] = BURST
    rule[fbt] = FETCH_BEFORE_TAP
    rule[dcp] = DATACENTER_THEN_PHONE
    rule = rule[::-1]
    keep = rule > 0
    picked = flags.select(["rid", "reasons"]).filter(pa.array(keep))
    return picked.append_column("rule", pa.array(rule[keep], pa.int8()))


_reasons = msgspec.json.Decoder(list[str])


def _check_order(token: pa.Array, ts: np.ndarray, first: np.ndarray) -> None:
    """Refuse rows that are not in token order, then time order: the rules would read "later" wrong."""
    n = len(token)
    ordered = bool(pc.all(pc.less_equal(token.slice(0, n - 1), token.slice(1))).as_py())
    if not ordered or bool(np.any((ts[1:] < ts[:-1]) & ~first[1:])):
        raise RuntimeError("stream rules: the clicks are not in (token, time) order")


def _single(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    return column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column


def _numpy(array: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(array.to_numpy(zero_copy_only=False))


def _datacenter(reasons: pa.ChunkedArray, names: frozenset[str]) -> np.ndarray:
    """Per click: some reason's base (before the first ``:``) is in ``names``; decided once per distinct text."""
    enc = pc.dictionary_encode(_single(reasons))
    has = np.array([any(r.split(":", 1)[0] in names for r in _reasons.decode(text.encode()))
                    for text in enc.dictionary.to_pylist()] + [False], dtype=bool)
    # a null (the view reads a missing field as "[]") indexes the last entry, False
    return has[_numpy(pc.fill_null(enc.indices, len(enc.dictionary))).astype(np.int64)]


def _codes(array: pa.Array) -> np.ndarray:
    """Dense int64 codes of ``array``'s values: equal values, equal codes (nulls get 0; callers mask them)."""
    enc = pc.dictionary_encode(array)
    return _numpy(pc.fill_null(enc.indices, 0)).astype(np.int64)


class _Backwards:
    """Per click (clicks in reverse order), whether some later click of its token that qualifies has another value.

    "Another value" is read off the maximum and minimum over those clicks: one
    of them differs from the click's own exactly when some value does. The
    running maximum includes the click itself, which changes nothing: its
    own value never differs from itself (so "later" needs no shift by one).
    """

    def __init__(self, first: np.ndarray, top: int) -> None:
        group = np.cumsum(first) - 1  # the token's number, forwards
        self.top = top  # every value is in 0..top
        # Backwards, each token's values sit above every value of the tokens
        # seen before it, so the running maximum starts afresh at each token.
        # Maxima are value + 1 (0: none), so a token's band is top + 2 wide.
        self.offset = ((group[-1] - group)[::-1] * (top + 2)).astype(np.int64)

    def _max_later(self, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Max of ``values`` over the valid clicks of the token from this one on, plus one; 0 when none."""
        x = np.where(valid, values + 1, 0) + self.offset
        np.maximum.accumulate(x, out=x)
        x -= self.offset
        return x

    def differs_later(self, values: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Whether some later valid click of the token has a value other than the click's own."""
        hi = self._max_later(values, valid)
        lo = self._max_later(self.top - values, valid)  # the minimum, as a maximum of the mirror image
        return (hi > 0) & ((hi - 1 != values) | (self.top - (lo - 1) != values))
