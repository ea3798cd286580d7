"""No input makes validate crash: any edit of a campaign file yields a plan or
located diagnostics, never an exception (STYLE.md section 7: no traceback)."""

from __future__ import annotations

import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.compiler._link import link_config

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = (ROOT / "campaigns" / "spring-sale.yaml").read_text()
SNIPPETS = [":", "- ", "{", "}", "[", "]", "&a ", "*a", "!t ", "\t", "\n", "  ", "'", '"', "{{", "}}", "#",
            "x", "0", "-1", "null", "---\n", "…", "😀", "contry: DE", "to: http://bit.ly/x", "days: [sun]"]


@st.composite
def edited(draw: st.DrawFn) -> str:
    text = EXAMPLE
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        if draw(st.booleans()):
            text = text[:at] + draw(st.sampled_from(SNIPPETS)) + text[at:]
        else:
            text = text[:at] + text[at + draw(st.integers(1, 30)):]
    return text


def test_edits_never_crash(tmp_path_factory) -> None:
    repo = tmp_path_factory.mktemp("repo")
    for folder in ("campaigns", "policies", "stores"):
        shutil.copytree(ROOT / folder, repo / folder)
    target = repo / "campaigns" / "spring-sale.yaml"

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(edited())
    def check(text: str) -> None:
        target.write_text(text)
        result = link_config(repo)
        if result.plan is None:
            assert result.errors
            for d in result.errors:
                assert d.code[0] == "E" and d.code[1] in "1234"
                if d.span is not None and d.span.path == "campaigns/spring-sale.yaml":
                    assert 1 <= d.span.line <= text.count("\n") + 2
        else:
            assert any(c.record.source == "campaigns/spring-sale.yaml" for c in result.plan.campaigns)

    check()
