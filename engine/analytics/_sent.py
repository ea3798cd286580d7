"""What the snapshot says was sent: recipient tokens per campaign and variant.

"Sent" is the number of recipient tokens of a campaign in the snapshot,
*excluding holdout arms* (their recipients are compiled but never messaged)
and *including retired tokens* (their message went out under an earlier
snapshot; their clicks still count, so they stay in the denominator). The
campaign-level (broadcast) link is not a recipient and is never "sent".
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import msgspec

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


def count_sent(snap: Snapshot, only: tuple[str, ...] = (), cache_dir: str | os.PathLike[str] | None = None) -> list[CampaignSent]:
    """One pass over the snapshot's tokens; campaigns in snapshot order (``only`` filters).

    With ``cache_dir`` the counts are kept there (``sent-*.json``, named after
    the snapshot file's path, size, modification time and checksum: a
    published snapshot never changes) and read back by later reports instead
    of walking two million tokens again.
    """
    if cache_dir is None:
        return _count(snap, only)
    st = os.stat(snap.path)
    key = f"{_CACHE_VERSION}\0{os.path.abspath(snap.path)}\0{st.st_size}\0{st.st_mtime_ns}\0{snap.meta.checksum}"
    path = Path(cache_dir) / f"sent-{hashlib.sha256(key.encode()).hexdigest()[:20]}.json"
    try:
        every = msgspec.json.decode(path.read_bytes(), type=list[CampaignSent])
    except (OSError, msgspec.DecodeError):
        every = _count(snap, ())
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            tmp.write_bytes(msgspec.json.encode(every))
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written is only slower
        finally:
            tmp.unlink(missing_ok=True)
    return [c for c in every if not only or c.id in only]


#: Bump when what a cached count holds changes.
_CACHE_VERSION = 1


def _count(snap: Snapshot, only: tuple[str, ...]) -> list[CampaignSent]:
    per_arm: Counter[tuple[int, int]] = Counter()
    retired: Counter[int] = Counter()
    kept = snap.meta.recipients_by_arm
    if kept.get("v") == 1:  # counted when the snapshot was written
        for key, n in kept.items():
            if key == "v":
                continue
            campaign, _, arm = key.partition("/")
            if arm == "retired":
                retired[int(campaign)] += n
            else:
                per_arm[(int(campaign), int(arm))] += n
    else:  # a snapshot written before the counts were kept: one pass over its tokens
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
