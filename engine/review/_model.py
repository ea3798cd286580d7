"""The review's values: what goes in (two revisions) and what comes out (a Review).

Plain frozen dataclasses and closed vocabularies (``Mark``, ``Risk``), so the
diff (``diff.py``) and the renderers (``render.py``) share one vocabulary.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from engine.snapshot import BotPolicy, Campaign, Endpoint, StoreSet


# ------------------------------------------------------------------------ inputs
@dataclass(frozen=True)
class Compliance:
    """What the review needs of the compliance policy (compiled from policies/compliance.yaml)."""

    allowed_domains: tuple[str, ...] = ()  # empty: any domain is allowed
    banned_domains: tuple[str, ...] = ()  # public shorteners, built-in list included
    https_only: bool = True
    max_segments: int = 2
    opt_out: tuple[str, ...] = ()
    reviewers: dict[str, tuple[str, ...]] = field(default_factory=dict)  # category -> required reviewers


@dataclass(frozen=True)
class AudienceImpact:
    """Recipients of one campaign, counted by what a change does to their link (needs the audience)."""

    recipients_before: int
    recipients_after: int
    added: int  # new recipients (new tokens)
    removed: int  # recipients no longer messaged (tokens retired, still resolving)
    destination_changed: int  # kept recipients whose destination at send time changes


@dataclass(frozen=True)
class Revision:
    """One side of a review: what a revision of the config compiles to."""

    label: str  # e.g. "main (3fa9c0d)" or "work tree"
    campaigns: list[Campaign]
    policies: list[BotPolicy] = field(default_factory=list)
    endpoints: list[Endpoint] = field(default_factory=list)
    compliance: Compliance = field(default_factory=Compliance)
    storesets: list[StoreSet] = field(default_factory=list)  # store lists campaigns route to


# ----------------------------------------------------------------------- outputs
class Mark(StrEnum):
    ADDED = "+"
    CHANGED = "~"
    REMOVED = "-"


class Risk(StrEnum):
    """Risk flags a reviewer should look at; the value is the phrase used in summaries."""

    NEW_DOMAIN = "new domain"
    OUTSIDE_ALLOWLIST = "domain outside the allowlist"
    HTTP = "plain http"
    SHORTENER = "public shortener"
    SEGMENTS_UP = "message needs more segments"
    OVER_BUDGET = "message over the segment budget"
    ENCODING = "message switched to UCS-2"
    OPT_OUT_DROPPED = "opt-out wording dropped"
    UNREACHABLE = "rule became unreachable"
    FINDING = "compliance finding newly fails"
    RESHUFFLE = "experiment reshuffled"
    PRIVACY = "more data sent to a webhook"
    CATEGORY = "category changed"


@dataclass(frozen=True)
class Item:
    """One changed thing: ``label`` with its value before and after (None when added/removed)."""

    mark: Mark
    label: str
    before: str | None = None
    after: str | None = None
    risks: tuple[Risk, ...] = ()
    multiline: bool = False  # message text: rendered as before/after blocks


@dataclass(frozen=True)
class Section:
    title: str
    items: list[Item]


@dataclass(frozen=True)
class CampaignChange:
    id: str
    name: str
    mark: Mark
    category: str | None
    reviewers: tuple[str, ...]  # required by the compliance policy for this category
    sections: list[Section]
    routes_changed: int
    impact: AudienceImpact | None = None

    @property
    def risks(self) -> Counter[Risk]:
        return Counter(r for s in self.sections for i in s.items for r in i.risks)


@dataclass(frozen=True)
class Review:
    base: str
    head: str
    campaigns: list[CampaignChange]
    policies: list[Section]  # bot policies, webhook endpoints, compliance policy

    @property
    def changed(self) -> bool:
        return bool(self.campaigns or self.policies)

    @property
    def risks(self) -> Counter[Risk]:
        total: Counter[Risk] = Counter()
        for c in self.campaigns:
            total.update(c.risks)
        for s in self.policies:
            total.update(r for i in s.items for r in i.risks)
        return total

    def count(self, mark: Mark) -> int:
        return sum(1 for c in self.campaigns if c.mark is mark)

    @property
    def routes_changed(self) -> int:
        return sum(c.routes_changed for c in self.campaigns)

    @property
    def reviewers(self) -> tuple[str, ...]:
        return tuple(sorted({r for c in self.campaigns for r in c.reviewers}))

    def summary(self) -> str:
        """The one line a reviewer reads first."""
        if not self.changed:
            return "No change for recipients: both revisions compile to the same campaigns and policies."
        parts = []
        for mark, word in ((Mark.CHANGED, "changed"), (Mark.ADDED, "added"), (Mark.REMOVED, "removed")):
            n = self.count(mark)
            if n:
                parts.append(f"{n} {word}")
        head = f"Campaigns: {', '.join(parts)}" if parts else "No campaign changed"
        head += f"; {plural(self.routes_changed, 'route')} changed"
        if self.policies:
            head += f"; {plural(sum(len(s.items) for s in self.policies), 'policy change')}"
        impacts = [c.impact for c in self.campaigns if c.impact is not None]
        if impacts:
            moved = sum(i.destination_changed for i in impacts)
            head += (f"; with the audience: {plural(moved, 'recipient')} sent somewhere else, "
                     f"{sum(i.added for i in impacts):,} new, {sum(i.removed for i in impacts):,} no longer messaged")
        risks = self.risks
        if risks:
            head += ". Risk: " + ", ".join(f"{n} × {r.value}" for r, n in sorted(risks.items(), key=_risk_order))
        else:
            head += ". No risk flags"
        return head + "."


def _risk_order(entry: tuple[Risk, int]) -> int:
    return list(Risk).index(entry[0])


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s" if not word.endswith("y") else f"{n:,} {word[:-1]}ies"


