"""Rendering the review: summary first, folded sections, legend, GitHub's size limit (issue 8)."""

from __future__ import annotations

import json

import jinja2
import pytest
from review_factories import COMPLIANCE, campaign, rev

from engine.review import render
from engine.review.diff import Revision, diff_revisions
from engine.review.render import (
    GITHUB_COMMENT_LIMIT,
    MARKER,
    render_json,
    render_markdown,
    render_text,
)
from engine.snapshot import Campaign, Country, Rule, Template


def test_no_change_says_so_plainly_and_has_no_legend():
    r = diff_revisions(rev(campaign(), label="main"), rev(campaign(), label="work tree"))
    md = render_markdown(r)
    assert md.startswith(MARKER)
    assert "No change for recipients" in md and "Legend" not in md and "<details>" not in md
    assert "No change for recipients" in render_text(r)
    assert json.loads(render_json(r))["changed"] is False


def test_legend_lists_only_the_symbols_used():
    head = campaign(default=Template(["https://www.acme.example/new"]))
    md = render_markdown(diff_revisions(rev(campaign()), rev(head)))
    legend = md.strip().splitlines()[-1]
    assert "~ changed" in legend and "+ added" not in legend and "- removed" not in legend
    assert "⚠" not in legend  # no risk flag: same domain


def test_long_sections_are_folded():
    rules = [Rule(f"r{i}", [Country([f"C{i}"])], Template([f"https://www.acme.example/{i}"])) for i in range(20)]
    md = render_markdown(diff_revisions(rev(campaign()), rev(campaign(routes=rules))))
    assert "<details><summary><b>Destinations and rules</b>" in md


def _many(n: int, prefix: str) -> list[Campaign]:
    return [campaign(f"{prefix}{i:04d}", name=f"Campaign {i}",
                     routes=[Rule(f"r{j}", [Country(["DE"])], Template([f"https://www.acme.example/{prefix}/{i}/{j}"]))
                             for j in range(10)]) for i in range(n)]


def test_markdown_stays_under_githubs_limit_and_says_where_the_rest_is():
    r = diff_revisions(Revision("main", _many(300, "a"), compliance=COMPLIANCE),
                       Revision("pr", _many(300, "b"), compliance=COMPLIANCE))
    full = render_text(r)
    assert len(full) > GITHUB_COMMENT_LIMIT
    md = render_markdown(r, full_report="[the artifact](https://ci.example/run/1)")
    assert len(md) <= GITHUB_COMMENT_LIMIT
    assert "campaign sections are not shown" in md and "https://ci.example/run/1" in md
    assert md.count("```") % 2 == 0
    # the summary table still names every campaign
    assert "`a0299`" in md and "`b0000`" in md


@pytest.mark.parametrize("limit", [2_000, 8_000])
def test_a_tiny_limit_is_still_respected(limit):
    r = diff_revisions(Revision("main", _many(30, "a"), compliance=COMPLIANCE),
                       Revision("pr", _many(30, "b"), compliance=COMPLIANCE))
    md = render_markdown(r, limit=limit)
    assert len(md) <= limit and "cut to fit" in md and md.count("```") % 2 == 0


def test_templates_fail_on_a_missing_variable():
    with pytest.raises(jinja2.UndefinedError):
        render._env.get_template("review.md.j2").render({"marker": MARKER})


def test_json_has_counts_and_risk_codes():
    head = campaign(default=Template(["http://bit.ly/x"]))
    data = json.loads(render_json(diff_revisions(rev(campaign()), rev(head))))
    assert data["counts"] == {"added": 0, "changed": 1, "removed": 0, "routes_changed": 1}
    assert data["risks"] == {"http": 1, "new-domain": 1, "outside-allowlist": 1, "shortener": 1}
    (c,) = data["campaigns"]
    assert c["sections"][0]["items"][0]["risks"] == ["new-domain", "outside-allowlist", "http", "shortener"]


def test_public_names_are_exactly_all():
    import engine.review as review

    public = {n for n in vars(review) if not n.startswith("_")} - {"diff", "render", "impact"}
    assert sorted(review.__all__) == review.__all__
    assert public == set(review.__all__)
