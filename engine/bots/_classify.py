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

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from engine.snapshot import BotPolicy, BotSignal

from ._defaults import DEFAULT_ANSWERS, default_signals
from ._facts import VERDICT_NAMES, RequestFacts, Verdict
from ._networks import Networks, _ipv4_int
from ._patterns import PatternList, PolicyError, compile_list

#: Distinct user agents remembered per classifier.
UA_CACHE_SIZE = 8192

ANSWERS: tuple[str, ...] = ("redirect", "preview-page", "prefetch")

_VERDICT_CACHE_SIZE = 4096
_NET_CACHE_SIZE = 65536
_MISS = object()
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


class _NetworkCheck:
    """``Networks.match`` with a per-/24 cache for IPv4 clients.

    When every IPv4 block of the list is a /24 or wider, whether an address is
    inside depends only on its first three octets, so the answer for one
    dotted-quad address holds for its whole /24 (the ASN test is not cached:
    it is one set look-up). Otherwise every call goes to ``Networks``.
    """

    __slots__ = ("_by24", "_nets", "asns")

    def __init__(self, nets: Networks, cidrs: list[str]) -> None:
        self._nets = nets
        self.asns = nets.asns
        wide = True
        for c in cidrs:
            try:
                net = ipaddress.ip_network(c, strict=False)
            except ValueError:
                wide = False  # Networks has already refused it; never reached
                break
            if net.version == 4 and net.prefixlen > 24:
                wide = False
                break
        self._by24: dict[str, str | None] | None = {} if wide else None

    def match(self, asn: int | None, ip: str | None) -> str | None:
        if asn is not None and asn in self.asns:
            return f"asn-{asn}"
        cache = self._by24
        if cache is None or not ip:
            return self._nets.match(None, ip)
        pre, dot, last = ip.rpartition(".")
        if not (dot and last.isascii() and last.isdigit() and len(last) <= 3 and int(last) <= 255):
            return self._nets.match(None, ip)
        hit = cache.get(pre, _MISS)
        if hit is _MISS:
            hit = self._nets.match(None, ip)
            if _ipv4_int(ip) is not None:  # parsed as IPv4 by Networks: the /24 answers alike
                if len(cache) >= _NET_CACHE_SIZE:
                    cache.clear()
                cache[pre] = hit
        return hit  # type: ignore[return-value]


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
        self._ua_groups: list[list[tuple[_Step, PatternList]]] = []
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
                data = _NetworkCheck(Networks(list(p.get("asns", ())), list(p.get("cidrs", ()))),
                                     list(p.get("cidrs", ())))
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
                plist = compile_list(p)
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
        # The signals that read more than the method and the headers, in order.
        self._dynamic = tuple((st.kind, st.data) for st in steps if st.kind in (_K_NETWORK, _K_TIMING))
        # The common policy has at most one of each: dynamic_key then needs no loop.
        nets = [d for k, d in self._dynamic if k == _K_NETWORK]
        timings = [d for k, d in self._dynamic if k == _K_TIMING]
        self._simple_dynamic = len(nets) <= 1 and len(timings) <= 1
        self._network_check: Any = nets[0] if nets else None
        self._timing_below: float | None = timings[0] if timings else None
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
    def dynamic_key(self, asn: int | None, client_ip: str | None, seconds_since_send: float | None) -> tuple[Any, ...]:
        """What this policy's network and timing signals would say about these facts.

        ``classify`` reads a request's address, ASN and time since send only
        through those signals, so two requests with the same method, user
        agent, headers and ``dynamic_key`` get the same verdict: a caller may
        remember verdicts under that key (the worker does, per header set).
        """
        if self._simple_dynamic:  # at most one network and one timing signal: no loop
            net, below = self._network_check, self._timing_below
            return (
                net.match(asn, client_ip) if net is not None else None,
                seconds_since_send is not None and 0 <= seconds_since_send < below if below is not None else None,
            )
        out: list[Any] = []
        for kind, data in self._dynamic:
            if kind == _K_NETWORK:
                out.append(data.match(asn, client_ip))
            else:
                out.append(seconds_since_send is not None and 0 <= seconds_since_send < data)
        return tuple(out)

    def simple_dynamic(self) -> tuple[dict[str, Any] | None, Any, float | None] | None:
        """``dynamic_key``'s inputs when it needs no loop (compiled callers inline it); else None.

        (the network signal's per-/24 answers or None, its ``match(asn, ip)`` or
        None when the policy has no network signal, the timing signal's bound or
        None). The /24 answers are those ``match`` gives an address of that /24
        with no ASN; a caller that finds none calls ``match``, which fills them.
        """
        if not self._simple_dynamic:
            return None
        net, below = self._network_check, self._timing_below
        by24 = net._by24 if isinstance(net, _NetworkCheck) else None
        return by24, (net.match if net is not None else None), (None if below is None else float(below))

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
