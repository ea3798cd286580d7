"""Tokens: minting new ones and remembering every one already issued.

Invariant 2: a token, once published, means the same campaign and recipient
until the campaign's retention ends. Tokens are random draws (``secrets``) over
``TOKEN_ALPHABET``, never derived from a phone number, and the previous snapshot
is the ledger: every (campaign, recipient) it knows keeps its token, and no
token it holds is ever handed to anyone else. See docs/compile.md and
docs/adr/0002-token-format.md.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Callable, Container, Iterator
from dataclasses import dataclass, field

from engine.snapshot import TOKEN_ALPHABET, Campaign, Snapshot, StoreSet, TokenRecord

RandBytes = Callable[[int], bytes]
_BASE = len(TOKEN_ALPHABET)
_U64 = struct.Struct(">Q")
_BASE2 = _BASE * _BASE
_PAIRS = [b + a for a in TOKEN_ALPHABET for b in TOKEN_ALPHABET]  # r -> alphabet[r % 55] + alphabet[r // 55]
#: Token lengths the minter accepts: 55**4 is already 9 million, 55**11 still fits 64 bits.
MIN_LENGTH, MAX_LENGTH = 4, 11


class TokenMinter:
    """Draws uniform random tokens of a given length over ``TOKEN_ALPHABET``.

    ``randbytes`` is the entropy source: ``secrets.token_bytes`` in production,
    a seeded ``random.Random(seed).randbytes`` in golden tests (never for a real send).
    A token found in ``taken`` (every token issued so far, old and new) or in
    ``forbidden`` (tokens forgotten after retention in this very compile) is
    drawn again, so no token is ever handed out twice.
    """

    def __init__(self, randbytes: RandBytes | None = None, forbidden: Container[str] = ()) -> None:
        self._randbytes = randbytes or secrets.token_bytes
        self._pools: dict[int, list[str]] = {}
        self.forbidden = forbidden
        self.redraws = 0  # collisions seen (for tests and curiosity)

    def _batch(self, length: int) -> list[str]:
        """A batch of candidate tokens, in draw order reversed (``pop`` takes the next)."""
        space = _BASE**length
        # Rejection sampling over 64-bit draws keeps every token equally likely.
        limit = (1 << 64) - ((1 << 64) % space)
        values = [v % space for (v,) in _U64.iter_unpack(self._randbytes(8 * 4096)) if v < limit]
        # Two characters per step, low digits first: a bijection of [0, 55**length).
        divisors = [_BASE2**k for k in range(length // 2)]
        pairs = _PAIRS
        if length % 2:
            top, alphabet = _BASE2 ** (length // 2), TOKEN_ALPHABET
            tokens = ["".join([pairs[v // d % _BASE2] for d in divisors]) + alphabet[v // top] for v in values]
        else:
            tokens = ["".join([pairs[v // d % _BASE2] for d in divisors]) for v in values]
        tokens.reverse()
        return tokens

    def mint(self, length: int, taken: Container[str]) -> str:
        """One new token of ``length`` characters, in neither ``taken`` nor ``forbidden``."""
        pool = self._pools.get(length)
        if pool is None:
            if not MIN_LENGTH <= length <= MAX_LENGTH:
                raise ValueError(f"token length {length} is outside {MIN_LENGTH}..{MAX_LENGTH}")
            pool = self._pools[length] = []
        while True:
            if not pool:
                pool.extend(self._batch(length))
            token = pool.pop()
            if token in taken or token in self.forbidden:
                self.redraws += 1
                continue
            return token


@dataclass
class PreviousCampaign:
    """What the previous snapshot issued for one campaign (by id)."""

    record: Campaign
    index: int  # its position in the previous snapshot
    tokens: dict[str, str] = field(default_factory=dict)  # recipient id -> token


@dataclass
class Ledger:
    """Every token of the previous snapshot, grouped by campaign id.

    Recipients are popped as the new audience claims them; what is left over
    afterwards is the retired set, re-read from the snapshot with ``leftovers``.
    """

    campaigns: dict[str, PreviousCampaign] = field(default_factory=dict)
    storesets: dict[str, StoreSet] = field(default_factory=dict)
    snapshot: Snapshot | None = None
    tokens: int = 0

    @classmethod
    def empty(cls) -> Ledger:
        return cls()

    @classmethod
    def from_snapshot(cls, snap: Snapshot) -> Ledger:
        """Read the token ledger of an open snapshot (kept open: retired records are re-read)."""
        ledger = cls(snapshot=snap, storesets=dict(snap.storesets))
        by_index: list[PreviousCampaign] = []
        for i, c in enumerate(snap.campaigns):
            pc = PreviousCampaign(record=c, index=i)
            ledger.campaigns[c.id] = pc
            by_index.append(pc)
        n = 0
        for token, rec in snap.iter_tokens():
            n += 1
            if rec.recipient:
                by_index[rec.campaign].tokens[rec.recipient] = token
        ledger.tokens = n
        return ledger

    def leftovers(self, campaign_id: str) -> Iterator[tuple[str, TokenRecord]]:
        """The previous (token, record) pairs of ``campaign_id`` not claimed by the new audience."""
        pc = self.campaigns.get(campaign_id)
        if pc is None or self.snapshot is None or not pc.tokens:
            return
        for token in sorted(pc.tokens.values()):
            rec = self.snapshot.lookup(token)
            if rec is not None:
                yield token, rec

    def records(self, campaign_id: str) -> Iterator[tuple[str, TokenRecord]]:
        """Every previous (token, record) of ``campaign_id`` (for a campaign removed from config)."""
        pc = self.campaigns.get(campaign_id)
        if pc is None or self.snapshot is None:
            return
        for token, rec in self.snapshot.iter_tokens():
            if rec.campaign == pc.index:
                yield token, rec
