"""The ``kind: bots`` language: policies/bots.yaml is the built-in default, errors are located."""

from __future__ import annotations

from pathlib import Path

import pytest

import engine.bots
from engine.bots import compile_policy, default_policy
from engine.diagnostics import DiagnosticsError
from engine.spec import BotPolicySpec, load_yaml, parse_spec
from engine.spec import bots as spec_bots

ROOT = Path(__file__).resolve().parents[3]


def _parse(text: str, path: str = "policies/test.yaml") -> tuple[BotPolicySpec | None, list]:
    return parse_spec(load_yaml(path, text), BotPolicySpec)


def test_policies_bots_yaml_is_exactly_the_built_in_default() -> None:
    spec, problems = _parse((ROOT / "policies/bots.yaml").read_text(), "policies/bots.yaml")
    assert problems == []
    assert spec is not None
    record = spec.to_record("policies/bots.yaml")
    default = default_policy()
    assert record.signals == default.signals
    assert record.answers == default.answers
    assert (record.id, record.version, record.weak_threshold, record.weak_verdict) == (
        default.id, default.version, default.weak_threshold, default.weak_verdict)
    assert record.source == "policies/bots.yaml"


def test_spec_and_engine_agree_on_names() -> None:
    assert spec_bots.SIGNAL_KINDS == engine.bots.SIGNAL_KINDS
    assert set(spec_bots.ListName.__args__) == set(engine.bots.LIST_NAMES)
    assert set(spec_bots.VerdictName.__args__) == set(engine.bots.VERDICT_NAMES)
    assert set(spec_bots.AnswerName.__args__) == set(engine.bots.ANSWERS)


def test_version_changes_with_content_not_with_source_or_description() -> None:
    base = "kind: bots\nid: strict\nweak-threshold: 2\n"
    a, _ = _parse(base)
    b, _ = _parse(base + "description: stricter\n")
    c, _ = _parse(base.replace("2", "1"))
    assert a is not None and b is not None and c is not None
    assert a.to_record("x.yaml").version == b.to_record("y.yaml").version
    assert a.to_record("x.yaml").version != c.to_record("x.yaml").version


def test_minimal_file_compiles_and_runs_the_default_signals() -> None:
    spec, problems = _parse("kind: bots\nid: lean\n")
    assert problems == [] and spec is not None
    record = spec.to_record("policies/lean.yaml")
    assert record.signals == []
    clf = compile_policy(record)
    assert clf.policy_ref == f"lean@{record.version}"
    assert clf.classify(engine.bots.RequestFacts("GET", "curl/8.4.0", {})).verdict == "bot"


def test_custom_policy_round_trips_into_the_classifier() -> None:
    text = """\
kind: bots
id: strict
weak-threshold: 1
answers:
  scanner: redirect
signals:
  - kind: user-agent
    list: http-libraries
    verdict: bot
    reason: tool
    remove: [curl]
    add:
      - name: acme
        pattern: 'AcmeProbe/\\d'
  - kind: network
    cidrs: [203.0.113.0/24]
    reason: dc
"""
    spec, problems = _parse(text)
    assert problems == [] and spec is not None
    clf = compile_policy(spec.to_record("policies/strict.yaml"))
    facts = engine.bots.RequestFacts
    assert clf.classify(facts("GET", "AcmeProbe/3", {})).reasons == ("tool:acme",)
    assert clf.classify(facts("GET", "curl/8.4.0", {})).verdict == "human"
    assert clf.classify(facts("GET", "x", {}, client_ip="203.0.113.9")).reasons == ("dc:cidr",)
    assert clf.classify(facts("GET", "x", {}, client_ip="203.0.113.9")).verdict == "suspect"


@pytest.mark.parametrize(("yaml_text", "code", "line", "needle"), [
    ("kind: bots\nsignals:\n  - kind: user-agent\n    list: crawler\n    verdict: bot\n    reason: c\n",
     "E206", 4, "crawlers"),
    ("kind: bots\nsignals:\n  - kind: network\n    cidrs: [10.0.0.1/8]\n", "E241", 4, "10.0.0.0/8"),
    ("kind: bots\nsignals:\n  - kind: user-agent\n    list: http-libraries\n    verdict: bot\n    reason: t\n"
     "    add:\n      - pattern: '(unclosed'\n", "E240", 8, "regular expression"),
    ("kind: bots\nsignals:\n  - kind: user-agent\n    list: crawlers\n    verdict: bot\n    reason: c\n"
     "    remove: ['Googlebot/']\n", "E242", 3, "Googlebot\\/"),
    ("kind: bots\nsignals:\n  - kind: user-agent\n    list: crawlers\n    verdict: bot\n    reason: c\n"
     "    tags: [seeo]\n", "E242", 3, "seo"),
    ("kind: bots\nsignals:\n  - kind: timing\n  - kind: timing\n", "E243", 1, "two signals"),
    ("kind: bots\nsignals:\n  - kind: timing\n    reason: Fast After\n", "E243", 4, "fast-after"),
    ("kind: bots\nsignals:\n  - kind: timng\n", "E207", 3, "timing"),
    ("kind: bots\nanswers:\n  preview: cloak\n", "E206", 3, "preview-page"),
    ("kind: bots\nweak-treshold: 3\n", "E203", 2, "weak-threshold"),
], ids=["unknown list", "host bits", "bad regex", "unknown crawler pattern", "unknown tag",
        "duplicate reason", "bad reason", "unknown kind", "unknown answer", "typo field"])
def test_errors_are_located_and_say_how_to_fix(yaml_text: str, code: str, line: int, needle: str) -> None:
    spec, problems = _parse(yaml_text)
    assert spec is None
    assert [p.code for p in problems][:1] == [code]
    first = problems[0]
    assert first.span is not None and first.span.line == line
    text = " ".join(filter(None, [first.summary, first.expected, first.hint]))
    assert needle in text


def test_yaml_anchors_are_refused_by_the_shared_loader() -> None:
    with pytest.raises(DiagnosticsError):
        load_yaml("policies/x.yaml", "kind: bots\nx: &a 1\ny: *a\n")
