"""Golden files of the rendered review for each base/head fixture repository (issue 8).

Each folder under repos/<case>/ holds two small real config trees, base/ and
head/. Both are loaded and linked by the compiler, diffed by engine.review and
rendered as markdown (the pull-request comment), text and JSON; the output is
compared byte for byte with __snapshots__/. To regenerate after an intended
change:

    .venv/bin/pytest tests/golden/review --snapshot-update

and review the diff of the golden file like code.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.cli._review import load_revision
from engine.review.diff import Revision, diff_revisions
from engine.review.render import render_json, render_markdown, render_text

REPOS = Path(__file__).parent / "repos"
CASES = sorted(p.name for p in REPOS.iterdir() if p.is_dir())


def _side(case: str, side: str) -> Revision:
    rev, errors = load_revision(REPOS / case / side, side, None)
    assert rev is not None, errors
    return rev


def _review(case: str):
    return diff_revisions(_side(case, "base"), _side(case, "head"))


@pytest.mark.parametrize("case", CASES)
def test_markdown(case: str, snapshot) -> None:
    assert render_markdown(_review(case)) == snapshot


@pytest.mark.parametrize("case", CASES)
def test_text(case: str, snapshot) -> None:
    assert render_text(_review(case)) == snapshot


def test_at_least_the_four_required_cases() -> None:
    assert {"no-change", "route-new-domain", "message-segments-opt-out", "campaign-added-removed"} <= set(CASES)


def test_reformatted_yaml_is_no_change() -> None:
    review = _review("no-change")
    assert not review.changed
    assert json.loads(render_json(review))["changed"] is False


def test_route_change_flags_the_new_domain() -> None:
    data = json.loads(render_json(_review("route-new-domain")))
    assert data["risks"]["new-domain"] == 1 and "outside-allowlist" not in data["risks"]
    (campaign,) = data["campaigns"]
    labels = [i["label"] for s in campaign["sections"] for i in s["items"]]
    assert {"rule android-partner", "rule quebec-french: destination", "after the end"} <= set(labels)


def test_message_change_counts_segments_and_opt_out() -> None:
    data = json.loads(render_json(_review("message-segments-opt-out")))
    assert data["risks"] == {"opt-out-dropped": 1, "segments-up": 1}


def test_added_and_removed_campaigns_name_reviewers() -> None:
    review = _review("campaign-added-removed")
    assert [(c.id, c.mark.value) for c in review.campaigns] == [("vote-2027", "+"), ("spring-sale", "-")]
    assert review.reviewers == ("@acme/compliance-political",)


@pytest.mark.parametrize("case", CASES)
def test_no_token_or_secret_in_any_output(case: str) -> None:
    review = _review(case)
    head = _side(case, "head")
    tokens = {c.campaign_token for c in head.campaigns if c.campaign_token}
    for text in (render_markdown(review), render_text(review), render_json(review)):
        assert not any(t in text for t in tokens)
        assert "whsec_" not in text
