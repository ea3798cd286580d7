"""How many recipients a change affects, from two snapshots built against the same audience.

Only with ``smslink review --audience NAME=PATH`` (the audience holds phone
numbers, so CI usually has none). The CLI compiles the base, then the head
with the base as its previous snapshot, so a recipient kept by both has the
same token in both; this module walks the two token lists in order (a merge,
flat memory) and counts, per campaign: recipients added, no longer messaged,
and kept recipients whose destination changes.

A destination depends on the click (device, place, time). "Changes" means:
for at least one of a few representative taps (an iPhone, an Android phone, a
desktop browser; no geolocation; at the campaign's send time, or its start,
or now) the head answers a different URL or status than the base. Counts only:
no recipient id or token leaves this module.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator

from engine.routing import ClickFacts, CompiledCampaign, compile_campaign
from engine.snapshot import Campaign, Snapshot, TokenRecord

from .diff import AudienceImpact

#: Representative taps: (user agent, Accept-Language).
PROFILES = (
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/17.5 Mobile/15E148 Safari/604.1", "en-US,en;q=0.9"),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Mobile Safari/537.36", "en-US,en;q=0.9"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Safari/537.36", "en-US,en;q=0.9"),
)


def _when(c: Campaign) -> float:
    for ts in (c.send_at, c.starts_at):
        if ts is not None:
            return float(ts)
    return time.time()


class _Side:
    def __init__(self, snap: Snapshot) -> None:
        self.snap = snap
        self.compiled: dict[int, CompiledCampaign] = {}

    def campaign(self, index: int) -> Campaign:
        return self.snap.campaigns[index]

    def answers(self, rec: TokenRecord, when: float) -> tuple[tuple[int, str | None], ...]:
        cc = self.compiled.get(rec.campaign)
        if cc is None:
            c = self.campaign(rec.campaign)
            storeset = self.snap.storesets.get(c.stores.storeset) if c.stores else None
            cc = self.compiled[rec.campaign] = compile_campaign(c, storeset)
        out = []
        for ua, lang in PROFILES:
            d = cc.resolve(rec, ClickFacts(now=when, geo=None, user_agent=ua, accept_language=lang))
            out.append((d.status, d.url))
        return tuple(out)


def _recipients(snap: Snapshot) -> Iterator[tuple[str, TokenRecord]]:
    for token, rec in snap.iter_tokens():
        if rec.recipient:
            yield token, rec


def audience_impacts(base: Snapshot, head: Snapshot) -> dict[str, AudienceImpact]:
    """Per campaign id (of the head, or the base for removed ones): what the change does to recipients.

    Parameters
    ----------
    base, head:
        Snapshots compiled against the same audiences, the head with the base
        as its previous snapshot (so kept recipients keep their tokens).

    Returns
    -------
    dict[str, AudienceImpact]
    """
    b, h = _Side(base), _Side(head)
    before: Counter[str] = Counter()
    after: Counter[str] = Counter()
    added: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    changed: Counter[str] = Counter()
    head_iter = _recipients(head)
    ht, hrec = next(head_iter, (None, None))
    for bt, brec in _recipients(base):
        while ht is not None and ht < bt:
            assert hrec is not None
            _count_head_only(h, hrec, after, added)
            ht, hrec = next(head_iter, (None, None))
        cid = b.campaign(brec.campaign).id
        if not brec.retired:
            before[cid] += 1
        if ht != bt:
            if not brec.retired:
                removed[cid] += 1
            continue
        assert hrec is not None
        hc = h.campaign(hrec.campaign)
        if not hrec.retired and not hc.retired:
            after[hc.id] += 1
        if not brec.retired and (hrec.retired or hc.retired):
            removed[cid] += 1
        elif not brec.retired and not hrec.retired:
            when = _when(hc)
            if b.answers(brec, when) != h.answers(hrec, when):
                changed[hc.id] += 1
        ht, hrec = next(head_iter, (None, None))
    while ht is not None:
        assert hrec is not None
        _count_head_only(h, hrec, after, added)
        ht, hrec = next(head_iter, (None, None))
    ids = set(before) | set(after) | set(added) | set(removed)
    return {
        cid: AudienceImpact(before[cid], after[cid], added[cid], removed[cid], changed[cid])
        for cid in sorted(ids)
    }


def _count_head_only(h: _Side, rec: TokenRecord, after: Counter[str], added: Counter[str]) -> None:
    c = h.campaign(rec.campaign)
    if rec.retired or c.retired:
        return
    cid = c.id
    after[cid] += 1
    added[cid] += 1
