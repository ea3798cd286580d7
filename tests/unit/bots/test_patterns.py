"""The list compiler agrees with plain ``re`` search: same matches, only faster."""

from __future__ import annotations

import re

import crawleruseragents
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.bots._patterns import (
    PatternList,
    compile_list,
    fold_pattern,
    required_literal,
    split_alternatives,
    trie_regex,
)

HUMANS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0",
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36",
]


def test_crawler_list_matches_exactly_what_the_package_matches() -> None:
    """Every upstream example and a few browsers: our compiled list says yes exactly when upstream does."""
    plist = compile_list({"list": "crawlers"})
    agents = [i for d in crawleruseragents.CRAWLER_USER_AGENTS_DATA for i in d.get("instances", [])] + HUMANS
    disagreements = [ua for ua in agents if (plist.match(ua) is not None) != crawleruseragents.is_crawler(ua)]
    assert disagreements == []
    assert len(agents) > 2000


words = st.lists(st.text(alphabet="abc./-", min_size=1, max_size=5), min_size=1, max_size=12)


@settings(max_examples=200, deadline=None)
@given(words=words, text=st.text(alphabet="abc./- x", max_size=30))
def test_trie_matches_when_any_word_is_a_substring(words: list[str], text: str) -> None:
    rx = re.compile(trie_regex(words))
    m = rx.search(text)
    assert (m is not None) == any(w in text for w in words)
    if m is not None:
        assert m.group(0) in words


@pytest.mark.parametrize(("pattern", "literal"), [
    ("AdsBot-Google([^-]|$)", "AdsBot-Google"),
    ("[wW]get", "get"),
    ("S[eE][mM]rushBot", "rushBot"),
    ("(sistrix|SISTRIX) [cC]rawler", "rawler"),
    (r"BlogTraffic\/\d\.\d+ Feed-Fetcher", " Feed-Fetcher"),
    (r"\bInstagram \d", "Instagram "),
    ("colou?r", "colo"),
    ("ab+c", "ab"),
    ("x{2}yz", "yz"),
    ("Automaton|Newsify", None),
    ("(?i)bot", None),
])
def test_required_literal(pattern: str, literal: str | None) -> None:
    assert required_literal(pattern) == literal


@settings(max_examples=200, deadline=None)
@given(pattern=st.sampled_from(["AdsBot-Google([^-]|$)", "[wW]get", "S[eE][mM]rushBot", "colou?r", "ab+c",
                                r"x{2}yz", r"Spider[\s\S]*spider\.com", r"(^| )sentry\/"]),
       text=st.text(alphabet="abcolurxyzwWgetSsEeMmRrushBotAdsGgole-/ pid.cmnt", max_size=40))
def test_every_match_contains_the_required_literal(pattern: str, text: str) -> None:
    m = re.search(pattern, text)
    literal = required_literal(pattern)
    if m is not None and literal is not None:
        assert literal in text


def test_split_alternatives_respects_groups_classes_and_escapes() -> None:
    assert split_alternatives(r"a|b(c|d)|[|]|\|x") == ["a", "b(c|d)", "[|]", r"\|x"]


def test_fold_pattern_keeps_escapes() -> None:
    assert fold_pattern(r"\bInstagram \S+\D") == r"\binstagram \S+\D"


def test_curated_lists_are_case_insensitive() -> None:
    plist = PatternList([("acme", "AcmeProbe/"), ("re", r"Zeta\d")], ignore_case=True)
    assert plist.match("x ACMEPROBE/1") == "acme"
    assert plist.match("zeta9") == "re"
    assert plist.match("Zeta") is None


def test_unless_silences_the_list() -> None:
    plist = PatternList([("instagram", r"\bInstagram \d")], ignore_case=True, unless=["https?://"])
    assert plist.match("Mozilla/5.0 Instagram 350.0") == "instagram"
    assert plist.match("Mozilla/5.0 Instagram 350.0 (+http://bot.example)") is None
