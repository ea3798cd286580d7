"""Compile a ``BotPolicy`` into a ``Classifier``: one pure function per policy.

Evaluation (docs/bots.md, "How a request is judged"): signals run in policy
order. A *strong* signal decides alone and stops. A strong signal whose verdict
is ``human`` (in-app browsers) is an exemption: it is recorded as a reason, and
later user-agent and header-shape signals are skipped, while weak network and
timing signals still count. *Weak* signals add their weight; when the sum
reaches ``weak_threshold`` the verdict is ``weak_verdict``; below it the click
is ``human`` and the weak reasons stay attached, so a single weak signal never
drops a person but is still visible in the log and to stream re-judging.

Cost: every user-agent-derived fact (list matches, the browser profile used by
the header-shape checks) is computed once per distinct User-Agent and kept in
a bounded LRU cache, so a repeated agent costs a few dictionary look-ups.
"""

from __future__ import annotations

import bisect
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from engine.snapshot import BotPolicy, BotSignal

from ._defaults import DEFAULT_ANSWERS, default_signals
from ._facts import VERDICT_NAMES, RequestFacts, Verdict
from ._lists import CURATED, crawler_entries

#: Distinct user agents remembered per classifier.
UA_CACHE_SIZE = 8192

ANSWERS: tuple[str, ...] = ("redirect", "preview-page", "prefetch")

_VERDICT_CACHE_SIZE = 4096
_HUMAN = Verdict("human", ())

_K_METHOD, _K_PREFETCH, _K_NO_UA, _K_UA, _K_SHAPE, _K_REFERER, _K_NETWORK, _K_TIMING = range(8)
_KINDS = {
    "method": _K_METHOD,
    "prefetch-header": _K_PREFETCH,
    "missing-user-agent": _K_NO_UA,
    "user-agent": _K_UA,
    "header-shape": _K_SHAPE,
    "referer": _K_REFERER,
    "network": _K_NETWORK,
    "timing": _K_TIMING,
}
SIGNAL_KINDS: tuple[str, ...] = tuple(_KINDS)

_HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "CONNECT"})

_CHROME = re.compile(r"(?:Chrome|Chromium)/(\d+)")
_FIREFOX = re.compile(r"Firefox/(\d+)")
_SAFARI_VERSION = re.compile(r"Version/(\d+)(?:\.(\d+))?")
_IOS_OTHER = re.compile(r"CriOS/|FxiOS/|EdgiOS/|OPiOS/")


class PolicyError(ValueError):
    """A policy record the classifier cannot run (the spec rejects these earlier)."""


# ------------------------------------------------------------------ user agents
_LITERAL = re.compile(r"(?:[^\\.^$*+?{}\[\]|()]|\\[^A-Za-z0-9])+")


def _trie_regex(words: list[str]) -> str:
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


def _required_literal(pattern: str) -> str | None:
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


def _split_alternatives(pattern: str) -> list[str]:
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


def _fold_pattern(pattern: str) -> str:
    """Lower-case a pattern's text but not its escapes (``\\S`` stays ``\\S``)."""
    return re.sub(r"\\.|.", lambda m: m.group(0) if m.group(0)[0] == "\\" else m.group(0).lower(), pattern, flags=re.S)


class _PatternList:
    """One user-agent list, compiled for search: which entry (by detail) matches, if any.

    Patterns that are plain text (most of the crawler list) go into one
    trie-factored regex whose matched text names the entry; each real regular
    expression runs only when the plain text it requires is in the agent.
    Case-insensitive lists are folded to lower case (pattern text and agent),
    which keeps ``re``'s fast literal paths that ``re.IGNORECASE`` disables.
    """

    __slots__ = ("_fold", "_literal_detail", "_literal_rx", "_regexes", "_unless")

    def __init__(self, entries: list[tuple[str, str]], ignore_case: bool, unless: list[str] = ()) -> None:  # type: ignore[assignment]
        self._fold = ignore_case
        # The whole list stays silent on an agent matching one of these (case-sensitive).
        self._unless = re.compile("|".join(f"(?:{u})" for u in unless)) if unless else None
        self._literal_detail: dict[str, str] = {}
        self._regexes: list[tuple[str | None, re.Pattern[str], str]] = []
        for detail, raw in entries:
            if not _LITERAL.fullmatch(raw):
                re.compile(raw)  # a bad pattern fails here, naming itself
            folded = _fold_pattern(raw) if ignore_case else raw
            branches = _split_alternatives(folded)
            if any(not b or re.search(r"\(\?[aiLmsux-]+[):]", b) for b in branches):
                branches = [folded]  # inline flags or an empty branch: keep it whole
            for pattern in branches:
                if _LITERAL.fullmatch(pattern):
                    text = re.sub(r"\\(.)", r"\1", pattern)
                    self._literal_detail.setdefault(text, detail)
                else:
                    self._regexes.append((_required_literal(pattern), re.compile(pattern), detail))
        words = list(self._literal_detail)
        self._literal_rx = re.compile(_trie_regex(words)) if words else None

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


def _compile_list(params: Mapping[str, Any]) -> _PatternList:
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
            return _PatternList(entries, False, unless)
        if name not in CURATED:
            raise PolicyError(f"unknown user-agent list {name!r}; expected one of {sorted(CURATED)} or 'crawlers'")
        entries = [(n, p) for n, p in CURATED[name] if n not in remove and p not in remove]
        return _PatternList(entries + added, True, unless)
    except re.error as exc:
        raise PolicyError(f"invalid pattern in user-agent list {name!r}: {exc}") from exc


def _sends_sec_fetch(ua: str) -> bool:
    """Whether the browser this agent claims sends Sec-Fetch-* on navigation.

    Conservative on purpose (docs/bots.md, "Header shape"): Android WebViews and
    iOS app web views (no ``Version/``, or another iOS browser shell) are never
    expected to; only Chromium >= 80, Firefox >= 90 and Safari >= 16.4 are.
    """
    if "; wv)" in ua or "Version/4.0 Chrome/" in ua:
        return False
    m = _CHROME.search(ua)
    if m is not None and "AppleWebKit" in ua:
        return int(m.group(1)) >= 80
    m = _FIREFOX.search(ua)
    if m is not None and "FxiOS" not in ua:
        return int(m.group(1)) >= 90
    if "Safari/" in ua and _IOS_OTHER.search(ua) is None:
        m = _SAFARI_VERSION.search(ua)
        if m is not None:
            return (int(m.group(1)), int(m.group(2) or 0)) >= (16, 4)
    return False


@dataclass(frozen=True, slots=True)
class _UAInfo:
    # Per group of consecutive user-agent signals: the first signal that matched,
    # its full reason code, and the verdict it gives alone (built once per agent).
    matches: tuple[tuple[bool, bool, int, str, str, Verdict] | None, ...]  # weak, exempt, weight, reason, verdict, alone
    is_browser: bool
    sec_fetch: bool


# ------------------------------------------------------------------- networks
def _ipv4_int(ip: str) -> int | None:
    """Dotted-quad IPv4 to an integer, a few times cheaper than ``ipaddress``; None otherwise."""
    parts = ip.split(".")
    if len(parts) != 4:
        return None
    n = 0
    for part in parts:
        if not part.isdigit() or len(part) > 3:
            return None
        v = int(part)
        if v > 255:
            return None
        n = (n << 8) | v
    return n


class _Networks:
    """ASN set plus CIDR blocks as sorted integer ranges (bisect, no per-block loop)."""

    __slots__ = ("_contains", "_ends", "_starts", "asns")

    def __init__(self, asns: list[int], cidrs: list[str]) -> None:
        self.asns = frozenset(int(a) for a in asns)
        ranges: list[tuple[int, int]] = []
        for cidr in cidrs:
            try:
                net = ipaddress.ip_network(cidr, strict=False)
            except ValueError as exc:
                raise PolicyError(f"invalid CIDR {cidr!r}: {exc}") from exc
            # IPv6 ranges are offset past the IPv4 space so one sorted list holds both.
            off = 0 if net.version == 4 else 1 << 32
            ranges.append((int(net.network_address) + off, int(net.broadcast_address) + off))
        ranges.sort()
        merged: list[tuple[int, int]] = []
        for s, e in ranges:
            if merged and s <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(merged[-1][1], e))
            else:
                merged.append((s, e))
        self._starts = [s for s, _ in merged]
        self._ends = [e for _, e in merged]
        self._contains = lru_cache(maxsize=4096)(self._lookup)

    def _lookup(self, ip: str) -> bool:
        n = _ipv4_int(ip)
        if n is None:
            try:
                addr = ipaddress.ip_address(ip)
            except ValueError:
                return False
            n = int(addr) + (0 if addr.version == 4 else 1 << 32)
        i = bisect.bisect_right(self._starts, n) - 1
        return i >= 0 and n <= self._ends[i]

    def match(self, asn: int | None, ip: str | None) -> str | None:
        if asn is not None and asn in self.asns:
            return f"asn-{asn}"
        if ip and self._starts and self._contains(ip):
            return "cidr"
        return None


# ----------------------------------------------------------------- classifier
@dataclass(frozen=True, slots=True)
class _Step:
    kind: int
    signal: BotSignal
    data: Any
    weight: int
    weak: bool
    exempt: bool  # a strong "human" signal


class Classifier:
    """A compiled policy. Pure: the same facts always give the same verdict.

    Build it with ``compile_policy``; keep one per policy per process.
    """

    def __init__(self, policy: BotPolicy, *, ua_cache_size: int = UA_CACHE_SIZE) -> None:
        self.policy = policy
        self.policy_ref = f"{policy.id}@{policy.version}"
        signals = list(policy.signals) or default_signals()
        for v in (policy.weak_verdict,):
            if v not in VERDICT_NAMES:
                raise PolicyError(f"unknown weak verdict {v!r}")
        self._threshold = policy.weak_threshold
        self._weak_verdict = policy.weak_verdict
        self._answers = {**DEFAULT_ANSWERS, **policy.answers}
        self._reason_answers: dict[str, str] = {}
        # Consecutive user-agent signals form one group: one cached look-up per
        # request, first match in policy order wins (an exemption included).
        self._ua_groups: list[list[tuple[_Step, _PatternList]]] = []
        steps: list[_Step] = []
        for sig in signals:
            kind = _KINDS.get(sig.kind)
            if kind is None:
                raise PolicyError(f"unknown signal kind {sig.kind!r}; expected one of {list(_KINDS)}")
            if sig.verdict not in VERDICT_NAMES:
                raise PolicyError(f"unknown verdict {sig.verdict!r} in signal {sig.reason!r}")
            p = sig.params
            data: Any = None
            if kind == _K_METHOD:
                data = frozenset(m.upper() for m in p.get("allow", ["GET"]))
            elif kind == _K_PREFETCH:
                data = tuple((h.lower(), tuple(t.lower() for t in vals)) for h, vals in p.get("headers", {}).items())
            elif kind == _K_SHAPE:
                data = frozenset(p.get("checks", ()))
            elif kind == _K_REFERER:
                data = tuple(h.lower().lstrip(".") for h in p.get("hosts", ()))
            elif kind == _K_NETWORK:
                data = _Networks(list(p.get("asns", ())), list(p.get("cidrs", ())))
            elif kind == _K_TIMING:
                data = float(p.get("below-seconds", 15.0))
            answer = p.get("answer")
            if answer is not None:
                if answer not in ANSWERS:
                    raise PolicyError(f"unknown answer {answer!r} in signal {sig.reason!r}")
                self._reason_answers[sig.reason] = answer
            weak = sig.strength == "weak"
            step = _Step(kind, sig, data, int(p.get("weight", 1)), weak, not weak and sig.verdict == "human")
            if kind == _K_UA:
                plist = _compile_list(p)
                if steps and steps[-1].kind == _K_UA:
                    self._ua_groups[-1].append((step, plist))
                    continue
                self._ua_groups.append([(step, plist)])
                step = _Step(_K_UA, sig, len(self._ua_groups) - 1, 1, False, False)
            steps.append(step)
        for verdict, answer in self._answers.items():
            if answer not in ANSWERS:
                raise PolicyError(f"unknown answer {answer!r} for verdict {verdict!r}")
        self._steps = tuple(steps)
        # The hot loop reads flat tuples: (kind, data, weight, weak, exempt, reason, verdict).
        self._plan = tuple(
            (st.kind, st.data, st.weight, st.weak, st.exempt, st.signal.reason, st.signal.verdict) for st in steps
        )
        self._ua_info = lru_cache(maxsize=ua_cache_size)(self._compute_ua_info)
        self._verdicts: dict[tuple[str, tuple[str, ...]], Verdict] = {}

    # -- per user agent (cached) --------------------------------------------
    def _compute_ua_info(self, ua: str) -> _UAInfo:
        matches: list[tuple[bool, bool, int, str, str, Verdict] | None] = []
        for group in self._ua_groups:
            found: tuple[bool, bool, int, str, str, Verdict] | None = None
            for step, plist in group:
                detail = plist.match(ua)
                if detail is not None:
                    sig = step.signal
                    reason = f"{sig.reason}:{detail}" if detail else sig.reason
                    found = (step.weak, step.exempt, step.weight, reason, sig.verdict, Verdict(sig.verdict, (reason,)))
                    break
            matches.append(found)
        is_browser = ua.startswith(("Mozilla/", "Opera/"))
        return _UAInfo(tuple(matches), is_browser, is_browser and _sends_sec_fetch(ua))

    def network_reasons(self) -> frozenset[str]:
        """Reason codes of this policy's network signals (the stream rules look for them)."""
        return frozenset(step.signal.reason for step in self._steps if step.kind == _K_NETWORK)

    def ua_cache_info(self) -> Any:
        """Hits, misses and size of the user-agent cache (for benchmarks and ops)."""
        return self._ua_info.cache_info()

    # -- per request -----------------------------------------------------------
    def classify(self, facts: RequestFacts) -> Verdict:
        """Judge one request.

        Parameters
        ----------
        facts:
            The request as the worker saw it (header names lower-case).

        Returns
        -------
        Verdict
            The verdict and its reason codes, in policy order.
        """
        reasons: list[str] = []
        score = 0
        exempt = False
        headers = facts.headers
        ua = facts.user_agent or ""
        info: _UAInfo | None = None
        for kind, data, weight, weak, is_exempt, reason, verdict in self._plan:
            hit: str | None = None
            if kind == _K_UA:
                if exempt:
                    continue
                if info is None:
                    info = self._ua_info(ua)
                m = info.matches[data]
                if m is None:
                    continue
                m_weak, m_exempt, m_weight, m_reason, m_verdict, alone = m
                if m_weak:
                    reasons.append(m_reason)
                    score += m_weight
                elif m_exempt:
                    reasons.append(m_reason)
                    exempt = True
                elif not reasons:
                    return alone  # the common case: decided by the agent alone, prebuilt
                else:
                    reasons.append(m_reason)
                    return self._verdict(m_verdict, tuple(reasons))
                continue
            if kind == _K_METHOD:
                method = facts.method
                if method in data:
                    continue
                method = method.upper()
                if method in data:
                    continue
                # The detail is a closed vocabulary: a client's made-up method never reaches the log.
                hit = method.lower() if method in _HTTP_METHODS else "other"
            elif kind == _K_PREFETCH:
                for name, tokens in data:
                    value = headers.get(name)
                    if value:
                        low = value.lower()
                        if any(t in low for t in tokens):
                            hit = name
                            break
                if hit is None:
                    continue
            elif kind == _K_NO_UA:
                if ua and not ua.isspace():
                    continue
                hit = ""
            elif kind == _K_SHAPE:
                if exempt:
                    continue
                if info is None:
                    info = self._ua_info(ua)
                # Inline on purpose: this runs for every browser request.
                if not info.is_browser and "not-a-browser" in data:
                    reasons.append(reason + ":not-a-browser")
                    score += weight
                if not headers.get("accept-language") and "no-accept-language" in data:
                    reasons.append(reason + ":no-accept-language")
                    score += weight
                if "text/html" not in headers.get("accept", "") and "accept-not-html" in data:
                    reasons.append(reason + ":accept-not-html")
                    score += weight
                if info.sec_fetch and not headers.get("sec-fetch-mode") and "no-sec-fetch" in data:
                    reasons.append(reason + ":no-sec-fetch")
                    score += weight
                continue
            elif kind == _K_REFERER:
                referer = headers.get("referer")
                if not referer:
                    continue
                host = _referer_host(referer)
                # The detail is the policy's host, never the client's (sub)domain text.
                hit = next((h for h in data if host == h or host.endswith("." + h)), None) if host else None
                if hit is None:
                    continue
            elif kind == _K_NETWORK:
                hit = data.match(facts.asn, facts.client_ip)
                if hit is None:
                    continue
            elif kind == _K_TIMING:
                s = facts.seconds_since_send
                if s is None or not 0 <= s < data:
                    continue
                hit = ""
            reasons.append(f"{reason}:{hit}" if hit else reason)
            if weak:
                score += weight
            elif is_exempt:
                exempt = True
            else:
                return self._verdict(verdict, tuple(reasons))
        if score >= self._threshold:
            return self._verdict(self._weak_verdict, tuple(reasons))
        if not reasons:
            return _HUMAN
        return self._verdict("human", tuple(reasons))

    def _verdict(self, verdict: str, reasons: tuple[str, ...]) -> Verdict:
        # Verdicts are immutable and their reasons come from a closed vocabulary,
        # so equal ones are shared: building a frozen dataclass costs ~1 µs.
        key = (verdict, reasons)
        v = self._verdicts.get(key)
        if v is None:
            if len(self._verdicts) >= _VERDICT_CACHE_SIZE:
                self._verdicts.clear()
            v = self._verdicts[key] = Verdict(verdict, reasons)
        return v

    def answer(self, verdict: str | Verdict) -> str:
        """What to answer: ``redirect``, ``preview-page`` or ``prefetch``.

        Parameters
        ----------
        verdict:
            A verdict name, or a ``Verdict``. Pass the ``Verdict`` when you have
            it: a signal may carry its own answer (the prefetch headers answer
            ``prefetch``), which only the reasons reveal.

        Returns
        -------
        str
            The policy's answer; ``redirect`` for a verdict it does not name.
        """
        if isinstance(verdict, Verdict):
            for reason in verdict.reasons:
                answer = self._reason_answers.get(reason.split(":", 1)[0])
                if answer is not None:
                    return answer
            verdict = verdict.verdict
        return self._answers.get(verdict, "redirect")


def _referer_host(referer: str | None) -> str:
    if not referer:
        return ""
    rest = referer.split("://", 1)[-1]
    host = rest.split("/", 1)[0].split("@")[-1]
    if host.startswith("["):
        return host.split("]", 1)[0][1:].lower()
    return host.split(":", 1)[0].lower()


def compile_policy(policy: BotPolicy) -> Classifier:
    """Compile a policy record into a classifier (once per snapshot load).

    Parameters
    ----------
    policy:
        The snapshot's ``BotPolicy``. An empty ``signals`` list means the
        built-in default signals.

    Returns
    -------
    Classifier
        Pure and thread-safe for reads; its user-agent cache is bounded.

    Raises
    ------
    PolicyError
        On an unknown signal kind, list, verdict or answer, or a bad pattern or
        CIDR (the spec rejects all of these at validate time).
    """
    return Classifier(policy)
