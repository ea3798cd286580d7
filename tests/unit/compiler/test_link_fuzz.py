"""No input makes validate crash: any edit of a campaign, policy or store file yields a plan or
located diagnostics, never an exception (STYLE.md section 7: no traceback)."""

from __future__ import annotations

import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.compiler._link import link_config

ROOT = Path(__file__).resolve().parents[3]
FILES = [
    "campaigns/spring-sale.yaml",
    "policies/compliance.yaml",
    "policies/bots.yaml",
    "policies/webhooks.yaml",
    "stores/acme-stores.csv",
]
SNIPPETS = [
    ":",
    "- ",
    "{",
    "}",
    "[",
    "]",
    "&a ",
    "*a",
    "!t ",
    "\t",
    "\n",
    "  ",
    "'",
    '"',
    "{{",
    "}}",
    "#",
    "x",
    "0",
    "-1",
    "null",
    "---\n",
    "…",
    "😀",
    "contry: DE",
    "to: http://bit.ly/x",
    "days: [sun]",
]


@st.composite
def edited(draw: st.DrawFn) -> tuple[str, str]:
    rel = draw(st.sampled_from(FILES))
    text = (ROOT / rel).read_text()
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(SNIPPETS)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 30)) :]
    return rel, text


def test_edits_never_crash(tmp_path_factory) -> None:
    repo = tmp_path_factory.mktemp("repo")
    for folder in ("campaigns", "policies", "stores"):
        shutil.copytree(ROOT / folder, repo / folder)

    @settings(
        max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(edited())
    def check(edit: tuple[str, str]) -> None:
        rel, text = edit
        original = (repo / rel).read_text()
        (repo / rel).write_text(text)
        try:
            result = link_config(repo)
        finally:
            (repo / rel).write_text(original)
        if result.plan is None:
            assert result.errors
            for d in result.errors:
                assert d.code[0] == "E" and d.code[1] in "1234"
                if d.span is not None and d.span.path == rel:
                    assert 1 <= d.span.line <= text.count("\n") + 2
        else:
            assert len(result.plan.campaigns) == 2

    check()
