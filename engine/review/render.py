"""Render a ``Review`` as a pull-request comment (markdown), plain text or JSON.

Rendering only: every decision about *what* changed lives in ``diff.py``.
Templates sit in ``templates/`` and run with ``StrictUndefined``, so a missing
variable fails the render instead of printing nothing.

GitHub refuses comments over 65,536 characters. The markdown renderer first
tries the whole review; when it is too long it keeps the summary table and as
many campaign sections as fit, and says where the full report is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jinja2

from .diff import CampaignChange, Item, Mark, Review, Risk, Section

#: GitHub's limit on an issue or pull-request comment body, in characters.
GITHUB_COMMENT_LIMIT = 65_536
#: Hidden marker the workflow uses to find and update its one comment per pull request.
MARKER = "<!-- smslink-review -->"
#: Sections longer than this many lines are folded into <details>.
FOLD_LINES = 12
#: Items shown per section before "... and N more".
MAX_ITEMS = 100

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("engine.review", "templates"),
    undefined=jinja2.StrictUndefined,
    autoescape=False,  # markdown and text; HTML bits are escaped with |e explicitly
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_env.filters["cell"] = lambda s: str(s).replace("|", "\\|").replace("\n", " ")
_env.filters["inline"] = lambda s: str(s).replace("\n", " ").replace("`", "'")


def _fence_safe(text: str) -> str:
    return text.replace("```", "'''")


def _item_lines(item: Item) -> list[str]:
    mark = item.mark.value
    if item.multiline:
        lines = [f"{mark} {item.label}"]
        lines += [f"-     {line}" for line in (item.before or "").splitlines()] if item.before else []
        lines += [f"+     {line}" for line in (item.after or "").splitlines()] if item.after else []
    elif item.mark is Mark.ADDED or (item.mark is Mark.CHANGED and item.before is None):
        lines = [f"{mark} {item.label}: {item.after}"]
    elif item.mark is Mark.REMOVED and item.after is None:
        lines = [f"{mark} {item.label}: {item.before}"]
    else:
        lines = [f"{mark} {item.label}", f"-     {item.before}", f"+     {item.after}"]
    if item.risks:
        lines.append("  ⚠ " + ", ".join(r.value for r in item.risks))
    return lines


@dataclass
class _SectionView:
    title: str
    body: str
    count: str
    folded: bool


def _section_view(section: Section) -> _SectionView:
    lines: list[str] = []
    for item in section.items[:MAX_ITEMS]:
        lines += _item_lines(item)
    extra = len(section.items) - MAX_ITEMS
    if extra > 0:
        lines.append(f"  ... and {extra:,} more (see the full report)")
    n = len(section.items)
    count = f"{n} change" if n == 1 else f"{n} changes"
    return _SectionView(section.title, _fence_safe("\n".join(lines)), count, len(lines) > FOLD_LINES)


def _campaign_view(c: CampaignChange) -> dict[str, Any]:
    risks = c.risks
    return {
        "mark": c.mark.value,
        "id": c.id,
        "name": c.name,
        "category": c.category,
        "reviewers": list(c.reviewers),
        "n_items": sum(len(s.items) for s in c.sections),
        "risk_text": ", ".join(f"{n} × {r.value}" for r, n in sorted(risks.items(), key=lambda e: list(Risk).index(e[0]))),
        "sections": [_section_view(s) for s in c.sections],
    }


def _legend(review: Review) -> str:
    used = {c.mark for c in review.campaigns}
    used |= {i.mark for c in review.campaigns for s in c.sections for i in s.items}
    used |= {i.mark for s in review.policies for i in s.items}
    parts = [f"{m.value} {name}" for m, name in ((Mark.ADDED, "added"), (Mark.CHANGED, "changed"),
                                                 (Mark.REMOVED, "removed")) if m in used]
    if review.risks:
        parts.append("⚠ risk flag")
    return "Legend: " + " · ".join(parts) if parts else ""


def _context(review: Review, shown: int | None, truncated: str) -> dict[str, Any]:
    views = [_campaign_view(c) for c in review.campaigns]
    return {
        "marker": MARKER,
        "base": review.base,
        "head": review.head,
        "summary": review.summary(),
        "reviewers": list(review.reviewers),
        "campaigns": views,
        "shown": views if shown is None else views[:shown],
        "policies": [_section_view(s) for s in review.policies],
        "truncated": truncated,
        "legend": _legend(review),
    }


def render_text(review: Review) -> str:
    """The whole review as plain text (job logs, terminals, the job summary's fallback)."""
    return _env.get_template("review.txt.j2").render(_context(review, None, ""))


def render_markdown(
    review: Review, *, limit: int = GITHUB_COMMENT_LIMIT, full_report: str = "the `review` build artifact",
) -> str:
    """The review as a GitHub comment, under ``limit`` characters.

    Parameters
    ----------
    limit:
        Maximum length; sections that do not fit are left out with a note.
    full_report:
        Where the note sends readers for everything (a link or an artifact name).
    """
    template = _env.get_template("review.md.j2")
    full = template.render(_context(review, None, ""))
    if len(full) <= limit:
        return full
    n = len(review.campaigns)

    def attempt(k: int) -> str:
        note = (f"This review was cut to fit a GitHub comment: {n - k:,} of {n:,} campaign sections "
                f"are not shown. The full report is {full_report}.")
        return template.render(_context(review, k, note))

    lo, hi = 0, n  # largest k whose render fits
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if len(attempt(mid)) <= limit:
            lo = mid
        else:
            hi = mid - 1
    text = attempt(lo)
    if len(text) <= limit:
        return text
    note = f"\n\n> [!WARNING]\n> This review was cut to fit a GitHub comment. The full report is {full_report}.\n"
    cut = text[: limit - len(note) - 8].rsplit("\n", 1)[0]
    if cut.count("```") % 2:
        cut += "\n```"
    return cut + note


def review_to_json(review: Review) -> dict[str, Any]:
    """The review as plain data (for tools); the same facts the other formats show."""

    def items(section: Section) -> dict[str, Any]:
        return {"title": section.title, "items": [
            {"mark": i.mark.value, "label": i.label, "before": i.before, "after": i.after,
             "risks": [r.name.lower().replace("_", "-") for r in i.risks]}
            for i in section.items
        ]}

    return {
        "base": review.base,
        "head": review.head,
        "changed": review.changed,
        "summary": review.summary(),
        "counts": {
            "added": review.count(Mark.ADDED), "changed": review.count(Mark.CHANGED),
            "removed": review.count(Mark.REMOVED), "routes_changed": review.routes_changed,
        },
        "risks": {r.name.lower().replace("_", "-"): n for r, n in sorted(review.risks.items())},
        "reviewers": list(review.reviewers),
        "campaigns": [
            {
                "id": c.id, "name": c.name, "mark": c.mark.value, "category": c.category,
                "reviewers": list(c.reviewers), "routes_changed": c.routes_changed,
                "audience": None if c.impact is None else {
                    "recipients_before": c.impact.recipients_before,
                    "recipients_after": c.impact.recipients_after,
                    "added": c.impact.added, "removed": c.impact.removed,
                    "destination_changed": c.impact.destination_changed,
                },
                "sections": [items(s) for s in c.sections],
            }
            for c in review.campaigns
        ],
        "policies": [items(s) for s in review.policies],
    }


def render_json(review: Review) -> str:
    return json.dumps(review_to_json(review), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
