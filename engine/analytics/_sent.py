"""What the snapshot says was sent: recipient tokens per campaign and variant.

"Sent" is the number of recipient tokens of a campaign in the snapshot,
*excluding holdout arms* (their recipients are compiled but never messaged)
and *including retired tokens* (their message went out under an earlier
snapshot; their clicks still count, so they stay in the denominator). The
campaign-level (broadcast) link is not a recipient and is never "sent".
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from engine.snapshot import Snapshot


@dataclass(frozen=True)
class Arm:
    """One variant arm with its recipient count."""

    name: str
    holdout: bool
    recipients: int


@dataclass(frozen=True)
class CampaignSent:
    """A campaign as the report sees it."""

    id: str
    name: str
    send_at: int | None  # epoch seconds UTC
    sent: int  # recipient tokens outside holdout arms, retired included
    holdout: int  # recipient tokens in holdout arms
    retired: int  # retired recipient tokens (counted in sent/holdout)
    arms: tuple[Arm, ...]  # empty when the campaign has no variants


def count_sent(snap: Snapshot, only: tuple[str, ...] = ()) -> list[CampaignSent]:
    """One pass over the snapshot's tokens; campaigns in snapshot order (``only`` filters)."""
    per_arm: Counter[tuple[int, int]] = Counter()
    retired: Counter[int] = Counter()
    for _, rec in snap.iter_tokens():
        if rec.recipient:
            per_arm[(rec.campaign, rec.variant)] += 1
            if rec.retired:
                retired[rec.campaign] += 1
    out = []
    for i, c in enumerate(snap.campaigns):
        if only and c.id not in only:
            continue
        arms = tuple(
            Arm(v.name, v.holdout, per_arm.get((i, j), 0)) for j, v in enumerate(c.variants)
        )
        unassigned = per_arm.get((i, -1), 0)
        held = sum(a.recipients for a in arms if a.holdout)
        total = unassigned + sum(a.recipients for a in arms)
        out.append(
            CampaignSent(
                id=c.id, name=c.name, send_at=c.send_at, sent=total - held, holdout=held,
                retired=retired.get(i, 0), arms=arms,
            )
        )
    return out
