"""The compliance diff between two compiled revisions of the config, and its renderers.

``diff_revisions`` (pure) compares what two revisions compile to and returns a
``Review``; ``render_markdown`` / ``render_text`` / ``render_json`` print it;
``engine.review.impact.audience_impacts`` counts the recipients a change moves
when the audience is at hand. See docs/review.md.
"""

from ._model import (
    AudienceImpact,
    CampaignChange,
    Compliance,
    Item,
    Mark,
    Review,
    Revision,
    Risk,
    Section,
)
from .diff import diff_revisions
from .render import render_json, render_markdown, render_text

__all__ = [
    "AudienceImpact",
    "CampaignChange",
    "Compliance",
    "Item",
    "Mark",
    "Review",
    "Revision",
    "Risk",
    "Section",
    "diff_revisions",
    "render_json",
    "render_markdown",
    "render_text",
]
