"""User-agent lists compiled for search: plain text as a trie, regular expressions behind a prefilter.

Python's ``re`` has no multi-pattern search: an alternation of ~1,500 crawler
patterns costs hundreds of microseconds per agent. Most patterns are plain
text, so they become one trie-factored expression; the rest run only when the
text they require is in the agent (a C substring test). docs/bots.md,
"Matching cost".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ._lists import CURATED, crawler_entries


class PolicyError(ValueError):
    """A policy record the classifier cannot run (the spec rejects these earlier)."""


_LITERAL = re.compile(r"(?:[^\\.^$*+?{}\[\]|()]|\\[^A-Za-z0-9])+")


def trie_regex(words: list[str]) -> str:
    """One regex matching any of ``words``, factored as a trie.

    Python's ``re`` tries the branches of an alternation one by one at every
    position; a trie leaves one branch per distinct next character, which makes
    a search over ~1,500 crawler names an order of magnitude cheaper. Where one
    word is a prefix of another, the rest is an optional greedy group, so the
    matched text is the longest word at the leftmost position that has one
    (iMessage's agent wins over the Facebook name it starts with).
    """
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + emit(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return "(?:" + body + ")?" if "" in node else body

    return emit(trie)


def required_literal(pattern: str) -> str | None:
    """The longest plain-text run every match of ``pattern`` must contain, or None.

    Used as a prefilter: ``literal in ua`` is a C substring search, far cheaper
    than running the regex at every position. Conservative: a top-level ``|``,
    inline flags, or anything unusual gives None (the regex always runs).
    """
    if re.search(r"\(\?[aiLmsux-]+[):]", pattern):
        return None
    runs: list[str] = []
    cur = ""
    depth = 0
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        lit: str | None = None
        if ch == "\\":
            nxt = pattern[i + 1] if i + 1 < n else ""
            if nxt and not nxt.isalnum():
                lit = nxt
            i += 2
        elif ch == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
        elif ch == "(":
            depth += 1
            i += 1
        elif ch == ")":
            depth -= 1
            i += 1
        elif ch == "|":
            if depth == 0:
                return None
            i += 1
        elif ch in "*?{":
            cur = cur[:-1]  # the previous atom is optional or repeated
            if ch == "{":
                close = pattern.find("}", i)
                i = n if close < 0 else close + 1
            else:
                i += 1
        elif ch in ".^$+":
            i += 1
        else:
            lit = ch
            i += 1
        if lit is not None and depth == 0:
            if i < n and pattern[i] in "*?{":
                runs.append(cur)
                cur = ""
                continue
            cur += lit
            if i < n and pattern[i] == "+":
                runs.append(cur)
                cur = ""
            continue
        if ch in "*?{":
            runs.append(cur)
            cur = ""
            continue
        runs.append(cur)
        cur = ""
    runs.append(cur)
    best = max(runs, key=len)
    return best or None


def split_alternatives(pattern: str) -> list[str]:
    """Split a pattern at its top-level ``|`` (not inside groups or classes)."""
    parts: list[str] = []
    depth = 0
    start = 0
    i = 0
    n = len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "[":
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            i = j + 1
            continue
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
        i += 1
    parts.append(pattern[start:])
    return parts


def fold_pattern(pattern: str) -> str:
    """Lower-case a pattern's text but not its escapes (``\\S`` stays ``\\S``)."""
    return re.sub(r"\\.|.", lambda m: m.group(0) if m.group(0)[0] == "\\" else m.group(0).lower(), pattern, flags=re.S)


class PatternList:
    """One user-agent list, compiled for search: which entry (by detail) matches, if any.

    Patterns that are plain text (most of the crawler list) go into one
    trie-factored regex whose matched text names the entry; each real regular
    expression runs only when the plain text it requires is in the agent.
    Case-insensitive lists are folded to lower case (pattern text and agent),
    which keeps ``re``'s fast literal paths that ``re.IGNORECASE`` disables.
    """

    __slots__ = ("_fold", "_literal_detail", "_literal_rx", "_regexes", "_unless")

    def __init__(self, entries: list[tuple[str, str]], ignore_case: bool, unless: Sequence[str] = ()) -> None:
        self._fold = ignore_case
        # The whole list stays silent on an agent matching one of these (case-sensitive).
        self._unless = re.compile("|".join(f"(?:{u})" for u in unless)) if unless else None
        self._literal_detail: dict[str, str] = {}
        self._regexes: list[tuple[str | None, re.Pattern[str], str]] = []
        for detail, raw in entries:
            if not _LITERAL.fullmatch(raw):
                re.compile(raw)  # a bad pattern fails here, naming itself
            folded = fold_pattern(raw) if ignore_case else raw
            branches = split_alternatives(folded)
            if any(not b or re.search(r"\(\?[aiLmsux-]+[):]", b) for b in branches):
                branches = [folded]  # inline flags or an empty branch: keep it whole
            for pattern in branches:
                if _LITERAL.fullmatch(pattern):
                    text = re.sub(r"\\(.)", r"\1", pattern)
                    self._literal_detail.setdefault(text, detail)
                else:
                    self._regexes.append((required_literal(pattern), re.compile(pattern), detail))
        words = list(self._literal_detail)
        self._literal_rx = re.compile(trie_regex(words)) if words else None

    def match(self, ua: str) -> str | None:
        """The detail of an entry that matches ``ua``, or None."""
        if self._unless is not None and self._unless.search(ua) is not None:
            return None
        if self._fold:
            ua = ua.lower()
        if self._literal_rx is not None:
            m = self._literal_rx.search(ua)
            if m is not None:
                return self._literal_detail[m.group(0)]
        for literal, rx, detail in self._regexes:
            if (literal is None or literal in ua) and rx.search(ua) is not None:
                return detail
        return None


def compile_list(params: Mapping[str, Any]) -> PatternList:
    """Compile one ``user-agent`` signal's list (built-in entries, minus removed, plus added)."""
    name = params.get("list")
    remove = set(params.get("remove", ()))
    added = [(a.get("name") or "custom", a["pattern"]) for a in params.get("add", ())]
    unless = list(params.get("unless", ()))
    try:
        if name == "crawlers":
            tags = set(params.get("tags", ()))
            entries: list[tuple[str, str]] = []
            for pattern, entry_tags in crawler_entries():
                if pattern in remove or (tags and not tags.intersection(entry_tags)):
                    continue
                # Detail: the entry's first tag for the catch-all signal (crawler:seo);
                # none for a signal that already selects by tag.
                entries.append(("" if tags or not entry_tags else entry_tags[0], pattern))
            entries.extend((n if n != "custom" else "", p) for n, p in added)
            return PatternList(entries, False, unless)
        if name not in CURATED:
            raise PolicyError(f"unknown user-agent list {name!r}; expected one of {sorted(CURATED)} or 'crawlers'")
        known = {n for n, _ in CURATED[name]} | {p for _, p in CURATED[name]}
        unknown = sorted(remove - known)
        if unknown:
            # A removal that removes nothing is a typo that would silently keep the entry.
            names = ", ".join(n for n, _ in CURATED[name])
            raise PolicyError(f"cannot remove {unknown} from {name!r}: not an entry; entries are {names}")
        entries = [(n, p) for n, p in CURATED[name] if n not in remove and p not in remove]
        return PatternList(entries + added, True, unless)
    except re.error as exc:
        raise PolicyError(f"invalid pattern in user-agent list {name!r}: {exc}") from exc
